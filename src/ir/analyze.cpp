// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// The layer table: every layer op on the data path of the forward graph, named by its owning submodule,
// with shapes from the probe run.
#include <map>

#include "xcel/core/error.h"
#include "xcel/core/fs.h"
#include "xcel/ir/forward_graph.h"
#include "xcel/ir/model.h"

namespace xcel::ir {
namespace {
using torch::jit::Node;
using torch::jit::Value;
namespace aten = c10::aten;

bool makes_tensor(const Node* n) {
  for (const Value* o : n->outputs())
    if (holds_tensor(o->type())) return true;
  return false;
}

Layer make_layer(const ForwardGraph& fg, const Node* n) {
  Layer l;
  l.input_shape = *fg.shape(n->input(0));
  l.output_shape = *fg.shape(n->output());
  // Batch norm without affine parameters has no weight: its running mean names the module instead.
  const Value* weight = n->input(1);
  const bool has_weight = fg.shape(weight) != nullptr;
  if (!has_weight) weight = n->input(3);
  const Shape& w = *fg.shape(weight);
  l.name = owner_path(weight, fg.self);
  if (l.name.empty()) l.name = "%" + n->output()->debugName();
  l.has_bias = fg.shape(n->input(2)) != nullptr;
  l.params = (has_weight ? numel(w) : 0) + (l.has_bias ? numel(*fg.shape(n->input(2))) : 0);
  const std::int64_t out_numel = numel(l.output_shape);
  l.kind = *op_info(n)->layer;
  if (l.kind == LayerKind::kLinear) {
    l.in_channels = w[1];
    l.out_channels = w[0];
    l.flops = out_numel * l.in_channels;
  } else if (l.kind == LayerKind::kBatchNorm) {
    l.in_channels = l.out_channels = l.input_shape.at(1);
    l.flops = 0;  // folded into the preceding convolution at inference
  } else {
    l.stride = const_ints(n->input(3));
    l.padding = const_ints(n->input(4));
    l.dilation = const_ints(n->input(5));
    l.groups = const_int(n->input(conv_groups_arg(n)), 1);
    l.in_channels = l.input_shape.at(1);
    l.out_channels = w[0];
    l.kernel.assign(w.begin() + 2, w.end());
    l.flops = out_numel * (numel(w) / w[0]);  // (in / groups) * prod(kernel) per output element
  }
  return l;
}

}  // namespace

std::vector<Layer> layer_table(const ForwardGraph& fg, std::vector<UnknownOp>* unknown) {
  std::vector<Layer> layers;
  std::map<std::string, int> unknown_counts;
  for (const Node* n : fg.data_nodes) {
    if (!makes_tensor(n)) continue;  // shape queries (aten::size, aten::dim) and checks
    if (!is_known_op(n)) {
      bool transposed = n->kind() == aten::_convolution;
      unknown_counts[transposed ? "aten::_convolution(transposed)" : n->kind().toQualString()]++;
      continue;
    }
    if (is_layer_op(n)) layers.push_back(make_layer(fg, n));
  }
  if (unknown != nullptr)
    for (const auto& [kind, count] : unknown_counts) unknown->push_back({kind, count});
  return layers;
}

ModelSummary analyze(const torch::jit::Module& module, const Shape& input) {
  ForwardGraph fg = build_forward_graph(module, input);
  ModelSummary s;
  s.input_shape = input;
  if (const Shape* out = fg.shape(fg.graph->outputs()[0])) s.output_shape = *out;
  for (const auto& p : module.parameters()) s.params += p.numel();
  s.layers = layer_table(fg, &s.unknown_ops);
  for (const auto& l : s.layers) s.flops += l.flops;
  return s;
}

ModelSummary inspect_file(const std::string& path, const Shape& input) {
  auto module = load_model(path);
  ModelSummary s = analyze(module, input);
  s.path = path;
  s.file_bytes = fs::file_size(path);
  return s;
}

}  // namespace xcel::ir
