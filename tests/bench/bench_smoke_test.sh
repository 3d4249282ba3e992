#!/usr/bin/env bash
# bench_smoke_test.sh VOUCHERD VOUCHERCTL VOUCHER_BENCH
#
# Smoke test of voucher-bench against a devnet of four real voucherd
# processes on 127.0.0.1 (`voucherctl devnet up`, ports 2000-4199 derived
# from $$, another base if one cannot bind): runs `voucher-bench --mode
# redeem`, `--mode mixed` and `--mode issue` with --json, and the redeem
# and mixed modes again with --pipeline (closed and open loop), and checks
# from the JSON that every order was certified or refused as expected,
# that no error was counted and that every certificate is on every node,
# and that the CPU and the disk bytes written per order (/proc/PID/io) have
# a figure for every node (above zero for the disk, unless the scratch
# directory is on tmpfs, whose pages never go to a disk); one run in text
# must print both lines.  SIGINT during a run ends it early with figures
# and exit 0; before the run, it dies of the signal (exit status 130).
# A lone voter made with `devnet up --verify-threads 2` must certify a
# pipelined run and report batches checked during commits (voucherd note
# 9).  An issuer seq taken by another order during setup (a run stopped
# there): the bench never sends its own ISSUE there again, submits the
# other order and goes on once it is certified.  Then one node of
# the four is stopped and a pipelined run must still
# certify every order by failing over to the next node, and give the
# stopped node no CPU or disk figure (null).  No timing is asserted.  Every
# node is stopped on exit (devnet down, then SIGKILL by the pids of
# devnet.json); every wait is bounded.  Prints "N passed, N failed".
set -u
voucherd=$1
ctl=$2
bench=$3

work=$(mktemp -d /tmp/bench-smoke.XXXXXX)
net=$work/devnet
passed=0
failed=0

devnet_pids() {
  [ -f "$net/devnet.json" ] &&
    python3 -c 'import json,sys; print(" ".join(str(n["pid"]) for n in json.load(open(sys.argv[1]))["nodes"] if n["pid"]))' "$net/devnet.json"
}
cleanup() {
  local pids
  pids="$(devnet_pids) $(net=$work/devnet1 devnet_pids)"
  timeout 60 "$ctl" devnet down --dir "$net" >/dev/null 2>&1
  for p in $pids; do kill -KILL "$p" 2>/dev/null; done
  if [ "$failed" -eq 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$work"; else echo "logs kept in $work"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }

started=false
for attempt in 0 1 2 3 4; do
  base=$((2000 + (($$ + attempt * 397) % 199) * 10))
  rm -rf "$net"
  if timeout 90 "$ctl" devnet up --dir "$net" --base-port "$base" --voucherd "$voucherd" \
      >"$work/up.out" 2>&1; then
    started=true
    break
  fi
  grep -q 'cannot bind\|in use' "$work/up.out" || break
  echo "ports from $base in use, trying another base"
done
if ! $started; then
  bad "voucherctl devnet up"
  tail -n 20 "$work/up.out"
  echo "$passed passed, $failed failed"
  exit 1
fi
ok "devnet of four voters up (ports $base..$((base + 7)))"

# write_bytes counts pages sent to a block device: none on tmpfs or ramfs.
case $(stat -f -c %T "$work" 2>/dev/null) in
  tmpfs|ramfs) disk_counts=false ;;
  *) disk_counts=true ;;
esac

