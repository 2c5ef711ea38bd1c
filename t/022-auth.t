# vim:set ft= ts=4 sw=4 et fdm=marker:

use Test::Nginx::Socket;
use File::Temp qw(tempdir);
use Digest::SHA qw(sha256_hex);
use HTTP::Tiny;

# API keys (held as their SHA-256) and tenants: 401 and 403 with
# WWW-Authenticate, scopes, keys from a file, configuration errors; and
# tenant isolation through every endpoint and tool: one tenant never sees,
# changes or lists another's links, graph, contexts or sessions, while
# redirects stay public.  Blocks build on each other's store, so each runs
# once, in order.

my $dir = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $tool = $ENV{TEST_NGINX_MCP_STORE_TOOL} || 'build/store/mcp-store';

# the keys, in plaintext only here; nginx sees their hashes
our %Key = (
    A     => 'alpha-key-0123456789',      # tenant alpha, default scopes
    B     => 'beta-key-0123456789',       # tenant beta, default scopes
    R     => 'alpha-reader-0123456789',   # alpha: links:read,mcp
    W     => 'alpha-writer-0123456789',   # alpha: links:write
    O     => 'ops-admin-0123456789',      # ops: every scope, admin too
    F     => 'gamma-file-0123456789',     # gamma, from a keys file
);

$ENV{"TEST_NGINX_HASH_$_"} = sha256_hex($Key{$_}) for keys %Key;
$ENV{TEST_NGINX_HASH_F_UPPER} = uc sha256_hex($Key{F});

# sessions of each tenant, as initialize would have made them
for (['sA', 'alpha'], ['sB', 'beta'], ['sO', 'ops'], ['sD', 'default']) {
    system($tool, 'session-put', $dir, $_->[0], 'last_seen=' . time,
           "tenant=$_->[1]") == 0
        or die "cannot make session $_->[0] with $tool\n";
}

sub write_file {
    my ($name, $text) = @_;
    open my $fh, '>', "$dir/$name" or die "$dir/$name: $!";
    print $fh $text;
    close $fh;
    return "$dir/$name";
}

$ENV{TEST_NGINX_KEYS_FILE} = write_file('keys', <<"_EOK_");
# ngx_mcp API keys: sha256 tenant= scopes=

$ENV{TEST_NGINX_HASH_F_UPPER}  tenant=gamma   # upper-case hex is fine
   # an indented comment
$ENV{TEST_NGINX_HASH_R}\ttenant=alpha scopes=links:read,mcp
_EOK_

$ENV{TEST_NGINX_BAD_KEYS_FILE} = write_file('bad.keys', <<"_EOK_");
# line 1
$ENV{TEST_NGINX_HASH_A} tenant=alpha
$ENV{TEST_NGINX_HASH_B} tenant=beta scopes=links:read,root
_EOK_

$ENV{TEST_NGINX_NO_TENANT_FILE} = write_file('no-tenant.keys',
                                             "$ENV{TEST_NGINX_HASH_A}\n");
$ENV{TEST_NGINX_DATA_DIR} = $dir;

repeat_each(1);
no_shuffle();
no_root_location();

plan tests => repeat_each() * 306;

our $HttpConfig = <<'_EOC_';
    mcp_store $TEST_NGINX_DATA_DIR;
    mcp_api_key $TEST_NGINX_HASH_A tenant=alpha;
    mcp_api_key $TEST_NGINX_HASH_B tenant=beta;
    mcp_api_key $TEST_NGINX_HASH_R tenant=alpha scopes=links:read,mcp;
    mcp_api_key $TEST_NGINX_HASH_W tenant=alpha scopes=links:write;
    mcp_api_key $TEST_NGINX_HASH_O tenant=ops scopes=links:read,links:write,mcp,admin;
_EOC_

our $Config = <<'_EOC_';
    location = /shorten { mcp_shorten; }
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

    if (!defined $block->no_error_log && !defined $block->error_log) {
        $block->set_value("no_error_log", "[error]");
    }
});

