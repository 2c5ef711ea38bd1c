# vim:set ft= ts=4 sw=4 et fdm=marker:

use Test::Nginx::Socket;
use File::Temp qw(tempdir);

# Long-term memory through /mcp: the nine server-memory tools, namespaces,
# pages, ranked search, refusals that save nothing.  Blocks build on each
# other's store, so each runs once, in order.

my $dir = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $tool = $ENV{TEST_NGINX_MCP_STORE_TOOL} || 'build/store/mcp-store';

system($tool, 'session-put', $dir, 's1', 'last_seen=' . time) == 0
    or die "cannot make a session with $tool\n";

$ENV{TEST_NGINX_DATA_DIR} = $dir;

repeat_each(1);
no_shuffle();
no_root_location();

plan tests => repeat_each() * 72;

our $HttpConfig = <<'_EOC_';
    mcp_store $TEST_NGINX_DATA_DIR;
_EOC_

add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->http_config) {
        $block->set_value("http_config", $HttpConfig);
    }

    if (!defined $block->config) {
        $block->set_value("config", "location = /mcp { mcp_endpoint; }");
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
    my ($name, $args) = @_;
    return "POST /mcp\n{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": "
           . "\"tools/call\", \"params\": {\"name\": \"$name\", "
           . "\"arguments\": $args}}";
}

run_tests();

__DATA__

=== TEST 1: tools/list has the nine memory tools
--- request eval
"POST /mcp\n{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"tools/list\"}"
--- response_body_like: "create_entities".*"create_relations".*"add_observations".*"delete_entities".*"delete_observations".*"delete_relations".*"read_graph".*"search_nodes".*"open_nodes"



