// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/latency/host_bench.h"

#include <ATen/Parallel.h>
#include <torch/csrc/jit/mobile/import.h>

#include <chrono>

#include <spdlog/fmt/fmt.h>

#include "xcel/core/error.h"
#include "xcel/ir/model.h"

namespace xcel::latency {

namespace {

template <typename F>
Stats time_runs(F&& f, int warmup, int runs, std::vector<double>* samples = nullptr) {
  for (int i = 0; i < warmup; ++i) f();
  std::vector<double> ms;
  ms.reserve(static_cast<size_t>(runs));
  for (int i = 0; i < runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  if (samples) *samples = ms;
  return summarize(std::move(ms));
}

}  // namespace

Stats bench_forward(torch::jit::Module& module, const ir::Shape& input, int warmup, int runs,
                    std::vector<double>* samples) {
  XCEL_CHECK(warmup >= 0 && runs >= 1, ExitCode::kUsage, "benchmark needs warmup >= 0 and runs >= 1 (got {}, {})",
             warmup, runs);
  torch::NoGradGuard no_grad;
  std::vector<torch::jit::IValue> args{torch::rand(input)};
  return time_runs([&] { return module.forward(args); }, warmup, runs, samples);
}

Stats bench_mobile_file(const std::string& path, const ir::Shape& input, int warmup, int runs,
                        std::vector<double>* samples) {
  XCEL_CHECK(warmup >= 0 && runs >= 1, ExitCode::kUsage, "benchmark needs warmup >= 0 and runs >= 1 (got {}, {})",
             warmup, runs);
  torch::jit::mobile::Module m;
  try {
    m = torch::jit::_load_for_mobile(path);
  } catch (const std::exception& e) {
    XCEL_FAIL(ExitCode::kInput, "cannot load '{}' as a lite-interpreter model ({}); export it with "
              "_save_for_mobile", path, ir::short_what(e));
  }
  torch::NoGradGuard no_grad;
  std::vector<torch::jit::IValue> args{torch::rand(input)};
  return time_runs([&] { return m.forward(args); }, warmup, runs, samples);
}

Stats bench_host(torch::jit::Module& module, const ir::Shape& input, int warmup, int runs,
                 std::vector<double>* samples) {
  const bool was_training = module.is_training();
  module.eval();
  Stats s = bench_forward(module, input, warmup, runs, samples);
  if (was_training) module.train();
  return s;
}

// A conv / linear / batch-norm layer as a one-layer TorchScript module (deterministic weights, so equal
// signatures give equal files: cached and pushed once), for oracles that measure files (a phone).
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

}  // namespace xcel::latency
