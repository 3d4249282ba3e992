#!/usr/bin/env bash
# resource_test.sh VOUCHERD VOUCHERCTL FAULT_DRIVER FAILSYNC_SO STALE_READER
#
# Resource faults (docs/operations.md 9) on one network of four real
# voucherd processes on 127.0.0.1 (all voters, f = 1, q = 3):
#
#   A. A full disk.  node2's data directory is on a small tmpfs that this
#      test mounts (root needed) and fills with a filler file while
#      redemptions stream through node1 and node2.  node2 must answer a
#      SUBMIT with VL_ERR_DISK_FULL (not a timeout), say read_only in STATUS,
#      /metrics and /healthz, log event=write_refused (once, not a flood),
#      keep serving GET_ACCOUNT and GET_LOG, and refuse vote requests so
#      that no node counts it as a voter that can vote (voters_heard 3, not
#      4: vl_core.c note 26); the others keep certifying.  The
#      filler is deleted: node2 resumes by itself (event=writes_resumed),
#      takes a SUBMIT again and converges; every certificate any client got
#      is on every node.
#   B. A failed fsync.  This container has no device-mapper (`dmsetup
#      targets` fails: no /dev/mapper/control), so node3 runs with an
#      LD_PRELOAD shim (failsync.c) that makes fdatasync/fsync/msync fail
#      with EIO while a trigger file exists.  With node4 stopped, an order
#      needs node3's vote: node3 must exit 1 with "fsync failed" and must
#      not have sent that vote (nothing is certified: fault_driver
#      noquorum).  Its data directory verifies (voucherctl verify-log
#      --data-dir); restarted without the shim it votes, the same order
#      bytes get their certificate, and everything converges.
#   B2. A failed meta-page write (ENOSPC, the shim again): LMDB marks the
#      environment fatal (MDB_PANIC); node3 must reopen it by itself
#      (event=storage_reopened) and go on certifying.
#   C. Stale readers.  Two stale_reader processes hold read transactions
#      on node4's environment while node4 is stopped; one is SIGKILLed
#      (its reader slot stays: the other keeps the environment open, so
#      LMDB does not reset the table); node4 starts and must log
#      event=stale_readers_cleared count=1 and work; the other, SIGKILLed
#      while node4 runs, is cleared within seconds (when=running).
#   D. Map growth.  node1 runs with "initial_map_mb": 1 from the start;
#      after thousands of orders its map must have grown (event=map_grown,
#      voucher_lmdb_map_grown_total) without a single failed or refused
#      step.
#
# RESOURCE_TEST_PARTS="A C" (say) runs only those parts, in the order above.
# A planted bug in each of three places is caught (docs/operations.md 9):
# answers of the read-only pass not sent (A fails: SUBMIT times out), a
# store opened without fsync (B fails: the order is certified, node3 does
# not stop), no mdb_reader_check at open (C fails).
#
# No assertion depends on timing; every wait is bounded.  Every process
# started here is killed by PID on exit, and the tmpfs is unmounted.
# Prints "N passed, N failed".
set -u
voucherd=$1
ctl=$2
driver=$3
failsync=$4
stale=$5

if [ "$(id -u)" -ne 0 ]; then
  echo "resource_test: FAIL: must run as root (it mounts a tmpfs with a size limit to fill the disk of one node)"
  exit 1
fi

work=$(mktemp -d /tmp/resource-test.XXXXXX)
mnt="$work/small"
passed=0
failed=0
metrics_port_offset=1000
node_config_extra='"log_level": "info", "client_timeout_ms": 1500, "redrive_after_ms": 300, "sync_interval_ms": 200, "checkpoint_every_ms": 0'
# shellcheck source=netlib.sh
. "$(dirname "$0")/netlib.sh"

readers=()
cleanup() {
  local p
  kill "$watchdog" 2>/dev/null
  for p in "${readers[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  net_cleanup
  mountpoint -q "$mnt" && umount "$mnt"
  net_finish_work
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
watchdog_start 380 resource_test

drv() { local cmd=$1; shift; "$driver" "$cmd" "$work" "$@"; }

# /metrics value NAME (with labels) of node I, or /healthz "CODE BODY".
http() {
  python3 - "$1" <<'PY'
import sys, urllib.error, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
        print(r.status, r.read().decode().strip())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode().strip())
except Exception as e:
    print("000", e)
PY
}
murl() { echo "http://127.0.0.1:$((base + metrics_port_offset + $1))$2"; }
metric() { # I NAME: the sample's value ("" if absent)
  http "$(murl "$1" /metrics)" | awk -v n="$2" '$1 == n { v = $2 } END { print v }'
}
metric_is() { [ "$(metric "$1" "$2")" = "$3" ]; }
metric_ge() { local v; v=$(metric "$1" "$2"); [ -n "$v" ] && [ "$v" -ge "$3" ]; }
health() { http "$(murl "$1" /healthz)"; }
logged() { grep -c -- "$2" "$work/node$1.log" 2>/dev/null || true; }
has_logged() { [ "$(logged "$1" "$2")" -ge "${3:-1}" ]; }

