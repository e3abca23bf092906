// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include <cstdlib>

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
  XCEL_CHECK(colon != std::string::npos && (kind == "idx" || kind == "cifar10"), ExitCode::kUsage,
             "unknown dataset '{}'; use fashion-mnist, idx:DIR or cifar10:DIR", spec);
  out.dir = spec.substr(colon + 1);
  out.name = spec;
  out.format = kind == "idx" ? Format::kIdx : Format::kCifar10;
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

ImageSet load_set(const DatasetSpec& spec, bool train) {
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
  std::string images = find_idx(spec.dir, prefix + "-images-idx3-ubyte");
  std::string labels = find_idx(spec.dir, prefix + "-labels-idx1-ubyte");
  return read_idx_pair(images, labels);
}

}  // namespace xcel::data
