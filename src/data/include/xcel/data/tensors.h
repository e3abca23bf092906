// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// ImageSet (bytes) to LibTorch tensors: float images scaled to [0, 1], int64 labels.
#include <torch/types.h>

#include "xcel/data/dataset.h"

namespace xcel::data {

/// Images [begin, end) as a float tensor N x C x H x W in [0, 1].
at::Tensor images(const ImageSet& set, std::int64_t begin, std::int64_t end);
/// Labels [begin, end) as int64.
at::Tensor labels(const ImageSet& set, std::int64_t begin, std::int64_t end);

/// A split converted once to tensors, for repeated evaluation (the search evaluates every episode).
struct TensorSet {
  at::Tensor x, y;  // float N x C x H x W in [0, 1]; int64 N
  std::string name;
  std::int64_t num_classes = 0;
  std::vector<std::int64_t> image_shape;
};
TensorSet to_tensors(const ImageSet& set);

}  // namespace xcel::data
