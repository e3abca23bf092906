// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include <algorithm>

#include <spdlog/fmt/fmt.h>

#include "xcel/latency/oracle.h"
#include "xcel/latency/profile.h"

namespace xcel::latency {

std::string layer_signature(const ir::Layer& l) {
  const std::string in = l.input_shape.size() == 4 ? fmt::format(" in{}x{}", l.input_shape[2], l.input_shape[3]) : "";
  switch (l.kind) {
    case ir::LayerKind::kConv:
      return fmt::format("conv k{}x{} s{} g{} {}->{}{}", l.kernel.size() > 0 ? l.kernel[0] : 1,
                         l.kernel.size() > 1 ? l.kernel[1] : 1, l.stride.empty() ? 1 : l.stride[0], l.groups,
                         l.in_channels, l.out_channels, in);
    case ir::LayerKind::kLinear:
      return fmt::format("linear {}->{}", l.in_channels, l.out_channels);
    case ir::LayerKind::kBatchNorm:
      return fmt::format("batchnorm {}{}", l.out_channels, in);
  }
  return "?";
}

void finish_profile(Profile& p) {
  p.layers_ms = 0;
  for (const auto& l : p.layers) p.layers_ms += l.ms.median;
  p.other_ms = std::max(0.0, p.total_ms.median - p.layers_ms);
  // Shares of the whole: when the isolated layers sum to more than the model (caches are warmer in
  // isolation, or the model fuses), they are scaled to the model's total.
  const double denom = std::max(p.total_ms.median, p.layers_ms);
  for (auto& l : p.layers) l.share = denom > 0 ? l.ms.median / denom : 0;
}

void to_json(nlohmann::json& j, const LayerTiming& t) {
  j = {{"name", t.name}, {"kind", t.kind}, {"signature", t.signature}, {"flops", t.flops}, {"ms", t.ms},
       {"share", t.share}};
}

void to_json(nlohmann::json& j, const Profile& p) {
  j = {{"model", p.model},    {"device", p.device},       {"source", p.source},  {"threads", p.threads},
       {"form", p.form},
       {"input", p.input},    {"total_ms", p.total_ms},   {"layers", p.layers},  {"layers_ms", p.layers_ms},
       {"other_ms", p.other_ms}};
}


void from_json(const nlohmann::json& j, LayerTiming& t) {
  t.name = j.at("name");
  t.kind = j.at("kind");
  t.signature = j.at("signature");
  t.flops = j.at("flops");
  t.ms = j.at("ms").get<Stats>();
  t.share = j.value("share", 0.0);
}

void from_json(const nlohmann::json& j, Profile& p) {
  p.model = j.at("model");
  p.device = j.value("device", "host");
  p.source = j.value("source", "measured");
  p.form = j.value("form", "plain");
  p.threads = j.value("threads", 1);
  p.input = j.at("input").get<ir::Shape>();
  p.total_ms = j.at("total_ms").get<Stats>();
  p.layers = j.at("layers").get<std::vector<LayerTiming>>();
  finish_profile(p);
}

Profile profile_model(Oracle& oracle, const torch::jit::Module& module, const ir::ModelSummary& summary) {
  Profile p;
  p.model = summary.path;
  p.input = summary.input_shape;
  const Latency total = oracle.latency(module, summary);
  p.total_ms = total.ms;
  p.device = total.device;
  p.source = total.source;
  p.form = total.form;
  p.threads = total.threads;
  for (const auto& l : summary.layers) {
    LayerTiming t;
    t.name = l.name;
    t.kind = ir::layer_kind_name(l.kind);
    t.signature = layer_signature(l);
    t.flops = l.flops;
    t.ms = oracle.layer(l).ms;
    p.layers.push_back(std::move(t));
  }
  finish_profile(p);
  return p;
}

}  // namespace xcel::latency
