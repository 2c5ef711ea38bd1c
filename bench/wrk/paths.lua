-- GET requests to random codes: wrk -s paths.lua URL -- CODES_FILE PREFIX
-- CODES_FILE has one code a line; each request is PREFIX .. a random one
-- of them (PREFIX "/" for the shorteners, "/r/" for nginx's return 302).
-- The requests are formatted once, in init(), so that the load generator
-- spends as little as it can on each.

local reqs, n = {}, 0

function init(args)
    local prefix = args[2] or "/"
    for line in io.lines(args[1]) do
        n = n + 1
        reqs[n] = wrk.format("GET", prefix .. line)
    end
    math.randomseed(os.time() + n)
end

function request()
    return reqs[math.random(n)]
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "RESULT requests=%d seconds=%.3f p50_us=%d p99_us=%d errors=%d non2xx3xx=%d\n",
        summary.requests, summary.duration / 1e6,
        latency:percentile(50), latency:percentile(99),
        e.connect + e.read + e.write + e.timeout, e.status))
end
