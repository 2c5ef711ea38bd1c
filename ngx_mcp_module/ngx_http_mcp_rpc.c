
/*
 * ngx_mcp: the MCP methods (lifecycle, tools, resources, prompts,
 * completion, logging) over the providers' tables, and the helpers the
 * providers use to build results.
 */


#include "ngx_http_mcp_rpc.h"


#define NGX_HTTP_MCP_INSTRUCTIONS                                             \
    "ngx_mcp serves a URL shortener and a shared store from inside nginx. "   \
    "Use shorten_url to make a short link, resolve_url and url_stats to "     \
    "look one up, list_urls to page through them and delete_url to remove "  \
    "one; every link is also a resource, shorturl://{code}."


typedef struct {
    const char              *name;
    ngx_http_mcp_handler_pt  handler;
    ngx_uint_t               opens;    /* starts a session: needs none */
} ngx_http_mcp_method_t;


static ngx_http_mcp_handler_fn  ngx_http_mcp_initialize;
static ngx_http_mcp_handler_fn  ngx_http_mcp_ping;
static ngx_http_mcp_handler_fn  ngx_http_mcp_tools_list;
static ngx_http_mcp_handler_fn  ngx_http_mcp_tools_call;
static ngx_http_mcp_handler_fn  ngx_http_mcp_resources_list;
static ngx_http_mcp_handler_fn  ngx_http_mcp_templates_list;
static ngx_http_mcp_handler_fn  ngx_http_mcp_resources_read;
static ngx_http_mcp_handler_fn  ngx_http_mcp_subscribe;
static ngx_http_mcp_handler_fn  ngx_http_mcp_unsubscribe;
static json_t *ngx_http_mcp_subscription(ngx_http_mcp_call_t *call,
    json_t *params, ngx_uint_t on, ngx_http_mcp_error_t *err);
static ngx_http_mcp_handler_fn  ngx_http_mcp_prompts_list;
static ngx_http_mcp_handler_fn  ngx_http_mcp_prompts_get;
static ngx_http_mcp_handler_fn  ngx_http_mcp_complete;
static ngx_http_mcp_handler_fn  ngx_http_mcp_set_level;


static ngx_http_mcp_method_t  ngx_http_mcp_methods[] = {
    { "initialize", ngx_http_mcp_initialize, 1 },
    { "ping", ngx_http_mcp_ping, 0 },
    { "tools/list", ngx_http_mcp_tools_list, 0 },
    { "tools/call", ngx_http_mcp_tools_call, 0 },
    { "resources/list", ngx_http_mcp_resources_list, 0 },
    { "resources/templates/list", ngx_http_mcp_templates_list, 0 },
    { "resources/read", ngx_http_mcp_resources_read, 0 },
    { "resources/subscribe", ngx_http_mcp_subscribe, 0 },
    { "resources/unsubscribe", ngx_http_mcp_unsubscribe, 0 },
    { "prompts/list", ngx_http_mcp_prompts_list, 0 },
    { "prompts/get", ngx_http_mcp_prompts_get, 0 },
    { "completion/complete", ngx_http_mcp_complete, 0 },
    { "logging/setLevel", ngx_http_mcp_set_level, 0 },
    { NULL, NULL, 0 }
};


static const char  *ngx_http_mcp_log_levels[] = {
    "debug", "info", "notice", "warning", "error", "critical", "alert",
    "emergency", NULL
};


/*
 * The protocol versions spoken, newest first: initialize offers the
 * newest to a client that asks for one not spoken; a request without
 * MCP-Protocol-Version speaks the oldest.
 */

static ngx_str_t  ngx_http_mcp_protocols[] = {
    ngx_string("2025-11-25"),
    ngx_string("2025-06-18"),
    ngx_string("2025-03-26"),
    ngx_null_string
};


static ngx_http_mcp_method_t *
ngx_http_mcp_method(const char *name)
{
    ngx_http_mcp_method_t  *m;

    for (m = ngx_http_mcp_methods; m->name; m++) {
        if (ngx_strcmp(m->name, name) == 0) {
            return m;
        }
    }

    return NULL;
}


