# vim:set ft= ts=4 sw=4 et fdm=marker:

use Test::Nginx::Socket;
use File::Temp qw(tempdir);
use Digest::SHA qw(sha256_hex hmac_sha256);
use MIME::Base64 qw(encode_base64);
use JSON::PP;
use IO::Socket::INET;

# OAuth access tokens (mcp_oauth_*): keys made here with the openssl
# command (RSA, EC P-256 and P-384, Ed25519) into a JWKS file, tokens
# signed here.  Every algorithm accepted; every kind of invalid token
# answered alike (401 invalid_token, nothing else learned) and the reason
# logged without the token; scopes (403 insufficient_scope naming the
# scope) and tenants through /shorten, mcp_admin and each tool family;
# API keys beside tokens; the metadata documents (RFC 9728); hostile
# tokens; the JWKS read again when the file changes; configuration errors.
# Blocks build on each other's store, so each runs once, in order.

my $dir = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $tool = $ENV{TEST_NGINX_MCP_STORE_TOOL} || 'build/store/mcp-store';

# the default audience: the server's name and port, the endpoint's path
our $PORT = server_port();
our $ISS = 'https://issuer.example/realms/acme';
our $AUD = "http://localhost:$PORT/mcp";
our $META = "http://localhost:$PORT/.well-known/oauth-protected-resource/mcp";
our $API_KEY = 'keyco-key-0123456789';

sub sh_out {
    my ($cmd) = @_;
    my $out = `$cmd`;
    die "failed: $cmd\n" if $?;
    return $out;
}

sub spew {
    my ($name, $text) = @_;
    open my $fh, '>', "$dir/$name" or die "$dir/$name: $!";
    binmode $fh;
    print $fh $text;
    close $fh;
    return "$dir/$name";
}

sub b64u {
    my $s = encode_base64(shift, '');
    $s =~ tr{+/}{-_};
    $s =~ s/=+$//;
    return $s;
}

# the keys: in the JWKS, and one that is not (rsa2: the rotation's)
my %Pem;
for (['rsa', 'RSA -pkeyopt rsa_keygen_bits:2048'],
     ['rsa2', 'RSA -pkeyopt rsa_keygen_bits:2048'],
     ['ec', 'EC -pkeyopt ec_paramgen_curve:P-256'],
     ['ec384', 'EC -pkeyopt ec_paramgen_curve:P-384'],
     ['ed', 'ED25519'])
{
    $Pem{$_->[0]} = "$dir/$_->[0].pem";
    sh_out("openssl genpkey -algorithm $_->[1] -out $Pem{$_->[0]} 2>/dev/null");
}

sub der_pub { sh_out("openssl pkey -in $_[0] -pubout -outform DER") }

sub rsa_jwk {
    my ($pem, $kid) = @_;
    my ($hex) = sh_out("openssl rsa -in $pem -noout -modulus 2>/dev/null")
                =~ /Modulus=([0-9A-F]+)/;
    return { kty => 'RSA', kid => $kid, n => b64u(pack 'H*', $hex),
             e => 'AQAB' };
}

sub ec_jwk {
    my ($pem, $kid, $crv, $n) = @_;
    my $pt = substr(der_pub($pem), -2 * $n);
    return { kty => 'EC', crv => $crv, kid => $kid,
             x => b64u(substr $pt, 0, $n), y => b64u(substr $pt, $n) };
}

sub ed_jwk {
    my ($pem, $kid) = @_;
    return { kty => 'OKP', crv => 'Ed25519', kid => $kid, use => 'sig',
             x => b64u(substr der_pub($pem), -32) };
}

our $J = JSON::PP->new->canonical;

my $jwks = $J->encode({ keys => [
    rsa_jwk($Pem{rsa}, 'rsa1'),
    ec_jwk($Pem{ec}, 'ec1', 'P-256', 32),
    ec_jwk($Pem{ec384}, 'ec2', 'P-384', 48),
    ed_jwk($Pem{ed}, 'ed1'),
    { kty => 'oct', kid => 'hmac', k => b64u('a shared secret') },
    { %{ rsa_jwk($Pem{rsa2}, 'enc1') }, use => 'enc' },
] });

$ENV{TEST_NGINX_JWKS} = spew('jwks.json', $jwks);
$ENV{TEST_NGINX_JWKS_ROTATED} = $J->encode({ keys => [
    rsa_jwk($Pem{rsa2}, 'rot1') ] });
$ENV{TEST_NGINX_JWKS_BAD} = spew('bad.json', '{"keys": [{"kty": "RSA"}]}');
$ENV{TEST_NGINX_JWKS_OCT} = spew('oct.json',
                                 '{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}');
