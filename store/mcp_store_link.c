/*
 * mcp_store: link records, in the "links" database, keyed by short code,
 * and their visit counters.
 *
 * A counter is [visits, last_visit], and exists once the link has had a
 * visit counted.  Counters are kept apart from the records so that a
 * flush of many links' visits does not rewrite one page of "links" a
 * link, and a link record never changes size (a page of them stays as
 * full as it was written).  Since schema 3 a counter is part of the
 * link's totals in "link_stats" (mcp_store_stats.c), next to the
 * statistics the same flush writes, so that a link visited dirties one
 * page, not one in "visits" and one in "link_stats"; a read-only handle
 * to a schema 2 store reads "visits".  A link's visits are its record's
 * plus its counter's: the record's are what it had before schema 2, or
 * what mcp_store_link_put() was given.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
 * url and at most 51 bytes more, and its tenant (at most 66 bytes).
 */
#define MCP_STORE_URL_MAX        (UINT32_MAX - 128)


static int mcp_store_link_begin(mcp_store_t *s, const char *code,
    size_t code_len, const mcp_store_link_t *link, MDB_txn **txn,
    MDB_val *key);
static int mcp_store_link_change(mcp_store_t *s, const char *code,
    size_t code_len, size_t small, MDB_txn **txn, MDB_val *key,
    mcp_store_link_t *link);
static int mcp_store_link_visit_batch(mcp_store_t *s, MDB_txn *txn,
    const void *batch, size_t i);
static int mcp_store_counter_get(mcp_store_t *s, MDB_txn *txn,
    const MDB_val *key, uint64_t *c);
static int mcp_store_link_counted(mcp_store_t *s, MDB_txn *txn,
    const MDB_val *key, mcp_store_link_t *link);
static int mcp_store_link_past(unsigned walk, const char *prefix,
    size_t prefix_len, const MDB_val *key);
static int mcp_store_link_tags_valid(const char *tags, size_t len);
static int mcp_store_tags_hold(const char *tags, size_t len,
    const char *tag, size_t tag_len);
static int mcp_store_link_owned(const mcp_store_link_t *link,
    const char *tenant, size_t tenant_len);


int
mcp_store_link_put(mcp_store_t *s, const char *code, size_t code_len,
    const mcp_store_link_t *link)
{
    int       rc;
    MDB_txn  *txn;
    MDB_val   key;

    rc = mcp_store_link_begin(s, code, code_len, link, &txn, &key);

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_write_end(s, txn,
                                 mcp_store_link_write(s, txn, &key, link,
                                                      MDB_NOOVERWRITE));
    }

    return rc;
}


