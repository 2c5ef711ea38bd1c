
/*
 * ngx_mcp: group commit for "mcp_store ... durability=sync" on a single
 * node.
 *
 * With durability=sync every commit waits for the disk.  One flush per
 * write, on the event loop, would make a worker as fast as its disk's
 * flushes and stop everything else meanwhile.  Instead the writes of a
 * worker go through operations (store/mcp_store_op.h), as in a cluster
 * (ngx_http_mcp_cluster.c, which queues them and hands each waiting
 * request its outcome): the operations taken while the event loop runs
 * are one batch, and a task in nginx's thread pool applies the whole
 * batch in one write transaction, each operation nested in it so that
 * one failing leaves the others, and commits it with its flush
 * (mcp_store_op_commit()).  Back on the event loop each request is
 * answered from its operation's outcome: never before the commit that
 * holds its write returned.  Writes taken while a batch commits wait for
 * the next one, which starts as soon as that commit returns: the more
 * writes arrive at once, the more share a flush.
 *
 * LMDB wants a write transaction begun and committed on one thread, and
 * the worker's store handle keeps its read transaction for the event
 * loop: the task writes through a handle of its own (mcp_store_share()),
 * as the visit counters' flush does (ngx_http_mcp_visits.c).
 */


#include "ngx_http_mcp_cluster.h"


ngx_uint_t
ngx_http_mcp_commit_wanted(ngx_http_mcp_main_conf_t *mmcf)
{
#if (NGX_THREADS)
    return mmcf != NULL && mmcf->store != NULL
           && mmcf->durability == NGX_HTTP_MCP_DURABILITY_SYNC
           && mmcf->group_commit && mmcf->thread_pool != NULL;
#else
    return 0;
#endif
}


#if (NGX_THREADS)

/* one outcome of a committed batch, with where its detail starts, and
 * the operation as the commit decoded it (its strings point into the
 * batch's buffer, kept until its requests are told): told without
 * decoding it again */
typedef struct {
    mcp_store_op_t               op;
    int                          outcome;
    size_t                       at;
} ngx_http_mcp_commit_outcome_t;


struct ngx_http_mcp_commit_s {
    ngx_http_mcp_main_conf_t    *mmcf;
    mcp_store_t                 *store;       /* the thread's handle */
    ngx_thread_task_t           *task;
    ngx_uint_t                   busy;        /* a batch is in the pool */

    mcp_store_op_cb              applied;
    ngx_http_mcp_commit_idle_pt  idle;
    void                        *data;

    /* the batch in the pool: its operations (in a buffer of ops_size,
     * kept once told, for the caller's next), and, from the thread, what
     * the commit gave each (outcomes, details one after another) */
    ngx_str_t                    ops;
    size_t                       ops_size;
    ngx_uint_t                   nops;
    int                          rc;
    ngx_http_mcp_commit_outcome_t  *outcome;
    ngx_uint_t                   noutcome;
    ngx_uint_t                   outcome_size;
    uint64_t                    *detail;
    size_t                       ndetail;
};


static void ngx_http_mcp_commit_thread(void *data, ngx_log_t *log);
static void ngx_http_mcp_commit_outcome(void *data, const mcp_store_op_t *op,
    int outcome, const uint64_t *detail, size_t ndetail);
static void ngx_http_mcp_commit_done(ngx_event_t *ev);
static void ngx_http_mcp_commit_report(ngx_http_mcp_commit_t *gc);


