# vim:set ft= ts=4 sw=4 et fdm=marker:

# Several worker processes on one store: a link created through one worker
# redirects through another at once; an MCP session started on one worker
# is served, and ended, by any; batched visit counters reach the store on
# their timer and on graceful exit; links and sessions survive "nginx -s
# reload" and a full restart; with a write map (durability=interval),
# the workers write into one sparse file that a reload never truncates.
#
# Which worker serves a connection is the kernel's choice, so this suite
# drives nginx itself (listen ... reuseport spreads connections over the
# workers) and reads the serving worker from an X-Worker-Pid header.

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
my $port = ($ENV{TEST_NGINX_PORT} || 1984) + 7;

my $root = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $data = "$root/data";
make_path("$root/conf", "$root/logs", $data);

# run as root, the workers are "nobody": they must reach the store
chmod 0755, $root;

my $http = HTTP::Tiny->new(timeout => 2, max_redirect => 0,
                           keep_alive => 0);
my $base = "http://127.0.0.1:$port";

sub write_conf {
    my ($flush, $store) = @_;

    $store //= 'durability=sync';

    open my $fh, '>', "$root/conf/nginx.conf" or die $!;
    print $fh map { 'load_module ' . abs_path($_) . ";\n" } @modules;
    print $fh <<"_EOC_";
worker_processes  2;
daemon            on;
master_process    on;
error_log         logs/error.log info;
pid               logs/nginx.pid;

events {
    worker_connections  64;
}

http {
    access_log  off;

    mcp_store  $data  $store;
    mcp_visit_flush_interval  $flush;

    server {
        listen  127.0.0.1:$port reuseport;

        add_header  X-Worker-Pid  \$pid  always;

        location = /shorten { mcp_shorten; }
        location = /mcp { mcp_endpoint; }
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

    for (1 .. 40) {
        return if $http->get("$base/")->{status} != 599;
        sleep 0.05;
    }

    BAIL_OUT("nginx does not answer on port $port");
}

sub stop {
    my $pid = master_pid() or return;
    kill 'QUIT', $pid;

    for (1 .. 200) {
        return unless kill 0, $pid;
        sleep 0.05;
    }

    kill 'KILL', $pid;
}

sub shorten {
    my ($alias, $url) = @_;

    return $http->post("$base/shorten", {
        headers => { 'Content-Type' => 'application/json' },
        content => qq({"OriginalURL": "$url", "alias": "$alias"}),
    });
}

sub mcp {
    my ($session, $body) = @_;

    return $http->post("$base/mcp", {
        headers => {
            'Content-Type' => 'application/json',
            'Accept' => 'application/json, text/event-stream',
            $session ? ('Mcp-Session-Id' => $session) : (),
        },
        content => $body,
    });
}

# the first response whose worker is not $pid (or any, if $pid is undef)
sub on_other_worker {
    my ($pid, $send) = @_;

    for (1 .. 200) {
        my $res = $send->();
        return $res if !defined $pid
                       || $res->{headers}{'x-worker-pid'} ne $pid;
    }

    return undef;
}

sub visits {
    my ($code) = @_;

    my $out = `$tool get $data $code`;
    return $out =~ /"visits":(\d+)/ ? $1 : -1;
}

sub workers_seen {
    my %pids;

    for (1 .. 200) {
        my $res = $http->get("$base/nope");
        $pids{ $res->{headers}{'x-worker-pid'} // '' }++;
        last if keys %pids >= 2;
    }

    return grep { $_ ne '' } keys %pids;
}

END { stop() }

write_conf('200ms');
start();

# 1. two workers serve this port

my @first = workers_seen();
is(scalar @first, 2, 'two worker processes serve requests');

# 2. create through one worker, redirect through the other

my (%creator, $n);

for my $i (1 .. 100) {
    my $res = shorten("w$i", "https://example.com/$i");
    is($res->{status}, 201, "w$i created") if $i <= 2;
    $creator{"w$i"} = $res->{headers}{'x-worker-pid'};
    $n = $i;
    last if (grep { $_ ne $creator{w1} } values %creator) > 0;
}

my ($a_link) = grep { $creator{$_} eq $creator{w1} } sort keys %creator;
my ($b_link) = grep { $creator{$_} ne $creator{w1} } sort keys %creator;
ok(defined $b_link, 'links were created through both workers');

for my $code ($a_link, $b_link) {
    my $other;

    for (1 .. 200) {
        my $res = $http->get("$base/$code");
        next if $res->{headers}{'x-worker-pid'} eq $creator{$code};
        $other = $res;
        last;
    }

    ok($other, "$code is served by a worker that did not create it");
    is($other->{status}, 302, "$code redirects through the other worker");
    my $i = substr($code, 1);
    is($other->{headers}{location}, "https://example.com/$i",
       "$code has its own target");
}

# 3. an MCP session lives in the store: any worker serves it

my $init = mcp(undef, '{"jsonrpc": "2.0", "id": 1, "method": "initialize", '
                      . '"params": {"protocolVersion": "2025-11-25", '
                      . '"capabilities": {}, "clientInfo": {"name": "t", '
                      . '"version": "1"}}}');
is($init->{status}, 200, 'initialize');
my $sid = $init->{headers}{'mcp-session-id'} // '';
like($sid, qr/^[0-9A-Za-z]{32}$/, 'a session id');
my $init_pid = $init->{headers}{'x-worker-pid'};

my $call = '{"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": '
           . '{"name": "resolve_url", "arguments": {"code": "w1"}}}';
my $res = on_other_worker($init_pid, sub { mcp($sid, $call) });
ok($res, 'a request of the session reached the other worker');
is($res && $res->{status}, 200, 'the other worker serves the session');
like($res && $res->{content}, qr/"url":"https:\/\/example.com\/1"/,
     'and answers the tool call');

# 4. visit counters: batched per worker, all reach the store on the timer

shorten('counted', 'https://example.com/counted');
my $before = visits('counted');
is($before, 0, 'a new link has no visits');

$http->get("$base/counted") for 1 .. 20;

my $deadline = time + 5;
sleep 0.1 while visits('counted') < 20 && time < $deadline;
is(visits('counted'), 20, 'visits from both workers are all counted');

# 5. reload: new workers, same links and sessions, no lost counts

my $master = master_pid();
write_conf('60s');
kill 'HUP', $master;

my %old = map { $_ => 1 } @first;
my @new;

for (1 .. 100) {
    @new = workers_seen();
    last if @new == 2 && !grep { $old{$_} } @new;
    sleep 0.1;
}

ok(@new == 2 && !grep({ $old{$_} } @new), 'reload started new workers');
is(master_pid(), $master, 'the master stayed');

my @lost = grep { $http->get("$base/w$_")->{status} != 302 } 1 .. $n;
is(scalar @lost, 0, "all $n links redirect after reload")
    or diag("lost: @lost");

my $ping = '{"jsonrpc": "2.0", "id": 3, "method": "ping"}';
is(mcp($sid, $ping)->{status}, 200, 'the session survived the reload');

# a session ended through one worker is gone for all

my $del = $http->request('DELETE', "$base/mcp",
                         { headers => { 'Mcp-Session-Id' => $sid } });
is($del->{status}, 200, 'DELETE ends the session');

my %gone;
for (1 .. 200) {
    my $r = mcp($sid, $ping);
    $gone{ $r->{headers}{'x-worker-pid'} } = $r->{status};
    last if keys %gone >= 2;
}
is(join(',', sort values %gone), '404,404',
   'both workers answer 404 for the ended session');

# 6. graceful shutdown flushes the batch (the timer is a minute away now)

$http->get("$base/counted") for 1 .. 5;
is(visits('counted'), 20, 'counts wait for the flush timer');
stop();
is(visits('counted'), 25, 'graceful shutdown flushed the counts');

# 7. a full restart keeps everything

start();
$res = $http->get("$base/w1");
is($res->{status}, 302, 'w1 redirects after a restart');
is($res->{headers}{location}, 'https://example.com/1', 'to its target');
stop();

# 8. durability=interval: commits write into the map (writemap=on), which
#    makes data.mdb as long as the map, its disk reserved ahead

sub file_size { my @st = stat "$data/data.mdb"; return @st ? $st[7] : -1 }
sub disk_size { my @st = stat "$data/data.mdb"; return @st ? $st[12] * 512 : -1 }

write_conf('200ms', 'durability=interval sync_interval=100ms');
start();

%creator = ();
for my $i (1 .. 100) {
    my $res = shorten("m$i", "https://example.com/m$i");
    $creator{"m$i"} = $res->{headers}{'x-worker-pid'} if $res->{status} == 201;
    last if keys %creator >= 2
            && (grep { $_ ne $creator{m1} } values %creator) > 0;
}

my @writers = keys %{{ reverse %creator }};
is(scalar @writers, 2, 'with a write map both workers create links');
is(file_size(), 64 * 1024 * 1024, 'data.mdb is as long as the map (64m)');
cmp_ok(disk_size(), '>=', 64 * 1024 * 1024,
       'its disk reserved ahead of the writes (all of a 64m map)');
like(`$tool get $data m1`, qr{"url":"https://example.com/m1"},
     'the command line reads a link written into the map');

# a reload to a smaller map_size: the new workers map the whole file, and
# the old ones, still mapping 64m, lose nothing under them

$master = master_pid();
write_conf('200ms', 'map_size=1m durability=interval');
kill 'HUP', $master;

my %was = map { $_ => 1 } @writers;
for (1 .. 100) {
    @new = workers_seen();
    last if @new == 2 && !grep { $was{$_} } @new;
    sleep 0.1;
}

is(file_size(), 64 * 1024 * 1024, 'a smaller map_size leaves the file whole');
is(shorten('after-reload', 'https://example.com/after')->{status}, 201,
   'the new workers write');
@lost = grep { $http->get("$base/$_")->{status} != 302 }
        ('after-reload', keys %creator);
is(scalar @lost, 0, 'every link written into the map redirects')
    or diag("lost: @lost");
stop();

# writemap=off: commits pwrite() their pages, the store reads the same

write_conf('200ms', 'durability=interval writemap=off');
start();
is(shorten('plain', 'https://example.com/plain')->{status}, 201,
   'writemap=off creates a link');
is($http->get("$base/m1")->{status}, 302, 'and serves those of the map');
stop();

# 9. nothing went wrong on the way

open my $log, '<', "$root/logs/error.log" or die $!;
my @bad = grep { /\[(error|crit|alert|emerg)\]/ } <$log>;
is(scalar @bad, 0, 'no errors in the error log') or diag(@bad);
close $log;

# 10. writemap=on on a full disk: a write is refused with 507 disk_full
#     before it touches the map (no SIGBUS), reads go on.  The disk is a
#     68 MiB tmpfs mounted over the data directory (root only); the
#     reserve ahead of the writes is 64 MiB.

SKIP: {
    skip 'a tmpfs cannot be mounted here (not root)', 5
        if $> != 0
           || system('mount', '-t', 'tmpfs', '-o', 'size=68m,mode=0755',
                     'mcp-test', $data) != 0;

    write_conf('200ms', 'map_size=256m durability=interval');
    start();

    my $long = 'https://example.com/' . ('d' x 1900);
    my ($res, $kept) = (undef, 0);

    for my $i (1 .. 5000) {
        $res = shorten("full$i", "$long$i");
        last if $res->{status} != 201;
        $kept++;
    }

    is($res->{status}, 507, "the full disk refuses a write ($kept kept)");
    like($res->{content}, qr/"error":\s*"disk_full"/, 'as disk_full');
    is($http->get("$base/full$kept")->{status}, 302,
       'the links written before it redirect');
    is($http->get("$base/full" . ($kept + 1))->{status}, 404,
       'nothing of the refused one was stored');

    stop();

    open $log, '<', "$root/logs/error.log" or die $!;
    my @full = grep { /no space left on its disk/ } <$log>;
    ok(scalar @full, 'the error log names the store and the cause');

    system('umount', $data);
}

done_testing();
