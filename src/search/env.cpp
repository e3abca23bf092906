// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/search/env.h"

#include <algorithm>
#include <map>

#include "xcel/core/error.h"
#include "xcel/prune/policy.h"

namespace xcel::search {
namespace {

bool touches(const prune::DependencyGraph& dg, const prune::ChannelMap& m, int group) {
  for (const auto& s : m.segments)
    if (dg.group_of_space[static_cast<size_t>(s.space)] == group) return true;
  return false;
}

}  // namespace

Env::Env(const prune::DependencyGraph& dg, const std::vector<ir::Layer>& layers, double flops_ratio, double lbound,
         std::int64_t round_to, const CostModel* latency)
    : dg_(dg), lbound_(lbound), round_to_(round_to) {
  if (latency) {
    XCEL_ASSERT(latency->weights.size() == dg.layers.size(), "latency model has {} weights for {} layers",
                latency->weights.size(), dg.layers.size());
    latency_ = *latency;
  }
  const char* flag = latency_ ? "--latency" : "--flops";
  XCEL_CHECK(latency_ && latency_->budget_ms > 0 ? true : (flops_ratio > 0 && flops_ratio <= 1), ExitCode::kUsage,
             "{} {} is outside (0, 1]", flag, flops_ratio);
  XCEL_CHECK(lbound > 0 && lbound <= 1, ExitCode::kUsage, "--lbound {} is outside (0, 1]", lbound);
  order_ = dg.prunable_groups();
  XCEL_CHECK(!order_.empty(), ExitCode::kUnsupported, "the model has no prunable channel group");
  if (!latency_) {
    budget_ = static_cast<double>(static_cast<std::int64_t>(flops_ratio * static_cast<double>(dg.flops)));
  } else {
    budget_ = latency_->budget_ms > 0 ? latency_->budget_ms : flops_ratio * cost(dg.full_widths());
  }

  std::map<std::string, const ir::Layer*> by_name;
  for (const auto& l : layers) by_name.emplace(l.name, &l);
  std::vector<std::vector<double>> raw;
  for (size_t t = 0; t < order_.size(); ++t) {
    const int g = order_[t];
    const auto& group = dg.groups[static_cast<size_t>(g)];
    const ir::Layer* l = by_name.count(group.name) ? by_name.at(group.name) : nullptr;
    double flops = 0;
    for (const auto& c : dg.layers)
      if (!c.fixed && (touches(dg, c.in, g) || touches(dg, c.out, g))) flops += static_cast<double>(c.flops);
    group_flops_.push_back(flops);
    const bool linear = l != nullptr && l->kind == ir::LayerKind::kLinear;
    double hw = l != nullptr && l->input_shape.size() >= 4 ? static_cast<double>(l->input_shape[2] * l->input_shape[3]) : 1;
    raw.push_back({static_cast<double>(t), linear ? 1.0 : 0.0, l != nullptr ? static_cast<double>(l->in_channels) : 0,
                   static_cast<double>(group.channels), l != nullptr && !l->stride.empty() ? static_cast<double>(l->stride[0]) : 1,
                   l != nullptr && !l->kernel.empty() ? static_cast<double>(l->kernel[0]) : 1, hw, flops});
  }
  // Min-max normalisation per column (a constant column becomes 0).
  const size_t cols = raw.front().size();
  for (size_t c = 0; c < cols; ++c) {
    double lo = raw[0][c], hi = raw[0][c];
    for (const auto& r : raw) lo = std::min(lo, r[c]), hi = std::max(hi, r[c]);
    for (auto& r : raw) r[c] = hi > lo ? (r[c] - lo) / (hi - lo) : 0.0;
  }
  for (const auto& r : raw) static_.emplace_back(r.begin(), r.end());

  std::vector<std::int64_t> all_min = dg.full_widths();
  for (int g : order_) all_min[static_cast<size_t>(g)] = min_width(g);
  const double floor = cost(all_min);
  if (latency_) {
    XCEL_CHECK(floor <= budget_, ExitCode::kBudget,
               "the latency budget {:.4f} ms cannot be met: with every group at --lbound {} the predicted latency is "
               "still {:.4f} ms ({:.3f} of the original); raise the budget or lower --lbound",
               budget_, lbound, floor, floor / cost(dg.full_widths()));
  } else {
    XCEL_CHECK(floor <= budget_, ExitCode::kBudget,
               "--flops {} cannot be met: with every group at --lbound {} the model still has {} FLOPs ({:.3f} of the "
               "original); raise --flops or lower --lbound",
               flops_ratio, lbound, static_cast<std::int64_t>(floor), floor / static_cast<double>(dg.flops));
  }
  reset();
}

double Env::cost(const std::vector<std::int64_t>& widths) const {
  if (!latency_) return static_cast<double>(dg_.predict_flops(widths));
  return dg_.predict_cost(widths, latency_->weights) + latency_->constant;
}

std::int64_t Env::min_width(int group) const {
  return prune::keep_count(dg_.groups[static_cast<size_t>(group)].channels, lbound_, round_to_);
}

void Env::reset() {
  widths_ = dg_.full_widths();
  t_ = 0;
  prev_action_ = 1.0;
}

std::vector<float> Env::state() const {
  XCEL_ASSERT(!done(), "state after the last step");
  std::vector<float> s = static_[static_cast<size_t>(t_)];
  const double orig = static_cast<double>(dg_.flops);
  double rest = 0;
  for (size_t u = static_cast<size_t>(t_) + 1; u < order_.size(); ++u) rest += group_flops_[u];
  s.push_back(static_cast<float>((orig - static_cast<double>(flops())) / orig));  // reduced so far
  s.push_back(static_cast<float>(std::min(1.0, rest / orig)));                      // still to decide
  s.push_back(static_cast<float>(prev_action_));
  // The largest preserve ratio the budget wall allows here: what the action can still buy.
  const std::int64_t channels = dg_.groups[static_cast<size_t>(order_[static_cast<size_t>(t_)])].channels;
  s.push_back(static_cast<float>(wall(channels)) / static_cast<float>(channels));
  return s;
}

// Cost with the widths decided so far, `width` at step `step`, and every later group at its minimum.
double Env::fits_with_rest_at_min(int step, std::int64_t width) const {
  std::vector<std::int64_t> w = widths_;
  w[static_cast<size_t>(order_[static_cast<size_t>(step)])] = width;
  for (size_t u = static_cast<size_t>(step) + 1; u < order_.size(); ++u) w[static_cast<size_t>(order_[u])] = min_width(order_[u]);
  return cost(w);
}

// The largest width up to `width` at the current step that keeps the budget reachable: down the rounding
// lattice until it fits; the group's minimum always does.
std::int64_t Env::wall(std::int64_t width) const {
  const std::int64_t lo = min_width(order_[static_cast<size_t>(t_)]);
  width = std::max(lo, width);
  while (width > lo && fits_with_rest_at_min(t_, width) > budget_) {
    std::int64_t next = width % round_to_ == 0 ? width - round_to_ : width - width % round_to_;
    width = std::max(lo, next);
  }
  return width;
}

double Env::step(double action) {
  XCEL_ASSERT(!done(), "step after the last group");
  const int g = order_[static_cast<size_t>(t_)];
  const std::int64_t channels = dg_.groups[static_cast<size_t>(g)].channels;
  const std::int64_t width = wall(prune::keep_count(channels, std::clamp(action, lbound_, 1.0), round_to_));
  XCEL_ASSERT(fits_with_rest_at_min(t_, width) <= budget_, "budget wall broken at step {}", t_);
  widths_[static_cast<size_t>(g)] = width;
  prev_action_ = static_cast<double>(width) / static_cast<double>(channels);
  ++t_;
  return prev_action_;
}

std::vector<std::int64_t> Env::uniform_widths(double ratio) const {
  std::vector<std::int64_t> w = dg_.full_widths();
  for (int g : order_)
    w[static_cast<size_t>(g)] = std::max(min_width(g), prune::keep_count(dg_.groups[static_cast<size_t>(g)].channels, ratio, round_to_));
  return w;
}

double Env::max_uniform_ratio() const {
  for (int k = 1000; k >= 1; --k) {
    double r = k / 1000.0;
    if (cost(uniform_widths(r)) <= budget_) return r;
  }
  return lbound_;
}

}  // namespace xcel::search
