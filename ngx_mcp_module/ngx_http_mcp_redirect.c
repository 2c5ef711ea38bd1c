
/*
 * ngx_mcp: GET|HEAD /{code}, the hot path.  One read in the worker's
 * reused read transaction, no JSON, visits counted in the worker's batch.
 * A HEAD is no visit: it neither counts nor uses up a max_visits link
 * (link checkers, previews); a bot's GET is counted apart and uses up
 * nothing either.
 */


#include "ngx_http_mcp_module.h"
#include "ngx_http_mcp_cluster.h"


static ngx_int_t ngx_http_mcp_code(ngx_http_request_t *r, ngx_str_t *code);
static ngx_int_t ngx_http_mcp_send_redirect(ngx_http_request_t *r,
    ngx_str_t *url, ngx_uint_t status, ngx_uint_t cacheable);
static ngx_int_t ngx_http_mcp_send_gone(ngx_http_request_t *r,
    const char *error, const char *message);
static ngx_int_t ngx_http_mcp_send_not_found(ngx_http_request_t *r);
static ngx_uint_t ngx_http_mcp_error_page(ngx_http_request_t *r,
    ngx_uint_t status);


static u_char  ngx_http_mcp_body_start[] =
    "<!DOCTYPE html><title>Redirecting</title><a href=\"";
static u_char  ngx_http_mcp_body_mid[] = "\">";
static u_char  ngx_http_mcp_body_end[] = "</a>\n";

/* what ngx_http_mcp_send_error() would encode, without encoding it */
static u_char  ngx_http_mcp_not_found[] =
    "{\"message\":\"Short URL not found\",\"error\":\"not_found\"}\n";