$ENV{TEST_NGINX_JWKS_NOT_JSON} = spew('not.json', 'keys: none');
$ENV{TEST_NGINX_DATA_DIR} = $dir;
$ENV{TEST_NGINX_KEY_HASH} = sha256_hex($API_KEY);

# an ECDSA signature in DER, as openssl gives it, to JWS's r || s
sub der2raw {
    my ($der, $n) = @_;
    my $p = 2;
    my @v;
    for (1 .. 2) {
        my $l = ord substr($der, $p + 1, 1);
        my $x = substr($der, $p + 2, $l);
        $p += 2 + $l;
        $x =~ s/^\x00+//;
        push @v, ("\x00" x ($n - length $x)) . $x;
    }
    return join '', @v;
}

sub sign {
    my ($alg, $pem, $input, $der) = @_;
    my $in = spew('in', $input);
    return sh_out("openssl pkeyutl -sign -inkey $pem -rawin -in $in")
        if $alg eq 'EdDSA';
    my ($bits) = $alg =~ /(\d+)/;
    my $opt = $alg =~ /^PS/ ? '-sigopt rsa_padding_mode:pss '
                              . '-sigopt rsa_pss_saltlen:digest' : '';
    my $sig = sh_out("openssl dgst -sha$bits $opt -sign $pem -binary $in");
    return $sig if $alg !~ /^ES/ || $der;
    return der2raw($sig, $bits == 256 ? 32 : 48);
}

# the claims of a good token, changed by %c (undef removes one)
sub claims {
    my %c = (iss => $ISS, aud => $AUD, exp => time + 3600, iat => time,
             sub => 'user-1', scope => 'mcp links:read links:write', @_);
    delete $c{$_} for grep { !defined $c{$_} } keys %c;
    return $J->encode(\%c);
}

# a compact JWS of the header %h (JSON text when given as a string) and
# the claims text
sub jwt {
    my ($alg, $pem, $claims, %h) = @_;
    my $header = delete $h{_text} // $J->encode({ alg => $alg, typ => 'JWT',
                                                  %h });
    my $input = b64u($header) . '.' . b64u($claims);
    return "$input." . b64u(sign($alg, $pem, $input, delete $h{_der}));
}

