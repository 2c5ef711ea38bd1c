/*
 * Windows of a context: per input, in one write transaction aborted at the
 * end, appends to two contexts (roles, pinned flags, contents made of
 * UTF-8 pieces or raw bytes), stored summaries, and windows of random
 * budgets, shares, capacities and queries.
 *
 * Checks on a window: tokens_used <= max_tokens and equal to the kept
 * messages' tokens plus the summary's; messages in seq order, each the
 * one appended under that seq; every pinned and system message kept;
 * kept plus dropped is the context's count; the summary valid UTF-8, and
 * only with dropped turns.  MCP_STORE_ETOOBIG only when the pinned and
 * system messages do not fit the budget or the capacity.
 */

#include <unistd.h>

#include "fuzz_common.h"

#include "mcp_store_int.h"


#define FUZZ_OPS        64
#define FUZZ_MSGS       256
#define FUZZ_ARENA      (256 * 1024)


typedef struct {
    const char  *content;
    size_t       len;
    unsigned     role;
    unsigned     pinned;
} fuzz_msg_t;


typedef struct {
    const char  *id;
    fuzz_msg_t   msgs[FUZZ_MSGS];
    size_t       n;
} fuzz_ctx_t;



static const mcp_store_scope_t  fuzz_scope = { "t", 1, "w", 1 };

static fuzz_ctx_t             fuzz_ctx[2] = { { "a", { { 0 } }, 0 },
                                              { "b", { { 0 } }, 0 } };
static char                   fuzz_arena[FUZZ_ARENA];
static size_t                 fuzz_used;
static mcp_store_message_t    fuzz_out[FUZZ_MSGS];


/* pieces of text: words, ASCII, sentence ends, multi-byte characters */
static const char  *const fuzz_pieces[] = {
    "alice ", "bob ", "zürich ", "ZÜRICH ", "the ", "and ", "paris ",
    "Москва ", "東京 ", "😀", "é", "Ж", "€", "ß", " ", "  ", ". ", "! ",
    "? ", ".", "\n", "\n\n", "\t", "a", "b", "z", "0", "9", ",", "-",
    "'", "\"", "…", "— ", "\xc2\xa0", "ǅ", "Ω", "ω", "x", "y", "q", "k",
    "remember ", "meeting ", "budget ", "2024 ", "Dr. ", "e.g. ", "http://",
    "/", ":", ";", "(", ")", "[", "]", "#", "*", "ﬁ", "İ", "ı", "\xef\xbb\xbf"
};

#define FUZZ_NPIECES  (sizeof(fuzz_pieces) / sizeof(fuzz_pieces[0]))


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;

    fuzz_store_create("fuzz_window", (size_t) 256 << 20);

    return 0;
}


/*
 * A text: one length byte, then, with its top bit clear, that many pieces
 * chosen by the next bytes (valid UTF-8 always), else that many raw bytes
 * of the input (most of them not UTF-8).  Made in the arena, which lasts
 * the input's run.
 */
static const char *
fuzz_text(fuzz_in_t *in, size_t *len)
{
    uint8_t      b;
    size_t       n, i, plen;
    const char  *raw, *p;
    char        *start;

    b = fuzz_byte(in);
    start = fuzz_arena + fuzz_used;

    if (b & 0x80) {
        raw = fuzz_bytes(in, b & 0x7f, &n);

        if (fuzz_used + n > FUZZ_ARENA) {
            n = 0;
        }

        memcpy(start, raw, n);
        fuzz_used += n;
        *len = n;
        return start;
    }

    n = 0;

    for (i = 0; i < (size_t) b * 2 && fuzz_left(in) > 0; i++) {
        p = fuzz_pieces[fuzz_byte(in) % FUZZ_NPIECES];
        plen = strlen(p);

        if (fuzz_used + n + plen > FUZZ_ARENA) {
            break;
        }

        memcpy(start + n, p, plen);
        n += plen;
    }

    fuzz_used += n;
    *len = n;

    return start;
}


