/*
 * mcp_store: link records, in the "links" database, keyed by short code.
 */

#include <stdlib.h>
#include <string.h>

#include "mcp_store_int.h"


/*
 * Records are encoded here before the put, which copies them: most fit
 * this much stack; longer URLs take a malloc().  A put never encodes
 * straight into the map (MDB_RESERVE): the url of a link being updated may
 * itself point into a page that the put rewrites.
 */
#define MCP_STORE_LINK_BUF       1024

/*
 * LMDB values and msgpack strings stop at 4 GiB - 1, and a record is its
 * url and at most 51 bytes more.
 */
#define MCP_STORE_URL_MAX        (UINT32_MAX - 64)


static int mcp_store_link_begin(mcp_store_t *s, const char *code,
    size_t code_len, MDB_txn **txn, MDB_val *key);
static int mcp_store_code_valid(const char *code, size_t code_len);
static int mcp_store_link_valid(const mcp_store_link_t *link);
static int mcp_store_link_write(mcp_store_t *s, MDB_txn *txn, MDB_val *key,
    const mcp_store_link_t *link, unsigned flags);
static int mcp_store_link_read(mcp_store_t *s, MDB_txn *txn, MDB_val *key,
    mcp_store_link_t *link);


int
mcp_store_link_put(mcp_store_t *s, const char *code, size_t code_len,
    const mcp_store_link_t *link)
{
    int       rc;
    MDB_txn  *txn;
    MDB_val   key;

    if (!mcp_store_link_valid(link)) {
        return MCP_STORE_EINVAL;
    }

    rc = mcp_store_link_begin(s, code, code_len, &txn, &key);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    rc = mcp_store_link_write(s, txn, &key, link, MDB_NOOVERWRITE);

    return mcp_store_write_end(s, txn, rc);
}


int
mcp_store_link_create(mcp_store_t *s, char *code, size_t code_len,
    const mcp_store_link_t *link)
{
    int       rc;
    MDB_txn  *txn;
    MDB_val   key;
    unsigned  tries;

    if (!mcp_store_link_valid(link)) {
        return MCP_STORE_EINVAL;
    }

    rc = mcp_store_link_begin(s, code, code_len, &txn, &key);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    /* the first try and MCP_STORE_CODE_RETRIES more */

    for (tries = 0; tries <= MCP_STORE_CODE_RETRIES; tries++) {
        rc = mcp_store_random_code(code, code_len);

        if (rc == MCP_STORE_OK) {
            rc = mcp_store_link_write(s, txn, &key, link, MDB_NOOVERWRITE);
        }

        if (rc != MCP_STORE_EXISTS) {
            break;
        }
    }

    if (rc == MCP_STORE_EXISTS) {
        rc = MCP_STORE_EXHAUSTED;
    }

    return mcp_store_write_end(s, txn, rc);
}


int
mcp_store_link_get(mcp_store_t *s, const char *code, size_t code_len,
    mcp_store_link_t *link)
{
    int       rc;
    MDB_txn  *txn;
    MDB_val   key;

    if (s == NULL || link == NULL || !mcp_store_code_valid(code, code_len)) {
        return MCP_STORE_EINVAL;
    }

    rc = mcp_store_read_begin(s, &txn);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    key.mv_size = code_len;
    key.mv_data = (void *) code;

    rc = mcp_store_link_read(s, txn, &key, link);

    /* on success the snapshot stays until the next call: link->url is in
     * it */

    if (rc != MCP_STORE_OK) {
        mcp_store_release(s);
    }

    return rc;
}


int
mcp_store_link_consume(mcp_store_t *s, const char *code, size_t code_len,
    int64_t now)
{
    int               rc;
    MDB_txn          *txn;
    MDB_val           key;
    mcp_store_link_t  link;

    rc = mcp_store_link_begin(s, code, code_len, &txn, &key);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    rc = mcp_store_link_read(s, txn, &key, &link);

    if (rc == MCP_STORE_OK) {
        if (link.expires_at != 0 && now >= link.expires_at) {
            rc = MCP_STORE_EXPIRED;

        } else if (link.max_visits != 0 && link.visits >= link.max_visits) {
            rc = MCP_STORE_SPENT;

        } else {
            link.visits++;
            link.last_visit = now;

            rc = mcp_store_link_write(s, txn, &key, &link, 0);
        }
    }

    return mcp_store_write_end(s, txn, rc);
}


/*
 * Visit counts are statistics: a link that is gone, or that does not
 * decode, costs its own entry only, never the rest of the batch.
 */

int
mcp_store_link_add_visits(mcp_store_t *s, const mcp_store_visit_t *v,
    size_t n)
{
    int               rc;
    size_t            i;
    MDB_txn          *txn;
    MDB_val           key;
    mcp_store_link_t  link;

    if (s == NULL || (v == NULL && n != 0)) {
        return MCP_STORE_EINVAL;
    }

    if (n == 0) {
        return MCP_STORE_OK;
    }

    rc = mcp_store_write_begin(s, &txn);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    for (i = 0; i < n; i++) {
        if (!mcp_store_code_valid(v[i].code, v[i].code_len)) {
            continue;
        }

        key.mv_size = v[i].code_len;
        key.mv_data = (void *) v[i].code;

        rc = mcp_store_link_read(s, txn, &key, &link);

        if (rc == MCP_STORE_NOTFOUND || rc == MCP_STORE_ECORRUPT) {
            rc = MCP_STORE_OK;
            continue;
        }

        if (rc != MCP_STORE_OK) {
            break;
        }

        /* saturate rather than wrap */
        link.visits = (v[i].count > UINT64_MAX - link.visits)
                      ? UINT64_MAX : link.visits + v[i].count;

        if (v[i].last_visit > link.last_visit) {
            link.last_visit = v[i].last_visit;
        }

        rc = mcp_store_link_write(s, txn, &key, &link, 0);
        if (rc != MCP_STORE_OK) {
            break;
        }
    }

    return mcp_store_write_end(s, txn, rc);
}


