#!/usr/bin/env bash
# vl_client_install_test.sh - what `cmake --install` gives a billing system
# is enough to build a client: installs the build tree into a temporary
# prefix, compiles every installed header on its own, and compiles and links
# every C example of docs/clients.md against that prefix alone (its
# pkg-config file; no source-tree include path).
#
# usage: vl_client_install_test.sh BUILD_DIR CMAKE CC PKG_CONFIG CLIENTS_MD [EXTRA_CFLAGS]
# (EXTRA_CFLAGS: the sanitizer flags of a VL_SANITIZE build, which the
# installed static libraries need at link time.)
# Prints "N passed, N failed"; exits non-zero on any failure.
set -u

build=${1:?usage: vl_client_install_test.sh BUILD_DIR CMAKE CC PKG_CONFIG CLIENTS_MD [EXTRA_CFLAGS]}
cmake=$2
cc=$3
pkgconfig=$4
doc=$5
extra=${6:-}
dir=$(mktemp -d "${TMPDIR:-/tmp}/vl_client_install_test.XXXXXX")
trap 'rm -rf "$dir"' EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

prefix=$dir/prefix
if "$cmake" --install "$build" --prefix "$prefix" >"$dir/install.log" 2>&1; then pass; else
    fail "cmake --install: $(cat "$dir/install.log")"
fi

for f in bin/voucherctl bin/voucher-bench lib/libvl_client.a lib/libvl_wire.a \
    lib/pkgconfig/voucher-ledger.pc include/voucher-ledger/vl_client.h \
    include/voucher-ledger/vl_orderkit.h include/voucher-ledger/vl_keyfile.h \
    share/doc/voucher-ledger/operations.md share/doc/voucher-ledger/clients.md \
    share/doc/voucher-ledger/prometheus-alerts.yml; do
    if [ -e "$prefix/$f" ]; then pass; else fail "not installed: $f"; fi
done

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
if cflags=$("$pkgconfig" --cflags voucher-ledger) && libs=$("$pkgconfig" --libs voucher-ledger); then
    pass
else
    fail "pkg-config does not resolve voucher-ledger"
    cflags="-I$prefix/include/voucher-ledger"
    libs="-L$prefix/lib -lvl_client -lvl_wire"
fi
strict=(-std=c11 -Wall -Wextra -Werror -Wpedantic -Wstrict-prototypes -Wconversion
    -Wno-sign-conversion)

# every installed header compiles on its own: nothing it needs is missing
for h in "$prefix"/include/voucher-ledger/*.h; do
    printf '#include "%s"\ntypedef int nonempty_unit;\n' "$(basename "$h")" >"$dir/one.c"
    # shellcheck disable=SC2086 # cflags is a list of flags
    if "$cc" "${strict[@]}" $cflags -c "$dir/one.c" -o "$dir/one.o" 2>"$dir/cc.err"; then pass; else
        fail "$(basename "$h") alone: $(cat "$dir/cc.err")"
    fi
done

# every ```c block of docs/clients.md, compiled and linked with a main()
# (the examples are functions a billing system would call)
python3 - "$doc" "$dir" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
blocks = re.findall(r"^```c\n(.*?)^```", text, re.S | re.M)
for i, b in enumerate(blocks):
    open("%s/example%d.c" % (sys.argv[2], i), "w").write(b + "\nint main(void)\n{\n    return 0;\n}\n")

PY
n=$(ls "$dir"/example*.c 2>/dev/null | wc -l)
if [ "$n" -ge 1 ]; then pass; else fail "no C example found in $doc"; fi
for ex in "$dir"/example*.c; do
    [ -e "$ex" ] || continue
    # shellcheck disable=SC2086 # flag lists
    if "$cc" "${strict[@]}" -Wno-unused-function $extra $cflags "$ex" -o "${ex%.c}" $libs \
        2>"$dir/cc.err"; then pass; else
        fail "$(basename "$ex") of $doc: $(cat "$dir/cc.err")"
    fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
