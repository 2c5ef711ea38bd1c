/*
 * mcp-store export and import: a store as JSON lines, and back.
 *
 *     {"type":"header","format":"ngx_mcp","schema_version":1,
 *      "exported_at":"2026-12-06T03:50:00Z","tenant":null}
 *     {"type":"link","code":..,"url":..,"tenant":..,"created_at":..,
 *      "expires_at":..,"max_visits":..,"visits":..,"last_visit":..}
 *     {"type":"entity","tenant":..,"namespace":..,"name":..,
 *      "entity_type":..,"created_at":..,"updated_at":..,
 *      "observations":[{"text":..,"created_at":..},...]}
 *     {"type":"relation","tenant":..,"namespace":..,"from":..,
 *      "relation_type":..,"to":..,"created_at":..}
 *     {"type":"context","tenant":..,"namespace":..,"id":..,
 *      "created_at":..,"updated_at":..,"expires_at":..,
 *      "summary":{"text":..,"from":N,"upto":N} or null,
 *      "messages":[{"seq":N,"role":"user","pinned":false,"content":..,
 *                   "created_at":..},...]}
 *
 * Times are RFC 3339 strings, null where a link or context has none.
 * Sessions are not exported: they belong to clients that are connected
 * now, and a client starts a new one on 404.
 *
 * Everything goes through the library's public functions, so that a field
 * the library adds to a record comes through here by a line in
 * mcp_store_cli_link_fields[] (links) or in the function that writes and
 * reads that kind of record.
 *
 * Import: every line is one record, written in one transaction of its own
 * (a context with all its messages), so that a line is stored whole or not
 * at all; a line that cannot be stored is reported with its number and
 * skipped, and the lines before and after it stay.  Importing the same
 * file again finds every record there and changes nothing: a run cut
 * short is finished by running it again.
 */

#define _POSIX_C_SOURCE  200809L

#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcp_store_cli.h"


/* kinds of link fields */
#define MCP_STORE_CLI_STR        0     /* const char * and size_t */
#define MCP_STORE_CLI_TIME       1     /* int64_t, RFC 3339 */
#define MCP_STORE_CLI_COUNT      2     /* uint64_t */
#define MCP_STORE_CLI_TAGS       3     /* comma-joined; a JSON array */

/* what the links of an export are read in: pages, each its own snapshot */
#define MCP_STORE_CLI_PAGE       1000


/*
 * The fields of a link record, in the order an export writes them: the
 * one place that knows them (get, dump, export and import all use it).
 * unset0: 0 means "not set", written null.  required: an import refuses a
 * link without it.  A count may be of any unsigned type (size says which);
 * a string's length is the member named after it.
 */
typedef struct {
    const char  *name;
    unsigned     kind;
    unsigned     unset0;
    unsigned     required;
    size_t       offset;
    size_t       size;
    size_t       len_offset;
} mcp_store_cli_field_t;

#define MCP_STORE_CLI_FIELD(name, kind, unset0, required, member, len)       \
    { name, kind, unset0, required, offsetof(mcp_store_link_t, member),       \
      sizeof(((mcp_store_link_t *) 0)->member),                               \
      offsetof(mcp_store_link_t, len) }

static const mcp_store_cli_field_t  mcp_store_cli_link_fields[] = {
    MCP_STORE_CLI_FIELD("url", MCP_STORE_CLI_STR, 0, 1, url, url_len),
    MCP_STORE_CLI_FIELD("tenant", MCP_STORE_CLI_STR, 0, 0, tenant,
                        tenant_len),
    MCP_STORE_CLI_FIELD("created_at", MCP_STORE_CLI_TIME, 0, 1, created_at,
                        created_at),
    MCP_STORE_CLI_FIELD("expires_at", MCP_STORE_CLI_TIME, 1, 0, expires_at,
                        expires_at),
    MCP_STORE_CLI_FIELD("max_visits", MCP_STORE_CLI_COUNT, 1, 0, max_visits,
                        max_visits),
    MCP_STORE_CLI_FIELD("visits", MCP_STORE_CLI_COUNT, 0, 0, visits, visits),
    MCP_STORE_CLI_FIELD("last_visit", MCP_STORE_CLI_TIME, 1, 0, last_visit,
                        last_visit),
    MCP_STORE_CLI_FIELD("tags", MCP_STORE_CLI_TAGS, 1, 0, tags, tags_len),
    MCP_STORE_CLI_FIELD("redirect_status", MCP_STORE_CLI_COUNT, 1, 0,
                        redirect_status, redirect_status),
    MCP_STORE_CLI_FIELD("updated_at", MCP_STORE_CLI_TIME, 1, 0, updated_at,
                        updated_at)
};

#define MCP_STORE_CLI_NFIELDS                                                 \
    (sizeof(mcp_store_cli_link_fields) / sizeof(mcp_store_cli_link_fields[0]))

/* the fields a CSV's link is compared on: see MCP_STORE_CLI_SAME_URL */
#define MCP_STORE_CLI_URL_FIELDS  2


/* what an export walk carries through the callbacks */
typedef struct {
    mcp_store_txn_t            *t;
    const mcp_store_scope_t    *sc;
    json_t                     *messages;
    int                         failed;
    char                        after[MCP_STORE_CODE_MAX];
    size_t                      after_len;
} mcp_store_cli_walk_t;


static const char  *mcp_store_cli_roles[] = {
    "system", "user", "assistant", "tool", NULL
};


static int mcp_store_cli_export_link(void *data, const char *code,
    size_t code_len, const mcp_store_link_t *link);
static int mcp_store_cli_export_scope(mcp_store_txn_t *t,
    const mcp_store_scope_t *sc);
static int mcp_store_cli_export_entity(void *data,
    const mcp_store_entity_t *e);
static int mcp_store_cli_export_relation(void *data,
    const mcp_store_relation_t *r);
