
/*
 * ngx_mcp: mcp_admin, a JSON REST API for links, for dashboards and
 * scripts.  Paths are relative to the location's prefix:
 *
 *     GET    links?limit=&cursor=&q=&tag=
 *                                      {"links": [...], "nextCursor": ...}
 *     POST   links                     as POST /shorten
 *     GET    links/{code}              the link, with updated_at
 *     PATCH  links/{code}              url, expires_at, max_visits, tags,
 *                                      redirect_status
 *     DELETE links/{code}              204
 *     GET    links/{code}/qr?format=   a QR code of its short URL
 *     GET    links/{code}/visits       its visit statistics
 *     GET    graph?namespace=&q=&limit=&cursor=
 *                                      entities and relations, as the
 *                                      read_graph and search_nodes tools
 *     GET    contexts?namespace=&cursor=
 *                                      contexts, as the context_list tool
 *
 * With API keys it needs the scope "admin", and a key sees and changes
 * the links of its own tenant only.  POST goes where POST /shorten goes;
 * PATCH and DELETE write to the store in ngx_http_mcp_admin_write().  In
 * a cluster all three are operations of its log, answered once this node
 * has applied them.
 */


#include "ngx_http_mcp_rpc.h"
#include "ngx_http_mcp_cluster.h"


#define NGX_HTTP_MCP_ADMIN_LIMIT      100
#define NGX_HTTP_MCP_ADMIN_LIMIT_MAX  1000
#define NGX_HTTP_MCP_ADMIN_Q_MAX      256


#define NGX_HTTP_MCP_ADMIN_LINK       0       /* links or links/{code} */
#define NGX_HTTP_MCP_ADMIN_QR         1       /* links/{code}/qr */
#define NGX_HTTP_MCP_ADMIN_VISITS     2       /* links/{code}/visits */
#define NGX_HTTP_MCP_ADMIN_GRAPH      3       /* graph */
#define NGX_HTTP_MCP_ADMIN_CONTEXTS   4       /* contexts */

/* entities a page of GET graph by default (read_graph: all of them) */
#define NGX_HTTP_MCP_ADMIN_GRAPH_PAGE 100


typedef struct {
    ngx_str_t                  code;          /* empty: the collection */
    ngx_uint_t                 view;          /* NGX_HTTP_MCP_ADMIN_* */
} ngx_http_mcp_admin_route_t;


/* the views of a link, after "links/{code}" */
static struct {
    ngx_str_t                  suffix;
    ngx_uint_t                 view;
} ngx_http_mcp_admin_views[] = {
    { ngx_string("/qr"), NGX_HTTP_MCP_ADMIN_QR },
    { ngx_string("/visits"), NGX_HTTP_MCP_ADMIN_VISITS },
    { ngx_null_string, 0 }
};


/* a page of GET links being written */
typedef struct {
    ngx_http_request_t        *r;
    ngx_http_mcp_jw_t          out;
    ngx_uint_t                 n;             /* links written */
    ngx_str_t                  q;
    ngx_str_t                  tag;
    ngx_uint_t                 limit;
    ngx_str_t                  last;          /* code of the last one */
    ngx_uint_t                 more;
    ngx_uint_t                 failed;
} ngx_http_mcp_admin_page_t;


/* a PATCH or DELETE waiting for its operation (in a cluster) */
typedef struct {
    ngx_str_t                  code;
    ngx_uint_t                 patch;
} ngx_http_mcp_admin_op_t;


static ngx_int_t ngx_http_mcp_admin_route(ngx_http_request_t *r,
    ngx_http_mcp_admin_route_t *route);
static ngx_int_t ngx_http_mcp_admin_list(ngx_http_request_t *r);
static int ngx_http_mcp_admin_list_one(void *data, const char *code,
    size_t code_len, const mcp_store_link_t *link);
static ngx_int_t ngx_http_mcp_admin_arg(ngx_http_request_t *r, char *name,
    size_t max, ngx_str_t *value);
static int ngx_http_mcp_admin_find(ngx_http_request_t *r, ngx_str_t *code,
    mcp_store_link_t *link);
static ngx_int_t ngx_http_mcp_admin_get(ngx_http_request_t *r,
    ngx_str_t *code, ngx_uint_t status);
static ngx_int_t ngx_http_mcp_admin_view(ngx_http_request_t *r,
    ngx_http_mcp_admin_route_t *route);
static ngx_int_t ngx_http_mcp_admin_store_view(ngx_http_request_t *r,
    ngx_uint_t view);
