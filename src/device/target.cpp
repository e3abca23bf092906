// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/device/target.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "xcel/core/error.h"
#include "xcel/core/fs.h"

namespace xcel::device {

std::string config_dir() {
  if (const char* env = std::getenv("XCEL_CONFIG_DIR")) return env;
  return XCEL_DEFAULT_CONFIG_DIR;
}

std::vector<std::string> list_targets() {
  std::vector<std::string> names;
  std::error_code ec;
  const std::string dir = config_dir() + "/targets";
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.path().extension() == ".json") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

namespace {

// Field access with schema errors that name the file and the field.
class Fields {
 public:
  Fields(const nlohmann::json& j, std::string path, std::string where, std::vector<std::string> allowed)
      : j_(j), path_(std::move(path)), where_(std::move(where)) {
    XCEL_CHECK(j.is_object(), ExitCode::kInput, "target profile '{}': {} must be an object", path_, where_);
    for (const auto& [k, v] : j.items())
      XCEL_CHECK(std::find(allowed.begin(), allowed.end(), k) != allowed.end(), ExitCode::kInput,
                 "target profile '{}': unknown field '{}{}' (allowed: {})", path_, prefix(), k, join(allowed));
  }
  bool has(const char* k) const { return j_.contains(k); }
  std::string str(const char* k, const std::string& fallback, bool required = false) const {
    if (!need(k, required)) return fallback;
    XCEL_CHECK(j_.at(k).is_string(), ExitCode::kInput, "target profile '{}': '{}{}' must be a string", path_, prefix(), k);
    return j_.at(k).get<std::string>();
  }
  double num(const char* k, double fallback, double min, bool required = false) const {
    if (!need(k, required)) return fallback;
    XCEL_CHECK(j_.at(k).is_number() && j_.at(k).get<double>() >= min, ExitCode::kInput,
               "target profile '{}': '{}{}' must be a number >= {}", path_, prefix(), k, min);
    return j_.at(k).get<double>();
  }
  const nlohmann::json& at(const char* k) const { return j_.at(k); }
  std::string prefix() const { return where_.empty() ? "" : where_ + "."; }

 private:
  bool need(const char* k, bool required) const {
    XCEL_CHECK(j_.contains(k) || !required, ExitCode::kInput, "target profile '{}': missing field '{}{}'", path_,
               prefix(), k);
    return j_.contains(k);
  }
  static std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  }
  const nlohmann::json& j_;
  std::string path_, where_;
};

}  // namespace

