# netlib.sh - shell functions for tests that run a network of real voucherd
# processes on 127.0.0.1 (sourced by voucherd_test.sh, fault_test.sh,
# metrics_test.sh and resource_test.sh; it sources ../testlib.sh).
#
# The caller sets, before calling anything here:
#   voucherd, ctl     paths of the voucherd and voucherctl binaries
#   work              a scratch directory (keys, genesis, configs, data, logs)
#   node_config_extra JSON members added to every node's configuration
#                     (e.g. '"log_level": "debug", "sync_interval_ms": 200')
#   metrics_port_offset  (optional) node I gets "metrics_bind" at port
#                     BASE+offset+I
# and may call net_cleanup from its EXIT trap.  Every process started here
# is recorded in `pids` and `node_pid[I]` and killed by PID (never by name)
# by net_cleanup; every wait is bounded.
#
# Nodes are node1..node4 (genesis indexes 0..3), all voters, max_faulty 1.
# With base port B, node I has peer port B+I and client port B+4+I.
#
# Ports.  Every test keeps its nodes below 32768, out of Linux's ephemeral
# range (32768-60999: any outgoing connection of any process may take a
# port there, and a node stopped and restarted mid-test must get its own
# ports back), and in a window of its own, so that tests running side by
# side (ctest -j) never take each other's ports either:
#   1100-1999 peer_queue_test
#   2000-4199 bench_smoke_test     4400-7499 compare-etcd.sh (etcd)
#   8000-9999 compare-etcd.sh (devnets)                    (7700-7831: the default devnet)
#  10000-11599 voucherd_test      11600-13199 fault_test  13200-14799 metrics_test
#  14800-16399 resource_test      16400-18599 backup_test 18600-20799 ops_test
#  20800-22999 clock_test         23000-25199 devnet_test 25200-27399 reconcile_tamper_test
#  27400-29599 reconcile_test     29600-30199 systemd_unit_test
#  30200-32199 readme_test        32200-32699 data_check_test

# shellcheck source=../testlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../testlib.sh"

pids=()
declare -a node_pid
base=0

# net_make_keys USER...: node1..node4 node keys (and their .pub), one plain
# key per USER name ($work/USER.key).
net_make_keys() {
  local i k
  for i in 1 2 3 4; do
    "$ctl" keygen --node --out "$work/node$i.key" 2>/dev/null >"$work/node$i.pub" || return 1
  done
  for k in "$@"; do "$ctl" keygen --out "$work/$k.key" >/dev/null 2>&1 || return 1; done
}

peer_ep() { echo "tcp://127.0.0.1:$((base + $1))"; }
client_ep() { echo "tcp://127.0.0.1:$((base + 4 + $1))"; }

# make_network BASE NETWORK GENESIS_ARGS...: fresh data; the genesis (four
# voters at ports from BASE, plus GENESIS_ARGS such as --issuer/--provider)
# and node1..node4.json.
make_network() {
  local b=$1 name=$2 args=() i
  shift 2
  rm -rf "$work/data" "$work/genesis.json" "$work"/node?.log
  for i in 1 2 3 4; do
    args+=(--node "node$i,310000,$work/node$i.pub,tcp://127.0.0.1:$((b + i)),tcp://127.0.0.1:$((b + 4 + i)),voter")
  done
  "$ctl" genesis --network "$name" --max-faulty 1 "${args[@]}" "$@" \
    --out "$work/genesis.json" >/dev/null || return 1
  local metrics
  for i in 1 2 3 4; do
    metrics=
    [ -n "${metrics_port_offset:-}" ] &&
      metrics=", \"metrics_bind\": \"127.0.0.1:$((b + metrics_port_offset + i))\""
    cat >"$work/node$i.json" <<JSON
{ "node_id": "node$i", "genesis": "genesis.json", "key_file": "node$i.key",
  "data_dir": "data/node$i"${node_config_extra:+, $node_config_extra}$metrics }
JSON
  done
}

# start_node I [ENV=VALUE...]: start node I in the background, logging to
# nodeI.log (appended).
start_node() {
  local i=$1; shift
  env "$@" "$voucherd" --config "$work/node$i.json" 2>>"$work/node$i.log" &
  node_pid[$i]=$!
  pids+=("$!")
}

# Count of event=ready lines, so that a restart can wait for a new one.
ready_count() { grep -c 'event=ready' "$work/node$1.log" 2>/dev/null || true; }
ready() { [ "$(ready_count "$1")" -gt "${2:-0}" ]; }
exited() { ! kill -0 "${node_pid[$1]}" 2>/dev/null; }
ready_or_exited() { ready "$1" "${2:-0}" || exited "$1"; }

# restart_node I [ENV=VALUE...]: start node I again and wait (30 s at most)
# for its new event=ready line.  False if it exited or did not get ready.
restart_node() {
  local i=$1 before
  before=$(ready_count "$i")
  start_node "$@"
  wait_for 30 ready_or_exited "$i" "$before"
  ready "$i" "$before" && ! exited "$i"
}

# stop_node I SIGNAL: signal node I and reap it; its exit code in $node_rc
# (124: it did not exit within 20 s).
stop_node() {
  kill "-$2" "${node_pid[$1]}" 2>/dev/null
  if wait_for 20 exited "$1"; then
    wait "${node_pid[$1]}"; node_rc=$?
  else
    node_rc=124
  fi
}

# net_start LOW SPAN NETWORK GENESIS_ARGS...: make the network at a port
# base in LOW..LOW+10*SPAN derived from $$ and start the four nodes; try
# another base (5 attempts) when a node cannot bind.  Sets $base.  False if
# the nodes did not all reach event=ready.
net_start() {
  local low=$1 span=$2 attempt i all
  shift 2
  for attempt in 0 1 2 3 4; do
    base=$((low + (($$ + attempt * 397) % span) * 10))
    make_network "$base" "$@" || return 1
    for i in 1 2 3 4; do start_node "$i"; done
    all=true
    for i in 1 2 3 4; do
      wait_for 30 ready_or_exited "$i"
      ready "$i" || all=false
    done
    $all && return 0
    for i in 1 2 3 4; do kill -KILL "${node_pid[$i]}" 2>/dev/null; wait "${node_pid[$i]}" 2>/dev/null; done
    grep -q 'cannot bind' "$work"/node?.log || return 1
    echo "ports from $base in use, trying another base"
  done
  return 1
}

# Remove $work when every check passed and KEEP is unset; else say where it is.
net_finish_work() {
  if [ "$failed" -eq 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$work"; else echo "logs kept in $work"; fi
}

# The EXIT trap of a test with nothing else to undo: net_cleanup, net_finish_work.
net_exit() {
  net_cleanup
  net_finish_work
}

# Kill and reap every process started (SIGKILL ends a stopped one too).
net_cleanup() {
  local p
  [ -n "${watchdog:-}" ] && kill "$watchdog" 2>/dev/null # testlib.sh watchdog_start
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
}
