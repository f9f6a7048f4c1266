#!/usr/bin/env bash
# Installs what the libFuzzer harnesses need beyond util/deps.sh (which
# brings libjansson-dev and nettle-dev): clang and its runtime libraries
# (libFuzzer, ASan, UBSan).  Debian 12 packages; does nothing when all of
# it is there already.
set -euo pipefail

pkgs=(clang libclang-rt-14-dev libjansson-dev nettle-dev make)

missing=()
for p in "${pkgs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" != 0 ]; then
    echo "fuzz/deps.sh: missing packages: ${missing[*]} (run as root to install)" >&2
    exit 1
fi

echo "fuzz/deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
