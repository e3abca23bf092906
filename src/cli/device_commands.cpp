// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// xcel targets | devices | latency measure: target profiles, connected phones, and one model's latency from
// the oracle (measured on the host or a phone, or estimated), always labelled with its source.
#include <iostream>

#include <spdlog/fmt/fmt.h>

#include "xcel/cli/common.h"
#include "xcel/core/error.h"
#include "xcel/device/adb.h"
#include "xcel/device/target.h"
#include "xcel/jobs/latency_job.h"
#include "xcel/report/table.h"

namespace xcel::cli {
namespace {

// xcel targets: the profiles in configs/targets, schema-checked.
void register_targets(CLI::App& app) {
  auto out = std::make_shared<OutputOptions>();
  auto* cmd = app.add_subcommand("targets", "List the target profiles in configs/targets (schema-checked)");
  add_output_options(cmd, *out);
  cmd->callback([out] {
    nlohmann::json all = nlohmann::json::array();
    using report::Align;
    report::Table t({"target", "kind", "round to", "threads", "benchmark", "description"},
                    {Align::kLeft, Align::kLeft, Align::kRight, Align::kRight, Align::kLeft, Align::kLeft});
    const auto names = device::list_targets();
    XCEL_CHECK(!names.empty(), ExitCode::kInput, "no target profiles in '{}/targets'; point XCEL_CONFIG_DIR at xcel's "
               "configs directory (or unset it)", device::config_dir());
    for (const auto& name : names) {
      const auto p = device::load_target(name);
      all.push_back(p);
      t.add({p.name, p.kind, std::to_string(p.round_to), std::to_string(p.threads), device::benchmark_text(p),
             p.description});
    }
    if (out->json) {
      print_json(all);
    } else {
      std::cout << t.str() << "profiles: " << device::config_dir() << "/targets\n";
    }
  });
}

// xcel devices: connected Android devices and the targets they match.
void register_devices(CLI::App& app) {
  auto out = std::make_shared<OutputOptions>();
  auto* cmd = app.add_subcommand("devices", "List connected Android devices (adb) and the target each matches");
  add_output_options(cmd, *out);
  cmd->callback([out] {
    nlohmann::json all = nlohmann::json::array();
    using report::Align;
    report::Table t({"serial", "state", "model", "SoC", "ABI", "target"},
                    {Align::kLeft, Align::kLeft, Align::kLeft, Align::kLeft, Align::kLeft, Align::kLeft});
    for (const auto& d : device::connected_devices()) {
      nlohmann::json j = {{"serial", d.serial}, {"state", d.state}, {"targets", d.targets}};
      for (const auto& [k, v] : d.props) j["props"][k] = v;
      all.push_back(j);
      auto or_dash = [](const std::string& v) { return v.empty() ? std::string("-") : v; };
      t.add({d.serial, d.state, or_dash(d.model), or_dash(d.prop("ro.board.platform")), or_dash(d.prop("ro.product.cpu.abi")),
             d.state != "device" ? "(" + d.state + ": not usable)" : (d.targets.empty() ? "(none)" : d.targets)});
    }
    if (out->json) {
      print_json(all);
    } else if (all.empty()) {
      std::cout << "no Android devices connected (adb devices lists none)\n";
    } else {
      std::cout << t.str();
    }
  });
}

void register_latency_table(CLI::App* latency_cmd);

// xcel latency measure | fit: one model through the oracle; a predictor fitted on measured variants.
void register_latency(CLI::App& app) {
  auto latency_cmd = app.add_subcommand("latency", "Latency of models on a target through the latency oracle");
  latency_cmd->require_subcommand(1);
  struct Options {
    jobs::MeasureOptions job;
    bool no_cache = false;
    OutputOptions out;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = latency_cmd->add_subcommand(
      "measure", "Latency of one model on a target: measured (host or phone over adb) or estimated (roofline)");
  cmd->add_option("--model,-m", o->job.model, "TorchScript model (.pt, or .ptl for PyTorch Mobile)")->required();
  add_target_option(cmd, o->job.target, "Target profile");
  cmd->add_option("--input,-i", o->job.input, "Input shape N,C,H,W (N is set to 1)")->capture_default_str();
  cmd->add_option("--backend", o->job.oracle.backend, "auto (host: local, phones: adb), local, adb, roofline or predictor")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "local", "adb", "roofline", "predictor"}));
  cmd->add_option("--predictor", o->job.oracle.predictor, "Predictor file from xcel latency fit (--backend predictor)");
  add_serial_option(cmd, o->job.oracle.serial);
  add_threads_option(cmd, o->job.oracle.threads, "Threads (default: the target's)");
  add_bench_options(cmd, o->job.oracle.warmup, o->job.oracle.runs, "", "runs");
  cmd->add_flag("--no-cache", o->no_cache, "Measure again even when this file was measured before");
  add_output_options(cmd, o->out);
  cmd->callback([o] {
    o->job.oracle.use_cache = !o->no_cache;
    const latency::Latency l = jobs::run_latency_measure(o->job);
    if (o->out.json) {
      nlohmann::json j = l;
      j["model"] = o->job.model;
      print_json(j);
      return;
    }
    std::cout << fmt::format("{}: {} {:.3f} ms", o->job.model, l.source == "measured" ? "median" : "estimate", l.ms.median);
    if (l.ms.n > 1)
      std::cout << fmt::format(" (p10 {:.3f}, p90 {:.3f}, std {:.3f}, {} runs)", l.ms.p10, l.ms.p90, l.ms.std, l.ms.n);
    std::cout << fmt::format(" — {} on {} by {} ({}), {} thread{}{}\n", l.source, l.device, l.method, l.form, l.threads,
                             l.threads == 1 ? "" : "s", l.cached ? " (cached result)" : "");
  });
  auto f = std::make_shared<jobs::FitOptions>();
  auto fit_out = std::make_shared<OutputOptions>();
  auto* fit = latency_cmd->add_subcommand(
      "fit", "Fit a latency predictor (per-layer lookup table + MLP regressor + whole-model calibration) on random "
             "pruned variants measured on the target, and report its accuracy on held-out variants");
  fit->add_option("--models", f->models, "TorchScript models whose pruned variants are sampled")
      ->required()
      ->delimiter(',');
  add_target_option(fit, f->target, "Target profile");
  fit->add_option("--out,-o", f->out, "Where to write the predictor (JSON)")->required();
  fit->add_option("--variants", f->variants, "Random pruned variants per model")->capture_default_str();
  fit->add_option("--holdout", f->holdout, "Share of variants held out to measure accuracy")->capture_default_str();
  add_bench_options(fit, f->warmup, f->runs, "", "runs per measurement");
  fit->add_option("--rounds", f->rounds, "Interleaved measurement passes (median per variant and layer)")
      ->capture_default_str()
      ->check(positive());
  fit->add_option("--seed", f->seed, "Seed of the variant sampling")->capture_default_str();
  fit->add_option("--input,-i", f->input, "Input shape N,C,H,W")->capture_default_str();
  add_threads_option(fit, f->threads, "Threads the predictor is for");
  add_output_options(fit, *fit_out);
  register_latency_table(latency_cmd);
  fit->callback([f, fit_out] {
    auto r = jobs::run_latency_fit(*f);
    if (fit_out->json) {
      print_json(r);
      return;
    }
    std::cout << fmt::format(
        "fitted on {} variants, {} held out: {:.1f}% within +-10% of measured, RMSE {:.4f} ms ({:.1f}% relative)\n"
        "table: {} layer signatures, {} layer classes fitted; MLP used for {:.1f}% of held-out layers; {:.0f} s\n"
        "wrote {}\n",
        r.at("fitted").get<int>(), r.at("held_out").get<int>(), 100 * r.at("within_10pct").get<double>(),
        r.at("rmse_ms").get<double>(), 100 * r.at("rmse_relative").get<double>(), r.at("table_entries").get<int>(),
        r.at("layer_classes_fitted").get<int>(), 100 * r.at("regressed_layer_share").get<double>(), r.at("seconds").get<double>(), r.at("out").get<std::string>());
  });
}

