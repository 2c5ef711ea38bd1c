/*
 * Unit tests of the conversation contexts (mcp_store_context.c): messages,
 * summaries, listing, search, expiry and the window, printing TAP for
 * prove.  Raw counts go through the transaction's own MDB_txn.
 */

#define _POSIX_C_SOURCE  200809L

#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "test_lib.h"


#define TEST_PLAN        121

#define TEST_ROUNDS      400        /* random windows */
#define TEST_MSGS        48         /* messages of a window test, at most */

/* a scope of two string literals */
#define TEST_SCOPE(tenant, ns)                                                \
    { tenant, sizeof(tenant) - 1, ns, sizeof(ns) - 1 }

/* a string literal and its length */


/* a store with a write begun and room for a window: a window test's */
typedef struct {
    mcp_store_t          *s;
    mcp_store_txn_t      *t;            /* the test may end it and begin
                                           another; it ends the last */
    mcp_store_window_t    w;
    mcp_store_message_t   msgs[TEST_MSGS];
} test_win_t;


/* a random window's messages, as appended */
typedef struct {
    size_t     n;
    uint64_t   total;           /* tokens */
    unsigned   always[TEST_MSGS];
    uint64_t   tokens[TEST_MSGS];
} test_ctx_t;


static const mcp_store_scope_t  test_acme = TEST_SCOPE("acme", "");
static const mcp_store_scope_t  test_acme_ns = TEST_SCOPE("acme", "ns");
static const mcp_store_scope_t  test_other = TEST_SCOPE("other", "");


static mcp_store_txn_t *test_start(const char *name, size_t map_size,
    mcp_store_t **s);
static int test_add(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *ctx, unsigned role, unsigned pinned, const char *content,
    int64_t now, int64_t ttl);
static void test_adds(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *ctx, int64_t now, int64_t ttl, ...);
static int test_msg_cb(void *data, const mcp_store_message_t *m);
static int test_ctx_cb(void *data, const mcp_store_context_t *c);
static int test_list(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *ctx, uint64_t first, unsigned flags, test_seen_t *l);
static int test_list_is(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *ctx, uint64_t first, unsigned flags, const char *seqs);
static int test_is(const char *p, size_t len, const char *str);
static int test_utf8(const char *p, size_t len);
static char *test_fill(const char *unit, size_t len);
static int test_window(mcp_store_txn_t *t, const char *ctx,
    uint64_t max_tokens, const char *query, double share,
    mcp_store_window_t *w, mcp_store_message_t *msgs, size_t cap);
static void test_with_window(const char *name, void (*test)(test_win_t *f));
static int test_win(test_win_t *f, const char *ctx, uint64_t max_tokens,
    const char *query, double share, size_t cap);
static int test_seqs_are(const mcp_store_window_t *w, const char *seqs);
static unsigned test_rand(unsigned n);
static void test_random_ctx(mcp_store_txn_t *t, const char *ctx,
    test_ctx_t *tc);


static void test_tokens(void);
static void test_append(void);
static void test_append_errors(void);
static void test_messages_max(void);
static void test_message_list(void);
static void test_summary(void);
static void test_delete(void);
static void test_context_list(void);
static void test_search(void);
static void test_expire(void);
static void test_budget(void);
static void test_isolation(void);
static void test_stat_counts(void);
static void test_window_basic(test_win_t *f);
static void test_window_tight(test_win_t *f);
static void test_window_pinned(test_win_t *f);
static void test_window_reuse(test_win_t *f);
static void test_window_query(test_win_t *f);
static void test_window_query_tight(test_win_t *f);
static void test_window_query_summary(test_win_t *f);
static void test_window_utf8(test_win_t *f);
static void test_window_random(void);


int
main(void)
{
    /* mbrtowc() checks summaries as UTF-8, independently of the store */

    if (setlocale(LC_CTYPE, "C.UTF-8") == NULL) {
        printf("1..0 # SKIP no C.UTF-8 locale\n");
        return 0;
    }

    test_init(TEST_PLAN);

    test_tokens();
    test_append();
    test_append_errors();
    test_messages_max();
    test_message_list();
    test_summary();
    test_delete();
    test_context_list();
    test_search();
    test_expire();
    test_budget();
    test_isolation();
    test_stat_counts();
    test_with_window("wbasic", test_window_basic);
    test_with_window("wtight", test_window_tight);
    test_with_window("wpinned", test_window_pinned);
    test_with_window("wreuse", test_window_reuse);
    test_with_window("wquery", test_window_query);
    test_with_window("wqtight", test_window_query_tight);
    test_with_window("wqsum", test_window_query_summary);
    test_with_window("wutf8", test_window_utf8);
    test_window_random();

    return test_finish(TEST_PLAN);
}


static void
test_tokens(void)
{
    TAP_OK(mcp_store_tokens(0) == 3 && mcp_store_tokens(1) == 4
           && mcp_store_tokens(4) == 4 && mcp_store_tokens(5) == 5
           && mcp_store_tokens(400) == 103,
           "tokens: 4 bytes a token, rounded up, plus 3");
}


static void
test_append(void)
{
    int                   rc;
    mcp_store_t          *s;
    mcp_store_txn_t      *t;
    mcp_store_context_t   c;
    mcp_store_message_t   m;

    t = test_start("append", 0, &s);

    memset(&m, 0, sizeof(m));
    m.role = MCP_STORE_ROLE_USER;
    m.pinned = 7;
    m.content = "Hello there.";
    m.content_len = 12;

    rc = mcp_store_message_append(t, &test_acme, TEST_STR("chat"), &m, 100,
                                  0, &c);
    TAP_RC(rc, MCP_STORE_OK, "append: the first message creates the context");
    TAP_OK(m.seq == 1 && m.tokens == 6 && m.created_at == 100,
           "append: seq 1, tokens and created_at are written back");
    TAP_OK(c.nmessages == 1 && c.tokens == 6 && c.next_seq == 2
           && c.created_at == 100 && c.updated_at == 100
           && c.expires_at == 0 && c.summary == NULL
           && test_is(c.id, c.id_len, "chat"),
           "append: the context it returns is counted");

    memset(&m, 0, sizeof(m));
    m.role = MCP_STORE_ROLE_ASSISTANT;
    m.content = "";
    m.created_at = 42;

    rc = mcp_store_message_append(t, &test_acme, TEST_STR("chat"), &m, 200,
                                  60, NULL);
    TAP_OK(rc == MCP_STORE_OK && m.seq == 2 && m.tokens == 3
           && m.created_at == 42,
           "append: an empty message is 3 tokens; created_at is kept");

    rc = mcp_store_context_get(t, &test_acme, TEST_STR("chat"), &c);
    TAP_OK(rc == MCP_STORE_OK && c.nmessages == 2 && c.tokens == 9
           && c.next_seq == 3 && c.created_at == 100 && c.updated_at == 200
           && c.expires_at == 260,
           "append: get sees both messages and the ttl");

    TAP_RC(mcp_store_txn_commit(t), MCP_STORE_OK, "append: commits");

    t = test_begin_txn(s, MCP_STORE_RDONLY);

    rc = mcp_store_context_get(t, &test_acme, TEST_STR("chat"), &c);
    TAP_OK(rc == MCP_STORE_OK && c.nmessages == 2,
           "append: a read-only transaction sees it after the commit");

    rc = mcp_store_context_get(t, &test_acme, TEST_STR("nope"), &c);
    TAP_RC(rc, MCP_STORE_NOTFOUND, "append: get of another id is NOTFOUND");

    rc = test_add(t, &test_acme, "chat", MCP_STORE_ROLE_USER, 0, "x", 1, 0);
    TAP_RC(rc, MCP_STORE_EINVAL, "append: in a read-only transaction EINVAL");

    mcp_store_txn_abort(t);
    mcp_store_close(s);
}


