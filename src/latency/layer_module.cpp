// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// Per-layer profiles through any oracle: each conv / linear / batch-norm layer becomes a one-layer TorchScript
// module (deterministic weights, so equal signatures give equal files: cached and pushed once), measured where
// the oracle measures (a phone over adb, or the host).
#include <filesystem>

#include <spdlog/fmt/fmt.h>

#include "xcel/core/error.h"
#include "xcel/core/fs.h"
#include "xcel/ir/model.h"
#include "xcel/latency/host_bench.h"
#include "xcel/latency/oracle.h"

namespace xcel::latency {

torch::jit::Module single_layer_module(const ir::Layer& l) {
  torch::NoGradGuard no_grad;
  torch::jit::Module m("XcelLayer");
  m.register_attribute("training", c10::BoolType::get(), false);
  auto ints = [](const ir::Shape& s, std::int64_t d) {
    const auto v = s.empty() ? ir::Shape{d, d} : s;
    return fmt::format("[{}]", fmt::join(v, ", "));
  };
  switch (l.kind) {
    case ir::LayerKind::kConv: {
      const std::int64_t kh = l.kernel.empty() ? 1 : l.kernel[0], kw = l.kernel.size() > 1 ? l.kernel[1] : kh;
      m.register_parameter("weight", torch::full({l.out_channels, l.in_channels / std::max<std::int64_t>(1, l.groups), kh, kw}, 0.01), false);
      m.register_parameter("bias", torch::zeros({l.out_channels}), false);
      m.define(fmt::format("def forward(self, x):\n  return torch.conv2d(x, self.weight, self.bias, {}, {}, {}, {})\n",
                           ints(l.stride, 1), ints(l.padding, 0), ints(l.dilation, 1), l.groups));
      break;
    }
    case ir::LayerKind::kLinear:
      m.register_parameter("weight", torch::full({l.out_channels, l.in_channels}, 0.01), false);
      m.register_parameter("bias", torch::zeros({l.out_channels}), false);
      m.define("def forward(self, x):\n  return torch.linear(x, self.weight, self.bias)\n");
      break;
    case ir::LayerKind::kBatchNorm:
      m.register_parameter("weight", torch::ones({l.out_channels}), false);
      m.register_parameter("bias", torch::zeros({l.out_channels}), false);
      m.register_buffer("running_mean", torch::zeros({l.out_channels}));
      m.register_buffer("running_var", torch::ones({l.out_channels}));
      m.define("def forward(self, x):\n  return torch.batch_norm(x, self.weight, self.bias, self.running_mean, "
               "self.running_var, False, 0.1, 1e-05, False)\n");
      break;
  }
  return m;
}

Profile profile_with_oracle(Oracle& oracle, const std::string& model_path, const ir::ModelSummary& summary,
                            const std::string& work_dir) {
  std::error_code ec;
  std::filesystem::create_directories(work_dir, ec);
  XCEL_CHECK(!ec, ExitCode::kInput, "cannot create '{}': {}", work_dir, ec.message());
  Profile p;
  p.model = model_path;
  p.input = summary.input_shape;
  const Latency total = oracle.latency(model_path, summary);
  p.total_ms = total.ms;
  p.device = total.device;
  p.source = total.source;
  p.threads = total.threads;
  for (size_t i = 0; i < summary.layers.size(); ++i) {
    const auto& l = summary.layers[i];
    torch::jit::Module m = single_layer_module(l);
    const std::string path = fmt::format("{}/layer-{}.pt", work_dir, i);
    ir::save_model(m, path);
    ir::ModelSummary one;
    one.path = path;
    one.input_shape = l.input_shape;
    one.layers = {l};
    LayerTiming t;
    t.name = l.name;
    t.kind = ir::layer_kind_name(l.kind);
    t.signature = layer_signature(l);
    t.flops = l.flops;
    t.ms = oracle.latency(path, one).ms;
    p.layers.push_back(std::move(t));
  }
  finish_profile(p);
  return p;
}

}  // namespace xcel::latency
