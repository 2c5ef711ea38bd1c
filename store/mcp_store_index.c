/*
 * mcp_store: the full-text index of the context store, in two databases.
 *
 *   "postings"  scope, kind, token, NUL, doc id  ->  term frequency (uint)
 *   "docs"      scope, kind, NUL, doc id         ->  length in tokens (uint)
 *               scope, kind                      ->  [documents, tokens]
 *
 * Tokens never hold a NUL, so a token's postings are the keys that start
 * with scope, kind, token, NUL, and sort before those of the longer tokens
 * it is a prefix of: one cursor scan from scope, kind, token meets the
 * exact matches first, then the prefix matches, token by token.  The
 * totals record of a scope and kind is the one "docs" key with nothing
 * after the kind, and gives BM25 its document count and average length.
 * A document with no tokens has no record and is not counted.
 *
 * Scores are BM25 with
 *
 *   idf(t)      = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))
 *   score(d, t) = idf(t) * tf * (k1 + 1)
 *                 / (tf + k1 * (1 - b + b * len(d) / avglen))
 *
 * summed over the query's terms, each times its weight: a word the query
 * repeats is one term, weighed by how many times it comes, read once.
 * N and avglen are over the scope's documents of the kind, df(t) the
 * postings of t.  A query term also matches the longer tokens it is a
 * prefix of, each scored as a term of its own, but only in documents that
 * lack the query term itself: "ali" scores a document holding "ali" on
 * "ali" alone.
 * Documents matched exactly by at least one query token come first;
 * documents matched by prefixes only follow, their scores scaled into
 * (0, half the lowest exact score], order kept, so that they rank after
 * every exact match and still say how much lower they are.  Ties go by
 * doc id, for pages that do not shift.
 *
 * What a search reads is bounded, whatever the query: at most
 * MCP_STORE_QUERY_TERMS distinct terms, at most MCP_STORE_QUERY_EXPANSIONS
 * longer tokens a term, and a work budget of postings read (and document
 * lengths looked up), half of what the transaction has left.  Every
 * term's exact postings are read before any prefix matches, so that a
 * budget that runs out costs the weakest matches first.  A search cut
 * short marks the transaction truncated and ranks what it read; the df of
 * a run it did not finish counts the postings read.
 */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mcp_store_int.h"


#define MCP_STORE_TOKEN_MAX      64

/*
 * The work of indexing or unindexing a token (a posting read and
 * written), in units of the budget: as long as copying this many bytes
 * of a record read.
 */
#define MCP_STORE_TOKEN_WORK     16

#define MCP_STORE_BM25_K1        1.2
#define MCP_STORE_BM25_B         0.75

/*
 * The most documents one search ranks: its scratch memory stays under a
 * few MiB, and a query matching more is MCP_STORE_ETOOBIG (narrow it).
 */
#define MCP_STORE_SEARCH_DOCS    65536

/* a count record: at most one uint64 or an array of two */
#define MCP_STORE_COUNT_BUF      32


/* a document that matched, and what it scored so far */
typedef struct {
    const char          *doc;
    size_t               doc_len;
    double               len;
    double               exact;
    double               prefix;
    uint32_t             terms;        /* bit i: it holds query term i */
} mcp_store_acc_t;


/* a distinct word of the query */
typedef struct {
    char                 text[MCP_STORE_TOKEN_MAX];
    size_t               len;
    double               weight;       /* how many times the query has it */
} mcp_store_qterm_t;


/* a posting of the token being scanned, scored once its df is known */
typedef struct {
    size_t               acc;
    uint64_t             tf;
} mcp_store_run_t;


typedef struct {
    mcp_store_txn_t     *t;
    MDB_cursor          *cur;
    mcp_store_kbuf_t     key;          /* scope, kind, then a query token */
    mcp_store_kbuf_t     dkey;         /* scope, kind, NUL, then a doc id */
    size_t               base;         /* length of scope and kind */
    const char          *doc_prefix;
    size_t               doc_prefix_len;
    double               ndocs;
    double               avglen;

    mcp_store_qterm_t    terms[MCP_STORE_QUERY_TERMS];
    size_t               nterms;
    size_t               term;         /* the one being scanned */
    uint64_t             work;         /* units left */
    unsigned             truncated;

    mcp_store_acc_t     *acc;
    size_t               nacc;
    size_t               acc_cap;
    uint32_t            *slots;        /* hash of acc: index + 1, 0 free */
    size_t               nslots;       /* a power of two */
    mcp_store_run_t     *run;
    size_t               nrun;
    size_t               run_cap;
    int                  run_exact;
} mcp_store_search_t;


