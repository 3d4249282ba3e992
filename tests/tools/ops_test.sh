#!/usr/bin/env bash
# ops_test.sh VOUCHERCTL VOUCHERD VOUCHER-BENCH
#
# docs/operations.md section 7 (lost data, replacing a machine) on a `voucherctl devnet` of real
# voucherd processes (ports from $$ in 18600-20599, another base if a port
# is taken), with a background voucher-bench (--mode redeem, 4 orders a
# second, bounded by --count and --duration, stopped by SIGINT when a and b
# are done) running throughout:
#  a. moving a machine: node2 stopped, `backup --cold` of it (refused while
#     it runs), `restore --move` of a hot backup refused, of the cold one
#     into a new data directory (the "new machine"), the old directory
#     removed, node2 started from the new one: it is still a voter;
#  b. lost data: node3 killed, its data directory deleted, restarted empty
#     with "observer": true: it reports observer, catches up, and from then
#     on every certificate is signed by node1, node2 and node4 only -- with
#     node3 not voting, nothing certifies without node2's vote, so node2
#     really votes after its move;
#  c. the bench's every certificate is on every node (verified_on_all_nodes)
#     and all four nodes end with the same log length and state digest; the
#     bench is stopped with SIGINT once a and b are done (it would run on
#     for up to 100 s otherwise), and reports and verifies what it sent;
#  d. a second voter runs as an observer: node4 restarted on its data with
#     "observer": true.  Two of four voters are left and quorum is 3: a
#     redemption gets NO_QUORUM (exit 1) with a message that counts the two
#     observers, not NOT_VOTER; node1 (which asked them) stops reporting
#     in_quorum and its /healthz turns 503; node4's /metrics shows
#     voucher_genesis_voter 1 with voucher_voter 0 (consensus/vl_core.c
#     note 25).
# Every process started is killed on exit; every wait is bounded; no timing
# assertions.  Prints "N passed, N failed".
set -u
ctl=${1:?usage: ops_test.sh VOUCHERCTL VOUCHERD VOUCHER-BENCH}
voucherd=${2:?usage: ops_test.sh VOUCHERCTL VOUCHERD VOUCHER-BENCH}
bench=${3:?usage: ops_test.sh VOUCHERCTL VOUCHERD VOUCHER-BENCH}

. "$(dirname "$0")/devnetlib.sh"
bench_pid=
cleanup_extra() {
  if [ -n "$bench_pid" ]; then kill -KILL "$bench_pid" 2>/dev/null; wait "$bench_pid" 2>/dev/null; fi
}
devnet_test_init ops-test 370 # ctest TIMEOUT 400

# set_config FILE KEY JSONVALUE: edit a node's configuration (KEY=null deletes).
set_config() {
  python3 - "$@" <<'PY'
import json, sys
path, key, val = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
d = json.load(open(path))
if val is None: d.pop(key, None)
else: d[key] = val
open(path, "w").write(json.dumps(d, indent=2))
PY
}

# ---- a devnet, traffic ---------------------------------------------------------------------

devnet_start 18600

genesis=$(dn 'd["genesis"]')
firm2=$(dn 'd["holders"][1]["pubkey"]')
k2=$(dn 'd["holders"][1]["key_file"]')
prov=$(dn 'd["providers"][0]["key_file"]')
for i in 1 2 3 4; do
  eval "pid$i=\$(dn 'd[\"nodes\"][$((i - 1))][\"pid\"]')"
  eval "cfg$i=\$(dn 'd[\"nodes\"][$((i - 1))][\"config\"]')"
  eval "log$i=\$(dn 'd[\"nodes\"][$((i - 1))][\"log\"]')"
  eval "data$i=\$(dn 'd[\"nodes\"][$((i - 1))][\"data_dir\"]')"
  eval "key$i=\$(dn 'd[\"nodes\"][$((i - 1))][\"key_file\"]')"
  eval "ep$i=\$(dn 'd[\"nodes\"][$((i - 1))][\"client_endpoint\"]')"
done

# a voucher for the redemptions this script makes itself (b)
run issue 30 issue --devnet "$dir" --issuer-key "$dir/keys/chengdu.key" --holder "$firm2" \
  --value-fen 100000000 --json
check "issue a voucher to firm2: exit 0" [ "$rc" -eq 0 ]
vb=$(py "$work/issue.out" 'd["vouchers"][0]')

