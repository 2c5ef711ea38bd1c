/*
 * Writes the seed corpora under corpus/ ("make -C fuzz seeds"): records
 * made by the store's own encoders, UTF-8 samples for the tokenizer, and
 * operation scripts in the formats fuzz_index.c and fuzz_window.c read,
 * and entries of a cluster's log made by the operations' encoder.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp_store_int.h"
#include "mcp_store_op.h"


static void
seed(const char *harness, const char *name, const void *data, size_t len)
{
    char   path[256];
    FILE  *f;

    snprintf(path, sizeof(path), "corpus/%s/%s", harness, name);

    f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}


#define RECORD(name, encode, rec)                                             \
    do {                                                                      \
        char    buf_[512];                                                    \
        size_t  n_ = encode(rec, buf_, sizeof(buf_));                         \
        if (n_ > sizeof(buf_)) { exit(1); }                                   \
        seed("fuzz_records", name, buf_, n_);                                 \
    } while (0)


static void
records(void)
{
    char                      buf[64];
    size_t                    n;
    uint64_t                  u[4] = { 7, 300, 70000, 1ULL << 40 };
    mcp_store_link_t          l;
    mcp_store_session_t       s;
    mcp_store_entity_t        e;
    mcp_store_observation_t   o[2];
    mcp_store_context_t       c;
    mcp_store_message_t       m;

    memset(&l, 0, sizeof(l));
    l.url = "https://example.com/a?b=c";
    l.url_len = strlen(l.url);
    l.created_at = 1700000000;
    l.expires_at = -1;
    l.max_visits = 5;
    l.visits = 300;
    RECORD("link", mcp_store_link_encode, &l);
    l.tenant = "acme";
    l.tenant_len = 4;
    RECORD("link-tenant", mcp_store_link_encode, &l);

    memset(&s, 0, sizeof(s));
    s.created_at = 1700000000;
    s.last_seen = 1700000100;
    s.protocol = "2025-06-18";
    s.protocol_len = 10;
    s.client_name = "client";
    s.client_name_len = 6;
    s.client_version = "1.0";
    s.client_version_len = 3;
    s.log_level = 3;
    s.flags = 1;
    RECORD("session", mcp_store_session_encode, &s);
    s.tenant = "acme";
    s.tenant_len = 4;
    RECORD("session-tenant", mcp_store_session_encode, &s);

    n = mcp_store_uints_encode(u, 1, buf, sizeof(buf));
    seed("fuzz_records", "uint", buf, n);
    n = mcp_store_uints_encode(u, 2, buf, sizeof(buf));
    seed("fuzz_records", "uints2", buf, n);
    n = mcp_store_uints_encode(u, 4, buf, sizeof(buf));
    seed("fuzz_records", "uints4", buf, n);
    n = mcp_store_schema_encode(MCP_STORE_SCHEMA_VERSION, buf, sizeof(buf));
    seed("fuzz_records", "schema", buf, n);

    memset(&e, 0, sizeof(e));
    e.type = "person";
    e.type_len = 6;
    e.created_at = 1700000000;
    e.updated_at = -5;
    o[0].text = "likes tea";
    o[0].text_len = 9;
    o[0].created_at = 1;
    o[1].text = "lives in Zürich";
    o[1].text_len = strlen(o[1].text);
    o[1].created_at = 1700000000;
    e.observations = o;
    e.nobservations = 2;
    RECORD("entity", mcp_store_entity_encode, &e);
    e.nobservations = 0;
    RECORD("entity-bare", mcp_store_entity_encode, &e);

    n = mcp_store_relation_encode(1700000000, buf, sizeof(buf));
    seed("fuzz_records", "relation", buf, n);

    memset(&c, 0, sizeof(c));
    c.created_at = 1;
    c.updated_at = 2;
    c.nmessages = 3;
    c.tokens = 40;
    c.next_seq = 4;
    RECORD("context", mcp_store_context_encode, &c);
    c.summary = "Alice met Bob.";
    c.summary_len = 14;
    c.summary_from = 1;
    c.summary_upto = 2;
    RECORD("context-summary", mcp_store_context_encode, &c);

    memset(&m, 0, sizeof(m));
    m.role = MCP_STORE_ROLE_ASSISTANT;
    m.pinned = 1;
    m.content = "Hello, world. How are you?";
    m.content_len = strlen(m.content);
    m.tokens = mcp_store_tokens(m.content_len);
    m.created_at = 1700000000;
    RECORD("message", mcp_store_message_encode, &m);
}


static void
text(const char *harness, const char *name, const char *s)
{
    seed(harness, name, s, strlen(s));
}


static void
tokenize(void)
{
    text("fuzz_tokenize", "ascii", "The quick brown fox, and the lazy dog!");
    text("fuzz_tokenize", "latin1", "ZÜRICH Zürich Ærøskøbing façade ÿ Ÿ");
    text("fuzz_tokenize", "ext-a", "Łódź ŁÓDŹ Śląsk Œuvre ĳ Ĳ ǅ");
    text("fuzz_tokenize", "greek-cyrillic", "ΑΘΗΝΑ Αθήνα МОСКВА Москва Ѐ ѐ");
    text("fuzz_tokenize", "cjk-emoji", "東京タワー 😀😀 한국어 ﬁ");
    text("fuzz_tokenize", "punct", "a\xe2\x80\x94" "b \xe2\x80\x9cq\xe2\x80\x9d"
         " x\xc2\xa0y \xef\xbc\x81z \xc3\x97 \xc3\xb7 \xc2\xaa\xc2\xb5\xc2\xba");
    text("fuzz_tokenize", "long", "Donaudampfschifffahrtsgesellschaftskapitäns"
         "mützenabzeichenherstellerinnungsmitgliederversammlungsprotokoll");
    text("fuzz_tokenize", "long-multibyte", "ааааааааааааааааааааааааааааааа"
         "ааааааааааааааааааааааааааааааааааааааааааа");
    seed("fuzz_tokenize", "invalid", "ab\xc0\xaf" "cd\xed\xa0\x80" "ef\xf4\x90"
         "\x80\x80gh\xe2\x82" "ij\xff", 24);
    /* 63 bytes, then a 2-byte character that does not fit, then one that
     * does */
    text("fuzz_tokenize", "cut", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaa\xc3\xa9" "b c");
    text("fuzz_tokenize", "stop", "a an as at be by he in is it of on or to");
}


