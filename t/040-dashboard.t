# vim:set ft= ts=4 sw=4 et fdm=marker:

use Test::Nginx::Socket;
use File::Temp qw(tempdir);
use Digest::SHA qw(sha256_hex);

# mcp_dashboard: its files served from the module (index.html with the
# API's path, the script, the style), their headers (a policy that keeps
# the page to its own origin, an ETag answered 304), 404 and 405, bad
# configurations; and the read-only views of mcp_admin it draws:
# GET graph and GET contexts, with a tenant's key seeing its own only.
# What the page does is tested in a browser (t/browser/).

my $dir = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1, CLEANUP => 1);

# A: the tenant of the open /mcp location ("default"); B: another
our %Key = (A => 'default-admin-0123456789', B => 'beta-admin-0123456789');

$ENV{"TEST_NGINX_HASH_$_"} = sha256_hex($Key{$_}) for keys %Key;

# an MCP session, for the tools that make the memory shown
my $tool = $ENV{TEST_NGINX_MCP_STORE_TOOL} || 'build/store/mcp-store';

system($tool, 'session-put', $dir, 's1', 'last_seen=' . time) == 0
    or die "cannot make a session with $tool\n";
$ENV{TEST_NGINX_DATA_DIR} = $dir;

repeat_each(1);
no_shuffle();
no_root_location();

plan tests => repeat_each() * 78;

our $HttpConfig = <<'_EOC_';
    mcp_store $TEST_NGINX_DATA_DIR;
_EOC_

our $Config = <<'_EOC_';
    location = /mcp { mcp_endpoint; }
    location /api/ {
        mcp_api_key $TEST_NGINX_HASH_A tenant=default scopes=admin;
        mcp_api_key $TEST_NGINX_HASH_B tenant=beta scopes=admin;
        mcp_admin;
    }
    location /dashboard/ { mcp_dashboard; }
    location /ui/ { mcp_dashboard api=/admin/v1/; }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", $HttpConfig)
        unless defined $block->http_config;
    $block->set_value("config", $Config) unless defined $block->config;
    $block->set_value("no_error_log", "[error]")
        unless defined $block->no_error_log || defined $block->error_log;
});

sub file {
    open my $f, '<:raw', $_[0] or die "$_[0]: $!";
    local $/;
    return scalar <$f>;
}

run_tests();

__DATA__

=== TEST 1: the page, with the API's path (default /api/) and a policy
--- request
GET /dashboard/
--- error_code: 200
--- response_headers
Content-Type: text/html; charset=utf-8
Cache-Control: no-cache
X-Content-Type-Options: nosniff
--- raw_response_headers_like eval
qr/Content-Security-Policy: default-src 'none'; script-src 'self'; [^\r]*connect-src 'self'; [^\r]*frame-ancestors 'none'\r\n/
--- response_body_like
<meta name="mcp-api" content="/api/">.*<script src="app.js" defer></script>



=== TEST 2: api= names another path
--- request
GET /ui/index.html
--- error_code: 200
--- response_body_like
<meta name="mcp-api" content="/admin/v1/">



=== TEST 3: the script and the style, as they are in the repository
--- request eval
["GET /dashboard/app.js", "GET /dashboard/app.css"]
--- error_code eval
[200, 200]
--- response_headers eval
["Content-Type: text/javascript; charset=utf-8",
 "Content-Type: text/css; charset=utf-8"]
--- response_body eval
[::file("ngx_mcp_module/dashboard/app.js"),
 ::file("ngx_mcp_module/dashboard/app.css")]



=== TEST 4: an ETag, answered 304 when the browser has the file
--- request
GET /dashboard/app.js
--- more_headers eval
"If-None-Match: " . `cksum < ngx_mcp_module/dashboard/app.js | sed 's/\\([0-9]*\\) \\([0-9]*\\)/"\\1-\\2"/' | tr -d '\\n'`
--- error_code: 304
--- response_body



=== TEST 5: no other file, and nothing outside the location
--- request eval
["GET /dashboard/nope.js", "GET /dashboard/app.js/x",
 "GET /dashboard/dashboard/app.js"]
--- error_code eval
[404, 404, 404]



=== TEST 6: only GET and HEAD
--- request
POST /dashboard/
x
--- error_code: 405
--- response_headers
Allow: GET, HEAD



