/*
 * Unit tests of the cluster's operations (mcp_store_op.h): encoding,
 * apply at a sequence, exactly-once, outcomes, and that two stores fed
 * the same log end the same.  Printing TAP for prove.
 */

#define _POSIX_C_SOURCE  200809L

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_lib.h"
#include "mcp_store_op.h"


#define TEST_PLAN        131

#define TEST_NODE        "node-a"
#define TEST_OTHER       "node-b"


/* the outcomes an apply hands out, in order, and the last detail */
typedef struct {
    size_t    n;
    int       outcome[8];
    uint64_t  id[8];
    size_t    ndetail;
    uint64_t  detail[8];
} test_outcomes_t;


static size_t test_encode(mcp_store_op_t *op, const char *node, uint64_t id,
    char *buf, size_t size);
static mcp_store_op_t test_op(unsigned kind, const char *code);
static mcp_store_op_t test_put(const char *code, const char *url,
    const char *tenant, uint64_t max_visits);
static mcp_store_op_t test_visits_op(const mcp_store_visit_t *visits,
    size_t n);
static int test_apply(mcp_store_t *s, uint64_t seq, mcp_store_op_t *op,
    const char *by, uint64_t id, int *result, int *fresh);
static mcp_store_t *test_op_open(char *dir, const char *name);
static int test_apply_entry(mcp_store_t *s, uint64_t seq, const char *buf,
    size_t len, test_outcomes_t *o, int *fresh);
static int test_outcome(mcp_store_t *s, uint64_t seq, mcp_store_op_t *op,
    const char *by, uint64_t id);
static void test_codec(void);
static void test_apply_put(void);
static void test_consume_delete(void);
static void test_visits(void);
static void test_corrupt(void);
static void test_same_log(void);
static void test_results_kept(void);
static void test_batch(void);
static void test_sessions(void);
static void test_memory(void);
static void test_versions(void);
static void test_link_update(void);
static void test_commit(void);
static void test_commit_again(void);
static void test_commit_full(void);


int
main(void)
{
    test_init(TEST_PLAN);

    test_codec();
    test_apply_put();
    test_consume_delete();
    test_visits();
    test_corrupt();
    test_same_log();
    test_results_kept();
    test_batch();
    test_sessions();
    test_memory();
    test_versions();
    test_link_update();
    test_commit();
    test_commit_again();
    test_commit_full();

    return test_finish(TEST_PLAN);
}


static size_t
test_encode(mcp_store_op_t *op, const char *node, uint64_t id, char *buf,
    size_t size)
{
    size_t  len;

    op->node = node;
    op->node_len = strlen(node);
    op->id = id;

    len = mcp_store_op_encode(op, buf, size);

    if (len > size) {
        tap_bail("an operation of %zu bytes", len);
    }

    return len;
}


/* an operation of this kind on code (NULL: none), every other field 0 */

static mcp_store_op_t
test_op(unsigned kind, const char *code)
{
    mcp_store_op_t  op;

    memset(&op, 0, sizeof(mcp_store_op_t));

    op.kind = kind;

    if (code != NULL) {
        op.code = code;
        op.code_len = strlen(code);
    }

    return op;
}


static mcp_store_op_t
test_put(const char *code, const char *url, const char *tenant,
    uint64_t max_visits)
{
    mcp_store_op_t  op;

    op = test_op(MCP_STORE_OP_LINK_PUT, code);
    op.link = test_link_of(tenant, url);
    op.link.created_at = 1700000000;
    op.link.max_visits = max_visits;

    return op;
}


static void
test_collect(void *data, const mcp_store_op_t *op, int outcome,
    const uint64_t *detail, size_t ndetail)
{
    test_outcomes_t *o = data;

    if (o->n < 8) {
        o->id[o->n] = op->id;
        o->outcome[o->n++] = outcome;
        o->ndetail = (ndetail < 8) ? ndetail : 8;

        if (o->ndetail) {
            memcpy(o->detail, detail, o->ndetail * sizeof(uint64_t));
        }
    }
}


/* the operations a commit hands out: in order (ids from 1), each with
 * its own code ("b" and base + (id + 1) / 2) and outcome (odd ids
 * MCP_STORE_OK, even ones MCP_STORE_EXISTS, as test_commit_again() puts
 * them) */
typedef struct {
    size_t    base;
    size_t    n;
    size_t    wrong;
} test_told_t;


static void
test_told(void *data, const mcp_store_op_t *op, int outcome,
    const uint64_t *detail, size_t ndetail)
{
    char          code[16];
    test_told_t  *t = data;

    (void) detail;
    (void) ndetail;

    t->n++;

    snprintf(code, sizeof(code), "b%zu",
             t->base + (size_t) (op->id + 1) / 2);

    if (op->id != t->n || op->code_len != strlen(code)
        || memcmp(op->code, code, op->code_len) != 0
        || outcome != ((op->id % 2) ? MCP_STORE_OK : MCP_STORE_EXISTS))
    {
        t->wrong++;
    }
}


/* an encoded entry applied at seq by TEST_NODE, its outcomes into o */

static int
test_apply_entry(mcp_store_t *s, uint64_t seq, const char *buf, size_t len,
    test_outcomes_t *o, int *fresh)
{
    o->n = 0;

    return mcp_store_op_apply(s, seq, buf, len, TEST_NODE,
                              sizeof(TEST_NODE) - 1, test_collect, o, fresh);
}


static mcp_store_op_t
test_visits_op(const mcp_store_visit_t *visits, size_t n)
{
    mcp_store_op_t  op;

    op = test_op(MCP_STORE_OP_LINK_VISITS, NULL);
    op.visits = visits;
    op.nitems = n;

    return op;
}


/* applies op alone at seq: *result its outcome (-2: none handed out) */

static int
test_apply(mcp_store_t *s, uint64_t seq, mcp_store_op_t *op, const char *by,
    uint64_t id, int *result, int *fresh)
{
    int              rc;
    char             buf[1024];
    size_t           len;
    test_outcomes_t  o;

    len = test_encode(op, by, id, buf, sizeof(buf));

    rc = test_apply_entry(s, seq, buf, len, &o, fresh);

    *result = (o.n == 1) ? o.outcome[0] : -2;

    return rc;
}


/* a new store in the test directory name, in dir, not synced */

static mcp_store_t *
test_op_open(char *dir, const char *name)
{
    mcp_store_t  *s;

    s = test_open(test_dir(dir, name), 0, MCP_STORE_NOSYNC);
    if (s == NULL) {
        tap_bail("open");
    }

    return s;
}


/* the outcome of op applied alone at seq; -3 if the apply itself failed */

static int
test_outcome(mcp_store_t *s, uint64_t seq, mcp_store_op_t *op, const char *by,
    uint64_t id)
{
    int  result, fresh;

    if (test_apply(s, seq, op, by, id, &result, &fresh) != MCP_STORE_OK) {
        return -3;
    }

    return result;
}


