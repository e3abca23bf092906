// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Per-layer latency profiles: every conv / linear / batch-norm layer of a model timed on its own at its
/// input shape (warm-up, then each run timed), next to the whole model's latency; what is not in the layers
/// (activations, pooling, adds, framework overhead) is reported as "other". No LibTorch in this header.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xcel/core/stats.h"
#include "xcel/ir/summary.h"

namespace torch::jit {
struct Module;
}

namespace xcel::latency {

/// The key of a layer in latency tables: kind, channels, kernel, stride, groups and input size, e.g.
/// "conv k3x3 s1 g1 32->64 in28x28" or "linear 128->10".
std::string layer_signature(const ir::Layer& layer);

struct LayerTiming {
  std::string name, kind, signature;
  std::int64_t flops = 0;
  Stats ms;
  double share = 0;  // of the whole model's median latency
};

struct Profile {
  std::string model, device = "host", source = "measured";
  std::string form = "plain";       // what was timed (see Latency::form)
  int threads = 1;
  ir::Shape input;
  Stats total_ms;                   // the whole model, batch 1
  std::vector<LayerTiming> layers;  // execution order
  double layers_ms = 0;             // sum of the layers' medians
  double other_ms = 0;              // total median minus layers_ms (never negative)
};

void to_json(nlohmann::json& j, const LayerTiming& t);
void to_json(nlohmann::json& j, const Profile& p);
void from_json(const nlohmann::json& j, LayerTiming& t);
void from_json(const nlohmann::json& j, Profile& p);

/// Fills shares, layers_ms and other_ms from the timings.
void finish_profile(Profile& p);

class Oracle;
/// The whole model and every layer of `summary` (its layer table at batch 1), each layer on its own, measured
/// (or estimated) by `oracle`: in-process on this machine, or on a phone.
Profile profile_model(Oracle& oracle, const torch::jit::Module& module, const ir::ModelSummary& summary);

}  // namespace xcel::latency
