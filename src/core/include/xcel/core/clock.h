// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Wall-clock helpers for progress lines.
#include <chrono>
#include <string>

#include <spdlog/fmt/fmt.h>

namespace xcel {

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// "4m05s" or "1h12m".
inline std::string eta_text(double seconds) {
  const int s = static_cast<int>(seconds);
  return s >= 3600 ? fmt::format("{}h{:02}m", s / 3600, s / 60 % 60) : fmt::format("{}m{:02}s", s / 60, s % 60);
}

}  // namespace xcel
