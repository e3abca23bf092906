// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// xcel finetune: recover the accuracy of a pruned model by training it (optionally distilling the original).
#include <iostream>

#include <spdlog/fmt/fmt.h>

#include "xcel/cli/common.h"
#include "xcel/cli/config_file.h"
#include "xcel/cli/finetune_options.h"
#include "xcel/jobs/finetune_job.h"
#include "xcel/report/table.h"

namespace xcel::cli {

void add_finetune_options(CLI::App* cmd, train::FinetuneOptions& o, const std::string& prefix) {
  const std::string p = prefix.empty() ? "--" : "--" + prefix + "-";
  const char* group = prefix.empty() ? "Training" : "Fine-tuning of the result";
  cmd->add_option(p + "lr", o.lr, "Peak learning rate (SGD, Nesterov momentum)")->capture_default_str()->group(group);
  cmd->add_option(p + "batch", o.batch, "Training images per micro-batch")
      ->capture_default_str()
      ->check(positive())
      ->group(group);
  cmd->add_option(p + "augment", o.augment,
                  "auto | none | crop | flip | crop-flip (auto: crop + flip for Fashion-MNIST and CIFAR-10, crop "
                  "only for other IDX data)")
      ->capture_default_str()
      ->group(group);
  cmd->add_option(p + "kd-alpha", o.kd_alpha, "Weight of the distillation loss (with a teacher)")
      ->capture_default_str()
      ->group(group);
  cmd->add_option(p + "kd-temperature", o.kd_temperature, "Softmax temperature of distillation")
      ->capture_default_str()
      ->group(group);
  cmd->add_option(p + "train-limit", o.train_limit, "Train on the first N training images only (0 = all)")
      ->capture_default_str()
      ->check(non_negative())
      ->group(group);
}

void finetune_summary_rows(const nlohmann::json& s, report::Table& t) {
  auto pct = [&](const char* k) { return report::percent(s.at(k).get<double>()); };
  t.add({"val top-1", pct("val_top1_before") + " -> " + pct("val_top1") + " (best epoch " +
                          std::to_string(s.at("best_epoch").get<int>()) + " of " +
                          std::to_string(s.at("epochs").get<int>()) + ")"});
  if (s.contains("test_top1")) t.add({"test top-1", pct("test_top1_before") + " -> " + pct("test_top1")});
  t.add({"seconds per epoch", fmt::format("{:.1f}", s.at("seconds_per_epoch").get<double>())});
  t.add({"peak memory", fmt::format("{:.0f} MB (resident)", s.at("peak_rss_mb").get<double>())});
  if (s.contains("seconds_per_step"))
    t.add({"time per step", fmt::format("{:.3f} s ({} optimizer steps)", s.at("seconds_per_step").get<double>(),
                                        s.at("optimizer_steps").get<std::int64_t>())});
  if (s.contains("energy")) {
    const auto& e = s.at("energy");
    t.add({"energy", e.at("status") == "measured"
                         ? fmt::format("{:.1f} J, {:.2f} W mean, {:.3f} J per step (battery, measured{})",
                                       e.at("joules").get<double>(), e.at("mean_watts").get<double>(),
                                       s.value("joules_per_step", 0.0), e.at("charging").get<bool>() ? ", while charging" : "")
                         : "unavailable: " + e.at("why").get<std::string>()});
  }
  if (s.contains("device")) {
    const auto& d = s.at("device");
    t.add({"trained on", fmt::format("{} ({}, {}) in {:.0f} s; pushed {:.1f} MB in {:.0f} s", d.at("serial").get<std::string>(),
                                     d.at("model").get<std::string>(), d.at("abi").get<std::string>(),
                                     d.at("train_wall_seconds").get<double>(), d.at("pushed_bytes").get<double>() / 1e6,
                                     d.at("push_seconds").get<double>())});
    t.add({"val top-1 on the host", report::percent(s.at("host_val_top1").get<double>())});
  }
  if (s.contains("memory_plan")) {
    const auto& p = s.at("memory_plan");
    t.add({"memory plan", fmt::format("first {} layers frozen, micro-batch {} x {}: predicted {:.0f} MB, measured {:.0f} "
                                      "MB (budget {:.0f} MB)", p.at("freeze_first").get<int>(), p.at("batch").get<int>(),
                                      p.at("accumulate").get<int>(), p.at("predicted_mb").get<double>(),
                                      p.at("measured_mb").get<double>(), p.at("budget_mb").get<double>())});
  }
}

void register_finetune(CLI::App& app) {
  auto o = std::make_shared<train::FinetuneOptions>();
  auto out = std::make_shared<OutputOptions>();
  auto* cmd = app.add_subcommand(
      "finetune", "Train a (pruned) model to recover accuracy: SGD, warm-up + cosine, augmentation, distillation; "
                  "keeps the best epoch by validation accuracy");
  cmd->add_option("--model,-m", o->model, "TorchScript model to train (.pt); never modified (not needed with --resume)");
  cmd->add_option("--out,-o", o->out_dir, "Run directory: finetuned.pt, history.jsonl, summary.json, checkpoint/")
      ->required();
  add_data_option(cmd, o->data, "fashion-mnist | idx:DIR | cifar10:DIR")->capture_default_str();
  cmd->add_option("--epochs,-e", o->epochs, "Training epochs")->capture_default_str()->check(positive());
  add_finetune_options(cmd, *o, "");
  cmd->add_option("--momentum", o->momentum, "SGD momentum")->capture_default_str()->group("Training");
  cmd->add_option("--weight-decay", o->weight_decay, "L2 penalty on conv/linear weights")
      ->capture_default_str()
      ->group("Training");
  cmd->add_option("--warmup-epochs", o->warmup_epochs, "Linear warm-up of the learning rate, then cosine decay to 0")
      ->capture_default_str()
      ->group("Training");
  cmd->add_option("--accumulate", o->accumulate, "Micro-batches per optimizer step (gradient accumulation)")
      ->capture_default_str()
      ->check(positive())
      ->group("Training");
  cmd->add_option("--teacher", o->teacher, "Distil from this model (usually the unpruned original)")->group("Training");
  cmd->add_option("--freeze-first", o->freeze_first, "Do not train the first K conv/linear layers")
      ->capture_default_str()
      ->check(non_negative())
      ->group("Training");
  cmd->add_option("--train-last", o->train_last, "Train only the last K conv/linear layers (batch norms still train)")
      ->check(non_negative())
      ->group("Training");
  cmd->add_option("--max-memory-mb", o->max_memory_mb,
                  "Fit training into this much resident memory (MB, the whole process): the planner measures two "
                  "training steps and picks the frozen layers, micro-batch and gradient accumulation that train the "
                  "most within it (exit 5 when nothing fits)")
      ->check(positive())
      ->group("Training");
  cmd->add_flag("--from-scratch", o->from_scratch,
                "Re-initialise every layer first (PyTorch's default initialisation) and train with the same schedule")
      ->group("Training");
  cmd->add_option("--quantized", o->quantized,
                  "Quantization-aware training with this policy (xcel quantize's policy.json): each forward pass runs "
                  "on the weight grid (float shadows are trained, straight-through), activations through their "
                  "calibrated fake-quantize ops; finetuned.pt holds grid weights")
      ->check(CLI::ExistingFile)
      ->group("Training");
  add_split_options(cmd, o->split);
  add_target_option(cmd, o->target, "Where to train: host (this process) or a phone target, which trains on a "
                                     "connected device over adb (docs/DEVICE.md)")
      ->group("Device");
  add_serial_option(cmd, o->serial)
      ->description("Phones: the device to train on (default: the first connected device that matches --target)")
      ->group("Device");
  cmd->add_option("--device-binary", o->device_binary,
                  "An xcel build for the phone's ABI, pushed to it (once per content) to run the training there; "
                  "default: the one at the target's training.binary on the device")
      ->group("Device");
  cmd->add_flag("--no-test{false}", o->test, "Skip the test-split evaluation before and after");
  cmd->add_flag("--resume", o->resume, "Continue the run saved in --out (Ctrl-C saves a checkpoint)");
  add_threads_option(cmd, o->threads);
  add_output_options(cmd, *out);
  cmd->callback([o, out, cmd] {
    o->command_line = command_line();
    o->cli = given_options(cmd);
    auto s = jobs::run_finetune(*o);
    if (out->json) {
      print_json(s);
      return;
    }
    using report::Align;
    report::Table t({"metric", "value"}, {Align::kLeft, Align::kLeft});
    finetune_summary_rows(s, t);
    t.add({"out", s.at("out").get<std::string>() + "/{finetuned.pt,history.jsonl,summary.json}"});
    std::cout << t.str();
  });
}

}  // namespace xcel::cli
