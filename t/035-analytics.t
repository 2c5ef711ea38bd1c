# vim:set ft= ts=4 sw=4 et fdm=marker:

use Test::Nginx::Socket;
use File::Temp qw(tempdir);
use Digest::SHA qw(sha256_hex);
use POSIX qw(strftime);

# Visit analytics: mcp_admin's GET links/{code}/visits after the batches
# are written (here: when nginx stops, as its workers flush on exit, so a
# block that reads follows one that restarts nginx) -- people by UTC day,
# referring hosts ("direct", "other"), bots apart by mcp_bot_user_agents;
# a HEAD is not counted; bots take none of max_visits; a deleted link's
# statistics go with it; the route's errors.  Blocks build on each
# other's store, so each runs once, in order.

my $dir = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1, CLEANUP => 1);

our %Key = (
    A => 'alpha-admin-0123456789',    # alpha, every scope
    B => 'beta-admin-0123456789',     # beta, every scope
    N => 'alpha-plain-0123456789',    # alpha, default scopes: no admin
);

$ENV{"TEST_NGINX_HASH_$_"} = sha256_hex($Key{$_}) for keys %Key;
$ENV{TEST_NGINX_DATA_DIR} = $dir;

our $Today = strftime('%Y-%m-%d', gmtime);

# 89 days without visits, then today's
our $Days = '(?:\{"date":"\d{4}-\d\d-\d\d","visits":0\},){89}';

repeat_each(1);
no_shuffle();
no_root_location();

plan tests => repeat_each() * 119;

our $HttpConfig = <<'_EOC_';
    mcp_store $TEST_NGINX_DATA_DIR;
    mcp_visit_flush_interval 1h;
    mcp_api_key $TEST_NGINX_HASH_A tenant=alpha scopes=links:read,links:write,mcp,admin;
    mcp_api_key $TEST_NGINX_HASH_B tenant=beta scopes=links:read,links:write,mcp,admin;
    mcp_api_key $TEST_NGINX_HASH_N tenant=alpha;
_EOC_

our $Config = <<'_EOC_';
    location /api/ { mcp_admin; }
    location /s/ { mcp_redirect; }
_EOC_

# the same, but a new configuration: nginx restarts, its workers flush
our $Restart = $Config . "    # restarted\n";

add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->http_config) {
        $block->set_value("http_config", $HttpConfig);
    }

    if (!defined $block->config) {
        $block->set_value("config", $Config);
    }

    if (!defined $block->more_headers) {
        $block->set_value("more_headers",
                          "Content-Type: application/json\n"
                          . "Authorization: Bearer $Key{A}");
    }

    if (!defined $block->no_error_log && !defined $block->error_log) {
        $block->set_value("no_error_log", "[error]");
    }
});

sub as {
    my ($who) = @_;
    return "Content-Type: application/json\nAuthorization: Bearer $Key{$who}";
}

run_tests();

__DATA__