/* one text being added to or removed from a document */
typedef struct {
    mcp_store_txn_t     *t;
    mcp_store_kbuf_t     key;          /* scope, kind, then token NUL doc */
    size_t               base;
    const char          *doc;
    size_t               doc_len;
    int                  delta;
    int                  rc;
} mcp_store_update_t;


static size_t mcp_store_utf8_decode(const unsigned char *p, size_t len,
    uint32_t *cp);
static size_t mcp_store_utf8_len(uint32_t cp);
static size_t mcp_store_utf8_encode(uint32_t cp, unsigned char *p);
static int mcp_store_word_char(uint32_t cp);
static uint32_t mcp_store_fold(uint32_t cp);
static int mcp_store_any_token(void *data, const char *token, size_t len);
static int mcp_store_stop_word(const char *token, size_t len);
static int mcp_store_index_update(mcp_store_txn_t *t,
    const mcp_store_scope_t *sc, char kind, const char *doc, size_t doc_len,
    const char *text, size_t text_len, int delta);
static int mcp_store_index_start(mcp_store_kbuf_t *kb, size_t *base,
    const mcp_store_scope_t *sc, char kind);
static int mcp_store_update_token(void *data, const char *token, size_t len);
static int mcp_store_index_length(mcp_store_update_t *u, uint64_t ntokens);
static int mcp_store_count_get(mcp_store_txn_t *t, MDB_dbi dbi,
    const mcp_store_kbuf_t *kb, uint64_t *v, size_t n);
static int mcp_store_count_put(mcp_store_txn_t *t, MDB_dbi dbi,
    const mcp_store_kbuf_t *kb, const uint64_t *v, size_t n);
static int mcp_store_search_term(void *data, const char *token, size_t len);
static int mcp_store_search_scan(mcp_store_search_t *ss, int exact);
static int mcp_store_search_posting(mcp_store_search_t *ss, const char *doc,
    size_t doc_len, const MDB_val *val);
static void mcp_store_search_flush(mcp_store_search_t *ss, uint64_t df);
static int mcp_store_search_acc(mcp_store_search_t *ss, const char *doc,
    size_t doc_len, size_t *idx);
static int mcp_store_search_rehash(mcp_store_search_t *ss);
static uint32_t mcp_store_hash(const char *p, size_t len);
static void mcp_store_search_rank(mcp_store_search_t *ss);
static int mcp_store_search_cmp(const void *a, const void *b);
static void mcp_store_search_free(mcp_store_search_t *ss);
static int mcp_store_grow(void **p, size_t *cap, size_t n, size_t size);


/* sorted by length, then bytes; none is longer than 5 */
static const char  *const mcp_store_stop_words[] = {
    "a",
    "an", "as", "at", "be", "by", "he", "in", "is", "it", "of", "on", "or",
    "to",
    "and", "are", "for", "has", "its", "the", "was",
    "from", "that", "were", "will", "with"
};


size_t
mcp_store_tokenize(const char *text, size_t len, mcp_store_token_cb cb,
    void *data)
{
    return mcp_store_tokens_of(text, len, 0, cb, data);
}


/*
 * Tokens are runs of letters and digits of any script: ASCII letters and
 * digits, and every character from U+00C0 on but the punctuation blocks
 * (U+2000..U+206F, U+2E00..U+2E7F, U+3000..U+303F, the fullwidth ASCII
 * punctuation) and the signs U+00D7 and U+00F7; of U+0080..U+00BF only the
 * ordinals and the micro sign.  So typographic quotes, dashes and
 * non-breaking spaces separate words as ASCII punctuation does, and so do
 * bytes that are not UTF-8.  Letters are lower-cased in ASCII, Latin-1,
 * Latin Extended-A, Greek and Cyrillic, enough for "ZÜRICH" to meet
 * "Zürich".  A token is cut to at most MCP_STORE_TOKEN_MAX bytes of whole
 * characters.  Unless all is set, stop words are left out.
 */

