
/*
 * ngx_mcp: the shortener as MCP tools, resources (shorturl://{code}) and a
 * prompt.  Same store functions and validation as the HTTP API.
 *
 * Every link belongs to the tenant of the API key that made it: a caller
 * sees, lists and deletes its own tenant's links only (with the admin
 * permission, everyone's), and another tenant's code is "not found",
 * exactly as a code that does not exist.  Writing needs the links:write
 * permission, reading links:read.
 */


#include "ngx_http_mcp_rpc.h"
#include "ngx_http_mcp_cluster.h"


#define NGX_HTTP_MCP_LINK_SCHEME  "shorturl://"


/*
 * shorten_url with operations (a cluster, group commit): the call, and
 * its result when the link was refused before the tool returned
 */
typedef struct {
    ngx_http_mcp_call_t         *call;
    json_t                      *result;
    ngx_http_mcp_error_t         err;
    unsigned                     waiting:1;
    unsigned                     answered:1;
} ngx_http_mcp_links_shorten_t;


static ngx_http_mcp_handler_fn  ngx_http_mcp_links_shorten;
static ngx_http_mcp_handler_fn  ngx_http_mcp_links_lookup;
static ngx_http_mcp_handler_fn  ngx_http_mcp_links_delete;
static ngx_http_mcp_handler_fn  ngx_http_mcp_links_list;
static ngx_http_mcp_handler_fn  ngx_http_mcp_links_read;
static ngx_http_mcp_handler_fn  ngx_http_mcp_links_summarize;
static ngx_int_t ngx_http_mcp_links_resources(ngx_http_mcp_call_t *call,
    ngx_str_t *after, size_t limit, json_t *list, ngx_str_t *next);
static ngx_int_t ngx_http_mcp_links_complete(ngx_http_mcp_call_t *call,
    json_t *ref, ngx_str_t *name, ngx_str_t *value, json_t *values);
static json_t *ngx_http_mcp_links_shortened(ngx_http_mcp_call_t *call,
    ngx_http_mcp_shorten_req_t *req, ngx_str_t *code, ngx_int_t rc,
    ngx_http_mcp_error_t *refused, ngx_http_mcp_error_t *err);
static ngx_int_t ngx_http_mcp_links_replicated(ngx_http_request_t *r,
    void *data, ngx_http_mcp_shorten_req_t *req, ngx_str_t *code,
    ngx_int_t outcome);
static json_t *ngx_http_mcp_links_deleted(ngx_http_mcp_call_t *call,
    void *data, int rc, ngx_http_mcp_error_t *err);
static void ngx_http_mcp_links_tenant(ngx_http_mcp_call_t *call,
    ngx_str_t *tenant);


#define NGX_HTTP_MCP_LINK_PROPS                                               \
    "\"code\": {\"type\": \"string\"},"                                       \
    "\"url\": {\"type\": \"string\"},"                                        \
    "\"short_url\": {\"type\": \"string\"},"                                  \
    "\"created_at\": {\"type\": \"string\", \"format\": \"date-time\"},"      \
    "\"expires_at\": {\"type\": \"string\", \"format\": \"date-time\"},"      \
    "\"max_visits\": {\"type\": \"integer\"},"                                \
    "\"visits\": {\"type\": \"integer\"},"                                    \
    "\"last_visit\": {\"type\": \"string\", \"format\": \"date-time\"},"     \
    "\"tags\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}},"     \
    "\"redirect_status\": {\"type\": \"integer\"},"                           \
    "\"tenant\": {\"type\": \"string\", \"description\": \"the owner, "       \
      "shown to admin keys\"}"

#define NGX_HTTP_MCP_CODE_ARG                                                 \
    "{\"type\": \"object\", \"properties\": {\"code\": {\"type\": "           \
    "\"string\", \"description\": \"the short code\", \"pattern\": "          \
    "\"^[A-Za-z0-9_-]{1,64}$\"}}, \"required\": [\"code\"]}"

#define NGX_HTTP_MCP_LINK_SCHEMA                                              \
    "{\"type\": \"object\", \"properties\": {" NGX_HTTP_MCP_LINK_PROPS "},"   \
    "\"required\": [\"code\", \"url\"]}"


/* resolve_url's mark (its tool data, compared by address): it leaves
 * the visits out of a link's record */
static u_char  ngx_http_mcp_links_resolved;


