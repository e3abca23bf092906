// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Image classification datasets as plain bytes (no LibTorch here): Fashion-MNIST/MNIST IDX files (.gz or
/// raw), CIFAR-10 binary batches and image folders (torchvision's ImageFolder layout, JPEG/PNG/BMP decoded with
/// stb). Images are N x C x H x W uint8; models receive them scaled to [0, 1], then normalised per channel
/// ((x - mean) / std) when the set carries a mean and std.
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
  std::vector<double> mean, std;     // per channel, applied after scaling to [0, 1]; empty = none
  std::vector<std::string> classes;  // image folders: class names in label order

  std::int64_t size() const { return static_cast<std::int64_t>(labels.size()); }
  std::int64_t image_bytes() const { return channels * height * width; }
};

enum class Format { kIdx, kCifar10, kImageFolder };

struct DatasetSpec {
  std::string name;  // "fashion-mnist", or the directory for idx:/cifar10: specs
  Format format = Format::kIdx;
  std::string dir;
};

/// Directory of Debian's dataset-fashion-mnist package (override with XCEL_FASHION_MNIST_DIR).
std::string default_fashion_mnist_dir();

/// "fashion-mnist" | "idx:DIR" | "cifar10:DIR" | "imagefolder:DIR". Throws Error(kUsage) for anything else.
DatasetSpec parse_spec(const std::string& spec);

enum class Split { kTrain, kVal, kTest };
Split parse_split(const std::string& s);  // train | val | test
const char* split_name(Split s);

/// How a run reads its data: the validation split, normalisation and, for image folders, decoding.
struct SplitOptions {
  std::int64_t val_size = 5000;     // images carved from the training set for validation
  std::uint64_t split_seed = 0;     // seed of the permutation that picks them (fixed by default: the data stays)
  std::uint64_t seed = 0;           // the run's own randomness (agent, shuffling); never changes the data
  std::string val_data;             // a held-out validation set instead of carving (a dataset spec)
  std::vector<double> mean, std;    // per-channel normalisation (empty = none)
  std::int64_t image_size = 0;      // image folders: side of the centre crop (0 = the first image's shorter side)
  std::int64_t resize = 0;          // image folders: shorter side resized to this first (0 = image_size)
  std::int64_t channels = 0;        // image folders: 1 (grey) or 3 (RGB); 0 = 3
  bool skip_bad_images = false;     // image folders: skip undecodable files (counted) instead of stopping
};

/// The whole training set or the whole test set as stored on disk (image folders: DIR/train or DIR, and
/// DIR/test or else DIR/val).
ImageSet load_set(const DatasetSpec& spec, bool train, const SplitOptions& opts = {});

/// One tree of an image folder: "train" (DIR/train, else DIR), "val" or "test" (labels by the training tree's
/// classes).
ImageSet load_image_tree(const DatasetSpec& spec, const std::string& tree, const SplitOptions& opts);
/// The image folder `dir` labelled by the classes of `classes_of`'s training tree (its sorted sub-folders).
ImageSet load_image_dir(const std::string& dir, const DatasetSpec& classes_of, const SplitOptions& opts);
std::vector<std::string> image_folder_classes(const DatasetSpec& spec);

/// Named normalisations: "imagenet" (torchvision's mean 0.485,0.456,0.406 and std 0.229,0.224,0.225) or "none".
/// Error(kUsage) for any other name.
void normalization_preset(const std::string& name, std::vector<double>& mean, std::vector<double>& std);
/// Error(kUsage) unless mean and std are both empty, or both have one value or `channels` values (std > 0).
void check_normalization(const std::vector<double>& mean, const std::vector<double>& std, std::int64_t channels);

/// train = training set minus validation, val = the first val_size images of permutation(split_seed) of the
/// training set, test = the test set (never mixed with the others). With `val_data` (or an image folder with a
/// val/ tree), val is that held-out set and train the whole training set. Sets carry opts' normalisation.
ImageSet load_split(const DatasetSpec& spec, Split split, const SplitOptions& opts);

/// Deterministic Fisher-Yates permutation of 0..n-1 driven by splitmix64(seed); scripts/xcel_data.py
/// implements the same so the bundled models are trained without the default validation images.
std::vector<std::int64_t> permutation(std::int64_t n, std::uint64_t seed);

/// The validation split and the first `calib_images` images of the training split (calibration for repairs;
/// never validation or test images), reading the training set once.
struct ValCalib {
  ImageSet val, calib;
  bool val_carved = true;   // validation images come from the training data
  std::string val_source;   // one line: where the validation images come from
};
/// Where the validation split of `spec` under `opts` comes from, and whether it is carved from training data.
std::string validation_source(const DatasetSpec& spec, const SplitOptions& opts, bool* carved = nullptr);
ValCalib load_val_and_calib(const DatasetSpec& spec, const SplitOptions& opts, std::int64_t calib_images);

/// The first min(n, size) images.
ImageSet head(const ImageSet& set, std::int64_t n, const std::string& name);

/// The images at `indices`, in that order.
ImageSet select(const ImageSet& set, const std::vector<std::int64_t>& indices, const std::string& name);

// Format readers, exposed for tests.
ImageSet read_idx_pair(const std::string& images_path, const std::string& labels_path);
ImageSet read_cifar10_batches(const std::vector<std::string>& paths);

/// Writes `set` as gzip-compressed IDX files DIR/PREFIX-images-idx3-ubyte.gz (grey; idx4, N x C x H x W, for more
/// channels) and DIR/PREFIX-labels-idx1-ubyte.gz (bytes; 32-bit for labels over 255), which `idx:DIR` reads back
/// (prefix "train" or "t10k"): a dataset in a form any xcel can read, e.g. a device's shard. Returns the two paths.
std::vector<std::string> write_idx_pair(const ImageSet& set, const std::string& dir, const std::string& prefix);

/// An image folder: DIR/CLASS/IMAGE (.jpg .jpeg .png .bmp, any case), decoded in parallel, converted to
/// `channels`, the shorter side resized to `resize` and centre-cropped to size x size (as torchvision's Resize +
/// CenterCrop; size 0: the first image's shorter side, resize 0: the size). Labels follow `classes` (empty: the sorted sub-folders of DIR). Decoded sets are cached in
/// $XCEL_CACHE_DIR/data (keyed by the files' paths, sizes and times and the options), so a second run does not
/// decode again. Errors (kInput) name the folder or file: no class folders, an empty class, a class unknown to
/// `classes`, an undecodable image (unless skip_bad, which skips it with a warning and a count).
struct ImageFolderOptions {
  std::int64_t size = 0, resize = 0, channels = 3;
  bool skip_bad = false;
  std::vector<std::string> classes;
};
ImageSet read_image_folder(const std::string& dir, const ImageFolderOptions& opts);
/// The class folders of an image folder: its sub-folders (hidden ones aside), sorted as torchvision numbers them.
std::vector<std::string> class_folders(const std::string& dir);

/// Whole file, gunzipped when it is gzip (raw files pass through). Errors name the file.
std::vector<std::uint8_t> read_maybe_gz(const std::string& path);

}  // namespace xcel::data
