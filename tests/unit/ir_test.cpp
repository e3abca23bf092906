// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "test_env.h"
#include "xcel/core/error.h"
#include "xcel/ir/model.h"
#include "xcel/ir/ops.h"

namespace xcel::ir {
namespace {

nlohmann::json expected() {
  std::ifstream in(test::fixtures() + "/expected.json");
  return nlohmann::json::parse(in);
}

std::string model_path(const std::string& name) { return test::fixtures() + "/" + name + ".pt"; }

// Layer table against PyTorch's own forward hooks (same layers, order, shapes, FLOPs) and parameter count.
void check_against_pytorch(const std::string& name) {
  SCOPED_TRACE(name);
  auto e = expected().at(name);
  ModelSummary s = inspect_file(model_path(name), e.at("input").get<Shape>());
  EXPECT_EQ(s.params, e.at("params").get<std::int64_t>());
  EXPECT_EQ(s.flops, e.at("flops").get<std::int64_t>());
  EXPECT_EQ(s.output_shape, e.at("output_shape").get<Shape>());
  EXPECT_TRUE(s.unknown_ops.empty());
  const auto& rows = e.at("layers");
  ASSERT_EQ(s.layers.size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_STREQ(layer_kind_name(s.layers[i].kind), rows[i].at("kind").get<std::string>().c_str()) << i;
    EXPECT_EQ(s.layers[i].flops, rows[i].at("flops").get<std::int64_t>()) << s.layers[i].name;
    EXPECT_EQ(s.layers[i].output_shape, rows[i].at("out_shape").get<Shape>()) << s.layers[i].name;
  }
}

TEST(Shape, ParsesCommasAndX) {
  EXPECT_EQ(ir::parse_shape("1,3,224,224"), (ir::Shape{1, 3, 224, 224}));
  EXPECT_EQ(ir::parse_shape("1x1x28x28"), (ir::Shape{1, 1, 28, 28}));
  test::expect_error([] { ir::parse_shape("1,a,28"); }, ExitCode::kUsage, "bad shape");
  test::expect_error([] { ir::parse_shape("1,0,28,28"); }, ExitCode::kUsage, "bad shape");
  test::expect_error([] { ir::parse_shape("5"); }, ExitCode::kUsage, "N,C,H,W");
}

TEST(Ops, RegistryEntriesAreUniqueAndConsistent) {
  std::set<std::string> kinds;
  for (const auto& op : all_ops()) {
    EXPECT_TRUE(kinds.insert(op.kind).second) << "twice: " << op.kind;
    EXPECT_EQ(find_op(op.kind), &op);
    if (op.rule == ChannelRule::kConv) {
      EXPECT_TRUE(op.groups_arg && op.layer == LayerKind::kConv) << op.kind;
    }
    if (!op.params.empty()) {
      EXPECT_EQ(op.rule, ChannelRule::kPerChannel) << op.kind;
    }
  }
  EXPECT_EQ(find_op("aten::roll"), nullptr);
  EXPECT_EQ(find_op("aten::batch_norm")->layer, LayerKind::kBatchNorm);
  EXPECT_EQ(find_op("aten::batch_norm")->training_arg, 5u);
  EXPECT_EQ(find_op("aten::instance_norm")->rule, ChannelRule::kPerChannel);
  EXPECT_FALSE(find_op("aten::instance_norm")->layer.has_value());  // not a row of the layer table
  EXPECT_EQ(find_op("aten::prelu")->params.size(), 1u);
  EXPECT_EQ(find_op("aten::hardswish")->rule, ChannelRule::kPassThrough);
}

TEST(Ops, PerChannelOpsAreUnderstoodButNotLayers) {
  // Instance norm and PReLU are known (no "not understood" entry) and leave the layer table to conv/linear.
  auto s = inspect_file(model_path("per_channel"), {1, 1, 28, 28});
  EXPECT_TRUE(s.unknown_ops.empty());
  ASSERT_EQ(s.layers.size(), 3u);
  EXPECT_EQ(s.layers[0].name, "conv1");
  EXPECT_EQ(s.layers[2].kind, LayerKind::kLinear);
}

TEST(Inspect, PlainScripted) { check_against_pytorch("plain"); }
TEST(Inspect, PlainTraced) { check_against_pytorch("plain_traced"); }
TEST(Inspect, Residual) { check_against_pytorch("residual"); }
TEST(Inspect, DepthwiseAndGrouped) { check_against_pytorch("depthwise"); }
TEST(Inspect, Concat) { check_against_pytorch("concat"); }

TEST(Inspect, LayerDetails) {
  ModelSummary s = inspect_file(model_path("depthwise"), {1, 1, 28, 28});
  const Layer& dw = s.layers.at(2);
  EXPECT_EQ(dw.name, "dw.0");
  EXPECT_TRUE(dw.depthwise());
  EXPECT_EQ(dw.groups, 8);
  EXPECT_EQ(dw.stride, (Shape{2, 2}));
  EXPECT_EQ(dw.padding, (Shape{1, 1}));
  EXPECT_EQ(dw.kernel, (Shape{3, 3}));
  EXPECT_EQ(dw.input_shape, (Shape{1, 8, 28, 28}));
  EXPECT_EQ(dw.output_shape, (Shape{1, 8, 14, 14}));
  EXPECT_FALSE(dw.has_bias);
  const Layer& g = s.layers.at(6);
  EXPECT_EQ(g.name, "grouped");
  EXPECT_EQ(g.groups, 4);
  EXPECT_FALSE(g.depthwise());
  EXPECT_TRUE(g.has_bias);
  EXPECT_EQ(g.params, 16 * 4 * 9 + 16);
}

TEST(Inspect, FlopsScaleWithBatch) {
  ModelSummary one = inspect_file(model_path("plain"), {1, 1, 28, 28});
  ModelSummary four = inspect_file(model_path("plain"), {4, 1, 28, 28});
  EXPECT_EQ(four.flops, 4 * one.flops);
  EXPECT_EQ(four.params, one.params);
}

TEST(Inspect, UnknownOpsAreReportedByName) {
  ModelSummary s = inspect_file(model_path("unknown_op"), {1, 1, 28, 28});
  ASSERT_EQ(s.unknown_ops.size(), 1u);
  EXPECT_EQ(s.unknown_ops[0].kind, "aten::roll");
  EXPECT_EQ(s.unknown_ops[0].count, 1);
  EXPECT_EQ(s.layers.size(), 2u);
}

// Published multiply-accumulates of torchvision's models (torchvision docs: GFLOPS column).
struct Published {
  const char* name;
  double gflops;
};

class Torchvision : public ::testing::TestWithParam<Published> {};

TEST_P(Torchvision, ParamsExactAndFlopsWithinOnePercentOfPublished) {
  const auto& p = GetParam();
  check_against_pytorch(p.name);
  ModelSummary s = inspect_file(model_path(p.name), {1, 3, 224, 224});
  EXPECT_NEAR(s.flops / 1e9, p.gflops, 0.01 * p.gflops) << p.name;
}

INSTANTIATE_TEST_SUITE_P(Models, Torchvision,
                         ::testing::Values(Published{"resnet18", 1.81}, Published{"resnet50", 4.09},
                                           Published{"mobilenet_v2", 0.30}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Inspect, BadInputs) {
  test::expect_error([] { inspect_file(model_path("missing"), {1, 1, 28, 28}); }, ExitCode::kInput, "not found");
  test::expect_error([] { inspect_file(test::fixtures() + "/not_torchscript.pt", {1, 1, 28, 28}); },
                     ExitCode::kInput, "cannot load");
  test::expect_error([] { inspect_file(model_path("plain"), {1, 3, 28, 28}); }, ExitCode::kInput,
                     "rejects input shape 1,3,28,28");
}

TEST(Inspect, DoesNotTouchTheCallersModel) {
  auto m = load_model(model_path("plain"));
  m.train();
  auto before = m.attr("bn1").toModule().attr("running_mean").toTensor().clone();
  analyze(m, {8, 1, 28, 28});
  EXPECT_TRUE(m.is_training());
  EXPECT_TRUE(before.equal(m.attr("bn1").toModule().attr("running_mean").toTensor()));
}

TEST(Model, SaveIsAtomicAndLoadable) {
  auto m = load_model(model_path("plain"));
  std::string out = test::fixtures() + "/saved_copy.pt";
  save_model(m, out);
  EXPECT_EQ(inspect_file(out, {1, 1, 28, 28}).params, inspect_file(model_path("plain"), {1, 1, 28, 28}).params);
  test::expect_error([&] { save_model(m, "/nonexistent-dir/m.pt"); }, ExitCode::kInput, "/nonexistent-dir/m.pt");
}

}  // namespace
}  // namespace xcel::ir
