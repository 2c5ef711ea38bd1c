/*
 * mcp_store: cluster operations (mcp_store_op.h), their encoding and
 * their apply.
 *
 * An operation is a msgpack array:
 *
 *     [1, kind, node, id, ...]          1 is the format's version
 *
 * followed, by kind, by
 *
 *     LINK_PUT       code, url, created_at, expires_at, max_visits, tenant
 *                    [, redirect_status, tags]   (when the link has either)
 *     LINK_DELETE    code, tenant (a str, empty for any owner)
 *     LINK_CONSUME   code, now
 *     LINK_VISITS    [[code, count, last_visit
 *                     [, people, bots, referrer]], ...]  (only when any of
 *                                                        these is set)
 *     SESSION_PUT    id, created_at, last_seen, protocol, client_name,
 *                    client_version, log_level, flags, tenant
 *     SESSION_DELETE id
 *     SESSION_LEVEL  id, log_level
 *     SESSION_TOUCH  [[id, last_seen], ...]
 *     SESSION_EXPIRE now, max
 *     MEMORY         tenant, ns, now, [step, ...]
 *     CONTEXT_EXPIRE now, max
 *     LINK_UPDATE    code, tenant, set, url, expires_at, max_visits
 *                    [, redirect_status, tags    (when set names either,
 *                     [, updated_at]]             or with the time)
 *
 * and a step of MEMORY is an array [kind, name, ...]:
 *
 *     ENTITY_CREATE  name, type, [text, ...]
 *     RELATION_*     from, type, to
 *     OBS_*          name, text
 *     ENTITY_DELETE, CONTEXT_DELETE   name
 *     MESSAGE_APPEND context, content, role, pinned, ttl
 *
 * A later version may add fields at the end of an operation or of a step,
 * which this one skips, and kinds of operations, which it refuses
 * (MCP_STORE_EINVAL) while it applies the others of the entry.  Kinds of
 * steps it does not know make their operation MCP_STORE_EINVAL.  So a new
 * field is optional: mcp_store_op_fields() keeps counting the fields
 * every version writes, the decoder reads the new one only when the
 * array is long enough (total in mcp_store_op_decode()), and an
 * operation without it applies as before.
 *
 * A log entry is one operation or several one after another (a batch).
 *
 * Keys in the "meta" database:
 *
 *     "cluster.applied"              the last applied sequence: one uint
 *     "cluster.result" + seq + i     [id, outcome, detail...] of this
 *                                    node's
 *                                    operation i of the entry at seq
 *                                    (seq 8 bytes and i 2 bytes
 *                                    big-endian, so they sort by seq)
 */

#include <stdlib.h>
#include <string.h>

#include "mcp_store_int.h"
#include "mcp_store_op.h"


#define MCP_STORE_OP_VERSION       1
#define MCP_STORE_OP_HEAD          4      /* version, kind, node, id */
#define MCP_STORE_OP_LINK_FIELDS   6      /* a LINK_PUT's ... */
#define MCP_STORE_OP_LINK_EXTRA    2      /* ... and its status and tags */
#define MCP_STORE_OP_VISIT_STATS   3      /* a visit's people, bots,
                                             referrer */

#define MCP_STORE_OP_KEY_APPLIED   "cluster.applied"
#define MCP_STORE_OP_KEY_RESULT    "cluster.result"
#define MCP_STORE_OP_RESULT_KEY    (sizeof(MCP_STORE_OP_KEY_RESULT) - 1 + 10)

/* the detail of an entry's operations, one after another */
typedef struct {
    uint64_t          *v;
    size_t             n;
    size_t             cap;
} mcp_store_words_t;


/* an operation of a group commit, decoded once: what it did, and where
 * its detail starts */
typedef struct {
    mcp_store_op_t      op;
    int                 outcome;
    size_t              at;
} mcp_store_op_done_t;


static int mcp_store_op_fields(unsigned kind, uint64_t *n);
static int mcp_store_op_link_attrs(const mcp_store_op_t *op);
static int mcp_store_op_outcome(int rc);
static int mcp_store_words_add(mcp_store_words_t *d, const uint64_t *v,
    size_t n);
static const uint64_t *mcp_store_words_at(const mcp_store_words_t *d,
    size_t at);
static int mcp_store_op_memory(mcp_store_t *s, MDB_txn *txn,
    const mcp_store_op_t *op, mcp_store_words_t *d);
static int mcp_store_op_context_expire(mcp_store_t *s, MDB_txn *txn,
    const mcp_store_op_t *op);
static void mcp_store_op_step_encode(msgpack_packer *pk,
    const mcp_store_step_t *st);
static unsigned mcp_store_step_fields(unsigned kind);
static int mcp_store_op_item(const mcp_store_op_t *op, size_t *pos,
    uint64_t fields, const char **key, size_t *key_len, uint64_t *count,
    int64_t *time, mcp_store_visit_t *stats);
static int mcp_store_op_session_put(mcp_store_t *s, MDB_txn *txn,
    const mcp_store_op_t *op);
static int mcp_store_op_session_delete(mcp_store_t *s, MDB_txn *txn,
    const mcp_store_op_t *op);
static int mcp_store_op_session_touch(mcp_store_t *s, MDB_txn *txn,
    const mcp_store_op_t *op);
static int mcp_store_op_session_expire(mcp_store_t *s, MDB_txn *txn,
    const mcp_store_op_t *op);
static int mcp_store_op_batch(mcp_store_t *s, MDB_txn *txn,
    const void *data, size_t len, int flat, size_t *n, mcp_store_words_t *d,
    int *redo);
static int mcp_store_op_run(mcp_store_t *s, MDB_txn *txn,
    const mcp_store_op_t *op, mcp_store_words_t *d);
static int mcp_store_op_link_put(mcp_store_t *s, MDB_txn *txn,
    const mcp_store_op_t *op);
static int mcp_store_op_link_change(mcp_store_t *s, MDB_txn *txn,
    const mcp_store_op_t *op);
static int mcp_store_op_link_consume(mcp_store_t *s, MDB_txn *txn,
    const mcp_store_op_t *op);
static int mcp_store_op_link_visits(mcp_store_t *s, MDB_txn *txn,
    const mcp_store_op_t *op);
static int mcp_store_op_get_applied(mcp_store_t *s, MDB_txn *txn,
    uint64_t *seq);
static int mcp_store_op_put_applied(mcp_store_t *s, MDB_txn *txn,
    uint64_t seq);
static void mcp_store_op_result_key(char *buf, uint64_t seq, unsigned i);
static int mcp_store_op_get_result(mcp_store_t *s, MDB_txn *txn,
    uint64_t seq, unsigned i, uint64_t *id, int *result,
    mcp_store_words_t *d);
static int mcp_store_op_put_result(mcp_store_t *s, MDB_txn *txn,
    uint64_t seq, unsigned i, uint64_t id, int result,
    const uint64_t *detail, size_t ndetail);
static int mcp_store_op_ours(const mcp_store_op_t *op, const char *node,
    size_t node_len);
static void mcp_store_op_report(const void *data, size_t len, size_t n,
    const int *outcome, const size_t *at, const mcp_store_words_t *d,
    mcp_store_op_cb cb, void *cbdata);