static ngx_http_mcp_tool_t  ngx_http_mcp_links_tools[] = {

    { "shorten_url", "Shorten a URL",
      "Creates a short link to url and returns its code and absolute "
      "short_url. Optional: alias (your own code), expires_in (seconds) "
      "and max_visits.",
      "{\"type\": \"object\", \"properties\": {"
        "\"url\": {\"type\": \"string\", \"description\": "
          "\"the http(s) URL to shorten\"},"
        "\"alias\": {\"type\": \"string\", \"pattern\": "
          "\"^[A-Za-z0-9_-]{1,64}$\"},"
        "\"expires_in\": {\"type\": \"integer\", \"minimum\": 1},"
        "\"max_visits\": {\"type\": \"integer\", \"minimum\": 1}},"
      "\"required\": [\"url\"]}",
      "{\"type\": \"object\", \"properties\": {"
        "\"ShortURL\": {\"type\": \"string\"}," NGX_HTTP_MCP_LINK_PROPS "},"
      "\"required\": [\"code\", \"short_url\", \"url\"]}",
      "{\"title\": \"Shorten a URL\", \"readOnlyHint\": false, "
      "\"destructiveHint\": false, \"idempotentHint\": false, "
      "\"openWorldHint\": false}",
      ngx_http_mcp_links_shorten, NULL },

    { "resolve_url", "Resolve a short code",
      "Returns the URL a short code redirects to.",
      NGX_HTTP_MCP_CODE_ARG,
      NGX_HTTP_MCP_LINK_SCHEMA,
      "{\"title\": \"Resolve a short code\", \"readOnlyHint\": true, "
      "\"openWorldHint\": false}",
      ngx_http_mcp_links_lookup, &ngx_http_mcp_links_resolved },

    { "url_stats", "Statistics of a short link",
      "Returns a link's visits, creation and last visit times, expiry "
      "and visit limit. Visits reach the store within a second.",
      NGX_HTTP_MCP_CODE_ARG,
      NGX_HTTP_MCP_LINK_SCHEMA,
      "{\"title\": \"Statistics of a short link\", \"readOnlyHint\": true, "
      "\"openWorldHint\": false}",
      ngx_http_mcp_links_lookup, NULL },

    { "delete_url", "Delete a short link",
      "Deletes a short link: its code answers 404 from then on.",
      NGX_HTTP_MCP_CODE_ARG,
      "{\"type\": \"object\", \"properties\": {"
        "\"code\": {\"type\": \"string\"},"
        "\"deleted\": {\"type\": \"boolean\"}},"
      "\"required\": [\"code\", \"deleted\"]}",
      "{\"title\": \"Delete a short link\", \"readOnlyHint\": false, "
      "\"destructiveHint\": true, \"idempotentHint\": true, "
      "\"openWorldHint\": false}",
      ngx_http_mcp_links_delete, NULL },

    { "list_urls", "List short links",
      "Lists short links in code order, limit at a time (default 50, at "
      "most 100); pass nextCursor back as cursor for the next page.",
      "{\"type\": \"object\", \"properties\": {"
        "\"cursor\": {\"type\": \"string\"},"
        "\"limit\": {\"type\": \"integer\", \"minimum\": 1, "
          "\"maximum\": 100}}}",
      "{\"type\": \"object\", \"properties\": {"
        "\"links\": {\"type\": \"array\", \"items\": "
          NGX_HTTP_MCP_LINK_SCHEMA "},"
        "\"nextCursor\": {\"type\": \"string\"}},"
      "\"required\": [\"links\"]}",
      "{\"title\": \"List short links\", \"readOnlyHint\": true, "
      "\"openWorldHint\": false}",
      ngx_http_mcp_links_list, NULL },

    ngx_http_mcp_null_tool
};


static ngx_http_mcp_resource_t  ngx_http_mcp_links_templates[] = {

    { NGX_HTTP_MCP_LINK_SCHEME "{code}", "short-link", "Short link",
      "A short link's record: target URL, times, visits.",
      "application/json", ngx_http_mcp_links_read, NULL },

    ngx_http_mcp_null_resource
};


static ngx_http_mcp_prompt_t  ngx_http_mcp_links_prompts[] = {

    { "summarize_links", "Summarise short links",
      "Asks the model to summarise the short links created in a period "
      "(RFC 3339 times; both optional), with their visits.",
      "[{\"name\": \"since\", \"description\": \"created at or after, "
      "e.g. 2026-01-01T00:00:00Z\", \"required\": false},"
      " {\"name\": \"until\", \"description\": \"created before\", "
      "\"required\": false}]",
      ngx_http_mcp_links_summarize },

    ngx_http_mcp_null_prompt
};


ngx_http_mcp_provider_t  ngx_http_mcp_links_provider = {
    ngx_http_mcp_links_tools,
    NULL,
    ngx_http_mcp_links_templates,
    ngx_http_mcp_links_prompts,
    ngx_http_mcp_links_resources,
    ngx_http_mcp_links_complete
};


/*
 * Lets a tool go on if the call's API key has the permission perm:
 * NGX_OK, or NGX_DECLINED with the tool error saying it has not in
 * *result.
 */

static ngx_int_t
ngx_http_mcp_links_allowed(ngx_http_mcp_call_t *call, ngx_uint_t perm,
    json_t **result)
{
    if (ngx_http_mcp_permitted(call->r, perm) == NGX_OK) {
        return NGX_OK;
    }

    *result = ngx_http_mcp_tool_error("this API key lacks the scope \"%s\" "
                                      "(forbidden)",
                                      ngx_http_mcp_perm_name(perm));
    return NGX_DECLINED;
}


