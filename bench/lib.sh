# Shared by the bench/ scripts: a private PostgreSQL with N accounts and an
# nginx with the module, both under run/bench-<script>/.  Source it; set
# BENCH_PORT, BENCH_PG_PORT, BENCH_WORKERS before calling bench_db.
#
# BENCH_STANDBY=1: bench_nginx's pool has a second server, the streaming
# standby that bench_standby makes (port BENCH_PG_STANDBY_PORT, default
# BENCH_PG_PORT + 1), with role=standby and a lag bound (BENCH_MAX_LAG,
# BENCH_LAG_CHECK); without it the pool has the primary only, as before.
# BENCH_WEIGHT_PRIMARY, BENCH_WEIGHT_STANDBY: weight= of each server line
# (none written when unset, nginx's default 1).

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# each script gets its own folder and ports, so that they can run at once
bench_name=$(basename "$0" .sh)
case "$bench_name" in
    bench) bench_slot=0 ;;
    faults) bench_slot=1 ;;
    syscalls) bench_slot=2 ;;
    statements) bench_slot=3 ;;
    replicas) bench_slot=4 ;;
    *) bench_slot=5 ;;
esac
bench_dir="$top/run/bench-$bench_name"
bench_pg="$bench_dir/pg"
BENCH_PORT=${BENCH_PORT:-$((18600 + 10 * bench_slot))}
BENCH_PG_PORT=${BENCH_PG_PORT:-$((15450 + 10 * bench_slot))}
BENCH_PG_STANDBY_PORT=${BENCH_PG_STANDBY_PORT:-$((BENCH_PG_PORT + 1))}
bench_pg_standby="$bench_dir/pg-standby"
BENCH_WORKERS=${BENCH_WORKERS:-2}
BENCH_ACCOUNTS=${BENCH_ACCOUNTS:-100000}

bench_psql() {
    "$top/util/pg.sh" psql "$bench_pg" "$BENCH_PG_PORT" bench bench "$@"
}

# starts PostgreSQL and loads BENCH_ACCOUNTS accounts unless present
bench_db() {
    "$top/util/pg.sh" start "$bench_pg" "$BENCH_PG_PORT" bench bench
    bench_psql -f "$top/util/schema.sql"
    local have
    have=$(bench_psql -tAc "SELECT count(*) FROM current_state")
    if [ "$have" != "$BENCH_ACCOUNTS" ]; then
        echo "bench: loading $BENCH_ACCOUNTS accounts" >&2
        bench_psql -c "TRUNCATE current_state"
        "$top/util/gen_accounts" "$BENCH_ACCOUNTS" 7 \
            | bench_psql -c "COPY current_state (id, balance) FROM STDIN (FORMAT csv)"
        bench_psql -c "VACUUM ANALYZE current_state"
    fi
}

# the expected answers, written to $1, from the database: 5,000 existing
# accounts and 5,000 missing ones ("0x0"), balances turned into hex
# quantities in SQL; probe_addr and probe_hex: an account with a balance
bench_expected() {
    local out=$1
    {
        echo "CREATE TEMP TABLE probe (n int PRIMARY KEY, id text);"
        echo "INSERT INTO probe SELECT row_number() OVER (ORDER BY md5(id)) - 1, id
              FROM (SELECT id FROM current_state ORDER BY md5(id) LIMIT 5000) s;"
        echo "COPY probe (n, id) FROM STDIN (FORMAT csv);"
        "$top/util/gen_accounts" 5000 99 | awk -F, '{ print NR + 4999 "," $1 }'
        echo '\.'
        cat <<'SQL'
COPY (
    WITH RECURSIVE h (n, v, s) AS (
        SELECT p.n, coalesce(c.balance, 0)::numeric, ''::text
          FROM probe p LEFT JOIN current_state c ON c.id = p.id
        UNION ALL
        SELECT n, div(v, 16),
               substr('0123456789abcdef', mod(v, 16)::int + 1, 1) || s
          FROM h WHERE v > 0
    )
    SELECT h.n, p.id, '0x' || CASE WHEN s = '' THEN '0' ELSE s END
      FROM h JOIN probe p USING (n)
     WHERE v = 0
     ORDER BY h.n
) TO STDOUT (FORMAT csv);
SQL
    } | bench_psql -f - >"$out"

    if [ "$(wc -l <"$out")" != 10000 ] \
       || [ "$(awk -F, '$1 >= 5000 && $3 != "0x0"' "$out" | wc -l)" != 0 ]; then
        echo "$bench_name: $out is not 10,000 lines of which 5,000 zero" >&2
        exit 1
    fi

    probe_addr=$(awk -F, '$1 < 5000 && $3 != "0x0" { print $2; exit }' "$out")
    probe_hex=$(awk -F, '$1 < 5000 && $3 != "0x0" { print $3; exit }' "$out")
}

