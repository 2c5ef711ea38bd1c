/*
 * Unit tests of the URL canonicaliser (mcp_url.h), printing TAP for
 * prove.  Most cases are WHATWG URL Standard cases (the web platform
 * tests' urltestdata.json has them too): what the canonical form must be,
 * or that the host is refused.  Every accepted URL is also canonicalised
 * again, which must give it back unchanged.
 */

#define _POSIX_C_SOURCE  200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_lib.h"
#include "mcp_url.h"


typedef struct {
    const char  *in;
    int          rc;
    const char  *want;     /* the canonical form, or the whole message */
} test_case_t;


static const test_case_t  test_cases[] = {

    /* scheme and host case, the trailing dot, the empty path */
    { "https://example.com/", MCP_URL_OK, "https://example.com/" },
    { "HTTPS://Example.COM/A", MCP_URL_OK, "https://example.com/A" },
    { "https://Example.COM.?q", MCP_URL_OK, "https://example.com/?q" },
    { "https://phish.example./x", MCP_URL_OK, "https://phish.example/x" },
    { "https://phish.example?x", MCP_URL_OK, "https://phish.example/?x" },
    { "https://phish.example#f", MCP_URL_OK, "https://phish.example/#f" },
    { "https://PHISH.example/", MCP_URL_OK, "https://phish.example/" },
    { "https://example.com", MCP_URL_OK, "https://example.com/" },
    { "http://LOCALHOST./", MCP_URL_OK, "http://localhost/" },
    { "http://a_b-c.example/", MCP_URL_OK, "http://a_b-c.example/" },

    /* a host is percent-decoded before it is read */
    { "http://ex%41mple.com/", MCP_URL_OK, "http://example.com/" },
    { "http://%30x7f.1/", MCP_URL_OK, "http://127.0.0.1/" },
    { "http://a%2eb/", MCP_URL_OK, "http://a.b/" },

    /* IPv4 in every spelling */
    { "https://2130706433/", MCP_URL_OK, "https://127.0.0.1/" },
    { "https://0x7f.1/", MCP_URL_OK, "https://127.0.0.1/" },
    { "https://0177.0.0.1/", MCP_URL_OK, "https://127.0.0.1/" },
    { "https://127.1/", MCP_URL_OK, "https://127.0.0.1/" },
    { "https://127.0.1/", MCP_URL_OK, "https://127.0.0.1/" },
    { "http://0X7F000001/", MCP_URL_OK, "http://127.0.0.1/" },
    { "http://0x7f.0x0.0x0.0x1/", MCP_URL_OK, "http://127.0.0.1/" },
    { "http://192.0x00A80001/", MCP_URL_OK, "http://192.168.0.1/" },
    { "http://01.2.3.4/", MCP_URL_OK, "http://1.2.3.4/" },
    { "http://10.0.0.1./", MCP_URL_OK, "http://10.0.0.1/" },
    { "http://4294967295/", MCP_URL_OK, "http://255.255.255.255/" },
    { "http://0/", MCP_URL_OK, "http://0.0.0.0/" },
    { "http://0x/", MCP_URL_OK, "http://0.0.0.0/" },
    { "http://00000000000000000000000000000000001/", MCP_URL_OK,
      "http://0.0.0.1/" },
    { "http://1.2.3.4:8080/x", MCP_URL_OK, "http://1.2.3.4:8080/x" },

    /* hosts that end in a number but are no IPv4 address */
    { "http://192.168.0.257/", MCP_URL_EIPV4,
      "URL host \"192.168.0.257\" ends in a number but is not a valid "
      "IPv4 address" },
    { "http://256.0.0.1/", MCP_URL_EIPV4, NULL },
    { "http://4294967296/", MCP_URL_EIPV4, NULL },
    { "http://0xffffffff1/", MCP_URL_EIPV4, NULL },
    { "http://99999999999999999999999/", MCP_URL_EIPV4, NULL },
    { "http://1.2.3.4.5/", MCP_URL_EIPV4, NULL },
    { "http://foo.09/", MCP_URL_EIPV4, NULL },
    { "http://foo.0x4/", MCP_URL_EIPV4, NULL },
    { "http://example.123/", MCP_URL_EIPV4, NULL },
    { "http://09.2.3.4/", MCP_URL_EIPV4, NULL },
    { "http://1.2.3.08/", MCP_URL_EIPV4, NULL },
    { "http://0x100.2.3.4/", MCP_URL_EIPV4, NULL },
    { "http://1.2.65536/", MCP_URL_EIPV4, NULL },
    { "http://0x1g/", MCP_URL_OK, "http://0x1g/" },

    /* IPv6: compressed, lower case; IPv4-mapped as IPv4 */
    { "http://[::1]/", MCP_URL_OK, "http://[::1]/" },
    { "http://[0:0:0:0:0:0:0:1]/", MCP_URL_OK, "http://[::1]/" },
    { "http://[0::]/", MCP_URL_OK, "http://[::]/" },
    { "http://[1::]/", MCP_URL_OK, "http://[1::]/" },
    { "http://[2001:DB8::1]:8080/", MCP_URL_OK, "http://[2001:db8::1]:8080/" },
    { "http://[2001:db8:0:0:1:0:0:1]/", MCP_URL_OK,
      "http://[2001:db8::1:0:0:1]/" },
    { "http://[1:0:0:2::3:0]/", MCP_URL_OK, "http://[1::2:0:0:3:0]/" },
    { "http://[1:0::]/", MCP_URL_OK, "http://[1::]/" },
    { "http://[0001:0002:0003:0004:0005:0006:0007:0008]/", MCP_URL_OK,
      "http://[1:2:3:4:5:6:7:8]/" },
    { "http://[1:2:3:4:5:6:1.2.3.4]/", MCP_URL_OK,
      "http://[1:2:3:4:5:6:102:304]/" },
    { "http://[::127.0.0.1]/", MCP_URL_OK, "http://[::7f00:1]/" },
    { "https://[::ffff:127.0.0.1]/", MCP_URL_OK, "https://127.0.0.1/" },
    { "https://[::FFFF:7F00:1]/", MCP_URL_OK, "https://127.0.0.1/" },
    { "https://[0:0:0:0:0:ffff:7f00:0001]:8443/", MCP_URL_OK,
      "https://127.0.0.1:8443/" },
    { "http://[::1/", MCP_URL_EIPV6, "URL has an invalid IPv6 host" },
    { "http://[1:2:3:4:5:6:7:8:9]/", MCP_URL_EIPV6, NULL },
    { "http://[1:2:3:4:5:6:7]/", MCP_URL_EIPV6, NULL },
    { "http://[::1::]/", MCP_URL_EIPV6, NULL },
    { "http://[:1]/", MCP_URL_EIPV6, NULL },
    { "http://[1:]/", MCP_URL_EIPV6, NULL },
    { "http://[12345::]/", MCP_URL_EIPV6, NULL },
    { "http://[g::1]/", MCP_URL_EIPV6, NULL },
    { "http://[::1.2.3.]/", MCP_URL_EIPV6, NULL },
    { "http://[::1.2.3.04]/", MCP_URL_EIPV6, NULL },
    { "http://[::1.2.3.256]/", MCP_URL_EIPV6, NULL },
    { "http://[::1.2.3.4.5]/", MCP_URL_EIPV6, NULL },
    { "http://[1:2:3:4:5:6:7:1.2.3.4]/", MCP_URL_EIPV6, NULL },
    { "http://[fe80::1%25eth0]/", MCP_URL_EIPV6, NULL },
    { "http://[::1]x/", MCP_URL_EIPV6, NULL },
    { "http://[]/", MCP_URL_EIPV6, NULL },

    /* ports */
    { "http://example.com:80/", MCP_URL_OK, "http://example.com/" },
    { "https://example.com:443/", MCP_URL_OK, "https://example.com/" },
    { "https://example.com:0443/x", MCP_URL_OK, "https://example.com/x" },
    { "http://example.com:/x", MCP_URL_OK, "http://example.com/x" },
    { "http://example.com:443/", MCP_URL_OK, "http://example.com:443/" },
    { "https://example.com.:8080?q", MCP_URL_OK,
      "https://example.com:8080/?q" },
    { "http://example.com:0/", MCP_URL_EPORT, "URL has an invalid port" },
    { "http://example.com:65536/", MCP_URL_EPORT, NULL },
    { "http://example.com:99999999999999999999/", MCP_URL_EPORT, NULL },
    { "http://example.com:http/", MCP_URL_EPORT, NULL },
    { "http://example.com:1:2/", MCP_URL_EPORT, NULL },

    /* the path: never empty, dot segments resolved, bytes encoded */
    { "http://example.com/a/./b/../c", MCP_URL_OK, "http://example.com/a/c" },
    { "http://example.com/a/%2e%2E/b", MCP_URL_OK, "http://example.com/b" },
    { "http://example.com/a/.%2e", MCP_URL_OK, "http://example.com/" },
    { "http://example.com/..", MCP_URL_OK, "http://example.com/" },
    { "http://example.com/../../x", MCP_URL_OK, "http://example.com/x" },
    { "http://example.com/a/b/.", MCP_URL_OK, "http://example.com/a/b/" },
    { "http://example.com/a/..?q", MCP_URL_OK, "http://example.com/?q" },
    { "http://example.com/a//b/", MCP_URL_OK, "http://example.com/a//b/" },
    { "http://example.com/.../x", MCP_URL_OK, "http://example.com/.../x" },
    { "http://example.com/x?/../y#/../z", MCP_URL_OK,
      "http://example.com/x?/../y#/../z" },
    { "http://example.com/a b<c>\"{|}^`\\", MCP_URL_OK,
      "http://example.com/a%20b%3Cc%3E%22%7B%7C%7D%5E%60%5C" },
    { "http://example.com/\xc3\xbc?q=\xc3\xbc#\xc3\xbc", MCP_URL_OK,
      "http://example.com/%C3%BC?q=%C3%BC#%C3%BC" },
    { "http://example.com/%zz%41", MCP_URL_OK, "http://example.com/%zz%41" },

    /* what the rules refuse */
    { "javascript:alert(1)", MCP_URL_ESCHEME,
      "URL scheme \"javascript\" is not allowed" },
    { "JaVaScRiPt:alert(1)", MCP_URL_ESCHEME,
      "URL scheme \"JaVaScRiPt\" is not allowed" },
    { "data:text/html,x", MCP_URL_ESCHEME, NULL },
    { "ftp://example.com/", MCP_URL_ESCHEME, NULL },
    { "example.com/x", MCP_URL_ENOSCHEME,
      "URL must start with a scheme, as in https://example.com/" },
    { "//example.com/x", MCP_URL_ENOSCHEME, NULL },
    { "1http://example.com/", MCP_URL_ENOSCHEME, NULL },
    { "", MCP_URL_ENOSCHEME, NULL },
    { "https:///x", MCP_URL_ENOHOST, "URL has no host" },
    { "https:example.com", MCP_URL_ENOHOST, NULL },
    { "https://", MCP_URL_ENOHOST, NULL },
    { "https://./", MCP_URL_ENOHOST, NULL },
    { "https://:80/", MCP_URL_ENOHOST, NULL },
    { "https://user:secret@example.com/", MCP_URL_ECREDENTIALS,
      "URL must not contain credentials (user:password@)" },
    { "https://example.com\\@evil.example/", MCP_URL_ECREDENTIALS, NULL },
    { "https://example.com/@x", MCP_URL_OK, "https://example.com/@x" },
    { "https://example.com/\r\nSet-Cookie: a=b", MCP_URL_ECONTROL,
      "URL contains a control character at byte 20" },
    { "https://exa\tmple.com/", MCP_URL_ECONTROL, NULL },
    { "https://example.com/\x7f", MCP_URL_ECONTROL, NULL },
    { "https://exa mple.com/", MCP_URL_EHOST, "URL host contains \" \"" },
    { "https://example.com\\x/", MCP_URL_EHOST,
      "URL host contains \"\\\"" },
    { "http://ex%2Fample/", MCP_URL_EHOST, "URL host contains \"/\"" },
    { "http://a%zz/", MCP_URL_EHOST, "URL host contains \"%\"" },
    { "http://a%00b/", MCP_URL_EHOST, "URL host contains \"%00\"" },
    { "http://a..b/", MCP_URL_EHOST,
      "URL host \"a..b\" has an empty label" },
    { "http://.a/", MCP_URL_EHOST, NULL },
    { "http://a../", MCP_URL_EHOST, NULL },
    { "https://b\xc3\xbc" "cher.example/", MCP_URL_ENOTASCII,
      "URL host must be ASCII: use its punycode (xn--) form" },
    { "https://%C3%BC.example/", MCP_URL_ENOTASCII, NULL }
};


