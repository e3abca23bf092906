// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Least-squares reconstruction: after a layer loses input channels, refit its remaining weights so its
/// output on calibration images matches the unpruned model's (AMC, He et al. 2018; k x k convolutions via
/// im2col). Layers are refitted in execution order on the pruned model's actual inputs, so each fit sees
/// the earlier fits.
#include <torch/script.h>

#include "xcel/data/dataset.h"
#include "xcel/prune/engine.h"

namespace xcel::prune {

struct ReconstructOptions {
  std::int64_t images = 512;     // calibration images used (the first ones of `calib`)
  std::int64_t positions = 10;   // output positions sampled per image for convolutions
  double ridge = 1e-4;           // Tikhonov term, relative to the mean diagonal of the Gram matrix
  std::uint64_t seed = 0;
};

/// Refits, in `pruned`, every conv (groups = 1) and linear layer whose input lost channels. Returns the
/// names of the refitted layers.
std::vector<std::string> reconstruct(const torch::jit::Module& original, torch::jit::Module& pruned,
                                     const DependencyGraph& dg, const Selection& selection,
                                     const data::ImageSet& calib, const ReconstructOptions& opts);

}  // namespace xcel::prune
