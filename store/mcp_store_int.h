/*
 * mcp_store internals, shared by the library's own files, its unit tests
 * and the mcp-store tool.  Not part of the public API: the nginx module
 * includes mcp_store.h only.
 */

#ifndef _MCP_STORE_INT_H_INCLUDED_
#define _MCP_STORE_INT_H_INCLUDED_


#include <lmdb.h>

#include "mcp_store.h"


/*
 * The handle.  rtxn is begun once at open and is either reset (rlive 0)
 * or renewed (rlive 1).  A successful mcp_store_link_get() leaves it
 * renewed, because the url it hands out lives in that snapshot: once the
 * transaction is reset, a writer in another process may reuse the page.
 * mcp_store_release() or the next call on the handle resets it.
 *
 * has_sessions is 0 only on a read-only handle to a store written before
 * the "sessions" database existed: it has no sessions to read.
 */

struct mcp_store_s {
    MDB_env     *env;
    MDB_txn     *rtxn;
    MDB_dbi      meta;
    MDB_dbi      links;
    MDB_dbi      sessions;
    unsigned     flags;
    unsigned     schema;
    unsigned     rlive;
    unsigned     has_sessions;
};


/* LMDB names of the databases and of the schema record */
#define MCP_STORE_DB_META         "meta"
#define MCP_STORE_DB_LINKS        "links"
#define MCP_STORE_DB_SESSIONS     "sessions"
#define MCP_STORE_KEY_SCHEMA      "schema"


/* mcp_store.c: LMDB return codes and transactions */

int mcp_store_rc(int mdb_rc);
int mcp_store_read_begin(mcp_store_t *s, MDB_txn **txn);
int mcp_store_write_begin(mcp_store_t *s, MDB_txn **txn);
int mcp_store_write_end(mcp_store_t *s, MDB_txn *txn, int rc);

/*
 * Keys (link codes, session ids) are 1 to MCP_STORE_CODE_MAX bytes:
 * mcp_store_key() points k at key, or is MCP_STORE_EINVAL.
 *
 * mcp_store_key_begin() starts a write to the record under key: checks s
 * and the key, points k at it and begins the write transaction.
 *
 * mcp_store_key_get() looks key up in *dbi (dbi NULL: a database the store
 * does not have, where every key is MCP_STORE_NOTFOUND) in the handle's
 * read snapshot.  On success *val points into the snapshot, which stays
 * open; on failure it is released.
 *
 * mcp_store_key_delete() deletes the record under key in dbi, in a write
 * transaction of its own: MCP_STORE_NOTFOUND if there is none.
 */

int mcp_store_key(MDB_val *k, const char *key, size_t key_len);
int mcp_store_key_begin(mcp_store_t *s, const char *key, size_t key_len,
    MDB_txn **txn, MDB_val *k);
int mcp_store_key_get(mcp_store_t *s, const MDB_dbi *dbi, const char *key,
    size_t key_len, MDB_val *val);
int mcp_store_key_delete(mcp_store_t *s, MDB_dbi dbi, const char *key,
    size_t key_len);


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
size_t mcp_store_session_encode(const mcp_store_session_t *session,
    char *buf, size_t size);
int mcp_store_session_decode(const void *data, size_t len,
    mcp_store_session_t *session);


/*
 * mcp_store_link.c: mcp_store_link_list() with a choice of what to do with
 * records that do not decode.  The public function skips them; with
 * MCP_STORE_WALK_CORRUPT they are passed to cb with link NULL, and count
 * towards limit, which is what "mcp-store check" needs.  With
 * MCP_STORE_WALK_PREFIX, after is a prefix instead, as for
 * mcp_store_link_prefix(): the walk starts at the first code that starts
 * with it, and ends after the last.
 */

#define MCP_STORE_WALK_CORRUPT    0x01
#define MCP_STORE_WALK_PREFIX     0x02

int mcp_store_link_walk(mcp_store_t *s, const char *after, size_t after_len,
    size_t limit, mcp_store_link_cb cb, void *data, int *more,
    unsigned walk);


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

/* calls cb for each token of text; returns how many */
size_t mcp_store_tokenize(const char *text, size_t len, mcp_store_token_cb cb,
    void *data);

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

/* the MDB_txn of a context-store transaction */
MDB_txn *mcp_store_txn_mdb(mcp_store_txn_t *t);


#endif /* _MCP_STORE_INT_H_INCLUDED_ */
