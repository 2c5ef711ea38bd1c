
/*
 * ngx_mcp cluster mode: the NATS JetStream client of each worker.
 *
 *     mcp_cluster nats://127.0.0.1:4222 [nats://...] [stream=ngx_mcp]
 *                 [replicas=3] [node=NAME] [timeout=3s] [max_age=TIME]
 *                 [max_msgs=N];
 *
 * Every node keeps its whole store.  A write is published as an operation
 * to the stream (subject "<stream>.op"); every worker of every node reads
 * the stream in order through its own ordered consumer, starting after
 * the last sequence its store has applied, and applies each operation
 * with mcp_store_op_apply(), which records the sequence in the same
 * transaction: of a node's workers the first to get there applies an
 * operation, the others find it applied and skip it.  A request that
 * wrote is answered when its own worker reaches its operation in the
 * stream: the outcome is then known here (applied by this worker, or
 * recorded by the one that came first), and every later read on this
 * node sees the write.
 *
 * Uniqueness of codes and aliases is by log order: the first put of a code
 * in the stream takes it, every node agrees, and a later one fails with
 * MCP_STORE_EXISTS on every node (409 for an alias; a random code is
 * drawn again and published again).
 *
 * Threads: cnats runs its own threads (socket reader, flusher, message
 * delivery).  They never touch nginx or the store: the callbacks queue
 * what happened (a message, a failed publish, a lost or regained
 * connection) and write to an eventfd that the worker's event loop
 * watches; the loop applies messages and resumes requests.  Connecting,
 * creating the stream and subscribing block, so a thread of ours does
 * them, retrying until it succeeds or the worker exits.  Nothing here
 * sleeps on the event loop.
 *
 * Failures: while the worker has no NATS connection, writes answer 503
 * at once; a write whose operation is not back within timeout= (no
 * quorum, a stalled stream) answers 503 then.  Reads never wait for NATS.
 * A lost connection and its return are logged once each.
 */


#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/random.h>

#include <nats/nats.h>

#include "ngx_http_mcp_rpc.h"
#include "ngx_http_mcp_cluster.h"


#define NGX_HTTP_MCP_CLUSTER_RETRY        500     /* ms between attempts */
#define NGX_HTTP_MCP_CLUSTER_STALL_RETRY  1000    /* ms, store trouble */
#define NGX_HTTP_MCP_CLUSTER_BATCH_SIZE   (256 * 1024)
#define NGX_HTTP_MCP_CLUSTER_MAX_PENDING  65536
#define NGX_HTTP_MCP_CLUSTER_MAX_URLS     16
#define NGX_HTTP_MCP_CLUSTER_WATCHDOG     1000    /* ms between looks */
#define NGX_HTTP_MCP_CLUSTER_STALLED      3000    /* ms without delivery */

/* what publishing adds to an operation at most: node name and id */
#define NGX_HTTP_MCP_CLUSTER_OP_HEAD      (MCP_STORE_OP_NODE_MAX + 16)


/* what a cnats thread hands to the event loop */
typedef enum {
    ngx_http_mcp_cluster_ev_msg = 0,
    ngx_http_mcp_cluster_ev_pub_failed,
    ngx_http_mcp_cluster_ev_ready,
    ngx_http_mcp_cluster_ev_down,
    ngx_http_mcp_cluster_ev_up,
    ngx_http_mcp_cluster_ev_acked,
    ngx_http_mcp_cluster_ev_log
} ngx_http_mcp_cluster_ev_e;


typedef struct ngx_http_mcp_cluster_ev_s  ngx_http_mcp_cluster_ev_t;

struct ngx_http_mcp_cluster_ev_s {
    ngx_http_mcp_cluster_ev_t   *next;
    ngx_http_mcp_cluster_ev_e    type;
    natsMsg                     *msg;
    uint64_t                     seq;      /* of msg in the stream */
    uint64_t                     id;       /* of a failed publish */
    ngx_uint_t                   level;    /* of a log line */
    char                         text[256];
};


typedef struct {
    /* configuration */
    ngx_array_t                 *urls;      /* of char *, NUL-terminated */
    ngx_str_t                    stream;
    ngx_str_t                    subject;   /* "<stream>.op" */
    ngx_str_t                    node;
    ngx_int_t                    replicas;
    ngx_msec_t                   timeout;
    time_t                       max_age;   /* of the stream, 0: none */
    ngx_int_t                    max_msgs;  /* 0: no limit */

    /* per worker, from init_process */
    ngx_log_t                   *log;
    mcp_store_t                 *store;
    natsOptions                 *opts;
    natsConnection              *nc;
    jsCtx                       *js;
    natsSubscription            *sub;
    pthread_t                    thread;
    ngx_uint_t                   thread_started;
    volatile sig_atomic_t        quit;
    uint64_t                     start_seq;
    uint64_t                     next_id;

    /* the queue from cnats threads, under lock */
    pthread_mutex_t              lock;
    ngx_http_mcp_cluster_ev_t   *head;
    ngx_http_mcp_cluster_ev_t   *tail;
    int                          efd;
    ngx_connection_t            *notify;

    ngx_rbtree_t                 pending;   /* requests waiting, by id */
    ngx_rbtree_node_t            sentinel;
    ngx_uint_t                   npending;

    ngx_event_t                  retry;     /* the store failed: again */

    /*
     * The watchdog of the subscription: the stream has acknowledged up
     * to acked, this worker has been delivered up to delivered, and
     * progress is when it last caught up or was delivered something.  An
     * ordered consumer that the servers lost (all of them restarted at
     * once, say) may stop delivering for good: then it is made again.
     */
    uint64_t                     acked;
    uint64_t                     delivered;
    ngx_msec_t                   progress;
    ngx_event_t                  watchdog;
    ngx_uint_t                   resubscribing;
    uint64_t                     ack_posted;  /* the ack thread's own */

    /* a single node's group commit, instead of NATS (see
     * ngx_http_mcp_commit.c): operations are committed, not published */
    ngx_http_mcp_commit_t       *local;

    /* operations not yet sent, one batch (see _publish()) */
    ngx_str_t                    out;
    size_t                       out_size;
    ngx_uint_t                   nout;
    ngx_event_t                  flush_ev;
    ngx_uint_t                   ready;     /* subscribed, writes taken */
    ngx_uint_t                   up;        /* connected */
    ngx_uint_t                   logged_down;
    ngx_uint_t                   stalled;
} ngx_http_mcp_cluster_conf_t;


/* A request waiting for its operation. */
typedef struct {
    ngx_rbtree_node_t               node;     /* key: the operation's id */
    ngx_http_request_t             *r;
    ngx_http_mcp_cluster_conf_t    *ccf;
    ngx_http_mcp_cluster_done_pt    done;
    void                           *data;
    ngx_event_t                     timer;
    ngx_uint_t                      waiting;
    const uint64_t                 *detail;   /* of the outcome, while
                                                 done() runs */
    size_t                          ndetail;
} ngx_http_mcp_cluster_wait_t;


/* a link being shortened (POST /shorten, shorten_url) */
typedef struct {
    ngx_http_mcp_shorten_req_t      req;
    ngx_str_t                       code;
    mcp_store_op_t                  op;
    ngx_uint_t                      tries;
    ngx_http_mcp_shortened_pt       shortened;
    void                           *data;
} ngx_http_mcp_cluster_shorten_t;


/* where a consumed visit redirects to, once the log has counted it */
typedef struct {
    ngx_str_t                       code;
    ngx_str_t                       url;
    ngx_uint_t                      status;   /* the link's, or 0 */
} ngx_http_mcp_cluster_target_t;


/* an MCP tool call waiting for its write */
typedef struct {
    ngx_http_mcp_call_t            *call;
    ngx_http_mcp_cluster_finish_pt  finish;
    void                           *data;
} ngx_http_mcp_cluster_tool_t;


/* a numeric parameter of mcp_cluster: "name=n", min <= n <= max */
typedef struct {
    ngx_str_t                       name;
    ngx_int_t                       min;
    ngx_int_t                       max;
    size_t                          offset;
} ngx_http_mcp_cluster_number_t;


