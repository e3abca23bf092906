// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// The mixed-precision walk (HAQ-style): one step per searched layer for its weight bits (and, with a BOPs
/// budget, one more for its activation bits), with the budget wall of the pruning search: before acting, every
/// later step is assumed at the fewest bits, and the action is lowered to the most bits for which the policy still
/// fits. So every finished policy meets the budget. No LibTorch here.
#include <cstdint>
#include <string>
#include <vector>

#include "xcel/ir/summary.h"
#include "xcel/quant/precision.h"
#include "xcel/search/walk.h"

namespace xcel::search {

/// What a latency budget measures: the float model, the model with every searched layer in int8, and per searched
/// layer what leaving it in float adds to that (milliseconds, measured whole models on the target).
struct LatencyCosts {
  double float_ms = 0, int8_ms = 0;
  std::vector<double> float_extra_ms;
};

class BitsEnv : public Walk {
 public:
  /// `base`: the layers' policy outside the search (fixed layers, activation bits for a size budget);
  /// `budget` "size" (weight bits over float, quant::size_ratio) or "bops" (quant::bops_ratio, activations
  /// searched too), at most `ratio`. Throws Error(kBudget) when even the fewest bits everywhere are over it.
  BitsEnv(const std::vector<ir::Layer>& layers, quant::QuantPolicy base, const std::string& budget, double ratio,
          int min_bits, int max_bits);
  /// The latency walk: each searched layer runs in int8 (8-bit weights and activations) or float, the two widths
  /// stock kernels run; the predicted latency (int8_ms plus the float layers' extra, over float_ms) is at most
  /// `ratio`. A layer whose extra is negative (faster in float) counts that way. Throws Error(kBudget) when even
  /// the fastest policy by the table (each layer at its faster width) is over it.
  BitsEnv(const std::vector<ir::Layer>& layers, quant::QuantPolicy base, LatencyCosts costs, double ratio);

  int state_dim() const override { return kFeatures; }
  void reset() override;
  std::vector<float> state() const override;
  double step(double action) override;
  bool done() const override { return t_ >= static_cast<int>(steps_.size()); }
  const std::vector<std::int64_t>& widths() const override { return bits_; }
  const char* policy_key() const override { return "bits"; }
  /// One action per bit width, --min-bits to --max-bits (latency: 8 and 32).
  std::vector<double> action_menu() const override;
  bool within_budget() const override { return cost(bits_) <= ratio_ + 1e-12; }
  std::int64_t flops() const override { return flops_; }
  nlohmann::json describe() const override;
  std::string progress() const override;

  int steps() const { return static_cast<int>(steps_.size()); }
  /// The policy of `bits` (one value per step).
  quant::QuantPolicy policy(const std::vector<std::int64_t>& bits) const;
  /// The budget's figure for `bits`.
  double cost(const std::vector<std::int64_t>& bits) const;
  double budget() const { return ratio_; }
  /// The most bits, the same at every step, that meet the budget (the uniform policy).
  int max_uniform_bits() const;
  /// Whether that uniform policy meets the budget (always for size and BOPs; latency: not when only a mix of int8
  /// and float layers is fast enough).
  bool uniform_fits() const;
  /// Latency: the faster width of step `k` by the table (32 when float measured faster, else 8).
  int fastest(size_t k) const;
  /// The agent's action that maps to `bits`.
  double action_for(int bits) const;

  /// Per step: index, weights or activations, in channels, out channels, kernel, stride, FLOPs and parameters
  /// (min-max normalised over the steps), depthwise, the previous action, and the most bits the wall allows.
  static constexpr int kFeatures = 11;

 private:
  struct Step {
    size_t layer;  // index into the policy's layers
    bool activation;
  };
  void init_steps(const std::vector<ir::Layer>& layers);  // the steps and their static features
  int bits_for(double action) const;
  int wall(int bits) const;

  std::vector<ir::Layer> layers_;  // quantizable layers, as the policy's
  quant::QuantPolicy base_;
  std::string budget_kind_;
  double ratio_;
  std::vector<int> menu_;  // the widths a step may take, ascending
  LatencyCosts latency_;
  std::int64_t flops_ = 0;
  std::vector<Step> steps_;
  std::vector<std::vector<float>> static_;
  std::vector<std::int64_t> bits_;
  int t_ = 0;
  double prev_action_ = 1.0;
};

}  // namespace xcel::search
