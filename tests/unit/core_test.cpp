// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include <unistd.h>

#include "test_env.h"
#include "xcel/core/error.h"
#include "xcel/core/fs.h"
#include "xcel/core/power.h"
#include "xcel/core/run_dir.h"
#include "xcel/core/runtime.h"
#include "xcel/core/stats.h"
#include "xcel/core/subprocess.h"

namespace xcel {
namespace {

TEST(Stats, MedianPercentilesAndSpread) {
  Stats s = summarize({5, 1, 4, 2, 3});
  EXPECT_EQ(s.n, 5);
  EXPECT_DOUBLE_EQ(s.median, 3);
  EXPECT_DOUBLE_EQ(s.mean, 3);
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 5);
  EXPECT_DOUBLE_EQ(s.p10, 1.4);
  EXPECT_DOUBLE_EQ(s.p90, 4.6);
  EXPECT_NEAR(s.std, 1.5811388, 1e-6);
  EXPECT_EQ(summarize({}).n, 0);
}

TEST(Stats, MedianIntervalIsTheNotchAndShrinksWithSamples) {
  // IQR of {1..5} is 4 - 2 = 2: 1.58 x 2 / sqrt(5).
  EXPECT_NEAR(median_interval({5, 1, 4, 2, 3}), 1.58 * 2 / std::sqrt(5.0), 1e-12);
  // The same spread in four times the samples: half the interval.
  std::vector<double> twenty;
  for (int k = 0; k < 4; ++k)
    for (double v : {1.0, 2.0, 3.0, 4.0, 5.0}) twenty.push_back(v);
  EXPECT_LT(median_interval(twenty), 0.6 * median_interval({1, 2, 3, 4, 5}));
  EXPECT_TRUE(std::isinf(median_interval({3})));
}

TEST(Power, BatteryEnergyIsPowerTimesTimeAndItsAbsenceIsSaid) {
  const std::string root = ::testing::TempDir() + "/power_supply";
  std::filesystem::remove_all(root);
  auto put = [&](const std::string& dev, const std::string& file, const std::string& value) {
    std::filesystem::create_directories(root + "/" + dev);
    std::ofstream(root + "/" + dev + "/" + file) << value << "\n";
  };
  put("AC", "type", "Mains");
  put("AC", "online", "1");
  ::setenv("XCEL_POWER_SUPPLY", root.c_str(), 1);
  {
    EnergyMeter none(0.01);
    const EnergyReading e = none.stop();
    EXPECT_EQ(e.status, "unavailable");
    EXPECT_NE(e.why.find("no battery under"), std::string::npos) << e.why;
  }
  put("BAT0", "type", "Battery");
  put("BAT0", "status", "Charging");
  put("BAT0", "power_now", "7500000");  // a laptop: microwatts
  std::string why;
  EXPECT_EQ(find_battery(root, &why), root + "/BAT0");
  bool charging = false;
  EXPECT_DOUBLE_EQ(battery_watts(root + "/BAT0", &charging), 7.5);
  EXPECT_TRUE(charging);
  put("BAT0", "status", "Discharging");
  put("BAT0", "current_now", "-500000");  // a phone: microamps, negative while discharging
  put("BAT0", "voltage_now", "4000000");
  EnergyMeter meter(0.01);
  std::this_thread::sleep_for(std::chrono::milliseconds(120));
  const EnergyReading e = meter.stop();
  EXPECT_EQ(e.status, "measured");
  EXPECT_FALSE(e.charging);
  EXPECT_GE(e.samples, 3);
  EXPECT_NEAR(e.mean_watts, 2.0, 1e-9);
  EXPECT_NEAR(e.joules, 2.0 * e.seconds, 1e-9);
  EXPECT_GE(e.seconds, 0.12);
  EXPECT_DOUBLE_EQ(meter.stop().joules, e.joules);  // stopping twice reads the same
  ::unsetenv("XCEL_POWER_SUPPLY");
}

TEST(Error, CheckThrowsWithCodeAndMessage) {
  test::expect_error([] { XCEL_CHECK(1 + 1 == 3, ExitCode::kBudget, "budget {} too small", 0.1); },
                     ExitCode::kBudget, "budget 0.1 too small");
  EXPECT_NO_THROW(XCEL_CHECK(true, ExitCode::kInput, "never"));
  test::expect_error([] { XCEL_ASSERT(false, "broken {}", 1); }, ExitCode::kInternal, "broken 1");
}

TEST(Error, ExitCodesAreDistinctAndNamed) {
  EXPECT_STREQ(exit_code_name(ExitCode::kInput), "bad input");
  EXPECT_EQ(static_cast<int>(ExitCode::kUsage), 2);
  EXPECT_EQ(static_cast<int>(ExitCode::kInterrupted), 130);
}

TEST(Fs, WriteAtomicReplacesWholeFileAndLeavesNoTemp) {
  auto dir = std::filesystem::temp_directory_path() / "xcel_fs_test";
  std::filesystem::create_directories(dir);
  std::string path = (dir / "out.txt").string();
  fs::write_file_atomic(path, "first");
  fs::write_file_atomic(path, "second");
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "second");
  for (const auto& e : std::filesystem::directory_iterator(dir))
    EXPECT_EQ(e.path().filename(), "out.txt") << "left behind: " << e.path();
  std::filesystem::remove_all(dir);
  test::expect_error([] { fs::write_file_atomic("/nonexistent-dir/x.txt", "x"); }, ExitCode::kInput,
                     "/nonexistent-dir/x.txt");
}

