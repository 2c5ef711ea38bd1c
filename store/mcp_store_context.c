/*
 * mcp_store: conversation contexts, in two databases.
 *
 *   "contexts"  scope, context id                 ->  context record
 *               NUL, expires_at (8 bytes BE), scope, context id  ->  empty
 *   "messages"  scope, context id, NUL, seq (8 bytes BE)  ->  message
 *
 * The second kind of "contexts" key is the expiry index: a tenant is never
 * empty, so no context's key starts with a NUL, and the expiry keys sort
 * together, soonest first, where a sweep finds the expired ones without
 * reading any other record.  A context with expires_at 0 has none.
 *
 * A message's document in the full-text index is its key after the
 * scope: "<context id>\0<seq>", the shape mcp_store_index_search() hands
 * back for mcp_store_message_search() to split.
 *
 * Message contents handed out (message_list, windows) point into the map,
 * never copied: they are the bulk of a context, and a window may hold
 * many.  Nothing here writes "messages" after reading one, so they stay
 * valid while the caller makes no write of its own to it.  The context
 * record's strings (id, summary), read in a write transaction, go through
 * mcp_store_txn_keep().
 */

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp_store_int.h"


/* "Summary of 10000 earlier messages:" and room to spare */
#define MCP_STORE_PREFIX_MAX     64

#define MCP_STORE_EXPIRY_KEY     (1 + 8)   /* NUL, expires_at */

/*
 * What a window's summary reads at most of the dropped turns, newest
 * first (but always the newest one): its cost stays bounded however
 * long the context.
 */
#define MCP_STORE_SUMMARY_INPUT  65536

/*
 * With a query, the share of the turns' budget set aside for the turns
 * most relevant to it, before recent turns take the rest: a third.
 */
#define MCP_STORE_QUERY_SHARE    3

/* how mcp_store_ctx_find() works */
#define MCP_STORE_CTX_WRITE      0x01      /* in a write transaction only */
#define MCP_STORE_CTX_KEEP       0x02      /* copy the summary out */


/* a context being worked on: its key, and its record as read */
typedef struct {
    mcp_store_txn_t            *t;
    const mcp_store_scope_t    *sc;
    mcp_store_kbuf_t            key;        /* scope, context id */
    size_t                      scope_len;
    mcp_store_context_t         rec;
} mcp_store_ctx_t;


/* a window being chosen: every message of the context, in seq order */
typedef struct {
    mcp_store_ctx_t            *cx;
    mcp_store_message_t        *msgs;
    unsigned char              *keep;
    size_t                      n;
    size_t                      nalloc;
    uint64_t                    budget;     /* tokens left for turns */
    size_t                      room;       /* entries left in the output */
    unsigned                    whole;      /* every message is kept */
    int                         rc;
    mcp_store_hit_t            *hits;       /* by relevance to the query */
    size_t                      nhits;
    const char                 *query;      /* NULL: none */
    size_t                      query_len;
} mcp_store_win_t;


typedef struct {
    const char                 *text;
    size_t                      len;
    double                      score;      /* < 0: no tokens, never taken */
    uint64_t                    matched;    /* tokens of the query in it */
    unsigned                    taken;
} mcp_store_sentence_t;


typedef struct {
    const char                 *text;
    size_t                      len;
    uint64_t                    count;
} mcp_store_term_t;


/*
 * The dropped turns' sentences and tokens.  The arrays are counted in a
 * first pass over the text (all NULL) and filled in a second.
 */
typedef struct mcp_store_summary_s {
    mcp_store_sentence_t       *sentences;
    size_t                      nsentences;
    mcp_store_term_t           *terms;
    size_t                      nterms;
    char                       *arena;
    size_t                      arena_len;
    uint64_t                    sum;        /* of the sentence being scored */
    uint64_t                    matched;    /* of the sentence being scored */
    struct mcp_store_summary_s *query;      /* its terms, or NULL */
} mcp_store_summary_t;


static int mcp_store_ctx_scope(mcp_store_ctx_t *cx, mcp_store_txn_t *t,
    const mcp_store_scope_t *sc, int write);
static int mcp_store_ctx_find(mcp_store_ctx_t *cx, mcp_store_txn_t *t,
    const mcp_store_scope_t *sc, const char *ctx, size_t ctx_len,
    unsigned how);
static int mcp_store_ctx_save(mcp_store_ctx_t *cx);
static int mcp_store_ctx_expiry(mcp_store_ctx_t *cx, int64_t old);
static int mcp_store_ctx_summary(mcp_store_ctx_t *cx, const char *text,
    size_t len, uint64_t from, uint64_t upto);
static int mcp_store_ctx_remove(mcp_store_ctx_t *cx, int budget,
    int *done);
static int mcp_store_ctx_walk(mcp_store_ctx_t *cx, uint64_t first,
    int reverse, int budget, mcp_store_message_cb cb, void *data);
static void mcp_store_msg_key(const mcp_store_ctx_t *cx, uint64_t seq,
    mcp_store_kbuf_t *kb);
static void mcp_store_expiry_key(const mcp_store_ctx_t *cx,
    int64_t expires_at, mcp_store_kbuf_t *kb);
static int mcp_store_record_put(mcp_store_txn_t *t, MDB_dbi dbi,
    const mcp_store_kbuf_t *kb, const mcp_store_context_t *c,
    const mcp_store_message_t *m, unsigned flags);
static int mcp_store_expire_one(mcp_store_txn_t *t, mcp_store_kbuf_t *ek,
    size_t *gone, int *left);
static int mcp_store_win_add(void *data, const mcp_store_message_t *m);
static int mcp_store_win_always(const mcp_store_message_t *m);
static int mcp_store_win_select(mcp_store_win_t *w, uint64_t max_tokens,
    double share, uint64_t *summary_budget, mcp_store_window_t *out,
    size_t cap);
static void mcp_store_win_recent(mcp_store_win_t *w);
static void mcp_store_win_search(mcp_store_win_t *w);
static void mcp_store_win_relevant(mcp_store_win_t *w, uint64_t limit);
static void mcp_store_win_take(mcp_store_win_t *w, size_t i);
static int mcp_store_win_summary(mcp_store_win_t *w, uint64_t budget,
    mcp_store_window_t *out);
static void mcp_store_win_newest(mcp_store_win_t *w, mcp_store_win_t *newest);
static int mcp_store_summarize(mcp_store_win_t *w, uint64_t ndropped,
    size_t max_len, const char **text, size_t *len);
static void mcp_store_summary_scan(mcp_store_summary_t *sm,
    const mcp_store_win_t *w);
static int mcp_store_summary_term(void *data, const char *token,
    size_t len);
static int mcp_store_summary_score(void *data, const char *token,
    size_t len);
static void mcp_store_summary_count(mcp_store_summary_t *sm);
static void mcp_store_summary_fold(mcp_store_summary_t *sm);
static int mcp_store_summary_query(mcp_store_summary_t *q, const char *query,
    size_t query_len);
static void mcp_store_summary_take(mcp_store_summary_t *sm, size_t budget);
static int mcp_store_bytes_cmp(const char *a, size_t alen, const char *b,
    size_t blen);
static int mcp_store_term_cmp(const void *a, const void *b);
static int mcp_store_sentence_cmp(const void *a, const void *b);
static int mcp_store_sentence_text_cmp(const void *a, const void *b);
static int mcp_store_sentence_next(const char *text, size_t len,
    size_t *pos, const char **s, size_t *n);
static int mcp_store_space(char c);
static int mcp_store_utf8_valid(const char *p, size_t len);
static void mcp_store_be8_put(char *p, uint64_t v);
static uint64_t mcp_store_be8_get(const char *p);


uint64_t
mcp_store_tokens(size_t len)
{
    return (uint64_t) (len / 4 + (len % 4 != 0)) + 3;
}


