# balance_deny_methods: restricted methods are refused with 403 and -32001
# before anything is forwarded; Studio's list of administrative methods.

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
        connections 1;
    }
_EOC_

# the backend answers "forwarded": a test that sees it knows the request
# went through
our $config = <<'_EOC_';
    location = /api {
        balance_pass test;
        balance_fallback @backend;

        balance_deny_methods sim_clearDbTables sim_resetDefaultsLlmProviders
                             sim_addProvider sim_updateProvider
                             sim_deleteProvider sim_createValidator;
        balance_deny_methods sim_createRandomValidator
                             sim_createRandomValidators sim_updateValidator
                             sim_deleteValidator sim_deleteAllValidators
                             sim_setFinalityWindowTime;
    }

    location @backend {
        return 200 "forwarded";
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

=== TEST 1: a restricted method: 403, -32001, its id
--- request
POST /api
{"jsonrpc":"2.0","id":7,"method":"sim_clearDbTables","params":[]}
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32001,"message":"Method not allowed: this method is restricted"},"id":7}
--- error_code: 403
--- error_log
client called restricted method "sim_clearDbTables"



=== TEST 2: the last method of the list, from the second directive
--- request
POST /api
{"jsonrpc":"2.0","id":"x","method":"sim_setFinalityWindowTime","params":[5]}
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32001,"message":"Method not allowed: this method is restricted"},"id":"x"}
--- error_code: 403
--- no_error_log
[error]



=== TEST 3: a batch naming one is refused whole, with id null
--- request
POST /api
[{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"]},{"jsonrpc":"2.0","id":2,"method":"sim_deleteAllValidators"}]
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32001,"message":"Method not allowed: this method is restricted"},"id":null}
--- error_code: 403
--- no_error_log
[error]



=== TEST 4: a notification naming one is refused too
--- request
POST /api
{"jsonrpc":"2.0","method":"sim_addProvider","params":[{}]}
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32001,"message":"Method not allowed: this method is restricted"},"id":null}
--- error_code: 403
--- no_error_log
[error]



=== TEST 5: a name spelled with JSON escapes is the same name
--- request
POST /api
{"jsonrpc":"2.0","id":1,"method":"sim_clear\u0044bTables"}
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32001,"message":"Method not allowed: this method is restricted"},"id":1}
--- error_code: 403
--- no_error_log
[error]



=== TEST 6: a body that does not parse is not forwarded: 400, -32700
--- request
POST /api
{"jsonrpc":"2.0","id":1,"method":"sim_clearDbTables"
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}
--- error_code: 400
--- no_error_log
[error]



=== TEST 7: other methods still go to the backend
--- request
POST /api
{"jsonrpc":"2.0","id":1,"method":"sim_getTransactionByHash","params":["0x1"]}
--- response_body chomp
forwarded
--- error_code: 200
--- no_error_log
[error]



=== TEST 8: eth_getBalance is still answered here
--- request
POST /api
{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"]}
--- response_body chomp
{"jsonrpc":"2.0","result":"0x1","id":1}
--- error_code: 200
--- no_error_log
[error]



=== TEST 9: an entry that is not a valid request still cannot smuggle one
--- request
POST /api
[{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"},{"id":2,"method":"sim_clearDbTables"}]
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32001,"message":"Method not allowed: this method is restricted"},"id":null}
--- error_code: 403
--- no_error_log
[error]



=== TEST 10: the list set at http level applies to every location
--- http_config
    balance_pool test {
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER";
        connections 1;
    }

    balance_deny_methods sim_clearDbTables;
--- config
    location = /api {
        balance_pass test;
    }
--- request
POST /api
[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"sim_clearDbTables"}]
--- response_body chomp
{"jsonrpc":"2.0","error":{"code":-32001,"message":"Method not allowed: this method is restricted"},"id":null}
--- error_code: 403
--- no_error_log
[alert]
