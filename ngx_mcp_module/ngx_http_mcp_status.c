
/*
 * ngx_mcp: mcp_status, what a monitoring system and a readiness probe ask
 * of the module: the store's figures and counters of requests and tool
 * calls, as JSON or in the Prometheus text format 0.0.4.
 *
 * The counters live in one shared memory zone, one block per worker
 * (ngx_worker), so that a scrape answered by any worker sums them all.
 * Workers add atomically: after a reload, the old worker of a number and
 * its successor share its block while the old one exits, and the sums
 * stay counters that never go down.
 */


#include "ngx_http_mcp_rpc.h"
#include "ngx_http_mcp_cluster.h"


#define NGX_HTTP_MCP_STATUS_WORKERS    64     /* more share blocks */
#define NGX_HTTP_MCP_STATUS_TOOLS      64
#define NGX_HTTP_MCP_STATUS_TOOL_NAME  64

#define NGX_HTTP_MCP_STATUS_JSON        0
#define NGX_HTTP_MCP_STATUS_PROMETHEUS  1


/* the routes counted, by NGX_HTTP_MCP_HANDLER_* */
static const char  *ngx_http_mcp_status_routes[] = {
    "other", "shorten", "redirect", "mcp", "status", "admin"
};

#define NGX_HTTP_MCP_STATUS_ROUTES                                            \
    (sizeof(ngx_http_mcp_status_routes) / sizeof(const char *))

/* the statuses the module answers with; the last slot counts the rest */
static const ngx_uint_t  ngx_http_mcp_status_codes[] = {
    200, 201, 202, 204, 301, 302, 307, 308, 400, 401, 403, 404, 405, 406,
    409, 410, 413, 415, 422, 429, 500, 503, 507, 0
};

#define NGX_HTTP_MCP_STATUS_CODES                                             \
    (sizeof(ngx_http_mcp_status_codes) / sizeof(ngx_uint_t))

/* how a tool call ended, see ngx_http_mcp_status_tool() */
static const char  *ngx_http_mcp_status_outcomes[] = {
    "ok", "tool_error", "rpc_error"
};

#define NGX_HTTP_MCP_STATUS_OUTCOMES                                          \
    (sizeof(ngx_http_mcp_status_outcomes) / sizeof(const char *))


typedef struct {
    ngx_atomic_t               requests[NGX_HTTP_MCP_STATUS_ROUTES]
                                       [NGX_HTTP_MCP_STATUS_CODES];
    ngx_atomic_t               tools[NGX_HTTP_MCP_STATUS_TOOLS]
                                    [NGX_HTTP_MCP_STATUS_OUTCOMES];
    ngx_atomic_t               visits_pending;   /* codes in the batch */
    ngx_atomic_t               batch_since;      /* its first visit, ms */
    ngx_atomic_t               commit_batches;   /* group commits */
    ngx_atomic_t               commit_writes;    /* writes in them */
} ngx_http_mcp_status_worker_t;


typedef struct {
    ngx_uint_t                 ntools;
    u_char                     tools[NGX_HTTP_MCP_STATUS_TOOLS]
                                    [NGX_HTTP_MCP_STATUS_TOOL_NAME];
    ngx_http_mcp_status_worker_t  workers[NGX_HTTP_MCP_STATUS_WORKERS];
} ngx_http_mcp_status_shm_t;


/* what a scrape found: the sums over the workers and the store's state */
typedef struct {
    ngx_http_mcp_status_shm_t *shm;
    uint64_t                   requests[NGX_HTTP_MCP_STATUS_ROUTES]
                                       [NGX_HTTP_MCP_STATUS_CODES];
    uint64_t                   tools[NGX_HTTP_MCP_STATUS_TOOLS]
                                    [NGX_HTTP_MCP_STATUS_OUTCOMES];
    uint64_t                   visits_pending;
    ngx_msec_t                 flush_lag;
    ngx_uint_t                 grouped;          /* group commit is on */
    uint64_t                   commit_batches;
    uint64_t                   commit_writes;
    mcp_store_stat_t           store;
    const char                *degraded;         /* why, or NULL */
    ngx_uint_t                 clustered;
    ngx_http_mcp_cluster_state_t  cluster;
} ngx_http_mcp_status_t;


