/*
 * mcp_store internals, shared by the library's own files, its unit tests
 * and the mcp-store tool.  Not part of the public API: the nginx module
 * includes mcp_store.h only.
 */

#ifndef _MCP_STORE_INT_H_INCLUDED_
#define _MCP_STORE_INT_H_INCLUDED_


#include <lmdb.h>
#include <msgpack.h>

#include "mcp_store.h"


/*
 * A context-store transaction.  It lives in its handle, which has at most
 * one (mdb not NULL while it is open), so beginning one never allocates.
 * A read-only one is the handle's read transaction, renewed.
 *
 * Records read in a write transaction live in pages that a later write of
 * the same transaction may change or move: what is handed out from one is
 * copied first into blocks of memory the transaction owns (see
 * mcp_store_txn_keep()) and frees when it ends.
 */

typedef struct mcp_store_block_s  mcp_store_block_t;

struct mcp_store_txn_s {
    mcp_store_t         *store;
    MDB_txn             *mdb;
    unsigned             rdonly;
    unsigned             truncated;
    uint64_t             work;         /* units of work left */
    mcp_store_block_t   *blocks;
};


/* random bytes a handle keeps for link codes (at most what one
 * getrandom() call returns whole) */
#define MCP_STORE_RANDOM_POOL     256

/*
 * A write-map store's disk reserve (mcp_store_back()): this far past the
 * last page in use, taken a chunk more at a time.
 */
#define MCP_STORE_BACKED_AHEAD    (64 * 1024 * 1024)
#define MCP_STORE_BACKED_CHUNK    (32 * 1024 * 1024)


/*
 * The handle.  rtxn is begun once at open and is either reset (rlive 0)
 * or renewed (rlive 1).  A successful mcp_store_link_get() leaves it
 * renewed, because the url it hands out lives in that snapshot: once the
 * transaction is reset, a writer in another process may reuse the page.
 * mcp_store_release() or the next call on the handle resets it.  While a
 * context-store transaction is open (txn.mdb not NULL) the per-call
 * functions refuse with MCP_STORE_EBUSY, and mcp_store_release() leaves
 * the snapshot alone: the transaction may be using it.
 *
 * pages is what a write transaction found in use when it began (see
 * mcp_store_write_end()), or MCP_STORE_PAGES_FAR (see
 * mcp_store_write_small()).  sweep is the session id after which the next
 * mcp_store_session_expire() goes on (sweep_len 0: from the first).
 *
 * has_sessions is 0 only on a read-only handle to a store written before
 * the "sessions" database existed: it has no sessions to read.
 * has_stats is 0 likewise for "link_stats" (no statistics to read).
 * has_context is 0 likewise for the context store's databases, which came
 * together: such a handle finds no entity, relation, context or message.
 * has_visits is 1 only on a read-only handle to a schema 2 store, whose
 * counters are in "visits" (schema 3 keeps them in "link_stats", and
 * drops "visits" when it opens a schema 2 store read-write).
 */

struct mcp_store_s {
    MDB_env            *env;
    MDB_txn            *rtxn;
    MDB_dbi             meta;
    MDB_dbi             links;
    MDB_dbi             sessions;
    MDB_dbi             entities;
    MDB_dbi             relations;
    MDB_dbi             relations_to;
    MDB_dbi             postings;
    MDB_dbi             docs;
    MDB_dbi             contexts;
    MDB_dbi             messages;
    MDB_dbi             link_stats;
    MDB_dbi             visits;
    unsigned            flags;
    unsigned            schema;
    unsigned            rlive;
    unsigned            has_sessions;
    unsigned            has_context;
    unsigned            has_stats;
    unsigned            has_visits;
    unsigned            shared;        /* the environment is another's */
    unsigned            shares_busy;   /* shared handles on other threads
                                          (mcp_store_share_busy()) */
    uint64_t            pages;
    unsigned            psize;         /* the environment's page size, read
                                          at open: it never changes */
    const mcp_store_quota_t  *quotas;
    size_t              nquotas;
    unsigned            refused;       /* the last MCP_STORE_QUOTA's */
    uint64_t            refused_limit;
    size_t              sweep_len;
    char                sweep[MCP_STORE_CODE_MAX];
    uint64_t            backed;        /* data.mdb reserved up to here
                                          (mcp_store_back()) */
    size_t              random_pos;    /* the next unused byte */
    unsigned char       random[MCP_STORE_RANDOM_POOL];
    /* the last mcp_store_op_commit(): each operation's outcome, for
     * mcp_store_op_committed(), ncommitted of them in done (0 after a
     * failed commit) and their detail; the room of both is kept for the
     * next commit */
    void               *done;
    size_t              ndone;         /* its room, in operations */
    size_t              ncommitted;
    uint64_t           *detail;
    size_t              ndetail;       /* its room, in words */
    mcp_store_txn_t     txn;
};