/*
 * The code a tool names, if the call's API key has perm: NGX_OK, or
 * NGX_DECLINED with *result a tool error, or NULL with err.
 */

static ngx_int_t
ngx_http_mcp_links_code(ngx_http_mcp_call_t *call, json_t *args,
    ngx_uint_t perm, ngx_str_t *code, json_t **result,
    ngx_http_mcp_error_t *err)
{
    *result = NULL;

    if (ngx_http_mcp_arg_str(args, "code", 1, code, err) != NGX_OK) {
        return NGX_DECLINED;
    }

    return ngx_http_mcp_links_allowed(call, perm, result);
}


/*
 * The same for a resource or a prompt, where it is a JSON-RPC error.
 */

static ngx_int_t
ngx_http_mcp_links_readable(ngx_http_mcp_call_t *call,
    ngx_http_mcp_error_t *err)
{
    if (ngx_http_mcp_permitted(call->r, NGX_HTTP_MCP_PERM_LINKS_READ)
        == NGX_OK)
    {
        return NGX_OK;
    }

    (void) ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INVALID_REQUEST,
                                 "Forbidden: this API key lacks the scope "
                                 "\"%s\"",
                                 ngx_http_mcp_perm_name(
                                     NGX_HTTP_MCP_PERM_LINKS_READ));
    return NGX_DECLINED;
}


/*
 * Whose links the call sees: its tenant's, or with the admin permission
 * everyone's (tenant empty).
 */

static void
ngx_http_mcp_links_tenant(ngx_http_mcp_call_t *call, ngx_str_t *tenant)
{
    ngx_http_mcp_key_t  *caller;

    caller = ngx_http_mcp_caller(call->r);

    if (caller->perms & NGX_HTTP_MCP_PERM_ADMIN) {
        ngx_str_null(tenant);

    } else {
        *tenant = caller->tenant;
    }
}


/*
 * Writes a stored link's record, an object: the one definition of a
 * record, for every tool and list that shows one.  Without
 * NGX_HTTP_MCP_LINK_COUNTS, leaves out its visits and last visit
 * (resolve_url, which does not read them); NGX_HTTP_MCP_LINK_UPDATED
 * adds updated_at last (mcp_admin's GET of one link).
 */

void
ngx_http_mcp_links_write(ngx_http_mcp_jw_t *w, ngx_http_request_t *r,
    ngx_str_t *code, const mcp_store_link_t *link, ngx_uint_t flags)
{
    ngx_str_t  short_url;

    if (ngx_http_mcp_short_url(r, code, &short_url) != NGX_OK) {
        w->failed = 1;
        return;
    }

    ngx_http_mcp_jw_lit(w, "{\"code\":");
    ngx_http_mcp_jw_str(w, code->data, code->len);
    ngx_http_mcp_jw_lit(w, ",\"url\":");
    ngx_http_mcp_jw_str(w, (u_char *) link->url, link->url_len);
    ngx_http_mcp_jw_lit(w, ",\"short_url\":");
    ngx_http_mcp_jw_str(w, short_url.data, short_url.len);

    if (flags & NGX_HTTP_MCP_LINK_COUNTS) {
        ngx_http_mcp_jw_lit(w, ",\"visits\":");
        ngx_http_mcp_jw_int(w, link->visits);
    }

    ngx_http_mcp_jw_time(w, "created_at", link->created_at);
    ngx_http_mcp_jw_time(w, "expires_at", link->expires_at);

    if (flags & NGX_HTTP_MCP_LINK_COUNTS) {
        ngx_http_mcp_jw_time(w, "last_visit", link->last_visit);
    }

    if (link->max_visits) {
        ngx_http_mcp_jw_lit(w, ",\"max_visits\":");
        ngx_http_mcp_jw_int(w, link->max_visits);
    }

    ngx_http_mcp_links_attrs(w, link->redirect_status, link->tags,
                             link->tags_len);

    /* the owner, to those who see every owner's links */

    if (ngx_http_mcp_permitted(r, NGX_HTTP_MCP_PERM_ADMIN) == NGX_OK) {
        ngx_http_mcp_jw_lit(w, ",\"tenant\":");
        ngx_http_mcp_jw_str(w, (u_char *) link->tenant, link->tenant_len);
    }

    /* a link never changed was last updated when it was made */

    if (flags & NGX_HTTP_MCP_LINK_UPDATED) {
        ngx_http_mcp_jw_time(w, "updated_at",
                             link->updated_at ? link->updated_at
                                              : link->created_at);
    }

    ngx_http_mcp_jw_lit(w, "}");
}


/*
 * Writes a stored link's record (with its counts) as the next element of
 * a list of them, of which *n are written already: the lists of records
 * are written in one pass, record after record, into the reply.
 */

