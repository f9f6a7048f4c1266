# Several requests per block, pipelining, raw requests, chunked bodies.
use Test::Nginx::Socket;

# status + body for each request of each block
plan tests => repeat_each() * (2 * (3 + 3 + 1 + 1 + 1 + 1 + 2 + 2) + 1);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: request eval with an array of requests (3 requests)
--- config
    location /r {
        return 200 "uri=$uri\n";
    }
--- request eval
["GET /r/a", "GET /r/b", "POST /r/c\nbody"]
--- response_body eval
["uri=/r/a\n", "uri=/r/b\n", "uri=/r/c\n"]



=== TEST 2: pipelined requests over one connection (3 requests)
--- config
    location /p {
        return 200 "$uri conn=$connection req=$connection_requests\n";
    }
--- pipelined_requests eval
["GET /p/1", "GET /p/2", "GET /p/3"]
--- response_body_like eval
[qr{^/p/1 conn=(\d+) req=1$}, qr{^/p/2 conn=\d+ req=2$}, qr{^/p/3 conn=\d+ req=3$}]



=== TEST 3: raw_request is sent verbatim
--- config
    location = /raw {
        return 200 "host=$host proto=$server_protocol\n";
    }
--- raw_request eval
"GET /raw HTTP/1.0\r\nHost: raw.example\r\n\r\n"
--- response_body
host=raw.example proto=HTTP/1.0



=== TEST 4: chunked responses are decoded
--- config
    location = /chunked {
        sub_filter_types *;
        sub_filter 'world' 'there';
        return 200 "hello world\n";
    }
--- request
GET /chunked
--- raw_response_headers_like: Transfer-Encoding: chunked\r\n
--- response_body
hello there



=== TEST 5: chunked request body via more_headers (no Content-Length added)
--- config
    location = /echo {
        proxy_set_header X-Body $request_body;
        proxy_set_header X-Len $http_content_length;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/sink;
    }
    location = /sink {
        return 200 "body=[$http_x_body] clen=[$http_x_len]\n";
    }
--- more_headers
Transfer-Encoding: chunked
--- request eval
"POST /echo\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
--- response_body
body=[hello world] clen=[]



=== TEST 6: a request split into packets with a delay
--- config
    location = /split {
        return 200 "$request_method $uri $http_x_a\n";
    }
--- more_headers
X-A: yes
--- request eval
[["GE", {value => "T /spl", delay_before => 0.05}, "it\n"]]
--- response_body
GET /split yes



=== TEST 7: error_code eval for several requests
--- config
    location = /ok {
        return 200 "ok\n";
    }
--- request eval
["GET /ok", "GET /missing"]
--- error_code eval
[200, 404]
--- response_body_like eval
["^ok", "404 Not Found"]



=== TEST 8: more_headers eval, one set per request, and a user Connection header
--- config
    location = /h {
        return 200 "v=$http_x_v c=$http_connection\n";
    }
--- request eval
["GET /h", "GET /h"]
--- more_headers eval
["X-V: 1", "X-V: 2\nConnection: close"]
--- response_body eval
["v=1 c=close\n", "v=2 c=close\n"]
