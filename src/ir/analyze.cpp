// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// Builds the layer table from the inlined forward graph: every layer op found on the data path, its owning
// submodule (by following prim::GetAttr chains back to `self`), and the shapes seen in one probe run of a
// copy of the graph whose output is replaced by a tuple of every value we want to measure.
#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/inliner.h>

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "xcel/core/error.h"
#include "xcel/core/fs.h"
#include "xcel/ir/model.h"

namespace xcel::ir {
namespace {
using torch::jit::Node;
using torch::jit::Value;
namespace prim = c10::prim;
namespace aten = c10::aten;

// Ops on the data path whose effect on shapes and channels xcel understands. Anything else that produces a
// tensor from the input is reported as unknown.
const std::set<std::string>& known_ops() {
  static const std::set<std::string> ops = {
      // layers
      "aten::conv1d", "aten::conv2d", "aten::conv3d", "aten::_convolution", "aten::linear", "aten::batch_norm",
      // activations and other element-wise ops
      "aten::relu", "aten::relu_", "aten::relu6", "aten::relu6_", "aten::hardtanh", "aten::hardtanh_",
      "aten::sigmoid", "aten::sigmoid_", "aten::tanh", "aten::tanh_", "aten::silu", "aten::silu_",
      "aten::hardswish", "aten::hardswish_", "aten::hardsigmoid", "aten::hardsigmoid_", "aten::gelu",
      "aten::leaky_relu", "aten::leaky_relu_", "aten::elu", "aten::elu_", "aten::mish", "aten::softplus",
      "aten::clamp", "aten::clamp_", "aten::dropout", "aten::dropout_", "aten::feature_dropout",
      "aten::alpha_dropout", "aten::contiguous", "aten::clone", "aten::detach", "aten::add", "aten::add_",
      "aten::sub", "aten::sub_", "aten::mul", "aten::mul_", "aten::div", "aten::div_", "aten::rsub",
      "aten::softmax", "aten::log_softmax",
      // pooling and resampling
      "aten::max_pool1d", "aten::max_pool2d", "aten::avg_pool1d", "aten::avg_pool2d", "aten::adaptive_avg_pool1d",
      "aten::adaptive_avg_pool2d", "aten::adaptive_max_pool2d", "aten::mean", "aten::upsample_nearest2d",
      "aten::upsample_bilinear2d", "aten::constant_pad_nd", "aten::pad",
      // shape and structure
      "aten::flatten", "aten::view", "aten::reshape", "aten::squeeze", "aten::unsqueeze", "aten::cat",
      "aten::t", "aten::transpose", "aten::permute", "aten::chunk", "aten::split", "prim::ListConstruct",
      "prim::ListUnpack", "prim::TupleConstruct", "prim::TupleUnpack", "prim::TupleIndex", "prim::NumToTensor",
      "aten::__getitem__", "prim::Constant",
  };
  return ops;
}

bool holds_tensor(const c10::TypePtr& t) {
  if (t->isSubtypeOf(*c10::TensorType::get())) return true;
  for (const auto& c : t->containedTypes())
    if (holds_tensor(c)) return true;
  return false;
}

// True when the node, or any node in its nested blocks, reads one of `data`.
bool reads_any(const Node* n, const std::unordered_set<const Value*>& data) {
  for (const Value* v : n->inputs())
    if (data.count(v)) return true;
  for (const auto* b : n->blocks())
    for (const Node* inner : b->nodes())
      if (reads_any(inner, data)) return true;
  return false;
}

// "features.0.0" for the weight of self.features[0][0]; empty if not rooted at the graph's `self`.
std::string owner_path(const Value* v, const Value* self) {
  std::vector<std::string> parts;
  while (v->node()->kind() == prim::GetAttr) {
    parts.push_back(v->node()->s(c10::attr::name));
    v = v->node()->input(0);
  }
  if (v != self || parts.empty()) return "";
  std::reverse(parts.begin(), parts.end());
  parts.pop_back();  // the attribute itself ("weight")
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ".") + p;
  return out;
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

bool is_layer(const Node* n) {
  static const std::set<c10::Symbol> kinds = {aten::conv1d,  aten::conv2d, aten::conv3d,
                                              aten::_convolution, aten::linear, aten::batch_norm};
  return kinds.count(n->kind()) > 0;
}

class Probe {
 public:
  // Records the runtime value of `v`; returns its slot in the probe output.
  size_t want(Value* v) {
    auto [it, inserted] = slot_.emplace(v, values_.size());
    if (inserted) values_.push_back(v);
    return it->second;
  }

  std::vector<c10::IValue> run(std::shared_ptr<torch::jit::Graph> g, const torch::jit::Module& m,
                               const at::Tensor& input) {
    auto* tuple = g->createTuple(values_);
    g->appendNode(tuple);
    while (!g->outputs().empty()) g->eraseOutput(0);
    g->registerOutput(tuple->output());
    torch::jit::GraphFunction fn("xcel_probe", g, nullptr);
    torch::jit::Stack stack{m._ivalue(), input};
    fn.run(stack);
    return stack.back().toTupleRef().elements().vec();
  }

  const at::Tensor& tensor(const std::vector<c10::IValue>& out, Value* v) const {
    return out.at(slot_.at(v)).toTensor();
  }

  // True when `v` was recorded and held a tensor at run time (an Optional[Tensor] bias may be None).
  bool has_tensor(const std::vector<c10::IValue>& out, Value* v) const {
    auto it = slot_.find(v);
    return it != slot_.end() && out.at(it->second).isTensor();
  }

