/*
 * Unit tests of the store library, printing TAP for prove.
 *
 * Each group of tests works in its own directory under one mkdtemp() root,
 * removed at the end.  Raw LMDB, used to plant what the library would
 * never write, only opens an environment that no store handle in this
 * process has open: LMDB forbids opening one environment twice in a
 * process.  Children of fork() open their own handles and leave with
 * _exit(), never touching the parent's.
 */

#define _POSIX_C_SOURCE  200809L

#include <sys/types.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>

#include "test_lib.h"


#define TEST_PLAN        364

#define TEST_KIB         ((size_t) 1024)
#define TEST_MIB         ((size_t) 1024 * 1024)

/* a string literal of bytes and its length, NULs included */
#define TEST_BYTES(s)    s, sizeof(s) - 1


/* helpers */

typedef struct {
    size_t     calls;
    size_t     stop_at;         /* cb returns 1 on this call (1-based) */
    size_t     corrupt;         /* calls with link NULL */
    int        urls_ok;
    char       codes[256];      /* "a,b,c" */
} test_list_t;


static mcp_store_link_t test_link(const char *url, int64_t created_at,
    int64_t expires_at, uint64_t max_visits, uint64_t visits,
    int64_t last_visit);
static int test_url_is(const mcp_store_link_t *link, const char *url);
static int test_link_is(const mcp_store_link_t *a,
    const mcp_store_link_t *b);
static int test_put(mcp_store_t *s, const char *code, const char *url);
static mcp_store_visit_t test_stat_visit(const char *code, uint64_t count,
    int64_t at, uint64_t people, uint64_t bots, const char *referrer);
static int test_in_alphabet(const char *p, size_t len);
static int test_raw_put(const char *dir, const char *db, const char *key,
    const void *val, size_t len);
static int test_raw_put_key(const char *dir, const char *db, const char *key,
    size_t key_len, const void *val, size_t len);
static void test_old_store(const char *dir, const mcp_store_link_t *link);
static mcp_store_t *test_open_old(const char *dir, unsigned flags,
    mcp_store_stat_t *st, mcp_store_link_t *out, int *rc);
static int test_raw_get(const char *dir, const char *db, const char *key,
    void *buf, size_t size, size_t *len);
static int test_raw_get_key(const char *dir, const char *db, const char *key,
    size_t key_len, void *buf, size_t size, size_t *len);
static msgpack_object *test_unpack(msgpack_unpacked *u, const char *buf,
    size_t len, uint32_t n);
static uint64_t test_rand(void);
static void test_list_init(test_list_t *l, size_t stop_at, int *more);
static int test_list_add(test_list_t *l, const char *code, size_t code_len,
    int corrupt);
static int test_list_cb(void *data, const char *code, size_t code_len,
    const mcp_store_link_t *link);
static int test_list(mcp_store_t *s, const char *after, size_t limit,
    size_t stop_at, test_list_t *l, int *more);
static int test_prefix(mcp_store_t *s, const char *prefix, size_t limit,
    size_t stop_at, test_list_t *l, int *more);
static mcp_store_session_t test_session(int64_t created_at,
    int64_t last_seen, const char *protocol, const char *client_name,
    const char *client_version, unsigned log_level, unsigned flags);
static int test_bytes_is(const char *a, size_t a_len, const char *b,
    size_t b_len);
static int test_str_is(const char *p, size_t len, const char *str);
static int test_tenant_is(const char *a, size_t a_len, const char *b,
    size_t b_len);
static int test_within(const char *p, size_t n, const char *str,
    size_t len);
static int test_session_is(const mcp_store_session_t *a,
    const mcp_store_session_t *b);
static int test_sput(mcp_store_t *s, const char *id, int64_t last_seen);
static int test_session_cb(void *data, const char *id, size_t id_len,
    const mcp_store_session_t *session);
static int test_sessions(mcp_store_t *s, test_list_t *l);


/* test groups */

static void test_strerror(void);
static void test_open_errors(void);
static void test_open_create(void);
static void test_schema(void);
static void test_rdonly(void);
static void test_put_get(void);
static void test_code_len(void);
static void test_random_code(void);
static void test_create(void);
static void test_consume(void);
static void test_add_visits(void);
static void test_add_visits_left(void);
static void test_visit_counters(void);   /* and schema 1 stores */
static void test_visit_upgrade(void);    /* schema 2 stores */
static void test_delete(void);
static void test_list_links(void);
static void test_link_prefix(void);
static void test_stat_sync(void);
static void test_corrupt(void);
static void test_codec(void);
static void test_codec_fuzz(void);
static void test_map_full(void);
static void test_fork_writer(void);
static void test_get_lifetime(void);  /* and mcp_store_release() */
static void test_reader_check(void);
static void test_map_grown(void);
static void test_map_grown_shared(void);
static int test_grow(const char *dir);
static void test_writemap(void);
static void test_writemap_nospace(void);
static void test_reserve_far(void);
static void test_session_put_get(void);
static void test_session_args(void);
static void test_session_update(void);   /* and delete */
static void test_session_touch(void);
static void test_session_expire(void);
static void test_session_corrupt(void);
static void test_session_codec(void);
static void test_session_full(void);
static void test_session_old_store(void);
static void test_session_fork(void);
static void test_tenant_codec(void);
static void test_tenant_links(void);
static void test_tenant_walk(void);
static void test_tenant_sessions(void);
static void test_link_update(void);
static void test_link_attrs(void);     /* redirect_status and tags */
static void test_link_updated(void);   /* updated_at */
static void test_link_stats(void);


int
main(void)
{
    test_init(TEST_PLAN);

    test_strerror();
    test_open_errors();
    test_open_create();
    test_schema();
    test_rdonly();
    test_put_get();
    test_code_len();
    test_random_code();
    test_create();
    test_consume();
    test_add_visits();
    test_add_visits_left();
    test_visit_counters();
    test_visit_upgrade();
    test_delete();
    test_list_links();
    test_link_prefix();
    test_stat_sync();
    test_corrupt();
    test_codec();
    test_codec_fuzz();
    test_map_full();
    test_fork_writer();
    test_get_lifetime();
    test_reader_check();
    test_map_grown();
    test_map_grown_shared();
    test_writemap();
    test_writemap_nospace();
    test_reserve_far();
    test_session_put_get();
    test_session_args();
    test_session_update();
    test_session_touch();
    test_session_expire();
    test_session_corrupt();
    test_session_codec();
    test_session_full();
    test_session_old_store();
    test_session_fork();
    test_tenant_codec();
    test_tenant_links();
    test_tenant_walk();
    test_tenant_sessions();
    test_link_update();
    test_link_attrs();
    test_link_updated();
    test_link_stats();

    return test_finish(TEST_PLAN);
}


static void
test_strerror(void)
{
    int          i, j, distinct;
    const char  *msg;

    distinct = 1;

    for (i = MCP_STORE_OK; i <= MCP_STORE_NOSPACE; i++) {
        msg = mcp_store_strerror(i);

        if (msg == NULL || msg[0] == '\0'
            || strcmp(msg, "unknown store error") == 0)
        {
            distinct = 0;
            tap_diag("code %d: \"%s\"", i, msg ? msg : "(null)");
            continue;
        }

        for (j = MCP_STORE_OK; j < i; j++) {
            if (strcmp(msg, mcp_store_strerror(j)) == 0) {
                distinct = 0;
                tap_diag("codes %d and %d share \"%s\"", j, i, msg);
            }
        }
    }

    TAP_OK(distinct, "strerror: every code has a message of its own");

    TAP_OK(strcmp(mcp_store_strerror(-1), "unknown store error") == 0
           && strcmp(mcp_store_strerror(MCP_STORE_NOSPACE + 1),
                     "unknown store error") == 0
           && strcmp(mcp_store_strerror(1000), "unknown store error") == 0,
           "strerror: other codes are \"unknown store error\"");
}


static void
test_open_errors(void)
{
    int           rc, fd;
    char          err[512], dir[PATH_MAX], path[PATH_MAX + 16];
    char          junk[8192];
    size_t        i;
    mcp_store_t  *s;

    rc = mcp_store_open(NULL, test_root, 0, 0, err, sizeof(err));
    TAP_RC(rc, MCP_STORE_EINVAL, "open: NULL handle pointer is EINVAL");

    s = (mcp_store_t *) &rc;
    rc = mcp_store_open(&s, NULL, 0, 0, err, sizeof(err));
    TAP_OK(rc == MCP_STORE_EINVAL && s == NULL,
           "open: NULL path is EINVAL and the handle NULL");

    rc = mcp_store_open(&s, test_root, 0, 0x80, err, sizeof(err));
    TAP_RC(rc, MCP_STORE_EINVAL, "open: unknown flags are EINVAL");

    snprintf(path, sizeof(path), "%s/missing", test_root);
    s = (mcp_store_t *) &rc;
    errno = 0;
    rc = mcp_store_open(&s, path, 0, 0, err, sizeof(err));
    TAP_OK(rc == MCP_STORE_EIO && s == NULL && errno == ENOENT
           && strstr(err, path) != NULL,
           "open: missing directory is EIO, errno ENOENT, path in message");
    tap_diag("%s", err);

    rc = mcp_store_open(&s, path, 0, 0, NULL, 0);
    TAP_RC(rc, MCP_STORE_EIO, "open: err NULL is accepted");

    rc = mcp_store_open(&s, path, 0, 0, err, 8);
    TAP_OK(rc == MCP_STORE_EIO && strlen(err) == 7,
           "open: message truncated to err_len and NUL-terminated");

    test_dir(dir, "not-a-dir");
    snprintf(path, sizeof(path), "%s/file", dir);
    fd = open(path, O_WRONLY | O_CREAT, 0600);
    if (fd == -1) {
        tap_bail("open(\"%s\"): %s", path, strerror(errno));
    }
    close(fd);

    errno = 0;
    rc = mcp_store_open(&s, path, 0, 0, err, sizeof(err));
    TAP_OK(rc == MCP_STORE_EIO && errno == ENOTDIR,
           "open: a file for a directory is EIO, errno ENOTDIR");

    /* a data.mdb of junk */

    test_dir(dir, "garbage");
    snprintf(path, sizeof(path), "%s/data.mdb", dir);

    for (i = 0; i < sizeof(junk); i++) {
        junk[i] = (char) test_rand();
    }

    fd = open(path, O_WRONLY | O_CREAT, 0600);
    if (fd == -1 || write(fd, junk, sizeof(junk)) != (ssize_t) sizeof(junk))
    {
        tap_bail("write(\"%s\"): %s", path, strerror(errno));
    }
    close(fd);

    s = (mcp_store_t *) &rc;
    rc = mcp_store_open(&s, dir, 0, 0, err, sizeof(err));
    TAP_OK(rc == MCP_STORE_ENOTENV && s == NULL && strstr(err, dir) != NULL
           && strstr(err, "MDB_INVALID") != NULL,
           "open: data.mdb of junk is ENOTENV, with path and LMDB error");
    tap_diag("%s", err);

    rc = mcp_store_open(&s, dir, 0, MCP_STORE_RDONLY, err, sizeof(err));
    TAP_RC(rc, MCP_STORE_ENOTENV, "open: read-only on junk is ENOTENV");

    /* read-only never creates */

    test_dir(dir, "empty");
    rc = mcp_store_open(&s, dir, 0, MCP_STORE_RDONLY, err, sizeof(err));
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    fd = access(path, F_OK);
    snprintf(path, sizeof(path), "%s/lock.mdb", dir);
    TAP_OK(rc == MCP_STORE_ENOTENV && fd == -1 && access(path, F_OK) == -1,
           "open: read-only on an empty directory is ENOTENV, creates "
           "nothing");

    /* an LMDB environment, but not ours */

    test_dir(dir, "foreign");
    if (test_raw_put(dir, "other", "k", "v", 1) != 0) {
        tap_bail("raw put in %s", dir);
    }

    rc = mcp_store_open(&s, dir, 0, MCP_STORE_RDONLY, err, sizeof(err));
    TAP_OK(rc == MCP_STORE_ENOTENV && strstr(err, dir) != NULL,
           "open: read-only on a foreign LMDB environment is ENOTENV");
    tap_diag("%s", err);

    rc = mcp_store_open(&s, dir, 0, 0, err, sizeof(err));
    TAP_OK(rc == MCP_STORE_OK && s != NULL,
           "open: read-write on a foreign environment adds our databases");
    mcp_store_close(s);

    mcp_store_close(NULL);
    TAP_OK(1, "close: NULL is accepted");
}


static void
test_open_create(void)
{
    int               rc;
    char              dir[PATH_MAX], err[512], buf[16];
    size_t            len;
    mcp_store_t      *s;
    mcp_store_stat_t  st;

    test_dir(dir, "create");

    err[0] = 'x';
    rc = mcp_store_open(&s, dir, 0, 0, err, sizeof(err));
    TAP_OK(rc == MCP_STORE_OK && s != NULL && err[0] == '\0',
           "open: creates a store in an empty directory");
    if (s == NULL) {
        tap_bail("open(\"%s\"): %s", dir, err);
    }

    rc = mcp_store_stat(s, &st);
    TAP_OK(rc == MCP_STORE_OK && st.schema_version == 3 && st.links == 0
           && st.map_size == 64 * TEST_MIB,
           "stat: new store has schema 3, no links, a 64 MiB map");

    TAP_OK(st.page_size >= 512 && st.used_bytes > 0
           && st.used_bytes % st.page_size == 0
           && st.max_readers == 256 && st.readers_used == 1,
           "stat: page size, used bytes in pages, 256 reader slots, 1 used");
    tap_diag("page_size %u used_bytes %llu readers %u/%u", st.page_size,
             (unsigned long long) st.used_bytes, st.readers_used,
             st.max_readers);

    mcp_store_close(s);

    rc = test_raw_get(dir, MCP_STORE_DB_META, MCP_STORE_KEY_SCHEMA, buf,
                      sizeof(buf), &len);
    TAP_OK(rc == 0 && len == 1 && buf[0] == 3,
           "open: schema record is msgpack positive int 3");

    rc = test_raw_get(dir, MCP_STORE_DB_VISITS, "x", buf, sizeof(buf), &len);
    TAP_RC(rc, MDB_NOTFOUND, "open: a new store has no \"visits\" "
           "database");

    /* map_size: 0 keeps what the environment has */

    s = test_open(dir, 128 * TEST_MIB, 0);
    rc = test_put(s, "grow", "https://example.com/");
    mcp_store_close(s);

    s = test_open(dir, 0, 0);
    rc |= mcp_store_stat(s, &st);
    TAP_OK(rc == MCP_STORE_OK && st.map_size == 128 * TEST_MIB,
           "open: map_size 0 keeps the size an earlier open recorded");
    mcp_store_close(s);
}


static void
test_schema(void)
{
    int           rc;
    char          dir[PATH_MAX], err[512], want[PATH_MAX + 128];
    mcp_store_t  *s;

    test_dir(dir, "schema");
    mcp_store_close(test_open(dir, 0, 0));

    if (test_raw_put(dir, MCP_STORE_DB_META, MCP_STORE_KEY_SCHEMA, "\x04", 1)
        != 0)
    {
        tap_bail("raw put in %s", dir);
    }

    s = (mcp_store_t *) &rc;
    rc = mcp_store_open(&s, dir, 0, 0, err, sizeof(err));
    snprintf(want, sizeof(want),
             "store at %s has schema version 4, this build reads up to 3",
             dir);
    TAP_OK(rc == MCP_STORE_ESCHEMA && s == NULL && strcmp(err, want) == 0,
           "open: newer schema is ESCHEMA with the exact message");
    tap_diag("%s", err);

    rc = mcp_store_open(&s, dir, 0, MCP_STORE_RDONLY, err, sizeof(err));
    TAP_RC(rc, MCP_STORE_ESCHEMA, "open: read-only refuses it too");

    /* any msgpack encoding of 1 will do */

    test_raw_put(dir, MCP_STORE_DB_META, MCP_STORE_KEY_SCHEMA,
                 "\xcf\0\0\0\0\0\0\0\x01", 9);
    rc = mcp_store_open(&s, dir, 0, 0, err, sizeof(err));
    TAP_RC(rc, MCP_STORE_OK, "open: schema 1 as a uint64 is accepted");
    mcp_store_close(s);

    test_raw_put(dir, MCP_STORE_DB_META, MCP_STORE_KEY_SCHEMA, "\xc0", 1);
    rc = mcp_store_open(&s, dir, 0, 0, err, sizeof(err));
    TAP_OK(rc == MCP_STORE_ECORRUPT && strstr(err, dir) != NULL,
           "open: schema record of nil is ECORRUPT");

    test_raw_put(dir, MCP_STORE_DB_META, MCP_STORE_KEY_SCHEMA, "\x01\x01",
                 2);
    rc = mcp_store_open(&s, dir, 0, 0, err, sizeof(err));
    TAP_RC(rc, MCP_STORE_ECORRUPT, "open: schema record with trailing bytes "
           "is ECORRUPT");
}


static void
test_rdonly(void)
{
    int                  rc;
    char                 dir[PATH_MAX], code[8];
    size_t               removed;
    mcp_store_t         *s;
    mcp_store_link_t     link;
    mcp_store_stat_t     st;
    mcp_store_visit_t    v;
    mcp_store_touch_t    t;
    mcp_store_session_t  ss;

    test_dir(dir, "rdonly");

    s = test_open(dir, 0, 0);
    test_put(s, "ro", "https://example.com/ro");
    test_sput(s, "sro", 10);
    mcp_store_close(s);

    s = test_open(dir, 0, MCP_STORE_RDONLY);

    rc = mcp_store_link_get(s, "ro", 2, &link);
    TAP_OK(rc == MCP_STORE_OK && test_url_is(&link, "https://example.com/ro"),
           "rdonly: get works");

    rc = mcp_store_stat(s, &st);
    TAP_OK(rc == MCP_STORE_OK && st.links == 1 && st.schema_version == 3,
           "rdonly: stat works");

    link = test_link("https://example.com/", 1, 0, 0, 0, 0);
    v = test_visit("ro", 1, 1);

    errno = 0;
    rc = mcp_store_link_put(s, "new", 3, &link);
    TAP_OK(rc == MCP_STORE_EIO && errno == EACCES,
           "rdonly: put is EIO, errno EACCES");

    TAP_OK(mcp_store_link_create(s, code, 7, &link) == MCP_STORE_EIO
           && mcp_store_link_consume(s, "ro", 2, 1) == MCP_STORE_EIO
           && mcp_store_link_add_visits(s, &v, 1) == MCP_STORE_EIO
           && mcp_store_link_delete(s, "ro", 2) == MCP_STORE_EIO,
           "rdonly: create, consume, add_visits, delete are EIO");

    ss = test_session(1, 2, "p", "n", "v", 0, 0);
    t = test_touch("sro", 20);

    TAP_OK(mcp_store_session_get(s, "sro", 3, &ss) == MCP_STORE_OK
           && ss.last_seen == 10
           && mcp_store_session_put(s, "new", 3, &ss) == MCP_STORE_EIO
           && mcp_store_session_update(s, "sro", 3, &ss) == MCP_STORE_EIO
           && mcp_store_session_touch(s, &t, 1) == MCP_STORE_EIO
           && mcp_store_session_delete(s, "sro", 3) == MCP_STORE_EIO
           && mcp_store_session_expire(s, 100, 10, &removed, NULL)
              == MCP_STORE_EIO,
           "rdonly: session get works; put, update, touch, delete, expire "
           "are EIO");

    TAP_RC(mcp_store_sync(s), MCP_STORE_OK, "rdonly: sync is a no-op");

    mcp_store_close(s);
}


static void
test_put_get(void)
{
    int               rc;
    char              dir[PATH_MAX], url[] = "https://example.com/a?b=c";
    char              code64[MCP_STORE_CODE_MAX], *longurl;
    size_t            i;
    mcp_store_t      *s;
    mcp_store_link_t  in, out;

    test_dir(dir, "put-get");
    s = test_open(dir, 0, 0);

    in = test_link(url, 1700000000, 1800000000, 10, 3, 1700000500);
    rc = mcp_store_link_put(s, "abc", 3, &in);
    TAP_RC(rc, MCP_STORE_OK, "put: stores a link");

    memset(&out, 0, sizeof(out));
    rc = mcp_store_link_get(s, "abc", 3, &out);
    TAP_OK(rc == MCP_STORE_OK && test_link_is(&out, &in),
           "get: every field comes back");

    TAP_OK(out.url != in.url, "get: url points into the store, not at the "
           "caller's buffer");

    in = test_link("x", INT64_MIN, INT64_MAX, UINT64_MAX, UINT64_MAX,
                   INT64_MIN + 1);
    rc = mcp_store_link_put(s, "ext", 3, &in);
    rc |= mcp_store_link_get(s, "ext", 3, &out);
    TAP_OK(rc == MCP_STORE_OK && test_link_is(&out, &in),
           "put/get: extreme field values round-trip");

    in = test_link(NULL, -1, -2, 0, 0, -3);
    rc = mcp_store_link_put(s, "empty", 5, &in);
    rc |= mcp_store_link_get(s, "empty", 5, &out);
    TAP_OK(rc == MCP_STORE_OK && out.url_len == 0 && out.created_at == -1
           && out.expires_at == -2 && out.last_visit == -3,
           "put/get: empty url and negative times round-trip");

    /* longer than the encoder's stack buffer */

    longurl = malloc(5000);
    if (longurl == NULL) {
        tap_bail("malloc");
    }

    for (i = 0; i < 4999; i++) {
        longurl[i] = (char) ('a' + i % 26);
    }
    longurl[4999] = '\0';

    in = test_link(longurl, 5, 6, 7, 8, 9);
    rc = mcp_store_link_put(s, "long", 4, &in);
    rc |= mcp_store_link_get(s, "long", 4, &out);
    TAP_OK(rc == MCP_STORE_OK && test_link_is(&out, &in),
           "put/get: a 5000-byte url round-trips");
    free(longurl);

    memset(code64, 'Z', sizeof(code64));
    in = test_link(url, 1, 0, 0, 0, 0);
    rc = mcp_store_link_put(s, code64, sizeof(code64), &in);
    rc |= mcp_store_link_get(s, code64, sizeof(code64), &out);
    TAP_OK(rc == MCP_STORE_OK && test_url_is(&out, url),
           "put/get: a 64-byte code is accepted");

    rc = mcp_store_link_put(s, "a\0b", 3, &in);
    rc |= mcp_store_link_get(s, "a\0b", 3, &out);
    TAP_OK(rc == MCP_STORE_OK && test_url_is(&out, url)
           && mcp_store_link_get(s, "a", 1, &out) == MCP_STORE_NOTFOUND,
           "put/get: codes are bytes, NUL included");

    rc = mcp_store_link_get(s, "nope", 4, &out);
    TAP_RC(rc, MCP_STORE_NOTFOUND, "get: missing code is NOTFOUND");

    in = test_link("https://other.example/", 2, 0, 0, 0, 0);
    rc = mcp_store_link_put(s, "abc", 3, &in);
    TAP_RC(rc, MCP_STORE_EXISTS, "put: taken code is EXISTS");

    rc = mcp_store_link_get(s, "abc", 3, &out);
    TAP_OK(rc == MCP_STORE_OK && test_url_is(&out, url)
           && out.created_at == 1700000000 && out.visits == 3,
           "put: the original link is unchanged after EXISTS");

    in.url = NULL;
    in.url_len = 3;
    TAP_OK(mcp_store_link_put(s, "bad", 3, NULL) == MCP_STORE_EINVAL
           && mcp_store_link_put(s, "bad", 3, &in) == MCP_STORE_EINVAL
           && mcp_store_link_put(NULL, "bad", 3, &out) == MCP_STORE_EINVAL
           && mcp_store_link_get(s, "abc", 3, NULL) == MCP_STORE_EINVAL
           && mcp_store_link_get(NULL, "abc", 3, &out) == MCP_STORE_EINVAL,
           "put/get: NULL link, url, handle are EINVAL");

    mcp_store_close(s);
}


