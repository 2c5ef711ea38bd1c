# vim:set ft= ts=4 sw=4 et fdm=marker:

# Bad input, as one table: every way a request to /shorten, /{code} or /mcp
# can be wrong, with the status, the JSON error and, in the same block, a
# request showing that the store did not change (the alias the bad request
# named is not there, the link it collided with keeps its target, the
# graph and the contexts are still empty).  The last blocks list the whole
# store: nothing in this file created anything.
#
# Cases that nginx itself refuses before the module sees them (TRACE, a
# %00 or a ".." above the root in the path) are here too: their answer is
# nginx's own HTML page, and the store is as untouched.
#
# Every block but the last few has the same configuration, so one nginx
# serves them; every error is logged before its response is sent, so the
# log checks need not wait long.

BEGIN {
    $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} //= 0;
    $ENV{TEST_NGINX_SLEEP} //= 0.005;
}

use Test::Nginx::Socket 'no_plan';
use File::Temp qw(tempdir);

my $dir = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $tool = $ENV{TEST_NGINX_MCP_STORE_TOOL} || 'build/store/mcp-store';
my $now = time;

system($tool, 'put', $dir, 'exists', 'https://example.com/exists') == 0
    and system($tool, 'session-put', $dir, 's1', "last_seen=$now") == 0
    or die "cannot make the fixtures with $tool\n";

$ENV{TEST_NGINX_DATA_DIR} = $dir;

repeat_each(2);
log_level('warn');
no_shuffle();
no_root_location();

our $HttpConfig = <<'_EOC_';
    mcp_store $TEST_NGINX_DATA_DIR;
_EOC_

our $Config = <<'_EOC_';
    location = /shorten { mcp_shorten; mcp_max_body_size 4k; }
    location = /mcp { mcp_endpoint; mcp_max_message_size 8k; }
    location / { mcp_redirect; }
_EOC_

# {"message": ..., "error": ...} as the HTTP API sends it
sub err { qq({"message":"$_[0]","error":"$_[1]"}\n) }

# a JSON-RPC error response (id, code, message)
sub rpc {
    qq({"jsonrpc":"2.0","id":$_[0],"error":)
    . qq({"code":$_[1],"message":"$_[2]"}}\n)
}

# a tool's own failure: a result with isError
sub tool_err {
    qq({"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text",)
    . qq("text":"$_[0]"}],"isError":true}}\n)
}

# a parse error, jansson's reason at whatever column its version counts
sub parse_err {
    qr/^\{"message":"malformed JSON at line 1, column \d+: \Q$_[0]\E",/
    . qr/"error":"invalid_json"\}\n\z/
}

sub rpc_parse_err {
    qr/^\{"jsonrpc":"2.0","id":null,"error":\{"code":-32700,/
    . qr/"message":"Parse error at line 1, column \d+: \Q$_[0]\E"\}\}\n\z/
}

sub exactly { qr/^\Q$_[0]\E\z/ }

# POST /mcp with one tools/call
sub call {
    qq(POST /mcp\n{"jsonrpc":"2.0","id":1,"method":"tools/call",)
    . qq("params":{"name":"$_[0]","arguments":$_[1]}})
}

our $NotFound = err('Short URL not found', 'not_found');
our $Exists = '<!DOCTYPE html><title>Redirecting</title><a href='
              . qq("https://example.com/exists">https://example.com/exists</a>\n);
our $Alias = 'alias must be 1 to 64 characters of A-Z, a-z, 0-9, \"_\" and '
             . '\"-\"';

# a request with Content-Length, as raw bytes
sub raw {
    my ($line, $headers, $body) = @_;
    return "$line HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
           . $headers . 'Content-Length: ' . length($body) . "\r\n\r\n"
           . $body;
}

our $McpHeaders = "Content-Type: application/json\r\n"
                  . "Accept: application/json, text/event-stream\r\n"
                  . "Mcp-Session-Id: s1\r\n";

our $Ping = '{"jsonrpc":"2.0","id":1,"method":"ping"}';
our $EmptyGraph = '{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text",'
    . '"text":"{\\n  \\"entities\\": [],\\n  \\"relations\\": []\\n}"}],'
    . qq("structuredContent":{"entities":[],"relations":[]}}}\n);
our $NoContexts = '{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text",'
    . '"text":"{\\"contexts\\":[]}"}],'
    . qq("structuredContent":{"contexts":[]}}}\n);

add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->http_config) {
        $block->set_value("http_config", $HttpConfig);
    }

    if (!defined $block->config) {
        $block->set_value("config", $Config);
    }

    if (!defined $block->more_headers && !defined $block->raw_request) {
        $block->set_value("more_headers",
                          "Content-Type: application/json\n"
                          . "Accept: application/json, text/event-stream\n"
                          . "Mcp-Session-Id: s1");
    }

    if (!defined $block->no_error_log && !defined $block->error_log) {
        $block->set_value("no_error_log", "[error]\n[alert]\n[crit]");
    }
});

run_tests();

__DATA__

=== TEST 1: POST /shorten, an empty body
--- request eval
[qq~POST /shorten\n~,
 qq~GET /b01~]
--- error_code eval
[400, 404]
--- response_body eval
[::err(qq~the request body is empty; send {\\"OriginalURL\\": \\"https://...\\"}~, 'invalid_json'),
 $::NotFound]



