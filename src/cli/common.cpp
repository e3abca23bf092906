// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/cli/common.h"

#include <cmath>
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

CLI::Option* add_serial_option(CLI::App* cmd, std::string& serial) {
  return cmd->add_option("--serial,-s", serial,
                         "Phones: the devices to measure on (\"A\" or \"A,B\"; default: every connected device that "
                         "matches --target; several share one-layer measurements, whole models go to the first)");
}

CLI::Option* add_target_option(CLI::App* cmd, std::string& target, const std::string& help) {
  std::string known;
  for (const auto& n : device::list_targets()) known += (known.empty() ? "" : ", ") + n;
  return cmd->add_option("--target", target, help + " (" + known + ")")->capture_default_str();
}

void add_bench_options(CLI::App* cmd, int& warmup, int& runs, const std::string& prefix, const std::string& what) {
  cmd->add_option("--" + prefix + "warmup", warmup,
                  fmt::format("Untimed runs before timing (default: the target's, {} on the host)", device::kDefaultWarmup))
      ->check(non_negative());
  cmd->add_option("--" + prefix + "runs", runs,
                  fmt::format("Timed {} (default: the target's, {} on the host)", what, device::kDefaultRuns))
      ->check(non_negative());
}

void add_split_options(CLI::App* cmd, data::SplitOptions& s) {
  const std::string group = "Data";
  cmd->add_option("--val-size", s.val_size, "Images carved from the training set for the validation split")
      ->capture_default_str()
      ->group(group);
  cmd->add_option("--split-seed", s.split_seed, "Seed of the permutation that carves the validation images (fixed, "
                                                "so --seed never changes the data)")
      ->capture_default_str()
      ->group(group);
  cmd->add_option("--seed", s.seed, "Seed of the run's own randomness (search agent, shuffling, augmentation)")
      ->capture_default_str()
      ->group(group);
  cmd->add_option("--val-data", s.val_data, "A held-out validation set instead of images carved from the training "
                                            "set: imagefolder:DIR (its val/ tree or the whole folder), or another "
                                            "dataset's test set")
      ->group(group);
  auto* mean = cmd->add_option("--mean", s.mean, "Per-channel mean the model expects its input normalised with "
                                                 "(torchvision's Normalize), e.g. 0.485,0.456,0.406")
                   ->delimiter(',')
                   ->group(group);
  auto* std = cmd->add_option("--std", s.std, "Per-channel standard deviation, e.g. 0.229,0.224,0.225")
                  ->delimiter(',')
                  ->group(group);
  cmd->add_option_function<std::string>(
         "--normalize", [&s](const std::string& name) { data::normalization_preset(name, s.mean, s.std); },
         "Named normalisation: imagenet or none (the default: images in [0, 1])")
      ->excludes(mean)
      ->excludes(std)
      ->group(group);
  cmd->add_option("--image-size", s.image_size, "Image folders: side of the centre crop fed to the model (default: the first image's shorter side)")
      ->check(positive())
      ->group(group);
  cmd->add_option("--resize", s.resize, "Image folders: the shorter side is resized to this before the crop (default: "
                                        "the crop size; torchvision's usual evaluation is --resize 256 --image-size 224)")
      ->check(positive())
      ->group(group);
  cmd->add_flag("--skip-bad-images", s.skip_bad_images, "Image folders: skip undecodable files (counted in a "
                                                        "warning) instead of stopping")
      ->group(group);
}

namespace {
std::string g_command_line;
}  // namespace

const std::string& command_line() { return g_command_line; }

void set_command_line(int argc, char** argv) {
  g_command_line.clear();
  for (int i = 0; i < argc; ++i) g_command_line += (i > 0 ? " " : "") + std::string(argv[i]);
}

namespace {
// A finite number above (strict) or at least `min`, with a message naming the value.
CLI::Validator number_from(double min, bool strict, const char* name) {
  return CLI::Validator(
      [min, strict](std::string& v) -> std::string {
        try {
          size_t used = 0;
          const double x = std::stod(v, &used);
          if (used != v.size() || !std::isfinite(x)) return "'" + v + "' is not a finite number";
          if (strict ? x > min : x >= min) return std::string();
          return fmt::format("must be {} {} (got {})", strict ? "greater than" : "at least", min, v);
        } catch (const std::exception&) {
          return "'" + v + "' is not a number";
        }
      },
      name);
}
}  // namespace

CLI::Validator positive() { return number_from(0, true, "POSITIVE"); }
CLI::Validator non_negative() { return number_from(0, false, "NON-NEGATIVE"); }

void print_json(const nlohmann::json& j) { std::cout << j.dump(2) << std::endl; }

std::string exit_code_help() {
  std::string out = "Exit codes:\n";
  for (ExitCode c : {ExitCode::kOk, ExitCode::kInternal, ExitCode::kUsage, ExitCode::kInput, ExitCode::kUnsupported,
                     ExitCode::kBudget, ExitCode::kDevice, ExitCode::kGate, ExitCode::kRunsFailed, ExitCode::kInterrupted}) {
    out += fmt::format("  {:>3}  {}\n", static_cast<int>(c), exit_code_name(c));
  }
  return out;
}

}  // namespace xcel::cli
