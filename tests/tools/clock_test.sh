#!/usr/bin/env bash
# clock_test.sh VOUCHERCTL VOUCHERD
#
# Clock faults on a `voucherctl devnet` of real voucherd processes (ports
# from $$ in 20800-22799, another base if a port is taken).  One voter at a
# time runs with its wall clock off by 10 minutes (libfaketime, LD_PRELOAD,
# FAKETIME=+10m / -10m, the monotonic clock left alone); clock_skew_ms is
# the default 5 minutes; f = 1, so one skewed voter is one fault:
#  1. node4 10 minutes AHEAD; voucher A valid until now + 150 s.  Redeemed
#     through node4, it is refused "voucher expired by this node's clock";
#     through node1 it certifies with the votes of node1..node3; a second
#     redemption of A is refused on every node (no double redemption);
#     node4 applies the certificate the others formed (same log length and
#     state digest everywhere).  node1 sees node4's clock: the metric
#     voucher_peer_clock_offset_seconds{peer="node4"} is about +600 and it
#     logs event=clock_skew peer=node4; node4 logs every peer about -600.
#  2. node4 back on the right time, node3 10 minutes BEHIND; voucher B
#     valid from now + 150 s.  Through node3: refused "voucher not yet valid
#     by this node's clock"; through node2 it certifies without node3's
#     vote; node3 applies it; digests converge; node1 sees node3 at -600.
# No libfaketime: exit 77 (skipped).  Every process started is killed on
# exit; every wait is bounded; the only times compared are the 10-minute
# offsets, against bounds of +-2 minutes.  Prints "N passed, N failed".
set -u
ctl=${1:?usage: clock_test.sh VOUCHERCTL VOUCHERD}
voucherd=${2:?usage: clock_test.sh VOUCHERCTL VOUCHERD}

faketime_lib=
for f in /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 \
  /usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1 /usr/lib/faketime/libfaketimeMT.so.1; do
  [ -e "$f" ] && { faketime_lib=$f; break; }
done
if [ -z "$faketime_lib" ]; then
  echo "libfaketime not installed (Debian package faketime, tools/install-deps.sh): skipped"
  exit 77
fi

. "$(dirname "$0")/devnetlib.sh"
devnet_test_init clock-test 370 # ctest TIMEOUT 400

converged='d["reachable"] == 4 and len({(n["status"]["log_head"], n["status"]["state_digest"]) for n in d["nodes"]}) == 1'
# offset URL PEER: node's voucher_peer_clock_offset_seconds for PEER (empty if absent)
offset() {
  curl -s --max-time 5 "$1" | sed -n "s/^voucher_peer_clock_offset_seconds{peer=\"$2\"} //p"
}
# wait_offset URL PEER LOW HIGH: bounded wait until that offset is in [LOW, HIGH] seconds
wait_offset() {
  local i v
  for i in $(seq 1 120); do
    v=$(offset "$1" "$2")
    if [ -n "$v" ] && python3 -c "import sys; sys.exit(0 if $3 <= $v <= $4 else 1)"; then
      echo "$v" >"$work/offset.last"; return 0
    fi
    sleep 0.25
  done
  echo "${v:-absent}" >"$work/offset.last"
  return 1
}
# knows ENDPOINT VOUCHER: bounded wait until that node has the voucher (its
# issuance certificate may reach it a moment after the client's reply)
knows() {
  local i
  for i in $(seq 1 100); do
    run knows 10 query --devnet "$dir" --node "$1" --voucher "$2" --json
    [ "$rc" -eq 0 ] && return 0
    sleep 0.1
  done
  return 1
}
# restart I FAKETIME: stop node I, start it again with its clock moved by
# FAKETIME ("" = the real clock); sets pidI.
restart() {
  local i=$1 ft=$2 p cfg log
  eval "p=\$pid$i"
  cfg=$(dn "d[\"nodes\"][$((i - 1))][\"config\"]")
  log=$(dn "d[\"nodes\"][$((i - 1))][\"log\"]")
  kill -TERM "$p"
  gone "$p" || kill -KILL "$p"
  if [ -n "$ft" ]; then
    # verify_asan_link_order=0: a sanitizer build accepts the preloaded
    # library ahead of its runtime (ignored by a normal build)
    env LD_PRELOAD="$faketime_lib" FAKETIME="$ft" FAKETIME_DONT_FAKE_MONOTONIC=1 \
      ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
      "$voucherd" --config "$cfg" >>"$log" 2>&1 &
  else
    "$voucherd" --config "$cfg" >>"$log" 2>&1 &
  fi
  eval "pid$i=$!"
  echo "$!" >>"$work/pids"
  # bounded: the node is up (a node that dies at once fails here, not later)
  local n0 k
  n0=$(grep -c 'event=ready' "$log")
  for k in $(seq 1 300); do
    [ "$(grep -c 'event=ready' "$log")" -gt "$n0" ] && return 0
    kill -0 "$!" 2>/dev/null || break
    sleep 0.1
  done
  bad "node$i restarted (FAKETIME=${ft:-none}): not ready; its log ends:"
  tail -3 "$log"
  echo "$passed passed, $failed failed"
  exit 1
}

