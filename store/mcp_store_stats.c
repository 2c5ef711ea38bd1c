/*
 * mcp_store: links' visit counters and statistics, in the "link_stats"
 * database.
 *
 * Keys start with the link's code and a NUL (codes hold no NUL: a code
 * with one has no counter and no statistics), so that a link's keys are
 * together, in this order:
 *
 *     code \0 'd' day        people's visits on that UTC day, before the
 *                            latest: one uint (day: days since
 *                            1970-01-01, 4 bytes big-endian, so that
 *                            days sort in order)
 *     code \0 'r' host       people's visits from that referring host:
 *                            one uint
 *     code \0 't'            the link's totals: [bots, hosts, visits,
 *                            last_visit, direct, day, people], hosts
 *                            the number of hosts counted (its 'r' keys,
 *                            and no referrer once direct is not 0),
 *                            direct people's visits with no referrer,
 *                            day the latest day counted and people its
 *                            people's visits; the numbers at the end
 *                            that are 0 left out, down to [bots, hosts]
 *
 * The counter (visits, last_visit), direct and the latest day are in the
 * totals since schema 3: the counter was a database of its own,
 * "visits", the visits with no referrer (most of them) a key 'r' with an
 * empty host, and the day a key 'd' at once, so that a flush dirtied two
 * random pages and wrote four records for a link visited; it now writes
 * one, its totals (see mcp_store_stats_upgrade()).  All of it is written
 * with the visit batches (mcp_store_visit_add()) and by
 * mcp_store_link_use(), never on a redirect, and deleted with the link.
 * A day key older than MCP_STORE_STATS_DAYS is deleted when a newer day
 * of the link is counted, a few at a time.
 */

#include <string.h>

#include "mcp_store_int.h"


#define MCP_STORE_STATS_DAY       'd'
#define MCP_STORE_STATS_REFERRER  'r'
#define MCP_STORE_STATS_TOTALS    't'

/* code, NUL, kind, and a host or a day */
#define MCP_STORE_STATS_KEY                                                   \
    (MCP_STORE_CODE_MAX + 2 + MCP_STORE_REFERRER_MAX)

#define MCP_STORE_STATS_SECONDS   86400

/* old days deleted at most per entry counted */
#define MCP_STORE_STATS_PRUNE     4


static int mcp_store_totals_decode(const MDB_val *val, uint64_t *totals);
static int mcp_store_stats_day_add(mcp_store_t *s, MDB_txn *txn,
    const char *code, size_t code_len, uint32_t day, uint64_t n);
static void mcp_store_stats_day_out(mcp_store_link_stats_t *st,
    uint32_t day, uint64_t n, uint32_t first);
static int mcp_store_stats_upgrade_visits(mcp_store_t *s, MDB_txn *txn);
static int mcp_store_stats_upgrade_direct(mcp_store_t *s, MDB_txn *txn);
static size_t mcp_store_stats_key(char *buf, const char *code,
    size_t code_len, char kind, const char *rest, size_t rest_len);
static int mcp_store_stats_bump(mcp_store_t *s, MDB_txn *txn,
    const char *key, size_t key_len, uint64_t n, int *created);
static int mcp_store_stats_prune(mcp_store_t *s, MDB_txn *txn,
    const char *code, size_t code_len, uint32_t day);
static int mcp_store_stats_host_valid(const char *host, size_t len);
static uint32_t mcp_store_stats_day(int64_t t);
static void mcp_store_stats_be32(char *p, uint32_t v);
static uint32_t mcp_store_stats_be32_read(const char *p);
static int mcp_store_stats_first(MDB_cursor *cur, char *prefix,
    const char *code, size_t code_len, MDB_val *k, MDB_val *val);
static void mcp_store_stats_top(mcp_store_link_stats_t *st,
    const char *host, size_t host_len, uint64_t visits);


