# vim:set ft= ts=4 sw=4 et fdm=marker:

use Test::Nginx::Socket;
use File::Temp qw(tempdir);

# What a site around mcp_redirect sees: codes served under "location /s/"
# (short_url follows that prefix), HEAD requests that are no visits, and
# error_page answering for unknown and spent codes.  Blocks build on each
# other's store, so each runs once, in order; every start is a restart,
# which writes the visits counted so far.

my $dir = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $tool = $ENV{TEST_NGINX_MCP_STORE_TOOL} || 'build/store/mcp-store';

system($tool, 'session-put', $dir, 's1', 'last_seen=' . time) == 0
    or die "cannot make a session with $tool\n";

$ENV{TEST_NGINX_DATA_DIR} = $dir;

repeat_each(1);
no_shuffle();
no_root_location();

plan tests => repeat_each() * 82;

our $HttpConfig = <<'_EOC_';
    mcp_store $TEST_NGINX_DATA_DIR;
_EOC_

our $Config = <<'_EOC_';
    location = /shorten { mcp_shorten; }
    location = /mcp { mcp_endpoint; }
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

run_tests();

__DATA__

=== TEST 1: POST /shorten: short_url follows the mcp_redirect location, and leads there
--- request eval
["POST /shorten
{\"url\": \"https://example.com/twice\", \"alias\": \"twice\", \"max_visits\": 2}",
"GET /s/twice"]
--- error_code eval
[201, 302]
--- response_body_like eval
['"short_url":"http://localhost/s/twice"', 'https://example.com/twice']



=== TEST 2: shorten_url: short_url follows the mcp_redirect location, and leads there
--- request eval
['POST /mcp
{"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "shorten_url", "arguments": {"url": "https://example.com/counted", "alias": "counted"}}}',
 "GET /s/counted"]
--- error_code eval
[200, 302]
--- response_body_like eval
['"short_url":"http://localhost/s/counted"', 'https://example.com/counted']



=== TEST 3: HEAD uses up no visit of a max_visits link: one GET left after two HEADs
--- request eval
["HEAD /s/twice", "HEAD /s/twice", "GET /s/twice", "GET /s/twice",
 "HEAD /s/twice"]
--- error_code eval
[302, 302, 302, 410, 410]
--- response_headers eval
["Location: https://example.com/twice", "Location: https://example.com/twice",
 "Location: https://example.com/twice", "", ""]
--- response_body eval
["", "", "<!DOCTYPE html><title>Redirecting</title><a href=\"https://example.com/twice\">https://example.com/twice</a>\n",
 "{\"message\":\"Short URL has reached its visit limit\",\"error\":\"visits_exhausted\"}\n",
 ""]



=== TEST 4: HEAD is not counted as a visit
--- request eval
["HEAD /s/counted", "HEAD /s/counted", "GET /s/counted"]
--- error_code eval
[302, 302, 302]



=== TEST 5: ... the written counts hold the GETs only
--- request eval
['POST /mcp
{"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "url_stats", "arguments": {"code": "counted"}}}',
 'POST /mcp
{"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {"name": "url_stats", "arguments": {"code": "twice"}}}']
--- response_body_like eval
['"structuredContent":\{"code":"counted",.*"visits":2,',
 '"structuredContent":\{"code":"twice",.*"visits":2,']



=== TEST 6: error_page 404 serves a landing page for unknown codes
--- config
location /s/ { mcp_redirect; error_page 404 /landing.html; }
--- user_files
>>> landing.html
Nothing here: see our home page.
--- request eval
["GET /s/nope", "GET /s/twice", "GET /s/no.such"]
--- error_code eval
[404, 410, 404]
--- response_body eval
["Nothing here: see our home page.\n",
 "{\"message\":\"Short URL has reached its visit limit\",\"error\":\"visits_exhausted\"}\n",
 "Nothing here: see our home page.\n"]



=== TEST 7: error_page 404 = @fallback, inherited from the server
--- config
error_page 404 = @fallback;
location /s/ { mcp_redirect; }
location @fallback { return 200 "fallback for $uri\n"; }
--- request
GET /s/nope
--- error_code: 200
--- response_body
fallback for /s/nope



=== TEST 8: error_page 410 serves its page for a spent link, and 404 stays JSON
--- config
location /s/ { mcp_redirect; error_page 410 /gone.html; }
--- user_files
>>> gone.html
This link is used up.
--- request eval
["GET /s/twice", "HEAD /s/twice", "GET /s/nope"]
--- error_code eval
[410, 410, 404]
--- response_body eval
["This link is used up.\n", "",
 "{\"message\":\"Short URL not found\",\"error\":\"not_found\"}\n"]



=== TEST 9: an error_page for another status leaves the JSON 404 alone
--- config
location /s/ { mcp_redirect; error_page 500 502 /oops.html; }
--- request
GET /s/nope
--- error_code: 404
--- response_body
{"message":"Short URL not found","error":"not_found"}



=== TEST 10: two mcp_redirect locations leave short_url ambiguous: mcp_base_url needed
--- config
location = /shorten { mcp_shorten; }
location /s/ { mcp_redirect; }
location /r/ { mcp_redirect; }
--- must_die
--- error_log
short URLs of this server need mcp_base_url: it has more than one mcp_redirect location, or one that is not a prefix location ("/r/")



=== TEST 11: so does a regex mcp_redirect location, for mcp_endpoint too
--- config
location = /mcp { mcp_endpoint; }
location ~ ^/go/(\w+)$ { mcp_redirect; }
--- must_die
--- error_log
short URLs of this server need mcp_base_url: it has more than one mcp_redirect location, or one that is not a prefix location ("^/go/(\w+)$")



=== TEST 12: with mcp_base_url, the ambiguous server is fine and short_url is that
--- config
mcp_base_url https://sho.rt/go/;
location = /shorten { mcp_shorten; }
location /s/ { mcp_redirect; }
location ~ ^/go/(\w+)$ { mcp_redirect; }
--- request eval
["POST /shorten
{\"url\": \"https://example.com/base\", \"alias\": \"base\"}",
"GET /go/base", "GET /s/base"]
--- error_code eval
[201, 302, 302]
--- response_body_like eval
['"short_url":"https://sho.rt/go/base"', 'https://example.com/base',
 'https://example.com/base']



=== TEST 13: a server without mcp_redirect: short_url is at the root
--- config
location = /shorten { mcp_shorten; }
--- request
POST /shorten
{"url": "https://example.com/root", "alias": "root"}
--- error_code: 201
--- response_body_like: "short_url":"http://localhost/root"
