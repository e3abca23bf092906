// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// What the search loop needs from an agent: one action per step, the episode's reward at its end, and its
/// whole state for checkpoints. DDPG learns; `random` and `uniform` are the baselines it is compared with
/// (same budget wall, episodes and fix-ups); `evolution` searches without a network. No LibTorch here.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "xcel/rl/ddpg.h"

namespace xcel::search {

class Agent {
 public:
  virtual ~Agent() = default;
  virtual double act(const std::vector<float>& state, int episode) = 0;
  virtual void end_episode(const std::vector<std::vector<float>>& states, const std::vector<double>& actions,
                           double reward, int episode) = 0;
  virtual void save(const std::string& path) const = 0;
  virtual void load(const std::string& path) = 0;
  /// Exploration noise of the episode just ended (0 for agents without noise).
  virtual double sigma() const { return 0; }
  /// True while `episode` is a warm-up episode (random actions before learning).
  virtual bool warming_up(int episode) const { return false; }
};

/// The agents' names: ddpg, dqn, evolution, random, uniform.
const std::vector<std::string>& agent_names();
/// Error(kUsage) naming the agents when `name` is not one of them (before a run writes anything).
void check_agent_name(const std::string& name);

/// `ddpg` (with `cfg`), `dqn` (choosing from `menu`, or when it is empty from cfg.menu_levels actions evenly over
/// [cfg.lbound, cfg.rbound]), `evolution` (cross-entropy search around the best policies so far, after cfg.warmup
/// random episodes), `random` (uniform in [cfg.lbound, 1], seeded with cfg.seed) or `uniform` (always
/// `uniform_ratio`); Error(kUsage) for any other name.
std::unique_ptr<Agent> make_agent(const std::string& name, int state_dim, const rl::DdpgConfig& cfg,
                                  double uniform_ratio, const std::vector<double>& menu = {});

}  // namespace xcel::search
