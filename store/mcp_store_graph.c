/*
 * mcp_store: the knowledge graph of the context store.
 *
 *   "entities"      scope, name                   ->  [type, created_at,
 *                                                      updated_at,
 *                                                      [[text, created_at],
 *                                                       ...]]
 *   "relations"     scope, from, NUL, type, NUL, to  ->  [created_at]
 *   "relations_to"  scope, to, NUL, type, NUL, from  ->  empty
 *
 * Names and types hold no NUL (mcp_store_name_valid()), so a relation key
 * splits back into its three parts, and the relations from (or to) an
 * entity are the keys that start with scope, name, NUL.  "relations_to"
 * mirrors "relations" in the same transaction, for the relations to an
 * entity.  An entity is indexed for search as one document, kind
 * MCP_STORE_DOC_ENTITY with its name as id, of its name, its type and
 * each of its observations, added and removed text by text.
 *
 * A record read from the map is copied to the heap before the
 * transaction writes anything that depends on it: a write may move or
 * free (spill) the page it lives in.
 */

#include <stdlib.h>
#include <string.h>

#include "mcp_store_int.h"


typedef struct mcp_store_walk_s  mcp_store_walk_t;

typedef int (*mcp_store_walk_pt)(mcp_store_walk_t *w, const MDB_val *key,
    const MDB_val *val);

/*
 * A paged walk over the keys that start with a prefix.  one() returns
 * MCP_STORE_OK for a record passed to the callback (which sets stop to
 * end the walk), MCP_STORE_ECORRUPT for one skipped, anything else to
 * fail.
 */
struct mcp_store_walk_s {
    mcp_store_txn_t           *t;
    size_t                     base;    /* the scope's length in keys */
    mcp_store_walk_pt          one;
    mcp_store_entity_cb        entity_cb;
    mcp_store_relation_cb      relation_cb;
    void                      *data;
    mcp_store_observation_t   *obs;
    size_t                     cap;
    int                        stop;
};


/* a relation key split into its three parts */
typedef struct {
    const char                *part[3];
    size_t                     len[3];
} mcp_store_rel_parts_t;


static int mcp_store_entity_make(mcp_store_txn_t *t,
    const mcp_store_scope_t *sc, const mcp_store_entity_t *e, int64_t now,
    int keep, int *created);
static int mcp_store_graph_begin(mcp_store_txn_t *t,
    const mcp_store_scope_t *sc, mcp_store_kbuf_t *kb, int write);
static int mcp_store_text_valid(const char *text, size_t len);
static int mcp_store_entity_valid(const mcp_store_entity_t *e);
static int mcp_store_obs_begin(mcp_store_txn_t *t,
    const mcp_store_scope_t *sc, const char *name, size_t name_len,
    const char *text, size_t text_len, mcp_store_kbuf_t *kb, char **copy,
    mcp_store_entity_t *e);
static int mcp_store_entity_read(mcp_store_txn_t *t,
    const mcp_store_kbuf_t *kb, char **copy, mcp_store_entity_t *e);
static int mcp_store_entity_write(mcp_store_txn_t *t,
    const mcp_store_kbuf_t *kb, const mcp_store_entity_t *e,
    unsigned flags);
static int mcp_store_entity_index(mcp_store_txn_t *t,
    const mcp_store_scope_t *sc, const char *name, size_t name_len,
    const mcp_store_entity_t *e, int add);
static int mcp_store_entity_keep(mcp_store_txn_t *t, mcp_store_entity_t *e);
static size_t mcp_store_obs_find(const mcp_store_observation_t *obs,
    size_t n, const char *text, size_t len);
static int mcp_store_rel_begin(mcp_store_txn_t *t,
    const mcp_store_scope_t *sc, const mcp_store_relation_t *r,
    mcp_store_kbuf_t *kb, size_t *base);
static void mcp_store_rel_mirror(mcp_store_kbuf_t *kb, size_t base,
    const mcp_store_relation_t *r, MDB_val *key);
static int mcp_store_rel_key(mcp_store_kbuf_t *kb, size_t base,
    const char *a, size_t a_len, const char *type, size_t type_len,
    const char *b, size_t b_len);
static int mcp_store_rel_parse(const MDB_val *key, size_t base,
    mcp_store_rel_parts_t *p);
static int mcp_store_rel_unlink(mcp_store_txn_t *t,
    const mcp_store_scope_t *sc, MDB_dbi dbi, MDB_dbi mirror,
    const mcp_store_kbuf_t *prefix, size_t base);
static int mcp_store_rel_emit(mcp_store_walk_t *w, const char *from,
    size_t from_len, const char *type, size_t type_len, const char *to,
    size_t to_len, int64_t created_at);
static int mcp_store_walk(mcp_store_walk_t *w, MDB_dbi dbi,
    const mcp_store_kbuf_t *prefix, const mcp_store_kbuf_t *after,
    size_t limit, int *more);
