#!/usr/bin/env bash
# A primary and one streaming standby behind the module: how reads spread,
# how the lag bound takes the standby out of use and back, and what a
# client sees when either server stops under load.  wrk (2 threads, 64
# connections, "Connection: close") sends eth_getBalance for addresses of
# known balance; bench/faults.lua checks every answer.
#
#   bench/replicas.sh      the four phases below, about a minute in all
#
#   a. spread    10 s of load: statements per server (balance_status) and
#                the share of each
#   b. lag       under load: pg_wal_replay_pause() on the standby, then a
#                write on the primary that changes no balance; the time
#                from the write until the standby gets no more statements
#                (status page polled every 50 ms), then pg_wal_replay_resume()
#                and the time until it gets statements again.  Twice: one
#                write after a quiet primary, then with a writer committing
#                every 100 ms (timed from the pause), where the standby's
#                last replayed commit is recent and max_lag decides
#   c. standby   "pg.sh ctl <standby> stop" at 3 s of a 10 s run, start at
#      stopped   6 s: errors, and the time from "ctl start" returning until
#                the standby gets statements again
#   d. primary   the primary stopped at 3 s of a 10 s run, started at 8 s:
#      stopped   errors (reads go on on the standby), the time until the
#                primary gets statements again, then until the standby
#                streams again
#
# The pool: max_lag 1s check=200ms (BENCH_MAX_LAG, BENCH_LAG_CHECK),
# connections 4, queue 4096 timeout=2s, 2 workers.  Ports: nginx 18640,
# the primary 15490, the standby 15491 (BENCH_PORT, BENCH_PG_PORT,
# BENCH_PG_STANDBY_PORT).  Prints one table at the end; exits 1 when an
# answer was wrong, a request got no answer (socket errors included) or a
# worker crashed.  Everything it starts (PostgreSQL primary and standby
# under run/bench-replicas/, nginx, wrk) is stopped on exit, Ctrl-C
# included.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# = 0 ] || { echo "usage: $0" >&2; exit 2; }

export BENCH_STANDBY=1
BENCH_MAX_LAG=${BENCH_MAX_LAG:-1s}
BENCH_LAG_CHECK=${BENCH_LAG_CHECK:-200ms}
export BENCH_MAX_LAG BENCH_LAG_CHECK
PHASE_SECONDS=10
STUCK_MS=5000

name=replicas
ndir="$bench_dir/$name"
url="http://127.0.0.1:$BENCH_PORT/api"
status_url="http://127.0.0.1:$BENCH_PORT/status"
lua="$top/bench/faults.lua"
expected="$bench_dir/expected.csv"
pg="$top/util/pg.sh"
failures=()
notes=()
rows=()
times=()

# --- what runs, and how it is stopped ---------------------------------------

bg_pids=()
nginx_master=

