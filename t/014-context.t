# vim:set ft= ts=4 sw=4 et fdm=marker:

use Test::Nginx::Socket;
use File::Temp qw(tempdir);
use Time::HiRes ();

# Conversation contexts through /mcp: append, windows within a budget with
# pinned messages and a summary, search, list, clear, resources, TTL.
# Blocks build on each other's store, so each runs once, in order.

my $dir = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $tool = $ENV{TEST_NGINX_MCP_STORE_TOOL} || 'build/store/mcp-store';

system($tool, 'session-put', $dir, 's1', 'last_seen=' . time) == 0
    or die "cannot make a session with $tool\n";

$ENV{TEST_NGINX_DATA_DIR} = $dir;

repeat_each(1);
no_shuffle();
no_root_location();

plan tests => repeat_each() * 90;

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

# a message of n bytes: n/4 + 3 tokens
sub say {
    my ($role, $text, $pinned) = @_;
    return ::call("context_append", "{\"context_id\": \"c1\", \"role\": "
                  . "\"$role\", \"content\": \"$text\""
                  . ($pinned ? ", \"pinned\": true" : "") . "}");
}

run_tests();

__DATA__

=== TEST 1: context_append counts tokens: 4 bytes a token plus 3 a message
--- request eval
[::say("system", "You are a helpful assistant for the Acme anvil shop."),
 ::say("user", "Where is my anvil order 42? It was due last week."),
 ::say("assistant", "Order 42 shipped yesterday. It arrives on Friday."),
 ::say("user", "Thanks. Also, do you sell rocket skates? I need a pair.", 1),
 ::say("assistant", "We do. Rocket skates cost 99 dollars a pair."),
 ::say("user", "Great, please add rocket skates to order 42.")]
--- response_body_like eval
['"structuredContent":\{"context_id":"c1","message_id":1,"tokens":16,"total_tokens":16,"messages":1\}',
 '"message_id":2,"tokens":16,"total_tokens":32,"messages":2',
 '"message_id":3,',
 '"message_id":4,',
 '"message_id":5,',
 '"message_id":6,"tokens":14,']



=== TEST 2: a window that holds everything drops nothing
--- request eval
::call("context_window", '{"context_id": "c1", "max_tokens": 1000}')
--- response_body_like: "structuredContent":\{"messages":\[\{"role":"system",.*"message_id":1\},.*"message_id":6\}\],"tokens_used":\d+,"max_tokens":1000,"dropped":0,"summary":null\}



=== TEST 3: a tight window keeps system and pinned, the newest turns, and a summary
--- request eval
::call("context_window", '{"context_id": "c1", "max_tokens": 70}')
--- response_body_like: "structuredContent":\{"messages":\[\{"role":"system","content":"You are a helpful[^}]*"message_id":1\},\{"role":"system","content":"Summary of \d earlier messages?:[^"]*","summary":true\},.*"pinned":true.*"message_id":6\}\],"tokens_used":(\d|[1-6]\d|70),"max_tokens":70,"dropped":[1-9],"summary":"Summary of



=== TEST 4: pinned and system messages alone over the budget: an error result
--- request eval
::call("context_window", '{"context_id": "c1", "max_tokens": 20}')
--- response_body_like: "text":"the pinned and system messages of c1 alone need \d+ tokens, more than max_tokens 20"\}\],"isError":true