json_t *
ngx_http_mcp_dispatch(ngx_http_mcp_call_t *call, const char *method,
    json_t *params, ngx_http_mcp_error_t *err)
{
    ngx_http_mcp_method_t  *m;

    ngx_http_mcp_note(call->r, NGX_HTTP_MCP_NOTE_RPC_METHOD,
                      (u_char *) method, ngx_strlen(method));

    m = ngx_http_mcp_method(method);

    if (m == NULL) {
        return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_METHOD_NOT_FOUND,
                                     "Method not found: %.128s", method);
    }

    return m->handler(call, params, err);
}


/*
 * Does the method start a session (initialize), rather than need one?
 * NGX_OK or NGX_DECLINED (unknown methods too: they need a session
 * before they are found unknown).
 */

ngx_int_t
ngx_http_mcp_opens_session(const char *method)
{
    ngx_http_mcp_method_t  *m;

    m = ngx_http_mcp_method(method);

    return (m != NULL && m->opens) ? NGX_OK : NGX_DECLINED;
}


/*
 * The entry of ngx_http_mcp_protocols[] for version, NULL when it is not
 * spoken; for version NULL, the oldest.
 */

ngx_str_t *
ngx_http_mcp_protocol(ngx_str_t *version)
{
    ngx_str_t  *p;

    for (p = ngx_http_mcp_protocols; p->len; p++) {
        if (version == NULL) {
            if (p[1].len == 0) {
                return p;
            }

            continue;
        }

        if (p->len == version->len
            && ngx_strncmp(p->data, version->data, version->len) == 0)
        {
            return p;
        }
    }

    return NULL;
}


/*
 * The versions spoken, as "2025-11-25, 2025-06-18, ...", into buf.
 */

void
ngx_http_mcp_protocol_list(char *buf, size_t size)
{
    u_char     *p, *last;
    ngx_str_t  *v;

    p = (u_char *) buf;
    last = p + size - 1;

    for (v = ngx_http_mcp_protocols; v->len; v++) {
        if (v != ngx_http_mcp_protocols) {
            p = ngx_cpymem(p, ", ", ngx_min((size_t) (last - p), 2));
        }

        p = ngx_cpymem(p, v->data, ngx_min((size_t) (last - p), v->len));
    }

    *p = '\0';
}


/*
 * initialize: negotiates the protocol version and starts the session.
 */

static json_t *
ngx_http_mcp_initialize(ngx_http_mcp_call_t *call, json_t *params,
    ngx_http_mcp_error_t *err)
{
    json_t     *version, *result;
    ngx_str_t   v, *protocol;

    version = json_object_get(params, "protocolVersion");

    if (!json_is_string(version)) {
        return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INVALID_PARAMS,
                                     "Invalid params: protocolVersion is "
                                     "required");
    }

    if (!json_is_object(json_object_get(params, "capabilities"))
        || !json_is_object(json_object_get(params, "clientInfo")))
    {
        return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INVALID_PARAMS,
                                     "Invalid params: capabilities and "
                                     "clientInfo objects are required");
    }

    /* the client's version if we speak it, else our newest */

    v.data = (u_char *) json_string_value(version);
    v.len = json_string_length(version);

    protocol = ngx_http_mcp_protocol(&v);

    call->protocol = protocol ? *protocol : ngx_http_mcp_protocols[0];

    result = json_pack("{s:s%, s:{s:{s:b}, s:{s:b, s:b}, s:{s:b}, s:{}, s:{}},"
                       " s:{s:s, s:s, s:s}, s:s}",
                       "protocolVersion", call->protocol.data,
                       call->protocol.len,
                       "capabilities",
                           "tools", "listChanged", 0,
                           "resources", "subscribe", 1, "listChanged", 1,
                           "prompts", "listChanged", 0,
                           "logging",
                           "completions",
                       "serverInfo",
                           "name", "ngx_mcp",
                           "title", "ngx_mcp URL shortener and context "
                                    "store",
                           "version", NGX_HTTP_MCP_VERSION,
                       "instructions", NGX_HTTP_MCP_INSTRUCTIONS);

    if (result == NULL) {
        return ngx_http_mcp_rpc_nomem(err);
    }

    switch (ngx_http_mcp_session_create(call, params, result, err)) {

    case NGX_OK:
        return result;

    case NGX_DONE:
        /* the cluster answers, with result, once the session is applied */
        return NULL;

    default:
        json_decref(result);
        return NULL;
    }
}


