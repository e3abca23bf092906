// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// The probe runs a copy of the inlined graph whose output is temporarily a tuple of every tensor on the data
// path (and the weights of layer ops), so one forward pass yields all shapes.
#include "xcel/ir/forward_graph.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/inliner.h>

#include <algorithm>

#include "xcel/core/error.h"
#include "xcel/ir/model.h"

namespace xcel::ir {
namespace {
using torch::jit::Node;
using torch::jit::Value;
namespace prim = c10::prim;
namespace aten = c10::aten;

bool reads_any(const Node* n, const std::unordered_set<const Value*>& data) {
  for (const Value* v : n->inputs())
    if (data.count(v)) return true;
  for (const auto* b : n->blocks())
    for (const Node* inner : b->nodes())
      if (reads_any(inner, data)) return true;
  return false;
}

void collect_nodes(torch::jit::Block* b, std::vector<Node*>& out) {
  for (Node* n : b->nodes()) {
    out.push_back(n);
    for (auto* inner : n->blocks()) collect_nodes(inner, out);
  }
}

// Replaces reads of plain module attributes (bool, int, float, str) with constants so that constant
// propagation removes the control flow they steer. Tensor attributes stay as they are.
void freeze_plain_attributes(torch::jit::Graph& g, const torch::jit::Module& m) {
  std::vector<Node*> nodes = all_nodes(g);
  const Value* self = g.inputs()[0];
  for (Node* n : nodes) {
    if (n->kind() != prim::GetAttr) continue;
    auto kind = n->output()->type()->kind();
    if (kind != c10::TypeKind::BoolType && kind != c10::TypeKind::IntType && kind != c10::TypeKind::FloatType &&
        kind != c10::TypeKind::StringType)
      continue;
    std::vector<std::string> path;
    const Value* v = n->output();
    while (v->node()->kind() == prim::GetAttr) {
      path.push_back(v->node()->s(c10::attr::name));
      v = v->node()->input(0);
    }
    if (v != self) continue;
    c10::IValue obj = m._ivalue();
    for (auto it = path.rbegin(); it != path.rend(); ++it) obj = obj.toObjectRef().getAttr(*it);
    torch::jit::WithInsertPoint guard(n);
    n->output()->replaceAllUsesWith(g.insertConstant(obj));
  }
}

// Runs `values` through the graph once and returns their runtime values; the graph is restored after.
std::vector<c10::IValue> probe(torch::jit::Graph& g, const torch::jit::Module& m, const at::Tensor& input,
                               const std::vector<Value*>& values) {
  Value* original_out = g.outputs()[0];
  Node* tuple = g.createTuple(values);
  g.appendNode(tuple);
  g.eraseOutput(0);
  g.registerOutput(tuple->output());
  std::vector<c10::IValue> out;
  std::exception_ptr failure;
  try {
    auto copy = g.copy();
    torch::jit::GraphFunction fn("xcel_probe", copy, nullptr);
    torch::jit::Stack stack{m._ivalue(), input};
    fn.run(stack);
    out = stack.back().toTupleRef().elements().vec();
  } catch (...) {
    failure = std::current_exception();
  }
  g.eraseOutput(0);
  g.registerOutput(original_out);
  tuple->destroy();
  if (failure) std::rethrow_exception(failure);
  return out;
}

}  // namespace

std::vector<Node*> all_nodes(torch::jit::Graph& g) {
  std::vector<Node*> out;
  collect_nodes(g.block(), out);
  return out;
}

bool holds_tensor(const c10::TypePtr& t) {
  if (t->isSubtypeOf(*c10::TensorType::get())) return true;
  for (const auto& c : t->containedTypes())
    if (holds_tensor(c)) return true;
  return false;
}

bool is_tensor_type(const Value* v) { return v->type()->isSubtypeOf(*c10::TensorType::get()); }

const OpInfo* op_info(const Node* n) {
  if (!n->blocks().empty()) return nullptr;
  if (n->kind() == aten::_convolution && torch::jit::toIValue(n->input(6)).value_or(false).toBool())
    return nullptr;  // transposed convolution
  return find_op(n->kind().toQualString());
}

bool is_known_op(const Node* n) { return op_info(n) != nullptr; }

bool is_layer_op(const Node* n) {
  const OpInfo* op = op_info(n);
  return op != nullptr && op->layer.has_value();
}

size_t conv_groups_arg(const Node* n) {
  const OpInfo* op = op_info(n);
  XCEL_ASSERT(op != nullptr && op->groups_arg, "{} is not a convolution", n->kind().toQualString());
  return *op->groups_arg;
}

std::string owner_path(const Value* v, const Value* self) {
  std::vector<std::string> parts;
  while (v->node()->kind() == prim::GetAttr) {
    parts.push_back(v->node()->s(c10::attr::name));
    v = v->node()->input(0);
  }
  if (v != self || parts.empty()) return "";
  std::reverse(parts.begin(), parts.end());
  parts.pop_back();
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ".") + p;
  return out;
}

