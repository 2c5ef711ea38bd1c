/*
 * mcp_store codec: records as msgpack.
 *
 * Records are written with msgpack-c's packer.  They are read back by the
 * small strict reader below rather than by msgpack-c's unpacker: the
 * unpacker copies nothing but allocates a zone sized from the array
 * headers it meets, so a few corrupt bytes can ask it for gigabytes, and a
 * redirect should not allocate at all.  The reader allocates nothing, so
 * a link's url points straight into the LMDB value.
 *
 * A link is [url, created_at, expires_at, max_visits, visits, last_visit,
 * tenant, redirect_status, tags, updated_at]: a str, two ints, two uints,
 * an int, a str of 1 to MCP_STORE_SCOPE_MAX bytes, a uint, a str and an
 * int.  Fields are left out from the end while they hold their default:
 * since schema 2 the numbers after created_at that are 0, and the tail
 * (the default tenant, status 0, no tags, never updated), so that a link
 * without expiry, limit, own status or tags that was never changed is
 * [url, created_at].  A session
 * is [created_at, last_seen, protocol, client_name, client_version,
 * log_level, flags, tenant]: two ints, three strs of at most
 * MCP_STORE_SESSION_STR_MAX bytes, two uints that fit an unsigned, and
 * the tenant as a link's.  The tenant is left
 * out for MCP_STORE_TENANT_DEFAULT, which is how records written before
 * tenants existed read (and what they still are to an older reader).
 * The schema record is one uint.  An entity
 * is [type, created_at, updated_at, [[text, created_at], ...]], a
 * relation [created_at]; the index's counts are one uint or an array of
 * uints.  A context is [created_at, updated_at, expires_at, nmessages,
 * tokens, next_seq, summary, summary_from, summary_upto], summary a str
 * or nil; a message [role, pinned, content, tokens, created_at].  Any
 * msgpack encoding of those values is accepted (msgpack-c always picks
 * the shortest; other writers may not).
 */

#include <limits.h>
#include <stddef.h>
#include <string.h>

#include <msgpack.h>

#include "mcp_store_int.h"


#define MCP_STORE_ENTITY_FIELDS   4
#define MCP_STORE_OBSERVATION_FIELDS  2


/*
 * Links, sessions, contexts, messages and relations are flat records:
 * each is described by a table of its fields, in order, which one
 * encoder and one decoder go through.  A field is where it is in the
 * record's struct (a string's length at len_offset) and what it holds;
 * max bounds a string's length or an unsigned's value when read (0: no
 * bound but msgpack's).  The record may end in a tail of optional fields
 * (a tenant, a TAIL_UINT, a TAIL_STR): the encoder leaves out those at
 * the end that hold their default (MCP_STORE_TENANT_DEFAULT, 0, empty),
 * and a table ending in MCP_STORE_END_MIN(min) also the numbers after
 * its first min fields that are 0; the decoder gives the default to
 * those it does not find.
 */

typedef enum {
    MCP_STORE_FIELD_END = 0,
    MCP_STORE_FIELD_INT64,
    MCP_STORE_FIELD_UINT64,
    MCP_STORE_FIELD_UINT,               /* never left out */
    MCP_STORE_FIELD_STR,
    MCP_STORE_FIELD_OPT_STR,            /* or nil: NULL */
    MCP_STORE_FIELD_TENANT,             /* the tail, below */
    MCP_STORE_FIELD_TAIL_UINT,          /* an unsigned, 0 when left out */
    MCP_STORE_FIELD_TAIL_STR            /* a string, NULL when left out */
} mcp_store_field_type_e;


typedef struct {
    mcp_store_field_type_e   type;
    size_t                   offset;
    size_t                   len_offset;
    uint64_t                 max;
} mcp_store_field_t;


/* what a decoder builds a record in, to leave it alone on failure */
typedef union {
    mcp_store_link_t         link;
    mcp_store_session_t      session;
    mcp_store_context_t      context;
    mcp_store_message_t      message;
    int64_t                  created_at;
} mcp_store_record_t;


/*
 * The fields of mcp_store_<rec>_t: MCP_STORE_I64() and MCP_STORE_U64()
 * are numbers, MCP_STORE_UINT() an unsigned of at most max (0: any),
 * MCP_STORE_STR() a string of a type of those above, its length in
 * field_len.
 */

