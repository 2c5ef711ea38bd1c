
/*
 * ngx_mcp: visits counted per worker, written to the store in batches.
 *
 * A redirect counts its visit in this worker's table of codes (open
 * addressing, no allocation, no store call).  Every
 * mcp_visit_flush_interval, or once the table is three quarters full, the
 * flush takes the whole table and a second one counts the visits that
 * come meanwhile.  A slot is a code, a referring host and a UTC day, so
 * that the statistics per day and referrer are exact.  What the flush
 * writes is one batch of those deltas (mcp_store_visit_t: a count, the
 * last visit, people, bots, the referrer), in one call,
 * ngx_http_mcp_visits_write():
 *
 *   - alone, to the store, in nginx's thread pool on a handle of its own
 *     (mcp_store_share()), so that the event loop neither writes the
 *     batch nor waits for LMDB's writer lock; without threads, on the
 *     event loop;
 *   - in a cluster, to the log (ngx_http_mcp_cluster_visits(), which
 *     does not block), from which every node applies it.
 *
 * The store keeps the counters in a database of their own, apart from
 * the link records: a batch of a second's visits rewrites few pages.
 */


#include "ngx_http_mcp_module.h"
#include "ngx_http_mcp_cluster.h"


#define NGX_HTTP_MCP_VISIT_SLOTS      16384
#define NGX_HTTP_MCP_VISIT_HIGH       12288  /* flush early above this */


/* One worker's table of visits not yet written to the store. */
typedef struct {
    u_char                     code[MCP_STORE_CODE_MAX];
    size_t                     len;
    uint64_t                   count;
    int64_t                    last_visit;
    uint64_t                   people;
    uint64_t                   bots;
    size_t                     referrer_len;
    u_char                     referrer[MCP_STORE_REFERRER_MAX];
} ngx_http_mcp_visit_slot_t;


typedef struct {
    ngx_http_mcp_visit_slot_t *slots;
    ngx_uint_t                 n;             /* codes in it */
} ngx_http_mcp_visit_table_t;


struct ngx_http_mcp_visits_s {
    ngx_http_mcp_visit_table_t   table[2];
    ngx_uint_t                   active;      /* the table counting */

    /* the flush: the other table's codes, and what writing them gave */
    mcp_store_visit_t           *batch;
    size_t                       nbatch;
    int                          rc;
    ngx_http_mcp_main_conf_t    *mmcf;
#if (NGX_THREADS)
    mcp_store_t                 *store;       /* the thread's handle */
    ngx_thread_task_t           *task;
    ngx_uint_t                   busy;        /* the task is in flight */
#endif
};


static ngx_int_t ngx_http_mcp_visits_batch(ngx_http_mcp_visits_t *vs);
static void ngx_http_mcp_visits_write(ngx_http_mcp_visits_t *vs,
    mcp_store_t *store);
static void ngx_http_mcp_visits_done(ngx_http_mcp_visits_t *vs);
#if (NGX_THREADS)
static void ngx_http_mcp_visits_thread(void *data, ngx_log_t *log);
static void ngx_http_mcp_visits_thread_done(ngx_event_t *ev);
#endif


/* no referrer, with data all the same: memcpy() and memcmp() take it */
static ngx_str_t  ngx_http_mcp_no_referrer = ngx_string("");


ngx_int_t
ngx_http_mcp_visits_init(ngx_cycle_t *cycle, ngx_http_mcp_main_conf_t *mmcf)
{
    ngx_uint_t              i;
    ngx_http_mcp_visits_t  *vs;

    vs = ngx_pcalloc(cycle->pool, sizeof(ngx_http_mcp_visits_t));
    if (vs == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < 2; i++) {
        vs->table[i].slots = ngx_pcalloc(cycle->pool,
                                         NGX_HTTP_MCP_VISIT_SLOTS
                                         * sizeof(ngx_http_mcp_visit_slot_t));
        if (vs->table[i].slots == NULL) {
            return NGX_ERROR;
        }
    }

    vs->batch = ngx_palloc(cycle->pool, NGX_HTTP_MCP_VISIT_SLOTS
                                        * sizeof(mcp_store_visit_t));
    if (vs->batch == NULL) {
        return NGX_ERROR;
    }

    vs->mmcf = mmcf;
    mmcf->visits = vs;

#if (NGX_THREADS)
    if (mmcf->thread_pool == NULL) {
        return NGX_OK;
    }

    vs->task = ngx_thread_task_alloc(cycle->pool,
                                     sizeof(ngx_http_mcp_visits_t *));
    if (vs->task == NULL) {
        return NGX_ERROR;
    }

    if (mcp_store_share(mmcf->store, &vs->store) != MCP_STORE_OK) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "mcp_store \"%V\": no handle for the visit flush",
                      &mmcf->path);
        return NGX_ERROR;
    }

    *(ngx_http_mcp_visits_t **) vs->task->ctx = vs;
    vs->task->handler = ngx_http_mcp_visits_thread;
    vs->task->event.handler = ngx_http_mcp_visits_thread_done;
    vs->task->event.data = vs;
