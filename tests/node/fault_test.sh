#!/usr/bin/env bash
# fault_test.sh VOUCHERD VOUCHERCTL FAULT_DRIVER
#
# Fault scenarios on one network of four real voucherd processes on
# 127.0.0.1 (all voters, f = 1, q = 3), driven step by step by fault_driver
# (the client library; see the top of fault_driver.c):
#
#   2. kill -9 of a voter during a steady stream of redemptions
#   3. SIGSTOP of one voter, then SIGCONT
#   4. two voters stopped (SIGTERM): NO_QUORUM, nothing certified; restarted: the same
#      bytes complete
#   5. the coordinator killed right after sending its vote requests
#      (VOUCHERD_TEST_KILL_AFTER_VOTE_REQUESTS): the client fails over
#   1. double redemption: two orders for each of 50 slots, at once, to two
#      nodes (last but one: it leaves frozen slots behind)
#   6. the whole network stopped (SIGTERM) and started again
#
# (Scenario 7, malformed and refused client input, is voucherd_test.sh.)
# Every acknowledged certificate of every scenario is checked on every node
# after each one, and all of them again after the restart.  Nodes run with
# short timeouts so that the test is quick; no assertion depends on timing,
# every wait is bounded.  Every process started here is killed by PID on
# exit, success or failure.  Prints "N passed, N failed".
set -u
voucherd=$1
ctl=$2
driver=$3

work=$(mktemp -d /tmp/fault-test.XXXXXX)
passed=0
failed=0
node_config_extra='"log_level": "info", "client_timeout_ms": 1200, "redrive_after_ms": 300, "sync_interval_ms": 200, "checkpoint_every_ms": 2000'
# shellcheck source=netlib.sh
. "$(dirname "$0")/netlib.sh"

