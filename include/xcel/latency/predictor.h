// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Fitted latency predictors (`xcel latency fit`): a lookup table of per-layer latencies keyed by layer
/// signature (measured on the target), a small MLP regressor for signatures not in the table (LENNA-style,
/// trained on the table), and a linear model from the per-layer sums to the whole model's measured latency
/// (which adds what isolated layers miss: activations, pooling, framework overhead). No LibTorch here.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xcel/ir/summary.h"

namespace xcel::latency {

struct FitOptions {
  std::vector<std::string> models;
  std::string target = "host", out;
  int variants = 40;       // pruned variants per model (plus the model itself)
  double holdout = 0.25;   // share of variants kept out of the fit to measure accuracy
  int threads = 1, warmup = 10, runs = 50;
  int rounds = 5;          // interleaved measurement passes; each variant and layer keeps its median
  std::uint64_t seed = 0;
  double lbound = 0.2;     // smallest preserve ratio of a group in the random variants
  ir::Shape input{1, 1, 28, 28};
};

/// Samples, measures, fits, saves to opts.out, and returns the report (held-out share within +-10%, RMSE,
/// table size, regressor use, seconds).
nlohmann::json fit_predictor(const FitOptions& opts);

class Predictor {
 public:
  explicit Predictor(const std::string& path);  // Error(kInput) for a missing or damaged file
  ~Predictor();
  Predictor(Predictor&&) noexcept;
  /// Predicted milliseconds of a model from its layer table (batch 1); `regressed` counts layers the table
  /// did not hold.
  double predict_ms(const ir::ModelSummary& summary, int* regressed = nullptr) const;
  const std::string& target() const;
  int threads() const;

 private:
  friend nlohmann::json fit_predictor(const FitOptions& opts);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace xcel::latency
