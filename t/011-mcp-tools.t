# vim:set ft= ts=4 sw=4 et fdm=marker:

use Test::Nginx::Socket;
use File::Temp qw(tempdir);

# The shortener as MCP tools, resources and a prompt, on one store with the
# HTTP API.  Blocks build on each other's store, so each runs once, in
# order.

my $dir = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $tool = $ENV{TEST_NGINX_MCP_STORE_TOOL} || 'build/store/mcp-store';

system($tool, 'session-put', $dir, $_, 'last_seen=' . time) == 0
    or die "cannot make session $_ with $tool\n"
    for qw(s1 s2);

$ENV{TEST_NGINX_DATA_DIR} = $dir;

repeat_each(1);
no_shuffle();
no_root_location();

plan tests => repeat_each() * 111;

our $HttpConfig = <<'_EOC_';
    mcp_store $TEST_NGINX_DATA_DIR;
_EOC_

our $Config = <<'_EOC_';
    location = /mcp { mcp_endpoint; }
    location / { mcp_redirect; }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->http_config) {
        $block->set_value("http_config", $HttpConfig);
    }

    if (!defined $block->config) {
        $block->set_value("config", $Config);
    }

    if (!defined $block->more_headers) {
        $block->set_value("more_headers",
                          "Content-Type: application/json\n"
                          . "Accept: application/json, text/event-stream\n"
                          . "Mcp-Session-Id: s1\n");
    }

    if (!defined $block->no_error_log && !defined $block->error_log) {
        $block->set_value("no_error_log", "[error]");
    }
});

sub call {
    my ($id, $name, $args) = @_;
    return "POST /mcp\n{\"jsonrpc\": \"2.0\", \"id\": $id, \"method\": "
           . "\"tools/call\", \"params\": {\"name\": \"$name\", "
           . "\"arguments\": $args}}";
}

sub rpc {
    my ($id, $method, $params) = @_;
    return "POST /mcp\n{\"jsonrpc\": \"2.0\", \"id\": $id, \"method\": "
           . "\"$method\", \"params\": $params}";
}

run_tests();

__DATA__