static void
fuzz_window(mcp_store_txn_t *t, fuzz_ctx_t *c, fuzz_in_t *in)
{
    int                  rc;
    size_t               i, j, cap, qlen, must_n;
    uint8_t              b;
    uint64_t             max, sum, must;
    double               share;
    const char          *q;
    const fuzz_msg_t    *m;
    mcp_store_window_t   out;

    b = fuzz_byte(in);

    switch (b & 3) {
    case 0:  max = fuzz_byte(in); break;
    case 1:  max = fuzz_u16(in); break;
    case 2:  max = (uint64_t) fuzz_u16(in) << (fuzz_byte(in) % 48); break;
    default: max = UINT64_MAX - fuzz_byte(in); break;
    }

    share = fuzz_byte(in) / 255.0;
    cap = (b & 4) ? fuzz_byte(in) % (FUZZ_MSGS + 1) : FUZZ_MSGS;
    q = (b & 8) ? fuzz_text(in, &qlen) : NULL;

    if (q == NULL) {
        qlen = 0;
    }

    memset(&out, 0, sizeof(out));
    out.messages = fuzz_out;

    rc = mcp_store_context_window(t, &fuzz_scope, c->id, 1, max, q, qlen,
                                  share, &out, cap);

    /* what the pinned and system messages need */
    must = 0;
    must_n = 0;

    for (i = 0; i < c->n; i++) {
        if (c->msgs[i].pinned || c->msgs[i].role == MCP_STORE_ROLE_SYSTEM) {
            must += mcp_store_tokens(c->msgs[i].len);
            must_n++;
        }
    }

    if (rc == MCP_STORE_ETOOBIG) {
        FUZZ_CHECK(must > max || must_n > cap);
        return;
    }

    FUZZ_CHECK(rc == MCP_STORE_OK);
    FUZZ_CHECK(out.tokens_used <= max);
    FUZZ_CHECK(out.nmessages <= cap);
    FUZZ_CHECK(out.nmessages + out.dropped == c->n);
    FUZZ_CHECK(out.summary_at <= out.nmessages);

    sum = 0;
    j = 0;

    for (i = 0; i < out.nmessages; i++) {
        FUZZ_CHECK(out.messages[i].seq >= 1 && out.messages[i].seq <= c->n);
        FUZZ_CHECK(i == 0 || out.messages[i - 1].seq < out.messages[i].seq);

        m = &c->msgs[out.messages[i].seq - 1];

        FUZZ_CHECK(out.messages[i].content_len == m->len
                   && memcmp(out.messages[i].content, m->content, m->len)
                      == 0);
        FUZZ_CHECK(out.messages[i].role == m->role
                   && out.messages[i].pinned == m->pinned);
        FUZZ_CHECK(out.messages[i].tokens == mcp_store_tokens(m->len));

        sum += out.messages[i].tokens;
    }

    FUZZ_CHECK(out.tokens_used == sum + out.summary_tokens);

    /* every pinned and system message is there */
    for (i = 0; i < c->n; i++) {
        if (!(c->msgs[i].pinned || c->msgs[i].role == MCP_STORE_ROLE_SYSTEM)) {
            continue;
        }

        while (j < out.nmessages && out.messages[j].seq < i + 1) {
            j++;
        }

        FUZZ_CHECK(j < out.nmessages && out.messages[j].seq == i + 1);
    }

    if (out.summary != NULL) {
        FUZZ_CHECK(out.dropped > 0);
        FUZZ_CHECK(out.summary_len > 0 && out.summary_tokens > 0);
        FUZZ_CHECK(fuzz_utf8_valid(out.summary, out.summary_len));

    } else {
        FUZZ_CHECK(out.summary_len == 0 && out.summary_tokens == 0);
    }

    if (out.dropped == 0) {
        FUZZ_CHECK(out.summary == NULL);
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                    rc;
    size_t                 nops, len;
    uint8_t                op, b;
    uint64_t               from, upto;
    fuzz_in_t              in;
    fuzz_ctx_t            *c;
    const char            *text;
    mcp_store_txn_t       *t;
    mcp_store_message_t    msg;

    in.pos = data;
    in.end = data + size;
    fuzz_used = 0;
    fuzz_ctx[0].n = 0;
    fuzz_ctx[1].n = 0;

    FUZZ_CHECK(mcp_store_txn_begin(fuzz_store, 0, &t) == MCP_STORE_OK);

    for (nops = 0; nops < FUZZ_OPS && fuzz_left(&in) > 0; nops++) {
        op = fuzz_byte(&in);
        c = &fuzz_ctx[(op >> 7) & 1];

        switch (op % 5) {

        case 0:                         /* append */
        case 1:
        case 2:
            b = fuzz_byte(&in);
            text = fuzz_text(&in, &len);

            memset(&msg, 0, sizeof(msg));
            msg.role = b % 5;           /* 4: not a role */
            msg.pinned = (b >> 3) & 1;
            msg.content = text;
            msg.content_len = len;

            if (c->n == FUZZ_MSGS) {
                break;
            }

            rc = mcp_store_message_append(t, &fuzz_scope, c->id, 1, &msg, 1,
                                          0, NULL);

            if (msg.role > MCP_STORE_ROLE_TOOL
                || !fuzz_utf8_valid(text, len))
            {
                FUZZ_CHECK(rc == MCP_STORE_EINVAL);
                break;
            }

            FUZZ_CHECK(rc == MCP_STORE_OK);
            FUZZ_CHECK(msg.seq == c->n + 1);
            FUZZ_CHECK(msg.tokens == mcp_store_tokens(len));

            c->msgs[c->n].content = text;
            c->msgs[c->n].len = len;
            c->msgs[c->n].role = msg.role;
            c->msgs[c->n].pinned = msg.pinned;
            c->n++;
            break;

        case 3:                         /* a stored summary */
            text = fuzz_text(&in, &len);
            from = fuzz_byte(&in) % 8;
            upto = from + fuzz_byte(&in) % 8;

            rc = mcp_store_context_summary(t, &fuzz_scope, c->id, 1, text,
                                           len, from, upto);

            FUZZ_CHECK(rc == MCP_STORE_OK || rc == MCP_STORE_EINVAL
                       || rc == MCP_STORE_NOTFOUND);
            FUZZ_CHECK(rc != MCP_STORE_NOTFOUND || c->n == 0);
            FUZZ_CHECK(fuzz_utf8_valid(text, len) || rc != MCP_STORE_OK);
            break;

        case 4:                         /* a window */
            fuzz_window(t, c, &in);
            break;
        }
    }

    /* and one of each context at the end */

    fuzz_window(t, &fuzz_ctx[0], &in);
    fuzz_window(t, &fuzz_ctx[1], &in);

    mcp_store_txn_abort(t);

    return 0;
}
