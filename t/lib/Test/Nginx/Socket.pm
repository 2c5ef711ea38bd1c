package Test::Nginx::Socket;

# A small, self-contained runner for .t files written in the
# Test::Nginx::Socket data format (see the POD at the end of this file).
# It is only picked up when the real Test::Nginx is not installed.

use strict;
use warnings;

# "-base" (lower case) makes this package a Test::Base subclass and gives it
# Test::Base's exports (blocks, plan, is, like, ...), without Spiffy's
# source filter.  Everything in @EXPORT below, plus Test::Base's own
# exports, reaches the .t file that says "use Test::Nginx::Socket".
use Test::Base -base;

our $VERSION = '0.01';

use Carp ();
use File::Spec ();
use File::Path qw(make_path remove_tree);
use File::Find ();
use File::Temp ();
use IO::Select ();
use IO::Socket::INET ();
use List::Util ();
use POSIX qw(SIGQUIT SIGTERM SIGKILL SIGHUP SIGUSR1 WNOHANG EAGAIN
             EWOULDBLOCK EINTR);
use Scalar::Util qw(looks_like_number);
use Time::HiRes ();

our @EXPORT = qw(
    run_tests repeat_each worker_connections workers master_on master_off
    master_process_enabled log_level no_shuffle no_root_location
    no_long_string server_name server_addr server_port server_port_for_client
    server_root html_dir timeout env_to_nginx add_block_preprocessor
    config_preamble use_hup no_nginx_manager check_accum_error_log bail_out
    add_cleanup_handler add_test_cleanup_handler add_response_body_check
    is_str
);

# ---------------------------------------------------------------------------
# settings

our $NginxBinary          = $ENV{TEST_NGINX_BINARY} || 'nginx';
our $Workers              = 1;
our $WorkerConnections    = 64;
our $LogLevel             = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $MasterProcessEnabled = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $ServerAddr           = '127.0.0.1';
our $ServerName           = 'localhost';
our $Randomize            = $ENV{TEST_NGINX_RANDOMIZE};
our $ServerPort           = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT}
                            || 1984;
our $ServerPortForClient  = $ENV{TEST_NGINX_CLIENT_PORT} || $ServerPort;
our $NoRootLocation       = 0;
our $NoShuffle            = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
our $RepeatEach           = 1;
our $Timeout              = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $TestNginxSleep       = $ENV{TEST_NGINX_SLEEP} || 0.015;
our $UseHup               = $ENV{TEST_NGINX_USE_HUP};
our $NoNginxManager       = $ENV{TEST_NGINX_NO_NGINX_MANAGER} || 0;
our $CheckAccumErrLog     = $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG};
our $ForceRestartOnTest   = defined $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST}
                            ? $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} : 1;
our $LoadModules          = $ENV{TEST_NGINX_LOAD_MODULES};
our $WorkerUser           = $ENV{TEST_NGINX_WORKER_USER};
our $Verbose              = $ENV{TEST_NGINX_VERBOSE};
our $NoLongString;
our $ConfigPreamble       = '';
our (@EnvToNginx, @BlockPreprocessors, @CleanupHandlers, @TestCleanupHandlers,
     @ResponseBodyChecks);

if (defined $WorkerUser && $WorkerUser !~ /^\w[-\w]+(?:\s+\w[-\w]+)?$/) {
    die "Bad value in the env TEST_NGINX_WORKER_USER: $WorkerUser\n";
}

srand($$ ^ time);

if ($Randomize) {
    $ServerPort = gen_rand_port(1000, {})
        or die "Cannot find an available listening port number.\n";
    $ServerPortForClient = $ServerPort;
}

our $ServRoot = $Randomize
    ? File::Spec->rel2abs("t/servroot_$ServerPort")
    : File::Spec->rel2abs($ENV{TEST_NGINX_SERVROOT} || 't/servroot');
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;

our $LogDir     = "$ServRoot/logs";
our $ErrLogFile = "$LogDir/error.log";
our $AccLogFile = "$LogDir/access.log";
our $HtmlDir    = "$ServRoot/html";
our $ConfDir    = "$ServRoot/conf";
our $ConfFile   = "$ConfDir/nginx.conf";
our $PidFile    = "$LogDir/nginx.pid";
our $CacheDir   = "$ServRoot/cache";

# state
our ($NginxVersion, $NginxV, $PrevConfig, $ConfigVersion, $RandPorts);
our $FirstTime = 1;
our $ErrLogFilePos = 0;
our $TotalConnectingTimeouts = 0;

# Upstream keeps these variables in Test::Nginx::Util; make the fully
# qualified names used by some .t files work here too.
{
    no strict 'refs';
    for my $v (qw(ServerPort ServerPortForClient ServRoot PidFile ConfFile
                  ErrLogFile NginxVersion RepeatEach NoLongString ServerAddr
                  ServerName))
    {
        *{"Test::Nginx::Util::$v"} = \${"Test::Nginx::Socket::$v"};
    }
}

# ---------------------------------------------------------------------------
# exported settings helpers

sub repeat_each (@) { $RepeatEach = shift if @_; $RepeatEach }
sub workers (@) { if (@_) { $Workers = shift; return } $Workers }
sub worker_connections (@) {
    if (@_) { $WorkerConnections = shift; return } $WorkerConnections
}
sub master_on () { $MasterProcessEnabled = 'on' }
sub master_off () { $MasterProcessEnabled = 'off' }
sub master_process_enabled (@) {
    if (@_) { $MasterProcessEnabled = shift() ? 'on' : 'off'; return }
    $MasterProcessEnabled;
}
sub log_level (@) { if (@_) { $LogLevel = shift; return } $LogLevel }
sub no_shuffle () { $NoShuffle = 1 }
sub no_root_location () { $NoRootLocation = 1 }
sub no_long_string () { $NoLongString = 1 }
sub server_name (@) { if (@_) { $ServerName = shift; return } $ServerName }
sub server_addr (@) { if (@_) { $ServerAddr = shift; return } $ServerAddr }
sub server_port (@) { if (@_) { $ServerPort = shift; return } $ServerPort }
sub server_port_for_client (@) {
    if (@_) { $ServerPortForClient = shift; return } $ServerPortForClient
}
sub server_root () { $ServRoot }
sub html_dir () { $HtmlDir }
sub timeout (@) { if (@_) { $Timeout = shift; return } $Timeout }
sub use_hup () { $UseHup = 1 }
sub no_nginx_manager () { $NoNginxManager = 1 }
sub check_accum_error_log () { $CheckAccumErrLog = 1 }
sub config_preamble ($) { $ConfigPreamble = shift }
sub add_block_preprocessor (&) { unshift @BlockPreprocessors, shift }
sub add_cleanup_handler ($) { unshift @CleanupHandlers, shift }
sub add_test_cleanup_handler ($) { unshift @TestCleanupHandlers, shift }
sub add_response_body_check ($) { push @ResponseBodyChecks, shift }

sub env_to_nginx (@) {
    Carp::croak("env_to_nginx: no arguments specified") if !@_;
    for my $v (@_) {
        Carp::croak("env_to_nginx: bad argument value: $v\n")
            if $v !~ /^[A-Za-z_]/ || $v =~ /\n/;
        push @EnvToNginx, $v;
    }
}

sub is_str (@) {
    my ($got, $expected, $desc) = @_;
    if (ref $expected && ref $expected eq 'Regexp') {
        return Test::More::like($got, $expected, $desc);
    }
    return Test::More::is($got, $expected, $desc);
}

sub bail_out (@) {
    cleanup();
    Test::More::BAIL_OUT(join '', @_);
}

# ---------------------------------------------------------------------------
# small utilities

sub vwarn { warn @_ if $Verbose }

sub no_ending { Test::More->builder->no_ending(1) }

# A zombie (exited, not yet reaped by its parent) counts as gone: its
# sockets and files are already closed.
sub is_running {
    my $pid = shift;
    return 0 if !$pid || !kill(0, $pid);
    if (open my $in, '<', "/proc/$pid/stat") {
        my $stat = <$in> // '';
        return 0 if $stat =~ /^\d+ \(.*\) Z/s;
    }
    return 1;
}