static void *ngx_http_mcp_cluster_create_conf(ngx_conf_t *cf);
static char *ngx_http_mcp_cluster_init_conf(ngx_conf_t *cf, void *conf);
static char *ngx_http_mcp_cluster(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_mcp_cluster_number(ngx_http_mcp_cluster_conf_t *ccf,
    ngx_str_t *arg);
static ngx_http_mcp_cluster_conf_t *ngx_http_mcp_cluster_conf(
    ngx_cycle_t *cycle);
static ngx_uint_t ngx_http_mcp_cluster_writes_as_ops(
    ngx_http_mcp_cluster_conf_t *ccf);
static ngx_int_t ngx_http_mcp_cluster_publish_detached(
    ngx_http_mcp_cluster_conf_t *ccf, mcp_store_op_t *op);
static ngx_int_t ngx_http_mcp_cluster_init_process(ngx_cycle_t *cycle);
static void ngx_http_mcp_cluster_init_queue(ngx_http_mcp_cluster_conf_t *ccf,
    ngx_cycle_t *cycle, ngx_http_mcp_main_conf_t *mmcf);
static ngx_int_t ngx_http_mcp_cluster_init_local(ngx_cycle_t *cycle);
static void ngx_http_mcp_cluster_local_done(void *data, ngx_str_t *untold,
    ngx_int_t outcome);
static void ngx_http_mcp_cluster_exit_process(ngx_cycle_t *cycle);
static void *ngx_http_mcp_cluster_setup(void *data);
static ngx_int_t ngx_http_mcp_cluster_setup_once(
    ngx_http_mcp_cluster_conf_t *ccf, char *err, size_t len);
static void ngx_http_mcp_cluster_on_msg(natsConnection *nc,
    natsSubscription *sub, natsMsg *msg, void *closure);
static void ngx_http_mcp_cluster_on_ack(jsCtx *js, natsMsg *msg,
    jsPubAck *pa, jsPubAckErr *pae, void *closure);
static void ngx_http_mcp_cluster_on_down(natsConnection *nc, void *closure);
static void ngx_http_mcp_cluster_on_up(natsConnection *nc, void *closure);
static void ngx_http_mcp_cluster_post(ngx_http_mcp_cluster_conf_t *ccf,
    ngx_http_mcp_cluster_ev_t *ev);
static void ngx_http_mcp_cluster_post_state(
    ngx_http_mcp_cluster_conf_t *ccf, ngx_http_mcp_cluster_ev_e type);
static void ngx_http_mcp_cluster_post_log(ngx_http_mcp_cluster_conf_t *ccf,
    ngx_uint_t level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void ngx_http_mcp_cluster_notified(ngx_event_t *ev);
static void ngx_http_mcp_cluster_drain(ngx_http_mcp_cluster_conf_t *ccf);
static ngx_int_t ngx_http_mcp_cluster_apply(ngx_http_mcp_cluster_conf_t *ccf,
    ngx_http_mcp_cluster_ev_t *ev);
static void ngx_http_mcp_cluster_applied(void *data,
    const mcp_store_op_t *op, int outcome, const uint64_t *detail,
    size_t ndetail);
static void ngx_http_mcp_cluster_flush(ngx_event_t *ev);
static void ngx_http_mcp_cluster_send(ngx_http_mcp_cluster_conf_t *ccf);
static void ngx_http_mcp_cluster_fail(ngx_http_mcp_cluster_conf_t *ccf,
    ngx_str_t *ops, ngx_int_t outcome);
static void ngx_http_mcp_cluster_retry(ngx_event_t *ev);
static void ngx_http_mcp_cluster_watchdog(ngx_event_t *ev);
static ngx_int_t ngx_http_mcp_cluster_publish(
    ngx_http_mcp_cluster_conf_t *ccf, mcp_store_op_t *op);
static ngx_http_mcp_cluster_wait_t *ngx_http_mcp_cluster_find(
    ngx_http_mcp_cluster_conf_t *ccf, uint64_t id);
static void ngx_http_mcp_cluster_finish(ngx_http_mcp_cluster_wait_t *w,
    ngx_int_t outcome, const uint64_t *detail, size_t ndetail);
static void ngx_http_mcp_cluster_timeout(ngx_event_t *ev);
static void ngx_http_mcp_cluster_cleanup(void *data);
static ngx_int_t ngx_http_mcp_cluster_shorten_publish(ngx_http_request_t *r,
    ngx_http_mcp_cluster_shorten_t *sh);
static ngx_int_t ngx_http_mcp_cluster_shorten_done(ngx_http_request_t *r,
    void *data, ngx_int_t outcome);
static ngx_int_t ngx_http_mcp_cluster_consumed(ngx_http_request_t *r,
    void *data, ngx_int_t outcome);
static ngx_int_t ngx_http_mcp_cluster_tool_done(ngx_http_request_t *r,
    void *data, ngx_int_t outcome);


static ngx_command_t  ngx_http_mcp_cluster_commands[] = {

    { ngx_string("mcp_cluster"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_mcp_cluster,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_mcp_cluster_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_mcp_cluster_create_conf,      /* create main configuration */
    ngx_http_mcp_cluster_init_conf,        /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


/*
 * A module of its own in the same shared object, listed after
 * ngx_mcp_module: its init_process runs once the store is open, and its
 * exit_process after the last visit batch has been published.
 */

ngx_module_t  ngx_mcp_cluster_module = {
    NGX_MODULE_V1,
    &ngx_http_mcp_cluster_module_ctx,      /* module context */
    ngx_http_mcp_cluster_commands,         /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_mcp_cluster_init_process,     /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_mcp_cluster_exit_process,     /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_mcp_cluster_create_conf(ngx_conf_t *cf)
{
    ngx_http_mcp_cluster_conf_t  *ccf;

    ccf = ngx_pcalloc(cf->pool, sizeof(ngx_http_mcp_cluster_conf_t));
    if (ccf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     ccf->urls = NULL;
     *     ccf->stream = { 0, NULL };
     *     ccf->node = { 0, NULL };
     */

    ccf->replicas = NGX_CONF_UNSET;
    ccf->timeout = NGX_CONF_UNSET_MSEC;
    ccf->efd = -1;

    return ccf;
}


static char *
ngx_http_mcp_cluster_init_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_mcp_cluster_conf_t *ccf = conf;

    ngx_http_mcp_main_conf_t  *mmcf;

    if (ccf->urls == NULL) {
        return NGX_CONF_OK;
    }

    mmcf = ngx_http_conf_get_module_main_conf(cf, ngx_mcp_module);

    if (mmcf->path.data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"mcp_cluster\" needs \"mcp_store\" in the http "
                           "block");
        return NGX_CONF_ERROR;
    }

    if (ccf->stream.len == 0) {
        ngx_str_set(&ccf->stream, "ngx_mcp");
    }

    ngx_conf_init_value(ccf->replicas, (ccf->urls->nelts > 1) ? 3 : 1);
    ngx_conf_init_msec_value(ccf->timeout, 3000);

    if (ccf->node.len == 0) {
        ccf->node = cf->cycle->hostname;
    }

    if (ccf->node.len == 0 || ccf->node.len > MCP_STORE_OP_NODE_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "mcp_cluster: the node name \"%V\" must be 1 to "
                           "%d characters: set node=", &ccf->node,
                           MCP_STORE_OP_NODE_MAX);
        return NGX_CONF_ERROR;
    }

    ccf->subject.len = ccf->stream.len + sizeof(".op") - 1;
    ccf->subject.data = ngx_pnalloc(cf->pool, ccf->subject.len + 1);
    if (ccf->subject.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_sprintf(ccf->subject.data, "%V.op%Z", &ccf->stream);

    return NGX_CONF_OK;
}


/* [A-Za-z0-9_-] and, for node names, ".": what NATS and the store take */

static ngx_int_t
ngx_http_mcp_cluster_name_valid(ngx_str_t *name, ngx_uint_t dot)
{
    u_char      c;
    ngx_uint_t  i;

    if (name->len == 0) {
        return NGX_DECLINED;
    }

    for (i = 0; i < name->len; i++) {
        c = name->data[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_' || c == '-'
              || (dot && c == '.')))
        {
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


static char *
ngx_http_mcp_cluster(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_mcp_cluster_conf_t *ccf = conf;

    char       **url;
    ngx_str_t   *value, s;
    ngx_int_t    rc;
    ngx_uint_t   i;
    ngx_msec_t   ms;

    if (ccf->urls != NULL) {
        return "is duplicate";
    }

    ccf->urls = ngx_array_create(cf->pool, 4, sizeof(char *));
    if (ccf->urls == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "nats://", 7) == 0
            && value[i].len > 7)
        {
            if (ccf->urls->nelts == NGX_HTTP_MCP_CLUSTER_MAX_URLS) {
                goto invalid;
            }

            url = ngx_array_push(ccf->urls);
            if (url == NULL) {
                return NGX_CONF_ERROR;
            }

            /* the configuration's strings are NUL-terminated */
            *url = (char *) value[i].data;
            continue;
        }

        if (ngx_strncmp(value[i].data, "stream=", 7) == 0) {
            ccf->stream.len = value[i].len - 7;
            ccf->stream.data = value[i].data + 7;

            if (ngx_http_mcp_cluster_name_valid(&ccf->stream, 0) != NGX_OK) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "node=", 5) == 0) {
            ccf->node.len = value[i].len - 5;
            ccf->node.data = value[i].data + 5;

            if (ngx_http_mcp_cluster_name_valid(&ccf->node, 1) != NGX_OK
                || ccf->node.len > MCP_STORE_OP_NODE_MAX)
            {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "max_age=", 8) == 0) {
            s.len = value[i].len - 8;
            s.data = value[i].data + 8;

            ccf->max_age = ngx_parse_time(&s, 1);
            if (ccf->max_age == (time_t) NGX_ERROR) {
                goto invalid;
            }

            continue;
        }

        rc = ngx_http_mcp_cluster_number(ccf, &value[i]);

        if (rc == NGX_OK) {
            continue;
        }

        if (rc == NGX_ERROR) {
            goto invalid;
        }

        if (ngx_strncmp(value[i].data, "timeout=", 8) == 0) {
            s.len = value[i].len - 8;
            s.data = value[i].data + 8;

            ms = ngx_parse_time(&s, 0);
            if (ms == (ngx_msec_t) NGX_ERROR || ms < 100 || ms > 5000) {
                goto invalid;
            }

            ccf->timeout = ms;
            continue;
        }

        goto invalid;
    }

    if (ccf->urls->nelts == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "mcp_cluster needs at least one nats:// URL");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;

invalid:

    return ngx_http_mcp_conf_invalid(cf, &value[i]);
}


static ngx_http_mcp_cluster_number_t  ngx_http_mcp_cluster_numbers[] = {
    { ngx_string("replicas="), 1, 5,
      offsetof(ngx_http_mcp_cluster_conf_t, replicas) },
    { ngx_string("max_msgs="), 0, NGX_MAX_INT_T_VALUE,
      offsetof(ngx_http_mcp_cluster_conf_t, max_msgs) },
    { ngx_null_string, 0, 0, 0 }
};


/*
 * One of ngx_http_mcp_cluster_numbers[] set from arg: NGX_OK; NGX_ERROR
 * for a value out of its range; NGX_DECLINED if arg is none of them.
 */

static ngx_int_t
ngx_http_mcp_cluster_number(ngx_http_mcp_cluster_conf_t *ccf, ngx_str_t *arg)
{
    ngx_int_t                       n;
    ngx_http_mcp_cluster_number_t  *num;

    for (num = ngx_http_mcp_cluster_numbers; num->name.len; num++) {
        if (arg->len < num->name.len
            || ngx_strncmp(arg->data, num->name.data, num->name.len) != 0)
        {
            continue;
        }

        n = ngx_atoi(arg->data + num->name.len, arg->len - num->name.len);
        if (n == NGX_ERROR || n < num->min || n > num->max) {
            return NGX_ERROR;
        }

        *(ngx_int_t *) ((u_char *) ccf + num->offset) = n;

        return NGX_OK;
    }

    return NGX_DECLINED;
}


/* The cluster's configuration; NULL where mcp_cluster is not set. */

static ngx_http_mcp_cluster_conf_t *
ngx_http_mcp_cluster_conf(ngx_cycle_t *cycle)
{
    ngx_http_mcp_cluster_conf_t  *ccf;

    ccf = ngx_http_cycle_get_module_main_conf(cycle, ngx_mcp_cluster_module);

    if (ccf == NULL || ccf->urls == NULL) {
        return NULL;
    }

    return ccf;
}


/*
 * Does this node take writes as operations: published to the cluster
 * (mcp_cluster), or a single node's group commit (ccf->local)?
 */

static ngx_uint_t
ngx_http_mcp_cluster_writes_as_ops(ngx_http_mcp_cluster_conf_t *ccf)
{
    return ccf->urls != NULL || ccf->local != NULL;
}


ngx_int_t
ngx_http_mcp_cluster_state(ngx_cycle_t *cycle,
    ngx_http_mcp_cluster_state_t *st)
{
    ngx_http_mcp_cluster_conf_t  *ccf;

    ccf = ngx_http_mcp_cluster_conf(cycle);
    if (ccf == NULL) {
        return NGX_DECLINED;
    }

    st->node = ccf->node;
    st->connected = ccf->ready && ccf->up;
    st->stream_last = ngx_max(ccf->acked, ccf->delivered);

    if (ccf->store == NULL
        || mcp_store_op_applied(ccf->store, &st->applied) != MCP_STORE_OK)
    {
        st->applied = 0;
    }

    st->stream_last = ngx_max(st->stream_last, st->applied);

    return NGX_OK;
}


/* what the worker's writes need, through NATS or group commit alike */

static void
ngx_http_mcp_cluster_init_queue(ngx_http_mcp_cluster_conf_t *ccf,
    ngx_cycle_t *cycle, ngx_http_mcp_main_conf_t *mmcf)
{
    ccf->log = cycle->log;
    ccf->store = mmcf->store;

    ngx_rbtree_init(&ccf->pending, &ccf->sentinel, ngx_rbtree_insert_value);

    ccf->flush_ev.handler = ngx_http_mcp_cluster_flush;
    ccf->flush_ev.data = ccf;
    ccf->flush_ev.log = cycle->log;
}


/*
 * Without mcp_cluster, group commit (durability=sync): the same
 * operations and waits, committed in batches in the thread pool by
 * ngx_http_mcp_commit.c instead of published.  Each operation still needs
 * a node name (every operation has one) and an id of this worker's.
 */

static ngx_int_t
ngx_http_mcp_cluster_init_local(ngx_cycle_t *cycle)
{
    ngx_http_mcp_commit_t        *gc;
    ngx_http_mcp_main_conf_t     *mmcf;
    ngx_http_mcp_cluster_conf_t  *ccf;

    ccf = ngx_http_cycle_get_module_main_conf(cycle, ngx_mcp_cluster_module);
    if (ccf == NULL) {
        return NGX_OK;
    }

    gc = ngx_http_mcp_commit_init(cycle, ngx_http_mcp_cluster_applied,
                                  ngx_http_mcp_cluster_local_done, ccf);

    if (gc == NGX_HTTP_MCP_COMMIT_ERROR) {
        return NGX_ERROR;
    }

    if (gc == NULL) {
        return NGX_OK;
    }

    mmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_mcp_module);

    ngx_http_mcp_cluster_init_queue(ccf, cycle, mmcf);

    ngx_str_set(&ccf->node, "local");
    ccf->local = gc;

    return NGX_OK;
}


/*
 * A batch has been committed, its requests told, but for those it could
 * not tell (a commit that failed as a whole): they are answered as those
 * of a batch that could not be sent.  Then the writes taken meanwhile go
 * next.
 */

static void
ngx_http_mcp_cluster_local_done(void *data, ngx_str_t *untold,
    ngx_int_t outcome)
{
    ngx_http_mcp_cluster_conf_t *ccf = data;

    if (untold != NULL) {
        ngx_http_mcp_cluster_fail(ccf, untold, outcome);
        return;
    }

    ngx_http_mcp_cluster_send(ccf);
}


static ngx_int_t
ngx_http_mcp_cluster_init_process(ngx_cycle_t *cycle)
{
    int                           rc;
    uint32_t                      boot;
    natsStatus                    s;
    ngx_event_t                  *rev;
    ngx_connection_t             *c;
    ngx_http_mcp_main_conf_t     *mmcf;
    ngx_http_mcp_cluster_conf_t  *ccf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    ccf = ngx_http_mcp_cluster_conf(cycle);
    if (ccf == NULL) {
        return ngx_http_mcp_cluster_init_local(cycle);
    }

    mmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_mcp_module);

    ngx_http_mcp_cluster_init_queue(ccf, cycle, mmcf);

    ccf->retry.handler = ngx_http_mcp_cluster_retry;
    ccf->retry.data = ccf;
    ccf->retry.log = cycle->log;
    ccf->retry.cancelable = 1;

    ccf->watchdog.handler = ngx_http_mcp_cluster_watchdog;
    ccf->watchdog.data = ccf;
    ccf->watchdog.log = cycle->log;
    ccf->watchdog.cancelable = 1;

    ngx_add_timer(&ccf->watchdog, NGX_HTTP_MCP_CLUSTER_WATCHDOG);

    /*
     * Ids of this worker's operations: 32 random bits, then a counter.
     * The stream may still hold operations of an earlier worker of this
     * node (before a restart, or one killed) that this one replays: their
     * ids must not be taken for its own.
     */

    if (getrandom(&boot, sizeof(boot), 0) != sizeof(boot)) {
        boot = (uint32_t) ngx_pid ^ (uint32_t) ngx_time();
    }

    ccf->next_id = (uint64_t) boot << 32;

    rc = mcp_store_op_applied(ccf->store, &ccf->start_seq);
    if (rc != MCP_STORE_OK) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "mcp_cluster: the store's applied sequence cannot be "
                      "read: %s", mcp_store_strerror(rc));
        return NGX_ERROR;
    }

    ccf->start_seq++;

    if (pthread_mutex_init(&ccf->lock, NULL) != 0) {
        return NGX_ERROR;
    }

    ccf->efd = eventfd(0, EFD_NONBLOCK|EFD_CLOEXEC);
    if (ccf->efd == -1) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                      "mcp_cluster: eventfd() failed");
        return NGX_ERROR;
    }

    c = ngx_get_connection(ccf->efd, cycle->log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    ccf->notify = c;

    /* the event's data is its connection, as nginx's event modules
     * expect; the connection's is ours */

    rev = c->read;
    rev->handler = ngx_http_mcp_cluster_notified;
    rev->log = cycle->log;
    c->data = ccf;

    /* level-triggered: the handler reads the counter back to zero */

    if (ngx_add_event(rev, NGX_READ_EVENT, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    s = natsOptions_Create(&ccf->opts);
    if (s == NATS_OK) {
        s = natsOptions_SetServers(ccf->opts, (const char **) ccf->urls->elts,
                                   (int) ccf->urls->nelts);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetName(ccf->opts, (char *) ccf->node.data);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetTimeout(ccf->opts, 1000);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetMaxReconnect(ccf->opts, -1);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetReconnectWait(ccf->opts, 250);
    }
    if (s == NATS_OK) {
        /* a server that went silent is given up within about 8 s (one
         * that went away is noticed at once); writes meanwhile answer
         * 503 after timeout= */
        s = natsOptions_SetPingInterval(ccf->opts, 2000);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetMaxPingsOut(ccf->opts, 3);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetDisconnectedCB(ccf->opts,
                                          ngx_http_mcp_cluster_on_down, ccf);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetReconnectedCB(ccf->opts,
                                         ngx_http_mcp_cluster_on_up, ccf);
    }

    if (s != NATS_OK) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "mcp_cluster: NATS options: %s",
                      natsStatus_GetText(s));
        return NGX_ERROR;
    }

    if (pthread_create(&ccf->thread, NULL, ngx_http_mcp_cluster_setup, ccf)
        != 0)
    {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                      "mcp_cluster: pthread_create() failed");
        return NGX_ERROR;
    }

    ccf->thread_started = 1;

    return NGX_OK;
}


