// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/search/target.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "xcel/core/error.h"
#include "xcel/core/fs.h"

namespace xcel::search {

std::string config_dir() {
  if (const char* env = std::getenv("XCEL_CONFIG_DIR")) return env;
  return XCEL_DEFAULT_CONFIG_DIR;
}

std::vector<std::string> list_targets() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(config_dir() + "/targets", ec))
    if (e.path().extension() == ".json") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

TargetProfile load_target(const std::string& name) {
  TargetProfile t;
  t.path = config_dir() + "/targets/" + name + ".json";
  if (!fs::exists(t.path)) {
    std::string known;
    for (const auto& n : list_targets()) known += (known.empty() ? "" : ", ") + n;
    XCEL_FAIL(ExitCode::kUsage, "unknown target '{}'; known targets: {} (profiles in {}/targets)", name,
              known.empty() ? "none" : known, config_dir());
  }
  std::ifstream in(t.path);
  try {
    t.raw = nlohmann::json::parse(in);
    t.name = t.raw.at("name").get<std::string>();
    t.description = t.raw.value("description", "");
    t.round_to = t.raw.value("round_to", std::int64_t{1});
    t.threads = t.raw.value("threads", 1);
  } catch (const std::exception& e) {
    XCEL_FAIL(ExitCode::kInput, "target profile '{}' is invalid ({}); fix the file", t.path, e.what());
  }
  XCEL_CHECK(t.name == name, ExitCode::kInput, "target profile '{}' names itself '{}'", t.path, t.name);
  XCEL_CHECK(t.round_to >= 1 && t.threads >= 1, ExitCode::kInput,
             "target profile '{}': round_to and threads must be at least 1", t.path);
  return t;
}

}  // namespace xcel::search
