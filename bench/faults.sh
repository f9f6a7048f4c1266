#!/usr/bin/env bash
# Faults, overload and soak for the module: wrk sends eth_getBalance for
# addresses of known balance (bench/faults.lua checks every answer) to an
# nginx with 2 workers while PostgreSQL and nginx are disturbed.
#
#   bench/faults.sh            faults, then overload (a little over a minute)
#   bench/faults.sh faults     one 45 s wrk run (64 connections) with, at
#                              known times: PostgreSQL restarted (down 3 s),
#                              a backend killed with pg_terminate_backend,
#                              a backend frozen with SIGSTOP (5 s), nginx
#                              reloaded; then 50 clients that give up while
#                              their lookups wait on a locked table
#   bench/faults.sh overload   500 connections against 1 connection per
#                              worker and a queue of 64, and a table lock
#                              that makes statements hit statement_timeout
#   bench/faults.sh soak       1,000,000 requests (100 connections); worker
#                              RSS after the first 10,000 and at the end
#
# Requests carry "Connection: close" (FAULTS_KEEPALIVE=1: keepalive, to
# see the race of keepalive clients with a reload).  Fails (exit 1) when a
# request got no answer, an answer was wrong, a worker crashed, a latency
# exceeded its bound (overload) or RSS grew by more than 4 MB (soak).
# Runs as root on Debian 12; everything it starts (PostgreSQL under
# run/bench-faults/pg, nginx, wrk, probes) is stopped on exit, Ctrl-C
# included.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

mode=${1:-all}
case "$mode" in
    all|faults|overload|soak) ;;
    *) echo "usage: $0 [all|faults|overload|soak]" >&2; exit 2 ;;
esac

FAULTS_SECONDS=45       # the events below happen up to 32 s in
OVERLOAD_SECONDS=${OVERLOAD_SECONDS:-16}
SOAK_REQUESTS=${SOAK_REQUESTS:-1000000}
SOAK_FIRST=${SOAK_FIRST:-10000}
SOAK_MAX_GROWTH_KB=${SOAK_MAX_GROWTH_KB:-4096}

url="http://127.0.0.1:$BENCH_PORT/api"
lua="$top/bench/faults.lua"
expected="$bench_dir/expected.csv"
failures=()

# --- what runs, and how it is stopped ---------------------------------------

nginx_names=()       # nginx instances started here
bg_pids=()           # wrk, probes, lock holders started here
frozen=()            # backends sent SIGSTOP, to be sent SIGCONT

cleanup() {
    local rc=$? p name
    trap - EXIT INT TERM
    set +e
    for p in "${frozen[@]}"; do kill -CONT "$p" 2>/dev/null; done
    for p in "${bg_pids[@]}"; do
        kill -0 "$p" 2>/dev/null && kill "$p" 2>/dev/null
    done
    for p in "${bg_pids[@]}"; do wait "$p" 2>/dev/null; done
    for name in "${nginx_names[@]}"; do nginx_stop "$name"; done
    "$top/util/pg.sh" stop "$bench_pg"
    # nothing of ours may be left
    if pgrep -f "$bench_dir/" >/dev/null; then
        echo "faults: processes left behind:" >&2
        pgrep -af "$bench_dir/" >&2
        rc=1
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'echo "faults: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM

# nginx with the pool directives $2, named $1, under run/bench-faults/$1
nginx_start() {
    local name=$1 pool=$2 dir="$bench_dir/$1"
    rm -rf "$dir"
    bench_nginx_conf "$name" "$pool" "location = /api { balance_pass bench; }
        location = /metrics { balance_status; }"
    nginx_names+=("$name")
    /usr/sbin/nginx -c "$dir/nginx.conf" -p "$dir"
    wait_ready
}

# graceful quit; TERM, then KILL, for a master that does not go
nginx_stop() {
    local dir="$bench_dir/$1" master
    [ -f "$dir/nginx.pid" ] || return 0
    master=$(cat "$dir/nginx.pid")
    /usr/sbin/nginx -c "$dir/nginx.conf" -p "$dir" -s quit 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$master" 2>/dev/null || return 0; sleep 0.1; done
    echo "faults: nginx $1 did not quit in 10 s, terminating it" >&2
    kill -TERM "$master" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$master" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL $(pgrep -P "$master") "$master" 2>/dev/null || true
}

workers() {
    pgrep -P "$(cat "$bench_dir/$1/nginx.pid")" | sort -n
}

# sum of the workers' VmRSS, kB
rss_kb() {
    local p sum=0 kb
    for p in $(workers "$1"); do
        kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null || true)
        sum=$((sum + ${kb:-0}))
    done
    echo "$sum"
}