static void
test_codec(void)
{
    char               buf[512];
    size_t             len, pos, used;
    mcp_store_op_t     op, back;
    mcp_store_visit_t  visits[2], v;

    op = test_put("abc", "https://example.com/", "acme", 5);
    op.link.expires_at = 1800000000;

    len = test_encode(&op, TEST_NODE, 42, buf, sizeof(buf));

    TAP_RC(mcp_store_op_decode(buf, len, &back, &used), MCP_STORE_OK,
           "a link put decodes");
    TAP_IS(used, len, "all of it");
    TAP_OK(back.kind == MCP_STORE_OP_LINK_PUT && back.id == 42
           && back.node_len == 6 && memcmp(back.node, TEST_NODE, 6) == 0
           && back.code_len == 3 && memcmp(back.code, "abc", 3) == 0
           && back.link.url_len == 20 && back.link.expires_at == 1800000000
           && back.link.created_at == 1700000000
           && back.link.max_visits == 5 && back.link.tenant_len == 4,
           "every field of the put comes back");

    TAP_IS(mcp_store_op_encode(&op, NULL, 0), len,
           "encoding into nothing tells the length");
    TAP_RC(mcp_store_op_decode(buf, len - 1, &back, &used),
           MCP_STORE_ECORRUPT,
           "a truncated operation does not decode");

    buf[1] = 2;
    TAP_RC(mcp_store_op_decode(buf, len, &back, &used), MCP_STORE_ECORRUPT,
           "another format version does not decode");

    visits[0] = test_visit("abc", 7, 1700000100);
    visits[1] = test_visit("xyz", 1, 1700000200);
    op = test_visits_op(visits, 2);

    len = test_encode(&op, TEST_OTHER, 1, buf, sizeof(buf));

    TAP_RC(mcp_store_op_decode(buf, len, &back, &used), MCP_STORE_OK,
           "a visit batch decodes");
    TAP_IS(back.nitems, 2, "with its two entries");

    pos = 0;
    TAP_OK(mcp_store_op_visit(&back, &pos, &v) == MCP_STORE_OK
           && v.count == 7 && v.code_len == 3
           && memcmp(v.code, "abc", 3) == 0,
           "the first entry reads back");
    TAP_OK(mcp_store_op_visit(&back, &pos, &v) == MCP_STORE_OK
           && v.count == 1 && v.last_visit == 1700000200,
           "the second entry reads back");
    TAP_RC(mcp_store_op_visit(&back, &pos, &v), MCP_STORE_ECORRUPT,
           "there is no third");

    op = test_op(99, NULL);
    TAP_IS(mcp_store_op_encode(&op, buf, sizeof(buf)), 0,
           "an unknown kind does not encode");
}


static void
test_apply_put(void)
{
    int                result, fresh;
    char               dir[PATH_MAX];
    uint64_t           seq, id;
    mcp_store_t       *s;
    mcp_store_op_t     op;
    mcp_store_link_t   link;

    s = test_op_open(dir, "put");

    TAP_OK(mcp_store_op_applied(s, &seq) == MCP_STORE_OK && seq == 0,
           "a new store has applied nothing");

    op = test_put("alias", "https://a.example/", "acme", 0);

    TAP_RC(test_apply(s, 1, &op, TEST_NODE, 7, &result, &fresh),
           MCP_STORE_OK, "a put applies");
    TAP_OK(result == MCP_STORE_OK && fresh == 1, "and creates the link");
    TAP_OK(mcp_store_link_get(s, "alias", 5, &link) == MCP_STORE_OK
           && link.url_len == 18 && link.created_at == 1700000000
           && link.tenant_len == 4, "the link is there as sent");
    mcp_store_release(s);

    TAP_OK(mcp_store_op_applied(s, &seq) == MCP_STORE_OK && seq == 1,
           "sequence 1 is recorded");

    TAP_RC(test_apply(s, 1, &op, TEST_NODE, 7, &result, &fresh),
           MCP_STORE_OK, "delivered again");
    TAP_OK(fresh == 0 && result == MCP_STORE_OK,
           "it is not applied twice, and its recorded outcome comes back");

    op = test_put("alias", "https://b.example/", "acme", 0);

    TAP_RC(test_apply(s, 2, &op, TEST_OTHER, 3, &result, &fresh),
           MCP_STORE_OK, "another node's put of the same alias applies");
    TAP_OK(fresh == 1 && result == MCP_STORE_EXISTS,
           "as a conflict: the first in the log keeps it");
    TAP_OK(mcp_store_link_get(s, "alias", 5, &link) == MCP_STORE_OK
           && memcmp(link.url, "https://a.example/", 18) == 0,
           "the link is the first one");
    mcp_store_release(s);

    TAP_RC(mcp_store_op_result(s, 2, 0, &id, &result), MCP_STORE_NOTFOUND,
           "no outcome is kept for another node's operation");
    TAP_OK(mcp_store_op_result(s, 1, 0, &id, &result) == MCP_STORE_OK
           && id == 7 && result == MCP_STORE_OK,
           "the outcome of our own is kept by sequence");

    TAP_RC(test_apply(s, 1, &op, TEST_OTHER, 3, &result, &fresh),
           MCP_STORE_OK, "an older sequence");
    TAP_OK(fresh == 0 && result == -1,
           "is skipped, with no outcome for someone else's operation");

    op = test_put("tagged", "https://c.example/", "acme", 0);
    op.link.redirect_status = 307;
    op.link.tags = "a,b";
    op.link.tags_len = 3;

    TAP_OK(test_apply(s, 3, &op, TEST_NODE, 8, &result, &fresh)
           == MCP_STORE_OK && result == MCP_STORE_OK,
           "a put with a redirect status and tags applies");
    TAP_OK(mcp_store_link_get(s, "tagged", 6, &link) == MCP_STORE_OK
           && link.redirect_status == 307 && link.tags_len == 3
           && memcmp(link.tags, "a,b", 3) == 0,
           "and the link has them");
    mcp_store_release(s);

    op = test_put("badtag", "https://c.example/", "acme", 0);
    op.link.tags = "a,,b";
    op.link.tags_len = 4;

    TAP_OK(test_apply(s, 4, &op, TEST_NODE, 9, &result, &fresh)
           == MCP_STORE_OK && result == MCP_STORE_EINVAL
           && mcp_store_link_get(s, "badtag", 6, &link)
              == MCP_STORE_NOTFOUND,
           "a put with bad tags is EINVAL on every node, and stores "
           "nothing");

    mcp_store_close(s);
}