static int mcp_store_cli_export_context(void *data,
    const mcp_store_context_t *c);
static int mcp_store_cli_export_message(void *data,
    const mcp_store_message_t *m);
static json_t *mcp_store_cli_record(const char *type,
    const mcp_store_scope_t *sc);
static int mcp_store_cli_walk_failed(mcp_store_cli_walk_t *w, json_t *j);
static int mcp_store_cli_import_line(mcp_store_t *s,
    mcp_store_cli_import_t *im, json_t *j);
static int mcp_store_cli_import_link(mcp_store_t *s,
    mcp_store_cli_import_t *im, json_t *j);
static int mcp_store_cli_import_entity(mcp_store_cli_import_t *im,
    mcp_store_txn_t *t, const mcp_store_scope_t *sc, json_t *j);
static int mcp_store_cli_import_relation(mcp_store_cli_import_t *im,
    mcp_store_txn_t *t, const mcp_store_scope_t *sc, json_t *j);
static int mcp_store_cli_import_context(mcp_store_cli_import_t *im,
    mcp_store_txn_t *t, const mcp_store_scope_t *sc, json_t *j);
static uint64_t mcp_store_cli_count(const void *p, size_t size);
static void mcp_store_cli_set_count(void *p, size_t size, uint64_t v);
static const char *mcp_store_cli_link_diff(const mcp_store_link_t *a,
    const mcp_store_link_t *b, size_t nfields);
static int mcp_store_cli_str(json_t *j, const char *name, int required,
    const char **p, size_t *len);
static int mcp_store_cli_get_time(json_t *j, const char *name, int unset0,
    int64_t *t);
static int mcp_store_cli_header(json_t *j);
static json_t *mcp_store_cli_tags_json(const char *tags, size_t tags_len);
static int mcp_store_cli_tags_read(mcp_store_cli_import_t *im, json_t *v,
    char *buf, size_t *len);


/* --- the link table ----------------------------------------------------- */


json_t *
mcp_store_cli_link_json(const char *code, size_t code_len,
    const mcp_store_link_t *link)
{
    size_t                        i;
    json_t                       *j, *v;
    uint64_t                      n;
    const char                   *p;
    const mcp_store_cli_field_t  *f;

    j = json_object();

    if (j == NULL
        || json_object_set_new(j, "type", json_string("link")) != 0
        || json_object_set_new(j, "code", json_stringn(code, code_len)) != 0)
    {
        json_decref(j);
        return NULL;
    }

    for (i = 0; i < MCP_STORE_CLI_NFIELDS; i++) {
        f = &mcp_store_cli_link_fields[i];
        p = (const char *) link + f->offset;

        switch (f->kind) {

        case MCP_STORE_CLI_STR:
            v = json_stringn(*(const char *const *) p,
                             *(const size_t *) ((const char *) link
                                                + f->len_offset));
            break;

        case MCP_STORE_CLI_TIME:
            v = mcp_store_cli_time_json(*(const int64_t *) p, f->unset0);
            break;

        case MCP_STORE_CLI_TAGS:
            v = mcp_store_cli_tags_json(*(const char *const *) p,
                                        *(const size_t *) ((const char *) link
                                                           + f->len_offset));
            break;

        default:
            n = mcp_store_cli_count(p, f->size);
            v = (n == 0 && f->unset0) ? json_null()
                                      : json_integer((json_int_t) n);
            break;
        }

        if (json_object_set_new(j, f->name, v) != 0) {
            json_decref(j);
            return NULL;
        }
    }

    return j;
}


/* a link's tags as a JSON array of strings, null for none */

static json_t *
mcp_store_cli_tags_json(const char *tags, size_t tags_len)
{
    size_t       pos, len;
    json_t      *a;
    const char  *tag;

    if (tags_len == 0) {
        return json_null();
    }

    a = json_array();
    pos = 0;

    while (a != NULL && mcp_store_tag_next(tags, tags_len, &pos, &tag, &len)) {
        if (json_array_append_new(a, json_stringn(tag, len)) != 0) {
            json_decref(a);
            return NULL;
        }
    }

    return a;
}


/*
 * Joins the JSON array of tags v into buf (MCP_STORE_LINK_TAGS_LEN bytes)
 * with commas.  -1 with the reason reported for a tag that is not one.
 */

static int
mcp_store_cli_tags_read(mcp_store_cli_import_t *im, json_t *v, char *buf,
    size_t *len)
{
    size_t       i, n;
    json_t      *t;
    const char  *tag;

    if (!json_is_array(v) || json_array_size(v) > MCP_STORE_TAGS_MAX) {
        return mcp_store_cli_skip(im, "link: \"tags\" must be an array of "
                                  "at most %d tags", MCP_STORE_TAGS_MAX);
    }

    *len = 0;

    json_array_foreach(v, i, t) {
        tag = json_string_value(t);
        n = json_string_length(t);

        if (tag == NULL || !mcp_store_tag_valid(tag, n)) {
            return mcp_store_cli_skip(im, "link: tag %zu is not 1 to %d "
                                      "characters of A-Z, a-z, 0-9, _, ., : "
                                      "and -", i + 1, MCP_STORE_TAG_MAX);
        }

        if (*len > 0) {
            buf[(*len)++] = ',';
        }

        memcpy(buf + *len, tag, n);
        *len += n;
    }

    return 0;
}


/*
 * Reads a link line into *link: its strings point into j, its tags into
 * tags (MCP_STORE_LINK_TAGS_LEN bytes).  -1 with the reason reported for
 * a bad or unknown field.
 */

