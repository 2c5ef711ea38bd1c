# vim:set ft= ts=4 sw=4 et fdm=marker:

# docker/compose.yaml run as plain processes on 127.0.0.1, with no Docker:
# the three NATS servers as NgxMcp::Cluster starts them (one JetStream
# cluster), the three nodes and the load balancer with the nginx.conf the
# real entrypoint renders from each service's environment in compose.yaml.
# Only addresses change: container names become loopback ports (from
# TEST_NGINX_PORT + 150), and the store and logs move under
# t/servroot-cluster-compose/.

use strict;
use warnings;

use Cwd qw(getcwd);
use File::Path qw(make_path);
use HTTP::Tiny;
use JSON::PP;
use Test::More;

use NgxMcp::Cluster;
use NgxMcp::Deploy qw(yaml paths);

my $top = getcwd();
my $c = NgxMcp::Cluster->new(name => 'compose', nats => 3, port_offset => 50);
my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my $module = $ENV{TEST_NGINX_LOAD_MODULES} || "$top/build/ngx_mcp_module.so";
my $lb = 4;      # the load balancer runs as the cluster's "node 4"
my $http = HTTP::Tiny->new(timeout => 10, max_redirect => 0);

my ($compose) = yaml("$top/docker/compose.yaml");
my $svc = $compose->{services};


# a service's environment, addresses moved to loopback
sub loopback {
    my (%env) = @_;

    for my $k (keys %env) {
        $env{$k} =~ s{nats://nats(\d):4222}{'nats://127.0.0.1:' . $c->nats_port($1)}ge;
        $env{$k} =~ s{\bnode(\d):8080}{'127.0.0.1:' . $c->node_port($1)}ge;
    }

    return %env;
}


sub start {
    my ($i, $service) = @_;

    my $d = $c->node_dir($i);
    make_path("$d/conf", "$d/logs", "$d/data", "$d/tmp");

    my %env = loopback(%{ $svc->{$service}{environment} });

    # the load balancer is 127.0.0.1 here, as the Docker network is there
    $env{MCP_TRUSTED_PROXIES} .= ' 127.0.0.1' if $env{MCP_TRUSTED_PROXIES};

    local %ENV = (%ENV, %env, paths($d, $module),
                  MCP_LISTEN => '127.0.0.1:' . $c->node_port($i),
                  MCP_WORKERS => 2);

    my $out = `sh $top/docker/entrypoint.sh render 2>&1`;
    die "entrypoint for $service: $out" if $?;

    $c->{logged}{$i} = -s "$d/logs/error.log" || 0;

    $out = `$nginx -p $d/ -c conf/nginx.conf 2>&1`;
    die "nginx for $service: $out" if $?;

    $c->{nodes}{$i} = 1;
    NgxMcp::Cluster::wait_port($c->node_port($i), 10)
        or die "$service did not listen";
}


sub via_lb {
    my ($method, $path, $body, %h) = @_;

    my $res = $http->request($method,
                             'http://127.0.0.1:' . $c->node_port($lb) . $path,
                             { headers => { 'Content-Type' => 'application/json', %h },
                               defined $body ? (content => encode_json($body))
                                             : () });

    return ($res->{status}, eval { decode_json($res->{content}) }, $res);
}


# The machine's other test runs open connections from ephemeral ports,
# which may hold one of ours for a moment: a start that failed to bind
# is tried again, anything else fails.
sub again {
    my ($what, $log, $start) = @_;

    for my $try (1 .. 3) {
        return if eval { $start->(); 1 };
        my $err = $@;
        my $bind = $err =~ /Address already in use/
                   || (-f $log && `tail -n 3 $log` =~ /address already in use/);
        die $err unless $bind && $try < 3;
        diag "$what: its port was taken, trying again";
        sleep 1;
    }
}

for my $i (1 .. 3) {
    again("nats$i", $c->dir . "/nats$i/nats.log", sub {
        $c->nats_stop($i, 'KILL');
        $c->nats_start($i);
    });
}

for my $i (1 .. 3, $lb) {
    again($i == $lb ? 'lb' : "node$i", '/nonexistent',
          sub { start($i, $i == $lb ? 'lb' : "node$i") });
}

ok(defined $c->wait_writable($_, 30), "node$_ joined the cluster")
    for 1 .. 3;

my $lbhost = '127.0.0.1:' . $c->node_port($lb);

# health through the balancer, as the HEALTHCHECK asks each node
my ($status, $json) = via_lb('GET', '/status');
is($status, 200, 'GET /status through the load balancer');
is($json->{status}, 'ok', '... the store is readable');

# a write through the balancer lands in the log and on every node
($status, $json) = via_lb('POST', '/shorten', { url => 'https://example.com/compose',
                                                 alias => 'cmp1' });
is($status, 201, 'POST /shorten through the load balancer');
is($json->{short_url}, "http://$lbhost/cmp1",
   'short_url names the balancer, as the client addressed it');

for my $i (1 .. 3) {
    my $t = NgxMcp::Cluster::wait_for(5, sub {
        ($c->visit($i, 'cmp1'))[0] == 302
    });
    ok(defined $t, "node$i redirects cmp1");
}

my $res = $http->get("http://$lbhost/cmp1");
is($res->{status}, 302, 'redirect through the balancer');
is($res->{headers}{location}, 'https://example.com/compose', '... to the URL');

# a TLS balancer in front of a node (127.0.0.1 is trusted, as the Docker
# network is in compose.yaml): short URLs are https, on the public name
$res = $http->request('POST', 'http://127.0.0.1:' . $c->node_port(2) . '/shorten', {
    headers => { 'Content-Type' => 'application/json',
                 'X-Forwarded-Proto' => 'https',
                 'X-Forwarded-Host' => 'sho.rt' },
    content => encode_json({ url => 'https://example.com/tls', alias => 'cmp2' }) });
is($res->{status}, 201, 'POST /shorten from a TLS balancer');
is(decode_json($res->{content})->{short_url}, 'https://sho.rt/cmp2',
   '... short_url is https, on the public name');

# MCP through the balancer: the Host it passes on is allowed
my $mcp = $http->request('POST', "http://$lbhost/mcp", {
    headers => { 'Content-Type' => 'application/json',
                 Accept => 'application/json, text/event-stream' },
    content => encode_json({ jsonrpc => '2.0', id => 1, method => 'initialize',
                             params => { protocolVersion => '2025-06-18',
                                         capabilities => {},
                                         clientInfo => { name => 't',
                                                         version => '1' } } }) });
is($mcp->{status}, 200, 'MCP initialize through the balancer');
ok($mcp->{headers}{'mcp-session-id'}, '... a session');

# a node stops: the balancer goes on with the others
$c->node_stop(1);
my $ok = 0;
for my $n (1 .. 6) {
    ($status) = via_lb('POST', '/shorten', { url => "https://example.com/after$n" });
    $ok++ if $status == 201;
}
is($ok, 6, 'with node1 stopped, every write through the balancer succeeds');

$c->stop_all;

done_testing;
