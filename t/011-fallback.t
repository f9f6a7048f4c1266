# balance_fallback: every request the module does not answer goes to a
# named location with its body and headers intact; a stand-in backend
# (tcp_listen) checks the exact bytes proxy_pass sends it.

use Test::Nginx::Socket;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 3 + 9);

$ENV{TEST_NGINX_PG_HOST} ||= '127.0.0.1';
$ENV{TEST_NGINX_PG_PORT} ||= 5432;
$ENV{TEST_NGINX_PG_DBNAME} ||= 'balance_test';
$ENV{TEST_NGINX_PG_USER} ||= 'balance';

our $http_config = <<'_EOC_';
    balance_pool test {
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER";
        connections 1;
    }
_EOC_

our $config = <<'_EOC_';
    location = /api {
        balance_pass test;
        balance_fallback @backend;
    }

    location = /file {
        balance_pass test;
        balance_fallback @backend;
        client_body_in_file_only clean;
    }

    location = /invalid {
        balance_pass test;
        balance_fallback @backend;
        balance_fallback_invalid on;
    }

    location @backend {
        proxy_pass http://127.0.0.1:12346;
    }
_EOC_

# what proxy_pass sends the backend for a body from the client
sub upstream_request {
    my ($uri, $body) = @_;

    return "POST $uri HTTP/1.0\r\n"
        . "Host: 127.0.0.1:12346\r\n"
        . "Connection: close\r\n"
        . "Content-Length: " . length($body) . "\r\n"
        . "Content-Type: application/json\r\n"
        . "\r\n"
        . $body;
}

our $reply = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    . "Content-Length: 39\r\nConnection: close\r\n\r\n"
    . '{"jsonrpc":"2.0","result":"0x5","id":1}';

our $small = '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}';

our $batch = '[{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":'
    . '["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"]},'
    . '{"jsonrpc":"2.0","id":2,"method":"sim_getTransaction","params":["x"]}]';

# 300 kB, past every in-memory buffer: nginx keeps it in a temporary file
our $large = '{"jsonrpc":"2.0","id":1,"method":"gen_call","params":["'
    . ("ab" x 150000) . '"]}';

add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->http_config) {
        $block->set_value("http_config", $::http_config);
    }

    if (!defined $block->config) {
        $block->set_value("config", $::config);
    }

    if (!defined $block->more_headers) {
        $block->set_value("more_headers", "Content-Type: application/json");
    }
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: another method goes to the backend byte for byte
--- request eval
"POST /api\n$::small"
--- tcp_listen: 12346
--- tcp_query eval: ::upstream_request("/api", $::small)
--- tcp_reply eval: $::reply
--- response_body chomp
{"jsonrpc":"2.0","result":"0x5","id":1}
--- no_error_log
[error]



=== TEST 2: a batch with any other method goes whole to the backend
--- request eval
"POST /api\n$::batch"
--- tcp_listen: 12346
--- tcp_query eval: ::upstream_request("/api", $::batch)
--- tcp_reply eval: $::reply
--- response_body chomp
{"jsonrpc":"2.0","result":"0x5","id":1}
--- no_error_log
[error]



=== TEST 3: a 300 kB body, buffered to a temporary file, arrives unchanged
--- request eval
"POST /api\n$::large"
--- tcp_listen: 12346
--- tcp_query eval: ::upstream_request("/api", $::large)
--- tcp_query_len eval: length(::upstream_request("/api", $::large))
--- tcp_reply eval: $::reply
--- response_body chomp
{"jsonrpc":"2.0","result":"0x5","id":1}
--- no_error_log
[error]
--- timeout: 10



=== TEST 4: a body nginx wrote to a file arrives unchanged
--- request eval
"POST /file\n$::small"
--- tcp_listen: 12346
--- tcp_query eval: ::upstream_request("/file", $::small)
--- tcp_reply eval: $::reply
--- response_body chomp
{"jsonrpc":"2.0","result":"0x5","id":1}
--- no_error_log
[error]



=== TEST 5: with balance_fallback_invalid, a body that is not JSON goes too
--- request eval
"POST /invalid\n{not json"
--- tcp_listen: 12346
--- tcp_query eval: ::upstream_request("/invalid", "{not json")
--- tcp_reply eval: $::reply
--- response_body chomp
{"jsonrpc":"2.0","result":"0x5","id":1}
--- no_error_log
[error]



=== TEST 6: without it, a body that is not JSON is answered here
--- request eval
"POST /api\n{not json"
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}
--- error_code: 400
--- no_error_log
[error]



=== TEST 7: eth_getBalance, ping and a batch of them stay here
--- config
    location = /api {
        balance_pass test;
        balance_fallback @backend;
    }

    location @backend {
        return 200 "forwarded";
    }
--- request eval
"POST /api\n"
. '[{"jsonrpc":"2.0","id":1,"method":"ping"},'
. '{"jsonrpc":"2.0","id":2,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"]}]'
--- response_body chomp
[{"jsonrpc":"2.0","result":"OK","id":1},{"jsonrpc":"2.0","result":"0x1","id":2}]
--- no_error_log
[error]



=== TEST 8: with a fallback, other HTTP methods go to it too (CORS preflight)
--- config
    location = /api {
        balance_pass test;
        balance_fallback @backend;
    }

    location @backend {
        add_header X-Outcome $balance_outcome;
        return 204;
    }
--- request
OPTIONS /api
--- more_headers
Origin: http://localhost:8080
Access-Control-Request-Method: POST
--- error_code: 204
--- response_headers
X-Outcome: fallback
--- response_body chomp
--- no_error_log
[error]



=== TEST 9: the variables survive the hand-off to the named location
--- config
    location = /api {
        balance_pass test;
        balance_fallback @backend;
    }

    location @backend {
        add_header X-Method $balance_method;
        add_header X-Outcome $balance_outcome;
        return 200 "forwarded";
    }
--- request eval
"POST /api\n$::small"
--- response_headers
X-Method: eth_blockNumber
X-Outcome: fallback
--- response_body chomp
forwarded
--- no_error_log
[error]
