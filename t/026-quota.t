# vim:set ft= ts=4 sw=4 et fdm=marker:

use Test::Nginx::Socket;
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use Digest::SHA qw(sha256_hex);

# Quotas per tenant (mcp_tenant_quota): tenant alpha fills each of its
# quotas (links through POST /shorten and shorten_url, entities, messages,
# bytes) and is refused with 507 quota_exceeded or a tool error, with
# nothing written, while tenant beta goes on; deletes free quota; usage
# survives a restart with new limits; and a store written before usage was
# kept is counted when nginx opens it.  Blocks build on each other's
# store, so each runs once, in order.

my $dir = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $tool = $ENV{TEST_NGINX_MCP_STORE_TOOL} || 'build/store/mcp-store';

our %Key = (
    A => 'alpha-key-0123456789',
    B => 'beta-key-0123456789',
);

$ENV{"TEST_NGINX_HASH_$_"} = sha256_hex($Key{$_}) for keys %Key;

for (['sA', 'alpha'], ['sB', 'beta']) {
    system($tool, 'session-put', $dir, $_->[0], 'last_seen=' . time,
           "tenant=$_->[1]") == 0
        or die "cannot make session $_->[0] with $tool\n";
}

# A store from before usage was kept: links of alpha and beta put with the
# tool, then copied with mdb_dump and mdb_load (lmdb-utils) without the
# usage records of "meta" (their keys start with "usage").
my $made = "$dir/made";
my $old = "$dir/old";
make_path($made, $old);

for (['o1', 'alpha'], ['o2', 'alpha'], ['o3', 'beta']) {
    system($tool, 'put', $made, $_->[0], "https://example.com/$_->[0]",
           "tenant=$_->[1]") == 0
        or die "cannot put $_->[0] with $tool\n";
}

my ($db, $pair, $skip, $dropped) = ('', 0, 0, 0);
my $usage = unpack('H*', 'usage');

open my $from, '-|', "mdb_dump -a $made" or die "mdb_dump: $!\n";
open my $to, '|-', "mdb_load $old" or die "mdb_load: $!\n";

while (my $line = <$from>) {
    if ($line !~ /^ /) {
        next if $line =~ /^db_pagesize=/;   # not every mdb_load knows it
        $db = $1 if $line =~ /^database=(.*)$/;
        $pair = 0;
        print $to $line;
        next;
    }

    # data lines come in pairs: a key, then its value
    if ($pair++ % 2 == 0) {
        $skip = ($db eq 'meta' && $line =~ /^ \Q$usage\E/);
        $dropped++ if $skip;
    }

    print $to $line unless $skip;
}

close $from or die "mdb_dump failed\n";
close $to or die "mdb_load failed\n";
die "no usage record to drop\n" unless $dropped;

$ENV{TEST_NGINX_DATA_DIR} = $dir;
$ENV{TEST_NGINX_OLD_DIR} = $old;

repeat_each(1);
no_shuffle();
no_root_location();

plan tests => repeat_each() * 95;

our $HttpConfig = <<'_EOC_';
    mcp_store $TEST_NGINX_DATA_DIR;
    mcp_api_key $TEST_NGINX_HASH_A tenant=alpha;
    mcp_api_key $TEST_NGINX_HASH_B tenant=beta;
    mcp_tenant_quota alpha links=2 entities=2 messages=2 bytes=400;
    mcp_tenant_quota * links=100;
_EOC_

our $Config = <<'_EOC_';
    location = /shorten { mcp_shorten; }
    location = /mcp { mcp_endpoint; }
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

# headers of a request with the key $k in its tenant's session
sub h {
    my ($k) = @_;
    return "Content-Type: application/json\n"
           . "Accept: application/json, text/event-stream\n"
           . "Authorization: Bearer $Key{$k}\n"
           . "Mcp-Session-Id: s$k\n";
}

sub shorten {
    my ($alias) = @_;
    return "POST /shorten\n{\"url\": \"https://example.com/$alias\", "
           . "\"alias\": \"$alias\"}";
}

sub call {
    my ($name, $args) = @_;
    return "POST /mcp\n{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": "
           . "\"tools/call\", \"params\": {\"name\": \"$name\", "
           . "\"arguments\": $args}}";
}

sub entities {
    return ::call('create_entities', '{"entities": ['
                  . join(',', map { qq({"name": "$_", "entityType": "t", )
                                    . qq("observations": ["about $_"]}) } @_)
                  . ']}');
}

sub append {
    my ($ctx, $text) = @_;
    return ::call('context_append', qq({"context_id": "$ctx", )
                                    . qq("role": "user", "content": "$text"}));
}