static int mcp_store_walk_entity(mcp_store_walk_t *w, const MDB_val *key,
    const MDB_val *val);
static int mcp_store_walk_relation(mcp_store_walk_t *w, const MDB_val *key,
    const MDB_val *val);
static int mcp_store_walk_relation_to(mcp_store_walk_t *w,
    const MDB_val *key, const MDB_val *val);


int
mcp_store_entity_create(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const mcp_store_entity_t *e, int64_t now, int *created)
{
    return mcp_store_entity_make(t, sc, e, now, 0, created);
}


int
mcp_store_entity_restore(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const mcp_store_entity_t *e, int *created)
{
    return mcp_store_entity_make(t, sc, e, 0, 1, created);
}


/* keep 0: the entity and its observations are all made now, whatever
 * times e carries; keep 1: with the times e carries */

static int
mcp_store_entity_make(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const mcp_store_entity_t *e, int64_t now, int keep, int *created)
{
    int                       rc;
    size_t                    i;
    MDB_val                   val;
    mcp_store_kbuf_t          kb;
    mcp_store_entity_t        ne;
    mcp_store_observation_t  *obs;

    if (created != NULL) {
        *created = 0;
    }

    rc = mcp_store_graph_begin(t, sc, &kb, 1);

    if (rc == MCP_STORE_OK) {
        rc = (e == NULL) ? MCP_STORE_EINVAL : mcp_store_entity_valid(e);
    }

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_kbuf_name(&kb, e->name, e->name_len, 0);
    }

    if (rc != MCP_STORE_OK) {
        return rc;
    }

    rc = mcp_store_txn_get(t, t->store->entities, &kb, &val);

    if (rc != MCP_STORE_NOTFOUND) {
        return rc;                      /* it exists: nothing changes */
    }

    obs = malloc((e->nobservations + 1) * sizeof(mcp_store_observation_t));
    if (obs == NULL) {
        return MCP_STORE_ENOMEM;
    }

    ne = *e;
    ne.observations = obs;
    ne.nobservations = 0;

    for (i = 0; i < e->nobservations; i++) {
        if (mcp_store_obs_find(obs, ne.nobservations,
                               e->observations[i].text,
                               e->observations[i].text_len)
            == ne.nobservations)
        {
            obs[ne.nobservations] = e->observations[i];

            if (!keep) {
                obs[ne.nobservations].created_at = now;
            }

            ne.nobservations++;
        }
    }

    if (!keep) {
        ne.created_at = now;
        ne.updated_at = now;
    }

    rc = mcp_store_entity_write(t, &kb, &ne, MDB_NOOVERWRITE);

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_usage_add(t->store, t->mdb, sc->tenant, sc->tenant_len,
                                 MCP_STORE_QUOTA_ENTITIES, 1,
                                 (int64_t) mcp_store_entity_bytes(e->name_len,
                                                                  &ne));
    }

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_entity_index(t, sc, e->name, e->name_len, &ne, 1);
    }

    free(obs);

    if (rc == MCP_STORE_OK && created != NULL) {
        *created = 1;
    }

    return rc;
}


int
mcp_store_entity_get(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *name, size_t name_len, mcp_store_entity_t *e, size_t cap,
    size_t *total)
{
    int               rc;
    MDB_val           val;
    mcp_store_kbuf_t  kb;

    rc = mcp_store_graph_begin(t, sc, &kb, 0);

    if (rc == MCP_STORE_OK) {
        rc = (e == NULL || (e->observations == NULL && cap != 0))
             ? MCP_STORE_EINVAL
             : mcp_store_kbuf_name(&kb, name, name_len, 0);
    }

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_txn_get(t, t->store->entities, &kb, &val);
    }

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_entity_decode(val.mv_data, val.mv_size, e, cap,
                                     total);
    }

    if (rc != MCP_STORE_OK) {
        return rc;
    }

    mcp_store_work(t, val.mv_size);

    e->name = mcp_store_txn_keep(t, name, name_len);
    e->name_len = name_len;

    return (e->name == NULL) ? MCP_STORE_ENOMEM : mcp_store_entity_keep(t, e);
}


