/*
 * Arbitrary bytes through every record decoder of mcp_store_codec.c.
 *
 * Checks: no crash and no read outside the input (ASan: libFuzzer hands
 * over a heap copy of exactly the input's size); every decoded string
 * lies inside the input (the tenant may also be the static default); the
 * limits the decoders promise hold; a record that decodes encodes again
 * (into a buffer of exactly the size the encoder asks for, and into one
 * a byte short, which it must not overrun) and decodes to the same values.
 */

#include "fuzz_common.h"

#include "mcp_store_int.h"


#define FUZZ_OBS_CAP  4


static char *
fuzz_encoded(size_t need)
{
    char  *buf;

    buf = malloc(need ? need : 1);
    FUZZ_CHECK(buf != NULL);

    return buf;
}


/* an encoder must write nothing past size: ASan watches the short buffer */
#define FUZZ_ENCODE(encode, rec, buf, n)                                      \
    do {                                                                      \
        char    *short_;                                                      \
        size_t   n2_;                                                         \
                                                                              \
        n = encode(rec, NULL, 0);                                             \
        FUZZ_CHECK(n > 0);                                                    \
        buf = fuzz_encoded(n);                                                \
        FUZZ_CHECK(encode(rec, buf, n) == n);                                 \
        short_ = fuzz_encoded(n - 1);                                         \
        n2_ = encode(rec, short_, n - 1);                                     \
        FUZZ_CHECK(n2_ == n);                                                 \
        free(short_);                                                         \
    } while (0)


static int
fuzz_tenant_ok(const char *t, size_t len, const uint8_t *data, size_t size)
{
    return (len == sizeof(MCP_STORE_TENANT_DEFAULT) - 1
            && memcmp(t, MCP_STORE_TENANT_DEFAULT, len) == 0)
           || (fuzz_inside(t, len, data, size) && len >= 1
               && len <= MCP_STORE_SCOPE_MAX);
}


static int
fuzz_same(const char *a, size_t alen, const char *b, size_t blen)
{
    if (a == NULL || b == NULL) {
        return a == b && alen == blen;
    }

    return alen == blen && memcmp(a, b, alen) == 0;
}


static void
fuzz_link(const uint8_t *data, size_t size)
{
    char              *buf;
    size_t             n;
    mcp_store_link_t   l, l2;

    if (mcp_store_link_decode(data, size, &l) != MCP_STORE_OK) {
        return;
    }

    FUZZ_CHECK(fuzz_inside(l.url, l.url_len, data, size));
    FUZZ_CHECK(fuzz_tenant_ok(l.tenant, l.tenant_len, data, size));

    FUZZ_ENCODE(mcp_store_link_encode, &l, buf, n);
    FUZZ_CHECK(mcp_store_link_decode(buf, n, &l2) == MCP_STORE_OK);
    FUZZ_CHECK(fuzz_same(l.url, l.url_len, l2.url, l2.url_len));
    FUZZ_CHECK(fuzz_same(l.tenant, l.tenant_len, l2.tenant, l2.tenant_len));
    FUZZ_CHECK(l.created_at == l2.created_at
               && l.expires_at == l2.expires_at
               && l.max_visits == l2.max_visits && l.visits == l2.visits
               && l.last_visit == l2.last_visit);
    FUZZ_CHECK(l.tags_len == 0
               || fuzz_inside(l.tags, l.tags_len, data, size));
    FUZZ_CHECK(l.tags_len == l2.tags_len
               && (l.tags_len == 0
                   || fuzz_same(l.tags, l.tags_len, l2.tags, l2.tags_len))
               && l.redirect_status == l2.redirect_status);
    FUZZ_CHECK(n <= size);              /* msgpack-c packs shortest */
    free(buf);
}


static void
fuzz_session(const uint8_t *data, size_t size)
{
    char                 *buf;
    size_t                n;
    mcp_store_session_t   ss, s2;

    if (mcp_store_session_decode(data, size, &ss) != MCP_STORE_OK) {
        return;
    }

    FUZZ_CHECK(fuzz_inside(ss.protocol, ss.protocol_len, data, size));
    FUZZ_CHECK(fuzz_inside(ss.client_name, ss.client_name_len, data, size));
    FUZZ_CHECK(fuzz_inside(ss.client_version, ss.client_version_len, data,
                           size));
    FUZZ_CHECK(ss.protocol_len <= MCP_STORE_SESSION_STR_MAX
               && ss.client_name_len <= MCP_STORE_SESSION_STR_MAX
               && ss.client_version_len <= MCP_STORE_SESSION_STR_MAX);
    FUZZ_CHECK(fuzz_tenant_ok(ss.tenant, ss.tenant_len, data, size));

    FUZZ_ENCODE(mcp_store_session_encode, &ss, buf, n);
    FUZZ_CHECK(mcp_store_session_decode(buf, n, &s2) == MCP_STORE_OK);
    FUZZ_CHECK(fuzz_same(ss.protocol, ss.protocol_len, s2.protocol,
                         s2.protocol_len));
    FUZZ_CHECK(fuzz_same(ss.client_name, ss.client_name_len, s2.client_name,
                         s2.client_name_len));
    FUZZ_CHECK(fuzz_same(ss.client_version, ss.client_version_len,
                         s2.client_version, s2.client_version_len));
    FUZZ_CHECK(fuzz_same(ss.tenant, ss.tenant_len, s2.tenant,
                         s2.tenant_len));
    FUZZ_CHECK(ss.created_at == s2.created_at && ss.last_seen == s2.last_seen
               && ss.log_level == s2.log_level && ss.flags == s2.flags);
    FUZZ_CHECK(n <= size);
    free(buf);
}


