/*
 * mcp-store: a store from the command line.
 *
 *     mcp-store stat DIR             key: value lines
 *     mcp-store get DIR CODE         the link as one JSON line
 *     mcp-store list DIR             code<TAB>url lines, in code order
 *     mcp-store dump DIR             every link as get prints it, in code
 *                                    order (to compare the stores of a
 *                                    cluster's nodes)
 *     mcp-store digest DIR           name<TAB>entries<TAB>hash lines, one
 *                                    a database (links, sessions, the
 *                                    graph, its index, contexts and
 *                                    messages), to compare what a
 *                                    cluster's nodes hold beyond links
 *     mcp-store export DIR [--tenant=T]
 *                                    the store as JSON lines on stdout
 *                                    (mcp_store_cli_dump.c)
 *     mcp-store import DIR           a dump of export from stdin, back
 *     mcp-store import --format=shlink|yourls|bitly DIR [--tenant=T]
 *                                    the links of another shortener's CSV
 *                                    export from stdin (mcp_store_cli_csv.c)
 *     mcp-store copy DIR DEST        a consistent, compacted copy of the
 *     mcp-store backup DIR DEST      store into the directory DEST (made
 *                                    if missing, and empty), safe next to
 *                                    a running nginx: a backup, or the
 *                                    snapshot a new cluster node starts
 *                                    from (it carries its sequence)
 *     mcp-store check DIR            decodes every record
 *     mcp-store delete DIR CODE      deletes a link
 *     mcp-store put DIR CODE URL [expires_at=T] [max_visits=N] [visits=N]
 *                            [tenant=NAME] [schemes=LIST]
 *                            [max_length=N]
 *                                    stores a link (bulk loads, tests);
 *                                    T in RFC 3339 or Unix seconds
 *     mcp-store sessions DIR         id<TAB>protocol<TAB>client_name<TAB>
 *                                    last_seen lines, in id order
 *     mcp-store session-put DIR ID [last_seen=T] [protocol=V]
 *                                    [tenant=NAME]
 *                                    stores a session (tests); protocol
 *                                    defaults to 2025-11-25, tenant to
 *                                    "default"
 *
 * In the sessions lines, which carry what MCP clients sent, backslashes
 * and control characters (tabs and newlines among them) are written as
 * \xHH, so that a line is always one session of four fields.  A session
 * record that does not decode is named on stderr, and the exit status is
 * 1.
 *
 * put stores the URL in its canonical form (store/mcp_url.h) and refuses
 * what the server would refuse, with the server's message: a scheme not
 * in LIST (comma-separated, default "http,https", as mcp_url_schemes), a
 * URL over N bytes (default 2048, as mcp_url_max_length), credentials,
 * control characters, an invalid host or port.  The patterns of
 * mcp_url_allow / mcp_url_deny and the link-to-itself check belong to the
 * server's configuration, which the tool does not read.
 *
 * --map-size=BYTES before the command sets the map size of the
 * environment (for a new one, or to grow one).
 *
 * Times are printed in RFC 3339, UTC ("2026-12-06T03:50:00Z"), and null
 * in JSON where a link has none (expires_at, max_visits, last_visit).
 *
 * The read commands open the store read-only: they are safe next to a
 * running nginx, and never create anything.  Exit status: 0 done, 1 failed
 * (not found, corrupt records, store errors), 2 usage.
 */

#define _POSIX_C_SOURCE  200809L

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "mcp_store_int.h"
#include "mcp_store_op.h"
#include "mcp_store_cli.h"


typedef struct {
    uint64_t  links;
    uint64_t  corrupt;
} mcp_store_cli_check_t;


static int mcp_store_cli_stat(mcp_store_t *s, char **argv,
    const mcp_store_cli_opts_t *opts);
static int mcp_store_cli_get(mcp_store_t *s, char **argv,
    const mcp_store_cli_opts_t *opts);
static int mcp_store_cli_list(mcp_store_t *s, char **argv,
    const mcp_store_cli_opts_t *opts);
static int mcp_store_cli_dump(mcp_store_t *s, char **argv,
    const mcp_store_cli_opts_t *opts);
