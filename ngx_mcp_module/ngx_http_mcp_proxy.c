
/*
 * ngx_mcp: the scheme and host a client addressed, behind a proxy too.
 *
 * short_url and the check that a link does not lead back to the
 * shortener follow the request: its scheme and Host.  Behind a load
 * balancer that terminates TLS, nginx sees plain HTTP and, maybe, an
 * inner host name; the balancer says what the client used in
 * X-Forwarded-Proto and X-Forwarded-Host.  Anyone can send those
 * headers, so they are believed only from the addresses of
 * mcp_trusted_proxies: the TCP peer, before nginx's realip module (when
 * it is built in) replaces the address with the client's.
 */


#include "ngx_http_mcp_module.h"


static ngx_int_t ngx_http_mcp_proxy_trusted(ngx_http_request_t *r,
    ngx_http_mcp_loc_conf_t *mlcf);
static ngx_int_t ngx_http_mcp_proxy_header(ngx_http_request_t *r,
    const char *name, ngx_str_t *value);


/* mcp_trusted_proxies address | CIDR ...; */

char *
ngx_http_mcp_trusted_proxies(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_mcp_loc_conf_t *mlcf = conf;

    ngx_int_t                  rc;
    ngx_str_t                 *value;
    ngx_uint_t                 i;
    ngx_cidr_t                *cidr;
    ngx_http_mcp_main_conf_t  *mmcf;
#if (NGX_HTTP_REALIP)
    ngx_str_t                  name = ngx_string("realip_remote_addr");
#endif

    if (mlcf->trusted_proxies != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    mlcf->trusted_proxies = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                             sizeof(ngx_cidr_t));
    if (mlcf->trusted_proxies == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        cidr = ngx_array_push(mlcf->trusted_proxies);
        if (cidr == NULL) {
            return NGX_CONF_ERROR;
        }

        rc = ngx_ptocidr(&value[i], cidr);

        if (rc == NGX_ERROR) {
            return ngx_http_mcp_conf_invalid(cf, &value[i]);
        }

        if (rc == NGX_DONE) {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "low address bits of %V are meaningless",
                               &value[i]);
        }
    }

    mmcf = ngx_http_conf_get_module_main_conf(cf, ngx_mcp_module);

#if (NGX_HTTP_REALIP)
    mmcf->peer_index = ngx_http_get_variable_index(cf, &name);
    if (mmcf->peer_index == NGX_ERROR) {
        return NGX_CONF_ERROR;
    }
#else
    mmcf->peer_index = NGX_ERROR;
#endif

    return NGX_CONF_OK;
}


/*
 * Whether the client used https, and the host (with its port, as in
 * Host) it addressed: empty when it sent none.
 */

void
ngx_http_mcp_public_origin(ngx_http_request_t *r, ngx_uint_t *https,
    ngx_str_t *host)
{
    ngx_str_t                 proto;
    ngx_http_mcp_loc_conf_t  *mlcf;

#if (NGX_HTTP_SSL)
    *https = r->connection->ssl ? 1 : 0;
#else
    *https = 0;
#endif

    if (r->headers_in.host) {
        *host = r->headers_in.host->value;

    } else {
        ngx_str_null(host);
    }

    mlcf = ngx_http_get_module_loc_conf(r, ngx_mcp_module);

    if (mlcf->trusted_proxies == NULL
        || ngx_http_mcp_proxy_trusted(r, mlcf) != NGX_OK)
    {
        return;
    }

    if (ngx_http_mcp_proxy_header(r, "X-Forwarded-Proto", &proto) == NGX_OK) {
        if (proto.len == 5 && ngx_strncasecmp(proto.data, (u_char *) "https",
                                              5) == 0)
        {
            *https = 1;

        } else if (proto.len == 4
                   && ngx_strncasecmp(proto.data, (u_char *) "http", 4)
                      == 0)
        {
            *https = 0;
        }
    }

    (void) ngx_http_mcp_proxy_header(r, "X-Forwarded-Host", host);
}


/* is the TCP peer one of mcp_trusted_proxies? */

static ngx_int_t
ngx_http_mcp_proxy_trusted(ngx_http_request_t *r,
    ngx_http_mcp_loc_conf_t *mlcf)
{
    ngx_addr_t                  addr;
    ngx_http_variable_value_t  *vv;
    ngx_http_mcp_main_conf_t   *mmcf;

    mmcf = ngx_http_get_module_main_conf(r, ngx_mcp_module);

    if (mmcf->peer_index == NGX_ERROR) {
        return ngx_cidr_match(r->connection->sockaddr, mlcf->trusted_proxies);
    }

    /* the address realip replaced, or the connection's own */

    vv = ngx_http_get_indexed_variable(r, mmcf->peer_index);

    if (vv == NULL || vv->not_found
        || ngx_parse_addr(r->pool, &addr, vv->data, vv->len) != NGX_OK)
    {
        return NGX_DECLINED;
    }

    return ngx_cidr_match(addr.sockaddr, mlcf->trusted_proxies);
}


/*
 * The first value of a header a chain of proxies appends to ("a, b"),
 * when it is a plausible host[:port] or scheme: NGX_OK, or NGX_DECLINED.
 */

static ngx_int_t
ngx_http_mcp_proxy_header(ngx_http_request_t *r, const char *name,
    ngx_str_t *value)
{
    u_char     *p, *start, *last, c;
    ngx_str_t  *h;

    h = ngx_http_mcp_header(r, name);
    if (h == NULL) {
        return NGX_DECLINED;
    }

    p = h->data;
    last = h->data + h->len;

    while (p < last && (*p == ' ' || *p == '\t')) {
        p++;
    }

    start = p;

    for ( /* void */ ; p < last && *p != ',' && *p != ' '; p++) {
        c = ngx_tolower(*p);

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
              || c == '.' || c == '-' || c == ':' || c == '[' || c == ']'))
        {
            return NGX_DECLINED;
        }
    }

    if (p == start) {
        return NGX_DECLINED;
    }

    /* value is left as it was when the header is refused */

    value->data = start;
    value->len = p - start;

    return NGX_OK;
}