static void
ngx_http_mcp_cluster_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_mcp_cluster_ev_t    *ev, *next, *list;
    ngx_http_mcp_cluster_conf_t  *ccf;

    ccf = ngx_http_mcp_cluster_conf(cycle);

    if (ccf == NULL || ccf->opts == NULL) {
        /* group commit's end is ngx_http_mcp_cluster_exit_local() */
        return;
    }

    ccf->quit = 1;

    if (ccf->thread_started) {
        (void) pthread_join(ccf->thread, NULL);
        ccf->thread_started = 0;
    }

    if (ccf->watchdog.timer_set) {
        ngx_del_timer(&ccf->watchdog);
    }

    if (ccf->flush_ev.posted) {
        ngx_delete_posted_event(&ccf->flush_ev);
    }

    if (ccf->ready) {
        ngx_http_mcp_cluster_send(ccf);
    }

    /* the subscription's consumer is ephemeral: the server drops it */

    if (ccf->sub != NULL) {
        natsSubscription_Destroy(ccf->sub);
    }

    if (ccf->nc != NULL) {
        /* flushes what was published (the last visit batch) */
        (void) natsConnection_FlushTimeout(ccf->nc, 500);
        natsConnection_Close(ccf->nc);
    }

    jsCtx_Destroy(ccf->js);
    natsConnection_Destroy(ccf->nc);
    natsOptions_Destroy(ccf->opts);

    /*
     * Messages handed over but not taken are destroyed while the library
     * still runs (natsMsg_Destroy() needs it); one that a last callback
     * queues after this is only freed with the process.
     */

    (void) pthread_mutex_lock(&ccf->lock);
    list = ccf->head;
    ccf->head = NULL;
    ccf->tail = NULL;
    (void) pthread_mutex_unlock(&ccf->lock);

    for (ev = list; ev; ev = next) {
        next = ev->next;
        natsMsg_Destroy(ev->msg);
        free(ev);
    }

    (void) nats_CloseAndWait(1000);

    /* no cnats thread is left to write to the eventfd */

    if (ccf->notify != NULL) {
        ngx_close_connection(ccf->notify);
        ccf->notify = NULL;
    }

    for (ev = ccf->head; ev; ev = next) {
        next = ev->next;
        free(ev);
    }

    ccf->head = NULL;

    if (ccf->out.data) {
        ngx_free(ccf->out.data);
        ccf->out.data = NULL;
    }
}


/*
 * A batch in flight is committed; what was taken since is not, and none
 * of those requests is answered.
 */

void
ngx_http_mcp_cluster_exit_local(ngx_cycle_t *cycle)
{
    ngx_http_mcp_cluster_conf_t  *ccf;

    ccf = ngx_http_cycle_get_module_main_conf(cycle, ngx_mcp_cluster_module);

    if (ccf == NULL || ccf->local == NULL) {
        return;
    }

    if (ccf->flush_ev.posted) {
        ngx_delete_posted_event(&ccf->flush_ev);
    }

    ngx_http_mcp_commit_exit(ccf->local);
    ccf->local = NULL;

    ngx_free(ccf->out.data);
    ccf->out.data = NULL;
}


/*
 * The setup thread: connects, makes sure the stream exists, subscribes
 * from the store's next sequence, and ends.  It retries every
 * NGX_HTTP_MCP_CLUSTER_RETRY ms until it succeeds or the worker exits;
 * its first failure is logged, the others not.
 */

