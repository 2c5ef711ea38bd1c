/*
 * mcp_store: the environment.  Opening, closing, flushing and statistics,
 * the schema record, LMDB return codes, the handle's transactions, keys,
 * and random codes.  Link records are in mcp_store_link.c, sessions in
 * mcp_store_session.c.
 */

#define _GNU_SOURCE                    /* fallocate() */

#include <sys/types.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp_store_int.h"


#define MCP_STORE_MAX_DBS        16
#define MCP_STORE_MAX_READERS    256
#define MCP_STORE_MAP_SIZE       ((size_t) 64 * 1024 * 1024)
#define MCP_STORE_FILE_MODE      0600

/* the only flags mcp_store_open() knows */
#define MCP_STORE_FLAGS          (MCP_STORE_NOSYNC | MCP_STORE_RDONLY     \
                                  | MCP_STORE_WRITEMAP)

/* the largest multiple of 62 that fits a byte */
#define MCP_STORE_RANDOM_LIMIT   248


#if defined(__GNUC__) || defined(__clang__)
#define MCP_STORE_PRINTF(f, a)   __attribute__((format(printf, f, a)))
#else
#define MCP_STORE_PRINTF(f, a)
#endif


/* a named database that came after "meta" and "links", and its handle */
typedef struct {
    const char  *name;
    size_t       offset;        /* of its MDB_dbi in mcp_store_t */
} mcp_store_db_t;


static int mcp_store_error(char *err, size_t err_len, int rc,
    const char *fmt, ...) MCP_STORE_PRINTF(4, 5);
static int mcp_store_env_open(mcp_store_t *s, const char *path,
    size_t map_size, char *err, size_t err_len);
static int mcp_store_env_init(mcp_store_t *s, const char *path, char *err,
    size_t err_len);
static int mcp_store_group_open(mcp_store_t *s, MDB_txn *txn,
    unsigned flags, const mcp_store_db_t *db, unsigned *has);
static int mcp_store_schema_check(mcp_store_t *s, MDB_txn *txn,
    const char *path, char *err, size_t err_len);
static int mcp_store_schema_put(mcp_store_t *s, MDB_txn *txn, MDB_val *key,
    const char *path, char *err, size_t err_len);
static int mcp_store_back(mcp_store_t *s);
static int mcp_store_env_begin(mcp_store_t *s, unsigned flags,
    MDB_txn **txn);
static int mcp_store_map_adopt(mcp_store_t *s);
static size_t mcp_store_map_floor(const char *path, size_t map_size);
static int mcp_store_random_fill(unsigned char *p, size_t size);
static size_t mcp_store_random_take(const unsigned char *p, size_t size,
    char *buf, size_t *n, size_t len);
static int mcp_store_write_start(mcp_store_t *s, int small, size_t len,
    MDB_txn **txn);
static uint64_t mcp_store_page_limit(uint64_t map, uint64_t psize);
static int mcp_store_pages(mcp_store_t *s, MDB_txn *txn, uint64_t *pages,
    uint64_t *limit);
static MDB_dbi mcp_store_kind_dbi(mcp_store_t *s, unsigned kind);
static int mcp_store_reader_count(const char *msg, void *ctx);
static int mcp_store_records(mcp_store_t *s, MDB_txn *txn,
    mcp_store_stat_t *st);


static const mcp_store_db_t  mcp_store_sessions_group[] = {
    { MCP_STORE_DB_SESSIONS, offsetof(mcp_store_t, sessions) },
    { NULL, 0 }
};

static const mcp_store_db_t  mcp_store_stats_group[] = {
    { MCP_STORE_DB_LINK_STATS, offsetof(mcp_store_t, link_stats) },
    { NULL, 0 }
};

static const mcp_store_db_t  mcp_store_context_group[] = {
    { MCP_STORE_DB_ENTITIES, offsetof(mcp_store_t, entities) },
    { MCP_STORE_DB_RELATIONS, offsetof(mcp_store_t, relations) },
    { MCP_STORE_DB_RELATIONS_TO, offsetof(mcp_store_t, relations_to) },
    { MCP_STORE_DB_POSTINGS, offsetof(mcp_store_t, postings) },
    { MCP_STORE_DB_DOCS, offsetof(mcp_store_t, docs) },
    { MCP_STORE_DB_CONTEXTS, offsetof(mcp_store_t, contexts) },
    { MCP_STORE_DB_MESSAGES, offsetof(mcp_store_t, messages) },
    { NULL, 0 }
};

/* schema 2: visit counters apart from the link records */
static const mcp_store_db_t  mcp_store_visits_group[] = {
    { MCP_STORE_DB_VISITS, offsetof(mcp_store_t, visits) },
    { NULL, 0 }
};


static const char  *const mcp_store_errors[] = {
    "success",                                  /* MCP_STORE_OK */
    "not found",                                /* MCP_STORE_NOTFOUND */
    "already exists",                           /* MCP_STORE_EXISTS */
    "store full: raise map_size",               /* MCP_STORE_FULL */
    "store written by a newer schema version",  /* MCP_STORE_ESCHEMA */
    "invalid argument",                         /* MCP_STORE_EINVAL */
    "corrupt record",                           /* MCP_STORE_ECORRUPT */
    "out of memory",                            /* MCP_STORE_ENOMEM */
    "I/O error",                                /* MCP_STORE_EIO */
    "not an LMDB environment",                  /* MCP_STORE_ENOTENV */
    "no free random code: use longer codes",    /* MCP_STORE_EXHAUSTED */
    "link expired",                             /* MCP_STORE_EXPIRED */
    "link out of visits",                       /* MCP_STORE_SPENT */
    "over a limit of the context store",        /* MCP_STORE_ETOOBIG */
    "a transaction is open on the handle",      /* MCP_STORE_EBUSY */
    "over the tenant's quota",                  /* MCP_STORE_QUOTA */
    "no space left on the store's disk"         /* MCP_STORE_NOSPACE */
};