int
mcp_store_message_append(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *ctx, size_t ctx_len, mcp_store_message_t *m, int64_t now,
    int64_t ttl, mcp_store_context_t *c)
{
    int                   rc;
    int64_t               expires_at;
    mcp_store_ctx_t       cx;
    mcp_store_kbuf_t      mk;
    mcp_store_message_t   msg;

    if (m == NULL || m->role > MCP_STORE_ROLE_TOOL
        || (m->content == NULL && m->content_len != 0)
        || ttl < 0 || (ttl > 0 && now > INT64_MAX - ttl))
    {
        return MCP_STORE_EINVAL;
    }

    if (m->content_len > MCP_STORE_MESSAGE_MAX) {
        return MCP_STORE_ETOOBIG;
    }

    /* a summary is cut from contents at ASCII bytes only: valid UTF-8 in
     * makes valid UTF-8 out */

    if (!mcp_store_utf8_valid(m->content, m->content_len)) {
        return MCP_STORE_EINVAL;
    }

    /* the summary is kept (copied) before the save rewrites its page */

    rc = mcp_store_ctx_find(&cx, t, sc, ctx, ctx_len,
                            MCP_STORE_CTX_WRITE
                            | ((c != NULL) ? MCP_STORE_CTX_KEEP : 0));

    if (rc == MCP_STORE_NOTFOUND) {
        cx.rec.created_at = now;
        cx.rec.next_seq = 1;
        rc = MCP_STORE_OK;
    }

    if (rc != MCP_STORE_OK) {
        return rc;
    }

    if (cx.rec.nmessages >= MCP_STORE_MESSAGES_MAX) {
        return MCP_STORE_ETOOBIG;
    }

    msg = *m;
    msg.seq = cx.rec.next_seq;
    msg.pinned = (m->pinned != 0);
    msg.tokens = mcp_store_tokens(m->content_len);

    if (msg.created_at == 0) {
        msg.created_at = now;
    }

    mcp_store_msg_key(&cx, msg.seq, &mk);

    /* indexed before the put: the content may be a message read in this
     * transaction, on a page of "messages" that the put rewrites */

    rc = mcp_store_index_add(t, sc, MCP_STORE_DOC_MESSAGE,
                             mk.data + cx.scope_len, mk.len - cx.scope_len,
                             msg.content, msg.content_len);

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_record_put(t, t->store->messages, &mk, NULL, &msg,
                                  MDB_NOOVERWRITE);
    }

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_usage_add(t->store, t->mdb, sc->tenant, sc->tenant_len,
                                 MCP_STORE_QUOTA_MESSAGES, 1,
                                 (int64_t) msg.content_len);
    }

    if (rc != MCP_STORE_OK) {
        /* an existing seq: next_seq is behind the context's messages */
        return (rc == MCP_STORE_EXISTS) ? MCP_STORE_ECORRUPT : rc;
    }

    expires_at = cx.rec.expires_at;

    cx.rec.nmessages++;
    cx.rec.tokens += msg.tokens;
    cx.rec.next_seq++;

    /*
     * A context expires ttl seconds after its last append: an append that
     * gives no ttl renews the context's own, which is what the previous
     * append left between updated_at and expires_at.
     */

    if (ttl == 0 && expires_at > 0 && cx.rec.updated_at >= 0
        && expires_at > cx.rec.updated_at)
    {
        ttl = expires_at - cx.rec.updated_at;
    }

    if (ttl > 0 && now <= INT64_MAX - ttl) {
        cx.rec.expires_at = now + ttl;
    }

    cx.rec.updated_at = now;

    /* the record first: its summary may be on the page of "contexts"
     * that moving the expiry key rewrites */

    rc = mcp_store_ctx_save(&cx);

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_ctx_expiry(&cx, expires_at);
    }

    if (rc != MCP_STORE_OK) {
        return rc;
    }

    m->seq = msg.seq;
    m->tokens = msg.tokens;
    m->created_at = msg.created_at;

    if (c != NULL) {
        *c = cx.rec;
    }

    return MCP_STORE_OK;
}


int
mcp_store_context_get(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *ctx, size_t ctx_len, mcp_store_context_t *c)
{
    int              rc;
    mcp_store_ctx_t  cx;

    if (c == NULL) {
        return MCP_STORE_EINVAL;
    }

    rc = mcp_store_ctx_find(&cx, t, sc, ctx, ctx_len, MCP_STORE_CTX_KEEP);

    if (rc == MCP_STORE_OK) {
        *c = cx.rec;
    }

    return rc;
}


int
mcp_store_message_list(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *ctx, size_t ctx_len, uint64_t first, unsigned flags,
    mcp_store_message_cb cb, void *data)
{
    int              rc;
    mcp_store_ctx_t  cx;

    if (cb == NULL || (flags & ~(unsigned) MCP_STORE_REVERSE)) {
        return MCP_STORE_EINVAL;
    }

    rc = mcp_store_ctx_find(&cx, t, sc, ctx, ctx_len, 0);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    return mcp_store_ctx_walk(&cx, first, (flags & MCP_STORE_REVERSE) != 0,
                              1, cb, data);
}


/*
 * An empty text removes the summary.  A summary covers messages that
 * exist or existed: 1 <= from <= upto < next_seq.
 */

int
mcp_store_context_summary(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *ctx, size_t ctx_len, const char *text, size_t text_len,
    uint64_t from, uint64_t upto)
{
    int              rc;
    mcp_store_ctx_t  cx;

    if ((text == NULL && text_len != 0)
        || !mcp_store_utf8_valid(text, text_len))
    {
        return MCP_STORE_EINVAL;
    }

    if (text_len > MCP_STORE_MESSAGE_MAX) {
        return MCP_STORE_ETOOBIG;
    }

    rc = mcp_store_ctx_find(&cx, t, sc, ctx, ctx_len, MCP_STORE_CTX_WRITE);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    if (text_len == 0) {
        return mcp_store_ctx_summary(&cx, NULL, 0, 0, 0);
    }

    if (from == 0 || from > upto || upto >= cx.rec.next_seq) {
        return MCP_STORE_EINVAL;
    }

    return mcp_store_ctx_summary(&cx, text, text_len, from, upto);
}


int
mcp_store_context_delete(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *ctx, size_t ctx_len)
{
    int              rc, done;
    mcp_store_ctx_t  cx;

    rc = mcp_store_ctx_find(&cx, t, sc, ctx, ctx_len, MCP_STORE_CTX_WRITE);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    return mcp_store_ctx_remove(&cx, 1, &done);
}


/*
 * As mcp_store_link_list(): records that do not decode are skipped, and
 * the walk looks one context past the last it passes to cb, so that
 * "more" is exact.
 */

int
mcp_store_context_list(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *after, size_t after_len, size_t limit,
    mcp_store_context_cb cb, void *data, int *more)
{
    int                   rc, stop, next;
    size_t                n;
    MDB_val               key, val;
    MDB_cursor           *cur;
    mcp_store_ctx_t       cx;
    mcp_store_kbuf_t      start;
    mcp_store_context_t   c;

    if (more != NULL) {
        *more = 0;
    }

    if (cb == NULL || (after == NULL && after_len != 0)) {
        return MCP_STORE_EINVAL;
    }

    rc = mcp_store_ctx_scope(&cx, t, sc, 0);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    start = cx.key;

    if (after_len != 0) {
        rc = mcp_store_kbuf_name(&start, after, after_len, 0);
        if (rc != MCP_STORE_OK) {
            return rc;
        }
    }

    rc = mcp_store_txn_cursor(t, t->store->contexts, &cur);
    if (rc != MCP_STORE_OK) {
        return (rc == MCP_STORE_NOTFOUND) ? MCP_STORE_OK : rc;
    }

    mcp_store_kbuf_val(&start, &key);

    rc = mcp_store_scan(cur, MDB_SET_RANGE, cx.key.data, cx.scope_len, &key,
                        &val);

    if (rc == MDB_SUCCESS && after_len != 0 && key.mv_size == start.len
        && memcmp(key.mv_data, start.data, start.len) == 0)
    {
        rc = mcp_store_scan(cur, MDB_NEXT, cx.key.data, cx.scope_len, &key,
                            &val);
    }

    n = 0;
    stop = 0;
    next = 0;

    for ( /* void */ ; rc == MDB_SUCCESS;
         rc = mcp_store_scan(cur, MDB_NEXT, cx.key.data, cx.scope_len, &key,
                             &val))
    {
        if (key.mv_size == cx.scope_len
            || mcp_store_context_decode(val.mv_data, val.mv_size, &c)
               != MCP_STORE_OK)
        {
            continue;
        }

        if (stop || (limit != 0 && n == limit)
            || mcp_store_txn_spent(t))
        {
            next = 1;
            break;
        }

        mcp_store_work(t, key.mv_size + val.mv_size);

        c.id_len = key.mv_size - cx.scope_len;
        c.id = mcp_store_txn_keep(t, (char *) key.mv_data + cx.scope_len,
                                  c.id_len);

        if (c.summary != NULL && c.id != NULL) {
            c.summary = mcp_store_txn_keep(t, c.summary, c.summary_len);
        }

        if (c.id == NULL || (c.summary == NULL && c.summary_len != 0)) {
            mdb_cursor_close(cur);
            return MCP_STORE_ENOMEM;
        }

        n++;

        if (cb(data, &c)) {
            stop = 1;
        }
    }

    mdb_cursor_close(cur);

    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        return mcp_store_rc(rc);
    }

    if (more != NULL) {
        *more = next;
    }

    return MCP_STORE_OK;
}


