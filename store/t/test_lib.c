/*
 * What the store's test programs share: TAP output, one mkdtemp() root
 * for their directories, opening stores, raw LMDB access and children.
 */

#define _POSIX_C_SOURCE  200809L

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_lib.h"


unsigned  tap_run;
unsigned  tap_failed;
char      test_root[1024];


/*
 * Removes the root, checks the plan, and returns the exit status of the
 * program.
 */

int
test_finish(unsigned plan)
{
    test_cleanup();

    if (tap_run != plan) {
        tap_diag("planned %u tests but ran %u", plan, tap_run);
        return 1;
    }

    if (tap_failed) {
        tap_diag("failed %u of %u tests", tap_failed, tap_run);
        return 1;
    }

    return 0;
}


/*
 * Every program's opening: TAP lines reach prove as they are printed (a
 * crash keeps the lines before it), the test directory, then the plan.
 */

void
test_init(unsigned plan)
{
    setvbuf(stdout, NULL, _IOLBF, 0);

    test_setup();

    printf("1..%u\n", plan);
}


void
test_setup(void)
{
    const char  *tmp;

    tmp = getenv("TMPDIR");
    if (tmp == NULL || tmp[0] == '\0') {
        tmp = "/tmp";
    }

    snprintf(test_root, sizeof(test_root), "%s/mcp_store_test.XXXXXX", tmp);

    if (mkdtemp(test_root) == NULL) {
        printf("Bail out! mkdtemp(\"%s\"): %s\n", test_root,
               strerror(errno));
        exit(1);
    }
}


void
test_cleanup(void)
{
    struct stat  st;

    test_rmrf(test_root);

    TAP_OK(lstat(test_root, &st) == -1 && errno == ENOENT,
           "cleanup: the test directory is removed");
}


void
test_rmrf(const char *path)
{
    DIR            *d;
    char            sub[PATH_MAX];
    struct stat     st;
    struct dirent  *de;

    if (lstat(path, &st) == -1) {
        return;
    }

    if (!S_ISDIR(st.st_mode)) {
        (void) unlink(path);
        return;
    }

    d = opendir(path);

    if (d != NULL) {
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            {
                continue;
            }

            snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
            test_rmrf(sub);
        }

        closedir(d);
    }

    (void) rmdir(path);
}


const char *
test_dir(char *buf, const char *name)
{
    snprintf(buf, PATH_MAX, "%s/%s", test_root, name);

    if (mkdir(buf, 0700) == -1) {
        tap_bail("mkdir(\"%s\"): %s", buf, strerror(errno));
    }

    return buf;
}


mcp_store_t *
test_open(const char *dir, size_t map_size, unsigned flags)
{
    int           rc;
    char          err[512];
    mcp_store_t  *s;

    rc = mcp_store_open(&s, dir, map_size, flags, err, sizeof(err));
    if (rc != MCP_STORE_OK) {
        tap_diag("open(\"%s\"): %s", dir, err);
        return NULL;
    }

    return s;
}


/*
 * Opens dir with raw LMDB and begins a transaction on its database db;
 * test_raw_close() ends both.
 */

int
test_raw_open(const char *dir, const char *db, unsigned flags, MDB_env **env,
    MDB_txn **txn, MDB_dbi *dbi)
{
    int  rc;

    rc = mdb_env_create(env);
    if (rc != 0) {
        return rc;
    }

    rc = mdb_env_set_maxdbs(*env, 16);

    if (rc == 0) {
        rc = mdb_env_open(*env, dir, flags, 0600);
    }

    if (rc == 0) {
        rc = mdb_txn_begin(*env, NULL, flags, txn);

        if (rc == 0) {
            rc = mdb_dbi_open(*txn, db, (flags & MDB_RDONLY) ? 0 : MDB_CREATE,
                              dbi);
            if (rc != 0) {
                mdb_txn_abort(*txn);
            }
        }
    }

    if (rc != 0) {
        mdb_env_close(*env);
    }

    return rc;
}


int
test_raw_close(MDB_env *env, MDB_txn *txn, int rc)
{
    if (rc == 0) {
        rc = mdb_txn_commit(txn);
    } else {
        mdb_txn_abort(txn);
    }

    mdb_env_close(env);

    return rc;
}


