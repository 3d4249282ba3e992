#!/usr/bin/env bash
# Installs the Debian packages this project needs, when any is missing.
# As root it runs apt-get; otherwise it prints the exact command and fails.
set -euo pipefail

pkgs=(build-essential cmake ninja-build pkg-config python3
      libzmq3-dev liblmdb-dev lmdb-utils libsecp256k1-dev libjansson-dev libmicrohttpd-dev
      nettle-dev # SHA-256 midstates of the hashing domains (wire/vl_crypto.c)
      clang libclang-rt-14-dev
      faketime curl systemd # clock_test (a node's clock off by minutes), systemd_unit_test
      chromium python3-pil) # report_test: the HTML report in headless Chromium, its screenshot

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