size_t
mcp_store_op_encode(const mcp_store_op_t *op, char *buf, size_t size)
{
    int                       stats, attrs;
    size_t                    i;
    uint64_t                  n;
    msgpack_packer            pk;
    mcp_store_wbuf_t          w;
    const mcp_store_visit_t  *v;

    mcp_store_wbuf_init(&w, &pk, buf, size);

    if (mcp_store_op_fields(op->kind, &n) != MCP_STORE_OK) {
        return 0;
    }

    attrs = mcp_store_op_link_attrs(op);

    if (attrs) {
        n += (attrs > 1) ? MCP_STORE_OP_LINK_EXTRA + 1
                         : MCP_STORE_OP_LINK_EXTRA;
    }

    (void) msgpack_pack_array(&pk, MCP_STORE_OP_HEAD + n);
    (void) msgpack_pack_uint64(&pk, MCP_STORE_OP_VERSION);
    (void) msgpack_pack_uint64(&pk, op->kind);
    mcp_store_pack_str(&pk, op->node, op->node_len);
    (void) msgpack_pack_uint64(&pk, op->id);

    switch (op->kind) {

    case MCP_STORE_OP_LINK_PUT:
        mcp_store_pack_str(&pk, op->code, op->code_len);
        mcp_store_pack_str(&pk, op->link.url, op->link.url_len);
        (void) msgpack_pack_int64(&pk, op->link.created_at);
        (void) msgpack_pack_int64(&pk, op->link.expires_at);
        (void) msgpack_pack_uint64(&pk, op->link.max_visits);
        mcp_store_pack_str(&pk, op->link.tenant, op->link.tenant_len);
        break;

    case MCP_STORE_OP_LINK_DELETE:
        mcp_store_pack_str(&pk, op->code, op->code_len);
        mcp_store_pack_str(&pk, op->link.tenant, op->link.tenant_len);
        break;

    case MCP_STORE_OP_LINK_CONSUME:
        mcp_store_pack_str(&pk, op->code, op->code_len);
        (void) msgpack_pack_int64(&pk, op->now);
        break;

    case MCP_STORE_OP_LINK_VISITS:
        (void) msgpack_pack_array(&pk, op->nitems);

        for (i = 0; i < op->nitems; i++) {
            v = &op->visits[i];
            stats = v->people != 0 || v->bots != 0 || v->referrer_len != 0;

            (void) msgpack_pack_array(&pk, stats
                                           ? 3 + MCP_STORE_OP_VISIT_STATS
                                           : 3);
            mcp_store_pack_str(&pk, v->code, v->code_len);
            (void) msgpack_pack_uint64(&pk, v->count);
            (void) msgpack_pack_int64(&pk, v->last_visit);

            if (stats) {
                (void) msgpack_pack_uint64(&pk, v->people);
                (void) msgpack_pack_uint64(&pk, v->bots);
                mcp_store_pack_str(&pk, v->referrer, v->referrer_len);
            }
        }

        break;

    case MCP_STORE_OP_SESSION_PUT:
        mcp_store_pack_str(&pk, op->code, op->code_len);
        (void) msgpack_pack_int64(&pk, op->session.created_at);
        (void) msgpack_pack_int64(&pk, op->session.last_seen);
        mcp_store_pack_str(&pk, op->session.protocol,
                           op->session.protocol_len);
        mcp_store_pack_str(&pk, op->session.client_name,
                           op->session.client_name_len);
        mcp_store_pack_str(&pk, op->session.client_version,
                           op->session.client_version_len);
        (void) msgpack_pack_uint64(&pk, op->session.log_level);
        (void) msgpack_pack_uint64(&pk, op->session.flags);
        mcp_store_pack_str(&pk, op->session.tenant, op->session.tenant_len);
        break;

    case MCP_STORE_OP_SESSION_DELETE:
        mcp_store_pack_str(&pk, op->code, op->code_len);
        break;

    case MCP_STORE_OP_SESSION_LEVEL:
        mcp_store_pack_str(&pk, op->code, op->code_len);
        (void) msgpack_pack_uint64(&pk, op->session.log_level);
        break;

    case MCP_STORE_OP_SESSION_TOUCH:
        (void) msgpack_pack_array(&pk, op->nitems);

        for (i = 0; i < op->nitems; i++) {
            (void) msgpack_pack_array(&pk, 2);
            mcp_store_pack_str(&pk, op->touches[i].id,
                               op->touches[i].id_len);
            (void) msgpack_pack_int64(&pk, op->touches[i].last_seen);
        }

        break;

    case MCP_STORE_OP_MEMORY:
        mcp_store_pack_str(&pk, op->scope.tenant, op->scope.tenant_len);
        mcp_store_pack_str(&pk, op->scope.ns, op->scope.ns_len);
        (void) msgpack_pack_int64(&pk, op->now);
        (void) msgpack_pack_array(&pk, op->nitems);

        for (i = 0; i < op->nitems; i++) {
            mcp_store_op_step_encode(&pk, &op->steps[i]);
        }

        break;

    case MCP_STORE_OP_LINK_UPDATE:
        mcp_store_pack_str(&pk, op->code, op->code_len);
        mcp_store_pack_str(&pk, op->link.tenant, op->link.tenant_len);
        (void) msgpack_pack_uint64(&pk, op->set);
        mcp_store_pack_str(&pk, op->link.url, op->link.url_len);
        (void) msgpack_pack_int64(&pk, op->link.expires_at);
        (void) msgpack_pack_uint64(&pk, op->link.max_visits);
        break;

    default: /* MCP_STORE_OP_SESSION_EXPIRE, MCP_STORE_OP_CONTEXT_EXPIRE */
        (void) msgpack_pack_int64(&pk, op->now);
        (void) msgpack_pack_uint64(&pk, op->max);
        break;
    }

    /* a link's own status and tags, after the fields every version has */

    if (attrs) {
        (void) msgpack_pack_uint64(&pk, op->link.redirect_status);
        mcp_store_pack_str(&pk, op->link.tags, op->link.tags_len);
    }

    /* an update's time, so that every node stores the same */

    if (attrs > 1) {
        (void) msgpack_pack_int64(&pk, op->link.updated_at);
    }

    return w.len;
}


static void
mcp_store_op_step_encode(msgpack_packer *pk, const mcp_store_step_t *st)
{
    size_t  i;

    (void) msgpack_pack_array(pk, mcp_store_step_fields(st->kind));
    (void) msgpack_pack_uint64(pk, st->kind);
    mcp_store_pack_str(pk, st->name, st->name_len);

    switch (st->kind) {

    case MCP_STORE_STEP_ENTITY_CREATE:
        mcp_store_pack_str(pk, st->type, st->type_len);
        (void) msgpack_pack_array(pk, st->ntexts);

        for (i = 0; i < st->ntexts; i++) {
            mcp_store_pack_str(pk, st->texts[i].text, st->texts[i].text_len);
        }

        break;

    case MCP_STORE_STEP_RELATION_CREATE:
    case MCP_STORE_STEP_RELATION_DELETE:
        mcp_store_pack_str(pk, st->type, st->type_len);

        /* fall through */

    case MCP_STORE_STEP_OBS_ADD:
    case MCP_STORE_STEP_OBS_DELETE:
        mcp_store_pack_str(pk, st->text, st->text_len);
        break;

    case MCP_STORE_STEP_MESSAGE_APPEND:
        mcp_store_pack_str(pk, st->text, st->text_len);
        (void) msgpack_pack_uint64(pk, st->role);
        (void) msgpack_pack_uint64(pk, st->pinned);
        (void) msgpack_pack_int64(pk, st->ttl);
        break;

    default: /* ENTITY_DELETE, CONTEXT_DELETE */
        break;
    }
}


/* how many values a step of this kind has: [kind, name, ...] */

static unsigned
mcp_store_step_fields(unsigned kind)
{
    switch (kind) {
    case MCP_STORE_STEP_ENTITY_CREATE:
    case MCP_STORE_STEP_RELATION_CREATE:
    case MCP_STORE_STEP_RELATION_DELETE:
        return 4;
    case MCP_STORE_STEP_OBS_ADD:
    case MCP_STORE_STEP_OBS_DELETE:
        return 3;
    case MCP_STORE_STEP_MESSAGE_APPEND:
        return 6;
    default:
        return 2;
    }
}


