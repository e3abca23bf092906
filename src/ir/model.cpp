// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/ir/model.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/csrc/jit/passes/xnnpack_rewrite.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "xcel/core/error.h"
#include "xcel/core/fs.h"
#include "xcel/core/log.h"
#include "xcel/core/runtime.h"

namespace xcel::ir {

std::string short_what(const std::exception& e) {
  std::string msg = e.what();
  if (const auto* ce = dynamic_cast<const c10::Error*>(&e)) msg = ce->what_without_backtrace();
  // LibTorch messages often span lines; the first meaningful one says what happened.
  size_t start = msg.find_first_not_of(" \n");
  msg = start == std::string::npos ? "" : msg.substr(start);
  // An error inside the TorchScript interpreter comes with its traceback; the cause is the last "...Error: " line.
  if (msg.rfind("The following operation failed in the TorchScript interpreter", 0) == 0) {
    size_t cause = std::string::npos;
    for (size_t at = msg.find("Error: "); at != std::string::npos; at = msg.find("Error: ", at + 1)) cause = at;
    if (cause != std::string::npos) {
      const size_t begin = cause + 7, end = msg.find('\n', begin);
      return msg.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
    }
  }
  auto nl = msg.find('\n');
  return nl == std::string::npos ? msg : msg.substr(0, nl);
}

torch::jit::Module load_model(const std::string& path) {
  XCEL_CHECK(fs::exists(path), ExitCode::kInput, "model file '{}' not found; pass --model with a TorchScript file",
             path);
  XCEL_CHECK(!fs::is_directory(path), ExitCode::kInput, "model path '{}' is a directory, not a TorchScript file",
             path);
  try {
    auto m = torch::jit::load(path, torch::kCPU);
    m.eval();
    return m;
  } catch (const std::exception& e) {
    XCEL_FAIL(ExitCode::kInput,
              "cannot load '{}' as TorchScript ({}); export it with torch.jit.script(model).save(path) or "
              "torch.jit.trace",
              path, short_what(e));
  }
}

// Models are serialised to memory and written by fs::write_file_atomic, the one path whose failures (a full disk)
// are clean errors; LibTorch's file writer aborts the process when its final write fails.
void save_model(torch::jit::Module& module, const std::string& path) {
  std::ostringstream bytes;
  try {
    module.save(bytes);
  } catch (const std::exception& e) {
    XCEL_FAIL(ExitCode::kInput, "cannot save model to '{}': {}", path, short_what(e));
  }
  fs::write_file_atomic(path, bytes.str());
}

torch::jit::Module submodule(const torch::jit::Module& root, const std::string& path) {
  torch::jit::Module m = root;
  std::stringstream ss(path);
  std::string part;
  while (std::getline(ss, part, '.'))
    if (!part.empty()) m = m.attr(part).toModule();
  return m;
}

void set_threads(int threads) {
  XCEL_CHECK(threads >= 1, ExitCode::kUsage, "--threads must be at least 1 (got {})", threads);
  at::set_num_threads(threads);
  runtime::set_blas_threads(threads);
}

void save_rng_state(const std::string& path) {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  at::Tensor state = gen.get_state().contiguous();
  fs::write_file_atomic(path, std::string(static_cast<const char*>(state.data_ptr()), state.numel()));
}

void load_rng_state(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  XCEL_CHECK(in.good(), ExitCode::kInput, "cannot read '{}' (a damaged checkpoint: start the run again)", path);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  at::Tensor state = torch::empty({static_cast<std::int64_t>(bytes.size())}, torch::kUInt8);
  std::memcpy(state.data_ptr(), bytes.data(), bytes.size());
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

void save_for_mobile(const torch::jit::Module& module, const std::string& path) {
  std::ostringstream bytes;
  try {
    module._save_for_mobile(bytes);
  } catch (const std::exception& e) {
    XCEL_FAIL(ExitCode::kInput, "cannot write '{}' for the lite interpreter ({})", path, short_what(e));
  }
  fs::write_file_atomic(path, bytes.str());
}

bool export_for_mobile(const torch::jit::Module& module, const std::string& path, std::string* why) {
  std::ostringstream bytes;
  try {
    deploy_for_mobile(module)._save_for_mobile(bytes);
  } catch (const std::exception& e) {
    if (why != nullptr) *why = short_what(e);
    return false;
  }
  fs::write_file_atomic(path, bytes.str());
  return true;
}

torch::jit::Module deploy_for_cpu(const torch::jit::Module& module, std::string* form) {
  auto done = [&](const char* f, torch::jit::Module m) {
    if (form != nullptr) *form = f;
    return m;
  };
  torch::jit::Module frozen;
  try {
    frozen = torch::jit::freeze(module);
  } catch (const std::exception& e) {
    spdlog::debug("deploy form: freeze failed ({}); the model runs as it is", short_what(e));
    return done("plain", module);
  }
  try {
    return done("frozen+optimized", torch::jit::optimize_for_inference(frozen));
  } catch (const std::exception& e) {
    spdlog::debug("deploy form: optimize_for_inference failed ({}); the model runs frozen", short_what(e));
    return done("frozen", frozen);
  }
}

torch::jit::Module deploy_for_mobile(const torch::jit::Module& module, std::string* form) {
  try {
    torch::jit::Module m = torch::jit::optimizeForMobile(module);
    if (form != nullptr) *form = "mobile";
    return m;
  } catch (const std::exception& e) {
    spdlog::debug("deploy form: optimize_for_mobile failed ({}); the model is saved as it is", short_what(e));
    if (form != nullptr) *form = "plain";
    return module;
  }
}

torch::jit::Module with_input_normalization(const torch::jit::Module& module, const std::vector<double>& mean,
                                            const std::vector<double>& std) {
  XCEL_CHECK(!mean.empty() && mean.size() == std.size(), ExitCode::kUsage,
             "normalisation needs a mean and a std per channel (got {} and {} values)", mean.size(), std.size());
  auto column = [](const std::vector<double>& v) {
    return at::tensor(c10::ArrayRef<double>(v)).to(at::kFloat).view({1, static_cast<std::int64_t>(v.size()), 1, 1});
  };
  torch::jit::Module wrapper(c10::QualifiedName("__torch__.xcel.NormalizedInput"));
  wrapper.register_module("model", module);
  wrapper.register_buffer("mean", column(mean));
  wrapper.register_buffer("std", column(std));
  wrapper.define(R"(
def forward(self, x):
    return self.model.forward((x - self.mean) / self.std)
)");
  wrapper.eval();
  return wrapper;
}

std::int64_t input_channels(const torch::jit::Module& module) {
  for (const auto& p : module.parameters(true))
    if (p.dim() == 4) return p.size(1);
  return 0;
}

}  // namespace xcel::ir
