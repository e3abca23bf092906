// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/quant/precision.h"

#include <algorithm>
#include <map>
#include <set>

#include "xcel/core/error.h"
#include "xcel/core/json_fields.h"

namespace xcel::quant {
namespace {

constexpr const char* kForms = "use k (2-8) bits, ternary, binary or float for weights, optionally /k or /float for "
                               "activations: e.g. 8, 4/8, ternary, binary/8";

int parse_bits(const std::string& text, const std::string& whole) {
  if (text == "float" || text == "32") return 32;
  XCEL_CHECK(text.size() == 1 && text[0] >= '0' && text[0] <= '9', ExitCode::kUsage, "--bits '{}': {}", whole, kForms);
  const int b = text[0] - '0';
  XCEL_CHECK(b >= kMinBits && b <= kMaxBits, ExitCode::kUsage, "--bits '{}': {} bits is outside {}..{}; {}", whole, b,
             kMinBits, kMaxBits, kForms);
  return b;
}

bool is_weight_layer(const ir::Layer& l) { return l.kind != ir::LayerKind::kBatchNorm; }

// Weight parameters of a layer (without its bias).
std::int64_t weight_params(const ir::Layer& l) {
  return l.params - (l.has_bias ? l.out_channels : 0);
}

}  // namespace

int Precision::stored_weight_bits() const {
  switch (mode) {
    case WeightMode::kFloat: return 32;
    case WeightMode::kBits: return w_bits;
    case WeightMode::kTernary: return 2;
    case WeightMode::kBinary: return 1;
  }
  return 32;
}

Precision parse_precision(const std::string& text) {
  const auto slash = text.find('/');
  const std::string w = text.substr(0, slash);
  Precision p;
  if (slash != std::string::npos) p.a_bits = parse_bits(text.substr(slash + 1), text);
  if (w == "ternary") {
    p.mode = WeightMode::kTernary;
    p.w_bits = 2;
  } else if (w == "binary") {
    p.mode = WeightMode::kBinary;
    p.w_bits = 1;
  } else {
    p.w_bits = parse_bits(w, text);
    p.mode = p.w_bits == 32 ? WeightMode::kFloat : WeightMode::kBits;
  }
  return p;
}

std::string to_string(const Precision& p) {
  std::string w = p.mode == WeightMode::kTernary  ? "ternary"
                  : p.mode == WeightMode::kBinary ? "binary"
                  : p.mode == WeightMode::kFloat  ? "float"
                                                  : std::to_string(p.w_bits);
  return p.a_bits == 32 ? w : w + "/" + std::to_string(p.a_bits);
}

std::vector<ir::Layer> quantizable_layers(const std::vector<ir::Layer>& layers) {
  std::vector<ir::Layer> out;
  std::set<std::string> seen;
  for (const auto& l : layers)
    if (is_weight_layer(l) && seen.insert(l.name).second) out.push_back(l);
  return out;
}

void to_json(nlohmann::json& j, const QuantOptions& o) {
  j = {{"symmetric", o.symmetric}, {"keep_ends_bits", o.keep_ends_bits}, {"act_range", o.act_range},
       {"percentile", o.percentile}};
}

void from_json(const nlohmann::json& j, QuantOptions& o) {
  JsonReader f{j};
  f("symmetric", o.symmetric, true);
  f("keep_ends_bits", o.keep_ends_bits, 8);
  f("act_range", o.act_range, std::string("percentile"));
  f("percentile", o.percentile, 99.99);
}

void to_json(nlohmann::json& j, const QuantPolicy& p) {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : p.layers) {
    nlohmann::json e = {{"name", l.name}, {"bits", to_string(l.p)}, {"fixed", l.fixed}};
    if (l.a_hi > l.a_lo) e["act_range"] = {l.a_lo, l.a_hi};
    layers.push_back(e);
  }
  j = {{"kind", "quantization"}, {"options", p.options}, {"layers", layers}};
}

