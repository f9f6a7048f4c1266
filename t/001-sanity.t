# eth_getBalance, ping and eth_chainId answered from PostgreSQL.

use Test::Nginx::Socket;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 4);

$ENV{TEST_NGINX_PG_HOST} ||= '127.0.0.1';
$ENV{TEST_NGINX_PG_PORT} ||= 5432;
$ENV{TEST_NGINX_PG_DBNAME} ||= 'balance_test';
$ENV{TEST_NGINX_PG_USER} ||= 'balance';

our $http_config = <<'_EOC_';
    balance_pool test {
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER";
        connections 2;
    }
_EOC_

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a balance of zero
--- http_config eval: $::http_config
--- config
    location = /api {
        balance_pass test;
    }
--- request
POST /api
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","latest"]}
--- more_headers
Content-Type: application/json
--- response_body chomp
{"jsonrpc":"2.0","result":"0x0","id":1}
--- error_code: 200
--- no_error_log
[error]
[alert]



=== TEST 2: a balance of one
--- http_config eval: $::http_config
--- config
    location = /api {
        balance_pass test;
    }
--- request
POST /api
{"jsonrpc":"2.0","id":2,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]}
--- response_body chomp
{"jsonrpc":"2.0","result":"0x1","id":2}
--- error_code: 200
--- no_error_log
[error]
[alert]



=== TEST 3: 2^53+1, where doubles lose precision
--- http_config eval: $::http_config
--- config
    location = /api {
        balance_pass test;
    }
--- request
POST /api
{"jsonrpc":"2.0","id":3,"method":"eth_getBalance","params":["0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB","latest"]}
--- response_body chomp
{"jsonrpc":"2.0","result":"0x20000000000001","id":3}
--- error_code: 200
--- no_error_log
[error]
[alert]



=== TEST 4: 10^24 wei, one million ether
--- http_config eval: $::http_config
--- config
    location = /api {
        balance_pass test;
    }
--- request
POST /api
{"jsonrpc":"2.0","id":4,"method":"eth_getBalance","params":["0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb","latest"]}
--- response_body chomp
{"jsonrpc":"2.0","result":"0xd3c21bcecceda1000000","id":4}
--- error_code: 200
--- no_error_log
[error]
[alert]



=== TEST 5: 2^256-1, the largest balance
--- http_config eval: $::http_config
--- config
    location = /api {
        balance_pass test;
    }
--- request
POST /api
{"jsonrpc":"2.0","id":5,"method":"eth_getBalance","params":["0x52908400098527886E0F7030069857D2E4169EE7","latest"]}
--- response_body chomp
{"jsonrpc":"2.0","result":"0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff","id":5}
--- error_code: 200
--- no_error_log
[error]
[alert]



=== TEST 6: an account that does not exist has zero
--- http_config eval: $::http_config
--- config
    location = /api {
        balance_pass test;
    }
--- request
POST /api
{"jsonrpc":"2.0","id":6,"method":"eth_getBalance","params":["0x0000000000000000000000000000000000000001","latest"]}
--- response_body chomp
{"jsonrpc":"2.0","result":"0x0","id":6}
--- error_code: 200
--- no_error_log
[error]
[alert]



=== TEST 7: a lowercase address finds the checksummed row
--- http_config eval: $::http_config
--- config
    location = /api {
        balance_pass test;
    }
--- request
POST /api
{"jsonrpc":"2.0","id":7,"method":"eth_getBalance","params":["0x27b1fdb04752bbc536007a920d24acb045561c26"]}
--- response_body chomp
{"jsonrpc":"2.0","result":"0xde0b6b3a7640000","id":7}
--- error_code: 200
--- no_error_log
[error]
[alert]



=== TEST 8: named params
--- http_config eval: $::http_config
--- config
    location = /api {
        balance_pass test;
    }
--- request
POST /api
{"jsonrpc":"2.0","id":"n","method":"eth_getBalance","params":{"account_address":"0x8617e340b3d01fa5f11f306f4090fd50e238070d","block_tag":"latest"}}
--- response_body chomp
{"jsonrpc":"2.0","result":"0xff","id":"n"}
--- error_code: 200
--- no_error_log
[error]
[alert]



=== TEST 9: a block given as an object is accepted and ignored
--- http_config eval: $::http_config
--- config
    location = /api {
        balance_pass test;
    }
--- request
POST /api
{"jsonrpc":"2.0","id":9,"method":"eth_getBalance","params":["0xde709f2102306220921060314715629080e2fb77",{"blockNumber":"0x10"}]}
--- response_body chomp
{"jsonrpc":"2.0","result":"0x1000","id":9}
--- error_code: 200
--- no_error_log
[error]
[alert]



=== TEST 10: ping
--- http_config eval: $::http_config
--- config
    location = /api {
        balance_pass test;
    }
--- request
POST /api
{"jsonrpc":"2.0","id":10,"method":"ping"}
--- response_body chomp
{"jsonrpc":"2.0","result":"OK","id":10}
--- error_code: 200
--- no_error_log
[error]
[alert]



=== TEST 11: eth_chainId from the configured chain id
--- http_config eval: $::http_config
--- config
    location = /api {
        balance_pass test;
        balance_chain_id 61999;
    }
--- request
POST /api
{"jsonrpc":"2.0","id":11,"method":"eth_chainId","params":[]}
--- response_body chomp
{"jsonrpc":"2.0","result":"0xf22f","id":11}
--- error_code: 200
--- no_error_log
[error]
[alert]



=== TEST 12: net_version is the same chain id in decimal
--- http_config eval: $::http_config
--- config
    location = /api {
        balance_pass test;
        balance_chain_id 61999;
    }
--- request
POST /api
{"jsonrpc":"2.0","id":12,"method":"net_version"}
--- response_body chomp
{"jsonrpc":"2.0","result":"61999","id":12}
--- error_code: 200
--- no_error_log
[error]
[alert]



=== TEST 13: no chain id configured: eth_chainId is not found
--- http_config eval: $::http_config
--- config
    location = /api {
        balance_pass test;
    }
--- request
POST /api
{"jsonrpc":"2.0","id":13,"method":"eth_chainId"}
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found: eth_chainId"},"id":13}
--- error_code: 200
--- no_error_log
[error]
[alert]



=== TEST 14: the answer is JSON
--- http_config eval: $::http_config
--- config
    location = /api {
        balance_pass test;
    }
--- request
POST /api
{"jsonrpc":"2.0","id":14,"method":"eth_getBalance","params":["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"]}
--- response_headers
Content-Type: application/json
--- error_code: 200
--- no_error_log
[error]
[alert]



=== TEST 15: a custom table and columns, an unscaled numeric
--- http_config
    balance_pool custom {
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER";
        connections 1;
        table accounts key=address value=wei;
    }
--- config
    location = /api {
        balance_pass custom;
    }
--- request
POST /api
[{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"]},{"jsonrpc":"2.0","id":2,"method":"eth_getBalance","params":["0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359"]}]
--- response_body chomp
[{"jsonrpc":"2.0","result":"0x2a","id":1},{"jsonrpc":"2.0","result":"0x7","id":2}]
--- error_code: 200
--- no_error_log
[error]
[alert]



=== TEST 16: a fractional balance is an internal error, and logged
--- http_config
    balance_pool custom {
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER";
        connections 1;
        table accounts key=address value=wei;
    }
--- config
    location = /api {
        balance_pass custom;
    }
--- request
POST /api
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB"]}
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32603,"message":"Internal error"},"id":1}
--- error_code: 200
--- error_log
is not a non-negative integer: "1.5"
--- no_error_log
[alert]