typedef struct {
    const char  *in;
    int          host_type;
    unsigned     port;
    int          loopback;
} test_host_t;


static const test_host_t  test_hosts[] = {
    { "http://localhost/", MCP_URL_DOMAIN, 80, 1 },
    { "http://a.b.LOCALHOST./", MCP_URL_DOMAIN, 80, 1 },
    { "http://notlocalhost/", MCP_URL_DOMAIN, 80, 0 },
    { "http://localhost.example/", MCP_URL_DOMAIN, 80, 0 },
    { "http://127.255.255.254:81/", MCP_URL_IPV4, 81, 1 },
    { "http://0x7f000002/", MCP_URL_IPV4, 80, 1 },
    { "http://0/", MCP_URL_IPV4, 80, 1 },
    { "http://128.0.0.1/", MCP_URL_IPV4, 80, 0 },
    { "http://0.0.0.1/", MCP_URL_IPV4, 80, 0 },
    { "https://[::1]/", MCP_URL_IPV6, 443, 1 },
    { "https://[::]/", MCP_URL_IPV6, 443, 1 },
    { "https://[::2]/", MCP_URL_IPV6, 443, 0 },
    { "https://[1::1]/", MCP_URL_IPV6, 443, 0 },
    { "https://[::ffff:127.0.0.1]/", MCP_URL_IPV4, 443, 1 },
    { "ftp://example.com/", MCP_URL_DOMAIN, 21, 0 },
    { "gopher://example.com/", MCP_URL_DOMAIN, 0, 0 }
};


