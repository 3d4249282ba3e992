#!/usr/bin/env bash
# compare_smoke_test.sh SOURCE_DIR BUILD_DIR
#
# Smoke test of tools/compare-etcd.sh (docs/performance.md, "The etcd
# comparison"): runs it with --quick (8 clients, 3 s runs of at most 300
# orders; real etcd members and real voucherd devnets on 127.0.0.1) and
# checks that it exits 0, that its table shows each of the six runs with
# figures and the two ratios, that its JSON (--json-out) has a throughput
# and p50/p90/p99/max for every run with no error and every write verified,
# and ratios equal to the throughputs divided, and the CPU per redemption of
# every etcd member, every voter and both clients, and the disk bytes written
# per redemption (/proc/PID/io write_bytes) of every member and every voter in
# every run, in a table and in disk_bytes_per_redemption (above zero unless
# the scratch directory is on tmpfs); and that no etcd or voucherd it started
# is left running.  No timing is asserted.
#
# It installs nothing: without etcd, go or Debian's etcd client source
# (etcd-server, golang-go, golang-etcd-server-dev) it exits 77, which ctest
# reports as skipped.  Every process whose command line names its scratch
# directory (the script's TMPDIR) is killed by pid on exit.
set -u
src=$1
build=$2

for c in etcd etcdctl go; do
  command -v "$c" >/dev/null || { echo "skipped: $c is not installed (apt-get install etcd-server etcd-client golang-go golang-etcd-server-dev)"; exit 77; }
done
[ -f /usr/share/gocode/src/go.etcd.io/etcd/clientv3/client.go ] ||
  { echo "skipped: golang-etcd-server-dev is not installed"; exit 77; }

work=$(mktemp -d /tmp/compare-smoke.XXXXXX)
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }

