// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// `xcel prune --flops R | --latency R | --latency-ms X`: set-up (options, run directory, model, data, budget),
// the search loop, and the finish (the best policy rebuilt, measured, exported and summarised).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "xcel/core/clock.h"
#include "xcel/core/error.h"
#include "xcel/core/fs.h"
#include "xcel/core/interrupt.h"
#include "xcel/core/json_fields.h"
#include "xcel/core/log.h"
#include "xcel/core/run_dir.h"
#include "xcel/core/stats.h"
#include "xcel/device/target.h"
#include "xcel/ir/model.h"
#include "xcel/jobs/inputs.h"
#include "xcel/jobs/latency_model.h"
#include "xcel/jobs/prune_job.h"
#include "resume_search.h"
#include "xcel/latency/oracle.h"
#include "xcel/latency/profile.h"
#include "xcel/search/evaluator.h"
#include "xcel/search/search.h"
#include "xcel/data/augment.h"
#include "xcel/train/evaluate.h"
#include "xcel/train/finetune.h"

namespace xcel::jobs {

namespace {

// The keys of config.json (older runs lack latency, latency_ms, early_stop and command_line).
template <typename F, typename O>
void search_fields(F&& f, O& o) {
  run_fields(f, o);
  f("target", o.target);
  f("flops", o.flops);
  f("latency", o.latency, 0.0);
  f("latency_ms", o.latency_ms, 0.0);
  f("agent", o.agent);
  f("reward", o.reward);
  f("episodes", o.episodes);
  f("checkpoint_every", o.checkpoint_every);
  f("importance", o.importance);
  f("reconstruct", o.reconstruct);
  f("bn_recal", o.bn_recal);
  f("early_stop", o.early_stop, 0.0);  // runs written before early stop validated everything
  f("calib_images", o.calib_images);
  f("batch", o.batch);
  f("ddpg", o.ddpg);
  f("force", o.force, false);
  f("round_to", o.round_to, std::int64_t{0});
  f("latency_model", o.latency_model, std::string("table"));
  f("latency_table", o.latency_table, std::string());
  f("table_grid", o.table_grid, 4);
  f("exclude", o.exclude, std::vector<std::string>());
  f("serial", o.serial, std::string());
  f("rerank", o.rerank, 0);
  f("rerank_images", o.rerank_images, std::int64_t{5000});
  f("remove_layers", o.remove_layers, false);
  f("depth_only", o.depth_only, false);
  f("retrain_steps", o.retrain_steps, 0);
  f("platform_state", o.platform_state, false);
  f("init_agent", o.init_agent, std::string());
}

}  // namespace

void to_json(nlohmann::json& j, const SearchOptions& o) {
  j = nlohmann::json::object();
  search_fields(JsonWriter{j}, o);
}

void from_json(const nlohmann::json& j, SearchOptions& o) { search_fields(JsonReader{j}, o); }

namespace {

// The options a run uses: a resumed run is the saved run (more episodes if asked); a new run reads the agent
// configuration and checks its flags.
SearchOptions resolve(SearchOptions o, const RunDir& run) {
  if (o.resume) {
    SearchOptions saved = resumed_search(o, run, "search");
    // A resumed search is the saved one: a budget that differs from it is refused, not ignored.
    XCEL_CHECK(!o.budget_given || (o.flops == saved.flops && o.latency == saved.latency && o.latency_ms == saved.latency_ms),
               ExitCode::kUsage, "--resume continues the saved search with its own budget; drop --flops/--latency/"
               "--latency-ms or start a new run");
    XCEL_CHECK(!o.depth() || (o.remove_layers == saved.remove_layers && o.depth_only == saved.depth_only),
               ExitCode::kUsage, "--resume continues the saved search with its own walk; drop --remove-layers/"
               "--depth-only or start a new run");
    if (o.rerank_given) {
      saved.rerank = o.rerank;
      saved.rerank_images = o.rerank_images;
    }
    return saved;
  }
  search::check_agent_name(o.agent);
  XCEL_CHECK(!(o.depth() && o.agent == "uniform"), ExitCode::kUsage,
             "--agent uniform decides no blocks (the uniform policy is a candidate of every search anyway); use ddpg, "
             "dqn, evolution or random with --remove-layers/--depth-only");
  XCEL_CHECK(o.reward == "acc" || o.reward == "acc-flops" || (o.reward == "acc-latency" && o.latency_mode()),
             ExitCode::kUsage, "unknown --reward '{}'; use acc, acc-flops, or acc-latency with --latency/--latency-ms",
             o.reward);
  XCEL_CHECK(o.latency <= 1 && o.latency >= 0, ExitCode::kUsage, "--latency {} is outside (0, 1]", o.latency);
  XCEL_CHECK(o.episodes >= 1, ExitCode::kUsage, "--episodes must be at least 1");
  check_latency_model_kind(o.latency_model);
  run.start_new("search", {o.model});
  o.ddpg = agent_config(o.agent_config, o.warmup, o.split.seed);
  if (o.lbound) o.ddpg.lbound = *o.lbound;
  if (!o.init_agent.empty()) {
    // The agent of another run: same agent, same walk and state, so that its networks and replay fit.
    const RunDir from(o.init_agent);
    XCEL_CHECK(from.has_checkpoint(), ExitCode::kInput, "--init-agent '{}' holds no search checkpoint; give the "
               "run directory of an earlier xcel prune search", o.init_agent);
    const SearchOptions other = from.read_json(RunDir::kConfig).get<SearchOptions>();
    XCEL_CHECK(other.agent == o.agent && other.remove_layers == o.remove_layers && other.depth_only == o.depth_only &&
                   other.platform_state == o.platform_state,
               ExitCode::kUsage, "--init-agent '{}' searched with --agent {}{}{}{}; give the same agent and flags to "
               "start from it", o.init_agent, other.agent, other.remove_layers ? " --remove-layers" : "",
               other.depth_only ? " --depth-only" : "", other.platform_state ? " --platform-state" : "");
    if (!o.warmup) o.ddpg.warmup = 0;  // it has learnt already
  }
  return o;
}

// A brief fine-tune that only re-scores a model (--rerank, --retrain-steps): one pass over the same first training
// images for every model, with the fine-tuning defaults, from the run's seed.
struct BriefTraining {
  data::ImageSet images;
  data::Augment aug;
  data::TensorSet val;  // what the trainer validates at the end of its pass
  train::FinetuneOptions fo;
};

// Everything the loop and the finish work on, built once.
struct Setup {
  device::TargetProfile target;
  torch::jit::Module model;
  data::DatasetSpec spec;
  data::SplitOptions split;  // o.split for this model (image channels)
  data::ValCalib data;
  ir::Shape input;
  prune::DependencyGraph dg;
  ir::ModelSummary summary;
  std::int64_t round_to = 1;   // the channel multiple the search keeps
  nlohmann::json rounding;     // where round_to came from
  std::optional<search::CostModel> cost_model;
  std::string latency_model;
  nlohmann::json latency_model_info;
  nlohmann::json latency_cap;  // FLOPs budgets on a measured target: the latency bound beside the FLOPs budget
  nlohmann::json calibration;  // latency budgets: what the wall's budget was scaled by, and why
  // Latency budgets: the target, measured (uncached) for the calibration and the result; null with the reason
  // when it cannot be measured (no phone connected).
  std::unique_ptr<latency::Oracle> device;
  std::string device_error;
  std::optional<search::DepthOptions> depth;  // --remove-layers / --depth-only: the blocks the walk decides
  std::optional<search::Env> env;
  std::optional<search::Evaluator> evaluator;
  std::unique_ptr<search::Agent> agent;
  std::shared_ptr<BriefTraining> retrain;  // --retrain-steps: the images every policy is retrained on
  double original_val = 0, setup_seconds = 0;
};

BriefTraining brief_training(const SearchOptions& o, const Setup& s, std::int64_t images, std::int64_t val_images) {
  BriefTraining b;
  b.images = data::load_split(s.spec, data::Split::kTrain, s.split);
  if (images < b.images.size()) b.images = data::head(b.images, images, b.images.name);
  b.val = data::to_tensors(val_images < s.data.val.size() ? data::head(s.data.val, val_images, s.data.val.name)
                                                          : s.data.val);
  b.aug = data::parse_augment("auto", s.spec, b.images.height);
  b.fo.epochs = 1;
  b.fo.split = s.split;
  b.fo.threads = o.threads;
  b.fo.progress = false;
  b.fo.checkpoints = false;
  b.fo.test = false;
  return b;
}

// Trains `m` in place for one pass of `b`. Torch's random state is put back afterwards, so that the search draws
// what it would have drawn without it.
void brief_finetune(const SearchOptions& o, const Setup& s, const BriefTraining& b, torch::jit::Module& m,
                    const RunDir& run) {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  const at::Tensor saved = gen.get_state();
  train::wire_training_flags(m);
  const ir::ModelSummary summary = ir::analyze(m, s.input);
  torch::manual_seed(o.split.seed);
  train::Trainer trainer(b.fo, m, summary, b.images, b.aug, b.val, nullptr, run);
  trainer.run();
  m.eval();
  gen.set_state(saved);
}

// Calibration passes of the latency budget, and interleaved rounds per measurement in them.
constexpr int kCalibrationPasses = 2;
constexpr int kCalibrationRounds = 5;
// Rounds in turns at most per measurement of the calibration and the verification; more than the first ones are
// measured only while the device's noise leaves the answer open (the budget inside the median's ~95% interval).
constexpr int kMaxRounds = 25;
// The calibration's measurement is settled when the median ratio is known to within this fraction.
constexpr double kCalibrationPrecision = 0.02;
// The measured load the calibration aims the uniform policy at: a margin for measurement noise below the budget.
constexpr double kCalibrationTarget = 0.97;
// The largest budget scale: a layer model that over-predicts (its whole-model fit measured while the device was
// slowed by something else) is corrected up to this far; the result is measured against the request anyway.
constexpr double kMaxBudgetScale = 1.6;
// Steps by which the scale is lowered past a uniform policy that measured over the target (at most 15% lower).
constexpr double kScaleStep = 0.995;
constexpr int kMaxScaleSteps = 32;

// The wall's budget as a fraction of the requested one. The layer model misses costs no single layer shows, so
// the uniform policy the wall allows is measured on the target (in turns with the original) and the budget is
// scaled so that it measures kCalibrationTarget of the request, twice: down when the model under-predicts, up (to
// kMaxBudgetScale) when it over-predicts, never back above a scale whose uniform policy measured over the target.
// Saved in the checkpoint, so a resumed run uses the same budget; 1 when the target cannot be measured (no phone).
double budget_scale(const SearchOptions& o, const RunDir& run, Setup& s) {
  const std::string saved = "checkpoint/calibration.json";
  if (o.resume && run.has(saved)) {
    s.calibration = run.read_json(saved);
    return s.calibration.at("budget_scale").get<double>();
  }
  if (!s.device) {
    spdlog::warn("the latency budget is not calibrated on {}: {}", s.target.name, s.device_error);
    return 1.0;
  }
  latency::Oracle& oracle = *s.device;
  // A ratio budget never scales past the original itself.
  double scale = 1.0, cap = o.latency > 0 ? std::min(kMaxBudgetScale, 1.0 / o.latency) : kMaxBudgetScale;
  nlohmann::json steps = nlohmann::json::array();
  // The uniform policy the wall allows at a scale: its ratio, policy, channel widths, and predicted load. With depth
  // the budget may need blocks removed: the uniform policy (every block kept) is then predicted over it, and what
  // its measurement says about the model is its load against that prediction.
  struct Uniform {
    double ratio = 0;
    std::vector<std::int64_t> policy, widths;
    double predicted = 1;
  };
  auto uniform_at = [&](double k) {
    search::CostModel cm = *s.cost_model;
    cm.budget_ms = o.latency_ms * k;
    const search::Env env(s.dg, s.summary.layers, o.latency > 0 ? o.latency * k : 1.0, o.ddpg.lbound, s.round_to,
                          &cm, s.depth ? &*s.depth : nullptr);
    Uniform u;
    u.ratio = env.max_uniform_ratio();
    u.policy = env.uniform_widths(u.ratio);
    u.widths = env.decode(u.policy).widths;
    u.predicted = std::max(1.0, env.cost(u.policy) / env.budget());
    return u;
  };
  std::set<std::vector<std::int64_t>> over;  // uniform policies measured over the target
  for (int pass = 0; pass < kCalibrationPasses; ++pass) {
    const Uniform u = uniform_at(scale);
    torch::jit::Module m = prune::apply(s.model, s.dg, prune::select_channels(s.model, s.dg, u.widths, prune::Importance::kL1));
    // Rounds until the load is known to kCalibrationPrecision (a noisy device gets more of them).
    const latency::PairedLatency p = latency::measure_interleaved(
        oracle, s.model, s.summary, m, ir::analyze(m, s.input), kCalibrationRounds,
        [&](const std::vector<double>& ratios, const std::vector<double>& b_ms) {
          const std::vector<double>& v = o.latency > 0 ? ratios : b_ms;
          return median_interval(v) <= kCalibrationPrecision * summarize(v).median;
        },
        kMaxRounds);
    // Of the request (per unit of predicted load above the budget)
    const double load = (o.latency > 0 ? p.ratio / o.latency : p.b.ms.median / o.latency_ms) / u.predicted;
    steps.push_back({{"uniform_ratio", u.ratio}, {"budget_scale", scale}, {"measured_ratio", p.ratio},
                     {"measured_ms", p.b.ms.median}, {"measured_load", load}, {"predicted_load", u.predicted},
                     {"rounds", p.rounds}});
    spdlog::info("latency budget calibration: uniform {:.3f} measures {:.3f} of the original ({:.3f} of the budget)",
                 u.ratio, p.ratio, load);
    // Never back up to a scale whose uniform policy measured over the target (channel rounding makes the
    // uniform policy, and so its load, jump between passes).
    if (load > kCalibrationTarget) {
      cap = std::min(cap, scale * kCalibrationTarget / load);
      if (u.predicted <= 1.0) over.insert(u.policy);  // a policy the wall allows (not every block kept over it)
    }
    scale = std::min(cap, scale * kCalibrationTarget / load);
  }
  // Channel rounding makes the uniform policy a step function of the scale: a lower scale can still allow the very
  // uniform policy that measured over. The scale is lowered until it allows a narrower one (and kept where no lower
  // scale is feasible).
  for (int i = 0; i < kMaxScaleSteps && over.count(uniform_at(scale).policy) > 0; ++i) {
    try {
      uniform_at(scale * kScaleStep);
    } catch (const Error&) {
      break;
    }
    scale *= kScaleStep;
  }
  s.calibration = {{"budget_scale", scale}, {"steps", steps}};
  run.create();
  run.write_json(saved, s.calibration);
  return scale;
}

// The channel multiple of the search (see channel_rounding), saved in the checkpoint so a resumed run keeps it.
void rounding(const SearchOptions& o, const RunDir& run, Setup& s) {
  const std::string saved = "checkpoint/rounding.json";
  if (o.resume && run.has(saved)) {
    s.rounding = run.read_json(saved);
  } else {
    s.rounding = channel_rounding(o.round_to, s.target, s.summary, s.device.get(), o.latency_table);
    run.create();
    run.write_json(saved, s.rounding);
  }
  s.round_to = s.rounding.at("round_to").get<std::int64_t>();
}

// The budget's latency model: built on the target (see latency_model.h), or the one a resumed run saved in its
// checkpoint, so that the wall is the same after a resume.
void latency_model(const SearchOptions& o, const RunDir& run, Setup& s) {
  const std::string saved = "checkpoint/latency_model.json";
  if (o.resume && run.has(saved)) {
    const nlohmann::json j = run.read_json(saved);
    s.cost_model = j.at("cost").get<search::CostModel>();
    s.latency_model = j.at("description").get<std::string>();
    s.latency_model_info = j.at("info");
    return;
  }
  LatencyModelOptions lo;
  lo.kind = o.latency_model;
  lo.table_file = o.latency_table;
  lo.grid = o.table_grid;
  lo.lbound = o.ddpg.lbound;
  lo.round_to = s.round_to;
  LatencyModel m = build_latency_model(s.model, s.dg, s.summary, s.target, lo, s.device.get());
  s.cost_model = m.cost;
  s.latency_model = m.description;
  s.latency_model_info = m.info;
  run.create();
  run.write_json(saved, {{"cost", m.cost}, {"description", m.description}, {"info", m.info}});
}

// The target's figures for the agent's state (--platform-state), each scaled into [0, 1] by a fixed bound so that
// two targets give two different states: cores used, clock, peak GFLOP/s of those cores, memory bandwidth.
std::vector<float> platform_features(const device::TargetProfile& t) {
  const device::Roofline& r = t.roofline;
  const int cores = std::min(std::max(1, r.cores), t.threads);  // what the target's measurements use
  auto unit = [](double x, double hi) { return static_cast<float>(std::clamp(x / hi, 0.0, 1.0)); };
  return {unit(cores, 16), unit(r.clock_ghz, 4), unit(cores * r.gflops_per_core, 1000), unit(r.memory_gbs, 100)};
}

void set_up(const SearchOptions& o, const RunDir& run, Setup& s) {
  ir::set_threads(o.threads);
  s.target = device::load_target(o.target);
  s.model = ir::load_model(o.model);
  s.spec = data::parse_spec(o.data);
  s.split = for_model(o.split, s.model);
  s.data = data::load_val_and_calib(s.spec, s.split, o.calib_images);
  s.input = checked_input(s.model, s.data.val, o.data_given);
  s.original_val = train::evaluate(s.model, s.data.val, o.batch, true).top1;
  check_not_chance(s.original_val, s.data.val.num_classes, o.force, o.data);
  if (interrupted()) return;  // run_search says so
  s.dg = prune::build_dependency_graph(s.model, s.input);
  s.dg.exclude(o.exclude);
  s.summary = ir::analyze(s.model, s.input);
  {
    // The FLOPs wall and the latency model rely on the analysis: check it once on a uniform pruning before
    // searching (a graph it misreads stops here with exit 4, not with a result over budget).
    const auto kept = prune::resolve_widths(s.dg, prune::uniform_policy(s.dg, 0.5), 1);
    const auto pruned = prune::apply(s.model, s.dg, prune::select_channels(s.model, s.dg, kept, prune::Importance::kL1));
    prune::check_prediction(s.model, pruned, s.dg, kept);
  }
  // The device: measures the latency budget's tables, calibration and result, and probes the channel multiple.
  if (o.latency_mode() || o.round_to == 0) {
    try {
      latency::OracleOptions oo;
      oo.use_cache = false;  // every round measures
      oo.serial = o.serial;
      s.device = latency::make_oracle(s.target, oo);
    } catch (const Error& e) {
      if (e.code() != ExitCode::kDevice) throw;
      s.device_error = e.what();
    }
  }
  rounding(o, run, s);
  if (o.depth()) s.depth = search::DepthOptions{prune::find_units(s.model, s.input), o.depth_only};
  const search::DepthOptions* depth = s.depth ? &*s.depth : nullptr;
  if (o.latency_mode()) {
    latency_model(o, run, s);
    if (interrupted()) return;
    const double scale = budget_scale(o, run, s);
    s.cost_model->budget_ms = o.latency_ms * scale;
    s.env.emplace(s.dg, s.summary.layers, o.latency > 0 ? o.latency * scale : 1.0, o.ddpg.lbound, s.round_to,
                  &*s.cost_model, depth);
  } else {
    s.env.emplace(s.dg, s.summary.layers, o.flops, o.ddpg.lbound, s.round_to, nullptr, depth);
    // On a target measured cheaply (the host, or any target with a given table), a FLOPs search also keeps the
    // predicted latency at or below the uniform policy's: it never buys FLOPs with widths the device runs slowly.
    if (s.device && o.latency_model == "table" && (s.target.kind == "host" || !o.latency_table.empty())) {
      latency_model(o, run, s);
      const double cap = search::predict_ms(*s.cost_model, s.dg,
                                            s.env->decode(s.env->uniform_widths(s.env->max_uniform_ratio())).widths);
      s.env->cap_latency(*s.cost_model, cap);
      s.latency_cap = {{"model", s.latency_model}, {"max_ms", cap}};
    }
  }
  if (o.latency_mode())
    spdlog::info("latency budget {:.4f} ms on {} (model: {}; original predicted {:.4f} ms)", s.env->budget(),
                 s.target.name, s.latency_model, s.env->cost(s.env->full_policy()));
  run.create();
  if (!o.resume) run.write_json(RunDir::kConfig, nlohmann::json(o));
  auto t_setup = std::chrono::steady_clock::now();
  torch::manual_seed(o.split.seed);
  s.evaluator.emplace(search::RepairOptions{prune::parse_importance(o.importance), o.reconstruct, o.bn_recal, o.batch,
                                            o.early_stop},
                      s.model, s.dg, s.data.val, s.data.calib);
  if (s.env->depth()) s.evaluator->remove_blocks(*s.env, s.input);
  if (o.retrain_steps > 0) {
    // Every policy validated is first trained for retrain_steps batches (the same images each time); the trainer's
    // own check at the end of its pass looks at the first 500 validation images only.
    s.retrain = std::make_shared<BriefTraining>(
        brief_training(o, s, static_cast<std::int64_t>(o.retrain_steps) * train::FinetuneOptions{}.batch, 500));
    s.evaluator->set_retrain(
        [&o, &s, &run](torch::jit::Module& m) { brief_finetune(o, s, *s.retrain, m, run); }, o.retrain_steps);
  }
  s.setup_seconds = seconds_since(t_setup);
  if (o.platform_state) s.env->set_platform(platform_features(s.target));
  s.agent = search::make_agent(o.agent, s.env->state_dim(), o.ddpg, s.env->max_uniform_ratio(),
                               s.env->action_menu());
  if (!o.init_agent.empty() && !o.resume) {
    try {
      s.agent->load(search::agent_checkpoint(RunDir(o.init_agent)));
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      XCEL_FAIL(ExitCode::kInput, "--init-agent '{}': its agent does not load into this search ({}); the model or "
                "the state differs", o.init_agent, ir::short_what(e));
    }
    spdlog::info("the agent starts from {}'s", o.init_agent);
  }
}

// policy.json of the result. With depth it describes the model after its blocks are removed (the groups left, by
// name, and removed_blocks), so that `xcel prune --policy policy.json` applies it again.
nlohmann::json policy_file(const SearchOptions& o, const Setup& s, const std::vector<std::int64_t>& policy) {
  const search::DepthPolicy d = s.env->decode(policy);
  const prune::DependencyGraph* dg = &s.dg;
  std::vector<std::int64_t> kept = d.widths;
  prune::DependencyGraph shallow_dg;
  if (!d.removed.empty()) {
    shallow_dg = prune::build_dependency_graph(prune::remove_units(s.model, s.input, d.removed), s.input);
    kept = shallow_dg.full_widths();
    for (size_t g = 0; g < shallow_dg.groups.size(); ++g) {
      // A group of the shallower model is the original's group of the same first layer.
      const std::string& name = shallow_dg.groups[g].name;
      int from = s.dg.find_group(name);
      for (size_t h = 0; from < 0 && h < s.dg.groups.size(); ++h) {
        const auto& mods = s.dg.groups[h].modules;
        if (std::find(mods.begin(), mods.end(), name) != mods.end()) from = static_cast<int>(h);
      }
      XCEL_ASSERT(from >= 0, "group '{}' of the model without {} is no group of the original", name,
                  fmt::join(d.removed, ", "));
      kept[g] = d.widths[static_cast<size_t>(from)];
    }
    dg = &shallow_dg;
  }
  nlohmann::json j = prune::applied_policy_json(*dg, prune::Policy{}, kept, s.round_to, prune::parse_importance(o.importance));
  for (auto& [name, g] : j.at("groups").items()) g.erase("requested_ratio");
  if (s.env->depth()) j["removed_blocks"] = d.removed;
  return j;
}

// The best model as files: best.pt, and best.ptl in the phone's deploy form (optimize_for_mobile, for the lite
// interpreter) when LibTorch can export it.
bool export_best(torch::jit::Module& best, const RunDir& run) {
  ir::save_model(best, run.file(RunDir::kBest));
  std::string why;
  if (ir::export_for_mobile(best, run.file(RunDir::kBestLite), &why)) return true;
  spdlog::warn("no PyTorch Mobile (.ptl) export: LibTorch cannot export the model for the lite interpreter ({})", why);
  return false;
}

// Interleaved measurement rounds per candidate, and candidates measured at most, in the budget's verification.
constexpr int kVerifyRounds = 5;
constexpr int kMaxVerifications = 6;

// The grid of the factor by which a policy that misses the budget on measurement is narrowed.
constexpr double kNarrowStep = 0.04;

// Uniform policies tried, each kTightenStep narrower than the last, when no policy fits on measurement.
constexpr int kMaxTightenings = 4;
constexpr double kTightenStep = 0.92;

// A narrowed policy: the policy it was narrowed from (which missed the budget on measurement) and the factor.
using NarrowedFrom = std::map<std::vector<std::int64_t>, std::pair<std::vector<std::int64_t>, double>>;

// A chosen policy under kFillLoad of the budget that was narrowed from one that missed lies somewhere between the
// two; at most kMaxFillSteps bisections of the narrowing factor, each validated and (when more accurate) measured.
constexpr double kFillLoad = 0.95;
constexpr int kMaxFillSteps = 3;

// When no policy of the search fits on measurement, the uniform policy is tightened (its preserve ratio lowered
// by kTightenStep at a time, never below --lbound), validated (episode -2) and measured until one fits: the
// simplest policy that meets the measured budget. The tries are appended to `ranked` and to the steps.
search::Verification tighten_uniform(const SearchOptions& o, Setup& s, search::Verification v,
                                     const std::function<double(const search::Candidate&)>& measured_load,
                                     const std::function<double(const search::Candidate&)>& predicted_load,
                                     NarrowedFrom& narrowed_from) {
  const double widest = s.env->max_uniform_ratio();
  double ratio = widest;
  for (int t = 0; t < kMaxTightenings; ++t) {
    ratio *= kTightenStep;
    if (ratio < o.ddpg.lbound) break;
    const std::vector<std::int64_t> widths = s.env->uniform_widths(ratio);
    narrowed_from[widths] = {s.env->uniform_widths(widest), ratio / widest};
    if (std::any_of(v.candidates.begin(), v.candidates.end(), [&](const search::Candidate& c) { return c.widths == widths; }))
      continue;
    v.candidates.push_back({widths, s.evaluator->validate(widths, -1).top1, -2});
    const search::VerifyStep step{static_cast<int>(v.candidates.size()) - 1, predicted_load(v.candidates.back()),
                                  measured_load(v.candidates.back())};
    v.steps.push_back(step);
    spdlog::info("latency: uniform {:.3f} measures {:.3f} of the budget", ratio, step.measured_load);
    if (step.measured_load <= 1.0) {
      v.chosen = step.candidate;
      break;
    }
  }
  return v;
}

// `widths` among the candidates (most accurate first): inserted at its place with episode -1 when absent, its
// accuracy from `validate`. Returns its validation top-1.
double with_candidate(std::vector<search::Candidate>& ranked, const std::vector<std::int64_t>& widths,
                      const std::function<double()>& validate) {
  auto it = std::find_if(ranked.begin(), ranked.end(), [&](const search::Candidate& c) { return c.widths == widths; });
  if (it != ranked.end()) return it->val_top1;
  const search::Candidate c{widths, validate(), -1};
  ranked.insert(std::upper_bound(ranked.begin(), ranked.end(), c,
                                 [](const search::Candidate& a, const search::Candidate& b) { return a.val_top1 > b.val_top1; }),
                c);
  return c.val_top1;
}

// --rerank K: the first K of `ranked` (distinct policies, most accurate first) are fine-tuned briefly, each for one
// pass over the same first o.rerank_images training images with the fine-tuning defaults, and re-scored on the
// validation split; they move to the front of the list in their new order (the rest keep theirs). Returns the
// summary's block: every re-scored policy before and after, and whether the first one changed.
nlohmann::json rerank(const SearchOptions& o, const RunDir& run, Setup& s, std::vector<search::Candidate>& ranked) {
  const size_t k = std::min(static_cast<size_t>(o.rerank), ranked.size());
  const BriefTraining b = brief_training(o, s, o.rerank_images, s.data.val.size());
  std::vector<std::pair<double, size_t>> after;  // (val after, index into ranked)
  nlohmann::json rows = nlohmann::json::array();
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < k; ++i) {
    if (interrupted()) run.interrupted("while re-ranking the best policies", "prune");
    torch::jit::Module m = s.evaluator->build_scored(ranked[i].widths);
    brief_finetune(o, s, b, m, run);
    const double v = train::evaluate(m, b.val, o.batch, true).top1;
    after.emplace_back(v, i);
    rows.push_back({{"episode", ranked[i].episode}, {"val_top1", ranked[i].val_top1}, {"val_top1_after_finetune", v},
                    {"flops", s.env->flops_of(ranked[i].widths)}});
    spdlog::info("rerank {}/{}: episode {} val top-1 {:.2f}% -> {:.2f}% after a brief fine-tune", i + 1, k,
                 ranked[i].episode, 100 * ranked[i].val_top1, 100 * v);
  }
  if (interrupted()) run.interrupted("while re-ranking the best policies", "prune");
  std::stable_sort(after.begin(), after.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<search::Candidate> order;
  for (const auto& [v, i] : after) order.push_back(ranked[i]);
  const bool changed = k > 0 && after.front().second != 0;
  std::copy(order.begin(), order.end(), ranked.begin());
  return {{"k", k},
          {"train_images", b.images.size()},
          {"epochs", 1},
          {"policies", rows},
          {"winner_changed", changed},
          {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}};
}

// A policy measured on the device in turns with the original. A load near 1 is measured in more rounds until the
// budget lies outside the median's ~95% interval: one noisy measurement neither rejects a good policy nor passes
// one over the budget.
latency::PairedLatency measure_policy(const SearchOptions& o, const Setup& s, const std::vector<std::int64_t>& widths) {
  torch::jit::Module m = s.evaluator->build(widths);
  return latency::measure_interleaved(
      *s.device, s.model, s.summary, m, ir::analyze(m, s.input), kVerifyRounds,
      [&](const std::vector<double>& ratios, const std::vector<double>& b_ms) {
        const std::vector<double>& v = o.latency > 0 ? ratios : b_ms;
        const double limit = o.latency > 0 ? o.latency : o.latency_ms;
        return std::abs(summarize(v).median - limit) > median_interval(v);
      },
      kMaxRounds);
}

// The fraction of the budget a measured policy takes (<= 1 fits).
double load_of(const SearchOptions& o, const latency::PairedLatency& p) {
  return o.latency > 0 ? p.ratio / o.latency : p.b.ms.median / o.latency_ms;
}

// With a latency budget, the result is the most accurate policy whose latency *measured* on the target (in turns
// with the original's) meets the budget. Returns the chosen candidate and the latency block of the summary;
// Error(kBudget) when no candidate does. Without a device, the best predicted policy is kept, marked unverified.
search::Candidate verified_result(const SearchOptions& o, const RunDir& run, Setup& s, const search::SearchLoop& loop,
                                   const std::vector<std::int64_t>& uniform, nlohmann::json& lat) {
  std::vector<search::Candidate> ranked = loop.ranked();
  // The uniform policy the wall allows competes too (validated like the others; episode -1), so a search whose
  // own policies all miss on measurement still has the plain answer to fall back on.
  if (!uniform.empty())
    lat["uniform_val_top1"] = with_candidate(ranked, uniform, [&] { return s.evaluator->validate(uniform, -1).top1; });
  // Re-ranked after a brief fine-tune, the measurement goes down the list in the new order.
  if (o.rerank > 0) lat["rerank"] = rerank(o, run, s, ranked);
  if (!s.device) {
    spdlog::warn("the result was not measured on {}: {}", s.target.name, s.device_error);
    lat["latency_measured_ms"] = nullptr;
    lat["latency_measure_error"] = s.device_error;
    lat["latency_verified"] = false;
    return ranked.front();
  }
  std::map<std::vector<std::int64_t>, latency::PairedLatency> measured;
  auto measured_load = [&](const search::Candidate& c) {
    return load_of(o, measured[c.widths] = measure_policy(o, s, c.widths));
  };
  auto predicted_load = [&](const search::Candidate& c) { return s.env->cost(c.widths) / s.env->budget(); };
  const auto found =
      std::find_if(ranked.begin(), ranked.end(), [&](const search::Candidate& c) { return c.widths == uniform; });
  const int uniform_index = found == ranked.end() ? -1 : static_cast<int>(found - ranked.begin());
  // A policy that misses is narrowed (every group's share by the same factor, the largest on a 4% grid down to
  // half that the corrected prediction allows), validated (episode -3) and joins the candidates at its accuracy.
  NarrowedFrom narrowed_from;
  auto tighten = [&](const search::Candidate& missed, double k) -> std::optional<search::Candidate> {
    for (double f = 1 - kNarrowStep; f >= 0.5; f -= kNarrowStep) {
      const std::vector<std::int64_t> w = s.env->scaled_widths(missed.widths, f);
      if (w == missed.widths || predicted_load({w, 0, 0}) * k > 1.0) continue;
      narrowed_from.emplace(w, std::make_pair(missed.widths, f));
      return search::Candidate{w, s.evaluator->validate(w, -1).top1, -3};
    }
    return std::nullopt;
  };
  search::Verification v =
      search::verify_budget(ranked, predicted_load, measured_load, kMaxVerifications, uniform_index, tighten);
  if (v.chosen < 0 && !uniform.empty()) v = tighten_uniform(o, s, v, measured_load, predicted_load, narrowed_from);
  // A narrowed result far under the budget: bisected back towards the policy it came from.
  if (v.chosen >= 0) {
    const auto from = narrowed_from.find(v.candidates[static_cast<size_t>(v.chosen)].widths);
    if (from != narrowed_from.end())
      v = search::fill_budget(
          std::move(v), from->second.first, from->second.second,
          [&](double f) { return s.env->scaled_widths(from->second.first, f); },
          [&](const std::vector<std::int64_t>& w) { return s.evaluator->validate(w, -1).top1; }, predicted_load,
          measured_load, kMaxFillSteps, kFillLoad);
  }
  ranked = v.candidates;
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& st : v.steps) {
    const search::Candidate& c = ranked[static_cast<size_t>(st.candidate)];
    const auto& p = measured.at(c.widths);
    steps.push_back({{"episode", c.episode}, {"val_top1", c.val_top1}, {"predicted_load", st.predicted_load},
                     {"measured_load", st.measured_load}, {"measured_ms", p.b.ms.median},
                     {"original_ms", p.a.ms.median}, {"measured_ratio", p.ratio}, {"rounds", p.rounds}});
  }
  lat["latency_verification"] = steps;
  // Whether the uniform policy it is compared with met the budget too (null: it was not measured).
  lat["uniform_measured_load"] = nullptr;
  if (measured.count(uniform) > 0) lat["uniform_measured_load"] = load_of(o, measured.at(uniform));
  if (v.chosen < 0) {
    double closest = 1e300;
    for (const auto& st : v.steps) closest = std::min(closest, st.measured_load);
    XCEL_FAIL(ExitCode::kBudget, "no policy meets the latency budget on {} when measured: {} measured (the search's "
              "best and the uniform policy, tightened down to --lbound), the closest at {:.3f} of the budget; raise "
              "the budget or lower --lbound, or measure the searched policies again (the search is kept) with: xcel "
              "prune --resume --out {}", s.target.name, v.steps.size(), v.steps.empty() ? 0.0 : closest, o.out_dir);
  }
  const search::Candidate& chosen = ranked[static_cast<size_t>(v.chosen)];
  const latency::PairedLatency& p = measured.at(chosen.widths);
  lat["latency_measured_ms_before"] = p.a.ms.median;
  lat["latency_measured_ms"] = p.b.ms.median;
  lat["latency_measured_ratio"] = p.ratio;
  lat["latency_measured_on"] = p.b.device;
  lat["latency_measured_form"] = p.b.form;
  lat["latency_verified"] = true;
  spdlog::info("latency: measured {:.4f} ms on {} ({:.3f} of the original), budget {}", p.b.ms.median, p.b.device,
               p.ratio, o.latency > 0 ? fmt::format("{:.3f} of the original", o.latency)
                                      : fmt::format("{:.4f} ms", o.latency_ms));
  return chosen;
}

nlohmann::json finish(const SearchOptions& o, const RunDir& run, Setup& s, const search::SearchLoop& loop) {
  // The search is checkpointed at its last episode: a Ctrl-C from here on is continued by --resume, which runs
  // no more episodes and finishes.
  auto stop_if_interrupted = [&] {
    if (interrupted()) run.interrupted("after the last episode, while finishing", "prune");
  };
  stop_if_interrupted();
  search::Best best = loop.best();
  nlohmann::json lat = nlohmann::json::object();
  // The one-line answer: the uniform policy the budget allows competes with the search's policies (with --depth-only
  // there is none: every group keeps its channels, and the budget needs blocks removed).
  const double uniform_ratio = s.env->max_uniform_ratio();
  std::vector<std::int64_t> uniform = s.env->uniform_widths(uniform_ratio);
  if (!s.env->fits(uniform)) uniform.clear();
  if (o.latency_mode()) {
    const search::Candidate chosen = verified_result(o, run, s, loop, uniform, lat);
    best = {chosen.episode, chosen.val_top1, 0.0, chosen.widths, s.env->flops_of(chosen.widths)};
    lat.update({{"latency_target", s.target.name},
                {"latency_budget_ms", s.env->budget()},
                {"latency_model", s.latency_model},
                {"latency_model_info", s.latency_model_info},
                {"latency_predicted_ms_before", s.env->cost(s.env->full_policy())},
                {"latency_predicted_ms", s.env->cost(best.widths)},
                {"latency_calibration", s.calibration}});
  } else {
    // The uniform policy the budget allows competes with the search's best (validated like it, episode -1): a
    // search never returns less than the one-line answer (and with a budget the original meets, it is the original).
    const double uniform_val = uniform.empty() ? -1.0 : s.evaluator->validate(uniform, -1).top1;
    if (!uniform.empty() && (best.widths.empty() || uniform_val > best.val_top1)) {
      spdlog::info("the uniform policy ({:.2f}%) is ahead of the search's best ({:.2f}%) and is the result",
                   100 * uniform_val, 100 * best.val_top1);
      best = {-1, uniform_val, 0.0, uniform, s.env->flops_of(uniform)};
    }
    if (!uniform.empty()) lat["uniform_val_top1"] = uniform_val;
    if (o.rerank > 0) {
      std::vector<search::Candidate> ranked = loop.ranked();
      if (!uniform.empty()) with_candidate(ranked, uniform, [&] { return uniform_val; });
      lat["rerank"] = rerank(o, run, s, ranked);
      const search::Candidate& w = ranked.front();
      best = {w.episode, w.val_top1, 0.0, w.widths, s.env->flops_of(w.widths)};
    }
  }
  stop_if_interrupted();
  torch::jit::Module best_model = s.evaluator->build_scored(best.widths);
  const double best_val = s.evaluator->accuracy(best_model).top1;
  if (!s.env->depth()) prune::check_prediction(s.model, best_model, s.dg, best.widths);
  ir::ModelSummary after = ir::analyze(best_model, s.input);
  XCEL_ASSERT(after.flops == best.flops && after.flops <= s.env->target_flops(), "best model has {} FLOPs, expected {}",
              after.flops, best.flops);
  data::ImageSet test = data::load_split(s.spec, data::Split::kTest, s.split);
  const double test_top1 = train::evaluate(best_model, test, o.batch, true).top1;
  // The one-line answer beside the result, on the same test images.
  double uniform_test = test_top1;
  if (!uniform.empty() && uniform != best.widths) {
    torch::jit::Module u = s.evaluator->build_scored(uniform);
    uniform_test = train::evaluate(u, test, o.batch, true).top1;
  }
  const double original_test = train::evaluate(s.model, test, o.batch, true).top1;
  stop_if_interrupted();
  const bool lite = export_best(best_model, run);
  // Measured host latency of the original and the result, per layer (the report's where-time-goes view).
  ir::ModelSummary before = s.summary;
  before.path = o.model;
  after.path = run.file(RunDir::kBest);
  auto host = latency::make_host_oracle(o.threads);
  const latency::Profile prof_before = latency::profile_model(*host, s.model, before);
  const latency::Profile prof_after = latency::profile_model(*host, best_model, after);
  // The speed-up from rounds in turns (a drift of the machine's speed hits both models alike).
  const latency::PairedLatency speed = latency::measure_interleaved(*host, s.model, before, best_model, after, kVerifyRounds);
  nlohmann::json profiles = {{"original", prof_before}, {"best", prof_after}};
  if (o.latency_mode() && lat.value("latency_measured_on", "") == prof_before.device) {  // the same device
    profiles["original"]["predicted_ms"] = lat.at("latency_predicted_ms_before");
    profiles["best"]["predicted_ms"] = lat.at("latency_predicted_ms");
  }
  run.write_json(RunDir::kProfile, profiles);
  nlohmann::json policy = policy_file(o, s, best.widths);
  run.write_json(RunDir::kPolicy, policy);
  const search::LoopStats st = loop.stats();
  nlohmann::json result = {
      {"model", o.model},
      {"out", o.out_dir},
      {"target", s.target.name},
      {"agent", o.agent},
      {"episodes", st.episodes},
      {"flops_target", o.latency_mode() ? nlohmann::json() : nlohmann::json(o.flops)},
      {"input_shape", s.input},
      {"flops_before", s.dg.flops},
      {"flops", after.flops},
      {"flops_ratio", static_cast<double>(after.flops) / static_cast<double>(s.dg.flops)},
      {"params_before", s.summary.params},
      {"params", after.params},
      {"val_top1_before", s.original_val},
      {"val_top1", best_val},
      {"test_top1_before", original_test},
      {"test_top1", test_top1},
      {"best_episode", best.episode},
      {"unique_policies", st.unique_policies},
      {"early_stop", o.early_stop},
      {"stopped_early", st.stopped_early},
      {"val_images_per_policy", st.val_images_per_policy},
      {"seconds_per_episode", st.seconds_per_episode},
      {"setup_seconds", s.setup_seconds},
      {"seed", o.split.seed},
      {"split_seed", o.split.split_seed},
      {"val_source", s.data.val_source},
      {"val_carved_from_training", s.data.val_carved},
      {"normalization", {{"mean", o.split.mean}, {"std", o.split.std}}},
      {"threads", o.threads},
      {"lite_model", lite},
      {"result_is_uniform", uniform == best.widths},
      {"round_to", s.round_to},
      {"rounding", s.rounding},
      {"latency_ms_before", speed.a.ms.median},
      {"latency_ms", speed.b.ms.median},
      {"speedup", 1.0 / std::max(1e-9, speed.ratio)},
      {"latency_source", fmt::format("measured on the host in deploy form ({}), batch 1, {} rounds in turns with the "
                                     "original (medians of {} runs)", speed.b.form, speed.rounds, prof_after.total_ms.n)},
  };
  result.update(lat);
  // Points of validation top-1 the result is ahead of the uniform policy (0 when uniform is the result).
  if (result.contains("uniform_val_top1"))
    result["val_lead_over_uniform"] = 100 * (best_val - result.at("uniform_val_top1").get<double>());
  if (!uniform.empty()) {
    result["uniform_ratio"] = uniform_ratio;
    result["uniform_test_top1"] = uniform_test;
    result["test_lead_over_uniform"] = 100 * (test_top1 - uniform_test);
  }
  if (s.env->depth()) {
    result["removed_blocks"] = s.env->decode(best.widths).removed;
    result["blocks"] = s.env->unit_names();
    result["depth_only"] = o.depth_only;
  }
  if (!s.latency_cap.is_null()) {
    s.latency_cap["predicted_ms"] = s.env->capped_ms(best.widths);
    result["latency_cap"] = s.latency_cap;
  }
  run.write_json(RunDir::kSummary, result);
  return result;
}

}  // namespace