ngx_int_t
ngx_http_mcp_redirect_handler(ngx_http_request_t *r)
{
    int                        rc;
    int64_t                    now;
    ngx_int_t                  start;
    ngx_str_t                  code, url;
    ngx_uint_t                 visit;
    mcp_store_link_t           link;
    ngx_http_mcp_main_conf_t  *mmcf;

    if (ngx_http_mcp_get_or_head(r, &start) != NGX_OK) {
        return start;
    }

    mmcf = ngx_http_get_module_main_conf(r, ngx_mcp_module);

    if (ngx_http_mcp_code(r, &code) != NGX_OK) {
        goto not_found;
    }

    /* a redirect reads a link's visits only to check its max_visits */

    rc = mcp_store_link_resolve(mmcf->store, (char *) code.data, code.len,
                                &link, MCP_STORE_LINK_COUNTS_LIMITED);

    if (rc == MCP_STORE_NOTFOUND) {
        goto not_found;
    }

    if (rc != MCP_STORE_OK) {
        return ngx_http_mcp_redirect_answer(r, rc, NULL, 0, 0);
    }

    /* link.url points into the map: copy it before the next store call */

    url.len = link.url_len;
    url.data = ngx_pnalloc(r->pool, url.len);
    if (url.data == NULL) {
        mcp_store_release(mmcf->store);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(url.data, link.url, url.len);
    mcp_store_release(mmcf->store);

    now = ngx_time();
    visit = (r->method != NGX_HTTP_HEAD);

    if (link.expires_at && now >= link.expires_at) {
        rc = MCP_STORE_EXPIRED;

    } else if (link.max_visits && link.visits >= link.max_visits) {
        rc = MCP_STORE_SPENT;

    } else if (!visit) {
        /* a HEAD: the redirect, but no visit counted and no use taken */

    } else if (ngx_http_mcp_is_bot(r)) {
        /* counted apart, and takes none of a link's max_visits */
        ngx_http_mcp_count_visit(mmcf, &code, NULL, NGX_HTTP_MCP_VISIT_BOT,
                                 now);

    } else if (link.max_visits && ngx_http_mcp_cluster_enabled(r)) {
        /* "N uses only" must hold across nodes: through the log */
        return ngx_http_mcp_cluster_consume(r, &code, &url,
                                            link.redirect_status, now);

    } else if (link.max_visits) {
        /* "N uses only" must hold across workers: count it now */
        rc = mcp_store_link_consume(mmcf->store, (char *) code.data,
                                    code.len, now);

        if (rc == MCP_STORE_OK) {
            ngx_http_mcp_visit(r, &code, 1);
        }

    } else {
        ngx_http_mcp_visit(r, &code, 0);
    }

    return ngx_http_mcp_redirect_answer(r, rc, &url, link.redirect_status,
                                        !link.expires_at && !link.max_visits);

not_found:

    return ngx_http_mcp_send_not_found(r);
}


/*
 * The answer to a redirect once the visit is counted: rc is how the
 * count went (MCP_STORE_OK, EXPIRED, SPENT, NOTFOUND, a failure); status
 * the link's own redirect status, or 0 for the location's.
 */

ngx_int_t
ngx_http_mcp_redirect_answer(ngx_http_request_t *r, int rc, ngx_str_t *url,
    ngx_uint_t status, ngx_uint_t cacheable)
{
    ngx_http_mcp_error_t  err;

    switch (rc) {

    case MCP_STORE_OK:
        return ngx_http_mcp_send_redirect(r, url, status, cacheable);

    case MCP_STORE_EXPIRED:
        return ngx_http_mcp_send_gone(r, "expired", "Short URL has expired");

    case MCP_STORE_SPENT:
        return ngx_http_mcp_send_gone(r, "visits_exhausted",
                                      "Short URL has reached its visit "
                                      "limit");

    case MCP_STORE_NOTFOUND:
        return ngx_http_mcp_send_not_found(r);

    default:
        break;
    }

    (void) ngx_http_mcp_store_error(r, rc, &err);

    return ngx_http_mcp_send_failure(r, &err);
}


/*
 * The code is what follows the location's prefix ("location /s/" serves
 * "/s/{code}"); for a regex location, the last path segment.
 */

static ngx_int_t
ngx_http_mcp_code(ngx_http_request_t *r, ngx_str_t *code)
{
    ngx_http_mcp_uri_tail(r, code);

    return ngx_http_mcp_valid_code(code);
}


static ngx_int_t
ngx_http_mcp_send_redirect(ngx_http_request_t *r, ngx_str_t *url,
    ngx_uint_t status, ngx_uint_t cacheable)
{
    u_char                   *p;
    size_t                    len, escape;
    ngx_buf_t                *b;
    ngx_str_t                 type, *cache;
    ngx_http_mcp_loc_conf_t  *mlcf;

    static ngx_str_t  no_store = ngx_string("private, no-store");
    static ngx_str_t  one_day = ngx_string("public, max-age=86400");
    static ngx_str_t  briefly = ngx_string("private, max-age=90");

    mlcf = ngx_http_get_module_loc_conf(r, ngx_mcp_module);

    if (status == 0) {
        status = mlcf->redirect_status;
    }

    ngx_str_set(&type, "text/html");

    r->headers_out.location = ngx_http_mcp_add_header(r, "Location", url);
    if (r->headers_out.location == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /*
     * Links that expire or count down must reach us on every visit;
     * permanent redirects may be cached for a day, temporary ones briefly.
     */

    if (!cacheable) {
        cache = &no_store;

    } else if (status == NGX_HTTP_MOVED_PERMANENTLY
               || status == NGX_HTTP_PERMANENT_REDIRECT)
    {
        cache = &one_day;

    } else {
        cache = &briefly;
    }

    if (ngx_http_mcp_add_header(r, "Cache-Control", cache) == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    escape = ngx_escape_html(NULL, url->data, url->len);
    len = sizeof(ngx_http_mcp_body_start) - 1 + sizeof(ngx_http_mcp_body_mid)
          - 1 + sizeof(ngx_http_mcp_body_end) - 1 + 2 * (url->len + escape);

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(b->last, ngx_http_mcp_body_start,
                   sizeof(ngx_http_mcp_body_start) - 1);

    /* most URLs have nothing to escape: copy them (the hot path) */

    if (escape) {
        p = (u_char *) ngx_escape_html(p, url->data, url->len);
    } else {
        p = ngx_cpymem(p, url->data, url->len);
    }

    p = ngx_cpymem(p, ngx_http_mcp_body_mid,
                   sizeof(ngx_http_mcp_body_mid) - 1);

    if (escape) {
        p = (u_char *) ngx_escape_html(p, url->data, url->len);
    } else {
        p = ngx_cpymem(p, url->data, url->len);
    }

    b->last = ngx_cpymem(p, ngx_http_mcp_body_end,
                         sizeof(ngx_http_mcp_body_end) - 1);

    return ngx_http_mcp_send(r, status, &type, b);
}


static ngx_int_t
ngx_http_mcp_send_gone(ngx_http_request_t *r, const char *error,
    const char *message)
{
    if (ngx_http_mcp_error_page(r, NGX_HTTP_MCP_GONE)) {
        return NGX_HTTP_MCP_GONE;
    }

    return ngx_http_mcp_send_error(r, NGX_HTTP_MCP_GONE, error, "%s",
                                   message);
}


/*
 * 404 for an unknown code, the other hot answer (scanners, stale links):
 * a constant body, so no JSON encoder and no malloc() on this path.
 */

static ngx_int_t
ngx_http_mcp_send_not_found(ngx_http_request_t *r)
{
    ngx_buf_t  *b;
    ngx_str_t   type;

    if (ngx_http_mcp_error_page(r, NGX_HTTP_NOT_FOUND)) {
        return NGX_HTTP_NOT_FOUND;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = ngx_http_mcp_not_found;
    b->last = ngx_http_mcp_not_found + sizeof(ngx_http_mcp_not_found) - 1;
    b->memory = 1;

    ngx_str_set(&type, "application/json");

    return ngx_http_mcp_send(r, NGX_HTTP_NOT_FOUND, &type, b);
}


/*
 * An error_page for the status (a landing page for unknown codes) is the
 * site's answer: returned to nginx, which serves it instead of our JSON.
 */

static ngx_uint_t
ngx_http_mcp_error_page(ngx_http_request_t *r, ngx_uint_t status)
{
    ngx_uint_t                 i;
    ngx_http_err_page_t       *err_page;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (clcf->error_pages == NULL) {
        return 0;
    }

    err_page = clcf->error_pages->elts;

    for (i = 0; i < clcf->error_pages->nelts; i++) {
        if (err_page[i].status == (ngx_int_t) status) {
            return 1;
        }
    }

    return 0;
}
