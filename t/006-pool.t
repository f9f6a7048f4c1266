# The per-worker pool: connections opened once and reused, a batch in one
# statement, waiting requests coalesced into one round, the bounded queue.
# Concurrent lookups come from the mirror module's parallel subrequests;
# a request that must come after them is proxied back to this server.
# repeat_each(2) runs every block twice in one nginx: the pool's state
# carries over.  A request's body is sent 300 ms after its head so that
# the pool is connected when the request is processed.

use Test::Nginx::Socket;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 4 + 1);

$ENV{TEST_NGINX_PG_HOST} ||= '127.0.0.1';
$ENV{TEST_NGINX_PG_PORT} ||= 5432;
$ENV{TEST_NGINX_PG_DBNAME} ||= 'balance_test';
$ENV{TEST_NGINX_PG_USER} ||= 'balance';

our $pool = <<'_EOC_';
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER";
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    my $http = $block->http_config;

    if (defined $http) {
        $http =~ s/SERVER;/$::pool/;
        $block->set_value("http_config", $http);
    }
});

# the head of a POST, then its body: two packets
sub post {
    my ($uri, $body) = @_;

    return ["POST $uri HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            . "Content-Length: " . length($body) . "\r\n\r\n", $body];
}

our $one = '{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"]}';

no_shuffle();
run_tests();

__DATA__


=== TEST 1: connections are opened at start, then reused: the second run opens none
--- http_config
    balance_pool test {
        SERVER;
        connections 2;
    }
--- config
    location = /api {
        balance_pass test;
    }
--- request eval
"POST /api\n$::one"
--- response_body chomp
{"jsonrpc":"2.0","result":"0x1","id":1}
--- grep_error_log eval: qr/balance: (connecting|round of \d+ requests, \d+ keys)\b/
--- grep_error_log_out eval
[
"balance: connecting
balance: connecting
balance: round of 1 requests, 1 keys
",
"balance: round of 1 requests, 1 keys
",
]
--- no_error_log
[error]



=== TEST 2: a 100-entry batch is one statement, its addresses de-duplicated
--- http_config
    balance_pool test {
        SERVER;
        connections 1;
    }
--- config
    location = /api {
        balance_pass test;
    }
--- request eval
my @addr = ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
            "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
            "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
            "0x52908400098527886E0F7030069857D2E4169EE7");
my @req;
for my $i (0 .. 99) {
    my $a = $addr[$i % 5];
    $a = lc $a if $i % 2;
    push @req, qq({"jsonrpc":"2.0","id":$i,"method":"eth_getBalance","params":["$a","latest"]});
}
"POST /api\n[" . join(",", @req) . "]"
--- response_body eval
my @val = ("0x0", "0x1", "0x20000000000001", "0xd3c21bcecceda1000000",
           "0x" . ("f" x 64));
my @res;
for my $i (0 .. 99) {
    push @res, qq({"jsonrpc":"2.0","result":"$val[$i % 5]","id":$i});
}
"[" . join(",", @res) . "]"
--- grep_error_log eval: qr/balance: round of \d+ requests, \d+ keys\b/
--- grep_error_log_out
balance: round of 1 requests, 5 keys
--- no_error_log
[error]



=== TEST 3: lookups of one turn go out together, so do those that waited
--- http_config
    balance_pool test {
        SERVER;
        connections 1;
        queue 10 timeout=5s;
        table slow_state;
    }
--- config
    # three lookups in one turn of the event loop take the one connection
    # together; two more, proxied back to /api, wait and then go together
    location = /burst {
        mirror /m;
        mirror /m;
        mirror /m;
        mirror /p;
        proxy_pass http://127.0.0.1:$server_port/api;
    }

    location = /api {
        balance_pass test;
    }

    location = /m {
        internal;
        balance_pass test;
    }

    location = /p {
        internal;
        proxy_pass http://127.0.0.1:$server_port/api;
    }
--- raw_request eval
::post("/burst", $::one)
--- raw_request_middle_delay: 0.3
--- response_body chomp
{"jsonrpc":"2.0","result":"0x1","id":1}
--- grep_error_log eval: qr/balance: round of \d+ requests, \d+ keys, \d+ still waiting/
--- grep_error_log_out
balance: round of 3 requests, 1 keys, 0 still waiting
balance: round of 2 requests, 1 keys, 0 still waiting
--- no_error_log
[error]
--- timeout: 6



=== TEST 4: a full queue refuses at once: 503, Retry-After, -32005
--- http_config
    balance_pool test {
        SERVER;
        connections 1;
        queue 0;
        table slow_state;
    }
--- config
    # two lookups take the one connection, then the request itself arrives,
    # proxied back to /api, and finds no room to wait
    location = /full {
        mirror /m;
        mirror /m;
        proxy_pass http://127.0.0.1:$server_port/api;
    }

    location = /api {
        balance_pass test;
    }

    location = /m {
        internal;
        balance_pass test;
    }
--- raw_request eval
::post("/full", $::one)
--- raw_request_middle_delay: 0.3
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32005,"message":"Limit exceeded: too many requests are waiting for the database"},"id":1}
--- response_headers
Retry-After: 1
--- error_code: 503
--- grep_error_log eval: qr/queue of pool "test" is full \(\d+ waiting\)/
--- grep_error_log_out
queue of pool "test" is full (0 waiting)
--- no_error_log
[error]
--- wait: 2.2
--- timeout: 6



=== TEST 5: a request that waits too long gets 503 and -32005
--- http_config
    balance_pool test {
        SERVER;
        connections 1;
        queue 10 timeout=300ms;
        table slow_state;
    }
--- config
    location = /late {
        mirror /m;
        proxy_pass http://127.0.0.1:$server_port/api;
    }

    location = /api {
        balance_pass test;
    }

    location = /m {
        internal;
        balance_pass test;
    }
--- raw_request eval
::post("/late", $::one)
--- raw_request_middle_delay: 0.3
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32005,"message":"Limit exceeded: too many requests are waiting for the database"},"id":1}
--- error_code: 503
--- grep_error_log eval: qr/no connection of pool "test" was free within \d+ ms/
--- grep_error_log_out
no connection of pool "test" was free within 300 ms
--- no_error_log
[error]
--- wait: 1.2
--- timeout: 6



=== TEST 6: a statement over query_timeout: the server cancels it, 503, -32603
--- http_config
    balance_pool test {
        SERVER;
        connections 2;
        query_timeout 300ms;
        table slow_state;
    }
--- config
    location = /api {
        balance_pass test;
    }
--- request
POST /api
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"]}
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32603,"message":"Internal error"},"id":1}
--- error_code: 503
--- error_log eval
qr/balance: statement failed: ERROR:  canceling statement due to statement timeout/
--- no_error_log
[alert]
--- timeout: 5