static int mcp_store_cli_copy(mcp_store_t *s, char **argv,
    const mcp_store_cli_opts_t *opts);
static int mcp_store_cli_digest(mcp_store_t *s, char **argv,
    const mcp_store_cli_opts_t *opts);
static uint64_t mcp_store_cli_fnv(uint64_t h, const MDB_val *v);
static int mcp_store_cli_check(mcp_store_t *s, char **argv,
    const mcp_store_cli_opts_t *opts);
static int mcp_store_cli_put(mcp_store_t *s, char **argv,
    const mcp_store_cli_opts_t *opts);
static int mcp_store_cli_scheme_ok(void *data, const char *scheme,
    size_t len);
static int mcp_store_cli_sessions(mcp_store_t *s, char **argv,
    const mcp_store_cli_opts_t *opts);
static int mcp_store_cli_session_put(mcp_store_t *s, char **argv,
    const mcp_store_cli_opts_t *opts);
static int mcp_store_cli_list_one(void *data, const char *code,
    size_t code_len, const mcp_store_link_t *link);
static int mcp_store_cli_delete(mcp_store_t *s, char **argv,
    const mcp_store_cli_opts_t *opts);
static int mcp_store_cli_dump_one(void *data, const char *code,
    size_t code_len, const mcp_store_link_t *link);
static int mcp_store_cli_options(int *argc, char **argv,
    mcp_store_cli_opts_t *opts);
static int mcp_store_cli_check_one(void *data, const char *code,
    size_t code_len, const mcp_store_link_t *link);
static int mcp_store_cli_sessions_one(void *data, const char *id,
    size_t id_len, const mcp_store_session_t *session);
static void mcp_store_cli_json_str(const char *p, size_t len);
static int64_t mcp_store_cli_days(int64_t y, int64_t m, int64_t d);
static void mcp_store_cli_field(FILE *f, const char *p, size_t len);


static const struct {
    const char  *name;
    int          argc;          /* arguments after the directory */
    int          opts;          /* name=value options that may follow */
    unsigned     flags;         /* for mcp_store_open() */
    int        (*run)(mcp_store_t *s, char **argv,
                      const mcp_store_cli_opts_t *opts);
} mcp_store_cli_commands[] = {
    { "stat",     0, 0, MCP_STORE_RDONLY, mcp_store_cli_stat },
    { "get",      1, 0, MCP_STORE_RDONLY, mcp_store_cli_get },
    { "list",     0, 0, MCP_STORE_RDONLY, mcp_store_cli_list },
    { "dump",     0, 0, MCP_STORE_RDONLY, mcp_store_cli_dump },
    { "export",   0, 0, MCP_STORE_RDONLY, mcp_store_cli_export },
    { "import",   0, 0, MCP_STORE_NOSYNC, mcp_store_cli_import },
    { "copy",     1, 0, MCP_STORE_RDONLY, mcp_store_cli_copy },
    { "backup",   1, 0, MCP_STORE_RDONLY, mcp_store_cli_copy },
    { "digest",   0, 0, MCP_STORE_RDONLY, mcp_store_cli_digest },
    { "check",    0, 0, MCP_STORE_RDONLY, mcp_store_cli_check },
    { "delete",   1, 0, 0,                mcp_store_cli_delete },
    { "put",      2, 6, 0,                mcp_store_cli_put },
    { "sessions", 0, 0, MCP_STORE_RDONLY, mcp_store_cli_sessions },
    { "session-put", 1, 3, 0,             mcp_store_cli_session_put }
};


