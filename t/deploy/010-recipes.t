# vim:set ft= ts=4 sw=4 et fdm=marker:

# The deployment recipes of docker/, as far as they can be proved without
# a Docker daemon or Kubernetes: each recipe's nginx.conf rendered by the
# real entrypoint (docker/entrypoint.sh) from the environment the recipe
# gives, and checked by "nginx -t" with the module; the YAML parsed
# (python3-yaml) and checked for the fields that matter; the Dockerfile
# and .dockerignore checked for what the image relies on.

use strict;
use warnings;

use Cwd qw(getcwd);
use File::Path qw(make_path remove_tree);
use Test::More;

use NgxMcp::Deploy qw(yaml paths);

my $top = getcwd();
my $dir = "$top/t/servroot-deploy";
my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my $module = $ENV{TEST_NGINX_LOAD_MODULES} || "$top/build/ngx_mcp_module.so";
my $port = ($ENV{TEST_NGINX_PORT} || 1984) + 150;

remove_tree($dir);
make_path($dir);


# renders a recipe's nginx.conf with its environment, paths moved under
# t/servroot-deploy/NAME; (exit status, output, conf text)
sub render {
    my ($name, $env, @args) = @_;

    my $d = "$dir/$name";
    make_path("$d/conf", "$d/logs", "$d/data", "$d/tmp");

    local %ENV = (%ENV, %$env, paths($d, $module));

    my $out = `sh $top/docker/entrypoint.sh @{[ @args ? "@args" : 'render' ]} 2>&1`;
    my $rc = $?;

    open my $f, '<', "$d/conf/nginx.conf" or return ($rc, $out, '');
    local $/;
    my $conf = <$f>;

    return ($rc, $out, $conf);
}


sub nginx_t {
    my ($name) = @_;

    my $out = `$nginx -t -p $dir/$name/ -c conf/nginx.conf 2>&1`;

    return ($?, $out);
}


sub recipe_ok {
    my ($name, $env, @like) = @_;

    my ($rc, $out, $conf) = render($name, $env);
    is($rc, 0, "$name: rendered") or diag $out;

    like($conf, $_, "$name: $_") for @like;

    ($rc, $out) = nginx_t($name);
    is($rc, 0, "$name: nginx -t accepts it") or diag $out;

    return $conf;
}


# an API keys file, as a Secret would mount it
my $keys = "$dir/mcp.keys";
{
    open my $f, '>', $keys or die;
    print $f "# sha256 of \"test\"\n",
             "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
             " tenant=acme scopes=admin,links:write,links:read,mcp\n";
}


# -- docker run: the image's defaults and the usual variables -----------

