
/*
 * ngx_mcp: helpers shared by the handlers and the tools: JSON responses
 * and errors, request bodies and headers, store error mapping, RFC 3339
 * times, the store scope of a tool call and the end of its transaction.
 */


#include "ngx_http_mcp_rpc.h"


static void ngx_http_mcp_json_cleanup_handler(void *data);
static void ngx_http_mcp_body_read(ngx_http_request_t *r);
static u_char *ngx_http_mcp_put_digits(u_char *p, ngx_uint_t n,
    ngx_uint_t width);


static void
ngx_http_mcp_json_cleanup_handler(void *data)
{
    json_decref((json_t *) data);
}


/*
 * Hands the caller's reference to json over to pool: released when the
 * pool is destroyed.  The caller goes on using json (borrowed) until then.
 */

void
ngx_http_mcp_json_cleanup(ngx_pool_t *pool, json_t *json)
{
    ngx_pool_cleanup_t  *cln;

    if (json == NULL) {
        return;
    }

    /* out of memory: json is leaked, since the caller still uses it */

    cln = ngx_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        return;
    }

    cln->handler = ngx_http_mcp_json_cleanup_handler;
    cln->data = json;
}


/*
 * Sends json (which the caller still owns) as the whole response.
 */

ngx_int_t
ngx_http_mcp_send_json(ngx_http_request_t *r, ngx_uint_t status,
    json_t *json)
{
    ngx_http_mcp_jw_t  w;

    if (ngx_http_mcp_jw_init(&w, r->pool, NGX_HTTP_MCP_JW_SIZE) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_mcp_jw_value(&w, json);

    return ngx_http_mcp_send_jw(r, status, &w);
}


/*
 * Sends what w wrote, a line of JSON, as the whole response.
 */

ngx_int_t
ngx_http_mcp_send_jw(ngx_http_request_t *r, ngx_uint_t status,
    ngx_http_mcp_jw_t *w)
{
    ngx_buf_t  *b;
    ngx_str_t   type;

    b = ngx_http_mcp_jw_buf(w);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *b->last++ = '\n';

    ngx_str_set(&type, "application/json");

    return ngx_http_mcp_send(r, status, &type, b);
}


/*
 * Sends the whole response: status, a Content-Type, and b as the body,
 * which gives Content-Length (headers only for HEAD).
 */

ngx_int_t
ngx_http_mcp_send(ngx_http_request_t *r, ngx_uint_t status, ngx_str_t *type,
    ngx_buf_t *b)
{
    ngx_int_t    rc;
    ngx_chain_t  out;

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = status;

    if (status == NGX_HTTP_MCP_UNPROCESSABLE) {
        ngx_str_set(&r->headers_out.status_line,
                    "422 Unprocessable Entity");
    }

    r->headers_out.content_length_n = b->last - b->pos;
    r->headers_out.content_type = *type;
    r->headers_out.content_type_len = type->len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/*
 * Messages echo what clients sent (a Host header, a tool name cut at 128
 * bytes, ...), and vsnprintf() may cut them in the middle of a character:
 * jansson refuses to encode such a string, which turned a refusal into a
 * 500.  Replaces, in place, every byte that does not start a complete,
 * valid UTF-8 sequence (ngx_http_mcp_utf8_len()) with "?".
 */

void
ngx_http_mcp_utf8_clean(char *s)
{
    u_char  *p, *end;
    size_t   n;

    p = (u_char *) s;
    end = p + ngx_strlen(s);

    for ( /* void */ ; p < end; p += n) {
        if (*p < 0x80) {
            n = 1;
            continue;
        }

        n = ngx_http_mcp_utf8_len(p, end);

        if (n == 0) {
            *p = '?';
            n = 1;
        }
    }
}


/*
 * jansson's reason for a parse error, for the client: where it would name
 * its own flag ("\\u0000 is not allowed without JSON_ALLOW_NUL"), says
 * what is wrong instead.
 */

const char *
ngx_http_mcp_json_reason(json_error_t *err)
{
    if (ngx_strstr(err->text, "JSON_ALLOW_NUL") != NULL) {
        return "\\u0000 (NUL) is not allowed in a string";
    }

    return err->text;
}


/*
 * The one formatter behind every message of ours: C's printf format (not
 * nginx's, so that the compiler checks each call), cut to size, and made
 * valid UTF-8 (ngx_http_mcp_utf8_clean()).
 */

void
ngx_http_mcp_vformat(char *buf, size_t size, const char *fmt, va_list args)
{
    (void) vsnprintf(buf, size, fmt, args);

    ngx_http_mcp_utf8_clean(buf);
}


/*
 * Fills err and returns NGX_DECLINED, so that validation can say
 * "return ngx_http_mcp_fail(err, ...);".
 */

ngx_int_t
ngx_http_mcp_verror(ngx_http_mcp_error_t *err, ngx_uint_t status,
    ngx_int_t code, const char *error, const char *fmt, va_list args)
{
    ngx_http_mcp_vformat(err->message, sizeof(err->message), fmt, args);

    err->status = status;
    err->code = code;
    err->error = error;

    return NGX_DECLINED;
}


/*
 * A refusal of the HTTP API: status, and error as the machine-readable
 * code.
 */

ngx_int_t
ngx_http_mcp_fail(ngx_http_mcp_error_t *err, ngx_uint_t status,
    const char *error, const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    (void) ngx_http_mcp_verror(err, status, 0, error, fmt, args);
    va_end(args);

    return NGX_DECLINED;
}


/*
 * A JSON-RPC error of the MCP transport, answered with the HTTP status.
 */

ngx_int_t
ngx_http_mcp_rpc_error(ngx_http_mcp_error_t *err, ngx_uint_t status,
    ngx_int_t code, const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    (void) ngx_http_mcp_verror(err, status, code, NULL, fmt, args);
    va_end(args);

    return NGX_DECLINED;
}


/*
 * The JSON-RPC error of a method (answered with 200); returns NULL, so
 * that a handler can say "return ngx_http_mcp_rpc_fail(err, ...);".
 */

json_t *
ngx_http_mcp_rpc_fail(ngx_http_mcp_error_t *err, ngx_int_t code,
    const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    (void) ngx_http_mcp_verror(err, NGX_HTTP_OK, code, NULL, fmt, args);
    va_end(args);

    return NULL;
}


/*
 * The JSON-RPC error of a method that ran out of memory.
 */

json_t *
ngx_http_mcp_rpc_nomem(ngx_http_mcp_error_t *err)
{
    return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INTERNAL_ERROR,
                                 "out of memory");
}


/*
 * Sends err as {"message": ..., "error": ...}, dropping a request body
 * that was not read.
 */

ngx_int_t
ngx_http_mcp_send_failure(ngx_http_request_t *r, ngx_http_mcp_error_t *err)
{
    ngx_int_t          rc;
    ngx_http_mcp_jw_t  w;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "mcp error %ui %s: %s", err->status, err->error,
                   err->message);

    /* an error of the HTTP API has its machine code (as json_pack() did
     * with "s", a missing one is a 500) */

    if (err->error == NULL
        || ngx_http_mcp_jw_init(&w, r->pool, NGX_HTTP_MCP_JW_SIZE) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_mcp_jw_lit(&w, "{\"message\":");
    ngx_http_mcp_jw_str(&w, (u_char *) err->message,
                        ngx_strlen(err->message));
    ngx_http_mcp_jw_lit(&w, ",\"error\":");
    ngx_http_mcp_jw_str(&w, (u_char *) err->error, ngx_strlen(err->error));
    ngx_http_mcp_jw_lit(&w, "}");

    return ngx_http_mcp_send_jw(r, err->status, &w);
}


ngx_int_t
ngx_http_mcp_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *error, const char *fmt, ...)
{
    va_list               args;
    ngx_http_mcp_error_t  err;

    va_start(args, fmt);
    (void) ngx_http_mcp_verror(&err, status, 0, error, fmt, args);
    va_end(args);

    return ngx_http_mcp_send_failure(r, &err);
}


