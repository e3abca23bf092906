// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// xcel prune: structured (channel) or fine-grained (weight) pruning with a given policy.
#include <iostream>

#include <spdlog/fmt/fmt.h>

#include "xcel/cli/common.h"
#include "xcel/cli/config_file.h"
#include "xcel/cli/finetune_options.h"
#include "xcel/core/error.h"
#include "xcel/search/agent.h"
#include "xcel/jobs/prune_job.h"
#include "xcel/report/table.h"

namespace xcel::cli {
namespace {

void print_channel_summary(const nlohmann::json& s) {
  using report::Align;
  report::Table t({"group", "channels", "kept", "ratio", "modules"},
                  {Align::kLeft, Align::kRight, Align::kRight, Align::kRight, Align::kLeft});
  for (const auto& g : s.at("groups")) {
    if (!g.at("prunable").get<bool>()) continue;
    std::string mods;
    for (const auto& m : g.at("modules")) mods += (mods.empty() ? "" : " ") + m.get<std::string>();
    const auto channels = g.at("channels").get<std::int64_t>(), kept = g.at("kept").get<std::int64_t>();
    t.add({g.at("name"), std::to_string(channels), std::to_string(kept),
           report::percent(static_cast<double>(kept) / static_cast<double>(channels), 1), mods});
  }
  std::cout << t.str() << "\n";
  auto count = [&](const char* k) { return report::human_count(s.at(k).get<double>()); };
  if (s.contains("removed_blocks"))
    std::cout << fmt::format("removed blocks {} (FLOPs {} -> {} before the channel policy)\n",
                             fmt::join(s.at("removed_blocks").get<std::vector<std::string>>(), ", "),
                             count("flops_before"), count("flops_after_removal"));
  std::cout << "FLOPs  " << count("flops_before") << " -> " << count("flops") << " ("
            << report::percent(s.at("flops_ratio").get<double>(), 1) << ")\n"
            << "params " << count("params_before") << " -> " << count("params") << " ("
            << report::percent(s.at("params_ratio").get<double>(), 1) << ")\n"
            << fmt::format("analysis {:.1f} ms, pruning {:.1f} ms\n", s.at("analyze_ms").get<double>(),
                           s.at("apply_ms").get<double>());
  for (const char* k : {"val_top1_before", "val_top1_pruned", "val_top1_reconstructed", "val_top1"})
    if (s.contains(k)) std::cout << k << " " << report::percent(s.at(k).get<double>()) << "\n";
  std::cout << "wrote " << s.at("out").get<std::string>() << "/{pruned.pt,policy.json,summary.json}\n";
  if (s.contains("finetune")) {
    report::Table t2({"fine-tuning", "value"}, {report::Align::kLeft, report::Align::kLeft});
    finetune_summary_rows(s.at("finetune"), t2);
    t2.add({"fine-tuned", s.at("finetune").at("finetuned").get<std::string>()});
    std::cout << "\n" << t2.str();
  }
}

void print_search_summary(const nlohmann::json& s) {
  using report::Align;
  report::Table t({"metric", "value"}, {Align::kLeft, Align::kLeft});
  auto pct = [&](const char* k) { return report::percent(s.at(k).get<double>()); };
  t.add({"agent", s.at("agent").get<std::string>() + ", " + std::to_string(s.at("episodes").get<int>()) +
                      " episodes (" + std::to_string(s.at("unique_policies").get<int>()) + " distinct policies)"});
  t.add({"FLOPs", report::human_count(s.at("flops_before").get<double>()) + " -> " +
                      report::human_count(s.at("flops").get<double>()) + " (" +
                      report::percent(s.at("flops_ratio").get<double>(), 1) +
                      (s.at("flops_target").is_null() ? std::string(")")
                                                      : ", target " + report::percent(s.at("flops_target").get<double>(), 1) + ")")});
  t.add({"params", report::human_count(s.at("params_before").get<double>()) + " -> " +
                       report::human_count(s.at("params").get<double>())});
  if (s.contains("latency_budget_ms")) {
    std::string measured = s.at("latency_measured_ms").is_null()
                               ? "not measured (" + s.value("latency_measure_error", std::string("no device")) + ")"
                               : fmt::format("{:.3f} ms measured on {}", s.at("latency_measured_ms").get<double>(),
                                             s.at("latency_measured_on").get<std::string>());
    t.add({"latency (" + s.at("latency_target").get<std::string>() + ")",
           fmt::format("predicted {:.3f} -> {:.3f} ms (budget {:.3f}); {}", s.at("latency_predicted_ms_before").get<double>(),
                       s.at("latency_predicted_ms").get<double>(), s.at("latency_budget_ms").get<double>(), measured)});
  }
  if (s.contains("removed_blocks")) {
    const auto removed = s.at("removed_blocks").get<std::vector<std::string>>();
    t.add({"blocks removed", fmt::format("{} of {}{}{}", removed.size(), s.at("blocks").size(),
                                         removed.empty() ? "" : ": ", fmt::join(removed, ", "))});
  }
  t.add({"val top-1", pct("val_top1_before") + " -> " + pct("val_top1")});
  t.add({"test top-1", pct("test_top1_before") + " -> " + pct("test_top1")});
  if (s.contains("uniform_test_top1")) {
    const std::string val = s.contains("val_lead_over_uniform")
                                ? fmt::format("{:+.2f} val, ", s.at("val_lead_over_uniform").get<double>())
                                : std::string();
    t.add({"vs uniform", s.value("result_is_uniform", false)
                             ? std::string("the uniform policy is the result")
                             : fmt::format("{}{:+.2f} test points (uniform: {} test)", val,
                                           s.at("test_lead_over_uniform").get<double>(), pct("uniform_test_top1"))});
  }
  if (s.contains("rerank")) {
    const auto& r = s.at("rerank");
    t.add({"re-ranked", fmt::format("{} policies after a brief fine-tune ({} images each): {}", r.at("k").get<int>(),
                                    r.at("train_images").get<std::int64_t>(),
                                    r.at("winner_changed").get<bool>() ? "the winner changed" : "the winner stayed")});
  }
  t.add({"seconds per episode", fmt::format("{:.3f}", s.at("seconds_per_episode").get<double>())});
  t.add({"out", s.at("out").get<std::string>() + "/{best.pt,policy.json,episodes.jsonl,summary.json}"});
  if (s.contains("finetune")) {
    t.add({"fine-tuned", s.at("finetune").at("finetuned").get<std::string>()});
    finetune_summary_rows(s.at("finetune"), t);
  }
  std::cout << t.str();
}

void print_weight_summary(const nlohmann::json& s) {
  using report::Align;
  report::Table t({"layer", "weights", "zeros", "sparsity"}, {Align::kLeft, Align::kRight, Align::kRight, Align::kRight});
  for (const auto& l : s.at("layers"))
    t.add({l.at("layer"), std::to_string(l.at("weights").get<std::int64_t>()),
           std::to_string(l.at("zeros").get<std::int64_t>()), report::percent(l.at("sparsity").get<double>(), 1)});
  std::cout << t.str() << "total sparsity " << report::percent(s.at("sparsity").get<double>(), 1) << "\n";
  if (s.contains("val_top1")) std::cout << "val_top1 " << report::percent(s.at("val_top1").get<double>()) << "\n";
}

}  // namespace

void register_prune(CLI::App& app) {
  struct Options {
    jobs::PruneBase base;
    jobs::SearchOptions search;
    jobs::PolicyOptions policy;
    jobs::ResultFinetune finetune;
    OutputOptions out;
  };
  auto o = std::make_shared<Options>();
  o->finetune.options.epochs = 0;  // no fine-tuning unless asked
  auto* cmd = app.add_subcommand(
      "prune",
      "Prune a model: search a per-layer policy under a FLOPs or latency budget (--flops R | --latency R | "
      "--latency-ms X, the main job), or apply a given policy (--policy FILE or --uniform RATIO); writes report.html");
  cmd->add_option("--model,-m", o->base.model, "TorchScript model (.pt); never modified (not needed with --resume)");
  cmd->add_option("--out,-o", o->base.out_dir, "Run directory: pruned.pt, policy.json, summary.json")->required();
  auto* policy = cmd->add_option("--policy", o->policy.policy, "Policy JSON: {\"groups\": {NAME: RATIO | {\"kept\": N}}}");
  auto* uniform = cmd->add_option("--uniform", o->policy.uniform, "Same preserve ratio in (0, 1] for every prunable group")
                      ->check(positive())
                      ->excludes(policy);
  auto* remove = cmd->add_option("--remove", o->policy.remove,
                                 "Remove these blocks whole before the channel policy (names from xcel inspect --depth; "
                                 "alone, or with --uniform / --policy)")
                     ->delimiter(',');
  // Search mode.
  auto* flops = cmd->add_option("--flops", o->search.flops, "Search: FLOPs budget as a fraction of the original; the "
                                                            "result never exceeds it")
                    ->check(positive())
                    ->excludes(policy)
                    ->excludes(uniform)
                    ->excludes(remove);
  auto* lat = cmd->add_option("--latency", o->search.latency, "Search: latency budget in (0, 1] as a fraction of the "
                                                             "original's latency on --target (replaces --flops)")
                  ->check(positive())
                  ->excludes(flops)
                  ->excludes(policy)
                  ->excludes(uniform)
                  ->excludes(remove);
  auto* lat_ms = cmd->add_option("--latency-ms", o->search.latency_ms, "Search: latency budget in milliseconds on --target")
                     ->check(positive())
                     ->excludes(flops)
                     ->excludes(lat)
                     ->excludes(policy)
                     ->excludes(uniform)
                     ->excludes(remove);
  add_target_option(cmd, o->search.target, "Target profile in configs/targets (channel rounding, the device)");
  cmd->add_option("--latency-model", o->search.latency_model,
                  "Latency budgets: the wall's latency model: table (one-layer latencies at a grid of widths, measured "
                  "on --target; the roofline estimate when no device is connected), roofline (estimated from the "
                  "target's published figures), or predictor:FILE (from xcel latency fit)")
      ->capture_default_str();
  cmd->add_option("--latency-table", o->search.latency_table,
                  "Latency budgets: the table file to read and extend (default: the cache's file for the target, "
                  "$XCEL_CACHE_DIR/latency/tables/TARGET-tN.json)");
  add_serial_option(cmd, o->search.serial);
  cmd->add_option("--table-grid", o->search.table_grid, "Latency budgets: widths per layer side in the table (>= 2)")
      ->capture_default_str()
      ->check(CLI::Range(2, 64));
  cmd->add_option("--agent", o->search.agent,
                  "Search agent: ddpg, dqn (discrete preserve ratios, menu_levels of them), evolution (cross-entropy search around the best policies so far), random or "
                  "uniform")
      ->capture_default_str()
      ->check(CLI::IsMember(search::agent_names()));
  cmd->add_option("--reward", o->search.reward, "acc (validation top-1), acc-flops (-error * log FLOPs) or acc-latency "
                                                "(-error * log predicted us; latency budgets)")
      ->capture_default_str()
      ->check(CLI::IsMember({"acc", "acc-flops", "acc-latency"}));
  auto* remove_layers = cmd->add_flag("--remove-layers", o->search.remove_layers,
                                      "Search: also decide, per removable block (xcel inspect --depth), keep or remove "
                                      "it, together with the channel ratios");
  cmd->add_flag("--depth-only", o->search.depth_only, "Search: decide only which blocks to remove; channels are not pruned")
      ->excludes(remove_layers);
  cmd->add_option("--retrain-steps", o->search.retrain_steps,
                  "Search: train every policy this many batches (128 images each, the same for every policy) before "
                  "it is scored, and keep it only when it beats the best so far after that (0 = off); the episode "
                  "log says which were kept and discarded, and why")
      ->capture_default_str()
      ->check(non_negative());
  cmd->add_flag("--platform-state", o->search.platform_state,
                "Search: the agent's state carries the target's figures (cores used, clock, peak GFLOP/s, memory "
                "bandwidth), so one agent can serve several targets");
  cmd->add_option("--init-agent", o->search.init_agent,
                  "Search: start from the agent (networks, replay, noise) of an earlier search run, e.g. on another "
                  "target; no warm-up unless --warmup says so");
  auto* episodes = cmd->add_option("--episodes", o->search.episodes, "Search episodes (with --resume: the new total)")
                       ->capture_default_str()
                       ->check(positive());
  auto* warmup = cmd->add_option("--warmup", "Episodes of random actions before DDPG learns (default from the agent "
                                             "config: 100)");
  auto* lbound = cmd->add_option("--lbound", "Smallest preserve ratio per group (default from the agent config: 0.2)");
  cmd->add_option("--agent-config", o->search.agent_config, "Agent hyperparameters (JSON: DDPG's, and epsilon_*, menu_levels for dqn); default configs/ddpg.json");
  cmd->add_option("--checkpoint-every", o->search.checkpoint_every, "Episodes between checkpoints")
      ->capture_default_str()
      ->check(positive());
  cmd->add_option("--early-stop", o->search.early_stop,
                  "Stop validating a policy once its running top-1 is this many standard errors below the best "
                  "policy so far (checked after each twentieth of the split; 0 = validate every policy on the whole split)")
      ->capture_default_str()
      ->check(non_negative());
  auto* rerank = cmd->add_option("--rerank", o->search.rerank,
                                 "Fine-tune the K best distinct policies (the uniform one among them) briefly and keep "
                                 "the best after that (0 = off; with --resume it may re-rank a finished search)")
                     ->capture_default_str()
                     ->check(non_negative());
  cmd->add_option("--rerank-images", o->search.rerank_images,
                  "Training images of each --rerank fine-tune (one pass, the same images for every policy)")
      ->capture_default_str()
      ->check(positive());
  cmd->add_flag("--resume", o->search.resume, "Continue the search saved in --out (Ctrl-C saves a checkpoint)");
  cmd->add_option("--input,-i", o->policy.input, "Example input shape N,C,H,W")->capture_default_str();
  cmd->add_option("--importance", o->base.importance, "Channel ranking: l1 or l2 norm of the producing filters")
      ->capture_default_str()
      ->check(CLI::IsMember({"l1", "l2"}));
  auto* round_to = cmd->add_option("--round-to", "Kept channel counts are multiples of this (default: a search probes the "
                                                "target's fast channel multiple, at least the profile's round_to; a "
                                                "given policy uses 1)")
                       ->check(positive());
  cmd->add_option("--granularity", o->policy.granularity, "channel (physically smaller) or weight (magnitude masks)")
      ->capture_default_str()
      ->check(CLI::IsMember({"channel", "weight"}));
  cmd->add_option("--exclude", o->base.exclude, "Layers or groups kept unpruned: module names or prefixes as xcel "
                                                "inspect lists them, comma-separated (e.g. features.0,classifier)")
      ->delimiter(',');
  add_data_option(cmd, o->base.data, "Evaluate on the validation split and take calibration images from the "
                                     "training split: fashion-mnist | idx:DIR | cifar10:DIR");
  add_split_options(cmd, o->base.split);
  cmd->add_option("--calib-images", o->base.calib_images, "Calibration images for --bn-recal and --reconstruct")
      ->capture_default_str()
      ->check(positive());
  auto* bn_recal = cmd->add_option("--bn-recal", o->base.bn_recal,
                                   "Re-estimate batch-norm statistics on N calibration batches (0 = off; on by default "
                                   "when there is data)")
                       ->capture_default_str()
                       ->check(non_negative());
  auto* reconstruct = cmd->add_flag("--reconstruct,!--no-reconstruct", o->base.reconstruct,
                                    "Least-squares refit of layers that lost input channels (on by default when there "
                                    "is data)");
  cmd->add_flag("--force", o->base.force, "Go on when the original model scores near chance on the validation images");
  auto* batch = cmd->add_option("--batch", o->policy.batch, "Images per forward pass (search default: 250)")
                    ->capture_default_str()
                    ->check(positive());
  add_threads_option(cmd, o->base.threads);
  add_output_options(cmd, o->out);
  cmd->add_option("--finetune-epochs", o->finetune.options.epochs, "Fine-tune the result for N epochs into OUT/finetune (0 = no)")
      ->capture_default_str()
      ->check(non_negative())
      ->group("Fine-tuning of the result");
  cmd->add_flag("--finetune-kd", o->finetune.distil, "Distil from the original model while fine-tuning")
      ->group("Fine-tuning of the result");
  add_finetune_options(cmd, o->finetune.options, "finetune");
  cmd->add_flag("--bake-normalization", o->finetune.bake_normalization,
                "Also write OUT/deploy.pt and OUT/deploy.ptl: the final model (fine-tuned when it was) with the "
                "--mean/--std normalisation inside, so the deployed file takes raw pixels in [0, 1]");
  cmd->callback([o, cmd, policy, uniform, remove, flops, lat, lat_ms, batch, episodes, warmup, lbound, round_to, bn_recal, reconstruct,
                 rerank] {
    const bool search = flops->count() > 0 || lat->count() > 0 || lat_ms->count() > 0 || o->search.resume;
    if (o->base.model.empty() && !o->search.resume) throw Error(ExitCode::kUsage, "--model is required");
    if (!search && policy->count() == 0 && uniform->count() == 0 && remove->count() == 0)
      throw Error(ExitCode::kUsage, "say what to do: a budget to search under (--flops R, --latency R or --latency-ms "
                                    "MS) or a policy to apply (--uniform R, --policy FILE or --remove BLOCKS)");
    // Options of one mode given in the other would be silently ignored.
    if (search && o->policy.granularity != "channel")
      throw Error(ExitCode::kUsage, "--granularity weight applies to --uniform and --policy; a search (--flops, "
                                    "--latency, --latency-ms) prunes channels");
    if (!search) {
      for (const char* name : {"--agent", "--reward", "--episodes", "--warmup", "--lbound", "--agent-config",
                               "--checkpoint-every", "--early-stop", "--latency-model", "--latency-table",
                               "--table-grid", "--rerank", "--rerank-images", "--remove-layers", "--depth-only", "--retrain-steps", "--platform-state",
                               "--init-agent"}) {
        const CLI::Option* opt = cmd->get_option_no_throw(name);
        if (opt != nullptr && opt->count() > 0)
          throw Error(ExitCode::kUsage, fmt::format("{} applies to a search (--flops, --latency, --latency-ms); "
                                                    "--uniform and --policy apply a given policy",
                                                    name));
      }
    }
    if (o->finetune.bake_normalization && !o->search.resume && o->base.split.mean.empty())
      throw Error(ExitCode::kUsage,
                  "--bake-normalization needs the model's normalisation: add --mean/--std or --normalize imagenet");
    o->search.budget_given = flops->count() > 0 || lat->count() > 0 || lat_ms->count() > 0;
    // The repairs are on by default where there is data; a given policy without --data has none to repair with.
    if (!search && o->base.data.empty()) {
      if (bn_recal->count() == 0) o->base.bn_recal = 0;
      if (reconstruct->count() == 0) o->base.reconstruct = false;
    }
    o->base.data_given = !o->base.data.empty();
    static_cast<jobs::PruneBase&>(o->search) = o->base;
    static_cast<jobs::PruneBase&>(o->policy) = o->base;
    if (o->search.data.empty()) o->search.data = "fashion-mnist";
    if (batch->count() > 0) o->search.batch = o->policy.batch;
    o->search.episodes_given = episodes->count() > 0;
    o->search.rerank_given = rerank->count() > 0;
    if (warmup->count() > 0) o->search.warmup = warmup->as<int>();
    if (lbound->count() > 0) o->search.lbound = lbound->as<double>();
    if (round_to->count() > 0) o->search.round_to = o->policy.round_to = round_to->as<std::int64_t>();
    o->search.command_line = o->finetune.options.command_line = command_line();
    o->search.cli = given_options(cmd);
    const nlohmann::json summary = jobs::run_prune(search, o->search, o->policy, o->finetune);
    if (o->out.json) {
      print_json(summary);
    } else if (search) {
      print_search_summary(summary);
    } else if (summary.at("granularity") == "weight") {
      print_weight_summary(summary);
    } else {
      print_channel_summary(summary);
    }
  });
}

}  // namespace xcel::cli
