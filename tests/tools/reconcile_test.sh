#!/usr/bin/env bash
# reconcile_test.sh RECONCILE VOUCHERCTL VOUCHERD
#
# voucher-reconcile against a real devnet (4 voters): issuance in four
# cities (one voucher already expired), partial and full redemptions at
# four data centers, two revocations, and three refused orders (a double
# redemption of one slot at another data center, an overspend, a
# redemption of a revoked voucher).  The test computes every figure of the
# report from the orders it submitted (python3) and checks that the JSON
# report holds exactly those figures (issuers, providers, settlement,
# utilization, summary), three ways: --node against the running nodes,
# --log against `voucherctl log --export` files, --data-dir against the
# nodes' data directories once stopped.  All three agree and exit 0.  Then
# a node's export without its last entry makes the tool exit 1 and name the
# missing certificate, the figure checker is shown to catch a planted wrong
# figure, and usage errors exit 2.  Every voucherd started is killed on
# exit (devnetlib.sh); every wait is bounded.  Prints "N passed, N failed".
set -u
rec=${1:?usage: reconcile_test.sh RECONCILE VOUCHERCTL VOUCHERD}
ctl=${2:?usage: reconcile_test.sh RECONCILE VOUCHERCTL VOUCHERD}
voucherd=${3:?usage: reconcile_test.sh RECONCILE VOUCHERCTL VOUCHERD}

. "$(dirname "$0")/devnetlib.sh"
devnet_test_init reconcile-test 270 # ctest TIMEOUT 300

# ---- up, on a free port base ------------------------------------------------------------
devnet_start 27400
G=$(dn 'd["genesis"]')
K=$dir/keys
holder() { dn "[h['pubkey'] for h in d['holders'] if h['id'] == '$1'][0]"; }
F1=$(holder firm1); F2=$(holder firm2); F3=$(holder firm3)

# Every accepted order goes to $work/orders (one JSON line each): what the
# expected figures are computed from.
: >"$work/orders"
# issue NAME ISSUER HOLDER_ID VALUE COUNT [ARGS...]: voucher ids in $work/NAME.ids
issue() {
  local name=$1 issuer=$2 hid=$3 value=$4 count=$5; shift 5
  run "$name" 30 issue --devnet "$dir" --issuer-key "$K/$issuer.key" --holder "$(holder "$hid")" \
    --value-fen "$value" --count "$count" --json "$@"
  check "issue $name: $count x $value fen by $issuer (exit 0)" [ "$rc" -eq 0 ]
  py "$work/$name.out" '"\n".join(d["vouchers"])' >"$work/$name.ids"
  python3 -c 'import json,sys; print(json.dumps({"kind":"issue","issuer":sys.argv[1],"holder":sys.argv[2],"value":int(sys.argv[3]),"ids":open(sys.argv[4]).read().split(),"expired":sys.argv[5]=="1"}))' \
    "$issuer" "$hid" "$value" "$work/$name.ids" "$([ $# -gt 0 ] && echo 1 || echo 0)" >>"$work/orders"
}
vid() { sed -n "${2}p" "$work/$1.ids"; }
# redeem NAME VOUCHER HOLDER_ID PROVIDER AMOUNT GPU_HOURS
redeem() {
  run "$1" 30 redeem --devnet "$dir" --voucher "$2" --holder-key "$K/$3.key" \
    --provider-key "$K/$4.key" --amount-fen "$5" --gpu-hours "$6" --json
  check "redeem $1: $5 fen at $4 (exit 0)" [ "$rc" -eq 0 ]
  echo "{\"kind\":\"redeem\",\"voucher\":\"$2\",\"holder\":\"$3\",\"provider\":\"$4\",\"amount\":$5,\"gpu\":\"$6\"}" >>"$work/orders"
}
revoke() {
  run "$1" 30 revoke --devnet "$dir" --voucher "$2" --issuer-key "$K/$3.key" --reason test --json
  check "revoke $1 (exit 0)" [ "$rc" -eq 0 ]
  echo "{\"kind\":\"revoke\",\"voucher\":\"$2\"}" >>"$work/orders"
}

