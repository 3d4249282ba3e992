#!/usr/bin/env bash
# voucherctl_test.sh - voucherctl end to end, the way the README quick start
# uses it: keys for 4 nodes, 2 issuers, 1 provider and a holder; a genesis
# assembled from their public keys; a signed demo order that verifies; and
# the failures an operator must see (a tampered order, a key file others can
# read, an impossible max_faulty, usage errors).
#
# usage: voucherctl_test.sh PATH_TO_VOUCHERCTL [PATH_TO_MAKE_FIXTURES]
# With make_fixtures, also inspects one of every wire object (and tampered
# copies) against the genesis.
# Prints "N passed, N failed"; exits non-zero on any failure.
set -u

vctl=${1:?usage: voucherctl_test.sh PATH_TO_VOUCHERCTL [PATH_TO_MAKE_FIXTURES]}
fixtures=${2:-}
dir=$(mktemp -d "${TMPDIR:-/tmp}/voucherctl_test.XXXXXX")
trap 'rm -rf "$dir"' EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

# run NAME ARGS...: run voucherctl with stdout in $dir/NAME.out, stderr in
# $dir/NAME.err; sets $rc.
run() {
    local name=$1
    shift
    "$vctl" "$@" >"$dir/$name.out" 2>"$dir/$name.err"
    rc=$?
}

# expect_rc NAME WANT: the last run's exit status.
expect_rc() {
    if [ "$rc" -eq "$2" ]; then pass; else
        fail "$1: exit $rc, want $2; stderr: $(cat "$dir/$1.err")"
    fi
}

# expect_err NAME TEXT: the last run's stderr contains TEXT.
expect_err() {
    if grep -qF -- "$2" "$dir/$1.err"; then pass; else
        fail "$1: stderr lacks \"$2\": $(cat "$dir/$1.err")"
    fi
}

# json FILE EXPR: evaluate a Python expression over the JSON in FILE (as d).
json() {
    python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
        "$1" "$2" 2>/dev/null
}

# expect_json NAME EXPR WANT: json($dir/NAME.out, EXPR) prints WANT.
expect_json() {
    local got
    got=$(json "$dir/$1.out" "$2")
    if [ "$got" = "$3" ]; then pass; else fail "$1: $2 = \"$got\", want \"$3\""; fi
}

mode_of() { stat -c %a "$1"; }

# flip IN OUT OFFSET: copy IN to OUT with one bit of byte OFFSET (may be
# negative: from the end) flipped.
flip() {
    python3 -c 'import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[int(sys.argv[3])] ^= 0x01
open(sys.argv[2], "wb").write(b)' "$1" "$2" "$3"
}

# ---- keys ------------------------------------------------------------------------

for n in 1 2 3 4; do
    run "keygen-n$n" keygen --out "$dir/n$n.key" --node --json
    expect_rc "keygen-n$n" 0
    cp "$dir/keygen-n$n.out" "$dir/n$n.pub.json"
done
for who in i1 i2 p1 holder; do
    run "keygen-$who" keygen --out "$dir/$who.key" --json
    expect_rc "keygen-$who" 0
    cp "$dir/keygen-$who.out" "$dir/$who.pub.json"
done
expect_json keygen-n1 'len(d["pubkey"]) == 64 and len(d["curve_pubkey"]) == 40' True
expect_json keygen-holder '"curve_pubkey" in d' False
expect_json keygen-holder 'd["key_file"].endswith("holder.key")' True

for f in n1 n2 n3 n4 i1 i2 p1 holder; do
    if [ "$(mode_of "$dir/$f.key")" = 600 ]; then pass; else
        fail "$f.key has mode $(mode_of "$dir/$f.key"), want 600"
    fi
done

run keygen-again keygen --out "$dir/n1.key" --node
expect_rc keygen-again 1
expect_err keygen-again "never overwritten"

# ---- genesis ------------------------------------------------------------------------

