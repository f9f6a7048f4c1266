# Runs small Test::Nginx test files that are meant to fail (or bail out)
# and checks what the bundled runner reports, that its test counts agree
# with the plan, and that no nginx is left running afterwards.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use File::Spec;
use Cwd qw(abs_path);
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

my $compat = abs_path('t/compat');
-d $compat or BAIL_OUT("run me from the repository root");

my $tmp = tempdir(CLEANUP => 1);
my $port = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT} || 1984;
my $n = 0;

sub write_file {
    my ($path, $text) = @_;
    open my $fh, '>', $path or die "$path: $!";
    print $fh $text;
    close $fh;
}

# live (non-zombie) processes whose command line mentions $needle
sub live_procs {
    my $needle = shift;
    my @found;
    for my $dir (glob '/proc/[0-9]*') {
        open my $st, '<', "$dir/stat" or next;
        my $stat = <$st> // '';
        next if $stat =~ /^\d+ \(.*\) Z /;
        open my $cl, '<', "$dir/cmdline" or next;
        my $cmd = do { local $/; <$cl> } // '';
        $cmd =~ s/\0/ /g;
        push @found, "$dir $cmd" if index($cmd, $needle) >= 0;
    }
    return @found;
}

sub port_open {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 1);
    return $s ? 1 : 0;
}

# Writes a test file, runs it, returns its output and facts about its TAP.
sub run_child {
    my ($body, %env) = @_;
    $n++;
    my $file = "$tmp/child$n.t";
    my $root = "$tmp/servroot$n";
    write_file($file, $body);
    local %ENV = (%ENV, TEST_NGINX_SERVROOT => $root, %env);
    my $out = `$^X -I$compat $file 2>&1`;
    my $status = $? >> 8;
    my %r = (out => $out, status => $status, root => $root);
    ($r{plan}) = $out =~ /^1\.\.(\d+)/m;
    $r{ran} = () = $out =~ /^(?:not )?ok \d+/mg;
    $r{failed} = () = $out =~ /^not ok \d+/mg;
    $r{bailed} = $out =~ /^Bail out!/m ? 1 : 0;
    $r{left} = [live_procs($root)];
    return \%r;
}

sub no_leftovers {
    my ($r, $what) = @_;
    ok(!@{ $r->{left} }, "$what: no nginx left running")
        or diag join "\n", @{ $r->{left} };
}

my $header = <<'EOF';
use Test::Nginx::Socket;
plan tests => repeat_each() * (blocks() * 2);
no_shuffle();
run_tests();
__DATA__
EOF

