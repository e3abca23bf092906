// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Host CPU latency of a TorchScript module: warm-up runs, then `runs` timed forward passes of a zero
/// input, each timed on its own; the spread is part of the result, not averaged away.
#include <torch/script.h>

#include "xcel/core/stats.h"
#include "xcel/ir/summary.h"

namespace xcel::latency {

/// Milliseconds per forward pass at `input` (eval mode, no gradients), with the current thread settings.
Stats bench_host(torch::jit::Module& module, const ir::Shape& input, int warmup, int runs);

}  // namespace xcel::latency