# check_json NAME FILE COUNT [DEVNET]: the assertions of the header on one
# result of the devnet DEVNET (default the four voters).
check_json() {
  python3 - "$2" "$3" "${4:-$net}" "$disk_counts" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
ids = sorted(x["id"] for x in json.load(open(sys.argv[3] + "/devnet.json"))["nodes"])
disk_counts = sys.argv[4] == "true"
o = r["orders"]
problems = []
if o["submitted"] != n: problems.append("submitted %d, want %d" % (o["submitted"], n))
if o["certified"] + o["refused_as_expected"] != n:
    problems.append("certified %d + refused as expected %d != %d"
                    % (o["certified"], o["refused_as_expected"], n))
if o["errors"] != 0 or r["errors"] != {}: problems.append("errors: %s" % r["errors"])
if r["verified_on_all_nodes"] is not True: problems.append("verification: %s" % r["verification"])
for k in ("p50", "p90", "p99", "max"):
    if not isinstance(r["latency_ms"][k], (int, float)): problems.append("latency_ms." + k)
if not isinstance(r["throughput_per_s"], (int, float)): problems.append("throughput_per_s")
if r["parameters"]["count"] != n: problems.append("parameters.count")
if r["mode"] == "redeem" and o["certified"] != n: problems.append("a redemption was not certified")
if r["mode"] == "mixed":
    p = r["conflict_pairs"]
    if p["pairs"] < 1: problems.append("no conflict pair")
    if o["refused_as_expected"] < p["pairs"]: problems.append("a pair without a refusal")
    if p["one_certified"] + p["split_frozen"] != p["pairs"]: problems.append("pairs: %s" % p)
# every node is running and ours: a CPU and a disk figure for each
num = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0
for key in ("cpu_us_per_order", "disk_bytes_per_order"):
    x = r.get(key)
    if not isinstance(x, dict) or sorted(x.get("nodes") or {}) != ids:
        problems.append("%s: nodes %s, want %s" % (key, x, ids)); continue
    if not all(num(v) for v in x["nodes"].values()) or not num(x.get("voter_mean")):
        problems.append("%s: not a figure for every node: %s" % (key, x))
    elif key == "disk_bytes_per_order" and disk_counts and min(x["nodes"].values()) <= 0:
        problems.append("%s: a node wrote nothing: %s" % (key, x))
# the machine's time over the run: five shares that add up to about 1
m = r.get("machine_time_share")
names = ("user", "system", "idle", "iowait", "steal")
if not isinstance(m, dict) or not all(num(m.get(k)) and m[k] <= 1 for k in names) \
        or not 0.98 <= sum(m[k] for k in names) <= 1.02:
    problems.append("machine_time_share: %s" % m)
for x in problems: print("   ", x)
sys.exit(1 if problems else 0)
PY
}

# run_bench NAME COUNT ARGS...: run voucher-bench, check exit 0 and the JSON.
run_bench() {
  local name=$1 n=$2; shift 2
  timeout 120 "$bench" --devnet "$net" --count "$n" --json "$@" \
    >"$work/$name.json" 2>"$work/$name.err"
  local rc=$?
  if [ $rc -eq 0 ]; then ok "$name: exit 0"; else bad "$name: exit $rc"; cat "$work/$name.err"; fi
  if check_json "$name" "$work/$name.json" "$n"; then
    ok "$name: every order certified or refused as expected, no errors, on every node"
  else
    bad "$name: the JSON result"; cat "$work/$name.json"
  fi
}

run_bench redeem 50 --mode redeem --clients 4
# the text output: a cpu: and a disk: line with a figure for each node
timeout 120 "$bench" --devnet "$net" --count 20 --mode redeem --clients 2 >"$work/text.out" \
  2>"$work/text.err"
rc=$?
figs=' node1 [0-9.]+ node2 [0-9.]+ node3 [0-9.]+ node4 [0-9.]+; voter mean [0-9.]+'
if [ $rc -eq 0 ] && grep -qE "^cpu:     us per certified order:$figs; this client [0-9.]+$" "$work/text.out" &&
   grep -qE "^disk:    bytes written per certified order:$figs$" "$work/text.out" &&
   grep -qE "^machine: time of all cores over the run: user [0-9.]+%, system [0-9.]+%, idle [0-9.]+%, iowait [0-9.]+%, steal [0-9.]+%$" "$work/text.out"; then
  ok "text output: cpu: and disk: lines with a figure for each node, and the machine: line"
else
  bad "text output: cpu:, disk: and machine: lines (exit $rc)"; cat "$work/text.out" "$work/text.err"
fi
run_bench mixed 50 --mode mixed --clients 4 --conflict-share 0.2
run_bench issue 20 --mode issue --clients 2 --batch 3
# the pipelined client (one thread, vl_client_send/_next): closed loop,
# conflict pairs, open loop
run_bench redeem_pipelined 200 --mode redeem --clients 32 --pipeline
run_bench mixed_pipelined 60 --mode mixed --clients 8 --conflict-share 0.3 --pipeline
run_bench open_pipelined 60 --mode redeem --clients 16 --rate 200 --pipeline
if python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["parameters"]; sys.exit(0 if p["pipelined"] is True and p["client_threads"] == 1 else 1)' \
    "$work/redeem_pipelined.json"; then
  ok "redeem_pipelined: the JSON says pipelined, one client thread"
else
  bad "redeem_pipelined: the JSON says pipelined, one client thread"
fi
"$bench" --devnet "$net" --mode issue --pipeline >/dev/null 2>&1
if [ $? -eq 2 ]; then ok "--pipeline --mode issue: exit 2"; else bad "--pipeline --mode issue: exit 2"; fi

