#!/usr/bin/env bash
# soak.sh - long seed sweeps of the cluster simulator (docs/simulator.md).
#
#   tests/sim/soak.sh [--build DIR] [--start S] [--seeds K] [--steps T] [--jobs J]
#
# Runs K seeds from S (default: a start derived from the current time, so
# successive soaks explore new seeds; every failure prints its seed and the
# exact replay command) for each configuration below, J runs at a time, and
# keeps the output of each in DIR/soak/.  Exits 1 if any run failed.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build="$root/build/release"
start=$(( $(date +%s) % 1000000000 ))
seeds=1000
steps=400
jobs=$(nproc 2>/dev/null || echo 1)
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --start) start=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "soak.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
sim="$build/tests/sim/vl_sim"
if [ ! -x "$sim" ]; then
  echo "soak.sh: $sim not found: build first (cmake --build $build)" >&2
  exit 2
fi
out="$build/soak"
mkdir -p "$out"

# voters observers faulty
configs=("4 0 1" "4 1 1" "5 0 1" "7 0 2" "7 2 2" "10 1 3" "4 0 0" "13 0 4")
status=0
for c in "${configs[@]}"; do
  read -r v m f <<<"$c"
  log="$out/v${v}_m${m}_f${f}_s${start}.log"
  echo "== $v voters, $m observers, $f faulty: seeds $start..$((start + seeds - 1)), $steps steps"
  "$sim" --seed "$start" --seeds "$seeds" --voters "$v" --observers "$m" --faulty "$f" \
    --steps "$steps" --jobs "$jobs" --quiet >"$log" 2>&1
  rc=$?
  grep -E '^(FAIL|  replay)' "$log" | head -n 20
  tail -n 2 "$log"
  if [ "$rc" -ne 0 ]; then
    status=1
  fi
done
echo "logs in $out"
exit $status
