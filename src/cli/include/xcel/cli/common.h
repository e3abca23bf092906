// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Pieces shared by the subcommands: every flag that several commands take is declared here once, and the
/// output helpers.
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "xcel/data/dataset.h"

namespace xcel::cli {

/// Options every result-producing command takes.
struct OutputOptions {
  bool json = false;  // machine-readable result on stdout
};

void add_output_options(CLI::App* cmd, OutputOptions& o);
/// --threads/-t (XCEL_THREADS); `help` says what the count is for when it is not the process's own.
CLI::Option* add_threads_option(CLI::App* cmd, int& threads,
                                const std::string& help = "CPU threads for LibTorch and OpenBLAS");
/// --val-size and --seed.
void add_split_options(CLI::App* cmd, data::SplitOptions& s);
/// --data/-d with the dataset forms xcel reads.
CLI::Option* add_data_option(CLI::App* cmd, std::string& data, const std::string& help);
/// --serial/-s A[,B...]: the phones a measurement may use.
CLI::Option* add_serial_option(CLI::App* cmd, std::string& serial);
/// --target NAME (a profile in configs/targets; the known names are listed in the help).
CLI::Option* add_target_option(CLI::App* cmd, std::string& target, const std::string& help);
/// --PREFIXwarmup and --PREFIXruns of a latency measurement; -1 means the target's counts.
void add_bench_options(CLI::App* cmd, int& warmup, int& runs, const std::string& prefix, const std::string& what);

/// A value that must be a finite number greater than 0 ("--latency: must be greater than 0 (got 0)").
CLI::Validator positive();
/// A value that must be a finite number at least 0.
CLI::Validator non_negative();

/// Prints `j` (pretty) to stdout followed by a newline.
void print_json(const nlohmann::json& j);

/// Registration of each subcommand; one file each.
void register_inspect(CLI::App& app);
void register_eval(CLI::App& app);
void register_prune(CLI::App& app);
void register_finetune(CLI::App& app);
void register_quantize(CLI::App& app);
void register_profile(CLI::App& app);
void register_report(CLI::App& app);
void register_sweep(CLI::App& app);
void register_device_commands(CLI::App& app);  // targets, devices, latency

/// The command line this process was started with (for run configurations).
const std::string& command_line();
void set_command_line(int argc, char** argv);

/// Text for the bottom of `xcel --help`.
std::string exit_code_help();

}  // namespace xcel::cli
