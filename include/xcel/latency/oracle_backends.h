// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// The oracle's backends and its cache (use make_oracle() in oracle.h; these are exposed for tests).
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "xcel/core/subprocess.h"
#include "xcel/latency/oracle.h"

namespace xcel::latency {

/// One JSON file per key in a directory ($XCEL_CACHE_DIR/latency, else ~/.cache/xcel/latency).
class LatencyCache {
 public:
  explicit LatencyCache(std::string dir = "");
  std::optional<Latency> get(const std::string& key) const;
  void put(const std::string& key, const Latency& l) const;
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

/// A phone over adb: picks the device (matching the target, or --serial), pushes each model once per content
/// hash into the target's remote_dir and runs the target's benchmark binary, pinned with taskset.
class AdbOracle : public Oracle {
 public:
  AdbOracle(search::TargetProfile target, OracleOptions options);
  Latency latency(const std::string& model_path, const ir::ModelSummary& summary) override;
  std::string backend() const override { return "adb"; }
  const std::string& serial() const { return serial_; }

 private:
  void select_device();
  std::string device_label() const;
  ProcessResult shell(const std::string& command, double timeout);
  std::string push_once(const std::string& local, const std::string& hash);

  search::TargetProfile target_;
  OracleOptions options_;
  std::string serial_;
  std::vector<std::pair<std::string, std::string>> props_;
  std::set<std::string> pushed_;
};

class RooflineOracle : public Oracle {
 public:
  RooflineOracle(search::TargetProfile target, int threads) : target_(std::move(target)), threads_(threads) {}
  Latency latency(const std::string& model_path, const ir::ModelSummary& summary) override {
    Latency l = roofline_estimate(target_, summary, threads_);
    l.model_hash = file_hash(model_path);
    return l;
  }
  std::string backend() const override { return "roofline"; }

 private:
  search::TargetProfile target_;
  int threads_;
};

/// Answers from the cache when the same file (content hash) was measured the same way before.
class CachedOracle : public Oracle {
 public:
  CachedOracle(std::unique_ptr<Oracle> inner, std::string key_prefix, LatencyCache cache)
      : inner_(std::move(inner)), prefix_(std::move(key_prefix)), cache_(std::move(cache)) {}
  Latency latency(const std::string& model_path, const ir::ModelSummary& summary) override {
    const std::string key = prefix_ + "-" + file_hash(model_path);
    if (auto hit = cache_.get(key)) return *hit;
    Latency l = inner_->latency(model_path, summary);
    cache_.put(key, l);
    return l;
  }
  std::string backend() const override { return inner_->backend(); }

 private:
  std::unique_ptr<Oracle> inner_;
  std::string prefix_;
  LatencyCache cache_;
};

}  // namespace xcel::latency