static int
mcp_store_cli_link_read(mcp_store_cli_import_t *im, json_t *j,
    mcp_store_link_t *link, char *tags)
{
    size_t                        i;
    char                         *p;
    json_t                       *v;
    const char                   *key;
    const mcp_store_cli_field_t  *f;

    memset(link, 0, sizeof(mcp_store_link_t));

    json_object_foreach(j, key, v) {
        for (i = 0; i < MCP_STORE_CLI_NFIELDS; i++) {
            if (strcmp(key, mcp_store_cli_link_fields[i].name) == 0) {
                break;
            }
        }

        if (i == MCP_STORE_CLI_NFIELDS && strcmp(key, "type") != 0
            && strcmp(key, "code") != 0)
        {
            return mcp_store_cli_skip(im, "link: unknown field \"%s\"", key);
        }
    }

    for (i = 0; i < MCP_STORE_CLI_NFIELDS; i++) {
        f = &mcp_store_cli_link_fields[i];
        p = (char *) link + f->offset;
        v = json_object_get(j, f->name);

        if (v == NULL || json_is_null(v)) {
            if (f->required || (v != NULL && !f->unset0)) {
                return mcp_store_cli_skip(im, "link: \"%s\" is missing",
                                          f->name);
            }

            continue;
        }

        switch (f->kind) {

        case MCP_STORE_CLI_STR:
            if (mcp_store_cli_str(j, f->name, 1, (const char **) p,
                                  (size_t *) ((char *) link + f->len_offset))
                != 0)
            {
                return mcp_store_cli_skip(im, "link: \"%s\" must be a string",
                                          f->name);
            }

            break;

        case MCP_STORE_CLI_TIME:
            if (mcp_store_cli_get_time(j, f->name, f->unset0, (int64_t *) p)
                != 0)
            {
                return mcp_store_cli_skip(im, "link: \"%s\" must be an "
                                          "RFC 3339 time", f->name);
            }

            break;

        case MCP_STORE_CLI_TAGS:
            if (mcp_store_cli_tags_read(im, v, tags, &link->tags_len) != 0) {
                return -1;
            }

            link->tags = tags;
            break;

        default:
            if (!json_is_integer(v) || json_integer_value(v) < 0
                || (f->size < sizeof(uint64_t)
                    && (uint64_t) json_integer_value(v)
                       >> (8 * f->size) != 0))
            {
                return mcp_store_cli_skip(im, "link: \"%s\" must be a whole "
                                          "number", f->name);
            }

            mcp_store_cli_set_count(p, f->size,
                                    (uint64_t) json_integer_value(v));
            break;
        }
    }

    return 0;
}


/* a count of size bytes, any unsigned type */

static uint64_t
mcp_store_cli_count(const void *p, size_t size)
{
    switch (size) {
    case sizeof(uint8_t):
        return *(const uint8_t *) p;
    case sizeof(uint16_t):
        return *(const uint16_t *) p;
    case sizeof(uint32_t):
        return *(const uint32_t *) p;
    default:
        return *(const uint64_t *) p;
    }
}


static void
mcp_store_cli_set_count(void *p, size_t size, uint64_t v)
{
    switch (size) {
    case sizeof(uint8_t):
        *(uint8_t *) p = (uint8_t) v;
        break;
    case sizeof(uint16_t):
        *(uint16_t *) p = (uint16_t) v;
        break;
    case sizeof(uint32_t):
        *(uint32_t *) p = (uint32_t) v;
        break;
    default:
        *(uint64_t *) p = v;
        break;
    }
}


/*
 * The name of the first of the table's first nfields fields that differs
 * in a and b, or NULL if they are the same.
 */

static const char *
mcp_store_cli_link_diff(const mcp_store_link_t *a, const mcp_store_link_t *b,
    size_t nfields)
{
    size_t                        i, alen, blen;
    const char                   *pa, *pb;
    const mcp_store_cli_field_t  *f;

    for (i = 0; i < nfields; i++) {
        f = &mcp_store_cli_link_fields[i];
        pa = (const char *) a + f->offset;
        pb = (const char *) b + f->offset;

        if (f->kind != MCP_STORE_CLI_STR && f->kind != MCP_STORE_CLI_TAGS) {
            if (memcmp(pa, pb, f->size) != 0) {
                return f->name;
            }

            continue;
        }

        alen = *(const size_t *) ((const char *) a + f->len_offset);
        blen = *(const size_t *) ((const char *) b + f->len_offset);

        pa = *(const char *const *) pa;
        pb = *(const char *const *) pb;

        /* a link written without an owner is MCP_STORE_TENANT_DEFAULT's */

        if (alen == 0 && f->len_offset == offsetof(mcp_store_link_t,
                                                   tenant_len))
        {
            pa = MCP_STORE_TENANT_DEFAULT;
            alen = strlen(pa);
        }

        if (alen != blen || (alen > 0 && memcmp(pa, pb, alen) != 0)) {
            return f->name;
        }
    }

    return NULL;
}


int
mcp_store_cli_link_import(mcp_store_t *s, mcp_store_cli_import_t *im,
    const char *code, size_t code_len, const mcp_store_link_t *link,
    unsigned same)
{
    int               rc;
    char             *canon, err[256];
    const char       *diff;
    mcp_url_policy_t  policy;
    mcp_store_link_t  in, old;

    if (!mcp_store_cli_code_ok(code, code_len)) {
        return mcp_store_cli_skip(im, "code \"%.*s\" is not 1 to %d "
                                  "characters of A-Z, a-z, 0-9, _ and -",
                                  (int) code_len, code, MCP_STORE_CODE_MAX);
    }

    in = *link;

    mcp_store_cli_policy(&policy);

    if (mcp_store_cli_url(link->url, link->url_len, &policy, &canon,
                          &in.url_len, err, sizeof(err))
        != 0)
    {
        return mcp_store_cli_skip(im, "link %.*s: %s", (int) code_len, code,
                                  err);
    }

    in.url = canon;

    rc = mcp_store_link_put(s, code, code_len, &in);

    if (rc == MCP_STORE_OK) {
        free(canon);
        im->count[MCP_STORE_CLI_IMPORTED]++;
        return MCP_STORE_CLI_IMPORTED;
    }

    diff = NULL;

    if (rc == MCP_STORE_EXISTS) {
        rc = mcp_store_link_get(s, code, code_len, &old);

        if (rc == MCP_STORE_OK) {
            diff = mcp_store_cli_link_diff(&in, &old,
                                           (same == MCP_STORE_CLI_SAME_URL)
                                           ? MCP_STORE_CLI_URL_FIELDS
                                           : MCP_STORE_CLI_NFIELDS);
        }

        mcp_store_release(s);
    }

    free(canon);

    if (rc == MCP_STORE_OK && diff == NULL) {
        im->count[MCP_STORE_CLI_UNCHANGED]++;
        return MCP_STORE_CLI_UNCHANGED;
    }

    if (rc == MCP_STORE_OK) {
        return mcp_store_cli_skip(im, "code %.*s is taken: the link there "
                                  "differs in \"%s\"", (int) code_len, code,
                                  diff);
    }

    return mcp_store_cli_skip(im, "link %.*s: %s", (int) code_len, code,
                              mcp_store_strerror(rc));
}


