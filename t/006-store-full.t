# vim:set ft= ts=4 sw=4 et fdm=marker:

use Test::Nginx::Socket;
use File::Temp qw(tempdir);
use HTTP::Tiny;

# A store at its map size: writes are refused with 507 and change nothing,
# reads and redirects go on, and a larger map_size recovers.  A store
# filled through MCP (entities, relations, links, a conversation) up to
# its reserve: every kind of delete still works there, and frees room
# that new writes then use.

my $dir = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $memory = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $tool = $ENV{TEST_NGINX_MCP_STORE_TOOL} || 'build/store/mcp-store';
my $n = 0;

# fill it with ever smaller links until not even a tiny one fits
for my $size (1500, 200, 1) {
    my $url = 'https://example.com/' . ('x' x $size);

    while (++$n < 5000) {
        last if system("$tool --map-size=65536 put $dir f$n $url 2>/dev/null")
                != 0;
    }
}

die "the 64 KiB store never filled up\n" if $n >= 5000;

$ENV{TEST_NGINX_DATA_DIR} = $dir;
$ENV{TEST_NGINX_MEMORY_DIR} = $memory;

# made by the tool at the size nginx opens it with: a store keeps the
# largest map size it was ever opened with
system($tool, '--map-size=4194304', 'session-put', $memory, 's1',
       'last_seen=' . time) == 0
    or die "cannot make a session with $tool\n";

repeat_each(1);
no_shuffle();
no_root_location();

plan tests => repeat_each() * (3 * blocks() + 6 + 9);

sub mcp_call {
    my ($name, $args) = @_;

    my $port = server_port_for_client();
    my $res = HTTP::Tiny->new(timeout => 60)->post(
        "http://127.0.0.1:$port/mcp", {
            headers => {
                'Content-Type' => 'application/json',
                'Accept' => 'application/json, text/event-stream',
                'Mcp-Session-Id' => 's1',
            },
            content => '{"jsonrpc": "2.0", "id": 1, "method": "tools/call", '
                       . qq("params": {"name": "$name", "arguments": $args}}),
        });

    return $res->{content} // '';
}

# the arguments of create_entities for entities $from to $to: 20 words of
# 50 each, and their number
sub entities {
    my ($from, $to) = @_;
    my @words = map { "word$_" } 1 .. 50;

    return '{"entities": [' . join(',', map {
        my $k = $_;
        my $text = join ' ', map { $words[($k * 7 + $_ * 3) % 50] } 1 .. 20;
        sprintf '{"name": "n%06u", "entityType": "thing", '
                . '"observations": ["%s", "number %u"]}', $k, $text, $k;
    } $from .. $to) . ']}';
}

sub names {
    my ($from, $to) = @_;
    return '{"entityNames": ['
           . join(',', map { sprintf '"n%06u"', $_ } $from .. $to) . ']}';
}

# Five links, relations from the first entities, a conversation of five
# messages, then ever smaller batches of entities until not even one more
# fits.
sub fill_memory {
    my $k = 0;

    for my $i (1 .. 5) {
        mcp_call('shorten_url', qq({"url": "https://example.com/$i", )
                                . qq("alias": "keep$i"}));
        mcp_call('context_append', qq({"context_id": "chat", "role": )
                                   . qq("user", "content": "message $i"}));
    }

    for my $size (500, 50, 5, 1) {
        while ($k < 100000) {
            my $args = entities($k, $k + $size - 1);

            last if mcp_call('create_entities', $args) =~ /store full/;

            if ($k == 0) {
                mcp_call('create_relations', '{"relations": ['
                         . join(',', map { sprintf '{"from": "n%06u", '
                                           . '"to": "n000000", '
                                           . '"relationType": "knows"}', $_ }
                                1 .. 10) . ']}');
            }

            $k += $size;
        }
    }

    die "the memory store never filled up\n" if $k >= 100000;
}

our $Config = <<'_EOC_';
    location = /shorten { mcp_shorten; }
    location = /mcp { mcp_endpoint; }
    location / { mcp_redirect; }
_EOC_

our $MemoryConfig = <<'_EOC_';
    mcp_store $TEST_NGINX_MEMORY_DIR map_size=4m;
_EOC_

our $McpHeaders = "Content-Type: application/json\n"
                  . "Accept: application/json, text/event-stream\n"
                  . "Mcp-Session-Id: s1\n";

sub call {
    my ($name, $args) = @_;
    return "POST /mcp\n{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": "
           . "\"tools/call\", \"params\": {\"name\": \"$name\", "
           . "\"arguments\": $args}}";
}

add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->config) {
        $block->set_value("config", $Config);
    }

    if (!defined $block->more_headers) {
        $block->set_value("more_headers", "Content-Type: application/json");
    }

    if (!defined $block->http_config) {
        $block->set_value("http_config", $MemoryConfig);
    }
});

