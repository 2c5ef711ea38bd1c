
/*
 * ngx_mcp cluster mode (mcp_cluster): what the handlers that write call.
 *
 * Without mcp_cluster, ngx_http_mcp_cluster_enabled() is 0 and nothing
 * here is used: the handlers write to the store themselves.  With it, a
 * write is an operation (store/mcp_store_op.h) published to the cluster's
 * JetStream stream; every node applies the stream in order, and the
 * request that took the write is answered once this node has applied it
 * (read-your-writes), with the operation's outcome.
 *
 * A single node with durability=sync goes the same way (group commit,
 * below): its operations are committed in batches in the thread pool
 * instead of published, and "the cluster" below is then that.
 */


#ifndef _NGX_HTTP_MCP_CLUSTER_H_INCLUDED_
#define _NGX_HTTP_MCP_CLUSTER_H_INCLUDED_


#include "ngx_http_mcp_module.h"
#include "mcp_store_op.h"


/*
 * The outcome handed to a waiting request when the cluster could not take
 * or confirm its operation in time (NATS unreachable, no quorum): the
 * request answers 503 "cluster_unavailable".
 */
#define NGX_HTTP_MCP_CLUSTER_UNAVAILABLE  (-2)


/*
 * Called on the event loop once the operation of r is applied here (or
 * failed: NGX_HTTP_MCP_CLUSTER_UNAVAILABLE), with its outcome (an
 * MCP_STORE_* code); returns what to finalize r with.
 */
typedef ngx_int_t (*ngx_http_mcp_cluster_done_pt)(ngx_http_request_t *r,
    void *data, ngx_int_t outcome);


extern ngx_module_t  ngx_mcp_cluster_module;


/* are writes operations here (mcp_cluster, or group commit, below)? */
ngx_int_t ngx_http_mcp_cluster_enabled(ngx_http_request_t *r);

/*
 * Publishes op (node and id are set here) for r and returns NGX_DONE: r
 * is kept (r->main->count) until done() has been called, exactly once.
 * NGX_DECLINED when the cluster cannot take writes now (done() is not
 * called: answer 503), NGX_ERROR on failure.
 */
ngx_int_t ngx_http_mcp_cluster_write(ngx_http_request_t *r,
    mcp_store_op_t *op, ngx_http_mcp_cluster_done_pt done, void *data);

/*
 * What the steps of the operation whose outcome is being handed to r told
 * (see mcp_store_op_cb): valid only inside done() or a tool's finish();
 * NULL (*n 0) otherwise.
 */
const uint64_t *ngx_http_mcp_cluster_detail(ngx_http_request_t *r,
    size_t *n);

/*
 * This node's quotas for op, before it is published: MCP_STORE_QUOTA
 * (mcp_store_quota_refused() says which) or MCP_STORE_OK.
 */
ngx_int_t ngx_http_mcp_cluster_check(ngx_http_request_t *r,
    mcp_store_op_t *op);

/*
 * ngx_http_mcp_cluster_write() for a request that done() answers: NGX_DONE,
 * or what r is finalized with now (503 when the cluster cannot take it).
 */
ngx_int_t ngx_http_mcp_cluster_request(ngx_http_request_t *r,
    mcp_store_op_t *op, ngx_http_mcp_cluster_done_pt done, void *data);

/* sends 503 {"error": "cluster_unavailable"} */
ngx_int_t ngx_http_mcp_cluster_unavailable(ngx_http_request_t *r);

/*
 * Publishes a worker's visit batch; nobody waits for it.  NGX_AGAIN when
 * the cluster cannot take it now (keep it for the next flush), NGX_DECLINED
 * without mcp_cluster (write it to the store).
 */
ngx_int_t ngx_http_mcp_cluster_visits(ngx_cycle_t *cycle,
    const mcp_store_visit_t *v, size_t n);

/*
 * Shortening in a cluster: the link of a validated request is published
 * under its alias, or a random code (drawn again if another write took
 * it first); shortened() makes the answer from the outcome (MCP_STORE_OK,
 * MCP_STORE_EXISTS for a taken alias, MCP_STORE_EXHAUSTED,
 * NGX_HTTP_MCP_CLUSTER_UNAVAILABLE, a store failure) and returns what to
 * finalize r with.  Returns NGX_DONE while it waits, or what shortened()
 * returned when it could not publish.
 */
