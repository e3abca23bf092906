// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Pruning policies: a preserve ratio (or exact channel count) per group, and how ratios become channel
/// counts. No LibTorch here.
///   {"groups": {"features.0.0": 0.5, "features.1.0": {"kept": 24}}}
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xcel/prune/dependency.h"

namespace xcel::prune {

enum class Importance { kL1, kL2 };
Importance parse_importance(const std::string& s);
const char* importance_name(Importance i);

struct GroupChoice {
  double ratio = 1.0;         // requested preserve ratio in (0, 1]
  std::int64_t kept = -1;     // exact channel count, when given (overrides ratio)
};

struct Policy {
  std::map<std::string, GroupChoice> groups;  // by group name; groups not named keep every channel
  std::vector<std::string> removed_blocks;    // blocks removed whole before the groups apply (a depth search's)
};

/// Reads a policy file; accepts {"groups": {...}, "removed_blocks": [...]} or a flat {"name": ratio} object.
/// Errors name the file.
Policy read_policy(const std::string& path);
/// The same ratio for every prunable group.
Policy uniform_policy(const DependencyGraph& dg, double ratio);

/// Channels kept for `channels` at `ratio`: nearest multiple of `round_to`, at least min(round_to, channels)
/// and at least 1, at most `channels`.
std::int64_t keep_count(std::int64_t channels, double ratio, std::int64_t round_to);

/// Channel counts per group (index as dg.groups) for `policy`; checks names and ratios (Error kUsage/kInput).
std::vector<std::int64_t> resolve_widths(const DependencyGraph& dg, const Policy& policy, std::int64_t round_to);

/// The policy as applied: per group channels, kept, ratio requested and applied.
nlohmann::json applied_policy_json(const DependencyGraph& dg, const Policy& requested,
                                   const std::vector<std::int64_t>& kept, std::int64_t round_to,
                                   Importance importance);

}  // namespace xcel::prune
