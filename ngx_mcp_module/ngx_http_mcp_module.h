
/*
 * ngx_mcp: URL shortener and MCP context server inside nginx.
 *
 * Shared declarations of the module's files.  The module parses, validates
 * and authorises requests, calls one store function, and encodes the
 * response; the store (store/mcp_store.h) never sees an nginx type.
 */


#ifndef _NGX_HTTP_MCP_MODULE_H_INCLUDED_
#define _NGX_HTTP_MCP_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jansson.h>

#include "mcp_store.h"
#include "ngx_http_mcp_json.h"


#define NGX_HTTP_MCP_VERSION              "0.1.0"

#define NGX_HTTP_MCP_TIME_LEN             sizeof("2030-01-02T03:04:05Z")

/* our printf-like functions take C's format (not nginx's): checked */
#if (defined __GNUC__)
#define NGX_HTTP_MCP_PRINTF(fmt, first)                                       \
    __attribute__((format(printf, fmt, first)))
#else
#define NGX_HTTP_MCP_PRINTF(fmt, first)
#endif

/* nginx 1.22 has no name or reason phrase for 422 */
#define NGX_HTTP_MCP_UNPROCESSABLE        422
#define NGX_HTTP_MCP_GONE                 410
#define NGX_HTTP_MCP_NOT_ACCEPTABLE       406

/* JSON-RPC and MCP error codes */
#define NGX_HTTP_MCP_PARSE_ERROR          -32700
#define NGX_HTTP_MCP_INVALID_REQUEST      -32600
#define NGX_HTTP_MCP_METHOD_NOT_FOUND     -32601
#define NGX_HTTP_MCP_INVALID_PARAMS       -32602
#define NGX_HTTP_MCP_INTERNAL_ERROR       -32603
#define NGX_HTTP_MCP_SESSION_NOT_FOUND    -32001
#define NGX_HTTP_MCP_RESOURCE_NOT_FOUND   -32002

#define NGX_HTTP_MCP_DURABILITY_SYNC      0
#define NGX_HTTP_MCP_DURABILITY_INTERVAL  1
#define NGX_HTTP_MCP_DURABILITY_OFF       2


/* One worker's visits not yet written to the store (ngx_http_mcp_visits.c) */
typedef struct ngx_http_mcp_visits_s  ngx_http_mcp_visits_t;


/* What a visit is, for ngx_http_mcp_count_visit(). */
#define NGX_HTTP_MCP_VISIT_PERSON      0   /* counted in the link and its
                                              statistics */
#define NGX_HTTP_MCP_VISIT_CONSUMED    1   /* counted in the link already
                                              (max_visits): statistics */
#define NGX_HTTP_MCP_VISIT_BOT         2   /* a bot's: counted apart */


typedef struct {
    ngx_str_t                  path;          /* store directory */
    size_t                     map_size;
    ngx_uint_t                 durability;
    ngx_flag_t                 writemap;      /* for interval and off */
    ngx_uint_t                 group_commit;  /* with durability=sync */
    ngx_msec_t                 sync_interval;
    ngx_msec_t                 flush_interval; /* visit counters */
    ngx_msec_t                 session_timeout;
    ngx_array_t               *quotas;        /* of mcp_store_quota_t */
    json_t                    *catalog;       /* what the MCP server
                                                 offers, described
                                                 (ngx_http_mcp_catalog.c) */

    /* per worker process, from init_process to exit_process */
    mcp_store_t               *store;
    ngx_http_mcp_visits_t     *visits;
    ngx_event_t                flush_event;
    ngx_event_t                sync_event;
    ngx_event_t                sweep_event;
    ngx_log_t                 *log;
    ngx_uint_t                 used;          /* a handler is configured */
    ngx_shm_zone_t            *status_zone;   /* counters, or NULL
                                                 (ngx_http_mcp_status.c) */
    ngx_shm_zone_t            *stream_zone;   /* MCP streams, or NULL
                                                 (ngx_http_mcp_stream.c) */
    ngx_file_uniq_t            store_uniq;    /* of the data file opened */
    ngx_int_t                  peer_index;    /* $realip_remote_addr, or
                                                 NGX_ERROR: the peer of
                                                 mcp_trusted_proxies */
#if (NGX_THREADS)
    ngx_thread_pool_t         *thread_pool;
    ngx_thread_task_t         *sync_task;
    ngx_uint_t                 sync_busy;     /* a sync task is in flight */
#endif
} ngx_http_mcp_main_conf_t;


