
/*
 * ngx_mcp: the MCP Streamable HTTP transport (location = /mcp {
 * mcp_endpoint; }).
 *
 * POST carries one JSON-RPC message: requests are answered with JSON, or
 * with an SSE stream when the method queued notifications before its
 * result or waits for the client (ngx_http_mcp_stream.c); notifications
 * and client responses get 202.  GET opens the session's stream of
 * server-initiated messages, or resumes a stream (ngx_http_mcp_stream.c).
 * DELETE ends the session (ngx_http_mcp_session.c).  OPTIONS answers a
 * browser's CORS preflight, and every response to an allowed Origin
 * names it in Access-Control-Allow-Origin.
 */


#include "ngx_http_mcp_rpc.h"


#define NGX_HTTP_MCP_MAX_DEPTH            64
#define NGX_HTTP_MCP_ACCEPT               "application/json, text/event-stream"


/* A JSON-RPC message being served, as far as the transport reads it. */
typedef struct {
    ngx_http_mcp_call_t        call;
    ngx_http_mcp_error_t       err;        /* why it is refused */
    json_t                    *json;
    json_t                    *id;         /* a valid id, or NULL */
    json_t                    *method;     /* NULL: a response */
    json_t                    *params;
    json_t                    *jsonrpc;
    unsigned                   has_id:1;   /* an "id", valid or not */
    unsigned                   answer:1;   /* a "result" or an "error" */
} ngx_http_mcp_message_t;


static ngx_str_t  ngx_http_mcp_local_hosts[] = {
    ngx_string("localhost"),
    ngx_string("127.0.0.1"),
    ngx_string("[::1]"),
    ngx_null_string
};


static ngx_int_t ngx_http_mcp_endpoint_post(ngx_http_request_t *r,
    ngx_http_mcp_error_t *err);
static ngx_int_t ngx_http_mcp_endpoint_parse(ngx_http_mcp_message_t *m);
static void ngx_http_mcp_endpoint_members(ngx_http_mcp_message_t *m);
static ngx_int_t ngx_http_mcp_endpoint_version(ngx_http_mcp_message_t *m);
static ngx_int_t ngx_http_mcp_endpoint_check(ngx_http_mcp_message_t *m);
static ngx_int_t ngx_http_mcp_endpoint_request(ngx_http_mcp_message_t *m);
static ngx_int_t ngx_http_mcp_endpoint_delete(ngx_http_request_t *r);
static ngx_int_t ngx_http_mcp_endpoint_get(ngx_http_request_t *r);
static ngx_int_t ngx_http_mcp_endpoint_preflight(ngx_http_request_t *r);
static void ngx_http_mcp_call_init(ngx_http_request_t *r,
    ngx_http_mcp_call_t *call);
static ngx_int_t ngx_http_mcp_endpoint_too_large(ngx_http_request_t *r,
    ngx_http_mcp_error_t *err);
static void ngx_http_mcp_response_write(ngx_http_mcp_jw_t *w,
    ngx_http_mcp_call_t *call, json_t *result, ngx_http_mcp_error_t *err);
static void ngx_http_mcp_error_write(ngx_http_mcp_jw_t *w, json_t *id,
    ngx_http_mcp_error_t *err);
static void ngx_http_mcp_envelope(ngx_http_mcp_jw_t *w, json_t *id);
static ngx_int_t ngx_http_mcp_send_sse(ngx_http_mcp_call_t *call,
    json_t *result, ngx_http_mcp_error_t *err);
static ngx_int_t ngx_http_mcp_check_origin(ngx_http_request_t *r,
    ngx_http_mcp_error_t *err);
static ngx_int_t ngx_http_mcp_cors(ngx_http_request_t *r,
    ngx_str_t *origin);
static ngx_int_t ngx_http_mcp_accepts(ngx_http_request_t *r);