const char *
mcp_store_strerror(int rc)
{
    if (rc < 0
        || (size_t) rc >= sizeof(mcp_store_errors)
                          / sizeof(mcp_store_errors[0]))
    {
        return "unknown store error";
    }

    return mcp_store_errors[rc];
}


int
mcp_store_open(mcp_store_t **sp, const char *path, size_t map_size,
    unsigned flags, char *err, size_t err_len)
{
    int           rc, saved;
    mcp_store_t  *s;
    struct stat   st;

    if (err != NULL && err_len > 0) {
        err[0] = '\0';
    }

    if (sp != NULL) {
        *sp = NULL;
    }

    if (sp == NULL || path == NULL || (flags & ~(unsigned) MCP_STORE_FLAGS)) {
        return mcp_store_error(err, err_len, MCP_STORE_EINVAL,
                               "mcp_store_open(): invalid arguments");
    }

    /* mdb_env_open() would fail on a missing directory with a bare ENOENT
     * from its lock file: name the directory instead */

    if (stat(path, &st) == -1) {
        return mcp_store_error(err, err_len, MCP_STORE_EIO,
                               "stat(\"%s\") failed: %s",
                               path, strerror(errno));
    }

    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return mcp_store_error(err, err_len, MCP_STORE_EIO,
                               "\"%s\" is not a directory", path);
    }

    s = calloc(1, sizeof(mcp_store_t));
    if (s == NULL) {
        return mcp_store_error(err, err_len, MCP_STORE_ENOMEM,
                               "store at %s: out of memory", path);
    }

    s->flags = flags;
    s->random_pos = sizeof(s->random);

    rc = mcp_store_env_open(s, path, map_size, err, err_len);

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_env_init(s, path, err, err_len);
    }

    if (rc != MCP_STORE_OK) {
        saved = errno;
        mcp_store_close(s);
        errno = saved;
        return rc;
    }

    *sp = s;

    return MCP_STORE_OK;
}


void
mcp_store_close(mcp_store_t *s)
{
    if (s == NULL) {
        return;
    }

    /* a transaction left open keeps nothing */
    mcp_store_txn_abort(&s->txn);

    if (s->rtxn != NULL) {
        mdb_txn_abort(s->rtxn);
    }

    if (s->env != NULL && !s->shared) {
        mdb_env_close(s->env);
    }

    free(s->done);
    free(s->detail);
    free(s);
}


int
mcp_store_share(mcp_store_t *s, mcp_store_t **sp)
{
    mcp_store_t  *t;

    if (sp == NULL) {
        return MCP_STORE_EINVAL;
    }

    *sp = NULL;

    if (s == NULL) {
        return MCP_STORE_EINVAL;
    }

    t = malloc(sizeof(mcp_store_t));
    if (t == NULL) {
        return MCP_STORE_ENOMEM;
    }

    /*
     * The databases' handles are the environment's: they are shared too.
     * It has no read transaction, so it takes no reader slot: its read
     * functions fail (LMDB refuses to renew none).
     */

    *t = *s;
    t->shared = 1;
    t->shares_busy = 0;
    t->rtxn = NULL;
    t->rlive = 0;
    t->sweep_len = 0;
    t->random_pos = sizeof(t->random);     /* never the same codes */
    t->done = NULL;
    t->ndone = 0;
    t->ncommitted = 0;
    t->detail = NULL;
    t->ndetail = 0;
    memset(&t->txn, 0, sizeof(mcp_store_txn_t));
    t->txn.store = t;

    *sp = t;

    return MCP_STORE_OK;
}


void
mcp_store_share_busy(mcp_store_t *s, int busy)
{
    if (busy) {
        s->shares_busy++;

    } else if (s->shares_busy > 0) {
        s->shares_busy--;
    }
}


/*
 * Touches nothing but the environment, never the read transaction, so the
 * nginx module may run it in a thread pool while its event loop goes on
 * using the handle: LMDB allows mdb_env_sync() at any time.
 */

int
mcp_store_sync(mcp_store_t *s)
{
    if (s == NULL) {
        return MCP_STORE_EINVAL;
    }

    if (s->flags & MCP_STORE_RDONLY) {
        return MCP_STORE_OK;            /* nothing of ours to flush */
    }

    return mcp_store_rc(mdb_env_sync(s->env, 1));
}


int
mcp_store_stat(mcp_store_t *s, mcp_store_stat_t *st)
{
    int           rc;
    MDB_txn      *txn;
    MDB_stat      ms;
    unsigned      readers;
    MDB_envinfo   info;

    if (s == NULL || st == NULL) {
        return MCP_STORE_EINVAL;
    }

    rc = mcp_store_read_begin(s, &txn);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    rc = mdb_stat(txn, s->links, &ms);

    if (rc == MDB_SUCCESS) {
        rc = mdb_env_info(s->env, &info);
    }

    if (rc == MDB_SUCCESS) {
        rc = mdb_env_get_maxreaders(s->env, &st->max_readers);
    }

    if (rc == MDB_SUCCESS) {
        readers = 0;
        rc = mdb_reader_list(s->env, mcp_store_reader_count, &readers);
        rc = (rc < 0) ? EIO : MDB_SUCCESS;
        st->readers_used = readers;
    }

    if (rc == MDB_SUCCESS) {
        rc = mcp_store_records(s, txn, st);
    }

    mcp_store_release(s);

    if (rc != MDB_SUCCESS) {
        return mcp_store_rc(rc);
    }

    st->links = ms.ms_entries;
    st->map_size = info.me_mapsize;
    st->used_bytes = (uint64_t) (info.me_last_pgno + 1) * ms.ms_psize;
    st->page_size = ms.ms_psize;
    st->schema_version = s->schema;

    return MCP_STORE_OK;
}


/*
 * The records of the other kinds: their databases' entries, but for the
 * expiry keys of "contexts" (they start with a NUL, and come first).  A
 * handle without a group's databases counts none.
 */

