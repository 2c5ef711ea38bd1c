
/*
 * ngx_mcp: the MCP methods (lifecycle, tools, resources, prompts,
 * completion, logging) over the providers' tables, and the helpers the
 * providers use to build results.
 */


#include "ngx_http_mcp_rpc.h"


#define NGX_HTTP_MCP_VERSION   "0.1.0"

#define NGX_HTTP_MCP_INSTRUCTIONS                                             \
    "ngx_mcp serves a URL shortener and a shared store from inside nginx. "   \
    "Use shorten_url to make a short link, resolve_url and url_stats to "     \
    "look one up, list_urls to page through them and delete_url to remove "  \
    "one; every link is also a resource, shorturl://{code}."


typedef json_t *(*ngx_http_mcp_method_pt)(ngx_http_mcp_call_t *call,
    json_t *params, ngx_http_mcp_error_t *err);


typedef struct {
    const char              *name;
    ngx_http_mcp_method_pt   handler;
} ngx_http_mcp_method_t;


static json_t *ngx_http_mcp_initialize(ngx_http_mcp_call_t *call,
    json_t *params, ngx_http_mcp_error_t *err);
static json_t *ngx_http_mcp_ping(ngx_http_mcp_call_t *call, json_t *params,
    ngx_http_mcp_error_t *err);
static json_t *ngx_http_mcp_tools_list(ngx_http_mcp_call_t *call,
    json_t *params, ngx_http_mcp_error_t *err);
static json_t *ngx_http_mcp_tools_call(ngx_http_mcp_call_t *call,
    json_t *params, ngx_http_mcp_error_t *err);
static json_t *ngx_http_mcp_resources_list(ngx_http_mcp_call_t *call,
    json_t *params, ngx_http_mcp_error_t *err);
static json_t *ngx_http_mcp_templates_list(ngx_http_mcp_call_t *call,
    json_t *params, ngx_http_mcp_error_t *err);
static json_t *ngx_http_mcp_resources_read(ngx_http_mcp_call_t *call,
    json_t *params, ngx_http_mcp_error_t *err);
static json_t *ngx_http_mcp_subscribe(ngx_http_mcp_call_t *call,
    json_t *params, ngx_http_mcp_error_t *err);
static json_t *ngx_http_mcp_prompts_list(ngx_http_mcp_call_t *call,
    json_t *params, ngx_http_mcp_error_t *err);
static json_t *ngx_http_mcp_prompts_get(ngx_http_mcp_call_t *call,
    json_t *params, ngx_http_mcp_error_t *err);
static json_t *ngx_http_mcp_complete(ngx_http_mcp_call_t *call,
    json_t *params, ngx_http_mcp_error_t *err);
static json_t *ngx_http_mcp_set_level(ngx_http_mcp_call_t *call,
    json_t *params, ngx_http_mcp_error_t *err);


static ngx_http_mcp_method_t  ngx_http_mcp_methods[] = {
    { "initialize", ngx_http_mcp_initialize },
    { "ping", ngx_http_mcp_ping },
    { "tools/list", ngx_http_mcp_tools_list },
    { "tools/call", ngx_http_mcp_tools_call },
    { "resources/list", ngx_http_mcp_resources_list },
    { "resources/templates/list", ngx_http_mcp_templates_list },
    { "resources/read", ngx_http_mcp_resources_read },
    { "resources/subscribe", ngx_http_mcp_subscribe },
    { "resources/unsubscribe", ngx_http_mcp_subscribe },
    { "prompts/list", ngx_http_mcp_prompts_list },
    { "prompts/get", ngx_http_mcp_prompts_get },
    { "completion/complete", ngx_http_mcp_complete },
    { "logging/setLevel", ngx_http_mcp_set_level },
    { NULL, NULL }
};


static const char  *ngx_http_mcp_log_levels[] = {
    "debug", "info", "notice", "warning", "error", "critical", "alert",
    "emergency", NULL
};


static const char  *ngx_http_mcp_supported[] = {
    "2025-11-25", "2025-06-18", "2025-03-26", NULL
};


