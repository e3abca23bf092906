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

/// Runs a program (a path, or a name on PATH) with stdout and stderr appended to `log_path`, and waits for it
/// without a timeout. SIGINT and SIGTERM that reach this process meanwhile are passed on to every such child (which
/// decides how to stop: xcel saves its state); stop_requested() says whether one arrived. Returns the exit code,
/// 128 + N when a signal N ended it, or -1 when it could not start (`err` says why).
int run_logged(const std::vector<std::string>& argv, const std::string& log_path, std::string* err);

/// True once SIGINT or SIGTERM reached this process while run_logged children ran (or after).
bool stop_requested();

/// `s` as one single-quoted word for a POSIX shell (the device's `sh` behind `adb shell`).
std::string shell_quote(const std::string& s);

}  // namespace xcel