static void
test_consume_delete(void)
{
    int                result, fresh;
    char               dir[PATH_MAX];
    mcp_store_t       *s;
    mcp_store_op_t     op;
    mcp_store_link_t   link;

    s = test_op_open(dir, "consume");

    op = test_put("once", "https://once.example/", "acme", 1);
    (void) test_apply(s, 1, &op, TEST_NODE, 1, &result, &fresh);

    op = test_op(MCP_STORE_OP_LINK_CONSUME, "once");
    op.now = 1700000500;

    TAP_OK(test_outcome(s, 2, &op, TEST_NODE, 2) == MCP_STORE_OK,
           "the one visit of a max_visits 1 link is granted");
    TAP_OK(test_outcome(s, 3, &op, TEST_OTHER, 2) == MCP_STORE_SPENT,
           "the next one, from any node, is not");
    TAP_OK(mcp_store_link_get(s, "once", 4, &link) == MCP_STORE_OK
           && link.visits == 1 && link.last_visit == 1700000500,
           "one visit is counted, at the taking node's time");
    mcp_store_release(s);

    op = test_op(MCP_STORE_OP_LINK_DELETE, "once");
    op.link.tenant = "other";
    op.link.tenant_len = 5;

    TAP_OK(test_outcome(s, 4, &op, TEST_NODE, 3) == MCP_STORE_NOTFOUND,
           "another tenant cannot delete the link");

    op.link.tenant = "acme";
    op.link.tenant_len = 4;

    TAP_OK(test_outcome(s, 5, &op, TEST_NODE, 4) == MCP_STORE_OK,
           "its owner can");
    TAP_RC(mcp_store_link_get(s, "once", 4, &link), MCP_STORE_NOTFOUND,
           "and it is gone");

    TAP_OK(test_outcome(s, 6, &op, TEST_NODE, 5) == MCP_STORE_NOTFOUND,
           "deleting it again finds nothing");

    op = test_op(MCP_STORE_OP_LINK_CONSUME, "once");

    TAP_OK(test_outcome(s, 7, &op, TEST_NODE, 6) == MCP_STORE_NOTFOUND,
           "a visit to a deleted link finds nothing");

    op = test_put("soon", "https://soon.example/", "acme", 0);
    op.link.expires_at = 1700000100;
    (void) test_apply(s, 8, &op, TEST_NODE, 7, &result, &fresh);

    op = test_op(MCP_STORE_OP_LINK_CONSUME, "soon");
    op.now = 1700000100;

    TAP_OK(test_outcome(s, 9, &op, TEST_NODE, 8) == MCP_STORE_EXPIRED,
           "a visit at the expiry time is refused");

    mcp_store_close(s);
}


static void
test_visits(void)
{
    int                     result, fresh, ok;
    char                    dir[PATH_MAX], buf[512];
    size_t                  len, pos, used;
    mcp_store_t            *s;
    mcp_store_op_t          op, back;
    mcp_store_link_t        link;
    mcp_store_visit_t       visits[2], v;
    mcp_store_day_t         days[2];
    mcp_store_referrer_t    refs[2];
    mcp_store_link_stats_t  st;

    s = test_op_open(dir, "visits");

    op = test_put("hot", "https://hot.example/", "acme", 0);
    (void) test_apply(s, 10, &op, TEST_NODE, 1, &result, &fresh);

    visits[0] = test_visit("hot", 40, 1700000300);
    visits[1] = test_visit("gone", 2, 1700000300);
    op = test_visits_op(visits, 2);

    TAP_OK(test_outcome(s, 11, &op, TEST_OTHER, 1) == MCP_STORE_OK,
           "a visit batch naming a missing link applies");

    visits[0].count = 2;
    visits[0].last_visit = 1700000200;

    TAP_OK(test_outcome(s, 12, &op, TEST_NODE, 2) == MCP_STORE_OK,
           "a second node's batch applies");

    TAP_OK(mcp_store_link_get(s, "hot", 3, &link) == MCP_STORE_OK
           && link.visits == 42 && link.last_visit == 1700000300,
           "the counts of both nodes add up; last_visit never goes back");
    mcp_store_release(s);

    TAP_OK(test_apply(s, 12, &op, TEST_NODE, 2, &result, &fresh)
           == MCP_STORE_OK && fresh == 0,
           "a batch delivered again");
    TAP_OK(mcp_store_link_get(s, "hot", 3, &link) == MCP_STORE_OK
           && link.visits == 42, "is not counted twice");
    mcp_store_release(s);

    /* the statistics ride the same entries */

    visits[0] = test_visit("hot", 0, 1700000300);
    visits[0].people = 2;
    visits[0].bots = 5;
    visits[0].referrer = "r.example";
    visits[0].referrer_len = 9;
    op = test_visits_op(visits, 1);

    len = test_encode(&op, TEST_OTHER, 3, buf, sizeof(buf));
    pos = 0;
    TAP_OK(mcp_store_op_decode(buf, len, &back, &used) == MCP_STORE_OK
           && used == len && back.nitems == 1
           && mcp_store_op_visit(&back, &pos, &v) == MCP_STORE_OK
           && v.count == 0 && v.people == 2 && v.bots == 5
           && v.referrer_len == 9 && memcmp(v.referrer, "r.example", 9) == 0,
           "a visit with statistics decodes with them");

    st = test_stats_of(days, 2, refs, 2);

    TAP_OK(test_apply(s, 13, &op, TEST_NODE, 3, &result, &fresh)
           == MCP_STORE_OK && fresh == 1
           && mcp_store_link_get(s, "hot", 3, &link) == MCP_STORE_OK
           && link.visits == 42,
           "applied, they leave the link's count alone (count 0)");
    mcp_store_release(s);

    ok = mcp_store_link_stats_get(s, "hot", 3, 0, &st) == MCP_STORE_OK
         && st.bots == 5 && st.ndays == 1 && days[0].visits == 2
         && days[0].day == 1700000300 / 86400 * 86400
         && st.nreferrers == 1 && refs[0].visits == 2
         && refs[0].host_len == 9;
    mcp_store_release(s);
    TAP_OK(ok, "and count the day, the referrer and the bots");

    mcp_store_close(s);
}


static void
test_corrupt(void)
{
    int               fresh;
    char              dir[PATH_MAX], junk[] = "\x95\x01\x63nope";
    uint64_t          seq;
    mcp_store_t      *s;
    mcp_store_op_t    op;

    s = test_op_open(dir, "corrupt");

    TAP_RC(mcp_store_op_apply(s, 1, junk, sizeof(junk) - 1, TEST_NODE,
                              sizeof(TEST_NODE) - 1, NULL, NULL, &fresh),
           MCP_STORE_OK, "an entry that does not decode");
    TAP_OK(fresh == 1, "is skipped as corrupt");
    TAP_OK(mcp_store_op_applied(s, &seq) == MCP_STORE_OK && seq == 1,
           "and its sequence is passed, so the log goes on");

    op = test_put("", "https://x.example/", "acme", 0);

    TAP_OK(test_outcome(s, 2, &op, TEST_NODE, 1) == MCP_STORE_EINVAL,
           "a put with an empty code is refused on every node");

    op = test_put("code", "https://x.example/", "bad tenant!", 0);

    TAP_OK(test_outcome(s, 3, &op, TEST_NODE, 2) == MCP_STORE_EINVAL,
           "so is one with an invalid tenant");

    TAP_RC(mcp_store_op_apply(s, 0, junk, sizeof(junk) - 1, TEST_NODE,
                              sizeof(TEST_NODE) - 1, NULL, NULL, &fresh),
           MCP_STORE_EINVAL, "sequence 0 is not one");

    mcp_store_close(s);
}


/* Two stores fed the same log end with the same links. */

