/*
 * What the store's test programs share (test_lib.c).
 */

#ifndef _TEST_LIB_H_INCLUDED_
#define _TEST_LIB_H_INCLUDED_


#include <sys/types.h>
#include <stdarg.h>

#include "mcp_store_int.h"


#if defined(__GNUC__) || defined(__clang__)
#define TEST_NORETURN    __attribute__((noreturn))
#define TEST_PRINTF(f, a)  __attribute__((format(printf, f, a)))
#else
#define TEST_NORETURN
#define TEST_PRINTF(f, a)
#endif


/* a literal and its length, NULs inside counted */
#define TEST_STR(s)      s, sizeof(s) - 1


/* TAP */

#define TAP_OK(cond, ...)                                                     \
    tap_ok((cond) != 0, __FILE__, __LINE__, __VA_ARGS__)

#define TAP_RC(got, want, ...)                                                \
    tap_rc((got), (want), __FILE__, __LINE__, __VA_ARGS__)

#define TAP_IS(got, want, ...)                                                \
    tap_is((unsigned long long) (got), (unsigned long long) (want),         \
           __FILE__, __LINE__, __VA_ARGS__)


extern unsigned  tap_run;
extern unsigned  tap_failed;

/* the directory every test directory goes under */
extern char      test_root[1024];


void tap_vline(int pass, const char *file, int line, const char *fmt,
    va_list args);
int tap_ok(int pass, const char *file, int line, const char *fmt, ...)
    TEST_PRINTF(4, 5);
int tap_rc(int got, int want, const char *file, int line, const char *fmt,
    ...) TEST_PRINTF(5, 6);
int tap_is(unsigned long long got, unsigned long long want, const char *file,
    int line, const char *fmt, ...) TEST_PRINTF(5, 6);
void tap_diag(const char *fmt, ...) TEST_PRINTF(1, 2);
void tap_bail(const char *fmt, ...) TEST_PRINTF(1, 2) TEST_NORETURN;


/* line-buffered stdout, test_setup(), then the plan line */
void test_init(unsigned plan);
void test_setup(void);
void test_cleanup(void);
int test_finish(unsigned plan);
void test_rmrf(const char *path);
const char *test_dir(char *buf, const char *name);
mcp_store_t *test_open(const char *dir, size_t map_size, unsigned flags);
int test_raw_open(const char *dir, const char *db, unsigned flags,
    MDB_env **env, MDB_txn **txn, MDB_dbi *dbi);
int test_raw_close(MDB_env *env, MDB_txn *txn, int rc);
int test_wait(pid_t pid);

/* a transaction on s (flags as mcp_store_txn_begin()'s), or bail out */
mcp_store_txn_t *test_begin_txn(mcp_store_t *s, unsigned flags);

/* the records of one of the handle's databases, in t's view */
size_t test_entries(mcp_store_txn_t *t, MDB_dbi dbi);

/* a link of tenant's to url, every other field 0 */
mcp_store_link_t test_link_of(const char *tenant, const char *url);

/* count visits to code, the last at last_visit */
mcp_store_visit_t test_visit(const char *code, uint64_t count,
    int64_t last_visit);

/* a touch of session id at last_seen */
mcp_store_touch_t test_touch(const char *id, int64_t last_seen);

/* a statistics read into days (ndays of them) and refs (nrefs) */
mcp_store_link_stats_t test_stats_of(mcp_store_day_t *days, size_t ndays,
    mcp_store_referrer_t *refs, size_t nrefs);

/* the relation (from, type, to), created_at 0 */
mcp_store_relation_t test_rel(const char *from, const char *type,
    const char *to);


/* what a list callback saw, comma-separated: "a,b,c" */
typedef struct {
    size_t     calls;
    size_t     stop_at;         /* the callback returns 1 on this call
                                   (1-based) */
    char       seen[4096];
} test_seen_t;

void test_seen_init(test_seen_t *l, size_t stop_at);

/* adds one item to l->seen; returns what the callback returns */
int test_seen_add(test_seen_t *l, const char *fmt, ...) TEST_PRINTF(2, 3);


#endif /* _TEST_LIB_H_INCLUDED_ */