int
mcp_store_link_create(mcp_store_t *s, char *code, size_t code_len,
    const mcp_store_link_t *link)
{
    int       rc;
    MDB_txn  *txn;
    MDB_val   key;
    unsigned  tries;

    rc = mcp_store_link_begin(s, code, code_len, link, &txn, &key);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    /* the first try and MCP_STORE_CODE_RETRIES more */

    for (tries = 0; tries <= MCP_STORE_CODE_RETRIES; tries++) {
        rc = mcp_store_random_link_code(s, code, code_len);

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


/* on success the snapshot stays until the next call: link->url is in it */

int
mcp_store_link_get(mcp_store_t *s, const char *code, size_t code_len,
    mcp_store_link_t *link)
{
    return mcp_store_link_resolve(s, code, code_len, link,
                                  MCP_STORE_LINK_COUNTS);
}


int
mcp_store_link_resolve(mcp_store_t *s, const char *code, size_t code_len,
    mcp_store_link_t *link, unsigned counts)
{
    int      rc;
    MDB_val  key;

    rc = mcp_store_key_read(s, MCP_STORE_RECORD_LINK, code, code_len, link);

    if (rc != MCP_STORE_OK
        || (counts == MCP_STORE_LINK_COUNTS_LIMITED && link->max_visits == 0))
    {
        return rc;
    }

    /* the snapshot key_read() left open; the key is one: it was read */

    key.mv_size = code_len;
    key.mv_data = (void *) code;

    rc = mcp_store_link_counted(s, s->rtxn, &key, link);

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

    /* one totals record is written: a small write (no page count far
     * from the map's limit), as a redirect of a max_visits link is */

    rc = mcp_store_link_change(s, code, code_len, MCP_STORE_TOTALS_BUF,
                               &txn, &key, &link);

    if (txn == NULL) {
        return rc;
    }

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_link_use(s, txn, &key, &link, now);
    }

    return mcp_store_write_end(s, txn, rc);
}


int
mcp_store_link_use(mcp_store_t *s, MDB_txn *txn, MDB_val *key,
    const mcp_store_link_t *link, int64_t now)
{
    int       rc;
    uint64_t  totals[MCP_STORE_TOTALS];

    if (link->expires_at != 0 && now >= link->expires_at) {
        return MCP_STORE_EXPIRED;
    }

    /* a write: the store is schema 3's (a read-write handle upgraded it),
     * the counter is in the totals, read once and written back */

    rc = mcp_store_totals_get(s, txn, key->mv_data, key->mv_size, totals);
    if (rc != MCP_STORE_OK && rc != MCP_STORE_NOTFOUND) {
        return rc;
    }

    if (link->max_visits != 0
        && mcp_store_add_sat(link->visits, totals[2]) >= link->max_visits)
    {
        return MCP_STORE_SPENT;
    }

    totals[2] = mcp_store_add_sat(totals[2], 1);

    if (now > 0 && (uint64_t) now > totals[3]) {
        totals[3] = (uint64_t) now;
    }

    return mcp_store_totals_put(s, txn, key->mv_data, key->mv_size, totals);
}


int
mcp_store_link_add_visits(mcp_store_t *s, const mcp_store_visit_t *v,
    size_t n)
{
    return mcp_store_batch(s, v, n, mcp_store_link_visit_batch);
}


/*
 * A store full for some of the batch, not all: a counter that exists
 * already is rewritten in the pages it has, while a new referrer, day or
 * link needs new ones.  Written again, each entry in a transaction of its
 * own inside one write, as mcp_store_op_batch() does, those the store has
 * room for are kept and the others moved to the front of v: without,
 * one counter needing room would hold back every other for as long as
 * the store stays full.
 */

int
mcp_store_link_add_visits_left(mcp_store_t *s, mcp_store_visit_t *v,
    size_t n, size_t *left)
{
    int                rc, mrc;
    size_t             i, nleft;
    MDB_txn           *txn, *child;
    mcp_store_visit_t  t;

    *left = n;

    rc = mcp_store_link_add_visits(s, v, n);

    if (rc == MCP_STORE_OK) {
        *left = 0;
    }

    if (rc != MCP_STORE_FULL || n < 2) {
        return rc;
    }

    rc = mcp_store_write_begin(s, &txn);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    nleft = 0;

    for (i = 0; i < n; i++) {
        mrc = mdb_txn_begin(s->env, txn, 0, &child);
        if (mrc != MDB_SUCCESS) {
            rc = mcp_store_rc(mrc);
            break;
        }

        rc = mcp_store_nested_end(s, child,
                                  mcp_store_visit_add(s, child, &v[i]));

        if (rc == MCP_STORE_FULL) {
            t = v[nleft];
            v[nleft++] = v[i];
            v[i] = t;

        } else if (rc != MCP_STORE_OK && rc != MCP_STORE_NOTFOUND
                   && rc != MCP_STORE_ECORRUPT)
        {
            break;
        }

        rc = MCP_STORE_OK;
    }

    if (rc == MCP_STORE_OK && nleft == n) {
        rc = MCP_STORE_FULL;
    }

    rc = mcp_store_write_end(s, txn, rc);

    if (rc != MCP_STORE_OK) {
        return rc;
    }

    *left = nleft;

    return (nleft == 0) ? MCP_STORE_OK : MCP_STORE_FULL;
}


int
mcp_store_link_delete(mcp_store_t *s, const char *code, size_t code_len)
{
    return mcp_store_link_delete_tenant(s, code, code_len, NULL, 0);
}


int
mcp_store_link_delete_tenant(mcp_store_t *s, const char *code,
    size_t code_len, const char *tenant, size_t tenant_len)
{
    int               rc;
    MDB_txn          *txn;
    MDB_val           key;
    mcp_store_link_t  link;

    if (!mcp_store_tenant_valid(tenant, tenant_len, 1)) {
        return MCP_STORE_EINVAL;
    }

    /* the owner is checked and the link deleted in one transaction: no
     * other tenant's link can take the code in between */

    rc = mcp_store_link_change(s, code, code_len, 0, &txn, &key, &link);

    if (txn == NULL) {
        return rc;
    }

    if (rc == MCP_STORE_OK
        && !mcp_store_link_owned(&link, tenant, tenant_len))
    {
        rc = MCP_STORE_NOTFOUND;
    }

    /* a record that does not decode has no owner, and counts for none
     * (mcp_store_usage_init()): only "whoever owns it" deletes it */

    if (rc == MCP_STORE_ECORRUPT && tenant_len == 0) {
        rc = mcp_store_link_del(s, txn, &key);

    } else if (rc == MCP_STORE_OK) {
        rc = mcp_store_usage_add(s, txn, link.tenant, link.tenant_len,
                                 MCP_STORE_QUOTA_LINKS, -1,
                                 -(int64_t) (code_len + link.url_len));

        if (rc == MCP_STORE_OK) {
            rc = mcp_store_link_del(s, txn, &key);
        }
    }

    return mcp_store_write_end(s, txn, rc);
}


int
mcp_store_link_update(mcp_store_t *s, const char *code, size_t code_len,
    const char *tenant, size_t tenant_len, const mcp_store_link_t *link,
    unsigned set)
{
    int               rc;
    MDB_txn          *txn;
    MDB_val           key;
    mcp_store_link_t  cur, in;

    if (link == NULL || !mcp_store_tenant_valid(tenant, tenant_len, 1)) {
        return MCP_STORE_EINVAL;
    }

    /* the time of the change: the caller's (a cluster's operation carries
     * its own, the same on every node), else now */

    in = *link;

    if (in.updated_at == 0) {
        in.updated_at = (int64_t) time(NULL);
    }

    /* read, checked and written in one transaction: a concurrent visit
     * count or delete is either before or after, never lost */

    rc = mcp_store_link_change(s, code, code_len, 0, &txn, &key, &cur);

    if (txn == NULL) {
        return rc;
    }

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_link_change_fields(s, txn, &key, &cur, tenant,
                                          tenant_len, &in, set);
    }

    return mcp_store_write_end(s, txn, rc);
}