static json_t *
ngx_http_mcp_ping(ngx_http_mcp_call_t *call, json_t *params,
    ngx_http_mcp_error_t *err)
{
    return json_object();
}


static json_t *
ngx_http_mcp_tools_list(ngx_http_mcp_call_t *call, json_t *params,
    ngx_http_mcp_error_t *err)
{
    return ngx_http_mcp_catalog_list(call, params, NGX_HTTP_MCP_TOOL, err);
}


static json_t *
ngx_http_mcp_templates_list(ngx_http_mcp_call_t *call, json_t *params,
    ngx_http_mcp_error_t *err)
{
    return ngx_http_mcp_catalog_list(call, params, NGX_HTTP_MCP_TEMPLATE,
                                     err);
}


static json_t *
ngx_http_mcp_prompts_list(ngx_http_mcp_call_t *call, json_t *params,
    ngx_http_mcp_error_t *err)
{
    return ngx_http_mcp_catalog_list(call, params, NGX_HTTP_MCP_PROMPT, err);
}


/*
 * The "name" and "arguments" of tools/call and prompts/get: a new
 * reference to the arguments (an empty object when there are none), or
 * NULL with a -32602 error.
 */

static json_t *
ngx_http_mcp_named_args(json_t *params, ngx_str_t *name,
    ngx_http_mcp_error_t *err)
{
    json_t  *args;

    if (ngx_http_mcp_arg_str(params, "name", 1, name, err) != NGX_OK) {
        return NULL;
    }

    args = json_object_get(params, "arguments");

    if (json_is_object(args)) {
        return json_incref(args);
    }

    if (args != NULL && !json_is_null(args)) {
        return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INVALID_PARAMS,
                                     "Invalid params: arguments must be an "
                                     "object");
    }

    args = json_object();
    if (args == NULL) {
        return ngx_http_mcp_rpc_nomem(err);
    }

    return args;
}


static json_t *
ngx_http_mcp_tools_call(ngx_http_mcp_call_t *call, json_t *params,
    ngx_http_mcp_error_t *err)
{
    json_t               *args;
    json_t               *result;
    ngx_str_t             name;
    ngx_http_mcp_tool_t  *tool;

    args = ngx_http_mcp_named_args(params, &name, err);
    if (args == NULL) {
        return NULL;
    }

    ngx_http_mcp_json_cleanup(call->r->pool, args);

    tool = ngx_http_mcp_catalog_find(call, NGX_HTTP_MCP_TOOL, &name, NULL);

    if (tool == NULL) {
        return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INVALID_PARAMS,
                                     "Unknown tool: %.*s",
                                     (int) ngx_min(name.len, 128), name.data);
    }

    call->data = tool->data;

    /* a copy of call kept for an answer made later carries the name */

    call->tool = name;

    result = tool->call(call, args, err);

    call->tool.len = 0;

    ngx_http_mcp_status_tool(call->r, &name, result, err);

    return result;
}


/*
 * resources/list: the providers' fixed resources first, then the dynamic
 * ones.  Cursors: "L" + the dynamic position (all fixed ones were sent on
 * the first page).
 */

