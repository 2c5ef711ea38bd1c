/*
 * Unit tests of the per-tenant usage and quotas (mcp_store_quota.c):
 * every create and delete keeps its tenant's usage, a write over a limit
 * is refused and keeps nothing, another tenant is unaffected, and a store
 * without usage records is counted when it is opened.  TAP for prove.
 */

#define _POSIX_C_SOURCE  200809L

#include <sys/types.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "test_lib.h"


#define TEST_PLAN        31

#define TEST_WRITERS     4          /* processes writing at once */
#define TEST_TRIES       20         /* links each tries to make */



/* an entity with one observation, a message appended to a context */
typedef int (*test_write_pt)(mcp_store_t *s, const mcp_store_scope_t *sc,
    const char *name, const char *text);

/*
 * One assertion of a quota test: writes (name, text, ..., NULL) made in
 * sc, all but the last succeed and the last returns rc (for
 * MCP_STORE_QUOTA, a refusal by the quota which of limit); then the
 * tenant's usage is usage[] (links, entities, messages, bytes).
 */
typedef struct {
    const mcp_store_scope_t  *sc;
    const char               *writes[7];
    int                       rc;
    unsigned                  which;
    uint64_t                  limit;
    const char               *tenant;
    uint64_t                  usage[MCP_STORE_QUOTA_N];
    const char               *message;
} test_step_t;

#define test_null_step   { NULL, { NULL }, 0, 0, 0, NULL, { 0, 0, 0, 0 }, NULL }


static void test_links(void);
static void test_graph(void);
static void test_messages(void);
static void test_recount(void);
static void test_parallel(void);
static mcp_store_t *test_quota_open(char *dir, const char *name);
static int test_end(mcp_store_txn_t *t, int rc);
static int test_usage(mcp_store_t *s, const char *tenant, uint64_t links,
    uint64_t entities, uint64_t messages, uint64_t bytes);
static int test_refused(mcp_store_t *s, unsigned which, uint64_t limit);
static int test_recounted(mcp_store_t *s);
static void test_steps(mcp_store_t *s, test_write_pt write,
    const test_step_t *steps);
static int test_step(mcp_store_t *s, test_write_pt write,
    const test_step_t *st);
static int test_link(mcp_store_t *s, const char *code, const char *tenant,
    const char *url);
static int test_entity(mcp_store_t *s, const mcp_store_scope_t *sc,
    const char *name, const char *obs);
static int test_append(mcp_store_t *s, const mcp_store_scope_t *sc,
    const char *ctx, const char *content);
static int test_relate(mcp_store_txn_t *t, const char *from,
    const char *type, const char *to, int create);


static const mcp_store_scope_t  test_acme = { "acme", 4, "", 0 };
static const mcp_store_scope_t  test_beta = { "beta", 4, "ns", 2 };

/* acme's own limits; every other tenant has the second line's */
static const mcp_store_quota_t  test_quotas[] = {
    { "acme", 4, { 2, 2, 3, 0 } },
    { NULL, 0, { 0, 0, 0, 100 } }
};


/* graph: name 5 + type 4 + observation 3 bytes an entity */
static const test_step_t  test_graph_fill[] = {
    { &test_acme, { "alice", "abc", "bob00", "abc", NULL },
      MCP_STORE_OK, 0, 0, "acme", { 0, 2, 0, 24 },
      "graph: two entities count two, name, type and observations" },
    { &test_acme, { "carol", "abc", NULL },
      MCP_STORE_QUOTA, MCP_STORE_QUOTA_ENTITIES, 2, "acme", { 0, 2, 0, 24 },
      "graph: a third is refused by the entities quota of 2" },
    { &test_acme, { "alice", "xyz", NULL },
      MCP_STORE_OK, 0, 0, "acme", { 0, 2, 0, 24 },
      "graph: an existing entity is not counted again" },
    test_null_step
};


