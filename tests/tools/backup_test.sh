#!/usr/bin/env bash
# backup_test.sh VOUCHERCTL VOUCHERD
#
# `voucherctl backup` and `voucherctl restore` against real voucherd
# processes (a `voucherctl devnet`, ports from $$ in 16400-18399, another
# base if a port is taken): hot backups of node2 and node4 taken while a
# background loop keeps redeeming, each verified (and by verify-log
# --data-dir); a corrupted copy refused by verify-log and by restore; backup
# into a non-empty directory, of a directory that holds no node data, and
# restore with another node's key refused; then node4 killed (SIGKILL), its
# data wiped, its own backup restored and node4 restarted: it runs as an
# observer (no "voter" flag), catches up to the others' log length and
# state digest, and redemptions keep completing with certificates signed by
# node1..node3 only.  Every process started is killed on exit; every wait
# is bounded; no timing assertions.  Prints "N passed, N failed".
set -u
ctl=${1:?usage: backup_test.sh VOUCHERCTL VOUCHERD}
voucherd=${2:?usage: backup_test.sh VOUCHERCTL VOUCHERD}

. "$(dirname "$0")/devnetlib.sh"
loop_pid=
cleanup_extra() {
  if [ -n "$loop_pid" ]; then kill -KILL "$loop_pid" 2>/dev/null; wait "$loop_pid" 2>/dev/null; fi
}
devnet_test_init backup-test 150 # ctest TIMEOUT 180

# ---- a devnet, some vouchers ---------------------------------------------------------------

devnet_start 16400
check "the devnet has 4 voters, quorum 3 (3 voters without node4 still certify)" \
  [ "$(py "$(dn 'd["genesis"]')" 'len([n for n in d["nodes"] if n["role"] == "voter"]), d["max_faulty"]')" = "(4, 1)" ]

genesis=$(dn 'd["genesis"]')
firm1=$(dn 'd["holders"][0]["pubkey"]')
firm2=$(dn 'd["holders"][1]["pubkey"]')
k1=$(dn 'd["holders"][0]["key_file"]')
k2=$(dn 'd["holders"][1]["key_file"]')
prov=$(dn 'd["providers"][0]["key_file"]')
data2=$(dn 'd["nodes"][1]["data_dir"]')
data4=$(dn 'd["nodes"][3]["data_dir"]')
key4=$(dn 'd["nodes"][3]["key_file"]')
key3=$(dn 'd["nodes"][2]["key_file"]')
cfg4=$(dn 'd["nodes"][3]["config"]')
log4=$(dn 'd["nodes"][3]["log"]')
pid4=$(dn 'd["nodes"][3]["pid"]')
ep2=$(dn 'd["nodes"][1]["client_endpoint"]')
ep4=$(dn 'd["nodes"][3]["client_endpoint"]')
netid=$(grep -m1 -oE 'network_id=[0-9a-f]{64}' "$(dn 'd["nodes"][1]["log"]')" | cut -d= -f2)

run issue1 30 issue --devnet "$dir" --issuer-key "$dir/keys/chengdu.key" --holder "$firm1" \
  --value-fen 100000000 --json
check "issue to firm1: exit 0" [ "$rc" -eq 0 ]
va=$(py "$work/issue1.out" 'd["vouchers"][0]')
run issue2 30 issue --devnet "$dir" --issuer-key "$dir/keys/shanghai.key" --holder "$firm2" \
  --value-fen 100000000 --json
check "issue to firm2: exit 0" [ "$rc" -eq 0 ]
vb=$(py "$work/issue2.out" 'd["vouchers"][0]')
redeemed=0
for i in 1 2 3; do
  run redeem0 30 redeem --devnet "$dir" --voucher "$vb" --amount-fen 1000 --holder-key "$k2" \
    --provider-key "$prov" --json
  [ "$rc" -eq 0 ] && redeemed=$((redeemed + 1))
done
check "three redemptions before any backup" [ "$redeemed" -eq 3 ]

# ---- hot backups while a loop keeps redeeming -----------------------------------------------------

# At most 300 redemptions of 100 fen; stops when $work/stop appears.
(
  for i in $(seq 1 300); do
    [ -e "$work/stop" ] && break
    if timeout 30 "$ctl" redeem --devnet "$dir" --voucher "$va" --amount-fen 100 --holder-key "$k1" \
      --provider-key "$prov" --json >>"$work/loop.out" 2>>"$work/loop.err"; then
      echo ok >>"$work/loop.rc"
    else
      echo fail >>"$work/loop.rc"
    fi
  done
) &
loop_pid=$!
# let the loop certify something first (bounded)
for i in $(seq 1 100); do [ -s "$work/loop.rc" ] && break; sleep 0.1; done

run b2 60 backup --data-dir "$data2" --out "$work/b2" --genesis "$genesis" --json
check "backup of node2 while it runs: exit 0" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || cat "$work/b2.err"
check "... verified, its head printed (node2, entries, head hash, state digest, network id)" \
  [ "$(py "$work/b2.out" 'd["ok"], d["node_id"], d["node"], d["entries"] >= 5, len(d["head_hash"]), len(d["state_digest"]), d["network_id"]')" = "(True, 'node2', 1, True, 64, 64, '$netid')" ]
