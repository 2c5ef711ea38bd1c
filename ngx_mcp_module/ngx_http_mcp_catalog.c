
/*
 * ngx_mcp: what the MCP server offers, the providers' tools, resources,
 * resource templates and prompts: described once, while the
 * configuration is read (their JSON texts parsed then, not per request),
 * listed in pages, and looked up by name.
 */


#include "ngx_http_mcp_rpc.h"


/*
 * A member of an entry's description: a string field of the entry, or a
 * JSON text (schemas, annotations, arguments).
 */
typedef struct {
    const char                *key;
    size_t                     offset;     /* of a const char * */
    ngx_uint_t                 json;
} ngx_http_mcp_field_t;


/*
 * A kind of entry: where a provider keeps its table of them (which ends
 * with an entry without a name) and how an entry is described; fields[0]
 * names the entry.
 */
typedef struct {
    const char                *list;       /* member of the list result */
    size_t                     table;      /* in ngx_http_mcp_provider_t */
    size_t                     size;       /* of an entry */
    ngx_http_mcp_field_t      *fields;
} ngx_http_mcp_kind_t;


static void *ngx_http_mcp_entry(ngx_uint_t provider, ngx_uint_t kind,
    ngx_uint_t i);
static json_t *ngx_http_mcp_describe(ngx_conf_t *cf, ngx_uint_t kind,
    void *entry);
static ngx_uint_t ngx_http_mcp_nproviders(ngx_http_mcp_call_t *call);
static ngx_int_t ngx_http_mcp_template_match(const char *template,
    ngx_str_t *uri);


#define ngx_http_mcp_field(entry, f)                                          \
    (*(const char **) ((u_char *) (entry) + (f)->offset))


static ngx_http_mcp_field_t  ngx_http_mcp_tool_fields[] = {
    { "name", offsetof(ngx_http_mcp_tool_t, name), 0 },
    { "title", offsetof(ngx_http_mcp_tool_t, title), 0 },
    { "description", offsetof(ngx_http_mcp_tool_t, description), 0 },
    { "inputSchema", offsetof(ngx_http_mcp_tool_t, input_schema), 1 },
    { "outputSchema", offsetof(ngx_http_mcp_tool_t, output_schema), 1 },
    { "annotations", offsetof(ngx_http_mcp_tool_t, annotations), 1 },
    { NULL, 0, 0 }
};


static ngx_http_mcp_field_t  ngx_http_mcp_resource_fields[] = {
    { "uri", offsetof(ngx_http_mcp_resource_t, uri), 0 },
    { "name", offsetof(ngx_http_mcp_resource_t, name), 0 },
    { "title", offsetof(ngx_http_mcp_resource_t, title), 0 },
    { "description", offsetof(ngx_http_mcp_resource_t, description), 0 },
    { "mimeType", offsetof(ngx_http_mcp_resource_t, mime_type), 0 },
    { NULL, 0, 0 }
};


static ngx_http_mcp_field_t  ngx_http_mcp_template_fields[] = {
    { "uriTemplate", offsetof(ngx_http_mcp_resource_t, uri), 0 },
    { "name", offsetof(ngx_http_mcp_resource_t, name), 0 },
    { "title", offsetof(ngx_http_mcp_resource_t, title), 0 },
    { "description", offsetof(ngx_http_mcp_resource_t, description), 0 },
    { "mimeType", offsetof(ngx_http_mcp_resource_t, mime_type), 0 },
    { NULL, 0, 0 }
};


static ngx_http_mcp_field_t  ngx_http_mcp_prompt_fields[] = {
    { "name", offsetof(ngx_http_mcp_prompt_t, name), 0 },
    { "title", offsetof(ngx_http_mcp_prompt_t, title), 0 },
    { "description", offsetof(ngx_http_mcp_prompt_t, description), 0 },
    { "arguments", offsetof(ngx_http_mcp_prompt_t, arguments), 1 },
    { NULL, 0, 0 }
};