static void *
ngx_http_mcp_cluster_setup(void *data)
{
    ngx_http_mcp_cluster_conf_t *ccf = data;

    char        err[200];
    ngx_uint_t  logged;

    logged = 0;

    while (!ccf->quit) {

        if (ngx_http_mcp_cluster_setup_once(ccf, err, sizeof(err))
            == NGX_OK)
        {
            ngx_http_mcp_cluster_post_state(ccf,
                                            ngx_http_mcp_cluster_ev_ready);
            return NULL;
        }

        if (!logged) {
            ngx_http_mcp_cluster_post_log(ccf, NGX_LOG_ERR,
                                          "mcp_cluster: %s; writes answer "
                                          "503 until NATS is reachable, "
                                          "retrying", err);
            logged = 1;
        }

        nats_Sleep(NGX_HTTP_MCP_CLUSTER_RETRY);
    }

    return NULL;
}


static ngx_int_t
ngx_http_mcp_cluster_setup_once(ngx_http_mcp_cluster_conf_t *ccf, char *err,
    size_t len)
{
    const char         *subjects[1];
    jsErrCode           jerr;
    jsOptions           jo;
    natsStatus          s;
    jsSubOptions        so;
    jsStreamInfo       *si;
    jsStreamConfig      sc;

    if (ccf->nc == NULL) {
        s = natsConnection_Connect(&ccf->nc, ccf->opts);
        if (s != NATS_OK) {
            ccf->nc = NULL;
            (void) snprintf(err, len, "cannot connect to NATS: %s",
                            natsStatus_GetText(s));
            return NGX_ERROR;
        }
    }

    if (ccf->js == NULL) {
        jsOptions_Init(&jo);
        jo.Wait = 2000;
        jo.PublishAsync.MaxPending = NGX_HTTP_MCP_CLUSTER_MAX_PENDING;
        jo.PublishAsync.AckHandler = ngx_http_mcp_cluster_on_ack;
        jo.PublishAsync.AckHandlerClosure = ccf;
        jo.PublishAsync.StallWait = 10;

        s = natsConnection_JetStream(&ccf->js, ccf->nc, &jo);
        if (s != NATS_OK) {
            ccf->js = NULL;
            (void) snprintf(err, len, "no JetStream context: %s",
                            natsStatus_GetText(s));
            return NGX_ERROR;
        }
    }

    si = NULL;
    jerr = 0;

    s = js_GetStreamInfo(&si, ccf->js, (char *) ccf->stream.data, NULL,
                         &jerr);

    if (s == NATS_NOT_FOUND) {
        jsStreamConfig_Init(&sc);

        subjects[0] = (char *) ccf->subject.data;

        sc.Name = (char *) ccf->stream.data;
        sc.Subjects = subjects;
        sc.SubjectsLen = 1;
        sc.Storage = js_FileStorage;
        sc.Replicas = ccf->replicas;
        sc.Retention = js_LimitsPolicy;

        /* old operations go; nodes further behind start from a copy of
         * another node's store */
        sc.MaxAge = (int64_t) ccf->max_age * 1000000000;
        sc.MaxMsgs = ccf->max_msgs ? ccf->max_msgs : -1;

        /* two nodes may create it at once: either way it exists after */
        s = js_AddStream(&si, ccf->js, &sc, NULL, &jerr);

        if (s != NATS_OK) {
            jsStreamInfo_Destroy(si);
            si = NULL;
            s = js_GetStreamInfo(&si, ccf->js, (char *) ccf->stream.data,
                                 NULL, &jerr);
        }
    }

    if (s != NATS_OK) {
        (void) snprintf(err, len, "stream \"%s\" unavailable: %s (%d)",
                        (char *) ccf->stream.data, natsStatus_GetText(s),
                        (int) jerr);
        jsStreamInfo_Destroy(si);
        return NGX_ERROR;
    }

    /*
     * A store behind the first sequence the stream still holds cannot
     * catch up by replay: it must be seeded from a copy of another node's
     * store (which carries its sequence).
     */

    if (ccf->start_seq < si->State.FirstSeq) {
        (void) snprintf(err, len, "the store has applied up to %llu but the "
                        "stream starts at %llu: seed this node from a copy "
                        "of another node's store",
                        (unsigned long long) ccf->start_seq - 1,
                        (unsigned long long) si->State.FirstSeq);
        jsStreamInfo_Destroy(si);
        return NGX_ERROR;
    }

    /* a store ahead of the stream was written from another stream: it
     * would skip the operations numbered as those it has */

    if (ccf->start_seq > si->State.LastSeq + 1) {
        (void) snprintf(err, len, "the store has applied up to %llu but the "
                        "stream ends at %llu: the store belongs to another "
                        "stream", (unsigned long long) ccf->start_seq - 1,
                        (unsigned long long) si->State.LastSeq);
        jsStreamInfo_Destroy(si);
        return NGX_ERROR;
    }

    jsStreamInfo_Destroy(si);

    /* a subscription made again (see the watchdog): the old one goes */

    if (ccf->sub != NULL) {
        (void) natsSubscription_Unsubscribe(ccf->sub);
        natsSubscription_Destroy(ccf->sub);
        ccf->sub = NULL;
    }

    jsSubOptions_Init(&so);
    so.Stream = (char *) ccf->stream.data;
    so.Ordered = true;
    so.Config.DeliverPolicy = js_DeliverByStartSequence;
    so.Config.OptStartSeq = ccf->start_seq;
    so.Config.Heartbeat = (int64_t) 1000 * 1000 * 1000;

    s = js_Subscribe(&ccf->sub, ccf->js, (char *) ccf->subject.data,
                     ngx_http_mcp_cluster_on_msg, ccf, NULL, &so, &jerr);
    if (s != NATS_OK) {
        ccf->sub = NULL;
        (void) snprintf(err, len, "cannot subscribe to \"%s\": %s (%d)",
                        (char *) ccf->stream.data, natsStatus_GetText(s),
                        (int) jerr);
        return NGX_ERROR;
    }

    (void) natsSubscription_SetPendingLimits(ccf->sub, -1, -1);

    return NGX_OK;
}


/* cnats threads: queue what happened for the event loop */

static void
ngx_http_mcp_cluster_on_msg(natsConnection *nc, natsSubscription *sub,
    natsMsg *msg, void *closure)
{
    ngx_http_mcp_cluster_conf_t *ccf = closure;

    jsMsgMetaData              *meta;
    ngx_http_mcp_cluster_ev_t  *ev;

    meta = NULL;

    ev = calloc(1, sizeof(ngx_http_mcp_cluster_ev_t));

    if (ev == NULL || natsMsg_GetMetaData(&meta, msg) != NATS_OK) {
        /* the ordered consumer delivers only stream messages */
        free(ev);
        natsMsg_Destroy(msg);
        return;
    }

    ev->type = ngx_http_mcp_cluster_ev_msg;
    ev->msg = msg;
    ev->seq = meta->Sequence.Stream;

    jsMsgMetaData_Destroy(meta);

    ngx_http_mcp_cluster_post(ccf, ev);
}


static void
ngx_http_mcp_cluster_on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa,
    jsPubAckErr *pae, void *closure)
{
    ngx_http_mcp_cluster_conf_t *ccf = closure;

    size_t                      len, pos, used;
    const char                 *data;
    mcp_store_op_t              op;
    ngx_http_mcp_cluster_ev_t  *ev;

    /* acknowledged: the waiting requests go on when it is delivered (the
     * watchdog learns how far the stream is); not: each operation of the
     * batch fails */

    if (pa != NULL && pa->Sequence > ccf->ack_posted
        && (ev = calloc(1, sizeof(ngx_http_mcp_cluster_ev_t))) != NULL)
    {
        ccf->ack_posted = pa->Sequence;
        ev->type = ngx_http_mcp_cluster_ev_acked;
        ev->seq = pa->Sequence;
        ngx_http_mcp_cluster_post(ccf, ev);
    }

    data = natsMsg_GetData(msg);
    len = (size_t) natsMsg_GetDataLength(msg);

    for (pos = 0;
         pae != NULL && pos < len
         && mcp_store_op_decode(data + pos, len - pos, &op, &used)
            == MCP_STORE_OK;
         pos += used)
    {
        ev = calloc(1, sizeof(ngx_http_mcp_cluster_ev_t));
        if (ev == NULL) {
            break;
        }

        ev->type = ngx_http_mcp_cluster_ev_pub_failed;
        ev->id = op.id;
        (void) snprintf(ev->text, sizeof(ev->text), "%s",
                        pae->ErrText ? pae->ErrText
                                     : natsStatus_GetText(pae->Err));
        ngx_http_mcp_cluster_post(ccf, ev);
    }

    natsMsg_Destroy(msg);
}


static void
ngx_http_mcp_cluster_on_down(natsConnection *nc, void *closure)
{
    ngx_http_mcp_cluster_post_state(closure, ngx_http_mcp_cluster_ev_down);
}


static void
ngx_http_mcp_cluster_on_up(natsConnection *nc, void *closure)
{
    ngx_http_mcp_cluster_post_state(closure, ngx_http_mcp_cluster_ev_up);
}


/* the connection's news: without memory for it, it is lost (best effort) */

static void
ngx_http_mcp_cluster_post_state(ngx_http_mcp_cluster_conf_t *ccf,
    ngx_http_mcp_cluster_ev_e type)
{
    ngx_http_mcp_cluster_ev_t  *ev;

    ev = calloc(1, sizeof(ngx_http_mcp_cluster_ev_t));
    if (ev != NULL) {
        ev->type = type;
        ngx_http_mcp_cluster_post(ccf, ev);
    }
}


static void
ngx_http_mcp_cluster_post_log(ngx_http_mcp_cluster_conf_t *ccf,
    ngx_uint_t level, const char *fmt, ...)
{
    va_list                     args;
    ngx_http_mcp_cluster_ev_t  *ev;

    ev = calloc(1, sizeof(ngx_http_mcp_cluster_ev_t));
    if (ev == NULL) {
        return;
    }

    ev->type = ngx_http_mcp_cluster_ev_log;
    ev->level = level;

    va_start(args, fmt);
    (void) vsnprintf(ev->text, sizeof(ev->text), fmt, args);
    va_end(args);

    ngx_http_mcp_cluster_post(ccf, ev);
}


static void
ngx_http_mcp_cluster_post(ngx_http_mcp_cluster_conf_t *ccf,
    ngx_http_mcp_cluster_ev_t *ev)
{
    ssize_t   n;
    uint64_t  one;

    ev->next = NULL;

    (void) pthread_mutex_lock(&ccf->lock);

    if (ccf->tail) {
        ccf->tail->next = ev;
    } else {
        ccf->head = ev;
    }

    ccf->tail = ev;

    (void) pthread_mutex_unlock(&ccf->lock);

    /* fails only when the counter is full: the loop is woken already */

    one = 1;
    n = write(ccf->efd, &one, sizeof(one));
    (void) n;
}


/* the event loop */