static json_t *
ngx_http_mcp_resources_list(ngx_http_mcp_call_t *call, json_t *params,
    ngx_http_mcp_error_t *err)
{
    json_t                   *result, *list;
    ngx_str_t                 pos, next;
    ngx_uint_t                n, first;
    ngx_http_mcp_provider_t  *p;

    if (ngx_http_mcp_cursor_decode(call->r->pool, params, &pos, err)
        != NGX_OK)
    {
        return NULL;
    }

    if (pos.len && pos.data[0] != 'L') {
        return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INVALID_PARAMS,
                                     "Invalid params: invalid cursor");
    }

    list = json_array();
    result = json_pack("{s:o}", "resources", list);
    if (result == NULL) {
        return ngx_http_mcp_rpc_nomem(err);
    }

    first = (pos.len == 0);

    if (!first) {
        pos.data++;
        pos.len--;
    }

    for (n = 0; first && ngx_http_mcp_provider(call, n); n++) {
        if (json_array_extend(list, ngx_http_mcp_catalog(call, n,
                                                   NGX_HTTP_MCP_RESOURCE))
            != 0)
        {
            goto failed;
        }
    }

    ngx_str_null(&next);

    for (n = 0; (p = ngx_http_mcp_provider(call, n)); n++) {
        if (p->list_resources == NULL) {
            continue;
        }

        if (p->list_resources(call, &pos, NGX_HTTP_MCP_PAGE, list, &next)
            != NGX_OK)
        {
            goto failed;
        }

        break;
    }

    if (next.len) {
        pos.data = ngx_pnalloc(call->r->pool, next.len + 1);
        if (pos.data == NULL) {
            goto failed;
        }

        pos.data[0] = 'L';
        ngx_memcpy(pos.data + 1, next.data, next.len);
        pos.len = next.len + 1;

        if (ngx_http_mcp_next_cursor(call->r->pool, result, &pos) != NGX_OK)
        {
            goto failed;
        }
    }

    return result;

failed:

    json_decref(result);

    return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INTERNAL_ERROR,
                                 "cannot list resources");
}


/*
 * resources/read: a fixed resource of that URI, else the first template
 * the URI matches.
 */

static json_t *
ngx_http_mcp_resources_read(ngx_http_mcp_call_t *call, json_t *params,
    ngx_http_mcp_error_t *err)
{
    ngx_str_t                 uri;
    ngx_http_mcp_resource_t  *res;

    if (ngx_http_mcp_arg_str(params, "uri", 1, &uri, err) != NGX_OK) {
        return NULL;
    }

    res = ngx_http_mcp_catalog_find(call, NGX_HTTP_MCP_RESOURCE, &uri, NULL);

    if (res == NULL) {
        res = ngx_http_mcp_catalog_find(call, NGX_HTTP_MCP_TEMPLATE, &uri,
                                        NULL);
    }

    if (res == NULL) {
        return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_RESOURCE_NOT_FOUND,
                                     "Resource not found: %.*s",
                                     (int) ngx_min(uri.len, 200), uri.data);
    }

    call->data = res->data;

    return res->read(call, params, err);
}


/*
 * resources/subscribe and unsubscribe: a subscription is to a resource
 * the session can read now (else -32002); its updates go on the
 * session's GET stream (ngx_http_mcp_stream.c).
 */

static json_t *
ngx_http_mcp_subscribe(ngx_http_mcp_call_t *call, json_t *params,
    ngx_http_mcp_error_t *err)
{
    return ngx_http_mcp_subscription(call, params, 1, err);
}


static json_t *
ngx_http_mcp_unsubscribe(ngx_http_mcp_call_t *call, json_t *params,
    ngx_http_mcp_error_t *err)
{
    return ngx_http_mcp_subscription(call, params, 0, err);
}


static json_t *
ngx_http_mcp_subscription(ngx_http_mcp_call_t *call, json_t *params,
    ngx_uint_t on, ngx_http_mcp_error_t *err)
{
    json_t     *contents;
    ngx_str_t   uri;

    if (ngx_http_mcp_arg_str(params, "uri", 1, &uri, err) != NGX_OK) {
        return NULL;
    }

    if (on) {
        contents = ngx_http_mcp_resources_read(call, params, err);
        if (contents == NULL) {
            return NULL;
        }

        json_decref(contents);
    }

    switch (ngx_http_mcp_stream_subscribe(call, &uri, on, err)) {

    case NGX_OK:
        return json_object();

    case NGX_DECLINED:
        return NULL;

    default:
        return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INTERNAL_ERROR,
                                     "the zone of streams is full");
    }
}