# ---- the orders --------------------------------------------------------------------------
issue sh shanghai firm1 1000000 3
issue bj beijing firm2 500000 2
issue cd chengdu firm3 2000000 1
issue hn henan firm3 400000 1 --valid-from 1600000000 --valid-until 1700000000
redeem r1 "$(vid sh 1)" firm1 guizhou 250000 2
redeem r2 "$(vid sh 1)" firm1 ningxia 300000 3.5
redeem r3 "$(vid sh 2)" firm1 guizhou 1000000 10
redeem r4 "$(vid bj 1)" firm2 inner-mongolia 200000 1.25
redeem r5 "$(vid cd 1)" firm3 guizhou 700000 7
redeem r6 "$(vid bj 2)" firm2 gansu 500000 5
revoke k1 "$(vid sh 3)" shanghai
revoke k2 "$(vid cd 1)" chengdu

# refused: the slot of r1 (voucher sh1, seq 0) again, at another data center
run dbl 30 redeem --devnet "$dir" --voucher "$(vid sh 1)" --holder-key "$K/firm1.key" \
  --provider-key "$K/gansu.key" --amount-fen 100 --issuer shanghai --serial 1 --seq 0 \
  --no-slot-guard --json
refused() { [ "$rc" -eq 1 ] && has "$1" "$2"; }
check "a double redemption of one slot at another data center is refused (ALREADY_CERTIFIED)" \
  refused dbl.out ALREADY_CERTIFIED
run over 30 redeem --devnet "$dir" --voucher "$(vid sh 2)" --holder-key "$K/firm1.key" \
  --provider-key "$K/ningxia.key" --amount-fen 1 --json
check "a redemption of a spent voucher is refused (OVERSPEND)" refused over.out OVERSPEND
run rvk 30 redeem --devnet "$dir" --voucher "$(vid sh 3)" --holder-key "$K/firm1.key" \
  --provider-key "$K/ningxia.key" --amount-fen 1 --json
check "a redemption of a revoked voucher is refused" refused rvk.out REVOKED

# every node has all 12 certificates (4 issue, 6 redeem, 2 revoke; nothing
# of the refused orders) before the logs are read
want=12
for i in $(seq 1 100); do
  run st 10 status --devnet "$dir" --json
  [ "$(py "$work/st.out" "sorted({n.get('status', {}).get('log_head') for n in d['nodes']}) == [$want]")" = True ] && break
  sleep 0.2
done
check "all four nodes reach $want log entries" \
  [ "$(py "$work/st.out" "sorted({n.get('status', {}).get('log_head') for n in d['nodes']}) == [$want]")" = True ]

# ---- the expected figures and the checker -------------------------------------------------
# figures.py REPORT: checks every figure against $work/orders; prints what
# differs and exits 1 on any difference.
cat >"$work/figures.py" <<'PY'
import json, sys, time
rep = json.load(open(sys.argv[1]))
gen = json.load(open(sys.argv[2]))
orders = [json.loads(l) for l in open(sys.argv[3])]
months = set(sys.argv[4].split())
# region codes: integers in the genesis, 6-digit strings in the report
reg_i = {i["id"]: "%06d" % i["region"] for i in gen["issuers"]}
reg_p = {p["id"]: "%06d" % p["region"] for p in gen["providers"]}
vouchers = {}
iss = {i["id"]: dict(id=i["id"], region=reg_i[i["id"]], budget_fen=i["budget_fen"], issued_fen=0,
                     redeemed_fen=0, revoked_fen=0, credited_back_fen=0, outstanding_fen=0,
                     expired_unspent_fen=0, remaining_budget_fen=0, vouchers=0)
       for i in gen["issuers"]}
prov = {p["id"]: dict(id=p["id"], region=reg_p[p["id"]], redeemed_fen=0, gpu_milli=0, firms=set(),
                      redemptions=0) for p in gen["providers"]}
