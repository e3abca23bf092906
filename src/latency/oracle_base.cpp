// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// The parts of the latency oracle that need no LibTorch: results and their cache, the roofline estimate, and
// the ADB backend (device discovery, getprop checks, pushing once per content hash, pinned benchmark runs
// with timeouts and retries, output parsing). Every device-side command is built from single-quoted words.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <spdlog/fmt/fmt.h>

#include "xcel/core/error.h"
#include "xcel/core/fs.h"
#include "xcel/core/log.h"
#include "xcel/core/random.h"
#include "xcel/core/subprocess.h"
#include "xcel/latency/oracle.h"
#include "xcel/latency/oracle_backends.h"

namespace xcel::latency {

void to_json(nlohmann::json& j, const Latency& l) {
  j = {{"ms", l.ms},         {"source", l.source}, {"device", l.device}, {"method", l.method},
       {"target", l.target}, {"model_hash", l.model_hash}, {"threads", l.threads}, {"cached", l.cached}};
}

void from_json(const nlohmann::json& j, Latency& l) {
  l.ms = j.at("ms").get<Stats>();
  l.source = j.at("source");
  l.device = j.at("device");
  l.method = j.at("method");
  l.target = j.at("target");
  l.model_hash = j.at("model_hash");
  l.threads = j.at("threads");
  l.cached = j.value("cached", false);
}

std::string file_hash(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  XCEL_CHECK(in.good(), ExitCode::kInput, "model file '{}' not found", path);
  std::uint64_t h = kFnvOffset;
  char buf[1 << 16];
  while (in) {
    in.read(buf, sizeof buf);
    h = fnv1a64(buf, static_cast<std::size_t>(in.gcount()), h);
  }
  return fmt::format("{:016x}", h);
}

Latency roofline_estimate(const search::TargetProfile& t, const ir::ModelSummary& s, int threads) {
  const int cores = std::max(1, std::min(threads, t.roofline.cores));
  const double peak = t.roofline.gflops_per_core * 1e9 * cores, bw = t.roofline.memory_gbs * 1e9;
  double seconds = 0;
  for (const auto& l : s.layers) {
    const double compute = 2.0 * static_cast<double>(l.flops) / peak;
    const double bytes = 4.0 * static_cast<double>(ir::numel(l.input_shape) + ir::numel(l.output_shape) + l.params);
    seconds += std::max(compute, bytes / bw);
  }
  Latency r;
  r.ms = point_stats(1e3 * seconds, 0);
  r.source = "estimated";
  r.method = "roofline";
  r.device = t.name + " (published figures)";
  r.target = t.name;
  r.threads = cores;
  return r;
}

// ---- cache ----------------------------------------------------------------------------------------

LatencyCache::LatencyCache(std::string dir) : dir_(std::move(dir)) {
  if (dir_.empty()) {
    if (const char* env = std::getenv("XCEL_CACHE_DIR")) {
      dir_ = std::string(env) + "/latency";
    } else if (const char* home = std::getenv("HOME")) {
      dir_ = std::string(home) + "/.cache/xcel/latency";
    }
  }
}

std::optional<Latency> LatencyCache::get(const std::string& key) const {
  const std::string path = dir_ + "/" + key + ".json";
  if (dir_.empty() || !fs::exists(path)) return std::nullopt;
  try {
    std::ifstream in(path);
    Latency l = nlohmann::json::parse(in).get<Latency>();
    l.cached = true;
    return l;
  } catch (const std::exception&) {
    return std::nullopt;  // a damaged entry is measured again
  }
}

void LatencyCache::put(const std::string& key, const Latency& l) const {
  if (dir_.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return;
  try {
    fs::write_file_atomic(dir_ + "/" + key + ".json", nlohmann::json(l).dump() + "\n");
  } catch (const std::exception& e) {
    spdlog::warn("latency cache not written: {}", e.what());
  }
}

// ---- ADB ------------------------------------------------------------------------------------------

namespace {

ProcessResult adb(const std::vector<std::string>& args, double timeout) {
  std::vector<std::string> argv{"adb"};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessResult r = run_process(argv, timeout);
  XCEL_CHECK(r.started, ExitCode::kDevice, "cannot run adb ({}); install Debian's adb package (scripts/setup.sh does)",
             r.err);
  return r;
}

std::string first_line(const std::string& s) {
  const auto start = s.find_first_not_of(" \r\n\t");
  if (start == std::string::npos) return "(no output)";
  const auto end = s.find_first_of("\r\n", start);
  return s.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

bool device_gone(const std::string& text) {
  for (const char* m : {"not found", "no devices", "device offline", "error: closed", "device unauthorized",
                        "protocol fault", "connection reset"})
    if (text.find(m) != std::string::npos) return true;
  return false;
}

}  // namespace

std::vector<AdbDevice> parse_adb_devices(const std::string& text) {
  std::vector<AdbDevice> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.rfind("List of devices", 0) == 0 || line[0] == '*') continue;
    std::istringstream words(line);
    AdbDevice d;
    if (!(words >> d.serial >> d.state)) continue;
    std::string w;
    while (words >> w) {
      if (w.rfind("model:", 0) == 0) d.model = w.substr(6);
      if (w.rfind("product:", 0) == 0) d.product = w.substr(8);
    }
    out.push_back(d);
  }
  return out;
}

std::vector<AdbDevice> adb_devices() {
  ProcessResult r = adb({"devices", "-l"}, 30);
  if (r.exit_code != 0 && r.err.find("daemon") != std::string::npos) r = adb({"devices", "-l"}, 30);  // server was starting
  XCEL_CHECK(r.exit_code == 0, ExitCode::kDevice, "'adb devices -l' failed: {}", first_line(r.err + r.out));
  return parse_adb_devices(r.out);
}

std::vector<std::pair<std::string, std::string>> adb_getprops(const std::string& serial,
                                                              const std::vector<std::string>& keys) {
  std::vector<std::string> all{"ro.product.model", "ro.board.platform", "ro.soc.model", "ro.product.cpu.abi"};
  for (const auto& k : keys)
    if (std::find(all.begin(), all.end(), k) == all.end()) all.push_back(k);
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& k : all) {
    ProcessResult r = adb({"-s", serial, "shell", "getprop " + shell_quote(k)}, 30);
    XCEL_CHECK(r.exit_code == 0, ExitCode::kDevice, "device {} did not answer getprop {}: {}; reconnect it", serial, k,
               first_line(r.err + r.out));
    std::string v = r.out;
    while (!v.empty() && (v.back() == '\n' || v.back() == '\r' || v.back() == ' ')) v.pop_back();
    out.push_back({k, v});
  }
  return out;
}

