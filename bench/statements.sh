#!/usr/bin/env bash
# What PostgreSQL pays per looked-up address, by the shape of the work:
# one statement per address, libpq pipeline mode (pgbench's \startpipeline,
# N statements per round trip), and the module's coalesced statement (one
# statement for N addresses: unnest ... WITH ORDINALITY).  Prints keys/s
# for each; the module coalesces because the last wins.
#
#   bench/statements.sh            N = 10 and 50, 8 clients, 5 s each
set -euo pipefail
. "$(dirname "$0")/lib.sh"

"$top/util/deps.sh"
make -s -C "$top/util" gen_accounts
bench_db
trap '"$top/util/pg.sh" stop "$bench_pg"' EXIT

bench_psql -q -c "CREATE TABLE IF NOT EXISTS bench_keys (n int PRIMARY KEY, a text)" \
    -c "TRUNCATE bench_keys" \
    -c "INSERT INTO bench_keys SELECT row_number() OVER (), id FROM
            (SELECT id FROM current_state ORDER BY random() LIMIT 10000) s" \
    -c "ANALYZE bench_keys"

dir="$bench_dir/statements"
mkdir -p "$dir"
pgbench=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/pgbench

cat >"$dir/single.sql" <<'SQL'
\set i random(1, 10000)
SELECT balance::text FROM current_state WHERE id = (SELECT a FROM bench_keys WHERE n = :i);
SQL

for n in 10 50; do
    {
        echo "\\set i random(1, $((10000 - n)))"
        echo "\\startpipeline"
        for j in $(seq 0 $((n - 1))); do
            echo "SELECT balance::text FROM current_state WHERE id = (SELECT a FROM bench_keys WHERE n = :i + $j);"
        done
        echo "\\endpipeline"
    } >"$dir/pipeline$n.sql"

    cat >"$dir/coalesced$n.sql" <<SQL
\\set i random(1, $((10000 - n)))
SELECT t.balance::text FROM unnest(ARRAY(SELECT a FROM bench_keys WHERE n >= :i ORDER BY n LIMIT $n)) WITH ORDINALITY AS k(key, n) LEFT JOIN current_state t ON t.id = k.key ORDER BY k.n;
SQL
done

run() {
    "$pgbench" -h 127.0.0.1 -p "$BENCH_PG_PORT" -U bench -n -M prepared \
        -c "${CLIENTS:-8}" -j 2 -T "${SECONDS_EACH:-5}" -f "$dir/$1.sql" bench 2>/dev/null \
        | awk '/^tps/ { printf "%d", $3 }'
}

printf "%-14s %10s %12s\n" shape "tps" "keys/s"
t=$(run single); printf "%-14s %10d %12d\n" single "$t" "$t"
for n in 10 50; do
    t=$(run "pipeline$n"); printf "%-14s %10d %12d\n" "pipeline $n" "$t" $((t * n))
    t=$(run "coalesced$n"); printf "%-14s %10d %12d\n" "coalesced $n" "$t" $((t * n))
done
