// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// ImageSet (bytes) to LibTorch tensors: float images scaled to [0, 1], int64 labels.
#include <torch/types.h>

#include "xcel/data/dataset.h"

namespace xcel::train {

/// Images [begin, end) as a float tensor N x C x H x W in [0, 1].
at::Tensor images(const data::ImageSet& set, std::int64_t begin, std::int64_t end);
/// Labels [begin, end) as int64.
at::Tensor labels(const data::ImageSet& set, std::int64_t begin, std::int64_t end);

}  // namespace xcel::train