settle = {}
n = {"issue": 0, "redeem": 0, "revoke": 0}
for o in orders:
    n[o["kind"]] += 1
    if o["kind"] == "issue":
        for v in o["ids"]:
            vouchers[v] = dict(issuer=o["issuer"], face=o["value"], left=o["value"], revoked=False,
                               expired=o["expired"])
        iss[o["issuer"]]["issued_fen"] += o["value"] * len(o["ids"])
        iss[o["issuer"]]["vouchers"] += len(o["ids"])
    elif o["kind"] == "redeem":
        v = vouchers[o["voucher"]]; v["left"] -= o["amount"]
        iss[v["issuer"]]["redeemed_fen"] += o["amount"]
        p = prov[o["provider"]]
        p["redeemed_fen"] += o["amount"]; p["redemptions"] += 1; p["firms"].add(o["holder"])
        p["gpu_milli"] += round(float(o["gpu"]) * 1000)
        k = (reg_i[v["issuer"]], reg_p[o["provider"]])
        settle[k] = settle.get(k, 0) + o["amount"]
    else:
        v = vouchers[o["voucher"]]; i = iss[v["issuer"]]
        i["revoked_fen"] += v["face"]; i["credited_back_fen"] += v["left"]
        v["left"] = 0; v["revoked"] = True
for v in vouchers.values():
    if not v["revoked"]:
        iss[v["issuer"]]["expired_unspent_fen" if v["expired"] else "outstanding_fen"] += v["left"]
for i in iss.values():
    i["remaining_budget_fen"] = i["budget_fen"] - i["issued_fen"] + i["credited_back_fen"]
want_issuers = sorted(iss.values(), key=lambda i: i["id"])
want_providers = sorted((dict(id=p["id"], region=p["region"], redeemed_fen=p["redeemed_fen"],
                              gpu_hours=p["gpu_milli"] / 1000.0, firms_served=len(p["firms"]),
                              redemptions=p["redemptions"]) for p in prov.values()),
                        key=lambda p: p["id"])
want_settle = [dict(issuer_region=a, provider_region=b, amount_fen=s)
               for (a, b), s in sorted(settle.items()) if s]
tot = lambda k: sum(i[k] for i in iss.values())
want_summary = dict(certificates=len(orders), issuances=n["issue"], redemptions=n["redeem"],
                    revocations=n["revoke"], issued_fen=tot("issued_fen"),
                    redeemed_fen=tot("redeemed_fen"), revoked_fen=tot("revoked_fen"),
                    outstanding_fen=tot("outstanding_fen"),
                    expired_unspent_fen=tot("expired_unspent_fen"))
bad = []
def cmp(what, got, want):
    if got != want:
        bad.append("%s:\n  got  %s\n  want %s" % (what, json.dumps(got, sort_keys=True),
                                                 json.dumps(want, sort_keys=True)))
cmp("issuers", rep["issuers"], want_issuers)
got_p = [dict(p, gpu_hours=round(p["gpu_hours"], 3)) for p in rep["providers"]]
cmp("providers", got_p, want_providers)
cmp("settlement", sorted(rep["settlement"], key=lambda c: (c["issuer_region"], c["provider_region"])),
    want_settle)
cmp("summary", {k: rep["summary"][k] for k in want_summary}, want_summary)
# utilization: per provider, the months of the run, summing to the provider's figures
u = {}
for row in rep["utilization"]:
    if row["month"] not in months:
        bad.append("utilization month %s is not a month of the run %s" % (row["month"], months))
    t = u.setdefault(row["provider"], [0, 0.0, 0])
    t[0] += row["redeemed_fen"]; t[1] += row["gpu_hours"]; t[2] += row["redemptions"]
cmp("utilization by provider", {k: [v[0], round(v[1], 3), v[2]] for k, v in sorted(u.items())},
    {p["id"]: [p["redeemed_fen"], p["gpu_hours"], p["redemptions"]] for p in want_providers
     if p["redemptions"]})
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
PY
m0=$(date -u +%Y-%m)
months() { echo "$m0 $(date -u +%Y-%m)"; }
figures() { python3 "$work/figures.py" "$work/$1.json" "$G" "$work/orders" "$(months)" >"$work/$1.fig" 2>&1; }
# all_ok NAME NODES: exit 0, ok, every node verified and agreeing, nothing missing
all_ok() {
  [ "$(py "$work/$1.json" "d['ok'] is True and d['summary']['nodes_agreeing'] is True and d['summary']['nodes_verified'] == $2 and len(d['nodes']) == $2 and all(n['verified'] and n['errors'] == [] and n['missing_certificates'] == [] and n['checkpoint'] is not None for n in d['nodes']) and d['forks'] == [] and d['violations'] == []")" = True ]
}
# reconcile NAME ARGS...: the report in $work/NAME.json, exit status in $rc
reconcile() {
  local name=$1; shift
  timeout 120 "$rec" --genesis "$G" --json "$work/$name.json" "$@" >"$work/$name.out" 2>"$work/$name.err"
  rc=$?
}

