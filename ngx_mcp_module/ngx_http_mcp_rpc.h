
/*
 * ngx_mcp: the MCP server's insides, shared by the transport
 * (ngx_http_mcp_endpoint.c), the sessions (ngx_http_mcp_session.c), the
 * JSON-RPC methods (ngx_http_mcp_rpc.c) and the files that provide tools,
 * resources and prompts (ngx_http_mcp_links.c, ngx_http_mcp_graph.c,
 * ngx_http_mcp_contexts.c, ngx_http_mcp_fixtures.c).
 *
 * A provider is a table of entries with a handler each.  Handlers run
 * synchronously inside one request; what they want to say before their
 * result (progress, log messages) they queue on the call, and the
 * transport then answers with an SSE stream instead of plain JSON.
 */


#ifndef _NGX_HTTP_MCP_RPC_H_INCLUDED_
#define _NGX_HTTP_MCP_RPC_H_INCLUDED_


#include "ngx_http_mcp_module.h"


/* logging levels of MCP (RFC 5424 order, most verbose first) */
#define NGX_HTTP_MCP_LOG_DEBUG            0
#define NGX_HTTP_MCP_LOG_INFO             1
#define NGX_HTTP_MCP_LOG_NOTICE           2
#define NGX_HTTP_MCP_LOG_WARNING          3
#define NGX_HTTP_MCP_LOG_ERROR            4
#define NGX_HTTP_MCP_LOG_CRITICAL         5
#define NGX_HTTP_MCP_LOG_ALERT            6
#define NGX_HTTP_MCP_LOG_EMERGENCY        7

/* the kinds of entries of a provider */
#define NGX_HTTP_MCP_TOOL                 0
#define NGX_HTTP_MCP_RESOURCE             1
#define NGX_HTTP_MCP_TEMPLATE             2
#define NGX_HTTP_MCP_PROMPT               3
#define NGX_HTTP_MCP_KINDS                4

/* page size of every list method */
#define NGX_HTTP_MCP_PAGE                 50

/* what the client declared in initialize (the session's flags) */
#define NGX_HTTP_MCP_CLIENT_SAMPLING      0x01
#define NGX_HTTP_MCP_CLIENT_ELICITATION   0x02
#define NGX_HTTP_MCP_CLIENT_ROOTS         0x04


/* One JSON-RPC request being served. */
typedef struct {
    ngx_http_request_t        *r;
    ngx_http_mcp_main_conf_t  *mmcf;
    ngx_http_mcp_loc_conf_t   *mlcf;

    ngx_str_t                  session;        /* Mcp-Session-Id */
    ngx_str_t                  protocol;       /* negotiated version */
    ngx_uint_t                 log_level;      /* least level sent */
    ngx_uint_t                 client_caps;    /* NGX_HTTP_MCP_CLIENT_* */

    void                      *data;           /* of what is called */
    json_t                    *progress_token; /* params._meta, or NULL */
    json_t                    *stream;         /* messages queued before
                                                  the result, or NULL */
    json_t                    *id;             /* of the request */
    ngx_str_t                  structured;     /* a tool result's
                                                  structuredContent, as
                                                  written (ngx_http_mcp_
                                                  tool_written()) */
    ngx_str_t                  tool;           /* the tool called, while
                                                  its answer may come
                                                  later: counted then */
    void                      *sse;            /* its stream, once it
                                                  waits for the client
                                                  (ngx_http_mcp_stream.c) */
    unsigned                   detach:1;       /* ends its stream before
                                                  the result */
} ngx_http_mcp_call_t;


/*
 * A handler (of a method, a tool, a resource or a prompt) returns a new
 * reference to its result, or NULL with err filled (ngx_http_mcp_rpc_fail():
 * the JSON-RPC error code, answered with 200).  Handlers are declared with
 * the function type: "static ngx_http_mcp_handler_fn  ngx_http_mcp_x;".
 *
 * In a cluster, a handler that writes returns NULL with err->code
 * NGX_HTTP_MCP_DEFERRED: it has handed the call to the cluster
 * (ngx_http_mcp_cluster_tool()), which answers it with
 * ngx_http_mcp_respond() once the write is applied.
 */

#define NGX_HTTP_MCP_DEFERRED             1

typedef json_t *ngx_http_mcp_handler_fn(ngx_http_mcp_call_t *call,
    json_t *params, ngx_http_mcp_error_t *err);
typedef ngx_http_mcp_handler_fn  *ngx_http_mcp_handler_pt;


/*
 * What a handler that asked the client something (ngx_http_mcp_ask())
 * goes on with: answer is the client's response message, with "result"
 * or "error", or NULL when none came in time.  It returns as a handler
 * does (and may ask again).
 */
typedef json_t *(*ngx_http_mcp_resume_pt)(ngx_http_mcp_call_t *call,
    void *data, json_t *answer, ngx_http_mcp_error_t *err);


