# testlib.sh - the bookkeeping every shell test shares: sourced by
# tests/node/netlib.sh and tests/tools/devnetlib.sh, and by a test that uses
# neither.  A test counts with ok/bad/check and ends with finish (or its
# own tally); "N passed, N failed" is what ctest's output shows.

: "${passed:=0}" "${failed:=0}"

ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }
# check WHAT COMMAND...: ok WHAT when COMMAND succeeds, else bad WHAT.
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
# wait_for SECONDS COMMAND...: true once COMMAND succeeds, false after SECONDS.
wait_for() {
  local end=$((SECONDS + $1)); shift
  while [ "$SECONDS" -lt "$end" ]; do
    "$@" && return 0
    sleep 0.1
  done
  "$@"
}
# finish: print the tally and exit, 0 only when nothing failed.
finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
}

# watchdog_start SECONDS NAME: SIGTERM this script after SECONDS, so that
# its EXIT trap still stops every process it started.  A failing run can
# wait out many bounded waits, and ctest's TIMEOUT kills a script without
# running its trap; the watchdog fires first.  Sets $watchdog (the trap
# should `kill "$watchdog"`).
watchdog_start() {
  (
    trap 'kill "$nap" 2>/dev/null; exit 0' TERM
    sleep "$1" & nap=$!
    wait "$nap" && { echo "$2: $1 s watchdog: stopping"; kill -TERM $$; }
  ) &
  watchdog=$!
}
