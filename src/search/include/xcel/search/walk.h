// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// What the search loop walks each episode: one step per decision (a group's preserve ratio, a layer's bit
/// width), a state per step for the agent, and a budget wall that keeps every finished policy within the budget.
/// `Env` walks channel groups (xcel prune), `BitsEnv` bit widths (xcel quantize). No LibTorch here.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace xcel::search {

class Walk {
 public:
  virtual ~Walk() = default;
  virtual int state_dim() const = 0;
  virtual void reset() = 0;
  /// State before acting at the current step (features normalised to [0, 1]).
  virtual std::vector<float> state() const = 0;
  /// Applies `action` (in [0, 1]) to the current step after the budget wall; returns what was applied, as an
  /// action, and advances.
  virtual double step(double action) = 0;
  virtual bool done() const = 0;
  /// The policy walked: kept channels per group, or bits per step.
  virtual const std::vector<std::int64_t>& widths() const = 0;
  /// The name of the policy in episode lines ("widths", "bits").
  virtual const char* policy_key() const { return "widths"; }
  /// True when the walked policy meets the budget (the wall makes it so; checked after each episode).
  virtual bool within_budget() const = 0;
  /// The model's FLOPs under the policy (the acc-flops reward).
  virtual std::int64_t flops() const = 0;
  /// Predicted latency under the policy (ms) when the budget is a latency, else 0.
  virtual double predicted_ms() const { return 0; }
  /// The policy's figures for its episode line (FLOPs ratio, size ratio, ...).
  virtual nlohmann::json describe() const = 0;
  /// The budget figure of the progress line ("FLOPs 0.250").
  virtual std::string progress() const = 0;
  /// The actions a discrete agent (DQN) chooses from; empty: a grid over the agent's action range.
  virtual std::vector<double> action_menu() const { return {}; }
};

}  // namespace xcel::search
