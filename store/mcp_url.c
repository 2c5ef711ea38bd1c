/*
 * mcp_url: the canonical form of a URL to shorten (the rules are in
 * mcp_url.h).
 *
 * The steps follow the WHATWG URL Standard (https://url.spec.whatwg.org/):
 * host parsing, the IPv4 number and address parsers, the IPv6 parser and
 * serialiser, default ports, and the path state's dot segments, so that
 * what the policy sees is what a browser fetches.  Every byte written goes
 * through mcp_url_buf_t, which never writes past the caller's buffer and
 * remembers that it was too small.
 */

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mcp_url.h"


#if defined(__GNUC__) || defined(__clang__)
#define MCP_URL_PRINTF(f, a)  __attribute__((format(printf, f, a)))
#else
#define MCP_URL_PRINTF(f, a)
#endif

/* how much of a piece of the input an error message quotes */
#define MCP_URL_QUOTE(len)  ((int) ((len) < 256 ? (len) : 256))

/* Characters that RFC 3986 does not allow in a URL: percent-encoded. */
#define mcp_url_must_escape(c)                                                \
    ((c) >= 0x80 || (c) == ' ' || (c) == '"' || (c) == '<' || (c) == '>'     \
     || (c) == '\\' || (c) == '^' || (c) == '`' || (c) == '{' || (c) == '|'  \
     || (c) == '}')

#define mcp_url_is_alpha(c)  (((c) | 0x20) >= 'a' && ((c) | 0x20) <= 'z')
#define mcp_url_is_digit(c)  ((c) >= '0' && (c) <= '9')
#define mcp_url_lower(c)     ((c) >= 'A' && (c) <= 'Z' ? (c) | 0x20 : (c))


typedef struct {
    char    *pos;
    char    *end;
    int      full;              /* something did not fit */
} mcp_url_buf_t;


/* one call's state: where the output goes, where a message goes */
typedef struct {
    mcp_url_buf_t   out;
    mcp_url_t      *u;
    char           *err;
    size_t          err_len;
} mcp_url_ctx_t;


static int mcp_url_fail(mcp_url_ctx_t *c, int rc, const char *fmt, ...)
    MCP_URL_PRINTF(3, 4);
static void mcp_url_init(mcp_url_ctx_t *c, char *out, size_t out_size,
    mcp_url_t *u, char *err, size_t err_len);
static void mcp_url_put(mcp_url_buf_t *b, const char *p, size_t n);
static void mcp_url_putc(mcp_url_buf_t *b, unsigned ch);
static void mcp_url_put_escaped(mcp_url_buf_t *b, const char *p,
    const char *last);
static int mcp_url_controls(mcp_url_ctx_t *c, const char *in,
    const char *last);
static int mcp_url_scheme(mcp_url_ctx_t *c, const mcp_url_policy_t *policy,
    const char *in, const char *last, const char **pp);
static int mcp_url_authority_end(mcp_url_ctx_t *c, const char *p,
    const char *last, const char **end);
static unsigned mcp_url_default_port(const char *scheme, size_t len);
static int mcp_url_host_port(mcp_url_ctx_t *c, const char *p,
    const char *last, unsigned default_port, int write_port);
static int mcp_url_port(mcp_url_ctx_t *c, const char *p, const char *last,
    unsigned *port);
static int mcp_url_domain(mcp_url_ctx_t *c, const char *p,
    const char *last);
static int mcp_url_domain_char(mcp_url_ctx_t *c, const char **pp,
    const char *last, unsigned *ch);
static int mcp_url_empty_label(const char *host, size_t len);
static int mcp_url_ends_in_number(const char *p, const char *last);
static int mcp_url_ipv4_number(const char *p, const char *last,
    uint64_t *v);
static int mcp_url_ipv4_parse(const char *p, const char *last,
    uint32_t *addr);
static void mcp_url_ipv4_write(mcp_url_ctx_t *c, uint32_t addr);
static int mcp_url_ipv6(mcp_url_ctx_t *c, const char *p, const char *last);
static int mcp_url_ipv6_parse(const char *p, const char *last,
    uint16_t a[8]);
