#!/usr/bin/env bash
# data_check_test.sh VOUCHERCTL VOUCHERD VOUCHER-BENCH
#
# The walk of a whole data file (consensus/vl_check.c) as an operator meets
# it, against a real voucherd of a one-voter `voucherctl devnet` (ports from
# $$ in 32200-32699, another base if a port is taken).  The demo writes a
# few vouchers; the node is stopped; then its data.mdb is damaged in six
# ways a failing disk or a stray write can (each edit is made on LMDB's own
# page layout by the Python below: a leaf's record count, a table's root
# page number, a record's value length beyond the file's size or only past
# its end (the reader faults: SIGBUS, or a sanitizer's exit), a record's
# offset in its page), one at a time, on the node's own file, restored
# from a pristine copy after each.  For each damage: voucherd refuses to start (exit 1, `fatal
# error=corrupt` naming the table, `data_damaged` with the remedy) and
# leaves the file byte for byte as it was; `verify-log --data-dir` exits 1
# and names the table; `backup` exits 1 and writes no copy.  One damage is
# shown to pass without the walk: with "check_data_at_start": false the
# node starts on it and calls itself a voter in quorum.
# While running (check_data_every_s 1): walks under a voucher-bench load stay
# sound; a walk whose child is stopped (SIGSTOP) is killed after its timeout
# and the walks go on; damage made under the running node stops it (exit
# 1) and its restart refuses the file.  Last, the pristine file restored:
# the node starts, reports the records it read, and serves the same log.
# Every process started is killed on exit; every wait is bounded; no timing
# assertions.  Prints "N passed, N failed".
set -u
ctl=${1:?usage: data_check_test.sh VOUCHERCTL VOUCHERD VOUCHER-BENCH}
voucherd=${2:?usage: data_check_test.sh VOUCHERCTL VOUCHERD VOUCHER-BENCH}
bench=${3:?usage: data_check_test.sh VOUCHERCTL VOUCHERD VOUCHER-BENCH}

. "$(dirname "$0")/devnetlib.sh"
node_pid=
cleanup_extra() {
  if [ -n "$node_pid" ]; then kill -KILL "$node_pid" 2>/dev/null; wait "$node_pid" 2>/dev/null; fi
}
devnet_test_init data-check-test 220 # ctest TIMEOUT 260

# ---- a one-voter devnet with a few vouchers, stopped ----------------------------------------

devnet_start 32200 4 --voters 1
run demo 120 devnet demo --dir "$dir"
check "the demo runs (issue, redeem, a double spend refused)" [ "$rc" -eq 0 ]
genesis=$(dn 'd["genesis"]')
data=$(dn 'd["nodes"][0]["data_dir"]')
cfg=$(dn 'd["nodes"][0]["config"]')
ep=$(dn 'd["nodes"][0]["client_endpoint"]')
run down 60 devnet down --dir "$dir"
check "devnet down" [ "$rc" -eq 0 ]
cp -a "$data" "$work/pristine"

# start_node NAME [CONFIG]: voucherd on the node's configuration, its
# output in $work/NAME.log; waits (at most 20 s) until it exits or logs
# `ready`.  Sets $node_rc: its exit status, or "ready" (then $node_pid runs).
start_node() {
  local c=${2:-$cfg}
  "$voucherd" --config "$c" >"$work/$1.log" 2>&1 &
  node_pid=$!
  echo "$node_pid" >>"$work/pids"
  node_rc=timeout
  for _ in $(seq 1 200); do
    if ! kill -0 "$node_pid" 2>/dev/null; then
      wait "$node_pid"; node_rc=$?; node_pid=; return
    fi
    grep -q 'event=ready' "$work/$1.log" && { node_rc=ready; return; }
    sleep 0.1
  done
}
stop_node() {
  [ -n "$node_pid" ] || return
  kill -TERM "$node_pid"
  gone "$node_pid" || kill -KILL "$node_pid"
  wait "$node_pid" 2>/dev/null
  node_pid=
}

start_node clean
all_of_1() { [ "$node_rc" = ready ] && grep -qE 'event=data_checked records=[1-9][0-9]* ' "$work/clean.log"; }
check "the node restarts on its own data and says how many records its walk read" all_of_1
records=$(grep -oE 'event=data_checked records=[0-9]+' "$work/clean.log" | cut -d= -f3)
run head0 30 status --genesis "$genesis" --node "$ep" --json
head0=$(py "$work/head0.out" 'd["nodes"][0]["status"]["log_head"]')
check "... and serves its log ($head0 entries)" [ "${head0:-0}" -ge 4 ]
stop_node
run vclean 60 verify-log --data-dir "$data" --genesis "$genesis" --json
all_of_2() { [ "$rc" -eq 0 ] && [ "$(py "$work/vclean.out" 'd["records_checked"]')" = "$records" ]; }
check "verify-log --data-dir reads the same $records records of every table" all_of_2

# ---- six kinds of damage -------------------------------------------------------------------------

