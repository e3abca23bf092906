// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "xcel/core/error.h"

namespace xcel::test {

/// Directory written by tests/fixtures/make_fixtures.py (XCEL_FIXTURES overrides the build's).
inline std::string fixtures() {
  const char* dir = std::getenv("XCEL_FIXTURES");
  return dir != nullptr ? dir : XCEL_TEST_FIXTURES;
}

inline std::string source_dir() {
  const char* dir = std::getenv("XCEL_SOURCE_DIR");
  return dir != nullptr ? dir : XCEL_TEST_SOURCE_DIR;
}

/// Runs `fn` and expects an xcel::Error with `code` whose message contains `needle`.
template <typename Fn>
void expect_error(Fn fn, xcel::ExitCode code, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "expected an error containing '" << needle << "'";
  } catch (const xcel::Error& e) {
    EXPECT_EQ(static_cast<int>(e.code()), static_cast<int>(code)) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "error must be one line: " << e.what();
  }
}

}  // namespace xcel::test
