// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Pieces shared by the subcommands: option groups that several commands take, and output helpers.
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "xcel/data/dataset.h"
#include "xcel/report/table.h"
#include "xcel/train/finetune.h"

namespace xcel::cli {

/// Options every result-producing command takes.
struct OutputOptions {
  bool json = false;  // machine-readable result on stdout
};

void add_output_options(CLI::App* cmd, OutputOptions& o);
void add_threads_option(CLI::App* cmd, int& threads);
void add_split_options(CLI::App* cmd, data::SplitOptions& s);

/// Prints `j` (pretty) to stdout followed by a newline.
void print_json(const nlohmann::json& j);

/// Parses a JSON file; errors name the file (kInput).
nlohmann::json read_json_file(const std::string& path);

/// Registration of each subcommand; one file each.
void register_inspect(CLI::App& app);
void register_eval(CLI::App& app);
void register_prune(CLI::App& app);
void register_finetune(CLI::App& app);
void register_profile(CLI::App& app);
void register_report(CLI::App& app);
void register_device_commands(CLI::App& app);  // targets, devices, latency

/// Training options shared by `xcel finetune` and `xcel prune --finetune-epochs` (`prefix` "finetune" gives
/// --finetune-lr etc.).
void add_finetune_options(CLI::App* cmd, train::FinetuneOptions& o, const std::string& prefix);
/// Rows of a fine-tuning summary (accuracy before/after, seconds per epoch, peak memory) added to `t`.
void finetune_summary_rows(const nlohmann::json& s, report::Table& t);

/// The command line this process was started with (for run configurations).
const std::string& command_line();
void set_command_line(int argc, char** argv);

/// Text for the bottom of `xcel --help`.
std::string exit_code_help();

}  // namespace xcel::cli