static const test_step_t  test_messages_fill[] = {
    { &test_acme, { "c1", "hello", "c1", "world", "c2", "again", NULL },
      MCP_STORE_OK, 0, 0, "acme", { 0, 0, 3, 15 },
      "messages: three messages count three and their contents" },
    { &test_acme, { "c2", "full", NULL },
      MCP_STORE_QUOTA, MCP_STORE_QUOTA_MESSAGES, 3, "acme", { 0, 0, 3, 15 },
      "messages: a fourth is refused by the messages quota of 3" },
    { &test_beta, { "c1", "hello", NULL },
      MCP_STORE_OK, 0, 0, "beta", { 0, 0, 1, 5 },
      "messages: another tenant is unaffected" },
    test_null_step
};


int
main(void)
{
    test_init(TEST_PLAN);

    test_links();
    test_graph();
    test_messages();
    test_recount();
    test_parallel();

    return test_finish(TEST_PLAN);
}


static void
test_links(void)
{
    int                rc;
    char               dir[PATH_MAX], code[7];
    mcp_store_t       *s;
    mcp_store_link_t   link;

    s = test_quota_open(dir, "links");

    TAP_OK(test_link(s, "a1", "acme", "https://a.example/1") == MCP_STORE_OK
           && test_link(s, "a2", "acme", "https://a.example/2")
              == MCP_STORE_OK
           && test_usage(s, "acme", 2, 0, 0, 2 * (2 + 19)),
           "links: two links count two, their codes and URLs as bytes");

    rc = test_link(s, "a3", "acme", "https://a.example/3");

    TAP_OK(rc == MCP_STORE_QUOTA && test_refused(s, MCP_STORE_QUOTA_LINKS, 2)
           && mcp_store_link_get(s, TEST_STR("a3"), &link)
              == MCP_STORE_NOTFOUND
           && test_usage(s, "acme", 2, 0, 0, 42),
           "links: a third is refused by the links quota of 2, not stored");

    link = test_link_of("acme", "https://a.example/r");

    TAP_RC(mcp_store_link_create(s, code, sizeof(code), &link),
           MCP_STORE_QUOTA, "links: a random code is refused the same");

    /* beta has the default quota: 100 bytes */

    TAP_OK(test_link(s, "b1", "beta", "https://b.example/1") == MCP_STORE_OK
           && test_link(s, "b2", "beta", "https://b.example/2")
              == MCP_STORE_OK
           && test_link(s, "b3", "beta", "https://b.example/3")
              == MCP_STORE_OK
           && test_usage(s, "beta", 3, 0, 0, 63),
           "links: another tenant is unaffected");

    rc = test_link(s, "b4", "beta", "https://b.example/long-enough-to-go-over");

    TAP_OK(rc == MCP_STORE_QUOTA && test_refused(s, MCP_STORE_QUOTA_BYTES, 100)
           && test_usage(s, "beta", 3, 0, 0, 63),
           "links: over the default bytes quota is refused");

    TAP_OK(mcp_store_link_delete_tenant(s, TEST_STR("a1"), TEST_STR("beta"))
           == MCP_STORE_NOTFOUND
           && mcp_store_link_delete_tenant(s, TEST_STR("a1"),
                                           TEST_STR("acme"))
              == MCP_STORE_OK
           && test_usage(s, "acme", 1, 0, 0, 21),
           "links: a delete frees its link and bytes");

    TAP_OK(test_link(s, "a3", "acme", "https://a.example/3") == MCP_STORE_OK
           && mcp_store_link_delete(s, TEST_STR("b1")) == MCP_STORE_OK
           && test_usage(s, "acme", 2, 0, 0, 42)
           && test_usage(s, "beta", 2, 0, 0, 42),
           "links: the freed room takes a new link; delete of any owner");

    /* a changed URL counts its change of length */

    link = test_link_of("beta", "https://b.example/two-longer");

    TAP_OK(mcp_store_link_update(s, TEST_STR("b2"), TEST_STR("beta"), &link,
                                 MCP_STORE_LINK_SET_URL) == MCP_STORE_OK
           && test_usage(s, "beta", 2, 0, 0, 51),
           "links: an update to a longer URL counts the difference");

    link = test_link_of("beta", "https://b.example/"
                        "far-too-long-for-what-is-left-of-the-quota-of-100"
                        "-and-then-some-more-x");

    TAP_OK(mcp_store_link_update(s, TEST_STR("b2"), TEST_STR("beta"), &link,
                                 MCP_STORE_LINK_SET_URL) == MCP_STORE_QUOTA
           && mcp_store_link_get(s, TEST_STR("b2"), &link) == MCP_STORE_OK
           && link.url_len == sizeof("https://b.example/two-longer") - 1
           && test_usage(s, "beta", 2, 0, 0, 51),
           "links: an update over the bytes quota is refused, changes nothing");

    /* without quotas, usage is kept all the same */

    mcp_store_quota_set(s, NULL, 0);

    TAP_OK(test_link(s, "a4", "acme", "https://a.example/4") == MCP_STORE_OK
           && test_usage(s, "acme", 3, 0, 0, 63),
           "links: without quotas nothing is refused and usage is kept");

    mcp_store_close(s);

    s = test_open(dir, 0, 0);

    TAP_OK(s != NULL && test_usage(s, "acme", 3, 0, 0, 63)
           && test_usage(s, "beta", 2, 0, 0, 51)
           && test_usage(s, "nobody", 0, 0, 0, 0),
           "links: usage survives reopening");

    mcp_store_close(s);
}


