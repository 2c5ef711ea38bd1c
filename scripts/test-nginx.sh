#!/usr/bin/env bash
# Runs the Test::Nginx suites in t/ against build/ngx_mcp_module.so and the
# system's nginx.  Upstream Test::Nginx is used when it is on @INC (for
# example PERL5LIB=/path/to/test-nginx/lib); otherwise the compatible
# runner in t/lib/.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

export TEST_NGINX_BINARY=${TEST_NGINX_BINARY:-$(command -v nginx || echo /usr/sbin/nginx)}
export TEST_NGINX_LOAD_MODULES=${TEST_NGINX_LOAD_MODULES:-$top/build/ngx_mcp_module.so}

inc=()
if ! perl -MTest::Nginx::Socket -e 1 2> /dev/null; then
    inc=(-I "$top/t/lib")
fi

exec prove "${inc[@]}" "${@:-t/}"
