/*
 * mcp_store: the ngx_mcp persistent store.
 *
 * A plain C library over one LMDB environment, values encoded with
 * msgpack-c.  It knows nothing of nginx: the nginx module, the command-line
 * tool and the unit tests all link the same static library.
 *
 * Process model (the rules LMDB imposes):
 *
 *   - A handle (mcp_store_t) belongs to one process and one thread.  Never
 *     use it across fork(): open it again in the child.
 *   - Any number of processes may open the same environment at once.  Reads
 *     never block; one write transaction runs at a time across all
 *     processes, so every write function here is one short transaction.
 *   - Read functions reuse one read-only transaction per handle, renewed
 *     at the call.  Pointers they hand out point into the memory map and
 *     are valid until mcp_store_release() or the next call on the same
 *     handle; the snapshot stays pinned until then, so release it as soon
 *     as what is needed has been copied (a pinned snapshot keeps writers
 *     from reusing old pages).
 *
 * Order of calls: mcp_store_open(), then any other function, then
 * mcp_store_close().
 *
 * Every function returns MCP_STORE_OK (0) or one of the error codes below;
 * mcp_store_strerror() turns any of them into a message.
 */

#ifndef _MCP_STORE_H_INCLUDED_
#define _MCP_STORE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


/* The schema this library reads and writes (the "schema" record). */
#define MCP_STORE_SCHEMA_VERSION  3

/* Short codes are made of these 62 characters. */
#define MCP_STORE_CODE_ALPHABET                                               \
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

#define MCP_STORE_CODE_MAX        64
#define MCP_STORE_CODE_RETRIES    16


/* Return codes. */
#define MCP_STORE_OK              0
#define MCP_STORE_NOTFOUND        1   /* no such key */
#define MCP_STORE_EXISTS          2   /* key taken (alias collision) */
#define MCP_STORE_FULL            3   /* map size reached (but for the
                                         reserve): raise map_size */
#define MCP_STORE_ESCHEMA         4   /* written by a newer schema version */
#define MCP_STORE_EINVAL          5   /* bad argument */
#define MCP_STORE_ECORRUPT        6   /* a record that does not decode */
#define MCP_STORE_ENOMEM          7   /* out of memory */
#define MCP_STORE_EIO             8   /* open/read/write failed (see errno) */
#define MCP_STORE_ENOTENV         9   /* path holds no LMDB environment */
#define MCP_STORE_EXHAUSTED       10  /* no free random code after retries */
#define MCP_STORE_EXPIRED         11  /* link past expires_at */
#define MCP_STORE_SPENT           12  /* link out of visits (max_visits) */


/* Flags for mcp_store_open(). */
#define MCP_STORE_NOSYNC          0x01  /* commits do not flush; call
                                           mcp_store_sync() to flush */
#define MCP_STORE_RDONLY          0x02  /* open for reading only */
#define MCP_STORE_WRITEMAP        0x04  /* commits write into the map
                                           (MDB_WRITEMAP): see
                                           mcp_store_open() */


typedef struct mcp_store_s  mcp_store_t;


/*
 * The tenant of records written before tenants existed, and of records
 * written without one.
 */
#define MCP_STORE_TENANT_DEFAULT  "default"


/*
 * A link record.  Times are Unix seconds; 0 means "not set" for
 * expires_at, last_visit and max_visits.  When the record comes from
 * mcp_store_link_get(), url points into the memory map (see the lifetime
 * rule above) and is not NUL-terminated.
 *
 * tenant is the link's owner: 1 to MCP_STORE_SCOPE_MAX bytes of
 * [A-Za-z0-9_.-] (MCP_STORE_EINVAL otherwise).  Written with tenant_len 0,
 * a link belongs to MCP_STORE_TENANT_DEFAULT.  A link read back always has
 * one, pointing into the map like url, or at a static string for
 * MCP_STORE_TENANT_DEFAULT; records written before tenants existed read
 * as that.  Codes are one namespace for all tenants (a redirect is
 * public): the tenant only decides who may list, read and delete a link
 * (see the *_tenant functions).
 *
 * redirect_status is the link's own redirect status, 301, 302, 307 or
 * 308, or 0 for none (the server's applies).  tags is the link's tags,
 * each of 1 to MCP_STORE_TAG_MAX bytes of [A-Za-z0-9_.:-], separated by
 * one comma ("news,2026"), at most MCP_STORE_TAGS_MAX of them, none
 * twice; tags_len 0 (tags may be NULL) for none.  Anything else is
 * MCP_STORE_EINVAL.  Read back, tags points into the map like url (NULL
 * for none).  Both are stored only when set: a link without them takes
 * no more room than before they existed, and reads as 0 and none.
 *
 * updated_at is when the link was last changed (mcp_store_link_update()),
 * 0 if never: stored only when set, like the two above.  A put keeps the
 * one it is given (an import restores it).
 */
typedef struct {
    const char  *url;
    size_t       url_len;
    int64_t      created_at;
    int64_t      expires_at;
    uint64_t     max_visits;
    uint64_t     visits;
    int64_t      last_visit;
    const char  *tenant;
    size_t       tenant_len;
    unsigned     redirect_status;
    const char  *tags;
    size_t       tags_len;
    int64_t      updated_at;
} mcp_store_link_t;

#define MCP_STORE_TAG_MAX         32
#define MCP_STORE_TAGS_MAX        16
#define MCP_STORE_LINK_TAGS_LEN                                               \
    (MCP_STORE_TAGS_MAX * (MCP_STORE_TAG_MAX + 1))

/*
 * 1 if tag (len bytes) is one tag a link may carry (see mcp_store_link_t),
 * else 0.
 */
int mcp_store_tag_valid(const char *tag, size_t len);