TargetProfile parse_target(const nlohmann::json& j, const std::string& path) {
  TargetProfile t;
  t.path = path;
  t.raw = j;
  Fields f(j, path, "", {"name", "description", "kind", "round_to", "threads", "device_match", "benchmark", "roofline", "slurm",
                                "training"});
  t.name = f.str("name", "", true);
  t.description = f.str("description", "", true);
  t.kind = f.str("kind", "host", true);
  XCEL_CHECK(t.kind == "host" || t.kind == "android", ExitCode::kInput,
             "target profile '{}': 'kind' must be host or android (got '{}')", path, t.kind);
  t.round_to = static_cast<std::int64_t>(f.num("round_to", 1, 1));
  t.threads = static_cast<int>(f.num("threads", 1, 1));
  XCEL_CHECK(f.has("roofline"), ExitCode::kInput, "target profile '{}': missing field 'roofline'", path);
  Fields r(f.at("roofline"), path, "roofline", {"cores", "clock_ghz", "gflops_per_core", "memory_gbs", "source"});
  t.roofline.cores = static_cast<int>(r.num("cores", 1, 1, true));
  t.roofline.clock_ghz = r.num("clock_ghz", 0, 0.1, true);
  t.roofline.gflops_per_core = r.num("gflops_per_core", 0, 0.1, true);
  t.roofline.memory_gbs = r.num("memory_gbs", 0, 0.1, true);
  if (f.has("slurm")) {
    Fields sl(f.at("slurm"), path, "slurm", {"constraint", "gres"});
    t.slurm_constraint = sl.str("constraint", "");
    t.slurm_gres = sl.str("gres", "");
  }
  if (t.kind == "android") {
    XCEL_CHECK(f.has("device_match") && f.has("benchmark"), ExitCode::kInput,
               "target profile '{}': an android target needs 'device_match' and 'benchmark'", path);
    const auto& m = f.at("device_match");
    XCEL_CHECK(m.is_object() && !m.empty(), ExitCode::kInput,
               "target profile '{}': 'device_match' must map getprop keys to lists of accepted values", path);
    for (const auto& [key, values] : m.items()) {
      XCEL_CHECK(values.is_array() && !values.empty(), ExitCode::kInput,
                 "target profile '{}': 'device_match.{}' must be a non-empty list of strings", path, key);
      std::vector<std::string> vs;
      for (const auto& v : values) {
        XCEL_CHECK(v.is_string(), ExitCode::kInput, "target profile '{}': 'device_match.{}' must hold strings", path, key);
        vs.push_back(v.get<std::string>());
      }
      t.device_match.push_back({key, vs});
    }
    Fields b(f.at("benchmark"), path, "benchmark",
             {"binary", "format", "model_format", "warmup", "iter", "taskset", "remote_dir", "timeout_seconds",
              "retries"});
    t.benchmark.binary = b.str("binary", "", true);
    XCEL_CHECK(!t.benchmark.binary.empty() && t.benchmark.binary[0] == '/', ExitCode::kInput,
               "target profile '{}': 'benchmark.binary' must be an absolute path on the device", path);
    t.benchmark.format = b.str("format", t.benchmark.format);
    // TFLite's benchmark_model runs .tflite graphs, which xcel does not write: such a profile could measure
    // nothing xcel produces, so it is refused rather than offered.
    XCEL_CHECK(t.benchmark.format != "tflite_benchmark_model", ExitCode::kInput,
               "target profile '{}': 'benchmark.format' tflite_benchmark_model cannot run the TorchScript models xcel "
               "writes; use speed_benchmark_torch (PyTorch's binary, which runs .ptl files)", path);
    XCEL_CHECK(t.benchmark.format == "speed_benchmark_torch", ExitCode::kInput,
               "target profile '{}': 'benchmark.format' must be speed_benchmark_torch", path);
    t.benchmark.model_format = b.str("model_format", t.benchmark.model_format);
    XCEL_CHECK(t.benchmark.model_format == "ptl" || t.benchmark.model_format == "pt", ExitCode::kInput,
               "target profile '{}': 'benchmark.model_format' must be ptl or pt", path);
    t.benchmark.warmup = static_cast<int>(b.num("warmup", t.benchmark.warmup, 0));
    t.benchmark.iter = static_cast<int>(b.num("iter", t.benchmark.iter, 1));
    t.benchmark.taskset = b.str("taskset", "");
    XCEL_CHECK(t.benchmark.taskset.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos, ExitCode::kInput,
               "target profile '{}': 'benchmark.taskset' must be a hexadecimal CPU mask such as \"f0\"", path);
    t.benchmark.remote_dir = b.str("remote_dir", t.benchmark.remote_dir);
    t.benchmark.timeout_seconds = b.num("timeout_seconds", t.benchmark.timeout_seconds, 1);
    t.benchmark.retries = static_cast<int>(b.num("retries", t.benchmark.retries, 0));
    if (f.has("training")) {
      Fields tr(f.at("training"), path, "training", {"remote_dir", "binary", "timeout_seconds"});
      t.training.remote_dir = tr.str("remote_dir", t.training.remote_dir);
      t.training.binary = tr.str("binary", "");
      t.training.timeout_seconds = tr.num("timeout_seconds", t.training.timeout_seconds, 1);
    }
    XCEL_CHECK(!t.training.remote_dir.empty() && t.training.remote_dir[0] == '/', ExitCode::kInput,
               "target profile '{}': 'training.remote_dir' must be an absolute path on the device", path);
    if (t.training.binary.empty()) t.training.binary = t.training.remote_dir + "/xcel";
    XCEL_CHECK(t.training.binary[0] == '/', ExitCode::kInput,
               "target profile '{}': 'training.binary' must be an absolute path on the device", path);
  } else {
    XCEL_CHECK(!f.has("training"), ExitCode::kInput,
               "target profile '{}': 'training' is for android targets (a host target trains in-process)", path);
  }
  return t;
}

TargetProfile load_target(const std::string& name) {
  TargetProfile t;
  t.path = config_dir() + "/targets/" + name + ".json";
  if (!fs::exists(t.path)) {
    std::string known;
    for (const auto& n : list_targets()) known += (known.empty() ? "" : ", ") + n;
    XCEL_FAIL(ExitCode::kUsage, "unknown target '{}'; known targets: {} (profiles in {}/targets)", name,
              known.empty() ? "none" : known, config_dir());
  }
  std::ifstream in(t.path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    XCEL_FAIL(ExitCode::kInput, "target profile '{}' is not valid JSON ({}); fix the file", t.path, e.what());
  }
  t = parse_target(j, t.path);
  XCEL_CHECK(t.name == name, ExitCode::kInput, "target profile '{}' names itself '{}'", t.path, t.name);
  return t;
}

void to_json(nlohmann::json& j, const TargetProfile& t) {
  j = {{"name", t.name},         {"kind", t.kind},       {"description", t.description},
       {"round_to", t.round_to}, {"threads", t.threads}, {"path", t.path},
       {"roofline", {{"cores", t.roofline.cores},
                     {"clock_ghz", t.roofline.clock_ghz},
                     {"gflops_per_core", t.roofline.gflops_per_core},
                     {"memory_gbs", t.roofline.memory_gbs}}}};
  if (t.kind == "android") {
    j["benchmark"] = {{"binary", t.benchmark.binary}, {"format", t.benchmark.format}, {"taskset", t.benchmark.taskset},
                      {"warmup", t.benchmark.warmup}, {"iter", t.benchmark.iter}};
    for (const auto& [k, v] : t.device_match) j["device_match"][k] = v;
  }
  if (!t.slurm_constraint.empty() || !t.slurm_gres.empty())
    j["slurm"] = {{"constraint", t.slurm_constraint}, {"gres", t.slurm_gres}};
}

std::string benchmark_text(const TargetProfile& t) {
  if (t.kind != "android") return "in-process LibTorch";
  return t.benchmark.format + (t.benchmark.taskset.empty() ? "" : " (taskset " + t.benchmark.taskset + ")");
}

}  // namespace xcel::device
