
/*
 * ngx_mcp: what may be shortened.  URL policy (schemes, hosts, length,
 * allow/deny patterns, no links to ourselves) and alias rules.
 */


#include "ngx_http_mcp_module.h"


static ngx_int_t ngx_http_mcp_is_self(ngx_http_request_t *r,
    ngx_http_mcp_loc_conf_t *mlcf, ngx_str_t *host, ngx_uint_t port);
static ngx_uint_t ngx_http_mcp_default_port(u_char *scheme, size_t len);


/* Characters that RFC 3986 does not allow in a URL: percent-encoded. */
#define ngx_http_mcp_must_escape(c)                                          \
    ((c) >= 0x80 || (c) == ' ' || (c) == '"' || (c) == '<' || (c) == '>'     \
     || (c) == '\\' || (c) == '^' || (c) == '`' || (c) == '{' || (c) == '|'  \
     || (c) == '}')


static ngx_uint_t
ngx_http_mcp_default_port(u_char *scheme, size_t len)
{
    if (len == 4 && ngx_strncasecmp(scheme, (u_char *) "http", 4) == 0) {
        return 80;
    }

    if (len == 5 && ngx_strncasecmp(scheme, (u_char *) "https", 5) == 0) {
        return 443;
    }

    return 0;
}


/*
 * Returns NGX_OK with *out set to the normalised URL in r->pool (lower-case
 * scheme and host, RFC 3986 percent-encoding of what may not appear raw),
 * NGX_DECLINED with err filled (422 url_refused) when the URL is refused,
 * NGX_ERROR when out of memory.
 */

