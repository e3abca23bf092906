#!/usr/bin/env bash
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
# The sanitizer run (scripts/test.sh, and so .ci/run, runs it after the test suite): xcel's code built with AddressSanitizer and
# UndefinedBehaviorSanitizer in build-sanitize/, then the unit tests of the modules that parse outside input or
# manage files (core, data, device, prune, rl, latency; prune includes the random-graph property test) and the
# parser fuzzer for FUZZ_SECONDS (default 60) with FUZZ_SEED (default: the date, printed so a failure repeats).
# usage: scripts/sanitize.sh   (after scripts/setup.sh; the fixtures of build/fixtures, generated when missing)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${XCEL_SANITIZE_BUILD_DIR:-build-sanitize}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache} CCACHE_BASEDIR=$PWD
cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O0 -g1" -DXCEL_SANITIZE=ON >/dev/null
TESTS="core_test data_test device_test prune_test rl_test latency_test"
# shellcheck disable=SC2086
cmake --build "$B" -j2 --target xcel-fuzz $TESTS
# LibTorch is not instrumented: its one-time allocations at exit are not leaks of xcel's, and its libraries were
# not built for ODR checks.
export ASAN_OPTIONS=detect_leaks=0:detect_odr_violation=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
seed=${FUZZ_SEED:-$(date +%Y%m%d)}
echo "== xcel-fuzz under ASan+UBSan: seed $seed, ${FUZZ_SECONDS:-60} s"
"$B/xcel-fuzz" --seed "$seed" --seconds "${FUZZ_SECONDS:-60}"
echo "== unit tests under ASan+UBSan"
# One process per test binary (each LibTorch start-up costs seconds under ASan), the suites named below.
FILTER="Core*:Fs*:RunDir*:Json*:Stats*:Idx*:Split*:Cifar10*:TensorData*:ImageFolder*:Augment*:Target*:Adb*:Device*:Roofline*"
FILTER="$FILTER:Groups*:Policy*:*PruneModels*:Repair*:PerChannel*:RandomGraphs*:Ddpg*:Parsers*:LayerTable*:Latency*"
FILTER="$FILTER:Oracle*:Profile*:Predictor*:Cache*"
# Without the torchvision-size models (minutes each at -O0 under ASan; the normal suite proves them) and with the
# first 60 random graphs.
FILTER="$FILTER-*/resnet18:*/mobilenet_v2:*/resnext"
export XCEL_RANDOM_GRAPHS_MAX=${XCEL_RANDOM_GRAPHS_MAX:-60}
export XCEL_FIXTURES=${XCEL_FIXTURES:-$PWD/build/fixtures} XCEL_LOG_LEVEL=warn
[ -f "$XCEL_FIXTURES/expected.json" ] || /usr/bin/python3 tests/fixtures/make_fixtures.py "$XCEL_FIXTURES" >/dev/null
failed=0
for t in $TESTS; do
  echo "-- $t"
  "$B/tests/$t" --gtest_filter="$FILTER" --gtest_brief=1 || failed=1
done
exit $failed
