// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// Builds the DependencyGraph by walking the probed forward graph once, in execution order.
#include <map>
#include <numeric>
#include <unordered_set>

#include "xcel/core/error.h"
#include "xcel/core/log.h"
#include "xcel/ir/forward_graph.h"
#include "xcel/prune/engine.h"

namespace xcel::prune {
namespace {
using torch::jit::Node;
using torch::jit::Value;
namespace aten = c10::aten;
namespace prim = c10::prim;

struct Space {
  std::int64_t size = 0;
  std::string producer;  // module whose output channels these are ("" for blocked placeholders)
  std::string blocked;   // reason, empty when prunable so far
  std::int64_t unit = 1; // channels go in aligned blocks of this many (the groups of a grouped convolution)
};

class Builder {
 public:
  explicit Builder(const ir::ForwardGraph& fg) : fg_(fg) {}

  DependencyGraph build();

 private:
  int new_space(std::int64_t size, const std::string& producer, const std::string& blocked) {
    spaces_.push_back({size, producer, blocked, 1});
    parent_.push_back(static_cast<int>(parent_.size()));
    return parent_.back();
  }
  int find(int s) {
    while (parent_[s] != s) s = parent_[s] = parent_[parent_[s]];
    return s;
  }
  void unite(int a, int b, const std::string& why) {
    a = find(a);
    b = find(b);
    if (a == b) return;
    if (spaces_[a].size != spaces_[b].size) {
      block_space(a, why + " joins different widths");
      block_space(b, why + " joins different widths");
      return;
    }
    parent_[b] = a;
    if (spaces_[a].blocked.empty()) spaces_[a].blocked = spaces_[b].blocked;
    spaces_[a].unit = std::lcm(spaces_[a].unit, spaces_[b].unit);
  }
  void block_space(int s, const std::string& why) {
    s = find(s);
    if (spaces_[s].blocked.empty()) spaces_[s].blocked = why;
  }
  void block(const ChannelMap& m, const std::string& why) {
    for (const auto& seg : m.segments) block_space(seg.space, why);
  }
  ChannelMap whole(int space) { return ChannelMap{{Segment{space, 0, spaces_[space].size}}, 1}; }
  ChannelMap fresh_blocked(const Value* v, const std::string& why) {
    const ir::Shape* s = fg_.shape(v);
    std::int64_t c = s != nullptr && s->size() >= 2 ? (*s)[1] : 1;
    return whole(new_space(c, "", why));
  }
  // Makes two maps index the same channels (residual add): same layout, spaces merged pairwise.
  void unify(const ChannelMap& a, const ChannelMap& b, const std::string& why) {
    bool same = a.segments.size() == b.segments.size() && a.factor == b.factor;
    for (size_t i = 0; same && i < a.segments.size(); ++i)
      same = a.segments[i].length == b.segments[i].length && a.segments[i].offset == b.segments[i].offset;
    if (!same) {
      block(a, why + " joins tensors with different channel layouts");
      block(b, why + " joins tensors with different channel layouts");
      return;
    }
    for (size_t i = 0; i < a.segments.size(); ++i) unite(a.segments[i].space, b.segments[i].space, why);
  }
  bool has_map(const Value* v) const { return maps_.count(v) > 0; }
  // A list or tuple that holds tensors computed from the input: built from them (prim::ListConstruct), returned
  // by an op (aten::chunk, aten::split) or mutated with them (aten::append). What is taken out of it is derived.
  bool carries(const Value* v) const {
    if (derived_.count(v) > 0) return true;
    const auto k = v->node()->kind();
    if (k == prim::ListConstruct || k == prim::TupleConstruct)
      for (const Value* item : v->node()->inputs())
        if (has_map(item) || carries(item)) return true;
    return false;
  }
  // Whether a list is changed after it is built (aten::append, aten::insert, ...): its ListConstruct inputs are then
  // not what a reader of it sees.
  static bool mutated(const Value* list) {
    for (const auto& use : list->uses()) {
      const auto k = use.user->kind();
      if (k != aten::cat && k != aten::stack && k != aten::len && k != aten::__getitem__ && k != prim::ListUnpack)
        return true;
    }
    return false;
  }
  // Blocks every channel space a value reaches: its own map, or the tensors of a list or tuple built from them.
  void block_value(const Value* v, const std::string& why) {
    if (has_map(v)) block(map_of(v), why);
    const auto k = v->node()->kind();
    if (k == prim::ListConstruct || k == prim::TupleConstruct)
      for (const Value* item : v->node()->inputs()) block_value(item, why);
  }
  const ChannelMap& map_of(const Value* v) { return maps_.at(v); }
  void add_param(const std::string& module, const std::string& name, bool buffer, int dim, const ChannelMap& m,
                 bool producer = false) {
    dg_.params.push_back({module, name, buffer, dim, m, producer});
  }
  std::string op_name(const Node* n) const { return n->kind().toQualString(); }
  int rank(const Value* v) const {
    const ir::Shape* s = fg_.shape(v);
    return s == nullptr ? -1 : static_cast<int>(s->size());
  }

