
/*
 * ngx_mcp: the SSE streams of MCP sessions, and the requests the server
 * sends the client on them (sampling/createMessage, elicitation/create).
 *
 * Every message the server sends on a stream that outlives one pass of
 * the event loop is an event in a shared memory zone (ngx_mcp_streams),
 * so that any worker can take part: the worker that holds the stream's
 * connection sends what was appended, the worker that accepts the
 * client's answer to a request of ours hands it over, and a client that
 * lost its connection resumes with Last-Event-ID on whichever worker it
 * reaches.  Nothing waits on the event loop: a stream's worker looks at
 * the zone on a timer (NGX_HTTP_MCP_STREAM_TICK).
 *
 * Streams: 0 is the session's GET stream; a POST whose answer waits gets
 * a new number.  Event ids are "<stream>-<seq>", seq counting the events
 * of the whole zone, so an id is never handed out twice and names the
 * stream it belongs to: a resumption replays the events of that stream
 * after seq, and nothing of another stream.  Events are kept
 * NGX_HTTP_MCP_STREAM_KEEP seconds, at most NGX_HTTP_MCP_STREAM_EVENTS
 * and NGX_HTTP_MCP_STREAM_BYTES a session, and the oldest go first when
 * the zone is full.
 *
 * The zone is the node's own: in a cluster the events and the pending
 * requests are not replicated (a client's POSTs must reach the node that
 * asked it), while the sessions, in the store, are.
 */


#include "ngx_http_mcp_rpc.h"


#define NGX_HTTP_MCP_STREAM_ZONE          (4 * 1024 * 1024)
#define NGX_HTTP_MCP_STREAM_ID_MAX        64
#define NGX_HTTP_MCP_STREAM_TICK          20      /* ms */
#define NGX_HTTP_MCP_STREAM_KEEP          300     /* s */
#define NGX_HTTP_MCP_STREAM_EVENTS        256
#define NGX_HTTP_MCP_STREAM_BYTES         (256 * 1024)
#define NGX_HTTP_MCP_STREAM_RETRY         1000    /* ms, SSE retry */
#define NGX_HTTP_MCP_STREAM_LIFETIME      60000   /* ms, of a GET stream */
#define NGX_HTTP_MCP_STREAM_SUBS          64      /* a session */

#define NGX_HTTP_MCP_PENDING_WAITING      0
#define NGX_HTTP_MCP_PENDING_ANSWERED     1
#define NGX_HTTP_MCP_PENDING_CANCELLED    2

#define NGX_HTTP_MCP_CALL_ID_MAX          64


/* A session, as far as its streams go. */
typedef struct {
    ngx_rbtree_node_t          node;       /* key: crc32 of the id */
    u_char                     id[NGX_HTTP_MCP_STREAM_ID_MAX];
    size_t                     len;
    ngx_queue_t                events;     /* oldest first */
    ngx_uint_t                 nevents;
    size_t                     bytes;
    ngx_uint_t                 npending;
    ngx_uint_t                 nsubs;
    time_t                     seen;       /* a GET stream, a subscription */
    ngx_pid_t                  get;        /* worker of the GET stream,
                                              or 0 */
    size_t                     tenant_len; /* 0 until a GET stream */
    u_char                     tenant[MCP_STORE_SCOPE_MAX];
} ngx_http_mcp_stream_session_t;


/* A subscription (resources/subscribe) of a session to a resource. */
typedef struct {
    ngx_rbtree_node_t          node;       /* key: crc32 of tenant, uri */
    ngx_queue_t                queue;
    ngx_http_mcp_stream_session_t  *session;
    size_t                     tenant_len;
    size_t                     uri_len;
    u_char                     data[1];    /* tenant, then uri */
} ngx_http_mcp_stream_sub_t;


typedef struct {
    ngx_queue_t                all;        /* in the zone's, by seq */
    ngx_queue_t                queue;      /* in the session's */
    ngx_http_mcp_stream_session_t  *session;
    uint64_t                   stream;
    uint64_t                   seq;
    time_t                     time;
    ngx_uint_t                 last;       /* the stream's last event */
    size_t                     len;        /* of data; 0: a priming one */
    u_char                     data[1];
} ngx_http_mcp_stream_event_t;


/* A request of ours, waiting for its answer from any worker. */
typedef struct {
    ngx_queue_t                queue;
    ngx_http_mcp_stream_session_t  *session;
    uint64_t                   id;
    ngx_uint_t                 state;
    size_t                     len;
    u_char                    *answer;     /* JSON text, when answered */
    size_t                     call_id_len;
    u_char                     call_id[NGX_HTTP_MCP_CALL_ID_MAX];
                                           /* of the client's request that
                                              waits, as JSON text, for
                                              notifications/cancelled */
} ngx_http_mcp_stream_pending_t;


typedef struct {
    ngx_rbtree_t               rbtree;
    ngx_rbtree_node_t          sentinel;
    ngx_queue_t                events;
    ngx_queue_t                pending;
    ngx_queue_t                subs;
    ngx_rbtree_t               subs_tree;  /* the same, by resource */
    ngx_rbtree_node_t          subs_sentinel;
    uint64_t                   seq;        /* the last one given */
    uint64_t                   streams;    /* the last number given */
    uint64_t                   requests;   /* the last id given */

    /* written under the lock, read without it by every link written
     * (ngx_http_mcp_resource_list_changed() says why that is safe) */
    ngx_atomic_t               gets;       /* sessions whose GET stream
                                              is claimed */
    ngx_atomic_t               seen;       /* the latest seen of any
                                              session */
    ngx_atomic_t               nsubs;      /* subscriptions, in subs */
} ngx_http_mcp_stream_shm_t;


/* A stream this worker sends, in the request's pool. */
typedef struct {
    ngx_http_mcp_call_t       *call;
    ngx_http_request_t        *r;
    ngx_event_t                tick;
    u_char                     session[NGX_HTTP_MCP_STREAM_ID_MAX];
    size_t                     len;
    uint64_t                   stream;
    uint64_t                   sent;       /* seq of the last event sent */
    uint64_t                   request;    /* waited for, or 0 */
    ngx_msec_t                 deadline;   /* of the request, or of a GET
                                              stream */
    ngx_http_mcp_resume_pt     resume;
    void                      *data;
    unsigned                   get:1;      /* owns the session's GET */
    unsigned                   done:1;
} ngx_http_mcp_stream_t;


static ngx_int_t ngx_http_mcp_stream_init_zone(ngx_shm_zone_t *zone,
    void *data);
static ngx_http_mcp_stream_shm_t *ngx_http_mcp_stream_shm(
    ngx_http_request_t *r, ngx_slab_pool_t **pool);
static ngx_rbtree_node_t *ngx_http_mcp_stream_first(ngx_rbtree_t *tree,
    uint32_t key);
static ngx_http_mcp_stream_session_t *ngx_http_mcp_stream_session(
    ngx_http_mcp_stream_shm_t *shm, ngx_slab_pool_t *pool, u_char *id,
    size_t len, ngx_uint_t create);
static void ngx_http_mcp_stream_session_gc(ngx_http_mcp_stream_shm_t *shm,
    ngx_slab_pool_t *pool, ngx_http_mcp_stream_session_t *s);
static void ngx_http_mcp_stream_claim(ngx_http_mcp_stream_shm_t *shm,
    ngx_http_mcp_stream_session_t *s, ngx_pid_t pid);
static void ngx_http_mcp_stream_seen(ngx_http_mcp_stream_shm_t *shm,
    ngx_http_mcp_stream_session_t *s);
static ngx_uint_t ngx_http_mcp_stream_alive(ngx_pid_t pid);
static uint32_t ngx_http_mcp_stream_sub_key(ngx_str_t *tenant,
    ngx_str_t *uri);
static ngx_http_mcp_stream_sub_t *ngx_http_mcp_stream_sub_find(
    ngx_http_mcp_stream_shm_t *shm, ngx_http_mcp_stream_sub_t *after,
    uint32_t key, ngx_str_t *tenant, ngx_str_t *uri);
static void ngx_http_mcp_stream_unsubscribe(ngx_http_mcp_stream_shm_t *shm,
    ngx_slab_pool_t *pool, ngx_http_mcp_stream_sub_t *sub);
static void ngx_http_mcp_stream_drop(ngx_http_mcp_stream_shm_t *shm,
    ngx_slab_pool_t *pool, ngx_http_mcp_stream_event_t *e);
static void ngx_http_mcp_stream_trim(ngx_http_mcp_stream_shm_t *shm,
    ngx_slab_pool_t *pool, ngx_http_mcp_stream_session_t *s);
static ngx_int_t ngx_http_mcp_stream_append(ngx_http_mcp_stream_t *st,
    json_t *msg, ngx_uint_t last);
static ngx_int_t ngx_http_mcp_stream_append_text(ngx_http_mcp_stream_t *st,
    u_char *data, size_t len, ngx_uint_t last);
static uint64_t ngx_http_mcp_stream_push(ngx_http_mcp_stream_shm_t *shm,
    ngx_slab_pool_t *pool, ngx_http_mcp_stream_session_t *s, uint64_t stream,
    u_char *data, size_t len, ngx_uint_t last);