# headers of a request with the key $k (undef: none) in session $s
sub h {
    my ($k, $s) = @_;
    return "Content-Type: application/json\n"
           . "Accept: application/json, text/event-stream\n"
           . (defined $k ? "Authorization: Bearer $Key{$k}\n" : "")
           . (defined $s ? "Mcp-Session-Id: $s\n" : "");
}

sub shorten {
    my ($body) = @_;
    return "POST /shorten\n$body";
}

sub call {
    my ($name, $args) = @_;
    return "POST /mcp\n{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": "
           . "\"tools/call\", \"params\": {\"name\": \"$name\", "
           . "\"arguments\": $args}}";
}

sub rpc {
    my ($method, $params) = @_;
    return "POST /mcp\n{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": "
           . "\"$method\", \"params\": $params}";
}

# a tool's error result, as the transport sends it
sub tool_error {
    my ($text) = @_;
    return "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[{\"type\":"
           . "\"text\",\"text\":\"$text\"}],\"isError\":true}}\n";
}

# HTTP outside the blocks' requests: for the sequences that need a value
# from an earlier answer (a new session id)
sub post {
    my ($k, $s, $body) = @_;
    my %h = (
        'Content-Type' => 'application/json',
        'Accept' => 'application/json, text/event-stream',
        'Authorization' => "Bearer $Key{$k}",
    );
    $h{'Mcp-Session-Id'} = $s if defined $s;
    return HTTP::Tiny->new->post(
        "http://127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT}/mcp",
        { headers => \%h, content => $body });
}

run_tests();

__DATA__

=== TEST 1: POST /shorten without a key: 401 with a Bearer challenge
--- request eval
::shorten('{"url": "https://example.com/a"}')
--- more_headers eval
::h()
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="ngx_mcp"
--- response_body
{"message":"an API key is required: send \"Authorization: Bearer <key>\"","error":"unauthorized"}



=== TEST 2: another scheme than Bearer: 401
--- request eval
::shorten('{"url": "https://example.com/a"}')
--- more_headers eval
::h() . "Authorization: Basic YWxwaGE6c2VjcmV0\n"
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="ngx_mcp"
--- response_body
{"message":"the Authorization header must be \"Bearer <key>\"","error":"unauthorized"}



=== TEST 3: an empty Bearer: 401
--- request eval
::shorten('{"url": "https://example.com/a"}')
--- more_headers eval
::h() . "Authorization: Bearer    \n"
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="ngx_mcp"
--- response_body
{"message":"the Authorization header must be \"Bearer <key>\"","error":"unauthorized"}



=== TEST 4: an unknown key: 401 invalid_token, and the key is not logged
--- log_level: info
--- request eval
::shorten('{"url": "https://example.com/a"}')
--- more_headers eval
::h() . "Authorization: Bearer not-a-key-plaintext-secret\n"
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="ngx_mcp", error="invalid_token"
--- response_body
{"message":"the API key is not valid","error":"unauthorized"}
--- error_log
mcp: unknown API key
--- no_error_log
[error]
not-a-key-plaintext-secret



=== TEST 5: a key without links:write: 403 insufficient_scope
--- log_level: info
--- request eval
::shorten('{"url": "https://example.com/a"}')
--- more_headers eval
::h('R')
--- error_code: 403
--- response_headers
WWW-Authenticate: Bearer realm="ngx_mcp", error="insufficient_scope", scope="links:write"
--- response_body
{"message":"the API key lacks the scope \"links:write\"","error":"forbidden"}
--- error_log
mcp: API key of tenant "alpha" lacks the scope "links:write"
--- no_error_log
[error]
alpha-reader-0123456789



=== TEST 6: the right key: 201; the redirect needs no key
--- request eval
[::shorten('{"url": "https://example.com/alpha", "alias": "a-link"}'),
 "GET /a-link"]
--- more_headers eval
[::h('A'), ""]
--- error_code eval
[201, 302]
--- response_headers eval
["!WWW-Authenticate", "Location: https://example.com/alpha"]
--- response_body_like eval
['^\{"ShortURL":"a-link","code":"a-link",',
 'https://example.com/alpha']