int
mcp_store_link_delete(mcp_store_t *s, const char *code, size_t code_len)
{
    int       rc;
    MDB_txn  *txn;
    MDB_val   key;

    rc = mcp_store_link_begin(s, code, code_len, &txn, &key);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    rc = mcp_store_rc(mdb_del(txn, s->links, &key, NULL));

    return mcp_store_write_end(s, txn, rc);
}


int
mcp_store_link_list(mcp_store_t *s, const char *after, size_t after_len,
    size_t limit, mcp_store_link_cb cb, void *data, int *more)
{
    return mcp_store_link_walk(s, after, after_len, limit, cb, data, more, 0);
}


int
mcp_store_link_walk(mcp_store_t *s, const char *after, size_t after_len,
    size_t limit, mcp_store_link_cb cb, void *data, int *more,
    unsigned walk)
{
    int                rc, drc, stop, next;
    size_t             n;
    MDB_txn           *txn;
    MDB_val            key, val;
    MDB_cursor        *cur;
    mcp_store_link_t   link;

    if (more != NULL) {
        *more = 0;
    }

    if (s == NULL || cb == NULL || after_len > MCP_STORE_CODE_MAX
        || (after == NULL && after_len != 0))
    {
        return MCP_STORE_EINVAL;
    }

    rc = mcp_store_read_begin(s, &txn);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    rc = mdb_cursor_open(txn, s->links, &cur);
    if (rc != MDB_SUCCESS) {
        mcp_store_release(s);
        return mcp_store_rc(rc);
    }

    if (after_len == 0) {
        rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);

    } else {
        key.mv_size = after_len;
        key.mv_data = (void *) after;

        rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);

        if (rc == MDB_SUCCESS && key.mv_size == after_len
            && memcmp(key.mv_data, after, after_len) == 0)
        {
            rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
        }
    }

    n = 0;
    stop = 0;
    next = 0;

    /*
     * The loop looks one link past the last one it passes to cb, so that
     * "more" is exact even when the rest are all records it skips.
     */

    while (rc == MDB_SUCCESS) {
        drc = mcp_store_link_decode(val.mv_data, val.mv_size, &link);

        if (drc == MCP_STORE_OK || (walk & MCP_STORE_WALK_CORRUPT)) {
            if (stop || (limit != 0 && n == limit)) {
                next = 1;
                break;
            }

            n++;

            if (cb(data, key.mv_data, key.mv_size,
                   (drc == MCP_STORE_OK) ? &link : NULL))
            {
                stop = 1;
            }
        }

        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    }

    mdb_cursor_close(cur);
    mcp_store_release(s);

    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        return mcp_store_rc(rc);
    }

    if (more != NULL) {
        *more = next;
    }

    return MCP_STORE_OK;
}


/*
 * Starts a write to the link under code: checks the arguments, begins the
 * write transaction, points key at the code.
 */

static int
mcp_store_link_begin(mcp_store_t *s, const char *code, size_t code_len,
    MDB_txn **txn, MDB_val *key)
{
    if (s == NULL || !mcp_store_code_valid(code, code_len)) {
        return MCP_STORE_EINVAL;
    }

    key->mv_size = code_len;
    key->mv_data = (void *) code;

    return mcp_store_write_begin(s, txn);
}


static int
mcp_store_code_valid(const char *code, size_t code_len)
{
    return code != NULL && code_len >= 1 && code_len <= MCP_STORE_CODE_MAX;
}


static int
mcp_store_link_valid(const mcp_store_link_t *link)
{
    return link != NULL
           && (link->url != NULL || link->url_len == 0)
           && (uint64_t) link->url_len <= MCP_STORE_URL_MAX;
}


static int
mcp_store_link_read(mcp_store_t *s, MDB_txn *txn, MDB_val *key,
    mcp_store_link_t *link)
{
    int      rc;
    MDB_val  val;

    rc = mcp_store_rc(mdb_get(txn, s->links, key, &val));

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_link_decode(val.mv_data, val.mv_size, link);
    }

    return rc;
}


static int
mcp_store_link_write(mcp_store_t *s, MDB_txn *txn, MDB_val *key,
    const mcp_store_link_t *link, unsigned flags)
{
    int      rc;
    char     stack[MCP_STORE_LINK_BUF], *buf;
    size_t   len;
    MDB_val  val;

    buf = stack;
    len = mcp_store_link_encode(link, stack, sizeof(stack));

    if (len > sizeof(stack)) {
        buf = malloc(len);
        if (buf == NULL) {
            return MCP_STORE_ENOMEM;
        }

        (void) mcp_store_link_encode(link, buf, len);
    }

    /* with MDB_NOOVERWRITE a taken key makes val point to its value */

    val.mv_size = len;
    val.mv_data = buf;

    rc = mcp_store_rc(mdb_put(txn, s->links, key, &val, flags));

    if (buf != stack) {
        free(buf);
    }

    return rc;
}
