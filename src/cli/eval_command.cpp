// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// xcel eval: accuracy, cost and host latency of one model on one dataset split.
#include <iostream>

#include <spdlog/fmt/fmt.h>

#include "xcel/cli/common.h"
#include "xcel/report/table.h"
#include "xcel/train/eval_job.h"

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
    t.add({"host latency (batch 1)", fmt::format("median {:.3f} ms, p10 {:.3f}, p90 {:.3f}, std {:.3f} ({} runs, {} "
                                                 "threads)",
                                                 l.median, l.p10, l.p90, l.std, l.n, r.threads)});
  }
  t.add({"BLAS", r.blas.library + (r.blas.is_openblas ? " (OpenBLAS)" : " (not OpenBLAS)")});
  std::cout << t.str();
}

}  // namespace

void register_eval(CLI::App& app) {
  auto o = std::make_shared<train::EvalOptions>();
  auto out = std::make_shared<OutputOptions>();
  auto* cmd = app.add_subcommand("eval", "Top-1/top-5 accuracy, FLOPs, parameters, file size and host latency");
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
  cmd->callback([o, out] {
    auto r = train::run_eval(*o);
    if (out->json) {
      print_json(r);
    } else {
      print_report(r);
    }
  });
}

}  // namespace xcel::cli