/*
 * The change of mcp_store_link_update() to cur, the link read under key
 * in txn: also a cluster's operation, applied in a transaction of its own.
 */

int
mcp_store_link_change_fields(mcp_store_t *s, MDB_txn *txn, MDB_val *key,
    mcp_store_link_t *cur, const char *tenant, size_t tenant_len,
    const mcp_store_link_t *link, unsigned set)
{
    int      rc;
    char     tenant_buf[MCP_STORE_SCOPE_MAX];
    int64_t  bytes;

    if (!mcp_store_link_owned(cur, tenant, tenant_len)) {
        return MCP_STORE_NOTFOUND;
    }

    if (cur->tenant_len > sizeof(tenant_buf)) {
        return MCP_STORE_ECORRUPT;
    }

    /* cur points into the map, valid until the transaction's next update:
     * the owner is copied for the usage written after the record; a
     * longer URL counts towards the owner's bytes, and may be over its
     * quota */

    memcpy(tenant_buf, cur->tenant, cur->tenant_len);
    cur->tenant = tenant_buf;

    bytes = 0;

    if (set & MCP_STORE_LINK_SET_URL) {
        bytes = (int64_t) link->url_len - (int64_t) cur->url_len;
        cur->url = link->url;
        cur->url_len = link->url_len;
    }

    if (set & MCP_STORE_LINK_SET_EXPIRES) {
        cur->expires_at = link->expires_at;
    }

    if (set & MCP_STORE_LINK_SET_MAX_VISITS) {
        cur->max_visits = link->max_visits;
    }

    if (set & MCP_STORE_LINK_SET_TAGS) {
        cur->tags = link->tags;
        cur->tags_len = link->tags_len;
    }

    if (set & MCP_STORE_LINK_SET_STATUS) {
        cur->redirect_status = link->redirect_status;
    }

    /* 0: an operation of a version that did not carry the time, which
     * every node applies alike by leaving the last one */

    if (link->updated_at != 0) {
        cur->updated_at = link->updated_at;
    }

    rc = mcp_store_link_valid(cur)
         ? mcp_store_link_write(s, txn, key, cur, 0)
         : MCP_STORE_EINVAL;

    if (rc == MCP_STORE_OK && bytes != 0) {
        rc = mcp_store_usage_add(s, txn, cur->tenant, cur->tenant_len,
                                 MCP_STORE_QUOTA_LINKS, 0, bytes);
    }

    return rc;
}


