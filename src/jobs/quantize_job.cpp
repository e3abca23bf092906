// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// `xcel quantize --bits B | --policy FILE | --size R | --bops R`: options and run directory (new or resumed), model
// and data, the activation ranges, the policy (given, or searched by the loop of the pruning search over bit widths),
// the result rebuilt, tested and written, then quantization-aware fine-tuning of it.
#include "xcel/jobs/quantize_job.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include "xcel/core/clock.h"
#include "xcel/core/error.h"
#include "xcel/core/fs.h"
#include "xcel/core/interrupt.h"
#include "xcel/core/json_fields.h"
#include "xcel/core/log.h"
#include "xcel/core/run_dir.h"
#include "xcel/device/target.h"
#include "xcel/ir/model.h"
#include "xcel/jobs/inputs.h"
#include "xcel/jobs/prune_job.h"
#include "xcel/latency/oracle.h"
#include "resume_search.h"
#include "xcel/report/run_report.h"
#include "xcel/quant/quantize.h"
#include "xcel/search/agent.h"
#include "xcel/search/bits_env.h"
#include "xcel/search/evaluator.h"
#include "xcel/search/search.h"
#include "xcel/train/evaluate.h"

namespace xcel::jobs {
namespace {

template <typename F, typename O>
void quantize_fields(F&& f, O& o) {
  run_fields(f, o);
  f("calib_images", o.calib_images);
  f("force", o.force, false);
  f("bits", o.bits);
  f("policy", o.policy);
  f("size", o.size);
  f("bops", o.bops);
  f("latency", o.latency, 0.0);
  f("latency_rounds", o.latency_rounds, 5);
  f("act_bits", o.act_bits);
  f("min_bits", o.min_bits);
  f("max_bits", o.max_bits);
  f("quant", o.quant);
  f("agent", o.agent);
  f("episodes", o.episodes);
  f("checkpoint_every", o.checkpoint_every);
  f("early_stop", o.early_stop);
  f("batch", o.batch);
  f("target", o.target, std::string("host"));
  f("int8_engine", o.int8_engine, std::string());
  f("ddpg", o.ddpg);
}

}  // namespace

void to_json(nlohmann::json& j, const QuantizeOptions& o) {
  j = nlohmann::json::object();
  quantize_fields(JsonWriter{j}, o);
}

void from_json(const nlohmann::json& j, QuantizeOptions& o) { quantize_fields(JsonReader{j}, o); }

namespace {

QuantizeOptions resolve(QuantizeOptions o, const RunDir& run) {
  if (o.resume) return resumed_search(o, run, "quantization search");
  XCEL_CHECK(!o.model.empty(), ExitCode::kUsage, "--model is required");
  const int modes = (o.bits.empty() ? 0 : 1) + (o.policy.empty() ? 0 : 1) + (o.search_mode() ? 1 : 0);
  XCEL_CHECK(modes == 1, ExitCode::kUsage,
             "say what to do, once: a precision for every layer (--bits 8, 4/8, ternary, binary/8), a per-layer policy "
             "(--policy FILE) or a budget to search under (--size R, --bops R or --latency R)");
  XCEL_CHECK(o.size <= 1 && o.bops <= 1 && o.latency <= 1, ExitCode::kUsage,
             "--size/--bops/--latency is a fraction of the float model in (0, 1]");
  XCEL_CHECK((o.size > 0) + (o.bops > 0) + (o.latency > 0) <= 1, ExitCode::kUsage,
             "give one budget: --size, --bops or --latency");
  XCEL_CHECK(o.latency_rounds >= 1, ExitCode::kUsage, "--latency-rounds must be at least 1");
  XCEL_CHECK(o.act_bits == 32 || (o.act_bits >= quant::kMinBits && o.act_bits <= quant::kMaxBits), ExitCode::kUsage,
             "--act-bits {}: give {}..{} or 32 (float activations)", o.act_bits, quant::kMinBits, quant::kMaxBits);
  search::check_agent_name(o.agent);
  if (!o.bits.empty()) quant::parse_precision(o.bits);  // a bad --bits fails before anything is written
  if (o.int8_engine.empty()) o.int8_engine = device::load_target(o.target).kind == "host" ? "onednn" : "qnnpack";
  run.start_new(o.search_mode() ? "quantization search" : "quantization", {o.model, o.policy});
  o.ddpg = agent_config(o.agent_config, o.warmup, o.split.seed);
  o.ddpg.lbound = 0;  // actions span every bit width; the walk maps them
  return o;
}

// The policy before any search: the given one, the uniform one, or (search) the start the walk changes.
quant::QuantPolicy starting_policy(const QuantizeOptions& o, const std::vector<ir::Layer>& layers) {
  if (!o.policy.empty()) return quant::read_policy(o.policy, layers, "--policy");
  if (!o.bits.empty()) return quant::uniform_policy(layers, quant::parse_precision(o.bits), o.quant);
  if (o.latency > 0) return quant::uniform_policy(layers, quant::Precision{quant::WeightMode::kBits, 8, 8}, o.quant);
  quant::Precision start{quant::WeightMode::kBits, o.max_bits, o.bops > 0 ? o.max_bits : o.act_bits};
  return quant::uniform_policy(layers, start, o.quant);
}

// Activation ranges for every layer whose input may be quantized (all of them in a BOPs search), calibrated once.
void calibrate(const QuantizeOptions& o, const torch::jit::Module& model, const ir::Shape& input,
               const data::ImageSet& calib, quant::QuantPolicy& p) {
  quant::QuantPolicy all = p;
  for (auto& l : all.layers)
    if (o.bops > 0 || l.p.a_bits < 32) l.p.a_bits = 8;
  quant::calibrate(model, input, calib, all, o.batch);
  for (size_t i = 0; i < p.layers.size(); ++i) {
    p.layers[i].a_lo = all.layers[i].a_lo;
    p.layers[i].a_hi = all.layers[i].a_hi;
  }
}

constexpr const char* kLatencyTable = "latency_table.json";

// A policy's real int8 model (the layers at 8/8 in int8, float ones in float) and its latency on `oracle` in turns
// with the float model in deploy form.
struct Int8Measured {
  quant::Int8Model q;
  latency::PairedLatency speed;
};

Int8Measured measure_int8(const QuantizeOptions& o, const torch::jit::Module& model, const ir::ModelSummary& summary,
                          const data::ImageSet& calib, const quant::QuantPolicy& p, latency::Oracle& oracle) {
  Int8Measured m{quant::export_int8(model, calib, o.int8_engine, o.batch, summary.layers, quant::int8_layers(p)), {}};
  m.speed = latency::measure_interleaved(oracle, model, summary, m.q.module, summary, o.latency_rounds);
  return m;
}

// The latency table of the search: whole models measured in turns on the target, the float model, every searched
// layer in int8, and each searched layer alone left in float; what that layer adds is its cost in float (negative:
// the layer is faster in float). Written as OUT/latency_table.json; the walk's costs are read from it.
nlohmann::json latency_table(const QuantizeOptions& o, const torch::jit::Module& model, const ir::ModelSummary& summary,
                             const data::ImageSet& calib, const quant::QuantPolicy& start, latency::Oracle& oracle) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<torch::jit::Module> modules{model};
  std::vector<size_t> searched;
  std::vector<bool> all = quant::int8_layers(start);
  modules.push_back(quant::export_int8(model, calib, o.int8_engine, o.batch, summary.layers, all).module);
  for (size_t i = 0; i < start.layers.size(); ++i) {
    if (start.layers[i].fixed) continue;
    std::vector<bool> one = all;
    one[i] = false;
    searched.push_back(i);
    modules.push_back(quant::export_int8(model, calib, o.int8_engine, o.batch, summary.layers, one).module);
  }
  const std::vector<double> ms = latency::medians_in_turns(
      oracle, modules, std::vector<ir::ModelSummary>(modules.size(), summary), o.latency_rounds, interrupted);
  if (interrupted()) throw Error(ExitCode::kInterrupted, "interrupted while measuring the latency table; nothing was searched");
  nlohmann::json rows = nlohmann::json::array();
  for (size_t j = 0; j < searched.size(); ++j)
    rows.push_back({{"layer", start.layers[searched[j]].name}, {"ms_with_it_in_float", ms[2 + j]},
                    {"float_extra_ms", ms[2 + j] - ms[1]}});
  spdlog::info("latency table on {}: float {:.4f} ms, every searched layer in int8 {:.4f} ms ({:.3f}); {} layers "
               "measured alone in float, {} whole models x {} rounds in {:.1f} s", oracle.description(), ms[0], ms[1],
               ms[1] / ms[0], searched.size(), modules.size(), o.latency_rounds, seconds_since(t0));
  return {{"oracle", oracle.description()},
          {"rounds", o.latency_rounds},
          {"float_ms", ms[0]},
          {"int8_ms", ms[1]},
          {"layers", rows},
          {"seconds", seconds_since(t0)}};
}

search::LatencyCosts costs_of(const nlohmann::json& table) {
  search::LatencyCosts c;
  c.float_ms = table.at("float_ms").get<double>();
  c.int8_ms = table.at("int8_ms").get<double>();
  for (const auto& r : table.at("layers")) c.float_extra_ms.push_back(r.at("float_extra_ms").get<double>());
  return c;
}

// The search's result measured as written: while it is over the budget, the layer not at its faster width (by the
// table) that costs most is put there (every layer at its faster width is the floor the budget was checked
// against). Returns the measurement of the result (none when every layer stays float: the float model, ratio 1).
std::optional<Int8Measured> verify_latency(const QuantizeOptions& o, const torch::jit::Module& model,
                                           const ir::ModelSummary& summary, const data::ImageSet& calib,
                                           const search::BitsEnv& env, const search::LatencyCosts& costs,
                                           std::vector<std::int64_t>& bits, latency::Oracle& oracle,
                                           nlohmann::json& info) {
  nlohmann::json steps = nlohmann::json::array();
  while (true) {
    const quant::QuantPolicy p = env.policy(bits);
    std::optional<Int8Measured> m;
    if (quant::runs_on_int8_kernels(p)) m = measure_int8(o, model, summary, calib, p, oracle);
    const double ratio = m ? m->speed.ratio : 1.0;
    steps.push_back({{"float_layers", m ? m->q.float_layers : static_cast<int>(p.layers.size())},
                     {"predicted_ratio", env.cost(bits)},
                     {"measured_ratio", ratio}});
    size_t worst = bits.size();
    const auto loss = [&](size_t k) { return std::abs(costs.float_extra_ms[k]); };
    for (size_t k = 0; k < bits.size(); ++k)
      if (bits[k] != env.fastest(k) && (worst == bits.size() || loss(k) > loss(worst))) worst = k;
    const bool within = ratio <= o.latency * 1.0001;
    if (within || worst == bits.size()) {
      info = {{"latency_verified", within},
              {"latency_measured_ratio", ratio},
              {"latency_predicted_ratio", env.cost(bits)},
              {"latency_checks", steps}};
      if (!within)
        spdlog::warn("the fastest policy by the latency table measured {:.3f} of the float model, over --latency {} "
                     "(the table predicted {:.3f}): the target's timing moved since the table was measured", ratio,
                     o.latency, env.cost(bits));
      return m;
    }
    spdlog::info("the result measured {:.3f} of the float model, over --latency {}: layer step {} goes to its faster "
                 "width ({})", ratio, o.latency, worst, env.fastest(worst) == 8 ? "int8" : "float");
    bits[worst] = env.fastest(worst);
  }
}

// OUT/int8.pt, the real int8 model (mixed with float layers where the policy keeps them), with its accuracy and its
// latency in turns with the float model in deploy form.
nlohmann::json int8_result(const QuantizeOptions& o, const RunDir& run, Int8Measured& m, const data::ValCalib& d,
                           const data::ImageSet& test) {
  const std::string path = run.file("int8.pt");
  ir::save_model(m.q.module, path);
  // Judged as deployed: the file loaded again (its packed weights are packed anew on loading).
  torch::jit::Module deployed = ir::load_model(path);
  const double val = train::evaluate(deployed, d.val, o.batch, false).top1;
  const double test_top1 = train::evaluate(deployed, test, o.batch, false).top1;
  const latency::PairedLatency& speed = m.speed;
  return {{"model", path},
          {"engine", m.q.engine},
          {"int8_layers", m.q.layers},
          {"float_layers", m.q.float_layers},
          {"int8_adds", m.q.int8_adds},
          {"requantizations_removed", m.q.requantizations_removed},
          {"val_top1", val},
          {"test_top1", test_top1},
          {"float_ms", speed.a.ms.median},
          {"int8_ms", speed.b.ms.median},
          {"speedup", 1.0 / std::max(1e-9, speed.ratio)},
          {"latency_source", fmt::format("measured on {}, batch 1, {} rounds in turns; float in deploy form ({}), "
                                         "int8 as written ({})", speed.a.device, speed.rounds, speed.a.form, speed.b.form)},
          {"file_bytes", fs::file_size(path)}};
}

nlohmann::json layer_rows(const std::vector<ir::Layer>& layers, const quant::QuantPolicy& p) {
  nlohmann::json rows = nlohmann::json::array();
  const auto q = quant::quantizable_layers(layers);
  for (size_t i = 0; i < q.size(); ++i)
    rows.push_back({{"name", q[i].name}, {"bits", quant::to_string(p.layers[i].p)}, {"params", q[i].params},
                    {"flops", q[i].flops}, {"fixed", p.layers[i].fixed}});
  return rows;
}

}  // namespace

