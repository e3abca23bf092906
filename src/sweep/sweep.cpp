// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/sweep/sweep.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <atomic>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "xcel/core/error.h"
#include "xcel/core/fs.h"
#include "xcel/core/log.h"
#include "xcel/core/run_dir.h"
#include "xcel/core/subprocess.h"
#include "xcel/device/target.h"
#include "xcel/report/run_report.h"

namespace xcel::sweep {
namespace {

using json = nlohmann::json;
namespace stdfs = std::filesystem;

constexpr const char* kTaskRecord = "sweep-task.json";  // in each run directory: the last task's outcome
constexpr const char* kLog = "xcel.log";                 // in each run directory: the runs' output, appended
constexpr const char* kJobs = "jobs.json";               // in the state directory: the Slurm submissions

// Options a sweep sets for each run itself; given in "options" they would fight it.
const std::vector<std::string> kOwnOptions = {"--out",    "-o",     "--model", "-m",       "--flops",  "--latency",
                                              "--latency-ms", "--agent", "--seed", "--target", "--resume", "--data",
                                              "-d",       "--json", "--policy", "--uniform"};

std::string host_name() {
  char buf[256] = {0};
  return gethostname(buf, sizeof buf - 1) == 0 ? std::string(buf) : std::string("?");
}

std::string now_text() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", std::localtime(&t));
  return buf;
}

std::string format_number(double v) { return fmt::format("{}", v); }

// Field access for the sweep file: every problem names the file and the field (exit 3).
class File {
 public:
  File(const json& j, std::string path) : j_(j), path_(std::move(path)) {
    XCEL_CHECK(j.is_object(), ExitCode::kInput, "sweep file '{}' must hold a JSON object", path_);
    const std::vector<std::string> allowed = {"out",     "models",  "data",    "flops",  "latency",
                                              "agents",  "seeds",   "targets", "options", "backend", "slurm"};
    for (const auto& [k, v] : j.items())
      XCEL_CHECK(std::find(allowed.begin(), allowed.end(), k) != allowed.end(), ExitCode::kInput,
                 "sweep file '{}': unknown field '{}' (allowed: out, models, data, flops, latency, agents, seeds, "
                 "targets, options, backend, slurm)", path_, k);
  }
  bool has(const char* k) const { return j_.contains(k); }
  std::string str(const json& j, const std::string& where) const {
    XCEL_CHECK(j.is_string() && !j.get<std::string>().empty(), ExitCode::kInput,
               "sweep file '{}': '{}' must be a non-empty string", path_, where);
    return j.get<std::string>();
  }
  std::vector<std::string> strings(const char* k, bool required) const {
    std::vector<std::string> out;
    if (!j_.contains(k)) {
      XCEL_CHECK(!required, ExitCode::kInput, "sweep file '{}': missing field '{}'", path_, k);
      return out;
    }
    const json& a = j_.at(k);
    XCEL_CHECK(a.is_array(), ExitCode::kInput, "sweep file '{}': '{}' must be a list of strings", path_, k);
    for (size_t i = 0; i < a.size(); ++i) out.push_back(str(a[i], fmt::format("{}[{}]", k, i)));
    return out;
  }
  std::vector<double> numbers(const char* k, double lo, double hi) const {
    std::vector<double> out;
    if (!j_.contains(k)) return out;
    const json& a = j_.at(k);
    XCEL_CHECK(a.is_array(), ExitCode::kInput, "sweep file '{}': '{}' must be a list of numbers", path_, k);
    for (size_t i = 0; i < a.size(); ++i) {
      XCEL_CHECK(a[i].is_number() && a[i].get<double>() > lo && a[i].get<double>() <= hi, ExitCode::kInput,
                 "sweep file '{}': '{}[{}]' must be a number in ({}, {}]", path_, k, i, lo, hi);
      out.push_back(a[i].get<double>());
    }
    return out;
  }
  const json& at(const char* k) const { return j_.at(k); }
  const std::string& path() const { return path_; }

