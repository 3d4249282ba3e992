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
passed=0
failed=0
node_config_extra='"log_level": "debug", "sync_interval_ms": 200, "client_timeout_ms": 2000'
# shellcheck source=netlib.sh
. "$(dirname "$0")/netlib.sh"

trap net_exit EXIT
trap 'exit 1' INT TERM HUP
watchdog_start 270 voucherd_test # below ctest's TIMEOUT of 300 s


# ---- keys, genesis, configs; start four nodes (another port base if one cannot bind) ----

net_make_keys shanghai firm dc1 || exit 1
if ! net_start 10000 150 voucherd-test \
    --issuer "shanghai,310000,$work/shanghai.key,60000000000" \
    --provider "dc1,520000,$work/dc1.key"; then
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
all_of_1() { [ $rc -eq 1 ] && [[ $out == *bogus_key* ]]; }
check "--check refuses an unknown member, naming it" all_of_1
cp "$work/node1.key" "$work/loose.key"; chmod 644 "$work/loose.key"
sed 's/"node1.key"/"loose.key"/' "$work/node1.json" >"$work/bad2.json"
out=$("$voucherd" --config "$work/bad2.json" --check 2>&1); rc=$?
all_of_2() { [ $rc -eq 1 ] && [[ $out == *readable* ]]; }
check "--check refuses a group/other-readable key file" all_of_2
sed 's/"node1.key"/"node2.key"/' "$work/node1.json" >"$work/bad3.json"
out=$("$voucherd" --config "$work/bad3.json" --check 2>&1); rc=$?
all_of_3() { [ $rc -eq 1 ] && [[ $out == *"not the genesis"* ]]; }
check "--check refuses another node's key" all_of_3
sed 's/"log_level"/"verify_threads": 65, "log_level"/' "$work/node1.json" >"$work/bad4.json"
out=$("$voucherd" --config "$work/bad4.json" --check 2>&1); rc=$?
all_of_4() { \
  [ $rc -eq 1 ] && [[ $out == *verify_threads*0..64* ]]; }
check "--check refuses verify_threads 65, naming it and its range" all_of_4
# Binds that cannot work are refused by --check, not by the start (an
# operator's walk: both passed --check and failed at the bind).
sed 's/"log_level"/"peer_bind": "127.0.0.1:61050", "log_level"/' "$work/node1.json" >"$work/bad5.json"
out=$("$voucherd" --config "$work/bad5.json" --check 2>&1); rc=$?
bind_bad_1() { [ $rc -eq 1 ] && [[ $out == *peer_bind*tcp://* ]]; }
check "--check refuses a peer_bind without tcp://, naming it" bind_bad_1
sed 's|"log_level"|"peer_bind": "tcp://127.0.0.1:61050", "client_bind": "tcp://127.0.0.1:61050", "log_level"|' \
  "$work/node1.json" >"$work/bad6.json"
out=$("$voucherd" --config "$work/bad6.json" --check 2>&1); rc=$?
bind_bad_2() { [ $rc -eq 1 ] && [[ $out == *client_bind*"equals peer_bind"* ]]; }
check "--check refuses a client_bind equal to peer_bind" bind_bad_2
sed 's/"log_level"/"verify_threads": 4, "log_level"/' "$work/node1.json" >"$work/vt4.json"
out=$("$voucherd" --config "$work/vt4.json" --check 2>&1)
check "--check accepts verify_threads 4" [ $? -eq 0 ]
out=$("$voucherd" --config "$work/node1.json" 2>&1); rc=$?
all_of_5() { [ $rc -eq 1 ] && [[ $out == *"in use"* || $out == *locked* ]]; }
check "a second voucherd on a data directory in use exits 1" all_of_5

# ---- clients, peers, ZAP ------------------------------------------------------------------

check "libzmq fails CURVE handshakes without a ZAP handler (enforced domain)" \
  "$client" zap-enforce
check "ISSUE and REDEEM certified, certificates verify" \
  "$client" submit "$work/genesis.json" "$(client_ep 1)" "$work/shanghai.key" \
  "$work/firm.key" "$work/dc1.key"
check "wrongly signed, wrong-signer, other-network and unknown-voucher orders refused" \
  "$client" bad-orders "$work/genesis.json" "$(client_ep 3)" "$work/shanghai.key" \
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
all_of_6() { \
  [ $rc -eq 1 ] && [[ $out == *"error=wrong_network"*"belongs to network"* ]]; }
check "another network's data directory: exit 1, the reason logged" all_of_6
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
