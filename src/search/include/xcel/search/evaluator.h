// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// What a policy is worth: the model pruned to the policy's widths, repaired (least-squares reconstruction,
/// batch-norm recalibration), and its top-1 on the validation split, stopped early once it is clearly below
/// the best so far (sequential racing). LibTorch side of the search.
#include <torch/script.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "xcel/data/dataset.h"
#include "xcel/data/tensors.h"
#include "xcel/prune/engine.h"
#include "xcel/prune/reconstruct.h"
#include "xcel/quant/precision.h"
#include "xcel/search/env.h"
#include "xcel/search/search.h"
#include "xcel/train/accuracy.h"

namespace xcel::search {

struct RepairOptions {
  prune::Importance importance = prune::Importance::kL1;
  bool reconstruct = false;
  int bn_recal = 0;     // batches of calibration images; 0 = off
  int batch = 250;      // images per forward pass
  double early_stop = 3.0;  // standard errors below the best that stop a validation; 0 = never
};

/// Validation top-1 of `m` on `val`; with a best so far (> 0) and `early_stop` > 0, it ends once the running
/// estimate is `early_stop` standard errors below `best` (the result then covers fewer images than the split).
train::Accuracy raced_accuracy(torch::jit::Module& m, const data::TensorSet& val, int batch, double early_stop,
                               double best);

class Evaluator : public PolicyValidator {
 public:
  Evaluator(const RepairOptions& o, torch::jit::Module& model, const prune::DependencyGraph& dg,
            const data::ImageSet& val, const data::ImageSet& calib);

  /// Policies of a walk with depth: `env` decodes them, and the blocks they remove are cut out (after the channels,
  /// before the batch-norm recalibration). `env` outlives the evaluator.
  void remove_blocks(const Env& env, const ir::Shape& input);
  /// The original's channels cut to `widths`, then repaired (and blocks removed, see remove_blocks).
  torch::jit::Module build(const std::vector<std::int64_t>& widths) const;
  /// --retrain-steps: every policy validated is first trained briefly by `retrain` (in place, deterministic), and
  /// scored after it; last_details() then holds the top-1 before.
  void set_retrain(std::function<void(torch::jit::Module&)> retrain, int steps);
  /// The model a policy's score was taken on: build(), then the retraining when there is one.
  torch::jit::Module build_scored(const std::vector<std::int64_t>& widths) const;
  nlohmann::json last_details() const override { return details_; }
  /// Validation top-1 of `m`; with a best so far (> 0) and early stop on, it ends once the running estimate is
  /// `early_stop` standard errors below `best` (the result then covers fewer images than the split).
  train::Accuracy accuracy(torch::jit::Module& m, double best = -1) const;

  train::Accuracy validate(const std::vector<std::int64_t>& widths, double best) override;
  std::int64_t val_size() const override { return val_.x.size(0); }

 private:
  RepairOptions o_;
  torch::jit::Module& model_;
  const prune::DependencyGraph& dg_;
  const data::TensorSet val_;
  const data::ImageSet& calib_;
  std::unique_ptr<prune::Reconstructor> reconstructor_;
  const Env* depth_ = nullptr;
  ir::Shape input_;
  std::function<void(torch::jit::Module&)> retrain_;
  int retrain_steps_ = 0;
  nlohmann::json details_;
};

/// What a bit-width policy is worth: the model quantized by the policy (weights on their grid, activations through
/// their calibrated fake-quantize ops; no fine-tuning) and its validation top-1, raced like the pruning search's.
class QuantEvaluator : public PolicyValidator {
 public:
  using PolicyOf = std::function<quant::QuantPolicy(const std::vector<std::int64_t>&)>;
  QuantEvaluator(torch::jit::Module& model, const data::ImageSet& val, PolicyOf policy_of, int batch,
                 double early_stop);
  torch::jit::Module build(const std::vector<std::int64_t>& bits) const;
  train::Accuracy accuracy(torch::jit::Module& m, double best = -1) const;
  train::Accuracy validate(const std::vector<std::int64_t>& bits, double best) override;
  std::int64_t val_size() const override { return val_.x.size(0); }

 private:
  torch::jit::Module& model_;
  const data::TensorSet val_;
  PolicyOf policy_of_;
  int batch_;
  double early_stop_;
};

}  // namespace xcel::search
