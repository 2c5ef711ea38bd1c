# vim:set ft= ts=4 sw=4 et fdm=marker:

# Two workers: the counters of mcp_status are summed over the workers, so
# a scrape answered by either reports every request; a PATCH through
# mcp_admin (of the target, of the redirect status) is seen by both
# workers' redirects at once; both workers' visits reach the statistics.
#
# Like t/004-workers.t, this suite drives nginx itself (listen ...
# reuseport spreads connections over the workers) and reads the serving
# worker from an X-Worker-Pid header.

use strict;
use warnings;

use Test::More;
use HTTP::Tiny;
use JSON::PP qw(decode_json);
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use Cwd qw(abs_path);
use Time::HiRes qw(sleep);

my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my @modules = split ' ', ($ENV{TEST_NGINX_LOAD_MODULES} || '');
my $port = ($ENV{TEST_NGINX_PORT} || 1984) + 9;

my $root = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1, CLEANUP => 1);
make_path("$root/conf", "$root/logs", "$root/data");

# run as root, the workers are "nobody": they must reach the store
chmod 0755, $root;

my $http = HTTP::Tiny->new(timeout => 2, max_redirect => 0,
                           keep_alive => 0);
my $base = "http://127.0.0.1:$port";

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

    mcp_store  $root/data;

    server {
        listen  127.0.0.1:$port reuseport;

        add_header  X-Worker-Pid  \$pid  always;

        location = /shorten { mcp_shorten; }
        location = /status { mcp_status; }
        location /api/ { mcp_admin; }
        location / { mcp_redirect; }
    }
}
_EOC_
close $fh;

system($nginx, '-p', "$root/", '-c', 'conf/nginx.conf') == 0
    or BAIL_OUT("nginx did not start");

for (1 .. 40) {
    last if $http->get("$base/status")->{status} != 599;
    sleep 0.05;
}

# each worker's answer to $send, asked until both answered (or 200 tries)
sub from_each_worker {
    my ($send) = @_;
    my %by;

    for (1 .. 200) {
        my $res = $send->();
        $by{$res->{headers}{'x-worker-pid'} // ''} //= $res;
        last if keys %by == 2;
    }

    return %by;
}

my $res = $http->post("$base/shorten", {
    headers => { 'Content-Type' => 'application/json' },
    content => '{"OriginalURL": "https://example.com/w", "alias": "w1"}',
});
is($res->{status}, 201, "a link to count visits of");

my %pids;
for (1 .. 40) {
    $res = $http->get("$base/w1");
    $pids{$res->{headers}{'x-worker-pid'}}++ if $res->{status} == 302;
}
is(scalar(keys %pids), 2, "40 redirects, served by both workers");

my %status = from_each_worker(sub { $http->get("$base/status") });
is(scalar(keys %status), 2, "both workers answered /status");

for my $pid (sort keys %status) {
    my $doc = decode_json($status{$pid}{content});
    is_deeply([$doc->{requests}{redirect}{302},
               $doc->{requests}{shorten}{201}], [40, 1],
              "worker $pid reports every worker's requests");
}

$res = $http->request('PATCH', "$base/api/links/w1", {
    headers => { 'Content-Type' => 'application/json' },
    content => '{"url": "https://example.net/patched"}',
});
is($res->{status}, 200, "PATCH the link's target");

my %after = from_each_worker(sub { $http->get("$base/w1") });
is(scalar(keys %after), 2, "both workers redirected after the PATCH");
is_deeply([sort map { $_->{headers}{location} } values %after],
          ['https://example.net/patched', 'https://example.net/patched'],
          "both redirect to the new target at once");

$res = $http->request('PATCH', "$base/api/links/w1", {
    headers => { 'Content-Type' => 'application/json' },
    content => '{"redirect_status": 307, "tags": ["w"]}',
});
is($res->{status}, 200, "PATCH the link's redirect status");

%after = from_each_worker(sub { $http->get("$base/w1") });
is(scalar(keys %after), 2, "both workers redirected after that PATCH");
is_deeply([map { $_->{status} } values %after], [307, 307],
          "both answer with the link's new status at once");

# every worker's batch reaches the store within mcp_visit_flush_interval
# (1s): the statistics count each redirect of both, once
sleep 1.5;

my $link = decode_json($http->get("$base/api/links/w1")->{content});
my $visits = decode_json($http->get("$base/api/links/w1/visits")->{content});
ok($link->{visits} >= 40 && $visits->{total} == $link->{visits}
   && $visits->{days}[-1]{visits} == $link->{visits}
   && $visits->{referrers}[0]{host} eq 'direct'
   && $visits->{referrers}[0]{visits} == $link->{visits},
   "the visit statistics count both workers' redirects, by day and "
   . "referrer ($visits->{total})");

my $pid = do {
    open my $p, '<', "$root/logs/nginx.pid" or die $!;
    local $/;
    <$p>;
};
chomp $pid;
kill 'QUIT', $pid;

for (1 .. 200) {
    last unless kill 0, $pid;
    sleep 0.05;
}

open my $log, '<', "$root/logs/error.log" or die $!;
my @bad = grep { /\[(?:alert|crit|emerg|error)\]/ } <$log>;
is("@bad", "", "no error in the error log");

done_testing();