/*
 * The providers a location offers, in listing order.
 */

static ngx_uint_t
ngx_http_mcp_providers(ngx_http_mcp_call_t *call,
    ngx_http_mcp_provider_t **providers)
{
    ngx_uint_t  n;

    n = 0;
    providers[n++] = &ngx_http_mcp_links_provider;
    providers[n++] = &ngx_http_mcp_memory_provider;
    providers[n++] = &ngx_http_mcp_context_provider;

    if (call->mlcf->conformance_fixtures) {
        providers[n++] = &ngx_http_mcp_fixtures_provider;
    }

    return n;
}


json_t *
ngx_http_mcp_dispatch(ngx_http_mcp_call_t *call, const char *method,
    json_t *params, ngx_http_mcp_error_t *err)
{
    ngx_http_mcp_method_t  *m;

    for (m = ngx_http_mcp_methods; m->name; m++) {
        if (ngx_strcmp(m->name, method) == 0) {
            return m->handler(call, params, err);
        }
    }

    return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_METHOD_NOT_FOUND,
                                 "Method not found: %.128s", method);
}


json_t *
ngx_http_mcp_rpc_fail(ngx_http_mcp_error_t *err, ngx_int_t code,
    const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    (void) vsnprintf(err->message, sizeof(err->message), fmt, args);
    va_end(args);

    ngx_http_mcp_utf8_clean(err->message);

    err->status = code;
    err->error = NULL;

    return NULL;
}


static json_t *
ngx_http_mcp_initialize(ngx_http_mcp_call_t *call, json_t *params,
    ngx_http_mcp_error_t *err)
{
    json_t       *version;
    const char   *v;
    ngx_uint_t    i;

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

    /* the client's version if we speak it, else our latest */

    v = NGX_HTTP_MCP_LATEST_PROTOCOL;

    for (i = 0; ngx_http_mcp_supported[i]; i++) {
        if (ngx_strcmp(ngx_http_mcp_supported[i], json_string_value(version))
            == 0)
        {
            v = ngx_http_mcp_supported[i];
            break;
        }
    }

    call->protocol.data = (u_char *) v;
    call->protocol.len = ngx_strlen(v);

    return json_pack("{s:s, s:{s:{s:b}, s:{s:b, s:b}, s:{s:b}, s:{}, s:{}},"
                     " s:{s:s, s:s, s:s}, s:s}",
                     "protocolVersion", v,
                     "capabilities",
                         "tools", "listChanged", 0,
                         "resources", "subscribe", 1, "listChanged", 0,
                         "prompts", "listChanged", 0,
                         "logging",
                         "completions",
                     "serverInfo",
                         "name", "ngx_mcp",
                         "title", "ngx_mcp URL shortener and context store",
                         "version", NGX_HTTP_MCP_VERSION,
                     "instructions", NGX_HTTP_MCP_INSTRUCTIONS);
}


static json_t *
ngx_http_mcp_ping(ngx_http_mcp_call_t *call, json_t *params,
    ngx_http_mcp_error_t *err)
{
    return json_object();
}


/*
 * Parses one of the providers' JSON texts into obj under key.
 */

static ngx_int_t
ngx_http_mcp_set_json(json_t *obj, const char *key, const char *text)
{
    json_t  *v;

    if (text == NULL) {
        return NGX_OK;
    }

    v = json_loads(text, 0, NULL);
    if (v == NULL) {
        return NGX_ERROR;
    }

    return json_object_set_new(obj, key, v) == 0 ? NGX_OK : NGX_ERROR;
}


static ngx_int_t
ngx_http_mcp_set_str(json_t *obj, const char *key, const char *value)
{
    if (value == NULL) {
        return NGX_OK;
    }

    return json_object_set_new(obj, key, json_string(value)) == 0
           ? NGX_OK : NGX_ERROR;
}


/*
 * Lists fixed tables as pages of NGX_HTTP_MCP_PAGE: the cursor is the
 * offset into all providers' entries.
 */

typedef json_t *(*ngx_http_mcp_describe_pt)(ngx_http_mcp_provider_t *p,
    ngx_uint_t i);


