// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// Quantization: the weight grids (k-bit per channel, ternary, binary), precisions and their costs, and the
// quantized model (fake-quantize ops, weights on their grid, float shadows for training) on fixture models.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <torch/torch.h>

#include <set>

#include "test_env.h"
#include "xcel/data/tensors.h"
#include "xcel/ir/forward_graph.h"
#include "xcel/ir/model.h"
#include "xcel/quant/quantize.h"

namespace xcel::quant {
namespace {

// Distinct values of each output channel of `w`.
std::vector<std::set<float>> channel_values(const at::Tensor& w) {
  const at::Tensor f = w.reshape({w.size(0), -1}).contiguous();
  std::vector<std::set<float>> out(static_cast<size_t>(w.size(0)));
  for (std::int64_t c = 0; c < f.size(0); ++c)
    for (std::int64_t i = 0; i < f.size(1); ++i) out[static_cast<size_t>(c)].insert(f[c][i].item<float>());
  return out;
}

RC_GTEST_PROP(QuantWeight, KBitLeavesAtMost2kValuesPerChannel, ()) {
  const int k = *rc::gen::inRange(kMinBits, kMaxBits + 1);
  const bool symmetric = *rc::gen::arbitrary<bool>();
  const auto out = *rc::gen::inRange<std::int64_t>(1, 9);
  const auto seed = *rc::gen::inRange<std::int64_t>(0, 1 << 20);
  torch::manual_seed(static_cast<std::uint64_t>(seed));
  const at::Tensor w = torch::randn({out, 3, 3, 3}) * (1 + seed % 7);
  const at::Tensor q = quantize_weight(w, {WeightMode::kBits, k, 32}, symmetric);
  RC_ASSERT(q.sizes() == w.sizes());
  for (const auto& v : channel_values(q)) RC_ASSERT(static_cast<double>(v.size()) <= std::pow(2.0, k));
  // Rounding to the nearest level: no weight moves by more than half a step of its channel's range.
  const at::Tensor range = (w.reshape({out, -1}).amax(1) - w.reshape({out, -1}).amin(1)).view({out, 1, 1, 1});
  const double levels = symmetric ? std::pow(2.0, k - 1) - 1 : std::pow(2.0, k) - 1;
  RC_ASSERT(((q - w).abs() <= range / levels + 1e-5).all().item<bool>());
}

TEST(QuantWeight, BinaryIsPlusOrMinusTheMeanMagnitudePerChannel) {
  torch::manual_seed(1);
  const at::Tensor w = torch::randn({6, 4, 3, 3});
  const at::Tensor q = quantize_weight(w, parse_precision("binary"), true);
  const at::Tensor alpha = w.abs().reshape({6, -1}).mean(1);
  const auto values = channel_values(q);
  for (size_t c = 0; c < values.size(); ++c) {
    const float a = alpha[static_cast<std::int64_t>(c)].item<float>();
    EXPECT_EQ(values[c], (std::set<float>{-a, a})) << "channel " << c;
  }
  EXPECT_TRUE(torch::equal(q.sign(), torch::where(w >= 0, 1.0, -1.0).to(q.dtype())));
}

TEST(QuantWeight, TernaryHasZeroAndOneMagnitudePerChannel) {
  torch::manual_seed(2);
  const at::Tensor w = torch::randn({5, 8, 3, 3});
  const at::Tensor q = quantize_weight(w, parse_precision("ternary"), true);
  const auto values = channel_values(q);
  for (size_t c = 0; c < values.size(); ++c) {
    EXPECT_LE(values[c].size(), 3u);
    EXPECT_TRUE(values[c].count(0.0f)) << "weights under 0.7 mean |w| become 0";
    EXPECT_FLOAT_EQ(*values[c].begin(), -*values[c].rbegin()) << "one magnitude alpha per channel";
  }
  // The threshold rule: |w| <= 0.7 mean |w| is zeroed, the rest keeps its sign.
  const at::Tensor delta = 0.7 * w.abs().reshape({5, -1}).mean(1).view({5, 1, 1, 1});
  EXPECT_TRUE(torch::equal(q.ne(0), w.abs() > delta));
  EXPECT_TRUE(torch::equal(q.sign(), torch::sign(w) * (w.abs() > delta)));
}

TEST(Precision, ParsesTheAcceptedFormsAndRefusesOthers) {
  EXPECT_EQ(parse_precision("8"), (Precision{WeightMode::kBits, 8, 32}));
  EXPECT_EQ(parse_precision("4/8"), (Precision{WeightMode::kBits, 4, 8}));
  EXPECT_EQ(parse_precision("ternary"), (Precision{WeightMode::kTernary, 2, 32}));
  EXPECT_EQ(parse_precision("binary/8"), (Precision{WeightMode::kBinary, 1, 8}));
  EXPECT_EQ(parse_precision("float/8"), (Precision{WeightMode::kFloat, 32, 8}));
  for (const char* s : {"4/8", "ternary", "binary/8", "float", "2/2"}) EXPECT_EQ(to_string(parse_precision(s)), s);
  for (const char* bad : {"9", "1", "4/1", "four", "4/8/8", ""})
    test::expect_error([&] { parse_precision(bad); }, ExitCode::kUsage, "--bits");
}

std::vector<ir::Layer> toy_layers() {
  std::vector<ir::Layer> layers(3);
  const std::int64_t params[] = {100, 1000, 50};
  for (size_t i = 0; i < 3; ++i) {
    layers[i].name = "l" + std::to_string(i);
    layers[i].kind = i == 2 ? ir::LayerKind::kLinear : ir::LayerKind::kConv;
    layers[i].out_channels = 10;
    layers[i].params = params[i];
    layers[i].flops = 1000 * params[i];
  }
  return layers;
}

TEST(Precision, SizeAndBopsCountWeightBitsAgainstFloat) {
  const auto layers = toy_layers();
  QuantOptions none;
  none.keep_ends_bits = 0;
  EXPECT_DOUBLE_EQ(size_ratio(layers, uniform_policy(layers, parse_precision("4/8"), none)), 4.0 / 32);
  EXPECT_DOUBLE_EQ(bops_ratio(layers, uniform_policy(layers, parse_precision("4/8"), none)), 4.0 * 8 / (32 * 32));
  // The ends at 8 bits: (100 * 8 + 1000 * 2 + 50 * 8) / (1150 * 32).
  const QuantPolicy p = uniform_policy(layers, parse_precision("ternary"), QuantOptions{});
  EXPECT_TRUE(p.layers[0].fixed && !p.layers[1].fixed && p.layers[2].fixed);
  EXPECT_EQ(to_string(p.layers[1].p), "ternary");
  EXPECT_EQ(to_string(p.layers[0].p), "8");
  EXPECT_DOUBLE_EQ(size_ratio(layers, p), (100.0 * 8 + 1000 * 2 + 50 * 8) / (1150.0 * 32));
  // Packed: weights at their bits plus a 32-bit scale per output channel.
  const QuantPolicy eight = uniform_policy(layers, parse_precision("8"), none);
  EXPECT_EQ(packed_bytes(layers, eight), (1150 * 8 + 3 * 10 * 32) / 8);
}

TEST(Precision, PolicyFileRoundTripsAndNamesWhatIsWrong) {
  const auto layers = toy_layers();
  QuantPolicy p = uniform_policy(layers, parse_precision("4/8"), QuantOptions{});
  p.layers[1].a_lo = -1;
  p.layers[1].a_hi = 3;
  const QuantPolicy back = policy_from_json(nlohmann::json(p), layers);
  ASSERT_EQ(back.layers.size(), 3u);
  EXPECT_EQ(back.layers[1].p, p.layers[1].p);
  EXPECT_DOUBLE_EQ(back.layers[1].a_hi, 3);
  nlohmann::json missing = nlohmann::json(p);
  missing["layers"].erase(1);
  test::expect_error([&] { policy_from_json(missing, layers); }, ExitCode::kInput, "no entry for layer 'l1'");
  nlohmann::json extra = nlohmann::json(p);
  extra["layers"].push_back({{"name", "nope"}, {"bits", "8"}});
  test::expect_error([&] { policy_from_json(extra, layers); }, ExitCode::kInput, "'nope'");
}

data::ImageSet small(data::Split split) {
  data::SplitOptions o;
  o.val_size = 100;
  return data::load_split(data::parse_spec("idx:" + test::fixtures() + "/idx_small"), split, o);
}

TEST(Quantize, EightBitModelAgreesWithFloatAndCarriesFakeQuantOps) {
  for (const char* name : {"plain.pt", "residual.pt", "plain_traced.pt"}) {
    SCOPED_TRACE(name);
    torch::jit::Module m = ir::load_model(test::fixtures() + "/" + name);
    const ir::Shape input{1, 1, 28, 28};
    const auto layers = ir::analyze(m, input).layers;
    QuantPolicy p = uniform_policy(layers, parse_precision("8/8"), QuantOptions{});
    calibrate(m, input, small(data::Split::kTrain), p, 64);
    for (const auto& l : p.layers) EXPECT_GT(l.a_hi, l.a_lo) << l.name;
    torch::jit::Module q = quantize(m, p);
    EXPECT_TRUE(has_fake_quant(q));
    EXPECT_FALSE(has_fake_quant(m)) << "the original is not changed";
    torch::NoGradGuard no_grad;
    const at::Tensor x = data::images(small(data::Split::kTest), 0, 64);
    const at::Tensor a = m.forward({x}).toTensor(), b = q.forward({x}).toTensor();
    EXPECT_GE(a.argmax(1).eq(b.argmax(1)).to(torch::kFloat).mean().item<double>(), 0.95);
    // Every quantized layer's weights are on an 8-bit grid in the result, and the file reloads the same.
    for (const auto& l : p.layers)
      for (const auto& v : channel_values(ir::submodule(q, l.name).attr("weight").toTensor())) EXPECT_LE(v.size(), 256u);
    const std::string path = ::testing::TempDir() + "/xcel_quant_" + name;
    ir::save_model(q, path);
    torch::jit::Module again = ir::load_model(path);
    EXPECT_TRUE(torch::equal(again.forward({x}).toTensor(), b));
  }
}

// Counts of the nodes of `kind` in a module's forward graph (inlined).
int count_nodes(const torch::jit::Module& m, const std::string& kind) {
  int n = 0;
  for (torch::jit::Node* node : ir::all_nodes(*m.get_method("forward").graph()))
    n += std::string(node->kind().toQualString()) == kind ? 1 : 0;
  return n;
}

// A mixed int8/float model: exactly the flagged layers run quantized kernels, the others stay float convolutions,
// the outputs agree with the float model, and a graph whose layers do not pair up with the policy is refused.
TEST(Quantize, MixedInt8ModelRunsTheFlaggedLayersInInt8AndTheRestInFloat) {
  for (const char* name : {"plain.pt", "residual.pt"}) {
    SCOPED_TRACE(name);
    torch::jit::Module m = ir::load_model(test::fixtures() + "/" + name);
    const auto layers = ir::analyze(m, {1, 1, 28, 28}).layers;
    const auto q = quantizable_layers(layers);
    ASSERT_GE(q.size(), 3u);
    std::vector<bool> int8(q.size(), true);
    int8[1] = false;
    const Int8Model mixed = export_int8(m, small(data::Split::kTrain), "onednn", 64, layers, int8);
    EXPECT_EQ(mixed.layers, static_cast<int>(q.size()) - 1);
    EXPECT_EQ(mixed.float_layers, 1);
    EXPECT_EQ(count_nodes(mixed.module, "quantized::conv2d") + count_nodes(mixed.module, "quantized::linear"),
              mixed.layers);
    EXPECT_EQ(count_nodes(mixed.module, "aten::conv2d") + count_nodes(mixed.module, "aten::_convolution") +
                  count_nodes(mixed.module, "aten::linear"),
              1);
    const Int8Model all = export_int8(m, small(data::Split::kTrain), "onednn", 64);
    EXPECT_EQ(all.layers, static_cast<int>(q.size()));
    EXPECT_EQ(all.float_layers, 0);
    torch::NoGradGuard no_grad;
    const at::Tensor x = data::images(small(data::Split::kTest), 0, 64);
    const at::Tensor a = m.forward({x}).toTensor(), b = torch::jit::Module(mixed.module).forward({x}).toTensor();
    EXPECT_GE(a.argmax(1).eq(b.argmax(1)).to(torch::kFloat).mean().item<double>(), 0.95);
    std::vector<bool> none(q.size(), false);
    test::expect_error([&] { export_int8(m, small(data::Split::kTrain), "onednn", 64, layers, none); },
                       ExitCode::kUsage, "nothing runs in int8");
    std::vector<ir::Layer> fewer(layers.begin(), layers.end());
    fewer.erase(std::find_if(fewer.begin(), fewer.end(), [&](const ir::Layer& l) { return l.name == q[0].name; }));
    test::expect_error([&] { export_int8(m, small(data::Split::kTrain), "onednn", 64, fewer, std::vector<bool>(q.size() - 1, true)); },
                       ExitCode::kUnsupported, "do not pair up");
  }
}

TEST(Quantize, ProjectorTrainsShadowsAndPutsGridValuesInForEachPass) {
  torch::jit::Module m = ir::load_model(test::fixtures() + "/plain.pt");
  const auto layers = ir::analyze(m, {1, 1, 28, 28}).layers;
  const QuantPolicy p = uniform_policy(layers, parse_precision("binary"), QuantOptions{});
  const std::string mid = p.layers[1].name;
  at::Tensor w = ir::submodule(m, mid).attr("weight").toTensor();
  const at::Tensor before = w.detach().clone();
  WeightProjector proj(m, p);
  proj.to_grid();
  for (const auto& v : channel_values(w)) EXPECT_EQ(v.size(), 2u);
  proj.to_grid();  // idempotent: the shadows stay the float weights
  proj.to_shadow();
  EXPECT_TRUE(torch::equal(w, before));
}

}  // namespace
}  // namespace xcel::quant