void
ngx_http_mcp_links_item(ngx_http_mcp_jw_t *w, ngx_uint_t *n,
    ngx_http_request_t *r, const char *code, size_t code_len,
    const mcp_store_link_t *link)
{
    ngx_str_t  c;

    if ((*n)++) {
        ngx_http_mcp_jw_lit(w, ",");
    }

    c.data = (u_char *) code;
    c.len = code_len;

    ngx_http_mcp_links_write(w, r, &c, link, NGX_HTTP_MCP_LINK_COUNTS);
}


/*
 * A link's own redirect status and tags, those it has: the members
 * "redirect_status" and "tags" (an array), after others.
 */

void
ngx_http_mcp_links_attrs(ngx_http_mcp_jw_t *w, ngx_uint_t status,
    const char *tags, size_t tags_len)
{
    size_t       pos, len;
    ngx_uint_t   n;
    const char  *tag;

    if (status) {
        ngx_http_mcp_jw_lit(w, ",\"redirect_status\":");
        ngx_http_mcp_jw_int(w, status);
    }

    if (tags_len == 0) {
        return;
    }

    ngx_http_mcp_jw_lit(w, ",\"tags\":[");

    n = 0;

    for (pos = 0; mcp_store_tag_next(tags, tags_len, &pos, &tag, &len);
         /* void */)
    {
        if (n++) {
            ngx_http_mcp_jw_lit(w, ",");
        }

        ngx_http_mcp_jw_str(w, (u_char *) tag, len);
    }

    ngx_http_mcp_jw_lit(w, "]");
}


static json_t *
ngx_http_mcp_links_shorten(ngx_http_mcp_call_t *call, json_t *args,
    ngx_http_mcp_error_t *err)
{
    json_t                        *result;
    ngx_int_t                      rc;
    ngx_str_t                      code;
    ngx_http_mcp_error_t           refused;
    ngx_http_mcp_shorten_req_t     req;
    ngx_http_mcp_links_shorten_t  *ls;

    if (ngx_http_mcp_links_allowed(call, NGX_HTTP_MCP_PERM_LINKS_WRITE, &result)
        != NGX_OK)
    {
        return result;
    }

    if (json_object_get(args, "OriginalURL") == NULL
        && json_object_get(args, "url") == NULL)
    {
        return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INVALID_PARAMS,
                                     "Invalid params: \"url\" is required");
    }

    rc = ngx_http_mcp_shorten_args(call->r, args, &req, &refused);

    if (rc == NGX_OK && ngx_http_mcp_cluster_enabled(call->r)) {
        ls = ngx_pcalloc(call->r->pool, sizeof(ngx_http_mcp_links_shorten_t));
        if (ls == NULL) {
            return ngx_http_mcp_rpc_nomem(err);
        }

        ls->call = ngx_http_mcp_cluster_keep(call);
        if (ls->call == NULL) {
            return ngx_http_mcp_rpc_nomem(err);
        }

        rc = ngx_http_mcp_cluster_shorten(call->r, &req,
                                          ngx_http_mcp_links_replicated, ls);

        if (rc == NGX_DONE) {
            ls->waiting = 1;
            return ngx_http_mcp_cluster_deferred(rc, err);
        }

        /* refused before anything was written (a quota): answered now */

        if (!ls->answered) {
            return ngx_http_mcp_rpc_nomem(err);
        }

        *err = ls->err;

        return ls->result;
    }

    if (rc == NGX_OK) {
        rc = ngx_http_mcp_shorten_create(call->r, &req, &code, &refused);
    }

    return ngx_http_mcp_links_shortened(call, &req, &code, rc, &refused, err);
}


/* shorten_url's result from how its link was stored */

static json_t *
ngx_http_mcp_links_shortened(ngx_http_mcp_call_t *call,
    ngx_http_mcp_shorten_req_t *req, ngx_str_t *code, ngx_int_t rc,
    ngx_http_mcp_error_t *refused, ngx_http_mcp_error_t *err)
{
    ngx_http_mcp_jw_t  w;

    if (rc == NGX_DECLINED) {
        return ngx_http_mcp_tool_error("%s (%s)", refused->message,
                                       refused->error);
    }

    if (rc != NGX_OK) {
        return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INTERNAL_ERROR,
                                     "cannot shorten");
    }

    if (ngx_http_mcp_jw_init(&w, call->r->pool, NGX_HTTP_MCP_JW_SIZE / 4)
        != NGX_OK)
    {
        return ngx_http_mcp_rpc_nomem(err);
    }

    ngx_http_mcp_link_write(&w, call->r, code, req);

    return ngx_http_mcp_tool_written(call, &w, err);
}


/* shorten_url in a cluster, once the link's put is applied here */

