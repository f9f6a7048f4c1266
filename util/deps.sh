#!/usr/bin/env bash
# Installs what building, running and testing the module need, from
# Debian's packages, and the packages named as arguments (what one script
# needs beyond that: gnuplot for the benchmark's plot, clang for fuzzing);
# does nothing when all of it is there already.
set -euo pipefail

pkgs=(
    # build: nginx-dev brings the source tree and configure flags of the
    # packaged nginx (and libpcre2-dev, needed for binary compatibility)
    gcc make nginx nginx-dev libpq-dev libjansson-dev nettle-dev
    # PostgreSQL for the demo, the tests and the benchmark (postgresql
    # brings postgresql-client-15: psql, pg_basebackup for the standbys)
    postgresql postgresql-contrib
    # tests: Test::Base and friends for Test::Nginx, cmocka for C units
    libcmocka-dev libtest-base-perl libtext-diff-perl liblist-moreutils-perl
    libtest-longstring-perl libwww-perl libipc-run-perl
    # tools the scripts call; wrk drives the failover test under load
    curl procps wrk
    "$@"
)

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
    echo "deps: missing packages: ${missing[*]} (run as root to install)" >&2
    exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d keeps the packaged nginx and PostgreSQL services stopped
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