static json_t *
ngx_http_mcp_prompts_get(ngx_http_mcp_call_t *call, json_t *params,
    ngx_http_mcp_error_t *err)
{
    json_t                 *args, *desc, *a;
    ngx_str_t               name;
    ngx_uint_t              i;
    const char             *arg;
    ngx_http_mcp_prompt_t  *prompt;

    args = ngx_http_mcp_named_args(params, &name, err);
    if (args == NULL) {
        return NULL;
    }

    ngx_http_mcp_json_cleanup(call->r->pool, args);

    prompt = ngx_http_mcp_catalog_find(call, NGX_HTTP_MCP_PROMPT, &name,
                                       &desc);

    if (prompt == NULL) {
        return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INVALID_PARAMS,
                                     "Unknown prompt: %.*s",
                                     (int) ngx_min(name.len, 128), name.data);
    }

    /* required arguments, as the prompt declares them */

    json_array_foreach(json_object_get(desc, "arguments"), i, a) {
        arg = json_string_value(json_object_get(a, "name"));

        if (arg != NULL && json_is_true(json_object_get(a, "required"))
            && !json_is_string(json_object_get(args, arg)))
        {
            return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INVALID_PARAMS,
                                         "Invalid params: prompt \"%s\" "
                                         "needs the argument \"%s\"",
                                         prompt->name, arg);
        }
    }

    return prompt->get(call, args, err);
}


static json_t *
ngx_http_mcp_complete(ngx_http_mcp_call_t *call, json_t *params,
    ngx_http_mcp_error_t *err)
{
    json_t                   *ref, *argument, *values, *type;
    ngx_str_t                 name, value;
    ngx_uint_t                n;
    ngx_http_mcp_provider_t  *p;

    ref = json_object_get(params, "ref");
    argument = json_object_get(params, "argument");
    type = json_object_get(ref, "type");

    if (!json_is_object(ref) || !json_is_string(type)
        || (ngx_strcmp(json_string_value(type), "ref/prompt") != 0
            && ngx_strcmp(json_string_value(type), "ref/resource") != 0))
    {
        return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INVALID_PARAMS,
                                     "Invalid params: ref must be "
                                     "{\"type\": \"ref/prompt\", \"name\"} "
                                     "or {\"type\": \"ref/resource\", "
                                     "\"uri\"}");
    }

    if (ngx_http_mcp_arg_str(argument, "name", 1, &name, err) != NGX_OK
        || ngx_http_mcp_arg_str(argument, "value", 1, &value, err) != NGX_OK)
    {
        return NULL;
    }

    values = json_array();
    if (values == NULL) {
        return ngx_http_mcp_rpc_nomem(err);
    }

    for (n = 0; (p = ngx_http_mcp_provider(call, n)); n++) {
        if (p->complete
            && p->complete(call, ref, &name, &value, values) != NGX_OK)
        {
            json_decref(values);
            return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INTERNAL_ERROR,
                                         "completion failed");
        }
    }

    while (json_array_size(values) > 100) {
        json_array_remove(values, json_array_size(values) - 1);
    }

    return json_pack("{s:{s:o, s:I, s:b}}", "completion", "values", values,
                     "total", (json_int_t) json_array_size(values),
                     "hasMore", 0);
}


/*
 * logging/setLevel: the least level of the log messages the session is
 * sent, by its name.
 */

