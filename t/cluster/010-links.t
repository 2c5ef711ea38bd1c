# Links in a cluster: three NATS servers (one JetStream cluster, stream
# replicated three times) and three nginx nodes, each with its own store,
# all on 127.0.0.1.  Run by scripts/test-cluster.sh (make test-cluster).

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time sleep);
use HTTP::Tiny;

use NgxMcp::Cluster;


my $c = NgxMcp::Cluster->new(name => 'links', nats => 3,
                             server_extra => "        location /api/ "
                                             . "{ mcp_admin; }\n");

$c->nats_start_all;
$c->node_start($_) for 1 .. 3;

for my $i (1 .. 3) {
    ok(defined $c->wait_writable($i, 30), "node $i takes writes")
        or BAIL_OUT("node $i never took a write");
}


# a node's links once it has applied everything the others have
sub converged {
    my ($timeout, @nodes) = @_;

    return NgxMcp::Cluster::wait_for($timeout, sub {
        my $first = $c->store_dump($nodes[0]);
        return 0 unless defined $first;
        for my $i (@nodes[1 .. $#nodes]) {
            my $d = $c->store_dump($i);
            return 0 unless defined $d && $d eq $first;
        }
        return 1;
    }, 0.1);
}


# -- a link made on one node redirects on the others -------------------

{
    my ($status, $json) = $c->shorten(1, { url => 'https://example.com/one' });
    is($status, 201, 'a link made on node 1');

    my $code = $json->{code};
    my @lag;

    for my $i (2, 3) {
        my $lag = NgxMcp::Cluster::wait_for(5, sub {
            my ($s) = $c->visit($i, $code);
            return $s == 302;
        }, 0.002);

        ok(defined $lag, "redirects on node $i");
        push @lag, $lag // 5;

        my ($s, $location) = $c->visit($i, $code);
        is($location, 'https://example.com/one', "to the same URL on $i");
    }

    diag(sprintf 'replication lag to nodes 2 and 3: %.1f ms, %.1f ms',
         map { $_ * 1000 } @lag);

    my ($s, $location) = $c->visit(1, $code);
    is($s, 302, 'and on the node that took it, at once');
}


# -- one alias sent to all three nodes at once: one 201 ----------------

{
    my @got = NgxMcp::Cluster::parallel(3, 3, sub {
        my ($j) = @_;
        my ($status) = $c->shorten($j + 1, { url => "https://winner.example/$j",
                                            alias => 'contested' });
        return $status;
    });

    is(scalar(grep { $_ == 201 } @got), 1, 'exactly one node answers 201');
    is(scalar(grep { $_ == 409 } @got), 2, 'the two others 409');

    my $winner = (grep { $got[$_] == 201 } 0 .. 2)[0] // 0;

    ok(converged(5, 1, 2, 3), 'the stores agree');

    for my $i (1 .. 3) {
        my ($s, $location) = $c->visit($i, 'contested');
        is($location, "https://winner.example/$winner",
           "node $i redirects to the winner's URL");
    }
}


# -- 600 concurrent random shortens over the three nodes ---------------

{
    my $start = time;

    my @got = NgxMcp::Cluster::parallel(600, 24, sub {
        my ($j) = @_;
        my ($status, $json) = $c->shorten(1 + $j % 3,
                                          { url => "https://many.example/$j" });
        return $status == 201 ? $json->{code} : "status $status";
    });

    my $took = time - $start;
    my %codes = map { $_ => 1 } grep { !/^status/ } @got;

    is(scalar(grep { !/^status/ } @got), 600, '600 shortens answer 201')
        or diag(join ', ', grep { /^status/ } @got);
    is(scalar(keys %codes), 600, 'with 600 distinct codes');

    diag(sprintf '600 shortens in %.2f s (%.0f/s) over three nodes', $took,
         600 / $took);

    ok(converged(10, 1, 2, 3), 'every store has the same links');

    my %list = map { split /\t/, $_, 2 } $c->store_list(3);
    is(scalar(grep { defined $list{$got[$_]}
                     && $list{$got[$_]} eq "https://many.example/$_" }
              0 .. 599),
       600, 'each code leads to its URL on node 3');

    my $bad = 0;
    for my $j (0 .. 29) {
        my $i = 1 + ($j + 1) % 3;
        my ($s, $location) = $c->visit($i, $got[$j]);
        $bad++ unless $location eq "https://many.example/$j";
    }
    is($bad, 0, 'and they redirect on nodes other than the one that took them');
}


# -- MCP sessions: started on one node, served by every node -----------

{
    my $session = $c->mcp_session(1);
    ok(defined $session, 'a session started on node 1');

    my ($status, $json) = $c->mcp_post(1, $session, {
        jsonrpc => '2.0', id => 5, method => 'tools/list' });
    is($status, 200, 'node 1 serves it at once');

    ok(defined NgxMcp::Cluster::wait_for(5, sub {
        ($status) = $c->mcp_post(3, $session, {
            jsonrpc => '2.0', id => 5, method => 'tools/list' });
        return $status == 200;
    }, 0.01), 'node 3 serves it once it has it (a replication lag)');

    ($status, $json) = $c->mcp_post(2, $session, {
        jsonrpc => '2.0', id => 6, method => 'logging/setLevel',
        params => { level => 'error' } });
    ok($status == 200 && $json->{result}, 'node 2 sets its logging level');

    ok(defined NgxMcp::Cluster::wait_for(5, sub {
        my $one = $c->store_sessions(1);
        return $one && $one =~ /\Q$session\E/
               && $one eq ($c->store_sessions(2) // '')
               && $one eq ($c->store_sessions(3) // '');
    }, 0.1), 'every node has the same sessions');

    is($c->mcp_end(3, $session), 200, 'DELETE /mcp on node 3 ends it');

    ($status) = $c->mcp_post(3, $session, {
        jsonrpc => '2.0', id => 7, method => 'tools/list' });
    is($status, 404, 'node 3 no longer knows it');

    ok(defined NgxMcp::Cluster::wait_for(5, sub {
        my ($s) = $c->mcp_post(1, $session, {
            jsonrpc => '2.0', id => 8, method => 'ping' });
        return $s == 404;
    }, 0.05), 'nor, at once, does node 1, which started it');
}


# -- the link tools: shorten_url and delete_url through the log --------

{
    my @session = (undef, map { $c->mcp_session($_) } 1 .. 3);
    ok(defined $session[1] && defined $session[3], 'MCP sessions on nodes');

    my $r = $c->mcp_tool(1, $session[1], 'shorten_url',
                         { url => 'https://tool.example/', alias => 'tooled' });
    is($r && $r->{structuredContent}{code}, 'tooled',
       'shorten_url on node 1 answers with the alias');

    my ($s, $location) = $c->visit(1, 'tooled');
    is($location, 'https://tool.example/', 'which redirects there at once');

    ok(converged(5, 1, 2, 3), 'the stores agree');

    $r = $c->mcp_tool(3, $session[3], 'shorten_url',
                      { url => 'https://late.example/', alias => 'tooled' });
    ok($r && $r->{isError} && $r->{content}[0]{text} =~ /alias_taken/,
       'the same alias on node 3 is a tool error: alias_taken');

    $r = $c->mcp_tool(2, $session[2], 'delete_url', { code => 'tooled' });
    ok($r && !$r->{isError} && $r->{structuredContent}{deleted},
       'delete_url on node 2');

    ($s) = $c->visit(2, 'tooled');
    is($s, 404, 'the link is gone on node 2 at once');

    ok(converged(5, 1, 2, 3), 'and on the others');
    ($s) = $c->visit(1, 'tooled');
    is($s, 404, 'node 1 answers 404');

    $r = $c->mcp_tool(3, $session[3], 'delete_url', { code => 'tooled' });
    ok($r && $r->{isError} && $r->{content}[0]{text} =~ /not found/,
       'deleting it again on node 3: not found');
}


# -- max_visits holds across nodes; visit counts add up ----------------

{
    my ($status, $json) = $c->shorten(2, { url => 'https://thrice.example/',
                                          max_visits => 3 });
    my $code = $json->{code};

    ok(converged(5, 1, 2, 3), 'a max_visits 3 link is everywhere');

    my @seen;
    for my $i (1, 2, 3, 1, 2) {
        my ($s) = $c->visit($i, $code);
        push @seen, $s;
    }

    is(join(' ', @seen), '302 302 302 410 410',
       'three visits over three nodes, then 410 on every node');

    ($status, $json) = $c->shorten(3, { url => 'https://counted.example/' });
    $code = $json->{code};

    ok(converged(5, 1, 2, 3), 'a counted link is everywhere');

    $c->visit(1, $code) for 1 .. 5;
    $c->visit(2, $code) for 1 .. 7;

    ok(defined NgxMcp::Cluster::wait_for(5, sub {
        my $l = $c->store_get(3, $code);
        return $l && $l->{visits} == 12;
    }, 0.1), 'visits on nodes 1 and 2 add up to 12 on node 3');

    ok(converged(5, 1, 2, 3), 'and the counts agree on every node');
}


# -- a link's tags and status go with it; its statistics add up --------

{
    my ($status, $json) = $c->shorten(3, { url => 'https://stats.example/',
                                          tags => ['c'],
                                          redirect_status => 308 });
    my $code = $json->{code};

    ok(converged(5, 1, 2, 3), 'a link with tags and a status is everywhere');

    my $http = HTTP::Tiny->new(timeout => 10, max_redirect => 0);
    my @seen;

    for my $v ([1, 'https://a.example/x', 'Mozilla/5.0'],
               [2, 'https://a.example/y', 'Mozilla/5.0'],
               [2, undef, 'Mozilla/5.0'],
               [1, undef, 'Twitterbot/1.0'],
               [2, undef, 'Googlebot/2.1'])
    {
        my ($i, $referer, $agent) = @$v;
        my %h = ('User-Agent' => $agent);
        $h{Referer} = $referer if defined $referer;

        push @seen, $http->get('http://127.0.0.1:' . $c->node_port($i)
                               . "/$code", { headers => \%h })->{status};
    }

    is(join(' ', @seen), '308 308 308 308 308',
       "the link's status on every node");

    my $got;
    ok(defined NgxMcp::Cluster::wait_for(5, sub {
        ($status, $got) = $c->request(3, 'GET', "/api/links/$code/visits");
        return $status == 200 && $got->{total} == 3 && $got->{bots} == 2;
    }, 0.1), 'people and bots of nodes 1 and 2 are counted on node 3');

    is_deeply($got->{referrers}, [{ host => 'a.example', visits => 2 },
                                  { host => 'direct', visits => 1 }],
              'with their referrers');
    is($got->{days}[-1]{visits}, 3, "and today's count");

    ($status, $json) = $c->request(1, 'GET', "/api/links?tag=c");
    is_deeply([map { $_->{code} } @{ $json->{links} }], [$code],
              'node 1 lists it by its tag');

    ($status, $json) = $c->request(1, 'PATCH', "/api/links/$code",
                                   { tags => ['d'], redirect_status => 307 });
    is($status, 200, 'a PATCH of its tags and status on node 1');

    ok(defined NgxMcp::Cluster::wait_for(5, sub {
        my $res = $http->get('http://127.0.0.1:' . $c->node_port(3)
                             . "/$code");
        return $res->{status} == 307;
    }, 0.05), 'node 3 answers with the new status');

    ($status, $json) = $c->request(2, 'GET', "/api/links?tag=d");
    is_deeply([map { $_->{code} } @{ $json->{links} }], [$code],
              'node 2 lists it by its new tag');

    # the PATCH's time travels with it: every node stores the same
    my @updated = map {
        my (undef, $l) = $c->request($_, 'GET', "/api/links/$code");
        $l->{updated_at} // 'none';
    } 1 .. 3;
    ok($updated[0] =~ /^20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ$/
       && $updated[1] eq $updated[0] && $updated[2] eq $updated[0],
       'every node shows the same updated_at') or diag("@updated");
}


# -- mcp_status shows the node's place in the cluster ------------------

{
    my $st;

    ok(defined NgxMcp::Cluster::wait_for(5, sub {
        (undef, $st) = $c->request(2, 'GET', '/status');
        return $st && $st->{cluster} && $st->{cluster}{lag} == 0;
    }, 0.1), 'node 2 has applied all it knows of the stream');

    ok($st->{cluster}{node} eq 'node2' && $st->{cluster}{connected}
       && $st->{cluster}{applied} > 600
       && $st->{cluster}{stream_last} == $st->{cluster}{applied},
       'its status names it, connected, with its applied sequence')
        or diag(explain($st->{cluster}));

    my ($s, undef, $res) = $c->request(3, 'GET', '/metrics');
    like($res->{content},
         qr/^mcp_cluster_connected\{node="node3"\} 1\n.*^mcp_cluster_applied_sequence\{node="node3"\} \d+\n.*^mcp_cluster_lag_operations\{node="node3"\} \d+$/ms,
         'and in the Prometheus format');
}


# -- one NATS server killed: writes go on, nothing acknowledged lost ---

{
    my @before = $c->store_list(1);

    $c->nats_stop(2, 'KILL');

    my $ok = 1;
    for my $i (1 .. 3) {
        $ok &&= defined $c->wait_writable($i, 15);
    }
    ok($ok, 'with one NATS server killed, every node takes writes');

    # a worker still reconnecting answers 503, "try again": clients do
    my @got = NgxMcp::Cluster::parallel(60, 6, sub {
        my ($j) = @_;
        my ($status, $json) = $c->shorten_retry(1 + $j % 3,
                                  { url => "https://survivor.example/$j" }, 10);
        return $status == 201 ? $json->{code} : '';
    });

    is(scalar(grep { $_ ne '' } @got), 60, '60 writes acknowledged');

    ok(converged(10, 1, 2, 3), 'the stores agree');

    my %list = map { split /\t/, $_, 2 } $c->store_list(2);
    is(scalar(grep { defined $list{$_} } @got), 60,
       'every acknowledged write is on every node');
    is(scalar(grep { my ($code) = split /\t/; defined $list{$code} } @before),
       scalar(@before), 'and so is everything written before');

    $c->nats_start(2);
}


# -- a node stopped misses 100 links and catches up on restart ---------

{
    $c->node_stop(3);

    my @got = NgxMcp::Cluster::parallel(100, 5, sub {
        my ($j) = @_;
        my ($status, $json) = $c->shorten_retry(1 + $j % 2,
                                  { url => "https://missed.example/$j" }, 10);
        return $status == 201 ? $json->{code} : '';
    });

    is(scalar(grep { $_ ne '' } @got), 100, '100 links written while node 3 '
       . 'is down');

    $c->node_start(3);

    ok(converged(15, 1, 2, 3), 'node 3 restarted has caught up');

    my %list = map { split /\t/, $_, 2 } $c->store_list(3);
    is(scalar(grep { defined $list{$_} } @got), 100, 'it has all 100');

    is($c->store_applied(3), $c->store_applied(1),
       'and has applied as far as node 1');
}


# -- a new node with an empty store converges by replaying the stream --

{
    $c->node_start(4);

    ok(defined $c->wait_writable(4, 30), 'a new node takes writes');
    ok(converged(20, 1, 2, 3, 4), 'and has every link of the others');
}


# -- kill -9 of an applying worker: nothing applied twice or skipped ---

{
    my ($status, $json) = $c->shorten(1, { url => 'https://busy.example/' });
    my $busy = $json->{code};

    ok(converged(5, 1, 2), 'a busy link is on node 2');

    my $pid = fork;
    die "fork: $!" unless defined $pid;

    if ($pid == 0) {
        # writes and visits on node 1 while node 2's workers die
        NgxMcp::Cluster::parallel(200, 4, sub {
            my ($j) = @_;
            $c->visit(1, $busy);
            my ($s) = $c->shorten(1, { url => "https://storm.example/$j" });
            return $s;
        });
        POSIX::_exit(0);
    }

    my $killed = 0;
    for (1 .. 4) {
        sleep 0.3;
        my @workers = $c->node_workers(2);
        $killed += kill 'KILL', $workers[0] if @workers;
    }

    waitpid $pid, 0;

    ok($killed >= 3, "node 2's workers were killed $killed times mid-stream");

    ok(converged(20, 1, 2, 3, 4),
       'node 2 ends with the same links and counts as the others');

    is($c->store_get(2, $busy)->{visits}, $c->store_get(1, $busy)->{visits},
       'the busy link counted every visit once on node 2');
}


# -- all of NATS down: 503 within 5 s, redirects go on, writes resume --

{
    my ($status, $json) = $c->shorten(1, { url => 'https://stays.example/' });
    my $code = $json->{code};

    ok(converged(5, 1, 2, 3, 4), 'a link before the outage');

    my %logged = map { $_ => -s $c->node_dir($_) . '/logs/error.log' } 1 .. 4;

    $c->nats_stop($_, 'KILL') for 1 .. 3;

    my $start = time;
    ($status, $json) = $c->shorten(2, { url => 'https://refused.example/' });
    my $took = time - $start;

    is($status, 503, 'a write with NATS down answers 503');
    is($json->{error}, 'cluster_unavailable', 'as cluster_unavailable');
    cmp_ok($took, '<', 5, sprintf 'within 5 s (%.2f s)', $took);

    # once the loss is seen, at once
    sleep 3;
    $start = time;
    ($status) = $c->shorten(3, { url => 'https://refused.example/' });
    is($status, 503, 'later writes too');
    cmp_ok(time - $start, '<', 0.5, 'and fast');

    for my $i (1 .. 4) {
        my ($s, $location) = $c->visit($i, $code);
        is($location, 'https://stays.example/', "node $i still redirects");
    }

    $c->nats_start($_) for 1 .. 3;

    my $ok = 1;
    for my $i (1 .. 4) {
        $ok &&= defined $c->wait_writable($i, 30);
    }
    ok($ok, 'writes resume on every node when NATS is back');

    ok(converged(15, 1, 2, 3, 4), 'and the stores agree');

    # 4 nodes of 2 workers, each with its own connection
    my $lines = 0;
    for my $i (1 .. 4) {
        open my $f, '<', $c->node_dir($i) . '/logs/error.log' or next;
        seek $f, $logged{$i}, 0;
        $lines += grep { /lost the NATS connection/ } <$f>;
    }
    ok($lines >= 1 && $lines <= 8,
       "the loss is logged once per worker, not per request ($lines)");
}


$c->stop_all;

done_testing();
