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
#define MCP_STORE_SCHEMA_VERSION  1

/* Short codes are made of these 62 characters. */
#define MCP_STORE_CODE_ALPHABET                                               \
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

#define MCP_STORE_CODE_MAX        64
#define MCP_STORE_CODE_RETRIES    16


/* Return codes. */
#define MCP_STORE_OK              0
#define MCP_STORE_NOTFOUND        1   /* no such key */
#define MCP_STORE_EXISTS          2   /* key taken (alias collision) */
#define MCP_STORE_FULL            3   /* map size reached: raise map_size */
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


typedef struct mcp_store_s  mcp_store_t;


/*
 * A link record.  Times are Unix seconds; 0 means "not set" for
 * expires_at, last_visit and max_visits.  When the record comes from
 * mcp_store_link_get(), url points into the memory map (see the lifetime
 * rule above) and is not NUL-terminated.
 */
typedef struct {
    const char  *url;
    size_t       url_len;
    int64_t      created_at;
    int64_t      expires_at;
    uint64_t     max_visits;
    uint64_t     visits;
    int64_t      last_visit;
} mcp_store_link_t;


/* One pending visit batch, for mcp_store_link_add_visits(). */
typedef struct {
    const char  *code;
    size_t       code_len;
    uint64_t     count;
    int64_t      last_visit;
} mcp_store_visit_t;


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
} mcp_store_stat_t;


/*
 * Returns a static message for any code this library returns.  Never NULL.
 */
const char *mcp_store_strerror(int rc);


/*
 * Opens (and creates, unless MCP_STORE_RDONLY) the environment in the
 * directory path, which must exist.  map_size is in bytes (0: keep the
 * environment's size, or 64 MiB for a new one).  Clears reader slots left
 * by dead processes (mdb_reader_check), creates the named databases and the
 * schema record if missing, and refuses a newer schema (MCP_STORE_ESCHEMA).
 *
 * On failure *sp is NULL and, for MCP_STORE_EIO, errno tells why.
 * err, if not NULL, receives a NUL-terminated message of at most err_len
 * bytes suitable for a log line.
 */
int mcp_store_open(mcp_store_t **sp, const char *path, size_t map_size,
    unsigned flags, char *err, size_t err_len);

/*
 * Closes the handle and frees everything it holds.  NULL is accepted.
 */
void mcp_store_close(mcp_store_t *s);

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
 * Fills *st.  Uses the handle's read transaction.
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
 * visits += count and last_visit = max(last_visit, entry's last_visit).
 * Entries whose link is gone are skipped.
 */
int mcp_store_link_add_visits(mcp_store_t *s, const mcp_store_visit_t *v,
    size_t n);

/*
 * Deletes the link stored under code: MCP_STORE_NOTFOUND if none.
 */
int mcp_store_link_delete(mcp_store_t *s, const char *code, size_t code_len);

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
 * An MCP session.  Strings point into the memory map when the record comes
 * from mcp_store_session_get() (lifetime as for links) and are not
 * NUL-terminated; each is at most MCP_STORE_SESSION_STR_MAX bytes.
 * log_level and flags are the caller's to interpret.
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
 * write transaction (a bounded batch, so a sweep never holds the writer
 * long; max 0 deletes none); *removed (may be NULL) receives how many.
 * Records that do not decode are removed too.
 */
int mcp_store_session_expire(mcp_store_t *s, int64_t idle_before, size_t max,
    size_t *removed);


/*
 * Like mcp_store_link_list(), for the links whose code starts with prefix
 * (prefix_len 0: all), from the first of them; for completion.
 */
int mcp_store_link_prefix(mcp_store_t *s, const char *prefix,
    size_t prefix_len, size_t limit, mcp_store_link_cb cb, void *data,
    int *more);


#endif /* _MCP_STORE_H_INCLUDED_ */
