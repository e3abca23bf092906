// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Runs a program found on PATH with an argument vector (never through a host shell), capturing stdout and
/// stderr, with a timeout after which it is killed.
#include <string>
#include <vector>

namespace xcel {

struct ProcessResult {
  int exit_code = -1;  // -1 when it could not start or was killed
  bool started = false, timed_out = false;
  std::string out, err;
};

ProcessResult run_process(const std::vector<std::string>& argv, double timeout_seconds);

/// `s` as one single-quoted word for a POSIX shell (the device's `sh` behind `adb shell`).
std::string shell_quote(const std::string& s);

}  // namespace xcel
