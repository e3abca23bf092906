// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/core/error.h"

namespace xcel {

const char* exit_code_name(ExitCode code) {
  switch (code) {
    case ExitCode::kOk: return "ok";
    case ExitCode::kInternal: return "internal error";
    case ExitCode::kUsage: return "usage error";
    case ExitCode::kInput: return "bad input";
    case ExitCode::kUnsupported: return "unsupported model";
    case ExitCode::kBudget: return "budget cannot be met";
    case ExitCode::kDevice: return "device error";
    case ExitCode::kGate: return "regression gate failed";
    case ExitCode::kRunsFailed: return "runs of a sweep failed";
    case ExitCode::kInterrupted: return "interrupted";
  }
  return "unknown";
}

void throw_internal(const char* file, int line, const char* expr, const std::string& msg) {
  throw Error(ExitCode::kInternal,
              fmt::format("internal error at {}:{} ({}): {}; please report this as a bug", file, line, expr, msg));
}

}  // namespace xcel
