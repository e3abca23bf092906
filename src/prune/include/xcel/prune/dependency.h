// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Channel dependency groups of a CNN graph (no LibTorch in this header).
///
/// Every tensor on the data path has a ChannelMap: its channels are the concatenation of whole "spaces".
/// A convolution or linear layer creates a new space (its output channels); batch norm, activations, pooling
/// and depthwise convolutions pass their input's map through; `add` (residuals) merges the spaces it joins;
/// `cat` concatenates maps; `flatten` multiplies each channel into h*w features. Merged spaces form a Group,
/// the unit that is pruned: every ParamDim that indexes one of its spaces loses the same channels.
/// A group is blocked (never pruned) when it reaches the model's input or output, or an op xcel cannot
/// prove safe (grouped convolution, view/reshape, an unknown op, ...); the reason is kept.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xcel/ir/summary.h"

namespace xcel::prune {

struct Segment {
  int space = 0;            // space id (see DependencyGraph::group_of_space)
  std::int64_t offset = 0;  // first channel of this space within the tensor
  std::int64_t length = 0;  // channels of the space
};

struct ChannelMap {
  std::vector<Segment> segments;
  std::int64_t factor = 1;  // features per channel (h*w after flatten)
  std::int64_t channels() const;
};

/// One dimension of one parameter or buffer that is indexed by channels.
struct ParamDim {
  std::string module;  // owning submodule path ("" = the root module)
  std::string name;    // "weight", "bias", "running_mean", "running_var"
  bool is_buffer = false;
  int dim = 0;
  ChannelMap map;
  bool producer = false;  // output channels of a conv/linear: used to rank channels
};

struct Group {
  std::string name;              // module path of the first layer that produces these channels
  std::int64_t channels = 0;
  bool prunable = false;
  std::string reason;            // why not prunable
  std::vector<std::string> modules;  // every submodule that loses channels with this group
  std::int64_t unit = 1;         // channels are kept and removed in aligned blocks of this many (whole groups of
                                 // a grouped convolution); 1 for plain channels
};

/// What a layer's cost depends on, for exact FLOPs prediction under any channel counts.
struct LayerCost {
  std::string name;
  ir::LayerKind kind = ir::LayerKind::kConv;
  ChannelMap in, out;
  std::int64_t positions = 0;     // output elements per output channel (N * h * w; rows for linear)
  std::int64_t kernel = 1;        // prod(kernel) for convs
  bool depthwise = false;
  bool fixed = false;             // cost never changes (grouped conv, layer on blocked channels)
  std::int64_t flops = 0;         // at the original widths
};

/// A depthwise or grouped convolution whose `groups` must follow its channel count: groups = channels / per_group.
struct DepthwiseConv {
  std::string module;
  ChannelMap map;
  std::int64_t per_group = 1;  // input (= output) channels per group; 1 for depthwise
};

struct DependencyGraph {
  std::vector<int> group_of_space;  // space id -> index into groups
  std::vector<Group> groups;        // in order of production
  std::vector<ParamDim> params;
  std::vector<LayerCost> layers;    // the layer table's order
  std::vector<DepthwiseConv> depthwise;
  ir::Shape input_shape;
  std::int64_t flops = 0;

  /// Index of the group named `name`, or -1.
  int find_group(const std::string& name) const;
  std::vector<int> prunable_groups() const;
  /// Channels of `map` when group g keeps kept[g] channels.
  std::int64_t kept_channels(const ChannelMap& map, const std::vector<std::int64_t>& kept) const;
  /// Exact FLOPs (multiply-accumulates) of the model when group g keeps kept[g] channels.
  std::int64_t predict_flops(const std::vector<std::int64_t>& kept) const;
  /// FLOPs of one layer under `kept`.
  std::int64_t layer_flops(const LayerCost& layer, const std::vector<std::int64_t>& kept) const;
  /// Keeps the named groups unpruned (--exclude): a name is a group, a module of a group, or a module prefix
  /// ("layer1" keeps every group with a module under layer1.). Returns the groups it blocked; an unknown name
  /// is a usage error that lists the prunable groups.
  std::vector<std::string> exclude(const std::vector<std::string>& names);
  /// The channel multiple group g is kept in: the target's `round_to` and the group's unit together (their
  /// least common multiple), or the unit alone when that multiple exceeds the group.
  std::int64_t step(int g, std::int64_t round_to) const;
  /// Original channel counts, one per group.
  std::vector<std::int64_t> full_widths() const;
};

void to_json(nlohmann::json& j, const Group& g);

}  // namespace xcel::prune