int
mcp_store_stats_add(mcp_store_t *s, MDB_txn *txn,
    const mcp_store_visit_t *v, uint64_t *totals)
{
    int          rc, created;
    char         key[MCP_STORE_STATS_KEY];
    size_t       len, host_len;
    MDB_val      k, val;
    uint32_t     d;
    const char  *host;

    totals[0] = mcp_store_add_sat(totals[0], v->bots);

    if (v->people == 0) {
        return MCP_STORE_OK;
    }

    /*
     * The latest day's count is in the totals: a flush of the day's
     * visits writes one record a link.  When a later day comes, the one
     * before goes to a key of its own; visits of an earlier day (a late
     * batch) go to that day's key.
     */

    d = mcp_store_stats_day(v->last_visit);

    if (d > totals[5]) {
        if (totals[6] != 0) {
            rc = mcp_store_stats_day_add(s, txn, v->code, v->code_len,
                                         (uint32_t) totals[5], totals[6]);
            if (rc != MCP_STORE_OK) {
                return rc;
            }
        }

        rc = mcp_store_stats_prune(s, txn, v->code, v->code_len, d);
        if (rc != MCP_STORE_OK) {
            return rc;
        }

        totals[5] = d;
        totals[6] = 0;
    }

    if (d == totals[5]) {
        totals[6] = mcp_store_add_sat(totals[6], v->people);

    } else {
        rc = mcp_store_stats_day_add(s, txn, v->code, v->code_len, d,
                                     v->people);
        if (rc != MCP_STORE_OK) {
            return rc;
        }
    }

    host = v->referrer;
    host_len = v->referrer_len;

    if (host_len == 0) {
        totals[1] += (totals[4] == 0);
        totals[4] = mcp_store_add_sat(totals[4], v->people);
        return MCP_STORE_OK;
    }

    if (!mcp_store_stats_host_valid(host, host_len)) {
        host = MCP_STORE_REFERRER_OTHER;
        host_len = sizeof(MCP_STORE_REFERRER_OTHER) - 1;
    }

    len = mcp_store_stats_key(key, v->code, v->code_len,
                              MCP_STORE_STATS_REFERRER, host, host_len);
    k.mv_size = len;
    k.mv_data = key;

    /* a new host past the bound is counted as "other" */

    if (totals[1] >= MCP_STORE_STATS_HOSTS
        && mdb_get(txn, s->link_stats, &k, &val) == MDB_NOTFOUND)
    {
        len = mcp_store_stats_key(key, v->code, v->code_len,
                                  MCP_STORE_STATS_REFERRER,
                                  MCP_STORE_REFERRER_OTHER,
                                  sizeof(MCP_STORE_REFERRER_OTHER) - 1);
    }

    rc = mcp_store_stats_bump(s, txn, key, len, v->people, &created);

    totals[1] += (uint64_t) created;

    return rc;
}


int
mcp_store_totals_get(mcp_store_t *s, MDB_txn *txn, const char *code,
    size_t code_len, uint64_t *totals)
{
    int      rc;
    char     key[MCP_STORE_STATS_KEY];
    MDB_val  k, val;

    memset(totals, 0, MCP_STORE_TOTALS * sizeof(uint64_t));

    if (!s->has_stats || memchr(code, '\0', code_len) != NULL) {
        return MCP_STORE_NOTFOUND;
    }

    k.mv_size = mcp_store_stats_key(key, code, code_len,
                                    MCP_STORE_STATS_TOTALS, NULL, 0);
    k.mv_data = key;

    rc = mdb_get(txn, s->link_stats, &k, &val);

    if (rc != MDB_SUCCESS) {
        return mcp_store_rc(rc);
    }

    return mcp_store_totals_decode(&val, totals);
}


int
mcp_store_totals_put(mcp_store_t *s, MDB_txn *txn, const char *code,
    size_t code_len, const uint64_t *totals)
{
    char     key[MCP_STORE_STATS_KEY], buf[1 + MCP_STORE_TOTALS * 9];
    size_t   n;
    MDB_val  k, val;

    if (memchr(code, '\0', code_len) != NULL) {
        return MCP_STORE_EINVAL;
    }

    k.mv_size = mcp_store_stats_key(key, code, code_len,
                                    MCP_STORE_STATS_TOTALS, NULL, 0);
    k.mv_data = key;

    /* the numbers at the end that are 0 left out, down to two; the
     * uints are an array header and at most 9 bytes each */

    for (n = MCP_STORE_TOTALS; n > 2 && totals[n - 1] == 0; n--) {
        /* void */
    }

    val.mv_size = mcp_store_uints_encode(totals, n, buf, sizeof(buf));
    val.mv_data = buf;

    return mcp_store_rc(mdb_put(txn, s->link_stats, &k, &val, 0));
}


/*
 * To schema 3, in the transaction that opens the store and writes the
 * new schema record: the counters of "visits" (schema 2) into their
 * links' totals, then "visits" dropped; the keys of visits with no
 * referrer (schema 1 and 2) into the totals' direct.  A counter or key
 * that does not decode, or whose code has a NUL, is dropped (they are
 * statistics).
 */