static void
test_append_errors(void)
{
    int                  ok;
    char                *big, *name;
    mcp_store_t         *s;
    mcp_store_txn_t     *t;
    mcp_store_scope_t    bad = TEST_SCOPE("", "ns");
    mcp_store_scope_t    slash = TEST_SCOPE("a/b", "");
    mcp_store_message_t  m;
    mcp_store_context_t  c;

    t = test_start("errors", 0, &s);

    big = test_fill("abcd", MCP_STORE_MESSAGE_MAX + 1);
    name = test_fill("n", MCP_STORE_NAME_MAX + 1);

    memset(&m, 0, sizeof(m));
    m.role = 4;

    ok = mcp_store_message_append(t, &test_acme, "c", 1, NULL, 1, 0, NULL)
         == MCP_STORE_EINVAL
         && mcp_store_message_append(t, &test_acme, "c", 1, &m, 1, 0, NULL)
            == MCP_STORE_EINVAL
         && mcp_store_message_append(NULL, &test_acme, "c", 1, &m, 1, 0,
                                     NULL) == MCP_STORE_EINVAL;

    m.role = MCP_STORE_ROLE_USER;
    m.content_len = 3;

    ok = ok
         && mcp_store_message_append(t, &test_acme, "c", 1, &m, 1, 0, NULL)
            == MCP_STORE_EINVAL
         && test_add(t, &bad, "c", 1, 0, "x", 1, 0) == MCP_STORE_EINVAL
         && test_add(t, &slash, "c", 1, 0, "x", 1, 0) == MCP_STORE_EINVAL
         && test_add(t, NULL, "c", 1, 0, "x", 1, 0) == MCP_STORE_EINVAL
         && test_add(t, &test_acme, "", 1, 0, "x", 1, 0) == MCP_STORE_EINVAL
         && test_add(t, &test_acme, "c", 1, 0, "x", 1, -1)
            == MCP_STORE_EINVAL
         && test_add(t, &test_acme, "c", 1, 0, "x", INT64_MAX, 1)
            == MCP_STORE_EINVAL
         && test_add(t, &test_acme, "c", 1, 0, "bad \xc3\x28 utf-8", 1, 0)
            == MCP_STORE_EINVAL
         && test_add(t, &test_acme, "c", 1, 0, "surrogate \xed\xa0\x80", 1, 0)
            == MCP_STORE_EINVAL
         && test_add(t, &test_acme, "c", 1, 0, "overlong \xc0\xaf", 1, 0)
            == MCP_STORE_EINVAL
         && mcp_store_message_append(t, &test_acme, TEST_STR("a\0b"), &m, 1,
                                     0, NULL) == MCP_STORE_EINVAL;

    TAP_OK(ok, "errors: bad arguments, scopes, ids, ttl, UTF-8 are EINVAL");

    TAP_RC(test_add(t, &test_acme, name, 1, 0, "x", 1, 0), MCP_STORE_ETOOBIG,
           "errors: an id of MCP_STORE_NAME_MAX + 1 bytes is ETOOBIG");

    name[MCP_STORE_NAME_MAX] = '\0';

    TAP_RC(test_add(t, &test_acme, name, 1, 0, "x", 1, 0), MCP_STORE_OK,
           "errors: one of MCP_STORE_NAME_MAX bytes is taken");

    TAP_RC(test_add(t, &test_acme, "c", 1, 0, big, 1, 0), MCP_STORE_ETOOBIG,
           "errors: content of MCP_STORE_MESSAGE_MAX + 1 bytes is ETOOBIG");

    big[MCP_STORE_MESSAGE_MAX] = '\0';

    TAP_RC(test_add(t, &test_acme, "c", 1, 0, big, 1, 0), MCP_STORE_OK,
           "errors: content of MCP_STORE_MESSAGE_MAX bytes is taken");

    TAP_OK(mcp_store_context_get(t, &test_acme, "c", 1, &c) == MCP_STORE_OK
           && c.nmessages == 1
           && c.tokens == mcp_store_tokens(MCP_STORE_MESSAGE_MAX),
           "errors: and nothing of the refused ones was stored");

    ok = mcp_store_context_get(t, &test_acme, "c", 1, NULL)
         == MCP_STORE_EINVAL
         && mcp_store_context_get(t, &test_acme, "", 0, &c)
            == MCP_STORE_EINVAL
         && mcp_store_context_get(t, &bad, "c", 1, &c) == MCP_STORE_EINVAL
         && mcp_store_context_delete(t, &test_acme, "zz", 2)
            == MCP_STORE_NOTFOUND
         && mcp_store_message_list(t, &test_acme, "zz", 2, 1, 0, test_msg_cb,
                                   NULL) == MCP_STORE_NOTFOUND
         && mcp_store_context_summary(t, &test_acme, "zz", 2, "s", 1, 1, 1)
            == MCP_STORE_NOTFOUND;

    TAP_OK(ok, "errors: get, delete, list, summary of no context");

    mcp_store_txn_abort(t);

    free(big);
    free(name);
    mcp_store_close(s);
}


static void
test_messages_max(void)
{
    int                 rc, ok;
    size_t              i;
    mcp_store_t        *s;
    mcp_store_txn_t    *t;
    mcp_store_context_t c;

    t = test_start("max", 64 * 1024 * 1024, &s);

    ok = 1;

    for (i = 0; ok && i < MCP_STORE_MESSAGES_MAX; i++) {
        ok = test_add(t, &test_acme, "long", MCP_STORE_ROLE_USER, 0, "hi",
                      1, 0) == MCP_STORE_OK;
    }

    TAP_OK(ok, "max: MCP_STORE_MESSAGES_MAX messages are appended");

    rc = test_add(t, &test_acme, "long", MCP_STORE_ROLE_USER, 0, "hi", 1, 0);
    TAP_RC(rc, MCP_STORE_ETOOBIG, "max: one more is ETOOBIG");

    rc = mcp_store_context_get(t, &test_acme, TEST_STR("long"), &c);
    TAP_OK(rc == MCP_STORE_OK && c.nmessages == MCP_STORE_MESSAGES_MAX,
           "max: the context holds exactly the limit");

    TAP_RC(mcp_store_txn_commit(t), MCP_STORE_OK, "max: commits");

    mcp_store_close(s);
}


static void
test_message_list(void)
{
    int                 ok;
    size_t              i;
    mcp_store_t        *s;
    mcp_store_txn_t    *t;
    test_seen_t         l;

    t = test_start("list", 0, &s);

    for (i = 0; i < 5; i++) {
        (void) test_add(t, &test_acme, "c", MCP_STORE_ROLE_USER, 0, "m", 1,
                        0);
    }

    /* a context whose id extends "c": its messages must not show */
    (void) test_add(t, &test_acme, "c2", MCP_STORE_ROLE_USER, 0, "m", 1, 0);
    (void) test_add(t, &test_acme, "b", MCP_STORE_ROLE_USER, 0, "m", 1, 0);

    TAP_OK(test_list_is(t, &test_acme, "c", 1, 0, "1,2,3,4,5"),
           "list: from 1, in order");

    TAP_OK(test_list_is(t, &test_acme, "c", 0, 0, "1,2,3,4,5"),
           "list: from 0 too");

    TAP_OK(test_list_is(t, &test_acme, "c", 4, 0, "4,5"), "list: from 4");

    TAP_OK(test_list_is(t, &test_acme, "c", 9, 0, ""),
           "list: from past the last, none");

    TAP_OK(test_list_is(t, &test_acme, "c", UINT64_MAX, MCP_STORE_REVERSE,
                        "5,4,3,2,1"),
           "list: reverse from the top");

    TAP_OK(test_list_is(t, &test_acme, "c", 3, MCP_STORE_REVERSE, "3,2,1"),
           "list: reverse from 3");

    TAP_OK(test_list_is(t, &test_acme, "c", 0, MCP_STORE_REVERSE, ""),
           "list: reverse from 0, none");

    TAP_OK(test_list_is(t, &test_acme, "b", UINT64_MAX, MCP_STORE_REVERSE,
                        "1"),
           "list: reverse of a context followed by others");

    test_seen_init(&l, 2);
    ok = mcp_store_message_list(t, &test_acme, "c", 1, 1, 0, test_msg_cb, &l)
         == MCP_STORE_OK
         && strcmp(l.seen, "1,2") == 0;
    TAP_OK(ok, "list: a callback returning 1 stops it");

    ok = mcp_store_message_list(t, &test_acme, "c", 1, 1, 0x10, test_msg_cb,
                                &l) == MCP_STORE_EINVAL
         && mcp_store_message_list(t, &test_acme, "c", 1, 1, 0, NULL, &l)
            == MCP_STORE_EINVAL;
    TAP_OK(ok, "list: unknown flags or no callback are EINVAL");

    mcp_store_txn_abort(t);
    mcp_store_close(s);
}


static void
test_summary(void)
{
    int                   rc, ok;
    char                 *big;
    mcp_store_t          *s;
    mcp_store_txn_t      *t;
    mcp_store_context_t   c;

    t = test_start("summary", 0, &s);

    (void) test_add(t, &test_acme, "c", 1, 0, "one", 1, 5);
    (void) test_add(t, &test_acme, "c", 2, 0, "two", 1, 0);
    (void) test_add(t, &test_acme, "c", 1, 0, "three", 1, 0);

    rc = mcp_store_context_summary(t, &test_acme, "c", 1, TEST_STR("S."), 1,
                                   2);
    TAP_RC(rc, MCP_STORE_OK, "summary: stored");

    rc = mcp_store_context_get(t, &test_acme, "c", 1, &c);
    TAP_OK(rc == MCP_STORE_OK && test_is(c.summary, c.summary_len, "S.")
           && c.summary_from == 1 && c.summary_upto == 2 && c.nmessages == 3,
           "summary: get returns it with its range");

    /* moving the expiry key (deleting one) shifts records on its page */

    ok = test_add(t, &test_acme, "c", 1, 0, "four", 2, 10) == MCP_STORE_OK
         && test_add(t, &test_acme, "c", 1, 0, "five", 3, 10)
            == MCP_STORE_OK
         && mcp_store_context_get(t, &test_acme, "c", 1, &c) == MCP_STORE_OK
         && test_is(c.summary, c.summary_len, "S.") && c.expires_at == 13
         && test_entries(t, s->contexts) == 2;
    TAP_OK(ok, "summary: appends that move the expiry keep it intact");

    big = test_fill("x", MCP_STORE_MESSAGE_MAX + 1);

    ok = mcp_store_context_summary(t, &test_acme, "c", 1, "S", 1, 0, 2)
         == MCP_STORE_EINVAL
         && mcp_store_context_summary(t, &test_acme, "c", 1, "S", 1, 3, 2)
            == MCP_STORE_EINVAL
         && mcp_store_context_summary(t, &test_acme, "c", 1, "S", 1, 1, 6)
            == MCP_STORE_EINVAL
         && mcp_store_context_summary(t, &test_acme, "c", 1, NULL, 1, 1, 1)
            == MCP_STORE_EINVAL
         && mcp_store_context_summary(t, &test_acme, "c", 1, "\xff", 1, 1, 1)
            == MCP_STORE_EINVAL
         && mcp_store_context_summary(t, &test_acme, "c", 1, big,
                                      MCP_STORE_MESSAGE_MAX + 1, 1, 1)
            == MCP_STORE_ETOOBIG;
    TAP_OK(ok, "summary: bad ranges and texts are EINVAL, long ETOOBIG");

    rc = mcp_store_context_summary(t, &test_acme, "c", 1, NULL, 0, 0, 0);

    TAP_OK(rc == MCP_STORE_OK
           && mcp_store_context_get(t, &test_acme, "c", 1, &c)
              == MCP_STORE_OK
           && c.summary == NULL && c.summary_upto == 0,
           "summary: an empty one removes it");

    free(big);
    mcp_store_txn_abort(t);
    mcp_store_close(s);
}


