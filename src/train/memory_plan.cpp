// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/train/memory_plan.h"

#include <malloc.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "xcel/core/error.h"
#include "xcel/core/log.h"
#include "xcel/train/finetune.h"

namespace xcel::train {
namespace {

// What a training epoch holds beyond a bare step (its batch buffers, the validation at its end), as a factor on the
// step's memory: measured on this machine, where a bare step's prediction fell 4-10% short of the epoch's peak.
constexpr double kLoopOverhead = 1.10;
// A plan fits when its prediction plus this share of its training memory (above what the process holds before
// training) is within the budget. With large tensors served from the heap (steady_heap), steps in a row leave holes
// a single probed step does not: measured here, the peak came 19% (micro-batch 128) and 31% (16) of the training's
// share above the prediction on the bundled VGG searched at 0.25 of the FLOPs; with 0.35 a run at half the training's
// share once peaked 0.4% over its budget.
constexpr double kMargin = 0.5;

double status_mb(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) {
      std::istringstream s(line.substr(key.size() + 1));
      double kb = 0;
      s >> kb;
      return kb / 1024.0;
    }
  return 0;
}

double elements(const ir::Shape& s) {
  double n = 1;
  for (auto d : s) n *= static_cast<double>(d);
  return n;
}

// Per micro-batch image, the activation elements autograd keeps when the first `freeze` conv/linear layers are
// frozen (layers from the first trained one on), as a share of those of the whole model.
double activation_share(const ir::ModelSummary& summary, int freeze) {
  const auto weighted = weighted_layers(summary.layers);
  const std::string first = freeze < static_cast<int>(weighted.size()) ? weighted[static_cast<size_t>(freeze)] : "";
  double all = 0, kept = 0;
  bool on = false;
  for (const auto& l : summary.layers) {
    const double n = elements(l.input_shape) + elements(l.output_shape);
    all += n;
    on = on || l.name == first;
    if (on) kept += n;
  }
  return all > 0 ? kept / all : 1.0;
}

std::int64_t trained_params(const ir::ModelSummary& summary, int freeze) {
  const auto weighted = weighted_layers(summary.layers);
  std::set<std::string> frozen(weighted.begin(), weighted.begin() + std::min<long>(freeze, static_cast<long>(weighted.size())));
  std::int64_t p = 0;
  std::set<std::string> seen;
  for (const auto& l : summary.layers)
    if (seen.insert(l.name).second && !frozen.count(l.name)) p += l.params;
  return p;
}

// The peak resident memory above the current one of one training step of the whole model at micro-batch `batch`:
// forward, loss, backward, a momentum buffer per parameter (what SGD keeps). Gradients are dropped after.
double probe_step_mb(torch::jit::Module& model, const std::vector<std::int64_t>& image, std::int64_t classes, int batch) {
  std::vector<std::int64_t> shape = {batch};
  shape.insert(shape.end(), image.begin(), image.end());
  malloc_trim(0);
  const double before = resident_mb();
  reset_peak_rss();
  {
    const at::Tensor x = torch::rand(shape);
    const at::Tensor y = torch::randint(0, classes, {batch}, torch::kInt64);
    model.train();
    at::Tensor loss = torch::nn::functional::cross_entropy(model.forward({x}).toTensor(), y);
    loss.backward();
    std::vector<at::Tensor> momentum;
    for (const auto& p : model.parameters())
      if (p.grad().defined()) momentum.push_back(p.grad().clone());
  }
  const double peak = peak_rss_mb_since_reset();
  for (auto p : model.parameters())
    if (p.grad().defined()) p.mutable_grad() = at::Tensor();
  model.eval();
  malloc_trim(0);
  return std::max(0.0, peak - before);
}

}  // namespace

void steady_heap() {
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
}

double resident_mb() { return status_mb("VmRSS"); }
double peak_rss_mb_since_reset() { return status_mb("VmHWM"); }

bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

