# vim:set ft= ts=4 sw=4 et fdm=marker:

use Test::Nginx::Socket;
use File::Temp qw(tempdir);
use Digest::SHA qw(sha256_hex);

# Lists of links, written record by record into the reply: list_urls,
# mcp_admin's GET links (and one link), summarize_links, the code's
# completion and resources/read of a link, byte for byte as jansson
# encoded them: every page shape (all, first, last, empty), every
# member of a record, and a short_url made of a hostile Host header
# (quotes, a backslash, non-ASCII), or of one that is not UTF-8 (no list
# at all).  The store is imported with fixed times; nothing writes to it.

my $dir = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $tool = $ENV{TEST_NGINX_MCP_STORE_TOOL} || 'build/store/mcp-store';

my $links = <<'_EOL_';
{"type":"header","format":"ngx_mcp","schema_version":3,"exported_at":"2026-01-01T00:00:00Z","tenant":null}
{"type":"link","code":"a1","url":"https://example.com/1","tenant":"default","created_at":"2026-01-02T03:04:05Z","expires_at":null,"max_visits":null,"visits":0,"last_visit":null,"tags":null,"redirect_status":null,"updated_at":null}
{"type":"link","code":"a2","url":"https://example.com/q%22b%5C?x=%C3%A9","tenant":"default","created_at":"2026-01-03T00:00:00Z","expires_at":"2030-01-01T00:00:00Z","max_visits":7,"visits":3,"last_visit":"2026-02-03T04:05:06Z","tags":["a","b.c"],"redirect_status":301,"updated_at":"2026-01-04T00:00:00Z"}
{"type":"link","code":"b_3","url":"https://example.org/","tenant":"beta","created_at":"2026-01-05T00:00:00Z","expires_at":null,"max_visits":null,"visits":0,"last_visit":null,"tags":null,"redirect_status":null,"updated_at":null}
_EOL_

open(my $import, '|-', $tool, 'import', $dir)
    or die "cannot run $tool\n";
print $import $links;
close($import) or die "cannot import the links with $tool\n";

system($tool, 'session-put', $dir, 's1', 'last_seen=' . time,
       'tenant=default') == 0
    or die "cannot make session s1 with $tool\n";

# an admin key: it lists every tenant's links, with their tenant
our $Key = 'lists-admin-0123456789';

$ENV{TEST_NGINX_HASH} = sha256_hex($Key);
$ENV{TEST_NGINX_DATA_DIR} = $dir;

repeat_each(2);
no_shuffle();
no_root_location();

plan tests => repeat_each() * (3 * blocks());

our $HttpConfig = <<'_EOC_';
    mcp_store $TEST_NGINX_DATA_DIR;
    mcp_api_key $TEST_NGINX_HASH tenant=default scopes=links:read,mcp,admin;
_EOC_

our $Config = <<'_EOC_';
    location = /mcp {
        mcp_endpoint;
        mcp_allowed_hosts *;
    }
    location /api/ { mcp_admin; }
_EOC_

our $Headers = "Content-Type: application/json\n"
               . "Accept: application/json, text/event-stream\n"
               . "Mcp-Session-Id: s1\n"
               . "Authorization: Bearer $Key\n";

# the records, as every list shows them (host: the short URLs' host);
# a1 and b_3 have no expiry, limit, visit, tags or status of their own
sub plain {
    my ($code, $url, $created, $tenant, $host) = @_;
    return "{\"code\":\"$code\",\"url\":\"$url\",\"short_url\":\"http://"
           . "$host/$code\",\"visits\":0,\"created_at\":\"$created\","
           . "\"tenant\":\"$tenant\"}";
}

sub a1 {
    return plain('a1', 'https://example.com/1', '2026-01-02T03:04:05Z',
                 'default', @_);
}

sub b3 {
    return plain('b_3', 'https://example.org/', '2026-01-05T00:00:00Z',
                 'beta', @_);
}

sub a2 {
    my ($host) = @_;
    return '{"code":"a2","url":"https://example.com/q%22b%5C?x=%C3%A9",'
           . '"short_url":"http://' . $host . '/a2","visits":3,'
           . '"created_at":"2026-01-03T00:00:00Z",'
           . '"expires_at":"2030-01-01T00:00:00Z",'
           . '"last_visit":"2026-02-03T04:05:06Z","max_visits":7,'
           . '"redirect_status":301,"tags":["a","b.c"],"tenant":"default"}';
}

# a tools/call of list_urls, and its answer around structuredContent
sub call {
    my ($id, $args) = @_;
    return "POST /mcp\n{\"jsonrpc\":\"2.0\",\"id\":$id,\"method\":"
           . "\"tools/call\",\"params\":{\"name\":\"list_urls\","
           . "\"arguments\":$args}}";
}