run_tests();

__DATA__

=== TEST 1: a full store refuses a new link with 507 and says what to do
--- http_config
mcp_store $TEST_NGINX_DATA_DIR map_size=64k;
--- request
POST /shorten
{"OriginalURL": "https://example.com/new", "alias": "new"}
--- error_code: 507
--- response_body
{"message":"the link store is full; nothing was saved","error":"store_full"}
--- error_log
is full: raise its map_size= and reload



=== TEST 2: redirects keep working on a full store
--- http_config
mcp_store $TEST_NGINX_DATA_DIR map_size=64k;
--- request
GET /f1
--- error_code: 302
--- response_headers_like
Location: ^https://example.com/x{1500}$
--- no_error_log
[error]



=== TEST 3: nothing was stored under the refused alias
--- http_config
mcp_store $TEST_NGINX_DATA_DIR map_size=64k;
--- request
GET /new
--- error_code: 404
--- response_body
{"message":"Short URL not found","error":"not_found"}
--- no_error_log
[error]



=== TEST 4: a larger map_size lets writes through again
--- http_config
mcp_store $TEST_NGINX_DATA_DIR map_size=1m;
--- request
POST /shorten
{"OriginalURL": "https://example.com/new", "alias": "new"}
--- error_code: 201
--- response_body_like: "code":"new"
--- no_error_log
[error]



=== TEST 5: a memory store filled through MCP (up to its reserve) is read
--- init
main::fill_memory();
--- more_headers eval: $::McpHeaders
--- request eval
::call("open_nodes", '{"names": ["n000000"]}')
--- error_code: 200
--- response_body_like: "structuredContent":\{"entities":\[\{"name":"n000000"
--- error_log
is full: raise its map_size= and reload



=== TEST 6: it refuses new entities
--- more_headers eval: $::McpHeaders
--- request eval
::call("create_entities", ::entities(900000, 900499))
--- error_code: 200
--- response_body_like: "text":"store full: raise map_size; nothing was saved"\}\],"isError":true
--- error_log
is full: raise its map_size= and reload



=== TEST 7: delete_entities works on the full store
--- more_headers eval: $::McpHeaders
--- request eval
::call("delete_entities", ::names(100, 199))
--- error_code: 200
--- response_body_like: "structuredContent":\{"success":true,"message":"Entities deleted successfully"\}
--- no_error_log
[error]



=== TEST 8: delete_observations works on the full store
--- more_headers eval: $::McpHeaders
--- request eval
::call("delete_observations", '{"deletions": [{"entityName": "n000050", "observations": ["number 50"]}]}')
--- error_code: 200
--- response_body_like: "structuredContent":\{"success":true,"message":"Observations deleted successfully"\}
--- no_error_log
[error]



=== TEST 9: delete_relations works on the full store
--- more_headers eval: $::McpHeaders
--- request eval
::call("delete_relations", '{"relations": [{"from": "n000001", "to": "n000000", "relationType": "knows"}]}')
--- error_code: 200
--- response_body_like: "structuredContent":\{"success":true,"message":"Relations deleted successfully"\}
--- no_error_log
[error]



=== TEST 10: delete_url works on the full store
--- more_headers eval: $::McpHeaders
--- request eval
::call("delete_url", '{"code": "keep1"}')
--- error_code: 200
--- response_body_like: "structuredContent":\{"code":"keep1","deleted":true\}
--- no_error_log
[error]



=== TEST 11: context_clear works on the full store
--- more_headers eval: $::McpHeaders
--- request eval
::call("context_clear", '{"context_id": "chat"}')
--- error_code: 200
--- response_body_like: "structuredContent":\{"context_id":"chat","cleared":true\}
--- no_error_log
[error]



=== TEST 12: more entities go, a hundred a call
--- more_headers eval: $::McpHeaders
--- request eval
[map { ::call("delete_entities", ::names($_, $_ + 99)) } 200, 300, 400, 500]
--- error_code eval
[200, 200, 200, 200]
--- response_body_like eval
[('"message":"Entities deleted successfully"') x 4]
--- no_error_log
[error]



=== TEST 13: what the deletes freed takes new entities, messages and links
--- more_headers eval: $::McpHeaders
--- request eval
[::call("create_entities", ::entities(100, 149)),
 ::call("context_append", '{"context_id": "chat", "role": "user", "content": "a new conversation"}'),
 ::call("shorten_url", '{"url": "https://example.com/fresh", "alias": "fresh"}')]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
['"structuredContent":\{"entities":\[\{"name":"n000100".*"name":"n000149"',
 '"structuredContent":\{"context_id":"chat","message_id":1,',
 '"structuredContent":\{"ShortURL":"fresh"']
--- no_error_log
[error]
