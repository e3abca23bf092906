// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/cli/app.h"

#include <torch/version.h>

#include <iostream>

#include "xcel/cli/common.h"
#include "xcel/cli/config_file.h"
#include "xcel/core/error.h"
#include "xcel/core/log.h"
#include "xcel/core/runtime.h"

namespace xcel::cli {
namespace {

std::string version_text() {
  auto blas = runtime::blas_info();
  return fmt::format("xcel {}\nLibTorch {}\nBLAS {}{}", XCEL_VERSION, TORCH_VERSION,
                     blas.library.empty() ? "(none found)" : blas.library,
                     blas.is_openblas ? " (OpenBLAS: " + blas.config + ")" : " (not OpenBLAS: expect slow convolutions)");
}

}  // namespace

int run(int argc, char** argv) {
  set_command_line(argc, argv);
  CLI::App app{"xcel: make trained CNNs small and fast for phones and edge boards.\n"
               "FLOPs everywhere are multiply-accumulates (one fused multiply-add = one FLOP, as AMC and fvcore).",
               "xcel"};
  app.footer(exit_code_help());
  app.set_version_flag("--version,-V", version_text());
  app.require_subcommand(1);
  app.fallthrough();
  std::string log_level = "info";
  bool quiet = false;
  app.add_option("--log-level", log_level, "Log level on stderr: trace, debug, info, warn, error, off")
      ->capture_default_str()
      ->envname("XCEL_LOG_LEVEL");
  app.add_flag("--quiet,-q", quiet, "Only errors on stderr");
  app.parse_complete_callback([&] { log::init(quiet ? "error" : log_level); });

  add_config_option(app);
  register_inspect(app);
  register_eval(app);
  register_prune(app);
  register_finetune(app);
  register_quantize(app);
  register_profile(app);
  register_report(app);
  register_sweep(app);
  register_device_commands(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::FileError& e) {
    std::cerr << "xcel: error: cannot read the --config file: " << e.what() << std::endl;
    return static_cast<int>(ExitCode::kInput);
  } catch (const CLI::ParseError& e) {
    std::cerr << "xcel: error: " << e.what() << "; see 'xcel --help'" << std::endl;
    return static_cast<int>(ExitCode::kUsage);
  } catch (const Error& e) {
    std::cerr << "xcel: error: " << e.what() << std::endl;
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::cerr << "xcel: internal error: " << e.what() << "; please report this as a bug" << std::endl;
    return static_cast<int>(ExitCode::kInternal);
  }
  return 0;
}

}  // namespace xcel::cli