/* LMDB names of the databases and of the schema record */
#define MCP_STORE_DB_META         "meta"
#define MCP_STORE_DB_LINKS        "links"
#define MCP_STORE_DB_SESSIONS     "sessions"
#define MCP_STORE_DB_ENTITIES     "entities"
#define MCP_STORE_DB_RELATIONS    "relations"
#define MCP_STORE_DB_RELATIONS_TO "relations_to"
#define MCP_STORE_DB_POSTINGS     "postings"
#define MCP_STORE_DB_DOCS         "docs"
#define MCP_STORE_DB_CONTEXTS     "contexts"
#define MCP_STORE_DB_MESSAGES     "messages"
#define MCP_STORE_DB_LINK_STATS   "link_stats"
#define MCP_STORE_DB_VISITS       "visits"
#define MCP_STORE_KEY_SCHEMA      "schema"


/* mcp_store.c: LMDB return codes and transactions */

int mcp_store_rc(int mdb_rc);
int mcp_store_read_begin(mcp_store_t *s, MDB_txn **txn);

/*
 * mcp_store_write_begin() begins a write transaction and counts the pages
 * in use; mcp_store_write_end() commits it if rc is MCP_STORE_OK and the
 * reserve allows (see MCP_STORE_RESERVE_SHARE), aborts it otherwise, and
 * returns the outcome.
 */
int mcp_store_write_begin(mcp_store_t *s, MDB_txn **txn);
int mcp_store_write_end(mcp_store_t *s, MDB_txn *txn, int rc);

/*
 * mcp_store_write_small() begins a write transaction of one record of
 * at most len bytes and its counters, which counts the pages in use only
 * when the file has grown to within MCP_STORE_SMALL_PAGES (and len) of
 * the limit; pages is then MCP_STORE_PAGES_FAR, and
 * mcp_store_write_end() does not count them either.
 */
#define MCP_STORE_SMALL_PAGES     256
#define MCP_STORE_PAGES_FAR       UINT64_MAX

/*
 * mcp_store_random_link_code(): mcp_store_random_code() from bytes kept
 * in the handle, refilled by getrandom() when used up.
 */
int mcp_store_random_link_code(mcp_store_t *s, char *buf, size_t len);

int mcp_store_write_small(mcp_store_t *s, size_t len, MDB_txn **txn);

/*
 * mcp_store_write_room(): the reserve's check for a nested transaction of
 * a write transaction begun by mcp_store_write_begin(), before it is
 * committed into its parent: MCP_STORE_FULL if it grew the store past
 * what writes other than deletes may use.
 */
int mcp_store_write_room(mcp_store_t *s, MDB_txn *txn);

/*
 * mcp_store_nested_end(): ends child, a nested transaction of such a
 * write, given rc, the result of its work: committed into its parent when
 * rc is MCP_STORE_OK and mcp_store_write_room() finds room, else aborted.
 * Returns what decided (rc, the room check's or the commit's result).
 */
int mcp_store_nested_end(mcp_store_t *s, MDB_txn *child, int rc);

/*
 * Keys (link codes, session ids) are 1 to MCP_STORE_CODE_MAX bytes:
 * mcp_store_key() points k at key, or is MCP_STORE_EINVAL.
 *
 * mcp_store_key_begin() starts a write to the record under key: checks s
 * and the key, points k at it and begins the write transaction.
 *
 * The records under such keys are of a kind: a link (mcp_store_link_t) in
 * "links", or a session (mcp_store_session_t) in "sessions", which a
 * read-only handle to a store older than it does not have (every key is
 * MCP_STORE_NOTFOUND there).
 *
 * mcp_store_key_read() reads the record of a kind under key in the
 * handle's read snapshot, decoded into rec.  On success the snapshot
 * stays open (rec's strings point into it); on failure it is released.
 *
 * mcp_store_key_delete() deletes the record of a kind under key, in a
 * write transaction of its own: MCP_STORE_NOTFOUND if there is none.
 *
 * mcp_store_record_get() reads the record of a kind under key in the write
 * transaction txn, decoded into rec, and points k at the key: a key that
 * cannot be one is MCP_STORE_NOTFOUND (no record has it).
 */

