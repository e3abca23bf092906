// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// The result of an evaluation (no LibTorch here).
#include <cstdint>

namespace xcel::train {

struct Accuracy {
  double top1 = 0, top5 = 0;  // fractions in [0, 1]
  std::int64_t n = 0;         // images evaluated
};

}  // namespace xcel::train