# interrupt PID: SIGINT, then wait up to 60 s for it to end; src gets its
# exit status (124 if it had to be killed).
interrupt() {
  kill -INT "$1"
  src=124
  for _ in $(seq 1 600); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$1" 2>/dev/null; then kill -KILL "$1"; wait "$1" 2>/dev/null; else wait "$1"; src=$?; fi
}
# SIGINT (voucher-bench.c note 13).  During the run: it ends early, the
# figures and the verification follow for the orders sent, exit 0.  An open
# loop at 20 orders a second for up to 120 s, stopped once it is running.
"$bench" --devnet "$net" --mode redeem --clients 4 --count 2400 --rate 20 --duration 120 \
  --pipeline >"$work/sigint.out" 2>"$work/sigint.err" &
spid=$!
for _ in $(seq 1 600); do grep -q 'running$' "$work/sigint.err" && break; sleep 0.1; done
sleep 1
interrupt "$spid"
if [ "$src" -eq 0 ] && grep -q '^time: .*(stopped early by a signal)$' "$work/sigint.out" &&
   grep -qE '^orders:  ([1-9][0-9]*) submitted, \1 certified, 0 refused as expected, 0 errors, [1-9][0-9]* not submitted$' "$work/sigint.out" &&
   grep -q '^errors:  none$' "$work/sigint.out" &&
   grep -q '(0 missing, 0 different' "$work/sigint.out"; then
  ok "SIGINT during the run: it stops sending, reports and verifies what it sent, exit 0"
else
  bad "SIGINT during the run (exit $src)"; cat "$work/sigint.out" "$work/sigint.err"
fi
# Before the run (issuing and pre-signing its vouchers): it dies of the
# signal at once (a shell sees 130), so a script running it stops too.
"$bench" --devnet "$net" --mode redeem --clients 4 --count 20000 >"$work/sigint2.out" 2>&1 &
spid=$!
sleep 0.5
interrupt "$spid"
if [ "$src" -eq 130 ] && ! grep -q '^orders:' "$work/sigint2.out"; then
  ok "SIGINT before the run: exit 130, no figures"
else
  bad "SIGINT before the run: exit $src"; cat "$work/sigint2.out"
fi

# a usage error is exit 2
"$bench" --devnet "$net" >/dev/null 2>&1
if [ $? -eq 2 ]; then ok "no --mode: exit 2"; else bad "no --mode: exit 2"; fi

for p in $(devnet_pids); do
  if kill -0 "$p" 2>/dev/null; then ok "node pid $p still running"; else bad "node pid $p still running"; fi
done

# A lone voter with verify_threads 2 (voucherd note 9: the next batch is
# received and its signatures checked while the previous step commits),
# driven by the pipelined client: every order certified, and the node says
# that batches were checked during commits.
net1=$work/devnet1
base1=$((base + 40))
if timeout 90 "$ctl" devnet up --dir "$net1" --voters 1 --base-port "$base1" --verify-threads 2 \
    --voucherd "$voucherd" >"$work/up1.out" 2>&1; then
  ok "lone voter with --verify-threads 2 up"
  grep -q '"verify_threads": 2' "$net1/nodes/node1/config.json" &&
    ok "devnet up --verify-threads 2 wrote verify_threads 2 in config.json" ||
    bad "devnet up --verify-threads 2 wrote verify_threads 2 in config.json"
  timeout 120 "$bench" --devnet "$net1" --count 400 --json --mode redeem --clients 32 --pipeline \
    >"$work/lone.json" 2>"$work/lone.err"
  rc=$?
  if [ $rc -eq 0 ] && check_json lone "$work/lone.json" 400 "$net1"; then
    ok "lone voter, pool, pipelined: 400 orders certified, on the node"
  else
    bad "lone voter, pool, pipelined: exit $rc"; cat "$work/lone.err"
  fi
  murl1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["nodes"][0]["metrics_url"])' "$net1/devnet.json")
  early=$(curl -s --max-time 5 "$murl1" | awk '$1 == "voucher_batches_received_during_commit_total" {print $2}')
  if [ "${early:-0}" -gt 0 ] 2>/dev/null; then
    ok "lone voter: $early batches received and checked during a commit"
  else
    bad "lone voter: batches received during a commit: '${early:-}'"
  fi
  timeout 60 "$ctl" devnet down --dir "$net1" >/dev/null 2>&1
else
  bad "lone voter with --verify-threads 2 up"; tail -n 20 "$work/up1.out"
fi

timeout 30 "$ctl" devnet up --dir "$work/devnet-bad" --verify-threads 65 --voucherd "$voucherd" \
  >/dev/null 2>&1
