// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/report/run_report.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <optional>

#include <nlohmann/json.hpp>
#include <spdlog/fmt/fmt.h>

#include "xcel/core/error.h"
#include "xcel/core/fs.h"
#include "xcel/core/run_dir.h"
#include "xcel/report/svg.h"
#include "xcel/report/table.h"

namespace xcel::report {
namespace {

using nlohmann::json;
using svg::escape;

const char* kBlue = "#2563eb";
const char* kOrange = "#ea580c";
const char* kGreen = "#16a34a";
const char* kGray = "#9ca3af";
const char* kPurple = "#7c3aed";

// Everything a run directory holds that the report draws; missing pieces stay empty.
struct Run {
  std::string dir;
  json config, summary, policy, profile, finetune;
  std::vector<json> episodes, finetune_history;
  bool search() const { return !episodes.empty(); }
  bool quantization() const { return summary.value("kind", "") == "quantization"; }
};

std::optional<json> read_json(const std::string& path) {
  if (!fs::exists(path)) return std::nullopt;
  std::ifstream in(path);
  try {
    return json::parse(in);
  } catch (const std::exception& e) {
    XCEL_FAIL(ExitCode::kInput, "'{}' is not valid JSON ({}); the run directory is damaged", path, e.what());
  }
}

std::vector<json> read_jsonl(const std::string& path) {
  std::vector<json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      out.push_back(json::parse(line));
    } catch (const std::exception&) {
      break;  // a line cut short by an interruption: the lines before it are the run
    }
  }
  return out;
}

Run load_run(const std::string& dir) {
  XCEL_CHECK(fs::is_directory(dir), ExitCode::kInput, "run directory '{}' not found", dir);
  Run r;
  r.dir = dir;
  const RunDir run(dir);
  const RunDir ft = run.sub(RunDir::kFinetuneDir);
  auto summary = read_json(run.file(RunDir::kSummary));
  if (!summary) {
    // A run in progress (or stopped) has a checkpoint and can be finished; anything else is not a run at all.
    const auto config = read_json(run.file(RunDir::kConfig));
    const std::string command = config && config->contains("cli") ? config->at("cli").value("command", "prune") : "prune";
    XCEL_CHECK(!run.has_checkpoint(), ExitCode::kInput,
               "'{}' holds an unfinished run (a checkpoint, no summary.json); finish it with xcel {} --resume --out {}",
               dir, command, dir);
    XCEL_FAIL(ExitCode::kInput, "'{}' is not an xcel run directory (no summary.json); pass the --out of a finished "
              "prune or finetune run", dir);
  }
  r.summary = *summary;
  r.config = read_json(run.file(RunDir::kConfig)).value_or(json::object());
  r.policy = read_json(run.file(RunDir::kPolicy)).value_or(json::object());
  r.profile = read_json(run.file(RunDir::kProfile)).value_or(json::object());
  r.finetune = read_json(ft.file(RunDir::kSummary)).value_or(json::object());
  if (r.finetune.empty() && r.summary.contains("finetune")) r.finetune = r.summary.at("finetune");
  r.episodes = read_jsonl(run.file(RunDir::kEpisodes));
  r.finetune_history = read_jsonl(ft.file(RunDir::kHistory));
  return r;
}

template <typename T>
T get(const json& j, const char* key, T fallback) {
  return j.contains(key) && !j.at(key).is_null() ? j.at(key).get<T>() : fallback;
}

std::string pct(const json& j, const char* key) {
  return j.contains(key) ? percent(j.at(key).get<double>()) : "–";
}

std::string base_name(const std::string& path) {
  auto s = path.find_last_of('/');
  return s == std::string::npos ? path : path.substr(s + 1);
}

// What a run's search spends: FLOPs for pruning, weight size or bit operations for quantization.
struct CostAxis {
  const char* key;    // per-episode field
  const char* label;  // axis label
  const char* short_label;
  std::optional<double> budget;
};

CostAxis cost_axis(const Run& r) {
  const auto& s = r.summary;
  if (r.quantization()) {
    const bool bops = s.value("budget", "") == "bops";
    std::optional<double> b;
    if (s.contains("budget_ratio") && !s.at("budget_ratio").is_null()) b = s.at("budget_ratio").get<double>();
    return bops ? CostAxis{"bops_ratio", "bit operations (fraction of float)", "BOPs", b}
                : CostAxis{"size_ratio", "weight size (fraction of float 32)", "size", b};
  }
  std::optional<double> b;
  if (s.contains("flops_target") && !s.at("flops_target").is_null()) b = s.at("flops_target").get<double>();
  return {"flops_ratio", "FLOPs (fraction of the original)", "FLOPs", b};
}

std::string title_of(const Run& r) {
  const auto& s = r.summary;
  std::string t = base_name(get<std::string>(s, "model", get<std::string>(r.config, "model", r.dir)));
  if (r.quantization()) {
    if (s.contains("budget_ratio"))
      return t + fmt::format(", {} ≤ {:.2f}% of float", cost_axis(r).short_label, 100 * s.at("budget_ratio").get<double>());
    return t + ", " + get<std::string>(s, "precision", "quantized");
  }
  if (s.contains("target")) t += " @ " + s.at("target").get<std::string>();
  if (s.contains("latency_budget_ms")) t += fmt::format(", latency ≤ {:.3f} ms", s.at("latency_budget_ms").get<double>());
  else if (s.contains("flops_target")) t += fmt::format(", FLOPs ≤ {:.0f}%", 100 * s.at("flops_target").get<double>());
  else if (s.contains("flops_ratio")) t += fmt::format(", FLOPs {:.1f}%", 100 * s.at("flops_ratio").get<double>());
  return t;
}

