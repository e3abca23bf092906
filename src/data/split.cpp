// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include <algorithm>
#include <numeric>

#include "xcel/core/error.h"
#include "xcel/core/random.h"
#include "xcel/data/dataset.h"

namespace xcel::data {
std::vector<std::int64_t> permutation(std::int64_t n, std::uint64_t seed) {
  std::vector<std::int64_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);
  SplitMix64 rng{seed};
  for (std::int64_t i = n - 1; i > 0; --i) {
    auto j = static_cast<std::int64_t>(rng.next() % static_cast<std::uint64_t>(i + 1));
    std::swap(idx[i], idx[j]);
  }
  return idx;
}

ImageSet select(const ImageSet& set, const std::vector<std::int64_t>& indices, const std::string& name) {
  ImageSet out;
  out.name = name;
  out.channels = set.channels;
  out.height = set.height;
  out.width = set.width;
  out.num_classes = set.num_classes;
  const auto bytes = static_cast<size_t>(set.image_bytes());
  out.pixels.resize(indices.size() * bytes);
  out.labels.resize(indices.size());
  for (size_t k = 0; k < indices.size(); ++k) {
    auto i = static_cast<size_t>(indices[k]);
    XCEL_ASSERT(indices[k] >= 0 && indices[k] < set.size(), "index {} out of range", indices[k]);
    std::copy_n(set.pixels.begin() + i * bytes, bytes, out.pixels.begin() + k * bytes);
    out.labels[k] = set.labels[i];
  }
  return out;
}

namespace {

// The train or val part of the full training set.
ImageSet carve(const ImageSet& train, Split split, const SplitOptions& opts, const std::string& name) {
  XCEL_CHECK(opts.val_size > 0 && opts.val_size < train.size(), ExitCode::kUsage,
             "--val-size {} must be between 1 and {} (the training set's size minus one)", opts.val_size,
             train.size() - 1);
  auto perm = permutation(train.size(), opts.seed);
  auto cut = perm.begin() + opts.val_size;
  std::vector<std::int64_t> picked = split == Split::kVal ? std::vector<std::int64_t>(perm.begin(), cut)
                                                          : std::vector<std::int64_t>(cut, perm.end());
  return select(train, picked, name);
}

std::string split_label(const DatasetSpec& spec, Split split) { return spec.name + "/" + split_name(split); }

}  // namespace

ImageSet load_split(const DatasetSpec& spec, Split split, const SplitOptions& opts) {
  if (split == Split::kTest) {
    ImageSet set = load_set(spec, false);
    set.name = split_label(spec, split);
    return set;
  }
  return carve(load_set(spec, true), split, opts, split_label(spec, split));
}

ValCalib load_val_and_calib(const DatasetSpec& spec, const SplitOptions& opts, std::int64_t calib_images) {
  ImageSet full = load_set(spec, true);
  ValCalib out;
  out.val = carve(full, Split::kVal, opts, split_label(spec, Split::kVal));
  ImageSet train = carve(full, Split::kTrain, opts, split_label(spec, Split::kTrain));
  out.calib = head(train, calib_images, train.name + "[calib]");
  return out;
}

ImageSet head(const ImageSet& set, std::int64_t n, const std::string& name) {
  std::vector<std::int64_t> first(static_cast<size_t>(std::clamp<std::int64_t>(n, 0, set.size())));
  std::iota(first.begin(), first.end(), 0);
  return select(set, first, name);
}

}  // namespace xcel::data
