// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Least-squares reconstruction (AMC, He et al. 2018), for k x k convolutions via im2col and for linear
/// layers: after a layer loses input channels, its remaining weights are refitted so that its output on
/// calibration images matches the unpruned model's. The regression statistics (A^T A and A^T (Y - b) over
/// sampled output positions of the unpruned model) are gathered once; each later fit only selects the kept
/// rows and columns and solves a small system (Eigen LDLT), so it is cheap enough to run every episode of
/// a search.
#include <torch/script.h>

#include <memory>

#include "xcel/data/dataset.h"
#include "xcel/prune/engine.h"

namespace xcel::prune {

struct ReconstructOptions {
  std::int64_t images = 512;     // calibration images used (the first ones of `calib`)
  std::int64_t positions = 10;   // output positions sampled per image for convolutions
  std::int64_t chunk = 64;       // images per probe pass (bounds memory)
  double ridge = 1e-4;           // Tikhonov term, relative to the mean diagonal of the Gram matrix
  std::uint64_t seed = 0;
};

class Reconstructor {
 public:
  /// Gathers statistics for every conv (groups = 1) and linear layer of `original` whose input channels
  /// belong to a prunable group.
  Reconstructor(const torch::jit::Module& original, const DependencyGraph& dg, const data::ImageSet& calib,
                const ReconstructOptions& opts);
  ~Reconstructor();
  Reconstructor(const Reconstructor&) = delete;
  Reconstructor& operator=(const Reconstructor&) = delete;

  /// Refits, in `pruned` (made by apply() with `selection`), the layers whose input lost channels.
  /// Returns their names.
  std::vector<std::string> refit(torch::jit::Module& pruned, const Selection& selection) const;

 private:
  struct Layer;
  const DependencyGraph& dg_;
  double ridge_;
  std::vector<std::unique_ptr<Layer>> layers_;
};

}  // namespace xcel::prune
