#!/usr/bin/env bash
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
# Benchmark of depth in the search (prints tables; not a test). Bundled ResNet (one residual block) and MobileNet
# (five plain stride-1 blocks) on Fashion-MNIST, the clean validation split (--split-seed 0), latency budgets
# measured on the host in deploy form. Every policy is retrained RETRAIN batches before it is scored
# (--retrain-steps; 0 = off) in every mode alike.
# PARTS (default "1 2 3"):
#   1. width only / depth only (--depth-only) / both (--remove-layers) at latency LAT, agent ddpg: measured latency
#      ratio, blocks removed, val and test top-1 as searched and test top-1 after FT epochs of fine-tuning;
#   2. the removal decisions alone (--depth-only at FLOPS of the FLOPs on MobileNet): ddpg, dqn and random at equal
#      episodes;
#   3. transfer: MobileNet --remove-layers --latency TLAT --platform-state on target host (1 thread, A) and host-2t
#      (2 threads, B): B from scratch and B started from A's agent (--init-agent, no warm-up): the episode at which
#      each first reaches 99% of B-from-scratch's best reward.
# usage: [PARTS="1 2 3"] [MODELS="resnet mobilenet"] [LAT=0.5] [TLAT=0.6] [FLOPS=0.6] [RETRAIN=20] [FT=1] \
#        bench/bench_depth.sh [EPISODES=60] [WARMUP=30]
set -euo pipefail
cd "$(dirname "$0")/.."
EPISODES=${1:-60}
WARMUP=${2:-30}
PARTS=${PARTS:-1 2 3}
MODELS=${MODELS:-resnet mobilenet}
LAT=${LAT:-0.5}
TLAT=${TLAT:-0.6}
FLOPS=${FLOPS:-0.6}
RETRAIN=${RETRAIN:-20}
FT=${FT:-1}
B=${XCEL_BUILD_DIR:-build}
OUT=${XCEL_BENCH_OUT:-$(mktemp -d)}
mkdir -p "$OUT"
XCEL=$B/xcel
COMMON=(--data fashion-mnist --split-seed 0 --retrain-steps "$RETRAIN")

search() {  # DIR ARGS...: one search; a budget nothing meets leaves DIR/exit5 instead of a summary
  local dir=$1
  shift
  rm -rf "$dir"
  local code=0
  "$XCEL" -q prune --out "$dir" "${COMMON[@]}" "$@" > "$dir.log" 2>&1 || code=$?
  if [[ $code == 5 ]]; then
    mkdir -p "$dir" && tail -1 "$dir.log" > "$dir/exit5"
  elif [[ $code != 0 ]]; then
    echo "FAILED ($code): $XCEL prune --out $dir $*" >&2
    tail -3 "$dir.log" >&2
    exit 1
  fi
}

row() {  # LABEL... DIR: one table row from a run directory
  /usr/bin/python3 - "$@" <<'PY'
import json, os, sys
*labels, d = sys.argv[1:]
head = "| " + " | ".join(labels) + " | "
if os.path.exists(d + "/exit5"):
    print(head + "budget not met (exit 5): " + open(d + "/exit5").read().strip().replace("|", "/")[:160] + " |||||||")
    sys.exit()
s = json.load(open(d + "/summary.json"))
ft = s.get("finetune", {}).get("test_top1")
lat = s.get("latency_measured_ratio")
print(head + (f"{lat:.3f}" if lat is not None else "-") + f" | {s['flops_ratio']:.3f} | "
      + f"{len(s.get('removed_blocks', []))}/{len(s.get('blocks', [])) or '-'} | {100 * s['val_top1']:.2f}% | "
      + f"{100 * s['test_top1']:.2f}% | " + (f"{100 * ft:.2f}% | " if ft is not None else "- | ")
      + f"{s['seconds_per_episode']:.2f} | {s['best_episode']} |")
PY
}

