// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/prune/depth.h"
#include "xcel/prune/engine.h"

#include <torch/csrc/jit/ir/scope.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include <spdlog/fmt/fmt.h>

#include "xcel/core/error.h"
#include "xcel/ir/forward_graph.h"
#include "xcel/ir/model.h"

namespace xcel::prune {
namespace {

using torch::jit::Node;
using torch::jit::Value;

// The module path of an inlined node from its call stack ("layer1.conv1"); empty outside any submodule call.
std::vector<std::string> module_path(const Node* n) {
  std::vector<std::string> path;
  auto cs = n->callstack();
  if (!cs) return path;
  for (const auto& entry : (*cs)->vec()) {
    const auto& info = std::get<2>(entry);
    if (!info) break;  // a free function: not a module
    if (info->instance_name() == "SELF") continue;  // another method of the same module
    path.push_back(info->instance_name());
  }
  return path;
}

std::string join(const std::vector<std::string>& parts, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += (i ? "." : "") + parts[i];
  return s;
}

bool inside(const std::string& path, const std::string& unit) {
  return path == unit || (path.size() > unit.size() && path.compare(0, unit.size(), unit) == 0 && path[unit.size()] == '.');
}

// The top-level node of fg.graph that holds `n` (n itself, or the node whose block nests it).
const Node* top_level(const Node* n, const torch::jit::Block* top) {
  while (n->owningBlock() != top && n->owningBlock()->owningNode() != nullptr) n = n->owningBlock()->owningNode();
  return n;
}

struct Analysis {
  std::vector<std::string> order;                   // module paths, first appearance
  std::map<std::string, std::vector<std::string>> children;
  std::map<std::string, int> own_ops;               // data ops in a module's own code (not in a child's)
  std::map<std::string, DepthUnit> units;           // modules with child modules and conv/linear layers
  std::int64_t flops = 0;                           // the whole model's
  ir::Shape output;                                 // the model's output shape
};

Analysis analyse(const torch::jit::Module& module, const ir::Shape& input) {
  ir::ForwardGraph fg = ir::build_forward_graph(module, input);
  const auto layers = ir::layer_table(fg, nullptr);
  Analysis a;
  for (const auto& l : layers) a.flops += l.flops;
  if (const ir::Shape* out = fg.shape(fg.graph->outputs()[0])) a.output = *out;
  std::map<std::string, std::set<const Node*>> nodes;  // unit path -> its top-level nodes
  for (const Node* n : fg.graph->nodes()) {
    bool data_op = false;
    for (const Value* v : n->outputs()) data_op |= fg.data.count(v) > 0;
    if (!data_op) continue;  // constants and lists may be hoisted out of order; only the data path counts
    const auto path = module_path(n);
    for (size_t k = 1; k <= path.size(); ++k) {
      const std::string p = join(path, k);
      if (!nodes.count(p)) {
        a.order.push_back(p);
        a.children[k == 1 ? "" : join(path, k - 1)].push_back(p);
      }
      nodes[p].insert(n);
    }
    if (!path.empty()) ++a.own_ops[join(path, path.size())];
  }
  const auto* top = fg.graph->block();
  for (const auto& p : a.order) {
    DepthUnit u;
    u.name = p;
    for (const auto& l : layers) {
      if (!inside(l.name, p)) continue;
      u.params += l.params;
      if (l.kind == ir::LayerKind::kConv || l.kind == ir::LayerKind::kLinear) {
        u.flops += l.flops;
        u.layers.push_back(l.name);
      }
    }
    // A block holds layers and other modules; a lone convolution is a layer, not a block (its own row in the
    // layer table), and activations or pooling hold nothing worth a decision.
    if (u.layers.empty() || a.children[p].empty()) continue;
    const auto& set = nodes[p];
    std::vector<const Value*> ins, outs;
    for (const Node* n : set) {
      for (const Value* v : n->inputs())
        if (fg.data.count(v) && !set.count(top_level(v->node(), top)) &&
            std::find(ins.begin(), ins.end(), v) == ins.end())
          ins.push_back(v);
      for (const Value* v : n->outputs()) {
        bool used_outside = std::find(fg.graph->outputs().begin(), fg.graph->outputs().end(), v) != fg.graph->outputs().end();
        for (const auto& use : v->uses()) used_outside |= !set.count(top_level(use.user, top));
        if (used_outside && fg.data.count(v)) outs.push_back(v);
      }
    }
    if (!ins.empty() && fg.shape(ins[0])) u.in = *fg.shape(ins[0]);
    if (!outs.empty() && fg.shape(outs[0])) u.out = *fg.shape(outs[0]);
    if (ins.size() != 1) {
      u.reason = fmt::format("takes {} data inputs; only a block with one can be replaced by it", ins.size());
    } else if (outs.size() != 1) {
      u.reason = fmt::format("gives {} data outputs; only a block with one can be replaced by its input", outs.size());
    } else if (u.in != u.out) {
      const bool smaller = u.in.size() == 4 && u.out.size() == 4 && u.out[2] * u.out[3] < u.in[2] * u.in[3];
      u.reason = fmt::format("{} its input ({} -> {}); removing it would break the next layer",
                             smaller ? "downsamples" : "changes the shape of", fmt::join(u.in, "x"), fmt::join(u.out, "x"));
    } else {
      u.removable = true;
    }
    a.units[p] = u;
  }
  return a;
}

// Outermost first. A removable block stands for itself, unless it is a plain chain of blocks (no ops of its own)
// of which two or more are removable: then those are the decisions (a stage of residual blocks). A block that is
// not removable is listed with its reason, followed by what inside it is removable, if anything.
void collect(const Analysis& a, const std::string& parent, std::vector<DepthUnit>& out) {
  auto kids = a.children.find(parent);
  if (kids == a.children.end()) return;
  for (const auto& p : kids->second) {
    auto it = a.units.find(p);
    if (it == a.units.end()) continue;
    const DepthUnit& u = it->second;
    std::vector<DepthUnit> inner;
    collect(a, p, inner);
    const auto removable = std::count_if(inner.begin(), inner.end(), [](const DepthUnit& d) { return d.removable; });
    const bool chain = !a.own_ops.count(p);
    if (u.removable && !(chain && removable >= 2)) {
      out.push_back(u);
      continue;
    }
    if (!u.removable) out.push_back(u);
    if (removable > 0) out.insert(out.end(), inner.begin(), inner.end());
  }
}

// Every prim::CallMethod "forward" on self.<child> in the methods of `parent`.
std::vector<Node*> calls_of(torch::jit::Module& parent, const std::string& child) {
  std::vector<Node*> out;
  for (const auto& m : parent.get_methods()) {
    auto g = m.graph();
    for (Node* n : ir::all_nodes(*g)) {
      if (n->kind() != c10::prim::CallMethod || n->inputs().empty()) continue;
      const Node* get = n->input(0)->node();
      if (get->kind() == c10::prim::GetAttr && get->s(c10::attr::name) == child && get->input(0) == g->inputs()[0])
        out.push_back(n);
    }
  }
  return out;
}

// True when a method anywhere in `root` reads `child` of a module of `parent`'s type.
bool still_read(const torch::jit::Module& root, const torch::jit::Module& parent, const std::string& child) {
  for (const auto& mod : root.modules())
    for (const auto& m : mod.get_methods())
      for (Node* n : ir::all_nodes(*m.graph()))
        if (n->kind() == c10::prim::GetAttr && n->s(c10::attr::name) == child &&
            n->input(0)->type().get() == parent.type().get())
          return true;
  return false;
}

// The nodes in `n`'s blocks, nested ones included.
void nested_nodes(Node* n, std::vector<Node*>& out) {
  for (torch::jit::Block* b : n->blocks())
    for (Node* x : b->nodes()) {
      out.push_back(x);
      nested_nodes(x, out);
    }
}

// One inlined copy of a block in `top`: the nodes of `top` whose call stack runs through the block, plus control
// flow without a call stack whose module code is all the block's (an If on `use_res_connect`), plus such control
// flow that reads the block and feeds nothing else (batch norm's input checks). The copy's one tensor output is
// replaced by its one tensor input and its nodes are destroyed.
void cut_copy(torch::jit::Block* top, const std::string& name, const std::string& method,
              const std::function<bool(const Node*)>& mine) {
  // Control flow carries the call stack of an enclosing call, or none: it may belong to the block.
  auto neutral = [&](const Node* n) {
    const auto p = module_path(n);
    const std::string path = join(p, p.size());
    return p.empty() || (name.size() > path.size() && inside(name, path));
  };
  std::set<const Node*> set;
  for (Node* n : top->nodes()) {
    if (!neutral(n)) {
      if (mine(n)) set.insert(n);
      continue;
    }
    std::vector<Node*> inner;
    nested_nodes(n, inner);
    bool any = false, other = false;
    for (const Node* x : inner)
      if (!neutral(x)) (mine(x) ? any : other) = true;
    if (any && !other) set.insert(n);
  }
  for (bool grew = true; grew;) {
    grew = false;
    for (Node* n : top->nodes()) {
      if (set.count(n) || !neutral(n)) continue;
      bool reads = false, feeds_only = true;
      for (const Value* v : n->inputs()) reads |= set.count(top_level(v->node(), top)) > 0;
      for (const Value* v : n->outputs())
        for (const auto& use : v->uses()) feeds_only &= set.count(top_level(use.user, top)) > 0;
      if (reads && feeds_only) set.insert(n), grew = true;
    }
  }
  std::vector<Node*> members;
  for (Node* n : top->nodes())
    if (set.count(n)) members.push_back(n);
  std::vector<Value*> ins, outs;
  for (Node* n : members) {
    std::vector<Node*> inner = {n};
    nested_nodes(n, inner);
    for (Node* x : inner)
      for (Value* v : x->inputs())
        if (v->type()->kind() == c10::TypeKind::TensorType && !set.count(top_level(v->node(), top)) &&
            std::find(ins.begin(), ins.end(), v) == ins.end())
          ins.push_back(v);
    for (Value* v : n->outputs()) {
      bool used_outside = false;
      for (const auto& use : v->uses()) used_outside |= !set.count(top_level(use.user, top));
      if (used_outside && n->kind() != c10::prim::Constant) outs.push_back(v);  // a shared constant stays
    }
  }
  XCEL_CHECK(ins.size() == 1 && outs.size() == 1 && outs[0]->type()->kind() == c10::TypeKind::TensorType,
             ExitCode::kUnsupported,
             "block '{}' takes {} tensors and gives {} values in the inlined code of {}; only a block with one "
             "tensor in and one out can be removed", name, ins.size(), outs.size(), method);
  outs[0]->replaceAllUsesWith(ins[0]);
  for (auto it = members.rbegin(); it != members.rend(); ++it)
    if (std::none_of((*it)->outputs().begin(), (*it)->outputs().end(), [](const Value* v) { return v->hasUses(); }))
      (*it)->destroy();
}

// A method whose calls were inlined (apply() inlines forward to patch depthwise groups) holds copies of a block's
// code; each is cut out (cut_copy). Returns how many copies there were.
int cut_inlined(torch::jit::Module& root, const std::string& name) {
  auto mine = [&](const Node* n) {
    const auto p = module_path(n);
    return !p.empty() && inside(join(p, p.size()), name);
  };
  // True when block `b` lies inside block `outer` (or is it).
  auto nested_in = [](const torch::jit::Block* b, const torch::jit::Block* outer) {
    for (; b != nullptr; b = b->owningNode() != nullptr ? b->owningNode()->owningBlock() : nullptr)
      if (b == outer) return true;
    return false;
  };
  int cut = 0;
  for (const auto& m : root.get_methods()) {
    auto g = m.graph();
    // Each inlined copy of the block's code (one per branch when its parent calls it in both branches of an If)
    // lives in the outermost blocks that hold its nodes directly.
    std::vector<torch::jit::Block*> homes;
    for (Node* n : ir::all_nodes(*g))
      if (mine(n) && n->kind() != c10::prim::Constant &&  // constants are hoisted anywhere
          std::find(homes.begin(), homes.end(), n->owningBlock()) == homes.end())
        homes.push_back(n->owningBlock());
    std::vector<torch::jit::Block*> copies;
    for (torch::jit::Block* b : homes)
      if (std::none_of(homes.begin(), homes.end(), [&](const torch::jit::Block* o) {
            return o != b && b->owningNode() != nullptr && nested_in(b->owningNode()->owningBlock(), o);
          }))
        copies.push_back(b);
    for (torch::jit::Block* top : copies) {
      cut_copy(top, name, m.name(), mine);
      ++cut;
    }
    torch::jit::EliminateDeadCode(g);
  }
  return cut;
}

}  // namespace

void to_json(nlohmann::json& j, const DepthUnit& u) {
  j = {{"name", u.name}, {"removable", u.removable}, {"in", u.in},         {"out", u.out},
       {"flops", u.flops}, {"params", u.params},       {"layers", u.layers}};
  if (!u.removable) j["reason"] = u.reason;
}

std::vector<DepthUnit> find_units_in_file(const std::string& path, const ir::Shape& input) {
  return find_units(ir::load_model(path), input);
}

std::vector<DepthUnit> find_units(const torch::jit::Module& module, const ir::Shape& input) {
  const Analysis a = analyse(module, input);
  std::vector<DepthUnit> out;
  collect(a, "", out);
  return out;
}

torch::jit::Module remove_units(const torch::jit::Module& module, const ir::Shape& input,
                                const std::vector<std::string>& names) {
  const Analysis a = analyse(module, input);
  std::vector<DepthUnit> units;
  collect(a, "", units);
  std::int64_t saved = 0;
  for (const auto& name : names) {
    auto it = std::find_if(units.begin(), units.end(), [&](const DepthUnit& u) { return u.name == name; });
    XCEL_CHECK(it != units.end(), ExitCode::kUsage, "'{}' is not a block of this model; xcel inspect --depth lists them",
               name);
    XCEL_CHECK(it->removable, ExitCode::kUnsupported, "block '{}' cannot be removed: it {}", name, it->reason);
    saved += it->flops;
  }
  torch::jit::Module out = module.clone();  // new class types: editing their code leaves `module` alone
  for (const auto& name : names) {
    const auto dot = name.find_last_of('.');
    const std::string parent_path = dot == std::string::npos ? "" : name.substr(0, dot);
    const std::string child = dot == std::string::npos ? name : name.substr(dot + 1);
    torch::jit::Module parent = ir::submodule(out, parent_path);
    const std::vector<Node*> calls = calls_of(parent, child);
    XCEL_CHECK(calls.size() <= 1 && (calls.empty() || (calls[0]->inputs().size() == 2 && calls[0]->outputs().size() == 1)),
               ExitCode::kUnsupported,
               "block '{}' is called {} times (or with several arguments) in its parent's code; only a block called "
               "once on one tensor can be removed", name, calls.size());
    if (!calls.empty()) {
      Node* call = calls[0];
      Node* get = call->input(0)->node();
      call->output()->replaceAllUsesWith(call->input(1));
      call->destroy();
      if (!get->output()->hasUses()) get->destroy();
      for (const auto& m : parent.get_methods()) torch::jit::EliminateDeadCode(m.graph());
    }
    // A pruned model's forward may hold the block inlined as well (see apply()).
    const int inlined = cut_inlined(out, name);
    XCEL_CHECK(!calls.empty() || inlined > 0, ExitCode::kUnsupported,
               "block '{}' is not called in its parent's code; it cannot be removed", name);
    if (!still_read(out, parent, child)) {
      parent._ivalue()->unsafeRemoveAttr(child);  // the object's slot first: it is found through the type
      parent.type()->unsafeRemoveAttribute(child);
    }
  }
  // The result must run and cost exactly what the analysis said.
  const ir::ModelSummary after = ir::analyze(out, input);
  XCEL_CHECK(after.output_shape == a.output && after.flops == a.flops - saved, ExitCode::kUnsupported,
             "removing {} gave a model of {} FLOPs and output {}, expected {} and {}; the graph was misread",
             fmt::join(names, ", "), after.flops, fmt::join(after.output_shape, "x"), a.flops - saved,
             fmt::join(a.output, "x"));
  return out;
}

}  // namespace xcel::prune
