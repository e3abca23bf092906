// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/jobs/prune_job.h"

#include "xcel/jobs/finetune_job.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>

#include "xcel/core/error.h"
#include "xcel/core/clock.h"
#include "xcel/core/fs.h"
#include "xcel/core/log.h"
#include "xcel/core/run_dir.h"
#include "xcel/ir/model.h"
#include "xcel/jobs/inputs.h"
#include "xcel/prune/engine.h"
#include "xcel/prune/reconstruct.h"
#include "xcel/prune/repair.h"
#include "xcel/report/run_report.h"
#include "xcel/train/evaluate.h"

namespace xcel::jobs {

using namespace prune;  // NOLINT: this file is the prune job
namespace {

void write_outputs(const PolicyOptions& o, torch::jit::Module& pruned, const nlohmann::json& policy,
                   const nlohmann::json& summary) {
  const RunDir run(o.out_dir);
  std::error_code ec;
  std::filesystem::create_directories(o.out_dir, ec);
  XCEL_CHECK(!ec, ExitCode::kInput, "cannot create --out '{}': {}", o.out_dir, ec.message());
  ir::save_model(pruned, run.file(RunDir::kPruned));
  run.write_json(RunDir::kPolicy, policy);
  run.write_json(RunDir::kSummary, summary);
}

data::ValCalib load_eval_data(const PolicyOptions& o, const torch::jit::Module& model) {
  return data::load_val_and_calib(data::parse_spec(o.data), for_model(o.split, model), o.calib_images);
}

nlohmann::json run_weight_pruning(const PolicyOptions& o, torch::jit::Module& model, const ir::Shape& input) {
  std::map<std::string, double> ratios;
  if (!o.policy.empty())
    for (const auto& [name, choice] : read_policy(o.policy).groups) ratios[name] = choice.ratio;
  std::vector<std::string> layers;
  for (const auto& l : ir::analyze(model, input).layers)
    if (l.kind != ir::LayerKind::kBatchNorm) layers.push_back(l.name);
  torch::jit::Module pruned = model.clone();
  auto t0 = std::chrono::steady_clock::now();
  auto sparsity = magnitude_prune(pruned, layers, ratios, o.policy.empty() ? o.uniform : 1.0);
  double ms = 1000 * seconds_since(t0);
  std::int64_t weights = 0, zeros = 0;
  nlohmann::json per_layer = nlohmann::json::array();
  for (const auto& s : sparsity) {
    weights += s.weights;
    zeros += s.zeros;
    per_layer.push_back({{"layer", s.name},
                         {"weights", s.weights},
                         {"zeros", s.zeros},
                         {"sparsity", static_cast<double>(s.zeros) / s.weights}});
  }
  nlohmann::json summary = {{"model", o.model},          {"out", o.out_dir},
                            {"granularity", "weight"},   {"layers", per_layer},
                            {"weights", weights},        {"zeros", zeros},
                            {"sparsity", static_cast<double>(zeros) / weights}, {"apply_ms", ms}};
  if (!o.data.empty()) {
    auto d = load_eval_data(o, model);
    summary["val_top1_before"] = train::evaluate(model, d.val, o.batch).top1;
    summary["val_top1"] = train::evaluate(pruned, d.val, o.batch).top1;
  }
  nlohmann::json policy = {{"granularity", "weight"}, {"uniform", o.uniform}, {"layers", ratios}};
  write_outputs(o, pruned, policy, summary);
  return summary;
}

// --bake-normalization: the final model with the run's normalisation in front, as OUT/deploy.pt and .ptl.
void bake_result(nlohmann::json& summary, const PruneBase& o, const std::string& result, const ResultFinetune& ft) {
  if (!ft.bake_normalization) return;
  XCEL_CHECK(!o.split.mean.empty(), ExitCode::kUsage,
             "--bake-normalization needs the model's normalisation: add --mean/--std or --normalize imagenet");
  const RunDir run(o.out_dir);
  const std::string from = summary.contains("finetune") ? summary.at("finetune").at("finetuned").get<std::string>()
                                                        : run.file(result);
  torch::jit::Module model = ir::load_model(from);
  torch::jit::Module deployed = ir::with_input_normalization(model, o.split.mean, o.split.std);
  // The baked model on raw pixels gives what the model gives on normalised ones.
  const auto channels = static_cast<std::int64_t>(o.split.mean.size());
  const ir::Shape shape = summary.contains("input_shape") ? summary.at("input_shape").get<ir::Shape>() : ir::Shape{};
  if (shape.size() == 4 && shape[1] == channels) {
    torch::NoGradGuard no_grad;
    const at::Tensor x = torch::rand({1, shape[1], shape[2], shape[3]});
    const auto column = [&](const std::vector<double>& v) {
      return at::tensor(c10::ArrayRef<double>(v)).to(at::kFloat).view({1, channels, 1, 1});
    };
    const at::Tensor want = model.forward({(x - column(o.split.mean)) / column(o.split.std)}).toTensor();
    const at::Tensor got = deployed.forward({x}).toTensor();
    XCEL_ASSERT(torch::allclose(got, want, 1e-4, 1e-4), "the model with baked normalisation differs from the model");
  }
  ir::save_model(deployed, run.file(RunDir::kDeploy));
  nlohmann::json lite = nullptr;
  std::string why;
  if (ir::export_for_mobile(deployed, run.file(RunDir::kDeployLite), &why))
    lite = run.file(RunDir::kDeployLite);
  else
    spdlog::warn("no PyTorch Mobile (.ptl) export of the deployed model: LibTorch cannot export it ({})", why);
  summary["deploy"] = {{"model", run.file(RunDir::kDeploy)},
                       {"lite", lite},
                       {"from", from},
                       {"input", "raw pixels in [0, 1]"},
                       {"normalization", {{"mean", o.split.mean}, {"std", o.split.std}}}};
  run.write_json(RunDir::kSummary, summary);
}

}  // namespace

nlohmann::json run_policy(const PolicyOptions& o) {
  RunDir(o.out_dir).check_out({o.model});  // a given policy may be applied again into the same directory
  XCEL_CHECK(!(!o.policy.empty() && o.uniform != 0.0), ExitCode::kUsage,
             "give one of --policy FILE and --uniform RATIO, not both");
  XCEL_CHECK(!o.policy.empty() || o.uniform != 0.0 || !o.remove.empty(), ExitCode::kUsage,
             "give --policy FILE, --uniform RATIO or --remove BLOCKS");
  XCEL_CHECK(!o.policy.empty() || o.uniform == 0.0 || (o.uniform > 0.0 && o.uniform <= 1.0), ExitCode::kUsage,
             "--uniform {} is outside (0, 1]", o.uniform);
  XCEL_CHECK(o.data.empty() ? (o.bn_recal == 0 && !o.reconstruct) : true, ExitCode::kUsage,
             "--bn-recal and --reconstruct need calibration images: add --data");
  XCEL_CHECK(o.granularity == "channel" || o.granularity == "weight", ExitCode::kUsage,
             "unknown --granularity '{}'; use channel or weight", o.granularity);
  ir::set_threads(o.threads);
  const ir::Shape input = ir::parse_shape(o.input);
  XCEL_CHECK(o.remove.empty() || o.granularity == "channel", ExitCode::kUsage,
             "--remove takes blocks out whole; combine it with channel pruning, not --granularity weight");
  torch::jit::Module original = ir::load_model(o.model);
  // A policy file of a depth search names the blocks it removed; they go with --remove.
  std::optional<Policy> from_file;
  if (!o.policy.empty()) from_file = read_policy(o.policy);
  std::vector<std::string> remove = o.remove;
  if (from_file)
    for (const auto& b : from_file->removed_blocks)
      if (std::find(remove.begin(), remove.end(), b) == remove.end()) remove.push_back(b);
  // Blocks removed whole first (depth); the channel policy then applies to what is left.
  torch::jit::Module model = remove.empty() ? original : remove_units(original, input, remove);
  if (o.granularity == "weight") return run_weight_pruning(o, model, input);

  const Importance importance = parse_importance(o.importance);
  auto t0 = std::chrono::steady_clock::now();
  DependencyGraph dg = build_dependency_graph(model, input);
  dg.exclude(o.exclude);
  const double analyze_ms = 1000 * seconds_since(t0);
  XCEL_CHECK(!dg.prunable_groups().empty(), ExitCode::kUnsupported,
             "'{}' has no channel group xcel can prune safely (every group reaches the input, the output or an "
             "unsupported op); run with --log-level debug to see why",
             o.model);
  Policy policy = from_file ? *from_file : uniform_policy(dg, o.uniform > 0 ? o.uniform : 1.0);
  std::vector<std::int64_t> kept = resolve_widths(dg, policy, o.round_to);
  const std::int64_t predicted = dg.predict_flops(kept);

  t0 = std::chrono::steady_clock::now();
  Selection sel = select_channels(model, dg, kept, importance);
  torch::jit::Module pruned = apply(model, dg, sel);
  const double apply_ms = 1000 * seconds_since(t0);

  check_prediction(model, pruned, dg, kept);
  ir::ModelSummary before = ir::analyze(original, input), after = ir::analyze(pruned, input);

  nlohmann::json summary = {{"model", o.model},
                            {"out", o.out_dir},
                            {"granularity", "channel"},
                            {"input_shape", input},
                            {"flops_before", before.flops},
                            {"flops", after.flops},
                            {"flops_predicted", predicted},
                            {"flops_ratio", static_cast<double>(after.flops) / before.flops},
                            {"params_before", before.params},
                            {"params", after.params},
                            {"params_ratio", static_cast<double>(after.params) / before.params},
                            {"analyze_ms", analyze_ms},
                            {"apply_ms", apply_ms},
                            {"groups", dg.groups}};
  for (size_t g = 0; g < dg.groups.size(); ++g) summary["groups"][g]["kept"] = kept[g];
  if (!remove.empty()) {
    summary["removed_blocks"] = remove;
    summary["flops_after_removal"] = dg.predict_flops(resolve_widths(dg, uniform_policy(dg, 1.0), 1));
  }
  if (!o.data.empty()) {
    auto d = load_eval_data(o, original);
    summary["val_images"] = d.val.size();
    summary["val_source"] = d.val_source;
    summary["val_top1_before"] = train::evaluate(original, d.val, o.batch).top1;
    check_not_chance(summary["val_top1_before"].get<double>(), d.val.num_classes, o.force, o.data);
    summary["val_top1_pruned"] = train::evaluate(pruned, d.val, o.batch).top1;
    if (o.reconstruct) {
      auto t1 = std::chrono::steady_clock::now();
      auto fitted = Reconstructor(model, dg, d.calib, ReconstructOptions{}).refit(pruned, sel);
      summary["reconstruct_seconds"] = seconds_since(t1);
      summary["reconstructed_layers"] = fitted;
      summary["val_top1_reconstructed"] = train::evaluate(pruned, d.val, o.batch).top1;
    }
    if (o.bn_recal > 0) summary["bn_recalibrated"] = recalibrate_batch_norm(pruned, d.calib, o.bn_recal, o.batch);
    summary["val_top1"] = train::evaluate(pruned, d.val, o.batch).top1;
  }
  nlohmann::json applied = applied_policy_json(dg, policy, kept, o.round_to, importance);
  if (!remove.empty()) applied["removed_blocks"] = remove;
  write_outputs(o, pruned, applied, summary);
  return summary;
}

void finetune_result(nlohmann::json& summary, const std::string& out_dir, const std::string& result,
                     train::FinetuneOptions f) {
  if (f.epochs == 0) return;
  const RunDir run(out_dir);
  f.model = run.file(result);
  f.out_dir = run.file(RunDir::kFinetuneDir);
  f.resume = run.sub(RunDir::kFinetuneDir).has_checkpoint();
  summary["finetune"] = run_finetune(f);
  run.write_json(RunDir::kSummary, summary);
}

namespace {

// The fine-tuning options of a prune run's result: the run's own data, split and threads (and the original as the
// teacher with --finetune-kd).
train::FinetuneOptions result_finetune(const PruneBase& run_options, const ResultFinetune& ft) {
  train::FinetuneOptions f = ft.options;
  f.data = run_options.data;
  f.split = run_options.split;
  f.threads = run_options.threads;
  f.teacher = ft.distil ? run_options.model : "";
  return f;
}

}  // namespace

nlohmann::json run_prune(bool search_mode, SearchOptions search, PolicyOptions policy, const ResultFinetune& ft) {
  nlohmann::json summary;
  if (search_mode) {
    // A resumed search is the saved run: fine-tune with its configuration, not the command line's.
    SearchOptions used;
    summary = run_search(search, &used);
    finetune_result(summary, used.out_dir, RunDir::kBest, result_finetune(used, ft));
    bake_result(summary, used, RunDir::kBest, ft);
  } else {
    XCEL_CHECK(!policy.model.empty(), ExitCode::kUsage, "--model is required");
    summary = run_policy(policy);
    if (policy.data.empty()) policy.data = "fashion-mnist";
    if (summary.at("granularity") == "channel")
      finetune_result(summary, policy.out_dir, RunDir::kPruned, result_finetune(policy, ft));
    bake_result(summary, policy, RunDir::kPruned, ft);
  }
  summary["report"] = report::write_run_report(search_mode ? search.out_dir : policy.out_dir);
  return summary;
}

}  // namespace xcel::jobs