static void
test_delete(void)
{
    int                   rc;
    size_t                n, total, postings, docs;
    mcp_store_t          *s;
    mcp_store_txn_t      *t;
    mcp_store_hit_t       hits[4];
    mcp_store_context_t   c;

    t = test_start("delete", 0, &s);

    (void) test_add(t, &test_acme, "keep", 1, 0, "zebra crossing", 1, 0);

    postings = test_entries(t, s->postings);
    docs = test_entries(t, s->docs);

    (void) test_add(t, &test_acme, "gone", 1, 0, "walrus tusks", 1, 10);
    (void) test_add(t, &test_acme, "gone", 2, 0, "walrus again", 1, 10);

    rc = mcp_store_context_delete(t, &test_acme, TEST_STR("gone"));
    TAP_RC(rc, MCP_STORE_OK, "delete: a context is deleted");

    TAP_RC(mcp_store_context_get(t, &test_acme, TEST_STR("gone"), &c),
           MCP_STORE_NOTFOUND, "delete: and is gone");

    TAP_OK(test_entries(t, s->messages) == 1
           && test_entries(t, s->contexts) == 1,
           "delete: its messages and expiry key too");

    TAP_OK(test_entries(t, s->postings) == postings
           && test_entries(t, s->docs) == docs,
           "delete: the index is as before its messages");

    rc = mcp_store_message_search(t, &test_acme, NULL, 0, TEST_STR("walrus"),
                                  0, hits, 4, &n, &total);
    TAP_OK(rc == MCP_STORE_OK && n == 0 && total == 0,
           "delete: its words are found no more");

    TAP_RC(mcp_store_context_delete(t, &test_acme, TEST_STR("gone")),
           MCP_STORE_NOTFOUND, "delete: again is NOTFOUND");

    mcp_store_txn_abort(t);
    mcp_store_close(s);
}


static void
test_context_list(void)
{
    int                   rc, more, ok;
    mcp_store_t          *s;
    mcp_store_txn_t      *t;
    test_seen_t           l;

    t = test_start("clist", 0, &s);

    test_adds(t, &test_acme, "b", 1, 0, "x", NULL);
    test_adds(t, &test_acme, "a", 1, 100, "x", NULL);
    test_adds(t, &test_acme, "c", 1, 0, "x", "y", NULL);
    test_adds(t, &test_acme_ns, "a0", 1, 0, "x", NULL);
    test_adds(t, &test_other, "a1", 1, 0, "x", NULL);

    test_seen_init(&l, 0);
    rc = mcp_store_context_list(t, &test_acme, NULL, 0, 0, test_ctx_cb, &l,
                                &more);
    TAP_OK(rc == MCP_STORE_OK && strcmp(l.seen, "a:1,b:1,c:2") == 0
           && more == 0,
           "clist: the scope's contexts in id order (%s)", l.seen);

    test_seen_init(&l, 0);
    rc = mcp_store_context_list(t, &test_acme, TEST_STR("a"), 1, test_ctx_cb,
                                &l, &more);
    TAP_OK(rc == MCP_STORE_OK && strcmp(l.seen, "b:1") == 0 && more == 1,
           "clist: after a, limit 1: b and more (%s)", l.seen);

    test_seen_init(&l, 0);
    rc = mcp_store_context_list(t, &test_acme, TEST_STR("b"), 1, test_ctx_cb,
                                &l, &more);
    TAP_OK(rc == MCP_STORE_OK && strcmp(l.seen, "c:2") == 0 && more == 0,
           "clist: after b, limit 1: c, no more (%s)", l.seen);

    test_seen_init(&l, 0);
    rc = mcp_store_context_list(t, &test_acme, TEST_STR("bb"), 0,
                                test_ctx_cb, &l, &more);
    TAP_OK(rc == MCP_STORE_OK && strcmp(l.seen, "c:2") == 0,
           "clist: after an id that is not there (%s)", l.seen);

    test_seen_init(&l, 1);
    rc = mcp_store_context_list(t, &test_acme, NULL, 0, 0, test_ctx_cb, &l,
                                &more);
    TAP_OK(rc == MCP_STORE_OK && strcmp(l.seen, "a:1") == 0 && more == 1,
           "clist: a callback returning 1 stops it, more follow");

    test_seen_init(&l, 0);
    ok = mcp_store_context_list(t, &test_acme_ns, NULL, 0, 0, test_ctx_cb,
                                &l, NULL) == MCP_STORE_OK
         && strcmp(l.seen, "a0:1") == 0;
    TAP_OK(ok, "clist: a namespace lists its own (%s)", l.seen);

    ok = mcp_store_context_list(t, &test_acme, NULL, 0, 0, NULL, &l, NULL)
         == MCP_STORE_EINVAL
         && mcp_store_context_list(t, &test_acme, NULL, 1, 0, test_ctx_cb,
                                   &l, NULL) == MCP_STORE_EINVAL;
    TAP_OK(ok, "clist: no callback, or after NULL with a length: EINVAL");

    mcp_store_txn_abort(t);
    mcp_store_close(s);
}


static void
test_search(void)
{
    int                rc, ok;
    size_t             n, total;
    mcp_store_t       *s;
    mcp_store_txn_t   *t;
    mcp_store_hit_t    hits[8];

    t = test_start("search", 0, &s);

    (void) test_add(t, &test_acme, "c1", 1, 0, "apples and pears", 1, 0);
    (void) test_add(t, &test_acme, "c1", 2, 0, "only pears here", 1, 0);
    (void) test_add(t, &test_acme, "c1", 1, 0, "apples apples apples", 1, 0);
    (void) test_add(t, &test_acme, "c10", 1, 0, "apples in c10", 1, 0);
    (void) test_add(t, &test_other, "c1", 1, 0, "apples elsewhere", 1, 0);

    rc = mcp_store_message_search(t, &test_acme, TEST_STR("c1"),
                                  TEST_STR("apples"), 0, hits, 8, &n, &total);
    TAP_OK(rc == MCP_STORE_OK && n == 2 && total == 2
           && test_is(hits[0].doc, hits[0].doc_len, "c1") && hits[0].seq == 3
           && test_is(hits[1].doc, hits[1].doc_len, "c1") && hits[1].seq == 1
           && hits[0].score > hits[1].score,
           "search: in one context, best first, split into id and seq");

    rc = mcp_store_message_search(t, &test_acme, NULL, 0, TEST_STR("apples"),
                                  0, hits, 8, &n, &total);
    ok = rc == MCP_STORE_OK && n == 3 && total == 3;

    while (ok && n-- > 0) {
        ok = hits[n].doc_len >= 2 && memcmp(hits[n].doc, "c1", 2) == 0;
    }

    TAP_OK(ok, "search: the whole scope, and no other scope's");

    rc = mcp_store_message_search(t, &test_acme, TEST_STR("c1"),
                                  TEST_STR("apples"), 1, hits, 8, &n, &total);
    TAP_OK(rc == MCP_STORE_OK && n == 1 && hits[0].seq == 1 && total == 2,
           "search: offset skips the best");

    rc = mcp_store_message_search(t, &test_acme, TEST_STR("c\0"),
                                  TEST_STR("apples"), 0, hits, 8, &n, NULL);
    TAP_RC(rc, MCP_STORE_EINVAL, "search: a context id with a NUL is EINVAL");

    mcp_store_txn_abort(t);
    mcp_store_close(s);
}