static int
mcp_store_records(mcp_store_t *s, MDB_txn *txn, mcp_store_stat_t *st)
{
    int          rc;
    MDB_val      key, val;
    MDB_stat     ms;
    MDB_cursor  *cur;

    st->sessions = 0;
    st->entities = 0;
    st->relations = 0;
    st->contexts = 0;

    if (s->has_sessions) {
        rc = mdb_stat(txn, s->sessions, &ms);
        if (rc != MDB_SUCCESS) {
            return rc;
        }

        st->sessions = ms.ms_entries;
    }

    if (!s->has_context) {
        return MDB_SUCCESS;
    }

    rc = mdb_stat(txn, s->entities, &ms);
    if (rc != MDB_SUCCESS) {
        return rc;
    }

    st->entities = ms.ms_entries;

    rc = mdb_stat(txn, s->relations, &ms);
    if (rc != MDB_SUCCESS) {
        return rc;
    }

    st->relations = ms.ms_entries;

    rc = mdb_stat(txn, s->contexts, &ms);
    if (rc != MDB_SUCCESS) {
        return rc;
    }

    st->contexts = ms.ms_entries;

    rc = mdb_cursor_open(txn, s->contexts, &cur);
    if (rc != MDB_SUCCESS) {
        return rc;
    }

    for (rc = mcp_store_scan(cur, MDB_FIRST, "", 1, &key, &val);
         rc == MDB_SUCCESS && st->contexts > 0;
         rc = mcp_store_scan(cur, MDB_NEXT, "", 1, &key, &val))
    {
        st->contexts--;
    }

    mdb_cursor_close(cur);

    return (rc == MDB_NOTFOUND) ? MDB_SUCCESS : rc;
}


int
mcp_store_reader_check(mcp_store_t *s, int *dead)
{
    if (s == NULL) {
        return MCP_STORE_EINVAL;
    }

    mcp_store_release(s);

    return mcp_store_rc(mdb_reader_check(s->env, dead));
}


int
mcp_store_random_code(char *buf, size_t len)
{
    size_t         n;
    unsigned char  pool[MCP_STORE_CODE_MAX];

    if (buf == NULL || len == 0 || len > MCP_STORE_CODE_MAX) {
        return MCP_STORE_EINVAL;
    }

    n = 0;

    while (n < len) {
        if (mcp_store_random_fill(pool, sizeof(pool)) != MCP_STORE_OK) {
            return MCP_STORE_EIO;
        }

        (void) mcp_store_random_take(pool, sizeof(pool), buf, &n, len);
    }

    return MCP_STORE_OK;
}


/*
 * The same from random bytes kept in the handle, taken from getrandom()
 * MCP_STORE_RANDOM_POOL at a time: a POST /shorten makes no system call
 * of its own for its code.  A byte is wiped once used.
 */

int
mcp_store_random_link_code(mcp_store_t *s, char *buf, size_t len)
{
    size_t  n, used;

    if (buf == NULL || len == 0 || len > MCP_STORE_CODE_MAX) {
        return MCP_STORE_EINVAL;
    }

    n = 0;

    while (n < len) {
        if (s->random_pos == sizeof(s->random)) {
            if (mcp_store_random_fill(s->random, sizeof(s->random))
                != MCP_STORE_OK)
            {
                return MCP_STORE_EIO;
            }

            s->random_pos = 0;
        }

        /* what a code did not need stays for the next one */

        used = mcp_store_random_take(s->random + s->random_pos,
                                     sizeof(s->random) - s->random_pos,
                                     buf, &n, len);

        memset(s->random + s->random_pos, 0, used);
        s->random_pos += used;
    }

    return MCP_STORE_OK;
}


static int
mcp_store_random_fill(unsigned char *p, size_t size)
{
    ssize_t  got;

    /* up to 256 bytes come whole unless a signal interrupts */

    do {
        got = getrandom(p, size, 0);
    } while (got == -1 && errno == EINTR);

    return ((size_t) got == size) ? MCP_STORE_OK : MCP_STORE_EIO;
}


/*
 * Characters of buf from *n on, up to len, from the bytes of p: bytes of
 * 248 and up are dropped, since keeping them would make the first 8
 * characters likelier than the other 54.  Returns how many bytes of p it
 * used.
 */

static size_t
mcp_store_random_take(const unsigned char *p, size_t size, char *buf,
    size_t *n, size_t len)
{
    size_t  i;

    static const char  alphabet[] = MCP_STORE_CODE_ALPHABET;

    for (i = 0; i < size && *n < len; i++) {
        if (p[i] < MCP_STORE_RANDOM_LIMIT) {
            buf[(*n)++] = alphabet[p[i] % (sizeof(alphabet) - 1)];
        }
    }

    return i;
}


/*
 * Turns an LMDB return code into ours.  Codes with no better match are
 * MCP_STORE_EIO, with errno set to the system error where there is one.
 */

int
mcp_store_rc(int mdb_rc)
{
    switch (mdb_rc) {

    case MDB_SUCCESS:
        return MCP_STORE_OK;

    case MDB_NOTFOUND:
        return MCP_STORE_NOTFOUND;

    case MDB_KEYEXIST:
        return MCP_STORE_EXISTS;

    case MDB_MAP_FULL:
        return MCP_STORE_FULL;

    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
        return MCP_STORE_ECORRUPT;

    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
        return MCP_STORE_ENOTENV;

    case ENOMEM:
        return MCP_STORE_ENOMEM;

    case EINVAL:
    case MDB_BAD_VALSIZE:
        return MCP_STORE_EINVAL;

    case ENOSPC:
    case EDQUOT:
    case EFBIG:
        /* mcp_store_back(): no disk for a write map's pages */
        return MCP_STORE_NOSPACE;

    default:
        errno = (mdb_rc > 0) ? mdb_rc : EIO;
        return MCP_STORE_EIO;
    }
}


/*
 * Every call on a handle but mcp_store_sync() starts here too: the
 * snapshot a previous mcp_store_link_get() kept for its url is let go.
 */

void
mcp_store_release(mcp_store_t *s)
{
    if (s != NULL && s->rlive && s->txn.mdb == NULL) {
        mdb_txn_reset(s->rtxn);
        s->rlive = 0;
    }
}