bool matches(const search::TargetProfile& t, const std::vector<std::pair<std::string, std::string>>& props) {
  for (const auto& [key, accepted] : t.device_match) {
    std::string value;
    for (const auto& [k, v] : props)
      if (k == key) value = v;
    if (std::find(accepted.begin(), accepted.end(), value) == accepted.end()) return false;
  }
  return !t.device_match.empty();
}

Stats parse_speed_benchmark_torch(const std::string& out) {
  std::vector<double> ms;
  static const std::regex pep(R"(PyTorchObserver\s*\{[^}]*"metric"\s*:\s*"latency"[^}]*"value"\s*:\s*"?([0-9.eE+-]+))");
  for (std::sregex_iterator it(out.begin(), out.end(), pep), end; it != end; ++it) ms.push_back(std::stod((*it)[1]) / 1e3);
  if (!ms.empty()) return summarize(ms);
  static const std::regex per_iter(R"(Microseconds per iter:\s*([0-9.eE+-]+))");
  std::smatch m;
  XCEL_CHECK(std::regex_search(out, m, per_iter), ExitCode::kDevice,
             "could not read speed_benchmark_torch's output (no 'Microseconds per iter'); it said: {}", first_line(out));
  return point_stats(std::stod(m[1]) / 1e3, 1);
}

Stats parse_tflite_benchmark(const std::string& out) {
  // "count=50 first=1234 curr=1000 min=990 max=1100 avg=1010.5 std=20" (microseconds); the last such line is
  // the main run (the first is the warm-up).
  static const std::regex stats_line(
      R"(count=([0-9]+)\s+first=[0-9.]+\s+curr=[0-9.]+\s+min=([0-9.]+)\s+max=([0-9.]+)\s+avg=([0-9.eE+-]+)\s+std=([0-9.]+))");
  std::smatch m, last;
  bool found = false;
  for (auto it = out.cbegin(); std::regex_search(it, out.cend(), m, stats_line); it = m.suffix().first) {
    last = m;
    found = true;
  }
  Stats s;
  if (found) {
    s.n = std::stoi(last[1]);
    s.min = std::stod(last[2]) / 1e3;
    s.max = std::stod(last[3]) / 1e3;
    s.mean = s.median = std::stod(last[4]) / 1e3;
    s.std = std::stod(last[5]) / 1e3;
    s.p10 = s.min;
    s.p90 = s.max;
    return s;
  }
  static const std::regex avg(R"(Inference \(avg\):\s*([0-9.eE+-]+))");
  XCEL_CHECK(std::regex_search(out, m, avg), ExitCode::kDevice,
             "could not read benchmark_model's output (no 'count=... avg=' line); it said: {}", first_line(out));
  return point_stats(std::stod(m[1]) / 1e3, 1);
}