sub canon_version { sprintf "%d.%03d%03d", @_[0 .. 2] }

sub parse_time {
    my $tm = shift;
    return $tm if !defined $tm;
    if ($tm =~ s/([^_a-zA-Z])ms$/$1/) {
        $tm = $tm / 1000;
    } else {
        $tm =~ s/([^_a-zA-Z])s$/$1/;
    }
    return $tm;
}

sub fmt_str {
    my $str = shift;
    chomp $str;
    $str =~ s/"/\\"/g;
    $str =~ s/\r/\\r/g;
    $str =~ s/\n/\\n/g;
    return $str;
}

sub trim_str {
    my $s = shift;
    return undef if !defined $s;
    $s =~ s/^\s+|\s+$//g;
    $s =~ s/\n/ /gs;
    $s =~ s/\s{2,}/ /gs;
    return $s;
}

sub gen_rand_port {
    my ($tries, $used) = @_;
    for (1 .. $tries) {
        my $port = int(rand 63547) + 1988;
        next if $used->{$port};
        my $sock = IO::Socket::INET->new(LocalAddr => $ServerAddr,
                                         LocalPort => $port, Proto => 'tcp',
                                         Listen => 5, Reuse => 1);
        if ($sock) {
            close $sock;
            return $port;
        }
    }
    return undef;
}

sub gen_rand_str {
    my $len = shift;
    my @chars = ('A' .. 'Z', 'a' .. 'z', '0' .. '9');
    return join '', map { $chars[rand @chars] } 1 .. $len;
}

# Replace $TEST_NGINX_FOO by the environment variable's value (bail out if
# it is not set); $TEST_NGINX_RAND_PORT_N gets a free port, fixed per block.
sub expand_env {
    my ($text, $name) = @_;
    return undef if !defined $text;
    my $used = { $ServerPort => 1, map { $_ => 1 } values %{ $RandPorts || {} } };
    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        my $var = $1;
        my $val;
        if ($var =~ /^TEST_NGINX_RAND_PORT_[0-9]+$/) {
            $RandPorts ||= {};
            $val = $RandPorts->{$var} //= do {
                my $p = gen_rand_port(1000, $used);
                bail_out("$name - Cannot find an available listening port "
                         . "number for $var.\n") if !defined $p;
                $used->{$p} = 1;
                $p;
            };
        } else {
            bail_out("$name - No environment $var defined.\n")
                if !defined $ENV{$var};
            $val = $ENV{$var};
        }
        $val;
    }ge;
    return $text;
}