#endif

    return NGX_OK;
}


/*
 * At a worker's exit the thread pool has stopped already (its threads ran
 * every task posted: a flush in flight has written its batch), and the
 * table counting now is written on the event loop.
 */

void
ngx_http_mcp_visits_exit(ngx_http_mcp_main_conf_t *mmcf)
{
    ngx_http_mcp_visits_t  *vs;

    vs = mmcf->visits;
    if (vs == NULL) {
        return;
    }

#if (NGX_THREADS)
    vs->busy = 0;
#endif

    ngx_http_mcp_visits_flush(mmcf, 1);

#if (NGX_THREADS)
    mcp_store_close(vs->store);
    vs->store = NULL;
#endif

    mmcf->visits = NULL;
}


/*
 * A visit of kind (NGX_HTTP_MCP_VISIT_*) from referrer (a lower-case
 * host, empty or NULL for none) into this worker's table: one slot a
 * code, referrer and UTC day.
 */

void
ngx_http_mcp_count_visit(ngx_http_mcp_main_conf_t *mmcf, ngx_str_t *code,
    ngx_str_t *referrer, ngx_uint_t kind, int64_t now)
{
    uint32_t                     hash;
    ngx_uint_t                   i, n;
    ngx_http_mcp_visit_slot_t   *slot;
    ngx_http_mcp_visit_table_t  *t;

    t = &mmcf->visits->table[mmcf->visits->active];

    /* bots are counted apart from any day or referrer: one slot */

    if (kind == NGX_HTTP_MCP_VISIT_BOT || referrer == NULL
        || referrer->len == 0)
    {
        referrer = &ngx_http_mcp_no_referrer;
    }

    hash = ngx_murmur_hash2(code->data, code->len)
           ^ ngx_murmur_hash2(referrer->data, referrer->len);

    i = hash % NGX_HTTP_MCP_VISIT_SLOTS;

    for (n = 0; n < NGX_HTTP_MCP_VISIT_SLOTS; n++) {
        slot = &t->slots[i];

        if (slot->len == 0) {
            ngx_memcpy(slot->code, code->data, code->len);
            slot->len = code->len;
            ngx_memcpy(slot->referrer, referrer->data, referrer->len);
            slot->referrer_len = referrer->len;
            slot->count = 0;
            slot->people = 0;
            slot->bots = 0;
            t->n++;
            ngx_http_mcp_status_batch(mmcf, t->n);
            break;
        }

        if (slot->len == code->len
            && slot->referrer_len == referrer->len
            && slot->last_visit / 86400 == now / 86400
            && ngx_memcmp(slot->code, code->data, code->len) == 0
            && ngx_memcmp(slot->referrer, referrer->data, referrer->len) == 0)
        {
            break;
        }

        i = (i + 1) % NGX_HTTP_MCP_VISIT_SLOTS;
    }

    if (n < NGX_HTTP_MCP_VISIT_SLOTS) {
        slot->last_visit = now;

        switch (kind) {

        case NGX_HTTP_MCP_VISIT_PERSON:
            slot->count++;
            slot->people++;
            break;

        case NGX_HTTP_MCP_VISIT_CONSUMED:
            slot->people++;
            break;

        default: /* NGX_HTTP_MCP_VISIT_BOT */
            slot->bots++;
            break;
        }
    }

    if (t->n >= NGX_HTTP_MCP_VISIT_HIGH) {
        ngx_http_mcp_visits_flush(mmcf, 0);
    }
}


/*
 * Hands the table counting now to a flush.  While a flush is in the
 * thread pool the table goes on counting (it is written at the next
 * flush); "now" writes it on the event loop whatever else runs.
 */

