
/*
 * ngx_mcp: the MCP Streamable HTTP transport (location = /mcp {
 * mcp_endpoint; }).
 *
 * POST carries one JSON-RPC message: requests are answered with JSON, or
 * with an SSE stream when the method queued notifications before its
 * result; notifications and client responses get 202.  DELETE ends the
 * session; GET is 405 (no server-initiated stream).  Sessions live in the
 * store, so any worker serves any request of a session.
 */


#include "ngx_http_mcp_rpc.h"
#include "ngx_http_mcp_cluster.h"


#define NGX_HTTP_MCP_MAX_DEPTH            64
#define NGX_HTTP_MCP_SESSION_ID_LEN       32

#define NGX_HTTP_MCP_SESSION_NOT_FOUND    -32001


static ngx_str_t  ngx_http_mcp_protocols[] = {
    ngx_string("2025-11-25"),
    ngx_string("2025-06-18"),
    ngx_string("2025-03-26"),
    ngx_null_string
};


static ngx_str_t  ngx_http_mcp_local_hosts[] = {
    ngx_string("localhost"),
    ngx_string("127.0.0.1"),
    ngx_string("[::1]"),
    ngx_null_string
};


static void ngx_http_mcp_endpoint_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_mcp_endpoint_message(ngx_http_request_t *r);
static ngx_int_t ngx_http_mcp_request(ngx_http_mcp_call_t *call, json_t *id,
    const char *method, json_t *params);
static ngx_int_t ngx_http_mcp_delete(ngx_http_request_t *r);
static ngx_int_t ngx_http_mcp_session(ngx_http_mcp_call_t *call,
    ngx_http_mcp_error_t *err);
static ngx_int_t ngx_http_mcp_session_create(ngx_http_mcp_call_t *call,
    json_t *params, json_t *result, ngx_http_mcp_error_t *err);
static ngx_int_t ngx_http_mcp_send_sse(ngx_http_mcp_call_t *call,
    json_t *response);
static ngx_int_t ngx_http_mcp_check_origin(ngx_http_request_t *r,
    ngx_http_mcp_loc_conf_t *mlcf, ngx_http_mcp_error_t *err);
static ngx_int_t ngx_http_mcp_accepts(ngx_http_request_t *r);
static ngx_int_t ngx_http_mcp_depth(ngx_str_t *body);
static ngx_int_t ngx_http_mcp_add_header(ngx_http_request_t *r,
    const char *name, ngx_str_t *value);


/*
 * Returns the value of request header name, or NULL.
 */

ngx_str_t *
ngx_http_mcp_header(ngx_http_request_t *r, const char *name)
{
    size_t            len;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    len = ngx_strlen(name);
    part = &r->headers_in.headers.part;
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

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            return &h[i].value;
        }
    }
}