 private:
  const json& j_;
  std::string path_;
};

SlurmOptions parse_slurm(const json& j, const std::string& path) {
  SlurmOptions o;
  XCEL_CHECK(j.is_object(), ExitCode::kInput, "sweep file '{}': 'slurm' must be an object", path);
  const std::set<std::string> allowed = {"cpus", "mem", "time", "partition", "account", "requeue", "max_parallel",
                                         "device_constraint", "device_gres", "sbatch_args"};
  for (const auto& [k, v] : j.items()) {
    XCEL_CHECK(allowed.count(k) != 0, ExitCode::kInput,
               "sweep file '{}': unknown field 'slurm.{}' (allowed: cpus, mem, time, partition, account, requeue, "
               "max_parallel, device_constraint, device_gres, sbatch_args)", path, k);
    if (k == "cpus" || k == "max_parallel") {
      XCEL_CHECK(v.is_number_integer() && v.get<int>() >= (k == "cpus" ? 1 : 0), ExitCode::kInput,
                 "sweep file '{}': 'slurm.{}' must be an integer >= {}", path, k, k == "cpus" ? 1 : 0);
      (k == "cpus" ? o.cpus : o.max_parallel) = v.get<int>();
    } else if (k == "requeue") {
      XCEL_CHECK(v.is_boolean(), ExitCode::kInput, "sweep file '{}': 'slurm.requeue' must be true or false", path);
      o.requeue = v.get<bool>();
    } else if (k == "sbatch_args") {
      XCEL_CHECK(v.is_array(), ExitCode::kInput, "sweep file '{}': 'slurm.sbatch_args' must be a list of strings", path);
      for (const auto& a : v) {
        XCEL_CHECK(a.is_string() && a.get<std::string>().rfind("--", 0) == 0, ExitCode::kInput,
                   "sweep file '{}': 'slurm.sbatch_args' must hold sbatch options such as \"--qos=long\"", path);
        o.sbatch_args.push_back(a.get<std::string>());
      }
    } else {
      XCEL_CHECK(v.is_string(), ExitCode::kInput, "sweep file '{}': 'slurm.{}' must be a string", path, k);
      const std::string s = v.get<std::string>();
      XCEL_CHECK(s.find_first_of("\n\r") == std::string::npos, ExitCode::kInput,
                 "sweep file '{}': 'slurm.{}' must be one line", path, k);
      if (k == "mem") o.mem = s;
      if (k == "time") o.time = s;
      if (k == "partition") o.partition = s;
      if (k == "account") o.account = s;
      if (k == "device_constraint") o.device_constraint = s;
      if (k == "device_gres") o.device_gres = s;
    }
  }
  return o;
}

// A path of the sweep file made absolute against the file's directory.
std::string resolve(const std::string& p, const std::string& base) {
  if (p.empty() || p[0] == '/') return p;
  return (stdfs::path(base) / p).lexically_normal().string();
}

std::string stem(const std::string& path) { return stdfs::path(path).stem().string(); }

std::optional<json> read_optional(const std::string& path) {
  if (!fs::exists(path)) return std::nullopt;
  try {
    return fs::read_json(path);
  } catch (const Error&) {
    return std::nullopt;  // a record cut short by a kill: as if there were none
  }
}

// The last line of the run's log that says what went wrong ("xcel: error: WHAT" gives WHAT), else its last line.
std::string last_error(const std::string& dir) {
  std::ifstream in(dir + "/" + kLog);
  std::string line, last, error;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    last = line;
    if (line.rfind("xcel: ", 0) == 0) error = line;
  }
  const std::string prefix = "xcel: error: ";  // quoted without it: a sweep's own error is its only such line
  if (error.rfind(prefix, 0) == 0) error = error.substr(prefix.size());
  return error.empty() ? last : error;
}

bool pid_alive(long pid) { return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM); }

// Slurm submissions of the sweep: [{"job": "123", "runs": [names by array index], "submitted": time}].
json read_jobs(const Sweep& s) {
  return read_optional(s.state_dir() + "/" + kJobs).value_or(json::array());
}

