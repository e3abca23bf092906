// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// The layer table of a TorchScript model, built from its inlined forward graph and one run on an example
/// input (no LibTorch in this header).
///
/// FLOPs are multiply-accumulates (one fused multiply-add = one FLOP, the convention of AMC, fvcore and
/// torchvision's published figures), counted for convolutions and linear layers at the given input shape.
/// Batch-norm layers are listed with 0 FLOPs: at inference they fold into the preceding convolution.
///   auto s = xcel::ir::inspect_file("models/vgg.pt", {1, 1, 28, 28});
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace xcel::ir {

enum class LayerKind { kConv, kLinear, kBatchNorm };
const char* layer_kind_name(LayerKind k);

using Shape = std::vector<std::int64_t>;

/// Product of the dimensions (1 for an empty shape).
std::int64_t numel(const Shape& s);

struct Layer {
  std::string name;  // module path, e.g. "features.0.0" (or "<graph value>" if not owned by a module)
  LayerKind kind = LayerKind::kConv;
  std::int64_t in_channels = 0, out_channels = 0, groups = 1;
  Shape kernel, stride, padding, dilation;  // convolutions only
  Shape input_shape, output_shape;
  bool has_bias = false;
  std::int64_t params = 0;  // weight + bias elements
  std::int64_t flops = 0;   // multiply-accumulates at input_shape
  bool depthwise() const { return kind == LayerKind::kConv && groups > 1 && groups == in_channels; }
};

/// An operation on the data path that xcel does not understand; listed by name, never silently skipped.
struct UnknownOp {
  std::string kind;  // e.g. "aten::grid_sampler"
  int count = 0;
};

struct ModelSummary {
  std::string path;
  std::int64_t file_bytes = 0;
  Shape input_shape, output_shape;
  std::vector<Layer> layers;   // in execution order
  std::int64_t params = 0;     // every parameter of the module, as PyTorch's model.parameters() counts
  std::int64_t flops = 0;      // sum of layer FLOPs
  std::vector<UnknownOp> unknown_ops;
};

/// `layer` with `in` input and `out` output channels (features for linear layers), shapes, parameters and FLOPs
/// to match; a depthwise convolution keeps groups = channels. Used to time a layer at other widths.
Layer with_channels(const Layer& layer, std::int64_t in, std::int64_t out);

/// The table of a model that is `layer` alone (one-layer models measured on their own).
ModelSummary one_layer_summary(const Layer& layer);

/// Parses "1,1,28,28" (also "1x1x28x28"); throws Error(kUsage) on anything else.
Shape parse_shape(const std::string& text);

/// Loads `path` and summarises it at `input` (N,C,H,W).
ModelSummary inspect_file(const std::string& path, const Shape& input);

void to_json(nlohmann::json& j, const Layer& l);
void to_json(nlohmann::json& j, const ModelSummary& s);

}  // namespace xcel::ir
