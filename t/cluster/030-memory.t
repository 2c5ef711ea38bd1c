# Memory, conversation contexts and mcp_admin's PATCH and DELETE in a
# cluster: one NATS server, three nginx nodes of two workers each.  A
# write made on one node is answered as on a single node (read-your-
# writes), is seen on the others, and every node ends with the same
# store.  Run by scripts/test-cluster.sh (make test-cluster).

use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);

use NgxMcp::Cluster;


# messages of the log at most 64k: a call larger than that is refused
my $c = NgxMcp::Cluster->new(name => 'memory', nats => 1,
                             nats_extra => "max_payload: 65536\n",
                             server_extra => "        location /api/ "
                                             . "{ mcp_admin; }\n");

$c->nats_start_all;

# node 3 has a quota of its own: it refuses what would go over it, and
# still applies what the others took
$c->node_start(1);
$c->node_start(2);
$c->node_start(3, http_extra => "    mcp_tenant_quota * entities=3 "
                                 . "links=6;\n");

for my $i (1 .. 3) {
    ok(defined $c->wait_writable($i, 30), "node $i takes writes")
        or BAIL_OUT("node $i never took a write");
}

my %s = map { $_ => $c->mcp_session($_) } 1 .. 3;

ok(defined $s{$_}, "an MCP session on node $_") for 1 .. 3;


# a tool's structuredContent on node i (undef for a tool error)
sub tool {
    my ($i, $name, $args) = @_;

    my $r = $c->mcp_tool($i, $s{$i}, $name, $args);
    return undef if !$r || $r->{isError};
    return $r->{structuredContent};
}


# the text of a tool's error on node i (undef if it succeeded)
sub tool_error {
    my ($i, $name, $args) = @_;

    my $r = $c->mcp_tool($i, $s{$i}, $name, $args);
    return undef if !$r || !$r->{isError};
    return $r->{content}[0]{text};
}


# polls what() on node i until ok() says so: how long it took
sub seen {
    my ($i, $what, $ok) = @_;

    return NgxMcp::Cluster::wait_for(5, sub { $ok->($what->($i)) }, 0.01);
}


sub names { join ',', sort map { $_->{name} } @{ $_[0]{entities} || [] } }


# -- entities: created on B, found on C ---------------------------------