// Header rows: (label, value) pairs shown in the run's table.
std::vector<std::pair<std::string, std::string>> header_rows(const Run& r) {
  const auto& s = r.summary;
  std::vector<std::pair<std::string, std::string>> rows;
  rows.push_back({"model", get<std::string>(s, "model", get<std::string>(r.config, "model", "–"))});
  rows.push_back({"target", get<std::string>(s, "target", get<std::string>(r.config, "target", "–"))});
  if (s.contains("latency_budget_ms")) {
    rows.push_back({"budget", fmt::format("predicted latency ≤ {:.3f} ms on {} ({})", s.at("latency_budget_ms").get<double>(),
                                          get<std::string>(s, "latency_target", "?"), get<std::string>(s, "latency_model", ""))});
    rows.push_back({"latency on the target",
                    fmt::format("predicted {:.3f} → {:.3f} ms; measured {}", get<double>(s, "latency_predicted_ms_before", 0),
                                get<double>(s, "latency_predicted_ms", 0),
                                s.contains("latency_measured_ms") && !s.at("latency_measured_ms").is_null()
                                    ? fmt::format("{:.3f} → {:.3f} ms on {}", get<double>(s, "latency_measured_ms_before", 0),
                                                  s.at("latency_measured_ms").get<double>(),
                                                  get<std::string>(s, "latency_measured_on", "?"))
                                    : std::string("— (") + get<std::string>(s, "latency_measure_error", "no device") + ")")});
  } else if (s.contains("flops_target") && !s.at("flops_target").is_null()) {
    rows.push_back({"budget", fmt::format("FLOPs ≤ {:.1f}% of the original", 100 * s.at("flops_target").get<double>())});
  }
  rows.push_back({"FLOPs", human_count(get<double>(s, "flops_before", 0)) + " → " + human_count(get<double>(s, "flops", 0)) +
                               fmt::format(" ({:.1f}%)", 100 * get<double>(s, "flops_ratio", 0))});
  rows.push_back({"params", human_count(get<double>(s, "params_before", 0)) + " → " + human_count(get<double>(s, "params", 0))});
  if (s.contains("latency_ms"))
    rows.push_back({"latency (host, batch 1)",
                    fmt::format("{:.3f} ms → {:.3f} ms ({:.2f}× faster, measured)", get<double>(s, "latency_ms_before", 0),
                                get<double>(s, "latency_ms", 0), get<double>(s, "speedup", 0))});
  rows.push_back({"val top-1", pct(s, "val_top1_before") + " → " + pct(s, "val_top1")});
  if (s.contains("test_top1")) rows.push_back({"test top-1", pct(s, "test_top1_before") + " → " + pct(s, "test_top1")});
  if (!r.finetune.empty()) {
    rows.push_back({"after fine-tuning",
                    fmt::format("val {}, test {} ({} epochs{})", pct(r.finetune, "val_top1"), pct(r.finetune, "test_top1"),
                                get<int>(r.finetune, "epochs", 0),
                                get<std::string>(r.finetune, "teacher", "").empty() ? "" : ", distilled")});
  }
  if (r.search()) {
    const double per = get<double>(s, "seconds_per_episode", 0);
    const int n = get<int>(s, "episodes", static_cast<int>(r.episodes.size()));
    rows.push_back({"search", fmt::format("{} agent, {} episodes ({} distinct policies), best at episode {}",
                                          get<std::string>(s, "agent", "?"), n, get<int>(s, "unique_policies", 0),
                                          get<int>(s, "best_episode", 0))});
    rows.push_back({"run time", fmt::format("{:.0f} s ({:.3f} s per episode, {} threads)", per * n + get<double>(s, "setup_seconds", 0),
                                            per, get<int>(s, "threads", 1))});
  }
  if (s.contains("seed") || r.config.contains("seed"))
    rows.push_back({"seed", std::to_string(get<std::uint64_t>(s, "seed", get<std::uint64_t>(r.config, "seed", 0)))});
  if (r.config.contains("command_line")) rows.push_back({"command line", r.config.at("command_line").get<std::string>()});
  return rows;
}

std::string table_html(const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows) {
  std::string h = "<table><thead><tr>";
  for (const auto& c : head) h += "<th>" + escape(c) + "</th>";
  h += "</tr></thead><tbody>\n";
  for (const auto& row : rows) {
    h += "<tr>";
    for (const auto& c : row) h += "<td>" + escape(c) + "</td>";
    h += "</tr>\n";
  }
  return h + "</tbody></table>\n";
}