typedef ngx_int_t (*ngx_http_mcp_shortened_pt)(ngx_http_request_t *r,
    void *data, ngx_http_mcp_shorten_req_t *req, ngx_str_t *code,
    ngx_int_t outcome);

ngx_int_t ngx_http_mcp_cluster_shorten(ngx_http_request_t *r,
    ngx_http_mcp_shorten_req_t *req, ngx_http_mcp_shortened_pt shortened,
    void *data);

/* one visit of a link with max_visits, counted through the log */
ngx_int_t ngx_http_mcp_cluster_consume(ngx_http_request_t *r,
    ngx_str_t *code, ngx_str_t *url, ngx_uint_t status, int64_t now);


/*
 * MCP tools in a cluster (ngx_http_mcp_rpc.h must come first).
 *
 * ngx_http_mcp_cluster_tool() publishes op for the tool call and returns
 * what the tool returns: NULL with err->code NGX_HTTP_MCP_DEFERRED
 * while it waits, or a tool error when the cluster cannot take it.  Once
 * op is applied here, finish() makes the tool's result from its outcome
 * (an MCP_STORE_* code) on a copy of the call, and the call is answered.
 *
 * ngx_http_mcp_cluster_keep() copies a call into its request's pool, for
 * an answer made later; ngx_http_mcp_cluster_deferred() is what a tool
 * returns for what a cluster write returned (NGX_DONE, NGX_DECLINED,
 * NGX_HTTP_MCP_CLUSTER_UNAVAILABLE, NGX_ERROR).
 */
#ifdef _NGX_HTTP_MCP_RPC_H_INCLUDED_

typedef json_t *(*ngx_http_mcp_cluster_finish_pt)(ngx_http_mcp_call_t *call,
    void *data, int outcome, ngx_http_mcp_error_t *err);

json_t *ngx_http_mcp_cluster_tool(ngx_http_mcp_call_t *call,
    mcp_store_op_t *op, ngx_http_mcp_cluster_finish_pt finish, void *data,
    ngx_http_mcp_error_t *err);
ngx_http_mcp_call_t *ngx_http_mcp_cluster_keep(ngx_http_mcp_call_t *call);
json_t *ngx_http_mcp_cluster_deferred(ngx_int_t rc,
    ngx_http_mcp_error_t *err);

/*
 * MCP sessions in a cluster (ngx_http_mcp_endpoint.c):
 *
 * ngx_http_mcp_cluster_session() publishes the new session of an
 * initialize call under a random id (written to id, len bytes) and
 * returns NGX_DONE: once it is applied here the call is answered again
 * with result and its session id (ngx_http_mcp_respond()).  NGX_DECLINED
 * with err when the cluster cannot take it.
 *
 * ngx_http_mcp_cluster_session_note() publishes a last-seen time
 * (MCP_STORE_OP_SESSION_TOUCH) or the removal of a session found expired
 * (MCP_STORE_OP_SESSION_DELETE); nobody waits.  NGX_DECLINED without
 * mcp_cluster or group commit: write it to the store.
 *
 * ngx_http_mcp_cluster_session_level() is logging/setLevel's write:
 * NGX_DONE (err->code NGX_HTTP_MCP_DEFERRED) while it waits, NGX_DECLINED
 * with err.  ngx_http_mcp_cluster_session_end() is DELETE's: NGX_DONE
 * while it waits (it answers r itself then), NGX_DECLINED with err (503).
 * ngx_http_mcp_cluster_expire() is the sweep's (sessions idle since
 * idle_before, contexts expired at now): NGX_AGAIN when this worker
 * published them (one worker of a node does), NGX_OK when it leaves them
 * to another, NGX_DECLINED without mcp_cluster or group commit.
 */

ngx_int_t ngx_http_mcp_cluster_session(ngx_http_mcp_call_t *call,
    u_char *id, size_t len, mcp_store_session_t *session, json_t *result,
    ngx_http_mcp_error_t *err);
