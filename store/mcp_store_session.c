/*
 * mcp_store: MCP sessions, in the "sessions" database, keyed by session
 * id.
 */

#include <string.h>

#include "mcp_store_int.h"


static int mcp_store_session_store(mcp_store_t *s, const char *id,
    size_t id_len, const mcp_store_session_t *session, int update);
static int mcp_store_session_valid(const mcp_store_session_t *session);
static int mcp_store_str_valid(const char *str, size_t len);
static int mcp_store_session_pack(const mcp_store_session_t *session,
    char *buf, MDB_val *val);


int
mcp_store_session_put(mcp_store_t *s, const char *id, size_t id_len,
    const mcp_store_session_t *session)
{
    return mcp_store_session_store(s, id, id_len, session, 0);
}


/* on success the snapshot stays until the next call: the strings are in
 * it */

int
mcp_store_session_get(mcp_store_t *s, const char *id, size_t id_len,
    mcp_store_session_t *session)
{
    return mcp_store_key_read(s, MCP_STORE_RECORD_SESSION, id, id_len,
                              session);
}


int
mcp_store_session_update(mcp_store_t *s, const char *id, size_t id_len,
    const mcp_store_session_t *session)
{
    return mcp_store_session_store(s, id, id_len, session, 1);
}


int
mcp_store_session_delete(mcp_store_t *s, const char *id, size_t id_len)
{
    return mcp_store_key_delete(s, MCP_STORE_RECORD_SESSION, id, id_len);
}


int
mcp_store_session_touch(mcp_store_t *s, const mcp_store_touch_t *t,
    size_t n)
{
    return mcp_store_batch(s, t, n, mcp_store_session_touch_one);
}


/*
 * One cursor walks the sessions in id order, from the id where the last
 * sweep stopped; after mdb_cursor_del() the cursor's MDB_NEXT is the
 * record that followed the deleted one.  The id to go on from is kept
 * only once the deletions are committed.
 */

int
mcp_store_session_expire(mcp_store_t *s, int64_t idle_before, size_t max,
    size_t *removed, int *more)
{
    int       rc;
    char      next[MCP_STORE_CODE_MAX];
    size_t    n, next_len;
    MDB_txn  *txn;

    if (removed != NULL) {
        *removed = 0;
    }

    if (more != NULL) {
        *more = 0;
    }

    if (s == NULL) {
        return MCP_STORE_EINVAL;
    }

    if (max == 0) {
        mcp_store_release(s);
        return MCP_STORE_OK;
    }

    rc = mcp_store_write_begin(s, &txn);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    rc = mcp_store_session_sweep(s, txn, s->sweep, s->sweep_len,
                                 idle_before, max, &n, next, &next_len);

    rc = mcp_store_write_end(s, txn, rc);

    if (rc != MCP_STORE_OK) {
        return rc;
    }

    /* the end of the sessions: the next sweep starts from the first */

    memcpy(s->sweep, next, next_len);
    s->sweep_len = next_len;

    if (removed != NULL) {
        *removed = n;
    }

    if (more != NULL) {
        *more = (next_len > 0);
    }

    return MCP_STORE_OK;
}


int
mcp_store_session_sweep(mcp_store_t *s, MDB_txn *txn, const char *from,
    size_t from_len, int64_t idle_before, size_t max, size_t *removed,
    char *next, size_t *next_len)
{
    int                  rc;
    size_t               n, seen;
    MDB_val              key, val;
    MDB_cursor          *cur;
    mcp_store_session_t  session;

    *removed = 0;
    *next_len = 0;

    rc = mdb_cursor_open(txn, s->sessions, &cur);
    if (rc != MDB_SUCCESS) {
        return mcp_store_rc(rc);
    }

    n = 0;
    seen = 0;

    key.mv_size = from_len;
    key.mv_data = (void *) from;

    for (rc = mdb_cursor_get(cur, &key, &val,
                             from_len ? MDB_SET_RANGE : MDB_FIRST);
         rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        if (n == max || seen == MCP_STORE_WORK) {
            if (key.mv_size <= MCP_STORE_CODE_MAX) {
                *next_len = key.mv_size;
                memcpy(next, key.mv_data, key.mv_size);
            }

            break;
        }

        seen++;

        if (mcp_store_session_decode(val.mv_data, val.mv_size, &session)
            == MCP_STORE_OK
            && session.last_seen >= idle_before)
        {
            continue;
        }

        rc = mdb_cursor_del(cur, 0);
        if (rc != MDB_SUCCESS) {
            break;
        }

        n++;
    }

    mdb_cursor_close(cur);

    *removed = n;

    return (rc == MDB_SUCCESS || rc == MDB_NOTFOUND) ? MCP_STORE_OK
                                                     : mcp_store_rc(rc);
}


