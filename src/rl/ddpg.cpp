// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/rl/ddpg.h"

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/adam.h>
#include <torch/serialize.h>
#include <torch/utils.h>

#include <cmath>
#include <random>
#include <sstream>

#include "xcel/core/error.h"
#include "xcel/core/fs.h"

namespace xcel::rl {
namespace {

struct MlpImpl : torch::nn::Module {
  MlpImpl(int in, int h1, int h2, bool sigmoid_out)
      : fc1(register_module("fc1", torch::nn::Linear(in, h1))),
        fc2(register_module("fc2", torch::nn::Linear(h1, h2))),
        fc3(register_module("fc3", torch::nn::Linear(h2, 1))),
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

void soft_update(torch::nn::Module& target, const torch::nn::Module& source, double tau) {
  torch::NoGradGuard ng;
  auto t = target.parameters();
  auto s = source.parameters();
  for (size_t i = 0; i < t.size(); ++i) t[i].mul_(1.0 - tau).add_(s[i], tau);
}

void hard_update(torch::nn::Module& target, const torch::nn::Module& source) { soft_update(target, source, 1.0); }

}  // namespace

struct Ddpg::Impl {
  Impl(int dim, const DdpgConfig& c)
      : cfg(c),
        state_dim(dim),
        actor(dim, c.hidden1, c.hidden2, true),
        actor_target(dim, c.hidden1, c.hidden2, true),
        critic(dim + 1, c.hidden1, c.hidden2, false),
        critic_target(dim + 1, c.hidden1, c.hidden2, false),
        actor_opt(actor->parameters(), torch::optim::AdamOptions(c.lr_actor)),
        critic_opt(critic->parameters(), torch::optim::AdamOptions(c.lr_critic)),
        rng(c.seed),
        sigma(c.noise_sigma),
        states(torch::zeros({c.replay, dim})),
        next_states(torch::zeros({c.replay, dim})) {
    hard_update(*actor_target, *actor);
    hard_update(*critic_target, *critic);
  }

  double clip(double a) const { return std::clamp(a, cfg.lbound, cfg.rbound); }

  // Normal(mean, sigma) truncated to [lbound, rbound], by rejection (bounded tries, then clipping).
  double truncated_normal(double mean) {
    std::normal_distribution<double> normal(mean, sigma);
    for (int i = 0; i < 100; ++i) {
      double v = normal(rng);
      if (v >= cfg.lbound && v <= cfg.rbound) return v;
    }
    return clip(mean);
  }

  torch::Tensor state_tensor(const std::vector<float>& s) const {
    XCEL_ASSERT(static_cast<int>(s.size()) == state_dim, "state has {} values, expected {}", s.size(), state_dim);
    return torch::tensor(s, torch::kFloat32).view({1, state_dim});
  }

  void update() {
    const auto n = static_cast<int>(rewards.size());
    if (n < cfg.batch) return;
    std::uniform_int_distribution<int> pick(0, n - 1);
    std::vector<int64_t> idx(static_cast<size_t>(cfg.batch));
    for (auto& i : idx) i = pick(rng);
    auto ix = torch::tensor(idx, torch::kInt64);
    auto s = states.index_select(0, ix);
    auto s2 = next_states.index_select(0, ix);
    auto a = torch::tensor(actions, torch::kFloat32).index_select(0, ix).unsqueeze(1);
    auto r = torch::tensor(rewards, torch::kFloat32).index_select(0, ix).unsqueeze(1);
    auto done = torch::tensor(dones, torch::kFloat32).index_select(0, ix).unsqueeze(1);
    torch::Tensor target;
    {
      torch::NoGradGuard ng;
      auto next_q = critic_target->forward(torch::cat({s2, actor_target->forward(s2)}, 1));
      target = r + cfg.discount * (1.0 - done) * next_q;
    }
    critic_opt.zero_grad();
    auto critic_loss = torch::mse_loss(critic->forward(torch::cat({s, a}, 1)), target);
    critic_loss.backward();
    critic_opt.step();
    actor_opt.zero_grad();
    auto actor_loss = -critic->forward(torch::cat({s, actor->forward(s)}, 1)).mean();
    actor_loss.backward();
    actor_opt.step();
    soft_update(*actor_target, *actor, cfg.tau);
    soft_update(*critic_target, *critic, cfg.tau);
  }

  DdpgConfig cfg;
  int state_dim;
  Mlp actor, actor_target, critic, critic_target;
  torch::optim::Adam actor_opt, critic_opt;
  std::mt19937_64 rng;
  double sigma;
  double baseline = 0.0;
  bool has_baseline = false;
  // Replay buffer: a ring of cfg.replay transitions; rows [0, size) of the state tensors are filled.
  torch::Tensor states, next_states;
  std::vector<float> actions, rewards, dones;
  size_t next_slot = 0;

