# TEST_NGINX_LOAD_MODULES becomes load_module lines at the top of nginx.conf
# (stock nginx has no module to load here, so a missing one must make nginx
# die with the dlopen() error).
BEGIN {
    $ENV{TEST_NGINX_LOAD_MODULES} =
        '/nonexistent/ngx_compat_a_module.so  /nonexistent/ngx_compat_b_module.so';
}
use Test::Nginx::Socket;

plan tests => repeat_each() * blocks() * 2 + 1;

run_tests();

open my $fh, '<', "$ENV{TEST_NGINX_SERVER_ROOT}/conf/nginx.conf" or die $!;
my $conf = do { local $/; <$fh> };
like($conf, qr{\Aload_module /nonexistent/ngx_compat_a_module\.so;\nload_module /nonexistent/ngx_compat_b_module\.so;\n},
     "load_module lines come first");

__DATA__

=== TEST 1: the first module is loaded before anything else
--- config
    location = /t {
        return 200 "unreachable\n";
    }
--- must_die
--- error_log
dlopen() "/nonexistent/ngx_compat_a_module.so" failed
