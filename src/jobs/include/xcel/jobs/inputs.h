// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// What every job checks about a model and its data before working: the data read the way the model takes it,
/// an original model that is not at chance on its validation images, and an error that asks for --data when the
/// default data does not fit the model.
#include <cstdint>
#include <string>

#include "xcel/data/dataset.h"
#include "xcel/ir/summary.h"

namespace torch::jit {
struct Module;
}

namespace xcel::jobs {

/// The data options for `model`: image folders decode to the channels its first layer takes (grey or RGB)
/// unless set; the normalisation is checked against them.
data::SplitOptions for_model(data::SplitOptions o, const torch::jit::Module& model);

/// The model's input shape for `data` (batch 1, the data's image shape) after checking that the model runs on it;
/// when it does not and `data_given` is false (the default Fashion-MNIST), Error(kUsage) asking for --data.
ir::Shape checked_input(const torch::jit::Module& model, const data::ImageSet& data, bool data_given);

/// Error(kInput) when the original model's validation top-1 is below 1.5 x chance (1 / classes): the likely
/// causes are named (normalisation, the wrong dataset, label order); `force` lets the run go on with a warning.
void check_not_chance(double top1, std::int64_t classes, bool force, const std::string& data);

}  // namespace xcel::jobs