/*
 * The tags of a link one by one: *pos is 0 at first.  Returns 1 with
 * *tag (pointing into tags) and *tag_len set to the next one, 0 after the
 * last.
 */
int mcp_store_tag_next(const char *tags, size_t tags_len, size_t *pos,
    const char **tag, size_t *tag_len);

/*
 * 1 if the link's comma-separated tags hold tag, else 0.
 */
int mcp_store_link_tagged(const mcp_store_link_t *link, const char *tag,
    size_t len);


/*
 * One pending visit batch, for mcp_store_link_add_visits(): count visits
 * added to the link's visits, last_visit the time of the latest (the
 * link's last_visit is raised to it when count is not 0).
 *
 * The rest is the link's visit statistics (see mcp_store_link_stats_get()),
 * on the UTC day of last_visit: people visits counted for that day and
 * for the referring host (referrer, referrer_len 0 for none: "direct"),
 * and bots visits by bots, counted apart.  people may be more than count:
 * visits to a link with max_visits are counted in the link at once
 * (mcp_store_link_consume()), and in its statistics with the batch.  An
 * entry with all three 0 is skipped.
 */
typedef struct {
    const char  *code;
    size_t       code_len;
    uint64_t     count;
    int64_t      last_visit;
    uint64_t     people;
    uint64_t     bots;
    const char  *referrer;
    size_t       referrer_len;
} mcp_store_visit_t;


/*
 * A link's visit statistics, kept in their own database ("link_stats")
 * apart from the link's record, and deleted with the link.  Nothing that
 * names a visitor is kept: no address, no user agent, only the host
 * name of the referring page.
 *
 *   - a count of people's visits per UTC day, for the last
 *     MCP_STORE_STATS_DAYS days (older days are dropped as new ones come);
 *   - a count per referring host, for up to MCP_STORE_STATS_HOSTS hosts
 *     a link: visits from more hosts are counted under
 *     MCP_STORE_REFERRER_OTHER.  A referrer is a host name of 1 to
 *     MCP_STORE_REFERRER_MAX bytes of [a-z0-9._:[]-] (lower case; an IPv6
 *     address in brackets); any other is counted as
 *     MCP_STORE_REFERRER_OTHER too.  No referrer is the empty host;
 *   - a count of bots' visits, in no day and from no referrer.
 */
#define MCP_STORE_STATS_DAYS      400
#define MCP_STORE_STATS_HOSTS     200
#define MCP_STORE_REFERRER_MAX    253
#define MCP_STORE_REFERRER_OTHER  "*"

typedef struct {
    int64_t      day;            /* the day's first second, Unix time */
    uint64_t     visits;
} mcp_store_day_t;

typedef struct {
    const char  *host;           /* empty: no referrer; not NUL-ended */
    size_t       host_len;
    uint64_t     visits;
} mcp_store_referrer_t;

/*
 * What mcp_store_link_stats_get() fills: days (the caller's array of
 * days_cap entries) from the day of since on, oldest first, only days
 * with visits; referrers (the caller's array of referrers_cap entries)
 * the most visited hosts, most visits first (ties in host order).
 */
typedef struct {
    uint64_t               bots;
    mcp_store_day_t       *days;
    size_t                 days_cap;
    size_t                 ndays;
    mcp_store_referrer_t  *referrers;
    size_t                 referrers_cap;
    size_t                 nreferrers;
} mcp_store_link_stats_t;


/*
 * Called by mcp_store_link_list() once per link, in code order.  The code
 * and the link are valid only during the call.  Return non-zero to stop.
 */
typedef int (*mcp_store_link_cb)(void *data, const char *code,
    size_t code_len, const mcp_store_link_t *link);


/* Statistics for mcp_store_stat(). */
typedef struct {
    uint64_t     links;          /* number of link records */
    uint64_t     map_size;       /* configured map size, bytes */
    uint64_t     used_bytes;     /* pages in use times page size */
    unsigned     page_size;
    unsigned     max_readers;
    unsigned     readers_used;
    unsigned     schema_version;
    uint64_t     sessions;       /* MCP sessions */
    uint64_t     entities;       /* of the knowledge graph, all scopes */
    uint64_t     relations;
    uint64_t     contexts;       /* conversation contexts, all scopes */
} mcp_store_stat_t;


/*
 * Returns a static message for any code this library returns.  Never NULL.
 */
const char *mcp_store_strerror(int rc);


/*
 * The map keeps a reserve, so that a full store can always be emptied:
 * a write transaction that leaves more pages in use than the map size
 * less the reserve, and more than it found, is refused with
 * MCP_STORE_FULL (and keeps nothing), while one that frees pages or
 * keeps as many (deletes, updates in place) may use the reserve.  The
 * reserve is 1/MCP_STORE_RESERVE_SHARE of the map size, at least
 * MCP_STORE_RESERVE_MIN (but never more than a quarter of the map) and
 * at most MCP_STORE_RESERVE_MAX.  Pages in use are those of the
 * databases' trees, not the file's high-water mark: pages that deletes
 * free count as free again.
 */
#define MCP_STORE_RESERVE_SHARE   16
#define MCP_STORE_RESERVE_MIN     ((uint64_t) 1024 * 1024)
#define MCP_STORE_RESERVE_MAX     ((uint64_t) 64 * 1024 * 1024)