static ngx_http_mcp_stream_t *ngx_http_mcp_stream_open(
    ngx_http_mcp_call_t *call);
static ngx_int_t ngx_http_mcp_stream_start(ngx_http_mcp_stream_t *st,
    ngx_uint_t priming);
static ngx_int_t ngx_http_mcp_stream_queued(ngx_http_mcp_stream_t *st);
static ngx_int_t ngx_http_mcp_stream_pump(ngx_http_mcp_stream_t *st);
static void ngx_http_mcp_stream_tick(ngx_event_t *ev);
static void ngx_http_mcp_stream_cancelled(ngx_http_mcp_stream_t *st);
static void ngx_http_mcp_stream_finish(ngx_http_mcp_stream_t *st,
    json_t *result, ngx_http_mcp_error_t *err);
static void ngx_http_mcp_stream_end(ngx_http_mcp_stream_t *st,
    ngx_int_t rc);
static void ngx_http_mcp_stream_cleanup(void *data);
static ngx_http_mcp_stream_pending_t *ngx_http_mcp_stream_pending(
    ngx_http_mcp_stream_shm_t *shm, ngx_http_mcp_stream_session_t *s,
    uint64_t id);
static ngx_int_t ngx_http_mcp_stream_take(ngx_http_mcp_stream_t *st,
    json_t **answer);
static ngx_uint_t ngx_http_mcp_stream_announce(
    ngx_http_mcp_stream_shm_t *shm, ngx_slab_pool_t *pool,
    ngx_http_mcp_stream_session_t *s, char *text, size_t len);
static void ngx_http_mcp_stream_lost(ngx_http_request_t *r, ngx_uint_t lost,
    const char *what);
static ngx_int_t ngx_http_mcp_stream_last_event_id(ngx_str_t *value,
    uint64_t *stream, uint64_t *seq);


static ngx_str_t  ngx_http_mcp_list_changed = ngx_string(
    "{\"jsonrpc\":\"2.0\","
    "\"method\":\"notifications/resources/list_changed\"}");

static ngx_str_t  ngx_http_mcp_stream_zone_name =
    ngx_string("ngx_mcp_streams");


/* what a client must have declared for a request of ours */
static struct {
    const char                *method;
    ngx_uint_t                 capability;
    const char                *name;
} ngx_http_mcp_stream_needs[] = {
    { "sampling/createMessage", NGX_HTTP_MCP_CLIENT_SAMPLING, "sampling" },
    { "elicitation/create", NGX_HTTP_MCP_CLIENT_ELICITATION, "elicitation" },
    { "roots/list", NGX_HTTP_MCP_CLIENT_ROOTS, "roots" },
    { NULL, 0, NULL }
};


/*
 * The zone, added once the configuration is read when some location
 * serves MCP.
 */

ngx_int_t
ngx_http_mcp_stream_zone(ngx_conf_t *cf)
{
    ngx_http_mcp_main_conf_t  *mmcf;

    mmcf = ngx_http_conf_get_module_main_conf(cf, ngx_mcp_module);

    if (!mmcf->used) {
        return NGX_OK;
    }

    mmcf->stream_zone = ngx_shared_memory_add(cf,
                                              &ngx_http_mcp_stream_zone_name,
                                              NGX_HTTP_MCP_STREAM_ZONE,
                                              &ngx_mcp_module);
    if (mmcf->stream_zone == NULL) {
        return NGX_ERROR;
    }

    mmcf->stream_zone->init = ngx_http_mcp_stream_init_zone;

    return NGX_OK;
}


static ngx_int_t
ngx_http_mcp_stream_init_zone(ngx_shm_zone_t *zone, void *data)
{
    ngx_http_mcp_stream_shm_t  *old = data;

    ngx_slab_pool_t            *pool;
    ngx_http_mcp_stream_shm_t  *shm;

    if (old) {
        zone->data = old;
        return NGX_OK;
    }

    pool = (ngx_slab_pool_t *) zone->shm.addr;

    if (zone->shm.exists) {
        zone->data = pool->data;
        return NGX_OK;
    }

    shm = ngx_slab_calloc(pool, sizeof(ngx_http_mcp_stream_shm_t));
    if (shm == NULL) {
        return NGX_ERROR;
    }

    ngx_rbtree_init(&shm->rbtree, &shm->sentinel, ngx_rbtree_insert_value);
    ngx_queue_init(&shm->events);
    ngx_queue_init(&shm->pending);
    ngx_queue_init(&shm->subs);
    ngx_rbtree_init(&shm->subs_tree, &shm->subs_sentinel,
                    ngx_rbtree_insert_value);

    /* sessions outlive the zone (they are in the store): ids given after
     * a restart must not be ones given before, which a client may still
     * hold; a million a second for as long as the clock went on */

    shm->seq = (uint64_t) ngx_time() << 20;
    shm->streams = shm->seq;
    shm->requests = shm->seq;

    pool->data = shm;
    pool->log_nomem = 0;
    zone->data = shm;

    return NGX_OK;
}


static ngx_http_mcp_stream_shm_t *
ngx_http_mcp_stream_shm(ngx_http_request_t *r, ngx_slab_pool_t **pool)
{
    ngx_http_mcp_main_conf_t  *mmcf;

    mmcf = ngx_http_get_module_main_conf(r, ngx_mcp_module);

    *pool = (ngx_slab_pool_t *) mmcf->stream_zone->shm.addr;

    return mmcf->stream_zone->data;
}


/*
 * The leftmost node of key in tree, or NULL: the first of those that
 * share it, which ngx_rbtree_next() walks on from.  Equal keys go right
 * when inserted (ngx_rbtree_insert_value), but rotations may put one on
 * either side of another, so a search that goes right on an equal key
 * could miss the others.
 */

static ngx_rbtree_node_t *
ngx_http_mcp_stream_first(ngx_rbtree_t *tree, uint32_t key)
{
    ngx_rbtree_node_t  *node, *first;

    first = NULL;
    node = tree->root;

    while (node != tree->sentinel) {
        if (key <= node->key) {
            first = (key == node->key) ? node : first;
            node = node->left;

        } else {
            node = node->right;
        }
    }

    return first;
}


/* Under the zone's lock, as every function that takes shm. */

static ngx_http_mcp_stream_session_t *
ngx_http_mcp_stream_session(ngx_http_mcp_stream_shm_t *shm,
    ngx_slab_pool_t *pool, u_char *id, size_t len, ngx_uint_t create)
{
    uint32_t                        hash;
    ngx_rbtree_node_t              *node;
    ngx_http_mcp_stream_session_t  *s;

    hash = ngx_crc32_short(id, len);

    for (node = ngx_http_mcp_stream_first(&shm->rbtree, hash);
         node != NULL && node->key == hash;
         node = ngx_rbtree_next(&shm->rbtree, node))
    {
        s = (ngx_http_mcp_stream_session_t *) node;

        if (s->len == len && ngx_memcmp(s->id, id, len) == 0) {
            return s;
        }
    }

    if (!create || len > NGX_HTTP_MCP_STREAM_ID_MAX) {
        return NULL;
    }

    s = ngx_slab_calloc_locked(pool, sizeof(ngx_http_mcp_stream_session_t));
    if (s == NULL) {
        return NULL;
    }

    s->node.key = hash;
    ngx_memcpy(s->id, id, len);
    s->len = len;
    ngx_queue_init(&s->events);

    ngx_rbtree_insert(&shm->rbtree, &s->node);

    return s;
}


/* a session that holds nothing any more takes no room */

static void
ngx_http_mcp_stream_session_gc(ngx_http_mcp_stream_shm_t *shm,
    ngx_slab_pool_t *pool, ngx_http_mcp_stream_session_t *s)
{
    if (s->nevents || s->npending || s->nsubs || s->get) {
        return;
    }

    ngx_rbtree_delete(&shm->rbtree, &s->node);
    ngx_slab_free_locked(pool, s);
}


/*
 * The GET stream of s claimed by worker pid, or given up (pid 0): the
 * count of claimed ones follows.  A claim of a worker that died stays
 * counted, a listener (ngx_http_mcp_resource_list_changed()), until the
 * worker started in its place gives it up (ngx_http_mcp_stream_reap()),
 * another takes it over or the session ends.
 */

static void
ngx_http_mcp_stream_claim(ngx_http_mcp_stream_shm_t *shm,
    ngx_http_mcp_stream_session_t *s, ngx_pid_t pid)
{
    if (s->get == 0 && pid != 0) {
        shm->gets++;

    } else if (s->get != 0 && pid == 0) {
        shm->gets--;
    }

    s->get = pid;
}


/*
 * The client of s is there now (its GET stream, a subscription).  The
 * zone keeps the latest such time of the sessions that may hear of list
 * changes, after which none was seen: the latest, not the last, as the
 * clock may step back.  A session that had no GET stream has no tenant
 * here, which no caller's matches (a tenant has a character at least).
 */

static void
ngx_http_mcp_stream_seen(ngx_http_mcp_stream_shm_t *shm,
    ngx_http_mcp_stream_session_t *s)
{
    s->seen = ngx_time();

    if (s->tenant_len && (ngx_atomic_uint_t) s->seen > shm->seen) {
        shm->seen = (ngx_atomic_uint_t) s->seen;
    }
}