 private:
  std::unordered_map<Value*, size_t> slot_;
  std::vector<Value*> values_;
};

std::string node_label(const Node* n) { return n->kind().toQualString(); }

void collect_nodes(torch::jit::Block* b, std::vector<Node*>& out) {
  for (Node* n : b->nodes()) {
    out.push_back(n);
    for (auto* inner : n->blocks()) collect_nodes(inner, out);
  }
}

// Replaces reads of plain module attributes (bool, int, float, str: flags like `use_res_connect`, or
// `training`, False in the eval-mode copy) with constants so that constant propagation removes the
// control flow they steer. Tensor attributes stay as they are.
void freeze_plain_attributes(torch::jit::Graph& g, const torch::jit::Module& m) {
  std::vector<Node*> nodes;
  collect_nodes(g.block(), nodes);
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

}  // namespace

ModelSummary analyze(const torch::jit::Module& module_in, const Shape& input_shape) {
  XCEL_CHECK(module_in.find_method("forward").has_value(), ExitCode::kUnsupported,
             "the model has no forward method; export the nn.Module itself with torch.jit.script or trace");
  // A private copy in eval mode: the probe run must not touch the caller's batch-norm statistics.
  torch::jit::Module module = module_in.deepcopy();
  module.eval();

  auto g = module.get_method("forward").graph()->copy();
  torch::jit::Inline(*g);
  freeze_plain_attributes(*g, module);
  torch::jit::ConstantPropagation(g);
  XCEL_CHECK(g->inputs().size() == 2, ExitCode::kUnsupported,
             "forward takes {} inputs; xcel handles models with one image-batch input", g->inputs().size() - 1);
  const Value* self = g->inputs()[0];
  Value* x = g->inputs()[1];

  std::unordered_set<const Value*> data{x};
  std::map<std::string, int> unknown;
  std::vector<Node*> layer_nodes;
  Probe probe;
  probe.want(x);
  for (Node* n : g->nodes()) {
    if (!reads_any(n, data)) continue;
    bool makes_tensor = false;
    for (Value* o : n->outputs()) {
      data.insert(o);
      if (holds_tensor(o->type())) makes_tensor = true;
      if (o->type()->isSubtypeOf(*c10::TensorType::get())) probe.want(o);
    }
    if (!makes_tensor) continue;  // shape queries (aten::size, aten::dim) and checks
    std::string kind = node_label(n);
    bool transposed = n->kind() == aten::_convolution && torch::jit::toIValue(n->input(6)).value_or(false).toBool();
    if (!known_ops().count(kind) || transposed || !n->blocks().empty()) {
      unknown[transposed ? "aten::_convolution(transposed)" : kind]++;
      continue;
    }
    if (is_layer(n)) {
      layer_nodes.push_back(n);
      for (size_t i = 1; i <= 3 && i < n->inputs().size(); ++i)
        if (holds_tensor(n->input(i)->type())) probe.want(n->input(i));
    }
  }
  Value* graph_out = g->outputs()[0];
  bool out_is_tensor = graph_out->type()->isSubtypeOf(*c10::TensorType::get());
  if (out_is_tensor) probe.want(graph_out);

  std::vector<c10::IValue> values;
  {
    torch::NoGradGuard no_grad;
    at::Tensor input = torch::zeros(input_shape);
    try {
      values = probe.run(g, module, input);
    } catch (const std::exception& e) {
      XCEL_FAIL(ExitCode::kInput, "the model rejects input shape {} ({}); pass --input N,C,H,W as the model expects",
                fmt::join(input_shape, ","), short_what(e));
    }
  }

  ModelSummary s;
  s.input_shape = input_shape;
  if (out_is_tensor) s.output_shape = probe.tensor(values, graph_out).sizes().vec();
  for (const auto& p : module.parameters()) s.params += p.numel();
  for (const auto& [kind, count] : unknown) s.unknown_ops.push_back({kind, count});

  for (Node* n : layer_nodes) {
    Layer l;
    const at::Tensor& in = probe.tensor(values, n->input(0));
    const at::Tensor& out = probe.tensor(values, n->output());
    // Batch norm without affine parameters has no weight: its running mean names the module instead.
    Value* weight = n->input(1);
    if (n->kind() == aten::batch_norm && !probe.has_tensor(values, weight)) weight = n->input(3);
    const at::Tensor& w = probe.tensor(values, weight);
    l.input_shape = in.sizes().vec();
    l.output_shape = out.sizes().vec();
    l.name = owner_path(weight, self);
    if (l.name.empty()) l.name = "%" + n->output()->debugName();
    Value* bias = n->input(2);
    l.has_bias = probe.has_tensor(values, bias);
    l.params = (weight == n->input(1) ? w.numel() : 0) + (l.has_bias ? probe.tensor(values, bias).numel() : 0);
    if (n->kind() == aten::linear) {
      l.kind = LayerKind::kLinear;
      l.in_channels = w.size(1);
      l.out_channels = w.size(0);
      l.flops = out.numel() * l.in_channels;
    } else if (n->kind() == aten::batch_norm) {
      l.kind = LayerKind::kBatchNorm;
      l.in_channels = l.out_channels = in.size(1);
      l.flops = 0;  // folded into the preceding convolution at inference
    } else {
      l.kind = LayerKind::kConv;
      bool full = n->kind() == aten::_convolution;
      l.stride = const_ints(n->input(3));
      l.padding = const_ints(n->input(4));
      l.dilation = const_ints(n->input(5));
      l.groups = const_int(n->input(full ? 8 : 6), 1);
      l.in_channels = in.size(1);
      l.out_channels = w.size(0);
      l.kernel.assign(w.sizes().begin() + 2, w.sizes().end());
      std::int64_t per_output = w.numel() / w.size(0);  // (in / groups) * prod(kernel)
      l.flops = out.numel() * per_output;
    }
    s.flops += l.flops;
    s.layers.push_back(std::move(l));
  }
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
