// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/data/tensors.h"

#include "xcel/core/error.h"

namespace xcel::data {

at::Tensor images(const ImageSet& set, std::int64_t begin, std::int64_t end) {
  XCEL_ASSERT(0 <= begin && begin <= end && end <= set.size(), "bad range [{}, {})", begin, end);
  auto* p = const_cast<std::uint8_t*>(set.pixels.data()) + begin * set.image_bytes();
  at::Tensor x = torch::from_blob(p, {end - begin, set.channels, set.height, set.width}, torch::kUInt8)
                     .to(torch::kFloat32)
                     .div_(255.0f);
  if (set.mean.empty()) return x;
  // Per channel (one value: every channel), as torchvision's Normalize.
  auto per_channel = [&](const std::vector<double>& v) {
    std::vector<float> f(v.begin(), v.end());
    return torch::tensor(f).view({1, static_cast<std::int64_t>(f.size()), 1, 1});
  };
  return x.sub_(per_channel(set.mean)).div_(per_channel(set.std));
}

at::Tensor labels(const ImageSet& set, std::int64_t begin, std::int64_t end) {
  XCEL_ASSERT(0 <= begin && begin <= end && end <= set.size(), "bad range [{}, {})", begin, end);
  auto* p = const_cast<std::int64_t*>(set.labels.data()) + begin;
  return torch::from_blob(p, {end - begin}, torch::kInt64).clone();
}

TensorSet to_tensors(const ImageSet& set) {
  return {images(set, 0, set.size()), labels(set, 0, set.size()), set.name, set.num_classes,
          {set.channels, set.height, set.width}};
}

}  // namespace xcel::data