/*
 * The index's documents of a context all start with "<context id>\0";
 * its hits are split back into the context id and the seq.
 */

int
mcp_store_message_search(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *ctx, size_t ctx_len, const char *query, size_t query_len,
    size_t offset, mcp_store_hit_t *hits, size_t cap, size_t *nhits,
    size_t *total)
{
    int               rc;
    size_t            i;
    const char       *nul;
    mcp_store_hit_t  *h;
    char              prefix[MCP_STORE_NAME_MAX + 1];

    if (ctx_len != 0) {
        rc = mcp_store_name_valid(ctx, ctx_len);
        if (rc != MCP_STORE_OK) {
            return rc;
        }

        memcpy(prefix, ctx, ctx_len);
        prefix[ctx_len++] = '\0';
    }

    rc = mcp_store_index_search(t, sc, MCP_STORE_DOC_MESSAGE, prefix,
                                ctx_len, query, query_len, offset, hits, cap,
                                nhits, total);

    for (i = 0; rc == MCP_STORE_OK && i < *nhits; i++) {
        h = &hits[i];
        nul = memchr(h->doc, '\0', h->doc_len);

        if (nul == NULL || nul == h->doc
            || h->doc_len - (size_t) (nul - h->doc) != 1 + 8)
        {
            *nhits = 0;
            return MCP_STORE_ECORRUPT;
        }

        h->doc_len = (size_t) (nul - h->doc);
        h->seq = mcp_store_be8_get(nul + 1);
    }

    return rc;
}


/*
 * Each round looks the soonest expiry key up again, as the one before has
 * deleted what the cursor stood on.  A key that does not match its
 * context (gone, rewritten, not decoding) is deleted alone; both kinds
 * count towards max, which bounds the transaction, and so does the work
 * budget: a context whose messages outlast it keeps the rest, and its
 * expiry key, for the next call.
 */

int
mcp_store_context_expire(mcp_store_t *s, int64_t now, size_t max,
    size_t *removed, int *more)
{
    int               rc, left;
    size_t            n;
    mcp_store_txn_t  *t;

    if (removed != NULL) {
        *removed = 0;
    }

    if (more != NULL) {
        *more = 0;
    }

    if (s == NULL) {
        return MCP_STORE_EINVAL;
    }

    if (max == 0 || now <= 0) {
        return MCP_STORE_OK;
    }

    rc = mcp_store_txn_begin(s, 0, &t);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    rc = mcp_store_context_expire_txn(t, now, max, &n, &left);

    if (rc != MCP_STORE_OK) {
        mcp_store_txn_abort(t);
        return rc;
    }

    rc = mcp_store_txn_commit(t);

    if (rc == MCP_STORE_OK && removed != NULL) {
        *removed = n;
    }

    if (rc == MCP_STORE_OK && more != NULL) {
        *more = left;
    }

    return rc;
}


int
mcp_store_context_expired(mcp_store_t *s, int64_t now, int *any)
{
    int               rc, mrc;
    MDB_val           key, val;
    MDB_cursor       *cur;
    mcp_store_txn_t  *t;

    *any = 0;

    rc = mcp_store_txn_begin(s, MCP_STORE_RDONLY, &t);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    rc = mcp_store_txn_cursor(t, s->contexts, &cur);

    if (rc == MCP_STORE_OK) {
        key.mv_size = 1;
        key.mv_data = "";

        mrc = mcp_store_scan(cur, MDB_SET_RANGE, "", 1, &key, &val);

        /* the soonest expiry key, as mcp_store_context_expire() finds it */

        *any = (mrc == MDB_SUCCESS
                && (key.mv_size <= MCP_STORE_EXPIRY_KEY
                    || mcp_store_be8_get((char *) key.mv_data + 1)
                       < (uint64_t) now));

        mdb_cursor_close(cur);

    } else if (rc == MCP_STORE_NOTFOUND) {
        rc = MCP_STORE_OK;
    }

    mcp_store_txn_abort(t);

    return rc;
}


/*
 * The work of mcp_store_context_expire() inside the caller's write
 * transaction t (a cluster's operation is applied in one of its own).
 * What it removes depends only on now, max and the store: the soonest
 * expiry first.
 */

int
mcp_store_context_expire_txn(mcp_store_txn_t *t, int64_t now, size_t max,
    size_t *removed, int *more)
{
    int                rc, mrc, left;
    size_t             i, n;
    MDB_val            key, val;
    MDB_cursor        *cur;
    mcp_store_t       *s;
    mcp_store_kbuf_t   ek;

    *removed = 0;
    *more = 0;

    if (max == 0 || now <= 0) {
        return MCP_STORE_OK;
    }

    s = t->store;

    rc = mcp_store_txn_cursor(t, s->contexts, &cur);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    n = 0;
    left = 0;

    for (i = 0; rc == MCP_STORE_OK && !left; i++) {
        key.mv_size = 1;
        key.mv_data = "";

        mrc = mcp_store_scan(cur, MDB_SET_RANGE, "", 1, &key, &val);

        if (mrc != MDB_SUCCESS) {
            rc = (mrc == MDB_NOTFOUND) ? MCP_STORE_OK : mcp_store_rc(mrc);
            break;
        }

        if (key.mv_size > MCP_STORE_EXPIRY_KEY
            && key.mv_size <= sizeof(ek.data)
            && mcp_store_be8_get((char *) key.mv_data + 1) >= (uint64_t) now)
        {
            break;                      /* the soonest is still to come */
        }

        if (i == max || mcp_store_txn_spent(t)) {
            left = 1;
            break;
        }

        if (key.mv_size <= MCP_STORE_EXPIRY_KEY
            || key.mv_size > sizeof(ek.data))
        {
            rc = mcp_store_rc(mdb_cursor_del(cur, 0));
            continue;
        }

        memcpy(ek.data, key.mv_data, key.mv_size);
        ek.len = key.mv_size;

        rc = mcp_store_expire_one(t, &ek, &n, &left);
    }

    mdb_cursor_close(cur);

    if (rc == MCP_STORE_OK) {
        *removed = n;
        *more = left;
    }

    return rc;
}


