#!/usr/bin/env bash
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
# Benchmark of `xcel sweep` (prints a table; not a test): one 12-run sweep (bundled VGG, ResNet and MobileNet x
# FLOPs 0.5 and 0.25 x agents ddpg and uniform, EPISODES-episode searches, 1 thread each) run three times into fresh
# directories: the local backend with -j 1 and -j 2, and the Slurm backend on a one-node cluster started on this
# machine (scripts/slurm_local.sh; 2 CPUs, one CPU per array task). Per backend: wall time from the command to the
# last run's end, the runs' own time (sum of their tasks' start-to-end), and for Slurm the overhead per array task:
# wall time beyond the local -j 2 sweep's, spread over the tasks, and the mean wait from submission to a task's start.
# usage: bench/bench_sweep.sh [EPISODES=20] [WARMUP=10]
set -euo pipefail
cd "$(dirname "$0")/.."
EPISODES=${1:-20}
WARMUP=${2:-10}
B=${XCEL_BUILD_DIR:-build}
XCEL=$(cd "$B" && pwd)/xcel
OUT=${XCEL_BENCH_OUT:-$(mktemp -d)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
models=$(pwd)/models
sweep_file() {  # DIR: a sweep file writing its runs into DIR/runs
  cat > "$1/sweep.json" <<EOF
{"models": ["$models/vgg.pt", "$models/resnet.pt", "$models/mobilenet.pt"], "data": "fashion-mnist",
 "flops": [0.5, 0.25], "agents": ["ddpg", "uniform"], "out": "runs",
 "options": ["--episodes", "$EPISODES", "--warmup", "$WARMUP", "--threads", "1"],
 "slurm": {"cpus": 1, "time": "01:00:00"}}
EOF
}
# Sum over the runs of their tasks' start-to-end seconds, and the first start.
task_seconds() {
  /usr/bin/python3 - "$1" <<'PY'
import datetime, glob, json, sys
t = lambda s: datetime.datetime.fromisoformat(s).timestamp()
recs = [json.load(open(p)) for p in glob.glob(sys.argv[1] + "/runs/*/sweep-task.json")]
print(f"{sum(t(r['ended']) - t(r['started']) for r in recs):.0f} {len(recs)} {min(t(r['started']) for r in recs):.0f}")
PY
}
echo "## xcel sweep: 12 runs (3 models x FLOPs 0.5, 0.25 x ddpg, uniform), $EPISODES episodes, 1 thread per run"
echo "| backend | wall s | runs finished | sum of run s | overhead per task s | submit to first start s |"
echo "|---|---:|---:|---:|---:|---:|"
for jobs in 1 2; do
  d=$OUT/local-j$jobs
  rm -rf "$d"; mkdir -p "$d"; sweep_file "$d"
  t0=$(date +%s.%N)
  "$XCEL" -q sweep run "$d/sweep.json" -j "$jobs" > "$d/sweep.log" 2>&1 || { cat "$d/sweep.log"; exit 1; }
  wall=$(echo "$(date +%s.%N) - $t0" | bc)
  read -r busy n _ <<< "$(task_seconds "$d")"
  [ "$jobs" = 2 ] && wall_j2=$wall
  printf "| local -j %s | %.0f | %s | %s | | |\n" "$jobs" "$wall" "$n" "$busy"
done
d=$OUT/slurm
rm -rf "$d"; mkdir -p "$d"; sweep_file "$d"
trap 'bash scripts/slurm_local.sh stop "$d/cluster" > /dev/null' EXIT
if ! up=$(bash scripts/slurm_local.sh start "$d/cluster"); then
  echo "| slurm | $up | | | | |"
  exit 0
fi
export SLURM_CONF=$d/cluster/slurm.conf
t0=$(date +%s.%N)
"$XCEL" -q sweep run "$d/sweep.json" --backend slurm > "$d/sweep.log" 2>&1 || { cat "$d/sweep.log"; exit 1; }
while [ -n "$(squeue -h)" ]; do sleep 1; done
wall=$(echo "$(date +%s.%N) - $t0" | bc)
read -r busy n first <<< "$(task_seconds "$d")"
"$XCEL" -q sweep status "$d/sweep.json" > "$d/status.log"
finished=$(grep -c " finished " "$d/status.log" || true)
printf "| slurm, 2 CPUs | %.0f | %s | %s | %.1f | %.1f |\n" "$wall" "$finished" "$busy" \
  "$(echo "($wall - $wall_j2) / ($n / 2)" | bc -l)" "$(echo "$first - ${t0%.*}" | bc -l)"
echo "(sweeps in $OUT)"