static void
test_graph(void)
{
    int                   rc, done;
    char                  dir[PATH_MAX];
    mcp_store_t          *s;
    mcp_store_txn_t      *t;

    s = test_quota_open(dir, "graph");

    test_steps(s, test_entity, test_graph_fill);

    t = test_begin_txn(s, 0);

    rc = mcp_store_observation_add(t, &test_acme, TEST_STR("alice"),
                                   TEST_STR("more"), 1, &done);

    rc = test_end(t, rc);

    TAP_OK(rc == MCP_STORE_OK && test_usage(s, "acme", 0, 2, 0, 28),
           "graph: an observation adds its bytes");

    /* from, type and to: 15 bytes each */

    t = test_begin_txn(s, 0);

    rc = test_relate(t, "alice", "knows", "bob00", 1);

    if (rc == MCP_STORE_OK) {
        rc = test_relate(t, "alice", "likes", "alice", 1);
    }

    if (rc == MCP_STORE_OK) {
        rc = test_relate(t, "alice", "likes", "alice", 0);
    }

    rc = test_end(t, rc);

    TAP_OK(rc == MCP_STORE_OK && test_usage(s, "acme", 0, 2, 0, 43),
           "graph: relations add their bytes, a deleted one takes them off");

    TAP_OK(test_entity(s, &test_beta, "alice", "abc") == MCP_STORE_OK
           && test_entity(s, &test_beta, "carol", "abc") == MCP_STORE_OK
           && test_entity(s, &test_beta, "dave0", "abc") == MCP_STORE_OK
           && test_usage(s, "beta", 0, 3, 0, 36),
           "graph: another tenant is unaffected");

    /* beta's observations go over its 100 bytes */

    t = test_begin_txn(s, 0);

    rc = mcp_store_observation_add(t, &test_beta, TEST_STR("alice"),
                                   TEST_STR("0123456789012345678901234"
                                            "5678901234567890123456789"
                                            "01234567890123456789"), 1,
                                   &done);
    mcp_store_txn_abort(t);

    TAP_OK(rc == MCP_STORE_QUOTA && test_refused(s, MCP_STORE_QUOTA_BYTES, 100)
           && test_usage(s, "beta", 0, 3, 0, 36),
           "graph: an observation over the bytes quota is refused");

    t = test_begin_txn(s, 0);

    rc = mcp_store_observation_delete(t, &test_acme, TEST_STR("alice"),
                                      TEST_STR("more"), &done);

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_entity_delete(t, &test_acme, TEST_STR("bob00"),
                                     &done);
    }

    rc = test_end(t, rc);

    TAP_OK(rc == MCP_STORE_OK && test_usage(s, "acme", 0, 1, 0, 12)
           && test_entity(s, &test_acme, "carol", "abc") == MCP_STORE_OK
           && test_usage(s, "acme", 0, 2, 0, 24),
           "graph: deletes (with the entity's relations) free room that a "
           "new entity takes");

    mcp_store_close(s);
}