std::string join(const std::vector<std::int64_t>& v) {
  std::string s;
  for (auto x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

// xcel latency table: the latency model of a latency-budgeted search, built (or read from the table file) on its own.
void register_latency_table(CLI::App* latency_cmd) {
  auto o = std::make_shared<jobs::TableOptions>();
  auto out = std::make_shared<OutputOptions>();
  auto* cmd = latency_cmd->add_subcommand(
      "table", "Build the latency table a latency-budgeted search of a model uses: one-layer latencies at a grid of "
               "the widths the search can choose, measured on the target and kept in the table file across runs");
  cmd->add_option("--model,-m", o->model, "TorchScript model")->required();
  add_target_option(cmd, o->target, "Target profile (host, or a phone over adb)");
  cmd->add_option("--input,-i", o->input, "Input shape N,C,H,W (N is set to 1)")->capture_default_str();
  cmd->add_option("--latency-model", o->latency_model, "table (measured), roofline, or predictor:FILE")
      ->capture_default_str();
  cmd->add_option("--latency-table", o->table, "Table file to read and extend (default: the cache's file for the "
                                               "target, $XCEL_CACHE_DIR/latency/tables/TARGET-tN.json)");
  cmd->add_option("--table-grid", o->grid, "Widths per layer side (>= 2)")->capture_default_str()->check(CLI::Range(2, 64));
  cmd->add_option("--lbound", o->lbound, "Narrowest preserve ratio of the grid (the search's --lbound)")
      ->capture_default_str();
  cmd->add_option("--round-to", o->round_to, "Channel multiple of the grid (default: as a search chooses it, probed on "
                                             "the target)")
      ->check(positive());
  add_serial_option(cmd, o->serial);
  add_threads_option(cmd, o->threads, "Threads (default: the target's)");
  cmd->add_option("--check", o->check, "Also measure this many random prunings whole and report the table's error")
      ->capture_default_str()
      ->check(non_negative());
  cmd->add_option("--rounds", o->rounds, "Interleaved rounds per measurement")->capture_default_str()->check(positive());
  cmd->add_option("--seed", o->seed, "Seed of the --check prunings")->capture_default_str();
  add_output_options(cmd, *out);
  cmd->callback([o, out] {
    const nlohmann::json r = jobs::run_latency_table(*o);
    if (out->json) {
      print_json(r);
      return;
    }
    const auto& info = r.at("info");
    std::cout << fmt::format("channels in multiples of {} ({})\n", r.at("rounding").at("round_to").get<std::int64_t>(),
                             r.at("rounding").at("source").get<std::string>());
    std::cout << fmt::format("{} on {} ({} thread(s)): {} layers, {} grid points ({} measured now, {} from the table), "
                             "{:.1f} s\n", info.at("source").get<std::string>(), r.at("target").get<std::string>(),
                             r.at("threads").get<int>(), info.at("layers").get<int>(), info.at("points").get<int>(),
                             info.at("measured_signatures").get<int>(), info.at("reused_signatures").get<int>(),
                             info.at("seconds").get<double>());
    using report::Align;
    report::Table t({"layer", "in widths", "out widths", "ms at smallest", "ms at full"},
                    {Align::kLeft, Align::kLeft, Align::kLeft, Align::kRight, Align::kRight});
    for (const auto& l : r.at("layers")) {
      const auto ms = l.at("ms").get<std::vector<double>>();
      t.add({l.at("layer").get<std::string>(), join(l.at("in").get<std::vector<std::int64_t>>()),
             l.at("depthwise").get<bool>() ? "(depthwise)" : join(l.at("out").get<std::vector<std::int64_t>>()),
             fmt::format("{:.4f}", ms.front()), fmt::format("{:.4f}", ms.back())});
    }
    std::cout << t.str();
    std::cout << fmt::format("rest of the model: {:.4f} ms; original {:.4f} ms\n", r.at("constant_ms").get<double>(),
                             info.at("original_ms").get<double>());
    if (!info.at("table_file").is_null()) std::cout << "table: " << info.at("table_file").get<std::string>() << "\n";
    if (r.contains("check")) {
      const auto& c = r.at("check");
      std::cout << fmt::format("check on {} random prunings measured whole: {:.1f}% within +-10%, RMSE {:.1f}% "
                               "relative, measured/predicted median {:.3f}\n", c.at("variants").get<int>(),
                               100 * c.at("within_10pct").get<double>(), 100 * c.at("rmse_relative").get<double>(),
                               c.at("measured_over_predicted").at("median").get<double>());
    }
  });
}

}  // namespace

void register_device_commands(CLI::App& app) {
  register_targets(app);
  register_devices(app);
  register_latency(app);
}

}  // namespace xcel::cli
