// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// Channel selection and physical removal. Removal works on a clone with fresh class types (so the caller's
// module and any type it shares stay untouched); depthwise convolutions also need their `groups` constant
// changed, which lives in method code: the clone's forward is inlined so each call site owns its constant.
// All of this happens before the clone's first forward, so no stale execution plan exists.
#include <torch/csrc/jit/passes/inliner.h>

#include <chrono>
#include <sstream>
#include <map>
#include <numeric>

#include "xcel/core/error.h"
#include "xcel/core/log.h"
#include "xcel/ir/forward_graph.h"
#include "xcel/ir/model.h"
#include "xcel/prune/engine.h"

namespace xcel::prune {
namespace {

void patch_depthwise_groups(torch::jit::Module& m, const std::map<std::string, std::int64_t>& groups) {
  auto graph = m.get_method("forward").graph();
  torch::jit::Inline(*graph);
  const torch::jit::Value* self = graph->inputs()[0];
  std::vector<torch::jit::Node*> convs;
  for (torch::jit::Node* n : ir::all_nodes(*graph)) {
    const ir::OpInfo* op = ir::op_info(n);
    if (op != nullptr && op->rule == ir::ChannelRule::kConv) convs.push_back(n);
  }
  size_t patched = 0;
  for (torch::jit::Node* n : convs) {
    auto it = groups.find(ir::owner_path(n->input(1), self));
    if (it == groups.end()) continue;
    torch::jit::WithInsertPoint guard(n);
    n->replaceInput(ir::conv_groups_arg(n), graph->insertConstant(it->second));
    ++patched;
  }
  XCEL_ASSERT(patched >= groups.size(), "patched {} of {} depthwise convolutions", patched, groups.size());
}

}  // namespace

std::vector<std::int64_t> surviving_indices(const DependencyGraph& dg, const ChannelMap& map,
                                            const Selection& selection) {
  std::vector<std::int64_t> idx;
  for (const auto& seg : map.segments) {
    const auto& keep = selection[static_cast<size_t>(dg.group_of_space[static_cast<size_t>(seg.space)])];
    for (std::int64_t k : keep)
      for (std::int64_t j = 0; j < map.factor; ++j) idx.push_back((seg.offset + k) * map.factor + j);
  }
  return idx;
}

at::Tensor get_tensor(const torch::jit::Module& root, const std::string& module, const std::string& name) {
  return submodule(root, module).attr(name).toTensor();
}

Selection select_channels(const torch::jit::Module& module, const DependencyGraph& dg,
                          const std::vector<std::int64_t>& kept, Importance importance) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> score(dg.groups.size());
  for (const auto& p : dg.params) {
    if (!p.producer) continue;
    const auto& seg = p.map.segments.at(0);
    const size_t g = static_cast<size_t>(dg.group_of_space[static_cast<size_t>(seg.space)]);
    at::Tensor w = get_tensor(module, p.module, p.name).detach().flatten(1);
    at::Tensor norm = importance == Importance::kL1 ? w.abs().sum(1) : w.pow(2).sum(1).sqrt();
    norm = norm / (norm.mean() + 1e-12);
    score[g] = score[g].defined() ? score[g] + norm : norm;
  }
  Selection sel(dg.groups.size());
  for (size_t g = 0; g < dg.groups.size(); ++g) {
    const std::int64_t c = dg.groups[g].channels;
    std::vector<std::int64_t> order(static_cast<size_t>(c));
    std::iota(order.begin(), order.end(), 0);
    if (kept[g] < c && dg.groups[g].prunable && score[g].defined()) {
      // Whole blocks of `unit` channels (one block per channel when unit is 1), ranked by their summed score.
      const std::int64_t unit = dg.groups[g].unit;
      XCEL_ASSERT(kept[g] % unit == 0, "group {} keeps {} channels, not a multiple of its blocks of {}",
                  dg.groups[g].name, kept[g], unit);
      auto s = score[g].reshape({c / unit, unit}).sum(1).contiguous();
      const float* v = s.data_ptr<float>();
      std::vector<std::int64_t> blocks(static_cast<size_t>(c / unit));
      std::iota(blocks.begin(), blocks.end(), 0);
      std::stable_sort(blocks.begin(), blocks.end(), [&](std::int64_t a, std::int64_t b) { return v[a] > v[b]; });
      blocks.resize(static_cast<size_t>(kept[g] / unit));
      std::sort(blocks.begin(), blocks.end());
      order.clear();
      for (std::int64_t b : blocks)
        for (std::int64_t j = 0; j < unit; ++j) order.push_back(b * unit + j);
    } else {
      XCEL_ASSERT(kept[g] == c, "group {} cannot be pruned but is asked to keep {} of {}", dg.groups[g].name,
                  kept[g], c);
    }
    sel[g] = std::move(order);
  }
  return sel;
}

