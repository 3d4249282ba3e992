#!/usr/bin/env bash
# expect_caught.sh SIM K [ARGS...]
#
# The test of a planted bug: runs the simulator built against a consensus
# core with that bug over seeds 1..K (stopping at the first failure) and
# passes only when the simulator reports an invariant violation (exit 1 and
# a "FAIL seed ... invariant" line).  A simulator that cannot find a planted
# bug is itself broken, so "all seeds passed" fails this test; so does a
# crash, which is the core stopping itself rather than the simulator
# catching it.
set -u
if [ $# -lt 2 ]; then
  echo "usage: $0 SIM K [ARGS...]" >&2
  exit 2
fi
sim=$1
seeds=$2
shift 2
out=$("$sim" --seed 1 --seeds "$seeds" --stop-on-fail --quiet "$@" 2>&1)
rc=$?
printf '%s\n' "$out" | tail -n 12
name=$(basename "$sim")
fail=$(printf '%s\n' "$out" | grep -m1 '^FAIL seed .*invariant' || true)
if [ "$rc" -eq 1 ] && [ -n "$fail" ]; then
  run=$(printf '%s\n' "$out" | sed -n 's/^first failure at run \([0-9]*\) of.*/\1/p' | head -n 1)
  echo "CAUGHT: $name after ${run:-?} seed(s): ${fail#FAIL }"
  exit 0
fi
if [ "$rc" -eq 0 ]; then
  echo "NOT CAUGHT: $name passed all $seeds seeds; the simulator misses this planted bug"
else
  echo "NOT CAUGHT: $name exited $rc without an invariant violation"
fi
exit 1