acks=("$work/acks.setup")
declare -A stream_pid
start_stream() { # NAME FIRST_SERIAL COUNT FIRST_NODE_INDEX
  "$driver" stream "$work" "$work/acks.$1" "$2" "$3" "$4" 3000 200 &
  stream_pid[$1]=$!
  pids+=("$!")
  acks+=("$work/acks.$1")
}
acked() { if [ -f "$work/acks.$1" ]; then wc -l <"$work/acks.$1"; else echo 0; fi; }
at_least() { [ "$(acked "$1")" -ge "$2" ]; }
stream_done() { ! kill -0 "${stream_pid[$1]}" 2>/dev/null; }
stop_stream() { # NAME: its exit code in $stream_rc
  touch "$work/acks.$1.stop"
  if wait_for 120 stream_done "$1"; then wait "${stream_pid[$1]}"; stream_rc=$?; else stream_rc=124; fi
}
check_all() { drv check 90 "${acks[@]}"; }
# RESOURCE_TEST_PARTS (default "A B B2 C D") runs some parts only, in this
# order, e.g. to show that a planted bug is caught.
parts=" ${RESOURCE_TEST_PARTS:-A B B2 C D} "
want() { [[ "$parts" == *" $1 "* ]]; }

# ---- the network: node1 with a 1 MiB map, node2's data on a 16 MiB tmpfs ---------------------

net_make_keys shanghai firm dc1 dc2 || { bad "keys"; finish; }
mkdir -p "$mnt"
if ! mount -t tmpfs -o size=16m tmpfs "$mnt"; then
  bad "mount a 16 MiB tmpfs on $mnt (root in a container that allows mount)"
  finish
fi
# As netlib's net_start (a port base from $$, another on "cannot bind"),
# with node2's data on the tmpfs and node1's map at 1 MiB.
started=false
for attempt in 0 1 2 3 4; do
  base=$((14800 + (($$ + attempt * 397) % 50) * 10))
  rm -rf "${mnt:?}/node2"
  make_network "$base" resource-test \
    --issuer "shanghai,310000,$work/shanghai.key,60000000000" \
    --provider "dc1,520000,$work/dc1.key" --provider "dc2,640000,$work/dc2.key" ||
    { bad "genesis"; finish; }
  sed -i "s|\"data/node2\"|\"$mnt/node2\"|" "$work/node2.json"
  sed -i 's|"data_dir": "data/node1"|"data_dir": "data/node1", "initial_map_mb": 1|' "$work/node1.json"
  for i in 1 2 3 4; do start_node "$i"; done
  all=true
  for i in 1 2 3 4; do wait_for 30 ready_or_exited "$i"; ready "$i" || all=false; done
  if $all; then started=true; break; fi
  for i in 1 2 3 4; do kill -KILL "${node_pid[$i]}" 2>/dev/null; wait "${node_pid[$i]}" 2>/dev/null; done
  grep -q 'cannot bind' "$work"/node?.log || break
  echo "ports from $base in use, trying another base"
done
$started || { bad "four nodes ready at ports from $base (see $work/node?.log)"; finish; }
ok "four nodes ready; node2's data on a 16 MiB tmpfs, node1 with a 1 MiB map"
check "node1 starts with a 1 MiB map" has_logged 1 'event=storage map_size_bytes=1048576 '
# The prefill (vl_store.c note 2c) extends a data file only while 64 MiB stay free besides:
# never on node2's 16 MiB tmpfs, so it cannot bring on the full-disk rules tested below.
check "node1's data file is prefilled (voucher_lmdb_prefilled_bytes_total > 0)" \
  metric_ge 1 voucher_lmdb_prefilled_bytes_total 1
check "node2's on the 16 MiB tmpfs is not (voucher_lmdb_prefilled_bytes_total 0)" \
  metric_is 2 voucher_lmdb_prefilled_bytes_total 0
check "100 vouchers issued" drv setup 100

# ---- A. a full disk ----------------------------------------------------------------------------

