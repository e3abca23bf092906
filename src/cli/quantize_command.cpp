// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// xcel quantize: k-bit / ternary / binary weights and k-bit activations, uniform, per layer or searched.
#include <iostream>

#include <spdlog/fmt/fmt.h>

#include "xcel/cli/common.h"
#include "xcel/cli/config_file.h"
#include "xcel/cli/finetune_options.h"
#include "xcel/core/error.h"
#include "xcel/search/agent.h"
#include "xcel/jobs/quantize_job.h"
#include "xcel/report/table.h"

namespace xcel::cli {
namespace {

struct QuantizeCli {
  jobs::QuantizeOptions q;
  train::FinetuneOptions finetune;
  OutputOptions out;
};

void print_summary(const nlohmann::json& s) {
  using report::Align;
  report::Table layers({"layer", "bits (weights/activations)", "params"}, {Align::kLeft, Align::kLeft, Align::kRight});
  for (const auto& l : s.at("layers"))
    layers.add({l.at("name").get<std::string>() + (l.at("fixed").get<bool>() ? " (fixed)" : ""),
                l.at("bits").get<std::string>(), report::human_count(l.at("params").get<double>())});
  std::cout << layers.str() << "\n";
  report::Table t({"metric", "value"}, {Align::kLeft, Align::kLeft});
  auto pct = [&](const char* k) { return report::percent(s.at(k).get<double>()); };
  if (s.contains("agent"))
    t.add({"search", fmt::format("{}, {} episodes ({} distinct policies), {} budget {:.4f}, {:.2f} s/episode",
                                 s.at("agent").get<std::string>(), s.at("episodes").get<int>(),
                                 s.at("unique_policies").get<int>(), s.at("budget").get<std::string>(),
                                 s.at("budget_ratio").get<double>(), s.at("seconds_per_episode").get<double>())});
  t.add({"weight size", fmt::format("{:.4f} of float ({} bytes packed with scales, float {} bytes)",
                                    s.at("size_ratio").get<double>(), s.at("packed_bytes").get<std::int64_t>(),
                                    s.at("float_bytes").get<std::int64_t>())});
  t.add({"BOPs", fmt::format("{:.4f} of float", s.at("bops_ratio").get<double>())});
  t.add({"val top-1", pct("val_top1_before") + " -> " + pct("val_top1")});
  t.add({"test top-1", pct("test_top1_before") + " -> " + pct("test_top1")});
  if (s.contains("uniform_test_top1"))
    t.add({"uniform policy", fmt::format("{}: val {}, test {} (lead {:+.2f} / {:+.2f} points)",
                                         report::bits_label(s.at("uniform_bits").get<int>()),
                                         pct("uniform_val_top1"),
                                         pct("uniform_test_top1"), s.at("val_lead_over_uniform").get<double>(),
                                         s.at("test_lead_over_uniform").get<double>())});
  if (s.contains("int8")) {
    const auto& q = s.at("int8");
    const int in_float = q.value("float_layers", 0);
    t.add({"int8 model", fmt::format("{} ({}, {} layers in int8{}, {} bytes): test {}, {:.3f} ms vs float {:.3f} ms "
                                     "({:.2f}x)", q.at("model").get<std::string>(), q.at("engine").get<std::string>(),
                                     q.at("int8_layers").get<int>(),
                                     in_float > 0 ? fmt::format(", {} in float", in_float) : std::string(),
                                     q.at("file_bytes").get<std::int64_t>(),
                                     report::percent(q.at("test_top1").get<double>()), q.at("int8_ms").get<double>(),
                                     q.at("float_ms").get<double>(), q.at("speedup").get<double>())});
  }
  if (s.contains("latency_measured_ratio"))
    t.add({"latency", fmt::format("{:.3f} of float measured, {:.3f} predicted, budget {:.3f}: {}",
                                  s.at("latency_measured_ratio").get<double>(),
                                  s.at("latency_predicted_ratio").get<double>(), s.at("budget_ratio").get<double>(),
                                  s.at("latency_verified").get<bool>() ? "within" : "OVER")});
  if (s.contains("finetune")) finetune_summary_rows(s.at("finetune"), t);
  t.add({"out", s.at("out").get<std::string>() + "/{best.pt,policy.json,summary.json,report.html}"});
  std::cout << t.str();
}

}  // namespace

void register_quantize(CLI::App& app) {
  auto o = std::make_shared<QuantizeCli>();
  o->finetune.epochs = 0;  // no fine-tuning unless asked
  auto* cmd = app.add_subcommand(
      "quantize",
      "Quantize a model: k-bit (2-8), ternary or binary weights per output channel and k-bit activations, the same "
      "everywhere (--bits), per layer (--policy FILE) or searched under a budget (--size R of the float weight bits, "
      "--bops R of the bit operations, --latency R on the target with int8 or float per layer; HAQ-style agents over "
      "each layer's bits); optionally quantization-aware "
      "fine-tuning of the result");
  cmd->add_option("--model,-m", o->q.model, "TorchScript model (.pt, float); never modified (not needed with --resume)");
  cmd->add_option("--out,-o", o->q.out_dir, "Run directory: best.pt, policy.json, summary.json")->required();
  auto* bits = cmd->add_option("--bits", o->q.bits,
                               "Every layer: weights[/activations], e.g. 8, 4/8, ternary, binary/8 (activations float "
                               "when absent)");
  auto* policy = cmd->add_option("--policy", o->q.policy, "Per-layer policy (the policy.json of an earlier run, edited)")
                     ->check(CLI::ExistingFile)
                     ->excludes(bits);
  auto* size = cmd->add_option("--size", o->q.size, "Search: weight bits as a fraction of float 32 (e.g. 0.125 = 4 bits "
                                                    "on average); the result never exceeds it")
                   ->check(positive())
                   ->excludes(bits)
                   ->excludes(policy);
  auto* bops = cmd->add_option("--bops", o->q.bops, "Search: bit operations as a fraction of float (weights and "
                                                    "activations searched)")
                   ->check(positive())
                   ->excludes(bits)
                   ->excludes(policy)
                   ->excludes(size);
  auto* lat = cmd->add_option("--latency", o->q.latency,
                  "Search: latency on --target as a fraction of the float model's in deploy form; each layer runs in "
                  "int8 (8/8) or float, the widths stock kernels run, and OUT/int8.pt is the mixed model, measured")
      ->check(positive())
      ->excludes(bits)
      ->excludes(policy)
      ->excludes(size)
      ->excludes(bops);
  cmd->add_option("--latency-rounds", o->q.latency_rounds,
                  "--latency: whole-model measurements in turns per model, for the latency table and the result's check")
      ->capture_default_str()
      ->check(positive());
  cmd->add_option("--act-bits", o->q.act_bits, "--size search: activation bits of every layer (32 = float)")
      ->capture_default_str();
  cmd->add_option("--min-bits", o->q.min_bits, "Search: fewest bits per layer (1 = binary weights, α·sign(w); activations "
                                                  "2 or more)")->capture_default_str();
  cmd->add_option("--max-bits", o->q.max_bits, "Search: most bits per layer")->capture_default_str();
  cmd->add_option("--keep-ends", o->q.quant.keep_ends_bits,
                  "The first and last layer at this many bits, weights and activations (0 = like the rest)")
      ->capture_default_str()
      ->check(CLI::Range(0, 8));
  cmd->add_flag("--asymmetric", [o](std::int64_t) { o->q.quant.symmetric = false; },
                "Weights: per-channel min/max scales with a zero point (default: symmetric scales)");
  cmd->add_option("--act-range", o->q.quant.act_range,
                  "Activation clipping range from calibration: minmax or percentile (of each calibration batch, "
                  "averaged)")
      ->capture_default_str()
      ->check(CLI::IsMember({"minmax", "percentile"}));
  cmd->add_option("--percentile", o->q.quant.percentile, "--act-range percentile: the percentile")
      ->capture_default_str()
      ->check(CLI::Range(50.0, 100.0));
  add_target_option(cmd, o->q.target, "Where the int8 model runs (its engine follows) and where --latency is measured");
  cmd->add_option("--int8-engine", o->q.int8_engine,
                  "Every layer at 8/8: the quantized engine of OUT/int8.pt, the real int8 model (default: onednn for "
                  "a host target, qnnpack for phones); select the same engine where it is loaded")
      ->check(CLI::IsMember({"qnnpack", "onednn"}));
  cmd->add_option("--agent", o->q.agent, "Search agent: ddpg, dqn (one action per bit width), evolution, random or uniform")
      ->capture_default_str()
      ->check(CLI::IsMember(search::agent_names()));
  auto* episodes = cmd->add_option("--episodes", o->q.episodes, "Search episodes (with --resume: the new total)")
                       ->capture_default_str()
                       ->check(positive());
  auto* warmup = cmd->add_option("--warmup", "Episodes of random actions before DDPG learns (default from the agent "
                                             "config: 100)");
  cmd->add_option("--agent-config", o->q.agent_config, "Agent hyperparameters (JSON: DDPG's, and epsilon_*, menu_levels for dqn); default configs/ddpg.json");
  cmd->add_option("--checkpoint-every", o->q.checkpoint_every, "Episodes between checkpoints")
      ->capture_default_str()
      ->check(positive());
  cmd->add_option("--early-stop", o->q.early_stop,
                  "Stop validating a policy once its running top-1 is this many standard errors below the best so far")
      ->capture_default_str()
      ->check(non_negative());
  cmd->add_flag("--resume", o->q.resume, "Continue the search saved in --out (Ctrl-C saves a checkpoint)");
  add_data_option(cmd, o->q.data, "Validation split, calibration images (training split) and test split: "
                                  "fashion-mnist | idx:DIR | cifar10:DIR | imagefolder:DIR");
  add_split_options(cmd, o->q.split);
  cmd->add_option("--calib-images", o->q.calib_images, "Calibration images for the activation ranges")
      ->capture_default_str()
      ->check(positive());
  cmd->add_flag("--force", o->q.force, "Go on when the original model scores near chance on the validation images");
  cmd->add_option("--batch", o->q.batch, "Images per forward pass")->capture_default_str()->check(positive());
  add_threads_option(cmd, o->q.threads);
  add_output_options(cmd, o->out);
  cmd->add_option("--finetune-epochs", o->finetune.epochs,
                  "Quantization-aware fine-tuning of the result for N epochs into OUT/finetune (0 = no)")
      ->capture_default_str()
      ->check(non_negative())
      ->group("Fine-tuning of the result");
  add_finetune_options(cmd, o->finetune, "finetune");
  cmd->callback([o, cmd, bits, policy, size, bops, lat, episodes, warmup] {
    const bool search = size->count() > 0 || bops->count() > 0 || lat->count() > 0 || o->q.resume;
    if (!search && bits->count() == 0 && policy->count() == 0)
      throw Error(ExitCode::kUsage, "say what to do: --bits B (every layer), --policy FILE (per layer), or a budget to "
                                    "search under (--size R, --bops R or --latency R)");
    if (!search) {
      for (const char* name : {"--agent", "--episodes", "--warmup", "--agent-config", "--checkpoint-every",
                               "--early-stop", "--min-bits", "--max-bits", "--act-bits", "--latency-rounds"}) {
        const CLI::Option* opt = cmd->get_option_no_throw(name);
        if (opt != nullptr && opt->count() > 0)
          throw Error(ExitCode::kUsage, fmt::format("{} applies to a search (--size, --bops, --latency); --bits and --policy "
                                                    "apply a given precision", name));
      }
    }
    if (lat->count() > 0)
      for (const char* name : {"--min-bits", "--max-bits", "--act-bits"})
        if (cmd->get_option(name)->count() > 0)
          throw Error(ExitCode::kUsage, fmt::format("{} does not apply to --latency: each layer runs in int8 (8/8) or "
                                                    "float, the widths stock kernels run", name));
    o->q.data_given = cmd->get_option("--data")->count() > 0;
    o->q.episodes_given = episodes->count() > 0;
    if (warmup->count() > 0) o->q.warmup = warmup->as<int>();
    o->q.command_line = o->finetune.command_line = command_line();
    o->q.cli = given_options(cmd);
    const nlohmann::json summary = jobs::run_quantize(o->q, o->finetune);
    if (o->out.json)
      print_json(summary);
    else
      print_summary(summary);
  });
}

}  // namespace xcel::cli