int
mcp_store_observation_add(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *name, size_t name_len, const char *text, size_t text_len,
    int64_t now, int *added)
{
    int                 rc;
    char               *copy;
    mcp_store_kbuf_t    kb;
    mcp_store_entity_t  e;

    if (added != NULL) {
        *added = 0;
    }

    rc = mcp_store_obs_begin(t, sc, name, name_len, text, text_len, &kb,
                             &copy, &e);

    if (rc != MCP_STORE_OK) {
        return rc;
    }

    if (mcp_store_obs_find(e.observations, e.nobservations, text, text_len)
        < e.nobservations)
    {
        rc = MCP_STORE_OK;

    } else if (e.nobservations == MCP_STORE_OBS_MAX) {
        rc = MCP_STORE_ETOOBIG;

    } else {
        e.observations[e.nobservations].text = text;
        e.observations[e.nobservations].text_len = text_len;
        e.observations[e.nobservations++].created_at = now;
        e.updated_at = now;

        rc = mcp_store_entity_write(t, &kb, &e, 0);

        if (rc == MCP_STORE_OK) {
            rc = mcp_store_usage_add(t->store, t->mdb, sc->tenant,
                                     sc->tenant_len, MCP_STORE_QUOTA_ENTITIES,
                                     0, (int64_t) text_len);
        }

        if (rc == MCP_STORE_OK) {
            rc = mcp_store_index_add(t, sc, MCP_STORE_DOC_ENTITY, name,
                                     name_len, text, text_len);
        }

        if (rc == MCP_STORE_OK && added != NULL) {
            *added = 1;
        }
    }

    free(e.observations);
    free(copy);

    return rc;
}


int
mcp_store_observation_delete(mcp_store_txn_t *t,
    const mcp_store_scope_t *sc, const char *name, size_t name_len,
    const char *text, size_t text_len, int *deleted)
{
    int                 rc;
    char               *copy;
    size_t              i;
    mcp_store_kbuf_t    kb;
    mcp_store_entity_t  e;

    if (deleted != NULL) {
        *deleted = 0;
    }

    rc = mcp_store_obs_begin(t, sc, name, name_len, text, text_len, &kb,
                             &copy, &e);

    if (rc != MCP_STORE_OK) {
        return (rc == MCP_STORE_NOTFOUND) ? MCP_STORE_OK : rc;
    }

    i = mcp_store_obs_find(e.observations, e.nobservations, text, text_len);

    if (i < e.nobservations) {
        memmove(&e.observations[i], &e.observations[i + 1],
                (e.nobservations - i - 1) * sizeof(mcp_store_observation_t));
        e.nobservations--;

        rc = mcp_store_entity_write(t, &kb, &e, 0);

        if (rc == MCP_STORE_OK) {
            rc = mcp_store_usage_add(t->store, t->mdb, sc->tenant,
                                     sc->tenant_len, MCP_STORE_QUOTA_ENTITIES,
                                     0, -(int64_t) text_len);
        }

        if (rc == MCP_STORE_OK) {
            rc = mcp_store_index_remove(t, sc, MCP_STORE_DOC_ENTITY, name,
                                        name_len, text, text_len);
        }

        if (rc == MCP_STORE_OK && deleted != NULL) {
            *deleted = 1;
        }
    }

    free(e.observations);
    free(copy);

    return rc;
}


int
mcp_store_entity_delete(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *name, size_t name_len, int *deleted)
{
    int                 rc;
    char               *copy;
    size_t              base;
    MDB_val             key;
    mcp_store_t        *s;
    mcp_store_kbuf_t    kb;
    mcp_store_entity_t  e;

    if (deleted != NULL) {
        *deleted = 0;
    }

    rc = mcp_store_graph_begin(t, sc, &kb, 1);

    base = kb.len;

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_kbuf_name(&kb, name, name_len, 0);
    }

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_entity_read(t, &kb, &copy, &e);
    }

    if (rc != MCP_STORE_OK) {
        return (rc == MCP_STORE_NOTFOUND) ? MCP_STORE_OK : rc;
    }

    s = t->store;

    mcp_store_kbuf_val(&kb, &key);

    rc = mcp_store_rc(mdb_del(t->mdb, s->entities, &key, NULL));

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_usage_add(s, t->mdb, sc->tenant, sc->tenant_len,
                                 MCP_STORE_QUOTA_ENTITIES, -1,
                                 -(int64_t) mcp_store_entity_bytes(name_len,
                                                                   &e));
    }

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_entity_index(t, sc, name, name_len, &e, 0);
    }

    /* the relations from it, then those to it: scope, name, NUL */

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_kbuf_add(&kb, NULL, 0, 1);
    }

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_rel_unlink(t, sc, s->relations, s->relations_to,
                                  &kb, base);
    }

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_rel_unlink(t, sc, s->relations_to, s->relations,
                                  &kb, base);
    }

    if (rc == MCP_STORE_OK && deleted != NULL) {
        *deleted = 1;
    }

    free(e.observations);
    free(copy);

    return rc;
}