/*
 * Opens (and creates, unless MCP_STORE_RDONLY) the environment in the
 * directory path, which must exist.  map_size is in bytes (0: keep the
 * environment's size, or 64 MiB for a new one).  Clears reader slots left
 * by dead processes (mdb_reader_check), creates the named databases and the
 * schema record if missing, and refuses a newer schema (MCP_STORE_ESCHEMA).
 *
 * MCP_STORE_WRITEMAP (ignored with MCP_STORE_RDONLY): commits write
 * the pages into the map (MDB_WRITEMAP) instead of pwrite()ing copies
 * kept in malloc()ed memory.  LMDB then sizes data.mdb to the map, a
 * sparse file: its length is the map size, the disk it takes is what was
 * written (st_blocks).  The map is never smaller than the file, so that
 * no handle truncates the file under another one's map.  Every pointer
 * into the store is then writable memory of the file: the library never
 * writes through one, and callers must not either.  Nested transactions
 * are refused (mcp_store_op_apply() of memory operations fails).  A
 * write into a hole of the file on a full disk would raise SIGBUS: so a
 * write transaction begins only once the disk blocks of the file are
 * reserved (fallocate()) up to 64 MiB past the last page in use, and
 * fails with MCP_STORE_NOSPACE when the disk
 * cannot give them; the file then takes on disk what was written plus
 * that reserve (or the map size, if less).  Not on a file system without
 * fallocate(), nor on a copy-on-write one (btrfs, ZFS): there a full
 * disk still ends the writer.  Handles with and without the flag may
 * share an environment on Linux (one page cache: mcp_store_sync() of
 * either flushes what both wrote).
 *
 * On failure *sp is NULL and, for MCP_STORE_EIO, errno tells why.
 * err, if not NULL, receives a NUL-terminated message of at most err_len
 * bytes suitable for a log line.
 */
int mcp_store_open(mcp_store_t **sp, const char *path, size_t map_size,
    unsigned flags, char *err, size_t err_len);

/*
 * Closes the handle and frees everything it holds.  NULL is accepted.
 * The environment is closed with the handle that opened it: close the
 * handles shared from it (mcp_store_share()) first.
 */
void mcp_store_close(mcp_store_t *s);

/*
 * Opens a second handle on the environment of s, for writes from another
 * thread of the same process (LMDB allows one opening of an environment
 * a process): each handle is used by one thread at a time; their write
 * transactions take turns as any two writers do.  The handle has no read
 * transaction (it takes no reader slot): the per-call read functions fail
 * on it.  *sp is valid until mcp_store_close() of it, which must come
 * before that of s.
 */
int mcp_store_share(mcp_store_t *s, mcp_store_t **sp);

/*
 * A shared handle never maps the environment again (at a size another
 * process grew it to): LMDB's map may not move while another thread is
 * in a transaction.  The owner s does, at its next transaction, unless
 * the thread that owns s has said that a shared handle is in use on
 * another thread (busy 1 before handing it over, busy 0 once it is back;
 * counted): meanwhile a transaction of s that needs the larger map fails
 * (MCP_STORE_EIO) instead, and so does the shared handle's.
 */
void mcp_store_share_busy(mcp_store_t *s, int busy);

/*
 * Flushes committed writes to disk (mdb_env_sync, forced).  Needed only
 * with MCP_STORE_NOSYNC.  May block on I/O: do not call it on an event
 * loop.  It is the one function that may run in another thread while the
 * handle's owner goes on using it.
 */
int mcp_store_sync(mcp_store_t *s);

/*
 * Ends the read snapshot that the last read call left open, which makes
 * every pointer it handed out invalid.  Cheap (mdb_txn_reset); harmless
 * when no snapshot is open.
 */
void mcp_store_release(mcp_store_t *s);

/*
 * Fills *st.  Uses the handle's read transaction.  Counting the contexts
 * reads the expiry keys of those that expire (one step each); the other
 * figures are the databases' own counts.
 */
int mcp_store_stat(mcp_store_t *s, mcp_store_stat_t *st);

/*
 * Clears reader slots of dead processes; *dead (may be NULL) receives how
 * many were cleared.
 */
int mcp_store_reader_check(mcp_store_t *s, int *dead);


/*
 * Fills buf with len random characters of MCP_STORE_CODE_ALPHABET from the
 * kernel's CSPRNG (getrandom), without modulo bias.  len is at most
 * MCP_STORE_CODE_MAX.  buf is not NUL-terminated.
 */
int mcp_store_random_code(char *buf, size_t len);


/*
 * Stores link under code if code is free: MCP_STORE_EXISTS otherwise, and
 * nothing changes.  link->visits and last_visit are stored as given.
 * Codes are 1 to MCP_STORE_CODE_MAX bytes (MCP_STORE_EINVAL otherwise);
 * the library does not judge their characters: that is the caller's policy.
 */
int mcp_store_link_put(mcp_store_t *s, const char *code, size_t code_len,
    const mcp_store_link_t *link);

/*
 * Stores link under a new random code of code_len characters (1 to
 * MCP_STORE_CODE_MAX), written to code (not NUL-terminated).  Collisions
 * are retried inside the same write transaction, up to
 * MCP_STORE_CODE_RETRIES times (then MCP_STORE_EXHAUSTED: use longer codes).
 */
int mcp_store_link_create(mcp_store_t *s, char *code, size_t code_len,
    const mcp_store_link_t *link);

/*
 * Reads the link stored under code into *link.  link->url points into the
 * memory map: valid until the next call on this handle.
 */
int mcp_store_link_get(mcp_store_t *s, const char *code, size_t code_len,
    mcp_store_link_t *link);

/* What mcp_store_link_resolve() reads of a link's visits. */
#define MCP_STORE_LINK_COUNTS          0  /* all, as mcp_store_link_get() */
#define MCP_STORE_LINK_COUNTS_LIMITED  1  /* only a link with max_visits's:
                                             0 for the others */

/*
 * As mcp_store_link_get(), but reads the link's visits and last_visit
 * only as counts says.  Visits are counted apart from the link's record:
 * a redirect, which needs them only to check max_visits, reads one record
 * with MCP_STORE_LINK_COUNTS_LIMITED, and the visits and last_visit of a
 * link without max_visits are then 0.
 */