int
mcp_store_op_decode(const void *data, size_t len, mcp_store_op_t *op,
    size_t *used)
{
    int                rc;
    size_t             i, pos;
    uint64_t           n, u, version, kind, fields, total;
    mcp_store_op_t     o;
    mcp_store_rbuf_t   r;
    mcp_store_step_t   st;
    mcp_store_visit_t  v;
    mcp_store_touch_t  t;

    memset(&o, 0, sizeof(mcp_store_op_t));

    if (mcp_store_rbuf_init(&r, data, len) != 0
        || mcp_store_read_array(&r, &n) != 0
        || n < MCP_STORE_OP_HEAD
        || mcp_store_read_uint64(&r, &version) != 0
        || version != MCP_STORE_OP_VERSION
        || mcp_store_read_uint64(&r, &kind) != 0
        || kind > 0xff
        || mcp_store_read_str(&r, &o.node, &o.node_len) != 0
        || mcp_store_read_uint64(&r, &o.id) != 0)
    {
        return MCP_STORE_ECORRUPT;
    }

    o.kind = (unsigned) kind;

    /* a kind this version does not know: its head only (see the header) */

    if (mcp_store_op_fields(o.kind, &fields) != MCP_STORE_OK) {
        fields = 0;

    } else if (n < MCP_STORE_OP_HEAD + fields) {
        return MCP_STORE_ECORRUPT;
    }

    total = n;

    switch (o.kind) {

    case MCP_STORE_OP_LINK_PUT:
        if (mcp_store_read_str(&r, &o.code, &o.code_len) != 0
            || mcp_store_read_str(&r, &o.link.url, &o.link.url_len) != 0
            || mcp_store_read_int64(&r, &o.link.created_at) != 0
            || mcp_store_read_int64(&r, &o.link.expires_at) != 0
            || mcp_store_read_uint64(&r, &o.link.max_visits) != 0
            || mcp_store_read_str(&r, &o.link.tenant, &o.link.tenant_len)
               != 0)
        {
            return MCP_STORE_ECORRUPT;
        }

        break;

    case MCP_STORE_OP_LINK_DELETE:
        if (mcp_store_read_str(&r, &o.code, &o.code_len) != 0
            || mcp_store_read_str(&r, &o.link.tenant, &o.link.tenant_len)
               != 0)
        {
            return MCP_STORE_ECORRUPT;
        }

        break;

    case MCP_STORE_OP_LINK_CONSUME:
        if (mcp_store_read_str(&r, &o.code, &o.code_len) != 0
            || mcp_store_read_int64(&r, &o.now) != 0)
        {
            return MCP_STORE_ECORRUPT;
        }

        break;

    case MCP_STORE_OP_MEMORY:
        if (mcp_store_read_str(&r, &o.scope.tenant, &o.scope.tenant_len) != 0
            || mcp_store_read_str(&r, &o.scope.ns, &o.scope.ns_len) != 0
            || mcp_store_read_int64(&r, &o.now) != 0)
        {
            return MCP_STORE_ECORRUPT;
        }

        /* its steps follow, read as the entries of a batch are */

        /* fall through */

    case MCP_STORE_OP_LINK_VISITS:
    case MCP_STORE_OP_SESSION_TOUCH:
        if (mcp_store_read_array(&r, &n) != 0
            || n > (uint64_t) (r.end - r.pos)
            || (o.kind == MCP_STORE_OP_MEMORY && n > MCP_STORE_OP_STEPS_MAX))
        {
            return MCP_STORE_ECORRUPT;
        }

        /* read through once, to know where the operation ends */

        o.nitems = (size_t) n;
        o.items_at = r.pos;
        o.items_len = (size_t) (r.end - r.pos);

        for (pos = 0, i = 0; i < o.nitems; i++) {
            switch (o.kind) {
            case MCP_STORE_OP_LINK_VISITS:
                rc = mcp_store_op_visit(&o, &pos, &v);
                break;
            case MCP_STORE_OP_SESSION_TOUCH:
                rc = mcp_store_op_touch(&o, &pos, &t);
                break;
            default:
                rc = mcp_store_op_step(&o, &pos, &st);
                break;
            }

            if (rc != MCP_STORE_OK) {
                return MCP_STORE_ECORRUPT;
            }
        }

        o.items_len = pos;
        r.pos += pos;
        break;

    case MCP_STORE_OP_SESSION_PUT:
        if (mcp_store_read_str(&r, &o.code, &o.code_len) != 0
            || mcp_store_read_int64(&r, &o.session.created_at) != 0
            || mcp_store_read_int64(&r, &o.session.last_seen) != 0
            || mcp_store_read_str(&r, &o.session.protocol,
                                  &o.session.protocol_len) != 0
            || mcp_store_read_str(&r, &o.session.client_name,
                                  &o.session.client_name_len) != 0
            || mcp_store_read_str(&r, &o.session.client_version,
                                  &o.session.client_version_len) != 0
            || mcp_store_read_uint64(&r, &u) != 0 || u > 0xffff
            || (o.session.log_level = (unsigned) u,
                mcp_store_read_uint64(&r, &u) != 0) || u > 0xffff
            || (o.session.flags = (unsigned) u,
                mcp_store_read_str(&r, &o.session.tenant,
                                   &o.session.tenant_len) != 0))
        {
            return MCP_STORE_ECORRUPT;
        }

        break;

    case MCP_STORE_OP_SESSION_DELETE:
        if (mcp_store_read_str(&r, &o.code, &o.code_len) != 0) {
            return MCP_STORE_ECORRUPT;
        }

        break;

    case MCP_STORE_OP_SESSION_LEVEL:
        if (mcp_store_read_str(&r, &o.code, &o.code_len) != 0
            || mcp_store_read_uint64(&r, &u) != 0 || u > 0xffff)
        {
            return MCP_STORE_ECORRUPT;
        }

        o.session.log_level = (unsigned) u;
        break;

    case MCP_STORE_OP_LINK_UPDATE:
        if (mcp_store_read_str(&r, &o.code, &o.code_len) != 0
            || mcp_store_read_str(&r, &o.link.tenant, &o.link.tenant_len)
               != 0
            || mcp_store_read_uint64(&r, &u) != 0 || u > 0xff
            || (o.set = (unsigned) u,
                mcp_store_read_str(&r, &o.link.url, &o.link.url_len)) != 0
            || mcp_store_read_int64(&r, &o.link.expires_at) != 0
            || mcp_store_read_uint64(&r, &o.link.max_visits) != 0)
        {
            return MCP_STORE_ECORRUPT;
        }

        break;

    case MCP_STORE_OP_SESSION_EXPIRE:
    case MCP_STORE_OP_CONTEXT_EXPIRE:
        if (mcp_store_read_int64(&r, &o.now) != 0
            || mcp_store_read_uint64(&r, &o.max) != 0)
        {
            return MCP_STORE_ECORRUPT;
        }

        break;

    default:
        break;
    }

    /* a link's own status and tags, when the operation has them */

    if ((o.kind == MCP_STORE_OP_LINK_PUT || o.kind == MCP_STORE_OP_LINK_UPDATE)
        && total >= MCP_STORE_OP_HEAD + fields + MCP_STORE_OP_LINK_EXTRA)
    {
        if (mcp_store_read_uint64(&r, &u) != 0 || u > 0xffff
            || mcp_store_read_str(&r, &o.link.tags, &o.link.tags_len) != 0)
        {
            return MCP_STORE_ECORRUPT;
        }

        o.link.redirect_status = (unsigned) u;
        fields += MCP_STORE_OP_LINK_EXTRA;

        if (o.kind == MCP_STORE_OP_LINK_UPDATE
            && total > MCP_STORE_OP_HEAD + fields)
        {
            if (mcp_store_read_int64(&r, &o.link.updated_at) != 0) {
                return MCP_STORE_ECORRUPT;
            }

            fields++;
        }
    }

    /* the fields of a later version */

    for (n = total - MCP_STORE_OP_HEAD - fields; n > 0; n--) {
        if (mcp_store_skip(&r, 0) != 0) {
            return MCP_STORE_ECORRUPT;
        }
    }

    *op = o;
    *used = (size_t) ((const char *) r.pos - (const char *) data);

    return MCP_STORE_OK;
}


int
mcp_store_op_visit(const mcp_store_op_t *op, size_t *pos,
    mcp_store_visit_t *v)
{
    return mcp_store_op_item(op, pos, 3, &v->code, &v->code_len, &v->count,
                             &v->last_visit, v);
}


int
mcp_store_op_touch(const mcp_store_op_t *op, size_t *pos,
    mcp_store_touch_t *t)
{
    return mcp_store_op_item(op, pos, 2, &t->id, &t->id_len, NULL,
                             &t->last_seen, NULL);
}


/*
 * A step of a MEMORY operation.  A kind this version does not know
 * decodes (as kind and name) for apply to refuse; fields after those it
 * knows are skipped.
 */

