// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// Units of the latency oracle without a device: benchmark output parsers, `adb devices -l` parsing, target
// matching, the target schema, the roofline estimate, shell quoting.
#include "test_env.h"
#include "xcel/core/error.h"
#include "xcel/core/subprocess.h"
#include "xcel/latency/oracle.h"

namespace xcel::latency {
namespace {

TEST(Parsers, SpeedBenchmarkTorchPerIterationAndSummary) {
  const std::string pep =
      "Starting benchmark.\nMain runs.\n"
      "PyTorchObserver {\"type\": \"NET\", \"unit\": \"us\", \"metric\": \"latency\", \"value\": \"1000\"}\n"
      "PyTorchObserver {\"type\": \"NET\", \"unit\": \"us\", \"metric\": \"latency\", \"value\": \"3000\"}\n"
      "PyTorchObserver {\"type\": \"NET\", \"unit\": \"us\", \"metric\": \"latency\", \"value\": \"2000\"}\n"
      "Main run finished. Microseconds per iter: 2000. Iters per second: 500\n";
  Stats s = parse_speed_benchmark_torch(pep);
  EXPECT_EQ(s.n, 3);
  EXPECT_DOUBLE_EQ(s.median, 2.0);
  EXPECT_DOUBLE_EQ(s.min, 1.0);
  s = parse_speed_benchmark_torch("Main run finished. Microseconds per iter: 1523.25. Iters per second: 656.5\n");
  EXPECT_DOUBLE_EQ(s.median, 1.52325);
  test::expect_error([] { parse_speed_benchmark_torch("Segmentation fault\n"); }, ExitCode::kDevice,
                     "it said: Segmentation fault");
}

TEST(Parsers, TfliteBenchmarkModel) {
  const std::string out =
      "Running benchmark for at least 1 iterations and at least 0.5 seconds\n"
      "count=19 first=30021 curr=26010 min=25873 max=30021 avg=26353.2 std=911\n"
      "Running benchmark for at least 50 iterations and at least 1 seconds\n"
      "count=50 first=26100 curr=25990 min=25800 max=27001 avg=26020.5 std=301\n"
      "Inference timings in us: Init: 3000, First inference: 30021, Warmup (avg): 26353.2, Inference (avg): 26020.5\n";
  Stats s = parse_tflite_benchmark(out);
  EXPECT_EQ(s.n, 50);  // the main run, not the warm-up line
  EXPECT_DOUBLE_EQ(s.mean, 26.0205);
  EXPECT_DOUBLE_EQ(s.std, 0.301);
  EXPECT_DOUBLE_EQ(parse_tflite_benchmark("Inference (avg): 1500\n").median, 1.5);
}

TEST(Adb, DevicesListStatesAndModels) {
  auto d = parse_adb_devices(
      "* daemon started successfully\nList of devices attached\n"
      "FA7AB1A00123\tdevice usb:1-1 product:sailfish model:Pixel device:sailfish transport_id:3\n"
      "R58M12345\tunauthorized usb:1-2 transport_id:4\n"
      "emulator-5554\toffline transport_id:5\n\n");
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].serial, "FA7AB1A00123");
  EXPECT_EQ(d[0].model, "Pixel");
  EXPECT_EQ(d[1].state, "unauthorized");
  EXPECT_EQ(d[2].state, "offline");
}

TEST(Targets, BundledProfilesPassTheSchemaAndMatchRulesWork) {
  for (const char* name : {"pixel1", "pixel6", "galaxy-s23", "host"}) EXPECT_NO_THROW(search::load_target(name)) << name;
  const auto t = search::load_target("pixel1");
  EXPECT_EQ(t.kind, "android");
  EXPECT_EQ(t.benchmark.taskset, "c");
  EXPECT_TRUE(matches(t, {{"ro.product.model", "Pixel XL"}, {"ro.board.platform", "msm8996"}}));
  EXPECT_FALSE(matches(t, {{"ro.product.model", "Pixel XL"}, {"ro.board.platform", "gs101"}}));
}

TEST(Targets, SchemaErrorsNameTheField) {
  auto j = search::load_target("pixel1").raw;
  auto bad = j;
  bad["benchmark"]["taskset"] = "0xZZ";
  test::expect_error([&] { search::parse_target(bad, "t.json"); }, ExitCode::kInput, "'benchmark.taskset'");
  bad = j;
  bad["roofline"].erase("memory_gbs");
  test::expect_error([&] { search::parse_target(bad, "t.json"); }, ExitCode::kInput, "missing field 'roofline.memory_gbs'");
  bad = j;
  bad["round_too"] = 4;
  test::expect_error([&] { search::parse_target(bad, "t.json"); }, ExitCode::kInput, "unknown field 'round_too'");
  bad = j;
  bad.erase("device_match");
  test::expect_error([&] { search::parse_target(bad, "t.json"); }, ExitCode::kInput, "needs 'device_match'");
}

TEST(Roofline, ComputeBoundLayersScaleWithFlopsAndAreLabelledEstimated) {
  const auto t = search::load_target("pixel1");
  ir::ModelSummary s;
  ir::Layer l;
  l.flops = 86000000;  // 2 x 86 M FLOPs at 17.2 GFLOP/s = 10 ms, far above the memory time
  l.input_shape = {1, 64, 28, 28};
  l.output_shape = {1, 64, 28, 28};
  l.params = 36928;
  s.layers = {l};
  Latency one = roofline_estimate(t, s, 1);
  EXPECT_NEAR(one.ms.median, 10.0, 1e-9);
  EXPECT_EQ(one.source, "estimated");
  EXPECT_NEAR(roofline_estimate(t, s, 4).ms.median, 5.0, 1e-9);  // capped at the profile's 2 cores
}

TEST(Shell, QuotingKeepsOneWord) {
  EXPECT_EQ(shell_quote("a b"), "'a b'");
  EXPECT_EQ(shell_quote("it's;rm"), "'it'\\''s;rm'");
  ProcessResult r = run_process({"sh", "-c", "printf '%s|' " + shell_quote("x y;z 'q'")}, 10);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "x y;z 'q'|");
  ProcessResult slow = run_process({"sleep", "5"}, 0.2);
  EXPECT_TRUE(slow.timed_out);
  EXPECT_FALSE(run_process({"no-such-program-xcel"}, 1).started);
}

}  // namespace
}  // namespace xcel::latency
