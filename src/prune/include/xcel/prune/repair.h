// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Repairs after channel removal: batch-norm recalibration, least-squares reconstruction, and
/// fine-grained magnitude pruning.
#include <torch/script.h>

#include <map>
#include <string>

#include "xcel/data/dataset.h"
#include "xcel/prune/dependency.h"

namespace xcel::prune {

/// Re-estimates every batch norm's running statistics from `batches` batches of `calib` (train-mode forward
/// passes without gradients; each batch's exact mean and unbiased variance are averaged). Returns how many
/// batch-norm modules changed.
int recalibrate_batch_norm(torch::jit::Module& module, const data::ImageSet& calib, int batches, int batch_size);

struct LayerSparsity {
  std::string name;
  std::int64_t weights = 0, zeros = 0;
};

/// Zeroes the smallest-magnitude weights of each conv/linear layer: layer `name` keeps ratio[name] (or
/// `uniform`) of its weights. Returns per-layer counts.
std::vector<LayerSparsity> magnitude_prune(torch::jit::Module& module, const std::vector<std::string>& layers,
                                           const std::map<std::string, double>& ratio, double uniform);

}  // namespace xcel::prune