static void
test_expire(void)
{
    int                   rc, ok;
    size_t                removed, n;
    mcp_store_t          *s;
    mcp_store_txn_t      *t;
    mcp_store_hit_t       hits[4];
    mcp_store_context_t   c;

    t = test_start("expire", 0, &s);

    test_adds(t, &test_acme, "a", 100, 10, "aardvark", "aardvark two", NULL);
    test_adds(t, &test_acme, "b", 100, 20, "badger", NULL);
    test_adds(t, &test_acme, "c", 100, 0, "cheetah", NULL);
    test_adds(t, &test_other, "d", 100, 5, "dingo", NULL);
    test_adds(t, &test_acme, "e", 100, 10, "eland", NULL);
    test_adds(t, &test_acme, "e", 105, 0, "eland", NULL);

    TAP_RC(mcp_store_txn_commit(t), MCP_STORE_OK, "expire: five contexts");

    t = test_begin_txn(s, MCP_STORE_RDONLY);

    rc = mcp_store_context_expire(s, 106, 10, &removed, NULL);
    TAP_RC(rc, MCP_STORE_EBUSY, "expire: inside a transaction it is EBUSY");

    mcp_store_txn_abort(t);

    rc = mcp_store_context_expire(s, 106, 0, &removed, NULL);
    TAP_OK(rc == MCP_STORE_OK && removed == 0, "expire: max 0 removes none");

    rc = mcp_store_context_expire(s, 106, 10, &removed, NULL);
    TAP_OK(rc == MCP_STORE_OK && removed == 1,
           "expire: at 106, the one of 105, in another scope");

    rc = mcp_store_context_expire(s, 113, 10, &removed, NULL);
    TAP_OK(rc == MCP_STORE_OK && removed == 1,
           "expire: at 113, a (110); e's later append, without a ttl, "
           "renewed its own: 115");

    rc = mcp_store_context_expire(s, 1000, 1, &removed, NULL);
    TAP_OK(rc == MCP_STORE_OK && removed == 1,
           "expire: max 1 removes one of two");

    t = test_begin_txn(s, MCP_STORE_RDONLY);

    ok = mcp_store_context_get(t, &test_acme, "e", 1, &c)
         == MCP_STORE_NOTFOUND
         && mcp_store_context_get(t, &test_acme, "b", 1, &c) == MCP_STORE_OK
         && c.expires_at == 120
         && mcp_store_context_get(t, &test_acme, "a", 1, &c)
            == MCP_STORE_NOTFOUND
         && mcp_store_context_get(t, &test_other, "d", 1, &c)
            == MCP_STORE_NOTFOUND;
    TAP_OK(ok, "expire: the soonest went first (e at 115; b at 120 left)");

    mcp_store_txn_abort(t);

    rc = mcp_store_context_expire(s, 1000, 10, &removed, NULL);
    TAP_OK(rc == MCP_STORE_OK && removed == 1, "expire: then the other");

    t = test_begin_txn(s, MCP_STORE_RDONLY);

    TAP_OK(test_entries(t, s->contexts) == 1
           && test_entries(t, s->messages) == 1,
           "expire: c alone is left, with no expiry key, and its message");

    rc = mcp_store_message_search(t, &test_acme, NULL, 0,
                                  TEST_STR("aardvark badger eland dingo"), 0,
                                  hits, 4, &n, NULL);
    TAP_OK(rc == MCP_STORE_OK && n == 0,
           "expire: the postings of their messages are gone");

    mcp_store_txn_abort(t);

    rc = mcp_store_context_expire(s, INT64_MAX, 10, &removed, NULL);
    TAP_OK(rc == MCP_STORE_OK && removed == 0,
           "expire: a context without ttl never expires");

    TAP_RC(mcp_store_context_expire(NULL, 1, 1, NULL, NULL), MCP_STORE_EINVAL,
           "expire: no handle is EINVAL");

    mcp_store_close(s);
}


/*
 * The work budget: lists end early, a window keeps what the budget
 * allows and summarises from its newest dropped turns, and an expiry
 * sweep removes a long context in several calls.
 */

static void
test_budget(void)
{
    int                   rc, ok, more;
    char                 *text, id[8];
    size_t                i, removed, sweeps;
    uint64_t              nmessages;
    mcp_store_t          *s;
    mcp_store_txn_t      *t;
    test_seen_t           l;
    mcp_store_hit_t       hits[4];
    mcp_store_window_t    w;
    mcp_store_context_t   c;
    mcp_store_message_t   msgs[128];

    /* "word word ...": 1000 bytes, 200 tokens to index, 253 a message */

    text = test_fill("word ", 1000);

    t = test_start("budget", 0, &s);

    for (i = 0; i < 40; i++) {
        (void) test_add(t, &test_acme, "long", 1, 0, text, 100, 10);
    }

    for (i = 0; i < 100; i++) {
        (void) test_add(t, &test_acme, "longer", 1, 0, text, 100, 0);
    }

    for (i = 0; i < 20; i++) {
        snprintf(id, sizeof(id), "c%02u", (unsigned) i);
        (void) test_add(t, &test_acme, id, 1, 0, "hello", 100, 0);
    }

    TAP_RC(mcp_store_txn_commit(t), MCP_STORE_OK,
           "budget: contexts of 40 and 100 messages of 1000 bytes, 20 more");

    t = test_begin_txn(s, MCP_STORE_RDONLY);

    mcp_store_txn_budget(t, 3000);
    rc = test_list(t, &test_acme, "long", 1, 0, &l);
    TAP_OK(rc == MCP_STORE_OK && l.calls >= 2 && l.calls <= 4
           && mcp_store_txn_truncated(t),
           "budget: a message list of 3000 units ends early: %s", l.seen);

    mcp_store_txn_abort(t);
    t = test_begin_txn(s, MCP_STORE_RDONLY);

    mcp_store_txn_budget(t, 100);
    test_seen_init(&l, 0);

    rc = mcp_store_context_list(t, &test_acme, NULL, 0, 0, test_ctx_cb, &l,
                                &more);
    TAP_OK(rc == MCP_STORE_OK && l.calls > 0 && l.calls < 22 && more == 1
           && mcp_store_txn_truncated(t),
           "budget: a context list of 100 units: %s, more", l.seen);

    mcp_store_txn_abort(t);

    /* a window with room for all 40 holds what 5000 units allow */

    t = test_begin_txn(s, MCP_STORE_RDONLY);

    rc = test_window(t, "long", 1000000, NULL, 0.25, &w, msgs, 128);
    TAP_OK(rc == MCP_STORE_OK && w.dropped == 0 && w.nmessages == 40
           && !mcp_store_txn_truncated(t),
           "budget: 40000 bytes of turns are a whole window");

    mcp_store_txn_abort(t);
    t = test_begin_txn(s, MCP_STORE_RDONLY);

    mcp_store_txn_budget(t, 5000);
    rc = test_window(t, "long", 1000000, NULL, 0.25, &w, msgs, 128);
    TAP_OK(rc == MCP_STORE_OK && w.nmessages >= 4 && w.nmessages <= 6
           && w.dropped == 40 - w.nmessages && w.summary != NULL
           && msgs[w.nmessages - 1].seq == 40 && mcp_store_txn_truncated(t),
           "budget: with 5000 units: the newest %u, a summary of the other "
           "%u, truncated", (unsigned) w.nmessages, (unsigned) w.dropped);

    mcp_store_txn_abort(t);

    /* the summary reads 64 KiB of the dropped turns at most */

    t = test_begin_txn(s, MCP_STORE_RDONLY);

    rc = test_window(t, "long", 300, NULL, 0.5, &w, msgs, 128);
    ok = (rc == MCP_STORE_OK && w.dropped == 40 && w.summary != NULL
          && !mcp_store_txn_truncated(t));

    mcp_store_txn_abort(t);
    t = test_begin_txn(s, MCP_STORE_RDONLY);

    rc = test_window(t, "longer", 300, NULL, 0.5, &w, msgs, 128);
    TAP_OK(ok && rc == MCP_STORE_OK && w.dropped == 100 && w.summary != NULL
           && mcp_store_txn_truncated(t),
           "budget: a summary of 40 KB of turns is whole, of 100 KB "
           "truncated");

    mcp_store_txn_abort(t);

    /* "longer" is deleted in calls of 20000 units: each leaves fewer */

    ok = 1;

    for (i = 0; i < 100; i++) {
        t = test_begin_txn(s, 0);
        mcp_store_txn_budget(t, 20000);

        rc = mcp_store_context_delete(t, &test_acme, "longer", 6);
        ok &= (rc == MCP_STORE_OK);

        if (!mcp_store_txn_truncated(t)) {
            break;
        }

        ok &= (mcp_store_context_get(t, &test_acme, "longer", 6, &c)
               == MCP_STORE_OK && c.nmessages > 0 && c.nmessages < 100
               && c.tokens == c.nmessages * 253);

        rc = mcp_store_txn_commit(t);
    }

    rc |= mcp_store_txn_commit(t);
    t = test_begin_txn(s, MCP_STORE_RDONLY);

    TAP_OK(rc == MCP_STORE_OK && ok && i >= 2 && i < 100
           && mcp_store_context_get(t, &test_acme, "longer", 6, &c)
              == MCP_STORE_NOTFOUND
           && test_entries(t, s->messages) == 60,
           "budget: a delete of 100 messages takes %u calls, each leaving "
           "a record of what is left", (unsigned) i + 1);

    mcp_store_txn_abort(t);

    /* "long" expires at 110: its 8000 tokens take more than one sweep */

    removed = 0;
    more = 0;
    ok = 1;

    for (sweeps = 0; sweeps < 40; sweeps++) {
        rc = mcp_store_context_expire(s, 200, 10, &removed, &more);

        if (rc != MCP_STORE_OK || removed == 1) {
            break;
        }

        t = test_begin_txn(s, MCP_STORE_RDONLY);

        nmessages = 0;
        if (mcp_store_context_get(t, &test_acme, "long", 4, &c)
            == MCP_STORE_OK)
        {
            nmessages = c.nmessages;
        }

        ok &= (more == 1 && nmessages > 0 && nmessages < 40
               && c.tokens == nmessages * 253
               && test_entries(t, s->messages) == 20 + nmessages);

        mcp_store_txn_abort(t);
    }

    TAP_OK(rc == MCP_STORE_OK && ok && sweeps >= 1 && sweeps < 40
           && removed == 1 && more == 0,
           "budget: the expired context went in %u sweeps, each leaving a "
           "record that counts what is left", (unsigned) sweeps + 1);

    t = test_begin_txn(s, MCP_STORE_RDONLY);

    rc = mcp_store_message_search(t, &test_acme, "long", 4, TEST_STR("word"),
                                  0, hits, 4, &i, NULL);
    TAP_OK(rc == MCP_STORE_OK && i == 0
           && test_entries(t, s->messages) == 20,
           "budget: none of its messages or postings is left");

    mcp_store_txn_abort(t);
    mcp_store_close(s);
    free(text);
}


