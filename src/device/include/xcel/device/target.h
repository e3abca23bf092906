// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Target device profiles: configs/targets/NAME.json, checked against a schema when loaded (docs/TARGETS.md):
/// channel rounding, threads, how to find the device (getprop rules), how to benchmark on it (binary, output
/// format, core pinning, warm-up and repeat counts) and its published compute figures (roofline estimate).
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace xcel::device {

/// Untimed and timed runs of one latency measurement, unless a profile or a flag says otherwise.
constexpr int kDefaultWarmup = 10;
constexpr int kDefaultRuns = 50;

struct BenchmarkSpec {
  std::string binary;                          // absolute path on the device
  std::string format = "speed_benchmark_torch";  // the only benchmark that runs what xcel writes
  std::string model_format = "ptl";  // what the binary loads: ptl (lite interpreter, deploy form) or pt
  int warmup = kDefaultWarmup, iter = kDefaultRuns;  // every target (host: in-process runs)
  std::string taskset;                         // CPU mask in hex for `taskset`, e.g. "0c" (empty: no pinning)
  std::string remote_dir = "/data/local/tmp/xcel";
  double timeout_seconds = 120;
  int retries = 2;
};

/// On-device fine-tuning (`xcel finetune --target PHONE`): where runs live on the device and which xcel build runs
/// them (pushed there by --device-binary, or already there).
struct TrainingSpec {
  std::string remote_dir = "/data/local/tmp/xcel-train";
  std::string binary;  // absolute path on the device; default remote_dir + "/xcel"
  double timeout_seconds = 7 * 24 * 3600.0;  // a push or pull of the run (the training itself runs as long as it takes)
};

struct Roofline {
  int cores = 1;                 // cores the benchmark uses at most (threads are capped by it)
  double clock_ghz = 0;
  double gflops_per_core = 0;    // FP32 peak per core (fused multiply-add = 2 FLOPs)
  double memory_gbs = 0;         // DRAM bandwidth
};

struct TargetProfile {
  std::string name, description, path;
  std::string kind = "host";  // host | android
  std::int64_t round_to = 1;
  int threads = 1;
  std::vector<std::pair<std::string, std::vector<std::string>>> device_match;  // getprop key -> accepted values
  BenchmarkSpec benchmark;  // binary, format and pinning: android targets only
  TrainingSpec training;    // android targets only
  Roofline roofline;
  // Where a cluster runs jobs that measure on this device: the Slurm feature (--constraint) and/or generic
  // resource (--gres) of the nodes it is attached to (`xcel sweep`); empty for none named.
  std::string slurm_constraint, slurm_gres;
  nlohmann::json raw;
};

/// Checks a profile's JSON against the schema; every problem names the field and the file.
TargetProfile parse_target(const nlohmann::json& j, const std::string& path);

/// Directory of configs/ (XCEL_CONFIG_DIR, else the source tree's configs/ compiled in).
std::string config_dir();
/// Loads and checks a profile; an unknown name is an Error(kUsage) that lists the known ones.
TargetProfile load_target(const std::string& name);
std::vector<std::string> list_targets();

/// The profile as `xcel targets --json` shows it (device rules and benchmark only for phones).
void to_json(nlohmann::json& j, const TargetProfile& t);
/// How the target is benchmarked, in a few words ("speed_benchmark_torch (taskset c)", "in-process LibTorch").
std::string benchmark_text(const TargetProfile& t);

}  // namespace xcel::device
