# vim:set ft= ts=4 sw=4 et fdm=marker:

# URLs are canonical before the policy sees them: every spelling of a
# refused URL is refused (the trailing dot, no "/" before "?" or "#", case,
# percent-encoded host letters, IPv4 in decimal, hex, octal and short
# forms, IPv4-mapped IPv6), links to this server or to loopback in any
# spelling are refused, hosts that browsers reject are refused, and an
# accepted URL is stored, answered and redirected to in its canonical
# form.  Blocks that create a link delete it again (delete_url), so that
# every block runs twice with the same result.

use Test::Nginx::Socket;
use File::Temp qw(tempdir);

my $dir = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $tool = $ENV{TEST_NGINX_MCP_STORE_TOOL} || 'build/store/mcp-store';
my $now = time;

system($tool, 'session-put', $dir, 's1', "last_seen=$now") == 0
    or die "cannot make the fixtures with $tool\n";

$ENV{TEST_NGINX_DATA_DIR} = $dir;

repeat_each(2);
no_shuffle();
no_root_location();

plan tests => repeat_each() * 212;

our $HttpConfig = <<'_EOC_';
    mcp_store $TEST_NGINX_DATA_DIR;
_EOC_

our $Locations = <<'_EOC_';
    location = /shorten { mcp_shorten; }
    location = /mcp { mcp_endpoint; }
    location / { mcp_redirect; }
_EOC_

# the README's own rule, a rule on 127.0.0.0/8 and one on 10.0.0.0/8
our $Deny = <<'_EOC_';
    mcp_url_deny "^https?://([^/]*\.)?phish\.example(/|:|$)";
    mcp_url_deny "^https?://127\.";
    mcp_url_deny "^https?://10\.";
_EOC_

# {"message": ..., "error": ...} as the HTTP API sends it
sub err { qq({"message":"$_[0]","error":"$_[1]"}\n) }

sub refused { err($_[0], 'url_refused') }

our $Denied = refused(q~URL is refused by this server's policy~);
our $Self = refused('URL points at this shortener itself');
our $NotFound = err('Short URL not found', 'not_found');

# POST /shorten with url and alias
sub shorten { qq(POST /shorten\n{"url": "$_[0]", "alias": "$_[1]"}) }

# POST /mcp with one tools/call
sub call {
    qq(POST /mcp\n{"jsonrpc":"2.0","id":1,"method":"tools/call",)
    . qq("params":{"name":"$_[0]","arguments":$_[1]}})
}

# the three requests of an accepted URL: create, follow, delete
sub roundtrip {
    my ($url, $alias) = @_;
    return [shorten($url, $alias), "GET /$alias",
            call('delete_url', qq({"code": "$alias"}))];
}

# what they answer when the canonical form of the URL is $canon
sub roundtrip_body {
    my ($canon, $alias) = @_;
    return [qr/^\{"ShortURL":"$alias","code":"$alias","short_url":"[^"]*",/
            . qr/"url":"\Q$canon\E"\}\n\z/,
            qr/^<!DOCTYPE html><title>Redirecting<\/title>/
            . qr/<a href="\Q$canon\E">/,
            qr/"structuredContent":\{"code":"$alias","deleted":true\}/];
}

add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->http_config) {
        $block->set_value("http_config", $HttpConfig);
    }

    if (!defined $block->config) {
        $block->set_value("config", $Deny . $Locations);
    }

    if (!defined $block->more_headers) {
        $block->set_value("more_headers",
                          "Content-Type: application/json\n"
                          . "Accept: application/json, text/event-stream\n"
                          . "Mcp-Session-Id: s1");
    }

    if (!defined $block->no_error_log && !defined $block->error_log) {
        $block->set_value("no_error_log", "[error]");
    }
});

run_tests();

__DATA__

=== TEST 1: the phish rule refuses the trailing dot
--- request eval
[::shorten("https://phish.example./x", "p1"), "GET /p1"]
--- error_code eval
[422, 404]
--- response_body eval
[$::Denied, $::NotFound]



=== TEST 2: the phish rule refuses "?" right after the host
--- request eval
[::shorten("https://phish.example?x", "p2"), "GET /p2"]
--- error_code eval
[422, 404]
--- response_body eval
[$::Denied, $::NotFound]



