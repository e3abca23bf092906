// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "test_env.h"
#include "xcel/core/error.h"
#include "xcel/data/dataset.h"

namespace xcel::data {
namespace {

DatasetSpec idx(const std::string& name) { return parse_spec("idx:" + test::fixtures() + "/" + name); }

TEST(Idx, ReadsGzipAndRawFiles) {
  ImageSet test = load_set(idx("idx_small"), false);
  EXPECT_EQ(test.size(), 100);
  EXPECT_EQ(test.channels, 1);
  EXPECT_EQ(test.height, 28);
  EXPECT_EQ(test.width, 28);
  EXPECT_EQ(test.pixels.size(), 100u * 28 * 28);
  ImageSet raw = load_set(idx("idx_raw"), false);
  EXPECT_EQ(raw.size(), 20);
  EXPECT_EQ(raw.labels[13], 3);
  EXPECT_EQ(raw.num_classes, 10);
}

TEST(Idx, TruncatedFileIsNamed) {
  test::expect_error([] { load_set(idx("idx_truncated"), false); }, ExitCode::kInput,
                     "t10k-images-idx3-ubyte.gz' holds");
}

TEST(Idx, WrongMagicIsNamed) {
  test::expect_error([] { load_set(idx("idx_badmagic"), false); }, ExitCode::kInput, "magic 0x804");
}

TEST(Idx, BrokenGzipIsNamed) {
  test::expect_error([] { load_set(idx("idx_badgzip"), false); }, ExitCode::kInput, "truncated or corrupt");
}

TEST(Idx, MissingFilesAndUnknownSpecs) {
  test::expect_error([] { parse_spec("idx:/nonexistent"); }, ExitCode::kInput, "/nonexistent");
  test::expect_error([] { parse_spec("imagenet"); }, ExitCode::kUsage, "unknown dataset 'imagenet'");
  auto empty = std::filesystem::temp_directory_path() / "xcel_empty_idx";
  std::filesystem::create_directories(empty);
  test::expect_error([&] { load_set(parse_spec("idx:" + empty.string()), true); }, ExitCode::kInput,
                     "train-images-idx3-ubyte");
}

TEST(Split, PermutationMatchesThePythonTrainer) {
  // scripts/xcel_data.py permutation(10, 0) and the first five of permutation(60000, 0).
  EXPECT_EQ(permutation(10, 0), (std::vector<std::int64_t>{6, 3, 2, 9, 8, 1, 4, 7, 0, 5}));
  auto p = permutation(60000, 0);
  EXPECT_EQ(std::vector<std::int64_t>(p.begin(), p.begin() + 5),
            (std::vector<std::int64_t>{17103, 3854, 34173, 44489, 57167}));
}

TEST(Split, ValAndTrainPartitionTheTrainingSetDeterministically) {
  SplitOptions o{50, 7};
  ImageSet val = load_split(idx("idx_small"), Split::kVal, o);
  ImageSet train = load_split(idx("idx_small"), Split::kTrain, o);
  ImageSet val2 = load_split(idx("idx_small"), Split::kVal, o);
  EXPECT_EQ(val.size(), 50);
  EXPECT_EQ(train.size(), 250);
  EXPECT_EQ(val.pixels, val2.pixels);
  EXPECT_EQ(val.name, "idx:" + test::fixtures() + "/idx_small/val");
  // Each image (by content) is in exactly one of the two.
  auto full = load_set(idx("idx_small"), true);
  std::set<std::vector<std::uint8_t>> seen;
  for (const ImageSet* s : {&val, &train})
    for (std::int64_t i = 0; i < s->size(); ++i)
      seen.insert({s->pixels.begin() + i * 784, s->pixels.begin() + (i + 1) * 784});
  EXPECT_EQ(static_cast<std::int64_t>(seen.size()), full.size());
  ImageSet other = load_split(idx("idx_small"), Split::kVal, {50, 8});
  EXPECT_NE(val.pixels, other.pixels);
  test::expect_error([] { load_split(idx("idx_small"), Split::kVal, {300, 0}); }, ExitCode::kUsage, "--val-size");
}

TEST(Cifar10, ReadsRecordsAndRejectsPartialOnes) {
  auto dir = std::filesystem::temp_directory_path() / "xcel_cifar_test";
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& name, int records, int extra) {
    std::ofstream out(dir / name, std::ios::binary);
    for (int r = 0; r < records; ++r) {
      out.put(static_cast<char>(r % 10));
      for (int i = 0; i < 3072; ++i) out.put(static_cast<char>((r + i) % 256));
    }
    for (int i = 0; i < extra; ++i) out.put(0);
  };
  for (int i = 1; i <= 5; ++i) write("data_batch_" + std::to_string(i) + ".bin", 4, 0);
  write("test_batch.bin", 3, 0);
  auto spec = parse_spec("cifar10:" + dir.string());
  ImageSet train = load_set(spec, true);
  EXPECT_EQ(train.size(), 20);
  EXPECT_EQ(train.channels, 3);
  EXPECT_EQ(train.labels[3], 3);
  EXPECT_EQ(train.pixels[3072 + 5], 6);
  EXPECT_EQ(load_set(spec, false).size(), 3);
  write("test_batch.bin", 3, 100);
  test::expect_error([&] { load_set(spec, false); }, ExitCode::kInput, "test_batch.bin' has");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace xcel::data
