// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "test_env.h"
#include "xcel/core/error.h"
#include "xcel/data/tensors.h"
#include "xcel/ir/model.h"
#include "xcel/train/memory_plan.h"
#include "xcel/train/evaluate.h"

namespace xcel::train {
namespace {

data::ImageSet small_test() {
  return data::load_split(data::parse_spec("idx:" + test::fixtures() + "/idx_small"), data::Split::kTest, {});
}

TEST(Evaluate, MatchesArgmaxCountedByHand) {
  auto set = small_test();
  auto m = ir::load_model(test::fixtures() + "/plain.pt");
  Accuracy acc = evaluate(m, set, 32);
  torch::NoGradGuard ng;
  at::Tensor logits = m.forward({data::images(set, 0, set.size())}).toTensor();
  double top1 = logits.argmax(1).eq(data::labels(set, 0, set.size())).sum().item<double>() / set.size();
  EXPECT_EQ(acc.n, 100);
  EXPECT_DOUBLE_EQ(acc.top1, top1);
  EXPECT_GE(acc.top5, acc.top1);
  // Batch size does not change the answer.
  EXPECT_DOUBLE_EQ(evaluate(m, set, 7).top1, acc.top1);
}

TEST(MemoryPlan, ProbesLeaveTheModelAsItWas) {
  auto m = ir::load_model(test::fixtures() + "/plain.pt");
  const ir::ModelSummary summary = ir::analyze(m, {1, 1, 28, 28});
  std::vector<at::Tensor> before;
  for (const auto& t : m.parameters()) before.push_back(t.clone());
  for (const auto& t : m.buffers()) before.push_back(t.clone());
  ASSERT_GT(m.buffers().size(), 0u);  // batch-norm statistics, which a training-mode forward pass moves
  const MemoryPlan plan = plan_memory(m, summary, {1, 28, 28}, 10, 32, 100000);
  EXPECT_EQ(plan.batch, 32);
  EXPECT_FALSE(m.is_training());
  size_t i = 0;
  for (const auto& t : m.parameters()) {
    EXPECT_TRUE(t.equal(before[i++]));
    EXPECT_FALSE(t.grad().defined());
  }
  for (const auto& t : m.buffers()) EXPECT_TRUE(t.equal(before[i++])) << "buffer " << i;
}

TEST(Evaluate, MonitorStopsEarlyAndSeesRunningCounts) {
  auto set = small_test();
  auto m = ir::load_model(test::fixtures() + "/plain.pt");
  data::TensorSet t = data::to_tensors(set);
  std::vector<std::int64_t> seen_at;
  std::int64_t hits_at_40 = -1;
  Accuracy stopped = evaluate(m, t, 20, false, [&](std::int64_t seen, std::int64_t correct) {
    seen_at.push_back(seen);
    if (seen == 40) hits_at_40 = correct;
    return seen < 40;
  });
  EXPECT_EQ(seen_at, (std::vector<std::int64_t>{20, 40}));
  EXPECT_EQ(stopped.n, 40);
  EXPECT_DOUBLE_EQ(stopped.top1, static_cast<double>(hits_at_40) / 40);
  // The running count equals the accuracy of the first 40 images evaluated on their own.
  data::TensorSet first = t;
  first.x = t.x.slice(0, 0, 40);
  first.y = t.y.slice(0, 0, 40);
  EXPECT_DOUBLE_EQ(evaluate(m, first, 40).top1, stopped.top1);
  // A monitor that never stops is not called after the last batch and changes nothing.
  int calls = 0;
  Accuracy all = evaluate(m, t, 20, false, [&](std::int64_t, std::int64_t) { return ++calls > 0; });
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(all.n, 100);
  EXPECT_DOUBLE_EQ(all.top1, evaluate(m, t, 20).top1);
}

TEST(Evaluate, WrongImageShapeIsAnInputError) {
  auto set = small_test();
  auto m = ir::load_model(test::fixtures() + "/resnet18.pt");
  test::expect_error([&] { evaluate(m, set, 16); }, ExitCode::kInput, "the model fails on");
}

}  // namespace
}  // namespace xcel::train
