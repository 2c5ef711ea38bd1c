
/*
 * ngx_mcp: what may be shortened.  URL policy (schemes, hosts, length,
 * allow/deny patterns, no links to ourselves), alias rules, RFC 3339 times.
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

    ngx_str_t   *s;
    ngx_uint_t   i;

    s = schemes->elts;

    for (i = 0; i < schemes->nelts; i++) {
        if (s[i].len == len
            && ngx_strncasecmp(s[i].data, (u_char *) scheme, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/*
 * A link to the shortener itself would redirect to itself, and one to
 * loopback sends every visitor to their own machine: NGX_OK when u is
 * either.  Own names are the Host the client addressed (with its port)
 * and mcp_base_url's host and port, each canonicalised as the URL was, so
 * that every spelling of them counts.  (server_name is not among them:
 * nginx keeps its list only while it reads the configuration.)
 * NGX_DECLINED when u is none of them, NGX_ERROR when out of memory.
 */

static ngx_int_t
ngx_http_mcp_is_self(ngx_http_request_t *r, ngx_http_mcp_loc_conf_t *mlcf,
    mcp_url_t *u)
{
    ngx_int_t  rc;
    unsigned   port;

    if (mcp_url_is_loopback(u)) {
        return NGX_OK;
    }

    if (r->headers_in.host != NULL) {
#if (NGX_HTTP_SSL)
        port = r->connection->ssl ? 443 : 80;
#else
        port = 80;
#endif

        rc = ngx_http_mcp_same_host(r, u, &r->headers_in.host->value, port);
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
    ngx_str_t   *word;
    ngx_uint_t   i;

    if (ngx_http_mcp_valid_code(alias) != NGX_OK) {
        return NGX_HTTP_MCP_ALIAS_INVALID;
    }

    word = mlcf->reserved->elts;

    for (i = 0; i < mlcf->reserved->nelts; i++) {
        if (word[i].len == alias->len
            && ngx_strncasecmp(word[i].data, alias->data, alias->len) == 0)
        {
            return NGX_HTTP_MCP_ALIAS_RESERVED;
        }
    }

    return NGX_HTTP_MCP_ALIAS_OK;
}


static ngx_int_t
ngx_http_mcp_digits(u_char **pp, u_char *last, ngx_uint_t n, ngx_int_t *v)
{
    u_char  *p = *pp;

    if (last - p < (ssize_t) n) {
        return NGX_ERROR;
    }

    *v = ngx_atoi(p, n);
    if (*v == NGX_ERROR) {
        return NGX_ERROR;
    }

    *pp = p + n;

    return NGX_OK;
}


/*
 * RFC 3339 date-time, "2030-01-02T03:04:05Z" or with a fraction and a
 * "+hh:mm" offset, to Unix seconds.
 */

ngx_int_t
ngx_http_mcp_parse_time(ngx_str_t *s, int64_t *t)
{
    u_char     *p, *last;
    int64_t     days, y;
    ngx_int_t   year, month, day, hour, min, sec, oh, om, sign;

    static const char  sep[] = "--T::";

    p = s->data;
    last = p + s->len;

    if (ngx_http_mcp_digits(&p, last, 4, &year) != NGX_OK
        || p == last || *p++ != sep[0]
        || ngx_http_mcp_digits(&p, last, 2, &month) != NGX_OK
        || p == last || *p++ != sep[1]
        || ngx_http_mcp_digits(&p, last, 2, &day) != NGX_OK
        || p == last || (*p != 'T' && *p != 't' && *p != ' ')
        || (p++, ngx_http_mcp_digits(&p, last, 2, &hour)) != NGX_OK
        || p == last || *p++ != sep[3]
        || ngx_http_mcp_digits(&p, last, 2, &min) != NGX_OK
        || p == last || *p++ != sep[4]
        || ngx_http_mcp_digits(&p, last, 2, &sec) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23
        || min > 59 || sec > 60 || year < 1970)
    {
        return NGX_ERROR;
    }

    if (p < last && *p == '.') {
        for (p++; p < last && *p >= '0' && *p <= '9'; p++) { /* void */ }
    }

    if (p == last) {
        return NGX_ERROR;
    }

    if (*p == 'Z' || *p == 'z') {
        oh = om = 0;
        sign = 1;
        p++;

    } else if (*p == '+' || *p == '-') {
        sign = (*p++ == '+') ? 1 : -1;

        if (ngx_http_mcp_digits(&p, last, 2, &oh) != NGX_OK
            || p == last || *p++ != ':'
            || ngx_http_mcp_digits(&p, last, 2, &om) != NGX_OK
            || oh > 23 || om > 59)
        {
            return NGX_ERROR;
        }

    } else {
        return NGX_ERROR;
    }

    if (p != last) {
        return NGX_ERROR;
    }

    /* days from civil (proleptic Gregorian), 1970-01-01 is day 0 */

    y = year - (month <= 2);
    days = (y / 400) * 146097
           + (y % 400) * 365 + (y % 400) / 4 - (y % 400) / 100
           + (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
           - 719468;

    *t = days * 86400 + hour * 3600 + min * 60 + sec
         - sign * (oh * 3600 + om * 60);

    return NGX_OK;
}


char *
ngx_http_mcp_regex_slot(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    u_char                errstr[NGX_MAX_CONF_ERRSTR];
    ngx_str_t            *value;
    ngx_array_t         **a;
    ngx_regex_elt_t      *re;
    ngx_regex_compile_t   rc;

    a = (ngx_array_t **) (p + cmd->offset);

    if (*a == NGX_CONF_UNSET_PTR) {
        *a = ngx_array_create(cf->pool, 4, sizeof(ngx_regex_elt_t));
        if (*a == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    value = cf->args->elts;

    ngx_memzero(&rc, sizeof(ngx_regex_compile_t));

    rc.pattern = value[1];
    rc.pool = cf->pool;
    rc.err.len = NGX_MAX_CONF_ERRSTR;
    rc.err.data = errstr;

    if (ngx_regex_compile(&rc) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%V", &rc.err);
        return NGX_CONF_ERROR;
    }

    re = ngx_array_push(*a);
    if (re == NULL) {
        return NGX_CONF_ERROR;
    }

    re->regex = rc.regex;
    re->name = value[1].data;

    return NGX_CONF_OK;
}


/*
 * Formats t as RFC 3339 UTC ("2030-01-02T03:04:05Z") into buf, which has
 * room for NGX_HTTP_MCP_TIME_LEN bytes; returns the end.
 */

u_char *
ngx_http_mcp_format_time(int64_t t, u_char *buf)
{
    ngx_tm_t  tm;

    ngx_gmtime((time_t) t, &tm);

    return ngx_sprintf(buf, "%4d-%02d-%02dT%02d:%02d:%02dZ",
                       tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                       tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec);
}
