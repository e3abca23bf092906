// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// The latency model of a latency-budgeted search (see latency_model.h).
#include "xcel/jobs/latency_model.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>

#include "xcel/core/clock.h"
#include "xcel/core/error.h"
#include "xcel/core/log.h"
#include "xcel/core/stats.h"
#include "xcel/ir/model.h"
#include "xcel/latency/layer_timings.h"
#include "xcel/latency/oracle.h"
#include "xcel/latency/profile.h"
#include "xcel/prune/engine.h"
#include "xcel/prune/policy.h"

namespace xcel::jobs {

namespace {

constexpr const char* kPredictorPrefix = "predictor:";

bool prunable(const prune::DependencyGraph& dg, const prune::ChannelMap& map) {
  for (const auto& seg : map.segments)
    if (dg.groups[static_cast<size_t>(dg.group_of_space[static_cast<size_t>(seg.space)])].prunable) return true;
  return false;
}

// The group widths when every prunable group keeps share `r` of its channels (rounded, never below lbound).
std::vector<std::int64_t> uniform_kept(const prune::DependencyGraph& dg, const LatencyModelOptions& o, double r) {
  std::vector<std::int64_t> kept = dg.full_widths();
  for (int g : dg.prunable_groups()) {
    const std::int64_t ch = dg.groups[static_cast<size_t>(g)].channels;
    const std::int64_t step = dg.step(g, o.round_to);
    kept[static_cast<size_t>(g)] = std::max(prune::keep_count(ch, o.lbound, step), prune::keep_count(ch, r, step));
  }
  return kept;
}

// The grid's k-th share (k = 0 .. grid - 1), evenly from the search's narrowest to the full width.
double grid_share(const LatencyModelOptions& o, int k) { return o.lbound + (1.0 - o.lbound) * k / (o.grid - 1); }

// The widths one side of a layer takes at the grid's shares (deduplicated, ascending).
std::vector<std::int64_t> side_grid(const prune::DependencyGraph& dg, const prune::ChannelMap& map,
                                    const LatencyModelOptions& o) {
  std::set<std::int64_t> widths;
  const bool changes = prunable(dg, map);
  for (int k = 0; k < (changes ? o.grid : 1); ++k)
    widths.insert(dg.kept_channels(map, uniform_kept(dg, o, changes ? grid_share(o, k) : 1.0)) * map.factor);
  return {widths.begin(), widths.end()};
}

// The priced layers: conv and linear layers (batch norm folds into them in deploy form) with a side the search
// changes, each with its grid and the one-layer models at the grid's points.
struct Priced {
  search::LayerTable table;
  std::vector<ir::Layer> points;  // row-major like table.ms
  ir::Layer full;
};

std::vector<Priced> plan(const prune::DependencyGraph& dg, const ir::ModelSummary& summary, const LatencyModelOptions& o) {
  std::map<std::string, const ir::Layer*> by_name;
  for (const auto& l : summary.layers) by_name.emplace(l.name, &l);
  std::vector<Priced> out;
  for (size_t i = 0; i < dg.layers.size(); ++i) {
    const auto& c = dg.layers[i];
    auto it = by_name.find(c.name);
    if (it == by_name.end() || c.fixed || c.kind == ir::LayerKind::kBatchNorm || c.flops <= 0) continue;
    if (!prunable(dg, c.in) && !prunable(dg, c.out)) continue;
    Priced p;
    p.full = *it->second;
    p.table.layer = static_cast<int>(i);
    p.table.depthwise = c.depthwise;
    p.table.in = side_grid(dg, c.in, o);
    p.table.out = c.depthwise ? std::vector<std::int64_t>{p.full.out_channels} : side_grid(dg, c.out, o);
    for (std::int64_t cin : p.table.in)
      for (std::int64_t cout : p.table.out) p.points.push_back(ir::with_channels(p.full, cin, cout));
    out.push_back(std::move(p));
  }
  return out;
}

// The oracle that prices layers for `kind`, and whether its numbers are measurements.
std::unique_ptr<latency::Oracle> layer_oracle(const std::string& kind, const device::TargetProfile& target,
                                              latency::Oracle* device, bool& measured) {
  latency::OracleOptions oo;
  oo.use_cache = false;
  measured = false;
  if (kind.rfind(kPredictorPrefix, 0) == 0) {
    oo.backend = "predictor";
    oo.predictor = kind.substr(std::string(kPredictorPrefix).size());
    return latency::make_oracle(target, oo);
  }
  if (kind == "table" && device != nullptr) {
    measured = true;
    return nullptr;  // the device itself
  }
  oo.backend = "roofline";
  return latency::make_oracle(target, oo);
}

// Uniform policies at the grid's shares (descending from the original), deduplicated.
std::vector<std::vector<std::int64_t>> uniform_policies(const prune::DependencyGraph& dg, const LatencyModelOptions& o) {
  std::vector<std::vector<std::int64_t>> out;
  for (int k = o.grid - 1; k >= 0; --k) {
    std::vector<std::int64_t> kept = uniform_kept(dg, o, grid_share(o, k));
    if (std::find(out.begin(), out.end(), kept) == out.end()) out.push_back(std::move(kept));
  }
  return out;
}

struct Calibration {
  double a = 1, b = 0;
  double original_ms = 0, original_layers_ms = 0;
  nlohmann::json points = nlohmann::json::array();
};

Calibration calibrate(torch::jit::Module& model, const prune::DependencyGraph& dg, const ir::ModelSummary& summary,
                      const LatencyModelOptions& o, latency::Oracle& oracle, const search::CostModel& tables, int rounds) {
  const auto policies = uniform_policies(dg, o);
  std::vector<torch::jit::Module> modules;
  std::vector<ir::ModelSummary> summaries;
  for (const auto& w : policies) {
    const bool original = w == dg.full_widths();
    modules.push_back(original ? model : prune::apply(model, dg, prune::select_channels(model, dg, w, prune::Importance::kL1)));
    summaries.push_back(original ? summary : ir::analyze(modules.back(), summary.input_shape));
  }
  const std::vector<double> ms = latency::medians_in_turns(oracle, modules, summaries, rounds);
  std::vector<double> x, y;
  Calibration c;
  for (size_t i = 0; i < policies.size(); ++i) {
    x.push_back(search::predict_ms(tables, dg, policies[i]));  // the tables' sum (their constant is 0 here)
    y.push_back(ms[i]);
    c.points.push_back({{"flops", dg.predict_flops(policies[i])}, {"tables_ms", x.back()}, {"measured_ms", y.back()}});
  }
  c.original_layers_ms = x.front();
  c.original_ms = y.front();
  // Least squares of y = a x + b; a stays positive (more channels never predict less time), and with a single
  // point (nothing to prune) the tables are scaled to the measurement.
  const double n = static_cast<double>(x.size());
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (size_t i = 0; i < x.size(); ++i) sx += x[i], sy += y[i], sxx += x[i] * x[i], sxy += x[i] * y[i];
  const double den = n * sxx - sx * sx;
  if (x.size() >= 2 && den > 1e-18) {
    c.a = (n * sxy - sx * sy) / den;
    c.b = (sy - c.a * sx) / n;
  }
  if (x.size() < 2 || den <= 1e-18 || c.a <= 0) {
    c.a = y.front() / std::max(1e-12, x.front());
    c.b = 0;
  }
  return c;
}

}  // namespace

nlohmann::json channel_rounding(std::int64_t requested, const device::TargetProfile& target,
                                const ir::ModelSummary& summary, latency::Oracle* device, const std::string& table_file) {
  nlohmann::json r;
  if (requested > 0) {
    r = {{"round_to", requested}, {"source", "--round-to"}};
  } else {
    r = {{"round_to", target.round_to}, {"source", "target profile " + target.path}};
    const ir::Layer* conv = nullptr;
    for (const auto& l : summary.layers)
      if (l.kind == ir::LayerKind::kConv && l.groups == 1 && (conv == nullptr || l.flops > conv->flops)) conv = &l;
    if (device != nullptr && conv != nullptr) {
      latency::LayerTimings store = latency::LayerTimings::open(
          table_file.empty() ? latency::LayerTimings::default_path(target.name, target.threads) : table_file,
          target.name, target.threads);
      const latency::ChannelStep step = latency::probe_channel_step(*device, *conv, store, 3);
      r = {{"round_to", std::max(target.round_to, step.multiple)},
           {"source", fmt::format("probed on {}", device->description())},
           {"probe", step.evidence}};
    }
  }
  spdlog::info("kept channels are multiples of {} ({})", r.at("round_to").get<std::int64_t>(),
               r.at("source").get<std::string>());
  return r;
}

void check_latency_model_kind(const std::string& kind) {
  XCEL_CHECK(kind == "table" || kind == "roofline" ||
                 (kind.rfind(kPredictorPrefix, 0) == 0 && kind.size() > std::string(kPredictorPrefix).size()),
             ExitCode::kUsage, "unknown --latency-model '{}'; use table, roofline or predictor:FILE", kind);
}

LatencyModel build_latency_model(torch::jit::Module& model, const prune::DependencyGraph& dg,
                                 const ir::ModelSummary& summary, const device::TargetProfile& target,
                                 const LatencyModelOptions& o, latency::Oracle* device) {
  check_latency_model_kind(o.kind);
  XCEL_CHECK(o.grid >= 2, ExitCode::kUsage, "--table-grid {} must be at least 2", o.grid);
  const auto t0 = std::chrono::steady_clock::now();
  bool measured = false;
  std::unique_ptr<latency::Oracle> own = layer_oracle(o.kind, target, device, measured);
  latency::Oracle& oracle = own ? *own : *device;
  if (o.kind == "table" && !measured)
    spdlog::warn("no {} device to measure the latency table on: the budget's latency model is the roofline estimate "
                 "from {} (estimated, not measured)", target.name, target.path);
  std::vector<Priced> priced = plan(dg, summary, o);
  std::vector<ir::Layer> points;
  for (const auto& p : priced) points.insert(points.end(), p.points.begin(), p.points.end());

  // Measured tables live in a file that grows across runs; estimates are recomputed (instant).
  latency::LayerTimings store = latency::LayerTimings::open(
      measured ? (o.table_file.empty() ? latency::LayerTimings::default_path(target.name, target.threads) : o.table_file)
               : std::string(),
      target.name, target.threads);
  std::set<std::string> signatures;
  for (const auto& l : points) signatures.insert(latency::layer_signature(l));
  const int new_points = latency::measure_missing(oracle, points, store, measured ? o.rounds : 1);

  LatencyModel m;
  int raised = 0;
  for (auto& p : priced) {
    for (const auto& l : p.points) p.table.ms.push_back(store.find(latency::layer_signature(l))->ms.median);
    raised += p.table.make_monotone();
    m.cost.tables.push_back(p.table);
  }
  // Whole models in the same form calibrate the tables: the uniform policies at the grid's shares (the original
  // among them), measured in interleaved rounds; total = a x (sum of the tables) + b by least squares. `a` covers
  // what isolated layers miss or add (fusion, the activations and pooling that scale with the channels), `b` the
  // rest of the forward pass.
  const Calibration cal = calibrate(model, dg, summary, o, oracle, m.cost, measured ? o.rounds : 1);
  for (auto& t : m.cost.tables)
    for (double& v : t.ms) v *= cal.a;
  m.cost.constant = cal.b;
  const double total = cal.original_ms, layers_ms = cal.original_layers_ms, scale = cal.a;
  const std::string source = measured ? "measured" : "estimated";
  m.description = fmt::format("{} layer table ({} layers x up to {}x{} widths) by {}, calibrated on {} whole models: "
                              "{:.3f} x tables + {:.4f} ms (original {:.4f} ms)", source, priced.size(), o.grid, o.grid,
                              oracle.description(), cal.points.size(), scale, cal.b, total);
  m.info = {{"kind", o.kind},
            {"source", source},
            {"oracle", oracle.description()},
            {"table_file", measured ? nlohmann::json(store.path()) : nlohmann::json()},
            {"grid", o.grid},
            {"layers", priced.size()},
            {"points", points.size()},
            {"measured_signatures", new_points},
            {"reused_signatures", measured ? static_cast<int>(signatures.size()) - new_points : 0},
            {"monotone_raised", raised},
            {"layers_scale", scale},
            {"constant_ms", cal.b},
            {"original_ms", total},
            {"original_layers_ms", layers_ms},
            {"calibration", cal.points},
            {"seconds", seconds_since(t0)}};
  spdlog::info("latency model: {} ({} new one-layer measurements, {} values raised to the monotone envelope)",
               m.description, new_points, raised);
  return m;
}

nlohmann::json describe_tables(const LatencyModel& m, const prune::DependencyGraph& dg) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& t : m.cost.tables)
    rows.push_back({{"layer", dg.layers[static_cast<size_t>(t.layer)].name},
                    {"in", t.in},
                    {"out", t.out},
                    {"depthwise", t.depthwise},
                    {"ms", t.ms}});
  return rows;
}

}  // namespace xcel::jobs