// Run name -> "JOB_INDEX" of its latest submission.
std::map<std::string, std::string> latest_jobs(const Sweep& s) {
  std::map<std::string, std::string> out;
  for (const auto& sub : read_jobs(s)) {
    const auto& runs = sub.at("runs");
    for (size_t i = 0; i < runs.size(); ++i) out[runs[i].get<std::string>()] = fmt::format("{}_{}", sub.at("job").get<std::string>(), i);
  }
  return out;
}

std::string episodes_text(const Run& r) {
  const auto state = read_optional(r.dir + "/" + RunDir::kState);
  const auto config = read_optional(r.dir + "/" + RunDir::kConfig);
  if (!state || !state->contains("next_episode")) return "";
  return fmt::format("{} of {} episodes", state->at("next_episode").get<int>(),
                     config ? config->value("episodes", 0) : 0);
}

// A run that stopped without finishing: resumable when it left a checkpoint. Keeps the job and exit code of `st`.
RunStatus stopped(const Run& r, RunStatus st, const std::string& why) {
  const bool checkpoint = fs::exists(r.dir + "/" + RunDir::kState);
  st.state = checkpoint ? State::kInterrupted : State::kFailed;
  const std::string episodes = episodes_text(r);
  st.detail = why + (episodes.empty() ? "" : "; " + episodes);
  return st;
}

}  // namespace

const Run& Sweep::run(const std::string& name) const {
  for (const auto& r : runs)
    if (r.name == name) return r;
  XCEL_FAIL(ExitCode::kUsage, "sweep '{}' has no run '{}'; `xcel sweep status {}` lists them", file, name, file);
}

