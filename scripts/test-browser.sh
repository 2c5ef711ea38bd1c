#!/usr/bin/env bash
# The dashboard's tests in a real browser (t/browser/): Debian's chromium
# (scripts/deps.sh installs it) driven by playwright-core from npm, which
# t/browser/package-lock.json pins; no browser is downloaded.  nginx runs
# on 127.0.0.1:TEST_NGINX_PORT+140 under t/servroot-browser/; screenshots
# go to build/browser/.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

export TEST_NGINX_BINARY=${TEST_NGINX_BINARY:-$(command -v nginx || echo /usr/sbin/nginx)}
export TEST_NGINX_LOAD_MODULES=${TEST_NGINX_LOAD_MODULES:-$top/build/ngx_mcp_module.so}
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

if [ ! -x "$CHROMIUM" ]; then
    echo "test-browser.sh: no $CHROMIUM (Debian: chromium)" >&2
    exit 1
fi

if [ ! -d t/browser/node_modules/playwright-core ]; then
    (cd t/browser && npm ci --no-audit --no-fund --loglevel=error)
fi

exec node --test --test-reporter=spec t/browser/