#define MCP_STORE_RECORD_LINK     0
#define MCP_STORE_RECORD_SESSION  1

int mcp_store_key(MDB_val *k, const char *key, size_t key_len);
int mcp_store_key_begin(mcp_store_t *s, const char *key, size_t key_len,
    MDB_txn **txn, MDB_val *k);
int mcp_store_key_read(mcp_store_t *s, unsigned kind, const char *key,
    size_t key_len, void *rec);
int mcp_store_key_delete(mcp_store_t *s, unsigned kind, const char *key,
    size_t key_len);
int mcp_store_record_get(mcp_store_t *s, MDB_txn *txn, unsigned kind,
    const char *key, size_t key_len, MDB_val *k, void *rec);


/*
 * mcp_store_cursor_begin() opens a cursor on dbi in the handle's read
 * snapshot.  mcp_store_cursor_end() closes it, lets the snapshot go, and
 * turns mdb_rc, what the last mdb_cursor_get() returned, into ours:
 * MDB_NOTFOUND, the end of the database, is success.
 */

int mcp_store_cursor_begin(mcp_store_t *s, MDB_dbi dbi, MDB_cursor **cur);
int mcp_store_cursor_end(mcp_store_t *s, MDB_cursor *cur, int mdb_rc);


/*
 * mcp_store_batch() runs one write transaction over a batch of n entries,
 * calling one() for entry i.  An entry for which one() returns
 * MCP_STORE_NOTFOUND or MCP_STORE_ECORRUPT is skipped; any other failure
 * aborts the whole batch.  An empty batch is a success that writes nothing.
 */

typedef int (*mcp_store_batch_pt)(mcp_store_t *s, MDB_txn *txn,
    const void *batch, size_t i);

int mcp_store_batch(mcp_store_t *s, const void *batch, size_t n,
    mcp_store_batch_pt one);


/*
 * mcp_store_link.c: what the cluster's applier shares with the library's
 * own writes, in the write transaction txn.
 *
 * mcp_store_visit_add() adds one entry of a visit batch to its link's
 * counter (see mcp_store_link_add_visits()): MCP_STORE_NOTFOUND if the
 * link is gone (or the code cannot be one).  Every per-code count kept at
 * the visit flush is written here.
 *
 * mcp_store_link_use() counts one visit of a link with max_visits, read
 * (as a record, without its counter) under key: MCP_STORE_EXPIRED or
 * MCP_STORE_SPENT, and no change, as mcp_store_link_consume().
 *
 * mcp_store_link_del() deletes the link under key, its counter and its
 * statistics.
 */

int mcp_store_visit_add(mcp_store_t *s, MDB_txn *txn,
    const mcp_store_visit_t *v);
int mcp_store_link_use(mcp_store_t *s, MDB_txn *txn, MDB_val *key,
    const mcp_store_link_t *link, int64_t now);
int mcp_store_link_del(mcp_store_t *s, MDB_txn *txn, MDB_val *key);


/*
 * mcp_store_codec.c: records as msgpack.
 *
 * The encoders return the encoded length and write buf only if that
 * length fits in size (buf may be NULL when size is 0), like snprintf().
 * The decoders accept exactly one well-formed record of the expected shape
 * filling all of len bytes, and return MCP_STORE_ECORRUPT otherwise.
 * A decoded link's url, and a decoded session's strings, point into data.
 */

size_t mcp_store_link_encode(const mcp_store_link_t *link, char *buf,
    size_t size);
int mcp_store_link_decode(const void *data, size_t len,
    mcp_store_link_t *link);
size_t mcp_store_schema_encode(uint64_t version, char *buf, size_t size);
int mcp_store_schema_decode(const void *data, size_t len, uint64_t *version);
/*
 * Session records are encoded on the stack before the put, which copies
 * them: never straight into the map, for the reason given in
 * mcp_store_link.c.
 * Their strings are bounded, and so are they: the array header, four
 * integers of at most 9 bytes, three strings with headers of at most 3,
 * and the tenant with its header of 2.
 */