int
mcp_store_stats_upgrade(mcp_store_t *s, MDB_txn *txn)
{
    int  rc;

    if (s->has_visits) {
        rc = mcp_store_stats_upgrade_visits(s, txn);
        if (rc != MCP_STORE_OK) {
            return rc;
        }

        rc = mdb_drop(txn, s->visits, 1);
        if (rc != MDB_SUCCESS) {
            return mcp_store_rc(rc);
        }

        s->has_visits = 0;
    }

    return mcp_store_stats_upgrade_direct(s, txn);
}


static int
mcp_store_stats_upgrade_visits(mcp_store_t *s, MDB_txn *txn)
{
    int          rc;
    MDB_val      k, val;
    uint64_t     c[2], totals[MCP_STORE_TOTALS];
    MDB_cursor  *cur;

    rc = mdb_cursor_open(txn, s->visits, &cur);
    if (rc != MDB_SUCCESS) {
        return mcp_store_rc(rc);
    }

    for (rc = mdb_cursor_get(cur, &k, &val, MDB_FIRST);
         rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT))
    {
        if (k.mv_size > MCP_STORE_CODE_MAX
            || mcp_store_uints_decode(val.mv_data, val.mv_size, c, 2)
               != MCP_STORE_OK
            || (c[0] | c[1]) == 0)
        {
            continue;
        }

        rc = mcp_store_totals_get(s, txn, k.mv_data, k.mv_size, totals);

        if (rc == MCP_STORE_OK || rc == MCP_STORE_NOTFOUND) {
            totals[2] = c[0];
            totals[3] = c[1];
            rc = mcp_store_totals_put(s, txn, k.mv_data, k.mv_size, totals);
        }

        if (rc != MCP_STORE_OK && rc != MCP_STORE_ECORRUPT
            && rc != MCP_STORE_EINVAL)
        {
            break;
        }

        rc = MDB_SUCCESS;
    }

    mdb_cursor_close(cur);

    return (rc == MDB_NOTFOUND) ? MCP_STORE_OK : mcp_store_rc(rc);
}


/* each key "code \0 'r'" (no referrer) deleted, its count in direct */

static int
mcp_store_stats_upgrade_direct(mcp_store_t *s, MDB_txn *txn)
{
    int          rc;
    char         code[MCP_STORE_CODE_MAX + 2];
    size_t       code_len;
    MDB_val      k, val;
    uint64_t     n, totals[MCP_STORE_TOTALS];
    MDB_cursor  *cur;
    const char  *p;

    rc = mdb_cursor_open(txn, s->link_stats, &cur);
    if (rc != MDB_SUCCESS) {
        return mcp_store_rc(rc);
    }

    rc = mdb_cursor_get(cur, &k, &val, MDB_FIRST);

    while (rc == MDB_SUCCESS) {
        p = k.mv_data;
        code_len = k.mv_size - 2;

        if (k.mv_size < 3 || k.mv_size > MCP_STORE_CODE_MAX + 2
            || p[code_len + 1] != MCP_STORE_STATS_REFERRER
            || p[code_len] != '\0'
            || memchr(p, '\0', code_len) != NULL)
        {
            rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT);
            continue;
        }

        /* k points into the page the delete changes: the code first */

        memcpy(code, p, code_len);

        if (mcp_store_uints_decode(val.mv_data, val.mv_size, &n, 1)
            != MCP_STORE_OK)
        {
            n = 0;
        }

        rc = mdb_cursor_del(cur, 0);
        if (rc != MDB_SUCCESS) {
            break;
        }

        rc = mcp_store_totals_get(s, txn, code, code_len, totals);

        if (rc == MCP_STORE_OK || rc == MCP_STORE_NOTFOUND) {
            totals[4] = mcp_store_add_sat(totals[4], n);
            rc = mcp_store_totals_put(s, txn, code, code_len, totals);
        }

        if (rc != MCP_STORE_OK && rc != MCP_STORE_ECORRUPT) {
            break;
        }

        /* the cursor is at the key after the deleted one, or was moved
         * by the put: that key found again, the first after "code \0 r" */

        code[code_len] = '\0';
        code[code_len + 1] = MCP_STORE_STATS_REFERRER;
        k.mv_size = code_len + 2;
        k.mv_data = code;

        rc = mdb_cursor_get(cur, &k, &val, MDB_SET_RANGE);
    }

    mdb_cursor_close(cur);

    return (rc == MDB_NOTFOUND) ? MCP_STORE_OK : mcp_store_rc(rc);
}


