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
 */

struct mcp_store_s {
    MDB_env     *env;
    MDB_txn     *rtxn;
    MDB_dbi      meta;
    MDB_dbi      links;
    unsigned     flags;
    unsigned     schema;
    unsigned     rlive;
};


/* LMDB names of the databases and of the schema record */
#define MCP_STORE_DB_META         "meta"
#define MCP_STORE_DB_LINKS        "links"
#define MCP_STORE_KEY_SCHEMA      "schema"


/* mcp_store.c: LMDB return codes and transactions */

int mcp_store_rc(int mdb_rc);
int mcp_store_read_begin(mcp_store_t *s, MDB_txn **txn);
int mcp_store_write_begin(mcp_store_t *s, MDB_txn **txn);
int mcp_store_write_end(mcp_store_t *s, MDB_txn *txn, int rc);


/*
 * mcp_store_codec.c: records as msgpack.
 *
 * The encoders return the encoded length and write buf only if that
 * length fits in size (buf may be NULL when size is 0), like snprintf().
 * The decoders accept exactly one well-formed record of the expected shape
 * filling all of len bytes, and return MCP_STORE_ECORRUPT otherwise.
 * A decoded link's url points into data.
 */

size_t mcp_store_link_encode(const mcp_store_link_t *link, char *buf,
    size_t size);
int mcp_store_link_decode(const void *data, size_t len,
    mcp_store_link_t *link);
size_t mcp_store_schema_encode(uint64_t version, char *buf, size_t size);
int mcp_store_schema_decode(const void *data, size_t len, uint64_t *version);


/*
 * mcp_store_link.c: mcp_store_link_list() with a choice of what to do with
 * records that do not decode.  The public function skips them; with
 * MCP_STORE_WALK_CORRUPT they are passed to cb with link NULL, and count
 * towards limit, which is what "mcp-store check" needs.
 */

#define MCP_STORE_WALK_CORRUPT    0x01

int mcp_store_link_walk(mcp_store_t *s, const char *after, size_t after_len,
    size_t limit, mcp_store_link_cb cb, void *data, int *more,
    unsigned walk);


#endif /* _MCP_STORE_INT_H_INCLUDED_ */
