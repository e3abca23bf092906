// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/prune/policy.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include "xcel/core/error.h"
#include "xcel/core/fs.h"

namespace xcel::prune {

Importance parse_importance(const std::string& s) {
  if (s == "l1") return Importance::kL1;
  if (s == "l2") return Importance::kL2;
  XCEL_FAIL(ExitCode::kUsage, "unknown importance '{}'; use l1 or l2", s);
}

const char* importance_name(Importance i) { return i == Importance::kL1 ? "l1" : "l2"; }

Policy read_policy(const std::string& path) {
  XCEL_CHECK(fs::exists(path), ExitCode::kInput, "policy file '{}' not found", path);
  std::ifstream in(path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    XCEL_FAIL(ExitCode::kInput, "policy file '{}' is not valid JSON ({})", path, e.what());
  }
  const nlohmann::json& groups = j.contains("groups") ? j.at("groups") : j;
  XCEL_CHECK(groups.is_object(), ExitCode::kInput, "policy file '{}' must map group names to ratios", path);
  Policy p;
  if (j.contains("removed_blocks")) {
    const auto& r = j.at("removed_blocks");
    XCEL_CHECK(r.is_array() && std::all_of(r.begin(), r.end(), [](const nlohmann::json& b) { return b.is_string(); }),
               ExitCode::kInput, "policy file '{}': removed_blocks must be a list of block names", path);
    p.removed_blocks = r.get<std::vector<std::string>>();
  }
  for (const auto& [name, v] : groups.items()) {
    if (&groups == &j && name == "removed_blocks") continue;
    GroupChoice c;
    if (v.is_number()) {
      c.ratio = v.get<double>();
    } else if (v.is_object() && v.contains("kept") && v.at("kept").is_number_integer()) {
      c.kept = v.at("kept").get<std::int64_t>();
    } else if (v.is_object() && v.contains("ratio") && v.at("ratio").is_number()) {
      c.ratio = v.at("ratio").get<double>();
    } else {
      XCEL_FAIL(ExitCode::kInput, "policy file '{}': group '{}' needs a ratio or {{\"kept\": N}}", path, name);
    }
    p.groups[name] = c;
  }
  return p;
}

Policy uniform_policy(const DependencyGraph& dg, double ratio) {
  Policy p;
  for (int g : dg.prunable_groups()) p.groups[dg.groups[static_cast<size_t>(g)].name].ratio = ratio;
  return p;
}

std::int64_t keep_count(std::int64_t channels, double ratio, std::int64_t round_to) {
  const std::int64_t r = std::max<std::int64_t>(1, round_to);
  std::int64_t n = r * std::llround(ratio * static_cast<double>(channels) / static_cast<double>(r));
  n = std::max(n, std::min(r, channels));
  return std::clamp<std::int64_t>(n, 1, channels);
}

std::vector<std::int64_t> resolve_widths(const DependencyGraph& dg, const Policy& policy, std::int64_t round_to) {
  XCEL_CHECK(round_to >= 1, ExitCode::kUsage, "--round-to must be at least 1 (got {})", round_to);
  std::vector<std::int64_t> kept = dg.full_widths();
  for (const auto& [name, choice] : policy.groups) {
    int g = dg.find_group(name);
    if (g < 0) {
      std::string known;
      for (int i : dg.prunable_groups()) known += (known.empty() ? "" : ", ") + dg.groups[static_cast<size_t>(i)].name;
      XCEL_FAIL(ExitCode::kInput, "policy names unknown group '{}'; prunable groups: {}", name, known);
    }
    const Group& grp = dg.groups[static_cast<size_t>(g)];
    if (!grp.prunable) {
      XCEL_CHECK(choice.kept < 0 ? choice.ratio == 1.0 : choice.kept == grp.channels, ExitCode::kInput,
                 "policy prunes group '{}', which cannot be pruned ({})", name, grp.reason);
      continue;
    }
    if (choice.kept >= 0) {
      XCEL_CHECK(choice.kept >= 1 && choice.kept <= grp.channels, ExitCode::kInput,
                 "policy keeps {} channels of group '{}', which has {}; use 1 to {}", choice.kept, name,
                 grp.channels, grp.channels);
      XCEL_CHECK(choice.kept % grp.unit == 0, ExitCode::kInput,
                 "policy keeps {} channels of group '{}', whose channels go in whole convolution groups of {}; use a "
                 "multiple of {}", choice.kept, name, grp.unit, grp.unit);
      kept[static_cast<size_t>(g)] = choice.kept;
    } else {
      XCEL_CHECK(choice.ratio > 0.0 && choice.ratio <= 1.0, ExitCode::kInput,
                 "preserve ratio {} for group '{}' is outside (0, 1]", choice.ratio, name);
      kept[static_cast<size_t>(g)] = keep_count(grp.channels, choice.ratio, dg.step(g, round_to));
    }
  }
  return kept;
}

nlohmann::json applied_policy_json(const DependencyGraph& dg, const Policy& requested,
                                   const std::vector<std::int64_t>& kept, std::int64_t round_to,
                                   Importance importance) {
  nlohmann::json groups = nlohmann::json::object();
  for (int g : dg.prunable_groups()) {
    const Group& grp = dg.groups[static_cast<size_t>(g)];
    auto it = requested.groups.find(grp.name);
    double asked = it == requested.groups.end() ? 1.0 : it->second.ratio;
    groups[grp.name] = {{"channels", grp.channels},
                        {"kept", kept[static_cast<size_t>(g)]},
                        {"ratio", static_cast<double>(kept[static_cast<size_t>(g)]) / grp.channels},
                        {"requested_ratio", asked}};
  }
  return {{"round_to", round_to}, {"importance", importance_name(importance)}, {"groups", groups}};
}

}  // namespace xcel::prune
