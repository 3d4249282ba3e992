#!/usr/bin/env bash
# metrics_test.sh VOUCHERD VOUCHERCTL FAULT_DRIVER
#
# The HTTP endpoint of voucherd (node/vl_metrics.h, docs/voucherd.md
# "Metrics and health"): four real nodes on 127.0.0.1, each with
# metrics_bind; /metrics is fetched with python3's urllib and checked
# against the Prometheus text format; orders are submitted with
# fault_driver and the counters must follow; two of four voters are frozen
# (SIGSTOP) and /healthz must turn 503 "not in quorum", then 200 again after
# SIGCONT; a voter on another genesis (vl_core.c note 27) is named on both
# sides and its WRONG_NETWORK never reaches a client; a malformed
# metrics_bind is refused and a port in use makes the node exit 1.  No assertion depends on timing; every wait is bounded.
# Every process started here is killed by PID on exit.  Prints "N passed,
# N failed".
set -u
voucherd=$1
ctl=$2
driver=$3

work=$(mktemp -d /tmp/metrics-test.XXXXXX)
passed=0
failed=0
# verify_threads 3: the verification pool runs whatever the CPU count.
node_config_extra='"log_level": "info", "sync_interval_ms": 200, "client_timeout_ms": 2000, "verify_threads": 3'
# shellcheck source=netlib.sh
. "$(dirname "$0")/netlib.sh"

