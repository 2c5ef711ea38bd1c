# vim:set ft= ts=4 sw=4 et fdm=marker:

use Test::Nginx::Socket;
use File::Temp qw(tempdir);
use Digest::SHA qw(sha256_hex);

# A link's own redirect status and tags: taken by POST links (and POST
# /shorten), shown by GET, changed by PATCH (null or [] clears them), the
# redirect answers with the link's status (the location's when it has
# none), GET links?tag= lists the tagged ones only; their bad values are
# 400 and change nothing; another tenant neither sees nor changes them.
# Blocks build on each other's store, so each runs once, in order.

my $dir = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1, CLEANUP => 1);

our %Key = (
    A => 'alpha-admin-0123456789',    # alpha, every scope
    B => 'beta-admin-0123456789',     # beta, every scope
);

$ENV{"TEST_NGINX_HASH_$_"} = sha256_hex($Key{$_}) for keys %Key;
$ENV{TEST_NGINX_DATA_DIR} = $dir;

repeat_each(1);
no_shuffle();
no_root_location();

plan tests => repeat_each() * 142;

our $HttpConfig = <<'_EOC_';
    mcp_store $TEST_NGINX_DATA_DIR;
    mcp_api_key $TEST_NGINX_HASH_A tenant=alpha scopes=links:read,links:write,mcp,admin;
    mcp_api_key $TEST_NGINX_HASH_B tenant=beta scopes=links:read,links:write,mcp,admin;
_EOC_

our $Config = <<'_EOC_';
    location /api/ { mcp_admin; }
    location = /shorten { mcp_shorten; }
    location /s/ { mcp_redirect; mcp_redirect_status 301; }
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
                          . "Authorization: Bearer $Key{A}");
    }

    if (!defined $block->no_error_log && !defined $block->error_log) {
        $block->set_value("no_error_log", "[error]");
    }
});

sub as {
    my ($who) = @_;
    return "Content-Type: application/json\nAuthorization: Bearer $Key{$who}";
}

run_tests();

__DATA__

