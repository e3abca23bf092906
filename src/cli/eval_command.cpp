// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// xcel eval: accuracy, cost and host latency of one model on one dataset split.
#include <iostream>

#include <spdlog/fmt/fmt.h>

#include "xcel/cli/common.h"
#include "xcel/core/error.h"
#include "xcel/jobs/eval_job.h"
#include "xcel/report/table.h"

namespace xcel::cli {
namespace {

void print_report(const jobs::EvalReport& r) {
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
    t.add({r.latency_device + " latency (batch 1)",
           fmt::format("median {:.3f} ms, p10 {:.3f}, p90 {:.3f}, std {:.3f} ({} runs, {} threads, {})", l.median, l.p10,
                       l.p90, l.std, l.n, r.threads, r.latency_form)});
  }
  t.add({"BLAS", r.blas.library + (r.blas.is_openblas ? " (OpenBLAS)" : " (not OpenBLAS)")});
  std::cout << t.str();
}

void print_gates(const std::vector<jobs::GateCheck>& checks) {
  using report::Align;
  report::Table t({"gate", "result", "detail"}, {Align::kLeft, Align::kLeft, Align::kLeft});
  for (const auto& c : checks) t.add({c.name, c.passed ? "pass" : "FAIL", c.message});
  std::cout << "\n" << t.str();
}

}  // namespace

void register_eval(CLI::App& app) {
  auto o = std::make_shared<jobs::EvalOptions>();
  auto out = std::make_shared<OutputOptions>();
  auto* cmd = app.add_subcommand("eval", "Top-1/top-5 accuracy, FLOPs, parameters, file size and latency; with bounds, a CI regression gate (exit 7)");
  cmd->add_option("--model,-m", o->model, "TorchScript model (.pt)")->required();
  add_data_option(cmd, o->data, "fashion-mnist | idx:DIR | cifar10:DIR")->capture_default_str();
  cmd->add_option("--split", o->split, "val (carved from the training set) or test")
      ->capture_default_str()
      ->check(CLI::IsMember({"train", "val", "test"}));
  add_split_options(cmd, o->split_opts);
  cmd->add_option("--batch", o->batch, "Images per forward pass")->capture_default_str()->check(positive());
  cmd->add_option("--limit", o->limit, "Evaluate only the first N images of the split (0 = all)")
      ->capture_default_str()
      ->check(non_negative());
  cmd->add_option("--target", o->target, "Where latency is measured: host (this CPU, --threads threads) or a phone "
                                         "target over adb (xcel targets)")
      ->capture_default_str();
  add_bench_options(cmd, o->bench_warmup, o->bench_runs, "bench-", "batch-1 forward passes (0 skips timing)");
  add_threads_option(cmd, o->threads);
  add_output_options(cmd, *out);
  const char* gate = "Regression gate (exit 7 when a bound is broken)";
  cmd->add_option("--min-top1", o->bounds.min_top1, "Fail when top-1 is below this fraction (0.90 = 90%)")
      ->check(CLI::Range(0.0, 1.0))
      ->group(gate);
  cmd->add_option("--baseline", o->baseline, "Original model to compare against (for --max-drop, --max-flops-ratio, --max-size-ratio)")
      ->group(gate);
  cmd->add_option("--max-drop", o->bounds.max_drop, "Fail when top-1 is more than this many points below the baseline")
      ->check(non_negative())
      ->group(gate);
  cmd->add_option("--max-flops-ratio", o->bounds.max_flops_ratio, "Fail when FLOPs exceed this fraction of the baseline's")
      ->check(positive())
      ->group(gate);
  cmd->add_option("--max-size-ratio", o->bounds.max_size_ratio,
                  "Fail when the conv/linear weights need more than this fraction of the baseline's bits as stored "
                  "(per output channel, the bits its distinct values need; e.g. 0.25 for 8-bit against float)")
      ->check(positive())
      ->group(gate);
  cmd->add_option("--max-latency-ms", o->bounds.max_latency_ms,
                  "Fail when the median batch-1 latency on --target exceeds this")
      ->check(positive())
      ->group(gate);
  cmd->add_option("--junit", o->junit, "Write the gate's results as JUnit XML to this file")->group(gate);
  cmd->callback([o, out] {
    const jobs::EvalResult r = jobs::run_eval(*o);
    if (out->json) {
      print_json(r.json());
    } else {
      print_report(r.report);
      if (!r.checks.empty()) print_gates(r.checks);
    }
    XCEL_CHECK(r.failed().empty(), ExitCode::kGate, "regression gate failed: {}", r.failed());
  });
}

}  // namespace xcel::cli
