# vim:set ft= ts=4 sw=4 et fdm=marker:

# Faults: what a worker killed with kill -9 loses (visit counters of at
# most one flush interval, nothing else), writes under kill -9 (every 201
# is in the store afterwards, reader slots of dead workers are cleared,
# the store checks clean), reloads under load (no failed request, no lost
# session), a full store (507, tool errors, reads go on, a larger map_size
# and a reload recover), visit counters a full store refuses (kept and
# saved once deletes make room, the failure logged once; past the
# counters kept, the oldest dropped and said so, twice a streak at most:
# every visit is saved, dropped or said lost; those that need no new
# room saved all the same), and stores nginx must refuse (a newer
# schema, a directory it cannot write): "nginx -t" and reloads fail with the path
# named, and a worker that cannot open its store is not respawned in a
# loop.
#
# Like t/004-workers.t, this suite drives nginx itself: master, two
# workers, reuseport.

use strict;
use warnings;

use Test::More;
use HTTP::Tiny;
use POSIX ();
use IO::Handle;
use IO::Socket::INET;
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use File::Copy qw(copy);
use Cwd qw(abs_path);
use Time::HiRes qw(sleep time);

my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my @modules = map { abs_path($_) }
              split ' ', ($ENV{TEST_NGINX_LOAD_MODULES} || '');
my $tool = $ENV{TEST_NGINX_MCP_STORE_TOOL} || 'build/store/mcp-store';
my $port = ($ENV{TEST_NGINX_PORT} || 1984) + 8;

my $root = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $data = "$root/data";
make_path("$root/conf", "$root/logs", $data);

# run as root, the workers are "nobody": they must reach the store
chmod 0755, $root;

my $http = HTTP::Tiny->new(timeout => 3, max_redirect => 0,
                           keep_alive => 0);
my $base = "http://127.0.0.1:$port";
my $log = "$root/logs/error.log";

my %conf = (store => $data, map_size => '64m', durability => 'sync',
            flush => '500ms');

