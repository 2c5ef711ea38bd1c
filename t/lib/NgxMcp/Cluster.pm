package NgxMcp::Cluster;

# Starts and stops what the cluster suites (t/cluster/*.t) need, all on
# 127.0.0.1: NATS servers with JetStream (one, or a cluster of three
# routed to each other) and nginx nodes, each with its own prefix and
# store directory, loading the module under test.
#
#     my $c = NgxMcp::Cluster->new(name => 'links', nats => 3);
#     $c->nats_start_all;
#     $c->node_start($_) for 1 .. 3;
#     my ($status, $json) = $c->shorten(1, { url => 'https://x.example/' });
#     $c->stop_all;              # also done when the object goes away
#
# new() takes http_extra and server_extra (directives for every node's
# http block and server block) and nats_extra (for every NATS server's
# configuration); node_start() takes http_extra for one
# node and cluster_args (appended to its mcp_cluster).
#
# Ports: from TEST_NGINX_PORT (default 1984) + 100 on: NATS clients at
# +100.., their routes at +110.., nginx nodes at +120..; port_offset =>
# N moves them all by N, for two sets at once.  Everything goes
# under t/servroot-cluster-NAME/, removed at the start of a run and kept
# after it for a look at the logs.
#
# Like the Test::Nginx runner, it honours TEST_NGINX_BINARY and
# TEST_NGINX_LOAD_MODULES; NATS_SERVER names the nats-server binary and
# MCP_STORE_CLI the mcp-store tool (default build/store/mcp-store).

use strict;
use warnings;

use Cwd qw(getcwd);
use File::Path qw(make_path remove_tree);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);


sub new {
    my ($class, %args) = @_;

    my $top = getcwd();
    my $base = ($ENV{TEST_NGINX_PORT} || 1984) + 100 + ($args{port_offset} || 0);

    my $self = bless {
        name     => $args{name} || 'cluster',
        nnats    => $args{nats} || 3,
        top      => $top,
        base     => $base,
        nginx    => $ENV{TEST_NGINX_BINARY} || 'nginx',
        module   => $ENV{TEST_NGINX_LOAD_MODULES}
                    || "$top/build/ngx_mcp_module.so",
        natsbin  => $ENV{NATS_SERVER} || 'nats-server',
        cli      => $ENV{MCP_STORE_CLI} || "$top/build/store/mcp-store",
        nats     => {},
        nodes    => {},
        logged   => {},
        workers  => $args{workers} || 2,
        extra    => $args{http_extra} || '',
        sextra   => $args{server_extra} || '',
        nextra   => $args{nats_extra} || '',
        store    => $args{store_args} || '',
        http     => HTTP::Tiny->new(timeout => 10, keep_alive => 0),
        json     => JSON::PP->new->canonical,
    }, $class;

    $self->{dir} = "$top/t/servroot-cluster-$self->{name}";
    remove_tree($self->{dir});
    make_path($self->{dir});

    return $self;
}


sub dir { $_[0]{dir} }
sub nats_port { $_[0]{base} + $_[1] - 1 }
sub route_port { $_[0]{base} + 10 + $_[1] - 1 }
sub node_port { $_[0]{base} + 20 + $_[1] - 1 }
sub node_dir { "$_[0]{dir}/node$_[1]" }
sub store_dir { $_[0]->node_dir($_[1]) . '/data' }


sub nats_urls {
    my ($self) = @_;

    return join ' ', map { 'nats://127.0.0.1:' . $self->nats_port($_) }
                     1 .. $self->{nnats};
}


# -- NATS --------------------------------------------------------------