=== TEST 1: tools/list names the five link tools with their schemas
--- request eval
::rpc(1, "tools/list", "{}")
--- response_body_like: "name":"shorten_url".*"inputSchema":\{"type":"object".*"outputSchema":\{"type":"object".*"name":"resolve_url".*"name":"url_stats".*"name":"delete_url".*"name":"list_urls"



=== TEST 2: shorten_url makes a link that redirects over plain HTTP
--- request eval
[::call(2, "shorten_url", '{"url": "https://example.com/mcp", "alias": "viamcp"}'),
 "GET /viamcp"]
--- error_code eval
[200, 302]
--- response_body_like eval
['"structuredContent":\{"ShortURL":"viamcp","code":"viamcp","short_url":"http://localhost/viamcp","url":"https://example.com/mcp"\}',
 'https://example.com/mcp']



=== TEST 3: shorten_url with a random code
--- request eval
::call(3, "shorten_url", '{"url": "https://example.com/random", "max_visits": 3}')
--- response_body_like: "structuredContent":\{"ShortURL":"([0-9A-Za-z]{7})","code":"\1",.*"max_visits":3\}



=== TEST 4: the URL policy refuses through MCP as over HTTP: a tool error
--- request eval
::call(4, "shorten_url", '{"url": "javascript:alert(1)"}')
--- response_body
{"jsonrpc":"2.0","id":4,"result":{"content":[{"type":"text","text":"URL scheme \"javascript\" is not allowed (url_refused)"}],"isError":true}}



=== TEST 5: a taken alias is a tool error
--- request eval
::call(5, "shorten_url", '{"url": "https://example.com/other", "alias": "viamcp"}')
--- response_body
{"jsonrpc":"2.0","id":5,"result":{"content":[{"type":"text","text":"alias \"viamcp\" is already taken (alias_taken)"}],"isError":true}}



=== TEST 6: shorten_url without url is -32602
--- request eval
::call(6, "shorten_url", '{"alias": "x"}')
--- response_body
{"jsonrpc":"2.0","id":6,"error":{"code":-32602,"message":"Invalid params: \"url\" is required"}}



=== TEST 7: resolve_url
--- request eval
::call(7, "resolve_url", '{"code": "viamcp"}')
--- response_body_like: "structuredContent":\{"code":"viamcp","url":"https://example.com/mcp","short_url":"http://localhost/viamcp","created_at":"20\d\d-



=== TEST 8: url_stats shows flushed visits: this worker's new one waits for its timer
--- http_config
mcp_store $TEST_NGINX_DATA_DIR;
mcp_visit_flush_interval 60s;
--- request eval
["GET /viamcp", ::call(8, "url_stats", '{"code": "viamcp"}')]
--- error_code eval
[302, 200]
--- response_body_like eval
['', '"structuredContent":\{"code":"viamcp",.*"visits":1,"created_at"']



=== TEST 9: ... and a later worker sees both visits
--- request eval
::call(9, "url_stats", '{"code": "viamcp"}')
--- response_body_like: "visits":2,.*"last_visit":"20



=== TEST 10: resolve_url of an unknown code is a tool error
--- request eval
::call(10, "resolve_url", '{"code": "nope"}')
--- response_body
{"jsonrpc":"2.0","id":10,"result":{"content":[{"type":"text","text":"Short URL not found: nope"}],"isError":true}}



=== TEST 11: list_urls pages with a cursor
--- request eval
[::call(11, "shorten_url", '{"url": "https://example.com/a", "alias": "aaa"}'),
 ::call(12, "list_urls", '{"limit": 1}')]
--- response_body_like eval
['"code":"aaa"',
 '"structuredContent":\{"links":\[\{"code":"[0-9A-Za-z]+",[^\]]*\],"nextCursor":"[A-Za-z0-9_-]+"\}']



=== TEST 12: list_urls with a cursor that is not ours is a tool error
--- request eval
::call(13, "list_urls", '{"cursor": "!!not-a-cursor!!"}')
--- response_body_like: "isError":true



=== TEST 13: an unknown tool is -32602
--- request eval
::call(14, "no_such_tool", '{}')
--- response_body
{"jsonrpc":"2.0","id":14,"error":{"code":-32602,"message":"Unknown tool: no_such_tool"}}



=== TEST 14: tools/call with arguments that are not an object
--- request eval
::call(15, "resolve_url", '"viamcp"')
--- response_body
{"jsonrpc":"2.0","id":15,"error":{"code":-32602,"message":"Invalid params: arguments must be an object"}}



=== TEST 15: tools/list with a cursor that is not ours is -32602
--- request eval
::rpc(16, "tools/list", '{"cursor": "zzz"}')
--- response_body
{"jsonrpc":"2.0","id":16,"error":{"code":-32602,"message":"Invalid params: invalid cursor"}}



=== TEST 16: every link is a resource
--- request eval
[::rpc(17, "resources/list", '{}'),
 ::rpc(18, "resources/templates/list", '{}')]
--- response_body_like eval
['\{"uri":"shorturl://viamcp","name":"viamcp","description":"https://example.com/mcp","mimeType":"application/json"\}',
 '"resourceTemplates":\[\{"uriTemplate":"shorturl://\{code\}"']



=== TEST 17: resources/read of a link
--- request eval
::rpc(19, "resources/read", '{"uri": "shorturl://viamcp"}')
--- response_body_like: ^\{"jsonrpc":"2.0","id":19,"result":\{"contents":\[\{"uri":"shorturl://viamcp","mimeType":"application/json","text":"\{\\"code\\":\\"viamcp\\",\\"url\\":\\"https://example.com/mcp\\"



=== TEST 18: resources/read of an unknown resource is -32002
--- request eval
::rpc(20, "resources/read", '{"uri": "shorturl://nope"}')
--- response_body
{"jsonrpc":"2.0","id":20,"error":{"code":-32002,"message":"Resource not found: shorturl://nope"}}



=== TEST 19: subscribe and unsubscribe are accepted
--- request eval
[::rpc(21, "resources/subscribe", '{"uri": "shorturl://viamcp"}'),
 ::rpc(22, "resources/unsubscribe", '{"uri": "shorturl://viamcp"}')]
--- response_body eval
['{"jsonrpc":"2.0","id":21,"result":{}}
', '{"jsonrpc":"2.0","id":22,"result":{}}
']



=== TEST 20: completion of a link code by prefix
--- request eval
::rpc(23, "completion/complete", '{"ref": {"type": "ref/resource", "uri": "shorturl://{code}"}, "argument": {"name": "code", "value": "via"}}')
--- response_body
{"jsonrpc":"2.0","id":23,"result":{"completion":{"values":["viamcp"],"total":1,"hasMore":false}}}



=== TEST 21: completion with a bad ref is -32602
--- request eval
::rpc(24, "completion/complete", '{"ref": {"type": "ref/tool"}, "argument": {"name": "x", "value": ""}}')
--- response_body_like: "code":-32602



=== TEST 22: prompts
--- request eval
[::rpc(25, "prompts/list", '{}'),
 ::rpc(26, "prompts/get", '{"name": "summarize_links", "arguments": {"since": "2000-01-01T00:00:00Z"}}'),
 ::rpc(27, "prompts/get", '{"name": "summarize_links", "arguments": {"since": "yesterday"}}'),
 ::rpc(28, "prompts/get", '{"name": "nope"}')]
--- response_body_like eval
['"prompts":\[\{"name":"summarize_links"',
 '"messages":\[\{"role":"user","content":\{"type":"text","text":"Summarise these short links.*viamcp',
 '"code":-32602,"message":"Invalid params: since and until',
 '"code":-32602,"message":"Unknown prompt: nope"']



=== TEST 23: logging/setLevel
--- request eval
[::rpc(29, "logging/setLevel", '{"level": "warning"}'),
 ::rpc(30, "logging/setLevel", '{"level": "loud"}')]
--- response_body_like eval
['^\{"jsonrpc":"2.0","id":29,"result":\{\}\}$',
 '"code":-32602,"message":"Invalid params: level must be one of']



=== TEST 24: delete_url, then the code is gone everywhere
--- request eval
[::call(31, "delete_url", '{"code": "viamcp"}'), "GET /viamcp",
 ::call(32, "delete_url", '{"code": "viamcp"}')]
--- error_code eval
[200, 404, 200]
--- response_body_like eval
['"structuredContent":\{"code":"viamcp","deleted":true\}',
 '"not_found"', '"isError":true']



=== TEST 25: DELETE ends a session; it is 404 from then on
--- request eval
["DELETE /mcp", ::rpc(33, "ping", '{}'), "DELETE /mcp"]
--- more_headers
Content-Type: application/json
Accept: application/json, text/event-stream
Mcp-Session-Id: s2
--- error_code eval
[200, 404, 404]
