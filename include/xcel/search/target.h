// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Target device profiles: configs/targets/NAME.json. For now a profile supplies channel rounding and the
/// thread count; the latency oracle will read its device fields.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace xcel::search {

struct TargetProfile {
  std::string name, description, path;
  std::int64_t round_to = 1;
  int threads = 1;
  nlohmann::json raw;  // the whole file, for fields later parts read
};

/// Directory of configs/ (XCEL_CONFIG_DIR, else the source tree's configs/ compiled in).
std::string config_dir();
/// Loads and checks a profile; an unknown name is an Error(kUsage) that lists the known ones.
TargetProfile load_target(const std::string& name);
std::vector<std::string> list_targets();

}  // namespace xcel::search