/*
 * Where a server's short URLs lead: the prefix of its mcp_redirect
 * location, so that short_url can be derived without mcp_base_url.
 */
typedef struct {
    ngx_str_t                  redirect_prefix; /* or { 0, NULL }: "/" */
    ngx_str_t                  redirect_other;  /* a second mcp_redirect
                                                   location, or a regex,
                                                   exact or named one: no
                                                   prefix can be derived */
    ngx_str_t                  endpoint_path;   /* of the first mcp_endpoint
                                                   location that is not a
                                                   regex or named one: the
                                                   default OAuth audience */
} ngx_http_mcp_srv_conf_t;


typedef struct ngx_http_mcp_jwks_s  ngx_http_mcp_jwks_t;


/* An OAuth 2.1 resource server (mcp_oauth_*, ngx_http_mcp_oauth.c). */
typedef struct {
    ngx_array_t               *issuers;       /* of ngx_str_t, or NULL: no
                                                 OAuth here */
    ngx_http_mcp_jwks_t       *jwks;
    ngx_str_t                  audience;      /* or empty: derived */
    ngx_str_t                  scopes_claim;
    ngx_str_t                  tenant_claim;  /* or empty: "default" */
} ngx_http_mcp_oauth_conf_t;


typedef struct {
    ngx_uint_t                 handler;       /* NGX_HTTP_MCP_HANDLER_* */
    ngx_http_handler_pt        body;          /* answers the request body
                                                 read by
                                                 ngx_http_mcp_read_body() */

    ngx_uint_t                 redirect_status;
    ngx_int_t                  code_length;
    ngx_int_t                  url_max_length;
    size_t                     max_body_size;
    ngx_str_t                  base_url;
    ngx_array_t               *url_schemes;   /* of ngx_str_t */
    ngx_array_t               *url_allow;     /* of ngx_regex_elt_t */
    ngx_array_t               *url_deny;      /* of ngx_regex_elt_t */
    ngx_array_t               *bot_agents;    /* of ngx_regex_elt_t, or
                                                 NULL: no bots */
    ngx_array_t               *reserved;      /* of ngx_str_t */

    size_t                     max_message_size;
    ngx_msec_t                 client_request_timeout;
    ngx_array_t               *allowed_hosts;   /* of ngx_str_t */
    ngx_array_t               *allowed_origins; /* of ngx_str_t */
    ngx_array_t               *server_names;  /* of ngx_str_t, the
                                                 server's, for the above */
    ngx_flag_t                 conformance_fixtures;
    time_t                     context_ttl;
    ngx_array_t               *context_ttls;  /* of ngx_http_mcp_ttl_t */
    ngx_array_t               *api_keys;      /* of ngx_http_mcp_key_t */
    ngx_http_mcp_oauth_conf_t  oauth;
    ngx_uint_t                 status_format; /* of mcp_status */
    ngx_str_t                  dashboard_api; /* of mcp_dashboard */
    ngx_array_t               *trusted_proxies; /* of ngx_cidr_t */
} ngx_http_mcp_loc_conf_t;


/* What an API key may do: its permissions (mcp_api_key scopes=). */
#define NGX_HTTP_MCP_PERM_LINKS_WRITE  0x01   /* POST /shorten, shorten_url,
                                                  delete_url */
#define NGX_HTTP_MCP_PERM_LINKS_READ   0x02   /* the other link tools */
#define NGX_HTTP_MCP_PERM_MCP          0x04   /* mcp_endpoint */
#define NGX_HTTP_MCP_PERM_ADMIN        0x08   /* every tenant's links */
#define NGX_HTTP_MCP_PERM_DEFAULT      0x07   /* all but admin */

#define NGX_HTTP_MCP_KEY_HASH_LEN       32     /* SHA-256 */


/*
 * An API key (mcp_api_key), held as its SHA-256, or the tenant and scopes
 * of an OAuth access token: who a request is.
 */
typedef struct {
    u_char                     hash[NGX_HTTP_MCP_KEY_HASH_LEN];
    ngx_str_t                  tenant;
    ngx_uint_t                 perms;         /* NGX_HTTP_MCP_PERM_* */
    ngx_uint_t                 token;         /* an access token's, no hash */
} ngx_http_mcp_key_t;


