// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include <unistd.h>

#include "test_env.h"
#include "xcel/core/error.h"
#include "xcel/data/augment.h"
#include "xcel/data/dataset.h"
#include "xcel/data/tensors.h"

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

TEST(Idx, WrittenSetsReadBackExactlyGreyColourAndManyClasses) {
  const std::string dir = ::testing::TempDir() + "/idx_written";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto make = [](std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w, std::int64_t classes) {
    ImageSet s;
    s.channels = c;
    s.height = h;
    s.width = w;
    for (std::int64_t i = 0; i < n * c * h * w; ++i) s.pixels.push_back(static_cast<std::uint8_t>((i * 37) % 251));
    for (std::int64_t i = 0; i < n; ++i) s.labels.push_back((i * 7) % classes);
    s.num_classes = classes;
    return s;
  };
  struct Case {
    const char* prefix;
    ImageSet set;
    const char* images;
  };
  for (const Case& k : {Case{"train", make(5, 1, 4, 3, 10), "train-images-idx3-ubyte.gz"},
                        Case{"t10k", make(4, 3, 2, 5, 1000), "t10k-images-idx4-ubyte.gz"}}) {
    const auto files = write_idx_pair(k.set, dir, k.prefix);
    EXPECT_EQ(std::filesystem::path(files[0]).filename().string(), k.images);
    const ImageSet back = load_set(parse_spec("idx:" + dir), std::string(k.prefix) == "train");
    EXPECT_EQ(back.channels, k.set.channels);
    EXPECT_EQ(back.height, k.set.height);
    EXPECT_EQ(back.width, k.set.width);
    EXPECT_EQ(back.pixels, k.set.pixels);
    EXPECT_EQ(back.labels, k.set.labels);  // 1000 classes: labels above 255 survive (32-bit label file)
  }
  // A truncated colour file is named like a grey one.
  const std::string images = dir + "/t10k-images-idx4-ubyte.gz";
  const auto bytes = read_maybe_gz(images);
  std::ofstream(dir + "/t10k-images-idx4-ubyte", std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size() - 3));
  std::filesystem::remove(images);
  test::expect_error([&] { load_set(parse_spec("idx:" + dir), false); }, ExitCode::kInput, "truncated or corrupt");
}

TEST(Idx, TruncatedFileIsNamed) {
  test::expect_error([] { load_set(idx("idx_truncated"), false); }, ExitCode::kInput,
                     "t10k-images-idx3-ubyte.gz' holds");
}

