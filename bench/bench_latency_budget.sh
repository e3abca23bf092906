#!/usr/bin/env bash
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
# Benchmark of latency-budgeted searches on the host as the device (prints a table; not a test): the bundled
# models at latency budgets (fractions of the original measured in deploy form), each repeated; per run the
# measured latency of the result in deploy form (median of 5 rounds in turns with the original), whether the
# measurement met the budget, how many policies were measured to find one, and validation/test top-1.
# Exit 5 of a run (no searched policy met the budget when measured) is reported as such, never as a result.
# AGENTS compares the DDPG search with the uniform policy under the same measured budget (equal measured latency);
# the agent "flops" is a DDPG search under --flops at the FLOPs ratio of the same run's ddpg result (run ddpg
# first), whose speed-up is measured in deploy form the same way: what a FLOPs budget buys at that size.
# usage: [MODELS="vgg resnet mobilenet"] [BUDGETS="0.5 0.25"] [REPEAT=3] [AGENTS="ddpg uniform"] \
#        bench/bench_latency_budget.sh [EPISODES=100] [WARMUP=50] [THREADS=1]
set -euo pipefail
cd "$(dirname "$0")/.."
EPISODES=${1:-100}
WARMUP=${2:-50}
THREADS=${3:-1}
MODELS=${MODELS:-vgg resnet mobilenet}
BUDGETS=${BUDGETS:-0.5 0.25}
REPEAT=${REPEAT:-3}
AGENTS=${AGENTS:-ddpg}
B=${XCEL_BUILD_DIR:-build}
OUT=${XCEL_BENCH_OUT:-$(mktemp -d)}
mkdir -p "$OUT"
py=/usr/bin/python3
echo "## Latency-budgeted search on the host, $EPISODES episodes ($WARMUP warm-up), $THREADS thread(s), --reconstruct"
echo "| model | budget | agent | run | original ms | result ms | measured ratio | predicted ratio | within | policies measured | val top-1 | test top-1 | s |"
echo "|---|---:|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|"
for m in $MODELS; do
  for budget in $BUDGETS; do
    for r in $(seq 1 "$REPEAT"); do
     for agent in $AGENTS; do
      dir="$OUT/$m-$budget-$agent-$r"
      rm -rf "$dir"
      start=$(date +%s.%N)
      code=0
      if [ "$agent" = flops ]; then
        ref="$OUT/$m-$budget-ddpg-$r/summary.json"
        [ -f "$ref" ] || { echo "| $m | $budget | flops | $r | | | | | no ddpg result to match | | | | |"; continue; }
        fl=$($py -c "import json; print('%.4f' % json.load(open('$ref'))['flops_ratio'])")
        budget_args=(--flops "$fl")
        search_agent=ddpg
      else
        budget_args=(--latency "$budget")
        search_agent=$agent
      fi
      "$B/xcel" -q prune --model "models/$m.pt" --data fashion-mnist --target host "${budget_args[@]}" \
        --episodes "$EPISODES" --warmup "$WARMUP" --threads "$THREADS" --seed "$r" --reconstruct --agent "$search_agent" \
        --out "$dir" > /dev/null 2> "$dir.err" || code=$?
      secs=$($py -c "import time; print('%.0f' % (time.time() - $start))")
      if [ "$code" -ne 0 ]; then
        echo "| $m | $budget | $agent | $r | | | | | exit $code: $(head -c 160 "$dir.err") | | | | $secs |"
        continue
      fi
      $py - "$dir/summary.json" "$m" "$budget" "$r" "$secs" "$agent" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
m, budget, r, secs, agent = sys.argv[2:7]
if agent == "flops":
    # A FLOPs search: its speed-up was measured in deploy form in turns with the original.
    ratio = 1 / s["speedup"]
    print(f"| {m} | {budget} | flops {s['flops_ratio']:.3f} | {r} | | | {ratio:.3f} | | "
          f"{'yes' if ratio <= float(budget) else 'NO'} | | {100 * s['val_top1']:.2f}% | {100 * s['test_top1']:.2f}% | {secs} |")
    sys.exit(0)
pred = s["latency_predicted_ms"] / s["latency_predicted_ms_before"]
print(f"| {m} | {budget} | {agent} | {r} | {s['latency_measured_ms_before']:.4f} | {s['latency_measured_ms']:.4f} | "
      f"{s['latency_measured_ratio']:.3f} | {pred:.3f} | {'yes' if s['latency_verified'] else 'NO'} | "
      f"{len(s['latency_verification'])} | {100 * s['val_top1']:.2f}% | {100 * s['test_top1']:.2f}% | {secs} |")
PY
     done
    done
  done
done
echo "(runs in $OUT)"
