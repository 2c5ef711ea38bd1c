
/*
 * ngx_mcp: MCP sessions.  initialize creates one; every later request
 * names it in Mcp-Session-Id.  A session lives in the store, so that any
 * worker serves any request of it, and holds the negotiated protocol, the
 * logging level and the tenant of the key that started it.  Idle sessions
 * expire after mcp_session_timeout: a request finds an expired one gone,
 * and the workers' sweep (ngx_http_mcp_module.c) removes the others.
 */


#include "ngx_http_mcp_rpc.h"
#include "ngx_http_mcp_cluster.h"


#define NGX_HTTP_MCP_SESSION_ID_LEN   32

/* last-seen is for expiry: a write a minute is precise enough */
#define NGX_HTTP_MCP_SESSION_TOUCH    60


static void ngx_http_mcp_session_touch(ngx_http_mcp_call_t *call,
    int64_t last_seen, int64_t now);
static ngx_int_t ngx_http_mcp_session_failed(ngx_http_mcp_call_t *call,
    int rc, ngx_uint_t status, ngx_http_mcp_error_t *err);
static ngx_int_t ngx_http_mcp_session_not_found(ngx_http_mcp_error_t *err);


/*
 * Finds the session of the request (Mcp-Session-Id): NGX_OK with
 * call->session, protocol and log level set, or NGX_DECLINED with err:
 * 400 without the header, 404 (-32001) for a session that is unknown,
 * expired or another tenant's, 500 when the store fails.
 */

ngx_int_t
ngx_http_mcp_session_find(ngx_http_mcp_call_t *call,
    ngx_http_mcp_error_t *err)
{
    int                   rc;
    int64_t               now;
    ngx_str_t            *id;
    mcp_store_session_t   session;

    id = ngx_http_mcp_header(call->r, "Mcp-Session-Id");

    if (id == NULL) {
        return ngx_http_mcp_rpc_error(err, NGX_HTTP_BAD_REQUEST,
                                      NGX_HTTP_MCP_INVALID_REQUEST,
                                      "Bad Request: the Mcp-Session-Id "
                                      "header is required; send initialize "
                                      "first");
    }

    if (ngx_http_mcp_valid_code(id) != NGX_OK) {
        return ngx_http_mcp_session_not_found(err);
    }

    rc = mcp_store_session_get(call->mmcf->store, (char *) id->data, id->len,
                               &session);

    if (rc == MCP_STORE_NOTFOUND) {
        return ngx_http_mcp_session_not_found(err);
    }

    if (rc != MCP_STORE_OK) {
        return ngx_http_mcp_session_failed(call, rc,
                                           NGX_HTTP_INTERNAL_SERVER_ERROR,
                                           err);
    }

    /* a session is its tenant's: to another tenant's key it does not
     * exist (the client initializes a session of its own) */

    if (ngx_http_mcp_owns(call->r, session.tenant, session.tenant_len)
        != NGX_OK)
    {
        mcp_store_release(call->mmcf->store);
        ngx_log_error(NGX_LOG_INFO, call->r->connection->log, 0,
                      "mcp: session of another tenant");
        return ngx_http_mcp_session_not_found(err);
    }

    call->session = *id;
    call->log_level = session.log_level;
    call->client_caps = session.flags;

    call->protocol.data = ngx_pnalloc(call->r->pool, session.protocol_len);
    if (call->protocol.data == NULL) {
        mcp_store_release(call->mmcf->store);
        return ngx_http_mcp_rpc_error(err, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                      NGX_HTTP_MCP_INTERNAL_ERROR,
                                      "out of memory");
    }

    call->protocol.len = session.protocol_len;
    ngx_memcpy(call->protocol.data, session.protocol, session.protocol_len);

    mcp_store_release(call->mmcf->store);

    now = ngx_time();

    if (now - session.last_seen
        >= (int64_t) (call->mmcf->session_timeout / 1000))
    {
        /* in a cluster through the log; nobody waits for it */

        if (ngx_http_mcp_cluster_session_note(call->r,
                                              MCP_STORE_OP_SESSION_DELETE,
                                              id, 0)
            == NGX_DECLINED)
        {
            (void) mcp_store_session_delete(call->mmcf->store,
                                            (char *) id->data, id->len);
        }

        return ngx_http_mcp_session_not_found(err);
    }

    ngx_http_mcp_session_touch(call, session.last_seen, now);

    return NGX_OK;
}