static void
test_code_len(void)
{
    char               dir[PATH_MAX], code[MCP_STORE_CODE_MAX + 1];
    size_t             bad[] = { 0, MCP_STORE_CODE_MAX + 1 };
    unsigned           i, put, create, get, consume, del;
    mcp_store_t       *s;
    mcp_store_link_t   link;

    test_dir(dir, "code-len");
    s = test_open(dir, 0, 0);

    memset(code, 'c', sizeof(code));
    link = test_link("https://example.com/", 1, 0, 0, 0, 0);
    put = create = get = consume = del = 1;

    for (i = 0; i < 2; i++) {
        put &= mcp_store_link_put(s, code, bad[i], &link)
               == MCP_STORE_EINVAL;
        create &= mcp_store_link_create(s, code, bad[i], &link)
                  == MCP_STORE_EINVAL;
        get &= mcp_store_link_get(s, code, bad[i], &link)
               == MCP_STORE_EINVAL;
        consume &= mcp_store_link_consume(s, code, bad[i], 1)
                   == MCP_STORE_EINVAL;
        del &= mcp_store_link_delete(s, code, bad[i]) == MCP_STORE_EINVAL;
    }

    put &= mcp_store_link_put(s, NULL, 3, &link) == MCP_STORE_EINVAL;
    create &= mcp_store_link_create(s, NULL, 3, &link) == MCP_STORE_EINVAL;
    get &= mcp_store_link_get(s, NULL, 3, &link) == MCP_STORE_EINVAL;
    consume &= mcp_store_link_consume(s, NULL, 3, 1) == MCP_STORE_EINVAL;
    del &= mcp_store_link_delete(s, NULL, 3) == MCP_STORE_EINVAL;

    TAP_OK(put, "put: code of 0 or 65 bytes, or NULL, is EINVAL");
    TAP_OK(create, "create: code of 0 or 65 bytes, or NULL, is EINVAL");
    TAP_OK(get, "get: code of 0 or 65 bytes, or NULL, is EINVAL");
    TAP_OK(consume, "consume: code of 0 or 65 bytes, or NULL, is EINVAL");
    TAP_OK(del, "delete: code of 0 or 65 bytes, or NULL, is EINVAL");

    mcp_store_close(s);
}


static int
test_code_cmp(const void *a, const void *b)
{
    return memcmp(a, b, 8);
}


static void
test_random_code(void)
{
    int           rc, ok, all;
    char          buf[MCP_STORE_CODE_MAX + 1], *codes, dir[PATH_MAX];
    size_t        i, j, n = 2000;
    unsigned      seen[256];
    mcp_store_t  *s, *t;

    TAP_OK(mcp_store_random_code(buf, 0) == MCP_STORE_EINVAL
           && mcp_store_random_code(buf, MCP_STORE_CODE_MAX + 1)
              == MCP_STORE_EINVAL
           && mcp_store_random_code(NULL, 7) == MCP_STORE_EINVAL,
           "random_code: length 0, 65, NULL buffer are EINVAL");

    memset(buf, '#', sizeof(buf));
    rc = mcp_store_random_code(buf, 7);
    TAP_OK(rc == MCP_STORE_OK && test_in_alphabet(buf, 7)
           && buf[7] == '#',
           "random_code: fills exactly len bytes from the alphabet");

    rc = mcp_store_random_code(buf, MCP_STORE_CODE_MAX);
    TAP_OK(rc == MCP_STORE_OK && test_in_alphabet(buf, MCP_STORE_CODE_MAX),
           "random_code: 64 characters");

    codes = malloc(n * 8);
    if (codes == NULL) {
        tap_bail("malloc");
    }

    ok = 1;
    memset(seen, 0, sizeof(seen));

    for (i = 0; i < n; i++) {
        if (mcp_store_random_code(codes + i * 8, 8) != MCP_STORE_OK
            || !test_in_alphabet(codes + i * 8, 8))
        {
            ok = 0;
        }

        for (j = 0; j < 8; j++) {
            seen[(unsigned char) codes[i * 8 + j]]++;
        }
    }

    all = 1;
    for (i = 0; i < sizeof(MCP_STORE_CODE_ALPHABET) - 1; i++) {
        /* 16000 draws over 62: each expects 258, so 100 is far out */
        if (seen[(unsigned char) MCP_STORE_CODE_ALPHABET[i]] < 100) {
            all = 0;
        }
    }

    TAP_OK(ok && all, "random_code: 2000 codes, every character well used");

    qsort(codes, n, 8, test_code_cmp);

    ok = 1;
    for (i = 1; i < n; i++) {
        if (memcmp(codes + (i - 1) * 8, codes + i * 8, 8) == 0) {
            ok = 0;
        }
    }

    TAP_OK(ok, "random_code: 2000 codes of 8 are distinct");

    /* link codes: from the handle's pool, refilled when used up */

    test_dir(dir, "random-pool");
    s = test_open(dir, 0, MCP_STORE_NOSYNC);

    ok = (s != NULL);
    memset(seen, 0, sizeof(seen));

    for (i = 0; ok && i < n; i++) {
        if (mcp_store_random_link_code(s, codes + i * 8, 8) != MCP_STORE_OK
            || !test_in_alphabet(codes + i * 8, 8))
        {
            ok = 0;
        }

        for (j = 0; j < 8; j++) {
            seen[(unsigned char) codes[i * 8 + j]]++;
        }
    }

    for (i = 0; i < sizeof(MCP_STORE_CODE_ALPHABET) - 1; i++) {
        if (seen[(unsigned char) MCP_STORE_CODE_ALPHABET[i]] < 100) {
            ok = 0;
        }
    }

    qsort(codes, n, 8, test_code_cmp);

    for (i = 1; i < n; i++) {
        if (memcmp(codes + (i - 1) * 8, codes + i * 8, 8) == 0) {
            ok = 0;
        }
    }

    TAP_OK(ok, "random_link_code: 2000 codes from the pool, distinct, "
           "every character well used");

    /* a shared handle does not draw what its origin will */

    ok = (s != NULL && mcp_store_share(s, &t) == MCP_STORE_OK
          && mcp_store_random_link_code(t, codes, 16) == MCP_STORE_OK
          && mcp_store_random_link_code(s, codes + 16, 16) == MCP_STORE_OK
          && memcmp(codes, codes + 16, 16) != 0);
    TAP_OK(ok, "random_link_code: a shared handle has a pool of its own");

    if (s != NULL) {
        mcp_store_close(t);
    }

    mcp_store_close(s);

    free(codes);
}


static void
test_create(void)
{
    int                rc, ok;
    char               dir[PATH_MAX], code[8], first[8], c;
    size_t             i;
    mcp_store_t       *s;
    mcp_store_link_t   link, out;
    mcp_store_stat_t   st;

    test_dir(dir, "create-links");
    s = test_open(dir, 0, 0);

    link = test_link("https://example.com/created", 10, 20, 30, 0, 0);

    memset(code, '#', sizeof(code));
    rc = mcp_store_link_create(s, code, 7, &link);
    TAP_OK(rc == MCP_STORE_OK && test_in_alphabet(code, 7)
           && code[7] == '#',
           "create: writes a 7-character code from the alphabet");

    rc = mcp_store_link_get(s, code, 7, &out);
    TAP_OK(rc == MCP_STORE_OK && test_link_is(&out, &link),
           "create: the link is stored under the code");

    memcpy(first, code, sizeof(first));
    ok = 1;

    for (i = 0; i < 100; i++) {
        if (mcp_store_link_create(s, code, 7, &link) != MCP_STORE_OK
            || memcmp(code, first, 7) == 0)
        {
            ok = 0;
        }
    }

    rc = mcp_store_stat(s, &st);
    TAP_OK(ok && rc == MCP_STORE_OK && st.links == 101,
           "create: 100 more links, 101 in all");

    mcp_store_close(s);

    /* take every 1-character code, then ask for one more */

    test_dir(dir, "exhausted");
    s = test_open(dir, 0, 0);

    ok = 1;
    for (i = 0; i < sizeof(MCP_STORE_CODE_ALPHABET) - 1; i++) {
        c = MCP_STORE_CODE_ALPHABET[i];
        ok &= mcp_store_link_put(s, &c, 1, &link) == MCP_STORE_OK;
    }

    rc = mcp_store_link_create(s, code, 1, &link);
    TAP_OK(ok && rc == MCP_STORE_EXHAUSTED,
           "create: EXHAUSTED when every code of the length is taken");

    rc = mcp_store_stat(s, &st);
    TAP_OK(rc == MCP_STORE_OK && st.links == 62,
           "create: nothing stored after EXHAUSTED");

    rc = mcp_store_link_create(s, code, 2, &link);
    TAP_RC(rc, MCP_STORE_OK, "create: a longer code still works");

    mcp_store_close(s);
}


static void
test_consume(void)
{
    int               rc, ok;
    char              dir[PATH_MAX];
    int64_t           t;
    mcp_store_t      *s;
    mcp_store_link_t  link, out;

    test_dir(dir, "consume");
    s = test_open(dir, 0, 0);

    link = test_link("https://example.com/three", 1, 0, 3, 0, 0);
    mcp_store_link_put(s, "three", 5, &link);

    ok = 1;
    for (t = 1000; t < 1003; t++) {
        ok &= mcp_store_link_consume(s, "three", 5, t) == MCP_STORE_OK;
    }

    rc = mcp_store_link_get(s, "three", 5, &out);
    TAP_OK(ok && rc == MCP_STORE_OK && out.visits == 3
           && out.last_visit == 1002,
           "consume: three visits of a 3-visit link, last_visit kept");

    TAP_OK(test_url_is(&out, "https://example.com/three")
           && out.max_visits == 3 && out.created_at == 1,
           "consume: other fields unchanged");

    rc = mcp_store_link_consume(s, "three", 5, 1003);
    TAP_RC(rc, MCP_STORE_SPENT, "consume: the 4th visit is SPENT");

    rc = mcp_store_link_get(s, "three", 5, &out);
    TAP_OK(rc == MCP_STORE_OK && out.visits == 3 && out.last_visit == 1002,
           "consume: SPENT changes nothing");

    link = test_link("https://example.com/exp", 1, 2000, 0, 0, 0);
    mcp_store_link_put(s, "exp", 3, &link);

    rc = mcp_store_link_consume(s, "exp", 3, 1999);
    TAP_RC(rc, MCP_STORE_OK, "consume: before expires_at is fine");

    rc = mcp_store_link_consume(s, "exp", 3, 2000);
    TAP_RC(rc, MCP_STORE_EXPIRED, "consume: at expires_at is EXPIRED");

    rc = mcp_store_link_get(s, "exp", 3, &out);
    TAP_OK(rc == MCP_STORE_OK && out.visits == 1 && out.last_visit == 1999,
           "consume: EXPIRED changes nothing");

    link = test_link("https://example.com/both", 1, 50, 1, 1, 0);
    mcp_store_link_put(s, "both", 4, &link);
    rc = mcp_store_link_consume(s, "both", 4, 60);
    TAP_RC(rc, MCP_STORE_EXPIRED, "consume: expired and spent is EXPIRED");

    link = test_link("https://example.com/free", 1, 0, 0, 0, 0);
    mcp_store_link_put(s, "free", 4, &link);

    ok = 1;
    for (t = 0; t < 5; t++) {
        ok &= mcp_store_link_consume(s, "free", 4, 100 + t) == MCP_STORE_OK;
    }

    rc = mcp_store_link_get(s, "free", 4, &out);
    TAP_IS(ok && rc == MCP_STORE_OK ? out.visits : 0, 5,
           "consume: a link without max_visits counts on");

    rc = mcp_store_link_consume(s, "gone", 4, 1);
    TAP_RC(rc, MCP_STORE_NOTFOUND, "consume: missing code is NOTFOUND");

    TAP_RC(mcp_store_link_consume(NULL, "gone", 4, 1), MCP_STORE_EINVAL,
           "consume: NULL handle is EINVAL");

    mcp_store_close(s);
}


static void
test_add_visits(void)
{
    int                rc, ok;
    char               dir[PATH_MAX], code[16], url[64], *longurl;
    size_t             i;
    mcp_store_t       *s;
    mcp_store_link_t   link, out;
    mcp_store_visit_t  v[8], many[50];

    test_dir(dir, "visits");
    s = test_open(dir, 0, 0);

    link = test_link("https://example.com/a", 7, 900, 0, 1, 20);
    mcp_store_link_put(s, "A", 1, &link);
    link = test_link("https://example.com/b", 8, 0, 0, 0, 100);
    mcp_store_link_put(s, "B", 1, &link);
    link = test_link("https://example.com/c", 9, 0, 0, UINT64_MAX - 1, 0);
    mcp_store_link_put(s, "C", 1, &link);

    v[0] = test_visit("A", 5, 50);
    v[1] = test_visit("gone", 1, 60);
    v[2] = test_visit("B", 2, 10);
    v[3] = test_visit("C", 5, 1);
    v[4] = test_visit("", 1, 1);

    rc = mcp_store_link_add_visits(s, v, 5);
    TAP_RC(rc, MCP_STORE_OK, "add_visits: a batch with a missing code and an "
           "empty code succeeds");

    rc = mcp_store_link_get(s, "A", 1, &out);
    TAP_OK(rc == MCP_STORE_OK && out.visits == 6 && out.last_visit == 50,
           "add_visits: visits added, newer last_visit taken");

    TAP_OK(test_url_is(&out, "https://example.com/a") && out.created_at == 7
           && out.expires_at == 900 && out.max_visits == 0,
           "add_visits: other fields unchanged");

    rc = mcp_store_link_get(s, "B", 1, &out);
    TAP_OK(rc == MCP_STORE_OK && out.visits == 2 && out.last_visit == 100,
           "add_visits: an older last_visit does not go back");

    rc = mcp_store_link_get(s, "C", 1, &out);
    TAP_OK(rc == MCP_STORE_OK && out.visits == UINT64_MAX,
           "add_visits: visits saturate instead of wrapping");

    rc = mcp_store_link_get(s, "gone", 4, &out);
    TAP_RC(rc, MCP_STORE_NOTFOUND, "add_visits: a missing code is not "
           "created");

    v[1] = v[0];
    rc = mcp_store_link_add_visits(s, v, 2);
    rc |= mcp_store_link_get(s, "A", 1, &out);
    TAP_IS(rc == MCP_STORE_OK ? out.visits : 0, 16,
           "add_visits: a code twice in one batch counts twice");

    TAP_OK(mcp_store_link_add_visits(s, NULL, 0) == MCP_STORE_OK
           && mcp_store_link_add_visits(s, NULL, 1) == MCP_STORE_EINVAL
           && mcp_store_link_add_visits(NULL, v, 1) == MCP_STORE_EINVAL,
           "add_visits: empty batch is fine, NULL batch or handle EINVAL");

    /* a long url, re-encoded through the heap */

    longurl = malloc(3000);
    if (longurl == NULL) {
        tap_bail("malloc");
    }
    memset(longurl, 'L', 2999);
    longurl[2999] = '\0';

    link = test_link(longurl, 1, 0, 0, 0, 0);
    mcp_store_link_put(s, "long", 4, &link);
    v[0] = test_visit("long", 3, 50);
    rc = mcp_store_link_add_visits(s, v, 1);
    rc |= mcp_store_link_get(s, "long", 4, &out);
    TAP_OK(rc == MCP_STORE_OK && out.visits == 3 && test_url_is(&out, longurl),
           "add_visits: a 3000-byte url survives the update");
    free(longurl);

    /* neighbours on one page: each update rewrites the page the next
     * one's url was decoded from */

    for (i = 0; i < 50; i++) {
        snprintf(code, sizeof(code), "n%02u", (unsigned) i);
        snprintf(url, sizeof(url), "https://example.com/neighbour/%u",
                 (unsigned) i);
        test_put(s, code, url);

        memset(&many[i], 0, sizeof(mcp_store_visit_t));
        many[i].code = strdup(code);
        if (many[i].code == NULL) {
            tap_bail("strdup");
        }

        many[i].code_len = strlen(code);
        many[i].count = i + 1;
        many[i].last_visit = (int64_t) i;
    }

    rc = mcp_store_link_add_visits(s, many, 50);

    ok = 1;
    for (i = 0; i < 50; i++) {
        snprintf(url, sizeof(url), "https://example.com/neighbour/%u",
                 (unsigned) i);
        if (mcp_store_link_get(s, many[i].code, many[i].code_len, &out)
            != MCP_STORE_OK
            || !test_url_is(&out, url) || out.visits != i + 1)
        {
            ok = 0;
            tap_diag("neighbour %u: %.*s visits %llu", (unsigned) i,
                     (int) out.url_len, out.url,
                     (unsigned long long) out.visits);
        }

        free((void *) many[i].code);
    }

    TAP_OK(rc == MCP_STORE_OK && ok,
           "add_visits: 50 links on shared pages in one batch, all intact");

    mcp_store_close(s);
}

/*
 * Visits are counted in "visits", apart from the link records: a schema 1
 * store (no "visits", its visits in the records) reads as before, and
 * opened read-write becomes schema 2 with its records' counts kept.
 */

static void
test_visit_counters(void)
{
    int                rc;
    char               dir[PATH_MAX], before[64], after[64];
    size_t             blen, alen;
    mcp_store_t       *s;
    mcp_store_link_t   link, out;
    mcp_store_stat_t   st;
    mcp_store_visit_t  v;

    test_dir(dir, "counters");

    /* what a schema 1 build wrote: 5 visits in the record, no "visits" */

    link = test_link("https://example.com/old", 1, 0, 0, 5, 100);
    test_old_store(dir, &link);

    s = test_open_old(dir, MCP_STORE_RDONLY, &st, &out, &rc);
    TAP_OK(rc == MCP_STORE_OK && st.schema_version == 1 && out.visits == 5
           && out.last_visit == 100,
           "counters: a schema 1 store read-only stays schema 1, visits from "
           "its records");
    mcp_store_close(s);

    s = test_open_old(dir, 0, &st, &out, &rc);
    TAP_OK(rc == MCP_STORE_OK && st.schema_version == 3 && out.visits == 5
           && out.last_visit == 100,
           "counters: opened read-write it becomes schema 3, visits kept");

    /* LMDB wants one opening of an environment a process: the raw reads
     * are made with the store closed */

    mcp_store_close(s);
    rc = test_raw_get(dir, MCP_STORE_DB_LINKS, "old", before, sizeof(before),
                      &blen);

    s = test_open(dir, 0, 0);
    v = test_visit("old", 2, 200);
    rc |= mcp_store_link_add_visits(s, &v, 1);
    rc |= mcp_store_link_get(s, "old", 3, &out);
    TAP_OK(rc == MCP_STORE_OK && out.visits == 7 && out.last_visit == 200,
           "counters: a link's visits are its record's plus its counter's");
    mcp_store_close(s);

    rc = test_raw_get(dir, MCP_STORE_DB_LINKS, "old", after, sizeof(after),
                      &alen);
    TAP_OK(rc == 0 && alen == blen && memcmp(before, after, blen) == 0,
           "counters: counting visits leaves the link record as it was");

    rc = test_raw_get_key(dir, MCP_STORE_DB_LINK_STATS, TEST_STR("old\0t"),
                          after, sizeof(after), &alen);
    TAP_OK(rc == 0 && alen == 6
           && memcmp(after, "\x94\x00\x00\x02\xcc\xc8", 6) == 0,
           "counters: the counter is in the link's totals [bots, hosts, "
           "visits, last_visit], msgpack");

    s = test_open(dir, 0, 0);

    rc = mcp_store_link_resolve(s, "old", 3, &out,
                                MCP_STORE_LINK_COUNTS_LIMITED);
    TAP_OK(rc == MCP_STORE_OK && out.visits == 5 && out.last_visit == 100
           && test_url_is(&out, "https://example.com/old"),
           "counters: resolve without max_visits reads the record only");
    mcp_store_release(s);

    /* max_visits counts both: 5 in the record, then the counter's */

    link = test_link("https://example.com/max", 1, 0, 7, 5, 0);
    rc = mcp_store_link_put(s, "max", 3, &link);
    rc |= mcp_store_link_consume(s, "max", 3, 300);
    rc |= mcp_store_link_resolve(s, "max", 3, &out,
                                 MCP_STORE_LINK_COUNTS_LIMITED);
    TAP_OK(rc == MCP_STORE_OK && out.visits == 6 && out.last_visit == 300,
           "counters: consume counts in the counter, resolve reads it for a "
           "link with max_visits");
    mcp_store_release(s);

    rc = mcp_store_link_consume(s, "max", 3, 301);
    TAP_OK(rc == MCP_STORE_OK
           && mcp_store_link_consume(s, "max", 3, 302) == MCP_STORE_SPENT
           && mcp_store_link_get(s, "max", 3, &out) == MCP_STORE_OK
           && out.visits == 7,
           "counters: record and counter together reach max_visits");

    /* a code deleted and taken again starts from no visits */

    rc = mcp_store_link_delete(s, "old", 3);
    mcp_store_close(s);
    TAP_OK(rc == MCP_STORE_OK
           && test_raw_get_key(dir, MCP_STORE_DB_LINK_STATS,
                               TEST_STR("old\0t"), after, sizeof(after),
                               &alen) == MDB_NOTFOUND,
           "counters: deleting a link deletes its counter");

    s = test_open(dir, 0, 0);
    link = test_link("https://example.com/new", 2, 0, 0, 0, 0);
    rc = mcp_store_link_put(s, "old", 3, &link);
    rc |= mcp_store_link_get(s, "old", 3, &out);
    TAP_OK(rc == MCP_STORE_OK && out.visits == 0 && out.last_visit == 0,
           "counters: a new link under the code has no visits");

    /* a shared handle: writes from another thread, no reader slot */

    {
        mcp_store_t       *sh;
        mcp_store_stat_t   st2;

        rc = mcp_store_stat(s, &st);
        rc |= mcp_store_share(s, &sh);
        v = test_visit("old", 4, 400);
        rc |= mcp_store_link_add_visits(sh, &v, 1);
        rc |= mcp_store_link_get(s, "old", 3, &out);
        rc |= mcp_store_stat(s, &st2);
        TAP_OK(rc == MCP_STORE_OK && out.visits == 4
               && out.last_visit == 400
               && st2.readers_used == st.readers_used,
               "share: a shared handle writes, the first reads it, no more "
               "reader slots taken");

        rc = mcp_store_link_get(sh, "old", 3, &out);
        mcp_store_close(sh);
        TAP_OK(rc != MCP_STORE_OK
               && mcp_store_share(NULL, &sh) == MCP_STORE_EINVAL
               && sh == NULL,
               "share: reads on a shared handle fail; no handle from NULL");
    }

    /* a counter that does not decode makes its link corrupt, not 0 */

    mcp_store_close(s);

    if (test_raw_put_key(dir, MCP_STORE_DB_LINK_STATS, TEST_STR("old\0t"),
                         "\xc1", 1) != 0)
    {
        tap_bail("raw put in %s", dir);
    }

    s = test_open(dir, 0, 0);
    TAP_RC(mcp_store_link_get(s, "old", 3, &out), MCP_STORE_ECORRUPT,
           "counters: a corrupt counter is ECORRUPT");
    mcp_store_close(s);
}