static ngx_int_t
ngx_http_mcp_links_replicated(ngx_http_request_t *r, void *data,
    ngx_http_mcp_shorten_req_t *req, ngx_str_t *code, ngx_int_t outcome)
{
    ngx_http_mcp_links_shorten_t *ls = data;

    json_t                *result;
    ngx_int_t              rc;
    ngx_http_mcp_call_t   *call;
    ngx_http_mcp_error_t   refused, err;

    call = ls->call;

    if (outcome == NGX_HTTP_MCP_CLUSTER_UNAVAILABLE) {
        result = ngx_http_mcp_cluster_deferred(outcome, &err);

    } else {
        rc = ngx_http_mcp_shorten_outcome(r, req, code, (int) outcome,
                                          &refused);
        result = ngx_http_mcp_links_shortened(call, req, code, rc, &refused,
                                              &err);
    }

    if (!ls->waiting) {
        /* called before the tool returned: the tool answers it */
        ls->result = result;
        ls->err = err;
        ls->answered = 1;
        return NGX_OK;
    }

    return ngx_http_mcp_respond(call, result, &err);
}


/*
 * Writes the record of the link named by args.code into w and sets
 * *found; or returns a tool error result (*found 0), or NULL with err.
 */

static json_t *
ngx_http_mcp_links_get(ngx_http_mcp_call_t *call, json_t *args,
    ngx_http_mcp_jw_t *w, ngx_uint_t *found, ngx_http_mcp_error_t *err)
{
    int                    rc;
    json_t                *record;
    ngx_str_t              code, tenant;
    mcp_store_link_t       link;
    ngx_http_mcp_error_t   failed;

    *found = 0;

    if (ngx_http_mcp_links_code(call, args, NGX_HTTP_MCP_PERM_LINKS_READ,
                                &code, &record, err)
        != NGX_OK)
    {
        return record;
    }

    if (ngx_http_mcp_valid_code(&code) != NGX_OK) {
        return ngx_http_mcp_tool_error("Short URL not found: \"%.*s\" is "
                                       "not a code",
                                       (int) ngx_min(code.len, 64),
                                       code.data);
    }

    /* resolve_url leaves the visits out: it need not read their counter */

    rc = mcp_store_link_resolve(call->mmcf->store, (char *) code.data,
                                code.len, &link,
                                (call->data == &ngx_http_mcp_links_resolved)
                                ? MCP_STORE_LINK_COUNTS_LIMITED
                                : MCP_STORE_LINK_COUNTS);

    if (rc == MCP_STORE_NOTFOUND) {
        return ngx_http_mcp_tool_error("Short URL not found: %.*s",
                                       (int) code.len, code.data);
    }

    if (rc != MCP_STORE_OK) {
        (void) ngx_http_mcp_store_error(call->r, rc, &failed);
        return ngx_http_mcp_tool_error("%s", failed.message);
    }

    /* another tenant's link is not found, word for word */

    ngx_http_mcp_links_tenant(call, &tenant);

    if (tenant.len
        && (link.tenant_len != tenant.len
            || ngx_memcmp(link.tenant, tenant.data, tenant.len) != 0))
    {
        mcp_store_release(call->mmcf->store);
        return ngx_http_mcp_tool_error("Short URL not found: %.*s",
                                       (int) code.len, code.data);
    }

    ngx_http_mcp_links_write(w, call->r, &code, &link,
                             (call->data == &ngx_http_mcp_links_resolved)
                             ? 0 : NGX_HTTP_MCP_LINK_COUNTS);

    mcp_store_release(call->mmcf->store);

    if (w->failed) {
        return ngx_http_mcp_rpc_nomem(err);
    }

    *found = 1;

    return NULL;
}


/*
 * resolve_url and url_stats: the link's record, written as the tool's
 * structuredContent (resolve_url has no use for visits).
 */

static json_t *
ngx_http_mcp_links_lookup(ngx_http_mcp_call_t *call, json_t *args,
    ngx_http_mcp_error_t *err)
{
    json_t             *result;
    ngx_uint_t          found;
    ngx_http_mcp_jw_t   w;

    if (ngx_http_mcp_jw_init(&w, call->r->pool, NGX_HTTP_MCP_JW_SIZE / 4)
        != NGX_OK)
    {
        return ngx_http_mcp_rpc_nomem(err);
    }

    result = ngx_http_mcp_links_get(call, args, &w, &found, err);

    if (!found) {
        return result;
    }

    return ngx_http_mcp_tool_written(call, &w, err);
}