recipe_ok('docker-defaults', { MCP_LISTEN => "127.0.0.1:$port" },
          qr/^\s*mcp_store\s+\S+\s+map_size=1g/m,
          qr/location = \/status \{\s*mcp_status;/,
          qr/location \/ \{\s*mcp_redirect;/);

my $conf = recipe_ok('docker-env', {
        MCP_LISTEN => "127.0.0.1:$port",
        MCP_BASE_URL => 'https://sho.rt/',
        MCP_ALLOWED_HOSTS => 'sho.rt, www.sho.rt',
        MCP_ALLOWED_ORIGINS => 'https://sho.rt',
        MCP_TRUSTED_PROXIES => '10.0.0.0/8,192.168.1.1',
        MCP_API_KEYS_FILE => $keys,
    },
    qr/mcp_base_url  https:\/\/sho\.rt\/;/,
    qr/mcp_allowed_hosts  sho\.rt www\.sho\.rt;/,
    qr/mcp_allowed_origins  https:\/\/sho\.rt;/,
    qr/set_real_ip_from     10\.0\.0\.0\/8;\s+set_real_ip_from     192\.168\.1\.1;/,
    qr/mcp_trusted_proxies  10\.0\.0\.0\/8 192\.168\.1\.1;/,
    qr/mcp_api_keys_file  \Q$keys\E;/,
    qr/location \/api\/ \{\s*mcp_admin;/,
    qr/location \/dashboard\/ \{\s*mcp_dashboard  api=\/api\/;/);

unlike($conf, qr/mcp_cluster/, 'docker-env: alone without MCP_CLUSTER_URLS');

# what would break the configuration is refused before nginx sees it
for my $bad (['MCP_BASE_URL', 'https://sho.rt'],
             ['MCP_BASE_URL', 'ftp://sho.rt/'],
             ['MCP_ALLOWED_HOSTS', 'a; mcp_url_schemes javascript'],
             ['MCP_LISTEN', '8080 { }'],
             ['MCP_ROLE', 'proxy'])
{
    my ($rc, $out) = render('docker-bad', { $bad->[0] => $bad->[1] });
    isnt($rc, 0, "$bad->[0]=\"$bad->[1]\" refused");
    like($out, qr/entrypoint: .*\Q$bad->[0]\E|entrypoint: MCP_ROLE/,
         "... saying which variable");
}


# -- compose.yaml ------------------------------------------------------

my ($compose) = yaml("$top/docker/compose.yaml");
my $svc = $compose->{services};

is_deeply([sort keys %$svc],
          [qw(lb nats1 nats2 nats3 node1 node2 node3)],
          'compose: three NATS servers, three nodes, a load balancer');

for my $i (1 .. 3) {
    my $n = $svc->{"nats$i"};
    my $cmd = join ' ', @{ $n->{command} };
    like($cmd, qr/--jetstream/, "nats$i: JetStream");
    like($cmd, qr/--cluster_name mcp/, "nats$i: one cluster");
    my @routes = $cmd =~ /nats:\/\/(nats\d):6222/g;
    is_deeply([sort @routes], [grep { $_ ne "nats$i" } qw(nats1 nats2 nats3)],
              "nats$i: routes to the two others");
    ok(grep({ /:\/data$/ } @{ $n->{volumes} }), "nats$i: its store on a volume");

    my $node = $svc->{"node$i"};
    my $env = $node->{environment};
    is($env->{MCP_NODE_NAME}, "node$i", "node$i: its own name");
    is(join(' ', sort split ' ', $env->{MCP_CLUSTER_URLS}),
       'nats://nats1:4222 nats://nats2:4222 nats://nats3:4222',
       "node$i: all three NATS servers");
    ok(grep({ /^node$i:\/var\/lib\/nginx\/mcp$/ } @{ $node->{volumes} }),
       "node$i: its own volume for the store");
    like(join(' ', @{ $node->{healthcheck}{test} }), qr/\/status$/,
         "node$i: health from mcp_status");
    ok($env->{MCP_TRUSTED_PROXIES}, "node$i: believes the load balancer");

    # the hosts of the NATS URLs are the containers' names: nginx -t does
    # not resolve them, so they are rendered as they are
    recipe_ok("compose-node$i", { %$env, MCP_LISTEN => "127.0.0.1:$port" },
              qr/mcp_cluster  nats:\/\/nats1:4222 nats:\/\/nats2:4222 nats:\/\/nats3:4222 node=node$i;/);
}

for my $s (qw(node1 node2 node3 lb)) {
    is("$svc->{$s}{build}{context}/$svc->{$s}{build}{dockerfile}",
       '../docker/Dockerfile', "$s: the image of docker/Dockerfile, built "
       . 'from the repository\'s root');
}

is($svc->{lb}{environment}{MCP_ROLE}, 'lb', 'lb: the entrypoint\'s lb role');
is($svc->{lb}{ports}[0], '8080:8080', 'lb: published on 8080');
is(join(' ', sort split ' ', $svc->{lb}{environment}{MCP_UPSTREAMS}),
   'node1:8080 node2:8080 node3:8080', 'lb: in front of the three nodes');

# nginx resolves upstream names at start: here they are loopback ports
recipe_ok('compose-lb', { %{ $svc->{lb}{environment} },
                          MCP_LISTEN => "127.0.0.1:$port",
                          MCP_UPSTREAMS => join ' ', map { "127.0.0.1:" . ($port + $_) } 1 .. 3 },
          qr/upstream ngx_mcp \{\s+server  127\.0\.0\.1:\d+/,
          qr/proxy_set_header    X-Forwarded-Proto  \$scheme;/,
          qr/proxy_set_header    X-Forwarded-Host   \$http_host;/);


# -- Kubernetes --------------------------------------------------------

my %k8s;
for my $file (glob "$top/docker/k8s/*.yaml") {
    for my $doc (yaml($file)) {
        $k8s{"$doc->{kind}/$doc->{metadata}{name}"} = $doc;
    }
}

my $sts = $k8s{'StatefulSet/ngx-mcp'} or BAIL_OUT('no StatefulSet/ngx-mcp');
my $pod = $sts->{spec}{template}{spec};
my ($c) = @{ $pod->{containers} };
my $cm = $k8s{'ConfigMap/ngx-mcp'};

is($sts->{spec}{serviceName}, 'ngx-mcp', 'StatefulSet: its headless Service');
is($k8s{'Service/ngx-mcp'}{spec}{clusterIP}, 'None',
   'Service ngx-mcp is headless');
is($k8s{'Service/ngx-mcp-http'}{spec}{selector}{app}, 'ngx-mcp',
   'Service ngx-mcp-http sends to the pods');
is($sts->{spec}{volumeClaimTemplates}[0]{metadata}{name}, 'data',
   'StatefulSet: a PVC per pod');
ok(grep({ $_->{name} eq 'data' && $_->{mountPath} eq '/var/lib/nginx/mcp' }
        @{ $c->{volumeMounts} }), '... mounted where the store is');
is($c->{readinessProbe}{httpGet}{path}, '/status', 'readiness: mcp_status');
is($c->{livenessProbe}{httpGet}{path}, '/status', 'liveness: mcp_status');
is($c->{envFrom}[0]{configMapRef}{name}, 'ngx-mcp',
   'the ConfigMap is the environment');
is($c->{env}[0]{valueFrom}{fieldRef}{fieldPath}, 'metadata.name',
   'each node named after its pod');
ok(grep({ $_->{secret}{secretName} } @{ $pod->{volumes} }),
   'API keys from a Secret');

my $nats = $k8s{'StatefulSet/nats'};
is($nats->{spec}{replicas}, 3, 'NATS: three servers');
ok(grep({ /--jetstream/ } @{ $nats->{spec}{template}{spec}{containers}[0]{args} }),
   'NATS: JetStream');
is($nats->{spec}{volumeClaimTemplates}[0]{metadata}{name}, 'data',
   'NATS: a PVC per server');
is($k8s{'Service/nats'}{spec}{clusterIP}, 'None', 'NATS: headless Service');

# the pod's nginx.conf: the ConfigMap, the pod's name, the Secret's file
recipe_ok('k8s', { %{ $cm->{data} }, MCP_NODE_NAME => 'ngx-mcp-0',
                   MCP_API_KEYS_FILE => $keys,
                   MCP_LISTEN => "127.0.0.1:$port" },
          qr/mcp_cluster  nats:\/\/nats-0\.nats:4222 nats:\/\/nats-1\.nats:4222 nats:\/\/nats-2\.nats:4222 node=ngx-mcp-0;/,
          qr/mcp_base_url  https:\/\/sho\.rt\/;/,
          qr/location = \/status/);
is($cm->{data}{MCP_API_KEYS_FILE}, '/etc/ngx-mcp/keys',
   'the keys file is where the Secret is mounted');


# -- Dockerfile, .dockerignore -----------------------------------------

open my $df, '<', "$top/docker/Dockerfile" or die;
my $dockerfile = do { local $/; <$df> };
my @stages = $dockerfile =~ /^FROM (\S+)/mg;

is(scalar @stages, 2, 'Dockerfile: a build stage and a runtime stage');
my ($build, $runtime) = split /^FROM /m, $dockerfile, 3;
($build, $runtime) = ($dockerfile =~ /^(FROM .*?)^(FROM .*)/ms);
unlike($runtime, qr/nginx-dev|gcc|-dev\b/, 'runtime: no build tools');
like($runtime, qr/^HEALTHCHECK .*\/status/ms, 'runtime: HEALTHCHECK on mcp_status');
like($runtime, qr/^VOLUME \/var\/lib\/nginx\/mcp$/m, 'runtime: the store on a volume');
like($runtime, qr/^ENTRYPOINT \[".*entrypoint"\]/m, 'runtime: the entrypoint renders');

# the module is where the entrypoint's configuration loads it from
my ($so) = $runtime =~ /^COPY --from=build \S+\s+\\?\s*(\S+\.so)$/m;
my ($loaded) = `cat $top/docker/entrypoint.sh`
               =~ /module=\$\{MCP_MODULE:-([^}]+)\}/;
is($so, $loaded, 'runtime: the module where the rendered load_module says');

# every file the build copies is in the repository
for my $src (map { split ' ' } $dockerfile =~ /^COPY (?!--from)(.*) \S+$/mg) {
    ok(-e "$top/$src", "COPY $src exists");
}

# the runtime's packages are Debian's names for the libraries linked
my @pkgs = $runtime =~ /install -y --no-install-recommends\s+(.*?)\s+\\?\s*&&/s;
my @names = split /[\s\\]+/, $pkgs[0];
for my $so (`ldd $module` =~ /^\s*(lib(?:lmdb|msgpackc|jansson|nats|qrencode|png16)\S*)/mg) {
    my ($pkg) = `dpkg -S '*/$so' 2>/dev/null` =~ /^([^:]+):/;
    ok(defined $pkg && grep({ $_ eq $pkg } @names),
       "runtime installs " . ($pkg // '?') . " for $so");
}

open my $di, '<', "$top/.dockerignore" or die;
my %ignored = map { chomp; $_ => 1 } grep { /\S/ && !/^#/ } <$di>;
ok($ignored{$_}, ".dockerignore: $_") for qw(build var **/node_modules .git);

done_testing;
