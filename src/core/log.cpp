// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include "xcel/core/error.h"

namespace xcel::log {

void init(const std::string& level) {
  auto lvl = spdlog::level::from_str(level);
  XCEL_CHECK(lvl != spdlog::level::off || level == "off", ExitCode::kUsage,
             "unknown log level '{}'; use trace, debug, info, warn, error or off", level);
  auto logger = spdlog::stderr_color_mt("xcel");
  logger->set_pattern("%^[%l]%$ %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(lvl);
}

}  // namespace xcel::log