# damage FILE WHAT TABLE: edit FILE as WHAT does to TABLE's first leaf page
# (its root page with the demo's few records); prints what it did.
damage() {
  python3 - "$@" <<'PY'
import os, struct, sys
path, what, table = sys.argv[1:4]
PS = 4096
b = bytearray(open(path, "rb").read())
orig = bytes(b)
def meta(i):  # MDB_meta after a 16-byte page header: magic, version, address, mapsize, dbs[2], last_pg, txnid
    off = i * PS + 16
    return struct.unpack_from("<Q", b, off + 24 + 96 + 8)[0], off + 24 + 48  # txnid, main MDB_db
def node(pg, k):  # the k-th node of page pg: (offset, key)
    o = pg * PS
    lower = struct.unpack_from("<H", b, o + 12)[0]
    assert k < (lower - 16) // 2, "page %d has no node %d" % (pg, k)
    no = o + struct.unpack_from("<H", b, o + 16 + 2 * k)[0]
    ksize = struct.unpack_from("<H", b, no + 6)[0]
    return no, bytes(b[no + 8:no + 8 + ksize])
_, main_db = max(meta(0), meta(1))
main_root = struct.unpack_from("<Q", b, main_db + 40)[0]
db_off = None
for k in range(64):
    no, key = node(main_root, k)
    if key == table.encode():
        db_off = no + 8 + len(key)
        break
root = struct.unpack_from("<Q", b, db_off + 40)[0]
for _ in range(8):  # down to the table's first leaf: a branch node's child is in its header
    if struct.unpack_from("<H", b, root * PS + 10)[0] & 2:
        break
    no, _ = node(root, 0)
    lo, hi, fl = struct.unpack_from("<HHH", b, no)
    root = lo | hi << 16 | fl << 32
assert struct.unpack_from("<H", b, root * PS + 10)[0] & 2, "no leaf under %s" % table
if what == "count":      # the leaf's record count (mp_lower): garbage slots past the real ones
    struct.pack_into("<H", b, root * PS + 12, 4000)
elif what == "root":     # the table's root page: far past the file
    struct.pack_into("<Q", b, db_off + 40, 0x0FFFFFFF)
elif what == "length":   # the first record's value length: about 2 GiB
    no, _ = node(root, 0)
    struct.pack_into("<HH", b, no, 0xFFFF, 0x7FFF)
elif what == "overrun":  # the first record's value length: past the file's end, not past its size
    no, _ = node(root, 0)
    n = len(b) - 1
    struct.pack_into("<HH", b, no, n & 0xFFFF, n >> 16)
elif what == "offset":   # the first record's offset in its page: near the page's end
    struct.pack_into("<H", b, root * PS + 16, 0xFF0)
else:
    sys.exit("unknown damage " + what)
# Write back only the bytes that changed, in place: a running node may write other pages.
with open(path, "r+b") as f:
    i = 0
    while i < len(b):
        if b[i] != orig[i]:
            j = i
            while j < len(b) and b[j] != orig[j]:
                j += 1
            f.seek(i)
            f.write(b[i:j])
            i = j
        else:
            i += 1
    f.flush()
    os.fsync(f.fileno())
print("%s of %s (page %d)" % (what, table, root))
PY
}

for case in "count accounts" "root log" "length accounts" "overrun accounts" "offset log" \
  "count log"; do
  set -- $case
  dmg=$1 tbl=$2 # not `what`: check() has a local of that name
  rm -rf "$data" && cp -a "$work/pristine" "$data"
  did=$(damage "$data/data.mdb" "$dmg" "$tbl" 2>&1)
  if [ $? -ne 0 ]; then bad "damage $dmg $tbl: $did"; continue; fi
  sum=$(sha256sum <"$data/data.mdb")
  start_node "d-$dmg-$tbl"
  all_of_3() { [ "$node_rc" = 1 ] && \
    grep -qE "event=fatal error=corrupt .*damaged: table $tbl" "$work/d-$dmg-$tbl.log" && \
    grep -q 'event=data_damaged hint=.*observer' "$work/d-$dmg-$tbl.log"; }
  check "$did: voucherd refuses to start, exit 1, names table $tbl and the remedy (got $node_rc)" all_of_3
  [ "$node_rc" = ready ] && stop_node
  check "... and leaves data.mdb as it was" [ "$(sha256sum <"$data/data.mdb")" = "$sum" ]
  run "v-$dmg-$tbl" 60 verify-log --data-dir "$data" --genesis "$genesis"
  all_of_4() { [ "$rc" -eq 1 ] && has "v-$dmg-$tbl.err" "the data file is damaged: table $tbl"; }
  check "... verify-log --data-dir: exit 1 (no signal), names table $tbl" all_of_4
  run "b-$dmg-$tbl" 60 backup --data-dir "$data" --out "$work/bak-$dmg-$tbl" --genesis "$genesis"
  all_of_5() { [ "$rc" -eq 1 ] && has "b-$dmg-$tbl.err" "damaged: table $tbl" && \
    [ ! -e "$work/bak-$dmg-$tbl" ]; }
  check "... backup: exit 1, names table $tbl, writes no copy" all_of_5
