// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// `xcel finetune`: a fine-tuning run in its own run directory (finetuned.pt, history.jsonl, config.json,
/// summary.json, checkpoint/), new or resumed. No LibTorch here.
#include <nlohmann/json.hpp>

#include "xcel/train/finetune.h"

namespace xcel::jobs {

/// Trains (or resumes) and returns the summary also written to OUT/summary.json. Ctrl-C saves a checkpoint and
/// throws Error(kInterrupted).
nlohmann::json run_finetune(train::FinetuneOptions opts);

}  // namespace xcel::jobs