static void
ngx_http_mcp_cluster_notified(ngx_event_t *rev)
{
    uint64_t                      count;
    ngx_connection_t             *c;
    ngx_http_mcp_cluster_conf_t  *ccf;

    c = rev->data;
    ccf = c->data;

    while (read(ccf->efd, &count, sizeof(count)) == sizeof(count)) {
        /* void */
    }

    if (!ccf->stalled) {
        ngx_http_mcp_cluster_drain(ccf);
    }
}


static void
ngx_http_mcp_cluster_drain(ngx_http_mcp_cluster_conf_t *ccf)
{
    ngx_http_mcp_cluster_ev_t    *ev, *list;
    ngx_http_mcp_cluster_wait_t  *w;

    (void) pthread_mutex_lock(&ccf->lock);
    list = ccf->head;
    ccf->head = NULL;
    ccf->tail = NULL;
    (void) pthread_mutex_unlock(&ccf->lock);

    while (list) {
        ev = list;

        switch (ev->type) {

        case ngx_http_mcp_cluster_ev_msg:
            if (ngx_http_mcp_cluster_apply(ccf, ev) != NGX_OK) {
                goto stalled;
            }

            natsMsg_Destroy(ev->msg);
            break;

        case ngx_http_mcp_cluster_ev_pub_failed:
            w = ngx_http_mcp_cluster_find(ccf, ev->id);

            if (w != NULL) {
                ngx_log_error(NGX_LOG_INFO, ccf->log, 0,
                              "mcp_cluster: publish failed: %s", ev->text);
                ngx_http_mcp_cluster_finish(w,
                                            NGX_HTTP_MCP_CLUSTER_UNAVAILABLE,
                                            NULL, 0);
            }

            break;

        case ngx_http_mcp_cluster_ev_ready:
            ccf->ready = 1;
            ccf->up = 1;
            ccf->resubscribing = 0;
            ccf->progress = ngx_current_msec;
            ngx_log_error(NGX_LOG_NOTICE, ccf->log, 0,
                          "mcp_cluster: node \"%V\" connected, stream "
                          "\"%V\" from sequence %uL", &ccf->node,
                          &ccf->stream, ccf->start_seq);
            break;

        case ngx_http_mcp_cluster_ev_acked:
            if (ccf->acked <= ccf->delivered) {
                /* caught up until now: the wait starts here */
                ccf->progress = ngx_current_msec;
            }

            ccf->acked = ngx_max(ccf->acked, ev->seq);
            break;

        case ngx_http_mcp_cluster_ev_down:
            /* once per outage: a reconnect to a server that dies too is
             * the same outage */

            if (!ccf->logged_down) {
                ngx_log_error(NGX_LOG_ERR, ccf->log, 0,
                              "mcp_cluster: lost the NATS connection; "
                              "writes answer 503 until it is back");
                ccf->logged_down = 1;
            }

            ccf->up = 0;
            break;

        case ngx_http_mcp_cluster_ev_up:
            ccf->up = 1;
            break;

        default: /* ngx_http_mcp_cluster_ev_log */
            ngx_log_error(ev->level, ccf->log, 0, "%s", ev->text);
            break;
        }

        list = ev->next;
        free(ev);
    }

    return;

stalled:

    /* put what is left back at the head of the queue, in order */

    (void) pthread_mutex_lock(&ccf->lock);

    for (ev = list; ev->next; ev = ev->next) { /* void */ }

    ev->next = ccf->head;

    if (ccf->head == NULL) {
        ccf->tail = ev;
    }

    ccf->head = list;

    (void) pthread_mutex_unlock(&ccf->lock);

    ccf->stalled = 1;

    if (!ngx_exiting) {
        ngx_add_timer(&ccf->retry, NGX_HTTP_MCP_CLUSTER_STALL_RETRY);
    }
}


static void
ngx_http_mcp_cluster_watchdog(ngx_event_t *ev)
{
    ngx_http_mcp_cluster_conf_t *ccf = ev->data;

    int  rc;

    if (ccf->ready && !ccf->resubscribing && ccf->acked > ccf->delivered
        && ngx_current_msec - ccf->progress > NGX_HTTP_MCP_CLUSTER_STALLED)
    {
        ngx_log_error(NGX_LOG_WARN, ccf->log, 0,
                      "mcp_cluster: the stream holds up to %uL but this "
                      "worker was delivered up to %uL only: subscribing "
                      "again", ccf->acked, ccf->delivered);

        /* writes wait for the new subscription: they answer 503 */

        ccf->ready = 0;
        ccf->resubscribing = 1;

        rc = mcp_store_op_applied(ccf->store, &ccf->start_seq);

        if (rc == MCP_STORE_OK) {
            ccf->start_seq++;

            if (ccf->thread_started) {
                /* the setup thread ended when it subscribed */
                (void) pthread_join(ccf->thread, NULL);
                ccf->thread_started = 0;
            }

            if (pthread_create(&ccf->thread, NULL,
                               ngx_http_mcp_cluster_setup, ccf)
                == 0)
            {
                ccf->thread_started = 1;
            }
        }

        if (!ccf->thread_started) {
            ngx_log_error(NGX_LOG_ALERT, ccf->log, 0,
                          "mcp_cluster: cannot subscribe again: %s",
                          mcp_store_strerror(rc));
            ccf->resubscribing = 0;
            ccf->ready = 1;
        }
    }

    if (!ngx_exiting) {
        ngx_add_timer(ev, NGX_HTTP_MCP_CLUSTER_WATCHDOG);
    }
}


static void
ngx_http_mcp_cluster_retry(ngx_event_t *ev)
{
    ngx_http_mcp_cluster_conf_t *ccf = ev->data;

    ccf->stalled = 0;

    ngx_http_mcp_cluster_drain(ccf);
}


/*
 * Applies one delivered operation and hands its outcome to the request
 * of this worker that waits for it.  NGX_ERROR when the store cannot
 * apply it now (full, I/O): then it, and everything after it, waits.
 */

static ngx_int_t
ngx_http_mcp_cluster_apply(ngx_http_mcp_cluster_conf_t *ccf,
    ngx_http_mcp_cluster_ev_t *ev)
{
    int  rc, fresh;

    /* the stream delivers again: the outage is over */

    if (ccf->logged_down) {
        ngx_log_error(NGX_LOG_NOTICE, ccf->log, 0,
                      "mcp_cluster: NATS is back, writes are taken again");
        ccf->logged_down = 0;
    }

    ccf->delivered = ngx_max(ccf->delivered, ev->seq);
    ccf->progress = ngx_current_msec;

    rc = mcp_store_op_apply(ccf->store, ev->seq, natsMsg_GetData(ev->msg),
                            (size_t) natsMsg_GetDataLength(ev->msg),
                            (char *) ccf->node.data, ccf->node.len,
                            ngx_http_mcp_cluster_applied, ccf, &fresh);

    if (rc != MCP_STORE_OK) {
        if (!ccf->stalled) {
            ngx_log_error(NGX_LOG_ALERT, ccf->log, 0,
                          "mcp_cluster: operation %uL cannot be applied: "
                          "%s; this node's store stops at %uL until it "
                          "can", ev->seq, mcp_store_strerror(rc),
                          ev->seq - 1);
        }

        return NGX_ERROR;
    }

    return NGX_OK;
}


/* each operation of an applied entry: the request of ours waiting for it */

static void
ngx_http_mcp_cluster_applied(void *data, const mcp_store_op_t *op,
    int outcome, const uint64_t *detail, size_t ndetail)
{
    ngx_http_mcp_cluster_conf_t *ccf = data;

    ngx_uint_t                    level;
    ngx_http_mcp_cluster_wait_t  *w;

    /* an operation of a later version's kind (or a node's bug): every
     * node of this version refuses it alike and goes on; a tool call's
     * invalid argument (a name too long) is its caller's to hear */

    if (outcome == MCP_STORE_EINVAL && op->kind != MCP_STORE_OP_MEMORY) {
        level = (op->kind > MCP_STORE_OP_LINK_UPDATE) ? NGX_LOG_ERR
                                                       : NGX_LOG_WARN;

        ngx_log_error(level, ccf->log, 0,
                      "mcp_cluster: an operation (kind %ui) of node "
                      "\"%*s\" was refused as invalid%s",
                      (ngx_uint_t) op->kind, (size_t) op->node_len, op->node,
                      (level == NGX_LOG_ERR) ? ": a kind this version "
                                               "does not know" : "");
    }

    if (op->node_len != ccf->node.len
        || ngx_memcmp(op->node, ccf->node.data, op->node_len) != 0)
    {
        return;
    }

    w = ngx_http_mcp_cluster_find(ccf, op->id);

    if (w != NULL) {
        ngx_http_mcp_cluster_finish(w, (outcome < 0) ? MCP_STORE_EIO
                                                     : outcome,
                                    detail, ndetail);
    }
}


static ngx_http_mcp_cluster_wait_t *
ngx_http_mcp_cluster_find(ngx_http_mcp_cluster_conf_t *ccf, uint64_t id)
{
    ngx_rbtree_node_t  *node, *sentinel;

    node = ccf->pending.root;
    sentinel = ccf->pending.sentinel;

    while (node != sentinel) {
        if ((uint64_t) node->key == id) {
            return (ngx_http_mcp_cluster_wait_t *) node;
        }

        node = ((uint64_t) id < (uint64_t) node->key) ? node->left
                                                      : node->right;
    }

    return NULL;
}