ngx_int_t
ngx_http_mcp_send_not_allowed(ngx_http_request_t *r, const char *allow)
{
    ngx_str_t  value;

    value.data = (u_char *) allow;
    value.len = ngx_strlen(allow);

    if (ngx_http_mcp_add_header(r, "Allow", &value) == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_mcp_send_error(r, NGX_HTTP_NOT_ALLOWED,
                                   "method_not_allowed",
                                   "method %.*s is not allowed here; "
                                   "use %s",
                                   (int) r->method_name.len,
                                   r->method_name.data, allow);
}


/*
 * Reads the request body, then has the location's body handler (see
 * ngx_http_mcp_handler_slot()) answer it.
 */

ngx_int_t
ngx_http_mcp_read_body(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    rc = ngx_http_read_client_request_body(r, ngx_http_mcp_body_read);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_mcp_body_read(ngx_http_request_t *r)
{
    ngx_http_mcp_loc_conf_t  *mlcf;

    mlcf = ngx_http_get_module_loc_conf(r, ngx_mcp_module);

    ngx_http_finalize_request(r, mlcf->body(r));
}


/*
 * Collects the request body, read already, into one buffer from r->pool,
 * whether nginx kept it in memory or spilled it to a temporary file.
 */

ngx_int_t
ngx_http_mcp_body(ngx_http_request_t *r, ngx_str_t *body)
{
    off_t         size;
    u_char       *p;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    body->len = 0;
    body->data = (u_char *) "";

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    size = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        size += ngx_buf_size(cl->buf);
    }

    if (size == 0) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, size + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    body->data = p;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (b->in_file) {
            n = ngx_read_file(b->file, p, b->file_last - b->file_pos,
                              b->file_pos);
            if (n != b->file_last - b->file_pos) {
                return NGX_ERROR;
            }

            p += n;
            continue;
        }

        /* an empty buffer (the last one, say) may have no memory at all */

        if (b->last != b->pos) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
        }
    }

    *p = '\0';
    body->len = p - body->data;

    return NGX_OK;
}