void
ngx_http_mcp_visits_flush(ngx_http_mcp_main_conf_t *mmcf, ngx_uint_t now)
{
    ngx_http_mcp_visits_t  *vs;

    vs = mmcf->visits;

#if (NGX_THREADS)
    if (vs->busy) {
        return;
    }
#endif

    if (ngx_http_mcp_visits_batch(vs) != NGX_OK) {
        return;
    }

#if (NGX_THREADS)
    if (!now && vs->store != NULL) {
        if (ngx_thread_task_post(vs->mmcf->thread_pool, vs->task) == NGX_OK) {
            vs->busy = 1;
            mcp_store_share_busy(mmcf->store, 1);
            return;
        }
    }
#endif

    ngx_http_mcp_visits_write(vs, mmcf->store);
    ngx_http_mcp_visits_done(vs);
}


/*
 * The batch of the table counting now, which the other (empty) table
 * replaces: NGX_OK for the store to write, NGX_DECLINED if there is
 * nothing to write, NGX_DONE if the cluster has taken it (or cannot now:
 * the table then goes on counting, for the next flush).
 */

static ngx_int_t
ngx_http_mcp_visits_batch(ngx_http_mcp_visits_t *vs)
{
    size_t                       n;
    ngx_int_t                    rc;
    ngx_uint_t                   i;
    ngx_http_mcp_visit_slot_t   *slot;
    ngx_http_mcp_visit_table_t  *t;

    t = &vs->table[vs->active];

    if (t->n == 0) {
        return NGX_DECLINED;
    }

    n = 0;

    for (i = 0; i < NGX_HTTP_MCP_VISIT_SLOTS; i++) {
        slot = &t->slots[i];

        if (slot->len) {
            vs->batch[n].code = (char *) slot->code;
            vs->batch[n].code_len = slot->len;
            vs->batch[n].count = slot->count;
            vs->batch[n].last_visit = slot->last_visit;
            vs->batch[n].people = slot->people;
            vs->batch[n].bots = slot->bots;
            vs->batch[n].referrer = (char *) slot->referrer;
            vs->batch[n].referrer_len = slot->referrer_len;
            n++;
        }
    }

    vs->nbatch = n;
    vs->rc = MCP_STORE_OK;

    /* in a cluster the counts travel through the log to every node */

    rc = ngx_http_mcp_cluster_visits((ngx_cycle_t *) ngx_cycle, vs->batch, n);

    if (rc == NGX_AGAIN) {
        /* the cluster cannot take them now: keep counting, send later */
        return NGX_DONE;
    }

    vs->active ^= 1;
    ngx_http_mcp_status_batch(vs->mmcf, 0);

    if (rc == NGX_DECLINED) {
        return NGX_OK;
    }

    if (rc != NGX_OK) {
        vs->rc = MCP_STORE_ENOMEM;
    }

    ngx_http_mcp_visits_done(vs);

    return NGX_DONE;
}


/* The one place the visit deltas of a flush are written to the store. */

static void
ngx_http_mcp_visits_write(ngx_http_mcp_visits_t *vs, mcp_store_t *store)
{
    vs->rc = mcp_store_link_add_visits(store, vs->batch, vs->nbatch);
}


/*
 * After the flush, on the event loop: the table it wrote is empty again.
 * Only the slots it used are cleared, each found from its code in the
 * batch: a table is megabytes, a second's batch may be a few codes.
 */

static void
ngx_http_mcp_visits_done(ngx_http_mcp_visits_t *vs)
{
    size_t                       i;
    ngx_http_mcp_visit_slot_t   *slot;
    ngx_http_mcp_visit_table_t  *t;

    if (vs->rc != MCP_STORE_OK) {
        /* counters are statistics: losing one batch beats blocking */
        ngx_log_error(NGX_LOG_ERR, vs->mmcf->log, 0,
                      "mcp_store \"%V\": %uz visit counters not saved: %s",
                      &vs->mmcf->path, vs->nbatch, mcp_store_strerror(vs->rc));
    }

    for (i = 0; i < vs->nbatch; i++) {
        slot = (ngx_http_mcp_visit_slot_t *)
                   ((u_char *) vs->batch[i].code
                    - offsetof(ngx_http_mcp_visit_slot_t, code));
        slot->len = 0;
    }

    t = &vs->table[vs->active ^ 1];
    t->n = 0;
}


#if (NGX_THREADS)

static void
ngx_http_mcp_visits_thread(void *data, ngx_log_t *log)
{
    ngx_http_mcp_visits_t  *vs = *(ngx_http_mcp_visits_t **) data;

    ngx_http_mcp_visits_write(vs, vs->store);
}


static void
ngx_http_mcp_visits_thread_done(ngx_event_t *ev)
{
    ngx_http_mcp_visits_t  *vs = ev->data;

    vs->busy = 0;
    mcp_store_share_busy(vs->mmcf->store, 0);

    ngx_http_mcp_visits_done(vs);
}

#endif
