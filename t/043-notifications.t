# vim:set ft= ts=4 sw=4 et fdm=marker:

# Two workers: every link created (POST /shorten, the shorten_url tool)
# sends notifications/resources/list_changed on the GET stream of every
# session that has one, whichever worker holds the stream and whichever
# created the link; the zone of streams counts the GET streams claimed,
# so that a creation with no session to tell walks none.  The count
# follows streams that open, close, end with their session (DELETE), die
# with their worker (and are taken over) or end with a reload, which
# keeps the zone.  A change of a link sends
# notifications/resources/updated to the sessions subscribed to it, and
# to no other, found among many subscriptions.
#
# Like t/004-workers.t, this suite drives nginx itself (listen ...
# reuseport spreads connections over the workers) and reads the serving
# worker from an X-Worker-Pid header.  With an nginx built --with-debug,
# the count each creation saw is read from the debug log as well.

use strict;
use warnings;

use Test::More;
use HTTP::Tiny;
use IO::Socket::INET;
use IO::Select;
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use Cwd qw(abs_path);
use Time::HiRes qw(sleep time);

my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my @modules = split ' ', ($ENV{TEST_NGINX_LOAD_MODULES} || '');
my $port = ($ENV{TEST_NGINX_PORT} || 1984) + 12;

my $root = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1, CLEANUP => 1);
make_path("$root/conf", "$root/logs", "$root/data");

# run as root, the workers are "nobody": they must reach the store
chmod 0755, $root;

my $debug = `$nginx -V 2>&1` =~ /--with-debug/;
my $level = $debug ? 'debug' : 'info';

my $http = HTTP::Tiny->new(timeout => 5, max_redirect => 0,
                           keep_alive => 0);
my $base = "http://127.0.0.1:$port";
my $changed = 'notifications/resources/list_changed';

open my $fh, '>', "$root/conf/nginx.conf" or die $!;
print $fh map { 'load_module ' . abs_path($_) . ";\n" } @modules;
print $fh <<"_EOC_";
worker_processes  2;
daemon            on;
master_process    on;
error_log         logs/error.log $level;
pid               logs/nginx.pid;

events {
    worker_connections  64;
}

http {
    access_log  off;

    mcp_store  $root/data;

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

sub master_pid {
    open my $fh, '<', "$root/logs/nginx.pid" or return undef;
    my $pid = <$fh>;
    chomp $pid;
    return $pid;
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

END { stop() }

system($nginx, '-p', "$root/", '-c', 'conf/nginx.conf') == 0
    or BAIL_OUT("nginx did not start");

for (1 .. 100) {
    last if $http->get("$base/")->{status} != 599;
    sleep 0.05;
}

sub workers_seen {
    my %pids;

    for (1 .. 200) {
        my $pid = $http->get("$base/nope")->{headers}{'x-worker-pid'};
        $pids{$pid}++ if defined $pid;
        last if keys %pids >= 2;
    }

    return sort keys %pids;
}

sub mcp {
    my ($sid, $body) = @_;

    return $http->post("$base/mcp", {
        headers => {
            'Content-Type' => 'application/json',
            'Accept' => 'application/json, text/event-stream',
            $sid ? ('Mcp-Session-Id' => $sid) : (),
        },
        content => $body,
    });
}

sub session {
    my $res = mcp(undef, '{"jsonrpc": "2.0", "id": 1, "method": '
                         . '"initialize", "params": {"protocolVersion": '
                         . '"2025-11-25", "capabilities": {}, '
                         . '"clientInfo": {"name": "t", "version": "1"}}}');
    my $sid = $res->{headers}{'mcp-session-id'} // '';
    mcp($sid, '{"jsonrpc": "2.0", "method": "notifications/initialized"}');
    return $sid;
}

# a JSON-RPC request of the session, its answer
sub rpc {
    my ($sid, $method, $params) = @_;
    my $res = mcp($sid, qq({"jsonrpc": "2.0", "id": 7, "method": )
                        . qq("$method", "params": $params}));
    return $res->{content} // '';
}

# reads from $s into $$buf until $done->($$buf) or 5 s pass
sub read_until {
    my ($s, $buf, $done) = @_;
    my $sel = IO::Select->new($s);
    my $end = time + 5;

    until ($done->($$buf)) {
        my $left = $end - time;
        return 0 if $left <= 0 || !$sel->can_read($left);
        sysread($s, $$buf, 65536, length $$buf) or return 0;
    }

    return 1;
}

# the session's GET stream, on a connection to worker $pid (chosen by a
# request before the stream's), called $name
sub open_stream {
    my ($sid, $pid, $name) = @_;

    for (1 .. 200) {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                      Proto => 'tcp', Timeout => 5)
            or die "connect: $!";
        my $buf = '';

        syswrite $s, "GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        read_until($s, \$buf, sub {
            my ($head, $body) = split /\r\n\r\n/, $_[0], 2;
            my ($len) = $head =~ /^Content-Length: (\d+)/mi;
            return defined $body && length($body) >= ($len // 0);
        }) or die "no answer to GET /nope";

        if ($buf !~ /^X-Worker-Pid: \Q$pid\E\r$/m) {
            close $s;
            next;
        }

        $buf = '';
        syswrite $s, "GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     . "Accept: text/event-stream\r\n"
                     . "Mcp-Session-Id: $sid\r\nConnection: close\r\n\r\n";
        read_until($s, \$buf, sub { $_[0] =~ /\r\n\r\n/ })
            or die "no answer to GET /mcp";
        my ($head, $rest) = split /\r\n\r\n/, $buf, 2;

        return { sock => $s, head => $head, buf => $rest, heard => 0,
                 name => $name };
    }

    die "no connection reached worker $pid";
}

