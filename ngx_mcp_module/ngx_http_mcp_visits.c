
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
 *
 * A flush that fails (a full map or disk, a map another process grew
 * while a thread of the pool held its handle) keeps its counters: they
 * join the table counting now and go with the next flush.  On a full
 * map only those that need room the store has not are kept: the
 * counters that exist are written all the same.
 * While the table holds NGX_HTTP_MCP_VISIT_KEEP codes, the oldest of the
 * failed ones (by their last visit) are dropped instead, and an error
 * line says how many visits: the first drop of a streak at once, those
 * after it in one line when the streak ends (or the worker exits).  A
 * streak of failed flushes is logged once when it starts and once when
 * it ends.  The visits said dropped or lost are those the links' counters
 * miss: not the visits of a link with max_visits, counted at once.
 */


#include "ngx_http_mcp_module.h"
#include "ngx_http_mcp_cluster.h"


#define NGX_HTTP_MCP_VISIT_SLOTS      16384
#define NGX_HTTP_MCP_VISIT_HIGH       12288  /* flush early above this */
#define NGX_HTTP_MCP_VISIT_KEEP       8192   /* codes a failed flush may
                                                leave counting: below
                                                HIGH, so that it does not
                                                flush again at once */


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
    size_t                       nleft;       /* not written: the first */
    int                          rc;
    ngx_uint_t                   failed;      /* flushes failed in a row */
    ngx_uint_t                   drop_told;   /* the streak's first drop
                                                 is logged, the others: */
    size_t                       dropped;
    uint64_t                     dropped_visits;
    ngx_uint_t                   exiting;     /* the last flush */
    ngx_http_mcp_main_conf_t    *mmcf;
#if (NGX_THREADS)
    mcp_store_t                 *store;       /* the thread's handle */
    ngx_thread_task_t           *task;
    ngx_uint_t                   busy;        /* the task is in flight */
    ngx_atomic_t                 finished;    /* its handler returned */
#endif
};


static ngx_http_mcp_visit_slot_t *ngx_http_mcp_visits_slot(
    ngx_http_mcp_visit_table_t *t, ngx_str_t *code, ngx_str_t *referrer,
    int64_t time, ngx_uint_t add);
static ngx_int_t ngx_http_mcp_visits_batch(ngx_http_mcp_visits_t *vs);
static void ngx_http_mcp_visits_write(ngx_http_mcp_visits_t *vs,
    mcp_store_t *store);
static void ngx_http_mcp_visits_done(ngx_http_mcp_visits_t *vs);
static void ngx_http_mcp_visits_keep(ngx_http_mcp_visits_t *vs);
static void ngx_http_mcp_visits_lost(ngx_http_mcp_visits_t *vs,
    const char *why);
static void ngx_http_mcp_visits_dropped(ngx_http_mcp_visits_t *vs,
    size_t counters, uint64_t visits);
static int ngx_libc_cdecl ngx_http_mcp_visits_newer(const void *one,
    const void *two);
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
 * At a worker's exit a flush in flight is waited for (the thread pool has
 * stopped, or given up on a thread still writing: see
 * ngx_http_mcp_thread_wait()), and the table counting now is written on
 * the event loop.
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
    if (vs->busy) {
        /* the flush in flight has run, its end on the event loop not:
         * what it failed to write goes with the last flush */
        ngx_http_mcp_thread_wait(&vs->finished);
        ngx_http_mcp_visits_thread_done(&vs->task->event);
    }