int
mcp_store_entity_list(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *after, size_t after_len, size_t limit,
    mcp_store_observation_t *obs, size_t cap, mcp_store_entity_cb cb,
    void *data, int *more)
{
    int                rc;
    mcp_store_walk_t   w;
    mcp_store_kbuf_t   prefix, start;

    if (more != NULL) {
        *more = 0;
    }

    rc = mcp_store_graph_begin(t, sc, &prefix, 0);

    if (rc == MCP_STORE_OK && (cb == NULL || (obs == NULL && cap != 0))) {
        rc = MCP_STORE_EINVAL;
    }

    start = prefix;

    if (rc == MCP_STORE_OK && after_len > 0) {
        rc = mcp_store_kbuf_name(&start, after, after_len, 0);
    }

    if (rc != MCP_STORE_OK) {
        return rc;
    }

    memset(&w, 0, sizeof(mcp_store_walk_t));
    w.t = t;
    w.base = prefix.len;
    w.one = mcp_store_walk_entity;
    w.entity_cb = cb;
    w.data = data;
    w.obs = obs;
    w.cap = cap;

    return mcp_store_walk(&w, t->store->entities, &prefix,
                          after_len > 0 ? &start : NULL, limit, more);
}


/* what an entity counts towards its tenant's bytes (mcp_store_quota.c) */

size_t
mcp_store_entity_bytes(size_t name_len, const mcp_store_entity_t *e)
{
    size_t  i, bytes;

    bytes = name_len + e->type_len;

    for (i = 0; i < e->nobservations; i++) {
        bytes += e->observations[i].text_len;
    }

    return bytes;
}


int
mcp_store_relation_create(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const mcp_store_relation_t *r, int64_t now, int *created)
{
    int               rc;
    char              buf[16];
    size_t            base;
    MDB_val           key, val;
    mcp_store_kbuf_t  kb;

    if (created != NULL) {
        *created = 0;
    }

    rc = mcp_store_rel_begin(t, sc, r, &kb, &base);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    mcp_store_kbuf_val(&kb, &key);

    val.mv_size = mcp_store_relation_encode(now, buf, sizeof(buf));
    val.mv_data = buf;

    rc = mdb_put(t->mdb, t->store->relations, &key, &val, MDB_NOOVERWRITE);

    if (rc == MDB_KEYEXIST) {
        return MCP_STORE_OK;
    }

    if (rc != MDB_SUCCESS) {
        return mcp_store_rc(rc);
    }

    rc = mcp_store_usage_add(t->store, t->mdb, sc->tenant, sc->tenant_len,
                             MCP_STORE_QUOTA_BYTES, 0,
                             (int64_t) MCP_STORE_REL_BYTES(kb.len, base));
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    mcp_store_rel_mirror(&kb, base, r, &key);

    val.mv_size = 0;
    val.mv_data = NULL;

    rc = mcp_store_rc(mdb_put(t->mdb, t->store->relations_to, &key, &val, 0));

    if (rc == MCP_STORE_OK && created != NULL) {
        *created = 1;
    }

    return rc;
}


int
mcp_store_relation_delete(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const mcp_store_relation_t *r, int *deleted)
{
    int               rc;
    size_t            base;
    MDB_val           key;
    mcp_store_kbuf_t  kb;

    if (deleted != NULL) {
        *deleted = 0;
    }

    rc = mcp_store_rel_begin(t, sc, r, &kb, &base);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    mcp_store_kbuf_val(&kb, &key);

    rc = mcp_store_rc(mdb_del(t->mdb, t->store->relations, &key, NULL));

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_usage_add(t->store, t->mdb, sc->tenant, sc->tenant_len,
                                 MCP_STORE_QUOTA_BYTES, 0,
                                 -(int64_t) MCP_STORE_REL_BYTES(kb.len, base));
    }

    if (rc != MCP_STORE_OK) {
        return (rc == MCP_STORE_NOTFOUND) ? MCP_STORE_OK : rc;
    }

    mcp_store_rel_mirror(&kb, base, r, &key);

    rc = mcp_store_rc(mdb_del(t->mdb, t->store->relations_to, &key, NULL));

    /* a missing mirror is repaired by the delete, not an error */

    if (rc == MCP_STORE_NOTFOUND) {
        rc = MCP_STORE_OK;
    }

    if (rc == MCP_STORE_OK && deleted != NULL) {
        *deleted = 1;
    }

    return rc;
}


int
mcp_store_relation_list(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *from, size_t from_len, const mcp_store_relation_t *after,
    size_t limit, mcp_store_relation_cb cb, void *data, int *more)
{
    int                rc;
    mcp_store_walk_t   w;
    mcp_store_kbuf_t   prefix, start;

    if (more != NULL) {
        *more = 0;
    }

    rc = mcp_store_graph_begin(t, sc, &prefix, 0);

    if (rc == MCP_STORE_OK && cb == NULL) {
        rc = MCP_STORE_EINVAL;
    }

    memset(&w, 0, sizeof(mcp_store_walk_t));
    w.base = prefix.len;

    if (rc == MCP_STORE_OK && from_len > 0) {
        rc = mcp_store_kbuf_name(&prefix, from, from_len, 1);
    }

    start = prefix;

    if (rc == MCP_STORE_OK && after != NULL) {
        rc = mcp_store_rel_key(&start, w.base, after->from, after->from_len,
                               after->type, after->type_len, after->to,
                               after->to_len);
    }

    if (rc != MCP_STORE_OK) {
        return rc;
    }

    w.t = t;
    w.one = mcp_store_walk_relation;
    w.relation_cb = cb;
    w.data = data;

    return mcp_store_walk(&w, t->store->relations, &prefix,
                          after != NULL ? &start : NULL, limit, more);
}


