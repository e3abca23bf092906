// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/core/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace xcel {
namespace {
double percentile(const std::vector<double>& sorted, double q) {
  double pos = q * (sorted.size() - 1);
  auto lo = static_cast<size_t>(std::floor(pos));
  auto hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}
}  // namespace

double median_interval(std::vector<double> samples) {
  if (samples.size() < 2) return std::numeric_limits<double>::infinity();
  std::sort(samples.begin(), samples.end());
  return 1.58 * (percentile(samples, 0.75) - percentile(samples, 0.25)) / std::sqrt(static_cast<double>(samples.size()));
}

Stats summarize(std::vector<double> samples) {
  Stats s;
  s.n = static_cast<int>(samples.size());
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  s.min = samples.front();
  s.max = samples.back();
  s.median = percentile(samples, 0.5);
  s.p10 = percentile(samples, 0.1);
  s.p90 = percentile(samples, 0.9);
  s.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / s.n;
  double ss = 0;
  for (double v : samples) ss += (v - s.mean) * (v - s.mean);
  s.std = s.n > 1 ? std::sqrt(ss / (s.n - 1)) : 0.0;
  return s;
}

void to_json(nlohmann::json& j, const Stats& s) {
  j = {{"median", s.median}, {"mean", s.mean}, {"std", s.std}, {"min", s.min},
       {"max", s.max},       {"p10", s.p10},   {"p90", s.p90}, {"n", s.n}};
}

Stats point_stats(double value, int n) {
  Stats s;
  s.median = s.mean = s.min = s.max = s.p10 = s.p90 = value;
  s.n = n;
  return s;
}

void from_json(const nlohmann::json& j, Stats& s) {
  s.median = j.at("median");
  s.mean = j.value("mean", s.median);
  s.std = j.value("std", 0.0);
  s.min = j.value("min", s.median);
  s.max = j.value("max", s.median);
  s.p10 = j.value("p10", s.median);
  s.p90 = j.value("p90", s.median);
  s.n = j.value("n", 0);
}

}  // namespace xcel