# what came on the stream within $wait seconds (less once $want
# list_changed came, and 0.2 s more for any beyond): the count heard,
# and whether the server closed it
sub listen_for {
    my ($st, $want, $wait) = @_;
    my $sel = IO::Select->new($st->{sock});
    my $end = time + $wait;
    my $eof = 0;

    for ( ;; ) {
        if (defined $want && $st->{heard} >= $want) {
            $end = time + 0.2;
            undef $want;
        }

        my $left = $end - time;
        last if $left <= 0;
        next unless $sel->can_read($left);

        if (!sysread($st->{sock}, $st->{buf}, 65536, length $st->{buf})) {
            $eof = 1;
            last;
        }

        $st->{heard} = () = $st->{buf} =~ /\Q$changed\E/g;
    }

    return ($st->{heard}, $eof);
}

# the count of GET streams each creation since the mark saw, from the
# debug log: "none" where the creation walked nothing
my $mark = 0;

sub counts_seen {
    open my $log, '<', "$root/logs/error.log" or return ();
    seek $log, $mark, 0;
    my @seen;

    while (my $line = <$log>) {
        push @seen, 'none'
            if $line =~ m{mcp: resources/list_changed: no session listens};
        push @seen, $1
            if $line =~ m{mcp: resources/list_changed: (\d+) GET streams};
    }

    $mark = tell $log;
    return @seen;
}

sub counts_are {
    my ($want, $name) = @_;

    SKIP: {
        skip 'nginx is not built --with-debug', 1 unless $debug;
        is(join(',', counts_seen()), $want, $name);
    }
}

# links created through worker $pid, each answered 201
my $links = 0;

sub create_on {
    my ($pid, $n) = @_;
    my $made = 0;

    for (1 .. 200) {
        last if $made == $n;

        $links++;
        my $res = $http->post("$base/shorten", {
            headers => { 'Content-Type' => 'application/json' },
            content => qq({"url": "https://example.com/$links"}),
        });

        $res->{status} == 201
            or die "POST /shorten: $res->{status} $res->{content}";
        $made++ if $res->{headers}{'x-worker-pid'} eq $pid;
    }

    return $made;
}

my ($w1, $w2);

# links created through worker 1, then through worker 2 (and through
# either on the way): every stream of @streams hears of each, and each
# creation saw $claimed GET streams claimed
sub all_hear {
    my ($claimed, $name, @streams) = @_;
    my @before = map { $_->{heard} } @streams;

    counts_seen();
    my $first = $links;
    is(create_on($w1, 1) + create_on($w2, 1), 2,
       "$name: links created through both workers");
    my $n = $links - $first;

    for my $i (0 .. $#streams) {
        my ($heard) = listen_for($streams[$i], $before[$i] + $n, 3);
        is($heard - $before[$i], $n,
           "$name: $streams[$i]{name} heard of all $n");
    }

    counts_are(join(',', ($claimed) x $n),
               "$name: $claimed GET streams claimed");
}