sub nats_start {
    my ($self, $i) = @_;

    my $dir = "$self->{dir}/nats$i";
    make_path("$dir/js");

    my $conf = "$dir/nats.conf";

    open my $f, '>', $conf or die "$conf: $!";
    print $f "server_name: n$i\n",
             "listen: 127.0.0.1:", $self->nats_port($i), "\n",
             $self->{nextra},
             "jetstream {\n",
             "    store_dir: \"$dir/js\"\n",
             "    max_memory_store: 64MB\n",
             "    max_file_store: 1GB\n",
             "}\n";

    if ($self->{nnats} > 1) {
        my $routes = join ', ',
                     map { 'nats-route://127.0.0.1:' . $self->route_port($_) }
                     grep { $_ != $i } 1 .. $self->{nnats};

        print $f "cluster {\n",
                 "    name: mcp\n",
                 "    listen: 127.0.0.1:", $self->route_port($i), "\n",
                 "    routes: [ $routes ]\n",
                 "}\n";
    }

    close $f;

    my $pid = fork;
    die "fork: $!" unless defined $pid;

    if ($pid == 0) {
        open STDOUT, '>>', "$dir/nats.log";
        open STDERR, '>&', \*STDOUT;
        exec $self->{natsbin}, '-c', $conf;
        exit 127;
    }

    $self->{nats}{$i} = $pid;

    wait_port($self->nats_port($i), 10)
        or die "nats-server $i did not listen on " . $self->nats_port($i);

    return $pid;
}


sub nats_start_all {
    my ($self) = @_;

    $self->nats_start($_) for 1 .. $self->{nnats};
}


# signal: KILL for a crash, TERM for a clean stop
sub nats_stop {
    my ($self, $i, $signal) = @_;

    my $pid = delete $self->{nats}{$i} or return;

    kill $signal || 'TERM', $pid;
    waitpid $pid, 0;
}


# -- nginx nodes -------------------------------------------------------

sub node_conf {
    my ($self, $i, %opt) = @_;

    my $dir = $self->node_dir($i);
    my $cluster = $opt{no_cluster} ? ''
                  : "    mcp_cluster " . $self->nats_urls
                    . " node=node$i" . ($opt{cluster_args} || '') . ";\n";

    # as root, the workers run as root too (as Test::Nginx's do): the
    # default "nobody" cannot reach a store under a private directory
    my $user = $> == 0 ? "user root;\n" : '';
    my $extra = $self->{extra} . ($opt{http_extra} || '');

    return <<"END";
load_module $self->{module};
${user}daemon on;
master_process on;
worker_processes $self->{workers};
error_log $dir/logs/error.log info;
pid $dir/logs/nginx.pid;

events {
    worker_connections 1024;
}

http {
    access_log off;
    mcp_store $dir/data$self->{store};
$cluster    mcp_visit_flush_interval 200ms;
$extra
    server {
        listen 127.0.0.1:@{[ $self->node_port($i) ]};
$self->{sextra}

        location = /shorten { mcp_shorten; }
        location = /mcp { mcp_endpoint; }
        location = /status { mcp_status; }
        location = /metrics { mcp_status prometheus; }
        location / { mcp_redirect; }
    }
}
END
}


sub node_start {
    my ($self, $i, %opt) = @_;

    my $dir = $self->node_dir($i);
    make_path("$dir/conf", "$dir/logs", "$dir/data");

    open my $f, '>', "$dir/conf/nginx.conf" or die "$dir: $!";
    print $f $self->node_conf($i, %opt);
    close $f;

    # where this start's lines begin, for wait_ready()
    $self->{logged}{$i} = -s "$dir/logs/error.log" || 0;

    my $out = `$self->{nginx} -p $dir/ -c conf/nginx.conf 2>&1`;
    die "nginx node $i did not start: $out" if $?;

    $self->{nodes}{$i} = 1;

    wait_port($self->node_port($i), 10)
        or die "nginx node $i did not listen";
}


# the lines of a node's error log
sub node_error_log {
    my ($self, $i) = @_;

    open my $f, '<', $self->node_dir($i) . '/logs/error.log' or return ();
    return <$f>;
}


sub node_pid {
    my ($self, $i) = @_;

    open my $f, '<', $self->node_dir($i) . '/logs/nginx.pid' or return;
    my $pid = <$f>;
    chomp $pid if defined $pid;

    return $pid;
}


# the worker processes of a node's master
sub node_workers {
    my ($self, $i) = @_;

    my $master = $self->node_pid($i) or return ();
    my @pids;

    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $f, '<', $stat or next;
        my $line = <$f>;
        next unless defined $line && $line =~ /^(\d+) \(.*?\) \S (\d+)/;
        push @pids, $1 if $2 == $master;
    }

    return sort { $a <=> $b } @pids;
}