int
mcp_store_relation_list_to(mcp_store_txn_t *t,
    const mcp_store_scope_t *sc, const char *to, size_t to_len,
    mcp_store_relation_cb cb, void *data)
{
    int                rc;
    mcp_store_walk_t   w;
    mcp_store_kbuf_t   prefix;

    rc = mcp_store_graph_begin(t, sc, &prefix, 0);

    memset(&w, 0, sizeof(mcp_store_walk_t));
    w.base = prefix.len;

    if (rc == MCP_STORE_OK) {
        rc = (cb == NULL) ? MCP_STORE_EINVAL
                          : mcp_store_kbuf_name(&prefix, to, to_len, 1);
    }

    if (rc != MCP_STORE_OK) {
        return rc;
    }

    w.t = t;
    w.one = mcp_store_walk_relation_to;
    w.relation_cb = cb;
    w.data = data;

    return mcp_store_walk(&w, t->store->relations_to, &prefix, NULL, 0,
                          NULL);
}


int
mcp_store_entity_search(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *query, size_t query_len, size_t offset, mcp_store_hit_t *hits,
    size_t cap, size_t *nhits, size_t *total)
{
    return mcp_store_index_search(t, sc, MCP_STORE_DOC_ENTITY, NULL, 0, query,
                                  query_len, offset, hits, cap, nhits, total);
}


/*
 * Checks the transaction (open, and writable for a write) and starts kb
 * with the scope.
 */

static int
mcp_store_graph_begin(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    mcp_store_kbuf_t *kb, int write)
{
    kb->len = 0;

    if (t == NULL || t->mdb == NULL || (write && t->rdonly)) {
        return MCP_STORE_EINVAL;
    }

    return mcp_store_kbuf_scope(kb, sc);
}


static int
mcp_store_text_valid(const char *text, size_t len)
{
    if (text == NULL || len == 0) {
        return MCP_STORE_EINVAL;
    }

    return (len > MCP_STORE_TEXT_MAX) ? MCP_STORE_ETOOBIG : MCP_STORE_OK;
}


static int
mcp_store_entity_valid(const mcp_store_entity_t *e)
{
    int     rc;
    size_t  i;

    rc = mcp_store_name_valid(e->type, e->type_len);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    if (e->nobservations > MCP_STORE_OBS_MAX) {
        return MCP_STORE_ETOOBIG;
    }

    if (e->nobservations > 0 && e->observations == NULL) {
        return MCP_STORE_EINVAL;
    }

    for (i = 0; i < e->nobservations; i++) {
        rc = mcp_store_text_valid(e->observations[i].text,
                                  e->observations[i].text_len);
        if (rc != MCP_STORE_OK) {
            return rc;
        }
    }

    return MCP_STORE_OK;
}


/*
 * The start of a change to an entity's observations: checks the text,
 * makes the entity's key in kb and reads it as mcp_store_entity_read().
 */

static int
mcp_store_obs_begin(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *name, size_t name_len, const char *text, size_t text_len,
    mcp_store_kbuf_t *kb, char **copy, mcp_store_entity_t *e)
{
    int  rc;

    *copy = NULL;
    e->observations = NULL;

    rc = mcp_store_graph_begin(t, sc, kb, 1);

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_text_valid(text, text_len);
    }

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_kbuf_name(kb, name, name_len, 0);
    }

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_entity_read(t, kb, copy, e);
    }

    return rc;
}


/*
 * Reads the entity under kb for a change: its record copied to *copy, and
 * its observations decoded from the copy into an array of room for one
 * more.  The caller frees both.  MCP_STORE_NOTFOUND if there is none.
 */

static int
mcp_store_entity_read(mcp_store_txn_t *t, const mcp_store_kbuf_t *kb,
    char **copy, mcp_store_entity_t *e)
{
    int      rc;
    size_t   n;
    MDB_val  val;

    *copy = NULL;
    e->observations = NULL;

    rc = mcp_store_txn_get(t, t->store->entities, kb, &val);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    *copy = malloc(val.mv_size);
    e->observations = malloc((MCP_STORE_OBS_MAX + 1)
                             * sizeof(mcp_store_observation_t));

    if (*copy == NULL || e->observations == NULL) {
        rc = MCP_STORE_ENOMEM;

    } else {
        memcpy(*copy, val.mv_data, val.mv_size);
        rc = mcp_store_entity_decode(*copy, val.mv_size, e,
                                     MCP_STORE_OBS_MAX, &n);
    }

    if (rc != MCP_STORE_OK) {
        free(e->observations);
        free(*copy);
        e->observations = NULL;
        *copy = NULL;
    }

    return rc;
}


