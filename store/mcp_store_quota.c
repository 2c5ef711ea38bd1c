/*
 * mcp_store: per-tenant usage and quotas, in the "meta" database.
 *
 *   "usage"           uint: the usage records are complete (1); absent in
 *                     a store written before quotas, which has none
 *   "usage/" tenant   uints: links, entities, messages, bytes
 *
 * Every function that creates or deletes a link, an entity, an
 * observation or a message changes its tenant's record in the same write
 * transaction, so that the record is exact whichever process writes, and
 * a create over a quota is refused before anything of it is kept.  A
 * store opened for writing that has no "usage" record is counted once,
 * in the transaction that opens it (see mcp_store_usage_init()).
 *
 * Bytes are what the tenant gave: a link's code and URL, an entity's
 * name, type and observation texts, a relation's from, type and to, a
 * message's content.  Keys of the index, timestamps and visit counters
 * are not the tenant's choice and do not count.
 */

#include <stdlib.h>
#include <string.h>

#include "mcp_store_int.h"


#define MCP_STORE_KEY_USAGE       "usage"
#define MCP_STORE_USAGE_VERSION   1


static int mcp_store_usage_key(mcp_store_kbuf_t *kb, const char *tenant,
    size_t tenant_len);
static void mcp_store_usage_read(mcp_store_t *s, MDB_txn *txn,
    const mcp_store_kbuf_t *kb, uint64_t *usage);
static const mcp_store_quota_t *mcp_store_quota_find(const mcp_store_t *s,
    const char *tenant, size_t tenant_len);
static int mcp_store_usage_count(mcp_store_t *s, MDB_txn *txn, MDB_dbi dbi,
    unsigned which);
static int mcp_store_usage_record(mcp_store_t *s, MDB_txn *txn,
    unsigned which, const MDB_val *key, const MDB_val *val,
    mcp_store_observation_t *obs);


static const char  *const mcp_store_quota_names[] = {
    "links", "entities", "messages", "bytes"
};


void
mcp_store_quota_set(mcp_store_t *s, const mcp_store_quota_t *q, size_t n)
{
    if (s != NULL) {
        s->quotas = q;
        s->nquotas = n;
    }
}


const char *
mcp_store_quota_name(unsigned which)
{
    return (which < MCP_STORE_QUOTA_N) ? mcp_store_quota_names[which] : "";
}


void
mcp_store_quota_refused(const mcp_store_t *s, unsigned *which,
    uint64_t *limit)
{
    *which = s->refused;
    *limit = s->refused_limit;
}


int
mcp_store_usage_get(mcp_store_t *s, const char *tenant, size_t tenant_len,
    uint64_t *usage)
{
    int               rc;
    MDB_txn          *txn;
    mcp_store_kbuf_t  kb;

    if (s == NULL || usage == NULL) {
        return MCP_STORE_EINVAL;
    }

    rc = mcp_store_usage_key(&kb, tenant, tenant_len);

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_read_begin(s, &txn);
    }

    if (rc != MCP_STORE_OK) {
        return rc;
    }

    mcp_store_usage_read(s, txn, &kb, usage);

    mcp_store_release(s);

    return MCP_STORE_OK;
}


/*
 * Adds count to the usage of which (a quota, not MCP_STORE_QUOTA_BYTES)
 * and bytes to the bytes (either may be 0 or negative; usage never goes
 * below 0).  A rise over the tenant's limit is MCP_STORE_QUOTA, and the
 * caller's transaction must not commit (it does not: its write ends
 * with that code).  The tenant is copied first: it may point into a page
 * of the map that the put rewrites.
 */