backends() {
    bench_psql -tAc "SELECT pid FROM pg_stat_activity
                     WHERE application_name = 'nginx balance' ORDER BY pid" \
        | tr '\n' ' '
}

now_ms() {
    local t=${EPOCHREALTIME/[.,]/}
    NOW=$((t / 1000))
}

# sleep until $1 seconds after t0
at() {
    local d
    now_ms
    d=$((t0 + $1 * 1000 - NOW))
    if [ "$d" -gt 0 ]; then sleep "$((d / 1000)).$(printf %03d $((d % 1000)))"; fi
}

event() {
    now_ms
    local rel=$((NOW - t0))
    printf '  [+%d.%01ds] %s\n' $((rel / 1000)) $((rel % 1000 / 100)) "$1"
    echo "$NOW $1" >>"$events"
}

# one request for the probe account; prints the body, then "status seconds"
probe() {
    curl -s -m "${1:-2}" -H 'Content-Type: application/json' \
        -H 'Connection: close' -w '\n%{http_code} %{time_total}' \
        -d "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"eth_getBalance\",\"params\":[\"$probe_addr\",\"latest\"]}" \
        "$url" 2>/dev/null || true
}

probe_ok() {
    [[ $1 == *"\"result\":\"$probe_hex\""* ]]
}

wait_ready() {
    for _ in $(seq 100); do
        probe_ok "$(probe 1)" && return 0
        sleep 0.1
    done
    echo "faults: nginx does not answer correctly on $url" >&2
    return 1
}

fail() {
    echo "faults: FAIL: $1" >&2
    failures+=("$1")
}

# $1 clients that give up after $2 s, from one curl process: prints how
# many gave up, and the status codes of the others
give_up() {
    curl -s --no-progress-meter -Z --parallel-immediate --parallel-max "$1" -m "$2" \
        -H 'Content-Type: application/json' \
        -w '%{stderr}%{http_code}\n' \
        -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getBalance\",\"params\":[\"$probe_addr\",\"latest\"]}" \
        "$url?n=[1-$1]" 2>&1 >/dev/null \
        | awk '/^[0-9][0-9][0-9]$/ { n[$1]++ } END { printf "%d gave up before an answer", n["000"];
                 for (c in n) if (c != "000") printf ", %d answered %s", n[c], c }' \
        || true     # curl exits 28 when a transfer timed out
}

# runs wrk in the background: $1 name, $2 connections, $3 seconds, env
# for faults.lua in the rest
wrk_start() {
    local name=$1 conns=$2 secs=$3
    shift 3
    wrk_out="$bench_dir/$name.wrk"
    timeline="$bench_dir/$name.timeline"
    rm -f "$timeline"
    env EXPECTED="$expected" TIMELINE="$timeline" THREADS=2 "$@" \
        wrk -t2 -c"$conns" -d"${secs}s" --timeout 10s --latency -s "$lua" \
        "$url" >"$wrk_out" 2>&1 &
    wrk_pid=$!
    bg_pids+=("$wrk_pid")
}

wrk_wait() {
    local rc=0
    wait "$wrk_pid" || rc=$?
    if [ "$rc" != 0 ] || ! grep -q '^faults: sent' "$wrk_out"; then
        cat "$wrk_out" >&2
        fail "wrk failed (exit $rc)"
        return 1
    fi
}

# a value printed by faults.lua's done()
val() {
    awk -v k="$1" '$1 == "faults:" && $2 == k { print $3 }' "$wrk_out"
}

