// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// The latency oracle: one interface over every way xcel knows a model's latency on a target, and a result
/// that always says where the number came from: `measured` (on which device, by which benchmark) or
/// `estimated` (by which model). Results are cached by the model file's content hash. No LibTorch here.
///   auto oracle = xcel::latency::make_oracle(target, {});      // local for host, adb for phones
///   auto l = oracle->latency("best.pt", summary);              // l.ms.median, l.source, l.device
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xcel/core/stats.h"
#include "xcel/ir/summary.h"
#include "xcel/search/target.h"

namespace xcel::latency {

struct Latency {
  Stats ms;                 // per forward pass, batch 1 (an estimate has n = 0 and no spread)
  std::string source;       // measured | estimated
  std::string device;       // "host" or the device's serial and model, e.g. "FA7AB1A00123 (Pixel)"
  std::string method;       // local-libtorch | adb:speed_benchmark_torch | adb:tflite_benchmark_model | roofline |
                            // predictor (lookup table + regressor)
  std::string target, model_hash;
  int threads = 1;
  bool cached = false;
};
void to_json(nlohmann::json& j, const Latency& l);
void from_json(const nlohmann::json& j, Latency& l);

struct OracleOptions {
  std::string backend = "auto";  // auto (local for host, adb for android) | local | adb | roofline | predictor
  std::string predictor;         // predictor backend: the file `xcel latency fit` wrote
  std::string serial;            // adb: this device instead of the first one matching the target
  int threads = 0;               // 0: the target's thread count
  int warmup = -1, runs = 0;     // -1 / 0: the target's benchmark counts (host: 10 / 50)
  bool use_cache = true;
  std::string cache_dir;         // default $XCEL_CACHE_DIR or ~/.cache/xcel/latency
};

class Oracle {
 public:
  virtual ~Oracle() = default;
  /// Latency of the TorchScript file at `model_path` whose layer table (batch 1) is `summary`.
  virtual Latency latency(const std::string& model_path, const ir::ModelSummary& summary) = 0;
  virtual std::string backend() const = 0;
};

/// Roofline estimate from the target's published figures: per layer the larger of compute time
/// (2 x MACs / peak of min(threads, cores) cores) and memory time (activations + weights / bandwidth).
Latency roofline_estimate(const search::TargetProfile& target, const ir::ModelSummary& summary, int threads);

/// Hex FNV-1a 64 of a file's bytes (the cache key and the device-side file name).
std::string file_hash(const std::string& path);

/// The oracle for a target; `local` lives in the engine library (it runs LibTorch).
std::unique_ptr<Oracle> make_oracle(const search::TargetProfile& target, const OracleOptions& options);

// ---- ADB (Android) --------------------------------------------------------------------------------
struct AdbDevice {
  std::string serial, state;  // state: device | unauthorized | offline | ...
  std::string model, product;  // from `adb devices -l` (when the device is authorized)
};

/// Parses `adb devices -l` output.
std::vector<AdbDevice> parse_adb_devices(const std::string& text);
/// Runs `adb devices -l`; Error(kDevice) when adb is missing or fails.
std::vector<AdbDevice> adb_devices();
/// getprop values of a device (the keys asked for, plus model / SoC / ABI).
std::vector<std::pair<std::string, std::string>> adb_getprops(const std::string& serial,
                                                              const std::vector<std::string>& keys);
/// True when every rule of the target's device_match accepts the device's properties.
bool matches(const search::TargetProfile& target, const std::vector<std::pair<std::string, std::string>>& props);

/// Benchmark output parsers: milliseconds per run. speed_benchmark_torch: the per-iteration
/// `PyTorchObserver {... "value": "us"}` lines when present (--report_pep), else the `Microseconds per iter`
/// figure. TFLite benchmark_model: the `count=... avg=... std=...` line or `Inference (avg): us`.
/// Error(kDevice) naming the first line when nothing can be read.
Stats parse_speed_benchmark_torch(const std::string& out);
Stats parse_tflite_benchmark(const std::string& out);

}  // namespace xcel::latency
