#!/usr/bin/env bash
# devnet_test.sh VOUCHERCTL VOUCHERD
#
# `voucherctl devnet` end to end with real voucherd processes on 127.0.0.1:
# up (on a port base derived from $$, another one if a port is taken), the
# exact content of devnet.json, the demo, --devnet on the network commands,
# `up` refused while running, down (every pid gone), down again, up again on
# the same data (a voucher issued before is still there), a redemption
# with two voters stopped and every timeout at its default (NO_QUORUM, not
# "no node answered"; then certified once they resume), a retry after such
# an order completed by itself (the same --invoice-hash: one charge), down.  Every
# voucherd started is killed on exit, success or failure; every wait is
# bounded (timeout).  Prints "N passed, N failed".
set -u
ctl=${1:?usage: devnet_test.sh VOUCHERCTL VOUCHERD}
voucherd=${2:?usage: devnet_test.sh VOUCHERCTL VOUCHERD}

. "$(dirname "$0")/devnetlib.sh"
devnet_test_init devnet-test 150 # ctest TIMEOUT 180

# A process that exited but was not reaped (its parent is gone, and PID 1 in
# some containers never reaps) is a zombie: kill -0 still succeeds on it, so
# "alive" means kill -0 succeeds AND it is not a zombie.
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local state
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
  [ -n "$state" ] && [ "$state" != Z ]
}
pids_of() {
  python3 -c 'import json,sys; print(" ".join(str(n["pid"]) for n in json.load(open(sys.argv[1]))["nodes"]))' \
    "$dir/devnet.json"
}
# wait_gone SECONDS PID...: true once none is alive.
wait_gone() {
  local end=$((SECONDS + $1)) p any; shift
  while :; do
    any=false
    for p in "$@"; do if alive "$p"; then any=true; fi; done
    $any || return 0
    [ "$SECONDS" -lt "$end" ] || return 1
    sleep 0.1
  done
}

# ---- up, on a free port base ------------------------------------------------------------

started=false
for attempt in 0 1 2 3 4 5; do
  base=$((23000 + (($$ + attempt * 37) % 100) * 20))
  run up 60 devnet up --dir "$dir" --base-port "$base" --voucherd "$voucherd"
  if [ "$rc" -eq 0 ]; then started=true; break; fi
  if ! has up.err 'cannot bind'; then break; fi
  check "a first up that cannot bind leaves no directory behind" [ ! -e "$dir" ]
  check "it says which port and suggests --base-port" has up.err 'base-port'
  echo "ports from $base in use, trying another base"
done
record_pids
if ! $started; then
  bad "devnet up (exit $rc)"; cat "$work/up.err"
  echo "$passed passed, $failed failed"; exit 1
fi
ok "devnet up on ports $base..$((base + 7))"
check "up prints how to use it" has up.out "voucherctl devnet demo --dir $dir"

# ---- devnet.json: every field ------------------------------------------------------------

cat >"$work/check.py" <<'PY'
import json, os, re, stat, sys
d_path, base, dir_ = sys.argv[1], int(sys.argv[2]), sys.argv[3]
d = json.load(open(d_path))
errors = []
def want(cond, what):
    if not cond:
        errors.append(what)
def absfile(p, what, mode=None):
    want(isinstance(p, str) and p.startswith(dir_ + "/") and os.path.isabs(p), what + " absolute, in DIR: %r" % p)
    want(os.path.exists(p), what + " exists: %r" % p)
    if mode is not None and os.path.exists(p):
        want(stat.S_IMODE(os.stat(p).st_mode) == mode, what + " mode %o" % mode)
def key_pub(path):
    return json.load(open(path))["pubkey"]