if want A; then
start_stream a 1 10 0
start_stream b 11 10 1
check "streams through node1 and node2 certify" wait_for 60 at_least b 5
dd if=/dev/zero of="$mnt/filler" bs=64k >/dev/null 2>&1 # until ENOSPC
echo "filled: $(df -k --output=avail "$mnt" | tail -1) KiB left on the tmpfs"
check "node2 logs event=write_refused error=disk_full with its data dir" \
  wait_for 90 has_logged 2 "event=write_refused error=disk_full code=62 data_dir=\"\?$mnt/node2"
full_at=$(($(acked a) + $(acked b)))
check "node2 answers SUBMIT with VL_ERR_DISK_FULL (not a timeout)" \
  drv submit-one "$work/acks.one" 91 1 VL_ERR_DISK_FULL
status2=$("$ctl" status --genesis "$work/genesis.json" --node "$(client_ep 2)" --json 2>&1)
check "node2's STATUS is served and says read_only" grep -q 'read_only' <<<"$status2"
check "node2 serves GET_ACCOUNT" "$ctl" query --genesis "$work/genesis.json" --node "$(client_ep 2)" \
  --issuer shanghai
check "node2 serves GET_LOG" "$ctl" log --genesis "$work/genesis.json" --node "$(client_ep 2)" --max 5
check "node2 /metrics: voucher_writes_refused{reason=\"disk_full\"} 1" \
  wait_for 10 metric_is 2 'voucher_writes_refused{reason="disk_full"}' 1
check "node2 /metrics: voucher_read_only 1" metric_is 2 voucher_read_only 1
h=$(health 2)
echo "node2 /healthz: $h"
check "node2 /healthz: 503 read-only: disk full" grep -q '^503 read-only: disk full' <<<"$h"
check "node1, node3, node4 keep certifying (quorum 3 of 4)" \
  wait_for 90 eval '[ $(($(acked a) + $(acked b))) -ge $((full_at + 20)) ]'
# a voter that refuses writes cannot vote: it refuses vote requests DISK_FULL,
# and nobody counts it as a voter heard from (vl_core.c note 26)
check "node1 /metrics: voucher_voters_heard 3 (node2 refused its vote requests: not counted)" \
  wait_for 30 metric_is 1 voucher_voters_heard 3
check "node2 /metrics: voucher_voters_heard 3 (it does not count itself)" \
  metric_is 2 voucher_voters_heard 3
refused=$(metric 2 voucher_steps_refused_total)
lines=$(logged 2 'event=write_refused')
echo "node2: $refused steps refused, $lines event=write_refused line(s)"
check "the full disk is logged once, not per refused step" \
  eval '[ "$lines" -ge 1 ] && [ "$lines" -le 2 ] && [ "${refused:-0}" -ge 10 ]'
check "no step of node2 failed otherwise (no fsync error, still running)" \
  eval '! has_logged 2 event=step_failed && ! exited 2'
rm -f "$mnt/filler"
check "space back: node2 logs event=writes_resumed by itself" \
  wait_for 60 has_logged 2 'event=writes_resumed after=disk_full'
check "node2 /metrics: voucher_read_only 0" wait_for 10 metric_is 2 voucher_read_only 0
check "node1 counts node2 again once it votes (voucher_voters_heard 4)" \
  wait_for 60 metric_is 1 voucher_voters_heard 4
check "node2 takes a SUBMIT again: a certificate" drv submit-one "$work/acks.one" 92 1 OK
acks+=("$work/acks.one")
stop_stream a; check "stream a: every order certified" [ "$stream_rc" -eq 0 ]
stop_stream b; check "stream b: every order certified" [ "$stream_rc" -eq 0 ]
check "A: one state digest on all nodes; every acknowledged certificate on every node" check_all
fi

# ---- B. a failed fsync -------------------------------------------------------------------------

if want B; then
stop_node 3 TERM
trigger="$work/failsync.on"
check "node3 restarted with the failsync shim" \
  restart_node 3 LD_PRELOAD="$failsync" FAILSYNC_TRIGGER="$trigger" \
  ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0"
stop_node 4 TERM
touch "$trigger"
check "node4 stopped, node3's fsync fails: the order is not certified (node3's vote never left)" \
  drv noquorum "$work/fsync.order" 93 1500 0 1
rc3=running
if wait_for 20 exited 3; then wait "${node_pid[3]}"; rc3=$?; fi
check "node3 stopped by itself with exit status 1 (it is: $rc3)" [ "$rc3" = 1 ]
exited 3 || stop_node 3 KILL
check "node3 logs 'fsync failed'" has_logged 3 'event=step_failed error=io .*fsync failed'
rm -f "$trigger"
check "node3's data directory verifies (hash chain, every certificate)" \
  "$ctl" verify-log --genesis "$work/genesis.json" --data-dir "$work/data/node3"