static json_t *
ngx_http_mcp_links_delete(ngx_http_mcp_call_t *call, json_t *args,
    ngx_http_mcp_error_t *err)
{
    int              rc;
    json_t          *result;
    ngx_str_t        code, tenant, *kept;
    mcp_store_op_t   op;

    if (ngx_http_mcp_links_code(call, args, NGX_HTTP_MCP_PERM_LINKS_WRITE,
                                &code, &result, err)
        != NGX_OK)
    {
        return result;
    }

    ngx_http_mcp_links_tenant(call, &tenant);

    /* only the owner's: another tenant's link is not found */

    if (ngx_http_mcp_valid_code(&code) == NGX_OK
        && ngx_http_mcp_cluster_enabled(call->r))
    {
        kept = ngx_palloc(call->r->pool, sizeof(ngx_str_t));
        if (kept == NULL) {
            return ngx_http_mcp_rpc_nomem(err);
        }

        *kept = code;

        ngx_memzero(&op, sizeof(mcp_store_op_t));
        op.kind = MCP_STORE_OP_LINK_DELETE;
        op.code = (char *) code.data;
        op.code_len = code.len;
        op.link.tenant = (char *) tenant.data;
        op.link.tenant_len = tenant.len;

        return ngx_http_mcp_cluster_tool(call, &op,
                                         ngx_http_mcp_links_deleted, kept,
                                         err);
    }

    rc = (ngx_http_mcp_valid_code(&code) == NGX_OK)
         ? mcp_store_link_delete_tenant(call->mmcf->store,
                                        (char *) code.data, code.len,
                                        (char *) tenant.data, tenant.len)
         : MCP_STORE_NOTFOUND;

    return ngx_http_mcp_links_deleted(call, &code, rc, err);
}


/* delete_url's result from how the delete went */

static json_t *
ngx_http_mcp_links_deleted(ngx_http_mcp_call_t *call, void *data, int rc,
    ngx_http_mcp_error_t *err)
{
    ngx_str_t *code = data;

    ngx_http_mcp_error_t  failed;

    if (rc == MCP_STORE_NOTFOUND) {
        return ngx_http_mcp_tool_error("Short URL not found: %.*s",
                                       (int) ngx_min(code->len, 64),
                                       code->data);
    }

    if (rc != MCP_STORE_OK) {
        (void) ngx_http_mcp_store_error(call->r, rc, &failed);
        return ngx_http_mcp_tool_error("%s", failed.message);
    }

    ngx_http_mcp_links_changed(call->r, code, 1);

    return ngx_http_mcp_tool_value(call, json_pack("{s:s%, s:b}", "code",
                                                   code->data, code->len,
                                                   "deleted", 1),
                                   err);
}


/*
 * The caller's link code was created, changed or deleted (listed: created
 * or deleted, so that resources/list changed too), through whichever
 * route (a tool, POST /shorten, mcp_admin): its subscribers hear of it.
 * Every write of a link ends here once it succeeded.
 */

void
ngx_http_mcp_links_changed(ngx_http_request_t *r, ngx_str_t *code,
    ngx_uint_t listed)
{
    ngx_http_mcp_resource_changed(r, NGX_HTTP_MCP_LINK_SCHEME, code->data,
                                  code->len);

    if (listed) {
        ngx_http_mcp_resource_list_changed(r);
    }
}


/*
 * A walk over links: their records written into out, or (out NULL)
 * json_t items appended to list, resources or their codes.
 */
typedef struct {
    ngx_http_request_t  *r;
    ngx_http_mcp_jw_t   *out;
    ngx_uint_t           n;          /* records written */
    json_t              *list;
    ngx_str_t           *last;       /* code of the last link added */
    ngx_uint_t           resources;  /* as resources, not codes */
    int64_t              since;
    int64_t              until;
    ngx_int_t            failed;
} ngx_http_mcp_links_walk_t;


static int
ngx_http_mcp_links_walk_one(void *data, const char *code, size_t code_len,
    const mcp_store_link_t *link)
{
    ngx_http_mcp_links_walk_t *w = data;

    u_char  *uri;
    json_t  *item;

    if (link == NULL) {
        goto last;      /* the store stopped here, past others' links */
    }

    if ((w->since && link->created_at < w->since)
        || (w->until && link->created_at >= w->until))
    {
        return 0;
    }

    if (w->out) {
        ngx_http_mcp_links_item(w->out, &w->n, w->r, code, code_len, link);

        if (w->out->failed) {
            w->failed = 1;
            return 1;
        }

        goto last;
    }

    if (w->resources) {
        uri = ngx_pnalloc(w->r->pool,
                          sizeof(NGX_HTTP_MCP_LINK_SCHEME) - 1 + code_len);
        if (uri == NULL) {
            w->failed = 1;
            return 1;
        }

        ngx_memcpy(uri, NGX_HTTP_MCP_LINK_SCHEME,
                   sizeof(NGX_HTTP_MCP_LINK_SCHEME) - 1);
        ngx_memcpy(uri + sizeof(NGX_HTTP_MCP_LINK_SCHEME) - 1, code,
                   code_len);

        item = json_pack("{s:s%, s:s%, s:s%, s:s}",
                         "uri", uri,
                         sizeof(NGX_HTTP_MCP_LINK_SCHEME) - 1 + code_len,
                         "name", code, code_len,
                         "description", link->url, link->url_len,
                         "mimeType", "application/json");

    } else {
        item = json_stringn(code, code_len);
    }

    if (item == NULL || json_array_append_new(w->list, item) != 0) {
        w->failed = 1;
        return 1;
    }

last:

    if (w->last) {
        w->last->data = ngx_pnalloc(w->r->pool, code_len);
        if (w->last->data == NULL) {
            w->failed = 1;
            return 1;
        }

        ngx_memcpy(w->last->data, code, code_len);
        w->last->len = code_len;
    }

    return 0;
}


