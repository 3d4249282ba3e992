#!/usr/bin/env bash
# systemd_unit_test.sh UNIT BUILD_DIR CMAKE OPERATIONS_MD
#
# docs/operations.md 1 and 4-6 as an operator does them: the build tree is
# installed with `cmake --install BUILD_DIR --prefix P` (a scratch prefix
# standing for /usr/local), which must give P/bin/voucherd and
# P/bin/voucherctl; everything below uses those installed binaries.
# packaging/voucherd.service as an operator would use it:
#  1. `systemd-analyze verify` accepts it without a single warning (with the
#     binary path pointed at the built voucherd: verify insists that it
#     exists); a copy with one misspelt key is caught the same way, which
#     shows the check can fail.  No systemd-analyze: exit 77 (skipped).
#  2. Its ExecStartPre and ExecStart command lines, taken from the unit word
#     for word (only /usr/local/bin and /etc/voucher replaced by a scratch
#     install), are accepted by the built voucherd: ExecStartPre (--check)
#     exits 0 on a real configuration, genesis and key file; ExecStart runs
#     the node until event=ready and SIGTERM (the unit's KillSignal) stops it
#     with exit 0 within the unit's TimeoutStopSec.
#  3. What docs/operations.md says about it is what the unit holds: data
#     directory /var/lib/voucher writable, user voucher, exit 1 not
#     restarted.
# Every process started is killed on exit; every wait is bounded.
# No systemd-analyze: exit 77 (skipped).
set -u
unit=${1:?usage: systemd_unit_test.sh UNIT BUILD_DIR CMAKE OPERATIONS_MD}
build=${2:?}
cmake=${3:?}
opsmd=${4:?}
unit=$(realpath "$unit") opsmd=$(realpath "$opsmd")

passed=0
failed=0
# shellcheck source=../testlib.sh
. "$(dirname "$0")/../testlib.sh"