cleanup() {
    local rc=$? p
    trap - EXIT INT TERM
    set +e
    for p in "${bg_pids[@]}"; do
        kill -0 "$p" 2>/dev/null && kill "$p" 2>/dev/null
    done
    for p in "${bg_pids[@]}"; do wait "$p" 2>/dev/null; done
    if [ -n "$nginx_master" ] && kill -0 "$nginx_master" 2>/dev/null; then
        /usr/sbin/nginx -c "$ndir/nginx.conf" -p "$ndir" -s quit 2>/dev/null
        for _ in $(seq 100); do kill -0 "$nginx_master" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$nginx_master" 2>/dev/null; then
            echo "replicas: nginx did not quit in 10 s, killing it" >&2
            kill -KILL $(pgrep -P "$nginx_master") "$nginx_master" 2>/dev/null
        fi
    fi
    # a replay paused by phase b must not outlive the script
    "$pg" stop "$bench_pg_standby"
    "$pg" stop "$bench_pg"
    if pgrep -f "$bench_dir/" >/dev/null; then
        echo "replicas: processes left behind:" >&2
        pgrep -af "$bench_dir/" >&2
        rc=1
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'echo "replicas: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM

# --- helpers ----------------------------------------------------------------

now_ms() {
    local ns
    ns=$(date +%s%N)
    echo $((ns / 1000000))
}

# sleep until $1 seconds after t0
at() {
    local d
    d=$((t0 + $1 * 1000 - $(now_ms)))
    if [ "$d" -gt 0 ]; then sleep "$((d / 1000)).$(printf %03d $((d % 1000)))"; fi
}

event() {
    local rel=$(($(now_ms) - t0))
    printf '  [+%d.%03ds] %s\n' $((rel / 1000)) $((rel % 1000)) "$1"
}

fail() {
    echo "replicas: FAIL: $1" >&2
    failures+=("$1")
}

note() {
    echo "  note: $1"
    notes+=("$1")
}

primary_psql() { bench_psql "$@"; }
# as postgres: pg_wal_replay_pause() needs a superuser
standby_admin() {
    "$pg" psql "$bench_pg_standby" "$BENCH_PG_STANDBY_PORT" bench postgres "$@"
}

status() {
    curl -s -m 2 "$status_url" || true
}

# the sum of a metric's series for the server on port $2, from the status
# text on stdin; $3: a further label that must be there, e.g. kind="lost"
server_metric() {
    awk -v m="$1" -v port="$2" -v extra="${3:-}" '
        index($0, m "{") == 1 && match($0, /server="[^"]*"/) {
            s = substr($0, RSTART, RLENGTH)
            if (s ~ (":" port "[^0-9]") && (extra == "" || index($0, extra)))
                n += $NF
        }
        END { printf "%d\n", n }'
}

# the value of a gauge for the server on port $2, or "-" when not there
server_gauge() {
    awk -v m="$1" -v port="$2" '
        index($0, m "{") == 1 && match($0, /server="[^"]*"/) {
            s = substr($0, RSTART, RLENGTH)
            if (s ~ (":" port "[^0-9]")) { v = $NF; found = 1 }
        }
        END { print found ? v : "-" }'
}

stmts() {
    status | server_metric balance_db_statements_total "$1"
}

# the counters a phase reports: statements and errors by kind, per server
snapshot() {
    local s port k
    s=$(status)
    for port in "$BENCH_PG_PORT" "$BENCH_PG_STANDBY_PORT"; do
        printf '%s ' "$(server_metric balance_db_statements_total "$port" <<<"$s")"
        for k in connect statement timeout lost; do
            printf '%s ' "$(server_metric balance_db_errors_total "$port" "kind=\"$k\"" <<<"$s")"
        done
    done
    echo
}

# usable and lag of both servers, if the status page has them
gauges() {
    local s
    s=$(status)
    printf 'usable primary %s standby %s, lag primary %s s standby %s s' \
        "$(server_gauge balance_server_usable "$BENCH_PG_PORT" <<<"$s")" \
        "$(server_gauge balance_server_usable "$BENCH_PG_STANDBY_PORT" <<<"$s")" \
        "$(server_gauge balance_server_lag_seconds "$BENCH_PG_PORT" <<<"$s")" \
        "$(server_gauge balance_server_lag_seconds "$BENCH_PG_STANDBY_PORT" <<<"$s")"
}

probe_addr=''
probe_hex=''
probe_ok() {
    curl -s -m 1 -H 'Content-Type: application/json' \
        -d "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"eth_getBalance\",\"params\":[\"$probe_addr\",\"latest\"]}" \
        "$url" 2>/dev/null | grep -q "\"result\":\"$probe_hex\""
}

# wrk in the background for $1 seconds, answers checked by faults.lua
wrk_start() {
    wrk_out="$bench_dir/$phase.wrk"
    env EXPECTED="$expected" THREADS=2 STUCK_MS="$STUCK_MS" KEEPALIVE=0 \
        wrk -t2 -c64 -d"${1}s" --timeout 10s -s "$lua" "$url" >"$wrk_out" 2>&1 &
    wrk_pid=$!
    bg_pids+=("$wrk_pid")
}