// The header rows of a quantization run (xcel quantize).
std::vector<std::pair<std::string, std::string>> quant_header_rows(const Run& r) {
  const auto& s = r.summary;
  std::vector<std::pair<std::string, std::string>> rows;
  rows.push_back({"model", get<std::string>(s, "model", "–")});
  if (s.contains("budget_ratio"))
    rows.push_back({"budget", fmt::format("{} ≤ {:.2f}% of float", s.value("budget", "") == "bops" ? "bit operations"
                                                                                                   : "weight size",
                                          100 * s.at("budget_ratio").get<double>())});
  else
    rows.push_back({"precision", get<std::string>(s, "precision", "–")});
  rows.push_back({"weight size", fmt::format("{:.2f}% of float 32: {} packed with scales (float {})",
                                             100 * get<double>(s, "size_ratio", 0),
                                             human_bytes(get<double>(s, "packed_bytes", 0)),
                                             human_bytes(get<double>(s, "float_bytes", 0)))});
  rows.push_back({"bit operations", fmt::format("{:.2f}% of float", 100 * get<double>(s, "bops_ratio", 0))});
  rows.push_back({"val top-1", pct(s, "val_top1_before") + " → " + pct(s, "val_top1")});
  rows.push_back({"test top-1", pct(s, "test_top1_before") + " → " + pct(s, "test_top1")});
  if (s.contains("uniform_val_top1")) {
    const int b = get<int>(s, "uniform_bits", 0);
    rows.push_back({"uniform policy", fmt::format("{}: val {}, test {}; the result leads by {:+.2f} / {:+.2f} points{}",
                                                  bits_label(b),
                                                  pct(s, "uniform_val_top1"), pct(s, "uniform_test_top1"),
                                                  get<double>(s, "val_lead_over_uniform", 0),
                                                  get<double>(s, "test_lead_over_uniform", 0),
                                                  get<bool>(s, "result_is_uniform", false) ? " (uniform is the result)" : "")});
  }
  if (s.contains("int8") && !s.at("int8").is_null()) {
    const auto& q = s.at("int8");
    rows.push_back({"int8 model", fmt::format("{} ({}, {} bytes): test {}; {:.3f} ms vs float {:.3f} ms ({:.2f}×, {})",
                                              get<std::string>(q, "model", "?"), get<std::string>(q, "engine", "?"),
                                              get<std::int64_t>(q, "file_bytes", 0), pct(q, "test_top1"),
                                              get<double>(q, "int8_ms", 0), get<double>(q, "float_ms", 0),
                                              get<double>(q, "speedup", 0), get<std::string>(q, "latency_source", ""))});
    if (get<int>(q, "float_layers", 0) > 0)
      rows.push_back({"mixed int8/float", fmt::format("{} layers in int8, {} in float", get<int>(q, "int8_layers", 0),
                                                      get<int>(q, "float_layers", 0))});
  }
  if (s.contains("latency_measured_ratio"))
    rows.push_back({"latency", fmt::format("{:.3f} of the float model measured ({:.3f} predicted by the table), budget "
                                           "{:.3f}: {}", get<double>(s, "latency_measured_ratio", 0),
                                           get<double>(s, "latency_predicted_ratio", 0), get<double>(s, "budget_ratio", 0),
                                           get<bool>(s, "latency_verified", false) ? "within" : "over")});
  return rows;
}

// Bits per layer: weights and input activations of the result, with the uniform policy's bits.
std::string bits_section(const Run& r) {
  if (!r.summary.contains("layers")) return "<p>No layer table in this run.</p>\n";
  svg::BarChart ch{"bits", "Bits per layer: weights and input activations", "bits"};
  ch.names = {"weights", "activations"};
  ch.colors = {kBlue, kOrange};
  ch.values.resize(2);
  std::vector<std::vector<std::string>> rows;
  for (const auto& l : r.summary.at("layers")) {  // bits as "W/A" (W: k, ternary, binary or float; no A: float)
    const std::string name = l.at("name").get<std::string>(), bits = l.at("bits").get<std::string>();
    const auto slash = bits.find('/');
    const std::string w = bits.substr(0, slash);
    const double wb = w == "binary" ? 1 : w == "ternary" ? 2 : w == "float" ? 32 : std::stod(w);
    ch.categories.push_back(name);
    ch.values[0].push_back(wb);
    ch.values[1].push_back(slash == std::string::npos ? 32 : std::stod(bits.substr(slash + 1)));
    rows.push_back({name + (get<bool>(l, "fixed", false) ? " (fixed)" : ""), bits,
                    human_count(get<double>(l, "params", 0)), human_count(get<double>(l, "flops", 0))});
  }
  if (r.summary.contains("uniform_bits"))
    ch.refs.push_back({r.summary.at("uniform_bits").get<double>(), "uniform policy", false});
  ch.height = ch.categories.size() > 8 ? 380 : 320;
  return svg::render(ch) + table_html({"layer", "bits (weights/activations)", "params", "FLOPs"}, rows);
}

