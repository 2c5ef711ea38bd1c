
/*
 * ngx_mcp: what may be shortened.  URL policy (schemes, hosts, length,
 * allow/deny patterns, no links to ourselves) and alias rules.
 */


#include "ngx_http_mcp_module.h"
#include "mcp_url.h"


/* room for mcp_url's message about a refused URL */
#define NGX_HTTP_MCP_URL_ERRLEN  256


static ngx_int_t ngx_http_mcp_url_canon(ngx_http_request_t *r,
    ngx_http_mcp_loc_conf_t *mlcf, ngx_str_t *url, ngx_str_t *out,
    mcp_url_t *u, ngx_http_mcp_error_t *err);
static int ngx_http_mcp_url_scheme_ok(void *data, const char *scheme,
    size_t len);
static ngx_int_t ngx_http_mcp_is_self(ngx_http_request_t *r,
    ngx_http_mcp_loc_conf_t *mlcf, mcp_url_t *u);
static ngx_int_t ngx_http_mcp_same_host(ngx_http_request_t *r, mcp_url_t *u,
    ngx_str_t *own, unsigned port);
static ngx_int_t ngx_http_mcp_url_rules(ngx_http_request_t *r,
    ngx_http_mcp_loc_conf_t *mlcf, ngx_str_t *url,
    ngx_http_mcp_error_t *err);


/*
 * Returns NGX_OK with *out set to the canonical URL in r->pool (see
 * store/mcp_url.h), NGX_DECLINED with err filled (422 url_refused) when
 * the URL is refused, NGX_ERROR when out of memory.  Every rule sees the
 * canonical form: another spelling of a refused URL is refused too.  The
 * configured patterns come before the check for links to ourselves, so
 * that a URL both match is refused by the rule its owner wrote.
 */

ngx_int_t
ngx_http_mcp_check_url(ngx_http_request_t *r, ngx_http_mcp_loc_conf_t *mlcf,
    ngx_str_t *url, ngx_str_t *out, ngx_http_mcp_error_t *err)
{
    ngx_int_t  rc;
    mcp_url_t  u;

    rc = ngx_http_mcp_url_canon(r, mlcf, url, out, &u, err);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_mcp_url_rules(r, mlcf, out, err);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_mcp_is_self(r, mlcf, &u);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_OK) {
        return ngx_http_mcp_fail(err, NGX_HTTP_MCP_UNPROCESSABLE,
                                 "url_refused", "URL points at this "
                                 "shortener itself");
    }

    return NGX_OK;
}


/* The fixed rules, mcp_url_schemes and mcp_url_max_length. */

static ngx_int_t
ngx_http_mcp_url_canon(ngx_http_request_t *r, ngx_http_mcp_loc_conf_t *mlcf,
    ngx_str_t *url, ngx_str_t *out, mcp_url_t *u, ngx_http_mcp_error_t *err)
{
    int               rc;
    char              msg[NGX_HTTP_MCP_URL_ERRLEN];
    size_t            size;
    mcp_url_policy_t  policy;

    policy.max_len = (size_t) mlcf->url_max_length;
    policy.scheme_ok = ngx_http_mcp_url_scheme_ok;
    policy.data = mlcf->url_schemes;

    /* a URL over the limit is refused before anything is written */
    size = MCP_URL_CANON_SIZE(ngx_min(url->len, policy.max_len));

    out->data = ngx_pnalloc(r->pool, size);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    rc = mcp_url_canon((char *) url->data, url->len, &policy,
                       (char *) out->data, size, u, msg, sizeof(msg));

    if (rc != MCP_URL_OK) {
        return ngx_http_mcp_fail(err, NGX_HTTP_MCP_UNPROCESSABLE,
                                 "url_refused", "%s", msg);
    }

    out->len = u->len;

    return NGX_OK;
}


static int
ngx_http_mcp_url_scheme_ok(void *data, const char *scheme, size_t len)
{
    ngx_array_t  *schemes = data;

    return ngx_http_mcp_in_list(schemes, (u_char *) scheme, len) == NGX_OK;
}


