// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include <gtest/gtest.h>

#include "xcel/report/svg.h"
#include "xcel/report/table.h"

namespace xcel::report {
namespace {

TEST(Table, AlignsColumns) {
  Table t({"name", "n"}, {Align::kLeft, Align::kRight});
  t.add({"a", "1"});
  t.add({"longer", "1000"});
  EXPECT_EQ(t.str(), "name       n\n------  ----\na          1\nlonger  1000\n");
}

TEST(Format, HumanCounts) {
  EXPECT_EQ(human_count(29128448), "29.13M");
  EXPECT_EQ(human_count(1814073344), "1.81G");
  EXPECT_EQ(human_count(870), "870");
  EXPECT_EQ(percent(0.92661), "92.66%");
  EXPECT_EQ(shape_str({1, 3, 224, 224}), "1x3x224x224");
}

TEST(Svg, NiceTicksCoverTheRange) {
  const auto u = svg::ticks(0, 1, 5);
  const std::vector<double> want{0, 0.2, 0.4, 0.6, 0.8, 1.0};
  ASSERT_EQ(u.size(), want.size());
  for (size_t i = 0; i < u.size(); ++i) EXPECT_NEAR(u[i], want[i], 1e-12);
  const auto t = svg::ticks(0.83, 0.94);
  ASSERT_GE(t.size(), 3u);
  EXPECT_GE(t.front(), 0.83);
  EXPECT_LE(t.back(), 0.94 + 1e-12);
}

TEST(Svg, ChartsCarryTheirMarksAndEscapedText) {
  svg::XYChart c{"acc", "Top-1 <val>", {"episode"}, {"top-1", true}};
  c.series.push_back({"episode", "#000", {0, 1, 2}, {0.5, 0.7, 0.6}, svg::Mark::kDots});
  c.series.push_back({"best", "#00f", {0, 1, 2}, {0.5, 0.7, 0.7}, svg::Mark::kStep});
  c.bands.push_back({-0.5, 1.5, "warm-up"});
  const std::string s = svg::render(c);
  EXPECT_NE(s.find("data-chart=\"acc\""), std::string::npos);
  EXPECT_NE(s.find("Top-1 &lt;val&gt;"), std::string::npos);
  size_t circles = 0;
  for (size_t p = s.find("<circle"); p != std::string::npos; p = s.find("<circle", p + 1)) ++circles;
  EXPECT_EQ(circles, 3u);
  EXPECT_NE(s.find("class=\"band\""), std::string::npos);
  EXPECT_NE(s.find("70.00%"), std::string::npos);  // tooltip of a point in percent
  svg::BarChart b{"policy", "Ratios", "kept"};
  b.categories = {"a", "b"};
  b.names = {"best"};
  b.colors = {"#00f"};
  b.values = {{0.5, 1.0}};
  b.percent = true;
  const std::string bs = svg::render(b);
  size_t bars = 0;
  for (size_t p = bs.find("class=\"bar\""); p != std::string::npos; p = bs.find("class=\"bar\"", p + 1)) ++bars;
  EXPECT_EQ(bars, 2u);
}

}  // namespace
}  // namespace xcel::report
