// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Sweeps: many `xcel prune` runs described in one JSON file (models x budgets x agents x seeds x targets, shared
/// options), each in its own run directory under the sweep's `out`. A run is started, resumed (a checkpoint, no
/// summary) or skipped (finished) by one rule, whether the local backend runs it (`-j N` processes on this
/// machine) or a Slurm array task does (`xcel sweep task`). No LibTorch here: a run is a child `xcel prune`.
///   Sweep s = load_sweep("sweep.json");
///   run_local(s, 2, xcel_exe);                 // or submit_slurm(s, {...}, xcel_exe)
///   collect(s);                                // OUT/results.csv and OUT/sweep.html
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace xcel::sweep {

/// Resources of one Slurm array task, and how the array is submitted.
struct SlurmOptions {
  int cpus = 1;                    // --cpus-per-task (the run's --threads when its options give none)
  std::string mem, time, partition, account;  // --mem, --time, --partition, --account (empty: the cluster's default)
  bool requeue = true;             // --requeue: a preempted or failed node's task runs again and resumes
  int max_parallel = 0;            // --array=0-N%max_parallel (0: no limit)
  // For runs that measure on a phone: the nodes it is attached to (overrides the target profile's "slurm").
  std::string device_constraint, device_gres;
  std::vector<std::string> sbatch_args;        // further #SBATCH lines, verbatim (e.g. "--qos=long")
};

/// One run of the sweep.
struct Run {
  std::string name;   // directory name under the sweep's out: MODEL-BUDGET-AGENT-TARGET-sSEED
  std::string dir;    // absolute
  std::string model, agent, target, budget_kind;  // budget_kind: flops | latency
  double budget = 0;
  int seed = 0;
  bool needs_device = false;           // a latency budget on a phone: only nodes with the phone can run it
  std::string constraint, gres;        // Slurm placement of such a run
  std::vector<std::string> prune_args; // `xcel prune` arguments of a new run, --out included
};

struct Sweep {
  std::string file;   // absolute path of the sweep file
  std::string name;   // the file's stem
  std::string out;    // absolute
  std::string backend = "local";
  SlurmOptions slurm;
  std::vector<Run> runs;
  std::string state_dir() const { return out + "/.sweep"; }
  const Run& run(const std::string& name) const;
};

/// Reads and checks a sweep file; relative paths in it (models, data folders, out) are relative to the file.
/// Error(kInput) naming the file and the field for anything malformed or missing, Error(kUsage) for an option
/// the sweep sets itself (--out, --model, --flops, ...).
Sweep load_sweep(const std::string& file);

/// The state of a run as the run directory, its task record and the scheduler say.
enum class State { kFinished, kRunning, kQueued, kInterrupted, kFailed, kNotStarted };
const char* state_name(State s);

struct RunStatus {
  State state = State::kNotStarted;
  std::string detail;   // episodes done, exit code and the last error line, Slurm job
  int exit_code = -1;   // of the last task that ended (-1: none)
  std::string job;      // Slurm JOBID_INDEX of the run's last submission ("" for none)
  nlohmann::json summary;  // a finished run's summary.json, read once (null for the others)
};

/// Slurm's queue: "ARRAYJOB_INDEX" -> state (PENDING, RUNNING, ...) for the jobs squeue lists; empty when there is
/// no squeue on PATH. `ok` is false when squeue exists but failed.
struct Queue {
  bool available = false, ok = true;
  std::map<std::string, std::string> tasks;
};
Queue read_queue();

std::vector<RunStatus> status(const Sweep& s, const Queue& q);

/// Runs one run: skipped when finished, resumed when half-finished, else started; `xcel prune` as a child process of
/// `xcel_exe`, its output appended to RUN/xcel.log, its outcome in RUN/sweep-task.json. SIGINT and SIGTERM (Slurm's
/// preemption and time limit) are passed on to it, so it saves its state. Returns the child's exit code (0 when
/// skipped).
int run_task(const Sweep& s, const Run& r, const std::string& xcel_exe);

struct LocalSummary {
  int finished = 0, skipped = 0, failed = 0, interrupted = 0;
  std::vector<std::string> failed_runs;
};
/// The local backend: every unfinished run, `jobs` at a time. Holds the sweep's lock (one sweep process at a time);
/// Ctrl-C stops starting runs and waits for the running ones to save their state.
LocalSummary run_local(const Sweep& s, int jobs, const std::string& xcel_exe);

struct Submission {
  std::string job_id;              // "" for a dry run
  std::string script;              // the sbatch script
  std::vector<std::string> runs;   // run names, by array index
};
struct SubmitOptions {
  bool dry_run = false;       // print the scripts, submit nothing, write nothing
  bool retry_failed = false;  // resubmit runs whose last task failed with an error of their own (exit 2-7)
};
/// The Slurm backend: one job array per placement (runs anywhere, and runs per phone constraint/gres) holding the
/// runs that are not finished, not queued and not running; Error(kUsage) when a device run has no placement.
std::vector<Submission> submit_slurm(const Sweep& s, const SubmitOptions& o, const std::string& xcel_exe);
/// The sbatch script of an array over `runs` (names in array order), whose tasks read their run from `tasks_file`.
std::string sbatch_script(const Sweep& s, const std::vector<const Run*>& runs, const std::string& tasks_file,
                          const std::string& xcel_exe);

/// OUT/results.csv (one row per finished run) and OUT/sweep.html (every run's state; accuracy against FLOPs and
/// latency per model, agents side by side; links to each run's report). Returns {csv path, html path}.
std::pair<std::string, std::string> collect(const Sweep& s, const Queue& q);

}  // namespace xcel::sweep
