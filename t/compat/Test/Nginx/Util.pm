package Test::Nginx::Util;

# Engine of the bundled Test::Nginx::Socket stand-in (see the POD in
# Socket.pm).  Only loaded when the real Test::Nginx is not installed.

use strict;
use warnings;

our $VERSION = '0.29_compat';

use base 'Exporter';

use Config ();
use Encode ();
use Errno qw(EAGAIN EWOULDBLOCK EINTR);
use File::Path qw(make_path remove_tree);
use File::Find ();
use File::Spec ();
use File::Temp ();
use HTTP::Response ();
use IO::Select ();
use IO::Socket::INET ();
use IO::Socket::UNIX ();
use List::Util qw(shuffle min);
use POSIX qw(WNOHANG SIGKILL SIGTERM SIGQUIT SIGHUP SIGUSR1);
use Scalar::Util qw(looks_like_number);
use Socket qw(SOCK_STREAM);
use Test::LongString ();
use Test::More ();
use Time::HiRes qw(sleep time);
use Carp qw(croak);

our @EXPORT = qw(
    env_to_nginx is_str run_tests run_test repeat_each config_preamble
    worker_connections master_process_enabled no_long_string workers
    master_on master_off log_level no_shuffle no_root_location use_hup
    server_name server_addr server_root html_dir server_port
    server_port_for_client timeout no_nginx_manager check_accum_error_log
    add_block_preprocessor bail_out add_cleanup_handler
    add_response_body_check set_http_config_filter sleep_time verbose
    error_log_data access_log_data parse_headers trim show_all_chars
    get_pid_from_pidfile
    $ServerPort $ServerPortForClient $ServerAddr $ServerName $ServRoot
    $PidFile $ConfFile $NginxVersion $RepeatEach $NoLongString
);

# ---------------------------------------------------------------------------
# settings (environment first, then the functions the test file calls)

sub gen_rand_port ($$);
sub value_contains ($$);
sub bail_out (@);

sub env_flag { my $v = $ENV{ $_[0] }; defined $v && $v ne '' && $v ne '0' }

our $Verbose        = $ENV{TEST_NGINX_VERBOSE};
our $UseHup         = $ENV{TEST_NGINX_USE_HUP};
our $NoShuffle      = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
our $Timeout        = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $TestNginxSleep = $ENV{TEST_NGINX_SLEEP} || 0.015;
our $LoadModules    = $ENV{TEST_NGINX_LOAD_MODULES};
our $EventType      = $ENV{TEST_NGINX_EVENT_TYPE};
our $PostponeOutput = $ENV{TEST_NGINX_POSTPONE_OUTPUT};
our $CheckAccumErrLog = $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG};
our $NoNginxManager = $ENV{TEST_NGINX_NO_NGINX_MANAGER} || 0;
our $WorkerUser     = $ENV{TEST_NGINX_WORKER_USER};
our $Randomize      = $ENV{TEST_NGINX_RANDOMIZE};
our $NginxBinary    = $ENV{TEST_NGINX_BINARY} || 'nginx';
our $LogLevel       = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $MasterProcessEnabled = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $DaemonEnabled  = 'on';
our $Workers        = 1;
our $WorkerConnections = 64;
our $ServerAddr     = '127.0.0.1';
our $ServerName     = 'localhost';
our $ServerPort     = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT} || 1984;
our $ServerPortForClient = $ENV{TEST_NGINX_CLIENT_PORT} || $ServerPort;
our $ForceRestartOnTest = defined $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST}
                          ? $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} : 1;
our $RepeatEach     = 1;
our $NoRootLocation = 0;
our $NoLongString;
our $ConfigPreamble = '';
our $FilterHttpConfig;
our $NginxVersion;
our $NginxRawVersion;
our $OpenSSLVersion;
our (@EnvToNginx, @BlockPreprocessors, @CleanupHandlers, @ResponseBodyChecks);

if (defined $WorkerUser && $WorkerUser !~ /^\w+(?:\s+\w+)?$/) {
    die "Bad value in the env TEST_NGINX_WORKER_USER: $WorkerUser\n";
}

# Modes of the real module that this stand-in does not implement: refuse
# them loudly instead of silently running ordinary tests.
for my $var (qw(TEST_NGINX_USE_STAP
                TEST_NGINX_CHECK_LEAK TEST_NGINX_BENCHMARK
                TEST_NGINX_USE_HTTP2 TEST_NGINX_USE_HTTP3 TEST_NGINX_USE_RR))
{
    if (env_flag($var)) {
        print "Bail out!  $var is not supported by the bundled Test::Nginx"
            . " compat runner (t/compat); install the real Test::Nginx\n";
        exit 255;
    }
}

# TEST_NGINX_USE_VALGRIND, as the real module does it: nginx runs in the
# foreground (daemon off; master_process as configured, off by default)
# under "valgrind -q --num-callers=100 --tool=memcheck --leak-check=full
# --show-possibly-lost=no --gen-suppressions=all", with
# --suppressions=valgrind.suppress when that file is in the current
# directory; a value that is not a number replaces those options.  What
# valgrind (or nginx) writes to stderr is reported after nginx exits, under
# the name of the block that started it, and counted in a summary at the
# end.  Reports do not fail tests, as with the real module.
our $UseValgrind = env_flag('TEST_NGINX_USE_VALGRIND')
                   ? $ENV{TEST_NGINX_USE_VALGRIND} : undef;
our $ValgrindWait = 60;     # seconds for start-up, and for exit + leak check
our ($ValgrindPid, $ValgrindErr, $ValgrindBlock);
our ($ValgrindRuns, $ValgrindDirty, $ValgrindLines) = (0, 0, 0);

$DaemonEnabled = 'off' if $UseValgrind;

srand $$;

if ($Randomize) {
    $ServerPort = gen_rand_port(1000, {});
    die "Cannot find an available listening port\n" unless defined $ServerPort;
    $ServerPortForClient = $ServerPort;
}

our $ServRoot = $Randomize
    ? File::Spec->rel2abs("t/servroot_$ServerPort")
    : ($ENV{TEST_NGINX_SERVROOT} || File::Spec->rel2abs('t/servroot'));
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;

our $LogDir     = File::Spec->catfile($ServRoot, 'logs');
our $ErrLogFile = File::Spec->catfile($LogDir, 'error.log');
our $AccLogFile = File::Spec->catfile($LogDir, 'access.log');
our $HtmlDir    = File::Spec->catfile($ServRoot, 'html');
our $ConfDir    = File::Spec->catfile($ServRoot, 'conf');
our $ConfFile   = File::Spec->catfile($ConfDir, 'nginx.conf');
our $PidFile    = File::Spec->catfile($LogDir, 'nginx.pid');

# run-time state
our $PrevConfig;
our $FirstTime = 1;
our $ErrLogFilePos = 0;
our @PendingLogLines;     # extra lines (nginx stderr) for the next log read
our $ConfigVersion;
our $TcpServerPid;
our $InSubprocess;
our $TotalConnectFailures = 0;
our $MainPid = $$;

sub verbose () { $Verbose }
sub sleep_time () { $TestNginxSleep }
sub no_long_string () { $NoLongString = 1 }
sub no_shuffle () { $NoShuffle = 1 }
sub no_root_location () { $NoRootLocation = 1 }
sub no_nginx_manager () { $NoNginxManager = 1 }
sub use_hup () { $UseHup = 1 }
sub check_accum_error_log () { $CheckAccumErrLog = 1 }
sub master_on () { $MasterProcessEnabled = 'on' }
sub master_off () { $MasterProcessEnabled = 'off' }
sub config_preamble ($) { $ConfigPreamble = shift }
sub set_http_config_filter ($) { $FilterHttpConfig = shift }
sub html_dir () { $HtmlDir }
sub server_root () { $ServRoot }
sub add_cleanup_handler ($) { unshift @CleanupHandlers, shift }
sub add_block_preprocessor (&) { unshift @BlockPreprocessors, shift }
sub add_response_body_check ($) { push @ResponseBodyChecks, shift }

sub _accessor {
    my ($ref, @args) = @_;
    $$ref = $args[0] if @args;
    return $$ref;
}

sub repeat_each (@)            { _accessor(\$RepeatEach, @_) }
sub workers (@)                { _accessor(\$Workers, @_) }
sub worker_connections (@)     { _accessor(\$WorkerConnections, @_) }
sub log_level (@)              { _accessor(\$LogLevel, @_) }
sub timeout (@)                { _accessor(\$Timeout, @_) }
sub server_addr (@)            { _accessor(\$ServerAddr, @_) }
sub server_name (@)            { _accessor(\$ServerName, @_) }
sub server_port (@)            { _accessor(\$ServerPort, @_) }
sub server_port_for_client (@) { _accessor(\$ServerPortForClient, @_) }

sub master_process_enabled (@) {
    if (@_) {
        $MasterProcessEnabled = $_[0] ? 'on' : 'off';
    }
    return $MasterProcessEnabled;
}

sub env_to_nginx (@) {
    croak "env_to_nginx: no arguments specified" unless @_;
    for my $v (@_) {
        croak "env_to_nginx: bad argument value: $v\n"
            if $v !~ /^[A-Za-z_]/ || $v =~ /\n/;
        push @EnvToNginx, $v;
    }
}

