# vim:set ft= ts=4 sw=4 et fdm=marker:

use Test::Nginx::Socket;
use File::Temp qw(tempdir);
use File::Copy qw(copy);
use IPC::Open2 qw(open2);

# mcp_status: the store's figures and counters of requests and tool calls,
# as JSON and in the Prometheus text format (parsed by the Prometheus
# client library, scripts/check-prometheus.py), and 503 "degraded" when
# the store's data file cannot be opened or was replaced.  Counters build
# up over a block's requests, so each block runs once.

my $dir = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $gone = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $tool = $ENV{TEST_NGINX_MCP_STORE_TOOL} || 'build/store/mcp-store';

system($tool, 'session-put', $dir, 's1', 'last_seen=' . time) == 0
    or die "cannot make session s1 with $tool\n";

$ENV{TEST_NGINX_DATA_DIR} = $dir;
$ENV{TEST_NGINX_GONE_DIR} = $gone;

repeat_each(1);
no_shuffle();
no_root_location();

# the Prometheus responses parsed, below
my $parsed = 4;

plan tests => repeat_each() * (89 + 2 * $parsed);

our $HttpConfig = <<'_EOC_';
    mcp_store $TEST_NGINX_DATA_DIR;
_EOC_

our $Config = <<'_EOC_';
    location = /shorten { mcp_shorten; }
    location = /mcp { mcp_endpoint; }
    location = /status { mcp_status; }
    location = /metrics { mcp_status prometheus; }
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

