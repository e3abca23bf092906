// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// Fine-tuning of a TorchScript model: shuffled, augmented batches from the training split (reproducible per
// epoch and step from the seed), SGD with Nesterov momentum, warm-up + cosine learning rate, optional
// distillation, the best epoch by validation accuracy kept, checkpoints at every epoch and on Ctrl-C.
#include "xcel/train/finetune.h"

#include <torch/nn/functional/loss.h>
#include <torch/optim/sgd.h>
#include <torch/script.h>
#include <torch/serialize.h>

#include <torch/nn/init.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <optional>
#include <set>
#include <sstream>

#include "xcel/core/clock.h"
#include "xcel/core/error.h"
#include "xcel/core/fs.h"
#include "xcel/core/interrupt.h"
#include "xcel/core/json_fields.h"
#include "xcel/core/progress.h"
#include "xcel/core/log.h"
#include "xcel/core/random.h"
#include "xcel/core/runtime.h"
#include "xcel/data/augment.h"
#include "xcel/ir/forward_graph.h"
#include "xcel/ir/model.h"
#include "xcel/train/evaluate.h"

namespace xcel::train {

// The checkpoint's state.json (older checkpoints lack peak_rss_mb).
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(TrainState, epoch, step, updates, loss_sum, correct, seen, seconds,
                                                epoch_seconds, best_val, best_epoch, val_before, test_before,
                                                peak_rss_mb, history)

namespace F = torch::nn::functional;

// Batch norm's training flag is argument 5, dropout's and feature_dropout's argument 2.
int wire_training_flags(torch::jit::Module& module) {
  int patched = 0;
  std::function<void(torch::jit::Block*, torch::jit::Graph&)> visit = [&](torch::jit::Block* block,
                                                                          torch::jit::Graph& g) {
    for (torch::jit::Node* node : block->nodes()) {
      for (torch::jit::Block* sub : node->blocks()) visit(sub, g);
      const ir::OpInfo* op = ir::op_info(node);
      if (op == nullptr || !op->training_arg || node->inputs().size() <= *op->training_arg) continue;
      const size_t arg = *op->training_arg;
      if (node->input(arg)->node()->kind() != torch::jit::prim::Constant) continue;
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

namespace {

constexpr const char* kModelFile = "checkpoint/model.pt";
constexpr const char* kOptimizerFile = "checkpoint/optimizer.pt";
constexpr const char* kRngFile = "checkpoint/torch_rng.pt";

double peak_mb() { return static_cast<double>(runtime::peak_rss_bytes()) / (1024.0 * 1024.0); }

// Learning rate after `update` optimizer steps out of `total`, with `warmup` linear warm-up steps.
double learning_rate(double base, std::int64_t update, std::int64_t total, std::int64_t warmup) {
  if (update < warmup) return base * static_cast<double>(update + 1) / static_cast<double>(warmup);
  const double span = static_cast<double>(std::max<std::int64_t>(1, total - warmup));
  const double t = std::min(1.0, static_cast<double>(update - warmup) / span);
  return base * 0.5 * (1.0 + std::cos(M_PI * t));
}

template <typename T>
void save_atomic(const T& object, const std::string& path) {
  std::ostringstream bytes;
  torch::save(object, bytes);
  fs::write_file_atomic(path, bytes.str());
}

}  // namespace

void check_options(const FinetuneOptions& o) {
  XCEL_CHECK(o.epochs >= 1, ExitCode::kUsage, "--epochs must be at least 1 (got {})", o.epochs);
  XCEL_CHECK(o.lr > 0 && std::isfinite(o.lr), ExitCode::kUsage, "--lr must be a positive finite number (got {})", o.lr);
  XCEL_CHECK(o.momentum >= 0 && o.momentum < 1, ExitCode::kUsage, "--momentum must be in [0, 1) (got {})", o.momentum);
  XCEL_CHECK(o.weight_decay >= 0, ExitCode::kUsage, "--weight-decay must not be negative (got {})", o.weight_decay);
  XCEL_CHECK(o.warmup_epochs >= 0 && o.warmup_epochs <= o.epochs, ExitCode::kUsage,
             "--warmup-epochs must be between 0 and --epochs (got {})", o.warmup_epochs);
  XCEL_CHECK(o.batch >= 1 && o.accumulate >= 1, ExitCode::kUsage, "--batch and --accumulate must be at least 1");
  XCEL_CHECK(o.kd_alpha >= 0 && o.kd_alpha <= 1, ExitCode::kUsage, "--kd-alpha must be in [0, 1] (got {})", o.kd_alpha);
  XCEL_CHECK(o.kd_temperature > 0, ExitCode::kUsage, "--kd-temperature must be positive (got {})", o.kd_temperature);
  XCEL_CHECK(o.freeze_first >= 0, ExitCode::kUsage, "--freeze-first must not be negative");
  XCEL_CHECK(o.train_last >= 0, ExitCode::kUsage, "--train-last must not be negative");
  XCEL_CHECK(o.freeze_first == 0 || o.train_last == 0, ExitCode::kUsage,
             "give --freeze-first or --train-last, not both: each says which layers train");
  XCEL_CHECK(!o.out_dir.empty(), ExitCode::kUsage, "--out DIR is required");
}

namespace {

// The keys of config.json.
template <typename F, typename O>
void finetune_fields(F&& f, O& o) {
  run_fields(f, o);
  f("epochs", o.epochs);
  f("lr", o.lr);
  f("momentum", o.momentum);
  f("weight_decay", o.weight_decay);
  f("warmup_epochs", o.warmup_epochs);
  f("batch", o.batch);
  f("accumulate", o.accumulate);
  f("augment", o.augment);
  f("teacher", o.teacher);
  f("kd_alpha", o.kd_alpha);
  f("kd_temperature", o.kd_temperature);
  f("freeze_first", o.freeze_first);
  f("train_last", o.train_last, 0);
  f("from_scratch", o.from_scratch, false);
  f("max_memory_mb", o.max_memory_mb, 0.0);
  f("quantized", o.quantized, std::string());
  f("target", o.target, std::string("host"));
  f("serial", o.serial, std::string());
  f("device_binary", o.device_binary, std::string());
  f("device_run", o.device_run, std::string());
  f("train_limit", o.train_limit);
  f("test", o.test);
  f("eval_batch", o.eval_batch);
}

}  // namespace

void to_json(nlohmann::json& j, const FinetuneOptions& o) {
  j = nlohmann::json::object();
  finetune_fields(JsonWriter{j}, o);
}

void from_json(const nlohmann::json& j, FinetuneOptions& o) { finetune_fields(JsonReader{j}, o); }

std::vector<std::string> weighted_layers(const std::vector<ir::Layer>& layers) {
  std::vector<std::string> out;
  for (const auto& l : layers)
    if (l.kind != ir::LayerKind::kBatchNorm && std::find(out.begin(), out.end(), l.name) == out.end())
      out.push_back(l.name);
  return out;
}

int reinitialise(torch::jit::Module& model, const std::vector<ir::Layer>& layers) {
  torch::NoGradGuard no_grad;
  std::set<std::string> done;
  for (const auto& l : layers) {
    if (!done.insert(l.name).second) continue;
    torch::jit::Module m = ir::submodule(model, l.name);
    auto tensor = [&](const char* name) {
      return m.hasattr(name) && m.attr(name).isTensor() ? m.attr(name).toTensor() : at::Tensor();
    };
    at::Tensor w = tensor("weight"), b = tensor("bias");
    if (l.kind == ir::LayerKind::kBatchNorm) {
      if (w.defined()) w.fill_(1);
      if (b.defined()) b.zero_();
      if (at::Tensor mean = tensor("running_mean"); mean.defined()) mean.zero_();
      if (at::Tensor var = tensor("running_var"); var.defined()) var.fill_(1);
      continue;
    }
    if (!w.defined()) continue;
    torch::nn::init::kaiming_uniform_(w, std::sqrt(5.0));
    if (b.defined()) {
      const double bound = 1.0 / std::sqrt(static_cast<double>(w[0].numel()));
      b.uniform_(-bound, bound);
    }
  }
  return static_cast<int>(done.size());
}

struct Trainer::Impl {
  Impl(const FinetuneOptions& o, torch::jit::Module& model, const std::vector<ir::Layer>& layers,
       const data::ImageSet& train_set, const data::Augment& aug, const data::TensorSet& val,
       torch::jit::Module* teacher, RunDir run)
      : o(o), model(model), train_set(train_set), aug(aug), val(val), teacher(teacher), run(std::move(run)),
        optimizer(parameter_groups(layers), sgd(o.weight_decay)) {
    steps_per_epoch = (train_set.size() + o.batch - 1) / o.batch;
    const std::int64_t updates_per_epoch = (steps_per_epoch + o.accumulate - 1) / o.accumulate;
    total_updates = updates_per_epoch * o.epochs;
    warmup_updates = static_cast<std::int64_t>(std::llround(o.warmup_epochs * updates_per_epoch));
  }

  torch::optim::SGDOptions sgd(double wd) const {
    return torch::optim::SGDOptions(o.lr).momentum(o.momentum).nesterov(o.momentum > 0).weight_decay(wd);
  }

  // Frozen layers, then the trainable parameters in two groups: conv/linear weights with weight decay, the rest
  // (biases, batch norm) without.
  std::vector<torch::optim::OptimizerParamGroup> parameter_groups(const std::vector<ir::Layer>& layers) {
    const std::vector<std::string> weighted = weighted_layers(layers);
    XCEL_CHECK(o.train_last <= static_cast<int>(weighted.size()), ExitCode::kUsage,
               "--train-last {} but the model has only {} conv/linear layers", o.train_last, weighted.size());
    const int freeze = o.train_last > 0 ? static_cast<int>(weighted.size()) - o.train_last : o.freeze_first;
    for (const auto& name : weighted) {
      if (static_cast<int>(frozen.size()) >= freeze) break;
      frozen.insert(name);
    }
    XCEL_CHECK(static_cast<int>(frozen.size()) == freeze, ExitCode::kUsage,
               "--freeze-first {} but the model has only {} conv/linear layers", o.freeze_first, frozen.size());
    std::vector<at::Tensor> decay, no_decay;
    for (const auto& p : model.named_parameters(true)) {
      const auto dot = p.name.rfind('.');
      const bool freeze = frozen.count(dot == std::string::npos ? "" : p.name.substr(0, dot)) > 0;
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
    std::vector<torch::optim::OptimizerParamGroup> groups;
    if (!decay.empty()) groups.emplace_back(decay, std::make_unique<torch::optim::SGDOptions>(sgd(o.weight_decay)));
    if (!no_decay.empty()) groups.emplace_back(no_decay, std::make_unique<torch::optim::SGDOptions>(sgd(0.0)));
    return groups;
  }

  void save_checkpoint() {
    st.peak_rss_mb = std::max(st.peak_rss_mb, peak_mb());
    if (!o.checkpoints) return;
    const long next = generation + 1;
    ir::save_model(model, run.generation_file(kModelFile, next));
    save_atomic(optimizer, run.generation_file(kOptimizerFile, next));
    ir::save_rng_state(run.generation_file(kRngFile, next));
    run.write_lines(RunDir::kHistory, st.history);
    run.commit_state(st, next, {kModelFile, kOptimizerFile, kRngFile});
    generation = next;
  }

  double lr_at(std::int64_t update) const { return learning_rate(o.lr, update, total_updates, warmup_updates); }

  // One micro-batch of the epoch: forward, loss (with distillation), backward, and the optimizer step at an
  // accumulation boundary. Returns true at a boundary.
  bool step(const std::vector<std::int64_t>& order, std::uint64_t epoch_seed) {
    const std::int64_t n_train = train_set.size();
    const std::int64_t begin = st.step * o.batch, n = std::min<std::int64_t>(o.batch, n_train - begin);
    data::fill_batch(train_set, order.data() + begin, n, aug, derive_seed(epoch_seed, st.step), buffer);
    at::Tensor x = torch::from_blob(buffer.data(), {n, train_set.channels, train_set.height, train_set.width});
    std::vector<std::int64_t> ys(static_cast<size_t>(n));
    for (std::int64_t k = 0; k < n; ++k) ys[k] = train_set.labels[order[begin + k]];
    at::Tensor y = torch::tensor(ys, torch::kInt64);
    if (project) project(true);
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
    const double loss_value = loss.item<double>();
    // A loss that is no longer finite means the weights diverged: stop before they are stepped or saved; the best
    // epoch so far and the last epoch's checkpoint stay as they were.
    XCEL_CHECK(std::isfinite(loss_value), ExitCode::kInput,
               "training diverged: the loss is {} at epoch {} step {} (learning rate {:g}); lower --lr. {}", loss_value,
               st.epoch + 1, st.step + 1, lr_at(std::max<std::int64_t>(0, st.updates)),
               st.best_epoch > 0 ? fmt::format("The best epoch so far ({}) is kept in {}", st.best_epoch,
                                               run.file(RunDir::kFinetuned))
                                 : std::string("No epoch finished, so no model was written"));
    (loss / static_cast<double>(o.accumulate)).backward();
    if (project) project(false);
    st.loss_sum += loss_value * static_cast<double>(n);
    st.correct += logits.argmax(1).eq(y).sum().item<std::int64_t>();
    st.seen += n;
    const bool boundary = (st.step + 1) % o.accumulate == 0 || st.step + 1 == steps_per_epoch;
    if (boundary) {
      const double lr = lr_at(st.updates);
      for (auto& group : optimizer.param_groups()) static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
      optimizer.step();
      optimizer.zero_grad();
      ++st.updates;
    }
    return boundary;
  }

  // The rest of the current epoch's micro-batches; Ctrl-C at an optimizer step saves and stops.
  void train_epoch() {
    const std::vector<std::int64_t> order = data::permutation(train_set.size(), derive_seed(o.split.seed, st.epoch));
    const std::uint64_t epoch_seed = derive_seed(o.split.seed ^ 0xA5A5A5A5ULL, st.epoch);
    model.train();
    std::optional<Progress> progress;
    if (o.progress) progress.emplace(fmt::format("epoch {}/{} step", st.epoch + 1, o.epochs), steps_per_epoch, st.step);
    auto t_epoch = std::chrono::steady_clock::now();
    const double epoch_seconds_before = st.epoch_seconds;
    for (; st.step < steps_per_epoch; ++st.step) {
      const bool boundary = step(order, epoch_seed);
      st.epoch_seconds = epoch_seconds_before + seconds_since(t_epoch);
      if (progress) {
        const auto seen = static_cast<double>(std::max<std::int64_t>(1, st.seen));
        progress->update(st.step + 1, fmt::format("loss {:.4f}  train top-1 {:.2f}%  lr {:.5f}", st.loss_sum / seen,
                                                  100.0 * static_cast<double>(st.correct) / seen,
                                                  lr_at(std::max<std::int64_t>(0, st.updates - 1))));
      }
      if (boundary && interrupted() && st.step + 1 < steps_per_epoch) {
        progress.reset();
        if (!o.checkpoints) return;  // the caller sees interrupted() and stops
        ++st.step;
        save_checkpoint();
        run.interrupted(fmt::format("in epoch {}/{}", st.epoch + 1, o.epochs), "finetune");
      }
    }
  }

  // Validation after an epoch: the best epoch so far is saved; history gets the epoch's line.
  void end_epoch() {
    if (project) project(true);
    // Under a memory budget the training module itself is validated (in eval mode): the frozen, optimised copy
    // the deploy form needs would hold a second model and its kernels' buffers beside the training.
    const double val_top1 = evaluate(model, val, o.eval_batch, o.max_memory_mb <= 0).top1;
    const bool improved = val_top1 > st.best_val;
    if (improved) {
      st.best_val = val_top1;
      st.best_epoch = st.epoch + 1;
      model.eval();
      if (o.checkpoints) ir::save_model(model, run.file(RunDir::kFinetuned));
    }
    if (project) project(false);
    const double seen = static_cast<double>(std::max<std::int64_t>(1, st.seen));
    nlohmann::json line = {{"epoch", st.epoch + 1},
                           {"train_loss", st.loss_sum / seen},
                           {"train_top1", static_cast<double>(st.correct) / seen},
                           {"val_top1", val_top1},
                           {"best", improved},
                           {"lr", lr_at(st.updates - 1)},
                           {"seconds", st.epoch_seconds}};
    st.history.push_back(line.dump());
    // A brief fine-tune that only re-scores a model (no checkpoints) reports through its caller.
    spdlog::log(o.checkpoints ? spdlog::level::info : spdlog::level::debug,
                "epoch {}/{}  val top-1 {:.2f}%  (best {:.2f}% at epoch {})  {:.1f} s", st.epoch + 1, o.epochs,
                100 * val_top1, 100 * st.best_val, st.best_epoch, st.epoch_seconds);
    st.seconds += st.epoch_seconds;
    st.epoch_seconds = 0;
    st.loss_sum = 0;
    st.correct = st.seen = 0;
    ++st.epoch;
    st.step = 0;
    save_checkpoint();
  }

  const FinetuneOptions& o;
  torch::jit::Module& model;
  const data::ImageSet& train_set;
  const data::Augment& aug;
  const data::TensorSet& val;
  torch::jit::Module* teacher;
  RunDir run;
  std::set<std::string> frozen;
  std::int64_t trainable = 0, frozen_params = 0;
  torch::optim::SGD optimizer;
  std::int64_t steps_per_epoch = 0, total_updates = 0, warmup_updates = 0;
  TrainState st;
  long generation = 0;  // of the last checkpoint (RunDir::commit_state)
  std::vector<float> buffer;
  std::vector<std::string> frozen_list;
  std::function<void(bool)> project;
};

Trainer::Trainer(const FinetuneOptions& o, torch::jit::Module& model, const ir::ModelSummary& summary,
                 const data::ImageSet& train_set, const data::Augment& augment, const data::TensorSet& val,
                 torch::jit::Module* teacher, RunDir run)
    : impl_(std::make_unique<Impl>(o, model, summary.layers, train_set, augment, val, teacher, std::move(run))) {
  impl_->frozen_list.assign(impl_->frozen.begin(), impl_->frozen.end());
}

Trainer::~Trainer() = default;

std::string checkpoint_model(const RunDir& run) {
  return run.generation_file(kModelFile, RunDir::generation_of(run.read_state()));
}

void Trainer::start(double val_before, double test_before) {
  impl_->st.val_before = val_before;
  impl_->st.test_before = test_before;
  spdlog::info("finetune {}: {} training images ({}), val top-1 before {:.2f}%, {} trainable parameters{}",
               impl_->o.model, impl_->train_set.size(), impl_->aug.str(), 100 * val_before, impl_->trainable,
               impl_->frozen.empty() ? ""
                                     : fmt::format(" ({} frozen in {} layers)", impl_->frozen_params, impl_->frozen.size()));
}

void Trainer::restore() {
  auto& i = *impl_;
  try {
    const nlohmann::json state = i.run.read_state();
    i.st = state.get<TrainState>();
    i.generation = RunDir::generation_of(state);
    torch::load(i.optimizer, i.run.generation_file(kOptimizerFile, i.generation));
    ir::load_rng_state(i.run.generation_file(kRngFile, i.generation));
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    XCEL_FAIL(ExitCode::kInput, "--resume: the checkpoint in '{}' is damaged ({}); start a new run in another --out",
              i.run.file(RunDir::kCheckpoint), ir::short_what(e));
  }
  spdlog::info("resuming {} at epoch {}/{}, step {}/{}", i.run.path(), i.st.epoch + 1, i.o.epochs, i.st.step,
               i.steps_per_epoch);
}

void Trainer::run() {
  auto& i = *impl_;
  InterruptScope interrupt_scope;
  while (i.st.epoch < i.o.epochs) {
    i.train_epoch();
    i.end_epoch();
    if (interrupted() && i.st.epoch < i.o.epochs)
      i.run.interrupted(fmt::format("after epoch {}/{}", i.st.epoch, i.o.epochs), "finetune");
  }
}

void Trainer::set_projection(std::function<void(bool)> project) { impl_->project = std::move(project); }

const TrainState& Trainer::state() const { return impl_->st; }
const std::vector<std::string>& Trainer::frozen_layers() const { return impl_->frozen_list; }
std::int64_t Trainer::trainable_params() const { return impl_->trainable; }

}  // namespace xcel::train
