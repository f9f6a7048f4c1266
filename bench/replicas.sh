#!/usr/bin/env bash
# A primary and one streaming standby behind the module: how reads spread,
# how the lag bound takes the standby out of use and back, and what a
# client sees when either server stops under load.  wrk (2 threads, 64
# connections, "Connection: close") sends eth_getBalance for addresses of
# known balance; bench/faults.lua checks every answer.
#
#   bench/replicas.sh         the four phases below, about a minute in all
#   bench/replicas.sh spread  only the spread benchmark (see the end of this
#                             comment), about three minutes
#
#   a. spread    10 s of load: statements per server (balance_status) and
#                the share of each
#   b. lag       under load: pg_wal_replay_pause() on the standby, then a
#                write on the primary that changes no balance; the time
#                from the write until the standby gets no more statements
#                (status page polled every 50 ms), then pg_wal_replay_resume()
#                and the time until it gets statements again.  Twice: one
#                write after a quiet primary, then with a writer committing
#                every 100 ms (timed from the pause).  Either way the
#                standby's lag is measured against the primary's WAL
#                position, which each worker samples at its checks: the
#                time since the primary was last seen at or below what the
#                standby replayed.  So the standby goes out of use about
#                max_lag after the primary moves past it (the write, or the
#                first commit after the pause), give or take a check
#                interval: the lag counts from the primary's last sample at
#                or below the standby's position, up to an interval before
#                the write, and the next check of the standby notices it up
#                to an interval after; 0.8-1.25 s with the settings below,
#                in both rounds.
#                (Only when no recent primary position is known, the primary
#                down, does the standby's own estimate stand: 0 when it
#                replayed all it received, else the age of its last replayed
#                commit.)
#   c. standby   "pg.sh ctl <standby> stop" at 3 s of a 10 s run, start at
#      stopped   6 s: errors, and the time from "ctl start" returning until
#                the standby gets statements again
#   d. primary   the primary stopped at 3 s of a 10 s run, started at 8 s:
#      stopped   errors (reads go on on the standby), the time until the
#                primary gets statements again, then until the standby
#                streams again
#   e. standby   every process of the standby sent SIGSTOP at 3 s of a
#      frozen    10 s run, SIGCONT at 6 s: a host that stops answering
#                without closing anything; lookups in flight there wait
#                query_timeout (2 s) and are tried on the primary: errors,
#                the slowest answer, and the time until the standby gets
#                statements again after SIGCONT
#
# The pool: max_lag 1s check=200ms (BENCH_MAX_LAG, BENCH_LAG_CHECK),
# connections 4, queue 4096 timeout=2s, 2 workers.  Ports: nginx 18640,
# the primary 15490, the standby 15491 (BENCH_PORT, BENCH_PG_PORT,
# BENCH_PG_STANDBY_PORT).  Prints one table at the end; exits 1 when an
# answer was wrong, a request got no answer (socket errors included) or a
# worker crashed.  Everything it starts (PostgreSQL primary and standby
# under run/bench-replicas/, nginx, wrk) is stopped on exit, Ctrl-C
# included.
#
# spread: how reads spread over the servers and what it costs.  Three
# nginx instances run at once, the same pool settings but the servers:
#   A  the primary only                     (nginx on BENCH_PORT)
#   B  primary + standby, weight 1:1        (BENCH_PORT + 1)
#   C  primary weight=3 + standby weight=1  (BENCH_PORT + 2)
# wrk with keepalive and bench/bench.lua (random addresses, half missing,
# every answer a JSON-RPC result) at 1, 8 and 64 connections, 5 s per cell
# (SPREAD_SECONDS), 3 repetitions (SPREAD_REPS), the cells of a repetition
# interleaved (A, B, C at each concurrency; the order rotates); reports the
# median requests/s, the median p50 and p99 latency, the share of the
# statements per server (balance_db_statements_total before and after,
# summed over the repetitions) and the B/A and C/A throughput ratios.
# Everything shares the same CPUs (wrk, the nginx workers, both PostgreSQL
# clusters), so a standby cannot add throughput here: the figures show the
# spread and its cost.  Exits 1 on any error answer or worker crash.
#
# REPLICAS_PHASES (default "spread lag standby-down primary-down
# standby-frozen") runs some of the phases; REPLICAS_STRICT=1 also fails on any 503 (the
# test command runs "standby-down primary-down standby-frozen" that way, on 20,000
# accounts).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