nlohmann::json run_search(SearchOptions opts, SearchOptions* used) {
  const RunDir run(opts.out_dir);
  const SearchOptions o = resolve(std::move(opts), run);
  if (used != nullptr) *used = o;
  InterruptScope interrupt_scope;  // Ctrl-C at any stage stops the run with exit 130 and what to do next
  Setup s;
  set_up(o, run, s);
  XCEL_CHECK(!interrupted(), ExitCode::kInterrupted, "interrupted during set-up, before the first episode; {}",
             o.resume ? fmt::format("continue with: xcel prune --resume --out {}", o.out_dir)
                      : std::string("nothing was searched: run the same command again"));
  search::LoopOptions lo{o.reward, o.episodes, o.checkpoint_every, o.progress, {}, ""};
  if (o.latency_mode() && s.device) {
    lo.measured_on = "measured on " + s.device->description();
    lo.measure = [&o, &s](const std::vector<std::int64_t>& widths) {
      const latency::PairedLatency p = measure_policy(o, s, widths);
      return search::Measured{p.b.ms.median, load_of(o, p)};
    };
  }
  search::SearchLoop loop(lo, *s.env, *s.evaluator, *s.agent, run);
  if (o.resume) loop.restore();
  loop.run();
  return finish(o, run, s, loop);
}

}  // namespace xcel::jobs