static void
test_messages(void)
{
    int               rc;
    char              dir[PATH_MAX];
    size_t            removed;
    mcp_store_t      *s;
    mcp_store_txn_t  *t;

    s = test_quota_open(dir, "messages");

    test_steps(s, test_append, test_messages_fill);

    t = test_begin_txn(s, 0);

    rc = mcp_store_context_delete(t, &test_acme, TEST_STR("c1"));

    rc = test_end(t, rc);

    TAP_OK(rc == MCP_STORE_OK && test_usage(s, "acme", 0, 0, 1, 5)
           && test_append(s, &test_acme, "c2", "room") == MCP_STORE_OK,
           "messages: deleting a context frees its messages");

    /* an expired context frees its messages too (beta's c1: ttl 10) */

    rc = mcp_store_context_expire(s, 1000, 10, &removed, NULL);

    TAP_OK(rc == MCP_STORE_OK && removed == 1
           && test_usage(s, "beta", 0, 0, 0, 0),
           "messages: expiry frees them too");

    mcp_store_close(s);
}


/*
 * A store written before usage was kept: its usage records removed by
 * hand, it gets the same usage back when it is opened for writing.
 */

static void
test_recount(void)
{
    int               rc;
    char              dir[PATH_MAX];
    MDB_env          *env;
    MDB_txn          *txn;
    MDB_dbi           dbi;
    MDB_val           key, val;
    MDB_cursor       *cur;
    mcp_store_t      *s;
    mcp_store_txn_t  *t;

    s = test_quota_open(dir, "recount");
    mcp_store_quota_set(s, NULL, 0);

    rc = test_link(s, "a1", "acme", "https://a.example/1");
    rc |= test_link(s, "d1", "", "https://d.example/1");
    rc |= test_entity(s, &test_acme, "alice", "abc");
    rc |= test_entity(s, &test_beta, "alice", "abcd");
    rc |= test_append(s, &test_acme, "c1", "hello");
    rc |= test_append(s, &test_beta, "c1", "hi");

    if (rc == MCP_STORE_OK) {
        t = test_begin_txn(s, 0);

        rc = test_relate(t, "alice", "knows", "carol0", 1);

        rc = test_end(t, rc);
    }

    TAP_OK(rc == MCP_STORE_OK && test_recounted(s),
           "recount: usage as written");

    mcp_store_close(s);

    rc = test_raw_open(dir, "meta", 0, &env, &txn, &dbi);

    if (rc == 0) {
        rc = mdb_cursor_open(txn, dbi, &cur);

        while (rc == 0
               && mdb_cursor_get(cur, &key, &val, MDB_NEXT) == 0)
        {
            if (key.mv_size >= 5 && memcmp(key.mv_data, "usage", 5) == 0) {
                rc = mdb_cursor_del(cur, 0);
            }
        }

        if (rc == 0) {
            mdb_cursor_close(cur);
        }

        rc = test_raw_close(env, txn, rc);
    }

    s = test_open(dir, 0, MCP_STORE_RDONLY);

    TAP_OK(rc == 0 && s != NULL && test_usage(s, "acme", 0, 0, 0, 0),
           "recount: the usage records are gone (a store from before)");

    mcp_store_close(s);

    s = test_open(dir, 0, 0);

    TAP_OK(test_recounted(s),
           "recount: opening for writing counts them again, the same");

    mcp_store_quota_set(s, test_quotas, 2);

    TAP_OK(test_link(s, "a2", "acme", "https://a.example/2") == MCP_STORE_OK
           && test_link(s, "a3", "acme", "https://a.example/3")
              == MCP_STORE_QUOTA,
           "recount: the recounted usage is what quotas see");

    mcp_store_close(s);

    s = test_open(dir, 0, 0);

    TAP_OK(s != NULL && test_usage(s, "acme", 2, 1, 1, 75),
           "recount: only once: later opens keep the records");

    mcp_store_close(s);
}