/*
 * The window.  Every message costs its tokens (mcp_store_tokens(): 4
 * bytes a token, rounded up, plus 3); the budget is max_tokens, and the
 * window never spends more: tokens_used <= max_tokens always.
 *
 *   1. Pinned and system messages are always kept.  If they alone need
 *      more than max_tokens (or more entries than cap), the window is
 *      MCP_STORE_ETOOBIG with tokens_used = what they need.
 *
 *   2. If every other message (a "turn") fits too, all are kept: no
 *      summary.
 *
 *   3. Otherwise turns will be dropped, and a summary replaces them: its
 *      budget is floor(summary_share * max_tokens), capped by what the
 *      kept messages leave.  The rest is the turns' budget.
 *
 *   4. With a query, the turns are ranked by BM25 against it
 *      (mcp_store_message_search() in this context), and the best are
 *      kept first, each that fits, within a third of the turns' budget
 *      (MCP_STORE_QUERY_SHARE): the turn that answers the query makes it
 *      into a tight window however old it is.  What they leave of that
 *      third goes back to the recent turns.
 *
 *   5. Recent turns are kept newest first while they fit, up to the first
 *      that does not: the most recent part of the conversation, whole.
 *      The contents kept are work, a byte a unit: once the transaction's
 *      budget is spent, no more turns are kept (it is truncated), and the
 *      rest go to the summary as if they did not fit.  So a window holds
 *      about MCP_STORE_WORK bytes of turns at most.
 *
 *   6. With a query, what the budget still holds goes to the next most
 *      relevant turns, each that fits.  Without a query, or when the
 *      query matches none, the window is steps 1 to 3 and 5.
 *
 *   7. Every turn not kept is dropped.  Without a query, if the dropped
 *      turns run from the same first to the same last seq as the stored
 *      summary, and it fits the summary budget, it is reused; otherwise a
 *      new extractive summary is made (see mcp_store_summarize()) of the
 *      newest MCP_STORE_SUMMARY_INPUT bytes of them, and stored with that
 *      range (not in a read-only transaction).  With a query, the summary
 *      favours the sentences that share its words, so it is made for that
 *      window only: neither reused nor stored.  A summary budget too small
 *      for even its first line leaves the window without one.
 *
 * out->messages are the kept messages in seq order; the summary goes
 * before messages[summary_at], the first kept message after the first
 * dropped turn: where the dropped turns were, after the pinned and system
 * messages that precede them.  A context that does not exist has an
 * empty window.
 */

int
mcp_store_context_window(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *ctx, size_t ctx_len, uint64_t max_tokens, const char *query,
    size_t query_len, double summary_share, mcp_store_window_t *out,
    size_t cap)
{
    int               rc;
    size_t            i;
    uint64_t          budget;
    mcp_store_ctx_t   cx;
    mcp_store_win_t   w;

    if (out == NULL || (out->messages == NULL && cap != 0)
        || (query == NULL && query_len != 0)
        || !(summary_share >= 0.0 && summary_share <= 1.0))
    {
        return MCP_STORE_EINVAL;
    }

    out->nmessages = 0;
    out->tokens_used = 0;
    out->dropped = 0;
    out->summary = NULL;
    out->summary_len = 0;
    out->summary_tokens = 0;
    out->summary_at = 0;

    rc = mcp_store_ctx_find(&cx, t, sc, ctx, ctx_len, 0);
    if (rc != MCP_STORE_OK) {
        return (rc == MCP_STORE_NOTFOUND) ? MCP_STORE_OK : rc;
    }

    if (cx.rec.nmessages > MCP_STORE_MESSAGES_MAX) {
        return MCP_STORE_ECORRUPT;
    }

    memset(&w, 0, sizeof(mcp_store_win_t));

    w.cx = &cx;
    w.query = (query_len != 0) ? query : NULL;
    w.query_len = query_len;
    w.nalloc = (size_t) cx.rec.nmessages;
    w.msgs = malloc(w.nalloc * (sizeof(mcp_store_message_t) + 1) + 1);

    if (w.msgs == NULL) {
        return MCP_STORE_ENOMEM;
    }

    w.keep = (unsigned char *) (w.msgs + w.nalloc);
    memset(w.keep, 0, w.nalloc);

    rc = mcp_store_ctx_walk(&cx, 1, 0, 0, mcp_store_win_add, &w);

    if (rc == MCP_STORE_OK) {
        rc = w.rc;
    }

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_win_select(&w, max_tokens, summary_share, &budget, out,
                                  cap);
    }

    if (rc == MCP_STORE_OK && !w.whole) {
        mcp_store_win_search(&w);
        mcp_store_win_relevant(&w, w.budget / MCP_STORE_QUERY_SHARE);
        mcp_store_win_recent(&w);
        mcp_store_win_relevant(&w, w.budget);

        rc = mcp_store_win_summary(&w, budget, out);
    }

    if (rc == MCP_STORE_OK) {
        for (i = 0; i < w.n; i++) {
            if (w.keep[i]) {
                out->messages[out->nmessages++] = w.msgs[i];
                out->tokens_used += w.msgs[i].tokens;
            }
        }

        out->tokens_used += out->summary_tokens;

        assert(out->tokens_used <= max_tokens);
        assert(out->nmessages <= cap);
    }

    free(w.hits);
    free(w.msgs);

    return rc;
}


static int
mcp_store_ctx_scope(mcp_store_ctx_t *cx, mcp_store_txn_t *t,
    const mcp_store_scope_t *sc, int write)
{
    int  rc;

    if (t == NULL || t->mdb == NULL || (write && t->rdonly)) {
        return MCP_STORE_EINVAL;
    }

    rc = mcp_store_kbuf_scope(&cx->key, sc);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    cx->t = t;
    cx->sc = sc;
    cx->scope_len = cx->key.len;

    memset(&cx->rec, 0, sizeof(mcp_store_context_t));

    return MCP_STORE_OK;
}


/*
 * Checks the arguments, builds the context's key and reads its record
 * into cx->rec: MCP_STORE_NOTFOUND, with cx ready for a new context, if
 * there is none.  With MCP_STORE_CTX_KEEP the summary is copied where a
 * write transaction's later writes cannot move it.
 */

static int
mcp_store_ctx_find(mcp_store_ctx_t *cx, mcp_store_txn_t *t,
    const mcp_store_scope_t *sc, const char *ctx, size_t ctx_len,
    unsigned how)
{
    int      rc;
    MDB_val  val;

    rc = mcp_store_ctx_scope(cx, t, sc, how & MCP_STORE_CTX_WRITE);

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_kbuf_name(&cx->key, ctx, ctx_len, 0);
    }

    if (rc != MCP_STORE_OK) {
        return rc;
    }

    cx->rec.id = ctx;
    cx->rec.id_len = ctx_len;

    rc = mcp_store_txn_get(t, t->store->contexts, &cx->key, &val);

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_context_decode(val.mv_data, val.mv_size, &cx->rec);
    }

    if (rc == MCP_STORE_OK && (how & MCP_STORE_CTX_KEEP)
        && cx->rec.summary != NULL)
    {
        cx->rec.summary = mcp_store_txn_keep(t, cx->rec.summary,
                                             cx->rec.summary_len);
        if (cx->rec.summary == NULL) {
            rc = MCP_STORE_ENOMEM;
        }
    }

    return rc;
}


static int
mcp_store_ctx_save(mcp_store_ctx_t *cx)
{
    return mcp_store_record_put(cx->t, cx->t->store->contexts, &cx->key,
                                &cx->rec, NULL, 0);
}


/*
 * Moves the context's expiry key from old to where cx->rec.expires_at
 * says (0: none).
 */

static int
mcp_store_ctx_expiry(mcp_store_ctx_t *cx, int64_t old)
{
    int               rc;
    MDB_val           key, val;
    mcp_store_kbuf_t  ek;

    if (cx->rec.expires_at == old) {
        return MCP_STORE_OK;
    }

    if (old > 0) {
        mcp_store_expiry_key(cx, old, &ek);
        mcp_store_kbuf_val(&ek, &key);

        rc = mcp_store_rc(mdb_del(cx->t->mdb, cx->t->store->contexts, &key,
                                  NULL));

        if (rc != MCP_STORE_OK && rc != MCP_STORE_NOTFOUND) {
            return rc;
        }
    }

    if (cx->rec.expires_at <= 0) {
        return MCP_STORE_OK;
    }

    mcp_store_expiry_key(cx, cx->rec.expires_at, &ek);
    mcp_store_kbuf_val(&ek, &key);

    val.mv_size = 0;
    val.mv_data = NULL;

    return mcp_store_rc(mdb_put(cx->t->mdb, cx->t->store->contexts, &key,
                                &val, 0));
}