MemoryPlan plan_memory(torch::jit::Module& model, const ir::ModelSummary& summary, const std::vector<std::int64_t>& image,
                       std::int64_t classes, int batch, double budget_mb) {
  XCEL_CHECK(budget_mb > 0, ExitCode::kUsage, "--max-memory-mb must be positive (got {})", budget_mb);
  XCEL_CHECK(reset_peak_rss(), ExitCode::kUnsupported,
             "--max-memory-mb needs to measure peak memory through /proc/self/clear_refs, which this system refuses");
  steady_heap();
  MemoryPlan plan;
  plan.budget_mb = budget_mb;
  // Two probes of the whole model, at micro-batches b and 2b: slope per image and the fixed part.
  const int b2 = std::max(2, std::min(batch, 64)), b1 = b2 / 2;
  std::vector<std::pair<at::Tensor, bool>> saved;
  for (auto p : model.parameters()) saved.emplace_back(p, p.requires_grad()), p.requires_grad_(true);
  // The probes run in training mode on random images: batch-norm running statistics would follow them. They are
  // put back after, so the model trains (and is judged before training) as it was given.
  std::vector<std::pair<at::Tensor, at::Tensor>> buffers;
  for (auto b : model.buffers()) buffers.emplace_back(b, b.clone());
  probe_step_mb(model, image, classes, b1);  // the first step allocates what every later one reuses
  const double m1 = probe_step_mb(model, image, classes, b1), m2 = probe_step_mb(model, image, classes, b2);
  for (auto& [p, rg] : saved) p.requires_grad_(rg);
  {
    torch::NoGradGuard no_grad;
    for (auto& [b, copy] : buffers) b.copy_(copy);
  }
  const double per_image = std::max(0.0, (m2 - m1) / (b2 - b1));
  const double params_mb = 8.0 * static_cast<double>(trained_params(summary, 0)) / (1024.0 * 1024.0);
  const double fixed = std::max(0.0, m1 - per_image * b1 - params_mb);
  plan.baseline_mb = resident_mb();
  plan.calibration = {{"batches", {b1, b2}}, {"step_mb", {m1, m2}}, {"per_image_mb", per_image},
                      {"fixed_mb", fixed}, {"baseline_mb", plan.baseline_mb}};
  auto predict = [&](int freeze, int micro) {
    return plan.baseline_mb +
           kLoopOverhead * (fixed + 8.0 * static_cast<double>(trained_params(summary, freeze)) / (1024.0 * 1024.0) +
                            micro * per_image * activation_share(summary, freeze));
  };
  std::vector<int> micros;
  for (int m = batch; m >= std::min(batch, 8); m = (m + 1) / 2) {
    micros.push_back(m);
    if (m == 1 || m / 2 < std::min(batch, 8)) break;
  }
  const int layers = static_cast<int>(weighted_layers(summary.layers).size());
  plan.candidates = nlohmann::json::array();
  double smallest = 1e300;
  bool found = false;
  for (int freeze = 0; freeze < layers && !found; ++freeze)
    for (int micro : micros) {
      const double p = predict(freeze, micro);
      smallest = std::min(smallest, p);
      plan.candidates.push_back({{"freeze_first", freeze}, {"batch", micro}, {"predicted_mb", p}});
      if (p + kMargin * (p - plan.baseline_mb) <= budget_mb) {
        plan.freeze_first = freeze;
        plan.batch = micro;
        plan.accumulate = (batch + micro - 1) / micro;
        plan.predicted_mb = p;
        found = true;
        break;
      }
    }
  if (!found)
    for (int freeze = 0; freeze < layers; ++freeze) smallest = std::min(smallest, predict(freeze, micros.back()));
  XCEL_CHECK(found, ExitCode::kBudget,
             "--max-memory-mb {:.0f} cannot be met: even training only the last layer at micro-batch {} is predicted to "
             "peak at {:.0f} MB ({:.0f} MB of it before training starts: model, data, libraries); allow at least {:.0f}",
             budget_mb, micros.back(), smallest, plan.baseline_mb, std::ceil(smallest));
  spdlog::info("memory plan: freeze the first {} layers, micro-batch {} x {} accumulated, predicted peak {:.0f} MB "
               "(budget {:.0f} MB, {:.0f} MB before training)", plan.freeze_first, plan.batch, plan.accumulate,
               plan.predicted_mb, budget_mb, plan.baseline_mb);
  return plan;
}

}  // namespace xcel::train
