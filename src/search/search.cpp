// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// The search loop: episodes of (walk groups with the agent -> widths -> prune + repair -> validation
// accuracy -> reward), with identical policies evaluated once, a checkpoint every N episodes (and on Ctrl-C),
// and exact resumption.
#include "xcel/search/search.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>

#include "xcel/core/clock.h"
#include "xcel/core/error.h"
#include "xcel/core/fs.h"
#include "xcel/core/interrupt.h"
#include "xcel/core/progress.h"
#include "xcel/core/log.h"
#include "xcel/ir/model.h"
#include "xcel/latency/host_bench.h"
#include "xcel/latency/oracle.h"
#include "xcel/prune/engine.h"
#include "xcel/prune/reconstruct.h"
#include "xcel/prune/repair.h"
#include "xcel/search/env.h"
#include "xcel/search/target.h"
#include "xcel/train/evaluate.h"

namespace xcel::search {
namespace {

// Early stop tests a policy after each twentieth of the validation split (250 of 5,000 images).
constexpr std::int64_t kEarlyStopLooks = 20;

// True when `correct` hits out of `seen` put the top-1 more than `z` standard errors below `best`.
bool clearly_below(std::int64_t seen, std::int64_t correct, double best, double z) {
  const double p = static_cast<double>(correct) / static_cast<double>(seen);
  const double q = std::clamp(p, 0.01, 0.99);
  return p + z * std::sqrt(q * (1 - q) / static_cast<double>(seen)) < best;
}

// Prunes to given widths, applies the configured repairs, and measures validation accuracy.
class Evaluator {
 public:
  Evaluator(const SearchOptions& o, torch::jit::Module& model, const prune::DependencyGraph& dg,
            const data::ImageSet& val, const data::ImageSet& calib)
      : o_(o), model_(model), dg_(dg), val_(train::to_tensors(val)), calib_(calib),
        importance_(prune::parse_importance(o.importance)) {
    if (o.reconstruct) reconstructor_ = std::make_unique<prune::Reconstructor>(model, dg, calib, prune::ReconstructOptions{});
  }

  torch::jit::Module build(const std::vector<std::int64_t>& widths) const {
    auto t0 = std::chrono::steady_clock::now();
    auto sel = prune::select_channels(model_, dg_, widths, importance_);
    torch::jit::Module pruned = prune::apply(model_, dg_, sel);
    const double apply_s = seconds_since(t0);
    if (reconstructor_) reconstructor_->refit(pruned, sel);
    if (o_.bn_recal > 0) prune::recalibrate_batch_norm(pruned, calib_, o_.bn_recal, o_.batch);
    spdlog::debug("episode build: prune {:.3f} s, repairs {:.3f} s", apply_s, seconds_since(t0) - apply_s);
    return pruned;
  }

  // Validation top-1 of `m`; with early stop (and a best so far), validation ends once the running estimate
  // is `early_stop` standard errors below `best` (the result then covers fewer images than the split). The
  // test runs after each 1/kEarlyStopLooks of the split (at the first batch boundary past it).
  train::Accuracy accuracy(torch::jit::Module& m, double best = -1) const {
    auto t0 = std::chrono::steady_clock::now();
    const std::int64_t every = (val_size() + kEarlyStopLooks - 1) / kEarlyStopLooks;
    std::int64_t next_check = every;
    train::EvalMonitor monitor = [&](std::int64_t seen, std::int64_t correct) {
      if (seen < next_check) return true;
      next_check = (seen / every + 1) * every;
      return !clearly_below(seen, correct, best, o_.early_stop);
    };
    const bool stop_early = o_.early_stop > 0 && best > 0;
    train::Accuracy acc = train::evaluate(m, val_, o_.batch, true, stop_early ? monitor : nullptr);
    spdlog::debug("episode validation: {:.3f} s, {} images", seconds_since(t0), acc.n);
    return acc;
  }

  std::int64_t val_size() const { return val_.x.size(0); }