static json_t *
ngx_http_mcp_describe_tool(ngx_http_mcp_provider_t *p, ngx_uint_t i)
{
    json_t               *t;
    ngx_http_mcp_tool_t  *tool;

    if (p->tools == NULL || p->tools[i].name == NULL) {
        return NULL;
    }

    tool = &p->tools[i];

    t = json_pack("{s:s}", "name", tool->name);

    if (t == NULL
        || ngx_http_mcp_set_str(t, "title", tool->title) != NGX_OK
        || ngx_http_mcp_set_str(t, "description", tool->description)
           != NGX_OK
        || ngx_http_mcp_set_json(t, "inputSchema", tool->input_schema)
           != NGX_OK
        || ngx_http_mcp_set_json(t, "outputSchema", tool->output_schema)
           != NGX_OK
        || ngx_http_mcp_set_json(t, "annotations", tool->annotations)
           != NGX_OK)
    {
        json_decref(t);
        return json_null();
    }

    return t;
}


static json_t *
ngx_http_mcp_describe_resource(ngx_http_mcp_resource_t *res,
    const char *uri_key)
{
    json_t  *t;

    t = json_pack("{s:s, s:s}", uri_key, res->uri, "name", res->name);

    if (t == NULL
        || ngx_http_mcp_set_str(t, "title", res->title) != NGX_OK
        || ngx_http_mcp_set_str(t, "description", res->description)
           != NGX_OK
        || ngx_http_mcp_set_str(t, "mimeType", res->mime_type) != NGX_OK)
    {
        json_decref(t);
        return json_null();
    }

    return t;
}


static json_t *
ngx_http_mcp_describe_template(ngx_http_mcp_provider_t *p, ngx_uint_t i)
{
    if (p->templates == NULL || p->templates[i].uri == NULL) {
        return NULL;
    }

    return ngx_http_mcp_describe_resource(&p->templates[i], "uriTemplate");
}


static json_t *
ngx_http_mcp_describe_prompt(ngx_http_mcp_provider_t *p, ngx_uint_t i)
{
    json_t                 *t;
    ngx_http_mcp_prompt_t  *prompt;

    if (p->prompts == NULL || p->prompts[i].name == NULL) {
        return NULL;
    }

    prompt = &p->prompts[i];

    t = json_pack("{s:s}", "name", prompt->name);

    if (t == NULL
        || ngx_http_mcp_set_str(t, "title", prompt->title) != NGX_OK
        || ngx_http_mcp_set_str(t, "description", prompt->description)
           != NGX_OK
        || ngx_http_mcp_set_json(t, "arguments", prompt->arguments)
           != NGX_OK)
    {
        json_decref(t);
        return json_null();
    }

    return t;
}


static json_t *
ngx_http_mcp_list_tables(ngx_http_mcp_call_t *call, json_t *params,
    const char *key, ngx_http_mcp_describe_pt describe,
    ngx_http_mcp_error_t *err)
{
    json_t                   *result, *list, *item;
    ngx_int_t                 start;
    ngx_str_t                 pos, cursor;
    ngx_uint_t                i, n, np, seen;
    ngx_http_mcp_provider_t  *providers[8];

    if (ngx_http_mcp_cursor_decode(call->r->pool, params, &pos, err)
        != NGX_OK)
    {
        return NULL;
    }

    start = pos.len ? ngx_atoi(pos.data, pos.len) : 0;

    if (start == NGX_ERROR) {
        return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INVALID_PARAMS,
                                     "Invalid params: invalid cursor");
    }

    list = json_array();
    result = json_pack("{s:o}", key, list);
    if (result == NULL) {
        return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INTERNAL_ERROR,
                                     "out of memory");
    }

    np = ngx_http_mcp_providers(call, providers);
    seen = 0;

    for (n = 0; n < np; n++) {
        for (i = 0; (item = describe(providers[n], i)) != NULL; i++) {

            if (json_is_null(item)) {
                json_decref(result);
                return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INTERNAL_ERROR,
                                             "cannot describe entry %ui",
                                             seen);
            }

            if (seen++ < (ngx_uint_t) start) {
                json_decref(item);
                continue;
            }

            if (json_array_size(list) == NGX_HTTP_MCP_PAGE) {
                json_decref(item);

                pos.data = ngx_pnalloc(call->r->pool, NGX_INT_T_LEN);
                if (pos.data == NULL) {
                    json_decref(result);
                    return ngx_http_mcp_rpc_fail(err,
                                                 NGX_HTTP_MCP_INTERNAL_ERROR,
                                                 "out of memory");
                }

                pos.len = ngx_sprintf(pos.data, "%ui", seen - 1) - pos.data;

                if (ngx_http_mcp_cursor_encode(call->r->pool, &pos, &cursor)
                    != NGX_OK
                    || json_object_set_new(result, "nextCursor",
                                           json_stringn((char *) cursor.data,
                                                        cursor.len))
                       != 0)
                {
                    json_decref(result);
                    return ngx_http_mcp_rpc_fail(err,
                                                 NGX_HTTP_MCP_INTERNAL_ERROR,
                                                 "out of memory");
                }

                return result;
            }

            json_array_append_new(list, item);
        }
    }

    return result;
}