/*
 * A schema 2 store kept counters in "visits": read-only it is read there;
 * opened read-write, each counter moves into its link's totals (next to
 * the bots counted there), "visits" is dropped, and the store is schema
 * 3, which a schema 2 build refuses.
 */

static void
test_visit_upgrade(void)
{
    int                     rc;
    char                    dir[PATH_MAX], buf[64];
    size_t                  len;
    mcp_store_t            *s;
    mcp_store_link_t        link, out;
    mcp_store_stat_t        st;
    int                     ok;
    mcp_store_day_t         days[4];
    mcp_store_visit_t       v;
    mcp_store_link_stats_t  ls;
    mcp_store_referrer_t    refs[4];

    test_dir(dir, "upgrade");

    /* "old": 5 visits in its record, [3, 150] counted, 1 bot, 1 host:
     * none, 4 visits with no referrer; "gone": a counter whose link is
     * not there */

    link = test_link("https://example.com/old", 1, 0, 0, 5, 100);
    test_old_store(dir, &link);

    if (test_raw_put(dir, MCP_STORE_DB_META, MCP_STORE_KEY_SCHEMA, "\x02",
                     1) != 0
        || test_raw_put(dir, MCP_STORE_DB_VISITS, "old", "\x92\x03\xcc\x96",
                        4) != 0
        || test_raw_put(dir, MCP_STORE_DB_VISITS, "gone", "\x92\x01\x01",
                        3) != 0
        || test_raw_put_key(dir, MCP_STORE_DB_LINK_STATS,
                            TEST_STR("old\0t"), "\x92\x01\x01", 3) != 0
        || test_raw_put_key(dir, MCP_STORE_DB_LINK_STATS,
                            TEST_STR("old\0r"), "\x04", 1) != 0
        || test_raw_put_key(dir, MCP_STORE_DB_LINK_STATS,
                            TEST_STR("old\0d\0\0\0\0"), "\x04", 1) != 0)
    {
        tap_bail("raw put in %s", dir);
    }

    memset(&ls, 0, sizeof(ls));
    ls.referrers = refs;
    ls.referrers_cap = 4;

    s = test_open_old(dir, MCP_STORE_RDONLY, &st, &out, &rc);
    TAP_OK(rc == MCP_STORE_OK && st.schema_version == 2 && out.visits == 8
           && out.last_visit == 150,
           "upgrade: a schema 2 store read-only stays schema 2, its "
           "counters read from \"visits\"");
    mcp_store_close(s);

    s = test_open_old(dir, 0, &st, &out, &rc);
    rc |= mcp_store_link_stats_get(s, "old", 3, 0, &ls);
    TAP_OK(rc == MCP_STORE_OK && st.schema_version == 3 && out.visits == 8
           && out.last_visit == 150 && ls.bots == 1 && ls.nreferrers == 1
           && ls.referrers[0].host_len == 0 && ls.referrers[0].visits == 4,
           "upgrade: opened read-write it becomes schema 3, visits and "
           "statistics kept");
    mcp_store_close(s);

    rc = test_raw_get_key(dir, MCP_STORE_DB_LINK_STATS, TEST_STR("old\0t"),
                          buf, sizeof(buf), &len);
    TAP_OK(rc == 0 && len == 7
           && memcmp(buf, "\x95\x01\x01\x03\xcc\x96\x04", 7) == 0
           && test_raw_get_key(dir, MCP_STORE_DB_LINK_STATS,
                               TEST_STR("old\0r"), buf, sizeof(buf), &len)
              == MDB_NOTFOUND,
           "upgrade: the counter and the visits with no referrer are in the "
           "link's totals [bots, hosts, visits, last_visit, direct]");

    TAP_RC(test_raw_get(dir, MCP_STORE_DB_VISITS, "old", buf, sizeof(buf),
                        &len),
           MDB_NOTFOUND, "upgrade: \"visits\" is dropped");

    s = test_open(dir, 0, 0);
    rc = mcp_store_link_consume(s, "old", 3, 200);
    rc |= mcp_store_link_get(s, "old", 3, &out);
    TAP_OK(rc == MCP_STORE_OK && out.visits == 9 && out.last_visit == 200,
           "upgrade: counting goes on from the moved counter");

    /* the latest day is counted in the totals, with the day's key of
     * schema 2 as one day; a later day puts it in its key */

    ls.days = days;
    ls.days_cap = 4;

    v = test_stat_visit("old", 1, 300, 1, 0, NULL);
    rc = mcp_store_link_add_visits(s, &v, 1);
    rc |= mcp_store_link_stats_get(s, "old", 3, 0, &ls);
    ok = rc == MCP_STORE_OK && ls.ndays == 1 && days[0].day == 0
         && days[0].visits == 5;
    mcp_store_release(s);
    TAP_OK(ok, "upgrade: a day's key and the day in the totals are one day");

    v = test_stat_visit("old", 1, 86400 + 5, 1, 0, NULL);
    rc = mcp_store_link_add_visits(s, &v, 1);
    v = test_stat_visit("old", 1, 400, 2, 0, NULL);
    rc |= mcp_store_link_add_visits(s, &v, 1);
    rc |= mcp_store_link_stats_get(s, "old", 3, 0, &ls);
    ok = rc == MCP_STORE_OK && ls.ndays == 2 && days[0].day == 0
         && days[0].visits == 7 && days[1].day == 86400
         && days[1].visits == 1 && ls.nreferrers == 1
         && ls.referrers[0].visits == 8;
    mcp_store_release(s);
    TAP_OK(ok, "upgrade: a later day moves the day before to its key, and "
           "a late batch of it adds there");
    mcp_store_close(s);
}



static void
test_delete(void)
{
    int                rc;
    char               dir[PATH_MAX];
    mcp_store_t       *s;
    mcp_store_link_t   out;

    test_dir(dir, "delete");
    s = test_open(dir, 0, 0);

    test_put(s, "a", "https://example.com/a");
    test_put(s, "b", "https://example.com/b");
    test_put(s, "c", "https://example.com/c");

    rc = mcp_store_link_delete(s, "b", 1);
    TAP_RC(rc, MCP_STORE_OK, "delete: removes a link");

    rc = mcp_store_link_get(s, "b", 1, &out);
    TAP_RC(rc, MCP_STORE_NOTFOUND, "delete: the link is gone");

    rc = mcp_store_link_get(s, "a", 1, &out);
    rc |= mcp_store_link_get(s, "c", 1, &out);
    TAP_RC(rc, MCP_STORE_OK, "delete: the neighbours stay");

    rc = mcp_store_link_delete(s, "b", 1);
    TAP_RC(rc, MCP_STORE_NOTFOUND, "delete: a missing code is NOTFOUND");

    TAP_RC(mcp_store_link_delete(NULL, "a", 1), MCP_STORE_EINVAL,
           "delete: NULL handle is EINVAL");

    mcp_store_close(s);
}


static void
test_list_links(void)
{
    int           rc, more;
    char          dir[PATH_MAX], code[2], url[32];
    const char   *p;
    mcp_store_t  *s;
    test_list_t   l;

    test_dir(dir, "list");
    s = test_open(dir, 0, 0);

    rc = test_list(s, NULL, 0, 0, &l, &more);
    TAP_OK(rc == MCP_STORE_OK && l.calls == 0 && more == 0,
           "list: an empty store lists nothing");

    /* put them out of order */

    for (p = "dbeac"; *p; p++) {
        code[0] = *p;
        code[1] = '\0';
        snprintf(url, sizeof(url), "u-%s", code);
        test_put(s, code, url);
    }

    rc = test_list(s, NULL, 0, 0, &l, &more);
    TAP_OK(rc == MCP_STORE_OK && strcmp(l.codes, "a,b,c,d,e") == 0
           && l.urls_ok && more == 0,
           "list: all links in code order, with their urls, no more");
    tap_diag("listed %s", l.codes);

    rc = test_list(s, NULL, 2, 0, &l, &more);
    TAP_OK(rc == MCP_STORE_OK && strcmp(l.codes, "a,b") == 0 && more == 1,
           "list: limit 2 gives a,b and more");

    rc = test_list(s, "b", 2, 0, &l, &more);
    TAP_OK(rc == MCP_STORE_OK && strcmp(l.codes, "c,d") == 0 && more == 1,
           "list: after b, limit 2 gives c,d and more");

    rc = test_list(s, "d", 2, 0, &l, &more);
    TAP_OK(rc == MCP_STORE_OK && strcmp(l.codes, "e") == 0 && more == 0,
           "list: after d gives e and no more");

    rc = test_list(s, "c", 2, 0, &l, &more);
    TAP_OK(rc == MCP_STORE_OK && strcmp(l.codes, "d,e") == 0 && more == 0,
           "list: a limit that ends at the last link says no more");

    rc = test_list(s, "bb", 0, 0, &l, &more);
    TAP_OK(rc == MCP_STORE_OK && strcmp(l.codes, "c,d,e") == 0,
           "list: after a code that is not stored starts at the next");

    rc = test_list(s, "z", 0, 0, &l, &more);
    TAP_OK(rc == MCP_STORE_OK && l.calls == 0 && more == 0,
           "list: after the last code lists nothing");

    rc = test_list(s, NULL, 0, 1, &l, &more);
    TAP_OK(rc == MCP_STORE_OK && strcmp(l.codes, "a") == 0 && more == 1,
           "list: cb stops it, and more says links follow");

    rc = test_list(s, "d", 0, 1, &l, &more);
    TAP_OK(rc == MCP_STORE_OK && strcmp(l.codes, "e") == 0 && more == 0,
           "list: cb stops at the last link, no more");

    rc = test_list(s, "a", 3, 0, &l, NULL);
    TAP_OK(rc == MCP_STORE_OK && strcmp(l.codes, "b,c,d") == 0,
           "list: more may be NULL");

    more = 7;
    TAP_OK(mcp_store_link_list(s, NULL, 0, 0, NULL, NULL, &more)
           == MCP_STORE_EINVAL
           && mcp_store_link_list(s, NULL, 3, 0, test_list_cb, &l, NULL)
              == MCP_STORE_EINVAL
           && mcp_store_link_list(NULL, NULL, 0, 0, test_list_cb, &l, NULL)
              == MCP_STORE_EINVAL
           && more == 0,
           "list: NULL cb, NULL after with a length, NULL handle are "
           "EINVAL");

    mcp_store_close(s);
}


static void
test_link_prefix(void)
{
    int           rc, more;
    char          dir[PATH_MAX], url[32], prefix[MCP_STORE_CODE_MAX + 1];
    size_t        i;
    const char  **code;
    mcp_store_t  *s;
    test_list_t   l;

    static const char  *codes[] = {
        "b", "ab1", "a", "abd", "ac", "ab", "ba", "abc", NULL
    };

    static const struct {
        const char  *prefix;
        size_t       limit;
        size_t       stop_at;
        const char  *want;
        int          more;
        const char  *what;
    } cases[] = {
        { "ab", 0, 0, "ab,ab1,abc,abd", 0,
          "the codes that start with ab, the code ab among them, in order" },
        { "ab", 2, 0, "ab,ab1", 1, "limit 2 gives ab,ab1 and more" },
        { "ab", 4, 0, "ab,ab1,abc,abd", 0,
          "a limit that ends at the last match says no more, though other "
          "codes follow" },
        { "ab", 0, 1, "ab", 1, "cb stops it, and more says matches follow" },
        { "abc", 0, 0, "abc", 0, "a whole code matches itself" },
        { "b", 0, 0, "b,ba", 0, "b gives b,ba, up to the last code" },
        { "aa", 0, 0, "", 0,
          "one that matches nothing, between codes, lists nothing" },
        { "zz", 0, 0, "", 0, "one past the last code lists nothing" },
        { NULL, 3, 0, "a,ab,ab1", 1, "the empty prefix is every code" }
    };

    test_dir(dir, "prefix");
    s = test_open(dir, 0, 0);

    for (code = codes; *code != NULL; code++) {
        snprintf(url, sizeof(url), "u-%s", *code);
        test_put(s, *code, url);
    }

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rc = test_prefix(s, cases[i].prefix, cases[i].limit, cases[i].stop_at,
                         &l, &more);

        if (!TAP_OK(rc == MCP_STORE_OK && strcmp(l.codes, cases[i].want) == 0
                    && more == cases[i].more && l.urls_ok,
                    "prefix: %s", cases[i].what))
        {
            tap_diag("rc %d, listed \"%s\", more %d", rc, l.codes, more);
        }
    }

    memset(prefix, 'a', sizeof(prefix));
    more = 7;
    TAP_OK(mcp_store_link_prefix(s, prefix, sizeof(prefix), 0, test_list_cb,
                                 &l, &more) == MCP_STORE_EINVAL
           && mcp_store_link_prefix(s, NULL, 2, 0, test_list_cb, &l, NULL)
              == MCP_STORE_EINVAL
           && mcp_store_link_prefix(s, "a", 1, 0, NULL, NULL, NULL)
              == MCP_STORE_EINVAL
           && mcp_store_link_prefix(NULL, "a", 1, 0, test_list_cb, &l, NULL)
              == MCP_STORE_EINVAL
           && more == 0,
           "prefix: a 65-byte prefix, NULL prefix with a length, NULL cb, "
           "NULL handle are EINVAL");

    mcp_store_close(s);

    /* the only match after the limit does not decode: no more */

    if (test_raw_put(dir, MCP_STORE_DB_LINKS, "abz", "\x96\xa3htt", 5) != 0
        || test_raw_put(dir, MCP_STORE_DB_LINKS, "ab0", "\xc0", 1) != 0)
    {
        tap_bail("raw put in %s", dir);
    }

    s = test_open(dir, 0, 0);

    rc = test_prefix(s, "ab", 4, 0, &l, &more);
    TAP_OK(rc == MCP_STORE_OK && strcmp(l.codes, "ab,ab1,abc,abd") == 0
           && more == 0,
           "prefix: skips records that do not decode, and more stays exact");

    mcp_store_close(s);
}




static void
test_stat_sync(void)
{
    int               rc;
    char              dir[PATH_MAX];
    mcp_store_t      *s;
    mcp_store_stat_t  st;

    test_dir(dir, "sync");
    s = test_open(dir, 0, MCP_STORE_NOSYNC);

    test_put(s, "a", "https://example.com/a");
    test_put(s, "b", "https://example.com/b");
    mcp_store_link_delete(s, "a", 1);

    rc = mcp_store_sync(s);
    TAP_RC(rc, MCP_STORE_OK, "sync: flushes a NOSYNC store");

    rc = mcp_store_stat(s, &st);
    TAP_OK(rc == MCP_STORE_OK && st.links == 1,
           "stat: counts links after puts and a delete");

    TAP_OK(mcp_store_sync(NULL) == MCP_STORE_EINVAL
           && mcp_store_stat(NULL, &st) == MCP_STORE_EINVAL
           && mcp_store_stat(s, NULL) == MCP_STORE_EINVAL
           && mcp_store_reader_check(NULL, NULL) == MCP_STORE_EINVAL,
           "sync, stat, reader_check: NULL arguments are EINVAL");

    mcp_store_close(s);
}


static void
test_corrupt(void)
{
    int                rc;
    char               dir[PATH_MAX], buf[64];
    size_t             len;
    mcp_store_t       *s;
    test_list_t        l;
    mcp_store_link_t   out;
    mcp_store_visit_t  v[3];

    test_dir(dir, "corrupt");

    s = test_open(dir, 0, 0);
    test_put(s, "good1", "https://example.com/1");
    test_put(s, "good2", "https://example.com/2");
    mcp_store_close(s);

    /* [url, ...] cut short; and a map where an array belongs */

    if (test_raw_put(dir, MCP_STORE_DB_LINKS, "bad", "\x96\xa3htt", 5) != 0
        || test_raw_put(dir, MCP_STORE_DB_LINKS, "good15", "\x81\x01\x02", 3)
           != 0)
    {
        tap_bail("raw put in %s", dir);
    }

    s = test_open(dir, 0, 0);

    rc = mcp_store_link_get(s, "bad", 3, &out);
    TAP_RC(rc, MCP_STORE_ECORRUPT, "corrupt: get is ECORRUPT");

    rc = mcp_store_link_consume(s, "bad", 3, 1);
    TAP_RC(rc, MCP_STORE_ECORRUPT, "corrupt: consume is ECORRUPT");

    v[0] = test_visit("good1", 1, 1);
    v[1] = test_visit("bad", 1, 1);
    v[2] = test_visit("good2", 1, 1);

    rc = mcp_store_link_add_visits(s, v, 3);
    TAP_RC(rc, MCP_STORE_OK, "corrupt: add_visits skips it");

    rc = mcp_store_link_get(s, "good1", 5, &out);
    TAP_OK(rc == MCP_STORE_OK && out.visits == 1
           && mcp_store_link_get(s, "good2", 5, &out) == MCP_STORE_OK
           && out.visits == 1,
           "corrupt: add_visits counts the rest of the batch");

    rc = test_list(s, NULL, 0, 0, &l, NULL);
    TAP_OK(rc == MCP_STORE_OK && strcmp(l.codes, "good1,good2") == 0,
           "corrupt: list skips records that do not decode");

    rc = test_list(s, NULL, 1, 0, &l, NULL);
    rc |= mcp_store_link_list(s, "good1", 5, 0, test_list_cb, &l, NULL);
    TAP_OK(rc == MCP_STORE_OK && strcmp(l.codes, "good1,good2") == 0,
           "corrupt: paging past a corrupt record works");

    test_list_init(&l, 0, NULL);
    rc = mcp_store_link_walk(s, NULL, 0, NULL, 0, 0, test_list_cb, &l, NULL,
                             MCP_STORE_WALK_CORRUPT);
    TAP_OK(rc == MCP_STORE_OK && l.corrupt == 2
           && strcmp(l.codes, "bad,good1,good15,good2") == 0,
           "corrupt: walk with MCP_STORE_WALK_CORRUPT reports them");

    test_list_init(&l, 0, NULL);
    rc = mcp_store_link_walk(s, "default", 7, NULL, 0, 0, test_list_cb, &l,
                             NULL, MCP_STORE_WALK_CORRUPT);
    TAP_OK(rc == MCP_STORE_OK && l.corrupt == 0
           && strcmp(l.codes, "good1,good2") == 0,
           "corrupt: but not to a tenant's walk: they have no owner");

    mcp_store_close(s);

    rc = test_raw_get(dir, MCP_STORE_DB_LINKS, "bad", buf, sizeof(buf), &len);
    TAP_OK(rc == 0 && len == 5 && memcmp(buf, "\x96\xa3htt", 5) == 0,
           "corrupt: the record is left as it was");

    s = test_open(dir, 0, 0);
    rc = mcp_store_link_delete(s, "bad", 3);
    TAP_RC(rc, MCP_STORE_OK, "corrupt: delete removes it");
    mcp_store_close(s);
}


