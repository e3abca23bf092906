// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// DDPG (Lillicrap et al. 2016) as AMC uses it: a deterministic actor state -> action in [0, 1] (sigmoid),
/// a critic (state, action) -> value, target networks with soft updates, a replay buffer, warm-up episodes
/// of uniform random actions, then truncated-normal exploration noise whose sigma decays per episode.
/// The agent sees vectors and rewards only; it knows nothing of pruning. No LibTorch in this header.
///   Ddpg agent(state_dim, cfg);
///   double a = agent.act(state, episode);          // per step
///   agent.end_episode(states, actions, reward);    // stores transitions, updates the networks
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace xcel::rl {

/// The agents' hyperparameters (DDPG's, and those of DQN and the evolutionary search that share them).
struct DdpgConfig {
  int hidden1 = 300, hidden2 = 300;
  double lr_actor = 1e-4, lr_critic = 1e-3;
  double tau = 0.01;       // soft target update
  double discount = 1.0;
  int batch = 64;
  int replay = 2000;       // transitions kept
  int warmup = 100;        // episodes of uniform random actions
  double noise_sigma = 0.5, noise_decay = 0.95;  // truncated normal around the actor's action
  double lbound = 0.2, rbound = 1.0;             // action range
  double baseline_alpha = 0.5;                   // reward baseline: moving average with this weight
  int updates_per_step = 1;                      // gradient steps per stored transition after warm-up
  std::uint64_t seed = 0;
  // DQN (--agent dqn): epsilon-greedy after warm-up, epsilon = max(end, start * decay^(episode - warmup)); the
  // menu of a walk without its own (pruning): `menu_levels` preserve ratios evenly over [lbound, rbound].
  double epsilon_start = 0.5, epsilon_end = 0.02, epsilon_decay = 0.97;
  int menu_levels = 9;
};
// JSON round trip; fields missing from a file keep their defaults.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(DdpgConfig, hidden1, hidden2, lr_actor, lr_critic, tau, discount,
                                                batch, replay, warmup, noise_sigma, noise_decay, lbound, rbound,
                                                baseline_alpha, updates_per_step, seed, epsilon_start, epsilon_end,
                                                epsilon_decay, menu_levels)

/// The hyperparameters in a JSON file (--agent-config): every key must be one of DdpgConfig's, of its type and in
/// range (Error(kInput) naming the file and the key otherwise); keys not given keep their defaults.
DdpgConfig read_ddpg_config(const std::string& path);

class Ddpg {
 public:
  Ddpg(int state_dim, const DdpgConfig& cfg);
  ~Ddpg();
  Ddpg(const Ddpg&) = delete;
  Ddpg& operator=(const Ddpg&) = delete;

  /// Action for `state` in episode `episode` (0-based): uniform random during warm-up, else the actor's
  /// action plus truncated-normal noise, clipped to [lbound, rbound].
  double act(const std::vector<float>& state, int episode);
  /// The actor's action without noise.
  double greedy(const std::vector<float>& state);
  /// Ends an episode: every step gets the episode's reward minus the moving-average baseline (AMC's
  /// shaping); the transitions go to the replay buffer; after warm-up, one update per step.
  void end_episode(const std::vector<std::vector<float>>& states, const std::vector<double>& actions, double reward,
                   int episode);
  double sigma() const;

  /// Whole agent state (networks, optimizers, replay, noise, baseline, RNG) for exact resumption.
  void save(const std::string& path) const;
  void load(const std::string& path);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace xcel::rl