int
main(int argc, char **argv)
{
    int                 rc;
    char                err[512], c;
    size_t                i;
    mcp_store_t          *s;
    unsigned long long    map_size;
    mcp_store_cli_opts_t  opts;

    map_size = 0;

    if (argc >= 2 && strncmp(argv[1], "--map-size=", 11) == 0) {
        if (sscanf(argv[1] + 11, "%llu%c", &map_size, &c) != 1) {
            fprintf(stderr, "mcp-store: invalid %s\n", argv[1]);
            return 2;
        }

        argv++;
        argc--;
    }

    if (mcp_store_cli_options(&argc, argv, &opts) != 0) {
        return 2;
    }

    for (i = 0;
         i < sizeof(mcp_store_cli_commands)
             / sizeof(mcp_store_cli_commands[0]);
         i++)
    {
        if (argc >= 2 && strcmp(argv[1], mcp_store_cli_commands[i].name) == 0
            && argc >= mcp_store_cli_commands[i].argc + 3
            && argc <= mcp_store_cli_commands[i].argc
                       + mcp_store_cli_commands[i].opts + 3)
        {
            break;
        }
    }

    if (i == sizeof(mcp_store_cli_commands)
             / sizeof(mcp_store_cli_commands[0]))
    {
        fprintf(stderr,
                "usage: mcp-store [--map-size=BYTES] COMMAND DIR ...\n"
                "       mcp-store stat DIR\n"
                "       mcp-store get DIR CODE\n"
                "       mcp-store list DIR\n"
                "       mcp-store dump DIR\n"
                "       mcp-store digest DIR\n"
                "       mcp-store export DIR [--tenant=T] > dump.jsonl\n"
                "       mcp-store import DIR < dump.jsonl\n"
                "       mcp-store import --format=shlink|yourls|bitly DIR "
                "[--tenant=T] < links.csv\n"
                "       mcp-store copy DIR DEST\n"
                "       mcp-store backup DIR DEST\n"
                "       mcp-store check DIR\n"
                "       mcp-store delete DIR CODE\n"
                "       mcp-store put DIR CODE URL [expires_at=T] "
                "[max_visits=N] [visits=N] [tenant=NAME]\n"
                "                     [schemes=LIST] [max_length=N]\n"
                "       mcp-store sessions DIR\n"
                "       mcp-store session-put DIR ID [last_seen=T] "
                "[protocol=V] [tenant=NAME]\n");
        return 2;
    }

    rc = mcp_store_open(&s, argv[2], (size_t) map_size,
                        mcp_store_cli_commands[i].flags,
                        err, sizeof(err));
    if (rc != MCP_STORE_OK) {
        fprintf(stderr, "mcp-store: %s\n", err);
        return 1;
    }

    rc = mcp_store_cli_commands[i].run(s, argv + 3, &opts);

    mcp_store_close(s);

    if (fflush(stdout) == EOF) {
        perror("mcp-store: stdout");
        return 1;
    }

    return rc;
}


static int
mcp_store_cli_stat(mcp_store_t *s, char **argv,
    const mcp_store_cli_opts_t *opts)
{
    int               rc;
    uint64_t          applied;
    mcp_store_stat_t  st;

    (void) argv;
    (void) opts;

    rc = mcp_store_stat(s, &st);
    if (rc != MCP_STORE_OK) {
        return mcp_store_cli_failed("stat", NULL, rc);
    }

    rc = mcp_store_op_applied(s, &applied);
    if (rc != MCP_STORE_OK) {
        return mcp_store_cli_failed("stat", NULL, rc);
    }

    printf("schema_version: %u\n"
           "applied: %llu\n"
           "links: %llu\n"
           "map_size: %llu\n"
           "used_bytes: %llu\n"
           "page_size: %u\n"
           "max_readers: %u\n"
           "readers_used: %u\n",
           st.schema_version,
           (unsigned long long) applied,
           (unsigned long long) st.links,
           (unsigned long long) st.map_size,
           (unsigned long long) st.used_bytes,
           st.page_size, st.max_readers, st.readers_used);

    return 0;
}


static int
mcp_store_cli_get(mcp_store_t *s, char **argv,
    const mcp_store_cli_opts_t *opts)
{
    int               rc;
    mcp_store_link_t  link;

    (void) opts;

    rc = mcp_store_link_get(s, argv[0], strlen(argv[0]), &link);
    if (rc != MCP_STORE_OK) {
        return mcp_store_cli_failed("get", argv[0], rc);
    }

    return mcp_store_cli_dump_one(NULL, argv[0], strlen(argv[0]), &link);
}


