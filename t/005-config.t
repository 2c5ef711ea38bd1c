# vim:set ft= ts=4 sw=4 et fdm=marker:

# Run as root, nginx starts its workers as "nobody" here, as it does by
# default, so that a store they cannot reach is refused (TEST 17); the
# runner reads the worker user when it is loaded.
BEGIN {
    if ($> == 0 && !defined $ENV{TEST_NGINX_WORKER_USER}
        && defined getpwnam('nobody'))
    {
        $ENV{TEST_NGINX_WORKER_USER} =
            'nobody ' . (defined getgrnam('nogroup') ? 'nogroup' : 'nobody');
    }
}

use Test::Nginx::Socket;
use File::Temp qw(tempdir);

# Configuration errors stop nginx at start with a message that names the
# problem; nothing is served half-configured.

my $dir = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1, CLEANUP => 1);

# the workers' user must reach the stores below it
chmod 0755, $dir;

$ENV{TEST_NGINX_DATA_DIR} = $dir;
$ENV{TEST_NGINX_MISSING_DIR} = "$dir/missing";

# a store inside a directory only root may enter
mkdir "$dir/private", 0700 or die $!;
mkdir "$dir/private/data" or die $!;
$ENV{TEST_NGINX_PRIVATE_DIR} = "$dir/private";

our $WorkersChangeUser = $> == 0
                         && ($ENV{TEST_NGINX_WORKER_USER} // 'root') !~ /^root\b/;

mkdir "$dir/notenv" or die $!;
open my $fh, '>', "$dir/notenv/data.mdb" or die $!;
print $fh "this is not an LMDB environment\n" x 512;
close $fh;
$ENV{TEST_NGINX_NOTENV_DIR} = "$dir/notenv";

repeat_each(1);
no_shuffle();
no_root_location();
master_on();

plan tests => repeat_each() * (2 * blocks() + 2);

add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->request) {
        $block->set_value("request", "GET /t\n");
    }

    if (!defined $block->config) {
        $block->set_value("config", "location = /t { return 204; }");
    }
});

run_tests();

__DATA__

=== TEST 1: mcp_shorten without mcp_store
--- config
location = /shorten { mcp_shorten; }
--- must_die
--- error_log
"mcp_shorten", "mcp_redirect" and "mcp_endpoint" need "mcp_store" in the http block



=== TEST 2: mcp_store on a directory that does not exist
--- http_config
mcp_store $TEST_NGINX_MISSING_DIR;
--- config
location / { mcp_redirect; }
--- must_die
--- error_log eval
qr/mcp_store "[^"]*missing" cannot be used: .*missing/



=== TEST 3: mcp_store on a file that is not an LMDB environment
--- http_config
mcp_store $TEST_NGINX_NOTENV_DIR;
--- config
location / { mcp_redirect; }
--- must_die
--- error_log eval
qr/mcp_store "[^"]*notenv" cannot be used/



=== TEST 4: an unknown mcp_store parameter
--- http_config
mcp_store $TEST_NGINX_DATA_DIR map_size=1g durable=yes;
--- must_die
--- error_log
invalid parameter "durable=yes"



=== TEST 5: a map_size that is not a size
--- http_config
mcp_store $TEST_NGINX_DATA_DIR map_size=big;
--- must_die
--- error_log
invalid parameter "map_size=big"



=== TEST 6: an unknown durability
--- http_config
mcp_store $TEST_NGINX_DATA_DIR durability=maybe;
--- must_die
--- error_log
invalid parameter "durability=maybe"



=== TEST 7: mcp_store outside the http block
--- http_config
mcp_store $TEST_NGINX_DATA_DIR;
--- config
location / { mcp_store /tmp; }
--- must_die
--- error_log
"mcp_store" directive is not allowed here



=== TEST 8: mcp_store twice
--- http_config
mcp_store $TEST_NGINX_DATA_DIR;
mcp_store $TEST_NGINX_DATA_DIR;
--- must_die
--- error_log
"mcp_store" directive is duplicate



=== TEST 9: a redirect status that is not a redirect
--- http_config
mcp_store $TEST_NGINX_DATA_DIR;
--- config
location / { mcp_redirect; mcp_redirect_status 303; }
--- must_die
--- error_log
invalid value "303" in



=== TEST 10: a code length below 4
--- http_config
mcp_store $TEST_NGINX_DATA_DIR;
--- config
location = /shorten { mcp_shorten; mcp_code_length 3; }
--- must_die
--- error_log
value must be between 4 and 64