sub is_str (@) {
    my ($got, $expected, $desc) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    if (ref $expected && ref $expected eq 'Regexp') {
        return Test::More::like($got, $expected, $desc);
    }
    return $NoLongString ? Test::More::is($got, $expected, $desc)
                         : Test::LongString::is_string($got, $expected, $desc);
}

sub trim ($) {
    my $s = shift;
    return undef unless defined $s;
    $s =~ s/^\s+|\s+$//g;
    $s =~ s/\n/ /g;
    $s =~ s/\s{2,}/ /g;
    return $s;
}

sub show_all_chars ($) {
    my $s = shift;
    $s =~ s/\n/\\n/g;
    $s =~ s/\r/\\r/g;
    $s =~ s/\t/\\t/g;
    return $s;
}

sub fmt_str ($) {
    my $s = shift;
    chomp $s;
    $s =~ s/"/\\"/g;
    $s =~ s/\r/\\r/g;
    $s =~ s/\n/\\n/g;
    return $s;
}

sub parse_time ($) {
    my $t = shift;
    return undef unless defined $t;
    $t =~ s/^\s+|\s+$//g;
    if ($t =~ s/([^_a-zA-Z])ms$/$1/) {
        $t /= 1000;
    } else {
        $t =~ s/([^_a-zA-Z])s$/$1/;
    }
    return $t;
}

# "Name: value" lines; "!Name" means the header must be absent (undef value)
sub parse_headers ($) {
    my $s = shift;
    my (%h, @order);
    for my $line (split /\n/, $s // '') {
        $line =~ s/^\s+|\s+$//g;
        next if $line eq '';
        my ($key, $val);
        if ($line =~ s/^!\s*//) {
            ($key, $val) = ($line, undef);
        } else {
            ($key, $val) = split /\s*:\s*/, $line, 2;
        }
        push @order, $key unless exists $h{$key};
        $h{$key} = $val;
    }
    return wantarray ? (\%h, \@order) : \%h;
}

# ---------------------------------------------------------------------------
# processes

sub is_running ($) {
    my $pid = shift;
    return 0 unless $pid && kill 0, $pid;
    # a zombie nobody reaps yet still answers kill 0
    if (open my $fh, '<', "/proc/$pid/stat") {
        my $stat = <$fh> // '';
        close $fh;
        return 0 if $stat =~ /^\d+ \(.*\) Z/s;
    }
    return 1;
}

sub wait_gone ($$) {
    my ($pid, $secs) = @_;
    my $deadline = time + $secs;
    my $step = 0.005;
    while (is_running($pid)) {
        waitpid($pid, WNOHANG);
        return 0 if time >= $deadline;
        sleep $step;
        $step *= 1.5 if $step < 0.05;
    }
    waitpid($pid, WNOHANG);
    return 1;
}

sub force_kill ($) {
    my $pid = shift;
    my $pgrp = getpgrp($pid);
    if (defined $pgrp && $pgrp == $pid && $pid != getpgrp(0)) {
        kill SIGKILL, -$pid;
    }
    kill SIGKILL, $pid;
    wait_gone($pid, 2);
}

# graceful stop (QUIT for nginx, TERM for our helpers), then force
sub kill_process ($$$) {
    my ($pid, $sig, $name) = @_;
    return unless defined $pid && is_running($pid);
    warn "sending signal $sig to $pid\n" if $Verbose;
    kill $sig, $pid;
    return if wait_gone($pid, $Timeout > 1 ? $Timeout : 1);
    warn "$name - timeout when waiting for the process $pid to exit;"
        . " killing it\n";
    force_kill($pid);
}

sub read_pid_file () {
    open my $in, '<', $PidFile or return undef;
    my $pid = do { local $/; <$in> };
    close $in;
    return undef unless defined $pid && $pid =~ /(\d+)/;
    return $1;
}

sub get_pid_from_pidfile ($) {
    my $name = shift;
    my $pid = read_pid_file();
    bail_out("$name - Failed to read a pid from $PidFile") unless $pid;
    return $pid;
}

sub stop_nginx ($) {
    my $name = shift;
    return stop_nginx_valgrind($name) if defined $ValgrindPid;
    my $pid = read_pid_file();
    if ($pid && is_running($pid)) {
        kill_process($pid, SIGQUIT, $name);
    }
    unlink $PidFile if -f $PidFile;
}

sub cleanup () {
    $_->() for @CleanupHandlers;
    if (defined $TcpServerPid) {
        kill_process($TcpServerPid, SIGTERM, 'cleanup');
        undef $TcpServerPid;
    }
}

sub bail_out (@) {
    cleanup();
    stop_nginx('bail_out') unless $ENV{TEST_NGINX_NO_CLEAN};
    Test::More::BAIL_OUT(join '', @_);
}

# an interrupted run must not leave nginx behind
for my $sig (qw(INT TERM HUP)) {
    $SIG{$sig} = sub {
        return if $InSubprocess || $$ != $MainPid;
        warn "caught SIG$sig, stopping nginx\n";
        exit 1;     # END below does the work
    };
}

END {
    return if $InSubprocess || $$ != $MainPid;
    local $?;
    cleanup();
    stop_nginx('END') unless $ENV{TEST_NGINX_NO_CLEAN} && !$UseValgrind;
    if ($UseValgrind) {
        print STDERR "# valgrind: " . ($ValgrindDirty
            ? "$ValgrindLines lines of reports from $ValgrindDirty of"
              . " $ValgrindRuns nginx runs (see above)\n"
            : "no reports from $ValgrindRuns nginx runs\n");
    }
    if ($Randomize && $ServRoot =~ m{/t/servroot_\d+$} && -d $ServRoot) {
        remove_tree($ServRoot);
    }
}

# ---------------------------------------------------------------------------
# nginx binary and version

sub find_nginx () {
    my $bin = $NginxBinary;
    if ($bin =~ m{/}) {
        return (-f $bin && -x _) ? $bin : undef;
    }
    my @dirs = grep { length } split /\Q$Config::Config{path_sep}\E/, ($ENV{PATH} // '');
    # Debian and friends keep nginx in sbin dirs that a user's PATH may lack
    push @dirs, qw(/usr/sbin /usr/local/sbin /sbin /usr/local/nginx/sbin
                   /usr/local/openresty/nginx/sbin);
    for my $d (@dirs) {
        my $p = File::Spec->catfile($d, $bin);
        return $p if -f $p && -x _;
    }
    return undef;
}

sub get_canon_version (@) { sprintf "%d.%03d%03d", @_[0 .. 2] }

sub get_nginx_version () {
    my $bin = find_nginx()
        or bail_out("Cannot find the nginx executable \"$NginxBinary\" in"
                    . " PATH or the usual sbin directories (set TEST_NGINX_BINARY)");
    $NginxBinary = $bin;
    my $out = `'$bin' -V 2>&1`;
    bail_out("Failed to run \"$bin -V\": $out") if $? != 0;
    if ($out =~ m{built with OpenSSL (\d+)\.(\d+)\.(\d+)([a-z])?}) {
        $OpenSSLVersion = get_canon_version($1, $2, $3)
            . (defined $4 ? sprintf('%03d', ord($4) - ord('a')) : '');
    }
    if ($out =~ m{(?:nginx|openresty)[^/]*/(\d+)\.(\d+)\.(\d+)}
        || $out =~ m{\w+/(\d+)\.(\d+)\.(\d+)})
    {
        $NginxRawVersion = "$1.$2.$3";
        return get_canon_version($1, $2, $3);
    }
    bail_out("Failed to parse the output of \"nginx -V\": $out");
}

# ---------------------------------------------------------------------------
# server root, files and nginx.conf

sub gen_rand_port ($$) {
    my ($tries, $used) = @_;
    for (1 .. $tries) {
        my $port = int(rand 63550) + 1985;
        next if $used->{$port};
        my $sock = IO::Socket::INET->new(LocalAddr => $ServerAddr,
                                         LocalPort => $port, Proto => 'tcp',
                                         Listen => 1);
        if ($sock) {
            close $sock;
            return $port;
        }
    }
    return undef;
}

sub expand_env_in_text ($$$) {
    my ($text, $name, $rand_ports) = @_;
    return undef unless defined $text;
    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        my $var = $1;
        my $val;
        if ($var =~ /^TEST_NGINX_RAND_PORT_[0-9]+$/) {
            $val = $rand_ports->{$var} //= do {
                my %used = ($ServerPort => 1, map { $_ => 1 } values %$rand_ports);
                gen_rand_port(1000, \%used)
                    // bail_out("$name - Cannot find an available listening port for $var");
            };
        } else {
            bail_out("$name - No environment $var defined.") unless defined $ENV{$var};
            $val = $ENV{$var};
        }
        $val;
    }ge;
    return $text;
}

