// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// Units of training support without LibTorch: augmentation and batch assembly, the regression gate, JUnit.
#include <algorithm>

#include "test_env.h"
#include "xcel/core/error.h"
#include "xcel/data/augment.h"
#include "xcel/train/gate.h"

namespace xcel {
namespace {

// Four 1x3x4 images whose pixel values encode (image, row, column).
data::ImageSet tiny() {
  data::ImageSet s;
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

train::EvalReport report(const std::string& model, double top1, std::int64_t flops, double latency_ms = 0) {
  train::EvalReport r;
  r.model = model;
  r.data = "fashion-mnist";
  r.split = "test";
  r.accuracy.top1 = top1;
  r.accuracy.n = 10000;
  r.summary.flops = flops;
  r.threads = 1;
  if (latency_ms > 0) {
    r.latency_ms.n = 50;
    r.latency_ms.median = latency_ms;
  }
  return r;
}

TEST(Gate, PassesAndFailsWithMargins) {
  auto base = report("vgg.pt", 0.9327, 29128448);
  auto pruned = report("pruned.pt", 0.9150, 7282112, 0.42);
  train::GateBounds b;
  b.min_top1 = 0.92;
  b.max_drop = 1.0;
  b.max_flops_ratio = 0.26;
  b.max_latency_ms = 0.5;
  auto checks = train::check_gates(b, pruned, &base);
  ASSERT_EQ(checks.size(), 4u);
  EXPECT_FALSE(checks[0].passed);
  EXPECT_NE(checks[0].message.find("below the minimum 92.00% by 0.50 points"), std::string::npos) << checks[0].message;
  EXPECT_FALSE(checks[1].passed);
  EXPECT_NEAR(checks[1].value, 1.77, 1e-9);
  EXPECT_NE(checks[1].message.find("over by 0.77 points"), std::string::npos) << checks[1].message;
  EXPECT_TRUE(checks[2].passed);
  EXPECT_NEAR(checks[2].value, 0.25, 1e-9);
  EXPECT_TRUE(checks[3].passed);
  EXPECT_FALSE(train::all_passed(checks));
  b.min_top1 = 0.91;
  b.max_drop = 2.0;
  EXPECT_TRUE(train::all_passed(train::check_gates(b, pruned, &base)));
}

TEST(Gate, BaselineAndLatencyAreRequiredWhereNeeded) {
  auto m = report("m.pt", 0.9, 100);
  train::GateBounds b;
  b.max_drop = 1.0;
  test::expect_error([&] { train::check_gates(b, m, nullptr); }, ExitCode::kUsage, "--baseline");
  train::GateBounds l;
  l.max_latency_ms = 1.0;
  test::expect_error([&] { train::check_gates(l, m, nullptr); }, ExitCode::kUsage, "latency measurement");
}

TEST(Gate, JunitCountsFailuresAndEscapes) {
  auto base = report("a&b<c>.pt", 0.93, 100);
  auto m = report("m\"q.pt", 0.80, 50);
  train::GateBounds b;
  b.min_top1 = 0.85;
  b.max_flops_ratio = 0.6;
  auto checks = train::check_gates(b, m, &base);
  const std::string x = train::junit_xml(checks, m, &base);
  EXPECT_NE(x.find("tests=\"2\" failures=\"1\""), std::string::npos) << x;
  EXPECT_NE(x.find("a&amp;b&lt;c&gt;.pt"), std::string::npos);
  EXPECT_NE(x.find("m&quot;q.pt"), std::string::npos);
  EXPECT_EQ(std::count(x.begin(), x.end(), '<') - std::count(x.begin(), x.end(), '>'), 0);
  EXPECT_NE(x.find("<failure type=\"regression\" message=\"top-1 80.00% is below the minimum 85.00%"),
            std::string::npos);
}

}  // namespace
}  // namespace xcel
