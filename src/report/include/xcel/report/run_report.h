// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// The HTML report of a run directory, rebuilt from the run's own files (config.json, summary.json,
/// episodes.jsonl, policy.json, profile.json, finetune/): one self-contained page with inline SVG charts that
/// opens offline from a file. No LibTorch here.
///   xcel::report::write_run_report("runs/vgg-025");   // -> runs/vgg-025/report.html
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace xcel::report {

/// The page for one run. Throws Error(kInput) when `dir` holds no xcel run (no summary.json).
std::string render_run_report(const std::string& dir);

/// Writes DIR/report.html atomically and returns its path.
std::string write_run_report(const std::string& dir);

/// One page comparing two runs side by side (header tables, search curves, accuracy-FLOPs, policies).
std::string render_comparison(const std::string& dir_a, const std::string& dir_b);

/// One run of a sweep as the sweep page shows it.
struct SweepEntry {
  std::string name, dir, state, detail, model, agent, budget, target;
  int seed = 0;
  nlohmann::json summary;  // a finished run's summary.json (null for the others)
};
/// One page for a sweep: every run's state and results in a table (linked to the run's own report where it has
/// one), and per model its finished runs' test top-1 against FLOPs and against host latency in deploy form, agents
/// side by side, plus the mean test top-1 per budget and agent.
std::string render_sweep(const std::string& title, const std::vector<SweepEntry>& entries);

}  // namespace xcel::report