int
test_wait(pid_t pid)
{
    int  status;

    if (pid == -1) {
        tap_diag("fork: %s", strerror(errno));
        return -1;
    }

    while (waitpid(pid, &status, 0) == -1) {
        if (errno != EINTR) {
            tap_diag("waitpid: %s", strerror(errno));
            return -1;
        }
    }

    if (!WIFEXITED(status)) {
        tap_diag("child %d ended by signal %d", (int) pid,
                 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        return -1;
    }

    return WEXITSTATUS(status);
}


void
tap_vline(int pass, const char *file, int line, const char *fmt,
    va_list args)
{
    tap_run++;

    if (!pass) {
        tap_failed++;
    }

    printf("%sok %u - ", pass ? "" : "not ", tap_run);
    vprintf(fmt, args);
    printf("\n");

    if (!pass) {
        printf("#   Failed test at %s line %d.\n", file, line);
    }
}


int
tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    tap_vline(pass, file, line, fmt, args);
    va_end(args);

    return pass;
}


int
tap_rc(int got, int want, const char *file, int line, const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    tap_vline(got == want, file, line, fmt, args);
    va_end(args);

    if (got != want) {
        tap_diag("  got: %d (%s)", got, mcp_store_strerror(got));
        tap_diag("  expected: %d (%s)", want, mcp_store_strerror(want));
    }

    return got == want;
}


int
tap_is(unsigned long long got, unsigned long long want, const char *file,
    int line, const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    tap_vline(got == want, file, line, fmt, args);
    va_end(args);

    if (got != want) {
        tap_diag("  got: %llu", got);
        tap_diag("  expected: %llu", want);
    }

    return got == want;
}


void
tap_diag(const char *fmt, ...)
{
    va_list  args;

    printf("# ");

    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);

    printf("\n");
}


void
tap_bail(const char *fmt, ...)
{
    va_list  args;

    printf("Bail out! ");

    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);

    printf("\n");

    test_rmrf(test_root);
    exit(1);
}


size_t
test_entries(mcp_store_txn_t *t, MDB_dbi dbi)
{
    MDB_stat  st;

    if (mdb_stat(mcp_store_txn_mdb(t), dbi, &st) != 0) {
        return (size_t) -1;
    }

    return st.ms_entries;
}


void
test_seen_init(test_seen_t *l, size_t stop_at)
{
    l->calls = 0;
    l->stop_at = stop_at;
    l->seen[0] = '\0';
}


int
test_seen_add(test_seen_t *l, const char *fmt, ...)
{
    size_t   len;
    va_list  args;

    len = strlen(l->seen);

    if (l->calls++ > 0 && len + 1 < sizeof(l->seen)) {
        l->seen[len++] = ',';
        l->seen[len] = '\0';
    }

    va_start(args, fmt);
    vsnprintf(l->seen + len, sizeof(l->seen) - len, fmt, args);
    va_end(args);

    return l->calls == l->stop_at;
}


mcp_store_relation_t
test_rel(const char *from, const char *type, const char *to)
{
    mcp_store_relation_t  r;

    r.from = from;
    r.from_len = strlen(from);
    r.type = type;
    r.type_len = strlen(type);
    r.to = to;
    r.to_len = strlen(to);
    r.created_at = 0;

    return r;
}


mcp_store_visit_t
test_visit(const char *code, uint64_t count, int64_t last_visit)
{
    mcp_store_visit_t  v;

    memset(&v, 0, sizeof(mcp_store_visit_t));

    v.code = code;
    v.code_len = strlen(code);
    v.count = count;
    v.last_visit = last_visit;

    return v;
}


mcp_store_touch_t
test_touch(const char *id, int64_t last_seen)
{
    mcp_store_touch_t  t;

    t.id = id;
    t.id_len = strlen(id);
    t.last_seen = last_seen;

    return t;
}


mcp_store_link_stats_t
test_stats_of(mcp_store_day_t *days, size_t ndays, mcp_store_referrer_t *refs,
    size_t nrefs)
{
    mcp_store_link_stats_t  st;

    memset(&st, 0, sizeof(st));
    st.days = days;
    st.days_cap = ndays;
    st.referrers = refs;
    st.referrers_cap = nrefs;

    return st;
}


mcp_store_link_t
test_link_of(const char *tenant, const char *url)
{
    mcp_store_link_t  link;

    memset(&link, 0, sizeof(link));
    link.url = url;
    link.url_len = strlen(url);
    link.tenant = tenant;
    link.tenant_len = strlen(tenant);

    return link;
}


mcp_store_txn_t *
test_begin_txn(mcp_store_t *s, unsigned flags)
{
    mcp_store_txn_t  *t;

    if (s == NULL || mcp_store_txn_begin(s, flags, &t) != MCP_STORE_OK) {
        tap_bail("cannot begin a transaction");
    }

    return t;
}
