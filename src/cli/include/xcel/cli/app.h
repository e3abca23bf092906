// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once

namespace xcel::cli {

/// Parses the command line, runs one subcommand, and returns the process exit code (see ExitCode).
int run(int argc, char** argv);

}  // namespace xcel::cli