static void
test_same_log(void)
{
    int                result, fresh, i, n;
    char               dir[PATH_MAX], code[8];
    uint64_t           seq;
    mcp_store_t       *s[2];
    mcp_store_op_t     op;
    mcp_store_link_t   a, b;
    mcp_store_visit_t  v;

    s[0] = test_op_open(dir, "log-a");
    s[1] = test_op_open(dir, "log-b");

    for (n = 0; n < 2; n++) {
        seq = 0;

        for (i = 0; i < 50; i++) {
            snprintf(code, sizeof(code), "c%02d", i % 40);

            op = test_put(code, "https://same.example/", "acme",
                          (uint64_t) (i % 3));
            (void) test_apply(s[n], ++seq, &op, (i % 2) ? TEST_NODE
                                                        : TEST_OTHER,
                              (uint64_t) i, &result, &fresh);

            op = test_op(MCP_STORE_OP_LINK_CONSUME, code);
            op.now = 1700000000 + i;
            (void) test_apply(s[n], ++seq, &op, TEST_OTHER, (uint64_t) i,
                              &result, &fresh);

            v = test_visit(code, (uint64_t) i, 1700000000 + 2 * i);
            op = test_visits_op(&v, 1);
            (void) test_apply(s[n], ++seq, &op, TEST_NODE, (uint64_t) i,
                              &result, &fresh);
        }
    }

    n = 0;

    for (i = 0; i < 40; i++) {
        snprintf(code, sizeof(code), "c%02d", i);

        /* the padding too, for memcmp() */
        memset(&a, 0, sizeof(mcp_store_link_t));
        memset(&b, 0, sizeof(mcp_store_link_t));

        if (mcp_store_link_get(s[0], code, 3, &a) != MCP_STORE_OK) {
            continue;
        }

        a.url = NULL;
        a.tenant = NULL;
        mcp_store_release(s[0]);

        if (mcp_store_link_get(s[1], code, 3, &b) != MCP_STORE_OK) {
            continue;
        }

        b.url = NULL;
        b.tenant = NULL;
        mcp_store_release(s[1]);

        n += (memcmp(&a, &b, sizeof(mcp_store_link_t)) == 0);
    }

    TAP_IS(n, 40, "both stores hold the same 40 links, field for field");

    mcp_store_close(s[0]);
    mcp_store_close(s[1]);
}


static void
test_results_kept(void)
{
    int              result, fresh, rc;
    char             dir[PATH_MAX];
    uint64_t         seq, id;
    mcp_store_t     *s;
    mcp_store_op_t   op;

    s = test_op_open(dir, "results");

    op = test_op(MCP_STORE_OP_LINK_DELETE, "none");
    op.link.tenant = "";

    rc = MCP_STORE_OK;

    for (seq = 1; seq <= MCP_STORE_OP_RESULTS + 100 && rc == MCP_STORE_OK;
         seq++)
    {
        rc = test_apply(s, seq, &op, TEST_NODE, seq, &result, &fresh);
    }

    TAP_RC(rc, MCP_STORE_OK, "%d operations of ours apply",
           MCP_STORE_OP_RESULTS + 100);
    TAP_RC(mcp_store_op_result(s, 1, 0, &id, &result), MCP_STORE_NOTFOUND,
           "the oldest outcomes are let go");
    TAP_OK(mcp_store_op_result(s, MCP_STORE_OP_RESULTS + 100, 0, &id,
                               &result)
           == MCP_STORE_OK && id == MCP_STORE_OP_RESULTS + 100
           && result == MCP_STORE_NOTFOUND, "the newest is kept");
    TAP_RC(mcp_store_op_result(s, 101, 0, &id, &result), MCP_STORE_OK,
           "and so are the last %d", MCP_STORE_OP_RESULTS);

    mcp_store_close(s);
}


/* A batch: several operations in one entry, applied in order, at once. */

static void
test_batch(void)
{
    int               fresh, result;
    char              dir[PATH_MAX], buf[1024];
    size_t            len;
    uint64_t          id;
    mcp_store_t      *s;
    mcp_store_op_t    op;
    test_outcomes_t   o;
    mcp_store_link_t  link;

    s = test_op_open(dir, "batch");

    op = test_put("b1", "https://one.example/", "acme", 1);
    len = test_encode(&op, TEST_NODE, 11, buf, sizeof(buf));

    op = test_put("b1", "https://two.example/", "acme", 0);
    len += test_encode(&op, TEST_OTHER, 12, buf + len, sizeof(buf) - len);

    op = test_op(MCP_STORE_OP_LINK_CONSUME, "b1");
    op.now = 1700000001;
    len += test_encode(&op, TEST_NODE, 13, buf + len, sizeof(buf) - len);

    TAP_RC(test_apply_entry(s, 5, buf, len, &o, &fresh),
           MCP_STORE_OK, "a batch of three operations applies");
    TAP_OK(fresh && o.n == 3 && o.outcome[0] == MCP_STORE_OK
           && o.outcome[1] == MCP_STORE_EXISTS && o.outcome[2] == MCP_STORE_OK
           && o.id[0] == 11 && o.id[1] == 12 && o.id[2] == 13,
           "in order: the first put wins, the second conflicts, the visit "
           "counts");
    TAP_OK(mcp_store_link_get(s, "b1", 2, &link) == MCP_STORE_OK
           && link.visits == 1 && link.url_len == 20,
           "one transaction holds them all");
    mcp_store_release(s);

    TAP_OK(mcp_store_op_result(s, 5, 2, &id, &result) == MCP_STORE_OK
           && id == 13 && result == MCP_STORE_OK,
           "outcomes are kept by sequence and place in the batch");

    TAP_RC(test_apply_entry(s, 5, buf, len, &o, &fresh),
           MCP_STORE_OK, "the batch delivered again");
    TAP_OK(!fresh && o.n == 3 && o.outcome[0] == MCP_STORE_OK
           && o.outcome[1] == -1 && o.outcome[2] == MCP_STORE_OK,
           "hands out our recorded outcomes, none for the other node's");

    mcp_store_close(s);
}


/* Sessions: put, level, touch, expire, delete, as every node applies them */