size_t
mcp_store_tokens_of(const char *text, size_t len, int all,
    mcp_store_token_cb cb, void *data)
{
    size_t    i, n, count, clen;
    char      token[MCP_STORE_TOKEN_MAX];
    uint32_t  cp;

    count = 0;
    i = 0;

    while (i < len) {
        n = 0;

        while (i < len) {
            clen = mcp_store_utf8_decode((const unsigned char *) text + i,
                                         len - i, &cp);
            i += clen;

            if (!mcp_store_word_char(cp)) {
                if (n) {
                    break;
                }

                continue;
            }

            cp = mcp_store_fold(cp);

            if (n + mcp_store_utf8_len(cp) <= MCP_STORE_TOKEN_MAX) {
                n += mcp_store_utf8_encode(cp, (unsigned char *) token + n);
            }
        }

        if (n == 0 || (!all && mcp_store_stop_word(token, n))) {
            continue;
        }

        count++;

        if (cb(data, token, n) != 0) {
            break;
        }
    }

    return count;
}


/*
 * Decodes one character; an invalid or truncated sequence reads as one
 * byte of the impossible code point 0xFFFFFFFF.
 */

static size_t
mcp_store_utf8_decode(const unsigned char *p, size_t len, uint32_t *cp)
{
    size_t    n, i;
    uint32_t  c;

    c = p[0];

    if (c < 0x80) {
        *cp = c;
        return 1;
    }

    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        c &= 0x1f;

    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        c &= 0x0f;

    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        c &= 0x07;

    } else {
        goto invalid;
    }

    if (n > len) {
        goto invalid;
    }

    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            goto invalid;
        }

        c = (c << 6) | (p[i] & 0x3f);
    }

    /* overlong forms, surrogates, past U+10FFFF */

    if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff))
        || (c >= 0xd800 && c <= 0xdfff))
    {
        goto invalid;
    }

    *cp = c;
    return n;

invalid:

    *cp = 0xffffffff;
    return 1;
}


static size_t
mcp_store_utf8_len(uint32_t cp)
{
    return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}


static size_t
mcp_store_utf8_encode(uint32_t cp, unsigned char *p)
{
    if (cp < 0x80) {
        p[0] = (unsigned char) cp;
        return 1;
    }

    if (cp < 0x800) {
        p[0] = (unsigned char) (0xc0 | (cp >> 6));
        p[1] = (unsigned char) (0x80 | (cp & 0x3f));
        return 2;
    }

    if (cp < 0x10000) {
        p[0] = (unsigned char) (0xe0 | (cp >> 12));
        p[1] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
        p[2] = (unsigned char) (0x80 | (cp & 0x3f));
        return 3;
    }

    p[0] = (unsigned char) (0xf0 | (cp >> 18));
    p[1] = (unsigned char) (0x80 | ((cp >> 12) & 0x3f));
    p[2] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
    p[3] = (unsigned char) (0x80 | (cp & 0x3f));
    return 4;
}


static int
mcp_store_word_char(uint32_t cp)
{
    if (cp < 0x80) {
        return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')
               || (cp >= '0' && cp <= '9');
    }

    return cp != 0xffffffff
           && !(cp < 0xc0 && cp != 0xaa && cp != 0xb5 && cp != 0xba)
           && cp != 0xd7 && cp != 0xf7
           && !(cp >= 0x2000 && cp <= 0x206f)
           && !(cp >= 0x2e00 && cp <= 0x2e7f)
           && !(cp >= 0x3000 && cp <= 0x303f)
           && !(cp >= 0xff01 && cp <= 0xff0f)
           && !(cp >= 0xff1a && cp <= 0xff20)
           && !(cp >= 0xff3b && cp <= 0xff40)
           && !(cp >= 0xff5b && cp <= 0xff65);
}


static uint32_t
mcp_store_fold(uint32_t cp)
{
    if (cp >= 'A' && cp <= 'Z') {
        return cp + ('a' - 'A');
    }

    if (cp < 0xc0) {
        return cp;
    }

    /* Latin-1: À..Þ but × */
    if (cp <= 0xde) {
        return cp == 0xd7 ? cp : cp + 0x20;
    }

    /* Latin Extended-A: capitals are even in these runs, odd in those */
    if ((cp >= 0x100 && cp <= 0x137) || (cp >= 0x14a && cp <= 0x177)) {
        return cp | 1;
    }

    if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17e)) {
        return (cp & 1) ? cp + 1 : cp;
    }

    if (cp == 0x178) {
        return 0xff;
    }

    /* Greek Α..Ω but the gap at U+03A2 */
    if (cp >= 0x391 && cp <= 0x3a9 && cp != 0x3a2) {
        return cp + 0x20;
    }

    /* Cyrillic Ѐ..Џ and А..Я */
    if (cp >= 0x400 && cp <= 0x40f) {
        return cp + 0x50;
    }

    if (cp >= 0x410 && cp <= 0x42f) {
        return cp + 0x20;
    }

    return cp;
}