/*
 * Whether the worker pid that claimed a GET stream may still be there.
 * A process that took the pid after the worker died (one of another
 * user: EPERM) keeps the claim: harmless, the stream is taken over when
 * its client comes back, or given up when its session ends.
 */

static ngx_uint_t
ngx_http_mcp_stream_alive(ngx_pid_t pid)
{
    return kill(pid, 0) == 0 || ngx_errno != NGX_ESRCH;
}


/*
 * In a worker that starts (init_process): the GET streams claimed by
 * workers that are gone are given up.  A worker that exits gracefully
 * gives up its own; one that crashed cannot, and its claims would stay
 * counted, so that every link written walked the sessions, until their
 * clients came back.  Their sessions count as seen now: a client that
 * resumes within the window hears of what changed meanwhile.
 */

void
ngx_http_mcp_stream_reap(ngx_cycle_t *cycle)
{
    ngx_uint_t                      n;
    ngx_slab_pool_t                *pool;
    ngx_rbtree_node_t              *node, *next;
    ngx_http_mcp_main_conf_t       *mmcf;
    ngx_http_mcp_stream_shm_t      *shm;
    ngx_http_mcp_stream_session_t  *s;

    mmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_mcp_module);

    if (mmcf == NULL || mmcf->stream_zone == NULL) {
        return;
    }

    pool = (ngx_slab_pool_t *) mmcf->stream_zone->shm.addr;
    shm = mmcf->stream_zone->data;

    n = 0;

    ngx_shmtx_lock(&pool->mutex);

    node = (shm->rbtree.root == shm->rbtree.sentinel)
           ? NULL : ngx_rbtree_min(shm->rbtree.root, shm->rbtree.sentinel);

    for ( /* void */ ; node != NULL; node = next) {
        next = ngx_rbtree_next(&shm->rbtree, node);
        s = (ngx_http_mcp_stream_session_t *) node;

        /* a claim in our pid is of a worker that had the pid before:
         * this one has no stream yet */

        if (s->get == 0
            || (s->get != ngx_pid && ngx_http_mcp_stream_alive(s->get)))
        {
            continue;
        }

        ngx_http_mcp_stream_claim(shm, s, 0);
        ngx_http_mcp_stream_seen(shm, s);

        /* as the end of a stream does: a session that holds nothing
         * more goes */
        ngx_http_mcp_stream_session_gc(shm, pool, s);
        n++;
    }

    ngx_shmtx_unlock(&pool->mutex);

    if (n) {
        ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                      "mcp: %ui GET streams of workers gone given up", n);
    }
}


/*
 * Subscriptions are found by resource, so that a change of one that no
 * session subscribed to costs no walk of all of them (every link written
 * is such a change).
 */

static uint32_t
ngx_http_mcp_stream_sub_key(ngx_str_t *tenant, ngx_str_t *uri)
{
    uint32_t  key;

    ngx_crc32_init(key);
    ngx_crc32_update(&key, tenant->data, tenant->len);
    ngx_crc32_update(&key, uri->data, uri->len);
    ngx_crc32_final(key);

    return key;
}


/*
 * Under the lock: the first subscription of tenant to uri (key is
 * theirs) after the one given, or the first of all with after NULL; NULL
 * when there is none.  The one given may be removed once the next one is
 * found.
 */

static ngx_http_mcp_stream_sub_t *
ngx_http_mcp_stream_sub_find(ngx_http_mcp_stream_shm_t *shm,
    ngx_http_mcp_stream_sub_t *after, uint32_t key, ngx_str_t *tenant,
    ngx_str_t *uri)
{
    ngx_rbtree_node_t          *node;
    ngx_http_mcp_stream_sub_t  *sub;

    node = (after != NULL) ? ngx_rbtree_next(&shm->subs_tree, &after->node)
                           : ngx_http_mcp_stream_first(&shm->subs_tree, key);

    for ( /* void */ ; node != NULL && node->key == key;
         node = ngx_rbtree_next(&shm->subs_tree, node))
    {
        sub = (ngx_http_mcp_stream_sub_t *) node;

        if (sub->tenant_len == tenant->len && sub->uri_len == uri->len
            && ngx_memcmp(sub->data, tenant->data, tenant->len) == 0
            && ngx_memcmp(sub->data + tenant->len, uri->data, uri->len)
               == 0)
        {
            return sub;
        }
    }

    return NULL;
}


/* the subscription sub goes (its session's node is the caller's to gc) */

static void
ngx_http_mcp_stream_unsubscribe(ngx_http_mcp_stream_shm_t *shm,
    ngx_slab_pool_t *pool, ngx_http_mcp_stream_sub_t *sub)
{
    ngx_rbtree_delete(&shm->subs_tree, &sub->node);
    ngx_queue_remove(&sub->queue);
    sub->session->nsubs--;
    shm->nsubs--;
    ngx_slab_free_locked(pool, sub);
}


static void
ngx_http_mcp_stream_drop(ngx_http_mcp_stream_shm_t *shm,
    ngx_slab_pool_t *pool, ngx_http_mcp_stream_event_t *e)
{
    ngx_http_mcp_stream_session_t  *s;

    s = e->session;

    ngx_queue_remove(&e->all);
    ngx_queue_remove(&e->queue);
    s->nevents--;
    s->bytes -= e->len;

    ngx_slab_free_locked(pool, e);

    ngx_http_mcp_stream_session_gc(shm, pool, s);
}


/*
 * Events past NGX_HTTP_MCP_STREAM_KEEP go, and the oldest of session s
 * beyond its share.
 */

static void
ngx_http_mcp_stream_trim(ngx_http_mcp_stream_shm_t *shm,
    ngx_slab_pool_t *pool, ngx_http_mcp_stream_session_t *s)
{
    time_t                        old;
    ngx_queue_t                  *q;
    ngx_http_mcp_stream_event_t  *e;

    old = ngx_time() - NGX_HTTP_MCP_STREAM_KEEP;

    while (!ngx_queue_empty(&shm->events)) {
        q = ngx_queue_head(&shm->events);
        e = ngx_queue_data(q, ngx_http_mcp_stream_event_t, all);

        if (e->time >= old) {
            break;
        }

        ngx_http_mcp_stream_drop(shm, pool, e);
    }

    while (s->nevents >= NGX_HTTP_MCP_STREAM_EVENTS
           || s->bytes > NGX_HTTP_MCP_STREAM_BYTES)
    {
        q = ngx_queue_head(&s->events);
        e = ngx_queue_data(q, ngx_http_mcp_stream_event_t, queue);

        /* s stays: it is the caller's, and has a stream or a request */
        ngx_queue_remove(&e->all);
        ngx_queue_remove(&e->queue);
        s->nevents--;
        s->bytes -= e->len;
        ngx_slab_free_locked(pool, e);
    }
}


/*
 * Appends an event to the stream st: msg (a JSON-RPC message), or a
 * priming event (msg NULL), which only gives an id.
 */

