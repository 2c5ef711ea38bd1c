
/*
 * ngx_mcp: POST /shorten.
 *
 *     {"OriginalURL": "https://...", "alias": "x", "expires_in": 3600,
 *      "expires_at": "2030-01-01T00:00:00Z", "max_visits": 10,
 *      "tags": ["news"], "redirect_status": 301}
 *
 * answers 201 {"ShortURL": code, "code": code, "short_url": absolute URL,
 * "url": normalised target, ...}, or a JSON error.
 */


#include "ngx_http_mcp_module.h"
#include "ngx_http_mcp_cluster.h"


/* a bound on expires_in and max_visits that still fits a JSON double */
#define NGX_HTTP_MCP_MAX_SECONDS  (100LL * 366 * 86400)
#define NGX_HTTP_MCP_MAX_VISITS   9007199254740991LL


static ngx_int_t ngx_http_mcp_shorten_target(ngx_http_request_t *r,
    json_t *body, ngx_http_mcp_shorten_req_t *req, ngx_http_mcp_error_t *err);
static ngx_int_t ngx_http_mcp_shorten_alias(ngx_http_request_t *r,
    json_t *body, ngx_http_mcp_shorten_req_t *req, ngx_http_mcp_error_t *err);
static ngx_int_t ngx_http_mcp_shorten_expiry(json_t *body,
    ngx_http_mcp_shorten_req_t *req, ngx_http_mcp_error_t *err);
static ngx_int_t ngx_http_mcp_json_int(json_t *body, const char *name,
    int64_t max, int64_t *v);
static ngx_int_t ngx_http_mcp_shorten_too_large(ngx_http_request_t *r);
static ngx_int_t ngx_http_mcp_shorten_reply(ngx_http_request_t *r,
    ngx_http_mcp_shorten_req_t *req, ngx_str_t *code);
static ngx_int_t ngx_http_mcp_shorten_replicated(ngx_http_request_t *r,
    void *data, ngx_http_mcp_shorten_req_t *req, ngx_str_t *code,
    ngx_int_t outcome);


ngx_int_t
ngx_http_mcp_shorten_handler(ngx_http_request_t *r)
{
    ngx_http_mcp_error_t  err;

    /* who asks comes first: 401/403 before anything about the request */

    if (ngx_http_mcp_auth(r, NGX_HTTP_MCP_PERM_LINKS_WRITE, &err) != NGX_OK)
    {
        return ngx_http_mcp_send_failure(r, &err);
    }

    if (r->method != NGX_HTTP_POST) {
        return ngx_http_mcp_send_not_allowed(r, "POST");
    }

    return ngx_http_mcp_shorten_read(r);
}


/*
 * A JSON body, checked before it is read, then read: the location's body
 * handler answers it (mcp_shorten's, or mcp_admin's for POST and PATCH).
 */

ngx_int_t
ngx_http_mcp_shorten_read(ngx_http_request_t *r)
{
    ngx_http_mcp_loc_conf_t  *mlcf;

    mlcf = ngx_http_get_module_loc_conf(r, ngx_mcp_module);

    if (ngx_http_mcp_is_json_type(r) != NGX_OK) {
        return ngx_http_mcp_send_error(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                       "unsupported_media_type",
                                       "send the body as JSON with "
                                       "\"Content-Type: application/json\"");
    }

    if (r->headers_in.content_length_n > (off_t) mlcf->max_body_size) {
        return ngx_http_mcp_shorten_too_large(r);
    }

    return ngx_http_mcp_read_body(r);
}


/*
 * The body, read: a link made of it.
 */

