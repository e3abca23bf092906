#!/usr/bin/env bash
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
# Quick start, tests: sets everything up (scripts/setup.sh), then runs the whole test suite with ctest
# (fixtures are generated first by tests/fixtures/make_fixtures.py; Debian's chromium is installed too, for the
# browser checks of the HTML reports), then the sanitizer run (scripts/sanitize.sh: ASan+UBSan build of the
# parsing and file-handling modules, their unit tests and 30 s of the parser fuzzer; XCEL_SANITIZE=0 skips it).
# Extra arguments go to ctest, and then only ctest runs.
set -euo pipefail
cd "$(dirname "$0")/.."
XCEL_WITH_TEST_TOOLS=1 scripts/setup.sh
status=0
(cd "${XCEL_BUILD_DIR:-build}" && ctest --output-on-failure -j 2 "$@") || status=$?
if [ $# -eq 0 ] && [ "${XCEL_SANITIZE:-1}" = 1 ]; then
  XCEL_FIXTURES=${XCEL_FIXTURES:-$PWD/${XCEL_BUILD_DIR:-build}/fixtures} FUZZ_SECONDS=${FUZZ_SECONDS:-30} \
    bash scripts/sanitize.sh || status=1
fi
exit $status
