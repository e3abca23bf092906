// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Training-time augmentation and batch assembly on raw bytes (no LibTorch here): random crop from a
/// zero-padded image and random horizontal flip, reproducible from a seed per batch (so an interrupted
/// fine-tuning resumes with the very same batches).
#include <cstdint>
#include <string>
#include <vector>

#include "xcel/data/dataset.h"

namespace xcel::data {

struct Augment {
  int pad = 0;        // random crop of the original size from the image padded by `pad` zeros per side
  bool flip = false;  // horizontal flip with probability 1/2
  bool any() const { return pad > 0 || flip; }
  std::string str() const;  // "none", "crop2", "flip", "crop2+flip"
};

/// "auto" | "none" | "crop" | "flip" | "crop-flip". auto: crop (2 px at 28x28, 4 px at 32x32) plus flip for
/// Fashion-MNIST and CIFAR-10; crop only for other IDX data (digits and letters must not be mirrored).
Augment parse_augment(const std::string& spec, const DatasetSpec& data, std::int64_t height);

/// Writes images `indices` of `set` as floats in [0, 1] (N x C x H x W), normalised with the set's mean and std
/// when it has them, to `out` (resized), augmented with `aug` using random numbers drawn from `seed`.
void fill_batch(const ImageSet& set, const std::int64_t* indices, std::int64_t n, const Augment& aug,
                std::uint64_t seed, std::vector<float>& out);

}  // namespace xcel::data