=== TEST 7: HEAD: the headers alone
--- request
HEAD /dashboard/app.css
--- error_code: 200
--- response_headers
Content-Type: text/css; charset=utf-8
--- response_body



=== TEST 8: api= must be a path ending with "/"
--- config
location /d/ { mcp_dashboard api=http://evil.example/; }
--- must_die
--- error_log
mcp_dashboard's api must be a path of this server ending with "/"



=== TEST 9: an unknown parameter
--- config
location /d/ { mcp_dashboard apis=/api/; }
--- must_die
--- error_log
invalid parameter "apis=/api/"



=== TEST 10: a path that would break out of the page's attribute
--- config
location /d/ { mcp_dashboard 'api=/a"><script>/'; }
--- must_die
--- error_log
mcp_dashboard's api must be a path



=== TEST 11: the graph of a namespace, as entities and relations
--- request eval
["POST /mcp\n" . '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"create_entities","arguments":{"namespace":"lab","entities":[{"name":"Ada","entityType":"person","observations":["wrote notes"]},{"name":"Engine","entityType":"machine","observations":["analytical"]}]}}}',
 "POST /mcp\n" . '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"create_relations","arguments":{"namespace":"lab","relations":[{"from":"Ada","to":"Engine","relationType":"described"}]}}}',
 "GET /api/graph?namespace=lab",
 "GET /api/graph?namespace=lab&q=analytical",
 "GET /api/graph"]
--- more_headers eval
"Authorization: Bearer $::Key{A}\nContent-Type: application/json\nAccept: application/json, text/event-stream\nMcp-Session-Id: s1"
--- error_code eval
[200, 200, 200, 200, 200]
--- response_body_like eval
[qr/"structuredContent":\{"entities":\[\{"name":"Ada"/,
 qr/"structuredContent":\{"relations":\[\{"from":"Ada"/,
 qr/^\{"entities":\[\{"name":"Ada","entityType":"person","observations":\["wrote notes"\][^}]*\},\{"name":"Engine",.*"relations":\[\{"from":"Ada","to":"Engine","relationType":"described"/,
 qr/^\{"entities":\[\{"name":"Engine",[^\]]*\]\}\],"relations":\[\{"from":"Ada","to":"Engine","relationType":"described"\}\]\}$/,
 qr/^\{"entities":\[\],"relations":\[\]\}$/]



=== TEST 12: another tenant's key sees none of it
--- request
GET /api/graph?namespace=lab
--- more_headers eval
"Authorization: Bearer $::Key{B}"
--- error_code: 200
--- response_body
{"entities":[],"relations":[]}



=== TEST 13: contexts with their sizes
--- request eval
["POST /mcp\n" . '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"context_append","arguments":{"context_id":"c1","role":"user","content":"twelve bytes"}}}',
 "GET /api/contexts",
 "GET /api/contexts?namespace=other"]
--- more_headers eval
"Authorization: Bearer $::Key{A}\nContent-Type: application/json\nAccept: application/json, text/event-stream\nMcp-Session-Id: s1"
--- error_code eval
[200, 200, 200]
--- response_body_like eval
[qr/"structuredContent":\{"context_id":"c1","message_id":1/,
 qr/^\{"contexts":\[\{"context_id":"c1","messages":1,"tokens":6,"updated_at":"\d{4}-[^"]+Z"[^}]*\}\]\}$/,
 qr/^\{"contexts":\[\]\}$/]



=== TEST 14: a bad namespace or cursor: 400 with the tool's reason
--- request eval
["GET /api/graph?namespace=a%20b", "GET /api/contexts?cursor=%21%21"]
--- more_headers eval
"Authorization: Bearer $::Key{A}"
--- error_code eval
[400, 400]
--- response_body_like eval
[qr/"message":"namespace must be up to 64 characters.*","error":"invalid_request"/,
 qr/"message":"invalid cursor[^"]*","error":"invalid_request"/]



=== TEST 15: the views need a key with the admin scope
--- request
GET /api/graph
--- error_code: 401



=== TEST 16: and only read
--- request
DELETE /api/contexts
--- more_headers eval
"Authorization: Bearer $::Key{A}"
--- error_code: 405
--- response_headers
Allow: GET, HEAD