=== TEST 3: the phish rule refuses "#" right after the host
--- request eval
[::shorten("https://phish.example#f", "p3"), "GET /p3"]
--- error_code eval
[422, 404]
--- response_body eval
[$::Denied, $::NotFound]



=== TEST 4: the phish rule refuses upper case
--- request eval
[::shorten("https://PHISH.example/", "p4"), "GET /p4"]
--- error_code eval
[422, 404]
--- response_body eval
[$::Denied, $::NotFound]



=== TEST 5: the phish rule refuses percent-encoded letters in the host
--- request eval
[::shorten("https://www.ph%69sh.Example.:443/", "p5"), "GET /p5"]
--- error_code eval
[422, 404]
--- response_body eval
[$::Denied, $::NotFound]



=== TEST 6: the 127 rule refuses 2130706433 (decimal)
--- request eval
[::shorten("https://2130706433/", "d1"), "GET /d1"]
--- error_code eval
[422, 404]
--- response_body eval
[$::Denied, $::NotFound]



=== TEST 7: the 127 rule refuses 0x7f.1 (hex, shortened)
--- request eval
[::shorten("https://0x7f.1/", "d2"), "GET /d2"]
--- error_code eval
[422, 404]
--- response_body eval
[$::Denied, $::NotFound]



=== TEST 8: the 127 rule refuses 0177.0.0.1 (octal)
--- request eval
[::shorten("https://0177.0.0.1/", "d3"), "GET /d3"]
--- error_code eval
[422, 404]
--- response_body eval
[$::Denied, $::NotFound]



=== TEST 9: the 127 rule refuses [::ffff:127.0.0.1] (IPv4-mapped IPv6)
--- request eval
[::shorten("https://[::ffff:127.0.0.1]/", "d4"), "GET /d4"]
--- error_code eval
[422, 404]
--- response_body eval
[$::Denied, $::NotFound]



=== TEST 10: the 127 rule refuses 127.1 (shortened)
--- request eval
[::shorten("https://127.1/", "d5"), "GET /d5"]
--- error_code eval
[422, 404]
--- response_body eval
[$::Denied, $::NotFound]



=== TEST 11: the 10 rule refuses 167772161 and [::ffff:a00:1] (not loopback)
--- request eval
[::shorten("https://167772161/", "d6"),
 ::shorten("https://[::FFFF:a00:1]:8443/", "d7"), "GET /d6", "GET /d7"]
--- error_code eval
[422, 422, 404, 404]
--- response_body eval
[$::Denied, $::Denied, $::NotFound, $::NotFound]



=== TEST 12: shorten_url over MCP applies the same rules
--- request eval
[::call("shorten_url", '{"url": "https://PHISH.example.?x", "alias": "m1"}'),
 "GET /m1"]
--- error_code eval
[200, 404]
--- response_body eval
[qq~{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"URL is refused by this server's policy (url_refused)"}],"isError":true}}\n~,
 $::NotFound]



=== TEST 13: a host that ends in a number but is no IPv4 address
--- request eval
[::shorten("https://1.2.3.256/", "v1"), ::shorten("https://example.123/", "v2"),
 "GET /v1", "GET /v2"]
--- error_code eval
[422, 422, 404, 404]
--- response_body eval
[::refused('URL host \"1.2.3.256\" ends in a number but is not a valid IPv4 address'),
 ::refused('URL host \"example.123\" ends in a number but is not a valid IPv4 address'),
 $::NotFound, $::NotFound]



=== TEST 14: an invalid IPv6 host, an empty label
--- request eval
[::shorten("https://[::1::]/", "v3"), ::shorten("https://a..example/", "v4"),
 "GET /v3", "GET /v4"]
--- error_code eval
[422, 422, 404, 404]
--- response_body eval
[::refused('URL has an invalid IPv6 host'),
 ::refused('URL host \"a..example\" has an empty label'),
 $::NotFound, $::NotFound]



=== TEST 15: loopback is this server: localhost
--- config eval
$::Locations
--- request eval
[::shorten("http://localhost/x", "s1"), "GET /s1"]
--- error_code eval
[422, 404]
--- response_body eval
[$::Self, $::NotFound]