=== TEST 7: a key with only links:write shortens too; another tenant's key as well
--- request eval
[::shorten('{"url": "https://example.com/alpha2", "alias": "a-two"}'),
 ::shorten('{"url": "https://example.com/beta", "alias": "b-link"}')]
--- more_headers eval
[::h('W'), ::h('B')]
--- error_code eval
[201, 201]
--- response_body_like eval
['"code":"a-two"', '"code":"b-link"']



=== TEST 8: codes are one namespace: another tenant's alias is taken
--- request eval
::shorten('{"url": "https://example.com/x", "alias": "a-link"}')
--- more_headers eval
::h('B')
--- error_code: 409
--- response_body
{"message":"alias \"a-link\" is already taken","error":"alias_taken"}



=== TEST 9: redirects are public, whatever key is sent or not
--- request eval
["GET /b-link", "GET /a-link", "HEAD /a-two"]
--- more_headers eval
["", "Authorization: Bearer wrong-key\n", "Authorization: Basic eDp5\n"]
--- error_code eval
[302, 302, 302]
--- response_headers eval
["Location: https://example.com/beta", "Location: https://example.com/alpha",
 "Location: https://example.com/alpha2"]



=== TEST 10: /mcp without a key: 401 with a JSON-RPC error
--- request eval
::rpc("tools/list", "{}")
--- more_headers eval
::h(undef, 'sA')
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="ngx_mcp"
--- response_body
{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"an API key is required: send \"Authorization: Bearer <key>\""}}



=== TEST 11: /mcp with an unknown key, and DELETE without one: 401
--- request eval
[::rpc("tools/list", "{}"), "DELETE /mcp"]
--- more_headers eval
[::h(undef, 'sA') . "Authorization: Bearer nope\n", ::h(undef, 'sA')]
--- error_code eval
[401, 401]
--- response_body eval
["{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,\"message\":\"the API key is not valid\"}}\n",
 "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,\"message\":\"an API key is required: send \\\"Authorization: Bearer <key>\\\"\"}}\n"]



=== TEST 12: /mcp with a key without the mcp scope: 403
--- request eval
::rpc("tools/list", "{}")
--- more_headers eval
::h('W', 'sA')
--- error_code: 403
--- response_headers
WWW-Authenticate: Bearer realm="ngx_mcp", error="insufficient_scope", scope="mcp"
--- response_body
{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"the API key lacks the scope \"mcp\""}}



=== TEST 13: initialize with a key starts a session
--- request eval
::rpc("initialize", '{"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}')
--- more_headers eval
::h('A')
--- error_code: 200
--- response_headers_like
Mcp-Session-Id: [0-9A-Za-z]{32}
--- response_body_like: "protocolVersion":"2025-11-25"



=== TEST 14: a session remembers its tenant: another tenant's key gets 404, its own 200
--- init
my $r = ::post('B', undef, '{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}');
my $sid = $r->{headers}{'mcp-session-id'} // '';
Test::More::like($sid, qr/^[0-9A-Za-z]{32}$/, "initialize with B's key gives a session");
$r = ::post('A', $sid, '{"jsonrpc": "2.0", "id": 2, "method": "ping"}');
Test::More::is($r->{status}, 404, "A's key in B's new session: 404");
Test::More::like($r->{content}, qr/"code":-32001/, "... Session not found");
$r = ::post('B', $sid, '{"jsonrpc": "2.0", "id": 3, "method": "ping"}');
Test::More::is($r->{status}, 200, "B's key in its session: 200");
--- request eval
::rpc("ping", "{}")
--- more_headers eval
::h('B', 'sB')
--- error_code: 200
--- response_body
{"jsonrpc":"2.0","id":1,"result":{}}



