#!/usr/bin/env bash
# The deployment recipes of docker/ (t/deploy/): each recipe's nginx.conf
# rendered by docker/entrypoint.sh and checked by nginx -t with the
# module; compose.yaml's topology run as plain processes on 127.0.0.1
# (NATS JetStream, three nodes, the load balancer); the YAML and the
# Dockerfile checked.  No Docker daemon or Kubernetes is needed, or used.
# The cluster suites' runner runs them, with their harness.
#
# Ports: TEST_NGINX_PORT + 150 and up.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

exec ./scripts/test-cluster.sh "${@:-t/deploy/}"
