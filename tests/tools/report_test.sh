#!/usr/bin/env bash
# report_test.sh - voucher-reconcile's report renderers (tools/reconcile_report.c)
# on saved reports: render_report REPORT.json OUT.html CSV_DIR.
#
#   report_test.sh RENDER_REPORT FIXTURES_DIR
#
# For the realistic fixture (reconcile_report.json) and the one without any
# redemption (reconcile_report_empty.json): the CSV files against the JSON
# (python3 csv), the HTML page for anything it could fetch, then the page
# in headless Chromium: no console message, the charts in the DOM, and a
# screenshot that is not blank and shows the charts' colours.  Each checker
# is first shown to catch a planted fault.  Bad reports get an error
# naming the member, and leave no file.  Needs chromium and python3 with
# PIL (tools/install-deps.sh): missing, the test fails with the command
# that installs them.
set -u

render=$1
fixtures=$2
work=$(mktemp -d /tmp/report_test.XXXXXX)
pids=()
passed=0
failed=0

cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  if [ "$failed" -eq 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$work"; else echo "kept $work"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# shellcheck source=../testlib.sh
. "$(dirname "$0")/../testlib.sh"
finish() { echo "report_test: $passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit; }

# --- the tools -------------------------------------------------------------
chromium=$(command -v chromium || true)
if [ -z "$chromium" ]; then
  bad "chromium is not installed: apt-get install -y chromium (tools/install-deps.sh)"
  finish
fi
# PIL: python3's own, else Debian's python3 (python3-pil).
pil=""
for py in python3 /usr/bin/python3; do
  if "$py" -c 'import PIL' 2>/dev/null; then pil=$py; break; fi
done
if [ -z "$pil" ]; then
  bad "python3 cannot import PIL: apt-get install -y python3-pil (tools/install-deps.sh)"
  finish
fi

# chrome NAME ARGS... URL: headless Chromium, at most 90 s; stdout in
# $work/NAME.out, stderr in $work/NAME.err.  Killed by the EXIT trap if the
# test is interrupted.
chrome() {
  local name=$1; shift
  timeout 90 "$chromium" --headless --no-sandbox --disable-gpu --no-first-run \
    --user-data-dir="$work/chrome-$name" --enable-logging=stderr --v=0 "$@" \
    >"$work/$name.out" 2>"$work/$name.err" &
  pids+=($!)
  wait $!
}

# The page's own messages: console output (errors, CSP refusals) are
# logged as CONSOLE lines; Chromium's D-Bus and GPU noise is not.
no_console_file() { ! grep -E 'CONSOLE|Uncaught|Refused to|Content Security Policy' "$1"; }
no_console() { no_console_file "$work/$1.err"; }
export -f no_console_file

# --- the checkers ------------------------------------------------------------
cat >"$work/check_csv.py" <<'EOF'
# check_csv.py REPORT.json CSV_DIR: every table's rows and values against the JSON.
import csv, json, sys
rep = json.load(open(sys.argv[1]))
d = sys.argv[2]
def rows(name):
    raw = open(f"{d}/{name}", "rb").read()
    assert raw.count(b"\n") == raw.count(b"\r\n"), f"{name}: a line not ended by CRLF"
    return list(csv.DictReader(open(f"{d}/{name}", newline="", encoding="utf-8")))
def yuan(f): return "%d.%02d" % (f // 100, f % 100)
def same(name, table, keys):
    got = rows(name)
    assert len(got) == len(table), f"{name}: {len(got)} rows, the JSON has {len(table)}"
    for g, j in zip(got, table):
        for k in keys:
            v = j.get(k)
            want = "" if v is None else ("true" if v is True else "false" if v is False else str(v))
            assert g[k] == want, f"{name}: {k} is {g[k]!r}, the JSON says {want!r}"
            if k.endswith("_fen"):
                assert g[k[:-4] + "_yuan"] == yuan(v), f"{name}: {k[:-4]}_yuan is {g[k[:-4] + '_yuan']}"
    return got
iss = same("issuers.csv", rep["issuers"], ["id", "region", "budget_fen", "issued_fen",
           "redeemed_fen", "revoked_fen", "credited_back_fen", "outstanding_fen",
           "expired_unspent_fen", "remaining_budget_fen", "vouchers"])
same("providers.csv", rep["providers"], ["id", "region", "redeemed_fen", "firms_served", "redemptions"])
st = same("settlement.csv", rep["settlement"], ["issuer_region", "provider_region", "amount_fen"])
assert sum(int(r["amount_fen"]) for r in st) == rep["summary"]["redeemed_fen"], "settlement total"
same("utilization.csv", rep["utilization"], ["provider", "month", "redeemed_fen", "redemptions"])
nodes = same("nodes.csv", rep["nodes"], ["id", "source", "verified", "entries", "state_digest"])
for g, j in zip(nodes, rep["nodes"]):
    assert int(g["missing_certificates"]) == len(j["missing_certificates"]), "missing count"
    assert int(g["errors"]) == len(j["errors"]), "error count"
names = {"110000": "Beijing", "520000": "Guizhou", "150000": "Inner Mongolia", "640000": "Ningxia",
         "620000": "Gansu", "440300": "Guangdong", "320500": "Jiangsu"}
for r in iss + rows("providers.csv"):
    if r["region"] in names:
        assert r["region_name"] == names[r["region"]], f"region_name of {r['region']}: {r['region_name']}"
flat = lambda key, kid: [(n, c) for n in rep.get(key, []) for c in n[kid]]
miss = rows("missing.csv")
want = flat("nodes", "missing_certificates")
assert len(miss) == len(want), f"missing.csv: {len(miss)} rows, the JSON has {len(want)}"
for g, (n, c) in zip(miss, want):
    assert (g["node"], g["order_hash"], g["seq"], g["kind"]) == (n["id"], c["order_hash"], str(c["seq"]), c["kind"])
errs = rows("errors.csv")
want = flat("nodes", "errors")
assert len(errs) == len(want), f"errors.csv: {len(errs)} rows, the JSON has {len(want)}"
for g, (n, e) in zip(errs, want):
    assert (g["node"], g["code"], g["message"]) == (n["id"], e["code"], e["message"]), f"errors.csv: {g}"
con = rows("conflicts.csv")
want = flat("conflicts", "orders")
assert len(con) == len(want), f"conflicts.csv: {len(con)} rows, the JSON has {len(want)}"
for g, (c, o) in zip(con, want):
    assert (g["issuer"], g["serial"], g["order_hash"], g["order"], g["locked_by"]) == \
        (c["issuer"], str(c["serial"]), o["order_hash"], o["order"], " ".join(o["locked_by"]))
fk = rows("forks.csv")
want = flat("forks", "certificates")
assert len(fk) == len(want), f"forks.csv: {len(fk)} rows, the JSON has {len(want)}"
for g, (f, c) in zip(fk, want):
    assert (g["account"], g["seq"], g["certificate"], g["nodes"]) == \
        (f["account"], str(f["seq"]), c["certificate"], " ".join(c["nodes"]))
print(f"csv: {len(iss)} issuers, {len(st)} settlement rows, {len(miss)} missing, {len(errs)} errors, "
      f"{len(con)} conflict orders, {len(fk)} fork certificates")
EOF

cat >"$work/check_dom.py" <<'EOF'
# check_dom.py DOM REPORT.json: the charts and tables Chromium built.
import json, sys
from html.parser import HTMLParser
rep = json.load(open(sys.argv[2]))
class P(HTMLParser):
    def __init__(s):
        super().__init__(); s.stack = []; s.count = {}; s.ids = set()
    def handle_starttag(s, tag, a):
        a = dict(a)
        if "id" in a: s.ids.add(a["id"])
        if tag == "svg": s.svg = a.get("id")
        svg = getattr(s, "svg", None)
        if svg: s.count[(svg, tag)] = s.count.get((svg, tag), 0) + 1
        for k, v in a.items():
            assert "NaN" not in (v or "") and "inf" not in (v or "").lower(), f"{tag} {k}={v}"
    def handle_endtag(s, tag):
        if tag == "svg": s.svg = None
p = P(); p.feed(open(sys.argv[1]).read())
n = lambda svg, tag: p.count.get((svg, tag), 0)
assert "verdict" in p.ids and "figures" in p.ids, "verdict banner or figures missing"
cells = len([s for s in rep["settlement"] if s["amount_fen"] > 0])
if cells:
    assert n("flows", "path") == cells, f"flows: {n('flows', 'path')} bands, {cells} flows"
    assert "matrix" in p.ids
    months = len({u["month"] for u in rep["utilization"]})
    provs = len({u["provider"] for u in rep["utilization"]})
    assert n("utilization", "polyline") == provs, f"utilization: {n('utilization', 'polyline')} lines"
    assert n("utilization", "circle") == provs * months, "utilization: points"
else:
    assert n("flows", "path") == 0 and n("utilization", "polyline") == 0, "charts of nothing"
assert n("budget", "rect") >= len(rep["issuers"]), f"budget: {n('budget', 'rect')} rects"
for t in ["t-issuers", "t-providers", "t-nodes"]:
    assert t in p.ids, f"table {t} missing"
if rep["conflicts"]: assert "t-conflicts-orders" in p.ids, "conflicts table missing"
if rep["forks"]: assert "t-forks-certificates" in p.ids, "forks table missing"
print("dom: %d flow bands, %d utilization lines, %d budget rects" %
      (n("flows", "path"), n("utilization", "polyline"), n("budget", "rect")))
EOF

cat >"$work/check_png.py" <<'EOF'
# check_png.py PNG MIN_NONWHITE MIN_COLOURS COLOUR...: the screenshot is not
# blank (a share of pixels darker than near-white) and at least MIN_COLOURS of
# the charts' fill colours cover 100 pixels or more each.
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB")
px = im.getdata()
share = sum(1 for p in px if min(p) < 235) / len(px)
counts = {}
for p in px: counts[p] = counts.get(p, 0) + 1
seen = [c for c in sys.argv[4:] if counts.get(tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)), 0) >= 100]
print(f"png: {im.size[0]}x{im.size[1]}, {share:.1%} not white, chart colours {' '.join(seen)}")
sys.exit(0 if share >= float(sys.argv[2]) and len(seen) >= int(sys.argv[3]) else 1)
EOF
chart_colours="#1f77b4 #ff7f0e #2ca02c #d62728 #9467bd #8c564b #e377c2 #2e7d32 #ff9800 #4a5568"

# no_fetch HTML: nothing the page could load: no URL, no script, no src or
# href, no CSS url(), no @import.
no_fetch() {
  ! grep -qiE 'https?://|<script|src=|href=|url\(|@import|//[a-z0-9.-]+\.[a-z]{2,}/' "$1"
}

# --- the checkers catch planted faults -------------------------------------
printf '<!DOCTYPE html><html><body><p>x</p></body></html>\n' >"$work/blank.html"
chrome blank --screenshot="$work/blank.png" --window-size=1280,2400 "file://$work/blank.html"
check "the screenshot checker fails a blank page" \
  bash -c "! $pil $work/check_png.py $work/blank.png 0.10 8 $chart_colours"
printf '<p>x</p><img alt="" src="https://example.org/x.png">\n' >"$work/fetch.html"
fetches() { ! no_fetch "$1"; }
check "the fetch checker finds a URL" fetches "$work/fetch.html"

# --- the realistic report and the empty one --------------------------------
for name in reconcile_report reconcile_report_empty; do
  json=$fixtures/$name.json
  out=$work/$name
  "$render" "$json" "$out.html" "$out.csv" 2>"$out.err"
  check "$name: render_report exits 0" test $? -eq 0
  check "$name: ten CSV files and the page, no .tmp left" \
    test "$(ls "$out.csv" | grep -c '\.csv$')" -eq 10 -a -s "$out.html" -a -z "$(ls "$out.csv" | grep tmp)"
  check "$name: the CSV files match the JSON" python3 "$work/check_csv.py" "$json" "$out.csv"
  check "$name: the page fetches nothing and has no script" no_fetch "$out.html"
  check "$name: the page states a Content-Security-Policy" grep -q "default-src 'none'" "$out.html"
  chrome "$name-dom" --dump-dom "file://$out.html"
  check "$name: Chromium built the charts and tables" python3 "$work/check_dom.py" "$work/$name-dom.out" "$json"
  check "$name: no console message while loading" no_console "$name-dom"
  chrome "$name-shot" --screenshot="$out.png" --window-size=1280,2400 "file://$out.html"
  check "$name: no console message while drawing" no_console "$name-shot"
  if [ "$name" = reconcile_report ]; then
    check "$name: the screenshot shows the charts" "$pil" "$work/check_png.py" "$out.png" 0.12 8 $chart_colours
  else
    check "$name: the screenshot shows the budget chart" "$pil" "$work/check_png.py" "$out.png" 0.05 2 "#1f77b4" "#2e7d32"
  fi
done

r=$work/reconcile_report
check "the verdict names the faults in words" \
  grep -q 'Discrepancies found.*1 of 4 nodes did not verify.*3 certificates missing on 1 node.*1 log error.*1 conflict (two orders for one voucher).*1 fork' "$r.html"
check "the empty report's verdict is 'no discrepancies'" \
  grep -q 'Reconciled: no discrepancies found' "$work/reconcile_report_empty.html"
check "headline figures in yuan to the fen" \
  grep -q "&yen;$(python3 -c 'import json,sys; f=json.load(open(sys.argv[1]))["summary"]["redeemed_fen"]; print(f"{f//100:,}.{f%100:02d}")' "$fixtures/reconcile_report.json")" "$r.html"
check "province names beside the codes" grep -q '520000 Guizhou.*150000 Inner Mongolia\|150000 Inner Mongolia.*520000 Guizhou' "$r.html"
check "strings from the report are escaped" grep -qF '&quot;vote&quot; &lt;script&gt;alert(1)&lt;/script&gt;' "$r.html"
check "the evidence hashes are on the page" \
  grep -qF "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["forks"][0]["certificates"][1]["order_hash"])' "$fixtures/reconcile_report.json")" "$r.html"

# The CSP holds: an image planted in the real page is refused, and the
# refusal is the console message no_console looks for.
sed 's|</main>|<img alt="" src="http://192.0.2.1/x.png"></main>|' "$r.html" >"$work/planted.html"
chrome planted --dump-dom "file://$work/planted.html"
check "a planted fetch is refused by the page's policy and caught" \
  bash -c "grep -q 'CONSOLE.*violates the following Content Security Policy' '$work/planted.err' &&
           ! no_console_file '$work/planted.err' && no_console_file '$work/reconcile_report-dom.err'"
# A CSV with a row dropped fails the CSV checker.
cp -r "$r.csv" "$work/planted.csv"
sed -i '3d' "$work/planted.csv/settlement.csv"
check "the CSV checker catches a dropped row" \
  bash -c "! python3 '$work/check_csv.py' '$fixtures/reconcile_report.json' '$work/planted.csv' 2>/dev/null"

# --- a huge report: bounded page, every row in the CSV ---------------------
cat >"$work/big.py" <<'PYEOF'
# 3000 issuers and 300 data centers in 62 regions over 40 months, 40 nodes
# each missing 250000 certificates (1000 listed).
import json, sys, random
r = random.Random(1)
codes = ["%02d%04d" % (p, c) for p in (11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41,
         42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65) for c in (0, 100)]
iss = [dict(id="issuer-%04d" % i, region=codes[i % len(codes)], budget_fen=r.randint(1, 10**10),
            redeemed_fen=r.randint(0, 10**9), outstanding_fen=r.randint(0, 10**9), vouchers=i) for i in range(3000)]
prov = [dict(id="dc-%03d" % i, region=codes[(i * 7) % len(codes)], redeemed_fen=r.randint(0, 10**9),
             gpu_hours=r.random() * 1e5, firms_served=i, redemptions=i) for i in range(300)]
sett = [dict(issuer_region=a, provider_region=b, amount_fen=r.randint(0, 10**8)) for a in codes for b in codes]
months = ["%04d-%02d" % (2023 + m // 12, m % 12 + 1) for m in range(40)]
util = [dict(provider=p["id"], month=m, redeemed_fen=r.randint(0, 10**7), gpu_hours=r.random() * 1e4,
             redemptions=3) for p in prov for m in months]
nodes = [dict(id="n%d" % k, source="s", verified=True, entries=10**6, state_digest="ab" * 32,
              missing_certificates=[dict(account="cd" * 32, seq=s, order_hash="ef" * 32, kind="REDEEM")
                                    for s in range(1000)], missing_count=250000, errors=[], errors_total=0)
         for k in range(40)]
json.dump(dict(ok=False, as_of="2030-01-01T00:00:00Z", network=dict(name="big"),
               summary=dict(nodes=40, nodes_verified=40), issuers=iss, providers=prov, settlement=sett,
               utilization=util, nodes=nodes, conflicts=[], forks=[]), open(sys.argv[1], "w"))
PYEOF
python3 "$work/big.py" "$work/big.json"
"$render" "$work/big.json" "$work/big.html" "$work/big.csv" 2>"$work/big.err"
check "a huge report renders" test $? -eq 0
check "its page stays under 1 MB ($(stat -c %s "$work/big.html") bytes)" test "$(stat -c %s "$work/big.html")" -lt 1000000
check "its tables say how many rows are left out and where they are" \
  grep -q '2900 more rows are not shown here: see issuers.csv' "$work/big.html"
check "its CSV has every row (3000 issuers, 40000 missing certificates)" \
  test "$(wc -l <"$work/big.csv/issuers.csv")" -eq 3001 -a "$(wc -l <"$work/big.csv/missing.csv")" -eq 40001
check "its matrix sums the small regions under 'other'" grep -q 'other (32 regions)' "$work/big.html"
chrome big-dom --dump-dom "file://$work/big.html"
check "Chromium draws 8 of its 300 data centers, without a console message" \
  bash -c "[ \$(grep -o '<polyline' '$work/big-dom.out' | wc -l) -eq 8 ] && no_console_file '$work/big-dom.err'"

# --- bad reports: an error naming the member, no file ---------------------
badrun() { # NAME JSON-TEXT EXPECTED-EXIT EXPECTED-MESSAGE
  printf '%s' "$2" >"$work/$1.json"
  "$render" "$work/$1.json" "$work/$1.html" "$work/$1.csv" 2>"$work/$1.err"
  local rc=$?
  if [ "$rc" -eq "$3" ] && grep -qF -- "$4" "$work/$1.err" && [ ! -e "$work/$1.html" ] &&
     [ -z "$(ls "$work" | grep "^$1\.html\.tmp")" ]; then
    ok "bad report $1: exit $rc, '$4'"
  else
    bad "bad report $1: exit $rc, $(cat "$work/$1.err")"
  fi
}
badrun negative '{"ok":false,"issuers":[{"id":"x","budget_fen":-5}]}' 1 'issuers[0].budget_fen: not an integer >= 0'
badrun notarray '{"ok":true,"settlement":{"a":1}}' 1 'report.settlement: not an array'
badrun rowtype '{"ok":true,"utilization":[{"provider":"p","month":"2026-01","gpu_hours":"many"}]}' 1 'utilization[0].gpu_hours: not a number >= 0'
badrun nobool '{"ok":"yes"}' 1 'report.ok: not a boolean'
badrun notjson '{"ok":' 2 'render_report:'
big=$(python3 -c 'print(2**63-1)')
badrun overflow "{\"ok\":true,\"settlement\":[{\"issuer_region\":\"110000\",\"provider_region\":\"520000\",\"amount_fen\":$big},{\"issuer_region\":\"110000\",\"provider_region\":\"520000\",\"amount_fen\":$big},{\"issuer_region\":\"110000\",\"provider_region\":\"520000\",\"amount_fen\":$big}]}" 1 'more than 2^64 fen'

# Every member of the top level, of the first row of each table and of
# its nested rows, replaced by values of other types: an error or a page,
# never a crash (the sanitizer build aborts on any memory error).
cat >"$work/mutate.py" <<'PYEOF'
import json, subprocess, sys, os
render, fix, work = sys.argv[1:4]
base = json.load(open(fix))
paths = [[k] for k in base]
for k, v in base.items():
    if isinstance(v, dict): paths += [[k, m] for m in v]
    if isinstance(v, list) and v and isinstance(v[0], dict):
        paths += [[k, 0, m] for m in v[0]]
        for m, x in v[0].items():
            if isinstance(x, list) and x and isinstance(x[0], dict): paths += [[k, 0, m, 0, n] for n in x[0]]
            if isinstance(x, dict): paths += [[k, 0, m, n] for n in x]
runs = refused = 0
kinds = ["x", -1, 1.5, None, {}, [1]]
for i, p in enumerate(paths):  # two kinds a member, in turn: every kind on every table
    for val in (kinds[i % 6], kinds[(i + 3) % 6]):
        d = json.loads(json.dumps(base))
        o = d
        for q in p[:-1]: o = o[q]
        o[p[-1]] = val
        json.dump(d, open(f"{work}/m.json", "w"))
        r = subprocess.run([render, f"{work}/m.json", f"{work}/m.html", f"{work}/m.csv"],
                           capture_output=True, text=True, timeout=60)
        runs += 1
        refused += r.returncode == 1
        if r.returncode not in (0, 1) or (r.returncode == 1) != ("render_report: " in r.stderr):
            sys.exit(f"{p} = {val!r}: exit {r.returncode}: {r.stderr[-400:]}")
print(f"mutations: {runs} reports, {refused} refused with a message, none crashed")
PYEOF
mkdir -p "$work/mut"
check "members of the wrong type: an error or a page, never a crash" \
  python3 "$work/mutate.py" "$render" "$fixtures/reconcile_report.json" "$work/mut"

# A minimal report renders (every table absent).
"$render" <(printf '{"ok":true}') "$work/min.html" "$work/min.csv" 2>"$work/min.err"
check "a report with no tables renders" test $? -eq 0 -a -s "$work/min.html"

finish
