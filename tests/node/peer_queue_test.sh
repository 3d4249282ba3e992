#!/usr/bin/env bash
# peer_queue_test.sh VOUCHERD VOUCHERCTL FAULT_DRIVER SLOW_PEER
#
# A faulty peer that asks for pages of the log and reads the replies slowly
# (node/vl_net.c "Peer send queues", consensus/vl_core.c note 16), on four
# real voucherd processes on 127.0.0.1 (all voters, f = 1), every node with
# "peer_queue_mb": 4.  node4 is stopped and slow_peer speaks for it with
# node4's keys.  A node's memory is measured as its peak resident set
# (VmHWM, reset through /proc/PID/clear_refs before each attack) above its
# resident set before the attack.
#
#   A. Control: node2 restarted with "peer_queue_mb": 65536 (no bound that
#      the attack can reach).  slow_peer sends it 600 LOG_REQUESTs at once
#      (each answered with every entry of a log of eight ISSUEs of 256
#      vouchers, about 150 KB) and takes one message every 200 ms: node2
#      queues the replies (voucher_peer_send_queue_bytes at least 32 MiB)
#      and its memory grows by as much, until its heartbeat drops the link.
#      This is what the bound must stop, and shows that the measures below
#      see it.
#   B. node1, with the bound of 4 MiB, under the same attack paced at 100
#      requests a second while a stream of redemptions runs through
#      node1..node3: its queue to node4 never holds much more than 4 MiB;
#      its memory grows by less than 32 MiB; it logs event=peer_backlog
#      naming node4 and counts the requests it did not answer and the sends
#      it dropped; every redemption completes; its queues to the honest
#      peers empty once the stream ends; and once node4's link is gone
#      node1 logs event=peer_backlog_cleared with an empty queue.
#   B2. The same 600 requests at once against node1: its memory still
#      grows by less than 32 MiB, and at least 500 of them go unanswered.
#   C. node4 restarted on its data catches up, and every certificate a
#      client got is on every node; node2 stops cleanly (exit 0).
# Every wait is bounded, and no assertion depends on how fast anything
# runs.  Every process started here is killed by PID on exit.  Prints
# "N passed, N failed".
set -u
voucherd=$1
ctl=$2
driver=$3
slow_peer=$4

work=$(mktemp -d /tmp/peer-queue-test.XXXXXX)
passed=0
failed=0
node_config_extra='"log_level": "info", "sync_interval_ms": 200, "client_timeout_ms": 2000, "peer_queue_mb": 4'
metrics_port_offset=8
# Under AddressSanitizer, freed memory waits in a quarantine (256 MiB by
# default) and counts in RssAnon; a small one lets RssAnon show what is
# held.  Other builds ignore it.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1"
# shellcheck source=netlib.sh
. "$(dirname "$0")/netlib.sh"

trap net_exit EXIT
trap 'exit 1' INT TERM HUP
watchdog_start 270 peer_queue_test # below ctest's TIMEOUT of 300 s

# One sample of node I's /metrics: the value of SAMPLE (a name with its
# labels), or nothing.
metric() {
  python3 - "http://127.0.0.1:$((base + metrics_port_offset + $1))/metrics" "$2" <<'PY' 2>/dev/null
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
    for line in r.read().decode().splitlines():
        name, _, value = line.rpartition(" ")
        if name == sys.argv[2]:
            print(int(float(value)))
PY
}
rss_kb() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status" 2>/dev/null; }
queue_to() { metric "$1" "voucher_peer_send_queue_bytes{peer=\"$2\"}"; }

# attack I OUT RATE: slow_peer as node4 against node I (600 requests, RATE
# a second, one message taken every 200 ms, 12 s), sampling node I's queue
# to node4 every 0.3 s.  OUT.q: the largest queue sampled; OUT.grow: node
# I's peak resident set during the attack above its resident set before,
# in kB.
attack() {
  local i=$1 out=$2 rate=$3 sp q maxq=0 k rss0 peak
  echo 5 >"/proc/${node_pid[$i]}/clear_refs" # resets VmHWM to the current RSS
  rss0=$(rss_kb "${node_pid[$i]}" VmRSS)
  "$slow_peer" "$work/genesis.json" "$work/node4.key" node4 "node$i" 600 "$rate" 200 12 \
    >"$out" 2>&1 &
  sp=$!
  pids+=("$sp")
  for k in $(seq 1 100); do # bounded: slow_peer runs 12 s
    q=$(queue_to "$i" node4)
    [ -n "$q" ] && [ "$q" -gt "$maxq" ] && maxq=$q
    kill -0 "$sp" 2>/dev/null || break
    sleep 0.3
  done
  wait "$sp"
  peak=$(rss_kb "${node_pid[$i]}" VmHWM)
  echo "$maxq" >"$out.q"
  echo $((peak - rss0)) >"$out.grow"
  echo "     slow_peer against node$i at $rate/s: $(cat "$out"); node$i's queue to node4 peaked at $maxq bytes (sampled), its peak RSS $rss0 -> $peak kB"
}

net_make_keys shanghai firm dc1 dc2 || { bad "keys"; finish; }
if ! net_start 1100 80 peer-queue-test \
    --issuer "shanghai,310000,$work/shanghai.key,60000000000" \
    --provider "dc1,520000,$work/dc1.key" --provider "dc2,640000,$work/dc2.key"; then
  bad "four nodes reach event=ready"
  tail -n 5 "$work"/node?.log
  finish
fi
ok "four nodes reach event=ready (ports from $base)"

# A log worth asking for: eight ISSUEs of 256 vouchers (1..2048).
for k in 0 1 2 3 4 5 6 7; do
  "$driver" setup "$work" 256 $((k * 256 + 1)) >>"$work/setup.out" 2>&1 || break
