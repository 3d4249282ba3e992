# reconcile_tamper_test.sh - voucher-reconcile finds every planted fault, and
# only planted ones (docs/reconcile-bench.md, "The tamper test").
#
#   reconcile_tamper_test.sh RECONCILE SYNTHLOG PLANT VOUCHERCTL VOUCHERD
#
# Part 1, a synthetic network (voucher-synthlog: 200 redemptions, the same
# certificates in two nodes' exports in different orders), each fault
# planted by reconcile_plant in a copy:
#   control      the untampered pair: exit 0, no errors, no forks, agreeing
#   flip         one byte of entry 7 of node1's export: exit 1, node1's
#                errors name entry 7
#   missing      node2 without 4 entries, chain and checkpoint re-made (a
#                self-consistent log): exit 1, node2's missing_certificates
#                are exactly the 4 dropped order hashes, node2 has no errors
#   forged       entry 50 of node1 with q-1 valid votes: exit 1, node1's
#                errors name entry 50
#   fork         a REDEEM of node2 replaced by a different order for the same
#                voucher and seq with q valid votes: exit 1, forks[] holds
#                that (account, seq) with both order hashes, each with its node
#   checkpoint   node1's checkpoint signed for an entry hash its log does not
#                have at that index: exit 1, node1's checkpoint is verified
#                but not extended
#   orphaned     node2 without the ISSUE of entry 1 (re-chained), alone: exit
#                1, each redemption of those vouchers is one violation
#   removed      entry 10's record cut out of node1's export: exit 1, at most
#                two errors (entry 10, the checkpoint), not one per entry after
#   time         entry 30 of node1 dated 2020-01 and entry 31 at the largest
#                u64 (an entry's time is not signed): exit 1, node1's errors
#                name both, and the months of the redemptions are those of
#                the control, with node1 alone too
# Part 2, a devnet of real voucherd processes (devnetlib.sh): the demo's
# activity exported from two nodes over the network is the control (exit 0);
# then the devnet is stopped and one byte inside one entry of node1's LMDB
# data.mdb (a copy) is flipped: --data-dir on it names node1 and that entry.
set -u
reconcile=${1:?usage: reconcile_tamper_test.sh RECONCILE SYNTHLOG PLANT VOUCHERCTL VOUCHERD}
synthlog=${2:?}
plant=${3:?}
ctl=${4:?}
voucherd=${5:?}

. "$(dirname "$0")/devnetlib.sh"
devnet_test_init reconcile-tamper 270 # ctest TIMEOUT 300

# rec NAME ARGS...: voucher-reconcile with a time bound; JSON report in
# $work/NAME.json, stderr in $work/NAME.err, exit status in $rc.
rec() {
  local name=$1; shift
  timeout 120 "$reconcile" --json "$@" >"$work/$name.json" 2>"$work/$name.err"
  rc=$?
}
# q NAME EXPR: a Python expression over the report d (and helpers) is true.
q() {
  python3 - "$work/$1.json" "$2" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print("  (no JSON report: %s)" % e); sys.exit(1)
def node(i): return [n for n in d["nodes"] if n["id"] == i][0]
def errs(i): return node(i)["errors"]
def err_entries(i): return {e["entry"] for e in errs(i)}
ok = eval(sys.argv[2])
if not ok:
    print("  report:", json.dumps({k: d.get(k) for k in ("ok", "nodes", "forks")})[:3000])
sys.exit(0 if ok else 1)
PY
}

# vllog CMD IN OUT ARGS...: a copy of export IN with records changed
# (tools/vl_logfile.h: an 8-byte header, then records of type u8, length u32
# BE, payload): settime ENTRY MS... sets entries' time_ms (offset 42 of an
# entry, docs/protocol.md 4; not signed), dropentry ENTRY cuts one entry
# out, droptype T cuts every record of type T (3: checkpoints).  Nothing
# else is re-made.
vllog() {
  python3 - "$@" <<'PY'
import struct, sys
cmd, src, dst, args = sys.argv[1], sys.argv[2], sys.argv[3], [int(a) for a in sys.argv[4:]]
log = open(src, "rb").read()
out, pos, k = bytearray(log[:8]), 8, 0
while pos < len(log):
    t, n = log[pos], struct.unpack(">I", log[pos + 1:pos + 5])[0]
    rec = bytearray(log[pos:pos + 5 + n])
    k += t == 2
    times = dict(zip(args[0::2], args[1::2])) if cmd == "settime" else {}
    if t == 2 and k in times:
        rec[5 + 42:5 + 50] = struct.pack("<Q", times[k])
    if not ((cmd == "dropentry" and t == 2 and k == args[0]) or (cmd == "droptype" and t == args[0])):
        out += rec
    pos += 5 + n
open(dst, "wb").write(out)
PY
}

