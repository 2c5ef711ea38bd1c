# vim:set ft= ts=4 sw=4 et fdm=marker:

use Test::Nginx::Socket;
use File::Temp qw(tempdir);

# Links are loaded with the store's command-line tool, so that every block
# can run again (repeat_each) with the same result.  The tool stores URLs
# in their canonical form, as POST /shorten does: "<y>" is "%3Cy%3E".

my $dir = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $tool = $ENV{TEST_NGINX_MCP_STORE_TOOL} || 'build/store/mcp-store';

for my $link (['abc', 'https://example.com/landing?utm=1&x=<y>'],
              ['old', 'https://example.com/old', 'expires_at=1000000000'],
              ['used', 'https://example.com/used', 'max_visits=3',
               'visits=3'],
              ['Case_9-x', 'http://example.org/'])
{
    system($tool, 'put', $dir, @$link) == 0
        or die "cannot load fixture @$link with $tool\n";
}

$ENV{TEST_NGINX_DATA_DIR} = $dir;

repeat_each(2);
no_shuffle();
no_root_location();

plan tests => repeat_each() * (3 * blocks());

our $HttpConfig = <<'_EOC_';
    mcp_store $TEST_NGINX_DATA_DIR;
_EOC_

add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->http_config) {
        $block->set_value("http_config", $HttpConfig);
    }

    if (!defined $block->config) {
        $block->set_value("config", "location / { mcp_redirect; }");
    }

    if (!defined $block->no_error_log && !defined $block->error_log) {
        $block->set_value("no_error_log", "[error]");
    }
});

run_tests();

__DATA__

=== TEST 1: GET /{code} redirects with 302
--- request
GET /abc
--- error_code: 302
--- response_headers
Location: https://example.com/landing?utm=1&x=%3Cy%3E



=== TEST 2: a temporary redirect may be cached briefly, privately
--- request
GET /abc
--- error_code: 302
--- response_headers
Cache-Control: private, max-age=90



=== TEST 3: the body is a tiny HTML link, escaped
--- request
GET /abc
--- error_code: 302
--- response_body
<!DOCTYPE html><title>Redirecting</title><a href="https://example.com/landing?utm=1&amp;x=%3Cy%3E">https://example.com/landing?utm=1&amp;x=%3Cy%3E</a>



=== TEST 4: HEAD answers the same headers without a body
--- request
HEAD /abc
--- error_code: 302
--- response_headers
Location: https://example.com/landing?utm=1&x=%3Cy%3E



=== TEST 5: codes are case-sensitive and may hold "_" and "-"
--- request
GET /Case_9-x
--- error_code: 302
--- response_headers
Location: http://example.org/



=== TEST 6: mcp_redirect_status 301 is cacheable for a day
--- config
location / { mcp_redirect; mcp_redirect_status 301; }
--- request
GET /abc
--- error_code: 301
--- response_headers
Cache-Control: public, max-age=86400



=== TEST 7: mcp_redirect_status 307
--- config
location / { mcp_redirect; mcp_redirect_status 307; }
--- request
GET /abc
--- error_code: 307
--- response_headers
Location: https://example.com/landing?utm=1&x=%3Cy%3E



=== TEST 8: mcp_redirect_status 308
--- config
location / { mcp_redirect; mcp_redirect_status 308; }
--- request
GET /abc
--- error_code: 308
--- response_headers
Cache-Control: public, max-age=86400



=== TEST 9: an unknown code is 404 JSON
--- request
GET /nope
--- error_code: 404
--- response_body
{"message":"Short URL not found","error":"not_found"}



=== TEST 10: codes are case-sensitive
--- request
GET /ABC
--- error_code: 404
--- response_body
{"message":"Short URL not found","error":"not_found"}



=== TEST 11: the bare root is not a code
--- request
GET /
--- error_code: 404
--- response_body
{"message":"Short URL not found","error":"not_found"}



=== TEST 12: a code with "/" or ".." is never looked up
--- request
GET /abc/../abc/x
--- error_code: 404
--- response_body
{"message":"Short URL not found","error":"not_found"}



=== TEST 13: an encoded slash
--- request
GET /ab%2Fc
--- error_code: 404
--- response_body
{"message":"Short URL not found","error":"not_found"}



=== TEST 14: an expired link is 410
--- request
GET /old
--- error_code: 410
--- response_body
{"message":"Short URL has expired","error":"expired"}



=== TEST 15: a link out of visits is 410
--- request
GET /used
--- error_code: 410
--- response_body
{"message":"Short URL has reached its visit limit","error":"visits_exhausted"}



=== TEST 16: POST on a code is 405 with Allow
--- request
POST /abc
{}
--- error_code: 405
--- response_headers
Allow: GET, HEAD



=== TEST 17: DELETE on a code is 405 with a JSON reason
--- request
DELETE /abc
--- error_code: 405
--- response_body
{"message":"method DELETE is not allowed here; use GET, HEAD","error":"method_not_allowed"}



=== TEST 18: the code follows the location's prefix
--- config
location /s/ { mcp_redirect; }
--- request
GET /s/abc
--- error_code: 302
--- response_headers
Location: https://example.com/landing?utm=1&x=%3Cy%3E



=== TEST 19: a query string is not part of the code
--- request
GET /abc?ref=mail
--- error_code: 302
--- response_headers
Location: https://example.com/landing?utm=1&x=%3Cy%3E
