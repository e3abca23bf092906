#!/usr/bin/env bash
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
# A one-node Slurm cluster on this machine, for the tests and benchmarks of `xcel sweep --backend slurm`: munged,
# slurmctld and slurmd as root, no cgroups, with their own munge key, socket, ports, state and logs under DIR, so
# nothing else on the machine is touched. Debian packages: munge slurmctld slurmd slurm-client
# (XCEL_WITH_TEST_TOOLS=1 bash scripts/setup.sh installs them).
#
# usage: scripts/slurm_local.sh start DIR   # then: export SLURM_CONF=DIR/slurm.conf
#        scripts/slurm_local.sh stop DIR    # by the pids in the pid files, never by name
# exit:  0 up (or stopped); 77 where the daemons are missing or cannot start here (the reason on stdout)
set -uo pipefail
cmd=${1:-} dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { sed -n '3,10p' "$0"; exit 2; }
unavailable() { echo "Slurm unavailable: $*"; "$0" stop "$dir" > /dev/null 2>&1; exit 77; }

if [ "$cmd" = stop ]; then
  for f in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
    [ -f "$f" ] && kill "$(cat "$f")" 2> /dev/null
  done
  sleep 1
  exit 0
fi
[ "$cmd" = start ] || { echo "unknown command $cmd (start or stop)"; exit 2; }
[ "$(id -u)" -eq 0 ] || unavailable "a one-node Slurm needs root here (slurmd runs jobs as their users)"
for b in munged munge unmunge slurmctld slurmd sbatch squeue scancel sinfo; do
  command -v "$b" > /dev/null || unavailable "$b is not installed (Debian: munge slurmctld slurmd slurm-client)"
done
id munge > /dev/null 2>&1 || unavailable "no munge user (the munge package creates it)"

mkdir -p "$dir/state" "$dir/spool" "$dir/munge" "$dir/munge-run"
chmod 755 "$dir"
# munge: a key of its own, owned by the munge user; the socket's directory must be reachable by every client.
head -c 1024 /dev/urandom > "$dir/munge/munge.key"
chown -R munge: "$dir/munge" "$dir/munge-run"
chmod 700 "$dir/munge"
chmod 755 "$dir/munge-run"
chmod 400 "$dir/munge/munge.key"
sock=$dir/munge-run/munge.sock
runuser -u munge -- munged --key-file="$dir/munge/munge.key" --socket="$sock" --pid-file="$dir/munge/munged.pid" \
  --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" > "$dir/munged.out" 2>&1 \
  || unavailable "munged does not start: $(tail -1 "$dir/munged.out")"
munge -S "$sock" -n | unmunge -S "$sock" > /dev/null 2>&1 || unavailable "munge does not answer"

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
host=$(hostname -s)
mem=$(awk '/MemTotal/ {print int($2 / 1024) - 1024}' /proc/meminfo)
export SLURM_CONF=$dir/slurm.conf
cat > "$SLURM_CONF" <<EOF
ClusterName=xcel
SlurmctldHost=$host
SlurmUser=root
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
AuthType=auth/munge
AuthInfo=socket=$sock
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
SlurmdParameters=config_overrides
KillWait=30
MpiDefault=none
NodeName=$host CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=xcel Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld > "$dir/slurmctld.out" 2>&1 || unavailable "slurmctld does not start: $(tail -1 "$dir/slurmctld.log" 2> /dev/null)"
slurmd > "$dir/slurmd.out" 2>&1 || unavailable "slurmd does not start: $(tail -1 "$dir/slurmd.log" 2> /dev/null)"
for _ in $(seq 1 30); do
  [ "$(sinfo -h -o %t 2> /dev/null)" = idle ] && { echo "one-node Slurm up on $host ($(nproc) CPUs): export SLURM_CONF=$SLURM_CONF"; exit 0; }
  sleep 1
done
unavailable "the node did not come up: $(sinfo -h 2>&1 | head -1); $(tail -1 "$dir/slurmd.log")"