# Background traffic: 400 redemptions of distinct vouchers, 4 a second, for
# at most 150 s, then the bench checks each certificate on every node.
"$bench" --devnet "$dir" --mode redeem --clients 2 --count 400 --rate 4 --duration 150 \
  --timeout-ms 3000 --verify-wait 60 --json >"$work/bench.out" 2>"$work/bench.err" &
bench_pid=$!
# bounded: the bench has issued its vouchers and certifies redemptions
run st0 10 status --devnet "$dir" --node "$ep1" --json
head0=$(py "$work/st0.out" 'd["nodes"][0]["status"]["log_head"]')
traffic=false
for i in $(seq 1 240); do
  run st 10 status --devnet "$dir" --node "$ep1" --json
  h=$(py "$work/st.out" 'd["nodes"][0]["status"]["log_head"]')
  if [ "${h:-0}" -ge $((head0 + 12)) ]; then traffic=true; break; fi
  kill -0 "$bench_pid" 2>/dev/null || break
  sleep 0.25
done
check "the background bench is certifying redemptions (log $head0 -> ${h:-?} entries)" $traffic

# a hot backup of node2 while it runs, for the refusals below
run hot2 60 backup --data-dir "$data2" --out "$work/hot2" --genesis "$genesis" --json
all_of_1() { [ "$rc" -eq 0 ] && \
  [ "$(py "$work/hot2.out" 'd["kind"]')" = hot ]; }
check "backup of node2 while it runs: exit 0, kind hot" all_of_1
run cold-running 30 backup --cold --data-dir "$data2" --out "$work/cold-running" --genesis "$genesis"
all_of_2() { [ "$rc" -eq 1 ] && \
  has cold-running.err 'is running' && [ ! -e "$work/cold-running" ]; }
check "backup --cold while node2 runs: exit 1, says it runs, writes nothing" all_of_2

# ---- a. node2 moves to a new machine -----------------------------------------------------------

kill -TERM "$pid2"
check "node2 stopped (SIGTERM)" gone "$pid2"
run stopped-hot 60 backup --data-dir "$data2" --out "$work/stopped-hot" --genesis "$genesis" --json
all_of_3() { \
  [ "$rc" -eq 0 ] && [ "$(py "$work/stopped-hot.out" 'd["kind"]')" = hot ]; }
check "backup (no --cold) of the stopped node2: kind hot (cold only when asked for)" all_of_3
run cold2 60 backup --cold --data-dir "$data2" --out "$work/cold2" --genesis "$genesis" --json
all_of_4() { [ "$rc" -eq 0 ] && \
  [ "$(py "$work/cold2.out" 'd["ok"], d["kind"], d["node_id"]')" = "(True, 'cold', 'node2')" ]; }
check "backup --cold of the stopped node2: exit 0, kind cold" all_of_4
[ "$rc" -eq 0 ] || cat "$work/cold2.err"
check "... still one file, data.mdb" [ "$(ls -A "$work/cold2")" = data.mdb ]
run vcold 60 verify-log --data-dir "$work/cold2" --genesis "$genesis"
check "verify-log --data-dir accepts the cold backup" [ "$rc" -eq 0 ]

machine2=$work/machine2/var/lib/voucher
mkdir -p "$work/machine2/var/lib"
run movehot 60 restore --move --backup "$work/hot2" --data-dir "$machine2" --genesis "$genesis" \
  --key "$key2"
all_of_5() { [ "$rc" -eq 1 ] && \
  has movehot.err 'HOT backup' && [ ! -e "$machine2" ]; }
check "restore --move of the HOT backup: exit 1, says hot, nothing made" all_of_5
run moveother 60 restore --move --backup "$work/cold2" --data-dir "$machine2" --genesis "$genesis" \
  --key "$key1"
all_of_6() { [ "$rc" -eq 1 ] && \
  has moveother.err 'not the key of node2' && [ ! -e "$machine2" ]; }
check "restore --move with node1's key: exit 1, nothing made" all_of_6
run move 60 restore --move --backup "$work/cold2" --data-dir "$machine2" --genesis "$genesis" \
  --key "$key2" --json
all_of_7() { [ "$rc" -eq 0 ] && \
  [ "$(py "$work/move.out" 'd["ok"], d["moved"], d["role"], d["observer"]')" = "(True, True, 'voter', False)" ]; }
check "restore --move of the cold backup: exit 0, node2 stays a voter" all_of_7
[ "$rc" -eq 0 ] || cat "$work/move.err"
check "... and says the backup is now used" [ "$(py "$work/move.out" 'd["backup_used"]')" = True ]
# The same cold backup again: a second copy of voter node2 would be one
# voter with two memories.  Refused; a plain restore (an observer) is not.
run moveagain 60 restore --move --backup "$work/cold2" --data-dir "$work/machine3" \
  --genesis "$genesis" --key "$key2"