static void
index_scripts(void)
{
    /* op % 7: 0 create+obs, 1 create, 2 add obs, 3 delete obs,
     * 4 delete entity, 5/6 search; a name byte (top bit: an existing
     * entity) then (b & 7) + 1 bytes; a type length byte % 12 + 1;
     * strings of a length byte */
    static const char  create_search[] =
        "\x00\x04" "alice" "\x05" "person" "\x0d" "likes Zürich!"
        "\x00\x02" "bob" "\x05" "person" "\x09" "likes tea"
        "\x05\x10\x05" "likes"
        "\x06\x10\x02" "zu"
        "\x04\x80"
        "\x05\x10\x03" "tea";
    static const char  obs[] =
        "\x01\x02" "eve" "\x03" "user"
        "\x02\x80\x0b" "eve is here"
        "\x02\x80\x0b" "eve is here"
        "\x02\x80\x0a" "eve is gone"
        "\x05\x04\x03" "eve"
        "\x03\x80\x00"
        "\x05\x04\x04" "gone"
        "\x03\x80\x80\x04" "nope";
    static const char  many[] =
        "\x00\x00" "a" "\x00" "t" "\x03" "a b"
        "\x00\x00" "b" "\x00" "t" "\x03" "b c"
        "\x00\x00" "c" "\x00" "t" "\x03" "c d"
        "\x00\x00" "d" "\x00" "t" "\x03" "d e"
        "\x05\x20\x01" "c"
        "\x04\x81"
        "\x05\x01\x03" "b c";

    seed("fuzz_index", "create-search", create_search,
         sizeof(create_search) - 1);
    seed("fuzz_index", "observations", obs, sizeof(obs) - 1);
    seed("fuzz_index", "many", many, sizeof(many) - 1);
}


static void
window_scripts(void)
{
    /* op % 5: 0-2 append (role/pinned byte, text), 3 summary, 4 window;
     * op's top bit picks the context.  A text: length byte, top bit
     * clear: twice that many pieces, else raw bytes.  A window: mode byte
     * (budget kind, cap, query), budget, share byte, [cap], [query]. */
    static const char  turns[] =
        "\x00\x00\x03\x2a\x10\x00\x11\x01\x12"       /* system */
        "\x00\x01\x04\x00\x10\x01\x12\x02\x11\x03\x13"
        "\x00\x02\x04\x06\x10\x07\x12\x2b\x10\x2c\x11"
        "\x00\x09\x02\x08\x12\x2d\x10"                 /* pinned user */
        "\x00\x01\x05\x00\x10\x00\x10\x00\x12\x2e\x11\x01\x13"
        "\x04\x00\x20\x80"                             /* window, 32 */
        "\x04\x08\x18\x40\x01\x00\x10"                 /* with a query */
        "\x03\x01\x2a\x12\x01\x01"                     /* a summary */
        "\x04\x04\x28\xff\x03";                        /* cap 3 */
    static const char  raw[] =
        "\x00\x01\x85" "ab\xc3\xa9!"
        "\x80\x02\x84" "\xff\xfe" "ab"
        "\x84\x01\x00\x10\x00"
        "\x04\x02\x01\x00\x08\x80";

    seed("fuzz_window", "turns", turns, sizeof(turns) - 1);
    seed("fuzz_window", "raw", raw, sizeof(raw) - 1);
}