# the stream ends from the server's side
sub ends {
    my ($st, $name) = @_;
    my (undef, $eof) = listen_for($st, undef, 10);
    ok($eof, "$st->{name}'s stream ended: $name");
}

($w1, $w2) = workers_seen();
ok($w1 && $w2, 'two workers serve this port');

# 1. nothing listens: creations walk no session

my $res = $http->post("$base/shorten", {
    headers => { 'Content-Type' => 'application/json' },
    content => '{"url": "https://example.com/first"}',
});
is($res->{status}, 201, 'POST /shorten with no session listening: 201');
counts_are('none', 'no session listens: nothing walked');

my $idle = session();
like($idle, qr/^[0-9A-Za-z]{32}$/, 'a session without a GET stream');
my ($code) = rpc($idle, 'tools/call', '{"name": "shorten_url", "arguments": '
                                      . '{"url": "https://example.com/tool"}}')
             =~ /"code":"([0-9A-Za-z]+)"/;
ok($code, 'shorten_url created one');
counts_are('none', 'a session without a stream does not listen');

like(rpc($idle, 'resources/subscribe', qq({"uri": "shorturl://$code"})),
     qr/"result":\{\}/, 'the session subscribes to that link');
$res = $http->post("$base/shorten", {
    headers => { 'Content-Type' => 'application/json' },
    content => '{"url": "https://example.com/second"}',
});
is($res->{status}, 201, 'POST /shorten: 201');
counts_are('none', 'a subscription without a GET stream does not listen');

# 2. a GET stream on each worker: both hear of every creation, through
#    either worker

my $sta = open_stream(session(), $w1, 'A');
like($sta->{head}, qr{^HTTP/1\.1 200.*text/event-stream}s,
     'session A: a GET stream on worker 1');
all_hear(1, 'A listens', $sta);

my $sb = session();
my $stb = open_stream($sb, $w2, 'B');
like($stb->{head}, qr{^HTTP/1\.1 200}, 'session B: a GET stream on worker 2');
all_hear(2, 'A and B listen', $sta, $stb);

# 3. A's client goes: the count goes down, B still hears

close $sta->{sock};
sleep 0.5;
all_hear(1, 'A closed', $stb);

# 4. B's session ends (DELETE, through either worker): its stream ends,
#    creating still works, no stream is counted (the sessions seen
#    within the window are walked still)

$res = $http->request('DELETE', "$base/mcp", {
    headers => { 'Mcp-Session-Id' => $sb } });
is($res->{status}, 200, 'DELETE ends session B');
ends($stb, 'its session was deleted');
all_hear(0, 'B deleted');

# 5. a new session listens on worker 2 now: the count goes up again

my $sc = session();
my $stc = open_stream($sc, $w2, 'C');
like($stc->{head}, qr{^HTTP/1\.1 200}, 'session C: a GET stream on worker 2');
all_hear(1, 'C listens', $stc);

# 6. C's worker dies with the stream claimed: the claim stays counted
#    (the session still hears, as before), the new stream takes it over
#    without counting it twice, and its end counts it out

kill 'KILL', $w2;
ends($stc, 'its worker died');

my @now;
for (1 .. 100) {
    @now = workers_seen();
    last if @now == 2 && !grep { $_ eq $w2 } @now;
    sleep 0.1;
}
($w2) = grep { $_ ne $w1 } @now;
ok($w2, 'the master started another worker');
all_hear(1, "the dead worker's claim");

$stc = open_stream($sc, $w1, 'C');
like($stc->{head}, qr{^HTTP/1\.1 200},
     "session C again, on worker 1: the dead worker's claim taken over");
all_hear(1, 'C taken over', $stc);

close $stc->{sock};
sleep 0.5;
all_hear(0, 'C closed');

# 7. a reload keeps the zone: the old workers end their streams before
#    they exit, which counts them out; a stream on a new worker is
#    counted in