int mcp_store_link_resolve(mcp_store_t *s, const char *code,
    size_t code_len, mcp_store_link_t *link, unsigned counts);

/*
 * Counts one visit to a link that has max_visits set, at time now, in one
 * write transaction: MCP_STORE_SPENT (and no change) if it already has
 * max_visits visits, MCP_STORE_EXPIRED if now is past expires_at,
 * MCP_STORE_NOTFOUND if it is gone.  This is how "N uses only" links stay
 * exact across worker processes; links without max_visits are counted in
 * batches with mcp_store_link_add_visits().
 */
int mcp_store_link_consume(mcp_store_t *s, const char *code, size_t code_len,
    int64_t now);

/*
 * Adds batched visit counts, all in one write transaction: for each entry,
 * visits += count and last_visit = max(last_visit, entry's last_visit),
 * and the entry's statistics (see mcp_store_visit_t).  Entries whose link
 * is gone are skipped.
 */
int mcp_store_link_add_visits(mcp_store_t *s, const mcp_store_visit_t *v,
    size_t n);

/*
 * mcp_store_link_add_visits(), and on a store too full for the batch
 * (MCP_STORE_FULL), the entries it has room for: those that need none (a
 * counter of the link, day and referrer that exists) are added, in one
 * write transaction, and those that need more room than the store has
 * are moved to the front of v (which is reordered), *left of them.
 * Returns MCP_STORE_OK (*left 0), MCP_STORE_FULL (the first *left
 * entries of v not added, the others added), or another error (none
 * added, *left n).
 */
int mcp_store_link_add_visits_left(mcp_store_t *s, mcp_store_visit_t *v,
    size_t n, size_t *left);

/*
 * Reads the visit statistics of the link stored under code into *st (its
 * arrays and their caps set by the caller): days from since's UTC day on,
 * the top referrers.  Uses the handle's read transaction: referrers' hosts
 * point into the map (see mcp_store_release()).  A link without visits
 * has none (0 and empty); whether the link exists is not checked.
 */
int mcp_store_link_stats_get(mcp_store_t *s, const char *code,
    size_t code_len, int64_t since, mcp_store_link_stats_t *st);

/*
 * Deletes the link stored under code, and its visit statistics:
 * MCP_STORE_NOTFOUND if none.
 */
int mcp_store_link_delete(mcp_store_t *s, const char *code, size_t code_len);

/*
 * Deletes the link stored under code if tenant owns it, in one write
 * transaction: MCP_STORE_NOTFOUND if there is none or another tenant owns
 * it (and nothing changes).  tenant_len 0: whoever owns it, as
 * mcp_store_link_delete().
 */
int mcp_store_link_delete_tenant(mcp_store_t *s, const char *code,
    size_t code_len, const char *tenant, size_t tenant_len);

/* Fields for mcp_store_link_update(). */
#define MCP_STORE_LINK_SET_URL         0x01
#define MCP_STORE_LINK_SET_EXPIRES     0x02
#define MCP_STORE_LINK_SET_MAX_VISITS  0x04
#define MCP_STORE_LINK_SET_TAGS        0x08  /* replaces them all */
#define MCP_STORE_LINK_SET_STATUS      0x10  /* redirect_status */

/*
 * Changes, in one write transaction, the fields named in set (of
 * MCP_STORE_LINK_SET_*) of the link stored under code to those of link if
 * tenant owns it (tenant_len 0: whoever owns it); the other fields
 * (created_at, visits, last_visit, the owner) stay.  MCP_STORE_NOTFOUND if
 * there is no such link or another tenant owns it, MCP_STORE_EINVAL if
 * the result is not a valid link, MCP_STORE_QUOTA if a longer URL puts
 * the owner over its quota of bytes; nothing changes then.  The caller
 * checks the URL against its policy first, as for mcp_store_link_put().
 * The link's updated_at becomes link->updated_at, or now if that is 0.
 */
int mcp_store_link_update(mcp_store_t *s, const char *code, size_t code_len,
    const char *tenant, size_t tenant_len, const mcp_store_link_t *link,
    unsigned set);

/*
 * Calls cb for up to limit links (0: no limit) in code order, starting
 * after the code given in after (after_len 0: from the first).  Uses the
 * handle's read transaction; cb must not call other functions on s.
 * *more (may be NULL) receives 1 if more links follow the last one
 * passed to cb, else 0.
 */
int mcp_store_link_list(mcp_store_t *s, const char *after, size_t after_len,
    size_t limit, mcp_store_link_cb cb, void *data, int *more);

/*
 * Like mcp_store_link_list(), for the links tenant owns only (tenant_len 0:
 * every tenant's): the others are skipped before they count towards limit
 * or *more, so pages are full and *more exact.  The links of all tenants
 * are in one table, so the walk reads another tenant's links too: each
 * call reads at most MCP_STORE_WORK / 16 of them.  When it stops there,
 * *more is 1 and cb is called once more, with link NULL, and the code the
 * next page goes on after (which is not one to list).
 */
int mcp_store_link_list_tenant(mcp_store_t *s, const char *tenant,
    size_t tenant_len, const char *after, size_t after_len, size_t limit,
    mcp_store_link_cb cb, void *data, int *more);


/*
 * An MCP session.  Strings point into the memory map when the record comes
 * from mcp_store_session_get() (lifetime as for links) and are not
 * NUL-terminated; each is at most MCP_STORE_SESSION_STR_MAX bytes.
 * log_level and flags are the caller's to interpret.  tenant is the
 * tenant the session was started for, as a link's (tenant_len 0 when
 * written: MCP_STORE_TENANT_DEFAULT; sessions written before tenants
 * existed read as that).
 */

