#!/usr/bin/env bash
# Throughput and latency of eth_getBalance through the module, next to its
# two ceilings, on the same machine, data and run:
#
#   module   wrk (bench/bench.lua: random existing and missing addresses,
#            half and half) -> nginx + balance_pass -> PostgreSQL
#   static   the same wrk script -> nginx `return 200` with a fixed JSON
#            body as long as the module's average answer, same workers
#   pgbench  pgbench -M prepared (bench/bench_pgbench.sql): the same
#            single-row lookup on the same table, same client counts
#
# then the module again at each worker count of BENCH_WORKERS_LIST.  Prints
# the tables and writes docs/benchmarks.md and docs/benchmarks.png.
#
# As root on Debian 12:  bench/bench.sh
#
#   BENCH_DURATION=8          seconds per point
#   BENCH_CONNS="5 20 100 500"  wrk connections / pgbench clients
#   BENCH_WORKERS=2           nginx worker_processes of the main table
#   BENCH_WORKERS_LIST="1 2"  worker counts of the second table ("" skips)
#   BENCH_CONNECTIONS=4       PostgreSQL connections per worker
#   BENCH_QUEUE=4096 BENCH_QUEUE_TIMEOUT=2s   the pool's wait queue
#   BENCH_WRK_THREADS=2  BENCH_PGBENCH_THREADS=2
#   BENCH_KEEPALIVE_REQUESTS  nginx keepalive_requests (default nginx's 1000)
#   BENCH_ACCOUNTS=100000     rows in current_state
#   BENCH_DOCS=1              write docs/benchmarks.{md,png} (0: print only)
#   BENCH_IDLE_WAIT=30        seconds to wait for idle CPUs before starting
#   BENCH_RETRIES=0           measure a point again, up to this many times,
#   BENCH_MAX_OTHER=10          while other processes use more than this
#                               percentage of the CPUs during it (see below)
#
# PostgreSQL's max_connections (200 in util/pg.sh's cluster) is raised with
# ALTER SYSTEM and a restart when the largest pgbench client count needs it.
set -euo pipefail

# the command as given, with the settings from the environment
cmdline="bench/bench.sh${*:+ $*}"
for v in BENCH_DURATION BENCH_CONNS BENCH_WORKERS BENCH_WORKERS_LIST \
         BENCH_CONNECTIONS BENCH_QUEUE BENCH_QUEUE_TIMEOUT BENCH_WRK_THREADS \
         BENCH_PGBENCH_THREADS BENCH_ACCOUNTS BENCH_PORT BENCH_PG_PORT BENCH_DOCS \
         BENCH_IDLE_WAIT BENCH_RETRIES BENCH_MAX_OTHER BENCH_KEEPALIVE_REQUESTS; do
    if [ -n "${!v+set}" ]; then
        cmdline="$v=\"${!v}\" $cmdline"
    fi
done

. "$(dirname "$0")/lib.sh"

duration=${BENCH_DURATION:-8}
conns=${BENCH_CONNS:-5 20 100 500}
workers_list=${BENCH_WORKERS_LIST-1 2}
wrk_threads=${BENCH_WRK_THREADS:-2}
pgb_threads=${BENCH_PGBENCH_THREADS:-2}
write_docs=${BENCH_DOCS:-1}
retries=${BENCH_RETRIES:-0}
max_other_ok=${BENCH_MAX_OTHER:-10}
export BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-4}
export BENCH_QUEUE=${BENCH_QUEUE:-4096}
export BENCH_QUEUE_TIMEOUT=${BENCH_QUEUE_TIMEOUT:-2s}
main_workers=$BENCH_WORKERS

if [ "$(id -u)" != 0 ]; then
    echo "bench: run as root (installs packages, runs PostgreSQL as postgres)" >&2
    exit 1
fi

"$top/util/deps.sh" gnuplot-nox
"$top/util/build.sh" >/dev/null
make -s -C "$top/util" gen_accounts

log() { echo "bench: $*" >&2; }

# --- other load on the CPUs ----------------------------------------------------
#
# The numbers mean little if something else uses the CPUs.  For each point
# the script compares the machine's busy CPU time (/proc/stat) with the CPU
# time of its own processes: this shell and what it waited for (wrk,
# pgbench), the PostgreSQL postmaster and its backends (ended backends are
# in the postmaster's cutime), the running nginx's master and workers.  The
# rest, in percent of all CPUs, is "other load".