ngx_int_t
ngx_http_mcp_shorten_body(ngx_http_request_t *r)
{
    json_t                      *json;
    ngx_str_t                    body, code;
    ngx_http_mcp_loc_conf_t     *mlcf;
    ngx_http_mcp_error_t         error;
    ngx_http_mcp_shorten_req_t   req;

    mlcf = ngx_http_get_module_loc_conf(r, ngx_mcp_module);

    if (ngx_http_mcp_body(r, &body) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (body.len > mlcf->max_body_size) {
        return ngx_http_mcp_shorten_too_large(r);
    }

    if (body.len == 0) {
        return ngx_http_mcp_send_error(r, NGX_HTTP_BAD_REQUEST,
                                       "invalid_json",
                                       "the request body is empty; send "
                                       "{\"OriginalURL\": \"https://...\"}");
    }

    json = ngx_http_mcp_json_object(r, &body, &error);
    if (json == NULL) {
        return ngx_http_mcp_send_failure(r, &error);
    }

    switch (ngx_http_mcp_shorten_args(r, json, &req, &error)) {

    case NGX_OK:
        break;

    case NGX_DECLINED:
        return ngx_http_mcp_send_failure(r, &error);

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_mcp_cluster_enabled(r)) {
        return ngx_http_mcp_cluster_shorten(r, &req,
                                            ngx_http_mcp_shorten_replicated,
                                            NULL);
    }

    if (ngx_http_mcp_shorten_create(r, &req, &code, &error) != NGX_OK) {
        return ngx_http_mcp_send_failure(r, &error);
    }

    return ngx_http_mcp_shorten_reply(r, &req, &code);
}


/* 201 with the new link */

static ngx_int_t
ngx_http_mcp_shorten_reply(ngx_http_request_t *r,
    ngx_http_mcp_shorten_req_t *req, ngx_str_t *code)
{
    ngx_http_mcp_jw_t  w;

    if (ngx_http_mcp_jw_init(&w, r->pool, NGX_HTTP_MCP_JW_SIZE) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_mcp_link_write(&w, r, code, req);

    return ngx_http_mcp_send_jw(r, NGX_HTTP_CREATED, &w);
}


/* POST /shorten in a cluster, once the link's put is applied here */

static ngx_int_t
ngx_http_mcp_shorten_replicated(ngx_http_request_t *r, void *data,
    ngx_http_mcp_shorten_req_t *req, ngx_str_t *code, ngx_int_t outcome)
{
    ngx_http_mcp_error_t  err;

    if (outcome == NGX_HTTP_MCP_CLUSTER_UNAVAILABLE) {
        return ngx_http_mcp_cluster_unavailable(r);
    }

    if (ngx_http_mcp_shorten_outcome(r, req, code, (int) outcome, &err)
        != NGX_OK)
    {
        return ngx_http_mcp_send_failure(r, &err);
    }

    return ngx_http_mcp_shorten_reply(r, req, code);
}


static ngx_int_t
ngx_http_mcp_shorten_too_large(ngx_http_request_t *r)
{
    ngx_http_mcp_loc_conf_t  *mlcf;

    mlcf = ngx_http_get_module_loc_conf(r, ngx_mcp_module);

    return ngx_http_mcp_send_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                   "body_too_large",
                                   "the request body is larger than %zu "
                                   "bytes", mlcf->max_body_size);
}


/*
 * Stores the link of a validated request under its alias or a new random
 * code, set in *code (from r->pool): NGX_OK, or NGX_DECLINED with err.
 */

ngx_int_t
ngx_http_mcp_shorten_create(ngx_http_request_t *r,
    ngx_http_mcp_shorten_req_t *req, ngx_str_t *code,
    ngx_http_mcp_error_t *err)
{
    int                        rc;
    mcp_store_link_t           link;
    ngx_http_mcp_main_conf_t  *mmcf;

    mmcf = ngx_http_get_module_main_conf(r, ngx_mcp_module);

    if (ngx_http_mcp_shorten_link(r, req, code, &link) != NGX_OK) {
        return ngx_http_mcp_fail(err, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                 "internal", "out of memory");
    }

    if (req->alias.len) {
        rc = mcp_store_link_put(mmcf->store, (char *) code->data, code->len,
                                &link);

    } else {
        rc = mcp_store_link_create(mmcf->store, (char *) code->data,
                                   code->len, &link);
    }

    return ngx_http_mcp_shorten_outcome(r, req, code, rc, err);
}


/*
 * The link a validated request makes, owned by the tenant of the caller's
 * API key, and its code: the alias, or room (from r->pool) for a random
 * one.  link->url points into req.
 */

ngx_int_t
ngx_http_mcp_shorten_link(ngx_http_request_t *r,
    ngx_http_mcp_shorten_req_t *req, ngx_str_t *code, mcp_store_link_t *link)
{
    ngx_http_mcp_key_t       *caller;
    ngx_http_mcp_loc_conf_t  *mlcf;

    ngx_memzero(link, sizeof(mcp_store_link_t));

    caller = ngx_http_mcp_caller(r);
    link->tenant = (const char *) caller->tenant.data;
    link->tenant_len = caller->tenant.len;

    link->url = (char *) req->url.data;
    link->url_len = req->url.len;
    link->created_at = ngx_time();
    link->expires_at = req->expires_at;
    link->max_visits = req->max_visits;
    link->redirect_status = (unsigned) req->redirect_status;
    link->tags = (const char *) req->tags.data;
    link->tags_len = req->tags.len;

    if (req->alias.len) {
        *code = req->alias;
        return NGX_OK;
    }

    mlcf = ngx_http_get_module_loc_conf(r, ngx_mcp_module);

    code->len = mlcf->code_length;
    code->data = ngx_pnalloc(r->pool, code->len);

    return (code->data != NULL) ? NGX_OK : NGX_ERROR;
}


/*
 * What storing the link of req under code came to (rc, from the store or
 * from the cluster): NGX_OK, or NGX_DECLINED with err (409 for a taken
 * alias).
 */

ngx_int_t
ngx_http_mcp_shorten_outcome(ngx_http_request_t *r,
    ngx_http_mcp_shorten_req_t *req, ngx_str_t *code, int rc,
    ngx_http_mcp_error_t *err)
{
    if (rc == MCP_STORE_EXISTS && req->alias.len) {
        return ngx_http_mcp_fail(err, NGX_HTTP_CONFLICT, "alias_taken",
                                 "alias \"%.*s\" is already taken",
                                 (int) code->len, code->data);
    }

    if (rc != MCP_STORE_OK) {
        return ngx_http_mcp_store_error(r, rc, err);
    }

    ngx_http_mcp_note(r, NGX_HTTP_MCP_NOTE_CODE, code->data, code->len);

    /* a new resource; and an alias deleted and taken again: its
     * subscribers hear of it */
    ngx_http_mcp_links_changed(r, code, 1);

    return NGX_OK;
}


/*
 * Reads the optional integer member name of body into *v: NGX_OK when
 * absent or null (v untouched), NGX_DECLINED when not an integer in
 * 1..max.
 */

static ngx_int_t
ngx_http_mcp_json_int(json_t *body, const char *name, int64_t max,
    int64_t *v)
{
    json_t  *m;
    double   d;

    m = json_object_get(body, name);

    if (m == NULL || json_is_null(m)) {
        return NGX_OK;
    }

    if (json_is_integer(m)) {
        *v = json_integer_value(m);

    } else if (json_is_real(m)) {
        d = json_real_value(m);

        /* in range before the conversion: out of it, it is undefined */

        if (!(d >= 1 && d <= (double) max) || d != (double) (int64_t) d) {
            return NGX_DECLINED;
        }

        *v = (int64_t) d;

    } else {
        return NGX_DECLINED;
    }

    return (*v >= 1 && *v <= max) ? NGX_OK : NGX_DECLINED;
}


/*
 * Validates the request body into req: NGX_OK, NGX_DECLINED with err
 * filled, or NGX_ERROR.
 */

ngx_int_t
ngx_http_mcp_shorten_args(ngx_http_request_t *r, json_t *body,
    ngx_http_mcp_shorten_req_t *req, ngx_http_mcp_error_t *err)
{
    int64_t    visits;
    ngx_int_t  rc;

    ngx_memzero(req, sizeof(ngx_http_mcp_shorten_req_t));

    rc = ngx_http_mcp_shorten_target(r, body, req, err);

    if (rc == NGX_OK) {
        rc = ngx_http_mcp_shorten_alias(r, body, req, err);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_mcp_shorten_expiry(body, req, err);
    }

    visits = 0;

    if (rc == NGX_OK
        && ngx_http_mcp_json_int(body, "max_visits", NGX_HTTP_MCP_MAX_VISITS,
                                 &visits)
           != NGX_OK)
    {
        return ngx_http_mcp_fail(err, NGX_HTTP_BAD_REQUEST, "invalid_request",
                                 "max_visits must be a whole number, at "
                                 "least 1");
    }

    req->max_visits = visits;

    if (rc == NGX_OK) {
        rc = ngx_http_mcp_json_tags(r, json_object_get(body, "tags"),
                                    &req->tags, err);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_mcp_json_redirect_status(
                 json_object_get(body, "redirect_status"),
                 &req->redirect_status, err);
    }

    return rc;
}


/*
 * A link's tags: v an array of distinct tags (mcp_store_tag_valid()), or
 * NULL (absent), null or [] for none; joined with commas into *tags, as
 * the store keeps them.  NGX_OK, NGX_DECLINED with err, NGX_ERROR.
 */

ngx_int_t
ngx_http_mcp_json_tags(ngx_http_request_t *r, json_t *v, ngx_str_t *tags,
    ngx_http_mcp_error_t *err)
{
    u_char       *p;
    size_t        i, j, n, len;
    json_t       *tag;
    const char   *s;

    ngx_str_null(tags);

    if (v == NULL || json_is_null(v)) {
        return NGX_OK;
    }

    n = json_is_array(v) ? json_array_size(v) : 0;

    if (!json_is_array(v) || n > MCP_STORE_TAGS_MAX) {
        goto invalid;
    }

    len = 0;

    json_array_foreach(v, i, tag) {
        s = json_string_value(tag);

        if (s == NULL
            || !mcp_store_tag_valid(s, json_string_length(tag)))
        {
            goto invalid;
        }

        for (j = 0; j < i; j++) {
            if (json_equal(tag, json_array_get(v, j))) {
                return ngx_http_mcp_fail(err, NGX_HTTP_BAD_REQUEST,
                                         "invalid_tags",
                                         "tag \"%s\" is given twice", s);
            }
        }

        len += json_string_length(tag) + 1;
    }

    if (n == 0) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    tags->data = p;

    json_array_foreach(v, i, tag) {
        if (i) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, json_string_value(tag), json_string_length(tag));
    }

    tags->len = p - tags->data;

    return NGX_OK;

invalid:

    return ngx_http_mcp_fail(err, NGX_HTTP_BAD_REQUEST, "invalid_tags",
                             "tags must be an array of at most %d tags, "
                             "each 1 to %d characters of A-Z, a-z, 0-9, "
                             "\"_\", \".\", \":\" and \"-\"",
                             MCP_STORE_TAGS_MAX, MCP_STORE_TAG_MAX);
}