# every Prometheus answer must parse; the samples a block expects (its
# "prometheus" lines, in the block's name after "parses to:") must be
# among what the parser read
add_response_body_check(sub {
    my ($block, $body, $req_idx, $rep, $dry_run) = @_;

    return if $dry_run || !defined $body || $body !~ /^# HELP /;

    my $pid = open2(my $out, my $in, 'scripts/check-prometheus.py');
    print $in $body;
    close $in;
    my $parsed = do { local $/; <$out> };
    waitpid $pid, 0;

    is($? >> 8, 0, $block->name . " - the Prometheus text parses");

    my @want = map { s/^\s+//r } grep { /\S/ }
               split /\n/, ($block->prometheus // '');
    my @missing = grep { index($parsed, "$_\n") < 0 } @want;

    is("@missing", "", $block->name . " - the parser read every sample "
                       . "expected")
        or diag($parsed);
});

sub call {
    my ($id, $name, $args) = @_;
    return "POST /mcp\n{\"jsonrpc\": \"2.0\", \"id\": $id, \"method\": "
           . "\"tools/call\", \"params\": {\"name\": \"$name\", "
           . "\"arguments\": $args}}";
}

run_tests();

__DATA__

=== TEST 1: a fresh start: status ok, the store's figures, no counts yet
--- request
GET /status
--- error_code: 200
--- response_body_like: ^\{"status":"ok","version":"\d+\.\d+\.\d+","store":\{"links":0,"entities":0,"relations":0,"contexts":0,"sessions":1,"map_size":67108864,"used_bytes":[1-9]\d*,"readers":[1-9]\d*,"max_readers":\d+\},"requests":\{"other":\{\},"shorten":\{\},"redirect":\{\},"mcp":\{\},"status":\{\},"admin":\{\}\},"tools":\{\},"visits":\{"pending":0,"flush_lag_ms":0\}\}$



=== TEST 2: requests are counted by route and status
--- request eval
["POST /shorten
{\"OriginalURL\": \"https://example.com/a\", \"alias\": \"counted\"}",
"POST /shorten
{\"OriginalURL\": ",
"GET /counted", "GET /counted", "GET /nothere", "GET /status", "GET /status"]
--- error_code eval
[201, 400, 302, 302, 404, 200, 200]
--- response_body_like eval
["", "", "", "", "",
 '^\{"status":"ok",.*"store":\{"links":1,.*"requests":\{"other":\{\},"shorten":\{"201":1,"400":1\},"redirect":\{"302":2,"404":1\},"mcp":\{\},"status":\{\},"admin":\{\}\}',
 '"status":\{"200":1\},"admin":\{\}\}']



=== TEST 3: visits not yet flushed are pending, with their age
--- http_config
    mcp_store $TEST_NGINX_DATA_DIR;
    mcp_visit_flush_interval 1h;
--- request eval
["GET /counted", "GET /status"]
--- error_code eval
[302, 200]
--- response_body_like eval
["", '"visits":\{"pending":1,"flush_lag_ms":\d+\}\}$']



=== TEST 4: tool calls are counted by tool and outcome
--- request eval
[::call(1, "shorten_url", '{"url": "https://example.com/t", "alias": "viamcp"}'),
 ::call(2, "shorten_url", '{"url": "javascript:alert(1)"}'),
 ::call(3, "shorten_url", '{"url": "https://example.com/u"}'),
 ::call(4, "no_such_tool", '{}'),
 "GET /status"]
--- error_code eval
[200, 200, 200, 200, 200]
--- response_body_like eval
['"structuredContent"', '"isError":true', '"structuredContent"',
 '"error":\{"code":-32602',
 '"tools":\{"shorten_url":\{"ok":2,"tool_error":1,"rpc_error":0\}\}']



=== TEST 5: the Prometheus text format
--- request eval
["POST /shorten
{\"OriginalURL\": \"https://example.com/p\", \"alias\": \"prom\"}",
"GET /prom",
::call(5, "shorten_url", '{"url": "ftp://example.com/x"}'),
"GET /metrics"]
--- error_code eval
[201, 302, 200, 200]
--- response_headers eval
["", "", "", "Content-Type: text/plain; version=0.0.4; charset=utf-8"]
--- response_body_like eval
["", "", "", '^# HELP mcp_up .*\n# TYPE mcp_up gauge\nmcp_up 1\n']
--- prometheus
mcp_up{} 1
mcp_requests_total{route="redirect",status="302"} 1
mcp_requests_total{route="shorten",status="201"} 1
mcp_tool_calls_total{outcome="tool_error",tool="shorten_url"} 1
mcp_tool_calls_total{outcome="ok",tool="shorten_url"} 0
mcp_store_links{} 4
mcp_store_map_size_bytes{} 6.71089e+07
# mcp_requests counter
# mcp_tool_calls counter
# mcp_store_used_bytes gauge
# mcp_store_readers gauge
# mcp_visits_pending gauge
# mcp_visit_flush_lag_seconds gauge



=== TEST 6: the store's entities, relations, contexts and sessions
--- request eval
[::call(6, "create_entities", '{"entities": [{"name": "Alice", "entityType": "person", "observations": []}, {"name": "Bob", "entityType": "person", "observations": []}]}'),
 ::call(7, "create_relations", '{"relations": [{"from": "Alice", "to": "Bob", "relationType": "knows"}]}'),
 ::call(8, "context_append", '{"context_id": "c1", "role": "user", "content": "hello"}'),
 "GET /status", "GET /metrics"]
--- error_code eval
[200, 200, 200, 200, 200]
--- response_body_like eval
['"structuredContent"', '"structuredContent"', '"structuredContent"',
 '"store":\{"links":4,"entities":2,"relations":1,"contexts":1,"sessions":1,"map_size":',
 '^# HELP mcp_up ']
--- prometheus
mcp_store_entities{} 2
mcp_store_relations{} 1
mcp_store_contexts{} 1
mcp_store_sessions{} 1
# mcp_store_entities gauge
# mcp_store_contexts gauge



=== TEST 7: only GET and HEAD
--- request
POST /status
{}
--- error_code: 405
--- response_headers
Allow: GET, HEAD



=== TEST 8: a data file that cannot be opened: 503 degraded, as JSON
--- http_config
    mcp_store $TEST_NGINX_GONE_DIR;
--- init
unlink("$ENV{TEST_NGINX_GONE_DIR}/data.mdb") or die "unlink: $!";
--- request
GET /status
--- error_code: 503
--- response_body_like: ^\{"status":"degraded","version":"[\d.]+","error":"the store's data file cannot be opened","store":
--- error_log
degraded: the store's data file cannot be opened
--- no_error_log
[crit]



=== TEST 9: a data file replaced under the workers: 503, mcp_up 0
--- http_config
    mcp_store $TEST_NGINX_GONE_DIR;
--- init
my $d = $ENV{TEST_NGINX_GONE_DIR};
File::Copy::copy("$d/data.mdb", "$d/data.new") or die "copy: $!";
rename("$d/data.new", "$d/data.mdb") or die "rename: $!";
--- request
GET /metrics
--- error_code: 503
--- response_body_like: \nmcp_up 0\n
--- prometheus
mcp_up{} 0
--- error_log
degraded: the store's data file was replaced: reload nginx
--- no_error_log
[crit]



=== TEST 10: once nginx reopens the store, ready again
--- http_config
    mcp_store $TEST_NGINX_GONE_DIR;
--- request
GET /metrics
--- error_code: 200
--- response_body_like: \nmcp_up 1\n
--- prometheus
mcp_up{} 1



=== TEST 11: mcp_status takes json or prometheus only
--- config
    location = /status { mcp_status xml; }
--- must_die
--- error_log
invalid parameter "xml"