# SIGINT makes wrk stop early and still print what done() prints
wrk_stop() {
    kill -INT "$wrk_pid" 2>/dev/null || true
}

wrk_wait() {
    local rc=0
    wait "$wrk_pid" || rc=$?
    if ! grep -q '^faults: sent' "$wrk_out"; then
        cat "$wrk_out" >&2
        fail "$phase: wrk failed (exit $rc)"
        return 1
    fi
}

val() {
    awk -v k="$1" '$1 == "faults:" && $2 == k { print $3 }' "$wrk_out"
}

# a row of the table from wrk's figures and two snapshots ($1, $2)
phase_report() {
    local before=$1 after=$2 sock unans p s share
    local -a b a
    read -r -a b <<<"$before"
    read -r -a a <<<"$after"
    sock=$(( $(val connect_errors) + $(val read_errors) + $(val write_errors) + $(val timeouts) ))
    unans=$(val stuck)
    p=$((a[0] - b[0]))
    s=$((a[5] - b[5]))
    share=$(awk -v p="$p" -v s="$s" 'BEGIN { if (p + s) printf "%.0f/%.0f", 100 * p / (p + s), 100 * s / (p + s); else print "-" }')
    rows+=("$(printf '%-12s %8d %7d %7d %6d %6d %6d %9d %9d %7s  %s  %s' \
        "$phase" "$(val ok)" "$(val e32603)" "$(val e32005)" "$(val bad)" \
        "$unans" "$sock" "$p" "$s" "$share" \
        "$((a[1]-b[1]))/$((a[2]-b[2]))/$((a[3]-b[3]))/$((a[4]-b[4]))" \
        "$((a[6]-b[6]))/$((a[7]-b[7]))/$((a[8]-b[8]))/$((a[9]-b[9]))")")
    printf '  answers: sent %d, correct %d, 503 -32603 %d, 503 -32005 %d, other %d;' \
        "$(val sent)" "$(val ok)" "$(val e32603)" "$(val e32005)" "$(val bad)"
    printf ' unanswered %d, in flight at the end %d, socket errors %d\n' \
        "$unans" "$(val inflight)" "$sock"
    grep '^faults: sample' "$wrk_out" | sed 's/^faults: sample /  bad answer: /' || true
    [ "$(val bad)" = 0 ] || fail "$phase: $(val bad) wrong or malformed answers"
    [ "$unans" = 0 ] || fail "$phase: $unans requests got no answer"
    [ "$sock" = 0 ] || fail "$phase: $sock socket errors (connect/read/write/timeout)"
    local e=$(( $(val e32603) + $(val e32005) ))
    [ "$e" = 0 ] || note "$phase: $e requests answered 503"
}

# polls the standby's statement counter every 50 ms; "flat": returns when it
# has not grown for $1 ms, "grow": when it grows; gives up after $2 ms.
# Sets poll_ms: the time since $3 (ms) of the last growth seen (flat) or of
# the growth (grow); empty when it gave up.
poll_standby() {
    local mode=$1 hold=$2 limit=$3 since=$4 port=${5:-$BENCH_PG_STANDBY_PORT}
    local v prev last t
    prev=$(stmts "$port")
    last=$since
    poll_ms=
    while :; do
        sleep 0.05
        t=$(now_ms)
        v=$(stmts "$port")
        if [ "$v" -gt "$prev" ]; then
            if [ "$mode" = grow ]; then poll_ms=$((t - since)); return 0; fi
            last=$t
            prev=$v
        elif [ "$mode" = flat ] && [ $((t - last)) -ge "$hold" ]; then
            poll_ms=$((last - since))
            return 0
        fi
        [ $((t - since)) -lt "$limit" ] || return 0
    done
}

