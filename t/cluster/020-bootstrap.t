# A cluster on one NATS server (stream replicas=1) whose stream keeps only
# the last operations (max_msgs): a new node cannot replay what is gone,
# says so, and starts from a copy of another node's store instead.
# Run by scripts/test-cluster.sh (make test-cluster).

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time sleep);

use NgxMcp::Cluster;


my $c = NgxMcp::Cluster->new(name => 'bootstrap', nats => 1, workers => 1);

my %limited = (cluster_args => ' max_msgs=50');

$c->nats_start_all;
$c->node_start(1, %limited);

ok(defined $c->wait_writable(1, 30), 'node 1 takes writes on one NATS server');


sub same_links {
    my ($timeout, @nodes) = @_;

    return NgxMcp::Cluster::wait_for($timeout, sub {
        my $first = $c->store_dump($nodes[0]);
        my $other = $c->store_dump($nodes[1]);
        return defined $first && defined $other && $first eq $other;
    }, 0.1);
}


my $written = 0;
for my $j (1 .. 100) {
    my ($status) = $c->shorten(1, { url => "https://old.example/$j" });
    $written++ if $status == 201;
}

is($written, 100, '100 links: more than the stream keeps');


# -- an empty node cannot replay operations the stream let go ----------

$c->node_start(2, %limited);

my $log = $c->node_dir(2) . '/logs/error.log';

ok(defined NgxMcp::Cluster::wait_for(10, sub {
    open my $f, '<', $log or return 0;
    return grep { /seed this node from a copy of another node's store/ } <$f>;
}), 'a new empty node says to seed it from a copy');

my ($status, $json) = $c->shorten(2, { url => 'https://refused.example/' });
is($status, 503, 'and answers writes 503 meanwhile');

my @links = $c->store_list(2);
is(scalar @links, 0, 'having applied nothing');

$c->node_stop(2);


# -- seeded from a copy of node 1, it converges ------------------------

my $dir = $c->store_dir(2);
system("rm -rf $dir && mkdir -p $dir") == 0 or die "reset $dir";

my $cli = $ENV{MCP_STORE_CLI} || 'build/store/mcp-store';
is(system($cli, 'copy', $c->store_dir(1), $dir), 0,
   'mcp-store copy of node 1, running');

($status) = $c->shorten(1, { url => 'https://after-copy.example/',
                             alias => 'after-copy' });
is($status, 201, 'a link written after the copy');

$c->node_start(2, %limited);

ok(defined $c->wait_writable(2, 30), 'the seeded node takes writes');
ok(same_links(10, 1, 2), 'and has every link of node 1');

my ($s, $location) = $c->visit(2, 'after-copy');
is($location, 'https://after-copy.example/',
   'including the one written after the copy');

# the visit just made is flushed into the log too: the two nodes reach the
# same sequence once both have applied it
ok(defined NgxMcp::Cluster::wait_for(5, sub {
       $c->store_applied(2) == $c->store_applied(1)
   }), 'at the same sequence');


# -- a restarted NATS server: the nodes reconnect by themselves --------

$c->nats_stop(1, 'TERM');

($status) = $c->shorten(2, { url => 'https://down.example/' });
is($status, 503, 'NATS stopped: 503');

$c->nats_start(1);

ok(defined $c->wait_writable(1, 30) && defined $c->wait_writable(2, 30),
   'NATS started again: both nodes take writes');
ok(same_links(10, 1, 2), 'and agree');

$c->stop_all;

done_testing();