#define MCP_STORE_SESSION_BUF                                                 \
    (1 + 4 * 9 + 3 * (3 + MCP_STORE_SESSION_STR_MAX)                          \
     + 2 + MCP_STORE_SCOPE_MAX)

size_t mcp_store_session_encode(const mcp_store_session_t *session,
    char *buf, size_t size);
int mcp_store_session_decode(const void *data, size_t len,
    mcp_store_session_t *session);

/* the decoder of a kind of record (MCP_STORE_RECORD_LINK, ...) */
int mcp_store_record_decode(unsigned kind, const void *data, size_t len,
    void *rec);

/*
 * n uints: one bare uint when n is 1, else an array (n at most
 * MCP_STORE_UINTS_MAX to decode).
 */

#define MCP_STORE_UINTS_MAX       4

size_t mcp_store_uints_encode(const uint64_t *v, size_t n, char *buf,
    size_t size);
int mcp_store_uints_decode(const void *data, size_t len, uint64_t *v,
    size_t n);

/*
 * An entity's record holds all but its name.  Decoding fills
 * e->observations (the caller's array) up to cap entries, sets
 * e->nobservations to how many it filled and *total (may be NULL) to how
 * many there are; the strings point into data.
 */
size_t mcp_store_entity_encode(const mcp_store_entity_t *e, char *buf,
    size_t size);
int mcp_store_entity_decode(const void *data, size_t len,
    mcp_store_entity_t *e, size_t cap, size_t *total);
size_t mcp_store_relation_encode(int64_t created_at, char *buf, size_t size);
int mcp_store_relation_decode(const void *data, size_t len,
    int64_t *created_at);

/*
 * A context's record holds all but its id, a message's all but its seq:
 * decoding leaves those fields as they are.  The strings point into data.
 */
size_t mcp_store_context_encode(const mcp_store_context_t *c, char *buf,
    size_t size);
int mcp_store_context_decode(const void *data, size_t len,
    mcp_store_context_t *c);
size_t mcp_store_message_encode(const mcp_store_message_t *m, char *buf,
    size_t size);
int mcp_store_message_decode(const void *data, size_t len,
    mcp_store_message_t *m);


/*
 * The codec's writer and strict reader, for records of other files (the
 * cluster's operations): the writer counts and copies like the encoders
 * above; each reader takes one value of its type and returns 0, or -1 for
 * bytes of any other shape.  Strings read point into the data.
 */

typedef struct {
    char                *pos;
    char                *end;
    size_t               len;
} mcp_store_wbuf_t;

typedef struct {
    const unsigned char *pos;
    const unsigned char *end;
} mcp_store_rbuf_t;

void mcp_store_wbuf_init(mcp_store_wbuf_t *w, msgpack_packer *pk, char *buf,
    size_t size);
void mcp_store_pack_str(msgpack_packer *pk, const char *str, size_t len);
int mcp_store_rbuf_init(mcp_store_rbuf_t *r, const void *data, size_t len);
int mcp_store_read_array(mcp_store_rbuf_t *r, uint64_t *n);
int mcp_store_read_str(mcp_store_rbuf_t *r, const char **str, size_t *len);
int mcp_store_read_int64(mcp_store_rbuf_t *r, int64_t *v);
int mcp_store_read_uint64(mcp_store_rbuf_t *r, uint64_t *v);
int mcp_store_skip(mcp_store_rbuf_t *r, unsigned depth);


/*
 * mcp_store_link.c: one link written inside a write transaction of the
 * caller's (flags for mdb_put(): MDB_NOOVERWRITE makes a taken code
 * MCP_STORE_EXISTS); mcp_store_link_change_fields() is the change of
 * mcp_store_link_update() to the link cur read under key in txn.
 */

int mcp_store_link_write(mcp_store_t *s, MDB_txn *txn, MDB_val *key,
    const mcp_store_link_t *link, unsigned flags);
int mcp_store_link_change_fields(mcp_store_t *s, MDB_txn *txn, MDB_val *key,
    mcp_store_link_t *cur, const char *tenant, size_t tenant_len,
    const mcp_store_link_t *link, unsigned set);

/*
 * mcp_store_link.c: 1 if link is one to store (its url, tenant, redirect
 * status and tags as mcp_store_link_t says), else 0.
 */