Sweep load_sweep(const std::string& file) {
  XCEL_CHECK(fs::exists(file) && !fs::is_directory(file), ExitCode::kInput, "sweep file '{}' not found", file);
  const json j = fs::read_json(file);
  Sweep s;
  s.file = stdfs::absolute(file).lexically_normal().string();
  s.name = stem(file);
  const std::string base = stdfs::path(s.file).parent_path().string();
  File f(j, file);
  s.out = resolve(f.has("out") ? f.str(f.at("out"), "out") : "runs/" + s.name, base);
  if (f.has("backend")) s.backend = f.str(f.at("backend"), "backend");
  XCEL_CHECK(s.backend == "local" || s.backend == "slurm", ExitCode::kInput,
             "sweep file '{}': 'backend' must be local or slurm (got '{}')", file, s.backend);
  if (f.has("slurm")) s.slurm = parse_slurm(f.at("slurm"), file);

  std::vector<std::string> models = f.strings("models", true);
  XCEL_CHECK(!models.empty(), ExitCode::kInput, "sweep file '{}': 'models' lists no model", file);
  for (auto& m : models) {
    m = resolve(m, base);
    XCEL_CHECK(fs::exists(m), ExitCode::kInput, "sweep file '{}': model '{}' not found (relative paths are relative "
               "to the sweep file)", file, m);
  }
  std::string data;
  if (f.has("data")) {
    data = f.str(f.at("data"), "data");
    const std::string as_path = resolve(data, base);
    if (fs::exists(as_path)) data = as_path;  // a folder or file next to the sweep file; else a dataset name
  }
  const std::vector<double> flops = f.numbers("flops", 0, 1), latency = f.numbers("latency", 0, 1);
  XCEL_CHECK(!flops.empty() || !latency.empty(), ExitCode::kInput,
             "sweep file '{}': give budgets as 'flops' and/or 'latency' (lists of ratios of the original)", file);
  std::vector<std::string> agents = f.strings("agents", false);
  if (agents.empty()) agents = {"ddpg"};
  std::vector<int> seeds;
  if (f.has("seeds")) {
    XCEL_CHECK(f.at("seeds").is_array() && !f.at("seeds").empty(), ExitCode::kInput,
               "sweep file '{}': 'seeds' must be a non-empty list of integers", file);
    for (const auto& v : f.at("seeds")) {
      XCEL_CHECK(v.is_number_integer() && v.get<long long>() >= 0, ExitCode::kInput,
                 "sweep file '{}': 'seeds' must hold integers >= 0", file);
      seeds.push_back(v.get<int>());
    }
  } else {
    seeds = {0};
  }
  const bool named_targets = f.has("targets");
  std::vector<std::string> targets = f.strings("targets", false);
  if (targets.empty()) targets = {"host"};
  std::vector<device::TargetProfile> profiles;
  for (const auto& t : targets) profiles.push_back(device::load_target(t));  // an unknown name: exit 2, the known ones
  const std::vector<std::string> options = f.strings("options", false);
  for (const auto& opt : options) {
    const std::string flag = opt.substr(0, opt.find('='));
    XCEL_CHECK(std::find(kOwnOptions.begin(), kOwnOptions.end(), flag) == kOwnOptions.end(), ExitCode::kUsage,
               "sweep file '{}': 'options' gives {}, which the sweep sets for each run; use the fields models, data, "
               "flops, latency, agents, seeds, targets and out instead", file, flag);
  }

  std::set<std::string> names;
  for (const auto& model : models) {
    for (const auto& [kind, values] : {std::pair<std::string, std::vector<double>>{"flops", flops}, {"latency", latency}}) {
      for (double budget : values) {
        for (size_t t = 0; t < targets.size(); ++t) {
          for (const auto& agent : agents) {
            for (int seed : seeds) {
              Run r;
              r.model = model;
              r.agent = agent;
              r.target = targets[t];
              r.budget_kind = kind;
              r.budget = budget;
              r.seed = seed;
              r.name = fmt::format("{}-{}{}-{}{}-s{}", stem(model), kind, format_number(budget), agent,
                                   named_targets ? "-" + targets[t] : "", seed);
              XCEL_CHECK(names.insert(r.name).second, ExitCode::kInput,
                         "sweep file '{}': two runs would share the directory '{}' (two models with the same file "
                         "name, or a repeated value); rename one", file, r.name);
              r.dir = s.out + "/" + r.name;
              r.needs_device = kind == "latency" && profiles[t].kind == "android";
              if (r.needs_device) {
                // The sweep file knows the cluster: its placement overrides the one the target's profile ships with.
                const bool own = !s.slurm.device_constraint.empty() || !s.slurm.device_gres.empty();
                r.constraint = own ? s.slurm.device_constraint : profiles[t].slurm_constraint;
                r.gres = own ? s.slurm.device_gres : profiles[t].slurm_gres;
              }
              r.prune_args = {"prune", "--model", model, "--" + kind, format_number(budget), "--agent", agent,
                              "--seed", std::to_string(seed), "--target", targets[t]};
              if (!data.empty()) {
                r.prune_args.push_back("--data");
                r.prune_args.push_back(data);
              }
              r.prune_args.insert(r.prune_args.end(), options.begin(), options.end());
              r.prune_args.push_back("--out");
              r.prune_args.push_back(r.dir);
              s.runs.push_back(std::move(r));
            }
          }
        }
      }
    }
  }
  return s;
}

const char* state_name(State s) {
  switch (s) {
    case State::kFinished: return "finished";
    case State::kRunning: return "running";
    case State::kQueued: return "queued";
    case State::kInterrupted: return "interrupted";
    case State::kFailed: return "failed";
    case State::kNotStarted: return "not started";
  }
  return "?";
}

Queue read_queue() {
  Queue q;
  const ProcessResult r = run_process({"squeue", "-h", "-r", "-o", "%F_%K %T"}, 30);
  if (!r.started) return q;  // no Slurm client here
  q.available = true;
  if (r.exit_code != 0) {
    q.ok = false;
    return q;
  }
  std::istringstream in(r.out);
  std::string id, state;
  while (in >> id >> state) q.tasks[id] = state;
  return q;
}