=== TEST 15: sessions of other tenants are not found, for any method and for DELETE
--- log_level: info
--- request eval
[::rpc("ping", "{}"), ::call("read_graph", "{}"), "DELETE /mcp", "DELETE /mcp"]
--- more_headers eval
[::h('B', 'sA'), ::h('A', 'sB'), ::h('B', 'sA'), ::h('O', 'sD')]
--- error_code eval
[404, 404, 404, 404]
--- response_body eval
["{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32001,\"message\":\"Session not found: it ended or expired; send initialize again\"}}\n",
 "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32001,\"message\":\"Session not found: it ended or expired; send initialize again\"}}\n",
 "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32001,\"message\":\"Session not found: it ended or expired; send initialize again\"}}\n",
 "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32001,\"message\":\"Session not found: it ended or expired; send initialize again\"}}\n"]
--- error_log
mcp: session of another tenant
--- no_error_log
[error]



=== TEST 16: resolve_url and url_stats: another tenant's code is not found (the session kept its tenant through setLevel)
--- request eval
[::rpc("logging/setLevel", '{"level": "info"}'),
 ::rpc("ping", "{}"),
 ::call("resolve_url", '{"code": "a-link"}'),
 ::call("url_stats", '{"code": "a-link"}'),
 ::call("resolve_url", '{"code": "b-link"}'),
 ::call("resolve_url", '{"code": "b-link"}')]
--- more_headers eval
[::h('A', 'sA'), ::h('A', 'sA'), ::h('B', 'sB'), ::h('B', 'sB'),
 ::h('A', 'sA'), ::h('B', 'sB')]
--- response_body_like eval
['^\{"jsonrpc":"2.0","id":1,"result":\{\}\}$',
 '^\{"jsonrpc":"2.0","id":1,"result":\{\}\}$',
 quotemeta(::tool_error("Short URL not found: a-link")),
 quotemeta(::tool_error("Short URL not found: a-link")),
 quotemeta(::tool_error("Short URL not found: b-link")),
 '"structuredContent":\{"code":"b-link","url":"https://example.com/beta"']



=== TEST 17: delete_url: another tenant's link is not found, and stays
--- request eval
[::call("delete_url", '{"code": "a-link"}'),
 ::call("resolve_url", '{"code": "a-link"}'),
 "GET /a-link"]
--- more_headers eval
[::h('B', 'sB'), ::h('A', 'sA'), ""]
--- error_code eval
[200, 200, 302]
--- response_body_like eval
[quotemeta(::tool_error("Short URL not found: a-link")),
 '"structuredContent":\{"code":"a-link","url":"https://example.com/alpha"',
 'https://example.com/alpha']



=== TEST 18: list_urls: each tenant its own links
--- request eval
[::call("list_urls", '{}'), ::call("list_urls", '{}')]
--- more_headers eval
[::h('B', 'sB'), ::h('A', 'sA')]
--- response_body_like eval
['"structuredContent":\{"links":\[\{"code":"b-link",[^\]]*\]\}',
 '"structuredContent":\{"links":\[\{"code":"a-link",[^\]]*\},\{"code":"a-two",[^\]]*\]\}']
--- response_body_unlike eval
['a-link|a-two|tenant', 'b-link|tenant']



=== TEST 19: shorten_url makes the caller's link; the other tenant cannot see it
--- request eval
[::call("shorten_url", '{"url": "https://example.com/beta-mcp", "alias": "b-mcp"}'),
 ::call("resolve_url", '{"code": "b-mcp"}'),
 ::call("url_stats", '{"code": "b-mcp"}')]
--- more_headers eval
[::h('B', 'sB'), ::h('A', 'sA'), ::h('B', 'sB')]
--- response_body_like eval
['"structuredContent":\{"ShortURL":"b-mcp"',
 quotemeta(::tool_error("Short URL not found: b-mcp")),
 '"structuredContent":\{"code":"b-mcp","url":"https://example.com/beta-mcp"']



=== TEST 20: shorturl:// resources: read and list only one's own
--- request eval
[::rpc("resources/read", '{"uri": "shorturl://a-link"}'),
 ::rpc("resources/read", '{"uri": "shorturl://b-link"}'),
 ::rpc("resources/list", '{}')]