int mcp_store_link_valid(const mcp_store_link_t *link);

/*
 * mcp_store_stats.c: a link's visit counter and statistics (see
 * mcp_store_visit_t), inside a write transaction of the caller's.
 *
 * mcp_store_totals_get() reads the link's totals under code into totals
 * (MCP_STORE_TOTALS uints: bots, hosts, visits, last visit, people's
 * visits with no referrer, the latest day counted and its people's
 * visits), all 0 and
 * MCP_STORE_NOTFOUND if it has none (or the code holds a NUL).  Totals
 * are only written for a link that is there, and deleted with it: found,
 * they say the link is there.  mcp_store_totals_put() writes them
 * (MCP_STORE_EINVAL for a code with a NUL: it cannot have any).
 *
 * mcp_store_stats_add() adds the statistics of one batch entry: its
 * per-day and per-referrer keys, and its bots and new hosts to totals,
 * which the caller writes.  mcp_store_stats_delete() deletes all of a
 * link's, its counter with them.  mcp_store_stats_upgrade() moves the
 * counters of a schema 2 store ("visits") and the keys of no referrer
 * into the totals, and drops "visits".
 */

#define MCP_STORE_TOTALS          7

/* a totals record at most: its key (code, NUL, kind), its uints */
#define MCP_STORE_TOTALS_BUF                                                  \
    (MCP_STORE_CODE_MAX + 2 + 1 + MCP_STORE_TOTALS * 9)

int mcp_store_totals_get(mcp_store_t *s, MDB_txn *txn, const char *code,
    size_t code_len, uint64_t *totals);
int mcp_store_totals_put(mcp_store_t *s, MDB_txn *txn, const char *code,
    size_t code_len, const uint64_t *totals);
int mcp_store_stats_add(mcp_store_t *s, MDB_txn *txn,
    const mcp_store_visit_t *v, uint64_t *totals);
int mcp_store_stats_delete(mcp_store_t *s, MDB_txn *txn, const char *code,
    size_t code_len);
int mcp_store_stats_upgrade(mcp_store_t *s, MDB_txn *txn);

/* a + b, or UINT64_MAX if that is more: counts saturate, never wrap */
uint64_t mcp_store_add_sat(uint64_t a, uint64_t b);


/*
 * mcp_store_link.c: mcp_store_link_list_tenant() with a choice of what to
 * do with records that do not decode.  The public function skips them;
 * with MCP_STORE_WALK_CORRUPT they are passed to cb with link NULL, and
 * count towards limit, which is what "mcp-store check" needs (only when
 * tenant_len is 0: a record that does not decode has no owner).  With
 * MCP_STORE_WALK_PREFIX, after is a prefix instead, as for
 * mcp_store_link_prefix(): the walk starts at the first code that starts
 * with it, and ends after the last.
 */

#define MCP_STORE_WALK_CORRUPT    0x01
#define MCP_STORE_WALK_PREFIX     0x02

int mcp_store_link_walk(mcp_store_t *s, const char *tenant,
    size_t tenant_len, const char *after, size_t after_len, size_t limit,
    mcp_store_link_cb cb, void *data, int *more, unsigned walk);

/*
 * mcp_store_txn.c: is tenant one that links, sessions and scopes may have
 * (1 to MCP_STORE_SCOPE_MAX bytes of [A-Za-z0-9_.-])?  tenant_len 0 is
 * accepted too when empty_ok: "the default one".
 */

int mcp_store_tenant_valid(const char *tenant, size_t tenant_len,
    int empty_ok);


/*
 * mcp_store_session.c: every session in id order, for "mcp-store
 * sessions".  A record that does not decode is passed to cb with session
 * NULL.  Uses the handle's read transaction; cb must not call other
 * functions on s, and returns non-zero to stop.
 */

typedef int (*mcp_store_session_cb)(void *data, const char *id,
    size_t id_len, const mcp_store_session_t *session);

int mcp_store_session_walk(mcp_store_t *s, mcp_store_session_cb cb,
    void *data);

/*
 * mcp_store_session.c: raises the last-seen time of the session of entry
 * i of a batch of mcp_store_touch_t, in txn: MCP_STORE_NOTFOUND for a
 * session that is gone, MCP_STORE_ECORRUPT for one that does not decode.
 */

