// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// `xcel finetune`: options and run directory (new or resumed), data and models, the training loop, summary.
#include "xcel/jobs/finetune_job.h"

#include <optional>

#include "device_finetune.h"
#include "xcel/core/log.h"
#include "xcel/core/power.h"
#include "xcel/core/run_dir.h"
#include "xcel/core/runtime.h"
#include "xcel/data/augment.h"
#include "xcel/ir/model.h"
#include "xcel/core/fs.h"
#include "xcel/jobs/inputs.h"
#include "xcel/quant/quantize.h"
#include "xcel/train/evaluate.h"
#include "xcel/train/memory_plan.h"

namespace xcel::jobs {
namespace {

// A resumed run is the saved run; a new one must not overwrite its inputs or another run.
train::FinetuneOptions resolve(train::FinetuneOptions o, const RunDir& run) {
  train::check_options(o);
  if (o.resume) {
    run.require_checkpoint("fine-tuning");
    train::FinetuneOptions saved = run.resumed_config<train::FinetuneOptions>();
    saved.out_dir = o.out_dir;
    saved.progress = o.progress;
    saved.resume = true;
    return saved;
  }
  XCEL_CHECK(!o.model.empty(), ExitCode::kUsage, "--model is required");
  run.start_new("fine-tuning run", {o.model, o.teacher});
  return o;
}

// The model to train (the checkpoint's when resuming), with training flags that follow train/eval mode.
torch::jit::Module load_trainable(const train::FinetuneOptions& o, const RunDir& run) {
  torch::jit::Module model = ir::load_model(o.resume ? train::checkpoint_model(run) : o.model);
  const int patched = train::wire_training_flags(model);
  if (patched > 0)
    spdlog::info("finetune: {} batch-norm/dropout training flags were constants (a traced model); now they follow "
                 "train/eval mode", patched);
  return model;
}

// The teacher, frozen and optimised for inference: it only runs forward passes.
// The teacher, after checking that it takes the model's input and scores the same classes (distillation
// compares the two score vectors class by class).
std::optional<torch::jit::Module> load_teacher(const std::string& path, torch::jit::Module& model, const ir::Shape& input,
                                               const std::string& data) {
  if (path.empty()) return std::nullopt;
  // Checked in its plain form: the frozen, optimised one runs prepacked kernels that do not check their input.
  torch::jit::Module teacher = ir::load_model(path);
  torch::NoGradGuard no_grad;
  const at::Tensor x = torch::zeros(input);
  at::Tensor t;
  try {
    t = teacher.forward({x}).toTensor();
  } catch (const std::exception& e) {
    XCEL_FAIL(ExitCode::kInput, "the teacher '{}' does not take the images of {} ({}); distil from a teacher trained "
              "on the same data", path, data, ir::short_what(e));
  }
  const bool was_training = model.is_training();
  model.eval();
  const at::Tensor s = model.forward({x}).toTensor();
  if (was_training) model.train();
  XCEL_CHECK(t.sizes() == s.sizes(), ExitCode::kInput,
             "the teacher '{}' outputs [{}] where the model outputs [{}]; distil from a teacher that scores the same "
             "classes", path, fmt::join(t.sizes(), ", "), fmt::join(s.sizes(), ", "));
  return ir::deploy_for_cpu(teacher);
}

// --quantized: the model with its activations quantized (calibrated on training images when the policy file has no
// ranges), and the projection of its weights onto their grid around every forward pass.
std::optional<quant::WeightProjector> quantization_aware(const train::FinetuneOptions& o, torch::jit::Module& model,
                                                         const ir::Shape& input, const data::ImageSet& train_set,
                                                         const ir::ModelSummary& summary) {
  if (o.quantized.empty()) return std::nullopt;
  quant::QuantPolicy p = quant::read_policy(o.quantized, summary.layers, "--quantized");
  if (!quant::has_fake_quant(model)) {
    bool ranges = true;
    for (const auto& l : p.layers) ranges = ranges && (l.p.a_bits >= 32 || l.a_hi > l.a_lo);
    if (!ranges) quant::calibrate(model, input, data::head(train_set, 1024, "calibration"), p);
    model = quant::with_activation_quant(model, p);
  }
  return std::optional<quant::WeightProjector>(std::in_place, model, p);
}

}  // namespace

nlohmann::json run_finetune(train::FinetuneOptions opts) {
  const RunDir run(opts.out_dir);
  train::FinetuneOptions o = resolve(std::move(opts), run);
  const device::TargetProfile target = device::load_target(o.target);
  if (target.kind == "android") {
    run.create();
    return run_finetune_on_device(std::move(o), run, target);
  }
  ir::set_threads(o.threads);
  const bool budget = o.max_memory_mb > 0 && !o.resume;
  if (budget) {
    XCEL_CHECK(o.freeze_first == 0 && o.train_last == 0 && o.accumulate == 1, ExitCode::kUsage,
               "--max-memory-mb chooses the frozen layers, micro-batch and accumulation; drop --freeze-first, "
               "--train-last and --accumulate");
    train::steady_heap();  // before the data: what is freed later goes back to the system
  }
  const auto spec = data::parse_spec(o.data);
  run.create();
  torch::jit::Module model = load_trainable(o, run);
  const data::SplitOptions split = for_model(o.split, model);
  data::ImageSet train_set = data::load_split(spec, data::Split::kTrain, split);
  if (o.train_limit > 0 && o.train_limit < train_set.size()) train_set = data::head(train_set, o.train_limit, train_set.name);
  const data::TensorSet val = data::to_tensors(data::load_split(spec, data::Split::kVal, split));
  const data::Augment aug = data::parse_augment(o.augment, spec, train_set.height);
  const ir::Shape input = checked_input(model, train_set, true);
  const ir::ModelSummary summary = ir::analyze(model, input);
  if (o.from_scratch && !o.resume) {
    torch::manual_seed(o.split.seed);  // the same --seed, the same initial weights
    spdlog::info("finetune: {} layers re-initialised (--from-scratch)", train::reinitialise(model, summary.layers));
  }
  std::optional<quant::WeightProjector> projector = quantization_aware(o, model, input, train_set, summary);
  std::optional<torch::jit::Module> teacher = load_teacher(o.teacher, model, input, o.data);
  // The accuracy before training (of the quantized model with --quantized). Under a memory budget the model is
  // judged as it trains (no frozen copy) in batches no larger than its training batch.
  double val_before = 0, test_before = -1;
  if (!o.resume) {
    if (budget) o.eval_batch = std::min(o.eval_batch, o.batch);
    if (projector) projector->to_grid();
    val_before = train::evaluate(model, val, o.eval_batch, !budget).top1;
    if (o.test)
      test_before = train::evaluate(model, data::load_split(spec, data::Split::kTest, split), o.eval_batch, !budget).top1;
    if (projector) projector->to_shadow();
  }
  // --max-memory-mb: the plan sets what trains and in which batches (saved in config.json, so a resume keeps it). It
  // is made last, with everything the training holds beside it already loaded.
  std::optional<train::MemoryPlan> plan;
  if (budget) {
    plan = train::plan_memory(model, summary, {train_set.channels, train_set.height, train_set.width},
                              val.num_classes, o.batch, o.max_memory_mb);
    o.freeze_first = plan->freeze_first;
    o.batch = plan->batch;
    o.accumulate = plan->accumulate;
    o.eval_batch = std::min(o.eval_batch, plan->batch);
  }
  train::Trainer trainer(o, model, summary, train_set, aug, val, teacher ? &*teacher : nullptr, run);
  if (projector) trainer.set_projection([&projector](bool grid) { grid ? projector->to_grid() : projector->to_shadow(); });
  if (o.resume) {
    trainer.restore();
  } else {
    run.write_json(RunDir::kConfig, nlohmann::json(o));
    torch::manual_seed(o.split.seed);
    trainer.start(val_before, test_before);
  }
  if (plan) train::reset_peak_rss();  // the plan's prediction is the peak of the training from here on
  EnergyMeter energy;  // battery energy of the training (phones, laptops; "unavailable" on mains power)
  const std::int64_t updates_before = trainer.state().updates;
  trainer.run();
  const EnergyReading joules = energy.stop();
  const double measured_mb = plan ? train::peak_rss_mb_since_reset() : 0.0;

  const train::TrainState& st = trainer.state();
  nlohmann::json s = {{"model", o.model},
                      {"out", o.out_dir},
                      {"finetuned", run.file(RunDir::kFinetuned)},
                      {"data", o.data},
                      {"epochs", o.epochs},
                      {"best_epoch", st.best_epoch},
                      {"val_top1_before", st.val_before},
                      {"val_top1", st.best_val},
                      {"train_images", train_set.size()},
                      {"augment", aug.str()},
                      {"teacher", o.teacher},
                      {"kd_alpha", o.teacher.empty() ? 0.0 : o.kd_alpha},
                      {"kd_temperature", o.kd_temperature},
                      {"freeze_first", o.freeze_first},
                      {"quantized", o.quantized},
                      {"frozen_layers", trainer.frozen_layers()},
                      {"from_scratch", o.from_scratch},
                      {"trainable_params", trainer.trainable_params()},
                      {"batch", o.batch},
                      {"accumulate", o.accumulate},
                      {"effective_batch", o.batch * o.accumulate},
                      {"lr", o.lr},
                      {"seconds", st.seconds},
                      {"seconds_per_epoch", st.seconds / o.epochs},
                      {"optimizer_steps", st.updates},
                      {"seconds_per_step", st.updates > 0 ? st.seconds / static_cast<double>(st.updates) : 0.0},
                      {"energy", joules},
                      {"flops", summary.flops},
                      {"params", summary.params},
                      {"threads", o.threads},
                      {"peak_rss_mb", std::max(st.peak_rss_mb, static_cast<double>(runtime::peak_rss_bytes()) / (1024.0 * 1024.0))}};
  // The battery energy of this process's training (its validation passes included) per optimizer step it took
  // (a resumed run measures only its own part).
  if (joules.status == "measured" && st.updates > updates_before)
    s["joules_per_step"] = joules.joules / static_cast<double>(st.updates - updates_before);
  if (plan) {
    s["memory_plan"] = {{"budget_mb", plan->budget_mb},       {"freeze_first", plan->freeze_first},
                        {"batch", plan->batch},               {"accumulate", plan->accumulate},
                        {"predicted_mb", plan->predicted_mb}, {"measured_mb", measured_mb},
                        {"baseline_mb", plan->baseline_mb},   {"within_budget", measured_mb <= plan->budget_mb},
                        {"calibration", plan->calibration},   {"candidates", plan->candidates}};
    if (measured_mb > plan->budget_mb)
      spdlog::warn("training peaked at {:.0f} MB, over --max-memory-mb {:.0f} (predicted {:.0f} MB)", measured_mb,
                   plan->budget_mb, plan->predicted_mb);
  }
  if (o.test) {
    torch::jit::Module best = ir::load_model(run.file(RunDir::kFinetuned));
    s["test_top1_before"] = st.test_before;
    s["test_top1"] = train::evaluate(best, data::load_split(spec, data::Split::kTest, for_model(o.split, best)), o.eval_batch, true).top1;
  }
  run.write_json(RunDir::kSummary, s);
  return s;
}

}  // namespace xcel::jobs
