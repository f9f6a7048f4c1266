# Self-test of the bundled Test::Nginx::Socket (t/compat) against stock nginx.
use Test::Nginx::Socket;

repeat_each(2);

# per block: status + body (or body_like) + the extra per-section tests below
plan tests => repeat_each() * (blocks() * 2 + 3 + 2 + 1 + 1 + 1 + 2);

run_tests();

__DATA__

=== TEST 1: plain return
--- config
    location = /t {
        return 200 "hello\n";
    }
--- request
GET /t
--- response_body
hello



=== TEST 2: a 404 from the default root location
--- config
--- request
GET /no-such-file
--- error_code: 404
--- response_body_like: 404 Not Found



=== TEST 3: the default location / serves html/index.html
--- config
--- request
GET /
--- response_body chomp
<html><head><title>It works!</title></head><body>It works!</body></html>



=== TEST 4: response headers, present and absent (3 header tests)
--- config
    location = /h {
        add_header X-Foo "bar baz";
        add_header X-Num 42;
        return 200 "ok\n";
    }
--- request
GET /h
--- response_headers
X-Foo: bar baz
X-Num: 42
!X-Absent
--- response_body
ok



=== TEST 5: response_headers_like (2 header tests)
--- config
    location = /h {
        add_header X-Stamp "v-12345";
        return 200 "ok\n";
    }
--- request
GET /h
--- response_headers_like
X-Stamp: v-\d+
Content-Type: text/plain
--- response_body
ok



=== TEST 6: more_headers reach nginx; Host defaults to localhost (1 header test)
--- config
    location = /echo-hdr {
        add_header X-Host $host;
        return 200 "foo=$http_x_foo conn=$http_connection\n";
    }
--- request
GET /echo-hdr
--- more_headers
X-Foo: some value
--- response_headers
X-Host: localhost
--- response_body
foo=some value conn=close



=== TEST 7: request body gets a Content-Length and is trimmed; it reaches nginx (1 header test)
--- config
    location = /echo {
        proxy_set_header X-Body $request_body;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/sink;
    }
    location = /sink {
        add_header X-Len $http_content_length;
        return 200 "body=[$http_x_body]\n";
    }
--- request
POST /echo
hello world
--- response_headers
X-Len: 11
--- response_body
body=[hello world]



=== TEST 8: request eval with a generated body
--- config
    location = /len {
        client_body_buffer_size 64k;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/sink;
    }
    location = /sink {
        return 200 "len=$http_content_length\n";
    }
--- request eval
"POST /len\n" . ("x" x 5000)
--- response_body
len=5000



=== TEST 9: HTTP/1.0 request line and HEAD (1 header test)
--- config
    location = /t {
        return 200 "hello\n";
    }
--- request
HEAD /t HTTP/1.0
--- response_headers
Content-Length: 6
--- response_body



=== TEST 10: http_config and main_config land in their blocks (2 header tests)
--- main_config
    worker_rlimit_nofile 1024;
--- http_config
    map $uri $mapped {
        default "from-http-config";
    }
--- config
    location = /m {
        add_header X-Port $server_port;
        add_header X-Root $TEST_NGINX_SERVER_ROOT;
        return 200 "$mapped\n";
    }
--- request
GET /m
--- response_headers eval
"X-Port: $ENV{TEST_NGINX_SERVER_PORT}\nX-Root: $ENV{TEST_NGINX_SERVER_ROOT}"
--- response_body
from-http-config



=== TEST 11: user_files are written under html/
--- user_files
>>> sub/dir/a.txt
file A
port $TEST_NGINX_SERVER_PORT
--- config
--- request
GET /sub/dir/a.txt
--- response_body eval
"file A\nport $ENV{TEST_NGINX_SERVER_PORT}\n"



=== TEST 12: comment lines before the request line are ignored
--- config
    location = /t {
        return 200 "$request_method $request_uri\n";
    }
--- request
    # a comment
    GET /t?a=1
--- response_body
GET /t?a=1