# ---- 1: --node, against the running nodes -----------------------------------------------
nodes=()
for i in 0 1 2 3; do nodes+=(--node "$(dn "d['nodes'][$i]['client_endpoint']")"); done
# wait (bounded) for every node's checkpoint to cover all entries: a
# checkpoint is signed at a node's tick (docs/consensus.md), so an early
# one may be for a shorter log, which is still extended by the log: fine
reconcile net "${nodes[@]}"
check "--node x4: exit 0" [ "$rc" -eq 0 ]
check "--node x4: ok, 4 nodes verified and agreeing, a verified checkpoint each" all_ok net 4
check "--node x4: every figure equals the one computed from the orders" figures net
[ -s "$work/net.fig" ] && cat "$work/net.fig"
# --devnet DIR: the genesis and every node's endpoint from devnet.json (as README shows)
timeout 120 "$rec" --devnet "$dir" --json "$work/dn.json" >"$work/dn.out" 2>"$work/dn.err"
rc=$?
check "--devnet: exit 0, the 4 nodes of devnet.json verified and agreeing" \
  eval '[ "$rc" -eq 0 ] && all_ok dn 4'
check "--devnet: every figure equals the one computed from the orders" figures dn

# ---- 2: --log, against exports ------------------------------------------------------------
logs=()
for i in 0 1 2 3; do
  ep=$(dn "d['nodes'][$i]['client_endpoint']")
  run "exp$i" 30 log --devnet "$dir" --node "$ep" --export "$work/node$i.vllog"
  check "voucherctl log --export node$((i + 1)) (exit 0)" [ "$rc" -eq 0 ]
  logs+=(--log "$work/node$i.vllog")
done
run expagain 30 log --devnet "$dir" --export "$work/node0.vllog"
check "log --export refuses to overwrite an existing file (exit 1)" [ "$rc" -eq 1 ]
reconcile logs "${logs[@]}"
check "--log x4: exit 0" [ "$rc" -eq 0 ]
check "--log x4: ok, 4 nodes verified and agreeing" all_ok logs 4
check "--log x4: every figure equals the one computed from the orders" figures logs
[ -s "$work/logs.fig" ] && cat "$work/logs.fig"

# ---- 3: --data-dir, against the stopped nodes ----------------------------------------------
run down 60 devnet down --dir "$dir"
check "devnet down (exit 0)" [ "$rc" -eq 0 ]
dirs=()
for i in 0 1 2 3; do dirs+=(--data-dir "$(dn "d['nodes'][$i]['data_dir']")"); done
reconcile dirs "${dirs[@]}" --csv "$work/csv" --html "$work/report.html"
check "--data-dir x4: exit 0" [ "$rc" -eq 0 ]
rendered() {
  [ -s "$work/report.html" ] && [ -f "$work/csv/issuers.csv" ] &&
    [ "$(($(wc -l <"$work/csv/issuers.csv") - 1))" -eq "$(py "$G" 'len(d["issuers"])')" ]
}
check "--data-dir x4: --csv wrote issuers.csv (a row per genesis issuer) and --html a page" rendered
check "--data-dir x4: ok, 4 nodes verified and agreeing" all_ok dirs 4
check "--data-dir x4: every figure equals the one computed from the orders" figures dirs
[ -s "$work/dirs.fig" ] && cat "$work/dirs.fig"
run expdir 30 log --genesis "$G" --data-dir "$(dn "d['nodes'][0]['data_dir']")" --export "$work/dir0.vllog"
check "log --export --data-dir of a stopped node (exit 0)" [ "$rc" -eq 0 ]
records() {
  python3 - "$1" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
pos, out = 8, []
while pos < len(b):
    t, n = b[pos], struct.unpack(">I", b[pos + 1:pos + 5])[0]
    if t == 2: out.append(b[pos + 5:pos + 5 + n].hex())
    pos += 5 + n
print("\n".join(out))
PY
}
check "... its entries are byte for byte those node1 served over the network" \
  [ "$(records "$work/dir0.vllog")" = "$(records "$work/node0.vllog")" ]
