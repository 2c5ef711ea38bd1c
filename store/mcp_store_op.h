/*
 * mcp_store operations: the writes of a cluster, as records.
 *
 * In a cluster every write is first an operation appended to a shared,
 * ordered log (the module publishes it to a NATS JetStream stream); every
 * node then applies every operation, in log order, to its own store with
 * mcp_store_op_apply().  Applying is deterministic: an operation carries
 * everything that was chosen when it was taken (codes, times, tenant), so
 * the outcome depends only on the operation and on the state before it,
 * and every node reaches the same state.
 *
 * Each apply records the log sequence of the operation in the same write
 * transaction as its changes ("cluster.applied" in the "meta" database):
 * after a crash a node resumes after the last operation it committed,
 * and an operation delivered twice is applied once.
 *
 * The node that took an operation needs its outcome (a 201 or a 409 for
 * an alias, a 410 for a link out of visits).  Whoever of that node's
 * processes applies it records the outcome under its sequence in "meta"
 * too, for the operations whose node is the applier's own: the process
 * that waits reads it there if another process of the node came first.
 * Only the outcomes of about the last MCP_STORE_OP_RESULTS entries are
 * kept.
 */

#ifndef _MCP_STORE_OP_H_INCLUDED_
#define _MCP_STORE_OP_H_INCLUDED_


#include "mcp_store.h"


/* What an operation does. */
#define MCP_STORE_OP_LINK_PUT      1   /* code, link: MCP_STORE_EXISTS if
                                          the code is taken */
#define MCP_STORE_OP_LINK_DELETE   2   /* code, link.tenant (empty: any
                                          owner): MCP_STORE_NOTFOUND if
                                          none the tenant owns */
#define MCP_STORE_OP_LINK_CONSUME  3   /* code, now: one visit of a link
                                          with max_visits, as
                                          mcp_store_link_consume() */
#define MCP_STORE_OP_LINK_VISITS   4   /* batched visit counts, as
                                          mcp_store_link_add_visits() */
#define MCP_STORE_OP_SESSION_PUT   5   /* code (the id), session:
                                          MCP_STORE_EXISTS if taken */
#define MCP_STORE_OP_SESSION_DELETE 6  /* code: MCP_STORE_NOTFOUND if none */
#define MCP_STORE_OP_SESSION_LEVEL 7   /* code, session.log_level: sets it,
                                          MCP_STORE_NOTFOUND if none */
#define MCP_STORE_OP_SESSION_TOUCH 8   /* batched last-seen times, as
                                          mcp_store_session_touch() */
#define MCP_STORE_OP_SESSION_EXPIRE 9  /* now (sessions idle since before
                                          it), max: deletes up to max idle
                                          sessions, in id order from the
                                          first, looking at most at
                                          MCP_STORE_WORK of them */

#define MCP_STORE_OP_MEMORY       10  /* scope, now, steps: the writes of
                                          one memory or context tool call,
                                          all or none (see below) */
#define MCP_STORE_OP_CONTEXT_EXPIRE 11 /* now, max: as
                                          mcp_store_context_expire() */
#define MCP_STORE_OP_LINK_UPDATE  12   /* code, link.tenant (empty: any
                                          owner), set, link: as
                                          mcp_store_link_update() */

/*
 * The steps of a MEMORY operation, each one call of the context store
 * (mcp_store.h) in the operation's scope, at its time now:
 */
#define MCP_STORE_STEP_ENTITY_CREATE   1   /* name, type, texts */
#define MCP_STORE_STEP_RELATION_CREATE 2   /* name (from), type, text (to) */
#define MCP_STORE_STEP_RELATION_DELETE 3   /* name (from), type, text (to) */
#define MCP_STORE_STEP_OBS_ADD         4   /* name, text */
#define MCP_STORE_STEP_OBS_DELETE      5   /* name, text */
#define MCP_STORE_STEP_ENTITY_DELETE   6   /* name */
#define MCP_STORE_STEP_MESSAGE_APPEND  7   /* name (context), text
                                              (content), role, pinned,
                                              ttl */
#define MCP_STORE_STEP_CONTEXT_DELETE  8   /* name (context) */

/* steps of one operation at most */
#define MCP_STORE_OP_STEPS_MAX     16384

/* what a step tells at most (see mcp_store_step_run()) */
#define MCP_STORE_STEP_OUT         5

/*
 * A step.  texts are the observations of ENTITY_CREATE: to encode,
 * ntexts of them in texts; decoded, ntexts of them where texts_at says
 * (read by mcp_store_step_run()).
 */
