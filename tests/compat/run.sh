#!/bin/sh
# Self-tests of the bundled Test::Nginx::Socket stand-in (t/compat) against
# the stock nginx, then a check that no nginx outlived the run.
#
# Uses a private server root and, unless TEST_NGINX_PORT/TEST_NGINX_SERVER_PORT
# is set, a free port, so it does not collide with a t/ run in progress.
# Extra arguments go to prove (e.g. -v, or a single file).
set -u
cd "$(dirname "$0")/../.." || exit 1

work=$(mktemp -d "${TMPDIR:-/tmp}/tn-compat.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM

export TEST_NGINX_SERVROOT="$work/servroot"
if [ -z "${TEST_NGINX_PORT:-}${TEST_NGINX_SERVER_PORT:-}" ]; then
    TEST_NGINX_PORT=$(perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0,
                                      Listen => 1) or die "no free port: $!\n";
        print $s->sockport;') || exit 1
    export TEST_NGINX_PORT
fi

if [ $# -eq 0 ]; then
    set -- tests/compat/
fi
prove -I t/compat "$@"
rc=$?

# any nginx (master or single process) still running from our server root?
# (workers have no path in their title: the port check catches those)
left=$(ps -eo stat=,pid=,args= | awk -v root="$work" '$1 !~ /^Z/ && $3 != "awk" && index($0, root)')
if [ -n "$left" ]; then
    echo "ERROR: nginx processes left running after the self-tests:" >&2
    echo "$left" >&2
    rc=1
fi
if perl -MIO::Socket::INET -e 'exit(IO::Socket::INET->new(PeerAddr => "127.0.0.1",
        PeerPort => $ARGV[0], Timeout => 1) ? 0 : 1)' "${TEST_NGINX_SERVER_PORT:-$TEST_NGINX_PORT}"
then
    echo "ERROR: something still listens on port ${TEST_NGINX_SERVER_PORT:-$TEST_NGINX_PORT}" >&2
    rc=1
fi
exit $rc