/* by NGX_HTTP_MCP_TOOL, _RESOURCE, _TEMPLATE and _PROMPT */
static ngx_http_mcp_kind_t  ngx_http_mcp_kinds[] = {
    { "tools", offsetof(ngx_http_mcp_provider_t, tools),
      sizeof(ngx_http_mcp_tool_t), ngx_http_mcp_tool_fields },
    { "resources", offsetof(ngx_http_mcp_provider_t, resources),
      sizeof(ngx_http_mcp_resource_t), ngx_http_mcp_resource_fields },
    { "resourceTemplates", offsetof(ngx_http_mcp_provider_t, templates),
      sizeof(ngx_http_mcp_resource_t), ngx_http_mcp_template_fields },
    { "prompts", offsetof(ngx_http_mcp_provider_t, prompts),
      sizeof(ngx_http_mcp_prompt_t), ngx_http_mcp_prompt_fields }
};


/* in listing order; the fixtures only where mcp_conformance_fixtures is
 * on, so last */
static ngx_http_mcp_provider_t  *ngx_http_mcp_providers[] = {
    &ngx_http_mcp_links_provider,
    &ngx_http_mcp_graph_provider,
    &ngx_http_mcp_contexts_provider,
    &ngx_http_mcp_fixtures_provider
};

#define NGX_HTTP_MCP_PROVIDERS                                                \
    (sizeof(ngx_http_mcp_providers) / sizeof(ngx_http_mcp_providers[0]))


/*
 * Describes every entry of every provider into mmcf->catalog: an array by
 * provider of arrays by kind of descriptions, in table order.  It lives
 * as long as the configuration.
 */

ngx_int_t
ngx_http_mcp_catalog_init(ngx_conf_t *cf)
{
    void                      *entry;
    json_t                    *catalog, *kinds, *list, *desc;
    ngx_uint_t                 n, kind, i;
    ngx_http_mcp_main_conf_t  *mmcf;

    mmcf = ngx_http_conf_get_module_main_conf(cf, ngx_mcp_module);

    catalog = json_array();
    if (catalog == NULL) {
        return NGX_ERROR;
    }

    ngx_http_mcp_json_cleanup(cf->pool, catalog);

    for (n = 0; n < NGX_HTTP_MCP_PROVIDERS; n++) {

        kinds = json_array();
        if (json_array_append_new(catalog, kinds) != 0) {
            return NGX_ERROR;
        }

        for (kind = 0; kind < NGX_HTTP_MCP_KINDS; kind++) {

            list = json_array();
            if (json_array_append_new(kinds, list) != 0) {
                return NGX_ERROR;
            }

            for (i = 0; (entry = ngx_http_mcp_entry(n, kind, i)); i++) {
                desc = ngx_http_mcp_describe(cf, kind, entry);
                if (json_array_append_new(list, desc) != 0) {
                    return NGX_ERROR;
                }
            }
        }
    }

    mmcf->catalog = catalog;

    return NGX_OK;
}


/*
 * The i-th entry of kind of the provider, or NULL past the last.
 */

static void *
ngx_http_mcp_entry(ngx_uint_t provider, ngx_uint_t kind, ngx_uint_t i)
{
    u_char               *table, *entry;
    ngx_http_mcp_kind_t  *k;

    k = &ngx_http_mcp_kinds[kind];
    table = *(u_char **) ((u_char *) ngx_http_mcp_providers[provider]
                          + k->table);

    if (table == NULL) {
        return NULL;
    }

    entry = table + i * k->size;

    return ngx_http_mcp_field(entry, &k->fields[0]) ? entry : NULL;
}


/*
 * The description of an entry: its fields that are set, the JSON texts
 * parsed.  NULL when out of memory, or (logged) when a text is not JSON.
 */

static json_t *
ngx_http_mcp_describe(ngx_conf_t *cf, ngx_uint_t kind, void *entry)
{
    json_t                *desc, *v;
    const char            *name, *text;
    json_error_t           jerr;
    ngx_http_mcp_field_t  *f;

    desc = json_object();
    if (desc == NULL) {
        return NULL;
    }

    f = ngx_http_mcp_kinds[kind].fields;
    name = ngx_http_mcp_field(entry, f);

    for ( /* void */ ; f->key; f++) {
        text = ngx_http_mcp_field(entry, f);

        if (text == NULL) {
            continue;
        }

        v = f->json ? json_loads(text, 0, &jerr) : json_string(text);

        if (v == NULL && f->json) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "mcp: the %s of \"%s\" is not valid JSON: "
                               "%s", f->key, name, jerr.text);
        }

        if (json_object_set_new(desc, f->key, v) != 0) {
            json_decref(desc);
            return NULL;
        }
    }

    return desc;
}


