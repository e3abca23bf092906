// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// A run directory: where one command's run keeps its configuration, progress, checkpoint and results. Every
/// file name lives here (RunDir::kSummary, ...), every write is atomic (temporary file + rename), and the rules
/// of starting and resuming are the same for every command:
///   - a new run refuses a directory that already holds a run of its kind, and any --out that is an input;
///   - a resumed run must find its checkpoint and continues with the configuration it was started with;
///   - Ctrl-C inside the loop saves state and ends with ExitCode::kInterrupted and the command to continue.
///   RunDir run("runs/vgg-025");
///   run.start_new("search", {model});                 // or: auto cfg = run.resumed_config<SearchOptions>();
///   run.write_json(RunDir::kSummary, summary);
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xcel/core/error.h"

namespace xcel {

class RunDir {
 public:
  // The files of a run, relative to its directory.
  static constexpr const char* kConfig = "config.json";        // the options the run was started with
  static constexpr const char* kSummary = "summary.json";      // the result (a finished run has one)
  static constexpr const char* kEpisodes = "episodes.jsonl";   // search: one line per episode
  static constexpr const char* kHistory = "history.jsonl";     // fine-tuning: one line per epoch
  static constexpr const char* kPolicy = "policy.json";
  static constexpr const char* kProfile = "profile.json";      // per-layer latency of the original and the result
  static constexpr const char* kBest = "best.pt";              // search result
  static constexpr const char* kBestLite = "best.ptl";         // search result for PyTorch Mobile
  static constexpr const char* kPruned = "pruned.pt";          // result of a given policy
  static constexpr const char* kFinetuned = "finetuned.pt";    // fine-tuning result
  static constexpr const char* kDeploy = "deploy.pt";          // --bake-normalization: the result taking raw pixels
  static constexpr const char* kDeployLite = "deploy.ptl";
  static constexpr const char* kReport = "report.html";
  static constexpr const char* kFinetuneDir = "finetune";      // fine-tuning of a prune run's result
  static constexpr const char* kCheckpoint = "checkpoint";     // resumable state
  static constexpr const char* kLock = ".lock";                // held by the process that owns the run
  static constexpr const char* kState = "checkpoint/state.json";

  explicit RunDir(std::string path);

  const std::string& path() const { return path_; }
  /// PATH/name.
  std::string file(const std::string& name) const;
  bool has(const std::string& name) const;
  bool has_checkpoint() const { return has(kState); }
  /// True when `path` is one of the files a run keeps (its results, configuration, state) or lies in its
  /// checkpoint or fine-tuning directory: what nothing but the run itself may write.
  bool holds(const std::string& path) const;
  /// A run directory inside this one (fine-tuning of a prune run: kFinetuneDir).
  RunDir sub(const std::string& name) const { return RunDir(file(name)); }

  /// Checks that --out is given, is not a file, and that a run there would write over none of `inputs`.
  void check_out(const std::vector<std::string>& inputs) const;
  /// Checks for a new run: check_out, and the directory holds no run already (a checkpoint or a summary); `kind`
  /// names the run in the message ("search", "fine-tuning run").
  void start_new(const std::string& kind, const std::vector<std::string>& inputs) const;
  /// Checks for --resume: the checkpoint must exist.
  void require_checkpoint(const std::string& kind) const;
  /// Makes this process the directory's only user (start_new and require_checkpoint take it): Error(kUsage)
  /// naming the other process's pid when one holds it. Held until the process ends.
  void lock() const;
  /// Creates the directory and its checkpoint directory.
  void create() const;

  /// The configuration a run was started with (kConfig), for --resume; kInput when it is unreadable.
  template <typename Options>
  Options resumed_config() const {
    try {
      return read_json(kConfig).get<Options>();
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      XCEL_FAIL(ExitCode::kInput, "--resume: '{}' is unreadable ({}); start a new run", file(kConfig), e.what());
    }
  }

  void write(const std::string& name, const std::string& content) const;
  /// Pretty JSON with a final newline.
  void write_json(const std::string& name, const nlohmann::json& j) const;
  /// Parses PATH/name; Error(kInput) naming the file when it is missing or not JSON.
  nlohmann::json read_json(const std::string& name) const;
  /// Non-empty lines of a JSON-lines file (none when it does not exist).
  std::vector<std::string> read_lines(const std::string& name) const;
  void write_lines(const std::string& name, const std::vector<std::string>& lines) const;

  /// The checkpoint's state (kState), one JSON line.
  nlohmann::json read_state() const { return read_json(kState); }
  void write_state(const nlohmann::json& state) const;

  /// Checkpoints in generations, so that a write failing half-way (a full disk, a kill) leaves the previous
  /// checkpoint whole: a checkpoint writes its files under a new generation (generation_file), then the state
  /// naming that generation (commit_state: the commit point), then removes the other generations' files.
  /// "checkpoint/agent.pt" of generation 3 is "checkpoint/agent.g3.pt"; generation 0 is the plain name.
  std::string generation_file(const std::string& name, long generation) const;
  /// The generation a saved state names (0 for a state without one).
  static long generation_of(const nlohmann::json& state);
  /// Writes `state` naming `generation` and removes the files of `names` (kState-relative names like
  /// "checkpoint/agent.pt") of every other generation.
  void commit_state(nlohmann::json state, long generation, const std::vector<std::string>& names) const;

  /// Throws Error(kInterrupted): "interrupted WHERE; state saved, continue with: xcel COMMAND --resume --out PATH".
  [[noreturn]] void interrupted(const std::string& where, const std::string& command) const;

 private:
  std::string path_;
};

}  // namespace xcel
