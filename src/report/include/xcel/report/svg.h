// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Small, dependency-free SVG charts for the HTML reports: x/y charts (lines, dots, step lines, shaded
/// bands, reference lines) and grouped bar charts. Every mark carries a <title> tooltip; every chart is an
/// <svg class="chart" data-chart=ID> so a browser test can find it.
#include <string>
#include <vector>

namespace xcel::report::svg {

/// Escapes &, <, >, " and ' for HTML text and attributes.
std::string escape(const std::string& s);

enum class Mark { kLine, kDots, kStep };

struct Series {
  std::string name, color;
  std::vector<double> x, y;
  Mark mark = Mark::kLine;
  std::vector<std::string> tips;  // optional tooltip per point (defaults to "name: x, y")
  double radius = 2.5;            // dots
  bool dashed = false;
};

struct Band {  // a shaded x range, e.g. the warm-up episodes
  double x0 = 0, x1 = 0;
  std::string label;
};

struct RefLine {  // a vertical (vertical = true) or horizontal reference line
  double at = 0;
  std::string label;
  bool vertical = true;
};

struct Axis {
  std::string label;
  bool percent = false;           // tick labels as percentages of 1
  double min = 0, max = 0;        // both 0: fitted to the data
  bool zero = false;              // include zero when fitting
};

struct XYChart {
  std::string id, title;
  Axis x, y;
  std::vector<Series> series;
  std::vector<Band> bands;
  std::vector<RefLine> refs;
  int width = 740, height = 320;
};
std::string render(const XYChart& c);

struct BarChart {
  std::string id, title, value_label;
  std::vector<std::string> categories;   // one group of bars per category
  std::vector<std::string> names, colors;  // one per series
  std::vector<std::vector<double>> values; // [series][category]
  bool percent = false;
  std::vector<RefLine> refs;              // horizontal lines across the groups (vertical = false)
  int width = 740, height = 320;
};
std::string render(const BarChart& c);

/// "Nice" tick positions covering [lo, hi] (about `count` of them).
std::vector<double> ticks(double lo, double hi, int count = 6);

}  // namespace xcel::report::svg