# ---- a devnet ---------------------------------------------------------------------------

devnet_start 20800
for i in 1 2 3 4; do
  eval "pid$i=\$(dn 'd[\"nodes\"][$((i - 1))][\"pid\"]')"
  eval "ep$i=\$(dn 'd[\"nodes\"][$((i - 1))][\"client_endpoint\"]')"
  eval "log$i=\$(dn 'd[\"nodes\"][$((i - 1))][\"log\"]')"
  eval "met$i=\$(dn 'd[\"nodes\"][$((i - 1))][\"metrics_url\"]')"
done
firm1=$(dn 'd["holders"][0]["pubkey"]')
k1=$(dn 'd["holders"][0]["key_file"]')
prov=$(dn 'd["providers"][0]["key_file"]')

# ---- 1. node4 ten minutes ahead ------------------------------------------------------------

restart 4 +10m
check "node4 restarted with its clock 10 minutes ahead, all four linked" \
  wait_status 60 '"voter" in d["nodes"][3]["status"]["flags"] and d["reachable"] == 4'
ts4=$(grep 'event=ready' "$log4" | tail -1 | grep -oE '^[^ ]+')
echo "     (node4's ready line is stamped $ts4; now is $(date -u +%Y-%m-%dT%H:%M:%S))"

now=$(date +%s)
run issueA 30 issue --devnet "$dir" --node "$ep1" --issuer-key "$dir/keys/chengdu.key" \
  --holder "$firm1" --value-fen 500000 --valid-from $((now - 3600)) --valid-until $((now + 150)) --json
check "voucher A issued, valid until now + 150 s" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || cat "$work/issueA.err"
va=$(py "$work/issueA.out" 'd["vouchers"][0]')
redeemA() {
  run "$1" 30 redeem --devnet "$dir" --node "$2" --voucher "$va" --amount-fen "$3" --gpu-hours 1 \
    --holder-key "$k1" --provider-key "$prov" --json
}
check "node4 knows voucher A (bounded wait)" knows "$ep4" "$va"
redeemA rA4 "$ep4" 500000
check "redeem A through node4 (clock +10 min): refused, exit 1" [ "$rc" -eq 1 ]
check "... the reason: voucher expired by this node's clock" has rA4.err "voucher expired by this node's clock"
echo "     ($(head -c 300 "$work/rA4.err"))"
redeemA rA1 "$ep1" 500000
check "the same order through node1: certified" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || cat "$work/rA1.err"
check "... with the votes of node1..node3 (node4 refused)" \
  [ "$(py "$work/rA1.out" 'sorted(d["certificate"]["voters"])')" = "['node1', 'node2', 'node3']" ]
redeemA rA1b "$ep1" 1
check "a second redemption of A through node1: refused (no double redemption)" [ "$rc" -eq 1 ]
redeemA rA4b "$ep4" 1
check "... and through node4: refused" [ "$rc" -eq 1 ]
check "node4 applies the certificate the others formed: same log length and state digest" \
  wait_status 60 "$converged"