=== TEST 2: POST /shorten, truncated JSON
--- request eval
[qq~POST /shorten\n{"url": "https://example.com/", "alias": "b02"~,
 qq~GET /b02~]
--- error_code eval
[400, 404]
--- response_body_like eval
[::parse_err(qq~'}' expected near end of file~),
 ::exactly($::NotFound)]



=== TEST 3: POST /shorten, a form body, not JSON
--- request eval
[qq~POST /shorten\nurl=https://example.com/&alias=b03~,
 qq~GET /b03~]
--- error_code eval
[400, 404]
--- response_body_like eval
[::parse_err(qq~'[' or '{' expected near 'url'~),
 ::exactly($::NotFound)]



=== TEST 4: POST /shorten, a JSON array, not an object
--- request eval
[qq~POST /shorten\n[{"url": "https://example.com/", "alias": "b04"}]~,
 qq~GET /b04~]
--- error_code eval
[400, 404]
--- response_body eval
[::err(qq~the request body must be a JSON object~, 'invalid_json'),
 $::NotFound]



=== TEST 5: POST /shorten, a bare JSON string
--- request eval
[qq~POST /shorten\n"https://example.com/"~,
 qq~GET /b05~]
--- error_code eval
[400, 404]
--- response_body_like eval
[::parse_err(qq~'[' or '{' expected~),
 ::exactly($::NotFound)]



=== TEST 6: POST /shorten, trailing garbage after the object
--- request eval
[qq~POST /shorten\n{"url": "https://example.com/", "alias": "b06"} x~,
 qq~GET /b06~]
--- error_code eval
[400, 404]
--- response_body_like eval
[::parse_err(qq~end of file expected near 'x'~),
 ::exactly($::NotFound)]



=== TEST 7: POST /shorten, a duplicate key (alias)
--- request eval
[qq~POST /shorten\n{"url": "https://example.com/", "alias": "b07", "alias": "b07x"}~,
 qq~GET /b07~]
--- error_code eval
[400, 404]
--- response_body_like eval
[::parse_err(qq~duplicate object key near '\\"alias\\"'~),
 ::exactly($::NotFound)]



=== TEST 8: POST /shorten, a duplicate key (OriginalURL)
--- request eval
[qq~POST /shorten\n{"alias": "b08", "OriginalURL": "https://example.com/", "OriginalURL": "javascript:x"}~,
 qq~GET /b08~]
--- error_code eval
[400, 404]
--- response_body_like eval
[::parse_err(qq~duplicate object key near '\\"OriginalURL\\"'~),
 ::exactly($::NotFound)]



=== TEST 9: POST /shorten, an unquoted key
--- request eval
[qq~POST /shorten\n{url: "https://example.com/", "alias": "b09"}~,
 qq~GET /b09~]
--- error_code eval
[400, 404]
--- response_body_like eval
[::parse_err(qq~string or '}' expected near 'url'~),
 ::exactly($::NotFound)]



=== TEST 10: POST /shorten, single quotes
--- request eval
[qq~POST /shorten\n{'url': 'https://example.com/', 'alias': 'b10'}~,
 qq~GET /b10~]
--- error_code eval
[400, 404]
--- response_body_like eval
[::parse_err(qq~string or '}' expected near '''~),
 ::exactly($::NotFound)]



=== TEST 11: deeply nested JSON is refused by the parser, not the stack
--- request eval
[qq~POST /shorten\n{"alias": "b11", "url": "https://example.com/", "x": ~ . ("[" x 2100),
 qq~GET /b11~]
--- error_code eval
[400, 404]
--- response_body_like eval
[qr/^\{"message":"malformed JSON at line 1, column \d+: maximum parsing depth reached near '\['","error":"invalid_json"\}$/,
 qr/"error":"not_found"/]



=== TEST 12: a body over mcp_max_body_size (Content-Length) is 413
--- request eval
[qq~POST /shorten\n{"alias": "b12", "url": "https://example.com/~ . ("a" x 5000) . q~"}~,
 qq~GET /b12~]
--- error_code eval
[413, 404]
--- response_body eval
[::err(qq~the request body is larger than 4096 bytes~, 'body_too_large'),
 $::NotFound]



=== TEST 13: a chunked body over mcp_max_body_size is 413 too
--- raw_request eval
my $b = qq~{"alias": "b13", "url": "https://example.com/~ . ("a" x 5000) . q~"}~;
qq~POST /shorten HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n~
. sprintf("%x\r\n%s\r\n0\r\n\r\n", length $b, $b)
--- error_code: 413
--- response_body eval
::err(qq~the request body is larger than 4096 bytes~, 'body_too_large')



=== TEST 14: POST /shorten, a byte that is not UTF-8 in the URL
--- request eval
[qq~POST /shorten\n{"alias": "b14", "url": "https://example.com/\xff"}~,
 qq~GET /b14~]
--- error_code eval
[400, 404]
--- response_body_like eval
[::parse_err(qq~unable to decode byte 0xff~),
 ::exactly($::NotFound)]



=== TEST 15: POST /shorten, a byte that is not UTF-8 in the alias
--- request eval
[qq~POST /shorten\n{"url": "https://example.com/", "alias": "b15\xfe"}~,
 qq~GET /b15~]
--- error_code eval
[400, 404]
--- response_body_like eval
[::parse_err(qq~unable to decode byte 0xfe near '\\"b15'~),
 ::exactly($::NotFound)]



=== TEST 16: POST /shorten, a UTF-8 sequence cut short
--- request eval
[qq~POST /shorten\n{"alias": "b16", "url": "https://example.com/\xc3"}~,
 qq~GET /b16~]
--- error_code eval
[400, 404]
--- response_body_like eval
[::parse_err(qq~unable to decode byte 0xc3~),
 ::exactly($::NotFound)]



=== TEST 17: POST /shorten, an overlong UTF-8 form of "/"
--- request eval
[qq~POST /shorten\n{"alias": "b17", "url": "https://example.com/\xc0\xaf"}~,
 qq~GET /b17~]
--- error_code eval
[400, 404]
--- response_body_like eval
[::parse_err(qq~unable to decode byte 0xc0~),
 ::exactly($::NotFound)]



=== TEST 18: POST /shorten, a UTF-8 encoded surrogate
--- request eval
[qq~POST /shorten\n{"alias": "b18", "url": "https://example.com/\xed\xa0\x80"}~,
 qq~GET /b18~]
--- error_code eval
[400, 404]
--- response_body_like eval
[::parse_err(qq~unable to decode byte 0xed~),
 ::exactly($::NotFound)]



=== TEST 19: POST /shorten, \u0000 in the URL
--- request eval
[qq~POST /shorten\n{"alias": "b19", "url": "https://example.com/a\\u0000b"}~,
 qq~GET /b19~]
--- error_code eval
[400, 404]
--- response_body_like eval
[::parse_err(qq~\\\\u0000 (NUL) is not allowed in a string~),
 ::exactly($::NotFound)]



=== TEST 20: POST /shorten, a lone surrogate escape
--- request eval
[qq~POST /shorten\n{"alias": "b20", "url": "https://example.com/\\ud800"}~,
 qq~GET /b20~]
--- error_code eval
[400, 404]
--- response_body_like eval
[::parse_err(qq~invalid Unicode '\\\\uD800'~),
 ::exactly($::NotFound)]



=== TEST 21: POST /shorten, a byte order mark
--- request eval
[qq~POST /shorten\n\xef\xbb\xbf{"alias": "b21", "url": "https://example.com/"}~,
 qq~GET /b21~]
--- error_code eval
[400, 404]
--- response_body_like eval
[::parse_err(qq~'[' or '{' expected near '\xef\xbb\xbf'~),
 ::exactly($::NotFound)]



=== TEST 22: POST /shorten, OriginalURL is a number
--- request eval
[qq~POST /shorten\n{"alias": "b22", "OriginalURL": 42}~,
 qq~GET /b22~]
--- error_code eval
[400, 404]
--- response_body eval
[::err(qq~OriginalURL must be a string~, 'invalid_request'),
 $::NotFound]



=== TEST 23: POST /shorten, url is an object
--- request eval
[qq~POST /shorten\n{"alias": "b23", "url": {"href": "https://example.com/"}}~,
 qq~GET /b23~]
--- error_code eval
[400, 404]
--- response_body eval
[::err(qq~url must be a string~, 'invalid_request'),
 $::NotFound]



=== TEST 24: POST /shorten, url is an array
--- request eval
[qq~POST /shorten\n{"alias": "b24", "url": ["https://example.com/"]}~,
 qq~GET /b24~]
--- error_code eval
[400, 404]
--- response_body eval
[::err(qq~url must be a string~, 'invalid_request'),
 $::NotFound]



=== TEST 25: POST /shorten, url is true
--- request eval
[qq~POST /shorten\n{"alias": "b25", "url": true}~,
 qq~GET /b25~]
--- error_code eval
[400, 404]
--- response_body eval
[::err(qq~url must be a string~, 'invalid_request'),
 $::NotFound]



=== TEST 26: POST /shorten, OriginalURL is null and url missing
--- request eval
[qq~POST /shorten\n{"alias": "b26", "OriginalURL": null}~,
 qq~GET /b26~]
--- error_code eval
[400, 404]
--- response_body eval
[::err(qq~OriginalURL is required~, 'missing_url'),
 $::NotFound]



=== TEST 27: POST /shorten, url is empty
--- request eval
[qq~POST /shorten\n{"alias": "b27", "url": ""}~,
 qq~GET /b27~]
--- error_code eval
[400, 404]
--- response_body eval
[::err(qq~OriginalURL is required~, 'missing_url'),
 $::NotFound]



=== TEST 28: POST /shorten, alias is a number
--- request eval
[qq~POST /shorten\n{"url": "https://example.com/", "alias": 28}~,
 qq~GET /28~]
--- error_code eval
[400, 404]
--- response_body eval
[::err($::Alias, 'invalid_alias'),
 $::NotFound]



=== TEST 29: POST /shorten, alias is an array
--- request eval
[qq~POST /shorten\n{"url": "https://example.com/", "alias": ["b29"]}~,
 qq~GET /b29~]
--- error_code eval
[400, 404]
--- response_body eval
[::err($::Alias, 'invalid_alias'),
 $::NotFound]



=== TEST 30: POST /shorten, alias is empty
--- request eval
[qq~POST /shorten\n{"url": "https://example.com/", "alias": "", "x": "b30"}~,
 qq~GET /b30~]
--- error_code eval
[400, 404]
--- response_body eval
[::err($::Alias, 'invalid_alias'),
 $::NotFound]



=== TEST 31: POST /shorten, expires_in is a string
--- request eval
[qq~POST /shorten\n{"url": "https://example.com/", "alias": "b31", "expires_in": "60"}~,
 qq~GET /b31~]
--- error_code eval
[400, 404]
--- response_body eval
[::err(qq~expires_in must be a whole number of seconds, at least 1~, 'invalid_request'),
 $::NotFound]



=== TEST 32: POST /shorten, expires_in is 0
--- request eval
[qq~POST /shorten\n{"url": "https://example.com/", "alias": "b32", "expires_in": 0}~,
 qq~GET /b32~]
--- error_code eval
[400, 404]
--- response_body eval
[::err(qq~expires_in must be a whole number of seconds, at least 1~, 'invalid_request'),
 $::NotFound]



=== TEST 33: POST /shorten, expires_in is a fraction
--- request eval
[qq~POST /shorten\n{"url": "https://example.com/", "alias": "b33", "expires_in": 1.5}~,
 qq~GET /b33~]
--- error_code eval
[400, 404]
--- response_body eval
[::err(qq~expires_in must be a whole number of seconds, at least 1~, 'invalid_request'),
 $::NotFound]



=== TEST 34: POST /shorten, expires_in is beyond a century
--- request eval
[qq~POST /shorten\n{"url": "https://example.com/", "alias": "b34", "expires_in": 1e20}~,
 qq~GET /b34~]
--- error_code eval
[400, 404]
--- response_body eval
[::err(qq~expires_in must be a whole number of seconds, at least 1~, 'invalid_request'),
 $::NotFound]



=== TEST 35: POST /shorten, expires_at is a number
--- request eval
[qq~POST /shorten\n{"url": "https://example.com/", "alias": "b35", "expires_at": 1893456000}~,
 qq~GET /b35~]
--- error_code eval
[400, 404]
--- response_body eval
[::err(qq~expires_at must be an RFC 3339 time such as \\"2030-01-01T00:00:00Z\\"~, 'invalid_request'),
 $::NotFound]



=== TEST 36: POST /shorten, expires_at is not a time
--- request eval
[qq~POST /shorten\n{"url": "https://example.com/", "alias": "b36", "expires_at": "tomorrow"}~,
 qq~GET /b36~]
--- error_code eval
[400, 404]
--- response_body eval
[::err(qq~expires_at must be an RFC 3339 time such as \\"2030-01-01T00:00:00Z\\"~, 'invalid_request'),
 $::NotFound]



=== TEST 37: POST /shorten, expires_at is in the past
--- request eval
[qq~POST /shorten\n{"url": "https://example.com/", "alias": "b37", "expires_at": "2000-01-01T00:00:00Z"}~,
 qq~GET /b37~]
--- error_code eval
[400, 404]
--- response_body eval
[::err(qq~expires_at is in the past~, 'invalid_request'),
 $::NotFound]



=== TEST 38: POST /shorten, expires_in and expires_at together
--- request eval
[qq~POST /shorten\n{"url": "https://example.com/", "alias": "b38", "expires_in": 60, "expires_at": "2040-01-01T00:00:00Z"}~,
 qq~GET /b38~]
--- error_code eval
[400, 404]
--- response_body eval
[::err(qq~give expires_in or expires_at, not both~, 'invalid_request'),
 $::NotFound]



=== TEST 39: POST /shorten, max_visits is a string
--- request eval
[qq~POST /shorten\n{"url": "https://example.com/", "alias": "b39", "max_visits": "3"}~,
 qq~GET /b39~]
--- error_code eval
[400, 404]
--- response_body eval
[::err(qq~max_visits must be a whole number, at least 1~, 'invalid_request'),
 $::NotFound]



=== TEST 40: POST /shorten, max_visits is 0
--- request eval
[qq~POST /shorten\n{"url": "https://example.com/", "alias": "b40", "max_visits": 0}~,
 qq~GET /b40~]
--- error_code eval
[400, 404]
--- response_body eval
[::err(qq~max_visits must be a whole number, at least 1~, 'invalid_request'),
 $::NotFound]



=== TEST 41: POST /shorten, max_visits is negative
--- request eval
[qq~POST /shorten\n{"url": "https://example.com/", "alias": "b41", "max_visits": -1}~,
 qq~GET /b41~]
--- error_code eval
[400, 404]
--- response_body eval
[::err(qq~max_visits must be a whole number, at least 1~, 'invalid_request'),
 $::NotFound]



=== TEST 42: POST /shorten, max_visits is over 2^53
--- request eval
[qq~POST /shorten\n{"url": "https://example.com/", "alias": "b42", "max_visits": 9007199254740993}~,
 qq~GET /b42~]
--- error_code eval
[400, 404]
--- response_body eval
[::err(qq~max_visits must be a whole number, at least 1~, 'invalid_request'),
 $::NotFound]



=== TEST 43: POST /shorten, a javascript: URL
--- request eval
[qq~POST /shorten\n{"alias": "b43", "url": "javascript:alert(document.cookie)"}~,
 qq~GET /b43~]
--- error_code eval
[422, 404]
--- response_body eval
[::err(qq~URL scheme \\"javascript\\" is not allowed~, 'url_refused'),
 $::NotFound]



=== TEST 44: POST /shorten, a JaVaScRiPt: URL in mixed case
--- request eval
[qq~POST /shorten\n{"alias": "b44", "url": "JaVaScRiPt:alert(1)"}~,
 qq~GET /b44~]
--- error_code eval
[422, 404]
--- response_body eval
[::err(qq~URL scheme \\"JaVaScRiPt\\" is not allowed~, 'url_refused'),
 $::NotFound]



=== TEST 45: POST /shorten, a data: URL
--- request eval
[qq~POST /shorten\n{"alias": "b45", "url": "data:text/html;base64,PHNjcmlwdD4="}~,
 qq~GET /b45~]
--- error_code eval
[422, 404]
--- response_body eval
[::err(qq~URL scheme \\"data\\" is not allowed~, 'url_refused'),
 $::NotFound]



=== TEST 46: POST /shorten, a file: URL
--- request eval
[qq~POST /shorten\n{"alias": "b46", "url": "file:///etc/passwd"}~,
 qq~GET /b46~]
--- error_code eval
[422, 404]
--- response_body eval
[::err(qq~URL scheme \\"file\\" is not allowed~, 'url_refused'),
 $::NotFound]



=== TEST 47: POST /shorten, a vbscript: URL
--- request eval
[qq~POST /shorten\n{"alias": "b47", "url": "vbscript:msgbox(1)"}~,
 qq~GET /b47~]
--- error_code eval
[422, 404]
--- response_body eval
[::err(qq~URL scheme \\"vbscript\\" is not allowed~, 'url_refused'),
 $::NotFound]



=== TEST 48: POST /shorten, an ftp: URL (not in mcp_url_schemes)
--- request eval
[qq~POST /shorten\n{"alias": "b48", "url": "ftp://example.com/f"}~,
 qq~GET /b48~]
--- error_code eval
[422, 404]
--- response_body eval
[::err(qq~URL scheme \\"ftp\\" is not allowed~, 'url_refused'),
 $::NotFound]



=== TEST 49: POST /shorten, a URL without a scheme
--- request eval
[qq~POST /shorten\n{"alias": "b49", "url": "example.com/x"}~,
 qq~GET /b49~]
--- error_code eval
[422, 404]
--- response_body eval
[::err(qq~URL must start with a scheme, as in https://example.com/~, 'url_refused'),
 $::NotFound]



=== TEST 50: POST /shorten, a protocol-relative URL
--- request eval
[qq~POST /shorten\n{"alias": "b50", "url": "//example.com/x"}~,
 qq~GET /b50~]
--- error_code eval
[422, 404]
--- response_body eval
[::err(qq~URL must start with a scheme, as in https://example.com/~, 'url_refused'),
 $::NotFound]



=== TEST 51: POST /shorten, a URL with user:password@
--- request eval
[qq~POST /shorten\n{"alias": "b51", "url": "https://user:secret\@example.com/"}~,
 qq~GET /b51~]
--- error_code eval
[422, 404]
--- response_body eval
[::err(qq~URL must not contain credentials (user:password\@)~, 'url_refused'),
 $::NotFound]



=== TEST 52: POST /shorten, a URL with user@
--- request eval
[qq~POST /shorten\n{"alias": "b52", "url": "https://admin\@example.com/"}~,
 qq~GET /b52~]
--- error_code eval
[422, 404]
--- response_body eval
[::err(qq~URL must not contain credentials (user:password\@)~, 'url_refused'),
 $::NotFound]



=== TEST 53: POST /shorten, a backslash before @ (parser confusion)
--- request eval
[qq~POST /shorten\n{"alias": "b53", "url": "https://example.com\\\\\@evil.example/"}~,
 qq~GET /b53~]
--- error_code eval
[422, 404]
--- response_body eval
[::err(qq~URL must not contain credentials (user:password\@)~, 'url_refused'),
 $::NotFound]



=== TEST 54: POST /shorten, CR LF in the URL (header injection into Location)
--- request eval
[qq~POST /shorten\n{"alias": "b54", "url": "https://example.com/\\r\\nSet-Cookie: a=b"}~,
 qq~GET /b54~]
--- error_code eval
[422, 404]
--- response_body eval
[::err(qq~URL contains a control character at byte 20~, 'url_refused'),
 $::NotFound]



=== TEST 55: POST /shorten, a tab in the URL
--- request eval
[qq~POST /shorten\n{"alias": "b55", "url": "https://example.com/a\\tb"}~,
 qq~GET /b55~]
--- error_code eval
[422, 404]
--- response_body eval
[::err(qq~URL contains a control character at byte 21~, 'url_refused'),
 $::NotFound]



=== TEST 56: POST /shorten, DEL in the URL
--- request eval
[qq~POST /shorten\n{"alias": "b56", "url": "https://example.com/\\u007f"}~,
 qq~GET /b56~]
--- error_code eval
[422, 404]
--- response_body eval
[::err(qq~URL contains a control character at byte 20~, 'url_refused'),
 $::NotFound]



=== TEST 57: POST /shorten, a URL with no host
--- request eval
[qq~POST /shorten\n{"alias": "b57", "url": "https:///path"}~,
 qq~GET /b57~]
--- error_code eval
[422, 404]
--- response_body eval
[::err(qq~URL has no host~, 'url_refused'),
 $::NotFound]



=== TEST 58: POST /shorten, a space in the host
--- request eval
[qq~POST /shorten\n{"alias": "b58", "url": "https://exa mple.com/"}~,
 qq~GET /b58~]
--- error_code eval
[422, 404]
--- response_body eval
[::err(qq~URL host contains \\" \\"~, 'url_refused'),
 $::NotFound]



=== TEST 59: POST /shorten, a port that is not a number
--- request eval
[qq~POST /shorten\n{"alias": "b59", "url": "https://example.com:http/"}~,
 qq~GET /b59~]
--- error_code eval
[422, 404]
--- response_body eval
[::err(qq~URL has an invalid port~, 'url_refused'),
 $::NotFound]



=== TEST 60: POST /shorten, a port over 65535
--- request eval
[qq~POST /shorten\n{"alias": "b60", "url": "https://example.com:65536/"}~,
 qq~GET /b60~]
--- error_code eval
[422, 404]
--- response_body eval
[::err(qq~URL has an invalid port~, 'url_refused'),
 $::NotFound]



=== TEST 61: POST /shorten, a non-ASCII host
--- request eval
[qq~POST /shorten\n{"alias": "b61", "url": "https://b\\u00fccher.example/"}~,
 qq~GET /b61~]
--- error_code eval
[422, 404]
--- response_body eval
[::err(qq~URL host must be ASCII: use its punycode (xn--) form~, 'url_refused'),
 $::NotFound]



=== TEST 62: a URL over mcp_url_max_length
--- request eval
[qq~POST /shorten\n{"alias": "b62", "url": "https://example.com/~ . ("a" x 2100) . q~"}~,
 qq~GET /b62~]
--- error_code eval
[422, 404]
--- response_body eval
[::err(qq~URL is 2120 bytes long; the limit is 2048~, 'url_refused'),
 $::NotFound]



=== TEST 63: POST /shorten, a URL pointing at the shortener itself
--- request eval
[qq~POST /shorten\n{"alias": "b63", "url": "http://localhost/exists"}~,
 qq~GET /b63~]
--- error_code eval
[422, 404]
--- response_body eval
[::err(qq~URL points at this shortener itself~, 'url_refused'),
 $::NotFound]



=== TEST 64: an alias over 64 characters
--- request eval
[qq~POST /shorten\n{"url": "https://example.com/", "alias": "~ . ("b" x 65) . q~"}~,
 "GET /" . ("b" x 65)]
--- error_code eval
[400, 404]
--- response_body eval
[::err($::Alias, 'invalid_alias'),
 $::NotFound]



=== TEST 65: POST /shorten, an alias with a slash
--- request eval
[qq~POST /shorten\n{"url": "https://example.com/", "alias": "b65/x"}~,
 qq~GET /b65/x~]
--- error_code eval
[400, 404]
--- response_body eval
[::err($::Alias, 'invalid_alias'),
 $::NotFound]



=== TEST 66: POST /shorten, an alias of ..
--- request eval
[qq~POST /shorten\n{"url": "https://example.com/", "alias": ".."}~,
 qq~GET /b66~]
--- error_code eval
[400, 404]
--- response_body eval
[::err($::Alias, 'invalid_alias'),
 $::NotFound]



=== TEST 67: POST /shorten, an alias with %2F
--- request eval
[qq~POST /shorten\n{"url": "https://example.com/", "alias": "b67%2Fx"}~,
 qq~GET /b67%2Fx~]
--- error_code eval
[400, 404]
--- response_body eval
[::err($::Alias, 'invalid_alias'),
 $::NotFound]



=== TEST 68: POST /shorten, an alias with \u0000
--- request eval
[qq~POST /shorten\n{"url": "https://example.com/", "alias": "b68\\u0000x"}~,
 qq~GET /b68~]
--- error_code eval
[400, 404]
--- response_body_like eval
[::parse_err(qq~\\\\u0000 (NUL) is not allowed in a string~),
 ::exactly($::NotFound)]



=== TEST 69: POST /shorten, an alias with CR LF
--- request eval
[qq~POST /shorten\n{"url": "https://example.com/", "alias": "b69\\r\\nX: y"}~,
 qq~GET /b69~]
--- error_code eval
[400, 404]
--- response_body eval
[::err($::Alias, 'invalid_alias'),
 $::NotFound]



=== TEST 70: POST /shorten, an alias with a space
--- request eval
[qq~POST /shorten\n{"url": "https://example.com/", "alias": "b70 x"}~,
 qq~GET /b70~]
--- error_code eval
[400, 404]
--- response_body eval
[::err($::Alias, 'invalid_alias'),
 $::NotFound]



=== TEST 71: POST /shorten, an alias with a non-ASCII letter
--- request eval
[qq~POST /shorten\n{"url": "https://example.com/", "alias": "b71\\u00e9"}~,
 qq~GET /b71~]
--- error_code eval
[400, 404]
--- response_body eval
[::err($::Alias, 'invalid_alias'),
 $::NotFound]



=== TEST 72: POST /shorten, an alias colliding with a route: shorten
--- request eval
[qq~POST /shorten\n{"url": "https://example.com/", "alias": "shorten"}~,
 qq~GET /b72~]
--- error_code eval
[409, 404]
--- response_body eval
[::err(qq~alias \\"shorten\\" is reserved~, 'alias_reserved'),
 $::NotFound]



=== TEST 73: POST /shorten, an alias colliding with a route, in another case: MCP
--- request eval
[qq~POST /shorten\n{"url": "https://example.com/", "alias": "MCP"}~,
 qq~GET /MCP~]
--- error_code eval
[409, 404]
--- response_body eval
[::err(qq~alias \\"MCP\\" is reserved~, 'alias_reserved'),
 $::NotFound]



=== TEST 74: POST /shorten, a reserved alias: favicon
--- request eval
[qq~POST /shorten\n{"url": "https://example.com/", "alias": "favicon"}~,
 qq~GET /favicon~]
--- error_code eval
[409, 404]
--- response_body eval
[::err(qq~alias \\"favicon\\" is reserved~, 'alias_reserved'),
 $::NotFound]



=== TEST 75: an alias that is taken: the link keeps its target
--- request eval
[qq~POST /shorten\n{"url": "https://evil.example/", "alias": "exists"}~,
 qq~GET /exists~]
--- error_code eval
[409, 302]
--- response_body eval
[::err(qq~alias \\"exists\\" is already taken~, 'alias_taken'),
 $::Exists]



=== TEST 76: a body declared as XML is 415
--- request eval
[qq~POST /shorten\n{"url": "https://example.com/", "alias": "b76"}~,
 qq~GET /b76~]
--- error_code eval
[415, 404]
--- response_body eval
[::err(qq~send the body as JSON with \\"Content-Type: application/json\\"~, 'unsupported_media_type'),
 $::NotFound]
--- more_headers
Content-Type: text/xml



=== TEST 77: a multipart form is 415
--- request eval
[qq~POST /shorten\n{"url": "https://example.com/", "alias": "b77"}~,
 qq~GET /b77~]
--- error_code eval
[415, 404]
--- response_body eval
[::err(qq~send the body as JSON with \\"Content-Type: application/json\\"~, 'unsupported_media_type'),
 $::NotFound]
--- more_headers
Content-Type: multipart/form-data; boundary=x



=== TEST 78: GET /shorten is 405
--- request eval
[qq~GET /shorten\n{"url": "https://example.com/", "alias": "mget"}~,
 qq~GET /mget~]
--- error_code eval
[405, 404]
--- response_body eval
[::err(qq~method GET is not allowed here; use POST~, 'method_not_allowed'),
 $::NotFound]



=== TEST 79: PUT /shorten is 405
--- request eval
[qq~PUT /shorten\n{"url": "https://example.com/", "alias": "mput"}~,
 qq~GET /mput~]
--- error_code eval
[405, 404]
--- response_body eval
[::err(qq~method PUT is not allowed here; use POST~, 'method_not_allowed'),
 $::NotFound]



=== TEST 80: DELETE /shorten is 405
--- request eval
[qq~DELETE /shorten\n{"url": "https://example.com/", "alias": "mdelete"}~,
 qq~GET /mdelete~]
--- error_code eval
[405, 404]
--- response_body eval
[::err(qq~method DELETE is not allowed here; use POST~, 'method_not_allowed'),
 $::NotFound]



=== TEST 81: PATCH /shorten is 405
--- request eval
[qq~PATCH /shorten\n{"url": "https://example.com/", "alias": "mpatch"}~,
 qq~GET /mpatch~]
--- error_code eval
[405, 404]
--- response_body eval
[::err(qq~method PATCH is not allowed here; use POST~, 'method_not_allowed'),
 $::NotFound]



=== TEST 82: OPTIONS /shorten is 405
--- request eval
[qq~OPTIONS /shorten\n{"url": "https://example.com/", "alias": "moptions"}~,
 qq~GET /moptions~]
--- error_code eval
[405, 404]
--- response_body eval
[::err(qq~method OPTIONS is not allowed here; use POST~, 'method_not_allowed'),
 $::NotFound]



=== TEST 83: PROPFIND /shorten is 405
--- request eval
[qq~PROPFIND /shorten\n{"url": "https://example.com/", "alias": "mpropfind"}~,
 qq~GET /mpropfind~]
--- error_code eval
[405, 404]
--- response_body eval
[::err(qq~method PROPFIND is not allowed here; use POST~, 'method_not_allowed'),
 $::NotFound]



=== TEST 84: PUT /shorten answers Allow: POST
--- request
PUT /shorten
{}
--- error_code: 405
--- response_headers
Allow: POST
--- response_body eval
::err(qq~method PUT is not allowed here; use POST~, 'method_not_allowed')



=== TEST 85: HEAD /shorten is 405 without a body
--- request
HEAD /shorten
--- error_code: 405
--- response_headers
Allow: POST
Content-Type: application/json
--- response_body




=== TEST 86: POST /{code} is 405, and the link stays
--- request eval
[qq~POST /exists\n{}~,
 qq~GET /exists~]
--- error_code eval
[405, 302]
--- response_body eval
[::err(qq~method POST is not allowed here; use GET, HEAD~, 'method_not_allowed'),
 $::Exists]



=== TEST 87: PUT /{code} is 405, and the link stays
--- request eval
[qq~PUT /exists\n{}~,
 qq~GET /exists~]
--- error_code eval
[405, 302]
--- response_body eval
[::err(qq~method PUT is not allowed here; use GET, HEAD~, 'method_not_allowed'),
 $::Exists]



=== TEST 88: DELETE /{code} is 405, and the link stays
--- request eval
[qq~DELETE /exists\n{}~,
 qq~GET /exists~]
--- error_code eval
[405, 302]
--- response_body eval
[::err(qq~method DELETE is not allowed here; use GET, HEAD~, 'method_not_allowed'),
 $::Exists]



=== TEST 89: PATCH /{code} is 405, and the link stays
--- request eval
[qq~PATCH /exists\n{}~,
 qq~GET /exists~]
--- error_code eval
[405, 302]
--- response_body eval
[::err(qq~method PATCH is not allowed here; use GET, HEAD~, 'method_not_allowed'),
 $::Exists]



=== TEST 90: OPTIONS /{code} is 405, and the link stays
--- request eval
[qq~OPTIONS /exists\n{}~,
 qq~GET /exists~]
--- error_code eval
[405, 302]
--- response_body eval
[::err(qq~method OPTIONS is not allowed here; use GET, HEAD~, 'method_not_allowed'),
 $::Exists]



=== TEST 91: GET /mcp with a Last-Event-ID that is none of ours is 400
--- request eval
[qq~GET /mcp~,
 "POST /mcp\n$::Ping"]
--- more_headers
Content-Type: application/json
Accept: application/json, text/event-stream
Mcp-Session-Id: s1
Last-Event-ID: 12
--- error_code eval
[400, 200]
--- response_body eval
[::rpc('null', -32600, qq~Bad Request: Last-Event-ID is not an event id of this server~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 92: PUT /mcp is 405
--- request eval
[qq~PUT /mcp\n{}~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[405, 200]
--- response_body eval
[::rpc('null', -32600, qq~method PUT is not allowed: POST sends messages, GET opens the session's stream, DELETE ends a session~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 93: PATCH /mcp is 405
--- request eval
[qq~PATCH /mcp\n{}~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[405, 200]
--- response_body eval
[::rpc('null', -32600, qq~method PATCH is not allowed: POST sends messages, GET opens the session's stream, DELETE ends a session~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 94: OPTIONS /mcp with a body is a bare 204 that runs nothing
--- request eval
[qq~OPTIONS /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "nosuch"}~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[204, 200]
--- response_body eval
["",
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 95: DELETE /{code} answers Allow: GET, HEAD
--- request
DELETE /exists
--- error_code: 405
--- response_headers
Allow: GET, HEAD
--- response_body eval
::err(qq~method DELETE is not allowed here; use GET, HEAD~, 'method_not_allowed')



=== TEST 96: PUT /mcp answers Allow: GET, POST, DELETE
--- request
PUT /mcp
{}
--- error_code: 405
--- response_headers
Allow: GET, POST, DELETE, OPTIONS
--- response_body eval
::rpc('null', -32600, qq~method PUT is not allowed: POST sends messages, GET opens the session's stream, DELETE ends a session~)



=== TEST 97: HEAD /mcp is 405 without a body
--- request
HEAD /mcp
--- error_code: 405
--- response_headers
Allow: GET, POST, DELETE, OPTIONS
Content-Type: application/json
--- response_body




=== TEST 98: TRACE is refused by nginx itself, before any handler
--- request eval
[qq~TRACE /shorten~,
 qq~TRACE /exists~,
 qq~TRACE /mcp~,
 qq~GET /exists~]
--- error_code eval
[405, 405, 405, 302]
--- response_body_like eval
[qr/405 Not Allowed/,
 qr/405 Not Allowed/,
 qr/405 Not Allowed/,
 qr/Redirecting/]



=== TEST 99: GET with a trailing slash is 404
--- request eval
[qq~GET /exists/~,
 qq~GET /exists~]
--- error_code eval
[404, 302]
--- response_body eval
[$::NotFound,
 $::Exists]



=== TEST 100: GET with a slash inside is 404
--- request eval
[qq~GET /exists/x~,
 qq~GET /exists~]
--- error_code eval
[404, 302]
--- response_body eval
[$::NotFound,
 $::Exists]



=== TEST 101: GET with .. after the code is 404
--- request eval
[qq~GET /exists/..~,
 qq~GET /exists~]
--- error_code eval
[404, 302]
--- response_body eval
[$::NotFound,
 $::Exists]



=== TEST 102: GET with %2F after the code is 404
--- request eval
[qq~GET /exists%2F~,
 qq~GET /exists~]
--- error_code eval
[404, 302]
--- response_body eval
[$::NotFound,
 $::Exists]



=== TEST 103: GET with %2F and .. is 404
--- request eval
[qq~GET /exists%2f..~,
 qq~GET /exists~]
--- error_code eval
[404, 302]
--- response_body eval
[$::NotFound,
 $::Exists]



=== TEST 104: GET with a semicolon is 404
--- request eval
[qq~GET /exists;x~,
 qq~GET /exists~]
--- error_code eval
[404, 302]
--- response_body eval
[$::NotFound,
 $::Exists]



=== TEST 105: GET with a code of 65 characters is 404
--- request eval
[qq~GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa~,
 qq~GET /exists~]
--- error_code eval
[404, 302]
--- response_body eval
[$::NotFound,
 $::Exists]



=== TEST 106: GET with a dot is 404
--- request eval
[qq~GET /exists.~,
 qq~GET /exists~]
--- error_code eval
[404, 302]
--- response_body eval
[$::NotFound,
 $::Exists]



=== TEST 107: GET with an encoded CR LF is 404
--- request eval
[qq~GET /exists%0d%0aSet-Cookie:%20a=b~,
 qq~GET /exists~]
--- error_code eval
[404, 302]
--- response_body eval
[$::NotFound,
 $::Exists]



=== TEST 108: GET with a byte that is not UTF-8 is 404
--- request eval
[qq~GET /exists%ff~,
 qq~GET /exists~]
--- error_code eval
[404, 302]
--- response_body eval
[$::NotFound,
 $::Exists]



=== TEST 109: GET with another case is 404
--- request eval
[qq~GET /EXISTS~,
 qq~GET /exists~]
--- error_code eval
[404, 302]
--- response_body eval
[$::NotFound,
 $::Exists]



=== TEST 110: GET with %00 in the code is refused by nginx (400)
--- request eval
[qq~GET /exists%00~,
 qq~GET /exists~]
--- error_code eval
[400, 302]
--- response_body_like eval
[qr/400 Bad Request/,
 qr/Redirecting/]



=== TEST 111: GET with %00 alone is refused by nginx (400)
--- request eval
[qq~GET /%00~,
 qq~GET /exists~]
--- error_code eval
[400, 302]
--- response_body_like eval
[qr/400 Bad Request/,
 qr/Redirecting/]



=== TEST 112: GET with .. above the root is refused by nginx (400)
--- request eval
[qq~GET /../exists~,
 qq~GET /exists~]
--- error_code eval
[400, 302]
--- response_body_like eval
[qr/400 Bad Request/,
 qr/Redirecting/]



=== TEST 113: GET with %2e%2e above the root is refused by nginx (400)
--- request eval
[qq~GET /%2e%2e/exists~,
 qq~GET /exists~]
--- error_code eval
[400, 302]
--- response_body_like eval
[qr/400 Bad Request/,
 qr/Redirecting/]



=== TEST 114: HEAD of an unknown code is 404 without a body
--- request
HEAD /nope
--- error_code: 404
--- response_headers
Content-Type: application/json
--- response_body




=== TEST 115: POST /mcp, malformed JSON
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": ~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[400, 200]
--- response_body_like eval
[::rpc_parse_err(qq~unexpected token near end of file~),
 ::exactly(qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~)]



=== TEST 116: POST /mcp, a body that is not JSON
--- request eval
[qq~POST /mcp\nping~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[400, 200]
--- response_body_like eval
[::rpc_parse_err(qq~'[' or '{' expected near 'ping'~),
 ::exactly(qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~)]



=== TEST 117: POST /mcp, an empty body
--- request eval
[qq~POST /mcp\n~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[400, 200]
--- response_body_like eval
[::rpc_parse_err(qq~'[' or '{' expected near end of file~),
 ::exactly(qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~)]



=== TEST 118: POST /mcp, a byte that is not UTF-8
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "ping\xff"}~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[400, 200]
--- response_body_like eval
[::rpc_parse_err(qq~unable to decode byte 0xff near '\\"ping'~),
 ::exactly(qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~)]



=== TEST 119: JSON nested deeper than 64 levels
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"x": ~ . ("[" x 64) . ("]" x 64) . "}}",
 "POST /mcp\n$::Ping"]
--- error_code eval
[400, 200]
--- response_body eval
[::rpc('null', -32700, qq~Parse error: JSON nested deeper than 64 levels~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 120: a message over mcp_max_message_size is 413
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "create_entities", "arguments": {"entities": [{"name": "big", "entityType": "t", "observations": ["~ . ("x" x 9000) . q~"]}]}}}~,
 ::call("read_graph", "{}")]
--- error_code eval
[413, 200]
--- response_body eval
[::rpc('null', -32600, qq~the message is larger than 8192 bytes~),
 $::EmptyGraph]



=== TEST 121: POST /mcp, a huge params object is 413
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"pad": "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"}}~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[413, 200]
--- response_body eval
[::rpc('null', -32600, qq~the message is larger than 8192 bytes~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 122: POST /mcp, a batch is refused
--- request eval
[qq~POST /mcp\n[{"jsonrpc": "2.0", "id": 1, "method": "ping"}, {"jsonrpc": "2.0", "id": 2, "method": "ping"}]~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[400, 200]
--- response_body eval
[::rpc('null', -32600, qq~Invalid Request: batches are not supported; send one message per POST~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 123: POST /mcp, an empty batch is refused
--- request eval
[qq~POST /mcp\n[]~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[400, 200]
--- response_body eval
[::rpc('null', -32600, qq~Invalid Request: batches are not supported; send one message per POST~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 124: POST /mcp, jsonrpc "1.0"
--- request eval
[qq~POST /mcp\n{"jsonrpc": "1.0", "id": 1, "method": "ping"}~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[400, 200]
--- response_body eval
[::rpc('1', -32600, qq~Invalid Request: not a JSON-RPC 2.0 message (\\"jsonrpc\\": \\"2.0\\" is required)~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 125: POST /mcp, jsonrpc missing
--- request eval
[qq~POST /mcp\n{"id": 1, "method": "ping"}~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[400, 200]
--- response_body eval
[::rpc('1', -32600, qq~Invalid Request: not a JSON-RPC 2.0 message (\\"jsonrpc\\": \\"2.0\\" is required)~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 126: POST /mcp, jsonrpc as a number
--- request eval
[qq~POST /mcp\n{"jsonrpc": 2.0, "id": 1, "method": "ping"}~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[400, 200]
--- response_body eval
[::rpc('1', -32600, qq~Invalid Request: not a JSON-RPC 2.0 message (\\"jsonrpc\\": \\"2.0\\" is required)~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 127: POST /mcp, an id that is a fraction
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1.5, "method": "ping"}~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[400, 200]
--- response_body eval
[::rpc('null', -32600, qq~Invalid Request: \\"id\\" must be a string or an integer~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 128: POST /mcp, an id that is null
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": null, "method": "ping"}~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[400, 200]
--- response_body eval
[::rpc('null', -32600, qq~Invalid Request: \\"id\\" must be a string or an integer~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 129: POST /mcp, an id that is true
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": true, "method": "ping"}~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[400, 200]
--- response_body eval
[::rpc('null', -32600, qq~Invalid Request: \\"id\\" must be a string or an integer~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 130: POST /mcp, an id that is an object
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": {"a": 1}, "method": "ping"}~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[400, 200]
--- response_body eval
[::rpc('null', -32600, qq~Invalid Request: \\"id\\" must be a string or an integer~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 131: POST /mcp, an id that is an array
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": [1], "method": "ping"}~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[400, 200]
--- response_body eval
[::rpc('null', -32600, qq~Invalid Request: \\"id\\" must be a string or an integer~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 132: POST /mcp, a method that is not a string
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": 7}~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[400, 200]
--- response_body eval
[::rpc('1', -32600, qq~Invalid Request: \\"method\\" must be a string~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 133: POST /mcp, neither a method nor a result
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1}~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[400, 200]
--- response_body eval
[::rpc('1', -32600, qq~Invalid Request: a message needs a \\"method\\", or a \\"result\\" or \\"error\\" with its \\"id\\"~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 134: POST /mcp, params that are an array
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "ping", "params": [1]}~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[200, 200]
--- response_body eval
[::rpc('1', -32602, qq~Invalid params: \\"params\\" must be an object~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 135: POST /mcp, an unknown method
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "tools/delete_everything"}~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[200, 200]
--- response_body eval
[::rpc('1', -32601, qq~Method not found: tools/delete_everything~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 136: POST /mcp, a duplicate key
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "ping", "method": "tools/list"}~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[400, 200]
--- response_body_like eval
[::rpc_parse_err(qq~duplicate object key near '\\"method\\"'~),
 ::exactly(qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~)]



=== TEST 137: a method name cut inside a character is still answered in JSON
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "x~ . ("\xc3\xa9" x 100) . q~"}~]
--- error_code eval
[200]
--- response_body_like eval
[qr/^\{"jsonrpc":"2.0","id":1,"error":\{"code":-32601,"message":"Method not found: x(\xc3\xa9)+\?"\}\}$/]



=== TEST 138: POST /mcp, initialize without protocolVersion
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[200, 200]
--- response_body eval
[::rpc('1', -32602, qq~Invalid params: protocolVersion is required~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 139: POST /mcp, initialize without clientInfo
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}}}~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[200, 200]
--- response_body eval
[::rpc('1', -32602, qq~Invalid params: capabilities and clientInfo objects are required~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 140: POST /mcp, tools/list with a forged cursor
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"cursor": "!!!"}}~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[200, 200]
--- response_body eval
[::rpc('1', -32602, qq~Invalid params: invalid cursor~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 141: POST /mcp, tools/list with a number for cursor
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"cursor": 5}}~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[200, 200]
--- response_body eval
[::rpc('1', -32602, qq~Invalid params: \\"cursor\\" must be a string~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 142: POST /mcp, resources/read without uri
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "resources/read", "params": {}}~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[200, 200]
--- response_body eval
[::rpc('1', -32602, qq~Invalid params: \\"uri\\" is required~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 143: POST /mcp, resources/read of an unknown link
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "resources/read", "params": {"uri": "shorturl://nope"}}~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[200, 200]
--- response_body eval
[::rpc('1', -32002, qq~Resource not found: shorturl://nope~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 144: POST /mcp, resources/read of a file: URI
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "resources/read", "params": {"uri": "file:///etc/passwd"}}~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[200, 200]
--- response_body eval
[::rpc('1', -32002, qq~Resource not found: file:///etc/passwd~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 145: POST /mcp, prompts/get of an unknown prompt
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "prompts/get", "params": {"name": "nope"}}~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[200, 200]
--- response_body eval
[::rpc('1', -32602, qq~Unknown prompt: nope~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 146: POST /mcp, logging/setLevel with an unknown level
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "logging/setLevel", "params": {"level": "loud"}}~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[200, 200]
--- response_body eval
[::rpc('1', -32602, qq~Invalid params: level must be one of debug, info, notice, warning, error, critical, alert, emergency~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 147: POST /mcp, completion/complete without ref
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "completion/complete", "params": {}}~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[200, 200]
--- response_body eval
[::rpc('1', -32602, qq~Invalid params: ref must be {\\"type\\": \\"ref/prompt\\", \\"name\\"} or {\\"type\\": \\"ref/resource\\", \\"uri\\"}~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 148: POST /mcp, an unknown session is 404
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "ping"}~]
--- error_code eval
[404]
--- response_body eval
[::rpc('1', -32001, qq~Session not found: it ended or expired; send initialize again~)]
--- more_headers
Content-Type: application/json
Accept: application/json, text/event-stream
Mcp-Session-Id: nope



=== TEST 149: POST /mcp, a session id that cannot be one is 404
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "ping"}~]
--- error_code eval
[404]
--- response_body eval
[::rpc('1', -32001, qq~Session not found: it ended or expired; send initialize again~)]
--- more_headers
Content-Type: application/json
Accept: application/json, text/event-stream
Mcp-Session-Id: ../s1



=== TEST 150: POST /mcp, no session header is 400
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "ping"}~]
--- error_code eval
[400]
--- response_body eval
[::rpc('1', -32600, qq~Bad Request: the Mcp-Session-Id header is required; send initialize first~)]
--- more_headers
Content-Type: application/json
Accept: application/json, text/event-stream



=== TEST 151: POST /mcp, no Accept is 406
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "ping"}~]
--- error_code eval
[406]
--- response_body eval
[::rpc('null', -32600, qq~Accept must allow both application/json and text/event-stream~)]
--- more_headers
Content-Type: application/json
Mcp-Session-Id: s1



=== TEST 152: POST /mcp, Accept without text/event-stream is 406
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "ping"}~]
--- error_code eval
[406]
--- response_body eval
[::rpc('null', -32600, qq~Accept must allow both application/json and text/event-stream~)]
--- more_headers
Content-Type: application/json
Accept: application/json
Mcp-Session-Id: s1



=== TEST 153: POST /mcp, Content-Type text/plain is 415
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "ping"}~]
--- error_code eval
[415]
--- response_body eval
[::rpc('null', -32600, qq~Content-Type must be application/json~)]
--- more_headers
Content-Type: text/plain
Accept: application/json, text/event-stream
Mcp-Session-Id: s1



=== TEST 154: POST /mcp, Content-Type application/jsonx is 415
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "ping"}~]
--- error_code eval
[415]
--- response_body eval
[::rpc('null', -32600, qq~Content-Type must be application/json~)]
--- more_headers
Content-Type: application/jsonx
Accept: application/json, text/event-stream
Mcp-Session-Id: s1



=== TEST 155: POST /mcp, no Content-Type is 415
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "ping"}~]
--- error_code eval
[415]
--- response_body eval
[::rpc('null', -32600, qq~Content-Type must be application/json~)]
--- more_headers
Accept: application/json, text/event-stream
Mcp-Session-Id: s1



=== TEST 156: POST /mcp, a foreign Origin is 403
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "ping"}~]
--- error_code eval
[403]
--- response_body eval
[::rpc('null', -32600, qq~Forbidden: Origin \\"https://evil.example\\" is not allowed~)]
--- more_headers
Content-Type: application/json
Accept: application/json, text/event-stream
Mcp-Session-Id: s1
Origin: https://evil.example



=== TEST 157: POST /mcp, Origin null is 403
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "ping"}~]
--- error_code eval
[403]
--- response_body eval
[::rpc('null', -32600, qq~Forbidden: Origin \\"null\\" is not allowed~)]
--- more_headers
Content-Type: application/json
Accept: application/json, text/event-stream
Mcp-Session-Id: s1
Origin: null



=== TEST 158: POST /mcp, an Origin that only starts with localhost is 403
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "ping"}~]
--- error_code eval
[403]
--- response_body eval
[::rpc('null', -32600, qq~Forbidden: Origin \\"http://localhost.evil.example\\" is not allowed~)]
--- more_headers
Content-Type: application/json
Accept: application/json, text/event-stream
Mcp-Session-Id: s1
Origin: http://localhost.evil.example



=== TEST 159: POST /mcp, a foreign Host is 403
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "ping"}~]
--- error_code eval
[403]
--- response_body eval
[::rpc('null', -32600, qq~Forbidden: Host \\"evil.example\\" is not allowed~)]
--- more_headers
Content-Type: application/json
Accept: application/json, text/event-stream
Mcp-Session-Id: s1
Host: evil.example



=== TEST 160: POST /mcp, an unsupported MCP-Protocol-Version is 400
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "ping"}~]
--- error_code eval
[400]
--- response_body eval
[::rpc('1', -32600, qq~Bad Request: unsupported MCP-Protocol-Version \\"2024-01-01\\" (supported: 2025-11-25, 2025-06-18, 2025-03-26)~)]
--- more_headers
Content-Type: application/json
Accept: application/json, text/event-stream
Mcp-Session-Id: s1
MCP-Protocol-Version: 2024-01-01



=== TEST 161: a Host that is not UTF-8 is refused: 403 in JSON, or nginx's own 400 (nginx >= 1.29.4 checks Host bytes itself)
--- raw_request eval
qq~POST /mcp HTTP/1.1\r\nHost: ev\xffil\r\nConnection: close\r\n~ . $::McpHeaders
. "Content-Length: " . length($::Ping) . "\r\n\r\n$::Ping"
--- error_code_like: ^(?:400|403)$
--- response_body_like eval
my $json = ::rpc('null', -32600, qq~Forbidden: Host \\"ev?il\\" is not allowed~);
qr{\A(?:\Q$json\E|<html>\r\n<head><title>400 Bad Request</title></head>\r\n.*</html>\r\n)\z}s



=== TEST 162: an Origin that is not UTF-8 is 403, in JSON
--- raw_request eval
::raw("POST /mcp", $::McpHeaders . qq~Origin: http://ev\xffil\r\n~, $::Ping)
--- error_code: 403
--- response_body eval
::rpc('null', -32600, qq~Forbidden: Origin \\"http://ev?il\\" is not allowed~)



=== TEST 163: an Origin cut inside a character is 403, in JSON
--- raw_request eval
::raw("POST /mcp", $::McpHeaders . "Origin: http://" . ("\xc3\xa9" x 100) . "\r\n", $::Ping)
--- error_code: 403
--- response_body_like eval
qr/^\{"jsonrpc":"2.0","id":null,"error":\{"code":-32600,"message":"Forbidden: Origin \\"http:\/\/(\xc3\xa9)+\?\\" is not allowed"\}\}$/



=== TEST 164: an MCP-Protocol-Version that is not UTF-8 is 400, in JSON
--- raw_request eval
::raw("POST /mcp", $::McpHeaders . qq~MCP-Protocol-Version: 2025\xff\r\n~, $::Ping)
--- error_code: 400
--- response_body eval
::rpc('1', -32600, qq~Bad Request: unsupported MCP-Protocol-Version \\"2025?\\" (supported: 2025-11-25, 2025-06-18, 2025-03-26)~)



=== TEST 165: DELETE of an unknown session is 404
--- request
DELETE /mcp
--- more_headers
Mcp-Session-Id: nope
--- error_code: 404
--- response_body eval
::rpc('null', -32001, qq~Session not found: it ended or expired; send initialize again~)



=== TEST 166: DELETE without a session is 400
--- request
DELETE /mcp
--- more_headers
Accept: application/json, text/event-stream
--- error_code: 400
--- response_body eval
::rpc('null', -32600, qq~Bad Request: the Mcp-Session-Id header is required; send initialize first~)



=== TEST 167: POST /mcp, tools/call without a name
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {}}~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[200, 200]
--- response_body eval
[::rpc('1', -32602, qq~Invalid params: \\"name\\" is required~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 168: POST /mcp, tools/call with a number for name
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": 5}}~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[200, 200]
--- response_body eval
[::rpc('1', -32602, qq~Invalid params: \\"name\\" must be a string~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 169: POST /mcp, tools/call with arguments that are an array
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "create_entities", "arguments": [{"name": "a"}]}}~,
 ::call("read_graph", "{}")]
--- error_code eval
[200, 200]
--- response_body eval
[::rpc('1', -32602, qq~Invalid params: arguments must be an object~),
 $::EmptyGraph]



=== TEST 170: POST /mcp, tools/call of an unknown tool
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "drop_database"}}~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[200, 200]
--- response_body eval
[::rpc('1', -32602, qq~Unknown tool: drop_database~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 171: an unknown tool whose echoed name is cut inside a character
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "x~ . ("\xc3\xa9" x 100) . q~"}}~]
--- error_code eval
[200]
--- response_body_like eval
[qr/^\{"jsonrpc":"2.0","id":1,"error":\{"code":-32602,"message":"Unknown tool: x(\xc3\xa9)+\?"\}\}$/]



=== TEST 172: POST /mcp, tools/call with NUL in the tool name
--- request eval
[qq~POST /mcp\n{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "read_graph\\u0000x"}}~,
 "POST /mcp\n$::Ping"]
--- error_code eval
[400, 200]
--- response_body_like eval
[::rpc_parse_err(qq~\\\\u0000 (NUL) is not allowed in a string~),
 ::exactly(qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~)]



=== TEST 173: shorten_url with a javascript: URL
--- request eval
[::call(qq~shorten_url~, qq~{"url": "javascript:alert(1)", "alias": "t01"}~),
 qq~GET /t01~]
--- error_code eval
[200, 404]
--- response_body eval
[::tool_err(qq~URL scheme \\"javascript\\" is not allowed (url_refused)~),
 $::NotFound]



=== TEST 174: shorten_url with a data: URL
--- request eval
[::call(qq~shorten_url~, qq~{"url": "data:text/html,x", "alias": "t02"}~),
 qq~GET /t02~]
--- error_code eval
[200, 404]
--- response_body eval
[::tool_err(qq~URL scheme \\"data\\" is not allowed (url_refused)~),
 $::NotFound]



=== TEST 175: shorten_url with CR LF in the URL
--- request eval
[::call(qq~shorten_url~, qq~{"url": "https://example.com/\\r\\nX: y", "alias": "t03"}~),
 qq~GET /t03~]
--- error_code eval
[200, 404]
--- response_body eval
[::tool_err(qq~URL contains a control character at byte 20 (url_refused)~),
 $::NotFound]



=== TEST 176: shorten_url with credentials
--- request eval
[::call(qq~shorten_url~, qq~{"url": "https://u:p\@example.com/", "alias": "t04"}~),
 qq~GET /t04~]
--- error_code eval
[200, 404]
--- response_body eval
[::tool_err(qq~URL must not contain credentials (user:password\@) (url_refused)~),
 $::NotFound]



=== TEST 177: shorten_url with a number for url
--- request eval
[::call(qq~shorten_url~, qq~{"url": 5, "alias": "t05"}~),
 qq~GET /t05~]
--- error_code eval
[200, 404]
--- response_body eval
[::tool_err(qq~url must be a string (invalid_request)~),
 $::NotFound]



=== TEST 178: shorten_url without url
--- request eval
[::call(qq~shorten_url~, qq~{"alias": "t06"}~),
 qq~GET /t06~]
--- error_code eval
[200, 404]
--- response_body eval
[::rpc('1', -32602, qq~Invalid params: \\"url\\" is required~),
 $::NotFound]



=== TEST 179: shorten_url with an alias over 64 characters
--- request eval
[::call(qq~shorten_url~, qq~{"url": "https://example.com/", "alias": "ttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt"}~),
 qq~GET /ttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt~]
--- error_code eval
[200, 404]
--- response_body eval
[::tool_err(qq~alias must be 1 to 64 characters of A-Z, a-z, 0-9, \\"_\\" and \\"-\\" (invalid_alias)~),
 $::NotFound]



=== TEST 180: shorten_url with a reserved alias
--- request eval
[::call(qq~shorten_url~, qq~{"url": "https://example.com/", "alias": "shorten"}~),
 ::call(qq~resolve_url~, qq~{"code": "shorten"}~)]
--- error_code eval
[200, 200]
--- response_body eval
[::tool_err(qq~alias \\"shorten\\" is reserved (alias_reserved)~),
 ::tool_err(qq~Short URL not found: shorten~)]



=== TEST 181: shorten_url with a taken alias
--- request eval
[::call(qq~shorten_url~, qq~{"url": "https://evil.example/", "alias": "exists"}~),
 qq~GET /exists~]
--- error_code eval
[200, 302]
--- response_body eval
[::tool_err(qq~alias \\"exists\\" is already taken (alias_taken)~),
 $::Exists]



=== TEST 182: shorten_url with a string for max_visits
--- request eval
[::call(qq~shorten_url~, qq~{"url": "https://example.com/", "alias": "t07", "max_visits": "9"}~),
 qq~GET /t07~]
--- error_code eval
[200, 404]
--- response_body eval
[::tool_err(qq~max_visits must be a whole number, at least 1 (invalid_request)~),
 $::NotFound]



=== TEST 183: resolve_url with a number for code
--- request eval
[::call(qq~resolve_url~, qq~{"code": 5}~),
 "POST /mcp\n$::Ping"]
--- error_code eval
[200, 200]
--- response_body eval
[::rpc('1', -32602, qq~Invalid params: \\"code\\" must be a string~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 184: resolve_url with a path for code
--- request eval
[::call(qq~resolve_url~, qq~{"code": "../exists"}~),
 "POST /mcp\n$::Ping"]
--- error_code eval
[200, 200]
--- response_body eval
[::tool_err(qq~Short URL not found: \\"../exists\\" is not a code~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 185: delete_url of an unknown code
--- request eval
[::call(qq~delete_url~, qq~{"code": "nope"}~),
 qq~GET /exists~]
--- error_code eval
[200, 302]
--- response_body eval
[::tool_err(qq~Short URL not found: nope~),
 $::Exists]



=== TEST 186: delete_url with a path for code
--- request eval
[::call(qq~delete_url~, qq~{"code": "exists/.."}~),
 qq~GET /exists~]
--- error_code eval
[200, 302]
--- response_body eval
[::tool_err(qq~Short URL not found: exists/..~),
 $::Exists]



=== TEST 187: list_urls with limit 0
--- request eval
[::call(qq~list_urls~, qq~{"limit": 0}~),
 "POST /mcp\n$::Ping"]
--- error_code eval
[200, 200]
--- response_body eval
[::tool_err(qq~limit must be an integer from 1 to 100~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 188: list_urls with a forged cursor
--- request eval
[::call(qq~list_urls~, qq~{"cursor": "!!!"}~),
 "POST /mcp\n$::Ping"]
--- error_code eval
[200, 200]
--- response_body eval
[::tool_err(qq~invalid cursor: pass back the nextCursor of an earlier page~),
 qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~]



=== TEST 189: create_entities without entities
--- request eval
[::call(qq~create_entities~, qq~{}~),
 ::call("read_graph", "{}")]
--- error_code eval
[200, 200]
--- response_body eval
[::tool_err(qq~\\"entities\\" must be an array~),
 $::EmptyGraph]



=== TEST 190: create_entities with a number for name
--- request eval
[::call(qq~create_entities~, qq~{"entities": [{"name": 1, "entityType": "t", "observations": []}]}~),
 ::call("read_graph", "{}")]
--- error_code eval
[200, 200]
--- response_body eval
[::tool_err(qq~entity 0: \\"name\\" must be a non-empty string~),
 $::EmptyGraph]



=== TEST 191: create_entities with a name over 256 bytes
--- request eval
[::call(qq~create_entities~, qq~{"entities": [{"name": "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn", "entityType": "t", "observations": []}]}~),
 ::call("read_graph", "{}")]
--- error_code eval
[200, 200]
--- response_body eval
[::tool_err(qq~over a size limit (names, types and context ids 256 bytes, observations 8192 bytes, messages 65536 bytes, 1024 observations an entity, 10000 messages a context); nothing was saved~),
 $::EmptyGraph]



=== TEST 192: create_entities with NUL in a name
--- request eval
[::call(qq~create_entities~, qq~{"entities": [{"name": "a\\u0000b", "entityType": "t", "observations": []}]}~),
 ::call("read_graph", "{}")]
--- error_code eval
[400, 200]
--- response_body_like eval
[::rpc_parse_err(qq~\\\\u0000 (NUL) is not allowed in a string~),
 ::exactly($::EmptyGraph)]



=== TEST 193: create_entities with observations that are a string
--- request eval
[::call(qq~create_entities~, qq~{"entities": [{"name": "a", "entityType": "t", "observations": "o"}]}~),
 ::call("read_graph", "{}")]
--- error_code eval
[200, 200]
--- response_body eval
[::tool_err(qq~entity 0: \\"observations\\" must be an array of at most 1024 strings~),
 $::EmptyGraph]



=== TEST 194: create_entities in a namespace with a space
--- request eval
[::call(qq~create_entities~, qq~{"namespace": "a b", "entities": [{"name": "a", "entityType": "t", "observations": []}]}~),
 ::call("read_graph", "{}")]
--- error_code eval
[200, 200]
--- response_body eval
[::tool_err(qq~namespace must be up to 64 characters of A-Z, a-z, 0-9, \\"_\\", \\".\\" and \\"-\\"~),
 $::EmptyGraph]



=== TEST 195: create_entities in a namespace that is a number
--- request eval
[::call(qq~create_entities~, qq~{"namespace": 7, "entities": [{"name": "a", "entityType": "t", "observations": []}]}~),
 ::call("read_graph", "{}")]
--- error_code eval
[200, 200]
--- response_body eval
[::tool_err(qq~namespace must be up to 64 characters of A-Z, a-z, 0-9, \\"_\\", \\".\\" and \\"-\\"~),
 $::EmptyGraph]



=== TEST 196: create_relations with a number for to
--- request eval
[::call(qq~create_relations~, qq~{"relations": [{"from": "a", "to": 1, "relationType": "r"}]}~),
 ::call("read_graph", "{}")]
--- error_code eval
[200, 200]
--- response_body eval
[::tool_err(qq~relation 0: \\"to\\" must be a non-empty string~),
 $::EmptyGraph]



=== TEST 197: add_observations to an unknown entity
--- request eval
[::call(qq~add_observations~, qq~{"observations": [{"entityName": "nobody", "contents": ["x"]}]}~),
 ::call("read_graph", "{}")]
--- error_code eval
[200, 200]
--- response_body eval
[::tool_err(qq~Entity with name nobody not found; nothing was saved~),
 $::EmptyGraph]



=== TEST 198: create_entities with an empty observation
--- request eval
[::call(qq~create_entities~, qq~{"entities": [{"name": "a", "entityType": "t", "observations": ["x", ""]}]}~),
 ::call("read_graph", "{}")]
--- error_code eval
[200, 200]
--- response_body eval
[::tool_err(qq~entity 0: observation 1 must be a non-empty string~),
 $::EmptyGraph]



=== TEST 199: add_observations with a number among the contents
--- request eval
[::call(qq~add_observations~, qq~{"observations": [{"entityName": "a", "contents": ["x", 7]}]}~),
 ::call("read_graph", "{}")]
--- error_code eval
[200, 200]
--- response_body eval
[::tool_err(qq~observations 0: \\"contents\\" must hold non-empty strings~),
 $::EmptyGraph]



=== TEST 200: delete_entities with a string for entityNames
--- request eval
[::call(qq~delete_entities~, qq~{"entityNames": "a"}~),
 ::call("read_graph", "{}")]
--- error_code eval
[200, 200]
--- response_body eval
[::tool_err(qq~\\"entityNames\\" must be an array~),
 $::EmptyGraph]



=== TEST 201: search_nodes with a number for query
--- request eval
[::call(qq~search_nodes~, qq~{"query": 5}~),
 ::call("read_graph", "{}")]
--- error_code eval
[200, 200]
--- response_body eval
[::tool_err(qq~Invalid params: \\"query\\" must be a string~),
 $::EmptyGraph]



=== TEST 202: read_graph with limit 0
--- request eval
[::call(qq~read_graph~, qq~{"limit": 0}~),
 ::call("read_graph", "{}")]
--- error_code eval
[200, 200]
--- response_body eval
[::tool_err(qq~limit must be an integer from 1 to 1000~),
 $::EmptyGraph]



=== TEST 203: context_append with an unknown role
--- request eval
[::call(qq~context_append~, qq~{"context_id": "c1", "role": "root", "content": "x"}~),
 ::call("context_list", "{}")]
--- error_code eval
[200, 200]
--- response_body eval
[::tool_err(qq~role must be system, user, assistant or tool~),
 $::NoContexts]



=== TEST 204: context_append with a context_id over 256 bytes
--- request eval
[::call(qq~context_append~, qq~{"context_id": "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc", "role": "user", "content": "x"}~),
 ::call("context_list", "{}")]
--- error_code eval
[200, 200]
--- response_body eval
[::tool_err(qq~context_id must be a string of 1 to 256 bytes~),
 $::NoContexts]



=== TEST 205: context_append with a number for content
--- request eval
[::call(qq~context_append~, qq~{"context_id": "c1", "role": "user", "content": 5}~),
 ::call("context_list", "{}")]
--- error_code eval
[200, 200]
--- response_body eval
[::tool_err(qq~Invalid params: \\"content\\" must be a string~),
 $::NoContexts]



=== TEST 206: context_append with a negative ttl
--- request eval
[::call(qq~context_append~, qq~{"context_id": "c1", "role": "user", "content": "x", "ttl": -1}~),
 ::call("context_list", "{}")]
--- error_code eval
[200, 200]
--- response_body eval
[::tool_err(qq~ttl must be a whole number of seconds, at least 1~),
 $::NoContexts]



=== TEST 207: context_append with a string for pinned
--- request eval
[::call(qq~context_append~, qq~{"context_id": "c1", "role": "user", "content": "x", "pinned": "yes"}~),
 ::call("context_list", "{}")]
--- error_code eval
[200, 200]
--- response_body eval
[::tool_err(qq~pinned must be true or false~),
 $::NoContexts]



=== TEST 208: context_window with a string for max_tokens
--- request eval
[::call(qq~context_window~, qq~{"context_id": "c1", "max_tokens": "10"}~),
 ::call("context_list", "{}")]
--- error_code eval
[200, 200]
--- response_body eval
[::tool_err(qq~max_tokens must be a whole number, at least 1~),
 $::NoContexts]



=== TEST 209: context_clear of an unknown context
--- request eval
[::call(qq~context_clear~, qq~{"context_id": "nope"}~),
 ::call("context_list", "{}")]
--- error_code eval
[200, 200]
--- response_body eval
[::tool_err(qq~no context nope~),
 $::NoContexts]



=== TEST 210: Host may name the server (server_name), after the config is read
--- config eval
'    server_name sho.rt;
' . $::Config
--- request eval
"POST /mcp\n$::Ping"
--- more_headers
Content-Type: application/json
Accept: application/json, text/event-stream
Mcp-Session-Id: s1
Host: sho.rt:8080
--- error_code: 200
--- response_body eval
qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~



=== TEST 211: an Origin on the server name is allowed too
--- config eval
'    server_name sho.rt;
' . $::Config
--- request eval
"POST /mcp\n$::Ping"
--- more_headers
Content-Type: application/json
Accept: application/json, text/event-stream
Mcp-Session-Id: s1
Origin: https://sho.rt
--- error_code: 200
--- response_body eval
qq~{"jsonrpc":"2.0","id":1,"result":{}}\n~



=== TEST 212: a Host that is not a name of this server is 403
--- config eval
'    server_name sho.rt;
' . $::Config
--- request eval
"POST /mcp\n$::Ping"
--- more_headers
Content-Type: application/json
Accept: application/json, text/event-stream
Mcp-Session-Id: s1
Host: sho.rt.evil.example
--- error_code: 403
--- response_body eval
::rpc('null', -32600, qq~Forbidden: Host \\"sho.rt.evil.example\\" is not allowed~)



=== TEST 213: nothing was created: the links are the fixture only
--- request eval
[::call("list_urls", "{}")]
--- error_code eval
[200]
--- response_body_like eval
[qr/"structuredContent":\{"links":\[\{"code":"exists","url":"https:\/\/example.com\/exists",[^\]]*\}\]\}\}\}$/]



=== TEST 214: nothing was created: the graph is empty
--- request eval
[::call("read_graph", "{}")]
--- error_code eval
[200]
--- response_body eval
[$::EmptyGraph]



=== TEST 215: nothing was created: no contexts
--- request eval
[::call("context_list", "{}")]
--- error_code eval
[200]
--- response_body eval
[$::NoContexts]



