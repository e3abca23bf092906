// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// The compression environment: walks the prunable groups in order, builds AMC's state per step, and
/// enforces the FLOPs budget with a wall that makes overshooting impossible (no LibTorch here).
///
/// Budget wall: before acting on group t, every later group is assumed at its lower bound; the action is
/// lowered to the largest channel count (on the rounding lattice) for which the exact FLOPs of the model
/// still fit the target. Since all later groups at their lower bound fit at every step, the final model's
/// exact FLOPs, after rounding, never exceed the target.
#include <cstdint>
#include <vector>

#include "xcel/ir/summary.h"
#include "xcel/prune/dependency.h"

namespace xcel::search {

class Env {
 public:
  /// Throws Error(kBudget) when even every group at `lbound` exceeds `flops_ratio` of the original FLOPs.
  Env(const prune::DependencyGraph& dg, const std::vector<ir::Layer>& layers, double flops_ratio, double lbound,
      std::int64_t round_to);

  int steps() const { return static_cast<int>(order_.size()); }
  int state_dim() const { return kFeatures; }
  void reset();
  /// State before acting at the current step (features normalised to [0, 1]).
  std::vector<float> state() const;
  /// Applies `action` (preserve ratio) to the current group after the budget wall; returns the ratio
  /// actually applied (kept / channels) and advances.
  double step(double action);
  bool done() const { return t_ >= steps(); }

  const std::vector<std::int64_t>& widths() const { return widths_; }
  std::int64_t flops() const { return dg_.predict_flops(widths_); }
  std::int64_t target_flops() const { return target_; }
  std::int64_t original_flops() const { return dg_.flops; }
  /// Largest uniform preserve ratio (on a 1e-3 grid) whose rounded widths meet the budget.
  double max_uniform_ratio() const;
  /// Widths for the same ratio everywhere (rounded).
  std::vector<std::int64_t> uniform_widths(double ratio) const;
  const std::vector<int>& order() const { return order_; }

  static constexpr int kFeatures = 11;

 private:
  std::int64_t min_width(int group) const;
  std::int64_t fits_with_rest_at_min(int step, std::int64_t width) const;

  const prune::DependencyGraph& dg_;
  std::vector<int> order_;                        // prunable group per step
  std::vector<std::vector<float>> static_;        // per step, normalised static features
  std::vector<double> group_flops_;               // per step, FLOPs that scale with the group
  double lbound_;
  std::int64_t round_to_, target_;
  std::vector<std::int64_t> widths_;
  int t_ = 0;
  double prev_action_ = 1.0;
};

}  // namespace xcel::search
