# Configuration errors fail "nginx -t" with a message that names the
# directive and the problem.

use Test::Nginx::Socket;

repeat_each(1);

# every block but the last must fail; the last starts and answers
plan tests => repeat_each() * (blocks() * 2);

$ENV{TEST_NGINX_PG_HOST} ||= '127.0.0.1';
$ENV{TEST_NGINX_PG_PORT} ||= 5432;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a balance_pass naming no pool
--- http_config
    balance_pool a { server "host=127.0.0.1"; }
--- config
    location = /api { balance_pass nope; }
--- must_die
--- error_log
balance_pass" names unknown balance_pool "nope"



=== TEST 2: a conninfo libpq cannot parse
--- http_config
    balance_pool a { server "host=127.0.0.1 port"; }
--- config
    location = /api { balance_pass a; }
--- must_die
--- error_log
invalid conninfo in "server" of balance_pool "a": missing "=" after "port" in connection info string



=== TEST 3: an unknown conninfo keyword
--- http_config
    balance_pool a { server "hots=127.0.0.1"; }
--- config
    location = /api { balance_pass a; }
--- must_die
--- error_log
invalid conninfo in "server" of balance_pool "a": invalid connection option "hots"



=== TEST 4: a pool without a server
--- http_config
    balance_pool a { connections 2; }
--- config
    location = /api { balance_pass a; }
--- must_die
--- error_log
no "server" in balance_pool "a"



=== TEST 5: an unknown directive in a pool
--- http_config
    balance_pool a { server "host=127.0.0.1"; conections 2; }
--- config
    location = /api { balance_pass a; }
--- must_die
--- error_log
unknown directive "conections" in balance_pool "a"



=== TEST 6: connections that are not a number
--- http_config
    balance_pool a { server "host=127.0.0.1"; connections lots; }
--- config
    location = /api { balance_pass a; }
--- must_die
--- error_log
invalid value "lots" in "connections" of balance_pool "a": a positive number is expected



=== TEST 7: zero connections
--- http_config
    balance_pool a { server "host=127.0.0.1"; connections 0; }
--- config
    location = /api { balance_pass a; }
--- must_die
--- error_log
invalid value "0" in "connections" of balance_pool "a"



=== TEST 8: a bad queue timeout
--- http_config
    balance_pool a { server "host=127.0.0.1"; queue 10 timeout=soon; }
--- config
    location = /api { balance_pass a; }
--- must_die
--- error_log
invalid parameter "timeout=soon" in "queue" of balance_pool "a"



=== TEST 9: a bad query_timeout
--- http_config
    balance_pool a { server "host=127.0.0.1"; query_timeout 0; }
--- config
    location = /api { balance_pass a; }
--- must_die
--- error_log
invalid time "0" in "query_timeout" of balance_pool "a"



=== TEST 10: a table name that is not an identifier
--- http_config
    balance_pool a { server "host=127.0.0.1"; table "x; DROP TABLE y"; }
--- config
    location = /api { balance_pass a; }
--- must_die
--- error_log
invalid name in "table" of balance_pool "a"



=== TEST 11: a bad table parameter
--- http_config
    balance_pool a { server "host=127.0.0.1"; table t column=x; }
--- config
    location = /api { balance_pass a; }
--- must_die
--- error_log
invalid parameter "column=x" in "table" of balance_pool "a"



=== TEST 12: two pools of one name
--- http_config
    balance_pool a { server "host=127.0.0.1"; } balance_pool a { server "host=127.0.0.1"; }
--- config
    location = /api { balance_pass a; }
--- must_die
--- error_log
duplicate balance_pool "a"



=== TEST 13: a host name that does not resolve
--- http_config
    balance_pool a { server "host=no-such-host.invalid"; }
--- config
    location = /api { balance_pass a; }
--- must_die
--- error_log
host "no-such-host.invalid" in "server" of balance_pool



=== TEST 14: several hosts in one server
--- http_config
    balance_pool a { server "host=127.0.0.1,127.0.0.2"; }
--- config
    location = /api { balance_pass a; }
--- must_die
--- error_log
several hosts in one "server" of balance_pool "a" are not supported



=== TEST 15: a chain id that is not a number
--- http_config
    balance_pool a { server "host=127.0.0.1"; }
--- config
    location = /api { balance_pass a; balance_chain_id 0x10; }
--- must_die
--- error_log
invalid chain id "0x10" in "balance_chain_id"



=== TEST 16: a chain id of zero
--- http_config
    balance_pool a { server "host=127.0.0.1"; }
--- config
    location = /api { balance_pass a; balance_chain_id 0; }
--- must_die
--- error_log
invalid chain id "0" in "balance_chain_id"



=== TEST 17: a fallback that is not a named location
--- http_config
    balance_pool a { server "host=127.0.0.1"; }