sub node_stop {
    my ($self, $i) = @_;

    delete $self->{nodes}{$i} or return;

    my $pid = $self->node_pid($i) or return;
    kill 'QUIT', $pid;

    my $deadline = time + 15;
    while (kill(0, $pid) && time < $deadline) {
        sleep 0.05;
    }

    kill 'KILL', $pid if kill 0, $pid;
}


sub stop_all {
    my ($self) = @_;

    $self->node_stop($_) for keys %{ $self->{nodes} };
    $self->nats_stop($_, 'TERM') for keys %{ $self->{nats} };
}


sub DESTROY {
    my ($self) = @_;

    local $?;
    $self->stop_all;
}


# -- HTTP --------------------------------------------------------------

# (status, decoded JSON body or undef, raw response)
sub request {
    my ($self, $i, $method, $path, $body) = @_;

    my %o = (headers => {});

    if (defined $body) {
        $o{content} = ref $body ? $self->{json}->encode($body) : $body;
        $o{headers}{'Content-Type'} = 'application/json';
    }

    my $res = $self->{http}->request($method,
                                     'http://127.0.0.1:'
                                     . $self->node_port($i) . $path, \%o);

    my $json = eval { $self->{json}->decode($res->{content}) };

    return ($res->{status}, $json, $res);
}


sub shorten {
    my ($self, $i, $body) = @_;

    return $self->request($i, 'POST', '/shorten', $body);
}


# MCP over Streamable HTTP: a session on node i, then JSON-RPC calls in it
sub mcp_session {
    my ($self, $i) = @_;

    my ($status, $json, $res) = $self->mcp_post($i, undef, {
        jsonrpc => '2.0', id => 1, method => 'initialize',
        params => { protocolVersion => '2025-06-18', capabilities => {},
                    clientInfo => { name => 'cluster-test',
                                    version => '1' } } });

    return $status == 200 ? $res->{headers}{'mcp-session-id'} : undef;
}


sub mcp_post {
    my ($self, $i, $session, $msg) = @_;

    my %h = ('Content-Type' => 'application/json',
             'Accept' => 'application/json, text/event-stream',
             'MCP-Protocol-Version' => '2025-06-18');
    $h{'Mcp-Session-Id'} = $session if defined $session;

    my $res = $self->{http}->request('POST', 'http://127.0.0.1:'
                                     . $self->node_port($i) . '/mcp',
                                     { headers => \%h,
                                       content => $self->{json}->encode($msg) });

    my $json = eval { $self->{json}->decode($res->{content}) };

    return ($res->{status}, $json, $res);
}


# tools/call: the "result" object, or undef
sub mcp_tool {
    my ($self, $i, $session, $name, $args) = @_;

    my ($status, $json) = $self->mcp_post($i, $session, {
        jsonrpc => '2.0', id => 2, method => 'tools/call',
        params => { name => $name, arguments => $args } });

    return $json ? $json->{result} : undef;
}


# DELETE /mcp: the status
sub mcp_end {
    my ($self, $i, $session) = @_;

    my $res = $self->{http}->request('DELETE', 'http://127.0.0.1:'
                                     . $self->node_port($i) . '/mcp',
                                     { headers => {
                                         'Mcp-Session-Id' => $session,
                                         'MCP-Protocol-Version'
                                             => '2025-06-18' } });

    return $res->{status};
}


# POST /shorten again while the answer is 503 ("nothing was saved, try
# again"), for up to timeout seconds: what a client does
sub shorten_retry {
    my ($self, $i, $body, $timeout) = @_;

    my @r;
    my $deadline = time + ($timeout || 10);

    do {
        @r = $self->shorten($i, $body);
        return @r unless $r[0] == 503;
        sleep 0.1;
    } while (time < $deadline);

    return @r;
}


# GET /code without following: (status, Location)
sub visit {
    my ($self, $i, $code) = @_;

    my $res = HTTP::Tiny->new(timeout => 10, max_redirect => 0)
                  ->get('http://127.0.0.1:' . $self->node_port($i) . "/$code");

    return ($res->{status}, $res->{headers}{location});
}


