# The JSON-RPC 2.0 envelope: every row of the specification's table.

use Test::Nginx::Socket;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 3 + 2);

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

our $config = <<'_EOC_';
    location = /api {
        balance_pass test;
        balance_max_batch 3;
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->http_config) {
        $block->set_value("http_config", $::http_config);
    }

    if (!defined $block->config) {
        $block->set_value("config", $::config);
    }
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: malformed JSON is a parse error
--- request
POST /api
{"jsonrpc":"2.0","id":1,"method":
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}
--- error_code: 400
--- no_error_log
[error]



=== TEST 2: trailing garbage is a parse error
--- request
POST /api
{"jsonrpc":"2.0","id":1,"method":"ping"} x
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}
--- error_code: 400
--- no_error_log
[error]



=== TEST 3: a body that is not UTF-8 is a parse error
--- request eval
"POST /api\n" . qq({"jsonrpc":"2.0","id":1,"method":"ping","x":"\xff\xfe"})
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}
--- error_code: 400
--- no_error_log
[error]



=== TEST 4: an empty body is a parse error
--- request
POST /api
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}
--- error_code: 400
--- no_error_log
[error]



=== TEST 5: a body that is a number is an invalid request
--- request
POST /api
42
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}
--- error_code: 400
--- no_error_log
[error]



=== TEST 6: a body that is a string is an invalid request
--- request
POST /api
"eth_getBalance"
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}
--- error_code: 400
--- no_error_log
[error]



=== TEST 7: an empty batch is an invalid request
--- request
POST /api
[]
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}
--- error_code: 400
--- no_error_log
[error]



=== TEST 8: a batch over the limit is refused with its size
--- request
POST /api
[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"ping"},{"jsonrpc":"2.0","id":3,"method":"ping"},{"jsonrpc":"2.0","id":4,"method":"ping"}]
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":{"message":"Batch size exceeds the limit of 3","size":4}},"id":null}
--- error_code: 400
--- no_error_log
[error]



=== TEST 9: a batch at the limit is answered
--- request
POST /api
[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"ping"},{"jsonrpc":"2.0","id":3,"method":"ping"}]
--- response_body chomp
[{"jsonrpc":"2.0","result":"OK","id":1},{"jsonrpc":"2.0","result":"OK","id":2},{"jsonrpc":"2.0","result":"OK","id":3}]
--- error_code: 200
--- no_error_log
[error]



=== TEST 10: batch entries that are not objects get their own errors
--- request
POST /api
[1,"x",null]
--- response_body chomp
[{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null},{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null},{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}]
--- error_code: 200
--- no_error_log
[error]



=== TEST 11: a missing "jsonrpc" member, its id echoed
--- request
POST /api
{"id":7,"method":"ping"}
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":7}
--- error_code: 200
--- no_error_log
[error]



=== TEST 12: a wrong "jsonrpc" version
--- request
POST /api
{"jsonrpc":"1.0","id":"v","method":"ping"}
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":"v"}
--- error_code: 200
--- no_error_log
[error]



=== TEST 13: a method that is not a string
--- request
POST /api
{"jsonrpc":"2.0","id":8,"method":1}
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":8}
--- error_code: 200
--- no_error_log
[error]



=== TEST 14: an invalid request without an id is answered with id null
--- request
POST /api
{"jsonrpc":"2.0"}
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}
--- error_code: 200
--- no_error_log
[error]



=== TEST 15: an id of the wrong type is not echoed
--- request
POST /api
{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}
--- error_code: 200
--- no_error_log
[error]



=== TEST 16: an unknown method without a fallback
--- request
POST /api
{"jsonrpc":"2.0","id":9,"method":"eth_blockNumber"}
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found: eth_blockNumber"},"id":9}
--- error_code: 200
--- no_error_log
[error]



=== TEST 17: a method name is escaped in the message
--- request
POST /api
{"jsonrpc":"2.0","id":9,"method":"a\"b\\c\u0001"}
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found: a\"b\\c\u0001"},"id":9}
--- error_code: 200
--- no_error_log
[error]



=== TEST 18: a notification gets no answer: 204
--- request
POST /api
{"jsonrpc":"2.0","method":"ping"}
--- response_body chomp
--- error_code: 204
--- no_error_log
[error]



=== TEST 19: a batch of notifications only: 204, even for lookups
--- request
POST /api
[{"jsonrpc":"2.0","method":"ping"},{"jsonrpc":"2.0","method":"eth_getBalance","params":["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"]}]
--- response_body chomp
--- error_code: 204
--- no_error_log
[error]



=== TEST 20: "id": null is a request, not a notification
--- request
POST /api
{"jsonrpc":"2.0","id":null,"method":"ping"}
--- response_body chomp
{"jsonrpc":"2.0","result":"OK","id":null}
--- error_code: 200
--- no_error_log
[error]



=== TEST 21: ids echoed exactly: string, negative, large
--- request
POST /api
[{"jsonrpc":"2.0","id":"abc \u00e9\"","method":"ping"},{"jsonrpc":"2.0","id":-5,"method":"ping"},{"jsonrpc":"2.0","id":9007199254740993,"method":"ping"}]
--- response_body chomp
[{"jsonrpc":"2.0","result":"OK","id":"abc é\""},{"jsonrpc":"2.0","result":"OK","id":-5},{"jsonrpc":"2.0","result":"OK","id":9007199254740993}]
--- error_code: 200
--- no_error_log
[error]



=== TEST 22: a batch answers in request order, notifications left out
--- request
POST /api
[{"jsonrpc":"2.0","id":3,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"]},{"jsonrpc":"2.0","method":"ping"},{"jsonrpc":"2.0","id":1,"method":"nope"}]
--- response_body chomp
[{"jsonrpc":"2.0","result":"0x1","id":3},{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found: nope"},"id":1}]
--- error_code: 200
--- no_error_log
[error]



=== TEST 23: a single request: one object, not an array
--- request
POST /api
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"]}
--- response_body chomp
{"jsonrpc":"2.0","result":"0x1","id":1}
--- error_code: 200
--- no_error_log
[error]



=== TEST 24: a batch of one is still a batch
--- request
POST /api
[{"jsonrpc":"2.0","id":1,"method":"ping"}]
--- response_body chomp
[{"jsonrpc":"2.0","result":"OK","id":1}]
--- error_code: 200
--- no_error_log
[error]



=== TEST 25: errors are JSON too, for clients that never look at the status
--- request
POST /api
{
--- response_headers
Content-Type: application/json
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}
--- error_code: 400
--- no_error_log
[error]



=== TEST 26: a parse error is logged for the operator at info
--- request
POST /api
nope
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}
--- error_code: 400
--- error_log
client sent an invalid JSON-RPC body: Parse error
--- no_error_log
[error]



=== TEST 27: fractional ids come back as Python writes them
--- request
POST /api
[{"jsonrpc":"2.0","id":0.1,"method":"ping"},{"jsonrpc":"2.0","id":1e2,"method":"ping"},{"jsonrpc":"2.0","id":-2.5E-7,"method":"ping"}]
--- response_body chomp
[{"jsonrpc":"2.0","result":"OK","id":0.1},{"jsonrpc":"2.0","result":"OK","id":100.0},{"jsonrpc":"2.0","result":"OK","id":-2.5e-07}]
--- error_code: 200
--- no_error_log
[error]