=== TEST 2: create_entities returns what it created
--- request eval
::call("create_entities", '{"entities": [{"name": "Alice", "entityType": "person", "observations": ["works at Acme", "likes tea"]}, {"name": "Acme", "entityType": "company", "observations": ["makes anvils"]}, {"name": "Bob", "entityType": "person", "observations": ["Alice\'s manager"]}]}')
--- response_body_like: "structuredContent":\{"entities":\[\{"name":"Alice","entityType":"person","observations":\["works at Acme","likes tea"\]\},\{"name":"Acme",.*\{"name":"Bob",



=== TEST 3: an existing name is skipped
--- request eval
::call("create_entities", '{"entities": [{"name": "Alice", "entityType": "robot", "observations": []}, {"name": "Carol", "entityType": "person", "observations": []}]}')
--- response_body_like: "structuredContent":\{"entities":\[\{"name":"Carol","entityType":"person","observations":\[\]\}\]\}



=== TEST 4: create_relations skips a duplicate triple
--- request eval
::call("create_relations", '{"relations": [{"from": "Alice", "to": "Acme", "relationType": "works_at"}, {"from": "Bob", "to": "Alice", "relationType": "manages"}, {"from": "Alice", "to": "Acme", "relationType": "works_at"}]}')
--- response_body_like: "structuredContent":\{"relations":\[\{"from":"Alice","to":"Acme","relationType":"works_at"\},\{"from":"Bob","to":"Alice","relationType":"manages"\}\]\}



=== TEST 5: add_observations reports only new texts
--- request eval
::call("add_observations", '{"observations": [{"entityName": "Alice", "contents": ["likes tea", "speaks Esperanto"]}]}')
--- response_body_like: "structuredContent":\{"results":\[\{"entityName":"Alice","addedObservations":\["speaks Esperanto"\]\}\]\}



=== TEST 6: an unknown entity fails the call, and its other items are not saved
--- request eval
[::call("add_observations", '{"observations": [{"entityName": "Carol", "contents": ["plays chess"]}, {"entityName": "Nobody", "contents": ["x"]}]}'),
 ::call("open_nodes", '{"names": ["Carol"]}')]
--- response_body_like eval
['"text":"Entity with name Nobody not found; nothing was saved"\}\],"isError":true',
 '"name":"Carol","entityType":"person","observations":\[\]']



=== TEST 7: search_nodes: a word prefix, best match first
--- request eval
::call("search_nodes", '{"query": "ali"}')
--- response_body_like: "structuredContent":\{"entities":\[\{"name":"Alice",.*\{"name":"Bob",.*"relations":\[



=== TEST 8: search_nodes ranks by relevance
--- request eval
::call("search_nodes", '{"query": "anvils"}')
--- response_body_like: "structuredContent":\{"entities":\[\{"name":"Acme","entityType":"company","observations":\["makes anvils"\]\}\],"relations":\[\{"from":"Alice","to":"Acme","relationType":"works_at"\}\]\}



=== TEST 9: open_nodes with a missing name
--- request eval
::call("open_nodes", '{"names": ["Bob", "Nobody"]}')
--- response_body_like: "structuredContent":\{"entities":\[\{"name":"Bob",[^\]]*\]\}\],"relations":\[\{"from":"Bob","to":"Alice","relationType":"manages"\}\]\}



=== TEST 10: read_graph pages with limit and cursor
--- request eval
::call("read_graph", '{"limit": 2}')
--- response_body_like: "structuredContent":\{"entities":\[\{"name":"Acme",[^\]]*\]\},\{"name":"Alice",.*\],"nextCursor":"[A-Za-z0-9_-]+"\}



=== TEST 11: a namespace is a separate graph
--- request eval
[::call("create_entities", '{"namespace": "proj-1", "entities": [{"name": "Alice", "entityType": "cat", "observations": ["purrs"]}]}'),
 ::call("search_nodes", '{"namespace": "proj-1", "query": "works"}'),
 ::call("open_nodes", '{"names": ["Alice"], "namespace": "proj-1"}')]
--- response_body_like eval
['"entities":\[\{"name":"Alice","entityType":"cat"',
 '"structuredContent":\{"entities":\[\],"relations":\[\]\}',
 '"observations":\["purrs"\]']



=== TEST 12: a bad namespace is refused
--- request eval
::call("read_graph", '{"namespace": "../etc"}')
--- response_body_like: "isError":true



=== TEST 13: delete_observations and delete_relations
--- request eval
[::call("delete_observations", '{"deletions": [{"entityName": "Alice", "observations": ["likes tea", "not there"]}]}'),
 ::call("delete_relations", '{"relations": [{"from": "Bob", "to": "Alice", "relationType": "manages"}]}'),
 ::call("open_nodes", '{"names": ["Alice"]}')]
--- response_body_like eval
['"structuredContent":\{"success":true,"message":"Observations deleted successfully"\}',
 '"structuredContent":\{"success":true,"message":"Relations deleted successfully"\}',
 '"observations":\["works at Acme","speaks Esperanto"\]\}\],"relations":\[\{"from":"Alice","to":"Acme","relationType":"works_at"\}\]']



=== TEST 14: delete_entities removes the relations too, and the search entry
--- request eval
[::call("delete_entities", '{"entityNames": ["Acme", "Nobody"]}'),
 ::call("read_graph", '{}'),
 ::call("search_nodes", '{"query": "anvils"}')]
--- response_body_like eval
['"message":"Entities deleted successfully"',
 '"structuredContent":\{"entities":\[\{"name":"Alice".*"relations":\[\]\}',
 '"structuredContent":\{"entities":\[\],"relations":\[\]\}']



=== TEST 15: wrong shapes are tool errors that save nothing
--- request eval
[::call("create_entities", '{"entities": [{"name": "Dan", "entityType": "person", "observations": []}, {"name": "", "entityType": "x", "observations": []}]}'),
 ::call("open_nodes", '{"names": ["Dan"]}')]
--- response_body_like eval
['"text":"entity 1: \\\\"name\\\\" must be a non-empty string"\}\],"isError":true',
 '"entities":\[\],']



=== TEST 16: the graph is a resource
--- request eval
"POST /mcp\n{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"resources/read\", \"params\": {\"uri\": \"memory://knowledge-graph/proj-1\"}}"
--- response_body_like: "contents":\[\{"uri":"memory://knowledge-graph/proj-1","mimeType":"application/json","text":"\{\\n  \\"entities\\": \[\\n    \{\\n      \\"name\\": \\"Alice\\"
