#!/usr/bin/env bash
# Cluster benchmarks ("make bench-cluster", also the last step of "make
# bench"): replication lag, and one node's shorten and redirect throughput
# in a three-node cluster against the same node alone.  See
# bench/cluster.pl; writes bench/RESULTS-cluster.md.
#
# Installs what it lacks by package name (wrk, nats-server), builds the
# module and the store tool, and runs every server itself on 127.0.0.1,
# ports from TEST_NGINX_PORT + 100 (default 2084 on).
#
# BENCH_RUNS, BENCH_SECS, BENCH_CONNS as for bench/run.sh (defaults 3, 4,
# 8); BENCH_LAG_SAMPLES (300); BENCH_CLUSTER_RESULTS (the report).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

"$top/scripts/deps.sh"

if ! command -v wrk > /dev/null; then
    echo "bench-cluster: installing wrk"
    sudo=
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends wrk > /dev/null
fi

make -s all > /dev/null

export TEST_NGINX_BINARY=${TEST_NGINX_BINARY:-$(command -v nginx || echo /usr/sbin/nginx)}
export TEST_NGINX_LOAD_MODULES=${TEST_NGINX_LOAD_MODULES:-$top/build/ngx_mcp_module.so}

exec perl -I "$top/t/lib" "$top/bench/cluster.pl"