static int
mcp_store_ctx_summary(mcp_store_ctx_t *cx, const char *text, size_t len,
    uint64_t from, uint64_t upto)
{
    cx->rec.summary = text;
    cx->rec.summary_len = len;
    cx->rec.summary_from = from;
    cx->rec.summary_upto = upto;

    return mcp_store_ctx_save(cx);
}


/*
 * Each message's postings go with it; the index needs the text it
 * indexed, so a message that does not decode loses its record only.
 * With budget, once the transaction's work budget is spent (but after
 * one message at least), the context keeps the messages that are left,
 * with a record that counts them, and *done is 0.
 */

static int
mcp_store_ctx_remove(mcp_store_ctx_t *cx, int budget, int *done)
{
    int                   rc, urc;
    size_t                plen;
    int64_t               expires_at;
    MDB_val               key, val;
    uint64_t              n, tokens, bytes;
    MDB_cursor           *cur;
    mcp_store_kbuf_t      mk;
    mcp_store_message_t   m;

    *done = 0;

    mcp_store_msg_key(cx, 0, &mk);
    plen = cx->key.len + 1;

    rc = mcp_store_txn_cursor(cx->t, cx->t->store->messages, &cur);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    key.mv_size = plen;
    key.mv_data = mk.data;
    n = 0;
    tokens = 0;
    bytes = 0;

    for (rc = mcp_store_scan(cur, MDB_SET_RANGE, mk.data, plen, &key, &val);
         rc == MDB_SUCCESS;
         rc = mcp_store_scan(cur, MDB_NEXT, mk.data, plen, &key, &val))
    {
        if (budget && n > 0 && mcp_store_txn_spent(cx->t)) {
            break;
        }

        if (mcp_store_message_decode(val.mv_data, val.mv_size, &m)
            == MCP_STORE_OK)
        {
            rc = mcp_store_index_remove(cx->t, cx->sc, MCP_STORE_DOC_MESSAGE,
                                        (char *) key.mv_data + cx->scope_len,
                                        key.mv_size - cx->scope_len,
                                        m.content, m.content_len);
            if (rc != MCP_STORE_OK) {
                mdb_cursor_close(cur);
                return rc;
            }

            tokens += m.tokens;
            bytes += m.content_len;
        }

        n++;

        rc = mdb_cursor_del(cur, 0);
        if (rc != MDB_SUCCESS) {
            break;
        }
    }

    mdb_cursor_close(cur);

    if (rc == MDB_SUCCESS || rc == MDB_NOTFOUND) {
        urc = mcp_store_usage_add(cx->t->store, cx->t->mdb, cx->sc->tenant,
                                  cx->sc->tenant_len,
                                  MCP_STORE_QUOTA_MESSAGES, -(int64_t) n,
                                  -(int64_t) bytes);
        if (urc != MCP_STORE_OK) {
            return urc;
        }
    }

    if (rc == MDB_SUCCESS) {
        cx->rec.nmessages -= (n < cx->rec.nmessages) ? n : cx->rec.nmessages;
        cx->rec.tokens -= (tokens < cx->rec.tokens) ? tokens
                                                    : cx->rec.tokens;

        return mcp_store_ctx_save(cx);
    }

    if (rc != MDB_NOTFOUND) {
        return mcp_store_rc(rc);
    }

    expires_at = cx->rec.expires_at;
    cx->rec.expires_at = 0;

    rc = mcp_store_ctx_expiry(cx, expires_at);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    mcp_store_kbuf_val(&cx->key, &key);

    rc = mcp_store_rc(mdb_del(cx->t->mdb, cx->t->store->contexts, &key,
                              NULL));

    *done = (rc == MCP_STORE_OK);

    return rc;
}


/*
 * Calls cb for the context's messages from seq first up, or down with
 * reverse.  Going down, the walk starts at first if it exists, else at
 * the message before where first would be.  With budget, each message
 * costs its bytes of work, and the walk ends where the budget does.
 */

static int
mcp_store_ctx_walk(mcp_store_ctx_t *cx, uint64_t first, int reverse,
    int budget, mcp_store_message_cb cb, void *data)
{
    int                   rc;
    size_t                plen;
    MDB_val               key, val;
    MDB_cursor_op         op;
    MDB_cursor           *cur;
    mcp_store_kbuf_t      mk;
    mcp_store_message_t   m;

    mcp_store_msg_key(cx, first, &mk);
    plen = cx->key.len + 1;

    rc = mcp_store_txn_cursor(cx->t, cx->t->store->messages, &cur);
    if (rc != MCP_STORE_OK) {
        return (rc == MCP_STORE_NOTFOUND) ? MCP_STORE_OK : rc;
    }

    mcp_store_kbuf_val(&mk, &key);

    if (!reverse) {
        rc = mcp_store_scan(cur, MDB_SET_RANGE, mk.data, plen, &key, &val);

    } else {
        rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);

        if (rc == MDB_NOTFOUND) {
            rc = mcp_store_scan(cur, MDB_LAST, mk.data, plen, &key, &val);

        } else if (rc == MDB_SUCCESS
                   && (key.mv_size != mk.len
                       || memcmp(key.mv_data, mk.data, mk.len) != 0))
        {
            rc = mcp_store_scan(cur, MDB_PREV, mk.data, plen, &key, &val);
        }
    }

    op = reverse ? MDB_PREV : MDB_NEXT;

    for ( /* void */ ; rc == MDB_SUCCESS;
         rc = mcp_store_scan(cur, op, mk.data, plen, &key, &val))
    {
        if (budget) {
            if (mcp_store_txn_spent(cx->t)) {
                break;
            }

            mcp_store_work(cx->t, key.mv_size + val.mv_size);
        }

        if (key.mv_size != plen + 8
            || mcp_store_message_decode(val.mv_data, val.mv_size, &m)
               != MCP_STORE_OK)
        {
            mdb_cursor_close(cur);
            return MCP_STORE_ECORRUPT;
        }

        m.seq = mcp_store_be8_get((char *) key.mv_data + plen);

        if (cb(data, &m)) {
            break;
        }
    }

    mdb_cursor_close(cur);

    return (rc == MDB_NOTFOUND) ? MCP_STORE_OK : mcp_store_rc(rc);
}


static void
mcp_store_msg_key(const mcp_store_ctx_t *cx, uint64_t seq,
    mcp_store_kbuf_t *kb)
{
    char  be[8];

    mcp_store_be8_put(be, seq);

    /* cannot fail: the largest scope and context id leave room */

    *kb = cx->key;
    (void) mcp_store_kbuf_add(kb, NULL, 0, 1);
    (void) mcp_store_kbuf_add(kb, be, 8, 0);
}


static void
mcp_store_expiry_key(const mcp_store_ctx_t *cx, int64_t expires_at,
    mcp_store_kbuf_t *kb)
{
    char  be[8];

    mcp_store_be8_put(be, (uint64_t) expires_at);

    kb->len = 0;
    (void) mcp_store_kbuf_add(kb, NULL, 0, 1);
    (void) mcp_store_kbuf_add(kb, be, 8, 0);
    (void) mcp_store_kbuf_add(kb, cx->key.data, cx->key.len, 0);
}


/*
 * Writes a context record (c) or a message (m).  Either may hold strings
 * that point into the map, on a page the put may rewrite, so the record
 * is encoded into memory of its own first, never into the map
 * (MDB_RESERVE).
 */

static int
mcp_store_record_put(mcp_store_txn_t *t, MDB_dbi dbi,
    const mcp_store_kbuf_t *kb, const mcp_store_context_t *c,
    const mcp_store_message_t *m, unsigned flags)
{
    int       rc;
    char     *buf;
    size_t    size;
    MDB_val   key, val;

    size = (c != NULL) ? mcp_store_context_encode(c, NULL, 0)
                       : mcp_store_message_encode(m, NULL, 0);

    buf = malloc(size);
    if (buf == NULL) {
        return MCP_STORE_ENOMEM;
    }

    (void) ((c != NULL) ? mcp_store_context_encode(c, buf, size)
                        : mcp_store_message_encode(m, buf, size));

    mcp_store_kbuf_val(kb, &key);
    val.mv_size = size;
    val.mv_data = buf;

    rc = mcp_store_rc(mdb_put(t->mdb, dbi, &key, &val, flags));

    free(buf);

    return rc;
}


