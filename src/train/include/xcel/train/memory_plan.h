// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Fine-tuning within a memory budget (xcel finetune --max-memory-mb M). The peak resident memory of a training step
/// is predicted from the layer table and two probe steps measured on this machine:
///   peak = resident before training + 1.1 x (fixed + 8 bytes x trained parameters (gradient and momentum)
///          + micro-batch x per-image activation bytes x share of the saved activations from the first trained layer on)
/// (1.1: what an epoch holds beyond a bare step, measured here). Tensors above 256 KB are given their own mappings
/// from the plan on (mallopt), so freed activations leave the resident set and the peak follows what a step holds.
/// The probes (one training step of the whole model at micro-batches b and 2b) give the per-image slope and the fixed
/// part; the share of activations comes from the layers' output sizes. A plan fits when its prediction plus 5% of
/// its training share is within the budget. The plan trains the most that fits: the fewest
/// frozen layers first, then the largest micro-batch, with gradient accumulation keeping the requested effective
/// batch. No LibTorch in this header.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xcel/ir/summary.h"

namespace torch::jit {
struct Module;
}

namespace xcel::train {

struct MemoryPlan {
  int freeze_first = 0;      // conv/linear layers not trained, in execution order
  int batch = 0;             // micro-batch
  int accumulate = 1;        // micro-batches per optimizer step (batch x accumulate = the requested batch)
  double predicted_mb = 0;   // predicted peak resident memory of the process while training
  double baseline_mb = 0;    // resident memory before training (model, data, libraries)
  double budget_mb = 0;
  nlohmann::json calibration;  // the probes: micro-batches, measured step peaks, the fitted slope and fixed part
  nlohmann::json candidates;   // every plan considered with its prediction
};

/// The plan for `model` (layer table `summary`, input images of `image` = C x H x W) under `budget_mb`, for a
/// requested `batch` (micro-batches halve down to 8, or to 1 for a batch under 8). Error(kBudget) naming the
/// smallest predicted peak when nothing fits. Measures two training steps of the model on random data (the model's
/// weights, batch-norm statistics, gradient flags and mode are left as they were).
MemoryPlan plan_memory(torch::jit::Module& model, const ir::ModelSummary& summary, const std::vector<std::int64_t>& image,
                       std::int64_t classes, int batch, double budget_mb);

/// Fixes glibc's allocator for a budgeted run: tensors up to 32 MB come from the heap and freed memory stays there
/// for the next step (glibc's moving mmap threshold would otherwise switch tensors between mappings and the heap
/// mid-run, and the resident peak would grow with what ran before; mapping every large tensor instead makes each
/// step fault its pages in again, which doubled the time per epoch here). Called before anything big is loaded when
/// a budget is given; plan_memory calls it too.
void steady_heap();

/// Resident memory now, and the peak since the last reset_peak_rss (Linux /proc; MB).
double resident_mb();
double peak_rss_mb_since_reset();
/// Starts a new peak at the current resident memory (returns false where the kernel cannot).
bool reset_peak_rss();

}  // namespace xcel::train