static int
mcp_store_cli_dump_one(void *data, const char *code, size_t code_len,
    const mcp_store_link_t *link)
{
    (void) data;

    if (mcp_store_cli_print(mcp_store_cli_link_json(code, code_len, link))
        != 0)
    {
        fprintf(stderr, "mcp-store: link ");
        fwrite(code, 1, code_len, stderr);
        fprintf(stderr, " cannot be written as JSON\n");
        return 1;
    }

    return 0;
}


static int
mcp_store_cli_copy(mcp_store_t *s, char **argv,
    const mcp_store_cli_opts_t *opts)
{
    int  rc;

    (void) opts;

    if (mkdir(argv[0], 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "mcp-store: %s: %s\n", argv[0], strerror(errno));
        return 1;
    }

    /*
     * One read transaction: the copy is the store at one instant, while
     * writers go on (mdb_env_copy2 takes no writer lock when compacting);
     * it refuses a DEST that holds a store already.
     */

    rc = mdb_env_copy2(s->env, argv[0], MDB_CP_COMPACT);
    if (rc != MDB_SUCCESS) {
        fprintf(stderr, "mcp-store: copy to %s failed: %s\n", argv[0],
                mdb_strerror(rc));
        return 1;
    }

    return 0;
}


static int
mcp_store_cli_dump(mcp_store_t *s, char **argv,
    const mcp_store_cli_opts_t *opts)
{
    int  rc;

    (void) argv;
    (void) opts;

    rc = mcp_store_link_list(s, NULL, 0, 0, mcp_store_cli_dump_one, NULL,
                             NULL);
    if (rc != MCP_STORE_OK) {
        return mcp_store_cli_failed("dump", NULL, rc);
    }

    return 0;
}


static uint64_t
mcp_store_cli_fnv(uint64_t h, const MDB_val *v)
{
    size_t    i;
    uint64_t  len;

    for (i = 0; i < v->mv_size; i++) {
        h = (h ^ ((const unsigned char *) v->mv_data)[i]) * 1099511628211ULL;
    }

    for (len = v->mv_size, i = 0; i < 8; i++, len >>= 8) {
        h = (h ^ (len & 0xff)) * 1099511628211ULL;
    }

    return h;
}


/*
 * Each database but "meta" (which holds what is the node's own: its
 * outcomes, its usage counted as it went): its entries and an FNV-1a
 * hash over their keys and values in key order.  Two nodes that applied
 * the same log print the same lines.  (A context's record also holds the
 * summary its node's windows stored, a cache of its own.)
 */

static int
mcp_store_cli_digest(mcp_store_t *s, char **argv,
    const mcp_store_cli_opts_t *opts)
{
    int              rc;
    size_t           i, j;
    MDB_val          key, val;
    MDB_txn         *txn;
    uint64_t         h, n;
    MDB_cursor      *cur;

    /* which: 0 always there; 1 with sessions; 2 with the context store */

    static const struct {
        const char  *name;
        size_t       dbi;
        unsigned     which;
    } dbs[] = {
        { MCP_STORE_DB_LINKS, offsetof(mcp_store_t, links), 0 },
        { MCP_STORE_DB_SESSIONS, offsetof(mcp_store_t, sessions), 1 },
        { MCP_STORE_DB_ENTITIES, offsetof(mcp_store_t, entities), 2 },
        { MCP_STORE_DB_RELATIONS, offsetof(mcp_store_t, relations), 2 },
        { MCP_STORE_DB_RELATIONS_TO, offsetof(mcp_store_t, relations_to), 2 },
        { MCP_STORE_DB_POSTINGS, offsetof(mcp_store_t, postings), 2 },
        { MCP_STORE_DB_DOCS, offsetof(mcp_store_t, docs), 2 },
        { MCP_STORE_DB_CONTEXTS, offsetof(mcp_store_t, contexts), 2 },
        { MCP_STORE_DB_MESSAGES, offsetof(mcp_store_t, messages), 2 }
    };

    (void) argv;
    (void) opts;

    rc = mcp_store_read_begin(s, &txn);
    if (rc != MCP_STORE_OK) {
        return mcp_store_cli_failed("digest", NULL, rc);
    }

    for (i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
        h = 14695981039346656037ULL;
        n = 0;

        if ((dbs[i].which == 1 && !s->has_sessions)
            || (dbs[i].which == 2 && !s->has_context)
            || mdb_cursor_open(txn, *(MDB_dbi *) ((char *) s + dbs[i].dbi),
                               &cur)
               != MDB_SUCCESS)
        {
            printf("%s\t0\t-\n", dbs[i].name);
            continue;
        }

        for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
             rc == MDB_SUCCESS;
             rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
        {
            n++;

            /* the key and the value, each with its length */

            for (j = 0; j < 2; j++) {
                h = mcp_store_cli_fnv(h, (j == 0) ? &key : &val);
            }
        }

        mdb_cursor_close(cur);

        printf("%s\t%llu\t%016llx\n", dbs[i].name, (unsigned long long) n,
               (unsigned long long) h);
    }

    mcp_store_release(s);

    return 0;
}