QuantPolicy policy_from_json(const nlohmann::json& j, const std::vector<ir::Layer>& layers) {
  QuantPolicy p;
  if (j.contains("options")) p.options = j.at("options").get<QuantOptions>();
  std::map<std::string, nlohmann::json> given;
  for (const auto& e : j.at("layers")) given[e.at("name").get<std::string>()] = e;
  for (const auto& l : quantizable_layers(layers)) {
    auto it = given.find(l.name);
    XCEL_CHECK(it != given.end(), ExitCode::kInput,
               "the quantization policy has no entry for layer '{}'; give every conv/linear layer a \"bits\" entry "
               "(xcel quantize --bits B writes a complete policy.json to start from)", l.name);
    LayerQuant q{l.name, parse_precision(it->second.at("bits").get<std::string>()),
                 it->second.value("fixed", false)};
    if (it->second.contains("act_range")) {
      q.a_lo = it->second.at("act_range").at(0);
      q.a_hi = it->second.at("act_range").at(1);
    }
    p.layers.push_back(q);
    given.erase(it);
  }
  XCEL_CHECK(given.empty(), ExitCode::kInput, "the quantization policy names layer '{}', which the model does not have",
             given.empty() ? std::string() : given.begin()->first);
  return p;
}

std::vector<bool> int8_layers(const QuantPolicy& p) {
  std::vector<bool> out;
  for (const auto& l : p.layers) out.push_back(l.p == Precision{WeightMode::kBits, 8, 8});
  return out;
}

bool runs_on_int8_kernels(const QuantPolicy& p) {
  const std::vector<bool> q = int8_layers(p);
  for (size_t i = 0; i < q.size(); ++i)
    if (!q[i] && !(p.layers[i].p == Precision{})) return false;
  return std::find(q.begin(), q.end(), true) != q.end();
}

QuantPolicy uniform_policy(const std::vector<ir::Layer>& layers, const Precision& p, const QuantOptions& o) {
  QuantPolicy out;
  out.options = o;
  const auto q = quantizable_layers(layers);
  for (size_t i = 0; i < q.size(); ++i) {
    LayerQuant l{q[i].name, p, false};
    const bool end = i == 0 || i + 1 == q.size();
    if (end && o.keep_ends_bits > 0) {
      l.fixed = true;
      if (p.stored_weight_bits() < o.keep_ends_bits) l.p = {WeightMode::kBits, o.keep_ends_bits, l.p.a_bits};
      if (l.p.a_bits < o.keep_ends_bits) l.p.a_bits = o.keep_ends_bits;
    }
    out.layers.push_back(l);
  }
  return out;
}

namespace {

// Layers of `p` matched to the table's layers (same order: both come from quantizable_layers).
template <typename F>
void for_each_layer(const std::vector<ir::Layer>& layers, const QuantPolicy& p, F&& f) {
  const auto q = quantizable_layers(layers);
  XCEL_ASSERT(q.size() == p.layers.size(), "policy of {} layers for a model with {}", p.layers.size(), q.size());
  for (size_t i = 0; i < q.size(); ++i) f(q[i], p.layers[i]);
}

}  // namespace

double size_ratio(const std::vector<ir::Layer>& layers, const QuantPolicy& p) {
  double bits = 0, full = 0;
  for_each_layer(layers, p, [&](const ir::Layer& l, const LayerQuant& q) {
    bits += static_cast<double>(weight_params(l)) * q.p.stored_weight_bits();
    full += static_cast<double>(weight_params(l)) * 32.0;
  });
  return full > 0 ? bits / full : 1.0;
}

std::int64_t packed_bytes(const std::vector<ir::Layer>& layers, const QuantPolicy& p) {
  std::int64_t bits = 0;
  for_each_layer(layers, p, [&](const ir::Layer& l, const LayerQuant& q) {
    const int wb = q.p.stored_weight_bits();
    bits += weight_params(l) * wb + (l.has_bias ? l.out_channels * 32 : 0);
    if (q.p.mode != WeightMode::kFloat) bits += l.out_channels * 32 * (p.options.symmetric || wb < 3 ? 1 : 2);
  });
  return (bits + 7) / 8;
}

double bops_ratio(const std::vector<ir::Layer>& layers, const QuantPolicy& p) {
  double bops = 0, full = 0;
  for_each_layer(layers, p, [&](const ir::Layer& l, const LayerQuant& q) {
    bops += static_cast<double>(l.flops) * q.p.stored_weight_bits() * q.p.a_bits;
    full += static_cast<double>(l.flops) * 32.0 * 32.0;
  });
  return full > 0 ? bops / full : 1.0;
}

}  // namespace xcel::quant
