// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// Device discovery and matching over adb. Every device-side command is built from single-quoted words.
#include "xcel/device/adb.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "xcel/core/error.h"
#include "xcel/core/log.h"

namespace xcel::device {

ProcessResult adb(const std::vector<std::string>& args, double timeout) {
  std::vector<std::string> argv{"adb"};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessResult r = run_process(argv, timeout);
  XCEL_CHECK(r.started, ExitCode::kDevice, "cannot run adb ({}); install Debian's adb package (scripts/setup.sh does)",
             r.err);
  return r;
}

std::string first_line(const std::string& s) {
  const auto start = s.find_first_not_of(" \r\n\t");
  if (start == std::string::npos) return "(no output)";
  const auto end = s.find_first_of("\r\n", start);
  return s.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

bool device_gone(const std::string& text) {
  for (const char* m : {"not found", "no devices", "device offline", "error: closed", "device unauthorized",
                        "protocol fault", "connection reset"})
    if (text.find(m) != std::string::npos) return true;
  return false;
}

ProcessResult adb_shell(const std::string& serial, const std::string& command, double timeout, const std::string& during) {
  ProcessResult r = adb({"-s", serial, "shell", command}, timeout);
  if (!r.timed_out && r.exit_code != 0 && device_gone(r.err + r.out))
    XCEL_FAIL(ExitCode::kDevice, "device {} was disconnected during {} ({}); reconnect it and run again", serial, during,
              first_line(r.err + r.out));
  return r;
}

bool adb_exists(const std::string& serial, const std::string& remote, const std::string& during) {
  return adb_shell(serial, "test -e " + shell_quote(remote) + " && echo present", 30, during).out.find("present") !=
         std::string::npos;
}

namespace {

// `adb -s SERIAL push|pull FROM TO`; `file` is the side named in errors.
void adb_copy(const std::string& serial, const char* verb, const std::string& from, const std::string& to,
              double timeout, const char* while_doing) {
  ProcessResult r = adb({"-s", serial, verb, from, to}, timeout);
  if (r.exit_code != 0 && device_gone(r.err + r.out))
    XCEL_FAIL(ExitCode::kDevice, "device {} was disconnected while {} '{}' ({}); reconnect it", serial, while_doing,
              from, first_line(r.err + r.out));
  XCEL_CHECK(r.exit_code == 0, ExitCode::kDevice, "adb {} of '{}' ({}) failed: {}", verb, from, serial,
             r.timed_out ? fmt::format("timed out after {:.0f} s", timeout) : first_line(r.err + r.out));
}

}  // namespace

void adb_push(const std::string& serial, const std::string& local, const std::string& remote, double timeout) {
  adb_copy(serial, "push", local, remote, timeout, "receiving");
}

void adb_pull(const std::string& serial, const std::string& remote, const std::string& local, double timeout) {
  adb_copy(serial, "pull", remote, local, timeout, "sending");
}

std::string elf_abi(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char h[20] = {};
  if (!in.read(reinterpret_cast<char*>(h), sizeof h) || h[0] != 0x7f || h[1] != 'E' || h[2] != 'L' || h[3] != 'F')
    return "";
  const bool little = h[5] == 1;
  const unsigned machine = little ? h[18] | (h[19] << 8) : (h[18] << 8) | h[19];
  switch (machine) {
    case 183: return "arm64-v8a";
    case 40: return "armeabi-v7a";
    case 62: return "x86_64";
    case 3: return "x86";
    default: return "";
  }
}

bool abi_runs(const std::string& device_abi, const std::string& binary_abi) {
  if (binary_abi.empty()) return false;
  return device_abi == binary_abi || (device_abi == "arm64-v8a" && binary_abi == "armeabi-v7a") ||
         (device_abi == "x86_64" && binary_abi == "x86");
}

std::vector<AdbDevice> parse_adb_devices(const std::string& text) {
  std::vector<AdbDevice> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.rfind("List of devices", 0) == 0 || line[0] == '*') continue;
    std::istringstream words(line);
    AdbDevice d;
    if (!(words >> d.serial >> d.state)) continue;
    std::string w;
    while (words >> w) {
      if (w.rfind("model:", 0) == 0) d.model = w.substr(6);
      if (w.rfind("product:", 0) == 0) d.product = w.substr(8);
    }
    out.push_back(d);
  }
  return out;
}

std::vector<AdbDevice> adb_devices() {
  ProcessResult r = adb({"devices", "-l"}, 30);
  if (r.exit_code != 0 && r.err.find("daemon") != std::string::npos) r = adb({"devices", "-l"}, 30);  // server was starting
  XCEL_CHECK(r.exit_code == 0, ExitCode::kDevice, "'adb devices -l' failed: {}", first_line(r.err + r.out));
  return parse_adb_devices(r.out);
}

std::vector<std::pair<std::string, std::string>> adb_getprops(const std::string& serial,
                                                              const std::vector<std::string>& keys) {
  std::vector<std::string> all{"ro.product.model", "ro.board.platform", "ro.soc.model", "ro.product.cpu.abi"};
  for (const auto& k : keys)
    if (std::find(all.begin(), all.end(), k) == all.end()) all.push_back(k);
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& k : all) {
    ProcessResult r = adb({"-s", serial, "shell", "getprop " + shell_quote(k)}, 30);
    XCEL_CHECK(r.exit_code == 0, ExitCode::kDevice, "device {} did not answer getprop {}: {}; reconnect it", serial, k,
               first_line(r.err + r.out));
    std::string v = r.out;
    while (!v.empty() && (v.back() == '\n' || v.back() == '\r' || v.back() == ' ')) v.pop_back();
    out.push_back({k, v});
  }
  return out;
}

