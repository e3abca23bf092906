// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/device/roofline.h"

#include <algorithm>

namespace xcel::device {

RooflineTime roofline_time(const TargetProfile& t, const ir::ModelSummary& s, int threads) {
  const int cores = std::max(1, std::min(threads, t.roofline.cores));
  const double peak = t.roofline.gflops_per_core * 1e9 * cores, bw = t.roofline.memory_gbs * 1e9;
  double seconds = 0;
  for (const auto& l : s.layers) {
    const double compute = 2.0 * static_cast<double>(l.flops) / peak;
    const double bytes = 4.0 * static_cast<double>(ir::numel(l.input_shape) + ir::numel(l.output_shape) + l.params);
    seconds += std::max(compute, bytes / bw);
  }
  return {1e3 * seconds, cores};
}

}  // namespace xcel::device
