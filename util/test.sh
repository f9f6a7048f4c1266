#!/usr/bin/env bash
# Runs every test: C unit tests (also under ASan/UBSan), a short bounded
# pass of the libFuzzer harnesses, the Test::Nginx suites under t/ against
# a real PostgreSQL primary and streaming standby and the stock nginx with
# the built module, the failover test under load, and a real Ethereum
# client (ethers v6) through the module.
#
# Environment: TEST_NGINX_PG_PORT (default 15432) for the throwaway
# cluster under run/test-pg, TEST_NGINX_PG_STANDBY_PORT (default 15433)
# for its streaming standby under run/test-pg-standby (made afresh with
# pg_basebackup on each run); BALANCE_FUZZ_SECONDS (default 15) per
# harness, BALANCE_SKIP_FUZZ=1 skips fuzzing; BALANCE_SKIP_LOAD=1 skips
# the failover test under load (bench/replicas.sh);
# BALANCE_SKIP_CLIENTS=1 skips the npm-based client test (it needs the
# npm registry).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

util/deps.sh
util/build.sh

echo "== unit tests"
make -s -C tests/unit
make -s -C tests/unit sanitize

if [ "${BALANCE_SKIP_FUZZ:-}" != 1 ]; then
    echo "== fuzzing: a short bounded pass over each harness"
    fuzz/deps.sh
    make -s -C fuzz run SECONDS="${BALANCE_FUZZ_SECONDS:-15}"
fi

echo "== PostgreSQL"
pgdir="$top/run/test-pg"
export TEST_NGINX_PG_HOST=127.0.0.1
export TEST_NGINX_PG_PORT=${TEST_NGINX_PG_PORT:-15432}
export TEST_NGINX_PG_DBNAME=balance_test
export TEST_NGINX_PG_USER=balance
standbydir="$top/run/test-pg-standby"
export TEST_NGINX_PG_STANDBY_PORT=${TEST_NGINX_PG_STANDBY_PORT:-15433}
util/pg.sh start "$pgdir" "$TEST_NGINX_PG_PORT" "$TEST_NGINX_PG_DBNAME" \
    "$TEST_NGINX_PG_USER"
trap 'util/pg.sh stop "$standbydir"; util/pg.sh stop "$pgdir"' EXIT
util/pg.sh psql "$pgdir" "$TEST_NGINX_PG_PORT" "$TEST_NGINX_PG_DBNAME" \
    "$TEST_NGINX_PG_USER" -f t/fixture.sql

# a streaming standby of it, made afresh: a copy of the primary as it is
# now, whatever a previous run left behind
echo "== PostgreSQL standby"
util/pg.sh stop "$standbydir"
rm -rf "$standbydir"
util/pg.sh standby "$standbydir" "$TEST_NGINX_PG_STANDBY_PORT" "$pgdir"

export TEST_NGINX_PG_DIR="$pgdir"
export TEST_NGINX_PG_STANDBY_DIR="$standbydir"
export TEST_NGINX_PG_CTL="$top/util/pg.sh ctl $pgdir"
export TEST_NGINX_PG_STANDBY_CTL="$top/util/pg.sh ctl $standbydir"
export TEST_NGINX_LOAD_MODULES="$top/build/ngx_http_balance_module.so"
export TEST_NGINX_BINARY=${TEST_NGINX_BINARY:-/usr/sbin/nginx}

# the real Test::Nginx when it is installed, else the compatible subset
inc=()
if ! perl -MTest::Nginx::Socket -e1 2>/dev/null; then
    inc=(-I "$top/t/compat")
fi

if [ ${#inc[@]} -gt 0 ]; then
    echo "== the Test::Nginx-compatible runner's own tests"
    tests/compat/run.sh
fi

echo "== Test::Nginx suites"
prove "${inc[@]}" -r t/

# Again with one nginx reloaded (HUP) between blocks instead of restarted:
# pools, queues and the statistics zone go through a reload per block.
# Left out: the suites that take the database down, expect counters from
# zero, or expect nginx to refuse its configuration.
echo "== Test::Nginx suites, reloading between blocks"
TEST_NGINX_USE_HUP=1 prove "${inc[@]}" t/001-sanity.t t/002-envelope.t \
    t/003-address.t t/004-body.t t/006-pool.t t/007-client-abort.t \
    t/010-bad-input.t t/011-fallback.t t/012-policy.t t/014-compose.t \
    t/015-failover.t

# A primary and a standby of their own (ports 15490/15491, nginx 18640)
# under wrk load, every answer checked: the standby stopped, the primary
# stopped, the standby frozen; no request may get an error.
if [ "${BALANCE_SKIP_LOAD:-}" != 1 ]; then
    echo "== failover under load: standby stopped, primary stopped, standby frozen"
    REPLICAS_STRICT=1 \
        REPLICAS_PHASES="standby-down primary-down standby-frozen" \
        BENCH_ACCOUNTS=20000 bench/replicas.sh
fi

if [ "${BALANCE_SKIP_CLIENTS:-}" != 1 ]; then
    echo "== Ethereum client"
    tests/clients/ethers.sh
fi

echo "== all tests passed"
