# vim:set ft= ts=4 sw=4 et fdm=marker:

# Several worker processes on one store: a link created through one worker
# redirects through another at once; batched visit counters reach the
# store on their timer and on graceful exit; links survive "nginx -s
# reload" and a full restart.
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
    my ($flush) = @_;

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

    mcp_store  $data  durability=sync;
    mcp_visit_flush_interval  $flush;

    server {
        listen  127.0.0.1:$port reuseport;

        add_header  X-Worker-Pid  \$pid  always;

        location = /shorten { mcp_shorten; }
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

# 3. visit counters: batched per worker, all reach the store on the timer

shorten('counted', 'https://example.com/counted');
my $before = visits('counted');
is($before, 0, 'a new link has no visits');

$http->get("$base/counted") for 1 .. 20;

my $deadline = time + 5;
sleep 0.1 while visits('counted') < 20 && time < $deadline;
is(visits('counted'), 20, 'visits from both workers are all counted');

# 4. reload: new workers, same links, no lost counts

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

# 5. graceful shutdown flushes the batch (the timer is a minute away now)

$http->get("$base/counted") for 1 .. 5;
is(visits('counted'), 20, 'counts wait for the flush timer');
stop();
is(visits('counted'), 25, 'graceful shutdown flushed the counts');

# 6. a full restart keeps everything

start();
my $res = $http->get("$base/w1");
is($res->{status}, 302, 'w1 redirects after a restart');
is($res->{headers}{location}, 'https://example.com/1', 'to its target');
stop();

# 7. nothing went wrong on the way

open my $log, '<', "$root/logs/error.log" or die $!;
my @bad = grep { /\[(error|crit|alert|emerg)\]/ } <$log>;
is(scalar @bad, 0, 'no errors in the error log') or diag(@bad);

done_testing();