int
mcp_store_session_walk(mcp_store_t *s, mcp_store_session_cb cb, void *data)
{
    int                  rc, drc;
    MDB_val              key, val;
    MDB_cursor          *cur;
    mcp_store_session_t  session;

    if (s == NULL || cb == NULL) {
        return MCP_STORE_EINVAL;
    }

    if (!s->has_sessions) {
        mcp_store_release(s);
        return MCP_STORE_OK;
    }

    rc = mcp_store_cursor_begin(s, s->sessions, &cur);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
         rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        drc = mcp_store_session_decode(val.mv_data, val.mv_size, &session);

        if (cb(data, key.mv_data, key.mv_size,
               (drc == MCP_STORE_OK) ? &session : NULL))
        {
            break;
        }
    }

    return mcp_store_cursor_end(s, cur, rc);
}


/*
 * Writes a new session (update 0), or over an existing one (update 1): an
 * update must not bring back a session that was deleted meanwhile, say by
 * an expiry sweep in another process.  A record that is there but does
 * not decode is overwritten: the update repairs it.
 *
 * The record is encoded before the write begins, which lets the snapshot
 * go: session may be what mcp_store_session_get() handed out on this
 * handle, its strings in that snapshot ("get, change a field, update").
 */

static int
mcp_store_session_store(mcp_store_t *s, const char *id, size_t id_len,
    const mcp_store_session_t *session, int update)
{
    int       rc;
    char      buf[MCP_STORE_SESSION_BUF];
    MDB_txn  *txn;
    MDB_val   key, val, old;

    if (!mcp_store_session_valid(session)) {
        return MCP_STORE_EINVAL;
    }

    rc = mcp_store_session_pack(session, buf, &val);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    rc = mcp_store_key_begin(s, id, id_len, &txn, &key);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    if (update) {
        rc = mcp_store_rc(mdb_get(txn, s->sessions, &key, &old));
    }

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_rc(mdb_put(txn, s->sessions, &key, &val,
                                  update ? 0 : MDB_NOOVERWRITE));
    }

    return mcp_store_write_end(s, txn, rc);
}


/*
 * Last-seen times are best effort, like visit counts: a session that is
 * gone or does not decode is skipped, as is an id that cannot be one.
 */

int
mcp_store_session_touch_one(mcp_store_t *s, MDB_txn *txn, const void *batch,
    size_t i)
{
    int                       rc;
    char                      buf[MCP_STORE_SESSION_BUF];
    MDB_val                   key, val;
    mcp_store_session_t       session;
    const mcp_store_touch_t  *t;

    t = (const mcp_store_touch_t *) batch + i;

    rc = mcp_store_record_get(s, txn, MCP_STORE_RECORD_SESSION, t->id,
                              t->id_len, &key, &session);

    if (rc != MCP_STORE_OK || t->last_seen <= session.last_seen) {
        return rc;
    }

    session.last_seen = t->last_seen;

    /* into buf, before the put rewrites the page the strings are on */

    rc = mcp_store_session_pack(&session, buf, &val);

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_rc(mdb_put(txn, s->sessions, &key, &val, 0));
    }

    return rc;
}


static int
mcp_store_session_valid(const mcp_store_session_t *session)
{
    return session != NULL
           && mcp_store_str_valid(session->protocol, session->protocol_len)
           && mcp_store_str_valid(session->client_name,
                                  session->client_name_len)
           && mcp_store_str_valid(session->client_version,
                                  session->client_version_len)
           && mcp_store_tenant_valid(session->tenant, session->tenant_len, 1);
}


static int
mcp_store_str_valid(const char *str, size_t len)
{
    return (str != NULL || len == 0) && len <= MCP_STORE_SESSION_STR_MAX;
}


/*
 * Encodes session into buf, of MCP_STORE_SESSION_BUF bytes, and points val
 * at the record.
 */

static int
mcp_store_session_pack(const mcp_store_session_t *session, char *buf,
    MDB_val *val)
{
    val->mv_size = mcp_store_session_encode(session, buf,
                                            MCP_STORE_SESSION_BUF);
    val->mv_data = buf;

    /* cannot happen for a valid or decoded session; never store a cut
     * record */

    if (val->mv_size > MCP_STORE_SESSION_BUF) {
        return MCP_STORE_EINVAL;
    }

    return MCP_STORE_OK;
}
