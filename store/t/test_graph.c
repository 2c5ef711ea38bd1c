/*
 * Unit tests of the context store's transactions, full-text index and
 * knowledge graph, printing TAP for prove.  Raw LMDB checks go through
 * the transaction's own MDB_txn (mcp_store_txn_mdb()) and the handle's
 * database handles: LMDB forbids opening the environment a second time in
 * the process.
 */

#define _POSIX_C_SOURCE  200809L

#include <sys/types.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_lib.h"


#define TEST_PLAN        177

#define TEST_KIB         ((size_t) 1024)

/* scores computed two ways agree to this much */
#define TEST_EPSILON     1e-9

#define TEST_HITS        16


/* a test's store, its transaction and the scope it works in */
typedef struct {
    mcp_store_t         *s;
    mcp_store_txn_t     *t;
    mcp_store_scope_t    sc;
} test_graph_t;


/* what a search found: its hits and their documents, "a,b,c" */
typedef struct {
    mcp_store_hit_t   hits[TEST_HITS];
    size_t            n;
    size_t            total;
    char              docs[256];
} test_found_t;


static int test_begin(test_graph_t *g, const char *name, const char *tenant,
    const char *ns, ...);
static mcp_store_scope_t test_scope(const char *tenant, const char *ns);
static int test_create(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    int *created, const char *name, const char *type, ...);
static int test_entities(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    va_list args);
static int test_relate_list(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *list);
static int test_relate(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *from, const char *type, const char *to, int *created);
static int test_get(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *name, mcp_store_entity_t *e, mcp_store_observation_t *obs,
    size_t cap, size_t *total);
static int test_obs(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *name, const char *text, int *added);
static int test_del(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *name, int *deleted);
static int test_search(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *query, test_found_t *r);
static int test_finds(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *query, const char *docs);
static int test_str_is(const char *p, size_t len, const char *str);
static int test_end(mcp_store_txn_t *t, int rc);
static int test_entity_cb(void *data, const mcp_store_entity_t *e);
static int test_relation_cb(void *data, const mcp_store_relation_t *r);
static int test_rels(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *from, const mcp_store_relation_t *after, size_t limit,
    test_seen_t *l, int *more);
static int test_rels_to(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *to, test_seen_t *l);
static int test_link_cb(void *data, const char *code, size_t code_len,
    const mcp_store_link_t *link);
static int test_token_cb(void *data, const char *token, size_t len);
static size_t test_tokens(const char *text, test_seen_t *l);
static int test_tokens_are(const char *text, const char *tokens);
static int test_index_count(mcp_store_txn_t *t, const char *key,
    size_t key_len, uint64_t *v, size_t n);
static double test_bm25(double tf, double df, double n, double len,
    double avglen);
static int test_near(double a, double b);
static char *test_repeat(const char *unit, size_t n);


static void test_txn(void);
static void test_ebusy(void);
static void test_abort(void);
static void test_scopes(void);
static void test_entity(void);
static void test_entity_restore(void);
static void test_scope_next(void);
static void test_limits(void);
static void test_observations(void);
static void test_write_copies(void);
static void test_entity_list(void);
static void test_relations(void);
static void test_entity_delete(void);
static void test_isolation(void);
static void test_index_upkeep(void);
static void test_tokenizer(void);
static void test_bm25_order(void);
static void test_prefix(void);
static void test_query_limits(void);
static void test_budget(void);
static void test_utf8(void);
static void test_map_full(void);
static void test_reserve(void);
static void test_fork_reader(void);
static void test_old_store(void);


int
main(void)
{
    test_init(TEST_PLAN);

    test_txn();
    test_ebusy();
    test_abort();
    test_scopes();
    test_entity();
    test_entity_restore();
    test_scope_next();
    test_limits();
    test_observations();
    test_write_copies();
    test_entity_list();
    test_relations();
    test_entity_delete();
    test_isolation();
    test_index_upkeep();
    test_tokenizer();
    test_bm25_order();
    test_prefix();
    test_query_limits();
    test_budget();
    test_utf8();
    test_map_full();
    test_reserve();
    test_fork_reader();
    test_old_store();

    return test_finish(TEST_PLAN);
}


static void
test_txn(void)
{
    int               rc;
    char              dir[PATH_MAX];
    mcp_store_t      *s, *ro;
    mcp_store_txn_t  *t, *t2;

    s = test_open(test_dir(dir, "txn"), 0, 0);

    t = (mcp_store_txn_t *) 1;
    rc = mcp_store_txn_begin(NULL, 0, &t);
    TAP_OK(rc == MCP_STORE_EINVAL && t == NULL,
           "txn: begin without a handle is EINVAL, *t NULL");

    rc = mcp_store_txn_begin(s, 0x80, &t);
    TAP_RC(rc, MCP_STORE_EINVAL, "txn: unknown flags are EINVAL");

    rc = mcp_store_txn_begin(s, 0, NULL);
    TAP_RC(rc, MCP_STORE_EINVAL, "txn: begin without t is EINVAL");

    rc = mcp_store_txn_begin(s, 0, &t);
    TAP_RC(rc, MCP_STORE_OK, "txn: a write transaction begins");

    rc = mcp_store_txn_begin(s, MCP_STORE_RDONLY, &t2);
    TAP_RC(rc, MCP_STORE_EBUSY, "txn: a second one on the handle is EBUSY");

    TAP_OK(mcp_store_txn_mdb(t) != NULL, "txn: it has an MDB_txn");

    rc = mcp_store_txn_commit(t);
    TAP_RC(rc, MCP_STORE_OK, "txn: an empty write commits");

    rc = mcp_store_txn_begin(s, MCP_STORE_RDONLY, &t);
    TAP_RC(rc, MCP_STORE_OK, "txn: then a read-only one begins");

    rc = mcp_store_txn_begin(s, 0, &t2);
    TAP_RC(rc, MCP_STORE_EBUSY, "txn: and a write beside it is EBUSY");

    /* the snapshot is the transaction's: release must leave it */
    mcp_store_release(s);

    rc = mcp_store_txn_commit(t);
    TAP_RC(rc, MCP_STORE_OK, "txn: a read-only one commits (ends)");

    TAP_RC(mcp_store_txn_commit(NULL), MCP_STORE_EINVAL,
           "txn: commit(NULL) is EINVAL");

    mcp_store_txn_abort(NULL);

    /* one handle at a time on an environment, in a process */
    mcp_store_close(s);

    ro = test_open(dir, 0, MCP_STORE_RDONLY);

    rc = mcp_store_txn_begin(ro, 0, &t);
    TAP_RC(rc, MCP_STORE_EINVAL,
           "txn: a write on a read-only handle is EINVAL");

    rc = mcp_store_txn_begin(ro, MCP_STORE_RDONLY, &t);
    TAP_RC(rc, MCP_STORE_OK, "txn: a read on a read-only handle begins");

    mcp_store_txn_abort(t);

    mcp_store_close(ro);
}


static void
test_ebusy(void)
{
    int                 rc, ok;
    char                dir[PATH_MAX], code[8];
    mcp_store_t        *s;
    mcp_store_txn_t    *t;
    mcp_store_link_t    link, out;
    mcp_store_stat_t    st;
    mcp_store_visit_t   v;
    mcp_store_session_t ss;

    s = test_open(test_dir(dir, "ebusy"), 0, 0);

    memset(&link, 0, sizeof(link));
    link.url = "https://example.com/";
    link.url_len = strlen(link.url);

    rc = mcp_store_link_put(s, "abc", 3, &link);
    TAP_RC(rc, MCP_STORE_OK, "ebusy: a link is put");

    rc = mcp_store_link_get(s, "abc", 3, &out);
    TAP_RC(rc, MCP_STORE_OK, "ebusy: and read, its snapshot kept");

    rc = mcp_store_txn_begin(s, 0, &t);
    TAP_RC(rc, MCP_STORE_OK, "ebusy: a write begins over a kept snapshot");

    memset(&v, 0, sizeof(v));
    v.code = "abc";
    v.code_len = 3;
    v.count = 1;
    v.last_visit = 1;

    memset(&ss, 0, sizeof(ss));

    ok = mcp_store_link_put(s, "def", 3, &link) == MCP_STORE_EBUSY
         && mcp_store_link_create(s, code, 7, &link) == MCP_STORE_EBUSY
         && mcp_store_link_get(s, "abc", 3, &out) == MCP_STORE_EBUSY
         && mcp_store_link_consume(s, "abc", 3, 1) == MCP_STORE_EBUSY
         && mcp_store_link_add_visits(s, &v, 1) == MCP_STORE_EBUSY
         && mcp_store_link_delete(s, "abc", 3) == MCP_STORE_EBUSY
         && mcp_store_link_list(s, NULL, 0, 0, test_link_cb, NULL, NULL)
            == MCP_STORE_EBUSY
         && mcp_store_session_put(s, "s1", 2, &ss) == MCP_STORE_EBUSY
         && mcp_store_session_get(s, "s1", 2, &ss) == MCP_STORE_EBUSY
         && mcp_store_session_delete(s, "s1", 2) == MCP_STORE_EBUSY
         && mcp_store_stat(s, &st) == MCP_STORE_EBUSY;

    TAP_OK(ok, "ebusy: every per-call function refuses while it is open");

    mcp_store_txn_abort(t);

    rc = mcp_store_link_get(s, "abc", 3, &out);
    TAP_OK(rc == MCP_STORE_OK && test_str_is(out.url, out.url_len,
                                             "https://example.com/"),
           "ebusy: after it, the per-call functions work again");

    rc = mcp_store_stat(s, &st);
    TAP_OK(rc == MCP_STORE_OK && st.links == 1,
           "ebusy: and nothing was written meanwhile");

    mcp_store_close(s);
}


static void
test_abort(void)
{
    int                  rc, created;
    char                 dir[PATH_MAX];
    mcp_store_entity_t   e;
    test_graph_t         g;

    rc = test_begin(&g, "abort", "acme", "", NULL);
    snprintf(dir, sizeof(dir), "%s/abort", test_root);

    if (rc == MCP_STORE_OK) {
        rc = test_create(g.t, &g.sc, &created, "Alice", "person", "likes tea",
                         NULL);
    }

    if (rc == MCP_STORE_OK) {
        rc = test_relate(g.t, &g.sc, "Alice", "knows", "Bob", &created);
    }

    TAP_RC(rc, MCP_STORE_OK, "abort: an entity and a relation are written");

    mcp_store_txn_abort(g.t);

    rc = mcp_store_txn_begin(g.s, MCP_STORE_RDONLY, &g.t);

    TAP_RC(test_get(g.t, &g.sc, "Alice", &e, NULL, 0, NULL), MCP_STORE_NOTFOUND,
           "abort: the entity is not there");

    TAP_OK(test_finds(g.t, &g.sc, "tea", ""), "abort: nor in the index");

    TAP_IS(test_entries(g.t, g.s->relations)
           + test_entries(g.t, g.s->relations_to)
           + test_entries(g.t, g.s->postings) + test_entries(g.t, g.s->docs), 0,
           "abort: nothing in relations, postings or docs");

    mcp_store_txn_abort(g.t);

    rc = mcp_store_txn_begin(g.s, 0, &g.t);

    if (rc == MCP_STORE_OK) {
        rc = test_create(g.t, &g.sc, NULL, "Carol", "person", NULL);
    }

    /* closing the handle ends what is still open, keeping nothing */
    mcp_store_close(g.s);

    g.s = test_open(dir, 0, 0);
    rc = (g.s == NULL) ? MCP_STORE_EIO
                     : mcp_store_txn_begin(g.s, MCP_STORE_RDONLY, &g.t);

    if (rc == MCP_STORE_OK) {
        rc = test_get(g.t, &g.sc, "Carol", &e, NULL, 0, NULL);
        mcp_store_txn_abort(g.t);
    }

    TAP_RC(rc, MCP_STORE_NOTFOUND,
           "abort: a write left open at close is not kept");

    mcp_store_close(g.s);
}