static void
test_codec(void)
{
    int                      rc, ok;
    char                     buf[128], small[8];
    size_t                   len, i;
    uint64_t                 version;
    msgpack_packer           pk;
    msgpack_sbuffer          sb;
    msgpack_unpacked         u;
    msgpack_object          *o;
    mcp_store_link_t         in, out, full;

    static const struct {
        const char  *bytes;
        size_t       len;
        const char  *what;
    } bad[] = {
        { TEST_BYTES("\x91\xa1x"), "1 field" },
        { TEST_BYTES("\x97\xa1x\x01\x02\x03\x04\x05\x06"),
          "an integer for the tenant" },
        { TEST_BYTES("\x9b\xa1x\x01\x02\x03\x04\x05\xa1t\x06\xa0\x07"
                     "\x08"),
          "11 fields" },
        { TEST_BYTES("\x9a\xa1x\x01\x02\x03\x04\x05\xa1t\x06\xa0\xa1u"),
          "a string for the update time" },
        { TEST_BYTES("\x98\xa1x\x01\x02\x03\x04\x05\xa1t\xa1s"),
          "a string for the redirect status" },
        { TEST_BYTES("\x97\xa1x\x01\x02\x03\x04\x05\xa0"),
          "an empty tenant" },
        { TEST_BYTES("\x97\xa1x\x01\x02\x03\x04\x05\xc0"),
          "nil for the tenant" },
        { TEST_BYTES("\x96\xa1x\x01\x02\x03\x04\x05\x00"),
          "a trailing byte" },
        { TEST_BYTES("\x96\xc4\x01x\x01\x02\x03\x04\x05"),
          "bin for the url" },
        { TEST_BYTES("\x96\xa1x\x01\x02\xff\x04\x05"),
          "a negative max_visits" },
        { TEST_BYTES("\x96\xa1x\xcf\x80\0\0\0\0\0\0\0\x02\x03\x04\x05"),
          "created_at above INT64_MAX" },
        { TEST_BYTES("\x96\xa1x\x01\x02\x03\x04\xcb\0\0\0\0\0\0\0\0"),
          "a float for last_visit" },
        { TEST_BYTES("\x96\xbfx\x01\x02"), "a url longer than the record" },
        { TEST_BYTES("\xdd\xff\xff\xff\xff"), "an array of 4 billion" },
        { TEST_BYTES("\xc0"), "nil" },
        { TEST_BYTES(""), "nothing" }
    };

    in = test_link("https://example.com/codec", -5, INT64_MAX, UINT64_MAX,
                   128, INT64_MIN);

    len = mcp_store_link_encode(&in, buf, sizeof(buf));
    rc = mcp_store_link_decode(buf, len, &out);
    TAP_OK(len <= sizeof(buf) && rc == MCP_STORE_OK && test_link_is(&out, &in)
           && out.url == buf + 2,
           "codec: round trip, url pointing into the record");

    memset(small, '#', sizeof(small));
    TAP_OK(mcp_store_link_encode(&in, small, 4) == len
           && memcmp(small + 4, "####", 4) == 0
           && mcp_store_link_encode(&in, NULL, 0) == len,
           "codec: a short buffer is measured, never overrun");

    /* msgpack-c reads what we write */

    o = test_unpack(&u, buf, len, 6);
    ok = o != NULL
         && o[0].type == MSGPACK_OBJECT_STR
         && o[0].via.str.size == in.url_len
         && o[1].type == MSGPACK_OBJECT_NEGATIVE_INTEGER
         && o[1].via.i64 == -5
         && o[2].type == MSGPACK_OBJECT_POSITIVE_INTEGER
         && o[2].via.u64 == INT64_MAX
         && o[3].via.u64 == UINT64_MAX
         && o[4].via.u64 == 128
         && o[5].via.i64 == INT64_MIN;
    msgpack_unpacked_destroy(&u);
    TAP_OK(ok, "codec: msgpack-c's unpacker reads the record");

    /* and we read what msgpack-c writes at full width */

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 6);
    msgpack_pack_str(&pk, 3);
    msgpack_pack_str_body(&pk, "abc", 3);
    msgpack_pack_fix_int64(&pk, 1);
    msgpack_pack_fix_int8(&pk, -1);
    msgpack_pack_fix_uint16(&pk, 2);
    msgpack_pack_fix_int32(&pk, 3);
    msgpack_pack_fix_uint64(&pk, 4);

    rc = mcp_store_link_decode(sb.data, sb.size, &out);
    TAP_OK(rc == MCP_STORE_OK && out.url_len == 3 && out.created_at == 1
           && out.expires_at == -1 && out.max_visits == 2 && out.visits == 3
           && out.last_visit == 4,
           "codec: full-width integers are read");
    msgpack_sbuffer_destroy(&sb);

    rc = mcp_store_link_decode(TEST_BYTES("\xdc\0\x06\xda\0\x01x"
                                          "\xd3\xff\xff\xff\xff\xff\xff\xff"
                                          "\xfe\xd0\x05\xcc\x06\xcd\0\x07"
                                          "\xce\0\0\0\x08"), &out);
    TAP_OK(rc == MCP_STORE_OK && out.url_len == 1 && out.created_at == -2
           && out.expires_at == 5 && out.max_visits == 6 && out.visits == 7
           && out.last_visit == 8,
           "codec: array 16, str 16 and signed forms of positives are read");

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rc = mcp_store_link_decode(bad[i].bytes, bad[i].len, &out);
        TAP_RC(rc, MCP_STORE_ECORRUPT, "codec: %s is ECORRUPT", bad[i].what);
    }

    ok = 1;
    for (i = 0; i < len; i++) {
        ok &= mcp_store_link_decode(buf, i, &out) == MCP_STORE_ECORRUPT;
    }

    TAP_OK(ok, "codec: every truncation of a record is ECORRUPT");

    /* schema 2: the numbers after created_at that are 0 are left out at
     * the end, after a default tenant */

    in = test_link("x", 1, 0, 0, 0, 0);
    len = mcp_store_link_encode(&in, buf, sizeof(buf));
    TAP_OK(len == 4 && memcmp(buf, "\x92\xa1x\x01", 4) == 0
           && mcp_store_link_decode(buf, len, &out) == MCP_STORE_OK
           && test_link_is(&out, &in),
           "codec: a link without expiry, limit or visits is [url, "
           "created_at]");

    in = test_link("x", 1, 0, 9, 0, 0);
    len = mcp_store_link_encode(&in, buf, sizeof(buf));
    TAP_OK(len == 6 && memcmp(buf, "\x94\xa1x\x01\x00\x09", 6) == 0
           && mcp_store_link_decode(buf, len, &out) == MCP_STORE_OK
           && test_link_is(&out, &in),
           "codec: only the zeros at the end are left out");

    in = test_link_of("acme", "x");
    len = mcp_store_link_encode(&in, buf, sizeof(buf));
    TAP_OK(len > 0 && (unsigned char) buf[0] == 0x97
           && mcp_store_link_decode(buf, len, &out) == MCP_STORE_OK
           && test_str_is(out.tenant, out.tenant_len, "acme"),
           "codec: a link with a tenant keeps every field before it");

    rc = mcp_store_link_decode(TEST_BYTES("\x93\xa1x\x01\x05"), &out);
    TAP_OK(rc == MCP_STORE_OK && out.expires_at == 5 && out.max_visits == 0
           && out.visits == 0 && out.last_visit == 0
           && test_str_is(out.tenant, out.tenant_len,
                          MCP_STORE_TENANT_DEFAULT),
           "codec: fields left out read as 0 and the default tenant");

    /* [url, created_at], which a redirect decodes without the field
     * table, reads as the same link written out to its tenant does, in
     * every field of a record that held another link before */

    memset(&out, 0xa5, sizeof(out));
    memset(&full, 0x5a, sizeof(full));
    rc = mcp_store_link_decode(TEST_BYTES("\x92\xa1x\x01"), &out);
    rc |= mcp_store_link_decode(TEST_BYTES("\x97\xa1x\x01\x00\x00\x00\x00"
                                           "\xa7" "default"), &full);
    TAP_OK(rc == MCP_STORE_OK && test_str_is(out.url, out.url_len, "x")
           && test_str_is(full.url, full.url_len, "x")
           && out.created_at == full.created_at
           && out.expires_at == full.expires_at
           && out.max_visits == full.max_visits && out.visits == full.visits
           && out.last_visit == full.last_visit
           && test_str_is(out.tenant, out.tenant_len, MCP_STORE_TENANT_DEFAULT)
           && test_str_is(full.tenant, full.tenant_len,
                          MCP_STORE_TENANT_DEFAULT)
           && out.redirect_status == full.redirect_status
           && out.tags == NULL && full.tags == NULL
           && out.tags_len == full.tags_len
           && out.updated_at == full.updated_at,
           "codec: a link of url and created_at sets every field as the "
           "longer form does");

    len = mcp_store_schema_encode(1, buf, sizeof(buf));
    rc = mcp_store_schema_decode(buf, len, &version);
    TAP_OK(len == 1 && buf[0] == 1 && rc == MCP_STORE_OK && version == 1,
           "codec: schema 1 is one byte and reads back");

    TAP_OK(mcp_store_schema_decode("\xff", 1, &version) == MCP_STORE_ECORRUPT
           && mcp_store_schema_decode("\xa1\x31", 2, &version)
              == MCP_STORE_ECORRUPT,
           "codec: a negative or string schema is ECORRUPT");
}


/*
 * Arbitrary bytes, and link and session records with bytes changed, must
 * decode or be ECORRUPT, and never read outside what they were given (ASan
 * watches: each input sits in its own heap block of its exact size).
 */

static void
test_codec_fuzz(void)
{
    int                  ok;
    char                 rec[2][64], junk[64], *p;
    size_t               len[2], n, i, j, k;
    mcp_store_link_t     in, out;
    mcp_store_session_t  sin, sout;

    in = test_link("https://e.x/", 1700000000, 0, 5, 3, -7);
    sin = test_session(1700000000, -7, "2025-06-18", "fuzz", "1", 9, 300);

    len[0] = mcp_store_link_encode(&in, rec[0], sizeof(rec[0]));
    len[1] = mcp_store_session_encode(&sin, rec[1], sizeof(rec[1]));
    ok = len[0] <= sizeof(rec[0]) && len[1] <= sizeof(rec[1]);

    for (i = 0; ok && i < 80000; i++) {
        if (i % 2) {
            n = test_rand() % 48;
            for (j = 0; j < n; j++) {
                junk[j] = (char) test_rand();
            }

        } else {
            k = (i / 2) % 2;
            n = len[k];
            memcpy(junk, rec[k], n);
            for (j = 0; j < 1 + test_rand() % 3; j++) {
                junk[test_rand() % n] = (char) test_rand();
            }
        }

        p = malloc(n ? n : 1);
        if (p == NULL) {
            tap_bail("malloc");
        }

        memcpy(p, junk, n);

        switch (mcp_store_link_decode(p, n, &out)) {
        case MCP_STORE_OK:
            ok = test_within(p, n, out.url, out.url_len);
            break;
        case MCP_STORE_ECORRUPT:
            break;
        default:
            ok = 0;
        }

        switch (mcp_store_session_decode(p, n, &sout)) {
        case MCP_STORE_OK:
            ok = ok && test_within(p, n, sout.protocol, sout.protocol_len)
                 && test_within(p, n, sout.client_name, sout.client_name_len)
                 && test_within(p, n, sout.client_version,
                                sout.client_version_len);
            break;
        case MCP_STORE_ECORRUPT:
            break;
        default:
            ok = 0;
        }

        free(p);
    }

    TAP_OK(ok, "codec: 80000 random and mutated link and session records "
           "decode or are ECORRUPT, in bounds");
}


/*
 * A full store: counters that need new room (a link's first, a new
 * referrer) are left, those that exist are added all the same.
 */

static void
test_add_visits_left(void)
{
    int                rc, ok;
    char               dir[PATH_MAX], code[200][16], host[200][16];
    size_t             i, n, left;
    mcp_store_t       *s;
    mcp_store_link_t   out;
    mcp_store_visit_t  v[201], a0;
    const char        *url[3] = { "https://example.com/full/padding-padding"
                                  "-padding-padding-padding-padding",
                                  "https://example.com/full",
                                  "https://e.x/" };

    test_dir(dir, "visits-left");
    s = test_open(dir, 256 * TEST_KIB, 0);

    a0 = test_visit("a0", 1, 1000);
    a0.people = 1;
    a0.referrer = "h1.example";
    a0.referrer_len = 10;

    rc = test_put(s, "a0", "https://example.com/a0");
    rc |= mcp_store_link_add_visits(s, &a0, 1);
    TAP_RC(rc, MCP_STORE_OK, "add_visits_left: a0 visited from h1");

    /* filled with ever shorter links, until not even a short one fits */

    for (n = 0, i = 0; n < 100000 && i < 3; n++) {
        snprintf(code[0], sizeof(code[0]), "k%06u", (unsigned) n);
        if (test_put(s, code[0], url[i]) != MCP_STORE_OK) {
            i++;
            n--;
        }
    }

    /* 200 counters that need room: the links' first, from new hosts */

    for (i = 0; i < 200; i++) {
        snprintf(code[i], sizeof(code[i]), "k%06u", (unsigned) (i % n));
        snprintf(host[i], sizeof(host[i]), "n%u.example", (unsigned) i);
        v[i] = test_visit(code[i], 1, 1000);
        v[i].people = 1;
        v[i].referrer = host[i];
        v[i].referrer_len = strlen(host[i]);
    }

    v[200] = a0;

    rc = mcp_store_link_add_visits_left(s, v, 201, &left);
    TAP_OK(n > 10 && rc == MCP_STORE_FULL && left > 0 && left < 201,
           "add_visits_left: a full store leaves the counters that need "
           "room");
    tap_diag("%u links fill the store, %u of 201 counters left",
             (unsigned) n, (unsigned) left);

    for (i = 0, ok = 1; i < left; i++) {
        ok &= v[i].code_len == 7;
    }

    TAP_OK(ok, "add_visits_left: the counters left are first in the batch");

    rc = mcp_store_link_get(s, "a0", 2, &out);
    TAP_IS(rc == MCP_STORE_OK ? out.visits : 0, 2,
           "add_visits_left: the counter that exists is added");

    for (i = 0, ok = 1; i < left; i++) {
        ok &= mcp_store_link_get(s, v[i].code, v[i].code_len, &out)
                  == MCP_STORE_OK
              && out.visits == 0;
    }

    TAP_OK(ok, "add_visits_left: those left are not counted");

    mcp_store_close(s);
}


static void
test_map_full(void)
{
    int                rc, ok;
    char               dir[PATH_MAX], code[16], url[128];
    size_t             i, n;
    mcp_store_t       *s;
    mcp_store_link_t   out;
    mcp_store_stat_t   st;

    test_dir(dir, "full");
    s = test_open(dir, 64 * TEST_KIB, 0);

    rc = MCP_STORE_OK;
    for (n = 0; n < 100000; n++) {
        snprintf(code, sizeof(code), "k%06u", (unsigned) n);
        snprintf(url, sizeof(url), "https://example.com/full/%u/%s",
                 (unsigned) n, "padding-padding-padding-padding-padding");
        rc = test_put(s, code, url);
        if (rc != MCP_STORE_OK) {
            break;
        }
    }

    TAP_OK(rc == MCP_STORE_FULL && n > 10,
           "map full: a 64 KiB map fills up with FULL");
    tap_diag("%u links before FULL", (unsigned) n);

    ok = 1;
    for (i = 0; i < n; i++) {
        snprintf(code, sizeof(code), "k%06u", (unsigned) i);
        snprintf(url, sizeof(url), "https://example.com/full/%u/%s",
                 (unsigned) i, "padding-padding-padding-padding-padding");
        if (mcp_store_link_get(s, code, strlen(code), &out) != MCP_STORE_OK
            || !test_url_is(&out, url))
        {
            ok = 0;
        }
    }

    TAP_OK(ok, "map full: every earlier link still reads back");

    snprintf(code, sizeof(code), "k%06u", (unsigned) n);
    rc = mcp_store_link_get(s, code, strlen(code), &out);
    TAP_RC(rc, MCP_STORE_NOTFOUND, "map full: the failed put left nothing");

    rc = test_put(s, "another", "https://example.com/another");
    TAP_RC(rc, MCP_STORE_FULL, "map full: the next put is FULL too");

    rc = mcp_store_stat(s, &st);
    TAP_OK(rc == MCP_STORE_OK && st.links == n,
           "map full: stat still works and counts the stored links");

    mcp_store_close(s);

    s = test_open(dir, TEST_MIB, 0);

    rc = test_put(s, code, "https://example.com/after");
    rc |= test_put(s, "another", "https://example.com/another");
    TAP_RC(rc, MCP_STORE_OK, "map full: reopened with a larger map, puts "
           "work again");

    rc = mcp_store_stat(s, &st);
    TAP_OK(rc == MCP_STORE_OK && st.links == n + 2 && st.map_size == TEST_MIB,
           "map full: the larger map and every link are there");

    mcp_store_close(s);
}


static void
test_fork_writer(void)
{
    int                rc;
    char               dir[PATH_MAX];
    pid_t              pid;
    mcp_store_t       *s, *c;
    mcp_store_link_t   out;

    test_dir(dir, "fork");
    s = test_open(dir, 0, MCP_STORE_NOSYNC);
    test_put(s, "parent", "https://example.com/parent");

    fflush(stdout);
    pid = fork();

    if (pid == 0) {
        /* never the parent's handle: a handle of our own */

        c = test_open(dir, 0, MCP_STORE_NOSYNC);
        rc = (c != NULL
              && mcp_store_link_get(c, "parent", 6, &out) == MCP_STORE_OK
              && test_put(c, "child", "https://example.com/child")
                 == MCP_STORE_OK);
        mcp_store_close(c);
        _exit(rc ? 0 : 1);
    }

    TAP_OK(test_wait(pid) == 0,
           "fork: a child opens the store itself and writes a link");

    rc = mcp_store_link_get(s, "child", 5, &out);
    TAP_OK(rc == MCP_STORE_OK
           && test_url_is(&out, "https://example.com/child"),
           "fork: the parent's open handle reads the child's link");

    mcp_store_close(s);
}


/*
 * The url that mcp_store_link_get() hands out lives in the snapshot the
 * handle keeps until mcp_store_release() or its next call.  Another
 * process rewrites that link over and over meanwhile: were the snapshot
 * let go, its pages would be reused under the url.
 */

static void
test_get_lifetime(void)
{
    int                rc, ok;
    char               dir[PATH_MAX], code[16], url[64];
    size_t             i;
    pid_t              pid;
    mcp_store_t       *s, *c;
    mcp_store_link_t   out;
    mcp_store_visit_t  v;

    test_dir(dir, "lifetime");
    s = test_open(dir, 0, MCP_STORE_NOSYNC);

    for (i = 0; i < 100; i++) {
        snprintf(code, sizeof(code), "l%03u", (unsigned) i);
        snprintf(url, sizeof(url), "https://example.com/lifetime/%03u",
                 (unsigned) i);
        test_put(s, code, url);
    }

    rc = mcp_store_link_get(s, "l050", 4, &out);

    fflush(stdout);
    pid = fork();

    if (pid == 0) {
        c = test_open(dir, 0, MCP_STORE_NOSYNC);
        rc = (c != NULL);

        v = test_visit("l050", 1, 1);

        for (i = 0; rc && i < 200; i++) {
            rc = mcp_store_link_delete(c, "l050", 4) == MCP_STORE_OK;
            snprintf(url, sizeof(url), "https://example.com/CHANGED/%u",
                     (unsigned) i);
            rc = rc && test_put(c, "l050", url) == MCP_STORE_OK;
            rc = rc && mcp_store_link_add_visits(c, &v, 1) == MCP_STORE_OK;
        }

        mcp_store_close(c);
        _exit(rc ? 0 : 1);
    }

    TAP_OK(rc == MCP_STORE_OK && test_wait(pid) == 0
           && test_url_is(&out, "https://example.com/lifetime/050"),
           "get: url stays intact until the next call, whatever other "
           "processes write");

    ok = (s->rlive == 1);
    mcp_store_release(s);
    ok = ok && s->rlive == 0;
    mcp_store_release(s);
    mcp_store_release(NULL);
    TAP_OK(ok && s->rlive == 0, "release: ends the snapshot a get left "
           "open; twice, or NULL, is harmless");

    rc = mcp_store_link_get(s, "l050", 4, &out);
    TAP_OK(rc == MCP_STORE_OK
           && test_url_is(&out, "https://example.com/CHANGED/199")
           && out.visits == 1,
           "get: the next call sees the other process's writes");

    mcp_store_close(s);
}


static void
test_reader_check(void)
{
    int                rc, dead;
    char               dir[PATH_MAX];
    pid_t              pid;
    mcp_store_t       *s, *c;
    mcp_store_stat_t   st;
    mcp_store_link_t   out;

    test_dir(dir, "readers");
    s = test_open(dir, 0, 0);
    test_put(s, "r", "https://example.com/r");

    dead = -1;
    rc = mcp_store_reader_check(s, &dead);
    TAP_OK(rc == MCP_STORE_OK && dead == 0,
           "reader_check: no dead readers in a fresh store");

    TAP_RC(mcp_store_reader_check(s, NULL), MCP_STORE_OK,
           "reader_check: dead may be NULL");

    /* a child that dies holding a reader slot, as a killed worker does */

    fflush(stdout);
    pid = fork();

    if (pid == 0) {
        c = test_open(dir, 0, 0);
        rc = c != NULL && mcp_store_link_get(c, "r", 1, &out) == MCP_STORE_OK;
        _exit(rc ? 0 : 1);
    }

    rc = test_wait(pid);
    rc |= mcp_store_stat(s, &st);
    TAP_OK(rc == 0 && st.readers_used == 2,
           "reader_check: a dead child's reader slot is counted");

    dead = -1;
    rc = mcp_store_reader_check(s, &dead);
    TAP_OK(rc == MCP_STORE_OK && dead == 1,
           "reader_check: clears the dead child's slot");

    rc = mcp_store_stat(s, &st);
    TAP_OK(rc == MCP_STORE_OK && st.readers_used == 1,
           "reader_check: one reader slot left, ours");

    mcp_store_close(s);
}


/*
 * Another process opens the store with a larger map and fills it past
 * ours: our next read, and our next write, must map it again
 * (MDB_MAP_RESIZED) rather than fail.
 */

#define TEST_GROWN_LINKS  1000

/*
 * MCP_STORE_WRITEMAP: the file is the map's length but takes only what
 * was written; handles without the flag, in other processes, read and
 * write the same environment; a smaller map never truncates the file.
 */

static void
test_writemap(void)
{
    int                rc;
    char               dir[PATH_MAX], file[PATH_MAX + 16];
    pid_t              pid;
    struct stat        st;
    mcp_store_t       *s, *c;
    mcp_store_link_t   out;
    mcp_store_stat_t   ss;

    test_dir(dir, "writemap");
    snprintf(file, sizeof(file), "%s/data.mdb", dir);

    s = test_open(dir, 4 * TEST_MIB, MCP_STORE_NOSYNC | MCP_STORE_WRITEMAP);
    rc = test_put(s, "w0", "https://example.com/w0");
    TAP_RC(rc, MCP_STORE_OK, "writemap: a put commits");

    rc = stat(file, &st);
    TAP_OK(rc == 0 && (size_t) st.st_size == 4 * TEST_MIB
           && (size_t) st.st_blocks * 512 >= 4 * TEST_MIB,
           "writemap: data.mdb is the map's length, its disk reserved "
           "ahead of the writes (all of a map under 64 MiB: %lld bytes, "
           "%lld on disk)", (long long) st.st_size,
           (long long) st.st_blocks * 512);

    /* a process without the flag, as the command-line tool is */

    fflush(stdout);
    pid = fork();

    if (pid == 0) {
        c = test_open(dir, 0, 0);
        rc = (c != NULL
              && mcp_store_link_get(c, "w0", 2, &out) == MCP_STORE_OK
              && test_url_is(&out, "https://example.com/w0")
              && test_put(c, "p1", "https://example.com/p1")
                 == MCP_STORE_OK);
        mcp_store_close(c);
        _exit(rc ? 0 : 1);
    }

    rc = test_wait(pid);
    TAP_OK(rc == 0, "writemap: a handle without it reads and writes too");

    rc = mcp_store_link_get(s, "p1", 2, &out);
    TAP_OK(rc == MCP_STORE_OK && test_url_is(&out, "https://example.com/p1"),
           "writemap: its write is read through the write map");

    rc = test_put(s, "w2", "https://example.com/w2");
    TAP_OK(rc == MCP_STORE_OK && mcp_store_sync(s) == MCP_STORE_OK,
           "writemap: puts and syncs after it");

    mcp_store_close(s);

    /* a smaller map_size keeps the file and maps all of it */

    s = test_open(dir, 1 * TEST_MIB, MCP_STORE_NOSYNC | MCP_STORE_WRITEMAP);
    rc = stat(file, &st);
    TAP_OK(s != NULL && rc == 0 && (size_t) st.st_size == 4 * TEST_MIB
           && mcp_store_stat(s, &ss) == MCP_STORE_OK
           && ss.map_size == 4 * TEST_MIB,
           "writemap: a smaller map_size does not truncate the file");

    rc = mcp_store_link_get(s, "w2", 2, &out);
    TAP_OK(rc == MCP_STORE_OK && test_url_is(&out, "https://example.com/w2")
           && ss.links == 3, "writemap: every link is there");

    mcp_store_close(s);

    s = test_open(dir, 0, MCP_STORE_RDONLY | MCP_STORE_WRITEMAP);
    rc = (s != NULL) ? mcp_store_link_get(s, "w0", 2, &out) : -1;
    TAP_OK(rc == MCP_STORE_OK && stat(file, &st) == 0
           && (size_t) st.st_size == 4 * TEST_MIB,
           "writemap: ignored by a read-only handle");
    mcp_store_close(s);
}