static const char *mcp_url_ipv6_v4(const char *p, const char *last,
    uint16_t a[8], int *piece);
static void mcp_url_ipv6_write(mcp_url_buf_t *b, const uint16_t a[8]);
static unsigned mcp_url_hex(unsigned ch);
static void mcp_url_path(mcp_url_buf_t *b, const char *p, const char *last);
static int mcp_url_dots(const char *p, const char *last);


static const char  *mcp_url_errors[] = {
    "ok",
    "URL is too long",
    "URL contains a control character",
    "URL must start with a scheme, as in https://example.com/",
    "URL scheme is not allowed",
    "URL has no host",
    "URL must not contain credentials (user:password@)",
    "URL host contains a character that is not allowed",
    "URL host must be ASCII: use its punycode (xn--) form",
    "URL host ends in a number but is not a valid IPv4 address",
    "URL has an invalid IPv6 host",
    "URL has an invalid port",
    "URL does not fit in the buffer"
};


const char *
mcp_url_strerror(int rc)
{
    if (rc < 0
        || (size_t) rc >= sizeof(mcp_url_errors) / sizeof(mcp_url_errors[0]))
    {
        return "unknown mcp_url error";
    }

    return mcp_url_errors[rc];
}


int
mcp_url_canon(const char *in, size_t in_len,
    const mcp_url_policy_t *policy, char *out, size_t out_size, mcp_url_t *u,
    char *err, size_t err_len)
{
    int             rc;
    size_t          max;
    const char     *p, *last, *auth_end, *path_end;
    mcp_url_ctx_t   c;

    mcp_url_init(&c, out, out_size, u, err, err_len);

    max = (policy != NULL) ? policy->max_len : 0;
    last = in + in_len;

    /* the steps below move p, and set auth_end, or fail */
    p = in;
    auth_end = last;

    if (max != 0 && in_len > max) {
        return mcp_url_fail(&c, MCP_URL_ETOOLONG,
                            "URL is %zu bytes long; the limit is %zu",
                            in_len, max);
    }

    rc = mcp_url_controls(&c, in, last);
    if (rc != MCP_URL_OK) {
        return rc;
    }

    rc = mcp_url_scheme(&c, policy, in, last, &p);
    if (rc != MCP_URL_OK) {
        return rc;
    }

    rc = mcp_url_authority_end(&c, p, last, &auth_end);
    if (rc != MCP_URL_OK) {
        return rc;
    }

    rc = mcp_url_host_port(&c, p, auth_end,
                           mcp_url_default_port(out, u->scheme_len), 1);
    if (rc != MCP_URL_OK) {
        return rc;
    }

    for (path_end = auth_end;
         path_end < last && *path_end != '?' && *path_end != '#';
         path_end++)
    {
        /* void */
    }

    mcp_url_path(&c.out, auth_end, path_end);
    mcp_url_put_escaped(&c.out, path_end, last);

    if (c.out.full) {
        return mcp_url_fail(&c, MCP_URL_ESPACE,
                            "URL does not fit in %zu bytes", out_size);
    }

    u->len = (size_t) (c.out.pos - out);

    if (max != 0 && u->len > max) {
        return mcp_url_fail(&c, MCP_URL_ETOOLONG,
                            "URL is %zu bytes long once encoded; the limit "
                            "is %zu", u->len, max);
    }

    return MCP_URL_OK;
}


int
mcp_url_authority(const char *in, size_t in_len, unsigned default_port,
    char *out, size_t out_size, mcp_url_t *u, char *err, size_t err_len)
{
    int            rc;
    mcp_url_ctx_t  c;

    mcp_url_init(&c, out, out_size, u, err, err_len);

    rc = mcp_url_controls(&c, in, in + in_len);
    if (rc != MCP_URL_OK) {
        return rc;
    }

    rc = mcp_url_host_port(&c, in, in + in_len, default_port, 0);
    if (rc != MCP_URL_OK) {
        return rc;
    }

    if (c.out.full) {
        return mcp_url_fail(&c, MCP_URL_ESPACE,
                            "host does not fit in %zu bytes", out_size);
    }

    return MCP_URL_OK;
}