/*
 * Creates the session that initialize starts, with the protocol it
 * negotiated (call->protocol) and the clientInfo of its params, for the
 * tenant of the request's key; sets call->session.  NGX_OK, or
 * NGX_DECLINED with err (500, -32603).  In a cluster NGX_DONE: the
 * session is published, and initialize is answered with result once it
 * is applied here (the cluster owns result then).
 */

ngx_int_t
ngx_http_mcp_session_create(ngx_http_mcp_call_t *call, json_t *params,
    json_t *result, ngx_http_mcp_error_t *err)
{
    int                   rc;
    u_char               *id;
    json_t               *info, *caps, *v;
    ngx_uint_t            tries;
    ngx_http_mcp_key_t   *caller;
    mcp_store_session_t   session;

    id = ngx_pnalloc(call->r->pool, NGX_HTTP_MCP_SESSION_ID_LEN);
    if (id == NULL) {
        return ngx_http_mcp_rpc_error(err, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                      NGX_HTTP_MCP_INTERNAL_ERROR,
                                      "out of memory");
    }

    ngx_memzero(&session, sizeof(mcp_store_session_t));

    session.created_at = ngx_time();
    session.last_seen = session.created_at;
    session.protocol = (char *) call->protocol.data;
    session.protocol_len = call->protocol.len;
    session.log_level = NGX_HTTP_MCP_LOG_DEBUG;

    /* the session is the tenant's of the key that started it */

    caller = ngx_http_mcp_caller(call->r);
    session.tenant = (const char *) caller->tenant.data;
    session.tenant_len = caller->tenant.len;

    /* what the server may ask the client (ngx_http_mcp_ask()) */

    caps = json_object_get(params, "capabilities");

    if (json_is_object(json_object_get(caps, "sampling"))) {
        session.flags |= NGX_HTTP_MCP_CLIENT_SAMPLING;
    }

    if (json_is_object(json_object_get(caps, "elicitation"))) {
        session.flags |= NGX_HTTP_MCP_CLIENT_ELICITATION;
    }

    if (json_is_object(json_object_get(caps, "roots"))) {
        session.flags |= NGX_HTTP_MCP_CLIENT_ROOTS;
    }

    call->client_caps = session.flags;

    info = json_object_get(params, "clientInfo");

    v = json_object_get(info, "name");
    if (json_is_string(v)) {
        session.client_name = json_string_value(v);
        session.client_name_len = ngx_min(json_string_length(v), 1024);
    }

    v = json_object_get(info, "version");
    if (json_is_string(v)) {
        session.client_version = json_string_value(v);
        session.client_version_len = ngx_min(json_string_length(v), 1024);
    }

    if (ngx_http_mcp_cluster_enabled(call->r)) {
        return ngx_http_mcp_cluster_session(call, id,
                                            NGX_HTTP_MCP_SESSION_ID_LEN,
                                            &session, result, err);
    }

    for (tries = 0; tries < 4; tries++) {
        rc = mcp_store_random_code((char *) id, NGX_HTTP_MCP_SESSION_ID_LEN);
        if (rc != MCP_STORE_OK) {
            break;
        }

        rc = mcp_store_session_put(call->mmcf->store, (char *) id,
                                   NGX_HTTP_MCP_SESSION_ID_LEN, &session);
        if (rc != MCP_STORE_EXISTS) {
            break;
        }
    }

    if (rc != MCP_STORE_OK) {
        (void) ngx_http_mcp_store_error(call->r, rc, err);
        return ngx_http_mcp_rpc_error(err, err->status,
                                      NGX_HTTP_MCP_INTERNAL_ERROR,
                                      "cannot start a session: %s",
                                      mcp_store_strerror(rc));
    }

    call->session.data = id;
    call->session.len = NGX_HTTP_MCP_SESSION_ID_LEN;

    return NGX_OK;
}


