// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// Gram matrices are accumulated with LibTorch (OpenBLAS sgemm, float64 accumulators); the reduced normal
// equations are solved with Eigen's LDLT in double precision.
#include "xcel/prune/reconstruct.h"

#include <Eigen/Dense>

#include "xcel/core/error.h"
#include "xcel/ir/forward_graph.h"
#include "xcel/data/tensors.h"

namespace xcel::prune {
namespace {
using torch::jit::Node;

Node* find_layer_node(const ir::ForwardGraph& fg, const std::string& module) {
  for (Node* n : fg.data_nodes)
    if (ir::is_layer_op(n) && n->kind() != c10::aten::batch_norm && ir::owner_path(n->input(1), fg.self) == module)
      return n;
  XCEL_ASSERT(false, "layer {} not found in the graph", module);
}

// argmin_W ||A W^T - B||^2 + ridge * mean(diag(G)) ||W||^2 from G = A^T A and R = A^T B; returns O x K.
at::Tensor solve(const at::Tensor& gram_in, const at::Tensor& rhs_in, double ridge) {
  at::Tensor gram = gram_in.contiguous(), rhs = rhs_in.contiguous();
  const auto k = gram.size(0), o = rhs.size(1);
  using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  RowMajor g = Eigen::Map<RowMajor>(gram.data_ptr<double>(), k, k);
  Eigen::Map<RowMajor> r(rhs.data_ptr<double>(), k, o);
  g.diagonal().array() += ridge * g.diagonal().mean() + 1e-12;
  RowMajor w = g.ldlt().solve(r);  // K x O
  return torch::from_blob(w.data(), {k, o}, torch::kFloat64).t().to(torch::kFloat32).contiguous();
}

}  // namespace

struct Reconstructor::Layer {
  const LayerCost* cost = nullptr;
  Node* node = nullptr;
  bool conv = false;
  std::int64_t kernel = 1;  // im2col columns per input channel
  at::Tensor gram, rhs;     // float64: K x K and K x O
};

Reconstructor::Reconstructor(const torch::jit::Module& original, const DependencyGraph& dg,
                             const data::ImageSet& calib, const ReconstructOptions& opts)
    : dg_(dg), ridge_(opts.ridge) {
  torch::NoGradGuard no_grad;
  const std::int64_t n_img = std::min(opts.images, calib.size());
  XCEL_CHECK(n_img > 0, ExitCode::kInput, "reconstruction needs calibration images; the training split is empty");
  ir::ForwardGraph fg = ir::build_forward_graph(original, {1, calib.channels, calib.height, calib.width});
  std::vector<torch::jit::Value*> wanted;
  for (const auto& cost : dg.layers) {
    if (cost.fixed || cost.depthwise || cost.kind == ir::LayerKind::kBatchNorm) continue;
    bool prunable_input = false;
    for (const auto& seg : cost.in.segments)
      prunable_input |= dg.groups[static_cast<size_t>(dg.group_of_space[static_cast<size_t>(seg.space)])].prunable;
    if (!prunable_input) continue;
    auto layer = std::make_unique<Layer>();
    layer->cost = &cost;
    layer->node = find_layer_node(fg, cost.name);
    layer->conv = cost.kind == ir::LayerKind::kConv;
    layer->kernel = cost.kernel;
    wanted.push_back(layer->node->input(0));
    wanted.push_back(layer->node->output());
    layers_.push_back(std::move(layer));
  }
  torch::Generator gen = at::detail::createCPUGenerator(opts.seed);
  for (std::int64_t begin = 0; begin < n_img; begin += opts.chunk) {
    at::Tensor x = data::images(calib, begin, std::min(begin + opts.chunk, n_img));
    auto values = ir::run_probe(fg, x, wanted);
    for (size_t i = 0; i < layers_.size(); ++i) {
      Layer& l = *layers_[i];
      at::Tensor in = values[2 * i], out = values[2 * i + 1];
      // Targets without the bias: the refitted layer keeps its bias as is.
      c10::IValue bias = submodule(fg.module, l.cost->name).attr("bias");
      at::Tensor a, b;
      if (l.conv) {
        const Node* n = l.node;
        at::Tensor w = get_tensor(fg.module, l.cost->name, "weight");
        at::Tensor cols = torch::im2col(in, {w.size(2), w.size(3)}, ir::const_ints(n->input(5)),
                                        ir::const_ints(n->input(4)), ir::const_ints(n->input(3)));  // N, C*k, L
        at::Tensor y = out.flatten(2);                                                                // N, O, L
        const std::int64_t imgs = cols.size(0), positions = cols.size(2);
        const std::int64_t take = std::min(opts.positions, positions);
        at::Tensor pick = torch::rand({imgs, positions}, gen).argsort(1, false).slice(1, 0, take).unsqueeze(1);
        a = cols.gather(2, pick.expand({imgs, cols.size(1), take})).permute({0, 2, 1}).reshape({-1, cols.size(1)});
        b = y.gather(2, pick.expand({imgs, y.size(1), take})).permute({0, 2, 1}).reshape({-1, y.size(1)});
      } else {
        a = in;
        b = out;
      }
      if (bias.isTensor()) b = b - bias.toTensor().view({1, -1});
      at::Tensor g = a.t().mm(a).to(torch::kFloat64), r = a.t().mm(b).to(torch::kFloat64);
      l.gram = l.gram.defined() ? l.gram + g : g;
      l.rhs = l.rhs.defined() ? l.rhs + r : r;
    }
  }
}

Reconstructor::~Reconstructor() = default;

std::vector<std::string> Reconstructor::refit(torch::jit::Module& pruned, const Selection& selection) const {
  torch::NoGradGuard no_grad;
  std::vector<std::string> fitted;
  for (const auto& lp : layers_) {
    const Layer& l = *lp;
    auto in_idx = surviving_indices(dg_, l.cost->in, selection);  // channels (x factor for linear)
    if (static_cast<std::int64_t>(in_idx.size()) == l.cost->in.channels() * l.cost->in.factor) continue;
    std::vector<std::int64_t> cols;
    cols.reserve(in_idx.size() * static_cast<size_t>(l.kernel));
    for (std::int64_t c : in_idx)
      for (std::int64_t j = 0; j < l.kernel; ++j) cols.push_back(c * l.kernel + j);
    at::Tensor ci = torch::tensor(cols, torch::kInt64);
    at::Tensor oi = torch::tensor(surviving_indices(dg_, l.cost->out, selection), torch::kInt64);
    at::Tensor g = l.gram.index_select(0, ci).index_select(1, ci);
    at::Tensor r = l.rhs.index_select(0, ci).index_select(1, oi);
    at::Tensor weight = get_tensor(pruned, l.cost->name, "weight");
    at::Tensor w = solve(g, r, ridge_).view(weight.sizes());
    submodule(pruned, l.cost->name).register_parameter("weight", w.requires_grad_(weight.requires_grad()), false);
    fitted.push_back(l.cost->name);
  }
  return fitted;
}

}  // namespace xcel::prune