my $sd = session();
my $std = open_stream($sd, $w1, 'D');
like($std->{head}, qr{^HTTP/1\.1 200}, 'session D: a GET stream');

kill 'HUP', master_pid();
ends($std, "its worker's graceful exit");
like($std->{buf}, qr/\r\n0\r\n\r\n\z/,
     'ended by the worker (the last chunk), not cut by its exit');

my %old = map { $_ => 1 } $w1, $w2;
for (1 .. 100) {
    @now = workers_seen();
    last if @now == 2 && !grep { $old{$_} } @now;
    sleep 0.1;
}
ok(@now == 2 && !grep({ $old{$_} } @now), 'reload started new workers');
($w1, $w2) = @now;
all_hear(0, 'reloaded');

$std = open_stream($sd, $w2, 'D');
like($std->{head}, qr{^HTTP/1\.1 200}, 'session D again, on a new worker');
all_hear(1, 'D listens after the reload', $std);

close $std->{sock};

# 8. resources/updated: subscriptions are found by resource, among many
#    (the same resource's on both workers, others' on none)

sub alias {
    my ($alias) = @_;
    return $http->post("$base/shorten", {
        headers => { 'Content-Type' => 'application/json' },
        content => qq({"url": "https://example.com/$alias", )
                   . qq("alias": "$alias"}),
    })->{status};
}

my $subscribed = 0;

for my $i (1 .. 40) {
    alias("other$i") == 201 or last;
    $subscribed++ if rpc(session(), 'resources/subscribe',
                         qq({"uri": "shorturl://other$i"}))
                     =~ /"result":\{\}/;
}
is($subscribed, 40, '40 sessions subscribed to a link each');
is(alias('shared'), 201, 'the link "shared"');

my @subs;
for my $w ($w1, $w2, $w1) {
    my $sid = session();
    like(rpc($sid, 'resources/subscribe', '{"uri": "shorturl://shared"}'),
         qr/"result":\{\}/, 'a session subscribed to shorturl://shared');
    push @subs, open_stream($sid, $w, 'S' . (@subs + 1));
    $subs[-1]{sid} = $sid;
    $subs[-1]{updates} = 0;
}

# a change of "shared" through $change (a creation or a deletion, which
# every listening stream hears of): every stream of @$to hears of it once
# more, those of @$not not, and no stream of any other link's
sub updated {
    my ($name, $change, $to, $not) = @_;
    my @before = map { $_->{heard} } @$to;

    $_->{updates}++ for @$to;
    ok($change->(), "$name: the change is made");

    for my $i (0 .. $#$to) {
        listen_for($to->[$i], $before[$i] + 1, 3);
    }

    listen_for($_, undef, 0.3) for @$not;

    for my $st (@$to, @$not) {
        my $any = () = $st->{buf} =~ m{resources/updated","params":\{"uri"}g;
        my $shared = () = $st->{buf}
            =~ m{resources/updated","params":\{"uri":"shorturl://shared"\}}g;
        is("$any $shared", "$st->{updates} $st->{updates}",
           "$name: $st->{name} heard of $st->{updates} changes of "
           . "shorturl://shared, of no other link");
    }
}

my $deleter = session();
updated('deleted', sub {
    rpc($deleter, 'tools/call', '{"name": "delete_url", "arguments": '
                                . '{"code": "shared"}}') !~ /"isError":true/
}, [@subs], []);

like(rpc($subs[1]{sid}, 'resources/unsubscribe',
         '{"uri": "shorturl://shared"}'),
     qr/"result":\{\}/, 'S2 unsubscribes');
updated('created again', sub { alias('shared') == 201 },
        [$subs[0], $subs[2]], [$subs[1]]);

$res = $http->request('DELETE', "$base/mcp", {
    headers => { 'Mcp-Session-Id' => $subs[2]{sid} } });
is($res->{status}, 200, "DELETE ends S3's session, its subscription too");
ends($subs[2], 'its session was deleted');
updated('deleted again', sub {
    rpc($deleter, 'tools/call', '{"name": "delete_url", "arguments": '
                                . '{"code": "shared"}}') !~ /"isError":true/
}, [$subs[0]], [$subs[1]]);

close $_->{sock} for @subs;

done_testing();