static ngx_int_t ngx_http_mcp_admin_view_arg(ngx_http_request_t *r,
    json_t *args, char *name, const char *key, ngx_uint_t number,
    ngx_http_mcp_error_t *err);
static ngx_int_t ngx_http_mcp_admin_patch(ngx_http_request_t *r,
    ngx_str_t *code);
static ngx_int_t ngx_http_mcp_admin_patch_args(ngx_http_request_t *r,
    json_t *body, mcp_store_link_t *link, unsigned *set,
    ngx_http_mcp_error_t *err);
static ngx_int_t ngx_http_mcp_admin_written(ngx_http_request_t *r,
    ngx_str_t *code, ngx_uint_t patch, ngx_int_t rc);
static ngx_int_t ngx_http_mcp_admin_publish(ngx_http_request_t *r,
    ngx_str_t *code, mcp_store_link_t *link, unsigned set);
static ngx_int_t ngx_http_mcp_admin_applied(ngx_http_request_t *r,
    void *data, ngx_int_t outcome);
static ngx_int_t ngx_http_mcp_admin_write(ngx_http_request_t *r,
    ngx_str_t *code, mcp_store_link_t *link, unsigned set);
static ngx_int_t ngx_http_mcp_admin_store_failed(ngx_http_request_t *r,
    int rc, ngx_str_t *code);


/*
 * "links", "links/{code}", "links/{code}/qr", "links/{code}/visits",
 * "graph" or "contexts" after the location's prefix: NGX_OK, or
 * NGX_DECLINED for anything else (404).
 */

static ngx_int_t
ngx_http_mcp_admin_route(ngx_http_request_t *r,
    ngx_http_mcp_admin_route_t *route)
{
    ngx_str_t   tail, *suffix;
    ngx_uint_t  i;

    ngx_http_mcp_uri_tail(r, &tail);
    ngx_str_null(&route->code);
    route->view = NGX_HTTP_MCP_ADMIN_LINK;

    if (tail.len == sizeof("graph") - 1
        && ngx_strncmp(tail.data, "graph", tail.len) == 0)
    {
        route->view = NGX_HTTP_MCP_ADMIN_GRAPH;
        return NGX_OK;
    }

    if (tail.len == sizeof("contexts") - 1
        && ngx_strncmp(tail.data, "contexts", tail.len) == 0)
    {
        route->view = NGX_HTTP_MCP_ADMIN_CONTEXTS;
        return NGX_OK;
    }

    if (tail.len < sizeof("links") - 1
        || ngx_strncmp(tail.data, "links", sizeof("links") - 1) != 0)
    {
        return NGX_DECLINED;
    }

    if (tail.len == sizeof("links") - 1) {
        return NGX_OK;
    }

    if (tail.data[sizeof("links") - 1] != '/') {
        return NGX_DECLINED;
    }

    route->code.data = tail.data + sizeof("links/") - 1;
    route->code.len = tail.len - (sizeof("links/") - 1);

    for (i = 0; ngx_http_mcp_admin_views[i].suffix.len; i++) {
        suffix = &ngx_http_mcp_admin_views[i].suffix;

        if (route->code.len > suffix->len
            && ngx_strncmp(route->code.data + route->code.len - suffix->len,
                           suffix->data, suffix->len)
               == 0)
        {
            route->code.len -= suffix->len;
            route->view = ngx_http_mcp_admin_views[i].view;
            break;
        }
    }

    return ngx_http_mcp_valid_code(&route->code) == NGX_OK ? NGX_OK
                                                           : NGX_DECLINED;
}