static void
test_sessions(void)
{
    int                  result, fresh;
    char                 dir[PATH_MAX], buf[512];
    size_t               len, used;
    mcp_store_t         *s;
    mcp_store_op_t       op, back;
    mcp_store_touch_t    touch[2];
    mcp_store_session_t  session;

    s = test_op_open(dir, "sessions");

    op = test_op(MCP_STORE_OP_SESSION_PUT, "s1");
    op.session.created_at = 1700000000;
    op.session.last_seen = 1700000000;
    op.session.protocol = "2025-06-18";
    op.session.protocol_len = 10;
    op.session.client_name = "client";
    op.session.client_name_len = 6;
    op.session.client_version = "1.0";
    op.session.client_version_len = 3;
    op.session.log_level = 3;
    op.session.tenant = "acme";
    op.session.tenant_len = 4;

    len = test_encode(&op, TEST_NODE, 1, buf, sizeof(buf));

    TAP_OK(mcp_store_op_decode(buf, len, &back, &used) == MCP_STORE_OK
           && used == len && back.code_len == 2
           && back.session.protocol_len == 10
           && memcmp(back.session.client_name, "client", 6) == 0
           && back.session.log_level == 3 && back.session.tenant_len == 4,
           "a session put decodes with every field");

    TAP_OK(test_outcome(s, 1, &op, TEST_NODE, 1) == MCP_STORE_OK,
           "a session put applies");

    TAP_OK(mcp_store_session_get(s, "s1", 2, &session) == MCP_STORE_OK
           && session.created_at == 1700000000 && session.log_level == 3
           && session.client_version_len == 3
           && memcmp(session.tenant, "acme", 4) == 0,
           "the session is there as sent");
    mcp_store_release(s);

    TAP_OK(test_outcome(s, 2, &op, TEST_OTHER, 1) == MCP_STORE_EXISTS,
           "the same id again conflicts");

    op.kind = MCP_STORE_OP_SESSION_LEVEL;
    op.session.log_level = 6;

    TAP_OK(test_outcome(s, 3, &op, TEST_NODE, 2) == MCP_STORE_OK,
           "a level change applies");
    TAP_OK(mcp_store_session_get(s, "s1", 2, &session) == MCP_STORE_OK
           && session.log_level == 6 && session.protocol_len == 10
           && session.last_seen == 1700000000,
           "and changes the level only");
    mcp_store_release(s);

    touch[0] = test_touch("s1", 1700000600);
    touch[1] = test_touch("gone", 1700000600);

    op = test_op(MCP_STORE_OP_SESSION_TOUCH, NULL);
    op.touches = touch;
    op.nitems = 2;

    TAP_OK(test_outcome(s, 4, &op, TEST_NODE, 3) == MCP_STORE_OK,
           "a touch batch naming a missing session applies");

    touch[0].last_seen = 1700000300;

    (void) test_apply(s, 5, &op, TEST_OTHER, 3, &result, &fresh);

    TAP_OK(mcp_store_session_get(s, "s1", 2, &session) == MCP_STORE_OK
           && session.last_seen == 1700000600,
           "last_seen is raised, and never goes back");
    mcp_store_release(s);

    op = test_op(MCP_STORE_OP_SESSION_PUT, "s2");
    op.session.last_seen = 1700000100;
    op.session.tenant = "acme";
    op.session.tenant_len = 4;
    (void) test_apply(s, 6, &op, TEST_NODE, 4, &result, &fresh);

    op.code = "s3";
    (void) test_apply(s, 7, &op, TEST_NODE, 5, &result, &fresh);

    op = test_op(MCP_STORE_OP_SESSION_EXPIRE, NULL);
    op.now = 1700000500;
    op.max = 1;

    TAP_OK(test_outcome(s, 8, &op, TEST_OTHER, 6) == MCP_STORE_OK,
           "an expiry of one idle session applies");
    TAP_OK(mcp_store_session_get(s, "s2", 2, &session) == MCP_STORE_NOTFOUND
           && mcp_store_session_get(s, "s3", 2, &session) == MCP_STORE_OK,
           "the first idle one in id order goes, the next stays");
    mcp_store_release(s);

    op.max = 10;
    (void) test_apply(s, 9, &op, TEST_OTHER, 7, &result, &fresh);

    TAP_OK(mcp_store_session_get(s, "s3", 2, &session) == MCP_STORE_NOTFOUND
           && mcp_store_session_get(s, "s1", 2, &session) == MCP_STORE_OK,
           "a larger one takes the other idle one, not the active one");
    mcp_store_release(s);

    op = test_op(MCP_STORE_OP_SESSION_DELETE, "s1");

    TAP_OK(test_apply(s, 10, &op, TEST_NODE, 8, &result, &fresh)
           == MCP_STORE_OK && result == MCP_STORE_OK
           && mcp_store_session_get(s, "s1", 2, &session)
              == MCP_STORE_NOTFOUND,
           "a session delete applies");
    TAP_OK(test_outcome(s, 11, &op, TEST_NODE, 9) == MCP_STORE_NOTFOUND,
           "deleting it again finds nothing");

    op.kind = MCP_STORE_OP_SESSION_LEVEL;

    TAP_OK(test_outcome(s, 12, &op, TEST_NODE, 10) == MCP_STORE_NOTFOUND,
           "nor does a level change of a deleted session");

    mcp_store_close(s);
}


/* whether the context is there: mcp_store_context_get()'s return */

static int
test_context(mcp_store_t *s, const mcp_store_scope_t *sc, const char *id)
{
    int                   rc;
    mcp_store_txn_t      *t;
    mcp_store_context_t   c;

    t = test_begin_txn(s, MCP_STORE_RDONLY);
    rc = mcp_store_context_get(t, sc, id, strlen(id), &c);
    mcp_store_txn_abort(t);

    return rc;
}


/* a MEMORY operation of the scope acme/ns over steps */

static mcp_store_op_t
test_memory_op(const mcp_store_step_t *steps, size_t n)
{
    mcp_store_op_t  op;

    op = test_op(MCP_STORE_OP_MEMORY, NULL);
    op.scope.tenant = "acme";
    op.scope.tenant_len = 4;
    op.scope.ns = "ns";
    op.scope.ns_len = 2;
    op.now = 1700000000;
    op.steps = steps;
    op.nitems = n;

    return op;
}


static mcp_store_step_t
test_step(unsigned kind, const char *name, const char *type,
    const char *text)
{
    mcp_store_step_t  st;

    memset(&st, 0, sizeof(mcp_store_step_t));

    st.kind = kind;
    st.name = name;
    st.name_len = strlen(name);
    st.type = type;
    st.type_len = type ? strlen(type) : 0;
    st.text = text;
    st.text_len = text ? strlen(text) : 0;

    return st;
}


/*
 * Memory and context tool calls as operations: all steps or none, what
 * they did handed out (and recorded for a sibling process), the same
 * store on two nodes.
 */