static void
test_isolation(void)
{
    int                   ok;
    mcp_store_t          *s;
    mcp_store_txn_t      *t;
    mcp_store_context_t   c;

    t = test_start("isolation", 0, &s);

    test_adds(t, &test_acme, "same", 1, 0, "acme one", "acme two", NULL);
    test_adds(t, &test_acme_ns, "same", 1, 0, "namespace", NULL);
    test_adds(t, &test_other, "same", 1, 0, "other", NULL);

    ok = mcp_store_context_get(t, &test_acme, "same", 4, &c) == MCP_STORE_OK
         && c.nmessages == 2
         && mcp_store_context_get(t, &test_acme_ns, "same", 4, &c)
            == MCP_STORE_OK
         && c.nmessages == 1
         && mcp_store_context_get(t, &test_other, "same", 4, &c)
            == MCP_STORE_OK
         && c.nmessages == 1;
    TAP_OK(ok, "isolation: one id, three scopes, three contexts");

    ok = mcp_store_context_delete(t, &test_acme_ns, "same", 4)
         == MCP_STORE_OK
         && test_list_is(t, &test_acme, "same", 1, 0, "1,2")
         && test_list_is(t, &test_other, "same", 1, 0, "1");
    TAP_OK(ok, "isolation: deleting one leaves the others' messages");

    mcp_store_txn_abort(t);
    mcp_store_close(s);
}


static void
test_window_basic(test_win_t *f)
{
    int                   rc, ok;

    rc = test_win(f, "none", 100, NULL, 0.5, 8);
    TAP_OK(rc == MCP_STORE_OK && f->w.nmessages == 0 && f->w.tokens_used == 0
           && f->w.dropped == 0 && f->w.summary == NULL,
           "window: a context with no messages (none yet) is empty");

    (void) test_add(f->t, &test_acme, "c", MCP_STORE_ROLE_SYSTEM, 0,
                    "Be brief.", 1, 0);
    (void) test_add(f->t, &test_acme, "c", 1, 0, "What is two and two?", 1, 0);
    (void) test_add(f->t, &test_acme, "c", 2, 0, "Four.", 1, 0);

    rc = test_win(f, "c", 1000, NULL, 0.5, 8);
    TAP_OK(rc == MCP_STORE_OK && test_seqs_are(&f->w, "1,2,3")
           && f->w.tokens_used == 6 + 8 + 5 && f->w.dropped == 0
           && f->w.summary == NULL && f->w.summary_tokens == 0
           && test_is(f->msgs[1].content, f->msgs[1].content_len,
                      "What is two and two?"),
           "window: everything fits: all of it, no summary");

    rc = test_win(f, "c", 19, "two", 0.5, 8);
    TAP_OK(rc == MCP_STORE_OK && test_seqs_are(&f->w, "1,2,3")
           && f->w.tokens_used == 19,
           "window: exactly the budget: all of it");

    rc = test_win(f, "c", 18, NULL, 0.0, 8);
    TAP_OK(rc == MCP_STORE_OK && test_seqs_are(&f->w, "1,3")
           && f->w.dropped == 1 && f->w.summary == NULL
           && f->w.tokens_used == 11,
           "window: share 0 drops without a summary");

    rc = test_win(f, "c", 1000, NULL, 0.5, 2);
    TAP_OK(rc == MCP_STORE_OK && test_seqs_are(&f->w, "1,3")
           && f->w.dropped == 1 && f->w.summary != NULL
           && f->w.summary_at == 1,
           "window: cap 2 keeps 2 messages, the rest summarised");

    rc = test_win(f, "c", 1000, NULL, 0.5, 0);
    TAP_OK(rc == MCP_STORE_ETOOBIG && f->w.tokens_used == 6,
           "window: cap 0 with a system message is ETOOBIG");

    ok = test_win(f, "c", 10, NULL, -0.1, 8) == MCP_STORE_EINVAL
         && test_win(f, "c", 10, NULL, 1.5, 8)
            == MCP_STORE_EINVAL
         && test_win(f, "c", 10, NULL, NAN, 8)
            == MCP_STORE_EINVAL
         && mcp_store_context_window(f->t, &test_acme, "c", 1, 10, NULL, 3, 0.5,
                                     &f->w, 8) == MCP_STORE_EINVAL
         && mcp_store_context_window(f->t, &test_acme, "c", 1, 10, NULL, 0, 0.5,
                                     NULL, 8) == MCP_STORE_EINVAL
         && mcp_store_context_window(f->t, &test_acme, "", 0, 10, NULL, 0, 0.5,
                                     &f->w, 8) == MCP_STORE_EINVAL;
    TAP_OK(ok, "window: bad shares, query, out or id are EINVAL");
}


/*
 * A budget below the newest message: it is dropped and summarised.  With
 * every token once, a sentence scores its token count: the long last
 * sentence scores best but does not fit, then the three-token ones are
 * taken in order while they fit.  The second case shows the frequency
 * rule: "cats" is in three sentences; the last, that a sentence repeated
 * is written once.
 */

static void
test_window_tight(test_win_t *f)
{
    int                   rc;

    (void) test_add(f->t, &test_acme, "greek", 1, 0,
                    "Alpha beta gamma. Delta epsilon zeta. Eta theta iota. "
                    "Kappa lambda mu nu xi omicron pi rho sigma tau.", 1, 0);

    rc = test_win(f, "greek", 20, NULL, 1.0, 4);
    TAP_OK(rc == MCP_STORE_OK && f->w.nmessages == 0 && f->w.dropped == 1
           && test_is(f->w.summary, f->w.summary_len,
                      "Summary of 1 earlier message: Alpha beta gamma. "
                      "Delta epsilon zeta.")
           && f->w.summary_tokens == 20 && f->w.tokens_used == 20,
           "tight: the newest message over budget is summarised (%.*s)",
           (int) f->w.summary_len, f->w.summary ? f->w.summary : "");

    (void) test_add(f->t, &test_acme, "cats", 1, 0,
                    "Cats purr. Dogs bark loudly at night. Cats sleep. "
                    "Cats eat fish.", 1, 0);

    rc = test_win(f, "cats", 17, NULL, 1.0, 4);
    TAP_OK(rc == MCP_STORE_OK
           && test_is(f->w.summary, f->w.summary_len,
                      "Summary of 1 earlier message: Cats purr. "
                      "Cats eat fish.")
           && f->w.tokens_used <= 17,
           "tight: frequent tokens win, order kept (%.*s)",
           (int) f->w.summary_len, f->w.summary ? f->w.summary : "");

    rc = test_win(f, "cats", 10, NULL, 1.0, 4);
    TAP_OK(rc == MCP_STORE_OK && f->w.summary == NULL && f->w.tokens_used == 0
           && f->w.dropped == 1,
           "tight: no room for the first line: no summary, nothing used");

    (void) test_add(f->t, &test_acme, "pi", 1, 0,
                    "Pi is 3.14 roughly. See example.com for more!!! Yes",
                    1, 0);

    /* cap 0: room for no message, so it is dropped whatever its size */

    rc = test_win(f, "pi", 40, NULL, 1.0, 0);
    TAP_OK(rc == MCP_STORE_OK
           && test_is(f->w.summary, f->w.summary_len,
                      "Summary of 1 earlier message: Pi is 3.14 roughly. "
                      "See example.com for more!!! Yes"),
           "tight: '.' inside numbers and names ends no sentence (%.*s)",
           (int) f->w.summary_len, f->w.summary ? f->w.summary : "");

    /* sentences said again, in one message or in several: once each */

    (void) test_add(f->t, &test_acme, "again", 1, 0,
                    "Where is order 42? Where is order 42?", 1, 0);
    (void) test_add(f->t, &test_acme, "again", 2, 0,
                    "Order 42 shipped late. Where is order 42?\n"
                    "Order 42 shipped late.", 1, 0);

    rc = test_win(f, "again", 200, NULL, 1.0, 0);
    TAP_OK(rc == MCP_STORE_OK && f->w.dropped == 2
           && test_is(f->w.summary, f->w.summary_len,
                      "Summary of 2 earlier messages: Where is order 42? "
                      "Order 42 shipped late."),
           "tight: a sentence said again is summarised once (%.*s)",
           (int) f->w.summary_len, f->w.summary ? f->w.summary : "");
}


static void
test_window_pinned(test_win_t *f)
{
    int                   rc;
    char                 *long1, *long2, *huge;

    long1 = test_fill("Older words fill this turn. ", 200);
    long2 = test_fill("More old words in here. ", 200);
    huge = test_fill("Rules. ", 400);

    (void) test_add(f->t, &test_acme, "p", MCP_STORE_ROLE_SYSTEM, 0,
                    "You are helpful.", 1, 0);                  /*  7 */
    (void) test_add(f->t, &test_acme, "p", 1, 0, long1, 1, 0);  /* 53 */
    (void) test_add(f->t, &test_acme, "p", 1, 1, "Remember: 42.", 1, 0);
    (void) test_add(f->t, &test_acme, "p", 2, 0, long2, 1, 0);  /* 53 */
    (void) test_add(f->t, &test_acme, "p", 1, 0,
                    "And what about the newest one?", 1, 0);   /* 11 */

    /* 90: pinned 7 + 7, summary 18, turns 58: 5 fits, 4 does not */

    rc = test_win(f, "p", 90, NULL, 0.2, 8);
    TAP_OK(rc == MCP_STORE_OK && test_seqs_are(&f->w, "1,3,5")
           && f->w.dropped == 2 && f->w.summary_at == 1 && f->w.summary != NULL
           && f->w.summary_tokens <= 18 && f->w.tokens_used <= 90
           && f->w.tokens_used == 7 + 7 + 11 + f->w.summary_tokens
           && test_is(f->msgs[2].content, f->msgs[2].content_len,
                      "And what about the newest one?"),
           "pinned: system and pinned kept, older turns dropped");

    rc = test_win(f, "p", 13, NULL, 0.2, 8);
    TAP_OK(rc == MCP_STORE_ETOOBIG && f->w.tokens_used == 14,
           "pinned: they alone over budget: ETOOBIG, tokens_used 14");

    rc = test_win(f, "p", 14, NULL, 0.5, 8);
    TAP_OK(rc == MCP_STORE_OK && test_seqs_are(&f->w, "1,3")
           && f->w.dropped == 3 && f->w.summary == NULL
           && f->w.tokens_used == 14,
           "pinned: exactly their budget: they, and no room for a summary");

    (void) test_add(f->t, &test_acme, "q", MCP_STORE_ROLE_SYSTEM, 0, huge, 1,
                    0);

    rc = test_win(f, "q", 50, NULL, 0.2, 8);
    TAP_OK(rc == MCP_STORE_ETOOBIG && f->w.tokens_used == 103,
           "pinned: a system message of 103 tokens in 50 is ETOOBIG");

    free(long1);
    free(long2);
    free(huge);
}