nlohmann::json run_quantize(QuantizeOptions opts, train::FinetuneOptions finetune) {
  const RunDir run(opts.out_dir);
  const QuantizeOptions o = resolve(std::move(opts), run);
  InterruptScope interrupt_scope;
  ir::set_threads(o.threads);
  torch::jit::Module model = ir::load_model(o.model);
  const data::DatasetSpec spec = data::parse_spec(o.data);
  const data::SplitOptions split = for_model(o.split, model);
  const data::ValCalib d = data::load_val_and_calib(spec, split, o.calib_images);
  const ir::Shape input = checked_input(model, d.val, o.data_given);
  const double original_val = train::evaluate(model, d.val, o.batch, true).top1;
  check_not_chance(original_val, d.val.num_classes, o.force, o.data);
  const ir::ModelSummary summary = ir::analyze(model, input);
  XCEL_CHECK(!quant::quantizable_layers(summary.layers).empty(), ExitCode::kUnsupported,
             "'{}' has no convolution or linear layer to quantize", o.model);
  XCEL_CHECK(!quant::has_fake_quant(model), ExitCode::kUsage,
             "'{}' is already quantized (its forward has fake-quantize ops); quantize the float model", o.model);
  quant::QuantPolicy policy = starting_policy(o, summary.layers);
  auto t_setup = std::chrono::steady_clock::now();
  calibrate(o, model, input, d.calib, policy);
  const double setup_seconds = seconds_since(t_setup);
  run.create();
  if (!o.resume) run.write_json(RunDir::kConfig, nlohmann::json(o));

  nlohmann::json result = {{"model", o.model}, {"out", o.out_dir}, {"kind", "quantization"}};
  std::optional<search::BitsEnv> env;
  std::optional<search::QuantEvaluator> evaluator;
  double uniform_val = -1;
  bool has_uniform = false;
  quant::QuantPolicy uniform;
  // Latency: int8 runs the target's engine, measured on the target (the host or a phone over adb).
  std::unique_ptr<latency::Oracle> oracle;
  search::LatencyCosts costs;
  if (o.latency > 0) {
    const device::TargetProfile target = device::load_target(o.target);
    latency::OracleOptions oo;
    oo.use_cache = false;
    oo.threads = o.threads;
    oracle = latency::make_oracle(target, oo);
    // Measured once per run: a resumed search keeps the walls its episodes were walked under.
    nlohmann::json table;
    if (o.resume && run.has(kLatencyTable)) {
      table = run.read_json(kLatencyTable);
    } else {
      table = latency_table(o, model, summary, d.calib, policy, *oracle);
      run.write_json(kLatencyTable, table);
    }
    costs = costs_of(table);
    result["latency_table"] = table;
  }
  std::optional<Int8Measured> measured;
  if (o.search_mode()) {
    if (o.latency > 0)
      env.emplace(summary.layers, policy, costs, o.latency);
    else
      env.emplace(summary.layers, policy, o.budget_kind(), o.budget_ratio(), o.min_bits, o.max_bits);
    evaluator.emplace(model, d.val, [&env](const std::vector<std::int64_t>& bits) { return env->policy(bits); },
                      o.batch, o.early_stop);
    const int ubits = env->max_uniform_bits();
    auto agent = search::make_agent(o.agent, env->state_dim(), o.ddpg, env->action_for(ubits), env->action_menu());
    search::LoopOptions lo{"acc", o.episodes, o.checkpoint_every, o.progress, {}, "", "quantize"};
    search::SearchLoop loop(lo, *env, *evaluator, *agent, run);
    if (o.resume) loop.restore();
    loop.run();
    if (interrupted()) run.interrupted("after the last episode, while finishing", "quantize");
    // The uniform policy the budget allows competes with the search's best (a search never returns less).
    // (Latency: every layer in int8 may be over the budget where only a mix with float layers is fast enough.)
    const std::vector<std::int64_t> ub(static_cast<size_t>(env->steps()), ubits);
    has_uniform = env->uniform_fits();
    if (has_uniform) {
      uniform = env->policy(ub);
      uniform_val = evaluator->validate(ub, -1).top1;
    } else {
      spdlog::info("no uniform policy meets the budget: only a mix of int8 and float layers is fast enough");
    }
    search::Best best = loop.best();
    XCEL_ASSERT(has_uniform || !best.widths.empty(), "a search without an episode and without a uniform policy");
    if (has_uniform && (best.widths.empty() || uniform_val > best.val_top1)) {
      spdlog::info("the uniform policy ({} bits, {:.2f}%) is ahead of the search's best ({:.2f}%) and is the result",
                   ubits, 100 * uniform_val, 100 * best.val_top1);
      best.widths = ub;
      best.episode = -1;
    }
    if (o.latency > 0) {
      nlohmann::json check;
      measured = verify_latency(o, model, summary, d.calib, *env, costs, best.widths, *oracle, check);
      result.update(check);
    }
    policy = env->policy(best.widths);
    const search::LoopStats st = loop.stats();
    result.update({{"agent", o.agent},
                   {"episodes", st.episodes},
                   {"budget", o.budget_kind()},
                   {"budget_ratio", o.budget_ratio()},
                   {"best_episode", best.episode},
                   {"unique_policies", st.unique_policies},
                   {"stopped_early", st.stopped_early},
                   {"seconds_per_episode", st.seconds_per_episode},
                   {"result_is_uniform", has_uniform && best.widths == ub}});
    if (has_uniform) result.update({{"uniform_bits", ubits}, {"uniform_val_top1", uniform_val}});
  }
  if (!o.search_mode()) result["precision"] = o.bits.empty() ? "per-layer policy " + o.policy : o.bits;
  torch::jit::Module q = quant::quantize(model, policy);
  const double val = train::evaluate(q, d.val, o.batch, true).top1;
  const data::ImageSet test = data::load_split(spec, data::Split::kTest, split);
  const double test_top1 = train::evaluate(q, test, o.batch, true).top1;
  const double original_test = train::evaluate(model, test, o.batch, true).top1;
  ir::save_model(q, run.file(RunDir::kBest));
  run.write_json(RunDir::kPolicy, nlohmann::json(policy));
  quant::QuantOptions as_float;
  as_float.keep_ends_bits = 0;
  const std::int64_t float_bytes =
      quant::packed_bytes(summary.layers, quant::uniform_policy(summary.layers, quant::Precision{}, as_float));
  result.update({{"input_shape", input},
                 {"val_top1_before", original_val},
                 {"val_top1", val},
                 {"test_top1_before", original_test},
                 {"test_top1", test_top1},
                 {"size_ratio", quant::size_ratio(summary.layers, policy)},
                 {"bops_ratio", quant::bops_ratio(summary.layers, policy)},
                 {"packed_bytes", quant::packed_bytes(summary.layers, policy)},
                 {"float_bytes", float_bytes},
                 {"layers", layer_rows(summary.layers, policy)},
                 {"calib_images", d.calib.size()},
                 {"act_range", policy.options.act_range},
                 {"setup_seconds", setup_seconds},
                 {"seed", o.split.seed},
                 {"split_seed", o.split.split_seed},
                 {"val_source", d.val_source},
                 {"threads", o.threads},
                 {"best", run.file(RunDir::kBest)},
                 {"note", "best.pt computes with the quantized values in float (fake quantization): it shows the "
                          "accuracy of the policy; its size is packed_bytes once packed, and no stock LibTorch kernel "
                          "runs bit widths below 8 faster"}});
  if (has_uniform) {
    torch::jit::Module u = quant::quantize(model, uniform);
    const double uniform_test = train::evaluate(u, test, o.batch, true).top1;
    result["uniform_test_top1"] = uniform_test;
    result["val_lead_over_uniform"] = 100 * (val - uniform_val);
    result["test_lead_over_uniform"] = 100 * (test_top1 - uniform_test);
  }
  if (quant::runs_on_int8_kernels(policy)) {
    if (!measured) {
      auto host = latency::make_host_oracle(o.threads);
      measured = measure_int8(o, model, summary, d.calib, policy, *host);
    }
    result["int8"] = int8_result(o, run, *measured, d, test);
  }
  run.write_json(RunDir::kSummary, result);
  if (finetune.epochs > 0) {
    finetune.data = o.data;
    finetune.split = o.split;
    finetune.threads = o.threads;
    finetune.quantized = run.file(RunDir::kPolicy);
    finetune_result(result, o.out_dir, RunDir::kBest, finetune);
  }
  result["report"] = report::write_run_report(o.out_dir);
  return result;
}

}  // namespace xcel::jobs