static json_t *
ngx_http_mcp_tools_list(ngx_http_mcp_call_t *call, json_t *params,
    ngx_http_mcp_error_t *err)
{
    return ngx_http_mcp_list_tables(call, params, "tools",
                                    ngx_http_mcp_describe_tool, err);
}


static json_t *
ngx_http_mcp_templates_list(ngx_http_mcp_call_t *call, json_t *params,
    ngx_http_mcp_error_t *err)
{
    return ngx_http_mcp_list_tables(call, params, "resourceTemplates",
                                    ngx_http_mcp_describe_template, err);
}


static json_t *
ngx_http_mcp_prompts_list(ngx_http_mcp_call_t *call, json_t *params,
    ngx_http_mcp_error_t *err)
{
    return ngx_http_mcp_list_tables(call, params, "prompts",
                                    ngx_http_mcp_describe_prompt, err);
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
        return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INTERNAL_ERROR,
                                     "out of memory");
    }

    return args;
}


static json_t *
ngx_http_mcp_tools_call(ngx_http_mcp_call_t *call, json_t *params,
    ngx_http_mcp_error_t *err)
{
    json_t                   *args;
    ngx_str_t                 name;
    ngx_uint_t                i, n, np;
    ngx_http_mcp_tool_t      *tool;
    ngx_http_mcp_provider_t  *providers[8];

    args = ngx_http_mcp_named_args(params, &name, err);
    if (args == NULL) {
        return NULL;
    }

    ngx_http_mcp_json_cleanup(call->r->pool, args);

    np = ngx_http_mcp_providers(call, providers);

    for (n = 0; n < np; n++) {
        for (i = 0; providers[n]->tools && providers[n]->tools[i].name; i++) {
            tool = &providers[n]->tools[i];

            if (ngx_strlen(tool->name) != name.len
                || ngx_strncmp(tool->name, name.data, name.len) != 0)
            {
                continue;
            }

            return tool->call(call, args, err);
        }
    }

    return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INVALID_PARAMS,
                                 "Unknown tool: %.*s",
                                 (int) ngx_min(name.len, 128), name.data);
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
    json_t                   *result, *list, *item;
    ngx_str_t                 pos, next, cursor;
    ngx_uint_t                i, n, np;
    ngx_http_mcp_provider_t  *providers[8];

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
        return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INTERNAL_ERROR,
                                     "out of memory");
    }

    np = ngx_http_mcp_providers(call, providers);

    if (pos.len == 0) {
        for (n = 0; n < np; n++) {
            for (i = 0;
                 providers[n]->resources && providers[n]->resources[i].uri;
                 i++)
            {
                item = ngx_http_mcp_describe_resource(
                                      &providers[n]->resources[i], "uri");
                if (json_array_append_new(list, item) != 0) {
                    goto failed;
                }
            }
        }

    } else {
        pos.data++;
        pos.len--;
    }

    ngx_str_null(&next);

    for (n = 0; n < np; n++) {
        if (providers[n]->list_resources == NULL) {
            continue;
        }

        if (providers[n]->list_resources(call, &pos, NGX_HTTP_MCP_PAGE, list,
                                         &next)
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

        if (ngx_http_mcp_cursor_encode(call->r->pool, &pos, &cursor) != NGX_OK
            || json_object_set_new(result, "nextCursor",
                                   json_stringn((char *) cursor.data,
                                                cursor.len))
               != 0)
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
 * Does uri match template, "scheme://prefix{var}suffix" with any number
 * of variables, each matching one or more characters other than "/"?
 */

static ngx_int_t
ngx_http_mcp_template_match(const char *template, ngx_str_t *uri)
{
    u_char      *u, *last;
    const char  *t;

    u = uri->data;
    last = uri->data + uri->len;

    for (t = template; *t; t++) {

        if (*t != '{') {
            if (u == last || *u != (u_char) *t) {
                return NGX_DECLINED;
            }

            u++;
            continue;
        }

        while (*t && *t != '}') {
            t++;
        }

        if (*t == '\0') {
            return NGX_DECLINED;
        }

        if (u == last || *u == '/') {
            return NGX_DECLINED;
        }

        while (u < last && *u != '/' && *u != (u_char) t[1]) {
            u++;
        }
    }

    return u == last ? NGX_OK : NGX_DECLINED;
}


static json_t *
ngx_http_mcp_resources_read(ngx_http_mcp_call_t *call, json_t *params,
    ngx_http_mcp_error_t *err)
{
    ngx_str_t                 uri;
    ngx_uint_t                i, n, np;
    ngx_http_mcp_resource_t  *res;
    ngx_http_mcp_provider_t  *providers[8];

    if (ngx_http_mcp_arg_str(params, "uri", 1, &uri, err) != NGX_OK) {
        return NULL;
    }

    np = ngx_http_mcp_providers(call, providers);

    for (n = 0; n < np; n++) {
        for (res = providers[n]->resources; res && res->uri; res++) {
            if (ngx_strlen(res->uri) == uri.len
                && ngx_strncmp(res->uri, uri.data, uri.len) == 0)
            {
                return res->read(call, params, err);
            }
        }
    }

    for (n = 0; n < np; n++) {
        for (i = 0;
             providers[n]->templates && providers[n]->templates[i].uri;
             i++)
        {
            res = &providers[n]->templates[i];

            if (ngx_http_mcp_template_match(res->uri, &uri) == NGX_OK) {
                return res->read(call, params, err);
            }
        }
    }

    return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_RESOURCE_NOT_FOUND,
                                 "Resource not found: %.*s",
                                 (int) ngx_min(uri.len, 200), uri.data);
}


/*
 * resources/subscribe and unsubscribe: accepted; this server's resources
 * change only through its own tools, and updates are not pushed yet.
 */

static json_t *
ngx_http_mcp_subscribe(ngx_http_mcp_call_t *call, json_t *params,
    ngx_http_mcp_error_t *err)
{
    ngx_str_t  uri;

    if (ngx_http_mcp_arg_str(params, "uri", 1, &uri, err) != NGX_OK) {
        return NULL;
    }

    return json_object();
}


static json_t *
ngx_http_mcp_prompts_get(ngx_http_mcp_call_t *call, json_t *params,
    ngx_http_mcp_error_t *err)
{
    json_t                   *args, *declared, *a;
    ngx_str_t                 name;
    ngx_uint_t                i, j, n, np;
    const char               *arg;
    ngx_http_mcp_prompt_t    *prompt;
    ngx_http_mcp_provider_t  *providers[8];

    args = ngx_http_mcp_named_args(params, &name, err);
    if (args == NULL) {
        return NULL;
    }

    ngx_http_mcp_json_cleanup(call->r->pool, args);

    np = ngx_http_mcp_providers(call, providers);

    for (n = 0; n < np; n++) {
        for (i = 0; providers[n]->prompts && providers[n]->prompts[i].name;
             i++)
        {
            prompt = &providers[n]->prompts[i];

            if (ngx_strlen(prompt->name) != name.len
                || ngx_strncmp(prompt->name, name.data, name.len) != 0)
            {
                continue;
            }

            /* required arguments, as the prompt declares them */

            declared = prompt->arguments
                       ? json_loads(prompt->arguments, 0, NULL) : NULL;

            json_array_foreach(declared, j, a) {
                arg = json_string_value(json_object_get(a, "name"));

                if (arg != NULL
                    && json_is_true(json_object_get(a, "required"))
                    && !json_is_string(json_object_get(args, arg)))
                {
                    /* arg lives in declared: format before freeing it */
                    (void) ngx_http_mcp_rpc_fail(err,
                                                 NGX_HTTP_MCP_INVALID_PARAMS,
                                                 "Invalid params: prompt "
                                                 "\"%s\" needs the argument "
                                                 "\"%s\"", prompt->name, arg);
                    json_decref(declared);
                    return NULL;
                }
            }

            json_decref(declared);

            return prompt->get(call, args, err);
        }
    }

    return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INVALID_PARAMS,
                                 "Unknown prompt: %.*s",
                                 (int) ngx_min(name.len, 128), name.data);
}


