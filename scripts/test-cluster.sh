#!/usr/bin/env bash
# Runs the cluster suites in t/cluster/: NATS JetStream servers and several
# nginx nodes on 127.0.0.1, started and stopped by t/lib/NgxMcp/Cluster.pm,
# against build/ngx_mcp_module.so and build/store/mcp-store.
#
# Ports: TEST_NGINX_PORT + 100 and up (see t/lib/NgxMcp/Cluster.pm).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

export TEST_NGINX_BINARY=${TEST_NGINX_BINARY:-$(command -v nginx || echo /usr/sbin/nginx)}
export TEST_NGINX_LOAD_MODULES=${TEST_NGINX_LOAD_MODULES:-$top/build/ngx_mcp_module.so}
export NATS_SERVER=${NATS_SERVER:-$(command -v nats-server || echo /usr/bin/nats-server)}

if [ ! -x "$NATS_SERVER" ]; then
    echo "test-cluster.sh: no nats-server (Debian: nats-server)" >&2
    exit 1
fi

# the suites given, or all of them; prove's options pass through
args=("$@")
paths=0
for a in "$@"; do
    case $a in -*) ;; *) paths=1 ;; esac
done
[ "$paths" -eq 1 ] || args+=(t/cluster/)

exec prove -I "$top/t/lib" "${args[@]}"
