// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/rl/dqn.h"

#include <torch/optim/adam.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "nets.h"
#include "xcel/core/error.h"

namespace xcel::rl {

std::vector<double> action_grid(double lo, double hi, int levels) {
  XCEL_CHECK(levels >= 1 && lo <= hi, ExitCode::kUsage, "an action grid needs lo <= hi and one level or more");
  if (levels == 1) return {hi};
  std::vector<double> out;
  for (int i = 0; i < levels; ++i) out.push_back(lo + (hi - lo) * i / (levels - 1));
  return out;
}

struct Dqn::Impl {
  Impl(int dim, std::vector<double> m, const DdpgConfig& c)
      : cfg(c),
        state_dim(dim),
        menu(std::move(m)),
        q(dim, c.hidden1, c.hidden2, static_cast<int>(menu.size()), false),
        q_target(dim, c.hidden1, c.hidden2, static_cast<int>(menu.size()), false),
        opt(q->parameters(), torch::optim::AdamOptions(c.lr_critic)),
        rng(c.seed),
        replay(c.replay, dim) {
    soft_update(*q_target, *q, 1.0);
  }

  int nearest(double action) const {
    int best = 0;
    for (int i = 1; i < static_cast<int>(menu.size()); ++i)
      if (std::abs(menu[static_cast<size_t>(i)] - action) < std::abs(menu[static_cast<size_t>(best)] - action))
        best = i;
    return best;
  }

  int argmax(const std::vector<float>& s) {
    torch::NoGradGuard ng;
    return static_cast<int>(q->forward(state_row(s, state_dim)).argmax(1).item<int64_t>());
  }

  void update() {
    if (replay.size() < cfg.batch) return;
    const auto [s, a, r, s2, done] = replay.sample(cfg.batch, rng);
    torch::Tensor target;
    {
      torch::NoGradGuard ng;
      // Double DQN: the online network picks the next action, the target network values it.
      auto next = q->forward(s2).argmax(1, true);
      target = r + cfg.discount * (1.0 - done) * q_target->forward(s2).gather(1, next);
    }
    opt.zero_grad();
    auto loss = torch::smooth_l1_loss(q->forward(s).gather(1, a.to(torch::kInt64)), target);
    loss.backward();
    opt.step();
    soft_update(*q_target, *q, cfg.tau);
  }

  DdpgConfig cfg;
  int state_dim;
  std::vector<double> menu;
  Mlp q, q_target;
  torch::optim::Adam opt;
  std::mt19937_64 rng;
  double eps = 1.0;
  Baseline baseline;
  Replay replay;
};

Dqn::Dqn(int state_dim, std::vector<double> menu, const DdpgConfig& cfg) {
  XCEL_CHECK(menu.size() >= 2, ExitCode::kUsage, "a DQN needs two actions or more to choose from (got {})",
             menu.size());
  check_replay(cfg.batch, cfg.replay);
  torch::manual_seed(cfg.seed);
  impl_ = std::make_unique<Impl>(state_dim, std::move(menu), cfg);
}

Dqn::~Dqn() = default;

double Dqn::greedy(const std::vector<float>& state) {
  return impl_->menu[static_cast<size_t>(impl_->argmax(state))];
}

double Dqn::act(const std::vector<float>& state, int episode) {
  Impl& m = *impl_;
  const DdpgConfig& c = m.cfg;
  m.eps = episode < c.warmup
              ? 1.0
              : std::max(c.epsilon_end, c.epsilon_start * std::pow(c.epsilon_decay, episode - c.warmup));
  std::uniform_real_distribution<double> u(0.0, 1.0);
  if (u(m.rng) < m.eps) {
    std::uniform_int_distribution<size_t> pick(0, m.menu.size() - 1);
    return m.menu[pick(m.rng)];
  }
  return greedy(state);
}

void Dqn::end_episode(const std::vector<std::vector<float>>& states, const std::vector<double>& actions,
                      double reward, int episode) {
  Impl& m = *impl_;
  XCEL_ASSERT(states.size() == actions.size() && !states.empty(), "episode with {} states and {} actions",
              states.size(), actions.size());
  const double shaped = m.baseline.shape(reward, m.cfg.baseline_alpha);
  m.replay.store_episode(states, m.state_dim, [&](size_t t, bool last) {
    return std::array<float, 3>{static_cast<float>(m.nearest(actions[t])), last ? static_cast<float>(shaped) : 0.0f,
                                last ? 1.0f : 0.0f};
  });
  if (episode >= m.cfg.warmup)
    for (size_t t = 0; t < states.size() * static_cast<size_t>(m.cfg.updates_per_step); ++t) m.update();
}

double Dqn::epsilon() const { return impl_->eps; }
const std::vector<double>& Dqn::menu() const { return impl_->menu; }

void Dqn::save(const std::string& path) const {
  const Impl& m = *impl_;
  AgentWriter w;
  w.put("q", *m.q);
  w.put("q_target", *m.q_target);
  w.put("opt", m.opt);
  w.meta.update({{"epsilon", m.eps}, {"menu", m.menu}});
  w.finish(path, m.rng, m.baseline, m.replay);
}

void Dqn::load(const std::string& path) {
  Impl& m = *impl_;
  AgentReader r(path, m.replay, m.state_dim);
  const auto menu = r.meta.value("menu", std::vector<double>{});
  XCEL_CHECK(menu == m.menu, ExitCode::kInput,
             "'{}' holds a DQN for another set of actions ({} of them, this search has {}); start a new run", path,
             menu.size(), m.menu.size());
  r.get("q", *m.q);
  r.get("q_target", *m.q_target);
  r.get("opt", m.opt);
  m.eps = r.meta.at("epsilon");
  r.finish(m.rng, m.baseline);
}

}  // namespace xcel::rl
