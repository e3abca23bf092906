// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Fine-tuning: recovers the accuracy of a pruned TorchScript model by training it in LibTorch (SGD with
/// momentum, linear warm-up then cosine decay, augmentation, optional distillation from a teacher), keeping
/// the epoch with the best validation accuracy, with a checkpoint in the run directory after every epoch and
/// on Ctrl-C. No LibTorch in this header.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xcel/core/run_dir.h"
#include "xcel/data/augment.h"
#include "xcel/data/dataset.h"
#include "xcel/ir/summary.h"

namespace torch::jit {
struct Module;
}
namespace xcel::data {
struct TensorSet;
}

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
  int train_last = 0;    // only the last K conv/linear layers are trained (0 = all; excludes freeze_first)
  bool from_scratch = false;  // re-initialise every layer first (PyTorch's default initialisation), same schedule
  double max_memory_mb = 0;   // > 0: the memory planner picks freeze_first, batch and accumulate to fit (memory_plan.h)
  std::string quantized;  // quantization-aware training with this policy (xcel quantize's policy.json)
  // Where training runs: "host" (this process) or a phone target, whose device runs an xcel build for its ABI
  // (pushed from device_binary, else the profile's training.binary) on a shard of the data (jobs/device_finetune).
  std::string target = "host", serial, device_binary;
  std::string device_run;  // the run's directory on the device (set when it starts; a resume continues there)
  data::SplitOptions split;
  std::int64_t train_limit = 0;  // train on the first N training images only (0 = all)
  bool test = true;              // report the test top-1 of the model before and of the best checkpoint
  int eval_batch = 500;
  int threads = 1;
  bool resume = false;
  bool progress = true;
  bool checkpoints = true;  // false: nothing is written (a brief fine-tune that only re-scores a model, e.g. the
                            // search's --rerank); Ctrl-C then ends the epoch early instead of saving
  std::string command_line;
  nlohmann::json cli;  // the options as given on the command line or in --config
};
void to_json(nlohmann::json& j, const FinetuneOptions& o);
void from_json(const nlohmann::json& j, FinetuneOptions& o);

/// Checks the training options (Error kUsage naming the flag).
void check_options(const FinetuneOptions& o);

/// The conv/linear layers in execution order, once each: what --freeze-first and --train-last count.
std::vector<std::string> weighted_layers(const std::vector<ir::Layer>& layers);

/// Re-initialises the model's conv/linear layers as PyTorch does by default (weights Kaiming-uniform with
/// a = sqrt(5), biases uniform in +-1/sqrt(fan_in)) and its batch norms (weight 1, bias 0, running mean 0 and
/// variance 1), from torch's global generator: training from scratch with the same schedule. Returns the layers.
int reinitialise(torch::jit::Module& model, const std::vector<ir::Layer>& layers);

/// Where a training run is: the epoch and step to do next, running sums of the epoch in progress, the best
/// epoch so far and the lines of history.jsonl. Saved in the checkpoint's state.json.
struct TrainState {
  int epoch = 0;          // epoch in progress (or next to start)
  std::int64_t step = 0;  // next micro-batch of that epoch
  std::int64_t updates = 0;
  double loss_sum = 0;
  std::int64_t correct = 0, seen = 0;
  double seconds = 0, epoch_seconds = 0;
  double best_val = -1;
  int best_epoch = 0;
  double val_before = 0, test_before = -1;
  double peak_rss_mb = 0;  // over every process that worked on the run
  std::vector<std::string> history;
};

/// The model saved with a fine-tuning run's checkpoint (what --resume continues from).
std::string checkpoint_model(const RunDir& run);

/// Trains `model` in place: each epoch's batches come from splitmix64 streams keyed by (seed, epoch, step), so a
/// resumed run continues with exactly the batches of an uninterrupted one. The best epoch is saved as
/// RUN/finetuned.pt.
class Trainer {
 public:
  /// `teacher` (frozen, may be null) distils; the first `o.freeze_first` conv/linear layers are not trained.
  /// `summary` is the model's layer table.
  Trainer(const FinetuneOptions& o, torch::jit::Module& model, const ir::ModelSummary& summary,
          const data::ImageSet& train_set, const data::Augment& augment, const data::TensorSet& val,
          torch::jit::Module* teacher, RunDir run);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  /// Quantization-aware training: `project(true)` puts the weights on their grid (keeping float shadows),
  /// `project(false)` puts the shadows back. Each forward pass, each validation and each saved best model runs on
  /// the grid; the optimizer steps the shadows with the gradients taken there (a straight-through estimator).
  void set_projection(std::function<void(bool)> project);
  /// A new run's starting point: the accuracy before training.
  void start(double val_before, double test_before);
  /// Continues from the checkpoint (state, optimizer, random generator).
  void restore();
  /// Trains the remaining epochs. Ctrl-C saves a checkpoint and throws Error(kInterrupted).
  void run();

  const TrainState& state() const;
  const std::vector<std::string>& frozen_layers() const;
  std::int64_t trainable_params() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Models traced in eval mode carry training=False as a constant in aten::batch_norm and aten::dropout:
/// statistics and dropout would stay frozen in training. Each such constant is replaced by the owning
/// module's `training` attribute. Returns the count.
int wire_training_flags(torch::jit::Module& module);

}  // namespace xcel::train