--- more_headers eval
[::h('B', 'sB'), ::h('B', 'sB'), ::h('B', 'sB')]
--- response_body_like eval
['^\{"jsonrpc":"2.0","id":1,"error":\{"code":-32002,"message":"Resource not found: shorturl://a-link"\}\}$',
 '"contents":\[\{"uri":"shorturl://b-link"',
 '"uri":"shorturl://b-link".*"uri":"shorturl://b-mcp"']
--- response_body_unlike eval
['b-link', 'a-link', 'shorturl://a-']



=== TEST 21: completion of shorturl://{code}: only one's own codes
--- request eval
[::rpc("completion/complete", '{"ref": {"type": "ref/resource", "uri": "shorturl://{code}"}, "argument": {"name": "code", "value": ""}}'),
 ::rpc("completion/complete", '{"ref": {"type": "ref/resource", "uri": "shorturl://{code}"}, "argument": {"name": "code", "value": "a"}}')]
--- more_headers eval
[::h('B', 'sB'), ::h('B', 'sB')]
--- response_body eval
["{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"completion\":{\"values\":[\"b-link\",\"b-mcp\"],\"total\":2,\"hasMore\":false}}}\n",
 "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"completion\":{\"values\":[],\"total\":0,\"hasMore\":false}}}\n"]



=== TEST 22: the summarize_links prompt sees one's own links
--- request eval
::rpc("prompts/get", '{"name": "summarize_links"}')
--- more_headers eval
::h('A', 'sA')
--- response_body_like: a-link.*a-two
--- response_body_unlike: b-link|b-mcp



=== TEST 23: the admin scope sees and lists every tenant's links, with their owner
--- request eval
[::call("resolve_url", '{"code": "a-link"}'),
 ::call("url_stats", '{"code": "b-link"}'),
 ::call("list_urls", '{}')]
--- more_headers eval
[::h('O', 'sO'), ::h('O', 'sO'), ::h('O', 'sO')]
--- response_body_like eval
['"structuredContent":\{"code":"a-link",[^}]*"tenant":"alpha"\}',
 '"structuredContent":\{"code":"b-link",[^}]*"tenant":"beta"\}',
 '"links":\[\{"code":"a-link",.*\{"code":"a-two",.*\{"code":"b-link",.*\{"code":"b-mcp",']



=== TEST 24: scopes inside /mcp: links:read may read, not write
--- request eval
[::call("resolve_url", '{"code": "a-two"}'),
 ::call("shorten_url", '{"url": "https://example.com/no"}'),
 ::call("delete_url", '{"code": "a-two"}')]
--- more_headers eval
[::h('R', 'sA'), ::h('R', 'sA'), ::h('R', 'sA')]
--- response_body_like eval
['"structuredContent":\{"code":"a-two"',
 quotemeta(::tool_error('this API key lacks the scope \\"links:write\\" (forbidden)')),
 quotemeta(::tool_error('this API key lacks the scope \\"links:write\\" (forbidden)'))]



=== TEST 25: the owner deletes its link
--- request eval
[::call("delete_url", '{"code": "a-two"}'), "GET /a-two"]
--- more_headers eval
[::h('A', 'sA'), ""]
--- error_code eval
[200, 404]
--- response_body_like eval
['"structuredContent":\{"code":"a-two","deleted":true\}', '"not_found"']



=== TEST 26: memory: one tenant's graph, in every namespace, is invisible to another
--- request eval
[::call("create_entities", '{"entities": [{"name": "Alice-secret", "entityType": "person", "observations": ["knows the launch codes"]}]}'),
 ::call("create_entities", '{"namespace": "proj", "entities": [{"name": "Proj-secret", "entityType": "plan", "observations": ["launch on friday"]}]}'),
 ::call("create_relations", '{"relations": [{"from": "Alice-secret", "to": "Proj-secret", "relationType": "owns"}]}'),
 ::call("read_graph", '{}'),
 ::call("read_graph", '{"namespace": "proj"}'),
 ::call("search_nodes", '{"query": "launch"}'),
 ::call("search_nodes", '{"query": "alice", "namespace": "proj"}'),
 ::call("open_nodes", '{"names": ["Alice-secret", "Proj-secret"]}'),
 ::rpc("resources/read", '{"uri": "memory://knowledge-graph"}')]
