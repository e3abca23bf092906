#!/usr/bin/env bash
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
# Quick start, tests: sets everything up (scripts/setup.sh), then runs the whole test suite with ctest
# (fixtures are generated first by tests/fixtures/make_fixtures.py; Debian's chromium is installed too, for the
# browser checks of the HTML reports). Extra arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
XCEL_WITH_TEST_TOOLS=1 scripts/setup.sh
cd "${XCEL_BUILD_DIR:-build}"
exec ctest --output-on-failure -j 2 "$@"