mode=phases
case "${1:-}" in
    '') [ $# = 0 ] || { echo "usage: $0 [spread]" >&2; exit 2; } ;;
    spread) [ $# = 1 ] || { echo "usage: $0 [spread]" >&2; exit 2; }; mode=spread ;;
    *) echo "usage: $0 [spread]" >&2; exit 2 ;;
esac

export BENCH_STANDBY=1
BENCH_MAX_LAG=${BENCH_MAX_LAG:-1s}
BENCH_LAG_CHECK=${BENCH_LAG_CHECK:-200ms}
export BENCH_MAX_LAG BENCH_LAG_CHECK
PHASE_SECONDS=10
STUCK_MS=5000
REPLICAS_PHASES=${REPLICAS_PHASES:-spread lag standby-down primary-down standby-frozen}

want() {
    case " $REPLICAS_PHASES " in *" $1 "*) return 0 ;; esac
    return 1
}

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
frozen=()           # standby processes sent SIGSTOP, to be sent SIGCONT
nginx_master=
declare -A spread_masters=()

# quit the nginx of master pid $1 and folder $2, killed after 10 s
nginx_quit() {
    local m=$1 d=$2
    kill -0 "$m" 2>/dev/null || return 0
    /usr/sbin/nginx -c "$d/nginx.conf" -p "$d" -s quit 2>/dev/null
    for _ in $(seq 100); do kill -0 "$m" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$m" 2>/dev/null; then
        echo "replicas: nginx $d did not quit in 10 s, killing it" >&2
        kill -KILL $(pgrep -P "$m") "$m" 2>/dev/null
    fi
}

cleanup() {
    local rc=$? p
    trap - EXIT INT TERM
    set +e
    for p in "${frozen[@]}"; do kill -CONT "$p" 2>/dev/null; done
    for p in "${bg_pids[@]}"; do
        kill -0 "$p" 2>/dev/null && kill "$p" 2>/dev/null
    done
    for p in "${bg_pids[@]}"; do wait "$p" 2>/dev/null; done
    if [ -n "$nginx_master" ]; then
        nginx_quit "$nginx_master" "$ndir"
    fi
    for p in "${!spread_masters[@]}"; do
        nginx_quit "${spread_masters[$p]}" "$bench_dir/spread-$p"
    done
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
    # what a failover costs the clients whose lookups were retried
    printf '  wrk latency (corrected for coordinated omission): p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms; slowest correct answer %d ms\n' \
        "$(awk -v u="$(val latency_p50_us)" 'BEGIN { print u / 1000 }')" \
        "$(awk -v u="$(val latency_p99_us)" 'BEGIN { print u / 1000 }')" \
        "$(awk -v u="$(val latency_p999_us)" 'BEGIN { print u / 1000 }')" \
        "$(val max_ms_ok)"
    grep '^faults: sample' "$wrk_out" | sed 's/^faults: sample /  bad answer: /' || true
    [ "$(val bad)" = 0 ] || fail "$phase: $(val bad) wrong or malformed answers"
    [ "$unans" = 0 ] || fail "$phase: $unans requests got no answer"
    [ "$sock" = 0 ] || fail "$phase: $sock socket errors (connect/read/write/timeout)"
    local e=$(( $(val e32603) + $(val e32005) ))
    if [ "${REPLICAS_STRICT:-}" = 1 ]; then
        [ "$e" = 0 ] || fail "$phase: $e requests answered 503"
    else
        [ "$e" = 0 ] || note "$phase: $e requests answered 503"
    fi
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

# --- spread mode --------------------------------------------------------------

SPREAD_SECONDS=${SPREAD_SECONDS:-5}
SPREAD_REPS=${SPREAD_REPS:-3}
SPREAD_CONNS=${SPREAD_CONNS:-1 8 64}
spread_pools=(A B C)
declare -A spread_label=([A]="A primary only" [B]="B pri+sby 1:1" [C]="C pri+sby 3:1")
declare -A spread_port=() R=()
spread_addr="$bench_dir/spread-addresses.txt"

machine_ticks() {   # busy total, all CPUs
    awk '/^cpu / { b = $2 + $3 + $4 + $7 + $8; print b, b + $5 + $6 + $9 }' /proc/stat
}

# CPU ticks of what this script runs: itself and what it waited for (wrk,
# curl), both PostgreSQL clusters and their processes (ended ones are in
# the postmaster's cutime), the nginx instances; the rest is "other load"
own_ticks() {
    local pids=$$ m d
    for d in "$bench_pg" "$bench_pg_standby"; do
        m=$(head -1 "$d/data/postmaster.pid" 2>/dev/null || true)
        if [ -n "$m" ]; then pids+=" $m $(pgrep -P "$m" | tr '\n' ' ' || true)"; fi
    done
    for m in "${spread_masters[@]}"; do
        pids+=" $m $(pgrep -P "$m" | tr '\n' ' ' || true)"
    done
    for m in $pids; do cat "/proc/$m/stat" 2>/dev/null || true; done \
        | awk '{ sub(/^.*\) /, ""); t += $12 + $13 + $14 + $15 } END { print t + 0 }'
}

status_at() {
    curl -s -m 2 "http://127.0.0.1:$1/status" || true
}

median() {
    printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

# starts the nginx of pool $1 ($2: its port) with the module's status page
spread_start() {
    local p=$1 port=$2
    (
        export BENCH_PORT=$port
        case "$p" in
            A) unset BENCH_STANDBY ;;
            B) export BENCH_WEIGHT_PRIMARY=1 BENCH_WEIGHT_STANDBY=1 ;;
            C) export BENCH_WEIGHT_PRIMARY=3 BENCH_WEIGHT_STANDBY=1 ;;
        esac
        rm -rf "$bench_dir/spread-$p"
        bench_nginx "spread-$p" "location /api { balance_pass bench; }
        location = /status { balance_status; }"
    )
    spread_masters[$p]=$(cat "$bench_dir/spread-$p/nginx.pid")
    spread_port[$p]=$port
}