# The pids of every live process whose command line names $work.
leftovers() {
  local f p
  for f in /proc/[0-9]*/cmdline; do
    p=${f#/proc/}; p=${p%/cmdline}
    [ "$p" = $$ ] && continue
    tr '\0' ' ' 2>/dev/null <"$f" | grep -qF "$work/" && echo "$p"
  done
}
cleanup() {
  local p
  for p in $(leftovers); do kill -KILL "$p" 2>/dev/null; done
  if [ "$failed" -eq 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$work"; else echo "kept $work"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# Usage errors are exit 2 and start nothing.
bash "$src/tools/compare-etcd.sh" --clients 0 >/dev/null 2>&1
[ $? -eq 2 ] && ok "--clients 0: exit 2" || bad "--clients 0: exit 2"
bash "$src/tools/compare-etcd.sh" --no-such-option >/dev/null 2>&1
[ $? -eq 2 ] && ok "unknown option: exit 2" || bad "unknown option: exit 2"

TMPDIR=$work timeout 600 bash "$src/tools/compare-etcd.sh" --quick --no-install \
  --build-dir "$build" --json-out "$work/result.json" >"$work/out.txt" 2>"$work/err.txt"
rc=$?
[ $rc -eq 0 ] && ok "compare-etcd.sh --quick: exit 0" || { bad "compare-etcd.sh --quick: exit $rc"; tail -n 30 "$work/err.txt"; }
cat "$work/out.txt"

# The table: a row with six figures for each run, and both ratios.
for row in "etcd, 3 members +closed" "ours, 4 voters +closed" "etcd, 3 members +open" \
           "ours, 4 voters +open" "etcd, 1 member +closed" "ours, 1 voter +closed"; do
  if grep -qE "^$row( [0-9.]+/s)? +[0-9]+\.[0-9] +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +0$" "$work/out.txt"; then
    ok "table row: $row"
  else
    bad "table row: $row"
  fi
done
grep -qE '^ratio ours/etcd, 4 voters vs 3 members: [0-9]+\.[0-9]+ ' "$work/out.txt" &&
  ok "ratio 4 voters vs 3 members printed" || bad "ratio 4 voters vs 3 members printed"
grep -qE '^ratio ours/etcd, 1 voter vs 1 member: +[0-9]+\.[0-9]+ ' "$work/out.txt" &&
  ok "ratio 1 voter vs 1 member printed" || bad "ratio 1 voter vs 1 member printed"
grep -qE '^p99 at half of etcd.s 3-member rate \([0-9.]+/s\): ours [0-9.]+ ms, etcd [0-9.]+ ms' "$work/out.txt" &&
  ok "p99 at half rate printed" || bad "p99 at half rate printed"
grep -qE '^etcd, 3 members +[0-9]+\.[0-9]+ +[0-9]+\.[0-9]+ +[0-9]+\.[0-9]+ +[0-9]+\.[0-9]+$' "$work/out.txt" &&
  grep -qE '^ours, 4 voters +[0-9]+\.[0-9]+ +[0-9]+\.[0-9]+ +[0-9]+\.[0-9]+ +[0-9]+\.[0-9]+$' "$work/out.txt" &&
  ok "CPU per redemption printed for etcd and ours" || bad "CPU per redemption printed for etcd and ours"
grep -q '^Bounds measured in this run (schnorr-rate' "$work/out.txt" &&
  grep -qE '^ours, 4 voters +6 +[0-9]+\.[0-9] +[0-9]+\.[0-9] +[0-9]+% +[0-9]+\.[0-9]' "$work/out.txt" &&
  grep -qE '^ours, 1 voter +2 +[0-9]+\.[0-9] +[0-9]+\.[0-9] +[0-9]+% +[0-9]+\.[0-9]' "$work/out.txt" &&
  grep -qE '^voter CPU per redemption, a voter of 4: [0-9.]+ us, of which its share of the checks [0-9.]+ us \(1\.5 x ' "$work/out.txt" &&
  grep -qE '^voter CPU per redemption, a lone voter: [0-9.]+ us, of which its share of the checks [0-9.]+ us \(2\.0 x ' "$work/out.txt" &&
  [ "$(grep -cE '^  that is [0-9]+\.[0-9]{2} x its checks; the target is 1\.27 x ' "$work/out.txt")" = 2 ] &&
  ok "the signature bounds measured in the run, and each network's share, printed" ||
  bad "the signature bounds measured in the run, and each network's share, printed"
grep -q '^Disk bytes written per redemption in the closed runs' "$work/out.txt" &&
  grep -qE '^etcd, 3 members +[0-9]+ +[0-9]+$' "$work/out.txt" &&
  grep -qE '^ours, 4 voters +[0-9]+ +[0-9]+$' "$work/out.txt" &&
  grep -qE '^etcd, 1 member +[0-9]+ +[0-9]+$' "$work/out.txt" &&
  grep -qE '^ours, 1 voter +[0-9]+ +[0-9]+$' "$work/out.txt" &&
  ok "disk bytes per redemption printed for etcd and ours" ||
  bad "disk bytes per redemption printed for etcd and ours"
# The machine's disk writes need a whole disk in /proc/diskstats (not so in
# some containers, where the load generators give none and say so with "-").
disk_stats=false
while read -r _ _ name _; do
  case $name in loop*|ram*|zram*|dm-*|md*) continue ;; esac
  [ -e "/sys/block/$name" ] && disk_stats=true
done < /proc/diskstats
if $disk_stats; then
  grep -q "^The machine's disks over each run (/proc/diskstats" "$work/out.txt" &&
    grep -qE '^[0-9]+\.[0-9] MB/s of random 4 KiB pages made durable, 60 to an fdatasync, by 4 writers' "$work/out.txt" &&
    grep -qE '^the mean of [0-9]+\.[0-9] MB/s before the runs and [0-9]+\.[0-9] after\):$' "$work/out.txt" &&
    [ "$(grep -cE '^(etcd, 3 members|ours, 4 voters|etcd, 1 member|ours, 1 voter) +(closed|open [0-9.]+/s) +[0-9]+\.[0-9] +[0-9]+\.[0-9] +[0-9]+%$' "$work/out.txt")" = 6 ] &&
    ok "the machine's disk writes of every run printed beside the page bound" ||
    bad "the machine's disk writes of every run printed beside the page bound"
else
  echo "skip the machine's disk writes: no whole disk in /proc/diskstats"
fi
# write_bytes counts pages sent to a block device: none on tmpfs or ramfs.
case $(stat -f -c %T "$work" 2>/dev/null) in
  tmpfs|ramfs) disk_counts=false ;;
  *) disk_counts=true ;;
esac