#define MCP_STORE_SESSION_STR_MAX  1024

typedef struct {
    int64_t      created_at;
    int64_t      last_seen;
    const char  *protocol;          /* negotiated protocol version */
    size_t       protocol_len;
    const char  *client_name;
    size_t       client_name_len;
    const char  *client_version;
    size_t       client_version_len;
    unsigned     log_level;
    unsigned     flags;
    const char  *tenant;
    size_t       tenant_len;
} mcp_store_session_t;


/* One pending last-seen update, for mcp_store_session_touch(). */
typedef struct {
    const char  *id;
    size_t       id_len;
    int64_t      last_seen;
} mcp_store_touch_t;


/*
 * Stores a new session under id (1 to MCP_STORE_CODE_MAX bytes):
 * MCP_STORE_EXISTS if the id is taken.  Strings of up to
 * MCP_STORE_SESSION_STR_MAX (1024) bytes each (MCP_STORE_EINVAL otherwise).
 */
int mcp_store_session_put(mcp_store_t *s, const char *id, size_t id_len,
    const mcp_store_session_t *session);

/*
 * Reads a session; strings point into the map (see mcp_store_release()).
 */
int mcp_store_session_get(mcp_store_t *s, const char *id, size_t id_len,
    mcp_store_session_t *session);

/*
 * Replaces an existing session's record: MCP_STORE_NOTFOUND if it is gone
 * (a deleted session is never brought back).  session may be one that
 * mcp_store_session_get() returned on the same handle, with a field
 * changed: it is copied before that snapshot is let go.
 */
int mcp_store_session_update(mcp_store_t *s, const char *id, size_t id_len,
    const mcp_store_session_t *session);

/*
 * Raises last_seen of several sessions in one write transaction; sessions
 * that are gone are skipped, and last_seen never goes back.
 */
int mcp_store_session_touch(mcp_store_t *s, const mcp_store_touch_t *t,
    size_t n);

/*
 * Deletes a session: MCP_STORE_NOTFOUND if none.
 */
int mcp_store_session_delete(mcp_store_t *s, const char *id, size_t id_len);

/*
 * Deletes up to max sessions whose last_seen is before idle_before, in one
 * write transaction; *removed (may be NULL) receives how many.  Records
 * that do not decode are removed too.  A bounded batch, so that a sweep
 * never holds the writer long: it looks at most at MCP_STORE_WORK
 * sessions, from where the last call on this handle stopped, and *more
 * (may be NULL) is 1 when it stopped before the end of the sessions (for
 * max or for the budget): call again soon.  max 0 deletes none.
 */
int mcp_store_session_expire(mcp_store_t *s, int64_t idle_before, size_t max,
    size_t *removed, int *more);


/*
 * Like mcp_store_link_list(), for the links whose code starts with prefix
 * (prefix_len 0: all), from the first of them; for completion.
 */
int mcp_store_link_prefix(mcp_store_t *s, const char *prefix,
    size_t prefix_len, size_t limit, mcp_store_link_cb cb, void *data,
    int *more);

/*
 * Like mcp_store_link_prefix(), for the links tenant owns only (as
 * mcp_store_link_list_tenant()).
 */
int mcp_store_link_prefix_tenant(mcp_store_t *s, const char *tenant,
    size_t tenant_len, const char *prefix, size_t prefix_len, size_t limit,
    mcp_store_link_cb cb, void *data, int *more);


/*
 * ---------------------------------------------------------------------
 * The context store: knowledge graph, conversation contexts, search.
 *
 * Every record lives in a scope: a tenant (1 to 64 bytes) and a namespace
 * (0 to 64 bytes), both of [A-Za-z0-9_.-]; keys start with the scope, so
 * one scope never reads another's records.  Functions of the context store
 * work inside an explicit transaction, so that a tool call is one
 * transaction whatever it touches: begin, call any number of functions,
 * commit (or abort).  A read-only transaction reuses the handle's read
 * snapshot; pointers handed out inside a transaction are valid until it
 * ends.  Only one transaction per handle at a time.
 * ---------------------------------------------------------------------
 */

#define MCP_STORE_NAME_MAX        256     /* entity names, types, context
                                             ids, relation types */
#define MCP_STORE_TEXT_MAX        8192    /* an observation */
#define MCP_STORE_MESSAGE_MAX     65536   /* a message's content */
#define MCP_STORE_OBS_MAX         1024    /* observations per entity */
#define MCP_STORE_MESSAGES_MAX    10000   /* messages per context */
#define MCP_STORE_SCOPE_MAX       64

/*
 * What one call may cost, whatever its input.  A query counts at most
 * MCP_STORE_QUERY_TERMS distinct words (a repeated word is one term,
 * weighed by how many times it comes; later new words are left out), and
 * a word matches at most MCP_STORE_QUERY_EXPANSIONS longer words it is a
 * prefix of.  A transaction may spend MCP_STORE_WORK units of work on the
 * calls that end early (see mcp_store_txn_truncated()), units that each
 * take about as long, and that make the time any one call may hold its
 * caller a few milliseconds: an index posting read, a byte of a record
 * read or of a message a window holds, a sixteenth of a token indexed or
 * unindexed.  A search takes at most half of what is left, so that its
 * hits can still be read.
 */
#define MCP_STORE_QUERY_TERMS       32
#define MCP_STORE_QUERY_EXPANSIONS  256
#define MCP_STORE_WORK              65536

/* more return codes of the context store */
#define MCP_STORE_ETOOBIG         13  /* over one of the limits above */
#define MCP_STORE_EBUSY           14  /* a transaction is already open */
#define MCP_STORE_QUOTA           15  /* over the tenant's quota */
#define MCP_STORE_NOSPACE         16  /* no disk left under a write-map
                                         store (MCP_STORE_WRITEMAP) */


