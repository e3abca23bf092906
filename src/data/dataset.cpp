// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "xcel/core/error.h"
#include "xcel/core/fs.h"
#include "xcel/data/dataset.h"

namespace xcel::data {
namespace {

// IDX file names as distributed, with or without .gz.
std::string find_idx(const std::string& dir, const std::string& stem) {
  for (const char* suffix : {".gz", ""}) {
    std::string p = dir + "/" + stem + suffix;
    if (fs::exists(p)) return p;
  }
  XCEL_FAIL(ExitCode::kInput, "'{}' has no {}[.gz]; point --data at a directory with the IDX files", dir, stem);
}

}  // namespace

std::string default_fashion_mnist_dir() {
  const char* env = std::getenv("XCEL_FASHION_MNIST_DIR");
  return env != nullptr ? env : "/usr/share/datasets/fashion-mnist";
}

DatasetSpec parse_spec(const std::string& spec) {
  DatasetSpec out;
  if (spec == "fashion-mnist") {
    out.name = spec;
    out.dir = default_fashion_mnist_dir();
    XCEL_CHECK(fs::is_directory(out.dir), ExitCode::kInput,
               "Fashion-MNIST not found at {}; install Debian's dataset-fashion-mnist or pass --data idx:DIR",
               out.dir);
    return out;
  }
  auto colon = spec.find(':');
  std::string kind = spec.substr(0, colon);
  XCEL_CHECK(colon != std::string::npos && (kind == "idx" || kind == "cifar10" || kind == "imagefolder"),
             ExitCode::kUsage, "unknown dataset '{}'; use fashion-mnist, idx:DIR, cifar10:DIR or imagefolder:DIR", spec);
  out.dir = spec.substr(colon + 1);
  out.name = spec;
  out.format = kind == "idx" ? Format::kIdx : kind == "cifar10" ? Format::kCifar10 : Format::kImageFolder;
  XCEL_CHECK(fs::is_directory(out.dir), ExitCode::kInput, "dataset directory '{}' not found", out.dir);
  return out;
}

Split parse_split(const std::string& s) {
  if (s == "train") return Split::kTrain;
  if (s == "val") return Split::kVal;
  if (s == "test") return Split::kTest;
  XCEL_FAIL(ExitCode::kUsage, "unknown split '{}'; use train, val or test", s);
}

const char* split_name(Split s) {
  switch (s) {
    case Split::kTrain: return "train";
    case Split::kVal: return "val";
    case Split::kTest: return "test";
  }
  return "?";
}

namespace {

// An image folder's trees: DIR/train (else DIR itself) for training, DIR/val, DIR/test.
std::string folder_tree(const DatasetSpec& spec, const std::string& tree) {
  const std::string sub = spec.dir + "/" + tree;
  return fs::is_directory(sub) ? sub : "";
}

ImageFolderOptions folder_options(const SplitOptions& opts, std::vector<std::string> classes) {
  ImageFolderOptions f;
  f.size = opts.image_size;  // 0: the first image's shorter side
  f.resize = opts.resize;
  f.channels = opts.channels > 0 ? opts.channels : 3;
  f.skip_bad = opts.skip_bad_images;
  f.classes = std::move(classes);
  return f;
}

}  // namespace

std::vector<std::string> image_folder_classes(const DatasetSpec& spec) {
  const std::string train_dir = folder_tree(spec, "train").empty() ? spec.dir : folder_tree(spec, "train");
  XCEL_CHECK(fs::is_directory(train_dir), ExitCode::kInput, "image folder '{}' not found", train_dir);
  return class_folders(train_dir);
}

ImageSet load_image_dir(const std::string& dir, const DatasetSpec& classes_of, const SplitOptions& opts) {
  return read_image_folder(dir, folder_options(opts, image_folder_classes(classes_of)));
}

ImageSet load_image_tree(const DatasetSpec& spec, const std::string& tree, const SplitOptions& opts) {
  if (tree == "train") {
    const std::string train_dir = folder_tree(spec, "train").empty() ? spec.dir : folder_tree(spec, "train");
    return read_image_folder(train_dir, folder_options(opts, {}));
  }
  const std::string dir = folder_tree(spec, tree);
  XCEL_CHECK(!dir.empty(), ExitCode::kInput, "image folder '{}' has no {}/ tree", spec.dir, tree);
  return load_image_dir(dir, spec, opts);  // held-out trees take the training tree's classes, so labels agree
}

ImageSet load_set(const DatasetSpec& spec, bool train, const SplitOptions& opts) {
  if (spec.format == Format::kImageFolder) {
    if (train) return load_image_tree(spec, "train", opts);
    XCEL_CHECK(!folder_tree(spec, "test").empty() || !folder_tree(spec, "val").empty(), ExitCode::kInput,
               "image folder '{}' has no test/ or val/ tree for the test images; add one (DIR/test/CLASS/IMAGE)",
               spec.dir);
    return load_image_tree(spec, folder_tree(spec, "test").empty() ? "val" : "test", opts);
  }
  if (spec.format == Format::kCifar10) {
    std::vector<std::string> files;
    if (train) {
      for (int i = 1; i <= 5; ++i) files.push_back(spec.dir + "/data_batch_" + std::to_string(i) + ".bin");
    } else {
      files.push_back(spec.dir + "/test_batch.bin");
    }
    return read_cifar10_batches(files);
  }
  const std::string prefix = train ? "train" : "t10k";
  // Grey images as distributed (idx3), or colour ones as xcel writes them for a device (idx4: N x C x H x W).
  const bool colour = !fs::exists(spec.dir + "/" + prefix + "-images-idx3-ubyte") &&
                      !fs::exists(spec.dir + "/" + prefix + "-images-idx3-ubyte.gz") &&
                      (fs::exists(spec.dir + "/" + prefix + "-images-idx4-ubyte") ||
                       fs::exists(spec.dir + "/" + prefix + "-images-idx4-ubyte.gz"));
  std::string images = find_idx(spec.dir, prefix + (colour ? "-images-idx4-ubyte" : "-images-idx3-ubyte"));
  std::string labels = find_idx(spec.dir, prefix + "-labels-idx1-ubyte");
  return read_idx_pair(images, labels);
}

void normalization_preset(const std::string& name, std::vector<double>& mean, std::vector<double>& std) {
  if (name == "imagenet") {
    mean = {0.485, 0.456, 0.406};
    std = {0.229, 0.224, 0.225};
  } else if (name == "none") {
    mean.clear();
    std.clear();
  } else {
    XCEL_FAIL(ExitCode::kUsage, "unknown --normalize '{}'; use imagenet or none (or --mean/--std)", name);
  }
}

void check_normalization(const std::vector<double>& mean, const std::vector<double>& std, std::int64_t channels) {
  XCEL_CHECK(mean.size() == std.size(), ExitCode::kUsage, "--mean has {} values and --std {}; give both, one per channel",
             mean.size(), std.size());
  if (mean.empty()) return;
  XCEL_CHECK(mean.size() == 1 || static_cast<std::int64_t>(mean.size()) == channels, ExitCode::kUsage,
             "--mean/--std have {} values but the images have {} channel(s); give one value per channel", mean.size(),
             channels);
  for (double s : std) XCEL_CHECK(s > 0, ExitCode::kUsage, "--std values must be positive (got {})", s);
}

}  // namespace xcel::data
