-- Creates links through the HTTP API, one POST /shorten each, with the
-- aliases of a file in its order: wrk -t1 -s load.lua URL/shorten -- ALIASES
-- ALIASES has one alias a line; each gets its own URL of about 50 bytes.
-- The thread stops once every alias has had its answer; wrk's duration
-- (-d) is only a bound.  What is left of a connection's requests after
-- the last alias is a GET of /r/ (nginx's own "return 302"), not counted;
-- run it with one thread (-t1).

local aliases, n, sent, answered, created = {}, 0, 0, 0, 0
local extra, verified = nil, false

function init(args)
    extra = wrk.format("GET", "/r/")
    for line in io.lines(args[1]) do
        n = n + 1
        aliases[n] = line
    end
end

-- wrk calls request() once after init() to check what it returns, and
-- does not send that one: it must not use an alias up.
function request()
    if not verified then
        verified = true
        return extra
    end
    if sent == n then
        return extra
    end
    sent = sent + 1
    return wrk.format("POST", nil, { ["Content-Type"] = "application/json" },
        string.format('{"url":"https://www.example.com/blog/posts/%08d/read-more","alias":"%s"}',
                      sent, aliases[sent]))
end

function response(status, headers, body)
    if status == 302 then
        return
    end
    answered = answered + 1
    if status == 201 then
        created = created + 1
    end
    if answered == n then
        io.write(string.format("LOADED created=%d answered=%d\n", created,
                               answered))
        io.flush()
        wrk.thread:stop()
    end
end