# ---- part 1: a synthetic network ---------------------------------------------------------
s=$work/synth
timeout 120 "$synthlog" --out "$s" --redemptions 200 --nodes 2 --seed 11 >"$work/synth.out" 2>&1
check "voucher-synthlog writes a 2-node network (exit 0)" [ $? -eq 0 ]
G=$s/genesis.json
n1=$s/node1.vllog
n2=$s/node2.vllog
check "reconcile_plant check: node1's export is valid on its own" "$plant" check "$G" "$n1"
check "reconcile_plant check: node2's export is valid on its own" "$plant" check "$G" "$n2"
check "the two exports differ (the same set, another order)" bash -c "! cmp -s '$n1' '$n2'"

rec control --genesis "$G" --log "$n1" --log "$n2"
check "control: exit 0" [ "$rc" -eq 0 ]
check "control: ok, both nodes verified and agreeing, no errors, no forks, nothing missing" q control \
  'd["ok"] is True and d["summary"]["nodes_agreeing"] is True and len(d["nodes"]) == 2 and all(n["verified"] and n["errors"] == [] and n["missing_certificates"] == [] for n in d["nodes"]) and d["forks"] == []'
check "control: 200 redemptions, the same state digest on both nodes" q control \
  'd["summary"]["redemptions"] == 200 and node("node1")["state_digest"] == node("node2")["state_digest"]'

# flip: one byte inside entry 7 of node1's export
"$plant" flip "$n1" "$work/flip1.vllog" 7 >"$work/flip.out" 2>&1
rec flip --genesis "$G" --log "$work/flip1.vllog" --log "$n2"
check "flip: exit 1" [ "$rc" -eq 1 ]
check "flip: node1's errors name entry 7; node2 has none" q flip \
  '7 in err_entries("node1") and errs("node2") == [] and d["ok"] is False'

# missing: node2 without its last 4 entries, re-chained and re-signed
cnt=$(python3 -c 'import re,sys; print(re.search(r"(\d+) entries each", open(sys.argv[1]).read()).group(1))' "$work/synth.out")
"$plant" drop "$G" "$n2" "$work/drop2.vllog" "$s/keys/node2.key" \
  $((cnt - 3)) $((cnt - 2)) $((cnt - 1)) "$cnt" >"$work/drop.out" 2>"$work/drop.err"
check "drop: reconcile_plant made a self-consistent shorter export" "$plant" check "$G" "$work/drop2.vllog"
rec missing --genesis "$G" --log "$n1" --log "$work/drop2.vllog"
check "missing: exit 1" [ "$rc" -eq 1 ]
dropped=$(awk '{print $3}' "$work/drop.out" | sort | tr '\n' ' ')
check "missing: node2 lacks exactly the 4 dropped certificates, and has no errors" q missing \
  "sorted(m['order_hash'] for m in node('node2')['missing_certificates']) == '$dropped'.split() and errs('node2') == [] and node('node1')['missing_certificates'] == []"

# forged: entry 50 of node1 keeps q-1 valid votes
"$plant" forge "$G" "$n1" "$work/forge1.vllog" "$s/keys/node1.key" 50 >"$work/forge.out" 2>&1
rec forged --genesis "$G" --log "$work/forge1.vllog" --log "$n2"
check "forged: exit 1" [ "$rc" -eq 1 ]
check "forged: node1's errors name entry 50" q forged '50 in err_entries("node1")'