typedef struct {
    unsigned                    kind;
    const char                 *name;
    size_t                      name_len;
    const char                 *type;
    size_t                      type_len;
    const char                 *text;
    size_t                      text_len;
    unsigned                    role;
    unsigned                    pinned;
    int64_t                     ttl;
    const mcp_store_observation_t  *texts;
    size_t                      ntexts;
    const void                 *texts_at;
    size_t                      texts_len;
} mcp_store_step_t;

/* node names are at most this long */
#define MCP_STORE_OP_NODE_MAX      64

/* outcomes kept per node for the processes that wait for them */
#define MCP_STORE_OP_RESULTS       4096


/*
 * An operation.  node and id name who took it: id is unique among the
 * node's operations in flight.  Strings are not NUL-terminated; decoded,
 * they point into the data decoded.  visits are read with
 * mcp_store_op_visit() from a decoded operation.
 */
typedef struct {
    unsigned                    kind;
    const char                 *node;
    size_t                      node_len;
    uint64_t                    id;

    const char                 *code;       /* or session id */
    size_t                      code_len;
    mcp_store_link_t            link;       /* LINK_PUT; tenant for
                                               LINK_DELETE */
    mcp_store_session_t         session;    /* SESSION_PUT; log_level
                                               for SESSION_LEVEL */
    int64_t                     now;        /* LINK_CONSUME, MEMORY,
                                               SESSION_EXPIRE,
                                               CONTEXT_EXPIRE */
    uint64_t                    max;        /* SESSION_EXPIRE,
                                               CONTEXT_EXPIRE */
    unsigned                    set;        /* LINK_UPDATE */
    mcp_store_scope_t           scope;      /* MEMORY */
    const mcp_store_step_t     *steps;      /* MEMORY, to encode */

    /* the entries of LINK_VISITS, SESSION_TOUCH or MEMORY: to encode,
     * visits, touches or steps; decoded, where they are (see
     * mcp_store_op_visit()) */
    const mcp_store_visit_t    *visits;
    const mcp_store_touch_t    *touches;
    size_t                      nitems;
    const void                 *items_at;
    size_t                      items_len;
} mcp_store_op_t;


/*
 * Encodes op into buf: returns the encoded length, writing buf only if
 * it fits in size (buf may be NULL when size is 0), like snprintf().
 * Operations encoded one after another make a batch: a log entry may hold
 * up to MCP_STORE_OP_BATCH_MAX of them, applied in order.
 */
size_t mcp_store_op_encode(const mcp_store_op_t *op, char *buf, size_t size);

#define MCP_STORE_OP_BATCH_MAX     256

/*
 * Decodes the operation at the start of data (len bytes): *used receives
 * its length, where the next one of a batch starts.  MCP_STORE_ECORRUPT
 * for bytes of any other shape or an unknown version.  Fields after those
 * this version knows are skipped, and an operation of a kind it does not
 * know decodes with only its head (kind, node, id): applying it is
 * MCP_STORE_EINVAL, on every node of this version alike, and the
 * operations after it in the entry are applied.  A newer version adds
 * fields at the end and kinds; it never changes those here.
 */
int mcp_store_op_decode(const void *data, size_t len, mcp_store_op_t *op,
    size_t *used);

/*
 * The next entry of a decoded LINK_VISITS (or SESSION_TOUCH) operation:
 * call it op->nitems times with the same *pos, 0 at first.
 * MCP_STORE_ECORRUPT past the data.
 */
int mcp_store_op_visit(const mcp_store_op_t *op, size_t *pos,
    mcp_store_visit_t *v);
int mcp_store_op_touch(const mcp_store_op_t *op, size_t *pos,
    mcp_store_touch_t *t);
int mcp_store_op_step(const mcp_store_op_t *op, size_t *pos,
    mcp_store_step_t *st);

/*
 * Runs one step in t (a write transaction), in scope sc at time now: the
 * same call on a single node and in a cluster's apply.  out receives what
 * the step tells, *nout words of it: out[0] is 1 if it changed something
 * (an entity or relation created, an observation added, anything
 * deleted; a context cleared only in part is 2), 0 if not; MESSAGE_APPEND
 * adds the message's sequence and tokens, the context's tokens and
 * messages.  Returns as the call it makes.
 */
int mcp_store_step_run(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const mcp_store_step_t *st, int64_t now, uint64_t *out, size_t *nout);