// The runs that made this run's model, oldest first: a quantization of runs/x/best.pt (or of
// runs/x/finetune/best.pt) follows the prune run in runs/x. Paths are read as written in each summary.
std::vector<Run> earlier_steps(const Run& r) {
  std::vector<Run> steps;
  std::string model = get<std::string>(r.summary, "model", "");
  for (int depth = 0; depth < 8 && !model.empty(); ++depth) {
    std::string dir = model.substr(0, model.find_last_of('/') == std::string::npos ? 0 : model.find_last_of('/'));
    if (dir.empty()) break;
    if (base_name(dir) == RunDir::kFinetuneDir) dir = dir.substr(0, dir.find_last_of('/'));
    if (!fs::exists(RunDir(dir).file(RunDir::kSummary))) break;
    Run step;
    try {
      step = load_run(dir);
    } catch (const Error&) {
      break;  // not a finished run: the chain ends here
    }
    model = get<std::string>(step.summary, "model", "");
    steps.insert(steps.begin(), std::move(step));
  }
  return steps;
}

// The steps from the original model to this run's result, one row each (prune, then quantize, ...).
std::string steps_section(const Run& r) {
  std::vector<Run> steps = earlier_steps(r);
  if (steps.empty()) return "";
  std::vector<std::vector<std::string>> rows;
  auto row = [&](const Run& s, size_t k) {
    const auto& j = s.summary;
    const bool q = s.quantization();
    std::string after = "–";
    if (!s.finetune.empty()) after = fmt::format("{} ({} epochs)", pct(s.finetune, "test_top1"), get<int>(s.finetune, "epochs", 0));
    rows.push_back({std::to_string(k + 1), q ? "quantize" : "prune", s.dir, get<std::string>(j, "model", "–"),
                    q ? "–" : fmt::format("{:.1f}%", 100 * get<double>(j, "flops_ratio", 0)),
                    q ? fmt::format("{:.2f}% (bits)", 100 * get<double>(j, "size_ratio", 0))
                      : fmt::format("{:.1f}% (params)", 100 * get<double>(j, "params", 0) /
                                                            std::max(1.0, get<double>(j, "params_before", 1))),
                    pct(j, "val_top1_before") + " → " + pct(j, "val_top1"),
                    pct(j, "test_top1_before") + " → " + pct(j, "test_top1"), after});
  };
  for (size_t k = 0; k < steps.size(); ++k) row(steps[k], k);
  row(r, steps.size());
  return "<h2>Steps</h2>\n<p>The model of this run is the result of an earlier run; each step starts from the one "
         "before.</p>\n" +
         table_html({"step", "command", "run", "model in", "FLOPs", "weight size", "val top-1", "test top-1",
                     "test after fine-tuning"},
                    rows);
}

struct Curves {
  std::vector<double> ep, acc, reward, best, warm_ep;
  double warmup_end = -1;
};

Curves curves(const Run& r) {
  Curves c;
  double best = -1;
  for (const auto& e : r.episodes) {
    const double ep = e.at("episode").get<double>(), acc = e.at("val_top1").get<double>();
    c.ep.push_back(ep);
    c.acc.push_back(acc);
    c.reward.push_back(e.at("reward").get<double>());
    best = std::max(best, acc);
    c.best.push_back(best);
    if (get<bool>(e, "warmup", false)) c.warmup_end = ep + 1;
  }
  return c;
}

std::string search_charts(const Run& r) {
  const Curves c = curves(r);
  svg::XYChart acc{"search-accuracy", "Validation top-1 per episode", {"episode"}, {"validation top-1", true}};
  acc.series.push_back({"episode", kGray, c.ep, c.acc, svg::Mark::kDots});
  acc.series.push_back({"best so far", kBlue, c.ep, c.best, svg::Mark::kStep});
  if (c.warmup_end > 0) acc.bands.push_back({-0.5, c.warmup_end - 0.5, "warm-up (random actions)"});
  svg::XYChart rew{"search-reward", "Reward per episode", {"episode"}, {"reward"}};
  rew.series.push_back({"reward", kOrange, c.ep, c.reward, svg::Mark::kDots});
  if (c.warmup_end > 0) rew.bands.push_back({-0.5, c.warmup_end - 0.5, "warm-up"});
  return svg::render(acc) + svg::render(rew);
}

// Accuracy against the search's cost (FLOPs, weight size or BOPs) of every episode, with the Pareto front (best
// accuracy at or below each cost).
std::string pareto_chart(const std::vector<const Run*>& runs, const std::vector<std::string>& labels) {
  const CostAxis axis = cost_axis(*runs[0]);
  svg::XYChart ch{"accuracy-flops", fmt::format("Validation top-1 against {} (every episode) and the Pareto front",
                                                axis.short_label),
                  {axis.label, true}, {"validation top-1", true}};
  const char* colors[] = {kBlue, kOrange};
  for (size_t k = 0; k < runs.size(); ++k) {
    std::vector<std::pair<double, double>> pts;
    std::vector<std::string> tips;
    svg::Series dots{labels[k] + "episodes", k == 0 ? kGray : "#fdba74", {}, {}, svg::Mark::kDots};
    for (const auto& e : runs[k]->episodes) {
      if (!e.contains(axis.key)) continue;  // a run of the other kind (pruning beside quantization)
      const double f = e.at(axis.key).get<double>(), a = e.at("val_top1").get<double>();
      dots.x.push_back(f);
      dots.y.push_back(a);
      dots.tips.push_back(fmt::format("episode {}: {} {:.1f}%, top-1 {:.2f}%", e.at("episode").get<int>(),
                                      axis.short_label, 100 * f, 100 * a));
      pts.push_back({f, a});
    }
    std::sort(pts.begin(), pts.end());
    svg::Series front{labels[k] + "Pareto front", colors[k], {}, {}, svg::Mark::kStep};
    double best = -1;
    for (const auto& [f, a] : pts) {
      if (a <= best) continue;
      best = a;
      front.x.push_back(f);
      front.y.push_back(a);
    }
    ch.series.push_back(std::move(dots));
    ch.series.push_back(std::move(front));
    if (k == 0 && axis.budget) ch.refs.push_back({*axis.budget, "budget", true});
  }
  return svg::render(ch);
}