# Polls cb every step seconds until it returns true or timeout seconds
# pass: how long it took, or undef.
sub wait_for {
    my ($timeout, $cb, $step) = @_;

    my $start = time;

    while (1) {
        return time - $start if $cb->();
        return undef if time - $start > $timeout;
        sleep($step || 0.05);
    }
}


# until every worker of the node has subscribed to the stream (each says
# so in the error log once), and the node answers a write with 201
sub wait_writable {
    my ($self, $i, $timeout) = @_;

    my $log = $self->node_dir($i) . '/logs/error.log';
    my $from = $self->{logged}{$i} || 0;

    my $ready = wait_for($timeout || 30, sub {
        open my $f, '<', $log or return 0;
        seek $f, $from, 0;
        my $n = grep { /mcp_cluster: node "node$i" connected/ } <$f>;
        return $n >= $self->{workers};
    }, 0.1);

    return undef unless defined $ready;

    return wait_for($timeout || 30, sub {
        my ($status) = $self->shorten($i, { url => 'https://probe.example/' });
        return $status == 201;
    }, 0.2);
}


sub wait_port {
    my ($port, $timeout) = @_;

    return wait_for($timeout, sub {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port, Proto => 'tcp');
        return defined $s;
    });
}


# -- stores ------------------------------------------------------------

# "code<TAB>url" lines of a node's store, in code order
sub store_list {
    my ($self, $i) = @_;

    my $dir = $self->store_dir($i);
    my @lines = `$self->{cli} list $dir 2>/dev/null`;
    chomp @lines;

    return @lines;
}


# the link as mcp-store get prints it, decoded
sub store_get {
    my ($self, $i, $code) = @_;

    my $dir = $self->store_dir($i);
    my $out = `$self->{cli} get $dir $code 2>/dev/null`;

    return $? ? undef : eval { $self->{json}->decode($out) };
}


# every link of the store with its counts: one string to compare
sub store_dump {
    my ($self, $i) = @_;

    my $dir = $self->store_dir($i);
    my $out = `$self->{cli} dump $dir 2>/dev/null`;

    return $? ? undef : $out;
}


# "database<TAB>entries<TAB>hash" lines of every database of a node's
# store but its own bookkeeping (mcp-store digest): one string to compare
sub store_digest {
    my ($self, $i) = @_;

    my $out = `$self->{cli} digest @{[ $self->store_dir($i) ]} 2>/dev/null`;
    return $? ? undef : $out;
}


# "id<TAB>protocol<TAB>client<TAB>last_seen" lines of a node's sessions
sub store_sessions {
    my ($self, $i) = @_;

    my $dir = $self->store_dir($i);
    my $out = `$self->{cli} sessions $dir 2>/dev/null`;

    return $? ? undef : $out;
}


sub store_applied {
    my ($self, $i) = @_;

    my $dir = $self->store_dir($i);
    my $out = `$self->{cli} stat $dir 2>/dev/null`;

    return $out =~ /^applied: (\d+)$/m ? $1 : undef;
}


# runs n jobs in up to procs child processes; each job's cb returns a
# line; returns the lines in job order
sub parallel {
    my ($n, $procs, $cb) = @_;

    my @kids;

    for my $p (0 .. $procs - 1) {
        pipe my $r, my $w or die "pipe: $!";
        my $pid = fork;
        die "fork: $!" unless defined $pid;

        if ($pid == 0) {
            close $r;
            for (my $j = $p; $j < $n; $j += $procs) {
                my $line = $cb->($j);
                print $w "$j\t$line\n";
            }
            close $w;
            POSIX::_exit(0);
        }

        close $w;
        push @kids, [$pid, $r];
    }

    my @out;

    for my $k (@kids) {
        my $fh = $k->[1];
        while (my $line = <$fh>) {
            chomp $line;
            my ($j, $v) = split /\t/, $line, 2;
            $out[$j] = $v;
        }
        waitpid $k->[0], 0;
    }

    return @out;
}


1;