/*
 * A link's own redirect status: v 301, 302, 307 or 308, or NULL (absent)
 * or null for none (0: the location's mcp_redirect_status applies).
 */

ngx_int_t
ngx_http_mcp_json_redirect_status(json_t *v, ngx_uint_t *status,
    ngx_http_mcp_error_t *err)
{
    json_int_t  n;

    *status = 0;

    if (v == NULL || json_is_null(v)) {
        return NGX_OK;
    }

    n = json_is_integer(v) ? json_integer_value(v) : 0;

    if (n != NGX_HTTP_MOVED_PERMANENTLY && n != NGX_HTTP_MOVED_TEMPORARILY
        && n != NGX_HTTP_TEMPORARY_REDIRECT
        && n != NGX_HTTP_PERMANENT_REDIRECT)
    {
        return ngx_http_mcp_fail(err, NGX_HTTP_BAD_REQUEST,
                                 "invalid_redirect_status",
                                 "redirect_status must be 301, 302, 307 "
                                 "or 308, or null");
    }

    *status = (ngx_uint_t) n;

    return NGX_OK;
}


/*
 * OriginalURL (or url), checked and normalised by the URL policy.
 */

static ngx_int_t
ngx_http_mcp_shorten_target(ngx_http_request_t *r, json_t *body,
    ngx_http_mcp_shorten_req_t *req, ngx_http_mcp_error_t *err)
{
    ngx_int_t                 rc;
    ngx_str_t                 url;
    const char               *field;
    ngx_http_mcp_loc_conf_t  *mlcf;

    field = "OriginalURL";
    rc = ngx_http_mcp_json_string(body, field, &url);

    if (rc == NGX_DECLINED) {
        field = "url";
        rc = ngx_http_mcp_json_string(body, field, &url);
    }

    if (rc == NGX_ERROR) {
        return ngx_http_mcp_fail(err, NGX_HTTP_BAD_REQUEST, "invalid_request",
                                 "%s must be a string", field);
    }

    if (url.len == 0) {
        return ngx_http_mcp_fail(err, NGX_HTTP_BAD_REQUEST, "missing_url",
                                 "OriginalURL is required");
    }

    mlcf = ngx_http_get_module_loc_conf(r, ngx_mcp_module);

    return ngx_http_mcp_check_url(r, mlcf, &url, &req->url, err);
}