/*
 * 7 (system), 52, 52, 7 tokens.  Within 80 and a quarter for the summary
 * (20 tokens, 68 bytes), turns get 53: the 7 and not the 52 before it, so
 * turns 2 and 3 are dropped; with half (40), still.  Turns are whole
 * sentences, 7 times over: the summary takes the first.
 */

static void
test_window_reuse(test_win_t *f)
{
    int                   rc;
    char                 *long1, *custom;
    mcp_store_context_t   c;

    long1 = test_fill("Plenty of older words here. ", 196);
    custom = test_fill("Stored summary. ", 100);

    (void) test_add(f->t, &test_acme, "r", MCP_STORE_ROLE_SYSTEM, 0,
                    "You are helpful.", 1, 0);
    (void) test_add(f->t, &test_acme, "r", 1, 0, long1, 1, 0);
    (void) test_add(f->t, &test_acme, "r", 2, 0, long1, 1, 0);
    (void) test_add(f->t, &test_acme, "r", 1, 0, "Short question?", 1, 0);

    rc = test_win(f, "r", 80, NULL, 0.25, 8);
    TAP_OK(rc == MCP_STORE_OK && test_seqs_are(&f->w, "1,4")
           && f->w.dropped == 2
           && test_is(f->w.summary, f->w.summary_len,
                      "Summary of 2 earlier messages: Plenty of older words "
                      "here.")
           && mcp_store_context_get(f->t, &test_acme, "r", 1, &c)
              == MCP_STORE_OK
           && c.summary_from == 2 && c.summary_upto == 3
           && test_is(c.summary, c.summary_len,
                      "Summary of 2 earlier messages: Plenty of older words "
                      "here."),
           "reuse: the summary is stored with the dropped range 2..3");

    TAP_RC(mcp_store_txn_commit(f->t), MCP_STORE_OK, "reuse: commits");

    f->t = test_begin_txn(f->s, 0);

    /* a text the window would never write: only reuse returns it */

    rc = mcp_store_context_summary(f->t, &test_acme, "r", 1, custom, 100, 2, 3);

    rc |= test_win(f, "r", 80, NULL, 0.5, 8);
    TAP_OK(rc == MCP_STORE_OK && test_is(f->w.summary, f->w.summary_len, custom)
           && f->w.summary_tokens == mcp_store_tokens(100)
           && f->w.tokens_used == 7 + 7 + f->w.summary_tokens,
           "reuse: the same dropped range returns the stored summary");

    rc = test_win(f, "r", 80, NULL, 0.25, 8);
    TAP_OK(rc == MCP_STORE_OK && f->w.dropped == 2 && f->w.summary != NULL
           && !test_is(f->w.summary, f->w.summary_len, custom)
           && f->w.tokens_used <= 80,
           "reuse: not when it does not fit the summary budget");

    (void) test_add(f->t, &test_acme, "r", 2, 0, long1, 1, 0);

    rc = test_win(f, "r", 80, NULL, 0.25, 8);
    TAP_OK(rc == MCP_STORE_OK && test_seqs_are(&f->w, "1,5")
           && f->w.summary != NULL
           && strncmp(f->w.summary, "Summary of 3 earlier messages:", 30) == 0
           && mcp_store_context_get(f->t, &test_acme, "r", 1, &c)
              == MCP_STORE_OK
           && c.summary_from == 2 && c.summary_upto == 4
           && test_is(c.summary, c.summary_len, "") == 0,
           "reuse: a new turn moves the range (2..4): made again, stored");

    mcp_store_txn_abort(f->t);

    /* a read-only window makes a summary but cannot store it */

    f->t = test_begin_txn(f->s, MCP_STORE_RDONLY);

    rc = mcp_store_context_summary(f->t, &test_acme, "r", 1, "x", 1, 1, 1);
    TAP_RC(rc, MCP_STORE_EINVAL, "reuse: summary in a read-only txn: EINVAL");

    rc = test_win(f, "r", 100, NULL, 0.2, 8);
    TAP_OK(rc == MCP_STORE_OK && test_seqs_are(&f->w, "1,3,4")
           && f->w.summary != NULL
           && strncmp(f->w.summary, "Summary of 1 earlier message:", 29) == 0
           && mcp_store_context_get(f->t, &test_acme, "r", 1, &c)
              == MCP_STORE_OK
           && c.summary_upto == 3,
           "reuse: a read-only window summarises and stores nothing");

    free(long1);
    free(custom);
}


/*
 * Five long irrelevant turns after a short relevant one, and a budget of
 * two long turns and the short one: recency keeps the newest two and
 * stops; the query brings the old relevant turn in, over three newer.
 */

static void
test_window_query(test_win_t *f)
{
    int                   rc;
    char                 *noise;
    size_t                i;
    uint64_t              max;

    noise = test_fill("Sunny weather, light breeze. ", 80);

    (void) test_add(f->t, &test_acme, "q", 1, 0,
                    "Use port 8443 for staging.", 1, 0);

    for (i = 0; i < 5; i++) {
        (void) test_add(f->t, &test_acme, "q", 2, 0, noise, 1, 0);
    }

    max = 2 * mcp_store_tokens(80) + mcp_store_tokens(26);

    rc = test_win(f, "q", max, NULL, 0.0, 8);
    TAP_OK(rc == MCP_STORE_OK && test_seqs_are(&f->w, "5,6")
           && f->w.dropped == 4,
           "query: without one, the newest turns only");

    rc = test_win(f, "q", max, "staging port", 0.0, 8);
    TAP_OK(rc == MCP_STORE_OK && test_seqs_are(&f->w, "1,5,6")
           && f->w.dropped == 3 && f->w.tokens_used == max
           && f->w.summary_at == 1,
           "query: the old relevant turn is kept over newer ones");

    rc = test_win(f, "q", max, "unrelated", 0.0, 8);
    TAP_OK(rc == MCP_STORE_OK && test_seqs_are(&f->w, "5,6"),
           "query: matching nothing falls back to recency");

    rc = test_win(f, "q", max - 1, "staging", 0.0, 8);
    TAP_OK(rc == MCP_STORE_OK && test_seqs_are(&f->w, "1,6"),
           "query: the relevant turn comes first, recent turns get the rest");

    rc = test_win(f, "q", 3 * mcp_store_tokens(26) - 1, "staging", 0.0, 8);
    TAP_OK(rc == MCP_STORE_OK && test_seqs_are(&f->w, "6")
           && f->w.dropped == 5,
           "query: a relevant turn over a third of the budget is not kept "
           "first");

    free(noise);
}


/*
 * The example of the window rule: 120 turns, a 400-token window, and the
 * one old turn that answers the query.  By recency alone the recent turns
 * fill the window and leave less room than that turn needs.
 */

static void
test_window_query_tight(test_win_t *f)
{
    int                   rc, found;
    char                  text[128];
    size_t                i;

    for (i = 1; i <= 120; i++) {
        if (i == 11) {
            snprintf(text, sizeof(text), "The staging database password "
                     "rotates every Tuesday at noon, said turn %zu.", i);

        } else {
            snprintf(text, sizeof(text), "Turn %03zu: we talked about the "
                     "weather and lunch plans again.", i);
        }

        (void) test_add(f->t, &test_acme, "long", 1 + (unsigned) (i % 2), 0,
                        text, 1, 0);
    }

    rc = test_win(f, "long", 400, NULL, 0.25, TEST_MSGS);

    for (found = 0, i = 0; rc == MCP_STORE_OK && i < f->w.nmessages; i++) {
        found |= (f->w.messages[i].seq == 11);
    }

    TAP_OK(rc == MCP_STORE_OK && !found && f->w.nmessages == 16
           && f->w.messages[15].seq == 120 && f->w.tokens_used <= 400,
           "query tight: by recency, 16 newest turns and not turn 11");

    rc = test_win(f, "long", 400, "staging password", 0.25, TEST_MSGS);

    TAP_OK(rc == MCP_STORE_OK && f->w.nmessages == 16
           && f->w.messages[0].seq == 11 && f->w.messages[1].seq == 106
           && f->w.messages[15].seq == 120 && f->w.summary_at == 0
           && f->w.tokens_used <= 400,
           "query tight: turn 11 kept, then the 15 newest");

    TAP_OK(f->w.summary != NULL
           && strstr(f->w.summary, "staging database password") == NULL,
           "query tight: the kept answer is not in the summary");
}


/*
 * With a query, the summary takes the sentences that share its words
 * first, once each, and is not stored in place of the plain one.
 */

