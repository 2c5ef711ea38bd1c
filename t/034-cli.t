# vim:set ft= ts=4 sw=4 et fdm=marker:

# The mcp-store tool next to a real nginx: a store filled through HTTP and
# MCP, exported, and imported into an empty store answers the same through
# nginx (every redirect, visits and max_visits included, and every
# search_nodes, a link's tags, redirect status and update time); the
# links of the sample CSV exports of Shlink, YOURLS and
# Bitly redirect once imported, while nginx runs; and backups taken while
# nginx takes POST /shorten in a loop open and check clean.
#
# The suite drives nginx itself (as t/004 does), on TEST_NGINX_PORT + 10.

use strict;
use warnings;

use Test::More;
use HTTP::Tiny;
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use Cwd qw(abs_path);
use Time::HiRes qw(sleep time);

my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my @modules = split ' ', ($ENV{TEST_NGINX_LOAD_MODULES} || '');
my $tool = $ENV{TEST_NGINX_MCP_STORE_TOOL} || 'build/store/mcp-store';
my $port = ($ENV{TEST_NGINX_PORT} || 1984) + 10;
my $samples = 'store/t/data';

my $root = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1, CLEANUP => 1);
make_path("$root/conf", "$root/logs", "$root/a", "$root/b");

# run as root, the workers are "nobody": they must reach the store
chmod 0755, $root, "$root/a", "$root/b";

my $http = HTTP::Tiny->new(timeout => 5, max_redirect => 0,
                           keep_alive => 0);
my $base = "http://127.0.0.1:$port";

sub start {
    my ($data) = @_;

    open my $fh, '>', "$root/conf/nginx.conf" or die $!;
    print $fh map { 'load_module ' . abs_path($_) . ";\n" } @modules;
    print $fh <<"_EOC_";
worker_processes  1;
daemon            on;
master_process    on;
error_log         logs/error.log info;
pid               logs/nginx.pid;

events {
    worker_connections  64;
}

http {
    access_log  off;

    mcp_store  $data  durability=sync;
    mcp_visit_flush_interval  100ms;

    server {
        listen  127.0.0.1:$port;

        location = /shorten { mcp_shorten; }
        location = /mcp { mcp_endpoint; }
        location /api/ { mcp_admin; }
        location / { mcp_redirect; }
    }
}
_EOC_
    close $fh;

    system($nginx, '-p', "$root/", '-c', 'conf/nginx.conf') == 0
        or BAIL_OUT("nginx did not start");

    for (1 .. 40) {
        return if $http->get("$base/")->{status} != 599;
        sleep 0.05;
    }

    BAIL_OUT("nginx does not answer on port $port");
}

sub master_pid {
    open my $fh, '<', "$root/logs/nginx.pid" or return undef;
    my $pid = <$fh>;
    chomp $pid;
    return $pid;
}

# stops nginx gracefully: the workers flush their visit counts
sub stop {
    my $pid = master_pid() or return;
    kill 'QUIT', $pid;

    # under the sanitizers, workers take a while to flush and exit
    for (1 .. 600) {
        unless (kill 0, $pid) {
            unlink "$root/logs/nginx.pid";
            return;
        }
        sleep 0.05;
    }

    # the daemonised master leads its process group: its workers too, or
    # one of them keeps the port and the next start cannot bind
    kill 'KILL', -$pid;
}

END { stop() }

sub shorten {
    my ($body) = @_;

    return $http->post("$base/shorten", {
        headers => { 'Content-Type' => 'application/json' },
        content => $body,
    });
}

my $sid;

sub mcp {
    my ($id, $method, $params) = @_;

    return $http->post("$base/mcp", {
        headers => {
            'Content-Type' => 'application/json',
            'Accept' => 'application/json, text/event-stream',
            $sid ? ('Mcp-Session-Id' => $sid) : (),
        },
        content => qq({"jsonrpc": "2.0", "id": $id, "method": "$method", )
                   . qq("params": $params}),
    });
}

sub session {
    $sid = undef;
    my $res = mcp(1, 'initialize', '{"protocolVersion": "2025-11-25", '
                  . '"capabilities": {}, "clientInfo": {"name": "t", '
                  . '"version": "1"}}');
    $sid = $res->{headers}{'mcp-session-id'};
    return $res->{status};
}

sub tool {
    my ($name, $args) = @_;
    return mcp(2, 'tools/call', qq({"name": "$name", "arguments": $args}));
}