/* --- export ------------------------------------------------------------- */


int
mcp_store_cli_export(mcp_store_t *s, char **argv,
    const mcp_store_cli_opts_t *opts)
{
    int                    rc, more;
    char                   now[MCP_STORE_CLI_TIME_LEN];
    size_t                 tlen;
    json_t                *j;
    mcp_store_txn_t       *t;
    mcp_store_scope_t      sc, prev;
    mcp_store_cli_walk_t   w;

    (void) argv;

    tlen = (opts->tenant != NULL) ? strlen(opts->tenant) : 0;

    if (opts->tenant != NULL
        && mcp_store_scope_valid(opts->tenant, tlen, 1) != MCP_STORE_OK)
    {
        fprintf(stderr, "mcp-store: export: invalid tenant \"%s\"\n",
                opts->tenant);
        return 2;
    }

    mcp_store_cli_time(now, (int64_t) time(NULL));

    j = json_pack("{s:s, s:s, s:i, s:s, s:s?}", "type", "header",
                  "format", "ngx_mcp", "schema_version",
                  MCP_STORE_SCHEMA_VERSION, "exported_at", now,
                  "tenant", opts->tenant);

    if (mcp_store_cli_print(j) != 0) {
        return 1;
    }

    /* links: pages of their own snapshots, so that a slow reader of the
     * output does not pin one for the whole export */

    memset(&w, 0, sizeof(w));

    do {
        rc = mcp_store_link_list_tenant(s, opts->tenant, tlen, w.after,
                                        w.after_len, MCP_STORE_CLI_PAGE,
                                        mcp_store_cli_export_link, &w, &more);
        mcp_store_release(s);

        if (rc != MCP_STORE_OK) {
            return mcp_store_cli_failed("export", NULL, rc);
        }

        if (w.failed) {
            return 1;
        }

    } while (more);

    /* the context store: one snapshot, every scope of it */

    rc = mcp_store_txn_begin(s, MCP_STORE_RDONLY, &t);
    if (rc != MCP_STORE_OK) {
        return mcp_store_cli_failed("export", NULL, rc);
    }

    mcp_store_txn_budget(t, UINT64_MAX);

    for (rc = mcp_store_scope_next(t, NULL, &sc);
         rc == MCP_STORE_OK;
         rc = mcp_store_scope_next(t, &prev, &sc))
    {
        prev = sc;

        if (opts->tenant != NULL
            && (sc.tenant_len != tlen
                || memcmp(sc.tenant, opts->tenant, tlen) != 0))
        {
            continue;
        }

        rc = mcp_store_cli_export_scope(t, &sc);
        if (rc != MCP_STORE_OK) {
            break;
        }
    }

    mcp_store_txn_abort(t);

    if (rc == -1) {
        return 1;
    }

    if (rc != MCP_STORE_NOTFOUND) {
        return mcp_store_cli_failed("export", NULL, rc);
    }

    return 0;
}


static int
mcp_store_cli_export_link(void *data, const char *code, size_t code_len,
    const mcp_store_link_t *link)
{
    mcp_store_cli_walk_t  *w = data;

    memcpy(w->after, code, code_len);
    w->after_len = code_len;

    if (link == NULL) {
        return 0;              /* where the next page of a tenant's starts */
    }

    return mcp_store_cli_walk_failed(w, mcp_store_cli_link_json(code,
                                                                code_len,
                                                                link));
}


/* MCP_STORE_OK, -1 when a record could not be written, or a store error */

static int
mcp_store_cli_export_scope(mcp_store_txn_t *t, const mcp_store_scope_t *sc)
{
    int                       rc, more;
    mcp_store_cli_walk_t      w;
    mcp_store_observation_t  *obs;

    memset(&w, 0, sizeof(w));
    w.t = t;
    w.sc = sc;

    obs = malloc(MCP_STORE_OBS_MAX * sizeof(mcp_store_observation_t));
    if (obs == NULL) {
        return MCP_STORE_ENOMEM;
    }

    rc = mcp_store_entity_list(t, sc, NULL, 0, 0, obs, MCP_STORE_OBS_MAX,
                               mcp_store_cli_export_entity, &w, &more);

    free(obs);

    if (rc == MCP_STORE_OK && !w.failed) {
        rc = mcp_store_relation_list(t, sc, NULL, 0, NULL, 0,
                                     mcp_store_cli_export_relation, &w,
                                     &more);
    }

    if (rc == MCP_STORE_OK && !w.failed) {
        rc = mcp_store_context_list(t, sc, NULL, 0, 0,
                                    mcp_store_cli_export_context, &w, &more);
    }

    if (rc == MCP_STORE_OK && mcp_store_txn_truncated(t)) {
        rc = MCP_STORE_ETOOBIG;          /* cannot be: the budget is all */
    }

    return (rc == MCP_STORE_OK && w.failed) ? -1 : rc;
}


