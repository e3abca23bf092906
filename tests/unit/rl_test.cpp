// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include <ATen/Parallel.h>

#include <filesystem>
#include <random>

#include "test_env.h"
#include "xcel/core/error.h"
#include "xcel/rl/ddpg.h"

namespace xcel::rl {
namespace {

TEST(Ddpg, LearnsAStateDependentOptimum) {
  at::set_num_threads(1);
  rl::DdpgConfig cfg;
  cfg.warmup = 100;
  cfg.lbound = 0.0;
  cfg.seed = 5;
  rl::Ddpg agent(3, cfg);
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  auto best = [](const std::vector<float>& s) { return 0.3 + 0.6 * s[0]; };
  for (int ep = 0; ep < 1500; ++ep) {
    std::vector<float> s{u(rng), u(rng), u(rng)};
    double a = agent.act(s, ep);
    double reward = 1.0 - 4.0 * (a - best(s)) * (a - best(s));
    agent.end_episode({s}, {a}, reward, ep);
  }
  double err = 0;
  for (int i = 0; i < 50; ++i) {
    std::vector<float> s{u(rng), u(rng), u(rng)};
    err += std::abs(agent.greedy(s) - best(s)) / 50;
  }
  EXPECT_LT(err, 0.08) << "mean distance of the learned action from the optimum";
}

TEST(Ddpg, SaveAndLoadResumeExactly) {
  rl::DdpgConfig cfg;
  cfg.warmup = 3;
  cfg.batch = 4;
  cfg.replay = 16;
  cfg.hidden1 = cfg.hidden2 = 16;
  auto run = [&](rl::Ddpg& agent, int from, int to) {
    std::vector<double> acts;
    for (int ep = from; ep < to; ++ep) {
      std::vector<float> s{0.1f * static_cast<float>(ep % 7), 0.5f};
      double a = agent.act(s, ep);
      acts.push_back(a);
      agent.end_episode({s, s}, {a, a}, a, ep);
    }
    return acts;
  };
  rl::Ddpg straight(2, cfg);
  auto all = run(straight, 0, 20);
  rl::Ddpg first(2, cfg);
  run(first, 0, 10);
  const std::string path = (std::filesystem::temp_directory_path() / "xcel_rl_test_state.pt").string();
  first.save(path);
  rl::Ddpg second(2, cfg);
  second.load(path);
  auto rest = run(second, 10, 20);
  for (int i = 0; i < 10; ++i) EXPECT_DOUBLE_EQ(rest[i], all[10 + i]) << i;
  // A saved agent with another state size (a run from another version) is a clear input error.
  rl::Ddpg wider(3, cfg);
  test::expect_error([&] { wider.load(path); }, ExitCode::kInput, "2-value states, this version's states have 3");
}

}  // namespace
}  // namespace xcel::rl