check "node3 restarted without the shim" restart_node 3
check "the same order bytes get their certificate (node3 votes now)" \
  drv resubmit "$work/fsync.order" "$work/acks.fsync"
acks+=("$work/acks.fsync")
check "node4 restarted" restart_node 4
check "B: one state digest on all nodes; every acknowledged certificate on every node" check_all
fi

# ---- B2. a failed meta-page write: MDB_PANIC, reopened --------------------------------------

if want B2; then
stop_node 3 TERM
meta="$work/meta.on"
check "node3 restarted with the shim (meta-page ENOSPC)" \
  restart_node 3 LD_PRELOAD="$failsync" FAILSYNC_META_ENOSPC="$meta" \
  ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0"
touch "$meta"
# The first tries may meet the refusal (VL_ERR_DISK_FULL) of the failed commit.
submit_quiet() { drv submit-one "$@" >"$work/submit.out" 2>&1; }
check "node3 takes a SUBMIT after its meta-page write failed" \
  wait_for 30 submit_quiet "$work/acks.panic" 94 2 OK
acks+=("$work/acks.panic")
check "node3 logs event=storage_reopened" wait_for 10 has_logged 3 'event=storage_reopened'
check "node3 /metrics: voucher_lmdb_reopened_total 1" metric_is 3 voucher_lmdb_reopened_total 1
check "B2: one state digest on all nodes; every acknowledged certificate on every node" check_all
fi

# ---- C. stale readers --------------------------------------------------------------------------

if want C; then
stop_node 4 TERM
"$stale" "$work/data/node4" 300 >"$work/reader1.out" 2>&1 &
r1=$!; readers+=("$r1")
"$stale" "$work/data/node4" 300 >"$work/reader2.out" 2>&1 &
r2=$!; readers+=("$r2")
check "two readers hold read transactions on node4's environment" \
  wait_for 10 eval 'grep -q "^reading" "$work/reader1.out" && grep -q "^reading" "$work/reader2.out"'
kill -KILL "$r1"; wait "$r1" 2>/dev/null
check "node4 restarted with one reader killed and one alive" restart_node 4
check "node4 logs event=stale_readers_cleared count=1" \
  has_logged 4 'event=stale_readers_cleared count=1 when=start'
kill -KILL "$r2"; wait "$r2" 2>/dev/null
check "the reader killed while node4 runs is cleared too (event=stale_readers_cleared when=running)" \
  wait_for 30 has_logged 4 'event=stale_readers_cleared count=1 when=running'
check "C: node4 works: one state digest on all nodes; every acknowledged certificate on every node" \
  check_all
fi

# ---- D. map growth from 1 MiB --------------------------------------------------------------------

if want D; then
start_stream d1 21 20 0
start_stream d2 41 20 2
start_stream d3 61 20 3
total_d() { echo $(($(acked d1) + $(acked d2) + $(acked d3))); }
check "2000 orders more certified" wait_for 150 eval '[ "$(total_d)" -ge 2000 ]'
stop_stream d1; check "stream d1: every order certified" [ "$stream_rc" -eq 0 ]
stop_stream d2; check "stream d2: every order certified" [ "$stream_rc" -eq 0 ]
stop_stream d3; check "stream d3: every order certified" [ "$stream_rc" -eq 0 ]
echo "node1: $(grep -c event=map_grown "$work/node1.log") map growths, map $(metric 1 voucher_lmdb_map_size_bytes) bytes, $(metric 1 voucher_log_head) log entries"
check "node1 logs event=map_grown" has_logged 1 'event=map_grown from_bytes=1048576 to_bytes=2097152'
check "node1 /metrics: voucher_lmdb_map_grown_total >= 1" metric_ge 1 voucher_lmdb_map_grown_total 1
check "node1 /metrics: map size above 1 MiB" metric_ge 1 voucher_lmdb_map_size_bytes 2097152
check "node1 holds more than 2000 certificates" metric_ge 1 voucher_log_head 2000
check "node1 never failed nor refused a step" \
  eval '! has_logged 1 "event=step_failed" && ! has_logged 1 "event=write_refused" && metric_is 1 voucher_steps_failed_total 0 && metric_is 1 voucher_steps_refused_total 0'
check "D: one state digest on all nodes; every acknowledged certificate on every node" check_all
fi

finish
