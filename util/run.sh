#!/usr/bin/env bash
# Runs the module for real: builds it, starts a private PostgreSQL with
# demo accounts (or uses BALANCE_DSN, a libpq conninfo string of an existing
# database holding Studio's current_state table), and runs the stock nginx
# with the module in the foreground, answering JSON-RPC on BALANCE_LISTEN
# (default 127.0.0.1:8545) at / and /api.  Ctrl-C stops all of it.
#
#   BALANCE_DSN       use this database instead of a private one
#   BALANCE_LISTEN    address:port nginx listens on
#   BALANCE_ACCOUNTS  demo accounts to create (default 5000)
#   BALANCE_WORKERS   worker_processes (default auto)
#   BALANCE_STANDBY=1 also make a streaming standby of the private
#                     PostgreSQL (pg_basebackup -R, port + 1) and read
#                     from both; the X-Balance-Server header names the
#                     server that answered, /status shows both
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

listen=${BALANCE_LISTEN:-127.0.0.1:8545}
accounts=${BALANCE_ACCOUNTS:-5000}
workers=${BALANCE_WORKERS:-auto}
rundir="$top/run/demo"
pgdir="$top/run/demo-pg"
pgport=${BALANCE_PG_PORT:-15440}
standbydir="$top/run/demo-pg-standby"

util/deps.sh
util/build.sh
make -s -C util gen_accounts

mkdir -p "$rundir/logs" "$rundir/tmp"

cleanup() {
    if [ -f "$rundir/nginx.pid" ]; then
        kill -QUIT "$(cat "$rundir/nginx.pid")" 2>/dev/null || true
    fi
    if [ -z "${BALANCE_DSN:-}" ]; then
        util/pg.sh stop "$standbydir"
        util/pg.sh stop "$pgdir"
        echo "run: PostgreSQL stopped"
    fi
}
trap cleanup EXIT
# a kill (systemd, timeout) stops the databases too, as Ctrl-C does
trap 'exit 143' TERM

if [ -n "${BALANCE_DSN:-}" ]; then
    dsn=$BALANCE_DSN
    psql_cmd=(psql "$dsn" -X -q -v ON_ERROR_STOP=1)
else
    util/pg.sh start "$pgdir" "$pgport" studio studio
    dsn="host=127.0.0.1 port=$pgport dbname=studio user=studio"
    psql_cmd=(util/pg.sh psql "$pgdir" "$pgport" studio studio)
    "${psql_cmd[@]}" -f util/schema.sql
    have=$("${psql_cmd[@]}" -tAc "SELECT count(*) FROM current_state")
    if [ "$have" -lt "$accounts" ]; then
        echo "run: loading $accounts demo accounts"
        "${psql_cmd[@]}" -c "TRUNCATE current_state"
        util/gen_accounts "$accounts" | "${psql_cmd[@]}" \
            -c "COPY current_state (id, balance) FROM STDIN (FORMAT csv)"
        "${psql_cmd[@]}" -c "ANALYZE current_state"
    fi
fi

# a conninfo inside a quoted nginx string: escape what nginx would take
conf_dsn=${dsn//\\/\\\\}
conf_dsn=${conf_dsn//\"/\\\"}
servers="        server \"$conf_dsn\";"
if [ "${BALANCE_STANDBY:-}" = 1 ] && [ -z "${BALANCE_DSN:-}" ]; then
    # a copy of the demo database as it is now, streaming from it
    util/pg.sh stop "$standbydir"
    rm -rf "$standbydir"
    util/pg.sh standby "$standbydir" $((pgport + 1)) "$pgdir"
    servers="$servers
        server \"host=127.0.0.1 port=$((pgport + 1)) dbname=studio user=studio\" role=standby;
        max_lag 1s;"
    echo "run: reading from the primary (port $pgport) and a standby (port $((pgport + 1)))"
fi


cat >"$rundir/nginx.conf" <<CONF
load_module $top/build/ngx_http_balance_module.so;

worker_processes $workers;
daemon off;
pid $rundir/nginx.pid;
error_log $rundir/logs/error.log notice;
error_log stderr error;

events {
    worker_connections 4096;
}

http {
    access_log $rundir/logs/access.log;
    client_body_temp_path $rundir/tmp;

    balance_pool studio {
$servers
        connections 4;
        queue 1024 timeout=1s;
        connect_timeout 3s;
        query_timeout 2s;
    }

    server {
        listen $listen;

        location = / {
            balance_pass studio;
            balance_chain_id 61999;
        }

        location = /api {
            balance_pass studio;
            balance_chain_id 61999;
            add_header X-Balance-Server \$balance_server always;
        }

        location = /status {
            balance_status;
        }
    }
}
CONF

/usr/sbin/nginx -t -q -c "$rundir/nginx.conf" -p "$rundir"

example=$("${psql_cmd[@]}" -tAc \
    "SELECT id FROM current_state WHERE balance > 0 ORDER BY id LIMIT 1")

cat <<MSG

nginx with ngx_http_balance_module answers JSON-RPC on http://$listen/api
(and /).  Try:

  curl -s http://$listen/api -H 'Content-Type: application/json' \\
    -d '{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["$example","latest"]}'

Metrics: http://$listen/status.  Logs: $rundir/logs.  Ctrl-C stops nginx
and the demo database.

MSG

/usr/sbin/nginx -c "$rundir/nginx.conf" -p "$rundir" &
nginx_pid=$!
# Ctrl-C reaches nginx too (same process group); wait for it either way
wait "$nginx_pid" || true