i1_hex=$(json "$dir/i1.pub.json" 'd["pubkey"]')
members=(--node "sh-node,310000,$dir/n1.pub.json,tcp://127.0.0.1:7001,tcp://127.0.0.1:7101,voter"
    --node "bj-node,110000,$dir/n2.pub.json,tcp://127.0.0.1:7002,tcp://127.0.0.1:7102,voter"
    --node "gz-dc1-node,520000,$dir/n3.pub.json,tcp://127.0.0.1:7003,tcp://127.0.0.1:7103,voter"
    --node "nx-dc1-node,640000,$dir/n4.key,tcp://127.0.0.1:7004,tcp://127.0.0.1:7104,voter"
    --issuer "shanghai,310000,$i1_hex,60000000000"
    --issuer "beijing,110000,$dir/i2.pub.json,25000000000"
    --provider "guizhou-dc1,520000,$dir/p1.key")

run genesis genesis --network quickstart-net "${members[@]}" --max-faulty 1 --out "$dir/genesis.json" --json
expect_rc genesis 0
expect_json genesis 'd["voters"], d["quorum"]' "(4, 3)"
expect_json genesis 'len(d["network_id"])' 64
network_id=$(json "$dir/genesis.out" 'd["network_id"]')

run inspect-genesis inspect "$dir/genesis.json" --json
expect_rc inspect-genesis 0
expect_json inspect-genesis 'd["network_id"]' "$network_id"
expect_json inspect-genesis '[n["id"] for n in d["nodes"]]' \
    "['bj-node', 'gz-dc1-node', 'nx-dc1-node', 'sh-node']"

run genesis-f2 genesis --network quickstart-net "${members[@]}" --max-faulty 2 --out "$dir/bad.json"
expect_rc genesis-f2 1
expect_err genesis-f2 "max_faulty: 4 voters tolerate at most 1 faulty"
if [ ! -e "$dir/bad.json" ]; then pass; else fail "a rejected genesis was written"; fi

run genesis-hexnode genesis --network x --max-faulty 0 --out "$dir/bad.json" \
    --node "a,310000,$i1_hex,tcp://a:1,tcp://a:2,voter"
expect_rc genesis-hexnode 1
expect_err genesis-hexnode "curve_pubkey"

run genesis-dupkey genesis --network x --max-faulty 0 --out "$dir/bad.json" \
    --node "a,310000,$dir/n1.pub.json,tcp://a:1,tcp://a:2,voter" \
    --issuer "b,310000,$dir/n1.pub.json,100"
expect_rc genesis-dupkey 1
expect_err genesis-dupkey "issuers[0].pubkey: same key as nodes[0].pubkey"

# ---- a signed order -------------------------------------------------------------------

run sign-demo sign-demo --genesis "$dir/genesis.json" --issuer-key "$dir/i1.pub.json" \
    --holder-key "$dir/holder.key" --provider-key "$dir/p1.key" --out "$dir/order.bin" --json
expect_rc sign-demo 0
order_hash=$(json "$dir/sign-demo.out" 'd["order_hash"]')

run inspect-order inspect "$dir/order.bin" --genesis "$dir/genesis.json" --json
expect_rc inspect-order 0
expect_json inspect-order 'd["verified"]["ok"]' True
expect_json inspect-order 'd["type"], d["kind"], d["amount_fen"], d["serial"]' \
    "('order', 'redeem', 100000, 1)"
expect_json inspect-order 'd["order_hash"]' "$order_hash"
expect_json inspect-order 'd["network_id"]' "$network_id"
expect_json inspect-order 'd["issuer_id"], d["provider_id"]' "('shanghai', 'guizhou-dc1')"

# the last byte belongs to the provider's signature: it still decodes, but
# must not verify
flip "$dir/order.bin" "$dir/flipped.bin" -1
run inspect-flipped inspect "$dir/flipped.bin" --genesis "$dir/genesis.json" --json
if [ "$rc" -ne 0 ]; then pass; else fail "a flipped signature byte verified"; fi
expect_json inspect-flipped 'd["verified"]["ok"], d["verified"]["error"]' "(False, 'bad_sig')"
expect_err inspect-flipped "VL_ERR_BAD_SIG"

run inspect-flipped-nogen inspect "$dir/flipped.bin" --json
expect_rc inspect-flipped-nogen 0
expect_json inspect-flipped-nogen '"verified" in d' False

# a flipped byte in the signed part changes the order hash: no signature fits
flip "$dir/order.bin" "$dir/flipped2.bin" 40
run inspect-flipped2 inspect "$dir/flipped2.bin" --genesis "$dir/genesis.json"
if [ "$rc" -ne 0 ]; then pass; else fail "a flipped order byte verified"; fi

