// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// CIFAR-10 binary version: records of 1 label byte + 3072 pixel bytes (3x32x32, channel-major).
#include "xcel/core/error.h"
#include "xcel/data/dataset.h"

namespace xcel::data {

ImageSet read_cifar10_batches(const std::vector<std::string>& paths) {
  constexpr size_t kRecord = 1 + 3 * 32 * 32;
  ImageSet set;
  set.channels = 3;
  set.height = 32;
  set.width = 32;
  set.num_classes = 10;
  for (const auto& path : paths) {
    auto bytes = read_maybe_gz(path);
    XCEL_CHECK(!bytes.empty() && bytes.size() % kRecord == 0, ExitCode::kInput,
               "CIFAR-10 batch '{}' has {} bytes, not a whole number of {}-byte records: truncated or corrupt",
               path, bytes.size(), kRecord);
    for (size_t off = 0; off < bytes.size(); off += kRecord) {
      XCEL_CHECK(bytes[off] < 10, ExitCode::kInput, "CIFAR-10 batch '{}' has label {} at record {} (expected 0-9)",
                 path, int{bytes[off]}, off / kRecord);
      set.labels.push_back(bytes[off]);
      set.pixels.insert(set.pixels.end(), bytes.begin() + off + 1, bytes.begin() + off + kRecord);
    }
  }
  return set;
}

}  // namespace xcel::data
