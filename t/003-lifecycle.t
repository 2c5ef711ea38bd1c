# vim:set ft= ts=4 sw=4 et fdm=marker:

use Test::Nginx::Socket;
use File::Temp qw(tempdir);

# Blocks here build on each other's store, so each runs once, in order.
# Every nginx start is a full restart on the same store: what a block reads
# that an earlier block wrote survived a restart.

$ENV{TEST_NGINX_DATA_DIR} = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1,
                                    CLEANUP => 1);

repeat_each(1);
no_shuffle();
no_root_location();

plan tests => repeat_each() * 44;

our $HttpConfig = <<'_EOC_';
    mcp_store $TEST_NGINX_DATA_DIR;
_EOC_

our $Config = <<'_EOC_';
    location = /shorten { mcp_shorten; }
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

run_tests();

__DATA__

=== TEST 1: an alias is created, then redirects
--- request eval
["POST /shorten
{\"OriginalURL\": \"https://example.com/one\", \"alias\": \"one\"}",
"GET /one"]
--- more_headers
Content-Type: application/json
--- error_code eval
[201, 302]
--- response_headers eval
["", "Location: https://example.com/one"]



=== TEST 2: the alias survived a restart and is taken: 409, store unchanged
--- request eval
["POST /shorten
{\"OriginalURL\": \"https://example.com/two\", \"alias\": \"one\"}",
"GET /one"]
--- more_headers
Content-Type: application/json
--- error_code eval
[409, 302]
--- response_body_like eval
['"error":"alias_taken"',
 'https://example.com/one']



=== TEST 3: a refused request stores nothing under its alias
--- request eval
["POST /shorten
{\"OriginalURL\": \"javascript:alert(1)\", \"alias\": \"bad\"}",
"POST /shorten
{\"OriginalURL\": \"https://example.com/\", \"alias\": \"bad2\", \"max_visits\": -1}",
"GET /bad",
"GET /bad2"]
--- more_headers
Content-Type: application/json
--- error_code eval
[422, 400, 404, 404]



=== TEST 4: max_visits is exact: two visits (a HEAD is none), then 410
--- request eval
["POST /shorten
{\"OriginalURL\": \"https://example.com/twice\", \"alias\": \"twice\", \"max_visits\": 2}",
"GET /twice", "HEAD /twice", "GET /twice", "GET /twice"]
--- more_headers
Content-Type: application/json
--- error_code eval
[201, 302, 302, 302, 410]
--- response_headers eval
["", "Cache-Control: private, no-store",
 "Cache-Control: private, no-store", "Cache-Control: private, no-store",
 ""]



=== TEST 5: an expiring link is not cached by clients
--- request eval
["POST /shorten
{\"OriginalURL\": \"https://example.com/soon\", \"alias\": \"soon\", \"expires_in\": 3600}",
"GET /soon"]
--- more_headers
Content-Type: application/json
--- error_code eval
[201, 302]
--- response_headers eval
["", "Cache-Control: private, no-store"]



=== TEST 6: a link that expires in two seconds works at once
--- request eval
["POST /shorten
{\"OriginalURL\": \"https://example.com/brief\", \"alias\": \"brief\", \"expires_in\": 2}",
"GET /brief"]
--- more_headers
Content-Type: application/json
--- error_code eval
[201, 302]



=== TEST 7: ... and is gone after a restart and three seconds
--- init
sleep 3;
--- request
GET /brief
--- error_code: 410
--- response_body
{"message":"Short URL has expired","error":"expired"}