static int
mcp_store_entity_write(mcp_store_txn_t *t, const mcp_store_kbuf_t *kb,
    const mcp_store_entity_t *e, unsigned flags)
{
    int       rc;
    char     *buf;
    size_t    len;
    MDB_val   key, val;

    /* encoded to the heap, not into the map (MDB_RESERVE): the record's
     * strings may point into the page the put rewrites */

    len = mcp_store_entity_encode(e, NULL, 0);

    buf = malloc(len);
    if (buf == NULL) {
        return MCP_STORE_ENOMEM;
    }

    val.mv_size = mcp_store_entity_encode(e, buf, len);
    val.mv_data = buf;

    mcp_store_kbuf_val(kb, &key);

    rc = mdb_put(t->mdb, t->store->entities, &key, &val, flags);

    free(buf);

    return mcp_store_rc(rc);
}


/*
 * Adds (add 1) or removes the index entries of an entity's texts.  The
 * name is indexed MCP_STORE_NAME_BOOST times: an entity called what the
 * query says ranks before one that only mentions it.
 */

#define MCP_STORE_NAME_BOOST  3

static int
mcp_store_entity_index(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *name, size_t name_len, const mcp_store_entity_t *e, int add)
{
    int     rc;
    size_t  i;

    int (*update)(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
        char kind, const char *doc, size_t doc_len, const char *text,
        size_t text_len);

    update = add ? mcp_store_index_add : mcp_store_index_remove;

    rc = MCP_STORE_OK;

    for (i = 0; rc == MCP_STORE_OK && i < MCP_STORE_NAME_BOOST; i++) {
        rc = update(t, sc, MCP_STORE_DOC_ENTITY, name, name_len, name,
                    name_len);
    }

    if (rc == MCP_STORE_OK) {
        rc = update(t, sc, MCP_STORE_DOC_ENTITY, name, name_len, e->type,
                    e->type_len);
    }

    for (i = 0; rc == MCP_STORE_OK && i < e->nobservations; i++) {
        rc = update(t, sc, MCP_STORE_DOC_ENTITY, name, name_len,
                    e->observations[i].text, e->observations[i].text_len);
    }

    return rc;
}


/* Copies what a decoded entity points to, in a write transaction. */

static int
mcp_store_entity_keep(mcp_store_txn_t *t, mcp_store_entity_t *e)
{
    size_t                    i;
    mcp_store_observation_t  *o;

    e->type = mcp_store_txn_keep(t, e->type, e->type_len);

    if (e->type == NULL) {
        return MCP_STORE_ENOMEM;
    }

    for (i = 0; i < e->nobservations; i++) {
        o = &e->observations[i];
        o->text = mcp_store_txn_keep(t, o->text, o->text_len);

        if (o->text == NULL) {
            return MCP_STORE_ENOMEM;
        }
    }

    return MCP_STORE_OK;
}


/* the index of the observation of that exact text, or n */

static size_t
mcp_store_obs_find(const mcp_store_observation_t *obs, size_t n,
    const char *text, size_t len)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (obs[i].text_len == len && memcmp(obs[i].text, text, len) == 0) {
            return i;
        }
    }

    return n;
}


/*
 * The start of a change to a relation: checks the transaction, and makes
 * kb the relation's key, *base the length of its scope.
 */

static int
mcp_store_rel_begin(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const mcp_store_relation_t *r, mcp_store_kbuf_t *kb, size_t *base)
{
    int  rc;

    rc = mcp_store_graph_begin(t, sc, kb, 1);

    *base = kb->len;

    if (rc != MCP_STORE_OK) {
        return rc;
    }

    if (r == NULL) {
        return MCP_STORE_EINVAL;
    }

    return mcp_store_rel_key(kb, *base, r->from, r->from_len, r->type,
                             r->type_len, r->to, r->to_len);
}


/* Makes kb the key of r's mirror, which fits: it is as long as r's. */

static void
mcp_store_rel_mirror(mcp_store_kbuf_t *kb, size_t base,
    const mcp_store_relation_t *r, MDB_val *key)
{
    (void) mcp_store_rel_key(kb, base, r->to, r->to_len, r->type,
                             r->type_len, r->from, r->from_len);

    mcp_store_kbuf_val(kb, key);
}


/*
 * Makes kb, cut back to base (the scope), the key a, NUL, type, NUL, b:
 * a relation's key with a = from and b = to, its mirror's the other way.
 */