static void
test_scopes(void)
{
    int                  rc, ok;
    char                 dir[PATH_MAX], *long65;
    mcp_store_t         *s;
    mcp_store_txn_t     *t;
    mcp_store_entity_t   e;
    mcp_store_scope_t    sc;

    s = test_open(test_dir(dir, "scopes"), 0, 0);
    long65 = test_repeat("x", 65);

    rc = mcp_store_txn_begin(s, 0, &t);
    TAP_RC(rc, MCP_STORE_OK, "scopes: a write begins");

    ok = 1;

    sc = test_scope("", "ns");
    ok &= test_create(t, &sc, NULL, "a", "b", NULL) == MCP_STORE_EINVAL;
    sc = test_scope(long65, "");
    ok &= test_create(t, &sc, NULL, "a", "b", NULL) == MCP_STORE_EINVAL;
    sc = test_scope("acme", long65);
    ok &= test_create(t, &sc, NULL, "a", "b", NULL) == MCP_STORE_EINVAL;
    sc = test_scope("ac/me", "");
    ok &= test_create(t, &sc, NULL, "a", "b", NULL) == MCP_STORE_EINVAL;
    sc = test_scope("acme", "n s");
    ok &= test_create(t, &sc, NULL, "a", "b", NULL) == MCP_STORE_EINVAL;
    ok &= mcp_store_entity_create(t, NULL, &e, 1, NULL) == MCP_STORE_EINVAL;

    TAP_OK(ok, "scopes: empty or long tenant, long namespace, bad bytes, "
           "no scope: EINVAL");

    sc = test_scope("acme", "");
    rc = test_create(t, &sc, NULL, "a", "b", NULL);
    TAP_RC(rc, MCP_STORE_OK, "scopes: an empty namespace is fine");

    long65[64] = '\0';
    sc = test_scope(long65, long65);
    rc = test_create(t, &sc, NULL, "a", "b", NULL);
    TAP_RC(rc, MCP_STORE_OK, "scopes: 64 bytes each is fine");

    sc = test_scope("A-Z_a.z-0.9", "x_Y-z.1");
    rc = test_create(t, &sc, NULL, "a", "b", NULL);
    TAP_RC(rc, MCP_STORE_OK, "scopes: [A-Za-z0-9_.-] is fine");

    mcp_store_txn_abort(t);
    free(long65);
    mcp_store_close(s);
}


static void
test_entity(void)
{
    int                       rc, created;
    size_t                    total;
    mcp_store_entity_t        e;
    mcp_store_observation_t   obs[4];
    test_graph_t              g;

    rc = test_begin(&g, "entity", "acme", "main", NULL);

    if (rc == MCP_STORE_OK) {
        rc = test_create(g.t, &g.sc, &created, "Alice", "person", "likes tea",
                         "lives in Paris", "likes tea", NULL);
    }

    TAP_OK(rc == MCP_STORE_OK && created == 1, "entity: created 1");

    rc = test_create(g.t, &g.sc, &created, "Alice", "robot", "new", NULL);
    TAP_OK(rc == MCP_STORE_OK && created == 0,
           "entity: the same name again: created 0");

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_txn_commit(g.t);
    }

    TAP_RC(rc, MCP_STORE_OK, "entity: committed");

    rc = mcp_store_txn_begin(g.s, MCP_STORE_RDONLY, &g.t);

    if (rc == MCP_STORE_OK) {
        rc = test_get(g.t, &g.sc, "Alice", &e, obs, 4, &total);
    }

    TAP_OK(rc == MCP_STORE_OK
           && test_str_is(e.name, e.name_len, "Alice")
           && test_str_is(e.type, e.type_len, "person")
           && e.created_at == 1000 && e.updated_at == 1000,
           "entity: reads back with its type and times (the first create)");

    TAP_OK(rc == MCP_STORE_OK && total == 2 && e.nobservations == 2
           && test_str_is(obs[0].text, obs[0].text_len, "likes tea")
           && test_str_is(obs[1].text, obs[1].text_len, "lives in Paris")
           && obs[0].created_at == 1000,
           "entity: observations de-duplicated, in order, the second "
           "create's not added");

    rc = test_get(g.t, &g.sc, "Alice", &e, obs, 1, &total);
    TAP_OK(rc == MCP_STORE_OK && total == 2 && e.nobservations == 1,
           "entity: cap 1 fills one, total says 2");

    rc = test_get(g.t, &g.sc, "Alice", &e, NULL, 0, NULL);
    TAP_OK(rc == MCP_STORE_OK && e.nobservations == 0,
           "entity: cap 0 and no total");

    TAP_RC(test_get(g.t, &g.sc, "Bob", &e, obs, 4, NULL), MCP_STORE_NOTFOUND,
           "entity: a missing one is NOTFOUND");

    TAP_RC(test_create(g.t, &g.sc, NULL, "Carol", "person", NULL),
           MCP_STORE_EINVAL, "entity: create in a read-only txn is EINVAL");

    mcp_store_txn_abort(g.t);
    mcp_store_close(g.s);
}


static void
test_entity_restore(void)
{
    int                       rc, created;
    size_t                    total;
    mcp_store_entity_t        e;
    mcp_store_observation_t   obs[3], in[3];
    test_graph_t              g;

    rc = test_begin(&g, "restore", "acme", "", NULL);

    memset(&e, 0, sizeof(e));
    e.name = "Alice";
    e.name_len = 5;
    e.type = "person";
    e.type_len = 6;
    e.created_at = 500;
    e.updated_at = 900;
    e.observations = in;
    e.nobservations = 3;
    in[0].text = "likes tea";
    in[0].text_len = 9;
    in[0].created_at = 500;
    in[1].text = "lives in Paris";
    in[1].text_len = 14;
    in[1].created_at = 700;
    in[2] = in[0];

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_entity_restore(g.t, &g.sc, &e, &created);
    }

    TAP_OK(rc == MCP_STORE_OK && created == 1, "restore: created 1");

    rc = test_get(g.t, &g.sc, "Alice", &e, obs, 3, &total);

    TAP_OK(rc == MCP_STORE_OK && e.created_at == 500 && e.updated_at == 900
           && total == 2 && obs[0].created_at == 500
           && obs[1].created_at == 700
           && test_str_is(obs[1].text, obs[1].text_len, "lives in Paris"),
           "restore: the times given are kept, observations de-duplicated");

    TAP_OK(test_finds(g.t, &g.sc, "paris", "Alice"),
           "restore: the entity is indexed");

    e.type = "robot";
    e.type_len = 5;
    e.observations = in;
    e.nobservations = 1;

    rc = mcp_store_entity_restore(g.t, &g.sc, &e, &created);
    rc = (rc == MCP_STORE_OK) ? test_get(g.t, &g.sc, "Alice", &e, obs, 3,
                                         &total)
                              : rc;

    TAP_OK(rc == MCP_STORE_OK && created == 0
           && test_str_is(e.type, e.type_len, "person") && total == 2,
           "restore: an existing name: created 0, nothing changes");

    mcp_store_txn_abort(g.t);
    mcp_store_close(g.s);
}


/* every scope holding a record, in key order, whatever kind it holds */

static void
test_scope_next(void)
{
    int                   rc, ok;
    char                  seen[256];
    size_t                len;
    test_graph_t          g;
    mcp_store_scope_t     sc, prev, ctx;
    mcp_store_message_t   m;

    rc = test_begin(&g, "scope_next", "acme", "", "a", "t", NULL, NULL);

    rc = (rc == MCP_STORE_OK) ? mcp_store_scope_next(g.t, NULL, &sc) : rc;
    TAP_RC(rc, MCP_STORE_OK, "scope_next: the first scope");

    sc = test_scope("acme", "ns1");
    ok = test_create(g.t, &sc, NULL, "b", "t", NULL) == MCP_STORE_OK;
    sc = test_scope("acme", "n");
    ok &= test_create(g.t, &sc, NULL, "c", "t", NULL) == MCP_STORE_OK;
    sc = test_scope("acme-2", "");
    ok &= test_create(g.t, &sc, NULL, "d", "t", NULL) == MCP_STORE_OK;
    sc = test_scope("beta", "");
    ok &= test_relate(g.t, &sc, "x", "knows", "y", NULL) == MCP_STORE_OK;

    /* a context that expires: its expiry key starts with a NUL */

    ctx = test_scope("ctxonly", "x");
    memset(&m, 0, sizeof(m));
    m.role = MCP_STORE_ROLE_USER;
    m.content = "hello";
    m.content_len = 5;
    ok &= mcp_store_message_append(g.t, &ctx, "c1", 2, &m, 1000, 60, NULL)
          == MCP_STORE_OK;

    TAP_OK(ok, "scope_next: entities, a relation and a context in scopes");

    seen[0] = '\0';
    len = 0;

    for (rc = mcp_store_scope_next(g.t, NULL, &sc);
         rc == MCP_STORE_OK && len < sizeof(seen) - 140;
         rc = mcp_store_scope_next(g.t, &prev, &sc))
    {
        prev = sc;
        len += (size_t) snprintf(seen + len, sizeof(seen) - len, "%.*s/%.*s ",
                                 (int) sc.tenant_len, sc.tenant,
                                 (int) sc.ns_len, sc.ns);
    }

    TAP_RC(rc, MCP_STORE_NOTFOUND, "scope_next: ends with NOTFOUND");
    TAP_OK(strcmp(seen, "acme/ acme/n acme/ns1 acme-2/ beta/ ctxonly/x ")
           == 0, "scope_next: every scope once, in key order: %s", seen);

    mcp_store_txn_abort(g.t);
    mcp_store_close(g.s);
}