#define TEST_NCASES  (sizeof(test_cases) / sizeof(test_cases[0]))
#define TEST_NHOSTS  (sizeof(test_hosts) / sizeof(test_hosts[0]))


static int test_http_https(void *data, const char *scheme, size_t len);
static const char *test_show(const char *in);
static unsigned test_plan(void);
static void test_table(void);
static void test_fields(void);
static void test_hosts_loopback(void);
static void test_authority(void);
static void test_lengths(void);
static void test_errors(void);


static const mcp_url_policy_t  test_policy = {
    0, test_http_https, NULL
};


int
main(void)
{
    unsigned  plan;

    plan = test_plan();
    test_init(plan);

    test_table();
    test_fields();
    test_hosts_loopback();
    test_authority();
    test_lengths();
    test_errors();

    return test_finish(plan);
}


static unsigned
test_plan(void)
{
    size_t    i;
    unsigned  n;

    n = 0;

    for (i = 0; i < TEST_NCASES; i++) {
        /* the code; the form or the message; an accepted form again */
        n += 1 + (unsigned) (test_cases[i].want != NULL)
             + (unsigned) (test_cases[i].rc == MCP_URL_OK);
    }

    /* fields, hosts, authority, lengths, strerror, cleanup */
    return n + 6 + 3 * TEST_NHOSTS + 9 + 5 + 1 + 1;
}


