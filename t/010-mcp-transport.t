# vim:set ft= ts=4 sw=4 et fdm=marker:

use Test::Nginx::Socket;
use File::Temp qw(tempdir);

# The MCP Streamable HTTP transport: headers, methods, JSON-RPC framing and
# their errors, sessions.  Sessions used below are made with the store's
# tool, so that every block can run again with the same result.

my $dir = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $tool = $ENV{TEST_NGINX_MCP_STORE_TOOL} || 'build/store/mcp-store';
my $now = time;

for my $s (["s1", "last_seen=$now"], ["old", "last_seen=1000000000"],
           ["gone", "last_seen=$now"])
{
    system($tool, 'session-put', $dir, @$s) == 0
        or die "cannot make session @$s with $tool\n";
}

$ENV{TEST_NGINX_DATA_DIR} = $dir;

repeat_each(2);
no_shuffle();
no_root_location();

plan tests => repeat_each() * (3 * blocks() + 1);

our $HttpConfig = <<'_EOC_';
    mcp_store $TEST_NGINX_DATA_DIR;
_EOC_

# what a client of a session sends with each message, unless a block says
# otherwise
our $Headers = "Content-Type: application/json\n"
    . "Accept: application/json, text/event-stream\n"
    . "Mcp-Session-Id: s1\n";

our $Init = '{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": '
    . '{"protocolVersion": "%s", "capabilities": {}, '
    . '"clientInfo": {"name": "t", "version": "1"}}}';

add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->http_config) {
        $block->set_value("http_config", $HttpConfig);
    }

    if (!defined $block->config) {
        $block->set_value("config", "location = /mcp { mcp_endpoint; }");
    }

    if (!defined $block->more_headers) {
        $block->set_value("more_headers", $Headers);
    }

    if (!defined $block->no_error_log && !defined $block->error_log) {
        $block->set_value("no_error_log", "[error]");
    }
});

run_tests();

__DATA__