static void
test_limits(void)
{
    int                       rc, ok;
    char                      dir[PATH_MAX], *name256, *name257, *text;
    size_t                    i;
    mcp_store_t              *s;
    mcp_store_txn_t          *t;
    mcp_store_entity_t        e;
    mcp_store_scope_t         sc;
    mcp_store_relation_t      r;
    mcp_store_observation_t  *obs;

    s = test_open(test_dir(dir, "limits"), 0, 0);
    sc = test_scope("acme", "");

    name256 = test_repeat("n", MCP_STORE_NAME_MAX);
    name257 = test_repeat("n", MCP_STORE_NAME_MAX + 1);
    text = test_repeat("t", MCP_STORE_TEXT_MAX + 1);
    obs = calloc(MCP_STORE_OBS_MAX + 1, sizeof(mcp_store_observation_t));

    if (obs == NULL) {
        tap_bail("out of memory");
    }

    rc = mcp_store_txn_begin(s, 0, &t);
    TAP_RC(rc, MCP_STORE_OK, "limits: a write begins");

    TAP_RC(test_create(t, &sc, NULL, name256, "x", NULL), MCP_STORE_OK,
           "limits: a 256-byte name is fine");
    TAP_RC(test_create(t, &sc, NULL, name257, "x", NULL), MCP_STORE_ETOOBIG,
           "limits: a 257-byte name is ETOOBIG");
    TAP_RC(test_create(t, &sc, NULL, "x", name257, NULL), MCP_STORE_ETOOBIG,
           "limits: a 257-byte type is ETOOBIG");
    TAP_RC(test_create(t, &sc, NULL, "", "x", NULL), MCP_STORE_EINVAL,
           "limits: an empty name is EINVAL");
    TAP_RC(test_create(t, &sc, NULL, "x", "", NULL), MCP_STORE_EINVAL,
           "limits: an empty type is EINVAL");

    memset(&e, 0, sizeof(e));
    e.name = "a\0b";
    e.name_len = 3;
    e.type = "x";
    e.type_len = 1;
    TAP_RC(mcp_store_entity_create(t, &sc, &e, 1, NULL), MCP_STORE_EINVAL,
           "limits: a NUL in a name is EINVAL");

    text[MCP_STORE_TEXT_MAX] = '\0';
    TAP_RC(test_create(t, &sc, NULL, "big", "x", text, NULL), MCP_STORE_OK,
           "limits: an 8192-byte observation is fine");
    text[MCP_STORE_TEXT_MAX] = 't';
    TAP_RC(test_create(t, &sc, NULL, "bigger", "x", text, NULL),
           MCP_STORE_ETOOBIG, "limits: an 8193-byte observation is ETOOBIG");
    TAP_RC(test_create(t, &sc, NULL, "empty", "x", "", NULL),
           MCP_STORE_EINVAL, "limits: an empty observation is EINVAL");
    TAP_RC(test_obs(t, &sc, "big", text, NULL), MCP_STORE_ETOOBIG,
           "limits: adding an 8193-byte observation is ETOOBIG");

    e.name = "many";
    e.name_len = 4;
    e.observations = obs;
    e.nobservations = MCP_STORE_OBS_MAX + 1;

    for (i = 0; i <= MCP_STORE_OBS_MAX; i++) {
        obs[i].text = name256 + (i % 200);
        obs[i].text_len = 1 + i / 200;
    }

    TAP_RC(mcp_store_entity_create(t, &sc, &e, 1, NULL), MCP_STORE_ETOOBIG,
           "limits: 1025 observations at create are ETOOBIG");

    /* 1024 distinct texts: "o0" ... "o1023" */

    rc = test_create(t, &sc, NULL, "full", "x", NULL);
    ok = (rc == MCP_STORE_OK);

    for (i = 0; ok && i < MCP_STORE_OBS_MAX; i++) {
        snprintf(text, 16, "o%u", (unsigned) i);
        ok = (test_obs(t, &sc, "full", text, NULL) == MCP_STORE_OK);
    }

    TAP_OK(ok, "limits: 1024 observations are added one by one");

    TAP_RC(test_obs(t, &sc, "full", "one more", NULL), MCP_STORE_ETOOBIG,
           "limits: the 1025th is ETOOBIG");

    TAP_RC(test_obs(t, &sc, "full", "o7", NULL), MCP_STORE_OK,
           "limits: an existing one is still fine (not added)");

    /* scope 6 bytes, from 251, NUL, type 1, NUL, to 251: 511 fits */

    name257[0] = 'm';
    r = test_rel(name256, "t", "x");
    r.from_len = 251;
    r.to = name257;
    r.to_len = 251;
    TAP_RC(mcp_store_relation_create(t, &sc, &r, 1, NULL), MCP_STORE_OK,
           "limits: a relation key of 511 bytes is fine");

    r.to_len = 252;
    TAP_RC(mcp_store_relation_create(t, &sc, &r, 1, NULL), MCP_STORE_ETOOBIG,
           "limits: one of 512 bytes (past LMDB's key size) is ETOOBIG");

    r = test_rel("a", "t\0u", "b");
    r.type_len = 3;
    TAP_RC(mcp_store_relation_create(t, &sc, &r, 1, NULL), MCP_STORE_EINVAL,
           "limits: a NUL in a relation type is EINVAL");

    mcp_store_txn_abort(t);

    free(obs);
    free(text);
    free(name257);
    free(name256);
    mcp_store_close(s);
}


static void
test_observations(void)
{
    int                       rc, added, deleted;
    size_t                    total;
    mcp_store_entity_t        e;
    mcp_store_observation_t   obs[4];
    test_graph_t              g;

    rc = test_begin(&g, "observations", "acme", "",
                    "Alice", "person", "likes tea", NULL);

    TAP_RC(rc, MCP_STORE_OK, "observations: an entity");

    added = -1;
    rc = test_obs(g.t, &g.sc, "Nobody", "x", &added);
    TAP_OK(rc == MCP_STORE_NOTFOUND && added == 0,
           "observations: adding to a missing entity is NOTFOUND");

    rc = mcp_store_observation_add(g.t, &g.sc, "Alice", 5, "plays chess", 11,
                                   2000, &added);
    TAP_OK(rc == MCP_STORE_OK && added == 1, "observations: added 1");

    rc = test_obs(g.t, &g.sc, "Alice", "plays chess", &added);
    TAP_OK(rc == MCP_STORE_OK && added == 0,
           "observations: the same text again: added 0");

    rc = test_get(g.t, &g.sc, "Alice", &e, obs, 4, &total);
    TAP_OK(rc == MCP_STORE_OK && total == 2
           && test_str_is(obs[1].text, obs[1].text_len, "plays chess")
           && obs[1].created_at == 2000 && e.updated_at == 2000
           && e.created_at == 1000,
           "observations: appended with its time, updated_at follows");

    rc = mcp_store_observation_delete(g.t, &g.sc, "Alice", 5, "likes tea", 9,
                                      &deleted);
    TAP_OK(rc == MCP_STORE_OK && deleted == 1, "observations: deleted 1");

    rc = mcp_store_observation_delete(g.t, &g.sc, "Alice", 5, "likes tea", 9,
                                      &deleted);
    TAP_OK(rc == MCP_STORE_OK && deleted == 0,
           "observations: deleting it again: deleted 0");

    rc = mcp_store_observation_delete(g.t, &g.sc, "Nobody", 6, "likes tea", 9,
                                      &deleted);
    TAP_OK(rc == MCP_STORE_OK && deleted == 0,
           "observations: deleting from a missing entity: deleted 0");

    rc = test_get(g.t, &g.sc, "Alice", &e, obs, 4, &total);
    TAP_OK(rc == MCP_STORE_OK && total == 1
           && test_str_is(obs[0].text, obs[0].text_len, "plays chess"),
           "observations: the other one remains");

    mcp_store_txn_abort(g.t);
    mcp_store_close(g.s);
}


/*
 * What a write transaction hands out stays intact through later writes
 * that rewrite the very record it came from.
 */

static void
test_write_copies(void)
{
    int                       rc, ok;
    char                      text[32];
    size_t                    i;
    mcp_store_entity_t        e;
    mcp_store_observation_t   obs[2];
    test_graph_t              g;

    rc = test_begin(&g, "copies", "acme", "", "Alice", "person", "first",
                    NULL);

    if (rc == MCP_STORE_OK) {
        rc = test_obs(g.t, &g.sc, "Alice", "second", NULL);
    }

    if (rc == MCP_STORE_OK) {
        rc = test_get(g.t, &g.sc, "Alice", &e, obs, 2, NULL);
    }

    for (i = 0; rc == MCP_STORE_OK && i < 200; i++) {
        snprintf(text, sizeof(text), "more %u", (unsigned) i);
        rc = test_obs(g.t, &g.sc, "Alice", text, NULL);
    }

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_observation_delete(g.t, &g.sc, "Alice", 5, "first", 5,
                                          NULL);
    }

    ok = rc == MCP_STORE_OK
         && test_str_is(e.type, e.type_len, "person")
         && test_str_is(obs[0].text, obs[0].text_len, "first")
         && test_str_is(obs[1].text, obs[1].text_len, "second");

    TAP_OK(ok, "copies: a write txn's entity outlives rewrites of it");

    mcp_store_txn_abort(g.t);
    mcp_store_close(g.s);
}


static void
test_entity_list(void)
{
    int                       rc, more;
    char                      dir[PATH_MAX];
    mcp_store_t              *s;
    mcp_store_txn_t          *t;
    test_seen_t               l;
    mcp_store_scope_t         sc, other;
    mcp_store_observation_t   obs[1];

    s = test_open(test_dir(dir, "entity-list"), 0, 0);
    sc = test_scope("acme", "a");
    other = test_scope("acme", "b");

    rc = mcp_store_txn_begin(s, 0, &t);

    if (rc == MCP_STORE_OK) {
        rc = test_create(t, &sc, NULL, "c", "x", "c1", "c2", NULL);
    }

    if (rc == MCP_STORE_OK) {
        rc = test_create(t, &sc, NULL, "a", "x", NULL);
    }

    if (rc == MCP_STORE_OK) {
        rc = test_create(t, &sc, NULL, "b", "x", "b1", NULL);
    }

    if (rc == MCP_STORE_OK) {
        rc = test_create(t, &other, NULL, "a0", "x", NULL);
    }

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_txn_commit(t);
    }

    TAP_RC(rc, MCP_STORE_OK, "entity list: three entities, one elsewhere");

    rc = mcp_store_txn_begin(s, MCP_STORE_RDONLY, &t);

    test_seen_init(&l, 0);
    rc = mcp_store_entity_list(t, &sc, NULL, 0, 0, obs, 1, test_entity_cb,
                               &l, &more);
    TAP_OK(rc == MCP_STORE_OK && strcmp(l.seen, "a/0,b/1,c/1") == 0
           && more == 0,
           "entity list: all in name order, observations capped: %s",
           l.seen);

    test_seen_init(&l, 0);
    rc = mcp_store_entity_list(t, &sc, NULL, 0, 2, NULL, 0, test_entity_cb,
                               &l, &more);
    TAP_OK(rc == MCP_STORE_OK && strcmp(l.seen, "a/0,b/0") == 0 && more == 1,
           "entity list: limit 2, more 1: %s", l.seen);

    test_seen_init(&l, 0);
    rc = mcp_store_entity_list(t, &sc, "b", 1, 2, NULL, 0, test_entity_cb,
                               &l, &more);
    TAP_OK(rc == MCP_STORE_OK && strcmp(l.seen, "c/0") == 0 && more == 0,
           "entity list: after b: %s", l.seen);

    test_seen_init(&l, 0);
    rc = mcp_store_entity_list(t, &sc, "bb", 2, 0, NULL, 0, test_entity_cb,
                               &l, &more);
    TAP_OK(rc == MCP_STORE_OK && strcmp(l.seen, "c/0") == 0,
           "entity list: after a name that is not there: %s", l.seen);

    test_seen_init(&l, 1);
    rc = mcp_store_entity_list(t, &sc, NULL, 0, 0, NULL, 0, test_entity_cb,
                               &l, &more);
    TAP_OK(rc == MCP_STORE_OK && l.calls == 1 && more == 1,
           "entity list: the callback stops it");

    TAP_RC(mcp_store_entity_list(t, &sc, NULL, 0, 0, NULL, 0, NULL, NULL,
                                 NULL),
           MCP_STORE_EINVAL, "entity list: no callback is EINVAL");

    mcp_store_txn_abort(t);
    mcp_store_close(s);
}