/*
 * Processes that write at once never take a tenant over its quota:
 * acme's 2 links are made by exactly two of the tries, whichever wins.
 */

static void
test_parallel(void)
{
    int           n, made, failed;
    char          dir[PATH_MAX], code[32];
    pid_t         pid[TEST_WRITERS];
    unsigned      i, k;
    mcp_store_t  *s;

    test_dir(dir, "parallel");

    fflush(stdout);

    for (i = 0; i < TEST_WRITERS; i++) {
        pid[i] = fork();

        if (pid[i] == 0) {
            s = test_open(dir, 0, MCP_STORE_NOSYNC);
            if (s == NULL) {
                _exit(255);
            }

            mcp_store_quota_set(s, test_quotas, 2);

            for (n = 0, k = 0; k < TEST_TRIES; k++) {
                snprintf(code, sizeof(code), "p%u-%u", i, k);

                switch (test_link(s, code, "acme", "https://a.example/p")) {
                case MCP_STORE_OK:
                    n++;
                    break;
                case MCP_STORE_QUOTA:
                    break;
                default:
                    _exit(254);
                }
            }

            mcp_store_close(s);
            _exit(n);
        }
    }

    made = 0;
    failed = 0;

    for (i = 0; i < TEST_WRITERS; i++) {
        n = test_wait(pid[i]);

        if (n < 0 || n > TEST_TRIES) {
            failed = 1;

        } else {
            made += n;
        }
    }

    s = test_open(dir, 0, 0);

    TAP_OK(!failed && made == 2 && s != NULL
           && test_usage(s, "acme", 2, 0, 0, 2 * 19 + 4 + 4),
           "parallel: %d writers make exactly the quota of links (made %d)",
           TEST_WRITERS, made);

    mcp_store_close(s);
}


/* a new store in dir, with the quotas above */

static mcp_store_t *
test_quota_open(char *dir, const char *name)
{
    mcp_store_t  *s;

    s = test_open(test_dir(dir, name), 0, 0);
    if (s == NULL) {
        tap_bail("cannot open the store");
    }

    mcp_store_quota_set(s, test_quotas, 2);

    return s;
}


/* commits t if rc is MCP_STORE_OK, else aborts it (NULL when not begun) */

static int
test_end(mcp_store_txn_t *t, int rc)
{
    if (rc == MCP_STORE_OK) {
        return mcp_store_txn_commit(t);
    }

    mcp_store_txn_abort(t);

    return rc;
}


static int
test_usage(mcp_store_t *s, const char *tenant, uint64_t links,
    uint64_t entities, uint64_t messages, uint64_t bytes)
{
    int       rc;
    uint64_t  u[MCP_STORE_QUOTA_N];

    rc = mcp_store_usage_get(s, tenant, strlen(tenant), u);

    if (rc != MCP_STORE_OK) {
        tap_diag("usage of %s: %s", tenant, mcp_store_strerror(rc));
        return 0;
    }

    if (u[0] != links || u[1] != entities || u[2] != messages
        || u[3] != bytes)
    {
        tap_diag("usage of %s: %llu %llu %llu %llu", tenant,
                 (unsigned long long) u[0], (unsigned long long) u[1],
                 (unsigned long long) u[2], (unsigned long long) u[3]);
        return 0;
    }

    return 1;
}


