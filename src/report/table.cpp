// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/report/table.h"

#include <algorithm>
#include <cmath>

#include <spdlog/fmt/fmt.h>

#include "xcel/core/error.h"

namespace xcel::report {

Table::Table(std::vector<std::string> header, std::vector<Align> align)
    : header_(std::move(header)), align_(std::move(align)) {
  XCEL_ASSERT(header_.size() == align_.size(), "header and alignment sizes differ");
}

void Table::add(std::vector<std::string> row) {
  XCEL_ASSERT(row.size() == header_.size(), "row has {} cells, header {}", row.size(), header_.size());
  rows_.push_back(std::move(row));
}

std::string Table::str() const {
  std::vector<size_t> width(header_.size());
  for (size_t c = 0; c < header_.size(); ++c) {
    width[c] = header_[c].size();
    for (const auto& r : rows_) width[c] = std::max(width[c], r[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t c = 0; c < cells.size(); ++c) {
      if (c > 0) out += "  ";
      std::string pad(width[c] - cells[c].size(), ' ');
      bool last = c + 1 == cells.size();
      out += align_[c] == Align::kRight ? pad + cells[c] : (last ? cells[c] : cells[c] + pad);
    }
    return out + "\n";
  };
  std::string out = line(header_);
  std::vector<std::string> rule;
  for (size_t w : width) rule.emplace_back(w, '-');
  out += line(rule);
  for (const auto& r : rows_) out += line(r);
  return out;
}

std::string human_count(double value) {
  const double a = std::fabs(value);
  if (a >= 1e9) return fmt::format("{:.2f}G", value / 1e9);
  if (a >= 1e6) return fmt::format("{:.2f}M", value / 1e6);
  if (a >= 1e3) return fmt::format("{:.2f}K", value / 1e3);
  return fmt::format("{:g}", value);
}

std::string human_bytes(double bytes) {
  if (bytes >= 1024.0 * 1024.0) return fmt::format("{:.2f} MiB", bytes / (1024.0 * 1024.0));
  if (bytes >= 1024.0) return fmt::format("{:.1f} KiB", bytes / 1024.0);
  return fmt::format("{:g} bytes", bytes);
}

std::string percent(double fraction, int decimals) { return fmt::format("{:.{}f}%", 100.0 * fraction, decimals); }

std::string bits_label(int bits) {
  return bits == 1 ? std::string("binary") : bits == 32 ? std::string("float") : fmt::format("{} bits", bits);
}

std::string shape_str(const std::vector<std::int64_t>& shape, const char* sep) {
  return fmt::format("{}", fmt::join(shape, sep));
}

std::string escape_markup(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace xcel::report
