# vim:set ft= ts=4 sw=4 et fdm=marker:

use Test::Nginx::Socket;
use File::Temp qw(tempdir);
use Digest::SHA qw(sha256_hex);

# The variables $mcp_code, $mcp_tenant, $mcp_session_id, $mcp_rpc_method
# and $mcp_tool, as add_header and an access log see them.  Blocks build
# on each other's store, so each runs once, in order.

my $dir = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $tool = $ENV{TEST_NGINX_MCP_STORE_TOOL} || 'build/store/mcp-store';

our $KeyA = 'alpha-key-0123456789';

$ENV{TEST_NGINX_HASH_A} = sha256_hex($KeyA);
$ENV{TEST_NGINX_DATA_DIR} = $dir;

system($tool, 'session-put', $dir, 'sA', 'last_seen=' . time,
       'tenant=alpha') == 0
    or die "cannot make session sA with $tool\n";

repeat_each(1);
no_shuffle();
no_root_location();

plan tests => repeat_each() * 30;

our $HttpConfig = <<'_EOC_';
    mcp_store $TEST_NGINX_DATA_DIR;
    mcp_api_key $TEST_NGINX_HASH_A tenant=alpha;

    log_format mcp 'MCPLOG code=$mcp_code tenant=$mcp_tenant '
                   'session=$mcp_session_id method=$mcp_rpc_method '
                   'tool=$mcp_tool';
_EOC_

# the access log goes to the error log, where --- error_log reads it
our $Config = <<'_EOC_';
    access_log logs/error.log mcp;

    add_header X-Mcp "code=$mcp_code tenant=$mcp_tenant session=$mcp_session_id method=$mcp_rpc_method tool=$mcp_tool" always;

    location = /shorten { mcp_shorten; }
    location = /mcp { mcp_endpoint; }
    location = /status { mcp_status; }
    location /s/ { mcp_redirect; }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->http_config) {
        $block->set_value("http_config", $HttpConfig);
    }

    if (!defined $block->config) {
        $block->set_value("config", $Config);
    }

    if (!defined $block->no_error_log && !defined $block->error_log) {
        $block->set_value("no_error_log", "[error]");
    }
});

run_tests();

__DATA__

=== TEST 1: POST /shorten: the code created and the key's tenant
--- request
POST /shorten
{"url": "https://example.com/v", "alias": "var1"}
--- more_headers eval
"Content-Type: application/json\nAuthorization: Bearer $::KeyA"
--- error_code: 201
--- response_headers
X-Mcp: code=var1 tenant=alpha session= method= tool=
--- error_log
MCPLOG code=var1 tenant=alpha session=- method=- tool=-
--- no_error_log
[error]



=== TEST 2: a random code is the one answered
--- request
POST /shorten
{"url": "https://example.com/r"}
--- more_headers eval
"Content-Type: application/json\nAuthorization: Bearer $::KeyA"
--- error_code: 201
--- response_body_like: "code":"(\w{7})"
--- raw_response_headers_like: X-Mcp: code=\w{7} tenant=alpha



=== TEST 3: a redirect: the code its URI names, even when unknown; no tenant
--- request eval
["GET /s/var1", "GET /s/unknown1", "GET /s/bad%2Fcode"]
--- error_code eval
[302, 404, 404]
--- response_headers eval
["X-Mcp: code=var1 tenant= session= method= tool=",
 "X-Mcp: code=unknown1 tenant= session= method= tool=",
 "X-Mcp: code= tenant= session= method= tool="]



=== TEST 4: initialize: the session it creates, the method
--- request
POST /mcp
{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
--- more_headers eval
"Content-Type: application/json\nAccept: application/json, text/event-stream\nAuthorization: Bearer $::KeyA"
--- error_code: 200
--- raw_response_headers_like: Mcp-Session-Id: (\S+)\r\n(?:.*\r\n)*X-Mcp: code= tenant=alpha session=\1 method=initialize tool=\r\n
--- error_log eval
qr/MCPLOG code=- tenant=alpha session=\S+ method=initialize tool=-/



=== TEST 5: tools/call: the session, method, tool and the code created
--- request
POST /mcp
{"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "shorten_url", "arguments": {"url": "https://example.com/t", "alias": "viatool"}}}
--- more_headers eval
"Content-Type: application/json\nAccept: application/json, text/event-stream\nAuthorization: Bearer $::KeyA\nMcp-Session-Id: sA"
--- error_code: 200
--- response_headers
X-Mcp: code=viatool tenant=alpha session=sA method=tools/call tool=shorten_url
--- error_log
MCPLOG code=viatool tenant=alpha session=sA method=tools/call tool=shorten_url
--- no_error_log
[error]



=== TEST 6: a refused request: the tenant is not known, nothing else
--- request
POST /shorten
{"url": "https://example.com/x"}
--- more_headers
Content-Type: application/json
Authorization: Bearer wrong-key-0123456789
--- error_code: 401
--- response_headers
X-Mcp: code= tenant= session= method= tool=



=== TEST 7: outside the module's handlers the variables are empty
--- request
GET /status
--- error_code: 200
--- response_headers
X-Mcp: code= tenant= session= method= tool=