--- more_headers eval
[::h('A', 'sA'), ::h('A', 'sA'), ::h('A', 'sA'),
 ::h('B', 'sB'), ::h('B', 'sB'), ::h('B', 'sB'), ::h('B', 'sB'),
 ::h('B', 'sB'), ::h('B', 'sB')]
--- response_body_like eval
['"structuredContent":\{"entities":\[\{"name":"Alice-secret"',
 '"structuredContent":\{"entities":\[\{"name":"Proj-secret"',
 '"structuredContent":\{"relations":\[\{"from":"Alice-secret"',
 '"structuredContent":\{"entities":\[\],"relations":\[\]\}',
 '"structuredContent":\{"entities":\[\],"relations":\[\]\}',
 '"structuredContent":\{"entities":\[\],"relations":\[\]\}',
 '"structuredContent":\{"entities":\[\],"relations":\[\]\}',
 '"structuredContent":\{"entities":\[\],"relations":\[\]\}',
 '"contents":\[\{"uri":"memory://knowledge-graph","mimeType":"application/json","text":"\{\\\\n  \\\\"entities\\\\": \[\],\\\\n  \\\\"relations\\\\": \[\]\\\\n\}"']
--- response_body_unlike eval
['x^', 'x^', 'x^', 'secret', 'secret', 'secret', 'secret', 'secret', 'secret']



=== TEST 27: memory: the same name in another tenant is another entity; the owner still sees its own
--- request eval
[::call("create_entities", '{"entities": [{"name": "Alice-secret", "entityType": "robot", "observations": []}]}'),
 ::call("delete_entities", '{"entityNames": ["Proj-secret"], "namespace": "proj"}'),
 ::call("add_observations", '{"observations": [{"entityName": "Proj-secret", "contents": ["x"]}], "namespace": "proj"}'),
 ::call("read_graph", '{}'),
 ::call("open_nodes", '{"names": ["Proj-secret"], "namespace": "proj"}')]
--- more_headers eval
[::h('B', 'sB'), ::h('B', 'sB'), ::h('B', 'sB'), ::h('A', 'sA'), ::h('A', 'sA')]
--- response_body_like eval
['"structuredContent":\{"entities":\[\{"name":"Alice-secret","entityType":"robot"',
 '"structuredContent":\{"success":true,"message":"Entities deleted successfully"\}',
 quotemeta(::tool_error("Entity with name Proj-secret not found; nothing was saved")),
 '"structuredContent":\{"entities":\[\{"name":"Alice-secret","entityType":"person","observations":\["knows the launch codes"\]\}\],"relations":\[\{"from":"Alice-secret","to":"Proj-secret","relationType":"owns"\}\]\}',
 '"structuredContent":\{"entities":\[\{"name":"Proj-secret","entityType":"plan"']



=== TEST 28: contexts: one tenant's are invisible to another, in list, search, window, clear and resource
--- request eval
[::call("context_append", '{"context_id": "c1", "role": "user", "content": "the secret plan is ready"}'),
 ::call("context_list", '{}'),
 ::call("context_search", '{"query": "secret plan"}'),
 ::call("context_search", '{"query": "secret plan", "context_id": "c1"}'),
 ::call("context_window", '{"context_id": "c1", "max_tokens": 1000}'),
 ::call("context_clear", '{"context_id": "c1"}'),
 ::rpc("resources/read", '{"uri": "context://c1"}'),
 ::call("context_list", '{}'),
 ::call("context_window", '{"context_id": "c1", "max_tokens": 1000}')]
--- more_headers eval
[::h('A', 'sA'), ::h('B', 'sB'), ::h('B', 'sB'), ::h('B', 'sB'),
 ::h('B', 'sB'), ::h('B', 'sB'), ::h('B', 'sB'), ::h('A', 'sA'),
 ::h('A', 'sA')]