typedef struct mcp_store_txn_s  mcp_store_txn_t;


typedef struct {
    const char  *tenant;
    size_t       tenant_len;
    const char  *ns;
    size_t       ns_len;
} mcp_store_scope_t;


/*
 * Is part (a tenant, or a namespace) one that a scope may have: min (1 for
 * a tenant, 0 for a namespace) to MCP_STORE_SCOPE_MAX bytes of
 * [A-Za-z0-9_.-]?  MCP_STORE_OK or MCP_STORE_EINVAL.  The one rule for
 * both; a scope that breaks it is refused by every function below.
 */
int mcp_store_scope_valid(const char *part, size_t len, size_t min);

/*
 * The first scope after after (NULL: the first of all), in key order
 * (tenant, then namespace), that holds an entity, a relation or a
 * context, into *next: MCP_STORE_NOTFOUND when there is none.  A walk
 * over every scope of the store, for exports; each call is three seeks,
 * whatever the scopes hold.  next's strings are valid until the
 * transaction ends.
 */
int mcp_store_scope_next(mcp_store_txn_t *t, const mcp_store_scope_t *after,
    mcp_store_scope_t *next);


typedef struct {
    const char  *text;
    size_t       text_len;
    int64_t      created_at;
} mcp_store_observation_t;


/*
 * An entity as read: its observations are in the order they were added.
 */
typedef struct {
    const char                *name;
    size_t                     name_len;
    const char                *type;
    size_t                     type_len;
    int64_t                    created_at;
    int64_t                    updated_at;
    size_t                     nobservations;
    mcp_store_observation_t   *observations;  /* caller's array, see get */
} mcp_store_entity_t;


typedef struct {
    const char  *from;
    size_t       from_len;
    const char  *type;
    size_t       type_len;
    const char  *to;
    size_t       to_len;
    int64_t      created_at;
} mcp_store_relation_t;


/* A search hit: doc is an entity name, or a context id (see messages). */
typedef struct {
    const char  *doc;
    size_t       doc_len;
    uint64_t     seq;          /* message sequence number, for messages */
    double       score;        /* BM25; prefix-only matches score lower */
} mcp_store_hit_t;


typedef int (*mcp_store_entity_cb)(void *data, const mcp_store_entity_t *e);
typedef int (*mcp_store_relation_cb)(void *data,
    const mcp_store_relation_t *r);


/*
 * Begins a transaction; flags MCP_STORE_RDONLY for reading only (a write
 * on a read-only handle is MCP_STORE_EINVAL).  MCP_STORE_EBUSY if the
 * handle has one open already.  While it is open, the handle's per-call
 * functions (links, sessions, stat) return MCP_STORE_EBUSY, and
 * mcp_store_close() aborts it.  Names, types and context ids are checked
 * as MCP_STORE_NAME_MAX says, and hold no NUL (MCP_STORE_EINVAL).
 */
int mcp_store_txn_begin(mcp_store_t *s, unsigned flags, mcp_store_txn_t **t);

/*
 * Commits (a read-only transaction just ends): MCP_STORE_FULL if the map
 * is full, and then nothing of the transaction is kept.  t is freed
 * whatever the result.
 */
int mcp_store_txn_commit(mcp_store_txn_t *t);

/*
 * Ends a transaction, keeping nothing of its writes.  NULL is accepted.
 */
void mcp_store_txn_abort(mcp_store_txn_t *t);

/*
 * 1 if a call in the transaction ended early because the transaction's
 * work budget (MCP_STORE_WORK from its begin) was spent, or a query had
 * more words or prefix matches than a search takes: a list or page
 * shorter than asked for (its *more is 1: go on from where it ended), a
 * search that ranked what it read of the postings (hits and scores as if
 * the rest were not there), a relation listing cut short, a window whose
 * summary read only the newest of the dropped turns.  What was returned
 * is right, but not all there is.
 */
int mcp_store_txn_truncated(const mcp_store_txn_t *t);

/*
 * 1 once the transaction's work budget is spent, and then it is marked
 * truncated: a caller about to do more work in the transaction (read one
 * more hit of a search, say) asks first, and ends there when it says so.
 * The functions above that end early ask it themselves.
 */
int mcp_store_txn_spent(mcp_store_txn_t *t);

/*
 * Sets the units of work the transaction may still spend (0: none, and
 * every call that can end early ends before it reads anything).
 */
void mcp_store_txn_budget(mcp_store_txn_t *t, uint64_t units);


/*
 * Creates the entity unless one of that name exists in the scope: *created
 * 1 if it was created, 0 if it existed (and nothing changed, as
 * server-memory's create_entities).  e's observations are added,
 * de-duplicated by exact text.  The entity is indexed for search (name,
 * type and observations).
 */
int mcp_store_entity_create(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const mcp_store_entity_t *e, int64_t now, int *created);

/*
 * Like mcp_store_entity_create(), but the entity and its observations
 * keep the times e carries (created_at, updated_at, each observation's
 * created_at): how an import restores what an export wrote.
 */
int mcp_store_entity_restore(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const mcp_store_entity_t *e, int *created);

/*
 * Reads an entity; e->observations must point to an array of cap
 * entries, of which e->nobservations are filled (the entity's count may be
 * larger than cap: *total, if not NULL, receives it).
 */
int mcp_store_entity_get(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *name, size_t name_len, mcp_store_entity_t *e, size_t cap,
    size_t *total);

/*
 * Adds one observation to an existing entity (MCP_STORE_NOTFOUND if none):
 * *added 0 when the exact text is there already.  Updates the index.
 */
int mcp_store_observation_add(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *name, size_t name_len, const char *text, size_t text_len,
    int64_t now, int *added);

