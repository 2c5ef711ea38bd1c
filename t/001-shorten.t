# vim:set ft= ts=4 sw=4 et fdm=marker:

use Test::Nginx::Socket;
use File::Temp qw(tempdir);

$ENV{TEST_NGINX_DATA_DIR} = tempdir('ngx_mcp_XXXXXX', TMPDIR => 1,
                                    CLEANUP => 1);

repeat_each(2);
no_shuffle();
no_root_location();

plan tests => repeat_each() * (3 * blocks());

our $HttpConfig = <<'_EOC_';
    mcp_store $TEST_NGINX_DATA_DIR;
_EOC_

add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->http_config) {
        $block->set_value("http_config", $HttpConfig);
    }

    if (!defined $block->config) {
        $block->set_value("config", "location = /shorten { mcp_shorten; }");
    }

    if (!defined $block->more_headers) {
        $block->set_value("more_headers", "Content-Type: application/json");
    }

    if (!defined $block->no_error_log && !defined $block->error_log) {
        $block->set_value("no_error_log", "[error]");
    }
});

run_tests();

__DATA__

=== TEST 1: the seed API: OriginalURL in, ShortURL out, 201
--- request
POST /shorten
{"OriginalURL": "https://example.com"}
--- error_code: 201
--- response_body_like: ^\{"ShortURL":"([0-9A-Za-z]{7})","code":"\1","short_url":"http://localhost/\1","url":"https://example.com/"\}$



=== TEST 2: "url" is accepted for OriginalURL
--- request
POST /shorten
{"url": "https://example.com/a?b=c#d"}
--- error_code: 201
--- response_body_like: "url":"https://example.com/a\?b=c#d"\}$



=== TEST 3: curl -d sends a form content type: a JSON body is still JSON
--- request
POST /shorten
{"OriginalURL": "http://example.org/x"}
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 201
--- response_body_like: "url":"http://example.org/x"



=== TEST 4: mcp_code_length sets the length of random codes
--- config
location = /shorten { mcp_shorten; mcp_code_length 12; }
--- request
POST /shorten
{"OriginalURL": "https://example.com"}
--- error_code: 201
--- response_body_like: ^\{"ShortURL":"[0-9A-Za-z]{12}",



=== TEST 5: mcp_base_url makes short_url
--- config
location = /shorten { mcp_shorten; mcp_base_url https://sho.rt/s/; }
--- request
POST /shorten
{"OriginalURL": "https://example.com"}
--- error_code: 201
--- response_body_like: "short_url":"https://sho\.rt/s/[0-9A-Za-z]{7}"



=== TEST 6: expires_in and max_visits are echoed
--- request
POST /shorten
{"OriginalURL": "https://example.com", "expires_in": 3600, "max_visits": 5}
--- error_code: 201
--- response_body_like: "expires_at":"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ","max_visits":5\}$



=== TEST 7: expires_at in RFC 3339 with an offset, normalised to UTC
--- request
POST /shorten
{"OriginalURL": "https://example.com", "expires_at": "2099-06-01T02:30:00.5+02:00"}
--- error_code: 201
--- response_body_like: "expires_at":"2099-06-01T00:30:00Z"\}$



=== TEST 8: scheme and host are lower-cased, other characters percent-encoded
--- request
POST /shorten
{"OriginalURL": "HTTPS://Example.COM:8443/P\u00e4th with space/<x>?Q=\"1\""}
--- error_code: 201
--- response_body_like: "url":"https://example.com:8443/P%C3%A4th%20with%20space/%3Cx%3E\?Q=%221%22"\}$



=== TEST 9: missing URL
--- request
POST /shorten
{"alias": "nothing"}
--- error_code: 400
--- response_body
{"message":"OriginalURL is required","error":"missing_url"}



=== TEST 10: empty URL
--- request
POST /shorten
{"OriginalURL": ""}
--- error_code: 400
--- response_body
{"message":"OriginalURL is required","error":"missing_url"}



=== TEST 11: URL of the wrong type
--- request
POST /shorten
{"OriginalURL": ["https://example.com"]}
--- error_code: 400
--- response_body
{"message":"OriginalURL must be a string","error":"invalid_request"}