/*
 * Turns a store failure that the caller does not treat itself into err
 * (507 when the store or its disk is full or the tenant over a quota,
 * else 500; over
 * JSON-RPC, -32603), and logs it (not a quota: the caller's own limit).
 * Returns NGX_DECLINED.
 */

ngx_int_t
ngx_http_mcp_store_error(ngx_http_request_t *r, int rc,
    ngx_http_mcp_error_t *err)
{
    unsigned                   which;
    uint64_t                   limit;
    ngx_http_mcp_main_conf_t  *mmcf;

    mmcf = ngx_http_get_module_main_conf(r, ngx_mcp_module);

    if (rc == MCP_STORE_QUOTA) {
        mcp_store_quota_refused(mmcf->store, &which, &limit);

        (void) ngx_http_mcp_fail(err, NGX_HTTP_INSUFFICIENT_STORAGE,
                                 "quota_exceeded", "over the tenant's %s "
                                 "quota (%llu); nothing was saved",
                                 mcp_store_quota_name(which),
                                 (unsigned long long) limit);

    } else if (rc == MCP_STORE_FULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "mcp_store \"%V\" is full: raise its map_size= "
                      "and reload", &mmcf->path);

        (void) ngx_http_mcp_fail(err, NGX_HTTP_INSUFFICIENT_STORAGE,
                                 "store_full", "the link store is full; "
                                 "nothing was saved");

    } else if (rc == MCP_STORE_NOSPACE) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "mcp_store \"%V\": no space left on its disk",
                      &mmcf->path);

        (void) ngx_http_mcp_fail(err, NGX_HTTP_INSUFFICIENT_STORAGE,
                                 "disk_full", "no space left on the "
                                 "store's disk; nothing was saved");

    } else {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "mcp_store \"%V\" failed: %s",
                      &mmcf->path, mcp_store_strerror(rc));

        (void) ngx_http_mcp_fail(err, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                 "internal", "the store failed: %s",
                                 mcp_store_strerror(rc));
    }

    err->code = NGX_HTTP_MCP_INTERNAL_ERROR;

    return NGX_DECLINED;
}


/*
 * The start of a handler that only reads (GET, HEAD): another method is
 * answered 405 with Allow, a body is discarded.  NGX_OK: go on; NGX_DONE:
 * the request is answered or failed, and *rc is what the handler returns.
 */

ngx_int_t
ngx_http_mcp_get_or_head(ngx_http_request_t *r, ngx_int_t *rc)
{
    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        *rc = ngx_http_mcp_send_not_allowed(r, "GET, HEAD");
        return NGX_DONE;
    }

    *rc = ngx_http_discard_request_body(r);

    return (*rc == NGX_OK) ? NGX_OK : NGX_DONE;
}


/*
 * A request body that must be a JSON object, parsed: a reference the
 * request's pool releases, or NULL with err filled (400 invalid_json).
 */