--- config
    location = /api { balance_pass a; balance_fallback /backend; }
--- must_die
--- error_log
"balance_fallback" must name a named location such as "@backend", not "/backend"



=== TEST 18: a batch limit of zero
--- http_config
    balance_pool a { server "host=127.0.0.1"; }
--- config
    location = /api { balance_pass a; balance_max_batch 0; }
--- must_die
--- error_log
"balance_max_batch" must be at least 1



=== TEST 19: balance_pass twice
--- http_config
    balance_pool a { server "host=127.0.0.1"; }
--- config
    location = /api { balance_pass a; balance_pass a; }
--- must_die
--- error_log
"balance_pass" directive is duplicate



=== TEST 20: a backoff without a time
--- http_config
    balance_pool a { server "host=127.0.0.1"; backoff max=1s; }
--- config
    location = /api { balance_pass a; }
--- must_die
--- error_log
invalid value "max=1s" in "backoff" of balance_pool "a"



=== TEST 21: a directive twice in a pool
--- http_config
    balance_pool a { server "host=127.0.0.1"; connections 2; connections 3; }
--- config
    location = /api { balance_pass a; }
--- must_die
--- error_log
"connections" is duplicate in balance_pool "a"



=== TEST 22: a query_timeout PostgreSQL could not take
--- http_config
    balance_pool a { server "host=127.0.0.1"; query_timeout 30d; }
--- config
    location = /api { balance_pass a; }
--- must_die
--- error_log
invalid time "30d" in "query_timeout" of balance_pool "a": from 1ms to 1d is expected



=== TEST 23: a column name with a schema
--- http_config
    balance_pool a { server "host=127.0.0.1"; table s.t key=x.id; }
--- config
    location = /api { balance_pass a; }
--- must_die
--- error_log
invalid name in "table" of balance_pool "a"



=== TEST 24: a pool name that needs quoting
--- http_config
    balance_pool "a b" { server "host=127.0.0.1"; }
--- config
    location = /api { balance_pass "a b"; }
--- must_die
--- error_log
invalid balance_pool name "a b"



=== TEST 25: restricted methods with invalid bodies forwarded
--- http_config
    balance_pool a { server "host=127.0.0.1"; }
--- config
    location = /api { balance_pass a; balance_fallback @b; balance_fallback_invalid on; balance_deny_methods sim_clearDbTables; } location @b { return 204; }
--- must_die
--- error_log
"balance_fallback_invalid" cannot be used with "balance_deny_methods"



=== TEST 26: an empty pool name in balance_pass
--- http_config
    balance_pool a { server "host=127.0.0.1"; }
--- config
    location = /api { balance_pass ""; }
--- must_die
--- error_log
"balance_pass" directive takes the name of a balance_pool, not ""



=== TEST 27: a server weight of zero
--- http_config
    balance_pool a { server "host=127.0.0.1" weight=0; }
--- config
    location = /api { balance_pass a; }
--- must_die
--- error_log
invalid parameter "weight=0" in "server" of balance_pool "a": weight=1..1000, role=primary|standby, max_connections=N or backup is expected



=== TEST 28: an unknown server role
--- http_config
    balance_pool a { server "host=127.0.0.1" role=replica; }
--- config
    location = /api { balance_pass a; }
--- must_die
--- error_log
invalid parameter "role=replica" in "server" of balance_pool "a"



=== TEST 29: a max_connections that is not a number
--- http_config
    balance_pool a { server "host=127.0.0.1" max_connections=many; }
--- config
    location = /api { balance_pass a; }
--- must_die
--- error_log
invalid parameter "max_connections=many" in "server" of balance_pool "a"



=== TEST 30: a max_lag that is not a time
--- http_config
    balance_pool a { server "host=127.0.0.1"; max_lag soon; }
--- config
    location = /api { balance_pass a; }
--- must_die
--- error_log
invalid "max_lag" in balance_pool "a": "off" or a time, then optionally check= and a time of at least 10ms, is expected



=== TEST 31: a check interval under 10ms
--- http_config
    balance_pool a { server "host=127.0.0.1"; max_lag 1s check=5ms; }
--- config
    location = /api { balance_pass a; }
--- must_die
--- error_log
invalid "max_lag" in balance_pool "a"



=== TEST 32: max_lag off with a check interval
--- http_config
    balance_pool a { server "host=127.0.0.1"; max_lag off check=1s; }
--- config
    location = /api { balance_pass a; }
--- must_die
--- error_log
invalid "max_lag" in balance_pool "a"



=== TEST 33: an IPv6 literal host is taken as an address, no DNS
--- http_config
    balance_pool a { server "host=::1 port=1 dbname=x user=x"; }
--- config
    location = /api { balance_pass a; balance_chain_id 1; }
--- request
POST /api
{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}
--- response_body chomp
{"jsonrpc":"2.0","result":"0x1","id":1}