ngx_int_t
ngx_http_mcp_admin_handler(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    ngx_http_mcp_error_t        err;
    ngx_http_mcp_admin_route_t  route;

    /* who asks comes first: 401/403 before anything about the request */

    if (ngx_http_mcp_auth(r, NGX_HTTP_MCP_PERM_ADMIN, &err) != NGX_OK) {
        return ngx_http_mcp_send_failure(r, &err);
    }

    if (ngx_http_mcp_admin_route(r, &route) != NGX_OK) {
        return ngx_http_mcp_send_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                       "no such route: use links, "
                                       "links/{code}, graph or contexts");
    }

    if (route.view != NGX_HTTP_MCP_ADMIN_LINK) {
        if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
            return ngx_http_mcp_send_not_allowed(r, "GET, HEAD");
        }

    } else if (route.code.len == 0) {
        if (r->method == NGX_HTTP_POST) {
            return ngx_http_mcp_shorten_read(r);
        }

        if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
            return ngx_http_mcp_send_not_allowed(r, "GET, HEAD, POST");
        }

    } else {
        if (r->method == NGX_HTTP_PATCH) {
            return ngx_http_mcp_shorten_read(r);
        }

        if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_DELETE))) {
            return ngx_http_mcp_send_not_allowed(r,
                                                 "GET, HEAD, PATCH, DELETE");
        }
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (route.view == NGX_HTTP_MCP_ADMIN_GRAPH
        || route.view == NGX_HTTP_MCP_ADMIN_CONTEXTS)
    {
        return ngx_http_mcp_admin_store_view(r, route.view);
    }

    if (route.code.len == 0) {
        return ngx_http_mcp_admin_list(r);
    }

    if (r->method == NGX_HTTP_DELETE) {
        return ngx_http_mcp_admin_write(r, &route.code, NULL, 0);
    }

    if (route.view != NGX_HTTP_MCP_ADMIN_LINK) {
        return ngx_http_mcp_admin_view(r, &route);
    }

    return ngx_http_mcp_admin_get(r, &route.code, NGX_HTTP_OK);
}


/* the body of a POST or PATCH, read (see ngx_http_mcp_shorten_read()) */

ngx_int_t
ngx_http_mcp_admin_body(ngx_http_request_t *r)
{
    ngx_http_mcp_admin_route_t  route;

    (void) ngx_http_mcp_admin_route(r, &route);

    if (r->method == NGX_HTTP_POST) {
        return ngx_http_mcp_shorten_body(r);
    }

    return ngx_http_mcp_admin_patch(r, &route.code);
}


/*
 * A query argument, unescaped, of at most max bytes: NGX_OK, NGX_DECLINED
 * when absent or empty, NGX_ABORT when too long, NGX_ERROR.
 */

static ngx_int_t
ngx_http_mcp_admin_arg(ngx_http_request_t *r, char *name, size_t max,
    ngx_str_t *value)
{
    u_char     *dst, *src;
    ngx_str_t   raw;

    if (ngx_http_arg(r, (u_char *) name, ngx_strlen(name), &raw) != NGX_OK
        || raw.len == 0)
    {
        return NGX_DECLINED;
    }

    if (raw.len > 3 * max) {
        return NGX_ABORT;
    }

    dst = ngx_pnalloc(r->pool, raw.len);
    if (dst == NULL) {
        return NGX_ERROR;
    }

    value->data = dst;
    src = raw.data;

    ngx_unescape_uri(&dst, &src, raw.len, NGX_UNESCAPE_URI);

    value->len = dst - value->data;

    return value->len > max ? NGX_ABORT : NGX_OK;
}


