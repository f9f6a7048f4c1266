# Address rules: eth_utils.is_address, EIP-55 normalisation, strict mode.

use Test::Nginx::Socket;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 3);

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

our $config = <<'_EOC_';
    location = /api {
        balance_pass test;
    }

    location = /strict {
        balance_pass test;
        balance_strict_checksum on;
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->http_config) {
        $block->set_value("http_config", $::http_config);
    }

    if (!defined $block->config) {
        $block->set_value("config", $::config);
    }
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: EIP-55 test vectors as checksummed
--- request
POST /api
[{"jsonrpc":"2.0","id":0,"method":"eth_getBalance","params":["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"]},{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"]},{"jsonrpc":"2.0","id":2,"method":"eth_getBalance","params":["0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB"]},{"jsonrpc":"2.0","id":3,"method":"eth_getBalance","params":["0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"]},{"jsonrpc":"2.0","id":4,"method":"eth_getBalance","params":["0x52908400098527886E0F7030069857D2E4169EE7"]},{"jsonrpc":"2.0","id":5,"method":"eth_getBalance","params":["0x8617E340B3D01FA5F11F306F4090FD50E238070D"]},{"jsonrpc":"2.0","id":6,"method":"eth_getBalance","params":["0xde709f2102306220921060314715629080e2fb77"]},{"jsonrpc":"2.0","id":7,"method":"eth_getBalance","params":["0x27b1fdb04752bbc536007a920d24acb045561c26"]}]
--- response_body chomp
[{"jsonrpc":"2.0","result":"0x0","id":0},{"jsonrpc":"2.0","result":"0x1","id":1},{"jsonrpc":"2.0","result":"0x20000000000001","id":2},{"jsonrpc":"2.0","result":"0xd3c21bcecceda1000000","id":3},{"jsonrpc":"2.0","result":"0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff","id":4},{"jsonrpc":"2.0","result":"0xff","id":5},{"jsonrpc":"2.0","result":"0x1000","id":6},{"jsonrpc":"2.0","result":"0xde0b6b3a7640000","id":7}]
--- error_code: 200
--- no_error_log
[error]



=== TEST 2: EIP-55 test vectors in lowercase
--- request
POST /api
[{"jsonrpc":"2.0","id":0,"method":"eth_getBalance","params":["0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"]},{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359"]},{"jsonrpc":"2.0","id":2,"method":"eth_getBalance","params":["0xdbf03b407c01e7cd3cbea99509d93f8dddc8c6fb"]},{"jsonrpc":"2.0","id":3,"method":"eth_getBalance","params":["0xd1220a0cf47c7b9be7a2e6ba89f429762e7b9adb"]},{"jsonrpc":"2.0","id":4,"method":"eth_getBalance","params":["0x52908400098527886e0f7030069857d2e4169ee7"]},{"jsonrpc":"2.0","id":5,"method":"eth_getBalance","params":["0x8617e340b3d01fa5f11f306f4090fd50e238070d"]},{"jsonrpc":"2.0","id":6,"method":"eth_getBalance","params":["0xde709f2102306220921060314715629080e2fb77"]},{"jsonrpc":"2.0","id":7,"method":"eth_getBalance","params":["0x27b1fdb04752bbc536007a920d24acb045561c26"]}]
--- response_body chomp
[{"jsonrpc":"2.0","result":"0x0","id":0},{"jsonrpc":"2.0","result":"0x1","id":1},{"jsonrpc":"2.0","result":"0x20000000000001","id":2},{"jsonrpc":"2.0","result":"0xd3c21bcecceda1000000","id":3},{"jsonrpc":"2.0","result":"0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff","id":4},{"jsonrpc":"2.0","result":"0xff","id":5},{"jsonrpc":"2.0","result":"0x1000","id":6},{"jsonrpc":"2.0","result":"0xde0b6b3a7640000","id":7}]
--- error_code: 200
--- no_error_log
[error]



=== TEST 3: EIP-55 test vectors in uppercase
--- request
POST /api
[{"jsonrpc":"2.0","id":0,"method":"eth_getBalance","params":["0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED"]},{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xFB6916095CA1DF60BB79CE92CE3EA74C37C5D359"]},{"jsonrpc":"2.0","id":2,"method":"eth_getBalance","params":["0xDBF03B407C01E7CD3CBEA99509D93F8DDDC8C6FB"]},{"jsonrpc":"2.0","id":3,"method":"eth_getBalance","params":["0xD1220A0CF47C7B9BE7A2E6BA89F429762E7B9ADB"]},{"jsonrpc":"2.0","id":4,"method":"eth_getBalance","params":["0x52908400098527886E0F7030069857D2E4169EE7"]},{"jsonrpc":"2.0","id":5,"method":"eth_getBalance","params":["0x8617E340B3D01FA5F11F306F4090FD50E238070D"]},{"jsonrpc":"2.0","id":6,"method":"eth_getBalance","params":["0xDE709F2102306220921060314715629080E2FB77"]},{"jsonrpc":"2.0","id":7,"method":"eth_getBalance","params":["0x27B1FDB04752BBC536007A920D24ACB045561C26"]}]
--- response_body chomp
[{"jsonrpc":"2.0","result":"0x0","id":0},{"jsonrpc":"2.0","result":"0x1","id":1},{"jsonrpc":"2.0","result":"0x20000000000001","id":2},{"jsonrpc":"2.0","result":"0xd3c21bcecceda1000000","id":3},{"jsonrpc":"2.0","result":"0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff","id":4},{"jsonrpc":"2.0","result":"0xff","id":5},{"jsonrpc":"2.0","result":"0x1000","id":6},{"jsonrpc":"2.0","result":"0xde0b6b3a7640000","id":7}]
--- error_code: 200
--- no_error_log
[error]



=== TEST 4: EIP-55 test vectors without 0x
--- request
POST /api
[{"jsonrpc":"2.0","id":0,"method":"eth_getBalance","params":["5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"]},{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["fb6916095ca1df60bb79ce92ce3ea74c37c5d359"]},{"jsonrpc":"2.0","id":2,"method":"eth_getBalance","params":["dbf03b407c01e7cd3cbea99509d93f8dddc8c6fb"]},{"jsonrpc":"2.0","id":3,"method":"eth_getBalance","params":["d1220a0cf47c7b9be7a2e6ba89f429762e7b9adb"]},{"jsonrpc":"2.0","id":4,"method":"eth_getBalance","params":["52908400098527886e0f7030069857d2e4169ee7"]},{"jsonrpc":"2.0","id":5,"method":"eth_getBalance","params":["8617e340b3d01fa5f11f306f4090fd50e238070d"]},{"jsonrpc":"2.0","id":6,"method":"eth_getBalance","params":["de709f2102306220921060314715629080e2fb77"]},{"jsonrpc":"2.0","id":7,"method":"eth_getBalance","params":["27b1fdb04752bbc536007a920d24acb045561c26"]}]
--- response_body chomp
[{"jsonrpc":"2.0","result":"0x0","id":0},{"jsonrpc":"2.0","result":"0x1","id":1},{"jsonrpc":"2.0","result":"0x20000000000001","id":2},{"jsonrpc":"2.0","result":"0xd3c21bcecceda1000000","id":3},{"jsonrpc":"2.0","result":"0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff","id":4},{"jsonrpc":"2.0","result":"0xff","id":5},{"jsonrpc":"2.0","result":"0x1000","id":6},{"jsonrpc":"2.0","result":"0xde0b6b3a7640000","id":7}]
--- error_code: 200
--- no_error_log
[error]



=== TEST 5: EIP-55 test vectors with a 0X prefix
--- request
POST /api
[{"jsonrpc":"2.0","id":0,"method":"eth_getBalance","params":["0X5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"]},{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0XfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"]},{"jsonrpc":"2.0","id":2,"method":"eth_getBalance","params":["0XdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB"]},{"jsonrpc":"2.0","id":3,"method":"eth_getBalance","params":["0XD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"]},{"jsonrpc":"2.0","id":4,"method":"eth_getBalance","params":["0X52908400098527886E0F7030069857D2E4169EE7"]},{"jsonrpc":"2.0","id":5,"method":"eth_getBalance","params":["0X8617E340B3D01FA5F11F306F4090FD50E238070D"]},{"jsonrpc":"2.0","id":6,"method":"eth_getBalance","params":["0Xde709f2102306220921060314715629080e2fb77"]},{"jsonrpc":"2.0","id":7,"method":"eth_getBalance","params":["0X27b1fdb04752bbc536007a920d24acb045561c26"]}]
--- response_body chomp
[{"jsonrpc":"2.0","result":"0x0","id":0},{"jsonrpc":"2.0","result":"0x1","id":1},{"jsonrpc":"2.0","result":"0x20000000000001","id":2},{"jsonrpc":"2.0","result":"0xd3c21bcecceda1000000","id":3},{"jsonrpc":"2.0","result":"0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff","id":4},{"jsonrpc":"2.0","result":"0xff","id":5},{"jsonrpc":"2.0","result":"0x1000","id":6},{"jsonrpc":"2.0","result":"0xde0b6b3a7640000","id":7}]
--- error_code: 200
--- no_error_log
[error]



=== TEST 6: 39 hex digits
--- request
POST /api
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe"]}
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid address from_address: 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe"},"id":1}
--- error_code: 200
--- no_error_log
[error]



=== TEST 7: 41 hex digits
--- request
POST /api
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed0"]}
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid address from_address: 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed0"},"id":1}
--- error_code: 200
--- no_error_log
[error]



=== TEST 8: a non-hex digit
--- request
POST /api
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg"]}
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid address from_address: 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg"},"id":1}
--- error_code: 200
--- no_error_log
[error]



=== TEST 9: an empty string
--- request
POST /api
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":[""]}
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid address from_address: "},"id":1}
--- error_code: 200
--- no_error_log
[error]



=== TEST 10: only the prefix
--- request
POST /api
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x"]}
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid address from_address: 0x"},"id":1}
--- error_code: 200
--- no_error_log
[error]



=== TEST 11: a number
--- request
POST /api
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":[12345]}
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid address from_address: 12345"},"id":1}
--- error_code: 200
--- no_error_log
[error]



=== TEST 12: null
--- request
POST /api
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":[null]}
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid address from_address: None"},"id":1}
--- error_code: 200
--- no_error_log
[error]



=== TEST 13: true
--- request
POST /api
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":[true]}
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid address from_address: True"},"id":1}
--- error_code: 200
--- no_error_log
[error]



=== TEST 14: an object
--- request
POST /api
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":[{"a":1}]}
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid address from_address: {\"a\":1}"},"id":1}
--- error_code: 200
--- no_error_log
[error]



=== TEST 15: no params at all
--- request
POST /api
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":[]}
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid address from_address: None"},"id":1}
--- error_code: 200
--- no_error_log
[error]



=== TEST 16: a space before the address
--- request
POST /api
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":[" 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"]}
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid address from_address:  0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"},"id":1}
--- error_code: 200
--- no_error_log
[error]



=== TEST 17: a NUL in the middle
--- request
POST /api
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x5aAeb6053F3E94C9b9A0\u00009f33669435E7Ef1BeAed"]}
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid address from_address: 0x5aAeb6053F3E94C9b9A0\u00009f33669435E7Ef1BeAed"},"id":1}
--- error_code: 200
--- no_error_log
[error]



=== TEST 18: a SQL-shaped address never reaches the database
--- request
POST /api
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x' OR 1=1 --"]}
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid address from_address: 0x' OR 1=1 --"},"id":1}
--- error_code: 200
--- no_error_log
[error]



=== TEST 19: named params without the address
--- request
POST /api
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":{"block_tag":"latest"}}
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid address from_address: None"},"id":1}
--- error_code: 200
--- no_error_log
[error]



=== TEST 20: an unknown named param
--- request
POST /api
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":{"account_address":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","x":1}}
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params"},"id":1}
--- error_code: 200
--- no_error_log
[error]



=== TEST 21: three params
--- request
POST /api
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","latest",1]}
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params"},"id":1}
--- error_code: 200
--- no_error_log
[error]



=== TEST 22: params that are a string
--- request
POST /api
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"}
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params"},"id":1}
--- error_code: 200
--- no_error_log
[error]



=== TEST 23: a block that is a number
--- request
POST /api
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",5]}
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params: the block must be a string or an object"},"id":1}
--- error_code: 200
--- no_error_log
[error]



=== TEST 24: a mixed-case address with a wrong checksum is accepted by default
--- request
POST /api
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"]}
--- response_body chomp
{"jsonrpc":"2.0","result":"0x0","id":1}
--- error_code: 200
--- no_error_log
[error]



=== TEST 25: strict: a wrong checksum is refused
--- request
POST /strict
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"]}
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid address from_address: 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"},"id":1}
--- error_code: 200
--- no_error_log
[error]



=== TEST 26: strict: a right checksum is accepted
--- request
POST /strict
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"]}
--- response_body chomp
{"jsonrpc":"2.0","result":"0xd3c21bcecceda1000000","id":1}
--- error_code: 200
--- no_error_log
[error]



=== TEST 27: strict: all lowercase is accepted
--- request
POST /strict
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xd1220a0cf47c7b9be7a2e6ba89f429762e7b9adb"]}
--- response_body chomp
{"jsonrpc":"2.0","result":"0xd3c21bcecceda1000000","id":1}
--- error_code: 200
--- no_error_log
[error]



=== TEST 28: strict: all uppercase is accepted
--- request
POST /strict
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xD1220A0CF47C7B9BE7A2E6BA89F429762E7B9ADB"]}
--- response_body chomp
{"jsonrpc":"2.0","result":"0xd3c21bcecceda1000000","id":1}
--- error_code: 200
--- no_error_log
[error]