# a streaming standby of bench_db's cluster, made afresh (pg_basebackup)
bench_standby() {
    "$top/util/pg.sh" stop "$bench_pg_standby"
    rm -rf "$bench_pg_standby"
    "$top/util/pg.sh" standby "$bench_pg_standby" "$BENCH_PG_STANDBY_PORT" "$bench_pg"
}

# the pool's server lines: the primary, and with BENCH_STANDBY=1 the standby
bench_pool_servers() {
    local wp=${BENCH_WEIGHT_PRIMARY:+ weight=$BENCH_WEIGHT_PRIMARY}
    local ws=${BENCH_WEIGHT_STANDBY:+ weight=$BENCH_WEIGHT_STANDBY}
    if [ "${BENCH_STANDBY:-}" = 1 ]; then
        cat <<POOL
        server "host=127.0.0.1 port=$BENCH_PG_PORT dbname=bench user=bench"$wp max_connections=100;
        server "host=127.0.0.1 port=$BENCH_PG_STANDBY_PORT dbname=bench user=bench" role=standby$ws max_connections=100;
        max_lag ${BENCH_MAX_LAG:-1s} check=${BENCH_LAG_CHECK:-200ms};
POOL
    else
        echo "        server \"host=127.0.0.1 port=$BENCH_PG_PORT dbname=bench user=bench\"$wp;"
    fi
}

# writes the nginx.conf of $1 under $bench_dir: the pool's server lines,
# then its directives $2, and the server block body $3
bench_nginx_conf() {
    local name=$1 pool=$2 body=$3 dir="$bench_dir/$1"
    mkdir -p "$dir/logs" "$dir/tmp"
    cat >"$dir/nginx.conf" <<CONF
load_module $top/build/ngx_http_balance_module.so;
worker_processes $BENCH_WORKERS;
pid $dir/nginx.pid;
error_log $dir/logs/error.log notice;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/tmp;
    balance_pool bench {
$(bench_pool_servers)
$pool
    }
    server {
        listen 127.0.0.1:$BENCH_PORT;
        $body
    }
}
CONF
}

# writes and starts an nginx; $1 names it, $2 is the server block body
bench_nginx() {
    bench_nginx_conf "$1" "        connections ${BENCH_CONNECTIONS:-4};
        queue ${BENCH_QUEUE:-4096} timeout=${BENCH_QUEUE_TIMEOUT:-2s};" "$2"
    /usr/sbin/nginx -c "$bench_dir/$1/nginx.conf" -p "$bench_dir/$1"
    sleep 0.3
}

bench_nginx_stop() {
    local dir="$bench_dir/$1"
    if [ -f "$dir/nginx.pid" ]; then
        /usr/sbin/nginx -c "$dir/nginx.conf" -p "$dir" -s quit 2>/dev/null || true
        for _ in $(seq 50); do [ -f "$dir/nginx.pid" ] || break; sleep 0.1; done
    fi
}

# the addresses wrk picks from: half existing, half missing accounts
bench_addresses() {
    local out=$1
    bench_psql -tAc "SELECT id FROM current_state ORDER BY random() LIMIT 5000" >"$out"
    "$top/util/gen_accounts" 5000 99 | cut -d, -f1 >>"$out"
}
