package Test::Nginx::Socket;

=head1 NAME

Test::Nginx::Socket - bundled stand-in for openresty's test-nginx

=head1 DESCRIPTION

This is a small, independent implementation of the subset of openresty's
C<Test::Nginx::Socket> (test-nginx) that this project's F<t/*.t> files use,
built on Debian's L<Test::Base>.  It exists only because the real module is
not packaged in Debian and CPAN may be unreachable: the test command puts
F<t/compat> on C<@INC> only when C<perl -MTest::Nginx::Socket -e1> fails,
so an installed Test::Nginx always wins.  It aims to behave like the real
module where the tests can observe it (the generated F<nginx.conf>, the
C<TEST_NGINX_*> environment variables, request building, and above all the
number of tests each block contributes, so that C<plan tests =E<gt> ...>
lines agree), and refuses, with a bail-out, the sections and modes it does
not implement (stap, HTTP/2 and HTTP/3, UDP mocks, leak checks and
benchmarks).  C<TEST_NGINX_USE_VALGRIND> works as in the real module: nginx
runs in the foreground under valgrind's memcheck, and what valgrind reports
is printed after each nginx run, with a summary at the end.

=cut

use lib 'lib';
use lib 'inc';
use v5.10.1;
use Test::Base -Base;

our $VERSION = '0.29_compat';

use Test::Nginx::Util;

our @EXPORT = qw(
    env_to_nginx is_str plan run_tests run_test repeat_each config_preamble
    worker_connections master_process_enabled no_long_string workers
    master_on master_off log_level no_shuffle no_root_location use_hup
    server_name server_addr server_root html_dir server_port
    server_port_for_client timeout no_nginx_manager check_accum_error_log
    add_block_preprocessor bail_out add_cleanup_handler
    add_response_body_check
);

1;