static void
test_memory(void)
{
    int                       fresh, got, any;
    char                      dir[PATH_MAX], buf[4096];
    size_t                    len, total;
    uint64_t                  id;
    mcp_store_t              *s, *s2;
    mcp_store_op_t            op;
    mcp_store_txn_t          *t;
    mcp_store_step_t          st[4];
    test_outcomes_t           o;
    mcp_store_quota_t         q;
    mcp_store_entity_t        e;
    mcp_store_scope_t         sc;
    mcp_store_observation_t   obs[4], texts[1];

    s = test_op_open(dir, "memory");
    s2 = test_op_open(dir, "memory2");

    texts[0].text = "likes tea";
    texts[0].text_len = 9;
    texts[0].created_at = 0;

    st[0] = test_step(MCP_STORE_STEP_ENTITY_CREATE, "alice", "person", NULL);
    st[0].texts = texts;
    st[0].ntexts = 1;
    st[1] = test_step(MCP_STORE_STEP_RELATION_CREATE, "alice", "knows",
                      "bob");
    st[2] = test_step(MCP_STORE_STEP_OBS_ADD, "alice", NULL, "likes tea");
    st[3] = test_step(MCP_STORE_STEP_MESSAGE_APPEND, "chat", NULL, "hello");
    st[3].role = MCP_STORE_ROLE_USER;

    op = test_memory_op(st, 4);
    len = test_encode(&op, TEST_NODE, 21, buf, sizeof(buf));

    TAP_RC(test_apply_entry(s, 1, buf, len, &o, &fresh),
           MCP_STORE_OK, "a memory operation applies");
    TAP_OK(o.n == 1 && o.outcome[0] == MCP_STORE_OK && o.ndetail == 8
           && o.detail[0] == 1 && o.detail[1] == 1 && o.detail[2] == 0
           && o.detail[3] == 1 && o.detail[4] == 1,
           "its steps tell what they did: created, created, already there, "
           "appended as message 1");

    sc = op.scope;
    t = test_begin_txn(s, MCP_STORE_RDONLY);
    e.observations = obs;
    TAP_OK(mcp_store_entity_get(t, &sc, "alice", 5, &e, 4, &total)
           == MCP_STORE_OK && total == 1 && e.created_at == 1700000000
           && obs[0].created_at == 1700000000,
           "the entity is there, at the operation's time");
    mcp_store_txn_abort(t);
    TAP_RC(test_context(s, &sc, "chat"), MCP_STORE_OK, "and the message");

    TAP_RC(test_apply_entry(s, 1, buf, len, &o, &fresh),
           MCP_STORE_OK, "delivered again");
    TAP_OK(!fresh && o.n == 1 && o.outcome[0] == MCP_STORE_OK
           && o.ndetail == 8 && o.detail[4] == 1,
           "a sibling process gets the recorded detail");

    TAP_OK(test_outcome(s2, 1, &op, TEST_OTHER, 21) == MCP_STORE_OK,
           "another node applies the same operation");

    /* a failing step undoes the steps before it */

    st[0] = test_step(MCP_STORE_STEP_ENTITY_DELETE, "alice", NULL, NULL);
    st[1] = test_step(MCP_STORE_STEP_OBS_ADD, "nobody", NULL, "x");

    op = test_memory_op(st, 2);
    len = test_encode(&op, TEST_NODE, 22, buf, sizeof(buf));

    TAP_RC(test_apply_entry(s, 2, buf, len, &o, &fresh),
           MCP_STORE_OK, "an operation with a failing step is applied");
    TAP_OK(o.n == 1 && o.outcome[0] == MCP_STORE_NOTFOUND && o.ndetail == 1
           && o.detail[0] == 1,
           "as its failure, naming the step that failed");

    t = test_begin_txn(s, MCP_STORE_RDONLY);
    TAP_OK(mcp_store_entity_get(t, &sc, "alice", 5, &e, 4, NULL)
           == MCP_STORE_OK, "and nothing of it is kept");
    mcp_store_txn_abort(t);

    TAP_OK(mcp_store_op_result(s, 2, 0, &id, &got) == MCP_STORE_OK
           && id == 22 && got == MCP_STORE_NOTFOUND,
           "its outcome is recorded");

    /* quotas: none at apply, the taking node's before publishing */

    memset(&q, 0, sizeof(mcp_store_quota_t));
    q.tenant = "acme";
    q.tenant_len = 4;
    q.limit[MCP_STORE_QUOTA_ENTITIES] = 1;

    mcp_store_quota_set(s, &q, 1);

    st[0] = test_step(MCP_STORE_STEP_ENTITY_CREATE, "carol", "person",
                      NULL);
    op = test_memory_op(st, 1);

    TAP_RC(mcp_store_op_check(s, &op), MCP_STORE_QUOTA,
           "a create over the node's quota is refused before it is "
           "published");
    TAP_OK(test_outcome(s, 3, &op, TEST_OTHER, 23) == MCP_STORE_OK,
           "but applied, as every node applies it, if it is in the log");

    mcp_store_quota_set(s, NULL, 0);

    t = test_begin_txn(s, MCP_STORE_RDONLY);
    TAP_OK(mcp_store_entity_get(t, &sc, "carol", 5, &e, 4, NULL)
           == MCP_STORE_OK, "so carol exists");
    mcp_store_txn_abort(t);

    TAP_RC(mcp_store_op_check(s, &op), MCP_STORE_OK,
           "without quotas, nothing is checked");

    /* an expiry: deterministic, from the operation's time */

    st[0] = test_step(MCP_STORE_STEP_MESSAGE_APPEND, "short", NULL, "bye");
    st[0].ttl = 10;
    op = test_memory_op(st, 1);
    TAP_OK(test_outcome(s, 4, &op, TEST_OTHER, 24) == MCP_STORE_OK,
           "a context with a ttl");

    op = test_op(MCP_STORE_OP_CONTEXT_EXPIRE, NULL);
    op.now = 1700000005;
    op.max = 100;
    TAP_OK(test_outcome(s, 5, &op, TEST_OTHER, 25) == MCP_STORE_OK,
           "an expiry before its time");

    TAP_RC(test_context(s, &sc, "short"), MCP_STORE_OK, "keeps it");

    TAP_OK(mcp_store_context_expired(s, 1700000011, &any) == MCP_STORE_OK
           && any, "a node sees an expired context left to remove");

    op.now = 1700000011;
    TAP_OK(test_outcome(s, 6, &op, TEST_OTHER, 26) == MCP_STORE_OK,
           "an expiry after it");
    TAP_OK(mcp_store_context_expired(s, 1700000011, &any) == MCP_STORE_OK
           && !any, "and then none");

    TAP_RC(test_context(s, &sc, "short"), MCP_STORE_NOTFOUND,
           "removes it");

    mcp_store_close(s2);
    mcp_store_close(s);
}


/*
 * What a later version may send: fields at the end are skipped, kinds of
 * operations and steps not known are refused alone.
 */

static void
test_versions(void)
{
    int               fresh;
    char              dir[PATH_MAX], buf[256];
    size_t            len, used;
    mcp_store_t      *s;
    mcp_store_op_t    op;
    test_outcomes_t   o;
    mcp_store_link_t  link;
    mcp_store_step_t  st;

    s = test_op_open(dir, "versions");

    /* [1, 99, "node-a", 5, "x"]: a kind from the future */

    len = 0;
    memcpy(buf, "\x95\x01\x63\xa6node-a\x05\xa1x", 13);
    len = 13;

    /* a put with one more field: [1, 1, node, 6, code, url, 0, 0, 0, "",
     * "new"] */

    op = test_put("v1", "https://v.example/", "", 0);
    used = test_encode(&op, TEST_NODE, 6, buf + len, sizeof(buf) - len);
    buf[len] = (char) 0x9b;             /* fixarray of 11, not 10 */
    memcpy(buf + len + used, "\xa3new", 4);
    len += used + 4;

    TAP_RC(mcp_store_op_decode(buf, 13, &op, &used), MCP_STORE_OK,
           "an operation of an unknown kind decodes");
    TAP_OK(used == 13 && op.kind == 99 && op.id == 5, "as its head");

    TAP_RC(test_apply_entry(s, 1, buf, len, &o, &fresh),
           MCP_STORE_OK, "an entry with both applies");
    TAP_OK(o.n == 2 && o.outcome[0] == MCP_STORE_EINVAL
           && o.outcome[1] == MCP_STORE_OK,
           "the unknown kind is refused, the put with a new field is "
           "applied");
    TAP_OK(mcp_store_link_get(s, "v1", 2, &link) == MCP_STORE_OK,
           "the link is there");
    mcp_store_release(s);

    st = test_step(77, "x", NULL, NULL);
    op = test_memory_op(&st, 1);
    TAP_OK(test_outcome(s, 2, &op, TEST_NODE, 7) == MCP_STORE_EINVAL,
           "a step of an unknown kind refuses its operation");

    mcp_store_close(s);
}


