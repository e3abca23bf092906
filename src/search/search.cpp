// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// The search loop: episodes of (walk groups with the agent -> widths -> validation accuracy -> reward), with
// identical policies evaluated once, a checkpoint every N episodes (and on Ctrl-C), and exact resumption.
#include "xcel/search/search.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>

#include "xcel/core/clock.h"
#include "xcel/core/error.h"
#include "xcel/core/interrupt.h"
#include "xcel/core/log.h"
#include "xcel/core/progress.h"
#include "xcel/ir/model.h"

namespace xcel::search {
namespace {

constexpr const char* kAgentFile = "checkpoint/agent.pt";
constexpr const char* kRngFile = "checkpoint/torch_rng.pt";

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

}  // namespace

std::string agent_checkpoint(const RunDir& run) {
  return run.generation_file(kAgentFile, RunDir::generation_of(run.read_state()));
}

SearchLoop::SearchLoop(const LoopOptions& opts, Walk& env, PolicyValidator& validator, Agent& agent, RunDir run)
    : o_(opts), env_(env), validator_(validator), agent_(agent), run_(std::move(run)) {}

void SearchLoop::restore() {
  try {
    restore_checkpoint();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    XCEL_FAIL(ExitCode::kInput, "--resume: the checkpoint in '{}' is damaged ({}); start a new run in another --out",
              run_.file(RunDir::kCheckpoint), ir::short_what(e));
  }
}

void SearchLoop::restore_checkpoint() {
  const nlohmann::json state = run_.read_state();
  start_ = state.at("next_episode");
  best_ = best_from(state.at("best"));
  spent_seconds_ = state.at("seconds");
  // [widths, top-1, images, first episode, measured ms, measured load]; older runs lack the last ones
  for (const auto& e : state.at("cache"))
    cache_[e.at(0).get<std::vector<std::int64_t>>()] = {e.at(1).get<double>(),
                                                        e.size() > 2 ? e.at(2).get<std::int64_t>() : validator_.val_size(),
                                                        e.size() > 3 ? e.at(3).get<int>() : -1,
                                                        e.size() > 4 ? e.at(4).get<double>() : -1.0,
                                                        e.size() > 5 ? e.at(5).get<double>() : -1.0};
  generation_ = RunDir::generation_of(state);
  agent_.load(run_.generation_file(kAgentFile, generation_));
  ir::load_rng_state(run_.generation_file(kRngFile, generation_));
  episode_lines_ = run_.read_lines(RunDir::kEpisodes);
  // The episodes file is written before the state that counts them: it holds at least start_ whole lines unless
  // something else damaged it.
  bool whole = episode_lines_.size() >= static_cast<size_t>(start_);
  for (int i = 0; whole && i < start_; ++i) whole = nlohmann::json::accept(episode_lines_[static_cast<size_t>(i)]);
  XCEL_CHECK(whole, ExitCode::kInput,
             "--resume: '{}' is damaged (fewer than the {} whole episode lines the checkpoint counts); start a new run",
             run_.file(RunDir::kEpisodes), start_);
  episode_lines_.resize(static_cast<size_t>(start_));
  run_.write_lines(RunDir::kEpisodes, episode_lines_);
  spdlog::info("resuming {} at episode {}/{}", run_.path(), start_, o_.episodes);
}

void SearchLoop::save_checkpoint(int next_episode) {
  nlohmann::json c = nlohmann::json::array();
  for (const auto& [w, v] : cache_) c.push_back({w, v.top1, v.images, v.episode, v.measured_ms, v.measured_load});
  const long generation = generation_ + 1;
  agent_.save(run_.generation_file(kAgentFile, generation));
  ir::save_rng_state(run_.generation_file(kRngFile, generation));
  run_.write_lines(RunDir::kEpisodes, episode_lines_);
  run_.commit_state({{"next_episode", next_episode}, {"best", best_json(best_)}, {"seconds", spent_seconds_}, {"cache", c}},
                    generation, {kAgentFile, kRngFile});
  generation_ = generation;
}

// One episode: the agent's walk, the validation (or the cached result), the reward; returns its top-1.
double SearchLoop::episode(int ep) {
  auto t0 = std::chrono::steady_clock::now();
  env_.reset();
  std::vector<std::vector<float>> states;
  std::vector<double> actions;
  while (!env_.done()) {
    states.push_back(env_.state());
    actions.push_back(env_.step(agent_.act(states.back(), ep)));
  }
  const auto widths = env_.widths();
  const std::int64_t flops = env_.flops();
  XCEL_ASSERT(env_.within_budget(), "episode {} is over the budget", ep);
  auto hit = cache_.find(widths);
  const bool cached = hit != cache_.end();
  nlohmann::json retrain;
  if (!cached) {
    const train::Accuracy a = validator_.validate(widths, best_.val_top1);
    retrain = validator_.last_details();
    hit = cache_.emplace(widths, Validated{a.top1, a.n, ep}).first;
  }
  const double acc = hit->second.top1;
  const std::int64_t val_images = hit->second.images;
  // Early-stopped estimates are below the best by construction; only whole-split results can be the best. A would-be
  // best is measured on the device first (once per policy): one over the budget is not the best, and the
  // measurement stands for its latency from then on.
  const bool better = acc > best_.val_top1 && val_images == validator_.val_size();
  if (better && o_.measure && hit->second.measured_ms < 0) {
    const Measured m = o_.measure(widths);
    hit->second.measured_ms = m.ms;
    hit->second.measured_load = m.load;
  }
  const bool measured = hit->second.measured_ms >= 0;
  const bool over = hit->second.measured_load > 1.0;
  const bool new_best = better && !over;
  const double latency_ms = measured ? hit->second.measured_ms : env_.predicted_ms();
  // A policy measured over the budget is rewarded as if it were that much less accurate.
  const double scored = over ? acc / std::pow(hit->second.measured_load, kOverBudgetPenalty) : acc;
  const double reward = o_.reward == "acc"         ? scored
                        : o_.reward == "acc-flops" ? -(1.0 - scored) * std::log(static_cast<double>(flops))
                                                   : -(1.0 - scored) * std::log(1e3 * latency_ms);  // microseconds
  agent_.end_episode(states, actions, reward, ep);
  // A retrained candidate is kept when its top-1 after retraining beats the best so far, else discarded.
  if (!retrain.is_null()) {
    retrain["kept"] = new_best;
    retrain["why"] = new_best ? best_.val_top1 < 0
                                    ? fmt::format("{:.2f}% after retraining: the first policy scored", 100 * acc)
                                    : fmt::format("{:.2f}% after retraining beats the best so far ({:.2f}%)", 100 * acc,
                                                  100 * best_.val_top1)
                     : val_images < validator_.val_size()
                         ? fmt::format("clearly below the best so far ({:.2f}%) after retraining: validation stopped "
                                       "early at {} images", 100 * best_.val_top1, val_images)
                         : fmt::format("{:.2f}% after retraining is not above the best so far ({:.2f}%)", 100 * acc,
                                       100 * best_.val_top1);
  }
  if (new_best) best_ = {ep, acc, reward, widths, flops};
  const double secs = seconds_since(t0);
  spent_seconds_ += secs;
  nlohmann::json line = env_.describe();
  line.update({{"episode", ep},
               {"actions", actions},
               {env_.policy_key(), widths},
               {"val_top1", acc},
               {"val_images", val_images},
               {"reward", reward},
               {"latency_ms", latency_ms},
               {"latency_from", measured ? o_.measured_on : env_.predicted_ms() > 0 ? "latency model" : "none"},
               {"cached", cached},
               {"warmup", agent_.warming_up(ep)},
               {"sigma", agent_.sigma()},
               {"seconds", secs}});
  if (hit->second.measured_load >= 0) {
    line["measured_load"] = hit->second.measured_load;
    line["over_budget"] = over;
  }
  if (!retrain.is_null()) line["retrain"] = retrain;
  episode_lines_.push_back(line.dump());
  return acc;
}

void SearchLoop::run() {
  std::optional<InterruptScope> interrupt_scope(std::in_place);
  std::optional<Progress> progress;
  if (o_.progress) progress.emplace("episode", o_.episodes, start_);
  for (int ep = start_; ep < o_.episodes; ++ep) {
    const double acc = episode(ep);
    const bool last = ep + 1 == o_.episodes;
    if ((ep + 1) % o_.checkpoint_every == 0 || last || interrupted()) save_checkpoint(ep + 1);
    if (progress) {
      progress->update(ep + 1, fmt::format("val {:.2f}%  best {:.2f}% (ep {})  {}  {:.2f} s/ep", 100 * acc,
                                           100 * best_.val_top1, best_.episode, env_.progress(),
                                           spent_seconds_ / (ep + 1)));
    }
    if (interrupted()) {
      progress.reset();
      interrupt_scope.reset();
      run_.interrupted(fmt::format("after episode {}/{}", ep + 1, o_.episodes), o_.command);
    }
  }
}

LoopStats SearchLoop::stats() const {
  LoopStats s;
  s.episodes = static_cast<int>(episode_lines_.size());
  s.unique_policies = cache_.size();
  std::int64_t validated_images = 0;
  for (const auto& entry : cache_) {
    const std::int64_t images = entry.second.images;
    validated_images += images;
    s.stopped_early += images < validator_.val_size() ? 1 : 0;
  }
  s.val_images_per_policy = static_cast<double>(validated_images) / static_cast<double>(std::max<size_t>(1, cache_.size()));
  s.seconds_per_episode = spent_seconds_ / std::max(1, s.episodes);
  return s;
}

std::vector<Candidate> SearchLoop::ranked() const {
  std::vector<Candidate> out;
  for (const auto& [w, v] : cache_)
    if (v.images == validator_.val_size() && v.measured_load <= 1.0) out.push_back({w, v.top1, v.episode, v.measured_load});
  std::stable_sort(out.begin(), out.end(), [](const Candidate& a, const Candidate& b) {
    return a.val_top1 != b.val_top1 ? a.val_top1 > b.val_top1 : a.episode < b.episode;
  });
  return out;
}

Verification verify_budget(std::vector<Candidate> ranked, const std::function<double(const Candidate&)>& predicted_load,
                           const std::function<double(const Candidate&)>& measured_load, int max_measurements,
                           int fallback, const Tighten& tighten) {
  Verification v;
  std::vector<bool> tried(ranked.size(), false);
  double k = 1.0;  // how much the prediction underestimates, at least
  // A candidate's expected load: its own measurement during the search, else its prediction corrected by k.
  auto expected = [&](const Candidate& c) { return c.measured_load >= 0 ? c.measured_load : predicted_load(c) * k; };
  while (static_cast<int>(v.steps.size()) < max_measurements) {
    int next = -1;
    for (size_t i = 0; i < ranked.size() && next < 0; ++i)
      if (!tried[i] && (static_cast<int>(i) == fallback || expected(ranked[i]) <= 1.0)) next = static_cast<int>(i);
    if (next < 0 && fallback >= 0 && !tried[static_cast<size_t>(fallback)]) next = fallback;
    if (next < 0) break;
    tried[static_cast<size_t>(next)] = true;
    VerifyStep step{next, predicted_load(ranked[static_cast<size_t>(next)]), measured_load(ranked[static_cast<size_t>(next)])};
    v.steps.push_back(step);
    if (step.measured_load <= 1.0) {
      v.chosen = next;
      break;
    }
    k = std::max(k, step.measured_load / std::max(step.predicted_load, 1e-12));
    std::optional<Candidate> narrower = tighten ? tighten(ranked[static_cast<size_t>(next)], k) : std::nullopt;
    if (!narrower || std::any_of(ranked.begin(), ranked.end(), [&](const Candidate& c) { return c.widths == narrower->widths; }))
      continue;
    // Inserted at its accuracy (after equals); indices at or after it move up by one.
    const auto at = std::upper_bound(ranked.begin(), ranked.end(), *narrower, [](const Candidate& a, const Candidate& b) {
                      return a.val_top1 > b.val_top1;
                    }) - ranked.begin();
    ranked.insert(ranked.begin() + at, *narrower);
    tried.insert(tried.begin() + at, false);
    for (auto& st : v.steps) st.candidate += st.candidate >= at ? 1 : 0;
    if (fallback >= at) ++fallback;
  }
  v.candidates = std::move(ranked);
  return v;
}

Verification fill_budget(Verification v, const std::vector<std::int64_t>& parent, double factor,
                         const std::function<std::vector<std::int64_t>(double)>& scaled,
                         const std::function<double(const std::vector<std::int64_t>&)>& validate,
                         const std::function<double(const Candidate&)>& predicted_load,
                         const std::function<double(const Candidate&)>& measured_load, int max_steps, double fill_load) {
  if (v.chosen < 0) return v;
  double load = 1, lo = factor, hi = 1;
  for (const auto& st : v.steps)
    if (st.candidate == v.chosen) load = st.measured_load;
  for (int i = 0; i < max_steps && load < fill_load; ++i) {
    const double mid = (lo + hi) / 2;
    const Candidate chosen = v.candidates[static_cast<size_t>(v.chosen)];
    const std::vector<std::int64_t> w = scaled(mid);
    if (w == chosen.widths) {  // the same after rounding: look wider
      lo = mid;
      continue;
    }
    if (w == parent ||
        std::any_of(v.candidates.begin(), v.candidates.end(), [&](const Candidate& c) { return c.widths == w; })) {
      hi = mid;
      continue;
    }
    v.candidates.push_back({w, validate(w), chosen.episode});
    const Candidate c = v.candidates.back();
    if (c.val_top1 <= chosen.val_top1) {  // no more accurate: not worth a measurement
      hi = mid;
      continue;
    }
    const VerifyStep step{static_cast<int>(v.candidates.size()) - 1, predicted_load(c), measured_load(c)};
    v.steps.push_back(step);
    spdlog::info("latency: narrowed by {:.3f} instead, measures {:.3f} of the budget ({:.2f}%)", mid,
                 step.measured_load, 100 * c.val_top1);
    if (step.measured_load <= 1.0) {
      v.chosen = step.candidate;
      load = step.measured_load;
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return v;
}

}  // namespace xcel::search