int mcp_store_session_touch_one(mcp_store_t *s, MDB_txn *txn,
    const void *batch, size_t i);

/*
 * mcp_store_session.c: deletes, in txn, up to max sessions idle since
 * before idle_before (and records that do not decode), in id order from
 * the id from (from_len 0: the first), looking at most at MCP_STORE_WORK
 * of them; *removed gets how many.  When it stops before the end, next
 * (MCP_STORE_CODE_MAX bytes) gets the id to go on from, and *next_len its
 * length, else 0.  After mdb_cursor_del() the cursor's MDB_NEXT is the
 * record that followed the deleted one.
 */

int mcp_store_session_sweep(mcp_store_t *s, MDB_txn *txn, const char *from,
    size_t from_len, int64_t idle_before, size_t max, size_t *removed,
    char *next, size_t *next_len);


/*
 * mcp_store_txn.c: the context store's transactions and keys.
 *
 * A key being built: the scope (tenant NUL namespace NUL), then the parts
 * of the record's name, each but the last followed by a NUL (nul 1).
 * LMDB keys are at most MCP_STORE_KEY_MAX bytes (its default
 * MDB_MAXKEYSIZE): a longer one is MCP_STORE_ETOOBIG.
 *
 * mcp_store_kbuf_scope() starts kb with the scope: MCP_STORE_EINVAL unless
 * the tenant is 1 to MCP_STORE_SCOPE_MAX bytes and the namespace 0 to
 * MCP_STORE_SCOPE_MAX, all of [A-Za-z0-9_.-].
 *
 * mcp_store_name_valid() accepts a name (entity, type, context id) of 1 to
 * MCP_STORE_NAME_MAX bytes without a NUL (a NUL would run into the next
 * part of the key): MCP_STORE_EINVAL for an empty one or a NUL in it,
 * MCP_STORE_ETOOBIG for a long one.  mcp_store_kbuf_name() checks it so
 * and appends it.
 */

#define MCP_STORE_KEY_MAX         511

typedef struct {
    size_t       len;
    char         data[MCP_STORE_KEY_MAX];
} mcp_store_kbuf_t;

int mcp_store_kbuf_scope(mcp_store_kbuf_t *kb, const mcp_store_scope_t *sc);
int mcp_store_kbuf_add(mcp_store_kbuf_t *kb, const void *data, size_t len,
    int nul);
int mcp_store_name_valid(const char *name, size_t len);
int mcp_store_kbuf_name(mcp_store_kbuf_t *kb, const char *name, size_t len,
    int nul);
void mcp_store_kbuf_val(const mcp_store_kbuf_t *kb, MDB_val *key);


/*
 * mcp_store_txn_alloc() gives size bytes (aligned for any type) that the
 * transaction owns until it ends, or NULL when out of memory.
 * mcp_store_txn_keep() returns data itself in a read-only transaction, a
 * copy that the transaction owns in a write transaction (NULL when out of
 * memory): what a function hands out from a write transaction must go
 * through it, as later writes may move the pages it was read from.
 *
 * mcp_store_txn_get() and mcp_store_txn_cursor() read one of the context
 * store's databases; a handle without them (has_context 0) finds nothing
 * (MCP_STORE_NOTFOUND).
 *
 * mcp_store_scan() moves cur with op (MDB_SET_RANGE with key set to where
 * to start, then MDB_NEXT) and returns what mdb_cursor_get() did, or
 * MDB_NOTFOUND once the key does not start with prefix: a prefix scan.
 */

/* the MDB_txn of a context-store transaction */
MDB_txn *mcp_store_txn_mdb(mcp_store_txn_t *t);

/*
 * mcp_store_txn_wrap() makes the handle's transaction a context-store
 * transaction over mdb, a write transaction of the caller's (a cluster's
 * apply), with a whole work budget; mcp_store_txn_unwrap() frees what it
 * owns and leaves mdb to the caller to commit or abort.
 */
mcp_store_txn_t *mcp_store_txn_wrap(mcp_store_t *s, MDB_txn *mdb);
void mcp_store_txn_unwrap(mcp_store_txn_t *t);

/*
 * mcp_store_work() spends n units of the transaction's work budget (see
 * mcp_store_txn_spent()), never below none left.
 */
void mcp_store_work(mcp_store_txn_t *t, uint64_t n);