int
mcp_store_link_list(mcp_store_t *s, const char *after, size_t after_len,
    size_t limit, mcp_store_link_cb cb, void *data, int *more)
{
    return mcp_store_link_walk(s, NULL, 0, after, after_len, limit, cb, data,
                               more, 0);
}


int
mcp_store_link_list_tenant(mcp_store_t *s, const char *tenant,
    size_t tenant_len, const char *after, size_t after_len, size_t limit,
    mcp_store_link_cb cb, void *data, int *more)
{
    return mcp_store_link_walk(s, tenant, tenant_len, after, after_len,
                               limit, cb, data, more, 0);
}


int
mcp_store_link_prefix(mcp_store_t *s, const char *prefix,
    size_t prefix_len, size_t limit, mcp_store_link_cb cb, void *data,
    int *more)
{
    return mcp_store_link_walk(s, NULL, 0, prefix, prefix_len, limit, cb,
                               data, more, MCP_STORE_WALK_PREFIX);
}


int
mcp_store_link_prefix_tenant(mcp_store_t *s, const char *tenant,
    size_t tenant_len, const char *prefix, size_t prefix_len, size_t limit,
    mcp_store_link_cb cb, void *data, int *more)
{
    return mcp_store_link_walk(s, tenant, tenant_len, prefix, prefix_len,
                               limit, cb, data, more, MCP_STORE_WALK_PREFIX);
}


/*
 * What a tenant's walk reads of the others' links, in units of the work
 * budget: each is as much work as a token indexed (it is decoded, not
 * passed on).
 */
#define MCP_STORE_LINK_SKIP_WORK  16