static ngx_int_t
ngx_http_mcp_shorten_alias(ngx_http_request_t *r, json_t *body,
    ngx_http_mcp_shorten_req_t *req, ngx_http_mcp_error_t *err)
{
    ngx_int_t                 rc;
    ngx_http_mcp_loc_conf_t  *mlcf;

    mlcf = ngx_http_get_module_loc_conf(r, ngx_mcp_module);

    rc = ngx_http_mcp_json_string(body, "alias", &req->alias);

    if (rc == NGX_OK) {
        switch (ngx_http_mcp_check_alias(mlcf, &req->alias)) {

        case NGX_HTTP_MCP_ALIAS_RESERVED:
            return ngx_http_mcp_fail(err, NGX_HTTP_CONFLICT, "alias_reserved",
                                     "alias \"%.*s\" is reserved",
                                     (int) req->alias.len, req->alias.data);

        case NGX_HTTP_MCP_ALIAS_INVALID:
            rc = NGX_ERROR;
            break;

        case NGX_HTTP_MCP_ALIAS_OK:
            break;
        }
    }

    if (rc == NGX_ERROR) {
        return ngx_http_mcp_fail(err, NGX_HTTP_BAD_REQUEST, "invalid_alias",
                                 "alias must be 1 to %d characters of A-Z, "
                                 "a-z, 0-9, \"_\" and \"-\"",
                                 MCP_STORE_CODE_MAX);
    }

    return NGX_OK;
}


