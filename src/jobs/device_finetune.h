// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// `xcel finetune --target PHONE`: the same fine-tuning run on an Android device over adb. The host writes the data
/// as a shard (the training images after --train-limit, the validation and test splits, as IDX files), pushes it
/// with the model (and teacher or quantization policy) and an xcel build for the device's ABI, runs `xcel finetune`
/// there (it plans its own memory with --max-memory-mb, reports time per step, peak memory and battery energy) and
/// pulls back the trained model, its history and summary. The device keeps its run directory, so a run cut by Ctrl-C
/// or a lost cable continues with `xcel finetune --resume --out OUT`.
#include <nlohmann/json.hpp>

#include "xcel/core/run_dir.h"
#include "xcel/device/target.h"
#include "xcel/train/finetune.h"

namespace xcel::jobs {

/// Runs (or resumes) the fine-tuning of `o` on a device of `target` (an android profile). `run` is the host's run
/// directory, created and owned by this process. Returns the summary also written to OUT/summary.json.
nlohmann::json run_finetune_on_device(train::FinetuneOptions o, const RunDir& run, const device::TargetProfile& target);

}  // namespace xcel::jobs