sub setup_server_root ($) {
    my $first_time = shift;
    if (-d $ServRoot) {
        remove_tree($ConfDir, glob("$ServRoot/*_cache"), glob("$ServRoot/*_temp"));
        if ($UseHup) {
            # nginx keeps running: drop files but keep the directories
            File::Find::finddepth({ no_chdir => 1, wanted => sub {
                return if -d $_;
                return if !$first_time && /(?:\bnginx\.pid|\.sock|\.crt|\.key)$/;
                unlink $_ or warn "Failed to remove $_: $!\n";
            } }, $ServRoot);
        } else {
            remove_tree($HtmlDir, $LogDir);
            rmdir $ServRoot
                or bail_out("Can't remove $ServRoot (not empty?): $!");
        }
    }
    for my $d ($ServRoot, $LogDir, $HtmlDir, $ConfDir) {
        next if -d $d;
        make_path($d, { error => \my $err });
        bail_out("Failed to create directory $d") unless -d $d;
    }
    open my $out, '>', "$HtmlDir/index.html"
        or bail_out("Can't write $HtmlDir/index.html: $!");
    print $out '<html><head><title>It works!</title></head>'
        . '<body>It works!</body></html>';
    close $out;
}

sub write_user_files ($$) {
    my ($block, $rand_ports) = @_;
    my $name = $block->name;
    my $files = $block->user_files;
    return unless $files;

    if (!ref $files) {
        my @list;
        for my $line (split /^/, $files) {
            if ($line =~ /^>>> (\S+)(?:\s+(.+))?/) {
                push @list, [$1, undef, $2];
            } elsif (@list) {
                $list[-1][1] .= $line;
            }
        }
        $files = \@list;
    } elsif (ref $files ne 'ARRAY') {
        bail_out("$name - --- user_files: only a string or an ARRAY is accepted");
    }

    for my $f (@$files) {
        my ($fname, $body, $date) = @$f;
        $body //= '';
        my $path = $fname =~ m{^/} ? $fname : "$HtmlDir/$fname";
        if ($path =~ m{(.*)/} && !-d $1) {
            make_path($1) or bail_out("$name - Cannot create directory $1");
        }
        $body = expand_env_in_text($body, $name, $rand_ports);
        open my $out, '>', $path
            or bail_out("$name - Cannot open $path for writing: $!");
        binmode $out;
        print $out $body;
        close $out;
        if ($date) {
            local $ENV{TZ} = 'GMT';
            system('touch', '-t', $date, $path) == 0
                or bail_out("$name - failed to set the date of $path to $date");
        }
    }
}

sub write_config_file ($$$) {
    my ($block, $config, $rand_ports) = @_;
    my $name = $block->name;

    my $http_config = expand_env_in_text($block->http_config, $name, $rand_ports) // '';
    $http_config = $FilterHttpConfig->($http_config) if $FilterHttpConfig;
    my $main_config = expand_env_in_text($block->main_config, $name, $rand_ports) // '';
    my $post_main_config = expand_env_in_text($block->post_main_config, $name,
                                              $rand_ports) // '';
    my $server_name = $block->server_name // $ServerName;
    $config //= '';

    my $master = $UseHup ? 'on' : $MasterProcessEnabled;

    my $conf = '';
    # load_module must precede any http/stream/events block, so emit first
    for my $mod (grep { length } split /\s+/, ($LoadModules // '')) {
        $conf .= "load_module $mod;\n";
    }
    $conf .= "worker_processes  $Workers;\n"
           . "daemon $DaemonEnabled;\n"
           . "master_process $master;\n"
           . "error_log $ErrLogFile $LogLevel;\n"
           . "pid       $PidFile;\n"
           . "env LD_PRELOAD;\nenv LD_LIBRARY_PATH;\nenv ASAN_OPTIONS;\n";
    for my $v (@EnvToNginx) {
        $conf .= $v =~ /\s/ ? "env '$v';\n" : "env $v;\n";
    }
    $conf .= "\n$main_config\n\nhttp {\n"
           . "    access_log $AccLogFile;\n"
           . "    default_type text/plain;\n"
           . "    keepalive_timeout  68;\n";
    if (defined $PostponeOutput && $http_config !~ /\bpostpone_output\b/) {
        bail_out("Bad TEST_NGINX_POSTPONE_OUTPUT value: $PostponeOutput")
            unless $PostponeOutput =~ /^\d+$/;
        $conf .= "    postpone_output $PostponeOutput;\n";
    }
    $conf .= "\n$http_config\n\n"
           . "    server {\n"
           . "        listen          $ServerPort;\n"
           . "        server_name     '$server_name';\n\n"
           . "        client_max_body_size 30M;\n\n"
           . "        # preamble\n$ConfigPreamble\n"
           . "        # test case config\n$config\n"
           . "        # end of test case config\n\n";
    unless ($NoRootLocation) {
        $conf .= "        location / {\n"
               . "            root $HtmlDir;\n"
               . "            index index.html index.htm;\n"
               . "        }\n";
    }
    $conf .= "    }\n";
    if ($UseHup) {
        $conf .= "    server {\n"
               . "        listen          $ServerPort;\n"
               . "        server_name     'Test-Nginx';\n"
               . "        location = /ver {\n"
               . "            return 200 '$ConfigVersion';\n"
               . "        }\n"
               . "    }\n";
    }
    $conf .= "}\n\n$post_main_config\n\n"
           . "events {\n"
           . "    accept_mutex off;\n"
           . "    worker_connections  $WorkerConnections;\n"
           . ($EventType ? "    use $EventType;\n" : '')
           . "}\n";
    if (defined $WorkerUser) {
        $conf .= "user $WorkerUser;\n";
    } elsif ($> == 0) {
        $conf .= "user root;\n";
    }

    open my $out, '>', $ConfFile or bail_out("Can't open $ConfFile for writing: $!");
    print $out $conf;
    close $out;
}

# ---------------------------------------------------------------------------
# logs

sub read_new_log_lines () {
    my @lines;
    if (open my $in, '<', $ErrLogFile) {
        if (!$CheckAccumErrLog && $ErrLogFilePos > 0) {
            seek $in, $ErrLogFilePos, 0;
        }
        @lines = <$in>;
        $ErrLogFilePos = tell($in) unless $CheckAccumErrLog;
        close $in;
    }
    return \@lines;
}

sub error_log_data () {
    # give the log phase (run after the response is sent) a moment
    sleep $TestNginxSleep * 3;
    my $lines = read_new_log_lines();
    if (@PendingLogLines) {
        push @$lines, @PendingLogLines;
        @PendingLogLines = () unless $CheckAccumErrLog;
    }
    return $lines;
}

sub access_log_data () {
    sleep $TestNginxSleep * 3;
    open my $in, '<', $AccLogFile or return [];
    my @lines = <$in>;
    close $in;
    return \@lines;
}

sub log_size () { -s $ErrLogFile || 0 }

sub read_tail ($$) {
    my ($file, $n) = @_;
    open my $in, '<', $file or return [];
    my @lines = <$in>;
    close $in;
    splice @lines, 0, @lines - $n if @lines > $n;
    return \@lines;
}

# ---------------------------------------------------------------------------
# starting / reloading nginx

sub nginx_cmd () {
    return ($NginxBinary, '-p', "$ServRoot/", '-c', $ConfFile);
}

# Runs the nginx command line (which daemonizes).  Returns (status, stderr).
sub run_nginx_cmd () {
    my @cmd = nginx_cmd();
    my $errf = File::Temp->new(TMPDIR => 1, SUFFIX => '.nginx-stderr');
    my $pid = fork;
    bail_out("fork() failed: $!") unless defined $pid;
    if ($pid == 0) {
        $InSubprocess = 1;
        $SIG{$_} = 'DEFAULT' for qw(INT TERM HUP);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', $errf->filename;
        { no warnings 'exec'; exec { $cmd[0] } @cmd; }
        print STDERR "exec $cmd[0] failed: $!\n";
        POSIX::_exit(127);
    }
    waitpid($pid, 0);
    my $status = $?;
    my $err = '';
    if (open my $in, '<', $errf->filename) {
        local $/;
        $err = <$in> // '';
        close $in;
    }
    warn "nginx stderr: $err" if $Verbose && $err ne '';
    return ($status, $err);
}

sub wait_for_pid_file ($) {
    my $secs = shift;
    my $deadline = time + $secs;
    my $step = 0.002;
    while (1) {
        my $pid = read_pid_file();
        return $pid if $pid && is_running($pid);
        return undef if time >= $deadline;
        sleep $step;
        $step *= 1.5 if $step < 0.05;
    }
}

# TEST_NGINX_USE_VALGRIND: nginx in the foreground as our child, under
# valgrind, its stderr kept for the report
sub valgrind_cmd () {
    if ($UseValgrind =~ /^\d+$/) {
        return ('valgrind', '-q', '--num-callers=100', '--tool=memcheck',
                '--leak-check=full', '--show-possibly-lost=no',
                '--gen-suppressions=all',
                (-f 'valgrind.suppress'
                 ? ('--suppressions=valgrind.suppress') : ()));
    }
    return ('valgrind', '-q', split ' ', $UseValgrind);
}

sub slurp ($) {
    open my $in, '<', $_[0] or return '';
    local $/;
    my $data = <$in> // '';
    close $in;
    return $data;
}

sub start_nginx_valgrind ($) {
    my $name = shift;
    my @cmd = (valgrind_cmd(), nginx_cmd());
    my $deadline = time + 10;
    my $delay = 0.05;
    while (1) {
        my $errf = File::Temp->new(TMPDIR => 1, SUFFIX => '.nginx-valgrind');
        my $pid = fork;
        bail_out("fork() failed: $!") unless defined $pid;
        if ($pid == 0) {
            $InSubprocess = 1;
            $SIG{$_} = 'DEFAULT' for qw(INT TERM HUP);
            setpgrp(0, 0);
            open STDIN, '<', '/dev/null';
            open STDOUT, '>', '/dev/null';
            open STDERR, '>', $errf->filename;
            { no warnings 'exec'; exec { $cmd[0] } @cmd; }
            print STDERR "exec $cmd[0] failed: $!\n";
            POSIX::_exit(127);
        }
        ($ValgrindPid, $ValgrindErr, $ValgrindBlock) = ($pid, $errf, $name);
        $ValgrindRuns++;

        # up when its pid file names it; gone early means it failed
        my $up_by = time + $ValgrindWait;
        while (time < $up_by && is_running($pid)) {
            my $p = read_pid_file();
            return if $p && $p == $pid;
            sleep 0.05;
        }
        if (is_running($pid)) {
            stop_nginx_valgrind($name);
            bail_out("$name - nginx under valgrind (\"@cmd\") wrote no pid"
                     . " file in ${ValgrindWait}s; see $ErrLogFile");
        }
        waitpid($pid, 0);
        undef $ValgrindPid;
        my $err = slurp($errf->filename);
        if ($err =~ /Address already in use/ && time < $deadline) {
            sleep $delay;
            $delay *= 2 if $delay < 0.5;
            next;
        }
        $err =~ s/\s+$//;
        bail_out("$name - Cannot start nginx under valgrind using command"
                 . " \"@cmd\" (status $?): $err");
    }
}

# QUIT, then time for valgrind's leak check at exit; report its output
sub stop_nginx_valgrind ($) {
    my $name = shift;
    my $pid = $ValgrindPid;
    undef $ValgrindPid;
    if (is_running($pid)) {
        kill SIGQUIT, $pid;
        if (!wait_gone($pid, $ValgrindWait)) {
            warn "$name - nginx under valgrind ($pid) did not exit in"
                . " ${ValgrindWait}s; killing it\n";
            force_kill($pid);
        }
    }
    waitpid($pid, WNOHANG);
    unlink $PidFile if -f $PidFile;

    my $err = slurp($ValgrindErr->filename);
    undef $ValgrindErr;
    return if $err eq '';
    my $n = () = $err =~ /^==\d+==/mg;
    $ValgrindDirty++ if $n;
    $ValgrindLines += $n;
    $err =~ s/\s+$//;
    print STDERR "# $ValgrindBlock - stderr of nginx under valgrind:\n"
        . "$err\n";
}

sub start_nginx ($) {
    my $name = shift;
    return start_nginx_valgrind($name) if $UseValgrind;
    my $cmd = join ' ', nginx_cmd();
    my $deadline = time + 10;
    my $delay = 0.05;
    while (1) {
        my ($status, $err) = run_nginx_cmd();
        if ($status == 0) {
            wait_for_pid_file($Timeout > 5 ? $Timeout : 5)
                or bail_out("$name - nginx started (\"$cmd\") but no live pid"
                            . " in $PidFile; see $ErrLogFile");
            return;
        }
        # a previous instance may still hold the port: retry a little
        if ($err =~ /Address already in use/ && time < $deadline) {
            sleep $delay;
            $delay *= 2 if $delay < 0.5;
            next;
        }
        $err =~ s/\s+$//;
        bail_out("$name - Cannot start nginx using command \"$cmd\""
                 . " (status $status): $err");
    }
}

sub http_get_version () {
    my $sock = IO::Socket::INET->new(PeerAddr => $ServerAddr,
                                     PeerPort => $ServerPort,
                                     Proto => 'tcp', Timeout => 1)
        or return undef;
    print $sock "GET /ver HTTP/1.0\r\nHost: Test-Nginx\r\n\r\n";
    my $sel = IO::Select->new($sock);
    my $resp = '';
    while ($sel->can_read(1)) {
        my $n = sysread $sock, my $buf, 4096;
        last unless $n;
        $resp .= $buf;
    }
    close $sock;
    return $resp =~ /\r\n\r\n(.*)\z/s ? $1 : undef;
}

# HUP mode: swap the configuration of the running nginx
# live child processes of $ppid (nginx workers, cache processes)
sub child_pids ($) {
    my $ppid = shift;
    my @kids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $in, '<', $stat or next;
        my $line = <$in> // '';
        close $in;
        push @kids, $1 if $line =~ /^(\d+) \(.*\) [^Z] (\d+) / && $2 == $ppid;
    }
    return @kids;
}