static void
fuzz_uints(const uint8_t *data, size_t size)
{
    char      *buf;
    size_t     n, k, i;
    uint64_t   v[MCP_STORE_UINTS_MAX + 1], w[MCP_STORE_UINTS_MAX];

    /* 0 and more than the maximum are refused whatever the bytes */
    FUZZ_CHECK(mcp_store_uints_decode(data, size, v, 0)
               == MCP_STORE_ECORRUPT);
    FUZZ_CHECK(mcp_store_uints_decode(data, size, v, MCP_STORE_UINTS_MAX + 1)
               == MCP_STORE_ECORRUPT);

    for (k = 1; k <= MCP_STORE_UINTS_MAX; k++) {
        if (mcp_store_uints_decode(data, size, v, k) != MCP_STORE_OK) {
            continue;
        }

        n = mcp_store_uints_encode(v, k, NULL, 0);
        buf = fuzz_encoded(n);
        FUZZ_CHECK(mcp_store_uints_encode(v, k, buf, n) == n);
        FUZZ_CHECK(mcp_store_uints_decode(buf, n, w, k) == MCP_STORE_OK);

        for (i = 0; i < k; i++) {
            FUZZ_CHECK(v[i] == w[i]);
        }

        free(buf);
    }

    if (mcp_store_schema_decode(data, size, &v[0]) == MCP_STORE_OK) {
        n = mcp_store_schema_encode(v[0], NULL, 0);
        buf = fuzz_encoded(n);
        FUZZ_CHECK(mcp_store_schema_encode(v[0], buf, n) == n);
        FUZZ_CHECK(mcp_store_schema_decode(buf, n, &w[0]) == MCP_STORE_OK
                   && w[0] == v[0]);
        free(buf);
    }
}


static void
fuzz_entity(const uint8_t *data, size_t size)
{
    char                     *buf;
    size_t                    n, i, total, total2, cap;
    mcp_store_entity_t        e, e2;
    mcp_store_observation_t   obs[FUZZ_OBS_CAP], obs2[FUZZ_OBS_CAP];

    /* cap 0 and no array: the decoder must not write to it */
    memset(&e, 0, sizeof(e));
    if (mcp_store_entity_decode(data, size, &e, 0, &total) == MCP_STORE_OK) {
        FUZZ_CHECK(e.nobservations == 0 && e.observations == NULL);
    }

    for (cap = 1; cap <= FUZZ_OBS_CAP; cap += FUZZ_OBS_CAP - 1) {
        memset(&e, 0, sizeof(e));
        e.observations = obs;

        if (mcp_store_entity_decode(data, size, &e, cap, &total)
            != MCP_STORE_OK)
        {
            return;
        }

        FUZZ_CHECK(e.nobservations <= cap && e.nobservations <= total);
        FUZZ_CHECK(total <= MCP_STORE_OBS_MAX);
        FUZZ_CHECK(e.nobservations == (total < cap ? total : cap));
        FUZZ_CHECK(fuzz_inside(e.type, e.type_len, data, size));
        FUZZ_CHECK(e.type_len >= 1 && e.type_len <= MCP_STORE_NAME_MAX);

        for (i = 0; i < e.nobservations; i++) {
            FUZZ_CHECK(fuzz_inside(obs[i].text, obs[i].text_len, data, size));
            FUZZ_CHECK(obs[i].text_len >= 1
                       && obs[i].text_len <= MCP_STORE_TEXT_MAX);
        }
    }

    /* the round trip, when every observation was read */

    if (total > FUZZ_OBS_CAP) {
        return;
    }

    FUZZ_ENCODE(mcp_store_entity_encode, &e, buf, n);
    memset(&e2, 0, sizeof(e2));
    e2.observations = obs2;
    FUZZ_CHECK(mcp_store_entity_decode(buf, n, &e2, FUZZ_OBS_CAP, &total2)
               == MCP_STORE_OK);
    FUZZ_CHECK(total2 == total && e2.nobservations == e.nobservations);
    FUZZ_CHECK(fuzz_same(e.type, e.type_len, e2.type, e2.type_len));
    FUZZ_CHECK(e.created_at == e2.created_at
               && e.updated_at == e2.updated_at);

    for (i = 0; i < e.nobservations; i++) {
        FUZZ_CHECK(fuzz_same(obs[i].text, obs[i].text_len, obs2[i].text,
                             obs2[i].text_len));
        FUZZ_CHECK(obs[i].created_at == obs2[i].created_at);
    }

    FUZZ_CHECK(n <= size);
    free(buf);
}


