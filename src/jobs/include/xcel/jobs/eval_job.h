// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// `xcel eval`: accuracy, FLOPs, parameters, file size and latency on the target of one model, and the
/// regression gate over them (no LibTorch here).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xcel/core/runtime.h"
#include "xcel/core/stats.h"
#include "xcel/data/dataset.h"
#include "xcel/ir/summary.h"
#include "xcel/jobs/gate.h"
#include "xcel/train/accuracy.h"

namespace xcel::jobs {

struct EvalReport {
  std::string model, data, split;
  ir::ModelSummary summary;
  train::Accuracy accuracy;
  std::int64_t weight_bits = 0;  // conv/linear weights as stored (quant::stored_weight_bits)
  Stats latency_ms;  // batch 1, measured on latency_device (n = 0: not measured)
  std::string latency_device = "host", latency_method = "local-libtorch", latency_form = "plain";
  int threads = 1;
  runtime::BlasInfo blas;
  double seconds = 0;  // wall time of the accuracy pass
};
void to_json(nlohmann::json& j, const EvalReport& r);

struct EvalOptions {
  std::string model;
  std::string data = "fashion-mnist";
  std::string split = "test";
  data::SplitOptions split_opts;
  int batch = 256;
  int threads = 1;
  std::int64_t limit = 0;  // evaluate only the first N images (0 = all)
  std::string target = "host";  // where latency is measured (the host in-process, or a phone over adb)
  int bench_warmup = -1;   // -1: the target's
  int bench_runs = -1;     // -1: the target's; 0 skips the latency measurement
  // The regression gate.
  GateBounds bounds;
  std::string baseline;  // original model for max_drop / max_flops_ratio
  std::string junit;     // JUnit XML of the gate written here
};

struct EvalResult {
  EvalReport report;
  std::optional<EvalReport> baseline;
  std::vector<GateCheck> checks;
  /// Every broken bound with its message ("name: message; ..."); empty when the gate passed.
  std::string failed() const;
  nlohmann::json json() const;
};

/// Evaluates the model (and the baseline), checks the gate and writes the JUnit file. A broken bound is not
/// an error here: the caller prints the result, then ends with ExitCode::kGate when failed() is not empty.
EvalResult run_eval(const EvalOptions& opts);

}  // namespace xcel::jobs