// ---- the ADB oracle -------------------------------------------------------------------------------

AdbOracle::AdbOracle(search::TargetProfile target, OracleOptions options)
    : target_(std::move(target)), options_(std::move(options)) {
  XCEL_CHECK(target_.kind == "android", ExitCode::kUsage,
             "target '{}' is not an Android device; the adb backend measures android targets", target_.name);
  select_device();
}

void AdbOracle::select_device() {
  const auto devices = adb_devices();
  XCEL_CHECK(!devices.empty(), ExitCode::kDevice,
             "no Android device connected ('adb devices' lists none); connect the {} with USB debugging on, or use "
             "--target host",
             target_.name);
  auto usable = [&](const AdbDevice& d) {
    XCEL_CHECK(d.state != "unauthorized", ExitCode::kDevice,
               "device {} is unauthorized: unlock it and accept the USB debugging prompt, then run again", d.serial);
    XCEL_CHECK(d.state != "offline", ExitCode::kDevice,
               "device {} is offline: reconnect the cable or run 'adb reconnect', then run again", d.serial);
    XCEL_CHECK(d.state == "device", ExitCode::kDevice, "device {} is in state '{}', not ready; reconnect it", d.serial,
               d.state);
  };
  std::vector<std::string> keys;
  for (const auto& [k, v] : target_.device_match) keys.push_back(k);
  if (!options_.serial.empty()) {
    auto it = std::find_if(devices.begin(), devices.end(), [&](const AdbDevice& d) { return d.serial == options_.serial; });
    XCEL_CHECK(it != devices.end(), ExitCode::kDevice, "device {} is not connected ('adb devices' lists {})",
               options_.serial, [&] {
                 std::string s;
                 for (const auto& d : devices) s += (s.empty() ? "" : ", ") + d.serial;
                 return s;
               }());
    usable(*it);
    props_ = adb_getprops(it->serial, keys);
    if (!matches(target_, props_))
      spdlog::warn("device {} does not match target {}'s rules; measuring it as asked (--serial)", it->serial,
                   target_.name);
    serial_ = it->serial;
  } else {
    std::string seen;
    const AdbDevice* blocked = nullptr;
    for (const auto& d : devices) {
      if (d.state != "device") {
        blocked = blocked ? blocked : &d;
        continue;
      }
      auto props = adb_getprops(d.serial, keys);
      seen += (seen.empty() ? "" : ", ") + d.serial + " (" + props.front().second + ")";
      if (matches(target_, props)) {
        serial_ = d.serial;
        props_ = props;
        break;
      }
    }
    if (serial_.empty() && blocked) usable(*blocked);  // the only candidates cannot be used: say why
    XCEL_CHECK(!serial_.empty(), ExitCode::kDevice,
               "no connected device matches target '{}' (connected: {}); pass --serial to measure one anyway",
               target_.name, seen.empty() ? "none ready" : seen);
  }
  std::string desc;
  for (const auto& [k, v] : props_) desc += fmt::format(" {}={}", k, v);
  spdlog::info("adb: using device {}:{}", serial_, desc);
}

std::string AdbOracle::device_label() const {
  return serial_ + " (" + (props_.empty() ? std::string("?") : props_.front().second) + ")";
}

ProcessResult AdbOracle::shell(const std::string& command, double timeout) {
  ProcessResult r = adb({"-s", serial_, "shell", command}, timeout);
  if (!r.timed_out && r.exit_code != 0 && device_gone(r.err + r.out))
    XCEL_FAIL(ExitCode::kDevice, "device {} was disconnected during the benchmark ({}); reconnect it and run again",
              serial_, first_line(r.err + r.out));
  return r;
}

