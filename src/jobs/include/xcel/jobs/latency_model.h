// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// The latency model of a latency-budgeted search, built on the target: for every layer whose channels the
/// search changes, its one-layer latency at a grid of the widths the search can choose (in and out channels),
/// from the target's measurements (kept in a table that grows across runs), a predictor fitted by `xcel latency
/// fit`, or the roofline estimate; made monotone; plus the measured remainder of the whole model.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "xcel/device/target.h"
#include "xcel/ir/summary.h"
#include "xcel/prune/dependency.h"
#include "xcel/search/env.h"

namespace torch::jit {
struct Module;
}
namespace xcel::latency {
class Oracle;
}

namespace xcel::jobs {

struct LatencyModelOptions {
  std::string kind = "table";  // table (measured on the target) | predictor:FILE | roofline
  std::string table_file;      // table: the store read and extended ("" = the cache's file for target and threads)
  int grid = 4;                // widths per side of a layer the search changes (>= 2)
  double lbound = 0.2;         // the narrowest preserve ratio the search can choose
  std::int64_t round_to = 1;   // the target's channel rounding
  int rounds = 3;              // interleaved rounds per new measurement
};

struct LatencyModel {
  search::CostModel cost;
  std::string description;   // one line for logs and the summary
  nlohmann::json info;       // kind, source, table file, signatures measured and reused, cells raised, seconds
};

/// The channel multiple a search keeps: `requested` when > 0 (--round-to); else the target's fast multiple probed
/// by `device` on the model's largest conv layer (widths between multiples are no faster on it; see
/// latency::probe_channel_step; the timings go into the table file), never below the profile's round_to; the
/// profile's round_to when there is no device or no plain conv layer. Returns {round_to, source[, probe]}.
nlohmann::json channel_rounding(std::int64_t requested, const device::TargetProfile& target,
                                const ir::ModelSummary& summary, latency::Oracle* device, const std::string& table_file);

/// Checks `kind` (Error(kUsage) naming the choices).
void check_latency_model_kind(const std::string& kind);

/// Builds the model. `device` measures on the target (null when it cannot be reached: a table then falls back to
/// the roofline estimate, labelled estimated, with a warning).
LatencyModel build_latency_model(torch::jit::Module& model, const prune::DependencyGraph& dg,
                                 const ir::ModelSummary& summary, const device::TargetProfile& target,
                                 const LatencyModelOptions& options, latency::Oracle* device);

/// The rows of `xcel latency table`: per priced layer its grid and milliseconds (JSON, for printing and files).
nlohmann::json describe_tables(const LatencyModel& m, const prune::DependencyGraph& dg);

}  // namespace xcel::jobs