static void
fuzz_relation(const uint8_t *data, size_t size)
{
    char     *buf;
    size_t    n;
    int64_t   v, w;

    if (mcp_store_relation_decode(data, size, &v) != MCP_STORE_OK) {
        return;
    }

    n = mcp_store_relation_encode(v, NULL, 0);
    buf = fuzz_encoded(n);
    FUZZ_CHECK(mcp_store_relation_encode(v, buf, n) == n);
    FUZZ_CHECK(mcp_store_relation_decode(buf, n, &w) == MCP_STORE_OK
               && v == w);
    FUZZ_CHECK(n <= size);
    free(buf);
}


static void
fuzz_context(const uint8_t *data, size_t size)
{
    char                 *buf;
    size_t                n;
    mcp_store_context_t   c, c2;

    memset(&c, 0, sizeof(c));
    c.id = "id";
    c.id_len = 2;

    if (mcp_store_context_decode(data, size, &c) != MCP_STORE_OK) {
        return;
    }

    /* the id is left as it was */
    FUZZ_CHECK(c.id_len == 2 && memcmp(c.id, "id", 2) == 0);
    FUZZ_CHECK(c.summary_len <= MCP_STORE_MESSAGE_MAX);

    if (c.summary != NULL) {
        FUZZ_CHECK(fuzz_inside(c.summary, c.summary_len, data, size));
    } else {
        FUZZ_CHECK(c.summary_len == 0);
    }

    FUZZ_ENCODE(mcp_store_context_encode, &c, buf, n);
    memset(&c2, 0, sizeof(c2));
    FUZZ_CHECK(mcp_store_context_decode(buf, n, &c2) == MCP_STORE_OK);
    FUZZ_CHECK(fuzz_same(c.summary, c.summary_len, c2.summary,
                         c2.summary_len));
    FUZZ_CHECK(c.created_at == c2.created_at && c.updated_at == c2.updated_at
               && c.expires_at == c2.expires_at
               && c.nmessages == c2.nmessages && c.tokens == c2.tokens
               && c.next_seq == c2.next_seq
               && c.summary_from == c2.summary_from
               && c.summary_upto == c2.summary_upto);
    FUZZ_CHECK(n <= size);
    free(buf);
}


static void
fuzz_message(const uint8_t *data, size_t size)
{
    char                 *buf;
    size_t                n;
    mcp_store_message_t   m, m2;

    memset(&m, 0, sizeof(m));
    m.seq = 42;

    if (mcp_store_message_decode(data, size, &m) != MCP_STORE_OK) {
        return;
    }

    FUZZ_CHECK(m.seq == 42);
    FUZZ_CHECK(m.role <= MCP_STORE_ROLE_TOOL && m.pinned <= 1);
    FUZZ_CHECK(m.content_len <= MCP_STORE_MESSAGE_MAX);
    FUZZ_CHECK(fuzz_inside(m.content, m.content_len, data, size));

    FUZZ_ENCODE(mcp_store_message_encode, &m, buf, n);
    memset(&m2, 0, sizeof(m2));
    FUZZ_CHECK(mcp_store_message_decode(buf, n, &m2) == MCP_STORE_OK);
    FUZZ_CHECK(fuzz_same(m.content, m.content_len, m2.content,
                         m2.content_len));
    FUZZ_CHECK(m.role == m2.role && m.pinned == m2.pinned
               && m.tokens == m2.tokens && m.created_at == m2.created_at);
    FUZZ_CHECK(n <= size);
    free(buf);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a record is never empty: every decoder refuses no bytes */
    if (size == 0) {
        mcp_store_link_t     l;
        mcp_store_message_t  m;

        FUZZ_CHECK(mcp_store_link_decode(data, 0, &l) == MCP_STORE_ECORRUPT);
        FUZZ_CHECK(mcp_store_message_decode(data, 0, &m)
                   == MCP_STORE_ECORRUPT);
        return 0;
    }

    fuzz_link(data, size);
    fuzz_session(data, size);
    fuzz_uints(data, size);
    fuzz_entity(data, size);
    fuzz_relation(data, size);
    fuzz_context(data, size);
    fuzz_message(data, size);

    return 0;
}