sub nginx_version {
    $NginxV = `$NginxBinary -V 2>&1`;
    if (!defined $NginxV || $? != 0) {
        bail_out("Failed to get the version of the Nginx in PATH: "
                 . ($NginxV // ''));
    }
    if ($NginxV =~ m{(?:nginx|openresty)[^/]*/(\d+)\.(\d+)\.(\d+)}s
        || $NginxV =~ m{\w+/(\d+)\.(\d+)\.(\d+)}s)
    {
        return canon_version($1, $2, $3);
    }
    bail_out("Failed to parse the output of \"nginx -V\": $NginxV\n");
}

sub read_pid {
    open my $in, '<', $PidFile or return undef;
    my $pid = do { local $/; <$in> };
    close $in;
    return undef if !defined $pid;
    $pid =~ s/\s+//g;
    return $pid =~ /^\d+$/ ? $pid : undef;
}

# Stop a process: QUIT (TERM with TEST_NGINX_FAST_SHUTDOWN), wait up to
# timeout() seconds for it to go away, then KILL.
sub kill_process {
    my ($pid, $name) = @_;
    return if !is_running($pid);
    vwarn("sending QUIT/TERM signal to $pid\n");
    kill($ENV{TEST_NGINX_FAST_SHUTDOWN} ? SIGTERM : SIGQUIT, $pid);
    my $left = $Timeout;
    while ($left > 0 && is_running($pid)) {
        waitpid($pid, WNOHANG);
        Time::HiRes::sleep(0.05);
        $left -= 0.05;
    }
    if (is_running($pid)) {
        warn "$name - timeout when waiting for the process $pid to exit\n";
        kill(SIGKILL, $pid);
        for (1 .. 40) {
            waitpid($pid, WNOHANG);
            last if !is_running($pid);
            Time::HiRes::sleep(0.05);
        }
    }
}

sub cleanup {
    $_->() for @CleanupHandlers;
}

# ---------------------------------------------------------------------------
# server root and nginx.conf

sub setup_server_root {
    my $first_time = shift;

    if (-d $ServRoot) {
        remove_tree($ConfDir, glob("$ServRoot/*_cache"), glob("$ServRoot/*_temp"));
        if ($UseHup) {
            # keep the running nginx's pid file (and sockets/certs) around
            File::Find::find({ bydepth => 1, no_chdir => 1, wanted => sub {
                return if -d $_;
                return if !$first_time
                          && /(?:\bnginx\.pid|\.sock|\.crt|\.key)$/;
                unlink $_ or warn "Failed to remove $_\n";
            } }, $ServRoot);
        } else {
            remove_tree($CacheDir, $HtmlDir, $LogDir);
            rmdir $ServRoot
                or bail_out("Can't remove $ServRoot (not empty?): $!");
        }
    }

    for my $dir ($ServRoot, $LogDir, $HtmlDir) {
        next if -d $dir;
        make_path($dir) or bail_out("Failed to do mkdir $dir\n");
    }

    my $index = "$HtmlDir/index.html";
    open my $out, '>', $index or bail_out("Can't open $index for writing: $!\n");
    print $out '<html><head><title>It works!</title></head>'
               . '<body>It works!</body></html>';
    close $out;

    mkdir $ConfDir or bail_out("Failed to do mkdir $ConfDir\n");
}

sub run_post_setup {
    my $block = shift;
    if ($block->post_setup_server_root) {
        eval $block->post_setup_server_root;
        bail_out($block->name . " - post_setup_server_root failed: $@") if $@;
    }
}

sub write_user_files {
    my $block = shift;
    my $name  = $block->name;
    my $files = $block->user_files or return;

    if (!ref $files) {
        my @list;
        my ($fname, $body, $date);
        for my $line (split /^/m, $files) {
            if ($line =~ /^>>> (\S+)(?:\s+(.+))?/) {
                push @list, [$fname, $body, $date] if $fname;
                ($fname, $date, $body) = ($1, $2, undef);
            } else {
                $body .= $line;
            }
        }
        push @list, [$fname, $body, $date] if $fname;
        $files = \@list;
    } elsif (ref $files ne 'ARRAY') {
        bail_out("$name - wrong value type: ", ref $files,
                 ", only scalar or ARRAY are accepted");
    }

    for my $file (@$files) {
        my ($fname, $body, $date) = @$file;
        $body = '' if !defined $body;
        my $path = $fname =~ m{^/} ? $fname : "$HtmlDir/$fname";
        if ($path =~ m{(.*)/} && !-d $1) {
            make_path($1) or bail_out("$name - Cannot create directory $1");
        }
        $body = expand_env($body, $name);
        open my $out, '>', $path
            or bail_out("$name - Cannot open $path for writing: $!\n");
        binmode $out;
        print $out $body;
        close $out;
        if ($date) {
            local $ENV{TZ} = 'GMT';
            system('touch', '-t', $date, $path) == 0
                or bail_out("Failed to touch $path with date $date\n");
        }
    }
}

sub write_config_file {
    my ($block, $config) = @_;
    my $name = $block->name;

    local $MasterProcessEnabled = $MasterProcessEnabled;
    $MasterProcessEnabled = 'on' if $UseHup;   # reloading needs a master

    my $http_config = expand_env(scalar($block->http_config), $name) // '';
    my $main_config = expand_env(scalar($block->main_config), $name) // '';
    my $post_main_config = expand_env(scalar($block->post_main_config), $name) // '';
    $config = '' if !defined $config;

    my $server_name = scalar($block->server_name) // $ServerName;
    (my $quoted_server_name = $server_name) =~ s/\\/\\\\/g;
    $quoted_server_name =~ s/'/\\'/g;

    my $load_modules = '';
    if ($LoadModules) {
        for my $mod (grep { length } split /\s+/, $LoadModules) {
            # a path relative to the current directory is made absolute,
            # since nginx would resolve it against the server root
            $mod = File::Spec->rel2abs($mod)
                if !File::Spec->file_name_is_absolute($mod) && -e $mod;
            $load_modules .= "load_module $mod;\n";
        }
    }

    my $env = '';
    for my $v (@EnvToNginx) {
        $env .= $v =~ /\s/ ? "env '$v';\n" : "env $v;\n";
    }

    my $temp_paths = '';
    for my $t (qw(client_body proxy fastcgi scgi uwsgi)) {
        next if $t =~ /^(fastcgi|scgi|uwsgi)$/
                && ($NginxV // '') =~ /--without-http_${t}_module/;
        next if $t =~ /^(client_body|proxy)$/ && $http_config =~ /\b${t}_temp_path\b/;
        $temp_paths .= " ${t}_temp_path $ServRoot/${t}_temp;";
    }

    my $root_location = $NoRootLocation ? '' : <<_EOC_;
        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
_EOC_

    my $hup_server = !$UseHup ? '' : <<_EOC_;
    server {
        listen          $ServerAddr:$ServerPort;
        server_name     'Test-Nginx';

        location = /ver {
            return 200 '$ConfigVersion';
        }
    }
_EOC_

    my $user = '';
    if (defined $WorkerUser) {
        $user = "user $WorkerUser;\n";
    } elsif ($> == 0) {
        $user = "user root;\n";
    }

    open my $out, '>', $ConfFile
        or bail_out("Can't open $ConfFile for writing: $!\n");
    print $out <<_EOC_;
${load_modules}worker_processes  $Workers;
daemon on;
master_process $MasterProcessEnabled;
error_log $ErrLogFile $LogLevel;
pid       $PidFile;
$env
$main_config

http {
    access_log $AccLogFile;$temp_paths

    default_type text/plain;
    keepalive_timeout  68000ms;

$http_config
    server {
        listen          $ServerAddr:$ServerPort;
        server_name     '$quoted_server_name';
        client_max_body_size 30M;

        # Begin preamble config...
$ConfigPreamble
        # End preamble config...

        # Begin test case config...
$config
        # End test case config.

$root_location    }
$hup_server}

$post_main_config

events {
    accept_mutex off;

    worker_connections  $WorkerConnections;
}
$user
_EOC_
    close $out;
}

# Run the nginx binary once; returns the wait status and its stderr.
sub exec_nginx {
    my @cmd = ($NginxBinary, '-p', "$ServRoot/", '-c', $ConfFile);
    # -e (nginx >= 1.19.5) sends the errors of the start itself to the
    # test's error.log instead of the compiled-in default path
    push @cmd, '-e', $ErrLogFile if $NginxVersion >= 1.019005;
    vwarn("starting: @cmd\n");

    my $errfh = File::Temp->new(TMPDIR => 1, SUFFIX => '.nginx-stderr');
    my $pid = fork();
    bail_out("fork() failed: $!") if !defined $pid;
    if ($pid == 0) {
        no warnings q(exec);
        open STDOUT, '>', '/dev/null';
        open STDERR, '>&', $errfh;
        exec { $cmd[0] } @cmd;
        POSIX::_exit(127);
    }
    waitpid($pid, 0);
    my $status = $?;
    seek $errfh, 0, 0;
    my $stderr = do { local $/; <$errfh> } // '';
    return ($status, $stderr, "@cmd");
}

# ---------------------------------------------------------------------------
# the main loop

sub run_tests () {
    $NginxVersion = nginx_version();
    $ENV{TEST_NGINX_SERVER_PORT} = $ServerPort
        if !defined $ENV{TEST_NGINX_SERVER_PORT};

    my @blocks = Test::Base::blocks();
    @blocks = List::Util::shuffle(@blocks) if !$NoShuffle;

    for my $block (@blocks) {
        $_->($block) for @BlockPreprocessors;
        $block->set_value(name => "$0 " . $block->name);
        run_block($block);
        $_->($block) for @TestCleanupHandlers;
    }

    cleanup();
}

my %Unsupported = map { $_ => 1 } qw(
    pipelined_requests shutdown_error_log no_shutdown_error_log
    tcp_listen tcp_reply tcp_query tcp_query_len tcp_shutdown udp_listen
    udp_reply udp_query stap stap_out stap_out_like stap_out_unlike
    response_body_filters http2 http3 reload_fails skip_nginx2 skip_openssl
    skip_slave todo_nginx request_eval charset http09 error_log_file
    write_resp_body_file
);

sub run_block {
    my $block = shift;
    return if defined $block->SKIP;

    my $name = $block->name;

    for my $sec (keys %$block) {
        bail_out("$name - section '--- $sec' is not supported by this "
                 . "Test::Nginx::Socket") if $Unsupported{$sec};
    }

    my $first_time = $FirstTime;
    undef $FirstTime;

    local $RandPorts = {};
    local $LogLevel = $LogLevel;
    $LogLevel = scalar($block->log_level) if $block->log_level;

    my $config = expand_env(scalar($block->config), $name);

    my $must_die = $block->must_die;
    local $UseHup = $UseHup;
    undef $UseHup if defined $must_die;

    my ($should_restart, $should_reconfig) = (1, 1);
    if (!defined $config) {
        if (!$NoNginxManager && !defined $PrevConfig) {
            bail_out("$name - No '--- config' section specified and could "
                     . "not get previous one. Use TEST_NGINX_NO_NGINX_MANAGER ?");
        }
        # keep the nginx of the previous block
        ($should_restart, $should_reconfig) = (0, 0);
    } elsif ($NoNginxManager) {
        Test::More::diag("NO_NGINX_MANAGER activated: config for $name ignored");
        ($should_restart, $should_reconfig) = (0, 0);
    } else {
        $should_reconfig = (!defined $PrevConfig || $config ne $PrevConfig);
        $should_restart = $should_reconfig || $ForceRestartOnTest;
    }

    my ($tests_to_skip, $should_skip, $skip_reason);

    if (defined(my $spec = $block->skip_eval)) {
        if ($spec =~ /^\s*(\d+)\s*:\s*(.*)/s) {
            ($tests_to_skip, $skip_reason) = ($1, 'skip_eval');
            my $code = $2;
            $should_skip = eval $code;
            bail_out("$name - skip_eval - failed to eval the Perl code "
                     . "\"$code\": $@") if $@;
        }
    }

    if (defined(my $spec = $block->skip_nginx)) {
        if ($spec =~ m{^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)
                       (?:\s*:\s*(.*))?\s*$}x)
        {
            $tests_to_skip = $1;
            my ($op, $ver) = ($2, canon_version($3, $4, $5));
            $skip_reason = $6 || "nginx version $op $3.$4.$5";
            $should_skip = 1 if eval "$NginxVersion $op $ver";
        } else {
            bail_out("$name - Invalid --- skip_nginx spec: $spec");
        }
    }

    $skip_reason //= 'various reasons';

    my ($should_todo, $todo_reason);
    if (defined(my $todo = $block->todo)) {
        if ($todo =~ /^\s*(\d+)\s*:\s*(.*)/s) {
            ($should_todo, $tests_to_skip, $todo_reason) = (1, $1, $2);
        } else {
            bail_out("$name - Invalid --- todo spec: $todo");
        }
    }

    if (!$NoNginxManager && !$should_skip && $should_restart) {
        $ConfigVersion = gen_rand_str(10) if $UseHup;
        $PrevConfig = $config if $should_reconfig;

        my $reloaded = 0;
        my $pid = read_pid();
        if (defined $pid && is_running($pid)) {
            if ($UseHup && !$first_time) {
                $reloaded = reload_nginx($block, $config, $pid);
            }
            kill_process($pid, $name) if !$reloaded;
        } elsif (-f $PidFile) {
            unlink $PidFile or warn "WARNING: failed to remove pid file $PidFile\n";
        }

        if (!$reloaded) {
            setup_server_root($first_time);
            run_post_setup($block);
            write_user_files($block);
            write_config_file($block, $config);

            if (defined $must_die) {
                run_must_die($block, $must_die);
                return;
            }

            start_nginx($name);
        }
    }

    if ($block->init) {
        eval $block->init;
        bail_out("$name - init failed: $@") if $@;
    }

    $ErrLogFilePos = 0;
    for my $i (0 .. $RepeatEach - 1) {
        write_user_files($block) if $i > 0;

        if ($should_skip && defined $tests_to_skip) {
            SKIP: {
                Test::More::skip("$name - $skip_reason", $tests_to_skip);
            }
        } elsif ($should_todo) {
            TODO: {
                Test::More::todo_skip("$name - $todo_reason", $tests_to_skip);
            }
        } else {
            run_requests($block, $i);
        }
    }
}

sub start_nginx {
    my $name = shift;
    my $waited = 0;
    while (1) {
        my ($status, $stderr, $cmd) = exec_nginx();
        print STDERR $stderr if length $stderr;
        last if $status == 0;
        # the previous instance's port may take a moment to be released
        if ($stderr =~ /Address already in use/ && $waited < 10) {
            Time::HiRes::sleep(0.2);
            $waited += 0.2;
            next;
        }
        bail_out("$name - Cannot start nginx using command \"$cmd\" "
                 . "(status code $status).");
    }
    Time::HiRes::sleep($TestNginxSleep);
}

# TEST_NGINX_USE_HUP: rewrite the config, reopen the logs and reload the
# running master; returns true once the new config answers.
sub reload_nginx {
    my ($block, $config, $pid) = @_;
    my $name = $block->name;

    setup_server_root(0);
    run_post_setup($block);
    write_user_files($block);
    write_config_file($block, $config);

    vwarn("sending USR1 and HUP to $pid\n");
    if (!kill(SIGUSR1, $pid)) {
        warn "$name - Failed to send USR1 signal\n";
        return 0;
    }
    Time::HiRes::sleep($TestNginxSleep);
    if (!kill(SIGHUP, $pid)) {
        vwarn("$name - Failed to send HUP signal\n");
        return 0;
    }
    Time::HiRes::sleep($TestNginxSleep * 3);

    # The generated config has a "Test-Nginx" server answering /ver with a
    # random string: wait until all workers serve the new one.
    my ($total, $nsucc) = (200, 0);
    for my $tries (1 .. $total) {
        my $ver = fetch_config_version();
        if (defined $ver && $ver eq $ConfigVersion) {
            $nsucc++;
            Time::HiRes::sleep($TestNginxSleep) if $nsucc == 5;
            return 1 if $nsucc >= 20;
            next;
        }
        $nsucc = 0;
        my $wait = ($TestNginxSleep + $TestNginxSleep * $tries) * $tries / 2;
        $wait = 1 if $wait > 1;
        warn "$name - waiting $wait sec for nginx to reload the configuration\n"
            if $wait > 0.5;
        Time::HiRes::sleep($wait);
    }
    no_ending();
    Test::More::fail("$name - failed to reload configuration after $total "
                     . "failed test requests");
    return 1;
}

sub fetch_config_version {
    my $sock = IO::Socket::INET->new(PeerAddr => $ServerAddr,
                                     PeerPort => $ServerPort,
                                     Proto => 'tcp', Timeout => 2)
        or return undef;
    local $SIG{PIPE} = 'IGNORE';
    print $sock "GET /ver HTTP/1.0\r\nHost: Test-Nginx\r\n\r\n";
    my $sel = IO::Select->new($sock);
    my $resp = '';
    while ($sel->can_read(2)) {
        my $n = sysread($sock, my $buf, 4096);
        last if !$n;
        $resp .= $buf;
    }
    close $sock;
    return $resp =~ /\A HTTP\/1\.\d \s+ 200 \b .*? \r\n\r\n (.*) \z/xs
        ? $1 : undef;
}

sub run_must_die {
    my ($block, $must_die) = @_;
    my $name = $block->name;

    $ErrLogFilePos = 0;
    for my $i (0 .. $RepeatEach - 1) {
        my ($status, $stderr) = exec_nginx();

        if ($status == -1) {
            Test::More::fail("$name - failed to execute the nginx command line");
        } elsif ($status & 127) {
            Test::More::fail("$name - nginx core dumped");
        } elsif (looks_like_number($must_die)) {
            Test::More::is($must_die, $status >> 8,
                           "$name - die with the expected exit code");
        } else {
            Test::More::isnt($status, 0, "$name - die as expected");
        }

        check_error_log($block, undef, $i, 0, $stderr);

        if ($status == 0) {
            warn "WARNING: $name - nginx must die but it does not; "
                 . "killing it (req $i)\n";
            for (1 .. 15) {
                last if -f $PidFile;
                Time::HiRes::sleep($TestNginxSleep);
            }
            kill_process(read_pid(), $name);
        }
    }
}

# ---------------------------------------------------------------------------
# requests

sub parse_more_headers {
    my $in = shift;
    my ($out, $is_chunked) = ('', undef);
    for my $header (split /\n+/, $in) {
        next if $header =~ /^\s*\#/;
        my ($key, $val) = split /:\s*/, $header, 2;
        $val = '' if !defined $val;
        $is_chunked = 1 if lc($key) eq 'transfer-encoding' && $val eq 'chunked';
        $out .= "$key: $val\r\n";
    }
    return ($out, $is_chunked);
}

# Turn "METHOD [URI [VERSION]]\nbody" into a full HTTP request.
sub build_request {
    my ($name, $hdr, $is_chunked, $text) = @_;

    $text = '' if !defined $text;
    my ($first, $content) = $text =~ /\A([^\n]*\n?)(.*)\z/s;
    bail_out("$name - Request line should be non-empty") if !length $first;

    $first =~ /^(\s*)(\S+)( *)((\S+)( *))?((\S+)( *))?(\s*)$/
        or bail_out("$name - Request line is not valid. Should be "
                    . "'meth [url [version]]' but got \"$first\".");
    my ($meth, $url, $ver) = ($2, $5 // '/', $8 // 'HTTP/1.1');

    my $len_header = '';
    if (!$is_chunked && $content ne ''
        && $hdr !~ /(?:^|\n)Content-Length:/)
    {
        $content =~ s/^\s+|\s+$//gs;
        $len_header = "Content-Length: " . length($content) . "\r\n";
    }

    $hdr =~ s/(?<!\r)\n/\r\n/gs;
    my $headers = '';
    $headers .= "Host: $ServerName\r\n" if $hdr !~ /(?:^|\n)Host:/msi;
    $headers .= "Connection: close\r\n" if $hdr !~ /(?:^|\n)Connection/msi;
    $headers .= "$hdr$len_header\r\n";

    return "$meth $url $ver\r\n$headers$content";
}

# Returns a list of requests, each a list of packets {value, delay_before}.
sub requests_of_block {
    my $block = shift;
    my $name = $block->name;

    if (defined(my $raw = $block->raw_request)) {
        return [[ map { { value => $_ } } @$raw ]] if ref $raw eq 'ARRAY';
        return [[ { value => $raw } ]];
    }

    my $request = $block->request;
    if (defined $request && !ref $request) {
        1 while $request =~ s/^\s*\#[^\n]+\s+|^\s+//gs;
    }

    my $more_headers = scalar($block->more_headers) || '';
    my $headers_for = sub {
        my $i = shift;
        my $h = $more_headers;
        if (ref $h eq 'ARRAY') {
            $h = $h->[$i];
            bail_out("--- more_headers lacks data for the "
                     . ($i ? "${i}th request" : "request")) if !defined $h;
        }
        return parse_more_headers($h);
    };

    if (!ref $request) {
        my ($hdr, $chunked) = $headers_for->(0);
        return [[ { value => build_request($name, $hdr, $chunked, $request) } ]];
    }

    bail_out("$name - invalid ---request : MUST be string or array of requests")
        if ref $request ne 'ARRAY';

    my @reqs;
    my $i = 0;
    for my $one (@$request) {
        my ($hdr, $chunked) = $headers_for->($i++);
        if (!ref $one) {
            push @reqs, [ { value => build_request($name, $hdr, $chunked, $one) } ];
        } elsif (ref $one eq 'ARRAY') {
            # a request given as packets: sent in one go here
            my $text = join '', map {
                ref $_ eq 'HASH' ? $_->{value}
                : !ref $_ ? $_
                : bail_out("$name - Invalid syntax. $_ should be a string "
                           . "or hash with value.")
            } @$one;
            push @reqs, [ { value => build_request($name, $hdr, $chunked, $text) } ];
        } else {
            bail_out("$name - Invalid syntax. $one should be a string or an "
                     . "array of packets.");
        }
    }
    return \@reqs;
}

sub send_request {
    my ($packets, $middle_delay, $timeout, $block) = @_;
    my $name = $block->name;
    my @bits = @$packets;
    my $head_req = (join '', map { $_->{value} } @bits) =~ /^\s*HEAD\s+/ ? 1 : 0;
    my $addr = scalar($block->server_addr_for_client) // $ServerAddr;

    my $sock;
    for (my $tries = 1; ; $tries++) {
        $sock = IO::Socket::INET->new(PeerAddr => $addr,
                                      PeerPort => $ServerPortForClient,
                                      Proto => 'tcp', Timeout => $timeout);
        last if $sock;
        my $err = $!;
        if ($tries > ($TotalConnectingTimeouts ? 20 : 50)) {
            my $msg = "$name - Can't connect to $addr:$ServerPortForClient: "
                      . "$err (aborted)\n";
            bail_out($msg) if ++$TotalConnectingTimeouts >= 3;
            no_ending();
            Test::More::fail($msg);
            return (undef, $head_req);
        }
        my $wait = ($TestNginxSleep + $TestNginxSleep * $tries) * $tries / 2;
        $wait = 1 if $wait > 1;
        warn "$name - Can't connect to $addr:$ServerPortForClient: $err\n"
            if $wait >= 0.6;
        Time::HiRes::sleep($wait);
    }

    local $SIG{PIPE} = 'IGNORE';
    $sock->blocking(0);
    my $sel = IO::Select->new($sock);
    my ($buf, $off) = ((shift @bits)->{value}, 0);
    my $writing = 1;
    my $resp = '';

    IO: while (1) {
        $! = 0;
        my ($r, $w) = IO::Select->select($sel, $writing ? $sel : undef,
                                         undef, $timeout);
        if (!$r && !$w) {
            if ($! == EINTR) { next IO }
            if (!defined $block->abort) {
                no_ending();
                Test::More::fail("ERROR: client socket timed out - $name\n");
            } else {
                Time::HiRes::sleep(0.005);
            }
            last IO;
        }

        if ($w && @$w) {
            while ($writing) {
                if ($off < length $buf) {
                    my $n = syswrite($sock, $buf, length($buf) - $off, $off);
                    if (!defined $n) {
                        last if $! == EAGAIN || $! == EWOULDBLOCK;
                        warn "write failed: $!\n";
                        $resp = "write failed: $!" if !length $resp;
                        last IO;
                    }
                    $off += $n;
                    next;
                }
                my $next = shift @bits;
                if (!$next) {
                    $writing = 0;
                    if (defined(my $how = $block->shutdown)) {
                        $how = 1 if $how =~ /^$/s;
                        shutdown($sock, $how);
                    }
                    last;
                }
                ($buf, $off) = ($next->{value}, 0);
                my $delay = $next->{delay_before} // $middle_delay;
                Time::HiRes::sleep($delay) if $delay;
            }
        }

        if ($r && @$r) {
            while (1) {
                my $n = sysread($sock, my $chunk, 4096);
                if (!defined $n) {
                    last if $! == EAGAIN || $! == EWOULDBLOCK;
                    warn "WARNING: $name - HTTP response read failure: $!\n";
                    last IO;
                }
                last IO if $n == 0;
                $resp .= $chunk;
            }
        }
    }

    close $sock;
    return ($resp, $head_req);
}

# ---------------------------------------------------------------------------
# responses

package Test::Nginx::Socket::Response {
    sub new { my ($class, %args) = @_; bless { headers => [], %args }, $class }
    sub code { $_[0]{code} }
    sub content { my $self = shift; $self->{content} = shift if @_; $self->{content} }
    sub header {
        my ($self, $key) = @_;
        (my $want = lc $key) =~ tr/_/-/;
        my @vals;
        my $h = $self->{headers};
        for (my $i = 0; $i < @$h; $i += 2) {
            push @vals, $h->[$i + 1] if lc($h->[$i]) eq $want;
        }
        return @vals ? join(', ', @vals) : undef;
    }
}

# Returns (response, raw headers, bytes left after the body).
sub parse_response {
    my ($name, $raw, $head_req) = @_;

    my $raw_headers = $raw =~ /(.*?\r\n)\r\n/s ? $1 : '';

    # status line, then "Name: value" lines, then the body
    my $str = $raw;
    my $status_line;
    if ($str =~ s/^(.*)\n//) {
        $status_line = $1;
    } else {
        ($status_line, $str) = ($str, '');
    }
    $status_line =~ s/\r\z//;
    my $code;
    if ($status_line =~ /^\d{3} /) {
        ($code) = split ' ', $status_line, 2;
    } else {
        (undef, $code) = split ' ', $status_line, 3;
    }
    my @hdr;
    while (1) {
        if ($str =~ s/^([^\s:]+)[ \t]*: ?(.*)\n?//) {
            push @hdr, $1, $2;
            $hdr[-1] =~ s/\r\z//;
        } elsif (@hdr && $str =~ s/^([ \t].*)\n?//) {
            $hdr[-1] .= "\n$1";
            $hdr[-1] =~ s/\r\z//;
        } else {
            $str =~ s/^\r?\n//;
            last;
        }
    }
    undef $code if defined $code && $code !~ /^\d+$/;

    my $res = Test::Nginx::Socket::Response->new(code => $code,
                                                  headers => \@hdr,
                                                  content => $str);
    return ($res, $raw_headers) if $code && ($code == 304 || $code == 101);

    my $left;
    my $enc = $res->header('Transfer-Encoding');
    my $len = $res->header('Content-Length');
    my @trailers = map { s/^\s+|\s+$//gr } split /,/, $res->header('Trailer') // '';

    if (defined $enc && $enc eq 'chunked') {
        my $raw_body = $str;
        my $decoded = '';
        my $bad = sub {
            no_ending();
            Test::More::fail("$name - $_[0]");
            return;
        };
        while (1) {
            if (!@trailers && $raw_body =~ /\G 0 [\ \t]* \r\n \r\n /gcsx) {
                $left = $1 if $raw_body =~ /\G (.+) /gcsx;
                last;
            }
            if (@trailers && $raw_body =~ /\G 0 [\ \t]* \r\n /gcsx) {
                for my $t (@trailers) {
                    return $bad->("invalid trailer data received (expected $t).")
                        if $raw_body !~ /\G(\Q$t\E:\ [^\n]*\r\n)/gcs;
                }
                return $bad->("invalid chunked data received (expected CRLF).")
                    if $raw_body !~ /\G\r\n/gcs;
                $left = $1 if $raw_body =~ /\G (.+) /gcsx;
                last;
            }
            if ($raw_body =~ /\G [\ \t]* ([A-Fa-f0-9]+) [\ \t]* \r\n /gcsx) {
                my $size = hex $1;
                my $pos = pos $raw_body;
                return $bad->("invalid chunked data received "
                              . "(not enought octets for the data section)")
                    if length($raw_body) - $pos < $size;
                $decoded .= substr $raw_body, $pos, $size;
                pos($raw_body) = $pos + $size;
                return $bad->("invalid chunked data received (expected CRLF).")
                    if $raw_body !~ /\G\r\n/gcs;
            } elsif ($raw_body =~ /\G(.+)/gcs) {
                return $bad->("invalid chunked body received: $1");
            } else {
                return $bad->("no last chunk found - $raw_body");
            }
        }
        $res->content($decoded);

    } elsif (defined $len && $len ne '' && looks_like_number($len) && $len >= 0) {
        if (length $str < $len) {
            warn "WARNING: $name - response body truncated: $len expected, "
                 . "but got ", length $str, "\n" if !$head_req;
        } elsif (length $str > $len) {
            $left = substr $str, $len;
            $res->content(substr $str, 0, $len);
        }
    }

    return ($res, $raw_headers, $left);
}

# Pick the value for request number $idx from a section that may be an
# array (one element per request) when the block sends several requests.
sub indexed_value {
    my ($name, $value, $idx, $need_array) = @_;
    if ($need_array) {
        return $value->[$idx] if ref $value eq 'ARRAY';
        bail_out("$name - You asked for many requests, the expected results "
                 . "should be arrays as well.");
    }
    if (ref $value eq 'ARRAY') {
        bail_out("$name - SHOULD NOT HAPPEN: idx != 0 and don't need array.")
            if $idx != 0;
        return $value->[0];
    }
    return $value;
}

sub check_error_code {
    my ($block, $res, $idx, $need_array) = @_;
    my $name = $block->name;
    my $got = ($res && $res->code) || '';
    if (defined $block->error_code_like) {
        my $val = indexed_value($name, scalar($block->error_code_like), $idx, $need_array);
        Test::More::like($got, qr/$val/sm, "$name - status code ok");
    } elsif (defined $block->error_code) {
        Test::More::is($got, indexed_value($name, scalar($block->error_code), $idx,
                                           $need_array),
                       "$name - status code ok");
    } else {
        Test::More::is($got, 200, "$name - status code ok");
    }
}

sub check_raw_response_headers {
    my ($block, $raw_headers, $idx, $need_array) = @_;
    my $name = $block->name;
    if (defined $block->raw_response_headers_like) {
        my $exp = indexed_value($name, scalar($block->raw_response_headers_like),
                                $idx, $need_array);
        Test::More::like($raw_headers, qr/$exp/s, "$name - raw resp headers like");
    }
    if (defined $block->raw_response_headers_unlike) {
        my $exp = indexed_value($name, scalar($block->raw_response_headers_unlike),
                                $idx, $need_array);
        Test::More::unlike($raw_headers, qr/$exp/s,
                           "$name - raw resp headers unlike");
    }
}

# "Name: value" lines; "!Name" means absent.  Later lines with the same
# name replace earlier ones (one test per distinct name).
sub parse_expected_headers {
    my $s = shift;
    my (@order, %headers);
    for my $line (split /^/m, $s) {
        $line =~ s/^\s+|\s+$//g;
        my ($key, $val);
        if ($line =~ s/^!\s*//) {
            $key = $line;
        } else {
            ($key, $val) = split /\s*:\s*/, $line, 2;
            $key = '' if !defined $key;
        }
        push @order, $key if !exists $headers{$key};
        $headers{$key} = $val;
    }
    return map { [$_, $headers{$_}] } @order;
}

sub check_response_headers {
    my ($block, $res, $raw_headers, $idx, $need_array) = @_;
    my $name = $block->name;

    if (defined $block->response_headers) {
        my $spec = indexed_value($name, scalar($block->response_headers), $idx, $need_array);
        for my $h (parse_expected_headers($spec)) {
            my ($key, $val) = @$h;
            if (!defined $val) {
                Test::More::unlike($raw_headers, qr/^\s*\Q$key\E\s*:/ms,
                    "$name - header $key not present in the raw headers");
                next;
            }
            $val =~ s/\$ServerPort\b/$ServerPort/g;
            $val =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
            my $actual = $res ? $res->header($key) : undef;
            Test::More::is($actual // '', $val, "$name - header $key ok");
        }
    } elsif (defined $block->response_headers_like) {
        my $spec = indexed_value($name, scalar($block->response_headers_like), $idx,
                                 $need_array);
        for my $h (parse_expected_headers($spec)) {
            my ($key, $val) = @$h;
            my $actual = $res ? $res->header($key) : undef;
            Test::More::like($actual // '', qr/^$val$/,
                             "$name - header $key like ok");
        }
    }
}

sub check_response_body {
    my ($block, $res, $idx, $rep, $need_array) = @_;
    my $name = $block->name;

    my $content = $res ? $res->content : undef;
    if (defined $content) {
        $content =~ s/^TE: deflate,gzip;q=0\.3\r\n//gms;
        $content =~ s/^Connection: TE, close\r\n//gms;
    }

    if (defined $block->response_body || defined $block->response_body_eval) {
        if (defined $block->response_body_json_sort && defined $content) {
            require JSON::PP;
            my $js = JSON::PP->new->canonical(1);
            my $obj = eval { $js->loose(1)->decode($content) };
            $content = $js->encode($obj) . "\n" if !$@;
        }

        my $expected;
        if ($block->response_body_eval) {
            $expected = eval indexed_value($name, scalar($block->response_body_eval),
                                           $idx, $need_array);
            warn $@ if $@;
        } else {
            $expected = indexed_value($name, scalar($block->response_body), $idx,
                                      $need_array);
        }

        if (defined $expected && !ref $expected) {
            $expected =~ s/\$ServerPort\b/$ServerPort/g;
            $expected =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
            $expected = expand_env($expected, $name);
        }

        my $desc = "$name - response_body - response is expected "
                   . "(repeated req $rep, req $idx)";
        if (ref $expected) {
            Test::More::like($content, $expected,
                "$name - response_body - like (repeated req $rep, req $idx)");
        } else {
            Test::More::is($content, $expected, $desc);
        }

    } elsif (defined $block->response_body_like
             || defined $block->response_body_unlike)
    {
        my $type = defined $block->response_body_like ? 'like' : 'unlike';
        my $pats = $type eq 'like' ? scalar($block->response_body_like)
                                   : scalar($block->response_body_unlike);
        my $pat = indexed_value($name, $pats, $idx, $need_array);
        $pat =~ s/\$ServerPort\b/$ServerPort/g;
        $pat =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
        my $summary = trim_str($content) // '';
        my $desc = "$name - response_body_$type - response is expected ($summary)";
        if ($type eq 'like') {
            Test::More::like($content, qr/$pat/s, $desc);
        } else {
            Test::More::unlike($content, qr/$pat/s, $desc);
        }
    }

    for my $check (@ResponseBodyChecks) {
        $check->($block, $res ? $res->content : undef, $idx, $rep, 0);
    }
}

sub run_requests {
    my ($block, $rep) = @_;
    my $name = $block->name;

    my $reqs = requests_of_block($block);
    bail_out("$name - request empty") if !@$reqs;

    my $timeout = parse_time(scalar($block->timeout)) // $Timeout;
    my $need_array = @$reqs > 1;
    my $res;

    for my $idx (0 .. $#$reqs) {
        my ($raw, $head_req) = send_request($reqs->[$idx],
            scalar($block->raw_request_middle_delay), $timeout, $block);
        $raw //= '';
        vwarn("!!! resp: [$raw]\n");

        if (!defined $block->ignore_response) {
            my ($raw_headers, $left);
            ($res, $raw_headers, $left) = parse_response($name, $raw, $head_req);
            $raw_headers //= '';
            if ($left) {
                $left =~ s/([\0-\037\200-\377])/sprintf('\x{%02x}', ord $1)/eg;
                warn "WARNING: $name - unexpected extra bytes after last "
                     . "chunk in response: \"$left\"\n";
            }
            check_error_code($block, $res, $idx, $need_array);
            check_raw_response_headers($block, $raw_headers, $idx, $need_array);
            check_response_headers($block, $res, $raw_headers, $idx, $need_array);
            check_response_body($block, $res, $idx, $rep, $need_array);
        }

        if ($idx < $#$reqs) {
            # the logs are checked after every request, as upstream does
            Time::HiRes::sleep(scalar($block->wait)) if $block->wait;
            check_error_log($block, $res, $rep, $need_array);
            check_access_log($block, $rep) if !defined $block->ignore_response;
        }
    }

    Time::HiRes::sleep(scalar($block->wait)) if $block->wait;
    check_error_log($block, $res, $rep, $need_array);
    check_access_log($block, $rep) if !defined $block->ignore_response;
}

# ---------------------------------------------------------------------------
# logs

# Lines of error.log written since the previous look at it in this block.
sub error_log_data {
    # leave time for log-phase messages written after the response
    Time::HiRes::sleep($TestNginxSleep * 3);
    open my $in, '<', $ErrLogFile or return undef;
    seek $in, $ErrLogFilePos, 0 if !$CheckAccumErrLog && $ErrLogFilePos > 0;
    my @lines = <$in>;
    $ErrLogFilePos = tell $in if !$CheckAccumErrLog;
    close $in;
    return \@lines;
}

sub access_log_data {
    Time::HiRes::sleep($TestNginxSleep * 3);
    open my $in, '<', $AccLogFile or die "open $AccLogFile failed: $!";
    my @lines = <$in>;
    close $in;
    return \@lines;
}

sub pattern_list {
    my $pats = shift;
    if (!ref $pats) {
        chomp $pats;
        return [split /\n+/, $pats];
    }
    return [$pats] if ref $pats eq 'Regexp';
    return [@$pats];
}

sub line_matches {
    my ($line, $pat) = @_;
    return (ref $pat && $line =~ /$pat/) || $line =~ /\Q$pat\E/;
}

# One test per pattern that must be found; for patterns that must not be
# found, one passing test each, or one failing test per matching line.
sub check_log_patterns {
    my ($name, $file, $lines, $want, $unwanted, $rep) = @_;

    if (defined $want) {
        my $pats = pattern_list($want);
        for my $line (@$lines) {
            for my $pat (@$pats) {
                next if !defined $pat;
                if (line_matches($line, $pat)) {
                    Test::More::pass("$name - pattern \"$pat\" matches a line "
                                     . "in $file (req $rep)");
                    undef $pat;
                }
            }
        }
        for my $pat (grep { defined } @$pats) {
            Test::More::fail("$name - pattern \"$pat\" should match a line in "
                             . "$file (req $rep)");
        }
    }

    if (defined $unwanted) {
        my $pats = pattern_list($unwanted);
        my %found;
        for my $i (0 .. $#$lines) {
            my $line = $lines->[$i];
            for my $pat (@$pats) {
                next if !defined $pat || !line_matches($line, $pat);
                no_ending() if $found{$pat}++;
                my $more = join '', @$lines[$i + 1 .. List::Util::min($i + 9, $#$lines - 1)];
                Test::More::fail("$name - pattern \"" . fmt_str($pat)
                    . "\" should not match any line in $file but matches line \""
                    . fmt_str($line) . "\" (req $rep)\n$more");
            }
        }
        for my $pat (@$pats) {
            next if !defined $pat || $found{$pat};
            Test::More::pass("$name - pattern \"" . fmt_str($pat)
                             . "\" does not match a line in $file (req $rep)");
        }
    }
}

sub check_error_log {
    my ($block, $res, $rep, $need_array, $stderr) = @_;
    my $name = $block->name;
    my $lines;

    my $fetch = sub {
        return $lines if $lines;
        $lines = error_log_data() || [];
        if (defined $stderr && length $stderr) {
            # nginx's own stderr (used when nginx fails to start): add the
            # lines that error.log does not already carry
            for my $s (split /^/m, $stderr) {
                my ($lvl, $msg) = $s =~ /^nginx: \[(\w+)\] (.*?)\s*$/;
                next if defined $msg
                        && grep { /\[\Q$lvl\E\] \d+#\d+: \Q$msg\E/ } @$lines;
                push @$lines, $s;
            }
        }
        return $lines;
    };

    my $grep_pats = $block->grep_error_log;
    my $grep_pat = ref $grep_pats eq 'ARRAY' ? $grep_pats->[$rep] : $grep_pats;
    if (!defined $grep_pats && defined $block->grep_error_log_out) {
        bail_out("$name - No --- grep_error_log defined but "
                 . "--- grep_error_log_out is defined");
    }
    if (defined $grep_pat) {
        my $expected = $block->grep_error_log_out;
        bail_out("$name - No --- grep_error_log_out defined but "
                 . "--- grep_error_log is defined") if !defined $expected;
        $expected = $expected->[$rep] if ref $expected eq 'ARRAY';
        $expected = expand_env($expected, $name) if !ref $expected;
        my $matched = '';
        for my $line (@{ $fetch->() }) {
            if (ref $grep_pat && $line =~ /$grep_pat/ || $line =~ /\Q$grep_pat\E/) {
                $matched .= "$&\n" if $& !~ /\n/;
            }
        }
        is_str($matched, $expected, "$name - grep_error_log_out (req $rep)");
    }

    if (defined $block->error_log || defined $block->no_error_log) {
        check_log_patterns($name, 'error.log', $fetch->(),
                           scalar($block->error_log), scalar($block->no_error_log), $rep);
    }

    # warn about serious messages nobody asked about, like upstream; but
    # a block that must die expects the [emerg] that stops nginx (upstream
    # warns about it unless an error_log pattern holds "[emerg")
    my %expected_level;
    $expected_level{emerg} = 1 if defined $block->must_die;
    for my $pats (scalar($block->error_log), scalar($block->no_error_log)) {
        next if !defined $pats;
        for my $lvl (qw(alert crit emerg)) {
            $expected_level{$lvl} = 1
                if grep { !ref $_ && /\[$lvl/ } @{ pattern_list($pats) };
        }
    }
    for my $line (@{ $fetch->() }) {
        for my $lvl (qw(alert crit emerg)) {
            next if $expected_level{$lvl} || $line !~ /\[$lvl\]/;
            warn "WARNING: $name - " . fmt_str($line) . "\n";
        }
        if ($line =~ /\bAssertion .*?failed\b/) {
            no_ending();
            (my $l = $line) =~ s/\n\z//;
            Test::More::fail("$name - $l\n");
        }
    }
}

sub check_access_log {
    my ($block, $rep) = @_;
    return if !defined $block->access_log && !defined $block->no_access_log;
    check_log_patterns($block->name, 'access.log',
                       access_log_data(), scalar($block->access_log),
                       scalar($block->no_access_log), $rep);
}

# ---------------------------------------------------------------------------

END {
    cleanup();
    if (!$ENV{TEST_NGINX_NO_CLEAN} && defined $PidFile && -f $PidFile) {
        local $?;
        my $pid = read_pid();
        if (is_running($pid)) {
            kill_process($pid, 'END');
        } else {
            unlink $PidFile;
        }
    }
    if ($Randomize && defined $ServRoot && $ServRoot =~ m{/t/servroot_\d+$}) {
        local $?;
        remove_tree($ServRoot);
    }
}

1;

__END__

=head1 NAME

Test::Nginx::Socket - a small runner for Test::Nginx::Socket style .t files

=head1 SYNOPSIS

    use Test::Nginx::Socket 'no_plan';

    repeat_each(2);
    no_shuffle();
    run_tests();

    __DATA__

    === TEST 1: hello
    --- config
    location = /t { return 200 "ok\n"; }
    --- request
    GET /t
    --- response_body
    ok
    --- no_error_log
    [error]

=head1 DESCRIPTION

This module runs test files written in the data format of the CPAN/GitHub
C<Test::Nginx::Socket> (openresty/test-nginx), so that the same files work
with either.  Put the directory holding it on C<@INC> only when the real
one is not installed; the real one is preferred when both are present.

It is built on L<Test::Base> and needs nothing but core Perl modules and
Test::Base (Debian: C<libtest-base-perl>).

=head2 Exported functions

C<run_tests>, C<repeat_each>, C<workers>, C<worker_connections>,
C<master_on>, C<master_off>, C<master_process_enabled>, C<log_level>,
C<no_shuffle>, C<no_root_location>, C<no_long_string>, C<server_name>,
C<server_addr>, C<server_port>, C<server_port_for_client>, C<server_root>,
C<html_dir>, C<timeout>, C<env_to_nginx>, C<add_block_preprocessor>,
C<config_preamble>, C<use_hup>, C<no_nginx_manager>,
C<check_accum_error_log>, C<bail_out>, C<add_cleanup_handler>,
C<add_test_cleanup_handler>, C<add_response_body_check>, C<is_str>, and
everything Test::Base exports (C<plan>, C<blocks>, C<is>, C<like>, C<ok>,
C<diag>, C<skip>, ...).  Import arguments (C<'no_plan'>,
C<tests =E<gt> N>) go to Test::More's C<plan>, as with Test::Base.

As upstream, no variables are exported (a file running under C<use strict>
could not use them with upstream).  C<$Test::Nginx::Util::ServerPort>,
C<$Test::Nginx::Util::ServRoot> and a few others are aliased to this
module's values for files that use the fully qualified names; the
functions C<server_port()> and C<server_root()> and the environment
variables C<TEST_NGINX_SERVER_PORT> / C<TEST_NGINX_SERVER_ROOT> are the
portable way.

=head2 Sections

Supported: C<config>, C<http_config>, C<main_config>, C<post_main_config>,
C<request> (string, or C<eval> giving an array of requests; an element that
is itself an array of packets is sent in one piece), C<raw_request> (string
or array of packets, with C<raw_request_middle_delay>), C<more_headers>
(string or array, one per request), C<error_code>, C<error_code_like>,
C<response_body>, C<response_body_eval>, C<response_body_like>,
C<response_body_unlike>, C<response_body_json_sort>, C<response_headers>,
C<response_headers_like>, C<raw_response_headers_like>,
C<raw_response_headers_unlike>, C<error_log>, C<no_error_log>,
C<grep_error_log> / C<grep_error_log_out>, C<access_log>, C<no_access_log>,
C<must_die>, C<wait>, C<timeout>, C<abort>, C<shutdown>,
C<ignore_response>, C<log_level>, C<server_name>, C<user_files>,
C<post_setup_server_root>, C<init>, C<skip_nginx>, C<skip_eval>, C<todo>,
C<server_addr_for_client>, and Test::Base's own C<ONLY>, C<SKIP>, C<LAST>.
Filters such as C<eval> and C<chomp> are Test::Base's.

Sections of upstream that are not implemented (C<pipelined_requests>,
C<shutdown_error_log>, C<tcp_*>, C<udp_*>, C<stap*>, C<http2>, C<http3>,
C<response_body_filters>, C<skip_nginx2>, C<skip_openssl>, C<todo_nginx>,
...) make the run bail out rather than silently produce a different
number of tests.

=head2 Test counts

Per block and per C<repeat_each> round, exactly as upstream counts them:

=over

=item * per request: one test for the status code (C<error_code> or
C<error_code_like>, else 200 is expected); one per
C<raw_response_headers_like>/C<_unlike>; one per distinct header name in
C<response_headers> (or C<response_headers_like>); one for
C<response_body>/C<response_body_like>/C<response_body_unlike>.  Nothing
of this with C<ignore_response>.

=item * after every request (so N times for N requests): one for
C<grep_error_log>; one per C<error_log> pattern; for C<no_error_log> one
passing test per pattern, or one failing test per matching log line; the
same for C<access_log>/C<no_access_log>.

=item * C<must_die>: one test for the failed start (C<isnt> status 0, or
C<is> the exit code when the section holds a number), then the
C<error_log>/C<no_error_log> tests; no request is sent.

=item * C<skip_nginx>/C<skip_eval>/C<todo> C<N: ...>: N skipped tests.

=back

The log checks look at the lines of F<logs/error.log> written since the
previous check in the same block (all of it with
C<TEST_NGINX_CHECK_ACCUM_ERR_LOG>).  For C<must_die>, the lines nginx wrote
to its stderr are added when error.log does not already hold them.
C<$TEST_NGINX_*> variables are expanded in the config sections,
C<user_files>, C<response_body> and C<grep_error_log_out> (not in
C<request>, C<more_headers> or the log patterns: upstream does not either);
an unset one bails out.

=head2 nginx.conf and the server root

The generated F<nginx.conf> follows upstream's: C<worker_processes>,
C<daemon on>, C<master_process off> (C<master_on()>), C<error_log
logs/error.log debug> (C<log_level()>), C<pid>, C<env> lines, main_config,
C<http { access_log; temp paths; default_type text/plain;
keepalive_timeout 68000ms; http_config; server { listen
127.0.0.1:PORT; server_name 'localhost'; client_max_body_size 30M; config; location / {...} } }>,
post_main_config, C<events { accept_mutex off; worker_connections 64; }>
and C<user root;> when run as root.  C<TEST_NGINX_LOAD_MODULES> adds
C<load_module> lines at the top (relative paths that exist are made
absolute).  The server root (default F<t/servroot>) is rebuilt for every
block: F<conf/>, F<html/>, F<logs/>; like upstream, a server root holding
anything else is refused.

Each block restarts nginx (QUIT, wait for the process to go, start with
C<nginx -p ROOT/ -c conf/nginx.conf -e logs/error.log>).  With
C<TEST_NGINX_USE_HUP> the master is kept and reloaded (USR1 then HUP), and
the run waits until a C</ver> location of an extra server answers with the
new configuration's random version, as upstream does (upstream asks curl;
this module its own socket).  A block without C<--- config> keeps the
nginx of the previous block.  At the end, nginx is stopped unless
C<TEST_NGINX_NO_CLEAN> is set.

Requests go each on a fresh connection, as HTTP/1.1 with C<Host:
localhost> and C<Connection: close> unless C<more_headers> gives them, and
C<Content-Length> for a body (the body is trimmed of surrounding white
space, as upstream).  The response is read until the server closes the
connection or C<timeout> (default 3 s) passes without data; chunked and
Content-Length bodies are decoded.

=head2 Environment

C<TEST_NGINX_BINARY>, C<TEST_NGINX_LOAD_MODULES>, C<TEST_NGINX_SERVROOT>,
C<TEST_NGINX_PORT> / C<TEST_NGINX_SERVER_PORT>, C<TEST_NGINX_CLIENT_PORT>,
C<TEST_NGINX_RANDOMIZE>, C<TEST_NGINX_USE_HUP>, C<TEST_NGINX_NO_CLEAN>,
C<TEST_NGINX_NO_SHUFFLE>, C<TEST_NGINX_LOG_LEVEL>,
C<TEST_NGINX_MASTER_PROCESS>, C<TEST_NGINX_TIMEOUT>, C<TEST_NGINX_SLEEP>,
C<TEST_NGINX_CHECK_ACCUM_ERR_LOG>, C<TEST_NGINX_FORCE_RESTART_ON_TEST>,
C<TEST_NGINX_FAST_SHUTDOWN>, C<TEST_NGINX_NO_NGINX_MANAGER>,
C<TEST_NGINX_WORKER_USER>, C<TEST_NGINX_VERBOSE>.  Leak checking,
benchmarking, valgrind, systemtap, HTTP/2 and HTTP/3 modes are not
implemented (C<TEST_NGINX_CHECK_LEAK> and friends are ignored).

=head2 Differences from upstream

=over

=item * Blocks are shuffled unless C<no_shuffle()> or
C<TEST_NGINX_NO_SHUFFLE>, as upstream; the order is random, not
reproducible by seed.

=item * Body comparisons use Test::More's C<is> (upstream uses
Test::LongString's C<is_string> unless C<no_long_string()>): the same
pass/fail, a shorter diagnostic.

=item * A request given as an array of packets is sent in one write.

=item * A C<must_die> block is not warned about the C<[emerg]> line that
stops nginx (upstream prints a C<WARNING> for it unless an C<error_log>
pattern holds C<[emerg>); C<[alert]> and C<[crit]> lines are warned about
as upstream does.

=item * nginx's stderr at start-up is captured and echoed; when nginx
cannot start because the port is still taken it is retried for up to 10
seconds, otherwise the run bails out at once (upstream retries for 30 s).

=back

=cut
