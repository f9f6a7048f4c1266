# Mocked TCP backends (--- tcp_listen), client timeouts and --- abort.
use Test::Nginx::Socket;
use IO::Socket::INET;

# a free port for the mocked backend, known before the blocks are filtered
our $BackendPort;
BEGIN {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Listen => 1) or die "no free port: $!";
    $BackendPort = $s->sockport;
    close $s;
}

plan tests => repeat_each() * (
      3 + 1   # 1: status, body, tcp_query, one header
    + 3       # 2: status, body, tcp_query_len
    + 2 + 1   # 3: status, body, error_log
    + 1       # 4: ignore_response + abort: only the error log test
    + 2       # 5: unix socket backend: status, body
);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: proxy to a mocked backend; check what nginx sent it
--- config eval
"location = /up {
    proxy_pass http://127.0.0.1:$::BackendPort/back?x=1;
}"
--- tcp_listen eval: $::BackendPort
--- tcp_query eval
"GET /back?x=1 HTTP/1.0\r\nHost: 127.0.0.1:$::BackendPort\r\nConnection: close\r\n\r\n"
--- tcp_reply eval
"HTTP/1.0 200 OK\r\nX-Backend: mock\r\nContent-Length: 6\r\n\r\nfrom\r\n"
--- request
GET /up
--- response_headers
X-Backend: mock
--- response_body eval
"from\r\n"



=== TEST 2: tcp_query_len; the reply is an array of pieces
--- config eval
"location = /up {
    proxy_pass http://127.0.0.1:$::BackendPort;
}"
--- tcp_listen eval: $::BackendPort
--- tcp_query_len eval
length "GET /up HTTP/1.0\r\nHost: 127.0.0.1:$::BackendPort\r\nConnection: close\r\n\r\n"
--- tcp_reply eval
["HTTP/1.0 200 OK\r\n", "Content-Length: 3\r\n\r\n", "abc"]
--- request
GET /up
--- response_body chomp
abc



=== TEST 3: a backend that never closes: nginx times out with 504
--- config eval
"location = /up {
    proxy_read_timeout 200ms;
    proxy_pass http://127.0.0.1:$::BackendPort;
}"
--- tcp_listen eval: $::BackendPort
--- tcp_reply:
--- tcp_no_close
--- request
GET /up
--- error_code: 504
--- response_body_like: 504 Gateway Time-out
--- error_log
upstream timed out



=== TEST 4: client timeout with --- abort is not a failure
--- config eval
"location = /up {
    proxy_read_timeout 10s;
    proxy_pass http://127.0.0.1:$::BackendPort;
}"
--- tcp_listen eval: $::BackendPort
--- tcp_reply:
--- tcp_no_close
--- request
GET /up
--- timeout: 300ms
--- abort
--- ignore_response
--- no_error_log
[alert]



=== TEST 5: a backend on a unix domain socket
--- config
location = /up {
    proxy_pass http://unix:$TEST_NGINX_SERVER_ROOT/logs/backend.sock:/;
}
--- tcp_listen eval: "$ENV{TEST_NGINX_SERVER_ROOT}/logs/backend.sock"
--- tcp_reply eval
"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nunix\n"
--- request
GET /up
--- response_body
unix
