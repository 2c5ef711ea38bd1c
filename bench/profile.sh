#!/usr/bin/env bash
# Instructions per request, which a noisy machine does not change: nginx
# with the module in one process (master_process off) under valgrind
# --tool=callgrind, serving requests on one keep-alive connection (curl).
# Each scenario runs twice, with PROFILE_REQUESTS_BASE requests and with
# PROFILE_REQUESTS more; the difference of the two, symbol by symbol,
# divided by PROFILE_REQUESTS, is the cost of one request with start-up
# and shut-down taken out (the event loop, parsing, the handler, writing
# the response; the visit-counter flush timer runs once a second, so
# hardly at all under valgrind).  Scenarios:
#
#   redirect     GET /{code}, codes of PROFILE_CODES in turn
#   return302    GET /r/{code}: nginx's own "return 302"
#   miss         GET /{code} of a code that is not there (404)
#   shorten      POST /shorten
#   resolve_url  MCP tools/call resolve_url (with a session)
#   list_urls    MCP tools/call list_urls, a page of 50 links (with a
#                session)
#   admin_list   GET /admin/links?limit=50: mcp_admin's page of 50 links
#   return200    the same POST, headers and body, to /j/: nginx's own
#                "return 200" of a reply of the same size (the floor of
#                any JSON-RPC call inside nginx)
#
# Prints "profile scenario=S requests=N ir_per_request=X" lines; leaves
# the callgrind files and, per scenario, per-request.S.txt (instructions
# per request by symbol, exclusive, most first) in PROFILE_OUT.  Static
# functions of a stripped nginx binary show as addresses: PROFILE_NGINX
# may name an nginx binary with symbols built from the same source.
#
# PROFILE_STORE     a store directory with the links of PROFILE_CODES (it
#                   is used, not copied: no other nginx may have it open)
# PROFILE_CODES     codes, one a line
# PROFILE_PORT      default 2106
# PROFILE_OUT       default build/bench/profile
# PROFILE_REQUESTS  default 1000 (PROFILE_REQUESTS_BASE default 200)
# PROFILE_SCENARIOS default "redirect return302 miss shorten resolve_url"
# PROFILE_NGINX     default nginx
# PROFILE_MODULE    default build/ngx_mcp_module.so (another build of the
#                   module: a "before" to compare with)
# PROFILE_TAG       appended to the scenario names in the output
# PROFILE_DURABILITY
#                   the store's durability parameters (default
#                   "durability=interval sync_interval=1s", as make bench)
# PROFILE_IDLE_SESSIONS
#                   MCP sessions that each subscribe to a link of
#                   PROFILE_CODES and say no more, made before each run's
#                   requests (default 0)
# PROFILE_IDLE_WAIT seconds to wait after making them (default 0; past
#                   the streams' replay window, 300 s, they are sessions
#                   that no notification reaches any more)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
bench=$top/bench
port=${PROFILE_PORT:-2106}
pout=${PROFILE_OUT:-$top/build/bench/profile}
n1=${PROFILE_REQUESTS_BASE:-200}
n2=$(( n1 + ${PROFILE_REQUESTS:-1000} ))
nginx_bin=${PROFILE_NGINX:-nginx}
tag=${PROFILE_TAG:-}
scenarios=${PROFILE_SCENARIOS:-redirect return302 miss shorten resolve_url}
store=${PROFILE_STORE:?PROFILE_STORE: a store directory}
codes=${PROFILE_CODES:?PROFILE_CODES: a file of codes}

die() { printf 'profile: %s\n' "$*" >&2; exit 1; }
listening() { ss -Hltn "sport = :$1" | grep -q .; }

command -v valgrind > /dev/null || die "valgrind is not installed"
listening "$port" && die "127.0.0.1:$port is in use"

mkdir -p "$pout"
prefix=$(mktemp -d "${TMPDIR:-/tmp}/ngx_mcp_profile.XXXXXX")
chmod 0755 "$prefix"
mkdir -p "$prefix/conf" "$prefix/logs" "$prefix/tmp"
vg_pid=

