// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/jobs/gate.h"

#include <spdlog/fmt/fmt.h>

#include "xcel/core/error.h"
#include "xcel/jobs/eval_job.h"
#include "xcel/report/table.h"

namespace xcel::jobs {
namespace {

GateCheck make(const char* name, double value, double bound, bool passed, std::string message) {
  return {name, passed, value, bound, std::move(message)};
}

}  // namespace

std::vector<GateCheck> check_gates(const GateBounds& b, const EvalReport& m, const EvalReport* base) {
  XCEL_CHECK(!b.needs_baseline() || base != nullptr, ExitCode::kUsage,
             "--max-drop, --max-flops-ratio and --max-size-ratio compare against a baseline: pass --baseline ORIGINAL.pt");
  std::vector<GateCheck> out;
  const double top1 = 100.0 * m.accuracy.top1;
  if (b.min_top1) {
    const double bound = 100.0 * *b.min_top1;
    const bool ok = top1 >= bound;
    out.push_back(make("min_top1", m.accuracy.top1, *b.min_top1, ok,
                       ok ? fmt::format("top-1 {:.2f}% is at least {:.2f}%", top1, bound)
                          : fmt::format("top-1 {:.2f}% is below the minimum {:.2f}% by {:.2f} points", top1, bound,
                                        bound - top1)));
  }
  if (b.max_drop) {
    const double base_top1 = 100.0 * base->accuracy.top1, drop = base_top1 - top1;
    const bool ok = drop <= *b.max_drop;
    out.push_back(make("max_drop", drop, *b.max_drop, ok,
                       fmt::format("top-1 {:.2f}% is {:.2f} points {} the baseline's {:.2f}%; {} {:.2f}{}", top1,
                                   std::abs(drop), drop >= 0 ? "below" : "above", base_top1,
                                   ok ? "allowed drop" : "allowed drop only", *b.max_drop,
                                   ok ? "" : fmt::format(" (over by {:.2f} points)", drop - *b.max_drop))));
  }
  if (b.max_flops_ratio) {
    const double ratio = static_cast<double>(m.summary.flops) / static_cast<double>(base->summary.flops);
    const bool ok = ratio <= *b.max_flops_ratio;
    out.push_back(make("max_flops_ratio", ratio, *b.max_flops_ratio, ok,
                       fmt::format("FLOPs {} are {:.4f} of the baseline's {}; {} {:.4f}", m.summary.flops, ratio,
                                   base->summary.flops, ok ? "within" : "over the maximum", *b.max_flops_ratio)));
  }
  if (b.max_size_ratio) {
    const double ratio = static_cast<double>(m.weight_bits) / static_cast<double>(std::max<std::int64_t>(1, base->weight_bits));
    const bool ok = ratio <= *b.max_size_ratio;
    out.push_back(make("max_size_ratio", ratio, *b.max_size_ratio, ok,
                       fmt::format("weights take {} bits as stored, {:.4f} of the baseline's {}; {} {:.4f}",
                                   m.weight_bits, ratio, base->weight_bits, ok ? "within" : "over the maximum",
                                   *b.max_size_ratio)));
  }
  if (b.max_latency_ms) {
    XCEL_CHECK(m.latency_ms.n > 0, ExitCode::kUsage, "--max-latency-ms needs a latency measurement; drop --bench-runs 0");
    const double ms = m.latency_ms.median;
    const bool ok = ms <= *b.max_latency_ms;
    out.push_back(make("max_latency_ms", ms, *b.max_latency_ms, ok,
                       fmt::format("median latency {:.3f} ms ({}, batch 1, {} threads, {} runs) is {} {:.3f} ms{}", ms,
                                   m.latency_device, m.threads, m.latency_ms.n, ok ? "within" : "over the maximum", *b.max_latency_ms,
                                   ok ? "" : fmt::format(" by {:.3f} ms", ms - *b.max_latency_ms))));
  }
  return out;
}

bool all_passed(const std::vector<GateCheck>& checks) {
  for (const auto& c : checks)
    if (!c.passed) return false;
  return true;
}

std::string junit_xml(const std::vector<GateCheck>& checks, const EvalReport& m, const EvalReport* base) {
  int failures = 0;
  for (const auto& c : checks) failures += c.passed ? 0 : 1;
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x += fmt::format("<testsuites name=\"xcel eval\" tests=\"{}\" failures=\"{}\" time=\"{:.3f}\">\n", checks.size(),
                   failures, m.seconds);
  x += fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" time=\"{:.3f}\">\n",
                   report::escape_markup("xcel.eval." + m.model), checks.size(), failures, m.seconds);
  x += "    <properties>\n";
  auto prop = [&](const std::string& k, const std::string& v) {
    x += fmt::format("      <property name=\"{}\" value=\"{}\"/>\n", report::escape_markup(k), report::escape_markup(v));
  };
  prop("model", m.model);
  prop("data", m.data + "/" + m.split);
  prop("images", std::to_string(m.accuracy.n));
  prop("top1", fmt::format("{:.4f}", m.accuracy.top1));
  prop("flops", std::to_string(m.summary.flops));
  if (m.latency_ms.n > 0) prop("latency_ms_median", fmt::format("{:.3f}", m.latency_ms.median));
  if (base) {
    prop("baseline", base->model);
    prop("baseline_top1", fmt::format("{:.4f}", base->accuracy.top1));
    prop("baseline_flops", std::to_string(base->summary.flops));
  }
  x += "    </properties>\n";
  for (const auto& c : checks) {
    x += fmt::format("    <testcase classname=\"xcel.gate\" name=\"{}\" time=\"0\">\n", report::escape_markup(c.name));
    if (!c.passed)
      x += fmt::format("      <failure type=\"regression\" message=\"{}\">value {} bound {}</failure>\n",
                       report::escape_markup(c.message), c.value, c.bound);
    x += fmt::format("      <system-out>{}</system-out>\n", report::escape_markup(c.message));
    x += "    </testcase>\n";
  }
  x += "  </testsuite>\n</testsuites>\n";
  return x;
}

void to_json(nlohmann::json& j, const GateCheck& c) {
  j = {{"name", c.name}, {"passed", c.passed}, {"value", c.value}, {"bound", c.bound}, {"message", c.message}};
}

}  // namespace xcel::jobs
