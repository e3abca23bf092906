// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/latency/host_bench.h"

#include <chrono>

#include "xcel/core/error.h"

namespace xcel::latency {

Stats bench_host(torch::jit::Module& module, const ir::Shape& input, int warmup, int runs) {
  XCEL_CHECK(warmup >= 0 && runs >= 1, ExitCode::kUsage, "benchmark needs warmup >= 0 and runs >= 1 (got {}, {})",
             warmup, runs);
  const bool was_training = module.is_training();
  module.eval();
  torch::NoGradGuard no_grad;
  std::vector<torch::jit::IValue> args{torch::rand(input)};
  for (int i = 0; i < warmup; ++i) module.forward(args);
  std::vector<double> ms;
  ms.reserve(static_cast<size_t>(runs));
  for (int i = 0; i < runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    module.forward(args);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  if (was_training) module.train();
  return summarize(std::move(ms));
}

}  // namespace xcel::latency
