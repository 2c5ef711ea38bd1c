# vim:set ft= ts=4 sw=4 et fdm=marker:

use Test::Nginx::Socket;
use File::Temp qw(tempdir);
use Digest::SHA qw(sha256_hex);

# CORS on /mcp for browser clients: the preflight (OPTIONS) of an allowed
# origin, the headers that let its page read every answer (errors too),
# and the refusal of any other origin, preflight or not.

my $dir = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $tool = $ENV{TEST_NGINX_MCP_STORE_TOOL} || 'build/store/mcp-store';

system($tool, 'session-put', $dir, 's1', 'last_seen=' . time) == 0
    or die "cannot make session s1 with $tool\n";

$ENV{TEST_NGINX_DATA_DIR} = $dir;
$ENV{TEST_NGINX_KEY_HASH} = sha256_hex('cors-key-0123456789');

repeat_each(2);
no_shuffle();
no_root_location();

# one test per header line and per status, body, error log check
plan tests => repeat_each() * 67;

our $HttpConfig = <<'_EOC_';
    mcp_store $TEST_NGINX_DATA_DIR;
_EOC_

our $Preflight = "Access-Control-Request-Method: POST\n"
    . "Access-Control-Request-Headers: content-type, mcp-session-id\n";

our $Post = "Content-Type: application/json\n"
    . "Accept: application/json, text/event-stream\n";

our $Allowed = <<'_EOH_';
Access-Control-Allow-Origin: http://localhost:6274
Access-Control-Expose-Headers: Mcp-Session-Id, WWW-Authenticate
Vary: Origin
_EOH_

add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->http_config) {
        $block->set_value("http_config", $HttpConfig);
    }

    if (!defined $block->config) {
        $block->set_value("config", "location = /mcp { mcp_endpoint; }");
    }

    if (!defined $block->no_error_log && !defined $block->error_log) {
        $block->set_value("no_error_log", "[error]");
    }
});

run_tests();

__DATA__

=== TEST 1: a preflight from an allowed origin: 204 with the CORS headers
--- request
OPTIONS /mcp
--- more_headers eval
"Origin: http://localhost:6274\n" . $::Preflight
--- error_code: 204
--- response_headers eval
$::Allowed . <<'_EOH_'
Access-Control-Allow-Methods: GET, POST, DELETE, OPTIONS
Access-Control-Allow-Headers: Content-Type, Accept, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID, Authorization
Access-Control-Max-Age: 600
_EOH_
--- response_body



=== TEST 2: a preflight from a foreign origin is 403, with no CORS header
--- request
OPTIONS /mcp
--- more_headers eval
"Origin: https://evil.example\n" . $::Preflight
--- error_code: 403
--- response_headers
!Access-Control-Allow-Origin
!Access-Control-Allow-Methods
--- response_body
{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Forbidden: Origin \"https://evil.example\" is not allowed"}}



=== TEST 3: mcp_allowed_origins: a listed origin gets its preflight answered
--- config
location = /mcp { mcp_endpoint; mcp_allowed_origins https://app.example; }
--- request
OPTIONS /mcp
--- more_headers eval
"Origin: https://app.example\n" . $::Preflight
--- error_code: 204
--- response_headers
Access-Control-Allow-Origin: https://app.example
Access-Control-Allow-Methods: GET, POST, DELETE, OPTIONS
Vary: Origin



=== TEST 4: mcp_allowed_origins replaces the default: localhost is refused
--- config
location = /mcp { mcp_endpoint; mcp_allowed_origins https://app.example; }
--- request
OPTIONS /mcp
--- more_headers eval
"Origin: http://localhost:6274\n" . $::Preflight
--- error_code: 403
--- response_headers
!Access-Control-Allow-Origin
--- response_body_like: Forbidden: Origin



=== TEST 5: the preflight needs no key where /mcp requires one
--- http_config
    mcp_store $TEST_NGINX_DATA_DIR;
    mcp_api_key $TEST_NGINX_KEY_HASH tenant=alpha;
--- request
OPTIONS /mcp
--- more_headers eval
"Origin: http://localhost:6274\n"
. "Access-Control-Request-Method: POST\n"
. "Access-Control-Request-Headers: authorization, content-type\n"
--- error_code: 204
--- response_headers eval
$::Allowed . "Access-Control-Allow-Methods: GET, POST, DELETE, OPTIONS\n"



=== TEST 6: ... but the request itself does: 401 the page can read
--- http_config
    mcp_store $TEST_NGINX_DATA_DIR;
    mcp_api_key $TEST_NGINX_KEY_HASH tenant=alpha;
--- request
POST /mcp
{"jsonrpc": "2.0", "id": 1, "method": "ping"}
--- more_headers eval
"Origin: http://localhost:6274\n" . $::Post . "Mcp-Session-Id: s1\n"
--- error_code: 401
--- response_headers eval
$::Allowed . "WWW-Authenticate: Bearer realm=\"ngx_mcp\"\n"



=== TEST 7: a request from an allowed origin names it in its answer
--- request
POST /mcp
{"jsonrpc": "2.0", "id": 1, "method": "ping"}
--- more_headers eval
"Origin: http://localhost:6274\n" . $::Post . "Mcp-Session-Id: s1\n"
--- response_headers eval
$::Allowed
--- response_body
{"jsonrpc":"2.0","id":1,"result":{}}



=== TEST 8: initialize from a browser: the session id is exposed to it
--- request
POST /mcp
{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
--- more_headers eval
"Origin: http://localhost:6274\n" . $::Post
--- response_headers_like
Mcp-Session-Id: [0-9A-Za-z]{32}
Access-Control-Allow-Origin: http://localhost:6274
Access-Control-Expose-Headers: Mcp-Session-Id, WWW-Authenticate
--- response_body_like: "protocolVersion":"2025-11-25"



=== TEST 9: errors are readable too: an unknown session, 404
--- request
POST /mcp
{"jsonrpc": "2.0", "id": 1, "method": "ping"}
--- more_headers eval
"Origin: http://localhost:6274\n" . $::Post . "Mcp-Session-Id: nosuch\n"
--- error_code: 404
--- response_headers eval
$::Allowed



=== TEST 10: GET from a browser without a session: a 400 it can read
--- request
GET /mcp
--- more_headers
Origin: http://localhost:6274
Accept: text/event-stream
--- error_code: 400
--- response_headers
Access-Control-Allow-Origin: http://localhost:6274
Access-Control-Expose-Headers: Mcp-Session-Id, WWW-Authenticate



=== TEST 11: no Origin (not a browser): no CORS headers
--- request
POST /mcp
{"jsonrpc": "2.0", "id": 1, "method": "ping"}
--- more_headers eval
$::Post . "Mcp-Session-Id: s1\n"
--- response_headers
!Access-Control-Allow-Origin
!Vary
--- response_body
{"jsonrpc":"2.0","id":1,"result":{}}



=== TEST 12: a plain OPTIONS without Origin: 204 with Allow, no CORS
--- request
OPTIONS /mcp
--- error_code: 204
--- response_headers
Allow: GET, POST, DELETE, OPTIONS
!Access-Control-Allow-Methods
!Access-Control-Allow-Origin
--- response_body
