# The module among nginx's own modules: limit_req, add_header (CORS),
# access_log with the module's variables, gzip, and nginx in front of
# nginx with proxy_pass.

use Test::Nginx::Socket;

# once: limit_req's state would carry over into a repeat
repeat_each(1);

plan tests => repeat_each() * (blocks() * 5);

$ENV{TEST_NGINX_PG_HOST} ||= '127.0.0.1';
$ENV{TEST_NGINX_PG_PORT} ||= 5432;
$ENV{TEST_NGINX_PG_DBNAME} ||= 'balance_test';
$ENV{TEST_NGINX_PG_USER} ||= 'balance';

our $pool = <<'_EOC_';
    balance_pool test {
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER";
        connections 1;
    }
_EOC_

our $lookup = '{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"]}';

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", $::pool . ($block->http_config // ""));
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: limit_req refuses before the module; error_page makes it JSON
--- http_config
    limit_req_zone $binary_remote_addr zone=rpc:1m rate=1r/m;
--- config
    location = /api {
        limit_req zone=rpc nodelay;
        limit_req_status 429;
        error_page 429 = @too_many;
        balance_pass test;
    }

    location @too_many {
        default_type application/json;
        add_header Retry-After 60 always;
        return 429 '{"jsonrpc":"2.0","error":{"code":-32005,"message":"Too many requests"},"id":null}';
    }
--- request eval
["POST /api\n$::lookup", "POST /api\n$::lookup"]
--- error_code eval
[200, 429]
--- response_body eval
['{"jsonrpc":"2.0","result":"0x1","id":1}',
 '{"jsonrpc":"2.0","error":{"code":-32005,"message":"Too many requests"},"id":null}']
--- no_error_log
[alert]



=== TEST 2: CORS headers with add_header ... always, on an answer
--- config
    location = /api {
        add_header Access-Control-Allow-Origin * always;
        add_header Vary Origin always;
        balance_pass test;
    }
--- request eval
"POST /api\n$::lookup"
--- response_headers
Access-Control-Allow-Origin: *
Vary: Origin
--- response_body chomp
{"jsonrpc":"2.0","result":"0x1","id":1}
--- no_error_log
[error]



=== TEST 3: and on an error the module answers itself
--- config
    location = /api {
        add_header Access-Control-Allow-Origin * always;
        add_header Vary Origin always;
        balance_pass test;
    }
--- request
POST /api
{oops
--- error_code: 400
--- response_headers
Access-Control-Allow-Origin: *
Vary: Origin
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}
--- no_error_log
[error]



=== TEST 4: the module's variables, in headers and in the access log
--- http_config
    log_format rpc 'rpc method=$balance_method outcome=$balance_outcome db=$balance_db_time status=$status';
--- config
    location = /api {
        access_log logs/access.log rpc;
        add_header X-RPC-Method $balance_method always;
        add_header X-RPC-Outcome $balance_outcome always;
        balance_pass test;
    }
--- request eval
"POST /api\n$::lookup"
--- response_headers
X-RPC-Method: eth_getBalance
X-RPC-Outcome: ok
--- response_body chomp
{"jsonrpc":"2.0","result":"0x1","id":1}
--- access_log eval
qr/^rpc method=eth_getBalance outcome=ok db=0\.\d{6} status=200$/



=== TEST 5: gzip compresses the module's JSON for clients that ask
--- config
    location = /api {
        gzip on;
        gzip_types application/json;
        gzip_min_length 0;
        balance_pass test;
    }
--- request eval
"POST /api\n$::lookup"
--- more_headers
Accept-Encoding: gzip
--- response_headers
Content-Encoding: gzip
Content-Type: application/json
--- response_body_like: ^\x1f\x8b
--- no_error_log
[error]



=== TEST 6: nginx in front of nginx: proxy_pass to the module's location
--- config
    location = /front {
        proxy_pass http://127.0.0.1:$server_port/api;
        proxy_set_header Host rpc.internal;
    }

    location = /api {
        balance_pass test;
    }
--- request eval
"POST /front\n$::lookup"
--- response_headers
Content-Type: application/json
--- response_body chomp
{"jsonrpc":"2.0","result":"0x1","id":1}
--- no_error_log
[error]