json_t *
ngx_http_mcp_json_object(ngx_http_request_t *r, ngx_str_t *body,
    ngx_http_mcp_error_t *err)
{
    json_t        *json;
    json_error_t   jerr;

    json = json_loadb((char *) body->data, body->len, JSON_REJECT_DUPLICATES,
                      &jerr);
    if (json == NULL) {
        (void) ngx_http_mcp_fail(err, NGX_HTTP_BAD_REQUEST, "invalid_json",
                                 "malformed JSON at line %d, column %d: %s",
                                 jerr.line, jerr.column,
                                 ngx_http_mcp_json_reason(&jerr));
        return NULL;
    }

    ngx_http_mcp_json_cleanup(r->pool, json);

    if (!json_is_object(json)) {
        (void) ngx_http_mcp_fail(err, NGX_HTTP_BAD_REQUEST, "invalid_json",
                                 "the request body must be a JSON object");
        return NULL;
    }

    return json;
}


/*
 * The string member name of obj: NGX_OK with value, NGX_DECLINED when it
 * is absent or null (value empty), NGX_ERROR when it is not a string.
 * value points into obj.
 */

ngx_int_t
ngx_http_mcp_json_string(json_t *obj, const char *name, ngx_str_t *value)
{
    json_t  *v;

    ngx_str_null(value);

    v = json_object_get(obj, name);

    if (v == NULL || json_is_null(v)) {
        return NGX_DECLINED;
    }

    if (!json_is_string(v)) {
        return NGX_ERROR;
    }

    value->data = (u_char *) json_string_value(v);
    value->len = json_string_length(v);

    return NGX_OK;
}


/*
 * JSON bodies are "application/json" or "application/<x>+json".  A missing
 * type, "text/plain" and curl's default "application/x-www-form-urlencoded"
 * are accepted too when the body is JSON: the classic shortener API is
 * driven by "curl -d '{...}'".  Anything else is refused with 415.
 */

ngx_int_t
ngx_http_mcp_is_json_type(ngx_http_request_t *r)
{
    u_char     *p, *last;
    ngx_str_t   type;

    if (r->headers_in.content_type == NULL) {
        return NGX_OK;
    }

    type = r->headers_in.content_type->value;
    last = type.data + type.len;

    for (p = type.data; p < last && *p != ';' && *p != ' '; p++) {
        /* void */
    }

    type.len = p - type.data;

    if ((type.len == 16
         && ngx_strncasecmp(type.data, (u_char *) "application/json", 16)
            == 0)
        || (type.len == 10
            && ngx_strncasecmp(type.data, (u_char *) "text/plain", 10) == 0)
        || (type.len == 33
            && ngx_strncasecmp(type.data,
                               (u_char *) "application/x-www-form-urlencoded",
                               33) == 0))
    {
        return NGX_OK;
    }

    if (type.len > 17
        && ngx_strncasecmp(type.data, (u_char *) "application/", 12) == 0
        && ngx_strncasecmp(type.data + type.len - 5, (u_char *) "+json", 5)
           == 0)
    {
        return NGX_OK;
    }

    return NGX_DECLINED;
}


/*
 * Whether a list of names (ngx_str_t; NULL: none) holds data, compared
 * without regard to case: NGX_OK or NGX_DECLINED.  Host names, URL
 * schemes and codes are all case-insensitive where the lists are used.
 */