all_of_7b() { [ "$rc" -eq 1 ] && \
  has moveagain.err 'was restored with --move already' && [ ! -e "$work/machine3" ]; }
check "restore --move of the same cold backup again: exit 1, says it was used, nothing made" \
  all_of_7b
run plainagain 60 restore --backup "$work/cold2" --data-dir "$work/machine3" \
  --genesis "$genesis" --key "$key2" --json
all_of_7c() { [ "$rc" -eq 0 ] && [ "$(py "$work/plainagain.out" 'd["role"]')" = observer ]; }
check "... a plain restore of it still works, as an observer" all_of_7c
rm -rf "$work/machine3"

# backup --cold retired the source: the old directory, started again, could
# only be an observer (its meta "observer" is 1).
check "the cold backup's source is retired: its meta holds the observer flag" \
  eval '[ "$(mdb_dump -p -s meta "$data2" | grep -A1 "^ observer$" | tail -1)" = " \\01" ]'
# The old machine never runs node2 again: its data directory goes.
rm -rf "$data2"
set_config "$cfg2" data_dir "\"$machine2\""
"$voucherd" --config "$cfg2" >>"$log2" 2>&1 &
pid2=$!
echo "$pid2" >>"$work/pids"
check "node2 on the new machine is a voter again (role voter, flag voter) and caught up" \
  wait_status 60 '[n["role"] for n in d["nodes"]] == ["voter"] * 4 and "voter" in d["nodes"][1]["status"]["flags"] and d["nodes"][1]["status"]["log_head"] >= '"${h:-0}"
check "... it logged role=voter when ready" grep -q 'event=ready .*role=voter' "$log2"
check "... the bench still runs (traffic throughout the move)" kill -0 "$bench_pid"

# ---- b. node3 loses its data and rejoins as an observer --------------------------------------------

kill -KILL "$pid3"
check "node3 killed (SIGKILL)" gone "$pid3"
rm -rf "$data3"
set_config "$cfg3" observer true
"$voucherd" --config "$cfg3" >>"$log3" 2>&1 &
pid3=$!
echo "$pid3" >>"$work/pids"
check "node3 restarted empty with \"observer\": true reports role observer, no voter flag" \
  wait_status 60 'd["nodes"][2]["role"] == "observer" and "voter" not in d["nodes"][2]["status"]["flags"]'
run st1 10 status --devnet "$dir" --node "$ep1" --json
from=$(($(py "$work/st1.out" 'd["nodes"][0]["status"]["log_head"]') + 1))

# With node3 an observer, a quorum (3) needs node1, node2 and node4: node2 must vote.
redeemed=0
voters_ok=true
for i in 1 2 3; do
  run redeem 30 redeem --devnet "$dir" --voucher "$vb" --amount-fen 1000 --holder-key "$k2" \
    --provider-key "$prov" --json
  if [ "$rc" -eq 0 ]; then
    redeemed=$((redeemed + 1))
    [ "$(py "$work/redeem.out" 'sorted(d["certificate"]["voters"])')" = "['node1', 'node2', 'node4']" ] || voters_ok=false
  fi
done
check "redemptions certify while node3 is an observer (3 of 3)" [ "$redeemed" -eq 3 ]
check "... signed by node1, node2 (moved) and node4" $voters_ok
check "... the bench still runs (traffic throughout the rejoin)" kill -0 "$bench_pid"
# The scenario is over: SIGINT ends the bench's run early, as --duration
# would (voucher-bench.c note 13); it then reports and verifies what it sent.
kill -INT "$bench_pid" 2>/dev/null

# ---- c. the bench's certificates on every node; one state --------------------------------------------

for i in $(seq 1 2400); do kill -0 "$bench_pid" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$bench_pid" 2>/dev/null
wait "$bench_pid"
brc=$?
bench_pid=
check "voucher-bench exit 0" [ "$brc" -eq 0 ]
check "... certified redemptions, none failed, every certificate verified on all 4 nodes" \
  [ "$(py "$work/bench.out" 'd["orders"]["certified"] > 0, d["orders"]["errors"], d["verified_on_all_nodes"], d["verification"]["nodes"]')" = "(True, 0, True, 4)" ]
[ "$brc" -eq 0 ] || { tail -5 "$work/bench.err"; head -c 2000 "$work/bench.out"; echo; }
echo "     (bench: $(py "$work/bench.out" 'd["orders"]'))"

