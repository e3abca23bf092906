// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Aligned text tables for humans (machine-readable output goes through --json instead).
///   Table t({"layer", "flops"}, {Align::kLeft, Align::kRight});
///   t.add({"conv1", "1.2M"});
///   std::cout << t.str();
#include <cstdint>
#include <string>
#include <vector>

namespace xcel::report {

enum class Align { kLeft, kRight };

class Table {
 public:
  Table(std::vector<std::string> header, std::vector<Align> align);
  void add(std::vector<std::string> row);
  std::string str() const;

 private:
  std::vector<std::string> header_;
  std::vector<Align> align_;
  std::vector<std::vector<std::string>> rows_;
};

/// 29128448 -> "29.13M"; 1814073344 -> "1.81G"; below 1000 printed as is.
std::string human_count(double value);
/// 72560 -> "70.9 KiB"; 1149096 -> "1.10 MiB"; below 1024 "N bytes".
std::string human_bytes(double bytes);
/// 0.92661 -> "92.66%"
std::string percent(double fraction, int decimals = 2);
/// A uniform quantization policy's width: "binary" (1), "float" (32), else "N bits".
std::string bits_label(int bits);
/// {1, 3, 224, 224} -> "1x3x224x224"
std::string shape_str(const std::vector<std::int64_t>& shape, const char* sep = "x");

/// Escapes &, <, >, " and ' for HTML/XML text and attributes.
std::string escape_markup(const std::string& s);

}  // namespace xcel::report