/*
 * The JSON texts are parsed once, when the configuration is read
 * (ngx_http_mcp_catalog.c); schemas follow JSON Schema 2020-12 as MCP
 * requires.
 */
typedef struct {
    const char                *name;
    const char                *title;
    const char                *description;
    const char                *input_schema;
    const char                *output_schema;  /* or NULL */
    const char                *annotations;    /* or NULL */
    ngx_http_mcp_handler_pt    call;           /* params: the arguments */
    void                      *data;           /* call->data for call */
} ngx_http_mcp_tool_t;


typedef struct {
    const char                *uri;            /* or a URI template */
    const char                *name;
    const char                *title;
    const char                *description;
    const char                *mime_type;
    ngx_http_mcp_handler_pt    read;           /* params: {"uri": ...} */
    void                      *data;           /* call->data for read */
} ngx_http_mcp_resource_t;


typedef struct {
    const char                *name;
    const char                *title;
    const char                *description;
    const char                *arguments;      /* JSON array, or NULL */
    ngx_http_mcp_handler_pt    get;            /* params: the arguments */
} ngx_http_mcp_prompt_t;


/* the ends of the tables, as ngx_null_command ends a module's commands */
#define ngx_http_mcp_null_tool                                                \
    { NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL }
#define ngx_http_mcp_null_resource                                            \
    { NULL, NULL, NULL, NULL, NULL, NULL, NULL }
#define ngx_http_mcp_null_prompt    { NULL, NULL, NULL, NULL, NULL }


/*
 * What a provider offers: tables that end with an entry without a name
 * (or uri), and optional dynamic resource listing and completion.
 */
typedef struct {
    ngx_http_mcp_tool_t       *tools;
    ngx_http_mcp_resource_t   *resources;      /* fixed resources */
    ngx_http_mcp_resource_t   *templates;      /* uri is a template */
    ngx_http_mcp_prompt_t     *prompts;

    /*
     * Appends up to limit resources after the opaque position "after"
     * (empty: from the start) to list; sets *next to where the next page
     * starts (empty when none).  NGX_ERROR on store failure.
     */
    ngx_int_t                (*list_resources)(ngx_http_mcp_call_t *call,
                                  ngx_str_t *after, size_t limit,
                                  json_t *list, ngx_str_t *next);

    /*
     * Completion of an argument of a prompt or a resource template:
     * appends candidate strings starting with value to values.
     */
    ngx_int_t                (*complete)(ngx_http_mcp_call_t *call,
                                  json_t *ref, ngx_str_t *name,
                                  ngx_str_t *value, json_t *values);
} ngx_http_mcp_provider_t;


extern ngx_http_mcp_provider_t  ngx_http_mcp_links_provider;
extern ngx_http_mcp_provider_t  ngx_http_mcp_graph_provider;
extern ngx_http_mcp_provider_t  ngx_http_mcp_contexts_provider;
extern ngx_http_mcp_provider_t  ngx_http_mcp_fixtures_provider;


/* ngx_http_mcp_catalog.c */
ngx_http_mcp_provider_t *ngx_http_mcp_provider(ngx_http_mcp_call_t *call,
    ngx_uint_t n);
json_t *ngx_http_mcp_catalog(ngx_http_mcp_call_t *call, ngx_uint_t n,
    ngx_uint_t kind);
json_t *ngx_http_mcp_catalog_list(ngx_http_mcp_call_t *call, json_t *params,
    ngx_uint_t kind, ngx_http_mcp_error_t *err);
void *ngx_http_mcp_catalog_find(ngx_http_mcp_call_t *call, ngx_uint_t kind,
    ngx_str_t *name, json_t **desc);

/* ngx_http_mcp_rpc.c */
json_t *ngx_http_mcp_dispatch(ngx_http_mcp_call_t *call, const char *method,
    json_t *params, ngx_http_mcp_error_t *err);
ngx_int_t ngx_http_mcp_notify(ngx_http_mcp_call_t *call, const char *method,
    json_t *params);
ngx_int_t ngx_http_mcp_log(ngx_http_mcp_call_t *call, ngx_uint_t level,
    const char *logger, json_t *data);
ngx_int_t ngx_http_mcp_progress(ngx_http_mcp_call_t *call, double progress,
    double total, const char *message);
ngx_int_t ngx_http_mcp_opens_session(const char *method);
ngx_str_t *ngx_http_mcp_protocol(ngx_str_t *version);
void ngx_http_mcp_protocol_list(char *buf, size_t size);

/* ngx_http_mcp_session.c */
ngx_int_t ngx_http_mcp_session_find(ngx_http_mcp_call_t *call,
    ngx_http_mcp_error_t *err);