machine_ticks() {   # busy total
    awk '/^cpu / { b = $2 + $3 + $4 + $7 + $8; print b, b + $5 + $6 + $9 }' /proc/stat
}

own_ticks() {
    local pids=$$ pm ng
    pm=$(head -1 "$bench_pg/data/postmaster.pid" 2>/dev/null || true)
    if [ -n "$pm" ]; then
        pids+=" $pm $(pgrep -P "$pm" | tr '\n' ' ' || true)"
    fi
    if [ -n "${cur_nginx:-}" ] && [ -f "$bench_dir/$cur_nginx/nginx.pid" ]; then
        ng=$(cat "$bench_dir/$cur_nginx/nginx.pid")
        pids+=" $ng $(pgrep -P "$ng" | tr '\n' ' ' || true)"
    fi
    for p in $pids; do cat "/proc/$p/stat" 2>/dev/null || true; done \
        | awk '{ sub(/^.*\) /, ""); t += $12 + $13 + $14 + $15 } END { print t + 0 }'
}

load_begin() {
    L0=$(machine_ticks) O0=$(own_ticks)
}

load_end() {   # sets OTHER, percent of all CPUs
    local l1 o1
    l1=$(machine_ticks) o1=$(own_ticks)
    OTHER=$(awk -v a="$L0" -v b="$l1" -v o0="$O0" -v o1="$o1" 'BEGIN {
        split(a, x, " "); split(b, y, " ")
        busy = y[1] - x[1]; total = y[2] - x[2]; other = busy - (o1 - o0)
        if (other < 0) other = 0
        printf "%.0f", (total > 0) ? 100 * other / total : 0 }')
}

# share of all CPUs busy over one second, in percent
cpu_busy() {
    local a b
    a=$(machine_ticks); sleep 1; b=$(machine_ticks)
    awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ")
        total = y[2] - x[2]
        printf "%.0f", (total > 0) ? 100 * (y[1] - x[1]) / total : 0 }'
}

# wait up to BENCH_IDLE_WAIT seconds for the CPUs to be mostly idle
idle_wait=${BENCH_IDLE_WAIT:-30}
busy_before=$(cpu_busy)
waited=1
while [ "$busy_before" -gt 15 ] && [ "$waited" -lt "$idle_wait" ]; do
    if [ "$waited" = 1 ]; then
        log "the CPUs are ${busy_before}% busy; waiting up to ${idle_wait}s for them to calm down"
    fi
    busy_before=$(cpu_busy)
    waited=$((waited + 1))
done
if [ "$busy_before" -gt 15 ]; then
    log "warning: the CPUs are ${busy_before}% busy with something else; the numbers will be low"
fi

