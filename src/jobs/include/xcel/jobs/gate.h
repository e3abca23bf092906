// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// The regression gate of `xcel eval`: bounds on accuracy, accuracy drop against a baseline, FLOPs ratio and
/// latency, each checked and reported with its margin; JUnit XML for CI systems. No LibTorch here.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace xcel::jobs {

struct EvalReport;

struct GateBounds {
  std::optional<double> min_top1;         // fraction in (0, 1]
  std::optional<double> max_drop;         // percentage points of top-1 below the baseline
  std::optional<double> max_flops_ratio;  // model FLOPs / baseline FLOPs
  std::optional<double> max_latency_ms;   // median batch-1 latency
  std::optional<double> max_size_ratio;   // conv/linear weight bits as stored / the baseline's
  bool any() const { return min_top1 || max_drop || max_flops_ratio || max_latency_ms || max_size_ratio; }
  bool needs_baseline() const { return max_drop || max_flops_ratio || max_size_ratio; }
};

struct GateCheck {
  std::string name;  // min_top1 | max_drop | max_flops_ratio | max_latency_ms | max_size_ratio
  bool passed = false;
  double value = 0, bound = 0;
  std::string message;  // e.g. "top-1 89.12% is below the minimum 90.00% by 0.88 points"
};

/// Checks every bound that is set. `baseline` is required when a bound needs it (Error kUsage otherwise);
/// max_latency_ms needs a measured latency in `model` (Error kUsage otherwise).
std::vector<GateCheck> check_gates(const GateBounds& bounds, const EvalReport& model, const EvalReport* baseline);

bool all_passed(const std::vector<GateCheck>& checks);

/// JUnit XML: one test suite named after the model, one test case per bound, failures with their message.
std::string junit_xml(const std::vector<GateCheck>& checks, const EvalReport& model, const EvalReport* baseline);

void to_json(nlohmann::json& j, const GateCheck& c);

}  // namespace xcel::jobs
