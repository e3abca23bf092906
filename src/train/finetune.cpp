// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// Fine-tuning of a TorchScript model: shuffled, augmented batches from the training split (reproducible per
// epoch and step from the seed), SGD with Nesterov momentum, warm-up + cosine learning rate, optional
// distillation, the best epoch by validation accuracy kept, checkpoints at every epoch and on Ctrl-C.
#include "xcel/train/finetune.h"

#include <torch/nn/functional/loss.h>
#include <torch/optim/sgd.h>
#include <torch/script.h>
#include <torch/serialize.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <set>

#include "xcel/core/clock.h"
#include "xcel/core/error.h"
#include "xcel/core/fs.h"
#include "xcel/core/interrupt.h"
#include "xcel/core/progress.h"
#include "xcel/core/log.h"
#include "xcel/core/random.h"
#include "xcel/core/runtime.h"
#include "xcel/data/augment.h"
#include "xcel/ir/model.h"
#include "xcel/train/evaluate.h"

namespace xcel::train {
namespace {

namespace F = torch::nn::functional;

// Models traced in eval mode carry training=False as a constant in aten::batch_norm (argument 5) and
// aten::dropout / feature_dropout (argument 2): batch-norm statistics and dropout would stay frozen in
// training. Each such constant is replaced by the owning module's `training` attribute. Returns the count.
int wire_training_flags(torch::jit::Module& module) {
  int patched = 0;
  std::function<void(torch::jit::Block*, torch::jit::Graph&)> visit = [&](torch::jit::Block* block,
                                                                          torch::jit::Graph& g) {
    for (torch::jit::Node* node : block->nodes()) {
      for (torch::jit::Block* sub : node->blocks()) visit(sub, g);
      size_t arg = 0;
      const std::string kind = node->kind().toQualString();
      if (kind == "aten::batch_norm" && node->inputs().size() > 5) arg = 5;
      if ((kind == "aten::dropout" || kind == "aten::feature_dropout") && node->inputs().size() > 2) arg = 2;
      if (arg == 0 || node->input(arg)->node()->kind() != torch::jit::prim::Constant) continue;
      torch::jit::WithInsertPoint guard(node);
      torch::jit::Value* flag = g.insertNode(g.createGetAttr(g.inputs()[0], "training"))->output();
      node->replaceInput(arg, flag);
      ++patched;
    }
  };
  for (const auto& sub : module.modules()) {
    for (const auto& method : sub.get_methods()) {
      auto graph = method.graph();
      if (graph->inputs().empty() || !graph->inputs()[0]->type()->cast<c10::ClassType>()) continue;
      visit(graph->block(), *graph);
    }
  }
  return patched;
}

struct Checkpoint {
  int epoch = 0;        // epoch in progress (or next to start)
  std::int64_t step = 0;  // next micro-batch of that epoch
  std::int64_t updates = 0;
  double loss_sum = 0;
  std::int64_t correct = 0, seen = 0;
  double seconds = 0, epoch_seconds = 0;
  double best_val = -1;
  int best_epoch = 0;
  double val_before = 0, test_before = -1;
  double peak_rss_mb = 0;  // over every process that worked on the run
  std::vector<std::string> history;
};

double peak_mb() { return static_cast<double>(runtime::peak_rss_bytes()) / (1024.0 * 1024.0); }

nlohmann::json to_json(const Checkpoint& c) {
  return {{"epoch", c.epoch},         {"step", c.step},           {"updates", c.updates},
          {"loss_sum", c.loss_sum},   {"correct", c.correct},     {"seen", c.seen},
          {"seconds", c.seconds},     {"epoch_seconds", c.epoch_seconds}, {"best_val", c.best_val},
          {"best_epoch", c.best_epoch}, {"val_before", c.val_before}, {"test_before", c.test_before},
          {"peak_rss_mb", c.peak_rss_mb}, {"history", c.history}};
}

Checkpoint checkpoint_from(const nlohmann::json& j) {
  Checkpoint c;
  c.epoch = j.at("epoch");
  c.step = j.at("step");
  c.updates = j.at("updates");
  c.loss_sum = j.at("loss_sum");
  c.correct = j.at("correct");
  c.seen = j.at("seen");
  c.seconds = j.at("seconds");
  c.epoch_seconds = j.at("epoch_seconds");
  c.best_val = j.at("best_val");
  c.best_epoch = j.at("best_epoch");
  c.val_before = j.at("val_before");
  c.test_before = j.at("test_before");
  c.peak_rss_mb = j.value("peak_rss_mb", 0.0);
  c.history = j.at("history").get<std::vector<std::string>>();
  return c;
}

// Learning rate after `update` optimizer steps out of `total`, with `warmup` linear warm-up steps.
double learning_rate(double base, std::int64_t update, std::int64_t total, std::int64_t warmup) {
  if (update < warmup) return base * static_cast<double>(update + 1) / static_cast<double>(warmup);
  const double span = static_cast<double>(std::max<std::int64_t>(1, total - warmup));
  const double t = std::min(1.0, static_cast<double>(update - warmup) / span);
  return base * 0.5 * (1.0 + std::cos(M_PI * t));
}

template <typename T>
void save_atomic(const T& object, const std::string& path) {
  const std::string tmp = fs::temp_path_beside(path);
  torch::save(object, tmp);
  fs::commit_atomic(tmp, path);
}

void check_options(const FinetuneOptions& o) {
  XCEL_CHECK(o.epochs >= 1, ExitCode::kUsage, "--epochs must be at least 1 (got {})", o.epochs);
  XCEL_CHECK(o.lr > 0, ExitCode::kUsage, "--lr must be positive (got {})", o.lr);
  XCEL_CHECK(o.momentum >= 0 && o.momentum < 1, ExitCode::kUsage, "--momentum must be in [0, 1) (got {})", o.momentum);
  XCEL_CHECK(o.weight_decay >= 0, ExitCode::kUsage, "--weight-decay must not be negative (got {})", o.weight_decay);
  XCEL_CHECK(o.warmup_epochs >= 0 && o.warmup_epochs <= o.epochs, ExitCode::kUsage,
             "--warmup-epochs must be between 0 and --epochs (got {})", o.warmup_epochs);
  XCEL_CHECK(o.batch >= 1 && o.accumulate >= 1, ExitCode::kUsage, "--batch and --accumulate must be at least 1");
  XCEL_CHECK(o.kd_alpha >= 0 && o.kd_alpha <= 1, ExitCode::kUsage, "--kd-alpha must be in [0, 1] (got {})", o.kd_alpha);
  XCEL_CHECK(o.kd_temperature > 0, ExitCode::kUsage, "--kd-temperature must be positive (got {})", o.kd_temperature);
  XCEL_CHECK(o.freeze_first >= 0, ExitCode::kUsage, "--freeze-first must not be negative");
  XCEL_CHECK(!o.out_dir.empty(), ExitCode::kUsage, "--out DIR is required");
}

}  // namespace

void to_json(nlohmann::json& j, const FinetuneOptions& o) {
  j = {{"model", o.model},
       {"out", o.out_dir},
       {"data", o.data},
       {"epochs", o.epochs},
       {"lr", o.lr},
       {"momentum", o.momentum},
       {"weight_decay", o.weight_decay},
       {"warmup_epochs", o.warmup_epochs},
       {"batch", o.batch},
       {"accumulate", o.accumulate},
       {"augment", o.augment},
       {"teacher", o.teacher},
       {"kd_alpha", o.kd_alpha},
       {"kd_temperature", o.kd_temperature},
       {"freeze_first", o.freeze_first},
       {"val_size", o.split.val_size},
       {"seed", o.split.seed},
       {"train_limit", o.train_limit},
       {"test", o.test},
       {"eval_batch", o.eval_batch},
       {"threads", o.threads},
       {"command_line", o.command_line}};
}

void from_json(const nlohmann::json& j, FinetuneOptions& o) {
  o.model = j.at("model");
  o.out_dir = j.at("out");
  o.data = j.at("data");
  o.epochs = j.at("epochs");
  o.lr = j.at("lr");
  o.momentum = j.at("momentum");
  o.weight_decay = j.at("weight_decay");
  o.warmup_epochs = j.at("warmup_epochs");
  o.batch = j.at("batch");
  o.accumulate = j.at("accumulate");
  o.augment = j.at("augment");
  o.teacher = j.at("teacher");
  o.kd_alpha = j.at("kd_alpha");
  o.kd_temperature = j.at("kd_temperature");
  o.freeze_first = j.at("freeze_first");
  o.split.val_size = j.at("val_size");
  o.split.seed = j.at("seed");
  o.train_limit = j.at("train_limit");
  o.test = j.at("test");
  o.eval_batch = j.at("eval_batch");
  o.threads = j.at("threads");
  o.command_line = j.value("command_line", "");
}

nlohmann::json run_finetune(FinetuneOptions o) {
  check_options(o);
  const std::string ckpt_dir = o.out_dir + "/checkpoint";
  const std::string best_path = o.out_dir + "/finetuned.pt";
  if (o.resume) {
    XCEL_CHECK(fs::exists(ckpt_dir + "/state.json"), ExitCode::kInput,
               "--resume: '{}' has no fine-tuning checkpoint; start a new run without --resume", o.out_dir);
    FinetuneOptions saved;
    try {
      saved = nlohmann::json::parse(std::ifstream(o.out_dir + "/config.json")).get<FinetuneOptions>();
    } catch (const std::exception& e) {
      XCEL_FAIL(ExitCode::kInput, "--resume: '{}/config.json' is unreadable ({}); start a new run", o.out_dir, e.what());
    }
    saved.out_dir = o.out_dir;
    saved.progress = o.progress;
    saved.resume = true;
    o = saved;  // a resumed run is the same run
  } else {
    XCEL_CHECK(!o.model.empty(), ExitCode::kUsage, "--model is required");
    XCEL_CHECK(!fs::exists(o.out_dir + "/config.json"), ExitCode::kUsage, "'{}' already holds a fine-tuning run; continue it with --resume or choose another --out",
               o.out_dir);
    for (const auto* input : {&o.model, &o.teacher})
      XCEL_CHECK(input->empty() || (!fs::same_file(best_path, *input) && !fs::same_file(o.out_dir, *input)),
                 ExitCode::kUsage, "--out '{}' would overwrite the input '{}'; choose another --out", o.out_dir, *input);
  }

  ir::set_threads(o.threads);
  auto spec = data::parse_spec(o.data);
  data::ImageSet train_set = data::load_split(spec, data::Split::kTrain, o.split);
  if (o.train_limit > 0 && o.train_limit < train_set.size()) train_set = data::head(train_set, o.train_limit, train_set.name);
  const TensorSet val = to_tensors(data::load_split(spec, data::Split::kVal, o.split));
  const data::Augment aug = data::parse_augment(o.augment, spec, train_set.height);
  const ir::Shape input{1, train_set.channels, train_set.height, train_set.width};

  std::error_code ec;
  std::filesystem::create_directories(ckpt_dir, ec);
  XCEL_CHECK(!ec, ExitCode::kInput, "cannot create '{}': {}", ckpt_dir, ec.message());

  torch::jit::Module model = ir::load_model(o.resume ? ckpt_dir + "/model.pt" : o.model);
  const int patched = wire_training_flags(model);
  if (patched > 0) spdlog::info("finetune: {} batch-norm/dropout training flags were constants (a traced model); now "
                                "they follow train/eval mode", patched);
  const ir::ModelSummary summary = ir::analyze(model, input);

  std::optional<torch::jit::Module> teacher;
  if (!o.teacher.empty()) {
    torch::jit::Module t = ir::load_model(o.teacher);
    torch::jit::Module frozen_teacher = torch::jit::freeze(t);
    teacher = torch::jit::optimize_for_inference(frozen_teacher);
  }

  // Frozen layers and parameter groups.
  std::set<std::string> frozen;
  for (const auto& layer : summary.layers) {
    if (static_cast<int>(frozen.size()) >= o.freeze_first) break;
    if (layer.kind != ir::LayerKind::kBatchNorm) frozen.insert(layer.name);
  }
  XCEL_CHECK(static_cast<int>(frozen.size()) == o.freeze_first || o.freeze_first == 0, ExitCode::kUsage,
             "--freeze-first {} but the model has only {} conv/linear layers", o.freeze_first, frozen.size());
  std::vector<at::Tensor> decay, no_decay;
  std::int64_t trainable = 0, frozen_params = 0;
  for (const auto& p : model.named_parameters(true)) {
    const auto dot = p.name.rfind('.');
    const std::string owner = dot == std::string::npos ? "" : p.name.substr(0, dot);
    const bool freeze = frozen.count(owner) > 0;
    p.value.requires_grad_(!freeze);
    if (freeze) {
      frozen_params += p.value.numel();
      continue;
    }
    trainable += p.value.numel();
    (p.value.dim() > 1 ? decay : no_decay).push_back(p.value);
  }
  XCEL_CHECK(trainable > 0, ExitCode::kUsage, "nothing left to train: --freeze-first {} freezes every parameter",
             o.freeze_first);
  auto sgd = [&](double wd) {
    return torch::optim::SGDOptions(o.lr).momentum(o.momentum).nesterov(o.momentum > 0).weight_decay(wd);
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  if (!decay.empty()) groups.emplace_back(decay, std::make_unique<torch::optim::SGDOptions>(sgd(o.weight_decay)));
  if (!no_decay.empty()) groups.emplace_back(no_decay, std::make_unique<torch::optim::SGDOptions>(sgd(0.0)));
  torch::optim::SGD optimizer(groups, sgd(o.weight_decay));

  const std::int64_t n_train = train_set.size();
  const std::int64_t steps_per_epoch = (n_train + o.batch - 1) / o.batch;
  const std::int64_t updates_per_epoch = (steps_per_epoch + o.accumulate - 1) / o.accumulate;
  const std::int64_t total_updates = updates_per_epoch * o.epochs;
  const auto warmup_updates = static_cast<std::int64_t>(std::llround(o.warmup_epochs * updates_per_epoch));

  Checkpoint st;
  if (o.resume) {
    st = checkpoint_from(nlohmann::json::parse(std::ifstream(ckpt_dir + "/state.json")));
    torch::load(optimizer, ckpt_dir + "/optimizer.pt");
    ir::load_rng_state(ckpt_dir + "/torch_rng.pt");
    spdlog::info("resuming {} at epoch {}/{}, step {}/{}", o.out_dir, st.epoch + 1, o.epochs, st.step, steps_per_epoch);
  } else {
    fs::write_file_atomic(o.out_dir + "/config.json", nlohmann::json(o).dump(2) + "\n");
    torch::manual_seed(o.split.seed);
    st.val_before = evaluate(model, val, o.eval_batch, true).top1;
    if (o.test) st.test_before = evaluate(model, data::load_split(spec, data::Split::kTest, o.split), o.eval_batch, true).top1;
    spdlog::info("finetune {}: {} training images ({}), val top-1 before {:.2f}%, {} trainable parameters{}", o.model,
                 n_train, aug.str(), 100 * st.val_before, trainable,
                 frozen.empty() ? "" : fmt::format(" ({} frozen in {} layers)", frozen_params, frozen.size()));
  }

  auto save_checkpoint = [&] {
    st.peak_rss_mb = std::max(st.peak_rss_mb, peak_mb());
    ir::save_model(model, ckpt_dir + "/model.pt");
    save_atomic(optimizer, ckpt_dir + "/optimizer.pt");
    ir::save_rng_state(ckpt_dir + "/torch_rng.pt");
    fs::write_file_atomic(o.out_dir + "/history.jsonl", [&] {
      std::string s;
      for (const auto& l : st.history) s += l + "\n";
      return s;
    }());
    fs::write_file_atomic(ckpt_dir + "/state.json", to_json(st).dump() + "\n");
  };

  InterruptScope interrupt_scope;
  std::vector<float> buffer;
  while (st.epoch < o.epochs) {
    const std::vector<std::int64_t> order = data::permutation(n_train, derive_seed(o.split.seed, st.epoch));
    const std::uint64_t epoch_seed = derive_seed(o.split.seed ^ 0xA5A5A5A5ULL, st.epoch);
    model.train();
    std::optional<Progress> progress;
    if (o.progress) progress.emplace(fmt::format("epoch {}/{} step", st.epoch + 1, o.epochs), steps_per_epoch, st.step);
    auto t_epoch = std::chrono::steady_clock::now();
    double epoch_seconds_before = st.epoch_seconds;
    for (; st.step < steps_per_epoch; ++st.step) {
      const std::int64_t begin = st.step * o.batch, n = std::min<std::int64_t>(o.batch, n_train - begin);
      data::fill_batch(train_set, order.data() + begin, n, aug, derive_seed(epoch_seed, st.step), buffer);
      at::Tensor x = torch::from_blob(buffer.data(), {n, train_set.channels, train_set.height, train_set.width});
      std::vector<std::int64_t> ys(static_cast<size_t>(n));
      for (std::int64_t k = 0; k < n; ++k) ys[k] = train_set.labels[order[begin + k]];
      at::Tensor y = torch::tensor(ys, torch::kInt64);
      at::Tensor logits = model.forward({x}).toTensor();
      at::Tensor loss = F::cross_entropy(logits, y);
      if (teacher) {
        at::Tensor soft;
        {
          torch::NoGradGuard no_grad;
          soft = torch::softmax(teacher->forward({x}).toTensor() / o.kd_temperature, 1);
        }
        at::Tensor kd = F::kl_div(torch::log_softmax(logits / o.kd_temperature, 1), soft,
                                  F::KLDivFuncOptions().reduction(torch::kBatchMean)) *
                        (o.kd_temperature * o.kd_temperature);
        loss = (1.0 - o.kd_alpha) * loss + o.kd_alpha * kd;
      }
      (loss / static_cast<double>(o.accumulate)).backward();
      st.loss_sum += loss.item<double>() * static_cast<double>(n);
      st.correct += logits.argmax(1).eq(y).sum().item<std::int64_t>();
      st.seen += n;
      const bool boundary = (st.step + 1) % o.accumulate == 0 || st.step + 1 == steps_per_epoch;
      if (boundary) {
        const double lr = learning_rate(o.lr, st.updates, total_updates, warmup_updates);
        for (auto& group : optimizer.param_groups()) static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
        optimizer.step();
        optimizer.zero_grad();
        ++st.updates;
      }
      st.epoch_seconds = epoch_seconds_before + seconds_since(t_epoch);
      if (progress) {
        progress->update(st.step + 1, fmt::format("loss {:.4f}  train top-1 {:.2f}%  lr {:.5f}",
                                                  st.loss_sum / std::max<std::int64_t>(1, st.seen),
                                                  100.0 * static_cast<double>(st.correct) /
                                                      static_cast<double>(std::max<std::int64_t>(1, st.seen)),
                                                  learning_rate(o.lr, std::max<std::int64_t>(0, st.updates - 1),
                                                                total_updates, warmup_updates)));
      }
      if (boundary && interrupted() && st.step + 1 < steps_per_epoch) {
        progress.reset();
        ++st.step;
        save_checkpoint();
        XCEL_FAIL(ExitCode::kInterrupted, "interrupted in epoch {}/{}; state saved, continue with: xcel finetune "
                  "--resume --out {}", st.epoch + 1, o.epochs, o.out_dir);
      }
    }
    progress.reset();
    const double val_top1 = evaluate(model, val, o.eval_batch, true).top1;
    const bool improved = val_top1 > st.best_val;
    if (improved) {
      st.best_val = val_top1;
      st.best_epoch = st.epoch + 1;
      model.eval();
      ir::save_model(model, best_path);
    }
    nlohmann::json line = {{"epoch", st.epoch + 1},
                           {"train_loss", st.loss_sum / std::max<std::int64_t>(1, st.seen)},
                           {"train_top1", static_cast<double>(st.correct) / std::max<std::int64_t>(1, st.seen)},
                           {"val_top1", val_top1},
                           {"best", improved},
                           {"lr", learning_rate(o.lr, st.updates - 1, total_updates, warmup_updates)},
                           {"seconds", st.epoch_seconds}};
    st.history.push_back(line.dump());
    spdlog::info("epoch {}/{}  val top-1 {:.2f}%  (best {:.2f}% at epoch {})  {:.1f} s", st.epoch + 1, o.epochs,
                 100 * val_top1, 100 * st.best_val, st.best_epoch, st.epoch_seconds);
    st.seconds += st.epoch_seconds;
    st.epoch_seconds = 0;
    st.loss_sum = 0;
    st.correct = st.seen = 0;
    ++st.epoch;
    st.step = 0;
    save_checkpoint();
    if (interrupted() && st.epoch < o.epochs) {
      XCEL_FAIL(ExitCode::kInterrupted, "interrupted after epoch {}/{}; state saved, continue with: xcel finetune "
                "--resume --out {}", st.epoch, o.epochs, o.out_dir);
    }
  }

  torch::jit::Module best = ir::load_model(best_path);
  nlohmann::json s = {{"model", o.model},
                      {"out", o.out_dir},
                      {"finetuned", best_path},
                      {"data", o.data},
                      {"epochs", o.epochs},
                      {"best_epoch", st.best_epoch},
                      {"val_top1_before", st.val_before},
                      {"val_top1", st.best_val},
                      {"train_images", n_train},
                      {"augment", aug.str()},
                      {"teacher", o.teacher},
                      {"kd_alpha", o.teacher.empty() ? 0.0 : o.kd_alpha},
                      {"kd_temperature", o.kd_temperature},
                      {"freeze_first", o.freeze_first},
                      {"frozen_layers", std::vector<std::string>(frozen.begin(), frozen.end())},
                      {"trainable_params", trainable},
                      {"batch", o.batch},
                      {"accumulate", o.accumulate},
                      {"effective_batch", o.batch * o.accumulate},
                      {"lr", o.lr},
                      {"seconds", st.seconds},
                      {"seconds_per_epoch", st.seconds / o.epochs},
                      {"flops", summary.flops},
                      {"params", summary.params},
                      {"threads", o.threads},
                      {"peak_rss_mb", std::max(st.peak_rss_mb, peak_mb())}};
  if (o.test) {
    s["test_top1_before"] = st.test_before;
    s["test_top1"] = evaluate(best, data::load_split(spec, data::Split::kTest, o.split), o.eval_batch, true).top1;
  }
  fs::write_file_atomic(o.out_dir + "/summary.json", s.dump(2) + "\n");
  return s;
}

}  // namespace xcel::train