/*
 * The n-th provider of the call's location, or NULL past the last.
 */

ngx_http_mcp_provider_t *
ngx_http_mcp_provider(ngx_http_mcp_call_t *call, ngx_uint_t n)
{
    return (n < ngx_http_mcp_nproviders(call)) ? ngx_http_mcp_providers[n]
                                               : NULL;
}


static ngx_uint_t
ngx_http_mcp_nproviders(ngx_http_mcp_call_t *call)
{
    return call->mlcf->conformance_fixtures ? NGX_HTTP_MCP_PROVIDERS
                                            : NGX_HTTP_MCP_PROVIDERS - 1;
}


/*
 * tools/list, resources/templates/list, prompts/list: the descriptions of
 * kind of the location's providers, in pages of NGX_HTTP_MCP_PAGE; the
 * cursor is the position of the page's first entry among them all.
 */

json_t *
ngx_http_mcp_catalog_list(ngx_http_mcp_call_t *call, json_t *params,
    ngx_uint_t kind, ngx_http_mcp_error_t *err)
{
    json_t      *result, *list, *desc;
    ngx_int_t    start;
    ngx_str_t    pos;
    ngx_uint_t   i, n, seen;
    u_char       buf[NGX_INT_T_LEN];

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
    result = json_pack("{s:o}", ngx_http_mcp_kinds[kind].list, list);
    if (result == NULL) {
        return ngx_http_mcp_rpc_nomem(err);
    }

    seen = 0;

    for (n = 0; n < ngx_http_mcp_nproviders(call); n++) {
        json_array_foreach(ngx_http_mcp_catalog(call, n, kind), i, desc) {

            if (seen++ < (ngx_uint_t) start) {
                continue;
            }

            if (json_array_size(list) < NGX_HTTP_MCP_PAGE) {
                if (json_array_append(list, desc) != 0) {
                    goto failed;
                }

                continue;
            }

            /* one more than a page: the next starts with it */

            pos.data = buf;
            pos.len = snprintf((char *) buf, sizeof(buf), "%zu",
                               (size_t) (seen - 1));

            if (ngx_http_mcp_next_cursor(call->r->pool, result, &pos)
                != NGX_OK)
            {
                goto failed;
            }

            return result;
        }
    }

    return result;

failed:

    json_decref(result);

    return ngx_http_mcp_rpc_nomem(err);
}


/*
 * The descriptions of kind of the n-th provider, an array.
 */

json_t *
ngx_http_mcp_catalog(ngx_http_mcp_call_t *call, ngx_uint_t n,
    ngx_uint_t kind)
{
    return json_array_get(json_array_get(call->mmcf->catalog, n), kind);
}


/*
 * The entry of kind among the location's providers that name names (for
 * templates: whose template the URI name matches), and its description
 * in *desc when desc is not NULL; or NULL.
 */

void *
ngx_http_mcp_catalog_find(ngx_http_mcp_call_t *call, ngx_uint_t kind,
    ngx_str_t *name, json_t **desc)
{
    void                  *entry;
    const char            *s;
    ngx_uint_t             n, i;
    ngx_http_mcp_field_t  *f;

    f = &ngx_http_mcp_kinds[kind].fields[0];

    for (n = 0; n < ngx_http_mcp_nproviders(call); n++) {
        for (i = 0; (entry = ngx_http_mcp_entry(n, kind, i)); i++) {

            s = ngx_http_mcp_field(entry, f);

            if (kind == NGX_HTTP_MCP_TEMPLATE
                ? ngx_http_mcp_template_match(s, name) != NGX_OK
                : (ngx_strlen(s) != name->len
                   || ngx_strncmp(s, name->data, name->len) != 0))
            {
                continue;
            }

            if (desc) {
                *desc = json_array_get(ngx_http_mcp_catalog(call, n, kind),
                                       i);
            }

            return entry;
        }
    }

    return NULL;
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