/*
 * Deletes one observation by exact text; a missing entity or text is not
 * an error (*deleted 0).  Updates the index.
 */
int mcp_store_observation_delete(mcp_store_txn_t *t,
    const mcp_store_scope_t *sc, const char *name, size_t name_len,
    const char *text, size_t text_len, int *deleted);

/*
 * Deletes an entity with its observations, its index entries and every
 * relation from or to it; missing is not an error (*deleted 0).
 */
int mcp_store_entity_delete(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *name, size_t name_len, int *deleted);

/*
 * Calls cb for up to limit entities (0: all) in name order after the name
 * after (after_len 0: from the first); observations as for get, into the
 * caller's array obs of cap entries.  *more as for mcp_store_link_list().
 */
int mcp_store_entity_list(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *after, size_t after_len, size_t limit,
    mcp_store_observation_t *obs, size_t cap, mcp_store_entity_cb cb,
    void *data, int *more);

/*
 * Creates the relation unless the same (from, type, to) exists: *created
 * as for entities.  Entities need not exist (as server-memory).  The key
 * (tenant, namespace, from, type and to, with a separator after each but
 * the last) is at most LMDB's 511 bytes: a longer one is
 * MCP_STORE_ETOOBIG.
 */
int mcp_store_relation_create(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const mcp_store_relation_t *r, int64_t now, int *created);

/*
 * Deletes the relation (from, type, to); missing is not an error.
 */
int mcp_store_relation_delete(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const mcp_store_relation_t *r, int *deleted);

/*
 * Calls cb for relations in (from, type, to) order: all of the scope when
 * from_len is 0, else those from that entity; after (from, type, to of the
 * last one seen, or NULL) and limit page through them.  In the list
 * functions, cb returns non-zero to stop, and must not write through t.
 */
int mcp_store_relation_list(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *from, size_t from_len, const mcp_store_relation_t *after,
    size_t limit, mcp_store_relation_cb cb, void *data, int *more);

/*
 * Calls cb for every relation to the entity named to (the reverse index).
 */
int mcp_store_relation_list_to(mcp_store_txn_t *t,
    const mcp_store_scope_t *sc, const char *to, size_t to_len,
    mcp_store_relation_cb cb, void *data);

/*
 * Ranks the scope's entities against query with BM25 (k1 1.2, b 0.75)
 * over the tokens of name, type and observations.  A query token also
 * matches longer tokens it is a prefix of ("ali" finds "alice"), scoring
 * below every exact match.  Fills hits[0 .. *nhits) best first, skipping
 * the first offset hits; *total (may be NULL) receives the number of
 * matching entities.  hits' doc pointers are valid until the transaction
 * ends.  A query matching more than 65536 entities is MCP_STORE_ETOOBIG
 * (the ranking's memory is bounded): narrow it.
 */
int mcp_store_entity_search(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *query, size_t query_len, size_t offset, mcp_store_hit_t *hits,
    size_t cap, size_t *nhits, size_t *total);


/*
 * Conversation contexts: an ordered list of messages per context id,
 * with a stored summary of the turns that windows leave out.
 */

#define MCP_STORE_ROLE_SYSTEM     0
#define MCP_STORE_ROLE_USER       1
#define MCP_STORE_ROLE_ASSISTANT  2
#define MCP_STORE_ROLE_TOOL       3

typedef struct {
    uint64_t     seq;          /* 1, 2, ... in append order */
    unsigned     role;
    unsigned     pinned;
    const char  *content;
    size_t       content_len;
    uint64_t     tokens;       /* mcp_store_tokens() of the message */
    int64_t      created_at;
} mcp_store_message_t;

typedef struct {
    const char  *id;
    size_t       id_len;
    int64_t      created_at;
    int64_t      updated_at;
    int64_t      expires_at;   /* 0: never */
    uint64_t     nmessages;
    uint64_t     tokens;       /* sum over its messages */
    uint64_t     next_seq;
    const char  *summary;      /* of messages 1 .. summary_upto, or NULL */
    size_t       summary_len;
    uint64_t     summary_upto;
    uint64_t     summary_from; /* first message the summary covers */
} mcp_store_context_t;

typedef int (*mcp_store_message_cb)(void *data, const mcp_store_message_t *m);
typedef int (*mcp_store_context_cb)(void *data, const mcp_store_context_t *c);

/*
 * The token estimate of a message of len bytes: 4 bytes a token, rounded
 * up, plus 3 for the message's framing (the common approximation).  The one
 * place to replace with an exact tokenizer.
 */
uint64_t mcp_store_tokens(size_t len);

/*
 * Appends a message to the context (created if new); ttl > 0 sets the
 * context to expire ttl seconds after this append.  Indexes the message.
 * MCP_STORE_ETOOBIG past MCP_STORE_MESSAGES_MAX or MCP_STORE_MESSAGE_MAX.
 * m->seq and m->tokens are set by the store and written back to *m.
 */
int mcp_store_message_append(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *ctx, size_t ctx_len, mcp_store_message_t *m, int64_t now,
    int64_t ttl, mcp_store_context_t *c);

int mcp_store_context_get(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *ctx, size_t ctx_len, mcp_store_context_t *c);

/*
 * Calls cb for the context's messages in order (from seq first), or in
 * reverse order from seq first downwards with MCP_STORE_REVERSE.
 */
#define MCP_STORE_REVERSE         0x01

int mcp_store_message_list(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *ctx, size_t ctx_len, uint64_t first, unsigned flags,
    mcp_store_message_cb cb, void *data);

/*
 * Stores the summary of messages from .. upto (replacing any).
 */
int mcp_store_context_summary(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *ctx, size_t ctx_len, const char *text, size_t text_len,
    uint64_t from, uint64_t upto);

