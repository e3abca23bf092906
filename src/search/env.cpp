// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/search/env.h"

#include <algorithm>
#include <map>

#include "xcel/core/error.h"
#include "xcel/core/log.h"
#include "xcel/prune/policy.h"

namespace xcel::search {
namespace {

bool touches(const prune::DependencyGraph& dg, const prune::ChannelMap& m, int group) {
  for (const auto& s : m.segments)
    if (dg.group_of_space[static_cast<size_t>(s.space)] == group) return true;
  return false;
}

// Position of x on an ascending grid: the index of the lower point and the fraction towards the next one
// (clamped at the ends).
std::pair<size_t, double> locate(const std::vector<std::int64_t>& grid, std::int64_t x) {
  if (grid.size() == 1 || x <= grid.front()) return {0, 0.0};
  if (x >= grid.back()) return {grid.size() - 1, 0.0};
  size_t i = static_cast<size_t>(std::upper_bound(grid.begin(), grid.end(), x) - grid.begin()) - 1;
  return {i, static_cast<double>(x - grid[i]) / static_cast<double>(grid[i + 1] - grid[i])};
}

}  // namespace

double LayerTable::at(std::int64_t cin, std::int64_t cout) const {
  const auto [i, fi] = locate(in, cin);
  const auto [j, fj] = depthwise ? std::pair<size_t, double>{0, 0.0} : locate(out, cout);
  const size_t cols = out.size();
  auto v = [&](size_t a, size_t b) { return ms[std::min(a, in.size() - 1) * cols + std::min(b, cols - 1)]; };
  return (1 - fi) * (1 - fj) * v(i, j) + fi * (1 - fj) * v(i + 1, j) + (1 - fi) * fj * v(i, j + 1) +
         fi * fj * v(i + 1, j + 1);
}

int LayerTable::make_monotone() {
  int raised = 0;
  const size_t cols = out.size();
  for (size_t a = 0; a < in.size(); ++a)
    for (size_t b = 0; b < cols; ++b) {
      double m = ms[a * cols + b];
      if (a > 0) m = std::max(m, ms[(a - 1) * cols + b]);
      if (b > 0) m = std::max(m, ms[a * cols + b - 1]);
      if (m > ms[a * cols + b]) ms[a * cols + b] = m, ++raised;
    }
  return raised;
}

void to_json(nlohmann::json& j, const CostModel& m) {
  nlohmann::json tables = nlohmann::json::array();
  for (const auto& t : m.tables)
    tables.push_back({{"layer", t.layer}, {"in", t.in}, {"out", t.out}, {"ms", t.ms}, {"depthwise", t.depthwise}});
  j = {{"tables", tables}, {"constant", m.constant}, {"budget_ms", m.budget_ms}};
}

void from_json(const nlohmann::json& j, CostModel& m) {
  m.tables.clear();
  for (const auto& t : j.at("tables"))
    m.tables.push_back({t.at("layer").get<int>(), t.at("in").get<std::vector<std::int64_t>>(),
                        t.at("out").get<std::vector<std::int64_t>>(), t.at("ms").get<std::vector<double>>(),
                        t.at("depthwise").get<bool>()});
  m.constant = j.at("constant").get<double>();
  m.budget_ms = j.at("budget_ms").get<double>();
}

double predict_ms(const CostModel& m, const prune::DependencyGraph& dg, const std::vector<std::int64_t>& kept) {
  double total = m.constant;
  for (const auto& t : m.tables) {
    const auto& l = dg.layers[static_cast<size_t>(t.layer)];
    total += t.at(dg.kept_channels(l.in, kept) * l.in.factor, dg.kept_channels(l.out, kept));
  }
  return total;
}

Env::Env(const prune::DependencyGraph& dg, const std::vector<ir::Layer>& layers, double flops_ratio, double lbound,
         std::int64_t round_to, const CostModel* latency)
    : dg_(dg), lbound_(lbound), round_to_(round_to) {
  if (latency) {
    for (const auto& t : latency->tables)
      XCEL_ASSERT(t.layer >= 0 && t.layer < static_cast<int>(dg.layers.size()) &&
                      t.ms.size() == t.in.size() * t.out.size() && !t.ms.empty(),
                  "latency table of layer {} does not fit the model", t.layer);
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
  return predict_ms(*latency_, dg_, widths);
}

std::int64_t Env::min_width(int group) const {
  return prune::keep_count(dg_.groups[static_cast<size_t>(group)].channels, lbound_, dg_.step(group, round_to_));
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

std::vector<std::int64_t> Env::with_rest_at_min(int step, std::int64_t width) const {
  std::vector<std::int64_t> w = widths_;
  w[static_cast<size_t>(order_[static_cast<size_t>(step)])] = width;
  for (size_t u = static_cast<size_t>(step) + 1; u < order_.size(); ++u) w[static_cast<size_t>(order_[u])] = min_width(order_[u]);
  return w;
}

bool Env::within(const std::vector<std::int64_t>& widths) const {
  return cost(widths) <= budget_ && (!cap_ || predict_ms(*cap_, dg_, widths) <= cap_ms_);
}

void Env::cap_latency(const CostModel& model, double max_ms) {
  std::vector<std::int64_t> all_min = dg_.full_widths();
  for (int g : order_) all_min[static_cast<size_t>(g)] = min_width(g);
  if (predict_ms(model, dg_, all_min) > max_ms) return;
  cap_ = model;
  cap_ms_ = max_ms;
}

double Env::capped_ms(const std::vector<std::int64_t>& widths) const {
  return cap_ ? predict_ms(*cap_, dg_, widths) : 0.0;
}

// The largest width up to `width` at the current step that keeps the budget reachable: down the rounding
// lattice until it fits; the group's minimum always does.
std::int64_t Env::wall(std::int64_t width) const {
  const int g = order_[static_cast<size_t>(t_)];
  const std::int64_t lo = min_width(g);
  const std::int64_t step = dg_.step(g, round_to_);
  width = std::max(lo, width);
  while (width > lo && !within(with_rest_at_min(t_, width))) {
    std::int64_t next = width % step == 0 ? width - step : width - width % step;
    width = std::max(lo, next);
  }
  return width;
}

double Env::step(double action) {
  XCEL_ASSERT(!done(), "step after the last group");
  const int g = order_[static_cast<size_t>(t_)];
  const std::int64_t channels = dg_.groups[static_cast<size_t>(g)].channels;
  const std::int64_t width = wall(prune::keep_count(channels, std::clamp(action, lbound_, 1.0), dg_.step(g, round_to_)));
  XCEL_ASSERT(within(with_rest_at_min(t_, width)), "budget wall broken at step {}", t_);
  widths_[static_cast<size_t>(g)] = width;
  prev_action_ = static_cast<double>(width) / static_cast<double>(channels);
  ++t_;
  return prev_action_;
}

std::vector<std::int64_t> Env::uniform_widths(double ratio) const {
  std::vector<std::int64_t> w = dg_.full_widths();
  for (int g : order_)
    w[static_cast<size_t>(g)] =
        std::max(min_width(g), prune::keep_count(dg_.groups[static_cast<size_t>(g)].channels, ratio, dg_.step(g, round_to_)));
  return w;
}

std::vector<std::int64_t> Env::scaled_widths(const std::vector<std::int64_t>& widths, double factor) const {
  std::vector<std::int64_t> w = widths;
  for (int g : order_) {
    const std::int64_t channels = dg_.groups[static_cast<size_t>(g)].channels;
    const double ratio = factor * static_cast<double>(widths[static_cast<size_t>(g)]) / static_cast<double>(channels);
    w[static_cast<size_t>(g)] = std::max(min_width(g), prune::keep_count(channels, ratio, dg_.step(g, round_to_)));
  }
  return w;
}

double Env::max_uniform_ratio() const {
  for (int k = 1000; k >= 1; --k) {
    double r = k / 1000.0;
    if (within(uniform_widths(r))) return r;
  }
  return lbound_;
}

nlohmann::json Env::describe() const {
  return {{"flops", flops()},
          {"flops_ratio", static_cast<double>(flops()) / static_cast<double>(original_flops())},
          {"latency_ms_predicted", predicted_ms()}};
}

std::string Env::progress() const {
  return fmt::format("FLOPs {:.3f}", static_cast<double>(flops()) / static_cast<double>(original_flops()));
}

}  // namespace xcel::search