/*
 * expires_in (seconds from now) or expires_at (an RFC 3339 time).
 */

static ngx_int_t
ngx_http_mcp_shorten_expiry(json_t *body, ngx_http_mcp_shorten_req_t *req,
    ngx_http_mcp_error_t *err)
{
    int64_t    now, in;
    ngx_int_t  rc;
    ngx_str_t  at;

    now = ngx_time();
    in = 0;

    if (ngx_http_mcp_json_int(body, "expires_in", NGX_HTTP_MCP_MAX_SECONDS,
                              &in)
        != NGX_OK)
    {
        return ngx_http_mcp_fail(err, NGX_HTTP_BAD_REQUEST, "invalid_request",
                                 "expires_in must be a whole number of "
                                 "seconds, at least 1");
    }

    rc = ngx_http_mcp_json_string(body, "expires_at", &at);

    if (rc == NGX_DECLINED) {
        req->expires_at = in ? now + in : 0;
        return NGX_OK;
    }

    if (in) {
        return ngx_http_mcp_fail(err, NGX_HTTP_BAD_REQUEST, "invalid_request",
                                 "give expires_in or expires_at, not both");
    }

    if (rc == NGX_ERROR
        || ngx_http_mcp_parse_time(&at, &req->expires_at) != NGX_OK)
    {
        return ngx_http_mcp_fail(err, NGX_HTTP_BAD_REQUEST, "invalid_request",
                                 "expires_at must be an RFC 3339 time such "
                                 "as \"2030-01-01T00:00:00Z\"");
    }

    if (req->expires_at <= now) {
        return ngx_http_mcp_fail(err, NGX_HTTP_BAD_REQUEST, "invalid_request",
                                 "expires_at is in the past");
    }

    return NGX_OK;
}