static void
test_link_update(void)
{
    char              dir[PATH_MAX];
    mcp_store_t      *s;
    mcp_store_op_t    op;
    mcp_store_link_t  link;

    s = test_op_open(dir, "update");

    op = test_put("u1", "https://old.example/", "acme", 0);
    TAP_OK(test_outcome(s, 1, &op, TEST_NODE, 1) == MCP_STORE_OK, "a link");

    op = test_op(MCP_STORE_OP_LINK_UPDATE, "u1");
    op.link = test_link_of("other", "https://new.example/");
    op.set = MCP_STORE_LINK_SET_URL;
    TAP_OK(test_outcome(s, 2, &op, TEST_NODE, 2) == MCP_STORE_NOTFOUND,
           "another tenant's update finds nothing");

    op.link = test_link_of("acme", "https://new.example/");
    op.set = MCP_STORE_LINK_SET_URL | MCP_STORE_LINK_SET_MAX_VISITS;
    op.link.max_visits = 3;
    TAP_OK(test_outcome(s, 3, &op, TEST_NODE, 3) == MCP_STORE_OK,
           "the owner's is applied");
    TAP_OK(mcp_store_link_get(s, "u1", 2, &link) == MCP_STORE_OK
           && link.url_len == 20 && memcmp(link.url, "https://new", 11) == 0
           && link.max_visits == 3 && link.created_at == 1700000000,
           "with the fields it sets, the others kept");
    mcp_store_release(s);

    op.set = MCP_STORE_LINK_SET_TAGS | MCP_STORE_LINK_SET_STATUS;
    op.link.tags = "x,y";
    op.link.tags_len = 3;
    op.link.redirect_status = 308;
    TAP_OK(test_outcome(s, 4, &op, TEST_NODE, 4) == MCP_STORE_OK
           && mcp_store_link_get(s, "u1", 2, &link) == MCP_STORE_OK
           && link.redirect_status == 308 && link.tags_len == 3
           && memcmp(link.tags, "x,y", 3) == 0 && link.max_visits == 3,
           "an update of the tags and status carries them");
    mcp_store_release(s);

    op.set = MCP_STORE_LINK_SET_TAGS;
    op.link.tags_len = 0;
    TAP_OK(test_outcome(s, 5, &op, TEST_NODE, 5) == MCP_STORE_OK
           && mcp_store_link_get(s, "u1", 2, &link) == MCP_STORE_OK
           && link.tags_len == 0 && link.redirect_status == 308
           && link.updated_at == 0,
           "and one that clears the tags keeps the status; without a time "
           "of its own, updated_at stays");
    mcp_store_release(s);

    /* the time travels with status and tags the set does not name */

    op.set = MCP_STORE_LINK_SET_URL;
    op.link.tags = "z";
    op.link.tags_len = 1;
    op.link.redirect_status = 0;
    op.link.updated_at = 1800000000;
    TAP_OK(test_outcome(s, 6, &op, TEST_NODE, 6) == MCP_STORE_OK
           && mcp_store_link_get(s, "u1", 2, &link) == MCP_STORE_OK
           && link.updated_at == 1800000000 && link.tags_len == 0
           && link.redirect_status == 308 && link.created_at == 1700000000,
           "an update's time is stored as the operation says, the fields "
           "it does not set kept");
    mcp_store_release(s);

    mcp_store_close(s);
}


/* an operation encoded at the end of buf (len bytes so far) */

static size_t
test_append(mcp_store_op_t *op, uint64_t id, char *buf, size_t len,
    size_t size)
{
    return len + test_encode(op, TEST_NODE, id, buf + len, size - len);
}


/* a group commit whose outcomes are then told to cb, as the module's:
 * MCP_STORE_OK only if it committed and told every operation, n of
 * them */

static int
test_commit_told(mcp_store_t *s, const char *buf, size_t len, size_t n,
    mcp_store_op_cb cb, void *data)
{
    int  rc;

    rc = mcp_store_op_commit(s, buf, len);
    if (rc != MCP_STORE_OK) {
        return rc;
    }

    return (mcp_store_op_committed(s, cb, data) == n) ? MCP_STORE_OK
                                                      : MCP_STORE_EIO;
}


/*
 * A single node's group commit (mcp_store_op_commit()): many operations
 * in one transaction, each nested, so that one refused (a taken code, a
 * failing step, a full store) leaves the others; nothing of the log is
 * recorded.
 */

static void
test_commit(void)
{
    char               dir[PATH_MAX], *buf, *big;
    size_t             len, size;
    uint64_t           seq;
    mcp_store_t       *s;
    mcp_store_op_t     op;
    mcp_store_txn_t   *t;
    mcp_store_link_t   link;
    mcp_store_step_t   st[3];
    test_outcomes_t    o;
    mcp_store_entity_t e;

    memset(&e, 0, sizeof(mcp_store_entity_t));

    size = 256 * 1024;
    buf = malloc(size);
    big = malloc(60000);
    if (buf == NULL || big == NULL) {
        tap_bail("malloc");
    }

    memset(big, 'x', 60000);

    s = test_op_open(dir, "commit");

    len = 0;
    op = test_put("gc1", "https://example.com/1", "acme", 0);
    len = test_append(&op, 1, buf, len, size);
    op = test_put("gc1", "https://example.com/again", "acme", 0);
    len = test_append(&op, 2, buf, len, size);

    st[0] = test_step(MCP_STORE_STEP_ENTITY_CREATE, "carol", "person", NULL);
    st[1] = test_step(MCP_STORE_STEP_OBS_ADD, "nobody", NULL, "x");
    op = test_memory_op(st, 2);
    len = test_append(&op, 3, buf, len, size);

    op = test_put("gc2", "https://example.com/2", "acme", 0);
    len = test_append(&op, 4, buf, len, size);

    st[0] = test_step(MCP_STORE_STEP_ENTITY_CREATE, "dave", "person", NULL);
    op = test_memory_op(st, 1);
    len = test_append(&op, 5, buf, len, size);

    o.n = 0;
    TAP_RC(test_commit_told(s, buf, len, 5, test_collect, &o), MCP_STORE_OK,
           "a batch of five operations is committed, each told");
    TAP_OK(o.n == 5 && o.id[0] == 1 && o.id[4] == 5
           && o.outcome[0] == MCP_STORE_OK
           && o.outcome[1] == MCP_STORE_EXISTS
           && o.outcome[2] == MCP_STORE_NOTFOUND
           && o.outcome[3] == MCP_STORE_OK
           && o.outcome[4] == MCP_STORE_OK,
           "each with its own outcome, in order");
    TAP_OK(o.ndetail == 1 && o.detail[0] == 1,
           "a memory operation tells what its step did");

    TAP_OK(mcp_store_link_get(s, "gc1", 3, &link) == MCP_STORE_OK
           && link.url_len == 21
           && memcmp(link.url, "https://example.com/1", 21) == 0,
           "the first put of a code keeps it");
    TAP_RC(mcp_store_link_get(s, "gc2", 3, &link), MCP_STORE_OK,
           "the operations after refused ones are kept");

    op = test_memory_op(st, 1);
    t = test_begin_txn(s, MCP_STORE_RDONLY);
    TAP_OK(mcp_store_entity_get(t, &op.scope, "carol", 5, &e, 0, NULL)
           == MCP_STORE_NOTFOUND
           && mcp_store_entity_get(t, &op.scope, "dave", 4, &e, 0, NULL)
              == MCP_STORE_OK,
           "the failed operation's first step is undone, the next one kept");
    mcp_store_txn_abort(t);

    TAP_OK(mcp_store_op_applied(s, &seq) == MCP_STORE_OK && seq == 0,
           "nothing of a log is recorded");

    /* a commit that fails as a whole (the handle's own write transaction
     * is open: it cannot begin one) tells nothing, not even what the
     * commit before it told */

    t = test_begin_txn(s, 0);
    o.n = 0;
    TAP_RC(mcp_store_op_commit(s, buf, len), MCP_STORE_EBUSY,
           "a commit that cannot begin its transaction fails");
    TAP_OK(mcp_store_op_committed(s, test_collect, &o) == 0 && o.n == 0,
           "and tells no operation");
    mcp_store_txn_abort(t);

    mcp_store_close(s);

    /* a full store refuses the operation that fills it, not the others */

    s = test_open(test_dir(dir, "commit-full"), 128 * 1024, MCP_STORE_NOSYNC);
    if (s == NULL) {
        tap_bail("open");
    }

    len = 0;
    op = test_put("f1", "https://example.com/f1", "acme", 0);
    len = test_append(&op, 1, buf, len, size);

    st[0] = test_step(MCP_STORE_STEP_MESSAGE_APPEND, "chat", NULL, NULL);
    st[0].role = MCP_STORE_ROLE_USER;
    st[0].text = big;
    st[0].text_len = 60000;
    st[1] = st[0];
    st[2] = st[0];
    op = test_memory_op(st, 3);
    len = test_append(&op, 2, buf, len, size);

    op = test_put("f2", "https://example.com/f2", "acme", 0);
    len = test_append(&op, 3, buf, len, size);

    o.n = 0;
    TAP_RC(test_commit_told(s, buf, len, 3, test_collect, &o), MCP_STORE_OK,
           "a batch with an operation too large for the map is committed");
    TAP_OK(o.n == 3 && o.outcome[0] == MCP_STORE_OK
           && o.outcome[1] == MCP_STORE_FULL && o.outcome[2] == MCP_STORE_OK,
           "that operation is refused as full, the others are not");
    TAP_OK(mcp_store_link_get(s, "f1", 2, &link) == MCP_STORE_OK
           && mcp_store_link_get(s, "f2", 2, &link) == MCP_STORE_OK,
           "and both links around it are there");

    mcp_store_close(s);

    free(buf);
    free(big);
}