/*
 * A write map on a full disk: a write into a hole of the file would
 * raise SIGBUS; the reserve made before each write transaction
 * (mcp_store_back()) turns it into MCP_STORE_NOSPACE, with nothing
 * written.  The disk is a 72 MiB tmpfs (the reserve is 64 MiB past the
 * last page in use), which needs root.
 */

#define TEST_NOSPACE_FS   "size=72m,mode=0700"

static void
test_writemap_nospace(void)
{
    int                rc;
    char               dir[PATH_MAX], code[16], url[2048];
    size_t             n, kept;
    mcp_store_t       *s;
    mcp_store_link_t   out;
    mcp_store_stat_t   st;

    test_dir(dir, "nospace");

    if (mount("mcp-test", dir, "tmpfs", 0, TEST_NOSPACE_FS) == -1) {
        tap_diag("mount(tmpfs): %s", strerror(errno));
        TAP_OK(1, "# SKIP writemap on a full disk: tmpfs cannot be "
               "mounted here");
        TAP_OK(1, "# SKIP");
        TAP_OK(1, "# SKIP");
        TAP_OK(1, "# SKIP");
        TAP_OK(1, "# SKIP");
        TAP_OK(1, "# SKIP");
        return;
    }

    s = test_open(dir, 256 * TEST_MIB, MCP_STORE_NOSYNC | MCP_STORE_WRITEMAP);
    TAP_OK(s != NULL, "nospace: a 256 MiB map opens on a 72 MiB disk");

    memset(url, 'q', sizeof(url) - 1);
    url[sizeof(url) - 1] = '\0';
    memcpy(url, "https://example.com/", 20);

    rc = MCP_STORE_OK;
    kept = 0;

    for (n = 0; s != NULL && n < 100000 && rc == MCP_STORE_OK; n++) {
        snprintf(code, sizeof(code), "n%06u", (unsigned) n);
        url[20] = (char) ('a' + n % 26);
        rc = test_put(s, code, url);
        kept += (rc == MCP_STORE_OK);
    }

    TAP_RC(rc, MCP_STORE_NOSPACE, "nospace: the disk fills up with "
           "NOSPACE, no SIGBUS (%u links kept)", (unsigned) kept);

    rc = (s != NULL) ? mcp_store_stat(s, &st) : -1;
    TAP_OK(rc == MCP_STORE_OK && st.links == kept && kept > 1000,
           "nospace: every link reported kept is there, nothing of the "
           "refused one");

    snprintf(code, sizeof(code), "n%06u", (unsigned) (kept - 1));
    rc = (s != NULL) ? mcp_store_link_get(s, code, 7, &out) : -1;
    TAP_OK(rc == MCP_STORE_OK && out.url_len == sizeof(url) - 1,
           "nospace: the store still reads");

    mcp_store_close(s);

    /* a worker started on the full disk (a reload, a respawn) */

    s = test_open(dir, 256 * TEST_MIB, MCP_STORE_NOSYNC | MCP_STORE_WRITEMAP);
    rc = (s != NULL) ? mcp_store_link_get(s, code, 7, &out) : -1;
    TAP_OK(rc == MCP_STORE_OK,
           "nospace: the store opens again on the full disk and reads");

    rc = (s != NULL) ? test_put(s, "after", url) : -1;
    TAP_RC(rc, MCP_STORE_NOSPACE, "nospace: and refuses writes");

    mcp_store_close(s);

    if (umount(dir) == -1) {
        tap_diag("umount(\"%s\"): %s", dir, strerror(errno));
    }
}


/*
 * A link write does not count the pages in use while the file is far
 * below the limit (mcp_store_write_small()): filling an 8 MiB map (a
 * 1 MiB reserve) still stops at the reserve, not at the map's end.
 */

static void
test_reserve_far(void)
{
    int                rc;
    char               dir[PATH_MAX], code[16], url[1024];
    size_t             n;
    mcp_store_t       *s;
    mcp_store_stat_t   st;

    test_dir(dir, "reserve-far");
    s = test_open(dir, 8 * TEST_MIB, MCP_STORE_NOSYNC | MCP_STORE_WRITEMAP);

    memset(url, 'p', sizeof(url) - 1);
    url[sizeof(url) - 1] = '\0';
    memcpy(url, "https://example.com/", 20);

    rc = MCP_STORE_OK;
    for (n = 0; n < 100000 && rc == MCP_STORE_OK; n++) {
        snprintf(code, sizeof(code), "r%06u", (unsigned) n);
        url[20] = (char) ('a' + n % 26);
        rc = test_put(s, code, url);
    }

    TAP_RC(rc, MCP_STORE_FULL, "reserve: an 8 MiB map fills up with FULL "
           "(%u links)", (unsigned) n);

    rc = mcp_store_stat(s, &st);
    TAP_OK(rc == MCP_STORE_OK && st.used_bytes <= 7 * TEST_MIB + 64 * TEST_KIB
           && st.used_bytes > 6 * TEST_MIB,
           "reserve: at the reserve's edge, not the map's end (%llu bytes "
           "used)", (unsigned long long) st.used_bytes);

    rc = mcp_store_link_delete(s, "r000001", 7);
    TAP_RC(rc, MCP_STORE_OK, "reserve: a delete of the full store works");

    mcp_store_close(s);
}


/*
 * Another process opens the store with a 4 MiB map and writes
 * TEST_GROWN_LINKS links into it (more than 64 KiB): 0 when it did.
 */

static int
test_grow(const char *dir)
{
    int           rc;
    char          code[16];
    size_t        i;
    pid_t         pid;
    mcp_store_t  *c;

    fflush(stdout);
    pid = fork();

    if (pid == 0) {
        c = test_open(dir, 4 * TEST_MIB, MCP_STORE_NOSYNC);
        rc = (c != NULL);

        for (i = 0; rc && i < TEST_GROWN_LINKS; i++) {
            snprintf(code, sizeof(code), "c%03u", (unsigned) i);
            rc = test_put(c, code, "https://example.com/grown/"
                          "padding-padding-padding-padding") == MCP_STORE_OK;
        }

        mcp_store_close(c);
        _exit(rc ? 0 : 1);
    }

    return test_wait(pid);
}


/*
 * The map grown by another process while a shared handle is in use on
 * another thread (mcp_store_share_busy()): neither handle maps the
 * environment again under the other; the owner does once the shared
 * handle is back.
 */

static void
test_map_grown_shared(void)
{
    int                rc;
    char               dir[PATH_MAX], code[16];
    mcp_store_t       *s, *t;
    mcp_store_link_t   out;
    mcp_store_stat_t   st;

    test_dir(dir, "grown-shared");
    s = test_open(dir, 64 * TEST_KIB, MCP_STORE_NOSYNC);
    test_put(s, "p0", "https://example.com/p0");
    rc = (s != NULL) ? mcp_store_share(s, &t) : -1;
    TAP_RC(rc, MCP_STORE_OK, "grown, shared: a second handle");

    rc = test_grow(dir);
    TAP_OK(rc == 0, "grown, shared: a child grows the map to 4 MiB");

    mcp_store_share_busy(s, 1);

    snprintf(code, sizeof(code), "c%03u", (unsigned) TEST_GROWN_LINKS - 1);
    rc = mcp_store_link_get(s, code, strlen(code), &out);
    TAP_RC(rc, MCP_STORE_EIO, "grown, shared: the owner does not remap "
           "while the shared handle is busy");

    rc = test_put(t, "t1", "https://example.com/t1");
    TAP_RC(rc, MCP_STORE_EIO, "grown, shared: nor does the shared handle");

    mcp_store_share_busy(s, 0);

    rc = mcp_store_link_get(s, code, strlen(code), &out);
    rc |= mcp_store_stat(s, &st);
    TAP_OK(rc == MCP_STORE_OK && st.map_size == 4 * TEST_MIB,
           "grown, shared: the owner remaps once it is back");

    rc = test_put(t, "t1", "https://example.com/t1");
    TAP_RC(rc, MCP_STORE_OK, "grown, shared: and the shared handle writes "
           "in the new map");

    mcp_store_close(t);
    mcp_store_close(s);
}


static void
test_map_grown(void)
{
    int                rc;
    char               dir[PATH_MAX], code[16], *url;
    size_t             i;
    pid_t              pid;
    mcp_store_t       *s, *c;
    mcp_store_link_t   out, link;
    mcp_store_stat_t   st;

    test_dir(dir, "grown");
    s = test_open(dir, 64 * TEST_KIB, MCP_STORE_NOSYNC);
    test_put(s, "p0", "https://example.com/p0");

    rc = test_grow(dir);
    TAP_OK(rc == 0, "map grown: a child with a 4 MiB map writes %d links",
           TEST_GROWN_LINKS);

    snprintf(code, sizeof(code), "c%03u", (unsigned) TEST_GROWN_LINKS - 1);
    rc = mcp_store_link_get(s, code, strlen(code), &out);
    TAP_RC(rc, MCP_STORE_OK, "map grown: our next read maps it again");

    rc = mcp_store_stat(s, &st);
    TAP_OK(rc == MCP_STORE_OK && st.map_size == 4 * TEST_MIB
           && st.links == TEST_GROWN_LINKS + 1,
           "map grown: our map is the child's size now");

    /* grown past 4 MiB by big values, and a write comes first */

    fflush(stdout);
    pid = fork();

    if (pid == 0) {
        c = test_open(dir, 16 * TEST_MIB, MCP_STORE_NOSYNC);
        url = malloc(128 * TEST_KIB);
        rc = (c != NULL && url != NULL);

        link = test_link(NULL, 1, 0, 0, 0, 0);

        if (rc) {
            memset(url, 'u', 128 * TEST_KIB);
            link.url = url;
            link.url_len = 128 * TEST_KIB;
        }

        for (i = 0; rc && i < 40; i++) {
            snprintf(code, sizeof(code), "big%02u", (unsigned) i);
            rc = mcp_store_link_put(c, code, strlen(code), &link)
                 == MCP_STORE_OK;
        }

        free(url);
        mcp_store_close(c);
        _exit(rc ? 0 : 1);
    }

    rc = test_wait(pid);
    TAP_OK(rc == 0, "map grown: a child with a 16 MiB map writes 5 MiB");

    rc = test_put(s, "p1", "https://example.com/p1");
    TAP_RC(rc, MCP_STORE_OK, "map grown: our next write maps it again");

    rc = mcp_store_link_get(s, "big39", 5, &out);
    rc |= mcp_store_stat(s, &st);
    TAP_OK(rc == MCP_STORE_OK && out.url_len == 128 * TEST_KIB
           && st.map_size == 16 * TEST_MIB
           && st.links == TEST_GROWN_LINKS + 42,
           "map grown: the child's links and map size are ours to read");

    mcp_store_close(s);
}


static void
test_session_put_get(void)
{
    int                  rc, ok;
    char                 dir[PATH_MAX], id64[MCP_STORE_CODE_MAX], *big;
    mcp_store_t         *s;
    mcp_store_link_t     link;
    mcp_store_stat_t     st;
    mcp_store_session_t  in, out;

    test_dir(dir, "session-put-get");
    s = test_open(dir, 0, 0);

    in = test_session(1700000000, 1700000100, "2025-06-18", "claude-code",
                      "1.0.42", 3, 5);
    rc = mcp_store_session_put(s, "sess1", 5, &in);
    TAP_RC(rc, MCP_STORE_OK, "session put: stores a session");

    memset(&out, 0, sizeof(out));
    rc = mcp_store_session_get(s, "sess1", 5, &out);
    TAP_OK(rc == MCP_STORE_OK && test_session_is(&out, &in),
           "session get: every field comes back");

    TAP_OK(out.protocol != in.protocol && out.client_name != in.client_name
           && out.client_version != in.client_version && s->rlive == 1,
           "session get: strings point into the store, whose snapshot "
           "stays open");

    in = test_session(INT64_MIN, INT64_MAX, NULL, NULL, NULL, UINT_MAX,
                      UINT_MAX);
    rc = mcp_store_session_put(s, "ext", 3, &in);
    rc |= mcp_store_session_get(s, "ext", 3, &out);
    TAP_OK(rc == MCP_STORE_OK && test_session_is(&out, &in),
           "session put/get: extreme values and empty strings round-trip");

    big = malloc(MCP_STORE_SESSION_STR_MAX + 1);
    if (big == NULL) {
        tap_bail("malloc");
    }

    memset(big, 'b', MCP_STORE_SESSION_STR_MAX + 1);

    in = test_session(1, 2, NULL, NULL, NULL, 0, 0);
    in.protocol = in.client_name = in.client_version = big;
    in.protocol_len = in.client_name_len = in.client_version_len
        = MCP_STORE_SESSION_STR_MAX;

    rc = mcp_store_session_put(s, "big", 3, &in);
    rc |= mcp_store_session_get(s, "big", 3, &out);
    TAP_OK(rc == MCP_STORE_OK && test_session_is(&out, &in),
           "session put/get: three strings of 1024 bytes round-trip");

    in.protocol_len++;
    ok = mcp_store_session_put(s, "big1", 4, &in) == MCP_STORE_EINVAL;
    in.protocol_len--;
    in.client_name_len++;
    ok &= mcp_store_session_put(s, "big1", 4, &in) == MCP_STORE_EINVAL;
    in.client_name_len--;
    in.client_version_len++;
    ok &= mcp_store_session_put(s, "big1", 4, &in) == MCP_STORE_EINVAL;
    TAP_OK(ok
           && mcp_store_session_get(s, "big1", 4, &out) == MCP_STORE_NOTFOUND,
           "session put: any string of 1025 bytes is EINVAL, and nothing "
           "is stored");
    free(big);

    in = test_session(1, 2, "p", "n", "v", 0, 0);

    memset(id64, 'I', sizeof(id64));
    rc = mcp_store_session_put(s, id64, sizeof(id64), &in);
    rc |= mcp_store_session_get(s, id64, sizeof(id64), &out);
    TAP_OK(rc == MCP_STORE_OK && test_session_is(&out, &in),
           "session put/get: a 64-byte id is accepted");

    rc = mcp_store_session_put(s, "a\0b", 3, &in);
    rc |= mcp_store_session_get(s, "a\0b", 3, &out);
    TAP_OK(rc == MCP_STORE_OK
           && mcp_store_session_get(s, "a", 1, &out) == MCP_STORE_NOTFOUND,
           "session put/get: ids are bytes, NUL included");

    rc = mcp_store_session_get(s, "nope", 4, &out);
    TAP_OK(rc == MCP_STORE_NOTFOUND && s->rlive == 0,
           "session get: a missing id is NOTFOUND, and keeps no snapshot");

    rc = mcp_store_session_put(s, "sess1", 5, &in);
    TAP_RC(rc, MCP_STORE_EXISTS, "session put: a taken id is EXISTS");

    rc = mcp_store_session_get(s, "sess1", 5, &out);
    TAP_OK(rc == MCP_STORE_OK && out.created_at == 1700000000
           && test_str_is(out.client_name, out.client_name_len,
                          "claude-code"),
           "session put: the original session is unchanged after EXISTS");

    /* sessions and links live apart */

    rc = test_put(s, "sess1", "https://example.com/sess1");
    rc |= mcp_store_link_get(s, "sess1", 5, &link);
    rc |= mcp_store_stat(s, &st);
    TAP_OK(rc == MCP_STORE_OK && st.links == 1
           && mcp_store_session_get(s, "sess1", 5, &out) == MCP_STORE_OK
           && out.created_at == 1700000000,
           "session put: a link may share a session's id; stat counts "
           "links only");

    mcp_store_close(s);
}


static void
test_session_args(void)
{
    char                 dir[PATH_MAX], id[MCP_STORE_CODE_MAX + 1];
    size_t               bad[] = { 0, MCP_STORE_CODE_MAX + 1 }, removed;
    unsigned             i, ok;
    mcp_store_t         *s;
    mcp_store_touch_t    t;
    mcp_store_session_t  ss, out;

    test_dir(dir, "session-args");
    s = test_open(dir, 0, 0);

    memset(id, 's', sizeof(id));
    ss = test_session(1, 2, "p", "n", "v", 0, 0);
    mcp_store_session_put(s, id, MCP_STORE_CODE_MAX, &ss);

    ok = 1;

    for (i = 0; i < 2; i++) {
        ok &= mcp_store_session_put(s, id, bad[i], &ss) == MCP_STORE_EINVAL;
        ok &= mcp_store_session_get(s, id, bad[i], &out) == MCP_STORE_EINVAL;
        ok &= mcp_store_session_update(s, id, bad[i], &ss)
              == MCP_STORE_EINVAL;
        ok &= mcp_store_session_delete(s, id, bad[i]) == MCP_STORE_EINVAL;
    }

    ok &= mcp_store_session_put(s, NULL, 3, &ss) == MCP_STORE_EINVAL;
    ok &= mcp_store_session_get(s, NULL, 3, &out) == MCP_STORE_EINVAL;
    ok &= mcp_store_session_update(s, NULL, 3, &ss) == MCP_STORE_EINVAL;
    ok &= mcp_store_session_delete(s, NULL, 3) == MCP_STORE_EINVAL;

    TAP_OK(ok, "session put, get, update, delete: an id of 0 or 65 bytes, "
           "or NULL, is EINVAL");

    ok = 1;
    ss.protocol = NULL;
    ok &= mcp_store_session_put(s, "x", 1, &ss) == MCP_STORE_EINVAL;
    ok &= mcp_store_session_update(s, id, MCP_STORE_CODE_MAX, &ss)
          == MCP_STORE_EINVAL;
    ss = test_session(1, 2, "p", "n", "v", 0, 0);
    ss.client_version_len = MCP_STORE_SESSION_STR_MAX + 1;
    ok &= mcp_store_session_update(s, id, MCP_STORE_CODE_MAX, &ss)
          == MCP_STORE_EINVAL;

    TAP_OK(ok && mcp_store_session_get(s, id, MCP_STORE_CODE_MAX, &out)
                 == MCP_STORE_OK
           && test_str_is(out.client_version, out.client_version_len, "v"),
           "session put, update: a NULL string with a length, or 1025 "
           "bytes, is EINVAL and changes nothing");

    t = test_touch("x", 1);
    removed = 7;

    TAP_OK(mcp_store_session_put(NULL, "x", 1, &ss) == MCP_STORE_EINVAL
           && mcp_store_session_put(s, "x", 1, NULL) == MCP_STORE_EINVAL
           && mcp_store_session_get(NULL, "x", 1, &out) == MCP_STORE_EINVAL
           && mcp_store_session_get(s, "x", 1, NULL) == MCP_STORE_EINVAL
           && mcp_store_session_update(NULL, "x", 1, &ss) == MCP_STORE_EINVAL
           && mcp_store_session_update(s, "x", 1, NULL) == MCP_STORE_EINVAL
           && mcp_store_session_touch(NULL, &t, 1) == MCP_STORE_EINVAL
           && mcp_store_session_delete(NULL, "x", 1) == MCP_STORE_EINVAL
           && mcp_store_session_expire(NULL, 1, 1, &removed, NULL)
              == MCP_STORE_EINVAL
           && removed == 0
           && mcp_store_session_walk(NULL, test_session_cb, NULL)
              == MCP_STORE_EINVAL
           && mcp_store_session_walk(s, NULL, NULL) == MCP_STORE_EINVAL,
           "session functions: a NULL handle, session or cb is EINVAL");

    mcp_store_close(s);
}


static void
test_session_update(void)
{
    int                  rc;
    char                 dir[PATH_MAX];
    mcp_store_t         *s;
    mcp_store_session_t  in, upd, out;

    test_dir(dir, "session-update");
    s = test_open(dir, 0, 0);

    in = test_session(10, 20, "2024-11-05", "old-name", "0.1", 1, 0);
    mcp_store_session_put(s, "u", 1, &in);

    upd = test_session(11, 30, "2025-06-18", "new-name", "2.0", 7, 3);
    rc = mcp_store_session_update(s, "u", 1, &upd);
    rc |= mcp_store_session_get(s, "u", 1, &out);
    TAP_OK(rc == MCP_STORE_OK && test_session_is(&out, &upd),
           "session update: replaces every field");

    /* what the module does to set a log level */

    in = test_session(10, 20, "2024-11-05", "get-then-update", "0.1", 1, 0);
    mcp_store_session_put(s, "g", 1, &in);
    rc = mcp_store_session_get(s, "g", 1, &out);
    out.log_level = 6;
    rc |= mcp_store_session_update(s, "g", 1, &out);
    rc |= mcp_store_session_get(s, "g", 1, &out);
    in.log_level = 6;
    TAP_OK(rc == MCP_STORE_OK && test_session_is(&out, &in),
           "session update: a session from get, a field changed, is written "
           "whole");

    rc = mcp_store_session_update(s, "nope", 4, &upd);
    TAP_OK(rc == MCP_STORE_NOTFOUND
           && mcp_store_session_get(s, "nope", 4, &out) == MCP_STORE_NOTFOUND,
           "session update: a missing session is NOTFOUND, and not created");

    rc = mcp_store_session_delete(s, "u", 1);
    TAP_RC(rc, MCP_STORE_OK, "session delete: removes a session");

    rc = mcp_store_session_get(s, "u", 1, &out);
    TAP_RC(rc, MCP_STORE_NOTFOUND, "session delete: the session is gone");

    rc = mcp_store_session_update(s, "u", 1, &upd);
    TAP_OK(rc == MCP_STORE_NOTFOUND
           && mcp_store_session_get(s, "u", 1, &out) == MCP_STORE_NOTFOUND,
           "session update: a deleted session is NOTFOUND and stays "
           "deleted");

    rc = mcp_store_session_delete(s, "u", 1);
    TAP_RC(rc, MCP_STORE_NOTFOUND, "session delete: a missing id is "
           "NOTFOUND");

    mcp_store_close(s);
}