# the answers, checked: no request without an answer, no wrong answer
report_answers() {
    local label=$1 sent ans
    sent=$(val sent)
    ans=$(val answered)
    printf '  requests sent %d, answered %d, in flight when wrk stopped %d\n' \
        "$sent" "$ans" "$(val inflight)"
    printf '  correct %d, 503 -32603 %d, 503 -32005 %d, other %d\n' \
        "$(val ok)" "$(val e32603)" "$(val e32005)" "$(val bad)"
    printf '  no answer: unanswered %d, socket errors: connect %d, read %d, write %d, timeout %d\n' \
        "$(val stuck)" "$(val connect_errors)" "$(val read_errors)" \
        "$(val write_errors)" "$(val timeouts)"
    printf '  slowest correct answer %d ms, slowest 503 %d ms\n' \
        "$(val max_ms_ok)" "$(val max_ms_503)"
    awk '$1 == "faults:" && $2 ~ /^latency_/ { v[$2] = $3 / 1000 }
         END { printf "  wrk latency (corrected for coordinated omission):" \
                      " p50 %.1f ms, p99 %.1f ms, p99.9 %.1f ms, max %.1f ms\n",
                      v["latency_p50_us"], v["latency_p99_us"],
                      v["latency_p999_us"], v["latency_max_us"] }' "$wrk_out"
    grep '^faults: sample' "$wrk_out" | sed 's/^faults: sample /  bad answer: /' || true

    [ "$(val bad)" = 0 ] || fail "$label: $(val bad) wrong or malformed answers"
    [ "$(val stuck)" = 0 ] || fail "$label: $(val stuck) requests got no answer"
    local e
    for e in connect_errors read_errors write_errors timeouts; do
        [ "$(val $e)" = 0 ] || fail "$label: wrk $e: $(val $e)"
    done
}

# crashes and alerts in an nginx's error_log
report_log() {
    local label=$1 log="$bench_dir/$1/logs/error.log" n
    n=$(grep -c 'exited on signal' "$log" || true)
    echo "  error_log: $(wc -l <"$log") lines; worker crashes: $n"
    grep -E '\[(alert|crit|emerg)\]|exited on signal' "$log" | head -5 | sed 's/^/    /' || true
    [ "$n" = 0 ] || fail "$label: $n worker crashes"
}

# one of the module's counters, e.g. balance_requests_total{outcome="gone"}
metric() {
    curl -s -m 2 "http://127.0.0.1:$BENCH_PORT/metrics" \
        | awk -v m="$1" 'index($0, m " ") == 1 { print $2 }'
}

# the module's own counters (balance_status), those that are not zero
report_metrics() {
    echo "  the module's counters (balance_status, all workers, reload included):"
    curl -s -m 2 "http://127.0.0.1:$BENCH_PORT/metrics" \
        | grep -E '^balance_(requests_total|queue_rejected_total|db_errors_total|db_statements_total)' \
        | grep -v ' 0$' | sed -e 's/^/    /' -e 's/pool="bench",//' \
                              -e "s/,\?server=\"[^\"]*\"//" -e 's/{,/{/' -e 's/{}//' || true
}

# answers per second, with the events of each second
print_timeline() {
    awk -v t0="$t0" -v evfile="$events" '
        BEGIN {
            while ((getline line < evfile) > 0) {
                split(line, f, " ")
                s = int((f[1] - t0) / 1000)
                ev[s] = ev[s] (ev[s] == "" ? "" : "; ") substr(line, length(f[1]) + 2)
            }
        }
        {
            s = int(($1 - t0) / 1000)
            if (s < 0) next
            ok[s] += $2; a[s] += $3; b[s] += $4; bad[s] += $5
            if (s > last) last = s
        }
        END {
            printf "  %5s %8s %8s %8s %6s\n", "sec", "correct", "-32603", "-32005", "other"
            for (s = 0; s <= last; s++)
                printf "  %5d %8d %8d %8d %6d  %s\n", s, ok[s], a[s], b[s], bad[s], ev[s]
        }' "$timeline"
}

# --- setup ------------------------------------------------------------------

"$top/util/deps.sh"
"$top/util/build.sh" >/dev/null
make -s -C "$top/util" gen_accounts

if ss -Htln "sport = :$BENCH_PORT" | grep -q .; then
    echo "faults: port $BENCH_PORT is taken (BENCH_PORT=... to choose another)" >&2
    exit 1
fi

mkdir -p "$bench_dir"
bench_db

bench_expected "$expected"

pool_faults="        connections 4;
        queue 1024 timeout=1s;
        connect_timeout 1s;
        query_timeout 2s;
        backoff 100ms max=1s;"

echo "faults: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) CPUs shared by wrk, nginx ($BENCH_WORKERS workers) and PostgreSQL $("$top/util/pg.sh" psql "$bench_pg" "$BENCH_PG_PORT" bench bench -tAc 'SHOW server_version'); $BENCH_ACCOUNTS accounts"
rev=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$top" diff --quiet HEAD -- src ngx_http_balance_module.c config 2>/dev/null \
    || rev="$rev + uncommitted changes to the module"
echo "faults: module at commit $rev; command: $0${1:+ $1}"
echo "faults: load average before: $(cut -d' ' -f1-3 /proc/loadavg) (anything else running shares the CPUs)"