/* ends the walk at the first token: "is there one?" */

static int
mcp_store_any_token(void *data, const char *token, size_t len)
{
    (void) data;
    (void) token;
    (void) len;

    return 1;
}


static int
mcp_store_stop_word(const char *token, size_t len)
{
    size_t  i;

    for (i = 0; i < sizeof(mcp_store_stop_words) / sizeof(char *); i++) {
        if (strlen(mcp_store_stop_words[i]) == len
            && memcmp(mcp_store_stop_words[i], token, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


int
mcp_store_index_add(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    char kind, const char *doc, size_t doc_len, const char *text,
    size_t text_len)
{
    return mcp_store_index_update(t, sc, kind, doc, doc_len, text, text_len,
                                  1);
}


/*
 * Removing is lenient: a posting that is not there is skipped, and a
 * length never goes below 0, so that a document can always be dropped.
 */

int
mcp_store_index_remove(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    char kind, const char *doc, size_t doc_len, const char *text,
    size_t text_len)
{
    return mcp_store_index_update(t, sc, kind, doc, doc_len, text, text_len,
                                  -1);
}


/*
 * Each occurrence of a token changes its posting by delta; the document's
 * length and the totals change once, by the number of tokens.
 */

static int
mcp_store_index_update(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    char kind, const char *doc, size_t doc_len, const char *text,
    size_t text_len, int delta)
{
    int                 rc;
    size_t              n;
    mcp_store_update_t  u;

    if (t == NULL || t->mdb == NULL || t->rdonly || doc == NULL
        || doc_len == 0 || (text == NULL && text_len != 0))
    {
        return MCP_STORE_EINVAL;
    }

    rc = mcp_store_index_start(&u.key, &u.base, sc, kind);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    /* the longest token must fit before the doc id */

    if (u.base + MCP_STORE_TOKEN_MAX + 1 + doc_len > MCP_STORE_KEY_MAX) {
        return MCP_STORE_ETOOBIG;
    }

    u.t = t;
    u.doc = doc;
    u.doc_len = doc_len;
    u.delta = delta;
    u.rc = MCP_STORE_OK;

    /* stop words are indexed: a query of nothing else still finds them */
    n = mcp_store_tokens_of(text, text_len, 1, mcp_store_update_token, &u);

    mcp_store_work(t, n * MCP_STORE_TOKEN_WORK);

    if (u.rc != MCP_STORE_OK || n == 0) {
        return u.rc;
    }

    return mcp_store_index_length(&u, n);
}


static int
mcp_store_index_start(mcp_store_kbuf_t *kb, size_t *base,
    const mcp_store_scope_t *sc, char kind)
{
    int  rc;

    if (kind != MCP_STORE_DOC_ENTITY && kind != MCP_STORE_DOC_MESSAGE) {
        return MCP_STORE_EINVAL;
    }

    rc = mcp_store_kbuf_scope(kb, sc);

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_kbuf_add(kb, &kind, 1, 0);
    }

    *base = kb->len;

    return rc;
}


static int
mcp_store_update_token(void *data, const char *token, size_t len)
{
    mcp_store_update_t  *u = data;

    int       rc;
    uint64_t  tf;

    u->key.len = u->base;

    /* fits: checked against the longest token before tokenizing */

    (void) mcp_store_kbuf_add(&u->key, token, len, 1);
    (void) mcp_store_kbuf_add(&u->key, u->doc, u->doc_len, 0);

    rc = mcp_store_count_get(u->t, u->t->store->postings, &u->key, &tf, 1);

    if (rc == MCP_STORE_OK || rc == MCP_STORE_NOTFOUND) {
        if (u->delta < 0 && tf == 0) {
            return 0;
        }

        tf += (u->delta > 0) ? 1 : (uint64_t) -1;

        rc = mcp_store_count_put(u->t, u->t->store->postings, &u->key, &tf, 1);
    }

    u->rc = rc;

    return rc != MCP_STORE_OK;
}


static int
mcp_store_index_length(mcp_store_update_t *u, uint64_t ntokens)
{
    int       rc;
    MDB_dbi   docs;
    uint64_t  len, old, totals[2];

    docs = u->t->store->docs;

    u->key.len = u->base;

    (void) mcp_store_kbuf_add(&u->key, NULL, 0, 1);
    (void) mcp_store_kbuf_add(&u->key, u->doc, u->doc_len, 0);

    rc = mcp_store_count_get(u->t, docs, &u->key, &old, 1);
    if (rc != MCP_STORE_OK && rc != MCP_STORE_NOTFOUND) {
        return rc;
    }

    if (u->delta > 0) {
        len = old + ntokens;

    } else {
        len = (old > ntokens) ? old - ntokens : 0;
    }

    rc = mcp_store_count_put(u->t, docs, &u->key, &len, 1);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    u->key.len = u->base;

    rc = mcp_store_count_get(u->t, docs, &u->key, totals, 2);
    if (rc != MCP_STORE_OK && rc != MCP_STORE_NOTFOUND) {
        return rc;
    }

    /* a document is counted while it has tokens */

    if (old == 0 && len > 0) {
        totals[0]++;

    } else if (old > 0 && len == 0 && totals[0] > 0) {
        totals[0]--;
    }

    totals[1] = (totals[1] + len > old) ? totals[1] + len - old : 0;

    if (totals[0] == 0) {
        totals[1] = 0;
    }

    return mcp_store_count_put(u->t, docs, &u->key, totals, 2);
}


/*
 * Reads a count record.  A missing one reads as zeros, and so does one
 * that does not decode, which the next write repairs: MCP_STORE_OK either
 * way, as the index is derived data.
 */

static int
mcp_store_count_get(mcp_store_txn_t *t, MDB_dbi dbi,
    const mcp_store_kbuf_t *kb, uint64_t *v, size_t n)
{
    int      rc;
    MDB_val  val;

    memset(v, 0, n * sizeof(uint64_t));

    rc = mcp_store_txn_get(t, dbi, kb, &val);

    if (rc == MCP_STORE_NOTFOUND) {
        return MCP_STORE_OK;
    }

    if (rc != MCP_STORE_OK) {
        return rc;
    }

    if (mcp_store_uints_decode(val.mv_data, val.mv_size, v, n)
        != MCP_STORE_OK)
    {
        memset(v, 0, n * sizeof(uint64_t));
    }

    return MCP_STORE_OK;
}


/* Writes a count record, or deletes it when the (first) count is 0. */

static int
mcp_store_count_put(mcp_store_txn_t *t, MDB_dbi dbi,
    const mcp_store_kbuf_t *kb, const uint64_t *v, size_t n)
{
    int      rc;
    char     buf[MCP_STORE_COUNT_BUF];
    MDB_val  key, val;

    mcp_store_kbuf_val(kb, &key);

    if (v[0] == 0) {
        rc = mdb_del(t->mdb, dbi, &key, NULL);
        return (rc == MDB_NOTFOUND) ? MCP_STORE_OK : mcp_store_rc(rc);
    }

    val.mv_size = mcp_store_uints_encode(v, n, buf, sizeof(buf));
    val.mv_data = buf;

    return mcp_store_rc(mdb_put(t->mdb, dbi, &key, &val, 0));
}


int
mcp_store_index_search(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    char kind, const char *doc_prefix, size_t doc_prefix_len,
    const char *query, size_t query_len, size_t offset, mcp_store_hit_t *hits,
    size_t cap, size_t *nhits, size_t *total)
{
    int                  rc, all;
    size_t               i;
    uint64_t             totals[2];
    mcp_store_hit_t     *h;
    mcp_store_acc_t     *a;
    mcp_store_search_t   ss;

    if (nhits != NULL) {
        *nhits = 0;
    }

    if (total != NULL) {
        *total = 0;
    }

    if (t == NULL || t->mdb == NULL || nhits == NULL
        || (hits == NULL && cap != 0) || (query == NULL && query_len != 0)
        || (doc_prefix == NULL && doc_prefix_len != 0))
    {
        return MCP_STORE_EINVAL;
    }

    memset(&ss, 0, sizeof(mcp_store_search_t));

    rc = mcp_store_index_start(&ss.key, &ss.base, sc, kind);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    ss.dkey = ss.key;
    (void) mcp_store_kbuf_add(&ss.dkey, NULL, 0, 1);

    rc = mcp_store_count_get(t, t->store->docs, &ss.key, totals, 2);

    if (rc != MCP_STORE_OK || totals[0] == 0) {
        return rc;                      /* nothing indexed in the scope */
    }

    ss.t = t;
    ss.doc_prefix = doc_prefix;
    ss.doc_prefix_len = doc_prefix_len;
    ss.ndocs = (double) totals[0];
    ss.avglen = (double) totals[1] / (double) totals[0];
    ss.work = t->work / 2;

    /* a totals record that did not decode reads as nothing indexed; one
     * that says documents but no tokens must not divide by zero */

    if (ss.avglen <= 0.0) {
        ss.avglen = 1.0;
    }

    /* stop words count in a query only when it has nothing else */

    all = (mcp_store_tokenize(query, query_len, mcp_store_any_token, NULL)
           == 0);

    (void) mcp_store_tokens_of(query, query_len, all, mcp_store_search_term,
                               &ss);

    rc = mcp_store_txn_cursor(t, t->store->postings, &ss.cur);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    /* every term's exact matches, then their prefix matches */

    for (i = 0; i < 2 * ss.nterms && rc == MCP_STORE_OK; i++) {
        ss.term = i % ss.nterms;
        rc = mcp_store_search_scan(&ss, i < ss.nterms);
    }

    mdb_cursor_close(ss.cur);

    mcp_store_work(t, t->work / 2 - ss.work);

    if (ss.truncated) {
        t->truncated = 1;
    }

    if (rc == MCP_STORE_OK) {
        mcp_store_search_rank(&ss);

        for (i = offset; i < ss.nacc && *nhits < cap; i++) {
            a = &ss.acc[i];
            h = &hits[(*nhits)++];

            h->doc = mcp_store_txn_keep(t, a->doc, a->doc_len);
            h->doc_len = a->doc_len;
            h->seq = 0;
            h->score = a->exact;

            if (h->doc == NULL) {
                rc = MCP_STORE_ENOMEM;
                *nhits = 0;
                break;
            }
        }

        if (total != NULL && rc == MCP_STORE_OK) {
            *total = ss.nacc;
        }
    }

    mcp_store_search_free(&ss);

    return rc;
}


/*
 * One token of the query: a new term, or one more of a term it has.  A
 * new word past MCP_STORE_QUERY_TERMS is left out.
 */

static int
mcp_store_search_term(void *data, const char *token, size_t len)
{
    mcp_store_search_t  *ss = data;

    size_t              i;
    mcp_store_qterm_t  *qt;

    for (i = 0; i < ss->nterms; i++) {
        qt = &ss->terms[i];

        if (qt->len == len && memcmp(qt->text, token, len) == 0) {
            qt->weight += 1.0;
            return 0;
        }
    }

    if (ss->nterms == MCP_STORE_QUERY_TERMS) {
        ss->truncated = 1;
        return 0;
    }

    qt = &ss->terms[ss->nterms++];
    memcpy(qt->text, token, len);
    qt->len = len;
    qt->weight = 1.0;

    return 0;
}


/*
 * Scans the postings of the current term (exact 1), or those of the
 * longer tokens it is a prefix of, token by token (exact 0); a token's
 * run of postings is scored when it ends, once its df is known.  Each
 * posting read is a unit of the budget; when none is left, or when a
 * term has had its MCP_STORE_QUERY_EXPANSIONS prefix matches, the scan
 * ends there.
 */

static int
mcp_store_search_scan(mcp_store_search_t *ss, int exact)
{
    int                  mrc, rc;
    size_t               rest_len, tlen, run_len, plen, nruns;
    MDB_val              key, val;
    uint64_t             df;
    const char          *rest, *nul, *run;
    MDB_cursor_op        op;
    mcp_store_qterm_t   *qt;

    qt = &ss->terms[ss->term];
    ss->run_exact = exact;

    /* fits: the base is checked to leave room for the longest token; the
     * scan starts at the token's own postings (token NUL) or just after
     * them (token \1): tokens hold no NUL */

    ss->key.len = ss->base;
    (void) mcp_store_kbuf_add(&ss->key, qt->text, qt->len, 0);
    plen = ss->key.len + (exact ? 1 : 0);
    (void) mcp_store_kbuf_add(&ss->key, exact ? "" : "\1", 1, 0);

    mcp_store_kbuf_val(&ss->key, &key);

    run = NULL;
    run_len = 0;
    df = 0;
    nruns = 0;
    rc = MCP_STORE_OK;
    op = MDB_SET_RANGE;

    while ((mrc = mcp_store_scan(ss->cur, op, ss->key.data, plen, &key,
                                 &val))
           == MDB_SUCCESS)
    {
        op = MDB_NEXT;

        if (ss->work == 0) {
            ss->truncated = 1;
            break;
        }

        ss->work--;

        rest = (const char *) key.mv_data + ss->base;
        rest_len = key.mv_size - ss->base;

        nul = memchr(rest, '\0', rest_len);
        if (nul == NULL) {
            continue;                   /* not a posting: skip it */
        }

        tlen = (size_t) (nul - rest);

        if (run == NULL || tlen != run_len || memcmp(rest, run, tlen) != 0) {
            mcp_store_search_flush(ss, df);

            if (nruns++ == MCP_STORE_QUERY_EXPANSIONS) {
                ss->truncated = 1;
                break;
            }

            run = rest;
            run_len = tlen;
            df = 0;
        }

        df++;

        rc = mcp_store_search_posting(ss, nul + 1, rest_len - tlen - 1,
                                      &val);
        if (rc != MCP_STORE_OK) {
            break;
        }
    }

    mcp_store_search_flush(ss, df);

    if (rc != MCP_STORE_OK) {
        return rc;
    }

    return (mrc == MDB_SUCCESS || mrc == MDB_NOTFOUND) ? MCP_STORE_OK
                                                       : mcp_store_rc(mrc);
}


/* A posting of the run: kept if its document is one asked for. */

static int
mcp_store_search_posting(mcp_store_search_t *ss, const char *doc,
    size_t doc_len, const MDB_val *val)
{
    int              rc;
    size_t           idx;
    uint64_t         tf;
    mcp_store_run_t *r;

    if (doc_len < ss->doc_prefix_len
        || (ss->doc_prefix_len > 0
            && memcmp(doc, ss->doc_prefix, ss->doc_prefix_len) != 0)
        || mcp_store_uints_decode(val->mv_data, val->mv_size, &tf, 1)
           != MCP_STORE_OK
        || tf == 0)
    {
        return MCP_STORE_OK;
    }

    rc = mcp_store_search_acc(ss, doc, doc_len, &idx);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    /* a run holds a document once, so it is never longer than acc */

    if (mcp_store_grow((void **) &ss->run, &ss->run_cap, ss->nrun + 1,
                       sizeof(mcp_store_run_t))
        != 0)
    {
        return MCP_STORE_ENOMEM;
    }

    r = &ss->run[ss->nrun++];
    r->acc = idx;
    r->tf = tf;

    return MCP_STORE_OK;
}


static void
mcp_store_search_flush(mcp_store_search_t *ss, uint64_t df)
{
    size_t            i;
    double            idf, tf, norm, score, weight;
    uint32_t          bit;
    mcp_store_acc_t  *a;

    if (ss->nrun == 0) {
        return;
    }

    idf = log1p((ss->ndocs - (double) df + 0.5) / ((double) df + 0.5));
    weight = ss->terms[ss->term].weight;
    bit = (uint32_t) 1 << ss->term;

    for (i = 0; i < ss->nrun; i++) {
        a = &ss->acc[ss->run[i].acc];
        tf = (double) ss->run[i].tf;

        norm = 1.0 - MCP_STORE_BM25_B
               + MCP_STORE_BM25_B * a->len / ss->avglen;
        score = idf * tf * (MCP_STORE_BM25_K1 + 1.0)
                / (tf + MCP_STORE_BM25_K1 * norm) * weight;

        if (ss->run_exact) {
            a->exact += score;
            a->terms |= bit;

        } else if (!(a->terms & bit)) {
            a->prefix += score;
        }
    }

    ss->nrun = 0;
}


/*
 * Finds the document's accumulator, or makes one, reading its length.
 * acc is an array that grows (indices stay), slots a hash of it with
 * linear probing kept at most half full.
 */

static int
mcp_store_search_acc(mcp_store_search_t *ss, const char *doc,
    size_t doc_len, size_t *idx)
{
    int               rc;
    size_t            i, mask;
    uint32_t          h, slot;
    uint64_t          len;
    mcp_store_acc_t  *a;

    h = mcp_store_hash(doc, doc_len);
    mask = ss->nslots - 1;

    for (i = h & mask; ss->nslots > 0 && ss->slots[i] != 0;
         i = (i + 1) & mask)
    {
        a = &ss->acc[ss->slots[i] - 1];

        if (a->doc_len == doc_len && memcmp(a->doc, doc, doc_len) == 0) {
            *idx = ss->slots[i] - 1;
            return MCP_STORE_OK;
        }
    }

    if (ss->nacc == MCP_STORE_SEARCH_DOCS) {
        return MCP_STORE_ETOOBIG;
    }

    if (mcp_store_grow((void **) &ss->acc, &ss->acc_cap, ss->nacc + 1,
                       sizeof(mcp_store_acc_t))
        != 0)
    {
        return MCP_STORE_ENOMEM;
    }

    /* a document's length read is a unit too */

    if (ss->work > 0) {
        ss->work--;
    }

    ss->dkey.len = ss->base + 1;

    rc = mcp_store_kbuf_add(&ss->dkey, doc, doc_len, 0);

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_count_get(ss->t, ss->t->store->docs, &ss->dkey, &len,
                                 1);
    }

    if (rc != MCP_STORE_OK) {
        return rc;
    }

    a = &ss->acc[ss->nacc];
    a->doc = doc;
    a->doc_len = doc_len;
    a->len = (double) len;
    a->exact = 0.0;
    a->prefix = 0.0;
    a->terms = 0;

    *idx = ss->nacc++;

    if (2 * ss->nacc > ss->nslots) {
        return mcp_store_search_rehash(ss);
    }

    slot = (uint32_t) *idx + 1;

    for (i = h & mask; ss->slots[i] != 0; i = (i + 1) & mask) {
        /* void */
    }

    ss->slots[i] = slot;

    return MCP_STORE_OK;
}


/* Doubles the hash (64 slots at first) and puts every document back. */

static int
mcp_store_search_rehash(mcp_store_search_t *ss)
{
    size_t     i, k, n, mask;
    uint32_t   h, *slots;

    n = (ss->nslots == 0) ? 64 : 2 * ss->nslots;

    slots = calloc(n, sizeof(uint32_t));
    if (slots == NULL) {
        return MCP_STORE_ENOMEM;
    }

    mask = n - 1;

    for (k = 0; k < ss->nacc; k++) {
        h = mcp_store_hash(ss->acc[k].doc, ss->acc[k].doc_len);

        for (i = h & mask; slots[i] != 0; i = (i + 1) & mask) {
            /* void */
        }

        slots[i] = (uint32_t) k + 1;
    }

    free(ss->slots);

    ss->slots = slots;
    ss->nslots = n;

    return MCP_STORE_OK;
}


/* FNV-1a */

static uint32_t
mcp_store_hash(const char *p, size_t len)
{
    size_t    i;
    uint32_t  h;

    h = 2166136261u;

    for (i = 0; i < len; i++) {
        h = (h ^ (unsigned char) p[i]) * 16777619u;
    }

    return h;
}


/*
 * Leaves every document's final score in exact (see the top of the file
 * for the tiers) and sorts acc best first.
 */

static void
mcp_store_search_rank(mcp_store_search_t *ss)
{
    size_t            i;
    double            low, high;
    mcp_store_acc_t  *a;

    low = 0.0;
    high = 0.0;

    for (i = 0; i < ss->nacc; i++) {
        a = &ss->acc[i];

        if (a->exact > 0.0) {
            a->exact += a->prefix;

            if (low == 0.0 || a->exact < low) {
                low = a->exact;
            }

        } else if (a->prefix > high) {
            high = a->prefix;
        }
    }

    for (i = 0; i < ss->nacc; i++) {
        a = &ss->acc[i];

        if (a->exact == 0.0) {
            a->exact = (low > 0.0) ? a->prefix * low / (2.0 * high)
                                   : a->prefix;
        }
    }

    if (ss->nacc > 1) {
        qsort(ss->acc, ss->nacc, sizeof(mcp_store_acc_t),
              mcp_store_search_cmp);
    }
}


static int
mcp_store_search_cmp(const void *a, const void *b)
{
    int                     c;
    size_t                  n;
    const mcp_store_acc_t  *x = a, *y = b;

    if (x->exact != y->exact) {
        return (x->exact > y->exact) ? -1 : 1;
    }

    n = (x->doc_len < y->doc_len) ? x->doc_len : y->doc_len;
    c = memcmp(x->doc, y->doc, n);

    if (c != 0) {
        return c;
    }

    return (x->doc_len > y->doc_len) - (x->doc_len < y->doc_len);
}


static void
mcp_store_search_free(mcp_store_search_t *ss)
{
    free(ss->acc);
    free(ss->slots);
    free(ss->run);
}


/*
 * Makes *p hold at least n elements of size bytes, doubling (from 16):
 * 0, or -1 when out of memory, *p then unchanged.
 */

static int
mcp_store_grow(void **p, size_t *cap, size_t n, size_t size)
{
    void    *q;
    size_t   c;

    if (n <= *cap) {
        return 0;
    }

    c = (*cap == 0) ? 16 : 2 * *cap;

    while (c < n) {
        c *= 2;
    }

    q = realloc(*p, c * size);
    if (q == NULL) {
        return -1;
    }

    *p = q;
    *cap = c;

    return 0;
}