if [[ " $PARTS " == *" 1 "* ]]; then
  echo "## 1. Width, depth, both: latency $LAT on the host (1 thread), ddpg, $EPISODES episodes ($WARMUP warm-up), retrain $RETRAIN batches"
  echo "| model | mode | measured latency ratio | FLOPs ratio | blocks removed | val top-1 | test top-1 | test after $FT epoch(s) | s/episode | best episode |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for m in $MODELS; do
    for mode in width depth both; do
      flag=()
      [[ $mode == depth ]] && flag=(--depth-only)
      [[ $mode == both ]] && flag=(--remove-layers)
      dir="$OUT/p1-$m-$mode"
      search "$dir" --model "models/$m.pt" --latency "$LAT" --target host --threads 1 "${flag[@]}" \
        --episodes "$EPISODES" --warmup "$WARMUP" --finetune-epochs "$FT"
      row "$m" "$mode" "$dir"
    done
  done
fi

if [[ " $PARTS " == *" 2 "* ]]; then
  echo
  echo "## 2. Removal decisions alone: MobileNet --depth-only --flops $FLOPS, $EPISODES episodes ($WARMUP warm-up), retrain $RETRAIN batches"
  echo "| model | agent | measured latency ratio | FLOPs ratio | blocks removed | val top-1 | test top-1 | test after fine-tuning | s/episode | best episode | distinct policies |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for agent in ddpg dqn random; do
    dir="$OUT/p2-$agent"
    search "$dir" --model models/mobilenet.pt --depth-only --flops "$FLOPS" --target host --threads 1 \
      --agent "$agent" --episodes "$EPISODES" --warmup "$WARMUP"
    echo "$(row mobilenet "$agent" "$dir" | sed 's/ |$//') | $(/usr/bin/python3 -c "import json; print(json.load(open('$dir/summary.json'))['unique_policies'])") |"
  done
fi

if [[ " $PARTS " == *" 3 "* ]]; then
  echo
  echo "## 3. Transfer: MobileNet --remove-layers --latency $TLAT --platform-state, target host (1 thread, A) -> host-2t (2 threads, B), $EPISODES episodes"
  a="$OUT/p3-A-t1"
  search "$a" --model models/mobilenet.pt --remove-layers --latency "$TLAT" --target host --threads 1 --platform-state \
    --episodes "$EPISODES" --warmup "$WARMUP"
  b="$OUT/p3-B-t2-scratch"
  search "$b" --model models/mobilenet.pt --remove-layers --latency "$TLAT" --target host-2t --threads 1 --platform-state \
    --episodes "$EPISODES" --warmup "$WARMUP"
  t="$OUT/p3-B-t2-from-A"
  search "$t" --model models/mobilenet.pt --remove-layers --latency "$TLAT" --target host-2t --threads 1 --platform-state \
    --episodes "$EPISODES" --init-agent "$a"
  /usr/bin/python3 - "$a" "$b" "$t" <<'PY'
import json, sys
a, b, t = sys.argv[1:4]
def eps(d):
    return [json.loads(l) for l in open(d + "/episodes.jsonl")]
goal = 0.99 * max(e["reward"] for e in eps(b))
print("| run | episodes | best reward | first episode at 99% of B-from-scratch's best | val top-1 | measured latency ratio |")
print("|---|---:|---:|---:|---:|---:|")
for name, d in (("A: 1 thread, from scratch", a), ("B: 2 threads, from scratch", b), ("B: 2 threads, from A's agent", t)):
    e = eps(d)
    try:
        s = json.load(open(d + "/summary.json"))
    except FileNotFoundError:  # exit 5: no searched policy met the budget when measured
        s = {"val_top1": float("nan")}
    first = next((x["episode"] for x in e if x["reward"] >= goal), None)
    print(f"| {name} | {len(e)} | {max(x['reward'] for x in e):.4f} | {first if first is not None else 'not reached'} | "
          f"{100 * s['val_top1']:.2f}% | {s.get('latency_measured_ratio', float('nan')):.3f} |")
PY
fi
echo
echo "(runs in $OUT)"
