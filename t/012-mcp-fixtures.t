# vim:set ft= ts=4 sw=4 et fdm=marker:

use Test::Nginx::Socket;
use File::Temp qw(tempdir);

# The conformance suite's fixtures (mcp_conformance_fixtures on): tools,
# resources, a template, prompts and completion, and the notifications
# they stream before their result.  Nothing is stored but the session's
# logging level, which the blocks that depend on it set first: every block
# runs again with the same result.

my $dir = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $tool = $ENV{TEST_NGINX_MCP_STORE_TOOL} || 'build/store/mcp-store';

system($tool, 'session-put', $dir, 's1', 'last_seen=' . time) == 0
    or die "cannot make session s1 with $tool\n";

$ENV{TEST_NGINX_DATA_DIR} = $dir;

repeat_each(2);
no_shuffle();
no_root_location();

plan tests => repeat_each() * 133;

our $HttpConfig = <<'_EOC_';
    mcp_store $TEST_NGINX_DATA_DIR;
_EOC_

our $Config = <<'_EOC_';
    location = /mcp {
        mcp_endpoint;
        mcp_conformance_fixtures on;
    }
_EOC_

our $Png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAF'
    . 'BQIAX8jx0gAAAABJRU5ErkJggg==';

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
    my ($id, $name, $args, $meta) = @_;
    $meta = defined $meta ? ", \"_meta\": $meta" : "";
    return "POST /mcp\n{\"jsonrpc\": \"2.0\", \"id\": $id, \"method\": "
           . "\"tools/call\", \"params\": {\"name\": \"$name\", "
           . "\"arguments\": $args$meta}}";
}

sub rpc {
    my ($id, $method, $params) = @_;
    return "POST /mcp\n{\"jsonrpc\": \"2.0\", \"id\": $id, \"method\": "
           . "\"$method\", \"params\": $params}";
}

# a pattern for exactly these messages, as the transport's SSE events
sub sse {
    my $events = CORE::join('', map { "event: message\ndata: $_\n\n" } @_);
    return '^' . quotemeta($events) . '$';
}

run_tests();

__DATA__

=== TEST 1: without mcp_conformance_fixtures there are no fixtures
--- config
    location = /mcp { mcp_endpoint; }
--- request eval
::call(1, "test_simple_text", '{}')
--- response_body
{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"Unknown tool: test_simple_text"}}



=== TEST 2: with it, the fixture tools are listed after the shortener's
--- request eval
::rpc(2, "tools/list", '{}')
--- response_body_like: "name":"shorten_url".*"name":"test_simple_text","title":"Simple text","description":"[^"]+","inputSchema":\{"type":"object","properties":\{\}\}\},\{"name":"test_image_content".*"name":"test_audio_content".*"name":"test_embedded_resource".*"name":"test_multiple_content_types".*"name":"test_tool_with_logging".*"name":"test_tool_with_progress".*"name":"test_error_handling","title":"Error handling","description":"[^"]+","inputSchema":\{"type":"object","properties":\{\}\}\},\{"name":"json_schema_2020_12_tool",.*"name":"test_sampling".*"name":"test_elicitation".*"name":"test_elicitation_sep1034_defaults".*"name":"test_elicitation_sep1330_enums".*"name":"test_reconnection",[^\]]*\}\]



=== TEST 3: tools that answer with one content item, or several
--- request eval
[::call(3, "test_simple_text", '{}'),
 ::call(4, "test_image_content", '{}'),
 ::call(5, "test_audio_content", '{}'),
 ::call(6, "test_embedded_resource", '{}'),
 ::call(7, "test_multiple_content_types", '{}')]