# --- setup ------------------------------------------------------------------

BALANCE_BENCH_DEPS=1 "$top/util/deps.sh"
"$top/util/build.sh" >/dev/null
make -s -C "$top/util" gen_accounts

if ss -Htln "sport = :$BENCH_PORT" | grep -q .; then
    echo "replicas: port $BENCH_PORT is taken (BENCH_PORT=... to choose another)" >&2
    exit 1
fi

mkdir -p "$bench_dir"
PGOPTIONS="-c client_min_messages=warning" bench_db
echo "replicas: making the standby (pg_basebackup)"
t=$(now_ms)
bench_standby
echo "replicas: standby streaming $(( $(now_ms) - t )) ms after pg_basebackup began"

# the expected answers, as faults.sh writes them: 5,000 existing accounts
# and 5,000 missing ones ("0x0"), balances turned into hex in SQL
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
} | bench_psql -f - >"$expected"

if [ "$(wc -l <"$expected")" != 10000 ] \
   || [ "$(awk -F, '$1 >= 5000 && $3 != "0x0"' "$expected" | wc -l)" != 0 ]; then
    echo "replicas: $expected is not 10,000 lines of which 5,000 zero" >&2
    exit 1
fi
probe_addr=$(awk -F, '$1 < 5000 && $3 != "0x0" { print $2; exit }' "$expected")
probe_hex=$(awk -F, '$1 < 5000 && $3 != "0x0" { print $3; exit }' "$expected")

# the standby has the same answers
n=$("$pg" psql "$bench_pg_standby" "$BENCH_PG_STANDBY_PORT" bench bench -tAc \
    "SELECT count(*) FROM current_state, pg_is_in_recovery() r WHERE r")
[ "$n" = "$BENCH_ACCOUNTS" ] || { echo "replicas: the standby has $n accounts" >&2; exit 1; }

rm -rf "$ndir"
bench_nginx "$name" "location /api { balance_pass bench; }
        location = /status { balance_status; }"
nginx_master=$(cat "$ndir/nginx.pid")
for _ in $(seq 100); do probe_ok && break; sleep 0.1; done
probe_ok || { echo "replicas: nginx does not answer correctly on $url" >&2; exit 1; }
# both servers in use before the first phase, if the module says so
for _ in $(seq 50); do
    [ "$(status | server_gauge balance_server_usable "$BENCH_PG_STANDBY_PORT")" = "$BENCH_WORKERS" ] && break
    sleep 0.1
done

rev=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$top" diff --quiet HEAD -- src ngx_http_balance_module.c config 2>/dev/null \
    || rev="$rev + uncommitted changes to the module"
echo "replicas: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) CPUs shared by wrk," \
     "nginx ($BENCH_WORKERS workers) and two PostgreSQL $(bench_psql -tAc 'SHOW server_version')" \
     "clusters; $BENCH_ACCOUNTS accounts; module at commit $rev"
echo "replicas: pool: primary :$BENCH_PG_PORT, standby :$BENCH_PG_STANDBY_PORT role=standby," \
     "max_lag $BENCH_MAX_LAG check=$BENCH_LAG_CHECK, connections ${BENCH_CONNECTIONS:-4}," \
     "queue ${BENCH_QUEUE:-4096} timeout=${BENCH_QUEUE_TIMEOUT:-2s}; load average before:" \
     "$(cut -d' ' -f1-3 /proc/loadavg)"
echo "replicas: at start: $(gauges)"

# --- a. spread --------------------------------------------------------------

phase=spread
echo
echo "== a. spread: ${PHASE_SECONDS} s of load"
s0=$(snapshot)
t0=$(now_ms)
wrk_start "$PHASE_SECONDS"
wrk_wait || true
s1=$(snapshot)
phase_report "$s0" "$s1"

# --- b. lag -----------------------------------------------------------------

