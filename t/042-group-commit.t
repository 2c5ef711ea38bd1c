# vim:set ft= ts=4 sw=4 et fdm=marker:

# Group commit with "mcp_store ... durability=sync": writes that arrive
# together share one transaction and one flush, in the thread pool, and
# each is answered once its batch is on disk.  Every kind of write answers
# as before (POST /shorten, aliases, mcp_admin's PATCH and DELETE, the
# MCP tools shorten_url, create_entities, context_append); many
# concurrent shortens all succeed with distinct codes and are committed
# in fewer batches than writes (mcp_status counts them); a write refused
# in a batch (a taken alias, one of two racing for the same alias) leaves
# the others of its batch; everything is there after a restart.
# group_commit=off keeps one commit per write.  A batch whose commit
# fails as a whole (a full disk, root only) answers each of its writes
# with 507 and stores none of them, as a batch the thread pool refuses
# does with 500.  A worker told to quit while a visit flush is in the
# pool waits for it: it neither crashes nor loses the visits.
#
# Concurrency needs requests in flight at once, so this suite drives
# nginx itself: it opens many connections, sends every request, then
# reads the answers.

use strict;
use warnings;

use Test::More;
use HTTP::Tiny;
use IO::Socket::INET;
use IPC::Open2;
use POSIX ();
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use Cwd qw(abs_path);
use Time::HiRes qw(sleep);

my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my @modules = split ' ', ($ENV{TEST_NGINX_LOAD_MODULES} || '');
my $port = ($ENV{TEST_NGINX_PORT} || 1984) + 11;

my $root = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $data = "$root/data";
make_path("$root/conf", "$root/logs", $data);

# run as root, the worker is "nobody": it must reach the store
chmod 0755, $root;

my $http = HTTP::Tiny->new(timeout => 5, max_redirect => 0,
                           keep_alive => 0);
my $base = "http://127.0.0.1:$port";

# the store's parameters; main and http: more directives there
sub write_conf {
    my ($store, %more) = @_;

    $more{$_} //= '' for qw(main http);

    open my $fh, '>', "$root/conf/nginx.conf" or die $!;
    print $fh map { 'load_module ' . abs_path($_) . ";\n" } @modules;
    print $fh <<"_EOC_";
$more{main}
worker_processes  1;
daemon            on;
master_process    on;
error_log         logs/error.log info;
pid               logs/nginx.pid;

events {
    worker_connections  256;
}

http {
    access_log  off;
    $more{http}

    mcp_store  $data  $store;

    server {
        listen  127.0.0.1:$port;

        location = /shorten { mcp_shorten; }
        location = /mcp { mcp_endpoint; }
        location = /status { mcp_status; }
        location = /metrics { mcp_status prometheus; }
        location /api/ { mcp_admin; }
        location / { mcp_redirect; }
    }
}
_EOC_
    close $fh;
}

sub master_pid {
    open my $fh, '<', "$root/logs/nginx.pid" or return undef;
    my $pid = <$fh>;
    chomp $pid;
    return $pid;
}

sub start {
    system($nginx, '-p', "$root/", '-c', 'conf/nginx.conf') == 0
        or BAIL_OUT("nginx did not start");

    for (1 .. 100) {
        return if $http->get("$base/")->{status} != 599;
        sleep 0.05;
    }

    BAIL_OUT("nginx does not answer on port $port");
}

sub stop {
    my $pid = master_pid() or return;
    kill 'QUIT', $pid;

    for (1 .. 200) {
        unlink "$root/logs/nginx.pid", return unless kill 0, $pid;
        sleep 0.05;
    }

    kill 'KILL', $pid;
}

sub json_post {
    my ($path, $body, %headers) = @_;

    return $http->request($headers{method} // 'POST', "$base$path", {
        headers => { 'Content-Type' => 'application/json',
                     'Accept' => 'application/json, text/event-stream',
                     map { $_ ne 'method' ? ($_ => $headers{$_}) : () }
                         keys %headers },
        defined $body ? (content => $body) : (),
    });
}