int
mcp_url_is_loopback(const mcp_url_t *u)
{
    static const unsigned char  zero[16];

    static const char           name[] = "localhost";
    static const size_t         len = sizeof(name) - 1;

    switch (u->host_type) {

    case MCP_URL_IPV4:
        /* 127.0.0.0/8, and 0.0.0.0, which connect() takes as this host */
        return u->addr[0] == 127 || memcmp(u->addr, zero, 4) == 0;

    case MCP_URL_IPV6:
        /* [::1], and [::] for the same reason as 0.0.0.0 */
        return memcmp(u->addr, zero, 15) == 0 && u->addr[15] <= 1;

    default:
        /* RFC 6761: "localhost" and every name under it */
        return (u->host_len == len && memcmp(u->host, name, len) == 0)
               || (u->host_len > len
                   && u->host[u->host_len - len - 1] == '.'
                   && memcmp(u->host + u->host_len - len, name, len) == 0);
    }
}


static int
mcp_url_fail(mcp_url_ctx_t *c, int rc, const char *fmt, ...)
{
    va_list  args;

    if (c->err != NULL && c->err_len != 0) {
        va_start(args, fmt);
        (void) vsnprintf(c->err, c->err_len, fmt, args);
        va_end(args);
    }

    return rc;
}


static void
mcp_url_init(mcp_url_ctx_t *c, char *out, size_t out_size, mcp_url_t *u,
    char *err, size_t err_len)
{
    memset(u, 0, sizeof(mcp_url_t));

    c->out.pos = out;
    c->out.end = out + out_size;
    c->out.full = 0;
    c->u = u;
    c->err = err;
    c->err_len = err_len;
}


static void
mcp_url_put(mcp_url_buf_t *b, const char *p, size_t n)
{
    if ((size_t) (b->end - b->pos) < n) {
        b->full = 1;
        return;
    }

    memcpy(b->pos, p, n);
    b->pos += n;
}


static void
mcp_url_putc(mcp_url_buf_t *b, unsigned ch)
{
    if (b->pos == b->end) {
        b->full = 1;
        return;
    }

    *b->pos++ = (char) ch;
}


static void
mcp_url_put_escaped(mcp_url_buf_t *b, const char *p, const char *last)
{
    unsigned  ch;

    static const char  hex[] = "0123456789ABCDEF";

    for ( /* void */ ; p < last; p++) {
        ch = (unsigned char) *p;

        if (mcp_url_must_escape(ch)) {
            mcp_url_putc(b, '%');
            mcp_url_putc(b, (unsigned char) hex[ch >> 4]);
            mcp_url_putc(b, (unsigned char) hex[ch & 0xf]);

        } else {
            mcp_url_putc(b, ch);
        }
    }
}


/* No CR/LF into Location, and no tab that a browser would silently drop. */

static int
mcp_url_controls(mcp_url_ctx_t *c, const char *in, const char *last)
{
    const char  *p;

    for (p = in; p < last; p++) {
        if ((unsigned char) *p < 0x20 || *p == 0x7f) {
            return mcp_url_fail(c, MCP_URL_ECONTROL,
                                "URL contains a control character at byte "
                                "%zu", (size_t) (p - in));
        }
    }

    return MCP_URL_OK;
}


/* "scheme://": the scheme written in lower case, *pp after the "//" */

