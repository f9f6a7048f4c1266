# A pool of a primary and a real streaming standby (made with
# pg_basebackup -R by the test command): reads spread by weight, a standby
# that lags stops taking reads and takes them again once it caught up, and
# a server stopped in the middle of a lookup costs the client nothing: the
# lookup is answered by the other one.  $balance_server, sent back as
# X-Server, names the server that answered each request.
#
# Needs TEST_NGINX_PG_STANDBY_PORT and the ctl commands of both clusters
# (TEST_NGINX_PG_CTL, TEST_NGINX_PG_STANDBY_CTL); the test command sets
# them.

use Test::Nginx::Socket;

$ENV{TEST_NGINX_PG_HOST} ||= '127.0.0.1';
$ENV{TEST_NGINX_PG_PORT} ||= 5432;
$ENV{TEST_NGINX_PG_DBNAME} ||= 'balance_test';
$ENV{TEST_NGINX_PG_USER} ||= 'balance';

our ($P, $S);

if (!$ENV{TEST_NGINX_PG_STANDBY_PORT} || !$ENV{TEST_NGINX_PG_STANDBY_CTL}
    || !$ENV{TEST_NGINX_PG_CTL})
{
    plan skip_all => "no standby: TEST_NGINX_PG_STANDBY_PORT is not set";

} else {
    # one run: servers are stopped and replay paused on the way
    repeat_each(1);
    plan tests => 217;

    $P = "127.0.0.1:$ENV{TEST_NGINX_PG_PORT}/$ENV{TEST_NGINX_PG_DBNAME}";
    $S = "127.0.0.1:$ENV{TEST_NGINX_PG_STANDBY_PORT}/$ENV{TEST_NGINX_PG_DBNAME}";
}

sub sql {
    my ($port, $sql) = @_;
    my $out = `psql -h 127.0.0.1 -p $port -U postgres -d $ENV{TEST_NGINX_PG_DBNAME} -X -q -tA -c "$sql" 2>&1`;
    die "psql on port $port: $sql: $out" if $?;
    chomp $out;
    return $out;
}

# both clusters up, the standby streaming and caught up
sub settled {
    for (1 .. 300) {
        my $p = `psql -h 127.0.0.1 -p $ENV{TEST_NGINX_PG_PORT} -U postgres -d postgres -X -tA -c "SELECT pg_current_wal_lsn()" 2>/dev/null`;
        my $s = `psql -h 127.0.0.1 -p $ENV{TEST_NGINX_PG_STANDBY_PORT} -U postgres -d postgres -X -tA -c "SELECT status FROM pg_stat_wal_receiver" 2>/dev/null`;
        chomp($p, $s);

        if ($p ne '' && $s eq 'streaming') {
            my $r = sql($ENV{TEST_NGINX_PG_STANDBY_PORT},
                        "SELECT pg_last_wal_replay_lsn() >= '$p'::pg_lsn");
            return if $r eq 't';
        }

        select(undef, undef, undef, 0.1);
    }

    die "the standby is not streaming and caught up after 30 s\n";
}

# a write on the primary that changes no balance: its WAL position moves
sub write_primary {
    sql($ENV{TEST_NGINX_PG_PORT},
        "UPDATE current_state SET balance = balance WHERE id = '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359'");
}

# replay paused on the standby (once paused for real), then a write on the
# primary that it does not replay
sub pause_and_write {
    my $sp = $ENV{TEST_NGINX_PG_STANDBY_PORT};

    sql($sp, "SELECT pg_wal_replay_pause()");

    for (1 .. 100) {
        last if sql($sp, "SELECT pg_get_wal_replay_pause_state()") eq 'paused';
        select(undef, undef, undef, 0.05);
    }

    write_primary();
}

# the primary's position moves past the standby's, which is over max_lag
# (1 s) behind from about 1 s on
sub lag {
    pause_and_write();
    select(undef, undef, undef, 1.6);
}

# the standby stops streaming (primary_conninfo emptied): it keeps what
# it has, replayed in full, and receives nothing more
sub cut {
    my $sp = $ENV{TEST_NGINX_PG_STANDBY_PORT};

    sql($sp, "ALTER SYSTEM SET primary_conninfo = ''");
    sql($sp, "SELECT pg_reload_conf()");

    for (1 .. 100) {
        last if sql($sp, "SELECT count(*) FROM pg_stat_wal_receiver") eq '0';
        select(undef, undef, undef, 0.05);
    }
}

sub uncut_command {
    my $sp = $ENV{TEST_NGINX_PG_STANDBY_PORT};
    my $psql = "psql -h 127.0.0.1 -p $sp -U postgres -d postgres -X -q";
    return "$psql -c \"ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port=$ENV{TEST_NGINX_PG_PORT} user=postgres'\" && $psql -c 'SELECT pg_reload_conf()' >/dev/null";
}

