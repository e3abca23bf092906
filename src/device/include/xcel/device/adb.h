// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Android devices over adb: listing, getprop facts, matching a device to a target profile, and the adb
/// client every device-side command goes through (argument vectors, no host shell). No LibTorch here.
#include <string>
#include <utility>
#include <vector>

#include "xcel/core/subprocess.h"
#include "xcel/device/target.h"

namespace xcel::device {

struct AdbDevice {
  std::string serial, state;  // state: device | unauthorized | offline | ...
  std::string model, product;  // from `adb devices -l` (when the device is authorized)
};

/// Runs `adb ARGS...` with a timeout; Error(kDevice) when adb cannot be started.
ProcessResult adb(const std::vector<std::string>& args, double timeout);
/// The first non-blank line of a command's output ("(no output)" when there is none), for error messages.
std::string first_line(const std::string& s);
/// True when adb's output says the device went away (unplugged, offline, unauthorized).
bool device_gone(const std::string& text);

/// `adb -s SERIAL shell COMMAND` (COMMAND built from shell_quote'd words). Error(kDevice) when the device went away,
/// saying it did so `during` ("the benchmark", "fine-tuning").
ProcessResult adb_shell(const std::string& serial, const std::string& command, double timeout, const std::string& during);
/// True when `remote` exists on the device (`test -e`); Error(kDevice) when the device went away.
bool adb_exists(const std::string& serial, const std::string& remote, const std::string& during);
/// Copies a file to / from the device; Error(kDevice) naming the file when it fails or the device went away.
void adb_push(const std::string& serial, const std::string& local, const std::string& remote, double timeout);
void adb_pull(const std::string& serial, const std::string& remote, const std::string& local, double timeout);
/// The Android ABI an ELF executable is built for (arm64-v8a, armeabi-v7a, x86_64, x86); "" when the file is not ELF
/// (or for another machine).
std::string elf_abi(const std::string& path);
/// True when a device whose ro.product.cpu.abi is `device_abi` runs binaries built for `binary_abi`.
bool abi_runs(const std::string& device_abi, const std::string& binary_abi);

/// Parses `adb devices -l` output.
std::vector<AdbDevice> parse_adb_devices(const std::string& text);
/// Runs `adb devices -l`; Error(kDevice) when adb is missing or fails.
std::vector<AdbDevice> adb_devices();
/// getprop values of a device (the keys asked for, plus model / SoC / ABI).
std::vector<std::pair<std::string, std::string>> adb_getprops(const std::string& serial,
                                                              const std::vector<std::string>& keys);
/// True when every rule of the target's device_match accepts the device's properties.
bool matches(const TargetProfile& target, const std::vector<std::pair<std::string, std::string>>& props);


/// A connected device as `xcel devices` shows it: adb's state, the getprop facts of a usable device, and the
/// names of the phone targets whose rules it matches ("pixel1, pixel1-xl").
struct ConnectedDevice {
  std::string serial, state, model;
  std::vector<std::pair<std::string, std::string>> props;
  std::string targets;
  std::string prop(const std::string& key) const;
};
std::vector<ConnectedDevice> connected_devices();

struct SelectedDevice {
  std::string serial;
  std::vector<std::pair<std::string, std::string>> props;  // model first, then SoC, ABI and the profile's keys
};
/// The device to measure `target` on: `serial` when given (a warning if it does not match), else the first
/// connected device that matches the profile. Error(kDevice) that says what to do when none can be used.
SelectedDevice select_device(const TargetProfile& target, const std::string& serial);
/// The devices to share `target`'s measurements: those of `serials` ("A,B"; each as select_device), else every
/// connected device that matches the profile (the first as select_device picks it, then the others).
std::vector<SelectedDevice> select_devices(const TargetProfile& target, const std::string& serials);

}  // namespace xcel::device
