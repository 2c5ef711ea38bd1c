# vim:set ft= ts=4 sw=4 et fdm=marker:

use Test::Nginx::Socket;
use File::Temp qw(tempdir);
use Digest::SHA qw(sha256_hex);

# mcp_admin's read-only views of the context store: GET graph (entities
# and relations, paged, searched with q, by namespace) and GET contexts
# (paged), answering what the read_graph, search_nodes and context_list
# tools answer, for the caller's tenant only; their errors.  Blocks build
# on each other's store, so each runs once, in order.

my $dir = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $tool = $ENV{TEST_NGINX_MCP_STORE_TOOL} || 'build/store/mcp-store';

our %Key = (
    A => 'alpha-admin-0123456789',    # alpha, every scope
    B => 'beta-admin-0123456789',     # beta, every scope
    N => 'alpha-plain-0123456789',    # alpha, default scopes: no admin
);

$ENV{"TEST_NGINX_HASH_$_"} = sha256_hex($Key{$_}) for keys %Key;
$ENV{TEST_NGINX_DATA_DIR} = $dir;

# sessions of each tenant, as initialize would have made them
for (['sA', 'alpha'], ['sB', 'beta']) {
    system($tool, 'session-put', $dir, $_->[0], 'last_seen=' . time,
           "tenant=$_->[1]") == 0
        or die "cannot make session $_->[0] with $tool\n";
}

repeat_each(1);
no_shuffle();
no_root_location();

plan tests => repeat_each() * 86;

our $HttpConfig = <<'_EOC_';
    mcp_store $TEST_NGINX_DATA_DIR;
    mcp_api_key $TEST_NGINX_HASH_A tenant=alpha scopes=links:read,links:write,mcp,admin;
    mcp_api_key $TEST_NGINX_HASH_B tenant=beta scopes=links:read,links:write,mcp,admin;
    mcp_api_key $TEST_NGINX_HASH_N tenant=alpha;
_EOC_

our $Config = <<'_EOC_';
    location /api/ { mcp_admin; }
    location = /mcp { mcp_endpoint; }
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
        $block->set_value("more_headers", ::h('A', 'sA'));
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

sub call {
    my ($name, $args) = @_;
    return "POST /mcp\n{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": "
           . "\"tools/call\", \"params\": {\"name\": \"$name\", "
           . "\"arguments\": $args}}";
}

run_tests();

__DATA__

=== TEST 1: a graph and contexts, of two tenants and a namespace
--- request eval
[::call("create_entities", '{"entities": [{"name": "Alice", "entityType": "person", "observations": ["likes tea"]}, {"name": "Bob", "entityType": "person", "observations": []}, {"name": "Carol", "entityType": "robot", "observations": []}]}'),
 ::call("create_relations", '{"relations": [{"from": "Alice", "to": "Bob", "relationType": "knows"}]}'),
 ::call("create_entities", '{"namespace": "work", "entities": [{"name": "Dave", "entityType": "person", "observations": []}]}'),
 ::call("context_append", '{"context_id": "c1", "role": "user", "content": "hello"}'),
 ::call("context_append", '{"context_id": "c2", "role": "user", "content": "again"}'),
 ::call("create_entities", '{"entities": [{"name": "Eve", "entityType": "person", "observations": []}]}'),
 ::call("context_append", '{"context_id": "cB", "role": "user", "content": "beta"}')]
--- more_headers eval
[::h('A', 'sA'), ::h('A', 'sA'), ::h('A', 'sA'), ::h('A', 'sA'), ::h('A', 'sA'),
 ::h('B', 'sB'), ::h('B', 'sB')]
--- error_code eval
[200, 200, 200, 200, 200, 200, 200]
--- response_body_like eval
['"structuredContent"', '"structuredContent"', '"structuredContent"',
 '"structuredContent"', '"structuredContent"', '"structuredContent"',
 '"structuredContent"']



=== TEST 2: GET graph: the tenant's entities and relations, paged
--- request eval
["GET /api/graph", "GET /api/graph?limit=2",
 "GET /api/graph?limit=2&cursor=Qm9i", "GET /api/graph?namespace=work"]
--- error_code eval
[200, 200, 200, 200]
--- response_body_like eval
['^\{"entities":\[\{"name":"Alice",.*\{"name":"Bob",.*\{"name":"Carol",(?:(?!"name").)*\],"relations":\[\{"from":"Alice","to":"Bob","relationType":"knows"(?:(?!"name").)*\]\}$',
 '^\{"entities":\[\{"name":"Alice",.*\{"name":"Bob",(?:(?!"name").)*\],"relations":\[\{"from":"Alice".*"nextCursor":"([^"]+)"\}$',
 '^\{"entities":\[\{"name":"Carol",(?:(?!"name").)*\],"relations":\[\]\}$',
 '^\{"entities":\[\{"name":"Dave",(?:(?!"name").)*\],"relations":\[\]\}$']



=== TEST 3: GET graph?q= searches, best first
--- request eval
["GET /api/graph?q=tea", "GET /api/graph?q=robot", "GET /api/graph?q=nothing"]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
['^\{"entities":\[\{"name":"Alice",(?:(?!"name").)*\],"relations":\[\{"from":"Alice"',
 '^\{"entities":\[\{"name":"Carol",(?:(?!"name").)*\],"relations":\[\]',
 '^\{"entities":\[\],"relations":\[\]']



=== TEST 4: GET contexts: the tenant's contexts
--- request eval
["GET /api/contexts", "GET /api/contexts?namespace=work"]
--- error_code eval
[200, 200]
--- response_body_like eval
['^\{"contexts":\[\{"context_id":"c1",.*\{"context_id":"c2",(?:(?!context_id).)*\]',
 '^\{"contexts":\[\]']



=== TEST 5: another tenant sees only its own
--- request eval
["GET /api/graph", "GET /api/contexts", "GET /api/graph?q=alice"]
--- more_headers eval
[::h('B'), ::h('B'), ::h('B')]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
['^\{"entities":\[\{"name":"Eve",(?:(?!"name").)*\],"relations":\[\]\}$',
 '^\{"contexts":\[\{"context_id":"cB",(?:(?!context_id).)*\]',
 '^\{"entities":\[\],"relations":\[\]']



=== TEST 6: errors: bad arguments, methods, keys
--- request eval
["GET /api/graph?limit=0", "GET /api/graph?limit=x", "GET /api/graph?cursor=!!",
 "GET /api/graph?namespace=a%00b", "POST /api/graph
{}", "DELETE /api/contexts", "GET /api/graph", "GET /api/contexts",
 "GET /api/graphs"]
--- more_headers eval
[::h('A'), ::h('A'), ::h('A'), ::h('A'), ::h('A'), ::h('A'), ::h('N'), ::h(),
 ::h('A')]
--- error_code eval
[400, 400, 400, 400, 405, 405, 403, 401, 404]
--- response_body_like eval
['"error":"invalid_request"', '"error":"invalid_request"',
 '"error":"invalid_request"', '"error":"invalid_request"',
 '"error":"method_not_allowed"', '"error":"method_not_allowed"',
 '"error":"forbidden"', '"error":"unauthorized"', '"error":"not_found"']
--- response_headers eval
["", "", "", "", "Allow: GET, HEAD", "Allow: GET, HEAD", "", "", ""]
