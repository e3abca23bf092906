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

}  // namespace xcel::jobs
