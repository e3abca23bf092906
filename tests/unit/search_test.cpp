// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// The budget wall as a property (never above the target, over many random action sequences, models,
// budgets and roundings) and the DDPG agent on a toy problem whose optimum is known.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <set>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "test_env.h"
#include "xcel/core/error.h"
#include "xcel/ir/model.h"
#include "xcel/prune/engine.h"
#include "xcel/search/agent.h"
#include "xcel/search/bits_env.h"
#include "xcel/search/env.h"
#include "xcel/search/search.h"

namespace xcel::search {
namespace {

struct Model {
  const char* name;
  ir::Shape input;
};

TEST(BudgetWall, NeverExceedsTheTargetForRandomActions) {
  std::mt19937 rng(3);
  int episodes = 0, infeasible = 0;
  for (const Model& m : {Model{"plain", {1, 1, 28, 28}}, Model{"residual", {1, 1, 28, 28}},
                         Model{"depthwise", {1, 1, 28, 28}}, Model{"concat", {1, 1, 28, 28}},
                         Model{"resnet18", {1, 3, 224, 224}}, Model{"mobilenet_v2", {1, 3, 224, 224}}}) {
    auto module = ir::load_model(test::fixtures() + "/" + m.name + ".pt");
    auto dg = prune::build_dependency_graph(module, m.input);
    auto layers = ir::analyze(module, m.input).layers;
    for (double budget : {0.15, 0.25, 0.5, 0.8}) {
      for (std::int64_t round_to : {1, 4, 8}) {
        for (double lbound : {0.05, 0.2}) {
          SCOPED_TRACE(fmt::format("{} budget {} round_to {} lbound {}", m.name, budget, round_to, lbound));
          std::unique_ptr<Env> env;
          try {
            env = std::make_unique<Env>(dg, layers, budget, lbound, round_to);
          } catch (const Error& e) {
            ASSERT_EQ(e.code(), ExitCode::kBudget) << e.what();
            ++infeasible;
            continue;
          }
          std::uniform_real_distribution<double> u(0.0, 1.2);
          for (int trial = 0; trial < 40; ++trial) {
            env->reset();
            while (!env->done()) {
              auto s = env->state();
              ASSERT_EQ(static_cast<int>(s.size()), env->state_dim());
              for (float v : s) ASSERT_TRUE(v >= 0.0f && v <= 1.0f) << v;
              // Adversarial mixes: all-max, all-random, random with bursts of 1.0.
              double a = trial == 0 ? 1.0 : (trial % 3 == 0 && u(rng) > 0.5 ? 1.0 : u(rng));
              double applied = env->step(a);
              ASSERT_GT(applied, 0.0);
              ASSERT_LE(applied, 1.0);
              // The last feature is the most the wall allows: never exceeded, reached by asking for all.
              ASSERT_LE(applied, s.back() + 1e-6);
              if (a >= 1.0) {
                ASSERT_NEAR(applied, s.back(), 1e-6);
              }
            }
            ASSERT_LE(env->flops(), env->target_flops());
            // The exact count of the physically pruned model agrees (checked on a few episodes).
            if (trial == 1 && dg.flops < 50'000'000) {
              auto pruned = prune::apply(module, dg, prune::select_channels(module, dg, env->widths(), prune::Importance::kL1));
              ASSERT_EQ(ir::analyze(pruned, m.input).flops, env->flops());
            }
            ++episodes;
          }
          EXPECT_LE(dg.predict_flops(env->uniform_widths(env->max_uniform_ratio())), env->target_flops());
        }
      }
    }
  }
  EXPECT_GT(episodes, 3000);
  EXPECT_GT(infeasible, 0) << "some tight budgets must be reported as infeasible";
}

// A toy search: 6 steps, reward -sum (a_t - target_t)^2 with targets inside [lbound, 1]. Runs `episodes` episodes
// of `agent` from episode `from`, returning every episode's actions.
std::vector<std::vector<double>> toy_episodes(Agent& agent, int from, int episodes, double* best_reward = nullptr) {
  const std::vector<double> target = {0.35, 0.9, 0.5, 0.7, 0.25, 0.8};
  std::vector<std::vector<double>> all;
  for (int ep = from; ep < from + episodes; ++ep) {
    std::vector<double> a;
    std::vector<std::vector<float>> states;
    for (size_t t = 0; t < target.size(); ++t) {
      states.push_back({static_cast<float>(t)});
      a.push_back(agent.act(states.back(), ep));
    }
    double r = 0;
    for (size_t t = 0; t < target.size(); ++t) r -= (a[t] - target[t]) * (a[t] - target[t]);
    if (best_reward) *best_reward = std::max(*best_reward, r);
    agent.end_episode(states, a, r, ep);
    all.push_back(a);
  }
  return all;
}

TEST(EvolutionAgent, ClosesInOnAKnownOptimum) {
  rl::DdpgConfig cfg;
  cfg.lbound = 0.2;
  cfg.warmup = 30;
  cfg.seed = 5;
  double warm_best = -1e9, best = -1e9;
  auto random = make_agent("random", 1, cfg, 0.5);
  toy_episodes(*random, 0, 200, &warm_best);
  auto evo = make_agent("evolution", 1, cfg, 0.5);
  toy_episodes(*evo, 0, 200, &best);
  // 200 random episodes come nowhere near; the same number searched around the elite lands close to the optimum.
  EXPECT_GT(best, -0.01) << "best reward " << best;
  EXPECT_GT(best, warm_best) << "random's best " << warm_best;
  EXPECT_GT(evo->sigma(), 0.0);
  EXPECT_LT(evo->sigma(), 0.1) << "the spread shrinks around the optimum";
}

TEST(EvolutionAgent, SaveAndLoadResumeExactly) {
  rl::DdpgConfig cfg;
  cfg.lbound = 0.2;
  cfg.warmup = 10;
  cfg.seed = 9;
  const std::string path = ::testing::TempDir() + "/evolution_agent.json";
  auto a = make_agent("evolution", 1, cfg, 0.5);
  toy_episodes(*a, 0, 25);
  a->save(path);
  const auto rest = toy_episodes(*a, 25, 15);
  auto b = make_agent("evolution", 1, cfg, 0.5);
  b->load(path);
  EXPECT_EQ(toy_episodes(*b, 25, 15), rest);
}

// A random table of `n` layers inside a property: convolutions, then a linear layer; random sizes and FLOPs.
std::vector<ir::Layer> random_layers(int n) {
  std::vector<ir::Layer> layers(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    auto& l = layers[static_cast<size_t>(i)];
    l.name = "layer" + std::to_string(i);
    l.kind = i + 1 == n ? ir::LayerKind::kLinear : ir::LayerKind::kConv;
    l.out_channels = *rc::gen::inRange<std::int64_t>(1, 512);
    l.params = l.out_channels * *rc::gen::inRange<std::int64_t>(1, 5000);
    l.flops = l.params * *rc::gen::inRange<std::int64_t>(1, 800);
  }
  return layers;
}

// Random layer tables (sizes, FLOPs), budgets from infeasible to loose, size or BOPs, any bit range, any actions:
// every finished walk meets its budget, an infeasible budget is refused up front, and the uniform bits fit.
RC_GTEST_PROP(BitsWall, NeverExceedsTheSizeOrBopsBudget, ()) {
  const int n = *rc::gen::inRange(2, 12);
  const std::vector<ir::Layer> layers = random_layers(n);
  const int lo = *rc::gen::inRange(1, quant::kMaxBits + 1);  // 1 = binary weights
  const int hi = *rc::gen::inRange(std::max(lo, quant::kMinBits), quant::kMaxBits + 1);
  const bool bops = *rc::gen::arbitrary<bool>();
  const double ratio = *rc::gen::inRange(1, 1000) / 2000.0;
  quant::QuantOptions qo;
  qo.keep_ends_bits = *rc::gen::element(0, 8);
  if (qo.keep_ends_bits > 0 && n <= 2) qo.keep_ends_bits = 0;  // else nothing is left to search
  const quant::QuantPolicy base = quant::uniform_policy(layers, {quant::WeightMode::kBits, hi, bops ? hi : 8}, qo);
  std::optional<BitsEnv> env;
  try {
    env.emplace(layers, base, bops ? "bops" : "size", ratio, lo, hi);
  } catch (const Error& e) {
    RC_ASSERT(e.code() == ExitCode::kBudget);
    RC_SUCCEED("infeasible budget refused");
  }
  const std::vector<std::int64_t> uniform(static_cast<size_t>(env->steps()), env->max_uniform_bits());
  RC_ASSERT(env->cost(uniform) <= ratio + 1e-12);
  for (int episode = 0; episode < 5; ++episode) {
    env->reset();
    while (!env->done()) env->step(*rc::gen::inRange(0, 1001) / 1000.0);
    RC_ASSERT(env->within_budget());
    for (auto b : env->widths()) RC_ASSERT(b >= lo && b <= hi);  // activation steps: >= 2 as well
    for (const auto& l : env->policy(env->widths()).layers)  // a 1-bit weight step is binary; activations stay >= 2
      RC_ASSERT((l.p.mode == quant::WeightMode::kBinary) == (l.p.w_bits == 1) && l.p.a_bits >= quant::kMinBits);
  }
}

// The latency walk over random tables: each searched layer ends in int8 (8/8) or float, nothing else; every finished
// walk's predicted latency (int8 model plus the float layers' measured extra, negative for a layer faster in float)
// meets the budget; a budget under the fastest policy by the table is refused up front.
RC_GTEST_PROP(BitsWall, LatencyWalkChoosesInt8OrFloatWithinTheBudget, ()) {
  const std::vector<ir::Layer> layers = random_layers(*rc::gen::inRange(3, 12));
  quant::QuantOptions qo;
  qo.keep_ends_bits = *rc::gen::element(0, 8);
  const quant::QuantPolicy base = quant::uniform_policy(layers, {quant::WeightMode::kBits, 8, 8}, qo);
  int searched = 0;
  for (const auto& l : base.layers) searched += l.fixed ? 0 : 1;
  LatencyCosts c;
  c.float_ms = 1.0;
  c.int8_ms = *rc::gen::inRange(100, 1200) / 1000.0;  // int8 may be slower than float (depthwise layers)
  // What leaving a layer in float adds; negative where the layer measured faster in float (a depthwise one).
  double fastest_ms = c.int8_ms;
  for (int k = 0; k < searched; ++k) {
    c.float_extra_ms.push_back(*rc::gen::inRange(-100, 300) / 1000.0);
    fastest_ms += std::min(0.0, c.float_extra_ms.back());
  }
  const double ratio = *rc::gen::inRange(50, 1001) / 1000.0;
  std::optional<BitsEnv> env;
  try {
    env.emplace(layers, base, c, ratio);
  } catch (const Error& e) {
    RC_ASSERT(e.code() == ExitCode::kBudget && fastest_ms > ratio + 1e-12);
    RC_SUCCEED("infeasible budget refused");
  }
  RC_ASSERT(env->steps() == searched);
  for (int episode = 0; episode < 5; ++episode) {
    env->reset();
    while (!env->done()) env->step(*rc::gen::inRange(0, 1001) / 1000.0);
    RC_ASSERT(env->within_budget());
    double ms = c.int8_ms;
    for (size_t k = 0; k < env->widths().size(); ++k) {
      RC_ASSERT(env->widths()[k] == 8 || env->widths()[k] == 32);
      if (env->widths()[k] == 32) ms += c.float_extra_ms[k];
    }
    RC_ASSERT(ms / c.float_ms <= ratio + 1e-9);
    const quant::QuantPolicy p = env->policy(env->widths());
    int float_layers = 0;
    for (const auto& l : p.layers) {
      RC_ASSERT(l.p == (quant::Precision{quant::WeightMode::kBits, 8, 8}) || l.p == quant::Precision{});
      float_layers += l.p == quant::Precision{} ? 1 : 0;
    }
    RC_ASSERT(quant::runs_on_int8_kernels(p) == (float_layers < static_cast<int>(p.layers.size())));
  }
  // An action near 1 keeps the first layer in float when the budget leaves room for it (every later layer at its
  // faster width), else the wall puts it at its faster width; near 0, int8 likewise.
  const double rest = fastest_ms - std::min(0.0, c.float_extra_ms[0]);
  env->reset();
  env->step(1.0);
  RC_ASSERT(env->widths()[0] == (rest + c.float_extra_ms[0] <= ratio + 1e-12 ? 32 : env->fastest(0)));
  env->reset();
  env->step(0.0);
  RC_ASSERT(env->widths()[0] == (rest <= ratio + 1e-12 ? 8 : env->fastest(0)));
  if (env->uniform_fits())
    RC_ASSERT(env->cost(std::vector<std::int64_t>(static_cast<size_t>(env->steps()), env->max_uniform_bits())) <=
              ratio + 1e-12);
}

TEST(BudgetWall, InfeasibleBudgetIsAClearError) {
  auto module = ir::load_model(test::fixtures() + "/plain.pt");
  auto dg = prune::build_dependency_graph(module, {1, 1, 28, 28});
  auto layers = ir::analyze(module, {1, 1, 28, 28}).layers;
  test::expect_error([&] { Env(dg, layers, 0.01, 0.2, 1); }, ExitCode::kBudget, "cannot be met");
}

// The walk with depth: blocks first, then the groups the kept blocks leave. Over random actions on residual and
// plain-chain models (whose removed block ties its output group to its input's), with and without channels and
// under a FLOPs or a latency budget: the budget holds, and the model built the search's way (channels cut, then
// blocks removed from the pruned model, whose forward apply() may have inlined) runs and has exactly the FLOPs
// the walk predicts.
TEST(BudgetWall, DepthWalkHoldsTheBudgetAndPredictsTheBuiltModelExactly) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  int built = 0, removed_somewhere = 0, kept_somewhere = 0;
  struct Case {
    std::string path;
    ir::Shape input;
  };
  for (const Case& c : {Case{test::source_dir() + "/models/resnet.pt", {1, 1, 28, 28}},
                        Case{test::source_dir() + "/models/mobilenet.pt", {1, 1, 28, 28}},
                        Case{test::fixtures() + "/resnet18.pt", {1, 3, 64, 64}},
                        Case{test::fixtures() + "/mobilenet_v2.pt", {1, 3, 64, 64}}}) {
    auto module = ir::load_model(c.path);
    auto dg = prune::build_dependency_graph(module, c.input);
    auto layers = ir::analyze(module, c.input).layers;
    const DepthOptions units{prune::find_units(module, c.input), false};
    for (bool only : {false, true}) {
      DepthOptions depth = units;
      depth.only = only;
      for (double budget : {0.4, 0.7}) {
        SCOPED_TRACE(fmt::format("{} budget {} depth-only {}", c.path, budget, only));
        std::unique_ptr<Env> env;
        try {
          env = std::make_unique<Env>(dg, layers, budget, 0.2, 4, nullptr, &depth);
        } catch (const Error& e) {
          ASSERT_EQ(e.code(), ExitCode::kBudget) << e.what();
          continue;
        }
        ASSERT_GT(env->units(), 0);
        ASSERT_EQ(env->state_dim(), Env::kFeatures + 1);
        if (only) {
          EXPECT_EQ(env->action_menu(), (std::vector<double>{0.2, 1.0}));
        }
        for (int trial = 0; trial < 12; ++trial) {
          env->reset();
          int step = 0;
          while (!env->done()) {
            const auto s = env->state();
            ASSERT_EQ(static_cast<int>(s.size()), env->state_dim());
            for (float v : s) ASSERT_TRUE(v >= 0.0f && v <= 1.0f) << v;
            EXPECT_EQ(s.back(), step < env->units() ? 1.0f : 0.0f) << "the block flag";
            env->step(trial == 0 ? 1.0 : u(rng));
            ++step;
          }
          const auto& policy = env->widths();
          ASSERT_EQ(policy.size(), dg.groups.size() + static_cast<size_t>(env->units()));
          ASSERT_LE(env->flops(), env->target_flops());
          const DepthPolicy d = env->decode(policy);
          removed_somewhere += d.removed.empty() ? 0 : 1;
          kept_somewhere += static_cast<int>(d.removed.size()) < env->units() ? 1 : 0;
          if (only) {
            ASSERT_EQ(d.widths, dg.full_widths()) << "depth only: every group keeps its channels";
          }
          if (trial % 4 != 1) continue;
          auto pruned = prune::apply(module, dg, prune::select_channels(module, dg, d.widths, prune::Importance::kL1));
          auto shallower = d.removed.empty() ? pruned : prune::remove_units(pruned, c.input, d.removed);
          const ir::ModelSummary after = ir::analyze(shallower, c.input);
          ASSERT_EQ(after.flops, env->flops()) << fmt::format("removed {}", fmt::join(d.removed, ","));
          for (const auto& l : after.layers)
            for (const auto& r : d.removed) ASSERT_NE(l.name.rfind(r + ".", 0), 0u) << l.name << " is still there";
          ++built;
        }
      }
    }
  }
  EXPECT_GT(built, 20);
  EXPECT_GT(removed_somewhere, 10);
  EXPECT_GT(kept_somewhere, 10);
}

// --platform-state: the target's figures ride at the end of every state, and change nothing else.
TEST(BudgetWall, PlatformFiguresEndEveryStateAndLeaveTheWalkAlone) {
  auto module = ir::load_model(test::fixtures() + "/plain.pt");
  auto dg = prune::build_dependency_graph(module, {1, 1, 28, 28});
  auto layers = ir::analyze(module, {1, 1, 28, 28}).layers;
  Env plain(dg, layers, 0.5, 0.2, 1), with(dg, layers, 0.5, 0.2, 1);
  const std::vector<float> figures = {0.125f, 0.5f, 0.3f, 0.2f};
  with.set_platform(figures);
  ASSERT_EQ(with.state_dim(), plain.state_dim() + 4);
  plain.reset();
  with.reset();
  while (!plain.done()) {
    auto a = plain.state(), b = with.state();
    ASSERT_EQ(std::vector<float>(b.begin(), b.begin() + static_cast<long>(a.size())), a);
    ASSERT_EQ(std::vector<float>(b.end() - 4, b.end()), figures);
    ASSERT_EQ(plain.step(0.6), with.step(0.6));
  }
  EXPECT_EQ(plain.widths(), with.widths());
}

// A table of random (not monotone) values on a random grid of `in` x `out` widths up to the layer's channels,
// made monotone as the latency model makes it.
LayerTable random_table(int layer, std::int64_t cin, std::int64_t cout, std::mt19937& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  auto grid = [&](std::int64_t full) {
    std::set<std::int64_t> g = {full};
    for (int k = 0; k < 3; ++k) g.insert(1 + static_cast<std::int64_t>(u(rng) * static_cast<double>(full - 1)));
    return std::vector<std::int64_t>(g.begin(), g.end());
  };
  LayerTable t{layer, grid(cin), grid(cout), {}, false};
  for (size_t i = 0; i < t.in.size() * t.out.size(); ++i) t.ms.push_back(u(rng) * 0.05);
  t.make_monotone();
  return t;
}

TEST(LayerTable, InterpolatesBilinearlyAndClampsAtTheEnds) {
  LayerTable t{0, {4, 8}, {10, 20}, {1.0, 2.0, 3.0, 5.0}, false};
  EXPECT_DOUBLE_EQ(t.at(4, 10), 1.0);
  EXPECT_DOUBLE_EQ(t.at(8, 20), 5.0);
  EXPECT_DOUBLE_EQ(t.at(6, 10), 2.0);   // halfway between 1 and 3
  EXPECT_DOUBLE_EQ(t.at(6, 15), 2.75);  // the mean of the four corners
  EXPECT_DOUBLE_EQ(t.at(2, 5), 1.0);    // below the grid: its first value
  EXPECT_DOUBLE_EQ(t.at(99, 99), 5.0);  // above: its last
  LayerTable dw{0, {4, 8}, {8}, {1.0, 3.0}, true};
  EXPECT_DOUBLE_EQ(dw.at(6, 123), 2.0);  // a depthwise layer follows its input channels only
}

TEST(LayerTable, MonotoneEnvelopeRaisesOnlyWhatFallsBelowASmallerWidth) {
  // A measured dip (a fast kernel at 16 channels) is raised to the smaller width's value; the rest stays.
  LayerTable t{0, {8, 16, 24}, {32}, {2.0, 1.5, 3.0}, false};
  EXPECT_EQ(t.make_monotone(), 1);
  EXPECT_EQ(t.ms, (std::vector<double>{2.0, 2.0, 3.0}));
  std::mt19937 rng(3);
  for (int trial = 0; trial < 200; ++trial) {
    LayerTable r = random_table(0, 64, 48, rng);
    for (std::int64_t a = 1; a <= 64; a += 3)
      for (std::int64_t b = 1; b <= 48; b += 5) {
        ASSERT_LE(r.at(a, b), r.at(a + 3, b) + 1e-15);
        ASSERT_LE(r.at(a, b), r.at(a, b + 5) + 1e-15);
      }
  }
}

TEST(LayerTable, CostModelRoundTripsThroughJson) {
  CostModel m{{LayerTable{2, {4, 8}, {10}, {1.0, 2.0}, false}, LayerTable{5, {3}, {3}, {0.5}, true}}, 0.25, 1.5};
  const CostModel back = nlohmann::json(m).get<CostModel>();
  ASSERT_EQ(back.tables.size(), 2u);
  EXPECT_EQ(back.tables[0].in, m.tables[0].in);
  EXPECT_EQ(back.tables[0].ms, m.tables[0].ms);
  EXPECT_EQ(back.tables[1].layer, 5);
  EXPECT_TRUE(back.tables[1].depthwise);
  EXPECT_EQ(back.constant, 0.25);
  EXPECT_EQ(back.budget_ms, 1.5);
}

// The same guarantee for latency budgets: random per-layer tables made monotone (any latency model the search
// builds) and a constant; predicted latency after rounding never exceeds the budget.
TEST(BudgetWall, LatencyBudgetNeverExceededForRandomModels) {
  std::mt19937 rng(5);
  int episodes = 0, infeasible = 0;
  for (const Model& m : {Model{"plain", {1, 1, 28, 28}}, Model{"residual", {1, 1, 28, 28}},
                         Model{"depthwise", {1, 1, 28, 28}}, Model{"concat", {1, 1, 28, 28}}}) {
    auto module = ir::load_model(test::fixtures() + "/" + m.name + ".pt");
    auto dg = prune::build_dependency_graph(module, m.input);
    auto layers = ir::analyze(module, m.input).layers;
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (int model_trial = 0; model_trial < 6; ++model_trial) {
      CostModel cm;
      for (size_t i = 0; i < dg.layers.size(); ++i) {
        const auto& l = dg.layers[i];
        if (l.fixed || l.flops == 0) continue;
        cm.tables.push_back(random_table(static_cast<int>(i), dg.kept_channels(l.in, dg.full_widths()) * l.in.factor,
                                         dg.kept_channels(l.out, dg.full_widths()), rng));
        cm.tables.back().depthwise = l.depthwise;
      }
      cm.constant = u(rng) * 0.1;
      if (model_trial % 2 == 1) cm.budget_ms = cm.constant + u(rng) * 0.5;
      for (double ratio : {0.3, 0.6, 0.9}) {
        std::unique_ptr<Env> env;
        try {
          env = std::make_unique<Env>(dg, layers, ratio, 0.1, 4, &cm);
        } catch (const Error& e) {
          ASSERT_EQ(e.code(), ExitCode::kBudget) << e.what();
          EXPECT_NE(std::string(e.what()).find("latency budget"), std::string::npos);
          ++infeasible;
          continue;
        }
        for (int trial = 0; trial < 30; ++trial) {
          env->reset();
          while (!env->done()) env->step(trial == 0 ? 1.0 : u(rng) * 1.2);
          ASSERT_LE(env->cost(), env->budget() * (1 + 1e-12));
          ASSERT_LE(env->flops(), env->target_flops());
          ++episodes;
        }
      }
    }
  }
  EXPECT_GT(episodes, 500);
  EXPECT_GT(infeasible, 0);
}

// Single-step episodes; the best action depends on the state: a* = 0.3 + 0.6 * s0.
// Candidates from most to least accurate; a policy's predicted load is its index-based cost as a fraction of the
// budget, and the "device" runs `slowdown` times slower than predicted.
std::vector<Candidate> ladder(const std::vector<double>& loads) {
  std::vector<Candidate> out;
  for (size_t i = 0; i < loads.size(); ++i) out.push_back({{static_cast<std::int64_t>(i)}, 0.9 - 0.01 * i, static_cast<int>(i)});
  return out;
}

// A one-step walk: the action (in tenths) is the policy; the wall lets everything through.
class TenthsWalk : public Walk {
 public:
  int state_dim() const override { return 1; }
  void reset() override { done_ = false; }
  std::vector<float> state() const override { return {0.5f}; }
  double step(double action) override {
    widths_ = {std::llround(10 * action)};
    done_ = true;
    return action;
  }
  bool done() const override { return done_; }
  const std::vector<std::int64_t>& widths() const override { return widths_; }
  bool within_budget() const override { return true; }
  std::int64_t flops() const override { return widths_[0]; }
  nlohmann::json describe() const override { return nlohmann::json::object(); }
  std::string progress() const override { return ""; }

