// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// Test main: like xcel's launcher, make OpenMP threads wait passively (libgomp reads OMP_WAIT_POLICY when it
// loads, so the binary re-executes itself once with it set); spinning threads collapse when ctest runs two
// tests on two cores.
#include <gtest/gtest.h>

#include "xcel/core/runtime.h"

int main(int argc, char** argv) {
  xcel::runtime::ensure_passive_omp(argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
