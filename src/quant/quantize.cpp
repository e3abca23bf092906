// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// Weights on their grid per output channel, activations through fake-quantize ops at each quantized layer's input,
// calibrated clipping ranges, and the float shadows of quantization-aware training.
#include "xcel/quant/quantize.h"

#include <torch/csrc/jit/passes/inliner.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "xcel/core/error.h"
#include "xcel/core/fs.h"
#include "xcel/core/log.h"
#include "xcel/data/tensors.h"
#include "xcel/ir/forward_graph.h"
#include "xcel/ir/model.h"

namespace xcel::quant {
namespace {

const c10::Symbol kFakeQuant = c10::Symbol::fromQualString("aten::fake_quantize_per_tensor_affine");

// Values per calibration batch kept for the percentile (a strided sample of larger activations).
constexpr std::int64_t kPercentileSample = 1 << 20;

// The conv/linear nodes of an inlined graph with the module path of their weight.
std::vector<std::pair<torch::jit::Node*, std::string>> layer_nodes(torch::jit::Graph& g) {
  std::vector<std::pair<torch::jit::Node*, std::string>> out;
  const torch::jit::Value* self = g.inputs()[0];
  for (torch::jit::Node* n : ir::all_nodes(g)) {
    const ir::OpInfo* op = ir::op_info(n);
    if (op == nullptr || !op->layer || *op->layer == ir::LayerKind::kBatchNorm) continue;
    const std::string name = ir::owner_path(n->input(1), self);
    if (!name.empty()) out.emplace_back(n, name);
  }
  return out;
}

std::map<std::string, const LayerQuant*> by_name(const QuantPolicy& p) {
  std::map<std::string, const LayerQuant*> m;
  for (const auto& l : p.layers) m[l.name] = &l;
  return m;
}

}  // namespace

at::Tensor quantize_weight(const at::Tensor& w_in, const Precision& p, bool symmetric) {
  torch::NoGradGuard no_grad;
  const at::Tensor w = w_in.detach();
  if (p.mode == WeightMode::kFloat) return w.clone();
  std::vector<std::int64_t> shape(static_cast<size_t>(w.dim()), 1);  // one value per output channel
  shape[0] = -1;
  const at::Tensor flat = w.reshape({w.size(0), -1});
  const at::Tensor a = w.abs();
  if (p.mode == WeightMode::kBinary) {
    // alpha = mean |w| per channel; every weight becomes +alpha or -alpha.
    const at::Tensor alpha = a.reshape({w.size(0), -1}).mean(1).view(shape);
    return torch::where(w >= 0, alpha, -alpha);
  }
  if (p.mode == WeightMode::kTernary) {
    // Threshold 0.7 mean |w| per channel; alpha = mean |w| of the weights above it; values -alpha, 0, +alpha.
    const at::Tensor delta = 0.7 * a.reshape({w.size(0), -1}).mean(1).view(shape);
    const at::Tensor keep = (a > delta).to(w.scalar_type());
    const at::Tensor kept = keep.reshape({w.size(0), -1}).sum(1).clamp_min(1.0);
    const at::Tensor alpha = ((a * keep).reshape({w.size(0), -1}).sum(1) / kept).view(shape);
    return alpha * torch::sign(w) * keep;
  }
  const int k = p.w_bits;
  if (symmetric) {
    const double qmax = std::pow(2.0, k - 1) - 1;  // 2^k - 1 levels, symmetric about zero
    const at::Tensor scale = (flat.abs().amax(1).clamp_min(1e-12) / qmax).view(shape);
    return torch::clamp(torch::round(w / scale), -qmax, qmax) * scale;
  }
  const double levels = std::pow(2.0, k) - 1;
  const at::Tensor lo = flat.amin(1).clamp_max(0.0).view(shape), hi = flat.amax(1).clamp_min(0.0).view(shape);
  const at::Tensor scale = ((hi - lo) / levels).clamp_min(1e-12);
  const at::Tensor zero = torch::round(-lo / scale);
  return (torch::clamp(torch::round(w / scale) + zero, 0.0, levels) - zero) * scale;
}

QuantPolicy read_policy(const std::string& path, const std::vector<ir::Layer>& layers, const std::string& flag) {
  try {
    return policy_from_json(fs::read_json(path), layers);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    XCEL_FAIL(ExitCode::kInput, "{} '{}' is not a quantization policy ({}); use the policy.json of xcel quantize", flag,
              path, ir::short_what(e));
  }
}

void calibrate(const torch::jit::Module& model, const ir::Shape& input, const data::ImageSet& images,
               QuantPolicy& policy, int batch) {
  std::vector<LayerQuant*> wanted;
  for (auto& l : policy.layers)
    if (l.p.a_bits < 32) wanted.push_back(&l);
  if (wanted.empty()) return;
  XCEL_CHECK(images.size() > 0, ExitCode::kInput, "no calibration images for the activation ranges; give --calib-images N");
  const ir::ForwardGraph fg = ir::build_forward_graph(model, input);
  std::map<std::string, torch::jit::Value*> input_of;
  for (const auto& [n, name] : layer_nodes(*fg.graph)) input_of.emplace(name, n->input(0));
  std::vector<torch::jit::Value*> values;
  for (const LayerQuant* l : wanted) {
    auto it = input_of.find(l->name);
    XCEL_CHECK(it != input_of.end(), ExitCode::kUnsupported,
               "layer '{}' of the quantization policy is not a convolution or linear layer of the model's forward graph",
               l->name);
    values.push_back(it->second);
  }
  const bool minmax = policy.options.act_range == "minmax";
  XCEL_CHECK(minmax || policy.options.act_range == "percentile", ExitCode::kUsage,
             "unknown activation range '{}'; use minmax or percentile", policy.options.act_range);
  const double q = std::clamp(policy.options.percentile / 100.0, 0.5, 1.0);
  std::vector<double> lo(values.size(), 0.0), hi(values.size(), 0.0);
  int batches = 0;
  for (std::int64_t begin = 0; begin < images.size(); begin += batch, ++batches) {
    const at::Tensor x = data::images(images, begin, std::min<std::int64_t>(images.size(), begin + batch));
    const std::vector<at::Tensor> acts = ir::run_probe(fg, x, values);
    for (size_t i = 0; i < acts.size(); ++i) {
      at::Tensor a = acts[i].detach().reshape({-1}).to(torch::kFloat32);
      if (minmax) {
        lo[i] = std::min(lo[i], a.min().item<double>());
        hi[i] = std::max(hi[i], a.max().item<double>());
        continue;
      }
      if (a.numel() > kPercentileSample) a = a.slice(0, 0, a.numel(), (a.numel() + kPercentileSample - 1) / kPercentileSample);
      const at::Tensor qs = torch::quantile(a, torch::tensor({1.0 - q, q}, torch::kFloat32));
      lo[i] += std::min(0.0, qs[0].item<double>());
      hi[i] += std::max(0.0, qs[1].item<double>());
    }
  }
  for (size_t i = 0; i < wanted.size(); ++i) {
    wanted[i]->a_lo = minmax ? lo[i] : lo[i] / batches;
    wanted[i]->a_hi = minmax ? hi[i] : hi[i] / batches;
    if (wanted[i]->a_hi <= wanted[i]->a_lo) wanted[i]->a_hi = wanted[i]->a_lo + 1e-6;  // a dead input (all zero)
  }
}

bool has_fake_quant(const torch::jit::Module& model) {
  auto g = model.get_method("forward").graph()->copy();
  torch::jit::Inline(*g);
  for (torch::jit::Node* n : ir::all_nodes(*g))
    if (n->kind() == kFakeQuant) return true;
  return false;
}

torch::jit::Module with_activation_quant(const torch::jit::Module& model, const QuantPolicy& policy) {
  const bool in_graph = has_fake_quant(model);
  torch::jit::Module out = model.clone();  // new class types, copied tensors
  if (in_graph) return out;
  const auto layers = by_name(policy);
  auto graph = out.get_method("forward").graph();
  torch::jit::Inline(*graph);
  for (const auto& [n, name] : layer_nodes(*graph)) {
    auto it = layers.find(name);
    if (it == layers.end() || it->second->p.a_bits >= 32) continue;
    const LayerQuant& l = *it->second;
    XCEL_ASSERT(l.a_hi > l.a_lo, "layer '{}': activation range not calibrated", name);
    const std::int64_t qmax = (std::int64_t{1} << l.p.a_bits) - 1;
    const double lo = std::min(0.0, l.a_lo), hi = std::max(0.0, l.a_hi);
    const double scale = std::max((hi - lo) / static_cast<double>(qmax), 1e-8);
    const std::int64_t zero = std::clamp<std::int64_t>(std::llround(-lo / scale), 0, qmax);
    torch::jit::WithInsertPoint guard(n);
    torch::jit::Value* fq = graph->insert(kFakeQuant, {n->input(0), scale, zero, std::int64_t{0}, qmax});
    n->replaceInput(0, fq);
  }
  return out;
}

torch::jit::Module quantize(const torch::jit::Module& model, const QuantPolicy& policy) {
  torch::jit::Module out = with_activation_quant(model, policy);
  torch::NoGradGuard no_grad;
  for (const auto& l : policy.layers) {
    if (l.p.mode == WeightMode::kFloat) continue;
    at::Tensor w = ir::submodule(out, l.name).attr("weight").toTensor();
    w.copy_(quantize_weight(w, l.p, policy.options.symmetric));
  }
  return out;
}

std::int64_t stored_weight_bits(const torch::jit::Module& model, const std::vector<ir::Layer>& layers) {
  torch::NoGradGuard no_grad;
  std::int64_t bits = 0;
  for (const auto& l : quantizable_layers(layers)) {
    const at::Tensor w = ir::submodule(model, l.name).attr("weight").toTensor().detach();
    const at::Tensor rows = std::get<0>(w.reshape({w.size(0), -1}).sort(1));
    const at::Tensor distinct = rows.diff(1, 1).ne(0).sum(1) + 1;  // per output channel
    const at::Tensor need = torch::where(distinct > 256, torch::full_like(distinct, 32),
                                         torch::ceil(torch::log2(distinct.clamp_min(2).to(torch::kDouble))).to(torch::kLong));
    bits += need.sum().item<std::int64_t>() * rows.size(1);
  }
  return bits;
}

WeightProjector::WeightProjector(torch::jit::Module& model, const QuantPolicy& policy)
    : symmetric_(policy.options.symmetric) {
  for (const auto& l : policy.layers)
    if (l.p.mode != WeightMode::kFloat)
      entries_.push_back({ir::submodule(model, l.name).attr("weight").toTensor(), l.p, {}});
}

void WeightProjector::to_grid() {
  if (on_grid_) return;
  torch::NoGradGuard no_grad;
  for (auto& e : entries_) {
    e.shadow = e.weight.detach().clone();
    e.weight.copy_(quantize_weight(e.shadow, e.p, symmetric_));
  }
  on_grid_ = true;
}

void WeightProjector::to_shadow() {
  if (!on_grid_) return;
  torch::NoGradGuard no_grad;
  for (auto& e : entries_) e.weight.copy_(e.shadow);
  on_grid_ = false;
}

}  // namespace xcel::quant
