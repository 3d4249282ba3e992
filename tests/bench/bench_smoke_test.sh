#!/usr/bin/env bash
# bench_smoke_test.sh VOUCHERD VOUCHERCTL VOUCHER_BENCH
#
# Smoke test of voucher-bench against four real voucherd processes on
# 127.0.0.1 (ports 22000-23999, derived from $$, another base if one cannot
# bind).  It writes a devnet.json of the shape `voucherctl devnet up`
# writes, runs `voucher-bench --mode redeem` and `--mode mixed` with --json
# and checks from the JSON that every order was certified or refused as
# expected, that no error was counted and that every certificate is on
# every node.  No timing is asserted.  Every process started here is killed
# by PID on exit; every wait is bounded.  Prints "N passed, N failed".
set -u
voucherd=$1
ctl=$2
bench=$3

work=$(mktemp -d /tmp/bench-smoke.XXXXXX)
pids=()
passed=0
failed=0

cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  if [ "$failed" -eq 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$work"; else echo "logs kept in $work"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }

# wait_for SECONDS COMMAND...: true once COMMAND succeeds, false after SECONDS.
wait_for() {
  local end=$((SECONDS + $1)); shift
  while [ "$SECONDS" -lt "$end" ]; do
    "$@" && return 0
    sleep 0.1
  done
  "$@"
}

for i in 1 2 3 4; do "$ctl" keygen --node --out "$work/node$i.key" >"$work/node$i.pub" 2>/dev/null || exit 1; done
for k in shanghai dc1; do "$ctl" keygen --out "$work/$k.key" >"$work/$k.pub" 2>/dev/null || exit 1; done

# make_network BASE: genesis (peer ports BASE+1..4, client ports BASE+5..8),
# node configurations and devnet.json.
make_network() {
  local base=$1 args=() i
  rm -rf "$work/data" "$work/genesis.json" "$work"/node?.log
  for i in 1 2 3 4; do
    args+=(--node "node$i,110000,$work/node$i.pub,tcp://127.0.0.1:$((base + i)),tcp://127.0.0.1:$((base + 4 + i)),voter")
  done
  "$ctl" genesis --network bench-smoke --max-faulty 1 "${args[@]}" \
    --issuer "shanghai,310000,$work/shanghai.key,60000000000" \
    --provider "dc1,520000,$work/dc1.key" --out "$work/genesis.json" >/dev/null || return 1
  for i in 1 2 3 4; do
    cat >"$work/node$i.json" <<JSON
{ "node_id": "node$i", "genesis": "genesis.json", "key_file": "node$i.key",
  "data_dir": "data/node$i", "log_level": "info", "sync_interval_ms": 200 }
JSON
  done
  python3 - "$work" "$base" <<'PY' || return 1
import json, sys
work, base = sys.argv[1], int(sys.argv[2])
pub = lambda name: json.load(open("%s/%s.pub" % (work, name)))["pubkey"]
nodes = [{"id": "node%d" % i, "role": "voter", "region": 110000,
          "peer_endpoint": "tcp://127.0.0.1:%d" % (base + i),
          "client_endpoint": "tcp://127.0.0.1:%d" % (base + 4 + i), "pid": 0,
          "config": "%s/node%d.json" % (work, i), "log": "%s/node%d.log" % (work, i),
          "data_dir": "%s/data/node%d" % (work, i), "key_file": "%s/node%d.key" % (work, i)}
         for i in range(1, 5)]
devnet = {"network": "bench-smoke", "genesis": work + "/genesis.json", "base_port": base,
          "voters": 4, "observers": 0, "nodes": nodes,
          "issuers": [{"id": "shanghai", "name": "Shanghai", "region": 310000,
                       "budget_fen": 60000000000, "pubkey": pub("shanghai"),
                       "key_file": work + "/shanghai.key"}],
          "providers": [{"id": "dc1", "name": "Guizhou", "region": 520000,
                         "pubkey": pub("dc1"), "key_file": work + "/dc1.key"}],
          "holders": []}
json.dump(devnet, open(work + "/devnet.json", "w"), indent=2)
PY
}

start_node() {
  "$voucherd" --config "$work/node$1.json" 2>>"$work/node$1.log" &
  node_pid[$1]=$!
  pids+=("$!")
}
ready() { grep -q 'event=ready' "$work/node$1.log" 2>/dev/null; }
exited() { ! kill -0 "${node_pid[$1]}" 2>/dev/null; }
ready_or_exited() { ready "$1" || exited "$1"; }

declare -a node_pid
started=false
for attempt in 0 1 2 3 4; do
  base=$((22000 + (($$ + attempt * 397) % 199) * 10))
  make_network "$base" || { bad "voucherctl genesis"; exit 1; }
  for i in 1 2 3 4; do start_node "$i"; done
  all=true
  for i in 1 2 3 4; do
    wait_for 30 ready_or_exited "$i"
    ready "$i" || all=false
  done
  if $all; then started=true; break; fi
  for i in 1 2 3 4; do kill -KILL "${node_pid[$i]}" 2>/dev/null; wait "${node_pid[$i]}" 2>/dev/null; done
  if ! grep -q 'cannot bind' "$work"/node?.log; then break; fi
  echo "ports from $base in use, trying another base"
done
if ! $started; then
  bad "four nodes reach event=ready"
  tail -n 5 "$work"/node?.log
  echo "$passed passed, $failed failed"
  exit 1
fi
ok "four nodes reach event=ready (ports $((base + 1))..$((base + 8)))"

# check_json NAME FILE COUNT: the assertions of the header on one result.
check_json() {
  python3 - "$2" "$3" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
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
for x in problems: print("   ", x)
sys.exit(1 if problems else 0)
PY
}

# run_bench NAME COUNT ARGS...: run voucher-bench, check exit 0 and the JSON.
run_bench() {
  local name=$1 n=$2; shift 2
  timeout 120 "$bench" --devnet "$work" --count "$n" --json "$@" \
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
run_bench mixed 50 --mode mixed --clients 4 --conflict-share 0.2
run_bench issue 20 --mode issue --clients 2 --batch 3

# a usage error is exit 2
"$bench" --devnet "$work" >/dev/null 2>&1
if [ $? -eq 2 ]; then ok "no --mode: exit 2"; else bad "no --mode: exit 2"; fi

for i in 1 2 3 4; do
  if kill -0 "${node_pid[$i]}" 2>/dev/null; then ok "node$i still running"; else bad "node$i still running"; fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
