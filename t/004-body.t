# Request bodies: methods, chunked, spilled to temporary files, too large.

use Test::Nginx::Socket;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 3 + 4);

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
    }

    location = /file {
        balance_pass test;
        client_body_in_file_only clean;
    }

    location = /spill {
        balance_pass test;
        client_body_buffer_size 128;
    }

    location = /small {
        balance_pass test;
        client_max_body_size 64;
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

=== TEST 1: GET is not allowed, with a JSON-RPC body and Allow
--- request
GET /api
--- response_headers
Allow: POST
Content-Type: application/json
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request: use POST"},"id":null}
--- error_code: 405
--- no_error_log
[error]



=== TEST 2: PUT is not allowed either, its body discarded
--- request
PUT /api
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"]}
--- response_headers
Allow: POST
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request: use POST"},"id":null}
--- error_code: 405
--- no_error_log
[error]



=== TEST 3: a body nginx wrote to a temporary file
--- request
POST /file
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"]}
--- response_body chomp
{"jsonrpc":"2.0","result":"0x1","id":1}
--- error_code: 200
--- error_log
a client request body is buffered to a temporary file
--- no_error_log
[error]



=== TEST 4: a large batch that spilled over the body buffer
--- request
POST /spill
[{"jsonrpc":"2.0","id":0,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":2,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":3,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":4,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":5,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":6,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":7,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":8,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":9,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":10,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":11,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":12,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":13,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":14,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":15,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":16,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":17,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":18,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":19,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]}]
--- response_body chomp
[{"jsonrpc":"2.0","result":"0x1","id":0},{"jsonrpc":"2.0","result":"0x1","id":1},{"jsonrpc":"2.0","result":"0x1","id":2},{"jsonrpc":"2.0","result":"0x1","id":3},{"jsonrpc":"2.0","result":"0x1","id":4},{"jsonrpc":"2.0","result":"0x1","id":5},{"jsonrpc":"2.0","result":"0x1","id":6},{"jsonrpc":"2.0","result":"0x1","id":7},{"jsonrpc":"2.0","result":"0x1","id":8},{"jsonrpc":"2.0","result":"0x1","id":9},{"jsonrpc":"2.0","result":"0x1","id":10},{"jsonrpc":"2.0","result":"0x1","id":11},{"jsonrpc":"2.0","result":"0x1","id":12},{"jsonrpc":"2.0","result":"0x1","id":13},{"jsonrpc":"2.0","result":"0x1","id":14},{"jsonrpc":"2.0","result":"0x1","id":15},{"jsonrpc":"2.0","result":"0x1","id":16},{"jsonrpc":"2.0","result":"0x1","id":17},{"jsonrpc":"2.0","result":"0x1","id":18},{"jsonrpc":"2.0","result":"0x1","id":19}]
--- error_code: 200
--- no_error_log
[error]



=== TEST 5: a chunked body
--- raw_request eval
my $b = '{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"]}';
"POST /api HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
. sprintf("%x\r\n%s\r\n", 10, substr($b, 0, 10))
. sprintf("%x\r\n%s\r\n", length($b) - 10, substr($b, 10))
. "0\r\n\r\n"
--- response_body chomp
{"jsonrpc":"2.0","result":"0x1","id":1}
--- error_code: 200
--- no_error_log
[error]



=== TEST 6: a chunked body spilled to a file
--- raw_request eval
my $b = '[{"jsonrpc":"2.0","id":0,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":2,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":3,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":4,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":5,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":6,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":7,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":8,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":9,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":10,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":11,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":12,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":13,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":14,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":15,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":16,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":17,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":18,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]},{"jsonrpc":"2.0","id":19,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359","latest"]}]';
my $r = "POST /file HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n";
while (length $b) {
    my $c = substr($b, 0, 100, '');
    $r .= sprintf("%x\r\n%s\r\n", length $c, $c);
}
$r . "0\r\n\r\n"
--- response_body chomp
[{"jsonrpc":"2.0","result":"0x1","id":0},{"jsonrpc":"2.0","result":"0x1","id":1},{"jsonrpc":"2.0","result":"0x1","id":2},{"jsonrpc":"2.0","result":"0x1","id":3},{"jsonrpc":"2.0","result":"0x1","id":4},{"jsonrpc":"2.0","result":"0x1","id":5},{"jsonrpc":"2.0","result":"0x1","id":6},{"jsonrpc":"2.0","result":"0x1","id":7},{"jsonrpc":"2.0","result":"0x1","id":8},{"jsonrpc":"2.0","result":"0x1","id":9},{"jsonrpc":"2.0","result":"0x1","id":10},{"jsonrpc":"2.0","result":"0x1","id":11},{"jsonrpc":"2.0","result":"0x1","id":12},{"jsonrpc":"2.0","result":"0x1","id":13},{"jsonrpc":"2.0","result":"0x1","id":14},{"jsonrpc":"2.0","result":"0x1","id":15},{"jsonrpc":"2.0","result":"0x1","id":16},{"jsonrpc":"2.0","result":"0x1","id":17},{"jsonrpc":"2.0","result":"0x1","id":18},{"jsonrpc":"2.0","result":"0x1","id":19}]
--- error_code: 200
--- no_error_log
[error]



=== TEST 7: a body over client_max_body_size gets nginx's 413
--- request
POST /small
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"]}
--- response_body_like: 413 Request Entity Too Large
--- error_code: 413
--- no_error_log
[alert]



=== TEST 8: the 413 turned into JSON with error_page
--- config
    location = /small {
        balance_pass test;
        client_max_body_size 64;
        error_page 413 = @too_large;
    }

    location @too_large {
        default_type application/json;
        return 413 '{"jsonrpc":"2.0","error":{"code":-32600,"message":"Request body too large"},"id":null}';
    }
--- request
POST /small
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"]}
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32600,"message":"Request body too large"},"id":null}
--- error_code: 413
--- no_error_log
[alert]
