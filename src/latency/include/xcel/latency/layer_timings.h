// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// A store of one-layer latencies measured on a target, keyed by layer signature (kind, kernel, stride,
/// groups, channels, input size: equal signatures are equal one-layer models, so each is measured once). It
/// is a JSON file that grows across runs (`--latency-table FILE`, or the cache's file for the target and
/// thread count), written atomically. No LibTorch here.
///   LayerTimings t = LayerTimings::open(path, "host", 1);
///   measure_missing(oracle, layers, t, 3);   // the signatures t lacks, in 3 interleaved rounds
///   t.save();
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xcel/core/stats.h"
#include "xcel/ir/summary.h"

namespace xcel::latency {

class Oracle;

struct TableEntry {
  Stats ms;            // statistics of the per-round medians
  std::string source;  // measured | estimated
};

class LayerTimings {
 public:
  /// The table in `path` (empty when the file does not exist yet). Error(kUsage) when the file holds a table
  /// of another target or thread count, Error(kInput) when it is damaged.
  static LayerTimings open(const std::string& path, const std::string& target, int threads);
  /// The default file for a target: $XCEL_CACHE_DIR/latency/tables/TARGET-tN.json (else ~/.cache/xcel/...).
  static std::string default_path(const std::string& target, int threads);

  const TableEntry* find(const std::string& signature) const;
  void put(const std::string& signature, TableEntry t) { entries_[signature] = std::move(t); }
  std::size_t size() const { return entries_.size(); }
  const std::string& path() const { return path_; }
  /// Where the measurements came from (device, method, form), from the oracle that measured them.
  nlohmann::json& provenance() { return provenance_; }
  nlohmann::json to_json() const;
  /// Writes the table to its file (atomically).
  void save() const;

 private:
  std::string path_, target_;
  int threads_ = 1;
  nlohmann::json provenance_ = nlohmann::json::object();
  std::map<std::string, TableEntry> entries_;
};

/// Measures, through `oracle`, every layer of `layers` whose signature `table` lacks: in chunks of 16, `rounds`
/// rounds each timing every layer of the chunk once (so a drift of the device's speed hits all alike; a pool of
/// devices shares each round out, see DevicePool); the median
/// per layer goes into the table, which is saved after each chunk when it has a file. Returns the number of
/// signatures measured.
int measure_missing(Oracle& oracle, const std::vector<ir::Layer>& layers, LayerTimings& table, int rounds);

/// The channel multiple the target's kernels work in, probed on `conv` (a conv layer of the model at its input
/// size, output channels varied): for m in 2, 4, 8, 16, 32 the width just past a multiple of m is compared with
/// the next multiple (k m + 1 against (k + 1) m, k = 1, 2). The result is the largest m for which (and for all
/// of whose divisors) the width just past costs as much as the next multiple (within 5%): widths between
/// multiples are then never faster, and rounding to m keeps channels for free. 1 when the layer's time hardly
/// grows with its channels (fixed costs dominate: nothing to tell). Timings go into `table`.
struct ChannelStep {
  std::int64_t multiple = 1;
  nlohmann::json evidence;  // the widths and milliseconds it was decided on, and why
};
ChannelStep probe_channel_step(Oracle& oracle, const ir::Layer& conv, LayerTimings& table, int rounds);

}  // namespace xcel::latency