out="$bench_dir/bench"
mkdir -p "$out"
rm -f "$out"/*

# --- cleanup: only what this script started ---------------------------------

instances=()
pg_started=0

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    local i
    for i in "${instances[@]}"; do
        bench_nginx_stop "$i"
    done
    if [ "$pg_started" = 1 ]; then
        "$top/util/pg.sh" stop "$bench_pg"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# leftovers of an earlier run of this script that could not clean up
for i in module static $(for w in $workers_list; do echo "module-w$w"; done); do
    bench_nginx_stop "bench-$i"
done

# --- PostgreSQL ------------------------------------------------------------

pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
if ! runuser -u postgres -- "$pg_bin/pg_ctl" -D "$bench_pg/data" status >/dev/null 2>&1; then
    pg_started=1
fi
bench_db

max_conns=0
for c in $conns; do
    if [ "$c" -gt "$max_conns" ]; then max_conns=$c; fi
done
# pgbench's clients, the module's connections (nginx is stopped by then,
# but keep room), psql, and the reserved superuser slots
need=$((max_conns + 2 * BENCH_CONNECTIONS * 4 + 20))
pg_super() { "$top/util/pg.sh" psql "$bench_pg" "$BENCH_PG_PORT" bench postgres "$@"; }
have=$(pg_super -tAc "SHOW max_connections")
if [ "$have" -lt "$need" ]; then
    log "raising max_connections from $have to $need (ALTER SYSTEM, restart)"
    pg_super -c "ALTER SYSTEM SET max_connections = $need"
    "$top/util/pg.sh" restart "$bench_pg"
fi
pg_max_conns=$(pg_super -tAc "SHOW max_connections")

bench_addresses "$out/addresses.txt"
naddr=$(wc -l <"$out/addresses.txt")
bench_psql -c "DROP TABLE IF EXISTS bench_addr" \
           -c "CREATE TABLE bench_addr (n int PRIMARY KEY, addr varchar(255) NOT NULL)"
awk '{ print NR "," $0 }' "$out/addresses.txt" \
    | bench_psql -c "COPY bench_addr (n, addr) FROM STDIN (FORMAT csv)"
bench_psql -c "VACUUM ANALYZE bench_addr"
existing=$(bench_psql -tAc "SELECT count(*) FROM bench_addr a JOIN current_state s ON s.id = a.addr")
log "$naddr addresses for wrk and pgbench, $existing of them existing accounts"

# --- wrk -------------------------------------------------------------------

# run_wrk <connections> <seconds> <tag>: sets W_* from bench.lua's BENCH line
run_wrk() {
    local c=$1 d=$2 tag=$3 t=$wrk_threads line kv
    if [ "$t" -gt "$c" ]; then t=$c; fi
    ADDRESSES="$out/addresses.txt" wrk -t"$t" -c"$c" -d"${d}s" --timeout 5s \
        --latency -s "$top/bench/bench.lua" "http://127.0.0.1:$BENCH_PORT/api" \
        >"$out/wrk-$tag.txt" 2>&1 || true
    line=$(grep '^BENCH ' "$out/wrk-$tag.txt" || true)
    if [ -z "$line" ]; then
        log "wrk failed ($tag):"; cat "$out/wrk-$tag.txt" >&2; exit 1
    fi
    W_requests='' W_rps='' W_p50_us='' W_p99_us='' W_avg_us='' W_non200='' W_bad=''
    W_connect='' W_read='' W_write='' W_timeout='' W_body_avg='' W_codes=''
    for kv in ${line#BENCH }; do
        printf -v "W_${kv%%=*}" '%s' "${kv#*=}"
    done
    W_errors=$((W_non200 + W_bad + W_connect + W_read + W_write + W_timeout))
}

ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "") printf "%.2f", a / b; else printf "n/a" }'; }
int() { awk -v x="$1" 'BEGIN { printf "%.0f", x }'; }

# error log lines at warn and above, and the count
errlog() {
    local f="$bench_dir/$1/logs/error.log"
    grep -E '\[(warn|error|crit|alert|emerg)\]' "$f" 2>/dev/null || true
}

declare -A R

# A point whose other load is above BENCH_MAX_OTHER percent is measured
# again, up to BENCH_RETRIES times, and the least disturbed attempt kept;
# the errors of every attempt are counted.

# series <kind> <instance>: wrk at every connection count
series() {
    local kind=$1 inst=$2 c try best allerr
    for c in $conns; do
        best=-1 allerr=0
        for try in $(seq 0 "$retries"); do
            sleep 1
            load_begin
            run_wrk "$c" "$duration" "$kind-c$c-$try"
            load_end
            allerr=$((allerr + W_errors))
            printf 'bench: %-10s c=%-4s %10.1f req/s  p50 %8s ms  p99 %8s ms  errors %s (status %s; bad %s; sock c/r/w/t %s)  other load %s%%\n' \
                "$kind" "$c" "$W_rps" "$(ms "$W_p50_us")" "$(ms "$W_p99_us")" \
                "$W_errors" "$W_codes" "$W_bad" \
                "$W_connect/$W_read/$W_write/$W_timeout" "$OTHER" >&2
            if [ "$W_errors" -gt 0 ] && [ "${kind%%-*}" = module ]; then
                log "module errors at c=$c; $inst error log (warn and above):"
                errlog "$inst" | tail -20 >&2
            fi
            if [ "$best" -lt 0 ] || [ "$OTHER" -lt "$best" ]; then
                best=$OTHER
                R[$kind,$c,oth]=$OTHER
                R[$kind,$c,rps]=$W_rps R[$kind,$c,p50]=$(ms "$W_p50_us")
                R[$kind,$c,p99]=$(ms "$W_p99_us") R[$kind,$c,avg]=$(ms "$W_avg_us")
                R[$kind,$c,err]=$W_errors R[$kind,$c,codes]=$W_codes
                R[$kind,$c,sock]="$W_connect/$W_read/$W_write/$W_timeout"
                R[$kind,$c,bad]=$W_bad
            fi
            R[$kind,$c,tries]=$((try + 1))
            if [ "$OTHER" -le "$max_other_ok" ] || [ "$try" -ge "$retries" ]; then
                break
            fi
            log "$kind c=$c: other load ${OTHER}% > ${max_other_ok}%, measuring again"
            sleep 2
        done
        R[$kind,$c,allerr]=$allerr
    done
}

start_nginx() {
    local name=$1 body=$2
    rm -f "$bench_dir/$name/logs/error.log"
    instances+=("$name")
    cur_nginx=$name
    bench_nginx "$name" "$body"
}

stop_nginx() {
    bench_nginx_stop "$1"
}

# nginx's default keepalive_requests (1000) unless BENCH_KEEPALIVE_REQUESTS
ka=${BENCH_KEEPALIVE_REQUESTS:+keepalive_requests $BENCH_KEEPALIVE_REQUESTS; }
module_loc="${ka}location = /api { balance_pass bench; }"

# module, main worker count; its warm-up also measures the answers' length
BENCH_WORKERS=$main_workers
start_nginx bench-module "$module_loc"
run_wrk 20 2 module-warmup
body_len=$(int "$W_body_avg")
log "module warm-up: $(int "$W_rps") req/s, average answer body $W_body_avg bytes (status $W_codes)"
if [ "$W_codes" != "200:$W_requests" ] && [ "${W_non200:-0}" -gt 0 ]; then
    log "module warm-up had non-200 answers; error log:"; errlog bench-module | tail -20 >&2
fi
series module bench-module
module_errlog=$(errlog bench-module)
stop_nginx bench-module

# static: `return 200` with a body of the module's average length
prefix='{"jsonrpc":"2.0","id":1,"result":"0x'
ndig=$((body_len - ${#prefix} - 2))
if [ "$ndig" -lt 1 ]; then ndig=1; fi
static_body="$prefix$(printf '%*s' "$ndig" '' | tr ' ' 'f')\"}"
start_nginx bench-static "${ka}location = /api { default_type application/json; return 200 '$static_body'; }"
run_wrk 20 2 static-warmup
log "static warm-up: $(int "$W_rps") req/s, body $W_body_avg bytes"
series static bench-static
stop_nginx bench-static

# pgbench at the same client counts, nothing else running
run_pgbench() {
    local c=$1 d=$2 tag=$3 j=$pgb_threads
    if [ "$j" -gt "$c" ]; then j=$c; fi
    rm -f "$out/pgbench-$tag".log*
    "$pg_bin/pgbench" -h 127.0.0.1 -p "$BENCH_PG_PORT" -U bench -n \
        -M prepared -c "$c" -j "$j" -T "$d" -D naddr="$naddr" \
        -f "$top/bench/bench_pgbench.sql" -l --log-prefix="$out/pgbench-$tag.log" \
        bench >"$out/pgbench-$tag.txt" 2>&1
}

sleep 1
run_pgbench 5 2 warmup || { cat "$out/pgbench-warmup.txt" >&2; exit 1; }
rm -f "$out/pgbench-warmup".log*
pg_na() {
    R[pg,$1,tps]=n/a R[pg,$1,p50]=n/a R[pg,$1,p99]=n/a R[pg,$1,avg]=n/a
    R[pg,$1,fail]=n/a R[pg,$1,oth]=n/a
}

for c in $conns; do
    if [ "$c" -gt $((pg_max_conns - 10)) ]; then
        pg_na "$c"
        log "pgbench c=$c: n/a (max_connections $pg_max_conns)"
        continue
    fi
    best=-1
    for try in $(seq 0 "$retries"); do
        sleep 1
        tag="c$c-$try"
        load_begin
        if ! run_pgbench "$c" "$duration" "$tag"; then
            log "pgbench c=$c failed:"; tail -5 "$out/pgbench-$tag.txt" >&2
            rm -f "$out/pgbench-$tag".log*
            [ "$best" -ge 0 ] || pg_na "$c"
            break
        fi
        load_end
        tps=$(awk '/^tps = / { print $3; exit }' "$out/pgbench-$tag.txt")
        fail=$(awk '/^number of failed transactions:/ { print $5; exit }' "$out/pgbench-$tag.txt")
        # per-transaction log: client, transaction, latency (us), script, epoch, us
        read -r n avg p50 p99 < <(cat "$out/pgbench-$tag".log* \
            | awk '$3 ~ /^[0-9]+$/ { print $3 }' | sort -n \
            | awk '{ v[NR] = $1; s += $1 }
                   END { if (NR == 0) { print 0, 0, 0, 0; exit }
                         i50 = int(NR * 0.50); if (i50 < 1) i50 = 1
                         i99 = int(NR * 0.99); if (i99 < 1) i99 = 1
                         print NR, s / NR, v[i50], v[i99] }')
        rm -f "$out/pgbench-$tag".log*
        printf 'bench: %-10s c=%-4s %10.1f tps    p50 %8s ms  p99 %8s ms  avg %s ms  (%s transactions logged, %s failed)  other load %s%%\n' \
            pgbench "$c" "$tps" "$(ms "$p50")" "$(ms "$p99")" "$(ms "$avg")" \
            "$n" "${fail:-?}" "$OTHER" >&2
        if [ "$best" -lt 0 ] || [ "$OTHER" -lt "$best" ]; then
            best=$OTHER
            R[pg,$c,oth]=$OTHER R[pg,$c,tps]=$tps R[pg,$c,fail]=${fail:-?}
            R[pg,$c,avg]=$(ms "$avg") R[pg,$c,p50]=$(ms "$p50") R[pg,$c,p99]=$(ms "$p99")
        fi
        R[pg,$c,tries]=$((try + 1))
        if [ "$OTHER" -le "$max_other_ok" ] || [ "$try" -ge "$retries" ]; then
            break
        fi
        log "pgbench c=$c: other load ${OTHER}% > ${max_other_ok}%, measuring again"
        sleep 2
    done
done

# the module at each worker count
wl_errlog=""
for w in $workers_list; do
    BENCH_WORKERS=$w
    start_nginx "bench-module-w$w" "$module_loc"
    run_wrk 20 2 "module-w$w-warmup"
    series "module-w$w" "bench-module-w$w"
    wl_errlog+=$(errlog "bench-module-w$w")
    stop_nginx "bench-module-w$w"
done
BENCH_WORKERS=$main_workers

max_other=0
for k in "${!R[@]}"; do
    case $k in
    *,oth) if [ "${R[$k]}" != n/a ] && [ "${R[$k]}" -gt "$max_other" ]; then
               max_other=${R[$k]}
           fi ;;
    esac
done
if [ "$max_other" -gt "$max_other_ok" ]; then
    log "warning: other processes used up to ${max_other}% of the CPUs during a point (column \"other load\")"
fi

# --- report ----------------------------------------------------------------

table1() {
    echo "| connections | module req/s | p50 ms | p99 ms | errors | static req/s | pgbench tps | pgbench p50 ms | pgbench p99 ms | module/static | module/pgbench |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    local c pgt
    for c in $conns; do
        pgt=${R[pg,$c,tps]}
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
            "$c" "$(int "${R[module,$c,rps]}")" "${R[module,$c,p50]}" \
            "${R[module,$c,p99]}" "${R[module,$c,err]}" \
            "$(int "${R[static,$c,rps]}")" \
            "$([ "$pgt" = n/a ] && echo n/a || int "$pgt")" \
            "${R[pg,$c,p50]}" "${R[pg,$c,p99]}" \
            "$(ratio "${R[module,$c,rps]}" "${R[static,$c,rps]}")" \
            "$([ "$pgt" = n/a ] && echo n/a || ratio "${R[module,$c,rps]}" "$pgt")"
    done
}

table_detail() {
    echo "| connections | module avg ms | module status codes | static p50 ms | static p99 ms | static errors | pgbench avg ms | pgbench clients/tps ms | pgbench failed | other load % (module/static/pgbench) | attempts (module/static/pgbench) |"
    echo "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    local c
    for c in $conns; do
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s/%s/%s | %s/%s/%s |\n' "$c" \
            "${R[module,$c,avg]}" "${R[module,$c,codes]}" \
            "${R[static,$c,p50]}" "${R[static,$c,p99]}" "${R[static,$c,err]}" \
            "${R[pg,$c,avg]}" \
            "$(awk -v c="$c" -v t="${R[pg,$c,tps]}" 'BEGIN { if (t + 0 > 0) printf "%.2f", 1000 * c / t; else printf "n/a" }')" \
            "${R[pg,$c,fail]:-?}" \
            "${R[module,$c,oth]}" "${R[static,$c,oth]}" "${R[pg,$c,oth]:-n/a}" \
            "${R[module,$c,tries]}" "${R[static,$c,tries]}" "${R[pg,$c,tries]:-0}"
    done
}

table2() {
    echo "| workers | connections | module req/s | p50 ms | p99 ms | errors | other load % | attempts |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
    local w c
    for w in $workers_list; do
        for c in $conns; do
            printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$w" "$c" \
                "$(int "${R[module-w$w,$c,rps]}")" "${R[module-w$w,$c,p50]}" \
                "${R[module-w$w,$c,p99]}" "${R[module-w$w,$c,err]}" \
                "${R[module-w$w,$c,oth]}" "${R[module-w$w,$c,tries]}"
        done
    done
}

module_errors=0
for k in "${!R[@]}"; do
    case $k in module*,allerr) module_errors=$((module_errors + ${R[$k]})) ;; esac
done

echo
echo "module ($main_workers workers, $BENCH_CONNECTIONS PostgreSQL connections each) vs static nginx vs pgbench, ${duration}s per point:"
echo
table1
echo
table_detail
if [ -n "$workers_list" ]; then
    echo
    echo "module by worker_processes:"
    echo
    table2
fi
echo
all_errlog=$(printf '%s\n%s\n' "$module_errlog" "$wl_errlog" | sed '/^$/d')
if [ -n "$all_errlog" ]; then
    echo "module nginx error logs, warn and above ($(wc -l <<<"$all_errlog") lines, last 20):"
    tail -20 <<<"$all_errlog"
else
    echo "module nginx error logs: nothing at warn or above"
fi

[ "$write_docs" = 1 ] || exit 0

# --- docs/benchmarks.md and docs/benchmarks.png ------------------------------

mkdir -p "$top/docs"
data="$out/plot.dat"
nan() { if [ "$1" = n/a ]; then echo NaN; else echo "$1"; fi; }
{
    echo "# connections module_rps module_p99_ms static_rps static_p99_ms pgbench_tps pgbench_p99_ms"
    for c in $conns; do
        echo "$c ${R[module,$c,rps]} ${R[module,$c,p99]} ${R[static,$c,rps]} ${R[static,$c,p99]} $(nan "${R[pg,$c,tps]}") $(nan "${R[pg,$c,p99]}")"
    done
} >"$data"

max_other_note=""
if [ "$max_other" -gt "$max_other_ok" ]; then
    max_other_note="; **the run was disturbed: rerun on an idle machine**"
fi
max_other_plot=""
if [ "$max_other" -gt "$max_other_ok" ]; then
    max_other_plot="; DISTURBED: other processes used up to ${max_other}% of the CPUs"
fi
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
ncpu=$(nproc)
when=$(date -u '+%Y-%m-%d %H:%M UTC')
commit=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$top" status --porcelain -- ngx_http_balance_module.c src config 2>/dev/null || true)
pgver=$(pg_super -tAc "SHOW server_version" | awk '{ print $1 }')
nginxver=$(/usr/sbin/nginx -v 2>&1 | sed 's/.*nginx\///')
wrkver=$(wrk -v 2>&1 | awk 'NR == 1 { print $2 }' || true)

gnuplot -e "datafile='$data'; outfile='$top/docs/benchmarks.png'; subtitle='$ncpu x $cpu, nginx $main_workers workers x $BENCH_CONNECTIONS PostgreSQL connections; wrk, nginx, PostgreSQL, pgbench on the same cores; $when${max_other_plot}'" \
    "$top/bench/bench.gp"

{
cat <<EOF
# Benchmarks

Produced by \`bench/bench.sh\`; rerun it to refresh this page and
[benchmarks.png](benchmarks.png).

- Date: $when; module at commit $commit${dirty:+ (with uncommitted changes)}
- Command (as root): \`$cmdline\`
- Machine: $ncpu CPUs ($(nproc --all) online), CPU model "$cpu" (from /proc/cpuinfo),
  $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM, Debian $(cat /etc/debian_version)
- Software: nginx $nginxver (Debian package) with the module, PostgreSQL $pgver
  (util/pg.sh's cluster: fsync off, shared_buffers 128MB, max_connections
  $pg_max_conns), wrk $wrkver, pgbench $pgver
- nginx: worker_processes $main_workers, worker_connections 4096, access_log off,
  keepalive_requests ${BENCH_KEEPALIVE_REQUESTS:-1000 (default)};
  \`balance_pool\`: connections $BENCH_CONNECTIONS (per worker), queue $BENCH_QUEUE timeout=$BENCH_QUEUE_TIMEOUT
- Shared cores: wrk ($wrk_threads threads), nginx, PostgreSQL and pgbench
  ($pgb_threads threads) all ran on the same $ncpu CPUs, no pinning; wrk
  competes with nginx for them, and the module's nginx workers compete with
  the PostgreSQL backends serving them.
- Data: current_state with $BENCH_ACCOUNTS accounts (util/gen_accounts);
  wrk and pgbench pick at random from the same $naddr addresses,
  $existing existing and $((naddr - existing)) missing accounts.
- ${duration} s per point, after a 2 s warm-up per nginx configuration.
- Other load: the CPUs were ${busy_before}% busy just before the run; during
  the points, processes other than the benchmark's own used at most
  ${max_other}% of the CPUs (column "other load": /proc/stat's busy time less
  the CPU time of wrk, pgbench, nginx and PostgreSQL)${max_other_note}.
  A point disturbed by more than ${max_other_ok}% was measured again up to
  ${retries} time(s) (BENCH_RETRIES) and the least disturbed attempt kept;
  the errors column counts the kept attempt, the Errors section all of them.

## Module, static nginx and pgbench

| | what runs |
|---|---|
| module | \`wrk -t$wrk_threads -cN -d${duration}s --timeout 5s --latency -s bench/bench.lua\` POSTing \`eth_getBalance\` for a random address to \`location = /api { balance_pass bench; }\` |
| static | the same wrk command and script against \`location = /api { return 200 '...'; }\` with \`default_type application/json\` and a fixed JSON-RPC answer of $body_len bytes, the module's average answer length; same worker count |
| pgbench | \`pgbench -n -M prepared -cN -j$pgb_threads -T$duration -l -f bench/bench_pgbench.sql\`: \`SELECT balance::text FROM current_state WHERE id = (SELECT addr FROM bench_addr WHERE n = :i)\`, \`:i\` random over the same address list; nginx not running |

Errors are non-200 answers, 200 answers without a \`"result":"0x\`, and
wrk's socket errors (connect, read, write, timeout).  p50/p99 for the module
and static nginx are wrk's; pgbench's are computed from its per-transaction
log (\`-l\`), its tps is pgbench's own (without connection time).  Ratios
divide the module's req/s by the static req/s and by pgbench's tps; on a
virtual machine the absolute numbers move from run to run more than the
ratios within one run do.
pgbench starts a client's next transaction only on its thread's next pass
over its clients, and that wait is in no transaction's logged latency: with
many clients per thread the logged latencies come out short (a p50 can
fall below the one at fewer clients).  "clients/tps" is the mean time per
transaction with that wait, by Little's law, to set against the logged
average.

EOF
table1
echo
table_detail
echo
echo "![req/s and p99 against connections](benchmarks.png)"
echo
if [ -n "$workers_list" ]; then
    cat <<EOF
## Module by worker_processes

The module alone, same wrk command, pool and data, nginx at each
worker_processes of \`BENCH_WORKERS_LIST\` ($workers_list); each worker
has its own $BENCH_CONNECTIONS PostgreSQL connections.

EOF
    table2
    echo
fi
echo "## Errors"
echo
if [ "$module_errors" = 0 ]; then
    echo "The module answered every request with 200 and a result."
else
    echo "The module had $module_errors errors in all; the status codes are in the table above."
fi
if [ -n "$all_errlog" ]; then
    echo "Its nginx error logs (warn and above, last 20 of $(wc -l <<<"$all_errlog") lines):"
    echo
    echo '```'
    tail -20 <<<"$all_errlog"
    echo '```'
else
    echo "Its nginx error logs had nothing at warn or above."
fi
} >"$top/docs/benchmarks.md"

log "wrote docs/benchmarks.md and docs/benchmarks.png"
