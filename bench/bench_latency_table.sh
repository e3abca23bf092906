#!/usr/bin/env bash
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
# Benchmark of the latency table a latency-budgeted search builds (prints a table; not a test): per bundled model
# and repeat, a fresh table measured on the host as the device (`xcel latency table`, its own cache directory),
# checked on CHECK random prunings measured whole in deploy form: share within +-10%, relative RMSE, the channel
# multiple the probe found, seconds to build, and the floor (the uniform policy at --lbound LBOUND, measured, over
# the original).
# usage: [MODELS="vgg resnet mobilenet"] [REPEAT=3] [CHECK=30] [LBOUND=0.1] bench/bench_latency_table.sh [THREADS=1]
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${1:-1}
MODELS=${MODELS:-vgg resnet mobilenet}
REPEAT=${REPEAT:-3}
CHECK=${CHECK:-30}
LBOUND=${LBOUND:-0.1}
B=${XCEL_BUILD_DIR:-build}
OUT=${XCEL_BENCH_OUT:-$(mktemp -d)}
mkdir -p "$OUT"
py=/usr/bin/python3
echo "## Latency table on the host, $THREADS thread(s), checked on $CHECK random prunings (--lbound $LBOUND)"
echo "| model | run | round to | grid points | build s | within ±10% | RMSE rel. | measured/predicted | floor |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for m in $MODELS; do
  for r in $(seq 1 "$REPEAT"); do
    dir="$OUT/$m-$r"
    rm -rf "$dir" && mkdir -p "$dir"
    XCEL_CACHE_DIR="$dir/cache" "$B/xcel" -q latency table --model "models/$m.pt" --target host --threads "$THREADS" \
      --check "$CHECK" --seed "$r" --lbound "$LBOUND" --json > "$dir/table.json"
    $py - "$dir/table.json" "$m" "$r" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
m, r = sys.argv[2:4]
i, c = t["info"], t["check"]
cal = i["calibration"]
print(f"| {m} | {r} | {t['rounding']['round_to']} | {i['points']} | {i['seconds']:.1f} | {100 * c['within_10pct']:.0f}% | "
      f"{100 * c['rmse_relative']:.1f}% | {c['measured_over_predicted']['median']:.3f} | "
      f"{cal[-1]['measured_ms'] / cal[0]['measured_ms']:.3f} |")
PY
  done
done
echo "(runs in $OUT)"
