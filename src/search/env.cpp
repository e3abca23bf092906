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

double predict_ms(const CostModel& m, const prune::DependencyGraph& dg, const std::vector<std::int64_t>& kept,
                  const std::vector<bool>* removed) {
  double total = m.constant;
  for (const auto& t : m.tables) {
    if (removed != nullptr && (*removed)[static_cast<size_t>(t.layer)]) continue;
    const auto& l = dg.layers[static_cast<size_t>(t.layer)];
    total += t.at(dg.kept_channels(l.in, kept) * l.in.factor, dg.kept_channels(l.out, kept));
  }
  return total;
}

Env::Env(const prune::DependencyGraph& dg, const std::vector<ir::Layer>& layers, double flops_ratio, double lbound,
         std::int64_t round_to, const CostModel* latency, const DepthOptions* depth)
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
  depth_only_ = depth != nullptr && depth->only;
  if (!depth_only_) order_ = dg.prunable_groups();
  std::vector<std::vector<double>> raw;
  if (depth != nullptr) add_units(*depth, raw);
  XCEL_CHECK(!order_.empty() || depth != nullptr, ExitCode::kUnsupported, "the model has no prunable channel group");
  if (!latency_) {
    budget_ = static_cast<double>(static_cast<std::int64_t>(flops_ratio * static_cast<double>(dg.flops)));
  } else {
    budget_ = latency_->budget_ms > 0 ? latency_->budget_ms : flops_ratio * cost(full_policy());
  }

  std::map<std::string, const ir::Layer*> by_name;
  for (const auto& l : layers) by_name.emplace(l.name, &l);
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
    raw.push_back({static_cast<double>(units_.size() + t), linear ? 1.0 : 0.0, l != nullptr ? static_cast<double>(l->in_channels) : 0,
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

  reset();
  const std::vector<std::int64_t> all_min = with_rest_at_min(-1, 0);
  const double floor = cost(all_min);
  const std::string floor_is = depth_only_ ? "with every removable block removed (channels whole)"
                               : fmt::format("with every group at --lbound {}{}", lbound,
                                             depth != nullptr ? " and every removable block removed" : "");
  if (latency_) {
    XCEL_CHECK(floor <= budget_, ExitCode::kBudget,
               "the latency budget {:.4f} ms cannot be met: {} the predicted latency is still {:.4f} ms ({:.3f} of the "
               "original); raise the budget{}", budget_, floor_is, floor, floor / cost(full_policy()),
               depth_only_ ? " or let channels go too (--remove-layers)" : " or lower --lbound");
  } else {
    XCEL_CHECK(floor <= budget_, ExitCode::kBudget,
               "--flops {} cannot be met: {} the model still has {} FLOPs ({:.3f} of the original); raise --flops{}",
               flops_ratio, floor_is, static_cast<std::int64_t>(floor), floor / static_cast<double>(dg.flops),
               depth_only_ ? " or let channels go too (--remove-layers)" : " or lower --lbound");
  }
}

void Env::add_units(const DepthOptions& depth, std::vector<std::vector<double>>& raw) {
  auto single_group = [&](const prune::ChannelMap& m) {
    return m.segments.size() == 1 && m.factor == 1 ? dg_.group_of_space[static_cast<size_t>(m.segments[0].space)] : -1;
  };
  for (const auto& du : depth.units) {
    if (!du.removable) continue;
    Unit u{du.name, {}, -1, -1, static_cast<double>(du.flops)};
    int first = -1, last = -1;
    for (size_t i = 0; i < dg_.layers.size(); ++i) {
      const auto& l = dg_.layers[i];
      if (l.name.rfind(du.name + ".", 0) != 0) continue;
      u.layers.push_back(static_cast<int>(i));
      if (l.kind == ir::LayerKind::kBatchNorm) continue;
      if (first < 0) first = static_cast<int>(i);
      last = static_cast<int>(i);
    }
    if (first >= 0) {
      u.in_group = single_group(dg_.layers[static_cast<size_t>(first)].in);
      u.out_group = single_group(dg_.layers[static_cast<size_t>(last)].out);
    }
    // The block's boundary must be one channel group on each side, of the block's channel count; a removed block
    // whose output group differs must be able to follow its input group's width.
    std::string why;
    if (u.in_group < 0 || u.out_group < 0)
      why = "its input or output channels are not one channel group";
    else if (du.in.size() < 2 || dg_.groups[static_cast<size_t>(u.in_group)].channels != du.in[1] ||
             dg_.groups[static_cast<size_t>(u.out_group)].channels != du.out[1])
      why = "its output is not its last layer's";
    else if (u.in_group != u.out_group && dg_.groups[static_cast<size_t>(u.in_group)].prunable &&
             !dg_.groups[static_cast<size_t>(u.out_group)].prunable)
      why = "its output channels cannot follow its pruned input";
    if (!why.empty()) {
      spdlog::warn("block '{}' is not among the search's decisions: {}", du.name, why);
      continue;
    }
    const bool linear = dg_.layers[static_cast<size_t>(first)].kind == ir::LayerKind::kLinear;
    const double hw = du.in.size() >= 4 ? static_cast<double>(du.in[2] * du.in[3]) : 1;
    raw.push_back({static_cast<double>(units_.size()), linear ? 1.0 : 0.0,
                   static_cast<double>(du.in[1]), static_cast<double>(du.out[1]), 1, 1, hw, u.flops});
    units_.push_back(std::move(u));
  }
  XCEL_CHECK(!units_.empty(), ExitCode::kUnsupported,
             "the model has no block the search can remove (see xcel inspect --depth); drop --remove-layers/--depth-only");
}

std::vector<std::string> Env::unit_names() const {
  std::vector<std::string> names;
  for (const auto& u : units_) names.push_back(u.name);
  return names;
}

DepthPolicy Env::decode(const std::vector<std::int64_t>& policy) const {
  const size_t groups = dg_.groups.size();
  XCEL_ASSERT(policy.size() == groups + units_.size(), "a policy of {} entries for {} groups and {} blocks",
              policy.size(), groups, units_.size());
  DepthPolicy d;
  d.widths.assign(policy.begin(), policy.begin() + static_cast<std::ptrdiff_t>(groups));
  d.removed_layers.assign(dg_.layers.size(), false);
  for (size_t u = 0; u < units_.size(); ++u) {
    if (policy[groups + u] != 0) continue;
    d.removed.push_back(units_[u].name);
    for (int l : units_[u].layers) d.removed_layers[static_cast<size_t>(l)] = true;
  }
  // Ties in the order the tied groups were produced, so that a chain of removed blocks follows its first input.
  std::vector<const Unit*> ties;
  for (size_t u = 0; u < units_.size(); ++u)
    if (policy[groups + u] == 0 && units_[u].in_group != units_[u].out_group) ties.push_back(&units_[u]);
  std::sort(ties.begin(), ties.end(), [](const Unit* a, const Unit* b) { return a->out_group < b->out_group; });
  for (const Unit* u : ties) d.widths[static_cast<size_t>(u->out_group)] = d.widths[static_cast<size_t>(u->in_group)];
  return d;
}

std::int64_t Env::flops_of(const std::vector<std::int64_t>& policy) const {
  if (!depth()) return dg_.predict_flops(policy);
  const DepthPolicy d = decode(policy);
  std::int64_t total = 0;
  for (size_t i = 0; i < dg_.layers.size(); ++i)
    if (!d.removed_layers[i]) total += dg_.layer_flops(dg_.layers[i], d.widths);
  return total;
}

double Env::ms_of(const CostModel& m, const std::vector<std::int64_t>& policy) const {
  if (!depth()) return predict_ms(m, dg_, policy);
  const DepthPolicy d = decode(policy);
  return predict_ms(m, dg_, d.widths, &d.removed_layers);
}

double Env::cost(const std::vector<std::int64_t>& widths) const {
  return latency_ ? ms_of(*latency_, widths) : static_cast<double>(flops_of(widths));
}

std::int64_t Env::min_width(int group) const {
  return prune::keep_count(dg_.groups[static_cast<size_t>(group)].channels, lbound_, dg_.step(group, round_to_));
}

void Env::reset() {
  widths_ = dg_.full_widths();
  widths_.resize(dg_.groups.size() + units_.size(), 1);  // every block kept
  t_ = 0;
  prev_action_ = 1.0;
  active_.resize(order_.size());
  for (size_t i = 0; i < order_.size(); ++i) active_[i] = static_cast<int>(i);
}

std::vector<bool> Env::gone_groups(const DepthPolicy& d) const {
  std::vector<bool> gone(dg_.groups.size(), false);
  for (size_t g = 0; g < dg_.groups.size(); ++g) {
    bool any = false, all_removed = true;
    for (size_t i = 0; i < dg_.layers.size(); ++i) {
      const auto& l = dg_.layers[i];
      if (!touches(dg_, l.in, static_cast<int>(g)) && !touches(dg_, l.out, static_cast<int>(g))) continue;
      any = true;
      all_removed = all_removed && d.removed_layers[i];
    }
    gone[g] = any && all_removed;
  }
  return gone;
}

void Env::choose_active() {
  std::vector<bool> skip = gone_groups(decode(widths_));
  for (size_t u = 0; u < units_.size(); ++u)
    if (widths_[dg_.groups.size() + u] == 0 && units_[u].in_group != units_[u].out_group)
      skip[static_cast<size_t>(units_[u].out_group)] = true;
  active_.clear();
  for (size_t i = 0; i < order_.size(); ++i)
    if (!skip[static_cast<size_t>(order_[i])]) active_.push_back(static_cast<int>(i));
}

void Env::canonicalise(std::vector<std::int64_t>& policy) const {
  if (!depth()) return;
  const std::vector<std::int64_t> full = dg_.full_widths();
  const DepthPolicy d = decode(policy);
  const std::vector<bool> gone = gone_groups(d);
  for (size_t g = 0; g < full.size(); ++g) policy[g] = gone[g] ? full[g] : d.widths[g];
}

std::vector<float> Env::state() const {
  XCEL_ASSERT(!done(), "state after the last step");
  const bool block = t_ < units();
  std::vector<float> s = static_[static_cast<size_t>(block ? t_ : units() + group_step(t_))];
  const double orig = static_cast<double>(dg_.flops);
  double rest = 0;
  if (block) {
    for (int u = t_ + 1; u < units(); ++u) rest += units_[static_cast<size_t>(u)].flops;
    for (double f : group_flops_) rest += f;
  } else {
    for (int t = t_ + 1; t < steps(); ++t) rest += group_flops_[static_cast<size_t>(group_step(t))];
  }
  s.push_back(static_cast<float>((orig - static_cast<double>(flops())) / orig));  // reduced so far
  s.push_back(static_cast<float>(std::min(1.0, rest / orig)));                      // still to decide
  s.push_back(static_cast<float>(prev_action_));
  // What the budget wall allows here: the largest preserve ratio, or 1 when the block may be kept.
  if (block) {
    s.push_back(within(with_rest_at_min(t_, 1)) ? 1.0f : 0.0f);
  } else {
    const std::int64_t channels = dg_.groups[static_cast<size_t>(order_[static_cast<size_t>(group_step(t_))])].channels;
    s.push_back(static_cast<float>(wall(channels)) / static_cast<float>(channels));
  }
  if (depth()) s.push_back(block ? 1.0f : 0.0f);
  s.insert(s.end(), platform_.begin(), platform_.end());
  return s;
}

// Step -1: everything at its minimum. A block step sets that block (1 kept, 0 removed), removes the later blocks
// and puts every walked group at its minimum; a group step sets that group and puts the later walked ones at theirs.
std::vector<std::int64_t> Env::with_rest_at_min(int step, std::int64_t value) const {
  std::vector<std::int64_t> w = widths_;
  const size_t groups = dg_.groups.size();
  if (step < units()) {
    for (int u = std::max(step, 0); u < units(); ++u) w[groups + static_cast<size_t>(u)] = u == step ? value : 0;
    for (int g : order_) w[static_cast<size_t>(g)] = min_width(g);
    return w;
  }
  w[static_cast<size_t>(order_[static_cast<size_t>(group_step(step))])] = value;
  for (int t = step + 1; t < steps(); ++t) {
    const int g = order_[static_cast<size_t>(group_step(t))];
    w[static_cast<size_t>(g)] = min_width(g);
  }
  return w;
}

bool Env::within(const std::vector<std::int64_t>& widths) const {
  return cost(widths) <= budget_ && (!cap_ || capped_ms(widths) <= cap_ms_);
}

void Env::cap_latency(const CostModel& model, double max_ms) {
  std::optional<CostModel> saved = std::move(cap_);
  cap_ = model;
  if (capped_ms(with_rest_at_min(-1, 0)) > max_ms) {
    cap_ = std::move(saved);
    return;
  }
  cap_ms_ = max_ms;
}

double Env::capped_ms(const std::vector<std::int64_t>& widths) const {
  return cap_ ? ms_of(*cap_, widths) : 0.0;
}

// The largest width up to `width` at the current step that keeps the budget reachable: down the rounding
// lattice until it fits; the group's minimum always does.
std::int64_t Env::wall(std::int64_t width) const {
  const int g = order_[static_cast<size_t>(group_step(t_))];
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
  if (t_ < units()) {
    const bool keep = action >= keep_threshold() && within(with_rest_at_min(t_, 1));
    widths_[dg_.groups.size() + static_cast<size_t>(t_)] = keep ? 1 : 0;
    XCEL_ASSERT(within(with_rest_at_min(t_, keep ? 1 : 0)), "budget wall broken at block step {}", t_);
    prev_action_ = keep ? 1.0 : lbound_;
    if (++t_ == units()) choose_active();
    if (done()) canonicalise(widths_);
    return prev_action_;
  }
  const int g = order_[static_cast<size_t>(group_step(t_))];
  const std::int64_t channels = dg_.groups[static_cast<size_t>(g)].channels;
  const std::int64_t width = wall(prune::keep_count(channels, std::clamp(action, lbound_, 1.0), dg_.step(g, round_to_)));
  XCEL_ASSERT(within(with_rest_at_min(t_, width)), "budget wall broken at step {}", t_);
  widths_[static_cast<size_t>(g)] = width;
  prev_action_ = static_cast<double>(width) / static_cast<double>(channels);
  ++t_;
  if (done()) canonicalise(widths_);
  return prev_action_;
}

std::vector<std::int64_t> Env::uniform_widths(double ratio) const {
  std::vector<std::int64_t> w = dg_.full_widths();
  w.resize(dg_.groups.size() + units_.size(), 1);
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
  canonicalise(w);
  return w;
}

std::vector<double> Env::action_menu() const {
  if (depth_only_) return {lbound_, 1.0};
  return {};
}

double Env::max_uniform_ratio() const {
  for (int k = 1000; k >= 1; --k) {
    double r = k / 1000.0;
    if (within(uniform_widths(r))) return r;
  }
  return lbound_;
}

nlohmann::json Env::describe() const {
  nlohmann::json j = {{"flops", flops()},
                      {"flops_ratio", static_cast<double>(flops()) / static_cast<double>(original_flops())},
                      {"latency_ms_predicted", predicted_ms()}};
  if (depth()) j["removed"] = decode(widths_).removed;
  return j;
}

std::string Env::progress() const {
  const std::string f = fmt::format("FLOPs {:.3f}", static_cast<double>(flops()) / static_cast<double>(original_flops()));
  if (!depth()) return f;
  return fmt::format("{}, {} of {} blocks removed", f, decode(widths_).removed.size(), units_.size());
}

}  // namespace xcel::search