--- response_body_like eval
['"structuredContent":\{"context_id":"c1","message_id":1,',
 '"structuredContent":\{"contexts":\[\]\}',
 '"structuredContent":\{"results":\[\]\}',
 '"structuredContent":\{"results":\[\]\}',
 quotemeta(::tool_error("no context c1")),
 quotemeta(::tool_error("no context c1")),
 '^\{"jsonrpc":"2.0","id":1,"error":\{"code":-32002,',
 '"structuredContent":\{"contexts":\[\{"context_id":"c1","messages":1,',
 '"structuredContent":\{"messages":\[\{"role":"user","content":"the secret plan is ready"']
--- response_body_unlike eval
['x^', 'secret', 'secret', 'secret', 'secret', 'secret', 'secret', 'x^', 'x^']



=== TEST 29: keys from mcp_api_keys_file (upper-case hex, comments, tabs)
--- http_config
    mcp_store $TEST_NGINX_DATA_DIR;
    mcp_api_keys_file $TEST_NGINX_KEYS_FILE;
--- request eval
[::shorten('{"url": "https://example.com/gamma", "alias": "g-link"}'),
 ::shorten('{"url": "https://example.com/gamma"}'),
 ::shorten('{"url": "https://example.com/gamma"}')]
--- more_headers eval
[::h('F'), ::h('R'), ::h('A')]
--- error_code eval
[201, 403, 401]
--- response_body_like eval
['"code":"g-link"', '"error":"forbidden"', '"error":"unauthorized"']



=== TEST 30: keys set in a location replace the inherited ones; mcp_api_key and the file add up
--- http_config
    mcp_store $TEST_NGINX_DATA_DIR;
    mcp_api_key $TEST_NGINX_HASH_A tenant=alpha;
--- config
    location = /shorten {
        mcp_api_key $TEST_NGINX_HASH_B tenant=beta;
        mcp_api_keys_file $TEST_NGINX_KEYS_FILE;
        mcp_shorten;
    }
--- request eval
[::shorten('{"url": "https://example.com/y"}'),
 ::shorten('{"url": "https://example.com/y"}'),
 ::shorten('{"url": "https://example.com/y"}')]
--- more_headers eval
[::h('A'), ::h('B'), ::h('F')]
--- error_code eval
[401, 201, 201]



=== TEST 31: without keys everything is the default tenant: it sees none of the tenants' links
--- http_config
    mcp_store $TEST_NGINX_DATA_DIR;
--- request eval
[::shorten('{"url": "https://example.com/open", "alias": "d-link"}'),
 ::call("list_urls", '{}'),
 ::call("resolve_url", '{"code": "b-link"}'),
 ::call("read_graph", '{}'),
 ::rpc("ping", "{}")]
--- more_headers eval
[::h(), ::h(undef, 'sD'), ::h(undef, 'sD'), ::h(undef, 'sD'), ::h(undef, 'sA')]
--- error_code eval
[201, 200, 200, 200, 404]
--- response_body_like eval
['"code":"d-link"',
 '"structuredContent":\{"links":\[\{"code":"d-link",[^\]]*\]\}',
 quotemeta(::tool_error("Short URL not found: b-link")),
 '"structuredContent":\{"entities":\[\],"relations":\[\]\}',
 '"code":-32001']



=== TEST 32: nginx's limit_req in front of POST /shorten: 429
--- http_config
    mcp_store $TEST_NGINX_DATA_DIR;
    mcp_api_key $TEST_NGINX_HASH_A tenant=alpha;
    limit_req_zone $binary_remote_addr zone=shorten:1m rate=1r/m;
--- config
    location = /shorten {
        limit_req zone=shorten nodelay;
        limit_req_status 429;
        limit_req_log_level warn;
        mcp_shorten;
    }
