// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Quantization policies without LibTorch: the precision of each conv/linear layer's weights (k bits, ternary,
/// binary or float) and of its input activations (k bits or float), how a policy is written, and what it costs
/// (weight size in bits, bit operations).
///   auto p = parse_precision("4/8");                 // 4-bit weights, 8-bit activations
///   auto pol = uniform_policy(summary.layers, p, QuantOptions{});
///   double r = size_ratio(summary.layers, pol);      // 4 / 32 with the first and last layers at 8 bits
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xcel/ir/summary.h"

namespace xcel::quant {

enum class WeightMode { kFloat, kBits, kTernary, kBinary };

/// One layer's precision. Float is 32 bits; ternary weights are stored in 2 bits, binary in 1.
struct Precision {
  WeightMode mode = WeightMode::kFloat;
  int w_bits = 32;  // kBits: 2..8
  int a_bits = 32;  // input activations: 2..8, or 32 (float)
  int stored_weight_bits() const;
  bool operator==(const Precision& o) const { return mode == o.mode && w_bits == o.w_bits && a_bits == o.a_bits; }
};

/// "8", "4/8", "ternary", "binary/8", "float", "32/8": weights[/activations] (activations float when absent).
/// Error(kUsage) naming the accepted forms on anything else.
Precision parse_precision(const std::string& text);
std::string to_string(const Precision& p);

constexpr int kMinBits = 2, kMaxBits = 8;

/// The layers a policy covers: every convolution and linear layer, once per module (execution order).
std::vector<ir::Layer> quantizable_layers(const std::vector<ir::Layer>& layers);

struct LayerQuant {
  std::string name;
  Precision p;
  bool fixed = false;  // kept out of the search (the first and last layer at 8 bits by default)
  double a_lo = 0, a_hi = 0;  // calibrated range of the input activations (a_hi > a_lo once calibrated)
};

struct QuantOptions {
  bool symmetric = true;         // weights: per-channel symmetric scales (else asymmetric min/max)
  int keep_ends_bits = 8;        // first and last layer at this many bits (weights and activations); 0 = as the rest
  std::string act_range = "percentile";  // activation clipping range from calibration: minmax | percentile
  double percentile = 99.99;     // of |activations| per calibration batch, averaged over batches
};
void to_json(nlohmann::json& j, const QuantOptions& o);
void from_json(const nlohmann::json& j, QuantOptions& o);

struct QuantPolicy {
  std::vector<LayerQuant> layers;
  QuantOptions options;
};
void to_json(nlohmann::json& j, const QuantPolicy& p);
/// Reads a policy file's JSON; `layers` checks the names (Error kInput naming an unknown or missing layer).
QuantPolicy policy_from_json(const nlohmann::json& j, const std::vector<ir::Layer>& layers);

/// True when stock int8 kernels run `p` as it is: every layer at 8-bit weights and activations, or float (weights
/// and activations), and at least one at 8 bits. int8_layers says which.
bool runs_on_int8_kernels(const QuantPolicy& p);
std::vector<bool> int8_layers(const QuantPolicy& p);

/// Every layer at `p`; with o.keep_ends_bits the first and last layer at that many bits (weights and activations)
/// unless `p` is already at least as precise there, and marked fixed.
QuantPolicy uniform_policy(const std::vector<ir::Layer>& layers, const Precision& p, const QuantOptions& o);

/// Weight bits of the quantized layers (parameters of conv/linear weights x their stored bits) over the same
/// weights in float 32: the size budget of `xcel quantize --size`. Biases and scales are not counted here.
double size_ratio(const std::vector<ir::Layer>& layers, const QuantPolicy& p);
/// The packed size in bytes of the model's conv/linear layers as stored: weights at their bits, one 32-bit scale
/// per output channel (and a zero point for asymmetric scales), biases in float.
std::int64_t packed_bytes(const std::vector<ir::Layer>& layers, const QuantPolicy& p);
/// Bit operations: sum over layers of MACs x weight bits x activation bits, over the float model's (32 x 32).
double bops_ratio(const std::vector<ir::Layer>& layers, const QuantPolicy& p);

}  // namespace xcel::quant
