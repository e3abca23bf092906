// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// The structured pruning engine (LibTorch side): dependency analysis, channel selection, physical removal.
///   auto dg = build_dependency_graph(model, {1, 1, 28, 28});
///   auto kept = resolve_widths(dg, uniform_policy(dg, 0.5), 1);
///   auto pruned = apply(model, dg, select_channels(model, dg, kept, Importance::kL1));
#include <torch/script.h>

#include <vector>

#include "xcel/ir/model.h"
#include "xcel/prune/dependency.h"
#include "xcel/prune/depth.h"
#include "xcel/prune/policy.h"

namespace xcel::prune {

DependencyGraph build_dependency_graph(const torch::jit::Module& module, const ir::Shape& input);

/// Channel indices kept per group (ascending), as dg.groups.
using Selection = std::vector<std::vector<std::int64_t>>;

/// Keeps, in each group, the channels whose producing filters have the largest norm (each producer's
/// norms scaled by their mean, then summed over the group's producers; ties keep the lower index).
Selection select_channels(const torch::jit::Module& module, const DependencyGraph& dg,
                          const std::vector<std::int64_t>& kept, Importance importance);

/// A new module with the unselected channels physically removed; `module` is not modified. The result is
/// checked by a forward pass at dg.input_shape (Error kUnsupported if it fails: a graph the analysis misread).
torch::jit::Module apply(const torch::jit::Module& module, const DependencyGraph& dg, const Selection& selection);

/// Checks a pruned model against the analysis: the original's output shape and the predicted FLOPs for `kept`.
/// Error(kUnsupported) naming what differs: the FLOPs wall of a search relies on the prediction.
void check_prediction(const torch::jit::Module& original, const torch::jit::Module& pruned, const DependencyGraph& dg,
                      const std::vector<std::int64_t>& kept);

/// Indices along a dimension indexed by `map` that survive `selection` (ascending).
std::vector<std::int64_t> surviving_indices(const DependencyGraph& dg, const ChannelMap& map,
                                            const Selection& selection);

/// The blocks of `module` at `input` that depth pruning decides on (depth.h), outermost first, in execution order.
std::vector<DepthUnit> find_units(const torch::jit::Module& module, const ir::Shape& input);

/// A copy of `module` with the calls of `names` (removable units of find_units) replaced by their inputs and their
/// submodules dropped, so the saved model holds neither; `module` is not modified. Checked like apply(): the result
/// runs and its FLOPs are the original's minus the units' exactly. Error(kUsage) for a name that is no unit,
/// Error(kUnsupported) naming a unit that is not removable or cannot be cut out of its parent's code.
torch::jit::Module remove_units(const torch::jit::Module& module, const ir::Shape& input,
                                const std::vector<std::string>& names);

using ir::submodule;

/// A module's parameter or buffer by path ("features.0.0", "weight").
at::Tensor get_tensor(const torch::jit::Module& root, const std::string& module, const std::string& name);

}  // namespace xcel::prune
