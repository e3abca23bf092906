// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Pieces the agents of rl share (LibTorch; private to this module): a two-hidden-layer MLP, target-network
/// updates, and the replay ring with its checkpoint form.
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/serialize.h>
#include <torch/utils.h>

#include <array>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xcel/core/error.h"
#include "xcel/core/fs.h"

namespace xcel::rl {

struct MlpImpl : torch::nn::Module {
  MlpImpl(int in, int h1, int h2, int out, bool sigmoid_out)
      : fc1(register_module("fc1", torch::nn::Linear(in, h1))),
        fc2(register_module("fc2", torch::nn::Linear(h1, h2))),
        fc3(register_module("fc3", torch::nn::Linear(h2, out))),
        sigmoid(sigmoid_out) {}
  torch::Tensor forward(torch::Tensor x) {
    x = torch::relu(fc1(x));
    x = torch::relu(fc2(x));
    x = fc3(x);
    return sigmoid ? torch::sigmoid(x) : x;
  }
  torch::nn::Linear fc1, fc2, fc3;
  bool sigmoid;
};
TORCH_MODULE(Mlp);

/// target <- (1 - tau) target + tau source, parameter by parameter (tau = 1: a copy).
inline void soft_update(torch::nn::Module& target, const torch::nn::Module& source, double tau) {
  torch::NoGradGuard ng;
  auto t = target.parameters();
  auto s = source.parameters();
  for (size_t i = 0; i < t.size(); ++i) t[i].mul_(1.0 - tau).add_(s[i], tau);
}

/// The replay buffer holds at least one batch (Error kUsage otherwise), for either agent.
inline void check_replay(int batch, int replay) {
  XCEL_CHECK(batch >= 1 && replay >= batch, ExitCode::kUsage, "replay buffer ({}) must hold at least one batch ({})",
             replay, batch);
}

/// One state as a [1, dim] row.
inline torch::Tensor state_row(const std::vector<float>& s, int dim) {
  XCEL_ASSERT(static_cast<int>(s.size()) == dim, "state has {} values, expected {}", s.size(), dim);
  return torch::tensor(s, torch::kFloat32).view({1, dim});
}

/// A checkpoint's replay states must be as wide as this agent's states (else the run came from another version).
inline void check_state_width(const torch::Tensor& states, int dim, const std::string& path) {
  XCEL_CHECK(states.dim() == 2 && states.size(1) == dim, ExitCode::kInput,
             "'{}' holds an agent for {}-value states, this version's states have {}; the run was written by "
             "another version of xcel (or for another kind of search): start a new run",
             path, states.dim() == 2 ? states.size(1) : 0, dim);
}

/// A ring of `capacity` transitions (state, action, reward, next state, done); rows [0, size()) are filled.
struct Replay {
  Replay(int capacity, int state_dim)
      : capacity(capacity), states(torch::zeros({capacity, state_dim})), next_states(torch::zeros({capacity, state_dim})) {}

  /// Stores an episode's transitions: step t's state, the next one (its own at the last step), and the action code,
  /// reward and done flag `step(t, last)` gives as {a, r, d}.
  template <typename Step>
  void store_episode(const std::vector<std::vector<float>>& episode_states, int state_dim, Step&& step) {
    for (size_t t = 0; t < episode_states.size(); ++t) {
      const bool last = t + 1 == episode_states.size();
      auto s = state_row(episode_states[t], state_dim).squeeze(0);
      auto s2 = last ? s : state_row(episode_states[t + 1], state_dim).squeeze(0);
      const std::array<float, 3> ard = step(t, last);
      store(s, s2, ard[0], ard[1], ard[2]);
    }
  }

  int size() const { return static_cast<int>(rewards.size()); }

  void store(const torch::Tensor& s, const torch::Tensor& s2, float a, float r, float d) {
    const bool full = size() >= capacity;
    const size_t row = full ? next_slot : rewards.size();
    states[static_cast<int64_t>(row)].copy_(s);
    next_states[static_cast<int64_t>(row)].copy_(s2);
    if (!full) {
      actions.push_back(a);
      rewards.push_back(r);
      dones.push_back(d);
      return;
    }
    actions[row] = a;
    rewards[row] = r;
    dones[row] = d;
    next_slot = (next_slot + 1) % static_cast<size_t>(capacity);
  }

