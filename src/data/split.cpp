// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include <algorithm>
#include <numeric>

#include "xcel/core/error.h"
#include "xcel/core/fs.h"
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
  out.classes = set.classes;
  out.mean = set.mean;
  out.std = set.std;
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
  auto perm = permutation(train.size(), opts.split_seed);
  auto cut = perm.begin() + opts.val_size;
  std::vector<std::int64_t> picked = split == Split::kVal ? std::vector<std::int64_t>(perm.begin(), cut)
                                                          : std::vector<std::int64_t>(cut, perm.end());
  return select(train, picked, name);
}

std::string split_label(const DatasetSpec& spec, Split split) { return spec.name + "/" + split_name(split); }

// The held-out validation set, when there is one: --val-data (its image folder's val/ tree or the whole folder,
// or its test set), or the dataset's own val/ tree for an image folder.
bool held_out_val(const DatasetSpec& spec, const SplitOptions& opts, DatasetSpec* source) {
  if (!opts.val_data.empty()) {
    *source = parse_spec(opts.val_data);
    return true;
  }
  if (spec.format == Format::kImageFolder && fs::is_directory(spec.dir + "/val")) {
    *source = spec;
    return true;
  }
  return false;
}

ImageSet load_held_out(const DatasetSpec& source, const DatasetSpec& spec, const SplitOptions& opts) {
  if (source.format != Format::kImageFolder) return load_set(source, false, opts);
  const DatasetSpec& classes = spec.format == Format::kImageFolder ? spec : source;
  // A folder's val/ tree, else the whole folder; labelled by the training data's classes.
  return load_image_dir(fs::is_directory(source.dir + "/val") ? source.dir + "/val" : source.dir, classes, opts);
}

ImageSet with_normalization(ImageSet set, const SplitOptions& opts) {
  check_normalization(opts.mean, opts.std, set.channels);
  set.mean = opts.mean;
  set.std = opts.std;
  return set;
}

}  // namespace

std::string validation_source(const DatasetSpec& spec, const SplitOptions& opts, bool* carved) {
  DatasetSpec source;
  const bool held = held_out_val(spec, opts, &source);
  if (carved != nullptr) *carved = !held;
  if (!held)
    return fmt::format("carved from the training set of {}: {} images by split seed {}", spec.name, opts.val_size,
                       opts.split_seed);
  return source.format == Format::kImageFolder
             ? fmt::format("held out: {}", fs::is_directory(source.dir + "/val") ? source.dir + "/val" : source.dir)
             : fmt::format("held out: the test set of {}", source.name);
}

ImageSet load_split(const DatasetSpec& spec, Split split, const SplitOptions& opts) {
  if (split == Split::kTest) {
    ImageSet set = load_set(spec, false, opts);
    set.name = split_label(spec, split);
    return with_normalization(std::move(set), opts);
  }
  DatasetSpec source;
  if (held_out_val(spec, opts, &source)) {
    ImageSet set = split == Split::kVal ? load_held_out(source, spec, opts) : load_set(spec, true, opts);
    set.name = split_label(spec, split);
    return with_normalization(std::move(set), opts);
  }
  return with_normalization(carve(load_set(spec, true, opts), split, opts, split_label(spec, split)), opts);
}

ValCalib load_val_and_calib(const DatasetSpec& spec, const SplitOptions& opts, std::int64_t calib_images) {
  ValCalib out;
  out.val_source = validation_source(spec, opts, &out.val_carved);
  out.val = load_split(spec, Split::kVal, opts);
  ImageSet train = out.val_carved ? carve(load_set(spec, true, opts), Split::kTrain, opts, split_label(spec, Split::kTrain))
                                  : load_set(spec, true, opts);
  out.calib = with_normalization(head(train, calib_images, split_label(spec, Split::kTrain) + "[calib]"), opts);
  return out;
}

ImageSet head(const ImageSet& set, std::int64_t n, const std::string& name) {
  std::vector<std::int64_t> first(static_cast<size_t>(std::clamp<std::int64_t>(n, 0, set.size())));
  std::iota(first.begin(), first.end(), 0);
  return select(set, first, name);
}

}  // namespace xcel::data