static void
ngx_http_mcp_cluster_finish(ngx_http_mcp_cluster_wait_t *w,
    ngx_int_t outcome, const uint64_t *detail, size_t ndetail)
{
    ngx_int_t            rc;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = w->r;
    c = r->connection;

    ngx_rbtree_delete(&w->ccf->pending, &w->node);
    w->ccf->npending--;
    w->waiting = 0;

    if (w->timer.timer_set) {
        ngx_del_timer(&w->timer);
    }

    /* done() may publish again and wait once more (NGX_DONE): the
     * finalization then only drops the reference of this wait */

    w->detail = detail;
    w->ndetail = ndetail;

    rc = w->done(r, w->data, outcome);

    w->detail = NULL;
    w->ndetail = 0;

    ngx_http_finalize_request(r, rc);

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_mcp_cluster_timeout(ngx_event_t *ev)
{
    ngx_http_mcp_cluster_wait_t *w = ev->data;

    ngx_http_mcp_cluster_finish(w, NGX_HTTP_MCP_CLUSTER_UNAVAILABLE, NULL, 0);
}


/* the request ends (also when it is aborted): stop waiting */

static void
ngx_http_mcp_cluster_cleanup(void *data)
{
    ngx_http_mcp_cluster_wait_t *w = data;

    if (w->waiting) {
        ngx_rbtree_delete(&w->ccf->pending, &w->node);
        w->ccf->npending--;
        w->waiting = 0;
    }

    if (w->timer.timer_set) {
        ngx_del_timer(&w->timer);
    }
}


ngx_int_t
ngx_http_mcp_cluster_enabled(ngx_http_request_t *r)
{
    ngx_http_mcp_cluster_conf_t  *ccf;

    ccf = ngx_http_get_module_main_conf(r, ngx_mcp_cluster_module);

    return ngx_http_mcp_cluster_writes_as_ops(ccf);
}


const uint64_t *
ngx_http_mcp_cluster_detail(ngx_http_request_t *r, size_t *n)
{
    ngx_http_mcp_cluster_wait_t  *w;

    w = ngx_http_get_module_ctx(r, ngx_mcp_cluster_module);

    if (w == NULL || w->detail == NULL) {
        *n = 0;
        return NULL;
    }

    *n = w->ndetail;

    return w->detail;
}


/*
 * The quotas of this node, checked before op is published: applying
 * enforces none (every node must reach the same state whatever its own
 * mcp_tenant_quota), so the node that takes a write is where they hold.
 * Writes taken at once on several nodes may each pass before the others
 * are applied: a tenant may end over its limit by what was in flight.
 */

ngx_int_t
ngx_http_mcp_cluster_check(ngx_http_request_t *r, mcp_store_op_t *op)
{
    ngx_http_mcp_main_conf_t  *mmcf;

    mmcf = ngx_http_get_module_main_conf(r, ngx_mcp_module);

    return mcp_store_op_check(mmcf->store, op);
}


/*
 * Publishes op: NGX_OK, or NGX_DECLINED when the cluster cannot take it
 * (not connected yet or any more).  Operations published while the event
 * loop handles one round of events go out together, as one stream entry
 * (a batch): many writes arriving together cost one replicated append.
 */

static ngx_int_t
ngx_http_mcp_cluster_publish(ngx_http_mcp_cluster_conf_t *ccf,
    mcp_store_op_t *op)
{
    u_char   *p;
    size_t    len, size, avail;
    int64_t   max;

    if (ccf->local == NULL
        && (!ccf->ready || !ccf->up
            || natsConnection_Status(ccf->nc) != NATS_CONN_STATUS_CONNECTED))
    {
        return NGX_DECLINED;
    }

    op->node = (char *) ccf->node.data;
    op->node_len = ccf->node.len;
    op->id = ++ccf->next_id;

    /* encoded once where it goes, if it fits there (the first batch
     * and a larger operation than any before encode it again) */

    avail = ccf->out_size - ccf->out.len;

    len = mcp_store_op_encode(op, avail ? (char *) ccf->out.data
                                          + ccf->out.len
                                        : NULL,
                              avail);

    /* a full batch goes before this operation joins the next: op's
     * waiter is not known yet, the full batch's are; full is also what
     * the servers take in one message (max_payload).  A group commit
     * takes any number: what comes while one commits is the next. */

    if (ccf->local == NULL) {
        max = natsConnection_GetMaxPayload(ccf->nc);
        max = (max > 0 && max < NGX_HTTP_MCP_CLUSTER_BATCH_SIZE)
              ? max : NGX_HTTP_MCP_CLUSTER_BATCH_SIZE;

        if (ccf->nout
            && ((int64_t) (ccf->out.len + len) > max
                || ccf->nout == MCP_STORE_OP_BATCH_MAX))
        {
            ngx_http_mcp_cluster_send(ccf);

            /* it is at the start of the buffer now, if there is one */
            avail = 0;
        }
    }

    if (len > avail) {
        if (ccf->out.len + len > ccf->out_size) {
            size = ngx_max(ccf->out.len + len, 2 * ccf->out_size);

            p = ngx_alloc(size, ccf->log);
            if (p == NULL) {
                return NGX_ERROR;
            }

            if (ccf->out.len) {
                ngx_memcpy(p, ccf->out.data, ccf->out.len);
            }

            if (ccf->out.data) {
                ngx_free(ccf->out.data);
            }

            ccf->out.data = p;
            ccf->out_size = size;
        }

        (void) mcp_store_op_encode(op, (char *) ccf->out.data + ccf->out.len,
                                   len);
    }

    ccf->out.len += len;
    ccf->nout++;

    if (!ccf->flush_ev.posted) {
        ngx_post_event(&ccf->flush_ev, &ngx_posted_events);
    }

    return NGX_OK;
}


static void
ngx_http_mcp_cluster_flush(ngx_event_t *ev)
{
    ngx_http_mcp_cluster_send(ev->data);
}


/* the batch goes out; if it cannot, its operations fail */

static void
ngx_http_mcp_cluster_send(ngx_http_mcp_cluster_conf_t *ccf)
{
    natsMsg       *msg;
    ngx_int_t      outcome;
    ngx_str_t      out;
    natsStatus     s;
    jsPubOptions   po;

    if (ccf->nout == 0) {
        return;
    }

    if (ccf->local != NULL) {
        switch (ngx_http_mcp_commit_send(ccf->local, &ccf->out,
                                         &ccf->out_size, ccf->nout))
        {
        case NGX_OK:
            /* the buffer went with the batch, the one before's came back */
            ccf->nout = 0;
            return;

        case NGX_AGAIN:
            /* the batch committing now calls us back when done */
            return;

        default:
            /* as an I/O error: a 500, as a commit that failed */
            outcome = MCP_STORE_EIO;
            out = ccf->out;
            goto failed;
        }
    }

    out = ccf->out;

    ccf->out.len = 0;
    ccf->nout = 0;

    msg = NULL;

    s = natsMsg_Create(&msg, (char *) ccf->subject.data, NULL,
                       (char *) out.data, (int) out.len);

    if (s == NATS_OK) {
        jsPubOptions_Init(&po);
        po.MaxWait = (int64_t) ccf->timeout;

        s = js_PublishMsgAsync(ccf->js, &msg, &po);
    }

    /* on success the library owns msg and has set it to NULL */
    natsMsg_Destroy(msg);

    if (s == NATS_OK) {
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ccf->log, 0,
                   "mcp_cluster: publish failed: %s", natsStatus_GetText(s));

    outcome = NGX_HTTP_MCP_CLUSTER_UNAVAILABLE;

failed:

    /* the buffer is not reused until the waiters are told: they may
     * write again */

    ccf->out.data = NULL;
    ccf->out.len = 0;
    ccf->out_size = 0;
    ccf->nout = 0;

    ngx_http_mcp_cluster_fail(ccf, &out, outcome);

    ngx_free(out.data);
}


/*
 * The operations of ops (encoded one after another) were not applied and
 * will not be: each request still waiting for one is answered with
 * outcome.  A request answered may write again: not into ops.
 */

static void
ngx_http_mcp_cluster_fail(ngx_http_mcp_cluster_conf_t *ccf, ngx_str_t *ops,
    ngx_int_t outcome)
{
    size_t                        pos, used;
    mcp_store_op_t                op;
    ngx_http_mcp_cluster_wait_t  *w;

    for (pos = 0;
         pos < ops->len
         && mcp_store_op_decode(ops->data + pos, ops->len - pos, &op, &used)
            == MCP_STORE_OK;
         pos += used)
    {
        w = ngx_http_mcp_cluster_find(ccf, op.id);

        if (w != NULL) {
            ngx_http_mcp_cluster_finish(w, outcome, NULL, 0);
        }
    }
}


ngx_int_t
ngx_http_mcp_cluster_write(ngx_http_request_t *r, mcp_store_op_t *op,
    ngx_http_mcp_cluster_done_pt done, void *data)
{
    ngx_int_t                     rc;
    ngx_pool_cleanup_t           *cln;
    ngx_http_mcp_cluster_conf_t  *ccf;
    ngx_http_mcp_cluster_wait_t  *w;

    ccf = ngx_http_get_module_main_conf(r, ngx_mcp_cluster_module);

    if (ccf->npending >= NGX_HTTP_MCP_CLUSTER_MAX_PENDING) {
        return NGX_DECLINED;
    }

    /* one wait per request, reused when done() publishes again */

    w = ngx_http_get_module_ctx(r, ngx_mcp_cluster_module);

    if (w == NULL) {
        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL) {
            return NGX_ERROR;
        }

        w = ngx_pcalloc(r->pool, sizeof(ngx_http_mcp_cluster_wait_t));
        if (w == NULL) {
            return NGX_ERROR;
        }

        w->r = r;
        w->ccf = ccf;
        w->timer.handler = ngx_http_mcp_cluster_timeout;
        w->timer.data = w;
        w->timer.log = r->connection->log;

        cln->handler = ngx_http_mcp_cluster_cleanup;
        cln->data = w;

        ngx_http_set_ctx(r, w, ngx_mcp_cluster_module);
    }

    rc = ngx_http_mcp_cluster_publish(ccf, op);
    if (rc != NGX_OK) {
        return rc;
    }

    w->done = done;
    w->data = data;
    w->node.key = (ngx_rbtree_key_t) op->id;
    w->waiting = 1;

    ngx_rbtree_insert(&ccf->pending, &w->node);
    ccf->npending++;

    /* a group commit answers once the disk has: it has no timeout */

    if (ccf->local == NULL) {
        ngx_add_timer(&w->timer, ccf->timeout);
    }

    r->main->count++;

    return NGX_DONE;
}


ngx_int_t
ngx_http_mcp_cluster_request(ngx_http_request_t *r, mcp_store_op_t *op,
    ngx_http_mcp_cluster_done_pt done, void *data)
{
    switch (ngx_http_mcp_cluster_write(r, op, done, data)) {
    case NGX_DONE:
        return NGX_DONE;
    case NGX_DECLINED:
        return ngx_http_mcp_cluster_unavailable(r);
    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}


ngx_int_t
ngx_http_mcp_cluster_unavailable(ngx_http_request_t *r)
{
    return ngx_http_mcp_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                   "cluster_unavailable",
                                   "the cluster cannot take writes now; "
                                   "nothing was saved, try again");
}


ngx_int_t
ngx_http_mcp_cluster_visits(ngx_cycle_t *cycle, const mcp_store_visit_t *v,
    size_t n)
{
    mcp_store_op_t                op;
    ngx_http_mcp_cluster_conf_t  *ccf;

    /* with group commit too, visits have a flush of their own */

    ccf = ngx_http_mcp_cluster_conf(cycle);

    if (ccf == NULL) {
        return NGX_DECLINED;
    }

    ngx_memzero(&op, sizeof(mcp_store_op_t));

    op.kind = MCP_STORE_OP_LINK_VISITS;
    op.visits = v;
    op.nitems = n;

    return ngx_http_mcp_cluster_publish_detached(ccf, &op);
}