cleanup() {
    if [ -n "$vg_pid" ]; then
        kill -TERM "$vg_pid" 2> /dev/null || true
        wait "$vg_pid" 2> /dev/null || true
    fi
    rm -rf "$prefix"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

sed -e "s|@MODULE@|${PROFILE_MODULE:-$top/build/ngx_mcp_module.so}|" \
    -e "s|@PORT@|$port|" \
    -e "s|@STORE@|$store|" -e "s|@MAP_SIZE@|16g|" \
    -e "s|@DURABILITY@|${PROFILE_DURABILITY:-durability=interval sync_interval=1s}|" \
    -e "s|^master_process .*|master_process       off;|" \
    -e "/worker_cpu_affinity/d" \
    "$bench/nginx.conf" > "$prefix/conf/nginx.conf"

url=http://127.0.0.1:$port
mcp_headers=(-H 'Content-Type: application/json'
             -H 'Accept: application/json, text/event-stream'
             -H 'MCP-Protocol-Version: 2025-11-25')

# mcp_headers, as lines of a curl config
mcp_config() {
    printf 'header = "%s"\n' "${mcp_headers[1]}" "${mcp_headers[3]}" \
        "${mcp_headers[5]}"
}

# the curl config of N requests for a scenario, on one connection
requests() {
    local scen=$1 session=${2:-} i=0 code
    while [ "$i" -lt "$n" ]; do
        while read -r code && [ "$i" -lt "$n" ]; do
            i=$((i + 1))
            [ "$i" -gt 1 ] && echo "next"
            case $scen in
            redirect)  echo "url = \"$url/$code\"" ;;
            return302) echo "url = \"$url/r/$code\"" ;;
            miss)      echo "url = \"$url/_${code:1}\"" ;;
            shorten)
                echo "url = \"$url/shorten\""
                echo "data = \"{\\\"OriginalURL\\\":\\\"https://www.example.com/articles/p$i\\\"}\"" ;;
            resolve_url|list_urls|return200)
                if [ "$scen" = return200 ]; then
                    echo "url = \"$url/j/$code\""
                else
                    echo "url = \"$url/mcp\""
                fi
                mcp_config
                echo "header = \"Mcp-Session-Id: $session\""
                if [ "$scen" = list_urls ]; then
                    echo "data = \"{\\\"jsonrpc\\\":\\\"2.0\\\",\\\"id\\\":$i,\\\"method\\\":\\\"tools/call\\\",\\\"params\\\":{\\\"name\\\":\\\"list_urls\\\",\\\"arguments\\\":{\\\"limit\\\":50}}}\""
                else
                    echo "data = \"{\\\"jsonrpc\\\":\\\"2.0\\\",\\\"id\\\":$i,\\\"method\\\":\\\"tools/call\\\",\\\"params\\\":{\\\"name\\\":\\\"resolve_url\\\",\\\"arguments\\\":{\\\"code\\\":\\\"$code\\\"}}}\""
                fi ;;
            admin_list) echo "url = \"$url/admin/links?limit=50\"" ;;
            esac
            echo "output = \"/dev/null\""
        done < "$codes"
    done
}

# a curl config of COUNT MCP requests, one a code: FUNC I CODE prints
# the lines of request I that are its own
idle_requests() {
    local count=$1 fn=$2 i=0 code
    while [ "$i" -lt "$count" ]; do
        while read -r code && [ "$i" -lt "$count" ]; do
            i=$((i + 1))
            [ "$i" -gt 1 ] && echo "next"
            echo "url = \"$url/mcp\""
            mcp_config
            "$fn" "$i" "$code"
        done < "$codes"
    done
}

idle_initialize() {
    echo "data = \"{\\\"jsonrpc\\\":\\\"2.0\\\",\\\"id\\\":0,\\\"method\\\":\\\"initialize\\\",\\\"params\\\":{\\\"protocolVersion\\\":\\\"2025-11-25\\\",\\\"capabilities\\\":{},\\\"clientInfo\\\":{\\\"name\\\":\\\"idle\\\",\\\"version\\\":\\\"1\\\"}}}\""
    echo "dump-header = \"$prefix/idle.$1\""
    echo "output = \"/dev/null\""
}

idle_subscribe() {
    tr -d '\r' < "$prefix/idle.$1" \
        | sed -n 's/^[Mm]cp-[Ss]ession-[Ii]d: \(.*\)/header = "Mcp-Session-Id: \1"/p'
    echo "data = \"{\\\"jsonrpc\\\":\\\"2.0\\\",\\\"id\\\":1,\\\"method\\\":\\\"resources/subscribe\\\",\\\"params\\\":{\\\"uri\\\":\\\"shorturl://$2\\\"}}\""
    echo "output = \"$prefix/subscribed.$1\""
}