std::vector<std::string> group_names(const Run& r) {
  std::vector<std::string> out;
  if (r.policy.contains("groups"))
    for (const auto& [name, g] : r.policy.at("groups").items()) out.push_back(name);
  return out;
}

double group_ratio(const Run& r, const std::string& name) {
  if (!r.policy.contains("groups") || !r.policy.at("groups").contains(name)) return 0;
  const auto& g = r.policy.at("groups").at(name);
  return g.at("kept").get<double>() / g.at("channels").get<double>();
}

// Blocks a depth search removed whole (summary removed_blocks, of the blocks it decided on).
std::string blocks_paragraph(const nlohmann::json& s) {
  if (!s.contains("removed_blocks")) return "";
  const auto removed = s.at("removed_blocks").get<std::vector<std::string>>();
  const size_t decided = s.contains("blocks") ? s.at("blocks").size() : removed.size();
  return fmt::format("<p>Blocks removed whole: {} of the {} the search decided on{}{}.</p>\n", removed.size(), decided,
                     removed.empty() ? "" : ": ", escape(fmt::format("{}", fmt::join(removed, ", "))));
}

std::string policy_section(const Run& r) {
  std::vector<std::string> names = group_names(r);
  if (names.empty()) return "<p>No policy file in this run.</p>\n";
  svg::BarChart ch{"policy", "Preserve ratio per group: the best policy against uniform pruning", "kept channels"};
  ch.categories = names;
  ch.names = {"best policy"};
  ch.colors = {kBlue};
  ch.percent = true;
  ch.values.resize(1);
  std::vector<std::vector<std::string>> rows;
  for (const auto& n : names) {
    const auto& g = r.policy.at("groups").at(n);
    ch.values[0].push_back(group_ratio(r, n));
    rows.push_back({n, std::to_string(g.at("channels").get<int>()), std::to_string(g.at("kept").get<int>()),
                    percent(group_ratio(r, n), 1)});
  }
  if (r.summary.contains("uniform_ratio")) {
    const double u = r.summary.at("uniform_ratio").get<double>();
    ch.refs.push_back({u, fmt::format("uniform {:.1f}%", 100 * u), false});
  }
  ch.height = names.size() > 8 ? 380 : 320;
  return svg::render(ch) + table_html({"group", "channels", "kept", "ratio"}, rows) + blocks_paragraph(r.summary);
}

std::string latency_section(const Run& r) {
  if (!r.profile.contains("original") || !r.profile.contains("best"))
    return "<p>No latency profile in this run (a search writes profile.json; see <code>xcel profile</code>).</p>\n";
  const auto& a = r.profile.at("original");
  const auto& b = r.profile.at("best");
  std::vector<std::string> cats;
  std::vector<double> ms_a, ms_b, sh_a, sh_b;
  auto total = [](const json& p) { return std::max(p.at("total_ms").at("median").get<double>(), p.at("layers_ms").get<double>()); };
  for (size_t i = 0; i < a.at("layers").size(); ++i) {
    const auto& la = a.at("layers")[i];
    if (la.at("kind") == "batchnorm") continue;  // folded into the conv at deployment; listed in the table
    cats.push_back(la.at("name").get<std::string>());
    const double ma = la.at("ms").at("median").get<double>();
    double mb = 0;
    for (const auto& lb : b.at("layers"))
      if (lb.at("name") == la.at("name")) mb = lb.at("ms").at("median").get<double>();
    ms_a.push_back(ma);
    ms_b.push_back(mb);
    sh_a.push_back(ma / total(a));
    sh_b.push_back(mb / total(b));
  }
  cats.push_back("(other)");
  ms_a.push_back(a.at("other_ms").get<double>());
  ms_b.push_back(b.at("other_ms").get<double>());
  sh_a.push_back(ms_a.back() / total(a));
  sh_b.push_back(ms_b.back() / total(b));
  svg::BarChart ms{"latency-layers", "Where the time goes: median ms per layer, original and pruned (host, batch 1)",
                   "milliseconds"};
  ms.categories = cats;
  ms.names = {"original", "pruned"};
  ms.colors = {kGray, kBlue};
  ms.values = {ms_a, ms_b};
  ms.height = cats.size() > 8 ? 380 : 320;
  svg::BarChart share = ms;
  share.id = "latency-share";
  share.title = "Share of each layer in its model's latency";
  share.value_label = "share of latency";
  share.percent = true;
  share.values = {sh_a, sh_b};
  std::string html = svg::render(ms) + svg::render(share);
  html += fmt::format("<p>Whole model: {:.3f} ms → {:.3f} ms (median of {} runs, {} threads, {} on the {}). Layers are "
                      "timed on their own; “other” is the rest of the forward pass (activations, pooling, adds, "
                      "framework overhead).</p>\n",
                      a.at("total_ms").at("median").get<double>(), b.at("total_ms").at("median").get<double>(),
                      a.at("total_ms").value("n", 0), a.value("threads", 1), a.value("source", "measured"),
                      a.value("device", "host"));
  return html;
}