# the CPU time of processes other than ours, sampled each second
rm -f "$bench_dir/cpu"
perl "$top/bench/faults-cpu.pl" $$ "$bench_dir/" "$bench_dir/cpu" &
bg_pids+=($!)
hz=$(getconf CLK_TCK)
ncpu=$(nproc)
for _ in $(seq 50); do [ -f "$bench_dir/cpu" ] && break; sleep 0.1; done

cpu_mark() {
    cpu0=$(cat "$bench_dir/cpu" 2>/dev/null || echo "0 0 0")
}

# busy and other load since cpu_mark, in % of all CPUs
cpu_report() {
    local cpu1
    sleep 1.1
    cpu1=$(cat "$bench_dir/cpu" 2>/dev/null || echo "0 0 0")
    echo "$cpu0 $cpu1" | awk -v hz="$hz" -v n="$ncpu" '{
        s = ($4 - $1) / 1000 * hz * n
        if (s > 0)
            printf "  CPUs busy %.0f%%, of which processes other than this" \
                   " script'"'"'s %.0f%% (of %d CPUs, over %.0f s)\n",
                   100 * ($5 - $2) / s, 100 * ($6 - $3) / s, n, ($4 - $1) / 1000
    }'
}

# --- faults -----------------------------------------------------------------

run_faults() {
    local name=faults out old down_ms=() rec last rss0 rss1 b0 n pid conn
    events="$bench_dir/faults.events"
    : >"$events"

    echo
    local conn="Connection: close"
    [ "${FAULTS_KEEPALIVE:-0}" != 1 ] || conn="keepalive (FAULTS_KEEPALIVE=1)"
    echo "== faults: wrk -t2 -c64 for ${FAULTS_SECONDS}s, $conn; pool:" \
         "connections 4, queue 1024 timeout=1s, connect_timeout 1s," \
         "query_timeout 2s, backoff 100ms max=1s"
    nginx_start "$name" "$pool_faults"
    rss0=$(rss_kb "$name")
    b0=$(backends)
    echo "  workers $(workers $name | tr '\n' ' ')RSS $rss0 kB; backends: $b0"

    cpu_mark
    now_ms
    t0=$NOW
    wrk_start "$name" 64 "$FAULTS_SECONDS" STUCK_MS=5000 KEEPALIVE="${FAULTS_KEEPALIVE:-0}"

    # (a) PostgreSQL down for 3 s
    at 5
    "$top/util/pg.sh" ctl "$bench_pg" stop
    event "PostgreSQL stopped (pg_ctl stop -m fast returned)"
    for _ in 1 2 3 4 5; do
        out=$(probe)
        if [[ $out == *'"code":-32603'* && ${out##*$'\n'} == 503* ]]; then
            down_ms+=("$(awk -v t="${out##* }" 'BEGIN { printf "%.1f", t * 1000 }')")
        else
            fail "while PostgreSQL is down, a probe got: ${out//$'\n'/ }"
        fi
        sleep 0.3
    done
    echo "  probes while down: 503 -32603 in ${down_ms[*]} ms (curl time_total)"
    at 8
    "$top/util/pg.sh" ctl "$bench_pg" start
    event "PostgreSQL started (pg_ctl start -w returned)"
    local tstart=$NOW
    rec=
    while :; do
        out=$(probe 1)
        now_ms
        if probe_ok "$out"; then rec=$((NOW - tstart)); break; fi
        [ $((NOW - tstart)) -lt 10000 ] || break
        sleep 0.02
    done
    if [ -n "$rec" ]; then
        event "first correct answer to the probe, $rec ms after pg_ctl start"
        recovery_ms=$rec
    else
        fail "no correct answer within 10 s of PostgreSQL's restart"
    fi

    # (b) one backend killed
    at 16
    pid=$(bench_psql -tAc "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                           WHERE application_name = 'nginx balance' LIMIT 1")
    event "pg_terminate_backend of one connection: $pid"

    # (c) one backend frozen: the server does not answer at all
    at 22
    pid=$(bench_psql -tAc "SELECT pid FROM pg_stat_activity
                           WHERE application_name = 'nginx balance'
                           ORDER BY state = 'active' DESC LIMIT 1")
    kill -STOP "$pid"
    frozen+=("$pid")
    event "backend $pid stopped with SIGSTOP"
    at 27
    kill -CONT "$pid"
    event "backend $pid continued"

    # (d) nginx reloaded
    at 32
    old=$(workers "$name" | tr '\n' ' ')
    /usr/sbin/nginx -c "$bench_dir/$name/nginx.conf" -p "$bench_dir/$name" \
        -s reload 2>"$bench_dir/reload.out" || { cat "$bench_dir/reload.out" >&2; exit 1; }
    event "nginx -s reload (old workers: $old)"
    local gone=
    for _ in $(seq 200); do
        local alive=0
        for pid in $old; do kill -0 "$pid" 2>/dev/null && alive=1; done
        if [ "$alive" = 0 ]; then gone=1; break; fi
        sleep 0.05
    done
    if [ -n "$gone" ]; then
        event "old workers exited"
    else
        fail "old workers still running 10 s after the reload"
    fi

    wrk_wait || return 0
    rss1=$(rss_kb "$name")
    cpu_report

    # (e) clients that give up while their lookups wait on a locked table:
    # 4 per worker in rounds on the connections, the others in the queue
    local b1 b2 lock aborted
    b1=$(backends)
    bench_psql -c "BEGIN; LOCK TABLE current_state IN ACCESS EXCLUSIVE MODE;
                   SELECT pg_sleep(3); COMMIT" >/dev/null &
    lock=$!
    bg_pids+=("$lock")
    sleep 0.3
    local gone0 gone1
    gone0=$(metric 'balance_requests_total{outcome="gone"}')
    aborted=$(give_up 50 0.5)
    echo "  client abort: table locked for 3 s; of 50 clients with a 500 ms limit," \
         "$aborted"
    gone1=$(metric 'balance_requests_total{outcome="gone"}')
    if [ -n "$gone0" ] && [ -n "$gone1" ]; then
        echo "  the module counted $((gone1 - gone0)) requests whose client left"
        [ "$((gone1 - gone0))" = "${aborted%% *}" ] \
            || fail "faults: $((gone1 - gone0)) requests counted gone, ${aborted%% *} clients gave up"
    fi
    wait "$lock" || true
    sleep 0.2
    b2=$(backends)
    if probe_ok "$(probe)" && [ "$b1" = "$b2" ]; then
        echo "  after the aborts: the same $(echo "$b2" | wc -w) connections, answers correct"
    else
        fail "faults: after the client aborts, backends $b1 -> $b2 or a wrong answer"
    fi

    echo
    print_timeline
    echo
    report_answers "$name"
    report_log "$name"
    report_metrics

    # the connections after it all: 4 per worker, none left by old workers
    for _ in $(seq 30); do
        n=$(backends | wc -w)
        [ "$n" = $((4 * BENCH_WORKERS)) ] && break
        sleep 0.1
    done
    echo "  backends at the end: $n (expected $((4 * BENCH_WORKERS)))"
    [ "$n" = $((4 * BENCH_WORKERS)) ] \
        || fail "faults: $n backend connections after the run, not $((4 * BENCH_WORKERS))"

    echo "  log lines about PostgreSQL:"
    grep -E 'balance:' "$bench_dir/$name/logs/error.log" \
        | sed -E 's/^[0-9\/]+ ([0-9:]+) \[([a-z]+)\] [0-9]+#[0-9]+: (\*[0-9]+ )?/    \1 [\2] /' \
        | cut -c1-220 | head -40 || true
    echo "  recovery after PostgreSQL restart: ${recovery_ms:-none} ms to the first correct answer"
    # the last -32603 after the restart, in the 100 ms buckets: when every
    # worker had a connection again
    last=$(awk -v s="$tstart" '$1 + 100 > s && $1 < s + 7000 && $3 > 0 { l = $1 + 100 - s }
                               END { print l + 0 }' "$timeline")
    echo "  last 503 -32603 after the restart: within $last ms of pg_ctl start (100 ms buckets)"
    echo "  worker RSS: $rss0 kB before the run, $rss1 kB after (of the workers" \
         "the reload started)"
    nginx_stop "$name"
}

# --- overload ---------------------------------------------------------------

run_overload() {
    local name=overload b0 b1 lock maxus bound_ms=3200
    events="$bench_dir/overload.events"
    : >"$events"

    echo
    echo "== overload: wrk -t2 -c500 for ${OVERLOAD_SECONDS}s; pool: connections 1," \
         "queue 64 timeout=200ms, query_timeout 2s (statement_timeout 1800ms);" \
         "bound: 200 ms + 2000 ms + 1000 ms margin = $bound_ms ms"
    nginx_start "$name" "        connections 1;
        queue 64 timeout=200ms;
        connect_timeout 1s;
        query_timeout 2s;
        backoff 100ms max=1s;"
    b0=$(backends)

    cpu_mark
    now_ms
    t0=$NOW
    wrk_start "$name" 500 "$OVERLOAD_SECONDS" STUCK_MS=$bound_ms

    # the slow path: statements wait on a lock until statement_timeout
    at 5
    bench_psql -c "BEGIN; LOCK TABLE current_state IN ACCESS EXCLUSIVE MODE;
                   SELECT pg_sleep(5); COMMIT" >/dev/null &
    lock=$!
    bg_pids+=("$lock")
    event "table locked for 5 s: statements wait until statement_timeout"

    wait "$lock" || true
    event "lock released"

    wrk_wait || return 0
    cpu_report
    b1=$(backends)

    echo
    print_timeline
    echo
    report_answers "$name"
    report_log "$name"
    report_metrics

    echo "  wrk's own figures:"
    sed -n '/Thread Stats/,/Non-2xx/p' "$wrk_out" | sed 's/^/  /'
    maxus=$(val latency_max_us)
    echo "  max latency $((maxus / 1000)) ms (bound $bound_ms ms)"
    [ "$((maxus / 1000))" -lt "$bound_ms" ] \
        || fail "overload: max latency $((maxus / 1000)) ms exceeds $bound_ms ms"
    [ "$(val e32005)" -gt 0 ] || fail "overload: no request was refused: not an overload"

    n=$(grep -c 'statement timeout' "$bench_dir/$name/logs/error.log" || true)
    echo "  statements cancelled by statement_timeout (logged): $n"
    echo "  backends before: $b0; after: $b1"
    if [ "$b0" = "$b1" ]; then
        echo "  the same connections throughout: kept through the statement timeouts"
    else
        fail "overload: the backend connections changed ($b0 -> $b1)"
    fi
    nginx_stop "$name"
}

# --- soak -------------------------------------------------------------------

# wrk until $1 answers: faults.lua stops each thread at its share and
# leaves a marker; wrk's main thread then needs SIGINT to stop sleeping
wrk_count() {
    local name=$1 count=$2
    rm -rf "$bench_dir/$name.stop"
    mkdir -p "$bench_dir/$name.stop"
    wrk_start "$name" 100 3600 STOP_AFTER="$count" STOP_DIR="$bench_dir/$name.stop"
    while kill -0 "$wrk_pid" 2>/dev/null; do
        if [ -f "$bench_dir/$name.stop/stop.1" ] && [ -f "$bench_dir/$name.stop/stop.2" ]; then
            kill -INT "$wrk_pid"
            break
        fi
        sleep 0.2
    done
    wrk_wait
}

run_soak() {
    local name=soak rss1 rss2 total=0 s0 s1
    events="$bench_dir/soak.events"
    : >"$events"

    echo
    echo "== soak: $SOAK_REQUESTS requests, wrk -t2 -c100, Connection: close; pool as in faults"
    nginx_start "$name" "$pool_faults"
    now_ms
    t0=$NOW
    wrk_count soak-first "$SOAK_FIRST" || return 0
    total=$(val answered)
    report_answers soak-first
    rss1=$(rss_kb "$name")
    echo "  worker RSS after $total requests: $rss1 kB"

    cpu_mark
    now_ms
    s0=$NOW
    wrk_count soak "$((SOAK_REQUESTS - total))" || return 0
    now_ms
    s1=$NOW
    cpu_report
    total=$((total + $(val answered)))
    report_answers soak
    rss2=$(rss_kb "$name")
    report_log "$name"
    report_metrics
    echo "  $(val answered) requests in $(((s1 - s0) / 1000)) s"
    echo "  worker RSS after $total requests: $rss2 kB (growth $((rss2 - rss1)) kB, limit $SOAK_MAX_GROWTH_KB kB)"
    [ "$((rss2 - rss1))" -le "$SOAK_MAX_GROWTH_KB" ] \
        || fail "soak: worker RSS grew by $((rss2 - rss1)) kB"
    nginx_stop "$name"
}

case "$mode" in
    all) run_faults; run_overload ;;
    faults) run_faults ;;
    overload) run_overload ;;
    soak) run_soak ;;
esac

echo
echo "faults: load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ ${#failures[@]} -gt 0 ]; then
    echo "faults: FAIL (${#failures[@]}): ${failures[*]}"
    exit 1
fi
echo "faults: ok"
