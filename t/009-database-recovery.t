# The database is down when nginx starts and comes up later: the pool
# connects by itself and serves, with no reload.  Needs a command that
# stops and starts the test database: TEST_NGINX_PG_CTL ("... stop" and
# "... start"); the test command provides it.

use Test::Nginx::Socket;

$ENV{TEST_NGINX_PG_HOST} ||= '127.0.0.1';
$ENV{TEST_NGINX_PG_PORT} ||= 5432;
$ENV{TEST_NGINX_PG_DBNAME} ||= 'balance_test';
$ENV{TEST_NGINX_PG_USER} ||= 'balance';

if (!$ENV{TEST_NGINX_PG_CTL}) {
    plan skip_all => "TEST_NGINX_PG_CTL is not set";

} else {
    # one run only: the database is taken down once
    repeat_each(1);
    # three requests: status, body, and the error log checked for each
    plan tests => blocks() * 9;
}

# the database goes down now, before nginx starts, and comes back 2 s later
sub down_then_up {
    my $ctl = $ENV{TEST_NGINX_PG_CTL};

    system("$ctl stop") == 0 or die "cannot stop the database\n";

    my $pid = fork();
    die "fork: $!" unless defined $pid;

    if ($pid == 0) {
        sleep 2;
        exec("$ctl start") or exit 1;
    }

    return $pid;
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: down at start: 503; up 2 s later: answered, without a reload
--- http_config
    balance_pool test {
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER";
        connections 2;
        backoff 100ms max=400ms;
    }
--- config
    location = /api {
        balance_pass test;
    }

    # about 4 s to send: the time the database needs to come back
    location = /pause {
        limit_rate 50;
        return 200 "................................................................................................................................................................................................................................";
    }
--- request eval
::down_then_up();
[
"POST /api
{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getBalance\",\"params\":[\"0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359\"]}",
"GET /pause",
"POST /api
{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"eth_getBalance\",\"params\":[\"0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359\"]}",
]
--- response_body eval
[
'{"jsonrpc":"2.0","error":{"code":-32603,"message":"Internal error"},"id":1}',
"." x 224,
'{"jsonrpc":"2.0","result":"0x1","id":2}',
]
--- error_code eval
[503, 200, 200]
--- no_error_log
[alert]
--- timeout: 10
