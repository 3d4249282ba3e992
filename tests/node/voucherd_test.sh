#!/usr/bin/env bash
# voucherd_test.sh VOUCHERD VOUCHERCTL NODE_CLIENT_TEST
#
# Integration test of the node daemon: four real voucherd processes on
# 127.0.0.1 (keys and genesis made with voucherctl), driven by
# node_client_test.  Every process started here is killed by PID on exit,
# success or failure; every wait is bounded.  Prints "N passed, N failed".
set -u
voucherd=$1
ctl=$2
client=$3

work=$(mktemp -d /tmp/voucherd-test.XXXXXX)
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

# ---- keys, genesis, configs ------------------------------------------------------

for i in 1 2 3 4; do "$ctl" keygen --node --out "$work/node$i.key" 2>/dev/null >"$work/node$i.pub" || exit 1; done
for k in shanghai firm dc1; do "$ctl" keygen --out "$work/$k.key" >/dev/null 2>&1 || exit 1; done

# make_network BASE: genesis with peer ports BASE+1..4, client ports BASE+5..8.
make_network() {
  local base=$1 args=() i
  rm -rf "$work/data" "$work/genesis.json" "$work"/node?.log
  for i in 1 2 3 4; do
    args+=(--node "node$i,310000,$work/node$i.pub,tcp://127.0.0.1:$((base + i)),tcp://127.0.0.1:$((base + 4 + i)),voter")
  done
  "$ctl" genesis --network voucherd-test --max-faulty 1 "${args[@]}" \
    --issuer "shanghai,310000,$work/shanghai.key,60000000000" \
    --provider "dc1,520000,$work/dc1.key" --out "$work/genesis.json" >/dev/null || return 1
  for i in 1 2 3 4; do
    cat >"$work/node$i.json" <<JSON
{ "node_id": "node$i", "genesis": "genesis.json", "key_file": "node$i.key",
  "data_dir": "data/node$i", "log_level": "debug", "sync_interval_ms": 200 }
JSON
  done
}

peer_ep() { echo "tcp://127.0.0.1:$((base + $1))"; }
client_ep() { echo "tcp://127.0.0.1:$((base + 4 + $1))"; }

# start_node I [ENV...]: start node I in the background, log to nodeI.log.
start_node() {
  local i=$1; shift
  env "$@" "$voucherd" --config "$work/node$i.json" 2>>"$work/node$i.log" &
  node_pid[$i]=$!
  pids+=("$!")
}

ready() { grep -q 'event=ready' "$work/node$1.log" 2>/dev/null; }
exited() { ! kill -0 "${node_pid[$1]}" 2>/dev/null; }
ready_or_exited() { ready "$1" || exited "$1"; }

# stop_node I SIGNAL: signal node I; its exit code in $node_rc (124: no exit).
stop_node() {
  kill "-$2" "${node_pid[$1]}" 2>/dev/null
  if wait_for 20 exited "$1"; then
    wait "${node_pid[$1]}"; node_rc=$?
  else
    node_rc=124
  fi
}

# ---- start four nodes (another port base if one cannot bind) ---------------------

declare -a node_pid
started=false
for attempt in 0 1 2 3 4; do
  base=$((20000 + (($$ + attempt * 397) % 2000) * 10))
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

# ---- command line and configuration ---------------------------------------------------