static int
mcp_url_scheme(mcp_url_ctx_t *c, const mcp_url_policy_t *policy,
    const char *in, const char *last, const char **pp)
{
    size_t       len;
    const char  *p;

    p = in;

    if (p == last || !mcp_url_is_alpha(*p)) {
        return mcp_url_fail(c, MCP_URL_ENOSCHEME, "%s",
                            mcp_url_strerror(MCP_URL_ENOSCHEME));
    }

    for (p++; p < last; p++) {
        if (!mcp_url_is_alpha(*p) && !mcp_url_is_digit(*p)
            && *p != '+' && *p != '-' && *p != '.')
        {
            break;
        }
    }

    if (p == last || *p != ':') {
        return mcp_url_fail(c, MCP_URL_ENOSCHEME, "%s",
                            mcp_url_strerror(MCP_URL_ENOSCHEME));
    }

    len = (size_t) (p - in);

    if (policy != NULL && policy->scheme_ok != NULL
        && !policy->scheme_ok(policy->data, in, len))
    {
        return mcp_url_fail(c, MCP_URL_ESCHEME,
                            "URL scheme \"%.*s\" is not allowed",
                            MCP_URL_QUOTE(len), in);
    }

    if (last - p < 3 || memcmp(p, "://", 3) != 0) {
        return mcp_url_fail(c, MCP_URL_ENOHOST, "%s",
                            mcp_url_strerror(MCP_URL_ENOHOST));
    }

    for (p = in; *p != ':'; p++) {
        mcp_url_putc(&c->out, mcp_url_lower((unsigned char) *p));
    }

    mcp_url_put(&c->out, "://", 3);

    if (c->out.full) {
        return mcp_url_fail(c, MCP_URL_ESPACE, "%s",
                            mcp_url_strerror(MCP_URL_ESPACE));
    }

    c->u->scheme_len = len;
    *pp = p + 3;

    return MCP_URL_OK;
}


/*
 * The authority ends at "/", "?" or "#".  A "\" does not end it here as it
 * does in a browser: it stays in the host and is refused there, so that
 * "https://a.example\@b.example/" cannot be read two ways.
 */

static int
mcp_url_authority_end(mcp_url_ctx_t *c, const char *p, const char *last,
    const char **end)
{
    for ( /* void */ ; p < last; p++) {
        if (*p == '/' || *p == '?' || *p == '#') {
            break;
        }

        if (*p == '@') {
            return mcp_url_fail(c, MCP_URL_ECREDENTIALS, "%s",
                                mcp_url_strerror(MCP_URL_ECREDENTIALS));
        }
    }

    *end = p;

    return MCP_URL_OK;
}


/* scheme is in lower case */

static unsigned
mcp_url_default_port(const char *scheme, size_t len)
{
    size_t  i;

    static const struct {
        const char  *name;
        unsigned     port;
    } ports[] = {
        { "http", 80 }, { "https", 443 }, { "ws", 80 }, { "wss", 443 },
        { "ftp", 21 }
    };

    for (i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
        if (strlen(ports[i].name) == len
            && memcmp(ports[i].name, scheme, len) == 0)
        {
            return ports[i].port;
        }
    }

    return 0;
}


/*
 * "host[:port]" between p and last: the canonical host, then, with
 * write_port, ":port" unless it is the default.
 */

static int
mcp_url_host_port(mcp_url_ctx_t *c, const char *p, const char *last,
    unsigned default_port, int write_port)
{
    int          rc;
    char         num[8];
    unsigned     port;
    const char  *host_end;

    if (p == last) {
        return mcp_url_fail(c, MCP_URL_ENOHOST, "%s",
                            mcp_url_strerror(MCP_URL_ENOHOST));
    }

    if (*p == '[') {
        host_end = memchr(p, ']', (size_t) (last - p));
        if (host_end == NULL) {
            return mcp_url_fail(c, MCP_URL_EIPV6, "%s",
                                mcp_url_strerror(MCP_URL_EIPV6));
        }

        rc = mcp_url_ipv6(c, p + 1, host_end);
        host_end++;

        if (rc == MCP_URL_OK && host_end < last && *host_end != ':') {
            rc = mcp_url_fail(c, MCP_URL_EIPV6, "%s",
                              mcp_url_strerror(MCP_URL_EIPV6));
        }

    } else {
        host_end = memchr(p, ':', (size_t) (last - p));
        if (host_end == NULL) {
            host_end = last;
        }

        rc = mcp_url_domain(c, p, host_end);
    }

    if (rc != MCP_URL_OK) {
        return rc;
    }

    port = default_port;

    if (host_end < last) {
        rc = mcp_url_port(c, host_end + 1, last, &port);
        if (rc != MCP_URL_OK) {
            return rc;
        }
    }

    c->u->port = port;

    if (write_port && port != default_port) {
        mcp_url_put(&c->out, num,
                    (size_t) snprintf(num, sizeof(num), ":%u", port));
    }

    return MCP_URL_OK;
}