# one cell: pool $1, $2 connections, repetition $3
spread_cell() {
    local p=$1 c=$2 r=$3 port=${spread_port[$1]} t=2 out s0 s1 line kv
    local l0 o0 l1 o1 other sp ss err
    [ "$c" -ge 2 ] || t=1
    out="$bench_dir/spread-$p-c$c-r$r.wrk"
    s0=$(status_at "$port")
    l0=$(machine_ticks) o0=$(own_ticks)
    ADDRESSES="$spread_addr" wrk -t"$t" -c"$c" -d"${SPREAD_SECONDS}s" --timeout 5s \
        --latency -s "$top/bench/bench.lua" "http://127.0.0.1:$port/api" >"$out" 2>&1 || true
    l1=$(machine_ticks) o1=$(own_ticks)
    s1=$(status_at "$port")
    line=$(grep '^BENCH ' "$out" || true)
    if [ -z "$line" ]; then
        cat "$out" >&2
        fail "spread $p c=$c rep $r: wrk failed"
        return 0
    fi
    W_requests=0 W_rps=0 W_p50_us=0 W_p99_us=0 W_non200=0 W_bad=0
    W_connect=0 W_read=0 W_write=0 W_timeout=0 W_codes=
    for kv in ${line#BENCH }; do
        printf -v "W_${kv%%=*}" '%s' "${kv#*=}"
    done
    err=$((W_non200 + W_bad + W_connect + W_read + W_write + W_timeout))
    other=$(awk -v a="$l0" -v b="$l1" -v o0="$o0" -v o1="$o1" 'BEGIN {
        split(a, x, " "); split(b, y, " ")
        busy = y[1] - x[1]; total = y[2] - x[2]; other = busy - (o1 - o0)
        if (other < 0) other = 0
        printf "%.0f", (total > 0) ? 100 * other / total : 0 }')
    sp=$(( $(server_metric balance_db_statements_total "$BENCH_PG_PORT" <<<"$s1") \
         - $(server_metric balance_db_statements_total "$BENCH_PG_PORT" <<<"$s0") ))
    ss=$(( $(server_metric balance_db_statements_total "$BENCH_PG_STANDBY_PORT" <<<"$s1") \
         - $(server_metric balance_db_statements_total "$BENCH_PG_STANDBY_PORT" <<<"$s0") ))
    R[$p,$c,rps]+=" $W_rps"
    R[$p,$c,p50]+=" $W_p50_us"
    R[$p,$c,p99]+=" $W_p99_us"
    R[$p,$c,req]=$(( ${R[$p,$c,req]:-0} + W_requests ))
    R[$p,$c,pri]=$(( ${R[$p,$c,pri]:-0} + sp ))
    R[$p,$c,sby]=$(( ${R[$p,$c,sby]:-0} + ss ))
    R[$p,$c,err]=$(( ${R[$p,$c,err]:-0} + err ))
    if [ "$other" -gt "${R[$p,$c,oth]:--1}" ]; then R[$p,$c,oth]=$other; fi
    printf '  rep %d  c=%-3d %-15s %9.1f req/s  p50 %6.2f ms  p99 %6.2f ms  stmts pri %6d sby %6d  errors %d (status %s)  other load %d%%\n' \
        "$r" "$c" "${spread_label[$p]}" "$W_rps" \
        "$(awk -v u="$W_p50_us" 'BEGIN { print u / 1000 }')" \
        "$(awk -v u="$W_p99_us" 'BEGIN { print u / 1000 }')" \
        "$sp" "$ss" "$err" "$W_codes" "$other"
    if [ "$err" -gt 0 ]; then
        fail "spread $p c=$c rep $r: $err errors (status $W_codes, bad $W_bad, sock c/r/w/t $W_connect/$W_read/$W_write/$W_timeout)"
    fi
}

spread_main() {
    local i p c r k port
    cut -d, -f2 "$expected" >"$spread_addr"
    i=0
    for p in "${spread_pools[@]}"; do
        spread_start "$p" $((BENCH_PORT + i))
        i=$((i + 1))
    done
    for p in "${spread_pools[@]}"; do
        port=${spread_port[$p]}
        url="http://127.0.0.1:$port/api"
        for _ in $(seq 100); do probe_ok && break; sleep 0.1; done
        probe_ok || { echo "replicas: nginx $p does not answer correctly on $url" >&2; exit 1; }
        if [ "$p" != A ]; then
            for _ in $(seq 50); do
                [ "$(status_at "$port" | server_gauge balance_server_usable "$BENCH_PG_STANDBY_PORT")" = "$BENCH_WORKERS" ] && break
                sleep 0.1
            done
        fi
        # warm-up, not counted
        ADDRESSES="$spread_addr" wrk -t2 -c8 -d1s -s "$top/bench/bench.lua" "$url" >/dev/null 2>&1 || true
    done
    echo "replicas: spread: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), module at commit $rev;" \
         "PostgreSQL $(bench_psql -tAc 'SHOW server_version' | cut -d' ' -f1), $BENCH_ACCOUNTS accounts"
    echo "replicas: spread: $(nproc) CPUs shared by everything: wrk (2 threads, 1 at c=1), nginx" \
         "($BENCH_WORKERS workers; three instances, one loaded at a time), the primary and the standby" \
         "clusters (the standby replays nothing: no writes), and anything else on the machine" \
         "(\"other\" below); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "replicas: spread: pools: A primary :$BENCH_PG_PORT only (nginx :${spread_port[A]});" \
         "B primary weight=1 + standby :$BENCH_PG_STANDBY_PORT weight=1 (:${spread_port[B]});" \
         "C primary weight=3 + standby weight=1 (:${spread_port[C]}); connections ${BENCH_CONNECTIONS:-4}" \
         "per server per worker, queue ${BENCH_QUEUE:-4096} timeout=${BENCH_QUEUE_TIMEOUT:-2s};" \
         "B, C: max_lag $BENCH_MAX_LAG check=$BENCH_LAG_CHECK (A: the default max_lag, checks every 500 ms)"
    echo "replicas: spread: at start, B: $(gauges_at "${spread_port[B]}")"
    echo
    echo "== spread: wrk keepalive, bench/bench.lua, ${SPREAD_SECONDS} s per cell, $SPREAD_REPS repetitions," \
         "connections $SPREAD_CONNS"
    for r in $(seq "$SPREAD_REPS"); do
        for c in $SPREAD_CONNS; do
            for k in 0 1 2; do
                p=${spread_pools[$(( (k + r - 1) % 3 ))]}
                sleep 0.5
                spread_cell "$p" "$c" "$r"
            done
        done
    done

    local rps p50 p99 arps lo hi tot share rpst
    echo
    echo "== spread summary: median of $SPREAD_REPS runs of ${SPREAD_SECONDS} s, wrk keepalive; $(nproc) CPUs shared by wrk, nginx (2 workers) and both PostgreSQL clusters"
    printf '%5s  %-15s %9s %17s %6s %7s %7s %11s %8s %6s %6s\n' conns pool "req/s" "(min..max)" "vs A" "p50 ms" "p99 ms" "pri/sby %" "req/stmt" errors "other%"
    for c in $SPREAD_CONNS; do
        arps=$(median ${R[A,$c,rps]:-0})
        for p in "${spread_pools[@]}"; do
            rps=$(median ${R[$p,$c,rps]:-0})
            lo=$(printf '%s\n' ${R[$p,$c,rps]:-0} | sort -g | head -1)
            hi=$(printf '%s\n' ${R[$p,$c,rps]:-0} | sort -g | tail -1)
            p50=$(median ${R[$p,$c,p50]:-0})
            p99=$(median ${R[$p,$c,p99]:-0})
            tot=$(( ${R[$p,$c,pri]:-0} + ${R[$p,$c,sby]:-0} ))
            share=$(awk -v a="${R[$p,$c,pri]:-0}" -v t="$tot" 'BEGIN { if (t) printf "%.0f/%.0f", 100 * a / t, 100 - 100 * a / t; else print "-" }')
            rpst=$(awk -v q="${R[$p,$c,req]:-0}" -v t="$tot" 'BEGIN { if (t) printf "%.2f", q / t; else print "-" }')
            printf '%5s  %-15s %9.0f %17s %6s %7.2f %7.2f %11s %8s %6s %6s\n' \
                "$c" "${spread_label[$p]}" "$rps" "($(printf '%.0f..%.0f' "$lo" "$hi"))" \
                "$(awk -v a="$rps" -v b="$arps" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')" \
                "$(awk -v u="$p50" 'BEGIN { print u / 1000 }')" \
                "$(awk -v u="$p99" 'BEGIN { print u / 1000 }')" \
                "$share" "$rpst" "${R[$p,$c,err]:-0}" "${R[$p,$c,oth]:--}"
        done
    done
    echo "(vs A: B/A and C/A of the median req/s; pri/sby %: share of balance_db_statements_total,"
    echo " summed over the runs; req/stmt: requests per statement, >1 when waiting requests were"
    echo " coalesced; other%: the most, over the runs, of CPU time used by processes not of this"
    echo " script, in % of all CPUs; p50/p99: medians of wrk's per-run percentiles)"
    echo "at the end, B: $(gauges_at "${spread_port[B]}")"
    echo "at the end, C: $(gauges_at "${spread_port[C]}")"

    local log crashes lines
    for p in "${spread_pools[@]}"; do
        log="$bench_dir/spread-$p/logs/error.log"
        crashes=$(grep -c 'exited on signal' "$log" || true)
        [ "$crashes" = 0 ] || fail "spread $p: $crashes worker crashes"
        echo "error_log $p: $(wc -l <"$log") lines ($(awk '{ n[$3]++ } END { for (l in n) printf "%s%s %d", (k++ ? ", " : ""), l, n[l] }' "$log")), worker crashes $crashes"
        grep -E '\[(error|crit|alert|emerg)\]|exited on signal' "$log" | head -5 | cut -c1-200 | sed 's/^/  /' || true
    done
    echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
    if [ ${#failures[@]} -gt 0 ]; then
        echo "replicas: spread: FAIL (${#failures[@]}): ${failures[*]}"
        exit 1
    fi
    echo "replicas: spread: ok"
}

# usable and lag of both servers on the status page of nginx port $1
gauges_at() {
    local s
    s=$(status_at "$1")
    printf 'usable primary %s standby %s, lag standby %s s' \
        "$(server_gauge balance_server_usable "$BENCH_PG_PORT" <<<"$s")" \
        "$(server_gauge balance_server_usable "$BENCH_PG_STANDBY_PORT" <<<"$s")" \
        "$(server_gauge balance_server_lag_seconds "$BENCH_PG_STANDBY_PORT" <<<"$s")"
}

# --- setup ------------------------------------------------------------------

"$top/util/deps.sh"
"$top/util/build.sh" >/dev/null
make -s -C "$top/util" gen_accounts

for port in "$BENCH_PORT" $([ "$mode" = spread ] && echo $((BENCH_PORT + 1)) $((BENCH_PORT + 2))); do
    if ss -Htln "sport = :$port" | grep -q .; then
        echo "replicas: port $port is taken (BENCH_PORT=... to choose another)" >&2
        exit 1
    fi
done

mkdir -p "$bench_dir"
PGOPTIONS="-c client_min_messages=warning" bench_db
echo "replicas: making the standby (pg_basebackup)"
t=$(now_ms)
bench_standby
echo "replicas: standby streaming $(( $(now_ms) - t )) ms after pg_basebackup began"

bench_expected "$expected"

# the standby has the same answers
n=$("$pg" psql "$bench_pg_standby" "$BENCH_PG_STANDBY_PORT" bench bench -tAc \
    "SELECT count(*) FROM current_state, pg_is_in_recovery() r WHERE r")
[ "$n" = "$BENCH_ACCOUNTS" ] || { echo "replicas: the standby has $n accounts" >&2; exit 1; }

rev=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$top" diff --quiet HEAD -- src ngx_http_balance_module.c config 2>/dev/null \
    || rev="$rev + uncommitted changes to the module"

if [ "$mode" = spread ]; then
    spread_main
    exit 0
fi

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

echo "replicas: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) CPUs shared by wrk," \
     "nginx ($BENCH_WORKERS workers) and two PostgreSQL $(bench_psql -tAc 'SHOW server_version')" \
     "clusters; $BENCH_ACCOUNTS accounts; module at commit $rev"
echo "replicas: pool: primary :$BENCH_PG_PORT, standby :$BENCH_PG_STANDBY_PORT role=standby," \
     "max_lag $BENCH_MAX_LAG check=$BENCH_LAG_CHECK, connections ${BENCH_CONNECTIONS:-4}," \
     "queue ${BENCH_QUEUE:-4096} timeout=${BENCH_QUEUE_TIMEOUT:-2s}; load average before:" \
     "$(cut -d' ' -f1-3 /proc/loadavg)"
echo "replicas: at start: $(gauges)"

# --- a. spread --------------------------------------------------------------

if want spread; then
phase=spread
echo
echo "== a. spread: ${PHASE_SECONDS} s of load"
s0=$(snapshot)
t0=$(now_ms)
wrk_start "$PHASE_SECONDS"
wrk_wait || true
s1=$(snapshot)
phase_report "$s0" "$s1"
fi

# --- b. lag -----------------------------------------------------------------

if want lag; then
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
echo "   one write after a quiet primary, then a writer committing every 100 ms;"
echo "   the lag is measured against the primary's WAL position (sampled every $BENCH_LAG_CHECK):"
echo "   out of use about max_lag ($BENCH_MAX_LAG), give or take a check interval, after the"
echo "   primary moves past the standby (the write, or the first commit after the pause)"
s0=$(snapshot)
t0=$(now_ms)
wrk_start 60
at 2
lag_round one one
sleep 1
event "after the resume: $(gauges)"
# a steady writer: the primary's WAL moves every 100 ms, so the standby
# falls behind it from the first commit after the pause
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
fi

# --- c. standby stopped -----------------------------------------------------

if want standby-down; then
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
fi

# --- d. primary stopped -----------------------------------------------------

if want primary-down; then
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
fi

# --- e. standby frozen --------------------------------------------------------

if want standby-frozen; then
phase=standby-frozen
echo
echo "== e. standby frozen (SIGSTOP) at 3 s, thawed at 6 s, of ${PHASE_SECONDS} s of load"
"$pg" standby "$bench_pg_standby" "$BENCH_PG_STANDBY_PORT" "$bench_pg"   # streaming
for _ in $(seq 50); do
    [ "$(status | server_gauge balance_server_usable "$BENCH_PG_STANDBY_PORT")" = "$BENCH_WORKERS" ] && break
    sleep 0.1
done
s0=$(snapshot)
t0=$(now_ms)
wrk_start "$PHASE_SECONDS"
at 3
pm=$(head -1 "$bench_pg_standby/data/postmaster.pid")
frozen=("$pm" $(pgrep -P "$pm"))
kill -STOP "${frozen[@]}"
event "standby frozen: SIGSTOP to its ${#frozen[@]} processes"
at 6
kill -CONT "${frozen[@]}"
frozen=()
ts=$(now_ms)
event "standby thawed: SIGCONT"
poll_standby grow 0 $(( (PHASE_SECONDS - 6) * 1000 - 200 )) "$ts"
if [ -n "$poll_ms" ]; then
    event "the standby got statements again $poll_ms ms after SIGCONT"
    times+=("standby-frozen: standby back in use $poll_ms ms after SIGCONT")
else
    times+=("standby-frozen: standby NOT back in use before the end of the run")
fi
wrk_wait || true
s1=$(snapshot)
phase_report "$s0" "$s1"
fi

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
