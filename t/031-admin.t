# vim:set ft= ts=4 sw=4 et fdm=marker:

use Test::Nginx::Socket;
use File::Temp qw(tempdir);
use Digest::SHA qw(sha256_hex);
use File::Temp qw(tempfile);

# mcp_admin: the links REST API — list (limit, cursor, q), create (as POST
# /shorten), read, PATCH (url through the URL policy, null expiry and
# limit), DELETE; its errors (404, 400, 422, 405 with Allow, 401, 403
# without the admin scope) and tenant isolation.  Blocks build on each
# other's store, so each runs once, in order.

my $dir = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1, CLEANUP => 1);

our %Key = (
    A => 'alpha-admin-0123456789',    # alpha, every scope
    B => 'beta-admin-0123456789',     # beta, every scope
    N => 'alpha-plain-0123456789',    # alpha, default scopes: no admin
);

$ENV{"TEST_NGINX_HASH_$_"} = sha256_hex($Key{$_}) for keys %Key;
$ENV{TEST_NGINX_DATA_DIR} = $dir;

repeat_each(1);
no_shuffle();
no_root_location();

plan tests => repeat_each() * 201;

our $HttpConfig = <<'_EOC_';
    mcp_store $TEST_NGINX_DATA_DIR;
    mcp_api_key $TEST_NGINX_HASH_A tenant=alpha scopes=links:read,links:write,mcp,admin;
    mcp_api_key $TEST_NGINX_HASH_B tenant=beta scopes=links:read,links:write,mcp,admin;
    mcp_api_key $TEST_NGINX_HASH_N tenant=alpha;
_EOC_

our $Config = <<'_EOC_';
    location /api/ { mcp_admin; }
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
                          . "Authorization: Bearer $Key{A}");
    }

    if (!defined $block->no_error_log && !defined $block->error_log) {
        $block->set_value("no_error_log", "[error]");
    }
});

# a QR code answered, PNG or SVG, must decode (zbarimg, Debian zbar-tools)
# to the block's "qr" section; an SVG is drawn into a PBM first, from its
# path of runs, so that what is checked is what a browser would show
add_response_body_check(sub {
    my ($block, $body, $req_idx, $rep, $dry_run) = @_;

    return if $dry_run || !defined $block->qr || !defined $body
              || $body !~ /^(?:\x89PNG|<svg )/;

    my ($fh, $file) = tempfile(SUFFIX => $body =~ /^<svg/ ? '.pbm' : '.png',
                               UNLINK => 1);
    binmode $fh;

    if ($body =~ /^<svg[^>]* viewBox="0 0 (\d+) \1"/) {
        my $w = $1;
        my @px = map { [(0) x $w] } 1 .. $w;
        my ($d) = $body =~ / d="([^"]*)"/;

        while ($d =~ /M(\d+) (\d+)h(\d+)v1h-\3z/g) {
            $px[$2][$_] = 1 for $1 .. $1 + $3 - 1;
        }

        # 4 pixels a module, as a scanner would want
        print $fh "P1\n", 4 * $w, " ", 4 * $w, "\n";
        for my $row (@px) {
            my $line = join(' ', map { ($_) x 4 } @$row) . "\n";
            print $fh $line x 4;
        }

    } else {
        print $fh $body;
    }

    close $fh;

    my $got = `zbarimg -q --raw $file 2>/dev/null`;
    chomp $got;

    is($got, $block->qr, $block->name . " - the QR code decodes");
});

sub as {
    my ($who) = @_;
    return "Content-Type: application/json\nAuthorization: Bearer $Key{$who}";
}

run_tests();

__DATA__