/*
 * What the module knows of a request, for the other files and for the
 * variables $mcp_code, $mcp_tenant, $mcp_rpc_method and $mcp_tool (see
 * ngx_http_mcp_variables.c).  Strings are in the request's pool.
 */
typedef struct {
    ngx_http_mcp_key_t        *key;           /* the caller, once known */
    ngx_str_t                  code;          /* link created or visited */
    ngx_str_t                  rpc_method;    /* the last one dispatched */
    ngx_str_t                  tool;          /* the last one called */
} ngx_http_mcp_ctx_t;


/* mcp_context_ttl for one namespace */
typedef struct {
    ngx_str_t                  ns;
    time_t                     ttl;
} ngx_http_mcp_ttl_t;


#define NGX_HTTP_MCP_HANDLER_NONE      0
#define NGX_HTTP_MCP_HANDLER_SHORTEN   1
#define NGX_HTTP_MCP_HANDLER_REDIRECT  2
#define NGX_HTTP_MCP_HANDLER_ENDPOINT  3
#define NGX_HTTP_MCP_HANDLER_STATUS    4
#define NGX_HTTP_MCP_HANDLER_ADMIN     5
#define NGX_HTTP_MCP_HANDLER_METADATA  6
#define NGX_HTTP_MCP_HANDLER_DASHBOARD 7


/*
 * Why a request is refused: the HTTP status to answer with, a message a
 * person can act on and, for the HTTP API, a machine-readable code (sent
 * as {"message", "error"}) or, for MCP, a JSON-RPC error code (sent as
 * {"error": {"code", "message"}}).  Filled by the formatters of
 * ngx_http_mcp_util.c.
 */
typedef struct {
    ngx_uint_t                 status;        /* HTTP */
    ngx_int_t                  code;          /* JSON-RPC, or 0 */
    const char                *error;         /* HTTP API, or NULL */
    char                       message[256];
} ngx_http_mcp_error_t;


/* A validated request to shorten a URL (POST /shorten, shorten_url). */
typedef struct {
    ngx_str_t                  url;
    ngx_str_t                  alias;
    int64_t                    expires_at;
    uint64_t                   max_visits;
    ngx_uint_t                 redirect_status; /* 0: the location's */
    ngx_str_t                  tags;          /* "a,b" as the store has
                                                 them, or empty */
} ngx_http_mcp_shorten_req_t;


/* What ngx_http_mcp_check_alias() makes of an alias. */
typedef enum {
    NGX_HTTP_MCP_ALIAS_OK = 0,
    NGX_HTTP_MCP_ALIAS_INVALID,
    NGX_HTTP_MCP_ALIAS_RESERVED
} ngx_http_mcp_alias_e;


extern ngx_module_t  ngx_mcp_module;


/* ngx_http_mcp_shorten.c, ngx_http_mcp_redirect.c */
ngx_int_t ngx_http_mcp_shorten_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_mcp_shorten_body(ngx_http_request_t *r);
ngx_int_t ngx_http_mcp_shorten_read(ngx_http_request_t *r);
ngx_int_t ngx_http_mcp_shorten_args(ngx_http_request_t *r, json_t *body,
    ngx_http_mcp_shorten_req_t *req, ngx_http_mcp_error_t *err);
ngx_int_t ngx_http_mcp_shorten_create(ngx_http_request_t *r,
    ngx_http_mcp_shorten_req_t *req, ngx_str_t *code,
    ngx_http_mcp_error_t *err);
ngx_int_t ngx_http_mcp_shorten_link(ngx_http_request_t *r,
    ngx_http_mcp_shorten_req_t *req, ngx_str_t *code,
    mcp_store_link_t *link);
ngx_int_t ngx_http_mcp_shorten_outcome(ngx_http_request_t *r,
    ngx_http_mcp_shorten_req_t *req, ngx_str_t *code, int rc,
    ngx_http_mcp_error_t *err);
void ngx_http_mcp_link_write(ngx_http_mcp_jw_t *w, ngx_http_request_t *r,
    ngx_str_t *code, ngx_http_mcp_shorten_req_t *req);
ngx_int_t ngx_http_mcp_json_tags(ngx_http_request_t *r, json_t *v,
    ngx_str_t *tags, ngx_http_mcp_error_t *err);
ngx_int_t ngx_http_mcp_json_redirect_status(json_t *v, ngx_uint_t *status,
    ngx_http_mcp_error_t *err);
ngx_int_t ngx_http_mcp_redirect_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_mcp_redirect_answer(ngx_http_request_t *r, int rc,
    ngx_str_t *url, ngx_uint_t status, ngx_uint_t cacheable);
