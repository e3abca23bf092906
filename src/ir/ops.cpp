// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// The op registry: one entry per op kind xcel understands.
#include "xcel/ir/ops.h"

#include <unordered_map>

namespace xcel::ir {
namespace {

using R = ChannelRule;

// Batch norm and instance norm: weight, bias, running mean, running variance (any may be None).
const std::vector<ChannelParam> kNormParams = {{1, false}, {2, false}, {3, true}, {4, true}};

std::vector<OpInfo> make_registry() {
  std::vector<OpInfo> ops;
  auto add = [&](const std::string& kind, R rule) -> OpInfo& {
    ops.push_back({kind, rule, std::nullopt, {}, std::nullopt, std::nullopt});
    return ops.back();
  };
  auto add_inplace = [&](const std::string& kind, R rule) {
    add("aten::" + kind, rule);
    add("aten::" + kind + "_", rule);
  };
  for (const char* conv : {"conv1d", "conv2d", "conv3d"}) {
    OpInfo& op = add(std::string("aten::") + conv, R::kConv);
    op.layer = LayerKind::kConv;
    op.groups_arg = 6;
  }
  OpInfo& convolution = add("aten::_convolution", R::kConv);  // traced models; transposed ones are refused
  convolution.layer = LayerKind::kConv;
  convolution.groups_arg = 8;
  add("aten::linear", R::kLinear).layer = LayerKind::kLinear;
  OpInfo& bn = add("aten::batch_norm", R::kPerChannel);
  bn.layer = LayerKind::kBatchNorm;
  bn.params = kNormParams;
  bn.training_arg = 5;
  // Instance norm (InstanceNorm2d, affine and/or with running statistics): per-channel like batch norm.
  add("aten::instance_norm", R::kPerChannel).params = kNormParams;
  // PReLU with one slope per channel (a single shared slope is broadcast and never cut).
  add("aten::prelu", R::kPerChannel).params = {{1, false}};
  for (const char* act : {"relu", "relu6", "hardtanh", "sigmoid", "tanh", "silu", "hardswish", "hardsigmoid",
                          "leaky_relu", "elu", "clamp"})
    add_inplace(act, R::kPassThrough);
  add_inplace("dropout", R::kPassThrough);
  for (size_t i = ops.size() - 2; i < ops.size(); ++i) ops[i].training_arg = 2;
  for (const char* act : {"gelu", "mish", "softplus", "contiguous", "clone", "detach", "alpha_dropout", "max_pool1d",
                          "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
                          "adaptive_max_pool2d", "upsample_nearest2d", "upsample_bilinear2d"})
    add(std::string("aten::") + act, R::kPassThrough);
  add("aten::feature_dropout", R::kPassThrough).training_arg = 2;
  add("aten::fake_quantize_per_tensor_affine", R::kPassThrough);  // activations of a quantized model
  for (const char* bin : {"add", "sub", "mul", "div"}) add_inplace(bin, R::kBinary);
  add("aten::rsub", R::kBinary);
  add("aten::cat", R::kConcat);
  add("aten::flatten", R::kFlatten);
  add("aten::mean", R::kMean);
  for (const char* shape : {"aten::softmax", "aten::log_softmax", "aten::constant_pad_nd", "aten::pad", "aten::view",
                            "aten::reshape", "aten::squeeze", "aten::unsqueeze", "aten::t", "aten::transpose",
                            "aten::permute", "aten::chunk", "aten::split", "prim::ListConstruct", "prim::ListUnpack",
                            "prim::TupleConstruct", "prim::TupleUnpack", "prim::TupleIndex", "prim::NumToTensor",
                            "aten::__getitem__", "prim::Constant"})
    add(shape, R::kShapeOnly);
  return ops;
}

}  // namespace

const std::vector<OpInfo>& all_ops() {
  static const std::vector<OpInfo> ops = make_registry();
  return ops;
}

const OpInfo* find_op(const std::string& kind) {
  static const std::unordered_map<std::string, const OpInfo*> index = [] {
    std::unordered_map<std::string, const OpInfo*> m;
    for (const auto& op : all_ops()) m.emplace(op.kind, &op);
    return m;
  }();
  auto it = index.find(kind);
  return it == index.end() ? nullptr : it->second;
}

}  // namespace xcel::ir