ngx_http_mcp_commit_t *
ngx_http_mcp_commit_init(ngx_cycle_t *cycle, mcp_store_op_cb applied,
    ngx_http_mcp_commit_idle_pt idle, void *data)
{
    ngx_http_mcp_commit_t     *gc;
    ngx_http_mcp_main_conf_t  *mmcf;

    mmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_mcp_module);

    if (!ngx_http_mcp_commit_wanted(mmcf)) {
        return NULL;
    }

    gc = ngx_pcalloc(cycle->pool, sizeof(ngx_http_mcp_commit_t));
    if (gc == NULL) {
        return NGX_HTTP_MCP_COMMIT_ERROR;
    }

    gc->task = ngx_thread_task_alloc(cycle->pool,
                                     sizeof(ngx_http_mcp_commit_t *));
    if (gc->task == NULL) {
        return NGX_HTTP_MCP_COMMIT_ERROR;
    }

    if (mcp_store_share(mmcf->store, &gc->store) != MCP_STORE_OK) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "mcp_store \"%V\": no handle for the group commit",
                      &mmcf->path);
        return NGX_HTTP_MCP_COMMIT_ERROR;
    }

    gc->mmcf = mmcf;
    gc->applied = applied;
    gc->idle = idle;
    gc->data = data;

    *(ngx_http_mcp_commit_t **) gc->task->ctx = gc;
    gc->task->handler = ngx_http_mcp_commit_thread;
    gc->task->event.handler = ngx_http_mcp_commit_done;
    gc->task->event.data = gc;

    return gc;
}


/*
 * At a worker's exit the thread pool has stopped (a batch in flight is
 * committed, its requests are not answered any more).
 */

void
ngx_http_mcp_commit_exit(ngx_http_mcp_commit_t *gc)
{
    ngx_free(gc->ops.data);
    ngx_free(gc->outcome);
    ngx_free(gc->detail);

    gc->ops.data = NULL;
    gc->outcome = NULL;
    gc->detail = NULL;

    mcp_store_close(gc->store);
    gc->store = NULL;
}


ngx_int_t
ngx_http_mcp_commit_send(ngx_http_mcp_commit_t *gc, ngx_str_t *ops,
    size_t *size, ngx_uint_t n)
{
    u_char  *told;
    size_t   told_size;

    if (gc->busy) {
        return NGX_AGAIN;
    }

    /* the caller encodes its next operations into the buffer of the
     * batch told last: no allocation per batch */

    told = gc->ops.data;
    told_size = gc->ops_size;

    gc->ops = *ops;
    gc->ops_size = *size;
    gc->nops = n;
    gc->noutcome = 0;
    gc->ndetail = 0;
    gc->rc = MCP_STORE_OK;

    ops->data = told;
    ops->len = 0;
    *size = told_size;

    if (n > gc->outcome_size) {
        /* room for the outcomes of this batch, and of larger ones */
        ngx_free(gc->outcome);

        gc->outcome = ngx_alloc(2 * n * sizeof(ngx_http_mcp_commit_outcome_t),
                                gc->mmcf->log);
        if (gc->outcome == NULL) {
            gc->outcome_size = 0;
            gc->rc = MCP_STORE_ENOMEM;
            goto failed;
        }

        gc->outcome_size = 2 * n;
    }

    if (ngx_thread_task_post(gc->mmcf->thread_pool, gc->task) != NGX_OK) {
        gc->rc = MCP_STORE_EIO;
        goto failed;
    }

    gc->busy = 1;
    mcp_store_share_busy(gc->mmcf->store, 1);

    return NGX_OK;

failed:

    /* told as a commit that failed, once the caller has returned: the
     * requests told may write again */

    ngx_post_event(&gc->task->event, &ngx_posted_events);
    gc->busy = 1;
    mcp_store_share_busy(gc->mmcf->store, 1);

    return NGX_OK;
}


/* in the thread pool: the batch's one transaction and its flush */

static void
ngx_http_mcp_commit_thread(void *data, ngx_log_t *log)
{
    ngx_http_mcp_commit_t  *gc = *(ngx_http_mcp_commit_t **) data;

    gc->rc = mcp_store_op_commit(gc->store, gc->ops.data, gc->ops.len,
                                 ngx_http_mcp_commit_outcome, gc);
}


/* in the thread pool: what the commit gave one operation, kept */