/*
 * Renews the handle's read transaction.  The caller ends it with
 * mcp_store_release(), or leaves that to its own caller.
 */

int
mcp_store_read_begin(mcp_store_t *s, MDB_txn **txn)
{
    int  rc;

    if (s->txn.mdb != NULL) {
        return MCP_STORE_EBUSY;
    }

    mcp_store_release(s);

    *txn = s->rtxn;

    rc = mdb_txn_renew(s->rtxn);

    if (rc == MDB_MAP_RESIZED) {
        rc = mcp_store_map_adopt(s);

        if (rc == MDB_SUCCESS) {
            rc = mdb_txn_renew(s->rtxn);
        }
    }

    if (rc != MDB_SUCCESS) {
        return mcp_store_rc(rc);
    }

    s->rlive = 1;

    return MCP_STORE_OK;
}


int
mcp_store_write_begin(mcp_store_t *s, MDB_txn **txn)
{
    return mcp_store_write_start(s, 0, 0, txn);
}


/*
 * Counting the pages in use reads every database's root record (13 of
 * them; some 9,000 instructions a write, more than a link's own put and
 * commit).  A write of one record of len bytes and its counters (the
 * paths of two trees, copied, and the free list's record) does not make
 * the file grow by MCP_STORE_SMALL_PAGES pages and len more: when the
 * file's high-water mark, which no count of pages in use exceeds, is
 * that far below the limit, neither count is needed.
 */

int
mcp_store_write_small(mcp_store_t *s, size_t len, MDB_txn **txn)
{
    return mcp_store_write_start(s, 1, len, txn);
}


static int
mcp_store_write_start(mcp_store_t *s, int small, size_t len, MDB_txn **txn)
{
    int          rc;
    uint64_t     limit;
    MDB_envinfo  info;

    if (s->txn.mdb != NULL) {
        return MCP_STORE_EBUSY;
    }

    mcp_store_release(s);

    if ((s->flags & MCP_STORE_WRITEMAP) && !(s->flags & MCP_STORE_RDONLY)) {
        rc = mcp_store_back(s);
        if (rc != MDB_SUCCESS) {
            return mcp_store_rc(rc);
        }
    }

    rc = mcp_store_env_begin(s, 0, txn);
    if (rc != MDB_SUCCESS) {
        return mcp_store_rc(rc);
    }

    if (small) {
        rc = mdb_env_info(s->env, &info);

        if (rc == MDB_SUCCESS
            && (uint64_t) info.me_last_pgno + 1 + MCP_STORE_SMALL_PAGES
               + len / s->psize + 1
               <= mcp_store_page_limit(info.me_mapsize, s->psize))
        {
            s->pages = MCP_STORE_PAGES_FAR;
            return MCP_STORE_OK;
        }
    }

    if (rc == MDB_SUCCESS) {
        rc = mcp_store_pages(s, *txn, &s->pages, &limit);
    }

    if (rc != MDB_SUCCESS) {
        mdb_txn_abort(*txn);
    }

    return mcp_store_rc(rc);
}


/*
 * A full map, met by a put, by the commit or by the reserve, leaves
 * nothing changed.
 */

int
mcp_store_write_end(mcp_store_t *s, MDB_txn *txn, int rc)
{
    uint64_t  pages, limit;

    if (rc == MCP_STORE_OK && s->pages != MCP_STORE_PAGES_FAR) {
        rc = mcp_store_rc(mcp_store_pages(s, txn, &pages, &limit));

        if (rc == MCP_STORE_OK && pages > s->pages && pages > limit) {
            rc = MCP_STORE_FULL;
        }
    }

    if (rc == MCP_STORE_OK) {
        /* a failed commit has aborted txn already */
        rc = mcp_store_rc(mdb_txn_commit(txn));

    } else {
        mdb_txn_abort(txn);
    }

    if (rc == MCP_STORE_FULL && !s->shared) {
        /* another process may have raised the map size since we mapped
         * it: take it up, so that the next write can use it (the owner's
         * handle only: see mcp_store_env_begin()) */
        (void) mcp_store_map_adopt(s);
    }

    return rc;
}


/*
 * The reserve's check of mcp_store_write_end() for a part of a write
 * transaction (a nested one, in txn): MCP_STORE_FULL if it grew the
 * store past the limit; else the pages in use now are what the next part
 * is measured against.
 */

int
mcp_store_write_room(mcp_store_t *s, MDB_txn *txn)
{
    int       rc;
    uint64_t  pages, limit;

    rc = mcp_store_rc(mcp_store_pages(s, txn, &pages, &limit));
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    if (pages > s->pages && pages > limit) {
        return MCP_STORE_FULL;
    }

    s->pages = pages;

    return MCP_STORE_OK;
}


int
mcp_store_nested_end(mcp_store_t *s, MDB_txn *child, int rc)
{
    if (rc == MCP_STORE_OK) {
        rc = mcp_store_write_room(s, child);
    }

    if (rc == MCP_STORE_OK) {
        return mcp_store_rc(mdb_txn_commit(child));
    }

    mdb_txn_abort(child);

    return rc;
}


/*
 * Points k at key if it is one: 1 to MCP_STORE_CODE_MAX bytes.
 */

int
mcp_store_key(MDB_val *k, const char *key, size_t key_len)
{
    if (key == NULL || key_len == 0 || key_len > MCP_STORE_CODE_MAX) {
        return MCP_STORE_EINVAL;
    }

    k->mv_size = key_len;
    k->mv_data = (void *) key;

    return MCP_STORE_OK;
}


int
mcp_store_key_begin(mcp_store_t *s, const char *key, size_t key_len,
    MDB_txn **txn, MDB_val *k)
{
    int  rc;

    if (s == NULL) {
        return MCP_STORE_EINVAL;
    }

    rc = mcp_store_key(k, key, key_len);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    return mcp_store_write_begin(s, txn);
}