ngx_int_t ngx_http_mcp_short_url(ngx_http_request_t *r, ngx_str_t *code,
    ngx_str_t *out);

/* ngx_http_mcp_endpoint.c, ngx_http_mcp_catalog.c */
ngx_int_t ngx_http_mcp_endpoint_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_mcp_endpoint_body(ngx_http_request_t *r);
ngx_int_t ngx_http_mcp_depth(ngx_str_t *body, ngx_uint_t max);
ngx_int_t ngx_http_mcp_catalog_init(ngx_conf_t *cf);
ngx_int_t ngx_http_mcp_stream_zone(ngx_conf_t *cf);

/* ngx_http_mcp_stream.c: in init_process, the GET streams of workers that
 * died given up */
void ngx_http_mcp_stream_reap(ngx_cycle_t *cycle);

/*
 * ngx_http_mcp_visits.c: this worker's visit counters.  init in
 * init_process once the store is open (and mmcf->thread_pool, where the
 * flush runs, found), exit in exit_process before the store closes; count
 * one visit; flush what is counted (now: on the event loop, not in the
 * thread pool).
 */
ngx_int_t ngx_http_mcp_visits_init(ngx_cycle_t *cycle,
    ngx_http_mcp_main_conf_t *mmcf);
void ngx_http_mcp_visits_exit(ngx_http_mcp_main_conf_t *mmcf);
void ngx_http_mcp_count_visit(ngx_http_mcp_main_conf_t *mmcf, ngx_str_t *code,
    ngx_str_t *referrer, ngx_uint_t kind, int64_t now);
void ngx_http_mcp_visits_flush(ngx_http_mcp_main_conf_t *mmcf,
    ngx_uint_t now);

/*
 * A task of ours still in the thread pool at a worker's exit: waits
 * until its handler has set *finished, its last store, before the task's
 * batch, outcome or store handles are touched.  nginx's
 * ngx_thread_pool_destroy() does not wait for its threads when the pool
 * cannot queue its exit task (max_queue reached while a thread runs).
 */
void ngx_http_mcp_thread_wait(ngx_atomic_t *finished);
void ngx_http_mcp_thread_finish(ngx_atomic_t *finished);

/* ngx_http_mcp_analytics.c: who visits, and what they see of it */
ngx_array_t *ngx_http_mcp_bot_agents_default(ngx_conf_t *cf);
void ngx_http_mcp_visit(ngx_http_request_t *r, ngx_str_t *code,
    ngx_uint_t consumed);
ngx_uint_t ngx_http_mcp_is_bot(ngx_http_request_t *r);
ngx_int_t ngx_http_mcp_visits_send(ngx_http_request_t *r, ngx_str_t *code,
    uint64_t total);

/* ngx_http_mcp_module.c: a pattern compiled into a list of them */
ngx_int_t ngx_http_mcp_regex_add(ngx_conf_t *cf, ngx_array_t *a,
    ngx_str_t *pattern, ngx_uint_t options);

/* ngx_http_mcp_util.c: a whole-number query argument */
ngx_int_t ngx_http_mcp_arg_number(ngx_http_request_t *r, char *name,
    ngx_int_t max, ngx_int_t *n, ngx_int_t *rc);

/* ngx_http_mcp_module.c: the handler directives' common part */
char *ngx_http_mcp_handler_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* ngx_http_mcp_status.c */
char *ngx_http_mcp_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_int_t ngx_http_mcp_status_init(ngx_conf_t *cf);
ngx_int_t ngx_http_mcp_status_handler(ngx_http_request_t *r);
void ngx_http_mcp_status_tool(ngx_http_request_t *r, ngx_str_t *name,
    json_t *result, ngx_http_mcp_error_t *err);
void ngx_http_mcp_status_batch(ngx_http_mcp_main_conf_t *mmcf,
    ngx_uint_t pending);
void ngx_http_mcp_status_open(ngx_http_mcp_main_conf_t *mmcf);
void ngx_http_mcp_status_commit(ngx_http_mcp_main_conf_t *mmcf,
    ngx_uint_t writes);

/* ngx_http_mcp_admin.c, ngx_http_mcp_links.c */
ngx_int_t ngx_http_mcp_admin_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_mcp_admin_body(ngx_http_request_t *r);