# HUP mode: swap the configuration of the running nginx.  Done when the
# new configuration answers and every process of the old generation has
# exited, so that no request of the block can reach an old worker.
sub reload_nginx ($$) {
    my ($name, $pid) = @_;
    my %old = map { $_ => 1 } child_pids($pid);
    kill SIGUSR1, $pid;     # reopen the (removed) log files
    kill SIGHUP, $pid;
    my $deadline = time + ($Timeout > 10 ? $Timeout : 10);
    my $step = 0.002;
    my $reason = 'timed out';
    my $new_ok;
    while (time < $deadline) {
        if (!$new_ok) {
            my $ver = http_get_version();
            $new_ok = defined $ver && $ver eq $ConfigVersion;
        }
        if ($new_ok) {
            my @left = grep { is_running($_) } keys %old;
            return 1 unless @left;
            $reason = "old nginx processes (@left) did not exit";
        } elsif (open my $in, '<', $ErrLogFile) {
            my @emerg = grep { /\[emerg\]/ } <$in>;
            close $in;
            if (@emerg) {
                $reason = $emerg[-1];
                last;
            }
        }
        sleep $step;
        $step *= 1.5 if $step < 0.05;
    }
    my $tb = Test::More->builder;
    $tb->no_ending(1);
    Test::More::fail("$name - failed to reload configuration: $reason");
    return 0;
}

# ---------------------------------------------------------------------------
# the block runner

our %UnsupportedSections = map { $_ => 1 } qw(
    stap stap_out stap_out_like stap_out_unlike udp_listen udp_reply
    udp_query udp_reply_delay http2 http3 curl curl_error curl_options
    curl_protocol shutdown_error_log no_shutdown_error_log skip_nginx2
    skip_slave todo_nginx reload_fails error_log_file quic_max_idle_timeout
    server_addr_for_client
);

sub run_tests () {
    $NginxVersion = get_nginx_version();
    $ENV{TEST_NGINX_SERVER_PORT} //= $ServerPort;

    my @blocks = Test::Base::blocks();
    @blocks = shuffle @blocks unless $NoShuffle;
    for my $block (@blocks) {
        $_->($block) for @BlockPreprocessors;
        $block->set_value('name', $0 . ' ' . $block->name);
        run_test($block);
    }
    cleanup();
}

sub check_skip_spec ($) {
    my $block = shift;
    my $name = $block->name;
    my ($n, $skip, $reason);

    if (defined(my $spec = $block->skip_eval)) {
        if ($spec =~ /^\s*(\d+)\s*:\s*(.*)/s) {
            $n = $1;
            $reason = 'skip_eval';
            $skip = eval $2;
            bail_out("$name - skip_eval - failed to eval \"$2\": $@") if $@;
        }
    }
    if (defined(my $spec = $block->skip_nginx)) {
        $spec =~ /^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)(?:\s*:\s*(.*?))?\s*$/
            or bail_out("$name - Invalid --- skip_nginx spec: $spec");
        $n = $1;
        $reason = $6 || "nginx version $2 $3.$4.$5";
        my $ver = get_canon_version($3, $4, $5);
        $skip = 1 if eval "$NginxVersion $2 $ver";
    }
    if (defined(my $spec = $block->skip_openssl)) {
        $spec =~ /^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)([a-z])?(?:\s*:\s*(.*?))?\s*$/
            or bail_out("$name - Invalid --- skip_openssl spec: $spec");
        $n = $1;
        my $ver = get_canon_version($3, $4, $5)
            . (defined $6 ? sprintf('%03d', ord($6) - ord('a')) : '');
        $reason = $7 || (defined $OpenSSLVersion
                         ? "OpenSSL version $2 $3.$4.$5" . ($6 // '')
                         : 'Not built with OpenSSL');
        $skip = 1 if !defined $OpenSSLVersion || eval "$OpenSSLVersion $2 $ver";
    }
    return ($skip, $n, $reason // 'various reasons');
}

