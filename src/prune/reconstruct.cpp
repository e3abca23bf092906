// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// The Gram matrices are formed with LibTorch (OpenBLAS sgemm); the normal equations are solved with Eigen's
// LDLT in double precision.
#include "xcel/prune/reconstruct.h"

#include <Eigen/Dense>

#include "xcel/core/error.h"
#include "xcel/core/log.h"
#include "xcel/ir/forward_graph.h"
#include "xcel/ir/model.h"
#include "xcel/train/tensor_data.h"

namespace xcel::prune {
namespace {
using torch::jit::Node;

Node* find_layer_node(const ir::ForwardGraph& fg, const std::string& module) {
  for (Node* n : fg.data_nodes)
    if (ir::is_layer_op(n) && n->kind() != c10::aten::batch_norm &&
        ir::owner_path(n->input(1), fg.self) == module)
      return n;
  XCEL_ASSERT(false, "layer {} not found in the graph", module);
}

// Rows of the regression: im2col columns (conv) or features (linear), sampled positions for convs.
std::pair<at::Tensor, at::Tensor> regression_rows(const at::Tensor& in, const at::Tensor& out, const Node* n,
                                                  const at::Tensor& weight, std::int64_t positions,
                                                  torch::Generator& gen) {
  if (n->kind() == c10::aten::linear) return {in, out};
  auto stride = ir::const_ints(n->input(3)), padding = ir::const_ints(n->input(4)),
       dilation = ir::const_ints(n->input(5));
  at::Tensor cols = torch::im2col(in, {weight.size(2), weight.size(3)}, dilation, padding, stride);  // N, C*k, L
  at::Tensor y = out.flatten(2);                                                                       // N, O, L
  const std::int64_t n_img = cols.size(0), L = cols.size(2);
  const std::int64_t take = std::min(positions, L);
  at::Tensor pick = torch::rand({n_img, L}, gen).argsort(1, false).slice(1, 0, take);  // N, take
  at::Tensor a = cols.gather(2, pick.unsqueeze(1).expand({n_img, cols.size(1), take}));
  at::Tensor b = y.gather(2, pick.unsqueeze(1).expand({n_img, y.size(1), take}));
  return {a.permute({0, 2, 1}).reshape({-1, cols.size(1)}), b.permute({0, 2, 1}).reshape({-1, y.size(1)})};
}

// argmin_W ||A W^T - B||^2 + ridge * mean(diag(A^T A)) ||W||^2, as O x K.
at::Tensor solve(const at::Tensor& a, const at::Tensor& b, double ridge) {
  at::Tensor gram = a.t().mm(a).to(torch::kFloat64).contiguous();  // K x K
  at::Tensor rhs = a.t().mm(b).to(torch::kFloat64).contiguous();   // K x O
  const auto k = gram.size(0), o = rhs.size(1);
  using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::Map<RowMajor> g(gram.data_ptr<double>(), k, k);
  Eigen::Map<RowMajor> r(rhs.data_ptr<double>(), k, o);
  const double lambda = ridge * g.diagonal().mean() + 1e-12;
  g.diagonal().array() += lambda;
  RowMajor w = g.ldlt().solve(r);  // K x O
  at::Tensor out = torch::from_blob(w.data(), {k, o}, torch::kFloat64).clone();
  return out.t().to(torch::kFloat32).contiguous();
}

}  // namespace

std::vector<std::string> reconstruct(const torch::jit::Module& original, torch::jit::Module& pruned,
                                     const DependencyGraph& dg, const Selection& selection,
                                     const data::ImageSet& calib, const ReconstructOptions& opts) {
  torch::NoGradGuard no_grad;
  std::vector<std::int64_t> widths;
  for (const auto& s : selection) widths.push_back(static_cast<std::int64_t>(s.size()));
  const std::int64_t n_img = std::min(opts.images, calib.size());
  XCEL_CHECK(n_img > 0, ExitCode::kInput, "reconstruction needs calibration images; the training split is empty");
  at::Tensor x = train::images(calib, 0, n_img);
  const ir::Shape one{1, x.size(1), x.size(2), x.size(3)};
  torch::Generator gen = at::detail::createCPUGenerator(opts.seed);
  pruned.eval();
  // Both graphs share their modules, so probes of `pruned` see each refit as soon as it is made.
  ir::ForwardGraph fg_orig = ir::build_forward_graph(original, one);
  ir::ForwardGraph fg_pruned = ir::build_forward_graph(pruned, one, /*copy=*/false);
  std::vector<std::string> fitted;
  for (const auto& layer : dg.layers) {
    if (layer.fixed || layer.depthwise || layer.kind == ir::LayerKind::kBatchNorm) continue;
    if (dg.kept_channels(layer.in, widths) == layer.in.channels()) continue;
    Node* n_orig = find_layer_node(fg_orig, layer.name);
    Node* n_pruned = find_layer_node(fg_pruned, layer.name);
    at::Tensor target = ir::run_probe(fg_orig, x, {n_orig->output()})[0];
    at::Tensor in = ir::run_probe(fg_pruned, x, {n_pruned->input(0)})[0];
    // Only the output channels this layer kept, without the bias (which the pruned layer keeps as is).
    auto kept_out = surviving_indices(dg, layer.out, selection);
    target = target.index_select(1, torch::tensor(kept_out, torch::kInt64));
    at::Tensor weight = get_tensor(pruned, layer.name, "weight");
    c10::IValue bias = submodule(pruned, layer.name).attr("bias");
    if (bias.isTensor()) {
      std::vector<std::int64_t> view(static_cast<size_t>(target.dim()), 1);
      view[1] = -1;
      target = target - bias.toTensor().view(view);
    }
    auto [a, b] = regression_rows(in, target, n_pruned, weight, opts.positions, gen);
    at::Tensor w = solve(a, b, opts.ridge).view(weight.sizes());
    submodule(pruned, layer.name)
        .register_parameter("weight", w.clone().requires_grad_(weight.requires_grad()), false);
    fitted.push_back(layer.name);
  }
  return fitted;
}

}  // namespace xcel::prune
