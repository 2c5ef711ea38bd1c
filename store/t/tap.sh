# What the tool's TAP scripts share, sourced by them: the tool to test, a
# temporary directory removed at exit, and ok().
#
# MCP_STORE_TOOL   the tool to test (default ../build/store/mcp-store,
#                  from the store directory, as "make -C store test" runs)

tool=${MCP_STORE_TOOL:-../build/store/mcp-store}
dir=$(mktemp -d "${TMPDIR:-/tmp}/mcp_store_cli.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT

n=0
failed=0

# ok STATUS WHAT: one TAP line, "ok" if STATUS is 0
ok() {
    n=$((n + 1))
    if [ "$1" = 0 ]; then
        echo "ok $n - $2"
    else
        echo "not ok $n - $2"
        failed=$((failed + 1))
    fi
}