#define TEST_NEIGHBOURS  40

static void
test_session_touch(void)
{
    int                  rc, ok;
    char                 dir[PATH_MAX], name[MCP_STORE_SESSION_STR_MAX];
    char                 ids[TEST_NEIGHBOURS][8];
    size_t               i;
    mcp_store_t         *s;
    mcp_store_touch_t    t[8], many[TEST_NEIGHBOURS];
    mcp_store_session_t  in, out;

    test_dir(dir, "session-touch");
    s = test_open(dir, 0, 0);

    in = test_session(1, 100, "2025-06-18", "client-a", "1.0", 2, 1);
    mcp_store_session_put(s, "A", 1, &in);
    in = test_session(1, 200, "2025-06-18", "client-b", "1.0", 2, 1);
    mcp_store_session_put(s, "B", 1, &in);

    t[0] = test_touch("A", 150);
    t[1] = test_touch("gone", 999);
    t[2] = test_touch("B", 50);
    t[3] = test_touch("", 1);
    t[4] = test_touch("A", 120);

    rc = mcp_store_session_touch(s, t, 5);
    TAP_RC(rc, MCP_STORE_OK, "session touch: a batch with a missing id and "
           "an empty id succeeds");

    rc = mcp_store_session_get(s, "A", 1, &out);
    TAP_OK(rc == MCP_STORE_OK && out.last_seen == 150,
           "session touch: raises last_seen; a later entry for less does "
           "not lower it");

    TAP_OK(test_str_is(out.client_name, out.client_name_len, "client-a")
           && test_str_is(out.protocol, out.protocol_len, "2025-06-18")
           && out.created_at == 1 && out.log_level == 2 && out.flags == 1,
           "session touch: other fields unchanged");

    rc = mcp_store_session_get(s, "B", 1, &out);
    TAP_OK(rc == MCP_STORE_OK && out.last_seen == 200,
           "session touch: an older last_seen does not go back");

    rc = mcp_store_session_get(s, "gone", 4, &out);
    TAP_RC(rc, MCP_STORE_NOTFOUND, "session touch: a missing session is "
           "skipped, not created");

    mcp_store_session_delete(s, "B", 1);
    t[0] = test_touch("B", 500);
    rc = mcp_store_session_touch(s, t, 1);
    TAP_OK(rc == MCP_STORE_OK
           && mcp_store_session_get(s, "B", 1, &out) == MCP_STORE_NOTFOUND,
           "session touch: a deleted session is not brought back");

    TAP_OK(mcp_store_session_touch(s, NULL, 0) == MCP_STORE_OK
           && mcp_store_session_touch(s, NULL, 1) == MCP_STORE_EINVAL,
           "session touch: an empty batch is fine, a NULL batch EINVAL");

    /* neighbours of 1 KiB names on shared pages: each update rewrites the
     * page the next one's strings were decoded from */

    for (i = 0; i < TEST_NEIGHBOURS; i++) {
        snprintf(ids[i], sizeof(ids[i]), "n%02u", (unsigned) i);
        memset(name, 'a' + (int) i % 26, sizeof(name));
        in = test_session(1, 10, "2025-06-18", NULL, "1.0", 0, 0);
        in.client_name = name;
        in.client_name_len = sizeof(name);
        mcp_store_session_put(s, ids[i], strlen(ids[i]), &in);
        many[i] = test_touch(ids[i], 1000 + (int64_t) i);
    }

    rc = mcp_store_session_touch(s, many, TEST_NEIGHBOURS);

    ok = 1;
    for (i = 0; i < TEST_NEIGHBOURS; i++) {
        memset(name, 'a' + (int) i % 26, sizeof(name));

        if (mcp_store_session_get(s, ids[i], strlen(ids[i]), &out)
            != MCP_STORE_OK
            || out.last_seen != 1000 + (int64_t) i
            || out.client_name_len != sizeof(name)
            || memcmp(out.client_name, name, sizeof(name)) != 0
            || !test_str_is(out.client_version, out.client_version_len,
                            "1.0"))
        {
            ok = 0;
            tap_diag("neighbour %u: last_seen %lld", (unsigned) i,
                     (long long) out.last_seen);
        }
    }

    TAP_OK(rc == MCP_STORE_OK && ok,
           "session touch: %d sessions of 1 KiB on shared pages in one "
           "batch, all intact", TEST_NEIGHBOURS);

    mcp_store_close(s);
}


static void
test_session_expire(void)
{
    int                rc, ok, more;
    char               dir[PATH_MAX], id[8];
    size_t             i, removed;
    mcp_store_t       *s;
    test_list_t        l;
    mcp_store_link_t   link;

    test_dir(dir, "session-expire");
    s = test_open(dir, 0, 0);

    for (i = 0; i < 20; i++) {
        snprintf(id, sizeof(id), "e%02u", (unsigned) i);
        test_sput(s, id, 100 + 10 * (int64_t) i);
    }

    test_put(s, "keep", "https://example.com/keep");

    rc = mcp_store_session_expire(s, 150, 100, &removed, NULL);
    rc |= test_sessions(s, &l);
    TAP_OK(rc == MCP_STORE_OK && removed == 5 && l.calls == 15
           && strncmp(l.codes, "e05,e06,", 8) == 0,
           "session expire: removes those idle before the time; last_seen "
           "at it stays");
    tap_diag("removed %u, left %s", (unsigned) removed, l.codes);

    rc = mcp_store_session_expire(s, 1000, 4, &removed, &more);
    rc |= test_sessions(s, &l);
    TAP_OK(rc == MCP_STORE_OK && removed == 4 && l.calls == 11 && more == 1
           && strncmp(l.codes, "e09,", 4) == 0,
           "session expire: stops after max deletions, in id order, and "
           "says more are left");

    rc = mcp_store_session_expire(s, 1000, 0, &removed, NULL);
    rc |= test_sessions(s, &l);
    TAP_OK(rc == MCP_STORE_OK && removed == 0 && l.calls == 11,
           "session expire: max 0 deletes none");

    rc = mcp_store_session_expire(s, 1000, 100, NULL, NULL);
    rc |= test_sessions(s, &l);
    TAP_OK(rc == MCP_STORE_OK && l.calls == 0,
           "session expire: removed may be NULL; the rest go");

    removed = 7;
    rc = mcp_store_session_expire(s, 1000, 100, &removed, &more);
    TAP_OK(rc == MCP_STORE_OK && removed == 0 && more == 0,
           "session expire: nothing to remove is fine");

    /* a sweep goes on from where the last one stopped */

    test_sput(s, "a0", 100);
    test_sput(s, "a1", 100);
    test_sput(s, "b0", 5000);
    test_sput(s, "c0", 100);

    rc = mcp_store_session_expire(s, 1000, 1, &removed, &more);
    ok = (rc == MCP_STORE_OK && removed == 1 && more == 1);

    test_sput(s, "a00", 100);

    rc = mcp_store_session_expire(s, 1000, 1, &removed, &more);
    ok &= (rc == MCP_STORE_OK && removed == 1 && more == 1);

    rc = mcp_store_session_expire(s, 1000, 5, &removed, &more);
    rc |= test_sessions(s, &l);
    TAP_OK(ok && rc == MCP_STORE_OK && removed == 1 && more == 0
           && strcmp(l.codes, "a00,b0") == 0,
           "session expire: each sweep goes on after the last, to the end: "
           "%s", l.codes);

    rc = mcp_store_session_expire(s, 1000, 5, &removed, &more);
    rc |= test_sessions(s, &l);
    TAP_OK(rc == MCP_STORE_OK && removed == 1 && more == 0
           && strcmp(l.codes, "b0") == 0,
           "session expire: and the next from the first: %s", l.codes);

    rc = mcp_store_link_get(s, "keep", 4, &link);
    TAP_RC(rc, MCP_STORE_OK, "session expire: links are left alone");

    mcp_store_close(s);
}


static void
test_session_corrupt(void)
{
    int                  rc;
    char                 dir[PATH_MAX];
    size_t               removed;
    mcp_store_t         *s;
    test_list_t          l;
    mcp_store_touch_t    t[5];
    mcp_store_session_t  in, out;

    test_dir(dir, "session-corrupt");

    s = test_open(dir, 0, 0);
    test_sput(s, "c1", 500);
    test_sput(s, "c3", 500);
    mcp_store_close(s);

    /* cut short; nil; a link record in the sessions database */

    if (test_raw_put(dir, MCP_STORE_DB_SESSIONS, "c0", "\x97\x01\x02\xa3p",
                     5) != 0
        || test_raw_put(dir, MCP_STORE_DB_SESSIONS, "c2", "\xc0", 1) != 0
        || test_raw_put(dir, MCP_STORE_DB_SESSIONS, "c4",
                        "\x96\xa1x\x01\x02\x03\x04\x05", 8) != 0)
    {
        tap_bail("raw put in %s", dir);
    }

    s = test_open(dir, 0, 0);

    rc = mcp_store_session_get(s, "c0", 2, &out);
    TAP_OK(rc == MCP_STORE_ECORRUPT && s->rlive == 0,
           "session corrupt: get is ECORRUPT, and keeps no snapshot");

    t[0] = test_touch("c0", 900);
    t[1] = test_touch("c1", 900);
    t[2] = test_touch("c2", 900);
    t[3] = test_touch("c3", 900);
    t[4] = test_touch("c4", 900);

    rc = mcp_store_session_touch(s, t, 5);
    rc |= mcp_store_session_get(s, "c1", 2, &out);
    TAP_OK(rc == MCP_STORE_OK && out.last_seen == 900
           && mcp_store_session_get(s, "c3", 2, &out) == MCP_STORE_OK
           && out.last_seen == 900,
           "session corrupt: touch skips them and touches the rest");

    rc = test_sessions(s, &l);
    TAP_OK(rc == MCP_STORE_OK && l.corrupt == 3
           && strcmp(l.codes, "c0,c1,c2,c3,c4") == 0,
           "session corrupt: walk passes them with session NULL");

    in = test_session(1, 900, "2025-06-18", "repaired", "1", 0, 0);
    rc = mcp_store_session_update(s, "c4", 2, &in);
    rc |= mcp_store_session_get(s, "c4", 2, &out);
    TAP_OK(rc == MCP_STORE_OK && test_session_is(&out, &in),
           "session corrupt: update overwrites one, which reads back");

    rc = mcp_store_session_expire(s, 0, 1, &removed, NULL);
    rc |= test_sessions(s, &l);
    TAP_OK(rc == MCP_STORE_OK && removed == 1
           && strcmp(l.codes, "c1,c2,c3,c4") == 0,
           "session corrupt: expire removes one, whatever idle_before, and "
           "it counts towards max");

    rc = mcp_store_session_expire(s, 0, 100, &removed, NULL);
    rc |= test_sessions(s, &l);
    TAP_OK(rc == MCP_STORE_OK && removed == 1 && l.corrupt == 0
           && strcmp(l.codes, "c1,c3,c4") == 0,
           "session corrupt: the next expire removes the last, and only it");

    mcp_store_close(s);
}


static void
test_session_codec(void)
{
    int                   rc, ok;
    char                  buf[128], small[8], *p;
    size_t                len, i;
    msgpack_packer        pk;
    msgpack_sbuffer       sb;
    msgpack_unpacked      u;
    msgpack_object       *o;
    mcp_store_session_t   in, out;

    static const struct {
        const char  *bytes;
        size_t       len;
        const char  *what;
    } bad[] = {
        { TEST_BYTES("\x96\x01\x02\xa1p\xa1n\xa1v\x03"), "6 fields" },
        { TEST_BYTES("\x98\x01\x02\xa1p\xa1n\xa1v\x03\x04\x05"),
          "an integer for the tenant" },
        { TEST_BYTES("\x99\x01\x02\xa1p\xa1n\xa1v\x03\x04\xa1t\x05"),
          "9 fields" },
        { TEST_BYTES("\x98\x01\x02\xa1p\xa1n\xa1v\x03\x04\xa0"),
          "an empty tenant" },
        { TEST_BYTES("\x97\x01\x02\xa1p\xa1n\xa1v\x03\x04\x00"),
          "a trailing byte" },
        { TEST_BYTES("\x97\x01\x02\xc4\x01p\xa1n\xa1v\x03\x04"),
          "bin for the protocol" },
        { TEST_BYTES("\x97\x01\x02\xa1p\xc0\xa1v\x03\x04"),
          "nil for the client name" },
        { TEST_BYTES("\x97\x01\x02\xa1p\xa1n\xa1v\xff\x04"),
          "a negative log_level" },
        { TEST_BYTES("\x97\x01\x02\xa1p\xa1n\xa1v\x03"
                     "\xcf\0\0\0\x01\0\0\0\0"),
          "flags above UINT_MAX" },
        { TEST_BYTES("\x97\xcb\0\0\0\0\0\0\0\0\x02\xa1p\xa1n\xa1v\x03\x04"),
          "a float for created_at" },
        { TEST_BYTES("\x97\x01\xcf\x80\0\0\0\0\0\0\0\xa1p\xa1n\xa1v\x03\x04"),
          "last_seen above INT64_MAX" },
        { TEST_BYTES("\x97\x01\x02\xa1p\xa1n\xa5v\x03\x04"),
          "a string longer than the record" },
        { TEST_BYTES(""), "nothing" }
    };

    in = test_session(-5, INT64_MAX, "2025-06-18", "name", NULL, UINT_MAX,
                      0);

    len = mcp_store_session_encode(&in, buf, sizeof(buf));
    rc = mcp_store_session_decode(buf, len, &out);

    /* fixarray, negative fixint, uint 64, then the fixstr header */
    TAP_OK(len <= sizeof(buf) && rc == MCP_STORE_OK
           && test_session_is(&out, &in) && out.protocol == buf + 12,
           "session codec: round trip, strings pointing into the record");

    memset(small, '#', sizeof(small));
    TAP_OK(mcp_store_session_encode(&in, small, 4) == len
           && memcmp(small + 4, "####", 4) == 0
           && mcp_store_session_encode(&in, NULL, 0) == len,
           "session codec: a short buffer is measured, never overrun");

    o = test_unpack(&u, buf, len, 7);
    ok = o != NULL
         && o[0].type == MSGPACK_OBJECT_NEGATIVE_INTEGER
         && o[0].via.i64 == -5
         && o[1].via.u64 == INT64_MAX
         && o[2].type == MSGPACK_OBJECT_STR && o[2].via.str.size == 10
         && o[3].type == MSGPACK_OBJECT_STR && o[3].via.str.size == 4
         && o[4].type == MSGPACK_OBJECT_STR && o[4].via.str.size == 0
         && o[5].type == MSGPACK_OBJECT_POSITIVE_INTEGER
         && o[5].via.u64 == UINT_MAX
         && o[6].via.u64 == 0;
    msgpack_unpacked_destroy(&u);
    TAP_OK(ok, "session codec: msgpack-c's unpacker reads the record");

    /* full-width integers, and strings of 1024 and 1025 bytes */

    p = malloc(MCP_STORE_SESSION_STR_MAX + 1);
    if (p == NULL) {
        tap_bail("malloc");
    }

    memset(p, 'n', MCP_STORE_SESSION_STR_MAX + 1);
    ok = 1;

    for (i = 0; i < 2; i++) {
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, 7);
        msgpack_pack_fix_int64(&pk, 1);
        msgpack_pack_fix_int32(&pk, -2);
        msgpack_pack_str(&pk, 1);
        msgpack_pack_str_body(&pk, "p", 1);
        msgpack_pack_str(&pk, MCP_STORE_SESSION_STR_MAX + i);
        msgpack_pack_str_body(&pk, p, MCP_STORE_SESSION_STR_MAX + i);
        msgpack_pack_str(&pk, 0);
        msgpack_pack_fix_uint64(&pk, 3);
        msgpack_pack_fix_uint8(&pk, 4);

        rc = mcp_store_session_decode(sb.data, sb.size, &out);

        ok &= (i == 0) ? rc == MCP_STORE_OK && out.created_at == 1
                         && out.last_seen == -2 && out.log_level == 3
                         && out.flags == 4
                         && out.client_name_len == MCP_STORE_SESSION_STR_MAX
                       : rc == MCP_STORE_ECORRUPT;

        msgpack_sbuffer_destroy(&sb);
    }

    free(p);
    TAP_OK(ok, "session codec: full-width integers and a 1024-byte string "
           "are read; a 1025-byte string is ECORRUPT");

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rc = mcp_store_session_decode(bad[i].bytes, bad[i].len, &out);
        TAP_RC(rc, MCP_STORE_ECORRUPT, "session codec: %s is ECORRUPT",
               bad[i].what);
    }

    ok = 1;
    for (i = 0; i < len; i++) {
        ok &= mcp_store_session_decode(buf, i, &out) == MCP_STORE_ECORRUPT;
    }

    TAP_OK(ok, "session codec: every truncation of a record is ECORRUPT");
}


static void
test_session_full(void)
{
    int                  rc, ok;
    char                 dir[PATH_MAX], id[16], name[200];
    size_t               i, n, removed;
    mcp_store_t         *s;
    test_list_t          l;
    mcp_store_touch_t   *t;
    mcp_store_session_t  in, out;

    test_dir(dir, "session-full");
    s = test_open(dir, 64 * TEST_KIB, 0);

    memset(name, 'f', sizeof(name));
    in = test_session(1, 0, "2025-06-18", NULL, "1.0", 0, 0);
    in.client_name = name;
    in.client_name_len = sizeof(name);

    rc = MCP_STORE_OK;
    for (n = 0; n < 10000; n++) {
        snprintf(id, sizeof(id), "f%05u", (unsigned) n);
        in.last_seen = (int64_t) n;
        rc = mcp_store_session_put(s, id, strlen(id), &in);
        if (rc != MCP_STORE_OK) {
            break;
        }
    }

    TAP_OK(rc == MCP_STORE_FULL && n > 5,
           "session full: a 64 KiB map fills up with FULL");
    tap_diag("%u sessions before FULL", (unsigned) n);

    rc = mcp_store_session_get(s, id, strlen(id), &out);
    TAP_RC(rc, MCP_STORE_NOTFOUND, "session full: the failed put left "
           "nothing");

    t = calloc(n, sizeof(mcp_store_touch_t));
    if (t == NULL) {
        tap_bail("calloc");
    }

    for (i = 0; i < n; i++) {
        t[i].id = strdup(id);
        if (t[i].id == NULL) {
            tap_bail("strdup");
        }

        snprintf((char *) t[i].id, sizeof(id), "f%05u", (unsigned) i);
        t[i].id_len = strlen(t[i].id);
        t[i].last_seen = 1000000;
    }

    in.client_version = name;
    in.client_version_len = sizeof(name);

    /* deletes are left out: whether they fit in what a map this small
     * keeps back is LMDB's affair (test_graph.c tests the reserve of a
     * map of 1 MiB) */

    ok = mcp_store_session_touch(s, t, n) == MCP_STORE_FULL;
    ok &= mcp_store_session_update(s, "f00000", 6, &in) == MCP_STORE_FULL;
    TAP_OK(ok, "session full: touch and update that grow sessions are FULL "
           "too");

    ok = 1;
    for (i = 0; i < n; i++) {
        if (mcp_store_session_get(s, t[i].id, t[i].id_len, &out)
            != MCP_STORE_OK
            || out.last_seen != (int64_t) i
            || !test_str_is(out.client_version, out.client_version_len,
                            "1.0"))
        {
            ok = 0;
        }
    }

    TAP_OK(ok, "session full: every session is as it was");

    mcp_store_close(s);

    s = test_open(dir, TEST_MIB, 0);

    rc = mcp_store_session_touch(s, t, n);
    rc |= mcp_store_session_expire(s, INT64_MAX, 1, &removed, NULL);
    rc |= test_sessions(s, &l);
    TAP_OK(rc == MCP_STORE_OK && removed == 1 && l.calls == n - 1,
           "session full: reopened with a larger map, writes work again");

    for (i = 0; i < n; i++) {
        free((void *) t[i].id);
    }

    free(t);
    mcp_store_close(s);
}


/*
 * A store written before the "sessions" database: raw LMDB plants the
 * schema record and a link, as an older build left them.
 */

static void
test_session_old_store(void)
{
    int                  rc, ok;
    char                 dir[PATH_MAX], buf[64];
    size_t               len, removed;
    mcp_store_t         *s;
    test_list_t          l;
    mcp_store_link_t     link, out;
    mcp_store_touch_t    t;
    mcp_store_session_t  ss, sout;

    test_dir(dir, "old-store");

    link = test_link("https://example.com/old", 1, 0, 0, 0, 0);
    test_old_store(dir, &link);

    s = test_open(dir, 0, MCP_STORE_RDONLY);
    if (s == NULL) {
        tap_bail("old store: read-only open failed");
    }

    rc = mcp_store_link_get(s, "old", 3, &out);
    TAP_OK(rc == MCP_STORE_OK && test_link_is(&out, &link),
           "old store: read-only, links read as before");

    rc = mcp_store_session_get(s, "x", 1, &sout);
    TAP_OK(rc == MCP_STORE_NOTFOUND && s->rlive == 0
           && mcp_store_session_get(s, "", 0, &sout) == MCP_STORE_EINVAL
           && test_sessions(s, &l) == MCP_STORE_OK && l.calls == 0,
           "old store: read-only, session get is NOTFOUND (EINVAL for a "
           "bad id), walk lists none");

    ss = test_session(1, 2, "p", "n", "v", 0, 0);
    t = test_touch("x", 5);

    errno = 0;
    rc = mcp_store_session_put(s, "x", 1, &ss);
    ok = rc == MCP_STORE_EIO && errno == EACCES;
    ok &= mcp_store_session_update(s, "x", 1, &ss) == MCP_STORE_EIO;
    ok &= mcp_store_session_touch(s, &t, 1) == MCP_STORE_EIO;
    ok &= mcp_store_session_delete(s, "x", 1) == MCP_STORE_EIO;
    ok &= mcp_store_session_expire(s, 10, 10, &removed, NULL) == MCP_STORE_EIO;
    TAP_OK(ok, "old store: read-only, session writes are EIO (EACCES)");

    mcp_store_close(s);

    rc = test_raw_get(dir, MCP_STORE_DB_SESSIONS, "x", buf, sizeof(buf),
                      &len);
    TAP_RC(rc == MDB_NOTFOUND ? MCP_STORE_OK : MCP_STORE_EIO, MCP_STORE_OK,
           "old store: the read-only open created no sessions database");

    s = test_open(dir, 0, 0);
    rc = (s != NULL) ? mcp_store_session_put(s, "x", 1, &ss) : -1;
    TAP_RC(rc, MCP_STORE_OK, "old store: opened read-write, it gets the "
           "sessions database");
    mcp_store_close(s);

    s = test_open(dir, 0, MCP_STORE_RDONLY);
    rc = mcp_store_session_get(s, "x", 1, &sout);
    TAP_OK(rc == MCP_STORE_OK && test_session_is(&sout, &ss)
           && mcp_store_link_get(s, "old", 3, &out) == MCP_STORE_OK,
           "old store: then read-only sees its sessions and links");
    mcp_store_close(s);
}


