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
 * A link is [url, created_at, expires_at, max_visits, visits, last_visit]:
 * a str, two ints, two uints and an int.  A session is [created_at,
 * last_seen, protocol, client_name, client_version, log_level, flags]: two
 * ints, three strs of at most MCP_STORE_SESSION_STR_MAX bytes, and two
 * uints that fit an unsigned.  The schema record is one uint.  Any msgpack
 * encoding of those values is accepted (msgpack-c always picks the
 * shortest; other writers may not).
 */

#include <limits.h>
#include <string.h>

#include <msgpack.h>

#include "mcp_store_int.h"


#define MCP_STORE_LINK_FIELDS     6
#define MCP_STORE_SESSION_FIELDS  7


typedef struct {
    char                *pos;
    char                *end;
    size_t               len;
} mcp_store_wbuf_t;


typedef struct {
    const unsigned char *pos;
    const unsigned char *end;
} mcp_store_rbuf_t;


static int mcp_store_wbuf_write(void *data, const char *buf, size_t len);
static void mcp_store_wbuf_init(mcp_store_wbuf_t *w, msgpack_packer *pk,
    char *buf, size_t size);
static void mcp_store_pack_str(msgpack_packer *pk, const char *str,
    size_t len);
static int mcp_store_rbuf_init(mcp_store_rbuf_t *r, const void *data,
    size_t len);
static int mcp_store_read_record(mcp_store_rbuf_t *r, const void *data,
    size_t len, uint64_t fields);
static int mcp_store_read_be(mcp_store_rbuf_t *r, size_t n, uint64_t *v);
static int mcp_store_read_int(mcp_store_rbuf_t *r, uint64_t *v, int *neg);
static int mcp_store_read_int64(mcp_store_rbuf_t *r, int64_t *v);
static int mcp_store_read_uint64(mcp_store_rbuf_t *r, uint64_t *v);
static int mcp_store_read_uint(mcp_store_rbuf_t *r, unsigned *v);
static int mcp_store_read_array(mcp_store_rbuf_t *r, uint64_t *n);
static int mcp_store_read_str(mcp_store_rbuf_t *r, const char **str,
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

    (void) msgpack_pack_array(&pk, MCP_STORE_LINK_FIELDS);
    mcp_store_pack_str(&pk, link->url, link->url_len);
    (void) msgpack_pack_int64(&pk, link->created_at);
    (void) msgpack_pack_int64(&pk, link->expires_at);
    (void) msgpack_pack_uint64(&pk, link->max_visits);
    (void) msgpack_pack_uint64(&pk, link->visits);
    (void) msgpack_pack_int64(&pk, link->last_visit);

    return w.len;
}


int
mcp_store_link_decode(const void *data, size_t len, mcp_store_link_t *link)
{
    mcp_store_link_t  l;
    mcp_store_rbuf_t  r;

    if (mcp_store_read_record(&r, data, len, MCP_STORE_LINK_FIELDS) != 0
        || mcp_store_read_str(&r, &l.url, &l.url_len) != 0
        || mcp_store_read_int64(&r, &l.created_at) != 0
        || mcp_store_read_int64(&r, &l.expires_at) != 0
        || mcp_store_read_uint64(&r, &l.max_visits) != 0
        || mcp_store_read_uint64(&r, &l.visits) != 0
        || mcp_store_read_int64(&r, &l.last_visit) != 0
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
    msgpack_packer    pk;
    mcp_store_wbuf_t  w;

    mcp_store_wbuf_init(&w, &pk, buf, size);

    (void) msgpack_pack_uint64(&pk, version);

    return w.len;
}


int
mcp_store_schema_decode(const void *data, size_t len, uint64_t *version)
{
    uint64_t          v;
    mcp_store_rbuf_t  r;

    if (mcp_store_rbuf_init(&r, data, len) != 0
        || mcp_store_read_uint64(&r, &v) != 0
        || r.pos != r.end)
    {
        return MCP_STORE_ECORRUPT;
    }

    *version = v;

    return MCP_STORE_OK;
}


size_t
mcp_store_session_encode(const mcp_store_session_t *session, char *buf,
    size_t size)
{
    msgpack_packer    pk;
    mcp_store_wbuf_t  w;

    mcp_store_wbuf_init(&w, &pk, buf, size);

    (void) msgpack_pack_array(&pk, MCP_STORE_SESSION_FIELDS);
    (void) msgpack_pack_int64(&pk, session->created_at);
    (void) msgpack_pack_int64(&pk, session->last_seen);
    mcp_store_pack_str(&pk, session->protocol, session->protocol_len);
    mcp_store_pack_str(&pk, session->client_name, session->client_name_len);
    mcp_store_pack_str(&pk, session->client_version,
                       session->client_version_len);
    (void) msgpack_pack_unsigned_int(&pk, session->log_level);
    (void) msgpack_pack_unsigned_int(&pk, session->flags);

    return w.len;
}


int
mcp_store_session_decode(const void *data, size_t len,
    mcp_store_session_t *session)
{
    mcp_store_rbuf_t     r;
    mcp_store_session_t  ss;

    if (mcp_store_read_record(&r, data, len, MCP_STORE_SESSION_FIELDS) != 0
        || mcp_store_read_int64(&r, &ss.created_at) != 0
        || mcp_store_read_int64(&r, &ss.last_seen) != 0
        || mcp_store_read_short_str(&r, &ss.protocol, &ss.protocol_len) != 0
        || mcp_store_read_short_str(&r, &ss.client_name,
                                    &ss.client_name_len) != 0
        || mcp_store_read_short_str(&r, &ss.client_version,
                                    &ss.client_version_len) != 0
        || mcp_store_read_uint(&r, &ss.log_level) != 0
        || mcp_store_read_uint(&r, &ss.flags) != 0
        || r.pos != r.end)
    {
        return MCP_STORE_ECORRUPT;
    }

    *session = ss;

    return MCP_STORE_OK;
}


static void
mcp_store_wbuf_init(mcp_store_wbuf_t *w, msgpack_packer *pk, char *buf,
    size_t size)
{
    w->pos = buf;
    w->end = (buf != NULL) ? buf + size : NULL;
    w->len = 0;

    msgpack_packer_init(pk, w, mcp_store_wbuf_write);
}


static void
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

static int
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


static int
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


static int
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


static int
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


static int
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
