# A connection lost in the middle of a statement: its requests are tried
# once more on another connection before any error reaches a client.

use Test::Nginx::Socket;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 4);

$ENV{TEST_NGINX_PG_HOST} ||= '127.0.0.1';
$ENV{TEST_NGINX_PG_PORT} ||= 5432;
$ENV{TEST_NGINX_PG_DBNAME} ||= 'balance_test';
$ENV{TEST_NGINX_PG_USER} ||= 'balance';

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the backend is terminated mid-statement; the client still gets its balance
--- http_config
    balance_pool slow {
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER";
        connections 2;
        queue 10 timeout=5s;
        table slow_state;
    }

    # its lookups terminate the backends running slow_state statements
    balance_pool killer {
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER";
        connections 1;
        table kill_state;
    }
--- config
    location = /api {
        mirror /kill;
        balance_pass slow;
    }

    location = /kill {
        internal;
        balance_pass killer;
    }
--- request
POST /api
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"]}
--- response_body chomp
{"jsonrpc":"2.0","result":"0x1","id":1}
--- error_log
1 requests of a lost connection are tried again
--- no_error_log
[alert]
--- timeout: 6