work=$(mktemp -d /tmp/systemd-unit-test.XXXXXX)
node_pid=
cleanup() {
  if [ -n "$node_pid" ]; then kill -KILL "$node_pid" 2>/dev/null; wait "$node_pid" 2>/dev/null; fi
  if [ "$failed" -eq 0 ]; then rm -rf "$work"; else echo "kept $work"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# key=value of the [Service] section (the last one when repeated).
val() { sed -n "s/^$1=//p" "$unit" | tail -1; }

# ---- 0. install ------------------------------------------------------------------------------

"$cmake" --install "$build" --prefix "$work/usr/local" >"$work/install.out" 2>&1
rc=$?
all_of_1() { \
  [ "$rc" -eq 0 ] && [ -x "$work/usr/local/bin/voucherd" ] && [ -x "$work/usr/local/bin/voucherctl" ]; }
check "cmake --install --prefix P: exit 0, P/bin/voucherd and P/bin/voucherctl executable" all_of_1
[ "$rc" -eq 0 ] || tail -5 "$work/install.out"
voucherd=$work/usr/local/bin/voucherd
ctl=$work/usr/local/bin/voucherctl
"$voucherd" --version >"$work/version.out" 2>&1
check "the installed voucherd runs: --version" grep -q '^voucherd .*wire protocol' "$work/version.out"

# ---- 1. systemd-analyze verify -------------------------------------------------------------

if ! command -v systemd-analyze >/dev/null; then
  echo "systemd-analyze not installed (Debian package systemd): skipped"
  exit 77
fi
sed "s#/usr/local/bin/voucherd#$voucherd#g" "$unit" >"$work/voucherd.service"
systemd-analyze verify "$work/voucherd.service" >"$work/verify.out" 2>&1
rc=$?
all_of_2() { [ "$rc" -eq 0 ] && [ ! -s "$work/verify.out" ]; }
check "systemd-analyze verify: exit 0, no warning" all_of_2
[ -s "$work/verify.out" ] && cat "$work/verify.out"
mkdir "$work/planted"
sed 's/^ProtectSystem=/ProtectSystm=/' "$work/voucherd.service" >"$work/planted/voucherd.service"
systemd-analyze verify "$work/planted/voucherd.service" >"$work/planted.out" 2>&1
check "... a copy with one misspelt key (ProtectSystm) is caught" grep -q "Unknown key 'ProtectSystm'" "$work/planted.out"

# ---- 2. the unit's command lines against the built voucherd ---------------------------------------

check "ExecStartPre is voucherd --config /etc/voucher/voucherd.json --check" \
  [ "$(val ExecStartPre)" = "/usr/local/bin/voucherd --config /etc/voucher/voucherd.json --check" ]
check "ExecStart is voucherd --config /etc/voucher/voucherd.json" \
  [ "$(val ExecStart)" = "/usr/local/bin/voucherd --config /etc/voucher/voucherd.json" ]

# A scratch install: $work/etc/voucher and $work/var/lib/voucher.
etc=$work/etc/voucher
mkdir -p "$etc" "$work/var/lib/voucher"
chmod 0700 "$work/var/lib/voucher"
(cd "$etc" &&
  "$ctl" keygen --node --out node.key >node.pub &&
  "$ctl" keygen --out shanghai.key >shanghai.pub &&
  "$ctl" keygen --out guizhou-dc.key >guizhou-dc.pub) >/dev/null 2>"$work/keygen.err"
check "keys made" [ -s "$etc/node.pub" ]
# words: the unit's command line with the scratch install in place of the real one
words() { val "$1" | sed -e "s#/usr/local/bin/voucherd#$voucherd#" -e "s#/etc/voucher#$etc#"; }

started=false
for attempt in 0 1 2 3 4 5; do
  port=$((29600 + (($$ + attempt * 37) % 250) * 2))
  rm -f "$etc/genesis.json"
  "$ctl" genesis --network unit-test --max-faulty 0 \
    --node "guizhou-dc,520000,$etc/node.pub,tcp://127.0.0.1:$port,tcp://127.0.0.1:$((port + 1)),voter" \
    --issuer "shanghai,310000,$etc/shanghai.pub,60000000000" \
    --provider "guizhou-dc,520000,$etc/guizhou-dc.pub" --out "$etc/genesis.json" >/dev/null 2>"$work/genesis.err"
  cat >"$etc/voucherd.json" <<JSON
{
  "node_id": "guizhou-dc",
  "genesis": "$etc/genesis.json",
  "key_file": "$etc/node.key",
  "data_dir": "$work/var/lib/voucher",
  "peer_bind": "tcp://127.0.0.1:$port",
  "client_bind": "tcp://127.0.0.1:$((port + 1))"
}
JSON
  if [ "$attempt" -eq 0 ]; then
    # shellcheck disable=SC2046 # the unit's words, split as systemd splits them (no quotes in them)
    $(words ExecStartPre) >"$work/check.out" 2>"$work/check.err"
    rc=$?
    all_of_3() { \
      [ "$rc" -eq 0 ] && grep -q '^ok: node guizhou-dc (index 0, voter)' "$work/check.out"; }
    check "ExecStartPre (--check) on a real configuration: exit 0, ok: guizhou-dc voter" all_of_3
    [ "$rc" -eq 0 ] || cat "$work/check.err"
    check "... it did not touch the data directory" [ -z "$(ls -A "$work/var/lib/voucher")" ]
  fi
  : >"$work/node.log"
  # shellcheck disable=SC2046
  $(words ExecStart) 2>>"$work/node.log" &
  node_pid=$!
  for i in $(seq 1 100); do
    grep -q 'event=ready' "$work/node.log" && break
    kill -0 "$node_pid" 2>/dev/null || break
    sleep 0.1
  done
  if grep -q 'event=ready' "$work/node.log"; then started=true; break; fi
  wait "$node_pid" 2>/dev/null
  node_pid=
  grep -q 'cannot bind' "$work/node.log" || break
done
check "ExecStart runs the node until event=ready" $started
$started || tail -5 "$work/node.log"

stop=$(val TimeoutStopSec)
check "KillSignal is SIGTERM" [ "$(val KillSignal)" = SIGTERM ]
if [ -n "$node_pid" ]; then
  kill -TERM "$node_pid"
  for i in $(seq 1 $((${stop:-30} * 10))); do kill -0 "$node_pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$node_pid" 2>/dev/null; then
    bad "SIGTERM stops the node within TimeoutStopSec=${stop}s"
  else
    wait "$node_pid"
    rc=$?
    check "SIGTERM stops the node within TimeoutStopSec=${stop}s, exit 0" [ "$rc" -eq 0 ]
  fi
  node_pid=
fi

# ---- 3. the unit and docs/operations.md agree -------------------------------------------------

all_of_4() { \
  [ "$(val ProtectSystem)" = strict ] && [ "$(val ReadWritePaths)" = /var/lib/voucher ] && \
  grep -q '"data_dir": "/var/lib/voucher"' "$opsmd"; }
check "the unit writes only /var/lib/voucher (ProtectSystem=strict), the data_dir of operations.md" all_of_4
all_of_5() { \
  [ "$(val User)" = voucher ] && grep -q 'unprivileged user (`voucher`' "$opsmd"; }
check "it runs as User=voucher, the user operations.md names" all_of_5
all_of_6() { \
  [ "$(val Restart)" = on-failure ] && [ "$(val RestartPreventExitStatus)" = "1 2" ]; }
check "exit 1 (fix the disk, the configuration) is never restarted; crashes are" all_of_6
check "operations.md points to packaging/voucherd.service" grep -q 'packaging/voucherd.service' "$opsmd"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