/*
 * The reply to a new link, as POST /shorten sends it and shorten_url
 * returns it, written into w.
 */

void
ngx_http_mcp_link_write(ngx_http_mcp_jw_t *w, ngx_http_request_t *r,
    ngx_str_t *code, ngx_http_mcp_shorten_req_t *req)
{
    ngx_str_t  short_url;

    if (ngx_http_mcp_short_url(r, code, &short_url) != NGX_OK) {
        w->failed = 1;
        return;
    }

    ngx_http_mcp_jw_lit(w, "{\"ShortURL\":");
    ngx_http_mcp_jw_str(w, code->data, code->len);
    ngx_http_mcp_jw_lit(w, ",\"code\":");
    ngx_http_mcp_jw_str(w, code->data, code->len);
    ngx_http_mcp_jw_lit(w, ",\"short_url\":");
    ngx_http_mcp_jw_str(w, short_url.data, short_url.len);
    ngx_http_mcp_jw_lit(w, ",\"url\":");
    ngx_http_mcp_jw_str(w, req->url.data, req->url.len);

    ngx_http_mcp_jw_time(w, "expires_at", req->expires_at);

    if (req->max_visits) {
        ngx_http_mcp_jw_lit(w, ",\"max_visits\":");
        ngx_http_mcp_jw_int(w, req->max_visits);
    }

    ngx_http_mcp_links_attrs(w, req->redirect_status,
                             (const char *) req->tags.data, req->tags.len);

    ngx_http_mcp_jw_lit(w, "}");
}


/*
 * mcp_base_url + code, or scheme://Host + the prefix of the server's
 * mcp_redirect location ("/" without one) + code, as the client addressed
 * us (X-Forwarded-Proto and -Host from mcp_trusted_proxies).
 */

ngx_int_t
ngx_http_mcp_short_url(ngx_http_request_t *r, ngx_str_t *code,
    ngx_str_t *out)
{
    u_char                    *p;
    size_t                     len;
    ngx_str_t                  scheme, host, prefix;
    ngx_uint_t                 https;
    ngx_http_mcp_srv_conf_t   *mscf;
    ngx_http_mcp_loc_conf_t   *mlcf;
    ngx_http_core_srv_conf_t  *cscf;

    mlcf = ngx_http_get_module_loc_conf(r, ngx_mcp_module);

    if (mlcf->base_url.len) {
        ngx_str_null(&scheme);
        ngx_str_null(&prefix);
        host = mlcf->base_url;

    } else {
        /* as the client addressed us, through a trusted proxy too */
        ngx_http_mcp_public_origin(r, &https, &host);

        if (https) {
            ngx_str_set(&scheme, "https://");

        } else {
            ngx_str_set(&scheme, "http://");
        }

        if (host.len == 0) {
            cscf = ngx_http_get_module_srv_conf(r, ngx_http_core_module);
            host = cscf->server_name;
        }

        /* the configuration refuses a server where this is ambiguous */

        mscf = ngx_http_get_module_srv_conf(r, ngx_mcp_module);

        if (mscf->redirect_prefix.len) {
            prefix = mscf->redirect_prefix;

        } else {
            ngx_str_set(&prefix, "/");
        }
    }

    len = scheme.len + host.len + prefix.len + code->len;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;

    /* mcp_base_url comes without scheme or prefix: none to copy (from NULL) */

    if (scheme.len) {
        p = ngx_cpymem(p, scheme.data, scheme.len);
    }

    p = ngx_cpymem(p, host.data, host.len);

    if (prefix.len) {
        p = ngx_cpymem(p, prefix.data, prefix.len);
    }

    p = ngx_cpymem(p, code->data, code->len);
    out->len = p - out->data;

    return NGX_OK;
}
