// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// The oracle's LibTorch side: the defaults for modules in memory and single layers (scratch files measured
// like any model file), the local backend (in-process timing on this machine) and the factories.
#include <ATen/Parallel.h>

#include <filesystem>
#include <mutex>
#include <sstream>

#include "xcel/core/error.h"
#include "xcel/core/fs.h"
#include "xcel/core/log.h"
#include "xcel/device/adb.h"
#include "xcel/ir/model.h"
#include "xcel/latency/host_bench.h"
#include "xcel/latency/oracle.h"
#include "xcel/latency/oracle_backends.h"
#include "xcel/latency/predictor.h"
#include "xcel/latency/profile.h"

namespace xcel::latency {

Oracle::~Oracle() {
  if (scratch_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(scratch_, ec);
}

const std::string& Oracle::scratch_dir() {
  if (scratch_.empty()) {
    std::string pattern = (std::filesystem::temp_directory_path() / "xcel-oracle-XXXXXX").string();
    XCEL_CHECK(mkdtemp(pattern.data()) != nullptr, ExitCode::kInput,
               "cannot create a scratch directory for latency measurements in {}; set TMPDIR to a writable directory",
               std::filesystem::temp_directory_path().string());
    scratch_ = pattern;
  }
  return scratch_;
}

Latency Oracle::latency(const torch::jit::Module& module, const ir::ModelSummary& summary) {
  const std::string path = fmt::format("{}/model-{}.pt", scratch_dir(), next_scratch());
  torch::jit::Module copy = module;  // a handle: save_model does not change the module
  ir::save_model(copy, path);
  Latency l = latency(path, summary);
  std::filesystem::remove(path);
  return l;
}

Latency Oracle::layer(const ir::Layer& layer) {
  const std::string path = fmt::format("{}/layer-{}.pt", scratch_dir(), next_scratch());
  torch::jit::Module one_layer = single_layer_module(layer);
  ir::save_model(one_layer, path);
  ir::ModelSummary one = ir::one_layer_summary(layer);
  one.path = path;
  Latency l = latency(path, one);
  std::filesystem::remove(path);
  return l;
}

// The module in the phone's deploy form, as a scratch file; `form` says which form that is.
std::string AdbOracle::deployed_file(const torch::jit::Module& module, std::string& form) {
  torch::jit::Module eval_copy = module.is_training() ? module.clone() : module;
  eval_copy.eval();
  const bool lite = target_.benchmark.model_format == "ptl";
  const std::string path = fmt::format("{}/model-{}.{}", scratch_dir(), next_scratch(), lite ? "ptl" : "pt");
  if (lite) {
    std::string how;
    ir::save_for_mobile(ir::deploy_for_mobile(eval_copy, &how), path);
    form = how == "mobile" ? "mobile" : "lite";
  } else {
    ir::save_model(eval_copy, path);
    form = "plain";
  }
  return path;
}

// A module is deployed and pushed once per content (its saved bytes) and kept for the oracle's life: rounds of
// interleaved measurements then run the same file on the phone instead of a new export each time.
namespace {
std::mutex& export_mutex() {
  static std::mutex m;
  return m;
}
}  // namespace

Latency AdbOracle::latency(const torch::jit::Module& module, const ir::ModelSummary& summary) {
  std::string key;
  {
    std::lock_guard<std::mutex> lock(export_mutex());
    std::ostringstream bytes;
    module.save(bytes);
    key = "module-" + bytes_hash(bytes.str());
  }
  return deployed_latency(key, [&] { return module; }, summary);
}

Latency AdbOracle::deployed_latency(const std::string& key, const std::function<torch::jit::Module()>& make,
                                    const ir::ModelSummary& summary) {
  auto it = deployed_.find(key);
  if (it == deployed_.end()) {
    std::string form, path;
    {
      std::lock_guard<std::mutex> lock(export_mutex());
      path = deployed_file(make(), form);
    }
    it = deployed_.emplace(key, std::make_pair(path, form)).first;
  }
  Latency l = latency(it->second.first, summary);
  l.form = it->second.second;
  l.model_hash.clear();  // a scratch file, not one of the user's
  return l;
}

Latency AdbOracle::layer(const ir::Layer& layer) {
  return deployed_latency("layer-" + layer_signature(layer), [&] { return single_layer_module(layer); },
                          ir::one_layer_summary(layer));
}

namespace {

// Sets the thread count for one measurement and restores the caller's afterwards.
class ThreadsScope {
 public:
  explicit ThreadsScope(int threads) : before_(at::get_num_threads()) { ir::set_threads(threads); }
  ~ThreadsScope() { ir::set_threads(before_); }

 private:
  int before_;
};

class LocalOracle : public Oracle {
 public:
  LocalOracle(std::string target, int threads, int warmup, int runs)
      : target_(std::move(target)), threads_(threads), warmup_(warmup), runs_(runs) {}
  Latency latency(const std::string& model_path, const ir::ModelSummary& summary) override {
    torch::jit::Module m = ir::load_model(model_path);
    Latency l = latency(m, summary);
    l.model_hash = file_hash(model_path);
    return l;
  }
  // Every model is timed in its CPU deploy form (frozen, optimised for inference), as users run it.
  Latency latency(const torch::jit::Module& module, const ir::ModelSummary& summary) override {
    ThreadsScope threads(threads_);
    torch::jit::Module eval_copy = module.is_training() ? module.clone() : module;
    eval_copy.eval();
    std::string form;
    torch::jit::Module deployed = ir::deploy_for_cpu(eval_copy, &form);
    return result(bench_forward(deployed, summary.input_shape, warmup_, runs_), form);
  }
  Latency layer(const ir::Layer& layer) override {
    return latency(single_layer_module(layer), ir::one_layer_summary(layer));
  }
  std::string backend() const override { return "local"; }
  std::string description() const override {
    return fmt::format("host per-layer profile in deploy form, {} thread(s)", threads_);
  }

 private:
  Latency result(const Stats& ms, const std::string& form) const {
    Latency l;
    l.ms = ms;
    l.form = form;
    l.source = "measured";
    l.method = "local-libtorch";
    l.device = "host";
    l.target = target_;
    l.threads = threads_;
    return l;
  }

  std::string target_;
  int threads_, warmup_, runs_;
};

class PredictorOracle : public Oracle {
 public:
  PredictorOracle(const std::string& path, std::string target) : predictor_(path), path_(path), target_(std::move(target)) {
    XCEL_CHECK(predictor_.target() == target_, ExitCode::kUsage,
               "latency predictor '{}' was fitted for target '{}', not '{}'", path, predictor_.target(), target_);
  }
  using Oracle::latency;
  Latency latency(const std::string& model_path, const ir::ModelSummary& summary) override {
    Latency l = estimate(summary);
    l.model_hash = file_hash(model_path);
    return l;
  }
  Latency layer(const ir::Layer& layer) override {
    return estimate(ir::one_layer_summary(layer));
  }
  std::string backend() const override { return "predictor"; }

 private:
  Latency estimate(const ir::ModelSummary& summary) {
    if (!warned_) {
      const std::string why = predictor_.outside_fit(summary);
      if (!why.empty()) {
        spdlog::warn("latency predictor '{}' is used outside what it was fitted on: {}; its estimates may be far "
                     "off: fit one on this model with xcel latency fit --models MODEL",
                     path_, why);
        warned_ = true;
      }
    }
    Latency l;
    l.ms = point_stats(predictor_.predict_ms(summary), 0);
    l.source = "estimated";
    l.method = "predictor";
    l.device = target_ + " (" + path_ + ")";
    l.target = target_;
    l.threads = predictor_.threads();
    return l;
  }

  Predictor predictor_;
  std::string path_, target_;
  bool warned_ = false;  // once per run
};

}  // namespace

std::unique_ptr<Oracle> make_oracle(const device::TargetProfile& target, const OracleOptions& o) {
  std::string backend = o.backend;
  if (backend == "auto") backend = target.kind == "android" ? "adb" : "local";
  const int threads = o.threads > 0 ? o.threads : target.threads;
  const int warmup = o.warmup >= 0 ? o.warmup : target.benchmark.warmup;
  const int runs = o.runs > 0 ? o.runs : target.benchmark.iter;
  std::unique_ptr<Oracle> inner;
  if (backend == "local") {
    XCEL_CHECK(target.kind == "host", ExitCode::kUsage,
               "target '{}' is a phone: measure it with the adb backend (or estimate with --backend roofline)", target.name);
    inner = std::make_unique<LocalOracle>(target.name, threads, warmup, runs);
  } else if (backend == "adb") {
    std::vector<std::unique_ptr<AdbOracle>> devices;
    for (auto& d : device::select_devices(target, o.serial)) devices.push_back(std::make_unique<AdbOracle>(target, o, d));
    if (devices.size() == 1) {
      inner = std::move(devices.front());
    } else {
      inner = std::make_unique<DevicePool>(std::move(devices));
    }
  } else if (backend == "predictor") {
    XCEL_CHECK(!o.predictor.empty(), ExitCode::kUsage, "--backend predictor needs --predictor FILE (from xcel latency fit)");
    return std::make_unique<PredictorOracle>(o.predictor, target.name);  // instant: not cached
  } else if (backend == "roofline") {
    return std::make_unique<RooflineOracle>(target, threads);  // instant: not cached
  } else {
    XCEL_FAIL(ExitCode::kUsage, "unknown latency backend '{}'; use auto, local, adb, roofline or predictor", backend);
  }
  if (!o.use_cache) return inner;
  // Local measurements are of the deploy form (the "-deploy" keeps them apart from older plain-form entries).
  const std::string prefix = fmt::format("{}-{}-t{}-w{}-r{}{}", backend, target.name, threads, warmup, runs,
                                         backend == "local" ? "-deploy" : "");
  return std::make_unique<CachedOracle>(std::move(inner), prefix, LatencyCache(o.cache_dir));
}

std::unique_ptr<Oracle> make_host_oracle(int threads) {
  device::TargetProfile host;
  host.name = "host";
  return std::make_unique<LocalOracle>(host.name, threads, host.benchmark.warmup, host.benchmark.iter);
}

std::vector<double> medians_in_turns(Oracle& oracle, const std::vector<torch::jit::Module>& modules,
                                     const std::vector<ir::ModelSummary>& summaries, int rounds,
                                     const std::function<bool()>& stop) {
  XCEL_ASSERT(modules.size() == summaries.size() && rounds >= 1, "{} modules, {} summaries, {} rounds", modules.size(),
              summaries.size(), rounds);
  std::vector<std::vector<double>> ms(modules.size());
  for (int r = 0; r < rounds && !(stop && stop()); ++r)
    for (size_t i = 0; i < modules.size(); ++i) ms[i].push_back(oracle.latency(modules[i], summaries[i]).ms.median);
  std::vector<double> medians;
  if (!modules.empty() && ms[0].empty()) return medians;  // stopped before the first round
  for (const auto& m : ms) medians.push_back(summarize(m).median);
  return medians;
}

}  // namespace xcel::latency