static void
test_relations(void)
{
    int                    rc, created, deleted, more;
    test_seen_t            l;
    mcp_store_relation_t   r;
    test_graph_t           g;

    rc = test_begin(&g, "relations", "acme", "", NULL);

    if (rc == MCP_STORE_OK) {
        rc = test_relate(g.t, &g.sc, "alice", "knows", "bob", &created);
    }

    TAP_OK(rc == MCP_STORE_OK && created == 1,
           "relations: created 1 (entities need not exist)");

    rc = test_relate(g.t, &g.sc, "alice", "knows", "bob", &created);
    TAP_OK(rc == MCP_STORE_OK && created == 0,
           "relations: the same again: created 0");

    if (rc == MCP_STORE_OK) {
        rc = test_relate_list(g.t, &g.sc, "alice likes bob, alice knows carol, "
                              "bob knows carol, alicia knows alice");
    }

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_txn_commit(g.t);
    }

    TAP_RC(rc, MCP_STORE_OK, "relations: four more, committed");

    rc = mcp_store_txn_begin(g.s, MCP_STORE_RDONLY, &g.t);

    rc = test_rels(g.t, &g.sc, NULL, NULL, 0, &l, &more);
    TAP_OK(rc == MCP_STORE_OK
           && strcmp(l.seen, "alice-knows->bob@7,alice-knows->carol@7,"
                             "alice-likes->bob@7,alicia-knows->alice@7,"
                             "bob-knows->carol@7") == 0,
           "relations: all, in (from, type, to) order: %s", l.seen);

    rc = test_rels(g.t, &g.sc, "alice", NULL, 0, &l, &more);
    TAP_OK(rc == MCP_STORE_OK
           && strcmp(l.seen, "alice-knows->bob@7,alice-knows->carol@7,"
                             "alice-likes->bob@7") == 0 && more == 0,
           "relations: from alice (not alicia): %s", l.seen);

    rc = test_rels(g.t, &g.sc, "alice", NULL, 2, &l, &more);
    TAP_OK(rc == MCP_STORE_OK && l.calls == 2 && more == 1,
           "relations: limit 2, more 1");

    r = test_rel("alice", "knows", "carol");
    rc = test_rels(g.t, &g.sc, "alice", &r, 2, &l, &more);
    TAP_OK(rc == MCP_STORE_OK && strcmp(l.seen, "alice-likes->bob@7") == 0
           && more == 0,
           "relations: the next page, after the last seen: %s", l.seen);

    r = test_rel("alicia", "knows", "alice");
    rc = test_rels(g.t, &g.sc, NULL, &r, 0, &l, &more);
    TAP_OK(rc == MCP_STORE_OK && strcmp(l.seen, "bob-knows->carol@7") == 0,
           "relations: all after one: %s", l.seen);

    rc = test_rels_to(g.t, &g.sc, "carol", &l);
    TAP_OK(rc == MCP_STORE_OK
           && strcmp(l.seen, "alice-knows->carol@7,bob-knows->carol@7") == 0,
           "relations: to carol, through the reverse index: %s", l.seen);

    rc = test_rels_to(g.t, &g.sc, "nobody", &l);
    TAP_OK(rc == MCP_STORE_OK && l.calls == 0, "relations: to nobody: none");

    mcp_store_txn_abort(g.t);

    rc = mcp_store_txn_begin(g.s, 0, &g.t);

    r = test_rel("alice", "knows", "carol");

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_relation_delete(g.t, &g.sc, &r, &deleted);
    }

    TAP_OK(rc == MCP_STORE_OK && deleted == 1, "relations: deleted 1");

    rc = mcp_store_relation_delete(g.t, &g.sc, &r, &deleted);
    TAP_OK(rc == MCP_STORE_OK && deleted == 0,
           "relations: deleting it again: deleted 0");

    rc = test_rels_to(g.t, &g.sc, "carol", &l);
    TAP_OK(rc == MCP_STORE_OK && strcmp(l.seen, "bob-knows->carol@7") == 0
           && test_entries(g.t, g.s->relations) == 4
           && test_entries(g.t, g.s->relations_to) == 4,
           "relations: its mirror went with it: %s", l.seen);

    mcp_store_txn_abort(g.t);
    mcp_store_close(g.s);
}


static void
test_entity_delete(void)
{
    int                 rc, deleted;
    test_seen_t         l;
    test_graph_t        g;

    rc = test_begin(&g, "entity-delete", "acme", "",
                    "alice", "person", "likes tea",
                    "bob", "person", "likes coffee", NULL);

    if (rc == MCP_STORE_OK) {
        rc = test_relate_list(g.t, &g.sc, "alice knows bob, bob knows alice, "
                              "alice is alice, bob knows carol, "
                              "alicia knows bob");
    }

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_txn_commit(g.t);
    }

    TAP_RC(rc, MCP_STORE_OK, "entity delete: two entities, five relations");

    rc = mcp_store_txn_begin(g.s, 0, &g.t);

    if (rc == MCP_STORE_OK) {
        rc = test_del(g.t, &g.sc, "alice", &deleted);
    }

    TAP_OK(rc == MCP_STORE_OK && deleted == 1, "entity delete: deleted 1");

    rc = test_rels(g.t, &g.sc, NULL, NULL, 0, &l, NULL);
    TAP_OK(rc == MCP_STORE_OK
           && strcmp(l.seen, "alicia-knows->bob@7,bob-knows->carol@7") == 0,
           "entity delete: relations from and to it are gone: %s", l.seen);

    TAP_IS(test_entries(g.t, g.s->relations_to), 2,
           "entity delete: and their mirrors");

    TAP_OK(test_finds(g.t, &g.sc, "tea", ""),
           "entity delete: search no longer finds it");

    TAP_OK(test_finds(g.t, &g.sc, "person", "bob"),
           "entity delete: the other one is still found");

    rc = test_del(g.t, &g.sc, "alice", &deleted);
    TAP_OK(rc == MCP_STORE_OK && deleted == 0,
           "entity delete: again: deleted 0");

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_txn_commit(g.t);
    }

    TAP_RC(rc, MCP_STORE_OK, "entity delete: committed");

    mcp_store_close(g.s);
}


static void
test_isolation(void)
{
    int                 rc, ok, deleted;
    char                dir[PATH_MAX], type[8];
    size_t              i;
    mcp_store_t        *s;
    mcp_store_txn_t    *t;
    test_seen_t         l;
    mcp_store_entity_t  e;
    mcp_store_scope_t   sc[4];
    test_found_t        r;

    s = test_open(test_dir(dir, "isolation"), 0, 0);

    sc[0] = test_scope("t1", "a");
    sc[1] = test_scope("t1", "b");
    sc[2] = test_scope("t2", "a");
    sc[3] = test_scope("t1", "");

    rc = mcp_store_txn_begin(s, 0, &t);

    for (i = 0; rc == MCP_STORE_OK && i < 4; i++) {
        snprintf(type, sizeof(type), "type%u", (unsigned) i);
        rc = test_create(t, &sc[i], NULL, "alice", type, "shared words",
                         NULL);

        if (rc == MCP_STORE_OK) {
            rc = test_relate(t, &sc[i], "alice", type, "bob", NULL);
        }
    }

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_txn_commit(t);
    }

    TAP_RC(rc, MCP_STORE_OK,
           "isolation: the same names in four scopes");

    rc = mcp_store_txn_begin(s, 0, &t);

    ok = (rc == MCP_STORE_OK);

    for (i = 0; ok && i < 4; i++) {
        snprintf(type, sizeof(type), "type%u", (unsigned) i);

        ok = test_get(t, &sc[i], "alice", &e, NULL, 0, NULL) == MCP_STORE_OK
             && test_str_is(e.type, e.type_len, type);
    }

    TAP_OK(ok, "isolation: each scope reads its own entity");

    ok = 1;

    for (i = 0; ok && i < 4; i++) {
        rc = test_rels(t, &sc[i], NULL, NULL, 0, &l, NULL);
        snprintf(type, sizeof(type), "type%u", (unsigned) i);
        ok = rc == MCP_STORE_OK && l.calls == 1 && strstr(l.seen, type);
    }

    TAP_OK(ok, "isolation: and its own relations only");

    TAP_OK(test_finds(t, &sc[0], "shared", "alice"),
           "isolation: search sees one document of its scope");

    TAP_OK(test_finds(t, &sc[0], "type1 type2 type3", ""),
           "isolation: never words of another scope");

    rc = test_del(t, &sc[0], "alice", &deleted);

    ok = rc == MCP_STORE_OK && deleted == 1;

    for (i = 1; ok && i < 4; i++) {
        ok = test_get(t, &sc[i], "alice", &e, NULL, 0, NULL) == MCP_STORE_OK
             && test_rels_to(t, &sc[i], "bob", &l) == MCP_STORE_OK
             && l.calls == 1
             && test_search(t, &sc[i], "shared", &r)
                == MCP_STORE_OK
             && r.total == 1;
    }

    TAP_OK(ok, "isolation: deleting in one scope leaves the others whole");

    mcp_store_txn_abort(t);
    mcp_store_close(s);
}