cleanup() {
  kill "$watchdog" 2>/dev/null
  net_cleanup
  net_finish_work
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
watchdog_start 330 fault_test

drv() { local cmd=$1; shift; "$driver" "$cmd" "$work" "$@"; }

# Every ack file (fault_driver.c): the driver's `check` wants them all.
acks=("$work/acks.setup" "$work/acks.s2a" "$work/acks.s2b" "$work/acks.s3a" "$work/acks.s3b"
      "$work/acks.quorum" "$work/acks.kill" "$work/acks.double")
check_all() { drv check 60 "${acks[@]}"; }

# Streams of redemptions in the background (fault_driver stream).
declare -A stream_pid
start_stream() { # NAME FIRST_SERIAL COUNT FIRST_NODE_INDEX TIMEOUT_MS
  "$driver" stream "$work" "$work/acks.$1" "$2" "$3" "$4" "$5" 90 &
  stream_pid[$1]=$!
  pids+=("$!")
}
acked() { if [ -f "$work/acks.$1" ]; then wc -l <"$work/acks.$1"; else echo 0; fi; }
at_least() { [ "$(acked "$1")" -ge "$2" ]; }
stream_done() { ! kill -0 "${stream_pid[$1]}" 2>/dev/null; }
stop_stream() { # NAME: ask it to stop; its exit code in $stream_rc
  touch "$work/acks.$1.stop"
  if wait_for 90 stream_done "$1"; then wait "${stream_pid[$1]}"; stream_rc=$?; else stream_rc=124; fi
}
# Acks of stream NAME after its first SKIP lines answered by a node other
# than genesis index NODE.
acked_elsewhere() { tail -n "+$(($2 + 1))" "$work/acks.$1" | awk -v n="$3" '$4 != n' | wc -l; }

# ---- the network ---------------------------------------------------------------------

net_make_keys shanghai firm dc1 dc2 || { bad "keys"; finish; }
if ! net_start 11600 150 fault-test \
    --issuer "shanghai,310000,$work/shanghai.key,60000000000" \
    --provider "dc1,520000,$work/dc1.key" --provider "dc2,640000,$work/dc2.key"; then
  bad "four nodes reach event=ready"
  tail -n 5 "$work"/node?.log
  finish
fi
ok "four nodes reach event=ready (ports $((base + 1))..$((base + 8)))"
check "100 vouchers issued" drv setup 100

# ---- 2. kill -9 of a voter during a steady stream ---------------------------------------
# Stream a goes to node3 first (so node3 answers some of its orders itself),
# stream b to node1.  node3 is killed mid-stream and restarted while the
# other three are frozen: it alone must still hold every certificate it
# acknowledged, but for the last step's early ones (a certificate whose votes
# were durable leaves before its step's commit, vl_core.c note 24: a kill in
# that commit loses node3's copy, not the certificate).  Then it catches up,
# and every acknowledged certificate is on every node.

echo "== 2. kill -9 of a voter during a stream of redemptions"
start_stream s2a 1 8 2 1000
start_stream s2b 9 8 0 1000
check "streams run (25 certificates each)" wait_for 60 eval 'at_least s2a 25 && at_least s2b 25'
stop_node 3 KILL
check "node3 killed with SIGKILL" [ "$node_rc" -eq 137 ]
n=$(acked s2b)
check "redemptions keep completing with node3 dead" wait_for 60 at_least s2b $((n + 20))
touch "$work/acks.s2a.stop" "$work/acks.s2b.stop"
stop_stream s2a
check "stream a: every order certified, no refusal" [ "$stream_rc" -eq 0 ]
stop_stream s2b
check "stream b: every order certified, no refusal" [ "$stream_rc" -eq 0 ]
for i in 1 2 4; do kill -STOP "${node_pid[$i]}"; done
check "node3 restarts on its data" restart_node 3
check "node3, alone, holds every certificate it acknowledged before the kill (the last step's early ones aside)" \
  drv check-own 2 "$work/acks.s2a"
for i in 1 2 4; do kill -CONT "${node_pid[$i]}"; done
check "node3 catches up: every acknowledged certificate on every node, one digest" check_all

# ---- 3. SIGSTOP of one voter of four ----------------------------------------------------

echo "== 3. one voter stopped (SIGSTOP), then continued"
start_stream s3a 17 8 1 800
start_stream s3b 25 8 0 1000
check "streams run (5 certificates each)" wait_for 60 eval 'at_least s3a 5 && at_least s3b 5'
kill -STOP "${node_pid[2]}"
stopped_at=$SECONDS
na=$(acked s3a)
nb=$(acked s3b)
check "with node2 stopped, redemptions complete through the other three" \
  wait_for 60 at_least s3b $((nb + 10))
check "a client whose first endpoint is node2 fails over: 3 certificates from other nodes" \
  wait_for 60 eval "[ \$(acked_elsewhere s3a $na 1) -ge 3 ]"
# Keep node2 stopped past the peer links' 5 s heartbeat timeout (VL_NET_
# HEARTBEAT_TIMEOUT_MS), so that its peers drop their links and must
# reconnect after the SIGCONT (not an assertion on time: a longer fault).
while [ $((SECONDS - stopped_at)) -lt 7 ]; do sleep 0.2; done
kill -CONT "${node_pid[2]}"
touch "$work/acks.s3a.stop" "$work/acks.s3b.stop"
stop_stream s3a
check "stream a: every order certified, no refusal" [ "$stream_rc" -eq 0 ]
stop_stream s3b
check "stream b: every order certified, no refusal" [ "$stream_rc" -eq 0 ]
check "node2 catches up: every acknowledged certificate on every node, one digest" check_all

# ---- 4. two voters of four stopped ------------------------------------------------------

echo "== 4. two voters stopped: no quorum"
for i in 3 4; do
  stop_node "$i" TERM
  check "node$i stops with exit 0" [ "$node_rc" -eq 0 ]
done
check "NO_QUORUM (TIMEOUT or QUORUM) from node1 and node2, and their logs do not grow" \
  drv noquorum "$work/quorum.order" 33 900 0 1
for i in 3 4; do check "node$i restarts" restart_node "$i"; done
check "with the voters back, the same order bytes complete" \
  drv resubmit "$work/quorum.order" "$work/acks.quorum"
check "every acknowledged certificate on every node, one digest" check_all

# ---- 5. the coordinator killed after its vote requests went out ---------------------------

echo "== 5. the coordinator killed after sending its vote requests"
stop_node 4 TERM
check "node4 stops with exit 0" [ "$node_rc" -eq 0 ]
check "node4 restarts with VOUCHERD_TEST_KILL_AFTER_VOTE_REQUESTS=1" \
  restart_node 4 VOUCHERD_TEST_KILL_AFTER_VOTE_REQUESTS=1
check "an order sent to node4 first is certified through another node (same bytes)" \
  drv kill-coord "$work/acks.kill" 34 3
wait_for 20 exited 4
wait "${node_pid[4]}" 2>/dev/null; rc=$?
all_of_1() { \
  [ "$rc" -eq 137 ] && grep -q 'event=test_kill vote_requests=' "$work/node4.log"; }
check "node4 died of SIGKILL after sending its vote requests" all_of_1
check "node4 restarts" restart_node 4
check "node4 catches up: every acknowledged certificate on every node, one digest" check_all

# ---- 1. double redemption across provinces ------------------------------------------------

echo "== 1. two orders for each of 50 slots, at the same moment, to two nodes"
check "at most one certificate per slot; CONFLICT or ALREADY_CERTIFIED with evidence" \
  drv double "$work/acks.double" 41 50 10
check "every acknowledged certificate on every node, one digest" check_all

# ---- 6. the whole network stopped and started again ----------------------------------------

echo "== 6. every node stopped (SIGTERM) and started again"
check "state before the stop" drv snapshot "$work/snap.before" "${acks[@]}"
for i in 1 2 3 4; do
  stop_node "$i" TERM
  check "node$i stops with exit 0" [ "$node_rc" -eq 0 ]
done
declare -a before
for i in 1 2 3 4; do before[$i]=$(ready_count "$i"); start_node "$i"; done
for i in 1 2 3 4; do
  wait_for 30 ready_or_exited "$i" "${before[$i]}"
  check "node$i restarts" ready "$i" "${before[$i]}"
done
check "every acknowledged certificate on every node, one digest" check_all
check "state after the restart" drv snapshot "$work/snap.after" "${acks[@]}"
check "log lengths, head hashes, digests and accounts unchanged by the restart" \
  cmp "$work/snap.before" "$work/snap.after"
check "no node logged a fatal error" eval '! grep -h "event=fatal\|event=step_failed" "$work"/node?.log'
check "no sanitizer report in any node log" \
  eval '! grep -h "Sanitizer\|runtime error" "$work"/node?.log'

finish