=== TEST 12: malformed JSON says where
--- request
POST /shorten
{"OriginalURL": "https://example.com",
--- error_code: 400
--- response_body_like: ^\{"message":"malformed JSON at line \d+, column \d+: [^"]+","error":"invalid_json"\}$



=== TEST 13: duplicate keys are refused
--- request
POST /shorten
{"OriginalURL": "https://a.example", "OriginalURL": "https://b.example"}
--- error_code: 400
--- response_body_like: "error":"invalid_json"



=== TEST 14: a body that is not an object
--- request
POST /shorten
["https://example.com"]
--- error_code: 400
--- response_body
{"message":"the request body must be a JSON object","error":"invalid_json"}



=== TEST 15: an empty body
--- request
POST /shorten
--- error_code: 400
--- response_body_like: "error":"invalid_json"



=== TEST 16: GET on /shorten is 405 with Allow
--- request
GET /shorten
--- error_code: 405
--- response_headers
Allow: POST



=== TEST 17: a body that is not JSON is 415
--- request
POST /shorten
<url>https://example.com</url>
--- more_headers
Content-Type: application/xml
--- error_code: 415
--- response_body
{"message":"send the body as JSON with \"Content-Type: application/json\"","error":"unsupported_media_type"}



=== TEST 18: application/*+json is JSON
--- request
POST /shorten
{"OriginalURL": "https://example.com"}
--- more_headers
Content-Type: application/vnd.api+json; charset=utf-8
--- error_code: 201
--- response_body_like: "url":"https://example.com/"



=== TEST 19: a body over mcp_max_body_size is 413
--- config
location = /shorten { mcp_shorten; mcp_max_body_size 64; }
--- request
POST /shorten
{"OriginalURL": "https://example.com/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}
--- error_code: 413
--- response_body
{"message":"the request body is larger than 64 bytes","error":"body_too_large"}



=== TEST 20: javascript: URLs are refused
--- request
POST /shorten
{"OriginalURL": "javascript:alert(1)"}
--- error_code: 422
--- response_body
{"message":"URL scheme \"javascript\" is not allowed","error":"url_refused"}



=== TEST 21: a URL without a scheme
--- request
POST /shorten
{"OriginalURL": "example.com/path"}
--- error_code: 422
--- response_body
{"message":"URL must start with a scheme, as in https://example.com/","error":"url_refused"}



=== TEST 22: a URL without a host
--- request
POST /shorten
{"OriginalURL": "https:///path"}
--- error_code: 422
--- response_body
{"message":"URL has no host","error":"url_refused"}



=== TEST 23: credentials in the URL
--- request
POST /shorten
{"OriginalURL": "https://user:secret@example.com/"}
--- error_code: 422
--- response_body
{"message":"URL must not contain credentials (user:password@)","error":"url_refused"}



=== TEST 24: CR LF in the URL (header injection into Location)
--- request
POST /shorten
{"OriginalURL": "https://example.com/\r\nSet-Cookie: a=b"}
--- error_code: 422
--- response_body
{"message":"URL contains a control character at byte 20","error":"url_refused"}



=== TEST 25: mcp_url_max_length
--- config
location = /shorten { mcp_shorten; mcp_url_max_length 32; }
--- request
POST /shorten
{"OriginalURL": "https://example.com/0123456789abcdef"}
--- error_code: 422
--- response_body
{"message":"URL is 36 bytes long; the limit is 32","error":"url_refused"}



=== TEST 26: a link to the shortener itself
--- request
POST /shorten
{"OriginalURL": "http://LOCALHOST/abc"}
--- error_code: 422
--- response_body
{"message":"URL points at this shortener itself","error":"url_refused"}



=== TEST 27: a link to the base URL's host
--- config
location = /shorten { mcp_shorten; mcp_base_url https://sho.rt/; }
--- request
POST /shorten
{"OriginalURL": "https://sho.rt/xyz"}
--- error_code: 422
--- response_body
{"message":"URL points at this shortener itself","error":"url_refused"}



=== TEST 28: mcp_url_schemes allows other schemes
--- config
location = /shorten { mcp_shorten; mcp_url_schemes https ftp; }
--- request
POST /shorten
{"OriginalURL": "ftp://files.example.com/a.iso"}
--- error_code: 201
--- response_body_like: "url":"ftp://files.example.com/a.iso"



=== TEST 29: mcp_url_schemes replaces the default list
--- config
location = /shorten { mcp_shorten; mcp_url_schemes https; }
--- request
POST /shorten
{"OriginalURL": "http://example.com/"}
--- error_code: 422
--- response_body
{"message":"URL scheme \"http\" is not allowed","error":"url_refused"}



=== TEST 30: mcp_url_deny
--- config
location = /shorten {
    mcp_shorten;
    mcp_url_deny "^https?://([^/]*\.)?evil\.example(/|:|$)";
}
--- request
POST /shorten
{"OriginalURL": "https://www.evil.example/login"}
--- error_code: 422
--- response_body
{"message":"URL is refused by this server's policy","error":"url_refused"}



=== TEST 31: mcp_url_allow refuses what matches no pattern
--- config
location = /shorten {
    mcp_shorten;
    mcp_url_allow "^https://docs\.example/";
    mcp_url_allow "^https://blog\.example/";
}
--- request
POST /shorten
{"OriginalURL": "https://other.example/"}
--- error_code: 422
--- response_body
{"message":"URL is not on this server's allow list","error":"url_refused"}



=== TEST 32: mcp_url_allow lets through what matches one pattern
--- config
location = /shorten {
    mcp_shorten;
    mcp_url_allow "^https://docs\.example/";
    mcp_url_allow "^https://blog\.example/";
}
--- request
POST /shorten
{"OriginalURL": "https://blog.example/post"}
--- error_code: 201
--- response_body_like: "url":"https://blog.example/post"



=== TEST 33: a non-ASCII host must be punycode
--- request
POST /shorten
{"OriginalURL": "https://b\u00fccher.example/"}
--- error_code: 422
--- response_body
{"message":"URL host must be ASCII: use its punycode (xn--) form","error":"url_refused"}



=== TEST 34: an alias with characters outside [A-Za-z0-9_-]
--- request
POST /shorten
{"OriginalURL": "https://example.com", "alias": "a/b"}
--- error_code: 400
--- response_body
{"message":"alias must be 1 to 64 characters of A-Z, a-z, 0-9, \"_\" and \"-\"","error":"invalid_alias"}



=== TEST 35: an alias over 64 characters
--- request
POST /shorten
{"OriginalURL": "https://example.com", "alias": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}
--- error_code: 400
--- response_body_like: "error":"invalid_alias"



=== TEST 36: the module's own routes are reserved, in any case
--- request
POST /shorten
{"OriginalURL": "https://example.com", "alias": "Shorten"}
--- error_code: 409
--- response_body
{"message":"alias \"Shorten\" is reserved","error":"alias_reserved"}



=== TEST 37: mcp_reserved_codes
--- config
location = /shorten { mcp_shorten; mcp_reserved_codes login logout; }
--- request
POST /shorten
{"OriginalURL": "https://example.com", "alias": "logout"}
--- error_code: 409
--- response_body
{"message":"alias \"logout\" is reserved","error":"alias_reserved"}



=== TEST 38: expires_in must be a positive whole number
--- request
POST /shorten
{"OriginalURL": "https://example.com", "expires_in": -5}
--- error_code: 400
--- response_body
{"message":"expires_in must be a whole number of seconds, at least 1","error":"invalid_request"}



=== TEST 39: expires_in of the wrong type
--- request
POST /shorten
{"OriginalURL": "https://example.com", "expires_in": "3600"}
--- error_code: 400
--- response_body_like: "error":"invalid_request"



=== TEST 40: expires_at in the past
--- request
POST /shorten
{"OriginalURL": "https://example.com", "expires_at": "2001-01-01T00:00:00Z"}
--- error_code: 400
--- response_body
{"message":"expires_at is in the past","error":"invalid_request"}



=== TEST 41: expires_at that is not RFC 3339
--- request
POST /shorten
{"OriginalURL": "https://example.com", "expires_at": "tomorrow"}
--- error_code: 400
--- response_body
{"message":"expires_at must be an RFC 3339 time such as \"2030-01-01T00:00:00Z\"","error":"invalid_request"}



=== TEST 42: expires_in and expires_at together
--- request
POST /shorten
{"OriginalURL": "https://example.com", "expires_in": 60, "expires_at": "2099-01-01T00:00:00Z"}
--- error_code: 400
--- response_body
{"message":"give expires_in or expires_at, not both","error":"invalid_request"}



=== TEST 43: max_visits must be at least 1
--- request
POST /shorten
{"OriginalURL": "https://example.com", "max_visits": 0}
--- error_code: 400
--- response_body
{"message":"max_visits must be a whole number, at least 1","error":"invalid_request"}



=== TEST 44: max_visits that is not whole
--- request
POST /shorten
{"OriginalURL": "https://example.com", "max_visits": 1.5}
--- error_code: 400
--- response_body_like: "error":"invalid_request"



=== TEST 45: null optional fields are absent fields
--- request
POST /shorten
{"OriginalURL": "https://example.com", "alias": null, "expires_in": null, "max_visits": null}
--- error_code: 201
--- response_body_like: ^\{"ShortURL":"[0-9A-Za-z]{7}",.*"url":"https://example.com/"\}$



=== TEST 46: expires_in far beyond any integer is refused, not converted
--- request
POST /shorten
{"OriginalURL": "https://example.com", "expires_in": 1e300}
--- error_code: 400
--- response_body
{"message":"expires_in must be a whole number of seconds, at least 1","error":"invalid_request"}



=== TEST 47: max_visits far below any integer is refused, not converted
--- request
POST /shorten
{"OriginalURL": "https://example.com", "max_visits": -1e300}
--- error_code: 400
--- response_body
{"message":"max_visits must be a whole number, at least 1","error":"invalid_request"}