/*
 * A child process creates a session and rewrites the parent's over and
 * over, while the parent holds what mcp_store_session_get() handed out.
 */

static void
test_session_fork(void)
{
    int                  rc, ok;
    char                 dir[PATH_MAX], name[32];
    size_t               i;
    pid_t                pid;
    mcp_store_t         *s, *c;
    mcp_store_touch_t    t;
    mcp_store_session_t  in, out;

    test_dir(dir, "session-fork");
    s = test_open(dir, 0, MCP_STORE_NOSYNC);

    in = test_session(1, 100, "2025-06-18", "parent", "1.0", 0, 0);
    mcp_store_session_put(s, "p", 1, &in);

    rc = mcp_store_session_get(s, "p", 1, &out);

    fflush(stdout);
    pid = fork();

    if (pid == 0) {
        c = test_open(dir, 0, MCP_STORE_NOSYNC);
        ok = (c != NULL);

        in = test_session(7, 700, "2025-03-26", "child", "2.0", 4, 2);
        ok = ok && mcp_store_session_put(c, "c", 1, &in) == MCP_STORE_OK;

        for (i = 0; ok && i < 200; i++) {
            snprintf(name, sizeof(name), "changed-by-the-child-%u",
                     (unsigned) i);
            in = test_session(1, 100, "2025-06-18", name, "1.0", 0, 0);
            t = test_touch("p", 200 + (int64_t) i);
            ok = mcp_store_session_update(c, "p", 1, &in) == MCP_STORE_OK
                 && mcp_store_session_touch(c, &t, 1) == MCP_STORE_OK;
        }

        mcp_store_close(c);
        _exit(ok ? 0 : 1);
    }

    TAP_OK(rc == MCP_STORE_OK && test_wait(pid) == 0
           && test_str_is(out.client_name, out.client_name_len, "parent")
           && test_str_is(out.protocol, out.protocol_len, "2025-06-18"),
           "session fork: get's strings stay intact until the next call, "
           "whatever a child writes");

    in = test_session(7, 700, "2025-03-26", "child", "2.0", 4, 2);
    rc = mcp_store_session_get(s, "c", 1, &out);
    TAP_OK(rc == MCP_STORE_OK && test_session_is(&out, &in),
           "session fork: the parent's open handle reads the session a "
           "child created");

    rc = mcp_store_session_get(s, "p", 1, &out);
    TAP_OK(rc == MCP_STORE_OK && out.last_seen == 399
           && test_str_is(out.client_name, out.client_name_len,
                          "changed-by-the-child-199"),
           "session fork: and the child's updates and touches");

    mcp_store_close(s);
}


/*
 * Links and sessions carry their tenant as an optional last field: records
 * written before tenants (6 and 7 fields) read as the default tenant, and
 * the default tenant is still written that way.
 */

static void
test_tenant_codec(void)
{
    int                   rc, ok;
    char                  buf[256], old[256], long_tenant[66];
    size_t                len, old_len;
    msgpack_unpacked      u;
    msgpack_object       *o;
    mcp_store_link_t      in, out;
    mcp_store_session_t   sin, sout;

    in = test_link("https://example.com/t", 1, 2, 3, 4, 5);
    old_len = mcp_store_link_encode(&in, old, sizeof(old));

    rc = mcp_store_link_decode(old, old_len, &out);
    TAP_OK(old_len <= sizeof(old) && (unsigned char) old[0] == 0x96
           && rc == MCP_STORE_OK
           && test_str_is(out.tenant, out.tenant_len, "default")
           && test_link_is(&out, &in),
           "tenant codec: a link without a tenant is the old 6 fields, and "
           "reads as \"default\"");

    in.tenant = "default";
    in.tenant_len = 7;
    len = mcp_store_link_encode(&in, buf, sizeof(buf));
    TAP_OK(len == old_len && memcmp(buf, old, len) == 0,
           "tenant codec: \"default\" spelled out is written the old way");

    in.tenant = "acme-1.x_y";
    in.tenant_len = strlen(in.tenant);
    len = mcp_store_link_encode(&in, buf, sizeof(buf));
    rc = mcp_store_link_decode(buf, len, &out);
    TAP_OK(len == old_len + 1 + in.tenant_len
           && (unsigned char) buf[0] == 0x97 && rc == MCP_STORE_OK
           && test_link_is(&out, &in)
           && test_within(buf, len, out.tenant, out.tenant_len),
           "tenant codec: a tenant is a 7th field, read back pointing into "
           "the record");

    o = test_unpack(&u, buf, len, 7);
    ok = o != NULL && o[6].type == MSGPACK_OBJECT_STR
         && o[6].via.str.size == in.tenant_len
         && memcmp(o[6].via.str.ptr, in.tenant, in.tenant_len) == 0;
    msgpack_unpacked_destroy(&u);
    TAP_OK(ok, "tenant codec: msgpack-c's unpacker reads the tenant");

    memset(long_tenant, 't', sizeof(long_tenant));
    in.tenant = long_tenant;
    in.tenant_len = MCP_STORE_SCOPE_MAX + 1;
    len = mcp_store_link_encode(&in, buf, sizeof(buf));
    TAP_RC(mcp_store_link_decode(buf, len, &out), MCP_STORE_ECORRUPT,
           "tenant codec: a tenant of 65 bytes does not decode");

    in.tenant_len = MCP_STORE_SCOPE_MAX;
    len = mcp_store_link_encode(&in, buf, sizeof(buf));
    rc = mcp_store_link_decode(buf, len, &out);
    TAP_OK(rc == MCP_STORE_OK && out.tenant_len == MCP_STORE_SCOPE_MAX,
           "tenant codec: one of 64 bytes does");

    sin = test_session(1, 2, "2025-06-18", "n", "v", 3, 4);
    old_len = mcp_store_session_encode(&sin, old, sizeof(old));
    rc = mcp_store_session_decode(old, old_len, &sout);
    TAP_OK((unsigned char) old[0] == 0x97 && rc == MCP_STORE_OK
           && test_str_is(sout.tenant, sout.tenant_len, "default")
           && test_session_is(&sout, &sin),
           "tenant codec: a session without a tenant is the old 7 fields, "
           "and reads as \"default\"");

    sin.tenant = "acme";
    sin.tenant_len = 4;
    len = mcp_store_session_encode(&sin, buf, sizeof(buf));
    rc = mcp_store_session_decode(buf, len, &sout);
    TAP_OK(len == old_len + 5 && (unsigned char) buf[0] == 0x98
           && rc == MCP_STORE_OK && test_session_is(&sout, &sin)
           && test_within(buf, len, sout.tenant, sout.tenant_len),
           "tenant codec: a session's tenant is an 8th field");
}


static int
test_tenant_put(mcp_store_t *s, const char *code, const char *tenant)
{
    mcp_store_link_t  link;

    link = test_link(code, 1, 0, 0, 0, 0);
    link.tenant = tenant;
    link.tenant_len = tenant ? strlen(tenant) : 0;

    return mcp_store_link_put(s, code, strlen(code), &link);
}


static int
test_tenant_list(mcp_store_t *s, const char *tenant, const char *after,
    size_t limit, int prefix, test_list_t *l, int *more)
{
    test_list_init(l, 0, more);

    if (prefix) {
        return mcp_store_link_prefix_tenant(s, tenant, strlen(tenant), after,
                                            after ? strlen(after) : 0, limit,
                                            test_list_cb, l, more);
    }

    return mcp_store_link_list_tenant(s, tenant, tenant ? strlen(tenant) : 0,
                                      after, after ? strlen(after) : 0,
                                      limit, test_list_cb, l, more);
}


/*
 * A tenant's walk reads at most 4096 of the others' links a call, and
 * says where the next goes on.
 */

static void
test_tenant_walk(void)
{
    int           rc, more;
    char          dir[PATH_MAX], code[16];
    size_t        i;
    mcp_store_t  *s;
    test_list_t   l;

    s = test_open(test_dir(dir, "tenant-walk"), 0, MCP_STORE_NOSYNC);

    rc = test_tenant_put(s, "a1", "acme");

    for (i = 0; rc == MCP_STORE_OK && i < 5000; i++) {
        snprintf(code, sizeof(code), "b%04u", (unsigned) i);
        rc = test_tenant_put(s, code, "beta");
    }

    rc |= test_tenant_put(s, "c1", "acme");
    TAP_RC(rc, MCP_STORE_OK, "tenant walk: 5000 links of beta between two "
           "of acme");

    rc = test_tenant_list(s, "acme", "a1", 10, 0, &l, &more);
    TAP_OK(rc == MCP_STORE_OK && l.calls == 1 && l.corrupt == 1
           && strcmp(l.codes, "b4095") == 0 && more == 1,
           "tenant walk: acme's page after a1 stops after 4096 of beta's, "
           "at %s, with more", l.codes);

    rc = test_tenant_list(s, "acme", "b4095", 10, 0, &l, &more);
    TAP_OK(rc == MCP_STORE_OK && strcmp(l.codes, "c1") == 0 && more == 0,
           "tenant walk: and the next page goes on from there: %s", l.codes);

    rc = test_tenant_list(s, NULL, "a1", 3, 0, &l, &more);
    TAP_OK(rc == MCP_STORE_OK && strcmp(l.codes, "b0000,b0001,b0002") == 0
           && more == 1 && l.corrupt == 0,
           "tenant walk: a walk of every tenant's is paged by its limit");

    mcp_store_close(s);
}


static void
test_tenant_links(void)
{
    int                rc, more;
    char               dir[PATH_MAX], rec[64];
    size_t             len;
    mcp_store_t       *s;
    test_list_t        l;
    mcp_store_link_t   out;
    mcp_store_visit_t  v;

    s = test_open(test_dir(dir, "tenant-links"), 0, 0);

    /* a record as the store wrote it before tenants */

    memcpy(rec, "\x96\xa3old\x01\x00\x00\x00\x00", 10);
    len = 10;
    mcp_store_close(s);

    rc = test_raw_put(dir, MCP_STORE_DB_LINKS, "old", rec, len);
    s = test_open(dir, 0, 0);

    rc |= test_tenant_put(s, "a1", "acme");
    rc |= test_tenant_put(s, "b1", "beta");
    rc |= test_tenant_put(s, "a2", "acme");
    rc |= test_tenant_put(s, "b2", "beta");
    rc |= test_tenant_put(s, "a3", "acme");
    rc |= test_tenant_put(s, "d1", NULL);
    TAP_RC(rc, MCP_STORE_OK, "tenant links: links of three tenants are put");

    rc = mcp_store_link_get(s, "a1", 2, &out);
    TAP_OK(rc == MCP_STORE_OK && test_str_is(out.tenant, out.tenant_len,
                                             "acme"),
           "tenant links: get gives the owner");

    rc = mcp_store_link_get(s, "old", 3, &out);
    TAP_OK(rc == MCP_STORE_OK
           && test_str_is(out.tenant, out.tenant_len, "default")
           && test_url_is(&out, "old"),
           "tenant links: an old record's owner is \"default\"");

    TAP_OK(test_tenant_put(s, "x1", "a b") == MCP_STORE_EINVAL
           && test_tenant_put(s, "x2", "t/u") == MCP_STORE_EINVAL
           && test_tenant_put(s, "x3",
                              "0123456789012345678901234567890123456789"
                              "0123456789012345678901234")
              == MCP_STORE_EINVAL
           && mcp_store_link_get(s, "x1", 2, &out) == MCP_STORE_NOTFOUND,
           "tenant links: a tenant outside [A-Za-z0-9_.-]{1,64} is EINVAL");

    rc = test_tenant_list(s, "acme", NULL, 2, 0, &l, &more);
    TAP_OK(rc == MCP_STORE_OK && strcmp(l.codes, "a1,a2") == 0 && more == 1,
           "tenant links: a page holds only the tenant's links, full");

    rc = test_tenant_list(s, "acme", "a2", 2, 0, &l, &more);
    TAP_OK(rc == MCP_STORE_OK && strcmp(l.codes, "a3") == 0 && more == 0,
           "tenant links: more is 0 when only others' links follow");

    rc = test_tenant_list(s, "beta", NULL, 2, 0, &l, &more);
    TAP_OK(rc == MCP_STORE_OK && strcmp(l.codes, "b1,b2") == 0 && more == 0,
           "tenant links: and another tenant sees its own");

    rc = test_tenant_list(s, "default", NULL, 0, 0, &l, &more);
    TAP_OK(rc == MCP_STORE_OK && strcmp(l.codes, "d1,old") == 0,
           "tenant links: the default tenant's: old records and those put "
           "without a tenant");

    rc = test_tenant_list(s, NULL, NULL, 0, 0, &l, &more);
    TAP_OK(rc == MCP_STORE_OK
           && strcmp(l.codes, "a1,a2,a3,b1,b2,d1,old") == 0,
           "tenant links: no tenant lists everyone's");

    rc = test_tenant_list(s, "beta", "b", 1, 1, &l, &more);
    TAP_OK(rc == MCP_STORE_OK && strcmp(l.codes, "b1") == 0 && more == 1,
           "tenant links: prefix of a tenant's");

    rc = test_tenant_list(s, "beta", "a", 0, 1, &l, &more);
    TAP_OK(rc == MCP_STORE_OK && l.calls == 0 && more == 0,
           "tenant links: prefix matching only others' links finds none");

    TAP_RC(mcp_store_link_list_tenant(s, "a b", 3, NULL, 0, 0, test_list_cb,
                                      &l, NULL),
           MCP_STORE_EINVAL, "tenant links: listing a bad tenant is EINVAL");

    /* counting visits rewrites the record: the owner stays */

    v = test_visit("a1", 3, 9);
    rc = mcp_store_link_add_visits(s, &v, 1);
    rc |= mcp_store_link_consume(s, "a1", 2, 10);
    rc |= mcp_store_link_get(s, "a1", 2, &out);
    TAP_OK(rc == MCP_STORE_OK && out.visits == 4
           && test_str_is(out.tenant, out.tenant_len, "acme"),
           "tenant links: visits keep the owner");

    /* LMDB: one environment open once per process, so close it first */

    v = test_visit("old", 1, 9);
    rc = mcp_store_link_add_visits(s, &v, 1);
    mcp_store_close(s);
    rc |= test_raw_get(dir, MCP_STORE_DB_LINKS, "old", rec, sizeof(rec),
                       &len);
    TAP_OK(rc == MCP_STORE_OK && (unsigned char) rec[0] == 0x96,
           "tenant links: an old record stays in the old form (a visit "
           "does not rewrite it)");

    s = test_open(dir, 0, 0);

    rc = mcp_store_link_delete_tenant(s, "a1", 2, "beta", 4);
    TAP_OK(rc == MCP_STORE_NOTFOUND
           && mcp_store_link_get(s, "a1", 2, &out) == MCP_STORE_OK,
           "tenant links: another tenant's delete is NOTFOUND, and keeps the "
           "link");

    rc = mcp_store_link_delete_tenant(s, "a1", 2, "acme", 4);
    TAP_OK(rc == MCP_STORE_OK
           && mcp_store_link_get(s, "a1", 2, &out) == MCP_STORE_NOTFOUND,
           "tenant links: the owner's delete deletes");

    TAP_OK(mcp_store_link_delete_tenant(s, "a1", 2, "acme", 4)
           == MCP_STORE_NOTFOUND
           && mcp_store_link_delete_tenant(s, "old", 3, "default", 7)
              == MCP_STORE_OK
           && mcp_store_link_delete_tenant(s, "b1", 2, NULL, 0)
              == MCP_STORE_OK
           && mcp_store_link_delete_tenant(s, "b2", 2, "a b", 3)
              == MCP_STORE_EINVAL,
           "tenant links: gone is NOTFOUND, old records are the default "
           "tenant's, no tenant deletes any, a bad one is EINVAL");

    mcp_store_close(s);
}


static void
test_link_update(void)
{
    int                rc;
    char               dir[PATH_MAX];
    mcp_store_t       *s;
    mcp_store_link_t   in, out, set;

    s = test_open(test_dir(dir, "link-update"), 0, 0);

    in = test_link("https://example.com/a", 100, 5000, 7, 3, 200);
    in.tenant = "acme";
    in.tenant_len = 4;
    rc = mcp_store_link_put(s, "u1", 2, &in);

    set = test_link("https://example.org/b", 0, 9000, 0, 0, 0);

    rc |= mcp_store_link_update(s, "u1", 2, "acme", 4, &set,
                                MCP_STORE_LINK_SET_URL
                                |MCP_STORE_LINK_SET_MAX_VISITS);
    rc |= mcp_store_link_get(s, "u1", 2, &out);
    TAP_OK(rc == MCP_STORE_OK
           && test_str_is(out.url, out.url_len, "https://example.org/b")
           && out.max_visits == 0 && out.expires_at == 5000
           && out.created_at == 100 && out.visits == 3
           && out.last_visit == 200
           && test_str_is(out.tenant, out.tenant_len, "acme"),
           "link update: the fields named change, the others and the owner "
           "stay");

    rc = mcp_store_link_update(s, "u1", 2, NULL, 0, &set,
                               MCP_STORE_LINK_SET_EXPIRES);
    rc |= mcp_store_link_get(s, "u1", 2, &out);
    TAP_OK(rc == MCP_STORE_OK && out.expires_at == 9000
           && test_str_is(out.url, out.url_len, "https://example.org/b"),
           "link update: no tenant updates any owner's link");

    rc = mcp_store_link_update(s, "u1", 2, "beta", 4, &in,
                               MCP_STORE_LINK_SET_URL);
    TAP_OK(rc == MCP_STORE_NOTFOUND
           && mcp_store_link_get(s, "u1", 2, &out) == MCP_STORE_OK
           && test_str_is(out.url, out.url_len, "https://example.org/b"),
           "link update: another tenant's is NOTFOUND and changes nothing");

    /* judged by its length before it is read */
    set = test_link("x", 0, 0, 0, 0, 0);
    set.url_len = UINT32_MAX;         /* past the store's limit */
    rc = mcp_store_link_update(s, "u1", 2, "acme", 4, &set,
                               MCP_STORE_LINK_SET_URL);
    TAP_OK(rc == MCP_STORE_EINVAL
           && mcp_store_link_get(s, "u1", 2, &out) == MCP_STORE_OK
           && out.url_len == sizeof("https://example.org/b") - 1,
           "link update: a URL too long is EINVAL and changes nothing");

    TAP_OK(mcp_store_link_update(s, "zz", 2, NULL, 0, &in,
                                 MCP_STORE_LINK_SET_URL)
           == MCP_STORE_NOTFOUND
           && mcp_store_link_update(s, "u1", 2, "a b", 3, &in,
                                    MCP_STORE_LINK_SET_URL)
              == MCP_STORE_EINVAL,
           "link update: a missing link is NOTFOUND, a bad tenant EINVAL");

    mcp_store_close(s);
}


static void
test_tenant_sessions(void)
{
    int                   rc;
    char                  dir[PATH_MAX];
    mcp_store_t          *s;
    mcp_store_touch_t     t;
    mcp_store_session_t   in, out;

    s = test_open(test_dir(dir, "tenant-sessions"), 0, 0);

    in = test_session(1, 2, "2025-06-18", "c", "1", 0, 0);
    in.tenant = "acme";
    in.tenant_len = 4;

    rc = mcp_store_session_put(s, "s1", 2, &in);
    rc |= mcp_store_session_get(s, "s1", 2, &out);
    TAP_OK(rc == MCP_STORE_OK && test_session_is(&out, &in),
           "tenant sessions: a session keeps its tenant");

    /* get, change a field, update: the tenant goes along */

    out.log_level = 5;
    rc = mcp_store_session_update(s, "s1", 2, &out);
    t = test_touch("s1", 50);
    rc |= mcp_store_session_touch(s, &t, 1);
    rc |= mcp_store_session_get(s, "s1", 2, &out);
    TAP_OK(rc == MCP_STORE_OK && out.log_level == 5 && out.last_seen == 50
           && test_str_is(out.tenant, out.tenant_len, "acme"),
           "tenant sessions: update and touch keep it");

    in = test_session(1, 2, "2025-06-18", "c", "1", 0, 0);
    rc = mcp_store_session_put(s, "s2", 2, &in);
    rc |= mcp_store_session_get(s, "s2", 2, &out);
    TAP_OK(rc == MCP_STORE_OK
           && test_str_is(out.tenant, out.tenant_len, "default"),
           "tenant sessions: without one, \"default\"");

    in.tenant = "no way";
    in.tenant_len = 6;
    TAP_RC(mcp_store_session_put(s, "s3", 2, &in), MCP_STORE_EINVAL,
           "tenant sessions: a bad tenant is EINVAL");

    mcp_store_close(s);
}


static mcp_store_link_t
test_link(const char *url, int64_t created_at, int64_t expires_at,
    uint64_t max_visits, uint64_t visits, int64_t last_visit)
{
    mcp_store_link_t  link;

    memset(&link, 0, sizeof(mcp_store_link_t));

    link.url = url;
    link.url_len = url ? strlen(url) : 0;
    link.created_at = created_at;
    link.expires_at = expires_at;
    link.max_visits = max_visits;
    link.visits = visits;
    link.last_visit = last_visit;
    link.tenant = NULL;
    link.tenant_len = 0;

    return link;
}


static int
test_url_is(const mcp_store_link_t *link, const char *url)
{
    return test_str_is(link->url, link->url_len, url);
}


static int
test_link_is(const mcp_store_link_t *a, const mcp_store_link_t *b)
{
    return test_bytes_is(a->url, a->url_len, b->url, b->url_len)
           && a->created_at == b->created_at
           && a->expires_at == b->expires_at
           && a->max_visits == b->max_visits
           && a->visits == b->visits
           && a->last_visit == b->last_visit
           && test_tenant_is(a->tenant, a->tenant_len, b->tenant,
                             b->tenant_len);
}


static int
test_put(mcp_store_t *s, const char *code, const char *url)
{
    mcp_store_link_t  link;

    link = test_link(url, 1, 0, 0, 0, 0);

    return mcp_store_link_put(s, code, strlen(code), &link);
}


static int
test_in_alphabet(const char *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (p[i] == '\0' || strchr(MCP_STORE_CODE_ALPHABET, p[i]) == NULL) {
            return 0;
        }
    }

    return 1;
}


