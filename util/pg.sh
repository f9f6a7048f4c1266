#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the demo, the tests and the benchmark.
#
#   util/pg.sh start <dir> <port> <db> <user>   initdb if needed, start
#   util/pg.sh stop  <dir>                      fast shutdown
#   util/pg.sh restart <dir>                    stop, then start again
#   util/pg.sh ctl <dir> start|stop            start or stop an existing cluster
#   util/pg.sh psql  <dir> <port> <db> <user> [psql args...]
#   util/pg.sh standby <dir> <port> <primary-dir>
#                           a streaming standby of the cluster in
#                           <primary-dir> (made by start): pg_basebackup -R
#                           if <dir>/data is missing, start, wait until it
#                           streams (30 s at most); stop, restart and ctl
#                           work on it as on a primary
#   util/pg.sh promote <dir>                    the standby becomes a primary
#
# Listens on 127.0.0.1:<port> and a socket in <dir>, trust authentication
# (initdb's pg_hba.conf also lets 127.0.0.1 connect for replication):
# for local use only.  As root, the server runs as the "postgres" user.
set -euo pipefail

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
bin=${PG_BIN:-$bin}

as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

cmd=${1:?usage: pg.sh start|stop|restart|ctl|psql|standby|promote <dir> ...}
dir=${2:?data directory}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
data="$dir/data"

# as root, the postgres user must own <dir>
own_dir() {
    if [ "$(id -u)" = 0 ]; then
        chown postgres: "$dir"
        if ! runuser -u postgres -- test -w "$dir"; then
            echo "pg.sh: user postgres cannot write $dir" \
                 "(a parent directory is not traversable)" >&2
            exit 1
        fi
    fi
}

# starts the cluster on port $1 unless it runs; the port of this start
# wins over the one the cluster was made with
up() {
    echo "$1" >"$dir/port"
    if ! as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        as_pg "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 30 \
            -o "-p $1" start >/dev/null \
            || { tail -20 "$dir/server.log" >&2; exit 1; }
    fi
}

case "$cmd" in
start)
    port=${3:?port}; db=${4:?database}; user=${5:?user}
    own_dir
    if [ ! -f "$data/PG_VERSION" ]; then
        as_pg "$bin/initdb" -D "$data" -U postgres --auth=trust \
            -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; exit 1; }
        cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 128MB
log_min_messages = warning
CONF
    fi
    up "$port"
    psql=("$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -X -q -v ON_ERROR_STOP=1)
    if [ -z "$("${psql[@]}" -d postgres -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$user'")" ]; then
        "${psql[@]}" -d postgres -c "CREATE ROLE \"$user\" LOGIN"
    fi
    if [ -z "$("${psql[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
        "${psql[@]}" -d postgres -c "CREATE DATABASE \"$db\" OWNER \"$user\""
    fi
    ;;
stop)
    if [ -f "$data/PG_VERSION" ]; then
        as_pg "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    ;;
ctl)
    # for fault tests: "ctl <dir> stop" and "ctl <dir> start"
    case "${3:?start or stop}" in
    stop) as_pg "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null ;;
    start) as_pg "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 30 \
               -o "-p $(cat "$dir/port")" start >/dev/null ;;
    *) echo "pg.sh: ctl start|stop" >&2; exit 2 ;;
    esac
    ;;
restart)
    as_pg "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
    as_pg "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 30 \
        -o "-p $(cat "$dir/port")" start >/dev/null
    ;;
standby)
    port=${3:?port}; primary=${4:?primary directory}
    primary=$(cd "$primary" && pwd)
    pport=$(cat "$primary/port")
    own_dir
    if [ ! -d "$data" ]; then
        # -R: standby.signal and primary_conninfo; the primary's
        # postgresql.conf comes along, its port and socket are replaced
        as_pg "$bin/pg_basebackup" -h 127.0.0.1 -p "$pport" -U postgres \
            -D "$data" -R -X stream -c fast >"$dir/basebackup.log" 2>&1 \
            || { cat "$dir/basebackup.log" >&2; rm -rf "$data"; exit 1; }
        cat >>"$data/postgresql.conf" <<CONF
# standby of $primary
port = $port
unix_socket_directories = '$dir'
hot_standby = on
hot_standby_feedback = on
CONF
    fi
    up "$port"
    psql=("$bin/psql" -h 127.0.0.1 -U postgres -d postgres -X -q -tA)
    for _ in $(seq 300); do
        st=$("${psql[@]}" -p "$port" -c "SELECT status FROM pg_stat_wal_receiver" \
             2>/dev/null || true)
        [ "$st" = streaming ] && exit 0
        sleep 0.1
    done
    echo "pg.sh: standby $dir on port $port is not streaming from port $pport" \
         "after 30 s (wal receiver: ${st:-none})" >&2
    tail -20 "$dir/server.log" >&2
    exit 1
    ;;
promote)
    as_pg "$bin/pg_ctl" -D "$data" -w -t 30 promote >/dev/null
    ;;
psql)
    port=${3:?port}; db=${4:?database}; user=${5:?user}
    shift 5
    exec "$bin/psql" -h 127.0.0.1 -p "$port" -U "$user" -d "$db" -X -q \
        -v ON_ERROR_STOP=1 "$@"
    ;;
*)
    echo "pg.sh: unknown command $cmd" >&2
    exit 2
    ;;
esac
