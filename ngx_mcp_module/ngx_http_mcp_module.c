
/*
 * ngx_mcp: directives, configuration, and the per-worker store handle with
 * its timers (batched visit counters, periodic sync).
 */


#include "ngx_http_mcp_module.h"
#include "ngx_http_mcp_cluster.h"


#define NGX_HTTP_MCP_SWEEP_INTERVAL   60000
#define NGX_HTTP_MCP_SWEEP_BATCH      1000

/* LMDB needs a few pages for its meta and root pages */
#define NGX_HTTP_MCP_MAP_SIZE_MIN     (64 * 1024)


/* what ngx_http_mcp_reach_probe() found */
typedef struct {
    size_t                     len;     /* of the path not entered, or 0 */
    ngx_err_t                  err;
} ngx_http_mcp_reach_t;


static ngx_int_t ngx_http_mcp_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_mcp_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_mcp_init_main_conf(ngx_conf_t *cf, void *conf);
static size_t ngx_http_mcp_map_limit(void);
static char *ngx_http_mcp_check_conf(ngx_cycle_t *cycle, void *conf);
static ngx_int_t ngx_http_mcp_store_reachable(ngx_cycle_t *cycle,
    ngx_str_t *path, ngx_core_conf_t *ccf);
static ngx_http_mcp_reach_t ngx_http_mcp_reach_probe(u_char *path,
    ngx_core_conf_t *ccf);
