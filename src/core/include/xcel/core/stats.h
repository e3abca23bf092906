// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
#include <vector>

#include <nlohmann/json.hpp>

namespace xcel {

/// Summary of repeated measurements (e.g. latency in ms).
struct Stats {
  double median = 0, mean = 0, std = 0, min = 0, max = 0, p10 = 0, p90 = 0;
  int n = 0;
};

/// Percentiles by linear interpolation between order statistics. Empty input gives n = 0.
Stats summarize(std::vector<double> samples);

/// A single value standing for a distribution (an estimate: n = 0; one reported figure: n = 1).
Stats point_stats(double value, int n);

/// Half-width of the ~95% interval of the median of `samples` (a boxplot's notch: 1.58 x IQR / sqrt(n));
/// infinite below two samples.
double median_interval(std::vector<double> samples);

void to_json(nlohmann::json& j, const Stats& s);
/// Reads what to_json writes; only `median` is required (missing spread fields default to the median, n to 0).
void from_json(const nlohmann::json& j, Stats& s);

}  // namespace xcel