void *mcp_store_txn_alloc(mcp_store_txn_t *t, size_t size);
const void *mcp_store_txn_keep(mcp_store_txn_t *t, const void *data,
    size_t len);
int mcp_store_txn_get(mcp_store_txn_t *t, MDB_dbi dbi,
    const mcp_store_kbuf_t *kb, MDB_val *val);
int mcp_store_txn_cursor(mcp_store_txn_t *t, MDB_dbi dbi, MDB_cursor **cur);
int mcp_store_scan(MDB_cursor *cur, MDB_cursor_op op, const void *prefix,
    size_t prefix_len, MDB_val *key, MDB_val *val);


/*
 * mcp_store_index.c: the full-text index of the context store, kept in
 * the same write transaction as the records it indexes.
 *
 * A document is (scope, kind, doc id): kind MCP_STORE_DOC_ENTITY with the
 * entity name as id, or MCP_STORE_DOC_MESSAGE with "<context id>\0<seq as
 * 8 bytes big-endian>".  Tokens: UTF-8 text lower-cased (ASCII letters;
 * other bytes kept whole, never splitting a multi-byte character), split
 * on ASCII non-alphanumerics, stop words dropped.  BM25 with k1 1.2 and
 * b 0.75 over per-scope-and-kind document counts and lengths.
 */

#define MCP_STORE_DOC_ENTITY      'e'
#define MCP_STORE_DOC_MESSAGE     'm'

typedef int (*mcp_store_token_cb)(void *data, const char *token, size_t len);

/* calls cb for each token of text but stop words; returns how many */
size_t mcp_store_tokenize(const char *text, size_t len, mcp_store_token_cb cb,
    void *data);

/* the same, stop words too when all is set */
size_t mcp_store_tokens_of(const char *text, size_t len, int all,
    mcp_store_token_cb cb, void *data);

/*
 * Adds or removes the postings of text for a document; removing takes the
 * text that was indexed.  Several texts may be added for one document
 * (they count as one document of their summed length).
 */
int mcp_store_index_add(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    char kind, const char *doc, size_t doc_len, const char *text,
    size_t text_len);
int mcp_store_index_remove(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    char kind, const char *doc, size_t doc_len, const char *text,
    size_t text_len);

/*
 * BM25 search among the documents of a kind whose id starts with
 * doc_prefix (doc_prefix_len 0: all of the scope's).  As
 * mcp_store_entity_search(), with hits' doc the whole document id.
 */
int mcp_store_index_search(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    char kind, const char *doc_prefix, size_t doc_prefix_len,
    const char *query, size_t query_len, size_t offset, mcp_store_hit_t *hits,
    size_t cap, size_t *nhits, size_t *total);


/*
 * mcp_store_quota.c: mcp_store_usage_add() adds count to the tenant's
 * usage of which (MCP_STORE_QUOTA_LINKS, _ENTITIES or _MESSAGES) and
 * bytes to its bytes, in txn: MCP_STORE_QUOTA when a rise goes over a
 * limit of the handle's quotas, and then the caller's write must not
 * commit.  tenant_len 0: MCP_STORE_TENANT_DEFAULT.
 *
 * mcp_store_usage_init() counts the usage of a store that has none, in
 * the transaction that opens it for writing.
 */

int mcp_store_usage_add(mcp_store_t *s, MDB_txn *txn, const char *tenant,
    size_t tenant_len, unsigned which, int64_t count, int64_t bytes);
int mcp_store_usage_init(mcp_store_t *s, MDB_txn *txn);

/*
 * mcp_store_context.c: mcp_store_context_expire() inside the caller's
 * write transaction.
 */
int mcp_store_context_expire_txn(mcp_store_txn_t *t, int64_t now,
    size_t max, size_t *removed, int *more);

/* mcp_store_graph.c: what an entity counts towards its tenant's bytes */
size_t mcp_store_entity_bytes(size_t name_len, const mcp_store_entity_t *e);

/*
 * What a relation counts: from, type and to, the bytes of its key (either
 * way round) after the scope's base bytes and but its two separators.
 */
#define MCP_STORE_REL_BYTES(key_len, base)                                    \
    (((key_len) >= (base) + 2) ? (key_len) - (base) - 2 : 0)


#endif /* _MCP_STORE_INT_H_INCLUDED_ */
