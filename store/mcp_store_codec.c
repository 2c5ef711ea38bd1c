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
 * tenant]: a str, two ints, two uints, an int and a str of 1 to
 * MCP_STORE_SCOPE_MAX bytes.  A session is [created_at, last_seen,
 * protocol, client_name, client_version, log_level, flags, tenant]: two
 * ints, three strs of at most MCP_STORE_SESSION_STR_MAX bytes, two uints
 * that fit an unsigned, and the tenant as a link's.  The tenant is left
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
#include <string.h>

#include <msgpack.h>

#include "mcp_store_int.h"


#define MCP_STORE_LINK_FIELDS     6   /* 7 with the tenant */
#define MCP_STORE_SESSION_FIELDS  7   /* 8 with the tenant */
#define MCP_STORE_ENTITY_FIELDS   4
#define MCP_STORE_OBSERVATION_FIELDS  2
#define MCP_STORE_RELATION_FIELDS 1
#define MCP_STORE_CONTEXT_FIELDS  9
#define MCP_STORE_MESSAGE_FIELDS  5


static int mcp_store_wbuf_write(void *data, const char *buf, size_t len);
static int mcp_store_read_record(mcp_store_rbuf_t *r, const void *data,
    size_t len, uint64_t fields);
static int mcp_store_read_record_opt(mcp_store_rbuf_t *r, const void *data,
    size_t len, uint64_t fields, uint64_t *n);
static int mcp_store_has_tenant(const char *tenant, size_t tenant_len);
static void mcp_store_pack_tenant(msgpack_packer *pk, const char *tenant,
    size_t tenant_len);
static int mcp_store_read_tenant(mcp_store_rbuf_t *r, uint64_t present,
    const char **tenant, size_t *tenant_len);
static int mcp_store_read_be(mcp_store_rbuf_t *r, size_t n, uint64_t *v);
static int mcp_store_read_int(mcp_store_rbuf_t *r, uint64_t *v, int *neg);
static int mcp_store_read_uint(mcp_store_rbuf_t *r, unsigned *v);
static int mcp_store_read_opt_str(mcp_store_rbuf_t *r, const char **str,
    size_t *len);
static int mcp_store_read_short_str(mcp_store_rbuf_t *r, const char **str,
    size_t *len);


size_t
mcp_store_link_encode(const mcp_store_link_t *link, char *buf, size_t size)
{
    msgpack_packer    pk;
    mcp_store_wbuf_t  w;

    mcp_store_wbuf_init(&w, &pk, buf, size);

    /* the packer only fails when its writer does, and ours never does */

    (void) msgpack_pack_array(&pk, MCP_STORE_LINK_FIELDS
                              + mcp_store_has_tenant(link->tenant,
                                                     link->tenant_len));
    mcp_store_pack_str(&pk, link->url, link->url_len);
    (void) msgpack_pack_int64(&pk, link->created_at);
    (void) msgpack_pack_int64(&pk, link->expires_at);
    (void) msgpack_pack_uint64(&pk, link->max_visits);
    (void) msgpack_pack_uint64(&pk, link->visits);
    (void) msgpack_pack_int64(&pk, link->last_visit);
    mcp_store_pack_tenant(&pk, link->tenant, link->tenant_len);

    return w.len;
}