std::vector<RunStatus> status(const Sweep& s, const Queue& q) {
  const std::map<std::string, std::string> jobs = latest_jobs(s);
  const std::string here = host_name();
  std::vector<RunStatus> out;
  for (const auto& r : s.runs) {
    RunStatus st;
    auto job = jobs.find(r.name);
    if (job != jobs.end()) st.job = job->second;
    const auto record = read_optional(r.dir + "/" + kTaskRecord);
    if (record && record->contains("exit_code") && !record->at("exit_code").is_null())
      st.exit_code = record->at("exit_code").get<int>();
    if (const auto sum = read_optional(r.dir + "/" + RunDir::kSummary)) {
      st.state = State::kFinished;
      st.summary = *sum;
      if (sum->contains("test_top1"))
        st.detail = fmt::format("val {:.2f}%, test {:.2f}%", 100 * sum->value("val_top1", 0.0), 100 * sum->value("test_top1", 0.0));
      out.push_back(st);
      continue;
    }
    // The scheduler knows best about a submitted task that has not ended.
    if (!st.job.empty() && q.available && q.tasks.count(st.job)) {
      const std::string& sq = q.tasks.at(st.job);
      st.state = sq == "RUNNING" || sq == "COMPLETING" ? State::kRunning : State::kQueued;
      st.detail = fmt::format("Slurm {} {}", st.job, sq);
      if (st.state == State::kRunning) {
        const std::string episodes = episodes_text(r);
        if (!episodes.empty()) st.detail += "; " + episodes;
      }
      out.push_back(st);
      continue;
    }
    if (record && record->value("state", "") == "running") {
      const std::string host = record->value("host", "");
      const std::string rjob = record->value("job", "");
      const bool alive = host == here ? pid_alive(record->value("pid", 0L))
                                      : !(q.available && q.ok && !rjob.empty());  // gone from the queue: ended
      if (alive) {
        st.state = State::kRunning;
        const std::string episodes = episodes_text(r);
        st.detail = "on " + host + (rjob.empty() ? "" : " (Slurm " + rjob + ")") + (episodes.empty() ? "" : "; " + episodes);
      } else {
        const std::string code = st.job.empty() ? "" : " (Slurm " + st.job + ")";
        st = stopped(r, st, "its task ended without saying how (killed?)" + code);
      }
      out.push_back(st);
      continue;
    }
    if (record) {
      const int code = st.exit_code;
      std::string why = code == 0 ? std::string("its task ended well but the summary is gone")
                        : code == static_cast<int>(ExitCode::kInterrupted) || code > 128
                            ? fmt::format("stopped by a signal (exit {})", code)
                            : fmt::format("exit {}: {}", code, last_error(r.dir));
      st = stopped(r, st, why);
      if (code >= 2 && code <= 7) st.state = State::kFailed;  // its own error: resuming repeats it
      out.push_back(st);
      continue;
    }
    if (fs::exists(r.dir + "/" + RunDir::kState)) {
      st = stopped(r, st, "a checkpoint without a task record");
    } else {
      st.state = State::kNotStarted;
    }
    out.push_back(st);
  }
  return out;
}

// ---- running one run -----------------------------------------------------------------------------------

