# devnetlib.sh - what the tests that drive a `voucherctl devnet` share
# (sourced by the devnet, backup, ops, clock and reconcile tests; it sources
# ../testlib.sh).
#
# The caller sets `ctl` (voucherctl) and calls devnet_test_init NAME SECONDS,
# which makes the scratch directory $work (/tmp/NAME.XXXXXX) with the devnet
# in $dir = $work/net, installs the EXIT trap, and starts a watchdog that
# ends the test after SECONDS (testlib.sh), which must be below ctest's
# TIMEOUT for it: ctest's kill would skip the trap and leave the detached
# nodes running.  Every pid an `up` reported (record_pids appends them to
# $work/pids) is killed on exit, success or failure, if it is still this
# devnet's voucherd (its command line names a file under $dir; a recycled
# pid is never killed), and so is any other process whose command line
# names a file under $dir (a node whose `up` was cut short before its pid
# was recorded).  A caller with more to stop defines cleanup_extra.  $work
# is kept when a check failed.

passed=0
failed=0
# shellcheck source=../testlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../testlib.sh"

devnet_test_init() {
  work=$(mktemp -d "/tmp/$1.XXXXXX")
  dir=$work/net
  trap devnet_cleanup EXIT
  trap 'exit 1' INT TERM HUP
  watchdog_start "$2" "$1"
}

record_pids() {
  python3 -c 'import json,sys; [print(n["pid"]) for n in json.load(open(sys.argv[1]))["nodes"] if n["pid"]]' \
    "$dir/devnet.json" >>"$work/pids" 2>/dev/null
}

devnet_cleanup() {
  local p
  [ -n "${watchdog:-}" ] && kill "$watchdog" 2>/dev/null
  if declare -F cleanup_extra >/dev/null; then cleanup_extra; fi
  if [ -f "$work/pids" ]; then
    while read -r p; do
      if tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -qF "$dir/"; then kill -KILL "$p"; fi
    done <"$work/pids"
  fi
  # A node of an `up` the test did not get to record (a signal or the
  # watchdog ended the script as `up` returned): any process whose command
  # line names a file under $dir.
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    if [ "$p" != "$$" ] && tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -qF "$dir/"; then
      kill -KILL "$p" 2>/dev/null
    fi
  done
  if [ "$failed" -eq 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$work"; else echo "kept $work"; fi
}


# run NAME SECONDS ARGS...: voucherctl with a time bound; stdout in
# $work/NAME.out, stderr in $work/NAME.err, exit status in $rc.
run() {
  local name=$1 secs=$2; shift 2
  timeout "$secs" "$ctl" "$@" >"$work/$name.out" 2>"$work/$name.err"
  rc=$?
}
has() { grep -qE -- "$2" "$work/$1"; }
# jq-like: py FILE EXPR prints EXPR of the JSON in FILE (as d).
py() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2" 2>/dev/null; }
dn() { py "$dir/devnet.json" "$1"; }

# devnet_start LOW [STEP [UP_ARGS...]]: `devnet up UP_ARGS` on a port base
# in LOW..LOW+100*STEP (STEP 20 by default) derived from $$ (another base
# when a port is taken, 6 attempts), then record_pids.  Sets $base; ends
# the test (exit 1) when the devnet does not start.
devnet_start() {
  local low=$1 step=${2:-20} attempt started=false
  shift $(($# < 2 ? $# : 2))
  for attempt in 0 1 2 3 4 5; do
    base=$((low + (($$ + attempt * 37) % 100) * step))
    run up 60 devnet up --dir "$dir" --base-port "$base" --voucherd "$voucherd" "$@"
    if [ "$rc" -eq 0 ]; then started=true; break; fi
    if ! has up.err 'cannot bind'; then break; fi
    rm -rf "$dir"
    echo "ports from $base in use, trying another base"
  done
  record_pids
  if ! $started; then
    bad "devnet up (exit $rc)"; cat "$work/up.err"
    echo "$passed passed, $failed failed"; exit 1
  fi
  ok "devnet up on ports from $base"
}

# wait_status SECONDS PYEXPR: poll `status --devnet` (every node) until
# PYEXPR of its JSON (as d) prints True; $work/st.out holds the last answer.
wait_status() {
  local secs=$1 expr=$2 i
  for i in $(seq 1 $((secs * 4))); do
    run st 10 status --devnet "$dir" --json
    [ "$(py "$work/st.out" "$expr")" = True ] && return 0
    sleep 0.25
  done
  return 1
}
# gone PID: wait (at most 10 s) until PID has exited.
gone() { local i; for i in $(seq 1 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; return 1; }