ngx_int_t
ngx_http_mcp_in_list(ngx_array_t *list, u_char *data, size_t len)
{
    ngx_str_t   *s;
    ngx_uint_t   i;

    if (list == NULL) {
        return NGX_DECLINED;
    }

    s = list->elts;

    for (i = 0; i < list->nelts; i++) {
        if (s[i].len == len && ngx_strncasecmp(s[i].data, data, len) == 0) {
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


/*
 * Codes and aliases: 1 to MCP_STORE_CODE_MAX characters of [A-Za-z0-9_-].
 */

ngx_int_t
ngx_http_mcp_valid_code(ngx_str_t *code)
{
    u_char      c;
    ngx_uint_t  i;

    if (code->len == 0 || code->len > MCP_STORE_CODE_MAX) {
        return NGX_DECLINED;
    }

    for (i = 0; i < code->len; i++) {
        c = code->data[i];

        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
            || (c >= 'A' && c <= 'Z') || c == '_' || c == '-')
        {
            continue;
        }

        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * What of the URI follows the location's prefix ("location /s/" serves
 * "/s/{code}"); for a regex location, the last path segment.  Points into
 * r->uri.
 */

void
ngx_http_mcp_uri_tail(ngx_http_request_t *r, ngx_str_t *tail)
{
    u_char                    *p, *last;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    last = r->uri.data + r->uri.len;

    if (
#if (NGX_PCRE)
        clcf->regex == NULL &&
#endif
        r->uri.len >= clcf->name.len
        && ngx_strncmp(r->uri.data, clcf->name.data, clcf->name.len) == 0)
    {
        p = r->uri.data + clcf->name.len;

    } else {
        for (p = last; p > r->uri.data && p[-1] != '/'; p--) { /* void */ }
    }

    tail->data = p;
    tail->len = last - p;
}


/*
 * Returns the value of request header name, or NULL.
 */

ngx_str_t *
ngx_http_mcp_header(ngx_http_request_t *r, const char *name)
{
    return ngx_http_mcp_list_header(&r->headers_in.headers, name);
}


/* a header of a request's or a response's list (deleted ones skipped) */

ngx_str_t *
ngx_http_mcp_list_header(ngx_list_t *headers, const char *name)
{
    size_t            len;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    len = ngx_strlen(name);
    part = &headers->part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash != 0
            && h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            return &h[i].value;
        }
    }
}


/*
 * Adds a response header.  name and value must live as long as the
 * request (static, or from r->pool).  Returns the header, or NULL when
 * out of memory.
 */

ngx_table_elt_t *
ngx_http_mcp_add_header(ngx_http_request_t *r, const char *name,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NULL;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value = *value;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    return h;
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


/* n, 0 <= n < 10^width, in width decimal digits */

static u_char *
ngx_http_mcp_put_digits(u_char *p, ngx_uint_t n, ngx_uint_t width)
{
    u_char  *end;

    end = p + width;

    while (width--) {
        p[width] = (u_char) ('0' + n % 10);
        n /= 10;
    }

    return end;
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

    /*
     * By hand: snprintf() cost 3,000 instructions a time, ngx_snprintf()
     * 1,200, on the path of every reply that carries a time.  Years of
     * other than four digits, which no stored time has, take the
     * formatter.
     */

    if (tm.ngx_tm_year < 1000 || tm.ngx_tm_year > 9999) {
        return ngx_snprintf(buf, NGX_HTTP_MCP_TIME_LEN,
                            "%4d-%02d-%02dT%02d:%02d:%02dZ",
                            tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                            tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec);
    }

    buf = ngx_http_mcp_put_digits(buf, tm.ngx_tm_year, 4);
    *buf++ = '-';
    buf = ngx_http_mcp_put_digits(buf, tm.ngx_tm_mon, 2);
    *buf++ = '-';
    buf = ngx_http_mcp_put_digits(buf, tm.ngx_tm_mday, 2);
    *buf++ = 'T';
    buf = ngx_http_mcp_put_digits(buf, tm.ngx_tm_hour, 2);
    *buf++ = ':';
    buf = ngx_http_mcp_put_digits(buf, tm.ngx_tm_min, 2);
    *buf++ = ':';
    buf = ngx_http_mcp_put_digits(buf, tm.ngx_tm_sec, 2);
    *buf++ = 'Z';

    return buf;
}


/*
 * The query argument name, a whole number from 1 to max, into *n.  NGX_OK:
 * go on (also when it is absent: *n is left as it is); NGX_DONE: it is
 * not, the request is answered 400 "invalid_<name>", and *rc is what the
 * handler returns.
 */

ngx_int_t
ngx_http_mcp_arg_number(ngx_http_request_t *r, char *name, ngx_int_t max,
    ngx_int_t *n, ngx_int_t *rc)
{
    char       error[64];
    ngx_int_t  v;
    ngx_str_t  arg;

    if (ngx_http_arg(r, (u_char *) name, ngx_strlen(name), &arg) != NGX_OK) {
        return NGX_OK;
    }

    v = ngx_atoi(arg.data, arg.len);

    if (v >= 1 && v <= max) {
        *n = v;
        return NGX_OK;
    }

    (void) snprintf(error, sizeof(error), "invalid_%s", name);

    *rc = ngx_http_mcp_send_error(r, NGX_HTTP_BAD_REQUEST, error,
                                  "%s must be a whole number from 1 to %d",
                                  name, (int) max);
    return NGX_DONE;
}


/*
 * Sets obj[key] to t as an RFC 3339 time, unless t is 0 (never).
 */

ngx_int_t
ngx_http_mcp_json_time(json_t *obj, const char *key, int64_t t)
{
    u_char  buf[NGX_HTTP_MCP_TIME_LEN], *end;

    if (t == 0) {
        return NGX_OK;
    }

    end = ngx_http_mcp_format_time(t, buf);

    return json_object_set_new(obj, key, json_stringn((char *) buf,
                                                      end - buf)) == 0
           ? NGX_OK : NGX_ERROR;
}


/* the same member, written: ,"key":"time" (nothing for no time) */

void
ngx_http_mcp_jw_time(ngx_http_mcp_jw_t *w, const char *key, int64_t t)
{
    u_char  buf[NGX_HTTP_MCP_TIME_LEN], *end;

    if (t == 0) {
        return;
    }

    end = ngx_http_mcp_format_time(t, buf);

    ngx_http_mcp_jw_lit(w, ",");
    ngx_http_mcp_jw_str(w, (u_char *) key, ngx_strlen(key));
    ngx_http_mcp_jw_lit(w, ":");
    ngx_http_mcp_jw_str(w, buf, end - buf);
}


/*
 * Sets the scope: the tenant of the call's API key (ngx_http_mcp_caller())
 * and the "namespace" argument.  NGX_OK, or NGX_DECLINED with *result set
 * to a tool error.
 */

ngx_int_t
ngx_http_mcp_scope(ngx_http_mcp_call_t *call, json_t *args,
    mcp_store_scope_t *sc, json_t **result)
{
    json_t              *ns;
    ngx_http_mcp_key_t  *caller;

    caller = ngx_http_mcp_caller(call->r);

    sc->tenant = (const char *) caller->tenant.data;
    sc->tenant_len = caller->tenant.len;
    sc->ns = "";
    sc->ns_len = 0;

    ns = json_object_get(args, "namespace");

    if (ns == NULL || json_is_null(ns)) {
        return NGX_OK;
    }

    if (json_is_string(ns)
        && mcp_store_scope_valid(json_string_value(ns),
                                 json_string_length(ns), 0)
           == MCP_STORE_OK)
    {
        sc->ns = json_string_value(ns);
        sc->ns_len = json_string_length(ns);

        return NGX_OK;
    }

    *result = ngx_http_mcp_tool_error("namespace must be up to %d "
                                      "characters of A-Z, a-z, 0-9, \"_\", "
                                      "\".\" and \"-\"", MCP_STORE_SCOPE_MAX);
    return NGX_DECLINED;
}


/*
 * Ends a tool's transaction: commits when rc is MCP_STORE_OK and result
 * was built, else aborts.  Returns result, or a tool error saying why
 * nothing was saved.  txn NULL: a cluster's operation, applied (rc its
 * outcome) or refused before it was published.
 */

json_t *
ngx_http_mcp_txn_end(ngx_http_mcp_call_t *call, mcp_store_txn_t *txn,
    int rc, json_t *result)
{
    ngx_http_mcp_error_t  failed;

    /* txn NULL: the write was a cluster's operation, applied already */

    if (rc == MCP_STORE_OK && result != NULL) {
        rc = (txn == NULL) ? MCP_STORE_OK : mcp_store_txn_commit(txn);

        if (rc == MCP_STORE_OK) {
            return result;
        }

    } else {
        mcp_store_txn_abort(txn);
    }

    json_decref(result);

    if (rc == MCP_STORE_OK) {
        return ngx_http_mcp_tool_error("out of memory; nothing was saved");
    }

    if (rc == MCP_STORE_FULL || rc == MCP_STORE_QUOTA
        || rc == MCP_STORE_NOSPACE)
    {
        (void) ngx_http_mcp_store_error(call->r, rc, &failed);
    }

    if (rc == MCP_STORE_QUOTA) {
        return ngx_http_mcp_tool_error("%s", failed.message);
    }

    return ngx_http_mcp_tool_error("%s; nothing was saved",
                                   rc == MCP_STORE_ETOOBIG
                                   ? "over a size limit (names, types and "
                                     "context ids 256 bytes, observations "
                                     "8192 bytes, messages 65536 bytes, "
                                     "1024 observations an entity, 10000 "
                                     "messages a context)"
                                   : mcp_store_strerror(rc));
}


/* A directive's parameter it does not know, or whose value it refuses. */

char *
ngx_http_mcp_conf_invalid(ngx_conf_t *cf, ngx_str_t *value)
{
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", value);
    return NGX_CONF_ERROR;
}


/* the waits are rare (an exit during a write): a millisecond's sleep */

void
ngx_http_mcp_thread_wait(ngx_atomic_t *finished)
{
    while (!*finished) {
        ngx_msleep(1);
    }

    ngx_memory_barrier();
}


/* the thread's writes before the flag: the event loop reads them after */

void
ngx_http_mcp_thread_finish(ngx_atomic_t *finished)
{
    ngx_memory_barrier();
    *finished = 1;
}