static int
mcp_store_cli_list(mcp_store_t *s, char **argv,
    const mcp_store_cli_opts_t *opts)
{
    int  rc;

    (void) argv;
    (void) opts;

    rc = mcp_store_link_list(s, NULL, 0, 0, mcp_store_cli_list_one, NULL,
                             NULL);
    if (rc != MCP_STORE_OK) {
        return mcp_store_cli_failed("list", NULL, rc);
    }

    return 0;
}


static int
mcp_store_cli_list_one(void *data, const char *code, size_t code_len,
    const mcp_store_link_t *link)
{
    (void) data;

    fwrite(code, 1, code_len, stdout);
    putchar('\t');
    fwrite(link->url, 1, link->url_len, stdout);
    putchar('\n');

    return 0;
}


static int
mcp_store_cli_check(mcp_store_t *s, char **argv,
    const mcp_store_cli_opts_t *opts)
{
    int                    rc;
    mcp_store_cli_check_t  check;

    (void) argv;
    (void) opts;

    check.links = 0;
    check.corrupt = 0;

    rc = mcp_store_link_walk(s, NULL, 0, NULL, 0, 0, mcp_store_cli_check_one,
                             &check, NULL, MCP_STORE_WALK_CORRUPT);
    if (rc != MCP_STORE_OK) {
        return mcp_store_cli_failed("check", NULL, rc);
    }

    if (check.corrupt != 0) {
        fprintf(stderr, "mcp-store: %llu of %llu records do not decode\n",
                (unsigned long long) check.corrupt,
                (unsigned long long) check.links
                + (unsigned long long) check.corrupt);
        return 1;
    }

    printf("ok %llu links\n", (unsigned long long) check.links);

    return 0;
}


static int
mcp_store_cli_check_one(void *data, const char *code, size_t code_len,
    const mcp_store_link_t *link)
{
    mcp_store_cli_check_t  *check = data;

    if (link != NULL) {
        check->links++;
        return 0;
    }

    check->corrupt++;

    printf("corrupt ");
    mcp_store_cli_json_str(code, code_len);
    putchar('\n');

    return 0;
}


static int
mcp_store_cli_session_put(mcp_store_t *s, char **argv,
    const mcp_store_cli_opts_t *opts)
{
    int                   rc;
    char                **opt;
    mcp_store_session_t   session;

    (void) opts;

    memset(&session, 0, sizeof(session));

    session.created_at = (int64_t) time(NULL);
    session.last_seen = session.created_at;
    session.protocol = "2025-11-25";
    session.protocol_len = strlen(session.protocol);
    session.client_name = "mcp-store";
    session.client_name_len = strlen(session.client_name);

    for (opt = argv + 1; *opt != NULL; opt++) {
        if (strncmp(*opt, "last_seen=", 10) == 0) {
            if (mcp_store_cli_time_parse(*opt + 10, &session.last_seen) != 0)
            {
                fprintf(stderr, "mcp-store: session-put: \"%s\" is not an "
                        "RFC 3339 time or Unix seconds\n", *opt + 10);
                return 2;
            }

            continue;
        }

        if (strncmp(*opt, "protocol=", 9) == 0) {
            session.protocol = *opt + 9;
            session.protocol_len = strlen(session.protocol);
            continue;
        }

        if (strncmp(*opt, "tenant=", 7) == 0) {
            session.tenant = *opt + 7;
            session.tenant_len = strlen(session.tenant);
            continue;
        }

        fprintf(stderr, "mcp-store: session-put: unknown option \"%s\"\n",
                *opt);
        return 2;
    }

    rc = mcp_store_session_put(s, argv[0], strlen(argv[0]), &session);
    if (rc != MCP_STORE_OK) {
        return mcp_store_cli_failed("session-put", argv[0], rc);
    }

    return 0;
}


