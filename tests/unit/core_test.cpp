// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include <filesystem>
#include <fstream>

#include "test_env.h"
#include "xcel/core/error.h"
#include "xcel/core/fs.h"
#include "xcel/core/runtime.h"
#include "xcel/core/stats.h"
#include "xcel/ir/summary.h"

namespace xcel {
namespace {

TEST(Stats, MedianPercentilesAndSpread) {
  Stats s = summarize({5, 1, 4, 2, 3});
  EXPECT_EQ(s.n, 5);
  EXPECT_DOUBLE_EQ(s.median, 3);
  EXPECT_DOUBLE_EQ(s.mean, 3);
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 5);
  EXPECT_DOUBLE_EQ(s.p10, 1.4);
  EXPECT_DOUBLE_EQ(s.p90, 4.6);
  EXPECT_NEAR(s.std, 1.5811388, 1e-6);
  EXPECT_EQ(summarize({}).n, 0);
}

TEST(Error, CheckThrowsWithCodeAndMessage) {
  test::expect_error([] { XCEL_CHECK(1 + 1 == 3, ExitCode::kBudget, "budget {} too small", 0.1); },
                     ExitCode::kBudget, "budget 0.1 too small");
  EXPECT_NO_THROW(XCEL_CHECK(true, ExitCode::kInput, "never"));
  test::expect_error([] { XCEL_ASSERT(false, "broken {}", 1); }, ExitCode::kInternal, "broken 1");
}

TEST(Error, ExitCodesAreDistinctAndNamed) {
  EXPECT_STREQ(exit_code_name(ExitCode::kInput), "bad input");
  EXPECT_EQ(static_cast<int>(ExitCode::kUsage), 2);
  EXPECT_EQ(static_cast<int>(ExitCode::kInterrupted), 130);
}

TEST(Fs, WriteAtomicReplacesWholeFileAndLeavesNoTemp) {
  auto dir = std::filesystem::temp_directory_path() / "xcel_fs_test";
  std::filesystem::create_directories(dir);
  std::string path = (dir / "out.txt").string();
  fs::write_file_atomic(path, "first");
  fs::write_file_atomic(path, "second");
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "second");
  for (const auto& e : std::filesystem::directory_iterator(dir))
    EXPECT_EQ(e.path().filename(), "out.txt") << "left behind: " << e.path();
  std::filesystem::remove_all(dir);
  test::expect_error([] { fs::write_file_atomic("/nonexistent-dir/x.txt", "x"); }, ExitCode::kInput,
                     "/nonexistent-dir/x.txt");
}

TEST(Shape, ParsesCommasAndX) {
  EXPECT_EQ(ir::parse_shape("1,3,224,224"), (ir::Shape{1, 3, 224, 224}));
  EXPECT_EQ(ir::parse_shape("1x1x28x28"), (ir::Shape{1, 1, 28, 28}));
  test::expect_error([] { ir::parse_shape("1,a,28"); }, ExitCode::kUsage, "bad shape");
  test::expect_error([] { ir::parse_shape("1,0,28,28"); }, ExitCode::kUsage, "bad shape");
  test::expect_error([] { ir::parse_shape("5"); }, ExitCode::kUsage, "N,C,H,W");
}

TEST(Runtime, BlasInfoNamesAProviderWhenLinked) {
  // base_tests links no BLAS: the answer must be empty or name a real file, never crash.
  auto info = runtime::blas_info();
  if (!info.library.empty()) EXPECT_TRUE(fs::exists(info.library)) << info.library;
}

}  // namespace
}  // namespace xcel
