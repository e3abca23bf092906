// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Errors with intent. XCEL_CHECK is for bad input from the user (the message says what is wrong and how
/// to fix it); XCEL_ASSERT is for bugs in xcel. `main` maps each ExitCode to the process exit status.
///   XCEL_CHECK(file_exists(p), ExitCode::kInput, "model file '{}' not found", p);
#include <stdexcept>
#include <string>

#include <spdlog/fmt/fmt.h>

namespace xcel {

/// Documented process exit codes (README "Exit codes"; `xcel --help`).
enum class ExitCode : int {
  kOk = 0,
  kInternal = 1,      // a bug in xcel
  kUsage = 2,         // bad command line: unknown flag, malformed or out-of-range value
  kInput = 3,         // bad input: missing/corrupt model or data file, input shape the model rejects
  kUnsupported = 4,   // the model has something xcel cannot handle (unsupported layer, nothing prunable)
  kBudget = 5,        // a budget that cannot be met
  kDevice = 6,        // target device missing, unauthorized, offline or lost mid-run
  kGate = 7,          // a regression gate failed (accuracy, FLOPs or latency bound broken)
  kRunsFailed = 8,    // a sweep ended with runs that failed (xcel sweep status names them and their errors)
  kInterrupted = 130  // interrupted by a signal (state saved where the command supports resuming)
};

const char* exit_code_name(ExitCode code);

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

[[noreturn]] void throw_internal(const char* file, int line, const char* expr, const std::string& msg);

}  // namespace xcel

#define XCEL_CHECK(cond, code, ...)                              \
  do {                                                           \
    if (!(cond)) throw ::xcel::Error((code), fmt::format(__VA_ARGS__)); \
  } while (0)

#define XCEL_FAIL(code, ...) throw ::xcel::Error((code), fmt::format(__VA_ARGS__))

#define XCEL_ASSERT(cond, ...)                                                             \
  do {                                                                                     \
    if (!(cond)) ::xcel::throw_internal(__FILE__, __LINE__, #cond, fmt::format(__VA_ARGS__)); \
  } while (0)
