
/*
 * ngx_mcp: the request's context and the variables made of it, for
 * log_format, add_header and other modules:
 *
 *     $mcp_code        the link created (POST /shorten, shorten_url) or
 *                      visited (a redirect)
 *     $mcp_tenant      the tenant of the request's API key ("default"
 *                      without keys), once the request was authenticated
 *     $mcp_session_id  the MCP session: the one a response creates, else
 *                      the one the request names
 *     $mcp_rpc_method  the JSON-RPC method (the last of a batch)
 *     $mcp_tool        the tool called by tools/call
 *
 * A variable the request has nothing for is not found (empty, "-" in
 * access logs).  nginx forgets module contexts on internal redirects, so
 * after error_page they are empty.
 */


#include "ngx_http_mcp_module.h"


static ngx_int_t ngx_http_mcp_ctx_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_mcp_code_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_mcp_tenant_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_mcp_session_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static void ngx_http_mcp_variable_str(ngx_http_variable_value_t *v,
    ngx_str_t *s);


static ngx_http_variable_t  ngx_http_mcp_variables[] = {

    { ngx_string("mcp_code"), NULL, ngx_http_mcp_code_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("mcp_tenant"), NULL, ngx_http_mcp_tenant_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("mcp_session_id"), NULL, ngx_http_mcp_session_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("mcp_rpc_method"), NULL, ngx_http_mcp_ctx_variable,
      offsetof(ngx_http_mcp_ctx_t, rpc_method), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("mcp_tool"), NULL, ngx_http_mcp_ctx_variable,
      offsetof(ngx_http_mcp_ctx_t, tool), NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_mcp_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_mcp_variables; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


/* the request's context, made on first use; NULL when out of memory */

ngx_http_mcp_ctx_t *
ngx_http_mcp_ctx(ngx_http_request_t *r)
{
    ngx_http_mcp_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_mcp_module);

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_mcp_ctx_t));
        if (ctx == NULL) {
            return NULL;
        }

        ngx_http_set_ctx(r, ctx, ngx_mcp_module);
    }

    return ctx;
}


/*
 * Copies data into a string of the request's context, field one of
 * NGX_HTTP_MCP_NOTE_*.  What it notes is for logs: out of memory, it notes
 * nothing rather than fail the request.
 */

void
ngx_http_mcp_note(ngx_http_request_t *r, size_t field, u_char *data,
    size_t len)
{
    u_char              *p;
    ngx_str_t           *s;
    ngx_http_mcp_ctx_t  *ctx;

    ctx = ngx_http_mcp_ctx(r);
    p = ngx_pnalloc(r->pool, len);

    if (ctx == NULL || p == NULL) {
        return;
    }

    ngx_memcpy(p, data, len);

    s = (ngx_str_t *) ((u_char *) ctx + field);
    s->data = p;
    s->len = len;
}


static void
ngx_http_mcp_variable_str(ngx_http_variable_value_t *v, ngx_str_t *s)
{
    if (s == NULL || s->len == 0) {
        v->not_found = 1;
        return;
    }

    v->len = s->len;
    v->data = s->data;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
}


static ngx_int_t
ngx_http_mcp_ctx_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_mcp_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_mcp_module);

    ngx_http_mcp_variable_str(v, ctx ? (ngx_str_t *) ((u_char *) ctx + data)
                                     : NULL);

    return NGX_OK;
}


/*
 * The code a redirect location serves is in its URI (not noted: the hot
 * path does no more than it must); the others note what they create.
 */

static ngx_int_t
ngx_http_mcp_code_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t                 code;
    ngx_http_mcp_ctx_t       *ctx;
    ngx_http_mcp_loc_conf_t  *mlcf;

    ctx = ngx_http_get_module_ctx(r, ngx_mcp_module);

    if (ctx && ctx->code.len) {
        ngx_http_mcp_variable_str(v, &ctx->code);
        return NGX_OK;
    }

    mlcf = ngx_http_get_module_loc_conf(r, ngx_mcp_module);

    if (mlcf->handler == NGX_HTTP_MCP_HANDLER_REDIRECT) {
        ngx_http_mcp_uri_tail(r, &code);

        if (ngx_http_mcp_valid_code(&code) == NGX_OK) {
            ngx_http_mcp_variable_str(v, &code);
            return NGX_OK;
        }
    }

    v->not_found = 1;

    return NGX_OK;
}


static ngx_int_t
ngx_http_mcp_tenant_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_mcp_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_mcp_module);

    ngx_http_mcp_variable_str(v, (ctx && ctx->key) ? &ctx->key->tenant
                                                   : NULL);

    return NGX_OK;
}


static ngx_int_t
ngx_http_mcp_session_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t  *id;

    /* a session initialize created is in the response */
    id = ngx_http_mcp_list_header(&r->headers_out.headers, "Mcp-Session-Id");

    if (id == NULL) {
        id = ngx_http_mcp_header(r, "Mcp-Session-Id");
    }

    ngx_http_mcp_variable_str(v, id);

    return NGX_OK;
}