sub write_conf {
    my (%set) = @_;

    %conf = (%conf, %set);

    open my $fh, '>', "$root/conf/nginx.conf" or die $!;
    print $fh map { "load_module $_;\n" } @modules;
    print $fh <<"_EOC_";
worker_processes  2;
daemon            on;
master_process    on;
error_log         logs/error.log info;
pid               logs/nginx.pid;

events {
    worker_connections  128;
}

http {
    access_log  off;

    mcp_store  $conf{store}  map_size=$conf{map_size}
               durability=$conf{durability};
    mcp_visit_flush_interval  $conf{flush};

    server {
        listen  127.0.0.1:$port reuseport;

        add_header  X-Worker-Pid  \$pid  always;

        location = /shorten { mcp_shorten; }
        location = /mcp { mcp_endpoint; }
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

# the worker processes of the master, from /proc
sub workers {
    my $master = master_pid() or return ();
    my @pids;

    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // next;
        next unless $line =~ /^(\d+) \(.*\) \S+ (\d+) /;
        push @pids, $1 if $2 == $master;
    }

    @pids = sort { $a <=> $b } @pids;

    return @pids;
}

sub wait_until {
    my ($cond, $seconds) = @_;
    my $deadline = time + ($seconds || 5);

    while (time < $deadline) {
        return 1 if $cond->();
        sleep 0.02;
    }

    return $cond->();
}

sub start {
    system($nginx, '-p', "$root/", '-c', 'conf/nginx.conf') == 0
        or BAIL_OUT("nginx did not start");

    wait_until(sub { workers() == 2
                     && $http->get("$base/")->{status} != 599 }, 5)
        or BAIL_OUT("nginx does not answer on port $port");
}

# a worker's last flush on a full store tries each counter in a nested
# transaction: under the sanitizers' allocator (LMDB allocates megabytes
# for each) the two workers' last flushes take some 25 s, one after the
# other, where they take a second without
sub stop {
    my $pid = master_pid() or return;
    kill 'QUIT', $pid;

    wait_until(sub { !kill 0, $pid }, 60) or kill 'KILL', $pid;
    unlink "$root/logs/nginx.pid";
}

# sends HUP and waits until two workers run, none of them an old one
sub reload {
    my %old = map { $_ => 1 } workers();

    kill 'HUP', master_pid();

    return wait_until(sub {
        my @w = workers();
        @w == 2 && !grep { $old{$_} } @w;
    }, 10);
}

sub shorten {
    my ($alias, $url, $h) = @_;

    return ($h || $http)->post("$base/shorten", {
        headers => { 'Content-Type' => 'application/json' },
        content => qq({"OriginalURL": "$url", "alias": "$alias"}),
    });
}

sub mcp {
    my ($session, $body, $h) = @_;

    return ($h || $http)->post("$base/mcp", {
        headers => {
            'Content-Type' => 'application/json',
            'Accept' => 'application/json, text/event-stream',
            $session ? ('Mcp-Session-Id' => $session) : (),
        },
        content => $body,
    });
}

sub initialize {
    my $res = mcp(undef, '{"jsonrpc": "2.0", "id": 1, "method": '
                         . '"initialize", "params": {"protocolVersion": '
                         . '"2025-11-25", "capabilities": {}, "clientInfo": '
                         . '{"name": "faults", "version": "1"}}}');

    return $res->{headers}{'mcp-session-id'} // '';
}

my $PING = '{"jsonrpc": "2.0", "id": 2, "method": "ping"}';

sub tool_call {
    my ($session, $name, $args) = @_;

    return mcp($session, '{"jsonrpc": "2.0", "id": 3, "method": '
                         . '"tools/call", "params": {"name": "' . $name
                         . '", "arguments": ' . $args . '}}');
}

sub store_cmd {
    my ($cmd, @args) = @_;
    my $q = join ' ', map { "'$_'" } @args;

    return scalar `$tool $cmd $q 2>&1`;
}

sub visits {
    my ($code) = @_;

    return store_cmd('get', $conf{store}, $code) =~ /"visits":(\d+)/
           ? $1 : -1;
}

sub readers {
    return store_cmd('stat', $conf{store}) =~ /^readers_used: (\d+)/m
           ? $1 : -1;
}

sub log_lines {
    open my $fh, '<', $log or return ();
    return <$fh>;
}

# a child process running $body until $seconds have passed or $stop
# exists; it must not run our END block
sub child {
    my ($body) = @_;

    my $pid = fork;
    die "fork: $!" unless defined $pid;
    return $pid if $pid;

    my $rc = eval { $body->(); 0 } // 1;
    POSIX::_exit($rc);
}

sub bad_lines {
    return grep { /\[(error|crit|alert|emerg)\]/ } @_;
}

# a store at $dir of $map bytes (64k) filled with links $prefix0,
# $prefix1... (f0, f1...) of ever smaller URLs until not even a tiny one
# fits; the length of each link's URL path
sub fill_store {
    my ($dir, $map, $prefix) = @_;
    my @sizes;

    $map //= 65536;
    $prefix //= 'f';
    make_path($dir);
    chmod 0755, $dir;

    for my $size (1500, 200, 1) {
        my $url = 'https://example.com/' . ('x' x $size);

        for (1 .. 200) {
            last if system("$tool --map-size=$map put $dir $prefix" . @sizes
                           . " $url 2>/dev/null") != 0;
            push @sizes, $size;
        }
    }

    return @sizes;
}

# the numbers in the log lines that match $re, added up
sub logged_sum {
    my ($re) = @_;
    my $sum = 0;

    $sum += $_ for map { /$re/ ? $1 : 0 } log_lines();

    return $sum;
}

END { stop() }


write_conf();
start();

my $session = initialize();
like($session, qr/^[0-9A-Za-z]{32}$/, 'an MCP session');


# {{{ 1. kill -9 loses at most one flush interval of visit counters

is(shorten('vc', 'https://example.com/vc')->{status}, 201, 'vc created');
is(shorten('kept', 'https://example.com/kept')->{status}, 201,
   'kept created');

$http->get("$base/vc") for 1 .. 30;
ok(wait_until(sub { visits('vc') == 30 }, 5),
   '30 visits reach the store on the flush timer');

my $burst = 0;
for (1 .. 20) {
    $burst++ if $http->get("$base/vc")->{status} == 302;
}

my @before = workers();
kill 'KILL', @before;

ok(wait_until(sub {
       my @w = workers();
       my %dead = map { $_ => 1 } @before;
       @w == 2 && !grep { $dead{$_} } @w;
   }, 10), 'the master respawned both killed workers');

my $after = visits('vc');
cmp_ok($after, '>=', 30, "visits flushed before the kill survive ($after)");
cmp_ok($after, '<=', 30 + $burst,
       "at most the last interval's $burst visits are lost");

is($http->get("$base/kept")->{status}, 302, 'links survive the kill');
is(mcp($session, $PING)->{status}, 200, 'the MCP session survives the kill');

$http->get("$base/vc") for 1 .. 5;
ok(wait_until(sub { visits('vc') == $after + 5 }, 5),
   'new workers count visits again');

# }}}


# {{{ 2. kill -9 of a worker in the middle of write load, 20 times

my $stop_file = "$root/stop-load";

# a process writing until $stop_file exists: $write->($h, $i) sends the
# i-th write and says "ok" (acknowledged), "cut" (no answer: the worker
# died) or anything else (refused); each line of acks-$tag is
# "key outcome time"
sub writer {
    my ($tag, $write) = @_;

    return child(sub {
        my $h = HTTP::Tiny->new(timeout => 5, max_redirect => 0,
                                keep_alive => 0);
        open my $out, '>', "$root/acks-$tag" or die $!;
        $out->autoflush(1);

        my $deadline = time + 60;
        my $i = 0;

        while (!-e $stop_file && time < $deadline) {
            $i++;
            my $outcome = $write->($h, $i);
            print $out "$tag$i $outcome ", time, "\n";
        }

        close $out;
    });
}

sub outcome {
    my ($res, $ok) = @_;

    return $ok ? 'ok' : $res->{status} == 599 ? 'cut' : $res->{status};
}

my @writers = (
    (map {
        my $tag = $_;
        writer($tag, sub {
            my ($h, $i) = @_;
            my $res = shorten("$tag$i", "https://example.com/$tag/$i", $h);
            return outcome($res, $res->{status} == 201);
        })
    } qw(a b)),

    # knowledge-graph writes through MCP, with the session of part 1
    writer('e', sub {
        my ($h, $i) = @_;
        my $res = mcp($session, '{"jsonrpc": "2.0", "id": 4, "method": '
                                . '"tools/call", "params": {"name": '
                                . '"create_entities", "arguments": '
                                . '{"entities": [{"name": "e' . $i . '", '
                                . '"entityType": "t", "observations": '
                                . '["o' . $i . '"]}]}}}', $h);
        return outcome($res, $res->{status} == 200
                             && $res->{content} =~ /"name":"e$i"/
                             && $res->{content} !~ /"isError":true/);
    }),
);
my (@victims, $last_kill, $respawned, $max_readers);

$respawned = 0;
$max_readers = 0;

for my $k (1 .. 20) {
    sleep 0.15;

    my @w = workers();
    my $victim = $w[$k % @w];
    kill 'KILL', $victim;
    push @victims, $victim;
    $last_kill = time;

    $respawned++ if wait_until(sub {
        my @n = workers();
        @n == 2 && !grep { $_ == $victim } @n;
    }, 10);

    my $r = readers();
    $max_readers = $r if $r > $max_readers;
}

sleep 0.5;
open my $sf, '>', $stop_file or die $!;
close $sf;
waitpid $_, 0 for @writers;

is($respawned, 20, 'the master respawned the worker after each of 20 kills');

my (%acked, %entities, @refused, $after_last);
$after_last = 0;

for my $tag (qw(a b e)) {
    open my $in, '<', "$root/acks-$tag" or die $!;

    while (<$in>) {
        my ($key, $outcome, $at) = split;

        if ($outcome eq 'ok') {
            ($tag eq 'e' ? \%entities : \%acked)->{$key} = 1;
            $after_last++ if $at > $last_kill;

        } elsif ($outcome ne 'cut') {
            push @refused, "$key $outcome";
        }
    }
}

cmp_ok(scalar keys %acked, '>=', 100,
       scalar(keys %acked) . ' links acknowledged under the kills');
cmp_ok(scalar keys %entities, '>=', 20,
       scalar(keys %entities) . ' entities acknowledged under the kills');
is(scalar @refused, 0, 'no write was refused (only cut connections)')
    or diag("@refused[0 .. ($#refused < 9 ? $#refused : 9)]");
cmp_ok($after_last, '>', 0, 'writes go on after the last kill');

my $kills = grep { /exited on signal 9/ } log_lines();
cmp_ok($kills, '>=', 21, 'the error log has every kill');

cmp_ok($max_readers, '<=', 4,
       "reader slots of killed workers are cleared (at most $max_readers "
       . 'in use)');
is(readers(), 3, 'two workers and this check hold reader slots');

like(store_cmd('check', $data), qr/^ok \d+ links/m,
     'the store checks clean next to nginx');

my %stored = map { (split /\t/)[0] => 1 } split /\n/, store_cmd('list', $data);
my @lost = grep { !$stored{$_} } sort keys %acked;
is(scalar @lost, 0, 'every write acknowledged with 201 is in the store')
    or diag("lost: @lost[0 .. ($#lost < 9 ? $#lost : 9)]");

my @sample = (sort keys %acked)[0, 1, -2, -1];
is(scalar(grep { $http->get("$base/$_")->{status} == 302 } @sample),
   scalar @sample, 'acknowledged links redirect');

my @names = sort keys %entities;
my %found;

while (my @chunk = splice @names, 0, 500) {
    my $res = tool_call($session, 'open_nodes', '{"names": ['
                        . join(', ', map { qq("$_") } @chunk) . ']}');
    $found{$1} = 1 while $res->{content} =~ /"name":"(e\d+)"/g;
}

my @gone = grep { !$found{$_} } sort keys %entities;
is(scalar @gone, 0, 'every entity acknowledged is in the graph')
    or diag("lost: @gone[0 .. ($#gone < 9 ? $#gone : 9)]");

# }}}


# {{{ 3. nginx -s reload, 10 times, under redirect and MCP load

$session = initialize();
like($session, qr/^[0-9A-Za-z]{32}$/, 'a session for the reloads');

my @codes = map { "r$_" } 1 .. 10;
shorten($_, "https://example.com/$_") for @codes;
my %base_visits = map { $_ => visits($_) } @codes;

unlink $stop_file;

sub client {
    my ($tag, $request) = @_;

    return child(sub {
        my $h = HTTP::Tiny->new(timeout => 5, max_redirect => 0,
                                keep_alive => 0);
        my ($n, $bad, %ok, @why) = (0, 0);
        my $deadline = time + 60;

        while (!-e $stop_file && time < $deadline) {
            my ($res, $want, $key) = $request->($h, $n++);

            if ($res->{status} == $want) {
                $ok{$key}++;
            } else {
                $bad++;
                push @why, "$res->{status} "
                           . substr($res->{content} // '', 0, 100)
                    if @why < 5;
            }
        }

        open my $out, '>', "$root/client-$tag" or die $!;
        print $out "$n $bad\n", map({ "$_ $ok{$_}\n" } sort keys %ok),
                   map({ "why $_\n" } @why);
        close $out;
    });
}

my @clients = (
    (map {
        my $c = $_;
        client("get$c", sub {
            my ($h, $i) = @_;
            my $code = $codes[($i + $c) % @codes];
            return ($h->get("$base/$code"), 302, $code);
        })
    } 1 .. 2),
    client('mcp', sub {
        my ($h, $i) = @_;
        return (mcp($session, $PING, $h), 200, 'ping');
    }),
);

my $reloads = 0;
my $master = master_pid();

for (1 .. 10) {
    sleep 0.2;
    $reloads++ if reload();
}

sleep 0.3;
open $sf, '>', $stop_file or die $!;
close $sf;
waitpid $_, 0 for @clients;

is($reloads, 10, '10 reloads, each with new workers');
is(master_pid(), $master, 'the master stayed');

my ($total, $bad, %served) = (0, 0);

for my $tag (qw(get1 get2 mcp)) {
    open my $in, '<', "$root/client-$tag" or die "$tag: $!";
    my ($n, $b) = split ' ', scalar <$in>;
    $total += $n;
    $bad += $b;

    while (<$in>) {
        my ($key, $count) = split ' ', $_, 2;
        if ($key eq 'why') {
            diag("$tag: $count");
        } else {
            $served{$key} += $count;
        }
    }
}

cmp_ok($total, '>=', 200, "$total requests during the reloads");
is($bad, 0, 'no request failed');
cmp_ok($served{ping} // 0, '>', 0, 'the session was used throughout');
is(mcp($session, $PING)->{status}, 200, 'the session survived 10 reloads');

# graceful exits flush the counters: every redirect was counted

stop();
my $counted = 0;
$counted += visits($_) - $base_visits{$_} for @codes;
my $redirects = 0;
$redirects += $served{$_} // 0 for @codes;
is($counted, $redirects, "all $redirects redirects were counted");

my @bad = grep { !/exited on signal 9/ } bad_lines(log_lines());
is(scalar @bad, 0, 'no errors in the error log so far') or diag(@bad);

# }}}


# {{{ 4. a full store: 507 and tool errors, reads go on, a reload recovers

my $full = "$root/full";
make_path($full);
chmod 0755, $full;

store_cmd('--map-size=65536 session-put', $full,
          'FullFullFullFullFullFullFullFull');

my $filled = fill_store($full);

cmp_ok($filled, '>', 0, "$filled links fill a 64k store");

truncate $log, 0;
write_conf(store => $full, map_size => '64k');
start();

my $sid = 'FullFullFullFullFullFullFullFull';

my $res = shorten('new', 'https://example.com/new');
is($res->{status}, 507, 'a write to the full store is 507');
is($res->{content},
   qq({"message":"the link store is full; nothing was saved",)
   . qq("error":"store_full"}\n), 'with a JSON error');

$res = tool_call($sid, 'shorten_url',
                 '{"url": "https://example.com/new", "alias": "new"}');
like($res->{content}, qr/"isError":true/, 'shorten_url is a tool error');
like($res->{content}, qr/store is full/, 'that says the store is full');

$res = tool_call($sid, 'create_entities',
                 '{"entities": [{"name": "a", "entityType": "t", '
                 . '"observations": ["o"]}]}');
like($res->{content}, qr/"isError":true/, 'create_entities is a tool error');
like($res->{content}, qr/store full: raise map_size; nothing was saved/,
     'that says what to raise');

$res = $http->get("$base/f0");
is($res->{status}, 302, 'redirects go on');
like($res->{headers}{location}, qr{^https://example\.com/x+$},
     'to their targets');
like(tool_call($sid, 'resolve_url', '{"code": "f0"}')->{content},
     qr/"code":"f0"/, 'resolve_url reads the full store');
is($http->get("$base/new")->{status}, 404, 'the refused alias is not there');

my @says = grep { /is full: raise its map_size= and reload/ } log_lines();
cmp_ok(scalar @says, '>=', 1, 'the error log says what to change');
like($says[0] // '', qr/mcp_store "\Q$full\E"/, 'and names the store');

write_conf(map_size => '1m');
ok(reload(), 'reload with map_size=1m');

$res = shorten('new', 'https://example.com/new');
is($res->{status}, 201, 'writes go through after the reload');
is($http->get("$base/new")->{status}, 302, 'and redirect');
like(tool_call($sid, 'create_entities',
               '{"entities": [{"name": "a", "entityType": "t", '
               . '"observations": ["o"]}]}')->{content},
     qr/"name":"a"/, 'memory writes go through');
is($http->get("$base/f0")->{status}, 302, 'nothing was lost');
like(store_cmd('check', $full), qr/^ok \d+ links/m, 'the store checks clean');

stop();

# }}}


# {{{ 5. visit counters a full store refuses are kept for the next flush

my $vfull = "$root/vfull";
my $links = fill_store($vfull, 262144);

cmp_ok($links, '>', 20, "$links links fill a 256k store");

truncate $log, 0;
write_conf(store => $vfull, map_size => '256k', flush => '100ms');
start();

# people's visits from three hosts to ten links: their counters do not
# fit in the full store

my @v = 0 .. 9;
my @others = 10 .. $links - 1;
my $redirected = 0;

for my $k (1 .. 3) {
    for my $i (@v) {
        $redirected += $http->get("$base/f$i", {
            headers => { Referer => "http://h$k.example/" } })->{status}
            == 302;
    }
}

is($redirected, 30, 'the full store redirects');

ok(wait_until(sub {
       grep { /visit counters not saved: store full/ } log_lines() }, 5),
   'a flush the full store refuses is logged');
sleep 1;

my %streaks;
$streaks{$_}++ for map { /#(\d+): .*visit counters not saved/ ? $1 : () }
                       log_lines();
is_deeply([grep { $_ != 1 } values %streaks], [],
          'once per worker, however many flushes fail ('
          . join(', ', values %streaks) . ')');
is(scalar(grep { visits("f$_") != 0 } @v), 0,
   'nothing is counted while the store is full');

# deletes through mcp_admin make room: the kept counters are saved

is(scalar(grep { $http->request('DELETE', "$base/api/links/f$_")->{status}
                 != 204 } @others), 0,
   scalar(@others) . ' other links deleted to make room');
ok(wait_until(sub { !grep { visits("f$_") != 3 } @v }, 5),
   'then every visit kept is counted, once')
    or diag(join ' ', map { visits("f$_") } @v);
ok(scalar(grep { /visit counters saved again, after \d+ failed flushes/ }
                log_lines()),
   'the end of the failures is logged');

# past the counters kept (8192 a worker), the oldest are dropped: the
# store filled again (by another process), 20,000 visits from as many
# hosts to a new link, sent down 20 connections at once, never fit; each
# is counted, dropped or lost at exit, and the log says which

cmp_ok(scalar(fill_store($vfull, 262144, 'g')), '>', 0,
       'the store is filled again');

my $d = 'g0';
my $before = visits($d);

truncate $log, 0;

my @pipes;

for my $c (0 .. 19) {
    pipe my $r, my $w or die $!;

    child(sub {
        close $r;

        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                      Proto => 'tcp', Timeout => 10)
            or die "connect: $!";

        # the writes apart from the reads: neither waits for the other
        my $pid = fork // die "fork: $!";

        if ($pid == 0) {
            for my $k (1 .. 1000) {
                print $s "GET /$d HTTP/1.1\r\nHost: localhost\r\n"
                         . "User-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n"
                         . "Referer: http://c$c-$k.example/\r\n"
                         . ($k == 1000 ? "Connection: close\r\n" : '')
                         . "\r\n";
            }

            POSIX::_exit(0);
        }

        my $answers = do { local $/; <$s> } // '';
        my $n = () = $answers =~ m{HTTP/1\.1 302 }g;

        waitpid $pid, 0;
        print $w "$n\n";
        close $w;
    });

    close $w;
    push @pipes, $r;
}

my $sent = 0;
$sent += (readline($_) // 0) for @pipes;
1 while wait != -1;

is($sent, 20000, '20,000 visits redirected');

ok(wait_until(sub { logged_sum(qr/(\d+) visits dropped/) > 0 }, 5),
   'visits past the counters kept are dropped, and the log says how many');

# three more bursts of 5,000 new hosts, 1,000 a connection (nginx's
# keepalive_requests): each drops counters again, in the same streak of
# failed flushes

for my $b (1 .. 3) {
    for my $c (1 .. 5) {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                      Proto => 'tcp', Timeout => 10)
            or die "connect: $!";
        my $pid = fork // die "fork: $!";

        if ($pid == 0) {
            print $s map {
                "GET /$d HTTP/1.1\r\nHost: localhost\r\n"
                . "User-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n"
                . "Referer: http://b$b-$c-$_.example/\r\n"
                . ($_ == 1000 ? "Connection: close\r\n" : '') . "\r\n"
            } 1 .. 1000;
            POSIX::_exit(0);
        }

        my $answers = do { local $/; <$s> } // '';
        waitpid $pid, 0;
        close $s;

        $sent += () = $answers =~ m{HTTP/1\.1 302 }g;
    }

    sleep 0.3;
}

is($sent, 35000, 'and 15,000 more');
sleep 0.5;

stop();

my $dropped = logged_sum(qr/(\d+) visits dropped/);
my $lost = logged_sum(qr/(\d+) visits lost at exit/);
my $saved = visits($d) - $before;
my @kept = map { /lost at exit \((\d+) visit counters/ ? $1 : () } log_lines();

is($saved + $dropped + $lost, $sent,
   "every visit is counted ($saved), dropped ($dropped) or said lost at "
   . "exit ($lost)");
# lost at exit: the counters kept (8192 at most) merged into the table
# counting since the last flush, which flushes at 12,288, and, while that
# flush is slow (as under the sanitizers), counts on up to its 16,384
is(scalar(grep { $_ > 16384 } @kept), 0,
   'no worker held more than a table of 16,384 counters at exit ('
   . join(', ', @kept) . ')');

my %drops;
$drops{$_}++ for map { /#(\d+): .*visits dropped/ ? $1 : () } log_lines();
is_deeply([grep { $_ > 2 } values %drops], [],
          'drops logged at most twice a worker: the first, then the rest '
          . 'of the streak (' . join(', ', values %drops) . ')');

# a counter the full store has no room for (a new referrer, a new link's
# totals) does not hold back those it has room for: a link visited from
# one host before the store filled goes on counting that host's visits

my $hol = "$root/hol";
make_path($hol);
chmod 0755, $hol;
system("$tool --map-size=262144 put $hol a0 https://example.com/a0"
       . " >/dev/null 2>&1") == 0 or die "put a0";

truncate $log, 0;
write_conf(store => $hol);
start();

sub visit_from {
    my ($code, $host) = @_;

    return $http->get("$base/$code", {
        headers => { Referer => "http://$host/" } })->{status};
}

is(visit_from('a0', 'h1.example'), 302, 'a0 visited from h1');
ok(wait_until(sub { visits('a0') == 1 }, 5), 'and counted');

my $hol_links = fill_store($hol, 262144);
cmp_ok($hol_links, '>', 20, "then $hol_links links fill the store");

is(visit_from('a0', 'h1.example'), 302, 'a0 visited from h1 again');
ok(wait_until(sub { visits('a0') == 2 }, 5),
   'counted: its counter needs no new room');

$redirected = 0;
for my $k (1 .. 3) {
    $redirected += visit_from("f$_", "n$k-$_.example") == 302
        for 0 .. $hol_links - 1;
}
is($redirected, 3 * $hol_links, 'the new links visited from new hosts');
ok(wait_until(sub {
       grep { /visit counters not saved: store full/ } log_lines() }, 5),
   'their counters do not fit');

is(scalar(grep { visit_from('a0', 'h1.example') != 302 } 1 .. 5), 0,
   'a0 visited from h1 five more times');
ok(wait_until(sub { visits('a0') == 7 }, 5),
   'all counted while the others wait for room (' . visits('a0') . ')');
my $fillers = 0;
$fillers += visits("f$_") for 0 .. $hol_links - 1;
cmp_ok($fillers, '<', 3 * $hol_links,
       "the new counters without room wait ($fillers of "
       . 3 * $hol_links . ' counted)');

stop();

write_conf(store => $vfull, flush => '500ms');

# }}}


# {{{ 6. stores nginx must refuse: nginx -t fails naming the path

# "nginx -t" as $uid (or as we are); returns its exit code and output
sub nginx_t {
    my ($prefix, $uid, $gid) = @_;

    pipe my $r, my $w or die $!;
    my $pid = fork;
    die "fork: $!" unless defined $pid;

    if ($pid == 0) {
        close $r;
        open STDOUT, '>&', $w;
        open STDERR, '>&', $w;

        if (defined $uid) {
            POSIX::setgid($gid);
            $) = "$gid $gid";
            POSIX::setuid($uid);
            POSIX::_exit(126) if $> != $uid;
        }

        exec($nginx, '-t', '-p', "$prefix/", '-c', 'conf/nginx.conf')
            or POSIX::_exit(127);
    }

    close $w;
    my $out = join '', <$r>;
    waitpid $pid, 0;

    return ($? >> 8, $out);
}

# a prefix of its own whose store is $dir
sub prefix_for {
    my ($name, $dir) = @_;
    my $p = "$root/$name";

    make_path("$p/conf", "$p/logs");
    chmod 0755, $p, "$p/conf";
    chmod 0777, "$p/logs";

    open my $fh, '>', "$p/conf/nginx.conf" or die $!;
    print $fh map { "load_module $_;\n" } @modules;
    print $fh "error_log logs/error.log;\n",
              "pid logs/nginx.pid;\n",
              "events { }\n",
              "http { mcp_store $dir; server { listen 127.0.0.1:$port; ",
              "location / { mcp_redirect; } } }\n";
    close $fh;

    return $p;
}

# a store of a newer schema version: the schema record ("meta" database,
# key "schema") says 4, in msgpack
my $newer = "$root/newer";
make_path($newer);
store_cmd('put', $newer, 'n1', 'https://example.com/n1');

open my $dump, '|-', "mdb_load -s meta $newer" or die $!;
print $dump "VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n",
            ' ', unpack('H*', 'schema'), "\n 04\nDATA=END\n";
close $dump;

SKIP: {
    skip 'mdb_load (lmdb-utils) could not write the schema record', 3
        if $? != 0;

    like(store_cmd('stat', $newer), qr/schema version 4/,
         'the store has schema version 4');

    my ($rc, $out) = nginx_t(prefix_for('t-newer', $newer));
    isnt($rc, 0, 'nginx -t fails on a store of a newer schema');
    like($out, qr/mcp_store "\Q$newer\E" cannot be used: .*\Q$newer\E has schema version 4, this build reads up to 3/,
         'naming the path and the versions');
}

# a directory the user running nginx cannot write

my $ro = "$root/readonly";
make_path($ro);
chmod 0555, $ro;

SKIP: {
    my ($uid, $gid) = (getpwnam('nobody'))[2, 3];
    my $as_root = $> == 0;

    skip 'no user "nobody" to run nginx -t as', 3
        if $as_root && !defined $uid;

    # root may write anywhere: test as nobody, with a module it can read
    my @saved = @modules;
    my $p;

    if ($as_root) {
        @modules = ();
        for my $m (@saved) {
            (my $name = $m) =~ s{.*/}{};
            copy($m, "$root/$name") or die $!;
            chmod 0755, "$root/$name";
            push @modules, "$root/$name";
        }
    }

    $p = prefix_for('t-readonly', $ro);
    @modules = @saved;

    my ($rc, $out) = $as_root ? nginx_t($p, $uid, $gid) : nginx_t($p);

    skip "nginx could not run as nobody: $out", 3 if $rc == 126 || $rc == 127;

    isnt($rc, 0, 'nginx -t fails on a directory it cannot write');
    like($out, qr/mcp_store "\Q$ro\E" cannot be used: .*\Q$ro\E/,
         'naming the path');
    like($out, qr/cannot be used: [^\n]*Permission denied/, 'and why');
}

# }}}


# {{{ 7. reloads into a bad store are refused; no respawn loop

truncate $log, 0;
write_conf(store => $data, map_size => '64m');
start();

my @w = workers();
write_conf(store => $newer);
kill 'HUP', master_pid();

ok(wait_until(sub { grep { /cannot be used/ } log_lines() }, 5),
   'a reload into a store of a newer schema is refused');
like(join('', grep { /cannot be used/ } log_lines()),
     qr/\[emerg\].*mcp_store "\Q$newer\E" cannot be used/,
     'with the path in the error log');
sleep 0.3;
is_deeply([workers()], \@w, 'the old workers go on');
is($http->get("$base/kept")->{status}, 302, 'and serve');

write_conf(store => "$root/missing");
kill 'HUP', master_pid();
ok(wait_until(sub { grep { /missing" cannot be used/ } log_lines() }, 5),
   'so is a reload into a missing directory');
sleep 0.3;
is_deeply([workers()], \@w, 'the old workers go on');

# a worker that cannot open its store exits for good: no respawn loop

write_conf(store => $data);
rename $data, "$data.moved" or die $!;
kill 'KILL', $w[0];

ok(wait_until(sub { workers() == 1 }, 5),
   'a worker that cannot open the store is not respawned');
sleep 1;
my @opened = grep { /cannot be opened/ } log_lines();
is(scalar @opened, 1, 'it tried once') or diag(@opened);
like($opened[0] // '', qr/mcp_store "\Q$data\E" cannot be opened: .*\Q$data\E/,
     'naming the path');
is(scalar(grep { /exited with fatal code 2 and cannot be respawned/ }
           log_lines()), 1, 'the master says it gave up');
is(workers(), 1, 'still one worker a second later');

rename "$data.moved", $data or die $!;
ok(reload(), 'a reload brings both workers back');
is($http->get("$base/kept")->{status}, 302, 'and they serve');

stop();

# }}}

done_testing();