int
mcp_store_op_step(const mcp_store_op_t *op, size_t *pos, mcp_store_step_t *st)
{
    uint64_t          n, k, u, fields;
    mcp_store_rbuf_t  r;

    memset(st, 0, sizeof(mcp_store_step_t));

    if (*pos >= op->items_len
        || mcp_store_rbuf_init(&r, (const char *) op->items_at + *pos,
                               op->items_len - *pos) != 0
        || mcp_store_read_array(&r, &n) != 0
        || n < 2
        || mcp_store_read_uint64(&r, &k) != 0
        || k > 0xff
        || mcp_store_read_str(&r, &st->name, &st->name_len) != 0)
    {
        return MCP_STORE_ECORRUPT;
    }

    st->kind = (unsigned) k;
    fields = mcp_store_step_fields(st->kind);

    if (n < fields) {
        return MCP_STORE_ECORRUPT;
    }

    switch (st->kind) {

    case MCP_STORE_STEP_ENTITY_CREATE:
        if (mcp_store_read_str(&r, &st->type, &st->type_len) != 0
            || mcp_store_read_array(&r, &u) != 0
            || u > MCP_STORE_OBS_MAX)
        {
            return MCP_STORE_ECORRUPT;
        }

        st->ntexts = (size_t) u;
        st->texts_at = r.pos;

        for (k = 0; k < u; k++) {
            if (mcp_store_read_str(&r, &st->text, &st->text_len) != 0) {
                return MCP_STORE_ECORRUPT;
            }
        }

        st->texts_len = (size_t) ((const char *) r.pos
                                  - (const char *) st->texts_at);
        st->text = NULL;
        st->text_len = 0;
        break;

    case MCP_STORE_STEP_RELATION_CREATE:
    case MCP_STORE_STEP_RELATION_DELETE:
        if (mcp_store_read_str(&r, &st->type, &st->type_len) != 0
            || mcp_store_read_str(&r, &st->text, &st->text_len) != 0)
        {
            return MCP_STORE_ECORRUPT;
        }

        break;

    case MCP_STORE_STEP_OBS_ADD:
    case MCP_STORE_STEP_OBS_DELETE:
        if (mcp_store_read_str(&r, &st->text, &st->text_len) != 0)
        {
            return MCP_STORE_ECORRUPT;
        }

        break;

    case MCP_STORE_STEP_MESSAGE_APPEND:
        if (mcp_store_read_str(&r, &st->text, &st->text_len) != 0
            || mcp_store_read_uint64(&r, &u) != 0 || u > 0xff
            || (st->role = (unsigned) u,
                mcp_store_read_uint64(&r, &u)) != 0 || u > 1
            || (st->pinned = (unsigned) u,
                mcp_store_read_int64(&r, &st->ttl)) != 0)
        {
            return MCP_STORE_ECORRUPT;
        }

        break;

    default: /* ENTITY_DELETE, CONTEXT_DELETE, and unknown kinds */
        break;
    }

    for (n -= fields; n > 0; n--) {
        if (mcp_store_skip(&r, 0) != 0) {
            return MCP_STORE_ECORRUPT;
        }
    }

    *pos = (size_t) ((const char *) r.pos - (const char *) op->items_at);

    return MCP_STORE_OK;
}


int
mcp_store_step_run(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const mcp_store_step_t *st, int64_t now, uint64_t *out, size_t *nout)
{
    int                       rc, done;
    size_t                    i;
    mcp_store_rbuf_t          r;
    mcp_store_entity_t        e;
    mcp_store_message_t       m;
    mcp_store_context_t       c;
    mcp_store_relation_t      rel;
    mcp_store_observation_t  *obs;

    done = 0;
    *nout = 1;

    switch (st->kind) {

    case MCP_STORE_STEP_ENTITY_CREATE:
        memset(&e, 0, sizeof(mcp_store_entity_t));
        e.name = st->name;
        e.name_len = st->name_len;
        e.type = st->type;
        e.type_len = st->type_len;
        e.nobservations = st->ntexts;
        e.observations = (mcp_store_observation_t *) st->texts;

        /* decoded texts: read into an array the transaction owns */

        if (st->texts == NULL && st->ntexts != 0) {
            obs = mcp_store_txn_alloc(t, st->ntexts
                                         * sizeof(mcp_store_observation_t));
            if (obs == NULL) {
                return MCP_STORE_ENOMEM;
            }

            if (mcp_store_rbuf_init(&r, st->texts_at, st->texts_len) != 0) {
                return MCP_STORE_EINVAL;
            }

            for (i = 0; i < st->ntexts; i++) {
                if (mcp_store_read_str(&r, &obs[i].text, &obs[i].text_len)
                    != 0)
                {
                    return MCP_STORE_EINVAL;
                }

                obs[i].created_at = now;
            }

            e.observations = obs;
        }

        rc = mcp_store_entity_create(t, sc, &e, now, &done);
        break;

    case MCP_STORE_STEP_RELATION_CREATE:
    case MCP_STORE_STEP_RELATION_DELETE:
        memset(&rel, 0, sizeof(mcp_store_relation_t));
        rel.from = st->name;
        rel.from_len = st->name_len;
        rel.type = st->type;
        rel.type_len = st->type_len;
        rel.to = st->text;
        rel.to_len = st->text_len;

        rc = (st->kind == MCP_STORE_STEP_RELATION_CREATE)
             ? mcp_store_relation_create(t, sc, &rel, now, &done)
             : mcp_store_relation_delete(t, sc, &rel, &done);
        break;

    case MCP_STORE_STEP_OBS_ADD:
        rc = mcp_store_observation_add(t, sc, st->name, st->name_len,
                                       st->text, st->text_len, now, &done);
        break;

    case MCP_STORE_STEP_OBS_DELETE:
        rc = mcp_store_observation_delete(t, sc, st->name, st->name_len,
                                          st->text, st->text_len, &done);
        break;

    case MCP_STORE_STEP_ENTITY_DELETE:
        rc = mcp_store_entity_delete(t, sc, st->name, st->name_len, &done);
        break;

    case MCP_STORE_STEP_MESSAGE_APPEND:
        memset(&m, 0, sizeof(mcp_store_message_t));
        m.role = st->role;
        m.pinned = st->pinned;
        m.content = st->text;
        m.content_len = st->text_len;

        rc = mcp_store_message_append(t, sc, st->name, st->name_len, &m, now,
                                      st->ttl, &c);
        if (rc == MCP_STORE_OK) {
            done = 1;
            out[1] = m.seq;
            out[2] = m.tokens;
            out[3] = c.tokens;
            out[4] = c.nmessages;
            *nout = 5;
        }

        break;

    case MCP_STORE_STEP_CONTEXT_DELETE:
        rc = mcp_store_context_delete(t, sc, st->name, st->name_len);
        done = mcp_store_txn_truncated(t) ? 2 : 1;
        break;

    default:
        return MCP_STORE_EINVAL;
    }

    out[0] = (uint64_t) done;

    return rc;
}


/*
 * An entry of a batch: [key, count, time], or [key, time] (fields 2); a
 * visit's (stats not NULL) may go on with [..., people, bots, referrer].
 */

static int
mcp_store_op_item(const mcp_store_op_t *op, size_t *pos, uint64_t fields,
    const char **key, size_t *key_len, uint64_t *count, int64_t *time,
    mcp_store_visit_t *stats)
{
    uint64_t          n;
    mcp_store_rbuf_t  r;

    if (*pos >= op->items_len
        || mcp_store_rbuf_init(&r, (const char *) op->items_at + *pos,
                               op->items_len - *pos) != 0
        || mcp_store_read_array(&r, &n) != 0
        || !(n == fields
             || (stats != NULL && n == fields + MCP_STORE_OP_VISIT_STATS))
        || mcp_store_read_str(&r, key, key_len) != 0
        || (count != NULL && mcp_store_read_uint64(&r, count) != 0)
        || mcp_store_read_int64(&r, time) != 0)
    {
        return MCP_STORE_ECORRUPT;
    }

    if (stats != NULL) {
        stats->people = 0;
        stats->bots = 0;
        stats->referrer = NULL;
        stats->referrer_len = 0;

        if (n != fields
            && (mcp_store_read_uint64(&r, &stats->people) != 0
                || mcp_store_read_uint64(&r, &stats->bots) != 0
                || mcp_store_read_str(&r, &stats->referrer,
                                      &stats->referrer_len) != 0))
        {
            return MCP_STORE_ECORRUPT;
        }
    }

    *pos = (size_t) ((const char *) r.pos - (const char *) op->items_at);

    return MCP_STORE_OK;
}


