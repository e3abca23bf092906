// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/rl/ddpg.h"

#include <torch/optim/adam.h>

#include <cmath>
#include <random>

#include "nets.h"
#include "xcel/core/error.h"
#include "xcel/core/fs.h"

namespace xcel::rl {

struct Ddpg::Impl {
  Impl(int dim, const DdpgConfig& c)
      : cfg(c),
        state_dim(dim),
        actor(dim, c.hidden1, c.hidden2, 1, true),
        actor_target(dim, c.hidden1, c.hidden2, 1, true),
        critic(dim + 1, c.hidden1, c.hidden2, 1, false),
        critic_target(dim + 1, c.hidden1, c.hidden2, 1, false),
        actor_opt(actor->parameters(), torch::optim::AdamOptions(c.lr_actor)),
        critic_opt(critic->parameters(), torch::optim::AdamOptions(c.lr_critic)),
        rng(c.seed),
        sigma(c.noise_sigma),
        replay(c.replay, dim) {
    soft_update(*actor_target, *actor, 1.0);
    soft_update(*critic_target, *critic, 1.0);
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

  void update() {
    if (replay.size() < cfg.batch) return;
    const auto [s, a, r, s2, done] = replay.sample(cfg.batch, rng);
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
  Baseline baseline;
  Replay replay;
};

Ddpg::Ddpg(int state_dim, const DdpgConfig& cfg) {
  XCEL_CHECK(cfg.lbound >= 0 && cfg.lbound < cfg.rbound && cfg.rbound <= 1, ExitCode::kUsage,
             "action bounds [{}, {}] must satisfy 0 <= lbound < rbound <= 1", cfg.lbound, cfg.rbound);
  check_replay(cfg.batch, cfg.replay);
  XCEL_CHECK(cfg.updates_per_step >= 1, ExitCode::kUsage, "updates_per_step must be at least 1 (got {})",
             cfg.updates_per_step);
  torch::manual_seed(cfg.seed);
  impl_ = std::make_unique<Impl>(state_dim, cfg);
}

Ddpg::~Ddpg() = default;

double Ddpg::greedy(const std::vector<float>& state) {
  torch::NoGradGuard ng;
  return impl_->actor->forward(state_row(state, impl_->state_dim)).item<double>();
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
  const double shaped = m.baseline.shape(reward, m.cfg.baseline_alpha);
  // AMC's shaping: every step carries the episode's reward and ends its own value estimate.
  m.replay.store_episode(states, m.state_dim, [&](size_t t, bool) {
    return std::array<float, 3>{static_cast<float>(actions[t]), static_cast<float>(shaped), 1.0f};
  });
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
  const nlohmann::json got = c;  // a key the file leaves out still has its default, which a range may refuse
  auto check = [&](bool ok, const char* key, const char* range) {
    XCEL_CHECK(ok, ExitCode::kInput, "agent config '{}': '{}' is {}, must be {}", path, key,
               j.contains(key) ? j.at(key).dump() : got.at(key).dump() + " (the default)", range);
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
  check(c.epsilon_start >= 0 && c.epsilon_start <= 1, "epsilon_start", "in [0, 1]");
  check(c.epsilon_end >= 0 && c.epsilon_end <= 1, "epsilon_end", "in [0, 1]");
  check(positive(c.epsilon_decay) && c.epsilon_decay <= 1, "epsilon_decay", "in (0, 1]");
  check(c.menu_levels >= 2, "menu_levels", "at least 2");
  return c;
}

double Ddpg::sigma() const { return impl_->sigma; }

void Ddpg::save(const std::string& path) const {
  const Impl& m = *impl_;
  AgentWriter w;
  w.put("actor", *m.actor);
  w.put("actor_target", *m.actor_target);
  w.put("critic", *m.critic);
  w.put("critic_target", *m.critic_target);
  w.put("actor_opt", m.actor_opt);
  w.put("critic_opt", m.critic_opt);
  w.meta["sigma"] = m.sigma;
  w.finish(path, m.rng, m.baseline, m.replay);
}

void Ddpg::load(const std::string& path) {
  Impl& m = *impl_;
  AgentReader r(path, m.replay, m.state_dim);
  r.get("actor", *m.actor);
  r.get("actor_target", *m.actor_target);
  r.get("critic", *m.critic);
  r.get("critic_target", *m.critic_target);
  r.get("actor_opt", m.actor_opt);
  r.get("critic_opt", m.critic_opt);
  m.sigma = r.meta.at("sigma");
  r.finish(m.rng, m.baseline);
}

}  // namespace xcel::rl
