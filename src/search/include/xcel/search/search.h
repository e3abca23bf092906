// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// The search loop (AMC-style): each episode the agent walks the prunable groups through the environment's
/// budget wall, the resulting widths are validated (identical policies once), the reward goes back to the
/// agent, and a line goes to episodes.jsonl. A checkpoint every N episodes and on Ctrl-C makes the run resume
/// exactly. No LibTorch here.
///   SearchLoop loop(opts, env, evaluator, *agent, run);
///   if (resume) loop.restore();
///   loop.run();                        // then loop.best().widths
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "xcel/core/run_dir.h"
#include "xcel/search/agent.h"
#include "xcel/search/env.h"
#include "xcel/search/walk.h"
#include "xcel/train/accuracy.h"

namespace xcel::search {

/// Validation of one policy (widths per group, or bits per step); `best` is the best whole-split top-1 so far (-1: none), below
/// which a validation may stop early.
class PolicyValidator {
 public:
  virtual ~PolicyValidator() = default;
  virtual train::Accuracy validate(const std::vector<std::int64_t>& widths, double best) = 0;
  virtual std::int64_t val_size() const = 0;
  /// What the last validate() did beyond validating (e.g. its retraining: steps, top-1 before); null for nothing.
  virtual nlohmann::json last_details() const { return nullptr; }
};

/// A policy's latency measured on the device: its median (ms) and its load, the fraction of the budget it takes
/// when measured in turns with the original (<= 1 fits).
struct Measured {
  double ms = -1, load = -1;
};

/// The reward of a policy measured over the budget is the reward of its accuracy divided by load^kOverBudgetPenalty
/// (5% over: 0.82 of it), so that the agent learns to leave the policies the latency model underestimates.
constexpr double kOverBudgetPenalty = 4.0;

struct LoopOptions {
  std::string reward = "acc";  // acc | acc-flops | acc-latency
  int episodes = 300;
  int checkpoint_every = 10;
  bool progress = true;
  /// When set (latency budgets on a device that can be measured): a policy measured on the device in deploy form.
  /// Every policy that would become the new best is measured once, before it does: one that measures over the
  /// budget is not the best, its reward is cut (see kOverBudgetPenalty) and it is not among ranked(). The
  /// measurement is then its latency in the episode lines and in the acc-latency reward.
  std::function<Measured(const std::vector<std::int64_t>&)> measure;
  std::string measured_on;  // where `measure` measures, for the episode lines
  std::string command = "prune";  // the xcel command that resumes the run (named when Ctrl-C stops it)
};

/// A policy validated on the whole split.
struct Candidate {
  std::vector<std::int64_t> widths;
  double val_top1 = 0;
  int episode = -1;  // the first episode that chose it
  double measured_load = -1;  // measured during the search (fraction of the budget), else -1
};

/// Chooses, among `ranked` candidates (most accurate first), the most accurate whose *measured* latency meets the
/// budget. `predicted_load` and `measured_load` give a candidate's latency as a fraction of the budget (<= 1
/// fits). Each rejection teaches how much the prediction underestimates (k = measured / predicted, the largest
/// seen), and the next candidate measured is the most accurate one whose predicted load times k fits. With
/// `tighten`, a candidate that missed may also yield a narrower version of itself (given k), which joins the
/// candidates at its own accuracy: a policy that misses by a little is then narrowed instead of giving way to a much
/// less accurate one. `fallback` (an index, e.g. the uniform policy the budget was calibrated on; -1: none) is
/// exempt from k, whose lesson comes from other policies: it is measured in its turn of accuracy, so no candidate
/// less accurate than it is chosen before it was measured, and when no other candidate is left. So is a candidate
/// the search measured within the budget (`measured_load` <= 1): its own measurement stands for the prediction. At most `max_measurements` are measured. Returns the steps, the candidates
/// (with any narrowed ones) and the index chosen among them (-1: none fits).
struct VerifyStep {
  int candidate = -1;
  double predicted_load = 0, measured_load = 0;
};
struct Verification {
  int chosen = -1;
  std::vector<VerifyStep> steps;
  std::vector<Candidate> candidates;
};
using Tighten = std::function<std::optional<Candidate>(const Candidate& missed, double k)>;
Verification verify_budget(std::vector<Candidate> ranked, const std::function<double(const Candidate&)>& predicted_load,
                           const std::function<double(const Candidate&)>& measured_load, int max_measurements,
                           int fallback = -1, const Tighten& tighten = {});

/// Lands a narrowed result near the budget instead of far under it. The chosen candidate of `v` was narrowed by
/// `factor` from `parent` (which measured over the budget); while the chosen one measures under `fill_load`, the
/// factor is bisected between the chosen one's and 1, at most `max_steps` times: the midpoint's policy
/// (`scaled(f)`) is validated and, when more accurate than the chosen one, measured, and chosen when it fits (the
/// lower end moves up), else the upper end moves down. Tries join the candidates (episode as the chosen one's) and
/// measurements the steps.
Verification fill_budget(Verification v, const std::vector<std::int64_t>& parent, double factor,
                         const std::function<std::vector<std::int64_t>(double)>& scaled,
                         const std::function<double(const std::vector<std::int64_t>&)>& validate,
                         const std::function<double(const Candidate&)>& predicted_load,
                         const std::function<double(const Candidate&)>& measured_load, int max_steps, double fill_load);

struct Best {
  int episode = -1;
  double val_top1 = -1, reward = 0;
  std::vector<std::int64_t> widths;
  std::int64_t flops = 0;
};

struct LoopStats {
  int episodes = 0;                  // episodes in episodes.jsonl
  std::size_t unique_policies = 0;
  std::int64_t stopped_early = 0;    // distinct policies whose validation stopped early
  double val_images_per_policy = 0;
  double seconds_per_episode = 0;
};

/// The agent file of a search run's last checkpoint (what --init-agent starts a new search from).
std::string agent_checkpoint(const RunDir& run);

class SearchLoop {
 public:
  SearchLoop(const LoopOptions& opts, Walk& env, PolicyValidator& validator, Agent& agent, RunDir run);

  /// Continues from the run's checkpoint: agent, random state, validated policies, best, and episodes.jsonl
  /// cut back to the checkpoint.
  void restore();
  /// Runs the remaining episodes. Ctrl-C saves a checkpoint and throws Error(kInterrupted).
  void run();

  const Best& best() const { return best_; }
  LoopStats stats() const;
  /// Every policy validated on the whole split and not measured over the budget, most accurate first (ties: the
  /// earlier episode first); the first is best().
  std::vector<Candidate> ranked() const;

 private:
  double episode(int ep);
  void save_checkpoint(int next_episode);

  LoopOptions o_;
  Walk& env_;
  PolicyValidator& validator_;
  Agent& agent_;
  RunDir run_;
  void restore_checkpoint();  // restore() without the translation of a damaged file's errors
  int start_ = 0;
  long generation_ = 0;  // of the last checkpoint (RunDir::commit_state)
  Best best_;
  struct Validated {
    double top1 = 0;
    std::int64_t images = 0;  // validation images the result covers
    int episode = -1;         // the first episode that chose the policy
    double measured_ms = -1;    // measured on the device (would-be bests), else -1
    double measured_load = -1;  // of the budget, with measured_ms; > 1: over it
  };
  std::map<std::vector<std::int64_t>, Validated> cache_;
  std::vector<std::string> episode_lines_;
  double spent_seconds_ = 0;
};

}  // namespace xcel::search