# The JSON.
if python3 - "$work/result.json" "$disk_counts" "$disk_stats" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
disk_counts = sys.argv[2] == "true"
disk_stats = sys.argv[3] == "true"
problems = []
runs = d["runs"]
for k in ("etcd3_closed", "etcd3_open", "dn4_closed", "dn4_open", "etcd1_closed", "dn1_closed"):
    r = runs.get(k)
    if r is None:
        problems.append(k + " missing"); continue
    if not r["throughput_per_s"] > 0: problems.append(k + ": throughput")
    for p in ("p50", "p90", "p99", "max"):
        if not isinstance(r["latency_ms"][p], (int, float)): problems.append(k + ": " + p)
    if r["orders"]["errors"] != 0 or r["errors"] != {}: problems.append(k + ": errors %s" % r["errors"])
    if r.get("verified", r.get("verified_on_all_nodes")) is not True: problems.append(k + ": not verified")
    if r["orders"]["certified"] < 1: problems.append(k + ": nothing certified")
want = {"etcd3_open": "open", "dn4_open": "open", "etcd3_closed": "closed", "dn1_closed": "closed"}
for k, loop in want.items():
    if runs[k]["parameters"]["loop"] != loop: problems.append(k + ": loop")
if runs["dn4_closed"]["parameters"]["voters"] != 4: problems.append("dn4 voters")
if runs["dn1_closed"]["parameters"]["voters"] != 1: problems.append("dn1 voters")
# ours runs the pipelined client by default, as etcd-bench multiplexes its goroutines
if d.get("ours_client") != "pipelined": problems.append("ours_client: %s" % d.get("ours_client"))
for k in ("dn4_closed", "dn4_open", "dn1_closed"):
    if runs[k]["parameters"].get("pipelined") is not True: problems.append(k + ": not pipelined")
if len(runs["etcd3_closed"]["parameters"]["endpoints"]) != 3: problems.append("etcd3 endpoints")
if len(runs["etcd1_closed"]["parameters"]["endpoints"]) != 1: problems.append("etcd1 endpoints")
for k in runs:
    if runs[k]["parameters"]["clients"] != d["clients"]: problems.append(k + ": clients")
q = d["ratios"]
def near(a, b): return abs(a - b) <= 0.002 * max(1.0, b)
if not near(q["throughput_4voters_vs_3members"], runs["dn4_closed"]["throughput_per_s"] / runs["etcd3_closed"]["throughput_per_s"]):
    problems.append("ratio 4 vs 3")
if not near(q["throughput_1voter_vs_1member"], runs["dn1_closed"]["throughput_per_s"] / runs["etcd1_closed"]["throughput_per_s"]):
    problems.append("ratio 1 vs 1")
if not near(runs["etcd3_open"]["parameters"]["rate"], runs["etcd3_closed"]["throughput_per_s"] / 2):
    problems.append("open rate is not half the 3-member throughput")
if runs["dn4_open"]["parameters"]["rate"] != runs["etcd3_open"]["parameters"]["rate"]:
    problems.append("the two open runs have different rates")
# CPU per redemption: every member and voter measured, and the machine's
# total is the servers' sum plus the client's.
members = {"etcd3_closed": 3, "dn4_closed": 4, "etcd1_closed": 1, "dn1_closed": 1}
for k, n in members.items():
    nodes = (runs[k].get("cpu_us_per_order") or {}).get("nodes") or {}
    if len([v for v in nodes.values() if isinstance(v, (int, float)) and v > 0]) != n:
        problems.append(k + ": CPU of %d servers expected, got %s" % (n, nodes))
    c = d["cpu_us_per_redemption"][k]
    if not (isinstance(c["client"], (int, float)) and c["client"] > 0):
        problems.append(k + ": client CPU")
    elif not near(c["machine"], c["servers"] + c["client"]) or not near(c["servers"], sum(nodes.values())):
        problems.append(k + ": CPU totals")
# Disk bytes written per redemption: a figure for every member and voter in
# every run, and the closed runs' per server and servers consistent with them.
num = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0
for k, n in dict(members, etcd3_open=3, dn4_open=4).items():
    nodes = (runs[k].get("disk_bytes_per_order") or {}).get("nodes") or {}
    if len(nodes) != n or not all(num(v) for v in nodes.values()):
        problems.append(k + ": disk bytes of %d servers expected, got %s" % (n, nodes)); continue
    if disk_counts and not all(v > 0 for v in nodes.values()):
        problems.append(k + ": a server wrote nothing: %s" % nodes)
    c = d["disk_bytes_per_redemption"].get(k)
    if k in members and (c is None or not num(c["servers"]) or not num(c["per_server"])
                         or not near(c["servers"], sum(nodes.values()))
                         or not near(c["per_server"], sum(nodes.values()) / n)):
        problems.append(k + ": disk totals %s" % c)
