// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/search/agent.h"

#include <fstream>
#include <random>
#include <sstream>

#include "xcel/core/error.h"
#include "xcel/core/fs.h"

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

}  // namespace

std::unique_ptr<Agent> make_agent(const std::string& name, int state_dim, const rl::DdpgConfig& cfg,
                                  double uniform_ratio) {
  if (name == "ddpg") return std::make_unique<DdpgAgent>(state_dim, cfg);
  if (name == "random") return std::make_unique<RandomAgent>(cfg.lbound, cfg.seed);
  if (name == "uniform") return std::make_unique<UniformAgent>(uniform_ratio);
  XCEL_FAIL(ExitCode::kUsage, "unknown --agent '{}'; use ddpg, random or uniform", name);
}

}  // namespace xcel::search
