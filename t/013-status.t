# balance_status: Prometheus text, summed over two workers through shared
# memory, after a known sequence of requests.

use Test::Nginx::Socket;

repeat_each(1);
master_on();
workers(2);

# seven requests with a status and a body each, then one with a header too
plan tests => repeat_each() * 17;

$ENV{TEST_NGINX_PG_HOST} ||= '127.0.0.1';
$ENV{TEST_NGINX_PG_PORT} ||= 5432;
$ENV{TEST_NGINX_PG_DBNAME} ||= 'balance_test';
$ENV{TEST_NGINX_PG_USER} ||= 'balance';

sub post {
    return "POST /api\n" . shift;
}

# every line the page must hold, one regular expression
sub page {
    my $re = join "", map { "(?=.*^\Q$_\E\$)" } @_;
    return qr/(?ms)\A$re/;
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: counters after six requests spread over two workers
--- http_config
    balance_pool test {
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER";
        connections 2;
    }
--- config
    location = /api {
        balance_pass test;
    }

    location = /status {
        balance_status;
    }
--- request eval
[
::post('{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"]}'),
::post('{"jsonrpc":"2.0","id":2,"method":"eth_getBalance","params":["0x0000000000000000000000000000000000000001"]}'),
::post('[{"jsonrpc":"2.0","id":3,"method":"eth_getBalance","params":["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"]},'
     . '{"jsonrpc":"2.0","id":4,"method":"eth_getBalance","params":["0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"]},'
     . '{"jsonrpc":"2.0","id":5,"method":"ping"}]'),
::post('{bad'),
::post('{"jsonrpc":"2.0","id":6,"method":"eth_getBalance","params":["0x12"]}'),
"GET /api",
"GET /status",
]
--- error_code eval
[200, 200, 200, 400, 200, 405, 200]
--- response_body_like eval
[
qr/"result":"0x1"/,
qr/"result":"0x0"/,
qr/^\[.*"id":3.*"id":4.*"id":5\}\]$/,
qr/-32700/,
qr/-32602/,
qr/-32600/,
::page(
    'balance_requests_total{outcome="ok"} 4',
    'balance_requests_total{outcome="invalid"} 1',
    'balance_requests_total{outcome="denied"} 0',
    'balance_requests_total{outcome="method_not_allowed"} 1',
    'balance_requests_total{outcome="unavailable"} 0',
    'balance_requests_total{outcome="overloaded"} 0',
    'balance_calls_total{method="eth_getBalance",result="ok"} 4',
    'balance_calls_total{method="eth_getBalance",result="error"} 1',
    'balance_calls_total{method="ping",result="ok"} 1',
    'balance_batch_size_bucket{le="2"} 0',
    'balance_batch_size_bucket{le="5"} 1',
    'balance_batch_size_sum 3',
    'balance_batch_size_count 1',
    'balance_request_duration_seconds_count 6',
    "balance_db_statements_total{pool=\"test\",server=\"127.0.0.1:$ENV{TEST_NGINX_PG_PORT}/$ENV{TEST_NGINX_PG_DBNAME}\"} 3",
    "balance_db_keys_total{pool=\"test\",server=\"127.0.0.1:$ENV{TEST_NGINX_PG_PORT}/$ENV{TEST_NGINX_PG_DBNAME}\"} 3",
    "balance_db_connections{pool=\"test\",server=\"127.0.0.1:$ENV{TEST_NGINX_PG_PORT}/$ENV{TEST_NGINX_PG_DBNAME}\",state=\"idle\"} 4",
    "balance_db_connections{pool=\"test\",server=\"127.0.0.1:$ENV{TEST_NGINX_PG_PORT}/$ENV{TEST_NGINX_PG_DBNAME}\",state=\"busy\"} 0",
    'balance_queue_waiting{pool="test"} 0',
    'balance_queue_rejected_total{pool="test",reason="full"} 0',
),
]



=== TEST 2: the page is Prometheus text exposition 0.0.4
--- http_config
    balance_pool test {
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER";
        connections 1;
    }
--- config
    location = /status {
        balance_status;
    }
--- request
GET /status
--- response_headers
Content-Type: text/plain; version=0.0.4; charset=utf-8
--- response_body_like
^# HELP balance_requests_total .*
# TYPE balance_db_connections gauge