/* in as one printable line for a TAP description: \xHH for the rest */

static const char *
test_show(const char *in)
{
    size_t          n;
    unsigned char   c;

    static char     buf[512];

    for (n = 0; *in != '\0' && n + 5 < sizeof(buf); in++) {
        c = (unsigned char) *in;

        if (c < 0x20 || c >= 0x7f) {
            n += (size_t) snprintf(buf + n, sizeof(buf) - n, "\\x%02x", c);

        } else {
            buf[n++] = (char) c;
        }
    }

    buf[n] = '\0';

    return buf;
}


/* the schemes are passed as written: "HTTPS" is https */

static int
test_http_https(void *data, const char *scheme, size_t len)
{
    char    lower[6];
    size_t  i;

    (void) data;

    if (len < 4 || len > 5) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        lower[i] = (char) (scheme[i] | 0x20);
    }

    return memcmp(lower, "https", len) == 0;
}


static void
test_table(void)
{
    int                 rc;
    char                out[512], again[512], err[256];
    size_t              i;
    mcp_url_t           u, u2;
    const test_case_t  *t;

    for (i = 0; i < TEST_NCASES; i++) {
        t = &test_cases[i];

        err[0] = '\0';

        rc = mcp_url_canon(t->in, strlen(t->in), &test_policy, out,
                           sizeof(out), &u, err, sizeof(err));

        if (!TAP_IS(rc, t->rc, "\"%s\": %s", test_show(t->in),
                    mcp_url_strerror(t->rc)))
        {
            tap_diag("  got: %s", rc == MCP_URL_OK ? "ok" : err);
        }

        if (t->rc != MCP_URL_OK) {
            if (t->want != NULL) {
                TAP_OK(strcmp(err, t->want) == 0,
                       "\"%s\": the message is \"%s\" (got \"%s\")",
                       test_show(t->in), t->want, err);
            }

            continue;
        }

        TAP_OK(u.len == strlen(t->want)
               && memcmp(out, t->want, u.len) == 0,
               "\"%s\" is \"%s\" (got \"%.*s\")", test_show(t->in), t->want,
               rc == MCP_URL_OK ? (int) u.len : 0, out);

        rc = mcp_url_canon(out, u.len, &test_policy, again, sizeof(again),
                           &u2, err, sizeof(err));

        TAP_OK(rc == MCP_URL_OK && u2.len == u.len
               && memcmp(again, out, u.len) == 0,
               "\"%s\": the canonical form is its own canonical form",
               test_show(t->in));
    }
}