static json_t *
mcp_store_cli_record(const char *type, const mcp_store_scope_t *sc)
{
    return json_pack("{s:s, s:s%, s:s%}", "type", type,
                     "tenant", sc->tenant, sc->tenant_len,
                     "namespace", sc->ns, sc->ns_len);
}


static int
mcp_store_cli_export_entity(void *data, const mcp_store_entity_t *e)
{
    mcp_store_cli_walk_t  *w = data;

    size_t   i;
    json_t  *j, *obs, *o;

    j = mcp_store_cli_record("entity", w->sc);
    obs = json_array();

    if (j == NULL || obs == NULL
        || json_object_set_new(j, "name", json_stringn(e->name, e->name_len))
        || json_object_set_new(j, "entity_type",
                               json_stringn(e->type, e->type_len))
        || json_object_set_new(j, "created_at",
                               mcp_store_cli_time_json(e->created_at, 0))
        || json_object_set_new(j, "updated_at",
                               mcp_store_cli_time_json(e->updated_at, 0)))
    {
        json_decref(obs);
        return mcp_store_cli_walk_failed(w, NULL);
    }

    for (i = 0; i < e->nobservations; i++) {
        o = json_pack("{s:s%, s:o}", "text", e->observations[i].text,
                      e->observations[i].text_len, "created_at",
                      mcp_store_cli_time_json(e->observations[i].created_at,
                                              0));

        if (json_array_append_new(obs, o) != 0) {
            json_decref(obs);
            json_decref(j);
            return mcp_store_cli_walk_failed(w, NULL);
        }
    }

    json_object_set_new(j, "observations", obs);

    return mcp_store_cli_walk_failed(w, j);
}


static int
mcp_store_cli_export_relation(void *data, const mcp_store_relation_t *r)
{
    mcp_store_cli_walk_t  *w = data;

    json_t  *j;

    j = mcp_store_cli_record("relation", w->sc);

    if (j != NULL
        && (json_object_set_new(j, "from", json_stringn(r->from, r->from_len))
            || json_object_set_new(j, "relation_type",
                                   json_stringn(r->type, r->type_len))
            || json_object_set_new(j, "to", json_stringn(r->to, r->to_len))
            || json_object_set_new(j, "created_at",
                                   mcp_store_cli_time_json(r->created_at, 0))))
    {
        json_decref(j);
        j = NULL;
    }

    return mcp_store_cli_walk_failed(w, j);
}


static int
mcp_store_cli_export_context(void *data, const mcp_store_context_t *c)
{
    mcp_store_cli_walk_t  *w = data;

    int      rc;
    json_t  *j, *summary;

    j = mcp_store_cli_record("context", w->sc);
    w->messages = json_array();

    summary = (c->summary == NULL || c->summary_len == 0)
              ? json_null()
              : json_pack("{s:s%, s:I, s:I}", "text", c->summary,
                          c->summary_len, "from",
                          (json_int_t) c->summary_from, "upto",
                          (json_int_t) c->summary_upto);

    if (j == NULL || w->messages == NULL
        || json_object_set_new(j, "id", json_stringn(c->id, c->id_len))
        || json_object_set_new(j, "created_at",
                               mcp_store_cli_time_json(c->created_at, 0))
        || json_object_set_new(j, "updated_at",
                               mcp_store_cli_time_json(c->updated_at, 0))
        || json_object_set_new(j, "expires_at",
                               mcp_store_cli_time_json(c->expires_at, 1))
        || json_object_set_new(j, "summary", summary))
    {
        json_decref(w->messages);
        json_decref(j);
        return mcp_store_cli_walk_failed(w, NULL);
    }

    rc = mcp_store_message_list(w->t, w->sc, c->id, c->id_len, 1, 0,
                                mcp_store_cli_export_message, w);

    if (rc != MCP_STORE_OK || w->failed) {
        fprintf(stderr, "mcp-store: export: context %.*s: %s\n",
                (int) c->id_len, c->id,
                w->failed ? "out of memory" : mcp_store_strerror(rc));
        json_decref(w->messages);
        json_decref(j);
        w->failed = 1;
        return 1;
    }

    json_object_set_new(j, "messages", w->messages);

    return mcp_store_cli_walk_failed(w, j);
}


static int
mcp_store_cli_export_message(void *data, const mcp_store_message_t *m)
{
    mcp_store_cli_walk_t  *w = data;

    json_t  *j;

    j = json_pack("{s:I, s:s, s:b, s:s%, s:o}", "seq", (json_int_t) m->seq,
                  "role", mcp_store_cli_roles[m->role], "pinned", m->pinned,
                  "content", m->content, m->content_len, "created_at",
                  mcp_store_cli_time_json(m->created_at, 0));

    if (json_array_append_new(w->messages, j) != 0) {
        w->failed = 1;
        return 1;
    }

    return 0;
}


/*
 * Prints a record, or reports the one that could not be built (a string
 * that is not UTF-8, out of memory) and stops the walk.
 */

static int
mcp_store_cli_walk_failed(mcp_store_cli_walk_t *w, json_t *j)
{
    if (j == NULL) {
        fprintf(stderr, "mcp-store: export: a record of %.*s/%.*s cannot be "
                "written as JSON (not UTF-8, or out of memory)\n",
                w->sc ? (int) w->sc->tenant_len : 5,
                w->sc ? w->sc->tenant : "links",
                w->sc ? (int) w->sc->ns_len : 0, w->sc ? w->sc->ns : "");
        w->failed = 1;
        return 1;
    }

    if (mcp_store_cli_print(j) != 0) {
        w->failed = 1;
        return 1;
    }

    return 0;
}


/* --- import ------------------------------------------------------------- */


