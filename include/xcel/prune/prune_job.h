// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// `xcel prune` with a given policy (--policy FILE or --uniform R): prune, optionally repair (BN
/// recalibration, least-squares reconstruction), measure, and write the run directory. No LibTorch here.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "xcel/data/dataset.h"

namespace xcel::prune {

struct PruneOptions {
  std::string model;
  std::string out_dir;
  std::string policy;        // JSON file; empty = use `uniform`
  double uniform = 0.0;      // preserve ratio for every group (0 = unset)
  std::string input = "1,1,28,28";
  std::string importance = "l1";
  std::int64_t round_to = 1;
  std::string granularity = "channel";  // channel | weight
  int threads = 1;
  // Data for evaluation and repairs (empty data = no evaluation, no repairs).
  std::string data;
  data::SplitOptions split;
  std::int64_t calib_images = 1024;  // from the training split (never validation or test)
  int bn_recal = 0;                  // batches of `batch` calibration images; 0 = off
  bool reconstruct = false;
  int batch = 256;
};

/// Runs the job and returns the summary that is also written to OUT_DIR/summary.json.
nlohmann::json run_prune(const PruneOptions& opts);

}  // namespace xcel::prune