# a tool error over a quota, as a pattern; the link tools add the
# machine code of the HTTP API
sub over {
    my ($what, $limit, $code) = @_;
    $code //= '';
    return qq("text":"over the tenant's $what quota \\($limit\\); )
           . qq(nothing was saved$code"\\}\\],"isError":true);
}

run_tests();

__DATA__

=== TEST 1: alpha's first link, through POST /shorten
--- request eval
::shorten('a1')
--- more_headers eval
::h('A')
--- error_code: 201
--- response_body_like: "ShortURL":"a1"



=== TEST 2: its second, through shorten_url
--- request eval
::call('shorten_url', '{"url": "https://example.com/a2", "alias": "a2"}')
--- more_headers eval
::h('A')
--- response_body_like: "structuredContent":\{[^}]*"code":"a2"



=== TEST 3: a third is over the links quota: 507 quota_exceeded
--- request eval
::shorten('a3')
--- more_headers eval
::h('A')
--- error_code: 507
--- response_body
{"message":"over the tenant's links quota (2); nothing was saved","error":"quota_exceeded"}



=== TEST 4: shorten_url is refused the same, as a tool error
--- request eval
::call('shorten_url', '{"url": "https://example.com/a3", "alias": "a3"}')
--- more_headers eval
::h('A')
--- response_body_like eval
::over('links', 2, ' \\(quota_exceeded\\)')



=== TEST 5: nothing was stored under the refused alias
--- request
GET /a3
--- error_code: 404



=== TEST 6: beta is not bound by alpha's quota
--- request eval
[::shorten('b1'), ::shorten('b2'), ::shorten('b3')]
--- more_headers eval
::h('B')
--- error_code eval
[201, 201, 201]



=== TEST 7: entities: a batch over the quota keeps none of it, two fit
--- request eval
[::entities('e1', 'e2', 'e3'),
 ::call('read_graph', '{}'),
 ::entities('e1', 'e2'),
 ::entities('e3')]
--- more_headers eval
::h('A')
--- response_body_like eval
[::over('entities', 2),
 '"structuredContent":\{"entities":\[\],',
 '"structuredContent":\{"entities":\[\{"name":"e1",.*\{"name":"e2",',
 ::over('entities', 2)]



=== TEST 8: messages: two fit, a third is over the quota
--- request eval
[::append('c1', 'hello'), ::append('c1', 'world'), ::append('c2', 'more')]
--- more_headers eval
::h('A')
--- response_body_like eval
['"message_id":1,', '"message_id":2,', ::over('messages', 2)]



=== TEST 9: bytes: an observation, or relations, taking alpha over 400 bytes
--- request eval
[::call('add_observations', '{"observations": [{"entityName": "e1", "contents": ["' . ('x' x 340) . '"]}]}'),
 ::call('create_relations', '{"relations": [{"from": "e1", "to": "e2", "relationType": "' . ('r' x 200) . '"}, {"from": "e2", "to": "e1", "relationType": "' . ('r' x 200) . '"}]}'),
 ::call('read_graph', '{}')]
--- more_headers eval
::h('A')
--- response_body_like eval
[::over('bytes', 400), ::over('bytes', 400),
 '"observations":\["about e1"\]\}.*"relations":\[\]']



=== TEST 10: beta keeps creating entities and messages
--- request eval
[::entities('e1', 'e2', 'e3'),
 ::append('c1', 'one'), ::append('c1', 'two'), ::append('c1', 'three'),
 ::call('add_observations', '{"observations": [{"entityName": "e1", "contents": ["' . ('x' x 340) . '"]}]}')]
--- more_headers eval
::h('B')
--- response_body_like eval
['"name":"e3"', '"message_id":1,', '"message_id":2,', '"message_id":3,',
 '"addedObservations":\["x{340}"\]']



=== TEST 11: deletes free alpha's quota for new writes
--- request eval
[::call('delete_url', '{"code": "a1"}'),
 ::shorten('a3'),
 ::call('delete_entities', '{"entityNames": ["e1"]}'),
 ::entities('e3'),
 ::call('context_clear', '{"context_id": "c1"}'),
 ::append('c2', 'room again')]
--- more_headers eval
::h('A')
--- error_code eval
[200, 201, 200, 200, 200, 200]
--- response_body_like eval
['"deleted":true', '"ShortURL":"a3"', '"message":"Entities deleted successfully"',
 '"name":"e3"', '"context_id":"c1","cleared":true', '"context_id":"c2","message_id":1,']



=== TEST 12: usage survives a restart with other limits
--- http_config
    mcp_store $TEST_NGINX_DATA_DIR;
    mcp_api_key $TEST_NGINX_HASH_A tenant=alpha;
    mcp_tenant_quota alpha links=3;
--- request eval
[::shorten('a4'), ::shorten('a5')]
--- more_headers eval
::h('A')
--- error_code eval
[201, 507]
--- response_body_like eval
['"ShortURL":"a4"',
 '^\{"message":"over the tenant\'s links quota \(3\); nothing was saved","error":"quota_exceeded"\}$']



=== TEST 13: a store written before quotas is counted when opened
--- http_config
    mcp_store $TEST_NGINX_OLD_DIR;
    mcp_api_key $TEST_NGINX_HASH_A tenant=alpha;
    mcp_api_key $TEST_NGINX_HASH_B tenant=beta;
    mcp_tenant_quota * links=2;
--- request eval
[::shorten('a1'), ::shorten('b1')]
--- more_headers eval
[::h('A'), ::h('B')]
--- error_code eval
[507, 201]



=== TEST 14: a quota of an invalid tenant or parameter stops nginx
--- http_config
    mcp_store $TEST_NGINX_DATA_DIR;
    mcp_tenant_quota alpha links=2 pages=3;
--- request
GET /a2
--- must_die
--- error_log
invalid parameter "pages=3"