static int
mcp_store_rel_key(mcp_store_kbuf_t *kb, size_t base, const char *a,
    size_t a_len, const char *type, size_t type_len, const char *b,
    size_t b_len)
{
    int  rc;

    kb->len = base;

    rc = mcp_store_kbuf_name(kb, a, a_len, 1);

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_kbuf_name(kb, type, type_len, 1);
    }

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_kbuf_name(kb, b, b_len, 0);
    }

    return rc;
}


/* Splits a relation key after base into its three parts. */

static int
mcp_store_rel_parse(const MDB_val *key, size_t base,
    mcp_store_rel_parts_t *p)
{
    size_t       i, n;
    const char  *pos, *end, *nul;

    pos = (const char *) key->mv_data + base;
    end = (const char *) key->mv_data + key->mv_size;

    for (i = 0; i < 3; i++) {
        n = (size_t) (end - pos);
        nul = (i < 2) ? memchr(pos, '\0', n) : NULL;

        if (i < 2 && nul == NULL) {
            return MCP_STORE_ECORRUPT;
        }

        p->part[i] = pos;
        p->len[i] = (i < 2) ? (size_t) (nul - pos) : n;

        if (p->len[i] == 0) {
            return MCP_STORE_ECORRUPT;
        }

        pos += p->len[i] + 1;
    }

    return MCP_STORE_OK;
}


/*
 * Deletes every key of dbi that starts with prefix (scope, name, NUL) and
 * its mirror in the other database; the scope is base bytes long.  The
 * cursor starts again from the prefix after each deletion rather than walk
 * pages that change under it.
 */

static int
mcp_store_rel_unlink(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    MDB_dbi dbi, MDB_dbi mirror, const mcp_store_kbuf_t *prefix, size_t base)
{
    int                     rc, mrc;
    MDB_val                 key, val;
    MDB_cursor             *cur;
    mcp_store_kbuf_t        kb, mk;
    mcp_store_rel_parts_t   p;

    rc = mcp_store_txn_cursor(t, dbi, &cur);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    for ( ;; ) {
        mcp_store_kbuf_val(prefix, &key);

        mrc = mcp_store_scan(cur, MDB_SET_RANGE, prefix->data, prefix->len,
                             &key, &val);
        if (mrc != MDB_SUCCESS) {
            rc = (mrc == MDB_NOTFOUND) ? MCP_STORE_OK : mcp_store_rc(mrc);
            break;
        }

        /* copied: the deletions below change the page it is in */

        kb.len = 0;
        (void) mcp_store_kbuf_add(&kb, key.mv_data, key.mv_size, 0);
        mcp_store_kbuf_val(&kb, &key);

        rc = mcp_store_rel_parse(&key, base, &p);

        if (rc == MCP_STORE_OK) {
            mk = *prefix;
            rc = mcp_store_rel_key(&mk, base, p.part[2], p.len[2], p.part[1],
                                   p.len[1], p.part[0], p.len[0]);
        }

        if (rc == MCP_STORE_OK) {
            mcp_store_kbuf_val(&mk, &val);
            mrc = mdb_del(t->mdb, mirror, &val, NULL);
            rc = (mrc == MDB_NOTFOUND) ? MCP_STORE_OK : mcp_store_rc(mrc);
        }

        /* a key that does not split is deleted all the same */

        if (rc == MCP_STORE_OK || rc == MCP_STORE_ECORRUPT) {
            rc = mcp_store_rc(mdb_del(t->mdb, dbi, &key, NULL));
        }

        if (rc == MCP_STORE_OK) {
            rc = mcp_store_usage_add(t->store, t->mdb, sc->tenant,
                                     sc->tenant_len, MCP_STORE_QUOTA_BYTES, 0,
                                     -(int64_t) MCP_STORE_REL_BYTES(kb.len,
                                                                    base));
        }

        if (rc != MCP_STORE_OK) {
            break;
        }
    }

    mdb_cursor_close(cur);

    return rc;
}


/*
 * Runs w->one over the keys of dbi that start with prefix, from the first
 * or from the first after the key after, passing up to limit (0: all).
 * Each record costs its bytes of work, and the walk ends, with *more,
 * where the transaction's budget does.
 */