static void
test_index_upkeep(void)
{
    int                 rc, ok;
    char                key[64];
    uint64_t            v[2];
    test_graph_t        g;

    /* alice (the name counts three times), person, likes, the, tea: stop
     * words are indexed too (queries skip them) */

    rc = test_begin(&g, "upkeep", "acme", "ns",
                    "Alice", "person", "likes the tea", NULL);

    TAP_RC(rc, MCP_STORE_OK, "upkeep: an entity");

    memcpy(key, "acme\0ns\0e\0Alice", 15);
    ok = test_index_count(g.t, key, 15, v, 1) == MCP_STORE_OK && v[0] == 7;
    ok = ok && test_index_count(g.t, key, 9, v, 2) == MCP_STORE_OK
         && v[0] == 1 && v[1] == 7;
    TAP_OK(ok, "upkeep: its length is 7 tokens, totals [1, 7]");

    rc = test_obs(g.t, &g.sc, "Alice", "Tea, tea and more TEA", NULL);

    if (rc == MCP_STORE_OK) {
        rc = test_create(g.t, &g.sc, NULL, "Bob", "person", "tea", NULL);
    }

    ok = rc == MCP_STORE_OK
         && test_index_count(g.t, "acme\0ns\0e\0Alice", 15, v, 1)
            == MCP_STORE_OK
         && v[0] == 12
         && test_index_count(g.t, "acme\0ns\0e", 9, v, 2) == MCP_STORE_OK
         && v[0] == 2 && v[1] == 17;
    TAP_OK(ok, "upkeep: an observation adds 5 tokens; another entity 5");

    memcpy(key, "acme\0ns\0etea\0Alice", 18);
    TAP_OK(test_index_count(g.t, key, 18, v, 1) == MCP_STORE_OK && v[0] == 4,
           "upkeep: tf of tea in Alice is 4");

    rc = mcp_store_observation_delete(g.t, &g.sc, "Alice", 5, "likes the tea",
                                      13, NULL);
    TAP_OK(rc == MCP_STORE_OK
           && test_index_count(g.t, key, 18, v, 1) == MCP_STORE_OK && v[0] == 3
           && test_index_count(g.t, "acme\0ns\0e\0Alice", 15, v, 1)
              == MCP_STORE_OK
           && v[0] == 9,
           "upkeep: deleting an observation takes its tokens back");

    TAP_OK(test_finds(g.t, &g.sc, "likes", ""),
           "upkeep: its words are no longer found");

    rc = test_del(g.t, &g.sc, "Alice", NULL);

    if (rc == MCP_STORE_OK) {
        rc = test_del(g.t, &g.sc, "Bob", NULL);
    }

    TAP_OK(rc == MCP_STORE_OK && test_entries(g.t, g.s->postings) == 0
           && test_entries(g.t, g.s->docs) == 0
           && test_entries(g.t, g.s->entities) == 0,
           "upkeep: after deleting everything, postings and docs are empty");

    mcp_store_txn_abort(g.t);
    mcp_store_close(g.s);
}


static void
test_tokenizer(void)
{
    char         *text;
    size_t        n;
    test_seen_t   l;

    TAP_OK(test_tokens_are("The cat is on the mat, and it was at home!",
                           "cat,mat,home"),
           "tokens: stop words dropped");

    TAP_OK(test_tokens_are("  x-ray ABC123_def\tGHI\n", "x,ray,abc123,def,ghi"),
           "tokens: split on ASCII non-alphanumerics, lower-cased");

    n = test_tokens("", &l);
    TAP_OK(n == 0 && l.calls == 0, "tokens: none in an empty text");

    n = test_tokens("a an AND Are as at be by for from has he in is it its "
                    "of on or that the to was were will with", &l);
    TAP_OK(n == 0, "tokens: every stop word, in any case: %s", l.seen);

    text = test_repeat("a", 70);
    n = test_tokens(text, &l);
    TAP_OK(n == 1 && strlen(l.seen) == 64,
           "tokens: a 70-byte token is cut to 64");
    free(text);

    /* "b" and 40 two-byte characters: byte 64 is the second of one */

    text = test_repeat("\xc3\xa9", 41);
    text[0] = 'b';
    text[1] = 'b';
    n = test_tokens(text + 1, &l);
    TAP_OK(n == 1 && strlen(l.seen) == 63
           && (unsigned char) l.seen[62] == 0xa9,
           "tokens: cut at a character boundary (63 bytes)");
    free(text);
}


static void
test_bm25_order(void)
{
    int                 rc;
    double              nd, avg, s1, s2, s3;
    test_found_t        r;
    test_graph_t        g;

    /* lengths count the name (three times) and the type: 7, 6, 7 */

    rc = test_begin(&g, "bm25", "acme", "",
                    "doc1", "x", "apple banana apple",
                    "doc2", "x", "apple cherry",
                    "doc3", "x", "cherry banana durian", NULL);

    rc = test_end(g.t, rc);

    TAP_RC(rc, MCP_STORE_OK, "bm25: three documents");

    nd = 3.0;
    avg = 20.0 / 3.0;

    rc = mcp_store_txn_begin(g.s, MCP_STORE_RDONLY, &g.t);

    s1 = test_bm25(2, 2, nd, 7, avg);
    s2 = test_bm25(1, 2, nd, 6, avg);

    rc = test_search(g.t, &g.sc, "apple", &r);
    TAP_OK(rc == MCP_STORE_OK && r.n == 2 && r.total == 2
           && strcmp(r.docs, s1 > s2 ? "doc1,doc2" : "doc2,doc1") == 0,
           "bm25: apple: %s", r.docs);

    TAP_OK(r.n == 2 && test_near(r.hits[0].score, s1 > s2 ? s1 : s2)
           && test_near(r.hits[1].score, s1 > s2 ? s2 : s1),
           "bm25: apple: scores %.9f %.9f as the formula says (%.9f %.9f)",
           r.hits[0].score, r.hits[1].score, s1, s2);

    rc = test_search(g.t, &g.sc, "Apple, banana; durian", &r);
    s1 = test_bm25(2, 2, nd, 7, avg) + test_bm25(1, 2, nd, 7, avg);
    s2 = test_bm25(1, 2, nd, 6, avg);
    s3 = test_bm25(1, 2, nd, 7, avg) + test_bm25(1, 1, nd, 7, avg);

    TAP_OK(rc == MCP_STORE_OK && r.n == 3 && r.total == 3
           && test_near(r.hits[0].score, s1 > s3 ? s1 : s3)
           && test_near(r.hits[1].score, s1 > s3 ? s3 : s1)
           && test_near(r.hits[2].score, s2)
           && strcmp(r.docs, s1 > s3 ? "doc1,doc3,doc2" : "doc3,doc1,doc2")
              == 0,
           "bm25: apple banana durian: summed over tokens: %s", r.docs);

    rc = mcp_store_entity_search(g.t, &g.sc, "x", 1, 1, r.hits, 1, &r.n,
                                 &r.total);
    TAP_OK(rc == MCP_STORE_OK && r.n == 1 && r.total == 3
           && test_str_is(r.hits[0].doc, r.hits[0].doc_len, "doc1"),
           "bm25: x matches all, doc2 (shortest) first, then doc1 and doc3 "
           "tied, in id order: offset 1 cap 1 gives doc1");

    rc = mcp_store_entity_search(g.t, &g.sc, "x", 1, 5, r.hits, TEST_HITS, &r.n,
                                 &r.total);
    TAP_OK(rc == MCP_STORE_OK && r.n == 0 && r.total == 3,
           "bm25: an offset past the end gives none, total still 3");

    rc = mcp_store_entity_search(g.t, &g.sc, "the", 3, 0, r.hits, TEST_HITS,
                                 &r.n, &r.total);
    TAP_OK(rc == MCP_STORE_OK && r.n == 0 && r.total == 0,
           "bm25: a query of stop words finds nothing");

    rc = mcp_store_entity_search(g.t, &g.sc, "x", 1, 0, NULL, 0, &r.n,
                                 &r.total);
    TAP_OK(rc == MCP_STORE_OK && r.n == 0 && r.total == 3,
           "bm25: cap 0 counts only");

    TAP_RC(mcp_store_entity_search(g.t, &g.sc, "x", 1, 0, r.hits, 1, NULL,
                                   NULL),
           MCP_STORE_EINVAL, "bm25: no nhits is EINVAL");

    mcp_store_txn_abort(g.t);
    mcp_store_close(g.s);
}


static void
test_prefix(void)
{
    int                 rc;
    double              want;
    test_found_t        r;
    test_graph_t        g;

    /* Alice scores high on "alice" (three times, short); ali is long */

    rc = test_begin(&g, "prefix", "acme", "",
                    "Alice", "alice", "alice",
                    "zed", "person",
                    "ali one two three four five six seven eight nine",
                    "bob", "person", "nothing", NULL);

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_txn_commit(g.t);
    }

    TAP_RC(rc, MCP_STORE_OK, "prefix: three entities");

    rc = mcp_store_txn_begin(g.s, MCP_STORE_RDONLY, &g.t);

    rc = test_search(g.t, &g.sc, "ali", &r);
    TAP_OK(rc == MCP_STORE_OK && r.total == 2
           && strcmp(r.docs, "zed,Alice") == 0,
           "prefix: ali finds Alice after the exact match: %s", r.docs);

    TAP_OK(r.n == 2 && test_near(r.hits[1].score, r.hits[0].score / 2),
           "prefix: the prefix-only score is scaled under the exact one "
           "(%.6f, %.6f)", r.hits[0].score, r.hits[1].score);

    /* lengths: Alice 5 (alice five times), zed 14, bob 5 */
    want = test_bm25(5, 1, 3, 5, (5.0 + 14.0 + 5.0) / 3.0);

    rc = test_search(g.t, &g.sc, "alic", &r);
    TAP_OK(rc == MCP_STORE_OK && r.total == 1 && strcmp(r.docs, "Alice") == 0
           && test_near(r.hits[0].score, want),
           "prefix: with no exact match, the prefix score is plain BM25: "
           "%.6f", r.n ? r.hits[0].score : 0.0);

    rc = test_search(g.t, &g.sc, "alice", &r);
    TAP_OK(rc == MCP_STORE_OK && r.total == 1
           && test_near(r.hits[0].score, want),
           "prefix: alice is exact: the same score");

    TAP_OK(test_finds(g.t, &g.sc, "alicex", ""),
           "prefix: a longer query token does not match");

    mcp_store_txn_abort(g.t);
    mcp_store_close(g.s);
}


/*
 * A repeated query word is one term, weighed by its count; distinct words
 * past MCP_STORE_QUERY_TERMS and prefix matches past
 * MCP_STORE_QUERY_EXPANSIONS are left out, and the transaction says so.
 */

