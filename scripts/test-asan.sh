#!/usr/bin/env bash
# Runs the Test::Nginx suites in t/ and the cluster suites in t/cluster/
# (or those given: paths under t/cluster/ go to scripts/test-cluster.sh,
# the others to scripts/test-nginx.sh), against the module built
# with AddressSanitizer and UndefinedBehaviorSanitizer, and fails if a
# sanitizer reports anything.
#
# The module and its own nginx tree go to build/asan/ (MCP_ASAN_DIR), so
# that build/ngx_mcp_module.so stays as it is.  nginx itself is not built
# with the sanitizers: their runtime is preloaded into the system's nginx,
# and only into it, by a wrapper that the suites run as TEST_NGINX_BINARY.
# Reports go to files in build/asan/logs/, one per process.
#
# TEST_NGINX_BINARY, if set, is the nginx to wrap; TEST_NGINX_PORT and the
# other variables of scripts/test-nginx.sh apply.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

out=${MCP_ASAN_DIR:-build/asan}
case $out in /*) ;; *) out=$top/$out ;; esac

# GCC's "undefined" leaves out float-cast-overflow: a double out of an
# integer's range converted to it is undefined behaviour all the same.
# UBSan's runtime, loaded after ASan's, ignores its log_path and writes to
# stderr, which nginx points at its error log, where no test looks:
# undefined behaviour ends the worker instead (as in the store's tests),
# so that the request fails and the report is in the error log.
sanitize=address,undefined,float-cast-overflow
recover=-fno-sanitize-recover=undefined,float-cast-overflow

MCP_BUILD_DIR=$out \
MCP_CC_OPT="-fsanitize=$sanitize $recover -fno-omit-frame-pointer" \
    ./scripts/build.sh

# the module is linked as nginx links modules, without the sanitizers'
# runtime libraries: they are preloaded, ASan's first
runtime=
for lib in libasan.so libubsan.so; do
    path=$(gcc -print-file-name=$lib)
    if [ ! -e "$path" ]; then
        echo "test-asan.sh: gcc has no $lib (Debian: libasan8, libubsan1)" >&2
        exit 1
    fi
    runtime=$runtime${runtime:+:}$(readlink -f "$path")
done

nginx=${TEST_NGINX_BINARY:-$(command -v nginx || echo /usr/sbin/nginx)}

logs=$out/logs
rm -rf "$logs"
mkdir -p "$logs"

# Workers run as the "user" of nginx.conf ("nobody" in t/004, t/005 and
# t/020, run as root), and write their reports themselves: to a directory
# they can reach wherever the repository is (a clone under a 0700 home
# would hide build/ from them, and their reports with it), moved to
# $logs at the end.
reports_dir=$(mktemp -d "${TMPDIR:-/tmp}/ngx_mcp_asan.XXXXXX")
chmod 1777 "$reports_dir"
trap 'rm -rf "$reports_dir"' EXIT

wrapper=$out/nginx.sh
cat > "$wrapper" << EOF
#!/bin/sh
# nginx with the sanitizers' runtime loaded first, as a module built with
# -fsanitize=address,undefined needs
LD_PRELOAD=$runtime\${LD_PRELOAD:+:\$LD_PRELOAD} exec $nginx "\$@"
EOF
chmod 0755 "$wrapper"

export TEST_NGINX_BINARY=$wrapper
export TEST_NGINX_LOAD_MODULES=$out/ngx_mcp_module.so
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:log_path=$reports_dir/asan
export UBSAN_OPTIONS=print_stacktrace=1:log_path=$reports_dir/ubsan

# the suites given, each to its runner; none given: all of both
suites=()
cluster=()
for a in "$@"; do
    case $a in
    t/cluster/*|*/t/cluster/*) cluster+=("$a") ;;
    *) suites+=("$a") ;;
    esac
done

rc=0

if [ $# -eq 0 ] || [ ${#suites[@]} -gt 0 ]; then
    ./scripts/test-nginx.sh ${suites[@]+"${suites[@]}"} || rc=$?
fi

if [ $# -eq 0 ] || [ ${#cluster[@]} -gt 0 ]; then
    ./scripts/test-cluster.sh ${cluster[@]+"${cluster[@]}"} || rc=$?
fi

find "$reports_dir" -mindepth 1 -maxdepth 1 -exec mv -t "$logs" {} +
reports=$(find "$logs" -type f | sort)

if [ -n "$reports" ]; then
    echo "test-asan.sh: sanitizer reports:" >&2
    for f in $reports; do
        echo "==> $f <==" >&2
        head -n 60 "$f" >&2
    done
    exit 1
fi

if [ "$rc" -ne 0 ]; then
    echo "test-asan.sh: the suites failed under the sanitizers" >&2
    exit "$rc"
fi

echo "test-asan.sh: no sanitizer reports"