# the same order checked against another network's genesis
run genesis-other genesis --network other-net "${members[@]}" --max-faulty 1 \
    --out "$dir/other.json"
expect_rc genesis-other 0
run inspect-other inspect "$dir/order.bin" --genesis "$dir/other.json" --json
expect_rc inspect-other 1
expect_json inspect-other 'd["verified"]["error"]' wrong_network

run inspect-garbage inspect "$dir/n1.key.missing"
expect_rc inspect-garbage 1
printf '\001\020\000' >"$dir/short.bin"
run inspect-short inspect "$dir/short.bin"
expect_rc inspect-short 1
expect_err inspect-short "VL_ERR_TRUNCATED"

# ---- every wire object through inspect ---------------------------------------------------

inspect_fixtures() {
    local fx=$dir/fx f name entry_hash redeem_account redeem_hash
    mkdir "$fx"
    if "$fixtures" "$dir/genesis.json" "$fx" "$dir/i1.key" "$dir/holder.key" "$dir/p1.key" \
        "$dir/n1.key" "$dir/n2.key" "$dir/n3.key" "$dir/n4.key" 2>"$dir/fx.err"; then pass; else
        fail "make_fixtures: $(cat "$dir/fx.err")"
        return
    fi
    for f in "$fx"/*.bin; do
        name=fx-$(basename "$f" .bin)
        run "$name" inspect "$f" --genesis "$dir/genesis.json" --json
        case $name in
            fx-cert_short|fx-msg_client_submit_half) expect_rc "$name" 1 ;;
            *) expect_rc "$name" 0 ;;
        esac
        run "$name-nogen" inspect "$f" --json
        expect_rc "$name-nogen" 0
    done
    expect_json fx-cert_short 'd["verified"]["error"]' quorum
    # a message holding a half-signed order: the summary says unsigned as the order does
    expect_json fx-msg_client_submit_half \
        'd["verified"]["error"], d["verified"]["message"], d["items"][0]["verified"]["error"]' \
        "('unsigned', 'not signed yet: empty signature slot(s): provider', 'unsigned')"
    expect_json fx-cert 'len(d["votes"]), d["order"]["kind"], d["verified"]["ok"]' \
        "(4, 'redeem', True)"
    expect_json fx-issue 'len(d["vouchers"]), d["verified"]["ok"]' "(2, True)"
    expect_json fx-revoke 'd["reason"], d["serial"], d["verified"]["ok"]' \
        "('demo revocation', 2, True)"
    expect_json fx-batch_vote 'd["verified"]["ok"]' True
    # every vote's path leads from the REDEEM's vote leaf to the batch's root
    expect_json fx-cert '{v["root"] for v in d["votes"]}' \
        "{'$(json "$dir/fx-batch_vote.out" 'd["root"]')'}"
    expect_json fx-entry 'd["verified"]["ok"], d["cert"]["verified"]["ok"]' "(True, True)"
    expect_json fx-entry 'd["prev_hash"]' "$network_id"
    entry_hash=$(json "$dir/fx-entry.out" 'd["entry_hash"]')
    expect_json fx-checkpoint 'd["verified"]["ok"], d["log_index"], d["entry_hash"]' \
        "(True, 1, '$entry_hash')"
    expect_json fx-msg_log_reply 'd["items"][0]["entry_hash"], d["verified"]["ok"]' \
        "('$entry_hash', True)"
    redeem_account=$(json "$dir/fx-redeem.out" 'd["account_id"]')
    expect_json fx-account_voucher 'd["kind"], d["remaining_fen"], d["status"], d["account_id"]' \
        "('voucher', 400000, 'active', '$redeem_account')"
    expect_json fx-account_issuer 'd["kind"], d["issuer_id"]' "('issuer', 'shanghai')"
    # a summary restates its entry: the entry's hash, the REDEEM's slot and
    # order hash; it carries no signature, so nothing is "verified"
    redeem_hash=$(json "$dir/fx-redeem.out" 'd["order_hash"]')
    expect_json fx-summary 'd["type"], d["index"], d["entry_hash"], "verified" in d' \
        "('summary', 1, '$entry_hash', False)"
    expect_json fx-summary 'd["account_id"], d["seq"], d["order_hash"]' \
        "('$redeem_account', 0, '$redeem_hash')"
    expect_json fx-msg_summary_request 'd["type"], d["from_index"], d["max_items"]' \
        "('summary_request', 1, 100)"
    expect_json fx-msg_summary_reply \
        'd["type"], d["log_head"], d["items"][0]["type"], d["items"][0]["entry_hash"]' \
        "('summary_reply', 1, 'summary', '$entry_hash')"
    expect_json fx-msg_vote_reply 'd["verified"]["ok"], [a["kind"] for a in d["answers"]]' \
        "(True, ['behind', 'rejected', 'conflict', 'certified'])"
    expect_json fx-msg_vote_request '[o["kind"] for o in d["items"]]' \
        "['issue', 'redeem', 'revoke']"
    expect_json fx-msg_client_status 'd["status"]["flags"]' "['voter', 'in_quorum']"
    expect_json fx-msg_client_error 'd["error"], d["text"], d["items"][0]["kind"]' \
        "('conflict', 'another order holds this slot', 'revoke')"
    expect_json fx-msg_client_account 'd["account"]["kind"], len(d["items"])' "('voucher', 1)"
    expect_json fx-genesis 'd["form"], d["network_id"]' "('binary', '$network_id')"

    # the binary genesis serves as well as the JSON one
    run fx-bin-genesis inspect "$fx/cert.bin" --genesis "$fx/genesis.bin" --json
    expect_json fx-bin-genesis 'd["verified"]["ok"]' True
    # the last byte of a certificate is its last vote's signature
    flip "$fx/cert.bin" "$fx/cert_bad.bin" -1
    run fx-cert-bad inspect "$fx/cert_bad.bin" --genesis "$dir/genesis.json" --json
    expect_rc fx-cert-bad 1
    expect_json fx-cert-bad 'd["verified"]["error"]' bad_sig
    flip "$fx/msg_log_reply.bin" "$fx/log_bad.bin" -1
    run fx-log-bad inspect "$fx/log_bad.bin" --genesis "$dir/genesis.json" --json
    expect_rc fx-log-bad 1
    expect_json fx-log-bad 'd["verified"]["ok"], d["items"][0]["cert"]["verified"]["error"]' \
        "(False, 'bad_sig')"
    flip "$fx/checkpoint.bin" "$fx/checkpoint_bad.bin" -1
    run fx-checkpoint-bad inspect "$fx/checkpoint_bad.bin" --genesis "$dir/genesis.json"
    expect_rc fx-checkpoint-bad 1
}
if [ -n "$fixtures" ]; then inspect_fixtures; fi

# ---- key file permissions ------------------------------------------------------------------

chmod 644 "$dir/holder.key"
run sign-demo-644 sign-demo --genesis "$dir/genesis.json" --issuer-key "$dir/i1.pub.json" \
    --holder-key "$dir/holder.key" --provider-key "$dir/p1.key" --out "$dir/order2.bin"
expect_rc sign-demo-644 1
expect_err sign-demo-644 "(chmod 600) (keyfile_perms)"
if [ ! -e "$dir/order2.bin" ]; then pass; else fail "an order was signed with a 0644 key"; fi
chmod 600 "$dir/holder.key"

# a provider that is not in the genesis
run sign-demo-stranger sign-demo --genesis "$dir/genesis.json" --issuer-key "$i1_hex" \
    --holder-key "$dir/holder.key" --provider-key "$dir/i2.key" --out "$dir/order3.bin"
expect_rc sign-demo-stranger 1
expect_err sign-demo-stranger "not a provider"

# ---- orders without a network: slot guard, split flow --------------------------------------
# No node runs here: the genesis' client endpoints are ports nobody listens
# on, so every submission ends with exit 3 (no node reached) AFTER the slot
# record was made.  What is checked is what a holder's machine does.

unreach=(--node tcp://127.0.0.1:1 --timeout-ms 50)
slots=$dir/holder.key.slots
redeem1=(redeem --genesis "$dir/genesis.json" --issuer shanghai --serial 7 --seq 0
    --holder-key "$dir/holder.key" --provider-key "$dir/p1.key" "${unreach[@]}")

run redeem-first "${redeem1[@]}" --amount-fen 5000 --gpu-hours 2.5 --json
expect_rc redeem-first 3
expect_json redeem-first 'd["error"]["code"]' UNAVAILABLE
nrec=$(ls "$slots" 2>/dev/null | wc -l)
if [ "$nrec" = 1 ]; then pass; else fail "slot records after one redeem: $nrec, want 1"; fi
rec=$(ls "$slots"/*-0.order 2>/dev/null | head -1)
if [ -n "$rec" ] && [ "$(mode_of "$rec")" = 600 ]; then pass; else fail "slot record missing or not mode 600"; fi
cp "$rec" "$dir/rec.before"

run inspect-rec inspect "$rec" --genesis "$dir/genesis.json" --json
expect_json inspect-rec 'd["verified"]["ok"], d["amount_fen"], d["gpu_milli_hours"], d["seq"]' \
    "(True, 5000, 2500, 0)"

# the same redemption again: the recorded bytes, unchanged
run redeem-retry "${redeem1[@]}" --amount-fen 5000 --gpu-hours 2.5
expect_rc redeem-retry 3
expect_err redeem-retry "resubmitting the order recorded for this slot"
if cmp -s "$rec" "$dir/rec.before"; then pass; else fail "the slot record changed on a retry"; fi

# a different redemption for the same slot: refused, record untouched
run redeem-other "${redeem1[@]}" --amount-fen 6000 --gpu-hours 2.5 --json
expect_rc redeem-other 1
expect_json redeem-other 'd["error"]["code"], d["error"]["evidence"]["amount_fen"]' "('SLOT_GUARD', 5000)"
expect_err redeem-other "DIFFERENT order is already signed for this slot"
# ...and says what to do when the recorded order is refused for good
expect_json redeem-other '"refuse the recorded order for good" in d["error"]["message"] and "docs/clients.md section 3" in d["error"]["message"]' True
run redeem-other-invoice "${redeem1[@]}" --amount-fen 5000 --gpu-hours 2.5 \
    --invoice-hash 0000000000000000000000000000000000000000000000000000000000000001
expect_rc redeem-other-invoice 1
if cmp -s "$rec" "$dir/rec.before"; then pass; else fail "a refused redemption changed the record"; fi
nrec=$(ls "$slots" | wc -l)
if [ "$nrec" = 1 ]; then pass; else fail "slot records: $nrec, want 1"; fi

# --no-slot-guard (a cheating holder, for tests): signs anyway, records nothing
run redeem-cheat "${redeem1[@]}" --amount-fen 6000 --no-slot-guard
expect_rc redeem-cheat 3
nrec=$(ls "$slots" | wc -l)
if [ "$nrec" = 1 ]; then pass; else fail "--no-slot-guard wrote a record"; fi

# the next slot of the same voucher is a new slot
run redeem-seq1 "${redeem1[@]}" --amount-fen 6000 --seq 1   # --seq twice
expect_rc redeem-seq1 2
expect_err redeem-seq1 "--seq given twice"
run redeem-seq1b redeem --genesis "$dir/genesis.json" --issuer shanghai --serial 7 --seq 1 \
    --holder-key "$dir/holder.key" --provider-key "$dir/p1.key" "${unreach[@]}" --amount-fen 6000
expect_rc redeem-seq1b 3
nrec=$(ls "$slots" | wc -l)
if [ "$nrec" = 2 ]; then pass; else fail "slot records after seq 1: $nrec, want 2"; fi

# the split flow: build (unsigned), sign by the holder, sign by the provider
holder_hex=$(json "$dir/holder.pub.json" 'd["pubkey"]')
build=(build-redeem --genesis "$dir/genesis.json" --issuer shanghai --serial 8 --seq 0
    --holder "$holder_hex" --provider "$dir/p1.pub.json" --amount-fen 1234 --gpu-hours 3
    --out "$dir/u.bin" "${unreach[@]}")
run build-redeem "${build[@]}" --json
expect_rc build-redeem 0
expect_json build-redeem 'd["order"]["sigs"][0] == "0" * 128' True
run inspect-unsigned inspect "$dir/u.bin" --genesis "$dir/genesis.json" --json
expect_rc inspect-unsigned 1 # it does not verify; it says why: both slots empty
expect_json inspect-unsigned 'd["verified"]["error"], d["verified"]["message"]' \
    "('unsigned', 'not signed yet: empty signature slot(s): holder, provider')"
if grep -q "not signed yet: empty signature slot(s): holder, provider" "$dir/inspect-unsigned.err"; then
    pass
else
    fail "inspect-unsigned: stderr does not name the empty slots: $(cat "$dir/inspect-unsigned.err")"
fi
run sign-holder sign --genesis "$dir/genesis.json" --key "$dir/holder.key" --slot holder \
    --in "$dir/u.bin" --out "$dir/h.bin" --json
expect_rc sign-holder 0
expect_json sign-holder 'd["complete"], d["reused_recorded_signature"]' "(False, False)"
run inspect-half inspect "$dir/h.bin" --genesis "$dir/genesis.json" --json
expect_rc inspect-half 1
expect_json inspect-half 'd["verified"]["error"], d["verified"]["message"]' \
    "('unsigned', 'not signed yet: empty signature slot(s): provider')"
# the holder's signature damaged in transit: inspect says bad_sig (not unsigned), and the
# provider refuses to sign it (its slot guard would commit it to an order no node accepts)
python3 - "$dir/h.bin" "$dir/hbad.bin" "$(json "$dir/inspect-half.out" 'd["sigs"][0]')" <<'PY'
import sys
raw = open(sys.argv[1], "rb").read()
sig = bytes.fromhex(sys.argv[3])
at = raw.index(sig)
open(sys.argv[2], "wb").write(raw[:at] + bytes([raw[at] ^ 1]) + raw[at + 1:])
PY
run inspect-halfbad inspect "$dir/hbad.bin" --genesis "$dir/genesis.json" --json
expect_rc inspect-halfbad 1
expect_json inspect-halfbad 'd["verified"]["error"], d["verified"]["message"]' \
    "('bad_sig', 'the holder signature does not verify (empty slot(s): provider)')"
expect_err inspect-halfbad "verification failed: VL_ERR_BAD_SIG: the holder signature does not verify (empty slot(s): provider)"
run sign-provider-bad sign --genesis "$dir/genesis.json" --key "$dir/p1.key" --slot provider \
    --in "$dir/hbad.bin" --out "$dir/hpbad.bin"
expect_rc sign-provider-bad 1
expect_err sign-provider-bad "its holder signature does not verify: not signing"
if [ ! -e "$dir/hpbad.bin" ]; then pass; else fail "a refused co-signature wrote its output"; fi
run sign-provider sign --genesis "$dir/genesis.json" --key "$dir/p1.key" --slot provider \
    --in "$dir/h.bin" --out "$dir/hp.bin" --json
expect_rc sign-provider 0
expect_json sign-provider 'd["complete"]' True
run inspect-split inspect "$dir/hp.bin" --genesis "$dir/genesis.json" --json
expect_rc inspect-split 0
expect_json inspect-split 'd["verified"]["ok"], d["amount_fen"], d["gpu_milli_hours"]' "(True, 1234, 3000)"
# building again gives the same order (deterministic invoice hash)
run build-again "${build[@]/u.bin/u2.bin}" --json
expect_json build-again 'd["order"]["order_hash"]' "$(json "$dir/build-redeem.out" 'd["order"]["order_hash"]')"
# the holder signs the same order again: its recorded signature
run sign-holder-again sign --genesis "$dir/genesis.json" --key "$dir/holder.key" --slot holder \
    --in "$dir/u.bin" --out "$dir/h2.bin" --json
expect_rc sign-holder-again 0
expect_json sign-holder-again 'd["reused_recorded_signature"]' True
if cmp -s "$dir/h.bin" "$dir/h2.bin"; then pass; else fail "re-signing the same order changed it"; fi
# ...but never a different order for that slot
run build-other build-redeem --genesis "$dir/genesis.json" --issuer shanghai --serial 8 --seq 0 \
    --holder "$holder_hex" --provider "$dir/p1.pub.json" --amount-fen 4321 --out "$dir/u3.bin"
expect_rc build-other 0
run sign-holder-other sign --genesis "$dir/genesis.json" --key "$dir/holder.key" --slot holder \
    --in "$dir/u3.bin" --out "$dir/h3.bin" --json
expect_rc sign-holder-other 1
expect_json sign-holder-other 'd["error"]["code"]' SLOT_GUARD
# the record is half-signed: resubmitting it cannot work, co-signing it can
expect_json sign-holder-other '"half-signed (its provider slot is empty)" in d["error"]["message"] and "sign --slot provider --in" in d["error"]["message"] and "Resubmit" not in d["error"]["message"]' True
if [ ! -e "$dir/h3.bin" ]; then pass; else fail "a refused signature wrote its output"; fi
run sign-wrong-key sign --genesis "$dir/genesis.json" --key "$dir/p1.key" --slot holder \
    --in "$dir/u3.bin" --out "$dir/h4.bin"
expect_rc sign-wrong-key 1
expect_err sign-wrong-key "is not the holder key"
# the split-flow order submitted: no node reached
run submit-split submit --genesis "$dir/genesis.json" --in "$dir/hp.bin" "${unreach[@]}" --json
expect_rc submit-split 3
expect_json submit-split 'd["error"]["code"]' UNAVAILABLE
run submit-garbage submit --genesis "$dir/genesis.json" --in "$dir/genesis.json" "${unreach[@]}"
expect_rc submit-garbage 1

# the issuer's guard: a retry of the same issue is the same order, another is refused
issue=(issue --genesis "$dir/genesis.json" --issuer-key "$dir/i1.key" --holder "$holder_hex"
    --seq 0 --valid-from 1767225600 --count 3 --program sh-2026 "${unreach[@]}")
run issue-first "${issue[@]}" --value-fen 100000
expect_rc issue-first 3
run issue-retry "${issue[@]}" --value-fen 100000 --json
expect_rc issue-retry 3
run issue-other "${issue[@]}" --value-fen 100001 --json
expect_rc issue-other 1
expect_json issue-other 'd["error"]["code"], len(d["error"]["evidence"]["vouchers"])' "('SLOT_GUARD', 3)"
expect_json issue-other '[v["serial"] for v in d["error"]["evidence"]["vouchers"]]' "[1, 2, 3]"

# network commands with nobody listening: exit 3
run status-none status --genesis "$dir/genesis.json" "${unreach[@]}" --json
expect_rc status-none 3
expect_json status-none 'd["reachable"], d["nodes"][0]["reachable"]' "(0, False)"
run query-none query --genesis "$dir/genesis.json" --issuer shanghai "${unreach[@]}" --json
expect_rc query-none 3
run log-none log --genesis "$dir/genesis.json" "${unreach[@]}"
expect_rc log-none 3
run verify-log-none verify-log --genesis "$dir/genesis.json" "${unreach[@]}"
expect_rc verify-log-none 3
run verify-log-nodir verify-log --genesis "$dir/genesis.json" --data-dir "$dir/no-such-dir"
expect_rc verify-log-nodir 1
run usage-query query --genesis "$dir/genesis.json"
expect_rc usage-query 2
run usage-redeem redeem --genesis "$dir/genesis.json" --amount-fen 1 --holder-key "$dir/holder.key" \
    --provider-key "$dir/p1.key"
expect_rc usage-redeem 2
run usage-gpu "${redeem1[@]}" --amount-fen 5000 --gpu-hours 1.2345
expect_rc usage-gpu 2
run usage-timeout status --genesis "$dir/genesis.json" --timeout-ms 0
expect_rc usage-timeout 2

# ---- usage errors ------------------------------------------------------------------------------

run usage-none
expect_rc usage-none 2
run usage-unknown-cmd frobnicate
expect_rc usage-unknown-cmd 2
run usage-unknown-opt keygen --out "$dir/x.key" --nodes
expect_rc usage-unknown-opt 2
expect_err usage-unknown-opt "unknown option --nodes"
run usage-missing keygen
expect_rc usage-missing 2
expect_err usage-missing "missing --out"
run usage-spec genesis --network x --max-faulty 0 --out "$dir/bad.json" --node "a,310000"
expect_rc usage-spec 2
run help keygen --help
expect_rc help 0

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