# every request sent before any answer is read: in flight at once
sub concurrently {
    my @reqs = @_;
    my @socks;

    for my $body (@reqs) {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                      Proto => 'tcp', Timeout => 5)
            or die "connect: $!";
        push @socks, $s;
    }

    for my $i (0 .. $#reqs) {
        my $body = $reqs[$i];
        print { $socks[$i] } "POST /shorten HTTP/1.1\r\n"
            . "Host: localhost\r\nConnection: close\r\n"
            . "Content-Type: application/json\r\n"
            . "Content-Length: " . length($body) . "\r\n\r\n" . $body;
    }

    my @res;

    for my $s (@socks) {
        local $/;
        my $raw = <$s> // '';
        close $s;
        my ($status) = $raw =~ m{^HTTP/1\.\d (\d+)};
        my ($body) = $raw =~ m{\r\n\r\n(.*)\z}s;
        push @res, { status => $status // 0, body => $body // '' };
    }

    return @res;
}

sub commit_counts {
    my $res = $http->get("$base/status");
    my ($b, $w) = $res->{content}
                  =~ /"commit":\{"batches":(\d+),"writes":(\d+)\}/;
    return ($b // -1, $w // -1);
}

sub mcp {
    my ($sid, $id, $name, $args) = @_;

    return json_post('/mcp', qq({"jsonrpc": "2.0", "id": $id, "method": )
                             . qq("tools/call", "params": {"name": "$name", )
                             . qq("arguments": $args}}),
                     'Mcp-Session-Id' => $sid);
}

END { stop() }

write_conf('durability=sync');
start();

# 1. POST /shorten, an alias, a taken alias

my $res = json_post('/shorten', '{"OriginalURL": "https://example.com/one"}');
is($res->{status}, 201, 'POST /shorten: 201');
my ($one) = $res->{content} =~ /"code":"([0-9A-Za-z]{7})"/;
ok($one, 'a random code');
is($http->get("$base/$one")->{headers}{location}, 'https://example.com/one',
   'it redirects at once (read-your-writes)');

$res = json_post('/shorten', '{"url": "https://example.com/a", '
                             . '"alias": "gc-alias"}');
is($res->{status}, 201, 'an alias: 201');

$res = json_post('/shorten', '{"url": "https://example.com/b", '
                             . '"alias": "gc-alias"}');
is($res->{status}, 409, 'the same alias again: 409');
like($res->{content}, qr/"error":"alias_taken"/, 'alias_taken');
is($http->get("$base/gc-alias")->{headers}{location}, 'https://example.com/a',
   'the first one keeps it');

# 2. mcp_admin: PATCH and DELETE

$res = json_post('/api/links', '{"url": "https://example.com/adm", '
                               . '"alias": "gc-adm"}');
is($res->{status}, 201, 'mcp_admin POST links: 201');

$res = json_post('/api/links/gc-adm', '{"url": "https://example.com/new"}',
                 method => 'PATCH');
is($res->{status}, 200, 'PATCH: 200');
like($res->{content}, qr/"url":"https:\/\/example.com\/new"/,
     'PATCH answers the changed link');
is($http->get("$base/gc-adm")->{headers}{location}, 'https://example.com/new',
   'it redirects to the new target');

$res = json_post('/api/links/gc-alias', undef, method => 'DELETE');
is($res->{status}, 204, 'DELETE: 204');
is($http->get("$base/gc-alias")->{status}, 404, 'the deleted link is gone');

$res = json_post('/api/links/gc-none', '{"url": "https://example.com/x"}',
                 method => 'PATCH');
is($res->{status}, 404, 'PATCH of no link: 404');

# 3. MCP: a session, and tools that write

$res = json_post('/mcp', '{"jsonrpc": "2.0", "id": 1, "method": '
                         . '"initialize", "params": {"protocolVersion": '
                         . '"2025-11-25", "capabilities": {}, "clientInfo": '
                         . '{"name": "t", "version": "1"}}}');
is($res->{status}, 200, 'initialize');
my $sid = $res->{headers}{'mcp-session-id'} // '';
like($sid, qr/^[0-9A-Za-z]{32}$/, 'a session id');

$res = mcp($sid, 2, 'shorten_url',
           '{"url": "https://example.com/tool", "alias": "gc-tool"}');
like($res->{content}, qr/"structuredContent":\{[^}]*"code":"gc-tool"/,
     'shorten_url answers its link');

$res = mcp($sid, 3, 'shorten_url',
           '{"url": "https://example.com/tool2", "alias": "gc-tool"}');
like($res->{content}, qr/"isError":true/, 'shorten_url: a taken alias is a '
                                         . 'tool error');

$res = mcp($sid, 4, 'create_entities',
           '{"entities": [{"name": "Ada", "entityType": "person", '
           . '"observations": ["wrote the first program"]}]}');
like($res->{content},
     qr/"structuredContent":\{"entities":\[\{"name":"Ada",/,
     'create_entities answers what it created');

$res = mcp($sid, 5, 'add_observations',
           '{"observations": [{"entityName": "Nobody", "contents": ["x"]}]}');
like($res->{content}, qr/"isError":true/,
     'add_observations to no entity: a tool error');

$res = mcp($sid, 6, 'context_append',
           '{"context_id": "gc1", "role": "user", "content": "hello there"}');
like($res->{content},
     qr/"structuredContent":\{"context_id":"gc1","message_id":1,/,
     'context_append answers its message');

# 4. 64 shortens at once: all 201, distinct codes, fewer batches

my ($b0, $w0) = commit_counts();
ok($b0 > 0 && $w0 >= $b0, "mcp_status counts batches ($b0) and writes ($w0)");

my @res = concurrently(map { qq({"url": "https://example.com/c$_"}) }
                           1 .. 64);
is(scalar(grep { $_->{status} == 201 } @res), 64,
   '64 concurrent shortens: all 201');

my %codes = map { ($_->{body} =~ /"code":"([0-9A-Za-z]{7})"/)[0] // '' => 1 }
                @res;
delete $codes{''};
is(scalar keys %codes, 64, 'with 64 distinct codes');

my ($b1, $w1) = commit_counts();
is($w1 - $w0, 64, 'the 64 writes were committed by group commits');
ok($b1 - $b0 < 64, 'in fewer transactions than writes ('
                   . ($b1 - $b0) . ' batches)');

# what a Prometheus client library reads of it (scripts/check-prometheus.py)
$res = $http->get("$base/metrics");
my $pid = open2(my $out, my $in, 'scripts/check-prometheus.py');
print $in $res->{content};
close $in;
my $parsed = do { local $/; <$out> };
waitpid $pid, 0;
is($?, 0, 'the Prometheus answer parses');
like($parsed, qr/^# mcp_commit_batches counter$/m,
     'Prometheus: mcp_commit_batches_total is a counter');
like($parsed, qr/^mcp_commit_batches_total\{\} $b1$/m, 'of the batches');
like($parsed, qr/^# mcp_commit_writes counter$/m,
     'Prometheus: mcp_commit_writes_total is a counter');
like($parsed, qr/^mcp_commit_writes_total\{\} $w1$/m, 'of the writes');

# 5. two requests for one alias at once: one 201, one 409; refused writes
#    in a batch leave the others of that batch

@res = concurrently('{"url": "https://example.com/r1", "alias": "gc-race"}',
                    (map { qq({"url": "https://example.com/m$_"}) } 1 .. 8),
                    '{"url": "https://example.com/r2", "alias": "gc-race"}',
                    '{"url": "https://example.com/t", "alias": "gc-tool"}');

is(join(',', sort map { $_->{status} } @res[0, 9]), '201,409',
   'two requests for one alias at once: one 201, one 409');
is($res[10]{status}, 409, 'an alias taken earlier: 409');
is(scalar(grep { $_->{status} == 201 } @res[1 .. 8]), 8,
   'the other writes of the batch: 201');

my @mixed = map { ($_->{body} =~ /"code":"([0-9A-Za-z]{7})"/)[0] } @res[1 .. 8];
my $race = $res[0]{status} == 201 ? 'https://example.com/r1'
                                  : 'https://example.com/r2';

# 6. a restart: everything committed is there

stop();
start();

is($http->get("$base/$one")->{headers}{location}, 'https://example.com/one',
   'after a restart: the first link');
is($http->get("$base/gc-adm")->{headers}{location}, 'https://example.com/new',
   'the PATCH');
is($http->get("$base/gc-alias")->{status}, 404, 'the DELETE');
is($http->get("$base/gc-tool")->{headers}{location},
   'https://example.com/tool', "shorten_url's link");
is($http->get("$base/gc-race")->{headers}{location}, $race,
   'the alias the race gave');

my $found = grep {
    ($http->get("$base/$_")->{headers}{location} // '') =~ m{/c\d+$}
} keys %codes;
is($found, 64, 'the 64 concurrent links');

$found = grep {
    ($http->get("$base/$_")->{headers}{location} // '') =~ m{/m\d+$}
} grep { defined } @mixed;
is($found, 8, 'the links of the batch with refused writes');

$res = json_post('/api/graph?q=Ada', undef, method => 'GET');
like($res->{content}, qr/"name":"Ada".*"wrote the first program"/,
     "create_entities' entity and observation");

$res = json_post('/api/contexts', undef, method => 'GET');
like($res->{content}, qr/"context_id":"gc1","messages":1,/,
     "context_append's message");

# 7. group_commit=off: one commit per write, as before; no batches shown

stop();
write_conf('durability=sync group_commit=off');
start();

$res = json_post('/shorten', '{"url": "https://example.com/off", '
                             . '"alias": "gc-off"}');
is($res->{status}, 201, 'group_commit=off: 201');
is($http->get("$base/gc-off")->{headers}{location}, 'https://example.com/off',
   'group_commit=off: the link redirects');
unlike($http->get("$base/status")->{content}, qr/"commit"/,
       'group_commit=off: mcp_status shows no batches');

@res = concurrently(map { qq({"url": "https://example.com/o$_"}) } 1 .. 16);
is(scalar(grep { $_->{status} == 201 } @res), 16,
   'group_commit=off: 16 concurrent shortens, all 201');

# no [error] in the log, no sanitizer report

stop();

open my $log, '<', "$root/logs/error.log" or die $!;
my @bad = grep { /\[(error|alert|crit|emerg)\]|AddressSanitizer|runtime error/ }
              <$log>;
is(scalar @bad, 0, 'no error in the log') or diag(@bad);
close $log;

# 8. a full disk: a batch whose commit fails as a whole (the disk has no
#    block for its pages) answers each of its writes, at once, with 507
#    disk_full, and stores nothing of them; the links before it redirect
#    and the worker goes on.  The disk is a 2 MiB tmpfs mounted over the
#    data directory (root only); the map is larger than the disk.

my $disk = $> == 0
           && system('mount', '-t', 'tmpfs', '-o', 'size=2m,mode=0755',
                     'mcp-test', $data) == 0;

SKIP: {
    skip 'a tmpfs cannot be mounted here (not root)', 7 unless $disk;

    write_conf('map_size=64m durability=sync');
    start();

    # links of 2 KiB, one after another, until one is refused
    my $long = 'https://example.com/' . ('d' x 1900);
    my $kept = 0;

    $kept++ while $kept < 2000
                  && ($res = json_post('/shorten',
                                       qq({"url": "$long@{[$kept + 1]}", )
                                       . qq("alias": "full@{[$kept + 1]}"})
                      ))->{status} == 201;

    is($res->{status}, 507, "the full disk refuses a write ($kept kept)");
    like($res->{content}, qr/"error":"disk_full"/, 'as disk_full');

    is_deeply([map { $http->get("$base/full$_")->{status} } 1, $kept,
                                                           $kept + 1],
              [302, 302, 404],
              'the links before it redirect, the refused one is not there');

    # several in one batch: each is answered, none is stored
    @res = concurrently(map { qq({"url": "$long$_", "alias": "more$_"}) }
                            1 .. 8);
    my @refused = grep { $res[$_ - 1]{status} == 507 } 1 .. 8;
    is(scalar(grep { $_->{status} != 201 && $_->{status} != 507 } @res), 0,
       'writes at once on the full disk: each answered, 201 or 507 ('
       . scalar(@refused) . ' refused)');
    ok(scalar @refused, 'the full disk refuses writes of a batch');
    is(scalar(grep { $http->get("$base/more$_")->{status} != 404 } @refused),
       0, 'nothing of a refused write is stored');

    stop();

    open $log, '<', "$root/logs/error.log" or die $!;
    ok(scalar(grep { /a group commit of \d+ writes failed: no space left/ }
                   <$log>),
       'the error log says the group commit failed, and why');
    close $log;

    system('umount', $data);
}

# 9. a batch the thread pool refuses: its writes answer 500 at once and
#    nothing of them is stored.  One thread and no queue (max_queue=0):
#    while the thread writes a visit flush, the pool takes no task.  A
#    flush of 12,288 counters starts when a redirect counts the last of
#    them; a POST right behind it on the connection finds the thread
#    busy.

write_conf('durability=sync',
           main => 'thread_pool  default  threads=1 max_queue=0;',
           http => "keepalive_requests  20000;\n"
                   . "    mcp_visit_flush_interval  1h;");
start();

$res = json_post('/shorten', '{"url": "https://example.com/v", '
                             . '"alias": "gc-v"}');
is($res->{status}, 201, 'one thread, no queue: a write goes through');

{
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                  Proto => 'tcp', Timeout => 10)
        or die "connect: $!";
    my $body = '{"url": "https://example.com/r", "alias": "gc-refused"}';

    # written by a child while this reads: neither waits for the other
    my $writer = fork // die "fork: $!";

    if ($writer == 0) {
        print $s map { "GET /gc-v HTTP/1.1\r\nHost: localhost\r\n"
                       . "User-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n"
                       . "Referer: http://r$_.example/\r\n\r\n" } 1 .. 12300;
        print $s "POST /shorten HTTP/1.1\r\nHost: localhost\r\n"
                 . "Connection: close\r\n"
                 . "Content-Type: application/json\r\n"
                 . 'Content-Length: ' . length($body) . "\r\n\r\n$body";
        POSIX::_exit(0);
    }

    my $answers = do { local $/; <$s> } // '';
    waitpid $writer, 0;

    my @status = $answers =~ m{HTTP/1\.1 (\d+) }g;
    is(scalar(grep { $_ == 302 } @status[0 .. $#status - 1]), 12300,
       '12,300 redirects');
    is($status[-1], 500, 'the write behind them, refused by the pool: 500');
    like($answers, qr/"error":"internal"\}\s*\z/, 'as an internal error');
}

is($http->get("$base/gc-refused")->{status}, 404,
   'nothing of the refused write is stored');
# the flush may still hold the thread a moment
my $again;

for (1 .. 50) {
    $again = json_post('/shorten', '{"url": "https://example.com/r", '
                                   . '"alias": "gc-refused"}')->{status};
    last if $again != 500;
    sleep 0.1;
}

is($again, 201, 'the same write once the thread is free: 201');

stop();

open $log, '<', "$root/logs/error.log" or die $!;
ok(scalar(grep { /group commit of 1 writes could not be handed to the/ }
                <$log>),
   'the error log says the pool refused it');
close $log;

# 10. a worker told to quit while its visit flush is still in the thread
#     pool: nginx stops waiting for a pool that cannot queue its exit
#     task (one thread, no queue), the worker waits for the flush before
#     it touches the batch or closes the store.  12,287 visits from as
#     many hosts, answered; one more starts a flush of 12,288 counters,
#     and QUIT follows its answer; five times.

truncate "$root/logs/error.log", 0;
start();

is(json_post('/shorten', '{"url": "https://example.com/x", '
                         . '"alias": "gc-x"}')->{status}, 201,
   'a link to visit at exit');

my $sent = 0;

# the visit of the referrer $host to gc-x, as a request
sub visit_x {
    my ($host, $last) = @_;

    return "GET /gc-x HTTP/1.1\r\nHost: localhost\r\n"
           . "User-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n"
           . "Referer: http://$host.example/\r\n"
           . ($last ? "Connection: close\r\n" : '') . "\r\n";
}

for my $round (1 .. 5) {
    start() if $round > 1;

    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                  Proto => 'tcp', Timeout => 10)
        or die "connect: $!";

    # 12,287 counters, one short of a flush, all answered
    my $writer = fork // die "fork: $!";

    if ($writer == 0) {
        print $s map { visit_x("x$round-$_") } 1 .. 12287;
        POSIX::_exit(0);
    }

    my ($answers, $n) = ('', 0);

    while ($n < 12287) {
        last unless sysread $s, my $buf, 1 << 20;
        $answers .= $buf;
        $n = () = $answers =~ m{HTTP/1\.1 302 }g;
    }

    waitpid $writer, 0;

    # the 12,288th starts the flush; QUIT as soon as it is answered
    print $s visit_x("x$round-last", 1);
    $answers .= do { local $/; <$s> } // '';

    close $s;

    $sent += () = $answers =~ m{HTTP/1\.1 302 }g;
    stop();
}

is($sent, 5 * 12288, 'every visit redirected');

open $log, '<', "$root/logs/error.log" or die $!;
my @lines = <$log>;
close $log;

is(scalar(grep { /exited on signal/ } @lines), 0,
   'no worker crashed at exit');

my $lost = 0;
$lost += $_ for map { /(\d+) visits lost at exit/ ? $1 : () } @lines;

start();
my ($stored) = $http->get("$base/api/links/gc-x")->{content}
               =~ /"visits":(\d+)/;
stop();

is(($stored // 0) + $lost, $sent,
   "every visit stored ($stored) or said lost at exit ($lost)");

done_testing();
