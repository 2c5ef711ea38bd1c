/*
 * mcp_store: transactions of the context store, the memory they own, and
 * the keys of its records (scope first).
 */

#include <stdlib.h>
#include <string.h>

#include "mcp_store_int.h"


/* the smallest block a write transaction allocates for copies */
#define MCP_STORE_BLOCK_SIZE     4096

/* pieces of a block are aligned for any type the library stores in them
 * (max_align_t is C11) */
#define MCP_STORE_ALIGN          16


struct mcp_store_block_s {
    mcp_store_block_t   *next;
    size_t               size;
    size_t               used;
    char                 data[];
};


static void mcp_store_txn_end(mcp_store_txn_t *t);


int
mcp_store_txn_begin(mcp_store_t *s, unsigned flags, mcp_store_txn_t **tp)
{
    int               rc;
    unsigned          rdonly;
    mcp_store_txn_t  *t;

    if (tp != NULL) {
        *tp = NULL;
    }

    if (s == NULL || tp == NULL || (flags & ~(unsigned) MCP_STORE_RDONLY)) {
        return MCP_STORE_EINVAL;
    }

    if (s->txn.mdb != NULL) {
        return MCP_STORE_EBUSY;
    }

    rdonly = (flags & MCP_STORE_RDONLY) != 0;

    /* LMDB would say EACCES, which reads as an I/O error: it is ours */

    if (!rdonly && (s->flags & MCP_STORE_RDONLY)) {
        return MCP_STORE_EINVAL;
    }

    t = &s->txn;

    rc = rdonly ? mcp_store_read_begin(s, &t->mdb)
                : mcp_store_write_begin(s, &t->mdb);

    if (rc != MCP_STORE_OK) {
        t->mdb = NULL;
        return rc;
    }

    t = mcp_store_txn_wrap(s, t->mdb);
    t->rdonly = rdonly;

    *tp = t;

    return MCP_STORE_OK;
}


int
mcp_store_txn_commit(mcp_store_txn_t *t)
{
    int           rc;
    MDB_txn      *mdb;
    mcp_store_t  *s;

    if (t == NULL || t->mdb == NULL) {
        return MCP_STORE_EINVAL;
    }

    if (t->rdonly) {
        mcp_store_txn_end(t);
        return MCP_STORE_OK;
    }

    s = t->store;
    mdb = t->mdb;

    /* the handle is free again before the commit, which may take up a
     * new map size and must find no transaction of ours open */

    mcp_store_txn_end(t);

    rc = mcp_store_write_end(s, mdb, MCP_STORE_OK);

    return rc;
}


void
mcp_store_txn_abort(mcp_store_txn_t *t)
{
    MDB_txn      *mdb;
    mcp_store_t  *s;

    if (t == NULL || t->mdb == NULL) {
        return;
    }

    if (t->rdonly) {
        mcp_store_txn_end(t);
        return;
    }

    s = t->store;
    mdb = t->mdb;

    mcp_store_txn_end(t);

    (void) mcp_store_write_end(s, mdb, MCP_STORE_EINVAL);
}


MDB_txn *
mcp_store_txn_mdb(mcp_store_txn_t *t)
{
    return t->mdb;
}


mcp_store_txn_t *
mcp_store_txn_wrap(mcp_store_t *s, MDB_txn *mdb)
{
    mcp_store_txn_t  *t;

    t = &s->txn;

    t->store = s;
    t->mdb = mdb;
    t->rdonly = 0;
    t->truncated = 0;
    t->work = MCP_STORE_WORK;
    t->blocks = NULL;

    return t;
}


void
mcp_store_txn_unwrap(mcp_store_txn_t *t)
{
    mcp_store_txn_end(t);
}


int
mcp_store_txn_truncated(const mcp_store_txn_t *t)
{
    return t != NULL && t->truncated;
}


void
mcp_store_txn_budget(mcp_store_txn_t *t, uint64_t units)
{
    if (t != NULL) {
        t->work = units;
    }
}


void
mcp_store_work(mcp_store_txn_t *t, uint64_t n)
{
    t->work = (t->work > n) ? t->work - n : 0;
}


int
mcp_store_txn_spent(mcp_store_txn_t *t)
{
    if (t->work > 0) {
        return 0;
    }

    t->truncated = 1;

    return 1;
}


/*
 * Frees what the transaction owns and marks the handle free.  A read-only
 * transaction's snapshot is let go here; a write transaction is the
 * caller's to commit or abort.
 */