static void
test_query_limits(void)
{
    int                 rc, ok;
    char                name[16], word[16], *q;
    size_t              i, len;
    double              one;
    test_found_t        r;
    test_graph_t        g;

    rc = test_begin(&g, "query-limits", "acme", "",
                    "doc1", "x", "apple banana apple",
                    "doc2", "x", "omega", NULL);

    /* "pre000" to "pre299", one an entity: more than a word expands to */

    for (i = 0; rc == MCP_STORE_OK && i < 300; i++) {
        snprintf(name, sizeof(name), "p%03u", (unsigned) i);
        snprintf(word, sizeof(word), "pre%03u", (unsigned) i);
        rc = test_create(g.t, &g.sc, NULL, name, "x", word, NULL);
    }

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_txn_commit(g.t);
    }

    TAP_RC(rc, MCP_STORE_OK, "query limits: 302 entities");

    rc = mcp_store_txn_begin(g.s, MCP_STORE_RDONLY, &g.t);

    rc |= test_search(g.t, &g.sc, "apple", &r);
    one = (r.n == 1) ? r.hits[0].score : 0.0;

    rc |= test_search(g.t, &g.sc, "apple apple APPLE", &r);
    TAP_OK(rc == MCP_STORE_OK && r.n == 1 && one > 0.0
           && test_near(r.hits[0].score, 3 * one)
           && !mcp_store_txn_truncated(g.t),
           "query limits: a word three times is one term weighing 3: "
           "%.9f = 3 * %.9f", r.n ? r.hits[0].score : 0.0, one);

    /* 3,000 times the word costs what once does: one scan */

    q = test_repeat("apple ", 3000);
    mcp_store_txn_budget(g.t, 8);
    rc = test_search(g.t, &g.sc, q, &r);
    TAP_OK(rc == MCP_STORE_OK && r.n == 1
           && test_near(r.hits[0].score, 3000 * one)
           && !mcp_store_txn_truncated(g.t),
           "query limits: 3000 times, read once, within 4 units of work");
    free(q);

    /* the 33rd distinct word is left out */

    q = malloc(40 * 8 + 16);
    if (q == NULL) {
        tap_bail("out of memory");
    }

    len = 0;
    for (i = 0; i < MCP_STORE_QUERY_TERMS; i++) {
        len += (size_t) snprintf(q + len, 16, "nil%02u ", (unsigned) i);
    }

    snprintf(q + len, 16, "omega");

    mcp_store_txn_abort(g.t);
    rc = mcp_store_txn_begin(g.s, MCP_STORE_RDONLY, &g.t);

    rc |= test_search(g.t, &g.sc, q, &r);
    TAP_OK(rc == MCP_STORE_OK && r.total == 0 && mcp_store_txn_truncated(g.t),
           "query limits: the word after %d others is left out, and the "
           "search says it is truncated", MCP_STORE_QUERY_TERMS);

    mcp_store_txn_abort(g.t);
    rc = mcp_store_txn_begin(g.s, MCP_STORE_RDONLY, &g.t);

    /* omega, then the first 31 of them */

    memmove(q + 6, q, len);
    memcpy(q, "omega ", 6);
    q[len - 1] = '\0';

    rc |= test_search(g.t, &g.sc, q, &r);
    TAP_OK(rc == MCP_STORE_OK && r.total == 1 && !mcp_store_txn_truncated(g.t),
           "query limits: %d words, omega first, are all counted: ...%s",
           MCP_STORE_QUERY_TERMS, q + len - 12);
    free(q);

    rc |= test_search(g.t, &g.sc, "pre", &r);
    TAP_OK(rc == MCP_STORE_OK && r.total == MCP_STORE_QUERY_EXPANSIONS
           && mcp_store_txn_truncated(g.t),
           "query limits: pre matches %u of the 300 words it is a prefix of "
           "(truncated)", (unsigned) r.total);

    mcp_store_txn_abort(g.t);
    rc = mcp_store_txn_begin(g.s, MCP_STORE_RDONLY, &g.t);

    rc |= test_search(g.t, &g.sc, "pre299 pre2", &r);
    ok = (r.n > 0 && test_str_is(r.hits[0].doc, r.hits[0].doc_len, "p299"));
    TAP_OK(rc == MCP_STORE_OK && ok && r.total == 100
           && !mcp_store_txn_truncated(g.t),
           "query limits: exact matches first, 100 prefix matches whole");

    mcp_store_txn_abort(g.t);
    mcp_store_close(g.s);
}


/*
 * The work budget: searches rank what they read, lists end early with
 * more, and the transaction says it is truncated; a search takes half of
 * what is left.
 */

static void
test_budget(void)
{
    int                       rc, more;
    char                      name[16], last[16];
    size_t                    i, listed;
    test_seen_t               l;
    mcp_store_relation_t      after;
    mcp_store_observation_t   obs[1];
    test_found_t              r;
    test_graph_t              g;

    rc = test_begin(&g, "budget", "acme", "", NULL);

    for (i = 0; rc == MCP_STORE_OK && i < 100; i++) {
        snprintf(name, sizeof(name), "n%02u", (unsigned) i);
        rc = test_create(g.t, &g.sc, NULL, name, "thing", "common words here",
                         NULL);

        if (rc == MCP_STORE_OK) {
            rc = test_relate(g.t, &g.sc, "hub", "links", name, NULL);
        }
    }

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_txn_commit(g.t);
    }

    TAP_RC(rc, MCP_STORE_OK, "budget: 100 entities, 100 relations");

    rc = mcp_store_txn_begin(g.s, MCP_STORE_RDONLY, &g.t);

    rc |= test_search(g.t, &g.sc, "common", &r);
    TAP_OK(rc == MCP_STORE_OK && r.total == 100
           && !mcp_store_txn_truncated(g.t),
           "budget: the default finds all 100");

    mcp_store_txn_budget(g.t, 2 * 30);
    rc = test_search(g.t, &g.sc, "common", &r);
    TAP_OK(rc == MCP_STORE_OK && r.total > 0 && r.total < 100
           && mcp_store_txn_truncated(g.t),
           "budget: 60 units, half for the search: %u of them, truncated",
           (unsigned) r.total);

    mcp_store_txn_budget(g.t, 0);
    TAP_OK(test_finds(g.t, &g.sc, "common", ""),
           "budget: none left, nothing read");

    mcp_store_txn_abort(g.t);
    rc = mcp_store_txn_begin(g.s, MCP_STORE_RDONLY, &g.t);

    /* a page of entities ends with the budget, and goes on from there */

    listed = 0;
    last[0] = '\0';
    more = 1;

    for (i = 0; rc == MCP_STORE_OK && more && i < 100; i++) {
        mcp_store_txn_budget(g.t, 300);
        test_seen_init(&l, 0);

        rc = mcp_store_entity_list(g.t, &g.sc, last, strlen(last), 0, obs, 1,
                                   test_entity_cb, &l, &more);
        listed += l.calls;

        if (l.calls > 0) {
            snprintf(last, sizeof(last), "%.3s",
                     l.seen + strlen(l.seen) - 5);
        }
    }

    TAP_OK(rc == MCP_STORE_OK && listed == 100 && i > 2 && i < 100
           && mcp_store_txn_truncated(g.t),
           "budget: entity pages of 300 units: %u pages hold the 100",
           (unsigned) i);

    mcp_store_txn_budget(g.t, 200);
    test_seen_init(&l, 0);
    rc = test_rels(g.t, &g.sc, "hub", NULL, 0, &l, &more);
    TAP_OK(rc == MCP_STORE_OK && l.calls > 0 && l.calls < 100 && more == 1,
           "budget: relations of hub: a page of %u, more", (unsigned) l.calls);

    after = test_rel("hub", "links", "n99");
    mcp_store_txn_budget(g.t, 0);
    test_seen_init(&l, 0);
    rc = test_rels(g.t, &g.sc, "hub", &after, 0, &l, &more);
    TAP_OK(rc == MCP_STORE_OK && l.calls == 0 && more == 0,
           "budget: none left after the last: none, and no more");

    mcp_store_txn_abort(g.t);
    mcp_store_close(g.s);
}


static void
test_utf8(void)
{
    int                 rc;
    test_graph_t        g;

    TAP_OK(test_tokens_are("caf\xc3\xa9 au lait", "caf\xc3\xa9,au,lait"),
           "utf8: caf\xc3\xa9 stays one token");

    TAP_OK(test_tokens_are("\xc3\x9cN\xc3\x8f" "CODE",
                           "\xc3\xbcn\xc3\xaf" "code"),
           "utf8: Latin-1 letters are lower-cased too");

    TAP_OK(test_tokens_are("Z\xc3\x9cRICH \xce\x91\xce\x98\xce\x97\xce\x9d"
                           "\xce\x91 \xd0\x9c\xd0\x9e\xd0\xa1\xd0\x9a"
                           "\xd0\x92\xd0\x90",
                           "z\xc3\xbcrich,\xce\xb1\xce\xb8\xce\xb7"
                           "\xce\xbd\xce\xb1,\xd0\xbc\xd0\xbe"
                           "\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0"),
           "utf8: Latin, Greek and Cyrillic capitals fold");

    TAP_OK(test_tokens_are("calls it \xe2\x80\x9cmagic\xe2\x80\x9d\xe2\x80\x94"
                           "really\xc2\xa0now \xc2\xabq\xc2\xbb",
                           "calls,magic,really,now,q"),
           "utf8: typographic quotes, dashes and nbsp separate words");

    TAP_OK(test_tokens_are("x\xff" "y\xc3", "x,y"),
           "utf8: bytes that are not UTF-8 separate words");

    rc = test_begin(&g, "utf8", "acme", "",
                    "Le Caf\xc3\xa9", "place", NULL, NULL);

    TAP_RC(rc, MCP_STORE_OK, "utf8: an entity with a non-ASCII name");

    TAP_OK(test_finds(g.t, &g.sc, "CAF\xc3\xa9", "Le Caf\xc3\xa9"),
           "utf8: found by CAF\xc3\xa9");

    TAP_OK(test_finds(g.t, &g.sc, "caf\xc3\x89", "Le Caf\xc3\xa9"),
           "utf8: and by caf\xc3\x89 (case folds beyond ASCII)");

    TAP_OK(test_finds(g.t, &g.sc, "caf", "Le Caf\xc3\xa9"),
           "utf8: and by the prefix caf");

    mcp_store_txn_abort(g.t);
    mcp_store_close(g.s);
}


