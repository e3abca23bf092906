// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
// Private to the jobs that run a search loop (xcel prune, xcel quantize): the saved options of a run to resume, and
// the agent's configuration of a new run.
#include <optional>
#include <string>

#include "xcel/core/error.h"
#include "xcel/core/fs.h"
#include "xcel/core/run_dir.h"
#include "xcel/device/target.h"
#include "xcel/rl/ddpg.h"

namespace xcel::jobs {

/// The saved options of the search in `run` (what --resume continues): a --model that differs is refused, --episodes
/// may raise the total but not below the episodes done; out, progress and resume come from `o`.
template <typename Options>
Options resumed_search(const Options& o, const RunDir& run, const std::string& kind) {
  run.require_checkpoint(kind);
  Options saved = run.resumed_config<Options>();
  XCEL_CHECK(o.model.empty() || fs::same_file(o.model, saved.model), ExitCode::kUsage,
             "--resume continues the search of '{}'; drop --model '{}' or start a new run", saved.model, o.model);
  const int done = run.read_state().at("next_episode").template get<int>();
  XCEL_CHECK(!o.episodes_given || o.episodes >= done, ExitCode::kUsage,
             "--episodes {} is below the {} episodes the saved search has run; give a total of at least {}", o.episodes,
             done, done);
  saved.episodes = o.episodes_given ? o.episodes : saved.episodes;
  saved.out_dir = o.out_dir;
  saved.progress = o.progress;
  saved.resume = true;
  return saved;
}

/// The agent configuration of a new search: `file` (default configs/ddpg.json) with --warmup, seeded with `seed`.
inline rl::DdpgConfig agent_config(const std::string& file, const std::optional<int>& warmup, std::uint64_t seed) {
  rl::DdpgConfig c = rl::read_ddpg_config(file.empty() ? device::config_dir() + "/ddpg.json" : file);
  if (warmup) c.warmup = *warmup;
  c.seed = seed;
  return c;
}

}  // namespace xcel::jobs