want(list(d) == ["network", "genesis", "base_port", "voters", "observers", "nodes", "issuers", "providers", "holders"], "top-level keys, in order: %r" % list(d))
want(d["network"] == "devnet", "network")
absfile(d["genesis"], "genesis")
want(d["base_port"] == base and d["voters"] == 4 and d["observers"] == 0, "base_port, voters, observers")
g = json.load(open(d["genesis"]))
gnodes = {n["id"]: n for n in g["nodes"]}
regions = {110000, 310000, 410000, 370000, 510100, 440300, 330200, 520000, 640000, 150000, 620000}
want(len(d["nodes"]) == 4, "4 nodes")
for i, n in enumerate(d["nodes"], 1):
    want(list(n) == ["id", "role", "region", "peer_endpoint", "client_endpoint", "pid", "config", "log", "data_dir", "key_file", "metrics_url"], "node keys %r" % list(n))
    murl = "http://127.0.0.1:%d/metrics" % (base + 128 + i - 1)
    want(n.get("metrics_url") == murl, "node%d metrics_url %r" % (i, n.get("metrics_url")))
    try:
        import urllib.request
        with urllib.request.urlopen(murl, timeout=5) as r:
            want(r.status == 200 and b"voucher_log_head " in r.read(), "node%d metrics_url serves /metrics" % i)
    except OSError as e:
        want(False, "node%d metrics_url: %s" % (i, e))
    want(n["id"] == "node%d" % i and n["role"] == "voter", "node%d id, role" % i)
    want(n["region"] in regions, "node%d region" % i)
    want(n["peer_endpoint"] == "tcp://127.0.0.1:%d" % (base + 2 * i - 2), "node%d peer_endpoint" % i)
    want(n["client_endpoint"] == "tcp://127.0.0.1:%d" % (base + 2 * i - 1), "node%d client_endpoint" % i)
    want(isinstance(n["pid"], int) and n["pid"] > 0, "node%d pid" % i)
    cmd = open("/proc/%d/cmdline" % n["pid"], "rb").read().split(b"\0") if n["pid"] > 0 else []
    want(any(b"voucherd" in a for a in cmd) and n["config"].encode() in cmd, "node%d pid is its voucherd: %r" % (i, cmd))
    absfile(n["config"], "node%d config" % i)
    absfile(n["log"], "node%d log" % i)
    absfile(n["data_dir"], "node%d data_dir" % i)
    absfile(n["key_file"], "node%d key_file" % i, 0o600)
    cfg = json.load(open(n["config"]))
    want(cfg == {"node_id": n["id"], "genesis": d["genesis"], "key_file": n["key_file"], "data_dir": n["data_dir"], "log_level": "info", "metrics_bind": "127.0.0.1:%d" % (base + 128 + i - 1)}, "node%d config content %r" % (i, cfg))
    gn = gnodes.get(n["id"], {})
    want(gn.get("pubkey") == key_pub(n["key_file"]) and gn.get("region") == n["region"] and gn.get("role") == "voter", "node%d in the genesis" % i)
    want(gn.get("peer_endpoint") == n["peer_endpoint"] and gn.get("client_endpoint") == n["client_endpoint"], "node%d endpoints in the genesis" % i)
want(len({n["region"] for n in d["nodes"]}) == 4, "the nodes span 4 regions")
issuers = {"beijing": 110000, "shanghai": 310000, "henan": 410000, "shandong": 370000, "chengdu": 510100, "shenzhen": 440300, "ningbo": 330200}
budgets = {"shanghai": 60000000000, "chengdu": 10000000000, "shandong": 3000000000}
gis = {x["id"]: x for x in g["issuers"]}
want(sorted(x["id"] for x in d["issuers"]) == sorted(issuers), "the seven issuers")
for x in d["issuers"]:
    want(list(x) == ["id", "name", "region", "budget_fen", "pubkey", "key_file"], "issuer keys %r" % list(x))
    want(x["region"] == issuers.get(x["id"]) and x["budget_fen"] == budgets.get(x["id"], x["budget_fen"]) and x["budget_fen"] > 0, "issuer %s region, budget" % x["id"])
    want(re.fullmatch("[0-9a-f]{64}", x["pubkey"]) is not None and x["name"] != "", "issuer %s pubkey, name" % x["id"])
    absfile(x["key_file"], "issuer %s key_file" % x["id"], 0o600)
    want(key_pub(x["key_file"]) == x["pubkey"] == gis[x["id"]]["pubkey"] and gis[x["id"]]["budget_fen"] == x["budget_fen"], "issuer %s in the genesis" % x["id"])