 private:
  bool done_ = false;
  std::vector<std::int64_t> widths_ = {0};
};

// Plays the actions it is given, one per episode, and keeps the rewards it gets.
class ScriptedAgent : public Agent {
 public:
  explicit ScriptedAgent(std::vector<double> actions) : actions_(std::move(actions)) {}
  double act(const std::vector<float>&, int episode) override { return actions_[static_cast<size_t>(episode)]; }
  void end_episode(const std::vector<std::vector<float>>&, const std::vector<double>&, double reward, int) override {
    rewards.push_back(reward);
  }
  void save(const std::string& path) const override { std::ofstream(path) << "{}"; }
  void load(const std::string&) override {}
  std::vector<double> rewards;

 private:
  std::vector<double> actions_;
};

// Top-1 is the policy's tenths: wider is more accurate.
class TenthsValidator : public PolicyValidator {
 public:
  train::Accuracy validate(const std::vector<std::int64_t>& widths, double) override {
    train::Accuracy a;
    a.top1 = static_cast<double>(widths[0]) / 10;
    a.n = val_size();
    return a;
  }
  std::int64_t val_size() const override { return 100; }
};

TEST(SearchLoop, AWouldBeBestMeasuredOverTheBudgetIsNeitherTheBestNorACandidate) {
  // The device fits policies up to 6 tenths (load = tenths / 6). The most accurate policy, 9, is over: measured
  // once, its reward cut by load^kOverBudgetPenalty, left out of the best and of the ranked candidates, also when
  // the agent comes back to it and after a resume. Policies below the best are not measured.
  const std::string dir = ::testing::TempDir() + "/loop_over_budget";
  std::filesystem::remove_all(dir);
  const RunDir run(dir);
  run.create();
  TenthsWalk walk;
  TenthsValidator validator;
  ScriptedAgent agent({0.9, 0.5, 0.9, 0.3, 0.6});
  std::vector<std::int64_t> measured;
  LoopOptions o;
  o.episodes = 4;
  o.progress = false;
  o.measure = [&](const std::vector<std::int64_t>& w) {
    measured.push_back(w[0]);
    return Measured{static_cast<double>(w[0]), static_cast<double>(w[0]) / 6};
  };
  SearchLoop loop(o, walk, validator, agent, run);
  loop.run();
  EXPECT_EQ(measured, (std::vector<std::int64_t>{9, 5}));
  EXPECT_EQ(loop.best().widths, std::vector<std::int64_t>{5});
  ASSERT_EQ(agent.rewards.size(), 4u);
  EXPECT_NEAR(agent.rewards[0], 0.9 / std::pow(1.5, kOverBudgetPenalty), 1e-12);
  EXPECT_NEAR(agent.rewards[1], 0.5, 1e-12);
  EXPECT_NEAR(agent.rewards[2], agent.rewards[0], 1e-12);
  EXPECT_NEAR(agent.rewards[3], 0.3, 1e-12);
  std::vector<std::int64_t> ranked;
  for (const Candidate& c : loop.ranked()) ranked.push_back(c.widths[0]);
  EXPECT_EQ(ranked, (std::vector<std::int64_t>{5, 3}));
  const auto lines = run.read_lines(RunDir::kEpisodes);
  EXPECT_TRUE(nlohmann::json::parse(lines[0]).at("over_budget").get<bool>());
  EXPECT_FALSE(nlohmann::json::parse(lines[3]).contains("measured_load"));
  // Resumed for one more episode (6 fits and is the best): the miss is remembered, nothing is measured twice.
  o.episodes = 5;
  ScriptedAgent agent2({0.9, 0.5, 0.9, 0.3, 0.6});
  SearchLoop resumed(o, walk, validator, agent2, run);
  resumed.restore();
  resumed.run();
  EXPECT_EQ(measured, (std::vector<std::int64_t>{9, 5, 6}));
  EXPECT_EQ(resumed.best().widths, std::vector<std::int64_t>{6});
  ranked.clear();
  for (const Candidate& c : resumed.ranked()) ranked.push_back(c.widths[0]);
  EXPECT_EQ(ranked, (std::vector<std::int64_t>{6, 5, 3}));
}

TEST(Verify, KeepsTheMostAccurateCandidateThatMeetsTheBudgetWhenMeasured) {
  const std::vector<double> loads = {1.0, 0.98, 0.9, 0.8, 0.7, 0.6};
  const auto ranked = ladder(loads);
  auto predicted = [&](const Candidate& c) { return loads[static_cast<size_t>(c.widths[0])]; };
  // The device is 1.2x slower than predicted: 1.0 and 0.98 are over; after the first miss the search knows
  // the prediction is 1.2x short, skips 0.9 (1.08) and measures 0.8 (0.96), which fits.
  int measurements = 0;
  auto measured = [&](const Candidate& c) {
    ++measurements;
    return 1.2 * predicted(c);
  };
  Verification v = verify_budget(ranked, predicted, measured, 6);
  ASSERT_EQ(v.chosen, 3);
  EXPECT_EQ(measurements, 2);
  ASSERT_EQ(v.steps.size(), 2u);
  EXPECT_EQ(v.steps[0].candidate, 0);
  EXPECT_NEAR(v.steps[0].measured_load, 1.2, 1e-12);
  EXPECT_EQ(v.steps[1].candidate, 3);
  // A device as fast as predicted: the most accurate candidate, measured once.
  v = verify_budget(ranked, predicted, predicted, 6);
  EXPECT_EQ(v.chosen, 0);
  EXPECT_EQ(v.steps.size(), 1u);
}

TEST(Verify, NarrowsAPolicyThatMissesByALittleInsteadOfFallingFarBehind) {
  // The most accurate policy measures 5% over; the next that the prediction allows is far less accurate. Narrowed by
  // what the miss showed, the first policy fits and stays ahead of it.
  std::map<std::int64_t, double> load = {{0, 1.0}, {1, 0.5}, {2, 0.9}};
  std::map<std::int64_t, double> acc = {{0, 0.9}, {1, 0.5}, {2, 0.85}};
  std::vector<Candidate> ranked = {{{0}, acc[0], 0}, {{1}, acc[1], 1}};
  auto predicted = [&](const Candidate& c) { return load.at(c.widths[0]); };
  auto measured = [&](const Candidate& c) { return 1.05 * predicted(c); };
  double k_seen = 0;
  auto tighten = [&](const Candidate& missed, double k) -> std::optional<Candidate> {
    k_seen = k;
    if (missed.widths[0] != 0) return std::nullopt;
    return Candidate{{2}, acc[2], -3};
  };
  Verification v = verify_budget(ranked, predicted, measured, 6, -1, tighten);
  EXPECT_NEAR(k_seen, 1.05, 1e-12);
  ASSERT_EQ(v.candidates.size(), 3u);
  EXPECT_EQ(v.candidates[1].widths[0], 2);  // inserted at its accuracy, between the two
  ASSERT_EQ(v.chosen, 1);
  ASSERT_EQ(v.steps.size(), 2u);
  EXPECT_EQ(v.steps[0].candidate, 0);
  EXPECT_EQ(v.steps[1].candidate, 1);
  // Without narrowing the far less accurate policy is the answer.
  v = verify_budget(ranked, predicted, measured, 6);
  ASSERT_EQ(v.chosen, 1);
  EXPECT_EQ(v.candidates[static_cast<size_t>(v.chosen)].widths[0], 1);
}

TEST(Verify, TheCalibratedFallbackIsMeasuredBeforeAnyLessAccuratePolicy) {
  // The most accurate policy misses by 11% (the prediction was wrong for it); the uniform policy the budget was
  // calibrated on (index 1) is predicted near the wall, so k would rule it out, and a narrowed version of the
  // first policy is far less accurate. The uniform policy is measured first, fits, and is the answer.
  std::map<std::int64_t, double> load = {{0, 1.0}, {1, 0.98}, {2, 0.81}};
  std::map<std::int64_t, double> acc = {{0, 0.91}, {1, 0.896}, {2, 0.859}};
  std::vector<Candidate> ranked = {{{0}, acc[0], 25}, {{1}, acc[1], -1}};
  auto predicted = [&](const Candidate& c) { return load.at(c.widths[0]); };
  auto measured = [&](const Candidate& c) { return c.widths[0] == 0 ? 1.11 : 0.96 * predicted(c); };
  auto tighten = [&](const Candidate& missed, double) -> std::optional<Candidate> {
    if (missed.widths[0] != 0) return std::nullopt;
    return Candidate{{2}, acc[2], -3};
  };
  Verification v = verify_budget(ranked, predicted, measured, 6, 1, tighten);
  ASSERT_GE(v.chosen, 0);
  EXPECT_EQ(v.candidates[static_cast<size_t>(v.chosen)].widths[0], 1);
  ASSERT_EQ(v.steps.size(), 2u);
}

TEST(Verify, FillsTheBudgetBetweenANarrowedResultAndThePolicyItCameFrom) {
  // The policy {10} measured over; its copy narrowed by half, {5}, fits at 0.625 of the budget and was chosen. The
  // narrowing factor is bisected by measurement: the result is the widest policy that fits.
  auto scaled = [](double f) { return std::vector<std::int64_t>{std::llround(10 * f)}; };
  auto validate = [](const std::vector<std::int64_t>& w) { return static_cast<double>(w[0]) / 10; };
  auto predicted = [](const Candidate& c) { return static_cast<double>(c.widths[0]) / 10; };
  auto start = [&](double per_width) {
    Verification v;
    v.candidates = {{{10}, 1.0, 3}, {{5}, 0.5, -3}};
    v.steps = {{0, 1.0, 10 * per_width}, {1, 0.5, 5 * per_width}};
    v.chosen = 1;
    return v;
  };
  std::vector<std::int64_t> measured;
  auto device = [&](double per_width) {
    return [&measured, per_width](const Candidate& c) {
      measured.push_back(c.widths[0]);
      return static_cast<double>(c.widths[0]) * per_width;
    };
  };
  // 8 fits exactly (load 1): one measurement lands on the budget.
  Verification v = fill_budget(start(1 / 8.0), {10}, 0.5, scaled, validate, predicted, device(1 / 8.0), 3, 0.95);
  EXPECT_EQ(v.candidates[static_cast<size_t>(v.chosen)].widths, std::vector<std::int64_t>{8});
  EXPECT_EQ(measured, std::vector<std::int64_t>{8});
  EXPECT_EQ(v.candidates.back().episode, -3);
  // 7 is the widest that fits: 8 is over, 6 fits, 7 fits.
  measured.clear();
  v = fill_budget(start(1 / 7.5), {10}, 0.5, scaled, validate, predicted, device(1 / 7.5), 3, 0.95);
  EXPECT_EQ(v.candidates[static_cast<size_t>(v.chosen)].widths, std::vector<std::int64_t>{7});
  EXPECT_EQ(measured, (std::vector<std::int64_t>{8, 6, 7}));
  EXPECT_EQ(v.steps.size(), 5u);
  // A result already near the budget is left alone; so is one no wider policy would beat.
  measured.clear();
  v = fill_budget(start(0.19), {10}, 0.5, scaled, validate, predicted, device(0.19), 3, 0.95);
  EXPECT_EQ(v.chosen, 1);
  auto flat = [](const std::vector<std::int64_t>&) { return 0.5; };
  v = fill_budget(start(1 / 8.0), {10}, 0.5, scaled, flat, predicted, device(1 / 8.0), 3, 0.95);
  EXPECT_EQ(v.chosen, 1);
  EXPECT_TRUE(measured.empty());
}

TEST(Verify, APolicyTheSearchMeasuredWithinTheBudgetIsTriedAfterAMissWhateverItsPrediction) {
  // The search's best measured 0.9 of the budget during the search but 1.14 now (a noisy device): the lesson k rules
  // out every prediction near the wall. The next policy, measured within the budget during the search, is measured
  // again in its turn of accuracy and fits; a policy only predicted is not tried.
  std::map<std::int64_t, double> load = {{0, 0.99}, {1, 0.98}, {2, 0.97}};
  std::vector<Candidate> ranked = {{{0}, 0.9, 5, 0.9}, {{1}, 0.8, 7, 0.95}, {{2}, 0.7, 9}};
  auto predicted = [&](const Candidate& c) { return load.at(c.widths[0]); };
  auto measured = [&](const Candidate& c) { return c.widths[0] == 0 ? 1.14 : 0.97; };
  Verification v = verify_budget(ranked, predicted, measured, 6);
  ASSERT_EQ(v.chosen, 1);
  ASSERT_EQ(v.steps.size(), 2u);
  // Without the search's measurements nothing is left to try after the miss.
  for (auto& c : ranked) c.measured_load = -1;
  v = verify_budget(ranked, predicted, measured, 6);
  EXPECT_EQ(v.chosen, -1);
  EXPECT_EQ(v.steps.size(), 1u);
}

TEST(Verify, GivesUpWhenNothingFitsOnMeasurement) {
  const std::vector<double> loads = {1.0, 0.95, 0.9};
  const auto ranked = ladder(loads);
  auto predicted = [&](const Candidate& c) { return loads[static_cast<size_t>(c.widths[0])]; };
  auto slow = [&](const Candidate& c) { return 3.0 * predicted(c); };
  Verification v = verify_budget(ranked, predicted, slow, 6);
  EXPECT_EQ(v.chosen, -1);
  EXPECT_EQ(v.steps.size(), 1u);  // after a 3x miss no candidate is predicted to fit
  // A fallback (the calibrated uniform policy) is measured when the prediction rules everything else out.
  auto slow_but_last = [&](const Candidate& c) { return c.episode == 2 ? 0.97 : 3.0 * predicted(c); };
  v = verify_budget(ranked, predicted, slow_but_last, 6, 2);
  EXPECT_EQ(v.chosen, 2);
  ASSERT_EQ(v.steps.size(), 2u);
  EXPECT_EQ(v.steps[1].candidate, 2);
  // The number of measurements is bounded: each candidate is predicted 1% lighter than the one before and
  // measures just over the budget, so there is always a next one to try.
  std::vector<double> shrinking;
  for (int i = 0; i < 20; ++i) shrinking.push_back(std::pow(0.99, i));
  auto shrinking_load = [&](const Candidate& c) { return shrinking[static_cast<size_t>(c.widths[0])]; };
  v = verify_budget(ladder(shrinking), shrinking_load, [](const Candidate&) { return 1.001; }, 4);
  EXPECT_EQ(v.chosen, -1);
  EXPECT_EQ(v.steps.size(), 4u);
}

}  // namespace
}  // namespace xcel::search