run qA 30 query --devnet "$dir" --node "$ep4" --voucher "$va" --json
check "... node4 answers for A: remaining 0" grep -qE '"remaining_fen": ?0[,}]' "$work/qA.out"

# more traffic, so that node1 pulls node4's fresh entries
for i in 1 2 3; do
  run iss$i 30 issue --devnet "$dir" --node "$ep1" --issuer-key "$dir/keys/shanghai.key" \
    --holder "$firm1" --value-fen 1000 --json
done
check "node1 measures node4's clock: voucher_peer_clock_offset_seconds{peer=\"node4\"} in [480, 720]" \
  wait_offset "$met1" node4 480 720
echo "     (node1 sees node4 at $(cat "$work/offset.last") s; node2 at $(offset "$met1" node2) s)"
check "... node2 too" wait_offset "$met2" node4 480 720
check "... node1 logs event=clock_skew peer=node4 with the offset" \
  grep -qE 'event=clock_skew peer=node4 offset_ms=(5[0-9]{5}|6[0-9]{5}|7[0-1][0-9]{4})' "$log1"
check "... node4 sees node1 behind by about as much: [-720, -480]" wait_offset "$met4" node1 -720 -480
check "... node4 logs event=clock_skew peer=node1 offset_ms=-..." \
  grep -qE 'event=clock_skew peer=node1 offset_ms=-' "$log4"
check "node1 reports no skew for node2 (its clock is right): |offset| < 60 s" \
  wait_offset "$met1" node2 -60 60
check "... and logs no clock_skew for node2 or node3" sh -c "! grep -qE 'event=clock_skew peer=node[23]' '$log1'"

# ---- 2. node4 right again, node3 ten minutes behind -----------------------------------------

restart 4 ""
restart 3 -10m
check "node4 on the real clock, node3 10 minutes behind, all four back" \
  wait_status 60 '"voter" in d["nodes"][2]["status"]["flags"] and "voter" in d["nodes"][3]["status"]["flags"] and d["reachable"] == 4'
now=$(date +%s)
run issueB 30 issue --devnet "$dir" --node "$ep1" --issuer-key "$dir/keys/chengdu.key" \
  --holder "$firm1" --value-fen 500000 --valid-from $((now + 150)) --valid-until $((now + 86400)) --json
check "voucher B issued, valid from now + 150 s" [ "$rc" -eq 0 ]
vbv=$(py "$work/issueB.out" 'd["vouchers"][0]')
redeemB() {
  run "$1" 30 redeem --devnet "$dir" --node "$2" --voucher "$vbv" --amount-fen 200000 --gpu-hours 1 \
    --holder-key "$k1" --provider-key "$prov" --json
}
check "node3 knows voucher B (bounded wait)" knows "$ep3" "$vbv"
redeemB rB3 "$ep3"
check "redeem B through node3 (clock -10 min): refused, exit 1" [ "$rc" -eq 1 ]
check "... the reason: voucher not yet valid by this node's clock" has rB3.err "voucher not yet valid by this node's clock"
redeemB rB2 "$ep2"
check "the same order through node2: certified" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || cat "$work/rB2.err"
check "... without node3's vote" \
  [ "$(py "$work/rB2.out" '"node3" in d["certificate"]["voters"], len(d["certificate"]["voters"]) >= 3')" = "(False, True)" ]
check "node3 applies it: same log length and state digest everywhere" wait_status 60 "$converged"
for i in 1 2 3; do
  run isb$i 30 issue --devnet "$dir" --node "$ep1" --issuer-key "$dir/keys/shanghai.key" \
    --holder "$firm1" --value-fen 1000 --json
done
check "node1 measures node3 behind: offset in [-720, -480]" wait_offset "$met1" node3 -720 -480
echo "     (node1 sees node3 at $(cat "$work/offset.last") s)"
check "... and node4, on the real clock again, within 60 s" wait_offset "$met1" node4 -60 60

kill -TERM "$pid3" "$pid4"
run down 60 devnet down --dir "$dir"
check "devnet down: exit 0" [ "$rc" -eq 0 ]
gone "$pid3"
gone "$pid4"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