# "status location" of GET /code
sub redirect {
    my ($code) = @_;
    my $res = $http->get("$base/$code");
    return "$res->{status} " . ($res->{headers}{location} // '-');
}

sub run_tool {
    my ($cmd) = @_;
    my $out = `$cmd 2>&1`;
    return ($? >> 8, $out);
}


# 1. a store filled through nginx

start("$root/a");

my @links = (
    [ 'docs',  '{"url": "https://example.com/docs", "alias": "docs"}' ],
    [ 'news',  '{"url": "https://example.com/news?a=1&b=2", "alias": "news"}' ],
    [ 'twice', '{"url": "https://example.com/twice", "alias": "twice", '
               . '"max_visits": 2}' ],
    [ 'spent', '{"url": "https://example.com/spent", "alias": "spent", '
               . '"max_visits": 1}' ],
    [ 'later', '{"url": "https://example.com/later", "alias": "later", '
               . '"expires_in": 86400}' ],
    [ 'moved', '{"url": "https://example.com/moved", "alias": "moved", '
               . '"tags": ["old", "web"], "redirect_status": 301}' ],
);

my @codes = map { $_->[0] } @links;

for my $l (@links) {
    is(shorten($l->[1])->{status}, 201, "$l->[0] created");
}

for (1 .. 5) {
    my $res = shorten('{"url": "https://example.org/random"}');
    push @codes, $res->{content} =~ /"code":"(\w+)"/ ? $1 : 'none';
}

is(scalar(grep { $_ ne 'none' } @codes), 11, 'and five random codes');

# visits: docs counted 3 times, spent used up, twice used once
redirect('docs') for 1 .. 3;
redirect('spent');
redirect('twice');

# a link changed a second after it was made: its updated_at moves
sleep 1.1;
is($http->request('PATCH', "$base/api/links/docs", {
       headers => { 'Content-Type' => 'application/json' },
       content => '{"tags": ["manual"]}',
   })->{status}, 200, 'docs tagged by PATCH');

# a link's record through mcp_admin, less what visits change
sub record {
    my ($code) = @_;
    my $r = $http->get("$base/api/links/$code")->{content};
    $r =~ s/"(?:visits|last_visit)":(?:\d+|"[^"]*"),//g;
    return $r;
}

my %record = map { $_ => record($_) } qw(docs news moved);
my ($made, $updated) =
    $record{docs} =~ /"created_at":"([^"]+)".*"updated_at":"([^"]+)"/;
ok(defined $updated && $updated gt $made,
   "PATCH moves updated_at past created_at ($made, $updated)");
like($record{news}, qr/"created_at":"([^"]+)".*"updated_at":"\1"/,
     'a link never changed was updated when it was made');
like($record{moved}, qr/"redirect_status":301,"tags":\["old","web"\]/,
     'moved has its status and tags');

is(session(), 200, 'an MCP session');

my $res = tool('create_entities', '{"entities": ['
    . '{"name": "Alice", "entityType": "person", "observations": '
    . '["likes green tea", "works on the payments team"]}, '
    . '{"name": "Bob", "entityType": "person", "observations": '
    . '["drinks coffee", "on the payments team too"]}, '
    . '{"name": "Payments", "entityType": "team", "observations": '
    . '["owns the checkout"]}]}');
like($res->{content}, qr/"isError":false|Alice/, 'entities created');

$res = tool('create_entities', '{"namespace": "proj", "entities": ['
    . '{"name": "Roadmap", "entityType": "doc", "observations": '
    . '["tea tasting in March"]}]}');
like($res->{content}, qr/Roadmap/, 'an entity in a namespace');

$res = tool('create_relations', '{"relations": ['
    . '{"from": "Alice", "to": "Payments", "relationType": "works_in"}, '
    . '{"from": "Bob", "to": "Payments", "relationType": "works_in"}]}');
like($res->{content}, qr/works_in/, 'relations created');

$res = tool('context_append', '{"context_id": "chat", "role": "user", '
            . '"content": "Who is on the payments team?"}');
like($res->{content}, qr/"context_id":"chat"/, 'a context');
tool('context_append', '{"context_id": "chat", "role": "assistant", '
     . '"content": "Alice and Bob."}');

my @queries = ('tea', 'payments', 'ali', 'coffee team', 'nothing-here');
my @search_args = (map({ qq({"query": "$_"}) } @queries),
                   '{"query": "tea", "namespace": "proj"}');

sub answers {
    my %a;

    $a{"GET /$_"} = redirect($_) for @codes;

    for my $args (@search_args) {
        $a{"search_nodes $args"} = tool('search_nodes', $args)->{content};
    }

    $a{read_graph} = tool('read_graph', '{}')->{content};
    $a{context_window} = tool('context_window', '{"context_id": "chat", '
                              . '"max_tokens": 1000}')->{content};

    return \%a;
}