int
mcp_store_usage_add(mcp_store_t *s, MDB_txn *txn, const char *tenant,
    size_t tenant_len, unsigned which, int64_t count, int64_t bytes)
{
    int                       rc;
    char                      buf[64];
    size_t                    i;
    int64_t                   delta[MCP_STORE_QUOTA_N];
    MDB_val                   key, val;
    uint64_t                  usage[MCP_STORE_QUOTA_N];
    mcp_store_kbuf_t          kb;
    const mcp_store_quota_t  *q;

    rc = mcp_store_usage_key(&kb, tenant, tenant_len);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    mcp_store_usage_read(s, txn, &kb, usage);

    memset(delta, 0, sizeof(delta));
    delta[which] = count;
    delta[MCP_STORE_QUOTA_BYTES] += bytes;

    q = mcp_store_quota_find(s, kb.data + sizeof(MCP_STORE_KEY_USAGE),
                             kb.len - sizeof(MCP_STORE_KEY_USAGE));

    for (i = 0; i < MCP_STORE_QUOTA_N; i++) {
        if (delta[i] < 0) {
            usage[i] -= ((uint64_t) -delta[i] < usage[i])
                        ? (uint64_t) -delta[i] : usage[i];
            continue;
        }

        usage[i] += (uint64_t) delta[i];

        if (delta[i] > 0 && q != NULL && q->limit[i] != 0
            && usage[i] > q->limit[i])
        {
            s->refused = (unsigned) i;
            s->refused_limit = q->limit[i];
            return MCP_STORE_QUOTA;
        }
    }

    mcp_store_kbuf_val(&kb, &key);

    val.mv_size = mcp_store_uints_encode(usage, MCP_STORE_QUOTA_N, buf,
                                         sizeof(buf));
    val.mv_data = buf;

    return mcp_store_rc(mdb_put(txn, s->meta, &key, &val, 0));
}


/*
 * Counts every tenant's links, entities and messages once, when the store
 * has no "usage" record: it was written before usage was kept.  Runs in
 * the transaction that opens the store for writing, before any other
 * write can see the store without it.
 */

int
mcp_store_usage_init(mcp_store_t *s, MDB_txn *txn)
{
    int      rc;
    char     buf[16];
    MDB_val  key, val;

    key.mv_size = sizeof(MCP_STORE_KEY_USAGE) - 1;
    key.mv_data = MCP_STORE_KEY_USAGE;

    rc = mdb_get(txn, s->meta, &key, &val);

    if (rc != MDB_NOTFOUND) {
        return mcp_store_rc(rc);
    }

    rc = mcp_store_usage_count(s, txn, s->links, MCP_STORE_QUOTA_LINKS);

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_usage_count(s, txn, s->entities,
                                   MCP_STORE_QUOTA_ENTITIES);
    }

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_usage_count(s, txn, s->messages,
                                   MCP_STORE_QUOTA_MESSAGES);
    }

    /* relations count bytes only */

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_usage_count(s, txn, s->relations,
                                   MCP_STORE_QUOTA_BYTES);
    }

    if (rc != MCP_STORE_OK) {
        return rc;
    }

    val.mv_size = mcp_store_schema_encode(MCP_STORE_USAGE_VERSION, buf,
                                          sizeof(buf));
    val.mv_data = buf;

    return mcp_store_rc(mdb_put(txn, s->meta, &key, &val, 0));
}


/* "usage/" tenant; tenant_len 0 is MCP_STORE_TENANT_DEFAULT */

static int
mcp_store_usage_key(mcp_store_kbuf_t *kb, const char *tenant,
    size_t tenant_len)
{
    if (tenant_len == 0) {
        tenant = MCP_STORE_TENANT_DEFAULT;
        tenant_len = sizeof(MCP_STORE_TENANT_DEFAULT) - 1;
    }

    if (mcp_store_scope_valid(tenant, tenant_len, 1) != MCP_STORE_OK) {
        return MCP_STORE_EINVAL;
    }

    memcpy(kb->data, MCP_STORE_KEY_USAGE "/", sizeof(MCP_STORE_KEY_USAGE));
    memcpy(kb->data + sizeof(MCP_STORE_KEY_USAGE), tenant, tenant_len);
    kb->len = sizeof(MCP_STORE_KEY_USAGE) + tenant_len;

    return MCP_STORE_OK;
}


/* a missing record, or one that does not decode, is no usage yet */

static void
mcp_store_usage_read(mcp_store_t *s, MDB_txn *txn, const mcp_store_kbuf_t *kb,
    uint64_t *usage)
{
    MDB_val  key, val;

    mcp_store_kbuf_val(kb, &key);

    if (mdb_get(txn, s->meta, &key, &val) != MDB_SUCCESS
        || mcp_store_uints_decode(val.mv_data, val.mv_size, usage,
                                  MCP_STORE_QUOTA_N)
           != MCP_STORE_OK)
    {
        memset(usage, 0, MCP_STORE_QUOTA_N * sizeof(uint64_t));
    }
}


