// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// In-process timing on this machine, the measurement behind the oracle's local backend (use the oracle;
/// these are for it and for xcel-bench): warm-up runs, then `runs` timed forward passes, each timed on its
/// own; the spread is part of the result, not averaged away.
#include <torch/script.h>

#include "xcel/core/stats.h"
#include "xcel/ir/summary.h"

namespace xcel::latency {

/// Milliseconds per forward pass at `input` (eval mode, no gradients), with the current thread settings;
/// every run's time in `samples` when given.
Stats bench_host(torch::jit::Module& module, const ir::Shape& input, int warmup, int runs,
                 std::vector<double>* samples = nullptr);

/// One layer on its own (the ATen op it runs, random weights of its shape) at its input shape.
Stats time_layer(const ir::Layer& layer, int warmup, int runs);

/// A one-layer TorchScript module that runs `layer`'s op at its shapes (deterministic weights).
torch::jit::Module single_layer_module(const ir::Layer& layer);

}  // namespace xcel::latency