# read back from the copy's own meta: its data.mdb, started as it is (copied by
# hand, or data_dir pointed at it), opens as an observer, as restore makes it
check "... and the copy carries the observer flag (a hot copy never votes)" \
  [ "$(py "$work/b2.out" 'd["observer"]')" = True ]
all_of_1() { \
  [ "$(ls -A "$work/b2")" = "data.mdb" ] && [ "$(stat -c %a "$work/b2/data.mdb")" = 600 ]; }
check "... the copy is data.mdb alone, mode 0600, no lock file" all_of_1
run vb2 60 verify-log --data-dir "$work/b2" --genesis "$genesis" --json
all_of_2() { [ "$rc" -eq 0 ] && \
  [ "$(py "$work/vb2.out" '(d["ok"], d["entries"], d["head_hash"])')" = "$(py "$work/b2.out" '(True, d["entries"], d["head_hash"])')" ]; }
check "verify-log --data-dir BACKUP passes, same length and head" all_of_2
check "... and leaves no lock file in the backup (it may be read-only to the auditor)" \
  [ "$(ls -A "$work/b2")" = "data.mdb" ]
python3 - "$genesis" "$work/other-genesis.json" <<'PY'
import json, sys
g = json.load(open(sys.argv[1])); g["issuers"][0]["budget_fen"] += 1
json.dump(g, open(sys.argv[2], "w"))
PY
run vother 60 verify-log --data-dir "$work/b2" --genesis "$work/other-genesis.json"
all_of_2b() { [ "$rc" -eq 1 ] && has vother.err 'belongs to network .*not to this genesis' && \
  [ ! -s "$work/vother.out" ]; }
check "verify-log of it with another genesis: exit 1, 'belongs to network', no JSON on stdout" all_of_2b
run b4 60 backup --data-dir "$data4" --out "$work/b4" --genesis "$genesis"
all_of_3() { [ "$rc" -eq 0 ] && \
  has b4.out 'node4.*verified' && has b4.out 'state digest [0-9a-f]{64}'; }
check "backup of node4 while it runs: exit 0, says it verified" all_of_3
[ "$rc" -eq 0 ] || cat "$work/b4.err"
check "the loop kept redeeming during the backups" grep -q ok "$work/loop.rc"

# ---- what backup and restore refuse -------------------------------------------------------------

before=$(ls -A "$work/b2"; sha256sum "$work/b2/data.mdb")
run again 30 backup --data-dir "$data2" --out "$work/b2" --genesis "$genesis"
all_of_4() { [ "$rc" -eq 1 ] && has again.err 'not empty'; }
check "backup into a non-empty directory: exit 1, says so" all_of_4
check "... and leaves it alone" [ "$(ls -A "$work/b2"; sha256sum "$work/b2/data.mdb")" = "$before" ]
mkdir -p "$work/plain" && echo hello >"$work/plain/notes.txt"
run plain 30 backup --data-dir "$work/plain" --out "$work/b-plain" --genesis "$genesis"
all_of_5() { [ "$rc" -eq 1 ] && \
  has plain.err 'not a node data directory'; }
check "backup of a directory that is not a node's data: exit 1, says so" all_of_5
all_of_6() { [ "$(ls -A "$work/plain")" = "notes.txt" ] && [ ! -e "$work/b-plain" ]; }
check "... writes nothing there nor to --out" all_of_6
run nogen 30 backup --data-dir "$data2" --out "$work/b-nogen"
all_of_7() { [ "$rc" -eq 2 ] && [ ! -e "$work/b-nogen" ]; }
check "backup without --genesis: exit 2" all_of_7

# the entry hash of node2's entry 1 is entry 2's prev_hash: flip a byte of it in a copy
run log2 30 log --devnet "$dir" --node "$ep2" --from 2 --max 1 --json
prev2=$(py "$work/log2.out" 'd["entries"][0]["prev_hash"]')
mkdir "$work/bad" && cp "$work/b2/data.mdb" "$work/bad/data.mdb"
flipped=$(python3 - "$work/bad/data.mdb" "$prev2" <<'PY'
import sys
path, h = sys.argv[1], bytes.fromhex(sys.argv[2])
b = bytearray(open(path, "rb").read())
n, i = 0, b.find(h)
while i >= 0:
    b[i + 17] ^= 0x01
    n += 1
    i = b.find(h, i + 32)
open(path, "wb").write(b)
print(n)
PY
)
check "a copy of the backup with one bit of entry 2 flipped ($flipped place(s))" [ "${flipped:-0}" -ge 1 ]
run vbad 30 verify-log --data-dir "$work/bad" --genesis "$genesis"
all_of_8() { [ "$rc" -eq 1 ] && has vbad.err 'entry 2 fails'; }
check "... verify-log refuses it: exit 1, names entry 2" all_of_8
run rbad 30 restore --backup "$work/bad" --data-dir "$work/restored-bad" --genesis "$genesis" --key "$dir/nodes/node2/node.key"
all_of_9() { [ "$rc" -eq 1 ] && \
  has rbad.err 'does not verify' && [ ! -e "$work/restored-bad" ]; }
