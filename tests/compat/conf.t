# File-level settings end up in the generated nginx.conf:
# master_on, workers, worker_connections, env_to_nginx, config_preamble,
# no_root_location and TEST_NGINX_EVENT_TYPE.
BEGIN { $ENV{TEST_NGINX_EVENT_TYPE} = 'epoll' }
use Test::Nginx::Socket;

master_on();
workers(2);
worker_connections(128);
env_to_nginx('COMPAT_TEST_ENV=some-value');
config_preamble('        set $from_preamble "pre";');
no_root_location();

my @want = (
    qr/^worker_processes\s+2;$/m,
    qr/^master_process on;$/m,
    qr/^daemon on;$/m,
    qr/^\s*worker_connections\s+128;$/m,
    qr/^\s*use epoll;$/m,
    qr/^env COMPAT_TEST_ENV=some-value;$/m,
    qr/^error_log \S+\/logs\/error\.log debug;$/m,
);

add_response_body_check(sub {
    my ($block, $body) = @_;
    open my $fh, '<', "$ENV{TEST_NGINX_SERVER_ROOT}/conf/nginx.conf" or die $!;
    my $conf = do { local $/; <$fh> };
    like($conf, $_, $block->name . " - nginx.conf matches $_") for @want;
    unlike($conf, qr/location \/ \{/, $block->name . " - no root location");
});

plan tests => repeat_each() * blocks() * (2 + @want + 1) + 1;

no_shuffle();
run_tests();

# the generated conf made nginx start two worker processes under a master
my $pid = do { open my $fh, '<', "$ENV{TEST_NGINX_SERVER_ROOT}/logs/nginx.pid"; <$fh> };
chomp $pid;
my @workers;
for my $dir (glob '/proc/[0-9]*') {
    open my $fh, '<', "$dir/stat" or next;
    my $stat = <$fh> // '';
    push @workers, $dir if $stat =~ /^\d+ \(.*\) [^Z] $pid /;
}
is(scalar @workers, 2, "nginx master $pid has 2 workers");

__DATA__

=== TEST 1: the preamble and a request under master + 2 workers
--- config
    location = /t {
        return 200 "$from_preamble\n";
    }
--- request
GET /t
--- response_body
pre



=== TEST 2: no root location: / falls back to nginx's own default root (html/)
--- config
    location = /t {
        return 200 "x\n";
    }
--- request
GET /
--- response_body_like: It works!
