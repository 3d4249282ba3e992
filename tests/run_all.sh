#!/usr/bin/env bash
# The one test command (README): installs what is missing, then builds and
# runs every test three ways:
#   1. an optimized build with assertions on      (build/release)
#   2. AddressSanitizer + UndefinedBehaviorSanitizer (build/asan)
#   3. with clang, every target (so clang's warnings, errors here too, are
#      checked as gcc's are), then the libFuzzer targets, a short bounded
#      run each                                     (build/fuzz)
# Set VL_FUZZ_SECONDS to change the per-target fuzz time (default 10).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tools/install-deps.sh

jobs=$(nproc)
fuzz_seconds=${VL_FUZZ_SECONDS:-10}

step() { printf '\n=== %s ===\n' "$*"; }

step "release build (assertions on)"
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/release -j "$jobs"
(cd build/release && ctest --output-on-failure -j "$jobs")

step "AddressSanitizer + UndefinedBehaviorSanitizer build"
cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DVL_SANITIZE=ON >/dev/null
cmake --build build/asan -j "$jobs"
(cd build/asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j "$jobs")

step "clang build of every target; libFuzzer: ${fuzz_seconds}s per decoder"
CC=clang cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVL_FUZZ=ON >/dev/null
cmake --build build/fuzz -j "$jobs"
tests/fuzz/run_fuzzers.sh build/fuzz "$fuzz_seconds"

step "all tests passed"