/*
 * One page of links after the code after, walked as w says; *next is the
 * last code when more follow.
 */

static ngx_int_t
ngx_http_mcp_links_page(ngx_http_mcp_call_t *call, ngx_http_mcp_links_walk_t *w,
    ngx_str_t *after, size_t limit, ngx_str_t *next)
{
    int        rc, more;
    ngx_str_t  last, tenant;

    ngx_str_null(&last);
    w->last = &last;

    ngx_http_mcp_links_tenant(call, &tenant);

    rc = mcp_store_link_list_tenant(call->mmcf->store, (char *) tenant.data,
                                    tenant.len, (char *) after->data,
                                    after->len, limit,
                                    ngx_http_mcp_links_walk_one, w, &more);

    /* last is gone with this function */
    w->last = NULL;

    if (rc != MCP_STORE_OK || w->failed) {
        return NGX_ERROR;
    }

    if (more) {
        *next = last;

    } else {
        ngx_str_null(next);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_mcp_links_resources(ngx_http_mcp_call_t *call, ngx_str_t *after,
    size_t limit, json_t *list, ngx_str_t *next)
{
    ngx_http_mcp_links_walk_t  w;

    /* without links:read, no links among the resources */

    if (ngx_http_mcp_permitted(call->r, NGX_HTTP_MCP_PERM_LINKS_READ)
        != NGX_OK)
    {
        ngx_str_null(next);
        return NGX_OK;
    }

    ngx_memzero(&w, sizeof(ngx_http_mcp_links_walk_t));

    w.r = call->r;
    w.list = list;
    w.resources = 1;

    return ngx_http_mcp_links_page(call, &w, after, limit, next);
}


static json_t *
ngx_http_mcp_links_list(ngx_http_mcp_call_t *call, json_t *args,
    ngx_http_mcp_error_t *err)
{
    json_t                     *result, *limit;
    ngx_str_t                   after, next, cursor;
    json_int_t                  n;
    ngx_http_mcp_jw_t           out;
    ngx_http_mcp_links_walk_t   w;

    if (ngx_http_mcp_links_allowed(call, NGX_HTTP_MCP_PERM_LINKS_READ, &result)
        != NGX_OK)
    {
        return result;
    }

    limit = json_object_get(args, "limit");
    n = 50;

    if (limit != NULL && !json_is_null(limit)) {
        n = json_is_integer(limit) ? json_integer_value(limit) : 0;

        if (n < 1 || n > 100) {
            return ngx_http_mcp_tool_error("limit must be an integer from 1 "
                                           "to 100");
        }
    }

    if (ngx_http_mcp_cursor_decode(call->r->pool, args, &after, err)
        != NGX_OK)
    {
        return ngx_http_mcp_tool_error("invalid cursor: pass back the "
                                       "nextCursor of an earlier page");
    }

    /* {"links":[...],"nextCursor":...}, the records written as they are
     * found */

    if (ngx_http_mcp_jw_init(&out, call->r->pool, NGX_HTTP_MCP_JW_SIZE)
        != NGX_OK)
    {
        return ngx_http_mcp_rpc_nomem(err);
    }

    ngx_http_mcp_jw_lit(&out, "{\"links\":[");

    ngx_memzero(&w, sizeof(ngx_http_mcp_links_walk_t));

    w.r = call->r;
    w.out = &out;

    if (ngx_http_mcp_links_page(call, &w, &after, (size_t) n, &next)
        != NGX_OK)
    {
        return ngx_http_mcp_tool_error("the store failed to list links");
    }

    ngx_http_mcp_jw_lit(&out, "]");

    if (next.len) {
        if (ngx_http_mcp_cursor_encode(call->r->pool, &next, &cursor)
            != NGX_OK)
        {
            return ngx_http_mcp_rpc_nomem(err);
        }

        ngx_http_mcp_jw_lit(&out, ",\"nextCursor\":");
        ngx_http_mcp_jw_str(&out, cursor.data, cursor.len);
    }

    ngx_http_mcp_jw_lit(&out, "}");

    return ngx_http_mcp_tool_written(call, &out, err);
}


static json_t *
ngx_http_mcp_links_read(ngx_http_mcp_call_t *call, json_t *params,
    ngx_http_mcp_error_t *err)
{
    json_t             *record, *args;
    ngx_str_t           uri, text;
    ngx_uint_t          found;
    ngx_http_mcp_jw_t   w;

    (void) ngx_http_mcp_arg_str(params, "uri", 1, &uri, err);

    if (ngx_http_mcp_links_readable(call, err) != NGX_OK) {
        return NULL;
    }

    args = json_pack("{s:s%}", "code",
                     uri.data + sizeof(NGX_HTTP_MCP_LINK_SCHEME) - 1,
                     uri.len - (sizeof(NGX_HTTP_MCP_LINK_SCHEME) - 1));
    if (args == NULL) {
        return ngx_http_mcp_rpc_nomem(err);
    }

    if (ngx_http_mcp_jw_init(&w, call->r->pool, NGX_HTTP_MCP_JW_SIZE / 4)
        != NGX_OK)
    {
        json_decref(args);
        return ngx_http_mcp_rpc_nomem(err);
    }

    record = ngx_http_mcp_links_get(call, args, &w, &found, err);

    json_decref(args);

    if (!found) {
        json_decref(record);
        return ngx_http_mcp_resource_not_found(&uri, err);
    }

    /* the record as written is the content's text */

    text.data = w.start;
    text.len = w.last - w.start;

    return ngx_http_mcp_resource_text(&uri, &text, err);
}


static json_t *
ngx_http_mcp_links_summarize(ngx_http_mcp_call_t *call, json_t *args,
    ngx_http_mcp_error_t *err)
{
    ngx_str_t                   since, until, after, next;
    ngx_http_mcp_jw_t           out;
    ngx_http_mcp_links_walk_t   w;

    ngx_memzero(&w, sizeof(ngx_http_mcp_links_walk_t));

    if (ngx_http_mcp_links_readable(call, err) != NGX_OK) {
        return NULL;
    }

    if (ngx_http_mcp_arg_str(args, "since", 0, &since, err) != NGX_OK
        || ngx_http_mcp_arg_str(args, "until", 0, &until, err) != NGX_OK)
    {
        return NULL;
    }

    if ((since.len && ngx_http_mcp_parse_time(&since, &w.since) != NGX_OK)
        || (until.len
            && ngx_http_mcp_parse_time(&until, &w.until) != NGX_OK))
    {
        return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INVALID_PARAMS,
                                     "Invalid params: since and until are "
                                     "RFC 3339 times such as "
                                     "2026-01-01T00:00:00Z");
    }

    /* the prompt's text: the records, as a JSON array, after a request */

    if (ngx_http_mcp_jw_init(&out, call->r->pool, NGX_HTTP_MCP_JW_SIZE)
        != NGX_OK)
    {
        return ngx_http_mcp_rpc_nomem(err);
    }

    ngx_http_mcp_jw_lit(&out, "Summarise these short links for a report: "
                        "what they point to, which are used most, which "
                        "expire soon. The links, as JSON records:\n[");

    w.r = call->r;
    w.out = &out;
    ngx_str_null(&after);

    if (ngx_http_mcp_links_page(call, &w, &after, 200, &next) != NGX_OK) {
        return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INTERNAL_ERROR,
                                     "the store failed to list links");
    }

    ngx_http_mcp_jw_lit(&out, "]");

    if (out.failed) {
        return ngx_http_mcp_rpc_nomem(err);
    }

    return json_pack("{s:s, s:[{s:s, s:{s:s, s:s%}}]}",
                     "description", "Summarise short links",
                     "messages", "role", "user", "content",
                     "type", "text", "text",
                     out.start, (size_t) (out.last - out.start));
}