static int
mcp_store_cli_put(mcp_store_t *s, char **argv,
    const mcp_store_cli_opts_t *opts)
{
    int               rc;
    char              c, **opt, *url, err[256];
    mcp_store_link_t  link;
    mcp_url_policy_t  policy;

    (void) opts;

    memset(&link, 0, sizeof(link));

    link.created_at = (int64_t) time(NULL);

    mcp_store_cli_policy(&policy);

    for (opt = argv + 2; *opt != NULL; opt++) {
        if (strncmp(*opt, "expires_at=", 11) == 0) {
            if (mcp_store_cli_time_parse(*opt + 11, &link.expires_at) != 0) {
                fprintf(stderr, "mcp-store: put: \"%s\" is not an RFC 3339 "
                        "time or Unix seconds\n", *opt + 11);
                return 2;
            }

            continue;
        }

        if (sscanf(*opt, "max_visits=%" SCNu64 "%c", &link.max_visits, &c)
                == 1
            || sscanf(*opt, "visits=%" SCNu64 "%c", &link.visits, &c) == 1
            || (sscanf(*opt, "max_length=%zu%c", &policy.max_len, &c) == 1
                && policy.max_len != 0))
        {
            continue;
        }

        if (strncmp(*opt, "tenant=", 7) == 0) {
            link.tenant = *opt + 7;
            link.tenant_len = strlen(link.tenant);
            continue;
        }

        if (strncmp(*opt, "schemes=", 8) == 0) {
            policy.data = *opt + 8;
            continue;
        }

        fprintf(stderr, "mcp-store: put: unknown option \"%s\"\n", *opt);
        return 2;
    }

    if (mcp_store_cli_url(argv[1], strlen(argv[1]), &policy, &url,
                          &link.url_len, err, sizeof(err))
        != 0)
    {
        fprintf(stderr, "mcp-store: put %s: %s\n", argv[0], err);
        return 1;
    }

    link.url = url;

    rc = mcp_store_link_put(s, argv[0], strlen(argv[0]), &link);

    free(url);

    if (rc != MCP_STORE_OK) {
        return mcp_store_cli_failed("put", argv[0], rc);
    }

    return 0;
}


/* data is the comma-separated list of schemes= */

static int
mcp_store_cli_scheme_ok(void *data, const char *scheme, size_t len)
{
    size_t       i;
    const char  *p, *end;

    for (p = data; *p != '\0'; p = (*end == ',') ? end + 1 : end) {
        end = strchr(p, ',');
        if (end == NULL) {
            end = p + strlen(p);
        }

        if ((size_t) (end - p) != len) {
            continue;
        }

        for (i = 0; i < len; i++) {
            if ((p[i] | 0x20) != (scheme[i] | 0x20)) {
                break;
            }
        }

        if (i == len) {
            return 1;
        }
    }

    return 0;
}


static int
mcp_store_cli_sessions(mcp_store_t *s, char **argv,
    const mcp_store_cli_opts_t *opts)
{
    int       rc;
    uint64_t  corrupt;

    (void) argv;
    (void) opts;

    corrupt = 0;

    rc = mcp_store_session_walk(s, mcp_store_cli_sessions_one, &corrupt);
    if (rc != MCP_STORE_OK) {
        return mcp_store_cli_failed("sessions", NULL, rc);
    }

    if (corrupt != 0) {
        fprintf(stderr, "mcp-store: %llu session records do not decode\n",
                (unsigned long long) corrupt);
        return 1;
    }

    return 0;
}