"$voucherd" --version | grep -q '^voucherd ' && ok "--version" || bad "--version"
"$voucherd" >/dev/null 2>&1; check "no arguments: exit 2" [ $? -eq 2 ]
out=$("$voucherd" --config "$work/node1.json" --check 2>&1)
check "--check accepts a valid configuration" [ $? -eq 0 ]
sed 's/"log_level"/"bogus_key": 1, "log_level"/' "$work/node1.json" >"$work/bad1.json"
out=$("$voucherd" --config "$work/bad1.json" --check 2>&1); rc=$?
check "--check refuses an unknown member, naming it" [ $rc -eq 1 ] && [[ $out == *bogus_key* ]]
cp "$work/node1.key" "$work/loose.key"; chmod 644 "$work/loose.key"
sed 's/"node1.key"/"loose.key"/' "$work/node1.json" >"$work/bad2.json"
out=$("$voucherd" --config "$work/bad2.json" --check 2>&1); rc=$?
check "--check refuses a group/other-readable key file" [ $rc -eq 1 ] && [[ $out == *readable* ]]
sed 's/"node1.key"/"node2.key"/' "$work/node1.json" >"$work/bad3.json"
out=$("$voucherd" --config "$work/bad3.json" --check 2>&1); rc=$?
check "--check refuses another node's key" [ $rc -eq 1 ] && [[ $out == *"not the genesis"* ]]
out=$("$voucherd" --config "$work/node1.json" 2>&1); rc=$?
check "a second voucherd on a data directory in use exits 1" [ $rc -eq 1 ] && [[ $out == *"in use"* || $out == *locked* ]]

# ---- clients, peers, ZAP ------------------------------------------------------------------

check "libzmq fails CURVE handshakes without a ZAP handler (enforced domain)" \
  "$client" zap-enforce
check "ISSUE and REDEEM certified, certificates verify" \
  "$client" submit "$work/genesis.json" "$(client_ep 1)" "$work/shanghai.key" \
  "$work/firm.key" "$work/dc1.key"
check "malformed, multi-frame and oversized requests; the node keeps serving" \
  "$client" malformed "$(client_ep 2)"
check "peer endpoint: a rogue CURVE key is refused, a genesis key is admitted" \
  "$client" peer-auth "$work/genesis.json" "$(peer_ep 1)" "$work/node2.key"
check "the refusal is logged" grep -q 'event=peer_refused' "$work/node1.log"
check "the nodes' peer links come up" grep -q 'event=peer_connected' "$work/node3.log"
check "a certificate formed is logged at debug level" \
  grep -q 'event=certificate_formed' "$work/node1.log"
bad_lines=$(grep -vcE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z (debug|info|warn|error) node=node1 event=[a-z_]+' "$work/node1.log")
check "every log line has the documented prefix" [ "$bad_lines" -eq 0 ]

# ---- stop, restart, ZAP failure ---------------------------------------------------------------

for i in 1 2 3 4; do
  stop_node "$i" TERM
  check "SIGTERM stops node$i with exit 0" [ "$node_rc" -eq 0 ]
done
check "a stop is logged" grep -q 'event=stopped exit=0' "$work/node4.log"
: >"$work/node1.log"
start_node 1
wait_for 30 ready_or_exited 1
check "node1 restarts on its data" ready 1
stop_node 1 INT
check "SIGINT stops node1 with exit 0" [ "$node_rc" -eq 0 ]
args=()
for i in 1 2 3 4; do
  args+=(--node "node$i,310000,$work/node$i.pub,$(peer_ep "$i"),$(client_ep "$i"),voter")
done
"$ctl" genesis --network another-network --max-faulty 1 "${args[@]}" \
  --issuer "shanghai,310000,$work/shanghai.key,60000000000" --out "$work/genesis2.json" >/dev/null
sed 's/"genesis.json"/"genesis2.json"/' "$work/node1.json" >"$work/other.json"
out=$("$voucherd" --config "$work/other.json" 2>&1); rc=$?
check "another network's data directory: exit 1, the reason logged" \
  [ $rc -eq 1 ] && [[ $out == *"error=wrong_network"*"belongs to network"* ]]
: >"$work/node1.log"
start_node 1 VOUCHERD_TEST_ZAP_FAIL=1
wait_for 30 ready_or_exited 1
check "node1 with a failing ZAP handler reaches ready" ready 1
check "with the ZAP handler down, even a genesis key gets no connection" \
  "$client" peer-refused "$work/genesis.json" "$(peer_ep 1)" "$work/node2.key"
wait_for 20 exited 1
wait "${node_pid[1]}"; rc=$?
check "a failed ZAP handler stops the node with exit 1" [ $rc -eq 1 ]
check "the ZAP failure is logged" grep -q 'event=zap_failed' "$work/node1.log"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