int run_task(const Sweep& s, const Run& r, const std::string& xcel_exe) {
  const RunDir run(r.dir);
  if (run.has(RunDir::kSummary)) return 0;
  std::error_code ec;
  stdfs::create_directories(r.dir, ec);
  XCEL_CHECK(!ec, ExitCode::kInput, "cannot create the run directory '{}': {}", r.dir, ec.message());
  const bool resume = run.has_checkpoint();
  std::vector<std::string> argv = {xcel_exe};
  if (resume) {
    argv.insert(argv.end(), {"prune", "--resume", "--out", r.dir});
  } else {
    argv.insert(argv.end(), r.prune_args.begin(), r.prune_args.end());
    // Under Slurm the run uses the CPUs of its task unless the sweep's options say otherwise.
    const char* cpus = std::getenv("SLURM_CPUS_PER_TASK");
    const bool threads_given = std::any_of(r.prune_args.begin(), r.prune_args.end(), [](const std::string& a) {
      return a == "--threads" || a == "-t" || a.rfind("--threads=", 0) == 0;
    });
    if (cpus != nullptr && !threads_given) argv.insert(argv.end(), {"--threads", cpus});
  }
  const char* array_job = std::getenv("SLURM_ARRAY_JOB_ID");
  const char* array_task = std::getenv("SLURM_ARRAY_TASK_ID");
  const std::string job = array_job && array_task ? fmt::format("{}_{}", array_job, array_task) : "";
  json record = {{"state", "running"}, {"host", host_name()}, {"pid", static_cast<long>(::getpid())},
                 {"job", job},         {"started", now_text()}, {"resumed", resume}, {"exit_code", nullptr}};
  fs::write_file_atomic(run.file(kTaskRecord), record.dump(2) + "\n");
  {
    std::ofstream log(run.file(kLog), std::ios::app);
    log << "=== xcel sweep " << s.name << ": " << (resume ? "resuming " : "starting ") << r.name << " on "
        << host_name() << (job.empty() ? "" : " (Slurm " + job + ")") << " at " << now_text() << " ===\n";
  }
  std::string err;
  const int code = run_logged(argv, run.file(kLog), &err);
  XCEL_CHECK(code >= 0, ExitCode::kInternal, "cannot start '{}': {}", xcel_exe, err);
  record["state"] = "ended";
  record["exit_code"] = code;
  record["ended"] = now_text();
  fs::write_file_atomic(run.file(kTaskRecord), record.dump(2) + "\n");
  return code;
}

LocalSummary run_local(const Sweep& s, int jobs, const std::string& xcel_exe) {
  XCEL_CHECK(jobs >= 1, ExitCode::kUsage, "-j must be at least 1");
  RunDir(s.state_dir()).lock();  // one sweep process per sweep: a second one is refused, naming the first
  const std::vector<RunStatus> before = status(s, read_queue());
  std::vector<size_t> todo;
  LocalSummary sum;
  for (size_t i = 0; i < s.runs.size(); ++i) {
    const State st = before[i].state;
    if (st == State::kFinished) {
      ++sum.skipped;
    } else if (st == State::kRunning || st == State::kQueued) {
      spdlog::warn("sweep: {} is {} ({}); not run here", s.runs[i].name, state_name(st), before[i].detail);
      ++sum.skipped;
    } else {
      todo.push_back(i);
    }
  }
  spdlog::info("sweep {}: {} runs, {} to run ({} finished or elsewhere), {} at a time", s.name, s.runs.size(),
               todo.size(), sum.skipped, jobs);
  std::atomic<size_t> next{0};
  std::mutex mu;
  int started = 0;
  auto worker = [&] {
    for (;;) {
      if (stop_requested()) return;
      const size_t k = next++;
      if (k >= todo.size()) return;
      const Run& r = s.runs[todo[k]];
      const bool resume = fs::exists(r.dir + "/" + RunDir::kState);
      {
        std::lock_guard<std::mutex> lock(mu);
        ++started;
        spdlog::info("sweep: {} {} ({}/{})", resume ? "resuming" : "starting", r.name, started, todo.size());
      }
      const auto t0 = std::chrono::steady_clock::now();
      const int code = run_task(s, r, xcel_exe);
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::lock_guard<std::mutex> lock(mu);
      if (code == 0) {
        ++sum.finished;
        spdlog::info("sweep: {} finished in {:.0f} s", r.name, secs);
      } else if (code == static_cast<int>(ExitCode::kInterrupted) || code > 128) {
        ++sum.interrupted;
        spdlog::warn("sweep: {} interrupted after {:.0f} s; running the sweep again resumes it", r.name, secs);
      } else {
        ++sum.failed;
        sum.failed_runs.push_back(r.name);
        spdlog::error("sweep: {} FAILED (exit {}): {}", r.name, code, last_error(r.dir));
      }
    }
  };
  std::vector<std::thread> pool;
  for (int k = 0; k < std::min<int>(jobs, static_cast<int>(std::max<size_t>(todo.size(), 1))); ++k) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  return sum;
}