[ $? -eq 2 ] && [ ! -e "$work/devnet-bad/devnet.json" ] &&
  ok "devnet up --verify-threads 65: exit 2, nothing made" ||
  bad "devnet up --verify-threads 65: exit 2, nothing made"

# The issuer's next seq taken by another order (voucher-bench.c note 1), as
# a run stopped during its setup leaves it: with node3 and node4 frozen,
# an ISSUE by voucherctl at that seq gets locks at node1 and node2 and no
# certificate.  The bench reads that seq, its ISSUE there is refused
# (CONFLICT) and never sent again; it submits the other order (the
# CONFLICT's evidence), which gets its certificate once node3 and node4
# run again, and the bench goes on at the next seq: every order certified.
read -r _ _ p3 p4 <<<"$(devnet_pids)"
ikey=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["issuers"][0]["key_file"])' "$net/devnet.json")
holder=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["holders"][0]["pubkey"])' "$net/devnet.json")
kill -STOP "$p3" "$p4"
timeout 60 "$ctl" issue --devnet "$net" --issuer-key "$ikey" --holder "$holder" --value-fen 1000 \
  --node "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["nodes"][0]["client_endpoint"])' "$net/devnet.json")" \
  >"$work/inflight.out" 2>&1
irc=$?
[ "$irc" -ne 0 ] && ok "an ISSUE with two voters frozen gets no certificate (exit $irc)" ||
  bad "an ISSUE with two voters frozen gets no certificate (exit $irc)"
timeout 180 "$bench" --devnet "$net" --count 10 --json --mode redeem --clients 2 \
  >"$work/taken.json" 2>"$work/taken.err" &
tpid=$!
for _ in $(seq 1 600); do grep -q 'holds another order' "$work/taken.err" && break; sleep 0.1; done
grep -q 'holds another order (conflict' "$work/taken.err" &&
  ok "the bench's setup ISSUE at that seq is refused CONFLICT; it waits for the other order" ||
  bad "the bench's setup ISSUE at that seq is refused CONFLICT; it waits for the other order"
kill -CONT "$p3" "$p4"
wait "$tpid"
trc=$?
grep -q 'the order holding issuer seq [0-9]* submitted again: certified' "$work/taken.err" &&
  ok "... it submitted the other order (the CONFLICT's evidence), which got its certificate" ||
  bad "... it submitted the other order (the CONFLICT's evidence), which got its certificate"
[ "$(grep -c 'holds another order' "$work/taken.err")" = 1 ] &&
  ok "... and never sent its own ISSUE for that seq again" ||
  bad "... and never sent its own ISSUE for that seq again"
if [ "$trc" -eq 0 ] && check_json taken "$work/taken.json" 10; then
  ok "... once the first ISSUE is certified, the bench issues at the next seq: every order certified"
else
  bad "... the bench after a taken seq: exit $trc"; cat "$work/taken.err"
fi

# One node stopped: the pipelined client's orders whose first node it is
# get no answer within --timeout-ms and go to the next node, as
# vl_client_submit's would; every order is still certified (q = 3 of the
# three voters left).  Only the stopped node lacks the certificates.
last=$(devnet_pids | awk '{print $NF}')
kill -TERM "$last" 2>/dev/null
for _ in $(seq 1 100); do kill -0 "$last" 2>/dev/null || break; sleep 0.1; done
timeout 120 "$bench" --devnet "$net" --count 40 --json --mode redeem --clients 8 --pipeline \
  --timeout-ms 1000 --verify-wait 1 --verify-sample 4 >"$work/failover.json" 2>"$work/failover.err"
if python3 - "$work/failover.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
o = r["orders"]
ok = o["certified"] == 40 and o["errors"] == 0 and r["errors"] == {}
ok = ok and r["verified_on_all_nodes"] is False  # the stopped node has none of them
# the stopped node's /proc/PID/io and /proc/PID/stat are gone: no figure;
# the three others have one
for key in ("disk_bytes_per_order", "cpu_us_per_order"):
    nodes = r[key]["nodes"]
    ok = ok and nodes.get("node4", 0) is None and all(
        isinstance(nodes.get(i), (int, float)) for i in ("node1", "node2", "node3"))
    ok = ok and isinstance(r[key]["voter_mean"], (int, float))
sys.exit(0 if ok else 1)
PY
then
  ok "a node stopped: every pipelined order failed over and was certified; it has no CPU or disk figure"
else
  bad "a node stopped: every pipelined order failed over and was certified; it has no CPU or disk figure"
  cat "$work/failover.json" "$work/failover.err"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