static json_t *
ngx_http_mcp_set_level(ngx_http_mcp_call_t *call, json_t *params,
    ngx_http_mcp_error_t *err)
{
    ngx_uint_t   n;
    const char  *level;

    level = json_string_value(json_object_get(params, "level"));

    for (n = 0; level && ngx_http_mcp_log_levels[n]; n++) {
        if (ngx_strcmp(ngx_http_mcp_log_levels[n], level) == 0) {
            break;
        }
    }

    if (level == NULL || ngx_http_mcp_log_levels[n] == NULL) {
        return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INVALID_PARAMS,
                                     "Invalid params: level must be one of "
                                     "debug, info, notice, warning, error, "
                                     "critical, alert, emergency");
    }

    /* NGX_DONE: the cluster answers (err->code NGX_HTTP_MCP_DEFERRED) */

    if (ngx_http_mcp_session_set_level(call, n, err) != NGX_OK) {
        return NULL;
    }

    return json_object();
}


/*
 * Queues a notification to send before the result: the response becomes
 * an SSE stream.  params is stolen.
 */

ngx_int_t
ngx_http_mcp_notify(ngx_http_mcp_call_t *call, const char *method,
    json_t *params)
{
    json_t  *msg;

    if (call->stream == NULL) {
        call->stream = json_array();
        if (call->stream == NULL) {
            json_decref(params);
            return NGX_ERROR;
        }

        ngx_http_mcp_json_cleanup(call->r->pool, call->stream);
    }

    msg = json_pack("{s:s, s:s, s:o}", "jsonrpc", "2.0", "method", method,
                    "params", params);
    if (msg == NULL) {
        return NGX_ERROR;
    }

    return json_array_append_new(call->stream, msg) == 0 ? NGX_OK : NGX_ERROR;
}


/*
 * notifications/message, if level reaches the session's logging level.
 * data is stolen.
 */

ngx_int_t
ngx_http_mcp_log(ngx_http_mcp_call_t *call, ngx_uint_t level,
    const char *logger, json_t *data)
{
    json_t  *params;

    if (level < call->log_level || level > NGX_HTTP_MCP_LOG_EMERGENCY) {
        json_decref(data);
        return NGX_OK;
    }

    params = json_pack("{s:s, s:o}", "level", ngx_http_mcp_log_levels[level],
                       "data", data);
    if (params == NULL) {
        return NGX_ERROR;
    }

    if (logger && json_object_set_new(params, "logger", json_string(logger))
                  != 0)
    {
        json_decref(params);
        return NGX_ERROR;
    }

    return ngx_http_mcp_notify(call, "notifications/message", params);
}


/*
 * notifications/progress, if the request asked for it (a progressToken);
 * total 0 and message NULL are left out.
 */

ngx_int_t
ngx_http_mcp_progress(ngx_http_mcp_call_t *call, double progress,
    double total, const char *message)
{
    json_t  *params;

    if (call->progress_token == NULL) {
        return NGX_OK;
    }

    params = json_pack("{s:O, s:f}", "progressToken", call->progress_token,
                       "progress", progress);
    if (params == NULL) {
        return NGX_ERROR;
    }

    if ((total > 0
         && json_object_set_new(params, "total", json_real(total)) != 0)
        || (message
            && json_object_set_new(params, "message", json_string(message))
               != 0))
    {
        json_decref(params);
        return NGX_ERROR;
    }

    return ngx_http_mcp_notify(call, "notifications/progress", params);
}


json_t *
ngx_http_mcp_text(const char *text)
{
    return json_pack("{s:s, s:s}", "type", "text", "text", text);
}


/*
 * A tool result: structured (stolen) as structuredContent and, for
 * clients that read only content, as JSON text.
 */

json_t *
ngx_http_mcp_tool_result(json_t *structured)
{
    char    *text;
    json_t  *result;

    if (structured == NULL) {
        return NULL;
    }

    text = json_dumps(structured, JSON_COMPACT);
    if (text == NULL) {
        json_decref(structured);
        return NULL;
    }

    result = json_pack("{s:[{s:s, s:s}], s:o}",
                       "content", "type", "text", "text", text,
                       "structuredContent", structured);

    free(text);

    return result;
}