int
mcp_store_cli_import(mcp_store_t *s, char **argv,
    const mcp_store_cli_opts_t *opts)
{
    char                    *line;
    size_t                   cap;
    ssize_t                  n;
    json_t                  *j;
    json_error_t             err;
    mcp_store_cli_import_t   im;

    (void) argv;

    memset(&im, 0, sizeof(im));

    if (opts->format != NULL) {
        return mcp_store_cli_import_csv(s, stdin, opts);
    }

    if (opts->tenant != NULL) {
        fprintf(stderr, "mcp-store: import: --tenant is for CSV files; a "
                "dump's records carry their tenants\n");
        return 2;
    }

    line = NULL;
    cap = 0;

    while ((n = getline(&line, &cap, stdin)) != -1) {
        im.line++;

        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
            n--;
        }

        if (n == 0 && im.line > 1) {
            continue;
        }

        j = json_loadb(line, (size_t) n, 0, &err);

        if (im.line == 1) {
            if (mcp_store_cli_header(j) != 0) {
                json_decref(j);
                free(line);
                return 1;
            }

        } else if (j == NULL) {
            mcp_store_cli_skip(&im, "invalid JSON at column %d: %s",
                               err.column, err.text);

        } else {
            mcp_store_cli_import_line(s, &im, j);
        }

        json_decref(j);
    }

    free(line);

    if (ferror(stdin)) {
        perror("mcp-store: import: stdin");
        return 1;
    }

    if (im.line == 0) {
        fprintf(stderr, "mcp-store: import: empty input\n");
        return 1;
    }

    return mcp_store_cli_import_done(s, &im);
}


static int
mcp_store_cli_header(json_t *j)
{
    json_int_t   version;
    const char  *type, *format;

    if (j == NULL
        || json_unpack(j, "{s:s, s:s, s:I}", "type", &type, "format", &format,
                       "schema_version", &version) != 0
        || strcmp(type, "header") != 0 || strcmp(format, "ngx_mcp") != 0)
    {
        fprintf(stderr, "mcp-store: import: line 1 is not the header of an "
                "mcp-store export: nothing imported\n");
        return -1;
    }

    if (version < 1 || version > MCP_STORE_SCHEMA_VERSION) {
        fprintf(stderr, "mcp-store: import: the dump is of schema version "
                "%lld, this tool reads up to %d: nothing imported\n",
                (long long) version, MCP_STORE_SCHEMA_VERSION);
        return -1;
    }

    return 0;
}


static int
mcp_store_cli_import_line(mcp_store_t *s, mcp_store_cli_import_t *im,
    json_t *j)
{
    int                 rc, done;
    const char         *type;
    mcp_store_txn_t    *t;
    mcp_store_scope_t   sc;

    type = json_string_value(json_object_get(j, "type"));

    if (type == NULL) {
        return mcp_store_cli_skip(im, "a record without a \"type\"");
    }

    if (strcmp(type, "link") == 0) {
        return mcp_store_cli_import_link(s, im, j);
    }

    if (strcmp(type, "entity") != 0 && strcmp(type, "relation") != 0
        && strcmp(type, "context") != 0)
    {
        return mcp_store_cli_skip(im, "unknown record type \"%s\"", type);
    }

    if (mcp_store_cli_str(j, "tenant", 1, &sc.tenant, &sc.tenant_len) != 0
        || mcp_store_cli_str(j, "namespace", 1, &sc.ns, &sc.ns_len) != 0
        || mcp_store_scope_valid(sc.tenant, sc.tenant_len, 1) != MCP_STORE_OK
        || mcp_store_scope_valid(sc.ns, sc.ns_len, 0) != MCP_STORE_OK)
    {
        return mcp_store_cli_skip(im, "%s: \"tenant\" and \"namespace\" "
                                  "must be names of [A-Za-z0-9_.-]", type);
    }

    rc = mcp_store_txn_begin(s, 0, &t);
    if (rc != MCP_STORE_OK) {
        return mcp_store_cli_skip(im, "%s", mcp_store_strerror(rc));
    }

    mcp_store_txn_budget(t, UINT64_MAX);

    switch (type[0]) {
    case 'e':
        done = mcp_store_cli_import_entity(im, t, &sc, j);
        break;
    case 'r':
        done = mcp_store_cli_import_relation(im, t, &sc, j);
        break;
    default:
        done = mcp_store_cli_import_context(im, t, &sc, j);
        break;
    }

    if (done != MCP_STORE_CLI_IMPORTED) {
        mcp_store_txn_abort(t);
        return done;
    }

    rc = mcp_store_txn_commit(t);

    if (rc != MCP_STORE_OK) {
        return mcp_store_cli_skip(im, "%s: %s", type, mcp_store_strerror(rc));
    }

    im->count[MCP_STORE_CLI_IMPORTED]++;

    return MCP_STORE_CLI_IMPORTED;
}


static int
mcp_store_cli_import_link(mcp_store_t *s, mcp_store_cli_import_t *im,
    json_t *j)
{
    size_t            code_len;
    char              tags[MCP_STORE_LINK_TAGS_LEN];
    const char       *code;
    mcp_store_link_t  link;

    if (mcp_store_cli_str(j, "code", 1, &code, &code_len) != 0) {
        return mcp_store_cli_skip(im, "link: \"code\" must be a string");
    }

    if (mcp_store_cli_link_read(im, j, &link, tags) != 0) {
        return MCP_STORE_CLI_SKIPPED;
    }

    return mcp_store_cli_link_import(s, im, code, code_len, &link,
                                     MCP_STORE_CLI_SAME_ALL);
}