int
mcp_store_op_apply(mcp_store_t *s, uint64_t seq, const void *data,
    size_t len, const char *node, size_t node_len, mcp_store_op_cb cb,
    void *cbdata, int *fresh)
{
    int                outcome[MCP_STORE_OP_BATCH_MAX], rc, got;
    size_t             n, pos, used, nquotas;
    size_t             at[MCP_STORE_OP_BATCH_MAX + 1];
    MDB_txn           *txn;
    uint64_t           applied, id;
    mcp_store_op_t     op;
    mcp_store_words_t  d;

    *fresh = 0;

    if (s == NULL || seq == 0 || (s->flags & MCP_STORE_RDONLY)) {
        return MCP_STORE_EINVAL;
    }

    /* most deliveries of an applied entry are to a second process of the
     * node: a read tells, without queueing for the writer */

    rc = mcp_store_op_applied(s, &applied);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    rc = mcp_store_write_begin(s, &txn);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    memset(&d, 0, sizeof(mcp_store_words_t));
    n = 0;

    if (seq <= applied) {
        goto done;
    }

    rc = mcp_store_op_get_applied(s, txn, &applied);
    if (rc != MCP_STORE_OK || seq <= applied) {
        goto done;
    }

    /* no node's own limits: see mcp_store_op_check() */

    nquotas = s->nquotas;
    s->nquotas = 0;

    pos = 0;

    while (pos < len && n < MCP_STORE_OP_BATCH_MAX) {
        if (mcp_store_op_decode((const char *) data + pos, len - pos, &op,
                                &used)
            != MCP_STORE_OK)
        {
            break;
        }

        at[n] = d.n;

        rc = mcp_store_op_run(s, txn, &op, &d);

        /* the outcomes of valid operations are the same on every node;
         * other failures are this node's own and apply nothing */

        if (!mcp_store_op_outcome(rc)) {
            break;
        }

        if (mcp_store_op_ours(&op, node, node_len)) {
            got = mcp_store_op_put_result(s, txn, seq, (unsigned) n, op.id,
                                          rc, mcp_store_words_at(&d, at[n]),
                                          d.n - at[n]);
            if (got != MCP_STORE_OK) {
                rc = got;
                break;
            }
        }

        outcome[n++] = rc;
        pos += used;
        rc = MCP_STORE_OK;
    }

    s->nquotas = nquotas;

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_op_put_applied(s, txn, seq);
    }

    if (rc != MCP_STORE_OK) {
        mdb_txn_abort(txn);
        free(d.v);
        return rc;
    }

    rc = mcp_store_write_end(s, txn, MCP_STORE_OK);
    if (rc != MCP_STORE_OK) {
        free(d.v);
        return rc;
    }

    *fresh = 1;
    at[n] = d.n;

    mcp_store_op_report(data, len, n, outcome, at, &d, cb, cbdata);

    free(d.v);

    return MCP_STORE_OK;

done:

    /* applied before: the recorded outcomes, read (and copied) before the
     * transaction ends, handed out after (cb may write to the store) */

    for (pos = 0;
         rc == MCP_STORE_OK && pos < len && n < MCP_STORE_OP_BATCH_MAX
         && mcp_store_op_decode((const char *) data + pos, len - pos, &op,
                                &used) == MCP_STORE_OK;
         pos += used)
    {
        outcome[n] = -1;
        at[n] = d.n;

        if (mcp_store_op_ours(&op, node, node_len)
            && mcp_store_op_get_result(s, txn, seq, (unsigned) n, &id, &got,
                                       &d) == MCP_STORE_OK)
        {
            if (id == op.id) {
                outcome[n] = got;

            } else {
                d.n = at[n];
            }
        }

        n++;
    }

    mdb_txn_abort(txn);

    at[n] = d.n;

    mcp_store_op_report(data, len, n, outcome, at, &d, cb, cbdata);

    free(d.v);

    return rc;
}


/*
 * Hands cb the outcome and detail of each of the first n operations of
 * data, once their transaction has ended (cb may write to the store).
 */

static void
mcp_store_op_report(const void *data, size_t len, size_t n,
    const int *outcome, const size_t *at, const mcp_store_words_t *d,
    mcp_store_op_cb cb, void *cbdata)
{
    size_t          i, pos, used;
    mcp_store_op_t  op;

    for (pos = 0, i = 0;
         cb != NULL && i < n && pos < len
         && mcp_store_op_decode((const char *) data + pos, len - pos, &op,
                                &used) == MCP_STORE_OK;
         i++, pos += used)
    {
        cb(cbdata, &op, outcome[i], mcp_store_words_at(d, at[i]),
           at[i + 1] - at[i]);
    }
}


/*
 * Applies the operations of data in txn, each nested in a transaction of
 * its own (flat 0), or, with flat 1, the LINK_PUTs in txn itself: a
 * LINK_PUT that is refused a taken code has changed nothing, and one
 * kept has its room checked as nested ones do.  LMDB copies the pages a
 * nested transaction touches that txn has written already (most of
 * them, in a batch), and each nesting costs as much again to begin and
 * commit: a write of a batch of 30 costs about half as much without.
 * With flat 1, *redo is set when a LINK_PUT could not be kept or undone
 * alone (the store too full for it, a failure that fails txn): the
 * caller starts over with every operation nested.  Their outcomes go to
 * s->done, their detail to d.
 */

static int
mcp_store_op_batch(mcp_store_t *s, MDB_txn *txn, const void *data,
    size_t len, int flat, size_t *n, mcp_store_words_t *d, int *redo)
{
    int                   rc, mrc, ran;
    void                 *p;
    size_t                pos, used, cap, i;
    MDB_txn              *child;
    mcp_store_op_done_t  *done;

    /* the room of the commits before: a worker's batches allocate none
     * once they have been as large */

    done = s->done;
    cap = s->ndone;
    i = 0;
    rc = MCP_STORE_OK;

    for (pos = 0; pos < len; pos += used) {

        /* one more than the operations, for the end of the last detail */

        if (i + 1 >= cap) {
            cap = (cap == 0) ? 64 : 2 * cap;

            p = realloc(done, cap * sizeof(mcp_store_op_done_t));
            if (p == NULL) {
                rc = MCP_STORE_ENOMEM;
                break;
            }

            done = p;
            s->done = p;
            s->ndone = cap;
        }

        /* decoded once: the operation is told from here, its strings
         * point into data */

        if (mcp_store_op_decode((const char *) data + pos, len - pos,
                                &done[i].op, &used)
            != MCP_STORE_OK)
        {
            break;
        }

        done[i].at = d->n;

        if (flat && done[i].op.kind == MCP_STORE_OP_LINK_PUT) {
            rc = mcp_store_op_run(s, txn, &done[i].op, d);

            if (rc == MCP_STORE_OK) {
                rc = mcp_store_write_room(s, txn);
            }

            if (rc != MCP_STORE_OK && rc != MCP_STORE_EXISTS) {
                *redo = 1;
                break;
            }

            done[i++].outcome = rc;
            rc = MCP_STORE_OK;
            continue;
        }

        /* each operation in a transaction of its own inside the batch's:
         * one that fails (a full store, say) leaves the others */

        mrc = mdb_txn_begin(s->env, txn, 0, &child);
        if (mrc != MDB_SUCCESS) {
            rc = mcp_store_rc(mrc);
            break;
        }

        /* a failed MEMORY operation has undone its steps and left the
         * index of the failed one as its detail */

        ran = mcp_store_op_run(s, child, &done[i].op, d);
        rc = mcp_store_nested_end(s, child, ran);

        if (ran == MCP_STORE_OK && rc != MCP_STORE_OK) {
            d->n = done[i].at;
        }

        done[i++].outcome = rc;
        rc = MCP_STORE_OK;
    }

    *n = i;

    return rc;
}