static void
test_window_query_summary(test_win_t *f)
{
    int                   rc;
    char                  plain[256];
    const char           *p;

    static const char  lunch[] = "Lunch plans and weather plans. "
                                 "Lunch weather plans again.";

    (void) test_add(f->t, &test_acme, "s", 1, 0, lunch, 1, 0);
    (void) test_add(f->t, &test_acme, "s", 2, 0, "The invoice is 7731. Lunch "
                    "plans and weather plans. The invoice is 7731.", 1, 0);
    (void) test_add(f->t, &test_acme, "s", 1, 0, lunch, 1, 0);
    (void) test_add(f->t, &test_acme, "s", 2, 0, lunch, 1, 0);
    (void) test_add(f->t, &test_acme, "s", 1, 0, "Recent one.", 1, 0);
    (void) test_add(f->t, &test_acme, "s", 2, 0, "Recent two.", 1, 0);

    rc = test_win(f, "s", 40, NULL, 0.5, 8);
    TAP_OK(rc == MCP_STORE_OK && test_seqs_are(&f->w, "5,6")
           && f->w.dropped == 4
           && f->w.summary != NULL && f->w.summary_len < sizeof(plain)
           && test_is(f->w.summary, f->w.summary_len,
                      "Summary of 4 earlier messages: Lunch plans and "
                      "weather plans."),
           "query summary: without a query, the most frequent words win");

    plain[0] = '\0';

    if (f->w.summary != NULL && f->w.summary_len < sizeof(plain)) {
        memcpy(plain, f->w.summary, f->w.summary_len);
        plain[f->w.summary_len] = '\0';
    }

    rc = test_win(f, "s", 40, "invoice", 0.5, 8);
    TAP_OK(rc == MCP_STORE_OK && test_seqs_are(&f->w, "5,6")
           && f->w.dropped == 4
           && f->w.summary != NULL
           && test_is(f->w.summary, f->w.summary_len,
                      "Summary of 4 earlier messages: The invoice is 7731."),
           "query summary: the sentence with the query's word, once (%.*s)",
           (int) f->w.summary_len, f->w.summary ? f->w.summary : "");

    rc = test_win(f, "s", 40, NULL, 0.5, 8);
    p = f->w.summary;
    TAP_OK(rc == MCP_STORE_OK && p != NULL
           && test_is(p, f->w.summary_len, plain),
           "query summary: not stored; the plain summary stays");
}


static void
test_window_utf8(test_win_t *f)
{
    int                   rc;

    (void) test_add(f->t, &test_acme, "u", 1, 0,
                    "Caf\xc3\xa9 cr\xc3\xa8me br\xc3\xbbl\xc3\xa9" "e. "
                    "\xc3\x9c" "ber na\xc3\xafve fa\xc3\xa7" "ade! "
                    "\xd0\xad\xd1\x82\xd0\xbe \xd0\xb2\xd0\xbe\xd0\xbf"
                    "\xd1\x80\xd0\xbe\xd1\x81?\n"
                    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e."
                    "\xe6\x96\x87 \xf0\x9f\x98\x80 caf\xc3\xa9.", 1, 0);

    (void) test_add(f->t, &test_acme, "u", 1, 0, "Recent.", 1, 0);

    rc = test_win(f, "u", 40, NULL, 0.5, 1);
    TAP_OK(rc == MCP_STORE_OK && test_seqs_are(&f->w, "2") && f->w.dropped == 1
           && f->w.summary != NULL && test_utf8(f->w.summary, f->w.summary_len)
           && f->w.tokens_used <= 40,
           "utf8: the summary is valid UTF-8 (%.*s)",
           (int) f->w.summary_len, f->w.summary ? f->w.summary : "");

    TAP_OK(f->w.summary != NULL
           && strstr(f->w.summary, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e."
                                "\xe6\x96\x87 \xf0\x9f\x98\x80 caf\xc3\xa9.")
              != NULL,
           "utf8: '.' between multi-byte characters ends no sentence");
}


/*
 * Random contexts and budgets.  For every window: tokens_used <=
 * max_tokens and is what the kept messages and the summary cost; the
 * messages are in seq order; pinned and system ones are all there
 * (unless ETOOBIG, which only they cause); kept turns and dropped ones
 * make all the turns; without a query, every kept turn is newer than
 * every dropped one; a summary is valid UTF-8 and only with dropped turns.
 */

static void
test_window_random(void)
{
    int                   rc, within, ordered, always, counted, recent;
    int                   summary, toobig;
    char                  dir[PATH_MAX], ctx[32];
    size_t                i, j, k, m, cap, nalways, nkept, windows;
    size_t                ndropped, nsummary, ntoobig, nrelevant;
    double                share;
    uint64_t              max, need, used, newest_dropped, oldest_kept;
    const char           *query;
    mcp_store_t          *s;
    mcp_store_txn_t      *t;
    test_ctx_t            tc;
    mcp_store_window_t    w;
    mcp_store_message_t   msgs[TEST_MSGS];

    static const char  *queries[] = { NULL, "apple", "river stone", "zeta",
                                      "nothing-matches" };

    srand(20240611);

    s = test_open(test_dir(dir, "wrandom"), 256 * 1024 * 1024, 0);

    within = ordered = always = counted = recent = summary = toobig = 1;
    windows = 0;
    ndropped = nsummary = ntoobig = nrelevant = 0;

    for (i = 0; i < TEST_ROUNDS; i++) {
        t = test_begin_txn(s, 0);

        snprintf(ctx, sizeof(ctx), "r%zu", i);
        test_random_ctx(t, ctx, &tc);

        for (k = 0; k < 3; k++) {
            max = test_rand(8) == 0 ? test_rand(40)
                                    : test_rand((unsigned) tc.total + 20);
            share = (test_rand(5) == 0) ? 0.0 : test_rand(101) / 100.0;
            cap = (test_rand(8) == 0) ? test_rand(TEST_MSGS) : TEST_MSGS;
            query = queries[test_rand(5)];

            rc = test_window(t, ctx, max, query, share, &w, msgs, cap);
            windows++;

            need = 0;
            nalways = 0;

            for (j = 0; j < tc.n; j++) {
                if (tc.always[j]) {
                    need += tc.tokens[j];
                    nalways++;
                }
            }

            if (rc == MCP_STORE_ETOOBIG) {
                ntoobig++;
                toobig &= (need > max || nalways > cap)
                          && w.tokens_used == need;
                continue;
            }

            if (rc != MCP_STORE_OK) {
                tap_diag("round %zu: rc %d", i, rc);
                within = 0;
                continue;
            }

            toobig &= !(need > max || nalways > cap);
            within &= w.tokens_used <= max && w.nmessages <= cap;

            used = w.summary_tokens;
            nkept = 0;
            newest_dropped = 0;
            oldest_kept = UINT64_MAX;

            for (j = 0; j < w.nmessages; j++) {
                used += w.messages[j].tokens;
                ordered &= j == 0 || w.messages[j].seq > w.messages[j - 1].seq;
                counted &= w.messages[j].tokens
                           == tc.tokens[w.messages[j].seq - 1];

                if (!tc.always[w.messages[j].seq - 1]) {
                    nkept++;

                    if (w.messages[j].seq < oldest_kept) {
                        oldest_kept = w.messages[j].seq;
                    }
                }
            }

            for (j = 0, m = 0; j < tc.n; j++) {
                while (m < w.nmessages && w.messages[m].seq < j + 1) {
                    m++;
                }

                if (tc.always[j]) {
                    always &= m < w.nmessages && w.messages[m].seq == j + 1;

                } else if (m == w.nmessages || w.messages[m].seq != j + 1) {
                    newest_dropped = j + 1;
                }
            }

            within &= used == w.tokens_used;
            counted &= nkept + w.dropped == tc.n - nalways;
            summary &= (w.summary == NULL
                        || (w.dropped > 0
                            && test_utf8(w.summary, w.summary_len)
                            && w.summary_tokens
                               == mcp_store_tokens(w.summary_len)))
                       && (w.dropped == 0 || w.summary != NULL
                           || share * (double) max < 3 + 8
                           || max - need < 3 + 8)
                       && w.summary_at <= w.nmessages;

            if (query == NULL) {
                recent &= newest_dropped == 0 || oldest_kept == UINT64_MAX
                          || newest_dropped < oldest_kept;

            } else if (newest_dropped > oldest_kept) {
                nrelevant++;
            }

            ndropped += w.dropped > 0;
            nsummary += w.summary != NULL;

            if (!(within && ordered && always && counted && recent && summary
                  && toobig))
            {
                tap_diag("round %zu, window %zu: max %llu share %.2f cap %zu"
                         " query %s", i, k, (unsigned long long) max, share,
                         cap, query ? query : "-");
                i = TEST_ROUNDS;
                break;
            }
        }

        mcp_store_txn_abort(t);
    }

    tap_diag("%zu windows: %zu with drops, %zu summaries, %zu ETOOBIG, %zu "
             "with older relevant turns kept", windows, ndropped, nsummary,
             ntoobig, nrelevant);

    TAP_OK(within, "random: %zu windows: tokens_used <= max_tokens, and is "
           "what they hold", windows);
    TAP_OK(ordered, "random: messages in seq order");
    TAP_OK(always, "random: every pinned and system message kept");
    TAP_OK(counted, "random: kept and dropped turns are all the turns");
    TAP_OK(recent, "random: without a query, kept turns are the newest");
    TAP_OK(summary, "random: summaries valid, only and always with drops");
    TAP_OK(toobig, "random: ETOOBIG exactly when the pinned do not fit");

    mcp_store_close(s);
}


/* opens a store in a directory of its own, and begins a write */