cleanup() {
  local i
  for i in 1 2 3 4; do kill -CONT "${node_pid[$i]:-0}" 2>/dev/null; done
  net_cleanup
  net_finish_work
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
watchdog_start 270 metrics_test # below ctest's TIMEOUT of 300 s


# ---- a small Prometheus client (python3: curl may be missing) ---------------------------

cat >"$work/prom.py" <<'PY'
import re, sys, urllib.error, urllib.request

def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABELS = r'\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*")*\}'
VALUE = r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|[-+]Inf|NaN"
SAMPLE = re.compile(r"^(%s)(%s)? (%s)$" % (NAME, LABELS, VALUE))
HELP = re.compile(r"^# HELP (%s) \S.*$" % NAME)
TYPE = re.compile(r"^# TYPE (%s) (counter|gauge|histogram|summary|untyped)$" % NAME)

def parse(text):
    """Samples {name+labels: value}; raises ValueError on a format error."""
    types, helps, samples = {}, set(), {}
    if not text.endswith("\n"):
        raise ValueError("the body does not end with a newline")
    for line in text.splitlines():
        if line.startswith("#"):
            m = TYPE.match(line) or HELP.match(line)
            if m is None:
                raise ValueError("bad comment line: %r" % line)
            if line.startswith("# TYPE"):
                if m.group(1) in types:
                    raise ValueError("TYPE twice: %s" % m.group(1))
                types[m.group(1)] = m.group(2)
            else:
                helps.add(m.group(1))
            continue
        m = SAMPLE.match(line)
        if m is None:
            raise ValueError("bad sample line: %r" % line)
        name = m.group(1)
        if not name.startswith("voucher_"):
            raise ValueError("name without the voucher_ prefix: %s" % name)
        base = name
        if base not in types:
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            if types.get(base) != "histogram":
                raise ValueError("sample without a TYPE: %s" % name)
        if base not in helps:
            raise ValueError("metric without HELP: %s" % base)
        key = name + (m.group(2) or "")
        if key in samples:
            raise ValueError("sample twice: %s" % key)
        samples[key] = float(m.group(3))
    for h, t in types.items():
        if t != "histogram":
            continue
        cum = [v for k, v in samples.items() if k.startswith(h + "_bucket{")]
        if cum != sorted(cum) or samples.get(h + '_bucket{le="+Inf"}') != samples.get(h + "_count"):
            raise ValueError("histogram %s: buckets not cumulative or +Inf != count" % h)
    return types, samples

cmd, url = sys.argv[1], sys.argv[2]
if cmd == "health":  # prints "CODE BODY"
    code, _, body = fetch(url)
    print(code, body.strip())
elif cmd == "code":
    print(fetch(url)[0])
else:
    code, ctype, body = fetch(url)
    if code != 200 or not ctype.startswith("text/plain; version=0.0.4"):
        sys.exit("status %d, Content-Type %r" % (code, ctype))
    try:
        types, samples = parse(body)
    except ValueError as e:
        sys.exit(str(e))
    if cmd == "check":  # the format, and that every named metric is there
        missing = [n for n in sys.argv[3:] if n not in types]
        if missing:
            sys.exit("missing metrics: %s" % " ".join(missing))
        print("%d metrics, %d samples" % (len(types), len(samples)))
    elif cmd == "value":  # one sample's value, as an integer
        print(int(samples[sys.argv[3]]))
    elif cmd == "dump":
        sys.stdout.write(body)
PY
prom() { python3 "$work/prom.py" "$@"; }
murl() { echo "http://127.0.0.1:$((base + 1000 + $1))$2"; }
metric() { prom value "$(murl "$1" /metrics)" "$2" 2>/dev/null; }

# ---- four nodes, each with metrics at B+1000+I ------------------------------------------

# net_start from netlib.sh, with a metrics_bind per node: ports B+1..B+8
# and B+1001..B+1004, B in 13200..13690 from $$ (another base when a port
# is taken).
metrics_port_offset=1000

net_make_keys shanghai firm dc1 dc2 || { bad "keys"; finish; }
if ! net_start 13200 50 metrics-test \
    --issuer "shanghai,310000,$work/shanghai.key,60000000000" \
    --provider "dc1,520000,$work/dc1.key" --provider "dc2,640000,$work/dc2.key"; then
  bad "four nodes with metrics reach event=ready"
  tail -n 5 "$work"/node?.log
  finish
fi
ok "four nodes with metrics reach event=ready (metrics ports $((base + 1001))..$((base + 1004)))"
check "the metrics endpoint is logged" grep -q 'socket=metrics endpoint=http://127.0.0.1' "$work/node1.log"

# ---- the exposition -----------------------------------------------------------------------

names="voucher_orders_submitted_total voucher_client_requests_total
  voucher_certificates_formed_total voucher_certificates_sent_before_commit_total
  voucher_certificates_applied_total voucher_votes_sent_total
  voucher_bad_inputs_total voucher_sync_entries_skipped_total voucher_sync_entries_pulled_total
  voucher_vote_requests_widened_total
  voucher_messages_dropped_total voucher_zap_refused_total
  voucher_log_head voucher_pending_locks voucher_peers_connected voucher_quorum_reachable
  voucher_voters_heard voucher_voters_observing
  voucher_read_only voucher_syncing voucher_lmdb_map_size_bytes voucher_lmdb_map_used_bytes
  voucher_step_duration_seconds voucher_step_inputs voucher_prevalidated_signatures_total
  voucher_batches_received_during_commit_total voucher_lmdb_prefilled_bytes_total
  voucher_peer_bad_inputs_total voucher_peers_penalized"
for i in 1 2 3 4; do
  # shellcheck disable=SC2086
  out=$(prom check "$(murl "$i" /metrics)" $names 2>&1)
  check "node$i: /metrics parses (every sample line, HELP and TYPE for each): $out" [ $? -eq 0 ]
done
check "an unknown path is 404" [ "$(prom code "$(murl 1 /nope)")" = 404 ]
check "/metrics/ (another path) is 404" [ "$(prom code "$(murl 1 /metrics/x)")" = 404 ]
# The peer links come up: quorum, then healthy.
healthy() { [ "$(prom health "$(murl "$1" /healthz)")" = "200 healthy" ]; }
for i in 1 2 3 4; do
  check "node$i: /healthz is 200 \"healthy\" once the links are up" wait_for 30 healthy "$i"
done
check "voucher_quorum_reachable is 1" [ "$(metric 1 voucher_quorum_reachable)" = 1 ]
all_heard() { [ "$(metric 1 voucher_voters_heard) $(metric 1 voucher_voters_observing)" = "4 0" ]; }
check "voucher_voters_heard 4, voucher_voters_observing 0" wait_for 30 all_heard

# ---- counters follow the orders ---------------------------------------------------------------

sum_metric() {
  local i s=0 v
  for i in 1 2 3 4; do v=$(metric "$i" "$1") || return 1; s=$((s + v)); done
  echo "$s"
}
orders0=$(sum_metric voucher_orders_submitted_total)
formed0=$(sum_metric voucher_certificates_formed_total)
early0=$(sum_metric voucher_certificates_sent_before_commit_total)
steps0=$(sum_metric voucher_step_inputs_count)
check "61 vouchers issued through fault_driver (one ISSUE order)" "$driver" setup "$work" 61
# A stream of REDEEMs (fault_driver stream) until at least 10 are certified.
"$driver" stream "$work" "$work/acks" 1 20 0 2000 60 >"$work/stream.out" 2>&1 &
stream=$!
pids+=("$stream")
acked() { if [ -f "$work/acks" ]; then wc -l <"$work/acks"; else echo 0; fi; }
at_least() { [ "$(acked)" -ge "$1" ]; }
stream_done() { ! kill -0 "$stream" 2>/dev/null; }
wait_for 60 at_least 10
touch "$work/acks.stop"
if wait_for 90 stream_done; then wait "$stream"; stream_rc=$?; else stream_rc=124; fi
check "the stream of redemptions ends cleanly (rc $stream_rc)" [ "$stream_rc" -eq 0 ]
certs=$((1 + $(acked)))
check "at least 10 redemptions certified ($((certs - 1)))" [ "$certs" -ge 11 ]
applied_all() {
  local i v
  for i in 1 2 3 4; do
    v=$(metric "$i" voucher_certificates_applied_total) || return 1
    [ "$v" -ge "$certs" ] || return 1
  done
}
check "every node's certificates_applied_total reaches $certs" wait_for 30 applied_all
orders1=$(sum_metric voucher_orders_submitted_total)
formed1=$(sum_metric voucher_certificates_formed_total)
early1=$(sum_metric voucher_certificates_sent_before_commit_total)
steps1=$(sum_metric voucher_step_inputs_count)
check "orders_submitted_total (all nodes) grew by at least $certs ($orders0 -> $orders1)" \
  [ "$orders1" -ge $((orders0 + certs)) ]
check "certificates_formed_total (all nodes) grew by at least $certs ($formed0 -> $formed1)" \
  [ "$formed1" -ge $((formed0 + certs)) ]
# With four voters a coordinator's own vote is durable a step before the
# other voters' votes come back, so its certificates leave before the
# commit of the step that forms them (consensus/vl_core.c note 24); no
# commit failed here, so they are a part of those formed.
early_within() { [ "$early1" -gt "$early0" ] && [ $((early1 - early0)) -le $((formed1 - formed0)) ]; }
check "certificates_sent_before_commit_total grew, within certificates_formed_total (early $early0 -> $early1, formed +$((formed1 - formed0)))" \
  early_within
check "the step histograms observed steps ($steps0 -> $steps1)" [ "$steps1" -gt "$steps0" ]
# Every certificate a coordinator broadcasts reaches the other voters as a
# CERTS message, whose order and vote signatures the pool checks first.
prevalidated() { [ "$(sum_metric voucher_prevalidated_signatures_total)" -gt 0 ]; }
check "prevalidated_signatures_total (all nodes) counts the pool's checks" wait_for 20 prevalidated
# Log sync (every 200 ms here) finds the broadcast certificates in each
# peer's log by their summaries: every node passes at least the other
# nodes' entries of them without pulling them again.
skipped() { [ "$(metric "$1" voucher_sync_entries_skipped_total)" -ge "$certs" ]; }
for i in 1 2 3 4; do
  check "node$i: sync_entries_skipped_total reaches $certs (summaries of held entries)" \
    wait_for 20 skipped "$i"
done
v=$(metric 1 voucher_votes_sent_total)
check "votes_sent_total counts ($v)" [ "${v:-0}" -ge 1 ]
v=$(metric 1 voucher_lmdb_map_used_bytes)
check "lmdb_map_used_bytes is filled ($v)" [ "${v:-0}" -gt 0 ]
v=$(metric 1 voucher_lmdb_prefilled_bytes_total)
check "lmdb_prefilled_bytes_total: the data file was extended ahead of LMDB ($v bytes)" \
  [ "${v:-0}" -ge $((128 * 1024)) ]
# log_head as /metrics and STATUS say (the network is idle: they settle).
head_matches() {
  local st h
  st=$("$driver" status "$work" 2>/dev/null | grep "node1 " | sed 's/.*log_head=\([0-9]*\).*/\1/')
  h=$(metric 1 voucher_log_head) || return 1
  [ -n "$st" ] && [ "$st" = "$h" ] && [ "$h" -ge "$certs" ]
}
check "voucher_log_head equals STATUS log_head on node1" wait_for 20 head_matches

# ---- health: two of four voters frozen ------------------------------------------------------

kill -STOP "${node_pid[3]}" "${node_pid[4]}"
not_quorum() { [[ "$(prom health "$(murl 1 /healthz)")" == "503 up but not in quorum"* ]]; }
check "2 of 4 voters frozen: node1's /healthz turns 503 \"up but not in quorum\"" \
  wait_for 30 not_quorum
echo "     $(prom health "$(murl 1 /healthz)")"
check "voucher_quorum_reachable is 0" [ "$(metric 1 voucher_quorum_reachable)" = 0 ]
two_heard_reason() {
  grep -q "503 up but not in quorum: 2 voter(s) that vote heard from recently (this node included if it votes; 0 run as observers" <<<"$(prom health "$(murl 1 /healthz)")"
}
check "... the reason counts 2 voters that vote heard from, 0 observers" wait_for 30 two_heard_reason
two_heard() { [ "$(metric 1 voucher_voters_heard)" = 2 ]; }
check "voucher_voters_heard 2 (node1 and node2)" wait_for 30 two_heard
kill -CONT "${node_pid[3]}" "${node_pid[4]}"
check "after SIGCONT node1's /healthz returns to 200" wait_for 30 healthy 1

# ---- configuration and start failures -----------------------------------------------------

for badval in '127.0.0.1' '127.0.0.1:0' '127.0.0.1:65536' 'localhost:9100' ':9100' \
    '127.0.0.1:91x' '[::1]9100' 'tcp://127.0.0.1:9100'; do
  sed "s|\"metrics_bind\": \"[^\"]*\"|\"metrics_bind\": \"$badval\"|" "$work/node1.json" >"$work/bad.json"
  out=$("$voucherd" --config "$work/bad.json" --check 2>&1); rc=$?
  all_of_1() { \
    [ $rc -eq 1 ] && [[ $out == *'"metrics_bind"'* ]]; }
  check "metrics_bind \"$badval\" is refused, naming the member" all_of_1
done
sed 's|"metrics_bind": "[^"]*"|"metrics_bind": ""|' "$work/node1.json" >"$work/off.json"
"$voucherd" --config "$work/off.json" --check >/dev/null 2>&1
check "metrics_bind \"\" (off) is accepted" [ $? -eq 0 ]
sed 's|"metrics_bind": "[^"]*"|"metrics_bind": "[::1]:9100"|' "$work/node1.json" >"$work/v6.json"
"$voucherd" --config "$work/v6.json" --check >/dev/null 2>&1
check "metrics_bind \"[::1]:9100\" is accepted" [ $? -eq 0 ]

# A node whose metrics port is taken (node2's) refuses to start: its own
# data directory and wildcard peer/client ports, so that only the metrics
# port collides.
sed -e "s|\"metrics_bind\": \"[^\"]*\"|\"metrics_bind\": \"127.0.0.1:$((base + 1002))\"|" \
    -e 's|"data_dir": "data/node1"|"data_dir": "data/taken", "peer_bind": "tcp://127.0.0.1:*", "client_bind": "tcp://127.0.0.1:*"|' \
    "$work/node1.json" >"$work/taken.json"
out=$(timeout 30 "$voucherd" --config "$work/taken.json" 2>&1); rc=$?
check "a metrics port in use: the node exits 1 (rc $rc)" [ $rc -eq 1 ]
check "... saying \"cannot bind the metrics endpoint\"" \
  grep -q 'cannot bind the metrics endpoint 127.0.0.1' <<<"$out"
check "... as a configuration error (error=usage), not a disk's (error=io)" \
  grep -q 'event=fatal error=usage .*cannot bind the metrics endpoint' <<<"$out"

# ---- a voter on another genesis (consensus/vl_core.c note 27) ------------------------------------
# node4 restarted on a genesis that differs from the others' by one budget
# figure (the same keys, so its peers admit it; a new data directory, as an
# operator who got the genesis wrong from the start would have).  Redemptions through node2
# and node3 (coordinators that ask node4 among their first q - 1 voters)
# must all complete: three voters suffice, and node4's WRONG_NETWORK is
# about node4, not the order (it used to reach the client as a final
# refusal while honest voters held votes for the order).  The coordinators
# log peer_network_differs and count node4 in voucher_voters_foreign;
# node4 logs network_differs and, once more than max_faulty (1) peers asked
# it (each coordinator picks its voters from the order hash: 12 orders
# each leave node4 unasked by one of them with odds of (1/3)^12), its
# /healthz says its genesis differs.
stop_node 4 TERM
cp "$work/node4.json" "$work/node4.good.json"
python3 - "$work/genesis.json" "$work/genesis-other.json" "$work/node4.json" <<'PY'
import json, sys
g = json.load(open(sys.argv[1]))
g["issuers"][0]["budget_fen"] += 1
json.dump(g, open(sys.argv[2], "w"), indent=1)
c = json.load(open(sys.argv[3]))
c["genesis"] = sys.argv[2]
c["data_dir"] += "-other"  # a data directory is bound to its network: node4 would refuse its own
json.dump(c, open(sys.argv[3], "w"))
PY
check "node4 restarted on another genesis (one budget differs), on a new data directory" \
  restart_node 4
for first in 1 2; do
  rm -f "$work/acks.other" "$work/acks.other.stop"
  # vouchers 21..40, then 41..60: a stream starts each voucher at seq 0
  "$driver" stream "$work" "$work/acks.other" $((first * 20 + 1)) 20 "$first" 2000 60 \
    >"$work/other$first.out" 2>&1 &
  stream=$!
  pids+=("$stream")
  other_acked() { [ -f "$work/acks.other" ] && [ "$(wc -l <"$work/acks.other")" -ge 12 ]; }
  wait_for 60 other_acked
  touch "$work/acks.other.stop"
  if wait_for 90 stream_done; then wait "$stream"; stream_rc=$?; else stream_rc=124; fi
  check "redemptions through node$((first + 1)) complete, none refused (rc $stream_rc)" \
    [ "$stream_rc" -eq 0 ]
  ! grep -q WRONG_NETWORK "$work/other$first.out"
  check "... no client saw WRONG_NETWORK" [ $? -eq 0 ]
done
differs() { grep -q 'event=peer_network_differs peer=node4' "$work"/node[123].log; }
check "a coordinator logs event=peer_network_differs peer=node4" wait_for 20 differs
foreign_counted() {
  local i
  for i in 1 2 3; do [ "$(metric "$i" voucher_voters_foreign)" = 1 ] && return 0; done
  return 1
}
check "... and counts it in voucher_voters_foreign" wait_for 20 foreign_counted
check "node4 logs event=network_differs (its genesis is the odd one)" \
  wait_for 20 grep -q 'event=network_differs peer=node' "$work/node4.log"
odd_health() { [[ "$(prom health "$(murl 4 /healthz)")" == "503 genesis differs from its peers'"* ]]; }
check "node4's /healthz: 503 \"genesis differs from its peers'\"" wait_for 20 odd_health
# node3 on the other genesis too: two voters of four left, no quorum.  The
# client must get QUORUM naming the cause (it used to get WRONG_NETWORK,
# documented as final), and the same bytes complete once both are back.
stop_node 3 TERM
cp "$work/node3.json" "$work/node3.good.json"
python3 - "$work/genesis-other.json" "$work/node3.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[2]))
c["genesis"] = sys.argv[1]
c["data_dir"] += "-other"
json.dump(c, open(sys.argv[2], "w"))
PY
check "node3 restarted on the other genesis too" restart_node 3
"$driver" noquorum "$work" "$work/foreign.order" 61 500 0 1 >"$work/foreign.out" 2>&1
rc=$?
all_of_2() { [ "$rc" -eq 0 ] && grep -q 'ended with VL_ERR_QUORUM .*2 of the 4 voters answer WRONG_NETWORK' "$work/foreign.out"; }
check "an order through node1 and node2: QUORUM, \"2 of the 4 voters answer WRONG_NETWORK\", not the code WRONG_NETWORK (rc $rc)" \
  all_of_2
[ "$rc" -eq 0 ] || cat "$work/foreign.out"
for i in 3 4; do
  stop_node "$i" TERM
  cp "$work/node$i.good.json" "$work/node$i.json"
  check "node$i restarted on the network's genesis" restart_node "$i"
done
"$driver" resubmit "$work" "$work/foreign.order" "$work/acks.foreign" >"$work/resubmit.out" 2>&1
check "... and the same order's bytes now get their certificate" [ $? -eq 0 ]
check "node4's /healthz is 200 again" wait_for 30 healthy 4

# ---- a damaged record: /healthz says steps fail ------------------------------------------------
# node4 stopped, one account record in its data file overwritten with zeros
# (mdb_dump / mdb_load, lmdb-utils).  Restarted as configured, it refuses
# the file (the walk at start, consensus/vl_check.c).  Restarted with
# "check_data_at_start": false, which stands for damage that arrives while
# the node runs: a GET_ACCOUNT of it fails its step, and /healthz says so
# for a minute (not "up but not in quorum")
stop_node 4 TERM
acct=$(mdb_dump -s accounts "$work/data/node4" | python3 -c '
import sys
lines = [l.strip() for l in sys.stdin if l.startswith(" ")]
for k, v in zip(lines[0::2], lines[1::2]):
    if len(k) == 64:
        print(k, v); break')
set -- $acct
{ printf 'VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n %s\n %s\nDATA=END\n' "$1" \
    "$(printf '%*s' "${#2}" '' | tr ' ' 0)"; } | mdb_load -s accounts "$work/data/node4"
check "account $1 of node4 overwritten with zeros" [ $? -eq 0 ]
out=$(timeout 30 "$voucherd" --config "$work/node4.json" 2>&1); rc=$?
check "restarted as configured, node4 refuses its damaged data file: exit 1 (rc $rc)" [ $rc -eq 1 ]
check "... naming the table, the record and the fault" \
  grep -q 'event=fatal error=corrupt .*damaged: table accounts, record [0-9]*: the account does not decode' \
  <<<"$out"
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["check_data_at_start"]=False; json.dump(c, open(sys.argv[1], "w"))' \
  "$work/node4.json"
check "node4 restarted with check_data_at_start false" restart_node 4
"$ctl" query --genesis "$work/genesis.json" --node "$(client_ep 4)" --voucher "$1" \
  --timeout-ms 2000 >/dev/null 2>&1
failing() { [[ "$(prom health "$(murl 4 /healthz)")" == "503 steps failing: the latest failed with error="* ]]; }
check "node4 logs event=step_failed" wait_for 10 grep -q 'event=step_failed' "$work/node4.log"
check "node4's /healthz: 503 \"steps failing\", naming the error" wait_for 10 failing
echo "     $(prom health "$(murl 4 /healthz)")"
check "voucher_steps_failed_total of node4 counts it" [ "$(metric 4 voucher_steps_failed_total)" -ge 1 ]

# ---- SIGTERM stops the HTTP server with the node ---------------------------------------------

stop_node 1 TERM
check "SIGTERM: node1 exits 0 with its HTTP server (rc $node_rc)" [ "$node_rc" -eq 0 ]
check "node1's metrics port is closed after the stop" \
  [ "$(prom code "$(murl 1 /metrics)" 2>/dev/null)" != 200 ]
finish