int
mcp_store_link_walk(mcp_store_t *s, const char *tenant, size_t tenant_len,
    const char *after, size_t after_len, size_t limit, mcp_store_link_cb cb,
    void *data, int *more, unsigned walk)
{
    int                rc, drc, stop, next;
    size_t             n, skipped;
    MDB_val            key, val, last;
    MDB_cursor        *cur;
    mcp_store_link_t   link;

    if (more != NULL) {
        *more = 0;
    }

    if (s == NULL || cb == NULL || after_len > MCP_STORE_CODE_MAX
        || (after == NULL && after_len != 0)
        || !mcp_store_tenant_valid(tenant, tenant_len, 1))
    {
        return MCP_STORE_EINVAL;
    }

    if (tenant_len != 0) {
        walk &= ~(unsigned) MCP_STORE_WALK_CORRUPT;
    }

    rc = mcp_store_cursor_begin(s, s->links, &cur);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    if (after_len == 0) {
        rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);

    } else {
        key.mv_size = after_len;
        key.mv_data = (void *) after;

        rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);

        if (rc == MDB_SUCCESS && !(walk & MCP_STORE_WALK_PREFIX)
            && key.mv_size == after_len
            && memcmp(key.mv_data, after, after_len) == 0)
        {
            rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
        }
    }

    n = 0;
    skipped = 0;
    stop = 0;
    next = 0;

    /*
     * The loop looks one link past the last one it passes to cb, so that
     * "more" is exact even when the rest are all records it skips.
     */

    while (rc == MDB_SUCCESS) {
        if (mcp_store_link_past(walk, after, after_len, &key)) {
            break;
        }

        drc = mcp_store_link_decode(val.mv_data, val.mv_size, &link);

        /* a link whose counter does not read is as one that does not
         * decode */

        if (drc == MCP_STORE_OK) {
            drc = mcp_store_link_counted(s, mdb_cursor_txn(cur), &key, &link);
        }

        /* another tenant's link is skipped like a record that does not
         * decode: it counts neither towards limit nor for *more */

        if ((drc == MCP_STORE_OK
             && mcp_store_link_owned(&link, tenant, tenant_len))
            || (drc != MCP_STORE_OK && (walk & MCP_STORE_WALK_CORRUPT)))
        {
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

        } else if (tenant_len != 0
                   && ++skipped == MCP_STORE_WORK / MCP_STORE_LINK_SKIP_WORK)
        {

            /* only a tenant's walk skips links: for it, a NULL link is
             * where it stopped, one that is not its own */

            last = key;
            rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);

            if (rc == MDB_SUCCESS
                && !mcp_store_link_past(walk, after, after_len, &key))
            {
                if (!stop) {
                    (void) cb(data, last.mv_data, last.mv_size, NULL);
                }

                next = 1;
            }

            break;
        }

        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    }

    rc = mcp_store_cursor_end(s, cur, rc);

    if (rc == MCP_STORE_OK && more != NULL) {
        *more = next;
    }

    return rc;
}


/*
 * The start of a change to the link under code: begins the write (a
 * small one of that many bytes, mcp_store_write_small(), unless 0) and
 * reads it.  *txn is NULL when no write began (and rc says why); else the
 * caller ends it, whatever the read gave.
 */

static int
mcp_store_link_change(mcp_store_t *s, const char *code, size_t code_len,
    size_t small, MDB_txn **txn, MDB_val *key, mcp_store_link_t *link)
{
    int  rc;

    if (small == 0) {
        rc = mcp_store_key_begin(s, code, code_len, txn, key);

    } else if (s == NULL) {
        rc = MCP_STORE_EINVAL;

    } else {
        rc = mcp_store_key(key, code, code_len);

        if (rc == MCP_STORE_OK) {
            rc = mcp_store_write_small(s, small, txn);
        }
    }

    if (rc != MCP_STORE_OK) {
        *txn = NULL;
        return rc;
    }

    return mcp_store_record_get(s, *txn, MCP_STORE_RECORD_LINK, code,
                                code_len, key, link);
}


/* The start of a new link: checks it, and begins the write under code. */

static int
mcp_store_link_begin(mcp_store_t *s, const char *code, size_t code_len,
    const mcp_store_link_t *link, MDB_txn **txn, MDB_val *key)
{
    int  rc;

    if (s == NULL || !mcp_store_link_valid(link)) {
        return MCP_STORE_EINVAL;
    }

    rc = mcp_store_key(key, code, code_len);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    /* the record holds these and a few numbers (MCP_STORE_LINK_BUF) */

    return mcp_store_write_small(s, MCP_STORE_LINK_BUF + link->url_len
                                    + link->tenant_len + link->tags_len,
                                 txn);
}


static int
mcp_store_link_visit_batch(mcp_store_t *s, MDB_txn *txn, const void *batch,
    size_t i)
{
    return mcp_store_visit_add(s, txn, (const mcp_store_visit_t *) batch + i);
}


