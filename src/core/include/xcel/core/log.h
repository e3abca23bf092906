// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Logging goes to stderr through spdlog; stdout is kept for results.
#include <string>

#include <spdlog/spdlog.h>

namespace xcel::log {

/// level: trace, debug, info, warn, error, off. Throws Error(kUsage) on an unknown name.
void init(const std::string& level);

}  // namespace xcel::log