  void store(const torch::Tensor& s, const torch::Tensor& s2, float a, float r, float d) {
    if (static_cast<int>(rewards.size()) < cfg.replay) {
      const auto row = static_cast<int64_t>(rewards.size());
      states[row].copy_(s);
      next_states[row].copy_(s2);
      actions.push_back(a);
      rewards.push_back(r);
      dones.push_back(d);
      return;
    }
    states[static_cast<int64_t>(next_slot)].copy_(s);
    next_states[static_cast<int64_t>(next_slot)].copy_(s2);
    actions[next_slot] = a;
    rewards[next_slot] = r;
    dones[next_slot] = d;
    next_slot = (next_slot + 1) % static_cast<size_t>(cfg.replay);
  }
};

Ddpg::Ddpg(int state_dim, const DdpgConfig& cfg) {
  XCEL_CHECK(cfg.lbound >= 0 && cfg.lbound < cfg.rbound && cfg.rbound <= 1, ExitCode::kUsage,
             "action bounds [{}, {}] must satisfy 0 <= lbound < rbound <= 1", cfg.lbound, cfg.rbound);
  XCEL_CHECK(cfg.batch >= 1 && cfg.replay >= cfg.batch, ExitCode::kUsage,
             "replay buffer ({}) must hold at least one batch ({})", cfg.replay, cfg.batch);
  XCEL_CHECK(cfg.updates_per_step >= 1, ExitCode::kUsage, "updates_per_step must be at least 1 (got {})",
             cfg.updates_per_step);
  torch::manual_seed(cfg.seed);
  impl_ = std::make_unique<Impl>(state_dim, cfg);
}

Ddpg::~Ddpg() = default;

double Ddpg::greedy(const std::vector<float>& state) {
  torch::NoGradGuard ng;
  return impl_->actor->forward(impl_->state_tensor(state)).item<double>();
}

double Ddpg::act(const std::vector<float>& state, int episode) {
  if (episode < impl_->cfg.warmup) {
    std::uniform_real_distribution<double> u(impl_->cfg.lbound, impl_->cfg.rbound);
    return u(impl_->rng);
  }
  return impl_->truncated_normal(greedy(state));
}

void Ddpg::end_episode(const std::vector<std::vector<float>>& states, const std::vector<double>& actions,
                       double reward, int episode) {
  Impl& m = *impl_;
  XCEL_ASSERT(states.size() == actions.size() && !states.empty(), "episode with {} states and {} actions",
              states.size(), actions.size());
  if (!m.has_baseline) {
    m.baseline = reward;
    m.has_baseline = true;
  } else {
    m.baseline += (1.0 - m.cfg.baseline_alpha) * (reward - m.baseline);
  }
  const double shaped = reward - m.baseline;
  for (size_t t = 0; t < states.size(); ++t) {
    const bool last = t + 1 == states.size();
    auto s = m.state_tensor(states[t]).squeeze(0);
    auto s2 = last ? s : m.state_tensor(states[t + 1]).squeeze(0);
    // AMC's shaping: every step carries the episode's reward and ends its own value estimate.
    m.store(s, s2, static_cast<float>(actions[t]), static_cast<float>(shaped), 1.0f);
  }
  if (episode >= m.cfg.warmup) {
    for (size_t t = 0; t < states.size() * static_cast<size_t>(m.cfg.updates_per_step); ++t) m.update();
    m.sigma *= m.cfg.noise_decay;
  }
}

DdpgConfig read_ddpg_config(const std::string& path) {
  const nlohmann::json j = fs::read_json(path);
  XCEL_CHECK(j.is_object(), ExitCode::kInput, "agent config '{}' is not a JSON object", path);
  const nlohmann::json known = DdpgConfig{};
  for (const auto& [key, value] : j.items()) {
    if (known.contains(key)) continue;
    std::vector<std::string> keys;
    for (const auto& k : known.items()) keys.push_back(k.key());
    XCEL_FAIL(ExitCode::kInput, "unknown key '{}' in agent config '{}'; known keys: {}", key, path,
              fmt::join(keys, ", "));
  }
  DdpgConfig c;
  try {
    c = j.get<rl::DdpgConfig>();
  } catch (const std::exception& e) {
    XCEL_FAIL(ExitCode::kInput, "agent config '{}' has a value of the wrong type ({})", path, e.what());
  }
  auto check = [&](bool ok, const char* key, const char* range) {
    XCEL_CHECK(ok, ExitCode::kInput, "agent config '{}': '{}' is {}, must be {}", path, key, j.at(key).dump(), range);
  };
  auto positive = [](double v) { return std::isfinite(v) && v > 0; };
  check(c.hidden1 >= 1, "hidden1", "at least 1");
  check(c.hidden2 >= 1, "hidden2", "at least 1");
  check(positive(c.lr_actor), "lr_actor", "positive");
  check(positive(c.lr_critic), "lr_critic", "positive");
  check(positive(c.tau) && c.tau <= 1, "tau", "in (0, 1]");
  check(c.discount >= 0 && c.discount <= 1, "discount", "in [0, 1]");
  check(c.batch >= 1, "batch", "at least 1");
  check(c.replay >= c.batch, "replay", "at least batch");
  check(c.warmup >= 0, "warmup", "at least 0");
  check(c.noise_sigma >= 0 && std::isfinite(c.noise_sigma), "noise_sigma", "at least 0");
  check(positive(c.noise_decay) && c.noise_decay <= 1, "noise_decay", "in (0, 1]");
  check(c.lbound > 0 && c.lbound <= 1, "lbound", "in (0, 1]");
  check(c.rbound >= c.lbound && c.rbound <= 1, "rbound", "in [lbound, 1]");
  check(c.baseline_alpha >= 0 && c.baseline_alpha <= 1, "baseline_alpha", "in [0, 1]");
  check(c.updates_per_step >= 1, "updates_per_step", "at least 1");
  return c;
}

double Ddpg::sigma() const { return impl_->sigma; }

void Ddpg::save(const std::string& path) const {
  const Impl& m = *impl_;
  torch::serialize::OutputArchive ar;
  auto sub = [&](const char* name, const torch::nn::Module& mod) {
    torch::serialize::OutputArchive a;
    mod.save(a);
    ar.write(name, a);
  };
  sub("actor", *m.actor);
  sub("actor_target", *m.actor_target);
  sub("critic", *m.critic);
  sub("critic_target", *m.critic_target);
  torch::serialize::OutputArchive ao, co;
  m.actor_opt.save(ao);
  m.critic_opt.save(co);
  ar.write("actor_opt", ao);
  ar.write("critic_opt", co);
  std::ostringstream rng;
  rng << m.rng;
  nlohmann::json meta = {{"rng", rng.str()},        {"sigma", m.sigma},     {"baseline", m.baseline},
                         {"has_baseline", m.has_baseline}, {"next_slot", m.next_slot}, {"actions", m.actions},
                         {"rewards", m.rewards},    {"dones", m.dones}};
  ar.write("meta", c10::IValue(meta.dump()));
  ar.write("states", m.states);
  ar.write("next_states", m.next_states);
  std::ostringstream bytes;
  ar.save_to(bytes);
  fs::write_file_atomic(path, bytes.str());
}

void Ddpg::load(const std::string& path) {
  Impl& m = *impl_;
  torch::serialize::InputArchive ar;
  ar.load_from(path);
  // The replay states first: their width tells whether this agent's networks fit the saved ones.
  ar.read("states", m.states);
  XCEL_CHECK(m.states.dim() == 2 && m.states.size(1) == m.state_dim, ExitCode::kInput,
             "'{}' holds an agent for {}-value states, this version's states have {}; the run was written by "
             "another version of xcel: start a new run", path, m.states.dim() == 2 ? m.states.size(1) : 0,
             m.state_dim);
  auto sub = [&](const char* name, torch::nn::Module& mod) {
    torch::serialize::InputArchive a;
    ar.read(name, a);
    mod.load(a);
  };
  sub("actor", *m.actor);
  sub("actor_target", *m.actor_target);
  sub("critic", *m.critic);
  sub("critic_target", *m.critic_target);
  torch::serialize::InputArchive ao, co;
  ar.read("actor_opt", ao);
  ar.read("critic_opt", co);
  m.actor_opt.load(ao);
  m.critic_opt.load(co);
  c10::IValue meta_iv;
  ar.read("meta", meta_iv);
  auto meta = nlohmann::json::parse(meta_iv.toStringRef());
  std::istringstream rng(meta.at("rng").get<std::string>());
  rng >> m.rng;
  m.sigma = meta.at("sigma");
  m.baseline = meta.at("baseline");
  m.has_baseline = meta.at("has_baseline");
  m.next_slot = meta.at("next_slot");
  m.actions = meta.at("actions").get<std::vector<float>>();
  m.rewards = meta.at("rewards").get<std::vector<float>>();
  m.dones = meta.at("dones").get<std::vector<float>>();
  ar.read("next_states", m.next_states);
}

}  // namespace xcel::rl