/*
 * Stores the session's logging level (logging/setLevel): NGX_OK, or
 * NGX_DECLINED with err, an error of the method (-32603).  In a cluster
 * NGX_DONE, with err->code NGX_HTTP_MCP_DEFERRED: the method is answered
 * once the level is applied here.
 */

ngx_int_t
ngx_http_mcp_session_set_level(ngx_http_mcp_call_t *call, ngx_uint_t level,
    ngx_http_mcp_error_t *err)
{
    int                  rc;
    mcp_store_session_t  session;

    if (ngx_http_mcp_cluster_enabled(call->r)) {
        return ngx_http_mcp_cluster_session_level(call, level, err);
    }

    rc = mcp_store_session_get(call->mmcf->store, (char *) call->session.data,
                               call->session.len, &session);

    if (rc == MCP_STORE_OK) {
        session.log_level = level;

        /* the strings still point into the snapshot: update copies them */
        rc = mcp_store_session_update(call->mmcf->store,
                                      (char *) call->session.data,
                                      call->session.len, &session);
    }

    mcp_store_release(call->mmcf->store);

    if (rc != MCP_STORE_OK) {
        return ngx_http_mcp_session_failed(call, rc, NGX_HTTP_OK, err);
    }

    call->log_level = level;

    return NGX_OK;
}


/*
 * Ends the request's session (DELETE): NGX_OK, or NGX_DECLINED with err
 * as ngx_http_mcp_session_find() fills it.  In a cluster NGX_DONE: the
 * end is published, and the cluster answers DELETE once it is applied.
 */

ngx_int_t
ngx_http_mcp_session_delete(ngx_http_mcp_call_t *call,
    ngx_http_mcp_error_t *err)
{
    int  rc;

    if (ngx_http_mcp_session_find(call, err) != NGX_OK) {
        return NGX_DECLINED;
    }

    if (ngx_http_mcp_cluster_enabled(call->r)) {
        return ngx_http_mcp_cluster_session_end(call->r, &call->session,
                                                err);
    }

    rc = mcp_store_session_delete(call->mmcf->store,
                                  (char *) call->session.data,
                                  call->session.len);

    if (rc != MCP_STORE_OK && rc != MCP_STORE_NOTFOUND) {
        return ngx_http_mcp_session_failed(call, rc,
                                           NGX_HTTP_INTERNAL_SERVER_ERROR,
                                           err);
    }

    return NGX_OK;
}


static void
ngx_http_mcp_session_touch(ngx_http_mcp_call_t *call, int64_t last_seen,
    int64_t now)
{
    mcp_store_touch_t  touch;

    if (now - last_seen < NGX_HTTP_MCP_SESSION_TOUCH) {
        return;
    }

    /* in a cluster through the log, as the removal above */

    if (ngx_http_mcp_cluster_session_note(call->r,
                                          MCP_STORE_OP_SESSION_TOUCH,
                                          &call->session, now)
        != NGX_DECLINED)
    {
        return;
    }

    touch.id = (char *) call->session.data;
    touch.id_len = call->session.len;
    touch.last_seen = now;

    /* one that fails is tried again by the session's next request */
    (void) mcp_store_session_touch(call->mmcf->store, &touch, 1);
}


/*
 * A store failure: logged, and answered with status and -32603.
 */

static ngx_int_t
ngx_http_mcp_session_failed(ngx_http_mcp_call_t *call, int rc,
    ngx_uint_t status, ngx_http_mcp_error_t *err)
{
    (void) ngx_http_mcp_store_error(call->r, rc, err);

    err->status = status;

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_mcp_session_not_found(ngx_http_mcp_error_t *err)
{
    return ngx_http_mcp_rpc_error(err, NGX_HTTP_NOT_FOUND,
                                  NGX_HTTP_MCP_SESSION_NOT_FOUND,
                                  "Session not found: it ended or expired; "
                                  "send initialize again");
}