ngx_int_t
ngx_http_mcp_endpoint_handler(ngx_http_request_t *r)
{
    ngx_int_t                 rc;
    ngx_http_mcp_error_t      err;
    ngx_http_mcp_loc_conf_t  *mlcf;

    mlcf = ngx_http_get_module_loc_conf(r, ngx_mcp_module);

    if (ngx_http_mcp_check_origin(r, mlcf, &err) != NGX_OK) {
        return ngx_http_mcp_send_rpc_error(r, NGX_HTTP_FORBIDDEN, NULL, &err);
    }

    rc = ngx_http_mcp_auth(r, NGX_HTTP_MCP_SCOPE_MCP, &err);
    if (rc != NGX_OK) {
        err.status = NGX_HTTP_MCP_INVALID_REQUEST;
        return ngx_http_mcp_send_rpc_error(r, rc, NULL, &err);
    }

    if (r->method == NGX_HTTP_DELETE) {
        return ngx_http_mcp_delete(r);
    }

    if (r->method != NGX_HTTP_POST) {
        rc = ngx_http_mcp_add_header(r, "Allow", NULL);
        if (rc != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        (void) ngx_http_mcp_fail(&err, NGX_HTTP_MCP_INVALID_REQUEST, NULL,
                                 "method %.*s is not allowed: POST sends "
                                 "messages, DELETE ends a session; this "
                                 "server offers no GET stream",
                                 (int) r->method_name.len,
                                 r->method_name.data);

        return ngx_http_mcp_send_rpc_error(r, NGX_HTTP_NOT_ALLOWED, NULL,
                                           &err);
    }

    if (ngx_http_mcp_accepts(r) != NGX_OK) {
        (void) ngx_http_mcp_fail(&err, NGX_HTTP_MCP_INVALID_REQUEST, NULL,
                                 "Accept must allow both application/json "
                                 "and text/event-stream");

        return ngx_http_mcp_send_rpc_error(r, NGX_HTTP_MCP_NOT_ACCEPTABLE, NULL,
                                           &err);
    }

    if (r->headers_in.content_type == NULL
        || r->headers_in.content_type->value.len < 16
        || ngx_strncasecmp(r->headers_in.content_type->value.data,
                           (u_char *) "application/json", 16) != 0
        || (r->headers_in.content_type->value.len > 16
            && r->headers_in.content_type->value.data[16] != ';'
            && r->headers_in.content_type->value.data[16] != ' '))
    {
        (void) ngx_http_mcp_fail(&err, NGX_HTTP_MCP_INVALID_REQUEST, NULL,
                                 "Content-Type must be application/json");

        return ngx_http_mcp_send_rpc_error(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                           NULL, &err);
    }

    if (r->headers_in.content_length_n > (off_t) mlcf->max_message_size) {
        (void) ngx_http_mcp_fail(&err, NGX_HTTP_MCP_INVALID_REQUEST, NULL,
                                 "the message is larger than %zu bytes",
                                 mlcf->max_message_size);

        return ngx_http_mcp_send_rpc_error(r,
                                           NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                           NULL, &err);
    }

    rc = ngx_http_read_client_request_body(r, ngx_http_mcp_endpoint_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_mcp_endpoint_body(ngx_http_request_t *r)
{
    ngx_http_finalize_request(r, ngx_http_mcp_endpoint_message(r));
}


static ngx_int_t
ngx_http_mcp_endpoint_message(ngx_http_request_t *r)
{
    json_t                    *msg, *id, *params, *jsonrpc, *method;
    ngx_int_t                  status;
    ngx_str_t                  body, *version;
    ngx_uint_t                 i;
    json_error_t               jerr;
    ngx_http_mcp_call_t        call;
    ngx_http_mcp_error_t       err;
    ngx_http_mcp_loc_conf_t   *mlcf;

    mlcf = ngx_http_get_module_loc_conf(r, ngx_mcp_module);

    if (ngx_http_mcp_body(r, &body) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (body.len > mlcf->max_message_size) {
        (void) ngx_http_mcp_fail(&err, NGX_HTTP_MCP_INVALID_REQUEST, NULL,
                                 "the message is larger than %zu bytes",
                                 mlcf->max_message_size);

        return ngx_http_mcp_send_rpc_error(r,
                                           NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                           NULL, &err);
    }

    if (ngx_http_mcp_depth(&body) != NGX_OK) {
        (void) ngx_http_mcp_fail(&err, NGX_HTTP_MCP_PARSE_ERROR, NULL,
                                 "Parse error: JSON nested deeper than %d "
                                 "levels", NGX_HTTP_MCP_MAX_DEPTH);

        return ngx_http_mcp_send_rpc_error(r, NGX_HTTP_BAD_REQUEST, NULL,
                                           &err);
    }

    msg = json_loadb((char *) body.data, body.len, JSON_REJECT_DUPLICATES,
                     &jerr);
    if (msg == NULL) {
        (void) ngx_http_mcp_fail(&err, NGX_HTTP_MCP_PARSE_ERROR, NULL,
                                 "Parse error at line %d, column %d: %s",
                                 jerr.line, jerr.column,
                                 ngx_http_mcp_json_reason(&jerr));

        return ngx_http_mcp_send_rpc_error(r, NGX_HTTP_BAD_REQUEST, NULL,
                                           &err);
    }

    ngx_http_mcp_json_cleanup(r->pool, msg);

    if (json_is_array(msg)) {
        (void) ngx_http_mcp_fail(&err, NGX_HTTP_MCP_INVALID_REQUEST, NULL,
                                 "Invalid Request: batches are not "
                                 "supported; send one message per POST");

        return ngx_http_mcp_send_rpc_error(r, NGX_HTTP_BAD_REQUEST, NULL,
                                           &err);
    }

    id = json_is_object(msg) ? json_object_get(msg, "id") : NULL;

    if (id != NULL && !json_is_string(id) && !json_is_integer(id)) {
        id = NULL;
    }

    jsonrpc = json_object_get(msg, "jsonrpc");

    if (!json_is_object(msg) || !json_is_string(jsonrpc)
        || ngx_strcmp(json_string_value(jsonrpc), "2.0") != 0)
    {
        (void) ngx_http_mcp_fail(&err, NGX_HTTP_MCP_INVALID_REQUEST, NULL,
                                 "Invalid Request: not a JSON-RPC 2.0 "
                                 "message (\"jsonrpc\": \"2.0\" is "
                                 "required)");

        return ngx_http_mcp_send_rpc_error(r, NGX_HTTP_BAD_REQUEST, id, &err);
    }

    version = ngx_http_mcp_header(r, "MCP-Protocol-Version");

    if (version) {
        for (i = 0; ngx_http_mcp_protocols[i].len; i++) {
            if (version->len == ngx_http_mcp_protocols[i].len
                && ngx_strncmp(version->data, ngx_http_mcp_protocols[i].data,
                               version->len) == 0)
            {
                break;
            }
        }

        if (ngx_http_mcp_protocols[i].len == 0) {
            (void) ngx_http_mcp_fail(&err, NGX_HTTP_MCP_INVALID_REQUEST, NULL,
                                     "Bad Request: unsupported "
                                     "MCP-Protocol-Version \"%.*s\" "
                                     "(supported: 2025-11-25, 2025-06-18, "
                                     "2025-03-26)",
                                     (int) ngx_min(version->len, 64),
                                     version->data);

            return ngx_http_mcp_send_rpc_error(r, NGX_HTTP_BAD_REQUEST, id,
                                               &err);
        }
    }

    ngx_memzero(&call, sizeof(ngx_http_mcp_call_t));

    call.r = r;
    call.mlcf = mlcf;
    call.mmcf = ngx_http_get_module_main_conf(r, ngx_mcp_module);

    if (version) {
        call.protocol = *version;

    } else {
        ngx_str_set(&call.protocol, "2025-03-26");
    }

    method = json_object_get(msg, "method");
    params = json_object_get(msg, "params");

    if (method == NULL) {

        /* a response to a request of ours: none is sent yet */

        if (json_object_get(msg, "id") != NULL
            && (json_object_get(msg, "result") != NULL
                || json_object_get(msg, "error") != NULL))
        {
            status = ngx_http_mcp_session(&call, &err);
            if (status != NGX_OK) {
                return ngx_http_mcp_send_rpc_error(r, status, NULL, &err);
            }

            return ngx_http_mcp_send_empty(r, NGX_HTTP_ACCEPTED);
        }

        (void) ngx_http_mcp_fail(&err, NGX_HTTP_MCP_INVALID_REQUEST, NULL,
                                 "Invalid Request: a message needs a "
                                 "\"method\", or a \"result\" or \"error\" "
                                 "with its \"id\"");

        return ngx_http_mcp_send_rpc_error(r, NGX_HTTP_BAD_REQUEST, id, &err);
    }

    if (!json_is_string(method)) {
        (void) ngx_http_mcp_fail(&err, NGX_HTTP_MCP_INVALID_REQUEST, NULL,
                                 "Invalid Request: \"method\" must be a "
                                 "string");

        return ngx_http_mcp_send_rpc_error(r, NGX_HTTP_BAD_REQUEST, id, &err);
    }

    if (json_object_get(msg, "id") != NULL && id == NULL) {
        (void) ngx_http_mcp_fail(&err, NGX_HTTP_MCP_INVALID_REQUEST, NULL,
                                 "Invalid Request: \"id\" must be a string "
                                 "or an integer");

        return ngx_http_mcp_send_rpc_error(r, NGX_HTTP_BAD_REQUEST, NULL,
                                           &err);
    }

    if (params != NULL && !json_is_object(params)) {
        (void) ngx_http_mcp_fail(&err, NGX_HTTP_MCP_INVALID_PARAMS, NULL,
                                 "Invalid params: \"params\" must be an "
                                 "object");

        if (id == NULL) {
            return ngx_http_mcp_send_empty(r, NGX_HTTP_ACCEPTED);
        }

        return ngx_http_mcp_send_rpc_error(r, NGX_HTTP_OK, id, &err);
    }

    if (id != NULL
        && ngx_strcmp(json_string_value(method), "initialize") == 0)
    {
        return ngx_http_mcp_request(&call, id, "initialize", params);
    }

    status = ngx_http_mcp_session(&call, &err);
    if (status != NGX_OK) {
        return ngx_http_mcp_send_rpc_error(r, status, id, &err);
    }

    if (id == NULL) {
        /* notifications: initialized, cancelled, progress, roots... */
        return ngx_http_mcp_send_empty(r, NGX_HTTP_ACCEPTED);
    }

    return ngx_http_mcp_request(&call, id, json_string_value(method), params);
}


static ngx_int_t
ngx_http_mcp_request(ngx_http_mcp_call_t *call, json_t *id,
    const char *method, json_t *params)
{
    json_t                *result, *meta, *empty;
    ngx_http_mcp_error_t   err;

    empty = NULL;

    if (params == NULL) {
        params = empty = json_object();
        if (params == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_mcp_json_cleanup(call->r->pool, empty);
    }

    meta = json_object_get(params, "_meta");
    call->progress_token = json_is_object(meta)
                           ? json_object_get(meta, "progressToken") : NULL;
    call->id = id;
    call->method = method;
    call->params = params;

    result = ngx_http_mcp_dispatch(call, method, params, &err);

    if (result == NULL && err.status == NGX_HTTP_MCP_DEFERRED) {
        /* the method waits for the cluster: ngx_http_mcp_respond() ends
         * the request */
        return NGX_DONE;
    }

    return ngx_http_mcp_respond(call, result, &err);
}


/*
 * Answers the request of call with result, or with err when result is
 * NULL.  Called when the method returns, or later for one that waited.
 */

ngx_int_t
ngx_http_mcp_respond(ngx_http_mcp_call_t *call, json_t *result,
    ngx_http_mcp_error_t *err)
{
    json_t      *id, *params, *response;
    ngx_int_t    rc;
    const char  *method;

    id = call->id;
    method = call->method;
    params = call->params;

    if (result == NULL) {
        if (call->stream == NULL) {
            return ngx_http_mcp_send_rpc_error(call->r, NGX_HTTP_OK, id,
                                               err);
        }

        response = json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0",
                             "id", id, "error", "code", (int) err->status,
                             "message", err->message);

    } else {
        /* a session made in a cluster answers again, with its id */

        rc = (ngx_strcmp(method, "initialize") == 0 && call->session.len == 0)
             ? ngx_http_mcp_session_create(call, params, result, err)
             : NGX_OK;

        if (rc == NGX_DONE) {
            return NGX_DONE;
        }

        if (rc != NGX_OK) {
            json_decref(result);
            return ngx_http_mcp_send_rpc_error(call->r,
                                               (rc == NGX_DECLINED)
                                               ? NGX_HTTP_SERVICE_UNAVAILABLE
                                               : NGX_HTTP_INTERNAL_SERVER_ERROR,
                                               id, err);
        }

        response = json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id,
                             "result", result);
    }

    if (response == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_mcp_json_cleanup(call->r->pool, response);

    if (call->session.len
        && ngx_http_mcp_add_header(call->r, "Mcp-Session-Id", &call->session)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (call->stream) {
        return ngx_http_mcp_send_sse(call, response);
    }

    rc = ngx_http_mcp_send_json(call->r, NGX_HTTP_OK, response);

    return rc;
}


/*
 * Finds the session of the request (Mcp-Session-Id) in the store: NGX_OK
 * with call->session, protocol and log level set, or the HTTP status to
 * refuse the request with (400 without the header, 404 for a session that
 * is unknown or expired, 500) and err.
 */

static ngx_int_t
ngx_http_mcp_session(ngx_http_mcp_call_t *call, ngx_http_mcp_error_t *err)
{
    int                   rc;
    int64_t               now;
    ngx_str_t            *id;
    mcp_store_touch_t     touch;
    mcp_store_session_t   session;

    id = ngx_http_mcp_header(call->r, "Mcp-Session-Id");

    if (id == NULL) {
        (void) ngx_http_mcp_fail(err, NGX_HTTP_MCP_INVALID_REQUEST, NULL,
                                 "Bad Request: the Mcp-Session-Id header is "
                                 "required; send initialize first");
        return NGX_HTTP_BAD_REQUEST;
    }

    if (ngx_http_mcp_valid_code(id) != NGX_OK) {
        goto not_found;
    }

    rc = mcp_store_session_get(call->mmcf->store, (char *) id->data, id->len,
                               &session);

    if (rc == MCP_STORE_NOTFOUND) {
        goto not_found;
    }

    if (rc != MCP_STORE_OK) {
        (void) ngx_http_mcp_store_error(call->r, rc, err);
        err->status = NGX_HTTP_MCP_INTERNAL_ERROR;
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* a session is its tenant's: to another tenant's key it does not
     * exist (the client initializes a session of its own) */

    if (ngx_http_mcp_owns(call->r, session.tenant, session.tenant_len)
        != NGX_OK)
    {
        mcp_store_release(call->mmcf->store);
        ngx_log_error(NGX_LOG_INFO, call->r->connection->log, 0,
                      "mcp: session of another tenant");
        goto not_found;
    }

    call->session = *id;
    call->log_level = session.log_level;

    call->protocol.data = ngx_pnalloc(call->r->pool, session.protocol_len);
    if (call->protocol.data == NULL) {
        mcp_store_release(call->mmcf->store);
        (void) ngx_http_mcp_fail(err, NGX_HTTP_MCP_INTERNAL_ERROR, NULL,
                                 "out of memory");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    call->protocol.len = session.protocol_len;
    ngx_memcpy(call->protocol.data, session.protocol, session.protocol_len);

    mcp_store_release(call->mmcf->store);

    now = ngx_time();

    /* in a cluster both go through the log; nobody waits for them */

    if (now - session.last_seen
        >= (int64_t) (call->mmcf->session_timeout / 1000))
    {
        if (ngx_http_mcp_cluster_session_note(call->r,
                                              MCP_STORE_OP_SESSION_DELETE,
                                              id, 0)
            == NGX_DECLINED)
        {
            (void) mcp_store_session_delete(call->mmcf->store,
                                            (char *) id->data, id->len);
        }

        goto not_found;
    }

    /* last-seen is for expiry: a write a minute is precise enough */

    if (now - session.last_seen >= 60
        && ngx_http_mcp_cluster_session_note(call->r,
                                             MCP_STORE_OP_SESSION_TOUCH,
                                             id, now)
           == NGX_DECLINED)
    {
        touch.id = (char *) id->data;
        touch.id_len = id->len;
        touch.last_seen = now;

        (void) mcp_store_session_touch(call->mmcf->store, &touch, 1);
    }

    return NGX_OK;

not_found:

    (void) ngx_http_mcp_fail(err, NGX_HTTP_MCP_SESSION_NOT_FOUND, NULL,
                             "Session not found: it ended or expired; send "
                             "initialize again");
    return NGX_HTTP_NOT_FOUND;
}


static ngx_int_t
ngx_http_mcp_session_create(ngx_http_mcp_call_t *call, json_t *params,
    json_t *result, ngx_http_mcp_error_t *err)
{
    int                   rc;
    u_char               *id;
    json_t               *info, *v;
    ngx_uint_t            tries;
    ngx_http_mcp_key_t   *caller;
    mcp_store_session_t   session;

    id = ngx_pnalloc(call->r->pool, NGX_HTTP_MCP_SESSION_ID_LEN);
    if (id == NULL) {
        return ngx_http_mcp_fail(err, NGX_HTTP_MCP_INTERNAL_ERROR, NULL,
                                 "out of memory");
    }

    ngx_memzero(&session, sizeof(mcp_store_session_t));

    session.created_at = ngx_time();
    session.last_seen = session.created_at;
    session.protocol = (char *) call->protocol.data;
    session.protocol_len = call->protocol.len;
    session.log_level = NGX_HTTP_MCP_LOG_DEBUG;

    /* the session is the tenant's of the key that started it */

    caller = ngx_http_mcp_caller(call->r);
    session.tenant = (const char *) caller->tenant.data;
    session.tenant_len = caller->tenant.len;

    info = json_object_get(params, "clientInfo");

    v = json_object_get(info, "name");
    if (json_is_string(v)) {
        session.client_name = json_string_value(v);
        session.client_name_len = ngx_min(json_string_length(v), 1024);
    }

    v = json_object_get(info, "version");
    if (json_is_string(v)) {
        session.client_version = json_string_value(v);
        session.client_version_len = ngx_min(json_string_length(v), 1024);
    }

    if (ngx_http_mcp_cluster_enabled(call->r)) {
        return ngx_http_mcp_cluster_session(call, id,
                                            NGX_HTTP_MCP_SESSION_ID_LEN,
                                            &session, result, err);
    }

    for (tries = 0; tries < 4; tries++) {
        rc = mcp_store_random_code((char *) id, NGX_HTTP_MCP_SESSION_ID_LEN);
        if (rc != MCP_STORE_OK) {
            break;
        }

        rc = mcp_store_session_put(call->mmcf->store, (char *) id,
                                   NGX_HTTP_MCP_SESSION_ID_LEN, &session);
        if (rc != MCP_STORE_EXISTS) {
            break;
        }
    }

    if (rc != MCP_STORE_OK) {
        (void) ngx_http_mcp_store_error(call->r, rc, err);
        return ngx_http_mcp_fail(err, NGX_HTTP_MCP_INTERNAL_ERROR, NULL,
                                 "cannot start a session: %s",
                                 mcp_store_strerror(rc));
    }

    call->session.data = id;
    call->session.len = NGX_HTTP_MCP_SESSION_ID_LEN;

    return NGX_OK;
}


/*
 * Stores the session's logging level (logging/setLevel).
 */

ngx_int_t
ngx_http_mcp_session_set_level(ngx_http_mcp_call_t *call, ngx_uint_t level,
    ngx_http_mcp_error_t *err)
{
    int                   rc;
    mcp_store_session_t   session;

    if (ngx_http_mcp_cluster_enabled(call->r)) {
        return ngx_http_mcp_cluster_session_level(call, level, err);
    }

    rc = mcp_store_session_get(call->mmcf->store, (char *) call->session.data,
                               call->session.len, &session);

    if (rc == MCP_STORE_OK) {
        session.log_level = level;

        /* the strings still point into the snapshot: update copies them */
        rc = mcp_store_session_update(call->mmcf->store,
                                      (char *) call->session.data,
                                      call->session.len, &session);
    }

    mcp_store_release(call->mmcf->store);

    if (rc != MCP_STORE_OK) {
        (void) ngx_http_mcp_store_error(call->r, rc, err);
        return ngx_http_mcp_fail(err, NGX_HTTP_MCP_INTERNAL_ERROR, NULL,
                                 "%s", err->message);
    }

    call->log_level = level;

    return NGX_OK;
}


static ngx_int_t
ngx_http_mcp_delete(ngx_http_request_t *r)
{
    int                    rc;
    ngx_int_t              status;
    ngx_http_mcp_call_t    call;
    ngx_http_mcp_error_t   err;

    ngx_memzero(&call, sizeof(ngx_http_mcp_call_t));

    call.r = r;
    call.mlcf = ngx_http_get_module_loc_conf(r, ngx_mcp_module);
    call.mmcf = ngx_http_get_module_main_conf(r, ngx_mcp_module);

    status = ngx_http_mcp_session(&call, &err);
    if (status != NGX_OK) {
        return ngx_http_mcp_send_rpc_error(r, status, NULL, &err);
    }

    if (ngx_http_mcp_cluster_enabled(r)) {
        return ngx_http_mcp_cluster_session_end(r, &call.session);
    }

    rc = mcp_store_session_delete(call.mmcf->store,
                                  (char *) call.session.data,
                                  call.session.len);

    if (rc != MCP_STORE_OK && rc != MCP_STORE_NOTFOUND) {
        (void) ngx_http_mcp_store_error(r, rc, &err);
        return ngx_http_mcp_send_rpc_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                           NULL, &err);
    }

    return ngx_http_mcp_send_empty(r, NGX_HTTP_OK);
}


/*
 * A response with no body: 202 for notifications and client responses,
 * 200 for DELETE.
 */

ngx_int_t
ngx_http_mcp_send_empty(ngx_http_request_t *r, ngx_uint_t status)
{
    ngx_int_t  rc;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    r->header_only = 1;
    r->headers_out.status = status;
    r->headers_out.content_length_n = 0;

    return ngx_http_send_header(r);
}


/*
 * A JSON-RPC error response, with the HTTP status the transport rules
 * give: 200 for errors of a method, 4xx for messages refused whole.
 */

ngx_int_t
ngx_http_mcp_send_rpc_error(ngx_http_request_t *r, ngx_uint_t status,
    json_t *id, ngx_http_mcp_error_t *err)
{
    json_t     *json;
    ngx_int_t   rc;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    json = json_pack("{s:s, s:O?, s:{s:i, s:s}}", "jsonrpc", "2.0",
                     "id", id, "error", "code", (int) err->status,
                     "message", err->message);
    if (json == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_mcp_send_json(r, status, json);

    json_decref(json);

    return rc;
}


/*
 * The queued notifications, then the response, as one SSE stream.
 */

static ngx_int_t
ngx_http_mcp_send_sse(ngx_http_mcp_call_t *call, json_t *response)
{
    size_t      len, n;
    json_t     *msg;
    ngx_buf_t  *b;
    ngx_str_t   type;
    ngx_uint_t  i;
    ngx_str_t   no_cache = ngx_string("no-cache");

    static const char  prefix[] = "event: message\ndata: ";

    if (json_array_append(call->stream, response) != 0) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = 0;

    json_array_foreach(call->stream, i, msg) {
        len += sizeof(prefix) - 1 + json_dumpb(msg, NULL, 0, JSON_COMPACT)
               + 2;
    }

    b = ngx_create_temp_buf(call->r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    json_array_foreach(call->stream, i, msg) {
        b->last = ngx_cpymem(b->last, prefix, sizeof(prefix) - 1);
        n = json_dumpb(msg, (char *) b->last, b->end - b->last, JSON_COMPACT);
        b->last += n;
        *b->last++ = '\n';
        *b->last++ = '\n';
    }

    if (ngx_http_mcp_add_header(call->r, "Cache-Control", &no_cache)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&type, "text/event-stream");

    return ngx_http_mcp_send(call->r, NGX_HTTP_OK, &type, b);
}


/*
 * DNS rebinding protection: Host must name this server, and Origin, when
 * a browser sends one, must be an allowed origin.  By default both may
 * be localhost, 127.0.0.1, [::1] or one of the server's names;
 * mcp_allowed_hosts and mcp_allowed_origins replace that ("*": any).
 */

static ngx_int_t
ngx_http_mcp_name_allowed(ngx_http_request_t *r, ngx_array_t *list,
    ngx_str_t *name, ngx_str_t *full)
{
    ngx_str_t                *s;
    ngx_uint_t                i;
    ngx_http_mcp_loc_conf_t  *mlcf;

    if (list) {
        s = list->elts;

        for (i = 0; i < list->nelts; i++) {
            if ((s[i].len == 1 && s[i].data[0] == '*')
                || (s[i].len == full->len
                    && ngx_strncasecmp(s[i].data, full->data, full->len)
                       == 0))
            {
                return NGX_OK;
            }
        }

        return NGX_DECLINED;
    }

    for (s = ngx_http_mcp_local_hosts; s->len; s++) {
        if (s->len == name->len
            && ngx_strncasecmp(s->data, name->data, name->len) == 0)
        {
            return NGX_OK;
        }
    }

    /* the server's names, copied from its configuration (its own array
     * is gone once the configuration is read) */

    mlcf = ngx_http_get_module_loc_conf(r, ngx_mcp_module);

    if (mlcf->server_names == NULL) {
        return NGX_DECLINED;
    }

    s = mlcf->server_names->elts;

    for (i = 0; i < mlcf->server_names->nelts; i++) {
        if (s[i].len == name->len
            && ngx_strncasecmp(s[i].data, name->data, name->len) == 0)
        {
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


/*
 * "host[:port]" or "[v6][:port]" without the port.
 */

static void
ngx_http_mcp_strip_port(ngx_str_t *authority, ngx_str_t *host)
{
    u_char  *p, *last;

    host->data = authority->data;
    last = authority->data + authority->len;

    for (p = last; p > authority->data && p[-1] >= '0' && p[-1] <= '9'; p--)
    {
        /* void */
    }

    if (p > authority->data && p[-1] == ':') {
        last = p - 1;
    }

    host->len = last - authority->data;
}


static ngx_int_t
ngx_http_mcp_check_origin(ngx_http_request_t *r,
    ngx_http_mcp_loc_conf_t *mlcf, ngx_http_mcp_error_t *err)
{
    u_char     *p;
    ngx_str_t   host, authority, *origin;

    if (r->headers_in.host == NULL) {
        return ngx_http_mcp_fail(err, NGX_HTTP_MCP_INVALID_REQUEST, NULL,
                                 "Forbidden: a Host header is required");
    }

    ngx_http_mcp_strip_port(&r->headers_in.host->value, &host);

    if (ngx_http_mcp_name_allowed(r, mlcf->allowed_hosts, &host, &host)
        != NGX_OK)
    {
        return ngx_http_mcp_fail(err, NGX_HTTP_MCP_INVALID_REQUEST, NULL,
                                 "Forbidden: Host \"%.*s\" is not allowed",
                                 (int) ngx_min(host.len, 128), host.data);
    }

    origin = ngx_http_mcp_header(r, "Origin");

    if (origin == NULL) {
        return NGX_OK;
    }

    p = ngx_strlcasestrn(origin->data, origin->data + origin->len,
                         (u_char *) "://", 3 - 1);

    if (p != NULL) {
        authority.data = p + 3;
        authority.len = origin->data + origin->len - authority.data;
        ngx_http_mcp_strip_port(&authority, &host);

        if (host.len
            && ngx_http_mcp_name_allowed(r, mlcf->allowed_origins, &host,
                                         origin)
               == NGX_OK)
        {
            return NGX_OK;
        }
    }

    return ngx_http_mcp_fail(err, NGX_HTTP_MCP_INVALID_REQUEST, NULL,
                             "Forbidden: Origin \"%.*s\" is not allowed",
                             (int) ngx_min(origin->len, 128), origin->data);
}


/*
 * Accept must allow both application/json and text/event-stream.
 */

static ngx_int_t
ngx_http_mcp_accepts(ngx_http_request_t *r)
{
    u_char     *p, *last;
    ngx_str_t  *accept;
    ngx_uint_t  json, sse;

    accept = ngx_http_mcp_header(r, "Accept");

    if (accept == NULL) {
        return NGX_DECLINED;
    }

    last = accept->data + accept->len;

    json = (ngx_strlcasestrn(accept->data, last, (u_char *) "*/*", 3 - 1)
            != NULL);
    sse = json;

    p = ngx_strlcasestrn(accept->data, last, (u_char *) "application/", 12 - 1);
    if (p) {
        json |= (last - p >= 16
                 && ngx_strncasecmp(p + 12, (u_char *) "json", 4) == 0)
                || (last - p >= 13 && p[12] == '*');
    }

    p = ngx_strlcasestrn(accept->data, last, (u_char *) "text/", 5 - 1);
    if (p) {
        sse |= (last - p >= 17
                && ngx_strncasecmp(p + 5, (u_char *) "event-stream", 12) == 0)
               || (last - p >= 6 && p[5] == '*');
    }

    return (json && sse) ? NGX_OK : NGX_DECLINED;
}


/*
 * Refuses nesting deeper than NGX_HTTP_MCP_MAX_DEPTH before the parser
 * sees it.
 */

static ngx_int_t
ngx_http_mcp_depth(ngx_str_t *body)
{
    u_char      *p, *last;
    ngx_uint_t   depth, string;

    depth = 0;
    string = 0;
    last = body->data + body->len;

    for (p = body->data; p < last; p++) {

        if (string) {
            if (*p == '\\') {
                p++;

            } else if (*p == '"') {
                string = 0;
            }

            continue;
        }

        switch (*p) {

        case '"':
            string = 1;
            break;

        case '[':
        case '{':
            if (++depth > NGX_HTTP_MCP_MAX_DEPTH) {
                return NGX_DECLINED;
            }
            break;

        case ']':
        case '}':
            if (depth) {
                depth--;
            }
            break;
        }
    }

    return NGX_OK;
}


/*
 * Adds a response header; for "Allow" (value NULL) the methods of the
 * endpoint.
 */

static ngx_int_t
ngx_http_mcp_add_header(ngx_http_request_t *r, const char *name,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);

    if (value) {
        h->value = *value;

    } else {
        ngx_str_set(&h->value, "POST, DELETE");
    }

    return NGX_OK;
}