/* decimal, leading zeros allowed; empty is the default port */

static int
mcp_url_port(mcp_url_ctx_t *c, const char *p, const char *last,
    unsigned *port)
{
    unsigned  n;

    if (p == last) {
        return MCP_URL_OK;
    }

    for (n = 0; p < last && mcp_url_is_digit(*p) && n <= 65535; p++) {
        n = n * 10 + (unsigned) (*p - '0');
    }

    if (p != last || n == 0 || n > 65535) {
        return mcp_url_fail(c, MCP_URL_EPORT, "%s",
                            mcp_url_strerror(MCP_URL_EPORT));
    }

    *port = n;

    return MCP_URL_OK;
}


/*
 * A name or an IPv4 address, as WHATWG host parsing reads it: decoded,
 * lower case, then an IPv4 address if its last label is a number.  Only
 * one trailing dot is the root: "a.." and ".a" have an empty label.
 */

static int
mcp_url_domain(mcp_url_ctx_t *c, const char *p, const char *last)
{
    int        rc;
    char      *host;
    size_t     len;
    unsigned   ch;
    uint32_t   addr;

    host = c->out.pos;

    for ( /* void */ ; p < last; p++) {
        rc = mcp_url_domain_char(c, &p, last, &ch);
        if (rc != MCP_URL_OK) {
            return rc;
        }

        mcp_url_putc(&c->out, mcp_url_lower(ch));
    }

    if (c->out.full) {
        return mcp_url_fail(c, MCP_URL_ESPACE, "%s",
                            mcp_url_strerror(MCP_URL_ESPACE));
    }

    if (c->out.pos > host && c->out.pos[-1] == '.') {
        c->out.pos--;
    }

    len = (size_t) (c->out.pos - host);

    if (len == 0) {
        return mcp_url_fail(c, MCP_URL_ENOHOST, "%s",
                            mcp_url_strerror(MCP_URL_ENOHOST));
    }

    if (mcp_url_empty_label(host, len)) {
        return mcp_url_fail(c, MCP_URL_EHOST,
                            "URL host \"%.*s\" has an empty label",
                            MCP_URL_QUOTE(len), host);
    }

    c->u->host = host;
    c->u->host_len = len;
    c->u->host_type = MCP_URL_DOMAIN;

    if (!mcp_url_ends_in_number(host, host + len)) {
        return MCP_URL_OK;
    }

    if (mcp_url_ipv4_parse(host, host + len, &addr) != 0) {
        return mcp_url_fail(c, MCP_URL_EIPV4,
                            "URL host \"%.*s\" ends in a number but is not "
                            "a valid IPv4 address", MCP_URL_QUOTE(len),
                            host);
    }

    c->out.pos = host;
    mcp_url_ipv4_write(c, addr);

    return MCP_URL_OK;
}


/*
 * One character of a host, "%XX" decoded as WHATWG does before it checks
 * the host.  Allowed: letters, digits, "-", "_" and ".".
 */

