// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// xcel profile: where the time of one forward pass goes, layer by layer, measured on the target.
#include <iostream>

#include <spdlog/fmt/fmt.h>

#include "xcel/cli/common.h"
#include "xcel/jobs/latency_job.h"
#include "xcel/report/table.h"

namespace xcel::cli {
namespace {

void print_profile(const latency::Profile& p) {
  using report::Align;
  report::Table t({"#", "layer", "signature", "FLOPs", "median ms", "std", "share"},
                  {Align::kRight, Align::kLeft, Align::kLeft, Align::kRight, Align::kRight, Align::kRight,
                   Align::kRight});
  for (size_t i = 0; i < p.layers.size(); ++i) {
    const auto& l = p.layers[i];
    t.add({std::to_string(i), l.name, l.signature, report::human_count(static_cast<double>(l.flops)),
           fmt::format("{:.4f}", l.ms.median), fmt::format("{:.4f}", l.ms.std), report::percent(l.share, 1)});
  }
  const double denom = std::max(p.total_ms.median, p.layers_ms);
  t.add({"", "(other)", "activations, pooling, adds, overhead", "", fmt::format("{:.4f}", p.other_ms), "",
         report::percent(denom > 0 ? p.other_ms / denom : 0, 1)});
  std::cout << t.str() << "\n";
  const auto& m = p.total_ms;
  std::cout << fmt::format("model: median {:.3f} ms, p10 {:.3f}, p90 {:.3f}, std {:.3f} ({} runs, {} threads, {} on {}, "
                           "{})\n",
                           m.median, m.p10, m.p90, m.std, m.n, p.threads, p.source, p.device, p.form)
            << fmt::format("layers on their own: {:.3f} ms; other: {:.3f} ms\n", p.layers_ms, p.other_ms);
}

}  // namespace

void register_profile(CLI::App& app) {
  auto o = std::make_shared<jobs::ProfileOptions>();
  auto out = std::make_shared<OutputOptions>();
  auto* cmd = app.add_subcommand("profile", "Per-layer latency of a model (median, spread, share) and the whole model's, measured on "
                                            "the target (host, or a phone over adb)");
  cmd->add_option("--model,-m", o->model, "TorchScript model (.pt)")->required();
  cmd->add_option("--input,-i", o->input, "Input shape N,C,H,W (N is set to 1)")->capture_default_str();
  add_target_option(cmd, o->target, "Where to measure: host (this CPU, in-process) or a phone target over adb (each "
                                    "layer runs as a one-layer model)");
  add_serial_option(cmd, o->serial);
  add_bench_options(cmd, o->warmup, o->runs, "", "runs per layer and for the model");
  cmd->add_option("--out,-o", o->out, "Also write the profile as JSON to this file");
  add_threads_option(cmd, o->threads);
  add_output_options(cmd, *out);
  cmd->callback([o, out] {
    const latency::Profile p = jobs::run_profile(*o);
    if (out->json) {
      print_json(p);
    } else {
      print_profile(p);
    }
  });
}

}  // namespace xcel::cli
