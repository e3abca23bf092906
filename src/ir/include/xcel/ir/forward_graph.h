// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// The forward graph of a TorchScript module as xcel's analyses see it: inlined, with plain module
/// attributes (flags such as `use_res_connect`, `training` = False) folded into constants, and annotated
/// with the shape of every tensor on the data path from one probe run at an example input.
#include <torch/script.h>

#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "xcel/ir/ops.h"
#include "xcel/ir/summary.h"

namespace xcel::ir {

struct ForwardGraph {
  torch::jit::Module module;                  // eval-mode deep copy that the probe ran on
  std::shared_ptr<torch::jit::Graph> graph;   // inlined copy of forward
  torch::jit::Value* self = nullptr;
  torch::jit::Value* input = nullptr;
  std::vector<torch::jit::Node*> data_nodes;  // top-level nodes that read the input (directly or not)
  std::unordered_set<const torch::jit::Value*> data;          // values computed from the input
  std::unordered_map<const torch::jit::Value*, Shape> shapes;  // tensors seen by the probe (absent: None)

  const Shape* shape(const torch::jit::Value* v) const {
    auto it = shapes.find(v);
    return it == shapes.end() ? nullptr : &it->second;
  }
};

/// Builds the graph and runs the probe. With copy = true the probe runs on an eval-mode deep copy; with
/// copy = false it shares `module` (which must be in eval mode), so later probes read its current weights.
/// Errors: kUnsupported (no forward, several inputs), kInput (the model rejects `input`).
ForwardGraph build_forward_graph(const torch::jit::Module& module, const Shape& input, bool copy = true);

/// Values of `values` (tensors of fg.graph) when the model runs on `input`, without gradients.
std::vector<at::Tensor> run_probe(const ForwardGraph& fg, const at::Tensor& input,
                                  const std::vector<torch::jit::Value*>& values);

/// "features.0.0" for a value read as self.features[0][0].weight; empty if not rooted at `self`.
std::string owner_path(const torch::jit::Value* v, const torch::jit::Value* self);

/// Last attribute name of a prim::GetAttr value ("weight"), empty otherwise.
std::string attr_name(const torch::jit::Value* v);

/// The registry entry of a node (ops.h), or nullptr when xcel does not understand it (unknown kinds, nodes with
/// blocks, transposed convolutions).
const OpInfo* op_info(const torch::jit::Node* n);
/// Ops whose effect on shapes and channels xcel understands.
bool is_known_op(const torch::jit::Node* n);
/// Rows of the layer table: convolutions, linear and batch norm.
bool is_layer_op(const torch::jit::Node* n);
/// Index of the `groups` argument of a convolution node (conv2d: 6, _convolution: 8).
size_t conv_groups_arg(const torch::jit::Node* n);

bool is_tensor_type(const torch::jit::Value* v);
/// A tensor, or a list/tuple/optional that can hold one.
bool holds_tensor(const c10::TypePtr& t);

/// Every node of `g`, nested blocks included, in order.
std::vector<torch::jit::Node*> all_nodes(torch::jit::Graph& g);

/// Layer table of a built graph, in execution order; ops xcel does not understand go to `unknown`.
std::vector<Layer> layer_table(const ForwardGraph& fg, std::vector<UnknownOp>* unknown);

/// Integer constant (or list) of a node input; empty/fallback when it is not a constant.
Shape const_ints(const torch::jit::Value* v);
std::int64_t const_int(const torch::jit::Value* v, std::int64_t fallback);

}  // namespace xcel::ir