int
mcp_store_op_commit(mcp_store_t *s, const void *data, size_t len)
{
    int                   rc, flat, redo;
    size_t                n, nquotas;
    MDB_txn              *txn;
    mcp_store_words_t     d;
    mcp_store_op_done_t  *done;

    if (s == NULL) {
        return MCP_STORE_EINVAL;
    }

    s->ncommitted = 0;
    n = 0;

    if (s->flags & MCP_STORE_RDONLY) {
        return MCP_STORE_EINVAL;
    }

    /* the detail goes where the commit before left its own room */

    d.v = s->detail;
    d.n = 0;
    d.cap = s->ndetail;

    /* quotas were checked when the operations were taken, as in a
     * cluster (mcp_store_op_check()) */

    nquotas = s->nquotas;
    s->nquotas = 0;

    for (flat = 1; /* void */; flat = 0) {
        rc = mcp_store_write_begin(s, &txn);
        if (rc != MCP_STORE_OK) {
            break;
        }

        d.n = 0;
        redo = 0;

        rc = mcp_store_op_batch(s, txn, data, len, flat, &n, &d, &redo);

        if (!redo) {
            if (rc == MCP_STORE_OK) {
                rc = mcp_store_write_end(s, txn, MCP_STORE_OK);

            } else {
                mdb_txn_abort(txn);
            }

            break;
        }

        mdb_txn_abort(txn);
    }

    s->nquotas = nquotas;
    s->detail = d.v;
    s->ndetail = d.cap;

    if (rc != MCP_STORE_OK) {
        /* nothing is kept: nothing to tell */
        return rc;
    }

    done = s->done;

    if (n != 0) {
        done[n].at = d.n;
    }

    s->ncommitted = n;

    return MCP_STORE_OK;
}


size_t
mcp_store_op_committed(mcp_store_t *s, mcp_store_op_cb cb, void *cbdata)
{
    size_t                i;
    mcp_store_words_t     d;
    mcp_store_op_done_t  *done;

    done = s->done;

    d.v = s->detail;
    d.n = 0;
    d.cap = s->ndetail;

    for (i = 0; i < s->ncommitted; i++) {
        cb(cbdata, &done[i].op, done[i].outcome,
           mcp_store_words_at(&d, done[i].at), done[i + 1].at - done[i].at);
    }

    return s->ncommitted;
}


int
mcp_store_op_check(mcp_store_t *s, const mcp_store_op_t *op)
{
    int                rc;
    MDB_txn           *txn;
    mcp_store_op_t     o;
    mcp_store_words_t  d;

    if (s == NULL || s->nquotas == 0) {
        return MCP_STORE_OK;
    }

    /* not published yet: whose it is does not matter here */

    o = *op;
    o.node = "-";
    o.node_len = 1;

    rc = mcp_store_write_begin(s, &txn);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    memset(&d, 0, sizeof(mcp_store_words_t));

    rc = mcp_store_op_run(s, txn, &o, &d);

    mdb_txn_abort(txn);
    free(d.v);

    return (rc == MCP_STORE_QUOTA) ? MCP_STORE_QUOTA : MCP_STORE_OK;
}


int
mcp_store_op_applied(mcp_store_t *s, uint64_t *seq)
{
    int       rc;
    MDB_txn  *txn;

    if (s == NULL || seq == NULL) {
        return MCP_STORE_EINVAL;
    }

    rc = mcp_store_read_begin(s, &txn);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    rc = mcp_store_op_get_applied(s, txn, seq);

    mcp_store_release(s);

    return rc;
}


int
mcp_store_op_result(mcp_store_t *s, uint64_t seq, unsigned i, uint64_t *id,
    int *result)
{
    int       rc;
    MDB_txn  *txn;

    if (s == NULL || id == NULL || result == NULL) {
        return MCP_STORE_EINVAL;
    }

    rc = mcp_store_read_begin(s, &txn);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    rc = mcp_store_op_get_result(s, txn, seq, i, id, result, NULL);

    mcp_store_release(s);

    return rc;
}


/* How many fields follow the head, by kind. */

static int
mcp_store_op_fields(unsigned kind, uint64_t *n)
{
    switch (kind) {
    case MCP_STORE_OP_LINK_PUT:      *n = MCP_STORE_OP_LINK_FIELDS; break;
    case MCP_STORE_OP_LINK_DELETE:   *n = 2; break;
    case MCP_STORE_OP_LINK_CONSUME:  *n = 2; break;
    case MCP_STORE_OP_LINK_VISITS:   *n = 1; break;
    case MCP_STORE_OP_SESSION_PUT:   *n = 9; break;
    case MCP_STORE_OP_SESSION_DELETE: *n = 1; break;
    case MCP_STORE_OP_SESSION_LEVEL: *n = 2; break;
    case MCP_STORE_OP_SESSION_TOUCH: *n = 1; break;
    case MCP_STORE_OP_SESSION_EXPIRE: *n = 2; break;
    case MCP_STORE_OP_MEMORY:        *n = 4; break;
    case MCP_STORE_OP_CONTEXT_EXPIRE: *n = 2; break;
    case MCP_STORE_OP_LINK_UPDATE:   *n = 6; break;
    default:
        return MCP_STORE_EINVAL;
    }

    return MCP_STORE_OK;
}


/*
 * Does op carry a link's own status and tags (a put of a link that has
 * either, an update that sets either)?  They follow the fields that every
 * version writes, which a node of an earlier version skips.  2: and an
 * update's time after them (status and tags are then written even if set
 * names neither, and ignored).
 */

static int
mcp_store_op_link_attrs(const mcp_store_op_t *op)
{
    switch (op->kind) {

    case MCP_STORE_OP_LINK_PUT:
        return op->link.redirect_status != 0 || op->link.tags_len != 0;

    case MCP_STORE_OP_LINK_UPDATE:
        if (op->link.updated_at != 0) {
            return 2;
        }

        return (op->set & (MCP_STORE_LINK_SET_TAGS
                           |MCP_STORE_LINK_SET_STATUS))
               != 0;

    default:
        return 0;
    }
}


static int
mcp_store_op_run(mcp_store_t *s, MDB_txn *txn, const mcp_store_op_t *op,
    mcp_store_words_t *d)
{
    if (op->node_len == 0 || op->node_len > MCP_STORE_OP_NODE_MAX) {
        return MCP_STORE_EINVAL;
    }

    switch (op->kind) {
    case MCP_STORE_OP_LINK_PUT:
        return mcp_store_op_link_put(s, txn, op);
    case MCP_STORE_OP_LINK_DELETE:
    case MCP_STORE_OP_LINK_UPDATE:
        return mcp_store_op_link_change(s, txn, op);
    case MCP_STORE_OP_LINK_CONSUME:
        return mcp_store_op_link_consume(s, txn, op);
    case MCP_STORE_OP_LINK_VISITS:
        return mcp_store_op_link_visits(s, txn, op);
    case MCP_STORE_OP_SESSION_PUT:
    case MCP_STORE_OP_SESSION_LEVEL:
        return mcp_store_op_session_put(s, txn, op);
    case MCP_STORE_OP_SESSION_DELETE:
        return mcp_store_op_session_delete(s, txn, op);
    case MCP_STORE_OP_SESSION_TOUCH:
        return mcp_store_op_session_touch(s, txn, op);
    case MCP_STORE_OP_SESSION_EXPIRE:
        return mcp_store_op_session_expire(s, txn, op);
    case MCP_STORE_OP_MEMORY:
        return mcp_store_op_memory(s, txn, op, d);
    case MCP_STORE_OP_CONTEXT_EXPIRE:
        return mcp_store_op_context_expire(s, txn, op);
    default:
        /* of a later version: refused on every node of this one */
        return MCP_STORE_EINVAL;
    }
}


/* an outcome of the operation's own, the same on every node */

static int
mcp_store_op_outcome(int rc)
{
    switch (rc) {
    case MCP_STORE_OK:
    case MCP_STORE_EXISTS:
    case MCP_STORE_NOTFOUND:
    case MCP_STORE_EXPIRED:
    case MCP_STORE_SPENT:
    case MCP_STORE_EINVAL:
    case MCP_STORE_ETOOBIG:
        return 1;
    default:
        return 0;
    }
}


static int
mcp_store_words_add(mcp_store_words_t *d, const uint64_t *v, size_t n)
{
    size_t     cap;
    uint64_t  *p;

    if (d->n + n > d->cap) {
        cap = (d->cap == 0) ? 64 : d->cap;

        while (cap < d->n + n) {
            cap *= 2;
        }

        p = realloc(d->v, cap * sizeof(uint64_t));
        if (p == NULL) {
            return MCP_STORE_ENOMEM;
        }

        d->v = p;
        d->cap = cap;
    }

    memcpy(d->v + d->n, v, n * sizeof(uint64_t));
    d->n += n;

    return MCP_STORE_OK;
}


/* where an operation's detail starts; NULL while there is none at all */

