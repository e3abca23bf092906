// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// `xcel eval`: accuracy, FLOPs, parameters, file size and host latency of one model (no LibTorch here).
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "xcel/core/runtime.h"
#include "xcel/core/stats.h"
#include "xcel/data/dataset.h"
#include "xcel/ir/summary.h"

namespace xcel::train {

struct Accuracy {
  double top1 = 0, top5 = 0;  // fractions in [0, 1]
  std::int64_t n = 0;
};

struct EvalOptions {
  std::string model;
  std::string data = "fashion-mnist";
  std::string split = "test";
  data::SplitOptions split_opts;
  int batch = 256;
  int threads = 1;
  std::int64_t limit = 0;  // evaluate only the first N images (0 = all)
  int bench_warmup = 10;
  int bench_runs = 50;     // 0 skips the latency benchmark
};

struct EvalReport {
  std::string model, data, split;
  ir::ModelSummary summary;
  Accuracy accuracy;
  Stats latency_ms;  // batch 1, measured on latency_device
  std::string latency_device = "host", latency_method = "local-libtorch";
  int threads = 1;
  runtime::BlasInfo blas;
  double seconds = 0;  // wall time of the accuracy pass
};

EvalReport run_eval(const EvalOptions& opts);

void to_json(nlohmann::json& j, const EvalReport& r);

}  // namespace xcel::train