/*
 * op published with no request to wait for it (a timer's write):
 * NGX_DECLINED without mcp_cluster, NGX_AGAIN while NATS cannot take it.
 */

static ngx_int_t
ngx_http_mcp_cluster_publish_detached(ngx_http_mcp_cluster_conf_t *ccf,
    mcp_store_op_t *op)
{
    switch (ngx_http_mcp_cluster_publish(ccf, op)) {
    case NGX_OK:
        return NGX_OK;
    case NGX_DECLINED:
        return NGX_AGAIN;
    default:
        return NGX_ERROR;
    }
}


ngx_int_t
ngx_http_mcp_cluster_shorten(ngx_http_request_t *r,
    ngx_http_mcp_shorten_req_t *req, ngx_http_mcp_shortened_pt shortened,
    void *data)
{
    ngx_http_mcp_cluster_shorten_t  *sh;

    sh = ngx_pcalloc(r->pool, sizeof(ngx_http_mcp_cluster_shorten_t));
    if (sh == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    sh->req = *req;
    sh->shortened = shortened;
    sh->data = data;

    /* what the taking node chooses travels in the operation */

    sh->op.kind = MCP_STORE_OP_LINK_PUT;

    if (ngx_http_mcp_shorten_link(r, &sh->req, &sh->code, &sh->op.link)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    sh->op.code = (char *) sh->code.data;
    sh->op.code_len = sh->code.len;

    /* a random code is drawn for the check as for each publish: the put
     * that is checked must be one that could be stored */

    if ((sh->req.alias.len != 0
         || mcp_store_random_code((char *) sh->code.data, sh->code.len)
            == MCP_STORE_OK)
        && ngx_http_mcp_cluster_check(r, &sh->op) == MCP_STORE_QUOTA)
    {
        return sh->shortened(r, sh->data, &sh->req, &sh->code,
                             MCP_STORE_QUOTA);
    }

    return ngx_http_mcp_cluster_shorten_publish(r, sh);
}


/* NGX_DONE, or what shortened() makes of a cluster that cannot take it */

static ngx_int_t
ngx_http_mcp_cluster_shorten_publish(ngx_http_request_t *r,
    ngx_http_mcp_cluster_shorten_t *sh)
{
    ngx_int_t  rc;

    if (sh->req.alias.len == 0
        && mcp_store_random_code((char *) sh->code.data, sh->code.len)
           != MCP_STORE_OK)
    {
        return sh->shortened(r, sh->data, &sh->req, &sh->code,
                             MCP_STORE_EIO);
    }

    rc = ngx_http_mcp_cluster_write(r, &sh->op,
                                    ngx_http_mcp_cluster_shorten_done, sh);

    switch (rc) {
    case NGX_DONE:
        return NGX_DONE;
    case NGX_DECLINED:
        return sh->shortened(r, sh->data, &sh->req, &sh->code,
                             NGX_HTTP_MCP_CLUSTER_UNAVAILABLE);
    default:
        return sh->shortened(r, sh->data, &sh->req, &sh->code,
                             MCP_STORE_ENOMEM);
    }
}


static ngx_int_t
ngx_http_mcp_cluster_shorten_done(ngx_http_request_t *r, void *data,
    ngx_int_t outcome)
{
    ngx_http_mcp_cluster_shorten_t *sh = data;

    /* a random code another write took first: draw again */

    if (outcome == MCP_STORE_EXISTS && sh->req.alias.len == 0) {
        if (++sh->tries <= MCP_STORE_CODE_RETRIES) {
            return ngx_http_mcp_cluster_shorten_publish(r, sh);
        }

        outcome = MCP_STORE_EXHAUSTED;
    }

    return sh->shortened(r, sh->data, &sh->req, &sh->code, outcome);
}


ngx_http_mcp_call_t *
ngx_http_mcp_cluster_keep(ngx_http_mcp_call_t *call)
{
    ngx_http_mcp_call_t  *kept;

    kept = ngx_palloc(call->r->pool, sizeof(ngx_http_mcp_call_t));
    if (kept != NULL) {
        *kept = *call;
    }

    return kept;
}


json_t *
ngx_http_mcp_cluster_deferred(ngx_int_t rc, ngx_http_mcp_error_t *err)
{
    switch (rc) {

    case NGX_DONE:
        err->code = NGX_HTTP_MCP_DEFERRED;
        return NULL;

    case NGX_DECLINED:
    case NGX_HTTP_MCP_CLUSTER_UNAVAILABLE:
        return ngx_http_mcp_tool_error("the cluster cannot take writes now; "
                                       "nothing was saved, try again "
                                       "(cluster_unavailable)");

    default:
        return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INTERNAL_ERROR,
                                     "the cluster failed");
    }
}


json_t *
ngx_http_mcp_cluster_tool(ngx_http_mcp_call_t *call, mcp_store_op_t *op,
    ngx_http_mcp_cluster_finish_pt finish, void *data,
    ngx_http_mcp_error_t *err)
{
    size_t                        len;
    int64_t                       max;
    ngx_http_mcp_cluster_tool_t  *t;
    ngx_http_mcp_cluster_conf_t  *ccf;

    t = ngx_palloc(call->r->pool, sizeof(ngx_http_mcp_cluster_tool_t));
    if (t == NULL) {
        return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INTERNAL_ERROR,
                                     "out of memory");
    }

    t->call = ngx_http_mcp_cluster_keep(call);
    if (t->call == NULL) {
        return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INTERNAL_ERROR,
                                     "out of memory");
    }

    t->finish = finish;
    t->data = data;

    if (ngx_http_mcp_cluster_check(call->r, op) == MCP_STORE_QUOTA) {
        return ngx_http_mcp_txn_end(call, NULL, MCP_STORE_QUOTA, NULL);
    }

    /* a call of many large items may not fit in one message of the log:
     * it is refused as too large, not left to fail as unavailable */

    ccf = ngx_http_get_module_main_conf(call->r, ngx_mcp_cluster_module);

    len = mcp_store_op_encode(op, NULL, 0) + NGX_HTTP_MCP_CLUSTER_OP_HEAD;
    max = (ccf->nc != NULL) ? natsConnection_GetMaxPayload(ccf->nc) : 0;

    if (max > 0 && (int64_t) len > max) {
        return ngx_http_mcp_tool_error("the call is %zu bytes as an "
                                       "operation, more than the cluster's "
                                       "log takes in one (%lld): split it; "
                                       "nothing was saved", len,
                                       (long long) max);
    }

    return ngx_http_mcp_cluster_deferred(
               ngx_http_mcp_cluster_write(call->r, op,
                                          ngx_http_mcp_cluster_tool_done, t),
               err);
}


static ngx_int_t
ngx_http_mcp_cluster_tool_done(ngx_http_request_t *r, void *data,
    ngx_int_t outcome)
{
    ngx_http_mcp_cluster_tool_t *t = data;

    json_t                *result;
    ngx_http_mcp_error_t   err;

    if (outcome == NGX_HTTP_MCP_CLUSTER_UNAVAILABLE) {
        result = ngx_http_mcp_cluster_deferred(outcome, &err);

    } else {
        result = t->finish(t->call, t->data, (int) outcome, &err);
    }

    return ngx_http_mcp_respond(t->call, result, &err);
}


