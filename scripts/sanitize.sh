#!/usr/bin/env bash
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
# The sanitizer run (part of .ci/run through scripts/test.sh): xcel's code built with AddressSanitizer and
# UndefinedBehaviorSanitizer in build-sanitize/, then the unit tests of the modules that parse outside input or
# manage files (core, data, device, prune, rl, latency; prune includes the random-graph property test) and the
# parser fuzzer for FUZZ_SECONDS (default 60) with FUZZ_SEED (default: the date, printed so a failure repeats).
# usage: scripts/sanitize.sh   (after scripts/setup.sh; the fixtures come from build/fixtures when present)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${XCEL_SANITIZE_BUILD_DIR:-build-sanitize}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache} CCACHE_BASEDIR=$PWD
cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXCEL_SANITIZE=ON >/dev/null
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
(cd "$B" && ctest -j2 -L unit --output-on-failure -E "^make_fixtures$" \
  -R "^(Core|Fs|RunDir|Json|Stats|Idx|Split|Cifar10|TensorData|ImageFolder|Augment|Target|Adb|Device|Roofline|Groups|Policy|Models|PruneModels|Repair|PerChannel|RandomGraphs|Ddpg|Parsers|LayerTable|Latency|Oracle|Profile|Predictor|Cache)")