# --- a wrong multi-line body: one failure, with a diff
{
    my $r = run_child($header . <<'EOF');
=== TEST 1: body mismatch
--- config
    location = /t { return 200 "line one\nline two\nline three\n"; }
--- request
GET /t
--- response_body
line one
line 2
line three
EOF
    is($r->{plan}, 2, 'body mismatch: plan');
    is($r->{ran}, 2, 'body mismatch: ran as planned');
    is($r->{failed}, 1, 'body mismatch: one failure');
    like($r->{out}, qr/^#\s+-line 2\n#\s+\+line two$/m, 'body mismatch: unified diff shown')
        or diag $r->{out};
    no_leftovers($r, 'body mismatch');
}

# --- client timeout without --- abort fails, and says so
{
    my $r = run_child($header . <<'EOF');
=== TEST 1: slow backend
--- config
    location = /slow {
        proxy_read_timeout 5s;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/never;
    }
    location = /never {
        limit_rate 1;
        return 200 "this takes a while to arrive\n";
    }
--- request
GET /never
--- timeout: 0.3
--- response_body
x
EOF
    like($r->{out}, qr/^not ok \d+ - ERROR: client socket timed out - \S+ TEST 1: slow backend/m,
         'timeout: reported as a failure') or diag $r->{out};
    # like the real module, the extra failure is outside the plan
    cmp_ok($r->{ran}, '>', $r->{plan}, 'timeout: one test more than planned');
    no_leftovers($r, 'timeout');
}

# --- wrong status, wrong header, present-but-forbidden header, no_error_log hit
{
    my $r = run_child(<<'EOF');
use Test::Nginx::Socket;
plan tests => repeat_each() * (blocks() * 5);
run_tests();
__DATA__
=== TEST 1: several failures
--- config
    location = /t { add_header X-A a; add_header X-B b; return 201 "x\n"; }
--- request
GET /t?trigger-marker
--- response_headers
X-A: not-a
!X-B
--- response_body
x
--- no_error_log
http args: "trigger-marker"
EOF
    is($r->{ran}, 5, 'failures: ran as planned') or diag $r->{out};
    is($r->{failed}, 4, 'failures: status, two headers and the log hit fail');
    like($r->{out}, qr/should not match any line in error\.log but matches line/,
         'failures: no_error_log message');
    no_leftovers($r, 'failures');
}

# --- must_die, but nginx starts: failure, and the nginx is stopped
{
    my $r = run_child(<<'EOF');
use Test::Nginx::Socket;
plan tests => 1;
run_tests();
__DATA__
=== TEST 1: does not die
--- config
    location = /t { return 200; }
--- must_die
EOF
    is($r->{failed}, 1, 'must_die violated: one failure') or diag $r->{out};
    like($r->{out}, qr/nginx must die but it does not/, 'must_die violated: warning');
    no_leftovers($r, 'must_die violated');
    ok(!port_open(), 'must_die violated: port is free again');
}

# --- bail-outs: broken config, missing env var, unsupported section
for my $case (
    ['broken config', "--- config\n    location = /t { no_such_directive; }\n--- request\nGET /t\n",
     qr/Cannot start nginx using command .*unknown directive "no_such_directive"/],
    ['missing env', "--- config\n    location = /t { return 200 \$TEST_NGINX_NO_SUCH_VAR_XYZ; }\n--- request\nGET /t\n",
     qr/No environment TEST_NGINX_NO_SUCH_VAR_XYZ defined/],
    ['unsupported section', "--- config\n--- http2\n--- request\nGET /\n",
     qr/section --- http2 is not supported/],
)
{
    my ($what, $block, $re) = @$case;
    my $r = run_child($header . "=== TEST 1: $what\n$block");
    ok($r->{bailed}, "$what: bails out");
    like($r->{out}, $re, "$what: says why") or diag $r->{out};
    no_leftovers($r, $what);
}

# --- SKIP, LAST and ONLY are honoured by blocks() and by the run
{
    my $blocks = join '', map { <<"EOF" } 1 .. 4;
=== TEST $_: block $_
--- config
    location = /t { return 200 "$_\\n"; }
--- request
GET /t
--- response_body
$_
EOF
    (my $skip = $blocks) =~ s/(=== TEST 2: block 2\n)/$1--- SKIP\n/;
    my $r = run_child($header . $skip);
    is_deeply([$r->{plan}, $r->{ran}, $r->{failed}], [6, 6, 0], 'SKIP: 3 blocks run');

    (my $last = $blocks) =~ s/(=== TEST 2: block 2\n)/$1--- LAST\n/;
    $r = run_child($header . $last);
    is_deeply([$r->{plan}, $r->{ran}, $r->{failed}], [4, 4, 0], 'LAST: 2 blocks run');

    (my $only = $blocks) =~ s/(=== TEST 3: block 3\n)/$1--- ONLY\n/;
    $r = run_child($header . $only);
    is_deeply([$r->{plan}, $r->{ran}, $r->{failed}], [2, 2, 0], 'ONLY: 1 block runs');
    like($r->{out}, qr/TEST 3: block 3/, 'ONLY: the right block');
    no_leftovers($r, 'ONLY');
}

# --- TEST_NGINX_NO_CLEAN leaves nginx running (and we stop it ourselves)
{
    my $r = run_child($header . <<'EOF', TEST_NGINX_NO_CLEAN => 1);
=== TEST 1: left running on purpose
--- config
    location = /t { return 200 "x\n"; }
--- request
GET /t
--- response_body
x
EOF
    is($r->{failed}, 0, 'NO_CLEAN: passes') or diag $r->{out};
    ok(port_open(), 'NO_CLEAN: nginx still answers');
    my $pidfile = "$r->{root}/logs/nginx.pid";
    open my $fh, '<', $pidfile or die "$pidfile: $!";
    chomp(my $pid = <$fh>);
    kill 'QUIT', $pid;
    my $deadline = time + 5;
    sleep 0.02 while port_open() && time < $deadline;
    ok(!port_open(), 'NO_CLEAN: stopped by hand');
}

# --- a run interrupted by SIGTERM in the middle of a request stops nginx
{
    $n++;
    my $file = "$tmp/child$n.t";
    my $root = "$tmp/servroot$n";
    write_file($file, $header . <<'EOF');
=== TEST 1: hangs until killed
--- config
    location = /never {
        limit_rate 1;
        return 200 "this takes a long while to arrive, more than we wait\n";
    }
--- request
GET /never
--- timeout: 30
--- response_body
x
EOF
    local $ENV{TEST_NGINX_SERVROOT} = $root;
    my $pid = open my $out, '-|', "exec '$^X' '-I$compat' '$file' 2>&1"
        or die "fork: $!";
    my $deadline = time + 10;
    sleep 0.05 until (-s "$root/logs/nginx.pid" && port_open()) || time > $deadline;
    sleep 0.2;
    ok(scalar(live_procs($root)), 'interrupted: nginx was running');
    kill 'TERM', $pid;
    my $rest = do { local $/; <$out> };
    close $out;
    like($rest, qr/caught SIGTERM, stopping nginx/, 'interrupted: says what it does');
    my @left = live_procs($root);
    ok(!@left, 'interrupted: no nginx left running') or diag join "\n", @left;
    ok(!port_open(), 'interrupted: port is free again');
}

done_testing();