static int
mcp_store_cli_sessions_one(void *data, const char *id, size_t id_len,
    const mcp_store_session_t *session)
{
    uint64_t  *corrupt = data;

    char  when[MCP_STORE_CLI_TIME_LEN];

    if (session == NULL) {
        (*corrupt)++;

        fprintf(stderr, "mcp-store: corrupt session record ");
        mcp_store_cli_field(stderr, id, id_len);
        fputc('\n', stderr);

        return 0;
    }

    mcp_store_cli_field(stdout, id, id_len);
    putchar('\t');
    mcp_store_cli_field(stdout, session->protocol, session->protocol_len);
    putchar('\t');
    mcp_store_cli_field(stdout, session->client_name,
                        session->client_name_len);
    mcp_store_cli_time(when, session->last_seen);
    printf("\t%s\n", when);

    return 0;
}


/* Codes and URLs are bytes: escape what JSON requires, pass the rest. */

static void
mcp_store_cli_json_str(const char *p, size_t len)
{
    size_t         i;
    unsigned char  c;

    putchar('"');

    for (i = 0; i < len; i++) {
        c = (unsigned char) p[i];

        if (c == '"' || c == '\\') {
            putchar('\\');
            putchar(c);

        } else if (c < 0x20 || c == 0x7f) {
            printf("\\u%04x", c);

        } else {
            putchar(c);
        }
    }

    putchar('"');
}


/* One field of a tab-separated line: see the sessions command above. */

static void
mcp_store_cli_field(FILE *f, const char *p, size_t len)
{
    size_t         i;
    unsigned char  c;

    for (i = 0; i < len; i++) {
        c = (unsigned char) p[i];

        if (c == '\\' || c < 0x20 || c == 0x7f) {
            fprintf(f, "\\x%02x", c);

        } else {
            putc(c, f);
        }
    }
}


int
mcp_store_cli_failed(const char *what, const char *arg, int rc)
{
    fprintf(stderr, "mcp-store: %s%s%s: %s\n", what,
            arg ? " " : "", arg ? arg : "", mcp_store_strerror(rc));

    return 1;
}


static int
mcp_store_cli_delete(mcp_store_t *s, char **argv,
    const mcp_store_cli_opts_t *opts)
{
    int  rc;

    (void) opts;

    rc = mcp_store_link_delete(s, argv[0], strlen(argv[0]));
    if (rc != MCP_STORE_OK) {
        return mcp_store_cli_failed("delete", argv[0], rc);
    }

    return 0;
}


/*
 * Takes the --tenant= and --format= options out of argv, wherever they
 * are after the command, so that the fixed arguments stay in place.
 */

static int
mcp_store_cli_options(int *argc, char **argv, mcp_store_cli_opts_t *opts)
{
    int  i, n;

    opts->tenant = NULL;
    opts->format = NULL;

    for (i = 2, n = 2; i < *argc; i++) {
        if (strncmp(argv[i], "--tenant=", 9) == 0) {
            opts->tenant = argv[i] + 9;

        } else if (strncmp(argv[i], "--format=", 9) == 0) {
            opts->format = argv[i] + 9;

        } else if (strncmp(argv[i], "--", 2) == 0) {
            fprintf(stderr, "mcp-store: unknown option %s\n", argv[i]);
            return -1;

        } else {
            argv[n++] = argv[i];
        }
    }

    argv[n] = NULL;
    *argc = n;

    if ((opts->tenant != NULL || opts->format != NULL)
        && (n < 2 || (strcmp(argv[1], "export") != 0
                      && strcmp(argv[1], "import") != 0)))
    {
        fprintf(stderr, "mcp-store: --tenant and --format are options of "
                "export and import\n");
        return -1;
    }

    return 0;
}


/* days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar */

static int64_t
mcp_store_cli_days(int64_t y, int64_t m, int64_t d)
{
    int64_t  era, yoe, doy, doe;

    y -= (m <= 2);
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}