int
mcp_store_link_decode(const void *data, size_t len, mcp_store_link_t *link)
{
    uint64_t          n;
    mcp_store_link_t  l;
    mcp_store_rbuf_t  r;

    if (mcp_store_read_record_opt(&r, data, len, MCP_STORE_LINK_FIELDS, &n)
        != 0
        || mcp_store_read_str(&r, &l.url, &l.url_len) != 0
        || mcp_store_read_int64(&r, &l.created_at) != 0
        || mcp_store_read_int64(&r, &l.expires_at) != 0
        || mcp_store_read_uint64(&r, &l.max_visits) != 0
        || mcp_store_read_uint64(&r, &l.visits) != 0
        || mcp_store_read_int64(&r, &l.last_visit) != 0
        || mcp_store_read_tenant(&r, n - MCP_STORE_LINK_FIELDS, &l.tenant,
                                 &l.tenant_len) != 0
        || r.pos != r.end)
    {
        return MCP_STORE_ECORRUPT;
    }

    *link = l;

    return MCP_STORE_OK;
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


size_t
mcp_store_session_encode(const mcp_store_session_t *session, char *buf,
    size_t size)
{
    msgpack_packer    pk;
    mcp_store_wbuf_t  w;

    mcp_store_wbuf_init(&w, &pk, buf, size);

    (void) msgpack_pack_array(&pk, MCP_STORE_SESSION_FIELDS
                              + mcp_store_has_tenant(session->tenant,
                                                     session->tenant_len));
    (void) msgpack_pack_int64(&pk, session->created_at);
    (void) msgpack_pack_int64(&pk, session->last_seen);
    mcp_store_pack_str(&pk, session->protocol, session->protocol_len);
    mcp_store_pack_str(&pk, session->client_name, session->client_name_len);
    mcp_store_pack_str(&pk, session->client_version,
                       session->client_version_len);
    (void) msgpack_pack_unsigned_int(&pk, session->log_level);
    (void) msgpack_pack_unsigned_int(&pk, session->flags);
    mcp_store_pack_tenant(&pk, session->tenant, session->tenant_len);

    return w.len;
}


int
mcp_store_session_decode(const void *data, size_t len,
    mcp_store_session_t *session)
{
    uint64_t             n;
    mcp_store_rbuf_t     r;
    mcp_store_session_t  ss;

    if (mcp_store_read_record_opt(&r, data, len, MCP_STORE_SESSION_FIELDS,
                                  &n) != 0
        || mcp_store_read_int64(&r, &ss.created_at) != 0
        || mcp_store_read_int64(&r, &ss.last_seen) != 0
        || mcp_store_read_short_str(&r, &ss.protocol, &ss.protocol_len) != 0
        || mcp_store_read_short_str(&r, &ss.client_name,
                                    &ss.client_name_len) != 0
        || mcp_store_read_short_str(&r, &ss.client_version,
                                    &ss.client_version_len) != 0
        || mcp_store_read_uint(&r, &ss.log_level) != 0
        || mcp_store_read_uint(&r, &ss.flags) != 0
        || mcp_store_read_tenant(&r, n - MCP_STORE_SESSION_FIELDS,
                                 &ss.tenant, &ss.tenant_len) != 0
        || r.pos != r.end)
    {
        return MCP_STORE_ECORRUPT;
    }

    *session = ss;

    return MCP_STORE_OK;
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
    msgpack_packer    pk;
    mcp_store_wbuf_t  w;

    mcp_store_wbuf_init(&w, &pk, buf, size);

    (void) msgpack_pack_array(&pk, MCP_STORE_RELATION_FIELDS);
    (void) msgpack_pack_int64(&pk, created_at);

    return w.len;
}


int
mcp_store_relation_decode(const void *data, size_t len, int64_t *created_at)
{
    int64_t           v;
    mcp_store_rbuf_t  r;

    if (mcp_store_read_record(&r, data, len, MCP_STORE_RELATION_FIELDS) != 0
        || mcp_store_read_int64(&r, &v) != 0
        || r.pos != r.end)
    {
        return MCP_STORE_ECORRUPT;
    }

    *created_at = v;

    return MCP_STORE_OK;
}


size_t
mcp_store_context_encode(const mcp_store_context_t *c, char *buf,
    size_t size)
{
    msgpack_packer    pk;
    mcp_store_wbuf_t  w;

    mcp_store_wbuf_init(&w, &pk, buf, size);

    (void) msgpack_pack_array(&pk, MCP_STORE_CONTEXT_FIELDS);
    (void) msgpack_pack_int64(&pk, c->created_at);
    (void) msgpack_pack_int64(&pk, c->updated_at);
    (void) msgpack_pack_int64(&pk, c->expires_at);
    (void) msgpack_pack_uint64(&pk, c->nmessages);
    (void) msgpack_pack_uint64(&pk, c->tokens);
    (void) msgpack_pack_uint64(&pk, c->next_seq);

    if (c->summary != NULL) {
        mcp_store_pack_str(&pk, c->summary, c->summary_len);

    } else {
        (void) msgpack_pack_nil(&pk);
    }

    (void) msgpack_pack_uint64(&pk, c->summary_from);
    (void) msgpack_pack_uint64(&pk, c->summary_upto);

    return w.len;
}


int
mcp_store_context_decode(const void *data, size_t len, mcp_store_context_t *c)
{
    mcp_store_rbuf_t     r;
    mcp_store_context_t  cc;

    if (mcp_store_read_record(&r, data, len, MCP_STORE_CONTEXT_FIELDS) != 0
        || mcp_store_read_int64(&r, &cc.created_at) != 0
        || mcp_store_read_int64(&r, &cc.updated_at) != 0
        || mcp_store_read_int64(&r, &cc.expires_at) != 0
        || mcp_store_read_uint64(&r, &cc.nmessages) != 0
        || mcp_store_read_uint64(&r, &cc.tokens) != 0
        || mcp_store_read_uint64(&r, &cc.next_seq) != 0
        || mcp_store_read_opt_str(&r, &cc.summary, &cc.summary_len) != 0
        || cc.summary_len > MCP_STORE_MESSAGE_MAX
        || mcp_store_read_uint64(&r, &cc.summary_from) != 0
        || mcp_store_read_uint64(&r, &cc.summary_upto) != 0
        || r.pos != r.end)
    {
        return MCP_STORE_ECORRUPT;
    }

    cc.id = c->id;
    cc.id_len = c->id_len;

    *c = cc;

    return MCP_STORE_OK;
}


size_t
mcp_store_message_encode(const mcp_store_message_t *m, char *buf,
    size_t size)
{
    msgpack_packer    pk;
    mcp_store_wbuf_t  w;

    mcp_store_wbuf_init(&w, &pk, buf, size);

    (void) msgpack_pack_array(&pk, MCP_STORE_MESSAGE_FIELDS);
    (void) msgpack_pack_unsigned_int(&pk, m->role);
    (void) msgpack_pack_unsigned_int(&pk, m->pinned);
    mcp_store_pack_str(&pk, m->content, m->content_len);
    (void) msgpack_pack_uint64(&pk, m->tokens);
    (void) msgpack_pack_int64(&pk, m->created_at);

    return w.len;
}


int
mcp_store_message_decode(const void *data, size_t len, mcp_store_message_t *m)
{
    mcp_store_rbuf_t     r;
    mcp_store_message_t  mm;

    if (mcp_store_read_record(&r, data, len, MCP_STORE_MESSAGE_FIELDS) != 0
        || mcp_store_read_uint(&r, &mm.role) != 0
        || mm.role > MCP_STORE_ROLE_TOOL
        || mcp_store_read_uint(&r, &mm.pinned) != 0
        || mm.pinned > 1
        || mcp_store_read_str(&r, &mm.content, &mm.content_len) != 0
        || mm.content_len > MCP_STORE_MESSAGE_MAX
        || mcp_store_read_uint64(&r, &mm.tokens) != 0
        || mcp_store_read_int64(&r, &mm.created_at) != 0
        || r.pos != r.end)
    {
        return MCP_STORE_ECORRUPT;
    }

    mm.seq = m->seq;

    *m = mm;

    return MCP_STORE_OK;
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
 * The start of a record that may end with one optional field: an array
 * of fields or fields + 1 values, how many in *n.
 */

static int
mcp_store_read_record_opt(mcp_store_rbuf_t *r, const void *data, size_t len,
    uint64_t fields, uint64_t *n)
{
    if (mcp_store_rbuf_init(r, data, len) != 0
        || mcp_store_read_array(r, n) != 0
        || (*n != fields && *n != fields + 1))
    {
        return -1;
    }

    return 0;
}


/*
 * Is the tenant one that is written?  MCP_STORE_TENANT_DEFAULT is left out,
 * spelled out or not, so that such records stay as they were before
 * tenants.
 */

static int
mcp_store_has_tenant(const char *tenant, size_t tenant_len)
{
    return tenant_len != 0
           && !(tenant_len == sizeof(MCP_STORE_TENANT_DEFAULT) - 1
                && memcmp(tenant, MCP_STORE_TENANT_DEFAULT, tenant_len) == 0);
}


static void
mcp_store_pack_tenant(msgpack_packer *pk, const char *tenant,
    size_t tenant_len)
{
    if (mcp_store_has_tenant(tenant, tenant_len)) {
        mcp_store_pack_str(pk, tenant, tenant_len);
    }
}


/* The optional last field: the tenant if present, else the default one. */

static int
mcp_store_read_tenant(mcp_store_rbuf_t *r, uint64_t present,
    const char **tenant, size_t *tenant_len)
{
    if (!present) {
        *tenant = MCP_STORE_TENANT_DEFAULT;
        *tenant_len = sizeof(MCP_STORE_TENANT_DEFAULT) - 1;
        return 0;
    }

    if (mcp_store_read_str(r, tenant, tenant_len) != 0
        || *tenant_len == 0 || *tenant_len > MCP_STORE_SCOPE_MAX)
    {
        return -1;
    }

    return 0;
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
 * A session's strings: longer ones are never written, so one that claims
 * to be is corrupt, and a decoded session always fits the buffer that
 * mcp_store_session.c encodes it into again.
 */

static int
mcp_store_read_short_str(mcp_store_rbuf_t *r, const char **str, size_t *len)
{
    if (mcp_store_read_str(r, str, len) != 0
        || *len > MCP_STORE_SESSION_STR_MAX)
    {
        return -1;
    }

    return 0;
}


/* A str, or nil for none (*str NULL). */

static int
mcp_store_read_opt_str(mcp_store_rbuf_t *r, const char **str, size_t *len)
{
    if (r->pos != r->end && *r->pos == 0xc0) {
        r->pos++;
        *str = NULL;
        *len = 0;
        return 0;
    }

    return mcp_store_read_str(r, str, len);
}
