# Hostile and malformed input: each gets a clear answer (a JSON-RPC error,
# or nginx's own 400 where the HTTP framing itself is broken), nothing is
# logged above [info], and a normal request after it in the same block is
# answered as usual.  docs/security.md has the table this suite checks.

use Test::Nginx::Socket;

repeat_each(2);

# every block sends two requests: status and body of each (4), and the
# three no_error_log patterns after each (6); block 22 also checks the
# access log after each (+2), blocks 25 and 26 grep the error log (+2 each)
plan tests => repeat_each() * (blocks() * 10 + 6);

$ENV{TEST_NGINX_PG_HOST} ||= '127.0.0.1';
$ENV{TEST_NGINX_PG_PORT} ||= 5432;
$ENV{TEST_NGINX_PG_DBNAME} ||= 'balance_test';
$ENV{TEST_NGINX_PG_USER} ||= 'balance';

our $http_config = <<'_EOC_';
    balance_pool test {
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER";
        connections 2;
    }
_EOC_

# room for the 100,000-entry batch (4 MB); a body that stalls is dropped
# after a second
our $config = <<'_EOC_';
    location = /api {
        balance_pass test;
        client_max_body_size 8m;
        client_body_timeout 1s;
    }
_EOC_

# the normal request that follows each bad one, and its answer
our $good = "POST /api\n"
    . '{"jsonrpc":"2.0","id":2,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"]}';
our $ok = '{"jsonrpc":"2.0","result":"0x1","id":2}';

our $ping = "POST /api\n" . '{"jsonrpc":"2.0","id":3,"method":"ping"}';
our $pong = '{"jsonrpc":"2.0","result":"OK","id":3}';

our $parse_error = '{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}';

sub bad_address {
    my ($given, $id) = @_;
    return '{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid address from_address: '
        . $given . '"},"id":' . $id . '}';
}

add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->http_config) {
        $block->set_value("http_config", $::http_config);
    }

    if (!defined $block->config) {
        $block->set_value("config", $::config);
    }

    if (!defined $block->no_error_log) {
        $block->set_value("no_error_log", "[error]\n[alert]\n[crit]\n");
    }
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: arrays nested 10,000 deep: a parse error (jansson stops at 2048)
--- request eval
["POST /api\n" . ('[' x 10000) . (']' x 10000), $::good]
--- response_body eval
[$::parse_error, $::ok]
--- error_code eval
[400, 200]



=== TEST 2: objects nested 10,000 deep inside params: a parse error
--- request eval
["POST /api\n" . '{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":['
 . ('{"a":' x 10000) . '1' . ('}' x 10000) . ']}', $::good]
--- response_body eval
[$::parse_error, $::ok]
--- error_code eval
[400, 200]



=== TEST 3: the depth limit is 2048: one more is refused, 2048 is parsed
--- request eval
["POST /api\n" . ('[' x 2049) . (']' x 2049),
 "POST /api\n" . ('[' x 2048) . (']' x 2048)]
--- response_body eval
[$::parse_error,
 '[{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}]']
--- error_code eval
[400, 200]



=== TEST 4: a 100,000-entry batch is refused with its size
--- request eval
["POST /api\n[" . CORE::join(',', ('{"jsonrpc":"2.0","id":1,"method":"ping"}') x 100000) . ']',
 $::good]
--- response_body eval
['{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":{"message":"Batch size exceeds the limit of 100","size":100000}},"id":null}',
 $::ok]
--- error_code eval
[400, 200]
--- timeout: 10



=== TEST 5: an integer id past 2^63-1 is a parse error (jansson), not echoed
--- request eval
["POST /api\n" . '{"jsonrpc":"2.0","id":9223372036854775808,"method":"ping"}', $::good]
--- response_body eval
[$::parse_error, $::ok]
--- error_code eval
[400, 200]



=== TEST 6: a real id that overflows a double is a parse error
--- request eval
["POST /api\n" . '{"jsonrpc":"2.0","id":1e400,"method":"ping"}', $::good]
--- response_body eval
[$::parse_error, $::ok]
--- error_code eval
[400, 200]



=== TEST 7: a 30-digit id fails the whole batch; ids at the int64 edges are echoed
--- request eval
["POST /api\n" . '[{"jsonrpc":"2.0","id":9223372036854775807,"method":"ping"},{"jsonrpc":"2.0","id":-9223372036854775808,"method":"ping"},{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"ping"}]',
 "POST /api\n" . '[{"jsonrpc":"2.0","id":9223372036854775807,"method":"ping"},{"jsonrpc":"2.0","id":-9223372036854775808,"method":"ping"}]']