=== TEST 1: POST links takes tags and a redirect status, and answers them
--- request eval
["POST /api/links
{\"url\": \"https://example.com/t1\", \"alias\": \"tg1\", \"tags\": [\"news\", \"q:4\"], \"redirect_status\": 308}",
"POST /api/links
{\"url\": \"https://example.com/t2\", \"alias\": \"tg2\", \"tags\": [\"news\"]}",
"POST /api/links
{\"url\": \"https://example.org/t3\", \"alias\": \"tg3\", \"redirect_status\": 307}",
"POST /api/links
{\"url\": \"https://example.org/t4\", \"alias\": \"tg4\", \"tags\": [], \"redirect_status\": null}"]
--- error_code eval
[201, 201, 201, 201]
--- response_body_like eval
['^\{"ShortURL":"tg1","code":"tg1","short_url":"http://localhost/s/tg1","url":"https://example.com/t1","redirect_status":308,"tags":\["news","q:4"\]\}$',
 '^\{"ShortURL":"tg2",[^}]*"url":"https://example.com/t2","tags":\["news"\]\}$',
 '^\{"ShortURL":"tg3",[^}]*"url":"https://example.org/t3","redirect_status":307\}$',
 '^\{"ShortURL":"tg4",[^}]*"url":"https://example.org/t4"\}$']



=== TEST 2: the redirect answers with the link's status, cached as its kind
--- request eval
["GET /s/tg1", "HEAD /s/tg1", "GET /s/tg3", "GET /s/tg2"]
--- error_code eval
[308, 308, 307, 301]
--- response_headers eval
["Location: https://example.com/t1\nCache-Control: public, max-age=86400",
 "Location: https://example.com/t1",
 "Location: https://example.org/t3\nCache-Control: private, max-age=90",
 "Location: https://example.com/t2\nCache-Control: public, max-age=86400"]



=== TEST 3: GET links/{code} shows them; links without them have neither
--- request eval
["GET /api/links/tg1", "GET /api/links/tg4"]
--- error_code eval
[200, 200]
--- response_body_like eval
['^\{"code":"tg1",.*"redirect_status":308,"tags":\["news","q:4"\],"tenant":"alpha","updated_at":"20[^"]+"\}$',
 '^\{"code":"tg4","url":"https://example.org/t4","short_url":"http://localhost/s/tg4","visits":0,"created_at":"(20[^"]+)","tenant":"alpha","updated_at":"\1"\}$']



=== TEST 4: GET links?tag= lists the links with that whole tag
--- request eval
["GET /api/links?tag=news", "GET /api/links?tag=q%3A4", "GET /api/links?tag=new",
 "GET /api/links?tag=news&q=t2", "GET /api/links?tag=news&limit=1",
 "GET /api/links?tag=news&limit=1&cursor=tg1"]
--- error_code eval
[200, 200, 200, 200, 200, 200]
--- response_body_like eval
['^\{"links":\[\{"code":"tg1",(?:(?!"code").)*\},\{"code":"tg2",(?:(?!"code").)*\}\],"nextCursor":null\}$',
 '^\{"links":\[\{"code":"tg1",(?:(?!"code").)*\}\],"nextCursor":null\}$',
 '^\{"links":\[\],"nextCursor":null\}$',
 '^\{"links":\[\{"code":"tg2",(?:(?!"code").)*\}\],"nextCursor":null\}$',
 '^\{"links":\[\{"code":"tg1",(?:(?!"code").)*\}\],"nextCursor":"tg1"\}$',
 '^\{"links":\[\{"code":"tg2",(?:(?!"code").)*\}\],"nextCursor":null\}$']



=== TEST 5: q matches a prefix of the code as well as a substring
--- request eval
["GET /api/links?q=tg", "GET /api/links?q=EXAMPLE.ORG"]
--- error_code eval
[200, 200]
--- response_body_like eval
['^\{"links":\[\{"code":"tg1",.*\{"code":"tg2",.*\{"code":"tg3",.*\{"code":"tg4",(?:(?!"code").)*\}\],"nextCursor":null\}$',
 '^\{"links":\[\{"code":"tg3",.*\{"code":"tg4",(?:(?!"code").)*\}\],"nextCursor":null\}$']



=== TEST 6: PATCH replaces the tags and the status; every redirect follows
--- request eval
["PATCH /api/links/tg2
{\"tags\": [\"b\", \"a\"], \"redirect_status\": 302}",
"GET /s/tg2",
"GET /api/links?tag=news",
"PATCH /api/links/tg1
{\"tags\": [], \"redirect_status\": null}",
"GET /s/tg1",
"GET /api/links/tg1"]
--- error_code eval
[200, 302, 200, 200, 301, 200]
--- response_headers eval
["", "Location: https://example.com/t2\nCache-Control: private, max-age=90",
 "", "", "Location: https://example.com/t1", ""]
--- response_body_like eval
['^\{"code":"tg2",.*"redirect_status":302,"tags":\["b","a"\],"tenant":"alpha","updated_at":"20[^"]+"\}$',
 '', '^\{"links":\[\{"code":"tg1",(?:(?!"code").)*\}\],"nextCursor":null\}$',
 '^\{"code":"tg1","url":"https://example.com/t1",[^\[]*"tenant":"alpha","updated_at":"20[^"]+"\}$',
 '',
 '^\{"code":"tg1","url":"https://example.com/t1","short_url":"http://localhost/s/tg1","visits":\d+,"created_at":"20[^"]+",(?:"last_visit":"20[^"]+",)?"tenant":"alpha","updated_at":"20[^"]+"\}$']



=== TEST 7: bad tags and statuses are 400 and change nothing
--- request eval
["PATCH /api/links/tg2
{\"tags\": \"news\"}",
"PATCH /api/links/tg2
{\"tags\": [\"a\", \"a\"]}",
"PATCH /api/links/tg2
{\"tags\": [\"a b\"]}",
"PATCH /api/links/tg2
{\"tags\": [\"\"]}",
"PATCH /api/links/tg2
{\"tags\": [1]}",
"PATCH /api/links/tg2
{\"tags\": [\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\",\"11\",\"12\",\"13\",\"14\",\"15\",\"16\",\"17\"]}",
"PATCH /api/links/tg2
{\"tags\": [\"123456789012345678901234567890123\"]}",
"PATCH /api/links/tg2
{\"redirect_status\": 303}",
"PATCH /api/links/tg2
{\"redirect_status\": \"301\"}",
"POST /api/links
{\"url\": \"https://example.com/bad\", \"alias\": \"tgbad\", \"tags\": [\"a,b\"]}",
"POST /shorten
{\"url\": \"https://example.com/bad\", \"alias\": \"tgbad\", \"redirect_status\": 200}",
"GET /api/links/tgbad",
"GET /api/links/tg2",
"GET /api/links?tag=a%20b",
"GET /api/links?tag=123456789012345678901234567890123"]
--- error_code eval
[400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 404, 200, 400, 400]
--- response_body_like eval
['"error":"invalid_tags"', 'given twice","error":"invalid_tags"',
 '"error":"invalid_tags"', '"error":"invalid_tags"', '"error":"invalid_tags"',
 '"error":"invalid_tags"', '"error":"invalid_tags"',
 '"error":"invalid_redirect_status"', '"error":"invalid_redirect_status"',
 '"error":"invalid_tags"', '"error":"invalid_redirect_status"',
 '"error":"not_found"',
 '"redirect_status":302,"tags":\["b","a"\],"tenant":"alpha","updated_at":"20[^"]+"\}$',
 '"error":"invalid_tag"', '"error":"invalid_tag"']



=== TEST 8: POST /shorten takes them too
--- request eval
["POST /shorten
{\"OriginalURL\": \"https://example.com/sh\", \"alias\": \"tg5\", \"tags\": [\"x\"], \"redirect_status\": 307}",
"GET /s/tg5"]
--- error_code eval
[201, 307]
--- response_body_like eval
['"redirect_status":307,"tags":\["x"\]\}$', '']
--- response_headers eval
["", "Location: https://example.com/sh"]



=== TEST 9: another tenant neither finds nor changes them
--- request eval
["GET /api/links?tag=b", "PATCH /api/links/tg2
{\"tags\": [\"mine\"]}", "PATCH /api/links/tg2
{\"redirect_status\": 307}", "GET /s/tg2"]
--- more_headers eval
[::as('B'), ::as('B'), ::as('B'), ::as('B')]
--- error_code eval
[200, 404, 404, 302]
--- response_body_like eval
['^\{"links":\[\],"nextCursor":null\}$', '"error":"not_found"',
 '"error":"not_found"', '']
