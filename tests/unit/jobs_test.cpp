// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// Units of the jobs layer: the regression gate and its JUnit report.
#include <algorithm>

#include "test_env.h"
#include "xcel/core/error.h"
#include "xcel/jobs/eval_job.h"

namespace xcel {
namespace {

jobs::EvalReport report(const std::string& model, double top1, std::int64_t flops, double latency_ms = 0) {
  jobs::EvalReport r;
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
  jobs::GateBounds b;
  b.min_top1 = 0.92;
  b.max_drop = 1.0;
  b.max_flops_ratio = 0.26;
  b.max_latency_ms = 0.5;
  auto checks = jobs::check_gates(b, pruned, &base);
  ASSERT_EQ(checks.size(), 4u);
  EXPECT_FALSE(checks[0].passed);
  EXPECT_NE(checks[0].message.find("below the minimum 92.00% by 0.50 points"), std::string::npos) << checks[0].message;
  EXPECT_FALSE(checks[1].passed);
  EXPECT_NEAR(checks[1].value, 1.77, 1e-9);
  EXPECT_NE(checks[1].message.find("over by 0.77 points"), std::string::npos) << checks[1].message;
  EXPECT_TRUE(checks[2].passed);
  EXPECT_NEAR(checks[2].value, 0.25, 1e-9);
  EXPECT_TRUE(checks[3].passed);
  EXPECT_FALSE(jobs::all_passed(checks));
  b.min_top1 = 0.91;
  b.max_drop = 2.0;
  EXPECT_TRUE(jobs::all_passed(jobs::check_gates(b, pruned, &base)));
}

TEST(Gate, BaselineAndLatencyAreRequiredWhereNeeded) {
  auto m = report("m.pt", 0.9, 100);
  jobs::GateBounds b;
  b.max_drop = 1.0;
  test::expect_error([&] { jobs::check_gates(b, m, nullptr); }, ExitCode::kUsage, "--baseline");
  jobs::GateBounds l;
  l.max_latency_ms = 1.0;
  test::expect_error([&] { jobs::check_gates(l, m, nullptr); }, ExitCode::kUsage, "latency measurement");
}

TEST(Gate, JunitCountsFailuresAndEscapes) {
  auto base = report("a&b<c>.pt", 0.93, 100);
  auto m = report("m\"q.pt", 0.80, 50);
  jobs::GateBounds b;
  b.min_top1 = 0.85;
  b.max_flops_ratio = 0.6;
  auto checks = jobs::check_gates(b, m, &base);
  const std::string x = jobs::junit_xml(checks, m, &base);
  EXPECT_NE(x.find("tests=\"2\" failures=\"1\""), std::string::npos) << x;
  EXPECT_NE(x.find("a&amp;b&lt;c&gt;.pt"), std::string::npos);
  EXPECT_NE(x.find("m&quot;q.pt"), std::string::npos);
  EXPECT_EQ(std::count(x.begin(), x.end(), '<') - std::count(x.begin(), x.end(), '>'), 0);
  EXPECT_NE(x.find("<failure type=\"regression\" message=\"top-1 80.00% is below the minimum 85.00%"),
            std::string::npos);
}

}  // namespace
}  // namespace xcel