reconcile dirlog --log "$work/dir0.vllog" "${logs[@]:2}"
check "... and it reconciles with the other exports (exit 0)" [ "$rc" -eq 0 ]
same() {
  python3 - "$work/net.json" "$work/logs.json" "$work/dirs.json" <<'PY'
import json, sys
r = [json.load(open(f)) for f in sys.argv[1:]]
keys = ("issuers", "providers", "settlement", "utilization", "conflicts", "forks")
strip = lambda s: {k: v for k, v in s.items() if k not in ("seconds", "signatures_checked")}
ok = all(a[k] == r[0][k] for a in r for k in keys) and all(strip(a["summary"]) == strip(r[0]["summary"]) for a in r)
digests = {n["state_digest"] for a in r for n in a["nodes"]}
ok = ok and len(digests) == 1 and [n["id"] for n in r[0]["nodes"]] == [n["id"] for n in r[2]["nodes"]]
sys.exit(0 if ok else 1)
PY
}
check "the three ways agree: the same figures and one state digest on every node" same

# ---- a frozen slot: two different signed orders locked on two nodes --------------------------
# firm1 signs two redemptions for voucher sh1's next slot (seq 2), bypassing
# its slot guard; node1's export gets one as a lock, node2's the other
PG=$(dn "[p['pubkey'] for p in d['providers'] if p['id'] == 'gansu'][0]")
for x in a b; do
  amount=$([ $x = a ] && echo 100 || echo 200)
  run "build$x" 30 build-redeem --genesis "$G" --voucher "$(vid sh 1)" --amount-fen "$amount" \
    --provider "$PG" --holder "$F1" --issuer shanghai --serial 1 --seq 2 --out "$work/order$x.unsigned"
  run "signh$x" 30 sign --genesis "$G" --key "$K/firm1.key" --slot holder --no-slot-guard \
    --in "$work/order$x.unsigned" --out "$work/order$x.half"
  run "signp$x" 30 sign --genesis "$G" --key "$K/gansu.key" --slot provider \
    --in "$work/order$x.half" --out "$work/order$x.signed"
  check "order $x for voucher sh1 seq 2 built and signed by holder and provider" [ -s "$work/order$x.signed" ]
done
python3 - "$work" <<'PY'
import struct, sys
w = sys.argv[1]
for node, x in (("node0", "a"), ("node1", "b")):
    o = open("%s/order%s.signed" % (w, x), "rb").read()
    b = open("%s/%s.vllog" % (w, node), "rb").read()
    open("%s/%s-lock.vllog" % (w, node), "wb").write(b + bytes([4]) + struct.pack(">I", len(o)) + o)
PY
reconcile conflict --log "$work/node0-lock.vllog" --log "$work/node1-lock.vllog"
check "a frozen slot: exit 0 (a conflict is the holder's fault, the nodes agree)" [ "$rc" -eq 0 ]
check "... conflicts[] holds the slot, both signed orders and the node that locked each" \
  [ "$(py "$work/conflict.json" "len(d['conflicts']) == 1 and d['conflicts'][0]['account'] == '$(vid sh 1)' and d['conflicts'][0]['seq'] == 2 and d['conflicts'][0]['serial'] == 1 and d['conflicts'][0]['issuer'] == 'shanghai' and sorted(o['locked_by'] for o in d['conflicts'][0]['orders']) == [['node1'], ['node2']] and {o['order'] for o in d['conflicts'][0]['orders']} == {open('$work/ordera.signed','rb').read().hex(), open('$work/orderb.signed','rb').read().hex()}")" = True ]

