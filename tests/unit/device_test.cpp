// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include <fstream>

#include "test_env.h"
#include "xcel/core/error.h"
#include "xcel/device/adb.h"
#include "xcel/device/roofline.h"
#include "xcel/device/target.h"

namespace xcel::device {
namespace {

TEST(Adb, DevicesListStatesAndModels) {
  auto d = parse_adb_devices(
      "* daemon started successfully\nList of devices attached\n"
      "FA7AB1A00123\tdevice usb:1-1 product:sailfish model:Pixel device:sailfish transport_id:3\n"
      "R58M12345\tunauthorized usb:1-2 transport_id:4\n"
      "emulator-5554\toffline transport_id:5\n\n");
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].serial, "FA7AB1A00123");
  EXPECT_EQ(d[0].model, "Pixel");
  EXPECT_EQ(d[1].state, "unauthorized");
  EXPECT_EQ(d[2].state, "offline");
}

TEST(Targets, BundledProfilesPassTheSchemaAndMatchRulesWork) {
  for (const char* name : {"pixel1", "pixel6", "galaxy-s23", "host"}) EXPECT_NO_THROW(device::load_target(name)) << name;
  const auto t = device::load_target("pixel1");
  EXPECT_EQ(t.kind, "android");
  EXPECT_EQ(t.benchmark.taskset, "c");
  EXPECT_TRUE(matches(t, {{"ro.product.model", "Pixel XL"}, {"ro.board.platform", "msm8996"}}));
  EXPECT_FALSE(matches(t, {{"ro.product.model", "Pixel XL"}, {"ro.board.platform", "gs101"}}));
}

TEST(Targets, SchemaErrorsNameTheField) {
  auto j = device::load_target("pixel1").raw;
  auto bad = j;
  bad["benchmark"]["taskset"] = "0xZZ";
  test::expect_error([&] { device::parse_target(bad, "t.json"); }, ExitCode::kInput, "'benchmark.taskset'");
  bad = j;
  bad["roofline"].erase("memory_gbs");
  test::expect_error([&] { device::parse_target(bad, "t.json"); }, ExitCode::kInput, "missing field 'roofline.memory_gbs'");
  bad = j;
  bad["round_too"] = 4;
  test::expect_error([&] { device::parse_target(bad, "t.json"); }, ExitCode::kInput, "unknown field 'round_too'");
  bad = j;
  bad.erase("device_match");
  test::expect_error([&] { device::parse_target(bad, "t.json"); }, ExitCode::kInput, "needs 'device_match'");
}

TEST(Targets, TrainingSectionHasDefaultsAndIsCheckedLikeTheRest) {
  auto j = device::load_target("pixel1").raw;
  TargetProfile t = parse_target(j, "t.json");
  EXPECT_EQ(t.training.remote_dir, "/data/local/tmp/xcel-train");
  EXPECT_EQ(t.training.binary, "/data/local/tmp/xcel-train/xcel");
  j["training"] = {{"remote_dir", "/sdcard/x"}, {"timeout_seconds", 60}};
  t = parse_target(j, "t.json");
  EXPECT_EQ(t.training.binary, "/sdcard/x/xcel");
  EXPECT_EQ(t.training.timeout_seconds, 60);
  j["training"] = {{"remote_dir", "relative"}};
  test::expect_error([&] { parse_target(j, "t.json"); }, ExitCode::kInput, "'training.remote_dir' must be an absolute path");
  j["training"] = {{"binry", "/x"}};
  test::expect_error([&] { parse_target(j, "t.json"); }, ExitCode::kInput, "unknown field 'training.binry'");
  auto host = device::load_target("host").raw;
  host["training"] = nlohmann::json::object();
  test::expect_error([&] { parse_target(host, "t.json"); }, ExitCode::kInput, "'training' is for android targets");
}

TEST(Adb, ElfAbiOfABinaryAndWhatADeviceRuns) {
  EXPECT_EQ(elf_abi("/proc/self/exe"), "x86_64");  // this test binary
  const std::string dir = ::testing::TempDir();
  auto header = [&](const std::string& name, unsigned machine) {
    const std::string path = dir + "/" + name;
    std::ofstream out(path, std::ios::binary);
    unsigned char h[64] = {0x7f, 'E', 'L', 'F', 2, 1, 1};
    h[18] = static_cast<unsigned char>(machine & 0xff);
    h[19] = static_cast<unsigned char>(machine >> 8);
    out.write(reinterpret_cast<const char*>(h), sizeof h);
    return path;
  };
  EXPECT_EQ(elf_abi(header("arm64", 183)), "arm64-v8a");
  EXPECT_EQ(elf_abi(header("arm", 40)), "armeabi-v7a");
  EXPECT_EQ(elf_abi(header("riscv", 243)), "");
  {
    std::ofstream out(dir + "/script");
    out << "#!/bin/sh\n";
  }
  EXPECT_EQ(elf_abi(dir + "/script"), "");
  EXPECT_EQ(elf_abi(dir + "/missing"), "");
  EXPECT_TRUE(abi_runs("arm64-v8a", "arm64-v8a"));
  EXPECT_TRUE(abi_runs("arm64-v8a", "armeabi-v7a"));
  EXPECT_FALSE(abi_runs("armeabi-v7a", "arm64-v8a"));
  EXPECT_FALSE(abi_runs("arm64-v8a", "x86_64"));
  EXPECT_FALSE(abi_runs("arm64-v8a", ""));
}

TEST(Targets, KnownProfilesLoadAndUnknownOnesAreListed) {
  auto t = load_target("pixel1");
  EXPECT_EQ(t.name, "pixel1");
  EXPECT_GE(t.round_to, 1);
  auto names = list_targets();
  EXPECT_GE(names.size(), 4u);
  test::expect_error([] { load_target("nokia3310"); }, ExitCode::kUsage, "known targets: ");
}

TEST(Roofline, TimeIsTheSlowerOfComputeAndMemoryPerLayer) {
  const auto t = load_target("pixel1");
  ir::ModelSummary s;
  ir::Layer compute;
  compute.flops = 86000000;  // 2 x 86 M FLOPs at 17.2 GFLOP/s = 10 ms, far above its memory time
  compute.input_shape = compute.output_shape = {1, 64, 28, 28};
  ir::Layer memory;  // no FLOPs: 4 bytes x (2 x 7.475 M elements) at 29.9 GB/s = 2 ms
  memory.input_shape = memory.output_shape = {1, 7475000};
  s.layers = {compute, memory};
  const RooflineTime one = roofline_time(t, s, 1);
  EXPECT_NEAR(one.ms, 12.0, 1e-9);
  EXPECT_EQ(one.cores, 1);
  const RooflineTime many = roofline_time(t, s, 8);
  EXPECT_EQ(many.cores, 2);  // capped at the profile's cores
  EXPECT_NEAR(many.ms, 7.0, 1e-9);
}

}  // namespace
}  // namespace xcel::device