sub run_test ($) {
    my $block = shift;
    return if defined $block->SKIP;

    my $name = $block->name;
    for my $s (@{ $block->_section_order || [] }) {
        bail_out("$name - section --- $s is not supported by the bundled"
                 . " Test::Nginx compat runner (t/compat)")
            if $UnsupportedSections{$s};
    }

    my $first_time = $FirstTime;
    undef $FirstTime;

    my $rand_ports = {};
    my $config = expand_env_in_text($block->config, $name, $rand_ports);

    local $LogLevel = $block->log_level || $LogLevel;
    local $UseHup = $UseHup;
    my $must_die = $block->must_die;
    undef $UseHup if defined $must_die;

    my ($should_skip, $tests_to_skip, $skip_reason) = check_skip_spec($block);
    my ($should_todo, $todo_reason);
    if (defined(my $todo = $block->todo)) {
        $todo =~ /^\s*(\d+)\s*:\s*(.*)/s
            or bail_out("$name - Invalid --- todo spec: $todo");
        ($should_todo, $tests_to_skip, $todo_reason) = (1, $1, $2);
    }

    my $should_restart = 1;
    if (!defined $config) {
        if (!$NoNginxManager && !defined $PrevConfig) {
            bail_out("$name - No '--- config' section specified and could"
                     . " not get previous one. Use TEST_NGINX_NO_NGINX_MANAGER ?");
        }
        $should_restart = 0;
    } elsif ($NoNginxManager) {
        Test::More::diag("NO_NGINX_MANAGER activated: config for $name ignored");
        $should_restart = 0;
    } elsif (defined $PrevConfig && $config eq $PrevConfig && !$ForceRestartOnTest) {
        $should_restart = 0;
    }

    # the error log checks of this block start here
    $ErrLogFilePos = log_size();
    @PendingLogLines = ();

    if (!$NoNginxManager && !($should_skip && defined $tests_to_skip) && $should_restart) {
        $PrevConfig = $config;
        $ConfigVersion = join '', map { ('A'..'Z', 'a'..'z', 0..9)[rand 62] } 1 .. 10
            if $UseHup;

        my $pid = read_pid_file();
        if ($pid && is_running($pid) && $UseHup && !$first_time) {
            setup_server_root(0);
            write_user_files($block, $rand_ports);
            write_config_file($block, $config, $rand_ports);
            $ErrLogFilePos = 0;
            if (reload_nginx($name, $pid)) {
                # skip the reload chatter and the /ver probes
                $ErrLogFilePos = log_size();
            }
            goto REQUEST;
        }

        stop_nginx($name);
        setup_server_root($first_time);
        write_user_files($block, $rand_ports);
        write_config_file($block, $config, $rand_ports);
        $ErrLogFilePos = 0;

        if (defined $must_die) {
            run_must_die($block, $must_die);
            return;
        }

        start_nginx($name);
    }

  REQUEST:
    if (my $init = $block->init) {
        eval $init;
        bail_out("$name - init failed: $@") if $@;
    }

    for my $i (1 .. $RepeatEach) {
        warn "Run the test block $name ...\n" if $Verbose;

        my ($tcp_socket, $tcp_query_file) = start_tcp_server($block);

        write_user_files($block, $rand_ports) if $i > 1;

        if ($should_skip && defined $tests_to_skip) {
            SKIP: { Test::More::skip("$name - $skip_reason", $tests_to_skip); }
        } elsif ($should_todo) {
            TODO: { Test::More::todo_skip("$name - $todo_reason", $tests_to_skip); }
        } else {
            run_test_helper($block, $i - 1);
            run_tcp_server_tests($block, $tcp_socket, $tcp_query_file);
        }

        if (defined $tcp_socket) {
            if (defined $TcpServerPid) {
                kill_process($TcpServerPid, SIGTERM, $name);
                undef $TcpServerPid;
            }
            close $tcp_socket;
            unlink $tcp_query_file if defined $tcp_query_file;
        }
    }

    if (my $total = $ENV{TEST_NGINX_ERROR_LOG}) {
        if (-s $ErrLogFile && open my $out, '>>', $total) {
            print $out "\n=== $0 $name\n";
            if (open my $in, '<', $ErrLogFile) {
                print $out $_ while <$in>;
                close $in;
            }
            close $out;
        }
    }
}

sub run_must_die ($$) {
    my ($block, $must_die) = @_;
    my $name = $block->name;
    for my $i (0 .. $RepeatEach - 1) {
        my ($status, $err) = run_nginx_cmd();
        my $exit_code = $status >> 8;
        if ($status == -1) {
            Test::More::fail("$name - failed to execute the nginx command line");
        } elsif ($status & 128) {
            Test::More::fail("$name - nginx core dumped");
        } elsif (looks_like_number($must_die)) {
            Test::More::is($must_die, $exit_code,
                           "$name - die with the expected exit code");
        } else {
            Test::More::isnt($status, 0, "$name - die as expected");
        }

        # nginx reports start-up failures on stderr (Debian builds log
        # nothing else), so check those lines together with the log file
        @PendingLogLines = map { "$_\n" } split /\n/, $err;
        check_error_log($block, undef, $i, 0);

        if ($status == 0) {
            warn "WARNING: $name - nginx must die but it does not; killing it (req $i)\n";
            wait_for_pid_file(1);
            stop_nginx($name);
        }
    }
}

# ---------------------------------------------------------------------------
# mocked TCP backend (--- tcp_listen)

sub start_tcp_server ($) {
    my $block = shift;
    my $name = $block->name;
    my $target = $block->tcp_listen;
    return unless defined $target;
    $target =~ s/^\s+|\s+$//g;

    my $reply = $block->tcp_reply;
    if (!defined $reply && !defined $block->tcp_shutdown) {
        bail_out("$name - no --- tcp_reply specified but --- tcp_listen is specified");
    }

    my $req_len = $block->tcp_query_len;
    my $query_file;
    if (defined $block->tcp_query || defined $req_len) {
        $req_len //= length $block->tcp_query;
        (undef, $query_file) = File::Temp::tempfile('tcp_queryXXXXXX', TMPDIR => 1);
    }

    my ($sock, $err);
    my $deadline = time + 5;
    while (1) {
        if ($target =~ /^\d+$/) {
            $sock = IO::Socket::INET->new(LocalHost => '127.0.0.1',
                                          LocalPort => $target, Proto => 'tcp',
                                          ReuseAddr => 1, Listen => 5);
        } elsif ($target =~ /\S+\.sock$/) {
            unlink $target if -e $target;
            $sock = IO::Socket::UNIX->new(Local => $target, Type => SOCK_STREAM,
                                          Listen => 5);
        } else {
            bail_out("$name - bad tcp_listen target: $target");
        }
        last if $sock;
        $err = $!;
        last unless $err =~ /in use/i && time < $deadline;
        sleep 0.05;
    }
    bail_out("$name - failed to create the tcp listening socket on $target: $err")
        unless $sock;

    my $pid = fork;
    bail_out("$name - fork() failed: $!") unless defined $pid;
    if ($pid) {
        $TcpServerPid = $pid;
        return ($sock, $query_file);
    }

    # child: serve one connection
    $InSubprocess = 1;
    $SIG{$_} = 'DEFAULT' for qw(INT TERM HUP);
    Test::More->builder->no_ending(1);

    my $client;
    until ($client = $sock->accept) {
        sleep $TestNginxSleep;
    }

    my ($no_read, $no_write);
    if (defined(my $how = $block->tcp_shutdown)) {
        sleep parse_time($block->tcp_shutdown_delay) if $block->tcp_shutdown_delay;
        $client->shutdown($how);
        if ($how == 0 || $how == 2) { $no_read = 1 } else { $no_write = 1 }
    }

    my $buf = '';
    unless ($no_read) {
        while (1) {
            my $n = sysread $client, my $chunk, 4096;
            last unless $n;
            $buf .= $chunk;
            if (defined $query_file && open my $out, '>', $query_file) {
                binmode $out;
                print $out $buf;
                close $out;
            }
            last if !$req_len || length($buf) >= $req_len;
        }
    }

    if (my $delay = parse_time($block->tcp_reply_delay)) {
        sleep $delay;
    }

    if (!$no_write && defined $reply) {
        $reply = $reply->($buf) if ref $reply eq 'CODE';
        for my $r (ref $reply eq 'ARRAY' ? @$reply : ($reply)) {
            defined syswrite($client, $r)
                or warn "WARNING: tcp server failed to send reply: $!\n";
        }
    }

    if (defined $block->tcp_no_close) {
        sleep 1 while 1;
    }
    close $client;
    close $sock;
    POSIX::_exit(0);
}

sub run_tcp_server_tests ($$$) {
    my ($block, $sock, $query_file) = @_;
    return unless defined $sock;
    my $name = $block->name;
    my $buf = '';
    if (defined $query_file && open my $in, '<', $query_file) {
        local $/;
        $buf = <$in> // '';
        close $in;
    }
    if (defined $block->tcp_query) {
        is_str($buf, $block->tcp_query, "$name - tcp_query ok");
    }
    if (defined $block->tcp_query_len) {
        Test::More::is(length($buf), $block->tcp_query_len,
                       "$name - TCP query length ok");
    }
}

# ---------------------------------------------------------------------------
# building requests

sub parse_more_headers ($) {
    my $in = shift;
    my ($out, $chunked) = ('', 0);
    for my $line (split /\n+/, $in // '') {
        next if $line =~ /^\s*#/;
        my ($key, $val) = split /:\s*/, $line, 2;
        $val //= '';
        $chunked = 1 if lc($key) eq 'transfer-encoding' && $val eq 'chunked';
        $out .= "$key: $val\r\n";
    }
    return ($out, $chunked);
}

