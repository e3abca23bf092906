// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// The latency oracle: the one way xcel times anything (a model file, a module in memory, one layer on its
/// own), whatever the target, and a result that always says where the number came from: `measured` (on
/// which device, by which benchmark) or `estimated` (by which model). File results can be cached by the
/// file's content hash. No LibTorch here (modules are only passed by reference).
///   auto oracle = xcel::latency::make_oracle(target, {});      // local for host, adb for phones
///   auto l = oracle->latency("best.pt", summary);              // l.ms.median, l.source, l.device
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xcel/core/stats.h"
#include "xcel/ir/summary.h"
#include "xcel/device/target.h"

namespace torch::jit {
struct Module;
}

namespace xcel::latency {

struct Latency {
  Stats ms;                 // per forward pass, batch 1 (an estimate has n = 0 and no spread)
  std::string source;       // measured | estimated
  std::string device;       // "host" or the device's serial and model, e.g. "FA7AB1A00123 (Pixel)"
  std::string method;       // local-libtorch | adb:speed_benchmark_torch | roofline |
                            // predictor (lookup table + regressor)
  std::string form = "plain";  // what was timed: frozen+optimized | frozen (CPU deploy form), mobile (phone deploy
                               // form, .ptl after optimize_for_mobile), lite (a .ptl as saved), plain (a .pt as saved)
  std::string target, model_hash;
  int threads = 1;
  bool cached = false;
};
void to_json(nlohmann::json& j, const Latency& l);
void from_json(const nlohmann::json& j, Latency& l);

struct OracleOptions {
  std::string backend = "auto";  // auto (local for host, adb for android) | local | adb | roofline | predictor
  std::string predictor;         // predictor backend: the file `xcel latency fit` wrote
  std::string serial;            // adb: these devices ("A" or "A,B") instead of every device matching the target
  int threads = 0;               // 0: the target's thread count
  int warmup = -1, runs = 0;     // -1 / 0: the target's benchmark counts (device::kDefaultWarmup / kDefaultRuns)
  bool use_cache = true;
  std::string cache_dir;         // default $XCEL_CACHE_DIR or ~/.cache/xcel/latency
};

class Oracle {
 public:
  virtual ~Oracle();
  /// Latency of the TorchScript file at `model_path` whose layer table (batch 1) is `summary`.
  virtual Latency latency(const std::string& model_path, const ir::ModelSummary& summary) = 0;
  /// Latency of a module in memory (default: saved to a scratch file, then measured as a file).
  virtual Latency latency(const torch::jit::Module& module, const ir::ModelSummary& summary);
  /// One conv / linear / batch-norm layer on its own at its input shape (default: a one-layer TorchScript
  /// model with deterministic weights, so equal layers give equal files, measured as a file).
  virtual Latency layer(const ir::Layer& layer);
  /// Several layers, each on its own (default: one after the other; a pool of devices shares them out and
  /// measures in parallel). Results in the order of `layers`.
  virtual std::vector<Latency> layers(const std::vector<const ir::Layer*>& layers);
  virtual std::string backend() const = 0;
  /// How the oracle arrives at its numbers, for logs and run summaries.
  virtual std::string description() const { return backend(); }

 protected:
  /// A scratch directory of this oracle's own (created on first use, removed with the oracle), and a number for
  /// the next file in it.
  const std::string& scratch_dir();
  int next_scratch() { return scratch_files_++; }

 private:
  std::string scratch_;
  int scratch_files_ = 0;
};

/// Two models measured in turns (A, B, A, B, ... for `rounds` rounds), so that a drift of the device's speed hits
/// both alike. `a` and `b` hold the statistics of the per-round medians; `ratio` is the median of the per-round
/// ratios B / A.
struct PairedLatency {
  Latency a, b;
  double ratio = 0;
  int rounds = 0;
};
/// With `settled` and `max_rounds` > `rounds`: after the first `rounds`, more rounds in turns (all of them counted
/// in the medians) while `settled(ratios, b_ms)` (the per-round values so far) is false, up to `max_rounds`: a
/// ratio close to a budget is measured until the device's noise no longer leaves it undecided (see
/// xcel::median_interval), or the rounds run out.
PairedLatency measure_interleaved(Oracle& oracle, const torch::jit::Module& a, const ir::ModelSummary& summary_a,
                                  const torch::jit::Module& b, const ir::ModelSummary& summary_b, int rounds,
                                  const std::function<bool(const std::vector<double>& ratios, const std::vector<double>& b_ms)>& settled = nullptr,
                                  int max_rounds = 0);

/// The median latency (ms) of each of `modules` over `rounds` rounds in turns (every module once per round, so that
/// the device's drift falls on all of them alike). `stop` (optional) is asked before each round; the medians are of
/// the rounds done (none when it stopped before the first: an empty result).
std::vector<double> medians_in_turns(Oracle& oracle, const std::vector<torch::jit::Module>& modules,
                                     const std::vector<ir::ModelSummary>& summaries, int rounds,
                                     const std::function<bool()>& stop = nullptr);

/// Roofline estimate from the target's published figures: per layer the larger of compute time
/// (2 x MACs / peak of min(threads, cores) cores) and memory time (activations + weights / bandwidth).
Latency roofline_estimate(const device::TargetProfile& target, const ir::ModelSummary& summary, int threads);

/// The latency cache's directory: $XCEL_CACHE_DIR/latency, else ~/.cache/xcel/latency ("" when neither is set).
std::string cache_dir();

/// Hex FNV-1a 64 of a file's bytes (the cache key and the device-side file name).
std::string file_hash(const std::string& path);
/// The same hash of bytes in memory.
std::string bytes_hash(const std::string& bytes);

/// The oracle for a target: `auto` measures in-process when the target is this machine and over adb when it
/// is a phone: on every connected device that matches the target (or those of `serial`), pooled when there are
/// several (see DevicePool).
std::unique_ptr<Oracle> make_oracle(const device::TargetProfile& target, const OracleOptions& options);
/// This machine, in-process, `threads` threads, uncached (reports' profiles of the original and the result).
std::unique_ptr<Oracle> make_host_oracle(int threads);

/// Benchmark output parsers: milliseconds per run. speed_benchmark_torch: the per-iteration
/// `PyTorchObserver {... "value": "us"}` lines when present (--report_pep), else the `Microseconds per iter`
/// figure. Error(kDevice) naming the first line when nothing can be read.
Stats parse_speed_benchmark_torch(const std::string& out);

}  // namespace xcel::latency