check "... restore refuses it: exit 1, does not verify, no data directory made" all_of_9
run rkey 30 restore --backup "$work/b4" --data-dir "$work/restored-key" --genesis "$genesis" --key "$key3"
all_of_10() { [ "$rc" -eq 1 ] && \
  has rkey.err 'not the key of node4' && [ ! -e "$work/restored-key" ]; }
check "restore of node4's backup with node3's key: exit 1, no data directory made" all_of_10

# ---- node4 loses its data and comes back from its own backup, as an observer -----------------------------

kill -KILL "$pid4"
for i in $(seq 1 50); do kill -0 "$pid4" 2>/dev/null || break; sleep 0.1; done
rm -rf "$data4"
run restore 60 restore --backup "$work/b4" --data-dir "$data4" --genesis "$genesis" --key "$key4" --json
all_of_11() { [ "$rc" -eq 0 ] && \
  [ "$(py "$work/restore.out" 'd["ok"], d["node_id"], d["role"], d["observer"], d["voters"], d["quorum"]')" = "(True, 'node4', 'observer', True, 4, 3)" ]; }
check "restore node4's own backup into its wiped data directory: exit 0, observer; the genesis's 4 voters and quorum 3 said" all_of_11
[ "$rc" -eq 0 ] || cat "$work/restore.err"
run restore2 30 restore --backup "$work/b4" --data-dir "$data4" --genesis "$genesis" --key "$key4"
all_of_12() { [ "$rc" -eq 1 ] && has restore2.err 'not empty'; }
check "restore into a data directory that is not empty: exit 1" all_of_12
"$voucherd" --config "$cfg4" >>"$log4" 2>&1 &
pid4b=$!
echo "$pid4b" >>"$work/pids"

# bounded wait: node4 answers as an observer and has caught up (the loop still runs)
observer=false
for i in $(seq 1 150); do
  run st4 10 status --devnet "$dir" --node "$ep4" --json
  if [ "$rc" -eq 0 ] && [ "$(py "$work/st4.out" 'd["nodes"][0]["role"], "voter" in d["nodes"][0]["status"]["flags"]')" = "('observer', False)" ]; then
    observer=true; break
  fi
  sleep 0.2
done
check "restarted node4 reports role observer, flags without \"voter\"" $observer
check "restarted node4 logs role=observer when ready" grep -q 'event=ready .*role=observer' "$log4"

redeemed=0
voters_ok=true
for i in 1 2 3; do
  run redeem1 30 redeem --devnet "$dir" --voucher "$vb" --amount-fen 1000 --holder-key "$k2" \
    --provider-key "$prov" --json
  if [ "$rc" -eq 0 ]; then
    redeemed=$((redeemed + 1))
    [ "$(py "$work/redeem1.out" 'sorted(d["certificate"]["voters"])')" = "['node1', 'node2', 'node3']" ] || voters_ok=false
  fi
done
check "redemptions keep completing after the restore" [ "$redeemed" -eq 3 ]
check "... their certificates are signed by node1..node3, never node4" $voters_ok

touch "$work/stop"
for i in $(seq 1 600); do kill -0 "$loop_pid" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$loop_pid" 2>/dev/null
wait "$loop_pid" 2>/dev/null
loop_pid=
loop_ok=$(grep -c ok "$work/loop.rc")
echo "     (the background loop certified $loop_ok redemptions)"

# bounded wait: all four have the same log length and state digest
same=false
for i in $(seq 1 150); do
  run st 10 status --devnet "$dir" --json
  if [ "$rc" -eq 0 ] && [ "$(py "$work/st.out" 'len({(n["status"]["log_head"], n["status"]["state_digest"]) for n in d["nodes"]}) == 1 and d["reachable"] == 4')" = True ]; then
    same=true; break
  fi
  sleep 0.2
done
check "node4 catches up: the same log length and state digest as node1..node3" $same
check "... its status still says observer" \
  [ "$(py "$work/st.out" '[n["role"] for n in d["nodes"]]')" = "['voter', 'voter', 'voter', 'observer']" ]
heads=$(py "$work/st.out" 'd["nodes"][3]["status"]["log_head"]')
b4n=$(grep -oE '[0-9]+ log entries' "$work/b4.out" | grep -oE '^[0-9]+')
check "... beyond the backup's log ($b4n -> $heads entries)" [ "${heads:-0}" -gt "${b4n:-0}" ]

# ---- down ---------------------------------------------------------------------------------------

kill -TERM "$pid4b"
run down 60 devnet down --dir "$dir"
check "devnet down: exit 0" [ "$rc" -eq 0 ]
for i in $(seq 1 50); do kill -0 "$pid4b" 2>/dev/null || break; sleep 0.1; done
wait "$pid4b" 2>/dev/null
check "the restarted node4 stopped" sh -c "! kill -0 $pid4b 2>/dev/null"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
