// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// `xcel prune`: a search for a per-group policy under a FLOPs or latency budget (the main job), or a given
/// policy applied (--policy FILE / --uniform R); then, optionally, fine-tuning of the result and the report.
/// No LibTorch here.
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "xcel/data/dataset.h"
#include "xcel/rl/ddpg.h"
#include "xcel/train/finetune.h"

namespace xcel::jobs {

/// What a pruned model is built from and repaired with: shared by the search and a given policy.
struct PruneBase {
  std::string model, out_dir;
  std::string data;                  // empty: a given policy without evaluation or repairs
  std::string importance = "l1";
  bool reconstruct = true;           // least-squares refit of layers that lost input channels
  int bn_recal = 4;                  // batches of calibration images for batch-norm re-estimation; 0 = off
  std::int64_t calib_images = 1024;  // from the training split (never validation or test)
  data::SplitOptions split;
  int threads = 1;
  std::vector<std::string> exclude;  // layers or groups kept unpruned (--exclude)
  bool force = false;                // go on when the original scores near chance on the validation images
  bool data_given = true;            // false: `data` is the default (an unfitting model then asks for --data)
};

/// The search (--flops R | --latency R | --latency-ms X). config.json of a search run holds these.
struct SearchOptions : PruneBase {
  std::string target = "host";
  double flops = 0.5;              // target FLOPs as a fraction of the original
  double latency = 0;              // > 0: latency budget as a fraction of the original's (replaces flops)
  double latency_ms = 0;           // > 0: latency budget in milliseconds on the target
  std::string agent = "ddpg";      // ddpg | dqn | evolution | random | uniform
  bool remove_layers = false;      // the walk also decides, per removable block, keep or remove
  bool depth_only = false;         // the walk decides blocks only; channels are not pruned
  int retrain_steps = 0;           // > 0: every policy is trained this many batches before it is scored
  bool platform_state = false;     // the agent's state carries the target's figures (cores, clock, peak, bandwidth)
  std::string init_agent;          // a search run whose agent (and replay) this search starts from
  std::string reward = "acc";      // acc | acc-flops | acc-latency (latency budgets)
  int episodes = 300;
  bool episodes_given = false;     // with --resume: extend the saved run to `episodes`
  bool budget_given = false;       // with --resume: --flops/--latency/--latency-ms must match the saved run
  int checkpoint_every = 10;
  // Early stop of an episode's validation: after each twentieth of the split, a policy whose running top-1 plus
  // `early_stop` standard errors is below the best fully validated policy is not validated further (its
  // reward is the running estimate). 0 = validate every policy on the whole split.
  double early_stop = 3.0;
  // --rerank K: the K best distinct policies (the uniform one among them) are fine-tuned briefly, each for one
  // pass over the first `rerank_images` training images, and re-scored on validation; the result is the best after
  // that. 0 = off.
  int rerank = 0;
  std::int64_t rerank_images = 5000;
  bool rerank_given = false;  // with --resume: --rerank K (and --rerank-images) replace the saved ones (they act at the end)
  int batch = 250;
  bool resume = false;
  bool progress = true;
  std::string agent_config;        // JSON with DdpgConfig fields (default configs/ddpg.json)
  std::optional<int> warmup;       // overrides of the agent config
  std::optional<double> lbound;
  rl::DdpgConfig ddpg;             // after the file and the overrides
  // Latency budgets: the wall's latency model (table | roofline | predictor:FILE), the table file (default:
  // the cache's file for the target) and the widths per layer side in it.
  std::int64_t round_to = 0;       // kept channels are multiples of this; 0: probed on the target (see search_job)
  std::string latency_model = "table";
  std::string latency_table;
  int table_grid = 4;
  std::string serial;              // phones: the devices to measure on ("A,B"; default: all matching the target)
  std::string command_line;
  nlohmann::json cli;              // the options as given (cli::given_options)
  bool latency_mode() const { return latency > 0 || latency_ms > 0; }
  bool depth() const { return remove_layers || depth_only; }
};
void to_json(nlohmann::json& j, const SearchOptions& o);
void from_json(const nlohmann::json& j, SearchOptions& o);

/// A given policy (--policy FILE or --uniform R).
struct PolicyOptions : PruneBase {
  std::string policy;        // JSON file; empty = use `uniform`
  double uniform = 0.0;      // preserve ratio for every group (0 = unset)
  std::string input = "1,1,28,28";
  std::int64_t round_to = 1;
  std::string granularity = "channel";  // channel | weight
  int batch = 256;
  std::vector<std::string> remove;  // blocks removed whole before the channel policy (xcel inspect --depth)
};

/// Fine-tuning of the result into OUT/finetune (epochs 0 = none); data, split and threads follow the run.
/// Then, with `bake_normalization`, the final model (fine-tuned when it was) behind its input normalisation as
/// OUT/deploy.pt and OUT/deploy.ptl, which take raw pixels in [0, 1].
struct ResultFinetune {
  train::FinetuneOptions options;  // epochs = 0 by default
  bool distil = false;             // the original is the teacher
  bool bake_normalization = false;
};

/// Fine-tunes a run's result (OUT/<result>) into OUT/finetune with `f` (its data, split and threads those of the run)
/// and records it in the run's summary (OUT/summary.json); resumes a fine-tuning that was interrupted. Epochs 0: nothing.
void finetune_result(nlohmann::json& summary, const std::string& out_dir, const std::string& result,
                     train::FinetuneOptions f);

/// Runs (or resumes) the search; returns the summary also written to OUT/summary.json. `used` gets the options
/// the run went by (a resumed run's are the saved ones).
nlohmann::json run_search(SearchOptions opts, SearchOptions* used = nullptr);
/// Applies the policy; returns the summary also written to OUT/summary.json.
nlohmann::json run_policy(const PolicyOptions& opts);

/// The whole `xcel prune` command: search (or resume) when `search_mode`, else the given policy; then the
/// fine-tuning and report.html. Returns the run's summary with "finetune" and "report" added.
nlohmann::json run_prune(bool search_mode, SearchOptions search, PolicyOptions policy, const ResultFinetune& finetune);

}  // namespace xcel::jobs
