// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/jobs/eval_job.h"

#include <chrono>

#include "xcel/core/clock.h"
#include "xcel/core/error.h"
#include "xcel/core/fs.h"
#include "xcel/device/target.h"
#include "xcel/ir/model.h"
#include "xcel/quant/quantize.h"
#include "xcel/jobs/inputs.h"
#include "xcel/latency/oracle.h"
#include "xcel/train/evaluate.h"

namespace xcel::jobs {
namespace {

void check_options(const EvalOptions& o) {
  XCEL_CHECK(!o.bounds.needs_baseline() || !o.baseline.empty(), ExitCode::kUsage,
             "--max-drop, --max-flops-ratio and --max-size-ratio compare against a baseline: pass --baseline ORIGINAL.pt");
  XCEL_CHECK(o.junit.empty() || o.bounds.any(), ExitCode::kUsage,
             "--junit reports the gate: give at least one of --min-top1, --max-drop, --max-flops-ratio, --max-size-ratio, "
             "--max-latency-ms");
  if (!o.junit.empty())
    for (const auto* input : {&o.model, &o.baseline})
      XCEL_CHECK(!fs::same_file(o.junit, *input), ExitCode::kUsage, "--junit '{}' is an input model", o.junit);
}

// Accuracy and cost of one model; its latency on the target unless `measure` is false or --bench-runs is 0.
EvalReport evaluate_model(const EvalOptions& o, const std::string& path, const device::TargetProfile& target,
                          bool measure) {
  ir::set_threads(o.threads);
  EvalReport r;
  r.model = path;
  r.data = o.data;
  r.split = o.split;
  r.threads = o.threads;
  r.blas = runtime::blas_info();
  auto module = ir::load_model(path);
  data::ImageSet set = data::load_split(data::parse_spec(o.data), data::parse_split(o.split), for_model(o.split_opts, module));
  if (o.limit > 0 && o.limit < set.size()) set = data::head(set, o.limit, set.name);
  r.summary = ir::analyze(module, checked_input(module, set, true));
  r.summary.path = path;
  r.summary.file_bytes = fs::file_size(path);
  r.weight_bits = quant::stored_weight_bits(module, r.summary.layers);
  const auto t0 = std::chrono::steady_clock::now();
  r.accuracy = train::evaluate(module, set, o.batch);
  r.seconds = seconds_since(t0);
  if (!measure || o.bench_runs == 0) return r;
  latency::OracleOptions oo;
  oo.threads = o.threads;
  oo.warmup = o.bench_warmup;
  oo.runs = std::max(0, o.bench_runs);
  oo.use_cache = false;  // a gate measures now
  const latency::Latency l = latency::make_oracle(target, oo)->latency(path, r.summary);
  r.latency_ms = l.ms;
  r.latency_device = l.device == target.name ? l.device : l.device + " [" + target.name + "]";
  r.latency_method = l.method;
  r.latency_form = l.form;
  r.threads = l.threads;
  return r;
}

}  // namespace

void to_json(nlohmann::json& j, const EvalReport& r) {
  j = {{"model", r.model},
       {"data", r.data},
       {"split", r.split},
       {"images", r.accuracy.n},
       {"top1", r.accuracy.top1},
       {"top5", r.accuracy.top5},
       {"flops", r.summary.flops},
       {"params", r.summary.params},
       {"file_bytes", r.summary.file_bytes},
       {"weight_bits", r.weight_bits},
       {"input_shape", r.summary.input_shape},
       {"eval_seconds", r.seconds},
       {"threads", r.threads},
       {"blas", {{"library", r.blas.library}, {"openblas", r.blas.is_openblas}, {"config", r.blas.config}}}};
  if (r.latency_ms.n > 0) {
    j["latency_ms"] = r.latency_ms;
    j["latency_ms"]["source"] = "measured";
    j["latency_ms"]["device"] = r.latency_device;
    j["latency_ms"]["method"] = r.latency_method;
    j["latency_ms"]["form"] = r.latency_form;
    j["latency_ms"]["batch"] = 1;
  }
}

std::string EvalResult::failed() const {
  std::string out;
  for (const auto& c : checks)
    if (!c.passed) out += (out.empty() ? "" : "; ") + c.name + ": " + c.message;
  return out;
}

nlohmann::json EvalResult::json() const {
  nlohmann::json j = report;
  if (baseline)
    j["baseline"] = {{"model", baseline->model}, {"top1", baseline->accuracy.top1}, {"flops", baseline->summary.flops},
                       {"weight_bits", baseline->weight_bits}};
  if (!checks.empty()) {
    j["gates"] = checks;
    j["passed"] = all_passed(checks);
  }
  return j;
}

EvalResult run_eval(const EvalOptions& o) {
  check_options(o);
  const device::TargetProfile target = device::load_target(o.target);
  EvalResult r;
  r.report = evaluate_model(o, o.model, target, true);
  if (!o.baseline.empty()) r.baseline = evaluate_model(o, o.baseline, target, false);
  if (o.bounds.any()) r.checks = check_gates(o.bounds, r.report, r.baseline ? &*r.baseline : nullptr);
  if (!o.junit.empty()) fs::write_file_atomic(o.junit, junit_xml(r.checks, r.report, r.baseline ? &*r.baseline : nullptr));
  return r;
}

}  // namespace xcel::jobs