=== TEST 1: initialize starts a session: Mcp-Session-Id, negotiated version
--- request eval
"POST /mcp\n" . sprintf($::Init, "2025-11-25")
--- more_headers
Content-Type: application/json
Accept: application/json, text/event-stream
--- response_headers_like
Mcp-Session-Id: ^[0-9A-Za-z]{32}$
--- response_body_like: ^\{"jsonrpc":"2.0","id":1,"result":\{"protocolVersion":"2025-11-25","capabilities":\{"tools":\{[^}]*\},"resources":\{"subscribe":true,[^}]*\},"prompts":\{[^}]*\},"logging":\{\},"completions":\{\}\},"serverInfo":\{"name":"ngx_mcp",



=== TEST 2: an older supported version is kept
--- request eval
"POST /mcp\n" . sprintf($::Init, "2025-03-26")
--- more_headers
Content-Type: application/json
Accept: application/json, text/event-stream
--- response_body_like: "protocolVersion":"2025-03-26"



=== TEST 3: an unknown version gets the latest
--- request eval
"POST /mcp\n" . sprintf($::Init, "1999-01-01")
--- more_headers
Content-Type: application/json
Accept: application/json, text/event-stream
--- response_body_like: "protocolVersion":"2025-11-25"



=== TEST 4: initialize without protocolVersion: -32602
--- request
POST /mcp
{"jsonrpc": "2.0", "id": 7, "method": "initialize", "params": {"capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
--- response_body
{"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"Invalid params: protocolVersion is required"}}



=== TEST 5: Accept without text/event-stream is 406
--- request
POST /mcp
{"jsonrpc": "2.0", "id": 1, "method": "ping"}
--- more_headers
Content-Type: application/json
Accept: application/json
Mcp-Session-Id: s1
--- error_code: 406
--- response_body
{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Accept must allow both application/json and text/event-stream"}}



=== TEST 6: no Accept at all is 406
--- request
POST /mcp
{"jsonrpc": "2.0", "id": 1, "method": "ping"}
--- more_headers
Content-Type: application/json
Mcp-Session-Id: s1
--- error_code: 406
--- response_body_like: "code":-32600



=== TEST 7: a body that is not JSON is 415
--- request
POST /mcp
{"jsonrpc": "2.0", "id": 1, "method": "ping"}
--- more_headers
Content-Type: text/plain
Accept: application/json, text/event-stream
Mcp-Session-Id: s1
--- error_code: 415
--- response_body
{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Content-Type must be application/json"}}



=== TEST 8: GET without a session is 400: the stream is a session's
--- request
GET /mcp
--- more_headers
Accept: text/event-stream
--- error_code: 400
--- response_body
{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Bad Request: the Mcp-Session-Id header is required; send initialize first"}}



=== TEST 9: PUT is 405 with a JSON-RPC error
--- request
PUT /mcp
{}
--- error_code: 405
--- response_body
{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"method PUT is not allowed: POST sends messages, GET opens the session's stream, DELETE ends a session"}}



=== TEST 10: malformed JSON is -32700 and 400
--- request
POST /mcp
{"jsonrpc": "2.0", "id": 1, "method": "ping"
--- error_code: 400
--- response_body_like: ^\{"jsonrpc":"2.0","id":null,"error":\{"code":-32700,"message":"Parse error at line \d+, column \d+: [^"]+"\}\}$



=== TEST 11: nesting deeper than 64 levels is refused before parsing
--- request eval
"POST /mcp\n" . ('[' x 100) . (']' x 100)
--- error_code: 400
--- response_body
{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error: JSON nested deeper than 64 levels"}}



=== TEST 12: batches are refused
--- request
POST /mcp
[{"jsonrpc": "2.0", "id": 1, "method": "ping"}, {"jsonrpc": "2.0", "id": 2, "method": "ping"}]
--- error_code: 400
--- response_body
{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request: batches are not supported; send one message per POST"}}



=== TEST 13: the wrong jsonrpc version
--- request
POST /mcp
{"jsonrpc": "1.0", "id": 3, "method": "ping"}
--- error_code: 400
--- response_body
{"jsonrpc":"2.0","id":3,"error":{"code":-32600,"message":"Invalid Request: not a JSON-RPC 2.0 message (\"jsonrpc\": \"2.0\" is required)"}}



=== TEST 14: an id of the wrong type
--- request
POST /mcp
{"jsonrpc": "2.0", "id": {"a": 1}, "method": "ping"}
--- error_code: 400
--- response_body
{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request: \"id\" must be a string or an integer"}}



=== TEST 15: a method that is not a string
--- request
POST /mcp
{"jsonrpc": "2.0", "id": "x", "method": 42}
--- error_code: 400
--- response_body
{"jsonrpc":"2.0","id":"x","error":{"code":-32600,"message":"Invalid Request: \"method\" must be a string"}}



=== TEST 16: params that are not an object
--- request
POST /mcp
{"jsonrpc": "2.0", "id": 5, "method": "ping", "params": [1, 2]}
--- response_body
{"jsonrpc":"2.0","id":5,"error":{"code":-32602,"message":"Invalid params: \"params\" must be an object"}}



=== TEST 17: a message with neither method nor result
--- request
POST /mcp
{"jsonrpc": "2.0", "id": 5}
--- error_code: 400
--- response_body_like: "code":-32600,"message":"Invalid Request: a message needs



=== TEST 18: no Mcp-Session-Id after initialize is 400
--- request
POST /mcp
{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
--- more_headers
Content-Type: application/json
Accept: application/json, text/event-stream
--- error_code: 400
--- response_body
{"jsonrpc":"2.0","id":1,"error":{"code":-32600,"message":"Bad Request: the Mcp-Session-Id header is required; send initialize first"}}



=== TEST 19: an unknown session is 404
--- request
POST /mcp
{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
--- more_headers
Content-Type: application/json
Accept: application/json, text/event-stream
Mcp-Session-Id: NoSuchSession
--- error_code: 404
--- response_body
{"jsonrpc":"2.0","id":1,"error":{"code":-32001,"message":"Session not found: it ended or expired; send initialize again"}}



=== TEST 20: a session idle past mcp_session_timeout is 404
--- http_config
mcp_store $TEST_NGINX_DATA_DIR;
mcp_session_timeout 1h;
--- request
POST /mcp
{"jsonrpc": "2.0", "id": 1, "method": "ping"}
--- more_headers
Content-Type: application/json
Accept: application/json, text/event-stream
Mcp-Session-Id: old
--- error_code: 404
--- response_body_like: "code":-32001



=== TEST 21: an unsupported MCP-Protocol-Version is 400
--- request
POST /mcp
{"jsonrpc": "2.0", "id": 1, "method": "ping"}
--- more_headers
Content-Type: application/json
Accept: application/json, text/event-stream
Mcp-Session-Id: s1
MCP-Protocol-Version: 2099-01-01
--- error_code: 400
--- response_body
{"jsonrpc":"2.0","id":1,"error":{"code":-32600,"message":"Bad Request: unsupported MCP-Protocol-Version \"2099-01-01\" (supported: 2025-11-25, 2025-06-18, 2025-03-26)"}}



=== TEST 22: a foreign Origin is 403 (DNS rebinding)
--- request
POST /mcp
{"jsonrpc": "2.0", "id": 1, "method": "ping"}
--- more_headers
Content-Type: application/json
Accept: application/json, text/event-stream
Mcp-Session-Id: s1
Origin: https://evil.example
--- error_code: 403
--- response_body
{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Forbidden: Origin \"https://evil.example\" is not allowed"}}



=== TEST 23: a localhost Origin is allowed by default
--- request
POST /mcp
{"jsonrpc": "2.0", "id": 1, "method": "ping"}
--- more_headers
Content-Type: application/json
Accept: application/json, text/event-stream
Mcp-Session-Id: s1
Origin: http://localhost:6274
--- response_body
{"jsonrpc":"2.0","id":1,"result":{}}



=== TEST 24: a foreign Host is 403
--- request
POST /mcp
{"jsonrpc": "2.0", "id": 1, "method": "ping"}
--- more_headers
Content-Type: application/json
Accept: application/json, text/event-stream
Mcp-Session-Id: s1
Host: attacker.example
--- error_code: 403
--- response_body
{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Forbidden: Host \"attacker.example\" is not allowed"}}



=== TEST 25: mcp_allowed_origins lets a named origin in
--- config
location = /mcp { mcp_endpoint; mcp_allowed_origins https://app.example; }
--- request
POST /mcp
{"jsonrpc": "2.0", "id": 1, "method": "ping"}
--- more_headers
Content-Type: application/json
Accept: application/json, text/event-stream
Mcp-Session-Id: s1
Origin: https://app.example
--- response_body
{"jsonrpc":"2.0","id":1,"result":{}}



=== TEST 26: mcp_allowed_hosts replaces the default names
--- config
location = /mcp { mcp_endpoint; mcp_allowed_hosts api.example; }
--- request
POST /mcp
{"jsonrpc": "2.0", "id": 1, "method": "ping"}
--- error_code: 403
--- response_body_like: Forbidden: Host \\"localhost\\" is not allowed



=== TEST 27: mcp_max_message_size gives 413
--- config
location = /mcp { mcp_endpoint; mcp_max_message_size 64; }
--- request
POST /mcp
{"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"_meta": {"padding": "xxxxxxxxxxxxxxxx"}}}
--- error_code: 413
--- response_body
{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"the message is larger than 64 bytes"}}



=== TEST 28: ping
--- request
POST /mcp
{"jsonrpc": "2.0", "id": "p", "method": "ping"}
--- response_body
{"jsonrpc":"2.0","id":"p","result":{}}



=== TEST 29: an unknown method is -32601
--- request
POST /mcp
{"jsonrpc": "2.0", "id": 9, "method": "tools/frobnicate"}
--- response_body
{"jsonrpc":"2.0","id":9,"error":{"code":-32601,"message":"Method not found: tools/frobnicate"}}



=== TEST 30: notifications get 202 and no body
--- request
POST /mcp
{"jsonrpc": "2.0", "method": "notifications/initialized"}
--- error_code: 202
--- response_body



=== TEST 31: an error response to no request of the server is 400
--- request
POST /mcp
{"jsonrpc": "2.0", "id": 77, "error": {"code": -1, "message": "no"}}
--- error_code: 400
--- response_body
{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Bad Request: no request of this server to this session waits for that id"}}



=== TEST 32: a notification without a session is 400
--- request
POST /mcp
{"jsonrpc": "2.0", "method": "notifications/initialized"}
--- more_headers
Content-Type: application/json
Accept: application/json, text/event-stream
--- error_code: 400
--- response_body_like: Mcp-Session-Id header is required



=== TEST 33: DELETE without a session id is 400
--- request
DELETE /mcp
--- error_code: 400
--- more_headers
Accept: application/json, text/event-stream
--- response_body_like: Mcp-Session-Id header is required



=== TEST 34: GET of an unknown session is 404
--- request
GET /mcp
--- more_headers
Accept: text/event-stream
Mcp-Session-Id: nosuch
--- error_code: 404
--- response_body
{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Session not found: it ended or expired; send initialize again"}}



=== TEST 35: GET that does not accept text/event-stream is 406
--- request
GET /mcp
--- more_headers
Accept: application/json
Mcp-Session-Id: s1
--- error_code: 406
--- response_body
{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Accept must allow text/event-stream"}}



=== TEST 36: a malformed Last-Event-ID is 400
--- request
GET /mcp
--- more_headers
Accept: text/event-stream
Mcp-Session-Id: s1
Last-Event-ID: 01-x
--- error_code: 400
--- response_body
{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Bad Request: Last-Event-ID is not an event id of this server"}}



=== TEST 37: a Last-Event-ID of no stream of the session is 400
--- request
GET /mcp
--- more_headers
Accept: text/event-stream
Mcp-Session-Id: s1
Last-Event-ID: 7-12
--- error_code: 400
--- response_body
{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Bad Request: Last-Event-ID names no stream of this session that is still kept (events are kept 300 s)"}}



=== TEST 38: a Last-Event-ID from the future is 400
--- request
GET /mcp
--- more_headers
Accept: text/event-stream
Mcp-Session-Id: s1
Last-Event-ID: 0-9999999999999999999
--- error_code: 400
--- response_body
{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Bad Request: Last-Event-ID names no stream of this session that is still kept (events are kept 300 s)"}}



=== TEST 39: a response to no request of the server is 400, and kept nowhere
--- request
POST /mcp
{"jsonrpc": "2.0", "id": 99, "result": {}}
--- error_code: 400
--- response_body
{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Bad Request: no request of this server to this session waits for that id"}}



=== TEST 40: a response with a string id is 400
--- request
POST /mcp
{"jsonrpc": "2.0", "id": "x", "error": {"code": -1, "message": "no"}}
--- error_code: 400
--- response_body
{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Bad Request: no request of this server to this session waits for that id"}}



=== TEST 41: names of mcp_allowed_hosts match in any case; "*" lets any in
--- config
location = /mcp {
    mcp_endpoint;
    mcp_allowed_hosts Api.Example;
    mcp_allowed_origins https://app.example *;
}
--- request
POST /mcp
{"jsonrpc": "2.0", "id": 1, "method": "ping"}
--- more_headers eval
$::Headers . "Host: api.EXAMPLE\nOrigin: https://elsewhere.example\n"
--- response_body
{"jsonrpc":"2.0","id":1,"result":{}}