/*
 * Deletes a context, its messages and their index entries: NOTFOUND if
 * none.  Within the work budget: a context too long for it loses its
 * oldest messages (one at least), keeps the others with a record that
 * counts them, and the transaction is truncated; a later call goes on.
 */
int mcp_store_context_delete(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *ctx, size_t ctx_len);

int mcp_store_context_list(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *after, size_t after_len, size_t limit,
    mcp_store_context_cb cb, void *data, int *more);

/*
 * Ranks messages against query with BM25 (as entities), in one context
 * (ctx_len > 0) or all of the scope; hits carry the context id and seq.
 */
int mcp_store_message_search(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *ctx, size_t ctx_len, const char *query, size_t query_len,
    size_t offset, mcp_store_hit_t *hits, size_t cap, size_t *nhits,
    size_t *total);

/*
 * Deletes up to max contexts, in any scope, whose expires_at is before
 * now, in one write transaction of its own (not inside a caller's
 * transaction); *removed gets how many.  A bounded batch: once it has
 * spent MCP_STORE_WORK units (a message and each token of it unindexed),
 * it stops, between two messages of a context if need be (that context
 * keeps its remaining messages and its expiry, and the next call goes on
 * with it).  *more (may be NULL) is 1 when expired contexts are left.
 */
int mcp_store_context_expire(mcp_store_t *s, int64_t now, size_t max,
    size_t *removed, int *more);

/*
 * Sets *any to 1 if a context expired before now is still there (a
 * cluster's node, whose expiry goes through the log, asks whether to
 * sweep again soon).  Uses the handle's read snapshot.
 */
int mcp_store_context_expired(mcp_store_t *s, int64_t now, int *any);


/*
 * The window of a context to send to a model within max_tokens:
 *
 *   - pinned and system messages always;
 *   - then the most recent turns, newest first, while they fit (after
 *     the relevant ones, with a query: below);
 *   - older turns that do not fit are dropped, oldest first, and replaced
 *     by one summary message: extractive, the highest-scoring sentences of
 *     the dropped turns within summary_share (0..1) of max_tokens, stored
 *     with the context and reused while the dropped turns are the same;
 *   - with a query, the turns most relevant to it (BM25) are kept first,
 *     within a third of the turns' budget, before the recent ones, and
 *     what is left after those goes to the next most relevant; the
 *     summary then favours sentences with the query's words, and is
 *     neither stored nor reused.
 *
 * The caller gives room for out->messages (cap entries, at least the
 * context's message count for a complete window).  tokens_used never
 * exceeds max_tokens; MCP_STORE_ETOOBIG if the pinned and system messages
 * alone do not fit (out->tokens_used then says how many they need).
 * Works in a write transaction (it may store the summary).
 */
typedef struct {
    mcp_store_message_t   *messages;     /* in the order to send them */
    size_t                 nmessages;
    uint64_t               tokens_used;
    uint64_t               dropped;      /* turns left out */
    const char            *summary;      /* NULL when nothing dropped */
    size_t                 summary_len;
    uint64_t               summary_tokens;
    size_t                 summary_at;   /* the summary goes before
                                            messages[summary_at] */
} mcp_store_window_t;

int mcp_store_context_window(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *ctx, size_t ctx_len, uint64_t max_tokens, const char *query,
    size_t query_len, double summary_share, mcp_store_window_t *out,
    size_t cap);


/*
 * ---------------------------------------------------------------------
 * Quotas per tenant.
 *
 * The store keeps each tenant's usage: its links, entities, messages and
 * bytes (a link's code and URL, an entity's name, type and observation
 * texts, a relation's from, type and to, a message's content), changed by every create and delete in the
 * same write transaction.  A write that would take a usage over its limit
 * is refused with MCP_STORE_QUOTA, and nothing of it is kept; deletes
 * always succeed and lower the usage.  A store written before usage was
 * kept is counted once when it is next opened for writing.
 * ---------------------------------------------------------------------
 */

#define MCP_STORE_QUOTA_LINKS     0
#define MCP_STORE_QUOTA_ENTITIES  1
#define MCP_STORE_QUOTA_MESSAGES  2
#define MCP_STORE_QUOTA_BYTES     3
#define MCP_STORE_QUOTA_N         4

/*
 * The limits of a tenant (tenant_len 0: of every tenant that has none of
 * its own), indexed by MCP_STORE_QUOTA_*; 0 is no limit.
 */
typedef struct {
    const char  *tenant;
    size_t       tenant_len;
    uint64_t     limit[MCP_STORE_QUOTA_N];
} mcp_store_quota_t;

/*
 * Sets the quotas the handle's writes enforce: n entries of q, which the
 * caller keeps while the handle is open (s NULL: nothing is set).  n 0:
 * none.  Limits are not kept in the store: each process enforces the
 * ones it was given.
 */
void mcp_store_quota_set(mcp_store_t *s, const mcp_store_quota_t *q,
    size_t n);

/* "links", "entities", "messages" or "bytes" */
const char *mcp_store_quota_name(unsigned which);

/*
 * After MCP_STORE_QUOTA: which quota (MCP_STORE_QUOTA_*) refused the
 * write, and its limit.
 */
void mcp_store_quota_refused(const mcp_store_t *s, unsigned *which,
    uint64_t *limit);

/*
 * Fills usage[MCP_STORE_QUOTA_N] with the tenant's usage (tenant_len 0:
 * MCP_STORE_TENANT_DEFAULT's).  Uses the handle's read transaction.
 */
int mcp_store_usage_get(mcp_store_t *s, const char *tenant,
    size_t tenant_len, uint64_t *usage);


#endif /* _MCP_STORE_H_INCLUDED_ */
