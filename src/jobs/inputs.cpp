// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/jobs/inputs.h"

#include "xcel/core/error.h"
#include "xcel/core/log.h"
#include "xcel/ir/model.h"

namespace xcel::jobs {

data::SplitOptions for_model(data::SplitOptions o, const torch::jit::Module& model) {
  if (o.channels == 0) {
    const std::int64_t c = ir::input_channels(model);
    o.channels = c == 1 || c == 3 ? c : 0;
  }
  return o;
}

ir::Shape checked_input(const torch::jit::Module& model, const data::ImageSet& data, bool data_given) {
  const ir::Shape input = {1, data.channels, data.height, data.width};
  try {
    ir::analyze(model, input);
  } catch (const Error& e) {
    if (e.code() != ExitCode::kInput) throw;
    if (data_given) {
      // The data is what does not fit (these commands have no --input): say so, with the model's complaint.
      std::string why = e.what();
      const auto open = why.find(" ("), close = why.rfind("); pass --input");
      why = open != std::string::npos && close != std::string::npos && close > open ? why.substr(open + 2, close - open - 2)
                                                                                    : why;
      XCEL_FAIL(ExitCode::kInput, "the model does not take the images of {} ({}x{}x{}, channels x height x width): {}; "
                "use data of the image size and channels the model was trained on (image folders: --image-size; "
                "their channels follow the model)", data.name, data.channels, data.height, data.width, why);
    }
    XCEL_FAIL(ExitCode::kUsage, "the model does not take the default data's images ({}x{}x{}, Fashion-MNIST): pass "
              "--data with its own images, e.g. --data imagefolder:DIR (and --image-size, --mean/--std as it was "
              "trained)", data.channels, data.height, data.width);
  }
  return input;
}

void check_not_chance(double top1, std::int64_t classes, bool force, const std::string& data) {
  if (classes < 2) return;
  const double chance = 1.0 / static_cast<double>(classes);
  if (top1 >= 1.5 * chance) return;
  const std::string what = fmt::format(
      "the original model scores {:.2f}% on the validation images of {}, near chance ({:.2f}% for {} classes): check "
      "the normalisation it was trained with (--mean/--std or --normalize), the dataset, and the label order",
      100 * top1, data, 100 * chance, classes);
  XCEL_CHECK(force, ExitCode::kInput, "{}; --force goes on anyway", what);
  spdlog::warn("{} (--force: going on)", what);
}

}  // namespace xcel::jobs