static ngx_int_t ngx_http_mcp_status_init_zone(ngx_shm_zone_t *zone,
    void *data);
static ngx_int_t ngx_http_mcp_status_log(ngx_http_request_t *r);
static ngx_http_mcp_status_worker_t *ngx_http_mcp_status_worker(
    ngx_http_mcp_main_conf_t *mmcf);
static void ngx_http_mcp_status_code(ngx_uint_t i, char *buf);
static void ngx_http_mcp_status_collect(ngx_http_mcp_main_conf_t *mmcf,
    ngx_http_mcp_status_t *st);
static const char *ngx_http_mcp_status_check_file(
    ngx_http_mcp_main_conf_t *mmcf);
static ngx_int_t ngx_http_mcp_status_json(ngx_http_request_t *r,
    ngx_http_mcp_status_t *st);
static ngx_int_t ngx_http_mcp_status_prometheus(ngx_http_request_t *r,
    ngx_http_mcp_status_t *st);


static ngx_str_t  ngx_http_mcp_status_zone_name = ngx_string("ngx_mcp_status");

static ngx_conf_enum_t  ngx_http_mcp_status_formats[] = {
    { ngx_string("json"), NGX_HTTP_MCP_STATUS_JSON },
    { ngx_string("prometheus"), NGX_HTTP_MCP_STATUS_PROMETHEUS },
    { ngx_null_string, 0 }
};


/*
 * mcp_status [json|prometheus]: a handler like the others, plus its
 * format and the zone of the counters, which only exists (and costs the
 * hot paths an atomic add) when some location reports them.
 */

