// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// The op registry: everything xcel knows about an operation kind, in one entry. The layer table, the
/// dependency analysis, channel removal and fine-tuning read it; an op missing from it is "not understood"
/// and blocks every channel it touches. Supporting one more op is one entry in ops.cpp (and its test).
///   const OpInfo* op = find_op("aten::prelu");   // op->rule == ChannelRule::kPerChannel
/// No LibTorch here.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "xcel/ir/summary.h"

namespace xcel::ir {

/// How an op moves channels (dimension 1) from its data input to its output.
enum class ChannelRule {
  kConv,         // convolution: new output channels; input channels cut from its weight (depthwise follows input)
  kLinear,       // linear: new output features; input features cut from its weight
  kPerChannel,   // output channel c is a function of input channel c, with per-channel parameters cut alike
                 // (batch norm, instance norm, PReLU); no parameters = a plain pass-through
  kPassThrough,  // output channel c depends on input channel c only (activations, pooling, dropout, resizing)
  kBinary,       // elementwise with a second tensor: two data tensors index the same channels (residual add)
  kConcat,       // concatenation: channels of the inputs side by side (along dim 1)
  kFlatten,      // flatten: channel c becomes features c*h*w .. (c+1)*h*w-1
  kMean,         // mean: passes channels unless it reduces over them
  kShapeOnly,    // understood for shapes (layer table), but blocks the channels it touches (view, permute, ...)
};

/// A per-channel tensor argument cut along its dimension 0 with the channels (the module attribute that
/// feeds it is found from the graph).
struct ChannelParam {
  std::size_t input;  // argument index
  bool buffer;        // a buffer (running statistics), not a trained parameter
};

struct OpInfo {
  std::string kind;                   // qualified name, e.g. "aten::batch_norm"
  ChannelRule rule = ChannelRule::kShapeOnly;
  std::optional<LayerKind> layer;     // a row of the layer table (conv, linear, batch norm)
  std::vector<ChannelParam> params;   // kPerChannel: the per-channel tensors
  std::optional<std::size_t> training_arg;  // a `training` flag argument (traced models bake it in as a constant)
  std::optional<std::size_t> groups_arg;    // convolutions: the `groups` argument
};

/// The entry for an op kind, or nullptr when xcel does not understand it.
const OpInfo* find_op(const std::string& kind);
/// Every entry (documentation and tests).
const std::vector<OpInfo>& all_ops();

}  // namespace xcel::ir