ngx_int_t
ngx_http_mcp_cluster_consume(ngx_http_request_t *r, ngx_str_t *code,
    ngx_str_t *url, ngx_uint_t status, int64_t now)
{
    mcp_store_op_t                   op;
    ngx_http_mcp_cluster_target_t   *target;

    target = ngx_palloc(r->pool, sizeof(ngx_http_mcp_cluster_target_t));
    if (target == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    target->code = *code;
    target->url = *url;
    target->status = status;

    ngx_memzero(&op, sizeof(mcp_store_op_t));

    op.kind = MCP_STORE_OP_LINK_CONSUME;
    op.code = (char *) code->data;
    op.code_len = code->len;
    op.now = now;

    return ngx_http_mcp_cluster_request(r, &op,
                                        ngx_http_mcp_cluster_consumed,
                                        target);
}


static ngx_int_t
ngx_http_mcp_cluster_consumed(ngx_http_request_t *r, void *data,
    ngx_int_t outcome)
{
    ngx_http_mcp_cluster_target_t  *target = data;

    if (outcome == NGX_HTTP_MCP_CLUSTER_UNAVAILABLE) {
        return ngx_http_mcp_cluster_unavailable(r);
    }

    /* counted in the link by the log: its statistics go with the batch */

    if (outcome == MCP_STORE_OK) {
        ngx_http_mcp_visit(r, &target->code, 1);
    }

    /* a link that counts its visits is never cached */

    return ngx_http_mcp_redirect_answer(r, (int) outcome, &target->url,
                                        target->status, 0);
}


/*
 * MCP sessions in a cluster.  A new session (initialize) is answered once
 * its put is applied here: any node then finds it.  Ending one (DELETE)
 * and setting its logging level wait likewise; last-seen times and the
 * removal of a session found expired go through the log without anyone
 * waiting for them.
 */

typedef struct {
    ngx_http_mcp_call_t            *call;
    json_t                         *result;
    mcp_store_op_t                  op;
    ngx_uint_t                      tries;
} ngx_http_mcp_cluster_session_t;


static ngx_int_t ngx_http_mcp_cluster_session_publish(
    ngx_http_mcp_cluster_session_t *cs, ngx_http_mcp_error_t *err);
static void ngx_http_mcp_cluster_json_free(void *data);
static ngx_int_t ngx_http_mcp_cluster_session_made(ngx_http_request_t *r,
    void *data, ngx_int_t outcome);
static json_t *ngx_http_mcp_cluster_leveled(ngx_http_mcp_call_t *call,
    void *data, int outcome, ngx_http_mcp_error_t *err);
static ngx_int_t ngx_http_mcp_cluster_session_ended(ngx_http_request_t *r,
    void *data, ngx_int_t outcome);
static void ngx_http_mcp_cluster_rpc_error(ngx_http_mcp_error_t *err);
static ngx_int_t ngx_http_mcp_cluster_rpc_unavailable(ngx_http_request_t *r,
    json_t *id, ngx_http_mcp_error_t *err);


ngx_int_t
ngx_http_mcp_cluster_session(ngx_http_mcp_call_t *call, u_char *id,
    size_t len, mcp_store_session_t *session, json_t *result,
    ngx_http_mcp_error_t *err)
{
    ngx_int_t                        rc;
    ngx_pool_cleanup_t              *cln;
    ngx_http_mcp_cluster_session_t  *cs;

    cs = ngx_pcalloc(call->r->pool, sizeof(ngx_http_mcp_cluster_session_t));
    if (cs == NULL) {
        return ngx_http_mcp_rpc_error(err, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                      NGX_HTTP_MCP_INTERNAL_ERROR,
                                 "out of memory");
    }

    cs->call = ngx_http_mcp_cluster_keep(call);
    if (cs->call == NULL) {
        return ngx_http_mcp_rpc_error(err, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                      NGX_HTTP_MCP_INTERNAL_ERROR,
                                 "out of memory");
    }

    /* while it waits, the pool holds the caller's reference to result */

    cln = ngx_pool_cleanup_add(call->r->pool, 0);
    if (cln == NULL) {
        return ngx_http_mcp_rpc_error(err, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                      NGX_HTTP_MCP_INTERNAL_ERROR,
                                 "out of memory");
    }

    cs->result = result;

    /* the strings of session are in the request's pool and JSON */

    cs->op.kind = MCP_STORE_OP_SESSION_PUT;
    cs->op.code = (char *) id;
    cs->op.code_len = len;
    cs->op.session = *session;

    rc = ngx_http_mcp_cluster_session_publish(cs, err);

    if (rc == NGX_DONE) {
        cln->handler = ngx_http_mcp_cluster_json_free;
        cln->data = result;

        /* initialize returns NULL: the call waits */
        err->code = NGX_HTTP_MCP_DEFERRED;
    }

    return rc;
}


static void
ngx_http_mcp_cluster_json_free(void *data)
{
    json_decref(data);
}


/* NGX_DONE while it waits, NGX_DECLINED (err set) when it cannot */

static ngx_int_t
ngx_http_mcp_cluster_session_publish(ngx_http_mcp_cluster_session_t *cs,
    ngx_http_mcp_error_t *err)
{
    ngx_int_t  rc;

    if (mcp_store_random_code((char *) cs->op.code, cs->op.code_len)
        != MCP_STORE_OK)
    {
        return ngx_http_mcp_rpc_error(err, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                      NGX_HTTP_MCP_INTERNAL_ERROR,
                                 "cannot start a session: no random id");
    }

    rc = ngx_http_mcp_cluster_write(cs->call->r, &cs->op,
                                    ngx_http_mcp_cluster_session_made, cs);

    if (rc == NGX_DONE) {
        return NGX_DONE;
    }

    (void) ngx_http_mcp_rpc_error(err, NGX_HTTP_SERVICE_UNAVAILABLE,
                                  NGX_HTTP_MCP_INTERNAL_ERROR,
                                  "the cluster cannot take writes now; no "
                                  "session was started, try again "
                                  "(cluster_unavailable)");

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_mcp_cluster_session_made(ngx_http_request_t *r, void *data,
    ngx_int_t outcome)
{
    ngx_http_mcp_cluster_session_t *cs = data;

    ngx_int_t             rc;
    ngx_http_mcp_error_t  err;

    /* an id that another session took first: draw again */

    if (outcome == MCP_STORE_EXISTS && ++cs->tries < 4) {
        rc = ngx_http_mcp_cluster_session_publish(cs, &err);

        if (rc == NGX_DONE) {
            return NGX_DONE;
        }

        outcome = NGX_HTTP_MCP_CLUSTER_UNAVAILABLE;
    }

    if (outcome == NGX_HTTP_MCP_CLUSTER_UNAVAILABLE) {
        return ngx_http_mcp_cluster_rpc_unavailable(r, cs->call->id, &err);
    }

    if (outcome != MCP_STORE_OK) {
        /* 507 for a full store (a group commit's), as on a single node */
        (void) ngx_http_mcp_store_error(r, (int) outcome, &err);
        (void) ngx_http_mcp_rpc_error(&err, err.status,
                                      NGX_HTTP_MCP_INTERNAL_ERROR,
                                      "cannot start a session: %s",
                                      mcp_store_strerror((int) outcome));
        return ngx_http_mcp_send_rpc_error(r, cs->call->id, &err);
    }

    cs->call->session.data = (u_char *) cs->op.code;
    cs->call->session.len = cs->op.code_len;

    return ngx_http_mcp_respond(cs->call, json_incref(cs->result), &err);
}


ngx_int_t
ngx_http_mcp_cluster_session_note(ngx_http_request_t *r, unsigned kind,
    ngx_str_t *id, int64_t last_seen)
{
    mcp_store_op_t                op;
    mcp_store_touch_t             touch;
    ngx_http_mcp_cluster_conf_t  *ccf;

    ccf = ngx_http_get_module_main_conf(r, ngx_mcp_cluster_module);

    if (!ngx_http_mcp_cluster_writes_as_ops(ccf)) {
        return NGX_DECLINED;
    }

    ngx_memzero(&op, sizeof(mcp_store_op_t));

    op.kind = kind;
    op.code = (char *) id->data;
    op.code_len = id->len;

    touch.id = (char *) id->data;
    touch.id_len = id->len;
    touch.last_seen = last_seen;

    if (kind == MCP_STORE_OP_SESSION_TOUCH) {
        op.touches = &touch;
        op.nitems = 1;
    }

    /* best effort, as the counts of visits: the next request tries again */

    (void) ngx_http_mcp_cluster_publish(ccf, &op);

    return NGX_OK;
}


ngx_int_t
ngx_http_mcp_cluster_session_level(ngx_http_mcp_call_t *call,
    ngx_uint_t level, ngx_http_mcp_error_t *err)
{
    json_t          *result;
    ngx_uint_t      *kept;
    mcp_store_op_t   op;

    kept = ngx_palloc(call->r->pool, sizeof(ngx_uint_t));
    if (kept == NULL) {
        return ngx_http_mcp_rpc_error(err, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                      NGX_HTTP_MCP_INTERNAL_ERROR,
                                 "out of memory");
    }

    *kept = level;

    ngx_memzero(&op, sizeof(mcp_store_op_t));

    op.kind = MCP_STORE_OP_SESSION_LEVEL;
    op.code = (char *) call->session.data;
    op.code_len = call->session.len;
    op.session.log_level = (unsigned) level;

    result = ngx_http_mcp_cluster_tool(call, &op,
                                       ngx_http_mcp_cluster_leveled, kept,
                                       err);

    if (result != NULL) {
        /* a tool's error result is not what logging/setLevel answers */
        json_decref(result);

        (void) ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INTERNAL_ERROR,
                                     "the cluster cannot take writes now; "
                                     "the level was not set, try again "
                                     "(cluster_unavailable)");
        return NGX_DECLINED;
    }

    return (err->code == NGX_HTTP_MCP_DEFERRED) ? NGX_DONE : NGX_DECLINED;
}


static json_t *
ngx_http_mcp_cluster_leveled(ngx_http_mcp_call_t *call, void *data,
    int outcome, ngx_http_mcp_error_t *err)
{
    ngx_uint_t *level = data;

    if (outcome != MCP_STORE_OK) {
        return ngx_http_mcp_rpc_fail(err, NGX_HTTP_MCP_INTERNAL_ERROR,
                                     "the session's level was not set: %s",
                                     mcp_store_strerror(outcome));
    }

    call->log_level = *level;

    return json_object();
}


ngx_int_t
ngx_http_mcp_cluster_session_end(ngx_http_request_t *r, ngx_str_t *id,
    ngx_http_mcp_error_t *err)
{
    ngx_int_t       rc;
    mcp_store_op_t  op;

    ngx_memzero(&op, sizeof(mcp_store_op_t));

    op.kind = MCP_STORE_OP_SESSION_DELETE;
    op.code = (char *) id->data;
    op.code_len = id->len;

    rc = ngx_http_mcp_cluster_write(r, &op,
                                    ngx_http_mcp_cluster_session_ended, NULL);

    if (rc == NGX_DONE) {
        return NGX_DONE;
    }

    ngx_http_mcp_cluster_rpc_error(err);

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_mcp_cluster_session_ended(ngx_http_request_t *r, void *data,
    ngx_int_t outcome)
{
    ngx_http_mcp_error_t  err;

    /* one ended by a request on another node meanwhile is as good */

    if (outcome == MCP_STORE_OK || outcome == MCP_STORE_NOTFOUND) {
        return ngx_http_mcp_send_empty(r, NGX_HTTP_OK);
    }

    if (outcome == NGX_HTTP_MCP_CLUSTER_UNAVAILABLE) {
        return ngx_http_mcp_cluster_rpc_unavailable(r, NULL, &err);
    }

    (void) ngx_http_mcp_store_error(r, (int) outcome, &err);

    return ngx_http_mcp_send_rpc_error(r, NULL, &err);
}


/* 503 with a JSON-RPC error, for what MCP does outside a tool call */

static void
ngx_http_mcp_cluster_rpc_error(ngx_http_mcp_error_t *err)
{
    (void) ngx_http_mcp_rpc_error(err, NGX_HTTP_SERVICE_UNAVAILABLE,
                                  NGX_HTTP_MCP_INTERNAL_ERROR,
                                  "the cluster cannot take writes now; "
                                  "nothing was saved, try again "
                                  "(cluster_unavailable)");
}


static ngx_int_t
ngx_http_mcp_cluster_rpc_unavailable(ngx_http_request_t *r, json_t *id,
    ngx_http_mcp_error_t *err)
{
    ngx_http_mcp_cluster_rpc_error(err);

    return ngx_http_mcp_send_rpc_error(r, id, err);
}


/*
 * Idle sessions and expired contexts: what goes is decided at apply, from
 * the times in the operations and the replicated store, so every node
 * removes the same.  A context past its time that no expiry has reached
 * yet is still served, as on a single node between two sweeps.
 */

ngx_int_t
ngx_http_mcp_cluster_expire(ngx_cycle_t *cycle, int64_t idle_before,
    int64_t now, size_t max)
{
    mcp_store_op_t                op;
    ngx_http_mcp_cluster_conf_t  *ccf;

    /* in a cluster, or a single node's group commit */

    ccf = ngx_http_cycle_get_module_main_conf(cycle, ngx_mcp_cluster_module);

    if (ccf == NULL || !ngx_http_mcp_cluster_writes_as_ops(ccf)) {
        return NGX_DECLINED;
    }

    /* one worker of each node is enough: a second expiry finds nothing */

    if (ngx_worker != 0) {
        return NGX_OK;
    }

    ngx_memzero(&op, sizeof(mcp_store_op_t));

    op.kind = MCP_STORE_OP_SESSION_EXPIRE;
    op.now = idle_before;
    op.max = max;

    (void) ngx_http_mcp_cluster_publish_detached(ccf, &op);

    op.kind = MCP_STORE_OP_CONTEXT_EXPIRE;
    op.now = now;

    (void) ngx_http_mcp_cluster_publish_detached(ccf, &op);

    return NGX_AGAIN;
}