  // What every conv/linear visit reads: input value and map, weight shape, output size, owning module.
  struct Operands {
    const Value* x;
    ChannelMap in;
    ir::Shape w;
    std::int64_t out_numel;
    std::string module;
  };
  Operands operands(const Node* n);

  void visit(const Node* n);
  void visit_conv(const Node* n);
  void visit_linear(const Node* n);
  void visit_per_channel(const Node* n, const ir::OpInfo& op);
  void visit_cat(const Node* n);
  void visit_flatten(const Node* n);
  void visit_binary(const Node* n);
  void visit_opaque(const Node* n, const std::string& why);
  void finish();

  const ir::ForwardGraph& fg_;
  std::vector<Space> spaces_;
  std::vector<int> parent_;
  std::unordered_map<const Value*, ChannelMap> maps_;
  std::unordered_set<const Value*> derived_;  // lists and tuples holding derived tensors (carries)
  DependencyGraph dg_;
};

Builder::Operands Builder::operands(const Node* n) {
  return {n->input(0), map_of(n->input(0)), *fg_.shape(n->input(1)), ir::numel(*fg_.shape(n->output())),
          ir::owner_path(n->input(1), fg_.self)};
}

void Builder::visit_conv(const Node* n) {
  const auto [x, in, w, out_numel, module] = operands(n);
  const std::int64_t groups = ir::const_int(n->input(ir::conv_groups_arg(n)), -1);
  const std::int64_t cin = (*fg_.shape(x))[1];
  std::int64_t kernel = 1;
  for (size_t i = 2; i < w.size(); ++i) kernel *= w[i];
  LayerCost cost{module, ir::LayerKind::kConv, in, {}, out_numel / w[0], kernel, false, false, out_numel * kernel * w[1]};
  const bool has_bias = fg_.shape(n->input(2)) != nullptr;
  if (module.empty() || ir::attr_name(n->input(1)) != "weight") {
    block(in, "convolution whose weight is not a module parameter");
    maps_[n->output()] = fresh_blocked(n->output(), "output of a convolution with a computed weight");
    cost.fixed = true;
  } else if (groups == 1) {
    add_param(module, "weight", false, 1, in);
    int s = new_space(w[0], module, "");
    ChannelMap out = whole(s);
    add_param(module, "weight", false, 0, out, true);
    if (has_bias) add_param(module, "bias", false, 0, out);
    maps_[n->output()] = out;
    cost.out = out;
  } else if (groups > 1 && w[0] == cin && cin % groups == 0 &&
             (cin == groups || (in.factor == 1 && in.segments.size() == 1))) {
    // Depthwise, or grouped with as many output as input channels per group (ResNeXt, RegNet): output channel j
    // belongs to the group of input channel j, so removing whole groups removes the same channels on both sides.
    // With more than one channel per group the input must be one whole space, whose channels then go in aligned
    // blocks of one group.
    const std::int64_t per_group = cin / groups;
    if (per_group > 1) {
      const int root = find(in.segments[0].space);
      spaces_[root].unit = std::lcm(spaces_[root].unit, per_group);
    }
    add_param(module, "weight", false, 0, in);
    if (has_bias) add_param(module, "bias", false, 0, in);
    dg_.depthwise.push_back({module, in, per_group});
    maps_[n->output()] = in;
    cost.out = in;
    cost.depthwise = true;
    cost.kernel = kernel * per_group;
  } else {
    block(in, "input of grouped convolution " + module +
                  (groups > 1 && w[0] != cin ? " whose groups have more output than input channels" :
                                               " whose input joins several channel groups"));
    maps_[n->output()] = fresh_blocked(n->output(), "output of grouped convolution " + module);
    cost.fixed = true;
  }
  dg_.layers.push_back(cost);
}

void Builder::visit_linear(const Node* n) {
  const auto [x, in, w, out_numel, module] = operands(n);
  LayerCost cost{module, ir::LayerKind::kLinear, in, {}, out_numel / w[0], 1, false, false, out_numel * w[1]};
  if (module.empty() || rank(x) != 2 || in.channels() * in.factor != w[1]) {
    block(in, "input of linear layer " + module + " that xcel cannot index");
    maps_[n->output()] = fresh_blocked(n->output(), "output of linear layer " + module);
    cost.fixed = true;
  } else {
    add_param(module, "weight", false, 1, in);
    ChannelMap out = whole(new_space(w[0], module, ""));
    add_param(module, "weight", false, 0, out, true);
    if (fg_.shape(n->input(2)) != nullptr) add_param(module, "bias", false, 0, out);
    maps_[n->output()] = out;
    cost.out = out;
  }
  dg_.layers.push_back(cost);
}

// Batch norm, instance norm, PReLU: channels pass through; each per-channel tensor that is a module attribute is
// cut with them (a single shared value is broadcast and stays).
void Builder::visit_per_channel(const Node* n, const ir::OpInfo& op) {
  const ChannelMap in = map_of(n->input(0));
  std::string module;
  for (const ir::ChannelParam& p : op.params) {
    if (p.input >= n->inputs().size()) continue;
    const Value* v = n->input(p.input);
    const ir::Shape* shape = fg_.shape(v);
    if (shape == nullptr) continue;  // None
    const std::string owner = ir::owner_path(v, fg_.self);
    if (owner.empty()) {
      block(in, op_name(n) + " with computed parameters");
      break;
    }
    if (module.empty()) module = owner;
    if (!shape->empty() && (*shape)[0] == 1 && in.channels() * in.factor > 1) continue;  // shared (broadcast)
    add_param(owner, ir::attr_name(v), p.buffer, 0, in);
  }
  maps_[n->output()] = in;
  if (op.layer == ir::LayerKind::kBatchNorm)
    dg_.layers.push_back({module, ir::LayerKind::kBatchNorm, in, in, 0, 1, false, true, 0});
}

void Builder::visit_cat(const Node* n) {
  const Node* list = n->input(0)->node();
  const std::int64_t r = rank(n->output());
  std::int64_t dim = ir::const_int(n->input(1), -99);
  if (dim < 0) dim += r;
  if (list->kind() != prim::ListConstruct) return visit_opaque(n, "cat of a computed list");
  if (mutated(n->input(0))) return visit_opaque(n, "cat of a list changed in place (append)");
  for (const Value* v : list->inputs())
    if (!has_map(v)) return visit_opaque(n, "cat with a tensor not computed from the input");
  if (dim != 1) {
    for (size_t i = 1; i < list->inputs().size(); ++i)
      unify(map_of(list->inputs()[0]), map_of(list->inputs()[i]), "cat along dim " + std::to_string(dim));
    maps_[n->output()] = map_of(list->inputs()[0]);
    return;
  }
  ChannelMap out;
  std::int64_t offset = 0;
  for (const Value* v : list->inputs()) {
    const ChannelMap& m = map_of(v);
    if (m.factor != 1) return visit_opaque(n, "cat of flattened tensors");
    for (Segment s : m.segments) {
      s.offset = offset + s.offset;
      out.segments.push_back(s);
    }
    offset += m.channels();
  }
  maps_[n->output()] = out;
}

void Builder::visit_flatten(const Node* n) {
  const Value* x = n->input(0);
  const int r = rank(x);
  std::int64_t start = ir::const_int(n->input(1), -99), end = ir::const_int(n->input(2), -99);
  if (start < 0) start += r;
  if (end < 0) end += r;
  if (r <= 2 && start >= 1) {
    maps_[n->output()] = map_of(x);
    return;
  }
  if (start != 1 || end != r - 1) return visit_opaque(n, "flatten that mixes the batch or channel dimension");
  ChannelMap m = map_of(x);
  const ir::Shape& s = *fg_.shape(x);
  for (int i = 2; i < r; ++i) m.factor *= s[static_cast<size_t>(i)];
  maps_[n->output()] = m;
}

void Builder::visit_binary(const Node* n) {
  const Value* a = n->input(0);
  const Value* b = n->inputs().size() > 1 ? n->input(1) : nullptr;
  const bool da = has_map(a), db = b != nullptr && has_map(b);
  const std::string op = op_name(n);
  if (da && db) {
    unify(map_of(a), map_of(b), op);
    maps_[n->output()] = map_of(a);
    return;
  }
  const Value* data = da ? a : b;
  const Value* other = da ? b : a;
  if (other != nullptr && ir::is_tensor_type(other)) block(map_of(data), op + " with a constant or parameter tensor");
  maps_[n->output()] = map_of(data);
}

void Builder::visit_opaque(const Node* n, const std::string& why) {
  for (const Value* v : n->inputs()) block_value(v, why);
  for (const Value* o : n->outputs()) {
    if (ir::is_tensor_type(o)) {
      maps_[o] = fresh_blocked(o, "output of " + why);
    } else if (ir::holds_tensor(o->type())) {
      derived_.insert(o);  // a list of derived tensors: what is taken out of it is blocked (see visit)
    }
  }
  // An op that changes a list in place (aten::append) makes the list carry what it added.
  if (!n->inputs().empty() && !ir::is_tensor_type(n->input(0)) && ir::holds_tensor(n->input(0)->type()))
    derived_.insert(n->input(0));
}

void Builder::visit(const Node* n) {
  const auto k = n->kind();
  if (k == prim::ListConstruct) return;  // read by the op that consumes the list (cat)
  bool any_input_map = false;
  for (const Value* v : n->inputs()) any_input_map |= has_map(v) || carries(v);
  bool makes_tensor = false;
  for (const Value* o : n->outputs()) makes_tensor |= ir::holds_tensor(o->type());
  if (!makes_tensor) return;  // shape queries (aten::size, aten::dim) and checks
  if (!ir::is_known_op(n)) {
    if (any_input_map) visit_opaque(n, "unknown op " + op_name(n));
    return;
  }
  if (!any_input_map) return;  // shape arithmetic and other ops that do not carry channels
  if (!has_map(n->input(0)) && k != aten::cat) return visit_opaque(n, op_name(n) + " on a derived tensor");
  const ir::OpInfo& op = *ir::op_info(n);
  switch (op.rule) {
    case ir::ChannelRule::kConv:
      return visit_conv(n);
    case ir::ChannelRule::kLinear:
      return visit_linear(n);
    case ir::ChannelRule::kPerChannel:
      return visit_per_channel(n, op);
    case ir::ChannelRule::kConcat:
      return visit_cat(n);
    case ir::ChannelRule::kFlatten:
      return visit_flatten(n);
    case ir::ChannelRule::kBinary:
      return visit_binary(n);
    case ir::ChannelRule::kMean: {
      const int r = rank(n->input(0));
      for (auto d : ir::const_ints(n->input(1)))
        if (d == 1 || d == 1 - r || d == 0 || d == -r) return visit_opaque(n, "mean over channels");
      maps_[n->output()] = map_of(n->input(0));
      return;
    }
    case ir::ChannelRule::kPassThrough:
      if (ir::is_tensor_type(n->output())) {
        maps_[n->output()] = map_of(n->input(0));
        return;
      }
      break;
    case ir::ChannelRule::kShapeOnly:
      break;
  }
  visit_opaque(n, op_name(n));
}

void Builder::finish() {
  // Weight sharing: one parameter indexed through two different maps cannot be cut consistently.
  std::map<std::tuple<std::string, std::string, int>, const ParamDim*> seen;
  for (const auto& p : dg_.params) {
    auto key = std::make_tuple(p.module, p.name, p.dim);
    auto [it, inserted] = seen.emplace(key, &p);
    if (!inserted) {
      block(p.map, "parameter " + p.module + "." + p.name + " used twice");
      block(it->second->map, "parameter " + p.module + "." + p.name + " used twice");
    }
  }
  // Groups: one per root space, named after the first layer producing it.
  std::map<int, int> group_of_root;
  dg_.group_of_space.resize(spaces_.size());
  for (size_t s = 0; s < spaces_.size(); ++s) {
    int root = find(static_cast<int>(s));
    auto it = group_of_root.find(root);
    if (it == group_of_root.end()) {
      Group g;
      g.channels = spaces_[root].size;
      g.prunable = spaces_[root].blocked.empty();
      g.reason = spaces_[root].blocked;
      g.unit = spaces_[root].unit;
      it = group_of_root.emplace(root, static_cast<int>(dg_.groups.size())).first;
      dg_.groups.push_back(g);
    }
    Group& g = dg_.groups[static_cast<size_t>(it->second)];
    if (g.name.empty() && !spaces_[s].producer.empty()) g.name = spaces_[s].producer;
    dg_.group_of_space[s] = it->second;
  }
  for (size_t i = 0; i < dg_.groups.size(); ++i)
    if (dg_.groups[i].name.empty()) dg_.groups[i].name = "#" + std::to_string(i);
  for (const auto& p : dg_.params)
    for (const auto& seg : p.map.segments) {
      auto& mods = dg_.groups[static_cast<size_t>(dg_.group_of_space[static_cast<size_t>(seg.space)])].modules;
      if (std::find(mods.begin(), mods.end(), p.module) == mods.end()) mods.push_back(p.module);
    }
  for (const auto& l : dg_.layers) dg_.flops += l.flops;
}

DependencyGraph Builder::build() {
  dg_.input_shape = fg_.shape(fg_.input) != nullptr ? *fg_.shape(fg_.input) : ir::Shape{};
  maps_[fg_.input] = fresh_blocked(fg_.input, "model input");
  for (const Node* n : fg_.data_nodes) visit(n);
  for (const Value* out : fg_.graph->outputs()) {
    if (has_map(out)) block(map_of(out), "model output");
    if (out->node()->kind() == prim::TupleConstruct || out->node()->kind() == prim::ListConstruct)
      for (const Value* v : out->node()->inputs())
        if (has_map(v)) block(map_of(v), "model output");
  }
  finish();
  return dg_;
}

}  // namespace

DependencyGraph build_dependency_graph(const torch::jit::Module& module, const ir::Shape& input) {
  ir::ForwardGraph fg = ir::build_forward_graph(module, input);
  DependencyGraph dg = Builder(fg).build();
  for (const auto& g : dg.groups)
    if (!g.prunable && !g.modules.empty()) spdlog::debug("group {} not prunable: {}", g.name, g.reason);
  return dg;
}

}  // namespace xcel::prune