bool matches(const TargetProfile& t, const std::vector<std::pair<std::string, std::string>>& props) {
  for (const auto& [key, accepted] : t.device_match) {
    std::string value;
    for (const auto& [k, v] : props)
      if (k == key) value = v;
    if (std::find(accepted.begin(), accepted.end(), value) == accepted.end()) return false;
  }
  return !t.device_match.empty();
}

std::string ConnectedDevice::prop(const std::string& key) const {
  for (const auto& [k, v] : props)
    if (k == key) return v;
  return "";
}

std::vector<ConnectedDevice> connected_devices() {
  std::vector<TargetProfile> phones;
  std::vector<std::string> keys;
  for (const auto& name : list_targets()) {
    TargetProfile p = load_target(name);
    if (p.device_match.empty()) continue;  // not a device found over adb
    for (const auto& [k, v] : p.device_match) keys.push_back(k);
    phones.push_back(std::move(p));
  }
  std::vector<ConnectedDevice> out;
  for (const auto& d : adb_devices()) {
    ConnectedDevice c{d.serial, d.state, d.model, {}, ""};
    if (d.state == "device") {
      c.props = adb_getprops(d.serial, keys);
      if (!c.prop("ro.product.model").empty()) c.model = c.prop("ro.product.model");
      for (const auto& p : phones)
        if (matches(p, c.props)) c.targets += (c.targets.empty() ? "" : ", ") + p.name;
    }
    out.push_back(std::move(c));
  }
  return out;
}

SelectedDevice select_device(const TargetProfile& target, const std::string& serial) {
  SelectedDevice out;
  const auto devices = adb_devices();
  XCEL_CHECK(!devices.empty(), ExitCode::kDevice,
             "no Android device connected ('adb devices' lists none); connect the {} with USB debugging on, or use "
             "--target host",
             target.name);
  auto usable = [&](const AdbDevice& d) {
    XCEL_CHECK(d.state != "unauthorized", ExitCode::kDevice,
               "device {} is unauthorized: unlock it and accept the USB debugging prompt, then run again", d.serial);
    XCEL_CHECK(d.state != "offline", ExitCode::kDevice,
               "device {} is offline: reconnect the cable or run 'adb reconnect', then run again", d.serial);
    XCEL_CHECK(d.state == "device", ExitCode::kDevice, "device {} is in state '{}', not ready; reconnect it", d.serial,
               d.state);
  };
  std::vector<std::string> keys;
  for (const auto& [k, v] : target.device_match) keys.push_back(k);
  if (!serial.empty()) {
    auto it = std::find_if(devices.begin(), devices.end(), [&](const AdbDevice& d) { return d.serial == serial; });
    XCEL_CHECK(it != devices.end(), ExitCode::kDevice, "device {} is not connected ('adb devices' lists {})",
               serial, [&] {
                 std::string s;
                 for (const auto& d : devices) s += (s.empty() ? "" : ", ") + d.serial;
                 return s;
               }());
    usable(*it);
    out.props = adb_getprops(it->serial, keys);
    if (!matches(target, out.props))
      spdlog::warn("device {} does not match target {}'s rules; measuring it as asked (--serial)", it->serial,
                   target.name);
    out.serial = it->serial;
  } else {
    std::string seen;
    const AdbDevice* blocked = nullptr;
    for (const auto& d : devices) {
      if (d.state != "device") {
        blocked = blocked ? blocked : &d;
        continue;
      }
      auto props = adb_getprops(d.serial, keys);
      seen += (seen.empty() ? "" : ", ") + d.serial + " (" + props.front().second + ")";
      if (matches(target, props)) {
        out.serial = d.serial;
        out.props = props;
        break;
      }
    }
    if (out.serial.empty() && blocked) usable(*blocked);  // the only candidates cannot be used: say why
    XCEL_CHECK(!out.serial.empty(), ExitCode::kDevice,
               "no connected device matches target '{}' (connected: {}); pass --serial to measure one anyway",
               target.name, seen.empty() ? "none ready" : seen);
  }
  std::string desc;
  for (const auto& [k, v] : out.props) desc += fmt::format(" {}={}", k, v);
  spdlog::info("adb: using device {}:{}", out.serial, desc);
  return out;
}

std::vector<SelectedDevice> select_devices(const TargetProfile& target, const std::string& serials) {
  std::vector<SelectedDevice> out;
  if (!serials.empty()) {
    std::string rest = serials;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const std::string s = rest.substr(0, comma);
      rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
      if (s.empty()) continue;
      XCEL_CHECK(std::none_of(out.begin(), out.end(), [&](const SelectedDevice& d) { return d.serial == s; }),
                 ExitCode::kUsage, "--serial names device {} twice", s);
      out.push_back(select_device(target, s));
    }
    XCEL_CHECK(!out.empty(), ExitCode::kUsage, "--serial '{}' names no device", serials);
    return out;
  }
  out.push_back(select_device(target, ""));
  std::vector<std::string> keys;
  for (const auto& [k, v] : target.device_match) keys.push_back(k);
  for (const auto& d : adb_devices()) {
    if (d.state != "device" || d.serial == out.front().serial) continue;
    auto props = adb_getprops(d.serial, keys);
    if (matches(target, props)) out.push_back({d.serial, props});
  }
  if (out.size() > 1) spdlog::info("adb: {} devices match target {}; they share the measurements", out.size(), target.name);
  return out;
}

}  // namespace xcel::device
