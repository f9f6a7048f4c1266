#!/usr/bin/env bash
# Proves that under load a worker only waits in epoll_wait: runs wrk with
# 100 connections against the module while strace counts one worker's
# system calls, and fails if poll, ppoll, select or pselect6 appear (libpq
# calls poll() inside its blocking functions).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

"$top/util/deps.sh" strace
"$top/util/build.sh" >/dev/null
make -s -C "$top/util" gen_accounts

bench_db
bench_addresses "$bench_dir/addresses.txt"
trap 'bench_nginx_stop syscalls; "$top/util/pg.sh" stop "$bench_pg"' EXIT
bench_nginx syscalls "location = /api { balance_pass bench; }"

worker=$(pgrep -f "nginx: worker process" -P "$(cat "$bench_dir/syscalls/nginx.pid")" | head -1)
strace -f -c -p "$worker" -o "$bench_dir/strace.txt" &
tracer=$!
sleep 0.5
ADDRESSES="$bench_dir/addresses.txt" wrk -t2 -c100 -d${DURATION:-5}s \
    -s "$top/bench/post.lua" "http://127.0.0.1:$BENCH_PORT/api" | grep -E "Requests/sec|Non-2xx|Socket errors" || true
kill -INT "$tracer"; wait "$tracer" 2>/dev/null || true

cat "$bench_dir/strace.txt"
if grep -Eq ' (poll|ppoll|select|pselect6)$' "$bench_dir/strace.txt"; then
    echo "syscalls: FAIL: the worker called poll/select" >&2
    exit 1
fi
echo "syscalls: ok: the worker waited in epoll_wait only"
