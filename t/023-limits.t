# vim:set ft= ts=4 sw=4 et fdm=marker:

# No request holds a worker: hostile searches (one word 3,000 times, many
# distinct words, a bare prefix of 60,000 words) over the store of the
# issue that found them (2,000 entities, each with 30 random 7-letter
# words starting with "a") answer within 50 ms, and so do whole-graph
# reads, context searches and windows over a long context; with four of
# them running at once on two workers, a redirect still answers within
# 100 ms.  What is cut short says so ("truncated") and pages on.
#
# Like t/004-workers.t, this suite drives nginx itself: master, two
# workers, reuseport.  Under the sanitizers (scripts/test-asan.sh) every
# bound is 4 times as long.

use strict;
use warnings;

use Test::More;
use HTTP::Tiny;
use POSIX ();
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use Cwd qw(abs_path);
use Time::HiRes qw(sleep time);

my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my @modules = map { abs_path($_) }
              split ' ', ($ENV{TEST_NGINX_LOAD_MODULES} || '');
my $port = ($ENV{TEST_NGINX_PORT} || 1984) + 9;

# the sanitizers' build is several times slower
my $slow = ($ENV{ASAN_OPTIONS} || '') ne '' ? 4 : 1;

my $root = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $data = "$root/data";
make_path("$root/conf", "$root/logs", $data);

# run as root, the workers are "nobody": they must reach the store
chmod 0755, $root;

my $tool = $ENV{TEST_NGINX_MCP_STORE_TOOL} || 'build/store/mcp-store';
my $http = HTTP::Tiny->new(timeout => 30, max_redirect => 0,
                           keep_alive => 0);
my $base = "http://127.0.0.1:$port";
my $log = "$root/logs/error.log";

# an MCP session of the tool's making, as in t/013-memory.t
system($tool, '--map-size=268435456', 'session-put', $data, 's1',
       'last_seen=' . int(time)) == 0
    or die "cannot make a session with $tool\n";

open my $conf, '>', "$root/conf/nginx.conf" or die $!;
print $conf map { "load_module $_;\n" } @modules;
print $conf <<"_EOC_";
worker_processes 2;  daemon on;  master_process on;  pid logs/nginx.pid;
error_log logs/error.log info;
events { worker_connections 128; }

http {
    access_log off;
    mcp_store $data map_size=256m durability=off;

    server {
        listen 127.0.0.1:$port reuseport;
        location = /shorten { mcp_shorten; }
        location = /mcp { mcp_endpoint; }
        location / { mcp_redirect; }
    }
}
_EOC_
close $conf;

# nginx runs for the whole suite: a master and two workers
system($nginx, '-p', "$root/", '-c', 'conf/nginx.conf') == 0
    or BAIL_OUT("nginx did not start");

END {
    if (open my $fh, '<', "$root/logs/nginx.pid") {
        my $pid = <$fh>;
        kill 'QUIT', $pid if $pid;
        sleep 0.05 while $pid && kill 0, $pid;
    }
}

for (1 .. 100) {
    last if $http->get("$base/")->{status} != 599;
    sleep 0.05;
}

BAIL_OUT("nginx does not answer on port $port")
    if $http->get("$base/")->{status} == 599;

sub tool_call {
    my ($name, $args, $h) = @_;

    return ($h || $http)->post("$base/mcp", {
        headers => {
            'Content-Type' => 'application/json',
            'Accept' => 'application/json, text/event-stream',
            'Mcp-Session-Id' => 's1',
        },
        content => qq({"jsonrpc": "2.0", "id": 3, "method": "tools/call", )
                   . qq("params": {"name": "$name", "arguments": $args}}),
    });
}

# a tool call and how long it took, in ms
sub timed_call {
    my ($name, $args, $h) = @_;

    my $t0 = time;
    my $res = tool_call($name, $args, $h);

    return ($res, (time - $t0) * 1000);
}

# the best of three: the bound is on the server's work, not on a client
# that the other suites' load happened to slow down once
sub best_of_three {
    my ($name, $args) = @_;
    my ($res, $best);

    for (1 .. 3) {
        my ($r, $ms) = timed_call($name, $args);
        ($res, $best) = ($r, $ms) if !defined $best || $ms < $best;
    }

    return ($res, $best);
}

sub words {
    my ($n) = @_;

    return join ' ', map {
        'a' . join '', map { chr(97 + int(rand(26))) } 1 .. 6
    } 1 .. $n;
}

sub bad_lines {
    open my $fh, '<', $log or return ();
    return grep { /\[(error|crit|alert|emerg)\]/ } <$fh>;
}

srand(16);


# {{{ the store of the issue: 2,000 entities of 30 random "a" words

for my $batch (0, 1) {
    my @entities = map {
        '{"name": "e' . ($batch * 1000 + $_) . '", "entityType": "thing", '
        . '"observations": ["' . words(30) . '"]}'
    } 0 .. 999;

    my $res = tool_call('create_entities',
                        '{"entities": [' . join(',', @entities) . ']}');
    my $last = $batch * 1000 + 999;
    ok($res->{content} =~ /"name":"e$last"/,
       "entities e" . ($batch * 1000) . " to e$last created");
}

my $res = $http->post("$base/shorten", {
    headers => { 'Content-Type' => 'application/json' },
    content => '{"OriginalURL": "https://example.com/during", '
               . '"alias": "during"}',
});
is($res->{status}, 201, 'a link to follow during the searches');

# }}}


# {{{ hostile searches answer within 50 ms, and say they were cut short

my $a3000 = join ' ', ('a') x 3000;
my ($ms, $n);