ngx_int_t
ngx_http_mcp_endpoint_handler(ngx_http_request_t *r)
{
    ngx_int_t             rc;
    ngx_http_mcp_error_t  err;

    rc = ngx_http_mcp_check_origin(r, &err);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc != NGX_OK) {
        return ngx_http_mcp_send_rpc_error(r, NULL, &err);
    }

    /* a preflight never carries credentials: answered before auth */

    if (r->method == NGX_HTTP_OPTIONS) {
        return ngx_http_mcp_endpoint_preflight(r);
    }

    if (ngx_http_mcp_auth(r, NGX_HTTP_MCP_PERM_MCP, &err) != NGX_OK) {
        err.code = NGX_HTTP_MCP_INVALID_REQUEST;
        return ngx_http_mcp_send_rpc_error(r, NULL, &err);
    }

    if (r->method == NGX_HTTP_DELETE) {
        return ngx_http_mcp_endpoint_delete(r);
    }

    if (r->method == NGX_HTTP_GET) {
        return ngx_http_mcp_endpoint_get(r);
    }

    rc = ngx_http_mcp_endpoint_post(r, &err);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc != NGX_OK) {
        return ngx_http_mcp_send_rpc_error(r, NULL, &err);
    }

    return ngx_http_mcp_read_body(r);
}


/*
 * What a message must come with: POST, an Accept of both JSON and SSE, a
 * JSON body within mcp_max_message_size.  NGX_OK, NGX_DECLINED with err,
 * or NGX_ERROR.
 */

static ngx_int_t
ngx_http_mcp_endpoint_post(ngx_http_request_t *r, ngx_http_mcp_error_t *err)
{
    ngx_str_t                *type;
    ngx_http_mcp_loc_conf_t  *mlcf;

    static ngx_str_t  allow = ngx_string("GET, POST, DELETE, OPTIONS");

    if (r->method != NGX_HTTP_POST) {
        if (ngx_http_mcp_add_header(r, "Allow", &allow) == NULL) {
            return NGX_ERROR;
        }

        return ngx_http_mcp_rpc_error(err, NGX_HTTP_NOT_ALLOWED,
                                      NGX_HTTP_MCP_INVALID_REQUEST,
                                      "method %.*s is not allowed: POST "
                                      "sends messages, GET opens the "
                                      "session's stream, DELETE ends a "
                                      "session",
                                      (int) r->method_name.len,
                                      r->method_name.data);
    }

    if (ngx_http_mcp_accepts(r) != NGX_OK) {
        return ngx_http_mcp_rpc_error(err, NGX_HTTP_MCP_NOT_ACCEPTABLE,
                                      NGX_HTTP_MCP_INVALID_REQUEST,
                                      "Accept must allow both "
                                      "application/json and "
                                      "text/event-stream");
    }

    type = r->headers_in.content_type ? &r->headers_in.content_type->value
                                      : NULL;

    if (type == NULL || type->len < 16
        || ngx_strncasecmp(type->data, (u_char *) "application/json", 16)
           != 0
        || (type->len > 16 && type->data[16] != ';'
            && type->data[16] != ' '))
    {
        return ngx_http_mcp_rpc_error(err, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                      NGX_HTTP_MCP_INVALID_REQUEST,
                                      "Content-Type must be "
                                      "application/json");
    }

    mlcf = ngx_http_get_module_loc_conf(r, ngx_mcp_module);

    if (r->headers_in.content_length_n > (off_t) mlcf->max_message_size) {
        return ngx_http_mcp_endpoint_too_large(r, err);
    }

    return NGX_OK;
}


/*
 * The body, read: one message, parsed, its protocol version checked,
 * then, by what it is, a request answered by its method, or a
 * notification or a response to us accepted (202) within the session.
 */