/*
 * The same result, from structuredContent written by the tool into
 * structured (a writer of the request's pool): the transport writes the
 * result from it (ngx_http_mcp_respond()), without a json_t.  Returns a
 * placeholder that stands for the result where a handler's result is
 * looked at (json null, which is no object: no "isError"), or NULL with
 * err when the writer failed.
 *
 * The bytes go as they are into a reply that may be one SSE "data:"
 * line, so they must hold no raw line break: the writer's strings escape
 * them, and a tool must not write one between members.
 */

json_t *
ngx_http_mcp_tool_written(ngx_http_mcp_call_t *call,
    ngx_http_mcp_jw_t *structured, ngx_http_mcp_error_t *err)
{
    if (structured->failed) {
        return ngx_http_mcp_rpc_nomem(err);
    }

    call->structured.data = structured->start;
    call->structured.len = structured->last - structured->start;

    return json_null();
}


/*
 * The same from a json_t (released): encoded once, into the reply's pool,
 * not twice by jansson.  NULL with err when structured is NULL.
 */

json_t *
ngx_http_mcp_tool_value(ngx_http_mcp_call_t *call, json_t *structured,
    ngx_http_mcp_error_t *err)
{
    ngx_http_mcp_jw_t  w;

    if (structured == NULL
        || ngx_http_mcp_jw_init(&w, call->r->pool, NGX_HTTP_MCP_JW_SIZE)
           != NGX_OK)
    {
        json_decref(structured);
        return ngx_http_mcp_rpc_nomem(err);
    }

    ngx_http_mcp_jw_value(&w, structured);

    json_decref(structured);

    return ngx_http_mcp_tool_written(call, &w, err);
}


/*
 * Writes the result ngx_http_mcp_tool_result() makes of the value
 * encoded in structured, byte for byte: its text is that encoding,
 * escaped.
 */

void
ngx_http_mcp_jw_tool_result(ngx_http_mcp_jw_t *w, ngx_str_t *structured)
{
    ngx_http_mcp_jw_lit(w, "{\"content\":[{\"type\":\"text\",\"text\":\"");
    ngx_http_mcp_jw_escape(w, structured->data, structured->len);
    ngx_http_mcp_jw_lit(w, "\"}],\"structuredContent\":");
    ngx_http_mcp_jw_raw(w, structured->data, structured->len);
    ngx_http_mcp_jw_lit(w, "}");
}


/*
 * A resources/read result: json (released) as the JSON text of uri's one
 * content.
 */

json_t *
ngx_http_mcp_resource_json(ngx_str_t *uri, json_t *json,
    ngx_http_mcp_error_t *err)
{
    char       *text;
    json_t     *result;
    ngx_str_t   t;

    text = json_dumps(json, JSON_COMPACT);
    json_decref(json);

    if (text == NULL) {
        return ngx_http_mcp_rpc_nomem(err);
    }

    t.data = (u_char *) text;
    t.len = ngx_strlen(text);

    result = ngx_http_mcp_resource_text(uri, &t, err);
    free(text);

    return result;
}


/* the same of a JSON text written already (by a writer) */

json_t *
ngx_http_mcp_resource_text(ngx_str_t *uri, ngx_str_t *text,
    ngx_http_mcp_error_t *err)
{
    json_t  *result;

    result = json_pack("{s:[{s:s%, s:s, s:s%}]}", "contents",
                       "uri", uri->data, uri->len,
                       "mimeType", "application/json",
                       "text", text->data, text->len);
    if (result == NULL) {
        return ngx_http_mcp_rpc_nomem(err);
    }

    return result;
}


/* resources/read of a record that is not there (or not the caller's) */

json_t *
ngx_http_mcp_resource_not_found(ngx_str_t *uri, ngx_http_mcp_error_t *err)
{
    return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_RESOURCE_NOT_FOUND,
                                 "Resource not found: %.*s",
                                 (int) ngx_min(uri->len, 128), uri->data);
}