/*
 * A handle commits batch after batch, keeping the room it took for the
 * operations of one for the next: a batch larger than any before, then
 * a smaller one, each hands out every operation, in order, as decoded
 * from its own data.  Each code is put twice in a row: the second put is
 * refused (MCP_STORE_EXISTS), the first kept.
 */

static void
test_commit_again(void)
{
    char            dir[PATH_MAX], *buf, code[16];
    size_t          len, size, i, n, round;
    mcp_store_t    *s;
    mcp_store_op_t  op;
    test_told_t     t;

    static const size_t  ops[] = { 300, 6, 20 };

    size = 256 * 1024;
    buf = malloc(size);
    if (buf == NULL) {
        tap_bail("malloc");
    }

    s = test_op_open(dir, "commit-again");

    for (round = 0, n = 0; round < 3; round++) {
        len = 0;

        for (i = 1; i <= ops[round]; i++) {
            snprintf(code, sizeof(code), "b%zu", n + (i + 1) / 2);
            op = test_put(code, "https://example.com/again", "acme", 0);
            len = test_append(&op, i, buf, len, size);
        }

        t.base = n;
        t.n = 0;
        t.wrong = 0;

        TAP_OK(test_commit_told(s, buf, len, ops[round], test_told, &t)
               == MCP_STORE_OK
               && t.n == ops[round] && t.wrong == 0,
               "a batch of %zu operations after %zu tells each its own",
               ops[round], n);

        n += ops[round] / 2;
    }

    mcp_store_close(s);
    free(buf);
}


/*
 * Link puts are applied in the batch's transaction itself, not nested;
 * one that would take the store past its reserve cannot be undone alone
 * there, so the batch starts over with each operation nested: the puts
 * that fill the store are refused, each alone, the ones before them and
 * the taken codes among them told as if nested from the start.
 */

typedef struct {
    size_t    n;
    size_t    ok;
    size_t    full;
    size_t    exists;
    size_t    other;
    int       outcome[64];
} test_full_t;


static void
test_full_told(void *data, const mcp_store_op_t *op, int outcome,
    const uint64_t *detail, size_t ndetail)
{
    test_full_t  *f = data;

    (void) op;
    (void) detail;
    (void) ndetail;

    if (f->n < 64) {
        f->outcome[f->n] = outcome;
    }

    f->n++;

    switch (outcome) {
    case MCP_STORE_OK:
        f->ok++;
        break;
    case MCP_STORE_FULL:
        f->full++;
        break;
    case MCP_STORE_EXISTS:
        f->exists++;
        break;
    default:
        f->other++;
    }
}


static void
test_commit_full(void)
{
    char               dir[PATH_MAX], *buf, *url, code[16];
    size_t             len, size, i, kept;
    mcp_store_t       *s;
    mcp_store_op_t     op;
    mcp_store_link_t   link;
    test_full_t        f;

    size = 256 * 1024;
    buf = malloc(size);
    url = malloc(1501);
    if (buf == NULL || url == NULL) {
        tap_bail("malloc");
    }

    memcpy(url, "https://example.com/", 20);
    memset(url + 20, 'u', 1480);
    url[1500] = '\0';

    s = test_open(test_dir(dir, "commit-puts-full"), 128 * 1024,
                  MCP_STORE_NOSYNC);
    if (s == NULL) {
        tap_bail("open");
    }

    /* 64 puts of 1,500-byte links, more than the map holds; every
     * eighth a code put just before (taken) */

    len = 0;

    for (i = 0; i < 64; i++) {
        snprintf(code, sizeof(code), "p%zu", (i % 8 == 7) ? i - 1 : i);
        op = test_put(code, url, "acme", 0);
        len = test_append(&op, i + 1, buf, len, size);
    }

    memset(&f, 0, sizeof(test_full_t));

    TAP_RC(test_commit_told(s, buf, len, 64, test_full_told, &f),
           MCP_STORE_OK, "a batch of puts that fills the store is committed");
    TAP_OK(f.n == 64 && f.ok > 0 && f.full > 0 && f.exists > 0
           && f.other == 0 && f.outcome[0] == MCP_STORE_OK
           && f.outcome[7] == MCP_STORE_EXISTS,
           "each put told: kept, taken or refused as full (%zu, %zu, %zu)",
           f.ok, f.exists, f.full);

    for (i = 0, kept = 0; i < 64; i++) {
        snprintf(code, sizeof(code), "p%zu", i);

        if (i % 8 == 7) {
            /* taken if the put before it was kept */
            kept += (f.outcome[i] == MCP_STORE_EXISTS)
                    == (f.outcome[i - 1] == MCP_STORE_OK)
                    && mcp_store_link_get(s, code, strlen(code), &link)
                       == MCP_STORE_NOTFOUND;

        } else if (mcp_store_link_get(s, code, strlen(code), &link)
                   == (f.outcome[i] == MCP_STORE_OK ? MCP_STORE_OK
                                                    : MCP_STORE_NOTFOUND))
        {
            kept++;
        }
    }

    TAP_OK(kept == 64,
           "the links kept are exactly the puts told so, a code taken "
           "exactly when kept before");

    mcp_store_close(s);
    free(buf);
    free(url);
}