static void
mcp_store_txn_end(mcp_store_txn_t *t)
{
    mcp_store_block_t  *b, *next;

    for (b = t->blocks; b != NULL; b = next) {
        next = b->next;
        free(b);
    }

    t->blocks = NULL;
    t->mdb = NULL;

    if (t->rdonly) {
        mcp_store_release(t->store);
    }
}


void *
mcp_store_txn_alloc(mcp_store_txn_t *t, size_t size)
{
    char               *p;
    size_t              bsize;
    mcp_store_block_t  *b;

    /* every piece starts aligned for any type */
    size = (size + MCP_STORE_ALIGN - 1) & ~((size_t) MCP_STORE_ALIGN - 1);

    b = t->blocks;

    if (b == NULL || b->size - b->used < size) {
        bsize = (size > MCP_STORE_BLOCK_SIZE) ? size : MCP_STORE_BLOCK_SIZE;

        b = malloc(sizeof(mcp_store_block_t) + bsize);
        if (b == NULL) {
            return NULL;
        }

        b->size = bsize;
        b->used = 0;

        /* a large piece gets a block of its own behind the current one,
         * so that the rest of the current one is not wasted */

        if (t->blocks != NULL && bsize > MCP_STORE_BLOCK_SIZE) {
            b->next = t->blocks->next;
            t->blocks->next = b;

        } else {
            b->next = t->blocks;
            t->blocks = b;
        }
    }

    p = b->data + b->used;
    b->used += size;

    return p;
}


const void *
mcp_store_txn_keep(mcp_store_txn_t *t, const void *data, size_t len)
{
    void  *p;

    if (t->rdonly || len == 0) {
        return data;
    }

    p = mcp_store_txn_alloc(t, len);
    if (p == NULL) {
        return NULL;
    }

    return memcpy(p, data, len);
}


int
mcp_store_txn_get(mcp_store_txn_t *t, MDB_dbi dbi, const mcp_store_kbuf_t *kb,
    MDB_val *val)
{
    MDB_val  key;

    if (!t->store->has_context) {
        return MCP_STORE_NOTFOUND;
    }

    key.mv_size = kb->len;
    key.mv_data = (void *) kb->data;

    return mcp_store_rc(mdb_get(t->mdb, dbi, &key, val));
}


int
mcp_store_txn_cursor(mcp_store_txn_t *t, MDB_dbi dbi, MDB_cursor **cur)
{
    if (!t->store->has_context) {
        return MCP_STORE_NOTFOUND;
    }

    return mcp_store_rc(mdb_cursor_open(t->mdb, dbi, cur));
}


int
mcp_store_scan(MDB_cursor *cur, MDB_cursor_op op, const void *prefix,
    size_t prefix_len, MDB_val *key, MDB_val *val)
{
    int  rc;

    rc = mdb_cursor_get(cur, key, val, op);

    if (rc == MDB_SUCCESS
        && (key->mv_size < prefix_len
            || memcmp(key->mv_data, prefix, prefix_len) != 0))
    {
        rc = MDB_NOTFOUND;
    }

    return rc;
}


int
mcp_store_kbuf_scope(mcp_store_kbuf_t *kb, const mcp_store_scope_t *sc)
{
    kb->len = 0;

    if (sc == NULL
        || mcp_store_scope_valid(sc->tenant, sc->tenant_len, 1)
           != MCP_STORE_OK
        || mcp_store_scope_valid(sc->ns, sc->ns_len, 0) != MCP_STORE_OK)
    {
        return MCP_STORE_EINVAL;
    }

    /* cannot fail: MCP_STORE_KEY_MAX leaves room for the largest scope */

    (void) mcp_store_kbuf_add(kb, sc->tenant, sc->tenant_len, 1);
    (void) mcp_store_kbuf_add(kb, sc->ns, sc->ns_len, 1);

    return MCP_STORE_OK;
}


int
mcp_store_kbuf_add(mcp_store_kbuf_t *kb, const void *data, size_t len,
    int nul)
{
    size_t  n;

    n = len + (nul ? 1 : 0);

    if (n > sizeof(kb->data) - kb->len) {
        return MCP_STORE_ETOOBIG;
    }

    if (len > 0) {
        memcpy(kb->data + kb->len, data, len);
    }

    if (nul) {
        kb->data[kb->len + len] = '\0';
    }

    kb->len += n;

    return MCP_STORE_OK;
}


int
mcp_store_name_valid(const char *name, size_t len)
{
    if (name == NULL || len == 0 || memchr(name, '\0', len) != NULL) {
        return MCP_STORE_EINVAL;
    }

    return (len > MCP_STORE_NAME_MAX) ? MCP_STORE_ETOOBIG : MCP_STORE_OK;
}