static void *ngx_http_mcp_create_srv_conf(ngx_conf_t *cf);
static void *ngx_http_mcp_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_mcp_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_mcp_store(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void ngx_http_mcp_redirect_location(ngx_http_mcp_srv_conf_t *mscf,
    ngx_http_core_loc_conf_t *clcf);
static void ngx_http_mcp_endpoint_location(ngx_http_mcp_srv_conf_t *mscf,
    ngx_http_core_loc_conf_t *clcf);
static char *ngx_http_mcp_str_list_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_mcp_regex_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_mcp_bot_agents(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_mcp_tenant_quota(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_mcp_context_ttl(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_mcp_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_mcp_init_process(ngx_cycle_t *cycle);
static void ngx_http_mcp_exit_process(ngx_cycle_t *cycle);
static void ngx_http_mcp_flush_handler(ngx_event_t *ev);
static void ngx_http_mcp_sync_handler(ngx_event_t *ev);
static void ngx_http_mcp_sweep_handler(ngx_event_t *ev);
#if (NGX_THREADS)
static void ngx_http_mcp_sync_thread(void *data, ngx_log_t *log);
static void ngx_http_mcp_sync_done(ngx_event_t *ev);
#endif


/* What mcp_shorten, mcp_redirect and mcp_endpoint make of a location. */
typedef struct {
    ngx_uint_t                 type;          /* NGX_HTTP_MCP_HANDLER_* */
    ngx_http_handler_pt        handler;
    ngx_http_handler_pt        body;          /* of the request body */
} ngx_http_mcp_handler_t;


/* a zero timeout would fail every server request before it is sent */
static char *ngx_http_mcp_msec_positive(ngx_conf_t *cf, void *post,
    void *data);

static ngx_conf_post_t  ngx_http_mcp_client_request_timeout_post = {
    ngx_http_mcp_msec_positive
};


static ngx_http_mcp_handler_t  ngx_http_mcp_shorten_post = {
    NGX_HTTP_MCP_HANDLER_SHORTEN, ngx_http_mcp_shorten_handler,
    ngx_http_mcp_shorten_body
};

static ngx_http_mcp_handler_t  ngx_http_mcp_redirect_post = {
    NGX_HTTP_MCP_HANDLER_REDIRECT, ngx_http_mcp_redirect_handler, NULL
};

static ngx_http_mcp_handler_t  ngx_http_mcp_endpoint_post = {
    NGX_HTTP_MCP_HANDLER_ENDPOINT, ngx_http_mcp_endpoint_handler,
    ngx_http_mcp_endpoint_body
};


static ngx_http_mcp_handler_t  ngx_http_mcp_status_post = {
    NGX_HTTP_MCP_HANDLER_STATUS, ngx_http_mcp_status_handler, NULL
};


static ngx_http_mcp_handler_t  ngx_http_mcp_admin_post = {
    NGX_HTTP_MCP_HANDLER_ADMIN, ngx_http_mcp_admin_handler,
    ngx_http_mcp_admin_body
};


static ngx_http_mcp_handler_t  ngx_http_mcp_metadata_post = {
    NGX_HTTP_MCP_HANDLER_METADATA, ngx_http_mcp_oauth_metadata_handler, NULL
};


static ngx_conf_enum_t  ngx_http_mcp_redirect_statuses[] = {
    { ngx_string("301"), NGX_HTTP_MOVED_PERMANENTLY },
    { ngx_string("302"), NGX_HTTP_MOVED_TEMPORARILY },
    { ngx_string("307"), NGX_HTTP_TEMPORARY_REDIRECT },
    { ngx_string("308"), NGX_HTTP_PERMANENT_REDIRECT },
    { ngx_null_string, 0 }
};


static ngx_conf_num_bounds_t  ngx_http_mcp_code_length_bounds = {
    ngx_conf_check_num_bounds, 4, MCP_STORE_CODE_MAX
};


static ngx_conf_num_bounds_t  ngx_http_mcp_url_length_bounds = {
    ngx_conf_check_num_bounds, 16, 65536
};


/* mcp_bot_user_agents' patterns ignore case, as user agents vary it */
static ngx_uint_t  ngx_http_mcp_caseless = NGX_REGEX_CASELESS;


static ngx_command_t  ngx_http_mcp_commands[] = {

    { ngx_string("mcp_store"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_mcp_store,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("mcp_tenant_quota"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_mcp_tenant_quota,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("mcp_visit_flush_interval"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_mcp_main_conf_t, flush_interval),
      NULL },

    { ngx_string("mcp_shorten"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_mcp_handler_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      &ngx_http_mcp_shorten_post },

    { ngx_string("mcp_redirect"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_mcp_handler_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      &ngx_http_mcp_redirect_post },

    { ngx_string("mcp_endpoint"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_mcp_handler_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      &ngx_http_mcp_endpoint_post },

    { ngx_string("mcp_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_mcp_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      &ngx_http_mcp_status_post },

    { ngx_string("mcp_admin"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_mcp_handler_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      &ngx_http_mcp_admin_post },

    { ngx_string("mcp_dashboard"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_mcp_dashboard,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("mcp_trusted_proxies"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_mcp_trusted_proxies,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("mcp_session_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_mcp_main_conf_t, session_timeout),
      NULL },

    { ngx_string("mcp_max_message_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_mcp_loc_conf_t, max_message_size),
      NULL },

    { ngx_string("mcp_client_request_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_mcp_loc_conf_t, client_request_timeout),
      &ngx_http_mcp_client_request_timeout_post },

    { ngx_string("mcp_allowed_hosts"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_mcp_str_list_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_mcp_loc_conf_t, allowed_hosts),
      NULL },

    { ngx_string("mcp_allowed_origins"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_mcp_str_list_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_mcp_loc_conf_t, allowed_origins),
      NULL },

    { ngx_string("mcp_context_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_mcp_context_ttl,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("mcp_api_key"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE23,
      ngx_http_mcp_api_key,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("mcp_api_keys_file"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_mcp_api_keys_file,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("mcp_oauth_issuer"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_array_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_mcp_loc_conf_t, oauth.issuers),
      NULL },

    { ngx_string("mcp_oauth_jwks"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_mcp_oauth_jwks,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("mcp_oauth_audience"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_mcp_oauth_audience,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("mcp_oauth_scopes_claim"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_mcp_loc_conf_t, oauth.scopes_claim),
      NULL },

    { ngx_string("mcp_oauth_tenant_claim"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_mcp_loc_conf_t, oauth.tenant_claim),
      NULL },

    { ngx_string("mcp_oauth_metadata"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_mcp_handler_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      &ngx_http_mcp_metadata_post },

    { ngx_string("mcp_conformance_fixtures"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_mcp_loc_conf_t, conformance_fixtures),
      NULL },

    { ngx_string("mcp_redirect_status"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_mcp_loc_conf_t, redirect_status),
      &ngx_http_mcp_redirect_statuses },

    { ngx_string("mcp_code_length"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_mcp_loc_conf_t, code_length),
      &ngx_http_mcp_code_length_bounds },

    { ngx_string("mcp_url_max_length"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_mcp_loc_conf_t, url_max_length),
      &ngx_http_mcp_url_length_bounds },

    { ngx_string("mcp_max_body_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_mcp_loc_conf_t, max_body_size),
      NULL },

    { ngx_string("mcp_base_url"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_mcp_loc_conf_t, base_url),
      NULL },

    { ngx_string("mcp_url_schemes"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_mcp_str_list_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_mcp_loc_conf_t, url_schemes),
      NULL },

    { ngx_string("mcp_url_allow"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_mcp_regex_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_mcp_loc_conf_t, url_allow),
      NULL },

    { ngx_string("mcp_url_deny"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_mcp_regex_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_mcp_loc_conf_t, url_deny),
      NULL },

    { ngx_string("mcp_bot_user_agents"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_mcp_bot_agents,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_mcp_loc_conf_t, bot_agents),
      &ngx_http_mcp_caseless },

    { ngx_string("mcp_reserved_codes"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_mcp_str_list_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_mcp_loc_conf_t, reserved),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_mcp_module_ctx = {
    ngx_http_mcp_add_variables,            /* preconfiguration */
    ngx_http_mcp_postconfiguration,        /* postconfiguration */

    ngx_http_mcp_create_main_conf,         /* create main configuration */
    ngx_http_mcp_init_main_conf,           /* init main configuration */

    ngx_http_mcp_create_srv_conf,          /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_mcp_create_loc_conf,          /* create location configuration */
    ngx_http_mcp_merge_loc_conf            /* merge location configuration */
};


ngx_module_t  ngx_mcp_module = {
    NGX_MODULE_V1,
    &ngx_http_mcp_module_ctx,              /* module context */
    ngx_http_mcp_commands,                 /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_mcp_init_module,              /* init module */
    ngx_http_mcp_init_process,             /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_mcp_exit_process,             /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/*
 * A core module without directives, for its init_conf: core modules' run
 * once the whole configuration is read, when the workers' user is known
 * ("user" may follow the http block, and its default is set only then),
 * and a failure there refuses the configuration ("nginx -t", a reload)
 * without ending a running master.
 */

static ngx_core_module_t  ngx_mcp_core_module_ctx = {
    ngx_string("mcp_core"),
    NULL,                                  /* create configuration */
    ngx_http_mcp_check_conf                /* init configuration */
};


ngx_module_t  ngx_mcp_core_module = {
    NGX_MODULE_V1,
    &ngx_mcp_core_module_ctx,              /* module context */
    NULL,                                  /* module directives */
    NGX_CORE_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* Routes of the module itself: never handed out as codes or aliases. */
static ngx_str_t  ngx_http_mcp_default_reserved[] = {
    ngx_string("shorten"),
    ngx_string("mcp"),
    ngx_string("api"),
    ngx_string("admin"),
    ngx_string("health"),
    ngx_string("status"),
    ngx_string("static"),
    ngx_string("favicon"),
    ngx_null_string
};


static ngx_str_t  ngx_http_mcp_default_schemes[] = {
    ngx_string("http"),
    ngx_string("https"),
    ngx_null_string
};


/*
 * What the MCP server offers is described once, here, not per request.
 */

static ngx_int_t
ngx_http_mcp_postconfiguration(ngx_conf_t *cf)
{
    if (ngx_http_mcp_status_init(cf) != NGX_OK
        || ngx_http_mcp_stream_zone(cf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_mcp_catalog_init(cf);
}


static void *
ngx_http_mcp_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_mcp_main_conf_t  *mmcf;

    mmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_mcp_main_conf_t));
    if (mmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     mmcf->path = { 0, NULL };
     *     mmcf->store = NULL;
     *     mmcf->visits = NULL;
     *     mmcf->quotas = NULL;
     */

    mmcf->map_size = NGX_CONF_UNSET_SIZE;
    mmcf->durability = NGX_CONF_UNSET_UINT;
    mmcf->writemap = NGX_CONF_UNSET;
    mmcf->group_commit = NGX_CONF_UNSET_UINT;
    mmcf->sync_interval = NGX_CONF_UNSET_MSEC;
    mmcf->flush_interval = NGX_CONF_UNSET_MSEC;
    mmcf->session_timeout = NGX_CONF_UNSET_MSEC;

    return mmcf;
}


static char *
ngx_http_mcp_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_mcp_main_conf_t *mmcf = conf;

    int           rc;
    char          err[512];
    size_t        limit;
    mcp_store_t  *store;

    ngx_conf_init_size_value(mmcf->map_size, 64 * 1024 * 1024);
    ngx_conf_init_uint_value(mmcf->durability,
                             NGX_HTTP_MCP_DURABILITY_INTERVAL);
    ngx_conf_init_value(mmcf->writemap, 1);
    ngx_conf_init_msec_value(mmcf->sync_interval, 1000);
    ngx_conf_init_uint_value(mmcf->group_commit, 1);
    ngx_conf_init_msec_value(mmcf->flush_interval, 1000);
    ngx_conf_init_msec_value(mmcf->session_timeout, 3600 * 1000);

    if (mmcf->session_timeout < 1000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "mcp_session_timeout must be at least 1s");
        return NGX_CONF_ERROR;
    }

    if (mmcf->used && mmcf->path.data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"mcp_shorten\", \"mcp_redirect\" and "
                           "\"mcp_endpoint\" need \"mcp_store\" in the "
                           "http block");
        return NGX_CONF_ERROR;
    }

    if (mmcf->path.data == NULL || ngx_process == NGX_PROCESS_SIGNALLER) {
        return NGX_CONF_OK;
    }

    /*
     * The master opens (and creates) the environment once to validate it,
     * then closes it before fork: an MDB_env never crosses fork().  This
     * is done while the configuration is read, not in init_module: nginx
     * treats a failed init_module as fatal and a reload into a bad store
     * would end the master; a configuration error only refuses the
     * reload, and the old workers go on.
     */

    rc = mcp_store_open(&store, (char *) mmcf->path.data, mmcf->map_size,
                        MCP_STORE_NOSYNC, err, sizeof(err));

    if (rc == MCP_STORE_ENOMEM) {
        limit = ngx_http_mcp_map_limit();

        if (mmcf->map_size > limit << 30) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "mcp_store \"%V\" cannot be used: map_size is "
                          "more address space than nginx can map here "
                          "(about %uzg at most): set a smaller map_size, "
                          "the data file grows only as it fills (%s)",
                          &mmcf->path, limit, err);
            return NGX_CONF_ERROR;
        }
    }

    if (rc != MCP_STORE_OK) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "mcp_store \"%V\" cannot be used: %s",
                      &mmcf->path, err);
        return NGX_CONF_ERROR;
    }

    mcp_store_close(store);

    return NGX_CONF_OK;
}


/*
 * The largest map this process could make now, in gigabytes, found by
 * reserving address space (nothing is committed): what a map_size that
 * mdb_env_open() could not map must stay under.
 */

static size_t
ngx_http_mcp_map_limit(void)
{
    void    *p;
    size_t   lo, hi, mid;

    lo = 0;
    hi = ngx_min(NGX_MAX_SIZE_T_VALUE >> 30, (size_t) 1 << 20);

    while (lo < hi) {
        mid = lo + (hi - lo + 1) / 2;

        p = mmap(NULL, mid << 30, PROT_NONE,
                 MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0);

        if (p == MAP_FAILED) {
            hi = mid - 1;

        } else {
            (void) munmap(p, mid << 30);
            lo = mid;
        }
    }

    return lo;
}


/*
 * The workers must reach the store as the "user" nginx switches them to:
 * the master, as root, opened it without trouble, but a worker that
 * cannot would exit at start while the master stays up and every
 * request hangs.  Refused here, with the path named, the configuration
 * fails "nginx -t", and a reload into it leaves the old workers serving.
 */

static char *
ngx_http_mcp_check_conf(ngx_cycle_t *cycle, void *conf)
{
    ngx_file_info_t            fi;
    ngx_core_conf_t           *ccf;
    ngx_http_mcp_main_conf_t  *mmcf;

    if (ngx_process == NGX_PROCESS_SIGNALLER) {
        return NGX_CONF_OK;
    }

    mmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_mcp_module);
    if (mmcf == NULL || mmcf->path.data == NULL) {
        return NGX_CONF_OK;
    }

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    /* only workers forked by a master running as root change user */

    if (geteuid() != 0 || !ccf->master
        || ccf->user == (ngx_uid_t) NGX_CONF_UNSET_UINT || ccf->user == 0)
    {
        return NGX_CONF_OK;
    }

    if (ngx_http_mcp_store_reachable(cycle, &mmcf->path, ccf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* the directory is the workers' once ngx_http_mcp_init_module() hands
     * it over: the owner's bits are theirs */

    if (ngx_file_info(mmcf->path.data, &fi) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                      ngx_file_info_n " \"%V\" failed", &mmcf->path);
        return NGX_CONF_ERROR;
    }

    if ((ngx_file_access(&fi) & (S_IWUSR|S_IXUSR)) != (S_IWUSR|S_IXUSR)) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "mcp_store \"%V\" cannot be used by the workers' "
                      "user \"%s\": its mode 0%ui%ui%ui does not let its "
                      "owner write and search it",
                      &mmcf->path, ccf->username,
                      (ngx_uint_t) (ngx_file_access(&fi) >> 6) & 7,
                      (ngx_uint_t) (ngx_file_access(&fi) >> 3) & 7,
                      (ngx_uint_t) ngx_file_access(&fi) & 7);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * Whether the workers' user can enter every directory above path: asked
 * of the kernel by a child process that takes the workers' credentials
 * (so groups and ACLs count as they will), which reports the first
 * directory it could not enter.  NGX_ERROR once that is logged; a probe
 * that cannot run is logged and lets the configuration through.
 */

static ngx_int_t
ngx_http_mcp_store_reachable(ngx_cycle_t *cycle, ngx_str_t *path,
    ngx_core_conf_t *ccf)
{
    int                    status;
    ssize_t                n;
    ngx_fd_t               fd[2];
    ngx_pid_t              pid;
    ngx_http_mcp_reach_t   r;

    if (pipe(fd) == -1) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_errno, "pipe() failed");
        return NGX_OK;
    }

    pid = fork();

    if (pid == 0) {
        (void) close(fd[0]);
        r = ngx_http_mcp_reach_probe(path->data, ccf);
        n = write(fd[1], &r, sizeof(ngx_http_mcp_reach_t));
        _exit(n == (ssize_t) sizeof(ngx_http_mcp_reach_t) ? 0 : 1);
    }

    (void) close(fd[1]);

    ngx_memzero(&r, sizeof(ngx_http_mcp_reach_t));
    n = -1;

    if (pid == -1) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_errno, "fork() failed");

    } else {
        do {
            n = read(fd[0], &r, sizeof(ngx_http_mcp_reach_t));
        } while (n == -1 && ngx_errno == NGX_EINTR);

        while (waitpid(pid, &status, 0) == -1 && ngx_errno == NGX_EINTR) {
            /* void */
        }
    }

    (void) close(fd[0]);

    if (n != (ssize_t) sizeof(ngx_http_mcp_reach_t)) {
        if (pid != -1) {
            ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                          "mcp_store \"%V\": could not check that the "
                          "workers' user \"%s\" reaches it",
                          path, ccf->username);
        }

        return NGX_OK;
    }

    if (r.len == 0) {
        return NGX_OK;
    }

    if (r.len == (size_t) -1) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, r.err,
                      "mcp_store \"%V\": cannot take the workers' user "
                      "\"%s\" to check that it reaches the store",
                      path, ccf->username);
        return NGX_ERROR;
    }

    ngx_log_error(NGX_LOG_EMERG, cycle->log, r.err,
                  "mcp_store \"%V\" cannot be used by the workers' user "
                  "\"%s\": it cannot enter \"%*s\"",
                  path, ccf->username, r.len, path->data);

    return NGX_ERROR;
}


/*
 * In the child: the workers' credentials, then "/", "/a" and "/a/b" for
 * "/a/b/store" (the store's directory itself is the workers' own by the
 * time they open it).  path is the child's copy: it is cut in place.
 */

static ngx_http_mcp_reach_t
ngx_http_mcp_reach_probe(u_char *path, ngx_core_conf_t *ccf)
{
    u_char                *p, *last;
    ngx_http_mcp_reach_t   r;

    ngx_memzero(&r, sizeof(ngx_http_mcp_reach_t));

    if (setgid(ccf->group) == -1
        || initgroups(ccf->username, ccf->group) == -1
        || setuid(ccf->user) == -1)
    {
        r.len = (size_t) -1;
        r.err = ngx_errno;
        return r;
    }

    if (access("/", X_OK) == -1) {
        r.len = 1;
        r.err = ngx_errno;
        return r;
    }

    last = path + ngx_strlen(path);

    while (last > path + 1 && last[-1] == '/') {
        last--;
    }

    for (p = path + 1; p < last; p++) {
        if (*p != '/' || p[-1] == '/') {
            continue;
        }

        *p = '\0';

        if (access((char *) path, X_OK) == -1) {
            r.len = (size_t) (p - path);
            r.err = ngx_errno;
            return r;
        }

        *p = '/';
    }

    return r;
}


static void *
ngx_http_mcp_create_srv_conf(ngx_conf_t *cf)
{
    /*
     * set by ngx_pcalloc():
     *
     *     mscf->redirect_prefix = { 0, NULL };
     *     mscf->redirect_other = { 0, NULL };
     *     mscf->endpoint_path = { 0, NULL };
     */

    return ngx_pcalloc(cf->pool, sizeof(ngx_http_mcp_srv_conf_t));
}


static void *
ngx_http_mcp_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_mcp_loc_conf_t  *mlcf;

    mlcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_mcp_loc_conf_t));
    if (mlcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     mlcf->handler = NGX_HTTP_MCP_HANDLER_NONE;
     *     mlcf->base_url = { 0, NULL };
     */

    mlcf->redirect_status = NGX_CONF_UNSET_UINT;
    mlcf->code_length = NGX_CONF_UNSET;
    mlcf->url_max_length = NGX_CONF_UNSET;
    mlcf->max_body_size = NGX_CONF_UNSET_SIZE;
    mlcf->url_schemes = NGX_CONF_UNSET_PTR;
    mlcf->url_allow = NGX_CONF_UNSET_PTR;
    mlcf->url_deny = NGX_CONF_UNSET_PTR;
    mlcf->bot_agents = NGX_CONF_UNSET_PTR;
    mlcf->reserved = NGX_CONF_UNSET_PTR;
    mlcf->max_message_size = NGX_CONF_UNSET_SIZE;
    mlcf->client_request_timeout = NGX_CONF_UNSET_MSEC;
    mlcf->allowed_hosts = NGX_CONF_UNSET_PTR;
    mlcf->allowed_origins = NGX_CONF_UNSET_PTR;
    mlcf->trusted_proxies = NGX_CONF_UNSET_PTR;
    mlcf->conformance_fixtures = NGX_CONF_UNSET;
    mlcf->context_ttl = NGX_CONF_UNSET;
    mlcf->context_ttls = NGX_CONF_UNSET_PTR;
    mlcf->api_keys = NGX_CONF_UNSET_PTR;

    ngx_http_mcp_oauth_create_conf(&mlcf->oauth);

    return mlcf;
}


/*
 * An array of n strings copied from elts: a list directive's arguments,
 * or the defaults a location inherits when it has none.
 */

static ngx_array_t *
ngx_http_mcp_str_array(ngx_conf_t *cf, ngx_str_t *elts, ngx_uint_t n)
{
    ngx_array_t  *a;

    a = ngx_array_create(cf->pool, ngx_max(n, 1), sizeof(ngx_str_t));
    if (a == NULL) {
        return NULL;
    }

    if (n) {
        ngx_memcpy(a->elts, elts, n * sizeof(ngx_str_t));
        a->nelts = n;
    }

    return a;
}


/*
 * The merge of a list directive (ngx_http_mcp_str_list_slot()): the
 * location's own list, else the enclosing one's, else a copy of defaults,
 * which end with a null string.
 */

static char *
ngx_http_mcp_merge_str_list(ngx_conf_t *cf, ngx_array_t **conf,
    ngx_array_t *prev, ngx_str_t *defaults)
{
    ngx_uint_t  n;

    ngx_conf_merge_ptr_value(*conf, prev, NULL);

    if (*conf != NULL) {
        return NGX_CONF_OK;
    }

    for (n = 0; defaults[n].len; n++) { /* void */ }

    *conf = ngx_http_mcp_str_array(cf, defaults, n);

    return (*conf == NULL) ? NGX_CONF_ERROR : NGX_CONF_OK;
}


static char *
ngx_http_mcp_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_mcp_loc_conf_t *prev = parent;
    ngx_http_mcp_loc_conf_t *conf = child;

    ngx_str_t                 *name;
    ngx_uint_t                 i;
    ngx_http_server_name_t    *sn;
    ngx_http_mcp_srv_conf_t   *mscf;
    ngx_http_core_srv_conf_t  *cscf;

    ngx_conf_merge_uint_value(conf->redirect_status, prev->redirect_status,
                              NGX_HTTP_MOVED_TEMPORARILY);
    ngx_conf_merge_value(conf->code_length, prev->code_length, 7);
    ngx_conf_merge_value(conf->url_max_length, prev->url_max_length, 2048);
    ngx_conf_merge_size_value(conf->max_body_size, prev->max_body_size,
                              16 * 1024);
    ngx_conf_merge_str_value(conf->base_url, prev->base_url, "");
    ngx_conf_merge_ptr_value(conf->url_allow, prev->url_allow, NULL);
    ngx_conf_merge_ptr_value(conf->url_deny, prev->url_deny, NULL);

    if (conf->bot_agents == NGX_CONF_UNSET_PTR) {
        if (prev->bot_agents == NGX_CONF_UNSET_PTR) {
            prev->bot_agents = ngx_http_mcp_bot_agents_default(cf);
            if (prev->bot_agents == NULL) {
                return NGX_CONF_ERROR;
            }
        }

        conf->bot_agents = prev->bot_agents;
    }

    ngx_conf_merge_size_value(conf->max_message_size, prev->max_message_size,
                              1024 * 1024);
    ngx_conf_merge_msec_value(conf->client_request_timeout,
                              prev->client_request_timeout, 60000);
    ngx_conf_merge_ptr_value(conf->allowed_hosts, prev->allowed_hosts, NULL);
    ngx_conf_merge_ptr_value(conf->allowed_origins, prev->allowed_origins,
                             NULL);
    ngx_conf_merge_ptr_value(conf->trusted_proxies, prev->trusted_proxies,
                             NULL);
    ngx_conf_merge_value(conf->conformance_fixtures,
                         prev->conformance_fixtures, 0);
    ngx_conf_merge_sec_value(conf->context_ttl, prev->context_ttl, 0);
    ngx_conf_merge_ptr_value(conf->context_ttls, prev->context_ttls, NULL);
    ngx_conf_merge_ptr_value(conf->api_keys, prev->api_keys, NULL);

    if (ngx_http_mcp_oauth_merge_conf(cf, &prev->oauth, &conf->oauth)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_mcp_merge_str_list(cf, &conf->url_schemes, prev->url_schemes,
                                    ngx_http_mcp_default_schemes)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_mcp_merge_str_list(cf, &conf->reserved, prev->reserved,
                                    ngx_http_mcp_default_reserved)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    /*
     * The endpoint allows the server's names as Host and Origin: copy
     * them, since the core module keeps them in the configuration's
     * temporary pool, freed once the configuration is read.
     */

    if (conf->handler == NGX_HTTP_MCP_HANDLER_ENDPOINT) {
        cscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_core_module);

        conf->server_names = ngx_array_create(cf->pool,
                                            cscf->server_names.nelts + 1,
                                            sizeof(ngx_str_t));
        if (conf->server_names == NULL) {
            return NGX_CONF_ERROR;
        }

        sn = cscf->server_names.elts;

        for (i = 0; i < cscf->server_names.nelts; i++) {
            name = ngx_array_push(conf->server_names);
            if (name == NULL) {
                return NGX_CONF_ERROR;
            }

            *name = sn[i].name;
        }
    }

    if (conf->base_url.len
        && conf->base_url.data[conf->base_url.len - 1] != '/')
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "mcp_base_url \"%V\" must end with \"/\"",
                           &conf->base_url);
        return NGX_CONF_ERROR;
    }

    /* short_url is derived from the server's mcp_redirect location */

    mscf = ngx_http_conf_get_module_srv_conf(cf, ngx_mcp_module);

    if ((conf->handler == NGX_HTTP_MCP_HANDLER_SHORTEN
         || conf->handler == NGX_HTTP_MCP_HANDLER_ENDPOINT)
        && conf->base_url.len == 0 && mscf->redirect_other.len)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "short URLs of this server need mcp_base_url: "
                           "it has more than one mcp_redirect location, or "
                           "one that is not a prefix location (\"%V\")",
                           &mscf->redirect_other);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_mcp_store(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_mcp_main_conf_t *mmcf = conf;

    ngx_str_t   *value, s;
    ngx_uint_t   i;
    ngx_msec_t   ms;

    if (mmcf->path.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    mmcf->path = value[1];
    if (ngx_conf_full_name(cf->cycle, &mmcf->path, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "map_size=", 9) == 0) {
            s.len = value[i].len - 9;
            s.data = value[i].data + 9;

            mmcf->map_size = (size_t) ngx_parse_offset(&s);
            if (mmcf->map_size == (size_t) NGX_ERROR) {
                goto invalid;
            }

            if (mmcf->map_size < NGX_HTTP_MCP_MAP_SIZE_MIN) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid parameter \"%V\": map_size "
                                   "must be at least %uzk", &value[i],
                                   (size_t) NGX_HTTP_MCP_MAP_SIZE_MIN / 1024);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strcmp(value[i].data, "durability=sync") == 0) {
            mmcf->durability = NGX_HTTP_MCP_DURABILITY_SYNC;
            continue;
        }

        if (ngx_strcmp(value[i].data, "durability=interval") == 0) {
            mmcf->durability = NGX_HTTP_MCP_DURABILITY_INTERVAL;
            continue;
        }

        if (ngx_strcmp(value[i].data, "durability=off") == 0) {
            mmcf->durability = NGX_HTTP_MCP_DURABILITY_OFF;
            continue;
        }

        if (ngx_strcmp(value[i].data, "writemap=on") == 0) {
            mmcf->writemap = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "writemap=off") == 0) {
            mmcf->writemap = 0;
            continue;
        }

        if (ngx_strcmp(value[i].data, "group_commit=on") == 0) {
            mmcf->group_commit = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "group_commit=off") == 0) {
            mmcf->group_commit = 0;
            continue;
        }

        if (ngx_strncmp(value[i].data, "sync_interval=", 14) == 0) {
            s.len = value[i].len - 14;
            s.data = value[i].data + 14;

            ms = ngx_parse_time(&s, 0);
            if (ms == (ngx_msec_t) NGX_ERROR || ms == 0) {
                goto invalid;
            }

            mmcf->sync_interval = ms;
            continue;
        }

        goto invalid;
    }

#if (NGX_THREADS)
    /* the periodic flush runs in the default thread pool, off the loop */
    if (ngx_thread_pool_add(cf, NULL) == NULL) {
        return NGX_CONF_ERROR;
    }
#endif

    return NGX_CONF_OK;

invalid:

    return ngx_http_mcp_conf_invalid(cf, &value[i]);
}


char *
ngx_http_mcp_handler_slot(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_mcp_loc_conf_t *mlcf = conf;

    ngx_http_mcp_handler_t    *h;
    ngx_http_mcp_srv_conf_t   *mscf;
    ngx_http_core_loc_conf_t  *clcf;
    ngx_http_mcp_main_conf_t  *mmcf;

    if (mlcf->handler != NGX_HTTP_MCP_HANDLER_NONE) {
        return "is duplicate";
    }

    mmcf = ngx_http_conf_get_module_main_conf(cf, ngx_mcp_module);
    mmcf->used = 1;

    mscf = ngx_http_conf_get_module_srv_conf(cf, ngx_mcp_module);
    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    h = cmd->post;

    mlcf->handler = h->type;
    mlcf->body = h->body;
    clcf->handler = h->handler;

    if (h->type == NGX_HTTP_MCP_HANDLER_REDIRECT) {
        ngx_http_mcp_redirect_location(mscf, clcf);
    }

    if (h->type == NGX_HTTP_MCP_HANDLER_ENDPOINT) {
        ngx_http_mcp_endpoint_location(mscf, clcf);
    }

    return NGX_CONF_OK;
}


/*
 * Records where the server's codes are served: short URLs follow the
 * prefix of its one mcp_redirect location.  A second one, or one that is
 * not a prefix location (regex, exact, named), leaves no prefix to follow:
 * then the server's mcp_shorten and mcp_endpoint need mcp_base_url.
 */

static void
ngx_http_mcp_redirect_location(ngx_http_mcp_srv_conf_t *mscf,
    ngx_http_core_loc_conf_t *clcf)
{
    if (mscf->redirect_other.len) {
        return;
    }

    if (mscf->redirect_prefix.len
#if (NGX_PCRE)
        || clcf->regex
#endif
        || clcf->exact_match || clcf->named)
    {
        mscf->redirect_other = clcf->name;
        return;
    }

    mscf->redirect_prefix = clcf->name;
}


/*
 * Records the path of the server's MCP endpoint, the default audience of
 * its OAuth access tokens: that of its first mcp_endpoint location with a
 * path (not a regex or named one).
 */

static void
ngx_http_mcp_endpoint_location(ngx_http_mcp_srv_conf_t *mscf,
    ngx_http_core_loc_conf_t *clcf)
{
    if (mscf->endpoint_path.len
#if (NGX_PCRE)
        || clcf->regex
#endif
        || clcf->named)
    {
        return;
    }

    mscf->endpoint_path = clcf->name;
}


static char *
ngx_http_mcp_msec_positive(ngx_conf_t *cf, void *post, void *data)
{
    ngx_msec_t  *ms = data;

    if (*ms == 0) {
        return "must be at least 1ms";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_mcp_str_list_slot(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_str_t     *value;
    ngx_array_t  **a;

    a = (ngx_array_t **) (p + cmd->offset);

    if (*a != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    *a = ngx_http_mcp_str_array(cf, value + 1, cf->args->nelts - 1);
    if (*a == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * A list of patterns, each argument one, added to those of the same
 * directive before.  cmd->post, if set, points to the options they are
 * compiled with.
 */

static char *
ngx_http_mcp_regex_slot(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_str_t     *value;
    ngx_uint_t     i;
    ngx_array_t  **a;

    a = (ngx_array_t **) (p + cmd->offset);
    value = cf->args->elts;

    if (*a == NULL) {
        return "is duplicate";
    }

    if (*a == NGX_CONF_UNSET_PTR) {
        *a = ngx_array_create(cf->pool, 4, sizeof(ngx_regex_elt_t));
        if (*a == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    for (i = 1; i < cf->args->nelts; i++) {
        if (ngx_http_mcp_regex_add(cf, *a, &value[i],
                                   cmd->post ? *(ngx_uint_t *) cmd->post : 0)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/* compiles pattern into a new element of a (of ngx_regex_elt_t) */

ngx_int_t
ngx_http_mcp_regex_add(ngx_conf_t *cf, ngx_array_t *a, ngx_str_t *pattern,
    ngx_uint_t options)
{
    u_char                errstr[NGX_MAX_CONF_ERRSTR];
    ngx_regex_elt_t      *re;
    ngx_regex_compile_t   rc;

    ngx_memzero(&rc, sizeof(ngx_regex_compile_t));

    rc.pattern = *pattern;
    rc.pool = cf->pool;
    rc.options = options;
    rc.err.len = NGX_MAX_CONF_ERRSTR;
    rc.err.data = errstr;

    if (ngx_regex_compile(&rc) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%V", &rc.err);
        return NGX_ERROR;
    }

    re = ngx_array_push(a);
    if (re == NULL) {
        return NGX_ERROR;
    }

    re->regex = rc.regex;
    re->name = pattern->data;

    return NGX_OK;
}


/*
 * mcp_bot_user_agents REGEX ... | off: the patterns replace the default
 * list (ngx_http_mcp_bot_agents_default()); "off" counts no visit as a
 * bot's.
 */

static char *
ngx_http_mcp_bot_agents(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_mcp_loc_conf_t *mlcf = conf;

    ngx_str_t  *value;

    value = cf->args->elts;

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        if (mlcf->bot_agents != NGX_CONF_UNSET_PTR) {
            return "is duplicate";
        }

        mlcf->bot_agents = NULL;
        return NGX_CONF_OK;
    }

    return ngx_http_mcp_regex_slot(cf, cmd, conf);
}


/*
 * mcp_tenant_quota tenant|* [links=N] [entities=N] [messages=N]
 * [bytes=size]: a tenant's limits, or those of every tenant without its
 * own line ("*").  The store enforces them (mcp_store_quota_set()).
 */

static char *
ngx_http_mcp_tenant_quota(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_mcp_main_conf_t *mmcf = conf;

    size_t              len;
    ssize_t             size;
    unsigned            which;
    ngx_int_t           n;
    ngx_str_t          *value, v;
    ngx_uint_t          i;
    mcp_store_quota_t  *q;

    value = cf->args->elts;

    if (mmcf->quotas == NULL) {
        mmcf->quotas = ngx_array_create(cf->pool, 4,
                                        sizeof(mcp_store_quota_t));
        if (mmcf->quotas == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    len = (value[1].len == 1 && value[1].data[0] == '*') ? 0 : value[1].len;

    if (len
        && mcp_store_scope_valid((char *) value[1].data, len, 1)
           != MCP_STORE_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid tenant \"%V\": \"*\", or 1 to %d of "
                           "A-Z, a-z, 0-9, \"_\", \".\" and \"-\"",
                           &value[1], MCP_STORE_SCOPE_MAX);
        return NGX_CONF_ERROR;
    }

    q = mmcf->quotas->elts;

    for (i = 0; i < mmcf->quotas->nelts; i++) {
        if (q[i].tenant_len == len
            && ngx_strncmp(q[i].tenant, value[1].data, len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate quota of \"%V\"", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    q = ngx_array_push(mmcf->quotas);
    if (q == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(q, sizeof(mcp_store_quota_t));
    q->tenant = (const char *) value[1].data;
    q->tenant_len = len;

    for (i = 2; i < cf->args->nelts; i++) {

        for (which = 0; which < MCP_STORE_QUOTA_N; which++) {
            len = ngx_strlen(mcp_store_quota_name(which));

            if (value[i].len > len + 1
                && ngx_strncmp(value[i].data, mcp_store_quota_name(which),
                               len) == 0
                && value[i].data[len] == '=')
            {
                break;
            }
        }

        if (which == MCP_STORE_QUOTA_N || q->limit[which] != 0) {
            goto invalid;
        }

        v.data = value[i].data + len + 1;
        v.len = value[i].len - len - 1;

        if (which == MCP_STORE_QUOTA_BYTES) {
            size = ngx_parse_size(&v);
            n = (size == NGX_ERROR) ? NGX_ERROR : (ngx_int_t) size;

        } else {
            n = ngx_atoi(v.data, v.len);
        }

        if (n <= 0) {
            goto invalid;
        }

        q->limit[which] = (uint64_t) n;
    }

    return NGX_CONF_OK;

invalid:

    return ngx_http_mcp_conf_invalid(cf, &value[i]);
}


/*
 * mcp_context_ttl time [namespace]: for every namespace, or for one.
 */

static char *
ngx_http_mcp_context_ttl(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_mcp_loc_conf_t *mlcf = conf;

    time_t               ttl;
    ngx_str_t           *value;
    ngx_http_mcp_ttl_t  *t;

    value = cf->args->elts;

    ttl = ngx_parse_time(&value[1], 1);
    if (ttl == (time_t) NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts == 2) {
        if (mlcf->context_ttl != NGX_CONF_UNSET) {
            return "is duplicate";
        }

        mlcf->context_ttl = ttl;
        return NGX_CONF_OK;
    }

    /* the store's rule for namespaces: a name that breaks it never
     * matches the namespace of a call */

    if (mcp_store_scope_valid((char *) value[2].data, value[2].len, 1)
        != MCP_STORE_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid namespace \"%V\": 1 to %d of A-Z, a-z, "
                           "0-9, \"_\", \".\" and \"-\"", &value[2],
                           MCP_STORE_SCOPE_MAX);
        return NGX_CONF_ERROR;
    }

    if (mlcf->context_ttls == NGX_CONF_UNSET_PTR) {
        mlcf->context_ttls = ngx_array_create(cf->pool, 4,
                                              sizeof(ngx_http_mcp_ttl_t));
        if (mlcf->context_ttls == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    t = ngx_array_push(mlcf->context_ttls);
    if (t == NULL) {
        return NGX_CONF_ERROR;
    }

    t->ns = value[2];
    t->ttl = ttl;

    return NGX_CONF_OK;
}


/*
 * The store was opened and checked while the configuration was read (see
 * ngx_http_mcp_init_main_conf()); here, once the "user" directive is
 * known, its files are handed to the workers' user.
 */

static ngx_int_t
ngx_http_mcp_init_module(ngx_cycle_t *cycle)
{
    u_char                     file[NGX_MAX_PATH];
    ngx_uint_t                 i;
    ngx_core_conf_t           *ccf;
    ngx_http_mcp_main_conf_t  *mmcf;

    static const char  *files[] = { "", "/data.mdb", "/lock.mdb" };

    mmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_mcp_module);
    if (mmcf == NULL || mmcf->path.data == NULL) {
        return NGX_OK;
    }

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    if (geteuid() != 0 || ccf->user == (ngx_uid_t) NGX_CONF_UNSET_UINT) {
        return NGX_OK;
    }

    /* workers run as "user": hand them the files, as nginx does with its
     * temporary directories */

    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        if (mmcf->path.len + ngx_strlen(files[i]) + 1 > sizeof(file)) {
            break;
        }

        ngx_sprintf(file, "%V%s%Z", &mmcf->path, files[i]);

        if (chown((char *) file, ccf->user, ccf->group) == -1) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                          "chown(\"%s\", %d) failed", file, ccf->user);

            /* a failed init_module ends the master: on a reload, let the
             * workers that cannot open the store say so instead */
            return (ngx_process == NGX_PROCESS_MASTER) ? NGX_OK : NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_mcp_init_process(ngx_cycle_t *cycle)
{
    int                            rc;
    char                           err[512];
    unsigned                       flags;
    ngx_http_mcp_main_conf_t      *mmcf;
    ngx_http_mcp_cluster_state_t   cluster;
#if (NGX_THREADS)
    static ngx_str_t               pool_name = ngx_string("default");
#endif

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    ngx_http_mcp_json_alloc_init();
    ngx_http_mcp_stream_reap(cycle);

    mmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_mcp_module);
    if (mmcf == NULL || mmcf->path.data == NULL) {
        return NGX_OK;
    }

    flags = 0;
    if (mmcf->durability != NGX_HTTP_MCP_DURABILITY_SYNC) {
        flags |= MCP_STORE_NOSYNC;

        /*
         * Commits then write into the map: no pwrite() of each dirty page
         * and no copy of it in malloc()ed memory.  Not in a cluster: its
         * applier nests transactions, which a write map does not allow.
         * sync keeps its pwrite() and fdatasync() per commit.
         */

        if (mmcf->writemap
            && ngx_http_mcp_cluster_state(cycle, &cluster) == NGX_DECLINED)
        {
            flags |= MCP_STORE_WRITEMAP;
        }
    }

    rc = mcp_store_open(&mmcf->store, (char *) mmcf->path.data,
                        mmcf->map_size, flags, err, sizeof(err));
    if (rc != MCP_STORE_OK) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "mcp_store \"%V\" cannot be opened: %s",
                      &mmcf->path, err);
        return NGX_ERROR;
    }

    if (mmcf->quotas != NULL) {
        mcp_store_quota_set(mmcf->store, mmcf->quotas->elts,
                            mmcf->quotas->nelts);
    }

    mmcf->log = cycle->log;

    ngx_http_mcp_status_open(mmcf);

#if (NGX_THREADS)
    mmcf->thread_pool = ngx_thread_pool_get(cycle, &pool_name);
#endif

    if (ngx_http_mcp_visits_init(cycle, mmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    mmcf->flush_event.handler = ngx_http_mcp_flush_handler;
    mmcf->flush_event.data = mmcf;
    mmcf->flush_event.log = cycle->log;
    mmcf->flush_event.cancelable = 1;

    ngx_add_timer(&mmcf->flush_event, mmcf->flush_interval);

    mmcf->sweep_event.handler = ngx_http_mcp_sweep_handler;
    mmcf->sweep_event.data = mmcf;
    mmcf->sweep_event.log = cycle->log;
    mmcf->sweep_event.cancelable = 1;

    ngx_add_timer(&mmcf->sweep_event, NGX_HTTP_MCP_SWEEP_INTERVAL);

    if (mmcf->durability == NGX_HTTP_MCP_DURABILITY_INTERVAL) {
#if (NGX_THREADS)
        mmcf->sync_task = ngx_thread_task_alloc(cycle->pool,
                                          sizeof(ngx_http_mcp_main_conf_t *));
        if (mmcf->sync_task == NULL) {
            return NGX_ERROR;
        }

        *(ngx_http_mcp_main_conf_t **) mmcf->sync_task->ctx = mmcf;
        mmcf->sync_task->handler = ngx_http_mcp_sync_thread;
        mmcf->sync_task->event.handler = ngx_http_mcp_sync_done;
        mmcf->sync_task->event.data = mmcf;
#endif
        mmcf->sync_event.handler = ngx_http_mcp_sync_handler;
        mmcf->sync_event.data = mmcf;
        mmcf->sync_event.log = cycle->log;
        mmcf->sync_event.cancelable = 1;

        ngx_add_timer(&mmcf->sync_event, mmcf->sync_interval);
    }

    return NGX_OK;
}


static void
ngx_http_mcp_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_mcp_main_conf_t  *mmcf;

    ngx_http_mcp_json_alloc_exit();

    mmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_mcp_module);
    if (mmcf == NULL || mmcf->store == NULL) {
        return;
    }

    /* the tasks in the thread pool end before the store closes */

    ngx_http_mcp_cluster_exit_local(cycle);
    ngx_http_mcp_visits_exit(mmcf);

    if (mmcf->durability == NGX_HTTP_MCP_DURABILITY_INTERVAL) {
        (void) mcp_store_sync(mmcf->store);
    }

    mcp_store_close(mmcf->store);
    mmcf->store = NULL;
}


static void
ngx_http_mcp_flush_handler(ngx_event_t *ev)
{
    ngx_http_mcp_main_conf_t *mmcf = ev->data;

    ngx_http_mcp_visits_flush(mmcf, 0);

    if (!ngx_exiting) {
        ngx_add_timer(ev, mmcf->flush_interval);
    }
}


#if (NGX_THREADS)

static void
ngx_http_mcp_sync_thread(void *data, ngx_log_t *log)
{
    ngx_http_mcp_main_conf_t **mmcfp = data;

    int  rc;

    rc = mcp_store_sync((*mmcfp)->store);

    if (rc != MCP_STORE_OK) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      "mcp_store sync failed: %s", mcp_store_strerror(rc));
    }
}


static void
ngx_http_mcp_sync_done(ngx_event_t *ev)
{
    ngx_http_mcp_main_conf_t *mmcf = ev->data;

    mmcf->sync_busy = 0;
}

#endif


static void
ngx_http_mcp_sync_handler(ngx_event_t *ev)
{
    ngx_http_mcp_main_conf_t *mmcf = ev->data;

#if (NGX_THREADS)
    if (mmcf->thread_pool == NULL) {
        (void) mcp_store_sync(mmcf->store);

    } else if (!mmcf->sync_busy
               && ngx_thread_task_post(mmcf->thread_pool, mmcf->sync_task)
                  == NGX_OK)
    {
        mmcf->sync_busy = 1;
    }
#else
    (void) mcp_store_sync(mmcf->store);
#endif

    if (!ngx_exiting) {
        ngx_add_timer(ev, mmcf->sync_interval);
    }
}


/*
 * Removes idle sessions in bounded batches, off the request path.  Every
 * worker sweeps; the store serialises them, and a sweep that finds
 * nothing is a short read-write transaction a minute.
 */

static void
ngx_http_mcp_sweep_handler(ngx_event_t *ev)
{
    ngx_http_mcp_main_conf_t *mmcf = ev->data;

    int         rc, more;
    size_t      removed, contexts;
    int64_t     idle_before;
    ngx_int_t   cluster;
    ngx_uint_t  again;

    again = 0;
    removed = 0;
    contexts = 0;
    more = 0;
    rc = MCP_STORE_OK;

    idle_before = ngx_time() - (int64_t) (mmcf->session_timeout / 1000);

    /* in a cluster the expiry goes through the log: a batch of contexts
     * is published, and if expired ones are still there (the batch
     * before was not enough, or this one is not applied yet) the sweep
     * comes back soon, as below */

    cluster = ngx_http_mcp_cluster_expire((ngx_cycle_t *) ngx_cycle,
                                          idle_before, ngx_time(),
                                          NGX_HTTP_MCP_SWEEP_BATCH);

    if (cluster == NGX_AGAIN) {
        rc = mcp_store_context_expired(mmcf->store, ngx_time(), &more);
        again = more;

    } else if (cluster == NGX_DECLINED) {
        rc = mcp_store_session_expire(mmcf->store, idle_before,
                                      NGX_HTTP_MCP_SWEEP_BATCH, &removed,
                                      &more);

        if (rc == MCP_STORE_OK) {
            again = more;

            rc = mcp_store_context_expire(mmcf->store, ngx_time(),
                                          NGX_HTTP_MCP_SWEEP_BATCH,
                                          &contexts, &more);
            again |= more;
        }
    }

    if (rc != MCP_STORE_OK) {
        ngx_log_error(NGX_LOG_ERR, ev->log, 0,
                      "mcp_store \"%V\": expiring sessions and contexts "
                      "failed: %s", &mmcf->path, mcp_store_strerror(rc));

    } else if (removed || contexts) {
        ngx_log_error(NGX_LOG_INFO, ev->log, 0,
                      "mcp_store \"%V\": %uz idle sessions and %uz "
                      "contexts expired", &mmcf->path, removed, contexts);
    }

    /* a batch cut short: more are waiting, come back soon */

    if (!ngx_exiting) {
        ngx_add_timer(ev, again ? 1000 : NGX_HTTP_MCP_SWEEP_INTERVAL);
    }
}
