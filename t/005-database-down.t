# PostgreSQL unreachable: nginx starts anyway, requests fail fast with a
# JSON-RPC error, and nothing hangs.  A request that comes while the first
# connections are still being tried waits for them to fail; one that comes
# later is refused at once: the log line differs, the answer does not.

use Test::Nginx::Socket;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 4 + 2);

$ENV{TEST_NGINX_PG_HOST} ||= '127.0.0.1';
$ENV{TEST_NGINX_PG_PORT} ||= 5432;
$ENV{TEST_NGINX_PG_DBNAME} ||= 'balance_test';
$ENV{TEST_NGINX_PG_USER} ||= 'balance';

# a port where nothing listens
$ENV{TEST_NGINX_DEAD_PORT} ||= 1;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: nginx starts while the database is down; a lookup gets 503 and -32603
--- http_config
    balance_pool down {
        server "host=127.0.0.1 port=$TEST_NGINX_DEAD_PORT dbname=x user=x";
        connections 2;
        connect_timeout 1s;
    }
--- config
    location = /api {
        balance_pass down;
    }
--- request
POST /api
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"]}
--- response_headers
Retry-After: 1
Content-Type: application/json
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32603,"message":"Internal error"},"id":1}
--- error_code: 503
--- error_log eval
qr/balance: pool "down" has no usable server, lookup refused|balance: no server of pool "down" is usable/
--- no_error_log
[alert]
--- timeout: 3



=== TEST 2: in a batch only the lookups fail; ping still answers
--- http_config
    balance_pool down {
        server "host=127.0.0.1 port=$TEST_NGINX_DEAD_PORT dbname=x user=x";
        connections 1;
    }
--- config
    location = /api {
        balance_pass down;
    }
--- request
POST /api
[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"eth_getBalance","params":["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"]}]
--- response_body chomp
[{"jsonrpc":"2.0","result":"OK","id":1},{"jsonrpc":"2.0","error":{"code":-32603,"message":"Internal error"},"id":2}]
--- error_code: 503
--- error_log eval
qr/\[info\] .*balance: pool "down" has no usable server, lookup refused, client: 127\.0\.0\.1|\[error\] .*balance: no server of pool "down" is usable/
--- no_error_log
[alert]
--- timeout: 3



=== TEST 3: requests that need no database are served while it is down
--- http_config
    balance_pool down {
        server "host=127.0.0.1 port=$TEST_NGINX_DEAD_PORT dbname=x user=x";
        connections 1;
    }
--- config
    location = /api {
        balance_pass down;
        balance_chain_id 1;
    }
--- request
POST /api
[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"eth_chainId"}]
--- response_body chomp
[{"jsonrpc":"2.0","result":"OK","id":1},{"jsonrpc":"2.0","result":"0x1","id":2}]
--- error_code: 200
--- no_error_log
[alert]
[crit]



=== TEST 4: a server that accepts but never answers: 503 within connect_timeout
--- http_config
    balance_pool silent {
        server "host=127.0.0.1 port=12345 dbname=x user=x";
        connections 1;
        connect_timeout 500ms;
        queue 10 timeout=5s;
    }
--- config
    location = /api {
        balance_pass silent;
    }
--- tcp_listen: 12345
--- tcp_no_close
--- tcp_reply:
--- request
POST /api
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"]}
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32603,"message":"Internal error"},"id":1}
--- error_code: 503
--- error_log
PostgreSQL timed out
--- no_error_log
[alert]
--- timeout: 3