=== TEST 1: POST links answers as POST /shorten
--- request eval
["POST /api/links
{\"url\": \"https://example.com/1\", \"alias\": \"adm1\"}",
"POST /api/links
{\"url\": \"https://example.com/2\", \"alias\": \"adm2\", \"max_visits\": 3}",
"POST /api/links
{\"url\": \"https://example.org/3\", \"alias\": \"zadm3\"}",
"POST /api/links
{\"url\": \"https://example.org/4\", \"alias\": \"adm1\"}",
"POST /api/links
{\"url\": \"javascript:alert(1)\"}",
"POST /api/links
{\"url\": "]
--- error_code eval
[201, 201, 201, 409, 422, 400]
--- response_body_like eval
['^\{"ShortURL":"adm1","code":"adm1","short_url":"http://localhost/s/adm1","url":"https://example.com/1"\}$',
 '"max_visits":3\}$',
 '"code":"zadm3"',
 '"error":"alias_taken"',
 '"error":"url_refused"',
 '"error":"invalid_json"']



=== TEST 2: GET links pages with limit and nextCursor
--- request eval
["GET /api/links?limit=2", "GET /api/links?limit=2&cursor=adm2",
 "GET /api/links"]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
['^\{"links":\[\{"code":"adm1","url":"https://example.com/1","short_url":"http://localhost/s/adm1","visits":0,"created_at":"20[^"]+","tenant":"alpha"\},\{"code":"adm2",[^\]]*"max_visits":3,[^\]]*\}\],"nextCursor":"adm2"\}$',
 '^\{"links":\[\{"code":"zadm3",[^\]]*\}\],"nextCursor":null\}$',
 '^\{"links":\[\{"code":"adm1".*\{"code":"adm2".*\{"code":"zadm3".*\],"nextCursor":null\}$']



=== TEST 3: q finds a substring of the code or the URL, any case
--- request eval
["GET /api/links?q=EXAMPLE.ORG", "GET /api/links?q=adm2",
 "GET /api/links?q=nothing-like-it", "GET /api/links?q=example&limit=1"]
--- error_code eval
[200, 200, 200, 200]
--- response_body_like eval
['^\{"links":\[\{"code":"zadm3",[^\]]*\}\],"nextCursor":null\}$',
 '^\{"links":\[\{"code":"adm2",[^\]]*\}\],"nextCursor":null\}$',
 '^\{"links":\[\],"nextCursor":null\}$',
 '^\{"links":\[\{"code":"adm1",[^\]]*\}\],"nextCursor":"adm1"\}$']



=== TEST 4: GET links/{code}: the record, visits included; never changed, updated_at is created_at
--- request eval
["GET /s/adm1", "GET /api/links/adm1", "GET /api/links/nothere"]
--- error_code eval
[302, 200, 404]
--- response_body_like eval
['',
 '^\{"code":"adm1","url":"https://example.com/1","short_url":"http://localhost/s/adm1","visits":\d+,"created_at":"(20[^"]+)",(?:"last_visit":"20[^"]+",)?"tenant":"alpha","updated_at":"\1"\}$',
 '^\{"message":"no link \\\\"nothere\\\\"","error":"not_found"\}$']



=== TEST 5: PATCH changes the target (canonical, as on creation) and limits
--- request eval
["PATCH /api/links/adm1
{\"url\": \"HTTPS://Example.NET/new\", \"max_visits\": 5, \"expires_at\": \"2099-01-01T00:00:00Z\"}",
"GET /s/adm1",
"PATCH /api/links/adm1
{\"max_visits\": null, \"expires_at\": null}"]
--- error_code eval
[200, 302, 200]
--- response_headers eval
["", "Location: https://example.net/new", ""]
--- response_body_like eval
['^\{"code":"adm1","url":"https://example.net/new",.*"expires_at":"2099-01-01T00:00:00Z",.*"max_visits":5,"tenant":"alpha","updated_at":"20[^"]+"\}$',
 '',
 '^\{"code":"adm1","url":"https://example.net/new","short_url":"http://localhost/s/adm1","visits":\d+,"created_at":"20[^"]+",(?:"last_visit":"20[^"]+",)?"tenant":"alpha","updated_at":"20[^"]+"\}$']



=== TEST 6: a PATCH refused changes nothing
--- request eval
["PATCH /api/links/adm1
{\"url\": \"javascript:alert(1)\"}",
"PATCH /api/links/adm1
{\"url\": 5}",
"PATCH /api/links/adm1
{\"url\": ",
"PATCH /api/links/adm1
[1]",
"PATCH /api/links/adm1
{\"alias\": \"x\"}",
"PATCH /api/links/adm1
{}",
"PATCH /api/links/adm1
{\"expires_at\": \"2000-01-01T00:00:00Z\"}",
"PATCH /api/links/adm1
{\"expires_at\": \"tomorrow\"}",
"PATCH /api/links/adm1
{\"max_visits\": 0}",
"PATCH /api/links/nothere
{\"max_visits\": 1}",
"GET /s/adm1"]
--- error_code eval
[422, 400, 400, 400, 422, 400, 422, 400, 400, 404, 302]
--- response_body_like eval
['"error":"url_refused"', '"error":"invalid_url"', '"error":"invalid_json"',
 '"error":"invalid_json"', '"error":"unknown_field"',
 '"error":"nothing_to_do"', '"error":"invalid_expires_at"',
 '"error":"invalid_expires_at"', '"error":"invalid_max_visits"',
 '"error":"not_found"', '']
--- response_headers eval
["", "", "", "", "", "", "", "", "", "", "Location: https://example.net/new"]



=== TEST 7: methods: 405 with Allow; other routes 404
--- request eval
["PUT /api/links
{}",
"POST /api/links/adm1
{}",
"GET /api/other", "GET /api/links/", "GET /api/linksx", "GET /api/links/a/b"]
--- error_code eval
[405, 405, 404, 404, 404, 404]
--- response_headers eval
["Allow: GET, HEAD, POST", "Allow: GET, HEAD, PATCH, DELETE", "", "", "",
 ""]



=== TEST 8: keys: none is 401, one without the admin scope 403
--- request eval
["GET /api/links", "GET /api/links", "PATCH /api/links/adm1
{\"max_visits\": 1}"]
--- more_headers eval
["Content-Type: application/json", ::as('N'), ::as('N')]
--- error_code eval
[401, 403, 403]
--- response_body_like eval
['"error":"unauthorized"',
 '^\{"message":"the API key lacks the scope \\\\"admin\\\\"","error":"forbidden"\}$',
 '"error":"forbidden"']



=== TEST 9: another tenant sees none of alpha's links and changes none
--- request eval
["GET /api/links", "GET /api/links/adm1", "PATCH /api/links/adm1
{\"url\": \"https://evil.example/\"}", "DELETE /api/links/adm1",
"POST /api/links
{\"url\": \"https://example.com/b\", \"alias\": \"bee1\"}",
"GET /api/links"]
--- more_headers eval
[::as('B'), ::as('B'), ::as('B'), ::as('B'), ::as('B'), ::as('B')]
--- error_code eval
[200, 404, 404, 404, 201, 200]
--- response_body_like eval
['^\{"links":\[\],"nextCursor":null\}$', '"error":"not_found"',
 '"error":"not_found"', '"error":"not_found"', '"code":"bee1"',
 '^\{"links":\[\{"code":"bee1",[^\]]*"tenant":"beta"\}\],"nextCursor":null\}$']



=== TEST 10: ... and alpha's link is untouched, alpha does not see beta's
--- request eval
["GET /s/adm1", "GET /api/links?q=bee", "GET /api/links/bee1"]
--- error_code eval
[302, 200, 404]
--- response_headers eval
["Location: https://example.net/new", "", ""]
--- response_body_like eval
['', '^\{"links":\[\],"nextCursor":null\}$', '"error":"not_found"']



=== TEST 11: DELETE: 204, then the link is gone everywhere
--- request eval
["DELETE /api/links/adm2", "GET /api/links/adm2", "GET /s/adm2",
 "DELETE /api/links/adm2"]
--- error_code eval
[204, 404, 404, 404]
--- response_body_like eval
['^$', '"error":"not_found"', '^\{"message":"Short URL not found"',
 '^\{"message":"no link']



=== TEST 12: bad list arguments are 400
--- request eval
["GET /api/links?limit=0", "GET /api/links?limit=abc",
 "GET /api/links?limit=1001", "GET /api/links?cursor=%00bad",
 "GET /api/links?limit=1000"]
--- error_code eval
[400, 400, 400, 400, 200]
--- response_body_like eval
['"error":"invalid_limit"', '"error":"invalid_limit"',
 '^\{"message":"limit must be a whole number from 1 to 1000","error":"invalid_limit"\}$',
 '"error":"invalid_cursor"', '"links":\[']



=== TEST 13: a QR code of the short URL, PNG and SVG, decoded
--- request eval
["GET /api/links/zadm3/qr?format=png", "GET /api/links/zadm3/qr",
 "GET /api/links/zadm3/qr?format=png&size=3"]
--- error_code eval
[200, 200, 200]
--- response_headers eval
["Content-Type: image/png", "Content-Type: image/svg+xml",
 "Content-Type: image/png"]
--- qr: http://localhost/s/zadm3



=== TEST 14: QR errors: format, size, method, unknown and others' links
--- request eval
["GET /api/links/zadm3/qr?format=gif", "GET /api/links/zadm3/qr?size=0",
 "GET /api/links/zadm3/qr?size=41", "POST /api/links/zadm3/qr
{}", "GET /api/links/nothere/qr", "GET /api/links/zadm3/qr"]
--- more_headers eval
[::as('A'), ::as('A'), ::as('A'), ::as('A'), ::as('A'), ::as('B')]
--- error_code eval
[400, 400, 400, 405, 404, 404]
--- response_body_like eval
['"error":"invalid_format"', '"error":"invalid_size"',
 '^\{"message":"size must be a whole number from 1 to 40","error":"invalid_size"\}$',
 '', '"error":"not_found"', '"error":"not_found"']
--- response_headers eval
["", "", "", "Allow: GET, HEAD", "", ""]
