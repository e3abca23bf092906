// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Fitted latency predictors (`xcel latency fit`): a lookup table of per-layer latencies keyed by layer
/// signature (measured on the target), a small MLP regressor for signatures not in the table (LENNA-style,
/// trained on the table), and a linear model from the per-layer sums to the whole model's measured latency
/// (which adds what isolated layers miss: activations, pooling, framework overhead). No LibTorch here.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xcel/ir/summary.h"

namespace xcel::latency {

/// Measurements to fit a predictor on: whole models (pruned variants of a few networks) and the median time of
/// every layer signature that occurs in the fitted (not held-out) variants, all on one target.
struct FitSample {
  std::string model;           // the network this variant was cut from
  ir::ModelSummary summary;
  double measured_ms = 0;
  bool held_out = false;       // kept out of the table and the calibration, to measure accuracy
};
struct FitData {
  std::string target;
  int threads = 1;
  std::uint64_t seed = 0;      // the regressor's initialisation
  std::vector<FitSample> samples;
  std::map<std::string, ir::Layer> layers;  // signature -> a layer with it
  std::map<std::string, double> layer_ms;   // signature -> measured median
  nlohmann::json provenance;   // stored beside the fit (models, input shape)
};

/// Fits the table, the regressor and the calibration, writes the predictor to `out`, and returns the report
/// (held-out share within +-10%, RMSE, table size, regressor use).
nlohmann::json fit_predictor(const FitData& data, const std::string& out);

class Predictor {
 public:
  struct Impl;
  explicit Predictor(const std::string& path);  // Error(kInput) for a missing or damaged file
  ~Predictor();
  Predictor(Predictor&&) noexcept;
  /// Predicted milliseconds of a model from its layer table (batch 1); `regressed` counts layers the table
  /// did not hold.
  double predict_ms(const ir::ModelSummary& summary, int* regressed = nullptr) const;
  const std::string& target() const;
  /// Why a prediction for `summary` is outside what the predictor was fitted on: layers whose sizes lie outside
  /// the fitted layers', or a model of another family whose layers are mostly not in the table. "" when inside.
  std::string outside_fit(const ir::ModelSummary& summary) const;
  int threads() const;

 private:
  friend nlohmann::json fit_predictor(const FitData& data, const std::string& out);
  std::unique_ptr<Impl> impl_;
};

}  // namespace xcel::latency