($res, $ms) = best_of_three('search_nodes', qq({"query": "$a3000"}));
is($res->{status}, 200, 'search_nodes of "a" 3,000 times answers');
unlike($res->{content}, qr/"isError":true/, 'with a result');
$n = () = $res->{content} =~ /"entityType":"thing"/g;
cmp_ok($n, '>', 0, "entities that hold words starting with a ($n)");
like($res->{content}, qr/"truncated":true/,
     'and says the prefix matches were cut short');
diag(sprintf 'search_nodes "a" x 3000: %.1f ms', $ms);
cmp_ok($ms, '<', 50 * $slow, 'within 50 ms');

my $distinct = join ' ', map { "a$_" } 1 .. 3000;
($res, $ms) = best_of_three('search_nodes', qq({"query": "$distinct"}));
unlike($res->{content}, qr/"isError":true/,
       '3,000 distinct words answer with a result');
like($res->{content}, qr/"truncated":true/, 'cut to the first 32 words');
cmp_ok($ms, '<', 50 * $slow, sprintf 'within 50 ms (%.1f)', $ms);

($res, $ms) = best_of_three('search_nodes', '{"query": "e1999 thing"}');
ok($res->{content} =~ /"structuredContent":\{"entities":\[\{"name":"e1999"/,
   'an ordinary query: the entity called e1999 first');
ok($res->{content} =~ /"nextCursor":"[^"]+"/
   && $res->{content} =~ /"truncated":true/,
   'the others that are things on later pages, cut by the work budget');
cmp_ok($ms, '<', 50 * $slow, sprintf 'within 50 ms (%.1f)', $ms);

($res, $ms) = best_of_three('search_nodes', '{"query": "e1999"}');
ok($res->{content} =~ /"entities":\[\{"name":"e1999"/
   && $res->{content} !~ /truncated|nextCursor/,
   'a narrow one is whole and in one page');

# }}}


# {{{ the whole graph: paged when it would take longer

($res, $ms) = best_of_three('read_graph', '{}');
unlike($res->{content}, qr/"isError":true/, 'read_graph of everything');
cmp_ok($ms, '<', 50 * $slow, sprintf 'within 50 ms (%.1f)', $ms);

my %seen;
my $pages = 0;
my $cursor = '';

while (1) {
    $res = tool_call('read_graph',
                     $cursor eq '' ? '{}' : qq({"cursor": "$cursor"}));
    $seen{$_}++ for $res->{content} =~ /"name":"(e\d+)","entityType"/g;
    $pages++;

    last unless $res->{content} =~ /"nextCursor":"([^"]+)"/;
    $cursor = $1;
    last if $pages > 100;
}

is(scalar(keys %seen), 2000, "its pages ($pages) hold every entity");
ok(!grep({ $_ != 1 } values %seen), 'each once');

# }}}


# {{{ a redirect during four hostile searches on two workers

my @children;

for my $i (1 .. 4) {
    my $pid = fork;
    die "fork: $!" unless defined $pid;

    if ($pid == 0) {
        my $h = HTTP::Tiny->new(timeout => 30, keep_alive => 0);
        my $deadline = time + 2;

        tool_call('search_nodes', qq({"query": "$a3000"}), $h)
            while time < $deadline;

        POSIX::_exit(0);
    }

    push @children, $pid;
}

sleep 0.3;

my $worst = 0;

for (1 .. 10) {
    my $t0 = time;
    $res = $http->get("$base/during");
    my $took = (time - $t0) * 1000;
    $worst = $took if $took > $worst;
    is($res->{status}, 302, 'the redirect answers') if $_ == 1;
    sleep 0.1;
}

waitpid $_, 0 for @children;

diag(sprintf 'slowest of 10 redirects during 4 searches: %.1f ms', $worst);
cmp_ok($worst, '<', 100 * $slow, 'each within 100 ms');

# }}}


# {{{ contexts: a long one, searched and windowed with hostile queries

for my $i (1 .. 200) {
    $res = tool_call('context_append',
                     '{"context_id": "long", "role": "user", "content": "'
                     . words(300) . '. The end."}');
    last unless $res->{content} =~ /"message_id":$i/;
}

like($res->{content}, qr/"message_id":200/, 'a context of 200 messages');

($res, $ms) = best_of_three('context_search',
                            qq({"query": "$a3000", "limit": 100}));
unlike($res->{content}, qr/"isError":true/,
       'context_search of "a" 3,000 times answers');
like($res->{content}, qr/"message_id":\d+/, 'with messages');
like($res->{content}, qr/"truncated":true/, 'cut short');
cmp_ok($ms, '<', 50 * $slow, sprintf 'within 50 ms (%.1f)', $ms);

($res, $ms) = best_of_three('context_window',
                            qq({"context_id": "long", "max_tokens": 4000, )
                            . qq("query": "$a3000"}));
unlike($res->{content}, qr/"isError":true/,
       'context_window with that query answers');
like($res->{content}, qr/"summary":"Summary of \d+ earlier messages:/,
     'with a summary of the dropped turns');
cmp_ok($ms, '<', 50 * $slow, sprintf 'within 50 ms (%.1f)', $ms);

($res, $ms) = best_of_three('context_window',
                            '{"context_id": "long", "max_tokens": 1000000}');
ok($res->{content} =~ /"dropped":([1-9]\d*)/ && $1 < 200,
   'a window with room for all of it holds what the work budget allows');
ok($res->{content} =~ /"summary":"Summary of \d+ earlier/
   && $res->{content} =~ /"truncated":true/,
   'with a summary of the rest, and says so');
cmp_ok($ms, '<', 50 * $slow, sprintf 'within 50 ms (%.1f)', $ms);

# }}}


my @bad = bad_lines();
is(scalar @bad, 0, 'no errors in the error log') or diag(@bad);

done_testing();