--- response_body eval
[$::parse_error,
 '[{"jsonrpc":"2.0","result":"OK","id":9223372036854775807},{"jsonrpc":"2.0","result":"OK","id":-9223372036854775808}]']
--- error_code eval
[400, 200]



=== TEST 8: duplicate keys: the last one wins, as in Python
--- request eval
["POST /api\n" . '{"jsonrpc":"2.0","id":1,"method":"nope","method":"ping","id":2}',
 "POST /api\n" . '{"jsonrpc":"2.0","id":2,"method":"eth_getBalance","params":["0x0"],"params":{"account_address":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","account_address":"0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"}}']
--- response_body eval
['{"jsonrpc":"2.0","result":"OK","id":2}', $::ok]
--- error_code eval
[200, 200]



=== TEST 9: invalid UTF-8 in a string is a parse error
--- request eval
["POST /api\n" . qq({"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x\xc3\x28"]}), $::good]
--- response_body eval
[$::parse_error, $::ok]
--- error_code eval
[400, 200]



=== TEST 10: an overlong UTF-8 encoding is a parse error
--- request eval
["POST /api\n" . qq({"jsonrpc":"2.0","id":"\xc0\xaf","method":"ping"}), $::good]
--- response_body eval
[$::parse_error, $::ok]
--- error_code eval
[400, 200]



=== TEST 11: a lone surrogate escape is a parse error
--- request eval
["POST /api\n" . '{"jsonrpc":"2.0","id":"\ud800","method":"ping"}', $::good]
--- response_body eval
[$::parse_error, $::ok]
--- error_code eval
[400, 200]



=== TEST 12: a UTF-8 byte order mark is a parse error
--- request eval
["POST /api\n" . qq(\xef\xbb\xbf{"jsonrpc":"2.0","id":1,"method":"ping"}), $::good]
--- response_body eval
[$::parse_error, $::ok]
--- error_code eval
[400, 200]



=== TEST 13: a NUL inside the method name matches no method
--- request eval
["POST /api\n" . '{"jsonrpc":"2.0","id":1,"method":"pi\u0000ng"}', $::good]
--- response_body eval
['{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found: pi\u0000ng"},"id":1}',
 $::ok]
--- error_code eval
[200, 200]



=== TEST 14: a NUL in the middle of an address is an invalid address
--- request eval
["POST /api\n" . '{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x5aAeb6053F3E94C9b9A0\u0000f33669435E7Ef1BeAed"]}',
 $::good]
--- response_body eval
[main::bad_address('0x5aAeb6053F3E94C9b9A0\u0000f33669435E7Ef1BeAed', 1), $::ok]
--- error_code eval
[200, 200]



=== TEST 15: a raw NUL byte inside a string is a parse error
--- request eval
["POST /api\n" . qq({"jsonrpc":"2.0","id":1,"method":"pi\0ng"}), $::good]
--- response_body eval
[$::parse_error, $::ok]
--- error_code eval
[400, 200]



=== TEST 16: a NUL inside an object key is a parse error (jansson)
--- request eval
["POST /api\n" . '{"jsonrpc":"2.0","id":1,"method":"ping","x\u0000":1}', $::good]
--- response_body eval
[$::parse_error, $::ok]
--- error_code eval
[400, 200]



=== TEST 17: Content-Type is ignored: text/plain and form types are parsed as JSON
--- more_headers eval
["Content-Type: text/plain", "Content-Type: application/x-www-form-urlencoded"]
--- request eval
["POST /api\n" . '{"jsonrpc":"2.0","id":1,"method":"ping"}', $::good]
--- response_body eval
['{"jsonrpc":"2.0","result":"OK","id":1}', $::ok]
--- error_code eval
[200, 200]



=== TEST 18: a form-encoded body is a parse error
--- more_headers eval
["Content-Type: application/x-www-form-urlencoded", "Content-Type: application/json"]
--- request eval
["POST /api\njsonrpc=2.0&id=1&method=ping", $::good]
--- response_body eval
[$::parse_error, $::ok]
--- error_code eval
[400, 200]