=== TEST 16: loopback is this server: [::1]
--- config eval
$::Locations
--- request eval
[::shorten("http://[::1]/x", "s2"), "GET /s2"]
--- error_code eval
[422, 404]
--- response_body eval
[$::Self, $::NotFound]



=== TEST 17: loopback is this server: 127.0.0.1
--- config eval
$::Locations
--- request eval
[::shorten("http://127.0.0.1/x", "s3"), "GET /s3"]
--- error_code eval
[422, 404]
--- response_body eval
[$::Self, $::NotFound]



=== TEST 18: loopback is this server, on any port, in any spelling
--- config eval
$::Locations
--- request eval
[::shorten("http://LOCALHOST.:9000/x", "s4"),
 ::shorten("https://app.localhost/", "s5"),
 ::shorten("http://0x7f000001:8080/", "s6"),
 ::shorten("http://[::ffff:7f00:1]/", "s7"),
 ::shorten("http://0.0.0.0:4000/", "s8"),
 ::shorten("http://[0:0:0:0:0:0:0:0]/", "s9"),
 "GET /s4", "GET /s9"]
--- error_code eval
[422, 422, 422, 422, 422, 422, 404, 404]
--- response_body eval
[$::Self, $::Self, $::Self, $::Self, $::Self, $::Self,
 $::NotFound, $::NotFound]



=== TEST 19: the Host the client used, in another spelling
--- config eval
$::Locations
--- more_headers
Content-Type: application/json
Host: sho.rt:8080
--- request eval
[::shorten("http://SHO.RT.:8080/x", "h1"), "GET /h1"]
--- error_code eval
[422, 404]
--- response_body eval
[$::Self, $::NotFound]



=== TEST 20: mcp_base_url's host, in another spelling
--- config eval
"    mcp_base_url https://sho.rt/;\n" . $::Locations
--- request eval
[::shorten("https://Sho.Rt.:443/x", "b1"), "GET /b1"]
--- error_code eval
[422, 404]
--- response_body eval
[$::Self, $::NotFound]



=== TEST 21: an accepted odd spelling is answered, stored and redirected to canonical
--- request eval
::roundtrip("https://Example.COM.?q", "c1")
--- error_code eval
[201, 302, 200]
--- response_headers eval
["", "Location: https://example.com/?q", ""]
--- response_body_like eval
::roundtrip_body("https://example.com/?q", "c1")



=== TEST 22: IPv4 in hex with a default port and dot segments
--- request eval
::roundtrip("https://0xC0.0xA8.0.1:0443/a/../b", "c2")
--- error_code eval
[201, 302, 200]
--- response_headers eval
["", "Location: https://192.168.0.1/b", ""]
--- response_body_like eval
::roundtrip_body("https://192.168.0.1/b", "c2")



=== TEST 23: IPv6 compressed, "#" after the host
--- request eval
::roundtrip("http://[2001:DB8:0:0:0:0:0:1]:80#top", "c3")
--- error_code eval
[201, 302, 200]
--- response_headers eval
["", "Location: http://[2001:db8::1]/#top", ""]
--- response_body_like eval
::roundtrip_body("http://[2001:db8::1]/#top", "c3")



=== TEST 24: a percent-encoded host and bytes encoded in the path
--- request eval
::roundtrip("https://ex%61mple.com/a b/%2e%2E/<c>", "c4")
--- error_code eval
[201, 302, 200]
--- response_headers eval
["", "Location: https://example.com/%3Cc%3E", ""]
--- response_body_like eval
::roundtrip_body("https://example.com/%3Cc%3E", "c4")



=== TEST 25: mcp_url_allow sees the canonical form too
--- config eval
"    mcp_url_allow \"^https://docs\\.example/\";\n" . $::Locations
--- request eval
[::shorten("https://DOCS.example.:443", "a1"), "GET /a1",
 ::call('delete_url', '{"code": "a1"}'),
 ::shorten("https://docs.example.evil/", "a2"), "GET /a2"]
--- error_code eval
[201, 302, 200, 422, 404]
--- response_headers eval
["", "Location: https://docs.example/", "", "", ""]
--- response_body_like eval
['"url":"https://docs.example/"', 'Redirecting', '"deleted":true',
 q~"message":"URL is not on this server's allow list"~, 'not_found']