/*
 * Completes the code of shorturl://{code} from the store, by prefix.
 */

static ngx_int_t
ngx_http_mcp_links_complete(ngx_http_mcp_call_t *call, json_t *ref,
    ngx_str_t *name, ngx_str_t *value, json_t *values)
{
    int                         rc;
    ngx_str_t                   tenant;
    const char                 *uri;
    ngx_http_mcp_links_walk_t   w;

    uri = json_string_value(json_object_get(ref, "uri"));

    if (uri == NULL
        || ngx_strcmp(uri, NGX_HTTP_MCP_LINK_SCHEME "{code}") != 0
        || name->len != 4 || ngx_strncmp(name->data, "code", 4) != 0
        || ngx_http_mcp_permitted(call->r, NGX_HTTP_MCP_PERM_LINKS_READ)
           != NGX_OK)
    {
        return NGX_OK;
    }

    ngx_http_mcp_links_tenant(call, &tenant);

    ngx_memzero(&w, sizeof(ngx_http_mcp_links_walk_t));

    w.r = call->r;
    w.list = json_array();
    if (w.list == NULL) {
        return NGX_ERROR;
    }

    rc = mcp_store_link_prefix_tenant(call->mmcf->store, (char *) tenant.data,
                                      tenant.len, (char *) value->data,
                                      value->len, 100,
                                      ngx_http_mcp_links_walk_one, &w, NULL);

    if (rc == MCP_STORE_OK && !w.failed
        && json_array_extend(values, w.list) != 0)
    {
        w.failed = 1;
    }

    json_decref(w.list);

    return (rc == MCP_STORE_OK && !w.failed) ? NGX_OK : NGX_ERROR;
}
