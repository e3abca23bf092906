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
/// every run's time in `samples` when given. The module's training flag is restored afterwards.
Stats bench_host(torch::jit::Module& module, const ir::Shape& input, int warmup, int runs,
                 std::vector<double>* samples = nullptr);

/// The same for a module that is already in its final form (frozen modules have no training flag to set).
Stats bench_forward(torch::jit::Module& module, const ir::Shape& input, int warmup, int runs,
                    std::vector<double>* samples = nullptr);

/// The same for a lite-interpreter file (.ptl, as phones run it), loaded with the mobile runtime.
Stats bench_mobile_file(const std::string& path, const ir::Shape& input, int warmup, int runs,
                        std::vector<double>* samples = nullptr);

/// A one-layer TorchScript module that runs `layer`'s op at its shapes (deterministic weights), in eval mode.
torch::jit::Module single_layer_module(const ir::Layer& layer);

}  // namespace xcel::latency
