// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "xcel/report/run_report.h"
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
  EXPECT_EQ(human_bytes(72560), "70.9 KiB");
  EXPECT_EQ(human_bytes(1149096), "1.10 MiB");
  EXPECT_EQ(human_bytes(900), "900 bytes");
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

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

void write(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// A quantization of a pruned model (xcel prune, then xcel quantize --model PRUNE_RUN/best.pt) is reported with
// both steps; its search charts read weight size, not FLOPs, from the episodes.
TEST(RunReport, QuantizationAfterPruningShowsBothSteps) {
  const auto root = std::filesystem::temp_directory_path() / ("xcel_report_test_" + std::to_string(::getpid()));
  std::filesystem::remove_all(root);
  const std::string prune = (root / "prune").string(), quant = (root / "quant").string();
  using nlohmann::json;
  write(root / "prune/summary.json",
        json{{"model", "models/vgg.pt"}, {"flops_ratio", 0.438}, {"flops", 1e6}, {"flops_before", 2.3e6},
             {"params", 1e5}, {"params_before", 2.5e5}, {"val_top1_before", 0.94}, {"val_top1", 0.92},
             {"test_top1_before", 0.93}, {"test_top1", 0.915}}
            .dump());
  json layers = json::array({{{"name", "conv0"}, {"bits", "8/8"}, {"params", 288}, {"flops", 1000}, {"fixed", true}},
                             {{"name", "conv1"}, {"bits", "binary/8"}, {"params", 9216}, {"flops", 9000}, {"fixed", false}},
                             {{"name", "fc"}, {"bits", "8/8"}, {"params", 1290}, {"flops", 1290}, {"fixed", true}}});
  write(root / "quant/summary.json",
        json{{"kind", "quantization"}, {"model", prune + "/best.pt"}, {"budget", "size"}, {"budget_ratio", 0.0625},
             {"size_ratio", 0.061}, {"bops_ratio", 0.03}, {"packed_bytes", 72560}, {"float_bytes", 1149096},
             {"val_top1_before", 0.92}, {"val_top1", 0.85}, {"test_top1_before", 0.915}, {"test_top1", 0.84},
             {"uniform_bits", 1}, {"uniform_val_top1", 0.09}, {"uniform_test_top1", 0.1}, {"val_lead_over_uniform", 76},
             {"test_lead_over_uniform", 74}, {"layers", layers}, {"agent", "ddpg"}, {"episodes", 2}}
            .dump());
  write(root / "quant/policy.json",
        json{{"kind", "quantization"}, {"layers", {{{"name", "conv0"}, {"bits", "8/8"}},
                                                    {{"name", "conv1"}, {"bits", "binary/8"}},
                                                    {{"name", "fc"}, {"bits", "8/8"}}}}}
            .dump());
  write(root / "quant/episodes.jsonl",
        "{\"episode\":0,\"val_top1\":0.10,\"reward\":0.10,\"size_ratio\":0.05,\"warmup\":true}\n"
        "{\"episode\":1,\"val_top1\":0.85,\"reward\":0.85,\"size_ratio\":0.061}\n");
  const std::string html = render_run_report(quant);
  EXPECT_NE(html.find("<h2>Steps</h2>"), std::string::npos);
  EXPECT_NE(html.find("<td>" + prune + "</td>"), std::string::npos) << "the prune run is step 1";
  EXPECT_NE(html.find("43.8%"), std::string::npos) << "the prune step's FLOPs";
  EXPECT_NE(html.find("6.10% (bits)"), std::string::npos) << "the quantize step's weight size";
  EXPECT_NE(html.find("weight size (fraction of float 32)"), std::string::npos);
  EXPECT_NE(html.find("binary: val 9.00%"), std::string::npos);
  EXPECT_EQ(count(html, "<svg"), 4u);  // accuracy, reward, accuracy against size, bits per layer
  EXPECT_EQ(count(html, "class=\"bar\""), 6u);  // weights and activations of three layers
  // The prune run on its own has no earlier step.
  EXPECT_EQ(render_run_report(prune).find("<h2>Steps</h2>"), std::string::npos);
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace xcel::report