/* one log entry of the operations given (a batch when more than one) */

static void
log_entry(const char *name, mcp_store_op_t *ops, size_t n)
{
    char    buf[2048];
    size_t  i, len;

    for (len = 0, i = 0; i < n; i++) {
        ops[i].node = "node-a";
        ops[i].node_len = 6;
        ops[i].id = i + 1;

        len += mcp_store_op_encode(&ops[i], buf + len, sizeof(buf) - len);
        if (len > sizeof(buf)) {
            exit(1);
        }
    }

    seed("fuzz_ops", name, buf, len);
}


static void
log_entries(void)
{
    mcp_store_op_t           op[3];
    mcp_store_step_t         st[4];
    mcp_store_visit_t        v;
    mcp_store_observation_t  obs;

    memset(op, 0, sizeof(op));
    memset(st, 0, sizeof(st));

    op[0].kind = MCP_STORE_OP_LINK_PUT;
    op[0].code = "abc";
    op[0].code_len = 3;
    op[0].link.url = "https://example.com/";
    op[0].link.url_len = 20;
    op[0].link.max_visits = 2;
    op[0].link.tenant = "acme";
    op[0].link.tenant_len = 4;

    op[1].kind = MCP_STORE_OP_LINK_CONSUME;
    op[1].code = "abc";
    op[1].code_len = 3;
    op[1].now = 1700000000;

    v.code = "abc";
    v.code_len = 3;
    v.count = 5;
    v.last_visit = 1700000001;

    op[2].kind = MCP_STORE_OP_LINK_VISITS;
    op[2].visits = &v;
    op[2].nitems = 1;

    log_entry("links", op, 3);

    obs.text = "likes tea";
    obs.text_len = 9;
    obs.created_at = 0;

    st[0].kind = MCP_STORE_STEP_ENTITY_CREATE;
    st[0].name = "alice";
    st[0].name_len = 5;
    st[0].type = "person";
    st[0].type_len = 6;
    st[0].texts = &obs;
    st[0].ntexts = 1;
    st[1].kind = MCP_STORE_STEP_RELATION_CREATE;
    st[1].name = "alice";
    st[1].name_len = 5;
    st[1].type = "knows";
    st[1].type_len = 5;
    st[1].text = "bob";
    st[1].text_len = 3;
    st[2].kind = MCP_STORE_STEP_OBS_ADD;
    st[2].name = "alice";
    st[2].name_len = 5;
    st[2].text = "plays chess";
    st[2].text_len = 11;
    st[3].kind = MCP_STORE_STEP_MESSAGE_APPEND;
    st[3].name = "chat";
    st[3].name_len = 4;
    st[3].text = "hello";
    st[3].text_len = 5;
    st[3].role = MCP_STORE_ROLE_USER;
    st[3].ttl = 60;

    memset(op, 0, sizeof(op));

    op[0].kind = MCP_STORE_OP_MEMORY;
    op[0].scope.tenant = "acme";
    op[0].scope.tenant_len = 4;
    op[0].now = 1700000000;
    op[0].steps = st;
    op[0].nitems = 4;

    op[1].kind = MCP_STORE_OP_CONTEXT_EXPIRE;
    op[1].now = 1700000100;
    op[1].max = 10;

    log_entry("memory", op, 2);

    memset(op, 0, sizeof(op));

    op[0].kind = MCP_STORE_OP_SESSION_PUT;
    op[0].code = "s1";
    op[0].code_len = 2;
    op[0].session.protocol = "2025-06-18";
    op[0].session.protocol_len = 10;
    op[0].session.tenant = "acme";
    op[0].session.tenant_len = 4;

    op[1].kind = MCP_STORE_OP_LINK_UPDATE;
    op[1].code = "abc";
    op[1].code_len = 3;
    op[1].set = MCP_STORE_LINK_SET_URL;
    op[1].link.url = "https://example.org/";
    op[1].link.url_len = 20;

    log_entry("sessions", op, 2);
}


int
main(void)
{
    records();
    tokenize();
    index_scripts();
    window_scripts();
    log_entries();

    return 0;
}
