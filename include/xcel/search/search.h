// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// `xcel prune --flops R`: the search for a per-group policy under a FLOPs budget (AMC-style), with DDPG or
/// a baseline agent. No LibTorch here.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "xcel/data/dataset.h"
#include "xcel/rl/ddpg.h"

namespace xcel::search {

struct SearchOptions {
  std::string model, out_dir, data = "fashion-mnist", target = "host";
  double flops = 0.5;              // target FLOPs as a fraction of the original
  double latency = 0;              // > 0: latency budget as a fraction of the original's (replaces --flops)
  double latency_ms = 0;           // > 0: latency budget in milliseconds on the target
  std::string agent = "ddpg";      // ddpg | random | uniform
  std::string reward = "acc";      // acc | acc-flops | acc-latency (latency budgets)
  int episodes = 300;
  bool episodes_given = false;     // with --resume: extend the saved run to `episodes`
  int checkpoint_every = 10;
  std::string importance = "l1";
  bool reconstruct = false;
  int bn_recal = 0;                // batches; 0 = off
  // Early stop of an episode's validation: after each twentieth of the split, a policy whose running top-1 plus
  // `early_stop` standard errors is below the best fully validated policy is not validated further (its
  // reward is the running estimate). 0 = validate every policy on the whole split.
  double early_stop = 3.0;
  std::int64_t calib_images = 1024;
  data::SplitOptions split;
  int batch = 250;
  int threads = 1;
  bool resume = false;
  bool progress = true;
  std::string agent_config;        // JSON with DdpgConfig fields (default configs/ddpg.json)
  rl::DdpgConfig ddpg;             // after the file and the CLI overrides
  std::string command_line;
};
void to_json(nlohmann::json& j, const SearchOptions& o);
void from_json(const nlohmann::json& j, SearchOptions& o);

/// Runs (or resumes) the search; returns the summary also written to OUT_DIR/summary.json.
nlohmann::json run_search(SearchOptions opts);

}  // namespace xcel::search