# the write of phase b: touches one row, changes no balance
touch_sql="UPDATE current_state SET balance = balance
           WHERE id = (SELECT id FROM current_state LIMIT 1)"

# one round: replay paused, then (one) a single write on the primary, or
# (steady) the writes of a writer that commits every 100 ms throughout;
# the time until the standby gets no more statements, then resume and the
# time until it gets statements again.  $1: label, $2: one|steady
lag_round() {
    local label=$1 mode=$2 tw tr what
    standby_admin -tAc "SELECT pg_wal_replay_pause()" >/dev/null
    event "$label: pg_wal_replay_pause() on the standby"
    tw=$(now_ms)
    if [ "$mode" = one ]; then
        primary_psql -c "$touch_sql" >/dev/null
        tw=$(now_ms)
        event "$label: UPDATE on the primary committed (changes no balance)"
        what="the write"
    else
        what="the pause"
    fi
    # out of use: no statement for 2 s; 15 s at most
    poll_standby flat 2000 15000 "$tw"
    if [ -n "$poll_ms" ]; then
        event "$label: the standby's last statement $poll_ms ms after $what (none for 2 s since)"
        times+=("lag, $label: standby out of use $poll_ms ms after $what")
    else
        event "$label: the standby still gets statements 15 s after $what"
        times+=("lag, $label: standby STILL IN USE 15 s after $what")
        note "lag, $label: the standby kept getting statements with replay paused for 15 s"
    fi
    event "$label: while paused: $(gauges)"
    tr=$(now_ms)
    standby_admin -tAc "SELECT pg_wal_replay_resume()" >/dev/null
    event "$label: pg_wal_replay_resume() on the standby"
    poll_standby grow 0 10000 "$tr"
    if [ -n "$poll_ms" ]; then
        event "$label: the standby got statements again $poll_ms ms after the resume"
        times+=("lag, $label: standby back in use $poll_ms ms after pg_wal_replay_resume()")
    else
        event "$label: no statement on the standby 10 s after the resume"
        times+=("lag, $label: standby NOT back in use 10 s after pg_wal_replay_resume()")
        note "lag, $label: the standby got no statement within 10 s of the resume"
    fi
}

phase=lag
echo
echo "== b. lag: replay paused on the standby, writes on the primary, under load"
echo "   one write after a quiet primary, then a writer committing every 100 ms"
s0=$(snapshot)
t0=$(now_ms)
wrk_start 60
at 2
lag_round one one
sleep 1
event "after the resume: $(gauges)"
# a steady writer: the standby's last replayed commit stays recent
for _ in $(seq 600); do echo "$touch_sql;"; echo "SELECT pg_sleep(0.1);"; done \
    | primary_psql -f - >/dev/null 2>&1 &
writer=$!
bg_pids+=("$writer")
sleep 2
event "steady writer on the primary since 2 s: $(gauges)"
lag_round steady steady
sleep 1
event "after the resume: $(gauges)"
kill "$writer" 2>/dev/null || true
wait "$writer" 2>/dev/null || true
wrk_stop
wrk_wait || true
s1=$(snapshot)
phase_report "$s0" "$s1"

# --- c. standby stopped -----------------------------------------------------

phase=standby-down
echo
echo "== c. standby stopped at 3 s, started at 6 s, of ${PHASE_SECONDS} s of load"
s0=$(snapshot)
t0=$(now_ms)
wrk_start "$PHASE_SECONDS"
at 3
"$pg" ctl "$bench_pg_standby" stop
event "standby stopped (pg_ctl stop -m fast returned)"
at 6
"$pg" ctl "$bench_pg_standby" start
ts=$(now_ms)
event "standby started (pg_ctl start -w returned)"
poll_standby grow 0 $(( (PHASE_SECONDS - 6) * 1000 - 200 )) "$ts"
if [ -n "$poll_ms" ]; then
    event "the standby got statements again $poll_ms ms after ctl start"
    times+=("standby-down: standby back in use $poll_ms ms after ctl start returned")