--- response_body eval
['{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"This is a simple text response for testing."}]}}
',
 '{"jsonrpc":"2.0","id":4,"result":{"content":[{"type":"image","data":"' . $::Png . '","mimeType":"image/png"}]}}
',
 '{"jsonrpc":"2.0","id":5,"result":{"content":[{"type":"audio","data":"UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQIAAAAAAA==","mimeType":"audio/wav"}]}}
',
 '{"jsonrpc":"2.0","id":6,"result":{"content":[{"type":"resource","resource":{"uri":"test://embedded-resource","mimeType":"text/plain","text":"This is an embedded resource content."}}]}}
',
 '{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"Multiple content types test:"},{"type":"image","data":"' . $::Png . '","mimeType":"image/png"},{"type":"resource","resource":{"uri":"test://mixed-content-resource","mimeType":"application/json","text":"{\"test\":\"data\",\"value\":123}"}}]}}
']



=== TEST 4: test_error_handling is a result with isError, not a JSON-RPC error
--- request eval
::call(8, "test_error_handling", '{}')
--- response_body
{"jsonrpc":"2.0","id":8,"result":{"content":[{"type":"text","text":"This tool intentionally returns an error for testing"}],"isError":true}}



=== TEST 5: test_tool_with_progress with a progressToken: three progress events, then the result
--- request eval
::call(9, "test_tool_with_progress", '{}', '{"progressToken": "p-9"}')
--- response_headers
Content-Type: text/event-stream
Cache-Control: no-cache
--- response_body_like eval
::sse('{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"p-9","progress":0.0,"total":100.0}}',
    '{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"p-9","progress":50.0,"total":100.0}}',
    '{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"p-9","progress":100.0,"total":100.0}}',
    '{"jsonrpc":"2.0","id":9,"result":{"content":[{"type":"text","text":"Progress test completed"}]}}')



=== TEST 6: ... a number token is echoed as a number
--- request eval
::call(10, "test_tool_with_progress", '{}', '{"progressToken": 42}')
--- response_body_like: ^(event: message\ndata: \{"jsonrpc":"2.0","method":"notifications/progress","params":\{"progressToken":42,"progress":[0-9.]+,"total":100.0\}\}\n\n){3}event: message\ndata: \{"jsonrpc":"2.0","id":10,"result":



=== TEST 7: ... and without one, a plain JSON result
--- request eval
::call(11, "test_tool_with_progress", '{}')
--- response_headers
Content-Type: application/json
--- response_body
{"jsonrpc":"2.0","id":11,"result":{"content":[{"type":"text","text":"Progress test completed"}]}}



=== TEST 8: test_tool_with_logging at level debug: three log messages, then the result
--- request eval
[::rpc(12, "logging/setLevel", '{"level": "debug"}'),
 ::call(13, "test_tool_with_logging", '{}')]
--- response_headers eval
["Content-Type: application/json", "Content-Type: text/event-stream"]
--- response_body_like eval
['^\{"jsonrpc":"2.0","id":12,"result":\{\}\}$',
 ::sse('{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"Tool execution started","logger":"test_tool_with_logging"}}',
    '{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"Tool processing data","logger":"test_tool_with_logging"}}',
    '{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"Tool execution completed","logger":"test_tool_with_logging"}}',
    '{"jsonrpc":"2.0","id":13,"result":{"content":[{"type":"text","text":"Logging test completed"}]}}')]



=== TEST 9: ... at level error: none, and a plain JSON result
--- request eval
[::rpc(14, "logging/setLevel", '{"level": "error"}'),
 ::call(15, "test_tool_with_logging", '{}')]
--- response_headers eval
["Content-Type: application/json", "Content-Type: application/json"]
--- response_body eval
['{"jsonrpc":"2.0","id":14,"result":{}}
',
 '{"jsonrpc":"2.0","id":15,"result":{"content":[{"type":"text","text":"Logging test completed"}]}}
']



=== TEST 10: the fixed resources and the template are listed
--- request eval
[::rpc(16, "resources/list", '{}'),
 ::rpc(17, "resources/templates/list", '{}')]
--- response_body_like eval
['"resources":\[.*\{"uri":"test://static-text","name":"static-text","title":"Static text","description":"[^"]+","mimeType":"text/plain"\},\{"uri":"test://static-binary","name":"static-binary",[^}]*"mimeType":"image/png"\},\{"uri":"test://watched-resource","name":"watched-resource",[^}]*"mimeType":"text/plain"\}\]',
 '"resourceTemplates":\[.*\{"uriTemplate":"test://template/\{id\}/data","name":"template-data","title":"Template data","description":"[^"]+","mimeType":"application/json"\}\]']



=== TEST 11: reading the fixed resources: text and blob
--- request eval
[::rpc(18, "resources/read", '{"uri": "test://static-text"}'),
 ::rpc(19, "resources/read", '{"uri": "test://static-binary"}'),
 ::rpc(20, "resources/read", '{"uri": "test://watched-resource"}')]
--- response_body eval
['{"jsonrpc":"2.0","id":18,"result":{"contents":[{"uri":"test://static-text","mimeType":"text/plain","text":"This is the content of the static text resource."}]}}
',
 '{"jsonrpc":"2.0","id":19,"result":{"contents":[{"uri":"test://static-binary","mimeType":"image/png","blob":"' . $::Png . '"}]}}
',
 '{"jsonrpc":"2.0","id":20,"result":{"contents":[{"uri":"test://watched-resource","mimeType":"text/plain","text":"This is the content of the watched resource."}]}}
']



=== TEST 12: subscribing to the watched resource and back
--- request eval
[::rpc(21, "resources/subscribe", '{"uri": "test://watched-resource"}'),
 ::rpc(22, "resources/unsubscribe", '{"uri": "test://watched-resource"}')]
--- response_body eval
['{"jsonrpc":"2.0","id":21,"result":{}}
',
 '{"jsonrpc":"2.0","id":22,"result":{}}
']



=== TEST 13: the template substitutes its id; a uri of another shape is not found
--- request eval
[::rpc(23, "resources/read", '{"uri": "test://template/123/data"}'),
 ::rpc(24, "resources/read", '{"uri": "test://template/a-b_c/data"}'),
 ::rpc(25, "resources/read", '{"uri": "test://template/1/2/data"}'),
 ::rpc(26, "resources/read", '{"uri": "test://template//data"}')]
--- response_body eval
['{"jsonrpc":"2.0","id":23,"result":{"contents":[{"uri":"test://template/123/data","mimeType":"application/json","text":"{\"id\":\"123\",\"templateTest\":true,\"data\":\"Data for ID: 123\"}"}]}}
',
 '{"jsonrpc":"2.0","id":24,"result":{"contents":[{"uri":"test://template/a-b_c/data","mimeType":"application/json","text":"{\"id\":\"a-b_c\",\"templateTest\":true,\"data\":\"Data for ID: a-b_c\"}"}]}}
',
 '{"jsonrpc":"2.0","id":25,"error":{"code":-32002,"message":"Resource not found: test://template/1/2/data"}}
',
 '{"jsonrpc":"2.0","id":26,"error":{"code":-32002,"message":"Resource not found: test://template//data"}}
']



=== TEST 14: the prompts are listed with their arguments
--- request eval
::rpc(27, "prompts/list", '{}')
--- response_body_like: \{"name":"test_simple_prompt","title":"Simple prompt","description":"[^"]+"\},\{"name":"test_prompt_with_arguments","title":"Prompt with arguments","description":"[^"]+","arguments":\[\{"name":"arg1","description":"First argument","required":true\},\{"name":"arg2","description":"Second argument","required":true\}\]\},\{"name":"test_prompt_with_embedded_resource",[^\]]*"arguments":\[\{"name":"resourceUri",[^\]]*"required":true\}\]\},\{"name":"test_prompt_with_image","title":"Prompt with image","description":"[^"]+"\}\]



=== TEST 15: prompts/get of each prompt
--- request eval
[::rpc(28, "prompts/get", '{"name": "test_simple_prompt"}'),
 ::rpc(29, "prompts/get", '{"name": "test_prompt_with_arguments", "arguments": {"arg1": "testValue1", "arg2": "x\"y"}}'),
 ::rpc(30, "prompts/get", '{"name": "test_prompt_with_embedded_resource", "arguments": {"resourceUri": "test://example-resource"}}'),
 ::rpc(31, "prompts/get", '{"name": "test_prompt_with_image"}')]
--- response_body eval
['{"jsonrpc":"2.0","id":28,"result":{"messages":[{"role":"user","content":{"type":"text","text":"This is a simple prompt for testing."}}]}}
',
 '{"jsonrpc":"2.0","id":29,"result":{"messages":[{"role":"user","content":{"type":"text","text":"Prompt with arguments: arg1=\'testValue1\', arg2=\'x\"y\'"}}]}}
',
 '{"jsonrpc":"2.0","id":30,"result":{"messages":[{"role":"user","content":{"type":"resource","resource":{"uri":"test://example-resource","mimeType":"text/plain","text":"Embedded resource content for testing."}}},{"role":"user","content":{"type":"text","text":"Please process the embedded resource above."}}]}}
',
 '{"jsonrpc":"2.0","id":31,"result":{"messages":[{"role":"user","content":{"type":"image","data":"' . $::Png . '","mimeType":"image/png"}},{"role":"user","content":{"type":"text","text":"Please analyze the image above."}}]}}
']



=== TEST 16: a required prompt argument that is missing, or not a string, is -32602
--- request eval
[::rpc(32, "prompts/get", '{"name": "test_prompt_with_arguments", "arguments": {"arg1": "a"}}'),
 ::rpc(33, "prompts/get", '{"name": "test_prompt_with_embedded_resource", "arguments": {"resourceUri": 7}}')]
--- response_body eval
['{"jsonrpc":"2.0","id":32,"error":{"code":-32602,"message":"Invalid params: prompt \"test_prompt_with_arguments\" needs the argument \"arg2\""}}
',
 '{"jsonrpc":"2.0","id":33,"error":{"code":-32602,"message":"Invalid params: prompt \"test_prompt_with_embedded_resource\" needs the argument \"resourceUri\""}}
']



=== TEST 17: completion of the prompt's arguments by prefix; nothing for others
--- request eval
[::rpc(34, "completion/complete", '{"ref": {"type": "ref/prompt", "name": "test_prompt_with_arguments"}, "argument": {"name": "arg1", "value": "testV"}}'),
 ::rpc(35, "completion/complete", '{"ref": {"type": "ref/prompt", "name": "test_prompt_with_arguments"}, "argument": {"name": "arg2", "value": ""}}'),
 ::rpc(36, "completion/complete", '{"ref": {"type": "ref/prompt", "name": "test_prompt_with_arguments"}, "argument": {"name": "arg3", "value": ""}}'),
 ::rpc(37, "completion/complete", '{"ref": {"type": "ref/prompt", "name": "test_simple_prompt"}, "argument": {"name": "arg1", "value": ""}}')]
--- response_body eval
['{"jsonrpc":"2.0","id":34,"result":{"completion":{"values":["testValue1","testValue2"],"total":2,"hasMore":false}}}
',
 '{"jsonrpc":"2.0","id":35,"result":{"completion":{"values":["test","testing","testValue1","testValue2","example"],"total":5,"hasMore":false}}}
',
 '{"jsonrpc":"2.0","id":36,"result":{"completion":{"values":[],"total":0,"hasMore":false}}}
',
 '{"jsonrpc":"2.0","id":37,"result":{"completion":{"values":[],"total":0,"hasMore":false}}}
']



=== TEST 18: json_schema_2020_12_tool keeps $schema, $defs, $ref and additionalProperties as written
--- request eval
[::rpc(2, "tools/list", '{}'),
 ::call(3, "json_schema_2020_12_tool", '{"name": "Ada", "address": {"city": "London"}}')]
--- response_body_like eval
['\{"name":"json_schema_2020_12_tool","title":"JSON Schema 2020-12","description":"Tool with JSON Schema 2020-12 features.","inputSchema":\{"\$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","\$defs":\{"address":\{"type":"object","properties":\{"street":\{"type":"string"\},"city":\{"type":"string"\}\}\}\},"properties":\{"name":\{"type":"string"\},"address":\{"\$ref":"#/\$defs/address"\}\},"additionalProperties":false\}\},\{"name":"test_sampling"',
 '^\{"jsonrpc":"2.0","id":3,"result":\{"content":\[\{"type":"text","text":"JSON Schema 2020-12 tool called"\}\]\}\}$']



=== TEST 19: a tool that asks the client for what it did not declare is a tool error
--- request eval
::call(9, "test_sampling", '{"prompt": "hi"}')
--- response_body
{"jsonrpc":"2.0","id":9,"result":{"content":[{"type":"text","text":"this tool needs sampling, which the client did not declare in initialize"}],"isError":true}}



=== TEST 20: test_reconnection ends its stream after the priming event
--- request eval
::call(10, "test_reconnection", '{}')
--- response_body_like: ^id: [1-9][0-9]*-[1-9][0-9]*\nretry: 1000\ndata: \n\n$



=== TEST 21: a subscription to a resource that does not exist is -32002
--- request eval
::rpc(11, "resources/subscribe", '{"uri": "test://nosuch"}')
--- response_body
{"jsonrpc":"2.0","id":11,"error":{"code":-32002,"message":"Resource not found: test://nosuch"}}