our %T = (
    rs256 => jwt('RS256', $Pem{rsa}, claims(), kid => 'rsa1'),
    rs384 => jwt('RS384', $Pem{rsa}, claims(), kid => 'rsa1'),
    rs512 => jwt('RS512', $Pem{rsa}, claims(), kid => 'rsa1'),
    ps256 => jwt('PS256', $Pem{rsa}, claims(), kid => 'rsa1'),
    es256 => jwt('ES256', $Pem{ec}, claims(), kid => 'ec1'),
    es384 => jwt('ES384', $Pem{ec384}, claims(), kid => 'ec2'),
    eddsa => jwt('EdDSA', $Pem{ed}, claims(), kid => 'ed1'),
    nokid => jwt('EdDSA', $Pem{ed}, claims()),
    iss2 => jwt('ES256', $Pem{ec}, claims(iss => 'https://other.example'),
                kid => 'ec1'),
    auds => jwt('ES256', $Pem{ec}, claims(aud => ['https://api.example',
                                                  $AUD]), kid => 'ec1'),
    mcpx => jwt('RS256', $Pem{rsa}, claims(aud => "http://localhost:$PORT/mcp-x"),
                kid => 'rsa1'),
    host => jwt('RS256', $Pem{rsa}, claims(aud => 'http://mcp.example.org/mcp'),
                kid => 'rsa1'),
    leeway => jwt('ES256', $Pem{ec}, claims(exp => time - 30,
                                            nbf => time + 30), kid => 'ec1'),

    # invalid, each in one way
    badsig => jwt('RS256', $Pem{rsa2}, claims(), kid => 'rsa1'),
    kid => jwt('RS256', $Pem{rsa}, claims(), kid => 'nope'),
    iss => jwt('RS256', $Pem{rsa}, claims(iss => 'https://evil.example'),
               kid => 'rsa1'),
    noiss => jwt('RS256', $Pem{rsa}, claims(iss => undef), kid => 'rsa1'),
    aud => jwt('RS256', $Pem{rsa}, claims(aud => 'https://other.example/mcp'),
               kid => 'rsa1'),
    noaud => jwt('RS256', $Pem{rsa}, claims(aud => undef), kid => 'rsa1'),
    expired => jwt('RS256', $Pem{rsa}, claims(exp => time - 120),
                   kid => 'rsa1'),
    noexp => jwt('RS256', $Pem{rsa}, claims(exp => undef), kid => 'rsa1'),
    nbf => jwt('RS256', $Pem{rsa}, claims(nbf => time + 600), kid => 'rsa1'),
    none => b64u('{"alg":"none","typ":"JWT"}') . '.' . b64u(claims()) . '.',
    nonesig => b64u('{"alg":"none","kid":"rsa1"}') . '.' . b64u(claims())
               . '.' . b64u('x' x 256),
    kind => jwt('RS256', $Pem{rsa}, claims(), kid => 'ec1'),
    esder => jwt('ES256', $Pem{ec}, claims(), kid => 'ec1', _der => 1),
    crit => jwt('RS256', $Pem{rsa}, claims(), kid => 'rsa1',
                crit => ['exp']),
    dup => jwt('RS256', $Pem{rsa}, claims(),
               _text => '{"alg":"RS256","alg":"none","kid":"rsa1"}'),
    claimsbad => jwt('RS256', $Pem{rsa}, 'not json', kid => 'rsa1'),
    deep => jwt('RS256', $Pem{rsa},
                substr(claims(), 0, -1) . ',"x":' . ('[' x 100) . (']' x 100)
                . '}', kid => 'rsa1'),
    huge => jwt('RS256', $Pem{rsa}, claims(pad => 'x' x 20000),
                kid => 'rsa1'),

    # scopes
    read => jwt('EdDSA', $Pem{ed}, claims(scope => 'links:read'), kid => 'ed1'),
    mcp => jwt('EdDSA', $Pem{ed}, claims(scope => 'openid mcp email'),
               kid => 'ed1'),
    write => jwt('EdDSA', $Pem{ed}, claims(scope => 'links:write'),
                 kid => 'ed1'),
    admin => jwt('EdDSA', $Pem{ed}, claims(scope => 'admin mcp links:read'),
                 kid => 'ed1'),

    # scp arrays and tenants, for /mcp-t
    acme => jwt('ES256', $Pem{ec}, claims(scope => undef, org => 'acme',
                scp => ['mcp', 'links:read', 'links:write']), kid => 'ec1'),
    beta => jwt('ES256', $Pem{ec}, claims(scope => undef, org => 'beta',
                scp => ['mcp', 'links:read', 'links:write']), kid => 'ec1'),
    acme_ro => jwt('ES256', $Pem{ec}, claims(scope => undef, org => 'acme',
                   scp => ['mcp']), kid => 'ec1'),
    badorg => jwt('ES256', $Pem{ec}, claims(scope => undef, org => '../x',
                  scp => ['mcp']), kid => 'ec1'),
    noorg => jwt('ES256', $Pem{ec}, claims(scope => undef, scp => ['mcp']),
                 kid => 'ec1'),

    # the rotated key
    rot => jwt('RS256', $Pem{rsa2}, claims(), kid => 'rot1'),
);

# an HMAC "signed" with the RSA public key as the secret
{
    my $pub = sh_out("openssl pkey -in $Pem{rsa} -pubout");
    my $input = b64u('{"alg":"HS256","kid":"rsa1"}') . '.' . b64u(claims());
    $T{hs256} = "$input." . b64u(hmac_sha256($input, $pub));
}

# malformed
{
    my ($h, $p, $s) = split /\./, $T{rs256};
    $T{parts2} = "$h.$p";
    $T{parts5} = "$h.$p.$s.$s.$s";
    $T{b64} = "$h.$p." . substr($s, 0, 10) . '+/' . substr($s, 12);
    $T{pad} = "$h=.$p.$s";
    $T{notjson} = b64u('not json') . ".$p.$s";
    $T{empty} = '..';
}