sub result {
    my ($id, $structured) = @_;
    (my $text = $structured) =~ s/(["\\])/\\$1/g;
    return "{\"jsonrpc\":\"2.0\",\"id\":$id,\"result\":{\"content\":"
           . "[{\"type\":\"text\",\"text\":\"$text\"}],"
           . "\"structuredContent\":$structured}}\n";
}

add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->http_config) {
        $block->set_value("http_config", $HttpConfig);
    }

    if (!defined $block->config) {
        $block->set_value("config", $Config);
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

=== TEST 1: list_urls: every link, every member, no nextCursor
--- request eval
::call(1, '{}')
--- response_body eval
::result(1, '{"links":[' . ::a1('localhost') . ',' . ::a2('localhost') . ','
            . ::b3('localhost') . ']}')



=== TEST 2: list_urls: a first page, with its nextCursor (base64url of "a2")
--- request eval
::call(2, '{"limit":2}')
--- response_body eval
::result(2, '{"links":[' . ::a1('localhost') . ',' . ::a2('localhost')
            . '],"nextCursor":"YTI"}')



=== TEST 3: list_urls: the last page, from that cursor
--- request eval
::call(3, '{"limit":2,"cursor":"YTI"}')
--- response_body eval
::result(3, '{"links":[' . ::b3('localhost') . ']}')



=== TEST 4: list_urls: an empty page, past the last link
--- request eval
::call(4, '{"cursor":"eno"}')
--- response_body eval
::result(4, '{"links":[]}')



=== TEST 5: list_urls: a short_url of a hostile Host, escaped twice (structuredContent, text)
--- more_headers eval
$::Headers . "Host: h\"q\\b\xc3\xa9\n"
--- request eval
::call(5, '{"limit":1}')
--- response_body eval
::result(5, '{"links":[' . ::a1("h\\\"q\\\\b\xc3\xa9")
            . '],"nextCursor":"YTE"}')



=== TEST 6: list_urls: a Host that is not UTF-8 makes no list
--- more_headers eval
$::Headers . "Host: h\xff\n"
--- request eval
::call(6, '{}')
--- response_body
{"jsonrpc":"2.0","id":6,"result":{"content":[{"type":"text","text":"the store failed to list links"}],"isError":true}}



=== TEST 7: GET links: every link of the key's tenant, nextCursor null
--- request
GET /api/links
--- response_body eval
'{"links":[' . ::a1('localhost') . ',' . ::a2('localhost')
. '],"nextCursor":null}' . "\n"



=== TEST 8: GET links: a first page, with its nextCursor
--- request
GET /api/links?limit=1
--- response_body eval
'{"links":[' . ::a1('localhost') . '],"nextCursor":"a1"}' . "\n"



=== TEST 9: GET links: the last page, from that cursor
--- request
GET /api/links?limit=1&cursor=a1
--- response_body eval
'{"links":[' . ::a2('localhost') . '],"nextCursor":null}' . "\n"



=== TEST 10: GET links: nothing found is an empty list
--- request
GET /api/links?q=nothing-like-it
--- response_body
{"links":[],"nextCursor":null}



=== TEST 11: GET links: a short_url of a hostile Host
--- more_headers eval
$::Headers . "Host: h\"q\\b\xc3\xa9\n"
--- request
GET /api/links?tag=b.c
--- response_body eval
'{"links":[' . ::a2("h\\\"q\\\\b\xc3\xa9") . '],"nextCursor":null}' . "\n"



=== TEST 12: GET links: a Host that is not UTF-8 makes no list
--- more_headers eval
$::Headers . "Host: h\xff\n"
--- request
GET /api/links
--- error_code: 500
--- response_body_like: 500 Internal Server Error



=== TEST 13: GET links/{code}: the record, then updated_at
--- request
GET /api/links/a2
--- response_body eval
substr(::a2('localhost'), 0, -1) . ',"updated_at":"2026-01-04T00:00:00Z"}'
. "\n"



=== TEST 14: summarize_links: the records as the prompt's text
--- request
POST /mcp
{"jsonrpc":"2.0","id":14,"method":"prompts/get","params":{"name":"summarize_links","arguments":{"until":"2026-01-04T00:00:00Z"}}}
--- response_body eval
my $list = '[' . ::a1('localhost') . ',' . ::a2('localhost') . ']';
$list =~ s/(["\\])/\\$1/g;
'{"jsonrpc":"2.0","id":14,"result":{"description":"Summarise short links",'
. '"messages":[{"role":"user","content":{"type":"text","text":"Summarise '
. 'these short links for a report: what they point to, which are used '
. 'most, which expire soon. The links, as JSON records:\n' . $list
. '"}}]}}' . "\n"



=== TEST 15: completion of a shorturl:// code, by prefix
--- request
POST /mcp
{"jsonrpc":"2.0","id":15,"method":"completion/complete","params":{"ref":{"type":"ref/resource","uri":"shorturl://{code}"},"argument":{"name":"code","value":"a"}}}
--- response_body
{"jsonrpc":"2.0","id":15,"result":{"completion":{"values":["a1","a2"],"total":2,"hasMore":false}}}



=== TEST 16: resources/read of a link: its record as the content's text
--- request
POST /mcp
{"jsonrpc":"2.0","id":16,"method":"resources/read","params":{"uri":"shorturl://a2"}}
--- response_body eval
(my $text = ::a2('localhost')) =~ s/(["\\])/\\$1/g;
'{"jsonrpc":"2.0","id":16,"result":{"contents":[{"uri":"shorturl://a2",'
. '"mimeType":"application/json","text":"' . $text . '"}]}}' . "\n"
