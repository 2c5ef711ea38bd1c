
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
 * writes arrive at once, the more share a flush.  The outcomes stay in
 * the thread's handle, where the commit left them, until they are told;
 * the requests of a batch that failed as a whole, or that the pool
 * refused, are the caller's to answer, as it answers those of a batch
 * NATS refused.
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

struct ngx_http_mcp_commit_s {
    ngx_http_mcp_main_conf_t    *mmcf;
    mcp_store_t                 *store;       /* the thread's handle */
    ngx_thread_task_t           *task;
    ngx_uint_t                   busy;        /* a batch is in the pool */
    ngx_atomic_t                 finished;    /* its handler returned */

    mcp_store_op_cb              applied;
    ngx_http_mcp_commit_done_pt  done;
    void                        *data;

    /* the batch in the pool: its operations (in a buffer of ops_size,
     * kept once told, for the caller's next), and what the commit
     * returned; each operation's outcome is in the thread's store handle
     * (mcp_store_op_committed()), not here */
    ngx_str_t                    ops;
    size_t                       ops_size;
    ngx_uint_t                   nops;
    int                          rc;
};


static void ngx_http_mcp_commit_thread(void *data, ngx_log_t *log);
static void ngx_http_mcp_commit_done(ngx_event_t *ev);


ngx_http_mcp_commit_t *
ngx_http_mcp_commit_init(ngx_cycle_t *cycle, mcp_store_op_cb applied,
    ngx_http_mcp_commit_done_pt done, void *data)
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
    gc->done = done;
    gc->data = data;

    *(ngx_http_mcp_commit_t **) gc->task->ctx = gc;
    gc->task->handler = ngx_http_mcp_commit_thread;
    gc->task->event.handler = ngx_http_mcp_commit_done;
    gc->task->event.data = gc;

    return gc;
}


/*
 * At a worker's exit, before the store closes: a batch in flight is
 * waited for (see ngx_http_mcp_thread_wait()) and committed, its requests
 * are not answered any more.
 */

void
ngx_http_mcp_commit_exit(ngx_http_mcp_commit_t *gc)
{
    if (gc->busy) {
        ngx_http_mcp_thread_wait(&gc->finished);
    }

    ngx_free(gc->ops.data);
    gc->ops.data = NULL;

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

    /* the task's before it is posted: a thread may run it at once */

    gc->ops = *ops;
    gc->ops_size = *size;
    gc->nops = n;
    gc->rc = MCP_STORE_OK;
    gc->finished = 0;

    if (ngx_thread_task_post(gc->mmcf->thread_pool, gc->task) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, gc->mmcf->log, 0,
                      "mcp_store \"%V\": a group commit of %ui writes "
                      "could not be handed to the thread pool",
                      &gc->mmcf->path, n);

        /* the batch stays the caller's, who answers its requests */

        gc->ops.data = told;
        gc->ops.len = 0;
        gc->ops_size = told_size;

        return NGX_ERROR;
    }

    ops->data = told;
    ops->len = 0;
    *size = told_size;

    gc->busy = 1;
    mcp_store_share_busy(gc->mmcf->store, 1);

    return NGX_OK;
}


/* in the thread pool: the batch's one transaction and its flush */

static void
ngx_http_mcp_commit_thread(void *data, ngx_log_t *log)
{
    ngx_http_mcp_commit_t  *gc = *(ngx_http_mcp_commit_t **) data;

    gc->rc = mcp_store_op_commit(gc->store, gc->ops.data, gc->ops.len);
    ngx_http_mcp_thread_finish(&gc->finished);
}


/*
 * On the event loop: the batch is on disk, or failed (all or some).  Its
 * requests are told from the outcomes the commit left in the thread's
 * handle; those it cannot tell (none kept: a failed commit) are the
 * caller's to answer, as it answers a batch the pool refused.
 */

static void
ngx_http_mcp_commit_done(ngx_event_t *ev)
{
    ngx_http_mcp_commit_t  *gc = ev->data;

    ngx_uint_t  told;

    mcp_store_share_busy(gc->mmcf->store, 0);

    if (gc->rc != MCP_STORE_OK) {
        ngx_log_error(NGX_LOG_ERR, gc->mmcf->log, 0,
                      "mcp_store \"%V\": a group commit of %ui writes "
                      "failed: %s", &gc->mmcf->path, gc->nops,
                      mcp_store_strerror(gc->rc));
        told = 0;

    } else {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, gc->mmcf->log, 0,
                       "mcp group commit: %ui writes in one transaction",
                       gc->nops);

        ngx_http_mcp_status_commit(gc->mmcf, gc->nops);

        told = mcp_store_op_committed(gc->store, gc->applied, gc->data);
    }

    /* busy until every request is answered, the failed ones too: those
     * answered may write again, and their writes wait for the next batch,
     * which done() sends once busy is cleared; the batch's operations,
     * which the failed answers are read from, stay as they are */

    if (told != gc->nops) {
        gc->done(gc->data, &gc->ops,
                 (gc->rc != MCP_STORE_OK) ? gc->rc : MCP_STORE_EIO);
    }

    gc->busy = 0;

    gc->done(gc->data, NULL, MCP_STORE_OK);
}

#else

ngx_http_mcp_commit_t *
ngx_http_mcp_commit_init(ngx_cycle_t *cycle, mcp_store_op_cb applied,
    ngx_http_mcp_commit_done_pt done, void *data)
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
