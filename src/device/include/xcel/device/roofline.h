// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Roofline time of a model on a target from the profile's published figures: per layer the larger of
/// compute time (2 x MACs / peak of min(threads, cores) cores) and memory time (activations + weights /
/// bandwidth). An estimate, never a measurement. No LibTorch here.
#include "xcel/device/target.h"
#include "xcel/ir/summary.h"

namespace xcel::device {

struct RooflineTime {
  double ms = 0;
  int cores = 1;  // cores the estimate assumes
};

RooflineTime roofline_time(const TargetProfile& target, const ir::ModelSummary& summary, int threads);

}  // namespace xcel::device
