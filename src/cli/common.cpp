// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/cli/common.h"

#include <iostream>

#include "xcel/core/error.h"
#include "xcel/device/target.h"

namespace xcel::cli {

void add_output_options(CLI::App* cmd, OutputOptions& o) {
  cmd->add_flag("--json", o.json, "Print the result as JSON on stdout (a documented contract; see docs/CLI.md)");
}

CLI::Option* add_threads_option(CLI::App* cmd, int& threads, const std::string& help) {
  return cmd->add_option("--threads,-t", threads, help)
      ->capture_default_str()
      ->envname("XCEL_THREADS")
      ->check(CLI::Range(1, 256));
}

CLI::Option* add_data_option(CLI::App* cmd, std::string& data, const std::string& help) {
  return cmd->add_option("--data,-d", data, help);
}

CLI::Option* add_target_option(CLI::App* cmd, std::string& target, const std::string& help) {
  std::string known;
  for (const auto& n : device::list_targets()) known += (known.empty() ? "" : ", ") + n;
  return cmd->add_option("--target", target, help + " (" + known + ")")->capture_default_str();
}

void add_bench_options(CLI::App* cmd, int& warmup, int& runs, const std::string& prefix, const std::string& what) {
  cmd->add_option("--" + prefix + "warmup", warmup,
                  fmt::format("Untimed runs before timing (default: the target's, {} on the host)", device::kDefaultWarmup))
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--" + prefix + "runs", runs,
                  fmt::format("Timed {} (default: the target's, {} on the host)", what, device::kDefaultRuns))
      ->check(CLI::NonNegativeNumber);
}

void add_split_options(CLI::App* cmd, data::SplitOptions& s) {
  cmd->add_option("--val-size", s.val_size, "Images carved from the training set for the validation split")
      ->capture_default_str();
  cmd->add_option("--seed", s.seed, "Seed of the permutation that picks the validation images")
      ->capture_default_str();
}

namespace {
std::string g_command_line;
}  // namespace

const std::string& command_line() { return g_command_line; }

void set_command_line(int argc, char** argv) {
  g_command_line.clear();
  for (int i = 0; i < argc; ++i) g_command_line += (i > 0 ? " " : "") + std::string(argv[i]);
}

CLI::Validator positive() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        try {
          size_t used = 0;
          const double x = std::stod(v, &used);
          if (used != v.size()) return "'" + v + "' is not a number";
          return x > 0 ? std::string() : "must be greater than 0 (got " + v + ")";
        } catch (const std::exception&) {
          return "'" + v + "' is not a number";
        }
      },
      "POSITIVE");
}

void print_json(const nlohmann::json& j) { std::cout << j.dump(2) << std::endl; }

std::string exit_code_help() {
  std::string out = "Exit codes:\n";
  for (ExitCode c : {ExitCode::kOk, ExitCode::kInternal, ExitCode::kUsage, ExitCode::kInput, ExitCode::kUnsupported,
                     ExitCode::kBudget, ExitCode::kDevice, ExitCode::kGate, ExitCode::kInterrupted}) {
    out += fmt::format("  {:>3}  {}\n", static_cast<int>(c), exit_code_name(c));
  }
  return out;
}

}  // namespace xcel::cli