ngx_int_t ngx_http_mcp_cluster_session_note(ngx_http_request_t *r,
    unsigned kind, ngx_str_t *id, int64_t last_seen);
ngx_int_t ngx_http_mcp_cluster_session_level(ngx_http_mcp_call_t *call,
    ngx_uint_t level, ngx_http_mcp_error_t *err);
ngx_int_t ngx_http_mcp_cluster_session_end(ngx_http_request_t *r,
    ngx_str_t *id, ngx_http_mcp_error_t *err);

#endif

ngx_int_t ngx_http_mcp_cluster_expire(ngx_cycle_t *cycle,
    int64_t idle_before, int64_t now, size_t max);


/*
 * What mcp_status shows of the cluster, as this worker sees it: the node's
 * name, whether it is connected to NATS and taking writes, the last
 * sequence its store has applied, and the last one it knows the stream
 * holds (acknowledged to it, or delivered).  NGX_DECLINED without
 * mcp_cluster.
 */
typedef struct {
    ngx_str_t                  node;
    ngx_uint_t                 connected;
    uint64_t                   applied;
    uint64_t                   stream_last;
} ngx_http_mcp_cluster_state_t;

ngx_int_t ngx_http_mcp_cluster_state(ngx_cycle_t *cycle,
    ngx_http_mcp_cluster_state_t *st);



/*
 * Group commit (ngx_http_mcp_commit.c): a single node with
 * durability=sync takes its writes as operations, as a cluster does
 * (ngx_http_mcp_cluster_enabled() is 1), and commits them in batches in
 * the thread pool instead of publishing them.
 *
 * ngx_http_mcp_commit_init() is NULL when group commit is not used (not
 * durability=sync, group_commit=off, no threads),
 * NGX_HTTP_MCP_COMMIT_ERROR on failure.  ngx_http_mcp_commit_send()
 * takes the n operations of ops (encoded one after another, in a buffer
 * of *size bytes allocated with ngx_alloc(): its buffer is taken) as one
 * batch and returns NGX_OK, ops emptied into the buffer of the batch
 * before, *size its size (none: NULL and 0), so that a worker allocates
 * its batches' buffers once; or, leaving ops to the caller, NGX_AGAIN
 * while the batch before is committing (send it again when done() is
 * called), NGX_ERROR if the thread pool refuses the batch (logged): its
 * operations failed, nothing of them is written.
 *
 * Once the batch has ended, on the event loop, applied() gets each
 * operation the commit kept an outcome of (an MCP_STORE_* code) and its
 * detail; done() is called with the operations of the batch that were
 * not told, if any (all of them when the commit failed as a whole), and
 * the outcome they failed with: the caller answers them as it answers
 * the operations of a batch the pool refused (the batch still in flight:
 * a send meanwhile is NGX_AGAIN; untold is read-only); then once more,
 * untold NULL, when the next batch may be sent.
 */

typedef struct ngx_http_mcp_commit_s  ngx_http_mcp_commit_t;

typedef void (*ngx_http_mcp_commit_done_pt)(void *data, ngx_str_t *untold,
    ngx_int_t outcome);

#define NGX_HTTP_MCP_COMMIT_ERROR  ((ngx_http_mcp_commit_t *) -1)

/* durability=sync, group_commit=on, threads: group commit is used
 * (without mcp_cluster) */
ngx_uint_t ngx_http_mcp_commit_wanted(ngx_http_mcp_main_conf_t *mmcf);
ngx_http_mcp_commit_t *ngx_http_mcp_commit_init(ngx_cycle_t *cycle,
    mcp_store_op_cb applied, ngx_http_mcp_commit_done_pt done, void *data);
ngx_int_t ngx_http_mcp_commit_send(ngx_http_mcp_commit_t *gc, ngx_str_t *ops,
    size_t *size, ngx_uint_t n);
void ngx_http_mcp_commit_exit(ngx_http_mcp_commit_t *gc);

/* group commit's end at a worker's exit, from ngx_mcp_module's (which
 * closes the store, run before ngx_mcp_cluster_module's) */
void ngx_http_mcp_cluster_exit_local(ngx_cycle_t *cycle);


#endif /* _NGX_HTTP_MCP_CLUSTER_H_INCLUDED_ */