TEST(Idx, WrongMagicIsNamed) {
  test::expect_error([] { load_set(idx("idx_badmagic"), false); }, ExitCode::kInput, "magic 0xd03");
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

TEST(Split, TheRunSeedNeverChangesTheData) {
  SplitOptions a{50, 0}, b{50, 0};
  b.seed = 5;  // --seed: the search's randomness, not the split's
  EXPECT_EQ(load_split(idx("idx_small"), Split::kVal, a).pixels, load_split(idx("idx_small"), Split::kVal, b).pixels);
  bool carved = false;
  EXPECT_NE(validation_source(idx("idx_small"), a, &carved).find("carved from the training set"), std::string::npos);
  EXPECT_TRUE(carved);
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

// Four 1x3x4 images whose pixel values encode (image, row, column).
ImageSet tiny() {
  ImageSet s;
  s.name = "tiny";
  s.channels = 1;
  s.height = 3;
  s.width = 4;
  s.num_classes = 2;
  for (int i = 0; i < 4; ++i) {
    for (int y = 0; y < 3; ++y)
      for (int x = 0; x < 4; ++x) s.pixels.push_back(static_cast<std::uint8_t>(100 * (i % 2) + 10 * y + x + 1));
    s.labels.push_back(i % 2);
  }
  return s;
}

TEST(Augment, NoneScalesToUnitRangeInIndexOrder) {
  auto s = tiny();
  std::vector<std::int64_t> idx{3, 0};
  std::vector<float> out;
  data::fill_batch(s, idx.data(), 2, {}, 7, out);
  ASSERT_EQ(out.size(), 24u);
  EXPECT_FLOAT_EQ(out[0], (100 + 1) / 255.0f);   // image 3, (0, 0)
  EXPECT_FLOAT_EQ(out[11], (100 + 24) / 255.0f);  // image 3, (2, 3)
  EXPECT_FLOAT_EQ(out[12], 1 / 255.0f);           // image 0, (0, 0)
}

TEST(Augment, FlipMirrorsRowsAndCropShiftsWithZeroPadding) {
  auto s = tiny();
  std::vector<std::int64_t> idx(64, 0);  // the same image 64 times: both flips and several shifts appear
  std::vector<float> out;
  data::fill_batch(s, idx.data(), 64, {0, true}, 1, out);
  int flipped = 0;
  for (int k = 0; k < 64; ++k) {
    const float* img = out.data() + k * 12;
    const bool f = img[0] == 4 / 255.0f;  // (0, 0) holds the last column
    if (f) {
      ++flipped;
      for (int y = 0; y < 3; ++y)
        for (int x = 0; x < 4; ++x) EXPECT_FLOAT_EQ(img[y * 4 + x], (10 * y + (3 - x) + 1) / 255.0f);
    } else {
      EXPECT_FLOAT_EQ(img[0], 1 / 255.0f);
    }
  }
  EXPECT_GT(flipped, 10);
  EXPECT_LT(flipped, 54);
  data::fill_batch(s, idx.data(), 64, {1, false}, 1, out);
  int zeros = 0;
  for (int k = 0; k < 64; ++k) {
    const float* img = out.data() + k * 12;
    // Every pixel is either padding or the source pixel at a shift of at most one in each direction.
    for (int y = 0; y < 3; ++y) {
      for (int x = 0; x < 4; ++x) {
        const float v = img[y * 4 + x] * 255.0f;
        if (v == 0) {
          ++zeros;
          continue;
        }
        const int sy = (static_cast<int>(std::lround(v)) - 1) / 10, sx = (static_cast<int>(std::lround(v)) - 1) % 10;
        EXPECT_LE(std::abs(sy - y), 1);
        EXPECT_LE(std::abs(sx - x), 1);
      }
    }
  }
  EXPECT_GT(zeros, 0);
}

TEST(Augment, SameSeedSameBatch) {
  auto s = tiny();
  std::vector<std::int64_t> idx{0, 1, 2, 3};
  std::vector<float> a, b, c;
  data::fill_batch(s, idx.data(), 4, {2, true}, 42, a);
  data::fill_batch(s, idx.data(), 4, {2, true}, 42, b);
  data::fill_batch(s, idx.data(), 4, {2, true}, 43, c);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(Augment, AutoMirrorsClothesButNotDigits) {
  auto fashion = data::parse_spec("fashion-mnist");
  auto digits = data::parse_spec("idx:" + test::fixtures() + "/idx_small");
  EXPECT_EQ(data::parse_augment("auto", fashion, 28).str(), "crop2+flip");
  EXPECT_EQ(data::parse_augment("auto", digits, 28).str(), "crop2");
  EXPECT_EQ(data::parse_augment("crop-flip", digits, 32).str(), "crop4+flip");
  EXPECT_EQ(data::parse_augment("none", fashion, 28).str(), "none");
  test::expect_error([&] { data::parse_augment("rotate", fashion, 28); }, ExitCode::kUsage, "--augment 'rotate'");
}

TEST(TensorData, ScalesToUnitRange) {
  ImageSet set = load_split(idx("idx_small"), Split::kTest, {});
  at::Tensor x = images(set, 10, 20);
  EXPECT_EQ(x.sizes().vec(), (std::vector<std::int64_t>{10, 1, 28, 28}));
  EXPECT_FLOAT_EQ(x[0][0][0][0].item<float>(), set.pixels[10 * 784] / 255.0f);
  EXPECT_LE(x.max().item<float>(), 1.0f);
  EXPECT_EQ(labels(set, 10, 20)[3].item<std::int64_t>(), set.labels[13]);
}

TEST(TensorData, NormalisesPerChannelAsTorchvision) {
  ImageSet set = load_split(idx("idx_small"), Split::kTest, {});
  set.mean = {0.5};
  set.std = {0.25};
  at::Tensor x = images(set, 0, 4);
  EXPECT_NEAR(x[1][0][3][5].item<float>(), (set.pixels[784 + 3 * 28 + 5] / 255.0f - 0.5f) / 0.25f, 1e-6);
  // Batches for training are normalised the same way (no augmentation: identical).
  std::vector<float> batch;
  const std::vector<std::int64_t> idx_ = {0, 1, 2, 3};
  fill_batch(set, idx_.data(), 4, Augment{}, 0, batch);
  at::Tensor flat = x.flatten();
  for (size_t i = 0; i < batch.size(); i += 97) ASSERT_NEAR(batch[i], flat[static_cast<std::int64_t>(i)].item<float>(), 1e-5);
  test::expect_error([] { check_normalization({0.1, 0.2}, {0.3, 0.4}, 1); }, ExitCode::kUsage, "1 channel");
  test::expect_error([] { check_normalization({0.1}, {}, 1); }, ExitCode::kUsage, "--mean has 1 values and --std 0");
  test::expect_error([] { check_normalization({0.1}, {0.0}, 1); }, ExitCode::kUsage, "positive");
  std::vector<double> mean, std;
  normalization_preset("imagenet", mean, std);
  EXPECT_EQ(mean.size(), 3u);
  test::expect_error([&] { normalization_preset("cifar", mean, std); }, ExitCode::kUsage, "--normalize");
}

DatasetSpec folder(const std::string& name) { return parse_spec("imagefolder:" + test::fixtures() + "/" + name); }

// The image folders of make_fixtures.py: images/ (Fashion-MNIST, 10 classes, train 12 / val 6 / test 10 per
// class, PNG, class 0 of train as JPEG), images_rgb/ (RGB JPEGs 40x30), broken ones.
class ImageFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    cache_ = std::filesystem::temp_directory_path() / ("xcel-imagefolder-test-" + std::to_string(::getpid()));
    std::filesystem::remove_all(cache_);
    setenv("XCEL_CACHE_DIR", cache_.c_str(), 1);
  }
  void TearDown() override { std::filesystem::remove_all(cache_); }
  std::filesystem::path cache_;
};

TEST_F(ImageFolder, ReadsTreesWithSortedClassesAndGreyImages) {
  SplitOptions o;
  o.channels = 1;
  ImageSet train = load_set(folder("images"), true, o);
  EXPECT_EQ(train.size(), 120);
  EXPECT_EQ(train.num_classes, 10);
  EXPECT_EQ(train.classes.front(), "0-tshirt");
  EXPECT_EQ(train.channels * train.height * train.width, 784);  // the images' own size: no resize
  EXPECT_EQ(std::count(train.labels.begin(), train.labels.end(), 9), 12);
  // val/ is the held-out validation split (not carved), labelled by the training tree's classes; test/ the test.
  ImageSet val = load_split(folder("images"), Split::kVal, o);
  EXPECT_EQ(val.size(), 60);
  EXPECT_EQ(load_split(folder("images"), Split::kTest, o).size(), 100);
  bool carved = true;
  EXPECT_NE(validation_source(folder("images"), o, &carved).find("held out"), std::string::npos);
  EXPECT_FALSE(carved);
}

TEST_F(ImageFolder, ResizesAndCropsRgbAndCachesTheDecodedSet) {
  SplitOptions o;
  o.channels = 3;
  o.image_size = 24;
  ImageSet a = load_set(folder("images_rgb"), true, o);
  EXPECT_EQ(a.size(), 8);
  EXPECT_EQ(a.channels, 3);
  EXPECT_EQ(a.height, 24);
  EXPECT_EQ(a.width, 24);
  // Decoded once: the second read comes from the cache file, byte for byte.
  size_t cached = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(cache_)) cached += e.is_regular_file();
  EXPECT_EQ(cached, 1u);
  ImageSet b = load_set(folder("images_rgb"), true, o);
  EXPECT_EQ(a.pixels, b.pixels);
  EXPECT_EQ(a.labels, b.labels);
  // Other options are another entry.
  o.resize = 30;
  EXPECT_NE(load_set(folder("images_rgb"), true, o).pixels, a.pixels);
}

TEST_F(ImageFolder, BadFoldersAndImagesAreNamed) {
  SplitOptions o;
  o.channels = 1;
  test::expect_error([&] { load_split(folder("images_bad"), Split::kVal, o); }, ExitCode::kInput, "broken.png");
  o.skip_bad_images = true;
  EXPECT_EQ(load_split(folder("images_bad"), Split::kVal, o).size(), 2);
  o.skip_bad_images = false;
  test::expect_error([&] { load_set(folder("images_empty"), true, o); }, ExitCode::kInput, "holds no images");
  test::expect_error([&] { load_split(folder("images_unknown"), Split::kVal, o); }, ExitCode::kInput,
                     "not a class of the training images");
  test::expect_error([&] { load_set(folder("images_empty/a"), true, o); }, ExitCode::kInput, "no class folders");
}

}  // namespace
}  // namespace xcel::data