std::string predicted_section(const Run& r) {
  std::vector<double> pred, meas;
  std::vector<std::string> tips;
  for (const char* k : {"original", "best"}) {
    if (!r.profile.contains(k)) continue;
    const auto& p = r.profile.at(k);
    if (!p.contains("predicted_ms")) continue;
    pred.push_back(p.at("predicted_ms").get<double>());
    meas.push_back(p.at("total_ms").at("median").get<double>());
    tips.push_back(fmt::format("{}: predicted {:.3f} ms, measured {:.3f} ms", k, pred.back(), meas.back()));
  }
  if (pred.empty())
    return "<p>Every latency in this run was measured; no predicted latency to compare (a run with a fitted latency "
           "model shows predicted against measured here).</p>\n";
  svg::XYChart ch{"predicted-measured", "Predicted against measured latency", {"measured ms", false, 0, 0, true},
                  {"predicted ms", false, 0, 0, true}};
  const double hi = std::max(*std::max_element(pred.begin(), pred.end()), *std::max_element(meas.begin(), meas.end()));
  ch.series.push_back({"y = x", kGray, {0, hi}, {0, hi}, svg::Mark::kLine, {}, 2.5, true});
  ch.series.push_back({"models", kPurple, meas, pred, svg::Mark::kDots, tips, 5});
  return svg::render(ch);
}

std::string finetune_section(const Run& r) {
  if (r.finetune_history.empty()) return "";
  svg::XYChart ch{"finetune", "Fine-tuning: validation top-1 per epoch", {"epoch"}, {"validation top-1", true}};
  svg::Series val{"validation top-1", kGreen, {}, {}, svg::Mark::kLine};
  svg::Series train{"training top-1 (augmented)", kGray, {}, {}, svg::Mark::kLine};
  val.x.push_back(0);
  val.y.push_back(get<double>(r.finetune, "val_top1_before", 0));
  for (const auto& h : r.finetune_history) {
    val.x.push_back(h.at("epoch").get<double>());
    val.y.push_back(h.at("val_top1").get<double>());
    train.x.push_back(h.at("epoch").get<double>());
    train.y.push_back(h.at("train_top1").get<double>());
  }
  ch.series = {val, train};
  return "<h2>Fine-tuning</h2>\n" + svg::render(ch);
}