#endif

    vs->exiting = 1;

    ngx_http_mcp_visits_flush(mmcf, 1);

    /* the drops of a streak the exit ends */
    ngx_http_mcp_visits_dropped(vs, 0, 0);

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
    ngx_uint_t                   n;
    ngx_http_mcp_visit_slot_t   *slot;
    ngx_http_mcp_visit_table_t  *t;

    t = &mmcf->visits->table[mmcf->visits->active];

    /* bots are counted apart from any day or referrer: one slot */

    if (kind == NGX_HTTP_MCP_VISIT_BOT || referrer == NULL
        || referrer->len == 0)
    {
        referrer = &ngx_http_mcp_no_referrer;
    }

    n = t->n;

    slot = ngx_http_mcp_visits_slot(t, code, referrer, now, 1);

    if (t->n != n) {
        ngx_http_mcp_status_batch(mmcf, t->n);
    }

    if (slot != NULL) {
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
 * The slot of t that counts code's visits from referrer on the UTC day
 * of time; if none does, with add, a new one (and NULL when t is full),
 * without, NULL.
 */

static ngx_http_mcp_visit_slot_t *
ngx_http_mcp_visits_slot(ngx_http_mcp_visit_table_t *t, ngx_str_t *code,
    ngx_str_t *referrer, int64_t time, ngx_uint_t add)
{
    uint32_t                    hash;
    ngx_uint_t                  i, n;
    ngx_http_mcp_visit_slot_t  *slot;

    hash = ngx_murmur_hash2(code->data, code->len)
           ^ ngx_murmur_hash2(referrer->data, referrer->len);

    i = hash % NGX_HTTP_MCP_VISIT_SLOTS;

    for (n = 0; n < NGX_HTTP_MCP_VISIT_SLOTS; n++) {
        slot = &t->slots[i];

        if (slot->len == 0) {
            if (!add) {
                return NULL;
            }

            ngx_memcpy(slot->code, code->data, code->len);
            slot->len = code->len;
            ngx_memcpy(slot->referrer, referrer->data, referrer->len);
            slot->referrer_len = referrer->len;
            slot->count = 0;
            slot->last_visit = time;
            slot->people = 0;
            slot->bots = 0;
            t->n++;
            return slot;
        }

        if (slot->len == code->len
            && slot->referrer_len == referrer->len
            && slot->last_visit / 86400 == time / 86400
            && ngx_memcmp(slot->code, code->data, code->len) == 0
            && ngx_memcmp(slot->referrer, referrer->data, referrer->len) == 0)
        {
            return slot;
        }

        i = (i + 1) % NGX_HTTP_MCP_VISIT_SLOTS;
    }

    return NULL;
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
        vs->finished = 0;

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
    vs->nleft = 0;
    vs->rc = MCP_STORE_OK;

    /* in a cluster the counts travel through the log to every node */

    rc = ngx_http_mcp_cluster_visits((ngx_cycle_t *) ngx_cycle, vs->batch, n);

    if (rc == NGX_AGAIN) {
        /* the cluster cannot take them now: keep counting, send later
         * (there is no later at exit) */

        if (vs->exiting) {
            vs->nleft = n;
            ngx_http_mcp_visits_lost(vs, "the cluster cannot take them");
        }

        return NGX_DONE;
    }

    vs->active ^= 1;
    ngx_http_mcp_status_batch(vs->mmcf, 0);

    if (rc == NGX_DECLINED) {
        return NGX_OK;
    }

    if (rc != NGX_OK) {
        vs->rc = MCP_STORE_ENOMEM;
        vs->nleft = n;
    }

    ngx_http_mcp_visits_done(vs);

    return NGX_DONE;
}


/*
 * The one place the visit deltas of a flush are written to the store: on
 * a full store, those it has room for (mcp_store_link_add_visits_left()),
 * the others first in the batch.
 */

static void
ngx_http_mcp_visits_write(ngx_http_mcp_visits_t *vs, mcp_store_t *store)
{
    vs->rc = mcp_store_link_add_visits_left(store, vs->batch, vs->nbatch,
                                            &vs->nleft);
}


/*
 * After the flush, on the event loop: the table it wrote is empty again,
 * what it failed to write kept in the table counting now.  Only the
 * slots it used are cleared, each found from its code in the batch: a
 * table is megabytes, a second's batch may be a few codes.
 */

static void
ngx_http_mcp_visits_done(ngx_http_mcp_visits_t *vs)
{
    size_t                       i;
    ngx_http_mcp_visit_slot_t   *slot;
    ngx_http_mcp_visit_table_t  *t;

    if (vs->rc != MCP_STORE_OK) {
        ngx_http_mcp_visits_keep(vs);

    } else if (vs->failed) {
        ngx_log_error(NGX_LOG_NOTICE, vs->mmcf->log, 0,
                      "mcp_store \"%V\": visit counters saved again, "
                      "after %ui failed flushes", &vs->mmcf->path,
                      vs->failed);
        vs->failed = 0;

        ngx_http_mcp_visits_dropped(vs, 0, 0);
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


/*
 * A failed flush's counters join the table counting now, to go with the
 * next flush, the newest first: while that table counts fewer than
 * NGX_HTTP_MCP_VISIT_KEEP codes, or where it counts the same code,
 * referrer and day already.  The others are dropped, and said so.  The
 * last flush of an exiting worker has no next: its counters are lost.
 */

static void
ngx_http_mcp_visits_keep(ngx_http_mcp_visits_t *vs)
{
    size_t                       i, dropped;
    uint64_t                     visits;
    ngx_str_t                    code, referrer;
    mcp_store_visit_t           *v;
    ngx_http_mcp_visit_slot_t   *slot;
    ngx_http_mcp_visit_table_t  *t;

    if (vs->exiting) {
        ngx_http_mcp_visits_lost(vs, mcp_store_strerror(vs->rc));
        return;
    }

    /* once a streak: a failing store fails every flush */

    if (vs->failed++ == 0) {
        ngx_log_error(NGX_LOG_ERR, vs->mmcf->log, 0,
                      "mcp_store \"%V\": visit counters not saved: %s; "
                      "kept for the next flush until the store takes "
                      "them", &vs->mmcf->path, mcp_store_strerror(vs->rc));
    }

    t = &vs->table[vs->active];

    if (t->n + vs->nleft > NGX_HTTP_MCP_VISIT_KEEP) {
        ngx_qsort(vs->batch, vs->nleft, sizeof(mcp_store_visit_t),
                  ngx_http_mcp_visits_newer);
    }

    dropped = 0;
    visits = 0;

    for (i = 0; i < vs->nleft; i++) {
        v = &vs->batch[i];

        code.data = (u_char *) v->code;
        code.len = v->code_len;
        referrer.data = (u_char *) v->referrer;
        referrer.len = v->referrer_len;

        slot = ngx_http_mcp_visits_slot(t, &code, &referrer, v->last_visit,
                                        t->n < NGX_HTTP_MCP_VISIT_KEEP);

        if (slot == NULL) {
            dropped++;
            visits += v->count + v->bots;
            continue;
        }

        slot->count += v->count;
        slot->people += v->people;
        slot->bots += v->bots;
        slot->last_visit = ngx_max(slot->last_visit, v->last_visit);
    }

    ngx_http_mcp_status_batch(vs->mmcf, t->n);

    if (dropped) {
        ngx_http_mcp_visits_dropped(vs, dropped, visits);
    }
}


/* The first nleft counters of the batch, which an exiting worker loses. */

static void
ngx_http_mcp_visits_lost(ngx_http_mcp_visits_t *vs, const char *why)
{
    size_t    i;
    uint64_t  visits;

    for (i = 0, visits = 0; i < vs->nleft; i++) {
        visits += vs->batch[i].count + vs->batch[i].bots;
    }

    ngx_log_error(NGX_LOG_ERR, vs->mmcf->log, 0,
                  "mcp_store \"%V\": %uL visits lost at exit (%uz visit "
                  "counters not saved: %s)", &vs->mmcf->path, visits,
                  vs->nleft, why);
}


/*
 * Counters dropped: the first drop of a streak is logged at once, the
 * others added up and logged when the streak ends (counters 0).
 */

static void
ngx_http_mcp_visits_dropped(ngx_http_mcp_visits_t *vs, size_t counters,
    uint64_t visits)
{
    if (counters == 0) {
        vs->drop_told = 0;

    } else if (vs->drop_told) {
        vs->dropped += counters;
        vs->dropped_visits += visits;
        return;

    } else {
        vs->drop_told = 1;
        vs->dropped = counters;
        vs->dropped_visits = visits;
    }

    if (vs->dropped == 0) {
        return;
    }

    ngx_log_error(NGX_LOG_ERR, vs->mmcf->log, 0,
                  "mcp_store \"%V\": %uL visits dropped (%uz visit "
                  "counters of failed flushes, the oldest, past the %ui "
                  "kept%s)", &vs->mmcf->path, vs->dropped_visits,
                  vs->dropped, (ngx_uint_t) NGX_HTTP_MCP_VISIT_KEEP,
                  counters ? "" : ", since the first drop of the streak");

    vs->dropped = 0;
    vs->dropped_visits = 0;
}


/* the counter visited last first */

static int ngx_libc_cdecl
ngx_http_mcp_visits_newer(const void *one, const void *two)
{
    const mcp_store_visit_t  *a = one;
    const mcp_store_visit_t  *b = two;

    return (a->last_visit < b->last_visit) - (a->last_visit > b->last_visit);
}


#if (NGX_THREADS)

static void
ngx_http_mcp_visits_thread(void *data, ngx_log_t *log)
{
    ngx_http_mcp_visits_t  *vs = *(ngx_http_mcp_visits_t **) data;

    ngx_http_mcp_visits_write(vs, vs->store);
    ngx_http_mcp_thread_finish(&vs->finished);
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