done

# ---- what the walk adds: the same damage, unseen without it ------------------------------------

rm -rf "$data" && cp -a "$work/pristine" "$data"
damage "$data/data.mdb" length accounts >/dev/null
python3 - "$cfg" "$work/nocheck.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["check_data_at_start"] = False
json.dump(c, open(sys.argv[2], "w"))
PY
start_node nocheck "$work/nocheck.json"
check "with check_data_at_start false, the node starts on a damaged accounts table (got $node_rc)" \
  [ "$node_rc" = ready ]
run st-nocheck 30 status --genesis "$genesis" --node "$ep" --json
check "... and calls itself a voter in quorum: what the walk at start prevents" \
  [ "$(py "$work/st-nocheck.out" 'd["nodes"][0]["status"]["flags"]')" = "['voter', 'in_quorum']" ]
stop_node

# ---- walks while the node runs (check_data_every_s) ---------------------------------------------

rm -rf "$data" && cp -a "$work/pristine" "$data"
python3 - "$cfg" "$work/every.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["check_data_every_s"] = 1
json.dump(c, open(sys.argv[2], "w"))
PY
start_node every "$work/every.json"
check "a node that walks its data file every second starts (got $node_rc)" [ "$node_rc" = ready ]
walks() { grep -c 'event=data_checked .*when=running' "$work/every.log"; }
before=$(walks)
# Writes without a pause while walks run (the devnet's endpoints are this node's): each walk's
# snapshot, under its reader slot, must be sound however the node rewrites the tables.
timeout 60 "$bench" --devnet "$dir" --mode redeem --clients 16 --pipeline --duration 5 \
  --count 20000 --json >"$work/bench.out" 2>"$work/bench.err"
rc=$?
all_of_8() { [ "$rc" -eq 0 ] && [ "$(py "$work/bench.out" 'd["orders"]["certified"] > 0 and d["errors"] == {} and d["verified_on_all_nodes"]')" = True ]; }
check "voucher-bench redeems for 5 s on the node that walks every second, without an error" all_of_8
during=$(( $(walks) - before ))
check "walks while it wrote ended sound ($during, event=data_checked when=running)" [ "$during" -ge 3 ]
check "... and the node still runs" kill -0 "$node_pid"
# A walk that never ends (its child stopped with SIGSTOP, as a child stuck
# on a lock would be) is killed after its timeout (10 s here) and the walks
# go on: caught between fork and exit, polled every 10 ms, at most 500 tries.
stopped_walk=
for _ in $(seq 1 500); do
  for c in $(pgrep -P "$node_pid" 2>/dev/null); do
    kill -STOP "$c" 2>/dev/null && [ "$(sed 's/.*) //' "/proc/$c/stat" 2>/dev/null | cut -c1)" = T ] &&
      stopped_walk=$c && break
  done
  [ -n "$stopped_walk" ] && break
  sleep 0.01
done
check "a walk caught and stopped (SIGSTOP) in its child process ($stopped_walk)" [ -n "$stopped_walk" ]
timed_out() { grep -q 'event=data_check_failed error=timeout' "$work/every.log"; }
check "... is killed after its timeout: event=data_check_failed error=timeout" wait_for 30 timed_out
after=$(walks)
more_walks() { [ "$(walks)" -gt "$after" ]; }
check "... and the walks go on" wait_for 30 more_walks
did=$(damage "$data/data.mdb" length accounts 2>&1)
check "damaged under the running node: $did" [ $? -eq 0 ]
stopped() { ! kill -0 "$node_pid" 2>/dev/null; }
if wait_for 30 stopped; then
  ok "the next walk finds it and the node stops"
  wait "$node_pid" 2>/dev/null
  node_rc=$? node_pid=
else
  bad "the next walk finds it and the node stops"
  stop_node
  node_rc=running
fi
all_of_7() { [ "$node_rc" = 1 ] && \
  grep -q 'event=data_damaged when=running msg=".*table accounts' "$work/every.log" && \
  grep -q 'event=stopped exit=1' "$work/every.log"; }
check "... exit 1, data_damaged when=running naming table accounts (rc $node_rc)" all_of_7
start_node every2 "$work/every.json"
check "... and its restart refuses the file (got $node_rc)" [ "$node_rc" = 1 ]

# ---- the pristine file back: nothing was lost --------------------------------------------------

rm -rf "$data" && cp -a "$work/pristine" "$data"
start_node again
all_of_6() { [ "$node_rc" = ready ] && grep -q "event=data_checked records=$records " "$work/again.log"; }
check "the pristine file restored: the node starts and reads the same $records records" all_of_6
run head1 30 status --genesis "$genesis" --node "$ep" --json
check "... and serves the same log ($head0 entries)" \
  [ "$(py "$work/head1.out" 'd["nodes"][0]["status"]["log_head"]')" = "$head0" ]
stop_node

finish
