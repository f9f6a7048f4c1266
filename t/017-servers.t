# Per-server settings that need no standby: the connection budget warning
# nginx -t and the start give, role= on a server that turns out to be a
# primary, and $balance_server.

use Test::Nginx::Socket;

repeat_each(1);

plan tests => repeat_each() * 41;

$ENV{TEST_NGINX_PG_HOST} ||= '127.0.0.1';
$ENV{TEST_NGINX_PG_PORT} ||= 5432;
$ENV{TEST_NGINX_PG_DBNAME} ||= 'balance_test';
$ENV{TEST_NGINX_PG_USER} ||= 'balance';

our $P = "127.0.0.1:$ENV{TEST_NGINX_PG_PORT}/$ENV{TEST_NGINX_PG_DBNAME}";

# what "nginx -t" prints for the running block's configuration
sub nginx_t {
    my $bin = $ENV{TEST_NGINX_BINARY} || 'nginx';
    my $root = $Test::Nginx::Util::ServRoot;
    my $conf = $Test::Nginx::Util::ConfFile;
    my $out = `$bin -t -p $root/ -c $conf 2>&1`;
    return $out;
}

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("config", <<'CONF') unless defined $block->config;
    location = /api {
        balance_pass a;
        add_header X-Server $balance_server always;
    }
CONF

    $block->set_value("request", <<'REQ') unless defined $block->request;
POST /api
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"]}
REQ

    $block->set_value("response_body", '{"jsonrpc":"2.0","result":"0x1","id":1}')
        unless defined $block->response_body;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: more connections than the server accepts: a warning, and nginx runs
--- http_config
    balance_pool a {
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER" max_connections=3;
        connections 4;
    }
--- init
Test::More::like(::nginx_t(), qr/\[warn\] .*balance: 1 worker processes may open 4 connections to server 127\.0\.0\.1:\d+\/\w+, over its max_connections=3, in \S+nginx\.conf:\d+\n.*test is successful/s, "nginx -t warns");
--- no_error_log
[error]



=== TEST 2: within the budget, but not twice over during a reload
--- http_config
    balance_pool a {
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER" max_connections=3;
        connections 2;
    }
--- init
Test::More::like(::nginx_t(), qr/\[warn\] .*balance: a reload may briefly open 4 connections to server 127\.0\.0\.1:\d+\/\w+ \(old and new workers\), over its max_connections=3/, "nginx -t warns");
--- no_error_log
[error]



=== TEST 3: two pools on one server add up, and warn once
--- http_config
    balance_pool a {
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER" max_connections=5;
        connections 3;
    }
    balance_pool b {
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER" max_connections=5;
        connections 3;
    }
--- init
my @w = (::nginx_t() =~ /balance: (\d+ worker processes may open \d+ connections)/g);
Test::More::is("@w", "1 worker processes may open 6 connections", "nginx -t warns once");
--- no_error_log
[error]



=== TEST 4: within the budget even during a reload: no warning
--- http_config
    balance_pool a {
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER" max_connections=4;
        connections 2;
    }
--- init
Test::More::unlike(::nginx_t(), qr/max_connections/, "nginx -t does not warn");
--- no_error_log
[warn]
[error]



=== TEST 5: a server declared a standby that is a primary takes reads once checked
--- http_config
    balance_pool a {
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER" role=standby;
        connections 1;
    }
--- response_headers eval
"X-Server: $::P"
--- error_log eval
qr/\[notice\] .*balance: server 127\.0\.0\.1:\d+\/\w+ of pool "a" is not in recovery: no lag bound applies/
--- no_error_log
[error]



=== TEST 6: a declared standby with max_lag off is read from without checks
--- http_config
    balance_pool a {
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER" role=standby;
        connections 1;
        max_lag off;
    }
--- response_headers eval
"X-Server: $::P"
--- no_error_log
in recovery
[error]



=== TEST 7: $balance_server is empty when no lookup was made
--- http_config
    balance_pool a {
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER";
    }
--- request
POST /api
{"jsonrpc":"2.0","id":1,"method":"ping"}
--- response_body chomp
{"jsonrpc":"2.0","result":"OK","id":1}
--- response_headers
X-Server:
--- no_error_log
[error]



=== TEST 8: prepare off: each lookup sends its statement whole, and answers the same
--- http_config
    balance_pool a {
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER";
        connections 1;
        connect_timeout 500ms;
        prepare off;
    }
--- init
# longer than connect_timeout: the idle connection must not time out
select(undef, undef, undef, 0.8);
--- request eval
["POST /api
{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getBalance\",\"params\":[\"0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359\"]}",
"POST /api
[{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"eth_getBalance\",\"params\":[\"0x0000000000000000000000000000000000000001\"]},{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"eth_getBalance\",\"params\":[\"0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359\"]}]"]
--- response_body eval
['{"jsonrpc":"2.0","result":"0x1","id":1}',
 '[{"jsonrpc":"2.0","result":"0x0","id":2},{"jsonrpc":"2.0","result":"0x1","id":3}]']
--- no_error_log
[error]
timed out



=== TEST 9: prepare takes on or off
--- http_config
    balance_pool a {
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER";
        prepare sometimes;
    }
--- must_die
--- error_log
invalid value "sometimes" in "prepare" of balance_pool "a": "on" or "off" is expected