static int
mcp_store_walk(mcp_store_walk_t *w, MDB_dbi dbi,
    const mcp_store_kbuf_t *prefix, const mcp_store_kbuf_t *after,
    size_t limit, int *more)
{
    int              rc, mrc;
    size_t           n;
    MDB_val          key, val;
    MDB_cursor      *cur;
    MDB_cursor_op    op;

    rc = mcp_store_txn_cursor(w->t, dbi, &cur);
    if (rc != MCP_STORE_OK) {
        return (rc == MCP_STORE_NOTFOUND) ? MCP_STORE_OK : rc;
    }

    mcp_store_kbuf_val(after != NULL ? after : prefix, &key);

    mrc = mcp_store_scan(cur, MDB_SET_RANGE, prefix->data, prefix->len, &key,
                         &val);

    if (mrc == MDB_SUCCESS && after != NULL && key.mv_size == after->len
        && memcmp(key.mv_data, after->data, after->len) == 0)
    {
        mrc = mcp_store_scan(cur, MDB_NEXT, prefix->data, prefix->len, &key,
                             &val);
    }

    n = 0;
    op = MDB_NEXT;

    for ( /* void */ ; mrc == MDB_SUCCESS;
         mrc = mcp_store_scan(cur, op, prefix->data, prefix->len, &key, &val))
    {
        if ((limit != 0 && n == limit) || w->stop
            || mcp_store_txn_spent(w->t))
        {
            if (more != NULL) {
                *more = 1;
            }

            break;
        }

        mcp_store_work(w->t, key.mv_size + val.mv_size);

        rc = w->one(w, &key, &val);

        if (rc == MCP_STORE_OK) {
            n++;

        } else if (rc != MCP_STORE_ECORRUPT) {
            break;
        }

        rc = MCP_STORE_OK;
    }

    mdb_cursor_close(cur);

    if (rc != MCP_STORE_OK) {
        return rc;
    }

    return (mrc == MDB_SUCCESS || mrc == MDB_NOTFOUND) ? MCP_STORE_OK
                                                       : mcp_store_rc(mrc);
}


static int
mcp_store_walk_entity(mcp_store_walk_t *w, const MDB_val *key,
    const MDB_val *val)
{
    int                 rc;
    mcp_store_entity_t  e;

    e.observations = w->obs;
    e.name_len = key->mv_size - w->base;

    rc = mcp_store_entity_decode(val->mv_data, val->mv_size, &e, w->cap,
                                 NULL);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    e.name = mcp_store_txn_keep(w->t, (const char *) key->mv_data + w->base,
                                e.name_len);

    rc = (e.name == NULL) ? MCP_STORE_ENOMEM
                          : mcp_store_entity_keep(w->t, &e);

    if (rc == MCP_STORE_OK) {
        w->stop = w->entity_cb(w->data, &e);
    }

    return rc;
}


static int
mcp_store_walk_relation(mcp_store_walk_t *w, const MDB_val *key,
    const MDB_val *val)
{
    int                     rc;
    int64_t                 created_at;
    mcp_store_rel_parts_t   p;

    rc = mcp_store_rel_parse(key, w->base, &p);

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_relation_decode(val->mv_data, val->mv_size,
                                       &created_at);
    }

    if (rc != MCP_STORE_OK) {
        return rc;
    }

    return mcp_store_rel_emit(w, p.part[0], p.len[0], p.part[1], p.len[1],
                              p.part[2], p.len[2], created_at);
}


/* A mirror key: the relation's record says when it was made. */

static int
mcp_store_walk_relation_to(mcp_store_walk_t *w, const MDB_val *key,
    const MDB_val *val)
{
    int                     rc;
    int64_t                 created_at;
    MDB_val                 rval;
    mcp_store_kbuf_t        kb;
    mcp_store_rel_parts_t   p;

    (void) val;

    rc = mcp_store_rel_parse(key, w->base, &p);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    kb.len = 0;
    (void) mcp_store_kbuf_add(&kb, key->mv_data, w->base, 0);

    rc = mcp_store_rel_key(&kb, w->base, p.part[2], p.len[2], p.part[1],
                           p.len[1], p.part[0], p.len[0]);

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_txn_get(w->t, w->t->store->relations, &kb, &rval);
    }

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_relation_decode(rval.mv_data, rval.mv_size,
                                       &created_at);
    }

    /* a mirror without its relation is skipped, as a corrupt record */

    if (rc == MCP_STORE_NOTFOUND) {
        rc = MCP_STORE_ECORRUPT;
    }

    if (rc != MCP_STORE_OK) {
        return rc;
    }

    return mcp_store_rel_emit(w, p.part[2], p.len[2], p.part[1], p.len[1],
                              p.part[0], p.len[0], created_at);
}


static int
mcp_store_rel_emit(mcp_store_walk_t *w, const char *from, size_t from_len,
    const char *type, size_t type_len, const char *to, size_t to_len,
    int64_t created_at)
{
    mcp_store_relation_t  r;

    r.from = mcp_store_txn_keep(w->t, from, from_len);
    r.from_len = from_len;
    r.type = mcp_store_txn_keep(w->t, type, type_len);
    r.type_len = type_len;
    r.to = mcp_store_txn_keep(w->t, to, to_len);
    r.to_len = to_len;
    r.created_at = created_at;

    if (r.from == NULL || r.type == NULL || r.to == NULL) {
        return MCP_STORE_ENOMEM;
    }

    w->stop = w->relation_cb(w->data, &r);

    return MCP_STORE_OK;
}