int
mcp_store_visit_add(mcp_store_t *s, MDB_txn *txn, const mcp_store_visit_t *v)
{
    int       rc;
    MDB_val   key, val;
    uint64_t  totals[MCP_STORE_TOTALS];

    if (mcp_store_key(&key, v->code, v->code_len) != MCP_STORE_OK
        || memchr(v->code, '\0', v->code_len) != NULL)
    {
        return MCP_STORE_NOTFOUND;
    }

    /* a link that is gone counts no more: its totals went with it, and
     * with none, its record is looked up (only read: its page stays
     * clean), a random page of the largest tree that a link visited
     * before does not cost */

    rc = mcp_store_totals_get(s, txn, v->code, v->code_len, totals);

    if (rc == MCP_STORE_NOTFOUND) {
        rc = mcp_store_rc(mdb_get(txn, s->links, &key, &val));
    }

    if (rc != MCP_STORE_OK) {
        return rc;
    }

    /* a batch of bots' visits, or of visits consumed already, leaves the
     * counter alone */

    if (v->count != 0) {
        totals[2] = mcp_store_add_sat(totals[2], v->count);

        if (v->last_visit > 0 && (uint64_t) v->last_visit > totals[3]) {
            totals[3] = (uint64_t) v->last_visit;
        }

    } else if (v->people == 0 && v->bots == 0) {
        return MCP_STORE_OK;
    }

    rc = mcp_store_stats_add(s, txn, v, totals);

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_totals_put(s, txn, v->code, v->code_len, totals);
    }

    return rc;
}


int
mcp_store_link_del(mcp_store_t *s, MDB_txn *txn, MDB_val *key)
{
    int  rc;

    rc = mcp_store_rc(mdb_del(txn, s->links, key, NULL));

    /* a new link under the code starts from no visits and no statistics:
     * its counter is in its totals */

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_stats_delete(s, txn, key->mv_data, key->mv_size);
    }

    return rc;
}


/*
 * A link's counter in c[0] (visits) and c[1] (last visit): 0 if none.  In
 * its totals (schema 3), or in "visits" (a read-only schema 2 store).
 */

static int
mcp_store_counter_get(mcp_store_t *s, MDB_txn *txn, const MDB_val *key,
    uint64_t *c)
{
    int       rc;
    MDB_val   val;
    uint64_t  totals[MCP_STORE_TOTALS];

    if (!s->has_visits) {
        rc = mcp_store_totals_get(s, txn, key->mv_data, key->mv_size,
                                  totals);
        c[0] = totals[2];
        c[1] = totals[3];

        return (rc == MCP_STORE_NOTFOUND) ? MCP_STORE_OK : rc;
    }

    c[0] = 0;
    c[1] = 0;

    rc = mdb_get(txn, s->visits, (MDB_val *) key, &val);

    if (rc == MDB_NOTFOUND) {
        return MCP_STORE_OK;
    }

    if (rc != MDB_SUCCESS) {
        return mcp_store_rc(rc);
    }

    return mcp_store_uints_decode(val.mv_data, val.mv_size, c, 2);
}


/*
 * Adds the link's counter to the visits of its record.  A counter that
 * does not decode is MCP_STORE_ECORRUPT, like a record that does not.
 */

static int
mcp_store_link_counted(mcp_store_t *s, MDB_txn *txn, const MDB_val *key,
    mcp_store_link_t *link)
{
    int       rc;
    uint64_t  c[2];

    rc = mcp_store_counter_get(s, txn, key, c);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    link->visits = mcp_store_add_sat(link->visits, c[0]);

    if (c[1] > (uint64_t) INT64_MAX) {
        return MCP_STORE_ECORRUPT;
    }

    if (c[1] != 0 && (int64_t) c[1] > link->last_visit) {
        link->last_visit = (int64_t) c[1];
    }

    return MCP_STORE_OK;
}


/* counts saturate rather than wrap */

uint64_t
mcp_store_add_sat(uint64_t a, uint64_t b)
{
    return (b > UINT64_MAX - a) ? UINT64_MAX : a + b;
}


/* Codes are in order: the first without the prefix ends a prefix walk. */