std::string attr_name(const Value* v) {
  return v->node()->kind() == prim::GetAttr ? v->node()->s(c10::attr::name) : "";
}

Shape const_ints(const Value* v) {
  auto iv = torch::jit::toIValue(v);
  if (!iv || !iv->isIntList()) return {};
  return iv->toIntVector();
}

std::int64_t const_int(const Value* v, std::int64_t fallback) {
  auto iv = torch::jit::toIValue(v);
  return iv && iv->isInt() ? iv->toInt() : fallback;
}

std::vector<at::Tensor> run_probe(const ForwardGraph& fg, const at::Tensor& input,
                                  const std::vector<Value*>& values) {
  torch::NoGradGuard no_grad;
  auto out = probe(*fg.graph, fg.module, input, values);
  std::vector<at::Tensor> tensors;
  for (auto& v : out) tensors.push_back(v.toTensor());
  return tensors;
}

ForwardGraph build_forward_graph(const torch::jit::Module& module_in, const Shape& input_shape, bool copy) {
  XCEL_CHECK(module_in.find_method("forward").has_value(), ExitCode::kUnsupported,
             "the model has no forward method; export the nn.Module itself with torch.jit.script or trace");
  ForwardGraph fg;
  // A private copy in eval mode: the probe must not touch the caller's batch-norm statistics.
  if (copy) {
    fg.module = module_in.deepcopy();
    fg.module.eval();
  } else {
    fg.module = module_in;
  }
  fg.graph = fg.module.get_method("forward").graph()->copy();
  torch::jit::Graph& g = *fg.graph;
  torch::jit::Inline(g);
  freeze_plain_attributes(g, fg.module);
  torch::jit::ConstantPropagation(fg.graph);
  XCEL_CHECK(g.inputs().size() == 2, ExitCode::kUnsupported,
             "forward takes {} inputs; xcel handles models with one image-batch input", g.inputs().size() - 1);
  fg.self = g.inputs()[0];
  fg.input = g.inputs()[1];
  fg.data.insert(fg.input);

  std::vector<Value*> wanted{fg.input};
  std::unordered_set<const Value*> seen{fg.input};
  auto want = [&](Value* v) {
    if (holds_tensor(v->type()) && seen.insert(v).second) wanted.push_back(v);
  };
  for (Node* n : g.nodes()) {
    if (!reads_any(n, fg.data)) continue;
    fg.data_nodes.push_back(n);
    for (Value* o : n->outputs()) {
      fg.data.insert(o);
      if (is_tensor_type(o)) want(o);
    }
    const OpInfo* op = op_info(n);
    if (op != nullptr && (op->layer || !op->params.empty()))  // weights and per-channel parameters
      for (size_t i = 1; i <= 4 && i < n->inputs().size(); ++i) want(n->input(i));
  }
  if (is_tensor_type(g.outputs()[0])) want(g.outputs()[0]);

  std::vector<c10::IValue> values;
  try {
    torch::NoGradGuard no_grad;
    values = probe(g, fg.module, torch::zeros(input_shape), wanted);
  } catch (const std::exception& e) {
    XCEL_FAIL(ExitCode::kInput, "the model rejects input shape {} ({}); pass --input N,C,H,W as the model expects",
              fmt::join(input_shape, ","), short_what(e));
  }
  for (size_t i = 0; i < wanted.size(); ++i)
    if (values[i].isTensor()) fg.shapes[wanted[i]] = values[i].toTensor().sizes().vec();
  return fg;
}

}  // namespace xcel::ir
