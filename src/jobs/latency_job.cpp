// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/jobs/latency_job.h"

#include <chrono>
#include <cmath>
#include <random>

#include "xcel/core/clock.h"
#include "xcel/core/error.h"
#include "xcel/core/fs.h"
#include "xcel/core/progress.h"
#include "xcel/device/target.h"
#include "xcel/ir/model.h"
#include "xcel/jobs/latency_model.h"
#include "xcel/latency/predictor.h"
#include "xcel/prune/engine.h"

namespace xcel::jobs {
namespace {

ir::Shape batch_one(const std::string& text) {
  ir::Shape input = ir::parse_shape(text);
  input[0] = 1;
  return input;
}

// The models whose latency the predictor learns: each given model and `variants` random prunings of it, with
// their layer tables; the layers of the variants kept for fitting fill the table to be measured.
struct Variants {
  std::vector<torch::jit::Module> modules;
  latency::FitData data;
};

Variants sample_variants(const FitOptions& o, const device::TargetProfile& target, const ir::Shape& input) {
  Variants v;
  std::mt19937_64 rng(o.seed);
  for (const auto& path : o.models) {
    torch::jit::Module model = ir::load_model(path);
    const auto dg = prune::build_dependency_graph(model, input);
    const auto prunable = dg.prunable_groups();
    // Variants of a model with nothing to prune are all the original: a fit on them measures nothing.
    XCEL_CHECK(!prunable.empty(), ExitCode::kUnsupported,
               "'{}' has no channel group xcel can prune, so its variants would all be the original; fit on models "
               "with prunable layers (xcel inspect shows them)", path);
    for (int k = 0; k <= o.variants; ++k) {
      std::vector<std::int64_t> widths = dg.full_widths();
      if (k > 0) {
        std::uniform_real_distribution<double> ratio(o.lbound, 1.0);
        for (int g : prunable) widths[g] = prune::keep_count(widths[g], ratio(rng), dg.step(g, target.round_to));
      }
      torch::jit::Module m =
          k == 0 ? model : prune::apply(model, dg, prune::select_channels(model, dg, widths, prune::Importance::kL1));
      latency::FitSample s;
      s.model = path;
      s.summary = ir::analyze(m, input);
      s.held_out = k > 0 && std::uniform_real_distribution<double>(0, 1)(rng) < o.holdout;
      if (!s.held_out)
        for (const auto& l : s.summary.layers) v.data.layers.emplace(latency::layer_signature(l), l);
      v.data.samples.push_back(std::move(s));
      v.modules.push_back(m);
    }
  }
  return v;
}

// Every variant and every table layer measured in `rounds` interleaved passes, each keeping its median: slow
// drifts of a shared machine's speed then hit all of them alike instead of biasing some.
void measure_variants(Variants& v, latency::Oracle& oracle, int rounds) {
  auto& d = v.data;
  std::vector<std::vector<double>> model_ms(d.samples.size()), layer_ms(d.layers.size());
  Progress progress("measurement round", rounds);
  for (int r = 0; r < rounds; ++r) {
    for (size_t i = 0; i < d.samples.size(); ++i)
      model_ms[i].push_back(oracle.latency(v.modules[i], d.samples[i].summary).ms.median);
    size_t k = 0;
    for (const auto& [sig, l] : d.layers) layer_ms[k++].push_back(oracle.layer(l).ms.median);
    progress.update(r + 1, fmt::format("{} variants, {} layer signatures", d.samples.size(), d.layers.size()));
  }
  progress.finish();
  for (size_t i = 0; i < d.samples.size(); ++i) d.samples[i].measured_ms = summarize(model_ms[i]).median;
  size_t k = 0;
  for (const auto& [sig, l] : d.layers) d.layer_ms[sig] = summarize(layer_ms[k++]).median;
}

}  // namespace

latency::Latency run_latency_measure(const MeasureOptions& o) {
  const auto target = device::load_target(o.target);
  const ir::ModelSummary summary = ir::inspect_file(o.model, batch_one(o.input));
  return latency::make_oracle(target, o.oracle)->latency(o.model, summary);
}

latency::Profile run_profile(const ProfileOptions& o) {
  const auto target = device::load_target(o.target);
  XCEL_CHECK(o.out.empty() || !fs::same_file(o.out, o.model), ExitCode::kUsage, "--out '{}' is the input model", o.out);
  if (!o.out.empty()) fs::check_writable(o.out, "--out");
  ir::set_threads(o.threads);
  auto module = ir::load_model(o.model);
  ir::ModelSummary summary = ir::analyze(module, batch_one(o.input));
  summary.path = o.model;
  latency::OracleOptions oo;
  oo.serial = o.serial;
  oo.warmup = o.warmup;
  oo.runs = std::max(0, o.runs);
  oo.threads = o.threads;
  oo.use_cache = false;
  const latency::Profile p = latency::profile_model(*latency::make_oracle(target, oo), module, summary);
  if (!o.out.empty()) fs::write_file_atomic(o.out, nlohmann::json(p).dump(2) + "\n");
  return p;
}

nlohmann::json run_latency_fit(const FitOptions& o) {
  XCEL_CHECK(!o.models.empty(), ExitCode::kUsage, "--models needs at least one TorchScript model");
  XCEL_CHECK(o.variants >= 4, ExitCode::kUsage, "--variants must be at least 4 (got {})", o.variants);
  XCEL_CHECK(o.holdout > 0 && o.holdout < 1, ExitCode::kUsage, "--holdout must be in (0, 1) (got {})", o.holdout);
  XCEL_CHECK(!o.out.empty(), ExitCode::kUsage, "--out FILE is required");
  for (const auto& m : o.models)
    XCEL_CHECK(!fs::same_file(o.out, m), ExitCode::kUsage, "--out '{}' is an input model", o.out);
  fs::check_writable(o.out, "--out");
  const auto target = device::load_target(o.target);
  const auto t0 = std::chrono::steady_clock::now();
  ir::set_threads(o.threads);
  const ir::Shape input = batch_one(o.input);
  latency::OracleOptions oo;
  oo.threads = o.threads;
  oo.warmup = o.warmup;
  oo.runs = std::max(0, o.runs);
  oo.use_cache = false;  // every round measures
  auto oracle = latency::make_oracle(target, oo);
  Variants v = sample_variants(o, target, input);
  measure_variants(v, *oracle, std::max(1, o.rounds));
  v.data.target = o.target;
  v.data.threads = o.threads;
  v.data.seed = o.seed;
  v.data.provenance = {{"models", o.models}, {"input", input}};
  nlohmann::json report = latency::fit_predictor(v.data, o.out);
  report["seconds"] = seconds_since(t0);
  return report;
}

namespace {

// The model's accuracy on `n` random prunings (each group at a preserve ratio drawn from [lbound, 1]), measured
// whole in `rounds` interleaved passes (medians).
nlohmann::json check_table(const TableOptions& o, const LatencyModel& m, torch::jit::Module& model,
                           const prune::DependencyGraph& dg, const ir::Shape& input, std::int64_t round_to,
                           latency::Oracle& device) {
  std::mt19937_64 rng(o.seed);
  std::uniform_real_distribution<double> ratio(o.lbound, 1.0);
  std::vector<std::vector<std::int64_t>> widths;
  std::vector<torch::jit::Module> modules;
  std::vector<ir::ModelSummary> summaries;
  for (int k = 0; k < o.check; ++k) {
    std::vector<std::int64_t> w = dg.full_widths();
    for (int g : dg.prunable_groups()) w[g] = prune::keep_count(w[g], ratio(rng), dg.step(g, round_to));
    modules.push_back(prune::apply(model, dg, prune::select_channels(model, dg, w, prune::Importance::kL1)));
    summaries.push_back(ir::analyze(modules.back(), input));
    widths.push_back(std::move(w));
  }
  std::vector<std::vector<double>> ms(modules.size());
  Progress progress("check round", o.rounds);
  for (int r = 0; r < o.rounds; ++r) {
    for (size_t i = 0; i < modules.size(); ++i) ms[i].push_back(device.latency(modules[i], summaries[i]).ms.median);
    progress.update(r + 1, fmt::format("{} variants", modules.size()));
  }
  progress.finish();
  int within = 0;
  double sq = 0;
  std::vector<double> ratios;
  nlohmann::json rows = nlohmann::json::array();
  for (size_t i = 0; i < modules.size(); ++i) {
    const double measured = summarize(ms[i]).median;
    const double predicted = search::predict_ms(m.cost, dg, widths[i]);
    const double rel = (predicted - measured) / measured;
    within += std::abs(rel) <= 0.10;
    sq += rel * rel;
    ratios.push_back(measured / predicted);
    rows.push_back({{"widths", widths[i]}, {"predicted_ms", predicted}, {"measured_ms", measured}});
  }
  const double n = static_cast<double>(modules.size());
  return {{"variants", modules.size()},
          {"within_10pct", within / n},
          {"rmse_relative", std::sqrt(sq / n)},
          {"measured_over_predicted", summarize(ratios)},
          {"rows", rows}};
}

}  // namespace

nlohmann::json run_latency_table(const TableOptions& o) {
  XCEL_CHECK(o.lbound > 0 && o.lbound <= 1, ExitCode::kUsage, "--lbound {} is outside (0, 1]", o.lbound);
  XCEL_CHECK(o.check >= 0 && o.rounds >= 1, ExitCode::kUsage, "--check must be >= 0 and --rounds >= 1");
  if (!o.table.empty()) fs::check_writable(o.table, "--latency-table");
  device::TargetProfile target = device::load_target(o.target);
  if (o.threads > 0) target.threads = o.threads;
  ir::set_threads(target.threads);
  const ir::Shape input = batch_one(o.input);
  torch::jit::Module model = ir::load_model(o.model);
  const auto dg = prune::build_dependency_graph(model, input);
  ir::ModelSummary summary = ir::analyze(model, input);
  summary.path = o.model;
  latency::OracleOptions oo;
  oo.serial = o.serial;
  oo.threads = target.threads;
  oo.use_cache = false;
  // A measured table and a check need the device (exit 6 when it cannot be reached); estimates do not.
  std::unique_ptr<latency::Oracle> device;
  if (o.latency_model == "table" || o.check > 0) device = latency::make_oracle(target, oo);
  const nlohmann::json rounding = channel_rounding(o.round_to, target, summary, device.get(), o.table);
  LatencyModelOptions lo;
  lo.kind = o.latency_model;
  lo.table_file = o.table;
  lo.grid = o.grid;
  lo.lbound = o.lbound;
  lo.round_to = rounding.at("round_to").get<std::int64_t>();
  lo.rounds = o.rounds;
  const LatencyModel m = build_latency_model(model, dg, summary, target, lo, device.get());
  nlohmann::json out = {{"model", o.model}, {"target", target.name}, {"threads", target.threads},
                        {"rounding", rounding}, {"info", m.info}, {"constant_ms", m.cost.constant}, {"layers", describe_tables(m, dg)}};
  if (o.check > 0) out["check"] = check_table(o, m, model, dg, input, lo.round_to, *device);
  return out;
}

}  // namespace xcel::jobs