/*
 * ek is an expiry key: NUL, expires_at, tenant, NUL, namespace, NUL,
 * context id.  *gone counts the context if it is removed, *left is set
 * if the budget leaves some of it for the next sweep.
 */

static int
mcp_store_expire_one(mcp_store_txn_t *t, mcp_store_kbuf_t *ek, size_t *gone,
    int *left)
{
    int                 rc, done;
    char               *p, *end, *nul;
    MDB_val             key;
    mcp_store_ctx_t     cx;
    mcp_store_scope_t   sc;

    p = ek->data + MCP_STORE_EXPIRY_KEY;
    end = ek->data + ek->len;

    rc = MCP_STORE_EINVAL;
    nul = memchr(p, '\0', (size_t) (end - p));

    if (nul != NULL) {
        sc.tenant = p;
        sc.tenant_len = (size_t) (nul - p);

        p = nul + 1;
        nul = memchr(p, '\0', (size_t) (end - p));
    }

    if (nul != NULL) {
        sc.ns = p;
        sc.ns_len = (size_t) (nul - p);

        p = nul + 1;
        rc = mcp_store_ctx_find(&cx, t, &sc, p, (size_t) (end - p),
                                MCP_STORE_CTX_WRITE);
    }

    if (rc == MCP_STORE_OK
        && (uint64_t) cx.rec.expires_at
           == mcp_store_be8_get(ek->data + 1))
    {
        rc = mcp_store_ctx_remove(&cx, 1, &done);

        if (done) {
            (*gone)++;

        } else {
            *left = 1;
        }

        return rc;
    }

    /* what cannot be read is not the key's fault: the sweep stops */

    if (rc == MCP_STORE_EIO || rc == MCP_STORE_ENOMEM) {
        return rc;
    }

    mcp_store_kbuf_val(ek, &key);

    return mcp_store_rc(mdb_del(t->mdb, t->store->contexts, &key, NULL));
}


static int
mcp_store_win_add(void *data, const mcp_store_message_t *m)
{
    mcp_store_win_t  *w = data;

    if (w->n == w->nalloc) {
        w->rc = MCP_STORE_ECORRUPT;     /* more than nmessages */
        return 1;
    }

    w->msgs[w->n++] = *m;

    return 0;
}


static int
mcp_store_win_always(const mcp_store_message_t *m)
{
    return m->pinned || m->role == MCP_STORE_ROLE_SYSTEM;
}


/*
 * Steps 1 to 3 of the window; *summary_budget receives the summary's.
 */

static int
mcp_store_win_select(mcp_store_win_t *w, uint64_t max_tokens, double share,
    uint64_t *summary_budget, mcp_store_window_t *out, size_t cap)
{
    size_t            i, npinned, nturns;
    double            want;
    uint64_t          need, turns, avail, sb, bytes;
    mcp_store_txn_t  *t;

    t = w->cx->t;
    need = 0;
    turns = 0;
    bytes = 0;
    npinned = 0;
    nturns = 0;

    /* what the window holds is work: its contents, a byte a unit */

    for (i = 0; i < w->n; i++) {
        if (mcp_store_win_always(&w->msgs[i])) {
            w->keep[i] = 1;
            need += w->msgs[i].tokens;
            npinned++;
            mcp_store_work(t, w->msgs[i].content_len);

        } else {
            turns += w->msgs[i].tokens;
            bytes += w->msgs[i].content_len;
            nturns++;
        }
    }

    if (need > max_tokens || npinned > cap) {
        out->tokens_used = need;
        return MCP_STORE_ETOOBIG;
    }

    avail = max_tokens - need;

    if (turns <= avail && nturns <= cap - npinned && bytes <= t->work) {
        mcp_store_work(t, bytes);
        memset(w->keep, 1, w->n);
        w->whole = 1;
        *summary_budget = 0;
        return MCP_STORE_OK;
    }

    /* a double of 2^64 or more does not convert */

    want = share * (double) max_tokens;
    sb = (want >= (double) avail) ? avail : (uint64_t) want;

    *summary_budget = sb;
    w->budget = avail - sb;
    w->room = cap - npinned;

    return MCP_STORE_OK;
}


/*
 * Step 5: recent turns, newest first, up to the first that does not fit
 * (turns kept for the query are passed over).
 */

static void
mcp_store_win_recent(mcp_store_win_t *w)
{
    size_t  i;

    for (i = w->n; i-- > 0; ) {
        if (w->keep[i]) {
            continue;
        }

        if (w->msgs[i].tokens > w->budget || w->room == 0
            || mcp_store_txn_spent(w->cx->t))
        {
            break;
        }

        mcp_store_win_take(w, i);
    }
}


/*
 * The context's messages ranked against the query, once for steps 4 and
 * 6.  A failed search (a query matching more documents than one search
 * ranks, say) finds nothing: the window is then as recency makes it.
 */

static void
mcp_store_win_search(mcp_store_win_t *w)
{
    if (w->query == NULL || w->n == 0) {
        return;
    }

    w->hits = malloc(w->n * sizeof(mcp_store_hit_t));
    if (w->hits == NULL) {
        return;
    }

    if (mcp_store_message_search(w->cx->t, w->cx->sc, w->cx->rec.id,
                                 w->cx->rec.id_len, w->query, w->query_len,
                                 0, w->hits, w->n, &w->nhits, NULL)
        != MCP_STORE_OK)
    {
        w->nhits = 0;
    }
}


/*
 * Steps 4 and 6: the turns found, most relevant first, each that is not
 * kept yet and fits within limit tokens (limit <= w->budget).
 */

static void
mcp_store_win_relevant(mcp_store_win_t *w, uint64_t limit)
{
    size_t            i, k, lo, hi;
    mcp_store_hit_t  *hits;

    hits = w->hits;

    for (k = 0; k < w->nhits && w->room > 0; k++) {

        /* msgs are in seq order */

        lo = 0;
        hi = w->n;

        while (lo < hi) {
            i = lo + (hi - lo) / 2;

            if (w->msgs[i].seq < hits[k].seq) {
                lo = i + 1;

            } else {
                hi = i;
            }
        }

        if (lo < w->n && w->msgs[lo].seq == hits[k].seq && !w->keep[lo]
            && w->msgs[lo].tokens <= limit)
        {
            if (mcp_store_txn_spent(w->cx->t)) {
                break;
            }

            limit -= w->msgs[lo].tokens;
            mcp_store_win_take(w, lo);
        }
    }
}


static void
mcp_store_win_take(mcp_store_win_t *w, size_t i)
{
    w->keep[i] = 1;
    w->budget -= w->msgs[i].tokens;
    w->room--;

    mcp_store_work(w->cx->t, w->msgs[i].content_len);
}


/*
 * Step 7.  A summary of len bytes costs mcp_store_tokens(len), so the
 * budget allows 4 * (budget - 3) bytes, and never more than a message.
 */

