// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Image classification datasets as plain bytes (no LibTorch here): Fashion-MNIST/MNIST IDX files (.gz or
/// raw) and CIFAR-10 binary batches. Images are N x C x H x W uint8; models receive them scaled to [0, 1].
///   auto val = xcel::data::load_split(xcel::data::parse_spec("fashion-mnist"), Split::kVal, {5000, 0});
#include <cstdint>
#include <string>
#include <vector>

namespace xcel::data {

struct ImageSet {
  std::string name;  // e.g. "fashion-mnist/val"
  std::int64_t channels = 0, height = 0, width = 0;
  std::vector<std::uint8_t> pixels;  // size() * channels * height * width
  std::vector<std::int64_t> labels;
  std::int64_t num_classes = 0;

  std::int64_t size() const { return static_cast<std::int64_t>(labels.size()); }
  std::int64_t image_bytes() const { return channels * height * width; }
};

enum class Format { kIdx, kCifar10 };

struct DatasetSpec {
  std::string name;  // "fashion-mnist", or the directory for idx:/cifar10: specs
  Format format = Format::kIdx;
  std::string dir;
};

/// Directory of Debian's dataset-fashion-mnist package (override with XCEL_FASHION_MNIST_DIR).
std::string default_fashion_mnist_dir();

/// "fashion-mnist" | "idx:DIR" | "cifar10:DIR". Throws Error(kUsage) for anything else.
DatasetSpec parse_spec(const std::string& spec);

enum class Split { kTrain, kVal, kTest };
Split parse_split(const std::string& s);  // train | val | test
const char* split_name(Split s);

struct SplitOptions {
  std::int64_t val_size = 5000;  // images carved from the training set for validation
  std::uint64_t seed = 0;        // seed of the permutation that picks them
};

/// The whole training set or the whole test set as stored on disk.
ImageSet load_set(const DatasetSpec& spec, bool train);

/// train = training set minus validation, val = the first val_size images of permutation(seed) of the
/// training set, test = the test set (never mixed with the others).
ImageSet load_split(const DatasetSpec& spec, Split split, const SplitOptions& opts);

/// Deterministic Fisher-Yates permutation of 0..n-1 driven by splitmix64(seed); scripts/xcel_data.py
/// implements the same so the bundled models are trained without the default validation images.
std::vector<std::int64_t> permutation(std::int64_t n, std::uint64_t seed);

/// The validation split and the first `calib_images` images of the training split (calibration for repairs;
/// never validation or test images), reading the training set once.
struct ValCalib {
  ImageSet val, calib;
};
ValCalib load_val_and_calib(const DatasetSpec& spec, const SplitOptions& opts, std::int64_t calib_images);

/// The first min(n, size) images.
ImageSet head(const ImageSet& set, std::int64_t n, const std::string& name);

/// The images at `indices`, in that order.
ImageSet select(const ImageSet& set, const std::vector<std::int64_t>& indices, const std::string& name);

// Format readers, exposed for tests.
ImageSet read_idx_pair(const std::string& images_path, const std::string& labels_path);
ImageSet read_cifar10_batches(const std::vector<std::string>& paths);

/// Whole file, gunzipped when it is gzip (raw files pass through). Errors name the file.
std::vector<std::uint8_t> read_maybe_gz(const std::string& path);

}  // namespace xcel::data