# freezes (SIGSTOP) the standby's backend running a lookup on slow_state
# once one is, and thaws it $thaw seconds later: a server that stops
# answering, without closing anything
sub freeze_standby_lookup {
    my $thaw = shift;

    my $pid = fork();
    die "fork: $!" unless defined $pid;
    return $pid if $pid;

    my $sp = $ENV{TEST_NGINX_PG_STANDBY_PORT};
    my $backend;

    for (1 .. 100) {
        $backend = `psql -h 127.0.0.1 -p $sp -U postgres -d postgres -X -tA -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'nginx balance' AND state = 'active' AND query LIKE '%slow_state%'" 2>/dev/null`;
        chomp $backend;
        last if $backend =~ /^\d+$/;
        select(undef, undef, undef, 0.05);
    }

    exit 1 unless $backend =~ /^\d+$/;

    kill 'STOP', $backend;
    select(undef, undef, undef, $thaw);
    kill 'CONT', $backend;
    exit 0;
}

# in a child: replay paused and a write, then replay resumed $resume
# seconds later
sub lag_then_resume {
    my ($delay, $resume) = @_;

    my $pid = fork();
    die "fork: $!" unless defined $pid;
    return $pid if $pid;

    select(undef, undef, undef, $delay);
    pause_and_write();
    select(undef, undef, undef, $resume);
    sql($ENV{TEST_NGINX_PG_STANDBY_PORT}, "SELECT pg_wal_replay_resume()");
    exit 0;
}

# runs a command after a delay, in a child, while requests go on
sub later {
    my ($delay, $cmd) = @_;

    my $pid = fork();
    die "fork: $!" unless defined $pid;

    if ($pid == 0) {
        select(undef, undef, undef, $delay);
        exec("sh", "-c", $cmd) or exit 1;
    }

    return $pid;
}

sub post {
    my $id = shift;
    return "POST /api\n{\"jsonrpc\":\"2.0\",\"id\":$id,\"method\":\"eth_getBalance\",\"params\":[\"0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359\"]}";
}

sub answer {
    my $id = shift;
    return "{\"jsonrpc\":\"2.0\",\"result\":\"0x1\",\"id\":$id}";
}

# every line the page must hold
sub page {
    my $re = join "", map { "(?=.*^\Q$_\E\$)" } @_;
    return qr/(?ms)\A$re/;
}

sub series {
    my ($name, $server, $value) = @_;
    return "$name\{pool=\"rep\",server=\"$server\"} $value";
}

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("config", <<'CONF') unless defined $block->config;
    location = /api {
        balance_pass rep;
        add_header X-Server $balance_server always;
    }

    location = /status {
        balance_status;
    }

    # about 4 s to send (headers included): time for something to happen
    # meanwhile
    location = /pause {
        limit_rate 50;
        return 200 "....................................................................................................";
    }
CONF
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: equal weights: reads alternate between the primary and the standby
--- http_config
    balance_pool rep {
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER";
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_STANDBY_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER" role=standby;
        connections 2;
        max_lag 5s check=1s;
    }
--- init
::settled();
select(undef, undef, undef, 0.5);
--- request eval
[map { ::post($_) } 1 .. 6]
--- response_body eval
[map { ::answer($_) } 1 .. 6]
--- response_headers eval
["X-Server: $::P", "X-Server: $::S", "X-Server: $::P", "X-Server: $::S", "X-Server: $::P", "X-Server: $::S"]
--- no_error_log
[error]



=== TEST 2: weights 3 and 1: three reads in four go to the first server
--- http_config
    balance_pool rep {
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER" weight=3;
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_STANDBY_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER" role=standby weight=1;
        connections 2;
        max_lag 5s check=1s;
    }
--- init
select(undef, undef, undef, 0.5);
--- request eval
[map { ::post($_) } 1 .. 8]
--- response_body eval
[map { ::answer($_) } 1 .. 8]
--- response_headers eval
["X-Server: $::P", "X-Server: $::P", "X-Server: $::S", "X-Server: $::P", "X-Server: $::P", "X-Server: $::P", "X-Server: $::S", "X-Server: $::P"]
--- no_error_log
[error]



=== TEST 3: a standby over max_lag gets no reads; after replay resumes it gets them again
--- http_config
    balance_pool rep {
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER";
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_STANDBY_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER" role=standby;
        connections 2;
        max_lag 1s check=200ms;
    }
