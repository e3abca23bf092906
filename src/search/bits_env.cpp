// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/search/bits_env.h"

#include <algorithm>
#include <cmath>

#include "xcel/core/error.h"
#include "xcel/core/log.h"

namespace xcel::search {

BitsEnv::BitsEnv(const std::vector<ir::Layer>& layers, quant::QuantPolicy base, const std::string& budget,
                 double ratio, int min_bits, int max_bits)
    : layers_(quant::quantizable_layers(layers)), base_(std::move(base)), budget_kind_(budget), ratio_(ratio) {
  XCEL_CHECK(budget == "size" || budget == "bops", ExitCode::kUsage, "unknown bits budget '{}'", budget);
  XCEL_CHECK(1 <= min_bits && min_bits <= max_bits && quant::kMinBits <= max_bits && max_bits <= quant::kMaxBits,
             ExitCode::kUsage, "--min-bits {} / --max-bits {}: give 1 <= min <= max and {} <= max <= {} (1 = binary "
             "weights)", min_bits, max_bits, quant::kMinBits, quant::kMaxBits);
  for (int b = min_bits; b <= max_bits; ++b) menu_.push_back(b);
  init_steps(layers);
  const std::vector<std::int64_t> floor(steps_.size(), menu_.front());
  XCEL_CHECK(cost(floor) <= ratio_ + 1e-12, ExitCode::kBudget,
             "--{} {} cannot be met: with {} bits everywhere the model is at {:.4f} (the first and last layer kept at "
             "{} bits); raise the budget, lower --min-bits (1 allows binary layers) or --keep-ends",
             budget_kind_, ratio_, menu_.front(), cost(floor), base_.options.keep_ends_bits);
}

BitsEnv::BitsEnv(const std::vector<ir::Layer>& layers, quant::QuantPolicy base, LatencyCosts costs, double ratio)
    : layers_(quant::quantizable_layers(layers)), base_(std::move(base)), budget_kind_("latency"), ratio_(ratio),
      menu_{8, 32}, latency_(std::move(costs)) {
  XCEL_ASSERT(latency_.float_ms > 0, "latency budget without the float model's latency");
  init_steps(layers);
  XCEL_ASSERT(latency_.float_extra_ms.size() == steps_.size(), "{} latency costs for {} layers",
              latency_.float_extra_ms.size(), steps_.size());
  const double floor = cost({});
  XCEL_CHECK(floor <= ratio_ + 1e-12, ExitCode::kBudget,
             "--latency {} cannot be met: the fastest policy by the latency table (each layer in int8, or in float where "
             "that measured faster) is at {:.4f} ms, {:.3f} of the float model's {:.4f} ms; raise the budget (or prune "
             "first)", ratio_, floor * latency_.float_ms, floor, latency_.float_ms);
}

int BitsEnv::fastest(size_t k) const { return latency_.float_extra_ms[k] < 0 ? 32 : 8; }

void BitsEnv::init_steps(const std::vector<ir::Layer>& layers) {
  XCEL_ASSERT(layers_.size() == base_.layers.size(), "policy of {} layers for {}", base_.layers.size(), layers_.size());
  for (const auto& l : layers) flops_ += l.flops;
  for (size_t i = 0; i < base_.layers.size(); ++i) {
    if (base_.layers[i].fixed) continue;
    steps_.push_back({i, false});
    if (budget_kind_ == "bops") steps_.push_back({i, true});
  }
  XCEL_CHECK(!steps_.empty(), ExitCode::kUsage, "no layer left to search: every layer is fixed (drop --keep-ends)");
  // Static features, min-max normalised over the steps.
  std::vector<std::vector<double>> raw;
  for (size_t k = 0; k < steps_.size(); ++k) {
    const ir::Layer& l = layers_[steps_[k].layer];
    raw.push_back({static_cast<double>(k), steps_[k].activation ? 1.0 : 0.0, static_cast<double>(l.in_channels),
                   static_cast<double>(l.out_channels), l.kernel.empty() ? 1.0 : static_cast<double>(l.kernel[0]),
                   l.stride.empty() ? 1.0 : static_cast<double>(l.stride[0]), static_cast<double>(l.flops),
                   static_cast<double>(l.params), l.depthwise() ? 1.0 : 0.0});
  }
  static_.assign(raw.size(), std::vector<float>(raw[0].size()));
  for (size_t f = 0; f < raw[0].size(); ++f) {
    double lo = raw[0][f], hi = raw[0][f];
    for (const auto& r : raw) lo = std::min(lo, r[f]), hi = std::max(hi, r[f]);
    for (size_t k = 0; k < raw.size(); ++k)
      static_[k][f] = hi > lo ? static_cast<float>((raw[k][f] - lo) / (hi - lo)) : 0.0f;
  }
  reset();
}

void BitsEnv::reset() {
  bits_.clear();
  t_ = 0;
  prev_action_ = 1.0;
}

quant::QuantPolicy BitsEnv::policy(const std::vector<std::int64_t>& bits) const {
  quant::QuantPolicy p = base_;
  for (size_t k = 0; k < steps_.size(); ++k) {
    const int b = static_cast<int>(k < bits.size() ? bits[k] : menu_.front());
    auto& lq = p.layers[steps_[k].layer].p;
    if (budget_kind_ == "latency") {
      lq = b == 8 ? quant::Precision{quant::WeightMode::kBits, 8, 8} : quant::Precision{};
    } else if (steps_[k].activation) {
      lq.a_bits = std::max(b, quant::kMinBits);
    } else {
      lq.mode = b == 1 ? quant::WeightMode::kBinary : quant::WeightMode::kBits;
      lq.w_bits = b;
    }
  }
  return p;
}

double BitsEnv::cost(const std::vector<std::int64_t>& bits) const {
  if (budget_kind_ == "latency") {  // steps not taken yet at their fastest
    double ms = latency_.int8_ms;
    for (size_t k = 0; k < steps_.size(); ++k)
      if ((k < bits.size() ? static_cast<int>(bits[k]) : fastest(k)) != 8) ms += latency_.float_extra_ms[k];
    return ms / latency_.float_ms;
  }
  const quant::QuantPolicy p = policy(bits);
  return budget_kind_ == "size" ? quant::size_ratio(layers_, p) : quant::bops_ratio(layers_, p);
}

int BitsEnv::bits_for(double action) const {
  const auto n = static_cast<std::int64_t>(menu_.size());
  const std::int64_t i = std::lround(-0.5 + std::clamp(action, 0.0, 1.0) * static_cast<double>(n));
  return menu_[static_cast<size_t>(std::clamp<std::int64_t>(i, 0, n - 1))];
}

double BitsEnv::action_for(int bits) const {
  const auto i = std::lower_bound(menu_.begin(), menu_.end(), bits) - menu_.begin();
  return (static_cast<double>(i) + 0.5) / static_cast<double>(menu_.size());
}

// The most bits, at most `bits`, at the current step with every later step at the fewest (latency: `bits` when
// it fits with every later step at its fastest, else this step's fastest).
int BitsEnv::wall(int bits) const {
  std::vector<std::int64_t> trial = bits_;
  trial.push_back(bits);
  if (budget_kind_ == "latency") return cost(trial) <= ratio_ + 1e-12 ? bits : fastest(bits_.size());
  for (auto i = std::upper_bound(menu_.begin(), menu_.end(), bits) - menu_.begin() - 1; i > 0; --i) {
    trial.back() = menu_[static_cast<size_t>(i)];
    if (cost(trial) <= ratio_ + 1e-12) return menu_[static_cast<size_t>(i)];
  }
  return menu_.front();
}

std::vector<float> BitsEnv::state() const {
  std::vector<float> s = static_[static_cast<size_t>(t_)];
  s.push_back(static_cast<float>(prev_action_));
  s.push_back(static_cast<float>(action_for(wall(menu_.back()))));
  return s;
}

double BitsEnv::step(double action) {
  XCEL_ASSERT(!done(), "step after the last layer");
  int b = wall(bits_for(action));
  if (steps_[static_cast<size_t>(t_)].activation) b = std::max(b, quant::kMinBits);  // activations: 2 bits or more
  bits_.push_back(b);
  ++t_;
  prev_action_ = action_for(b);
  return prev_action_;
}

std::vector<double> BitsEnv::action_menu() const {
  std::vector<double> menu;
  for (int b : menu_) menu.push_back(action_for(b));
  return menu;
}

bool BitsEnv::uniform_fits() const {
  return cost(std::vector<std::int64_t>(steps_.size(), max_uniform_bits())) <= ratio_ + 1e-12;
}

int BitsEnv::max_uniform_bits() const {
  for (size_t i = menu_.size() - 1; i > 0; --i)
    if (cost(std::vector<std::int64_t>(steps_.size(), menu_[i])) <= ratio_ + 1e-12) return menu_[i];
  return menu_.front();
}

nlohmann::json BitsEnv::describe() const {
  const quant::QuantPolicy p = policy(bits_);
  nlohmann::json d = {{"size_ratio", quant::size_ratio(layers_, p)}, {"bops_ratio", quant::bops_ratio(layers_, p)},
                      {"flops", flops_}};
  if (budget_kind_ == "latency") d["latency_ratio"] = cost(bits_);
  return d;
}

std::string BitsEnv::progress() const {
  return fmt::format("{} {:.3f}", budget_kind_ == "size" ? "size" : budget_kind_ == "bops" ? "BOPs" : "latency",
                     cost(bits_));
}

}  // namespace xcel::search
