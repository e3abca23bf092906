// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include <ATen/Parallel.h>

#include <filesystem>
#include <random>

#include "test_env.h"
#include "xcel/core/error.h"
#include "xcel/core/fs.h"
#include "xcel/rl/ddpg.h"
#include "xcel/rl/dqn.h"

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

// A config that sets a value whose bound is another key's default names that default (a key the file leaves out
// was once looked up in the file and threw a JSON error instead of xcel's).
TEST(Ddpg, ConfigBoundByADefaultIsAnInputError) {
  const std::string path = (std::filesystem::temp_directory_path() / "xcel_rl_test_config.json").string();
  fs::write_file_atomic(path, R"({"batch": 100000})");
  test::expect_error([&] { rl::read_ddpg_config(path); }, ExitCode::kInput, "'replay' is 2000 (the default), must be at least batch");
  fs::write_file_atomic(path, R"({"batch": 64, "replay": 32})");
  test::expect_error([&] { rl::read_ddpg_config(path); }, ExitCode::kInput, "'replay' is 32, must be at least batch");
  std::filesystem::remove(path);
}

// A walk of four steps whose reward comes at its end: at step t the best of the menu {0, 0.25, 0.5, 0.75, 1} is
// kBest[t] when the previous action was at most 0.5, else 1 - kBest[t]; the reward is minus the summed distance
// from the best. The state is (t / 4, previous action, the distance so far / 4), as a walk's state carries what the
// budget has spent. The optimum depends on the step and on the path, so it takes the bootstrapped (double-DQN)
// values to find it: the greedy walk must be the optimum exactly.
TEST(Dqn, LearnsTheOptimalWalkFromAnEndOfEpisodeReward) {
  at::set_num_threads(1);
  const std::vector<double> menu = action_grid(0.0, 1.0, 5);
  ASSERT_EQ(menu, (std::vector<double>{0, 0.25, 0.5, 0.75, 1}));
  const double kBest[] = {0.25, 1.0, 0.0, 0.75};
  rl::DdpgConfig cfg;
  cfg.warmup = 50;
  cfg.hidden1 = cfg.hidden2 = 64;
  cfg.updates_per_step = 4;
  cfg.seed = 3;
  rl::Dqn agent(3, menu, cfg);
  auto walk = [&](auto&& choose) {
    std::vector<std::vector<float>> states;
    std::vector<double> actions;
    double prev = 0, reward = 0;
    for (int t = 0; t < 4; ++t) {
      states.push_back({t / 4.0f, static_cast<float>(prev), static_cast<float>(-reward / 4)});
      const double a = choose(states.back());
      reward -= std::abs(a - (prev <= 0.5 ? kBest[t] : 1.0 - kBest[t]));
      actions.push_back(a);
      prev = a;
    }
    return std::make_tuple(states, actions, reward);
  };
  for (int ep = 0; ep < 800; ++ep) {
    auto [states, actions, reward] = walk([&](const std::vector<float>& s) { return agent.act(s, ep); });
    agent.end_episode(states, actions, reward, ep);
  }
  EXPECT_NEAR(agent.epsilon(), cfg.epsilon_end, 1e-12);
  const auto [states, actions, reward] = walk([&](const std::vector<float>& s) { return agent.greedy(s); });
  EXPECT_EQ(reward, 0.0) << "greedy walk " << actions[0] << " " << actions[1] << " " << actions[2] << " " << actions[3];
}

TEST(Dqn, SaveAndLoadResumeExactlyAndRefuseAnotherMenu) {
  rl::DdpgConfig cfg;
  cfg.warmup = 3;
  cfg.batch = 4;
  cfg.replay = 16;
  cfg.hidden1 = cfg.hidden2 = 16;
  const std::vector<double> menu = action_grid(0.2, 1.0, 9);
  auto run = [&](rl::Dqn& agent, int from, int to) {
    std::vector<double> acts;
    for (int ep = from; ep < to; ++ep) {
      std::vector<float> s{0.1f * static_cast<float>(ep % 7), 0.5f};
      double a = agent.act(s, ep);
      acts.push_back(a);
      agent.end_episode({s, s}, {a, 0.61}, a, ep);  // 0.61: lowered by a wall, taken as the nearest item (0.6)
    }
    return acts;
  };
  rl::Dqn straight(2, menu, cfg);
  auto all = run(straight, 0, 20);
  rl::Dqn first(2, menu, cfg);
  run(first, 0, 10);
  const std::string path = (std::filesystem::temp_directory_path() / "xcel_dqn_test_state.pt").string();
  first.save(path);
  rl::Dqn second(2, menu, cfg);
  second.load(path);
  auto rest = run(second, 10, 20);
  for (int i = 0; i < 10; ++i) EXPECT_DOUBLE_EQ(rest[i], all[10 + i]) << i;
  for (double a : all) EXPECT_NE(std::find(menu.begin(), menu.end(), a), menu.end()) << a << " is not a menu item";
  rl::Dqn other(2, action_grid(0.2, 1.0, 5), cfg);
  test::expect_error([&] { other.load(path); }, ExitCode::kInput, "another set of actions");
  rl::Dqn wider(3, menu, cfg);
  test::expect_error([&] { wider.load(path); }, ExitCode::kInput, "2-value states, this version's states have 3");
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace xcel::rl