ngx_int_t
ngx_http_mcp_endpoint_body(ngx_http_request_t *r)
{
    ngx_int_t               rc;
    ngx_http_mcp_message_t  m;

    ngx_memzero(&m, sizeof(ngx_http_mcp_message_t));
    ngx_http_mcp_call_init(r, &m.call);

    rc = ngx_http_mcp_endpoint_parse(&m);

    if (rc == NGX_OK) {
        rc = ngx_http_mcp_endpoint_version(&m);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_mcp_endpoint_check(&m);
    }

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc != NGX_OK) {

        /* an error of the method (answered with 200) is not answered to a
         * notification */

        if (m.err.status == NGX_HTTP_OK && m.id == NULL && m.method != NULL) {
            return ngx_http_mcp_send_empty(r, NGX_HTTP_ACCEPTED);
        }

        return ngx_http_mcp_send_rpc_error(r, m.id, &m.err);
    }

    if (m.method == NULL || m.id == NULL) {

        /* a response to a request of ours, handed to the worker that
         * waits for it, or a notification: initialized, cancelled,
         * progress, roots... */

        if (ngx_http_mcp_session_find(&m.call, &m.err) != NGX_OK
            || (m.method == NULL
                && ngx_http_mcp_stream_answer(&m.call, m.json, &m.err)
                   != NGX_OK))
        {
            return ngx_http_mcp_send_rpc_error(r, NULL, &m.err);
        }

        if (m.method != NULL
            && ngx_strcmp(json_string_value(m.method),
                          "notifications/cancelled")
               == 0)
        {
            ngx_http_mcp_stream_cancel(&m.call, m.params);
        }

        return ngx_http_mcp_send_empty(r, NGX_HTTP_ACCEPTED);
    }

    if (ngx_http_mcp_opens_session(json_string_value(m.method)) != NGX_OK
        && ngx_http_mcp_session_find(&m.call, &m.err) != NGX_OK)
    {
        return ngx_http_mcp_send_rpc_error(r, m.id, &m.err);
    }

    return ngx_http_mcp_endpoint_request(&m);
}


/*
 * Reads the body as one JSON-RPC 2.0 message (not a batch): NGX_OK,
 * NGX_DECLINED with err, or NGX_ERROR.  m->id is set as soon as the
 * message is known, so that refusals from then on echo it.
 */

static ngx_int_t
ngx_http_mcp_endpoint_parse(ngx_http_mcp_message_t *m)
{
    json_t                   *jsonrpc;
    ngx_str_t                 body;
    json_error_t              jerr;
    ngx_http_request_t       *r;
    ngx_http_mcp_error_t     *err;
    ngx_http_mcp_loc_conf_t  *mlcf;

    r = m->call.r;
    err = &m->err;
    mlcf = m->call.mlcf;

    if (ngx_http_mcp_body(r, &body) != NGX_OK) {
        return NGX_ERROR;
    }

    if (body.len > mlcf->max_message_size) {
        return ngx_http_mcp_endpoint_too_large(r, err);
    }

    if (ngx_http_mcp_depth(&body, NGX_HTTP_MCP_MAX_DEPTH) != NGX_OK) {
        return ngx_http_mcp_rpc_error(err, NGX_HTTP_BAD_REQUEST,
                                      NGX_HTTP_MCP_PARSE_ERROR,
                                      "Parse error: JSON nested deeper than "
                                      "%d levels", NGX_HTTP_MCP_MAX_DEPTH);
    }

    m->json = json_loadb((char *) body.data, body.len, JSON_REJECT_DUPLICATES,
                         &jerr);
    if (m->json == NULL) {
        return ngx_http_mcp_rpc_error(err, NGX_HTTP_BAD_REQUEST,
                                      NGX_HTTP_MCP_PARSE_ERROR,
                                      "Parse error at line %d, column %d: "
                                      "%s", jerr.line, jerr.column,
                                      ngx_http_mcp_json_reason(&jerr));
    }

    ngx_http_mcp_json_cleanup(r->pool, m->json);

    if (json_is_array(m->json)) {
        return ngx_http_mcp_rpc_error(err, NGX_HTTP_BAD_REQUEST,
                                      NGX_HTTP_MCP_INVALID_REQUEST,
                                      "Invalid Request: batches are not "
                                      "supported; send one message per "
                                      "POST");
    }

    if (json_is_object(m->json)) {
        ngx_http_mcp_endpoint_members(m);
    }

    if (m->id != NULL && !json_is_string(m->id) && !json_is_integer(m->id)) {
        m->id = NULL;
    }

    jsonrpc = m->jsonrpc;

    if (!json_is_object(m->json) || !json_is_string(jsonrpc)
        || ngx_strcmp(json_string_value(jsonrpc), "2.0") != 0)
    {
        /* only a JSON-RPC 2.0 message has a method and params */
        m->method = NULL;
        m->params = NULL;

        return ngx_http_mcp_rpc_error(err, NGX_HTTP_BAD_REQUEST,
                                      NGX_HTTP_MCP_INVALID_REQUEST,
                                      "Invalid Request: not a JSON-RPC 2.0 "
                                      "message (\"jsonrpc\": \"2.0\" is "
                                      "required)");
    }

    return NGX_OK;
}


