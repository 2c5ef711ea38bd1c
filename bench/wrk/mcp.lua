-- MCP tools/call resolve_url on random codes:
-- wrk -s mcp.lua URL/mcp -- CODES_FILE [SESSION_ID]
-- Without SESSION_ID no Mcp-Session-Id header is sent (a stateless server).

local codes, n, id = {}, 0, 0
local headers = {
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json, text/event-stream",
    ["MCP-Protocol-Version"] = "2025-11-25",
}

function init(args)
    for line in io.lines(args[1]) do
        n = n + 1
        codes[n] = line
    end
    if args[2] and args[2] ~= "" then
        headers["Mcp-Session-Id"] = args[2]
    end
    math.randomseed(os.time() + n)
end

function request()
    id = id + 1
    return wrk.format("POST", nil, headers, string.format(
        '{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"resolve_url","arguments":{"code":"%s"}}}',
        id, codes[math.random(n)]))
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "RESULT requests=%d seconds=%.3f p50_us=%d p99_us=%d errors=%d non2xx3xx=%d\n",
        summary.requests, summary.duration / 1e6,
        latency:percentile(50), latency:percentile(99),
        e.connect + e.read + e.write + e.timeout, e.status))
end
