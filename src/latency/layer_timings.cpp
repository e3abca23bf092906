// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// The one-layer latency store (see layer_timings.h).
#include "xcel/latency/layer_timings.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "xcel/core/error.h"
#include "xcel/core/fs.h"
#include "xcel/core/interrupt.h"
#include "xcel/latency/oracle.h"
#include "xcel/latency/profile.h"

namespace xcel::latency {

namespace {
constexpr int kFormat = 1;
}

std::string LayerTimings::default_path(const std::string& target, int threads) {
  const std::string dir = cache_dir();
  XCEL_CHECK(!dir.empty(), ExitCode::kUsage,
             "no cache directory for the latency table: set XCEL_CACHE_DIR or HOME, or pass --latency-table FILE");
  return fmt::format("{}/tables/{}-t{}.json", dir, target, threads);
}

LayerTimings LayerTimings::open(const std::string& path, const std::string& target, int threads) {
  LayerTimings t;
  t.path_ = path;
  t.target_ = target;
  t.threads_ = threads;
  if (!fs::exists(path)) return t;
  const nlohmann::json j = fs::read_json(path);
  try {
    XCEL_CHECK(j.at("target").get<std::string>() == target && j.at("threads").get<int>() == threads, ExitCode::kUsage,
               "the latency table '{}' was measured on target '{}' with {} thread(s), not '{}' with {}; pass another "
               "--latency-table", path, j.at("target").get<std::string>(), j.at("threads").get<int>(), target, threads);
    t.provenance_ = j.value("provenance", nlohmann::json::object());
    for (const auto& [sig, e] : j.at("layers").items())
      t.entries_[sig] = {e.at("ms").get<Stats>(), e.value("source", "measured")};
  } catch (const nlohmann::json::exception& e) {
    XCEL_FAIL(ExitCode::kInput, "the latency table '{}' is damaged ({}); delete it or pass another --latency-table",
              path, e.what());
  }
  return t;
}

const TableEntry* LayerTimings::find(const std::string& signature) const {
  auto it = entries_.find(signature);
  return it == entries_.end() ? nullptr : &it->second;
}

nlohmann::json LayerTimings::to_json() const {
  nlohmann::json layers = nlohmann::json::object();
  for (const auto& [sig, e] : entries_) layers[sig] = {{"ms", e.ms}, {"source", e.source}};
  return {{"format", kFormat}, {"target", target_}, {"threads", threads_}, {"provenance", provenance_},
          {"layers", layers}};
}

void LayerTimings::save() const {
  const std::filesystem::path dir = std::filesystem::path(path_).parent_path();
  std::error_code ec;
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  fs::write_file_atomic(path_, to_json().dump(1) + "\n");
}

int measure_missing(Oracle& oracle, const std::vector<ir::Layer>& layers, LayerTimings& table, int rounds) {
  std::vector<const ir::Layer*> todo;
  std::set<std::string> seen;
  for (const auto& l : layers) {
    const std::string sig = layer_signature(l);
    if (table.find(sig) == nullptr && seen.insert(sig).second) todo.push_back(&l);
  }
  // In chunks, each saved when done (when the table has a file): a device lost mid-table loses one chunk at most,
  // and the next run measures only what is missing.
  constexpr size_t kChunk = 16;
  for (size_t begin = 0; begin < todo.size(); begin += kChunk) {
    XCEL_CHECK(!interrupted(), ExitCode::kInterrupted,
               "interrupted while measuring the latency table; the {} layers measured so far are kept{}: run the same "
               "command again to go on", begin, table.path().empty() ? "" : " in " + table.path());
    const size_t end = std::min(todo.size(), begin + kChunk);
    std::vector<std::vector<double>> ms(end - begin);
    const std::vector<const ir::Layer*> chunk(todo.begin() + static_cast<std::ptrdiff_t>(begin),
                                              todo.begin() + static_cast<std::ptrdiff_t>(end));
    Latency last;
    for (int r = 0; r < rounds; ++r) {
      const std::vector<Latency> round = oracle.layers(chunk);
      for (size_t i = 0; i < chunk.size(); ++i) ms[i].push_back(round[i].ms.median);
      last = round.back();
    }
    for (size_t i = begin; i < end; ++i) table.put(layer_signature(*todo[i]), {summarize(ms[i - begin]), last.source});
    table.provenance() = {{"device", last.device}, {"method", last.method}, {"form", last.form},
                          {"oracle", oracle.description()}};
    if (!table.path().empty()) table.save();
  }
  return static_cast<int>(todo.size());
}

ChannelStep probe_channel_step(Oracle& oracle, const ir::Layer& conv, LayerTimings& table, int rounds) {
  constexpr double kTolerance = 0.05;  // "costs as much": within 5%
  constexpr double kMinGrowth = 1.3;   // the widest probe must take this much longer than 16 channels
  const std::vector<std::int64_t> multiples = {2, 4, 8, 16, 32};
  std::set<std::int64_t> widths = {16};
  for (std::int64_t m : multiples)
    for (std::int64_t k = 1; k <= 2; ++k) widths.insert({k * m + 1, (k + 1) * m});
  std::vector<ir::Layer> layers;
  for (std::int64_t w : widths) layers.push_back(ir::with_channels(conv, conv.in_channels, w));
  measure_missing(oracle, layers, table, rounds);
  std::map<std::int64_t, double> ms;
  for (const auto& l : layers) ms[l.out_channels] = table.find(layer_signature(l))->ms.median;
  ChannelStep step;
  nlohmann::json timings = nlohmann::json::object();
  for (const auto& [w, t] : ms) timings[std::to_string(w)] = t;
  step.evidence = {{"layer", layer_signature(conv)}, {"ms_by_out_channels", timings}};
  const std::int64_t widest = *widths.rbegin();
  if (ms.at(widest) < kMinGrowth * ms.at(16)) {
    step.evidence["decision"] = fmt::format("no step: {} output channels take {:.2f}x the time of 16 (fixed costs dominate)",
                                            widest, ms.at(widest) / ms.at(16));
    return step;
  }
  for (std::int64_t m : multiples) {
    bool flat = true;
    for (std::int64_t k = 1; k <= 2; ++k) flat = flat && ms.at(k * m + 1) >= (1 - kTolerance) * ms.at((k + 1) * m);
    if (!flat) break;
    step.multiple = m;
  }
  step.evidence["decision"] = step.multiple > 1
                                  ? fmt::format("widths between multiples of {} are not faster than the next multiple",
                                                step.multiple)
                                  : std::string("no step: one channel more or less changes the time");
  return step;
}

}  // namespace xcel::latency