# hostile headers and claims, properly signed
{
    my $signed = sub {
        my ($header, $claims) = @_;
        my $input = b64u($header) . '.' . b64u($claims);
        return "$input." . b64u(sign('RS256', $Pem{rsa}, $input));
    };
    my $good = claims();
    $T{hdrarray} = $signed->('["RS256"]', $good);
    $T{algnum} = $signed->('{"alg":256,"kid":"rsa1"}', $good);
    $T{kidnum} = $signed->('{"alg":"RS256","kid":1}', $good);
    $T{hdrdeep} = $signed->('{"alg":"RS256","kid":"rsa1","x":{"y":{}}}', $good);
    $T{expstr} = $signed->('{"alg":"RS256","kid":"rsa1"}',
                           claims(exp => '' . (time + 3600)));
    $T{audnum} = $signed->('{"alg":"RS256","kid":"rsa1"}', claims(aud => 7));
    $T{nul} = $signed->('{"alg":"RS256","kid":"rsa1"}',
                        substr($good, 0, -1) . ',"x":"a\\u0000b"}');
    $T{latin1} = $signed->('{"alg":"RS256","kid":"rsa1"}',
                           substr($good, 0, -1) . ",\"x\":\"\xe9\"}");
    $T{dupiss} = $signed->('{"alg":"RS256","kid":"rsa1"}',
                           substr($good, 0, -1)
                           . ',"iss":"https://evil.example"}');
    $T{longkid} = $signed->('{"alg":"RS256","kid":"' . ('k' x 1500) . '"}',
                            $good);
}

our @Invalid = qw(badsig kid iss noiss aud noaud expired noexp nbf none
                  nonesig hs256 kind esder crit dup claimsbad deep huge
                  parts2 parts5 b64 pad notjson empty hdrarray algnum
                  kidnum hdrdeep expstr audnum nul latin1 dupiss longkid);

# sessions of each tenant, as initialize would have made them
for (['sD', 'default'], ['sAcme', 'acme'], ['sBeta', 'beta'],
     ['sK', 'keyco'])
{
    system($tool, 'session-put', $dir, $_->[0], 'last_seen=' . time,
           "tenant=$_->[1]") == 0
        or die "cannot make session $_->[0] with $tool\n";
}

repeat_each(1);
no_shuffle();
no_root_location();

plan tests => repeat_each() * 361;

our $HttpConfig = <<'_EOC_';
    mcp_store $TEST_NGINX_DATA_DIR;
    mcp_oauth_issuer https://issuer.example/realms/acme;
    mcp_oauth_issuer https://other.example;
    mcp_oauth_jwks $TEST_NGINX_JWKS;
_EOC_

our $Config = <<'_EOC_';
    large_client_header_buffers 4 64k;
    location = /mcp { mcp_endpoint; }
    location = /mcp-t {
        mcp_endpoint;
        mcp_oauth_audience http://localhost:$TEST_NGINX_SERVER_PORT/mcp;
        mcp_oauth_scopes_claim scp;
        mcp_oauth_tenant_claim org;
    }
    location = /mcp-k {
        mcp_endpoint;
        mcp_oauth_audience http://localhost:$TEST_NGINX_SERVER_PORT/mcp;
        mcp_api_key $TEST_NGINX_KEY_HASH tenant=keyco;
    }
    location = /shorten { mcp_shorten; }
    location /api/ { mcp_admin; }
    location /.well-known/oauth-protected-resource { mcp_oauth_metadata; }
    location / { mcp_redirect; }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->http_config) {
        $block->set_value("http_config", $HttpConfig);
    }

    if (!defined $block->config) {
        $block->set_value("config", $Config);
    }

    if (!defined $block->no_error_log && !defined $block->error_log) {
        $block->set_value("no_error_log", "[error]");
    }
});

# headers of a request with the bearer $t (undef: none) in session $s
sub h {
    my ($t, $s) = @_;
    return "Content-Type: application/json\n"
           . "Accept: application/json, text/event-stream\n"
           . (defined $t ? "Authorization: Bearer $t\n" : "")
           . (defined $s ? "Mcp-Session-Id: $s\n" : "");
}

