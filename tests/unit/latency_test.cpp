// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// Units of the latency module without a device: benchmark output parsers, the roofline estimate, in-process
// timing, the oracle's local backend for files, modules and single layers, per-layer profiles.
#include <unistd.h>

#include "test_env.h"
#include "xcel/core/error.h"
#include "xcel/device/target.h"
#include "xcel/ir/model.h"
#include "xcel/latency/host_bench.h"
#include "xcel/latency/oracle.h"
#include "xcel/latency/oracle_backends.h"
#include "xcel/latency/profile.h"

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
  // A number that is not one (found by xcel-fuzz: it ended in std::stod's exception), zero or negative.
  test::expect_error([] { parse_speed_benchmark_torch("Microseconds per iter: .\n"); }, ExitCode::kDevice,
                     "printed '.' as a latency");
  test::expect_error([] { parse_speed_benchmark_torch("Microseconds per iter: -5\n"); }, ExitCode::kDevice,
                     "printed '-5' as a latency");
}

// An oracle that answers the input's height as milliseconds and counts its measurements.
class ShapeOracle : public Oracle {
 public:
  using Oracle::latency;
  Latency latency(const std::string& model_path, const ir::ModelSummary& summary) override {
    ++calls;
    Latency l;
    l.ms = point_stats(static_cast<double>(summary.input_shape.at(2)), 1);
    l.source = "measured";
    return l;
  }
  std::string backend() const override { return "shape"; }
  int calls = 0;
};

// Model A (input height 10) takes 10 ms; model B cycles through 4, 5 and 6 ms: ratios 0.4, 0.5, 0.6, median 0.5.
class NoisyOracle : public Oracle {
 public:
  using Oracle::latency;
  Latency latency(const std::string& model_path, const ir::ModelSummary& summary) override {
    Latency l;
    const bool a = summary.input_shape.at(2) == 10;
    l.ms = point_stats(a ? 10.0 : 4.0 + (b_calls++ % 3), 1);
    l.source = "measured";
    return l;
  }
  std::string backend() const override { return "noisy"; }
  int b_calls = 0;
};

TEST(Interleaved, MeasuresMoreRoundsOnlyWhileTheBudgetIsInsideTheNoise) {
  torch::jit::Module m = ir::load_model(test::fixtures() + "/plain.pt");
  ir::ModelSummary sa, sb;
  sa.input_shape = {1, 1, 10, 10};
  sb.input_shape = {1, 1, 20, 20};
  auto undecided_at = [](double budget) {
    return [budget](const std::vector<double>& ratios, const std::vector<double>&) {
      return std::abs(summarize(ratios).median - budget) > median_interval(ratios);
    };
  };
  NoisyOracle far;
  const PairedLatency clear = measure_interleaved(far, m, sa, m, sb, 5, undecided_at(0.9), 25);
  EXPECT_EQ(clear.rounds, 5);  // 0.5 is far from 0.9: the first rounds decide
  EXPECT_NEAR(clear.ratio, 0.5, 1e-12);  // rounds 0.4, 0.5, 0.6, 0.4, 0.5
  NoisyOracle close;
  const PairedLatency open = measure_interleaved(close, m, sa, m, sb, 5, undecided_at(0.5), 25);
  EXPECT_EQ(open.rounds, 25);  // the budget sits on the median: every round is spent
  EXPECT_EQ(open.b.ms.n, 25);
  NoisyOracle plain;
  EXPECT_EQ(measure_interleaved(plain, m, sa, m, sb, 3).rounds, 3);
}

TEST(Cache, OneFileAtTwoInputSizesIsTwoEntries) {
  const std::string dir = ::testing::TempDir() + "xcel_latency_cache_" + std::to_string(::getpid());
  auto inner = std::make_unique<ShapeOracle>();
  ShapeOracle* counted = inner.get();
  CachedOracle cached(std::move(inner), "shape", LatencyCache(dir));
  const std::string model = test::fixtures() + "/plain.pt";
  ir::ModelSummary small, large;
  small.input_shape = {1, 1, 28, 28};
  large.input_shape = {1, 1, 56, 56};
  EXPECT_EQ(cached.latency(model, small).ms.median, 28);
  EXPECT_EQ(cached.latency(model, large).ms.median, 56);  // not the 28x28 entry
  EXPECT_EQ(cached.latency(model, small).ms.median, 28);
  EXPECT_EQ(counted->calls, 2);
}