int
mcp_store_key_read(mcp_store_t *s, unsigned kind, const char *key,
    size_t key_len, void *rec)
{
    int       rc;
    MDB_txn  *txn;
    MDB_val   k, val;

    if (s == NULL || rec == NULL) {
        return MCP_STORE_EINVAL;
    }

    rc = mcp_store_key(&k, key, key_len);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    if (kind == MCP_STORE_RECORD_SESSION && !s->has_sessions) {
        if (s->txn.mdb != NULL) {
            return MCP_STORE_EBUSY;
        }

        mcp_store_release(s);
        return MCP_STORE_NOTFOUND;
    }

    rc = mcp_store_read_begin(s, &txn);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    rc = mcp_store_rc(mdb_get(txn, mcp_store_kind_dbi(s, kind), &k, &val));

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_record_decode(kind, val.mv_data, val.mv_size, rec);
    }

    if (rc != MCP_STORE_OK) {
        mcp_store_release(s);
    }

    return rc;
}


int
mcp_store_key_delete(mcp_store_t *s, unsigned kind, const char *key,
    size_t key_len)
{
    int       rc;
    MDB_txn  *txn;
    MDB_val   k;

    rc = mcp_store_key_begin(s, key, key_len, &txn, &k);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    rc = mcp_store_rc(mdb_del(txn, mcp_store_kind_dbi(s, kind), &k, NULL));

    return mcp_store_write_end(s, txn, rc);
}


int
mcp_store_record_get(mcp_store_t *s, MDB_txn *txn, unsigned kind,
    const char *key, size_t key_len, MDB_val *k, void *rec)
{
    int      rc;
    MDB_val  val;

    if (mcp_store_key(k, key, key_len) != MCP_STORE_OK) {
        return MCP_STORE_NOTFOUND;
    }

    rc = mcp_store_rc(mdb_get(txn, mcp_store_kind_dbi(s, kind), k, &val));

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_record_decode(kind, val.mv_data, val.mv_size, rec);
    }

    return rc;
}


int
mcp_store_cursor_begin(mcp_store_t *s, MDB_dbi dbi, MDB_cursor **cur)
{
    int       rc;
    MDB_txn  *txn;

    rc = mcp_store_read_begin(s, &txn);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    rc = mdb_cursor_open(txn, dbi, cur);

    if (rc != MDB_SUCCESS) {
        mcp_store_release(s);
        return mcp_store_rc(rc);
    }

    return MCP_STORE_OK;
}


int
mcp_store_cursor_end(mcp_store_t *s, MDB_cursor *cur, int mdb_rc)
{
    mdb_cursor_close(cur);
    mcp_store_release(s);

    return (mdb_rc == MDB_NOTFOUND) ? MCP_STORE_OK : mcp_store_rc(mdb_rc);
}


/*
 * Batches are statistics, best effort: an entry whose record is gone, or
 * does not decode, costs that entry only, never the rest of the batch.
 */

int
mcp_store_batch(mcp_store_t *s, const void *batch, size_t n,
    mcp_store_batch_pt one)
{
    int       rc;
    size_t    i;
    MDB_txn  *txn;

    if (s == NULL || (batch == NULL && n != 0)) {
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
        rc = one(s, txn, batch, i);

        if (rc == MCP_STORE_NOTFOUND || rc == MCP_STORE_ECORRUPT) {
            rc = MCP_STORE_OK;
            continue;
        }

        if (rc != MCP_STORE_OK) {
            break;
        }
    }

    return mcp_store_write_end(s, txn, rc);
}


static int
mcp_store_error(char *err, size_t err_len, int rc, const char *fmt, ...)
{
    int      saved;
    va_list  args;

    if (err != NULL && err_len > 0) {
        saved = errno;

        va_start(args, fmt);
        (void) vsnprintf(err, err_len, fmt, args);
        va_end(args);

        errno = saved;
    }

    return rc;
}


static int
mcp_store_env_open(mcp_store_t *s, const char *path, size_t map_size,
    char *err, size_t err_len)
{
    int           rc;
    size_t        want;
    unsigned      flags;
    MDB_stat      st;
    MDB_envinfo   info;

    rc = mdb_env_create(&s->env);

    if (rc == MDB_SUCCESS) {
        rc = mdb_env_set_maxdbs(s->env, MCP_STORE_MAX_DBS);
    }

    if (rc == MDB_SUCCESS) {
        rc = mdb_env_set_maxreaders(s->env, MCP_STORE_MAX_READERS);
    }

    want = map_size;

    if ((s->flags & MCP_STORE_WRITEMAP) && !(s->flags & MCP_STORE_RDONLY)) {
        want = mcp_store_map_floor(path, map_size);
    }

    if (rc == MDB_SUCCESS && want != 0) {
        rc = mdb_env_set_mapsize(s->env, want);
    }

    if (rc != MDB_SUCCESS) {
        return mcp_store_error(err, err_len, mcp_store_rc(rc),
                               "store at %s: cannot set up LMDB: %s",
                               path, mdb_strerror(rc));
    }

    /*
     * MDB_NOTLS: the read transaction belongs to the handle, not to a
     * thread, and the handle may move between threads.
     */

    flags = MDB_NOTLS;

    if (s->flags & MCP_STORE_NOSYNC) {
        flags |= MDB_NOSYNC;
    }

    if (s->flags & MCP_STORE_RDONLY) {
        flags |= MDB_RDONLY;

    } else if (s->flags & MCP_STORE_WRITEMAP) {
        flags |= MDB_WRITEMAP;
    }

    rc = mdb_env_open(s->env, path, flags, MCP_STORE_FILE_MODE);

    if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH) {
        return mcp_store_error(err, err_len, MCP_STORE_ENOTENV,
                               "store at %s: data.mdb is not an LMDB "
                               "environment: %s", path, mdb_strerror(rc));
    }

    if (rc == ENOENT && (s->flags & MCP_STORE_RDONLY)) {
        return mcp_store_error(err, err_len, MCP_STORE_ENOTENV,
                               "store at %s: no LMDB environment to read: "
                               "%s", path, mdb_strerror(rc));
    }

    if (rc != MDB_SUCCESS) {
        return mcp_store_error(err, err_len, mcp_store_rc(rc),
                               "store at %s: mdb_env_open() failed: %s",
                               path, mdb_strerror(rc));
    }

    /*
     * Nothing was ever committed to a new environment (its last page is
     * the second meta page), and LMDB gave it a 1 MiB map: unless asked
     * otherwise, start it at 64 MiB.  No transaction is open yet, so the
     * map may move.
     */

    rc = mdb_env_info(s->env, &info);

    if (rc == MDB_SUCCESS && map_size == 0 && info.me_last_pgno < 2
        && info.me_mapsize < MCP_STORE_MAP_SIZE)
    {
        rc = mdb_env_set_mapsize(s->env, MCP_STORE_MAP_SIZE);
    }

    if (rc == MDB_SUCCESS) {
        rc = mdb_env_stat(s->env, &st);
        s->psize = st.ms_psize;
    }

    if (rc == MDB_SUCCESS) {
        rc = mdb_reader_check(s->env, NULL);
    }

    if (rc != MDB_SUCCESS) {
        return mcp_store_error(err, err_len, mcp_store_rc(rc),
                               "store at %s: cannot set up LMDB: %s",
                               path, mdb_strerror(rc));
    }

    return MCP_STORE_OK;
}


