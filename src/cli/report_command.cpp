// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// xcel report: (re)generate the HTML report of a run, or compare two runs.
#include <iostream>

#include "xcel/cli/common.h"
#include "xcel/core/error.h"
#include "xcel/core/fs.h"
#include "xcel/core/run_dir.h"
#include "xcel/report/run_report.h"

namespace xcel::cli {

void register_report(CLI::App& app) {
  auto dirs = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  auto json = std::make_shared<OutputOptions>();
  auto* cmd = app.add_subcommand("report", "Write RUN_DIR/report.html from a run's files, or with two run "
                                           "directories a side-by-side comparison page");
  cmd->add_option("runs", *dirs, "RUN_DIR [RUN_DIR_B]")->required()->expected(1, 2);
  cmd->add_option("--out,-o", *out, "Where to write (default RUN_DIR/report.html; for two runs ./compare.html)");
  add_output_options(cmd, *json);
  cmd->callback([dirs, out, json] {
    for (const auto& dir : *dirs) {
      const RunDir run(dir);
      XCEL_CHECK(out->empty() || !run.holds(*out) || fs::same_file(*out, run.file(RunDir::kReport)), ExitCode::kUsage,
                 "--out '{}' is a file of the run in '{}'; a report never overwrites a run's own files: choose another "
                 "--out", *out, dir);
    }
    std::string path;
    if (dirs->size() == 1) {
      path = out->empty() ? report::write_run_report((*dirs)[0]) : *out;
      if (!out->empty()) fs::write_file_atomic(path, report::render_run_report((*dirs)[0]));
    } else {
      path = out->empty() ? "compare.html" : *out;
      fs::write_file_atomic(path, report::render_comparison((*dirs)[0], (*dirs)[1]));
    }
    if (json->json) {
      print_json({{"report", path}, {"runs", *dirs}});
    } else {
      std::cout << "wrote " << path << "\n";
    }
  });
}

}  // namespace xcel::cli