static void
test_map_full(void)
{
    int                 rc;
    char                dir[PATH_MAX], name[32], *text;
    size_t              i, n;
    uint64_t            before;
    mcp_store_t        *s;
    mcp_store_txn_t    *t;
    mcp_store_entity_t  e;
    mcp_store_scope_t   sc;
    test_found_t        r;

    s = test_open(test_dir(dir, "full"), 256 * TEST_KIB, 0);
    sc = test_scope("acme", "");
    text = test_repeat("word ", 1638);

    rc = mcp_store_txn_begin(s, 0, &t);

    if (rc == MCP_STORE_OK) {
        rc = test_create(t, &sc, NULL, "kept", "thing", "small", NULL);
    }

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_txn_commit(t);
    }

    TAP_RC(rc, MCP_STORE_OK, "map full: one entity committed");

    rc = mcp_store_txn_begin(s, 0, &t);
    before = test_entries(t, s->postings);

    for (i = 0; rc == MCP_STORE_OK && i < 1000; i++) {
        snprintf(name, sizeof(name), "big%u", (unsigned) i);
        text[0] = (char) ('a' + i % 26);
        rc = test_create(t, &sc, NULL, name, "thing", text, NULL);

        if (rc == MCP_STORE_OK) {
            snprintf(name, sizeof(name), "other%u", (unsigned) i);
            rc = test_relate(t, &sc, "kept", "has", name, NULL);
        }
    }

    n = i;

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_txn_commit(t);

    } else {
        mcp_store_txn_abort(t);
    }

    TAP_RC(rc, MCP_STORE_FULL, "map full: a graph write meets FULL");
    tap_diag("%u entities before FULL", (unsigned) n);

    rc = mcp_store_txn_begin(s, MCP_STORE_RDONLY, &t);

    TAP_OK(rc == MCP_STORE_OK
           && test_get(t, &sc, "big0", &e, NULL, 0, NULL)
              == MCP_STORE_NOTFOUND
           && test_entries(t, s->relations) == 0
           && test_entries(t, s->postings) == before,
           "map full: nothing of the transaction is kept");

    rc = test_search(t, &sc, "small", &r);
    TAP_OK(rc == MCP_STORE_OK && r.total == 1
           && test_get(t, &sc, "kept", &e, NULL, 0, NULL) == MCP_STORE_OK,
           "map full: what was committed before is intact");

    mcp_store_txn_abort(t);

    free(text);
    mcp_store_close(s);
}


/*
 * A store of 1 MiB filled, round by round, with links, sessions, entities
 * with relations, and messages of contexts that expire, until a write is
 * FULL.  Then each kind of delete commits, and once they have freed
 * pages, new writes of each kind do.
 */

static void
test_reserve_text(char *buf, size_t size, unsigned i)
{
    snprintf(buf, size, "round %u: words to fill the pages of the index, "
             "w%ua w%ub w%uc, and some more of them to be sure", i, i, i, i);
}


static int
test_reserve_round(mcp_store_t *s, const mcp_store_scope_t *sc, unsigned i)
{
    int                   rc;
    char                  name[32], ctx[16], text[160];
    mcp_store_txn_t      *t;
    mcp_store_link_t      link;
    mcp_store_message_t   m;
    mcp_store_session_t   session;

    snprintf(name, sizeof(name), "e%05u", i);
    snprintf(ctx, sizeof(ctx), "c%u", i % 8);
    test_reserve_text(text, sizeof(text), i);

    memset(&link, 0, sizeof(link));
    link.url = text;
    link.url_len = strlen(text);

    memset(&session, 0, sizeof(session));
    session.last_seen = 100;

    rc = mcp_store_link_put(s, name, strlen(name), &link);

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_session_put(s, name, strlen(name), &session);
    }

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_txn_begin(s, 0, &t);
    }

    if (rc != MCP_STORE_OK) {
        return rc;
    }

    memset(&m, 0, sizeof(m));
    m.role = MCP_STORE_ROLE_USER;
    m.content = text;
    m.content_len = strlen(text);

    rc = test_create(t, sc, NULL, name, "thing", text, NULL);

    if (rc == MCP_STORE_OK) {
        rc = test_relate(t, sc, name, "follows", "e00000", NULL);
    }

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_message_append(t, sc, ctx, strlen(ctx), &m, 100, 1000,
                                      NULL);
    }

    if (rc != MCP_STORE_OK) {
        mcp_store_txn_abort(t);
        return rc;
    }

    return mcp_store_txn_commit(t);
}


static void
test_reserve(void)
{
    int                    rc, ok, done;
    char                   dir[PATH_MAX], name[32], text[160];
    size_t                 removed;
    unsigned               i, n;
    mcp_store_t           *s;
    mcp_store_txn_t       *t;
    mcp_store_scope_t      sc;
    mcp_store_relation_t   r;

    s = test_open(test_dir(dir, "reserve"), 4 * 1024 * TEST_KIB, 0);
    sc = test_scope("acme", "");

    rc = MCP_STORE_OK;

    for (n = 0; rc == MCP_STORE_OK && n < 100000; n++) {
        rc = test_reserve_round(s, &sc, n);
    }

    TAP_OK(rc == MCP_STORE_FULL && n > 100,
           "reserve: a 4 MiB store is FULL after %u rounds", n);

    ok = (mcp_store_link_delete(s, "e00001", 6) == MCP_STORE_OK);
    ok &= (mcp_store_session_delete(s, "e00001", 6) == MCP_STORE_OK);
    ok &= (mcp_store_session_expire(s, 200, 10, &removed, NULL)
           == MCP_STORE_OK && removed == 10);

    rc = mcp_store_txn_begin(s, 0, &t);

    if (rc == MCP_STORE_OK) {
        test_reserve_text(text, sizeof(text), 2);
        rc = mcp_store_observation_delete(t, &sc, "e00002", 6, text,
                                          strlen(text), &done);
        ok &= done;
    }

    if (rc == MCP_STORE_OK) {
        r = test_rel("e00003", "follows", "e00000");
        rc = mcp_store_relation_delete(t, &sc, &r, &done);
        ok &= done;
    }

    if (rc == MCP_STORE_OK) {
        rc = test_del(t, &sc, "e00004", &done);
        ok &= done;
    }

    ok &= (test_end(t, rc) == MCP_STORE_OK);

    rc = mcp_store_txn_begin(s, 0, &t);

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_context_delete(t, &sc, "c1", 2);
    }

    ok &= (test_end(t, rc) == MCP_STORE_OK);
    ok &= (mcp_store_context_expire(s, 2000, 1, &removed, NULL)
           == MCP_STORE_OK);

    TAP_OK(ok, "reserve: on the full store a link, a session, idle "
           "sessions, an observation, a relation, an entity, a context and "
           "an expired one are deleted");

    /* the entities of a fifth of the rounds, and all that expired */

    rc = mcp_store_txn_begin(s, 0, &t);

    for (i = 10; rc == MCP_STORE_OK && i < n / 5; i++) {
        snprintf(name, sizeof(name), "e%05u", i);
        rc = test_del(t, &sc, name, &done);
    }

    rc = test_end(t, rc);

    for (i = 0; rc == MCP_STORE_OK && i < 100; i++) {
        rc = mcp_store_context_expire(s, 2000, 10, &removed, &done);

        if (!done) {
            break;
        }
    }

    TAP_RC(rc, MCP_STORE_OK, "reserve: many more deletes commit too");

    for (i = 0; rc == MCP_STORE_OK && i < 20; i++) {
        rc = test_reserve_round(s, &sc, 200000 + i);
    }

    TAP_RC(rc, MCP_STORE_OK, "reserve: then the room they freed takes 20 "
           "new rounds of writes");

    mcp_store_close(s);
}


static void
test_fork_reader(void)
{
    int                 rc, status;
    char                dir[PATH_MAX];
    pid_t               pid;
    mcp_store_t        *s, *cs;
    mcp_store_txn_t    *t, *ct;
    mcp_store_entity_t  e;
    mcp_store_scope_t   sc;

    s = test_open(test_dir(dir, "fork"), 0, 0);
    sc = test_scope("acme", "");

    rc = mcp_store_txn_begin(s, MCP_STORE_RDONLY, &t);
    TAP_RC(rc, MCP_STORE_OK, "fork: a read txn before the child writes");

    pid = fork();

    if (pid == 0) {
        cs = test_open(dir, 0, 0);
        status = 1;

        if (cs != NULL && mcp_store_txn_begin(cs, 0, &ct) == MCP_STORE_OK) {
            if (test_create(ct, &sc, NULL, "child", "process", "forked",
                            NULL)
                == MCP_STORE_OK
                && mcp_store_txn_commit(ct) == MCP_STORE_OK)
            {
                status = 0;

            } else {
                mcp_store_txn_abort(ct);
            }
        }

        mcp_store_close(cs);
        _exit(status);
    }

    TAP_IS(test_wait(pid), 0, "fork: the child wrote and committed");

    TAP_RC(test_get(t, &sc, "child", &e, NULL, 0, NULL), MCP_STORE_NOTFOUND,
           "fork: the older snapshot does not see it");

    mcp_store_txn_abort(t);

    rc = mcp_store_txn_begin(s, MCP_STORE_RDONLY, &t);

    if (rc == MCP_STORE_OK) {
        rc = test_get(t, &sc, "child", &e, NULL, 0, NULL);
    }

    TAP_OK(rc == MCP_STORE_OK && test_str_is(e.type, e.type_len, "process"),
           "fork: a new read txn sees the child's entity");

    TAP_OK(test_finds(t, &sc, "forked", "child"),
           "fork: and finds it by search");

    mcp_store_txn_abort(t);
    mcp_store_close(s);
}


/* A store made before the context store: read-only, it reads as empty. */

static void
test_old_store(void)
{
    int                 rc, ok, more;
    char                dir[PATH_MAX];
    MDB_env            *env;
    MDB_txn            *txn;
    MDB_dbi             dbi;
    MDB_val             k, v;
    mcp_store_t        *s;
    mcp_store_txn_t    *t;
    test_seen_t         l;
    mcp_store_entity_t  e;
    mcp_store_scope_t   sc;
    test_found_t        r;

    test_dir(dir, "old");

    rc = test_raw_open(dir, MCP_STORE_DB_META, 0, &env, &txn, &dbi);

    if (rc == 0) {
        k.mv_size = strlen(MCP_STORE_KEY_SCHEMA);
        k.mv_data = MCP_STORE_KEY_SCHEMA;
        v.mv_size = 1;
        v.mv_data = "\x01";

        rc = mdb_put(txn, dbi, &k, &v, 0);

        if (rc == 0) {
            rc = mdb_dbi_open(txn, MCP_STORE_DB_LINKS, MDB_CREATE, &dbi);
        }

        rc = test_raw_close(env, txn, rc);
    }

    TAP_IS(rc, 0, "old store: made with meta and links only");

    s = test_open(dir, 0, MCP_STORE_RDONLY);
    sc = test_scope("acme", "");

    rc = (s == NULL) ? MCP_STORE_EIO
                     : mcp_store_txn_begin(s, MCP_STORE_RDONLY, &t);
    TAP_RC(rc, MCP_STORE_OK, "old store: a read txn on a read-only handle");

    test_seen_init(&l, 0);

    ok = rc == MCP_STORE_OK
         && test_get(t, &sc, "x", &e, NULL, 0, NULL) == MCP_STORE_NOTFOUND
         && mcp_store_entity_list(t, &sc, NULL, 0, 0, NULL, 0,
                                  test_entity_cb, &l, &more) == MCP_STORE_OK
         && test_rels(t, &sc, NULL, NULL, 0, &l, NULL) == MCP_STORE_OK
         && test_rels_to(t, &sc, "x", &l) == MCP_STORE_OK
         && l.calls == 0
         && test_search(t, &sc, "x", &r)
            == MCP_STORE_OK
         && r.total == 0;

    TAP_OK(ok, "old store: finds nothing, fails nothing");

    if (rc == MCP_STORE_OK) {
        mcp_store_txn_abort(t);
    }

    mcp_store_close(s);

    s = test_open(dir, 0, 0);
    rc = (s == NULL) ? MCP_STORE_EIO : mcp_store_txn_begin(s, 0, &t);

    if (rc == MCP_STORE_OK) {
        rc = test_create(t, &sc, NULL, "x", "y", NULL);

        if (rc == MCP_STORE_OK) {
            rc = mcp_store_txn_commit(t);

        } else {
            mcp_store_txn_abort(t);
        }
    }

    TAP_RC(rc, MCP_STORE_OK,
           "old store: opened read-write, it gets the databases");

    mcp_store_close(s);
}