int
mcp_store_stats_delete(mcp_store_t *s, MDB_txn *txn, const char *code,
    size_t code_len)
{
    int          rc;
    char         prefix[MCP_STORE_CODE_MAX + 1];
    MDB_val      k, val;
    MDB_cursor  *cur;

    if (code_len > MCP_STORE_CODE_MAX) {
        return MCP_STORE_EINVAL;
    }

    /* a code with a NUL has none, and its prefix could be another's */

    if (memchr(code, '\0', code_len) != NULL) {
        return MCP_STORE_OK;
    }

    rc = mdb_cursor_open(txn, s->link_stats, &cur);
    if (rc != MDB_SUCCESS) {
        return mcp_store_rc(rc);
    }

    for (rc = mcp_store_stats_first(cur, prefix, code, code_len, &k, &val);
         rc == MDB_SUCCESS;
         rc = mcp_store_scan(cur, MDB_NEXT, prefix, code_len + 1, &k, &val))
    {
        rc = mdb_cursor_del(cur, 0);
        if (rc != MDB_SUCCESS) {
            break;
        }
    }

    mdb_cursor_close(cur);

    return (rc == MDB_NOTFOUND) ? MCP_STORE_OK : mcp_store_rc(rc);
}


int
mcp_store_link_stats_get(mcp_store_t *s, const char *code, size_t code_len,
    int64_t since, mcp_store_link_stats_t *st)
{
    int           rc;
    char          prefix[MCP_STORE_CODE_MAX + 1], key[MCP_STORE_STATS_KEY];
    size_t        rest;
    uint32_t      day, first, latest;
    uint64_t      n, totals[MCP_STORE_TOTALS];
    MDB_val       k, val;
    MDB_cursor   *cur;
    const char   *p;

    if (s == NULL || st == NULL || code == NULL || code_len == 0
        || code_len > MCP_STORE_CODE_MAX
        || (st->days == NULL && st->days_cap != 0)
        || (st->referrers == NULL && st->referrers_cap != 0))
    {
        return MCP_STORE_EINVAL;
    }

    st->bots = 0;
    st->ndays = 0;
    st->nreferrers = 0;

    if (!s->has_stats || memchr(code, '\0', code_len) != NULL) {
        return MCP_STORE_OK;
    }

    first = mcp_store_stats_day(since);

    rc = mcp_store_cursor_begin(s, s->link_stats, &cur);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    /* the totals first: no referrer is the first of the hosts, in host
     * order the empty one */

    k.mv_size = mcp_store_stats_key(key, code, code_len,
                                    MCP_STORE_STATS_TOTALS, NULL, 0);
    k.mv_data = key;

    rc = mdb_cursor_get(cur, &k, &val, MDB_SET_KEY);

    if (rc != MDB_SUCCESS
        || mcp_store_totals_decode(&val, totals) != MCP_STORE_OK)
    {
        memset(totals, 0, sizeof(totals));
    }

    st->bots = totals[0];

    if (totals[4] != 0) {
        mcp_store_stats_top(st, "", 0, totals[4]);
    }

    /* the latest day, in the totals, joins the days' keys in order (a
     * store of schema 2 may have a key of that day too) */

    latest = (uint32_t) totals[5];

    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        return mcp_store_cursor_end(s, cur, rc);
    }

    for (rc = mcp_store_stats_first(cur, prefix, code, code_len, &k, &val);
         rc == MDB_SUCCESS;
         rc = mcp_store_scan(cur, MDB_NEXT, prefix, code_len + 1, &k, &val))
    {
        if (k.mv_size < code_len + 2) {
            continue;
        }

        p = (const char *) k.mv_data + code_len + 2;
        rest = k.mv_size - code_len - 2;

        switch (((const char *) k.mv_data)[code_len + 1]) {

        case MCP_STORE_STATS_DAY:
            if (rest != 4
                || mcp_store_uints_decode(val.mv_data, val.mv_size, &n, 1)
                   != MCP_STORE_OK)
            {
                break;
            }

            day = mcp_store_stats_be32_read(p);

            if (totals[6] != 0 && day >= latest) {
                if (day == latest) {
                    n = mcp_store_add_sat(n, totals[6]);

                } else {
                    mcp_store_stats_day_out(st, latest, totals[6], first);
                }

                totals[6] = 0;
            }

            mcp_store_stats_day_out(st, day, n, first);

            break;

        case MCP_STORE_STATS_REFERRER:
            if (mcp_store_uints_decode(val.mv_data, val.mv_size, &n, 1)
                == MCP_STORE_OK)
            {
                mcp_store_stats_top(st, p, rest, n);
            }

            break;

        default:
            break;
        }
    }

    if (totals[6] != 0) {
        mcp_store_stats_day_out(st, latest, totals[6], first);
    }

    /* the snapshot stays: the referrers' hosts point into it */

    if (rc == MDB_NOTFOUND || rc == MDB_SUCCESS) {
        mdb_cursor_close(cur);
        return MCP_STORE_OK;
    }

    return mcp_store_cursor_end(s, cur, rc);
}


