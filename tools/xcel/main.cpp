// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/cli/app.h"
#include "xcel/core/runtime.h"

int main(int argc, char** argv) {
  xcel::runtime::ensure_passive_omp(argv);
  return xcel::cli::run(argc, argv);
}
