// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/search/evaluator.h"

#include <chrono>
#include <cmath>

#include "xcel/core/clock.h"
#include "xcel/core/log.h"
#include "xcel/prune/repair.h"
#include "xcel/train/evaluate.h"

namespace xcel::search {
namespace {

// Early stop tests a policy after each twentieth of the validation split (250 of 5,000 images).
constexpr std::int64_t kEarlyStopLooks = 20;

// True when `correct` hits out of `seen` put the top-1 more than `z` standard errors below `best`.
bool clearly_below(std::int64_t seen, std::int64_t correct, double best, double z) {
  const double p = static_cast<double>(correct) / static_cast<double>(seen);
  const double q = std::clamp(p, 0.01, 0.99);
  return p + z * std::sqrt(q * (1 - q) / static_cast<double>(seen)) < best;
}

}  // namespace

Evaluator::Evaluator(const RepairOptions& o, torch::jit::Module& model, const prune::DependencyGraph& dg,
                     const data::ImageSet& val, const data::ImageSet& calib)
    : o_(o), model_(model), dg_(dg), val_(data::to_tensors(val)), calib_(calib) {
  if (o.reconstruct) reconstructor_ = std::make_unique<prune::Reconstructor>(model, dg, calib, prune::ReconstructOptions{});
}

torch::jit::Module Evaluator::build(const std::vector<std::int64_t>& widths) const {
  auto t0 = std::chrono::steady_clock::now();
  auto sel = prune::select_channels(model_, dg_, widths, o_.importance);
  torch::jit::Module pruned = prune::apply(model_, dg_, sel);
  const double apply_s = seconds_since(t0);
  if (reconstructor_) reconstructor_->refit(pruned, sel);
  if (o_.bn_recal > 0) prune::recalibrate_batch_norm(pruned, calib_, o_.bn_recal, o_.batch);
  spdlog::debug("episode build: prune {:.3f} s, repairs {:.3f} s", apply_s, seconds_since(t0) - apply_s);
  return pruned;
}

train::Accuracy Evaluator::accuracy(torch::jit::Module& m, double best) const {
  auto t0 = std::chrono::steady_clock::now();
  const std::int64_t every = (val_size() + kEarlyStopLooks - 1) / kEarlyStopLooks;
  std::int64_t next_check = every;
  train::EvalMonitor monitor = [&](std::int64_t seen, std::int64_t correct) {
    if (seen < next_check) return true;
    next_check = (seen / every + 1) * every;
    return !clearly_below(seen, correct, best, o_.early_stop);
  };
  const bool stop_early = o_.early_stop > 0 && best > 0;
  train::Accuracy acc = train::evaluate(m, val_, o_.batch, true, stop_early ? monitor : nullptr);
  spdlog::debug("episode validation: {:.3f} s, {} images", seconds_since(t0), acc.n);
  return acc;
}

train::Accuracy Evaluator::validate(const std::vector<std::int64_t>& widths, double best) {
  torch::jit::Module pruned = build(widths);
  return accuracy(pruned, best);
}

}  // namespace xcel::search