/* a totals record: two to MCP_STORE_TOTALS uints, those left out 0 */

static int
mcp_store_totals_decode(const MDB_val *val, uint64_t *totals)
{
    size_t            i;
    uint64_t          n;
    mcp_store_rbuf_t  r;

    memset(totals, 0, MCP_STORE_TOTALS * sizeof(uint64_t));

    if (mcp_store_rbuf_init(&r, val->mv_data, val->mv_size) != 0
        || mcp_store_read_array(&r, &n) != 0
        || n < 2 || n > MCP_STORE_TOTALS)
    {
        return MCP_STORE_ECORRUPT;
    }

    for (i = 0; i < n; i++) {
        if (mcp_store_read_uint64(&r, &totals[i]) != 0) {
            return MCP_STORE_ECORRUPT;
        }
    }

    return (r.pos == r.end) ? MCP_STORE_OK : MCP_STORE_ECORRUPT;
}


/*
 * The first key of the link's, prefix (of MCP_STORE_CODE_MAX + 1 bytes)
 * set to its code and NUL for the MDB_NEXT steps of the scan.
 */

static int
mcp_store_stats_first(MDB_cursor *cur, char *prefix, const char *code,
    size_t code_len, MDB_val *k, MDB_val *val)
{
    memcpy(prefix, code, code_len);
    prefix[code_len] = '\0';

    k->mv_size = code_len + 1;
    k->mv_data = prefix;

    return mcp_store_scan(cur, MDB_SET_RANGE, prefix, code_len + 1, k, val);
}


/* a day of the link's, if from first on and there is room for it */

static void
mcp_store_stats_day_out(mcp_store_link_stats_t *st, uint32_t day, uint64_t n,
    uint32_t first)
{
    if (day >= first && st->ndays < st->days_cap) {
        st->days[st->ndays].day = (int64_t) day * MCP_STORE_STATS_SECONDS;
        st->days[st->ndays].visits = n;
        st->ndays++;
    }
}


/* The top referrers_cap hosts by visits, most first, ties in host order. */

static void
mcp_store_stats_top(mcp_store_link_stats_t *st, const char *host,
    size_t host_len, uint64_t visits)
{
    size_t  i;

    i = st->nreferrers;

    if (i == st->referrers_cap) {
        if (i == 0 || st->referrers[i - 1].visits >= visits) {
            return;
        }

        i--;                            /* the last one makes room */

    } else {
        st->nreferrers++;
    }

    while (i > 0 && st->referrers[i - 1].visits < visits) {
        st->referrers[i] = st->referrers[i - 1];
        i--;
    }

    st->referrers[i].host = host;
    st->referrers[i].host_len = host_len;
    st->referrers[i].visits = visits;
}


static size_t
mcp_store_stats_key(char *buf, const char *code, size_t code_len, char kind,
    const char *rest, size_t rest_len)
{
    memcpy(buf, code, code_len);
    buf[code_len] = '\0';
    buf[code_len + 1] = kind;

    if (rest_len != 0) {
        memcpy(buf + code_len + 2, rest, rest_len);
    }

    return code_len + 2 + rest_len;
}


/* adds n to the day's key of the link; a new day's drops the oldest */

static int
mcp_store_stats_day_add(mcp_store_t *s, MDB_txn *txn, const char *code,
    size_t code_len, uint32_t day, uint64_t n)
{
    int     rc, created;
    char    key[MCP_STORE_STATS_KEY], be[4];
    size_t  len;

    mcp_store_stats_be32(be, day);

    len = mcp_store_stats_key(key, code, code_len, MCP_STORE_STATS_DAY, be,
                              sizeof(be));

    rc = mcp_store_stats_bump(s, txn, key, len, n, &created);

    if (rc == MCP_STORE_OK && created) {
        rc = mcp_store_stats_prune(s, txn, code, code_len, day);
    }

    return rc;
}


