// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/ir/summary.h"

#include <algorithm>

#include <sstream>

#include "xcel/core/error.h"

namespace xcel::ir {

const char* layer_kind_name(LayerKind k) {
  switch (k) {
    case LayerKind::kConv: return "conv";
    case LayerKind::kLinear: return "linear";
    case LayerKind::kBatchNorm: return "batchnorm";
  }
  return "?";
}


std::int64_t numel(const Shape& s) {
  std::int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

Shape parse_shape(const std::string& text) {
  Shape shape;
  std::string item;
  std::string normalized = text;
  for (char& c : normalized)
    if (c == 'x' || c == 'X') c = ',';
  std::stringstream ss(normalized);
  while (std::getline(ss, item, ',')) {
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    XCEL_CHECK(used == item.size() && used > 0 && v > 0, ExitCode::kUsage,
               "bad shape '{}': expected positive integers like 1,3,224,224", text);
    shape.push_back(v);
  }
  XCEL_CHECK(shape.size() >= 2, ExitCode::kUsage, "bad shape '{}': expected N,C,H,W like 1,1,28,28", text);
  return shape;
}

void to_json(nlohmann::json& j, const Layer& l) {
  j = {{"name", l.name},
       {"kind", layer_kind_name(l.kind)},
       {"in_channels", l.in_channels},
       {"out_channels", l.out_channels},
       {"input_shape", l.input_shape},
       {"output_shape", l.output_shape},
       {"params", l.params},
       {"flops", l.flops},
       {"bias", l.has_bias}};
  if (l.kind == LayerKind::kConv) {
    j["kernel"] = l.kernel;
    j["stride"] = l.stride;
    j["padding"] = l.padding;
    j["dilation"] = l.dilation;
    j["groups"] = l.groups;
    j["depthwise"] = l.depthwise();
  }
}

void to_json(nlohmann::json& j, const ModelSummary& s) {
  j = {{"model", s.path},       {"file_bytes", s.file_bytes}, {"input_shape", s.input_shape},
       {"output_shape", s.output_shape}, {"params", s.params}, {"flops", s.flops},
       {"layers", s.layers}};
  auto& unknown = j["unknown_ops"] = nlohmann::json::array();
  for (const auto& u : s.unknown_ops) unknown.push_back({{"kind", u.kind}, {"count", u.count}});
}

Layer with_channels(const Layer& l, std::int64_t in, std::int64_t out) {
  Layer n = l;
  // Depthwise and grouped convolutions with as many outputs as inputs per group keep their group width: the
  // output follows the input, and the group count follows both.
  const bool follows = l.kind == LayerKind::kConv && l.groups > 1 && l.in_channels == l.out_channels;
  const std::int64_t per_group = follows ? l.in_channels / l.groups : 1;
  n.in_channels = in;
  n.out_channels = follows ? in : out;
  if (follows) n.groups = in / per_group;
  const std::int64_t group_in = n.in_channels / std::max<std::int64_t>(1, n.groups);
  if (n.kind == LayerKind::kLinear) {
    n.input_shape.back() = n.in_channels;
    n.output_shape.back() = n.out_channels;
    n.params = n.in_channels * n.out_channels + (n.has_bias ? n.out_channels : 0);
    n.flops = numel(n.output_shape) * n.in_channels;
  } else {
    if (n.input_shape.size() > 1) n.input_shape[1] = n.in_channels;
    if (n.output_shape.size() > 1) n.output_shape[1] = n.out_channels;
    const std::int64_t kernel = numel(n.kernel);
    n.params = n.kind == LayerKind::kConv ? n.out_channels * group_in * kernel + (n.has_bias ? n.out_channels : 0)
                                          : 2 * n.out_channels;
    n.flops = n.kind == LayerKind::kConv ? numel(n.output_shape) * group_in * kernel : 0;
  }
  return n;
}

ModelSummary one_layer_summary(const Layer& layer) {
  ModelSummary s;
  s.input_shape = layer.input_shape;
  s.output_shape = layer.output_shape;
  s.layers = {layer};
  s.flops = layer.flops;
  s.params = layer.params;
  return s;
}

}  // namespace xcel::ir