char *
ngx_http_mcp_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_mcp_loc_conf_t *mlcf = conf;

    char                      *rv;
    ngx_str_t                 *value;
    ngx_conf_enum_t           *e;
    ngx_http_mcp_main_conf_t  *mmcf;

    rv = ngx_http_mcp_handler_slot(cf, cmd, conf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    mlcf->status_format = NGX_HTTP_MCP_STATUS_JSON;

    if (cf->args->nelts == 2) {
        value = cf->args->elts;

        for (e = ngx_http_mcp_status_formats; e->name.len; e++) {
            if (e->name.len == value[1].len
                && ngx_strcmp(e->name.data, value[1].data) == 0)
            {
                break;
            }
        }

        if (e->name.len == 0) {
            return ngx_http_mcp_conf_invalid(cf, &value[1]);
        }

        mlcf->status_format = e->value;
    }

    mmcf = ngx_http_conf_get_module_main_conf(cf, ngx_mcp_module);

    if (mmcf->status_zone == NULL) {
        mmcf->status_zone = ngx_shared_memory_add(cf,
                                     &ngx_http_mcp_status_zone_name,
                                     8 * ngx_pagesize
                                     + sizeof(ngx_http_mcp_status_shm_t),
                                     &ngx_mcp_module);
        if (mmcf->status_zone == NULL) {
            return NGX_CONF_ERROR;
        }

        mmcf->status_zone->init = ngx_http_mcp_status_init_zone;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_mcp_status_init_zone(ngx_shm_zone_t *zone, void *data)
{
    ngx_http_mcp_status_shm_t  *old = data;

    ngx_slab_pool_t            *shpool;
    ngx_http_mcp_status_shm_t  *shm;

    /* a reload: the counters go on */
    if (old) {
        zone->data = old;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) zone->shm.addr;

    if (zone->shm.exists) {
        zone->data = shpool->data;
        return NGX_OK;
    }

    shm = ngx_slab_calloc(shpool, sizeof(ngx_http_mcp_status_shm_t));
    if (shm == NULL) {
        return NGX_ERROR;
    }

    shpool->data = shm;
    shpool->log_nomem = 0;
    zone->data = shm;

    return NGX_OK;
}


/* registers the log phase handler that counts requests */

ngx_int_t
ngx_http_mcp_status_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_mcp_status_log;

    return NGX_OK;
}


static ngx_http_mcp_status_worker_t *
ngx_http_mcp_status_worker(ngx_http_mcp_main_conf_t *mmcf)
{
    ngx_http_mcp_status_shm_t  *shm;

    if (mmcf == NULL || mmcf->status_zone == NULL) {
        return NULL;
    }

    shm = mmcf->status_zone->data;

    return &shm->workers[ngx_worker % NGX_HTTP_MCP_STATUS_WORKERS];
}


static ngx_int_t
ngx_http_mcp_status_log(ngx_http_request_t *r)
{
    ngx_uint_t                     i, route;
    ngx_http_mcp_loc_conf_t       *mlcf;
    ngx_http_mcp_status_worker_t  *w;

    w = ngx_http_mcp_status_worker(
                 ngx_http_get_module_main_conf(r, ngx_mcp_module));
    if (w == NULL) {
        return NGX_OK;
    }

    mlcf = ngx_http_get_module_loc_conf(r, ngx_mcp_module);

    /* only the module's own locations: nginx counts the rest itself */
    if (mlcf->handler == NGX_HTTP_MCP_HANDLER_NONE) {
        return NGX_OK;
    }

    route = mlcf->handler < NGX_HTTP_MCP_STATUS_ROUTES ? mlcf->handler : 0;

    for (i = 0; i < NGX_HTTP_MCP_STATUS_CODES - 1; i++) {
        if (ngx_http_mcp_status_codes[i] == r->headers_out.status) {
            break;
        }
    }

    (void) ngx_atomic_fetch_add(&w->requests[route][i], 1);

    return NGX_OK;
}


/*
 * Notes one tools/call for $mcp_tool and counts it: result is what the
 * tool answered (NULL: a JSON-RPC error in err).  A call answered later,
 * once its write is applied (NGX_HTTP_MCP_DEFERRED), is counted then, by
 * ngx_http_mcp_respond().  Tool names get their slot on first use, under
 * the zone's lock; a name past the last slot is not counted.
 */

void
ngx_http_mcp_status_tool(ngx_http_request_t *r, ngx_str_t *name,
    json_t *result, ngx_http_mcp_error_t *err)
{
    ngx_uint_t                     i, outcome;
    ngx_slab_pool_t               *shpool;
    ngx_http_mcp_main_conf_t      *mmcf;
    ngx_http_mcp_status_shm_t     *shm;
    ngx_http_mcp_status_worker_t  *w;

    ngx_http_mcp_note(r, NGX_HTTP_MCP_NOTE_TOOL, name->data, name->len);

    mmcf = ngx_http_get_module_main_conf(r, ngx_mcp_module);

    w = ngx_http_mcp_status_worker(mmcf);
    if (w == NULL || name->len == 0
        || name->len >= NGX_HTTP_MCP_STATUS_TOOL_NAME
        || (result == NULL && err->code == NGX_HTTP_MCP_DEFERRED))
    {
        return;
    }

    if (result == NULL) {
        outcome = 2;

    } else {
        outcome = json_is_true(json_object_get(result, "isError")) ? 1 : 0;
    }

    shm = mmcf->status_zone->data;
    shpool = (ngx_slab_pool_t *) mmcf->status_zone->shm.addr;

    ngx_shmtx_lock(&shpool->mutex);

    for (i = 0; i < shm->ntools; i++) {
        if (ngx_strncmp(shm->tools[i], name->data, name->len) == 0
            && shm->tools[i][name->len] == '\0')
        {
            break;
        }
    }

    if (i == shm->ntools && i < NGX_HTTP_MCP_STATUS_TOOLS) {
        ngx_memcpy(shm->tools[i], name->data, name->len);
        shm->tools[i][name->len] = '\0';
        shm->ntools++;
    }

    ngx_shmtx_unlock(&shpool->mutex);

    if (i < NGX_HTTP_MCP_STATUS_TOOLS) {
        (void) ngx_atomic_fetch_add(&w->tools[i][outcome], 1);
    }
}


/*
 * This worker's batch of visits: pending distinct codes (0: just flushed),
 * for the flush lag a scrape reports.
 */

void
ngx_http_mcp_status_batch(ngx_http_mcp_main_conf_t *mmcf, ngx_uint_t pending)
{
    ngx_time_t                    *tp;
    ngx_http_mcp_status_worker_t  *w;

    w = ngx_http_mcp_status_worker(mmcf);
    if (w == NULL) {
        return;
    }

    if (pending == 1) {
        tp = ngx_timeofday();
        w->batch_since = (ngx_atomic_uint_t) tp->sec * 1000 + tp->msec;
    }

    w->visits_pending = pending;
}


/*
 * A group commit of this worker (ngx_http_mcp_commit.c) wrote that many
 * operations in one transaction and one flush.
 */

void
ngx_http_mcp_status_commit(ngx_http_mcp_main_conf_t *mmcf, ngx_uint_t writes)
{
    ngx_http_mcp_status_worker_t  *w;

    w = ngx_http_mcp_status_worker(mmcf);
    if (w == NULL) {
        return;
    }

    (void) ngx_atomic_fetch_add(&w->commit_batches, 1);
    (void) ngx_atomic_fetch_add(&w->commit_writes, writes);
}


/*
 * Remembers which file the store is, so that a scrape notices one that
 * was removed or replaced under the running workers (a restore copied
 * over it, a directory wiped): they would go on with the old one.
 */

void
ngx_http_mcp_status_open(ngx_http_mcp_main_conf_t *mmcf)
{
    u_char           file[NGX_MAX_PATH];
    ngx_file_info_t  fi;

    if (mmcf->path.len + sizeof("/data.mdb") > sizeof(file)) {
        return;
    }

    ngx_sprintf(file, "%V/data.mdb%Z", &mmcf->path);

    if (ngx_file_info(file, &fi) != NGX_FILE_ERROR) {
        mmcf->store_uniq = ngx_file_uniq(&fi);
    }
}


static const char *
ngx_http_mcp_status_check_file(ngx_http_mcp_main_conf_t *mmcf)
{
    u_char           file[NGX_MAX_PATH];
    ngx_fd_t         fd;
    ngx_file_info_t  fi;

    if (mmcf->path.len + sizeof("/data.mdb") > sizeof(file)) {
        return NULL;
    }

    ngx_sprintf(file, "%V/data.mdb%Z", &mmcf->path);

    /* what a worker started now would do: open it for reading */
    fd = ngx_open_file(file, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        return "the store's data file cannot be opened";
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        (void) ngx_close_file(fd);
        return "the store's data file cannot be read";
    }

    (void) ngx_close_file(fd);

    if (ngx_file_uniq(&fi) != mmcf->store_uniq) {
        return "the store's data file was replaced: reload nginx";
    }

    return NULL;
}


static void
ngx_http_mcp_status_collect(ngx_http_mcp_main_conf_t *mmcf,
    ngx_http_mcp_status_t *st)
{
    int                            rc;
    ngx_uint_t                     n, i, j;
    ngx_msec_t                     now, since;
    ngx_time_t                    *tp;
    ngx_http_mcp_status_worker_t  *w;

    ngx_memzero(st, sizeof(ngx_http_mcp_status_t));

    st->shm = mmcf->status_zone->data;

    tp = ngx_timeofday();
    now = (ngx_msec_t) tp->sec * 1000 + tp->msec;
    since = now;

    for (n = 0; n < NGX_HTTP_MCP_STATUS_WORKERS; n++) {
        w = &st->shm->workers[n];

        for (i = 0; i < NGX_HTTP_MCP_STATUS_ROUTES; i++) {
            for (j = 0; j < NGX_HTTP_MCP_STATUS_CODES; j++) {
                st->requests[i][j] += w->requests[i][j];
            }
        }

        for (i = 0; i < NGX_HTTP_MCP_STATUS_TOOLS; i++) {
            for (j = 0; j < NGX_HTTP_MCP_STATUS_OUTCOMES; j++) {
                st->tools[i][j] += w->tools[i][j];
            }
        }

        st->commit_batches += w->commit_batches;
        st->commit_writes += w->commit_writes;

        if (w->visits_pending) {
            st->visits_pending += w->visits_pending;
            since = ngx_min(since, (ngx_msec_t) w->batch_since);
        }
    }

    st->flush_lag = now - since;

    st->clustered = (ngx_http_mcp_cluster_state((ngx_cycle_t *) ngx_cycle,
                                                &st->cluster)
                     == NGX_OK);

    st->grouped = !st->clustered && ngx_http_mcp_commit_wanted(mmcf);

    rc = mcp_store_stat(mmcf->store, &st->store);
    if (rc != MCP_STORE_OK) {
        st->degraded = mcp_store_strerror(rc);
        return;
    }

    st->degraded = ngx_http_mcp_status_check_file(mmcf);
}


ngx_int_t
ngx_http_mcp_status_handler(ngx_http_request_t *r)
{
    ngx_int_t                  rc;
    ngx_http_mcp_status_t     *st;
    ngx_http_mcp_loc_conf_t   *mlcf;
    ngx_http_mcp_main_conf_t  *mmcf;

    if (ngx_http_mcp_get_or_head(r, &rc) != NGX_OK) {
        return rc;
    }

    mmcf = ngx_http_get_module_main_conf(r, ngx_mcp_module);
    mlcf = ngx_http_get_module_loc_conf(r, ngx_mcp_module);

    /* large: from the pool, not the stack */
    st = ngx_palloc(r->pool, sizeof(ngx_http_mcp_status_t));
    if (st == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_mcp_status_collect(mmcf, st);

    if (st->degraded) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "mcp_store \"%V\" degraded: %s",
                      &mmcf->path, st->degraded);
    }

    if (mlcf->status_format == NGX_HTTP_MCP_STATUS_PROMETHEUS) {
        return ngx_http_mcp_status_prometheus(r, st);
    }

    return ngx_http_mcp_status_json(r, st);
}