providers = {"guizhou": 520000, "ningxia": 640000, "inner-mongolia": 150000, "gansu": 620000}
gps = {x["id"]: x for x in g["providers"]}
want(sorted(x["id"] for x in d["providers"]) == sorted(providers), "the four providers")
for x in d["providers"]:
    want(list(x) == ["id", "name", "region", "pubkey", "key_file"], "provider keys %r" % list(x))
    want(x["region"] == providers.get(x["id"]) and x["name"] != "", "provider %s region, name" % x["id"])
    absfile(x["key_file"], "provider %s key_file" % x["id"], 0o600)
    want(key_pub(x["key_file"]) == x["pubkey"] == gps[x["id"]]["pubkey"], "provider %s in the genesis" % x["id"])
want(len(d["holders"]) >= 1 and d["holders"][0]["id"] == "firm1", "holders, firm1 first")
for x in d["holders"]:
    want(list(x) == ["id", "pubkey", "key_file"], "holder keys %r" % list(x))
    absfile(x["key_file"], "holder %s key_file" % x["id"], 0o600)
    want(key_pub(x["key_file"]) == x["pubkey"], "holder %s pubkey" % x["id"])
for e in errors:
    print("devnet.json:", e)
sys.exit(1 if errors else 0)
PY
check "devnet.json: every field, absolute paths, pids are this devnet's voucherd, keys 0600" \
  python3 "$work/check.py" "$dir/devnet.json" "$base" "$dir"
pids1=$(pids_of)
all_alive=true
for p in $pids1; do alive "$p" || all_alive=false; done
check "every pid is alive" $all_alive
ready_logs=0
for i in 1 2 3 4; do grep -q 'event=ready' "$dir/nodes/node$i/voucherd.log" && ready_logs=$((ready_logs + 1)); done
check "every node logged event=ready" [ "$ready_logs" -eq 4 ]

# ---- the demo ------------------------------------------------------------------------------

run demo 90 devnet demo --dir "$dir"
check "demo exits 0" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || cat "$work/demo.err"
# The loser of the double spend is refused CONFLICT, or ALREADY_CERTIFIED when
# the winner's certificate reached its node first (ctl_demo.c note 2).
check "demo shows the double spend refused, with its proof" \
  has demo.out '(CONFLICT|ALREADY_CERTIFIED) \((CONFLICT|ALREADY_CERTIFIED)\)'
check "demo explains the proof" has demo.out 'tried to spend the same voucher money twice'
check "demo shows INSUFFICIENT_BALANCE" has demo.out 'INSUFFICIENT_BALANCE \(OVERSPEND\)'
check "demo numbers its steps" has demo.out '^8\. '
check "demo ends as expected" has demo.out 'The demo ran as expected'
run demo_json 90 devnet demo --dir "$dir" --json
check "demo --json: exit 0" [ "$rc" -eq 0 ]
cat >"$work/demo.py" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ds = d["double_spend"]
results = sorted(o["result"] for o in ds["orders"])
assert d["ok"] is True and d["same_state"] is True, d
assert ds["outcome"] in ("one_certified", "frozen") and ds["proof"]["verified"] is True, ds
assert results in (["CONFLICT", "certified"], ["ALREADY_CERTIFIED", "certified"], ["CONFLICT", "CONFLICT"]), results
assert d["insufficient_balance"]["code"] == "INSUFFICIENT_BALANCE", d
assert len(d["issue"]["vouchers"]) == 3 and len(d["redemptions"]) == 2, d
assert len({n["state_digest"] for n in d["nodes"]}) == 1 and len(d["nodes"]) == 4, d
v = d["voucher"]
paid = sum(o["amount_fen"] for o in ds["orders"] if o["result"] == "certified")
assert v["remaining_fen"] == v["face_fen"] - 2000000 - paid and v["verified"] is True, v
print(v["id"], v["remaining_fen"])
PY
demo_voucher=$(python3 "$work/demo.py" "$work/demo_json.out")
check "demo --json summary: a proof, one or no certificate, the same digest everywhere" [ -n "$demo_voucher" ]

# ---- --devnet on the network commands -----------------------------------------------------------

run status 30 status --devnet "$dir" --json
check "status --devnet: exit 0" [ "$rc" -eq 0 ]
check "status --devnet: all four nodes answer" \
  [ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["reachable"])' "$work/status.out" 2>/dev/null)" = 4 ]
