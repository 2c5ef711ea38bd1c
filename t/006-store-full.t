# vim:set ft= ts=4 sw=4 et fdm=marker:

use Test::Nginx::Socket;
use File::Temp qw(tempdir);

# A store at its map size: writes are refused with 507 and change nothing,
# reads and redirects go on, and a larger map_size recovers.

my $dir = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1, CLEANUP => 1);
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

repeat_each(1);
no_shuffle();
no_root_location();

plan tests => repeat_each() * (3 * blocks());

our $Config = <<'_EOC_';
    location = /shorten { mcp_shorten; }
    location / { mcp_redirect; }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->config) {
        $block->set_value("config", $Config);
    }

    if (!defined $block->more_headers) {
        $block->set_value("more_headers", "Content-Type: application/json");
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