check "all four nodes reach the same log length and state digest" \
  wait_status 60 'd["reachable"] == 4 and len({(n["status"]["log_head"], n["status"]["state_digest"]) for n in d["nodes"]}) == 1'
check "... roles voter, voter, observer, voter" \
  [ "$(py "$work/st.out" '[n["role"] for n in d["nodes"]]')" = "['voter', 'voter', 'observer', 'voter']" ]

# node3 never voted after it lost its data: no certificate from then on names it
run log 30 log --devnet "$dir" --node "$ep1" --from "$from" --max 1000 --json
check "node1's log from entry $from on: $(py "$work/log.out" 'len(d["entries"])') certificates, none signed by node3" \
  [ "$(py "$work/log.out" 'len(d["entries"]) >= 3 and not any("node3" in e["certificate"]["voters"] for e in d["entries"])')" = True ]

# ---- d. a second voter runs as an observer: no quorum, and every signal says so ----------------

metrics4=$(dn 'd["nodes"][3]["metrics_url"]')
metrics1=$(dn 'd["nodes"][0]["metrics_url"]')
kill -TERM "$pid4"
check "node4 stopped (SIGTERM)" gone "$pid4"
set_config "$cfg4" observer true
"$voucherd" --config "$cfg4" >>"$log4" 2>&1 &
pid4=$!
echo "$pid4" >>"$work/pids"
check "node4 restarted on its data with \"observer\": true reports role observer" \
  wait_status 60 'd["nodes"][3]["role"] == "observer" and "voter" not in d["nodes"][3]["status"]["flags"]'
# prom URL NAME: the value of an unlabelled sample of /metrics.
prom() {
  python3 - "$1" "$2" <<'PY' 2>/dev/null
import sys, urllib.request
text = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
print(next(l.split()[1] for l in text.splitlines() if l.split(" ")[0] == sys.argv[2]))
PY
}
check "node4's /metrics: voucher_genesis_voter 1, voucher_voter 0 (a demoted voter, alertable)" \
  [ "$(prom "$metrics4" voucher_genesis_voter) $(prom "$metrics4" voucher_voter)" = "1 0" ]
check "node1's /metrics: voucher_genesis_voter 1, voucher_voter 1" \
  [ "$(prom "$metrics1" voucher_genesis_voter) $(prom "$metrics1" voucher_voter)" = "1 1" ]
run noquorum 30 redeem --devnet "$dir" --node "$ep1" --voucher "$vb" --amount-fen 1000 \
  --holder-key "$k2" --provider-key "$prov" --json
check "a redemption with 2 of 4 voters voting: exit 1" [ "$rc" -eq 1 ]
check "... NO_QUORUM (detail QUORUM), not NOT_VOTER" \
  [ "$(py "$work/noquorum.out" 'd["error"]["code"], d["error"]["detail"]')" = "('NO_QUORUM', 'QUORUM')" ]
check "... its message counts the voters running as observers" \
  has noquorum.out '2 of the 4 voters run as observers'
[ "$rc" -eq 1 ] || head -c 600 "$work/noquorum.out"
check "node1 no longer reports in_quorum (node3 and node4 refused it a vote)" \
  wait_status 20 '"in_quorum" not in d["nodes"][0]["status"]["flags"]'
health1=$(python3 -c 'import sys, urllib.request, urllib.error
try: r = urllib.request.urlopen(sys.argv[1], timeout=5); print(r.status)
except urllib.error.HTTPError as e: print(e.code)' "${metrics1%/metrics}/healthz" 2>/dev/null)
check "node1's /healthz: 503 ($health1)" [ "$health1" = 503 ]
observers_counted() {
  [ "$(prom "$metrics1" voucher_voters_observing) $(prom "$metrics1" voucher_voters_heard)" = "2 2" ]
}
check "node1's /metrics: voucher_voters_observing 2, voucher_voters_heard 2 (node1, node2)" \
  wait_for 30 observers_counted
self_counted() { [ "$(prom "$metrics4" voucher_voters_observing)" -ge 1 ] 2>/dev/null; }
check "node4's /metrics: voucher_voters_observing counts node4 itself" self_counted

kill -TERM "$pid2" "$pid3" "$pid4"
run down 60 devnet down --dir "$dir"
check "devnet down: exit 0" [ "$rc" -eq 0 ]
check "the restarted node2 and node3 stopped" gone "$pid2"
gone "$pid3"
gone "$pid4"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