static mcp_store_txn_t *
test_start(const char *name, size_t map_size, mcp_store_t **s)
{
    char  dir[PATH_MAX];

    *s = test_open(test_dir(dir, name), map_size, 0);

    return test_begin_txn(*s, 0);
}


static int
test_add(mcp_store_txn_t *t, const mcp_store_scope_t *sc, const char *ctx,
    unsigned role, unsigned pinned, const char *content, int64_t now,
    int64_t ttl)
{
    mcp_store_message_t  m;

    memset(&m, 0, sizeof(m));
    m.role = role;
    m.pinned = pinned;
    m.content = content;
    m.content_len = strlen(content);

    return mcp_store_message_append(t, sc, ctx, strlen(ctx), &m, now, ttl,
                                    NULL);
}


/* appends the texts (up to NULL) to ctx as the user's, or bails out */

static void
test_adds(mcp_store_txn_t *t, const mcp_store_scope_t *sc, const char *ctx,
    int64_t now, int64_t ttl, ...)
{
    int          rc;
    va_list      args;
    const char  *text;

    va_start(args, ttl);

    while ((text = va_arg(args, const char *)) != NULL) {
        rc = test_add(t, sc, ctx, MCP_STORE_ROLE_USER, 0, text, now, ttl);
        if (rc != MCP_STORE_OK) {
            tap_bail("cannot append \"%s\" to %s: %d", text, ctx, rc);
        }
    }

    va_end(args);
}


/* the seqs a message list saw: "1,2,3" */

static int
test_msg_cb(void *data, const mcp_store_message_t *m)
{
    return test_seen_add(data, "%llu", (unsigned long long) m->seq);
}


/* the contexts a context list saw, with their message counts: "a:1,b:2" */

static int
test_ctx_cb(void *data, const mcp_store_context_t *c)
{
    return test_seen_add(data, "%.*s:%llu", (int) c->id_len, c->id,
                         (unsigned long long) c->nmessages);
}


static int
test_list(mcp_store_txn_t *t, const mcp_store_scope_t *sc, const char *ctx,
    uint64_t first, unsigned flags, test_seen_t *l)
{
    test_seen_init(l, 0);

    return mcp_store_message_list(t, sc, ctx, strlen(ctx), first, flags,
                                  test_msg_cb, l);
}


/* the messages listed are those seqs ("1,2,3"), or a diagnostic says */

static int
test_list_is(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *ctx, uint64_t first, unsigned flags, const char *seqs)
{
    int          rc;
    test_seen_t  l;

    rc = test_list(t, sc, ctx, first, flags, &l);

    if (rc != MCP_STORE_OK || strcmp(l.seen, seqs) != 0) {
        tap_diag("  list of %s from %llu: rc %d, %s, expected %s", ctx,
                 (unsigned long long) first, rc, l.seen, seqs);
        return 0;
    }

    return 1;
}


static int
test_is(const char *p, size_t len, const char *str)
{
    return p != NULL && len == strlen(str) && memcmp(p, str, len) == 0;
}


/* by the C library's own decoder, not the store's */

static int
test_utf8(const char *p, size_t len)
{
    size_t     n;
    wchar_t    wc;
    mbstate_t  st;

    memset(&st, 0, sizeof(st));

    while (len > 0) {
        n = mbrtowc(&wc, p, len, &st);

        if (n == (size_t) -1 || n == (size_t) -2 || n == 0) {
            return 0;
        }

        p += n;
        len -= n;
    }

    return 1;
}


/* len bytes of unit repeated (cut anywhere: units are ASCII), malloc'd */

static char *
test_fill(const char *unit, size_t len)
{
    char    *p;
    size_t   i, ulen;

    p = malloc(len + 1);
    if (p == NULL) {
        tap_bail("out of memory");
    }

    ulen = strlen(unit);

    for (i = 0; i < len; i++) {
        p[i] = unit[i % ulen];
    }

    p[len] = '\0';

    return p;
}


static int
test_window(mcp_store_txn_t *t, const char *ctx, uint64_t max_tokens,
    const char *query, double share, mcp_store_window_t *w,
    mcp_store_message_t *msgs, size_t cap)
{
    memset(w, 0, sizeof(mcp_store_window_t));
    w->messages = msgs;

    return mcp_store_context_window(t, &test_acme, ctx, strlen(ctx),
                                    max_tokens, query,
                                    query ? strlen(query) : 0, share, w,
                                    cap);
}


/* runs a window test on a store of its own */

static void
test_with_window(const char *name, void (*test)(test_win_t *f))
{
    test_win_t  f;

    f.t = test_start(name, 0, &f.s);

    test(&f);

    mcp_store_txn_abort(f.t);
    mcp_store_close(f.s);
}


/* the window of the fixture's context ctx, of at most cap messages */

static int
test_win(test_win_t *f, const char *ctx, uint64_t max_tokens,
    const char *query, double share, size_t cap)
{
    return test_window(f->t, ctx, max_tokens, query, share, &f->w, f->msgs,
                       cap);
}


static int
test_seqs_are(const mcp_store_window_t *w, const char *seqs)
{
    char    buf[512];
    size_t  i, len;

    buf[0] = '\0';

    for (i = 0; i < w->nmessages; i++) {
        len = strlen(buf);
        snprintf(buf + len, sizeof(buf) - len, "%s%llu", i ? "," : "",
                 (unsigned long long) w->messages[i].seq);
    }

    if (strcmp(buf, seqs) != 0) {
        tap_diag("  window: %s, expected %s", buf, seqs);
        return 0;
    }

    return 1;
}


static unsigned
test_rand(unsigned n)
{
    return (n == 0) ? 0 : (unsigned) rand() % n;
}


/*
 * Up to TEST_MSGS messages of random roles and pins, of words (some of
 * them multi-byte) and sentence ends, 0 to about 600 bytes each.
 */

static void
test_random_ctx(mcp_store_txn_t *t, const char *ctx, test_ctx_t *tc)
{
    char          buf[700];
    size_t        i, len, words, w;
    unsigned      role, pinned;

    static const char  *vocab[] = {
        "apple", "river", "stone", "zeta", "the", "a", "of", "3.14",
        "caf\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x98\x80",
        "na\xc3\xafve", "example.com", "light", "breeze", "and", "data"
    };

    static const char  *ends[] = { " ", " ", " ", ". ", "! ", "? ", "\n",
                                   "... ", "." };

    tc->n = test_rand(TEST_MSGS + 1);
    tc->total = 0;

    for (i = 0; i < tc->n; i++) {
        role = test_rand(8) == 0 ? MCP_STORE_ROLE_SYSTEM
                                 : 1 + test_rand(3);
        pinned = test_rand(10) == 0;

        words = test_rand(4) == 0 ? test_rand(100) : test_rand(20);
        len = 0;
        buf[0] = '\0';

        for (w = 0; w < words && len < 600; w++) {
            len += (size_t) snprintf(buf + len, sizeof(buf) - len, "%s%s",
                          vocab[test_rand(sizeof(vocab) / sizeof(vocab[0]))],
                          ends[test_rand(sizeof(ends) / sizeof(ends[0]))]);
        }

        if (test_add(t, &test_acme, ctx, role, pinned, buf, 1, 0)
            != MCP_STORE_OK)
        {
            tap_bail("random append failed");
        }

        tc->always[i] = pinned || role == MCP_STORE_ROLE_SYSTEM;
        tc->tokens[i] = mcp_store_tokens(strlen(buf));
        tc->total += tc->tokens[i];
    }
}


/* mcp_store_stat() counts contexts (not their expiry keys), entities,
 * relations and sessions */

static void
test_stat_counts(void)
{
    int                    rc, created;
    mcp_store_t           *s;
    mcp_store_txn_t       *t;
    mcp_store_stat_t       st;
    mcp_store_entity_t     e;
    mcp_store_relation_t   rel;
    mcp_store_session_t    ss;

    t = test_start("stat-counts", 0, &s);

    rc = test_add(t, &test_acme, "c1", MCP_STORE_ROLE_USER, 0, "one", 100,
                  3600);
    rc |= test_add(t, &test_acme, "c1", MCP_STORE_ROLE_USER, 0, "two", 100,
                   3600);
    rc |= test_add(t, &test_other, "c2", MCP_STORE_ROLE_USER, 0, "three", 100,
                   0);
    rc |= test_add(t, &test_acme_ns, "c3", MCP_STORE_ROLE_USER, 0, "four",
                   100, 60);

    memset(&e, 0, sizeof(e));
    e.name = "Alice";
    e.name_len = 5;
    e.type = "person";
    e.type_len = 6;
    rc |= mcp_store_entity_create(t, &test_acme, &e, 100, &created);
    e.name = "Bob";
    e.name_len = 3;
    rc |= mcp_store_entity_create(t, &test_other, &e, 100, &created);

    memset(&rel, 0, sizeof(rel));
    rel.from = "Alice";
    rel.from_len = 5;
    rel.type = "knows";
    rel.type_len = 5;
    rel.to = "Bob";
    rel.to_len = 3;
    rc |= mcp_store_relation_create(t, &test_acme, &rel, 100, &created);

    rc |= mcp_store_txn_commit(t);

    memset(&ss, 0, sizeof(ss));
    rc |= mcp_store_session_put(s, "s1", 2, &ss);
    rc |= mcp_store_stat(s, &st);

    TAP_OK(rc == MCP_STORE_OK && st.contexts == 3 && st.entities == 2
           && st.relations == 1 && st.sessions == 1 && st.links == 0,
           "stat: 3 contexts (2 with an expiry), 2 entities, 1 relation, "
           "1 session");

    mcp_store_close(s);
}
