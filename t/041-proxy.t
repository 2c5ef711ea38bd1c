# vim:set ft= ts=4 sw=4 et fdm=marker:

use Test::Nginx::Socket;
use File::Temp qw(tempdir);

# Behind a TLS-terminating load balancer: mcp_trusted_proxies believes
# X-Forwarded-Proto and X-Forwarded-Host from its addresses only, for
# short_url and for the check that refuses links to the shortener itself;
# with nginx's realip module in front, the proxy is still recognised by
# its own address.  The test client is 127.0.0.1.

my $dir = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1, CLEANUP => 1);

$ENV{TEST_NGINX_DATA_DIR} = $dir;

repeat_each(1);
no_shuffle();
no_root_location();

plan tests => repeat_each() * (3 * blocks() + 2);

our $HttpConfig = <<'_EOC_';
    mcp_store $TEST_NGINX_DATA_DIR;
_EOC_

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", $HttpConfig)
        unless defined $block->http_config;
    $block->set_value("no_error_log", "[error]")
        unless defined $block->no_error_log || defined $block->error_log;
});

run_tests();

__DATA__

=== TEST 1: from a trusted proxy: https and the public host
--- config
mcp_trusted_proxies 127.0.0.1;
location = /shorten { mcp_shorten; }
--- request
POST /shorten
{"url": "https://example.com/p1", "alias": "p1"}
--- more_headers
X-Forwarded-Proto: https
X-Forwarded-Host: sho.rt
--- error_code: 201
--- response_body_like: "short_url":"https://sho\.rt/p1"



=== TEST 2: the first of a chain of values; Host when no X-Forwarded-Host
--- config
mcp_trusted_proxies 10.0.0.0/8 127.0.0.0/8;
location = /shorten { mcp_shorten; }
--- request
POST /shorten
{"url": "https://example.com/p2", "alias": "p2"}
--- more_headers
X-Forwarded-Proto: https, http
Host: public.example
--- error_code: 201
--- response_body_like: "short_url":"https://public\.example/p2"



=== TEST 3: from anyone else the headers are ignored
--- config
mcp_trusted_proxies 10.0.0.0/8;
location = /shorten { mcp_shorten; }
--- request
POST /shorten
{"url": "https://example.com/p3", "alias": "p3"}
--- more_headers
X-Forwarded-Proto: https
X-Forwarded-Host: evil.example
Host: inner.example
--- error_code: 201
--- response_body_like: "short_url":"http://inner\.example/p3"



=== TEST 4: without mcp_trusted_proxies too
--- config
location = /shorten { mcp_shorten; }
--- request
POST /shorten
{"url": "https://example.com/p4", "alias": "p4"}
--- more_headers
X-Forwarded-Proto: https
X-Forwarded-Host: evil.example
Host: inner.example
--- error_code: 201
--- response_body_like: "short_url":"http://inner\.example/p4"



=== TEST 5: a forwarded host that is no host name is ignored
--- config
mcp_trusted_proxies 127.0.0.1;
location = /shorten { mcp_shorten; }
--- request
POST /shorten
{"url": "https://example.com/p5", "alias": "p5"}
--- more_headers
X-Forwarded-Proto: https
X-Forwarded-Host: a/b"c
Host: inner.example
--- error_code: 201
--- response_body_like: "short_url":"https://inner\.example/p5"



=== TEST 6: the self-link check sees the public https origin
--- config
mcp_trusted_proxies 127.0.0.1;
location = /shorten { mcp_shorten; }
--- request
POST /shorten
{"url": "https://sho.rt/p1"}
--- more_headers
X-Forwarded-Proto: https
X-Forwarded-Host: sho.rt
Host: inner.example
--- error_code: 422
--- response_body_like: "error":"url_refused"



=== TEST 7: and with its explicit port
--- config
mcp_trusted_proxies 127.0.0.1;
location = /shorten { mcp_shorten; }
--- request
POST /shorten
{"url": "https://SHO.RT:443/x"}
--- more_headers
X-Forwarded-Proto: https
X-Forwarded-Host: sho.rt
--- error_code: 422
--- response_body_like: "error":"url_refused"



=== TEST 8: an untrusted client cannot make the check miss its real host
--- config
mcp_trusted_proxies 10.0.0.0/8;
location = /shorten { mcp_shorten; }
--- request
POST /shorten
{"url": "http://inner.example/x"}
--- more_headers
X-Forwarded-Host: elsewhere.example
Host: inner.example
--- error_code: 422
--- response_body_like: "error":"url_refused"



=== TEST 9: behind realip, the proxy is still known by its own address
--- config
set_real_ip_from 127.0.0.1;
real_ip_header X-Forwarded-For;
mcp_trusted_proxies 127.0.0.1;
location = /shorten { mcp_shorten; }
location = /addr { return 200 "$remote_addr\n"; }
--- request eval
["POST /shorten\n{\"url\": \"https://example.com/p9\", \"alias\": \"p9\"}",
 "GET /addr"]
--- more_headers
X-Forwarded-For: 203.0.113.7
X-Forwarded-Proto: https
X-Forwarded-Host: sho.rt
--- error_code eval
[201, 200]
--- response_body_like eval
['"short_url":"https://sho\.rt/p9"', '^203\.0\.113\.7$']



=== TEST 10: an address that is not one
--- config
mcp_trusted_proxies 10.0.0.0/33;
location = /shorten { mcp_shorten; }
--- must_die
--- error_log
invalid parameter "10.0.0.0/33"