# fork: a REDEEM in node2 replaced by another order for the same slot
fe=$((cnt - 20))
"$plant" fork "$G" "$n2" "$work/fork2.vllog" "$s/keys" "$s/keys/node2.key" "$fe" >"$work/fork.out" 2>&1
read -r _ facct fseq fold fnew <"$work/fork.out"
check "fork: reconcile_plant made the second certificate (q valid votes)" [ -n "${fnew:-}" ]
rec fork --genesis "$G" --log "$n1" --log "$work/fork2.vllog"
check "fork: exit 1" [ "$rc" -eq 1 ]
check "fork: forks[] holds the slot with both certificates, each with its node" q fork \
  "len(d['forks']) == 1 and d['forks'][0]['account'] == '${facct:-}' and d['forks'][0]['seq'] == ${fseq:-0} and {c['order_hash']: c['nodes'] for c in d['forks'][0]['certificates']} == {'${fold:-}': ['node1'], '${fnew:-}': ['node2']} and all(len(c['certificate']) > 0 for c in d['forks'][0]['certificates'])"

# checkpoint: node1's only checkpoint is for a head its log does not have
"$plant" badcp "$G" "$n1" "$work/cp1.vllog" "$s/keys/node1.key" 100 >"$work/cp.out" 2>&1
rec checkpoint --genesis "$G" --log "$work/cp1.vllog" --log "$n2"
check "checkpoint: exit 1" [ "$rc" -eq 1 ]
check "checkpoint: node1's checkpoint at 100 is verified (signed) but not extended" q checkpoint \
  'node("node1")["checkpoint"]["log_index"] == 100 and node("node1")["checkpoint"]["verified"] is True and node("node1")["checkpoint"]["extended"] is False and node("node2")["checkpoint"]["extended"] is True'

# time: entry times are the nodes' unsigned notes; node1's export gets entry 30
# moved to 2020-01 and entry 31 to the largest u64 (the month a redemption
# counts in comes from them)
vllog settime "$n1" "$work/time1.vllog" 30 1577836800000 31 18446744073709551615
rec time --genesis "$G" --log "$work/time1.vllog" --log "$n2"
check "time: exit 1" [ "$rc" -eq 1 ]
check "time: node1's errors name entries 30 and 31 and say the time was not allowed; node2 has none" q time \
  '{30, 31} <= err_entries("node1") and all("time" in e["message"] for e in errs("node1")) and errs("node2") == []'
check "time: every certificate still counts, and no redemption moves to another month" q time \
  'd["summary"]["redemptions"] == 200 and sorted({u["month"] for u in d["utilization"]}) == sorted({u["month"] for u in json.load(open(sys.argv[1].replace("time.json", "control.json")))["utilization"]})'
rec time1 --genesis "$G" --log "$work/time1.vllog"
check "time, node1 alone: the same months as the control" q time1 \
  'sorted({u["month"] for u in d["utilization"]}) == sorted({u["month"] for u in json.load(open(sys.argv[1].replace("time1.json", "control.json")))["utilization"]})'

# orphaned: node2 without its entry 1 (an ISSUE), re-chained and re-signed,
# reconciled alone: the redemptions of those vouchers break a ledger rule,
# each reported once (the first of each voucher unknown_account, the rest
# behind), and counted once
"$plant" drop "$G" "$n2" "$work/orphan2.vllog" "$s/keys/node2.key" 1 >"$work/orphan.out" 2>&1
rec orphaned --genesis "$G" --log "$work/orphan2.vllog"
check "orphaned: exit 1" [ "$rc" -eq 1 ]
check "orphaned: violations, each certificate once, the first of each voucher unknown_account" q orphaned \
  'len(d["violations"]) > 0 and len({v["order_hash"] for v in d["violations"]}) == len(d["violations"]) == d["violations_total"] and {v["account"] for v in d["violations"] if v["code"] == "unknown_account"} == {v["account"] for v in d["violations"]} and all(v["code"] in ("unknown_account", "behind") for v in d["violations"])'

# removed: entry 10's record cut out of node1's export (nothing re-made): one
# error where the index jumps and one for the checkpoint, not one an entry
vllog dropentry "$n1" "$work/rm1.vllog" 10
rec removed --genesis "$G" --log "$work/rm1.vllog" --log "$n2"
check "removed: exit 1" [ "$rc" -eq 1 ]
check "removed: node1's errors are entry 10 (index 11 where 10 was due) and its checkpoint, not one per later entry" q removed \
  'err_entries("node1") <= {None, 10} and 10 in err_entries("node1") and node("node1")["errors_total"] <= 2'
timeout 120 "$reconcile" --genesis "$G" --log "$work/rm1.vllog" --log "$n2" >"$work/removed.txt" 2>&1
check "removed, text output: the failed source's first error, under its line" \
  grep -q '^    entry 10: entry 10 carries index 11 (and 1 more' "$work/removed.txt"

