// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// make_oracle and the local backend (in-process LibTorch timing on this machine).
#include <ATen/Parallel.h>

#include "xcel/core/error.h"
#include "xcel/ir/model.h"
#include "xcel/latency/host_bench.h"
#include "xcel/latency/oracle.h"
#include "xcel/latency/oracle_backends.h"
#include "xcel/latency/predictor.h"

namespace xcel::latency {
namespace {

class LocalOracle : public Oracle {
 public:
  LocalOracle(std::string target, int threads, int warmup, int runs)
      : target_(std::move(target)), threads_(threads), warmup_(warmup), runs_(runs) {}
  Latency latency(const std::string& model_path, const ir::ModelSummary& summary) override {
    const int before = at::get_num_threads();
    ir::set_threads(threads_);
    torch::jit::Module m = ir::load_model(model_path);
    Latency l;
    l.ms = bench_host(m, summary.input_shape, warmup_, runs_);
    ir::set_threads(before);
    l.source = "measured";
    l.method = "local-libtorch";
    l.device = "host";
    l.target = target_;
    l.model_hash = file_hash(model_path);
    l.threads = threads_;
    return l;
  }
  std::string backend() const override { return "local"; }

 private:
  std::string target_;
  int threads_, warmup_, runs_;
};

class PredictorOracle : public Oracle {
 public:
  PredictorOracle(const std::string& path, std::string target) : predictor_(path), path_(path), target_(std::move(target)) {
    XCEL_CHECK(predictor_.target() == target_, ExitCode::kUsage,
               "latency predictor '{}' was fitted for target '{}', not '{}'", path, predictor_.target(), target_);
  }
  Latency latency(const std::string& model_path, const ir::ModelSummary& summary) override {
    Latency l;
    l.ms = point_stats(predictor_.predict_ms(summary), 0);
    l.source = "estimated";
    l.method = "predictor";
    l.device = target_ + " (" + path_ + ")";
    l.target = target_;
    l.model_hash = file_hash(model_path);
    l.threads = predictor_.threads();
    return l;
  }
  std::string backend() const override { return "predictor"; }

 private:
  Predictor predictor_;
  std::string path_, target_;
};

}  // namespace

std::unique_ptr<Oracle> make_oracle(const search::TargetProfile& target, const OracleOptions& o) {
  std::string backend = o.backend;
  if (backend == "auto") backend = target.kind == "android" ? "adb" : "local";
  const int threads = o.threads > 0 ? o.threads : target.threads;
  const int warmup = o.warmup >= 0 ? o.warmup : (target.kind == "android" ? target.benchmark.warmup : 10);
  const int runs = o.runs > 0 ? o.runs : (target.kind == "android" ? target.benchmark.iter : 50);
  std::unique_ptr<Oracle> inner;
  if (backend == "local") {
    XCEL_CHECK(target.kind == "host", ExitCode::kUsage,
               "target '{}' is a phone: measure it with the adb backend (or estimate with --backend roofline)", target.name);
    inner = std::make_unique<LocalOracle>(target.name, threads, warmup, runs);
  } else if (backend == "adb") {
    inner = std::make_unique<AdbOracle>(target, o);
  } else if (backend == "predictor") {
    XCEL_CHECK(!o.predictor.empty(), ExitCode::kUsage, "--backend predictor needs --predictor FILE (from xcel latency fit)");
    return std::make_unique<PredictorOracle>(o.predictor, target.name);  // instant: not cached
  } else if (backend == "roofline") {
    return std::make_unique<RooflineOracle>(target, threads);  // instant: not cached
  } else {
    XCEL_FAIL(ExitCode::kUsage, "unknown latency backend '{}'; use auto, local, adb, roofline or predictor", backend);
  }
  if (!o.use_cache) return inner;
  const std::string prefix = fmt::format("{}-{}-t{}-w{}-r{}", backend, target.name, threads, warmup, runs);
  return std::make_unique<CachedOracle>(std::move(inner), prefix, LatencyCache(o.cache_dir));
}

}  // namespace xcel::latency
