// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/train/evaluate.h"

#include <torch/csrc/jit/runtime/graph_executor.h>

#include <chrono>

#include "xcel/core/error.h"
#include "xcel/core/log.h"
#include "xcel/ir/model.h"
#include "xcel/data/tensors.h"

namespace xcel::train {

Accuracy evaluate(torch::jit::Module& module, const data::TensorSet& set, int batch, bool optimize) {
  return evaluate(module, set, batch, optimize, nullptr);
}

Accuracy evaluate(torch::jit::Module& module_in, const data::TensorSet& set, int batch, bool optimize,
                  const EvalMonitor& monitor) {
  XCEL_CHECK(batch >= 1, ExitCode::kUsage, "--batch must be at least 1 (got {})", batch);
  const bool was_training = module_in.is_training();
  module_in.eval();
  torch::jit::Module module = module_in;
  auto t0 = std::chrono::steady_clock::now();
  if (optimize) module = ir::deploy_for_cpu(module_in);
  spdlog::debug("evaluate: optimize {:.3f} s", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  torch::NoGradGuard no_grad;
  // The optimised module is already frozen and fused; skipping the executor's profiling and re-compilation
  // saves time on a module that is evaluated once (every search episode builds a new one).
  torch::jit::GraphOptimizerEnabledGuard executor_optimize(!optimize);
  const std::int64_t n = set.x.size(0);
  std::int64_t correct1 = 0, correct5 = 0, seen = 0;
  for (std::int64_t i = 0; i < n; i += batch) {
    std::int64_t end = std::min<std::int64_t>(i + batch, n);
    at::Tensor logits;
    try {
      logits = module.forward({set.x.slice(0, i, end)}).toTensor();
    } catch (const std::exception& e) {
      XCEL_FAIL(ExitCode::kInput, "the model fails on {} images of {} ({})", set.name,
                fmt::join(set.image_shape, "x"), ir::short_what(e));
    }
    XCEL_CHECK(logits.dim() == 2 && logits.size(0) == end - i, ExitCode::kInput,
               "the model outputs shape [{}], not [batch, classes] class scores", fmt::join(logits.sizes(), ", "));
    XCEL_CHECK(logits.size(1) >= set.num_classes, ExitCode::kInput,
               "the labels of {} go up to {} but the model scores {} classes: the labels do not fit the model (a "
               "damaged label file, or data of another task)",
               set.name, set.num_classes - 1, logits.size(1));
    at::Tensor y = set.y.slice(0, i, end);
    int64_t k = std::min<int64_t>(5, logits.size(1));
    at::Tensor hit = std::get<1>(logits.topk(k, 1)).eq(y.unsqueeze(1));
    correct1 += hit.select(1, 0).sum().item<std::int64_t>();
    correct5 += hit.any(1).sum().item<std::int64_t>();
    seen = end;
    if (monitor && end < n && !monitor(seen, correct1)) break;
  }
  if (was_training) module_in.train();
  Accuracy acc;
  acc.n = seen;
  if (seen > 0) {
    acc.top1 = static_cast<double>(correct1) / seen;
    acc.top5 = static_cast<double>(correct5) / seen;
  }
  return acc;
}

Accuracy evaluate(torch::jit::Module& module, const data::ImageSet& set, int batch, bool optimize) {
  return evaluate(module, data::to_tensors(set), batch, optimize);
}

}  // namespace xcel::train