# PROFILE_IDLE_SESSIONS sessions, each subscribed to a link, then the wait
idle_sessions() {
    local count=${PROFILE_IDLE_SESSIONS:-0}

    [ "$count" -gt 0 ] || return 0

    idle_requests "$count" idle_initialize > "$prefix/idle"
    curl -s -K "$prefix/idle" > /dev/null
    idle_requests "$count" idle_subscribe > "$prefix/idle"
    curl -s -K "$prefix/idle" > /dev/null

    [ "$(cat "$prefix"/subscribed.* | grep -c '"result":{}')" = "$count" ] \
        || die "$count idle sessions were not all subscribed"
    rm -f "$prefix"/idle.* "$prefix"/subscribed.*

    sleep "${PROFILE_IDLE_WAIT:-0}"
}

# one run of nginx under callgrind for a scenario, COUNT requests:
# run_once SCENARIO COUNT OUTFILE
run_once() {
    local scen=$1 count=$2 cg=$3 session=
    rm -f "$cg"
    valgrind --tool=callgrind --callgrind-out-file="$cg" \
        "$nginx_bin" -p "$prefix/" -c conf/nginx.conf -e logs/error.log \
        > "$cg.log" 2>&1 &
    vg_pid=$!

    for _ in $(seq 600); do
        listening "$port" && break
        kill -0 "$vg_pid" 2> /dev/null || break
        sleep 0.1
    done
    listening "$port" || die "nginx under valgrind did not start ($cg.log)"

    if [ "$scen" = resolve_url ] || [ "$scen" = list_urls ]; then
        session=$(curl -s -D - -o /dev/null "$url/mcp" "${mcp_headers[@]}" \
            -d '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"profile","version":"1"}}}' \
            | tr -d '\r' | sed -n 's/^[Mm]cp-[Ss]ession-[Ii]d: //p')
        curl -s -o /dev/null "$url/mcp" "${mcp_headers[@]}" \
            -H "Mcp-Session-Id: $session" \
            -d '{"jsonrpc":"2.0","method":"notifications/initialized"}'
    fi

    idle_sessions

    n=$count requests "$scen" "$session" > "$prefix/requests"
    curl -s -K "$prefix/requests" > /dev/null

    kill -TERM "$vg_pid"
    wait "$vg_pid" 2> /dev/null || true
    vg_pid=
}

# "Ir<TAB>symbol" lines of a callgrind file, every symbol
symbols() {
    callgrind_annotate --inclusive=no --threshold=100 "$1" 2> /dev/null \
        | awk '$1 ~ /^[0-9][0-9,]*$/ && $2 ~ /^\(/ {
                   ir = $1; gsub(",", "", ir)
                   sub(/^ *[0-9,]+ +\( *[0-9.]+%\) +/, "")
                   if ($0 ~ /PROGRAM TOTALS/) $0 = "TOTAL"
                   print ir "\t" $0 }'
}

for scen in $scenarios; do
    run_once "$scen" "$n1" "$pout/callgrind.$scen$tag.$n1"
    run_once "$scen" "$n2" "$pout/callgrind.$scen$tag.$n2"
    symbols "$pout/callgrind.$scen$tag.$n1" > "$prefix/a"
    symbols "$pout/callgrind.$scen$tag.$n2" > "$prefix/b"

    # per request: (run of n2 - run of n1) / (n2 - n1), by symbol
    awk -F'\t' -v d=$((n2 - n1)) '
        NR == FNR { a[$2] = $1; next }
        { b[$2] = $1 }
        END {
            for (s in b) { x = (b[s] - a[s]) / d; if (x >= 1) printf "%d\t%s\n", x, s }
            for (s in a) if (!(s in b) && a[s] / d >= 1) printf "%d\t%s\n", -a[s] / d, s
        }' "$prefix/a" "$prefix/b" | sort -t$'\t' -k1,1nr \
        > "$pout/per-request.$scen$tag.txt"

    total=$(awk -F'\t' '$2 == "TOTAL" { print $1 }' \
            "$pout/per-request.$scen$tag.txt")
    [ -n "$total" ] || die "no totals for $scen$tag (see $pout)"
    echo "profile scenario=$scen$tag requests=$((n2 - n1)) ir_per_request=$total"
done