static int
mcp_url_domain_char(mcp_url_ctx_t *c, const char **pp, const char *last,
    unsigned *ch)
{
    unsigned     hi, lo;
    const char  *p;

    p = *pp;
    *ch = (unsigned char) *p;

    if (*ch == '%' && last - p >= 3) {
        hi = mcp_url_hex((unsigned char) p[1]);
        lo = mcp_url_hex((unsigned char) p[2]);

        if (hi < 16 && lo < 16) {
            *ch = hi << 4 | lo;
            *pp = p + 2;
        }
    }

    if (*ch >= 0x80) {
        return mcp_url_fail(c, MCP_URL_ENOTASCII, "%s",
                            mcp_url_strerror(MCP_URL_ENOTASCII));
    }

    if (mcp_url_is_alpha(*ch) || mcp_url_is_digit(*ch)
        || *ch == '-' || *ch == '.' || *ch == '_')
    {
        return MCP_URL_OK;
    }

    if (*ch >= 0x20 && *ch < 0x7f) {
        return mcp_url_fail(c, MCP_URL_EHOST, "URL host contains \"%c\"",
                            (int) *ch);
    }

    /* a decoded control character is named as it was written */
    return mcp_url_fail(c, MCP_URL_EHOST, "URL host contains \"%%%02X\"",
                        *ch);
}


static int
mcp_url_empty_label(const char *host, size_t len)
{
    size_t  i;

    if (host[0] == '.' || host[len - 1] == '.') {
        return 1;
    }

    for (i = 1; i < len; i++) {
        if (host[i] == '.' && host[i - 1] == '.') {
            return 1;
        }
    }

    return 0;
}


/*
 * WHATWG "ends in a number": the last label is all digits ("09" too), or
 * parses as an IPv4 number ("0x1f", "0x").  Such a host must be an IPv4
 * address.
 */

static int
mcp_url_ends_in_number(const char *p, const char *last)
{
    uint64_t     v;
    const char  *label, *q;

    for (label = last; label > p && label[-1] != '.'; label--) {
        /* void */
    }

    for (q = label; q < last && mcp_url_is_digit(*q); q++) {
        /* void */
    }

    return (q == last && q > label)
           || mcp_url_ipv4_number(label, last, &v) == 0;
}


/*
 * WHATWG IPv4 number parser: "0x" hexadecimal, a leading "0" octal,
 * decimal otherwise; "0x" alone is 0.  Values over 2^32 are kept above
 * 2^32 (not exactly): the address parser refuses them either way.
 */

static int
mcp_url_ipv4_number(const char *p, const char *last, uint64_t *v)
{
    unsigned  radix, d;
    uint64_t  n;

    if (p == last) {
        return -1;
    }

    radix = 10;

    if (last - p >= 2 && p[0] == '0' && (p[1] | 0x20) == 'x') {
        p += 2;
        radix = 16;

    } else if (last - p >= 2 && p[0] == '0') {
        p++;
        radix = 8;
    }

    for (n = 0; p < last; p++) {
        d = mcp_url_hex((unsigned char) *p);

        if (d >= radix) {
            return -1;
        }

        if (n <= UINT32_MAX) {
            n = n * radix + d;
        }
    }

    *v = n;

    return 0;
}


/*
 * WHATWG IPv4 parser: one to four numbers; all but the last at most 255,
 * the last fills the bytes that remain ("127.1" is 127.0.0.1,
 * "2130706433" is 127.0.0.1).  The host has no trailing dot here.
 */

static int
mcp_url_ipv4_parse(const char *p, const char *last, uint32_t *addr)
{
    size_t       n, i;
    uint64_t     part[4], v;
    const char  *dot;

    for (n = 0; /* void */ ; n++) {
        dot = memchr(p, '.', (size_t) (last - p));
        if (dot == NULL) {
            dot = last;
        }

        if (n == 4 || mcp_url_ipv4_number(p, dot, &part[n]) != 0) {
            return -1;
        }

        if (dot == last) {
            n++;
            break;
        }

        p = dot + 1;
    }

    v = part[n - 1];

    if (v >= (uint64_t) 1 << (8 * (5 - n))) {
        return -1;
    }

    for (i = 0; i < n - 1; i++) {
        if (part[i] > 255) {
            return -1;
        }

        v += part[i] << (8 * (3 - i));
    }

    *addr = (uint32_t) v;

    return 0;
}