# The signature bounds: schnorr-rate's figures, 2 x q checks a redemption,
# each share consistent with the run's throughput.
b = d.get("bounds") or {}
sr = b.get("schnorr_rate") or {}
if not (num(sr.get("all_cores_per_s")) and sr["all_cores_per_s"] > 0 and num(sr.get("cpu_us_per_verify"))):
    problems.append("bounds: schnorr-rate figures %s" % sr)
else:
    for key, run, checks, share in (("4voters", "dn4_closed", 6, 1.5), ("1voter", "dn1_closed", 2, 2.0)):
        x = b.get(key) or {}
        if x.get("verifications_per_redemption") != checks:
            problems.append("bounds %s: checks %s" % (key, x.get("verifications_per_redemption"))); continue
        if not near(x["bound_per_s"], sr["all_cores_per_s"] / checks) \
                or not near(x["ours_share_of_bound"], runs[run]["throughput_per_s"] / x["bound_per_s"]) \
                or not near(x["voter_checks_cpu_us"], share * sr["cpu_us_per_verify"]) \
                or not near(x["voter_cpu_over_checks"], x["voter_cpu_us"] / x["voter_checks_cpu_us"]) \
                or not near(x["target_cpu_over_checks"], 100.0 / 78.6):
            problems.append("bounds %s: %s" % (key, x))
# The machine's disk writes over every run (both load generators read
# /proc/diskstats the same way), and their share of schnorr-rate's page bound
# (MB/s against bytes per order x orders / time: 2%, as etcd-bench rounds
# its elapsed time to the millisecond).
pb, sra = b.get("page_bound") or {}, b.get("schnorr_rate_after") or {}
if not (num(sr.get("page_mb_per_s")) and sr["page_mb_per_s"] > 0 and sr.get("pages_per_flush") == 60
        and sr.get("page_writers") == 4 and num(sra.get("page_mb_per_s")) and sra["page_mb_per_s"] > 0
        and pb.get("before_mb_per_s") == sr["page_mb_per_s"]
        and pb.get("after_mb_per_s") == sra["page_mb_per_s"]
        and num(pb.get("mean_mb_per_s"))
        and near(pb["mean_mb_per_s"], (sr["page_mb_per_s"] + sra["page_mb_per_s"]) / 2)):
    problems.append("bounds: schnorr-rate page figures %s, after %s, page_bound %s" % (sr, sra, pb))
elif disk_stats:
    for k in runs:
        x, y = (d.get("machine_disk") or {}).get(k), runs[k].get("machine_disk")
        if not isinstance(x, dict) or not isinstance(y, dict) or not num(y.get("write_mb_per_s")) \
                or not num(y.get("write_bytes_per_order")) \
                or abs(y["write_mb_per_s"] - y["write_bytes_per_order"] * runs[k]["orders"]["certified"]
                       / runs[k]["elapsed_s"] / 1e6) > 0.02 * y["write_mb_per_s"] + 0.01 \
                or not near(x["share_of_page_bound"], y["write_mb_per_s"] / pb["mean_mb_per_s"]):
            problems.append(k + ": machine_disk %s %s" % (x, y))
# The machine's time over every run (both load generators read /proc/stat the same way).
names = ("user", "system", "idle", "iowait", "steal")
for k in runs:
    m = runs[k].get("machine_time_share")
    if not isinstance(m, dict) or not all(num(m.get(x)) and m[x] <= 1 for x in names) \
            or not 0.98 <= sum(m[x] for x in names) <= 1.02:
        problems.append(k + ": machine_time_share %s" % m)
for x in problems: print("   ", x)
sys.exit(1 if problems else 0)
PY
then ok "JSON: six runs with figures, no errors, verified; ratios, half rate, bounds, CPU, disk and machine time consistent"
else bad "JSON: see above"; fi

left=$(leftovers | paste -sd, -)
if [ -z "$left" ]; then ok "no etcd or voucherd left running"; else bad "left running: $left"; ps -o pid,args -p "$left"; fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
