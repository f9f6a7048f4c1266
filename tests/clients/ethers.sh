#!/usr/bin/env bash
# A real Ethereum client against the module: ethers v6 (from npm, pinned by
# tests/clients/package-lock.json, installed into build/clients/) talks to
# the stock nginx with the built module, which reads the fixture in
# t/fixture.sql from PostgreSQL.
#
# Run by util/test.sh, which builds the module, starts PostgreSQL, loads the
# fixture and exports TEST_NGINX_PG_*.  Standalone, the defaults below match
# `util/pg.sh start run/test-pg 15432 balance_test balance`.
#
# Environment: TEST_NGINX_BINARY (default /usr/sbin/nginx),
# BALANCE_CLIENT_PORT (default 18546), TEST_NGINX_PG_HOST/PORT/DBNAME/USER.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"

nginx=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
module=$top/build/ngx_http_balance_module.so
port=${BALANCE_CLIENT_PORT:-18546}
pg_host=${TEST_NGINX_PG_HOST:-127.0.0.1}
pg_port=${TEST_NGINX_PG_PORT:-15432}
pg_db=${TEST_NGINX_PG_DBNAME:-balance_test}
pg_user=${TEST_NGINX_PG_USER:-balance}

die() { echo "ethers.sh: $*" >&2; exit 1; }

[ -f "$module" ] || die "$module is missing: build it with util/build.sh"
[ -x "$nginx" ] || die "no nginx binary at $nginx (set TEST_NGINX_BINARY)"
command -v node >/dev/null || die "node is not installed"
command -v npm >/dev/null || die "npm is not installed"

# --- ethers from npm, outside the source tree --------------------------------
clients=$top/build/clients
mkdir -p "$clients"
if ! cmp -s tests/clients/package.json "$clients/package.json" ||
   ! cmp -s tests/clients/package-lock.json "$clients/package-lock.json" ||
   [ ! -f "$clients/node_modules/ethers/package.json" ]
then
    echo "ethers.sh: npm ci into $clients"
    cp tests/clients/package.json tests/clients/package-lock.json "$clients/"
    (cd "$clients" && npm ci --no-audit --no-fund) ||
        die "npm ci failed (the npm registry is needed; BALANCE_SKIP_CLIENTS=1 skips this test)"
fi
# Node resolves bare imports from the script's own directory upwards, so the
# script runs from next to its node_modules.
cp tests/clients/ethers.mjs "$clients/ethers.mjs"

# --- nginx -------------------------------------------------------------------
run=$top/run/clients
mkdir -p "$run"
conf=$run/nginx.conf
pidfile=$run/nginx.pid

stop_nginx() {
    [ -f "$pidfile" ] || return 0
    local pid
    pid=$(cat "$pidfile" 2>/dev/null) || return 0
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "ethers.sh: nginx master $pid ignored TERM; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
}

# an nginx left over from an interrupted run of this script
stop_nginx

cat > "$conf" <<EOF
load_module $module;

master_process on;
worker_processes 2;
daemon on;
pid $pidfile;
error_log $run/error.log info;

events {
    worker_connections 256;
}

http {
    access_log $run/access.log;
    client_body_temp_path $run/client_body_temp;
    proxy_temp_path $run/proxy_temp;
    fastcgi_temp_path $run/fastcgi_temp;
    uwsgi_temp_path $run/uwsgi_temp;
    scgi_temp_path $run/scgi_temp;

    balance_pool test {
        server "host=$pg_host port=$pg_port dbname=$pg_db user=$pg_user";
        connections 2;
    }

    server {
        listen 127.0.0.1:$port;

        location = /api {
            balance_pass test;
            balance_chain_id 61999;
        }
    }
}
EOF

: > "$run/error.log"

finish() {
    local rc=$?
    stop_nginx
    if [ "$rc" != 0 ]; then
        echo "ethers.sh: FAILED (exit $rc); $run/error.log:" >&2
        tail -n 200 "$run/error.log" >&2 || true
    fi
    exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "ethers.sh: $nginx on 127.0.0.1:$port, PostgreSQL $pg_host:$pg_port/$pg_db"
"$nginx" -p "$run/" -c "$conf" || die "nginx did not start"

# the master writes its pid once it has daemonized; the socket is already
# listening by then
for _ in $(seq 1 50); do
    [ -s "$pidfile" ] && break
    sleep 0.1
done
[ -s "$pidfile" ] || die "nginx wrote no pid file"

BALANCE_URL="http://127.0.0.1:$port/api" node "$clients/ethers.mjs"