/* what a link's record shows besides its own members */
#define NGX_HTTP_MCP_LINK_COUNTS   0x01   /* visits, last_visit */
#define NGX_HTTP_MCP_LINK_UPDATED  0x02   /* updated_at */

void ngx_http_mcp_links_write(ngx_http_mcp_jw_t *w, ngx_http_request_t *r,
    ngx_str_t *code, const mcp_store_link_t *link, ngx_uint_t flags);
void ngx_http_mcp_links_item(ngx_http_mcp_jw_t *w, ngx_uint_t *n,
    ngx_http_request_t *r, const char *code, size_t code_len,
    const mcp_store_link_t *link);
void ngx_http_mcp_links_changed(ngx_http_request_t *r, ngx_str_t *code,
    ngx_uint_t listed);
void ngx_http_mcp_links_attrs(ngx_http_mcp_jw_t *w, ngx_uint_t status,
    const char *tags, size_t tags_len);

/* A file of the dashboard, compiled in (scripts/embed-assets.sh). */
typedef struct {
    ngx_str_t                  name;
    ngx_str_t                  type;
    ngx_str_t                  etag;
    ngx_str_t                  body;
} ngx_http_mcp_asset_t;

/* ngx_http_mcp_dashboard.c, and the assets generated from dashboard/ */
char *ngx_http_mcp_dashboard(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
extern ngx_http_mcp_asset_t  ngx_http_mcp_dashboard_assets[];

/* ngx_http_mcp_proxy.c */
char *ngx_http_mcp_trusted_proxies(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
void ngx_http_mcp_public_origin(ngx_http_request_t *r, ngx_uint_t *https,
    ngx_str_t *host);

/* ngx_http_mcp_qr.c */
ngx_int_t ngx_http_mcp_qr_send(ngx_http_request_t *r, ngx_str_t *text);

/* ngx_http_mcp_variables.c */
ngx_int_t ngx_http_mcp_add_variables(ngx_conf_t *cf);
ngx_http_mcp_ctx_t *ngx_http_mcp_ctx(ngx_http_request_t *r);
void ngx_http_mcp_note(ngx_http_request_t *r, size_t field, u_char *data,
    size_t len);

/* fields for ngx_http_mcp_note() */
#define NGX_HTTP_MCP_NOTE_CODE        offsetof(ngx_http_mcp_ctx_t, code)
#define NGX_HTTP_MCP_NOTE_RPC_METHOD  offsetof(ngx_http_mcp_ctx_t, rpc_method)
#define NGX_HTTP_MCP_NOTE_TOOL        offsetof(ngx_http_mcp_ctx_t, tool)

/* ngx_http_mcp_util.c: errors */
void ngx_http_mcp_vformat(char *buf, size_t size, const char *fmt,
    va_list args) NGX_HTTP_MCP_PRINTF(3, 0);
ngx_int_t ngx_http_mcp_verror(ngx_http_mcp_error_t *err, ngx_uint_t status,
    ngx_int_t code, const char *error, const char *fmt, va_list args)
    NGX_HTTP_MCP_PRINTF(5, 0);
ngx_int_t ngx_http_mcp_fail(ngx_http_mcp_error_t *err, ngx_uint_t status,
    const char *error, const char *fmt, ...) NGX_HTTP_MCP_PRINTF(4, 5);
ngx_int_t ngx_http_mcp_rpc_error(ngx_http_mcp_error_t *err,
    ngx_uint_t status, ngx_int_t code, const char *fmt, ...)
    NGX_HTTP_MCP_PRINTF(4, 5);
json_t *ngx_http_mcp_rpc_fail(ngx_http_mcp_error_t *err, ngx_int_t code,
    const char *fmt, ...) NGX_HTTP_MCP_PRINTF(3, 4);
json_t *ngx_http_mcp_rpc_nomem(ngx_http_mcp_error_t *err);
ngx_int_t ngx_http_mcp_send_failure(ngx_http_request_t *r,
    ngx_http_mcp_error_t *err);
ngx_int_t ngx_http_mcp_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *error, const char *fmt, ...) NGX_HTTP_MCP_PRINTF(4, 5);
ngx_int_t ngx_http_mcp_store_error(ngx_http_request_t *r, int rc,
    ngx_http_mcp_error_t *err);

/* ngx_http_mcp_util.c */
char *ngx_http_mcp_conf_invalid(ngx_conf_t *cf, ngx_str_t *value);
ngx_int_t ngx_http_mcp_send(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, ngx_buf_t *b);
ngx_int_t ngx_http_mcp_send_json(ngx_http_request_t *r, ngx_uint_t status,
    json_t *json);
ngx_int_t ngx_http_mcp_send_jw(ngx_http_request_t *r, ngx_uint_t status,
    ngx_http_mcp_jw_t *w);
ngx_int_t ngx_http_mcp_get_or_head(ngx_http_request_t *r, ngx_int_t *rc);
ngx_int_t ngx_http_mcp_send_not_allowed(ngx_http_request_t *r,
    const char *allow);
ngx_int_t ngx_http_mcp_read_body(ngx_http_request_t *r);
ngx_int_t ngx_http_mcp_body(ngx_http_request_t *r, ngx_str_t *body);
ngx_int_t ngx_http_mcp_is_json_type(ngx_http_request_t *r);
json_t *ngx_http_mcp_json_object(ngx_http_request_t *r, ngx_str_t *body,
    ngx_http_mcp_error_t *err);
ngx_int_t ngx_http_mcp_json_string(json_t *obj, const char *name,
    ngx_str_t *value);
ngx_int_t ngx_http_mcp_valid_code(ngx_str_t *code);
ngx_int_t ngx_http_mcp_in_list(ngx_array_t *list, u_char *data, size_t len);
void ngx_http_mcp_json_cleanup(ngx_pool_t *pool, json_t *json);
void ngx_http_mcp_utf8_clean(char *s);
const char *ngx_http_mcp_json_reason(json_error_t *err);
ngx_str_t *ngx_http_mcp_header(ngx_http_request_t *r, const char *name);
void ngx_http_mcp_uri_tail(ngx_http_request_t *r, ngx_str_t *tail);
ngx_str_t *ngx_http_mcp_list_header(ngx_list_t *headers, const char *name);
ngx_table_elt_t *ngx_http_mcp_add_header(ngx_http_request_t *r,
    const char *name, ngx_str_t *value);
ngx_int_t ngx_http_mcp_parse_time(ngx_str_t *s, int64_t *t);
u_char *ngx_http_mcp_format_time(int64_t t, u_char *buf);
ngx_int_t ngx_http_mcp_json_time(json_t *obj, const char *key, int64_t t);
void ngx_http_mcp_jw_time(ngx_http_mcp_jw_t *w, const char *key, int64_t t);

/* ngx_http_mcp_auth.c */
char *ngx_http_mcp_api_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_mcp_api_keys_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_mcp_auth(ngx_http_request_t *r, ngx_uint_t perm,
    ngx_http_mcp_error_t *err);
ngx_http_mcp_key_t *ngx_http_mcp_caller(ngx_http_request_t *r);
ngx_int_t ngx_http_mcp_permitted(ngx_http_request_t *r, ngx_uint_t perm);
const char *ngx_http_mcp_perm_name(ngx_uint_t perm);
ngx_int_t ngx_http_mcp_owns(ngx_http_request_t *r, const char *tenant,
    size_t len);
ngx_uint_t ngx_http_mcp_perm_value(u_char *name, size_t len);

/* ngx_http_mcp_oauth.c */
void ngx_http_mcp_oauth_create_conf(ngx_http_mcp_oauth_conf_t *oc);
char *ngx_http_mcp_oauth_merge_conf(ngx_conf_t *cf,
    ngx_http_mcp_oauth_conf_t *prev, ngx_http_mcp_oauth_conf_t *conf);
char *ngx_http_mcp_oauth_jwks(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_mcp_oauth_audience(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_mcp_oauth_verify(ngx_http_request_t *r, ngx_str_t *token,
    ngx_http_mcp_key_t **key, const char **why);
u_char *ngx_http_mcp_oauth_challenge(ngx_http_request_t *r,
    const char *error, const char *scope);
ngx_int_t ngx_http_mcp_oauth_metadata_handler(ngx_http_request_t *r);

/* ngx_http_mcp_policy.c */
ngx_int_t ngx_http_mcp_check_url(ngx_http_request_t *r,
    ngx_http_mcp_loc_conf_t *mlcf, ngx_str_t *url, ngx_str_t *out,
    ngx_http_mcp_error_t *err);
ngx_http_mcp_alias_e ngx_http_mcp_check_alias(ngx_http_mcp_loc_conf_t *mlcf,
    ngx_str_t *alias);


#endif /* _NGX_HTTP_MCP_MODULE_H_INCLUDED_ */