/* what *u says besides the text */

static void
test_fields(void)
{
    int        rc;
    char       out[128];
    mcp_url_t  u;

    static const char  in[] = "HTTPS://Sub.Example.COM.:8443/p?q";

    rc = mcp_url_canon(in, sizeof(in) - 1, &test_policy, out, sizeof(out),
                       &u, NULL, 0);

    TAP_IS(rc, MCP_URL_OK, "fields: canonicalised without a message buffer");
    TAP_IS(u.scheme_len, 5, "fields: scheme_len");
    TAP_OK(u.host == out + 8 && u.host_len == 15
           && memcmp(u.host, "sub.example.com", 15) == 0,
           "fields: host points at the canonical host in out");
    TAP_IS(u.port, 8443, "fields: the explicit port");
    TAP_IS(u.host_type, MCP_URL_DOMAIN, "fields: a domain");

    rc = mcp_url_canon("https://[2001:db8::ff]/", 23, NULL, out, sizeof(out),
                       &u, NULL, 0);

    TAP_OK(rc == MCP_URL_OK && u.addr[0] == 0x20 && u.addr[1] == 0x01
           && u.addr[2] == 0x0d && u.addr[3] == 0xb8 && u.addr[14] == 0
           && u.addr[15] == 0xff,
           "fields: the IPv6 address in network order");
}


static void
test_hosts_loopback(void)
{
    int                 rc;
    char                out[128];
    size_t              i;
    mcp_url_t           u;
    const test_host_t  *t;

    for (i = 0; i < TEST_NHOSTS; i++) {
        t = &test_hosts[i];

        rc = mcp_url_canon(t->in, strlen(t->in), NULL, out, sizeof(out), &u,
                           NULL, 0);

        TAP_OK(rc == MCP_URL_OK && u.host_type == t->host_type,
               "\"%s\": host type %d", t->in, t->host_type);
        TAP_IS(u.port, t->port, "\"%s\": port %u", t->in, t->port);
        TAP_IS(mcp_url_is_loopback(&u) != 0, t->loopback,
               "\"%s\" is %sloopback", t->in, t->loopback ? "" : "not ");
    }
}


/* "host[:port]" as in a Host header */