static json_t *
ngx_http_mcp_complete(ngx_http_mcp_call_t *call, json_t *params,
    ngx_http_mcp_error_t *err)
{
    json_t                   *ref, *argument, *values, *type;
    ngx_str_t                 name, value;
    ngx_uint_t                n, np;
    ngx_http_mcp_provider_t  *providers[8];

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
        return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INTERNAL_ERROR,
                                     "out of memory");
    }

    np = ngx_http_mcp_providers(call, providers);

    for (n = 0; n < np; n++) {
        if (providers[n]->complete
            && providers[n]->complete(call, ref, &name, &value, values)
               != NGX_OK)
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


ngx_int_t
ngx_http_mcp_log_level(const char *name, ngx_uint_t *level)
{
    ngx_uint_t  i;

    for (i = 0; ngx_http_mcp_log_levels[i]; i++) {
        if (ngx_strcmp(ngx_http_mcp_log_levels[i], name) == 0) {
            *level = i;
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


static json_t *
ngx_http_mcp_set_level(ngx_http_mcp_call_t *call, json_t *params,
    ngx_http_mcp_error_t *err)
{
    json_t      *level;
    ngx_uint_t   n;

    level = json_object_get(params, "level");

    if (!json_is_string(level)
        || ngx_http_mcp_log_level(json_string_value(level), &n) != NGX_OK)
    {
        return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INVALID_PARAMS,
                                     "Invalid params: level must be one of "
                                     "debug, info, notice, warning, error, "
                                     "critical, alert, emergency");
    }

    /* NGX_DONE: the cluster answers (err->status NGX_HTTP_MCP_DEFERRED) */

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
 * A tool's own failure: a result with isError, which the model can read.
 */

json_t *
ngx_http_mcp_tool_error(const char *fmt, ...)
{
    char     message[512];
    va_list  args;

    va_start(args, fmt);
    (void) vsnprintf(message, sizeof(message), fmt, args);
    va_end(args);

    ngx_http_mcp_utf8_clean(message);

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
    json_t  *v;

    v = json_object_get(args, name);

    if (v == NULL || json_is_null(v)) {
        ngx_str_null(value);

        if (!required) {
            return NGX_OK;
        }

        (void) ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INVALID_PARAMS,
                                     "Invalid params: \"%s\" is required",
                                     name);
        return NGX_DECLINED;
    }

    if (!json_is_string(v)) {
        (void) ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INVALID_PARAMS,
                                     "Invalid params: \"%s\" must be a "
                                     "string", name);
        return NGX_DECLINED;
    }

    value->data = (u_char *) json_string_value(v);
    value->len = json_string_length(v);

    return NGX_OK;
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
 * The position in params.cursor: empty when there is no cursor;
 * NGX_DECLINED with -32602 when it is not one of ours.
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
        return NGX_DECLINED;
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