/*
 * The map size a write-map handle asks for: at least data.mdb's length.
 * With MDB_WRITEMAP LMDB truncates the file to the map size it opens
 * with; a smaller one (a reload that lowers map_size, while the old
 * workers still map the old size) would cut pages from under their maps,
 * and their next write there would raise SIGBUS.
 */

static size_t
mcp_store_map_floor(const char *path, size_t map_size)
{
    char         file[PATH_MAX];
    struct stat  st;

    if (snprintf(file, sizeof(file), "%s/data.mdb", path)
        >= (int) sizeof(file)
        || stat(file, &st) == -1)
    {
        return map_size;            /* a new store: nothing to keep */
    }

    /* map_size 0 (the size LMDB recorded) may be less than the file */

    return ((uint64_t) st.st_size > map_size) ? (size_t) st.st_size
                                              : map_size;
}


/*
 * Opens the named databases and checks the schema record, creating what is
 * missing in one write transaction unless the handle is read-only, then
 * begins the handle's read transaction.
 */

static int
mcp_store_env_init(mcp_store_t *s, const char *path, char *err,
    size_t err_len)
{
    int        rc, rdonly;
    MDB_txn   *txn;
    unsigned   flags;

    rdonly = (s->flags & MCP_STORE_RDONLY) != 0;

    rc = mcp_store_env_begin(s, rdonly ? MDB_RDONLY : 0, &txn);
    if (rc != MDB_SUCCESS) {
        return mcp_store_error(err, err_len, mcp_store_rc(rc),
                               "store at %s: mdb_txn_begin() failed: %s",
                               path, mdb_strerror(rc));
    }

    flags = rdonly ? 0 : MDB_CREATE;

    rc = mdb_dbi_open(txn, MCP_STORE_DB_META, flags, &s->meta);

    if (rc == MDB_SUCCESS) {
        rc = mdb_dbi_open(txn, MCP_STORE_DB_LINKS, flags, &s->links);
    }

    if (rc == MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return mcp_store_error(err, err_len, MCP_STORE_ENOTENV,
                               "store at %s: not an ngx_mcp store "
                               "(no \"" MCP_STORE_DB_META "\" or \""
                               MCP_STORE_DB_LINKS "\" database)", path);
    }

    if (rc == MDB_SUCCESS) {
        rc = mcp_store_group_open(s, txn, flags, mcp_store_sessions_group,
                                  &s->has_sessions);
    }

    if (rc == MDB_SUCCESS) {
        rc = mcp_store_group_open(s, txn, flags, mcp_store_context_group,
                                  &s->has_context);
    }

    if (rc == MDB_SUCCESS) {
        rc = mcp_store_group_open(s, txn, flags, mcp_store_stats_group,
                                  &s->has_stats);
    }

    if (rc == MDB_SUCCESS) {
        /* only a schema 2 store has it: never created */
        rc = mcp_store_group_open(s, txn, flags & ~(unsigned) MDB_CREATE,
                                  mcp_store_visits_group, &s->has_visits);
    }

    if (rc != MDB_SUCCESS) {
        mdb_txn_abort(txn);
        return mcp_store_error(err, err_len, mcp_store_rc(rc),
                               "store at %s: mdb_dbi_open() failed: %s",
                               path, mdb_strerror(rc));
    }

    rc = mcp_store_schema_check(s, txn, path, err, err_len);
    if (rc != MCP_STORE_OK) {
        mdb_txn_abort(txn);
        return rc;
    }

    rc = rdonly ? MCP_STORE_OK : mcp_store_usage_init(s, txn);
    if (rc != MCP_STORE_OK) {
        mdb_txn_abort(txn);
        return mcp_store_error(err, err_len, rc, "store at %s: cannot "
                               "count the tenants' usage: %s", path,
                               mcp_store_strerror(rc));
    }

    /* even a read-only transaction commits, to keep its database handles */

    rc = mdb_txn_commit(txn);
    if (rc != MDB_SUCCESS) {
        return mcp_store_error(err, err_len, mcp_store_rc(rc),
                               "store at %s: mdb_txn_commit() failed: %s",
                               path, mdb_strerror(rc));
    }

    rc = mcp_store_env_begin(s, MDB_RDONLY, &s->rtxn);
    if (rc != MDB_SUCCESS) {
        return mcp_store_error(err, err_len, mcp_store_rc(rc),
                               "store at %s: mdb_txn_begin() failed: %s",
                               path, mdb_strerror(rc));
    }

    mdb_txn_reset(s->rtxn);

    return MCP_STORE_OK;
}


/*
 * "sessions" came after "meta" and "links", the context store's
 * databases after it, "link_stats" last, each group at once: a store written before a group
 * is still ours, with the schema version unchanged.  Opened read-write, it
 * gets the group's databases; read-only, it has none of them (*has 0),
 * which reads as empty.
 */