=== TEST 5: context_search ranks messages
--- request eval
::call("context_search", '{"query": "rocket skates", "context_id": "c1"}')
--- response_body_like: "structuredContent":\{"results":\[\{"role":"(user|assistant)","content":"[^"]*[Rr]ocket skates[^"]*","message_id":[456],.*"context_id":"c1","score":[0-9.e-]+\}



=== TEST 6: context_list and the context resource
--- request eval
[::call("context_list", '{}'),
 "POST /mcp\n{\"jsonrpc\": \"2.0\", \"id\": 2, \"method\": \"resources/read\", \"params\": {\"uri\": \"context://c1\"}}"]
--- response_body_like eval
['"structuredContent":\{"contexts":\[\{"context_id":"c1","messages":6,"tokens":\d+,"updated_at":"20',
 '"contents":\[\{"uri":"context://c1","mimeType":"application/json","text":"\{\\\\"context_id\\\\":\\\\"c1\\\\"']



=== TEST 7: bad arguments are tool errors
--- request eval
[::call("context_append", '{"context_id": "c1", "role": "robot", "content": "x"}'),
 ::call("context_window", '{"context_id": "c1", "max_tokens": 0}'),
 ::call("context_window", '{"context_id": "nope", "max_tokens": 100}'),
 ::call("context_append", '{"context_id": "", "role": "user", "content": "x"}')]
--- response_body_like eval
['"text":"role must be system, user, assistant or tool"\}\],"isError":true',
 '"text":"max_tokens must be a whole number, at least 1"\}\],"isError":true',
 '"text":"no context nope"\}\],"isError":true',
 '"isError":true']



=== TEST 8: namespaces keep contexts apart
--- request eval
[::call("context_append", '{"namespace": "other", "context_id": "c1", "role": "user", "content": "hello there"}'),
 ::call("context_list", '{"namespace": "other"}')]
--- response_body_like eval
['"message_id":1,',
 '"contexts":\[\{"context_id":"c1","messages":1,']



=== TEST 9: context_clear removes a context and its messages from search
--- request eval
[::call("context_clear", '{"context_id": "c1"}'),
 ::call("context_search", '{"query": "rocket"}'),
 ::call("context_clear", '{"context_id": "c1"}')]
--- response_body_like eval
['"structuredContent":\{"context_id":"c1","cleared":true\}',
 '"structuredContent":\{"results":\[\]\}',
 '"text":"no context c1"\}\],"isError":true']



=== TEST 10: a context with a ttl expires
--- http_config
mcp_store $TEST_NGINX_DATA_DIR;
--- config
location = /mcp { mcp_endpoint; mcp_context_ttl 1s; }
--- request eval
[::call("context_append", '{"context_id": "brief", "role": "user", "content": "soon gone"}'),
 ::call("context_list", '{}')]
--- response_body_like eval
['"message_id":1,',
 '"context_id":"brief","messages":1,"tokens":6,"updated_at":"20[^"]*","expires_at":"20']



=== TEST 11: mcp_context_ttl for one namespace
--- http_config
mcp_store $TEST_NGINX_DATA_DIR;
--- config
location = /mcp { mcp_endpoint; mcp_context_ttl 1h scratch; }
--- request eval
[::call("context_append", '{"namespace": "scratch", "context_id": "n1", "role": "user", "content": "soon gone"}'),
 ::call("context_append", '{"namespace": "keep", "context_id": "n1", "role": "user", "content": "kept"}'),
 ::call("context_list", '{"namespace": "scratch"}'),
 ::call("context_list", '{"namespace": "keep"}')]
--- response_body_like eval
['"message_id":1,',
 '"message_id":1,',
 '"context_id":"n1","messages":1,"tokens":6,"updated_at":"20[^"]*","expires_at":"20',
 '"context_id":"n1","messages":1,"tokens":4,"updated_at":"20[^"]*"\}\]']



=== TEST 12: a context's ttl, given once
--- request eval
::call("context_append", '{"context_id": "renewed", "role": "user", "content": "first", "ttl": 3600}')
--- response_body_like eval
'"message_id":1,'



=== TEST 13: a later append without ttl renews it: the context expires an hour after its last append
--- init
Time::HiRes::sleep(1.2);
--- request eval
[::call("context_append", '{"context_id": "renewed", "role": "user", "content": "second"}'),
 ::call("context_list", '{}')]
--- response_body_like eval
['"message_id":2,',
 '"context_id":"renewed","messages":2,"tokens":\d+,"updated_at":"[-0-9]+T\d\d(:\d\d:\d\dZ)","expires_at":"[-0-9]+T\d\d\1"']
