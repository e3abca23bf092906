// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// The compression environment: walks the prunable groups in order, builds AMC's state per step (plus what
/// the budget wall still allows), and
/// enforces the FLOPs budget with a wall that makes overshooting impossible (no LibTorch here).
///
/// Depth (--remove-layers, --depth-only): the walk first decides, per removable block, keep or remove (an action in
/// the lowest quarter of [lbound, 1] removes it: random exploration removes one block in four), then the channel groups the kept blocks still hold. The policy is
/// then the widths per group followed by one entry per block (1 kept, 0 removed). A group whose every layer lies in
/// removed blocks is not walked (it is gone); a block without a shortcut whose output group differs from its input
/// group ties that output group to the input's width when removed (the next layer then reads the block's input).
///
/// Budget wall: before acting on group t, every later group is assumed at its lower bound; the action is
/// lowered to the largest channel count (on the rounding lattice) for which the exact FLOPs of the model
/// still fit the target. Since all later groups at their lower bound fit at every step, the final model's
/// exact FLOPs, after rounding, never exceed the target.
#include <cstdint>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "xcel/ir/summary.h"
#include "xcel/prune/dependency.h"
#include "xcel/prune/depth.h"
#include "xcel/search/walk.h"

namespace xcel::search {

/// One layer's latency as a function of its input and output channel counts: values at a grid of widths
/// (measured on the target, or estimated), made monotone (see make_monotone), bilinear between grid points and
/// constant beyond the grid's ends. A side the search does not change has a single grid point.
struct LayerTable {
  int layer = -1;                     // index into DependencyGraph::layers
  std::vector<std::int64_t> in, out;  // ascending; `in` in features for a linear layer after a flatten
  std::vector<double> ms;             // in.size() x out.size(), row-major
  bool depthwise = false;             // cost follows the input channels (out is not used)

  double at(std::int64_t cin, std::int64_t cout) const;
  /// The monotone envelope: each value becomes the largest at or below its widths on both axes, so that more
  /// channels never predict less time (what the budget wall's guarantee needs). Returns how many values it raised.
  int make_monotone();
};

/// The latency model of the budget wall: the sum of the layer tables at the layers' channel counts plus a
/// constant (what no layer table holds: the rest of the forward pass). Monotone in every width.
struct CostModel {
  std::vector<LayerTable> tables;
  double constant = 0;          // ms
  double budget_ms = 0;         // > 0: an absolute budget (--latency-ms); else ratio x the original's cost
};

void to_json(nlohmann::json& j, const CostModel& m);
void from_json(const nlohmann::json& j, CostModel& m);

/// The model's predicted milliseconds when group g keeps kept[g] channels (layers flagged in `removed`, when given,
/// cost nothing: their block is removed).
double predict_ms(const CostModel& m, const prune::DependencyGraph& dg, const std::vector<std::int64_t>& kept,
                  const std::vector<bool>* removed = nullptr);

/// Blocks the walk may remove (see the top of this file).
struct DepthOptions {
  std::vector<prune::DepthUnit> units;  // removable units of prune::find_units (others are ignored)
  bool only = false;                    // no channel pruning: every group keeps its channels
};

/// A policy of a walk with depth, decoded: the widths every group has (ties applied) and the removed blocks.
struct DepthPolicy {
  std::vector<std::int64_t> widths;  // one per group
  std::vector<std::string> removed;  // block names
  std::vector<bool> removed_layers;  // per DependencyGraph::layers
};

class Env : public Walk {
 public:
  /// Budget: `ratio` of the original FLOPs, or with `latency` a latency budget (ratio of the original's
  /// predicted latency, or latency->budget_ms). Throws Error(kBudget) when even every group at `lbound` (and
  /// every block removed, with `depth`) is over.
  Env(const prune::DependencyGraph& dg, const std::vector<ir::Layer>& layers, double ratio, double lbound,
      std::int64_t round_to, const CostModel* latency = nullptr, const DepthOptions* depth = nullptr);

  /// A second bound for a FLOPs budget: the predicted latency under `model` never exceeds `max_ms` (e.g. that of
  /// the uniform policy, so that a FLOPs search keeps widths the device runs fast). Ignored when even every group
  /// at its lower bound is over it.
  void cap_latency(const CostModel& model, double max_ms);
  /// The latency cap's prediction for `widths` (0 without a cap).
  double capped_ms(const std::vector<std::int64_t>& widths) const;

  /// Steps of the current episode: blocks, then the groups that are left.
  int steps() const { return units() + static_cast<int>(active_.size()); }
  int state_dim() const override { return kFeatures + (depth() ? 1 : 0) + static_cast<int>(platform_.size()); }
  /// Figures of the target (each in [0, 1]) appended to every state, so that one agent can serve several targets.
  void set_platform(std::vector<float> features) { platform_ = std::move(features); }
  void reset() override;
  std::vector<float> state() const override;
  /// Applies `action` (preserve ratio) to the current group after the budget wall; returns the ratio
  /// actually applied (kept / channels) and advances. At a block: keep (returns 1) or remove (returns lbound).
  double step(double action) override;
  bool done() const override { return t_ >= steps(); }

