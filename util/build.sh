#!/usr/bin/env bash
# Builds build/ngx_http_balance_module.so against the system nginx, from
# Debian's nginx-dev source tree and its configure flags, so that the stock
# /usr/sbin/nginx loads it.  NGINX_SRC=<dir> builds against another nginx
# source tree instead (configure it with --with-compat).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out="$top/build"
src=${NGINX_SRC:-/usr/share/nginx/src}
tree="$out/nginx"

if [ ! -x "$src/configure" ]; then
    echo "build: no nginx source tree at $src (apt-get install nginx-dev," \
         "or set NGINX_SRC)" >&2
    exit 1
fi

mkdir -p "$out"

# a private copy: configure writes into the tree
if [ ! -f "$tree/.copied" ] || [ "$src/configure" -nt "$tree/.copied" ]; then
    rm -rf "$tree"
    cp -a "$src" "$tree"
    touch "$tree/.copied"
fi

flags=()
if [ -f "$src/conf_flags" ]; then
    # shellcheck disable=SC1091
    . "$src/conf_flags"
    flags=("${NGX_CONF_FLAGS[@]}")
else
    flags=(--with-compat)
fi

cd "$tree"

# configure again only when the module's build script changed
stamp="$out/.configured"
if [ ! -f "$stamp" ] || [ "$top/config" -nt "$stamp" ]; then
    ./configure "${flags[@]}" --add-dynamic-module="$top" \
        ${BALANCE_CC_OPT:+--with-cc-opt="$BALANCE_CC_OPT"} >"$out/configure.log" 2>&1 \
        || { tail -30 "$out/configure.log" >&2; exit 1; }
    touch "$stamp"
fi

make -f objs/Makefile modules -j"$(nproc)" >"$out/make.log" 2>&1 \
    || { grep -E 'error|warning' "$out/make.log" >&2 || tail -30 "$out/make.log" >&2; exit 1; }

# a new file, not the old one rewritten: a running nginx maps the old one
cp objs/ngx_http_balance_module.so "$out/.ngx_http_balance_module.so.new"
mv -f "$out/.ngx_http_balance_module.so.new" "$out/ngx_http_balance_module.so"
echo "build: $out/ngx_http_balance_module.so"
