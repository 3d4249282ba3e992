#!/usr/bin/env bash
# readme_test.sh README VOUCHERCTL_DIR VOUCHERD_DIR
#
# Runs the README's operator and client quick starts exactly as written
# (the ```sh blocks under "## Running a node" and "## Redeeming a voucher"),
# on free ports instead of 7001/7101, in a temporary directory, and checks
# what a reader would see: the node ready, the order certified, the voucher
# left with CNY 38,000.  The node is killed by PID on exit, pass or fail.
set -u
readme=$1
export PATH="$2:$3:$PATH"
work=$(mktemp -d /tmp/readme-test.XXXXXX)
trap 'if [ -f "$work/node.pid" ]; then kill -KILL "$(cat "$work/node.pid")" 2>/dev/null; fi; rm -rf "$work"' EXIT

# block HEADING: the first ```sh block after the line "## HEADING...".
block() {
  awk -v h="## $1" 'index($0, h) == 1 { f = 1; next }
                    f && /^```sh$/ { p = 1; next }
                    p && /^```$/ { exit }
                    p { print }' "$readme"
}
op=$(block "Running a node")
cl=$(block "Redeeming a voucher")
if [ -z "$op" ] || [ -z "$cl" ]; then echo "FAIL: README blocks not found"; exit 1; fi

for attempt in 0 1 2 3 4; do
  peer=$((30200 + (($$ + attempt * 211) % 1000) * 2)); client=$((peer + 1))
  rm -rf "$work"/* 2>/dev/null
  {
    echo 'set -euo pipefail'
    # after the line that starts the node, remember its pid for the trap
    printf '%s\n' "$op" | sed -e "s/:7001/:$peer/g" -e "s/:7101/:$client/g" \
      -e '/^voucherd --config node1.json 2> node1.log &/a echo $! > node.pid'
    printf '%s\n' "$cl"
  } >"$work/run.sh"
  (cd "$work" && bash run.sh >out.txt 2>err.txt); rc=$?
  [ -f "$work/node.pid" ] && kill -TERM "$(cat "$work/node.pid")" 2>/dev/null
  if [ $rc -eq 0 ] || ! grep -q 'cannot bind' "$work/node1.log" 2>/dev/null; then break; fi
  echo "ports $peer/$client in use, trying others"
done

fails=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi; }
check "the README's commands run without error (rc $rc)" '[ $rc -eq 0 ]'
check "voucherd --check says ok" 'grep -q "^ok: node node1" "$work/out.txt"'
check "the node logged event=ready" 'grep -q "event=ready" "$work/node1.log"'
check "status shows the node reachable, in quorum" 'grep -q "\"quorum_reachable\": true" "$work/out.txt"'
check "the split order was certified" 'grep -q "^certified: redeem" "$work/out.txt"'
check "the voucher has CNY 38,000.00 left" 'grep -q "\"remaining_fen\": 3800000" "$work/out.txt"'
check "the certificate file was written" '[ -s "$work/cert.bin" ]'
if [ $fails -ne 0 ]; then
  echo "--- stdout"; tail -n 30 "$work/out.txt"; echo "--- stderr"; tail -n 30 "$work/err.txt"
  echo "--- node1.log"; tail -n 10 "$work/node1.log"
fi
[ $fails -eq 0 ]