# Rewrites the user's request (a list of packets: [string, delay]) into
# real HTTP: "METHOD URI HTTP/x\r\n", Host/Connection/extra headers, a
# Content-Length for a body (trimmed, as the real module does) unless the
# request is chunked or sets Content-Length itself.  Packet boundaries are
# kept so that split requests still arrive split.
sub build_request ($$$$$) {
    my ($name, $more_headers, $is_chunked, $conn, $packets) = @_;
    my $raw = join '', map { $_->[0] // '' } @$packets;

    $raw =~ /\A([^\n]*\n?)/;
    my $first = $1;
    bail_out("$name - Request line should be non-empty") if $first eq '';
    $first =~ /^(\s*)(\S+)( *)(?:(\S+)( *))?(?:(\S+)( *))?(\s*)$/
        or bail_out("$name - Request line is not valid. Should be"
                    . " 'meth [url [version]]' but got \"$first\".");
    my ($pre, $meth, $s1, $url, $s2, $ver, $s3, $eol) =
        (length $1, $2, length $3, $4, $5, $6, $7, length $8);
    my $url_len = defined $url ? length $url : 0;
    $s2 = defined $url ? length $s2 : 0;
    my $ver_len = defined $ver ? length $ver : 0;
    $s3 = defined $ver ? length $s3 : 0;
    $url //= '/';
    $ver //= 'HTTP/1.1';

    my $content = substr $raw, length $first;
    my $clen_hdr = '';
    my $new_content = $content;
    if (!$is_chunked && $content ne ''
        && $more_headers !~ /(?:^|\n)Content-Length:/)
    {
        $new_content =~ s/^\s+|\s+$//g;
        $clen_hdr = 'Content-Length: ' . length($new_content) . "\r\n";
    }

    (my $extra = $more_headers) =~ s/(?<!\r)\n/\r\n/g;
    my $headers = '';
    $headers .= "Host: $ServerName\r\n" if $more_headers !~ /(?:^|\n)Host:/i;
    $headers .= "Connection: $conn\r\n" if $more_headers !~ /(?:^|\n)Connection/i;
    $headers .= "$extra$clen_hdr\r\n";

    # edit operations over the original text: [chars consumed, text emitted]
    my @ops = ([$pre, ''], [length $meth, "$meth "], [$s1, ''],
               [$url_len, "$url "], [$s2, ''], [$ver_len, "$ver\r\n"],
               [$s3 + $eol, ''], [0, $headers],
               [length $content, $new_content]);

    my @out;
    for my $p (@$packets) {
        my $data = $p->[0] // '';
        my ($pos, $res) = (0, '');
        while (@ops && ($pos < length($data) || $ops[0][0] == 0)) {
            my $op = $ops[0];
            my $avail = length($data) - $pos;
            if ($op->[0] <= $avail) {
                $res .= $op->[1];
                $pos += $op->[0];
                shift @ops;
            } else {
                # the edited range continues in the next packet: emit as
                # much of the replacement as this packet had of the original
                $res .= substr($op->[1], 0, $avail);
                $op->[1] = length($op->[1]) > $avail ? substr($op->[1], $avail) : '';
                $op->[0] -= $avail;
                $pos = length $data;
            }
        }
        $res .= substr($data, $pos) if $pos < length $data;
        push @out, [$res, $p->[1]];
    }
    return \@out;
}

sub to_packets ($$) {
    my ($name, $req) = @_;
    return [[$req, undef]] unless ref $req;
    bail_out("$name - Invalid syntax. $req should be a string or an array of packets.")
        unless ref $req eq 'ARRAY';
    my @p;
    for my $pk (@$req) {
        if (!ref $pk) {
            push @p, [$pk, undef];
        } elsif (ref $pk eq 'HASH') {
            push @p, [$pk->{value}, $pk->{delay_before}];
        } else {
            bail_out("$name - Invalid syntax. $pk should be a string or hash with value.");
        }
    }
    return \@p;
}

# returns a list of requests, each a list of packets [data, delay_before]
sub get_req_from_block ($) {
    my $block = shift;
    my $name = $block->name;
    my @reqs;

    if (defined(my $raw = $block->raw_request)) {
        return [to_packets($name, $raw)];
    }

    my $request = $block->request;
    if (defined $request && !ref $request) {
        1 while $request =~ s/^\s*\#[^\n]+\s+|^\s+//gs;
    }
    my $more = $block->more_headers // '';

    my $headers_for = sub {
        my $i = shift;
        if (ref $more eq 'ARRAY') {
            my $h = $more->[$i];
            bail_out("$name - --- more_headers lacks data for request $i")
                unless defined $h;
            return parse_more_headers($h);
        }
        return parse_more_headers($more);
    };

    if (my $pipelined = $block->pipelined_requests) {
        bail_out("$name - invalid entries in --- pipelined_requests")
            unless ref $pipelined eq 'ARRAY';
        my $all = '';
        for my $i (0 .. $#$pipelined) {
            my ($h, $chunked) = $headers_for->($i);
            my $conn = $i == $#$pipelined ? 'close' : 'keep-alive';
            $all .= build_request($name, $h, $chunked, $conn,
                                  [[$pipelined->[$i], undef]])->[0][0];
        }
        return [[[$all, undef]]];
    }

    if (!ref $request) {
        my ($h, $chunked) = $headers_for->(0);
        return [build_request($name, $h, $chunked, 'close', [[$request, undef]])];
    }

    bail_out("$name - invalid --- request: MUST be string or array of requests")
        unless ref $request eq 'ARRAY';
    for my $i (0 .. $#$request) {
        my ($h, $chunked) = $headers_for->($i);
        push @reqs, build_request($name, $h, $chunked, 'close',
                                  to_packets($name, $request->[$i]));
    }
    return \@reqs;
}

# ---------------------------------------------------------------------------
# talking to nginx

sub connect_to_server ($$) {
    my ($block, $timeout) = @_;
    my $name = $block->name;
    my $deadline = time + ($timeout > 3 ? $timeout : 3);
    my $wait = $TestNginxSleep;
    my $err;
    while (1) {
        my $sock = IO::Socket::INET->new(PeerAddr => $ServerAddr,
                                         PeerPort => $ServerPortForClient,
                                         Proto => 'tcp', Timeout => $timeout);
        return $sock if $sock;
        $err = $!;
        last if time >= $deadline;
        sleep $wait;
        $wait *= 1.5 if $wait < 0.2;
    }
    my $msg = "$name - Can't connect to $ServerAddr:$ServerPortForClient: $err (aborted)\n";
    my $pid = read_pid_file();
    if (!$NoNginxManager && !($pid && is_running($pid))) {
        my @tail = @{ read_tail($ErrLogFile, 15) };
        $msg .= "nginx is not running; the end of $ErrLogFile:\n" . join('', @tail);
    }
    if (++$TotalConnectFailures >= 3) {
        bail_out($msg);
    }
    Test::More->builder->no_ending(1);
    Test::More::fail($msg);
    return undef;
}

# sends the packets and reads until the server closes; returns the raw
# response ('' when nothing arrived)
sub send_request ($$$$) {
    my ($packets, $middle_delay, $timeout, $block) = @_;
    my $name = $block->name;

    my $sock = connect_to_server($block, $timeout) or return '';
    $sock->blocking(0);
    local $SIG{PIPE} = 'IGNORE';

    my @queue = map { [@$_] } @$packets;
    my ($wbuf, $woff) = (undef, 0);
    my $next_packet = sub {
        my $p = shift @queue or return undef;
        my $delay = defined $p->[1] ? $p->[1] : $middle_delay;
        sleep $delay if $delay && defined $wbuf;
        return $p->[0] // '';
    };
    $wbuf = $next_packet->();
    my $writing = 1;
    my $resp = '';

    while (1) {
        my $rsel = IO::Select->new($sock);
        my $wsel = $writing ? IO::Select->new($sock) : undef;
        $! = 0;
        my ($r, $w) = IO::Select->select($rsel, $wsel, undef, $timeout);
        if (!$r && !$w) {
            next if $! == EINTR;
            close $sock;
            if (!defined $block->abort) {
                Test::More->builder->no_ending(1);
                Test::More::fail("ERROR: client socket timed out - $name\n");
            }
            return $resp;
        }
        if ($w && @$w) {
            while (1) {
                if ($woff >= length $wbuf) {
                    $wbuf = $next_packet->();
                    $woff = 0;
                    if (!defined $wbuf) {
                        $writing = 0;
                        if (defined(my $how = $block->shutdown)) {
                            $how = 1 if $how =~ /^\s*$/;
                            shutdown($sock, $how);
                        }
                        last;
                    }
                    next;
                }
                my $n = syswrite $sock, $wbuf, length($wbuf) - $woff, $woff;
                if (!defined $n) {
                    last if $! == EAGAIN || $! == EWOULDBLOCK;
                    # e.g. nginx answered early and closed: keep reading
                    warn "WARNING: $name - write failed: $!\n" if $Verbose;
                    $writing = 0;
                    last;
                }
                $woff += $n;
            }
        }
        if ($r && @$r) {
            my $eof = 0;
            while (1) {
                my $n = sysread $sock, my $buf, 8192;
                if (!defined $n) {
                    last if $! == EAGAIN || $! == EWOULDBLOCK;
                    warn "WARNING: $name - HTTP response read failure: $!\n";
                    $eof = 1;
                    last;
                }
                if ($n == 0) { $eof = 1; last }
                $resp .= $buf;
            }
            if ($eof) {
                close $sock;
                return $resp;
            }
        }
    }
}

sub parse_response ($$$) {
    my ($name, $raw, $head_req) = @_;
    my $raw_headers = $raw =~ /(.*?\r\n)\r\n/s ? $1 : '';
    my $res = HTTP::Response->parse($raw);
    my $code = $res->code;
    if (defined $code && $code !~ /^\d+$/) {
        $res->code(undef);
        undef $code;
    }
    return ($res, $raw_headers, undef) if $code && ($code == 304 || $code == 101);

    my $left;
    my $te = $res->header('Transfer-Encoding');
    my $len = $res->header('Content-Length');
    if (defined $te && $te eq 'chunked') {
        my $data = $res->content // '';
        my $body = '';
        pos($data) = 0;
        while (1) {
            if ($data =~ /\G0[ \t]*\r\n\r\n/gc) {
                $left = substr $data, pos($data) if pos($data) < length $data;
                last;
            }
            if ($data =~ /\G[ \t]*([A-Fa-f0-9]+)[ \t]*\r\n/gc) {
                my $size = hex $1;
                my $start = pos($data);
                if (length($data) - $start < $size) {
                    Test::More->builder->no_ending(1);
                    Test::More::fail("$name - invalid chunked data received"
                                     . " (not enough octets for the data section)");
                    return;
                }
                $body .= substr $data, $start, $size;
                pos($data) = $start + $size;
                if ($data !~ /\G\r\n/gc) {
                    Test::More->builder->no_ending(1);
                    Test::More::fail("$name - invalid chunked data received (expected CRLF).");
                    return;
                }
            } elsif ($data =~ /\G(.+)/gcs) {
                Test::More->builder->no_ending(1);
                Test::More::fail("$name - invalid chunked body received: $1");
                return;
            } else {
                Test::More->builder->no_ending(1);
                Test::More::fail("$name - no last chunk found - $data");
                return;
            }
        }
        $res->content($body);
    } elsif (defined $len && $len =~ /^\d+$/) {
        my $body = $res->content // '';
        if (length $body < $len) {
            warn "WARNING: $name - response body truncated: $len expected,"
                . " but got " . length($body) . "\n" unless $head_req;
        } elsif (length $body > $len) {
            $left = substr $body, $len;
            $res->content(substr $body, 0, $len);
        }
    }
    return ($res, $raw_headers, $left);
}

# ---------------------------------------------------------------------------
# checks

sub get_indexed_value ($$$$) {
    my ($name, $value, $idx, $need_array) = @_;
    if ($need_array) {
        return $value->[$idx] if ref $value eq 'ARRAY';
        bail_out("$name - You asked for many requests, the expected results"
                 . " should be arrays as well.");
    }
    return ref $value eq 'ARRAY' ? $value->[0] : $value;
}

sub check_error_code ($$$$) {
    my ($block, $res, $idx, $need_array) = @_;
    my $name = $block->name;
    my $got = ($res && $res->code) || '';
    if (defined $block->error_code_like) {
        my $pat = get_indexed_value($name, $block->error_code_like, $idx, $need_array);
        Test::More::like($got, qr/$pat/sm, "$name - status code ok");
    } elsif (defined $block->error_code) {
        my $want = get_indexed_value($name, $block->error_code, $idx, $need_array);
        Test::More::is($got, $want, "$name - status code ok");
    } else {
        Test::More::is($got, 200, "$name - status code ok");
    }
}

sub check_raw_response_headers ($$$$) {
    my ($block, $raw_headers, $idx, $need_array) = @_;
    my $name = $block->name;
    if (defined $block->raw_response_headers_like) {
        my $pat = get_indexed_value($name, $block->raw_response_headers_like,
                                    $idx, $need_array);
        Test::More::like($raw_headers, qr/$pat/s, "$name - raw resp headers like");
    }
    if (defined $block->raw_response_headers_unlike) {
        my $pat = get_indexed_value($name, $block->raw_response_headers_unlike,
                                    $idx, $need_array);
        Test::More::unlike($raw_headers, qr/$pat/s, "$name - raw resp headers unlike");
    }
}

sub check_response_headers ($$$$$) {
    my ($block, $res, $raw_headers, $idx, $need_array) = @_;
    my $name = $block->name;
    if (defined $block->response_headers) {
        my ($h, $order) = parse_headers(
            get_indexed_value($name, $block->response_headers, $idx, $need_array));
        for my $key (@$order) {
            my $val = $h->{$key};
            if (!defined $val) {
                Test::More::unlike($raw_headers, qr/^\s*\Q$key\E\s*:/ms,
                                   "$name - header $key not present in the raw headers");
                next;
            }
            $val =~ s/\$ServerPort\b/$ServerPort/g;
            $val =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
            my $got = $res ? $res->header($key) : undef;
            Test::More::is($got // '', $val, "$name - header $key ok");
        }
    } elsif (defined $block->response_headers_like) {
        my ($h, $order) = parse_headers(
            get_indexed_value($name, $block->response_headers_like, $idx, $need_array));
        for my $key (@$order) {
            my $val = $h->{$key} // '';
            my $got = $res ? $res->header($key) : undef;
            Test::More::like($got // '', qr/^$val$/, "$name - header $key like ok");
        }
    }
}

sub run_body_filter ($$$) {
    my ($name, $filter, $content) = @_;
    return $filter->($content) if ref $filter eq 'CODE';
    bail_out("$name - the --- response_body_filters section only supports"
             . " subroutine references and strings") if ref $filter;
    my %f = (md5_hex => sub { require Digest::MD5; Digest::MD5::md5_hex($_[0]) },
             sha1_hex => sub { require Digest::SHA; Digest::SHA::sha1_hex($_[0]) },
             uc => sub { uc $_[0] }, lc => sub { lc $_[0] },
             ucfirst => sub { ucfirst $_[0] }, lcfirst => sub { lcfirst $_[0] },
             length => sub { length $_[0] });
    my $code = $f{$filter}
        or bail_out("$name - unknown filter, \"$filter\", specified in the"
                    . " --- response_body_filters section");
    return $code->($content);
}

sub transform_response_body ($$$) {
    my ($block, $res, $idx) = @_;
    my $filters = $block->response_body_filters;
    return unless defined $filters && defined $res && defined $res->content;
    my $name = $block->name;
    if (!ref $filters) {
        $filters =~ s/^\s+|\s+$//g;
        $filters = [split /\s+/, $filters];
    } elsif (ref $filters ne 'ARRAY') {
        $filters = [$filters];
    }
    if (ref $filters->[0] eq 'ARRAY') {
        $filters = $filters->[$idx];
        bail_out("$name - the --- response_body_filters two-dimensional array"
                 . " does not match request $idx") unless defined $filters;
    }
    my $content = $res->content;
    $content = run_body_filter($name, $_, $content) for @$filters;
    $res->content($content);
}

sub diag_diff ($$) {
    my ($got, $want) = @_;
    return unless defined $got && defined $want;
    return unless $got =~ /\n/ || $want =~ /\n/;
    return unless eval { require Text::Diff; 1 };
    my $diff = Text::Diff::diff(\$want, \$got,
                                { STYLE => 'Unified', FILENAME_A => 'expected',
                                  FILENAME_B => 'got' });
    my @lines = split /\n/, $diff;
    splice @lines, 60, @lines - 60, '... (diff truncated)' if @lines > 61;
    Test::More::diag(join "\n", @lines);
}

sub check_response_body ($$$$$) {
    my ($block, $res, $idx, $rep_idx, $need_array) = @_;
    my $name = $block->name;
    my $content = $res ? $res->content : undef;
    if (defined $content) {
        $content =~ s/^TE: deflate,gzip;q=0\.3\r\n//gm;
        $content =~ s/^Connection: TE, close\r\n//gm;
    }

    if (defined $block->response_body || defined $block->response_body_eval) {
        my $expected;
        if (defined $block->response_body_eval) {
            $expected = eval get_indexed_value($name, $block->response_body_eval,
                                               $idx, $need_array);
            warn $@ if $@;
        } else {
            $expected = get_indexed_value($name, $block->response_body, $idx,
                                          $need_array);
        }
        Encode::from_to($expected, 'UTF-8', $block->charset) if $block->charset;
        if (defined $expected && !ref $expected) {
            $expected =~ s/\$ServerPort\b/$ServerPort/g;
            $expected =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
        }
        my $desc = "$name - response_body - response is expected"
                 . " (repeated req $rep_idx, req $idx)";
        if (ref $expected) {
            Test::More::like($content, $expected,
                "$name - response_body - like (repeated req $rep_idx, req $idx)");
        } else {
            my $ok = $NoLongString
                ? Test::More::is($content, $expected, $desc)
                : Test::LongString::is_string($content, $expected, $desc);
            diag_diff($content, $expected) unless $ok;
        }
    } elsif (defined $block->response_body_like || defined $block->response_body_unlike) {
        my $like = defined $block->response_body_like;
        my $pat = get_indexed_value($name,
                                    $like ? $block->response_body_like
                                          : $block->response_body_unlike,
                                    $idx, $need_array);
        if (!ref $pat) {
            $pat =~ s/\$ServerPort\b/$ServerPort/g;
            $pat =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
        }
        my $type = $like ? 'like' : 'unlike';
        my $summary = trim($content) // '';
        my $desc = "$name - response_body_$type - response is expected ($summary)";
        if ($like) {
            Test::More::like($content, qr/$pat/s, $desc);
        } else {
            Test::More::unlike($content, qr/$pat/s, $desc);
        }
    }

    for my $check (@ResponseBodyChecks) {
        $check->($block, $content, $idx, $rep_idx, 0);
    }
}

sub to_pattern_list ($) {
    my $pats = shift;
    if (!ref $pats) {
        chomp $pats;
        return [split /\n+/, $pats];
    }
    return [$pats] if ref $pats eq 'Regexp';
    return [@$pats];
}

sub line_matches ($$) {
    my ($line, $pat) = @_;
    return ref $pat ? $line =~ $pat : index($line, $pat) >= 0;
}

sub value_contains ($$) {
    my ($val, $str) = @_;
    return 0 unless defined $val;
    return index("$val", $str) >= 0 if !ref $val || ref $val eq 'Regexp';
    if (ref $val eq 'ARRAY') {
        for (@$val) { return 1 if value_contains($_, $str) }
    }
    return 0;
}

# Looks for "want" patterns, "don't want" patterns and grep output in the
# log lines written since the last check.  One test per pattern per call,
# like the real module (it is called once per request of the block).
sub check_error_log ($$$$) {
    my ($block, $res, $rep_idx, $need_array) = @_;
    my $name = $block->name;
    my $lines;

    my %warn_for = ('[alert]' => 1, '[crit]' => 1, '[emerg]' => 1);
    for my $sec ($block->error_log, $block->no_error_log) {
        for my $lvl (qw(alert crit emerg)) {
            delete $warn_for{"[$lvl]"} if value_contains($sec, "[$lvl");
        }
    }

    my $grep_pat;
    if (defined(my $g = $block->grep_error_log)) {
        $grep_pat = ref $g eq 'ARRAY' ? $g->[$rep_idx] : $g;
    } elsif (defined $block->grep_error_log_out) {
        bail_out("$name - No --- grep_error_log defined but --- grep_error_log_out is defined");
    }

    if (defined $grep_pat) {
        my $expected = $block->grep_error_log_out;
        bail_out("$name - No --- grep_error_log_out defined but --- grep_error_log is defined")
            unless defined $expected;
        $expected = $expected->[$rep_idx] if ref $expected eq 'ARRAY';
        $lines ||= error_log_data();
        my $out = '';
        for my $line (@$lines) {
            my $m;
            if (ref $grep_pat) {
                $m = $& if $line =~ $grep_pat;
            } elsif ($line =~ /\Q$grep_pat\E/) {
                $m = $&;
            }
            $out .= "$m\n" if defined $m && $m !~ /\n/;
        }
        my $desc = "$name - grep_error_log_out (req $rep_idx)";
        if (ref $expected eq 'Regexp') {
            Test::More::like($out, $expected, $desc);
        } else {
            my $ok = $NoLongString ? Test::More::is($out, $expected, $desc)
                                   : Test::LongString::is_string($out, $expected, $desc);
            diag_diff($out, $expected) unless $ok;
        }
    }

    if (defined $block->error_log) {
        my $pats = to_pattern_list($block->error_log);
        $lines ||= error_log_data();
        # a message logged a little late (log phase, timers) gets a
        # bounded grace period instead of a fixed sleep
        my $deadline = time + ($Timeout < 1 ? $Timeout : 1);
        my %found;
        while (1) {
            for my $i (0 .. $#$pats) {
                next if $found{$i};
                for my $line (@$lines) {
                    if (line_matches($line, $pats->[$i])) {
                        $found{$i} = 1;
                        last;
                    }
                }
            }
            last if keys(%found) == @$pats || time >= $deadline;
            sleep 0.02;
            push @$lines, @{ read_new_log_lines() };
        }
        for my $i (0 .. $#$pats) {
            my $pat = $pats->[$i];
            if ($found{$i}) {
                Test::More::pass("$name - pattern \"$pat\" matches a line in error.log (req $rep_idx)");
            } else {
                Test::More::fail("$name - pattern \"$pat\" should match a line in error.log (req $rep_idx)");
            }
        }
    }

    if (defined $block->no_error_log) {
        my $pats = to_pattern_list($block->no_error_log);
        $lines ||= error_log_data();
        my %found;
        for my $li (0 .. $#$lines) {
            my $line = $lines->[$li];
            for my $pi (0 .. $#$pats) {
                my $pat = $pats->[$pi];
                next unless line_matches($line, $pat);
                # one test per pattern is planned; extra failures upset the
                # plan just like with the real module
                Test::More->builder->no_ending(1) if $found{$pi}++;
                my @more = @$lines[$li + 1 .. min($li + 9, $#$lines)];
                Test::More::fail("$name - pattern \"" . fmt_str($pat)
                    . "\" should not match any line in error.log but matches line \""
                    . fmt_str($line) . "\" (req $rep_idx)\n" . join('', @more));
            }
        }
        for my $pi (0 .. $#$pats) {
            next if $found{$pi};
            Test::More::pass("$name - pattern \"" . fmt_str($pats->[$pi])
                             . "\" does not match a line in error.log (req $rep_idx)");
        }
    }

    $lines ||= error_log_data();
    for my $line (@$lines) {
        for my $lvl (keys %warn_for) {
            warn "WARNING: $name - " . fmt_str($line) . "\n"
                if index($line, $lvl) >= 0;
        }
        if ($line =~ /\bAssertion .*?failed\b/) {
            Test::More->builder->no_ending(1);
            chomp(my $l = $line);
            Test::More::fail("$name - $l\n");
        }
    }
}

sub check_access_log ($$) {
    my ($block, $rep_idx) = @_;
    my $name = $block->name;
    my $lines;
    if (defined $block->access_log) {
        my $pats = to_pattern_list($block->access_log);
        $lines ||= access_log_data();
        for my $pat (@$pats) {
            if (grep { line_matches($_, $pat) } @$lines) {
                Test::More::pass("$name - pattern \"$pat\" matches a line in access.log (req $rep_idx)");
            } else {
                Test::More::fail("$name - pattern \"$pat\" should match a line in access.log (req $rep_idx)");
            }
        }
    }
    if (defined $block->no_access_log) {
        my $pats = to_pattern_list($block->no_access_log);
        $lines ||= access_log_data();
        for my $pat (@$pats) {
            my @hits = grep { line_matches($_, $pat) } @$lines;
            Test::More->builder->no_ending(1) if @hits > 1;
            for my $line (@hits) {
                Test::More::fail("$name - pattern \"" . fmt_str($pat)
                    . "\" should not match any line in access.log but matches line \""
                    . fmt_str($line) . "\" (req $rep_idx)");
            }
            Test::More::pass("$name - pattern \"" . fmt_str($pat)
                             . "\" does not match a line in access.log (req $rep_idx)")
                unless @hits;
        }
    }
}

sub run_test_helper ($$) {
    my ($block, $rep_idx) = @_;
    my $name = $block->name;

    my $reqs = get_req_from_block($block);
    bail_out("$name - request empty") unless @$reqs;

    my $timeout = parse_time($block->timeout);
    $timeout = $Timeout unless defined $timeout && $timeout ne '';

    my $pipelined = $block->pipelined_requests;
    my $n_resp = $pipelined ? scalar @$pipelined : 0;
    my $need_array = $pipelined ? 1 : @$reqs > 1;

    my $res;
    my $idx = 0;
    for my $ri (0 .. $#$reqs) {
        my $packets = $reqs->[$ri];
        my $all = join '', map { $_->[0] // '' } @$packets;
        my $head_req = $all =~ /^\s*HEAD\s+/ ? 1 : 0;
        my $raw = send_request($packets, $block->raw_request_middle_delay,
                               $timeout, $block);
        my $remaining = $n_resp;

        while (1) {
            $raw //= '';
            my ($raw_headers, $left);
            if (!defined $block->ignore_response) {
                if (defined $block->http09) {
                    $res = HTTP::Response->new(200, 'OK', [], $raw);
                    $raw_headers = '';
                } else {
                    ($res, $raw_headers, $left) = parse_response($name, $raw, $head_req);
                }
            }

            if ($remaining) {
                $raw = $left;
                $remaining--;
            } elsif (defined $left && $left ne '') {
                (my $l = $left) =~ s/([\0-\037\200-\377])/sprintf('\x{%02x}', ord $1)/eg;
                warn "WARNING: $name - unexpected extra bytes after last chunk in"
                    . " response: \"$l\"\n";
            }

            if (!defined $block->ignore_response) {
                check_error_code($block, $res, $idx, $need_array);
                check_raw_response_headers($block, $raw_headers // '', $idx, $need_array);
                check_response_headers($block, $res, $raw_headers // '', $idx, $need_array);
                transform_response_body($block, $res, $idx);
                check_response_body($block, $res, $idx, $rep_idx, $need_array);
            }

            if ($remaining || $ri < $#$reqs) {
                sleep parse_time($block->wait) if $block->wait;
                check_error_log($block, $res, $rep_idx, $need_array);
                check_access_log($block, $rep_idx) unless defined $block->ignore_response;
            }

            $idx++;
            last unless $remaining;
        }
    }

    sleep parse_time($block->wait) if $block->wait;
    check_error_log($block, $res, $rep_idx, $need_array);
    check_access_log($block, $rep_idx) unless defined $block->ignore_response;
}

1;
