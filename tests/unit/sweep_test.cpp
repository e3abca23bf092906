// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "test_env.h"
#include "xcel/core/fs.h"
#include "xcel/sweep/sweep.h"

namespace xcel::sweep {
namespace {

namespace stdfs = std::filesystem;

// A directory with a sweep file (and two empty "models" beside it, which is all load_sweep looks at).
class SweepFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "xcel_sweep_" + std::to_string(::getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    stdfs::remove_all(dir_);
    stdfs::create_directories(dir_ + "/models");
    std::ofstream(dir_ + "/models/a.pt") << "x";
    std::ofstream(dir_ + "/models/b.pt") << "x";
  }
  void TearDown() override { stdfs::remove_all(dir_); }
  std::string write(const std::string& content) {
    const std::string path = dir_ + "/sweep.json";
    std::ofstream(path) << content;
    return path;
  }
  static void put(const std::string& path, const std::string& content) {
    stdfs::create_directories(stdfs::path(path).parent_path());
    std::ofstream(path) << content;
  }
  std::string dir_;
};

TEST_F(SweepFile, ExpandsEveryCombinationIntoNamedRunsWithTheirArguments) {
  const Sweep s = load_sweep(write(R"({"models": ["models/a.pt", "models/b.pt"], "flops": [0.5, 0.25],
      "latency": [0.5], "agents": ["ddpg", "uniform"], "seeds": [0, 1], "data": "fashion-mnist",
      "options": ["--episodes", "20", "--threads", "1"]})"));
  EXPECT_EQ(s.runs.size(), 2u * 3u * 2u * 2u);
  EXPECT_EQ(s.out, dir_ + "/runs/sweep");  // relative to the file, named after it
  const sweep::Run& r = s.run("a-flops0.25-uniform-s1");
  EXPECT_EQ(r.dir, s.out + "/a-flops0.25-uniform-s1");
  const std::vector<std::string> args = {"prune", "--model", dir_ + "/models/a.pt", "--flops", "0.25", "--agent",
                                         "uniform", "--seed", "1", "--target", "host", "--data", "fashion-mnist",
                                         "--episodes", "20", "--threads", "1", "--out", r.dir};
  EXPECT_EQ(r.prune_args, args);
  EXPECT_FALSE(s.run("b-latency0.5-ddpg-s0").needs_device);  // the host measures itself
  test::expect_error([&] { s.run("c-flops0.5-ddpg-s0"); }, ExitCode::kUsage, "has no run 'c-flops0.5-ddpg-s0'");
}

TEST_F(SweepFile, PhoneLatencyRunsNeedAPlacementAndFlopsRunsGoAnywhere) {
  const Sweep s = load_sweep(write(R"({"models": ["models/a.pt"], "flops": [0.5], "latency": [0.5],
      "targets": ["pixel1"], "slurm": {"cpus": 2, "device_constraint": "pixel1-attached", "time": "01:00:00"}})"));
  const sweep::Run& flops = s.run("a-flops0.5-ddpg-pixel1-s0");
  const sweep::Run& lat = s.run("a-latency0.5-ddpg-pixel1-s0");
  EXPECT_FALSE(flops.needs_device);
  EXPECT_TRUE(lat.needs_device);
  EXPECT_EQ(lat.constraint, "pixel1-attached");
  const std::string script = sbatch_script(s, {&lat}, "/tmp/tasks.txt", "/usr/bin/xcel");
  for (const char* line : {"#SBATCH --array=0-0\n", "#SBATCH --cpus-per-task=2\n", "#SBATCH --time=01:00:00\n",
                           "#SBATCH --constraint=pixel1-attached\n", "#SBATCH --requeue\n", "#SBATCH --signal=TERM@60\n",
                           "sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" '/tmp/tasks.txt'",
                           "exec '/usr/bin/xcel' sweep task '"})
    EXPECT_NE(script.find(line), std::string::npos) << line << " not in\n" << script;
  EXPECT_EQ(sbatch_script(s, {&flops}, "/tmp/t", "x").find("--constraint"), std::string::npos);
}

TEST_F(SweepFile, BadFilesAreRefusedNamingTheField) {
  test::expect_error([&] { load_sweep(write(R"({"models": ["models/a.pt"], "flops": [0.5], "modles": []})")); },
                     ExitCode::kInput, "unknown field 'modles'");
  test::expect_error([&] { load_sweep(write(R"({"models": ["models/zz.pt"], "flops": [0.5]})")); }, ExitCode::kInput,
                     "models/zz.pt' not found");
  test::expect_error([&] { load_sweep(write(R"({"models": ["models/a.pt"]})")); }, ExitCode::kInput,
                     "give budgets as 'flops' and/or 'latency'");
  test::expect_error([&] { load_sweep(write(R"({"models": ["models/a.pt"], "flops": [1.5]})")); }, ExitCode::kInput,
                     "'flops[0]' must be a number in (0, 1]");
  test::expect_error([&] { load_sweep(write(R"({"models": ["models/a.pt"], "flops": [0.5], "options": ["--out=x"]})")); },
                     ExitCode::kUsage, "gives --out, which the sweep sets");
  test::expect_error([&] { load_sweep(write(R"({"models": ["models/a.pt"], "flops": [0.5], "slurm": {"cpu": 2}})")); },
                     ExitCode::kInput, "unknown field 'slurm.cpu'");
  test::expect_error([&] { load_sweep(write(R"({"models": ["models/a.pt"], "flops": [0.5, 0.5]})")); }, ExitCode::kInput,
                     "share the directory 'a-flops0.5-ddpg-s0'");
  test::expect_error([&] { load_sweep(write("[1, 2]")); }, ExitCode::kInput, "must hold a JSON object");
  test::expect_error([&] { load_sweep(dir_ + "/none.json"); }, ExitCode::kInput, "not found");
}

TEST_F(SweepFile, StatusReadsTheRunDirectoriesAndTaskRecords) {
  const Sweep s = load_sweep(write(R"({"models": ["models/a.pt"], "flops": [0.5, 0.4, 0.3, 0.2, 0.1]})"));
  // 0.5 finished; 0.4 ended by a signal after saving a checkpoint; 0.3 failed with its own error; 0.2 a task
  // recorded as running whose process is gone; 0.1 never started.
  put(s.run("a-flops0.5-ddpg-s0").dir + "/summary.json", R"({"val_top1": 0.9, "test_top1": 0.85})");
  const std::string interrupted = s.run("a-flops0.4-ddpg-s0").dir;
  put(interrupted + "/checkpoint/state.json", R"({"next_episode": 7})");
  put(interrupted + "/config.json", R"({"episodes": 20})");
  put(interrupted + "/sweep-task.json", R"({"state": "ended", "exit_code": 130, "host": "h", "pid": 1, "job": ""})");
  const std::string failed = s.run("a-flops0.3-ddpg-s0").dir;
  put(failed + "/sweep-task.json", R"({"state": "ended", "exit_code": 3, "host": "h", "pid": 1, "job": ""})");
  put(failed + "/xcel.log", "=== start ===\nxcel: error: data 'idx:/nope' not found\n");
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  put(s.run("a-flops0.2-ddpg-s0").dir + "/sweep-task.json",
      std::string(R"({"state": "running", "exit_code": null, "job": "", "pid": 999999999, "host": ")") + host + "\"}");
  const std::vector<RunStatus> st = status(s, Queue{});
  ASSERT_EQ(st.size(), 5u);
  EXPECT_EQ(st[0].state, State::kFinished);
  EXPECT_EQ(st[0].detail, "val 90.00%, test 85.00%");
  EXPECT_EQ(st[1].state, State::kInterrupted);
  EXPECT_NE(st[1].detail.find("7 of 20 episodes"), std::string::npos) << st[1].detail;
  EXPECT_EQ(st[2].state, State::kFailed);
  EXPECT_EQ(st[2].exit_code, 3);
  EXPECT_NE(st[2].detail.find("exit 3: data 'idx:/nope' not found"), std::string::npos) << st[2].detail;
  EXPECT_EQ(st[3].state, State::kFailed);  // no checkpoint to resume from
  EXPECT_NE(st[3].detail.find("ended without saying how"), std::string::npos) << st[3].detail;
  EXPECT_EQ(st[4].state, State::kNotStarted);
}

TEST_F(SweepFile, TheQueueDecidesForSubmittedRuns) {
  const Sweep s = load_sweep(write(R"({"models": ["models/a.pt"], "flops": [0.5, 0.4]})"));
  put(s.out + "/.sweep/jobs.json", R"([{"job": "41", "runs": ["a-flops0.5-ddpg-s0", "a-flops0.4-ddpg-s0"]}])");
  Queue q;
  q.available = true;
  q.tasks = {{"41_0", "RUNNING"}, {"41_1", "PENDING"}};
  const std::vector<RunStatus> st = status(s, q);
  EXPECT_EQ(st[0].state, State::kRunning);
  EXPECT_EQ(st[0].job, "41_0");
  EXPECT_EQ(st[1].state, State::kQueued);
  // Gone from the queue with a record that still says running (the task was killed): stopped, not running.
  put(s.run("a-flops0.5-ddpg-s0").dir + "/sweep-task.json",
      R"({"state": "running", "exit_code": null, "job": "41_0", "pid": 1, "host": "elsewhere"})");
  q.tasks.clear();
  EXPECT_EQ(status(s, q)[0].state, State::kFailed);
}

}  // namespace
}  // namespace xcel::sweep