/* the tenant's own quota, else the one for every tenant, else none */

static const mcp_store_quota_t *
mcp_store_quota_find(const mcp_store_t *s, const char *tenant,
    size_t tenant_len)
{
    size_t                    i;
    const mcp_store_quota_t  *all;

    all = NULL;

    for (i = 0; i < s->nquotas; i++) {
        if (s->quotas[i].tenant_len == 0) {
            all = &s->quotas[i];

        } else if (s->quotas[i].tenant_len == tenant_len
                   && memcmp(s->quotas[i].tenant, tenant, tenant_len) == 0)
        {
            return &s->quotas[i];
        }
    }

    return all;
}


static int
mcp_store_usage_count(mcp_store_t *s, MDB_txn *txn, MDB_dbi dbi,
    unsigned which)
{
    int                       rc;
    MDB_val                   key, val;
    MDB_cursor               *cur;
    mcp_store_observation_t  *obs;

    obs = malloc(MCP_STORE_OBS_MAX * sizeof(mcp_store_observation_t));
    if (obs == NULL) {
        return MCP_STORE_ENOMEM;
    }

    rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc != MDB_SUCCESS) {
        free(obs);
        return mcp_store_rc(rc);
    }

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
         rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        rc = mcp_store_usage_record(s, txn, which, &key, &val, obs);
        if (rc != MCP_STORE_OK) {
            break;
        }
    }

    mdb_cursor_close(cur);
    free(obs);

    return (rc == MDB_NOTFOUND) ? MCP_STORE_OK : mcp_store_rc(rc);
}


/*
 * One record of "links", "entities", "messages" or "relations" (bytes
 * only) counted for its tenant, as the write functions count it.  A context-store key starts
 * with its tenant and a NUL; a link names its tenant in its record.  A
 * record that does not decode counts without bytes (deleting it takes
 * off as much).
 */

static int
mcp_store_usage_record(mcp_store_t *s, MDB_txn *txn, unsigned which,
    const MDB_val *key, const MDB_val *val, mcp_store_observation_t *obs)
{
    size_t               tenant_len, bytes;
    const char          *tenant, *nul;
    mcp_store_link_t     link;
    mcp_store_entity_t   e;
    mcp_store_message_t  m;

    bytes = 0;

    if (which == MCP_STORE_QUOTA_LINKS) {
        if (mcp_store_link_decode(val->mv_data, val->mv_size, &link)
            != MCP_STORE_OK)
        {
            return MCP_STORE_OK;        /* no owner: "mcp-store check" */
        }

        return mcp_store_usage_add(s, txn, link.tenant, link.tenant_len,
                                   which, 1,
                                   (int64_t) (key->mv_size + link.url_len));
    }

    tenant = key->mv_data;
    nul = memchr(tenant, '\0', key->mv_size);

    if (nul == NULL) {
        return MCP_STORE_OK;            /* an expiry key has no tenant */
    }

    tenant_len = (size_t) (nul - tenant);

    if (which == MCP_STORE_QUOTA_BYTES) {
        nul = memchr(nul + 1, '\0', key->mv_size - tenant_len - 1);

        return (nul == NULL)
               ? MCP_STORE_OK
               : mcp_store_usage_add(s, txn, tenant, tenant_len, which, 0,
                                     (int64_t) MCP_STORE_REL_BYTES(
                                         key->mv_size,
                                         (size_t) (nul + 1 - tenant)));
    }

    if (which == MCP_STORE_QUOTA_ENTITIES) {
        e.observations = obs;

        if (mcp_store_entity_decode(val->mv_data, val->mv_size, &e,
                                    MCP_STORE_OBS_MAX, NULL)
            == MCP_STORE_OK)
        {
            /* the name is the key's last part, after tenant and ns */
            nul = memchr(nul + 1, '\0', key->mv_size - tenant_len - 1);

            bytes = mcp_store_entity_bytes((nul != NULL)
                                           ? key->mv_size
                                             - (size_t) (nul + 1 - tenant)
                                           : 0, &e);
        }

    } else if (mcp_store_message_decode(val->mv_data, val->mv_size, &m)
               == MCP_STORE_OK)
    {
        bytes = m.content_len;
    }

    return mcp_store_usage_add(s, txn, tenant, tenant_len, which, 1,
                               (int64_t) bytes);
}
