#!/usr/bin/env bash
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
# Benchmark of a pool of phones sharing the latency table's measurements (prints a table; not a test): per bundled
# model and number of devices, `xcel latency table --target pixel1` against the fake adb (tests/fake_adb/adb) with
# its latency law and SECONDS of device time per benchmark run, each with a cache of its own: wall seconds to build,
# benchmark runs per device, and the largest relative difference
# from the table one phone builds (the fake phone's law is read from a profile of the model run, not bit-exact).
# usage: [MODELS="vgg resnet mobilenet"] [DEVICES="1 2 3"] [SECONDS_PER_RUN=0.2] bench/bench_device_pool.sh
set -euo pipefail
cd "$(dirname "$0")/.."
MODELS=${MODELS:-vgg resnet mobilenet}
DEVICES=${DEVICES:-1 2 3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-0.2}
B=$(realpath "${XCEL_BUILD_DIR:-build}")
OUT=${XCEL_BENCH_OUT:-$(mktemp -d)}
mkdir -p "$OUT"
py=/usr/bin/python3
echo "## Latency table of pixel1 on a pool of fake phones ($SECONDS_PER_RUN s of device time per benchmark run)"
echo "| model | devices | build s | speed-up | benchmark runs per device | largest difference from one device's table |"
echo "|---|---:|---:|---:|---|---|"
for m in $MODELS; do
  for n in $DEVICES; do
    dir="$OUT/$m-$n"
    rm -rf "$dir" && mkdir -p "$dir/device"
    start=$(date +%s.%N)
    PATH="$PWD/tests/fake_adb:$PATH" FAKE_ADB_ROOT="$dir/device" FAKE_ADB_BENCH="$B/xcel-bench" FAKE_ADB_LATENCY=law \
      FAKE_ADB_DEVICES="$n" FAKE_ADB_SECONDS="$SECONDS_PER_RUN" XCEL_CACHE_DIR="$dir/cache" XCEL_CONFIG_DIR="$PWD/configs" \
      "$B/xcel" -q latency table --model "models/$m.pt" --target pixel1 --latency-table "$dir/table.json" --json \
      > "$dir/out.json"
    end=$(date +%s.%N)
    $py - "$OUT" "$m" "$n" "$start" "$end" <<'PY'
import glob, json, os, sys
out, m, n, start, end = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
d = os.path.join(out, f"{m}-{n}")
secs = end - start
json.dump({"seconds": secs}, open(os.path.join(d, "time.json"), "w"))
one = os.path.join(out, f"{m}-1")
base = json.load(open(os.path.join(one, "time.json")))["seconds"] if os.path.exists(os.path.join(one, "time.json")) else None
counts = []
for f in sorted(glob.glob(os.path.join(d, "device", "benchmarks*.count"))):
    counts.append(open(f).read().strip())
values = lambda p: [v for l in json.load(open(p))["layers"] for v in l["ms"]]
a, b = values(os.path.join(one, "out.json")), values(os.path.join(d, "out.json"))
same = f"{100 * max(abs(p - q) / p for p, q in zip(a, b)):.1f}%" if len(a) == len(b) else "different grid"
speed = f"{base / secs:.2f}x" if base else ""
print(f"| {m} | {n} | {secs:.1f} | {speed} | {' + '.join(counts)} | {same} |")
PY
  done
done
echo "(runs in $OUT)"
