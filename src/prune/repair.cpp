// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/prune/repair.h"

#include "xcel/core/error.h"
#include "xcel/core/log.h"
#include "xcel/prune/engine.h"
#include "xcel/data/tensors.h"

namespace xcel::prune {
namespace {

struct BatchNormRef {
  torch::jit::Module module;
  double momentum = 0.1;  // < 0: cumulative average (momentum=None)
  at::Tensor mean_sum, var_sum;
};

double read_momentum(const torch::jit::Module& m) {
  c10::IValue v;
  if (m.hasattr("momentum")) {
    v = m.attr("momentum");
  } else if (m.type()->hasConstant("momentum")) {
    v = m.type()->getConstant("momentum");
  } else {
    return 0.1;
  }
  return v.isNone() ? -1.0 : v.toDouble();
}

}  // namespace

int recalibrate_batch_norm(torch::jit::Module& module, const data::ImageSet& calib, int batches, int batch_size) {
  XCEL_CHECK(batches >= 1 && batch_size >= 1, ExitCode::kUsage, "--bn-recal needs batches >= 1 (got {})", batches);
  std::vector<BatchNormRef> bns;
  for (const auto& item : module.named_modules()) {
    const auto& m = item.value;
    if (m.hasattr("running_mean") && m.hasattr("running_var") && m.attr("running_mean").isTensor())
      bns.push_back({m, read_momentum(m), {}, {}});
  }
  if (bns.empty()) return 0;
  torch::NoGradGuard no_grad;
  int used = 0;
  for (int b = 0; b < batches; ++b) {
    std::int64_t begin = static_cast<std::int64_t>(b) * batch_size;
    if (begin >= calib.size()) break;
    std::int64_t end = std::min<std::int64_t>(begin + batch_size, calib.size());
    for (auto& bn : bns) {
      bn.module.attr("running_mean").toTensor().zero_();
      bn.module.attr("running_var").toTensor().fill_(1.0);
      if (bn.module.hasattr("num_batches_tracked")) bn.module.attr("num_batches_tracked").toTensor().zero_();
    }
    module.train();
    module.forward({data::images(calib, begin, end)});
    module.eval();
    // One step from (0, 1) with momentum m leaves m*mean and (1-m) + m*var.
    for (auto& bn : bns) {
      const double m = bn.momentum < 0 ? 1.0 : bn.momentum;
      at::Tensor mean = bn.module.attr("running_mean").toTensor() / m;
      at::Tensor var = (bn.module.attr("running_var").toTensor() - (1.0 - m)) / m;
      bn.mean_sum = bn.mean_sum.defined() ? bn.mean_sum + mean : mean;
      bn.var_sum = bn.var_sum.defined() ? bn.var_sum + var : var;
    }
    ++used;
  }
  int changed = 0;
  for (auto& bn : bns) {
    at::Tensor mean = bn.mean_sum / used, var = bn.var_sum / used;
    bool moved = mean.abs().sum().item<double>() > 0 || (var - 1).abs().sum().item<double>() > 0;
    bn.module.attr("running_mean").toTensor().copy_(mean);
    bn.module.attr("running_var").toTensor().copy_(var.clamp_min(0));
    changed += moved ? 1 : 0;
  }
  if (changed < static_cast<int>(bns.size()))
    spdlog::warn("{} of {} batch norms kept their statistics in train mode (traced in eval mode?)",
                 bns.size() - changed, bns.size());
  return changed;
}

std::vector<LayerSparsity> magnitude_prune(torch::jit::Module& module, const std::vector<std::string>& layers,
                                           const std::map<std::string, double>& ratio, double uniform) {
  torch::NoGradGuard no_grad;
  std::vector<LayerSparsity> out;
  for (const auto& name : layers) {
    auto it = ratio.find(name);
    double keep = it == ratio.end() ? uniform : it->second;
    XCEL_CHECK(keep > 0.0 && keep <= 1.0, ExitCode::kInput, "preserve ratio {} for layer '{}' is outside (0, 1]",
               keep, name);
    at::Tensor w = get_tensor(module, name, "weight");
    const std::int64_t n = w.numel();
    const std::int64_t drop = n - std::max<std::int64_t>(1, std::llround(keep * static_cast<double>(n)));
    if (drop > 0) {
      at::Tensor order = w.detach().abs().flatten().argsort();
      w.detach().view(-1).index_fill_(0, order.slice(0, 0, drop), 0.0);
    }
    out.push_back({name, n, w.eq(0).sum().item<std::int64_t>()});
  }
  for (const auto& [name, r] : ratio)
    XCEL_CHECK(std::find(layers.begin(), layers.end(), name) != layers.end(), ExitCode::kInput,
               "policy names unknown layer '{}'", name);
  return out;
}

}  // namespace xcel::prune
