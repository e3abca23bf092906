// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// xcel-bench: host latency of one TorchScript model, printed as one JSON line on stdout.
//   xcel-bench --model m.pt --input 1,3,224,224 --threads 1 --warmup 10 --runs 100
// The same measurement as `xcel eval`'s latency (warm-up, then each forward pass timed on its own; median
// and spread), in a small executable that runs anywhere LibTorch runs. --samples adds every run's time.
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "xcel/core/error.h"
#include "xcel/core/runtime.h"
#include "xcel/ir/model.h"
#include "xcel/latency/host_bench.h"

namespace {

const char* kUsage =
    "usage: xcel-bench --model M.pt|M.ptl [--input N,C,H,W (1,1,28,28)] [--threads T (1)] [--warmup W (10)] "
    "[--runs R (100)] [--samples]\n";

int run(int argc, char** argv) {
  std::string model, input = "1,1,28,28";
  int threads = 1, warmup = 10, runs = 100;
  bool samples = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (arg == "--samples") {
      samples = true;
      continue;
    }
    XCEL_CHECK(i + 1 < argc, xcel::ExitCode::kUsage, "{} needs a value; {}", arg, kUsage);
    std::string value = argv[++i];
    auto to_int = [&](const std::string& v) {
      char* end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      XCEL_CHECK(end != v.c_str() && *end == '\0', xcel::ExitCode::kUsage, "{} takes a whole number, not '{}'", arg,
                 v);
      return static_cast<int>(n);
    };
    if (arg == "--model") {
      model = value;
    } else if (arg == "--input") {
      input = value;
    } else if (arg == "--threads") {
      threads = to_int(value);
    } else if (arg == "--warmup") {
      warmup = to_int(value);
    } else if (arg == "--runs") {
      runs = to_int(value);
    } else {
      XCEL_FAIL(xcel::ExitCode::kUsage, "unknown option '{}'; {}", arg, kUsage);
    }
  }
  XCEL_CHECK(!model.empty(), xcel::ExitCode::kUsage, "--model is required; {}", kUsage);
  xcel::ir::set_threads(threads);
  auto shape = xcel::ir::parse_shape(input);
  std::vector<double> each;
  xcel::Stats stats;
  const bool lite = model.size() > 4 && model.compare(model.size() - 4, 4, ".ptl") == 0;
  if (lite) {  // a lite-interpreter model, as a phone runs it
    stats = xcel::latency::bench_mobile_file(model, shape, warmup, runs, &each);
  } else {
    auto module = xcel::ir::load_model(model);
    stats = xcel::latency::bench_host(module, shape, warmup, runs, &each);
  }
  nlohmann::json j = {{"model", model},     {"input", shape},   {"threads", threads}, {"device", "host"},
                      {"source", "measured"}, {"latency_ms", stats}, {"blas", xcel::runtime::blas_info().library}};
  if (samples) j["samples_ms"] = each;
  std::cout << j.dump() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  xcel::runtime::ensure_passive_omp(argv);
  try {
    return run(argc, argv);
  } catch (const xcel::Error& e) {
    std::string msg = e.what();
    if (auto nl = msg.find('\n'); nl != std::string::npos) msg = msg.substr(0, nl);
    std::cerr << "xcel-bench: error: " << msg << std::endl;
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::cerr << "xcel-bench: internal error: " << e.what() << std::endl;
    return 1;
  }
}