const char* kStyle = R"(<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1560px;color:#111827;padding:0 16px}
h1{font-size:22px;margin:0 0 12px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #e5e7eb;padding:4px 10px;text-align:left;vertical-align:top}
th{background:#f9fafb}td:first-child{color:#4b5563;white-space:nowrap}code{background:#f3f4f6;padding:1px 4px}
.charts{display:flex;flex-wrap:wrap;gap:12px}.cols{display:flex;gap:24px;flex-wrap:wrap}.cols>div{flex:1;min-width:520px}
svg.chart{background:#fff;border:1px solid #e5e7eb;border-radius:6px;max-width:100%;height:auto}
svg .title{font-weight:600;font-size:13px}svg .tick{font-size:11px;fill:#4b5563}svg .label{font-size:12px;fill:#374151}
svg .legend{font-size:11px;fill:#374151}svg .grid{stroke:#f3f4f6}svg .axis{stroke:#9ca3af}
svg .band{fill:#fef3c7;opacity:.7}svg .bandlabel{font-size:11px;fill:#92400e}
svg .ref{stroke:#dc2626;stroke-dasharray:5 4;stroke-width:1.5}svg .reflabel{font-size:11px;fill:#dc2626}
svg circle:hover,svg rect.bar:hover{opacity:.6}.muted{color:#6b7280}
</style>
)";

// Marks the page for the browser test: number of charts, charts without marks, script errors.
const char* kScript = R"(<script>
window.addEventListener('error', function (e) {
  var n = Number(document.body.dataset.jsErrors || 0) + 1;
  document.body.dataset.jsErrors = String(n);
});
document.addEventListener('DOMContentLoaded', function () {
  var charts = document.querySelectorAll('svg.chart');
  var empty = [];
  charts.forEach(function (c) {
    if (c.querySelectorAll('circle, path.series, rect.bar').length === 0) empty.push(c.dataset.chart);
    var box = c.getBBox();
    if (!(box.width > 0 && box.height > 0)) empty.push(c.dataset.chart);
  });
  document.body.dataset.charts = String(charts.length);
  document.body.dataset.emptyCharts = empty.join(',');
  document.body.dataset.ready = '1';
});
</script>
)";

std::string page(const std::string& title, const std::string& body, int expected_charts,
                 const std::string& regenerate = "xcel report DIR") {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>" + escape(title) + "</title>\n" +
         kStyle + kScript + "</head>\n<body data-expected-charts=\"" + std::to_string(expected_charts) + "\">\n" + body +
         "<p class=\"muted\">Generated by xcel " XCEL_VERSION " from the files of the run directories; regenerate with "
         "<code>" + escape(regenerate) + "</code>.</p>\n</body></html>\n";
}

int count_charts(const std::string& html) {
  int n = 0;
  for (size_t p = html.find("<svg class=\"chart\""); p != std::string::npos; p = html.find("<svg class=\"chart\"", p + 1)) ++n;
  return n;
}

std::vector<std::vector<std::string>> rows_of(const std::vector<std::pair<std::string, std::string>>& kv) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& [k, v] : kv) rows.push_back({k, v});
  return rows;
}

}  // namespace

std::string render_run_report(const std::string& dir) {
  const Run r = load_run(dir);
  std::string body = "<h1>xcel report — " + escape(title_of(r)) + "</h1>\n";
  if (r.quantization()) {
    body += table_html({"", r.dir}, rows_of(quant_header_rows(r)));
    body += steps_section(r);
    if (r.search())
      body += "<h2>Search</h2>\n<div class=\"charts\">" + search_charts(r) + pareto_chart({&r}, {""}) + "</div>\n";
    body += "<h2>Bits</h2>\n" + bits_section(r);
    body += finetune_section(r);
    return page("xcel report: " + title_of(r), body, count_charts(body));
  }
  body += table_html({"", r.dir}, rows_of(header_rows(r)));
  body += steps_section(r);
  if (r.search()) {
    body += "<h2>Search</h2>\n<div class=\"charts\">" + search_charts(r) + pareto_chart({&r}, {""}) + "</div>\n";
  }
  body += "<h2>Policy</h2>\n" + policy_section(r);
  body += "<h2>Latency</h2>\n<div class=\"charts\">" + latency_section(r) + "</div>\n";
  body += "<h2>Predicted and measured latency</h2>\n" + predicted_section(r);
  body += finetune_section(r);
  return page("xcel report: " + title_of(r), body, count_charts(body));
}

std::string write_run_report(const std::string& dir) {
  const std::string path = RunDir(dir).file(RunDir::kReport);
  fs::write_file_atomic(path, render_run_report(dir));
  return path;
}

std::string render_comparison(const std::string& dir_a, const std::string& dir_b) {
  const Run a = load_run(dir_a), b = load_run(dir_b);
  std::string body = "<h1>xcel comparison — A: " + escape(title_of(a)) + " · B: " + escape(title_of(b)) + "</h1>\n";
  // Header tables side by side as one table with a column per run.
  const auto ra = header_rows(a), rb = header_rows(b);
  std::vector<std::vector<std::string>> rows;
  for (const auto& [k, v] : ra) {
    std::string other = "–";
    for (const auto& [k2, v2] : rb)
      if (k2 == k) other = v2;
    rows.push_back({k, v, other});
  }
  for (const auto& [k, v] : rb)
    if (std::none_of(ra.begin(), ra.end(), [&](const auto& p) { return p.first == k; })) rows.push_back({k, "–", v});
  body += table_html({"", "A: " + a.dir, "B: " + b.dir}, rows);
  if (a.search() || b.search()) {
    svg::XYChart ch{"compare-search", "Best validation top-1 so far", {"episode"}, {"validation top-1", true}};
    const Curves ca = curves(a), cb = curves(b);
    ch.series.push_back({"A", kBlue, ca.ep, ca.best, svg::Mark::kStep});
    ch.series.push_back({"B", kOrange, cb.ep, cb.best, svg::Mark::kStep});
    body += "<h2>Search</h2>\n<div class=\"charts\">" + svg::render(ch) + pareto_chart({&a, &b}, {"A ", "B "}) + "</div>\n";
  }
  std::vector<std::string> names = group_names(a);
  for (const auto& n : group_names(b))
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  if (!names.empty()) {
    svg::BarChart ch{"compare-policy", "Preserve ratio per group", "kept channels"};
    ch.categories = names;
    ch.names = {"A", "B"};
    ch.colors = {kBlue, kOrange};
    ch.percent = true;
    ch.values.resize(2);
    for (const auto& n : names) {
      ch.values[0].push_back(group_ratio(a, n));
      ch.values[1].push_back(group_ratio(b, n));
    }
    ch.height = names.size() > 8 ? 380 : 320;
    body += "<h2>Policies</h2>\n" + svg::render(ch);
  }
  return page("xcel comparison", body, count_charts(body));
}

std::string render_sweep(const std::string& title, const std::vector<SweepEntry>& entries) {
  const char* colors[] = {kBlue, kOrange, kGreen, kPurple, kGray};
  std::vector<std::string> models, agents, budgets;
  auto add = [](std::vector<std::string>& v, const std::string& x) {
    if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
  };
  std::vector<std::optional<json>> sums;
  std::map<std::string, int> states;
  for (const auto& e : entries) {
    add(models, e.model);
    add(agents, e.agent);
    add(budgets, e.budget);
    ++states[e.state];
    sums.push_back(e.summary.is_object() ? std::optional<json>(e.summary) : std::nullopt);
  }
  std::string body = "<h1>" + escape(title) + "</h1>\n<p>";
  for (const auto& [state, n] : states) body += fmt::format("{} {} · ", n, escape(state));
  body += fmt::format("{} runs</p>\n", entries.size());
  for (const auto& model : models) {
    svg::XYChart by_flops{"sweep-flops-" + model, model + ": test top-1 against FLOPs",
                          {"FLOPs (fraction of the original)", true}, {"test top-1", true}};
    svg::XYChart by_latency{"sweep-latency-" + model, model + ": test top-1 against host latency (deploy form)",
                            {"latency, ms (batch 1, host)"}, {"test top-1", true}};
    svg::BarChart bars{"sweep-agents-" + model, model + ": mean test top-1 per budget and agent", "test top-1"};
    bars.percent = true;
    for (const auto& b : budgets) bars.categories.push_back(b);
    bool any = false;
    for (size_t a = 0; a < agents.size(); ++a) {
      const char* color = colors[a % 5];
      svg::Series f{agents[a], color, {}, {}, svg::Mark::kDots}, l{agents[a], color, {}, {}, svg::Mark::kDots};
      std::vector<double> mean(budgets.size(), 0.0), count(budgets.size(), 0.0);
      for (size_t i = 0; i < entries.size(); ++i) {
        const SweepEntry& e = entries[i];
        if (e.model != model || e.agent != agents[a] || !sums[i] || !sums[i]->contains("test_top1")) continue;
        const json& sum = *sums[i];
        const double test = sum.at("test_top1").get<double>();
        const std::string tip = fmt::format("{}: FLOPs {:.1f}%, test top-1 {:.2f}%", e.name,
                                            100 * get<double>(sum, "flops_ratio", 0), 100 * test);
        f.x.push_back(get<double>(sum, "flops_ratio", 0));
        f.y.push_back(test);
        f.tips.push_back(tip);
        if (sum.contains("latency_ms") && !sum.at("latency_ms").is_null()) {
          l.x.push_back(sum.at("latency_ms").get<double>());
          l.y.push_back(test);
          l.tips.push_back(fmt::format("{}: {:.4f} ms, test top-1 {:.2f}%", e.name, sum.at("latency_ms").get<double>(), 100 * test));
        }
        const size_t b = static_cast<size_t>(std::find(budgets.begin(), budgets.end(), e.budget) - budgets.begin());
        mean[b] += test;
        count[b] += 1;
        any = true;
      }
      if (!f.x.empty()) by_flops.series.push_back(std::move(f));
      if (!l.x.empty()) by_latency.series.push_back(std::move(l));
      for (size_t b = 0; b < budgets.size(); ++b) mean[b] = count[b] > 0 ? mean[b] / count[b] : 0.0;
      bars.names.push_back(agents[a]);
      bars.colors.push_back(color);
      bars.values.push_back(mean);
    }
    body += "<h2>" + escape(model) + "</h2>\n";
    if (!any) {
      body += "<p class=\"muted\">No finished run yet.</p>\n";
      continue;
    }
    body += "<div class=\"charts\">" + svg::render(by_flops);
    if (!by_latency.series.empty()) body += svg::render(by_latency);
    body += svg::render(bars) + "</div>\n";
  }
  body += "<h2>Runs</h2>\n<table><thead><tr>";
  for (const char* h : {"run", "state", "model", "budget", "agent", "target", "seed", "FLOPs", "val top-1", "test top-1",
                        "after fine-tuning", "host ms", "speed-up", "detail"})
    body += std::string("<th>") + h + "</th>";
  body += "</tr></thead><tbody>\n";
  for (size_t i = 0; i < entries.size(); ++i) {
    const SweepEntry& e = entries[i];
    // The page lives in the sweep's out, the runs' directories in it: links relative to it survive a move.
    const std::string report = RunDir(e.dir).file(RunDir::kReport);
    const std::string link = base_name(e.dir) + "/" + RunDir::kReport;
    const std::string name = fs::exists(report) ? "<a href=\"" + escape(link) + "\">" + escape(e.name) + "</a>" : escape(e.name);
    std::vector<std::string> cells(7, "–");
    if (sums[i]) {
      const json& sum = *sums[i];
      cells = {fmt::format("{:.1f}%", 100 * get<double>(sum, "flops_ratio", 0)), pct(sum, "val_top1"), pct(sum, "test_top1"),
               sum.contains("finetune") ? pct(sum.at("finetune"), "test_top1") : "–",
               sum.contains("latency_ms") && !sum.at("latency_ms").is_null() ? fmt::format("{:.4f}", sum.at("latency_ms").get<double>()) : "–",
               sum.contains("speedup") ? fmt::format("{:.2f}x", sum.at("speedup").get<double>()) : "–", ""};
    }
    body += "<tr><td>" + name + "</td>";
    for (const auto& c : {e.state, e.model, e.budget, e.agent, e.target, std::to_string(e.seed)}) body += "<td>" + escape(c) + "</td>";
    for (size_t c = 0; c + 1 < cells.size(); ++c) body += "<td>" + escape(cells[c]) + "</td>";
    body += "<td>" + escape(e.detail) + "</td></tr>\n";
  }
  body += "</tbody></table>\n";
  return page(title, body, count_charts(body), "xcel sweep collect FILE");
}

}  // namespace xcel::report
