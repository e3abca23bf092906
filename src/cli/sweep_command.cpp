// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// xcel sweep: many prune runs from one file, on this machine or as Slurm job arrays; their state and results.
#include <filesystem>
#include <iostream>

#include <spdlog/fmt/fmt.h>

#include "xcel/cli/common.h"
#include "xcel/core/error.h"
#include "xcel/core/subprocess.h"
#include "xcel/report/table.h"
#include "xcel/sweep/sweep.h"

namespace xcel::cli {
namespace {

// This very executable, so that array tasks and local runs use the xcel that made the sweep.
std::string self_exe() {
  std::error_code ec;
  const auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  XCEL_CHECK(!ec, ExitCode::kInternal, "cannot find the xcel executable (/proc/self/exe: {})", ec.message());
  return p.string();
}

nlohmann::json status_json(const sweep::Sweep& s, const std::vector<sweep::RunStatus>& st) {
  nlohmann::json runs = nlohmann::json::array();
  for (size_t i = 0; i < s.runs.size(); ++i)
    runs.push_back({{"run", s.runs[i].name}, {"dir", s.runs[i].dir}, {"state", sweep::state_name(st[i].state)},
                    {"detail", st[i].detail}, {"exit_code", st[i].exit_code}, {"job", st[i].job}});
  return runs;
}

void print_status(const sweep::Sweep& s, const std::vector<sweep::RunStatus>& st, const sweep::Queue& q) {
  using report::Align;
  report::Table t({"run", "state", "detail"}, {Align::kLeft, Align::kLeft, Align::kLeft});
  std::map<std::string, int> count;
  for (size_t i = 0; i < s.runs.size(); ++i) {
    t.add({s.runs[i].name, sweep::state_name(st[i].state), st[i].detail});
    ++count[sweep::state_name(st[i].state)];
  }
  std::cout << t.str();
  std::string line;
  for (const auto& [state, n] : count) line += fmt::format("{}{} {}", line.empty() ? "" : ", ", n, state);
  std::cout << s.runs.size() << " runs: " << line << "\n";
  if (q.available && !q.ok) std::cout << "(squeue failed: Slurm jobs were not looked up)\n";
}

}  // namespace

void register_sweep(CLI::App& app) {
  auto* cmd = app.add_subcommand("sweep", "Sweeps: many prune runs described in one JSON file (models x budgets x "
                                          "agents x seeds x targets), on this machine or on a Slurm cluster");
  cmd->require_subcommand(1);
  struct Opts {
    std::string file, backend, run;
    int jobs = 1;
    bool dry_run = false, retry_failed = false;
    OutputOptions out;
  };
  auto o = std::make_shared<Opts>();

  auto* run = cmd->add_subcommand("run", "Run every unfinished run of the sweep: finished runs are skipped, "
                                         "interrupted ones resumed. Local backend: -j at a time, then results.csv "
                                         "and sweep.html; slurm backend: one job array per placement, submitted");
  run->add_option("file", o->file, "Sweep file (JSON)")->required();
  run->add_option("--backend", o->backend, "local or slurm (default: the file's \"backend\", else local)")
      ->check(CLI::IsMember({"local", "slurm"}));
  run->add_option("--jobs,-j", o->jobs, "Local backend: runs at a time")->check(CLI::Range(1, 256));
  run->add_flag("--dry-run", o->dry_run, "Slurm backend: print the sbatch scripts, submit and write nothing");
  run->add_flag("--retry-failed", o->retry_failed,
                "Slurm backend: resubmit runs that failed with an error of their own (exit 2-7) too");
  add_output_options(run, o->out);
  run->callback([o] {
    const sweep::Sweep s = sweep::load_sweep(o->file);
    const std::string backend = o->backend.empty() ? s.backend : o->backend;
    XCEL_CHECK(backend == "slurm" || !o->dry_run, ExitCode::kUsage, "--dry-run is for the slurm backend");
    XCEL_CHECK(backend == "slurm" || !o->retry_failed, ExitCode::kUsage,
               "--retry-failed is for the slurm backend (the local backend runs every unfinished run)");
    if (backend == "slurm") {
      XCEL_CHECK(o->jobs == 1, ExitCode::kUsage, "-j is for the local backend; Slurm runs as many tasks as it has "
                 "room for (limit it with slurm.max_parallel in the sweep file)");
      const auto subs = sweep::submit_slurm(s, {o->dry_run, o->retry_failed}, self_exe());
      if (o->out.json) {
        nlohmann::json j = nlohmann::json::array();
        for (const auto& sub : subs) j.push_back({{"job", sub.job_id}, {"runs", sub.runs}, {"script", sub.script}});
        print_json({{"sweep", s.file}, {"backend", "slurm"}, {"dry_run", o->dry_run}, {"submissions", j}});
        return;
      }
      if (subs.empty()) std::cout << "nothing to submit: every run is finished, queued, running or failed on its own\n";
      for (const auto& sub : subs) {
        if (o->dry_run) {
          std::cout << sub.script << "# tasks (array index order):";
          for (const auto& r : sub.runs) std::cout << " " << r;
          std::cout << "\n";
        } else {
          std::cout << "submitted job array " << sub.job_id << " (" << sub.runs.size() << " runs)\n";
        }
      }
      return;
    }
    const sweep::LocalSummary sum = sweep::run_local(s, o->jobs, self_exe());
    const auto [csv, html] = sweep::collect(s, sweep::read_queue());
    if (o->out.json) {
      print_json({{"sweep", s.file}, {"backend", "local"}, {"finished", sum.finished}, {"skipped", sum.skipped},
                  {"failed", sum.failed_runs}, {"interrupted", sum.interrupted}, {"csv", csv}, {"html", html}});
    } else {
      std::cout << fmt::format("{} finished, {} skipped, {} failed, {} interrupted; wrote {} and {}\n", sum.finished,
                               sum.skipped, sum.failed, sum.interrupted, csv, html);
    }
    XCEL_CHECK(!stop_requested() && sum.interrupted == 0, ExitCode::kInterrupted,
               "sweep interrupted: running runs saved their state; run the same command again to resume them");
    std::string failed;
    for (const auto& r : sum.failed_runs) failed += (failed.empty() ? "" : ", ") + r;
    XCEL_CHECK(sum.failed == 0, ExitCode::kRunsFailed, "{} run(s) failed ({}); `xcel sweep status {}` shows why",
               sum.failed, failed, o->file);
  });

  auto* st = cmd->add_subcommand("status", "State of every run (finished, running, queued, interrupted, failed, not "
                                           "started) from the run directories and Slurm's queue");
  st->add_option("file", o->file, "Sweep file (JSON)")->required();
  add_output_options(st, o->out);
  st->callback([o] {
    const sweep::Sweep s = sweep::load_sweep(o->file);
    const sweep::Queue q = sweep::read_queue();
    const auto statuses = sweep::status(s, q);
    if (o->out.json) {
      print_json({{"sweep", s.file}, {"runs", status_json(s, statuses)}});
    } else {
      print_status(s, statuses, q);
    }
  });

  auto* col = cmd->add_subcommand("collect", "Write OUT/results.csv and OUT/sweep.html (every run's state; accuracy "
                                             "against FLOPs and latency per model, agents side by side)");
  col->add_option("file", o->file, "Sweep file (JSON)")->required();
  add_output_options(col, o->out);
  col->callback([o] {
    const sweep::Sweep s = sweep::load_sweep(o->file);
    const auto [csv, html] = sweep::collect(s, sweep::read_queue());
    if (o->out.json) {
      print_json({{"csv", csv}, {"html", html}});
    } else {
      std::cout << "wrote " << csv << " and " << html << "\n";
    }
  });

  auto* task = cmd->add_subcommand("task", "Run one run of the sweep (what each Slurm array task does): skip it when "
                                           "finished, resume it when interrupted, else start it");
  task->add_option("file", o->file, "Sweep file (JSON)")->required();
  task->add_option("--run", o->run, "The run's name (xcel sweep status lists them)")->required();
  task->callback([o] {
    const sweep::Sweep s = sweep::load_sweep(o->file);
    const int code = sweep::run_task(s, s.run(o->run), self_exe());
    XCEL_CHECK(code == 0 || (code != static_cast<int>(ExitCode::kInterrupted) && code <= 128), ExitCode::kInterrupted,
               "run {} was stopped by a signal and saved its state; running the task again resumes it", o->run);
    if (code != 0) throw Error(static_cast<ExitCode>(code), fmt::format("run {} failed (exit {}): see {}/xcel.log",
                                                                         o->run, code, s.run(o->run).dir));
  });
}

}  // namespace xcel::cli