static void
mcp_url_ipv4_write(mcp_url_ctx_t *c, uint32_t addr)
{
    char  *host, text[16];
    int    n;

    c->u->addr[0] = (unsigned char) (addr >> 24);
    c->u->addr[1] = (unsigned char) (addr >> 16);
    c->u->addr[2] = (unsigned char) (addr >> 8);
    c->u->addr[3] = (unsigned char) addr;

    n = snprintf(text, sizeof(text), "%u.%u.%u.%u", c->u->addr[0],
                 c->u->addr[1], c->u->addr[2], c->u->addr[3]);

    host = c->out.pos;
    mcp_url_put(&c->out, text, (size_t) n);

    c->u->host = host;
    c->u->host_len = (size_t) (c->out.pos - host);
    c->u->host_type = MCP_URL_IPV4;
}


/*
 * The address between "[" and "]": written compressed, or as the IPv4
 * address it maps when it is ::ffff:a.b.c.d, whatever its spelling, so
 * that rules on IPv4 addresses see it.
 */

static int
mcp_url_ipv6(mcp_url_ctx_t *c, const char *p, const char *last)
{
    int        i;
    char      *host;
    uint16_t   a[8];

    if (mcp_url_ipv6_parse(p, last, a) != 0) {
        return mcp_url_fail(c, MCP_URL_EIPV6, "%s",
                            mcp_url_strerror(MCP_URL_EIPV6));
    }

    if (a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] == 0 && a[4] == 0
        && a[5] == 0xffff)
    {
        mcp_url_ipv4_write(c, (uint32_t) a[6] << 16 | a[7]);
        return MCP_URL_OK;
    }

    for (i = 0; i < 8; i++) {
        c->u->addr[2 * i] = (unsigned char) (a[i] >> 8);
        c->u->addr[2 * i + 1] = (unsigned char) a[i];
    }

    host = c->out.pos;
    mcp_url_ipv6_write(&c->out, a);

    c->u->host = host;
    c->u->host_len = (size_t) (c->out.pos - host);
    c->u->host_type = MCP_URL_IPV6;

    return MCP_URL_OK;
}


/* WHATWG IPv6 parser: eight 16-bit pieces, "::" once, a.b.c.d last. */

static int
mcp_url_ipv6_parse(const char *p, const char *last, uint16_t a[8])
{
    int       piece, compress, len, swaps;
    unsigned  value, d;
    uint16_t  t;

    memset(a, 0, 8 * sizeof(uint16_t));

    piece = 0;
    compress = -1;

    if (p < last && *p == ':') {
        if (last - p < 2 || p[1] != ':') {
            return -1;
        }

        p += 2;
        piece = 1;
        compress = 1;
    }

    while (p < last) {
        if (piece == 8) {
            return -1;
        }

        if (*p == ':') {
            if (compress != -1) {
                return -1;
            }

            p++;
            compress = ++piece;
            continue;
        }

        value = 0;

        for (len = 0; len < 4 && p < last; len++, p++) {
            d = mcp_url_hex((unsigned char) *p);
            if (d >= 16) {
                break;
            }

            value = value * 16 + d;
        }

        if (p < last && *p == '.') {
            if (len == 0 || piece > 6) {
                return -1;
            }

            p = mcp_url_ipv6_v4(p - len, last, a, &piece);
            if (p == NULL) {
                return -1;
            }

            break;
        }

        if (p < last && *p == ':') {
            if (++p == last) {
                return -1;
            }

        } else if (p < last) {
            return -1;
        }

        a[piece++] = (uint16_t) value;
    }

    if (compress == -1) {
        return piece == 8 ? 0 : -1;
    }

    /* move the pieces after "::" to the end */

    for (swaps = piece - compress, piece = 7;
         piece != 0 && swaps > 0;
         piece--, swaps--)
    {
        t = a[piece];
        a[piece] = a[compress + swaps - 1];
        a[compress + swaps - 1] = t;
    }

    return 0;
}


/*
 * The dotted IPv4 tail of an IPv6 address, into two pieces: four decimal
 * numbers of at most 255, no leading zeros.  Returns the end of the
 * input, or NULL.
 */