/* adds n to the uint under key; *created 1 if the key was new */

static int
mcp_store_stats_bump(mcp_store_t *s, MDB_txn *txn, const char *key,
    size_t key_len, uint64_t n, int *created)
{
    int       rc;
    char      buf[16];
    MDB_val   k, val;
    uint64_t  count;

    k.mv_size = key_len;
    k.mv_data = (void *) key;

    rc = mdb_get(txn, s->link_stats, &k, &val);

    *created = (rc == MDB_NOTFOUND);

    if (rc == MDB_NOTFOUND
        || (rc == MDB_SUCCESS
            && mcp_store_uints_decode(val.mv_data, val.mv_size, &count, 1)
               != MCP_STORE_OK))
    {
        count = 0;
        rc = MDB_SUCCESS;
    }

    if (rc != MDB_SUCCESS) {
        return mcp_store_rc(rc);
    }

    count = mcp_store_add_sat(count, n);

    val.mv_size = mcp_store_uints_encode(&count, 1, buf, sizeof(buf));
    val.mv_data = buf;

    return mcp_store_rc(mdb_put(txn, s->link_stats, &k, &val, 0));
}


/* deletes the link's oldest days, if older than MCP_STORE_STATS_DAYS */

static int
mcp_store_stats_prune(mcp_store_t *s, MDB_txn *txn, const char *code,
    size_t code_len, uint32_t day)
{
    int          rc;
    char         key[MCP_STORE_STATS_KEY];
    unsigned     i;
    MDB_val      k, val;
    MDB_cursor  *cur;
    const char  *p;

    if (day < MCP_STORE_STATS_DAYS) {
        return MCP_STORE_OK;
    }

    rc = mdb_cursor_open(txn, s->link_stats, &cur);
    if (rc != MDB_SUCCESS) {
        return mcp_store_rc(rc);
    }

    k.mv_size = mcp_store_stats_key(key, code, code_len, MCP_STORE_STATS_DAY,
                                    NULL, 0);
    k.mv_data = key;

    for (i = 0, rc = mcp_store_scan(cur, MDB_SET_RANGE, key, k.mv_size, &k,
                                    &val);
         rc == MDB_SUCCESS && i < MCP_STORE_STATS_PRUNE;
         i++, rc = mcp_store_scan(cur, MDB_NEXT, key, code_len + 2, &k,
                                  &val))
    {
        p = (const char *) k.mv_data + code_len + 2;

        if (k.mv_size != code_len + 6
            || mcp_store_stats_be32_read(p) > day - MCP_STORE_STATS_DAYS)
        {
            break;
        }

        rc = mdb_cursor_del(cur, 0);
        if (rc != MDB_SUCCESS) {
            break;
        }
    }

    mdb_cursor_close(cur);

    return (rc == MDB_SUCCESS || rc == MDB_NOTFOUND) ? MCP_STORE_OK
                                                     : mcp_store_rc(rc);
}


/* a host name as mcp_store_visit_t says */

static int
mcp_store_stats_host_valid(const char *host, size_t len)
{
    size_t  i;

    if (host == NULL || len > MCP_STORE_REFERRER_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((host[i] >= 'a' && host[i] <= 'z')
              || (host[i] >= '0' && host[i] <= '9')
              || host[i] == '.' || host[i] == '-' || host[i] == '_'
              || host[i] == ':' || host[i] == '[' || host[i] == ']'))
        {
            return 0;
        }
    }

    return 1;
}


/* the UTC day of t, in days since 1970-01-01 (before it: day 0) */

static uint32_t
mcp_store_stats_day(int64_t t)
{
    if (t <= 0) {
        return 0;
    }

    t /= MCP_STORE_STATS_SECONDS;

    return (t > UINT32_MAX) ? UINT32_MAX : (uint32_t) t;
}


static void
mcp_store_stats_be32(char *p, uint32_t v)
{
    p[0] = (char) (v >> 24);
    p[1] = (char) (v >> 16);
    p[2] = (char) (v >> 8);
    p[3] = (char) v;
}


static uint32_t
mcp_store_stats_be32_read(const char *p)
{
    return (uint32_t) (unsigned char) p[0] << 24
           | (uint32_t) (unsigned char) p[1] << 16
           | (uint32_t) (unsigned char) p[2] << 8
           | (uint32_t) (unsigned char) p[3];
}
