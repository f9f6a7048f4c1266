# TEST_NGINX_USE_HUP / use_hup(): nginx starts once (master on) and each
# following block is loaded with a HUP reload instead of a restart.
use Test::Nginx::Socket;

use_hup();

my %masters;
add_response_body_check(sub {
    open my $fh, '<', "$ENV{TEST_NGINX_SERVER_ROOT}/logs/nginx.pid" or return;
    my $pid = <$fh>;
    chomp $pid;
    $masters{$pid}++;
});

plan tests => repeat_each() * blocks() * 3 + 1;

no_shuffle();
run_tests();

is(scalar(keys %masters), 1, "one nginx master served every block")
    or diag "masters: @{[ keys %masters ]}";

__DATA__

=== TEST 1: first config
--- config
    location = /v {
        return 200 "one\n";
    }
--- request
GET /v
--- response_body
one
--- no_error_log
[error]



=== TEST 2: second config, after a reload
--- config
    location = /v {
        return 200 "two\n";
    }
--- user_files
>>> f.txt
file
--- request
GET /v
--- response_body
two
--- no_error_log
[error]



=== TEST 3: third config: only this block's log lines are checked
--- config
    location = /v {
        return 200 "three\n";
    }
--- request
GET /v?third
--- response_body
three
--- error_log
"/v?third"
