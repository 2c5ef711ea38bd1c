#!/usr/bin/env bash
# The deployment recipes of docker/ (t/deploy/): each recipe's nginx.conf
# rendered by docker/entrypoint.sh and checked by nginx -t with the
# module; compose.yaml's topology run as plain processes on 127.0.0.1
# (NATS JetStream, three nodes, the load balancer); the YAML and the
# Dockerfile checked.  No Docker daemon or Kubernetes is needed, or used.
#
# Ports: TEST_NGINX_PORT + 150 and up.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

export TEST_NGINX_BINARY=${TEST_NGINX_BINARY:-$(command -v nginx || echo /usr/sbin/nginx)}
export TEST_NGINX_LOAD_MODULES=${TEST_NGINX_LOAD_MODULES:-$top/build/ngx_mcp_module.so}
export NATS_SERVER=${NATS_SERVER:-$(command -v nats-server || echo /usr/bin/nats-server)}

exec prove -I "$top/t/lib" "${@:-t/deploy/}"
