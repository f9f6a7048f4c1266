# A client that goes away while its lookup is in flight or waiting costs
# nothing: the request is detached, the statement's result is read and
# dropped, and the connection goes back to the pool.

use Test::Nginx::Socket;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 3);

$ENV{TEST_NGINX_PG_HOST} ||= '127.0.0.1';
$ENV{TEST_NGINX_PG_PORT} ||= 5432;
$ENV{TEST_NGINX_PG_DBNAME} ||= 'balance_test';
$ENV{TEST_NGINX_PG_USER} ||= 'balance';

our $http_config = <<'_EOC_';
    balance_pool slow {
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER";
        connections 1;
        queue 10 timeout=5s;
        table slow_state;
    }
_EOC_

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the client leaves during the statement; its result is dropped
--- http_config eval: $::http_config
--- config
    location = /api {
        balance_pass slow;
    }
--- request
POST /api
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"]}
--- timeout: 0.3
--- abort
--- wait: 1.2
--- ignore_response
--- grep_error_log eval: qr/balance: (request gone before its answer|result for \d+ requests)/
--- grep_error_log_out
balance: request gone before its answer
balance: result for 0 requests
--- no_error_log
[error]
[alert]



=== TEST 2: the client leaves while waiting in the queue; the next one is served
--- http_config eval: $::http_config
--- config
    # the mirror's lookup holds the connection; the request, proxied back
    # to /api, waits behind it until the client gives up: both lookups
    # are dropped, the statement's result read and discarded
    location = /wait {
        mirror /m;
        proxy_pass http://127.0.0.1:$server_port/api;
    }

    location = /api {
        balance_pass slow;
    }

    location = /m {
        internal;
        balance_pass slow;
    }
--- raw_request eval
my $b = '{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"]}';
["POST /wait HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: " . length($b) . "\r\n\r\n", $b]
--- raw_request_middle_delay: 0.3
--- timeout: 0.5
--- abort
--- wait: 1.5
--- ignore_response
--- grep_error_log eval: qr/balance: (request gone before its answer|round of \d+ requests|result for \d+ requests)/
--- grep_error_log_out
balance: round of 1 requests
balance: request gone before its answer
balance: request gone before its answer
balance: result for 0 requests
--- no_error_log
[error]
[alert]
