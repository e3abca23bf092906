// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Removing whole blocks (depth), found from the graph. A unit is a submodule call that holds convolution or linear
/// layers; it is removable when the data enter it through one tensor and leave it through one tensor of the same
/// shape (a residual block with an identity shortcut, a stride-1 block that keeps its channels): the call is then
/// replaced by its input. Units are listed outermost first: a removable unit's children are not listed; a unit
/// that is not removable (downsampling, several inputs) says why and its children are looked at instead.
///   auto units = find_units(model, {1, 1, 28, 28});                      // engine.h (LibTorch)
///   auto shallower = remove_units(model, {1, 1, 28, 28}, {"layer1"});   // layer1's call and parameters are gone
/// No LibTorch in this header.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xcel/ir/summary.h"

namespace xcel::prune {

struct DepthUnit {
  std::string name;           // module path ("layer1", "features.3")
  bool removable = false;
  std::string reason;         // why not removable
  ir::Shape in, out;          // data shapes at the unit's boundary (the first input and output)
  std::int64_t flops = 0;     // multiply-accumulates of its conv/linear layers (what removing it saves)
  std::int64_t params = 0;    // parameters of those layers and their batch norms
  std::vector<std::string> layers;  // its layer-table rows
};

void to_json(nlohmann::json& j, const DepthUnit& u);

/// The units of the model in `path` at `input` (xcel inspect --depth).
std::vector<DepthUnit> find_units_in_file(const std::string& path, const ir::Shape& input);

}  // namespace xcel::prune