/* the label of status slot i: its code, or "other" */

static void
ngx_http_mcp_status_code(ngx_uint_t i, char *buf)
{
    if (ngx_http_mcp_status_codes[i] == 0) {
        ngx_cpystrn((u_char *) buf, (u_char *) "other", sizeof("other"));
        return;
    }

    *ngx_sprintf((u_char *) buf, "%ui", ngx_http_mcp_status_codes[i]) = '\0';
}


static ngx_int_t
ngx_http_mcp_status_json(ngx_http_request_t *r, ngx_http_mcp_status_t *st)
{
    json_t      *doc, *requests, *tools, *route, *tool, *store;
    ngx_uint_t   i, j, ntools;
    char         code[NGX_INT_T_LEN + 1];

    /* what a probe reads first comes first */
    doc = json_pack("{ss ss}",
                    "status", st->degraded ? "degraded" : "ok",
                    "version", NGX_HTTP_MCP_VERSION);
    if (doc == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_mcp_json_cleanup(r->pool, doc);

    if (st->degraded
        && json_object_set_new(doc, "error", json_string(st->degraded)) != 0)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    store = json_pack("{sI sI sI sI sI sI sI si si}",
                      "links", (json_int_t) st->store.links,
                      "entities", (json_int_t) st->store.entities,
                      "relations", (json_int_t) st->store.relations,
                      "contexts", (json_int_t) st->store.contexts,
                      "sessions", (json_int_t) st->store.sessions,
                      "map_size", (json_int_t) st->store.map_size,
                      "used_bytes", (json_int_t) st->store.used_bytes,
                      "readers", (int) st->store.readers_used,
                      "max_readers", (int) st->store.max_readers);

    if (json_object_set_new(doc, "store", store) != 0) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    requests = json_object();
    tools = json_object();

    if (requests == NULL || tools == NULL
        || json_object_set_new(doc, "requests", requests) != 0
        || json_object_set_new(doc, "tools", tools) != 0)
    {
        json_decref(requests);
        json_decref(tools);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (i = 0; i < NGX_HTTP_MCP_STATUS_ROUTES; i++) {
        route = json_object();
        if (json_object_set_new(requests, ngx_http_mcp_status_routes[i],
                                route) != 0)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        for (j = 0; j < NGX_HTTP_MCP_STATUS_CODES; j++) {
            if (st->requests[i][j] == 0) {
                continue;
            }

            ngx_http_mcp_status_code(j, code);

            if (json_object_set_new(route, code,
                                    json_integer(st->requests[i][j])) != 0)
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
        }
    }

    ntools = ngx_min(st->shm->ntools, NGX_HTTP_MCP_STATUS_TOOLS);

    for (i = 0; i < ntools; i++) {
        tool = json_object();
        if (json_object_set_new(tools, (char *) st->shm->tools[i], tool)
            != 0)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        for (j = 0; j < NGX_HTTP_MCP_STATUS_OUTCOMES; j++) {
            if (json_object_set_new(tool, ngx_http_mcp_status_outcomes[j],
                                    json_integer(st->tools[i][j])) != 0)
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
        }
    }

    /* milliseconds: a whole number, where seconds would print as
     * 0.14199999999999999 */
    if (json_object_set_new(doc, "visits",
                            json_pack("{sI sI}",
                                "pending", (json_int_t) st->visits_pending,
                                "flush_lag_ms", (json_int_t) st->flush_lag))
        != 0)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* writes per batch is writes / batches */
    if (st->grouped
        && json_object_set_new(doc, "commit",
                               json_pack("{sI sI}",
                                   "batches", (json_int_t) st->commit_batches,
                                   "writes", (json_int_t) st->commit_writes))
           != 0)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the lag: operations of the stream this node has not applied yet */
    if (st->clustered
        && json_object_set_new(doc, "cluster",
               json_pack("{ss% sb sI sI sI}",
                   "node", st->cluster.node.data, st->cluster.node.len,
                   "connected", (int) st->cluster.connected,
                   "applied", (json_int_t) st->cluster.applied,
                   "stream_last", (json_int_t) st->cluster.stream_last,
                   "lag", (json_int_t) (st->cluster.stream_last
                                        - st->cluster.applied)))
           != 0)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_mcp_send_json(r, st->degraded
                                     ? NGX_HTTP_SERVICE_UNAVAILABLE
                                     : NGX_HTTP_OK,
                                  doc);
}


/* one metric's # HELP and # TYPE lines */
#define ngx_http_mcp_status_metric(p, end, name, type, help)                 \
    ngx_slprintf(p, end, "# HELP " name " " help "\n# TYPE " name " " type   \
                 "\n")

/* a metric without labels: its # HELP and # TYPE lines, then its value */
#define ngx_http_mcp_status_single(p, end, name, type, help, fmt, ...)        \
    ngx_slprintf(ngx_http_mcp_status_metric(p, end, name, type, help),      \
                 end, name " " fmt "\n", __VA_ARGS__)

#define ngx_http_mcp_status_gauge(p, end, name, help, fmt, ...)               \
    ngx_http_mcp_status_single(p, end, name, "gauge", help, fmt, __VA_ARGS__)


static ngx_int_t
ngx_http_mcp_status_prometheus(ngx_http_request_t *r,
    ngx_http_mcp_status_t *st)
{
    u_char      *p, *end;
    ngx_buf_t   *b;
    ngx_uint_t   i, j, ntools;
    char         code[NGX_INT_T_LEN + 1];

    static ngx_str_t  type =
        ngx_string("text/plain; version=0.0.4; charset=utf-8");

    /* every line at most 128 bytes, tool names included */
    b = ngx_create_temp_buf(r->pool,
                            5120 + 128 * (NGX_HTTP_MCP_STATUS_ROUTES
                                          * NGX_HTTP_MCP_STATUS_CODES
                                          + NGX_HTTP_MCP_STATUS_TOOLS
                                          * NGX_HTTP_MCP_STATUS_OUTCOMES));
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = b->last;
    end = b->end;

    p = ngx_http_mcp_status_gauge(p, end, "mcp_up",
            "Whether the store can be read (1) or the module is degraded "
            "(0).", "%d", st->degraded ? 0 : 1);

    p = ngx_http_mcp_status_metric(p, end, "mcp_info", "gauge",
            "The module's version.");
    p = ngx_slprintf(p, end, "mcp_info{version=\"%s\"} 1\n",
                     NGX_HTTP_MCP_VERSION);

    p = ngx_http_mcp_status_metric(p, end, "mcp_requests_total", "counter",
            "Requests answered by the module's locations, by route and "
            "status.");

    for (i = 0; i < NGX_HTTP_MCP_STATUS_ROUTES; i++) {
        for (j = 0; j < NGX_HTTP_MCP_STATUS_CODES; j++) {
            if (st->requests[i][j] == 0) {
                continue;
            }

            ngx_http_mcp_status_code(j, code);

            p = ngx_slprintf(p, end,
                             "mcp_requests_total{route=\"%s\",status=\"%s\"}"
                             " %uL\n", ngx_http_mcp_status_routes[i], code,
                             st->requests[i][j]);
        }
    }

    p = ngx_http_mcp_status_metric(p, end, "mcp_tool_calls_total", "counter",
            "MCP tool calls, by tool and outcome (ok, tool_error: a result "
            "with isError, rpc_error: a JSON-RPC error).");

    ntools = ngx_min(st->shm->ntools, NGX_HTTP_MCP_STATUS_TOOLS);

    for (i = 0; i < ntools; i++) {
        for (j = 0; j < NGX_HTTP_MCP_STATUS_OUTCOMES; j++) {
            p = ngx_slprintf(p, end,
                             "mcp_tool_calls_total{tool=\"%s\","
                             "outcome=\"%s\"} %uL\n",
                             st->shm->tools[i],
                             ngx_http_mcp_status_outcomes[j],
                             st->tools[i][j]);
        }
    }

    p = ngx_http_mcp_status_gauge(p, end, "mcp_store_links",
            "Link records in the store.", "%uL", st->store.links);

    p = ngx_http_mcp_status_gauge(p, end, "mcp_store_entities",
            "Entities of the knowledge graph, all tenants.",
            "%uL", st->store.entities);

    p = ngx_http_mcp_status_gauge(p, end, "mcp_store_relations",
            "Relations of the knowledge graph, all tenants.",
            "%uL", st->store.relations);

    p = ngx_http_mcp_status_gauge(p, end, "mcp_store_contexts",
            "Conversation contexts, all tenants.", "%uL", st->store.contexts);

    p = ngx_http_mcp_status_gauge(p, end, "mcp_store_sessions",
            "MCP sessions in the store.", "%uL", st->store.sessions);

    p = ngx_http_mcp_status_gauge(p, end, "mcp_store_map_size_bytes",
            "The store's map size.", "%uL", st->store.map_size);

    p = ngx_http_mcp_status_gauge(p, end, "mcp_store_used_bytes",
            "Bytes of the map in use.", "%uL", st->store.used_bytes);

    p = ngx_http_mcp_status_gauge(p, end, "mcp_store_readers",
            "Reader slots in use.", "%ui", (ngx_uint_t) st->store.readers_used);

    p = ngx_http_mcp_status_gauge(p, end, "mcp_store_max_readers",
            "Reader slots of the store.",
            "%ui", (ngx_uint_t) st->store.max_readers);

    p = ngx_http_mcp_status_gauge(p, end, "mcp_visits_pending",
            "Links with visits counted but not yet written to the store.",
            "%uL", st->visits_pending);

    p = ngx_http_mcp_status_gauge(p, end, "mcp_visit_flush_lag_seconds",
            "Age of the oldest visit not yet written to the store.",
            "%ui.%03ui", st->flush_lag / 1000, st->flush_lag % 1000);

    if (st->grouped) {
        p = ngx_http_mcp_status_single(p, end, "mcp_commit_batches_total",
                "counter", "Group commits: transactions, each with one "
                "flush to disk.", "%uL", st->commit_batches);

        p = ngx_http_mcp_status_single(p, end, "mcp_commit_writes_total",
                "counter", "Writes committed by group commits.",
                "%uL", st->commit_writes);
    }

    if (st->clustered) {
        p = ngx_http_mcp_status_metric(p, end, "mcp_cluster_connected",
                "gauge", "Whether the node is connected to NATS and takes "
                "writes (1) or not (0).");
        p = ngx_slprintf(p, end, "mcp_cluster_connected{node=\"%V\"} %ui\n",
                         &st->cluster.node, st->cluster.connected);

        p = ngx_http_mcp_status_metric(p, end,
                "mcp_cluster_applied_sequence", "gauge",
                "The last operation of the stream the node's store applied.");
        p = ngx_slprintf(p, end,
                         "mcp_cluster_applied_sequence{node=\"%V\"} %uL\n",
                         &st->cluster.node, st->cluster.applied);

        p = ngx_http_mcp_status_metric(p, end, "mcp_cluster_lag_operations",
                "gauge", "Operations of the stream the node has not applied "
                "yet.");
        p = ngx_slprintf(p, end,
                         "mcp_cluster_lag_operations{node=\"%V\"} %uL\n",
                         &st->cluster.node,
                         st->cluster.stream_last - st->cluster.applied);
    }

    b->last = p;

    return ngx_http_mcp_send(r, st->degraded ? NGX_HTTP_SERVICE_UNAVAILABLE
                                             : NGX_HTTP_OK,
                             &type, b);
}