static int
mcp_store_win_summary(mcp_store_win_t *w, uint64_t budget,
    mcp_store_window_t *out)
{
    int                   rc;
    size_t                i, max_len;
    uint64_t              first, last;
    const char           *text;
    mcp_store_win_t       newest;
    mcp_store_ctx_t      *cx;
    mcp_store_context_t  *rec;

    cx = w->cx;
    rec = &cx->rec;
    first = 0;
    last = 0;

    for (i = 0; i < w->n; i++) {
        if (!w->keep[i]) {
            if (out->dropped++ == 0) {
                first = w->msgs[i].seq;
            }

            last = w->msgs[i].seq;

        } else if (out->dropped == 0) {
            out->summary_at++;
        }
    }

    if (out->dropped == 0) {
        out->summary_at = 0;
        return MCP_STORE_OK;
    }

    max_len = (budget < 3) ? 0
              : (budget - 3 >= MCP_STORE_MESSAGE_MAX / 4)
                ? MCP_STORE_MESSAGE_MAX
                : (size_t) (budget - 3) * 4;

    if (w->query == NULL && rec->summary != NULL && rec->summary_from == first
        && rec->summary_upto == last && rec->summary_len <= max_len)
    {
        text = mcp_store_txn_keep(cx->t, rec->summary, rec->summary_len);
        if (text == NULL) {
            return MCP_STORE_ENOMEM;
        }

        out->summary_len = rec->summary_len;

    } else {
        mcp_store_win_newest(w, &newest);

        rc = mcp_store_summarize(&newest, out->dropped, max_len, &text,
                                 &out->summary_len);

        if (rc == MCP_STORE_OK && text != NULL && !cx->t->rdonly
            && w->query == NULL)
        {

            /* "contexts" only: the messages read stay where they are */

            rc = mcp_store_ctx_summary(cx, text, out->summary_len, first,
                                       last);
        }

        if (rc != MCP_STORE_OK) {
            return rc;
        }
    }

    out->summary = text;
    out->summary_tokens = (text != NULL) ? mcp_store_tokens(out->summary_len)
                                         : 0;

    return MCP_STORE_OK;
}


/*
 * The window as the summary reads it: from the newest dropped turn back,
 * as many as MCP_STORE_SUMMARY_INPUT bytes of dropped turns hold (one at
 * least); older ones are left out of it, and the transaction is marked
 * truncated.
 */

static void
mcp_store_win_newest(mcp_store_win_t *w, mcp_store_win_t *newest)
{
    size_t  i, bytes;

    *newest = *w;
    bytes = 0;

    for (i = w->n; i-- > 0; ) {
        if (w->keep[i]) {
            continue;
        }

        if (bytes > 0 && w->msgs[i].content_len > MCP_STORE_SUMMARY_INPUT
                                                   - bytes)
        {
            newest->msgs = w->msgs + i + 1;
            newest->keep = w->keep + i + 1;
            newest->n = w->n - i - 1;

            w->cx->t->truncated = 1;
            return;
        }

        bytes += w->msgs[i].content_len;
    }
}


/*
 * The extractive summary of the dropped turns, at most max_len bytes, in
 * memory the transaction owns; *text NULL if not even its first line
 * fits.
 *
 *   - The dropped turns' contents are split into sentences (see
 *     mcp_store_sentence_next()).
 *   - Each token (mcp_store_tokenize(): lower-cased, stop words out)
 *     weighs its frequency in all the dropped text; a sentence scores the
 *     sum of its tokens' weights divided by the square root of how many
 *     it has, so that long sentences do not win by length alone.  A
 *     sentence without tokens is never taken.
 *   - With a query, the sentences with more of its tokens come first,
 *     whatever their score: the summary leans toward what was asked.
 *   - Sentences are taken best first (ties: the earlier), each that still
 *     fits, a sentence said more than once at its first place only, and
 *     written in their original order, each after a space, behind
 *     "Summary of N earlier messages:".
 */

static int
mcp_store_summarize(mcp_store_win_t *w, uint64_t ndropped, size_t max_len,
    const char **text, size_t *len)
{
    int                    n;
    char                  *p;
    char                   prefix[MCP_STORE_PREFIX_MAX];
    size_t                 i, total;
    mcp_store_summary_t    sm, q;
    mcp_store_sentence_t  *s;

    *text = NULL;
    *len = 0;

    n = snprintf(prefix, sizeof(prefix), "Summary of %llu earlier message%s:",
                 (unsigned long long) ndropped, (ndropped == 1) ? "" : "s");

    if (n < 0 || (size_t) n >= sizeof(prefix) || (size_t) n > max_len) {
        return MCP_STORE_OK;
    }

    memset(&sm, 0, sizeof(mcp_store_summary_t));
    memset(&q, 0, sizeof(mcp_store_summary_t));

    if (w->query != NULL) {
        if (mcp_store_summary_query(&q, w->query, w->query_len)
            != MCP_STORE_OK)
        {
            return MCP_STORE_ENOMEM;
        }

        sm.query = &q;
    }

    mcp_store_summary_scan(&sm, w);

    /* one more byte each, so that none of them is malloc(0) */

    sm.sentences = malloc((sm.nsentences + 1) * sizeof(mcp_store_sentence_t));
    sm.terms = malloc((sm.nterms + 1) * sizeof(mcp_store_term_t));
    sm.arena = malloc(sm.arena_len + 1);

    if (sm.sentences == NULL || sm.terms == NULL || sm.arena == NULL) {
        free(sm.sentences);
        free(sm.terms);
        free(sm.arena);
        free(q.terms);
        free(q.arena);
        return MCP_STORE_ENOMEM;
    }

    sm.nsentences = 0;
    sm.nterms = 0;
    sm.arena_len = 0;

    mcp_store_summary_scan(&sm, w);
    mcp_store_summary_count(&sm);
    mcp_store_summary_take(&sm, max_len - (size_t) n);

    total = (size_t) n;

    for (i = 0; i < sm.nsentences; i++) {
        if (sm.sentences[i].taken) {
            total += 1 + sm.sentences[i].len;
        }
    }

    p = mcp_store_txn_alloc(w->cx->t, total);

    if (p != NULL) {
        *text = p;
        *len = total;

        memcpy(p, prefix, (size_t) n);
        p += n;

        for (i = 0; i < sm.nsentences; i++) {
            s = &sm.sentences[i];

            if (s->taken) {
                *p++ = ' ';
                memcpy(p, s->text, s->len);
                p += s->len;
            }
        }
    }

    free(sm.sentences);
    free(sm.terms);
    free(sm.arena);
    free(q.terms);
    free(q.arena);

    return (p != NULL) ? MCP_STORE_OK : MCP_STORE_ENOMEM;
}


/*
 * Goes through the dropped turns' sentences and their tokens: counting
 * them while sm->sentences is NULL, storing them after.
 */

static void
mcp_store_summary_scan(mcp_store_summary_t *sm, const mcp_store_win_t *w)
{
    size_t                      i, pos, len;
    const char                 *s;
    const mcp_store_message_t  *m;

    for (i = 0; i < w->n; i++) {
        if (w->keep[i]) {
            continue;
        }

        m = &w->msgs[i];
        pos = 0;

        while (mcp_store_sentence_next(m->content, m->content_len, &pos, &s,
                                       &len))
        {
            if (sm->sentences != NULL) {
                sm->sentences[sm->nsentences].text = s;
                sm->sentences[sm->nsentences].len = len;
                sm->sentences[sm->nsentences].taken = 0;
            }

            sm->nsentences++;

            (void) mcp_store_tokenize(s, len, mcp_store_summary_term, sm);
        }
    }
}


static int
mcp_store_summary_term(void *data, const char *token, size_t len)
{
    mcp_store_summary_t  *sm = data;

    mcp_store_term_t  *term;

    if (sm->terms != NULL) {
        term = &sm->terms[sm->nterms];
        term->text = memcpy(sm->arena + sm->arena_len, token, len);
        term->len = len;
        term->count = 1;
    }

    sm->nterms++;
    sm->arena_len += len;

    return 0;
}


/*
 * Scores the sentences with the dropped text's terms, and counts the
 * query's tokens in each.
 */

static void
mcp_store_summary_count(mcp_store_summary_t *sm)
{
    size_t                 i, ntokens;
    mcp_store_sentence_t  *s;

    mcp_store_summary_fold(sm);

    for (i = 0; i < sm->nsentences; i++) {
        s = &sm->sentences[i];
        sm->sum = 0;
        sm->matched = 0;

        ntokens = mcp_store_tokenize(s->text, s->len, mcp_store_summary_score,
                                     sm);

        /* sum / sqrt(ntokens) ranks as its square does: no libm */

        s->score = (ntokens == 0)
                   ? -1.0
                   : (double) sm->sum * (double) sm->sum / (double) ntokens;
        s->matched = sm->matched;
    }
}