// ---- Slurm ----------------------------------------------------------------------------------------------

std::string sbatch_script(const Sweep& s, const std::vector<const Run*>& runs, const std::string& tasks_file,
                          const std::string& xcel_exe) {
  XCEL_ASSERT(!runs.empty(), "an array of no runs");
  std::string h = "#!/bin/bash\n";
  auto line = [&h](const std::string& opt) { h += "#SBATCH " + opt + "\n"; };
  line("--job-name=" + ("xcel-" + s.name));
  line(fmt::format("--array=0-{}{}", runs.size() - 1, s.slurm.max_parallel > 0 ? fmt::format("%{}", s.slurm.max_parallel) : ""));
  line(fmt::format("--cpus-per-task={}", s.slurm.cpus));
  line("--ntasks=1");
  if (!s.slurm.mem.empty()) line("--mem=" + s.slurm.mem);
  if (!s.slurm.time.empty()) line("--time=" + s.slurm.time);
  if (!s.slurm.partition.empty()) line("--partition=" + s.slurm.partition);
  if (!s.slurm.account.empty()) line("--account=" + s.slurm.account);
  if (!runs.front()->constraint.empty()) line("--constraint=" + runs.front()->constraint);
  if (!runs.front()->gres.empty()) line("--gres=" + runs.front()->gres);
  if (s.slurm.requeue) line("--requeue");
  // Time limit and preemption: SIGTERM first; the run saves its state, the requeued or resubmitted task resumes.
  line("--signal=TERM@60");
  line("--open-mode=append");
  line("--output=" + s.state_dir() + "/logs/%A_%a.log");
  line("--chdir=" + s.state_dir());
  for (const auto& a : s.slurm.sbatch_args) line(a);
  h += fmt::format("# xcel sweep {}: {} run(s); array task i runs line i+1 of the tasks file.\n", s.file, runs.size());
  h += "set -eu\n";
  h += "run=$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" " + shell_quote(tasks_file) + ")\n";
  h += "exec " + shell_quote(xcel_exe) + " sweep task " + shell_quote(s.file) + " --run \"$run\"\n";
  return h;
}

std::vector<Submission> submit_slurm(const Sweep& s, const SubmitOptions& o, const std::string& xcel_exe) {
  if (!o.dry_run) RunDir(s.state_dir()).lock();
  const Queue q = read_queue();
  XCEL_CHECK(o.dry_run || (q.available && q.ok), ExitCode::kUsage,
             "the slurm backend needs a working Slurm client: {}; install slurm-client or use --backend local",
             q.available ? "squeue failed (is slurmctld up?)" : "squeue is not on PATH");
  const std::vector<RunStatus> st = status(s, q);
  // Placement -> runs: runs anywhere, and the runs of each phone on the nodes that have it.
  std::map<std::pair<std::string, std::string>, std::vector<const Run*>> groups;
  for (size_t i = 0; i < s.runs.size(); ++i) {
    const Run& r = s.runs[i];
    const State state = st[i].state;
    if (state == State::kFinished || state == State::kRunning || state == State::kQueued) continue;
    if (state == State::kFailed && st[i].exit_code >= 2 && st[i].exit_code <= 7 && !o.retry_failed) {
      spdlog::warn("sweep: {} failed with an error of its own (exit {}); not resubmitted (fix it, then --retry-failed): {}",
                   r.name, st[i].exit_code, st[i].detail);
      continue;
    }
    XCEL_CHECK(!r.needs_device || !r.constraint.empty() || !r.gres.empty(), ExitCode::kUsage,
               "run {} measures on the phone of target '{}', and nothing says which Slurm nodes have it: add \"slurm\": "
               "{{\"constraint\": FEATURE}} (or \"gres\") to the target's profile, or slurm.device_constraint to the "
               "sweep file", r.name, r.target);
    groups[{r.constraint, r.gres}].push_back(&r);
  }
  std::vector<Submission> subs;
  if (groups.empty()) return subs;
  const std::string stamp = fmt::format("{}-{}", static_cast<long long>(std::time(nullptr)), ::getpid());
  int k = 0;
  for (const auto& [placement, runs] : groups) {
    Submission sub;
    const std::string tasks = fmt::format("{}/tasks-{}-{}.txt", s.state_dir(), stamp, k);
    const std::string script_path = fmt::format("{}/submit-{}-{}.sbatch", s.state_dir(), stamp, k);
    ++k;
    sub.script = sbatch_script(s, runs, tasks, xcel_exe);
    for (const Run* r : runs) sub.runs.push_back(r->name);
    if (!o.dry_run) {
      std::error_code ec;
      stdfs::create_directories(s.state_dir() + "/logs", ec);
      XCEL_CHECK(!ec, ExitCode::kInput, "cannot create '{}/logs': {}", s.state_dir(), ec.message());
      std::string names;
      for (const auto& n : sub.runs) names += n + "\n";
      fs::write_file_atomic(tasks, names);
      fs::write_file_atomic(script_path, sub.script);
      const ProcessResult r = run_process({"sbatch", "--parsable", script_path}, 60);
      XCEL_CHECK(r.started && r.exit_code == 0, ExitCode::kUsage, "sbatch refused the sweep's job array ({}); the "
                 "script is {}", r.started ? r.err.substr(0, r.err.find('\n')) : "sbatch is not on PATH", script_path);
      sub.job_id = r.out.substr(0, r.out.find_first_of(";\n"));
      json all = read_jobs(s);
      all.push_back({{"job", sub.job_id}, {"runs", sub.runs}, {"script", script_path}, {"submitted", now_text()}});
      fs::write_file_atomic(s.state_dir() + "/" + kJobs, all.dump(2) + "\n");
    }
    subs.push_back(std::move(sub));
  }
  return subs;
}