static ngx_int_t
ngx_http_mcp_stream_append(ngx_http_mcp_stream_t *st, json_t *msg,
    ngx_uint_t last)
{
    char       *text;
    ngx_int_t   rc;

    if (msg == NULL) {
        return ngx_http_mcp_stream_append_text(st, NULL, 0, last);
    }

    text = json_dumps(msg, JSON_COMPACT);
    if (text == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_http_mcp_stream_append_text(st, (u_char *) text,
                                         ngx_strlen(text), last);
    free(text);

    return rc;
}


static ngx_int_t
ngx_http_mcp_stream_append_text(ngx_http_mcp_stream_t *st, u_char *data,
    size_t len, ngx_uint_t last)
{
    uint64_t                        seq;
    ngx_slab_pool_t                *pool;
    ngx_http_mcp_stream_shm_t      *shm;
    ngx_http_mcp_stream_session_t  *s;

    shm = ngx_http_mcp_stream_shm(st->r, &pool);

    seq = 0;

    ngx_shmtx_lock(&pool->mutex);

    s = ngx_http_mcp_stream_session(shm, pool, st->session, st->len, 1);

    if (s != NULL) {
        seq = ngx_http_mcp_stream_push(shm, pool, s, st->stream, data, len,
                                       last);
        ngx_http_mcp_stream_session_gc(shm, pool, s);
    }

    ngx_shmtx_unlock(&pool->mutex);

    if (seq == 0) {
        ngx_log_error(NGX_LOG_ERR, st->r->connection->log, 0,
                      "mcp: the zone \"%V\" is full: an event of %uz bytes "
                      "is lost", &ngx_http_mcp_stream_zone_name, len);
        return NGX_ERROR;
    }

    if (len == 0) {
        /* a priming event is where the stream starts: sent already */
        st->sent = seq;
    }

    return NGX_OK;
}


/*
 * Under the lock: adds an event to stream of session s; its seq, or 0
 * when the zone is full even of nothing else.
 */

static uint64_t
ngx_http_mcp_stream_push(ngx_http_mcp_stream_shm_t *shm,
    ngx_slab_pool_t *pool, ngx_http_mcp_stream_session_t *s, uint64_t stream,
    u_char *data, size_t len, ngx_uint_t last)
{
    ngx_queue_t                  *q;
    ngx_http_mcp_stream_event_t  *e;

    ngx_http_mcp_stream_trim(shm, pool, s);

    for ( ;; ) {
        e = ngx_slab_alloc_locked(pool,
                                  sizeof(ngx_http_mcp_stream_event_t) + len);
        if (e != NULL) {
            break;
        }

        /* full: the oldest event of any session goes (but s's node,
         * which the event being added keeps) */

        if (ngx_queue_empty(&shm->events)) {
            return 0;
        }

        q = ngx_queue_head(&shm->events);
        e = ngx_queue_data(q, ngx_http_mcp_stream_event_t, all);

        s->npending++;
        ngx_http_mcp_stream_drop(shm, pool, e);
        s->npending--;
    }

    e->session = s;
    e->stream = stream;
    e->seq = ++shm->seq;
    e->time = ngx_time();
    e->last = last;
    e->len = len;

    if (len) {
        ngx_memcpy(e->data, data, len);
    }

    ngx_queue_insert_tail(&shm->events, &e->all);
    ngx_queue_insert_tail(&s->events, &e->queue);
    s->nevents++;
    s->bytes += len;

    return e->seq;
}


/*
 * A stream for the request of call, kept in the request's pool with a
 * copy of call (the caller's is on its stack).
 */

static ngx_http_mcp_stream_t *
ngx_http_mcp_stream_open(ngx_http_mcp_call_t *call)
{
    ngx_pool_cleanup_t     *cln;
    ngx_http_mcp_stream_t  *st;

    if (call->session.len == 0
        || call->session.len > NGX_HTTP_MCP_STREAM_ID_MAX)
    {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(call->r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    st = ngx_pcalloc(call->r->pool, sizeof(ngx_http_mcp_stream_t));
    if (st == NULL) {
        return NULL;
    }

    st->call = ngx_palloc(call->r->pool, sizeof(ngx_http_mcp_call_t));
    if (st->call == NULL) {
        return NULL;
    }

    *st->call = *call;
    st->call->sse = st;

    st->r = call->r;
    ngx_memcpy(st->session, call->session.data, call->session.len);
    st->len = call->session.len;

    st->tick.handler = ngx_http_mcp_stream_tick;
    st->tick.data = st;
    st->tick.log = call->r->connection->log;
    st->tick.cancelable = 1;

    cln->handler = ngx_http_mcp_stream_cleanup;
    cln->data = st;

    return st;
}


/*
 * Sends the response header of an SSE stream, and the priming event of
 * a new stream (an id to resume from, and how long to wait before).
 */

static ngx_int_t
ngx_http_mcp_stream_start(ngx_http_mcp_stream_t *st, ngx_uint_t priming)
{
    u_char              *p;
    ngx_int_t            rc;
    ngx_buf_t           *b;
    ngx_chain_t          out;
    ngx_http_request_t  *r;

    static ngx_str_t  no_cache = ngx_string("no-cache");

    r = st->r;

    /* a POST stream's priming event is kept: it tells a resumption that
     * the stream is this session's; the GET stream is always there */

    if (priming && st->stream
        && ngx_http_mcp_stream_append(st, NULL, 0) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_mcp_add_header(r, "Cache-Control", &no_cache) == NULL
        || ngx_http_mcp_add_header(r, "Mcp-Session-Id", &st->call->session)
           == NULL)
    {
        return NGX_ERROR;
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = -1;
    ngx_str_set(&r->headers_out.content_type, "text/event-stream");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return NGX_ERROR;
    }

    b = ngx_create_temp_buf(r->pool, 3 * NGX_INT64_LEN + 32);
    if (b == NULL) {
        return NGX_ERROR;
    }

    p = b->last;

    if (priming) {
        p = ngx_sprintf(p, "id: %uL-%uL\n", st->stream, st->sent);
    }

    b->last = ngx_sprintf(p, "retry: %d\ndata: \n\n",
                          NGX_HTTP_MCP_STREAM_RETRY);
    b->flush = 1;

    out.buf = b;
    out.next = NULL;

    /* read events tell when the client goes away */
    r->read_event_handler = ngx_http_test_reading;

    return ngx_http_output_filter(r, &out) == NGX_ERROR ? NGX_ERROR : NGX_OK;
}


/* the notifications the method queued before it waited, as events */

static ngx_int_t
ngx_http_mcp_stream_queued(ngx_http_mcp_stream_t *st)
{
    json_t      *msg;
    ngx_uint_t   i;

    if (st->call->stream == NULL) {
        return NGX_OK;
    }

    json_array_foreach(st->call->stream, i, msg) {
        if (ngx_http_mcp_stream_append(st, msg, 0) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    json_array_clear(st->call->stream);

    return NGX_OK;
}


/*
 * Sends the events of the stream appended since the last sent, by any
 * worker; NGX_DONE once its last event is sent.
 */

static ngx_int_t
ngx_http_mcp_stream_pump(ngx_http_mcp_stream_t *st)
{
    size_t                          size;
    ngx_buf_t                      *b;
    ngx_uint_t                      last, gone;
    ngx_queue_t                    *q;
    ngx_chain_t                    *out, **ll, *cl;
    ngx_slab_pool_t                *pool;
    ngx_http_mcp_stream_shm_t      *shm;
    ngx_http_mcp_stream_event_t    *e;
    ngx_http_mcp_stream_session_t  *s;

    static const char  head[] = "event: message\ndata: ";

    shm = ngx_http_mcp_stream_shm(st->r, &pool);

    out = NULL;
    ll = &out;
    last = 0;
    gone = 0;

    ngx_shmtx_lock(&pool->mutex);

    s = ngx_http_mcp_stream_session(shm, pool, st->session, st->len, 0);

    for (q = s ? ngx_queue_head(&s->events) : NULL;
         q != NULL && q != ngx_queue_sentinel(&s->events);
         q = ngx_queue_next(q))
    {
        e = ngx_queue_data(q, ngx_http_mcp_stream_event_t, queue);

        if (e->stream != st->stream) {
            continue;
        }

        if (e->seq <= st->sent) {
            /* a resumption after the stream's end has nothing to wait
             * for */
            last |= e->last;
            continue;
        }

        st->sent = e->seq;

        if (e->len == 0) {
            continue;
        }

        size = sizeof("id: -\n") + 2 * NGX_INT64_LEN + sizeof(head)
               + e->len + 2;

        b = ngx_create_temp_buf(st->r->pool, size);
        cl = ngx_alloc_chain_link(st->r->pool);
        if (b == NULL || cl == NULL) {
            ngx_shmtx_unlock(&pool->mutex);
            return NGX_ERROR;
        }

        b->last = ngx_sprintf(b->last, "id: %uL-%uL\n", e->stream, e->seq);
        b->last = ngx_cpymem(b->last, head, sizeof(head) - 1);
        b->last = ngx_cpymem(b->last, e->data, e->len);
        *b->last++ = '\n';
        *b->last++ = '\n';

        cl->buf = b;
        cl->next = NULL;
        *ll = cl;
        ll = &cl->next;

        if (e->last) {
            last = 1;
            break;
        }
    }

    if (s != NULL && st->get) {
        ngx_http_mcp_stream_seen(shm, s);
    }

    /* the session ended (DELETE) or its GET stream was taken from us */
    gone = (s == NULL && !st->request)
           || (st->get && (s == NULL || s->get != ngx_pid));

    ngx_shmtx_unlock(&pool->mutex);

    if (out != NULL) {
        for (cl = out; cl->next; cl = cl->next) { /* void */ }
        cl->buf->flush = 1;

        if (ngx_http_output_filter(st->r, out) == NGX_ERROR) {
            return NGX_ERROR;
        }
    }

    return (last || gone) ? NGX_DONE : NGX_OK;
}


/*
 * Sends a request to the client of call on the call's stream, and resumes
 * the call with the client's answer, which any worker may receive:
 * resume(call, data, answer, err) runs in this worker, with answer the
 * client's response message ("result" or "error"), or NULL when it did
 * not come in time.  params is stolen.
 *
 * Returns NULL with err->code NGX_HTTP_MCP_DEFERRED (the transport then
 * waits), or the tool result that refuses it (a client that did not
 * declare the capability), or NULL with an error.
 */

json_t *
ngx_http_mcp_ask(ngx_http_mcp_call_t *call, const char *method,
    json_t *params, ngx_http_mcp_resume_pt resume, void *data,
    ngx_http_mcp_error_t *err)
{
    json_t                         *msg;
    ngx_uint_t                      i, started;
    ngx_slab_pool_t                *pool;
    ngx_http_mcp_stream_t          *st;
    ngx_http_mcp_stream_shm_t      *shm;
    ngx_http_mcp_stream_pending_t  *p;
    ngx_http_mcp_stream_session_t  *s;

    for (i = 0; ngx_http_mcp_stream_needs[i].method; i++) {
        if (ngx_strcmp(ngx_http_mcp_stream_needs[i].method, method) == 0) {
            break;
        }
    }

    if (ngx_http_mcp_stream_needs[i].method != NULL
        && !(call->client_caps & ngx_http_mcp_stream_needs[i].capability))
    {
        json_decref(params);
        return ngx_http_mcp_tool_error("this tool needs %s, which the client "
                                       "did not declare in initialize",
                                       ngx_http_mcp_stream_needs[i].name);
    }

    /* a second request of one call goes on the same stream */

    st = call->sse;
    started = (st != NULL);

    if (st == NULL) {
        st = ngx_http_mcp_stream_open(call);
        if (st == NULL) {
            json_decref(params);
            return ngx_http_mcp_rpc_nomem(err);
        }
    }

    shm = ngx_http_mcp_stream_shm(call->r, &pool);

    ngx_shmtx_lock(&pool->mutex);

    if (!started) {
        st->stream = ++shm->streams;
    }

    s = ngx_http_mcp_stream_session(shm, pool, st->session, st->len, 1);
    p = ngx_slab_calloc_locked(pool, sizeof(ngx_http_mcp_stream_pending_t));

    if (s == NULL || p == NULL) {
        if (p) {
            ngx_slab_free_locked(pool, p);
        }

        if (s) {
            ngx_http_mcp_stream_session_gc(shm, pool, s);
        }

        ngx_shmtx_unlock(&pool->mutex);
        json_decref(params);
        return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INTERNAL_ERROR,
                                     "the zone of streams is full");
    }

    p->session = s;
    p->id = ++shm->requests;
    p->call_id_len = json_dumpb(call->id, (char *) p->call_id,
                                NGX_HTTP_MCP_CALL_ID_MAX,
                                JSON_COMPACT | JSON_ENCODE_ANY);
    s->npending++;
    ngx_queue_insert_tail(&shm->pending, &p->queue);

    st->request = p->id;

    ngx_shmtx_unlock(&pool->mutex);

    st->resume = resume;
    st->data = data;
    st->deadline = ngx_current_msec + call->mlcf->client_request_timeout;

    msg = json_pack("{s:s, s:I, s:s, s:o}", "jsonrpc", "2.0",
                    "id", (json_int_t) st->request, "method", method,
                    "params", params);
    if (msg == NULL) {
        return ngx_http_mcp_rpc_nomem(err);
    }

    ngx_http_mcp_json_cleanup(call->r->pool, msg);

    if ((!started && ngx_http_mcp_stream_start(st, 1) != NGX_OK)
        || ngx_http_mcp_stream_queued(st) != NGX_OK
        || ngx_http_mcp_stream_append(st, msg, 0) != NGX_OK
        || ngx_http_mcp_stream_pump(st) == NGX_ERROR)
    {
        /* the header may be out: the stream ends, the cleanup drops the
         * request */
        return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INTERNAL_ERROR,
                                     "cannot send %s", method);
    }

    if (!started) {
        st->r->main->count++;
    }

    if (!st->tick.timer_set) {
        ngx_add_timer(&st->tick, NGX_HTTP_MCP_STREAM_TICK);
    }

    err->code = NGX_HTTP_MCP_DEFERRED;

    return NULL;
}


/*
 * A tool that ends its response stream before its result
 * (test_reconnection): the result is kept as the stream's last event,
 * for the client to fetch with GET and Last-Event-ID.
 */

ngx_int_t
ngx_http_mcp_stream_detach(ngx_http_mcp_call_t *call, ngx_str_t *response)
{
    ngx_int_t                   rc;
    ngx_slab_pool_t            *pool;
    ngx_http_mcp_stream_t      *st;
    ngx_http_mcp_stream_shm_t  *shm;

    st = ngx_http_mcp_stream_open(call);
    if (st == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    shm = ngx_http_mcp_stream_shm(call->r, &pool);

    ngx_shmtx_lock(&pool->mutex);
    st->stream = ++shm->streams;
    ngx_shmtx_unlock(&pool->mutex);

    if (ngx_http_mcp_stream_start(st, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_mcp_stream_queued(st) != NGX_OK
        || ngx_http_mcp_stream_append_text(st, response->data, response->len,
                                           1)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    rc = ngx_http_send_special(st->r, NGX_HTTP_LAST);

    return rc == NGX_ERROR ? NGX_ERROR : NGX_OK;
}


static void
ngx_http_mcp_stream_tick(ngx_event_t *ev)
{
    json_t                 *answer, *result;
    ngx_int_t               rc;
    ngx_http_mcp_error_t    err;
    ngx_http_mcp_stream_t  *st;

    st = ev->data;

    if (st->r->connection->error) {
        ngx_http_mcp_stream_end(st, NGX_HTTP_CLIENT_CLOSED_REQUEST);
        return;
    }

    rc = ngx_http_mcp_stream_pump(st);

    if (rc != NGX_OK) {
        ngx_http_mcp_stream_end(st, rc == NGX_DONE ? NGX_OK : NGX_ERROR);
        return;
    }

    if (st->request) {
        answer = NULL;
        rc = ngx_http_mcp_stream_take(st, &answer);

        if (rc == NGX_AGAIN
            && (ngx_msec_int_t) (st->deadline - ngx_current_msec) > 0)
        {
            ngx_add_timer(&st->tick, NGX_HTTP_MCP_STREAM_TICK);
            return;
        }

        if (rc == NGX_ERROR) {
            ngx_http_mcp_stream_end(st, NGX_ERROR);
            return;
        }

        if (rc == NGX_DECLINED) {
            ngx_http_mcp_stream_cancelled(st);
            return;
        }

        /* answered, or timed out (answer NULL) */

        ngx_memzero(&err, sizeof(ngx_http_mcp_error_t));

        result = st->resume(st->call, st->data, answer, &err);

        if (result == NULL && err.code == NGX_HTTP_MCP_DEFERRED) {
            /* it asked again: the timer is set */
            return;
        }

        ngx_http_mcp_stream_finish(st, result, &err);
        return;
    }

    if (ngx_exiting
        || (ngx_msec_int_t) (st->deadline - ngx_current_msec) <= 0)
    {
        /* SSE polling: the client comes back with Last-Event-ID */
        ngx_http_mcp_stream_end(st, NGX_OK);
        return;
    }

    ngx_add_timer(&st->tick, NGX_HTTP_MCP_STREAM_TICK);
}


/*
 * The client cancelled the call: the call ends without a response, and
 * the client is told that our request is withdrawn.
 */

static void
ngx_http_mcp_stream_cancelled(ngx_http_mcp_stream_t *st)
{
    json_t     *msg;
    ngx_int_t   rc;

    msg = json_pack("{s:s, s:s, s:{s:I, s:s}}", "jsonrpc", "2.0",
                    "method", "notifications/cancelled",
                    "params", "requestId", (json_int_t) st->request,
                    "reason", "the client cancelled the call");

    st->request = 0;

    rc = (msg != NULL) ? ngx_http_mcp_stream_append(st, msg, 1) : NGX_ERROR;
    json_decref(msg);

    if (rc == NGX_OK) {
        rc = ngx_http_mcp_stream_pump(st);
    }

    ngx_http_mcp_stream_end(st, rc == NGX_ERROR ? NGX_ERROR : NGX_OK);
}


/*
 * notifications/cancelled of the client: its call (params.requestId)
 * that waits for an answer of the client stops, in whichever worker it
 * waits.  A call that does not wait has its answer on the way already.
 */

void
ngx_http_mcp_stream_cancel(ngx_http_mcp_call_t *call, json_t *params)
{
    u_char                          id[NGX_HTTP_MCP_CALL_ID_MAX];
    size_t                          len;
    json_t                         *request;
    ngx_queue_t                    *q;
    ngx_slab_pool_t                *pool;
    ngx_http_mcp_stream_shm_t      *shm;
    ngx_http_mcp_stream_pending_t  *p;
    ngx_http_mcp_stream_session_t  *s;

    request = json_object_get(params, "requestId");

    if (!json_is_string(request) && !json_is_integer(request)) {
        return;
    }

    len = json_dumpb(request, (char *) id, sizeof(id),
                     JSON_COMPACT | JSON_ENCODE_ANY);

    if (len == 0 || len > sizeof(id)) {
        return;
    }

    shm = ngx_http_mcp_stream_shm(call->r, &pool);

    ngx_shmtx_lock(&pool->mutex);

    s = ngx_http_mcp_stream_session(shm, pool, call->session.data,
                                    call->session.len, 0);

    for (q = ngx_queue_head(&shm->pending);
         s != NULL && q != ngx_queue_sentinel(&shm->pending);
         q = ngx_queue_next(q))
    {
        p = ngx_queue_data(q, ngx_http_mcp_stream_pending_t, queue);

        if (p->session == s && p->call_id_len == len
            && ngx_memcmp(p->call_id, id, len) == 0
            && p->state == NGX_HTTP_MCP_PENDING_WAITING)
        {
            p->state = NGX_HTTP_MCP_PENDING_CANCELLED;
        }
    }

    ngx_shmtx_unlock(&pool->mutex);
}


/*
 * The call's response, as the stream's last event, sent.
 */

static void
ngx_http_mcp_stream_finish(ngx_http_mcp_stream_t *st, json_t *result,
    ngx_http_mcp_error_t *err)
{
    ngx_int_t          rc;
    ngx_http_mcp_jw_t  response;

    st->request = 0;

    if (ngx_http_mcp_response(st->call, result, err, &response) != NGX_OK
        || ngx_http_mcp_stream_queued(st) != NGX_OK
        || ngx_http_mcp_stream_append_text(st, response.start,
                                           response.last - response.start, 1)
           != NGX_OK)
    {
        ngx_http_mcp_stream_end(st, NGX_ERROR);
        return;
    }

    rc = ngx_http_mcp_stream_pump(st);

    ngx_http_mcp_stream_end(st, rc == NGX_ERROR ? NGX_ERROR : NGX_OK);
}


static void
ngx_http_mcp_stream_end(ngx_http_mcp_stream_t *st, ngx_int_t rc)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    if (st->done) {
        return;
    }

    st->done = 1;

    if (st->tick.timer_set) {
        ngx_del_timer(&st->tick);
    }

    r = st->r;
    c = r->connection;

    if (rc == NGX_OK) {
        rc = ngx_http_send_special(r, NGX_HTTP_LAST);
    }

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


/*
 * Under the lock: the request of ours with that id, of session s (NULL:
 * of any), or NULL.
 */

static ngx_http_mcp_stream_pending_t *
ngx_http_mcp_stream_pending(ngx_http_mcp_stream_shm_t *shm,
    ngx_http_mcp_stream_session_t *s, uint64_t id)
{
    ngx_queue_t                    *q;
    ngx_http_mcp_stream_pending_t  *p;

    for (q = ngx_queue_head(&shm->pending);
         q != ngx_queue_sentinel(&shm->pending);
         q = ngx_queue_next(q))
    {
        p = ngx_queue_data(q, ngx_http_mcp_stream_pending_t, queue);

        if (p->id == id && (s == NULL || p->session == s)) {
            return p;
        }
    }

    return NULL;
}


/*
 * The request's pool goes (the stream ended, or the client left): the
 * timer, the request still waiting and the GET stream's claim go with it.
 */

static void
ngx_http_mcp_stream_cleanup(void *data)
{
    ngx_http_mcp_stream_t  *st = data;

    ngx_slab_pool_t                *pool;
    ngx_http_mcp_stream_shm_t      *shm;
    ngx_http_mcp_stream_pending_t  *p;
    ngx_http_mcp_stream_session_t  *s;

    if (st->tick.timer_set) {
        ngx_del_timer(&st->tick);
    }

    if (!st->request && !st->get) {
        return;
    }

    shm = ngx_http_mcp_stream_shm(st->r, &pool);

    ngx_shmtx_lock(&pool->mutex);

    s = ngx_http_mcp_stream_session(shm, pool, st->session, st->len, 0);

    if (s != NULL) {
        p = ngx_http_mcp_stream_pending(shm, s, st->request);

        if (p != NULL) {
            ngx_queue_remove(&p->queue);
            s->npending--;

            if (p->answer) {
                ngx_slab_free_locked(pool, p->answer);
            }

            ngx_slab_free_locked(pool, p);
        }

        if (st->get && s->get == ngx_pid) {
            ngx_http_mcp_stream_claim(shm, s, 0);
        }

        ngx_http_mcp_stream_session_gc(shm, pool, s);
    }

    ngx_shmtx_unlock(&pool->mutex);
}


/*
 * The answer to the stream's request, if it came: NGX_OK with *answer
 * (the pending request is gone then), NGX_AGAIN, NGX_DECLINED when the
 * client cancelled its call (gone too), or NGX_ERROR.
 */

static ngx_int_t
ngx_http_mcp_stream_take(ngx_http_mcp_stream_t *st, json_t **answer)
{
    u_char                         *text;
    size_t                          len;
    ngx_slab_pool_t                *pool;
    ngx_http_mcp_stream_shm_t      *shm;
    ngx_http_mcp_stream_pending_t  *p;

    shm = ngx_http_mcp_stream_shm(st->r, &pool);

    text = NULL;
    len = 0;
    p = NULL;

    ngx_shmtx_lock(&pool->mutex);

    p = ngx_http_mcp_stream_pending(shm, NULL, st->request);

    if (p != NULL && p->state == NGX_HTTP_MCP_PENDING_WAITING
        && (ngx_msec_int_t) (st->deadline - ngx_current_msec) > 0)
    {
        ngx_shmtx_unlock(&pool->mutex);
        return NGX_AGAIN;
    }

    if (p != NULL && p->state == NGX_HTTP_MCP_PENDING_CANCELLED) {
        ngx_shmtx_unlock(&pool->mutex);
        ngx_http_mcp_stream_cleanup(st);
        return NGX_DECLINED;
    }

    if (p != NULL && p->answer) {
        len = p->len;
        text = ngx_pnalloc(st->r->pool, len);
        if (text != NULL) {
            ngx_memcpy(text, p->answer, len);
        }
    }

    ngx_shmtx_unlock(&pool->mutex);

    /* the cleanup removes the request, as when the client leaves */
    ngx_http_mcp_stream_cleanup(st);
    st->request = 0;

    if (len && text == NULL) {
        return NGX_ERROR;
    }

    if (text != NULL) {
        *answer = json_loadb((char *) text, len, 0, NULL);
        if (*answer == NULL) {
            return NGX_ERROR;
        }

        ngx_http_mcp_json_cleanup(st->r->pool, *answer);
    }

    return NGX_OK;
}


/*
 * A response of the client (a message with an id and a result or an
 * error), to a request of ours that waits: handed to the worker that
 * waits.  NGX_OK, or NGX_DECLINED with err: 400 for an id that no
 * request of this session waits for (unknown, timed out, another
 * session's), 409 for one answered already.
 */

ngx_int_t
ngx_http_mcp_stream_answer(ngx_http_mcp_call_t *call, json_t *msg,
    ngx_http_mcp_error_t *err)
{
    char                           *text;
    size_t                          len;
    json_t                         *id;
    ngx_int_t                       rc;
    ngx_slab_pool_t                *pool;
    ngx_http_mcp_stream_shm_t      *shm;
    ngx_http_mcp_stream_pending_t  *p;
    ngx_http_mcp_stream_session_t  *s;

    id = json_object_get(msg, "id");

    if (!json_is_integer(id) || json_integer_value(id) <= 0) {
        goto unknown;
    }

    text = json_dumps(msg, JSON_COMPACT);
    if (text == NULL) {
        return ngx_http_mcp_rpc_error(err, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                      NGX_HTTP_MCP_INTERNAL_ERROR,
                                      "out of memory");
    }

    len = ngx_strlen(text);

    shm = ngx_http_mcp_stream_shm(call->r, &pool);

    rc = NGX_DECLINED;

    ngx_shmtx_lock(&pool->mutex);

    s = ngx_http_mcp_stream_session(shm, pool, call->session.data,
                                    call->session.len, 0);

    p = (s != NULL) ? ngx_http_mcp_stream_pending(shm, s,
                                        (uint64_t) json_integer_value(id))
                    : NULL;

    if (p == NULL || p->state == NGX_HTTP_MCP_PENDING_CANCELLED) {
        rc = NGX_DECLINED;

    } else if (p->state == NGX_HTTP_MCP_PENDING_ANSWERED) {
        rc = NGX_BUSY;

    } else {
        p->answer = ngx_slab_alloc_locked(pool, len);

        if (p->answer == NULL) {
            rc = NGX_ERROR;

        } else {
            ngx_memcpy(p->answer, text, len);
            p->len = len;
            p->state = NGX_HTTP_MCP_PENDING_ANSWERED;
            rc = NGX_OK;
        }
    }

    ngx_shmtx_unlock(&pool->mutex);

    free(text);

    switch (rc) {

    case NGX_OK:
        return NGX_OK;

    case NGX_BUSY:
        return ngx_http_mcp_rpc_error(err, NGX_HTTP_CONFLICT,
                                      NGX_HTTP_MCP_INVALID_REQUEST,
                                      "Conflict: the request %lld was "
                                      "answered already",
                                      (long long) json_integer_value(id));

    case NGX_ERROR:
        return ngx_http_mcp_rpc_error(err, NGX_HTTP_INSUFFICIENT_STORAGE,
                                      NGX_HTTP_MCP_INTERNAL_ERROR,
                                      "the zone of streams is full: the "
                                      "answer is not kept");
    }

unknown:

    return ngx_http_mcp_rpc_error(err, NGX_HTTP_BAD_REQUEST,
                                  NGX_HTTP_MCP_INVALID_REQUEST,
                                  "Bad Request: no request of this server "
                                  "to this session waits for that id");
}


/*
 * GET /mcp: the session's stream of messages the server sends on its own
 * (at most one at a time: another is 409), or, with Last-Event-ID, the
 * stream that id belongs to, resumed after it.
 */

ngx_int_t
ngx_http_mcp_stream_get(ngx_http_mcp_call_t *call, ngx_http_mcp_error_t *err)
{
    uint64_t                        stream, seq;
    ngx_int_t                       rc;
    ngx_str_t                      *last, *t;
    ngx_queue_t                    *q;
    ngx_slab_pool_t                *pool;
    ngx_http_mcp_stream_t          *st;
    ngx_http_mcp_stream_shm_t      *shm;
    ngx_http_mcp_stream_event_t    *e;
    ngx_http_mcp_stream_session_t  *s;

    stream = 0;
    seq = 0;

    last = ngx_http_mcp_header(call->r, "Last-Event-ID");

    if (last != NULL
        && ngx_http_mcp_stream_last_event_id(last, &stream, &seq) != NGX_OK)
    {
        return ngx_http_mcp_rpc_error(err, NGX_HTTP_BAD_REQUEST,
                                      NGX_HTTP_MCP_INVALID_REQUEST,
                                      "Bad Request: Last-Event-ID is not an "
                                      "event id of this server");
    }

    rc = ngx_http_discard_request_body(call->r);
    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    st = ngx_http_mcp_stream_open(call);
    if (st == NULL) {
        return NGX_ERROR;
    }

    shm = ngx_http_mcp_stream_shm(call->r, &pool);

    ngx_shmtx_lock(&pool->mutex);

    rc = NGX_OK;

    if (seq > shm->seq) {
        rc = NGX_DECLINED;

    } else if (stream == 0) {
        s = ngx_http_mcp_stream_session(shm, pool, st->session, st->len, 1);

        if (s == NULL) {
            rc = NGX_ERROR;

        /* the claim of a worker that died with the stream open is
         * taken over */

        } else if (s->get
                   && (s->get == ngx_pid || ngx_http_mcp_stream_alive(s->get)))
        {
            rc = NGX_BUSY;

        } else {
            ngx_http_mcp_stream_claim(shm, s, ngx_pid);
            st->get = 1;
            st->sent = last ? seq : shm->seq;

            /* whose list changes it hears of (a session is one tenant's) */
            t = &ngx_http_mcp_caller(call->r)->tenant;
            s->tenant_len = ngx_min(t->len, MCP_STORE_SCOPE_MAX);
            ngx_memcpy(s->tenant, t->data, s->tenant_len);

            /* seen with its tenant now, not at the first tick: a stream
             * that ends before it (a reset) leaves a client that resumes
             * within the window, and the zone must not tell creations
             * that no session listens */
            ngx_http_mcp_stream_seen(shm, s);
        }

    } else {

        /* a stream of this session that some event still names */

        rc = NGX_DECLINED;
        s = ngx_http_mcp_stream_session(shm, pool, st->session, st->len, 0);

        for (q = s ? ngx_queue_head(&s->events) : NULL;
             q != NULL && q != ngx_queue_sentinel(&s->events);
             q = ngx_queue_next(q))
        {
            e = ngx_queue_data(q, ngx_http_mcp_stream_event_t, queue);

            if (e->stream == stream) {
                rc = NGX_OK;
                st->sent = seq;
                break;
            }
        }
    }

    ngx_shmtx_unlock(&pool->mutex);

    switch (rc) {

    case NGX_DECLINED:
        return ngx_http_mcp_rpc_error(err, NGX_HTTP_BAD_REQUEST,
                                      NGX_HTTP_MCP_INVALID_REQUEST,
                                      "Bad Request: Last-Event-ID names no "
                                      "stream of this session that is still "
                                      "kept (events are kept %d s)",
                                      NGX_HTTP_MCP_STREAM_KEEP);

    case NGX_BUSY:
        return ngx_http_mcp_rpc_error(err, NGX_HTTP_CONFLICT,
                                      NGX_HTTP_MCP_INVALID_REQUEST,
                                      "Conflict: this session has a GET "
                                      "stream open already");

    case NGX_ERROR:
        return ngx_http_mcp_rpc_error(err, NGX_HTTP_INSUFFICIENT_STORAGE,
                                      NGX_HTTP_MCP_INTERNAL_ERROR,
                                      "the zone of streams is full");
    }

    st->stream = stream;
    st->deadline = ngx_current_msec + NGX_HTTP_MCP_STREAM_LIFETIME;

    /* a graceful exit (a reload) waits for the next tick, which ends the
     * stream (the client resumes on another worker) and gives up the
     * claim: a claim of a worker gone would stay, and the session count
     * as listening and keep its node in the zone, until taken over */
    st->tick.cancelable = !st->get;

    if (ngx_http_mcp_stream_start(st, last == NULL) != NGX_OK) {
        return NGX_ERROR;
    }

    call->r->main->count++;

    /* what a resumption missed goes at once */
    ngx_add_timer(&st->tick, 1);

    return NGX_DONE;
}


/*
 * resources/subscribe (on 1) and unsubscribe (on 0) of the session of
 * call to uri, which the caller found readable.  NGX_OK, NGX_DECLINED
 * with err (too many), or NGX_ERROR.
 */

ngx_int_t
ngx_http_mcp_stream_subscribe(ngx_http_mcp_call_t *call, ngx_str_t *uri,
    ngx_uint_t on, ngx_http_mcp_error_t *err)
{
    uint32_t                        key;
    ngx_int_t                       rc;
    ngx_str_t                      *tenant;
    ngx_slab_pool_t                *pool;
    ngx_http_mcp_stream_shm_t      *shm;
    ngx_http_mcp_stream_sub_t      *sub;
    ngx_http_mcp_stream_session_t  *s;

    if (call->session.len > NGX_HTTP_MCP_STREAM_ID_MAX) {
        return NGX_ERROR;
    }

    tenant = &ngx_http_mcp_caller(call->r)->tenant;
    key = ngx_http_mcp_stream_sub_key(tenant, uri);
    shm = ngx_http_mcp_stream_shm(call->r, &pool);

    rc = NGX_OK;

    ngx_shmtx_lock(&pool->mutex);

    s = ngx_http_mcp_stream_session(shm, pool, call->session.data,
                                    call->session.len, on);
    if (s == NULL) {
        ngx_shmtx_unlock(&pool->mutex);
        return on ? NGX_ERROR : NGX_OK;
    }

    ngx_http_mcp_stream_seen(shm, s);

    /* a session is one tenant's: its subscription is one of the tenant's
     * to uri */

    for (sub = ngx_http_mcp_stream_sub_find(shm, NULL, key, tenant, uri);
         sub != NULL;
         sub = ngx_http_mcp_stream_sub_find(shm, sub, key, tenant, uri))
    {
        if (sub->session == s) {
            if (!on) {
                ngx_http_mcp_stream_unsubscribe(shm, pool, sub);
            }

            goto done;
        }
    }

    if (!on) {
        goto done;
    }

    if (s->nsubs >= NGX_HTTP_MCP_STREAM_SUBS) {
        rc = NGX_DECLINED;
        goto done;
    }

    sub = ngx_slab_alloc_locked(pool, sizeof(ngx_http_mcp_stream_sub_t)
                                      + tenant->len + uri->len);
    if (sub == NULL) {
        rc = NGX_ERROR;
        goto done;
    }

    sub->session = s;
    sub->tenant_len = tenant->len;
    sub->uri_len = uri->len;
    ngx_memcpy(ngx_cpymem(sub->data, tenant->data, tenant->len), uri->data,
               uri->len);

    sub->node.key = key;
    ngx_rbtree_insert(&shm->subs_tree, &sub->node);
    ngx_queue_insert_tail(&shm->subs, &sub->queue);
    s->nsubs++;
    shm->nsubs++;

done:

    ngx_http_mcp_stream_session_gc(shm, pool, s);

    ngx_shmtx_unlock(&pool->mutex);

    if (rc == NGX_DECLINED) {
        (void) ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INVALID_PARAMS,
                                     "Invalid params: a session subscribes "
                                     "to at most %d resources",
                                     NGX_HTTP_MCP_STREAM_SUBS);
    }

    return rc;
}


/*
 * The resource prefix + name, of the caller's tenant, changed through
 * request r (in whichever worker, on whichever route: a tool, mcp_admin):
 * notifications/resources/updated on the GET stream of every session of
 * the tenant subscribed to it.  A subscription of a session that had no
 * GET stream and subscribed nothing for mcp_session_timeout goes
 * instead.
 */

void
ngx_http_mcp_resource_changed(ngx_http_request_t *r, const char *prefix,
    u_char *name, size_t len)
{
    char                           *text;
    json_t                         *msg;
    size_t                          size, text_len;
    time_t                          idle;
    uint32_t                        key;
    ngx_str_t                       uri, *t;
    ngx_uint_t                      lost;
    ngx_slab_pool_t                *pool;
    ngx_http_mcp_main_conf_t       *mmcf;
    ngx_http_mcp_stream_shm_t      *shm;
    ngx_http_mcp_stream_sub_t      *sub, *next;
    ngx_http_mcp_stream_session_t  *s;

    mmcf = ngx_http_get_module_main_conf(r, ngx_mcp_module);

    if (name == NULL) {
        name = (u_char *) "";
    }

    if (mmcf->stream_zone == NULL) {
        return;
    }

    shm = ngx_http_mcp_stream_shm(r, &pool);

    /*
     * Every link written (POST /shorten among them) comes here: with no
     * subscription anywhere, a read of their count is all it costs, not
     * the lock nor the notification's JSON (why the read is safe:
     * ngx_http_mcp_resource_list_changed()).
     */

    if (shm->nsubs == 0) {
        return;
    }

    t = &ngx_http_mcp_caller(r)->tenant;

    size = ngx_strlen(prefix);
    uri.len = size + len;
    uri.data = ngx_pnalloc(r->pool, uri.len + 1);
    if (uri.data == NULL) {
        return;
    }

    *ngx_cpymem(ngx_cpymem(uri.data, prefix, size), name, len) = '\0';

    key = ngx_http_mcp_stream_sub_key(t, &uri);

    /* the notification is made only for a resource subscribed to */

    ngx_shmtx_lock(&pool->mutex);
    sub = ngx_http_mcp_stream_sub_find(shm, NULL, key, t, &uri);
    ngx_shmtx_unlock(&pool->mutex);

    if (sub == NULL) {
        return;
    }

    msg = json_pack("{s:s, s:s, s:{s:s%}}", "jsonrpc", "2.0",
                    "method", "notifications/resources/updated",
                    "params", "uri", uri.data, uri.len);
    text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;

    json_decref(msg);

    if (text == NULL) {
        return;
    }

    idle = ngx_time() - (time_t) (mmcf->session_timeout / 1000);
    text_len = ngx_strlen(text);
    lost = 0;

    ngx_shmtx_lock(&pool->mutex);

    for (sub = ngx_http_mcp_stream_sub_find(shm, NULL, key, t, &uri);
         sub != NULL;
         sub = next)
    {
        next = ngx_http_mcp_stream_sub_find(shm, sub, key, t, &uri);
        s = sub->session;

        if (!s->get && s->seen < idle) {
            ngx_http_mcp_stream_unsubscribe(shm, pool, sub);
            ngx_http_mcp_stream_session_gc(shm, pool, s);
            continue;
        }

        lost += ngx_http_mcp_stream_announce(shm, pool, s, text, text_len);
    }

    ngx_shmtx_unlock(&pool->mutex);

    ngx_http_mcp_stream_lost(r, lost, (const char *) uri.data);

    free(text);
}


/*
 * The caller's tenant's resources/list changed (a link created or
 * deleted, in whichever worker): notifications/resources/list_changed on
 * the GET stream of every session of the tenant that has one, or was
 * seen within the replay window (it resumes between two SSE polls; a
 * subscription counts as seen).
 */

void
ngx_http_mcp_resource_list_changed(ngx_http_request_t *r)
{
    time_t                          recent;
    ngx_str_t                      *t;
    ngx_uint_t                      lost;
    ngx_slab_pool_t                *pool;
    ngx_atomic_uint_t               gets;
    ngx_rbtree_node_t              *node;
    ngx_http_mcp_main_conf_t       *mmcf;
    ngx_http_mcp_stream_shm_t      *shm;
    ngx_http_mcp_stream_session_t  *s;

    mmcf = ngx_http_get_module_main_conf(r, ngx_mcp_module);

    if (mmcf->stream_zone == NULL) {
        return;
    }

    t = &ngx_http_mcp_caller(r)->tenant;
    recent = ngx_time() - NGX_HTTP_MCP_STREAM_KEEP;

    shm = ngx_http_mcp_stream_shm(r, &pool);

    /*
     * Every link created or deleted comes here, and the walk below visits
     * every session of the zone under the lock all workers share.  No
     * session hears of the change unless its GET stream is claimed or it
     * was seen within the window, with a tenant (an empty one would match
     * sessions that had no GET stream): with none claimed and none seen
     * since (shm->seen is the latest), the walk would find no one, and
     * neither it nor the lock is needed.  Both are single words, written
     * under the lock and read whole without it; a value read stale orders
     * this change before a GET stream claimed (or a subscription made)
     * at that very moment, as taking the lock before it would have: a
     * new GET stream sends only the events pushed after its claim.
     *
     * gets is read first, seen after it, with a barrier between: a
     * stream's session was marked seen (its claim, its ticks) under the
     * lock before its claim was given up, under the lock again, so a
     * zero count that follows a release comes with that seen or a later
     * one.  A CPU that orders loads weakly could otherwise load seen
     * before gets, an old seen with the new count, and tell a session
     * that still resumes within the window that no one listens.
     */

    if (t->len) {
        gets = shm->gets;
        ngx_memory_barrier();

        if (gets == 0 && shm->seen < (ngx_atomic_uint_t) recent) {
            ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "mcp: resources/list_changed: no session listens");
            return;
        }
    }

    lost = 0;

    ngx_shmtx_lock(&pool->mutex);

    /* logged once unlocked: a write to the log would hold every worker */
    gets = shm->gets;

    node = (shm->rbtree.root == shm->rbtree.sentinel)
           ? NULL : ngx_rbtree_min(shm->rbtree.root, shm->rbtree.sentinel);

    while (node != NULL) {
        s = (ngx_http_mcp_stream_session_t *) node;

        if (s->tenant_len == t->len
            && ngx_memcmp(s->tenant, t->data, t->len) == 0
            && (s->get || s->seen >= recent))
        {
            lost += ngx_http_mcp_stream_announce(
                        shm, pool, s, (char *) ngx_http_mcp_list_changed.data,
                        ngx_http_mcp_list_changed.len);
        }

        /* after the push: it may free other sessions' nodes, not this
         * one, which its new event keeps */
        node = ngx_rbtree_next(&shm->rbtree, node);
    }

    ngx_shmtx_unlock(&pool->mutex);

    ngx_http_mcp_stream_lost(r, lost, "the list of resources");

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "mcp: resources/list_changed: %uA GET streams claimed",
                   gets);
}


/*
 * Under the lock: text, a notification of len bytes, on the GET stream of
 * s; 1 when the zone had no room for it (the caller logs once it has
 * unlocked).
 */

static ngx_uint_t
ngx_http_mcp_stream_announce(ngx_http_mcp_stream_shm_t *shm,
    ngx_slab_pool_t *pool, ngx_http_mcp_stream_session_t *s, char *text,
    size_t len)
{
    return ngx_http_mcp_stream_push(shm, pool, s, 0, (u_char *) text, len, 0)
           == 0;
}


/* Unlocked: how many sessions an update of what did not reach. */

static void
ngx_http_mcp_stream_lost(ngx_http_request_t *r, ngx_uint_t lost,
    const char *what)
{
    if (lost) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "mcp: the zone \"%V\" is full: an update of %s is "
                      "lost for %ui session(s)",
                      &ngx_http_mcp_stream_zone_name, what, lost);
    }
}


/*
 * The session ended (DELETE): its events and subscriptions go, and its
 * GET stream ends.
 */

void
ngx_http_mcp_stream_forget(ngx_http_request_t *r, ngx_str_t *session)
{
    ngx_queue_t                    *q, *next;
    ngx_slab_pool_t                *pool;
    ngx_http_mcp_stream_shm_t      *shm;
    ngx_http_mcp_stream_sub_t      *sub;
    ngx_http_mcp_stream_session_t  *s;

    shm = ngx_http_mcp_stream_shm(r, &pool);

    ngx_shmtx_lock(&pool->mutex);

    s = ngx_http_mcp_stream_session(shm, pool, session->data, session->len,
                                    0);

    if (s == NULL) {
        ngx_shmtx_unlock(&pool->mutex);
        return;
    }

    for (q = ngx_queue_head(&shm->subs);
         q != ngx_queue_sentinel(&shm->subs);
         q = next)
    {
        next = ngx_queue_next(q);
        sub = ngx_queue_data(q, ngx_http_mcp_stream_sub_t, queue);

        if (sub->session == s) {
            ngx_http_mcp_stream_unsubscribe(shm, pool, sub);
        }
    }

    /* the node stays while requests of ours wait (their workers drop
     * them); the GET stream's worker sees the claim gone */

    s->npending++;

    while (!ngx_queue_empty(&s->events)) {
        ngx_http_mcp_stream_drop(shm, pool,
                                 ngx_queue_data(ngx_queue_head(&s->events),
                                                ngx_http_mcp_stream_event_t,
                                                queue));
    }

    s->npending--;
    ngx_http_mcp_stream_claim(shm, s, 0);

    ngx_http_mcp_stream_session_gc(shm, pool, s);

    ngx_shmtx_unlock(&pool->mutex);
}


/*
 * "<stream>-<seq>", both decimal without leading zeros.
 */

static ngx_int_t
ngx_http_mcp_stream_last_event_id(ngx_str_t *value, uint64_t *stream,
    uint64_t *seq)
{
    u_char      *p, *last;
    uint64_t    *n;
    ngx_uint_t   digits;

    last = value->data + value->len;

    n = stream;
    *stream = 0;
    *seq = 0;
    digits = 0;

    for (p = value->data; p < last; p++) {

        if (*p == '-' && n == stream && digits) {
            n = seq;
            digits = 0;
            continue;
        }

        /* 19 digits fit in 64 bits; no leading zeros */

        if (*p < '0' || *p > '9' || digits == 19
            || (digits == 1 && *n == 0))
        {
            return NGX_DECLINED;
        }

        *n = *n * 10 + (*p - '0');
        digits++;
    }

    return (n == seq && digits && *seq) ? NGX_OK : NGX_DECLINED;
}