=== TEST 11: a code length above 64
--- http_config
mcp_store $TEST_NGINX_DATA_DIR;
--- config
location = /shorten { mcp_shorten; mcp_code_length 65; }
--- must_die
--- error_log
value must be between 4 and 64



=== TEST 12: a base URL must end with a slash
--- http_config
mcp_store $TEST_NGINX_DATA_DIR;
--- config
location = /shorten { mcp_shorten; mcp_base_url https://sho.rt; }
--- must_die
--- error_log
mcp_base_url "https://sho.rt" must end with "/"



=== TEST 13: a pattern that does not compile
--- http_config
mcp_store $TEST_NGINX_DATA_DIR;
--- config
location = /shorten { mcp_shorten; mcp_url_deny "^https://(evil"; }
--- must_die
--- error_log
pcre2_compile() failed



=== TEST 14: a handler twice in one location
--- http_config
mcp_store $TEST_NGINX_DATA_DIR;
--- config
location = /shorten { mcp_shorten; mcp_shorten; }
--- must_die
--- error_log
"mcp_shorten" directive is duplicate



=== TEST 15: a context TTL for a namespace that no call can name
--- http_config
mcp_store $TEST_NGINX_DATA_DIR;
--- config
location = /mcp { mcp_endpoint; mcp_context_ttl 1h team/a; }
--- must_die
--- error_log
invalid namespace "team/a": 1 to 64 of A-Z, a-z, 0-9, "_", "." and "-"



=== TEST 16: the durability modes and intervals are accepted
--- http_config
mcp_store $TEST_NGINX_DATA_DIR map_size=16m durability=sync;
mcp_visit_flush_interval 250ms;
--- config
location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- no_error_log
[error]



=== TEST 17: interval durability with its sync interval, without a write map
--- http_config
mcp_store $TEST_NGINX_DATA_DIR durability=interval sync_interval=100ms
          writemap=off;
--- config
location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- no_error_log
[error]



=== TEST 17: a map_size below the minimum says what the minimum is
--- http_config
mcp_store $TEST_NGINX_DATA_DIR map_size=1k;
--- must_die
--- error_log
invalid parameter "map_size=1k": map_size must be at least 64k



=== TEST 18: a map_size beyond any address space says what to do
--- http_config
mcp_store $TEST_NGINX_DATA_DIR map_size=1000000000g;
--- config
location / { mcp_redirect; }
--- must_die
--- error_log eval
qr/mcp_store "[^"]*" cannot be used: map_size is more address space than nginx can map here \(about \d+g at most\): set a smaller map_size/



=== TEST 19: a store the workers' user cannot reach (nginx run as root, workers as another user)
--- skip_eval: 2: !$::WorkersChangeUser
--- http_config
mcp_store $TEST_NGINX_PRIVATE_DIR/data;
--- config
location / { mcp_redirect; }
--- must_die
--- error_log eval
qr/mcp_store "[^"]*private\/data" cannot be used by the workers' user "[^"]+": it cannot enter "[^"]*private" \(13: Permission denied\)/



=== TEST 20: mcp_cluster replicas beyond the 5 a stream can have
--- http_config
mcp_cluster nats://127.0.0.1:4222 replicas=6;
--- must_die
--- error_log
invalid parameter "replicas=6"



=== TEST 21: mcp_cluster max_msgs that is not a count
--- http_config
mcp_cluster nats://127.0.0.1:4222 max_msgs=-1;
--- must_die
--- error_log
invalid parameter "max_msgs=-1"



=== TEST 22: mcp_cluster replicas without a value
--- http_config
mcp_cluster nats://127.0.0.1:4222 replicas=;
--- must_die
--- error_log
invalid parameter "replicas="



=== TEST 23: mcp_client_request_timeout that is not a time
--- config
location = /mcp { mcp_endpoint; mcp_client_request_timeout soon; }
--- must_die
--- error_log
"mcp_client_request_timeout" directive invalid value



=== TEST 24: mcp_client_request_timeout of zero
--- config
location = /mcp { mcp_endpoint; mcp_client_request_timeout 0; }
--- must_die
--- error_log
"mcp_client_request_timeout" directive must be at least 1ms



=== TEST 25: an unknown writemap value
--- http_config
mcp_store $TEST_NGINX_DATA_DIR writemap=yes;
--- must_die
--- error_log
invalid parameter "writemap=yes"