// ---- results --------------------------------------------------------------------------------------------

std::pair<std::string, std::string> collect(const Sweep& s, const Queue& q) {
  const std::vector<RunStatus> st = status(s, q);
  const std::vector<std::string> fields = {"flops_ratio", "val_top1", "test_top1_before", "test_top1",
                                           "latency_ms_before", "latency_ms", "speedup", "episodes",
                                           "seconds_per_episode"};
  std::string csv = "run,state,model,budget_kind,budget,agent,target,seed";
  for (const auto& f : fields) csv += "," + f;
  csv += ",finetuned_test_top1,out\n";
  std::vector<report::SweepEntry> entries;
  for (size_t i = 0; i < s.runs.size(); ++i) {
    const Run& r = s.runs[i];
    entries.push_back({r.name, r.dir, state_name(st[i].state), st[i].detail, stem(r.model), r.agent,
                       fmt::format("{} {}", r.budget_kind, format_number(r.budget)), r.target, r.seed,
                       st[i].summary});
    if (st[i].state != State::kFinished) continue;
    const json& sum = st[i].summary;
    csv += fmt::format("{},{},{},{},{},{},{},{}", r.name, state_name(st[i].state), stem(r.model), r.budget_kind,
                       format_number(r.budget), r.agent, r.target, r.seed);
    for (const auto& f : fields) csv += "," + (sum.contains(f) && !sum.at(f).is_null() ? sum.at(f).dump() : "");
    const bool ft = sum.contains("finetune") && sum.at("finetune").contains("test_top1");
    csv += "," + (ft ? sum.at("finetune").at("test_top1").dump() : "") + "," + r.dir + "\n";
  }
  std::error_code ec;
  stdfs::create_directories(s.out, ec);
  XCEL_CHECK(!ec, ExitCode::kInput, "cannot create '{}': {}", s.out, ec.message());
  const std::string csv_path = s.out + "/results.csv", html_path = s.out + "/sweep.html";
  fs::write_file_atomic(csv_path, csv);
  fs::write_file_atomic(html_path, report::render_sweep("xcel sweep " + s.name, entries));
  return {csv_path, html_path};
}

}  // namespace xcel::sweep
