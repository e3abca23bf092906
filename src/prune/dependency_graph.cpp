// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// LibTorch-free queries on a DependencyGraph: FLOPs prediction and lookups.
#include "xcel/prune/dependency.h"

#include <numeric>

#include "xcel/core/error.h"

namespace xcel::prune {

std::int64_t ChannelMap::channels() const {
  std::int64_t n = 0;
  for (const auto& s : segments) n += s.length;
  return n;
}

int DependencyGraph::find_group(const std::string& name) const {
  for (size_t i = 0; i < groups.size(); ++i)
    if (groups[i].name == name) return static_cast<int>(i);
  return -1;
}

std::vector<int> DependencyGraph::prunable_groups() const {
  std::vector<int> out;
  for (size_t i = 0; i < groups.size(); ++i)
    if (groups[i].prunable) out.push_back(static_cast<int>(i));
  return out;
}

std::vector<std::string> DependencyGraph::exclude(const std::vector<std::string>& names) {
  auto under = [](const std::string& module, const std::string& name) {
    return module == name || (module.size() > name.size() && module.compare(0, name.size(), name) == 0 &&
                              module[name.size()] == '.');
  };
  std::vector<std::string> blocked;
  for (const auto& name : names) {
    bool found = false;
    for (auto& g : groups) {
      bool match = under(g.name, name);
      for (const auto& m : g.modules) match = match || under(m, name);
      if (!match) continue;
      found = true;
      if (!g.prunable) continue;
      g.prunable = false;
      g.reason = "excluded by --exclude " + name;
      blocked.push_back(g.name);
    }
    if (!found) {
      std::string known;
      for (int i : prunable_groups()) known += (known.empty() ? "" : ", ") + groups[i].name;
      throw Error(ExitCode::kUsage, fmt::format(
                  "--exclude '{}' names no layer or group of the model; prunable groups: {} (see "
                  "xcel inspect)", name, known.empty() ? "none" : known));
    }
  }
  XCEL_CHECK(!prunable_groups().empty() || blocked.empty(), ExitCode::kUsage,
             "--exclude leaves no group to prune (it blocked all {}); exclude fewer layers", blocked.size());
  return blocked;
}

std::vector<std::int64_t> DependencyGraph::full_widths() const {
  std::vector<std::int64_t> w;
  for (const auto& g : groups) w.push_back(g.channels);
  return w;
}

std::int64_t DependencyGraph::step(int g, std::int64_t round_to) const {
  const Group& grp = groups.at(static_cast<size_t>(g));
  const std::int64_t both = std::lcm(std::max<std::int64_t>(1, round_to), grp.unit);
  return both <= grp.channels ? both : grp.unit;
}

std::int64_t DependencyGraph::kept_channels(const ChannelMap& map, const std::vector<std::int64_t>& kept) const {
  XCEL_ASSERT(kept.size() == groups.size(), "{} widths for {} groups", kept.size(), groups.size());
  std::int64_t n = 0;
  for (const auto& s : map.segments) n += kept[static_cast<size_t>(group_of_space[static_cast<size_t>(s.space)])];
  return n;
}

std::int64_t DependencyGraph::layer_flops(const LayerCost& l, const std::vector<std::int64_t>& kept) const {
  if (l.fixed || l.kind == ir::LayerKind::kBatchNorm) return l.flops;
  const std::int64_t in = kept_channels(l.in, kept);
  if (l.depthwise) return l.positions * in * l.kernel;
  return l.positions * kept_channels(l.out, kept) * in * l.in.factor * l.kernel;
}

std::int64_t DependencyGraph::predict_flops(const std::vector<std::int64_t>& kept) const {
  std::int64_t total = 0;
  for (const auto& l : layers) total += layer_flops(l, kept);
  return total;
}

void to_json(nlohmann::json& j, const Group& g) {
  j = {{"name", g.name}, {"channels", g.channels}, {"prunable", g.prunable}, {"modules", g.modules}};
  if (g.unit > 1) j["unit"] = g.unit;
  if (!g.prunable) j["reason"] = g.reason;
}

}  // namespace xcel::prune