--- request eval
[::shorten('{"url": "https://example.com/limited"}'),
 ::shorten('{"url": "https://example.com/limited"}'),
 ::shorten('{"url": "https://example.com/limited"}')]
--- more_headers eval
[::h('A'), ::h('A'), ::h()]
--- error_code eval
[201, 429, 429]
--- response_body_like eval
['"code":"[0-9A-Za-z]{7}"', '429 Too Many Requests', '429 Too Many Requests']



=== TEST 33: limit_req with its default status, 503, before the key is even looked at
--- http_config
    mcp_store $TEST_NGINX_DATA_DIR;
    mcp_api_key $TEST_NGINX_HASH_A tenant=alpha;
    limit_req_zone $binary_remote_addr zone=shorten:1m rate=1r/m;
--- config
    location = /shorten {
        limit_req zone=shorten nodelay;
        limit_req_log_level warn;
        mcp_shorten;
    }
--- request eval
[::shorten('{"url": "https://example.com/limited"}'),
 ::shorten('{"url": "https://example.com/limited"}')]
--- more_headers eval
[::h(), ::h('A')]
--- error_code eval
[401, 503]



=== TEST 34: a hash of the wrong length; the value is not echoed
--- http_config
    mcp_store $TEST_NGINX_DATA_DIR;
    mcp_api_key my-plaintext-key-by-mistake tenant=alpha;
--- must_die
--- error_log
invalid API key hash (27 characters): expected the SHA-256 of the key as 64 hexadecimal digits
--- no_error_log
my-plaintext-key-by-mistake



=== TEST 35: 64 characters that are not hex
--- http_config
    mcp_store $TEST_NGINX_DATA_DIR;
    mcp_api_key zz86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 tenant=alpha;
--- must_die
--- error_log
invalid API key hash (64 characters)



=== TEST 36: an unknown scope
--- http_config
    mcp_store $TEST_NGINX_DATA_DIR;
    mcp_api_key $TEST_NGINX_HASH_A tenant=alpha scopes=links:write,root;
--- must_die
--- error_log
unknown scope "root" (scopes are links:write, links:read, mcp and admin)



=== TEST 37: a key without a tenant
--- http_config
    mcp_store $TEST_NGINX_DATA_DIR;
    mcp_api_key $TEST_NGINX_HASH_A scopes=mcp;
--- must_die
--- error_log
an API key needs "tenant="



=== TEST 38: a tenant outside [A-Za-z0-9_.-]{1,64}
--- http_config
    mcp_store $TEST_NGINX_DATA_DIR;
    mcp_api_key $TEST_NGINX_HASH_A tenant=a/b;
--- must_die
--- error_log
invalid tenant "a/b": 1 to 64 of A-Z, a-z, 0-9, "_", "." and "-"



=== TEST 39: the same key twice
--- http_config
    mcp_store $TEST_NGINX_DATA_DIR;
    mcp_api_key $TEST_NGINX_HASH_A tenant=alpha;
    mcp_api_key $TEST_NGINX_HASH_A tenant=beta;
--- must_die
--- error_log
duplicate API key hash



=== TEST 40: an error in a keys file names the file and the line
--- http_config
    mcp_store $TEST_NGINX_DATA_DIR;
    mcp_api_keys_file $TEST_NGINX_BAD_KEYS_FILE;
--- must_die
--- error_log eval
qr{unknown scope "root" \(scopes are links:write, links:read, mcp and admin\) in \S+/bad\.keys:3}



=== TEST 41: a keys file line without a tenant
--- http_config
    mcp_store $TEST_NGINX_DATA_DIR;
    mcp_api_keys_file $TEST_NGINX_NO_TENANT_FILE;
--- must_die
--- error_log eval
qr{an API key needs "tenant=" in \S+/no-tenant\.keys:1}



=== TEST 42: a keys file that does not exist
--- http_config
    mcp_store $TEST_NGINX_DATA_DIR;
    mcp_api_keys_file $TEST_NGINX_DATA_DIR/missing.keys;
--- must_die
--- error_log eval
qr{open\(\) "\S+/missing\.keys" failed}