/*
 * Called by mcp_store_op_apply() for each operation of a log entry, in
 * order, once the entry is committed: op points into the entry's data,
 * outcome is the operation's (see below); detail, ndetail words, is what
 * a MEMORY operation's steps told (mcp_store_step_run()'s out, one after
 * another), or, when one failed, the index of the step that did (the
 * operation's outcome is that step's, and nothing of it is kept).
 */
typedef void (*mcp_store_op_cb)(void *data, const mcp_store_op_t *op,
    int outcome, const uint64_t *detail, size_t ndetail);

/*
 * Would op be refused by the quotas of this node (mcp_store_quota_set())?
 * Runs it in a write transaction that is then aborted: MCP_STORE_QUOTA if
 * so (mcp_store_quota_refused() says which), else MCP_STORE_OK.  Applying
 * enforces no quota, so that every node reaches the same state whatever
 * its own limits: the node that takes a write checks them before it
 * publishes.
 */
int mcp_store_op_check(mcp_store_t *s, const mcp_store_op_t *op);

/*
 * Applies the operations of the log entry at sequence seq (data, len
 * bytes: one operation or a batch) in one write transaction that also
 * records seq, unless seq is at or below the last applied one: then
 * nothing changes and *fresh is 0.
 *
 * Each operation's outcome is MCP_STORE_OK, MCP_STORE_EXISTS,
 * MCP_STORE_NOTFOUND, MCP_STORE_EXPIRED or MCP_STORE_SPENT, or
 * MCP_STORE_EINVAL for one that is not valid (skipped): the same on every
 * node.  Bytes that do not decode end the entry there (skipped, on every
 * node alike; cb is not called for them).  node is the applying node's
 * name: the outcomes of its own operations are recorded under seq (see
 * mcp_store_op_result()); for an entry applied before, cb gets the
 * recorded outcome of each of node's operations, and -1 for the others
 * (or when no longer kept).  cb may be NULL.
 *
 * Returns MCP_STORE_OK when the entry is applied (or had been).  Any
 * other return (MCP_STORE_FULL, MCP_STORE_EIO, MCP_STORE_ENOMEM) is this
 * node's trouble, not the entry's: nothing is applied or recorded, and
 * the same entry must be applied again before any later one.
 */
int mcp_store_op_apply(mcp_store_t *s, uint64_t seq, const void *data,
    size_t len, const char *node, size_t node_len, mcp_store_op_cb cb,
    void *cbdata, int *fresh);

/*
 * A single node's group commit: applies the operations of data (len
 * bytes, encoded one after another, any number of them) in one write
 * transaction, each in a transaction nested in it, so that one that
 * fails (MCP_STORE_FULL included) changes nothing and leaves the others.
 * Nothing is recorded of the log (no sequence, no outcomes), and no
 * quota is enforced: they are checked when an operation is taken
 * (mcp_store_op_check()).  Each operation is decoded once, and its
 * outcome is kept in s, the one place it is, until
 * mcp_store_op_committed() tells it: the thread that commits need not
 * be the one that tells.  s keeps the room it took (about 300 bytes an
 * operation) for its next commit, until mcp_store_close().
 *
 * Returns MCP_STORE_OK when the transaction is committed; else what
 * failed it (MCP_STORE_FULL, MCP_STORE_EIO, MCP_STORE_ENOMEM), which is
 * then every operation's outcome: none of them is kept, and none is
 * told.
 */
int mcp_store_op_commit(mcp_store_t *s, const void *data, size_t len);

/*
 * After mcp_store_op_commit() on s, before any other commit on it, and
 * while its data is there (op points into it): hands cb each committed
 * operation's outcome, in order, as from mcp_store_op_apply(), and its
 * detail.  Returns how many it told: fewer than the operations of data
 * only if their bytes stopped decoding, 0 after a failed commit.
 */
size_t mcp_store_op_committed(mcp_store_t *s, mcp_store_op_cb cb,
    void *cbdata);

/*
 * The last applied sequence, 0 for none, from the handle's read
 * snapshot (released again).
 */
int mcp_store_op_applied(mcp_store_t *s, uint64_t *seq);

/*
 * The recorded outcome of the i-th operation of the entry applied at seq,
 * if it was one of this node's and is still kept: *id the operation's id,
 * *result its outcome.  MCP_STORE_NOTFOUND otherwise.  (Its detail is
 * handed to mcp_store_op_apply()'s cb.)
 */
int mcp_store_op_result(mcp_store_t *s, uint64_t seq, unsigned i,
    uint64_t *id, int *result);


#endif /* _MCP_STORE_OP_H_INCLUDED_ */
