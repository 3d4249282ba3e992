#!/usr/bin/env bash
# Runs every libFuzzer target of a VL_FUZZ=ON build for a bounded time.
#
#   tests/fuzz/run_fuzzers.sh BUILD_DIR SECONDS
#
# Each target (BUILD_DIR/tests/fuzz/fuzz_*) fuzzes for SECONDS seconds over a
# temporary COPY of its seed corpus (tests/fuzz/corpus/<target>/): the
# checked-in corpus is never written.  Targets run in parallel, at most
# VL_FUZZ_JOBS at a time (default: the number of CPUs).  Exits non-zero if
# any target crashes, leaks, times out or fails an invariant; the input that
# did it is kept in BUILD_DIR/fuzz-artifacts/<target>/ and the log tail is
# printed.  Replay a crash with: BUILD_DIR/tests/fuzz/fuzz_<target> <file>
set -euo pipefail

if [ $# -ne 2 ] || ! [[ $2 =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 BUILD_DIR SECONDS" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
jobs=${VL_FUZZ_JOBS:-$(nproc)}
# A single input must finish in this many seconds and this much memory.
per_input_timeout=${VL_FUZZ_TIMEOUT:-10}
rss_limit_mb=${VL_FUZZ_RSS_MB:-2048}

targets=()
for bin in "$build"/tests/fuzz/fuzz_*; do
  [ -f "$bin" ] && [ -x "$bin" ] || continue
  if ! grep -qa LLVMFuzzerRunDriver "$bin" && ! grep -qa "libFuzzer" "$bin"; then
    echo "$bin is not a libFuzzer binary (configure with CC=clang -DVL_FUZZ=ON)" >&2
    exit 2
  fi
  targets+=("$bin")
done
if [ ${#targets[@]} -eq 0 ]; then
  echo "no fuzz targets in $build/tests/fuzz (configure with CC=clang -DVL_FUZZ=ON)" >&2
  exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/vl-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

run_target() {
  local bin=$1 name=${1##*/fuzz_}
  local dir=$work/$name
  mkdir -p "$dir/corpus" "$dir/artifacts"
  if [ -d "$here/corpus/$name" ]; then
    cp "$here/corpus/$name"/* "$dir/corpus/" 2>/dev/null || true
  fi
  local rc=0
  "$bin" -max_total_time="$seconds" -timeout="$per_input_timeout" \
    -rss_limit_mb="$rss_limit_mb" -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/" "$dir/corpus" >"$dir/log" 2>&1 || rc=$?
  echo "$rc" >"$dir/rc"
}

echo "fuzzing ${#targets[@]} targets for ${seconds}s each, $jobs at a time"
for bin in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
    wait -n || true
  done
  run_target "$bin" &
done
wait

failed=0
for bin in "${targets[@]}"; do
  name=${bin##*/fuzz_}
  dir=$work/$name
  rc=$(cat "$dir/rc" 2>/dev/null || echo 99)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  units=$(find "$dir/corpus" -type f | wc -l)
  if [ "$rc" -eq 0 ]; then
    printf '  %-12s ok      %10s runs, corpus %s inputs\n' "$name" "${runs:-?}" "$units"
  else
    failed=1
    keep=$build/fuzz-artifacts/$name
    mkdir -p "$keep"
    cp "$dir/artifacts"/* "$keep/" 2>/dev/null || true
    printf '  %-12s FAILED  (exit %s); inputs kept in %s\n' "$name" "$rc" "$keep"
    tail -n 40 "$dir/log" | sed 's/^/    /'
  fi
done
exit "$failed"