ngx_int_t ngx_http_mcp_session_create(ngx_http_mcp_call_t *call,
    json_t *params, json_t *result, ngx_http_mcp_error_t *err);
ngx_int_t ngx_http_mcp_session_set_level(ngx_http_mcp_call_t *call,
    ngx_uint_t level, ngx_http_mcp_error_t *err);
ngx_int_t ngx_http_mcp_session_delete(ngx_http_mcp_call_t *call,
    ngx_http_mcp_error_t *err);

/* ngx_http_mcp_stream.c */
json_t *ngx_http_mcp_ask(ngx_http_mcp_call_t *call, const char *method,
    json_t *params, ngx_http_mcp_resume_pt resume, void *data,
    ngx_http_mcp_error_t *err);
ngx_int_t ngx_http_mcp_stream_detach(ngx_http_mcp_call_t *call,
    ngx_str_t *response);
ngx_int_t ngx_http_mcp_stream_answer(ngx_http_mcp_call_t *call, json_t *msg,
    ngx_http_mcp_error_t *err);
ngx_int_t ngx_http_mcp_stream_get(ngx_http_mcp_call_t *call,
    ngx_http_mcp_error_t *err);
ngx_int_t ngx_http_mcp_stream_subscribe(ngx_http_mcp_call_t *call,
    ngx_str_t *uri, ngx_uint_t on, ngx_http_mcp_error_t *err);
void ngx_http_mcp_resource_changed(ngx_http_request_t *r,
    const char *prefix, u_char *name, size_t len);
void ngx_http_mcp_resource_list_changed(ngx_http_request_t *r);
void ngx_http_mcp_stream_forget(ngx_http_request_t *r, ngx_str_t *session);
void ngx_http_mcp_stream_cancel(ngx_http_mcp_call_t *call, json_t *params);

/* ngx_http_mcp_util.c: shared by the context-store tools */
ngx_int_t ngx_http_mcp_scope(ngx_http_mcp_call_t *call, json_t *args,
    mcp_store_scope_t *sc, json_t **result);
json_t *ngx_http_mcp_txn_end(ngx_http_mcp_call_t *call, mcp_store_txn_t *txn,
    int rc, json_t *result);

/* ngx_http_mcp_endpoint.c */
ngx_int_t ngx_http_mcp_response(ngx_http_mcp_call_t *call, json_t *result,
    ngx_http_mcp_error_t *err, ngx_http_mcp_jw_t *w);
ngx_int_t ngx_http_mcp_respond(ngx_http_mcp_call_t *call, json_t *result,
    ngx_http_mcp_error_t *err);
ngx_int_t ngx_http_mcp_send_empty(ngx_http_request_t *r, ngx_uint_t status);
ngx_int_t ngx_http_mcp_send_rpc_error(ngx_http_request_t *r, json_t *id,
    ngx_http_mcp_error_t *err);

/* results of tools */
json_t *ngx_http_mcp_text(const char *text);
json_t *ngx_http_mcp_tool_result(json_t *structured);
json_t *ngx_http_mcp_tool_written(ngx_http_mcp_call_t *call,
    ngx_http_mcp_jw_t *structured, ngx_http_mcp_error_t *err);
json_t *ngx_http_mcp_tool_value(ngx_http_mcp_call_t *call, json_t *structured,
    ngx_http_mcp_error_t *err);
void ngx_http_mcp_jw_tool_result(ngx_http_mcp_jw_t *w, ngx_str_t *structured);
json_t *ngx_http_mcp_tool_error(const char *fmt, ...)
    NGX_HTTP_MCP_PRINTF(1, 2);

/* results of resources/read */
json_t *ngx_http_mcp_resource_json(ngx_str_t *uri, json_t *json,
    ngx_http_mcp_error_t *err);
json_t *ngx_http_mcp_resource_text(ngx_str_t *uri, ngx_str_t *text,
    ngx_http_mcp_error_t *err);
json_t *ngx_http_mcp_resource_not_found(ngx_str_t *uri,
    ngx_http_mcp_error_t *err);

/* arguments */
ngx_int_t ngx_http_mcp_arg_str(json_t *args, const char *name,
    ngx_uint_t required, ngx_str_t *value, ngx_http_mcp_error_t *err);

/* opaque list cursors: base64url of a position */
ngx_int_t ngx_http_mcp_cursor_encode(ngx_pool_t *pool, ngx_str_t *pos,
    ngx_str_t *cursor);
ngx_int_t ngx_http_mcp_cursor_decode(ngx_pool_t *pool, json_t *params,
    ngx_str_t *pos, ngx_http_mcp_error_t *err);
ngx_int_t ngx_http_mcp_next_cursor(ngx_pool_t *pool, json_t *result,
    ngx_str_t *pos);


#endif /* _NGX_HTTP_MCP_RPC_H_INCLUDED_ */
