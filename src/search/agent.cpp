// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/search/agent.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "xcel/core/error.h"
#include "xcel/core/fs.h"
#include "xcel/rl/dqn.h"

namespace xcel::search {
namespace {

class DdpgAgent : public Agent {
 public:
  DdpgAgent(int dim, const rl::DdpgConfig& cfg) : ddpg_(dim, cfg), warmup_(cfg.warmup) {}
  double act(const std::vector<float>& s, int episode) override { return ddpg_.act(s, episode); }
  void end_episode(const std::vector<std::vector<float>>& s, const std::vector<double>& a, double r,
                   int episode) override {
    ddpg_.end_episode(s, a, r, episode);
  }
  void save(const std::string& path) const override { ddpg_.save(path); }
  void load(const std::string& path) override { ddpg_.load(path); }
  double sigma() const override { return ddpg_.sigma(); }
  bool warming_up(int episode) const override { return episode < warmup_; }

 private:
  rl::Ddpg ddpg_;
  int warmup_;
};

class DqnAgent : public Agent {
 public:
  DqnAgent(int dim, std::vector<double> menu, const rl::DdpgConfig& cfg)
      : dqn_(dim, std::move(menu), cfg), warmup_(cfg.warmup) {}
  double act(const std::vector<float>& s, int episode) override { return dqn_.act(s, episode); }
  void end_episode(const std::vector<std::vector<float>>& s, const std::vector<double>& a, double r,
                   int episode) override {
    dqn_.end_episode(s, a, r, episode);
  }
  void save(const std::string& path) const override { dqn_.save(path); }
  void load(const std::string& path) override { dqn_.load(path); }
  double sigma() const override { return dqn_.epsilon(); }
  bool warming_up(int episode) const override { return episode < warmup_; }

 private:
  rl::Dqn dqn_;
  int warmup_;
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

// Cross-entropy search over whole policies. The warm-up draws every action uniformly in [lbound, 1] (like DDPG's);
// after it, each episode draws step t's action from a normal around the mean of the `kElite` best episodes so far
// at step t, with their spread there (never below kMinSigma), clipped to [lbound, 1]. The actions remembered are
// the ones the budget wall let through. No network: what it learns is where the best policies lie.
class EvolutionAgent : public Agent {
 public:
  EvolutionAgent(double lbound, int warmup, std::uint64_t seed) : lbound_(lbound), warmup_(warmup), rng_(seed) {}

  double act(const std::vector<float>&, int episode) override {
    if (episode != episode_) {
      episode_ = episode;
      step_ = 0;
    }
    const size_t t = step_++;
    if (episode < warmup_ || elite_.empty() || t >= elite_.front().actions.size())
      return std::uniform_real_distribution<double>(lbound_, 1.0)(rng_);
    double mean = 0, var = 0;
    for (const auto& e : elite_) mean += e.actions[t];
    mean /= static_cast<double>(elite_.size());
    for (const auto& e : elite_) var += (e.actions[t] - mean) * (e.actions[t] - mean);
    const double sd = std::max(kMinSigma, std::sqrt(var / static_cast<double>(elite_.size())));
    last_sigma_ = sd;
    return std::clamp(std::normal_distribution<double>(mean, sd)(rng_), lbound_, 1.0);
  }

  void end_episode(const std::vector<std::vector<float>>&, const std::vector<double>& actions, double reward,
                   int) override {
    elite_.push_back({reward, actions});
    std::stable_sort(elite_.begin(), elite_.end(), [](const Member& a, const Member& b) { return a.reward > b.reward; });
    if (elite_.size() > kElite) elite_.resize(kElite);
  }

  void save(const std::string& path) const override {
    nlohmann::json j = {{"episode", episode_}, {"step", step_}, {"sigma", last_sigma_}};
    std::ostringstream rng;
    rng << rng_;
    j["rng"] = rng.str();
    for (const auto& e : elite_) j["elite"].push_back({{"reward", e.reward}, {"actions", e.actions}});
    fs::write_file_atomic(path, j.dump() + "\n");
  }

  void load(const std::string& path) override {
    const nlohmann::json j = fs::read_json(path);
    episode_ = j.at("episode");
    step_ = j.at("step");
    last_sigma_ = j.at("sigma");
    std::istringstream rng(j.at("rng").get<std::string>());
    rng >> rng_;
    elite_.clear();
    for (const auto& e : j.value("elite", nlohmann::json::array()))
      elite_.push_back({e.at("reward"), e.at("actions").get<std::vector<double>>()});
  }

  double sigma() const override { return last_sigma_; }
  bool warming_up(int episode) const override { return episode < warmup_; }

 private:
  static constexpr size_t kElite = 8;
  static constexpr double kMinSigma = 0.02;
  struct Member {
    double reward;
    std::vector<double> actions;
  };
  double lbound_;
  int warmup_;
  std::mt19937_64 rng_;
  std::vector<Member> elite_;  // best first
  int episode_ = -1;
  size_t step_ = 0;
  double last_sigma_ = 0;
};

}  // namespace

const std::vector<std::string>& agent_names() {
  static const std::vector<std::string> names = {"ddpg", "dqn", "evolution", "random", "uniform"};
  return names;
}

void check_agent_name(const std::string& name) {
  const auto& n = agent_names();
  XCEL_CHECK(std::find(n.begin(), n.end(), name) != n.end(), ExitCode::kUsage, "unknown --agent '{}'; use {}", name,
             fmt::join(n, ", "));
}

std::unique_ptr<Agent> make_agent(const std::string& name, int state_dim, const rl::DdpgConfig& cfg,
                                  double uniform_ratio, const std::vector<double>& menu) {
  if (name == "ddpg") return std::make_unique<DdpgAgent>(state_dim, cfg);
  if (name == "dqn")
    return std::make_unique<DqnAgent>(state_dim, menu.empty() ? rl::action_grid(cfg.lbound, cfg.rbound, cfg.menu_levels)
                                                               : menu, cfg);
  if (name == "random") return std::make_unique<RandomAgent>(cfg.lbound, cfg.seed);
  if (name == "uniform") return std::make_unique<UniformAgent>(uniform_ratio);
  if (name == "evolution") return std::make_unique<EvolutionAgent>(cfg.lbound, cfg.warmup, cfg.seed);
  check_agent_name(name);
  XCEL_FAIL(ExitCode::kInternal, "agent '{}' has no constructor", name);
}

}  // namespace xcel::search
