// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// The latency commands: `xcel latency measure` (one model through the oracle), `xcel profile` (per-layer
/// latency) and `xcel latency fit` (a predictor fitted on pruned variants measured on the target). No LibTorch
/// here.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xcel/ir/summary.h"
#include "xcel/latency/oracle.h"
#include "xcel/latency/profile.h"

namespace xcel::jobs {

struct MeasureOptions {
  std::string model, target = "host", input = "1,1,28,28";
  latency::OracleOptions oracle;
};
latency::Latency run_latency_measure(const MeasureOptions& opts);

struct ProfileOptions {
  std::string model, input = "1,1,28,28", target = "host", out, serial;
  int warmup = -1, runs = -1;  // -1: the target's
  int threads = 1;
};
/// Measures (never from the cache) and writes `out` when given.
latency::Profile run_profile(const ProfileOptions& opts);

struct FitOptions {
  std::vector<std::string> models;
  std::string target = "host", out;
  int variants = 40;       // pruned variants per model (plus the model itself)
  double holdout = 0.25;   // share of variants kept out of the fit to measure accuracy
  int threads = 1, warmup = -1, runs = -1;  // -1: the target's counts
  int rounds = 5;          // interleaved measurement passes; each variant and layer keeps its median
  std::uint64_t seed = 0;
  double lbound = 0.2;     // smallest preserve ratio of a group in the random variants
  std::string input = "1,1,28,28";
};
/// Samples pruned variants, measures them and their layers through the oracle in interleaved rounds, fits,
/// saves to opts.out and returns the report.
nlohmann::json run_latency_fit(const FitOptions& opts);

/// `xcel latency table`: the latency model a latency-budgeted search of `model` builds on the target (one-layer
/// latencies at a grid of widths, measured and kept in the table file, or estimated), and optionally its accuracy
/// on `check` random prunings of the model measured whole in deploy form.
struct TableOptions {
  std::string model, target = "host", input = "1,1,28,28";
  std::string latency_model = "table";  // table | roofline | predictor:FILE
  std::string table;                    // the table file (default: the cache's file for the target)
  std::string serial;                   // adb: these devices ("A,B"; default: all matching the target)
  int grid = 4;
  double lbound = 0.2;
  std::int64_t round_to = 0;            // 0: as a search chooses it (see channel_rounding)
  int threads = 0;                      // 0: the target's
  int check = 0;                        // random pruned variants measured to check the model (0 = none)
  int rounds = 3;                       // interleaved rounds per measurement
  std::uint64_t seed = 0;
};
nlohmann::json run_latency_table(const TableOptions& opts);

}  // namespace xcel::jobs