TEST(Roofline, ComputeBoundLayersScaleWithFlopsAndAreLabelledEstimated) {
  const auto t = device::load_target("pixel1");
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

TEST(HostBench, ReportsSpread) {
  auto m = ir::load_model(test::fixtures() + "/plain.pt");
  Stats s = bench_host(m, {1, 1, 28, 28}, 2, 15);
  EXPECT_EQ(s.n, 15);
  EXPECT_GT(s.median, 0);
  EXPECT_LE(s.p10, s.median);
  EXPECT_LE(s.median, s.p90);
}

TEST(Oracle, LocalBackendTimesFilesModulesAndLayersAlike) {
  const std::string path = test::fixtures() + "/plain.pt";
  auto module = ir::load_model(path);
  ir::ModelSummary summary = ir::analyze(module, {1, 1, 28, 28});
  OracleOptions o;
  o.runs = 7;
  o.warmup = 1;
  o.use_cache = false;
  auto oracle = make_oracle(device::load_target("host"), o);
  EXPECT_EQ(oracle->backend(), "local");
  const Latency file = oracle->latency(path, summary);
  const Latency memory = oracle->latency(module, summary);
  const Latency layer = oracle->layer(summary.layers.front());
  for (const Latency* l : {&file, &memory, &layer}) {
    EXPECT_EQ(l->source, "measured");
    EXPECT_EQ(l->device, "host");
    EXPECT_EQ(l->ms.n, 7);
    EXPECT_GT(l->ms.median, 0);
  }
  EXPECT_EQ(file.model_hash, file_hash(path));
  EXPECT_EQ(file.form, "frozen+optimized");  // as deployed on a CPU, not as saved
  EXPECT_EQ(memory.form, "frozen+optimized");
  EXPECT_TRUE(memory.model_hash.empty());  // nothing on disk to hash
}

TEST(Oracle, DefaultLayerAndModuleMeasurementsGoThroughFiles) {
  // The roofline backend estimates from files only; layers and modules reach it as scratch files.
  auto module = ir::load_model(test::fixtures() + "/plain.pt");
  ir::ModelSummary summary = ir::analyze(module, {1, 1, 28, 28});
  OracleOptions o;
  o.backend = "roofline";
  auto oracle = make_oracle(device::load_target("pixel1"), o);
  const Latency whole = oracle->latency(module, summary);
  EXPECT_EQ(whole.source, "estimated");
  EXPECT_FALSE(whole.model_hash.empty());
  double layers = 0;
  for (const auto& l : summary.layers) layers += oracle->layer(l).ms.median;
  EXPECT_NEAR(whole.ms.median, layers, 1e-9);  // the roofline model is a sum over layers
}

TEST(Profile, EveryLayerTimedAndTheRestIsOther) {
  auto module = ir::load_model(test::fixtures() + "/plain.pt");
  ir::ModelSummary summary = ir::analyze(module, {1, 1, 28, 28});
  summary.path = "plain.pt";
  auto oracle = make_host_oracle(1);
  const Profile p = profile_model(*oracle, module, summary);
  ASSERT_EQ(p.layers.size(), summary.layers.size());
  double sum = 0;
  for (const auto& l : p.layers) sum += l.ms.median;
  EXPECT_NEAR(p.layers_ms, sum, 1e-12);
  EXPECT_NEAR(p.other_ms, std::max(0.0, p.total_ms.median - sum), 1e-12);
  EXPECT_EQ(p.device, "host");
  EXPECT_EQ(p.model, "plain.pt");
}

}  // namespace
}  // namespace xcel::latency
