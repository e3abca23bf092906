// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// xcel eval: accuracy, cost and host latency of one model on one dataset split.
#include <iostream>
#include <optional>

#include <spdlog/fmt/fmt.h>

#include "xcel/cli/common.h"
#include "xcel/core/error.h"
#include "xcel/core/fs.h"
#include "xcel/latency/oracle.h"
#include "xcel/search/target.h"
#include "xcel/report/table.h"
#include "xcel/train/eval_job.h"
#include "xcel/train/gate.h"

namespace xcel::cli {
namespace {

void print_report(const train::EvalReport& r) {
  using report::Align;
  report::Table t({"metric", "value"}, {Align::kLeft, Align::kLeft});
  t.add({"model", r.model});
  t.add({"data", r.data + " (" + r.split + ", " + std::to_string(r.accuracy.n) + " images)"});
  t.add({"top-1", report::percent(r.accuracy.top1)});
  t.add({"top-5", report::percent(r.accuracy.top5)});
  t.add({"FLOPs", report::human_count(static_cast<double>(r.summary.flops)) + " (" +
                      std::to_string(r.summary.flops) + " multiply-accumulates)"});
  t.add({"params", report::human_count(static_cast<double>(r.summary.params)) + " (" +
                       std::to_string(r.summary.params) + ")"});
  t.add({"file size", report::human_count(static_cast<double>(r.summary.file_bytes)) + "B"});
  if (r.latency_ms.n > 0) {
    const auto& l = r.latency_ms;
    t.add({r.latency_device + " latency (batch 1)", fmt::format("median {:.3f} ms, p10 {:.3f}, p90 {:.3f}, std {:.3f} ({} runs, {} "
                                                 "threads)",
                                                 l.median, l.p10, l.p90, l.std, l.n, r.threads)});
  }
  t.add({"BLAS", r.blas.library + (r.blas.is_openblas ? " (OpenBLAS)" : " (not OpenBLAS)")});
  std::cout << t.str();
}

void print_gates(const std::vector<train::GateCheck>& checks) {
  using report::Align;
  report::Table t({"gate", "result", "detail"}, {Align::kLeft, Align::kLeft, Align::kLeft});
  for (const auto& c : checks) t.add({c.name, c.passed ? "pass" : "FAIL", c.message});
  std::cout << "\n" << t.str();
}

struct GateOptions {
  train::GateBounds bounds;
  std::string baseline, junit, target = "host";
};

}  // namespace

void register_eval(CLI::App& app) {
  auto o = std::make_shared<train::EvalOptions>();
  auto out = std::make_shared<OutputOptions>();
  auto* cmd = app.add_subcommand("eval", "Top-1/top-5 accuracy, FLOPs, parameters, file size and latency; with bounds, a CI regression gate (exit 7)");
  cmd->add_option("--model,-m", o->model, "TorchScript model (.pt)")->required();
  cmd->add_option("--data,-d", o->data, "fashion-mnist | idx:DIR | cifar10:DIR")->capture_default_str();
  cmd->add_option("--split", o->split, "val (carved from the training set) or test")
      ->capture_default_str()
      ->check(CLI::IsMember({"train", "val", "test"}));
  add_split_options(cmd, o->split_opts);
  cmd->add_option("--batch", o->batch, "Images per forward pass")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--limit", o->limit, "Evaluate only the first N images of the split (0 = all)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--bench-runs", o->bench_runs, "Timed batch-1 forward passes on the host (0 skips timing)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--bench-warmup", o->bench_warmup, "Untimed forward passes before timing")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  add_threads_option(cmd, o->threads);
  add_output_options(cmd, *out);
  auto g = std::make_shared<GateOptions>();
  const char* gate = "Regression gate (exit 7 when a bound is broken)";
  cmd->add_option("--min-top1", g->bounds.min_top1, "Fail when top-1 is below this fraction (0.90 = 90%)")
      ->check(CLI::Range(0.0, 1.0))
      ->group(gate);
  cmd->add_option("--baseline", g->baseline, "Original model to compare against (for --max-drop, --max-flops-ratio)")
      ->group(gate);
  cmd->add_option("--max-drop", g->bounds.max_drop, "Fail when top-1 is more than this many points below the baseline")
      ->check(CLI::NonNegativeNumber)
      ->group(gate);
  cmd->add_option("--max-flops-ratio", g->bounds.max_flops_ratio, "Fail when FLOPs exceed this fraction of the baseline's")
      ->check(CLI::PositiveNumber)
      ->group(gate);
  cmd->add_option("--max-latency-ms", g->bounds.max_latency_ms, "Fail when the median batch-1 latency exceeds this")
      ->check(CLI::PositiveNumber)
      ->group(gate);
  cmd->add_option("--target", g->target, "Where --max-latency-ms is measured: host (this CPU, --threads threads) or a "
                                         "phone target over adb (xcel targets)")
      ->capture_default_str()
      ->group(gate);
  cmd->add_option("--junit", g->junit, "Write the gate's results as JUnit XML to this file")->group(gate);
  cmd->callback([o, out, g] {
    const search::TargetProfile target = search::load_target(g->target);
    XCEL_CHECK(target.kind == "host" || g->bounds.max_latency_ms, ExitCode::kUsage,
               "--target {} is only used by --max-latency-ms", g->target);
    XCEL_CHECK(!g->bounds.needs_baseline() || !g->baseline.empty(), ExitCode::kUsage,
               "--max-drop and --max-flops-ratio compare against a baseline: pass --baseline ORIGINAL.pt");
    XCEL_CHECK(g->junit.empty() || g->bounds.any(), ExitCode::kUsage,
               "--junit reports the gate: give at least one of --min-top1, --max-drop, --max-flops-ratio, --max-latency-ms");
    if (!g->junit.empty())
      for (const auto* input : {&o->model, &g->baseline})
        XCEL_CHECK(!fs::same_file(g->junit, *input), ExitCode::kUsage, "--junit '{}' is an input model", g->junit);
    if (target.kind != "host") o->bench_runs = 0;  // measured on the device below
    auto r = train::run_eval(*o);
    if (target.kind != "host") {
      auto oracle = latency::make_oracle(target, {});
      const latency::Latency l = oracle->latency(o->model, r.summary);
      r.latency_ms = l.ms;
      r.latency_device = l.device + " [" + target.name + "]";
      r.latency_method = l.method;
      r.threads = l.threads;
    }
    std::optional<train::EvalReport> base;
    if (!g->baseline.empty()) {
      train::EvalOptions bo = *o;
      bo.model = g->baseline;
      bo.bench_runs = 0;
      base = train::run_eval(bo);
    }
    const auto checks = train::check_gates(g->bounds, r, base ? &*base : nullptr);
    if (out->json) {
      nlohmann::json j = r;
      if (base) j["baseline"] = {{"model", base->model}, {"top1", base->accuracy.top1}, {"flops", base->summary.flops}};
      if (g->bounds.any()) {
        j["gates"] = checks;
        j["passed"] = train::all_passed(checks);
      }
      print_json(j);
    } else {
      print_report(r);
      if (!checks.empty()) print_gates(checks);
    }
    if (!g->junit.empty()) fs::write_file_atomic(g->junit, train::junit_xml(checks, r, base ? &*base : nullptr));
    std::string failed;
    for (const auto& c : checks)
      if (!c.passed) failed += (failed.empty() ? "" : "; ") + c.name + ": " + c.message;
    XCEL_CHECK(failed.empty(), ExitCode::kGate, "regression gate failed: {}", failed);
  });
}

}  // namespace xcel::cli
