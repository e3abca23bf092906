// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/cli/common.h"

#include <fstream>
#include <iostream>

#include "xcel/core/error.h"

namespace xcel::cli {

void add_output_options(CLI::App* cmd, OutputOptions& o) {
  cmd->add_flag("--json", o.json, "Print the result as JSON on stdout (a documented contract; see docs/CLI.md)");
}

void add_threads_option(CLI::App* cmd, int& threads) {
  cmd->add_option("--threads,-t", threads, "CPU threads for LibTorch and OpenBLAS")
      ->capture_default_str()
      ->envname("XCEL_THREADS")
      ->check(CLI::Range(1, 256));
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

void print_json(const nlohmann::json& j) { std::cout << j.dump(2) << std::endl; }

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path);
  XCEL_CHECK(in.good(), ExitCode::kInput, "cannot read '{}'", path);
  try {
    return nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    XCEL_FAIL(ExitCode::kInput, "'{}' is not valid JSON ({})", path, e.what());
  }
}

std::string exit_code_help() {
  std::string out = "Exit codes:\n";
  for (ExitCode c : {ExitCode::kOk, ExitCode::kInternal, ExitCode::kUsage, ExitCode::kInput, ExitCode::kUnsupported,
                     ExitCode::kBudget, ExitCode::kDevice, ExitCode::kGate, ExitCode::kInterrupted}) {
    out += fmt::format("  {:>3}  {}\n", static_cast<int>(c), exit_code_name(c));
  }
  return out;
}

}  // namespace xcel::cli
