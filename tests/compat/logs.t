# error_log / no_error_log / grep_error_log / must_die
use Test::Nginx::Socket;

log_level('debug');

# Blocks 1-6 and 9: status + body + log tests as noted per block.
# error_log and no_error_log give one test per pattern per request.
plan tests => repeat_each() * (
      2 + 2      # 1
    + 2 + 4      # 2
    + 2 + 1      # 3
    + 2 + 1      # 4
    + 2 + 1      # 5
    + 4 + 2 * 2  # 6 (two requests: the log checks run per request)
    + 1 + 1      # 7 must_die
    + 1 + 1      # 8 must_die with an exit code
    + 2 + 1      # 9
);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: debug lines of the request are seen; [error] is absent
--- config
    location = /t {
        return 200 "hello\n";
    }
--- request
GET /t
--- response_body
hello
--- error_log
http finalize request
--- no_error_log
[error]



=== TEST 2: error_log eval with regexes, no_error_log eval
--- config
    location = /t {
        return 200 "hello\n";
    }
--- request
GET /t?marker-A1
--- response_body
hello
--- error_log eval
[qr/http args: "marker-A\d"/, qr/http finalize request: 0, "\/t\?marker-A1"/]
--- no_error_log eval
[qr/\[(?:alert|crit|emerg)\]/, "marker-B2"]



=== TEST 3: a logged [error] (open() of a missing file) can be expected
--- config
--- request
GET /unique-missing-file-XYZ
--- error_code: 404
--- response_body_like: 404 Not Found
--- error_log
unique-missing-file-XYZ" failed (2: No such file or directory)



=== TEST 4: without a config section nginx is not restarted, and the error
log check only sees this block's lines (TEST 3's marker is not seen)
--- request
GET /t
--- error_code: 404
--- response_body_like: 404 Not Found
--- no_error_log
unique-missing-file-XYZ



=== TEST 5: grep_error_log / grep_error_log_out
--- config
    location = /g {
        return 200 "ok\n";
    }
--- request
GET /g
--- response_body
ok
--- grep_error_log eval: qr/http finalize request: -?\d+, "\/g\?"/
--- grep_error_log_out
http finalize request: 0, "/g?"



=== TEST 6: several requests: the error log is checked after each of them
--- config
    location = /a {
        return 200 "a\n";
    }
--- request eval
["GET /a?first", "GET /a?second"]
--- response_body eval
["a\n", "a\n"]
--- error_log
http finalize request
--- no_error_log
[error]



=== TEST 7: must_die with a bad directive; the start-up error is checked
--- config
    bogus_directive_for_compat_test on;
--- must_die
--- error_log
unknown directive "bogus_directive_for_compat_test"



=== TEST 8: must_die with an expected exit code
--- http_config
    server { listen 127.0.0.1:$TEST_NGINX_SERVER_PORT bad_listen_param; }
--- config
--- must_die: 1
--- error_log
invalid parameter "bad_listen_param"



=== TEST 9: a block's --- log_level overrides the default
--- log_level: notice
--- config
    location = /t {
        return 200 "hello\n";
    }
--- request
GET /t
--- response_body
hello
--- no_error_log
[debug]