static int
mcp_store_cli_import_entity(mcp_store_cli_import_t *im, mcp_store_txn_t *t,
    const mcp_store_scope_t *sc, json_t *j)
{
    int                       rc, created, same;
    size_t                    i, n, total;
    json_t                   *obs, *o;
    mcp_store_entity_t        e, old;
    mcp_store_observation_t  *ov, *oldv;

    memset(&e, 0, sizeof(e));

    obs = json_object_get(j, "observations");

    if (mcp_store_cli_str(j, "name", 1, &e.name, &e.name_len) != 0
        || mcp_store_cli_str(j, "entity_type", 1, &e.type, &e.type_len) != 0
        || mcp_store_cli_get_time(j, "created_at", 0, &e.created_at) != 0
        || mcp_store_cli_get_time(j, "updated_at", 0, &e.updated_at) != 0
        || !json_is_array(obs))
    {
        return mcp_store_cli_skip(im, "entity: \"name\", \"entity_type\", "
                                  "\"created_at\", \"updated_at\" and "
                                  "\"observations\" are needed");
    }

    n = json_array_size(obs);

    ov = calloc(n + MCP_STORE_OBS_MAX + 1, sizeof(mcp_store_observation_t));
    if (ov == NULL) {
        return mcp_store_cli_skip(im, "entity: out of memory");
    }

    oldv = ov + n;

    json_array_foreach(obs, i, o) {
        if (mcp_store_cli_str(o, "text", 1, &ov[i].text, &ov[i].text_len)
            != 0
            || mcp_store_cli_get_time(o, "created_at", 0, &ov[i].created_at)
               != 0)
        {
            free(ov);
            return mcp_store_cli_skip(im, "entity: observation %zu needs a "
                                      "\"text\" and a \"created_at\"", i + 1);
        }
    }

    e.observations = ov;
    e.nobservations = n;

    rc = mcp_store_entity_restore(t, sc, &e, &created);

    same = 0;

    if (rc == MCP_STORE_OK && !created) {
        old.observations = oldv;

        rc = mcp_store_entity_get(t, sc, e.name, e.name_len, &old,
                                  MCP_STORE_OBS_MAX, &total);

        same = (rc == MCP_STORE_OK && total == n
                && old.type_len == e.type_len
                && memcmp(old.type, e.type, e.type_len) == 0
                && old.created_at == e.created_at
                && old.updated_at == e.updated_at);

        for (i = 0; same && i < n; i++) {
            same = (oldv[i].text_len == ov[i].text_len
                    && memcmp(oldv[i].text, ov[i].text, ov[i].text_len) == 0
                    && oldv[i].created_at == ov[i].created_at);
        }
    }

    free(ov);

    if (rc != MCP_STORE_OK) {
        return mcp_store_cli_skip(im, "entity %.*s: %s", (int) e.name_len,
                                  e.name, mcp_store_strerror(rc));
    }

    if (created) {
        return MCP_STORE_CLI_IMPORTED;
    }

    if (same) {
        im->count[MCP_STORE_CLI_UNCHANGED]++;
        return MCP_STORE_CLI_UNCHANGED;
    }

    return mcp_store_cli_skip(im, "entity %.*s exists with other content",
                              (int) e.name_len, e.name);
}


static int
mcp_store_cli_import_relation(mcp_store_cli_import_t *im, mcp_store_txn_t *t,
    const mcp_store_scope_t *sc, json_t *j)
{
    int                   rc, created;
    mcp_store_relation_t  r;

    memset(&r, 0, sizeof(r));

    if (mcp_store_cli_str(j, "from", 1, &r.from, &r.from_len) != 0
        || mcp_store_cli_str(j, "relation_type", 1, &r.type, &r.type_len)
           != 0
        || mcp_store_cli_str(j, "to", 1, &r.to, &r.to_len) != 0
        || mcp_store_cli_get_time(j, "created_at", 0, &r.created_at) != 0)
    {
        return mcp_store_cli_skip(im, "relation: \"from\", \"relation_type\", "
                                  "\"to\" and \"created_at\" are needed");
    }

    rc = mcp_store_relation_create(t, sc, &r, r.created_at, &created);

    if (rc != MCP_STORE_OK) {
        return mcp_store_cli_skip(im, "relation: %s", mcp_store_strerror(rc));
    }

    if (!created) {
        im->count[MCP_STORE_CLI_UNCHANGED]++;
        return MCP_STORE_CLI_UNCHANGED;
    }

    return MCP_STORE_CLI_IMPORTED;
}


/*
 * A context is its messages appended again, each at its own time: the
 * first sets the context's created_at, the last its updated_at and, with
 * the time left to live, its expires_at.  Sequence numbers start at 1
 * again (a context whose oldest messages an expiry sweep removed starts
 * higher in the dump), and the summary's range moves with them.
 */