static const char *
mcp_url_ipv6_v4(const char *p, const char *last, uint16_t a[8], int *piece)
{
    int       seen;
    unsigned  v;

    for (seen = 0; p < last; seen++) {
        if (seen > 0) {
            if (*p != '.' || seen == 4) {
                return NULL;
            }

            p++;
        }

        if (p == last || !mcp_url_is_digit(*p)) {
            return NULL;
        }

        if (*p == '0' && last - p > 1 && mcp_url_is_digit(p[1])) {
            return NULL;
        }

        for (v = 0; p < last && mcp_url_is_digit(*p); p++) {
            v = v * 10 + (unsigned) (*p - '0');

            if (v > 255) {
                return NULL;
            }
        }

        a[*piece] = (uint16_t) ((unsigned) a[*piece] << 8 | v);

        if (seen == 1 || seen == 3) {
            (*piece)++;
        }
    }

    return seen == 4 ? p : NULL;
}


/*
 * WHATWG IPv6 serialiser: lower-case hex without leading zeros, the first
 * longest run of two or more zero pieces written "::".
 */

static void
mcp_url_ipv6_write(mcp_url_buf_t *b, const uint16_t a[8])
{
    int    i, j, best, best_len, ignore;
    char   text[8];

    best = -1;
    best_len = 1;

    for (i = 0; i < 8; i = j + 1) {
        for (j = i; j < 8 && a[j] == 0; j++) {
            /* void */
        }

        if (j - i > best_len) {
            best = i;
            best_len = j - i;
        }
    }

    mcp_url_putc(b, '[');

    for (i = 0, ignore = 0; i < 8; i++) {
        if (ignore && a[i] == 0) {
            continue;
        }

        ignore = 0;

        if (i == best) {
            mcp_url_put(b, "::", i == 0 ? 2 : 1);
            ignore = 1;
            continue;
        }

        mcp_url_put(b, text, (size_t) snprintf(text, sizeof(text), "%x",
                                               (unsigned) a[i]));

        if (i != 7) {
            mcp_url_putc(b, ':');
        }
    }

    mcp_url_putc(b, ']');
}


/* 0-15 for a hex digit, 16 otherwise */

static unsigned
mcp_url_hex(unsigned ch)
{
    if (mcp_url_is_digit(ch)) {
        return ch - '0';
    }

    ch |= 0x20;

    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }

    return 16;
}


/*
 * The path between p and last (empty, or starting with "/"): "/" when
 * empty, segments percent-encoded, "." dropped and ".." dropping the
 * segment before it, as the WHATWG path state does.  While segments are
 * written the output ends with "/", so ".." cuts back to the "/" before.
 */

static void
mcp_url_path(mcp_url_buf_t *b, const char *p, const char *last)
{
    char        *root;
    const char  *seg;

    root = b->pos;
    mcp_url_putc(b, '/');

    if (p == last) {
        return;
    }

    for (p++; /* void */ ; p++) {
        seg = p;

        while (p < last && *p != '/') {
            p++;
        }

        switch (mcp_url_dots(seg, p)) {

        case 2:
            if (b->pos - root > 1) {
                for (b->pos--; b->pos[-1] != '/'; b->pos--) {
                    /* void */
                }
            }

            break;

        case 1:
            break;

        default:
            mcp_url_put_escaped(b, seg, p);

            if (p < last) {
                mcp_url_putc(b, '/');
            }
        }

        if (p == last) {
            break;
        }
    }
}


/* 1 for ".", 2 for "..", each dot also "%2e" in either case; else 0 */

static int
mcp_url_dots(const char *p, const char *last)
{
    int  dots;

    for (dots = 0; p < last; dots++) {
        if (*p == '.') {
            p++;

        } else if (last - p >= 3 && p[0] == '%' && p[1] == '2'
                   && (p[2] | 0x20) == 'e')
        {
            p += 3;

        } else {
            return 0;
        }
    }

    return dots <= 2 ? dots : 0;
}
