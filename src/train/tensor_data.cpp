// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/train/tensor_data.h"

#include "xcel/core/error.h"

namespace xcel::train {

at::Tensor images(const data::ImageSet& set, std::int64_t begin, std::int64_t end) {
  XCEL_ASSERT(0 <= begin && begin <= end && end <= set.size(), "bad range [{}, {})", begin, end);
  auto* p = const_cast<std::uint8_t*>(set.pixels.data()) + begin * set.image_bytes();
  return torch::from_blob(p, {end - begin, set.channels, set.height, set.width}, torch::kUInt8)
      .to(torch::kFloat32)
      .div_(255.0f);
}

at::Tensor labels(const data::ImageSet& set, std::int64_t begin, std::int64_t end) {
  XCEL_ASSERT(0 <= begin && begin <= end && end <= set.size(), "bad range [{}, {})", begin, end);
  auto* p = const_cast<std::int64_t*>(set.labels.data()) + begin;
  return torch::from_blob(p, {end - begin}, torch::kInt64).clone();
}

}  // namespace xcel::train