int
mcp_store_kbuf_name(mcp_store_kbuf_t *kb, const char *name, size_t len,
    int nul)
{
    int  rc;

    rc = mcp_store_name_valid(name, len);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    return mcp_store_kbuf_add(kb, name, len, nul);
}


void
mcp_store_kbuf_val(const mcp_store_kbuf_t *kb, MDB_val *key)
{
    key->mv_size = kb->len;
    key->mv_data = (void *) kb->data;
}


int
mcp_store_tenant_valid(const char *tenant, size_t tenant_len, int empty_ok)
{
    if (tenant_len == 0 && empty_ok) {
        return 1;
    }

    return mcp_store_scope_valid(tenant, tenant_len, 1) == MCP_STORE_OK;
}


int
mcp_store_scope_valid(const char *part, size_t len, size_t min)
{
    size_t  i;
    char    c;

    if (len < min || len > MCP_STORE_SCOPE_MAX || (part == NULL && len > 0))
    {
        return MCP_STORE_EINVAL;
    }

    for (i = 0; i < len; i++) {
        c = part[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
        {
            return MCP_STORE_EINVAL;
        }
    }

    return MCP_STORE_OK;
}


/*
 * The scopes are the keys' first two parts, "tenant NUL namespace NUL", in
 * "entities", "relations" and "contexts": in each, the first key after
 * every key of a scope is its prefix with the last NUL made 0x01 (no
 * tenant or namespace byte is below '-'), so that finding the next scope
 * is one seek a database, however many records a scope holds.  The
 * expiry keys of "contexts" start with a NUL: the seek from 0x01 passes
 * them.
 */

int
mcp_store_scope_next(mcp_store_txn_t *t, const mcp_store_scope_t *after,
    mcp_store_scope_t *next)
{
    int                rc, c;
    size_t             i, tlen, n, best_len;
    MDB_val            key, val;
    MDB_dbi            dbi[3];
    MDB_cursor        *cur;
    const char        *p, *nul, *best;
    mcp_store_kbuf_t   start;

    if (t == NULL || next == NULL) {
        return MCP_STORE_EINVAL;
    }

    if (after == NULL) {
        start.data[0] = '\x01';
        start.len = 1;

    } else {
        rc = mcp_store_kbuf_scope(&start, after);
        if (rc != MCP_STORE_OK) {
            return rc;
        }

        start.data[start.len - 1] = '\x01';
    }

    if (!t->store->has_context) {
        return MCP_STORE_NOTFOUND;
    }

    dbi[0] = t->store->entities;
    dbi[1] = t->store->relations;
    dbi[2] = t->store->contexts;

    best = NULL;
    best_len = 0;

    for (i = 0; i < 3; i++) {
        rc = mcp_store_txn_cursor(t, dbi[i], &cur);
        if (rc != MCP_STORE_OK) {
            return rc;
        }

        mcp_store_kbuf_val(&start, &key);

        rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);

        mdb_cursor_close(cur);

        if (rc == MDB_NOTFOUND) {
            continue;
        }

        if (rc != MDB_SUCCESS) {
            return mcp_store_rc(rc);
        }

        /* the scope prefix of the key found: two NUL-ended parts */

        p = key.mv_data;
        nul = memchr(p, '\0', key.mv_size);
        nul = (nul == NULL)
              ? NULL
              : memchr(nul + 1, '\0', key.mv_size - (size_t) (nul + 1 - p));

        if (nul == NULL) {
            return MCP_STORE_ECORRUPT;
        }

        tlen = (size_t) (nul + 1 - p);
        n = (tlen < best_len) ? tlen : best_len;
        c = (best == NULL) ? -1 : memcmp(p, best, n);

        /* LMDB's order: bytes first, then the shorter one */

        if (c < 0 || (c == 0 && tlen < best_len)) {
            best = p;
            best_len = tlen;
        }
    }

    if (best == NULL) {
        return MCP_STORE_NOTFOUND;
    }

    best = mcp_store_txn_keep(t, best, best_len);
    if (best == NULL) {
        return MCP_STORE_ENOMEM;
    }

    next->tenant = best;
    next->tenant_len = strlen(best);
    next->ns = best + next->tenant_len + 1;
    next->ns_len = best_len - next->tenant_len - 2;

    if (mcp_store_scope_valid(next->tenant, next->tenant_len, 1)
        != MCP_STORE_OK
        || mcp_store_scope_valid(next->ns, next->ns_len, 0) != MCP_STORE_OK)
    {
        return MCP_STORE_ECORRUPT;
    }

    return MCP_STORE_OK;
}
