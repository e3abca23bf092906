// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/search/evaluator.h"

#include <chrono>
#include <cmath>

#include "xcel/core/clock.h"
#include "xcel/core/log.h"
#include "xcel/prune/repair.h"
#include "xcel/quant/quantize.h"
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

void Evaluator::remove_blocks(const Env& env, const ir::Shape& input) {
  depth_ = &env;
  input_ = input;
}

torch::jit::Module Evaluator::build(const std::vector<std::int64_t>& policy) const {
  auto t0 = std::chrono::steady_clock::now();
  const DepthPolicy d = depth_ != nullptr ? depth_->decode(policy) : DepthPolicy{policy, {}, {}};
  auto sel = prune::select_channels(model_, dg_, d.widths, o_.importance);
  torch::jit::Module pruned = prune::apply(model_, dg_, sel);
  const double apply_s = seconds_since(t0);
  if (reconstructor_) reconstructor_->refit(pruned, sel);
  if (!d.removed.empty()) pruned = prune::remove_units(pruned, input_, d.removed);
  if (o_.bn_recal > 0) prune::recalibrate_batch_norm(pruned, calib_, o_.bn_recal, o_.batch);
  spdlog::debug("episode build: prune {:.3f} s, repairs {:.3f} s", apply_s, seconds_since(t0) - apply_s);
  return pruned;
}

train::Accuracy raced_accuracy(torch::jit::Module& m, const data::TensorSet& val, int batch, double early_stop,
                               double best) {
  auto t0 = std::chrono::steady_clock::now();
  const std::int64_t n = val.x.size(0);
  const std::int64_t every = (n + kEarlyStopLooks - 1) / kEarlyStopLooks;
  std::int64_t next_check = every;
  train::EvalMonitor monitor = [&](std::int64_t seen, std::int64_t correct) {
    if (seen < next_check) return true;
    next_check = (seen / every + 1) * every;
    return !clearly_below(seen, correct, best, early_stop);
  };
  const bool stop_early = early_stop > 0 && best > 0;
  train::Accuracy acc = train::evaluate(m, val, batch, true, stop_early ? monitor : nullptr);
  spdlog::debug("episode validation: {:.3f} s, {} images", seconds_since(t0), acc.n);
  return acc;
}

train::Accuracy Evaluator::accuracy(torch::jit::Module& m, double best) const {
  return raced_accuracy(m, val_, o_.batch, o_.early_stop, best);
}

void Evaluator::set_retrain(std::function<void(torch::jit::Module&)> retrain, int steps) {
  retrain_ = std::move(retrain);
  retrain_steps_ = steps;
}

torch::jit::Module Evaluator::build_scored(const std::vector<std::int64_t>& widths) const {
  torch::jit::Module m = build(widths);
  if (retrain_) retrain_(m);
  return m;
}

train::Accuracy Evaluator::validate(const std::vector<std::int64_t>& widths, double best) {
  torch::jit::Module pruned = build(widths);
  if (!retrain_) return accuracy(pruned, best);
  auto t0 = std::chrono::steady_clock::now();
  const double before = accuracy(pruned).top1;
  retrain_(pruned);
  details_ = {{"steps", retrain_steps_}, {"val_top1_before", before}, {"seconds", seconds_since(t0)}};
  return accuracy(pruned, best);
}

QuantEvaluator::QuantEvaluator(torch::jit::Module& model, const data::ImageSet& val, PolicyOf policy_of, int batch,
                               double early_stop)
    : model_(model), val_(data::to_tensors(val)), policy_of_(std::move(policy_of)), batch_(batch),
      early_stop_(early_stop) {}

torch::jit::Module QuantEvaluator::build(const std::vector<std::int64_t>& bits) const {
  return quant::quantize(model_, policy_of_(bits));
}

train::Accuracy QuantEvaluator::accuracy(torch::jit::Module& m, double best) const {
  return raced_accuracy(m, val_, batch_, early_stop_, best);
}

train::Accuracy QuantEvaluator::validate(const std::vector<std::int64_t>& bits, double best) {
  torch::jit::Module q = build(bits);
  return accuracy(q, best);
}

}  // namespace xcel::search