--- init
select(undef, undef, undef, 0.5);
::lag();
# replay resumes while /pause is being sent
::later(1, "psql -h 127.0.0.1 -p $ENV{TEST_NGINX_PG_STANDBY_PORT} -U postgres -d postgres -X -q -c 'SELECT pg_wal_replay_resume()' >/dev/null");
--- request eval
[(map { ::post($_) } 1 .. 4), "GET /status", "GET /pause", (map { ::post($_) } 5 .. 8), "GET /status"]
--- response_body_like eval
[(map { "^\Q" . ::answer($_) . "\E\$" } 1 .. 4),
 ::page(::series("balance_server_usable", $::S, 0),
        ::series("balance_server_usable", $::P, 1),
        ::series("balance_server_in_recovery", $::S, 1),
        ::series("balance_server_stale_total", $::S, 1)),
 "^\\.{100}\$",
 (map { "^\Q" . ::answer($_) . "\E\$" } 5 .. 8),
 ::page(::series("balance_server_usable", $::S, 1),
        ::series("balance_server_lag_seconds", $::S, "0.000"),
        ::series("balance_server_stale_total", $::S, 1))]
--- response_headers eval
["X-Server: $::P", "X-Server: $::P", "X-Server: $::P", "X-Server: $::P", "!X-Server", "!X-Server", "X-Server: $::P", "X-Server: $::S", "X-Server: $::P", "X-Server: $::S", "!X-Server"]
--- no_error_log
[error]



=== TEST 4: a standby cut off from its primary is stale once the primary moves on, though it replayed all it received
--- http_config
    balance_pool rep {
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER";
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_STANDBY_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER" role=standby;
        connections 2;
        max_lag 1s check=200ms;
    }
--- init
::settled();
select(undef, undef, undef, 0.3);
::cut();
::write_primary();
select(undef, undef, undef, 1.6);
# it streams again while /pause is being sent
::later(0.5, ::uncut_command());
--- request eval
[::post(1), ::post(2), "GET /status", "GET /pause", ::post(3), ::post(4)]
--- response_body_like eval
["^\Q" . ::answer(1) . "\E\$", "^\Q" . ::answer(2) . "\E\$",
 qr/(?ms)^\Qbalance_server_usable{pool="rep",server="$::S"} 0\E\n.*^\Qbalance_server_lag_seconds{pool="rep",server="$::S"} \E[1-9]\.\d{3}\n/,
 "^\\.{100}\$",
 "^\Q" . ::answer(3) . "\E\$", "^\Q" . ::answer(4) . "\E\$"]
--- response_headers eval
["X-Server: $::P", "X-Server: $::P", "!X-Server", "!X-Server", "X-Server: $::P", "X-Server: $::S"]
--- no_error_log
[error]
--- timeout: 6



=== TEST 5: a pool whose only server is a lagging standby fails at once, then serves once it caught up
--- http_config
    balance_pool rep {
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_STANDBY_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER" role=standby;
        connections 1;
        max_lag 1s check=200ms;
    }
--- init
::settled();
select(undef, undef, undef, 0.3);
::lag();
::later(0.5, "psql -h 127.0.0.1 -p $ENV{TEST_NGINX_PG_STANDBY_PORT} -U postgres -d postgres -X -q -c 'SELECT pg_wal_replay_resume()' >/dev/null");
--- request eval
[::post(1), "GET /pause", ::post(2)]
--- response_body eval
['{"jsonrpc":"2.0","error":{"code":-32603,"message":"Internal error"},"id":1}', "." x 100, ::answer(2)]
--- error_code eval
[503, 200, 200]
--- response_headers eval
["!X-Server", "!X-Server", "X-Server: $::S"]
--- no_error_log
[alert]



=== TEST 6: a server not declared a standby is found in recovery: held to max_lag
--- http_config
    balance_pool rep {
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_STANDBY_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER";
        connections 1;
    }
--- init
::settled();
select(undef, undef, undef, 0.3);
--- request eval
::post(1)
--- response_body eval
::answer(1)
--- response_headers eval
"X-Server: $::S"
--- error_log eval
qr/\[notice\] .*balance: server \S+ of pool "rep" is in recovery: its reads are held to max_lag/
--- no_error_log
[error]



=== TEST 7: a backup primary takes reads only while the standby is out of use
--- http_config
    balance_pool rep {
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER" backup;
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_STANDBY_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER" role=standby;
        connections 2;
        max_lag 1s check=200ms;
    }
--- init
::settled();
select(undef, undef, undef, 0.5);
# stale from about 1.5 s on, caught up again at about 5.5 s; each /pause
# takes about 4 s
::lag_then_resume(0.3, 5);
--- request eval
[::post(1), ::post(2), "GET /pause", ::post(3), ::post(4),
 "GET /pause", ::post(5), ::post(6)]