firm2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["holders"][1]["pubkey"])' "$dir/devnet.json")
run issue 30 issue --devnet "$dir" --issuer-key "$dir/keys/chengdu.key" --holder "$firm2" \
  --value-fen 777700 --json
check "issue --devnet: exit 0" [ "$rc" -eq 0 ]
voucher=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["vouchers"][0])' "$work/issue.out" 2>/dev/null)
run query 30 query --devnet "$dir" --voucher "$voucher" --json
all_of_1() { [ "$rc" -eq 0 ] && \
  [ "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["account"]["remaining_fen"], all(c["verified"] for c in d["certificates"]))' "$work/query.out")" = "777700 True" ]; }
check "query --devnet: the new voucher, verified" all_of_1
# An issuer with more certificates than one reply's page (about 256 KiB,
# docs/protocol.md 6): 16 ISSUEs of 256 vouchers more; query pages through
# all of them, and --from-seq/--count give a slice.
issued_ok=0
for i in $(seq 1 16); do
  run issue_many 30 issue --devnet "$dir" --issuer-key "$dir/keys/chengdu.key" --holder "$firm2" \
    --value-fen 100 --count 256 --json && issued_ok=$((issued_ok + 1))
done
check "16 ISSUEs of 256 vouchers by one issuer" [ "$issued_ok" = 16 ]
run query_issuer 60 query --devnet "$dir" --issuer chengdu --json
all_of_pages() { [ "$rc" -eq 0 ] && [ "$(python3 -c 'import json,sys
d = json.load(open(sys.argv[1])); c = d["certificates"]
n = d["account"]["next_seq"]
print(n == len(c) and n >= 17, [x["seq"] for x in c] == list(range(n)), all(x["verified"] for x in c))' \
  "$work/query_issuer.out")" = "True True True" ]; }
check "query --issuer: every certificate (16 ISSUEs of 256 are more than a page), in seq order, verified" all_of_pages
run query_slice 30 query --devnet "$dir" --issuer chengdu --from-seq 5 --count 3 --json
all_of_slice() { [ "$rc" -eq 0 ] && [ "$(python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
print(d["from_seq"], [x["seq"] for x in d["certificates"]])' \
  "$work/query_slice.out")" = "5 [5, 6, 7]" ]; }
check "query --from-seq 5 --count 3: seqs 5, 6, 7 and the state" all_of_slice
ep2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["nodes"][1]["client_endpoint"])' "$dir/devnet.json")
run status2 30 status --devnet "$dir" --node "$ep2" --json
check "an explicit --node wins over --devnet" \
  [ "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["nodes"]), d["nodes"][0]["node_id"])' "$work/status2.out" 2>/dev/null)" = "1 node2" ]
run status3 30 status --devnet "$dir" --genesis "$work/no-such-genesis.json"
all_of_2() { [ "$rc" -eq 1 ] && has status3.err 'no-such-genesis'; }
check "an explicit --genesis wins over --devnet" all_of_2
run status4 30 status --devnet "$work/nowhere"
all_of_3() { [ "$rc" -eq 1 ] && has status4.err 'no devnet here'; }
check "--devnet of a directory without devnet.json: exit 1, says so" all_of_3
run dstatus 30 devnet status --dir "$dir"
all_of_4() { [ "$rc" -eq 0 ] && has dstatus.out 'same state digest'; }
check "devnet status: exit 0, the same digest everywhere" all_of_4

# ---- up while running; down; down again ------------------------------------------------------------

run up2 30 devnet up --dir "$dir" --voucherd "$voucherd"
all_of_5() { [ "$rc" -eq 1 ] && has up2.err 'already holds a running devnet'; }
check "up on a running devnet: exit 1, says it runs" all_of_5
check "... and changes nothing" [ "$(pids_of)" = "$pids1" ]
run down 60 devnet down --dir "$dir"
check "down: exit 0" [ "$rc" -eq 0 ]
# shellcheck disable=SC2086
check "down: every pid is gone" wait_gone 5 $pids1
check "down: devnet.json says pid 0" [ "$(pids_of)" = "0 0 0 0" ]
stopped=0
for i in 1 2 3 4; do grep -q 'event=stopped exit=0' "$dir/nodes/node$i/voucherd.log" && stopped=$((stopped + 1)); done
check "down: every node stopped cleanly (exit 0 logged)" [ "$stopped" -eq 4 ]
run down2 60 devnet down --dir "$dir"
all_of_6() { [ "$rc" -eq 0 ] && has down2.out 'already stopped'; }
check "down again: exit 0, already stopped" all_of_6
run status5 30 status --devnet "$dir" --timeout-ms 300
check "status --devnet of a stopped devnet: exit 3" [ "$rc" -eq 3 ]

# ---- up again: the same network, with its state ---------------------------------------------------

genesis_sum=$(sha256sum "$dir/genesis.json")
run up3 60 devnet up --dir "$dir" --voucherd "$voucherd"
record_pids
all_of_7() { [ "$rc" -eq 0 ] && has up3.out 'restarted on its data'; }
check "up after down: exit 0, restarted" all_of_7
check "... the same genesis" [ "$(sha256sum "$dir/genesis.json")" = "$genesis_sum" ]
check "... devnet.json still has its shape" python3 "$work/check.py" "$dir/devnet.json" "$base" "$dir"
pids2=$(pids_of)
all_alive=true
for p in $pids2; do alive "$p" || all_alive=false; done
check "... new pids, alive" $all_alive
run query2 30 query --devnet "$dir" --voucher "$voucher" --json
all_of_8() { [ "$rc" -eq 0 ] && \
  [ "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["account"]["remaining_fen"], all(c["verified"] for c in d["certificates"]))' "$work/query2.out")" = "777700 True" ]; }
check "... a voucher issued before is there, verified" all_of_8
set -- $demo_voucher
demo_remaining=$2
run query3 30 query --devnet "$dir" --voucher "$1" --json
all_of_9() { [ "$rc" -eq 0 ] && \
  [ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["account"]["remaining_fen"])' "$work/query3.out")" = "$demo_remaining" ]; }
check "... and the demo's voucher with its remaining value" all_of_9

# ---- a lost quorum, with every timeout at its default ------------------------------------
# The nodes answer an order they cannot finish at their client_timeout_ms
# (5000 by default); voucherctl's default timeout must outlast it, or the
# user reads "no node answered" (exit 3) where the answer is NO_QUORUM.
set -- $pids2
kill -STOP "$3" "$4"
holder_key=$(dn 'd["holders"][1]["key_file"]')
provider_key=$(dn 'd["providers"][0]["key_file"]')
run noq 40 redeem --devnet "$dir" --voucher "$voucher" --amount-fen 700 \
  --holder-key "$holder_key" --provider-key "$provider_key" --json
kill -CONT "$3" "$4"
all_of_12() { [ "$rc" -eq 1 ] && [ "$(py "$work/noq.out" 'd["error"]["code"]')" = NO_QUORUM ]; }
check "two of four voters stopped, default timeouts: NO_QUORUM (exit 1), not 'no node answered'" \
  all_of_12
run noq2 40 redeem --devnet "$dir" --voucher "$voucher" --amount-fen 700 \
  --holder-key "$holder_key" --provider-key "$provider_key" --json
all_of_13() { [ "$rc" -eq 0 ] && [ "$(py "$work/noq2.out" 'd["resubmitted_recorded_order"]')" = True ]; }
check "... resumed, the same command resubmits the recorded order and is certified" all_of_13

# ---- checked before signing; a half-signed order submitted -----------------------------
slots_of_holder="$holder_key.slots"
# every node has applied the redemption of 700 (the checks read node1's state)
applied_everywhere() {
  run st 10 status --devnet "$dir" --json
  [ "$(py "$work/st.out" 'len({n.get("status", {}).get("state_digest") for n in d["nodes"]}) == 1 and d["reachable"] == 4')" = True ] &&
    run q 10 query --devnet "$dir" --voucher "$voucher" --json &&
    [ "$(py "$work/q.out" 'd["account"]["remaining_fen"]')" = 777000 ]
}
check "the redemption of 700 is applied on every node" wait_for 20 applied_everywhere
nrec_before=$(ls "$slots_of_holder" | wc -l)
run over 30 redeem --devnet "$dir" --voucher "$voucher" --amount-fen 777001 \
  --holder-key "$holder_key" --provider-key "$provider_key" --json
all_of_14() { [ "$rc" -eq 1 ] && \
  [ "$(py "$work/over.out" 'd["error"]["code"], d["error"]["detail"], "nothing signed, no slot recorded" in d["error"]["message"]')" = "('INSUFFICIENT_BALANCE', 'OVERSPEND', True)" ]; }
check "an amount over the remaining 777000 fen: INSUFFICIENT_BALANCE before signing" all_of_14
check "... and no slot record left behind" [ "$(ls "$slots_of_holder" | wc -l)" = "$nrec_before" ]
provider_pub=$(dn 'd["providers"][0]["pubkey"]')
run half_build 30 build-redeem --devnet "$dir" --voucher "$voucher" --provider "$provider_pub" \
  --amount-fen 1 --out "$work/half_u.bin"
run half_sign 30 sign --genesis "$dir/genesis.json" --key "$holder_key" --slot holder \
  --in "$work/half_u.bin" --out "$work/half_h.bin" --no-slot-guard
run half_submit 30 submit --devnet "$dir" --in "$work/half_h.bin" --json
all_of_15() { [ "$rc" -eq 1 ] && \
  [ "$(py "$work/half_submit.out" 'd["error"]["code"], "the provider signature slot is empty" in d["error"]["message"]')" = "('BAD_SIG', True)" ]; }
check "a half-signed order submitted: BAD_SIG, saying the provider slot is empty" all_of_15
run fits 30 redeem --devnet "$dir" --voucher "$voucher" --amount-fen 777000 \
  --holder-key "$holder_key" --provider-key "$provider_key" --json
check "the corrected amount (777000) is certified at once, not refused SLOT_GUARD" [ "$rc" -eq 0 ]
# ---- a retry after the order completed by itself: --invoice-hash (tools/ctl_orders.c note 5) ----
# Two voters stopped: NO_QUORUM, and the message names the recorded order.
# Resumed, the voters re-drive it and it completes with nobody resubmitting.
# Running the same redeem again with the same --invoice-hash resubmits that
# order (its certificate), where it used to sign a second one at the next
# seq: a second charge.
run iss2 30 issue --devnet "$dir" --issuer-key "$dir/keys/chengdu.key" --holder "$firm2" \
  --value-fen 10000 --json
voucher2=$(py "$work/iss2.out" 'd["vouchers"][0]')
invoice=$(printf '%064d' 42)
set -- $pids2
kill -STOP "$3" "$4"
run inv1 40 redeem --devnet "$dir" --voucher "$voucher2" --amount-fen 300 --invoice-hash "$invoice" \
  --holder-key "$holder_key" --provider-key "$provider_key"
kill -CONT "$3" "$4"
all_of_16() { [ "$rc" -eq 1 ] && has inv1.err 'NO_QUORUM' && \
  has inv1.err "voucherctl submit --in $slots_of_holder/[0-9a-f]{64}-0.order" && has inv1.err 'second charge'; }
check "a redemption with two voters stopped: NO_QUORUM, naming the recorded order to resubmit" all_of_16
completed() {
  run q2 10 query --devnet "$dir" --voucher "$voucher2" --json &&
    [ "$(py "$work/q2.out" 'd["account"]["remaining_fen"]')" = 9700 ]
}
check "... resumed, the voters re-drive it: it completes by itself (9700 left)" wait_for 60 completed
run inv2 40 redeem --devnet "$dir" --voucher "$voucher2" --amount-fen 300 --invoice-hash "$invoice" \
  --holder-key "$holder_key" --provider-key "$provider_key" --json
all_of_17() { [ "$rc" -eq 0 ] && \
  [ "$(py "$work/inv2.out" 'd["resubmitted_recorded_order"], d["same_invoice_seq"], d["certificate"]["seq"]')" = "(True, 0, 0)" ]; }
check "the same redeem again, same --invoice-hash: its certificate at seq 0, nothing signed" all_of_17
run q3 10 query --devnet "$dir" --voucher "$voucher2" --json
check "... one charge: still 9700 left" [ "$(py "$work/q3.out" 'd["account"]["remaining_fen"]')" = 9700 ]
run inv3 40 redeem --devnet "$dir" --voucher "$voucher2" --amount-fen 200 --invoice-hash "$invoice" \
  --holder-key "$holder_key" --provider-key "$provider_key" --json
all_of_18() { [ "$rc" -eq 1 ] && [ "$(py "$work/inv3.out" 'd["error"]["code"]')" = SLOT_GUARD ]; }
check "the same --invoice-hash for another amount: refused SLOT_GUARD, nothing signed" all_of_18

# ---- a node restarted by hand (the drills of docs/devnet.md) ----------------------------------
# Started from its directory with a relative --config: status shows its
# pid, up refuses while it runs, down stops it (ctl_devnet.c note 4).
p4=$(py "$dir/devnet.json" 'd["nodes"][3]["pid"]')
kill -TERM "$p4"
check "node4 stopped (SIGTERM)" wait_gone 20 "$p4"
(cd "$dir/nodes/node4" && exec "$voucherd" --config config.json >>"$work/hand4.log" 2>&1) &
hand4=$!
echo "$hand4" >>"$work/pids" # the EXIT trap stops it if a check below fails
hand_seen() {
  run dst 30 devnet status --dir "$dir" --json &&
    [ "$(py "$work/dst.out" '[(n["running"], n["reachable"], n["started_by_hand"], n["pid"], n["role"]) for n in d["nodes"]][3]')" = "(True, True, True, $hand4, 'voter')" ]
}
check "devnet status: node4 started by hand is running and answering, with its pid, exit 0" \
  wait_for 30 hand_seen
run dst_text 30 devnet status --dir "$dir"
check "... and the text says so" \
  eval 'grep -qF "pid $hand4 (by hand)" "$work/dst_text.out" && has dst_text.out "4 of 4 nodes running, 4 answering"'
run uphand 30 devnet up --dir "$dir" --voucherd "$voucherd"
all_of_hand() { [ "$rc" -eq 1 ] && has uphand.err "node4 \\(pid $hand4, started by hand\\)"; }
check "up while node4 runs by hand: exit 1, names it" all_of_hand
[ "$rc" -eq 1 ] || cat "$work/uphand.err"

run down3 60 devnet down --dir "$dir" --json
check "down: exit 0" [ "$rc" -eq 0 ]
check "down: node4 started by hand is stopped too" \
  [ "$(py "$work/down3.out" '[(n["pid"], n["outcome"]) for n in d["nodes"]][3]')" = "($hand4, 'stopped')" ]
wait "$hand4" 2>/dev/null # reap it: it is this shell's child
# shellcheck disable=SC2086
check "down: every pid is gone" wait_gone 5 $pids2 "$hand4"
# A process that is not a voucherd but names one and node4's config (an
# editor of it would) is not taken for node4.
python3 -c 'import time; time.sleep(60)' voucherd --config "$dir/nodes/node4/config.json" &
impostor=$!
echo "$impostor" >>"$work/pids"
run dst_imp 30 devnet status --dir "$dir" --json
check "status: a python3 naming voucherd and node4's config is not node4 running" \
  [ "$(py "$work/dst_imp.out" 'd["nodes"][3]["running"]')" = False ]
run down_imp 30 devnet down --dir "$dir"
check "down leaves it alone" alive "$impostor"
kill "$impostor"; wait "$impostor" 2>/dev/null

# ---- what up refuses ---------------------------------------------------------------------------------

mkdir -p "$work/busy" && touch "$work/busy/notes.txt"
run busy 30 devnet up --dir "$work/busy" --voucherd "$voucherd"
all_of_10() { [ "$rc" -eq 1 ] && has busy.err 'not empty'; }
check "up in a non-empty directory without devnet.json: exit 1" all_of_10
check "... and leaves it alone" [ "$(ls -A "$work/busy")" = "notes.txt" ]
run nod 30 devnet up --dir "$work/other" --voucherd "$work/no-voucherd"
all_of_11() { [ "$rc" -eq 1 ] && has nod.err 'no-voucherd'; }
check "up with a --voucherd that does not exist: exit 1, names it" all_of_11
run usage 30 devnet up --dir "$work/other" --voters 0
check "up --voters 0: exit 2" [ "$rc" -eq 2 ]

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