/*
 * A tool's own failure: a result with isError, which the model can read.
 */

json_t *
ngx_http_mcp_tool_error(const char *fmt, ...)
{
    char     message[512];
    va_list  args;

    va_start(args, fmt);
    ngx_http_mcp_vformat(message, sizeof(message), fmt, args);
    va_end(args);

    return json_pack("{s:[{s:s, s:s}], s:b}",
                     "content", "type", "text", "text", message,
                     "isError", 1);
}


/*
 * Reads the string argument name: NGX_OK, or NGX_DECLINED with a -32602
 * error when it is required and missing, or not a string.  An absent
 * optional argument gives an empty value.
 */

ngx_int_t
ngx_http_mcp_arg_str(json_t *args, const char *name, ngx_uint_t required,
    ngx_str_t *value, ngx_http_mcp_error_t *err)
{
    ngx_int_t  rc;

    rc = ngx_http_mcp_json_string(args, name, value);

    if (rc == NGX_OK || (rc == NGX_DECLINED && !required)) {
        return NGX_OK;
    }

    if (rc == NGX_DECLINED) {
        (void) ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INVALID_PARAMS,
                                     "Invalid params: \"%s\" is required",
                                     name);

    } else {
        (void) ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INVALID_PARAMS,
                                     "Invalid params: \"%s\" must be a "
                                     "string", name);
    }

    return NGX_DECLINED;
}


ngx_int_t
ngx_http_mcp_cursor_encode(ngx_pool_t *pool, ngx_str_t *pos,
    ngx_str_t *cursor)
{
    cursor->data = ngx_pnalloc(pool, ngx_base64_encoded_length(pos->len));
    if (cursor->data == NULL) {
        return NGX_ERROR;
    }

    ngx_encode_base64url(cursor, pos);

    return NGX_OK;
}


/*
 * Sets result.nextCursor to the cursor of the position pos, if any.
 */

ngx_int_t
ngx_http_mcp_next_cursor(ngx_pool_t *pool, json_t *result, ngx_str_t *pos)
{
    ngx_str_t  cursor;

    if (pos->len == 0) {
        return NGX_OK;
    }

    if (ngx_http_mcp_cursor_encode(pool, pos, &cursor) != NGX_OK) {
        return NGX_ERROR;
    }

    return json_object_set_new(result, "nextCursor",
                               json_stringn((char *) cursor.data, cursor.len))
           == 0 ? NGX_OK : NGX_ERROR;
}


/*
 * The position in params.cursor: empty when there is no cursor;
 * NGX_DECLINED with -32602 when it is not one of ours, NGX_ERROR with
 * -32603 when out of memory.
 */

ngx_int_t
ngx_http_mcp_cursor_decode(ngx_pool_t *pool, json_t *params, ngx_str_t *pos,
    ngx_http_mcp_error_t *err)
{
    ngx_str_t  cursor;

    if (ngx_http_mcp_arg_str(params, "cursor", 0, &cursor, err) != NGX_OK) {
        return NGX_DECLINED;
    }

    ngx_str_null(pos);

    if (cursor.len == 0) {
        if (json_object_get(params, "cursor") == NULL
            || json_is_null(json_object_get(params, "cursor")))
        {
            return NGX_OK;
        }

        goto invalid;
    }

    if (cursor.len > ngx_base64_encoded_length(MCP_STORE_NAME_MAX + 1)) {
        goto invalid;
    }

    pos->data = ngx_pnalloc(pool, ngx_base64_decoded_length(cursor.len));
    if (pos->data == NULL) {
        (void) ngx_http_mcp_rpc_nomem(err);
        return NGX_ERROR;
    }

    if (ngx_decode_base64url(pos, &cursor) != NGX_OK || pos->len == 0
        || pos->len > MCP_STORE_NAME_MAX + 1)
    {
        goto invalid;
    }

    return NGX_OK;

invalid:

    (void) ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INVALID_PARAMS,
                                 "Invalid params: invalid cursor");
    return NGX_DECLINED;
}