  /// The policy walked: widths per group, then (with depth) 1 or 0 per block.
  const std::vector<std::int64_t>& widths() const override { return widths_; }
  bool within_budget() const override { return flops() <= target_flops() && cost() <= budget(); }
  std::int64_t flops() const override { return flops_of(widths_); }
  /// Exact FLOPs of a policy (blocks removed cost nothing).
  std::int64_t flops_of(const std::vector<std::int64_t>& policy) const;
  /// Decodes a policy of this walk (see DepthPolicy).
  DepthPolicy decode(const std::vector<std::int64_t>& policy) const;
  bool depth() const { return !units_.empty(); }
  int units() const { return static_cast<int>(units_.size()); }
  /// Block names, in the order of their entries in a policy.
  std::vector<std::string> unit_names() const;
  double predicted_ms() const override { return latency_budget() ? cost() : 0.0; }
  nlohmann::json describe() const override;
  std::string progress() const override;
  /// The FLOPs bound (the original FLOPs when the budget is latency).
  std::int64_t target_flops() const { return latency_ ? dg_.flops : static_cast<std::int64_t>(budget_); }
  /// What the wall bounds: FLOPs, or predicted milliseconds with a latency model.
  double cost(const std::vector<std::int64_t>& widths) const;
  double cost() const { return cost(widths_); }
  double budget() const { return budget_; }
  bool latency_budget() const { return latency_.has_value(); }
  std::int64_t original_flops() const { return dg_.flops; }
  /// Largest uniform preserve ratio (on a 1e-3 grid) whose rounded widths meet the budget.
  double max_uniform_ratio() const;
  /// The original as a policy of this walk: every group whole, every block kept.
  std::vector<std::int64_t> full_policy() const { return uniform_widths(1.0); }
  /// The policy of the same ratio everywhere (rounded), every block kept.
  std::vector<std::int64_t> uniform_widths(double ratio) const;
  /// True when `policy` meets the budget (and the latency cap).
  bool fits(const std::vector<std::int64_t>& policy) const { return within(policy); }
  /// `widths` with every prunable group's preserve ratio multiplied by `factor` (rounded, never below --lbound).
  std::vector<std::int64_t> scaled_widths(const std::vector<std::int64_t>& widths, double factor) const;
  std::vector<double> action_menu() const override;
  const std::vector<int>& order() const { return order_; }

  /// Per step: index, linear?, in channels, channels, stride, kernel, input h*w, the group's FLOPs (static,
  /// min-max normalised over the steps), FLOPs removed so far, FLOPs of the later groups, the previous
  /// action, and the largest preserve ratio the budget wall allows at this step. With depth, one more: 1 at a
  /// block's keep-or-remove step (its row then holds the block's channels, input h*w and FLOPs).
  static constexpr int kFeatures = 12;

 private:
  struct Unit {
    std::string name;
    std::vector<int> layers;            // indices into dg.layers
    int in_group = -1, out_group = -1;  // a removed block ties out_group to in_group's width (when they differ)
    double flops = 0;
  };
  void add_units(const DepthOptions& depth, std::vector<std::vector<double>>& raw);
  // Predicted milliseconds of a policy under `m` (removed blocks' layers skipped).
  double ms_of(const CostModel& m, const std::vector<std::int64_t>& policy) const;
  std::int64_t min_width(int group) const;
  // The policy decided so far, `value` at step `step`, and every later step at its minimum (blocks removed).
  std::vector<std::int64_t> with_rest_at_min(int step, std::int64_t value) const;
  bool within(const std::vector<std::int64_t>& widths) const;
  std::int64_t wall(std::int64_t width) const;
  // Groups whose every reading or writing layer is in a removed block.
  std::vector<bool> gone_groups(const DepthPolicy& d) const;
  // The groups walked after the block steps: the prunable ones the removed blocks left, not tied to another.
  void choose_active();
  // Tied groups take their source's width, gone groups their full width: one policy, one vector.
  void canonicalise(std::vector<std::int64_t>& policy) const;
  double keep_threshold() const { return lbound_ + 0.25 * (1.0 - lbound_); }
  int group_step(int t) const { return active_[static_cast<size_t>(t - units())]; }  // index into order_

  const prune::DependencyGraph& dg_;
  std::vector<int> order_;                        // prunable group per step
  std::vector<std::vector<float>> static_;        // per block, then per group of order_: normalised static features
  std::vector<double> group_flops_;               // per group of order_, FLOPs that scale with the group
  double lbound_;
  std::int64_t round_to_;
  double budget_ = 0;
  std::optional<CostModel> latency_;
  std::optional<CostModel> cap_;
  double cap_ms_ = 0;
  std::vector<std::int64_t> widths_;
  int t_ = 0;
  double prev_action_ = 1.0;
  std::vector<Unit> units_;
  bool depth_only_ = false;
  std::vector<int> active_;  // per group step of this episode: index into order_
  std::vector<float> platform_;
};

}  // namespace xcel::search