static void
ngx_http_mcp_commit_outcome(void *data, const mcp_store_op_t *op,
    int outcome, const uint64_t *detail, size_t ndetail)
{
    ngx_http_mcp_commit_t *gc = data;

    uint64_t  *p;

    if (gc->noutcome == gc->outcome_size) {
        return;
    }

    gc->outcome[gc->noutcome].op = *op;
    gc->outcome[gc->noutcome].outcome = outcome;
    gc->outcome[gc->noutcome].at = gc->ndetail;

    if (ndetail != 0) {
        /* malloc(), not a pool: this runs on a thread of the pool */

        p = realloc(gc->detail, (gc->ndetail + ndetail) * sizeof(uint64_t));

        if (p == NULL) {
            /* written, but what it did cannot be told */
            gc->outcome[gc->noutcome].outcome = MCP_STORE_ENOMEM;

        } else {
            ngx_memcpy(p + gc->ndetail, detail, ndetail * sizeof(uint64_t));
            gc->detail = p;
            gc->ndetail += ndetail;
        }
    }

    gc->noutcome++;
}


/* on the event loop: the batch is on disk, or failed (all or some) */

static void
ngx_http_mcp_commit_done(ngx_event_t *ev)
{
    ngx_http_mcp_commit_t  *gc = ev->data;

    mcp_store_share_busy(gc->mmcf->store, 0);

    ngx_http_mcp_commit_report(gc);
}


static void
ngx_http_mcp_commit_report(ngx_http_mcp_commit_t *gc)
{
    int              outcome;
    size_t           pos, used, at, end;
    ngx_uint_t       i;
    mcp_store_op_t   op;

    if (gc->rc != MCP_STORE_OK) {
        ngx_log_error(NGX_LOG_ERR, gc->mmcf->log, 0,
                      "mcp_store \"%V\": a group commit of %ui writes "
                      "failed: %s", &gc->mmcf->path, gc->nops,
                      mcp_store_strerror(gc->rc));

    } else {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, gc->mmcf->log, 0,
                       "mcp group commit: %ui writes in one transaction",
                       gc->nops);

        ngx_http_mcp_status_commit(gc->mmcf, gc->nops);
    }

    for (i = 0; i < gc->noutcome; i++) {
        end = (i + 1 < gc->noutcome) ? gc->outcome[i + 1].at : gc->ndetail;
        at = gc->outcome[i].at;

        gc->applied(gc->data, &gc->outcome[i].op, gc->outcome[i].outcome,
                    (end != at) ? gc->detail + at : NULL, end - at);
    }

    if (gc->noutcome == gc->nops) {
        goto told;
    }

    /* the operations never committed (nothing is kept of a failed
     * batch), decoded here */

    outcome = (gc->rc != MCP_STORE_OK) ? gc->rc : MCP_STORE_EIO;

    for (pos = 0, i = 0;
         pos < gc->ops.len
         && mcp_store_op_decode(gc->ops.data + pos, gc->ops.len - pos, &op,
                                &used) == MCP_STORE_OK;
         pos += used, i++)
    {
        if (i >= gc->noutcome) {
            gc->applied(gc->data, &op, outcome, NULL, 0);
        }
    }

told:

    /* the buffer is kept for the caller's next batch */
    gc->ops.len = 0;

    /* busy until now: the requests told above may write again, and
     * their writes wait for the next batch, which is this one: */

    gc->busy = 0;

    gc->idle(gc->data);
}

#else

ngx_http_mcp_commit_t *
ngx_http_mcp_commit_init(ngx_cycle_t *cycle, mcp_store_op_cb applied,
    ngx_http_mcp_commit_idle_pt idle, void *data)
{
    return NULL;
}


void
ngx_http_mcp_commit_exit(ngx_http_mcp_commit_t *gc)
{
}


ngx_int_t
ngx_http_mcp_commit_send(ngx_http_mcp_commit_t *gc, ngx_str_t *ops,
    size_t *size, ngx_uint_t n)
{
    return NGX_ERROR;
}

#endif
