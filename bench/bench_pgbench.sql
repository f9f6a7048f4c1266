-- pgbench script for bench/bench.sh (-M prepared): the module's lookup, one
-- account by its address, for a random address of the same list wrk uses
-- (half existing, half missing accounts).  bench_addr maps 1..naddr to
-- those addresses; pgbench has no string functions, so the address comes
-- from a scalar subquery, one extra primary-key probe on a 10,000-row table.
\set i random(1, :naddr)
SELECT balance::text FROM current_state WHERE id = (SELECT addr FROM bench_addr WHERE n = :i);
