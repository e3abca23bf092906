#!/usr/bin/env bash
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
# Sets up everything xcel needs on Debian 12 and builds it: installs missing Debian packages (apt, as root
# or through sudo), configures with CMake and builds with Ninja into build/ (override with XCEL_BUILD_DIR).
# Safe to run again: it installs and rebuilds only what is missing or changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  g++ cmake ninja-build ccache pkg-config
  libtorch-dev libeigen3-dev libcli11-dev libspdlog-dev nlohmann-json3-dev libgtest-dev librapidcheck-dev zlib1g-dev libstb-dev
  libopenblas-dev adb dataset-fashion-mnist python3-torch python3-torchvision
)
# The test suite also renders reports in a real browser and runs sweeps on a one-node Slurm cluster it starts
# itself (scripts/test.sh sets XCEL_WITH_TEST_TOOLS=1).
[ "${XCEL_WITH_TEST_TOOLS:-0}" = 1 ] && PACKAGES+=(chromium slurmctld slurmd slurm-client munge)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "xcel setup: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q >&2
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

BUILD_DIR=${XCEL_BUILD_DIR:-build}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
# Paths below the checkout are hashed relative to it, so another clone (CI) reuses the same cache entries.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
fi
cmake --build "$BUILD_DIR" -j 2 >&2