=== TEST 19: a chunk size that is not hex: nginx's 400
--- more_headers eval
["Transfer-Encoding: chunked", ""]
--- request eval
["POST /api\nzz\r\n" . '{"jsonrpc":"2.0","id":1,"method":"ping"}' . "\r\n0\r\n\r\n", $::good]
--- response_body_like eval
[qr{<title>400 Bad Request</title>}, qr{^\Q$::ok\E$}]
--- error_code eval
[400, 200]
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 20: a chunk size that overflows: nginx's 400
--- more_headers eval
["Transfer-Encoding: chunked", ""]
--- request eval
["POST /api\nfffffffffffffffffffff\r\n" . '{"jsonrpc":"2.0","id":1,"method":"ping"}' . "\r\n0\r\n\r\n", $::good]
--- response_body_like eval
[qr{<title>400 Bad Request</title>}, qr{^\Q$::ok\E$}]
--- error_code eval
[400, 200]
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 21: a negative chunk size: nginx's 400
--- more_headers eval
["Transfer-Encoding: chunked", ""]
--- request eval
["POST /api\n-28\r\n" . '{"jsonrpc":"2.0","id":1,"method":"ping"}' . "\r\n0\r\n\r\n", $::good]
--- response_body_like eval
[qr{<title>400 Bad Request</title>}, qr{^\Q$::ok\E$}]
--- error_code eval
[400, 200]
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 22: a body that stops halfway: closed after client_body_timeout
nginx 1.22 answers a body timeout (408) by closing the connection: no
status, no body, nothing logged above debug; the access log has the 408.
--- more_headers eval
["Content-Length: 200", ""]
--- request eval
["POST /api\n" . '{"jsonrpc":"2.0","id":1,"method":"ping"', $::good]
--- response_body eval
["", $::ok]
--- error_code eval
["", 200]
--- access_log
"POST /api HTTP/1.1" 408 0



=== TEST 23: headers only, Content-Length: 0: a parse error
--- more_headers eval
["Content-Length: 0", ""]
--- request eval
["POST /api\n", $::good]
--- response_body eval
[$::parse_error, $::ok]
--- error_code eval
[400, 200]



=== TEST 24: an empty chunked body: a parse error
--- more_headers eval
["Transfer-Encoding: chunked", ""]
--- request eval
["POST /api\n0\r\n\r\n", $::good]
--- response_body eval
[$::parse_error, $::ok]
--- error_code eval
[400, 200]



=== TEST 25: an SQL-shaped address is refused before any query
--- request eval
["POST /api\n" . q~{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x' OR '1'='1"]}~, $::ping]
--- response_body eval
[main::bad_address(q~0x' OR '1'='1~, 1), $::pong]
--- error_code eval
[200, 200]
--- grep_error_log eval: qr/balance: round of \d+ requests/
--- grep_error_log_out



=== TEST 26: 42-character SQL and array-literal shapes next to a valid address: one key
--- request eval
["POST /api\n" . q~[{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x');DROP TABLE current_state;--aaaaaaaaaa"]},{"jsonrpc":"2.0","id":2,"method":"eth_getBalance","params":["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1B\",\"}"]},{"jsonrpc":"2.0","id":3,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"]}]~,
 $::ping]
--- response_body eval
['[' . main::bad_address(q~0x');DROP TABLE current_state;--aaaaaaaaaa~, 1) . ','
 . main::bad_address(q~0x5aAeb6053F3E94C9b9A09f33669435E7Ef1B\",\"}~, 2) . ','
 . '{"jsonrpc":"2.0","result":"0x1","id":3}]',
 $::pong]
--- error_code eval
[200, 200]
--- grep_error_log eval: qr/balance: round of \d+ requests, (?!1 keys)\d+ keys/
--- grep_error_log_out



=== TEST 27: an id that is an object: Invalid Request, id null
--- request eval
["POST /api\n" . '{"jsonrpc":"2.0","id":{"a":1},"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"]}',
 $::good]
--- response_body eval
['{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}', $::ok]
--- error_code eval
[200, 200]



=== TEST 28: ids that are arrays or booleans: Invalid Request, id null
--- request eval
["POST /api\n" . '[{"jsonrpc":"2.0","id":[1],"method":"ping"},{"jsonrpc":"2.0","id":true,"method":"ping"}]',
 $::good]
--- response_body eval
['[{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null},{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}]',
 $::ok]
--- error_code eval
[200, 200]



=== TEST 29: a 100,000-character address is refused and echoed whole
--- request eval
["POST /api\n" . '{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x' . ('a' x 99998) . '"]}',
 $::good]
--- response_body eval
[main::bad_address('0x' . ('a' x 99998), 1), $::ok]
--- error_code eval
[200, 200]
