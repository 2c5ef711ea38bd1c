#!/usr/bin/env perl
# Cluster numbers (bench/cluster.sh, "make bench-cluster"): replication
# lag, and shorten and redirect throughput of one node in a three-node
# cluster (three NATS servers, stream replicated three times) against
# the same node alone.  Everything on 127.0.0.1, on this machine's cores.
#
# Writes the report to BENCH_CLUSTER_RESULTS (default
# bench/RESULTS-cluster.md); raw wrk lines to build/bench-cluster/.

use strict;
use warnings;

use File::Path qw(make_path);
use HTTP::Tiny;
use POSIX qw(strftime);
use Time::HiRes qw(time sleep);

use NgxMcp::Cluster;


my $runs = $ENV{BENCH_RUNS} || 3;
my $secs = $ENV{BENCH_SECS} || 4;
my $conns = $ENV{BENCH_CONNS} || 8;
my $many = $ENV{BENCH_MANY_CONNS} || 64;
my $samples = $ENV{BENCH_LAG_SAMPLES} || 300;
my $results = $ENV{BENCH_CLUSTER_RESULTS} || 'bench/RESULTS-cluster.md';
my $raw = 'build/bench-cluster';

make_path($raw);

sub say { print "bench-cluster: @_\n" }

sub median {
    my @v = sort { $a <=> $b } @_;
    return $v[$#v / 2];
}

sub pct {
    my ($p, @v) = @_;
    @v = sort { $a <=> $b } @v;
    return $v[int($p / 100 * $#v + 0.5)];
}


# one wrk run against node i: requests per second, and p99 in ms; with
# $conns connections, or n for a name ending in "(n connections)"
sub wrk {
    my ($c, $i, $name, @args) = @_;

    my $n = $name =~ /\((\d+) connections\)/ ? $1 : $conns;
    my $url = 'http://127.0.0.1:' . $c->node_port($i);
    my @cmd = ('wrk', '-t1', "-c$n", "-d${secs}s", '--latency', @args);
    s/\@URL\@/$url/ for @cmd;

    my $out = `@cmd 2>&1`;

    open my $f, '>>', "$raw/wrk.txt";
    print $f "== $name: @cmd\n$out\n";
    close $f;

    $out =~ /RESULT requests=(\d+) seconds=([\d.]+) p50_us=(\d+) p99_us=(\d+) errors=(\d+) non2xx3xx=(\d+)/
        or die "wrk gave no result for $name:\n$out";

    die "bench-cluster: $name: $5 errors, $6 non-2xx/3xx answers\n"
        if $5 || $6;

    return ($1 / $2, $4 / 1000);
}


# 1000 links on node i, their codes in a file for paths.lua
sub seed {
    my ($c, $i, $file) = @_;

    open my $f, '>', $file or die "$file: $!";

    for my $j (1 .. 1000) {
        my ($status, $json) = $c->shorten_retry($i,
                                  { url => "https://seed.example/$j" }, 10);
        die "seeding: $status" unless $status == 201;
        print $f "$json->{code}\n";
    }

    close $f;
}


my %r;

# Both set-ups run at once, and every scenario alternates between them
# (alone, cluster, alone, cluster, ...): whatever else the machine does
# weighs on both alike.

my $single = NgxMcp::Cluster->new(name => 'bench-single', nats => 1,
                                  workers => 1, port_offset => 50,
                                  store_args => ' map_size=2g');

$single->node_start(1, no_cluster => 1);
NgxMcp::Cluster::wait_port($single->node_port(1), 10);

my $c = NgxMcp::Cluster->new(name => 'bench-cluster', nats => 3,
                             workers => 1, store_args => ' map_size=2g');

$c->nats_start_all;
$c->node_start($_) for 1 .. 3;

for my $i (1 .. 3) {
    defined $c->wait_writable($i, 30) or die "node $i takes no writes";
}

seed($single, 1, "$raw/codes-single.txt");
seed($c, 1, "$raw/codes-cluster.txt");


# lag: a link made on node 1, polled on node 2 until it redirects
{
    my @lag;
    my $http = HTTP::Tiny->new(keep_alive => 1, max_redirect => 0);
    my $u2 = 'http://127.0.0.1:' . $c->node_port(2);

    for my $j (1 .. $samples) {
        my ($status, $json) = $c->shorten(1, { url => "https://lag.example/$j" });
        die "lag sample: $status" unless $status == 201;

        my $t0 = time;
        my $code = $json->{code};

        until ($http->get("$u2/$code")->{status} == 302) {
            die "no replication in 5 s" if time - $t0 > 5;
        }

        push @lag, (time - $t0) * 1000;
    }

    $r{lag_p50} = pct(50, @lag);
    $r{lag_p99} = pct(99, @lag);
    $r{lag_max} = pct(100, @lag);

    say sprintf 'replication lag node 1 -> node 2: p50 %.2f ms, p99 %.2f ms '
                . '(%d samples)', $r{lag_p50}, $r{lag_p99}, $samples;
}


# medians of alternating runs: (alone rps, p99, cluster rps, p99)
sub ab {
    my ($name, @args) = @_;

    my (%rps, %p99);
    my %set = (alone => $single, cluster => $c);

    for my $t (qw(alone cluster)) {
        my @a = @args;
        s/\@CODES\@/$raw\/codes-$t.txt/ for @a;
        s/codes-alone/codes-single/ for @a;
        wrk($set{$t}, 1, "$name, $t, warm-up", @a);
    }

    for (1 .. $runs) {
        for my $t (qw(alone cluster)) {
            my @a = @args;
            s/\@CODES\@/$raw\/codes-$t.txt/ for @a;
            s/codes-alone/codes-single/ for @a;
            my ($rr, $p) = wrk($set{$t}, 1, "$name, $t", @a);
            push @{ $rps{$t} }, $rr;
            push @{ $p99{$t} }, $p;
        }
    }

    my @m = (median(@{ $rps{alone} }), median(@{ $p99{alone} }),
             median(@{ $rps{cluster} }), median(@{ $p99{cluster} }));

    say sprintf '%s: alone %.0f req/s (p99 %.2f ms), in the cluster %.0f '
                . 'req/s (p99 %.2f ms)', $name, @m;

    return @m;
}


# redirects first: after a write load the NATS servers go on for a while
# (JetStream snapshots and compacts its log), on the same cores

@r{qw(single_hit single_hit_p99 cluster_hit cluster_hit_p99)}
    = ab('redirect', '-s', 'bench/wrk/paths.lua', '@URL@', '--', '@CODES@',
         '/');

@r{qw(single_shorten single_shorten_p99 cluster_shorten cluster_shorten_p99)}
    = ab('shorten', '-s', 'bench/wrk/shorten.lua', '@URL@/shorten');

@r{qw(single_many single_many_p99 cluster_many cluster_many_p99)}
    = ab("shorten ($many connections)", '-s', 'bench/wrk/shorten.lua',
         '@URL@/shorten');


# every node applied every write of the load
{
    my $ok = NgxMcp::Cluster::wait_for(30, sub {
        my $a = $c->store_applied(1);
        return $a && $a == ($c->store_applied(2) // 0)
               && $a == ($c->store_applied(3) // 0);
    }, 0.2);

    $r{converged} = defined $ok ? sprintf('%.1f s', $ok) : 'no (30 s)';
    $r{applied} = $c->store_applied(1);
}

$c->stop_all;
$single->stop_all;


# -- the report --------------------------------------------------------

my $cpu = `grep -m1 'model name' /proc/cpuinfo`;
$cpu =~ s/.*:\s*//;
chomp $cpu;

my $nats = `nats-server --version 2>&1`;
chomp $nats;

my $cores = `nproc`;
chomp $cores;

open my $f, '>', $results or die "$results: $!";

printf $f <<'END',
# Cluster benchmarks

`make bench-cluster` (bench/cluster.sh), %s, on %s (%d cores), %s.

One node with one worker, first alone (no `mcp_cluster`), then as node 1
of three nginx nodes on a JetStream cluster of three NATS servers
(stream replicated three times), all on 127.0.0.1 and sharing the
machine's cores with the load generator (wrk, %d connections unless
said, %d runs of %d s after a warm-up, alone and in the cluster in
turn; medians).  Both set-ups run all along; the other two nodes apply
every write the load makes, on the same cores.

A write in the cluster is answered once the stream has it on two of
three servers and this node has applied it: with few connections the
throughput is bound by that round trip, not by the CPU; writes that
arrive together share one stream entry (a batch), so throughput grows
with concurrency.

| scenario | alone | in the cluster | ratio | target |
|---|---|---|---|---|
| POST /shorten, %d connections, req/s | %.0f | %.0f | %.2f | >= 0.5 |
| POST /shorten, %d connections, p99 ms | %.2f | %.2f | | |
| POST /shorten, %d connections, req/s | %.0f | %.0f | %.2f | >= 0.5 |
| POST /shorten, %d connections, p99 ms | %.2f | %.2f | | |
| GET /{code} (redirect), req/s | %.0f | %.0f | %.2f | >= 0.95 |
| GET /{code}, p99 ms | %.2f | %.2f | | |

Replication lag (a link made on node 1 until node 2 redirects it, %d
samples, one at a time): p50 %.2f ms, p99 %.2f ms, max %.2f ms (target
p99 < 50 ms).

After the load the three stores had applied the same %s operations
(within %s).

Raw wrk output: build/bench-cluster/wrk.txt.
END
    strftime('%Y-%m-%d', gmtime), $cpu, $cores, $nats,
    $conns, $runs, $secs,
    $conns, $r{single_shorten}, $r{cluster_shorten},
    $r{cluster_shorten} / $r{single_shorten},
    $conns, $r{single_shorten_p99}, $r{cluster_shorten_p99},
    $many, $r{single_many}, $r{cluster_many},
    $r{cluster_many} / $r{single_many},
    $many, $r{single_many_p99}, $r{cluster_many_p99},
    $r{single_hit}, $r{cluster_hit}, $r{cluster_hit} / $r{single_hit},
    $r{single_hit_p99}, $r{cluster_hit_p99},
    $samples, $r{lag_p50}, $r{lag_p99}, $r{lag_max},
    $r{applied} // '?', $r{converged};

close $f;

say "report: $results";