#define MCP_STORE_NUMBER(rec, type, field, max)                               \
    { MCP_STORE_FIELD_##type, offsetof(mcp_store_##rec##_t, field), 0, max }

#define MCP_STORE_I64(rec, field)  MCP_STORE_NUMBER(rec, INT64, field, 0)
#define MCP_STORE_U64(rec, field)  MCP_STORE_NUMBER(rec, UINT64, field, 0)
#define MCP_STORE_UINT(rec, field, max)                                       \
    MCP_STORE_NUMBER(rec, UINT, field, max)

#define MCP_STORE_STR(rec, type, field, max)                                  \
    { MCP_STORE_FIELD_##type, offsetof(mcp_store_##rec##_t, field),           \
      offsetof(mcp_store_##rec##_t, field##_len), max }

#define MCP_STORE_END    { MCP_STORE_FIELD_END, 0, 0, 0 }

#define MCP_STORE_TENANT(rec)                                                 \
    MCP_STORE_STR(rec, TENANT, tenant, MCP_STORE_SCOPE_MAX), MCP_STORE_END

#define MCP_STORE_TAIL_TENANT(rec)                                            \
    MCP_STORE_STR(rec, TENANT, tenant, MCP_STORE_SCOPE_MAX)

/*
 * The end of a table whose records may stop after min fields: the numbers
 * after those that are 0 are left out at the end of a record, with the
 * tail's defaults, and read as 0 (a link without expiry, limit or visits
 * is [url, created_at]: 4 bytes of 60 less, and as many more links a
 * page).
 */
#define MCP_STORE_END_MIN(min)   { MCP_STORE_FIELD_END, 0, 0, min }

/* a session's strings are never written longer: one that is, is corrupt */
#define MCP_STORE_SESSION_STR(field)                                          \
    MCP_STORE_STR(session, STR, field, MCP_STORE_SESSION_STR_MAX)


/* a plain link is [url, created_at]: the fields it may not leave out */
#define MCP_STORE_LINK_MIN       2

static const mcp_store_field_t  mcp_store_link_fields[] = {
    MCP_STORE_STR(link, STR, url, 0), MCP_STORE_I64(link, created_at),
    MCP_STORE_I64(link, expires_at), MCP_STORE_U64(link, max_visits),
    MCP_STORE_U64(link, visits), MCP_STORE_I64(link, last_visit),
    MCP_STORE_TAIL_TENANT(link),
    MCP_STORE_NUMBER(link, TAIL_UINT, redirect_status, 999),
    MCP_STORE_STR(link, TAIL_STR, tags, MCP_STORE_LINK_TAGS_LEN),
    MCP_STORE_I64(link, updated_at),
    MCP_STORE_END_MIN(MCP_STORE_LINK_MIN)
};

/* the fields of a link (its table without the end) */
#define MCP_STORE_LINK_FIELDS                                                 \
    (sizeof(mcp_store_link_fields) / sizeof(mcp_store_field_t) - 1)

static const mcp_store_field_t  mcp_store_session_fields[] = {
    MCP_STORE_I64(session, created_at), MCP_STORE_I64(session, last_seen),
    MCP_STORE_SESSION_STR(protocol), MCP_STORE_SESSION_STR(client_name),
    MCP_STORE_SESSION_STR(client_version),
    MCP_STORE_UINT(session, log_level, 0), MCP_STORE_UINT(session, flags, 0),
    MCP_STORE_TENANT(session)
};

static const mcp_store_field_t  mcp_store_context_fields[] = {
    MCP_STORE_I64(context, created_at), MCP_STORE_I64(context, updated_at),
    MCP_STORE_I64(context, expires_at), MCP_STORE_U64(context, nmessages),
    MCP_STORE_U64(context, tokens), MCP_STORE_U64(context, next_seq),
    MCP_STORE_STR(context, OPT_STR, summary, MCP_STORE_MESSAGE_MAX),
    MCP_STORE_U64(context, summary_from), MCP_STORE_U64(context, summary_upto),
    MCP_STORE_END
};

static const mcp_store_field_t  mcp_store_message_fields[] = {
    MCP_STORE_UINT(message, role, MCP_STORE_ROLE_TOOL),
    MCP_STORE_UINT(message, pinned, 1),
    MCP_STORE_STR(message, STR, content, MCP_STORE_MESSAGE_MAX),
    MCP_STORE_U64(message, tokens), MCP_STORE_I64(message, created_at),
    MCP_STORE_END
};

/* a relation's record is its creation time: the "struct" is an int64_t */

static const mcp_store_field_t  mcp_store_relation_fields[] = {
    { MCP_STORE_FIELD_INT64, 0, 0, 0 }, MCP_STORE_END
};


static int mcp_store_wbuf_write(void *data, const char *buf, size_t len);
static size_t mcp_store_fields_encode(const mcp_store_field_t *f,
    const void *rec, char *buf, size_t size);
static int mcp_store_fields_decode(const mcp_store_field_t *f,
    const void *data, size_t len, void *rec);
static size_t mcp_store_fields(const mcp_store_field_t *f);
static int mcp_store_field_left_out(const mcp_store_field_t *f,
    const char *rec);
static size_t mcp_store_fields_required(const mcp_store_field_t *f,
    size_t nf);
static inline int mcp_store_field_default(const mcp_store_field_t *f,
    char *rec);
static int mcp_store_read_field(mcp_store_rbuf_t *r,
    const mcp_store_field_t *f, int present, char *rec);
static int mcp_store_read_record(mcp_store_rbuf_t *r, const void *data,
    size_t len, uint64_t fields);
static size_t mcp_store_has_tenant(const char *tenant, size_t tenant_len);
static int mcp_store_read_be(mcp_store_rbuf_t *r, size_t n, uint64_t *v);
static int mcp_store_read_int(mcp_store_rbuf_t *r, uint64_t *v, int *neg);
static int mcp_store_read_uint(mcp_store_rbuf_t *r, unsigned *v);


/*
 * The encoder and the decoder of a flat record: mcp_store_<name>_encode()
 * and mcp_store_<name>_decode(), over mcp_store_<name>_fields (a link's
 * decoder is its own, below).
 */

#define MCP_STORE_ENCODER(name, type)                                         \
                                                                              \
    size_t                                                                    \
    mcp_store_##name##_encode(const type *rec, char *buf, size_t size)        \
    {                                                                         \
        return mcp_store_fields_encode(mcp_store_##name##_fields, rec, buf,   \
                                       size);                                 \
    }

#define MCP_STORE_CODEC(name, type)                                           \
                                                                              \
    MCP_STORE_ENCODER(name, type)                                             \
                                                                              \
    int                                                                       \
    mcp_store_##name##_decode(const void *data, size_t len, type *rec)        \
    {                                                                         \
        return mcp_store_fields_decode(mcp_store_##name##_fields, data, len,  \
                                       rec);                                  \
    }

MCP_STORE_ENCODER(link, mcp_store_link_t)
MCP_STORE_CODEC(session, mcp_store_session_t)
MCP_STORE_CODEC(context, mcp_store_context_t)
MCP_STORE_CODEC(message, mcp_store_message_t)


/*
 * Most links are [url, created_at], their other fields left out at their
 * defaults: such a record, which every redirect decodes, is read here
 * without the walk of the field table (ten fields, each decoded to a
 * record of its own and copied); any other by the table.
 */

int
mcp_store_link_decode(const void *data, size_t len, mcp_store_link_t *link)
{
    size_t            i, url_len;
    int64_t           created_at;
    uint64_t          n;
    const char       *url;
    mcp_store_rbuf_t  r;

    if (mcp_store_rbuf_init(&r, data, len) != 0
        || mcp_store_read_array(&r, &n) != 0
        || n != MCP_STORE_LINK_MIN
        || mcp_store_read_str(&r, &url, &url_len) != 0
        || mcp_store_read_int64(&r, &created_at) != 0
        || r.pos != r.end)
    {
        return mcp_store_fields_decode(mcp_store_link_fields, data, len,
                                       link);
    }

    link->url = url;
    link->url_len = url_len;
    link->created_at = created_at;

    /*
     * The other fields at the defaults of those left out
     * (mcp_store_field_default()).  Unrolled, each field's entry is a
     * constant and its default one store: every redirect decodes a link,
     * and this costs what the assignments written out did.
     */

#pragma GCC unroll 16
    for (i = MCP_STORE_LINK_MIN; i < MCP_STORE_LINK_FIELDS; i++) {
        (void) mcp_store_field_default(&mcp_store_link_fields[i],
                                       (char *) link);
    }

    return MCP_STORE_OK;
}


int
mcp_store_record_decode(unsigned kind, const void *data, size_t len,
    void *rec)
{
    return (kind == MCP_STORE_RECORD_LINK)
           ? mcp_store_link_decode(data, len, rec)
           : mcp_store_session_decode(data, len, rec);
}


size_t
mcp_store_schema_encode(uint64_t version, char *buf, size_t size)
{
    return mcp_store_uints_encode(&version, 1, buf, size);
}


int
mcp_store_schema_decode(const void *data, size_t len, uint64_t *version)
{
    return mcp_store_uints_decode(data, len, version, 1);
}


/*
 * The index's counts: a term frequency or a document length is one uint,
 * a scope's totals an array of them; so is the schema record.
 */

size_t
mcp_store_uints_encode(const uint64_t *v, size_t n, char *buf, size_t size)
{
    size_t            i;
    msgpack_packer    pk;
    mcp_store_wbuf_t  w;

    mcp_store_wbuf_init(&w, &pk, buf, size);

    if (n != 1) {
        (void) msgpack_pack_array(&pk, n);
    }

    for (i = 0; i < n; i++) {
        (void) msgpack_pack_uint64(&pk, v[i]);
    }

    return w.len;
}


int
mcp_store_uints_decode(const void *data, size_t len, uint64_t *v, size_t n)
{
    size_t            i;
    uint64_t          out[MCP_STORE_UINTS_MAX];
    mcp_store_rbuf_t  r;

    if (n == 0 || n > MCP_STORE_UINTS_MAX) {
        return MCP_STORE_ECORRUPT;
    }

    if (n == 1) {
        if (mcp_store_rbuf_init(&r, data, len) != 0) {
            return MCP_STORE_ECORRUPT;
        }

    } else if (mcp_store_read_record(&r, data, len, n) != 0) {
        return MCP_STORE_ECORRUPT;
    }

    for (i = 0; i < n; i++) {
        if (mcp_store_read_uint64(&r, &out[i]) != 0) {
            return MCP_STORE_ECORRUPT;
        }
    }

    if (r.pos != r.end) {
        return MCP_STORE_ECORRUPT;
    }

    memcpy(v, out, n * sizeof(uint64_t));

    return MCP_STORE_OK;
}


size_t
mcp_store_entity_encode(const mcp_store_entity_t *e, char *buf, size_t size)
{
    size_t                          i;
    msgpack_packer                  pk;
    mcp_store_wbuf_t                w;
    const mcp_store_observation_t  *o;

    mcp_store_wbuf_init(&w, &pk, buf, size);

    (void) msgpack_pack_array(&pk, MCP_STORE_ENTITY_FIELDS);
    mcp_store_pack_str(&pk, e->type, e->type_len);
    (void) msgpack_pack_int64(&pk, e->created_at);
    (void) msgpack_pack_int64(&pk, e->updated_at);
    (void) msgpack_pack_array(&pk, e->nobservations);

    for (i = 0; i < e->nobservations; i++) {
        o = &e->observations[i];

        (void) msgpack_pack_array(&pk, MCP_STORE_OBSERVATION_FIELDS);
        mcp_store_pack_str(&pk, o->text, o->text_len);
        (void) msgpack_pack_int64(&pk, o->created_at);
    }

    return w.len;
}


/*
 * Every observation is checked, those past cap too, so that a record that
 * decodes can always be encoded again within the limits.
 */

int
mcp_store_entity_decode(const void *data, size_t len, mcp_store_entity_t *e,
    size_t cap, size_t *total)
{
    size_t                   i;
    uint64_t                 n;
    mcp_store_rbuf_t         r;
    mcp_store_entity_t       ee;
    mcp_store_observation_t  o;

    if (mcp_store_read_record(&r, data, len, MCP_STORE_ENTITY_FIELDS) != 0
        || mcp_store_read_str(&r, &ee.type, &ee.type_len) != 0
        || ee.type_len == 0
        || ee.type_len > MCP_STORE_NAME_MAX
        || mcp_store_read_int64(&r, &ee.created_at) != 0
        || mcp_store_read_int64(&r, &ee.updated_at) != 0
        || mcp_store_read_array(&r, &n) != 0
        || n > MCP_STORE_OBS_MAX)
    {
        return MCP_STORE_ECORRUPT;
    }

    for (i = 0; i < n; i++) {
        if (mcp_store_read_record(&r, r.pos, (size_t) (r.end - r.pos),
                                  MCP_STORE_OBSERVATION_FIELDS) != 0
            || mcp_store_read_str(&r, &o.text, &o.text_len) != 0
            || o.text_len == 0
            || o.text_len > MCP_STORE_TEXT_MAX
            || mcp_store_read_int64(&r, &o.created_at) != 0)
        {
            return MCP_STORE_ECORRUPT;
        }

        if (i < cap) {
            e->observations[i] = o;
        }
    }

    if (r.pos != r.end) {
        return MCP_STORE_ECORRUPT;
    }

    e->type = ee.type;
    e->type_len = ee.type_len;
    e->created_at = ee.created_at;
    e->updated_at = ee.updated_at;
    e->nobservations = (n < cap) ? (size_t) n : cap;

    if (total != NULL) {
        *total = (size_t) n;
    }

    return MCP_STORE_OK;
}


size_t
mcp_store_relation_encode(int64_t created_at, char *buf, size_t size)
{
    return mcp_store_fields_encode(mcp_store_relation_fields, &created_at,
                                   buf, size);
}


int
mcp_store_relation_decode(const void *data, size_t len, int64_t *created_at)
{
    return mcp_store_fields_decode(mcp_store_relation_fields, data, len,
                                   created_at);
}


/* An array of the fields, but for the tail's that hold their default. */

static size_t
mcp_store_fields_encode(const mcp_store_field_t *f, const void *rec,
    char *buf, size_t size)
{
    size_t                    i, n, min, len;
    const char               *p, *str;
    msgpack_packer            pk;
    mcp_store_wbuf_t          w;

    p = rec;
    n = mcp_store_fields(f);
    min = mcp_store_fields_required(f, n);

    while (n > min && mcp_store_field_left_out(&f[n - 1], p)) {
        n--;
    }

    mcp_store_wbuf_init(&w, &pk, buf, size);

    /* the packer only fails when its writer does, and ours never does */

    (void) msgpack_pack_array(&pk, n);

    for (i = 0; i < n; i++, f++) {

        switch (f->type) {

        case MCP_STORE_FIELD_INT64:
            (void) msgpack_pack_int64(&pk, *(const int64_t *) (p + f->offset));
            break;

        case MCP_STORE_FIELD_UINT64:
            (void) msgpack_pack_uint64(&pk,
                                       *(const uint64_t *) (p + f->offset));
            break;

        case MCP_STORE_FIELD_UINT:
        case MCP_STORE_FIELD_TAIL_UINT:
            (void) msgpack_pack_unsigned_int(&pk, *(const unsigned *)
                                                  (p + f->offset));
            break;

        default:                        /* the strings */
            str = *(const char *const *) (p + f->offset);
            len = *(const size_t *) (p + f->len_offset);

            if (f->type == MCP_STORE_FIELD_OPT_STR && str == NULL) {
                (void) msgpack_pack_nil(&pk);

            } else if (f->type == MCP_STORE_FIELD_TENANT
                       && !mcp_store_has_tenant(str, len))
            {
                /* written because a later field is: spelled out */
                mcp_store_pack_str(&pk, MCP_STORE_TENANT_DEFAULT,
                                   sizeof(MCP_STORE_TENANT_DEFAULT) - 1);

            } else {
                mcp_store_pack_str(&pk, str, len);
            }
        }
    }

    return w.len;
}


/*
 * Does f hold its default in rec (a number 0, the default tenant, no
 * string of the tail), so that a record ending with it may leave it out?
 * Asked only of the fields after those required: an unsigned there is of
 * the tail (MCP_STORE_FIELD_UINT is in no table past them).
 */

static int
mcp_store_field_left_out(const mcp_store_field_t *f, const char *rec)
{
    switch (f->type) {

    case MCP_STORE_FIELD_INT64:
        return *(const int64_t *) (rec + f->offset) == 0;

    case MCP_STORE_FIELD_UINT64:
        return *(const uint64_t *) (rec + f->offset) == 0;

    case MCP_STORE_FIELD_TENANT:
        return !mcp_store_has_tenant(*(const char *const *) (rec + f->offset),
                                     *(const size_t *) (rec + f->len_offset));

    case MCP_STORE_FIELD_TAIL_UINT:
        return *(const unsigned *) (rec + f->offset) == 0;

    case MCP_STORE_FIELD_TAIL_STR:
        return *(const size_t *) (rec + f->len_offset) == 0;

    default:
        return 0;
    }
}


/*
 * Decodes into a record of its own, and on success copies the fields to
 * rec: rec is changed only then, and only in its fields (a context's id,
 * a message's seq are not).
 */

static int
mcp_store_fields_decode(const mcp_store_field_t *f, const void *data,
    size_t len, void *rec)
{
    char                *dst;
    size_t               i, nf;
    uint64_t             n;
    const char          *src;
    mcp_store_rbuf_t     r;
    mcp_store_record_t   tmp;

    nf = mcp_store_fields(f);

    if (mcp_store_rbuf_init(&r, data, len) != 0
        || mcp_store_read_array(&r, &n) != 0
        || n > nf
        || n < mcp_store_fields_required(f, nf))
    {
        return MCP_STORE_ECORRUPT;
    }

    for (i = 0; i < nf; i++) {
        if (mcp_store_read_field(&r, &f[i], i < n, (char *) &tmp) != 0) {
            return MCP_STORE_ECORRUPT;
        }
    }

    if (r.pos != r.end) {
        return MCP_STORE_ECORRUPT;
    }

    dst = rec;
    src = (const char *) &tmp;

    for ( /* void */ ; f->type != MCP_STORE_FIELD_END; f++) {
        switch (f->type) {

        case MCP_STORE_FIELD_INT64:
            *(int64_t *) (dst + f->offset) =
                                   *(const int64_t *) (src + f->offset);
            break;

        case MCP_STORE_FIELD_UINT64:
            *(uint64_t *) (dst + f->offset) =
                                   *(const uint64_t *) (src + f->offset);
            break;

        case MCP_STORE_FIELD_UINT:
        case MCP_STORE_FIELD_TAIL_UINT:
            *(unsigned *) (dst + f->offset) =
                                   *(const unsigned *) (src + f->offset);
            break;

        default:
            *(const char **) (dst + f->offset) =
                                   *(const char *const *) (src + f->offset);
            *(size_t *) (dst + f->len_offset) =
                                   *(const size_t *) (src + f->len_offset);
        }
    }

    return MCP_STORE_OK;
}


static size_t
mcp_store_fields(const mcp_store_field_t *f)
{
    size_t  n;

    for (n = 0; f[n].type != MCP_STORE_FIELD_END; n++) {
        /* void */
    }

    return n;
}


/*
 * The fewest fields a record of the table f, of nf fields, may have: as
 * its end says (see MCP_STORE_END_MIN), else those before the tail.
 */

static size_t
mcp_store_fields_required(const mcp_store_field_t *f, size_t nf)
{
    if (f[nf].max != 0) {
        return (size_t) f[nf].max;
    }

    while (nf > 0
           && (f[nf - 1].type == MCP_STORE_FIELD_TENANT
               || f[nf - 1].type == MCP_STORE_FIELD_TAIL_UINT
               || f[nf - 1].type == MCP_STORE_FIELD_TAIL_STR))
    {
        nf--;
    }

    return nf;
}


/*
 * The default of a field left out at the end of a record (see
 * MCP_STORE_END_MIN) into the record rec: 0, the default tenant, no
 * string of the tail.  -1 for a field that is never left out (a string
 * of the fields required, an unsigned that is not of the tail): a record
 * without it is corrupt.
 */

static inline int
mcp_store_field_default(const mcp_store_field_t *f, char *rec)
{
    switch (f->type) {

    case MCP_STORE_FIELD_INT64:
        *(int64_t *) (rec + f->offset) = 0;
        return 0;

    case MCP_STORE_FIELD_UINT64:
        *(uint64_t *) (rec + f->offset) = 0;
        return 0;

    case MCP_STORE_FIELD_TAIL_UINT:
        *(unsigned *) (rec + f->offset) = 0;
        return 0;

    case MCP_STORE_FIELD_TAIL_STR:
        *(const char **) (rec + f->offset) = NULL;
        *(size_t *) (rec + f->len_offset) = 0;
        return 0;

    case MCP_STORE_FIELD_TENANT:
        *(const char **) (rec + f->offset) = MCP_STORE_TENANT_DEFAULT;
        *(size_t *) (rec + f->len_offset) =
                                         sizeof(MCP_STORE_TENANT_DEFAULT) - 1;
        return 0;

    default:
        return -1;
    }
}


/* One field into the record rec; a field of the tail that is not there
 * is the default. */

static int
mcp_store_read_field(mcp_store_rbuf_t *r, const mcp_store_field_t *f,
    int present, char *rec)
{
    int           rc;
    size_t       *len;
    const char  **str;

    str = (const char **) (rec + f->offset);
    len = (size_t *) (rec + f->len_offset);

    if (!present) {
        return mcp_store_field_default(f, rec);
    }

    switch (f->type) {

    case MCP_STORE_FIELD_INT64:
        return mcp_store_read_int64(r, (int64_t *) (rec + f->offset));

    case MCP_STORE_FIELD_UINT64:
        return mcp_store_read_uint64(r, (uint64_t *) (rec + f->offset));

    case MCP_STORE_FIELD_TAIL_UINT:
    case MCP_STORE_FIELD_UINT:
        rc = mcp_store_read_uint(r, (unsigned *) (rec + f->offset));
        return (rc == 0 && f->max != 0
                && *(unsigned *) (rec + f->offset) > f->max) ? -1 : rc;

    case MCP_STORE_FIELD_OPT_STR:
        if (r->pos != r->end && *r->pos == 0xc0) {
            r->pos++;
            *str = NULL;
            *len = 0;
            return 0;
        }

        break;

    default:
        break;
    }

    /* a string: a tenant is never empty */

    if (mcp_store_read_str(r, str, len) != 0
        || (f->max != 0 && *len > f->max)
        || (f->type == MCP_STORE_FIELD_TENANT && *len == 0))
    {
        return -1;
    }

    /* written empty because a later field is: none, as when left out */

    if (f->type == MCP_STORE_FIELD_TAIL_STR && *len == 0) {
        *str = NULL;
    }

    return 0;
}


void
mcp_store_wbuf_init(mcp_store_wbuf_t *w, msgpack_packer *pk, char *buf,
    size_t size)
{
    w->pos = buf;
    w->end = (buf != NULL) ? buf + size : NULL;
    w->len = 0;

    msgpack_packer_init(pk, w, mcp_store_wbuf_write);
}


void
mcp_store_pack_str(msgpack_packer *pk, const char *str, size_t len)
{
    (void) msgpack_pack_str(pk, len);
    (void) msgpack_pack_str_body(pk, str, len);
}


/*
 * Counts every byte, and copies them while they fit: for a record that
 * does not fit, the length tells, and buf holds no more than size bytes
 * of it.
 */

static int
mcp_store_wbuf_write(void *data, const char *buf, size_t len)
{
    mcp_store_wbuf_t  *w = data;

    w->len += len;

    if (len == 0 || w->pos == NULL) {
        return 0;
    }

    if (len > (size_t) (w->end - w->pos)) {
        w->pos = NULL;
        return 0;
    }

    memcpy(w->pos, buf, len);
    w->pos += len;

    return 0;
}


/* The readers below return 0, or -1 for bytes of any other shape. */

int
mcp_store_rbuf_init(mcp_store_rbuf_t *r, const void *data, size_t len)
{
    if (data == NULL || len == 0) {
        return -1;
    }

    r->pos = data;
    r->end = r->pos + len;

    return 0;
}


/* The start of a record: an array of exactly fields values. */

static int
mcp_store_read_record(mcp_store_rbuf_t *r, const void *data, size_t len,
    uint64_t fields)
{
    uint64_t  n;

    if (mcp_store_rbuf_init(r, data, len) != 0
        || mcp_store_read_array(r, &n) != 0
        || n != fields)
    {
        return -1;
    }

    return 0;
}


/*
 * Is the tenant one that is written?  MCP_STORE_TENANT_DEFAULT is left out,
 * spelled out or not, so that such records stay as they were before
 * tenants.  The answer counts the record's fields: 1 or 0.
 */

static size_t
mcp_store_has_tenant(const char *tenant, size_t tenant_len)
{
    return (tenant_len != 0
            && !(tenant_len == sizeof(MCP_STORE_TENANT_DEFAULT) - 1
                 && memcmp(tenant, MCP_STORE_TENANT_DEFAULT, tenant_len)
                    == 0))
           ? 1 : 0;
}


static int
mcp_store_read_be(mcp_store_rbuf_t *r, size_t n, uint64_t *v)
{
    if ((size_t) (r->end - r->pos) < n) {
        return -1;
    }

    *v = 0;

    while (n--) {
        *v = (*v << 8) | *r->pos++;
    }

    return 0;
}


/*
 * Reads any msgpack integer.  A negative one sets *neg and leaves its
 * 64-bit two's complement in *v.
 */

static int
mcp_store_read_int(mcp_store_rbuf_t *r, uint64_t *v, int *neg)
{
    size_t         n;
    unsigned char  c;

    if (r->pos == r->end) {
        return -1;
    }

    c = *r->pos++;
    *neg = 0;

    if (c <= 0x7f) {                    /* positive fixint */
        *v = c;
        return 0;
    }

    if (c >= 0xe0) {                    /* negative fixint, -32 to -1 */
        *v = UINT64_MAX - (0xff - c);
        *neg = 1;
        return 0;
    }

    switch (c) {
    case 0xcc: case 0xd0: n = 1; break;
    case 0xcd: case 0xd1: n = 2; break;
    case 0xce: case 0xd2: n = 4; break;
    case 0xcf: case 0xd3: n = 8; break;
    default:
        return -1;
    }

    if (mcp_store_read_be(r, n, v) != 0) {
        return -1;
    }

    if (c >= 0xd0 && (*v >> (8 * n - 1)) != 0) {  /* int 8 to 64, < 0 */
        if (n < 8) {
            *v |= UINT64_MAX << (8 * n);
        }

        *neg = 1;
    }

    return 0;
}


int
mcp_store_read_int64(mcp_store_rbuf_t *r, int64_t *v)
{
    int       neg;
    uint64_t  u;

    if (mcp_store_read_int(r, &u, &neg) != 0) {
        return -1;
    }

    if (neg) {
        /* u is at least 2^63 here, so ~u fits an int64_t */
        *v = -(int64_t) ~u - 1;
        return 0;
    }

    if (u > (uint64_t) INT64_MAX) {
        return -1;
    }

    *v = (int64_t) u;

    return 0;
}


int
mcp_store_read_uint64(mcp_store_rbuf_t *r, uint64_t *v)
{
    int  neg;

    if (mcp_store_read_int(r, v, &neg) != 0 || neg) {
        return -1;
    }

    return 0;
}


static int
mcp_store_read_uint(mcp_store_rbuf_t *r, unsigned *v)
{
    uint64_t  u;

    if (mcp_store_read_uint64(r, &u) != 0 || u > UINT_MAX) {
        return -1;
    }

    *v = (unsigned) u;

    return 0;
}


int
mcp_store_read_array(mcp_store_rbuf_t *r, uint64_t *n)
{
    unsigned char  c;

    if (r->pos == r->end) {
        return -1;
    }

    c = *r->pos++;

    if ((c & 0xf0) == 0x90) {           /* fixarray */
        *n = c & 0x0f;
        return 0;
    }

    switch (c) {
    case 0xdc: return mcp_store_read_be(r, 2, n);
    case 0xdd: return mcp_store_read_be(r, 4, n);
    default:   return -1;
    }
}


int
mcp_store_read_str(mcp_store_rbuf_t *r, const char **str, size_t *len)
{
    size_t         width;
    uint64_t       n;
    unsigned char  c;

    if (r->pos == r->end) {
        return -1;
    }

    c = *r->pos++;

    if ((c & 0xe0) == 0xa0) {           /* fixstr */
        n = c & 0x1f;

    } else {
        switch (c) {
        case 0xd9: width = 1; break;
        case 0xda: width = 2; break;
        case 0xdb: width = 4; break;
        default:
            return -1;
        }

        if (mcp_store_read_be(r, width, &n) != 0) {
            return -1;
        }
    }

    if (n > (uint64_t) (r->end - r->pos)) {
        return -1;
    }

    *str = (const char *) r->pos;
    *len = (size_t) n;
    r->pos += n;

    return 0;
}


/*
 * Skips one value of any type (a field of an operation that this version
 * does not know): nested arrays and maps at most 8 deep.
 */

int
mcp_store_skip(mcp_store_rbuf_t *r, unsigned depth)
{
    size_t         width, len;
    uint64_t       n, i;
    const char    *str;
    unsigned char  c;

    if (r->pos == r->end || depth > 8) {
        return -1;
    }

    c = *r->pos;

    if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
        r->pos++;                       /* fixint, nil, booleans */
        return 0;
    }

    if ((c & 0xe0) == 0xa0 || c == 0xd9 || c == 0xda || c == 0xdb) {
        return mcp_store_read_str(r, &str, &len);
    }

    if ((c & 0xf0) == 0x90 || (c & 0xf0) == 0x80 || c == 0xdc || c == 0xdd
        || c == 0xde || c == 0xdf)
    {
        r->pos++;

        if ((c & 0xf0) == 0x90 || (c & 0xf0) == 0x80) {
            n = c & 0x0f;

        } else if (mcp_store_read_be(r, (c == 0xdc || c == 0xde) ? 2 : 4, &n)
                   != 0)
        {
            return -1;
        }

        /* a map's entries are two values each */
        if ((c & 0xf0) == 0x80 || c == 0xde || c == 0xdf) {
            n *= 2;
        }

        if (n > (uint64_t) (r->end - r->pos)) {
            return -1;
        }

        for (i = 0; i < n; i++) {
            if (mcp_store_skip(r, depth + 1) != 0) {
                return -1;
            }
        }

        return 0;
    }

    r->pos++;

    switch (c) {
    case 0xcc: case 0xd0: width = 1; break;
    case 0xcd: case 0xd1: width = 2; break;
    case 0xca: case 0xce: case 0xd2: width = 4; break;
    case 0xcb: case 0xcf: case 0xd3: width = 8; break;
    case 0xc4: case 0xc5: case 0xc6:                   /* bin */
        if (mcp_store_read_be(r, (c == 0xc4) ? 1 : (c == 0xc5) ? 2 : 4, &n)
            != 0 || n > (uint64_t) (r->end - r->pos))
        {
            return -1;
        }

        r->pos += n;
        return 0;
    default:
        return -1;                      /* ext types are not ours */
    }

    if ((size_t) (r->end - r->pos) < width) {
        return -1;
    }

    r->pos += width;

    return 0;
}