static int
test_raw_put(const char *dir, const char *db, const char *key,
    const void *val, size_t len)
{
    return test_raw_put_key(dir, db, key, strlen(key), val, len);
}


static int
test_raw_put_key(const char *dir, const char *db, const char *key,
    size_t key_len, const void *val, size_t len)
{
    int       rc;
    MDB_env  *env;
    MDB_txn  *txn;
    MDB_dbi   dbi;
    MDB_val   k, v;

    rc = test_raw_open(dir, db, 0, &env, &txn, &dbi);

    if (rc == 0) {
        k.mv_size = key_len;
        k.mv_data = (void *) key;
        v.mv_size = len;
        v.mv_data = (void *) val;

        rc = test_raw_close(env, txn, mdb_put(txn, dbi, &k, &v, 0));
    }

    if (rc != 0) {
        tap_diag("raw put %s/%s/%s: %s", dir, db, key, mdb_strerror(rc));
    }

    return rc;
}


/*
 * A store as a schema 1 build left it: "meta" with schema 1, and link
 * under "old" in "links", nothing else.
 */

static void
test_old_store(const char *dir, const mcp_store_link_t *link)
{
    char    rec[256];
    size_t  len;

    len = mcp_store_link_encode(link, rec, sizeof(rec));

    if (len > sizeof(rec)
        || test_raw_put(dir, MCP_STORE_DB_META, MCP_STORE_KEY_SCHEMA, "\x01",
                        1) != 0
        || test_raw_put(dir, MCP_STORE_DB_LINKS, "old", rec, len) != 0)
    {
        tap_bail("raw put in %s", dir);
    }
}


/* The store at dir opened with flags; *rc how its stat and "old" read. */

static mcp_store_t *
test_open_old(const char *dir, unsigned flags, mcp_store_stat_t *st,
    mcp_store_link_t *out, int *rc)
{
    mcp_store_t  *s;

    s = test_open(dir, 0, flags);

    *rc = mcp_store_stat(s, st);
    *rc |= mcp_store_link_get(s, "old", 3, out);

    return s;
}


static int
test_raw_get(const char *dir, const char *db, const char *key, void *buf,
    size_t size, size_t *len)
{
    return test_raw_get_key(dir, db, key, strlen(key), buf, size, len);
}


static int
test_raw_get_key(const char *dir, const char *db, const char *key,
    size_t key_len, void *buf, size_t size, size_t *len)
{
    int       rc;
    MDB_env  *env;
    MDB_txn  *txn;
    MDB_dbi   dbi;
    MDB_val   k, v;

    rc = test_raw_open(dir, db, MDB_RDONLY, &env, &txn, &dbi);
    if (rc != 0) {
        return rc;
    }

    k.mv_size = key_len;
    k.mv_data = (void *) key;

    rc = mdb_get(txn, dbi, &k, &v);

    if (rc == 0) {
        *len = v.mv_size;
        memcpy(buf, v.mv_data, v.mv_size < size ? v.mv_size : size);
    }

    return test_raw_close(env, txn, rc);
}


/*
 * Unpacks buf with msgpack-c: the values of the array of n it holds, or
 * NULL if it holds anything else.  u is the caller's to destroy.
 */

static msgpack_object *
test_unpack(msgpack_unpacked *u, const char *buf, size_t len, uint32_t n)
{
    size_t  off;

    off = 0;
    msgpack_unpacked_init(u);

    if (msgpack_unpack_next(u, buf, len, &off) != MSGPACK_UNPACK_SUCCESS
        || off != len
        || u->data.type != MSGPACK_OBJECT_ARRAY
        || u->data.via.array.size != n)
    {
        return NULL;
    }

    return u->data.via.array.ptr;
}


/* xorshift64: repeatable junk */

static uint64_t
test_rand(void)
{
    static uint64_t  x = 0x9e3779b97f4a7c15ULL;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;

    return x;
}


static void
test_list_init(test_list_t *l, size_t stop_at, int *more)
{
    memset(l, 0, sizeof(test_list_t));
    l->urls_ok = 1;
    l->stop_at = stop_at;

    if (more != NULL) {
        *more = -1;
    }
}


/* Notes a code (or id) passed to a callback; returns what the cb should. */

static int
test_list_add(test_list_t *l, const char *code, size_t code_len,
    int corrupt)
{
    size_t  used;

    l->calls++;

    used = strlen(l->codes);
    snprintf(l->codes + used, sizeof(l->codes) - used, "%s%.*s",
             used ? "," : "", (int) code_len, code);

    if (corrupt) {
        l->corrupt++;
    }

    return l->calls == l->stop_at;
}


static int
test_list_cb(void *data, const char *code, size_t code_len,
    const mcp_store_link_t *link)
{
    char          url[80];
    test_list_t  *l = data;

    if (link != NULL && code_len == 1) {
        /* the list tests' links are "x" -> "u-x" */
        snprintf(url, sizeof(url), "u-%c", code[0]);
        l->urls_ok &= test_url_is(link, url);
    }

    return test_list_add(l, code, code_len, link == NULL);
}


static int
test_list(mcp_store_t *s, const char *after, size_t limit, size_t stop_at,
    test_list_t *l, int *more)
{
    test_list_init(l, stop_at, more);

    return mcp_store_link_list(s, after, after ? strlen(after) : 0, limit,
                               test_list_cb, l, more);
}


static int
test_prefix(mcp_store_t *s, const char *prefix, size_t limit,
    size_t stop_at, test_list_t *l, int *more)
{
    test_list_init(l, stop_at, more);

    return mcp_store_link_prefix(s, prefix, prefix ? strlen(prefix) : 0,
                                 limit, test_list_cb, l, more);
}


static mcp_store_session_t
test_session(int64_t created_at, int64_t last_seen, const char *protocol,
    const char *client_name, const char *client_version, unsigned log_level,
    unsigned flags)
{
    mcp_store_session_t  ss;

    ss.created_at = created_at;
    ss.last_seen = last_seen;
    ss.protocol = protocol;
    ss.protocol_len = protocol ? strlen(protocol) : 0;
    ss.client_name = client_name;
    ss.client_name_len = client_name ? strlen(client_name) : 0;
    ss.client_version = client_version;
    ss.client_version_len = client_version ? strlen(client_version) : 0;
    ss.log_level = log_level;
    ss.flags = flags;
    ss.tenant = NULL;
    ss.tenant_len = 0;

    return ss;
}


static int
test_bytes_is(const char *a, size_t a_len, const char *b, size_t b_len)
{
    return a_len == b_len && (a_len == 0 || memcmp(a, b, a_len) == 0);
}


static int
test_str_is(const char *p, size_t len, const char *str)
{
    return test_bytes_is(p, len, str, strlen(str));
}


/* str, of len bytes, lies within the n bytes at p */

static int
test_within(const char *p, size_t n, const char *str, size_t len)
{
    return str >= p && len <= n && str - p <= (ptrdiff_t) (n - len);
}


static int
test_session_is(const mcp_store_session_t *a, const mcp_store_session_t *b)
{
    return a->created_at == b->created_at
           && a->last_seen == b->last_seen
           && test_bytes_is(a->protocol, a->protocol_len, b->protocol,
                            b->protocol_len)
           && test_bytes_is(a->client_name, a->client_name_len,
                            b->client_name, b->client_name_len)
           && test_bytes_is(a->client_version, a->client_version_len,
                            b->client_version, b->client_version_len)
           && a->log_level == b->log_level
           && a->flags == b->flags
           && test_tenant_is(a->tenant, a->tenant_len, b->tenant,
                             b->tenant_len);
}


/* Tenants as the store means them: none is the default one. */

static int
test_tenant_is(const char *a, size_t a_len, const char *b, size_t b_len)
{
    if (a_len == 0) {
        a = MCP_STORE_TENANT_DEFAULT;
        a_len = strlen(a);
    }

    if (b_len == 0) {
        b = MCP_STORE_TENANT_DEFAULT;
        b_len = strlen(b);
    }

    return test_bytes_is(a, a_len, b, b_len);
}


static int
test_sput(mcp_store_t *s, const char *id, int64_t last_seen)
{
    mcp_store_session_t  ss;

    ss = test_session(1, last_seen, "2025-06-18", "test-client", "1.0", 0,
                      0);

    return mcp_store_session_put(s, id, strlen(id), &ss);
}


static int
test_session_cb(void *data, const char *id, size_t id_len,
    const mcp_store_session_t *session)
{
    return test_list_add(data, id, id_len, session == NULL);
}


/* Every session, through mcp_store_session_walk(), into l. */

static int
test_sessions(mcp_store_t *s, test_list_t *l)
{
    test_list_init(l, 0, NULL);

    return mcp_store_session_walk(s, test_session_cb, l);
}




static void
test_link_attrs(void)
{
    int                rc;
    char               dir[PATH_MAX], buf[256], plain[256];
    size_t             len, plain_len, i;
    mcp_store_t       *s;
    mcp_store_link_t   in, out, set;

    static const char  *bad[] = {
        "a,,b", ",a", "a,", "a b", "a,a", "\xc3\xa9",
        "123456789012345678901234567890123",            /* 33 bytes */
        "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q",              /* 17 tags */
        NULL
    };

    in = test_link("https://example.com/s", 1, 2, 3, 4, 5);
    plain_len = mcp_store_link_encode(&in, plain, sizeof(plain));

    in.redirect_status = 301;
    len = mcp_store_link_encode(&in, buf, sizeof(buf));
    rc = mcp_store_link_decode(buf, len, &out);
    TAP_OK((unsigned char) plain[0] == 0x96
           && (unsigned char) buf[0] == 0x98
           && len == plain_len + 1 + 7 + 3
           && rc == MCP_STORE_OK && out.redirect_status == 301
           && out.tags == NULL && out.tags_len == 0
           && test_str_is(out.tenant, out.tenant_len, "default"),
           "link attrs: a status is an 8th field after \"default\" spelled "
           "out; a link without one stays at 6");

    in.redirect_status = 0;
    in.tags = "news,2026";
    in.tags_len = 9;
    len = mcp_store_link_encode(&in, buf, sizeof(buf));
    rc = mcp_store_link_decode(buf, len, &out);
    TAP_OK((unsigned char) buf[0] == 0x99 && rc == MCP_STORE_OK
           && out.redirect_status == 0
           && test_str_is(out.tags, out.tags_len, "news,2026")
           && test_within(buf, len, out.tags, out.tags_len),
           "link attrs: tags are a 9th field, read back pointing into the "
           "record");

    s = test_open(test_dir(dir, "link-attrs"), 0, 0);

    in.redirect_status = 308;
    rc = mcp_store_link_put(s, "t1", 2, &in);
    rc |= mcp_store_link_get(s, "t1", 2, &out);
    TAP_OK(rc == MCP_STORE_OK && out.redirect_status == 308
           && test_str_is(out.tags, out.tags_len, "news,2026")
           && mcp_store_link_tagged(&out, "2026", 4)
           && mcp_store_link_tagged(&out, "news", 4)
           && !mcp_store_link_tagged(&out, "new", 3)
           && !mcp_store_link_tagged(&out, "news,2026", 9),
           "link attrs: stored and read back; mcp_store_link_tagged() "
           "matches whole tags");

    set = test_link("x", 0, 0, 0, 0, 0);
    set.tags = "b";
    set.tags_len = 1;
    rc = mcp_store_link_update(s, "t1", 2, NULL, 0, &set,
                               MCP_STORE_LINK_SET_TAGS);
    rc |= mcp_store_link_get(s, "t1", 2, &out);
    TAP_OK(rc == MCP_STORE_OK && out.redirect_status == 308
           && test_str_is(out.tags, out.tags_len, "b")
           && test_str_is(out.url, out.url_len, "https://example.com/s"),
           "link attrs: SET_TAGS replaces the tags, the rest stays");

    set.tags_len = 0;
    set.redirect_status = 0;
    rc = mcp_store_link_update(s, "t1", 2, NULL, 0, &set,
                               MCP_STORE_LINK_SET_TAGS
                               |MCP_STORE_LINK_SET_STATUS);
    rc |= mcp_store_link_get(s, "t1", 2, &out);
    TAP_OK(rc == MCP_STORE_OK && out.redirect_status == 0
           && out.tags_len == 0 && out.tags == NULL,
           "link attrs: both cleared");

    set.redirect_status = 303;
    TAP_RC(mcp_store_link_update(s, "t1", 2, NULL, 0, &set,
                                 MCP_STORE_LINK_SET_STATUS),
           MCP_STORE_EINVAL, "link attrs: status 303 is EINVAL");

    in.redirect_status = 0;

    for (i = 0; bad[i] != NULL; i++) {
        in.tags = bad[i];
        in.tags_len = strlen(bad[i]);

        if (mcp_store_link_put(s, "t2", 2, &in) != MCP_STORE_EINVAL) {
            break;
        }
    }

    TAP_OK(bad[i] == NULL && mcp_store_link_get(s, "t2", 2, &out)
                             == MCP_STORE_NOTFOUND,
           "link attrs: empty, odd, repeated, too long or too many tags "
           "are EINVAL");

    in.tags = "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p";
    in.tags_len = strlen(in.tags);
    TAP_RC(mcp_store_link_put(s, "t2", 2, &in), MCP_STORE_OK,
           "link attrs: 16 tags are taken");

    TAP_OK(mcp_store_tag_valid("a:b.c-d_9", 9)
           && !mcp_store_tag_valid("", 0) && !mcp_store_tag_valid("a,b", 3),
           "link attrs: mcp_store_tag_valid()");

    mcp_store_close(s);
}


static void
test_link_updated(void)
{
    int                rc;
    char               dir[PATH_MAX], buf[256], plain[256];
    size_t             len;
    int64_t            before;
    mcp_store_t       *s;
    mcp_store_link_t   in, out, set;

    in = test_link("https://example.com/u", 1000, 0, 0, 0, 0);
    (void) mcp_store_link_encode(&in, plain, sizeof(plain));

    in.updated_at = 2000;
    len = mcp_store_link_encode(&in, buf, sizeof(buf));
    rc = mcp_store_link_decode(buf, len, &out);
    TAP_OK((unsigned char) plain[0] == 0x92
           && (unsigned char) buf[0] == 0x9a
           && rc == MCP_STORE_OK && out.updated_at == 2000
           && out.tags == NULL && out.tags_len == 0
           && out.redirect_status == 0,
           "link updated: a 10th field when set; a never-updated link stays "
           "[url, created_at]");

    s = test_open(test_dir(dir, "link-updated"), 0, 0);

    rc = mcp_store_link_put(s, "u1", 2, &in);
    in.updated_at = 0;
    rc |= mcp_store_link_put(s, "u2", 2, &in);
    rc |= mcp_store_link_get(s, "u1", 2, &out);
    TAP_OK(rc == MCP_STORE_OK && out.updated_at == 2000,
           "link updated: a put keeps the time it is given (an import)");

    rc = mcp_store_link_get(s, "u2", 2, &out);
    TAP_OK(rc == MCP_STORE_OK && out.updated_at == 0,
           "link updated: a new link was never updated (0)");

    before = (int64_t) time(NULL);
    set = test_link("https://example.com/v", 0, 0, 0, 0, 0);
    rc = mcp_store_link_update(s, "u2", 2, NULL, 0, &set,
                               MCP_STORE_LINK_SET_URL);
    rc |= mcp_store_link_get(s, "u2", 2, &out);
    TAP_OK(rc == MCP_STORE_OK && out.updated_at >= before
           && out.updated_at <= (int64_t) time(NULL)
           && out.created_at == 1000,
           "link updated: an update without a time takes now; created_at "
           "stays");

    set.updated_at = 5000;
    rc = mcp_store_link_update(s, "u2", 2, NULL, 0, &set,
                               MCP_STORE_LINK_SET_URL);
    rc |= mcp_store_link_get(s, "u2", 2, &out);
    TAP_OK(rc == MCP_STORE_OK && out.updated_at == 5000
           && test_str_is(out.url, out.url_len, "https://example.com/v"),
           "link updated: an update's own time is stored (a cluster's "
           "operation)");

    mcp_store_close(s);
}


#define TEST_DAY  ((int64_t) 20000 * 86400)


static mcp_store_visit_t
test_stat_visit(const char *code, uint64_t count, int64_t at,
    uint64_t people, uint64_t bots, const char *referrer)
{
    mcp_store_visit_t  v;

    v = test_visit(code, count, at);
    v.people = people;
    v.bots = bots;
    v.referrer = referrer;
    v.referrer_len = referrer ? strlen(referrer) : 0;

    return v;
}


static void
test_link_stats(void)
{
    int                     rc, ok;
    char                    dir[PATH_MAX], host[32];
    size_t                  i;
    mcp_store_t            *s;
    mcp_store_link_t        out;
    mcp_store_visit_t       v[8], *many;
    mcp_store_day_t         days[8];
    mcp_store_referrer_t    refs[300];
    mcp_store_link_stats_t  st;

    s = test_open(test_dir(dir, "link-stats"), 0, 0);
    test_put(s, "st1", "https://example.com/st");

    v[0] = test_stat_visit("st1", 2, TEST_DAY + 5, 2, 0, "a.example");
    v[1] = test_stat_visit("st1", 1, TEST_DAY + 9, 1, 0, NULL);
    v[2] = test_stat_visit("st1", 0, TEST_DAY + 99999, 0, 3, NULL);
    v[3] = test_stat_visit("st1", 1, TEST_DAY + 86400 + 7, 1, 0,
                           "a.example");
    v[4] = test_stat_visit("st1", 0, TEST_DAY + 86400 + 8, 2, 0, "b.example");
    v[5] = test_stat_visit("gone", 4, TEST_DAY, 4, 1, "c.example");

    rc = mcp_store_link_add_visits(s, v, 6);
    rc |= mcp_store_link_get(s, "st1", 3, &out);
    TAP_OK(rc == MCP_STORE_OK && out.visits == 4
           && out.last_visit == TEST_DAY + 86400 + 7,
           "stats: the link counts people's visits, not bots' nor those "
           "consumed before (count 0)");

    st = test_stats_of(days, 8, refs, 20);

    rc = mcp_store_link_stats_get(s, "st1", 3, 0, &st);
    TAP_OK(rc == MCP_STORE_OK && st.bots == 3 && st.ndays == 2
           && days[0].day == TEST_DAY && days[0].visits == 3
           && days[1].day == TEST_DAY + 86400 && days[1].visits == 3,
           "stats: bots apart, people by UTC day, oldest first");

    ok = rc == MCP_STORE_OK && st.nreferrers == 3
         && test_str_is(refs[0].host, refs[0].host_len, "a.example")
         && refs[0].visits == 3
         && test_str_is(refs[1].host, refs[1].host_len, "b.example")
         && refs[1].visits == 2
         && refs[2].host_len == 0 && refs[2].visits == 1;
    mcp_store_release(s);
    TAP_OK(ok, "stats: referrers most visits first, none as the empty host");

    st.referrers_cap = 1;
    rc = mcp_store_link_stats_get(s, "st1", 3, TEST_DAY + 86400 + 3600, &st);
    ok = rc == MCP_STORE_OK && st.ndays == 1 && days[0].visits == 3
         && st.nreferrers == 1 && refs[0].visits == 3;
    mcp_store_release(s);
    TAP_OK(ok, "stats: days from since's day on, the top referrers_cap");

    st.referrers_cap = 20;
    rc = mcp_store_link_stats_get(s, "gone", 4, 0, &st);
    TAP_OK(rc == MCP_STORE_OK && st.bots == 0 && st.ndays == 0
           && st.nreferrers == 0,
           "stats: none for a link that was not there");

    v[0] = test_stat_visit("st1", 1, TEST_DAY, 1, 0, "Bad Host");
    v[1] = test_stat_visit("st1", 1, TEST_DAY + 400 * 86400, 1, 0, NULL);
    rc = mcp_store_link_add_visits(s, v, 2);
    rc |= mcp_store_link_stats_get(s, "st1", 3, 0, &st);
    ok = rc == MCP_STORE_OK && st.ndays == 2
         && days[0].day == TEST_DAY + 86400
         && days[1].day == TEST_DAY + 400 * 86400;

    for (i = 0; i < st.nreferrers; i++) {
        if (test_str_is(refs[i].host, refs[i].host_len,
                        MCP_STORE_REFERRER_OTHER))
        {
            ok = ok && refs[i].visits == 1;
            break;
        }
    }

    mcp_store_release(s);
    TAP_OK(ok && i < st.nreferrers,
           "stats: days past MCP_STORE_STATS_DAYS go as newer ones come; a "
           "bad host counts as other");

    many = calloc(MCP_STORE_STATS_HOSTS + 5, sizeof(mcp_store_visit_t));
    if (many == NULL) {
        tap_bail("calloc");
    }

    test_put(s, "st2", "https://example.com/st2");

    for (i = 0; i < MCP_STORE_STATS_HOSTS + 5; i++) {
        snprintf(host, sizeof(host), "h%zu.example", i);
        many[i] = test_stat_visit("st2", 1, TEST_DAY, 1, 0, NULL);
        many[i].referrer = strdup(host);
        many[i].referrer_len = strlen(host);
    }

    rc = mcp_store_link_add_visits(s, many, MCP_STORE_STATS_HOSTS + 5);

    for (i = 0; i < MCP_STORE_STATS_HOSTS + 5; i++) {
        free((void *) many[i].referrer);
    }

    free(many);

    st.referrers_cap = 300;
    rc |= mcp_store_link_stats_get(s, "st2", 3, 0, &st);
    ok = rc == MCP_STORE_OK && st.nreferrers == MCP_STORE_STATS_HOSTS + 1
         && test_str_is(refs[0].host, refs[0].host_len,
                        MCP_STORE_REFERRER_OTHER)
         && refs[0].visits == 5 && st.ndays == 1
         && days[0].visits == MCP_STORE_STATS_HOSTS + 5;
    mcp_store_release(s);
    TAP_OK(ok, "stats: past %d hosts a link, new ones count as other",
           MCP_STORE_STATS_HOSTS);

    rc = mcp_store_link_delete(s, "st1", 3);
    rc |= mcp_store_link_stats_get(s, "st1", 3, 0, &st);
    TAP_OK(rc == MCP_STORE_OK && st.bots == 0 && st.ndays == 0
           && st.nreferrers == 0,
           "stats: deleted with the link");

    rc = mcp_store_link_stats_get(s, "st2", 3, 0, &st);
    mcp_store_release(s);
    TAP_OK(rc == MCP_STORE_OK && st.nreferrers == MCP_STORE_STATS_HOSTS + 1,
           "stats: the neighbour's are untouched");

    st.days = NULL;
    TAP_RC(mcp_store_link_stats_get(s, "st2", 3, 0, &st), MCP_STORE_EINVAL,
           "stats: no array for a cap is EINVAL");

    mcp_store_close(s);
}