done
check "eight ISSUEs of 256 vouchers certified" [ "$(grep -c 'setup: issued' "$work/setup.out")" = 8 ]
cat "$work/acks.setup" >"$work/acks"
stop_node 4 TERM
check "node4 stopped (slow_peer takes its place; rc $node_rc)" [ "$node_rc" -eq 0 ]

# ---- A. the control: no bound within reach --------------------------------------------------

stop_node 2 TERM
sed 's/"peer_queue_mb": 4/"peer_queue_mb": 65536/' "$work/node2.json" >"$work/node2.big.json"
cp "$work/node2.json" "$work/node2.small.json"
cp "$work/node2.big.json" "$work/node2.json"
check "node2 restarted with peer_queue_mb 65536" restart_node 2
attack 2 "$work/a.out" 100000
q=$(cat "$work/a.out.q")
check "A: without a bound in reach, node2's queue to node4 grew to at least 32 MiB ($q bytes)" \
  [ "$q" -ge $((32 << 20)) ]
grow=$(cat "$work/a.out.grow")
check "A: ... and node2's memory by at least 32 MiB ($grow kB)" [ "$grow" -ge $((32 << 10)) ]

# ---- B. node1 with the bound of 4 MiB, while redemptions run -------------------------------

"$driver" stream "$work" "$work/acks.b" 1 20 0 2000 60 >"$work/stream.out" 2>&1 &
stream=$!
pids+=("$stream")
attack 1 "$work/b.out" 100
touch "$work/acks.b.stop"
stream_done() { ! kill -0 "$stream" 2>/dev/null; }
if wait_for 90 stream_done; then wait "$stream"; stream_rc=$?; else stream_rc=124; fi
check "B: the redemptions through node1..node3 during the attack all complete (rc $stream_rc)" \
  [ "$stream_rc" -eq 0 ]
acked=$(wc -l <"$work/acks.b" 2>/dev/null || echo 0)
check "B: ... at least 10 of them ($acked)" [ "$acked" -ge 10 ]
cat "$work/acks.b" >>"$work/acks" 2>/dev/null
q=$(cat "$work/b.out.q")
# A page is gathered within the room left, and its first entry always goes.
check "B: node1's queue to node4 never held much more than 4 MiB ($q bytes sampled)" \
  [ "$q" -le $(((4 << 20) + (256 << 10))) ]
grow=$(cat "$work/b.out.grow")
check "B: node1's memory grew by less than 32 MiB ($grow kB)" [ "$grow" -lt $((32 << 10)) ]
check "B: node1 logs event=peer_backlog peer=node4 with its limit" \
  grep -q 'event=peer_backlog peer=node4 queued_bytes=[0-9]* limit_bytes=4194304' "$work/node1.log"
dropped_req() { metric 1 'voucher_peer_page_requests_dropped_total{peer="node4"}'; }
unanswered=$(dropped_req)
check "B: voucher_peer_page_requests_dropped_total{peer=\"node4\"} counts requests not answered (${unanswered:-none})" \
  [ "${unanswered:-0}" -gt 0 ]
dropped=$(metric 1 'voucher_peer_sends_dropped_queue_full_total{peer="node4"}')
check "B: voucher_peer_sends_dropped_queue_full_total{peer=\"node4\"} counts the sends dropped (${dropped:-none})" \
  [ "${dropped:-0}" -gt 0 ]
limit=$(metric 1 voucher_peer_send_queue_limit_bytes)
check "B: voucher_peer_send_queue_limit_bytes is 4 MiB ($limit)" [ "$limit" = 4194304 ]
honest_empty() { [ "$(queue_to 1 node2)" = 0 ] && [ "$(queue_to 1 node3)" = 0 ]; }
check "B: node1's queues to node2 and node3 empty once the stream ended (they take what it sends)" \
  wait_for 30 honest_empty
check "B: node1 dropped nothing for node2 and node3" \
  [ "$(metric 1 'voucher_peer_sends_dropped_queue_full_total{peer="node2"}') $(metric 1 'voucher_peer_sends_dropped_queue_full_total{peer="node3"}')" = "0 0" ]
cleared() { grep -q 'event=peer_backlog_cleared peer=node4 queued_bytes=' "$work/node1.log"; }
check "B: with node4's link gone, node1 logs event=peer_backlog_cleared" wait_for 30 cleared
empty4() { [ "$(queue_to 1 node4)" = 0 ]; }
check "B: ... and its queue to node4 is empty" wait_for 30 empty4

# ---- B2. a burst: 600 requests at once -------------------------------------------------------

before=$(dropped_req)
attack 1 "$work/b2.out" 100000
grow=$(cat "$work/b2.out.grow")
check "B2: 600 requests at once: node1's memory grew by less than 32 MiB ($grow kB)" \
  [ "$grow" -lt $((32 << 10)) ]
after=$(dropped_req)
check "B2: ... at least 500 of them not answered ($before -> $after)" \
  [ $((after - before)) -ge 500 ]

# ---- C. node4 back: everything everywhere ----------------------------------------------------

stop_node 2 TERM
check "node2, which held the control's replies, stops cleanly (rc $node_rc)" [ "$node_rc" -eq 0 ]
cp "$work/node2.small.json" "$work/node2.json"
check "node2 restarted with peer_queue_mb 4" restart_node 2
check "node4 restarted on its data" restart_node 4
# shellcheck disable=SC2046
"$driver" check "$work" 60 "$work/acks" >"$work/check.out" 2>&1
check "C: every certificate a client got is on every node, and the nodes agree" [ $? -eq 0 ]
grep FAIL "$work/check.out" | head -5

finish
