// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// `xcel quantize`: a model quantized by a uniform precision (--bits), a per-layer policy (--policy) or a
/// mixed-precision search under a weight-size or BOPs budget (--size / --bops: DDPG, evolution, random or uniform
/// agents over the bits of each layer, HAQ-style), in its own run directory (best.pt, policy.json, summary.json,
/// episodes.jsonl, checkpoint/); optionally followed by quantization-aware fine-tuning. No LibTorch here.
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "xcel/data/dataset.h"
#include "xcel/quant/precision.h"
#include "xcel/rl/ddpg.h"
#include "xcel/train/finetune.h"

namespace xcel::jobs {

struct QuantizeOptions {
  std::string model, out_dir, data = "fashion-mnist";
  data::SplitOptions split;
  int threads = 1;
  std::int64_t calib_images = 1024;  // activation ranges, from the training split
  bool force = false;
  bool data_given = true;
  std::string bits;      // a uniform precision ("4/8", "ternary", ...)
  std::string policy;    // a per-layer policy file
  double size = 0;       // search: weight bits over float 32
  double bops = 0;       // search: bit operations over float (activations searched too)
  double latency = 0;    // search: latency on --target over the float model's in deploy form (int8 or float per layer)
  int latency_rounds = 5;  // whole-model measurements in turns, per model, for the latency table and the check
  int act_bits = 8;      // activations of a --size search (32 = float)
  int min_bits = 2, max_bits = 8;
  quant::QuantOptions quant;
  std::string agent = "ddpg";
  int episodes = 300;
  bool episodes_given = false;
  int checkpoint_every = 10;
  double early_stop = 3.0;
  int batch = 250;
  std::string target = "host";   // where the int8 model runs: its engine follows (phones qnnpack, hosts onednn)
  std::string int8_engine;       // the engine of OUT/int8.pt (every layer 8/8): qnnpack, onednn; empty: the target's
  bool resume = false;
  bool progress = true;
  std::string agent_config;
  std::optional<int> warmup;
  rl::DdpgConfig ddpg;
  std::string command_line;
  nlohmann::json cli;
  bool search_mode() const { return size > 0 || bops > 0 || latency > 0; }
  std::string budget_kind() const { return size > 0 ? "size" : bops > 0 ? "bops" : "latency"; }
  double budget_ratio() const { return size > 0 ? size : bops > 0 ? bops : latency; }
};
void to_json(nlohmann::json& j, const QuantizeOptions& o);
void from_json(const nlohmann::json& j, QuantizeOptions& o);

/// Quantizes (or searches, or resumes a search), then fine-tunes the result with quantization-aware training into
/// OUT/finetune when `finetune.epochs` > 0 (the run's data, split and threads); returns the summary also written to
/// OUT/summary.json. Ctrl-C saves a checkpoint and throws Error(kInterrupted).
nlohmann::json run_quantize(QuantizeOptions opts, train::FinetuneOptions finetune);

}  // namespace xcel::jobs
