/*
 * mcp_url: the canonical form of a URL to shorten, and the rules every
 * stored URL obeys.
 *
 * A plain C piece of the store library that knows nothing of nginx: the
 * module's URL policy and the mcp-store tool call the same code, so a URL
 * stored either way obeys the same rules and is stored the same way.
 *
 * The canonical form is the URL a browser fetches when it follows the
 * redirect, written the one way the WHATWG URL Standard serialises it, so
 * that patterns matched against it (mcp_url_deny, mcp_url_allow) and the
 * check for links to the shortener itself cannot be dodged by another
 * spelling of the same place:
 *
 *   - the scheme in lower case;
 *   - the host as WHATWG host parsing reads it: percent-decoded, in lower
 *     case, without its trailing dot; a host that ends in a number is an
 *     IPv4 address in any of its spellings (2130706433, 0x7f.1,
 *     0177.0.0.1, 127.1) and is written in dotted decimal; an IPv6
 *     address is written compressed ("[::1]"), and an IPv4-mapped one
 *     ("[::ffff:127.0.0.1]", "[::ffff:7f00:1]") as the IPv4 address it
 *     reaches;
 *   - the port without leading zeros, left out when it is the scheme's
 *     default (http 80, https 443, ws 80, wss 443, ftp 21);
 *   - the path never empty ("https://example.com?q" is
 *     "https://example.com/?q"), its "." and ".." segments (also written
 *     "%2e") resolved;
 *   - bytes that may not appear raw in a URL (non-ASCII, space, and
 *     " < > \ ^ ` { | }) percent-encoded.
 *
 * Every scheme is parsed as WHATWG parses http: "scheme://host...", the
 * host read as above.  The rules are stricter than the standard where a
 * link store wants it: a URL is refused when it has control characters
 * (CR, LF, tab, DEL: no header injection into Location), no "//host",
 * credentials ("user:pass@"), a host with other characters than letters,
 * digits, "-", "_" and ".", an empty label ("a..b"), a non-ASCII host (IDN
 * must come in its xn-- form), a port outside 1-65535, or a host the
 * standard rejects (an IPv4-looking host with a part out of range, an
 * invalid IPv6 address).
 *
 * No global state and no allocation: the caller owns every buffer.  Every
 * function returns MCP_URL_OK (0) or one of the codes below;
 * mcp_url_strerror() turns any of them into a message.
 */

#ifndef _MCP_URL_H_INCLUDED_
#define _MCP_URL_H_INCLUDED_


#include <stddef.h>


/* Return codes. */
#define MCP_URL_OK              0
#define MCP_URL_ETOOLONG        1   /* longer than the policy's max_len */
#define MCP_URL_ECONTROL        2   /* a control character (CR, LF, DEL) */
#define MCP_URL_ENOSCHEME       3   /* does not start with "scheme:" */
#define MCP_URL_ESCHEME         4   /* a scheme the policy does not allow */
#define MCP_URL_ENOHOST         5   /* no "//host" */
#define MCP_URL_ECREDENTIALS    6   /* "user:password@" */
#define MCP_URL_EHOST           7   /* a character not allowed in a host,
                                       or an empty label */
#define MCP_URL_ENOTASCII       8   /* a non-ASCII host: use its xn-- form */
#define MCP_URL_EIPV4           9   /* ends in a number, but no IPv4 */
#define MCP_URL_EIPV6           10  /* "[...]" that is no IPv6 address */
#define MCP_URL_EPORT           11  /* a port that is not 1-65535 */
#define MCP_URL_ESPACE          12  /* out_size too small */


/* Kinds of host. */
#define MCP_URL_DOMAIN          0
#define MCP_URL_IPV4            1
#define MCP_URL_IPV6            2


/*
 * Room that is always enough for the canonical form of in_len bytes:
 * every byte may become three ("%XX"), and the host may grow ("0" is
 * "0.0.0.0").
 */
#define MCP_URL_CANON_SIZE(in_len)  (3 * (size_t) (in_len) + 64)


/*
 * Called with the scheme as written (any case, not NUL-terminated):
 * non-zero if URLs of that scheme may be stored.
 */
typedef int (*mcp_url_scheme_cb)(void *data, const char *scheme,
    size_t len);


/*
 * What mcp_url_canon() enforces beyond the fixed rules.  max_len bounds
 * both the URL as given and its canonical form (0: no bound).  scheme_ok
 * NULL allows every scheme.  A NULL policy is all of that.
 */
typedef struct {
    size_t             max_len;
    mcp_url_scheme_cb  scheme_ok;
    void              *data;
} mcp_url_policy_t;


/*
 * A canonical URL.  host points into the caller's out buffer: valid as
 * long as that buffer is.  For MCP_URL_IPV4 addr[0..3] holds the address,
 * for MCP_URL_IPV6 addr[0..15], in network order.
 */
typedef struct {
    size_t         len;         /* of the canonical URL in out */
    size_t         scheme_len;  /* out[0 .. scheme_len), lower case */
    const char    *host;        /* "example.com", "127.0.0.1", "[::1]" */
    size_t         host_len;
    unsigned       port;        /* as given, or the scheme's default; 0:
                                   none (another scheme, no port) */
    int            host_type;   /* MCP_URL_DOMAIN, _IPV4 or _IPV6 */
    unsigned char  addr[16];
} mcp_url_t;


/*
 * Returns a static message for any code of this file.  Never NULL.
 */
const char *mcp_url_strerror(int rc);

/*
 * Writes the canonical form of the in_len bytes at in to out (out_size
 * bytes; MCP_URL_CANON_SIZE(in_len) is always enough), not NUL-terminated,
 * and describes it in *u.  The rules are checked in this order: length,
 * control characters, scheme, credentials, host, port, length of the
 * canonical form.  policy may be NULL (see mcp_url_policy_t).
 *
 * On failure out and *u hold nothing of use, and err, if not NULL,
 * receives a NUL-terminated message of at most err_len bytes that names
 * what was wrong, for the person who sent the URL ("URL scheme
 * \"javascript\" is not allowed").
 */
int mcp_url_canon(const char *in, size_t in_len,
    const mcp_url_policy_t *policy, char *out, size_t out_size, mcp_url_t *u,
    char *err, size_t err_len);

/*
 * The same for an authority without a scheme, "host[:port]" as in a Host
 * header: writes the canonical host alone to out (MCP_URL_CANON_SIZE(in_len)
 * is enough) and fills *u, whose len and scheme_len are 0.  default_port
 * is the port when none is given.  err as for mcp_url_canon().
 */
int mcp_url_authority(const char *in, size_t in_len, unsigned default_port,
    char *out, size_t out_size, mcp_url_t *u, char *err, size_t err_len);

/*
 * Non-zero when u's host is this machine whatever the port: "localhost"
 * and names under ".localhost", 127.0.0.0/8, 0.0.0.0, [::1] and [::].
 */
int mcp_url_is_loopback(const mcp_url_t *u);


#endif /* _MCP_URL_H_INCLUDED_ */
