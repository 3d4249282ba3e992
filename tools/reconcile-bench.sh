#!/usr/bin/env bash
# reconcile-bench.sh - how close voucher-reconcile comes to this machine's
# Schnorr bound, in one command (docs/reconcile-bench.md).
#
#   tools/reconcile-bench.sh [--build DIR] [--redemptions N] [--nodes 1|2]
#                            [--work DIR] [--keep]
#
# 1. schnorr-rate: verifications per second on one core and on all cores
#    (and fdatasyncs per second), measured now, on this machine.
# 2. voucher-synthlog: a valid synthetic network of N redemptions (default
#    1,000,000) with real signatures; its generation time and file size.
# 3. voucher-reconcile --genesis ... --log ... under /usr/bin/time -v: wall
#    time, CPU time, peak memory.
# 4. The bound: signatures to check / all-cores rate, and the ratio of the
#    reconcile wall time to it (1.0 would be pure signature checking on
#    every core; above it is everything else: I/O, hashing, the ledger).
#    On a shared machine the wall figures move with the load; the CPU
#    bound (signatures x CPU time of one verification) and reconcile's CPU
#    time do not, so their ratio is printed too.
# A benchmark, not a test: it prints figures and judges nothing.  Needs
# bash, python3 and /usr/bin/time (GNU time); --work needs room for about
# 1.7 GB per node per million redemptions.
set -euo pipefail

build=build
n=1000000
nodes=1
work=
keep=false
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=${2:?--build DIR}; shift 2 ;;
    --redemptions) n=${2:?--redemptions N}; shift 2 ;;
    --nodes) nodes=${2:?--nodes 1|2}; shift 2 ;;
    --work) work=${2:?--work DIR}; shift 2 ;;
    --keep) keep=true; shift ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "reconcile-bench.sh: unknown argument \"$1\" (see --help)" >&2; exit 2 ;;
  esac
done
case $n in ''|*[!0-9]*) echo "reconcile-bench.sh: --redemptions \"$n\" is not a number" >&2; exit 2 ;; esac
case $nodes in 1|2) ;; *) echo "reconcile-bench.sh: --nodes must be 1 or 2" >&2; exit 2 ;; esac
for t in schnorr-rate voucher-synthlog voucher-reconcile; do
  if [ ! -x "$build/tools/$t" ]; then
    echo "reconcile-bench.sh: $build/tools/$t not found: build first, or give --build DIR" >&2
    exit 2
  fi
done
if [ ! -x /usr/bin/time ]; then
  echo "reconcile-bench.sh: /usr/bin/time (GNU time) is needed: apt-get install time" >&2
  exit 2
fi
if [ -z "$work" ]; then work=$(mktemp -d "${TMPDIR:-/tmp}/reconcile-bench.XXXXXX"); fi
mkdir -p "$work"
net=$work/net
if [ -e "$net" ]; then
  echo "reconcile-bench.sh: $net exists: give another --work or remove it" >&2
  exit 2
fi
cleanup() { if ! $keep; then rm -rf "$net" "$work/report.json"; fi; }
trap cleanup EXIT

echo "== schnorr-rate"
"$build/tools/schnorr-rate" --json --dir "$work" >"$work/rate.json"
cat "$work/rate.json"
echo "== voucher-synthlog --redemptions $n --nodes $nodes"
"$build/tools/voucher-synthlog" --out "$net" --redemptions "$n" --nodes "$nodes" --json >"$work/synth.json"
cat "$work/synth.json"
logs=(--log "$net/node1.vllog")
if [ "$nodes" = 2 ]; then logs+=(--log "$net/node2.vllog"); fi
echo "== voucher-reconcile --genesis $net/genesis.json ${logs[*]}"
set +e
/usr/bin/time -v -o "$work/reconcile.time" "$build/tools/voucher-reconcile" --json \
  --genesis "$net/genesis.json" "${logs[@]}" >"$work/report.json" 2>"$work/reconcile.err"
rc=$?
set -e
echo "exit status $rc"
python3 - "$work/rate.json" "$work/synth.json" "$work/report.json" "$work/reconcile.time" <<'PY'
import json, re, sys
rate = json.load(open(sys.argv[1]))
synth = json.load(open(sys.argv[2]))
try:
    rep = json.load(open(sys.argv[3]))
except Exception:
    rep = {}
t = open(sys.argv[4]).read()
def field(name):
    m = re.search(re.escape(name) + r": (.*)", t)
    return m.group(1).strip() if m else "?"
def secs(s):  # GNU time's "h:mm:ss" or "m:ss.cc"
    parts = [float(p) for p in s.split(":")]
    return sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
wall = secs(field("Elapsed (wall clock) time (h:mm:ss or m:ss)"))
cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
rss_mb = int(field("Maximum resident set size (kbytes)")) / 1024
sigs_synth = synth["signatures"]
sigs_rec = rep.get("summary", {}).get("signatures_checked")
sigs = sigs_synth  # each must be checked once: the floor, whatever a tool counts
bound = sigs / rate["all_cores_per_s"]
print("== figures")
print("schnorr verify: %.0f /s on 1 core (%.1f us), %.0f /s on %d cores; fdatasync %.0f /s"
      % (rate["per_core_per_s"], rate["us_per_verify"], rate["all_cores_per_s"], rate["cores"], rate["fsyncs_per_s"]))
print("synthetic network: %d entries, %d redemptions, %.1f MB per node, generated in %.1f s"
      % (synth["entries"], synth["redemptions"], synth["bytes_per_node"] / 1e6, synth["seconds"]))
print("signatures: %d in the network (voucher-reconcile's signatures_checked: %s)" % (sigs_synth, sigs_rec))
print("voucher-reconcile: wall %.1f s, CPU %.1f s (%s), peak memory %.0f MB, ok %s"
      % (wall, cpu, field("Percent of CPU this job got"), rss_mb, rep.get("ok")))
print("bound: %d signatures / %.0f per s on all cores = %.1f s" % (sigs, rate["all_cores_per_s"], bound))
print("ratio: reconcile wall / bound = %.2f" % (wall / bound if bound > 0 else float("nan")))
cpu_bound = sigs * rate["cpu_us_per_verify"] / 1e6
print("CPU bound: %d signatures x %.1f us of CPU = %.1f s; reconcile CPU / CPU bound = %.2f"
      % (sigs, rate["cpu_us_per_verify"], cpu_bound, cpu / cpu_bound if cpu_bound > 0 else float("nan")))
PY
if [ "$rc" -ne 0 ]; then
  echo "reconcile-bench.sh: voucher-reconcile exited $rc (stderr: $work/reconcile.err)" >&2
  keep=true
  exit 1
fi