else
    times+=("standby-down: standby NOT back in use before the end of the run")
fi
wrk_wait || true
if [ -z "$poll_ms" ]; then
    poll_standby grow 0 10000 "$ts"
    if [ -n "$poll_ms" ]; then
        times[-1]="standby-down: standby back in use $poll_ms ms after ctl start returned (after the run)"
    else
        note "standby-down: the standby got no statement within 10 s of its restart"
    fi
fi
s1=$(snapshot)
phase_report "$s0" "$s1"

# --- d. primary stopped -----------------------------------------------------

phase=primary-down
echo
echo "== d. primary stopped at 3 s, started at 8 s, of ${PHASE_SECONDS} s of load"
"$pg" standby "$bench_pg_standby" "$BENCH_PG_STANDBY_PORT" "$bench_pg"   # streaming
s0=$(snapshot)
t0=$(now_ms)
wrk_start "$PHASE_SECONDS"
at 3
"$pg" ctl "$bench_pg" stop
event "primary stopped (pg_ctl stop -m fast returned)"
at 8
"$pg" ctl "$bench_pg" start
ts=$(now_ms)
event "primary started (pg_ctl start -w returned)"
poll_standby grow 0 $(( (PHASE_SECONDS - 8) * 1000 - 200 )) "$ts" "$BENCH_PG_PORT"
pp=$poll_ms
wrk_wait || true
if [ -z "$pp" ]; then
    poll_standby grow 0 10000 "$ts" "$BENCH_PG_PORT"
    pp=${poll_ms:+$poll_ms (after the run)}
fi
if [ -n "$pp" ]; then
    times+=("primary-down: primary back in use $pp ms after ctl start returned")
else
    times+=("primary-down: primary NOT back in use 10 s after ctl start")
    note "primary-down: the primary got no statement within 10 s of its restart"
fi
s1=$(snapshot)
phase_report "$s0" "$s1"
# the standby reconnects by itself (wal_retrieve_retry_interval, 5 s)
if "$pg" standby "$bench_pg_standby" "$BENCH_PG_STANDBY_PORT" "$bench_pg"; then
    times+=("primary-down: standby streaming again $(( $(now_ms) - ts )) ms after the primary's ctl start")
else
    fail "primary-down: the standby does not stream again"
fi
probe_ok || fail "primary-down: a wrong answer after the primary came back"

# --- the end ------------------------------------------------------------------

log="$ndir/logs/error.log"
crashes=$(grep -c 'exited on signal' "$log" || true)
[ "$crashes" = 0 ] || fail "$crashes worker crashes"

echo
echo "== summary (wrk -t2 -c64, Connection: close; every answer checked)"
printf '%-12s %8s %7s %7s %6s %6s %6s %9s %9s %7s  %s  %s\n' phase correct -32603 -32005 other unansw sockerr \
    "stmts pri" "stmts sby" "share%" "pri errors" "sby errors"
for r in "${rows[@]}"; do echo "$r"; done
echo "(errors per server from balance_db_errors_total: connect/statement/timeout/lost;"
echo " share%: primary/standby of the statements; unansw: no answer ${STUCK_MS} ms after sending)"
for t in "${times[@]}"; do echo "$t"; done
echo "error_log: $(wc -l <"$log") lines ($(awk '{ n[$3]++ } END { for (l in n) printf "%s%s %d", (k++ ? ", " : ""), l, n[l] }' "$log")), worker crashes $crashes"
grep -E '\[(alert|crit|emerg)\]|exited on signal' "$log" | head -5 | cut -c1-200 | sed 's/^/  /' || true
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
for n in "${notes[@]}"; do echo "note: $n"; done
if [ ${#failures[@]} -gt 0 ]; then
    echo "replicas: FAIL (${#failures[@]}): ${failures[*]}"
    exit 1
fi
echo "replicas: ok"
