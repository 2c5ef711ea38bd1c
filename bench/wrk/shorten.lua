-- POST /shorten with a new ~40-byte URL each time:
-- wrk -s shorten.lua URL/shorten

local n, tag = 0, 0

function init(args)
    math.randomseed(os.time())
    tag = math.random(1, 1000000)
end

function request()
    n = n + 1
    return wrk.format("POST", nil, { ["Content-Type"] = "application/json" },
        string.format('{"OriginalURL":"https://www.example.com/articles/%06d-%07d"}',
                      tag, n))
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "RESULT requests=%d seconds=%.3f p50_us=%d p99_us=%d errors=%d non2xx3xx=%d\n",
        summary.requests, summary.duration / 1e6,
        latency:percentile(50), latency:percentile(99),
        e.connect + e.read + e.write + e.timeout, e.status))
end