static int
mcp_store_cli_import_context(mcp_store_cli_import_t *im, mcp_store_txn_t *t,
    const mcp_store_scope_t *sc, json_t *j)
{
    int                   rc;
    size_t                i, n, id_len, text_len;
    json_t               *msgs, *o, *summary;
    int64_t               now, ttl, expires_at, created_at, updated_at;
    uint64_t              first, from, upto;
    json_int_t            seq, sfrom, supto;
    const char           *id, *role, *text;
    mcp_store_context_t   c;
    mcp_store_message_t   m;

    msgs = json_object_get(j, "messages");
    summary = json_object_get(j, "summary");

    if (mcp_store_cli_str(j, "id", 1, &id, &id_len) != 0
        || mcp_store_cli_get_time(j, "created_at", 0, &created_at) != 0
        || mcp_store_cli_get_time(j, "updated_at", 0, &updated_at) != 0
        || mcp_store_cli_get_time(j, "expires_at", 1, &expires_at) != 0
        || !json_is_array(msgs) || json_array_size(msgs) == 0)
    {
        return mcp_store_cli_skip(im, "context: \"id\", \"created_at\", "
                                  "\"updated_at\", \"expires_at\" and "
                                  "messages are needed");
    }

    rc = mcp_store_context_get(t, sc, id, id_len, &c);

    if (rc == MCP_STORE_OK) {
        if (c.nmessages == json_array_size(msgs)
            && c.created_at == created_at && c.updated_at == updated_at)
        {
            im->count[MCP_STORE_CLI_UNCHANGED]++;
            return MCP_STORE_CLI_UNCHANGED;
        }

        return mcp_store_cli_skip(im, "context %.*s exists with other "
                                  "messages", (int) id_len, id);
    }

    if (rc != MCP_STORE_NOTFOUND) {
        return mcp_store_cli_skip(im, "context %.*s: %s", (int) id_len, id,
                                  mcp_store_strerror(rc));
    }

    if (expires_at != 0 && expires_at <= updated_at) {
        return mcp_store_cli_skip(im, "context %.*s expired at its last "
                                  "message", (int) id_len, id);
    }

    n = json_array_size(msgs);
    first = 1;

    json_array_foreach(msgs, i, o) {
        memset(&m, 0, sizeof(m));

        if (json_unpack(o, "{s:I, s:s, s:b}", "seq", &seq, "role", &role,
                        "pinned", &m.pinned) != 0
            || mcp_store_cli_str(o, "content", 1, &m.content, &m.content_len)
               != 0
            || mcp_store_cli_get_time(o, "created_at", 0, &m.created_at) != 0
            || seq < 1)
        {
            return mcp_store_cli_skip(im, "context %.*s: message %zu needs "
                                      "\"seq\", \"role\", \"pinned\", "
                                      "\"content\" and \"created_at\"",
                                      (int) id_len, id, i + 1);
        }

        for (m.role = 0; mcp_store_cli_roles[m.role] != NULL; m.role++) {
            if (strcmp(mcp_store_cli_roles[m.role], role) == 0) {
                break;
            }
        }

        if (mcp_store_cli_roles[m.role] == NULL) {
            return mcp_store_cli_skip(im, "context %.*s: message %zu: unknown "
                                      "role \"%s\"", (int) id_len, id, i + 1,
                                      role);
        }

        if (i == 0) {
            first = (uint64_t) seq;
        }

        now = (i == n - 1) ? updated_at : (i == 0) ? created_at
                                                   : m.created_at;
        ttl = (i == n - 1 && expires_at != 0) ? expires_at - updated_at : 0;

        rc = mcp_store_message_append(t, sc, id, id_len, &m, now, ttl, NULL);

        if (rc != MCP_STORE_OK) {
            return mcp_store_cli_skip(im, "context %.*s: message %zu: %s",
                                      (int) id_len, id, i + 1,
                                      mcp_store_strerror(rc));
        }
    }

    if (summary == NULL || json_is_null(summary)) {
        return MCP_STORE_CLI_IMPORTED;
    }

    if (json_unpack(summary, "{s:s%, s:I, s:I}", "text", &text, &text_len,
                    "from", &sfrom, "upto", &supto) != 0
        || sfrom < 1 || supto < sfrom)
    {
        return mcp_store_cli_skip(im, "context %.*s: a summary needs "
                                  "\"text\", \"from\" and \"upto\"",
                                  (int) id_len, id);
    }

    /* the summary may cover messages that are gone: they stay gone */

    from = ((uint64_t) sfrom >= first) ? (uint64_t) sfrom - first + 1 : 1;
    upto = ((uint64_t) supto >= first) ? (uint64_t) supto - first + 1 : 0;

    if (upto == 0) {
        return MCP_STORE_CLI_IMPORTED;
    }

    rc = mcp_store_context_summary(t, sc, id, id_len, text, text_len, from,
                                   upto);

    if (rc != MCP_STORE_OK) {
        return mcp_store_cli_skip(im, "context %.*s: summary: %s",
                                  (int) id_len, id, mcp_store_strerror(rc));
    }

    return MCP_STORE_CLI_IMPORTED;
}


/* --- what both imports share -------------------------------------------- */


int
mcp_store_cli_skip(mcp_store_cli_import_t *im, const char *fmt, ...)
{
    va_list  args;

    fprintf(stderr, "mcp-store: import: line %llu: ",
            (unsigned long long) im->line);

    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);

    fputc('\n', stderr);

    im->count[MCP_STORE_CLI_SKIPPED]++;

    return MCP_STORE_CLI_SKIPPED;
}


int
mcp_store_cli_import_done(mcp_store_t *s, mcp_store_cli_import_t *im)
{
    int  rc;

    /* the import's commits were not flushed one by one: once, here */

    rc = mcp_store_sync(s);
    if (rc != MCP_STORE_OK) {
        return mcp_store_cli_failed("import", NULL, rc);
    }

    printf("imported %llu, unchanged %llu, skipped %llu\n",
           (unsigned long long) im->count[MCP_STORE_CLI_IMPORTED],
           (unsigned long long) im->count[MCP_STORE_CLI_UNCHANGED],
           (unsigned long long) im->count[MCP_STORE_CLI_SKIPPED]);

    return (im->count[MCP_STORE_CLI_SKIPPED] != 0) ? 1 : 0;
}


/* a string member: 0, or -1 if it is missing (and required) or not one */

static int
mcp_store_cli_str(json_t *j, const char *name, int required, const char **p,
    size_t *len)
{
    json_t  *v;

    v = json_object_get(j, name);

    if (v == NULL && !required) {
        *p = NULL;
        *len = 0;
        return 0;
    }

    if (!json_is_string(v)) {
        return -1;
    }

    *p = json_string_value(v);
    *len = json_string_length(v);

    return 0;
}


/* a time member: RFC 3339, or null (0) when unset0 */

static int
mcp_store_cli_get_time(json_t *j, const char *name, int unset0, int64_t *t)
{
    json_t  *v;

    v = json_object_get(j, name);

    if (unset0 && (v == NULL || json_is_null(v))) {
        *t = 0;
        return 0;
    }

    if (!json_is_string(v)) {
        return -1;
    }

    return mcp_store_cli_time_parse(json_string_value(v), t);
}