static int
mcp_store_link_past(unsigned walk, const char *prefix, size_t prefix_len,
    const MDB_val *key)
{
    return (walk & MCP_STORE_WALK_PREFIX) && prefix_len != 0
           && (key->mv_size < prefix_len
               || memcmp(key->mv_data, prefix, prefix_len) != 0);
}


int
mcp_store_link_valid(const mcp_store_link_t *link)
{
    return link != NULL
           && (link->url != NULL || link->url_len == 0)
           && (uint64_t) link->url_len <= MCP_STORE_URL_MAX
           && mcp_store_tenant_valid(link->tenant, link->tenant_len, 1)
           && (link->redirect_status == 0 || link->redirect_status == 301
               || link->redirect_status == 302
               || link->redirect_status == 307
               || link->redirect_status == 308)
           && mcp_store_link_tags_valid(link->tags, link->tags_len);
}


int
mcp_store_tag_valid(const char *tag, size_t len)
{
    size_t  i;

    if (tag == NULL || len == 0 || len > MCP_STORE_TAG_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((tag[i] >= 'a' && tag[i] <= 'z')
              || (tag[i] >= 'A' && tag[i] <= 'Z')
              || (tag[i] >= '0' && tag[i] <= '9')
              || tag[i] == '_' || tag[i] == '.' || tag[i] == ':'
              || tag[i] == '-'))
        {
            return 0;
        }
    }

    return 1;
}


/* Tags as mcp_store_link_t says: valid each, at most so many, none twice. */

static int
mcp_store_link_tags_valid(const char *tags, size_t len)
{
    size_t       n, pos, tag_len;
    const char  *tag;

    if (len == 0) {
        return 1;
    }

    if (tags == NULL || len > MCP_STORE_LINK_TAGS_LEN
        || tags[len - 1] == ',')
    {
        return 0;
    }

    for (pos = 0, n = 0; mcp_store_tag_next(tags, len, &pos, &tag, &tag_len);
         n++)
    {
        if (n == MCP_STORE_TAGS_MAX
            || !mcp_store_tag_valid(tag, tag_len)
            || mcp_store_tags_hold(tags, (size_t) (tag - tags), tag, tag_len))
        {
            return 0;
        }
    }

    return 1;
}


int
mcp_store_tag_next(const char *tags, size_t tags_len, size_t *pos,
    const char **tag, size_t *tag_len)
{
    const char  *comma;

    if (*pos >= tags_len) {
        return 0;
    }

    *tag = tags + *pos;

    comma = memchr(*tag, ',', tags_len - *pos);
    *tag_len = (comma != NULL) ? (size_t) (comma - *tag) : tags_len - *pos;

    *pos += *tag_len + 1;

    return 1;
}


int
mcp_store_link_tagged(const mcp_store_link_t *link, const char *tag,
    size_t len)
{
    return mcp_store_tags_hold(link->tags, link->tags_len, tag, len);
}


/* Do the comma-separated tags (len bytes) hold tag? */

static int
mcp_store_tags_hold(const char *tags, size_t len, const char *tag,
    size_t tag_len)
{
    size_t       pos, n;
    const char  *t;

    for (pos = 0; mcp_store_tag_next(tags, len, &pos, &t, &n); /* void */) {
        if (n == tag_len && memcmp(t, tag, tag_len) == 0) {
            return 1;
        }
    }

    return 0;
}


/* Does tenant own the link?  Any tenant does when tenant_len is 0. */

static int
mcp_store_link_owned(const mcp_store_link_t *link, const char *tenant,
    size_t tenant_len)
{
    return tenant_len == 0
           || (link->tenant_len == tenant_len
               && memcmp(link->tenant, tenant, tenant_len) == 0);
}


int
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

    /* a new link counts towards its tenant's quota */

    if (rc == MCP_STORE_OK && (flags & MDB_NOOVERWRITE)) {
        rc = mcp_store_usage_add(s, txn, link->tenant, link->tenant_len,
                                 MCP_STORE_QUOTA_LINKS, 1,
                                 (int64_t) (key->mv_size + link->url_len));
    }

    return rc;
}