static const uint64_t *
mcp_store_words_at(const mcp_store_words_t *d, size_t at)
{
    return (d->v != NULL) ? d->v + at : NULL;
}


/*
 * The steps of a memory or context tool call, in a transaction nested in
 * the entry's: one that fails undoes the others, and the detail is then
 * the index of the failed step alone.
 */

static int
mcp_store_op_memory(mcp_store_t *s, MDB_txn *txn, const mcp_store_op_t *op,
    mcp_store_words_t *d)
{
    int                rc, mrc;
    size_t             i, pos, start, nout;
    MDB_txn           *child;
    uint64_t           out[MCP_STORE_STEP_OUT], failed;
    mcp_store_txn_t   *t;
    mcp_store_step_t   st;

    if (mcp_store_scope_valid(op->scope.tenant, op->scope.tenant_len, 1)
        != MCP_STORE_OK
        || mcp_store_scope_valid(op->scope.ns, op->scope.ns_len, 0)
           != MCP_STORE_OK)
    {
        return MCP_STORE_EINVAL;
    }

    mrc = mdb_txn_begin(s->env, txn, 0, &child);
    if (mrc != MDB_SUCCESS) {
        return mcp_store_rc(mrc);
    }

    t = mcp_store_txn_wrap(s, child);

    start = d->n;
    pos = 0;
    rc = MCP_STORE_OK;

    for (i = 0; i < op->nitems; i++) {

        /* an operation to encode (mcp_store_op_check()) or decoded */

        if (op->steps != NULL) {
            st = op->steps[i];

        } else {
            rc = mcp_store_op_step(op, &pos, &st);
        }

        if (rc == MCP_STORE_OK) {
            rc = mcp_store_step_run(t, &op->scope, &st, op->now, out, &nout);
        }

        if (rc != MCP_STORE_OK) {
            break;
        }

        rc = mcp_store_words_add(d, out, nout);
        if (rc != MCP_STORE_OK) {
            break;
        }
    }

    mcp_store_txn_unwrap(t);

    if (rc != MCP_STORE_OK) {
        mdb_txn_abort(child);
        d->n = start;

        if (mcp_store_op_outcome(rc)) {
            failed = i;
            return (mcp_store_words_add(d, &failed, 1) == MCP_STORE_OK)
                   ? rc : MCP_STORE_ENOMEM;
        }

        return rc;
    }

    return mcp_store_rc(mdb_txn_commit(child));
}


static int
mcp_store_op_context_expire(mcp_store_t *s, MDB_txn *txn,
    const mcp_store_op_t *op)
{
    int               rc, more;
    size_t            removed;
    mcp_store_txn_t  *t;

    t = mcp_store_txn_wrap(s, txn);

    rc = mcp_store_context_expire_txn(t, op->now, (size_t) op->max, &removed,
                                      &more);

    mcp_store_txn_unwrap(t);

    return rc;
}


/*
 * A new session (SESSION_PUT), or an existing one's level changed
 * (SESSION_LEVEL): the record is encoded before the put, as the strings
 * of one read here point into the page the put rewrites.
 */

static int
mcp_store_op_session_put(mcp_store_t *s, MDB_txn *txn,
    const mcp_store_op_t *op)
{
    int                  rc;
    char                 buf[MCP_STORE_SESSION_BUF];
    MDB_val              key, val;
    mcp_store_session_t  session;

    if (mcp_store_key(&key, op->code, op->code_len) != MCP_STORE_OK) {
        return MCP_STORE_EINVAL;
    }

    if (op->kind == MCP_STORE_OP_SESSION_PUT) {
        session = op->session;

        if (!mcp_store_tenant_valid(session.tenant, session.tenant_len, 1)
            || session.protocol_len > MCP_STORE_SESSION_STR_MAX
            || session.client_name_len > MCP_STORE_SESSION_STR_MAX
            || session.client_version_len > MCP_STORE_SESSION_STR_MAX)
        {
            return MCP_STORE_EINVAL;
        }

    } else {
        rc = mcp_store_record_get(s, txn, MCP_STORE_RECORD_SESSION, op->code,
                                  op->code_len, &key, &session);
        if (rc != MCP_STORE_OK) {
            return rc;
        }

        session.log_level = op->session.log_level;
    }

    val.mv_size = mcp_store_session_encode(&session, buf, sizeof(buf));
    val.mv_data = buf;

    if (val.mv_size > sizeof(buf)) {
        return MCP_STORE_EINVAL;
    }

    return mcp_store_rc(mdb_put(txn, s->sessions, &key, &val,
                                (op->kind == MCP_STORE_OP_SESSION_PUT)
                                ? MDB_NOOVERWRITE : 0));
}


static int
mcp_store_op_session_delete(mcp_store_t *s, MDB_txn *txn,
    const mcp_store_op_t *op)
{
    MDB_val  key;

    if (mcp_store_key(&key, op->code, op->code_len) != MCP_STORE_OK) {
        return MCP_STORE_EINVAL;
    }

    return mcp_store_rc(mdb_del(txn, s->sessions, &key, NULL));
}


/* as mcp_store_session_touch(): gone sessions are skipped */

static int
mcp_store_op_session_touch(mcp_store_t *s, MDB_txn *txn,
    const mcp_store_op_t *op)
{
    int                rc;
    size_t             i, pos;
    mcp_store_touch_t  t;

    pos = 0;

    for (i = 0; i < op->nitems; i++) {
        if (mcp_store_op_touch(op, &pos, &t) != MCP_STORE_OK) {
            return MCP_STORE_OK;
        }

        rc = mcp_store_session_touch_one(s, txn, &t, 0);

        if (rc != MCP_STORE_OK && rc != MCP_STORE_NOTFOUND
            && rc != MCP_STORE_ECORRUPT)
        {
            return rc;
        }
    }

    return MCP_STORE_OK;
}


/*
 * Idle sessions go in id order from the first, so that every node
 * removes the same ones (mcp_store_session_expire() goes on from where
 * the handle's last sweep stopped, which is the handle's own).
 */

static int
mcp_store_op_session_expire(mcp_store_t *s, MDB_txn *txn,
    const mcp_store_op_t *op)
{
    char    next[MCP_STORE_CODE_MAX];
    size_t  removed, next_len;

    return mcp_store_session_sweep(s, txn, NULL, 0, op->now,
                                   (size_t) op->max, &removed, next,
                                   &next_len);
}


static int
mcp_store_op_link_put(mcp_store_t *s, MDB_txn *txn, const mcp_store_op_t *op)
{
    MDB_val           key;
    mcp_store_link_t  link;

    if (mcp_store_key(&key, op->code, op->code_len) != MCP_STORE_OK
        || !mcp_store_link_valid(&op->link))
    {
        return MCP_STORE_EINVAL;
    }

    /* a new link: what it has counted so far is nothing, on every node */

    link = op->link;
    link.visits = 0;
    link.last_visit = 0;
    link.updated_at = 0;

    return mcp_store_link_write(s, txn, &key, &link, MDB_NOOVERWRITE);
}


/*
 * LINK_UPDATE and LINK_DELETE: of the link that the operation's tenant
 * owns (an empty tenant: whoever owns it), MCP_STORE_NOTFOUND if none.
 */

static int
mcp_store_op_link_change(mcp_store_t *s, MDB_txn *txn,
    const mcp_store_op_t *op)
{
    int               rc;
    MDB_val           key;
    mcp_store_link_t  link;

    if (mcp_store_key(&key, op->code, op->code_len) != MCP_STORE_OK
        || !mcp_store_tenant_valid(op->link.tenant, op->link.tenant_len, 1))
    {
        return MCP_STORE_EINVAL;
    }

    rc = mcp_store_record_get(s, txn, MCP_STORE_RECORD_LINK, op->code,
                              op->code_len, &key, &link);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    if (op->kind == MCP_STORE_OP_LINK_UPDATE) {
        return mcp_store_link_change_fields(s, txn, &key, &link,
                                            op->link.tenant,
                                            op->link.tenant_len, &op->link,
                                            op->set);
    }

    if (op->link.tenant_len != 0
        && (link.tenant_len != op->link.tenant_len
            || memcmp(link.tenant, op->link.tenant, link.tenant_len) != 0))
    {
        return MCP_STORE_NOTFOUND;
    }

    /* the owner's quota gets the link back, as mcp_store_link_delete() */

    rc = mcp_store_usage_add(s, txn, link.tenant, link.tenant_len,
                             MCP_STORE_QUOTA_LINKS, -1,
                             -(int64_t) (op->code_len + link.url_len));
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    return mcp_store_link_del(s, txn, &key);
}