sub rpc {
    my ($method, $params, $path) = @_;
    return "POST " . ($path // "/mcp") . "\n{\"jsonrpc\": \"2.0\", "
           . "\"id\": 1, \"method\": \"$method\", \"params\": $params}";
}

sub call {
    my ($name, $args, $path) = @_;
    return rpc("tools/call", "{\"name\": \"$name\", \"arguments\": $args}",
               $path);
}

sub tool_error {
    my ($text) = @_;
    return "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[{\"type\":"
           . "\"text\",\"text\":\"$text\"}],\"isError\":true}}\n";
}

sub rpc_error {
    my ($text) = @_;
    return "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,"
           . "\"message\":\"$text\"}}\n";
}

# a POST to /mcp outside the blocks' requests (as they send it, with
# "Host: localhost"), for the checks of the log: its status
sub post {
    my ($t, $s, $body) = @_;
    my $sock = IO::Socket::INET->new(
        "127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT}") or die "connect: $!";
    print $sock "POST /mcp HTTP/1.0\r\nHost: localhost\r\n"
                . "Content-Type: application/json\r\n"
                . "Accept: application/json, text/event-stream\r\n"
                . "Authorization: Bearer $t\r\nMcp-Session-Id: $s\r\n"
                . "Content-Length: " . length($body) . "\r\n\r\n$body";
    local $/;
    my $response = <$sock>;
    return ($response =~ m{^HTTP/1\.\d (\d+)})[0];
}

sub spew_jwks {
    my ($text) = @_;
    spew('jwks.json.new', $text);
    rename "$dir/jwks.json.new", "$dir/jwks.json" or die "rename: $!";
    # the file is looked at once a second at most
    select undef, undef, undef, 1.2;
}

run_tests();

__DATA__

=== TEST 1: /mcp without a token: 401 pointing at the metadata, with the scope
--- request eval
::rpc("tools/list", "{}")
--- more_headers eval
::h(undef, 'sD')
--- error_code: 401
--- response_headers eval
"WWW-Authenticate: Bearer resource_metadata=\"$::META\", scope=\"mcp\""
--- response_body eval
::rpc_error('an access token is required: send \"Authorization: Bearer <token>\"')



=== TEST 2: /shorten without a token names links:write; another scheme: 401
--- request eval
["POST /shorten\n{\"url\": \"https://example.com/\"}",
 "POST /shorten\n{\"url\": \"https://example.com/\"}"]
--- more_headers eval
[::h(), ::h() . "Authorization: Basic eDp5\n"]
--- error_code eval
[401, 401]
--- response_headers eval
["WWW-Authenticate: Bearer resource_metadata=\"$::META\", scope=\"links:write\"",
 "WWW-Authenticate: Bearer resource_metadata=\"$::META\""]
--- response_body eval
["{\"message\":\"an access token is required: send \\\"Authorization: Bearer <token>\\\"\",\"error\":\"unauthorized\"}\n",
 "{\"message\":\"the Authorization header must be \\\"Bearer <token>\\\"\",\"error\":\"unauthorized\"}\n"]



=== TEST 3: every accepted algorithm: RS256, RS384, RS512, PS256, ES256, ES384, EdDSA (and EdDSA without kid)
--- request eval
[map { ::rpc("ping", "{}") } 1 .. 8]
--- more_headers eval
[map { ::h($::T{$_}, 'sD') } qw(rs256 rs384 rs512 ps256 es256 es384 eddsa nokid)]
--- error_code eval
[(200) x 8]
--- response_body eval
[("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n") x 8]



=== TEST 4: a second issuer, an audience in an array, exp and nbf within the leeway
--- request eval
[map { ::rpc("ping", "{}") } 1 .. 3]
--- more_headers eval
[map { ::h($::T{$_}, 'sD') } qw(iss2 auds leeway)]
--- error_code eval
[200, 200, 200]



=== TEST 5: initialize with a token starts a session of its tenant
--- request eval
::rpc("initialize", '{"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}')
--- more_headers eval
::h($::T{es256})
--- error_code: 200
--- response_headers_like
Mcp-Session-Id: [0-9A-Za-z]{32}
--- response_body_like: "protocolVersion":"2025-11-25"



=== TEST 6: every kind of invalid token: 401 invalid_token, the same answer for all
--- request eval
[map { ::rpc("ping", "{}") } @::Invalid]
--- more_headers eval
[map { ::h($::T{$_}, 'sD') } @::Invalid]
--- error_code eval
[(401) x @::Invalid]
--- response_headers eval
[("WWW-Authenticate: Bearer resource_metadata=\"$::META\", error=\"invalid_token\"") x @::Invalid]
--- response_body eval
[(::rpc_error("the access token is not valid")) x @::Invalid]



=== TEST 7: the log says which check failed, and never shows the token
--- log_level: info
--- init
for my $t (qw(badsig kid iss aud expired nbf none hs256 kind deep huge)) {
    Test::More::is(::post($::T{$t}, 'sD', '{"jsonrpc": "2.0", "id": 1, '
                          . '"method": "ping"}'), 401, "token $t: 401");
}
--- request eval
::rpc("ping", "{}")
--- more_headers eval
::h($::T{parts5}, 'sD')
--- error_code: 401
--- error_log
mcp: access token refused: bad signature
mcp: access token refused: unknown key id, or a key of another algorithm
mcp: access token refused: issuer not accepted
mcp: access token refused: not issued for this resource (aud)
mcp: access token refused: expired
mcp: access token refused: not valid yet (nbf)
mcp: access token refused: algorithm not accepted
mcp: access token refused: malformed claims
mcp: access token refused: too long
mcp: access token refused: not a signed JWT
--- no_error_log eval
["[error]", (split /\./, $::T{expired})[2], (split /\./, $::T{badsig})[1]]



=== TEST 8: the token's scopes are the permissions: without mcp, 403 naming it
--- log_level: info
--- request eval
::rpc("tools/list", "{}")
--- more_headers eval
::h($::T{read}, 'sD')
--- error_code: 403
--- response_headers eval
"WWW-Authenticate: Bearer resource_metadata=\"$::META\", error=\"insufficient_scope\", scope=\"mcp\""
--- response_body eval
::rpc_error('the access token lacks the scope \"mcp\"')
--- error_log
mcp: access token of tenant "default" lacks the scope "mcp"
--- no_error_log
[error]



=== TEST 9: scope mcp alone: the link tools answer with a tool error; other scopes ignored
--- request eval
[::call("shorten_url", '{"url": "https://example.com/m"}'),
 ::call("resolve_url", '{"code": "nope"}'),
 ::call("read_graph", '{}')]
--- more_headers eval
[map { ::h($::T{mcp}, 'sD') } 1 .. 3]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
[quotemeta(::tool_error('this API key lacks the scope \\"links:write\\" (forbidden)')),
 quotemeta(::tool_error('this API key lacks the scope \\"links:read\\" (forbidden)')),
 '"structuredContent":\{"entities":\[\],"relations":\[\]']



=== TEST 10: POST /shorten: links:write shortens (tenant default), mcp alone is 403
--- request eval
["POST /shorten\n{\"url\": \"https://example.com/d\", \"alias\": \"d-link\"}",
 "POST /shorten\n{\"url\": \"https://example.com/x\"}",
 "GET /d-link"]
--- more_headers eval
[::h($::T{write}), ::h($::T{mcp}), ""]
--- error_code eval
[201, 403, 302]
--- response_headers eval
["!WWW-Authenticate",
 "WWW-Authenticate: Bearer resource_metadata=\"$::META\", error=\"insufficient_scope\", scope=\"links:write\"",
 "Location: https://example.com/d"]



=== TEST 11: mcp_admin needs admin: 403 without it, 200 with it
--- request eval
["GET /api/links", "GET /api/links"]
--- more_headers eval
[::h($::T{rs256}), ::h($::T{admin})]
--- error_code eval
[403, 200]
--- response_headers eval
["WWW-Authenticate: Bearer resource_metadata=\"$::META\", error=\"insufficient_scope\", scope=\"admin\"",
 "!WWW-Authenticate"]
--- response_body_like eval
['"error":"forbidden"', '"code":"d-link"']



=== TEST 12: scp array and tenant claim: links are the tenant's
--- request eval
[::call("shorten_url", '{"url": "https://example.com/acme", "alias": "acme-link"}', "/mcp-t"),
 ::call("resolve_url", '{"code": "acme-link"}', "/mcp-t"),
 ::call("resolve_url", '{"code": "acme-link"}', "/mcp-t"),
 ::call("resolve_url", '{"code": "d-link"}', "/mcp-t"),
 ::call("shorten_url", '{"url": "https://example.com/ro"}', "/mcp-t")]
--- more_headers eval
[::h($::T{acme}, 'sAcme'), ::h($::T{acme}, 'sAcme'), ::h($::T{beta}, 'sBeta'),
 ::h($::T{acme}, 'sAcme'), ::h($::T{acme_ro}, 'sAcme')]
--- error_code eval
[200, 200, 200, 200, 200]
--- response_body_like eval
['"structuredContent":\{"ShortURL":"acme-link"',
 '"structuredContent":\{"code":"acme-link","url":"https://example.com/acme"',
 quotemeta(::tool_error("Short URL not found: acme-link")),
 quotemeta(::tool_error("Short URL not found: d-link")),
 quotemeta(::tool_error('this API key lacks the scope \\"links:write\\" (forbidden)'))]



=== TEST 13: memory and contexts are the tenant's
--- request eval
[::call("create_entities", '{"entities": [{"name": "Acme-secret", "entityType": "plan", "observations": ["ship it"]}]}', "/mcp-t"),
 ::call("context_append", '{"context_id": "c1", "role": "user", "content": "acme only"}', "/mcp-t"),
 ::call("read_graph", '{}', "/mcp-t"),
 ::call("context_list", '{}', "/mcp-t"),
 ::call("read_graph", '{}', "/mcp-t"),
 ::call("context_list", '{}', "/mcp-t")]
--- more_headers eval
[::h($::T{acme}, 'sAcme'), ::h($::T{acme}, 'sAcme'),
 ::h($::T{beta}, 'sBeta'), ::h($::T{beta}, 'sBeta'),
 ::h($::T{acme}, 'sAcme'), ::h($::T{acme}, 'sAcme')]
--- response_body_like eval
['"structuredContent"',
 '"structuredContent"',
 '"structuredContent":\{"entities":\[\],"relations":\[\]',
 '"structuredContent":\{"contexts":\[\]',
 '"name":"Acme-secret"',
 '"context_id":"c1"']
--- response_body_unlike eval
['isError":true', 'isError":true', 'Acme-secret', '"c1"', 'isError":true',
 'isError":true']



=== TEST 14: a session belongs to its tenant: another tenant's token gets 404
--- request eval
[::rpc("ping", "{}", "/mcp-t"), ::rpc("ping", "{}", "/mcp-t")]
--- more_headers eval
[::h($::T{beta}, 'sAcme'), ::h($::T{acme}, 'sAcme')]
--- error_code eval
[404, 200]



=== TEST 15: a tenant claim missing or not a tenant name: invalid_token
--- request eval
[::rpc("ping", "{}", "/mcp-t"), ::rpc("ping", "{}", "/mcp-t")]
--- more_headers eval
[::h($::T{badorg}, 'sD'), ::h($::T{noorg}, 'sD')]
--- error_code eval
[401, 401]
--- response_headers eval
[("WWW-Authenticate: Bearer resource_metadata=\"$::META\", error=\"invalid_token\"") x 2]



=== TEST 16: API keys and tokens together: either is accepted, neither a wrong one
--- request eval
[map { ::rpc("ping", "{}", "/mcp-k") } 1 .. 4]
--- more_headers eval
[::h($::API_KEY, 'sK'), ::h($::T{rs256}, 'sD'), ::h("wrong-key", 'sK'),
 ::h($::T{expired}, 'sD')]
--- error_code eval
[200, 200, 401, 401]
--- response_headers eval
["!WWW-Authenticate", "!WWW-Authenticate",
 "WWW-Authenticate: Bearer resource_metadata=\"$::META\", error=\"invalid_token\"",
 "WWW-Authenticate: Bearer resource_metadata=\"$::META\", error=\"invalid_token\""]
--- response_body eval
["{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n",
 "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n",
 ::rpc_error("the API key or access token is not valid"),
 ::rpc_error("the API key or access token is not valid")]



=== TEST 17: the metadata, at the root and at the path of the resource
--- request eval
["GET /.well-known/oauth-protected-resource",
 "GET /.well-known/oauth-protected-resource/mcp",
 "HEAD /.well-known/oauth-protected-resource/mcp"]
--- error_code eval
[200, 200, 200]
--- response_headers eval
["Content-Type: application/json", "Access-Control-Allow-Origin: *",
 "Content-Type: application/json"]
--- response_body eval
[("{\"resource\":\"$::AUD\",\"authorization_servers\":[\"https://issuer.example/realms/acme\",\"https://other.example\"],\"scopes_supported\":[\"mcp\",\"links:read\",\"links:write\",\"admin\"],\"bearer_methods_supported\":[\"header\"]}\n") x 2,
 ""]



=== TEST 18: metadata of another path is 404; POST is 405
--- request eval
["GET /.well-known/oauth-protected-resource/other",
 "POST /.well-known/oauth-protected-resource\n{}"]
--- error_code eval
[404, 405]
--- response_headers eval
["Content-Type: application/json", "Allow: GET, HEAD"]



=== TEST 19: mcp_oauth_audience: the resource, the metadata URL and the tokens' aud
--- config
    location = /mcp {
        mcp_endpoint;
        mcp_oauth_audience https://mcp.example.com/mcp;
    }
    location /.well-known/oauth-protected-resource {
        mcp_oauth_audience https://mcp.example.com/mcp;
        mcp_oauth_metadata;
    }
--- request eval
[::rpc("ping", "{}"), ::rpc("ping", "{}"),
 "GET /.well-known/oauth-protected-resource/mcp"]
--- more_headers eval
[::h(undef, 'sD'), ::h($::T{rs256}, 'sD'), ""]
--- error_code eval
[401, 401, 200]
--- response_headers eval
["WWW-Authenticate: Bearer resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\", scope=\"mcp\"",
 "WWW-Authenticate: Bearer resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\", error=\"invalid_token\"",
 "Content-Type: application/json"]
--- response_body_like eval
["", "", '^\{"resource":"https://mcp.example.com/mcp",']



=== TEST 20: the default audience: the server's name and port and the endpoint's path, whatever the Host says
--- config
    location = /mcp { mcp_endpoint; mcp_allowed_hosts mcp.example.org; }
    location = /mcp-x { mcp_endpoint; }
--- request eval
[::rpc("ping", "{}"), ::rpc("ping", "{}"), ::rpc("ping", "{}", "/mcp-x"),
 ::rpc("ping", "{}", "/mcp-x")]
--- more_headers eval
[::h($::T{host}, 'sD') . "Host: mcp.example.org\n",
 ::h(undef, 'sD') . "Host: mcp.example.org\n",
 ::h($::T{rs256}, 'sD'), ::h($::T{mcpx}, 'sD')]
--- error_code eval
[401, 401, 401, 200]
--- response_headers eval
["WWW-Authenticate: Bearer resource_metadata=\"$::META\", error=\"invalid_token\"",
 "WWW-Authenticate: Bearer resource_metadata=\"$::META\", scope=\"mcp\"",
 "WWW-Authenticate: Bearer resource_metadata=\"$::META-x\", error=\"invalid_token\"",
 "!WWW-Authenticate"]



=== TEST 21: the JWKS file changes: its new keys are used without a reload, the old ones no more
--- init
::spew_jwks($ENV{TEST_NGINX_JWKS_ROTATED});
Test::More::is(::post($::T{rs256}, 'sD', '{"jsonrpc": "2.0", "id": 1, '
                      . '"method": "ping"}'), 401, "a token of the old key: 401");
--- log_level: notice
--- request eval
::rpc("ping", "{}")
--- more_headers eval
::h($::T{rot}, 'sD')
--- error_code: 200
--- error_log eval
qr/mcp_oauth_jwks ".*jwks.json" read again: 1 keys/
--- no_error_log
[error]



=== TEST 22: a changed JWKS that cannot be used leaves the keys in use
--- init
::spew_jwks('{"keys": [');
--- log_level: notice
--- request eval
::rpc("ping", "{}")
--- more_headers eval
::h($::T{rot}, 'sD')
--- error_code: 200
--- error_log
changed but cannot be used; the keys read before stay in use



=== TEST 23: mcp_oauth_issuer without mcp_oauth_jwks
--- http_config
    mcp_store $TEST_NGINX_DATA_DIR;
    mcp_oauth_issuer https://issuer.example;
--- config
    location = /mcp { mcp_endpoint; }
--- must_die
--- error_log
mcp_oauth_issuer and mcp_oauth_jwks go together



=== TEST 24: a JWKS with a malformed key
--- http_config
    mcp_store $TEST_NGINX_DATA_DIR;
    mcp_oauth_issuer https://issuer.example;
    mcp_oauth_jwks $TEST_NGINX_JWKS_BAD;
--- config
    location = /mcp { mcp_endpoint; }
--- must_die
--- error_log
an RSA key of the JWKS has no valid "n" and "e"



=== TEST 25: a JWKS with only a shared secret
--- http_config
    mcp_store $TEST_NGINX_DATA_DIR;
    mcp_oauth_issuer https://issuer.example;
    mcp_oauth_jwks $TEST_NGINX_JWKS_OCT;
--- config
    location = /mcp { mcp_endpoint; }
--- must_die
--- error_log
the JWKS has no key usable for signatures



=== TEST 26: a JWKS that is not JSON
--- http_config
    mcp_store $TEST_NGINX_DATA_DIR;
    mcp_oauth_issuer https://issuer.example;
    mcp_oauth_jwks $TEST_NGINX_JWKS_NOT_JSON;
--- config
    location = /mcp { mcp_endpoint; }
--- must_die
--- error_log
the JWKS is not a JSON object



=== TEST 27: a JWKS file that does not exist
--- http_config
    mcp_store $TEST_NGINX_DATA_DIR;
    mcp_oauth_issuer https://issuer.example;
    mcp_oauth_jwks $TEST_NGINX_DATA_DIR/no-such-jwks.json;
--- config
    location = /mcp { mcp_endpoint; }
--- must_die
--- error_log eval
qr/mcp_oauth_jwks: open\(\) ".*no-such-jwks.json" failed/



=== TEST 28: an audience that is not an absolute URL
--- http_config
    mcp_store $TEST_NGINX_DATA_DIR;
    mcp_oauth_audience mcp.example.com/mcp;
    mcp_oauth_issuer https://issuer.example;
    mcp_oauth_jwks $TEST_NGINX_JWKS_OCT;
--- config
    location = /mcp { mcp_endpoint; }
--- must_die
--- error_log
invalid mcp_oauth_audience "mcp.example.com/mcp"
