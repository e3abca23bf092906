// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// xcel inspect: the layer table of a TorchScript model and its totals.
#include <iostream>

#include "xcel/cli/common.h"
#include "xcel/ir/summary.h"
#include "xcel/prune/depth.h"
#include "xcel/report/table.h"

namespace xcel::cli {
namespace {

struct InspectOptions {
  std::string model;
  std::string input = "1,1,28,28";
  bool depth = false;
  OutputOptions out;
};

std::string dims(const ir::Shape& s) { return s.empty() ? "-" : report::shape_str(s); }

void print_summary(const ir::ModelSummary& s) {
  using report::Align;
  report::Table t({"#", "layer", "kind", "in", "out", "kernel", "stride", "groups", "input", "output", "params",
                   "FLOPs", "share"},
                  {Align::kRight, Align::kLeft, Align::kLeft, Align::kRight, Align::kRight, Align::kLeft,
                   Align::kLeft, Align::kRight, Align::kLeft, Align::kLeft, Align::kRight, Align::kRight,
                   Align::kRight});
  for (size_t i = 0; i < s.layers.size(); ++i) {
    const auto& l = s.layers[i];
    bool conv = l.kind == ir::LayerKind::kConv;
    std::string kind = l.depthwise() ? "conv-dw" : (conv && l.groups > 1 ? "conv-g" : ir::layer_kind_name(l.kind));
    t.add({std::to_string(i), l.name, kind, std::to_string(l.in_channels), std::to_string(l.out_channels),
           conv ? dims(l.kernel) : "-", conv ? dims(l.stride) : "-", conv ? std::to_string(l.groups) : "-",
           dims(l.input_shape), dims(l.output_shape), report::human_count(static_cast<double>(l.params)),
           report::human_count(static_cast<double>(l.flops)),
           s.flops > 0 ? report::percent(static_cast<double>(l.flops) / s.flops, 1) : "-"});
  }
  std::cout << "model " << s.path << " (" << report::human_count(static_cast<double>(s.file_bytes))
            << "B), input " << dims(s.input_shape) << " -> output " << dims(s.output_shape) << "\n\n"
            << t.str() << "\n"
            << "total: " << s.params << " params (" << report::human_count(static_cast<double>(s.params)) << "), "
            << s.flops << " FLOPs (" << report::human_count(static_cast<double>(s.flops))
            << " multiply-accumulates)\n";
  if (s.unknown_ops.empty()) return;
  std::cout << "not understood (not counted, never pruned through):";
  for (const auto& u : s.unknown_ops) std::cout << " " << u.kind << " x" << u.count;
  std::cout << "\n";
}

void print_units(const std::vector<prune::DepthUnit>& units) {
  using report::Align;
  report::Table t({"block", "removable", "in", "out", "layers", "params", "FLOPs", "why not"},
                  {Align::kLeft, Align::kLeft, Align::kLeft, Align::kLeft, Align::kRight, Align::kRight, Align::kRight,
                   Align::kLeft});
  for (const auto& u : units)
    t.add({u.name, u.removable ? "yes" : "no", dims(u.in), dims(u.out), std::to_string(u.layers.size()),
           report::human_count(static_cast<double>(u.params)), report::human_count(static_cast<double>(u.flops)),
           u.reason});
  std::cout << "\nblocks (depth: a removable block is replaced by its input, saving its FLOPs):\n" << t.str();
}

}  // namespace

void register_inspect(CLI::App& app) {
  auto o = std::make_shared<InspectOptions>();
  auto* cmd = app.add_subcommand("inspect", "Layer table of a TorchScript model: shapes, parameters, FLOPs");
  cmd->add_option("--model,-m", o->model, "TorchScript model (.pt)")->required();
  cmd->add_option("--input,-i", o->input, "Example input shape N,C,H,W (shapes and FLOPs are computed at it)")
      ->capture_default_str();
  cmd->add_flag("--depth", o->depth, "Also list the blocks that can be removed whole (and why the others cannot)");
  add_output_options(cmd, o->out);
  cmd->callback([o] {
    auto summary = ir::inspect_file(o->model, ir::parse_shape(o->input));
    std::vector<prune::DepthUnit> units;
    if (o->depth) units = prune::find_units_in_file(o->model, ir::parse_shape(o->input));
    if (o->out.json) {
      nlohmann::json j = summary;
      if (o->depth) j["blocks"] = units;
      print_json(j);
    } else {
      print_summary(summary);
      if (o->depth) print_units(units);
    }
  });
}

}  // namespace xcel::cli