/* the usage of what test_recount() writes, before and after the recount */

static int
test_recounted(mcp_store_t *s)
{
    return s != NULL && test_usage(s, "acme", 1, 1, 1, 54)
           && test_usage(s, "beta", 0, 1, 1, 15)
           && test_usage(s, "default", 1, 0, 0, 21);
}


/* one TAP line a step, up to test_null_step */

static void
test_steps(mcp_store_t *s, test_write_pt write, const test_step_t *steps)
{
    const test_step_t  *st;

    for (st = steps; st->message != NULL; st++) {
        TAP_OK(test_step(s, write, st), "%s", st->message);
    }
}


static int
test_step(mcp_store_t *s, test_write_pt write, const test_step_t *st)
{
    int                 rc;
    const char *const  *w;

    rc = MCP_STORE_OK;

    for (w = st->writes; w[0] != NULL; w += 2) {
        if (rc != MCP_STORE_OK) {
            return 0;
        }

        rc = write(s, st->sc, w[0], w[1]);
    }

    if (rc != st->rc) {
        tap_diag("%s: %s", st->message, mcp_store_strerror(rc));
        return 0;
    }

    if (rc == MCP_STORE_QUOTA && !test_refused(s, st->which, st->limit)) {
        return 0;
    }

    return test_usage(s, st->tenant, st->usage[0], st->usage[1],
                      st->usage[2], st->usage[3]);
}


static int
test_refused(mcp_store_t *s, unsigned which, uint64_t limit)
{
    unsigned  w;
    uint64_t  l;

    mcp_store_quota_refused(s, &w, &l);

    return w == which && l == limit
           && strcmp(mcp_store_quota_name(w),
                     (const char *[]) { "links", "entities", "messages",
                                        "bytes" }[which]) == 0;
}


static int
test_link(mcp_store_t *s, const char *code, const char *tenant,
    const char *url)
{
    mcp_store_link_t  link;

    link = test_link_of(tenant, url);

    return mcp_store_link_put(s, code, strlen(code), &link);
}


/* an entity of type "test" with one observation */

static int
test_entity(mcp_store_t *s, const mcp_store_scope_t *sc, const char *name,
    const char *obs)
{
    mcp_store_txn_t          *t;
    mcp_store_entity_t        e;
    mcp_store_observation_t   o;

    memset(&e, 0, sizeof(e));
    e.name = name;
    e.name_len = strlen(name);
    e.type = "test";
    e.type_len = 4;
    e.observations = &o;
    e.nobservations = 1;
    o.text = obs;
    o.text_len = strlen(obs);
    o.created_at = 0;

    t = test_begin_txn(s, 0);

    return test_end(t, mcp_store_entity_create(t, sc, &e, 1, NULL));
}


/* beta's contexts expire 10 seconds after their append, at time 1 */

static int
test_append(mcp_store_t *s, const mcp_store_scope_t *sc, const char *ctx,
    const char *content)
{
    mcp_store_txn_t      *t;
    mcp_store_message_t   m;

    memset(&m, 0, sizeof(m));
    m.role = MCP_STORE_ROLE_USER;
    m.content = content;
    m.content_len = strlen(content);

    t = test_begin_txn(s, 0);

    return test_end(t, mcp_store_message_append(t, sc, ctx, strlen(ctx), &m,
                                                1, (sc == &test_beta) ? 10 : 0,
                                                NULL));
}


/* creates (create 1) or deletes a relation of acme's */

static int
test_relate(mcp_store_txn_t *t, const char *from, const char *type,
    const char *to, int create)
{
    mcp_store_relation_t  r;

    r = test_rel(from, type, to);

    return create ? mcp_store_relation_create(t, &test_acme, &r, 1, NULL)
                  : mcp_store_relation_delete(t, &test_acme, &r, NULL);
}
