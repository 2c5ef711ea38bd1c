
/*
 * ngx_mcp: mcp_dashboard, a single-page web UI over the mcp_admin API of
 * the same server.  Its files (ngx_mcp_module/dashboard/) are compiled
 * into the module by scripts/embed-assets.sh, so that it works with no
 * file on disk and no network: index.html at the location's prefix, the
 * others by name.  index.html names the API ("api=", default /api/) in
 * a <meta> tag, where the page reads it.
 */


#include "ngx_http_mcp_module.h"


#define NGX_HTTP_MCP_DASHBOARD_API     "{{api}}"

/*
 * The page talks to its own origin only: a link's target is shown as
 * text, never loaded, and nothing may frame it (clickjacking of the
 * delete buttons).  QR codes are fetched with the API key and shown from
 * blob: URLs.
 */
#define NGX_HTTP_MCP_DASHBOARD_CSP                                            \
    "default-src 'none'; script-src 'self'; style-src 'self'; "               \
    "img-src 'self' data: blob:; connect-src 'self'; base-uri 'none'; "     \
    "form-action 'none'; frame-ancestors 'none'"


static ngx_int_t ngx_http_mcp_dashboard_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_mcp_dashboard_headers(ngx_http_request_t *r,
    ngx_http_mcp_asset_t *asset);
static ngx_int_t ngx_http_mcp_dashboard_index(ngx_http_request_t *r,
    ngx_http_mcp_asset_t *asset, ngx_str_t *api);


/* mcp_dashboard [api=PATH]; */

char *
ngx_http_mcp_dashboard(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_mcp_loc_conf_t *mlcf = conf;

    u_char                    *p, *last, c;
    ngx_str_t                 *value, api;
    ngx_http_core_loc_conf_t  *clcf;

    if (mlcf->handler != NGX_HTTP_MCP_HANDLER_NONE) {
        return "is duplicate";
    }

    value = cf->args->elts;
    ngx_str_set(&api, "/api/");

    if (cf->args->nelts == 2) {
        if (value[1].len <= sizeof("api=") - 1
            || ngx_strncmp(value[1].data, "api=", sizeof("api=") - 1) != 0)
        {
            return ngx_http_mcp_conf_invalid(cf, &value[1]);
        }

        api.data = value[1].data + sizeof("api=") - 1;
        api.len = value[1].len - (sizeof("api=") - 1);
    }

    /*
     * The path goes into the page as it is: a path of this server, of
     * characters that need no escaping in HTML or in a URL.
     */

    last = api.data + api.len;

    for (p = api.data; p < last; p++) {
        c = ngx_tolower(*p);

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
              || ngx_strchr("/_.~-", c)))
        {
            break;
        }
    }

    if (p < last || api.data[0] != '/' || last[-1] != '/') {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "mcp_dashboard's api must be a path of this "
                           "server ending with \"/\", of letters, digits "
                           "and \"/_.~-\": \"%V\"", &api);
        return NGX_CONF_ERROR;
    }

    mlcf->handler = NGX_HTTP_MCP_HANDLER_DASHBOARD;
    mlcf->dashboard_api = api;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_mcp_dashboard_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_mcp_dashboard_handler(ngx_http_request_t *r)
{
    ngx_int_t                 rc;
    ngx_str_t                 tail;
    ngx_buf_t                *b;
    ngx_http_mcp_asset_t     *a;
    ngx_http_mcp_loc_conf_t  *mlcf;

    if (ngx_http_mcp_get_or_head(r, &rc) != NGX_OK) {
        return rc;
    }

    ngx_http_mcp_uri_tail(r, &tail);

    if (tail.len == 0) {
        ngx_str_set(&tail, "index.html");
    }

    for (a = ngx_http_mcp_dashboard_assets; a->name.len; a++) {
        if (a->name.len == tail.len
            && ngx_strncmp(a->name.data, tail.data, tail.len) == 0)
        {
            break;
        }
    }

    if (a->name.len == 0) {
        return ngx_http_mcp_send_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                       "no such file of the dashboard");
    }

    if (ngx_http_mcp_dashboard_headers(r, a) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    mlcf = ngx_http_get_module_loc_conf(r, ngx_mcp_module);

    if (ngx_strcmp(a->name.data, "index.html") == 0) {
        return ngx_http_mcp_dashboard_index(r, a, &mlcf->dashboard_api);
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = a->body.data;
    b->last = a->body.data + a->body.len;
    b->memory = 1;

    return ngx_http_mcp_send(r, NGX_HTTP_OK, &a->type, b);
}


/*
 * Revalidated at each load (nginx's not-modified filter answers 304 to a
 * matching If-None-Match): a new module brings new files at once.
 */

static ngx_int_t
ngx_http_mcp_dashboard_headers(ngx_http_request_t *r,
    ngx_http_mcp_asset_t *asset)
{
    ngx_str_t         v;
    ngx_table_elt_t  *etag;

    ngx_str_set(&v, "no-cache");

    if (ngx_http_mcp_add_header(r, "Cache-Control", &v) == NULL) {
        return NGX_ERROR;
    }

    ngx_str_set(&v, "nosniff");

    if (ngx_http_mcp_add_header(r, "X-Content-Type-Options", &v) == NULL) {
        return NGX_ERROR;
    }

    ngx_str_set(&v, NGX_HTTP_MCP_DASHBOARD_CSP);

    if (ngx_http_mcp_add_header(r, "Content-Security-Policy", &v) == NULL) {
        return NGX_ERROR;
    }

    etag = ngx_http_mcp_add_header(r, "ETag", &asset->etag);
    if (etag == NULL) {
        return NGX_ERROR;
    }

    r->headers_out.etag = etag;

    return NGX_OK;
}


/* index.html with the API's path where it says {{api}} */

static ngx_int_t
ngx_http_mcp_dashboard_index(ngx_http_request_t *r,
    ngx_http_mcp_asset_t *asset, ngx_str_t *api)
{
    u_char     *p, *mark;
    size_t      len;
    ngx_buf_t  *b;

    mark = ngx_strlcasestrn(asset->body.data,
                            asset->body.data + asset->body.len,
                            (u_char *) NGX_HTTP_MCP_DASHBOARD_API,
                            sizeof(NGX_HTTP_MCP_DASHBOARD_API) - 2);
    if (mark == NULL) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "the dashboard's index.html has no "
                      NGX_HTTP_MCP_DASHBOARD_API);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = asset->body.len - (sizeof(NGX_HTTP_MCP_DASHBOARD_API) - 1)
          + api->len;

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(b->last, asset->body.data, mark - asset->body.data);
    p = ngx_cpymem(p, api->data, api->len);
    mark += sizeof(NGX_HTTP_MCP_DASHBOARD_API) - 1;
    b->last = ngx_cpymem(p, mark,
                         asset->body.data + asset->body.len - mark);

    return ngx_http_mcp_send(r, NGX_HTTP_OK, &asset->type, b);
}