# stopped, the workers flush their visit counts: the store to export
stop();

my ($rc, $out) = run_tool("$tool export $root/a > $root/dump.jsonl");
is($rc, 0, 'export') or diag $out;

($rc, $out) = run_tool("$tool dump $root/a");
my $dump_a = $out;

# what nginx answers from the store as exported (the redirects count
# visits: the imported store is asked the same in the same order)
start("$root/a");
is(session(), 200, 'a new MCP session');
my $before = answers();
stop();

is($before->{'GET /spent'}, '410 -', 'spent is used up');
is($before->{'GET /twice'}, '302 https://example.com/twice',
   'twice has a visit left');
is($before->{'GET /docs'}, '302 https://example.com/docs', 'docs redirects');
is($before->{'GET /moved'}, '301 https://example.com/moved',
   'moved redirects with its own status');
like($before->{'search_nodes {"query": "tea"}'}, qr/Alice/,
     'search_nodes finds Alice for "tea"');


# 2. imported into an empty store, nginx answers the same

($rc, $out) = run_tool("$tool import $root/b < $root/dump.jsonl");
is($rc, 0, 'import into an empty store');
like($out, qr/^imported 18, unchanged 0, skipped 0$/m,
     '11 links, 4 entities, 2 relations and 1 context, nothing skipped');

($rc, $out) = run_tool("$tool dump $root/b");
is($out, $dump_a, 'the links are the same, visit counts included');

($rc, $out) = run_tool("$tool import $root/b < $root/dump.jsonl");
like($out, qr/^imported 0, unchanged 18, skipped 0$/m,
     'importing it again changes nothing');

start("$root/b");
is(session(), 200, 'an MCP session on the imported store');

my $after = answers();

for my $k (sort keys %$before) {
    is($after->{$k}, $before->{$k}, "$k answers the same");
}

for my $code (sort keys %record) {
    is(record($code), $record{$code},
       "  $code: the same tags, status, creation and update times");
}


# 3. the sample CSV exports, imported while nginx runs

my %csv = (
    shlink => [ 'imported 3, unchanged 0, skipped 4',
                { sh1 => 'https://example.com/docs',
                  sh3 => 'https://example.com/q?%22quoted%22' } ],
    yourls => [ 'imported 2, unchanged 0, skipped 2',
                { yr2 => 'https://example.com/two?a=1,2' } ],
    bitly  => [ 'imported 2, unchanged 0, skipped 1',
                { launch => 'https://example.com/blog/launch',
                  '4Pq9Rst' => 'https://example.com/pricing' } ],
);

for my $f (sort keys %csv) {
    ($rc, $out) = run_tool("$tool import --format=$f $root/b "
                           . "< $samples/$f.csv");
    like($out, qr/^\Q$csv{$f}[0]\E$/m, "$f CSV: $csv{$f}[0]")
        or diag $out;

    for my $code (sort keys %{ $csv{$f}[1] }) {
        is(redirect($code), "302 $csv{$f}[1]{$code}",
           "  $code redirects through nginx");
    }
}

is(redirect('sh-js'), '404 -', 'the refused javascript: link is not there');


# 4. backups under write load

my $pid = fork;
die "fork: $!" unless defined $pid;

if ($pid == 0) {
    my $deadline = time + 3;
    my $i = 0;

    while (time < $deadline) {
        $i++;
        shorten(qq({"url": "https://example.net/load/$i"}));
    }

    exit 0;
}

sleep 0.3;

for my $i (1 .. 3) {
    my $bk = "$root/bk$i";

    my ($brc, $bout) = run_tool("$tool backup $root/b $bk");
    is($brc, 0, "backup $i under write load") or diag $bout;

    ($rc, $out) = run_tool("$tool check $bk");
    like($out, qr/^ok (\d+) links$/, "  backup $i checks clean")
        or diag $out;

    ($rc, $out) = run_tool("mdb_stat -a $bk");
    is($rc, 0, "  mdb_stat reads every database of backup $i") or diag $out;

    ($rc, $out) = run_tool("$tool export $bk > /dev/null");
    is($rc, 0, "  and exports") or diag $out;

    sleep 0.5;
}

waitpid $pid, 0;

($rc, $out) = run_tool("$tool stat $root/b");
my ($live) = $out =~ /^links: (\d+)$/m;
($rc, $out) = run_tool("$tool check $root/bk3");
my ($copied) = $out =~ /^ok (\d+) links$/;
ok($copied > 18 && $copied <= $live,
   "the last backup holds links written under load ($copied of $live)");

stop();

done_testing();
