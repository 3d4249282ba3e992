#!/usr/bin/env bash
# tools/quickstart.sh [--dir DIR] [--base-port P] [--down] [--sim]
#
# The README's "run it" command.  It installs the Debian packages that are
# missing (tools/install-deps.sh), builds the release tree (build/release,
# RelWithDebInfo), starts a local network of four real voucherd voters on
# 127.0.0.1 with `voucherctl devnet up` (docs/devnet.md), and runs the sample
# scenario with `voucherctl devnet demo`: Shanghai issues vouchers to a firm,
# the firm redeems at data centers in Guizhou and Ningxia through different
# nodes, an overspend is refused, a double spend is caught with its proof,
# and every node ends with the same state.
#
# THE NETWORK IS LEFT RUNNING, so that you can use it: the script ends by
# printing the commands (status, query, issue, down).  Pass --down to stop
# it at the end instead (also when something failed).
#
#   --dir DIR        where the devnet lives (default: a new /tmp/voucher-devnet.XXXXXX).
#                    A DIR that holds a devnet is reused: restarted if stopped,
#                    used as it is if running.
#   --base-port P    ports P..P+7 on 127.0.0.1 (default 7700)
#   --down           stop the devnet at the end
#   --sim            also run the consensus core of 4 voters (one Byzantine) in the
#                    cluster simulator, 20 seeds
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

dir=
base=
down=false
sim=false
while [ $# -gt 0 ]; do
  case $1 in
    --dir) dir=${2:?--dir needs a directory}; shift 2 ;;
    --base-port) base=${2:?--base-port needs a port}; shift 2 ;;
    --down) down=true; shift ;;
    --sim) sim=true; shift ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "quickstart.sh: unknown argument \"$1\" (see --help)" >&2; exit 2 ;;
  esac
done

say() { printf '\n== %s\n' "$*"; }

say "dependencies and the release build (build/release)"
tools/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=(voucherctl voucherd)
$sim && targets+=(vl_sim)
cmake --build build/release --target "${targets[@]}" >/dev/null
ctl=$root/build/release/tools/voucherctl
export VOUCHERD=$root/build/release/node/voucherd

[ -n "$dir" ] || dir=$(mktemp -d /tmp/voucher-devnet.XXXXXX)
if $down; then
  trap '"$ctl" devnet down --dir "$dir" >/dev/null 2>&1 || true' EXIT
fi

if [ -f "$dir/devnet.json" ] && "$ctl" devnet status --dir "$dir" >/dev/null 2>&1; then
  say "the devnet in $dir is running: using it"
else
  say "a local network of four voters: keys, genesis, one voucherd per node"
  "$ctl" devnet up --dir "$dir" ${base:+--base-port "$base"}
fi

say "the sample scenario"
if ! "$ctl" devnet demo --dir "$dir"; then
  echo "quickstart.sh: the demo did not run as expected; node logs: $dir/nodes/*/voucherd.log" >&2
  exit 1
fi

if $sim; then
  say "the consensus core of 4 voters (one of them Byzantine) in the cluster simulator:"
  say "lossy network, partitions, crashes, double-signing clients; invariants checked every step"
  build/release/tests/sim/vl_sim --seed 1 --seeds 20 --voters 4 --faulty 1 --steps 200 --quiet
fi

firm2=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["holders"][1]["pubkey"])' \
  "$dir/devnet.json")
if $down; then
  say "stopping the devnet (--down)"
  trap - EXIT
  "$ctl" devnet down --dir "$dir"
  echo "its data stays in $dir: \`$ctl devnet up --dir $dir\` brings it back"
  exit 0
fi

cat <<EOF

== the devnet keeps running in $dir; try:
# every node: log length, state digest, peer links
$ctl status --devnet $dir
# Shanghai's budget and issuances, every certificate verified here
$ctl query --devnet $dir --issuer shanghai
# a voucher (the demo printed the ids in step 2)
$ctl query --devnet $dir --voucher ID
# Chengdu issues CNY 10,000.00 to firm2
$ctl issue --devnet $dir --issuer-key $dir/keys/chengdu.key --holder $firm2 --value-fen 1000000
# the story again, on new vouchers
$ctl devnet demo --dir $dir
# stop it (\`devnet up --dir $dir\` brings it back, with its state)
$ctl devnet down --dir $dir
(docs/devnet.md: the key files in $dir/keys, devnet.json, --devnet on every network command)
EOF