# unbound: node2's export without its checkpoint records: its certificates
# verify, and the text output says nothing binds the log to node2
vllog droptype "$n2" "$work/nocp2.vllog" 3
timeout 120 "$reconcile" --genesis "$G" --log "$n1" --log "$work/nocp2.vllog" >"$work/nocp.txt" 2>&1
check "unbound: a log without its node's checkpoint is marked \"no signed checkpoint\" (and node1's is not)" \
  eval 'grep -q "^  node2 .*, no signed checkpoint  (log" "$work/nocp.txt" && ! grep -q "^  node1 .*no signed checkpoint" "$work/nocp.txt"'

# ---- part 2: a devnet --------------------------------------------------------------------
devnet_start 25200
run demo 90 devnet demo --dir "$dir"
check "devnet demo (exit 0)" [ "$rc" -eq 0 ]
ep1=$(dn 'd["nodes"][0]["client_endpoint"]')
ep2=$(dn 'd["nodes"][1]["client_endpoint"]')
dd1=$(dn 'd["nodes"][0]["data_dir"]')
DG=$(dn 'd["genesis"]')
# node2 may lag node1 by a broadcast: wait (bounded) until their heads agree
for i in $(seq 1 50); do
  run st 30 status --devnet "$dir" --json
  [ "$(py "$work/st.out" 'len({n.get("log_head") for n in d["nodes"]})')" = 1 ] && break
  sleep 0.2
done
run export1 60 log --devnet "$dir" --node "$ep1" --export "$work/dev1.vllog"
check "log --export from node1 (exit 0)" [ "$rc" -eq 0 ]
run export2 60 log --devnet "$dir" --node "$ep2" --export "$work/dev2.vllog"
check "log --export from node2 (exit 0)" [ "$rc" -eq 0 ]
rec devcontrol --genesis "$DG" --log "$work/dev1.vllog" --log "$work/dev2.vllog"
all_of_1() { [ "$rc" -eq 0 ] && q devcontrol \
  'd["ok"] is True and all(n["verified"] and n["errors"] == [] for n in d["nodes"]) and d["summary"]["redemptions"] > 0'; }
check "devnet control: exit 0, no errors, both verified" all_of_1

run down 60 devnet down --dir "$dir"
check "devnet down (exit 0)" [ "$rc" -eq 0 ]
cp -a "$dd1" "$work/dd1"
rm -f "$work/dd1/lock.mdb"
rec devdir --genesis "$DG" --data-dir "$work/dd1" --log "$work/dev2.vllog"
check "devnet --data-dir control (a copy of node1's data): exit 0" [ "$rc" -eq 0 ]
# flip one byte inside entry 3 of node1's data.mdb: find the entry's bytes
# (its export record) in the file and invert one near their end
python3 - "$work/dev1.vllog" "$work/dd1/data.mdb" 3 >"$work/mdbflip.out" <<'PY'
import struct, sys
log, mdb, want = open(sys.argv[1], "rb").read(), sys.argv[2], int(sys.argv[3])
pos, k, entry = 8, 0, None
while pos < len(log):
    t, n = log[pos], struct.unpack(">I", log[pos + 1:pos + 5])[0]
    if t == 2:
        k += 1
        if k == want:
            entry = log[pos + 5:pos + 5 + n]
    pos += 5 + n
data = bytearray(open(mdb, "rb").read())
at = data.find(entry)
if entry is None or at < 0:
    print("entry %d not found in data.mdb" % want); sys.exit(1)
hits = 0
while at >= 0:  # every copy LMDB keeps (an old page may hold one too)
    data[at + len(entry) - 10] ^= 0xFF
    hits += 1
    at = data.find(entry, at + 1)
open(mdb, "wb").write(data)
print("flipped %d copy(ies) of entry %d (%d bytes)" % (hits, want, len(entry)))
PY
check "the entry's bytes are found in data.mdb and flipped" [ $? -eq 0 ]
rec devflip --genesis "$DG" --data-dir "$work/dd1" --log "$work/dev2.vllog"
check "data.mdb flip: exit 1" [ "$rc" -eq 1 ]
check "data.mdb flip: node1's errors name entry 3; node2 has none" q devflip \
  '3 in err_entries("node1") and errs("node2") == []'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