/*
 * Sorts the tokens and folds each run of one token into one term and its
 * count.
 */

static void
mcp_store_summary_fold(mcp_store_summary_t *sm)
{
    size_t  i, n;

    qsort(sm->terms, sm->nterms, sizeof(mcp_store_term_t),
          mcp_store_term_cmp);

    n = 0;

    for (i = 0; i < sm->nterms; i++) {
        if (n > 0 && mcp_store_term_cmp(&sm->terms[n - 1], &sm->terms[i]) == 0)
        {
            sm->terms[n - 1].count++;

        } else {
            sm->terms[n++] = sm->terms[i];
        }
    }

    sm->nterms = n;
}


/*
 * The query's tokens as terms of q, counted and folded as the dropped
 * text's are; q->terms and q->arena are the caller's to free.
 */

static int
mcp_store_summary_query(mcp_store_summary_t *q, const char *query,
    size_t query_len)
{
    (void) mcp_store_tokenize(query, query_len, mcp_store_summary_term, q);

    q->terms = malloc((q->nterms + 1) * sizeof(mcp_store_term_t));
    q->arena = malloc(q->arena_len + 1);

    if (q->terms == NULL || q->arena == NULL) {
        free(q->terms);
        free(q->arena);
        q->terms = NULL;
        q->arena = NULL;
        return MCP_STORE_ENOMEM;
    }

    q->nterms = 0;
    q->arena_len = 0;

    (void) mcp_store_tokenize(query, query_len, mcp_store_summary_term, q);

    mcp_store_summary_fold(q);

    return MCP_STORE_OK;
}


static int
mcp_store_summary_score(void *data, const char *token, size_t len)
{
    mcp_store_summary_t  *sm = data;

    mcp_store_term_t   key, *term;

    key.text = token;
    key.len = len;
    key.count = 0;

    term = bsearch(&key, sm->terms, sm->nterms, sizeof(mcp_store_term_t),
                   mcp_store_term_cmp);

    if (term != NULL) {
        sm->sum += term->count;
    }

    if (sm->query != NULL
        && bsearch(&key, sm->query->terms, sm->query->nterms,
                   sizeof(mcp_store_term_t), mcp_store_term_cmp)
           != NULL)
    {
        sm->matched++;
    }

    return 0;
}


/*
 * Marks the sentences taken, best first, within budget bytes.  A sentence
 * said again ("Thanks.", a repeated question) scores as the first time:
 * only its first occurrence may be taken, so none is written twice.
 */

static void
mcp_store_summary_take(mcp_store_summary_t *sm, size_t budget)
{
    size_t                  i;
    mcp_store_sentence_t  **order;

    order = malloc((sm->nsentences + 1) * sizeof(mcp_store_sentence_t *));
    if (order == NULL) {
        return;                         /* the summary's first line only */
    }

    for (i = 0; i < sm->nsentences; i++) {
        order[i] = &sm->sentences[i];
    }

    /* equal texts side by side, the earliest first */

    qsort(order, sm->nsentences, sizeof(mcp_store_sentence_t *),
          mcp_store_sentence_text_cmp);

    for (i = 1; i < sm->nsentences; i++) {
        if (mcp_store_bytes_cmp(order[i - 1]->text, order[i - 1]->len,
                                order[i]->text, order[i]->len)
            == 0)
        {
            order[i]->score = -1.0;
            order[i]->matched = 0;
        }
    }

    qsort(order, sm->nsentences, sizeof(mcp_store_sentence_t *),
          mcp_store_sentence_cmp);

    for (i = 0; i < sm->nsentences && order[i]->score >= 0; i++) {
        if (1 + order[i]->len <= budget) {
            order[i]->taken = 1;
            budget -= 1 + order[i]->len;
        }
    }

    free(order);
}


static int
mcp_store_bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int  rc;

    rc = memcmp(a, b, (alen < blen) ? alen : blen);

    if (rc != 0) {
        return rc;
    }

    return (alen > blen) - (alen < blen);
}


static int
mcp_store_term_cmp(const void *a, const void *b)
{
    const mcp_store_term_t  *x = a, *y = b;

    return mcp_store_bytes_cmp(x->text, x->len, y->text, y->len);
}


/* best first: more of the query's tokens, then the higher score; ties go
 * to the earlier sentence (the one of lower address) */

static int
mcp_store_sentence_cmp(const void *a, const void *b)
{
    const mcp_store_sentence_t  *x = *(mcp_store_sentence_t *const *) a;
    const mcp_store_sentence_t  *y = *(mcp_store_sentence_t *const *) b;

    if (x->matched != y->matched) {
        return (x->matched < y->matched) ? 1 : -1;
    }

    if (x->score != y->score) {
        return (x->score < y->score) ? 1 : -1;
    }

    return (x > y) - (x < y);
}


/* by text; equal texts: the earlier sentence first */

static int
mcp_store_sentence_text_cmp(const void *a, const void *b)
{
    int                          rc;
    const mcp_store_sentence_t  *x = *(mcp_store_sentence_t *const *) a;
    const mcp_store_sentence_t  *y = *(mcp_store_sentence_t *const *) b;

    rc = mcp_store_bytes_cmp(x->text, x->len, y->text, y->len);

    if (rc != 0) {
        return rc;
    }

    return (x > y) - (x < y);
}


/*
 * Finds the next sentence of text from *pos: 0 at the end, else 1 with
 * *s and *n its bytes, white space trimmed.  A sentence ends at a newline,
 * or after a run of '.', '!' and '?' that white space or the end of the
 * text follows, so that "3.14" or "example.com" do not end one.  All of
 * these are ASCII bytes, which UTF-8 never uses inside a multi-byte
 * character: a sentence of valid UTF-8 holds whole characters.
 */

static int
mcp_store_sentence_next(const char *text, size_t len, size_t *pos,
    const char **s, size_t *n)
{
    size_t  i, start;

    i = *pos;

    while (i < len && mcp_store_space(text[i])) {
        i++;
    }

    if (i == len) {
        *pos = len;
        return 0;
    }

    start = i;

    while (i < len && text[i] != '\n') {
        if (text[i] != '.' && text[i] != '!' && text[i] != '?') {
            i++;
            continue;
        }

        while (i < len && (text[i] == '.' || text[i] == '!' || text[i] == '?'))
        {
            i++;
        }

        if (i == len || mcp_store_space(text[i])) {
            break;
        }
    }

    *pos = i;

    while (mcp_store_space(text[i - 1])) {
        i--;
    }

    *s = text + start;
    *n = i - start;

    return 1;
}


static int
mcp_store_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
           || c == '\v';
}


/*
 * RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF.
 */

static int
mcp_store_utf8_valid(const char *p, size_t len)
{
    size_t          i, n;
    uint32_t        c, min;
    unsigned char   b;

    i = 0;

    while (i < len) {
        b = (unsigned char) p[i++];

        if (b < 0x80) {
            continue;
        }

        if (b >= 0xc2 && b <= 0xdf) {
            n = 1;
            c = b & 0x1f;
            min = 0x80;

        } else if (b >= 0xe0 && b <= 0xef) {
            n = 2;
            c = b & 0x0f;
            min = 0x800;

        } else if (b >= 0xf0 && b <= 0xf4) {
            n = 3;
            c = b & 0x07;
            min = 0x10000;

        } else {
            return 0;
        }

        if (len - i < n) {
            return 0;
        }

        while (n--) {
            b = (unsigned char) p[i++];

            if ((b & 0xc0) != 0x80) {
                return 0;
            }

            c = (c << 6) | (b & 0x3f);
        }

        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
            return 0;
        }
    }

    return 1;
}


static void
mcp_store_be8_put(char *p, uint64_t v)
{
    int  i;

    for (i = 7; i >= 0; i--) {
        p[i] = (char) (v & 0xff);
        v >>= 8;
    }
}


static uint64_t
mcp_store_be8_get(const char *p)
{
    int       i;
    uint64_t  v;

    v = 0;

    for (i = 0; i < 8; i++) {
        v = (v << 8) | (unsigned char) p[i];
    }

    return v;
}