/*
 * The members of the message that the transport reads, in one walk of
 * its few members rather than a hashed lookup of each name (the parser
 * has refused duplicate names).
 */

static void
ngx_http_mcp_endpoint_members(ngx_http_mcp_message_t *m)
{
    void        *it;
    size_t       len;
    json_t      *value;
    const char  *key;

    for (it = json_object_iter(m->json);
         it != NULL;
         it = json_object_iter_next(m->json, it))
    {
        key = json_object_iter_key(it);
        len = json_object_iter_key_len(it);
        value = json_object_iter_value(it);

        switch (len) {

        case 2:
            if (ngx_strncmp(key, "id", 2) == 0) {
                m->id = value;
                m->has_id = 1;
            }
            break;

        case 5:
            if (ngx_strncmp(key, "error", 5) == 0) {
                m->answer = 1;
            }
            break;

        case 6:
            if (ngx_strncmp(key, "method", 6) == 0) {
                m->method = value;

            } else if (ngx_strncmp(key, "params", 6) == 0) {
                m->params = value;

            } else if (ngx_strncmp(key, "result", 6) == 0) {
                m->answer = 1;
            }
            break;

        case 7:
            if (ngx_strncmp(key, "jsonrpc", 7) == 0) {
                m->jsonrpc = value;
            }
            break;
        }
    }
}


/*
 * The protocol version of the request: its MCP-Protocol-Version, which
 * must be one we speak, or without it the oldest (as call_init set it).
 */

static ngx_int_t
ngx_http_mcp_endpoint_version(ngx_http_mcp_message_t *m)
{
    char        list[64];
    ngx_str_t  *version, *protocol;

    version = ngx_http_mcp_header(m->call.r, "MCP-Protocol-Version");

    if (version == NULL) {
        return NGX_OK;
    }

    protocol = ngx_http_mcp_protocol(version);

    if (protocol == NULL) {
        ngx_http_mcp_protocol_list(list, sizeof(list));

        return ngx_http_mcp_rpc_error(&m->err, NGX_HTTP_BAD_REQUEST,
                                      NGX_HTTP_MCP_INVALID_REQUEST,
                                      "Bad Request: unsupported "
                                      "MCP-Protocol-Version \"%.*s\" "
                                      "(supported: %s)",
                                      (int) ngx_min(version->len, 64),
                                      version->data, list);
    }

    m->call.protocol = *protocol;

    return NGX_OK;
}


/*
 * A request or notification has a string method and an object of params;
 * a message without a method must be a response (an id, and a result or
 * an error).
 */

