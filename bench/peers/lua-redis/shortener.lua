-- A URL shortener in the classic OpenResty design: nginx + Lua in front,
-- Redis behind.  POST /shorten {"OriginalURL": url} (or {"url": url})
-- stores url under a random 7-character code (SET ... NX, retried on a
-- collision) and answers 201 {"ShortURL", "code", "short_url", "url"};
-- GET /{code} answers 302 to it, or 404 in JSON.
--
-- Connections to Redis are kept in the cosocket pool (set_keepalive).

local redis = require "nginx.redis"      -- lua-resty-redis, as Debian names it
local cjson = require "cjson.safe"

local _M = {}

local ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
local CODE_LEN = 7
local PREFIX = "u:"

local host, port = "127.0.0.1", 6379
local byte_of = {}

function _M.init(redis_host, redis_port)
    host, port = redis_host, redis_port
    for i = 1, #ALPHABET do
        byte_of[i] = ALPHABET:byte(i)
    end
end

function _M.init_worker()
    math.randomseed(ngx.now() * 1000 + ngx.worker.pid())
end

local function json(status, t)
    ngx.status = status
    ngx.header["Content-Type"] = "application/json"
    ngx.print(cjson.encode(t))
    return ngx.exit(status)
end

local function connect()
    local red = redis:new()
    red:set_timeouts(1000, 1000, 1000)
    local ok, err = red:connect(host, port)
    if not ok then
        return nil, err
    end
    return red
end

local random, char = math.random, string.char
local buf = {}

local function random_code()
    for i = 1, CODE_LEN do
        buf[i] = byte_of[random(62)]
    end
    return char(unpack(buf, 1, CODE_LEN))
end

function _M.shorten()
    if ngx.req.get_method() ~= "POST" then
        ngx.header["Allow"] = "POST"
        return json(405, { message = "Method not allowed",
                           error = "method_not_allowed" })
    end

    ngx.req.read_body()
    local body = ngx.req.get_body_data()
    local req = body and cjson.decode(body)
    local url = type(req) == "table" and (req.OriginalURL or req.url)

    if type(url) ~= "string" or #url > 2048
       or not url:find("^[hH][tT][tT][pP][sS]?://[^/%s]") or url:find("%c")
    then
        return json(400, { message = "OriginalURL is required",
                           error = "missing_url" })
    end

    local red, err = connect()
    if not red then
        ngx.log(ngx.ERR, "redis: ", err)
        return json(500, { message = "store unavailable", error = "internal" })
    end

    local code
    for _ = 1, 16 do
        local c = random_code()
        local ok, serr = red:set(PREFIX .. c, url, "NX")
        if not ok then
            ngx.log(ngx.ERR, "redis: ", serr)
            return json(500, { message = "store failed", error = "internal" })
        end
        if ok ~= ngx.null then
            code = c
            break
        end
    end

    red:set_keepalive(60000, 64)

    if not code then
        return json(500, { message = "no free code", error = "internal" })
    end

    return json(201, { ShortURL = code, code = code,
                       short_url = "http://" .. (ngx.var.http_host or "")
                                   .. "/" .. code,
                       url = url })
end

function _M.redirect()
    local code = ngx.var.uri:sub(2)

    if #code == 0 or #code > 64 or code:find("[^%w_-]") then
        return json(404, { message = "Short URL not found",
                           error = "not_found" })
    end

    local red, err = connect()
    if not red then
        ngx.log(ngx.ERR, "redis: ", err)
        return json(500, { message = "store unavailable", error = "internal" })
    end

    local url, gerr = red:get(PREFIX .. code)
    if gerr then
        ngx.log(ngx.ERR, "redis: ", gerr)
        return json(500, { message = "store failed", error = "internal" })
    end

    red:set_keepalive(60000, 64)

    if url == ngx.null then
        return json(404, { message = "Short URL not found",
                           error = "not_found" })
    end

    return ngx.redirect(url, 302)
end

return _M