static void
test_authority(void)
{
    int        rc;
    char       out[128], err[128];
    mcp_url_t  u;

    rc = mcp_url_authority("LocalHost.:8080", 15, 80, out, sizeof(out), &u,
                           NULL, 0);

    TAP_OK(rc == MCP_URL_OK && u.host_len == 9
           && memcmp(u.host, "localhost", 9) == 0 && u.port == 8080,
           "authority: \"LocalHost.:8080\" is localhost, port 8080");
    TAP_IS(u.len, 0, "authority: no URL length");

    rc = mcp_url_authority("sho.rt", 6, 443, out, sizeof(out), &u, NULL, 0);

    TAP_OK(rc == MCP_URL_OK && u.port == 443 && u.host_len == 6,
           "authority: without a port, the default");

    rc = mcp_url_authority("[::FFFF:7f00:1]:81", 18, 80, out, sizeof(out),
                           &u, NULL, 0);

    TAP_OK(rc == MCP_URL_OK && u.host_type == MCP_URL_IPV4
           && u.host_len == 9 && memcmp(u.host, "127.0.0.1", 9) == 0
           && u.port == 81,
           "authority: an IPv4-mapped address is IPv4");

    rc = mcp_url_authority("2130706433", 10, 80, out, sizeof(out), &u, NULL,
                           0);

    TAP_OK(rc == MCP_URL_OK && mcp_url_is_loopback(&u),
           "authority: 2130706433 is loopback");

    rc = mcp_url_authority("1.2.3.999", 9, 80, out, sizeof(out), &u, err,
                           sizeof(err));

    TAP_IS(rc, MCP_URL_EIPV4, "authority: an IPv4 part out of range");

    rc = mcp_url_authority("", 0, 80, out, sizeof(out), &u, err,
                           sizeof(err));

    TAP_IS(rc, MCP_URL_ENOHOST, "authority: empty");

    rc = mcp_url_authority("a/b", 3, 80, out, sizeof(out), &u, err,
                           sizeof(err));

    TAP_IS(rc, MCP_URL_EHOST, "authority: \"/\" is no host character");

    rc = mcp_url_authority("0", 1, 80, out, 3, &u, err, sizeof(err));

    TAP_IS(rc, MCP_URL_ESPACE, "authority: 0.0.0.0 does not fit in 3 bytes");
}


static void
test_lengths(void)
{
    int               rc;
    char              out[MCP_URL_CANON_SIZE(40)], err[128];
    mcp_url_t         u;
    mcp_url_policy_t  policy;

    static const char  longer[] = "https://example.com/0123456789abcdef";
    static const char  grows[] = "https://example.com/a b c d e";
    static const char  worst[] = "http://0/\x80\x80\x80\x80\x80\x80";

    policy = test_policy;
    policy.max_len = 32;

    rc = mcp_url_canon(longer, sizeof(longer) - 1, &policy, out,
                       sizeof(out), &u, err, sizeof(err));

    TAP_OK(rc == MCP_URL_ETOOLONG
           && strcmp(err, "URL is 36 bytes long; the limit is 32") == 0,
           "length: over the limit as given (%s)", err);

    rc = mcp_url_canon(grows, sizeof(grows) - 1, &policy, out, sizeof(out),
                       &u, err, sizeof(err));

    TAP_OK(rc == MCP_URL_ETOOLONG
           && strcmp(err, "URL is 37 bytes long once encoded; the limit "
                          "is 32") == 0,
           "length: over the limit once encoded (%s)", err);

    rc = mcp_url_canon(grows, sizeof(grows) - 1, &test_policy, out, 20, &u,
                       err, sizeof(err));

    TAP_IS(rc, MCP_URL_ESPACE, "length: a buffer too small is said so");

    rc = mcp_url_canon(worst, sizeof(worst) - 1, &test_policy, out,
                       MCP_URL_CANON_SIZE(sizeof(worst) - 1), &u, err,
                       sizeof(err));

    TAP_OK(rc == MCP_URL_OK && u.len == 33,
           "length: MCP_URL_CANON_SIZE is room enough (%zu of %zu)",
           u.len, MCP_URL_CANON_SIZE(sizeof(worst) - 1));

    /* nothing is written past out_size, whatever fails */

    memset(out, '#', sizeof(out));

    rc = mcp_url_canon(grows, sizeof(grows) - 1, &test_policy, out, 24, &u,
                       err, sizeof(err));

    TAP_OK(rc == MCP_URL_ESPACE && out[24] == '#'
           && out[sizeof(out) - 1] == '#',
           "length: the bytes after out_size are left alone");
}


static void
test_errors(void)
{
    int  rc, ok;

    for (ok = 1, rc = MCP_URL_OK; rc <= MCP_URL_ESPACE; rc++) {
        if (strncmp(mcp_url_strerror(rc), "unknown", 7) == 0) {
            ok = 0;
        }
    }

    TAP_OK(ok && strcmp(mcp_url_strerror(-1), "unknown mcp_url error") == 0
           && strcmp(mcp_url_strerror(MCP_URL_ESPACE + 1),
                     "unknown mcp_url error") == 0,
           "strerror: a message for each code, and for none");
}