ngx_int_t
ngx_http_mcp_check_url(ngx_http_request_t *r, ngx_http_mcp_loc_conf_t *mlcf,
    ngx_str_t *url, ngx_str_t *out, ngx_http_mcp_error_t *err)
{
    u_char      *p, *last, *q, *scheme_end, *host_start, *host_end;
    u_char      *auth_end, c;
    size_t       len, scheme_len;
    ngx_str_t   *s, host;
    ngx_int_t    port;
    ngx_uint_t   i, escapes, allowed;

    if (url->len > (size_t) mlcf->url_max_length) {
        return ngx_http_mcp_fail(err, NGX_HTTP_MCP_UNPROCESSABLE,
                                   "url_refused",
                                   "URL is %zu bytes long; the limit is %d",
                                   url->len, (int) mlcf->url_max_length);
    }

    last = url->data + url->len;
    escapes = 0;

    for (p = url->data; p < last; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            return ngx_http_mcp_fail(err, NGX_HTTP_MCP_UNPROCESSABLE,
                                   "url_refused",
                                 "URL contains a control character at byte "
                                 "%d", (int) (p - url->data));
        }

        if (ngx_http_mcp_must_escape(*p)) {
            escapes++;
        }
    }

    /* scheme */

    p = url->data;

    if (p == last || !((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')) {
        return ngx_http_mcp_fail(err, NGX_HTTP_MCP_UNPROCESSABLE,
                                   "url_refused",
                                   "URL must start with a scheme, as in "
                                   "https://example.com/");
    }

    for (p++; p < last; p++) {
        c = *p;

        if (((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
            || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.')
        {
            continue;
        }

        break;
    }

    if (p == last || *p != ':') {
        return ngx_http_mcp_fail(err, NGX_HTTP_MCP_UNPROCESSABLE,
                                   "url_refused",
                                   "URL must start with a scheme, as in "
                                   "https://example.com/");
    }

    scheme_end = p;
    scheme_len = scheme_end - url->data;

    allowed = 0;
    s = mlcf->url_schemes->elts;

    for (i = 0; i < mlcf->url_schemes->nelts; i++) {
        if (s[i].len == scheme_len
            && ngx_strncasecmp(s[i].data, url->data, scheme_len) == 0)
        {
            allowed = 1;
            break;
        }
    }

    if (!allowed) {
        return ngx_http_mcp_fail(err, NGX_HTTP_MCP_UNPROCESSABLE,
                                   "url_refused", "URL scheme \"%.*s\" is not "
                                   "allowed", (int) scheme_len, url->data);
    }

    /* authority */

    if (last - scheme_end < 3 || ngx_strncmp(scheme_end, "://", 3) != 0) {
        return ngx_http_mcp_fail(err, NGX_HTTP_MCP_UNPROCESSABLE,
                                   "url_refused", "URL has no host");
    }

    host_start = scheme_end + 3;

    for (auth_end = host_start; auth_end < last; auth_end++) {
        if (*auth_end == '/' || *auth_end == '?' || *auth_end == '#') {
            break;
        }

        if (*auth_end == '@') {
            return ngx_http_mcp_fail(err, NGX_HTTP_MCP_UNPROCESSABLE,
                                   "url_refused", "URL must not contain "
                                       "credentials (user:password@)");
        }
    }

    if (host_start < auth_end && *host_start == '[') {
        for (host_end = host_start + 1; host_end < auth_end; host_end++) {
            c = *host_end;

            if (c == ']') {
                break;
            }

            if (!((c >= '0' && c <= '9') || ((c | 0x20) >= 'a'
                                             && (c | 0x20) <= 'f')
                  || c == ':' || c == '.'))
            {
                return ngx_http_mcp_fail(err, NGX_HTTP_MCP_UNPROCESSABLE,
                                   "url_refused",
                                           "URL has an invalid IPv6 host");
            }
        }

        if (host_end == auth_end) {
            return ngx_http_mcp_fail(err, NGX_HTTP_MCP_UNPROCESSABLE,
                                   "url_refused", "URL has an invalid IPv6 host");
        }

        host_end++;

    } else {
        for (host_end = host_start; host_end < auth_end; host_end++) {
            c = *host_end;

            if (c == ':') {
                break;
            }

            if (c >= 0x80) {
                return ngx_http_mcp_fail(err, NGX_HTTP_MCP_UNPROCESSABLE,
                                   "url_refused", "URL host must be ASCII: "
                                           "use its punycode (xn--) form");
            }

            if (!(((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
                  || (c >= '0' && c <= '9') || c == '-' || c == '.'
                  || c == '_'))
            {
                return ngx_http_mcp_fail(err, NGX_HTTP_MCP_UNPROCESSABLE,
                                   "url_refused", "URL host contains "
                                           "\"%c\"", c);
            }
        }
    }

    if (host_end == host_start) {
        return ngx_http_mcp_fail(err, NGX_HTTP_MCP_UNPROCESSABLE,
                                   "url_refused", "URL has no host");
    }

    port = ngx_http_mcp_default_port(url->data, scheme_len);

    if (host_end < auth_end) {
        if (*host_end != ':') {
            return ngx_http_mcp_fail(err, NGX_HTTP_MCP_UNPROCESSABLE,
                                   "url_refused", "URL has an invalid host");
        }

        len = auth_end - host_end - 1;

        if (len) {
            port = ngx_atoi(host_end + 1, len);

            if (port < 1 || port > 65535) {
                return ngx_http_mcp_fail(err, NGX_HTTP_MCP_UNPROCESSABLE,
                                   "url_refused", "URL has an invalid port");
            }
        }
    }

    /* normalise into r->pool: lower-case scheme and host, escapes */

    len = url->len + 2 * escapes;

    if (len > (size_t) mlcf->url_max_length) {
        return ngx_http_mcp_fail(err, NGX_HTTP_MCP_UNPROCESSABLE,
                                   "url_refused",
                                   "URL is %zu bytes long once encoded; the "
                                   "limit is %d", len,
                                   (int) mlcf->url_max_length);
    }

    q = ngx_pnalloc(r->pool, len);
    if (q == NULL) {
        return NGX_ERROR;
    }

    out->data = q;

    for (p = url->data; p < last; p++) {
        c = *p;

        if (p < host_end && c >= 'A' && c <= 'Z') {
            *q++ = c | 0x20;

        } else if (ngx_http_mcp_must_escape(c)) {
            *q++ = '%';
            *q++ = "0123456789ABCDEF"[c >> 4];
            *q++ = "0123456789ABCDEF"[c & 0xf];

        } else {
            *q++ = c;
        }
    }

    out->len = q - out->data;

    host.data = out->data + (host_start - url->data);
    host.len = host_end - host_start;

    if (ngx_http_mcp_is_self(r, mlcf, &host, port)) {
        return ngx_http_mcp_fail(err, NGX_HTTP_MCP_UNPROCESSABLE,
                                   "url_refused", "URL points at this shortener "
                                   "itself");
    }

    if (mlcf->url_deny
        && ngx_regex_exec_array(mlcf->url_deny, out,
                                r->connection->log)
           == NGX_OK)
    {
        return ngx_http_mcp_fail(err, NGX_HTTP_MCP_UNPROCESSABLE,
                                   "url_refused", "URL is refused by this "
                                   "server's policy");
    }

    if (mlcf->url_allow
        && ngx_regex_exec_array(mlcf->url_allow, out,
                                r->connection->log)
           != NGX_OK)
    {
        return ngx_http_mcp_fail(err, NGX_HTTP_MCP_UNPROCESSABLE,
                                   "url_refused", "URL is not on this server's "
                                   "allow list");
    }

    return NGX_OK;
}


/*
 * A link to the shortener's own host and port (as the client addressed it,
 * or as mcp_base_url names it) would redirect to itself.
 */

static ngx_int_t
ngx_http_mcp_is_self(ngx_http_request_t *r, ngx_http_mcp_loc_conf_t *mlcf,
    ngx_str_t *host, ngx_uint_t port)
{
    u_char      *p, *last, *start;
    ngx_str_t    own;
    ngx_int_t    n;
    ngx_uint_t   own_port, i;

    for (i = 0; i < 2; i++) {

        if (i == 0) {
            if (r->headers_in.host == NULL) {
                continue;
            }

            start = r->headers_in.host->value.data;
            last = start + r->headers_in.host->value.len;
#if (NGX_HTTP_SSL)
            own_port = r->connection->ssl ? 443 : 80;
#else
            own_port = 80;
#endif

        } else {
            if (mlcf->base_url.len == 0) {
                continue;
            }

            p = ngx_strlchr(mlcf->base_url.data,
                            mlcf->base_url.data + mlcf->base_url.len, ':');
            if (p == NULL || mlcf->base_url.data + mlcf->base_url.len - p < 3)
            {
                continue;
            }

            own_port = ngx_http_mcp_default_port(mlcf->base_url.data,
                                                 p - mlcf->base_url.data);
            start = p + 3;
            last = mlcf->base_url.data + mlcf->base_url.len;

            for (p = start; p < last && *p != '/'; p++) { /* void */ }

            last = p;
        }

        /* start..last is "host[:port]" or "[v6][:port]" */

        p = last;

        while (p > start && p[-1] >= '0' && p[-1] <= '9') {
            p--;
        }

        if (p > start && p < last && p[-1] == ':') {
            n = ngx_atoi(p, last - p);
            if (n != NGX_ERROR) {
                own_port = n;
            }

            last = p - 1;
        }

        own.data = start;
        own.len = last - start;

        if (own_port == port && own.len == host->len
            && ngx_strncasecmp(own.data, host->data, own.len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/*
 * Aliases are codes chosen by the client: [A-Za-z0-9_-]{1,64}, and not one
 * of the module's own routes or the configured reserved words.
 */

ngx_int_t
ngx_http_mcp_check_alias(ngx_http_mcp_loc_conf_t *mlcf, ngx_str_t *alias,
    const char **why)
{
    ngx_str_t   *word;
    ngx_uint_t   i;

    if (ngx_http_mcp_valid_code(alias) != NGX_OK) {
        *why = "invalid";
        return NGX_DECLINED;
    }

    word = mlcf->reserved->elts;

    for (i = 0; i < mlcf->reserved->nelts; i++) {
        if (word[i].len == alias->len
            && ngx_strncasecmp(word[i].data, alias->data, alias->len) == 0)
        {
            *why = "reserved";
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}
