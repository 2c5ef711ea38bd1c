#!/usr/bin/env bash
# Builds build/ngx_mcp_module.so against an nginx source tree.
#
# NGINX_SRC    nginx source tree (default: Debian's nginx-dev tree,
#              /usr/share/nginx/src, configured with its conf_flags so that
#              the module loads into Debian's stock nginx): a release
#              tarball's (./configure) or a git checkout's (auto/configure)
# NGINX_CONFIGURE_ARGS
#              configure arguments for a tree without conf_flags
#              (default: --with-compat)
# MCP_CC_OPT   extra compiler flags (for example -fsanitize=address)
# MCP_BUILD_DIR
#              where the tree and the module go (default: build, giving
#              build/nginx and build/ngx_mcp_module.so), so that a build
#              with other flags can live beside the default one
#
# The tree is copied to $MCP_BUILD_DIR/nginx once and configured again
# only when the addon's config script or the flags change; "make modules"
# is incremental.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
src=${NGINX_SRC:-/usr/share/nginx/src}
out=${MCP_BUILD_DIR:-$top/build}
case $out in /*) ;; *) out=$top/$out ;; esac
tree=$out/nginx
# nginx's own flags (-W -Wall -Wno-unused-parameter -Werror: handlers of
# nginx's signatures leave parameters unused) and ours; "make modules"
# compiles only the module's sources with them, nginx's headers included
warn="-Wextra -Wshadow -Wformat=2"
cc_opt="-O2 -g -fstack-protector-strong -D_FORTIFY_SOURCE=2 $warn ${MCP_CC_OPT:-}"

# a release has ./configure; a git checkout of nginx only auto/configure
if [ -f "$src/configure" ]; then
    configure=./configure
elif [ -f "$src/auto/configure" ]; then
    configure=auto/configure
elif [ -n "${NGINX_SRC:-}" ]; then
    echo "build.sh: NGINX_SRC=$src is not an nginx source tree:" \
         "it has neither configure (a release) nor auto/configure" \
         "(a git checkout)" >&2
    exit 1
else
    echo "build.sh: no nginx source tree at $src: install nginx-dev" \
         "(apt-get install nginx-dev) or set NGINX_SRC to one" >&2
    exit 1
fi

if [ -f "$src/conf_flags" ]; then
    # shellcheck disable=SC1091
    . "$src/conf_flags"
    args=("${NGX_CONF_FLAGS[@]}")
else
    read -r -a args <<< "${NGINX_CONFIGURE_ARGS:---with-compat}"
fi

args+=("--with-cc-opt=$cc_opt" "--add-dynamic-module=$top")
stamp=$(printf '%s\n' "$src" "${args[@]}" | md5sum | cut -d' ' -f1)

if [ ! -f "$tree/.stamp" ] || [ "$(cat "$tree/.stamp")" != "$stamp" ] \
   || [ "$top/config" -nt "$tree/objs/Makefile" ]
then
    rm -rf "$tree"
    mkdir -p "$tree"
    cp -a "$src/." "$tree/"
    (cd "$tree" && sh "$configure" "${args[@]}" > configure.log 2>&1) || {
        tail -n 30 "$tree/configure.log" >&2
        exit 1
    }
    echo "$stamp" > "$tree/.stamp"
fi

# the dashboard's files, as a C source (rewritten only when they change)
"$top/scripts/embed-assets.sh" "$top/ngx_mcp_module/dashboard" \
    "$tree/objs/ngx_http_mcp_dashboard_assets.c"

make -C "$tree" -f objs/Makefile modules -j"$(nproc)" > "$tree/make.log" 2>&1 \
    || { grep -E -B2 -A8 'error|warning' "$tree/make.log" | head -n 80 >&2
         exit 1; }

# a new file renamed into place, never written over: an nginx running with
# the old module has it mapped, and would crash on changed pages
cp "$tree/objs/ngx_mcp_module.so" "$out/.ngx_mcp_module.so.$$"
mv -f "$out/.ngx_mcp_module.so.$$" "$out/ngx_mcp_module.so"
echo "built ${out#"$top"/}/ngx_mcp_module.so"