static int
mcp_store_group_open(mcp_store_t *s, MDB_txn *txn, unsigned flags,
    const mcp_store_db_t *db, unsigned *has)
{
    int  rc;

    for ( /* void */ ; db->name != NULL; db++) {
        rc = mdb_dbi_open(txn, db->name, flags,
                          (MDB_dbi *) ((char *) s + db->offset));

        if (rc == MDB_NOTFOUND && !(flags & MDB_CREATE)) {
            return MDB_SUCCESS;
        }

        if (rc != MDB_SUCCESS) {
            return rc;
        }
    }

    *has = 1;

    return MDB_SUCCESS;
}


static int
mcp_store_schema_check(mcp_store_t *s, MDB_txn *txn, const char *path,
    char *err, size_t err_len)
{
    int        rc;
    MDB_val    key, val;
    uint64_t   version;

    key.mv_size = sizeof(MCP_STORE_KEY_SCHEMA) - 1;
    key.mv_data = MCP_STORE_KEY_SCHEMA;

    rc = mdb_get(txn, s->meta, &key, &val);

    if (rc == MDB_NOTFOUND && !(s->flags & MCP_STORE_RDONLY)) {
        return mcp_store_schema_put(s, txn, &key, path, err, err_len);
    }

    if (rc == MDB_NOTFOUND) {
        return mcp_store_error(err, err_len, MCP_STORE_ECORRUPT,
                               "store at %s has no schema record", path);
    }

    if (rc != MDB_SUCCESS) {
        return mcp_store_error(err, err_len, mcp_store_rc(rc),
                               "store at %s: cannot read the schema record: "
                               "%s", path, mdb_strerror(rc));
    }

    if (mcp_store_schema_decode(val.mv_data, val.mv_size, &version)
        != MCP_STORE_OK
        || version == 0)
    {
        return mcp_store_error(err, err_len, MCP_STORE_ECORRUPT,
                               "store at %s has a corrupt schema record",
                               path);
    }

    if (version > MCP_STORE_SCHEMA_VERSION) {
        return mcp_store_error(err, err_len, MCP_STORE_ESCHEMA,
                               "store at %s has schema version %llu, "
                               "this build reads up to %d", path,
                               (unsigned long long) version,
                               MCP_STORE_SCHEMA_VERSION);
    }

    /*
     * Schema 1 kept a link's visits in its record only.  Schema 2 counted
     * them in "visits", and read a link's visits as its record's plus its
     * counter's: a schema 1 store is a schema 2 store whose counters are
     * all zero.  Schema 3 keeps the counter, and the count of visits with
     * no referrer, in the link's totals in "link_stats"
     * (mcp_store_stats.c): an older store's move there, in this
     * transaction.  A build of an older schema, which
     * would miss the counters, then refuses the store.
     */

    if (version < MCP_STORE_SCHEMA_VERSION && !(s->flags & MCP_STORE_RDONLY)) {
        rc = mcp_store_stats_upgrade(s, txn);

        if (rc != MCP_STORE_OK) {
            return mcp_store_error(err, err_len, rc,
                                   "store at %s: cannot move the visit "
                                   "counters to schema %d: %s", path,
                                   MCP_STORE_SCHEMA_VERSION,
                                   mcp_store_strerror(rc));
        }

        return mcp_store_schema_put(s, txn, &key, path, err, err_len);
    }

    /* a "visits" left in a schema 3 store is not ours to read */

    if (version == MCP_STORE_SCHEMA_VERSION) {
        s->has_visits = 0;
    }

    s->schema = (unsigned) version;

    return MCP_STORE_OK;
}


/* Writes the schema record: this library's version. */

static int
mcp_store_schema_put(mcp_store_t *s, MDB_txn *txn, MDB_val *key,
    const char *path, char *err, size_t err_len)
{
    int      rc;
    char     buf[16];
    MDB_val  val;

    val.mv_size = mcp_store_schema_encode(MCP_STORE_SCHEMA_VERSION, buf,
                                          sizeof(buf));
    val.mv_data = buf;

    rc = mdb_put(txn, s->meta, key, &val, 0);
    if (rc != MDB_SUCCESS) {
        return mcp_store_error(err, err_len, mcp_store_rc(rc),
                               "store at %s: cannot write the schema "
                               "record: %s", path, mdb_strerror(rc));
    }

    s->schema = MCP_STORE_SCHEMA_VERSION;

    return MCP_STORE_OK;
}


/*
 * Begins a transaction.  MDB_MAP_RESIZED means another process has grown
 * the data past our map: map it again at the size it recorded and retry.
 */

static int
mcp_store_env_begin(mcp_store_t *s, unsigned flags, MDB_txn **txn)
{
    int  rc;

    rc = mdb_txn_begin(s->env, NULL, flags, txn);

    /*
     * Remapping is for the handle that owns the environment: a shared
     * handle runs on another thread, and LMDB's map may not move under
     * the owner's transactions (the owner adopts the new size at its
     * next transaction; the caller of a shared handle tries again).
     */

    if (rc == MDB_MAP_RESIZED && !s->shared) {
        rc = mcp_store_map_adopt(s);

        if (rc == MDB_SUCCESS) {
            rc = mdb_txn_begin(s->env, NULL, flags, txn);
        }
    }

    return rc;
}


/*
 * With a write map, the pages a write transaction takes past the end of
 * what was written are holes of a sparse file, written through the map:
 * on a full disk the kernel has no block to give such a page and kills
 * the writer with SIGBUS.  Before a write transaction begins, the file's
 * blocks are reserved with fallocate() (unwritten extents: no data is
 * written, so it is safe beside writers of the map) from the last page
 * in use to MCP_STORE_BACKED_AHEAD past it, MCP_STORE_BACKED_CHUNK more
 * when the disk has it; the largest write the module makes (a visit
 * flush of 12,288 links, which may copy as many pages) grows the file by
 * less.  Every page below the last in use has been written, so has its
 * blocks.  MCP_STORE_NOSPACE (through mcp_store_rc()) when the disk
 * cannot give them: nothing has been written yet.  A file system without
 * fallocate() (EOPNOTSUPP) gets no reserve: glibc's posix_fallocate()
 * would emulate it by writing bytes of the file, which is not safe beside
 * other writers; nor does a reserve help a copy-on-write file system
 * (btrfs, ZFS), whose rewrites of a page need new blocks.
 */

