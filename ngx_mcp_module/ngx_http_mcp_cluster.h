
/*
 * ngx_mcp cluster mode (mcp_cluster): what the handlers that write call.
 *
 * Without mcp_cluster, ngx_http_mcp_cluster_enabled() is 0 and nothing
 * here is used: the handlers write to the store themselves.  With it, a
 * write is an operation (store/mcp_store_op.h) published to the cluster's
 * JetStream stream; every node applies the stream in order, and the
 * request that took the write is answered once this node has applied it
 * (read-your-writes), with the operation's outcome.
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


/* is mcp_cluster configured? */
ngx_int_t ngx_http_mcp_cluster_enabled(ngx_http_request_t *r);

/*
 * Publishes op (node and id are set here) for r and returns NGX_DONE: r
 * is kept (r->main->count) until done() has been called, exactly once.
 * NGX_DECLINED when the cluster cannot take writes now (done() is not
 * called: answer 503), NGX_ERROR on failure.
 */
ngx_int_t ngx_http_mcp_cluster_write(ngx_http_request_t *r,
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

/* POST /shorten in a cluster, from a validated request */
ngx_int_t ngx_http_mcp_cluster_shorten(ngx_http_request_t *r,
    ngx_http_mcp_shorten_req_t *req);

/* one visit of a link with max_visits, counted through the log */
ngx_int_t ngx_http_mcp_cluster_consume(ngx_http_request_t *r,
    ngx_str_t *code, ngx_str_t *url, int64_t now);


#endif /* _NGX_HTTP_MCP_CLUSTER_H_INCLUDED_ */
