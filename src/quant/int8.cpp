// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// The real int8 model of an 8-bit policy: the float model frozen (batch norm folded into the convolutions), each
// conv2d / linear with constant weights replaced by quantize_per_tensor -> quantized::conv2d | quantized::linear
// (per-channel int8 weights, prepacked for the engine) -> dequantize, with input and output ranges calibrated on
// training images; then dequantize is moved past ops that run on quantized tensors (relu, max pooling, flatten,
// ...) and a quantize that follows a dequantize is dropped, so quantized tensors flow from layer to layer. A mixed
// model quantizes only the layers it is told to; the others stay float between a dequantize and a quantize.
#include <ATen/Context.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/torch.h>

#include <algorithm>
#include <set>

#include "xcel/core/error.h"
#include "xcel/core/log.h"
#include "xcel/data/tensors.h"
#include "xcel/ir/forward_graph.h"
#include "xcel/quant/quantize.h"

namespace xcel::quant {
namespace {

using torch::jit::Node;
using torch::jit::Value;

c10::Symbol sym(const char* s) { return c10::Symbol::fromQualString(s); }

// Ops that take a quantized tensor and give one with the same quantization (or their own), as stock kernels do.
const std::set<std::string> kQuantizedPassThrough = {"aten::relu", "aten::relu_", "aten::max_pool2d", "aten::flatten",
                                                     "aten::adaptive_avg_pool2d", "aten::reshape", "aten::view",
                                                     "aten::contiguous"};

struct Layer {
  Node* node;
  bool linear;
};

// Additions of two tensors (residual connections) with alpha 1: they run as quantized::add when both sides arrive
// quantized.
bool is_tensor_add(Node* n) {
  const std::string kind = n->kind().toQualString();
  if ((kind != "aten::add" && kind != "aten::add_") || n->inputs().size() != 3) return false;
  const auto alpha = torch::jit::toIValue(n->input(2));
  return n->input(0)->type()->cast<c10::TensorType>() && n->input(1)->type()->cast<c10::TensorType>() && alpha &&
         alpha->isInt() && alpha->toInt() == 1;
}

// Scale and zero point of quint8 covering [lo, hi] (widened to hold 0).
std::pair<double, std::int64_t> qparams(double lo, double hi) {
  lo = std::min(lo, 0.0);
  hi = std::max(hi, 0.0);
  const double scale = std::max((hi - lo) / 255.0, 1e-8);
  return {scale, std::clamp<std::int64_t>(std::llround(-lo / scale), 0, 255)};
}

c10::IValue call_op(const char* name, torch::jit::Stack stack) {
  auto op = c10::Dispatcher::singleton().findSchemaOrThrow(name, "");
  op.callBoxed(&stack);
  return stack.at(0);
}

// dequantize -> op(..) becomes op(..) -> dequantize for ops that run on quantized tensors; quantize(dequantize(q))
// becomes q. Returns the quantize/dequantize pairs removed.
int fuse_quantized_runs(torch::jit::Graph& g) {
  bool changed = true;
  while (changed) {
    changed = false;
    for (Node* d : ir::all_nodes(g)) {
      if (d->kind() != sym("aten::dequantize") || d->output()->uses().size() != 1) continue;
      Node* u = d->output()->uses()[0].user;
      if (!kQuantizedPassThrough.count(u->kind().toQualString()) || u->input(0) != d->output() || u->outputs().size() != 1)
        continue;
      u->replaceInput(0, d->input(0));
      torch::jit::WithInsertPoint guard(u->next());
      Value* nd = g.insert(sym("aten::dequantize"), {u->output()});
      u->output()->replaceAllUsesWith(nd);
      nd->node()->replaceInput(0, u->output());
      d->destroy();
      changed = true;
      break;
    }
  }
  int removed = 0;
  for (Node* q : ir::all_nodes(g)) {
    if (q->kind() != sym("aten::quantize_per_tensor")) continue;
    Node* d = q->input(0)->node();
    if (d->kind() != sym("aten::dequantize")) continue;
    q->output()->replaceAllUsesWith(d->input(0));
    ++removed;
  }
  torch::jit::EliminateDeadCode(g.block());
  return removed;
}

}  // namespace

Int8Model export_int8(const torch::jit::Module& model, const data::ImageSet& calib, const std::string& engine,
                      int batch, const std::vector<ir::Layer>& policy_layers, const std::vector<bool>& int8) {
  XCEL_CHECK(engine == "qnnpack" || engine == "onednn", ExitCode::kUsage, "unknown int8 engine '{}'", engine);
  at::globalContext().setQEngine(engine == "qnnpack" ? at::QEngine::QNNPACK : at::QEngine::ONEDNN);
  torch::jit::Module frozen = torch::jit::freeze(model.clone());  // batch norm folded into the convolutions
  auto graph = frozen.get_method("forward").graph();
  std::vector<Layer> layers;
  for (Node* n : ir::all_nodes(*graph)) {
    const std::string kind = n->kind().toQualString();
    const bool conv = kind == "aten::conv2d" || (kind == "aten::_convolution" && !torch::jit::constant_as<bool>(n->input(6)).value_or(true));
    if ((conv || kind == "aten::linear") && torch::jit::toIValue(n->input(1)).has_value() && n->owningBlock() == graph->block())
      layers.push_back({n, !conv});
  }
  XCEL_CHECK(!layers.empty(), ExitCode::kUnsupported, "no 2-D convolution or linear layer with fixed weights to run in int8");
  int kept_float = 0;
  if (!int8.empty()) {
    // A mixed model: the frozen graph's layers pair up, in order, with the policy's (same output channels).
    const std::vector<ir::Layer> q = quantizable_layers(policy_layers);
    XCEL_CHECK(q.size() == layers.size() && int8.size() == q.size(), ExitCode::kUnsupported,
               "the frozen model's {} convolution/linear layers and the policy's {} do not pair up: a mixed "
               "int8/float model needs each layer once in the forward pass", layers.size(), q.size());
    std::vector<Layer> chosen;
    for (size_t i = 0; i < layers.size(); ++i) {
      const auto w = torch::jit::toIValue(layers[i].node->input(1))->toTensor();
      XCEL_CHECK(w.size(0) == q[i].out_channels, ExitCode::kUnsupported,
                 "layer {} of the frozen model has {} outputs, the policy's '{}' {}: the layers do not pair up", i,
                 w.size(0), q[i].name, q[i].out_channels);
      if (int8[i]) chosen.push_back(layers[i]);
    }
    kept_float = static_cast<int>(layers.size() - chosen.size());
    layers = std::move(chosen);
    XCEL_CHECK(!layers.empty(), ExitCode::kUsage, "no layer of the policy is at 8/8: nothing runs in int8");
  }
  std::vector<Node*> adds;
  for (Node* n : graph->block()->nodes())
    if (is_tensor_add(n)) adds.push_back(n);
  // Input and output ranges of every layer on the calibration images.
  ir::ForwardGraph fg;
  fg.module = frozen;
  fg.graph = graph;
  std::vector<Value*> values;
  for (const auto& l : layers) values.insert(values.end(), {l.node->input(0), l.node->output()});
  for (Node* a : adds) values.push_back(a->output());
  std::vector<double> lo(values.size(), 0.0), hi(values.size(), 0.0);
  for (std::int64_t b = 0; b < calib.size(); b += batch) {
    const auto acts = ir::run_probe(fg, data::images(calib, b, std::min<std::int64_t>(calib.size(), b + batch)), values);
    for (size_t i = 0; i < acts.size(); ++i) {
      lo[i] = std::min(lo[i], acts[i].min().item<double>());
      hi[i] = std::max(hi[i], acts[i].max().item<double>());
    }
  }
  const auto qint = static_cast<std::int64_t>(at::kQUInt8);
  for (size_t i = 0; i < layers.size(); ++i) {
    Node* n = layers[i].node;
    const at::Tensor w = torch::jit::toIValue(n->input(1))->toTensor();
    const c10::IValue bias = torch::jit::toIValue(n->input(2)).value_or(c10::IValue());
    const at::Tensor wmax = w.abs().reshape({w.size(0), -1}).amax(1).clamp_min(1e-12).to(torch::kDouble);
    const at::Tensor wq = at::quantize_per_channel(w, wmax / 127.0, torch::zeros({w.size(0)}, torch::kLong), 0, at::kQInt8);
    c10::IValue packed;
    if (layers[i].linear) {
      packed = call_op("quantized::linear_prepack", {wq, bias});
    } else {
      const bool traced = n->kind() == sym("aten::_convolution");
      const auto arg = [&](size_t k) { return *torch::jit::toIValue(n->input(k)); };
      packed = call_op("quantized::conv2d_prepack", {wq, bias, arg(3), arg(4), arg(5), arg(traced ? 8 : 6)});
    }
    const auto [s_in, z_in] = qparams(lo[2 * i], hi[2 * i]);
    const auto [s_out, z_out] = qparams(lo[2 * i + 1], hi[2 * i + 1]);
    torch::jit::WithInsertPoint guard(n);
    Value* p = graph->insertConstant(packed);
    Value* xq = graph->insert(sym("aten::quantize_per_tensor"), {n->input(0), s_in, z_in, qint});
    Value* y = graph->insert(sym(layers[i].linear ? "quantized::linear" : "quantized::conv2d"), {xq, p, s_out, z_out});
    Value* yf = graph->insert(sym("aten::dequantize"), {y});
    n->output()->replaceAllUsesWith(yf);
    n->destroy();
  }
  Int8Model out;
  out.requantizations_removed = fuse_quantized_runs(*graph);
  // Additions whose two sides now arrive quantized add in int8 (the output range calibrated like a layer's).
  const size_t first_add = 2 * layers.size();
  for (size_t i = 0; i < adds.size(); ++i) {
    Node* a = adds[i];
    Node* da = a->input(0)->node();
    Node* db = a->input(1)->node();
    if (da->kind() != sym("aten::dequantize") || db->kind() != sym("aten::dequantize")) continue;
    const auto [s_out, z_out] = qparams(lo[first_add + i], hi[first_add + i]);
    torch::jit::WithInsertPoint guard(a);
    Value* y = graph->insert(sym("quantized::add"), {da->input(0), db->input(0), s_out, z_out});
    Value* yf = graph->insert(sym("aten::dequantize"), {y});
    a->output()->replaceAllUsesWith(yf);
    a->destroy();
    ++out.int8_adds;
  }
  if (out.int8_adds > 0) out.requantizations_removed += fuse_quantized_runs(*graph);
  out.module = frozen;
  out.layers = static_cast<int>(layers.size());
  out.float_layers = kept_float;
  out.engine = engine;
  return out;
}

}  // namespace xcel::quant