static ngx_int_t
ngx_http_mcp_admin_list(ngx_http_request_t *r)
{
    int                         rc, more;
    ngx_int_t                   n, sent;
    ngx_str_t                   cursor;
    ngx_http_mcp_key_t         *caller;
    ngx_http_mcp_main_conf_t   *mmcf;
    ngx_http_mcp_admin_page_t   page;

    ngx_memzero(&page, sizeof(ngx_http_mcp_admin_page_t));
    page.r = r;

    n = 0;

    if (ngx_http_mcp_arg_number(r, "limit", NGX_HTTP_MCP_ADMIN_LIMIT_MAX, &n,
                                &sent)
        != NGX_OK)
    {
        return sent;
    }

    page.limit = (n != 0) ? (ngx_uint_t) n : NGX_HTTP_MCP_ADMIN_LIMIT;

    ngx_str_null(&cursor);

    switch (ngx_http_mcp_admin_arg(r, "cursor", MCP_STORE_CODE_MAX,
                                   &cursor))
    {
    case NGX_OK:
        if (ngx_http_mcp_valid_code(&cursor) == NGX_OK) {
            break;
        }

        /* fall through */

    case NGX_ABORT:
        return ngx_http_mcp_send_error(r, NGX_HTTP_BAD_REQUEST,
                                       "invalid_cursor",
                                       "cursor must be a nextCursor this "
                                       "API answered");

    case NGX_DECLINED:
        break;

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    switch (ngx_http_mcp_admin_arg(r, "q", NGX_HTTP_MCP_ADMIN_Q_MAX,
                                   &page.q))
    {
    case NGX_OK:
    case NGX_DECLINED:
        break;

    case NGX_ABORT:
        return ngx_http_mcp_send_error(r, NGX_HTTP_BAD_REQUEST,
                                       "invalid_q", "q is longer than %d "
                                       "bytes", NGX_HTTP_MCP_ADMIN_Q_MAX);

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    switch (ngx_http_mcp_admin_arg(r, "tag", MCP_STORE_TAG_MAX, &page.tag)) {

    case NGX_OK:
        if (mcp_store_tag_valid((char *) page.tag.data, page.tag.len)) {
            break;
        }

        /* fall through */

    case NGX_ABORT:
        return ngx_http_mcp_send_error(r, NGX_HTTP_BAD_REQUEST,
                                       "invalid_tag",
                                       "tag must be 1 to %d characters of "
                                       "A-Z, a-z, 0-9, \"_\", \".\", \":\" "
                                       "and \"-\"", MCP_STORE_TAG_MAX);

    case NGX_DECLINED:
        break;

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* {"links":[...],"nextCursor":...}, the records written as they are
     * found */

    if (ngx_http_mcp_jw_init(&page.out, r->pool, NGX_HTTP_MCP_JW_SIZE)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_mcp_jw_lit(&page.out, "{\"links\":[");

    mmcf = ngx_http_get_module_main_conf(r, ngx_mcp_module);
    caller = ngx_http_mcp_caller(r);

    /* no limit for the store: q filters, the callback counts */
    rc = mcp_store_link_list_tenant(mmcf->store, (char *) caller->tenant.data,
                                    caller->tenant.len,
                                    (char *) cursor.data, cursor.len, 0,
                                    ngx_http_mcp_admin_list_one, &page,
                                    &more);

    mcp_store_release(mmcf->store);

    if (rc != MCP_STORE_OK) {
        return ngx_http_mcp_admin_store_failed(r, rc, NULL);
    }

    if (page.failed) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_mcp_jw_lit(&page.out, "],\"nextCursor\":");

    if (page.more) {
        ngx_http_mcp_jw_str(&page.out, page.last.data, page.last.len);

    } else {
        ngx_http_mcp_jw_lit(&page.out, "null");
    }

    ngx_http_mcp_jw_lit(&page.out, "}");

    return ngx_http_mcp_send_jw(r, NGX_HTTP_OK, &page.out);
}


/* does s hold q? */

static ngx_uint_t
ngx_http_mcp_admin_match(const char *s, size_t len, ngx_str_t *q)
{
    return ngx_strlcasestrn((u_char *) s, (u_char *) s + len, q->data,
                            q->len - 1)
           != NULL;
}


static int
ngx_http_mcp_admin_list_one(void *data, const char *code, size_t code_len,
    const mcp_store_link_t *link)
{
    ngx_http_mcp_admin_page_t *page = data;

    if (link == NULL) {
        /* the store stopped past others' links: the next page goes on */
        page->more = 1;
        goto last;
    }

    if (page->q.len
        && !ngx_http_mcp_admin_match(code, code_len, &page->q)
        && !ngx_http_mcp_admin_match(link->url, link->url_len, &page->q))
    {
        return 0;
    }

    if (page->tag.len
        && !mcp_store_link_tagged(link, (char *) page->tag.data,
                                  page->tag.len))
    {
        return 0;
    }

    if (page->n == page->limit) {
        page->more = 1;
        return 1;
    }

    ngx_http_mcp_links_item(&page->out, &page->n, page->r, code, code_len,
                            link);

    if (page->out.failed) {
        page->failed = 1;
        return 1;
    }

last:

    page->last.data = ngx_pnalloc(page->r->pool, code_len);
    if (page->last.data == NULL) {
        page->failed = 1;
        return 1;
    }

    ngx_memcpy(page->last.data, code, code_len);
    page->last.len = code_len;

    return 0;
}


/*
 * The caller's link under code (another tenant's is MCP_STORE_NOTFOUND);
 * it points into the map until mcp_store_release().
 */

static int
ngx_http_mcp_admin_find(ngx_http_request_t *r, ngx_str_t *code,
    mcp_store_link_t *link)
{
    int                        rc;
    ngx_http_mcp_main_conf_t  *mmcf;

    mmcf = ngx_http_get_module_main_conf(r, ngx_mcp_module);

    rc = mcp_store_link_get(mmcf->store, (char *) code->data, code->len,
                            link);

    if (rc == MCP_STORE_OK
        && ngx_http_mcp_owns(r, link->tenant, link->tenant_len) != NGX_OK)
    {
        rc = MCP_STORE_NOTFOUND;
    }

    return rc;
}


/* GET links/{code}, and the answer to a PATCH */

static ngx_int_t
ngx_http_mcp_admin_get(ngx_http_request_t *r, ngx_str_t *code,
    ngx_uint_t status)
{
    int                        rc;
    mcp_store_link_t           link;
    ngx_http_mcp_jw_t          w;
    ngx_http_mcp_main_conf_t  *mmcf;

    if (ngx_http_mcp_jw_init(&w, r->pool, NGX_HTTP_MCP_JW_SIZE / 4)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    mmcf = ngx_http_get_module_main_conf(r, ngx_mcp_module);

    rc = ngx_http_mcp_admin_find(r, code, &link);

    if (rc == MCP_STORE_OK) {
        ngx_http_mcp_links_write(&w, r, code, &link,
                                 NGX_HTTP_MCP_LINK_COUNTS
                                 |NGX_HTTP_MCP_LINK_UPDATED);
    }

    mcp_store_release(mmcf->store);

    if (rc != MCP_STORE_OK) {
        return ngx_http_mcp_admin_store_failed(r, rc, code);
    }

    if (w.failed) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_mcp_note(r, NGX_HTTP_MCP_NOTE_CODE, code->data, code->len);

    return ngx_http_mcp_send_jw(r, status, &w);
}


/*
 * GET links/{code}/qr (of the short URL) and GET links/{code}/visits, for
 * the caller's links only.
 */

static ngx_int_t
ngx_http_mcp_admin_view(ngx_http_request_t *r,
    ngx_http_mcp_admin_route_t *route)
{
    int                        rc;
    uint64_t                   visits;
    ngx_str_t                  short_url;
    mcp_store_link_t           link;
    ngx_http_mcp_main_conf_t  *mmcf;

    mmcf = ngx_http_get_module_main_conf(r, ngx_mcp_module);

    rc = ngx_http_mcp_admin_find(r, &route->code, &link);

    mcp_store_release(mmcf->store);

    if (rc != MCP_STORE_OK) {
        return ngx_http_mcp_admin_store_failed(r, rc, &route->code);
    }

    visits = link.visits;

    ngx_http_mcp_note(r, NGX_HTTP_MCP_NOTE_CODE, route->code.data,
                      route->code.len);

    if (route->view == NGX_HTTP_MCP_ADMIN_VISITS) {
        return ngx_http_mcp_visits_send(r, &route->code, visits);
    }

    if (ngx_http_mcp_short_url(r, &route->code, &short_url) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_mcp_qr_send(r, &short_url);
}


/*
 * GET graph and GET contexts: what the read_graph (search_nodes with q)
 * and context_list tools answer a call with the query's arguments, under
 * the same tenant rules (the caller's key): their structuredContent, or
 * 400 with a tool error's text.
 */

static ngx_int_t
ngx_http_mcp_admin_store_view(ngx_http_request_t *r, ngx_uint_t view)
{
    json_t                *args, *result, *text;
    ngx_int_t              rc;
    ngx_str_t              name;
    ngx_http_mcp_call_t    call;
    ngx_http_mcp_tool_t   *tool;
    ngx_http_mcp_error_t   err;

    args = json_object();
    if (args == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_mcp_json_cleanup(r->pool, args);

    rc = ngx_http_mcp_admin_view_arg(r, args, "namespace", "namespace", 0,
                                     &err);

    if (rc == NGX_OK) {
        rc = ngx_http_mcp_admin_view_arg(r, args, "cursor", "cursor", 0,
                                         &err);
    }

    if (rc == NGX_OK && view == NGX_HTTP_MCP_ADMIN_GRAPH) {
        rc = ngx_http_mcp_admin_view_arg(r, args, "q", "query", 0, &err);

        if (rc == NGX_OK) {
            rc = ngx_http_mcp_admin_view_arg(r, args, "limit", "limit", 1,
                                             &err);
        }
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_mcp_send_failure(r, &err);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (view == NGX_HTTP_MCP_ADMIN_CONTEXTS) {
        ngx_str_set(&name, "context_list");

    } else if (json_object_get(args, "query")) {
        ngx_str_set(&name, "search_nodes");

    } else {
        ngx_str_set(&name, "read_graph");
    }

    if (view == NGX_HTTP_MCP_ADMIN_GRAPH
        && json_object_get(args, "limit") == NULL
        && json_object_set_new(args, "limit",
                               json_integer(NGX_HTTP_MCP_ADMIN_GRAPH_PAGE))
           != 0)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(&call, sizeof(ngx_http_mcp_call_t));
    call.r = r;
    call.mmcf = ngx_http_get_module_main_conf(r, ngx_mcp_module);
    call.mlcf = ngx_http_get_module_loc_conf(r, ngx_mcp_module);
    call.log_level = NGX_HTTP_MCP_LOG_EMERGENCY;

    tool = ngx_http_mcp_catalog_find(&call, NGX_HTTP_MCP_TOOL, &name, NULL);
    if (tool == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(&err, sizeof(ngx_http_mcp_error_t));

    result = tool->call(&call, args, &err);

    if (result == NULL) {
        return ngx_http_mcp_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                       "internal", "%s", err.message);
    }

    ngx_http_mcp_json_cleanup(r->pool, result);

    if (json_is_true(json_object_get(result, "isError"))) {
        text = json_object_get(json_array_get(json_object_get(result,
                                                              "content"),
                                              0),
                               "text");

        return ngx_http_mcp_send_error(r, NGX_HTTP_BAD_REQUEST,
                                       "invalid_request", "%s",
                                       json_is_string(text)
                                       ? json_string_value(text)
                                       : "refused");
    }

    return ngx_http_mcp_send_json(r, NGX_HTTP_OK,
                                  json_object_get(result,
                                                  "structuredContent"));
}


/*
 * The query argument name as the tool's argument key of args: a string,
 * or a whole number (number 1).  NGX_OK (also when absent), NGX_DECLINED
 * with err for a bad one, NGX_ERROR.
 */

static ngx_int_t
ngx_http_mcp_admin_view_arg(ngx_http_request_t *r, json_t *args,
    char *name, const char *key, ngx_uint_t number, ngx_http_mcp_error_t *err)
{
    json_t     *v;
    ngx_int_t   n;
    ngx_str_t   value;

    switch (ngx_http_mcp_admin_arg(r, name, NGX_HTTP_MCP_ADMIN_Q_MAX,
                                   &value))
    {
    case NGX_DECLINED:
        return NGX_OK;

    case NGX_OK:
        if (number) {
            n = ngx_atoi(value.data, value.len);
            v = (n > 0) ? json_integer(n) : NULL;

        } else {
            v = json_stringn((char *) value.data, value.len);
        }

        if (v != NULL) {
            return json_object_set_new(args, key, v) == 0 ? NGX_OK
                                                          : NGX_ERROR;
        }

        /* fall through */

    case NGX_ABORT:
        return ngx_http_mcp_fail(err, NGX_HTTP_BAD_REQUEST,
                                 "invalid_request",
                                 "%s must be %s of at most %d bytes", name,
                                 number ? "a positive whole number"
                                        : "a string",
                                 NGX_HTTP_MCP_ADMIN_Q_MAX);

    default:
        return NGX_ERROR;
    }
}


static ngx_int_t
ngx_http_mcp_admin_patch(ngx_http_request_t *r, ngx_str_t *code)
{
    json_t                   *body;
    unsigned                  set;
    ngx_str_t                 raw;
    mcp_store_link_t          link;
    ngx_http_mcp_error_t      err;
    ngx_http_mcp_loc_conf_t  *mlcf;

    mlcf = ngx_http_get_module_loc_conf(r, ngx_mcp_module);

    if (ngx_http_mcp_body(r, &raw) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (raw.len > mlcf->max_body_size) {
        return ngx_http_mcp_send_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                       "too_large", "the body is larger "
                                       "than %zu bytes",
                                       mlcf->max_body_size);
    }

    body = ngx_http_mcp_json_object(r, &raw, &err);
    if (body == NULL) {
        return ngx_http_mcp_send_failure(r, &err);
    }

    switch (ngx_http_mcp_admin_patch_args(r, body, &link, &set, &err)) {

    case NGX_OK:
        break;

    case NGX_DECLINED:
        return ngx_http_mcp_send_failure(r, &err);

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the time of the change, the same on every node of a cluster */

    link.updated_at = (int64_t) ngx_time();

    return ngx_http_mcp_admin_write(r, code, &link, set);
}


/*
 * What a PATCH changes: url (through the URL policy, as on creation),
 * expires_at (an RFC 3339 time in the future, or null: never),
 * max_visits (a positive whole number, or null: no limit), tags (all of
 * them: [] or null for none) and redirect_status (or null: the
 * location's).  NGX_OK, NGX_DECLINED with err filled, NGX_ERROR.
 */

static ngx_int_t
ngx_http_mcp_admin_patch_args(ngx_http_request_t *r, json_t *body,
    mcp_store_link_t *link, unsigned *set, ngx_http_mcp_error_t *err)
{
    json_t                   *v;
    ngx_int_t                 rc;
    ngx_str_t                 s, url;
    ngx_uint_t                status;
    const char               *name;
    ngx_http_mcp_loc_conf_t  *mlcf;

    mlcf = ngx_http_get_module_loc_conf(r, ngx_mcp_module);

    ngx_memzero(link, sizeof(mcp_store_link_t));
    *set = 0;

    json_object_foreach(body, name, v) {

        if (ngx_strcmp(name, "url") == 0) {
            if (!json_is_string(v)) {
                return ngx_http_mcp_fail(err, NGX_HTTP_BAD_REQUEST,
                                         "invalid_url",
                                         "url must be a string");
            }

            s.data = (u_char *) json_string_value(v);
            s.len = json_string_length(v);

            rc = ngx_http_mcp_check_url(r, mlcf, &s, &url, err);
            if (rc != NGX_OK) {
                return rc;
            }

            link->url = (char *) url.data;
            link->url_len = url.len;
            *set |= MCP_STORE_LINK_SET_URL;

        } else if (ngx_strcmp(name, "expires_at") == 0) {
            s.data = (u_char *) json_string_value(v);
            s.len = json_string_length(v);

            if (!json_is_null(v)
                && (!json_is_string(v)
                    || ngx_http_mcp_parse_time(&s, &link->expires_at)
                       != NGX_OK))
            {
                return ngx_http_mcp_fail(err, NGX_HTTP_BAD_REQUEST,
                                         "invalid_expires_at",
                                         "expires_at must be an RFC 3339 "
                                         "time such as "
                                         "\"2030-01-01T00:00:00Z\", or "
                                         "null");
            }

            if (link->expires_at && link->expires_at <= ngx_time()) {
                return ngx_http_mcp_fail(err, NGX_HTTP_MCP_UNPROCESSABLE,
                                         "invalid_expires_at",
                                         "expires_at is in the past");
            }

            *set |= MCP_STORE_LINK_SET_EXPIRES;

        } else if (ngx_strcmp(name, "max_visits") == 0) {
            if (!json_is_null(v)
                && (!json_is_integer(v) || json_integer_value(v) < 1))
            {
                return ngx_http_mcp_fail(err, NGX_HTTP_BAD_REQUEST,
                                         "invalid_max_visits",
                                         "max_visits must be a whole "
                                         "number from 1, or null");
            }

            link->max_visits = json_is_null(v) ? 0
                               : (uint64_t) json_integer_value(v);
            *set |= MCP_STORE_LINK_SET_MAX_VISITS;

        } else if (ngx_strcmp(name, "tags") == 0) {
            rc = ngx_http_mcp_json_tags(r, v, &s, err);
            if (rc != NGX_OK) {
                return rc;
            }

            link->tags = (char *) s.data;
            link->tags_len = s.len;
            *set |= MCP_STORE_LINK_SET_TAGS;

        } else if (ngx_strcmp(name, "redirect_status") == 0) {
            if (ngx_http_mcp_json_redirect_status(v, &status, err)
                != NGX_OK)
            {
                return NGX_DECLINED;
            }

            link->redirect_status = (unsigned) status;
            *set |= MCP_STORE_LINK_SET_STATUS;

        } else {
            return ngx_http_mcp_fail(err, NGX_HTTP_MCP_UNPROCESSABLE,
                                     "unknown_field",
                                     "\"%.64s\" cannot be changed: url, "
                                     "expires_at, max_visits, tags and "
                                     "redirect_status can", name);
        }
    }

    if (*set == 0) {
        return ngx_http_mcp_fail(err, NGX_HTTP_BAD_REQUEST, "nothing_to_do",
                                 "give url, expires_at, max_visits, tags "
                                 "or redirect_status");
    }

    return NGX_OK;
}


/*
 * PATCH (link: the fields in set) or DELETE (link NULL) of the caller's
 * link: the link as it now is (200), or 204.  Each is one store call,
 * the same the link tools make, on the caller's tenant; in a cluster one
 * operation (ngx_http_mcp_admin_publish()).
 */

static ngx_int_t
ngx_http_mcp_admin_write(ngx_http_request_t *r, ngx_str_t *code,
    mcp_store_link_t *link, unsigned set)
{
    int                        rc;
    char                      *tenant;
    ngx_http_mcp_key_t        *caller;
    ngx_http_mcp_main_conf_t  *mmcf;

    if (ngx_http_mcp_cluster_enabled(r)) {
        return ngx_http_mcp_admin_publish(r, code, link, set);
    }

    mmcf = ngx_http_get_module_main_conf(r, ngx_mcp_module);
    caller = ngx_http_mcp_caller(r);
    tenant = (char *) caller->tenant.data;

    if (link != NULL) {
        rc = mcp_store_link_update(mmcf->store, (char *) code->data,
                                   code->len, tenant, caller->tenant.len,
                                   link, set);
    } else {
        rc = mcp_store_link_delete_tenant(mmcf->store, (char *) code->data,
                                          code->len, tenant,
                                          caller->tenant.len);
    }

    return ngx_http_mcp_admin_written(r, code, link != NULL, rc);
}


/* the answer to a PATCH or DELETE from how it went */

static ngx_int_t
ngx_http_mcp_admin_written(ngx_http_request_t *r, ngx_str_t *code,
    ngx_uint_t patch, ngx_int_t rc)
{
    if (rc == NGX_HTTP_MCP_CLUSTER_UNAVAILABLE) {
        return ngx_http_mcp_cluster_unavailable(r);
    }

    if (rc != MCP_STORE_OK) {
        return ngx_http_mcp_admin_store_failed(r, (int) rc, code);
    }

    ngx_http_mcp_links_changed(r, code, !patch);

    if (patch) {
        return ngx_http_mcp_admin_get(r, code, NGX_HTTP_OK);
    }

    ngx_http_mcp_note(r, NGX_HTTP_MCP_NOTE_CODE, code->data, code->len);

    r->headers_out.status = NGX_HTTP_NO_CONTENT;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    return ngx_http_send_header(r);
}


/*
 * A PATCH or DELETE in a cluster: the caller's tenant travels in the
 * operation, whose apply finds the link not there (404) if another
 * tenant owns it.  This node's quotas hold before it is published.
 */

static ngx_int_t
ngx_http_mcp_admin_publish(ngx_http_request_t *r, ngx_str_t *code,
    mcp_store_link_t *link, unsigned set)
{
    mcp_store_op_t             op;
    ngx_http_mcp_key_t        *caller;
    ngx_http_mcp_admin_op_t   *a;

    a = ngx_palloc(r->pool, sizeof(ngx_http_mcp_admin_op_t));
    if (a == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    a->code = *code;
    a->patch = (link != NULL);

    caller = ngx_http_mcp_caller(r);

    ngx_memzero(&op, sizeof(mcp_store_op_t));

    if (link != NULL) {
        op.kind = MCP_STORE_OP_LINK_UPDATE;
        op.link = *link;
        op.set = set;

    } else {
        op.kind = MCP_STORE_OP_LINK_DELETE;
    }

    op.code = (char *) code->data;
    op.code_len = code->len;
    op.link.tenant = (char *) caller->tenant.data;
    op.link.tenant_len = caller->tenant.len;

    if (ngx_http_mcp_cluster_check(r, &op) == MCP_STORE_QUOTA) {
        return ngx_http_mcp_admin_written(r, code, a->patch, MCP_STORE_QUOTA);
    }

    return ngx_http_mcp_cluster_request(r, &op, ngx_http_mcp_admin_applied,
                                        a);
}


static ngx_int_t
ngx_http_mcp_admin_applied(ngx_http_request_t *r, void *data,
    ngx_int_t outcome)
{
    ngx_http_mcp_admin_op_t *a = data;

    return ngx_http_mcp_admin_written(r, &a->code, a->patch, outcome);
}


/* a store failure: 404 for a link not there (or another tenant's) */

static ngx_int_t
ngx_http_mcp_admin_store_failed(ngx_http_request_t *r, int rc,
    ngx_str_t *code)
{
    ngx_http_mcp_error_t  err;

    if (rc == MCP_STORE_NOTFOUND && code) {
        return ngx_http_mcp_send_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                       "no link \"%.*s\"",
                                       (int) code->len, code->data);
    }

    (void) ngx_http_mcp_store_error(r, rc, &err);

    return ngx_http_mcp_send_failure(r, &err);
}