# ---- a node that lacks a certificate, and a checker that catches a wrong figure -------------
python3 - "$work/node3.vllog" "$work/short.vllog" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
pos, recs = 8, []
while pos < len(b):
    t, n = b[pos], struct.unpack(">I", b[pos + 1:pos + 5])[0]
    recs.append((t, b[pos:pos + 5 + n])); pos += 5 + n
last = max(i for i, (t, _) in enumerate(recs) if t == 2)
open(sys.argv[2], "wb").write(b[:8] + b"".join(r for i, (t, r) in enumerate(recs) if i != last))
PY
reconcile short --log "$work/node0.vllog" --log "$work/short.vllog"
check "an export without its last entry: exit 1" [ "$rc" -eq 1 ]
# (its checkpoint is not extended if the node signed one for all 12 entries;
# a checkpoint is signed on a timer, so it may be older: then it is)
check "... that node misses exactly one certificate; a checkpoint at entry 12 is not extended" \
  [ "$(py "$work/short.json" "d['ok'] is False and len(d['nodes'][1]['missing_certificates']) == 1 and d['nodes'][1]['checkpoint']['extended'] == (d['nodes'][1]['checkpoint']['log_index'] <= 11) and d['nodes'][0]['missing_certificates'] == [] and d['nodes'][0]['verified']")" = True ]
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["providers"][0]["redeemed_fen"] += 1; json.dump(d, open(sys.argv[2], "w"))' \
  "$work/dirs.json" "$work/planted.json"
check "the figure checker catches a planted wrong figure (one fen)" bash -c "! python3 '$work/figures.py' '$work/planted.json' '$G' '$work/orders' '$(months)' >/dev/null"

# ---- usage errors ---------------------------------------------------------------------------
timeout 10 "$rec" --genesis "$G" >"$work/u1.out" 2>"$work/u1.err"
check "no source: exit 2" [ $? -eq 2 ]
timeout 10 "$rec" --genesis "$G" --log "$work/node0.vllog" --frobnicate >"$work/u2.out" 2>"$work/u2.err"
rc=$?
named() { [ "$rc" -eq 2 ] && has u2.err frobnicate; }
check "an unknown option: exit 2, named" named
timeout 10 "$rec" --genesis "$work/nope.json" --log "$work/node0.vllog" >"$work/u3.out" 2>"$work/u3.err"
check "a genesis that does not load: exit 2" [ $? -eq 2 ]
timeout 10 "$rec" --genesis "$G" --log "$work/node0.vllog" --threads 0 >"$work/u4.out" 2>"$work/u4.err"
check "--threads 0: exit 2" [ $? -eq 2 ]
for bad in 2026-02-30 2025-02-29 2026-01-01T23:59:60Z 2026-13-01; do
  timeout 10 "$rec" --genesis "$G" --log "$work/node0.vllog" --as-of "$bad" >"$work/u5.out" 2>"$work/u5.err"
  rc=$?
  named() { [ "$rc" -eq 2 ] && has u5.err "a real date"; }
  check "--as-of $bad (no such time): exit 2, not a day later" named
done
timeout 10 "$rec" --genesis "$G" --log "$work/node0.vllog" --as-of 2024-02-29 --json "$work/u6.json" >"$work/u6.out" 2>"$work/u6.err"
check "--as-of 2024-02-29 (a leap day): taken as it is" \
  [ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["as_of"])' "$work/u6.json" 2>/dev/null)" = 2024-02-29T00:00:00Z ]
timeout 10 "$rec" --genesis "$G" --node 127.0.0.1:9301 >"$work/u7.out" 2>"$work/u7.err"
rc=$?
named() { [ "$rc" -eq 2 ] && has u7.err "a ZeroMQ endpoint such as tcp://"; }
check "--node without a transport (127.0.0.1:9301): exit 2, says what an endpoint looks like" named
# the devnet is down: an unreachable node is named by the genesis' endpoints
ep4=$(dn 'd["nodes"][3]["client_endpoint"]')
timeout 20 "$rec" --genesis "$G" --node "$ep4" --timeout-ms 200 >"$work/u8.out" 2>"$work/u8.err"
rc=$?
named() { [ "$rc" -eq 1 ] && has u8.out "is node4's client endpoint in the genesis"; }
check "a node that does not answer: exit 1, its error says whose endpoint it is" named

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