static ngx_int_t
ngx_http_mcp_endpoint_check(ngx_http_mcp_message_t *m)
{
    if (m->method == NULL) {
        if (m->has_id && m->answer) {
            return NGX_OK;
        }

        return ngx_http_mcp_rpc_error(&m->err, NGX_HTTP_BAD_REQUEST,
                                      NGX_HTTP_MCP_INVALID_REQUEST,
                                      "Invalid Request: a message needs a "
                                      "\"method\", or a \"result\" or "
                                      "\"error\" with its \"id\"");
    }

    if (!json_is_string(m->method)) {
        return ngx_http_mcp_rpc_error(&m->err, NGX_HTTP_BAD_REQUEST,
                                      NGX_HTTP_MCP_INVALID_REQUEST,
                                      "Invalid Request: \"method\" must be "
                                      "a string");
    }

    if (m->has_id && m->id == NULL) {
        return ngx_http_mcp_rpc_error(&m->err, NGX_HTTP_BAD_REQUEST,
                                      NGX_HTTP_MCP_INVALID_REQUEST,
                                      "Invalid Request: \"id\" must be a "
                                      "string or an integer");
    }

    if (m->params != NULL && !json_is_object(m->params)) {
        (void) ngx_http_mcp_rpc_fail(&m->err, NGX_HTTP_MCP_INVALID_PARAMS,
                                     "Invalid params: \"params\" must be an "
                                     "object");
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * Answers a request with its method's result or error: JSON, or SSE when
 * the method queued messages to send before it.
 */

static ngx_int_t
ngx_http_mcp_endpoint_request(ngx_http_mcp_message_t *m)
{
    json_t               *params, *result, *meta;
    ngx_http_mcp_call_t  *call;

    call = &m->call;

    params = m->params;

    if (params == NULL) {
        params = json_object();
        if (params == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_mcp_json_cleanup(call->r->pool, params);
    }

    meta = json_object_get(params, "_meta");
    call->progress_token = json_is_object(meta)
                           ? json_object_get(meta, "progressToken") : NULL;
    call->id = m->id;

    result = ngx_http_mcp_dispatch(call, json_string_value(m->method), params,
                                   &m->err);

    if (result == NULL && m->err.code == NGX_HTTP_MCP_DEFERRED) {
        /* the method waits for the cluster or for the client: the
         * cluster or the stream ends the request */
        return NGX_DONE;
    }

    return ngx_http_mcp_respond(call, result, &m->err);
}


/*
 * Writes the response message to the request of call into w, a writer
 * it starts in the request's pool: result (released), or err when result
 * is NULL.  NGX_ERROR when out of memory.
 */

ngx_int_t
ngx_http_mcp_response(ngx_http_mcp_call_t *call, json_t *result,
    ngx_http_mcp_error_t *err, ngx_http_mcp_jw_t *w)
{
    if (ngx_http_mcp_jw_init(w, call->r->pool, NGX_HTTP_MCP_JW_SIZE)
        != NGX_OK)
    {
        json_decref(result);
        return NGX_ERROR;
    }

    ngx_http_mcp_response_write(w, call, result, err);

    json_decref(result);

    return w->failed ? NGX_ERROR : NGX_OK;
}


/*
 * Writes the response message to the request of call: its result, the
 * one a tool wrote the structuredContent of (call->structured) included,
 * or err when result is NULL: what json_dumpb(JSON_COMPACT) gives for
 * it, byte for byte.  The writer leaves no raw line break in it (strings
 * escape them; ngx_http_mcp_tool_written() says a tool writes none), so
 * that it is one SSE "data:" line as it is.
 */

static void
ngx_http_mcp_response_write(ngx_http_mcp_jw_t *w, ngx_http_mcp_call_t *call,
    json_t *result, ngx_http_mcp_error_t *err)
{
    if (result == NULL) {
        ngx_http_mcp_error_write(w, call->id, err);
        return;
    }

    ngx_http_mcp_envelope(w, call->id);
    ngx_http_mcp_jw_lit(w, ",\"result\":");

    if (call->structured.len) {
        ngx_http_mcp_jw_tool_result(w, &call->structured);

    } else {
        ngx_http_mcp_jw_value(w, result);
    }

    ngx_http_mcp_jw_lit(w, "}");
}


/*
 * Answers the request of call with result, or with err when result is
 * NULL: when its method returns, or later for one that waited.
 */

ngx_int_t
ngx_http_mcp_respond(ngx_http_mcp_call_t *call, json_t *result,
    ngx_http_mcp_error_t *err)
{
    ngx_str_t           response;
    ngx_http_mcp_jw_t   w;

    /* a tool call answered after its write (a cluster, group commit) */

    if (call->tool.len) {
        ngx_http_mcp_status_tool(call->r, &call->tool, result, err);
        call->tool.len = 0;
    }

    if (result == NULL && call->stream == NULL && !call->detach) {
        return ngx_http_mcp_send_rpc_error(call->r, call->id, err);
    }

    if (!call->detach && call->session.len
        && ngx_http_mcp_add_header(call->r, "Mcp-Session-Id", &call->session)
           == NULL)
    {
        json_decref(result);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (call->stream != NULL && !call->detach) {
        return ngx_http_mcp_send_sse(call, result, err);
    }

    if (ngx_http_mcp_response(call, result, err, &w) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (call->detach) {
        response.data = w.start;
        response.len = w.last - w.start;

        return ngx_http_mcp_stream_detach(call, &response);
    }

    /* the common case: the response written straight into the reply */

    return ngx_http_mcp_send_jw(call->r, NGX_HTTP_OK, &w);
}


static ngx_int_t
ngx_http_mcp_endpoint_delete(ngx_http_request_t *r)
{
    ngx_int_t             rc;
    ngx_http_mcp_call_t   call;
    ngx_http_mcp_error_t  err;

    ngx_http_mcp_call_init(r, &call);

    rc = ngx_http_mcp_session_delete(&call, &err);

    if (rc == NGX_DONE) {
        /* the cluster answers once the end is applied */
        return NGX_DONE;
    }

    if (rc != NGX_OK) {
        return ngx_http_mcp_send_rpc_error(r, NULL, &err);
    }

    ngx_http_mcp_stream_forget(r, &call.session);

    return ngx_http_mcp_send_empty(r, NGX_HTTP_OK);
}


/*
 * GET: the session's stream (ngx_http_mcp_stream.c), for a client that
 * accepts text/event-stream.
 */

static ngx_int_t
ngx_http_mcp_endpoint_get(ngx_http_request_t *r)
{
    ngx_int_t             rc;
    ngx_str_t            *accept;
    ngx_http_mcp_call_t   call;
    ngx_http_mcp_error_t  err;

    accept = ngx_http_mcp_header(r, "Accept");

    if (accept == NULL
        || (ngx_strlcasestrn(accept->data, accept->data + accept->len,
                             (u_char *) "text/event-stream", 17 - 1)
            == NULL
            && ngx_strlcasestrn(accept->data, accept->data + accept->len,
                                (u_char *) "*/*", 3 - 1)
               == NULL))
    {
        (void) ngx_http_mcp_rpc_error(&err, NGX_HTTP_MCP_NOT_ACCEPTABLE,
                                      NGX_HTTP_MCP_INVALID_REQUEST,
                                      "Accept must allow text/event-stream");
        return ngx_http_mcp_send_rpc_error(r, NULL, &err);
    }

    ngx_http_mcp_call_init(r, &call);

    if (ngx_http_mcp_session_find(&call, &err) != NGX_OK) {
        return ngx_http_mcp_send_rpc_error(r, NULL, &err);
    }

    rc = ngx_http_mcp_stream_get(&call, &err);

    if (rc == NGX_DECLINED) {
        return ngx_http_mcp_send_rpc_error(r, NULL, &err);
    }

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return rc;
}


/*
 * OPTIONS: a CORS preflight from an allowed origin (a foreign one was
 * refused with 403 already), or a plain OPTIONS, answered with Allow.
 */

static ngx_int_t
ngx_http_mcp_endpoint_preflight(ngx_http_request_t *r)
{
    static ngx_str_t  allow = ngx_string("GET, POST, DELETE, OPTIONS");
    static ngx_str_t  methods = ngx_string("GET, POST, DELETE, OPTIONS");
    static ngx_str_t  headers = ngx_string("Content-Type, Accept, "
                                           "Mcp-Session-Id, "
                                           "MCP-Protocol-Version, "
                                           "Last-Event-ID, Authorization");
    static ngx_str_t  max_age = ngx_string("600");

    if (ngx_http_mcp_header(r, "Origin") == NULL) {
        if (ngx_http_mcp_add_header(r, "Allow", &allow) == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_mcp_send_empty(r, NGX_HTTP_NO_CONTENT);
    }

    if (ngx_http_mcp_add_header(r, "Access-Control-Allow-Methods", &methods)
        == NULL
        || ngx_http_mcp_add_header(r, "Access-Control-Allow-Headers",
                                   &headers)
           == NULL
        || ngx_http_mcp_add_header(r, "Access-Control-Max-Age", &max_age)
           == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_mcp_send_empty(r, NGX_HTTP_NO_CONTENT);
}


static void
ngx_http_mcp_call_init(ngx_http_request_t *r, ngx_http_mcp_call_t *call)
{
    ngx_memzero(call, sizeof(ngx_http_mcp_call_t));

    call->r = r;
    call->mlcf = ngx_http_get_module_loc_conf(r, ngx_mcp_module);
    call->mmcf = ngx_http_get_module_main_conf(r, ngx_mcp_module);
    call->protocol = *ngx_http_mcp_protocol(NULL);
}


static ngx_int_t
ngx_http_mcp_endpoint_too_large(ngx_http_request_t *r,
    ngx_http_mcp_error_t *err)
{
    ngx_http_mcp_loc_conf_t  *mlcf;

    mlcf = ngx_http_get_module_loc_conf(r, ngx_mcp_module);

    return ngx_http_mcp_rpc_error(err, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                  NGX_HTTP_MCP_INVALID_REQUEST,
                                  "the message is larger than %zu bytes",
                                  mlcf->max_message_size);
}


/*
 * A response with no body: 202 for notifications and client responses,
 * 200 for DELETE, 204 for OPTIONS.
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
 * A JSON-RPC error response, with the HTTP status of err: 200 for errors
 * of a method, 4xx for messages refused whole.
 */

ngx_int_t
ngx_http_mcp_send_rpc_error(ngx_http_request_t *r, json_t *id,
    ngx_http_mcp_error_t *err)
{
    ngx_int_t          rc;
    ngx_http_mcp_jw_t  w;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_mcp_jw_init(&w, r->pool, NGX_HTTP_MCP_JW_SIZE) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_mcp_error_write(&w, id, err);

    return ngx_http_mcp_send_jw(r, err->status, &w);
}


/* an error response message: {"jsonrpc":"2.0","id":...,"error":{...}} */

static void
ngx_http_mcp_error_write(ngx_http_mcp_jw_t *w, json_t *id,
    ngx_http_mcp_error_t *err)
{
    ngx_http_mcp_envelope(w, id);
    ngx_http_mcp_jw_lit(w, ",\"error\":{\"code\":");
    ngx_http_mcp_jw_int(w, err->code);
    ngx_http_mcp_jw_lit(w, ",\"message\":");
    ngx_http_mcp_jw_str(w, (u_char *) err->message,
                        ngx_strlen(err->message));
    ngx_http_mcp_jw_lit(w, "}}");
}


/*
 * The start of a response message: its members up to the result or the
 * error, id as the request had it (null when it had none we could read).
 */

static void
ngx_http_mcp_envelope(ngx_http_mcp_jw_t *w, json_t *id)
{
    ngx_http_mcp_jw_lit(w, "{\"jsonrpc\":\"2.0\",\"id\":");

    if (id == NULL) {
        ngx_http_mcp_jw_lit(w, "null");

    } else {
        ngx_http_mcp_jw_value(w, id);
    }
}


/*
 * The queued notifications, then the response to result (released) or
 * err, as one SSE stream, each message written straight into it as its
 * event's data.
 */

static ngx_int_t
ngx_http_mcp_send_sse(ngx_http_mcp_call_t *call, json_t *result,
    ngx_http_mcp_error_t *err)
{
    json_t             *msg;
    ngx_buf_t          *b;
    ngx_str_t           type;
    ngx_uint_t          i;
    ngx_http_mcp_jw_t   w;
    ngx_str_t           no_cache = ngx_string("no-cache");

    static const char  head[] = "event: message\ndata: ";

    if (ngx_http_mcp_jw_init(&w, call->r->pool, NGX_HTTP_MCP_JW_SIZE)
        != NGX_OK)
    {
        json_decref(result);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    json_array_foreach(call->stream, i, msg) {
        ngx_http_mcp_jw_lit(&w, head);
        ngx_http_mcp_jw_value(&w, msg);
        ngx_http_mcp_jw_lit(&w, "\n\n");
    }

    ngx_http_mcp_jw_lit(&w, head);
    ngx_http_mcp_response_write(&w, call, result, err);
    ngx_http_mcp_jw_lit(&w, "\n\n");

    json_decref(result);

    b = ngx_http_mcp_jw_buf(&w);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_mcp_add_header(call->r, "Cache-Control", &no_cache)
        == NULL)
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
 * NGX_OK, NGX_DECLINED with err, or NGX_ERROR.
 */

static ngx_int_t
ngx_http_mcp_name_allowed(ngx_http_request_t *r, ngx_array_t *list,
    ngx_str_t *name, ngx_str_t *full)
{
    ngx_str_t                *s;
    ngx_http_mcp_loc_conf_t  *mlcf;

    if (list) {
        if (ngx_http_mcp_in_list(list, (u_char *) "*", 1) == NGX_OK) {
            return NGX_OK;
        }

        return ngx_http_mcp_in_list(list, full->data, full->len);
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

    return ngx_http_mcp_in_list(mlcf->server_names, name->data, name->len);
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
ngx_http_mcp_check_origin(ngx_http_request_t *r, ngx_http_mcp_error_t *err)
{
    u_char                   *p;
    ngx_str_t                 host, authority, *origin;
    ngx_http_mcp_loc_conf_t  *mlcf;

    mlcf = ngx_http_get_module_loc_conf(r, ngx_mcp_module);

    if (r->headers_in.host == NULL) {
        return ngx_http_mcp_rpc_error(err, NGX_HTTP_FORBIDDEN,
                                      NGX_HTTP_MCP_INVALID_REQUEST,
                                      "Forbidden: a Host header is required");
    }

    ngx_http_mcp_strip_port(&r->headers_in.host->value, &host);

    if (ngx_http_mcp_name_allowed(r, mlcf->allowed_hosts, &host, &host)
        != NGX_OK)
    {
        return ngx_http_mcp_rpc_error(err, NGX_HTTP_FORBIDDEN,
                                      NGX_HTTP_MCP_INVALID_REQUEST,
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
            return ngx_http_mcp_cors(r, origin);
        }
    }

    return ngx_http_mcp_rpc_error(err, NGX_HTTP_FORBIDDEN,
                                  NGX_HTTP_MCP_INVALID_REQUEST,
                                  "Forbidden: Origin \"%.*s\" is not allowed",
                                  (int) ngx_min(origin->len, 128),
                                  origin->data);
}


/*
 * Every response to an allowed Origin, errors included, lets that origin
 * read it (the origin itself, never "*", hence Vary), with the session id
 * and the authorization challenge readable by the page's script.
 */

static ngx_int_t
ngx_http_mcp_cors(ngx_http_request_t *r, ngx_str_t *origin)
{
    static ngx_str_t  vary = ngx_string("Origin");
    static ngx_str_t  expose = ngx_string("Mcp-Session-Id, "
                                          "WWW-Authenticate");

    if (ngx_http_mcp_add_header(r, "Access-Control-Allow-Origin", origin)
        == NULL
        || ngx_http_mcp_add_header(r, "Access-Control-Expose-Headers",
                                   &expose)
           == NULL
        || ngx_http_mcp_add_header(r, "Vary", &vary) == NULL)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Accept must allow both application/json and text/event-stream.
 */

static ngx_int_t
ngx_http_mcp_accepts(ngx_http_request_t *r)
{
    u_char      *p, *last;
    ngx_str_t   *accept;
    ngx_uint_t   json, sse;

    accept = ngx_http_mcp_header(r, "Accept");

    if (accept == NULL) {
        return NGX_DECLINED;
    }

    /* what the SDKs' clients send, accepted without the searches below */

    if (accept->len == sizeof(NGX_HTTP_MCP_ACCEPT) - 1
        && ngx_memcmp(accept->data, NGX_HTTP_MCP_ACCEPT,
                      sizeof(NGX_HTTP_MCP_ACCEPT) - 1) == 0)
    {
        return NGX_OK;
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
 * Refuses JSON nested deeper than max before the parser sees it (jansson
 * recurses to 2048 levels).
 */

ngx_int_t
ngx_http_mcp_depth(ngx_str_t *body, ngx_uint_t max)
{
    u_char      *p, *last;
    ngx_uint_t   depth, string, open;

    last = body->data + body->len;

    /*
     * No text nests deeper than it has '[' and '{': when there are no
     * more than max of them (every request of a tool call), memchr()
     * answers without the walk through the strings below.
     */

    open = 0;

    for (p = body->data; open <= max; p++) {
        p = memchr(p, '{', last - p);
        if (p == NULL) {
            break;
        }

        open++;
    }

    for (p = body->data; open <= max; p++) {
        p = memchr(p, '[', last - p);
        if (p == NULL) {
            return NGX_OK;
        }

        open++;
    }

    depth = 0;
    string = 0;

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
            if (++depth > max) {
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