{
    my $r = tool(2, 'create_entities', { entities => [
        { name => 'alice', entityType => 'person',
          observations => ['likes green tea'] },
        { name => 'bob', entityType => 'person', observations => [] } ] });

    is(names($r), 'alice,bob', 'create_entities on node 2 answers both');

    $r = tool(2, 'create_entities', { entities => [
        { name => 'alice', entityType => 'person', observations => [] } ] });

    is(names($r), '', 'and at once knows they exist (read-your-writes)');

    my $lag = seen(3, sub {
        tool($_[0], 'search_nodes', { query => 'tea' });
    }, sub { names($_[0]) eq 'alice' });

    ok(defined $lag, 'search_nodes on node 3 finds alice');
    diag(sprintf 'lag of an entity to node 3: %.1f ms', ($lag // 5) * 1000);

    $r = tool(3, 'open_nodes', { names => ['alice', 'bob', 'carol'] });
    is(names($r), 'alice,bob', 'open_nodes on node 3 opens both');
    is_deeply([ map { @{ $_->{observations} } } @{ $r->{entities} } ],
              ['likes green tea'], 'with the observation');
}


# -- relations and observations -----------------------------------------

{
    my $r = tool(1, 'create_relations', { relations => [
        { from => 'alice', to => 'bob', relationType => 'knows' } ] });

    is(scalar @{ $r->{relations} || [] }, 1, 'a relation made on node 1');

    ok(defined seen(3, sub {
        tool($_[0], 'open_nodes', { names => ['bob'] });
    }, sub { @{ $_[0]{relations} || [] } == 1 }),
       'node 3 sees it');

    $r = tool(3, 'add_observations', { observations => [
        { entityName => 'alice', contents => ['plays chess',
                                              'likes green tea'] } ] });

    is_deeply($r->{results}, [ { entityName => 'alice',
                                 addedObservations => ['plays chess'] } ],
              'add_observations on node 3 tells what it added');

    my $err = tool_error(3, 'add_observations', { observations => [
        { entityName => 'alice', contents => ['half'] },
        { entityName => 'nobody', contents => ['x'] } ] });

    like($err // '', qr/Entity with name nobody not found; nothing was saved/,
         'one to a missing entity fails the call, as on a single node');

    ok(defined seen(1, sub {
        tool($_[0], 'open_nodes', { names => ['alice'] });
    }, sub {
        my $o = join '|', @{ $_[0]{entities}[0]{observations} || [] };
        return $o eq 'likes green tea|plays chess';
    }), 'node 1 has the observation added, and nothing of the failed call');

    $r = tool(1, 'delete_observations', { deletions => [
        { entityName => 'alice', observations => ['plays chess'] } ] });
    ok($r && $r->{success}, 'delete_observations on node 1');

    $r = tool(2, 'delete_relations', { relations => [
        { from => 'alice', to => 'bob', relationType => 'knows' } ] });
    ok($r && $r->{success}, 'delete_relations on node 2');

    $r = tool(3, 'delete_entities', { entityNames => ['bob'] });
    ok($r && $r->{success}, 'delete_entities on node 3');

    ok(defined seen(1, sub {
        tool($_[0], 'read_graph', {});
    }, sub {
        my $g = $_[0];
        return names($g) eq 'alice' && !@{ $g->{relations} }
               && "@{ $g->{entities}[0]{observations} }" eq 'likes green tea';
    }), 'node 1 sees the three deletes');
}


# -- a call too large for one message of the log ------------------------

{
    my $err = tool_error(2, 'create_entities', { entities => [
        map { { name => "big$_", entityType => 't',
                observations => ['x' x 8000] } } 1 .. 10 ] });

    like($err // '', qr/more than the cluster's log takes in one \(65536\)/,
         'a call over the servers\' max_payload is refused, not retried');

    my $r = tool(2, 'open_nodes', { names => ['big1'] });
    is(names($r), '', 'and nothing of it was saved');
}


# -- quotas: the taking node's, before the log --------------------------

{
    my $r = tool(1, 'create_entities', { entities => [
        map { { name => "e$_", entityType => 't', observations => [] } }
        1 .. 2 ] });
    is(names($r), 'e1,e2', 'node 1 (no quota) takes two more entities');

    ok(defined seen(3, sub {
        tool($_[0], 'open_nodes', { names => ['e2'] });
    }, sub { names($_[0]) eq 'e2' }),
       'node 3 applies them over its own quota of 3');

    my $err = tool_error(3, 'create_entities', { entities => [
        { name => 'e3', entityType => 't', observations => [] } ] });
    like($err // '', qr/quota/, 'but refuses to take a fourth itself');

    # links likewise: node 1 fills the quota node 3 has, node 3 refuses

    my $made = 0;
    while (scalar($c->store_list(1)) < 6 && $made < 10) {
        my ($status) = $c->shorten(1, { url => "https://fill.example/$made" });
        $made++ if $status == 201;
    }

    ok(defined NgxMcp::Cluster::wait_for(5, sub {
        scalar($c->store_list(3)) == 6;
    }, 0.01), 'node 3 has the six links node 1 made');

    my ($status, $json) = $c->shorten(3, { url => 'https://over.example/' });
    is($status, 507, 'a seventh on node 3: 507');
    is($json && $json->{error}, 'quota_exceeded', 'over its quota');

    my $log = join '', $c->node_error_log(3);
    unlike($log, qr/cannot be applied/, 'and its applier never stopped');
}


# -- conversation contexts: appended on A, windowed on C ----------------

{
    my @ids;

    for my $m (['system', 'You are terse.'], ['user', 'hello there'],
               ['assistant', 'hi'])
    {
        my $r = tool(1, 'context_append', { context_id => 'chat',
                                            role => $m->[0],
                                            content => $m->[1] });
        push @ids, $r ? $r->{message_id} : 0;
    }

    is("@ids", '1 2 3', 'context_append on node 1 numbers the messages');

    my $w;
    ok(defined seen(3, sub {
        $w = tool($_[0], 'context_window', { context_id => 'chat',
                                             max_tokens => 1000 });
    }, sub { $_[0] && @{ $_[0]{messages} || [] } == 3 }),
       'context_window on node 3 has the three messages');

    is(join('|', map { $_->{content} } @{ $w->{messages} || [] }),
       'You are terse.|hello there|hi', 'in order');

    my $r = tool(2, 'context_append', { context_id => 'chat', role => 'user',
                                        content => 'and you?' });
    is($r && $r->{messages}, 4, 'node 2 appends the fourth');

    $r = tool(2, 'context_clear', { context_id => 'chat' });
    ok($r && $r->{cleared}, 'context_clear on node 2');

    like(tool_error(2, 'context_clear', { context_id => 'chat' }) // '',
         qr/no context chat/, 'a second one finds nothing');

    ok(defined seen(1, sub {
        tool_error($_[0], 'context_window', { context_id => 'chat',
                                              max_tokens => 100 });
    }, sub { ($_[0] // '') =~ /no context chat/ }),
       'node 1 has it no more');
}


# -- mcp_admin: PATCH and DELETE of a link ------------------------------

{
    my ($status, $json) = $c->shorten(1, { url => 'https://before.example/',
                                          alias => 'adm' });
    is($status, 201, 'a link made on node 1');

    ($status, $json) = $c->request(1, 'PATCH', '/api/links/adm',
                                   { url => 'https://after.example/' });
    is($status, 200, 'PATCH on node 1');
    is($json && $json->{url}, 'https://after.example/',
       'answers the link as it now is');

    for my $i (2, 3) {
        ok(defined NgxMcp::Cluster::wait_for(5, sub {
            my ($s, $location) = $c->visit($i, 'adm');
            return $s == 302 && $location eq 'https://after.example/';
        }, 0.01), "node $i redirects to the new URL");
    }

    ($status) = $c->request(2, 'PATCH', '/api/links/nope',
                            { url => 'https://x.example/' });
    is($status, 404, 'PATCH of no link: 404');

    ($status) = $c->request(1, 'DELETE', '/api/links/adm');
    is($status, 204, 'DELETE on node 1');

    my ($s) = $c->visit(1, 'adm');
    is($s, 404, 'gone on node 1 at once');

    for my $i (2, 3) {
        ok(defined NgxMcp::Cluster::wait_for(5, sub {
            my ($s) = $c->visit($i, 'adm');
            return $s == 404;
        }, 0.01), "and on node $i");
    }

    ($status) = $c->request(3, 'DELETE', '/api/links/adm');
    is($status, 404, 'a second DELETE: 404');
}


# -- three nodes writing to one entity at once --------------------------

{
    ok(tool(1, 'create_entities', { entities => [
        { name => 'hub', entityType => 'place', observations => [] } ] }),
       'an entity every node writes to');

    my @got = NgxMcp::Cluster::parallel(60, 6, sub {
        my ($j) = @_;
        my $i = $j % 3 + 1;

        my $o = tool($i, 'add_observations', { observations => [
            { entityName => 'hub', contents => ["note $j"] } ] });
        my $r = tool($i, 'create_relations', { relations => [
            { from => 'hub', to => "t$j", relationType => 'links' } ] });

        return ($o && @{ $o->{results}[0]{addedObservations} } == 1
                && $r && @{ $r->{relations} } == 1) ? 'ok' : 'failed';
    });

    is(scalar(grep { $_ eq 'ok' } @got), 60,
       '60 calls of each from three nodes at once, each answered as done');

    for my $i (1 .. 3) {
        ok(defined seen($i, sub {
            tool($_[0], 'open_nodes', { names => ['hub'] });
        }, sub {
            my $g = $_[0] or return 0;
            return @{ $g->{entities}[0]{observations} || [] } == 60
                   && @{ $g->{relations} || [] } == 60;
        }), "node $i has the 60 observations and 60 relations");
    }

    my @order = map {
        join ',', @{ (tool($_, 'open_nodes', { names => ['hub'] })
                      || {})->{entities}[0]{observations} || [] }
    } 1 .. 3;

    ok($order[0] eq $order[1] && $order[0] eq $order[2],
       'in the same order on every node: the log\'s');

    ok(tool(2, 'delete_entities', { entityNames => ['hub'] }),
       'deleted, with its relations');
}


# -- an entry a later version wrote --------------------------------------

# msgpack, the little the entry needs
sub mp_str { my ($s) = @_; return chr(0xa0 + length $s) . $s }
sub mp_uint { my ($n) = @_; return $n < 128 ? chr($n) : "\xce" . pack('N', $n) }
sub mp_array { return chr(0x90 + @_) . join '', @_ }

{
    # [1, 99, node, id, "x"]: a kind this version does not know, then a
    # put with a field after those it knows: one entry, published as a
    # later node would (a plain NATS publish lands in the stream)
    my $entry = mp_array(mp_uint(1), mp_uint(99), mp_str('node9'),
                         mp_uint(1), mp_str('x'))
              . mp_array(mp_uint(1), mp_uint(1), mp_str('node9'),
                         mp_uint(2), mp_str('later'),
                         mp_str('https://later.example/'),
                         mp_uint(1700000000), mp_uint(0), mp_uint(0),
                         mp_str(''), mp_str('a field of a later version'));

    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $c->nats_port(1),
                                  Proto => 'tcp', Timeout => 5);
    ok($s, 'a plain NATS connection') or BAIL_OUT('no NATS');

    my $info = <$s>;
    print $s "CONNECT {\"verbose\":false,\"pedantic\":false}\r\n",
             'PUB ngx_mcp.op ', length($entry), "\r\n", $entry, "\r\n",
             "PING\r\n";
    my $pong = <$s>;
    like($pong // '', qr/^PONG/, 'publishes an entry of a later version');
    close $s;

    for my $i (1 .. 3) {
        ok(defined NgxMcp::Cluster::wait_for(5, sub {
            my ($st, $location) = $c->visit($i, 'later');
            return $st == 302 && $location eq 'https://later.example/';
        }, 0.01), "node $i applies the put with a field it does not know");

        ok(scalar(grep { /\[error\].*kind 99\b.*a kind this version does not/ }
                  $c->node_error_log($i)),
           "and logs the kind it refused, as an error");
    }
}


# -- every node ends with the same store --------------------------------

# something of each kind left to compare
ok(tool(2, 'create_relations', { relations => [
    { from => 'alice', to => 'e1', relationType => 'manages' } ] }),
   'a relation left');
ok(tool(2, 'context_append', { context_id => 'kept', role => 'user',
                               content => 'Moved to Tuesday. ' x 20 }),
   'a context left, from node 2');
ok(tool(3, 'context_append', { context_id => 'kept', role => 'user',
                               content => 'remember the blue door' }),
   'a second message, from node 3');
is((tool(1, 'context_append', { context_id => 'kept', role => 'assistant',
                                content => 'noted' }) || {})->{message_id},
   3, 'and a third, from node 1');

# a window that drops the long turn: a single node would store its
# summary, a node of a cluster writes nothing outside the log
my $win;
ok(defined seen(3, sub {
    $win = tool($_[0], 'context_window', { context_id => 'kept',
                                           max_tokens => 60 });
}, sub { $_[0] && @{ $_[0]{messages} || [] } == 3 }),
   'node 3 windows the three messages');
is($win->{dropped}, 1, 'dropping one turn');
ok(defined $win->{summary}, 'in a summary');
like(join('|', map { $_->{content} } @{ $win->{messages} || [] }),
     qr/^Summary of 1 earlier message: Moved to Tuesday\.\|remember the blue door\|noted$/,
     'the long turn summarised, the two short ones kept');

ok(defined NgxMcp::Cluster::wait_for(10, sub {
    my @d = map { $c->store_digest($_) } 1 .. 3;
    return 0 if grep { !defined } @d;
    return $d[0] eq $d[1] && $d[0] eq $d[2];
}, 0.1), 'the three stores hold the same (mcp-store digest)')
    or diag(join "\n", map { $c->store_digest($_) // 'none' } 1 .. 3);

my @digest = split /\n/, $c->store_digest(1) // '';
my %count = map { (split /\t/)[0, 1] } @digest;

is($count{entities}, 3, 'alice, e1, e2');
is($count{relations}, 1, 'one relation');
is($count{messages}, 3, 'three messages');

for my $i (1 .. 3) {
    my $log = join '', $c->node_error_log($i);
    unlike($log, qr/\[(alert|emerg)\]|refused as invalid(?!: a kind)/,
           "node $i logged no failure but the unknown kind");
}

$c->stop_all;

done_testing();
