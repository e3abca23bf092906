// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// xcel prune: structured (channel) or fine-grained (weight) pruning with a given policy.
#include <iostream>

#include <spdlog/fmt/fmt.h>

#include "xcel/cli/common.h"
#include "xcel/prune/prune_job.h"
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
    t.add({g.at("name"), std::to_string(g.at("channels").get<std::int64_t>()),
           std::to_string(g.value("kept", g.at("channels").get<std::int64_t>())), "", mods});
  }
  auto count = [&](const char* k) { return report::human_count(s.at(k).get<double>()); };
  std::cout << "FLOPs  " << count("flops_before") << " -> " << count("flops") << " ("
            << report::percent(s.at("flops_ratio").get<double>(), 1) << ")\n"
            << "params " << count("params_before") << " -> " << count("params") << " ("
            << report::percent(s.at("params_ratio").get<double>(), 1) << ")\n"
            << fmt::format("analysis {:.1f} ms, pruning {:.1f} ms\n", s.at("analyze_ms").get<double>(),
                           s.at("apply_ms").get<double>());
  for (const char* k : {"val_top1_before", "val_top1_pruned", "val_top1_reconstructed", "val_top1"})
    if (s.contains(k)) std::cout << k << " " << report::percent(s.at(k).get<double>()) << "\n";
  std::cout << "wrote " << s.at("out").get<std::string>() << "/{pruned.pt,policy.json,summary.json}\n";
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
  auto o = std::make_shared<prune::PruneOptions>();
  auto out = std::make_shared<OutputOptions>();
  auto* cmd = app.add_subcommand("prune", "Prune a model with a given policy (--policy FILE or --uniform RATIO)");
  cmd->add_option("--model,-m", o->model, "TorchScript model (.pt); never modified")->required();
  cmd->add_option("--out,-o", o->out_dir, "Run directory: pruned.pt, policy.json, summary.json")->required();
  auto* policy = cmd->add_option("--policy", o->policy, "Policy JSON: {\"groups\": {NAME: RATIO | {\"kept\": N}}}");
  cmd->add_option("--uniform", o->uniform, "Same preserve ratio in (0, 1] for every prunable group")
      ->excludes(policy);
  cmd->add_option("--input,-i", o->input, "Example input shape N,C,H,W")->capture_default_str();
  cmd->add_option("--importance", o->importance, "Channel ranking: l1 or l2 norm of the producing filters")
      ->capture_default_str()
      ->check(CLI::IsMember({"l1", "l2"}));
  cmd->add_option("--round-to", o->round_to, "Kept channel counts are multiples of this")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--granularity", o->granularity, "channel (physically smaller) or weight (magnitude masks)")
      ->capture_default_str()
      ->check(CLI::IsMember({"channel", "weight"}));
  cmd->add_option("--data,-d", o->data, "Evaluate on the validation split and take calibration images from the "
                                        "training split: fashion-mnist | idx:DIR | cifar10:DIR");
  add_split_options(cmd, o->split);
  cmd->add_option("--calib-images", o->calib_images, "Calibration images for --bn-recal and --reconstruct")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--bn-recal", o->bn_recal, "Re-estimate batch-norm statistics on N calibration batches")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--reconstruct", o->reconstruct, "Least-squares refit of layers that lost input channels");
  cmd->add_option("--batch", o->batch, "Images per forward pass")->capture_default_str()->check(CLI::PositiveNumber);
  add_threads_option(cmd, o->threads);
  add_output_options(cmd, *out);
  cmd->callback([o, out] {
    auto summary = prune::run_prune(*o);
    if (out->json) {
      print_json(summary);
    } else if (summary.at("granularity") == "weight") {
      print_weight_summary(summary);
    } else {
      print_channel_summary(summary);
    }
  });
}

}  // namespace xcel::cli
