#!/usr/bin/env bash
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
# Sweeps models x FLOPs budgets x agents with `xcel prune --flops`, one run directory per combination, and
# collects the results into one CSV. A run directory that holds a finished run is skipped, a half-finished one
# (a checkpoint, no summary) is resumed, so the sweep can be interrupted and started again. Several sweeps may
# share an output directory: each run directory is locked while a sweep works on it.
#
# usage: scripts/batch_prune.sh [-j JOBS] [-o OUT_DIR] [-m "vgg resnet"] [-f "0.5 0.25"] [-a "ddpg uniform"]
#                               [-- EXTRA XCEL PRUNE OPTIONS]
#   models are names in models/ (models/NAME.pt) or paths to .pt files
#   defaults: -j 1 -o runs/batch -m "vgg resnet mobilenet" -f "0.5 0.25" -a "ddpg random uniform"
#   extra options default to: --data fashion-mnist --target pixel1 --reconstruct --episodes 300 --threads 1
# output: OUT_DIR/<model>-<flops>-<agent>/ (run directories), OUT_DIR/results.csv
# exit: 0 when every run finished, 1 when some failed (their logs: OUT_DIR/<run>/xcel.log)
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=1 OUT=runs/batch MODELS="vgg resnet mobilenet" BUDGETS="0.5 0.25" AGENTS="ddpg random uniform"
while getopts "j:o:m:f:a:h" opt; do
  case $opt in
    j) JOBS=$OPTARG ;; o) OUT=$OPTARG ;; m) MODELS=$OPTARG ;; f) BUDGETS=$OPTARG ;; a) AGENTS=$OPTARG ;;
    h) sed -n '3,16p' "$0"; exit 0 ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
EXTRA=("$@")
[ ${#EXTRA[@]} -eq 0 ] && EXTRA=(--data fashion-mnist --target pixel1 --reconstruct --episodes 300 --threads 1)
B=${XCEL_BUILD_DIR:-build}
[ -x "$B/xcel" ] || bash scripts/setup.sh
XCEL=$(cd "$B" && pwd)/xcel
mkdir -p "$OUT"

# One run: skip if finished, resume if half-finished, else start; a lock directory keeps two sweeps apart.
run_one() {
  local model=$1 flops=$2 agent=$3
  local path=$model
  [ -f "$path" ] || path=models/$model.pt
  local name
  name=$(basename "$path" .pt)-$flops-$agent
  local dir=$OUT/$name
  mkdir -p "$dir"
  if ! mkdir "$dir/.batch-lock" 2>/dev/null; then
    echo "batch: $name is being run by another sweep; skipped" >&2
    return 0
  fi
  trap 'rmdir "$dir/.batch-lock" 2>/dev/null' RETURN
  if [ -f "$dir/summary.json" ]; then
    echo "batch: $name finished before; skipped" >&2
  elif [ -f "$dir/checkpoint/state.json" ]; then
    echo "batch: $name resuming" >&2
    "$XCEL" -q prune --resume --out "$dir" > /dev/null 2> "$dir/xcel.log" || { echo "batch: $name FAILED (see $dir/xcel.log)" >&2; return 1; }
  else
    echo "batch: $name starting" >&2
    "$XCEL" -q prune --model "$path" --flops "$flops" --agent "$agent" "${EXTRA[@]}" --out "$dir" > /dev/null \
      2> "$dir/xcel.log" || { echo "batch: $name FAILED (see $dir/xcel.log)" >&2; return 1; }
  fi
}
export -f run_one
export OUT XCEL
export EXTRA_STR="${EXTRA[*]}"

status=0
for m in $MODELS; do for f in $BUDGETS; do for a in $AGENTS; do echo "$m $f $a"; done; done; done |
  xargs -P "$JOBS" -L 1 bash -c 'EXTRA=($EXTRA_STR); run_one "$0" "$1" "$2"' || status=1

/usr/bin/python3 - "$OUT" <<'PY'
import csv, json, os, sys
out = sys.argv[1]
fields = ["run", "model", "agent", "flops_target", "flops_ratio", "val_top1", "test_top1_before", "test_top1",
          "latency_ms_before", "latency_ms", "speedup", "episodes", "seconds_per_episode", "out"]
rows = []
for name in sorted(os.listdir(out)):
    path = os.path.join(out, name, "summary.json")
    if os.path.isfile(path):
        s = json.load(open(path))
        rows.append({"run": name, **{k: s.get(k, "") for k in fields if k != "run"}})
tmp = os.path.join(out, ".results.csv.tmp")
with open(tmp, "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=fields)
    w.writeheader()
    w.writerows(rows)
os.replace(tmp, os.path.join(out, "results.csv"))
print(os.path.join(out, "results.csv"))
PY
exit $status
