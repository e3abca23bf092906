// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Fine-tuning flags and rows shared by `xcel finetune` and `xcel prune --finetune-epochs`.
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "xcel/report/table.h"
#include "xcel/train/finetune.h"

namespace xcel::cli {

/// Training options (`prefix` "finetune" gives --finetune-lr etc.).
void add_finetune_options(CLI::App* cmd, train::FinetuneOptions& o, const std::string& prefix);
/// Rows of a fine-tuning summary (accuracy before/after, seconds per epoch, peak memory) added to `t`.
void finetune_summary_rows(const nlohmann::json& s, report::Table& t);

}  // namespace xcel::cli
