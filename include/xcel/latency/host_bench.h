// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Host CPU latency of a TorchScript module: warm-up runs, then `runs` timed forward passes of a zero
/// input, each timed on its own; the spread is part of the result, not averaged away.
#include <torch/script.h>

#include "xcel/core/stats.h"
#include "xcel/ir/summary.h"
#include "xcel/latency/profile.h"

namespace xcel::latency {

/// Milliseconds per forward pass at `input` (eval mode, no gradients), with the current thread settings;
/// every run's time in `samples` when given.
Stats bench_host(torch::jit::Module& module, const ir::Shape& input, int warmup, int runs,
                 std::vector<double>* samples = nullptr);

/// One layer on its own (the ATen op it runs, random weights of its shape) at its input shape.
Stats time_layer(const ir::Layer& layer, int warmup, int runs);

/// Whole model and every conv / linear / batch-norm layer of `summary` (the layer table of `module` at batch
/// 1), on the host with the current thread settings.
Profile profile_host(torch::jit::Module& module, const ir::ModelSummary& summary, int warmup, int runs);

/// A one-layer TorchScript module that runs `layer`'s op at its shapes (deterministic weights).
torch::jit::Module single_layer_module(const ir::Layer& layer);

class Oracle;
/// Whole model and every layer (as single-layer modules written to `work_dir`) measured by `oracle`, e.g. on a
/// phone over adb.
Profile profile_with_oracle(Oracle& oracle, const std::string& model_path, const ir::ModelSummary& summary,
                            const std::string& work_dir);

}  // namespace xcel::latency