static int
mcp_store_back(mcp_store_t *s)
{
    int           rc, fd;
    uint64_t      end, more, used, from;
    MDB_envinfo   info;

    /* the map size and the last page in use: another process may have
     * changed either since the last write */

    rc = mdb_env_info(s->env, &info);
    if (rc != MDB_SUCCESS) {
        return rc;
    }

    used = ((uint64_t) info.me_last_pgno + 1) * s->psize;
    end = used + MCP_STORE_BACKED_AHEAD;

    if (end > info.me_mapsize) {
        end = info.me_mapsize;
    }

    if (end <= s->backed) {
        return MDB_SUCCESS;
    }

    rc = mdb_env_get_fd(s->env, &fd);
    if (rc != MDB_SUCCESS) {
        return rc;
    }

    from = (s->backed > used) ? s->backed : used;

    /* a chunk more if the disk has it, else just what is needed */

    more = end + MCP_STORE_BACKED_CHUNK;

    if (more > info.me_mapsize) {
        more = info.me_mapsize;
    }

    rc = 0;

    if (fallocate(fd, 0, (off_t) from, (off_t) (more - from)) == -1) {
        rc = errno;

        if (rc == ENOSPC || rc == EDQUOT || rc == EFBIG) {
            more = end;
            rc = 0;

            if (fallocate(fd, 0, (off_t) from, (off_t) (end - from)) == -1) {
                return errno;
            }
        }
    }

    if (rc != 0 && rc != EOPNOTSUPP) {
        return rc;
    }

    s->backed = more;

    return MDB_SUCCESS;
}


/*
 * Maps the environment again at the size recorded on disk, the largest any
 * process has used.  Never shrinks: a map_size given to mcp_store_open()
 * is recorded only by the first commit after it.  The caller has no
 * transaction running (the read transaction is reset).
 */

static int
mcp_store_map_adopt(mcp_store_t *s)
{
    int           rc;
    MDB_envinfo   before, after;

    if (s->shares_busy > 0) {
        return MDB_MAP_RESIZED;     /* not under another thread's txn */
    }

    rc = mdb_env_info(s->env, &before);

    if (rc == MDB_SUCCESS) {
        rc = mdb_env_set_mapsize(s->env, 0);
    }

    if (rc == MDB_SUCCESS) {
        rc = mdb_env_info(s->env, &after);
    }

    if (rc == MDB_SUCCESS && after.me_mapsize < before.me_mapsize) {
        rc = mdb_env_set_mapsize(s->env, before.me_mapsize);
    }

    return rc;
}


/*
 * The pages in use in txn's view: the two meta pages and every page of
 * every database's tree (the free list's own too, not the free pages it
 * lists), and *limit, the most that writes other than deletes may leave
 * in use (see MCP_STORE_RESERVE_SHARE).
 */

static int
mcp_store_pages(mcp_store_t *s, MDB_txn *txn, uint64_t *pages,
    uint64_t *limit)
{
    int                    rc;
    size_t                 i, n;
    MDB_dbi                dbi[MCP_STORE_MAX_DBS + 2];
    MDB_stat               st;
    MDB_envinfo            info;
    const mcp_store_db_t  *db;

    /* LMDB's free list and main database are 0 and 1 */

    n = 0;
    dbi[n++] = 0;
    dbi[n++] = 1;
    dbi[n++] = s->meta;
    dbi[n++] = s->links;

    if (s->has_sessions) {
        dbi[n++] = s->sessions;
    }

    if (s->has_stats) {
        dbi[n++] = s->link_stats;
    }

    for (db = mcp_store_context_group; s->has_context && db->name; db++) {
        dbi[n++] = *(MDB_dbi *) ((char *) s + db->offset);
    }

    if (s->has_visits) {
        dbi[n++] = s->visits;
    }

    *pages = 2;

    for (i = 0; i < n; i++) {
        rc = mdb_stat(txn, dbi[i], &st);
        if (rc != MDB_SUCCESS) {
            return rc;
        }

        *pages += st.ms_branch_pages + st.ms_leaf_pages
                  + st.ms_overflow_pages;
    }

    rc = mdb_env_info(s->env, &info);
    if (rc != MDB_SUCCESS) {
        return rc;
    }

    *limit = mcp_store_page_limit(info.me_mapsize, s->psize);

    return MDB_SUCCESS;
}


/* the most pages that writes other than deletes may leave in use */

static uint64_t
mcp_store_page_limit(uint64_t map, uint64_t psize)
{
    uint64_t  reserve, floor;

    reserve = map / MCP_STORE_RESERVE_SHARE;
    floor = (map / 4 < MCP_STORE_RESERVE_MIN) ? map / 4
                                              : MCP_STORE_RESERVE_MIN;

    if (reserve < floor) {
        reserve = floor;
    }

    if (reserve > MCP_STORE_RESERVE_MAX) {
        reserve = MCP_STORE_RESERVE_MAX;
    }

    return (map - reserve) / psize;
}


static MDB_dbi
mcp_store_kind_dbi(mcp_store_t *s, unsigned kind)
{
    return (kind == MCP_STORE_RECORD_LINK) ? s->links : s->sessions;
}


/*
 * mdb_reader_list() callback: a header line, then one line per reader slot
 * in use, which starts with the process id; other messages start with
 * "(".
 */

static int
mcp_store_reader_count(const char *msg, void *ctx)
{
    unsigned  *n = ctx;

    while (*msg == ' ') {
        msg++;
    }

    if (*msg >= '0' && *msg <= '9') {
        (*n)++;
    }

    return 0;
}