 private:
  const SearchOptions& o_;
  torch::jit::Module& model_;
  const prune::DependencyGraph& dg_;
  const train::TensorSet val_;
  const data::ImageSet& calib_;
  prune::Importance importance_;
  std::unique_ptr<prune::Reconstructor> reconstructor_;
};

// What the search loop needs from an agent; DDPG, random and uniform implement it.
class Agent {
 public:
  virtual ~Agent() = default;
  virtual double act(const std::vector<float>& state, int episode) = 0;
  virtual void end_episode(const std::vector<std::vector<float>>& states, const std::vector<double>& actions,
                           double reward, int episode) = 0;
  virtual void save(const std::string& path) const = 0;
  virtual void load(const std::string& path) = 0;
  virtual double sigma() const { return 0; }
};

class DdpgAgent : public Agent {
 public:
  DdpgAgent(int dim, const rl::DdpgConfig& cfg) : ddpg_(dim, cfg) {}
  double act(const std::vector<float>& s, int episode) override { return ddpg_.act(s, episode); }
  void end_episode(const std::vector<std::vector<float>>& s, const std::vector<double>& a, double r,
                   int episode) override {
    ddpg_.end_episode(s, a, r, episode);
  }
  void save(const std::string& path) const override { ddpg_.save(path); }
  void load(const std::string& path) override { ddpg_.load(path); }
  double sigma() const override { return ddpg_.sigma(); }

 private:
  rl::Ddpg ddpg_;
};

// Uniform random preserve ratios in [lbound, 1] at every step of every episode.
class RandomAgent : public Agent {
 public:
  RandomAgent(double lbound, std::uint64_t seed) : lbound_(lbound), rng_(seed) {}
  double act(const std::vector<float>&, int) override {
    return std::uniform_real_distribution<double>(lbound_, 1.0)(rng_);
  }
  void end_episode(const std::vector<std::vector<float>>&, const std::vector<double>&, double, int) override {}
  void save(const std::string& path) const override {
    std::ostringstream s;
    s << rng_;
    fs::write_file_atomic(path, s.str());
  }
  void load(const std::string& path) override {
    std::ifstream in(path);
    in >> rng_;
  }

 private:
  double lbound_;
  std::mt19937_64 rng_;
};

// The same ratio everywhere: the largest that meets the budget.
class UniformAgent : public Agent {
 public:
  explicit UniformAgent(double ratio) : ratio_(ratio) {}
  double act(const std::vector<float>&, int) override { return ratio_; }
  void end_episode(const std::vector<std::vector<float>>&, const std::vector<double>&, double, int) override {}
  void save(const std::string& path) const override { fs::write_file_atomic(path, std::to_string(ratio_)); }
  void load(const std::string&) override {}