torch::jit::Module apply(const torch::jit::Module& module, const DependencyGraph& dg, const Selection& selection) {
  XCEL_ASSERT(selection.size() == dg.groups.size(), "selection for {} groups, graph has {}", selection.size(),
              dg.groups.size());
  torch::NoGradGuard no_grad;
  auto t0 = std::chrono::steady_clock::now();
  auto lap = [&](const char* what) {
    auto t1 = std::chrono::steady_clock::now();
    spdlog::debug("apply: {} {:.1f} ms", what, std::chrono::duration<double, std::milli>(t1 - t0).count());
    t0 = t1;
  };
  torch::jit::Module out = module.clone();  // new class types, copied tensors
  lap("clone");

  // Gather every channel-indexed dimension of each tensor, then cut each tensor once.
  std::map<std::pair<std::string, std::string>, std::vector<const ParamDim*>> by_tensor;
  for (const auto& p : dg.params) by_tensor[{p.module, p.name}].push_back(&p);
  for (const auto& [key, dims] : by_tensor) {
    at::Tensor t = get_tensor(out, key.first, key.second);
    at::Tensor cut = t.detach();
    bool changed = false;
    for (const ParamDim* p : dims) {
      auto idx = surviving_indices(dg, p->map, selection);
      if (static_cast<std::int64_t>(idx.size()) == cut.size(p->dim)) continue;
      cut = cut.index_select(p->dim, torch::tensor(idx, torch::kInt64));
      changed = true;
    }
    if (!changed) continue;
    auto sub = submodule(out, key.first);
    if (dims.front()->is_buffer) {
      sub.register_buffer(key.second, cut.contiguous());
    } else {
      sub.register_parameter(key.second, cut.contiguous().clone().requires_grad_(t.requires_grad()), false);
    }
  }

  std::map<std::string, std::int64_t> groups;
  std::vector<std::int64_t> widths;
  for (const auto& s : selection) widths.push_back(static_cast<std::int64_t>(s.size()));
  for (const auto& dw : dg.depthwise) {
    std::int64_t n = dg.kept_channels(dw.map, widths);
    if (n != dw.map.channels()) groups[dw.module] = n / dw.per_group;
  }
  lap("cut tensors");
  if (!groups.empty()) patch_depthwise_groups(out, groups);
  lap("patch groups");

  // The clone has never run, so no execution plan was compiled for the old shapes or groups.
  torch::jit::Module result = out;
  result.eval();
  try {
    result.forward({torch::zeros(dg.input_shape)});
  } catch (const std::exception& e) {
    spdlog::debug("forward of the pruned model failed: {}", e.what());
    XCEL_FAIL(ExitCode::kUnsupported, "the pruned model does not run ({}): this graph has a structure xcel's analysis "
              "does not follow; keep the layers involved whole with --exclude, and please report the model",
              ir::short_what(e));
  }
  lap("check forward");
  return result;
}

void check_prediction(const torch::jit::Module& original, const torch::jit::Module& pruned, const DependencyGraph& dg,
                      const std::vector<std::int64_t>& kept) {
  torch::NoGradGuard no_grad;
  const at::Tensor x = torch::zeros(dg.input_shape);
  auto shape = [&](const torch::jit::Module& m) {
    const c10::IValue y = const_cast<torch::jit::Module&>(m).forward({x});
    return y.isTensor() ? y.toTensor().sizes().vec() : std::vector<std::int64_t>{};
  };
  const auto want = shape(original), got = shape(pruned);
  XCEL_CHECK(want == got, ExitCode::kUnsupported, "the pruned model outputs [{}] where the original outputs [{}]: this "
             "graph has a structure xcel's analysis does not follow; keep the layers involved whole with --exclude, "
             "and please report the model", fmt::join(got, ", "), fmt::join(want, ", "));
  const std::int64_t predicted = dg.predict_flops(kept), flops = ir::analyze(pruned, dg.input_shape).flops;
  XCEL_CHECK(flops == predicted, ExitCode::kUnsupported, "the pruned model has {} FLOPs where xcel's analysis predicts "
             "{}: this graph has a structure the analysis does not follow; keep the layers involved whole with "
             "--exclude, and please report the model", flops, predicted);
}

}  // namespace xcel::prune