  struct Batch {
    torch::Tensor s, a, r, s2, done;  // a, r, done: [n, 1]
  };
  Batch sample(int n, std::mt19937_64& rng) const {
    std::uniform_int_distribution<int> pick(0, size() - 1);
    std::vector<int64_t> idx(static_cast<size_t>(n));
    for (auto& i : idx) i = pick(rng);
    auto ix = torch::tensor(idx, torch::kInt64);
    auto column = [&](const std::vector<float>& v) {
      return torch::tensor(v, torch::kFloat32).index_select(0, ix).unsqueeze(1);
    };
    return {states.index_select(0, ix), column(actions), column(rewards), next_states.index_select(0, ix), column(dones)};
  }

  /// The ring in a checkpoint: the tensors under "states"/"next_states", the rest in `meta`.
  void save(torch::serialize::OutputArchive& ar, nlohmann::json& meta) const {
    meta.update({{"next_slot", next_slot}, {"actions", actions}, {"rewards", rewards}, {"dones", dones}});
    ar.write("states", states);
    ar.write("next_states", next_states);
  }
  void load(torch::serialize::InputArchive& ar, const nlohmann::json& meta) {
    next_slot = meta.at("next_slot");
    actions = meta.at("actions").get<std::vector<float>>();
    rewards = meta.at("rewards").get<std::vector<float>>();
    dones = meta.at("dones").get<std::vector<float>>();
    ar.read("next_states", next_states);
  }

  int capacity;
  torch::Tensor states, next_states;
  std::vector<float> actions, rewards, dones;
  size_t next_slot = 0;
};

/// AMC's reward baseline: a moving average of episode rewards with weight `alpha` on the old value.
struct Baseline {
  double value = 0.0;
  bool set = false;
  double shape(double reward, double alpha) {
    if (!set) {
      value = reward;
      set = true;
    } else {
      value += (1.0 - alpha) * (reward - value);
    }
    return reward - value;
  }
};

/// An agent's checkpoint file: networks and optimizers by name, the replay ring, and a JSON `meta` with the RNG and
/// the reward baseline (plus what the agent adds). Written atomically.
class AgentWriter {
 public:
  template <typename T>  // a torch::nn::Module or a torch::optim::Optimizer
  void put(const char* name, const T& part) {
    torch::serialize::OutputArchive a;
    part.save(a);
    ar_.write(name, a);
  }
  void finish(const std::string& path, const std::mt19937_64& rng, const Baseline& baseline, const Replay& replay) {
    std::ostringstream r;
    r << rng;
    meta.update({{"rng", r.str()}, {"baseline", baseline.value}, {"has_baseline", baseline.set}});
    replay.save(ar_, meta);
    ar_.write("meta", c10::IValue(meta.dump()));
    std::ostringstream bytes;
    ar_.save_to(bytes);
    fs::write_file_atomic(path, bytes.str());
  }
  nlohmann::json meta = nlohmann::json::object();

 private:
  torch::serialize::OutputArchive ar_;
};

/// Reads what AgentWriter wrote: the replay states and `meta` first (an agent checks that they fit it before its
/// networks are read), then the parts by name, then finish() restores the RNG, baseline and replay.
class AgentReader {
 public:
  AgentReader(const std::string& path, Replay& replay, int state_dim) : replay_(replay) {
    ar_.load_from(path);
    ar_.read("states", replay.states);
    check_state_width(replay.states, state_dim, path);
    c10::IValue m;
    ar_.read("meta", m);
    meta = nlohmann::json::parse(m.toStringRef());
  }
  template <typename T>
  void get(const char* name, T& part) {
    torch::serialize::InputArchive a;
    ar_.read(name, a);
    part.load(a);
  }
  void finish(std::mt19937_64& rng, Baseline& baseline) {
    std::istringstream r(meta.at("rng").get<std::string>());
    r >> rng;
    baseline.value = meta.at("baseline");
    baseline.set = meta.at("has_baseline");
    replay_.load(ar_, meta);
  }
  nlohmann::json meta;

 private:
  Replay& replay_;
  torch::serialize::InputArchive ar_;
};

}  // namespace xcel::rl