 private:
  double ratio_;
};

struct Best {
  int episode = -1;
  double val_top1 = -1, reward = 0;
  std::vector<std::int64_t> widths;
  std::int64_t flops = 0;
};

nlohmann::json best_json(const Best& b) {
  return {{"episode", b.episode}, {"val_top1", b.val_top1}, {"reward", b.reward}, {"widths", b.widths}, {"flops", b.flops}};
}

Best best_from(const nlohmann::json& j) {
  Best b;
  b.episode = j.at("episode");
  b.val_top1 = j.at("val_top1");
  b.reward = j.at("reward");
  b.widths = j.at("widths").get<std::vector<std::int64_t>>();
  b.flops = j.at("flops");
  return b;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

}  // namespace

void to_json(nlohmann::json& j, const SearchOptions& o) {
  j = {{"model", o.model},           {"out", o.out_dir},        {"data", o.data},
       {"target", o.target},         {"flops", o.flops},        {"agent", o.agent},
       {"latency", o.latency},       {"latency_ms", o.latency_ms},
       {"reward", o.reward},         {"episodes", o.episodes},  {"checkpoint_every", o.checkpoint_every},
       {"importance", o.importance}, {"reconstruct", o.reconstruct}, {"bn_recal", o.bn_recal},
       {"early_stop", o.early_stop},
       {"calib_images", o.calib_images}, {"val_size", o.split.val_size}, {"seed", o.split.seed},
       {"batch", o.batch},           {"threads", o.threads},    {"ddpg", o.ddpg},
       {"command_line", o.command_line}};
}

void from_json(const nlohmann::json& j, SearchOptions& o) {
  o.model = j.at("model");
  o.out_dir = j.at("out");
  o.data = j.at("data");
  o.target = j.at("target");
  o.flops = j.at("flops");
  o.latency = j.value("latency", 0.0);
  o.latency_ms = j.value("latency_ms", 0.0);
  o.agent = j.at("agent");
  o.reward = j.at("reward");
  o.episodes = j.at("episodes");
  o.checkpoint_every = j.at("checkpoint_every");
  o.importance = j.at("importance");
  o.reconstruct = j.at("reconstruct");
  o.bn_recal = j.at("bn_recal");
  o.early_stop = j.value("early_stop", 0.0);  // runs written before early stop validated everything
  o.calib_images = j.at("calib_images");
  o.split.val_size = j.at("val_size");
  o.split.seed = j.at("seed");
  o.batch = j.at("batch");
  o.threads = j.at("threads");
  o.ddpg = j.at("ddpg").get<rl::DdpgConfig>();
  o.command_line = j.value("command_line", "");
}

namespace {

// The latency model of the budget wall: each layer's time (host: measured on its own; phones: roofline
// estimate) spread over its FLOPs, so that predicted time = sum of ms-per-FLOP x FLOPs under any widths (monotone),
// plus what the layers do not account for (host: the measured whole model minus the layers), held constant.
CostModel latency_cost_model(torch::jit::Module& model, const prune::DependencyGraph& dg, const ir::ModelSummary& summary,
                             const TargetProfile& target, int threads, std::string& description) {
  std::map<std::string, const ir::Layer*> by_name;
  for (const auto& l : summary.layers) by_name.emplace(l.name, &l);
  CostModel m;
  double layers_ms = 0;
  for (const auto& c : dg.layers) {
    double w = 0;
    auto it = by_name.find(c.name);
    if (it != by_name.end() && c.flops > 0) {
      const ir::Layer& l = *it->second;
      double ms = 0;
      if (target.kind == "host") {
        ms = latency::time_layer(l, 10, 30).median;
      } else {
        ir::ModelSummary one;
        one.layers = {l};
        ms = latency::roofline_estimate(target, one, threads).ms.median;
      }
      w = ms / static_cast<double>(c.flops);
      layers_ms += ms;
    }
    m.weights.push_back(w);
  }
  if (target.kind == "host") {
    m.constant = std::max(0.0, latency::bench_host(model, summary.input_shape, 10, 50).median - layers_ms);
    description = fmt::format("host per-layer profile, {} thread(s), + {:.4f} ms for the rest", threads, m.constant);
  } else {
    description = "roofline estimate from " + target.path;
  }
  return m;
}

}  // namespace

nlohmann::json run_search(SearchOptions o) {
  XCEL_CHECK(o.agent == "ddpg" || o.agent == "random" || o.agent == "uniform", ExitCode::kUsage,
             "unknown --agent '{}'; use ddpg, random or uniform", o.agent);
  const bool latency_mode = o.latency > 0 || o.latency_ms > 0;
  XCEL_CHECK(o.reward == "acc" || o.reward == "acc-flops" || (o.reward == "acc-latency" && latency_mode),
             ExitCode::kUsage, "unknown --reward '{}'; use acc, acc-flops, or acc-latency with --latency/--latency-ms",
             o.reward);
  XCEL_CHECK(o.latency <= 1 && o.latency >= 0, ExitCode::kUsage, "--latency {} is outside (0, 1]", o.latency);
  XCEL_CHECK(o.episodes >= 1, ExitCode::kUsage, "--episodes must be at least 1");
  XCEL_CHECK(!o.out_dir.empty(), ExitCode::kUsage, "--out DIR is required");
  const std::string ckpt = o.out_dir + "/checkpoint";
  const std::string episodes_path = o.out_dir + "/episodes.jsonl";
  if (o.resume) {
    XCEL_CHECK(fs::exists(ckpt + "/state.json"), ExitCode::kInput,
               "--resume: '{}' has no checkpoint; start a new run without --resume", o.out_dir);
    // The run's own configuration wins: a resumed run is the same run.
    SearchOptions saved = nlohmann::json::parse(std::ifstream(o.out_dir + "/config.json")).get<SearchOptions>();
    saved.episodes = o.episodes_given ? o.episodes : saved.episodes;
    saved.out_dir = o.out_dir;
    saved.progress = o.progress;
    saved.resume = true;
    o = saved;
  } else {
    XCEL_CHECK(!fs::same_file(o.out_dir, o.model), ExitCode::kUsage, "--out '{}' is the input model", o.out_dir);
    XCEL_CHECK(!fs::exists(episodes_path), ExitCode::kUsage,
               "'{}' already holds a search; continue it with --resume or choose another --out", o.out_dir);
  }
  o.ddpg.seed = o.split.seed;

  ir::set_threads(o.threads);
  const TargetProfile target = load_target(o.target);
  torch::jit::Module model = ir::load_model(o.model);
  auto spec = data::parse_spec(o.data);
  auto [val, calib] = data::load_val_and_calib(spec, o.split, o.calib_images);
  const ir::Shape input{1, val.channels, val.height, val.width};
  prune::DependencyGraph dg = prune::build_dependency_graph(model, input);
  ir::ModelSummary summary = ir::analyze(model, input);
  std::optional<CostModel> cost_model;
  std::string latency_model;
  if (latency_mode) {
    cost_model = latency_cost_model(model, dg, summary, target, o.threads, latency_model);
    cost_model->budget_ms = o.latency_ms;
  }
  Env env(dg, summary.layers, latency_mode ? (o.latency > 0 ? o.latency : 1.0) : o.flops, o.ddpg.lbound,
          target.round_to, cost_model ? &*cost_model : nullptr);
  if (latency_mode)
    spdlog::info("latency budget {:.4f} ms on {} (model: {}; original predicted {:.4f} ms)", env.budget(), target.name,
                 latency_model, env.cost(dg.full_widths()));

  std::error_code ec;
  std::filesystem::create_directories(ckpt, ec);
  XCEL_CHECK(!ec, ExitCode::kInput, "cannot create '{}': {}", ckpt, ec.message());
  if (!o.resume) fs::write_file_atomic(o.out_dir + "/config.json", nlohmann::json(o).dump(2) + "\n");

  auto t_setup = std::chrono::steady_clock::now();
  torch::manual_seed(o.split.seed);
  Evaluator evaluator(o, model, dg, val, calib);
  const double setup_seconds = seconds_since(t_setup);
  std::unique_ptr<Agent> agent;
  if (o.agent == "ddpg") agent = std::make_unique<DdpgAgent>(env.state_dim(), o.ddpg);
  if (o.agent == "random") agent = std::make_unique<RandomAgent>(o.ddpg.lbound, o.split.seed);
  if (o.agent == "uniform") agent = std::make_unique<UniformAgent>(env.max_uniform_ratio());
  const double original_val = train::evaluate(model, val, o.batch, true).top1;

  // Restore state.
  int start = 0;
  Best best;
  // Validated policies: widths -> (top-1, validation images it covers).
  std::map<std::vector<std::int64_t>, std::pair<double, std::int64_t>> cache;
  std::vector<std::string> episode_lines;
  double spent_seconds = 0;
  if (o.resume) {
    auto state = nlohmann::json::parse(std::ifstream(ckpt + "/state.json"));
    start = state.at("next_episode");
    best = best_from(state.at("best"));
    spent_seconds = state.at("seconds");
    for (const auto& e : state.at("cache"))
      cache[e.at(0).get<std::vector<std::int64_t>>()] = {e.at(1), e.size() > 2 ? e.at(2).get<std::int64_t>() : evaluator.val_size()};
    agent->load(ckpt + "/agent.pt");
    ir::load_rng_state(ckpt + "/torch_rng.pt");
    episode_lines = read_lines(episodes_path);
    episode_lines.resize(static_cast<size_t>(std::min<int>(start, static_cast<int>(episode_lines.size()))));
    fs::write_file_atomic(episodes_path, join_lines(episode_lines));
    spdlog::info("resuming {} at episode {}/{}", o.out_dir, start, o.episodes);
  }

  auto save_checkpoint = [&](int next_episode) {
    nlohmann::json c = nlohmann::json::array();
    for (const auto& [w, acc] : cache) c.push_back({w, acc.first, acc.second});
    agent->save(ckpt + "/agent.pt");
    ir::save_rng_state(ckpt + "/torch_rng.pt");
    fs::write_file_atomic(episodes_path, join_lines(episode_lines));
    fs::write_file_atomic(ckpt + "/state.json",
                          nlohmann::json{{"next_episode", next_episode}, {"best", best_json(best)},
                                         {"seconds", spent_seconds}, {"cache", c}}
                                  .dump() + "\n");
  };

  std::optional<InterruptScope> interrupt_scope(std::in_place);
  std::optional<Progress> progress;
  if (o.progress) progress.emplace("episode", o.episodes, start);
  for (int ep = start; ep < o.episodes; ++ep) {
    auto t0 = std::chrono::steady_clock::now();
    env.reset();
    std::vector<std::vector<float>> states;
    std::vector<double> actions;
    while (!env.done()) {
      states.push_back(env.state());
      actions.push_back(env.step(agent->act(states.back(), ep)));
    }
    const auto widths = env.widths();
    const std::int64_t flops = env.flops();
    XCEL_ASSERT(flops <= env.target_flops() && env.cost() <= env.budget(), "episode {} is over the budget", ep);
    auto hit = cache.find(widths);
    const bool cached = hit != cache.end();
    double acc = 0;
    std::int64_t val_images = 0;
    if (cached) {
      std::tie(acc, val_images) = hit->second;
    } else {
      torch::jit::Module pruned = evaluator.build(widths);
      const train::Accuracy a = evaluator.accuracy(pruned, best.val_top1);
      acc = a.top1;
      val_images = a.n;
      cache[widths] = {acc, val_images};
    }
    const double reward = o.reward == "acc"         ? acc
                          : o.reward == "acc-flops" ? -(1.0 - acc) * std::log(static_cast<double>(flops))
                                                    : -(1.0 - acc) * std::log(1e3 * env.cost());  // microseconds
    agent->end_episode(states, actions, reward, ep);
    // Early-stopped estimates are below the best by construction; only whole-split results can be the best.
    if (acc > best.val_top1 && val_images == evaluator.val_size()) best = {ep, acc, reward, widths, flops};
    const double secs = seconds_since(t0);
    spent_seconds += secs;
    nlohmann::json line = {{"episode", ep},
                           {"actions", actions},
                           {"widths", widths},
                           {"flops", flops},
                           {"flops_ratio", static_cast<double>(flops) / static_cast<double>(dg.flops)},
                           {"val_top1", acc},
                           {"val_images", val_images},
                           {"reward", reward},
                           {"latency_ms_predicted", latency_mode ? env.cost() : 0.0},
                           {"cached", cached},
                           {"warmup", o.agent == "ddpg" && ep < o.ddpg.warmup},
                           {"sigma", agent->sigma()},
                           {"seconds", secs}};
    episode_lines.push_back(line.dump());
    const bool last = ep + 1 == o.episodes;
    if ((ep + 1) % o.checkpoint_every == 0 || last || interrupted()) save_checkpoint(ep + 1);
    if (progress) {
      progress->update(ep + 1, fmt::format("val {:.2f}%  best {:.2f}% (ep {})  FLOPs {:.3f}  {:.2f} s/ep", 100 * acc,
                                           100 * best.val_top1, best.episode,
                                           static_cast<double>(flops) / static_cast<double>(dg.flops),
                                           spent_seconds / (ep + 1)));
    }
    if (interrupted()) {
      progress.reset();
      interrupt_scope.reset();
      XCEL_FAIL(ExitCode::kInterrupted, "interrupted after episode {}/{}; state saved, continue with: xcel prune "
                "--resume --out {}", ep + 1, o.episodes, o.out_dir);
    }
  }
  progress.reset();
  interrupt_scope.reset();

  // The best policy: rebuild, measure, write.
  torch::jit::Module best_model = evaluator.build(best.widths);
  const double best_val = evaluator.accuracy(best_model).top1;
  const ir::ModelSummary after = ir::analyze(best_model, input);
  XCEL_ASSERT(after.flops == best.flops && after.flops <= env.target_flops(), "best model has {} FLOPs, expected {}",
              after.flops, best.flops);
  data::ImageSet test = data::load_split(spec, data::Split::kTest, o.split);
  const double test_top1 = train::evaluate(best_model, test, o.batch, true).top1;
  const double original_test = train::evaluate(model, test, o.batch, true).top1;
  ir::save_model(best_model, o.out_dir + "/best.pt");
  bool lite = false;
  try {
    std::string tmp = fs::temp_path_beside(o.out_dir + "/best.ptl");
    best_model._save_for_mobile(tmp);
    fs::commit_atomic(tmp, o.out_dir + "/best.ptl");
    lite = true;
  } catch (const c10::Error& e) {
    spdlog::warn("no PyTorch Mobile (.ptl) export: {}", ir::short_what(e));
  }
  // Measured host latency of the original and the result, per layer (the report's where-time-goes view).
  ir::ModelSummary before_summary = summary;
  before_summary.path = o.model;
  ir::ModelSummary after_summary = after;
  after_summary.path = o.out_dir + "/best.pt";
  const latency::Profile prof_before = latency::profile_host(model, before_summary, 10, 50);
  const latency::Profile prof_after = latency::profile_host(best_model, after_summary, 10, 50);
  nlohmann::json profiles = {{"original", prof_before}, {"best", prof_after}};
  nlohmann::json latency_result;
  if (latency_mode) {
    const double pred_before = env.cost(dg.full_widths()), pred_after = env.cost(best.widths);
    latency_result = {{"latency_target", target.name},      {"latency_budget_ms", env.budget()},
                      {"latency_model", latency_model},      {"latency_predicted_ms_before", pred_before},
                      {"latency_predicted_ms", pred_after}};
    if (target.kind == "host") {
      profiles["original"]["predicted_ms"] = pred_before;
      profiles["best"]["predicted_ms"] = pred_after;
      latency_result["latency_measured_ms_before"] = prof_before.total_ms.median;
      latency_result["latency_measured_ms"] = prof_after.total_ms.median;
      latency_result["latency_measured_on"] = "host";
    } else {
      try {
        auto oracle = latency::make_oracle(target, {});
        const auto m_before = oracle->latency(o.model, before_summary);
        const auto m_after = oracle->latency(o.out_dir + "/best.pt", after_summary);
        latency_result["latency_measured_ms_before"] = m_before.ms.median;
        latency_result["latency_measured_ms"] = m_after.ms.median;
        latency_result["latency_measured_on"] = m_after.device;
      } catch (const Error& e) {
        if (e.code() != ExitCode::kDevice) throw;
        spdlog::warn("the result was not measured on {}: {}", target.name, e.what());
        latency_result["latency_measured_ms"] = nullptr;
        latency_result["latency_measure_error"] = e.what();
      }
    }
    spdlog::info("latency: predicted {:.4f} ms (budget {:.4f}), measured {}", pred_after, env.budget(),
                 latency_result["latency_measured_ms"].is_null()
                     ? std::string("-")
                     : fmt::format("{:.4f} ms", latency_result["latency_measured_ms"].get<double>()));
  }
  fs::write_file_atomic(o.out_dir + "/profile.json", profiles.dump(2) + "\n");
  prune::Policy requested;
  nlohmann::json policy = prune::applied_policy_json(dg, requested, best.widths, target.round_to,
                                                     prune::parse_importance(o.importance));
  for (auto& [name, g] : policy.at("groups").items()) g.erase("requested_ratio");
  fs::write_file_atomic(o.out_dir + "/policy.json", policy.dump(2) + "\n");
  const int episodes_run = static_cast<int>(episode_lines.size());
  std::int64_t validated_images = 0, stopped_early = 0;  // over the distinct policies
  for (const auto& entry : cache) {
    const std::int64_t images = entry.second.second;
    validated_images += images;
    stopped_early += images < evaluator.val_size() ? 1 : 0;
  }
  nlohmann::json result = {
      {"model", o.model},
      {"out", o.out_dir},
      {"target", target.name},
      {"agent", o.agent},
      {"episodes", episodes_run},
      {"flops_target", latency_mode ? nlohmann::json() : nlohmann::json(o.flops)},
      {"flops_before", dg.flops},
      {"flops", after.flops},
      {"flops_ratio", static_cast<double>(after.flops) / static_cast<double>(dg.flops)},
      {"params_before", summary.params},
      {"params", after.params},
      {"val_top1_before", original_val},
      {"val_top1", best_val},
      {"test_top1_before", original_test},
      {"test_top1", test_top1},
      {"best_episode", best.episode},
      {"unique_policies", cache.size()},
      {"early_stop", o.early_stop},
      {"stopped_early", stopped_early},
      {"val_images_per_policy", static_cast<double>(validated_images) / static_cast<double>(std::max<size_t>(1, cache.size()))},
      {"seconds_per_episode", spent_seconds / std::max(1, episodes_run)},
      {"setup_seconds", setup_seconds},
      {"seed", o.split.seed},
      {"threads", o.threads},
      {"lite_model", lite},
      {"uniform_ratio", env.max_uniform_ratio()},
      {"latency_ms_before", prof_before.total_ms.median},
      {"latency_ms", prof_after.total_ms.median},
      {"speedup", prof_before.total_ms.median / std::max(1e-9, prof_after.total_ms.median)},
      {"latency_source", "measured on the host, batch 1, median of 50"},
  };
  if (latency_mode) result.update(latency_result);
  fs::write_file_atomic(o.out_dir + "/summary.json", result.dump(2) + "\n");
  return result;
}

}  // namespace xcel::search