/* helpers */

/*
 * A new store in its own directory, a scope, and a write transaction
 * begun on it, holding the entities of the triples that follow (as
 * test_entities), up to a NULL name.
 */

static int
test_begin(test_graph_t *g, const char *name, const char *tenant,
    const char *ns, ...)
{
    int      rc;
    char     dir[PATH_MAX];
    va_list  args;

    g->sc = test_scope(tenant, ns);
    g->s = test_open(test_dir(dir, name), 0, 0);

    if (g->s == NULL) {
        tap_bail("cannot open a store in %s", dir);
    }

    rc = mcp_store_txn_begin(g->s, 0, &g->t);

    if (rc == MCP_STORE_OK) {
        va_start(args, ns);
        rc = test_entities(g->t, &g->sc, args);
        va_end(args);
    }

    return rc;
}


static mcp_store_scope_t
test_scope(const char *tenant, const char *ns)
{
    mcp_store_scope_t  sc;

    sc.tenant = tenant;
    sc.tenant_len = strlen(tenant);
    sc.ns = ns;
    sc.ns_len = strlen(ns);

    return sc;
}


/* Creates an entity at time 1000 with the observations listed to NULL. */

static int
test_create(mcp_store_txn_t *t, const mcp_store_scope_t *sc, int *created,
    const char *name, const char *type, ...)
{
    va_list                  args;
    const char              *text;
    mcp_store_entity_t       e;
    mcp_store_observation_t  obs[8];

    memset(&e, 0, sizeof(e));
    e.name = name;
    e.name_len = strlen(name);
    e.type = type;
    e.type_len = strlen(type);
    e.observations = obs;

    va_start(args, type);

    while ((text = va_arg(args, const char *)) != NULL && e.nobservations < 8)
    {
        obs[e.nobservations].text = text;
        obs[e.nobservations].text_len = strlen(text);
        obs[e.nobservations++].created_at = 0;
    }

    va_end(args);

    return mcp_store_entity_create(t, sc, &e, 1000, created);
}


/*
 * Creates entities from triples of a name, a type and one observation
 * (or NULL for none), up to a NULL name.
 */

static int
test_entities(mcp_store_txn_t *t, const mcp_store_scope_t *sc, va_list args)
{
    int          rc;
    const char  *name, *type, *text;

    rc = MCP_STORE_OK;

    while (rc == MCP_STORE_OK && (name = va_arg(args, const char *)) != NULL)
    {
        type = va_arg(args, const char *);
        text = va_arg(args, const char *);
        rc = test_create(t, sc, NULL, name, type, text, NULL);
    }

    return rc;
}


/* Relations are made at time 7. */

static int
test_relate(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *from, const char *type, const char *to, int *created)
{
    mcp_store_relation_t  r;

    r = test_rel(from, type, to);

    return mcp_store_relation_create(t, sc, &r, 7, created);
}


/* Relates "from type to, from type to, ..." (names without spaces). */

static int
test_relate_list(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *list)
{
    int     rc;
    char    buf[256], *p, *from, *type, *to, *save, *word;

    snprintf(buf, sizeof(buf), "%s", list);

    rc = MCP_STORE_OK;

    for (p = strtok_r(buf, ",", &save); rc == MCP_STORE_OK && p != NULL;
         p = strtok_r(NULL, ",", &save))
    {
        from = strtok_r(p, " ", &word);
        type = strtok_r(NULL, " ", &word);
        to = strtok_r(NULL, " ", &word);

        if (from == NULL || type == NULL || to == NULL) {
            tap_bail("bad relation list \"%s\"", list);
        }

        rc = test_relate(t, sc, from, type, to, NULL);
    }

    return rc;
}


static int
test_get(mcp_store_txn_t *t, const mcp_store_scope_t *sc, const char *name,
    mcp_store_entity_t *e, mcp_store_observation_t *obs, size_t cap,
    size_t *total)
{
    e->observations = obs;

    return mcp_store_entity_get(t, sc, name, strlen(name), e, cap, total);
}


static int
test_obs(mcp_store_txn_t *t, const mcp_store_scope_t *sc, const char *name,
    const char *text, int *added)
{
    return mcp_store_observation_add(t, sc, name, strlen(name), text,
                                     strlen(text), 1000, added);
}


static int
test_del(mcp_store_txn_t *t, const mcp_store_scope_t *sc, const char *name,
    int *deleted)
{
    return mcp_store_entity_delete(t, sc, name, strlen(name), deleted);
}


/* Searches entities: r receives the hits and their documents, "a,b,c". */

static int
test_search(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *query, test_found_t *r)
{
    int     rc;
    size_t  i, len;

    rc = mcp_store_entity_search(t, sc, query, strlen(query), 0, r->hits,
                                 TEST_HITS, &r->n, &r->total);

    r->docs[0] = '\0';
    len = 0;

    for (i = 0; rc == MCP_STORE_OK && i < r->n; i++) {
        len += (size_t) snprintf(r->docs + len, sizeof(r->docs) - len,
                                 "%s%.*s", i ? "," : "",
                                 (int) r->hits[i].doc_len, r->hits[i].doc);
    }

    return rc;
}


/* the search finds exactly these documents, best first ("" for none) */

static int
test_finds(mcp_store_txn_t *t, const mcp_store_scope_t *sc,
    const char *query, const char *docs)
{
    int           rc;
    test_found_t  r;

    rc = test_search(t, sc, query, &r);

    if (rc != MCP_STORE_OK || strcmp(r.docs, docs) != 0 || r.total != r.n) {
        tap_diag("  search \"%s\": rc %d, %zu of %zu: %s, expected %s",
                 query, rc, r.n, r.total, r.docs, docs);
        return 0;
    }

    return 1;
}


static int
test_str_is(const char *p, size_t len, const char *str)
{
    return p != NULL && len == strlen(str) && memcmp(p, str, len) == 0;
}


/* commits t if rc says so, else aborts it; returns what came of it */

static int
test_end(mcp_store_txn_t *t, int rc)
{
    if (rc != MCP_STORE_OK) {
        mcp_store_txn_abort(t);
        return rc;
    }

    return mcp_store_txn_commit(t);
}


static int
test_entity_cb(void *data, const mcp_store_entity_t *e)
{
    return test_seen_add(data, "%.*s/%u", (int) e->name_len, e->name,
                         (unsigned) e->nobservations);
}


static int
test_relation_cb(void *data, const mcp_store_relation_t *r)
{
    return test_seen_add(data, "%.*s-%.*s->%.*s@%lld", (int) r->from_len,
                         r->from, (int) r->type_len, r->type,
                         (int) r->to_len, r->to, (long long) r->created_at);
}


static int
test_rels(mcp_store_txn_t *t, const mcp_store_scope_t *sc, const char *from,
    const mcp_store_relation_t *after, size_t limit, test_seen_t *l,
    int *more)
{
    test_seen_init(l, 0);

    return mcp_store_relation_list(t, sc, from, from ? strlen(from) : 0,
                                   after, limit, test_relation_cb, l, more);
}


static int
test_rels_to(mcp_store_txn_t *t, const mcp_store_scope_t *sc, const char *to,
    test_seen_t *l)
{
    test_seen_init(l, 0);

    return mcp_store_relation_list_to(t, sc, to, strlen(to),
                                      test_relation_cb, l);
}


static int
test_link_cb(void *data, const char *code, size_t code_len,
    const mcp_store_link_t *link)
{
    (void) data;
    (void) code;
    (void) code_len;
    (void) link;

    return 0;
}


static int
test_token_cb(void *data, const char *token, size_t len)
{
    (void) test_seen_add(data, "%.*s", (int) len, token);

    return 0;
}


static size_t
test_tokens(const char *text, test_seen_t *l)
{
    test_seen_init(l, 0);

    return mcp_store_tokenize(text, strlen(text), test_token_cb, l);
}


/* Reads a count record of "postings" (a 1-uint key with a token) or
 * "docs", raw. */

/* the text's tokens are those ("a,b,c"), or a diagnostic says */

static int
test_tokens_are(const char *text, const char *tokens)
{
    size_t       n;
    test_seen_t  l;

    n = test_tokens(text, &l);

    if (n != l.calls || strcmp(l.seen, tokens) != 0) {
        tap_diag("  tokens: %zu: %s, expected %s", n, l.seen, tokens);
        return 0;
    }

    return 1;
}


static int
test_index_count(mcp_store_txn_t *t, const char *key, size_t key_len,
    uint64_t *v, size_t n)
{
    int      rc;
    MDB_val  k, val;
    MDB_dbi  dbi;

    k.mv_size = key_len;
    k.mv_data = (void *) key;

    /* "docs" keys have a NUL or nothing after the kind */

    dbi = (key_len == 9 || key[9] == '\0') ? t->store->docs
                                           : t->store->postings;

    rc = mdb_get(mcp_store_txn_mdb(t), dbi, &k, &val);
    if (rc != 0) {
        return MCP_STORE_NOTFOUND;
    }

    return mcp_store_uints_decode(val.mv_data, val.mv_size, v, n);
}


static double
test_bm25(double tf, double df, double n, double len, double avglen)
{
    double  idf;

    idf = log(1.0 + (n - df + 0.5) / (df + 0.5));

    return idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * len / avglen));
}


static int
test_near(double a, double b)
{
    return fabs(a - b) < TEST_EPSILON;
}


/* n copies of unit, NUL-terminated, the caller's to free */

static char *
test_repeat(const char *unit, size_t n)
{
    char    *p;
    size_t   i, len;

    len = strlen(unit);

    p = malloc(n * len + 1);
    if (p == NULL) {
        tap_bail("out of memory");
    }

    for (i = 0; i < n; i++) {
        memcpy(p + i * len, unit, len);
    }

    p[n * len] = '\0';

    return p;
}
