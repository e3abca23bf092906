// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// `xcel finetune`: recovers the accuracy of a pruned TorchScript model by training it in LibTorch (SGD with
/// momentum, linear warm-up then cosine decay, augmentation, optional distillation from a teacher), keeping
/// the checkpoint with the best validation accuracy. Resumable. No LibTorch in this header.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "xcel/data/dataset.h"

namespace xcel::train {

struct FinetuneOptions {
  std::string model, out_dir, data = "fashion-mnist";
  int epochs = 3;
  double lr = 0.01, momentum = 0.9, weight_decay = 5e-4;  // weight decay on conv/linear weights only
  double warmup_epochs = 0.2;                              // linear warm-up, then cosine decay to zero
  int batch = 128;
  int accumulate = 1;  // micro-batches per optimizer step (effective batch = batch * accumulate)
  std::string augment = "auto";
  std::string teacher;  // knowledge distillation from this model when set
  double kd_alpha = 0.5, kd_temperature = 4.0;
  int freeze_first = 0;  // the first K conv/linear layers (execution order) are not trained
  data::SplitOptions split;
  std::int64_t train_limit = 0;  // train on the first N training images only (0 = all)
  bool test = true;              // report the test top-1 of the model before and of the best checkpoint
  int eval_batch = 500;
  int threads = 1;
  bool resume = false;
  bool progress = true;
  std::string command_line;
};
void to_json(nlohmann::json& j, const FinetuneOptions& o);
void from_json(const nlohmann::json& j, FinetuneOptions& o);

/// Trains (or resumes) and writes OUT_DIR/{finetuned.pt, history.jsonl, config.json, summary.json,
/// checkpoint/}; returns the summary. Ctrl-C saves a checkpoint and throws Error(kInterrupted).
nlohmann::json run_finetune(FinetuneOptions opts);

}  // namespace xcel::train