TEST(Shell, QuotingKeepsOneWord) {
  EXPECT_EQ(shell_quote("a b"), "'a b'");
  EXPECT_EQ(shell_quote("it's;rm"), "'it'\\''s;rm'");
  ProcessResult r = run_process({"sh", "-c", "printf '%s|' " + shell_quote("x y;z 'q'")}, 10);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "x y;z 'q'|");
  ProcessResult slow = run_process({"sleep", "5"}, 0.2);
  EXPECT_TRUE(slow.timed_out);
  EXPECT_FALSE(run_process({"no-such-program-xcel"}, 1).started);
}

// A scratch directory removed at the end of the test.
struct ScratchDir {
  std::filesystem::path path = std::filesystem::temp_directory_path() / ("xcel_core_test_" + std::to_string(::getpid()));
  ScratchDir() {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~ScratchDir() { std::filesystem::remove_all(path); }
  std::string str() const { return path.string(); }
};

TEST(RunDir, NewRunRefusesInputsOtherRunsAndFiles) {
  ScratchDir tmp;
  const RunDir run(tmp.str() + "/run");
  EXPECT_NO_THROW(run.start_new("search", {tmp.str() + "/model.pt"}));
  // An input that is the directory itself, or that a run would write over.
  test::expect_error([&] { run.start_new("search", {run.path()}); }, ExitCode::kUsage, "would overwrite the input model");
  run.create();
  run.write(RunDir::kBest, "weights");
  test::expect_error([&] { run.start_new("search", {run.file(RunDir::kBest)}); }, ExitCode::kUsage,
                     "would overwrite the input model");
  // A directory that holds a run (a checkpoint, or a finished summary) is not started again.
  run.write_state({{"next_episode", 3}});
  test::expect_error([&] { run.start_new("search", {}); }, ExitCode::kUsage, "already holds a search; continue it with --resume");
  EXPECT_NO_THROW(run.require_checkpoint("search"));
  const RunDir done(tmp.str() + "/done");
  done.create();
  done.write_json(RunDir::kSummary, {{"ok", true}});
  test::expect_error([&] { done.start_new("fine-tuning run", {}); }, ExitCode::kUsage, "already holds a fine-tuning run");
  // --out naming a file.
  test::expect_error([&] { RunDir(run.file(RunDir::kBest)).start_new("search", {}); }, ExitCode::kUsage, "is not a directory");
  test::expect_error([] { RunDir("").start_new("search", {}); }, ExitCode::kUsage, "--out DIR is required");
}

TEST(RunDir, ResumeNeedsACheckpointAndReadsTheSavedConfig) {
  ScratchDir tmp;
  const RunDir run(tmp.str() + "/run");
  test::expect_error([&] { run.require_checkpoint("search"); }, ExitCode::kInput, "has no checkpoint of a search");
  run.create();
  run.write_json(RunDir::kConfig, {{"episodes", 7}});
  EXPECT_EQ(run.resumed_config<nlohmann::json>().at("episodes"), 7);
  run.write(RunDir::kConfig, "{ not json");
  test::expect_error([&] { run.resumed_config<nlohmann::json>(); }, ExitCode::kInput, "config.json");
}

TEST(RunDir, LinesStateAndInterruptMessage) {
  ScratchDir tmp;
  const RunDir run(tmp.str());
  run.create();
  EXPECT_TRUE(run.read_lines(RunDir::kEpisodes).empty());
  run.write_lines(RunDir::kEpisodes, {"{\"a\":1}", "{\"a\":2}"});
  EXPECT_EQ(run.read_lines(RunDir::kEpisodes), (std::vector<std::string>{"{\"a\":1}", "{\"a\":2}"}));
  run.write_state({{"epoch", 2}});
  EXPECT_EQ(run.read_state().at("epoch"), 2);
  EXPECT_EQ(run.sub(RunDir::kFinetuneDir).path(), tmp.str() + "/finetune");
  test::expect_error([&] { run.interrupted("after episode 3/9", "prune"); }, ExitCode::kInterrupted,
                     "interrupted after episode 3/9; state saved, continue with: xcel prune --resume --out " + tmp.str());
}

TEST(Runtime, TestBinariesUseOpenBlas) {
  // Every xcel executable, test binaries included, links OpenBLAS first (CMakeLists.txt).
  auto info = runtime::blas_info();
  EXPECT_TRUE(info.is_openblas) << "sgemm_ comes from " << info.library;
  EXPECT_TRUE(fs::exists(info.library)) << info.library;
  EXPECT_FALSE(info.config.empty());
}

}  // namespace
}  // namespace xcel