=== TEST 1: links to visit
--- request eval
["POST /api/links
{\"url\": \"https://example.com/1\", \"alias\": \"an1\"}",
"POST /api/links
{\"url\": \"https://example.com/2\", \"alias\": \"an2\", \"max_visits\": 2}",
"GET /api/links/an1/visits"]
--- error_code eval
[201, 201, 200]
--- response_body_like eval
['"code":"an1"', '"code":"an2"',
 qq~^\\{"code":"an1","total":0,"bots":0,"days":\\[$::Days\\{"date":"$::Today","visits":0\\}\\],"referrers":\\[\\]\\}\$~]



=== TEST 2: people from referrers, bots, a HEAD; bots take no visit of max_visits
--- request eval
["GET /s/an1", "GET /s/an1", "GET /s/an1", "GET /s/an1", "GET /s/an1",
 "GET /s/an1", "HEAD /s/an1", "GET /s/an1",
 "GET /s/an2", "GET /s/an2", "GET /s/an2", "GET /s/an2", "GET /s/an2",
 "GET /s/an2"]
--- more_headers eval
["Referer: https://News.Example.COM./a?b=c",
 "Referer: http://news.example.com:8080/",
 "Referer: http://user\@other.example:8080/x",
 "",
 "User-Agent: Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
 "User-Agent: Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
 "",
 "Referer: not a URL",
 "User-Agent: WhatsApp/2.23.20.0",
 "User-Agent: facebookexternalhit/1.1",
 "User-Agent: curl/8.5.0",
 "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0",
 "",
 ""]
--- error_code eval
[302, 302, 302, 302, 302, 302, 302, 302, 302, 302, 302, 302, 302, 410]



=== TEST 3: after the flush: days, referrers, bots, exact
--- config eval: $::Restart
--- request eval
["GET /api/links/an1/visits", "GET /api/links/an2/visits",
 "GET /api/links/an1/visits?days=1", "GET /api/links/an1", "HEAD /api/links/an1/visits"]
--- error_code eval
[200, 200, 200, 200, 200]
--- response_body_like eval
[qq~^\\{"code":"an1","total":5,"bots":2,"days":\\[$::Days\\{"date":"$::Today","visits":5\\}\\],"referrers":\\[\\{"host":"news.example.com","visits":2\\},\\{"host":"direct","visits":1\\},\\{"host":"other","visits":1\\},\\{"host":"other.example","visits":1\\}\\]\\}\$~,
 qq~^\\{"code":"an2","total":2,"bots":3,"days":\\[$::Days\\{"date":"$::Today","visits":2\\}\\],"referrers":\\[\\{"host":"direct","visits":2\\}\\]\\}\$~,
 qq~^\\{"code":"an1","total":5,"bots":2,"days":\\[\\{"date":"$::Today","visits":5\\}\\],"referrers":\\[~,
 '^\{"code":"an1",[^}]*"visits":5,',
 '']



=== TEST 4: the route's errors
--- request eval
["GET /api/links/nope/visits", "POST /api/links/an1/visits
{}", "GET /api/links/an1/visits?days=0", "GET /api/links/an1/visits?days=401",
 "GET /api/links/an1/visits?days=x", "GET /api/links/an1/visits",
 "GET /api/links/an1/visits", "GET /api/links/an1/visits",
 "GET /api/links/a.b/visits"]
--- more_headers eval
[::as('A'), ::as('A'), ::as('A'), ::as('A'), ::as('A'), ::as('B'), ::as('N'),
 "", ::as('A')]
--- error_code eval
[404, 405, 400, 400, 400, 404, 403, 401, 404]
--- response_body_like eval
['"error":"not_found"', '"error":"method_not_allowed"', '"error":"invalid_days"',
 '^\{"message":"days must be a whole number from 1 to 400","error":"invalid_days"\}$',
 '"error":"invalid_days"', '"error":"not_found"',
 '"error":"forbidden"', '"error":"unauthorized"', '"error":"not_found"']
--- response_headers eval
["", "Allow: GET, HEAD", "", "", "", "", "", "", ""]



=== TEST 5: mcp_bot_user_agents replaces the list, its patterns ignore case
--- http_config eval: $::HttpConfig . "    mcp_bot_user_agents ^mychecker/ ^otherbot;\n"
--- request eval
["GET /s/an1", "GET /s/an1", "GET /s/an1"]
--- more_headers eval
["User-Agent: Googlebot/2.1", "User-Agent: MyChecker/1.0",
 "User-Agent: OtherBot"]
--- error_code eval
[302, 302, 302]



=== TEST 6: ... counted so after the flush; "off" counts every visit as a person's
--- http_config eval: $::HttpConfig . "    mcp_bot_user_agents off;\n"
--- request eval
["GET /api/links/an1/visits", "GET /s/an1"]
--- more_headers eval
[::as('A'), "User-Agent: Googlebot/2.1"]
--- error_code eval
[200, 302]
--- response_body_like eval
[qq~^\\{"code":"an1","total":6,"bots":4,"days":\\[$::Days\\{"date":"$::Today","visits":6\\}\\],"referrers":\\[\\{"host":"direct","visits":2\\},\\{"host":"news.example.com","visits":2\\},~,
 '']



=== TEST 7: a deleted link's statistics go with it
--- request eval
["GET /api/links/an1/visits", "DELETE /api/links/an1", "POST /api/links
{\"url\": \"https://example.com/again\", \"alias\": \"an1\"}",
"GET /api/links/an1/visits"]
--- error_code eval
[200, 204, 201, 200]
--- response_body_like eval
['"total":7,"bots":4,',
 '',
 '"code":"an1"',
 qq~^\\{"code":"an1","total":0,"bots":0,"days":\\[$::Days\\{"date":"$::Today","visits":0\\}\\],"referrers":\\[\\]\\}\$~]



=== TEST 8: each location's list decides, for the same user agent
--- config
    mcp_base_url localhost/s/;
    location /api/ { mcp_admin; }
    location /s/ { mcp_redirect; }
    location /p/ { mcp_redirect; mcp_bot_user_agents ^nomatch; }
--- request eval
["POST /api/links
{\"url\": \"https://example.com/4\", \"alias\": \"an4\"}",
"GET /s/an4", "GET /p/an4", "GET /s/an4", "GET /p/an4"]
--- more_headers eval
[::as('A'), "User-Agent: Googlebot/2.1", "User-Agent: Googlebot/2.1",
 "User-Agent: Googlebot/2.1", "User-Agent: Googlebot/2.1"]
--- error_code eval
[201, 302, 302, 302, 302]



=== TEST 9: ... counted so after the flush
--- config eval: $::Restart
--- request
GET /api/links/an4/visits
--- error_code: 200
--- response_body_like eval
qq~^\\{"code":"an4","total":2,"bots":2,"days":\\[$::Days\\{"date":"$::Today","visits":2\\}\\]~



=== TEST 10: a bad pattern is a configuration error
--- http_config eval: $::HttpConfig . "    mcp_bot_user_agents (unclosed;\n"
--- must_die
--- error_log
pcre2_compile() failed