--- response_body eval
[::answer(1), ::answer(2), "." x 100, ::answer(3), ::answer(4),
 "." x 100, ::answer(5), ::answer(6)]
--- response_headers eval
["X-Server: $::S", "X-Server: $::S", "!X-Server",
 "X-Server: $::P", "X-Server: $::P", "!X-Server",
 "X-Server: $::S", "X-Server: $::S"]
--- no_error_log
[error]
--- timeout: 12



=== TEST 8: the standby stops in the middle of a lookup: the primary answers it
--- http_config
    balance_pool rep {
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER";
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_STANDBY_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER" role=standby weight=1000;
        connections 2;
        max_lag 5s check=1s;
        queue 10 timeout=5s;
        table slow_state;
    }
--- init
::settled();
select(undef, undef, undef, 0.5);
::later(0.4, "$ENV{TEST_NGINX_PG_STANDBY_CTL} stop");
--- request eval
[::post(1), ::post(2), "GET /status"]
--- response_body_like eval
["^\Q" . ::answer(1) . "\E\$", "^\Q" . ::answer(2) . "\E\$",
 ::page(::series("balance_server_usable", $::S, 0),
        ::series("balance_server_usable", $::P, 1),
        ::series("balance_db_statements_total", $::S, 1))]
--- response_headers eval
["X-Server: $::P", "X-Server: $::P", "!X-Server"]
--- no_error_log
[alert]
--- timeout: 8



=== TEST 9: the standby stops answering in the middle of a lookup: after query_timeout the primary answers it
--- http_config
    balance_pool rep {
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER";
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_STANDBY_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER" role=standby weight=1000;
        connections 2;
        max_lag 5s check=1s;
        query_timeout 1500ms;
        queue 10 timeout=5s;
        table slow_state;
    }
--- init
system("$ENV{TEST_NGINX_PG_STANDBY_CTL} start") == 0 or die "cannot start the standby\n";
::settled();
select(undef, undef, undef, 0.5);
::freeze_standby_lookup(3);
--- request eval
[::post(1), "GET /status"]
--- response_body_like eval
["^\Q" . ::answer(1) . "\E\$",
 ::page("balance_db_errors_total{pool=\"rep\",server=\"$::S\",kind=\"timeout\"} 1",
        ::series("balance_db_statements_total", $::S, 1),
        ::series("balance_db_statements_total", $::P, 1))]
--- response_headers eval
["X-Server: $::P", "!X-Server"]
--- no_error_log
[alert]
--- timeout: 8



=== TEST 10: the primary stops in the middle of a lookup: the standby answers it, and goes on
--- http_config
    balance_pool rep {
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER" weight=1000;
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_STANDBY_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER" role=standby;
        connections 2;
        max_lag 5s check=1s;
        queue 10 timeout=5s;
        table slow_state;
    }
--- init
::settled();
select(undef, undef, undef, 0.5);
::later(0.4, "$ENV{TEST_NGINX_PG_CTL} stop");
--- request eval
[::post(1), ::post(2), ::post(3), "GET /status"]
--- response_body_like eval
["^\Q" . ::answer(1) . "\E\$", "^\Q" . ::answer(2) . "\E\$",
 "^\Q" . ::answer(3) . "\E\$",
 ::page(::series("balance_server_usable", $::P, 0),
        ::series("balance_server_usable", $::S, 1),
        ::series("balance_server_lag_seconds", $::S, "0.000"),
        ::series("balance_db_statements_total", $::P, 1))]
--- response_headers eval
["X-Server: $::S", "X-Server: $::S", "X-Server: $::S", "!X-Server"]
--- no_error_log
[alert]
--- timeout: 10



=== TEST 11: the primary back: both serve again
--- http_config
    balance_pool rep {
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER";
        server "host=$TEST_NGINX_PG_HOST port=$TEST_NGINX_PG_STANDBY_PORT dbname=$TEST_NGINX_PG_DBNAME user=$TEST_NGINX_PG_USER" role=standby;
        connections 2;
        max_lag 5s check=1s;
        backoff 100ms max=200ms;
    }
--- init
system("$ENV{TEST_NGINX_PG_CTL} start") == 0 or die "cannot start the primary\n";
::settled();
select(undef, undef, undef, 1);
--- request eval
[map { ::post($_) } 1 .. 2]
--- response_body eval
[map { ::answer($_) } 1 .. 2]
--- response_headers eval
["X-Server: $::P", "X-Server: $::S"]
--- no_error_log
[alert]
