// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// The parts of the latency oracle that need no LibTorch: results and their cache, the roofline estimate, and
// the ADB backend (pushing once per content hash, pinned benchmark runs with timeouts and retries, output
// parsing; the device itself is found by xcel::device). Every device-side command is built from single-quoted
// words.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <spdlog/fmt/fmt.h>

#include "xcel/core/error.h"
#include "xcel/core/fs.h"
#include "xcel/core/log.h"
#include "xcel/core/random.h"
#include "xcel/core/subprocess.h"
#include "xcel/device/adb.h"
#include "xcel/device/roofline.h"
#include "xcel/latency/oracle.h"
#include "xcel/latency/oracle_backends.h"

namespace xcel::latency {

using device::adb;
using device::device_gone;
using device::first_line;

void to_json(nlohmann::json& j, const Latency& l) {
  j = {{"ms", l.ms},         {"source", l.source}, {"device", l.device}, {"method", l.method}, {"form", l.form},
       {"target", l.target}, {"model_hash", l.model_hash}, {"threads", l.threads}, {"cached", l.cached}};
}

void from_json(const nlohmann::json& j, Latency& l) {
  l.ms = j.at("ms").get<Stats>();
  l.source = j.at("source");
  l.device = j.at("device");
  l.method = j.at("method");
  l.form = j.value("form", "plain");
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

std::string bytes_hash(const std::string& bytes) {
  return fmt::format("{:016x}", fnv1a64(bytes.data(), bytes.size(), kFnvOffset));
}

Latency roofline_estimate(const device::TargetProfile& t, const ir::ModelSummary& s, int threads) {
  const device::RooflineTime time = device::roofline_time(t, s, threads);
  Latency r;
  r.ms = point_stats(time.ms, 0);
  r.source = "estimated";
  r.method = "roofline";
  r.device = t.name + " (published figures)";
  r.target = t.name;
  r.threads = time.cores;
  return r;
}

PairedLatency measure_interleaved(Oracle& oracle, const torch::jit::Module& a, const ir::ModelSummary& summary_a,
                                  const torch::jit::Module& b, const ir::ModelSummary& summary_b, int rounds,
                                  const std::function<bool(const std::vector<double>&, const std::vector<double>&)>& settled,
                                  int max_rounds) {
  XCEL_ASSERT(rounds >= 1, "measure_interleaved needs at least one round");
  PairedLatency p;
  std::vector<double> a_ms, b_ms, ratios;
  Latency la, lb;
  for (int r = 0; r < std::max(rounds, max_rounds); ++r) {
    if (r >= rounds && (!settled || settled(ratios, b_ms))) break;
    la = oracle.latency(a, summary_a);
    lb = oracle.latency(b, summary_b);
    a_ms.push_back(la.ms.median);
    b_ms.push_back(lb.ms.median);
    ratios.push_back(lb.ms.median / std::max(1e-12, la.ms.median));
  }
  p.a = la;
  p.b = lb;
  p.rounds = static_cast<int>(ratios.size());
  p.a.ms = summarize(a_ms);
  p.b.ms = summarize(b_ms);
  p.ratio = summarize(ratios).median;
  return p;
}

// ---- cache ----------------------------------------------------------------------------------------

std::string cache_dir() { return fs::cache_dir("latency"); }

LatencyCache::LatencyCache(std::string dir) : dir_(std::move(dir)) {
  if (dir_.empty()) dir_ = cache_dir();
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

namespace {
// A latency the benchmark printed, in ms: a positive finite number of microseconds (what follows it, such as a
// sentence's full stop, is not part of it), else Error(kDevice).
double benchmark_ms(const std::string& us, const std::string& out) {
  char* end = nullptr;
  const double v = std::strtod(us.c_str(), &end);
  XCEL_CHECK(end != us.c_str() && std::isfinite(v) && v > 0, ExitCode::kDevice,
             "speed_benchmark_torch printed '{}' as a latency in microseconds; its output is damaged: {}", us,
             first_line(out));
  return v / 1e3;
}
}  // namespace

Stats parse_speed_benchmark_torch(const std::string& out) {
  std::vector<double> ms;
  static const std::regex pep(R"(PyTorchObserver\s*\{[^}]*"metric"\s*:\s*"latency"[^}]*"value"\s*:\s*"?([0-9.eE+-]+))");
  for (std::sregex_iterator it(out.begin(), out.end(), pep), end; it != end; ++it) ms.push_back(benchmark_ms((*it)[1], out));
  if (!ms.empty()) return summarize(ms);
  static const std::regex per_iter(R"(Microseconds per iter:\s*([0-9.eE+-]+))");
  std::smatch m;
  XCEL_CHECK(std::regex_search(out, m, per_iter), ExitCode::kDevice,
             "could not read speed_benchmark_torch's output (no 'Microseconds per iter'); it said: {}", first_line(out));
  return point_stats(benchmark_ms(m[1], out), 1);
}

// ---- the ADB oracle -------------------------------------------------------------------------------

AdbOracle::AdbOracle(device::TargetProfile target, OracleOptions options, device::SelectedDevice device)
    : target_(std::move(target)), options_(std::move(options)), serial_(device.serial), props_(device.props) {
  XCEL_CHECK(target_.kind == "android", ExitCode::kUsage,
             "target '{}' is not an Android device; the adb backend measures android targets", target_.name);
}

std::string AdbOracle::device_label() const {
  return serial_ + " (" + (props_.empty() ? std::string("?") : props_.front().second) + ")";
}

ProcessResult AdbOracle::shell(const std::string& command, double timeout) {
  return device::adb_shell(serial_, command, timeout, "the benchmark");
}

std::string AdbOracle::push_once(const std::string& local, const std::string& hash) {
  const auto dot = local.find_last_of('.');
  const std::string ext = dot == std::string::npos ? ".pt" : local.substr(dot);
  const std::string remote = target_.benchmark.remote_dir + "/" + hash + ext;
  if (pushed_.count(remote)) return remote;
  if (!device::adb_exists(serial_, remote, "the benchmark")) {
    shell("mkdir -p " + shell_quote(target_.benchmark.remote_dir), 30);
    device::adb_push(serial_, local, remote, target_.benchmark.timeout_seconds);
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
  l.ms = parse_speed_benchmark_torch(r.out);
  l.source = "measured";
  l.method = "adb:" + b.format;
  const bool lite = model_path.size() > 4 && model_path.compare(model_path.size() - 4, 4, ".ptl") == 0;
  l.form = lite ? "lite" : "plain";  // a file is timed as saved; modules in memory go out in deploy form
  l.device = device_label();
  l.target = target_.name;
  l.model_hash = hash;
  l.threads = threads;
  return l;
}

std::vector<Latency> Oracle::layers(const std::vector<const ir::Layer*>& ls) {
  std::vector<Latency> out;
  out.reserve(ls.size());
  for (const ir::Layer* l : ls) out.push_back(layer(*l));
  return out;
}

DevicePool::DevicePool(std::vector<std::unique_ptr<AdbOracle>> devices) : devices_(std::move(devices)) {
  XCEL_ASSERT(!devices_.empty(), "a device pool needs a device");
}

std::string DevicePool::description() const {
  std::string s;
  for (const auto& d : devices_) s += (s.empty() ? "" : ", ") + d->device_label();
  return fmt::format("adb on {} device(s): {}", devices_.size(), s);
}

void DevicePool::leave(std::size_t index, const std::string& why) {
  spdlog::warn("adb: device {} leaves the pool ({}); {} device(s) go on", devices_[index]->device_label(), why,
               devices_.size() - 1);
  devices_.erase(devices_.begin() + static_cast<std::ptrdiff_t>(index));
}

Latency DevicePool::on_first(const std::function<Latency(Oracle&)>& measure) {
  for (;;) {
    try {
      return measure(*devices_.front());
    } catch (const Error& e) {
      if (e.code() != ExitCode::kDevice || devices_.size() == 1) throw;
      leave(0, e.what());
    }
  }
}

Latency DevicePool::latency(const std::string& model_path, const ir::ModelSummary& summary) {
  return on_first([&](Oracle& d) { return d.latency(model_path, summary); });
}

Latency DevicePool::latency(const torch::jit::Module& module, const ir::ModelSummary& summary) {
  return on_first([&](Oracle& d) { return d.latency(module, summary); });
}

Latency DevicePool::layer(const ir::Layer& l) {
  return on_first([&](Oracle& d) { return d.layer(l); });
}

std::vector<Latency> DevicePool::layers(const std::vector<const ir::Layer*>& ls) {
  std::vector<Latency> out(ls.size());
  std::vector<char> done(ls.size(), 0);
  for (;;) {
    std::vector<std::size_t> todo;
    for (std::size_t i = 0; i < ls.size(); ++i)
      if (!done[i]) todo.push_back(i);
    if (todo.empty()) return out;
    // Contiguous shares, one per device, each measured by its own thread.
    const std::size_t n = std::min(devices_.size(), todo.size());
    std::vector<std::exception_ptr> failed(n);
    std::vector<std::thread> threads;
    for (std::size_t d = 0; d < n; ++d) {
      threads.emplace_back([&, d] {
        try {
          for (std::size_t k = d * todo.size() / n; k < (d + 1) * todo.size() / n; ++k) {
            out[todo[k]] = devices_[d]->layer(*ls[todo[k]]);
            done[todo[k]] = 1;
          }
        } catch (...) {
          failed[d] = std::current_exception();
        }
      });
    }
    for (auto& t : threads) t.join();
    // Devices with a device error leave (from the back, so indices stay valid); any other error is raised.
    for (std::size_t d = n; d-- > 0;) {
      if (!failed[d]) continue;
      try {
        std::rethrow_exception(failed[d]);
      } catch (const Error& e) {
        if (e.code() != ExitCode::kDevice || devices_.size() == 1) throw;
        leave(d, e.what());
      }
    }
  }
}

}  // namespace xcel::latency