std::string AdbOracle::push_once(const std::string& local, const std::string& hash) {
  const auto dot = local.find_last_of('.');
  const std::string ext = dot == std::string::npos ? ".pt" : local.substr(dot);
  const std::string remote = target_.benchmark.remote_dir + "/" + hash + ext;
  if (pushed_.count(remote)) return remote;
  ProcessResult exists = shell("test -e " + shell_quote(remote) + " && echo present", 30);
  if (exists.out.find("present") == std::string::npos) {
    shell("mkdir -p " + shell_quote(target_.benchmark.remote_dir), 30);
    ProcessResult r = adb({"-s", serial_, "push", local, remote}, target_.benchmark.timeout_seconds);
    if (r.exit_code != 0 && device_gone(r.err + r.out))
      XCEL_FAIL(ExitCode::kDevice, "device {} was disconnected while receiving the model ({}); reconnect it", serial_,
                first_line(r.err + r.out));
    XCEL_CHECK(r.exit_code == 0, ExitCode::kDevice, "adb push of '{}' to {} failed: {}", local, serial_,
               first_line(r.err + r.out));
  }
  pushed_.insert(remote);
  return remote;
}

Latency AdbOracle::latency(const std::string& model_path, const ir::ModelSummary& summary) {
  const auto& b = target_.benchmark;
  const std::string hash = file_hash(model_path);
  const std::string remote = push_once(model_path, hash);
  const int threads = options_.threads > 0 ? options_.threads : target_.threads;
  const int warmup = options_.warmup >= 0 ? options_.warmup : b.warmup;
  const int runs = options_.runs > 0 ? options_.runs : b.iter;
  std::vector<std::string> words;
  if (!b.taskset.empty()) words = {"taskset", b.taskset};
  words.push_back(b.binary);
  std::string dims;
  for (auto d : summary.input_shape) dims += (dims.empty() ? "" : ",") + std::to_string(d);
  if (b.format == "speed_benchmark_torch") {
    for (const auto& w : {"--model=" + remote, "--input_dims=" + dims, std::string("--input_type=float"),
                          "--warmup=" + std::to_string(warmup), "--iter=" + std::to_string(runs),
                          std::string("--report_pep=true"), std::string("--use_bundled_input=false")})
      words.push_back(w);
  } else {
    for (const auto& w : {"--graph=" + remote, "--num_threads=" + std::to_string(threads),
                          "--warmup_runs=" + std::to_string(warmup), "--num_runs=" + std::to_string(runs)})
      words.push_back(w);
  }
  std::string command;
  for (const auto& w : words) command += (command.empty() ? "" : " ") + shell_quote(w);
  if (b.format == "speed_benchmark_torch") command = "OMP_NUM_THREADS=" + std::to_string(threads) + " " + command;
  ProcessResult r;
  for (int attempt = 0; attempt <= b.retries; ++attempt) {
    r = shell(command, b.timeout_seconds);
    if (!r.timed_out && r.exit_code == 0) break;
    const std::string said = r.err + r.out;
    if (r.exit_code == 127 || said.find("No such file") != std::string::npos ||
        said.find("inaccessible or not found") != std::string::npos)
      XCEL_FAIL(ExitCode::kDevice, "benchmark binary {} is missing on {}: push it with 'adb -s {} push "
                "speed_benchmark_torch {}' (or fix benchmark.binary in {})", b.binary, serial_, serial_, b.binary,
                target_.path);
    spdlog::warn("adb: benchmark attempt {}/{} on {} {}; {}", attempt + 1, b.retries + 1, serial_,
                 r.timed_out ? fmt::format("timed out after {:.0f} s", b.timeout_seconds) : "failed: " + first_line(said),
                 attempt < b.retries ? "retrying" : "giving up");
  }
  XCEL_CHECK(!r.timed_out, ExitCode::kDevice, "the benchmark on {} timed out {} times ({:.0f} s each); check the "
             "device, or raise benchmark.timeout_seconds in {}", serial_, b.retries + 1, b.timeout_seconds, target_.path);
  XCEL_CHECK(r.exit_code == 0, ExitCode::kDevice, "the benchmark on {} failed: {}", serial_, first_line(r.err + r.out));
  Latency l;
  l.ms = b.format == "speed_benchmark_torch" ? parse_speed_benchmark_torch(r.out) : parse_tflite_benchmark(r.out);
  l.source = "measured";
  l.method = "adb:" + b.format;
  l.device = device_label();
  l.target = target_.name;
  l.model_hash = hash;
  l.threads = threads;
  return l;
}

}  // namespace xcel::latency