void
mcp_store_cli_time(char *buf, int64_t t)
{
    time_t     tt;
    struct tm  tm;

    tt = (time_t) t;

    if (gmtime_r(&tt, &tm) == NULL || tm.tm_year + 1900 > 9999
        || tm.tm_year + 1900 < 0)
    {
        tt = 0;
        gmtime_r(&tt, &tm);
    }

    strftime(buf, MCP_STORE_CLI_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}


int
mcp_store_cli_time_parse(const char *s, int64_t *t)
{
    int        n, y, mo, d, h, mi, sec, oh, om;
    char       sep, sign;
    const char *p;

    n = 0;

    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) == 3 && n == 10
        && s[n] == '\0')
    {
        /* a date alone: its midnight, UTC */

        if (mo < 1 || mo > 12 || d < 1 || d > 31) {
            return -1;
        }

        *t = mcp_store_cli_days(y, mo, d) * 86400;
        return 0;
    }

    if (sscanf(s, "%4d-%2d-%2d%c%2d:%2d:%2d%n", &y, &mo, &d, &sep, &h, &mi,
               &sec, &n) != 7 || n != 19)
    {
        /* Unix seconds */

        long long  v;

        if (sscanf(s, "%lld%n", &v, &n) != 1 || s[n] != '\0' || n == 0) {
            return -1;
        }

        *t = (int64_t) v;
        return 0;
    }

    if ((sep != 'T' && sep != 't' && sep != ' ') || mo < 1 || mo > 12
        || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
    {
        return -1;
    }

    p = s + n;

    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++) { /* void */ }
    }

    oh = 0;
    om = 0;

    if (*p == 'Z' || *p == 'z') {
        p++;

    } else if (*p == '+' || *p == '-') {
        sign = *p;

        /* "+01:00", or "+0100" as ISO 8601's basic format writes it */

        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n) == 2 && n == 5) {
            p += 6;

        } else if (sscanf(p + 1, "%2d%2d%n", &oh, &om, &n) == 2 && n == 4) {
            p += 5;

        } else {
            return -1;
        }

        if (oh > 23 || om > 59) {
            return -1;
        }

        if (sign == '-') {
            oh = -oh;
            om = -om;
        }

    } else if (sep != ' ') {
        return -1;                      /* RFC 3339 has a zone */
    }

    if (*p != '\0') {
        return -1;
    }

    *t = mcp_store_cli_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec
         - (oh * 3600 + om * 60);

    return 0;
}


json_t *
mcp_store_cli_time_json(int64_t t, int unset0)
{
    char  buf[MCP_STORE_CLI_TIME_LEN];

    if (t == 0 && unset0) {
        return json_null();
    }

    mcp_store_cli_time(buf, t);

    return json_string(buf);
}


void
mcp_store_cli_policy(mcp_url_policy_t *policy)
{
    policy->max_len = MCP_STORE_CLI_URL_MAX;
    policy->scheme_ok = mcp_store_cli_scheme_ok;
    policy->data = MCP_STORE_CLI_SCHEMES;
}


int
mcp_store_cli_url(const char *url, size_t len, const mcp_url_policy_t *policy,
    char **canon, size_t *canon_len, char *err, size_t err_len)
{
    mcp_url_t  u;

    *canon = malloc(MCP_URL_CANON_SIZE(len));
    if (*canon == NULL) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }

    if (mcp_url_canon(url, len, policy, *canon, MCP_URL_CANON_SIZE(len), &u,
                      err, err_len)
        != MCP_URL_OK)
    {
        free(*canon);
        *canon = NULL;
        return -1;
    }

    *canon_len = u.len;

    return 0;
}


int
mcp_store_cli_code_ok(const char *code, size_t len)
{
    size_t  i;
    char    c;

    if (len == 0 || len > MCP_STORE_CODE_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = code[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_' || c == '-'))
        {
            return 0;
        }
    }

    return 1;
}


int
mcp_store_cli_print(json_t *j)
{
    int  rc;

    if (j == NULL) {
        return -1;
    }

    rc = json_dumpf(j, stdout, JSON_COMPACT);
    json_decref(j);

    if (rc != 0 || putchar('\n') == EOF) {
        return -1;
    }

    return 0;
}