static int
mcp_store_op_link_consume(mcp_store_t *s, MDB_txn *txn,
    const mcp_store_op_t *op)
{
    int               rc;
    MDB_val           key;
    mcp_store_link_t  link;

    if (mcp_store_key(&key, op->code, op->code_len) != MCP_STORE_OK) {
        return MCP_STORE_EINVAL;
    }

    rc = mcp_store_record_get(s, txn, MCP_STORE_RECORD_LINK, op->code,
                              op->code_len, &key, &link);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    return mcp_store_link_use(s, txn, &key, &link, op->now);
}


/*
 * Batched counts, as mcp_store_link_add_visits(): links that are gone
 * are skipped; an entry that does not decode ends the batch there, on
 * every node alike.
 */

static int
mcp_store_op_link_visits(mcp_store_t *s, MDB_txn *txn,
    const mcp_store_op_t *op)
{
    int                rc;
    size_t             i, pos;
    mcp_store_visit_t  v;

    pos = 0;

    for (i = 0; i < op->nitems; i++) {
        if (mcp_store_op_visit(op, &pos, &v) != MCP_STORE_OK) {
            return MCP_STORE_OK;
        }

        rc = mcp_store_visit_add(s, txn, &v);

        if (rc != MCP_STORE_OK && rc != MCP_STORE_NOTFOUND
            && rc != MCP_STORE_ECORRUPT)
        {
            return rc;
        }
    }

    return MCP_STORE_OK;
}


static int
mcp_store_op_get_applied(mcp_store_t *s, MDB_txn *txn, uint64_t *seq)
{
    int      rc;
    MDB_val  key, val;

    key.mv_size = sizeof(MCP_STORE_OP_KEY_APPLIED) - 1;
    key.mv_data = MCP_STORE_OP_KEY_APPLIED;

    rc = mcp_store_rc(mdb_get(txn, s->meta, &key, &val));

    if (rc == MCP_STORE_NOTFOUND) {
        *seq = 0;
        return MCP_STORE_OK;
    }

    if (rc != MCP_STORE_OK) {
        return rc;
    }

    return mcp_store_uints_decode(val.mv_data, val.mv_size, seq, 1);
}


static int
mcp_store_op_put_applied(mcp_store_t *s, MDB_txn *txn, uint64_t seq)
{
    char     buf[16];
    MDB_val  key, val;

    key.mv_size = sizeof(MCP_STORE_OP_KEY_APPLIED) - 1;
    key.mv_data = MCP_STORE_OP_KEY_APPLIED;

    val.mv_size = mcp_store_uints_encode(&seq, 1, buf, sizeof(buf));
    val.mv_data = buf;

    return mcp_store_rc(mdb_put(txn, s->meta, &key, &val, 0));
}


static void
mcp_store_op_result_key(char *buf, uint64_t seq, unsigned i)
{
    int  k;

    memcpy(buf, MCP_STORE_OP_KEY_RESULT, sizeof(MCP_STORE_OP_KEY_RESULT) - 1);
    buf += sizeof(MCP_STORE_OP_KEY_RESULT) - 1;

    for (k = 7; k >= 0; k--) {
        buf[k] = (char) (seq & 0xff);
        seq >>= 8;
    }

    buf[8] = (char) ((i >> 8) & 0xff);
    buf[9] = (char) (i & 0xff);
}


static int
mcp_store_op_get_result(mcp_store_t *s, MDB_txn *txn, uint64_t seq,
    unsigned i, uint64_t *id, int *result, mcp_store_words_t *d)
{
    int               rc;
    char              kbuf[MCP_STORE_OP_RESULT_KEY];
    MDB_val           key, val;
    uint64_t          n, k, v[2], w;
    mcp_store_rbuf_t  r;

    mcp_store_op_result_key(kbuf, seq, i);

    key.mv_size = sizeof(kbuf);
    key.mv_data = kbuf;

    rc = mcp_store_rc(mdb_get(txn, s->meta, &key, &val));
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    if (mcp_store_rbuf_init(&r, val.mv_data, val.mv_size) != 0
        || mcp_store_read_array(&r, &n) != 0
        || n < 2
        || mcp_store_read_uint64(&r, &v[0]) != 0
        || mcp_store_read_uint64(&r, &v[1]) != 0
        || v[1] > 0xff)
    {
        return MCP_STORE_ECORRUPT;
    }

    for (k = 2; d != NULL && k < n; k++) {
        if (mcp_store_read_uint64(&r, &w) != 0) {
            return MCP_STORE_ECORRUPT;
        }

        rc = mcp_store_words_add(d, &w, 1);
        if (rc != MCP_STORE_OK) {
            return rc;
        }
    }

    *id = v[0];
    *result = (int) v[1];

    return MCP_STORE_OK;
}


/*
 * Records the outcome, and lets go of the oldest ones: two for each one
 * written keeps the table at about MCP_STORE_OP_RESULTS entries.
 */

static int
mcp_store_op_put_result(mcp_store_t *s, MDB_txn *txn, uint64_t seq,
    unsigned i, uint64_t id, int result, const uint64_t *detail,
    size_t ndetail)
{
    int               rc, n, k;
    char              kbuf[MCP_STORE_OP_RESULT_KEY], vbuf[64], *buf;
    size_t            j, len;
    MDB_val           key, val;
    uint64_t          old;
    MDB_cursor       *cur;
    msgpack_packer    pk;
    mcp_store_wbuf_t  w;

    mcp_store_op_result_key(kbuf, seq, i);

    key.mv_size = sizeof(kbuf);
    key.mv_data = kbuf;

    /* [id, outcome, detail...]: measured, then written */

    buf = vbuf;
    len = sizeof(vbuf);

    for ( ;; ) {
        mcp_store_wbuf_init(&w, &pk, buf, len);

        (void) msgpack_pack_array(&pk, 2 + ndetail);
        (void) msgpack_pack_uint64(&pk, id);
        (void) msgpack_pack_uint64(&pk, (uint64_t) result);

        for (j = 0; j < ndetail; j++) {
            (void) msgpack_pack_uint64(&pk, detail[j]);
        }

        if (w.len <= len) {
            break;
        }

        len = w.len;
        buf = malloc(len);
        if (buf == NULL) {
            return MCP_STORE_ENOMEM;
        }
    }

    val.mv_size = w.len;
    val.mv_data = buf;

    rc = mcp_store_rc(mdb_put(txn, s->meta, &key, &val, 0));

    if (buf != vbuf) {
        free(buf);
    }

    if (rc != MCP_STORE_OK || seq <= MCP_STORE_OP_RESULTS) {
        return rc;
    }

    rc = mcp_store_rc(mdb_cursor_open(txn, s->meta, &cur));
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    mcp_store_op_result_key(kbuf, 0, 0);

    for (n = 0; n < 2; n++) {
        key.mv_size = sizeof(kbuf);
        key.mv_data = kbuf;

        rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);

        if (rc != MDB_SUCCESS || key.mv_size != sizeof(kbuf)
            || memcmp(key.mv_data, MCP_STORE_OP_KEY_RESULT,
                      sizeof(MCP_STORE_OP_KEY_RESULT) - 1) != 0)
        {
            break;
        }

        old = 0;
        for (k = sizeof(kbuf) - 10; k < (int) sizeof(kbuf) - 2; k++) {
            old = (old << 8) | ((unsigned char *) key.mv_data)[k];
        }

        if (old + MCP_STORE_OP_RESULTS >= seq) {
            break;
        }

        rc = mdb_cursor_del(cur, 0);
        if (rc != MDB_SUCCESS) {
            mdb_cursor_close(cur);
            return mcp_store_rc(rc);
        }
    }

    mdb_cursor_close(cur);

    return MCP_STORE_OK;
}


static int
mcp_store_op_ours(const mcp_store_op_t *op, const char *node,
    size_t node_len)
{
    return op->node_len != 0
           && op->node_len == node_len
           && memcmp(op->node, node, node_len) == 0;
}
