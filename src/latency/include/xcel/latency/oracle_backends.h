// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// The oracle's backends and its cache (use make_oracle() in oracle.h; these are exposed for tests).
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "xcel/core/subprocess.h"
#include "xcel/device/adb.h"
#include "xcel/device/target.h"
#include "xcel/latency/oracle.h"

namespace xcel::latency {

/// One JSON file per key in a directory ($XCEL_CACHE_DIR/latency, else ~/.cache/xcel/latency).
class LatencyCache {
 public:
  explicit LatencyCache(std::string dir = "");
  std::optional<Latency> get(const std::string& key) const;
  void put(const std::string& key, const Latency& l) const;

 private:
  std::string dir_;
};

/// A phone over adb: picks the device (matching the target, or --serial), pushes each model once per content
/// hash into the target's remote_dir and runs the target's benchmark binary, pinned with taskset. Files are timed
/// as saved; modules in memory and single layers in the phone's deploy form (optimize_for_mobile, saved for the
/// lite interpreter as .ptl) when the profile's benchmark reads .ptl (benchmark.model_format), once per content.
class AdbOracle : public Oracle {
 public:
  AdbOracle(device::TargetProfile target, OracleOptions options, device::SelectedDevice device);
  Latency latency(const std::string& model_path, const ir::ModelSummary& summary) override;
  Latency latency(const torch::jit::Module& module, const ir::ModelSummary& summary) override;
  Latency layer(const ir::Layer& layer) override;
  std::string backend() const override { return "adb"; }
  std::string description() const override { return "adb on " + device_label(); }
  std::string device_label() const;

 private:
  ProcessResult shell(const std::string& command, double timeout);
  std::string push_once(const std::string& local, const std::string& hash);
  std::string deployed_file(const torch::jit::Module& module, std::string& form);
  // The module `make` builds, exported in deploy form once per `key` (LibTorch's side runs one thread at a time,
  // so devices of a pool can measure in parallel), then measured on the device.
  Latency deployed_latency(const std::string& key, const std::function<torch::jit::Module()>& make,
                           const ir::ModelSummary& summary);

  device::TargetProfile target_;
  OracleOptions options_;
  std::string serial_;
  std::vector<std::pair<std::string, std::string>> props_;
  std::set<std::string> pushed_;
  std::map<std::string, std::pair<std::string, std::string>> deployed_;  // content key -> scratch file, form
};

/// Several devices of one target. Single measurements go to the first device still in the pool; a batch of
/// layers is shared out over all of them, measured in parallel (one thread per device). A device that fails
/// (disconnected, benchmark missing or timing out: any device error) leaves the pool with a warning, and what
/// it had not measured goes to the others; the device error is raised only when no device is left.
class DevicePool : public Oracle {
 public:
  explicit DevicePool(std::vector<std::unique_ptr<AdbOracle>> devices);
  using Oracle::latency;
  Latency latency(const std::string& model_path, const ir::ModelSummary& summary) override;
  Latency latency(const torch::jit::Module& module, const ir::ModelSummary& summary) override;
  Latency layer(const ir::Layer& layer) override;
  std::vector<Latency> layers(const std::vector<const ir::Layer*>& layers) override;
  std::string backend() const override { return "adb"; }
  std::string description() const override;
  std::size_t size() const { return devices_.size(); }

 private:
  Latency on_first(const std::function<Latency(Oracle&)>& measure);
  void leave(std::size_t index, const std::string& why);

  std::vector<std::unique_ptr<AdbOracle>> devices_;
};

class RooflineOracle : public Oracle {
 public:
  RooflineOracle(device::TargetProfile target, int threads) : target_(std::move(target)), threads_(threads) {}
  using Oracle::latency;
  Latency latency(const std::string& model_path, const ir::ModelSummary& summary) override {
    Latency l = roofline_estimate(target_, summary, threads_);
    l.model_hash = file_hash(model_path);
    return l;
  }
  Latency layer(const ir::Layer& l) override {
    return roofline_estimate(target_, ir::one_layer_summary(l), threads_);
  }
  std::string backend() const override { return "roofline"; }
  std::string description() const override { return "roofline estimate from " + target_.path; }

 private:
  device::TargetProfile target_;
  int threads_;
};

/// Answers from the cache when the same file (content hash) was measured the same way before.
class CachedOracle : public Oracle {
 public:
  CachedOracle(std::unique_ptr<Oracle> inner, std::string key_prefix, LatencyCache cache)
      : inner_(std::move(inner)), prefix_(std::move(key_prefix)), cache_(std::move(cache)) {}
  Latency latency(const std::string& model_path, const ir::ModelSummary& summary) override {
    // The file's content and the input it runs on: one model measured at two input sizes is two entries.
    std::string key = prefix_ + "-" + file_hash(model_path) + "-in";
    for (const auto d : summary.input_shape) key += "_" + std::to_string(d);
    if (auto hit = cache_.get(key)) return *hit;
    Latency l = inner_->latency(model_path, summary);
    cache_.put(key, l);
    return l;
  }
  Latency latency(const torch::jit::Module& module, const ir::ModelSummary& summary) override {
    return inner_->latency(module, summary);  // no file, no content hash: never cached
  }
  Latency layer(const ir::Layer& l) override { return inner_->layer(l); }
  std::vector<Latency> layers(const std::vector<const ir::Layer*>& ls) override { return inner_->layers(ls); }
  std::string backend() const override { return inner_->backend(); }
  std::string description() const override { return inner_->description(); }

 private:
  std::unique_ptr<Oracle> inner_;
  std::string prefix_;
  LatencyCache cache_;
};

}  // namespace xcel::latency
