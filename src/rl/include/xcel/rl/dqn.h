// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// DQN (Mnih et al. 2015) with the double-DQN target (van Hasselt et al. 2016) for discrete choices: a Q-network
/// state -> one value per menu item, epsilon-greedy exploration (uniform random during warm-up, then epsilon
/// decaying per episode), a replay ring, a target network with soft updates. An episode's reward (minus the moving
/// baseline, as DDPG's) is paid at its last step; earlier steps bootstrap from the next state:
///   y = r + discount * (1 - done) * Q_target(s', argmax_a Q(s', a)).
/// The menu is a list of actions in [0, 1] (bit widths as actions, or a grid of preserve ratios); the agent
/// sees vectors and rewards only. No LibTorch in this header.
///   Dqn agent(state_dim, {0.2, 0.3, ..., 1.0}, cfg);
///   double a = agent.act(state, episode);          // a menu item
///   agent.end_episode(states, actions, reward, episode);
#include <memory>
#include <string>
#include <vector>

#include "xcel/rl/ddpg.h"

namespace xcel::rl {

/// `levels` actions evenly spaced over [lo, hi] (both included; one level: hi).
std::vector<double> action_grid(double lo, double hi, int levels);

class Dqn {
 public:
  /// `menu`: the actions, at least two; `cfg`: hidden sizes, lr_critic (the Q-network's), tau, discount, batch,
  /// replay, warmup, epsilon_*, baseline_alpha, updates_per_step, seed.
  Dqn(int state_dim, std::vector<double> menu, const DdpgConfig& cfg);
  ~Dqn();
  Dqn(const Dqn&) = delete;
  Dqn& operator=(const Dqn&) = delete;

  /// A menu item: uniform random during warm-up, else epsilon-greedy.
  double act(const std::vector<float>& state, int episode);
  /// The item with the highest Q-value.
  double greedy(const std::vector<float>& state);
  /// `actions` as applied (a budget wall may have lowered them): each is taken as the nearest menu item.
  void end_episode(const std::vector<std::vector<float>>& states, const std::vector<double>& actions, double reward,
                   int episode);
  /// Exploration rate of the last action (1 during warm-up).
  double epsilon() const;
  const std::vector<double>& menu() const;

  /// Whole agent state (networks, optimizer, replay, baseline, RNG) for exact resumption.
  void save(const std::string& path) const;
  void load(const std::string& path);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace xcel::rl