/*
 * A link to the shortener itself would redirect to itself, and one to
 * loopback sends every visitor to their own machine: NGX_OK when u is
 * either.  Own names are the host the client addressed (with its port;
 * X-Forwarded-Host and -Proto from a trusted proxy, as for short_url)
 * and mcp_base_url's host and port, each canonicalised as the URL was, so
 * that every spelling of them counts.  (server_name is not among them:
 * nginx keeps its list only while it reads the configuration.)
 * NGX_DECLINED when u is none of them, NGX_ERROR when out of memory.
 */

static ngx_int_t
ngx_http_mcp_is_self(ngx_http_request_t *r, ngx_http_mcp_loc_conf_t *mlcf,
    mcp_url_t *u)
{
    ngx_int_t   rc;
    ngx_str_t   host;
    ngx_uint_t  https;

    if (mcp_url_is_loopback(u)) {
        return NGX_OK;
    }

    ngx_http_mcp_public_origin(r, &https, &host);

    if (host.len) {
        rc = ngx_http_mcp_same_host(r, u, &host, https ? 443 : 80);
        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    if (mlcf->base_url.len) {
        return ngx_http_mcp_same_host(r, u, &mlcf->base_url, 0);
    }

    return NGX_DECLINED;
}


/*
 * NGX_OK when own names u's host and port; NGX_DECLINED when not, or when
 * own is no host at all.  own is "host[:port]" with port as the default,
 * or, with port 0, a whole URL (mcp_base_url).
 */

static ngx_int_t
ngx_http_mcp_same_host(ngx_http_request_t *r, mcp_url_t *u, ngx_str_t *own,
    unsigned port)
{
    int         rc;
    char       *buf;
    size_t      size;
    mcp_url_t   o;

    size = MCP_URL_CANON_SIZE(own->len);

    buf = ngx_pnalloc(r->pool, size);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    if (port == 0) {
        rc = mcp_url_canon((char *) own->data, own->len, NULL, buf, size, &o,
                           NULL, 0);

    } else {
        rc = mcp_url_authority((char *) own->data, own->len, port, buf, size,
                               &o, NULL, 0);
    }

    if (rc == MCP_URL_OK && o.port == u->port && o.host_len == u->host_len
        && ngx_memcmp(o.host, u->host, u->host_len) == 0)
    {
        return NGX_OK;
    }

    return NGX_DECLINED;
}


/*
 * mcp_url_deny, then mcp_url_allow, on the canonical URL.  A pattern that
 * fails to run (PCRE's limits) refuses the URL: a deny rule must not open
 * up.
 */

static ngx_int_t
ngx_http_mcp_url_rules(ngx_http_request_t *r, ngx_http_mcp_loc_conf_t *mlcf,
    ngx_str_t *url, ngx_http_mcp_error_t *err)
{
    if (mlcf->url_deny
        && ngx_regex_exec_array(mlcf->url_deny, url, r->connection->log)
           != NGX_DECLINED)
    {
        return ngx_http_mcp_fail(err, NGX_HTTP_MCP_UNPROCESSABLE,
                                 "url_refused", "URL is refused by this "
                                 "server's policy");
    }

    if (mlcf->url_allow
        && ngx_regex_exec_array(mlcf->url_allow, url, r->connection->log)
           != NGX_OK)
    {
        return ngx_http_mcp_fail(err, NGX_HTTP_MCP_UNPROCESSABLE,
                                 "url_refused", "URL is not on this server's "
                                 "allow list");
    }

    return NGX_OK;
}


/*
 * Aliases are codes chosen by the client: [A-Za-z0-9_-]{1,64}, and not one
 * of the module's own routes or the configured reserved words.
 */

ngx_http_mcp_alias_e
ngx_http_mcp_check_alias(ngx_http_mcp_loc_conf_t *mlcf, ngx_str_t *alias)
{
    if (ngx_http_mcp_valid_code(alias) != NGX_OK) {
        return NGX_HTTP_MCP_ALIAS_INVALID;
    }

    if (ngx_http_mcp_in_list(mlcf->reserved, alias->data, alias->len)
        == NGX_OK)
    {
        return NGX_HTTP_MCP_ALIAS_RESERVED;
    }

    return NGX_HTTP_MCP_ALIAS_OK;
}
