/*
 * Arbitrary bytes through mcp_store_tokenize() and mcp_store_tokens_of().
 *
 * Checks, for every token: 1 to 64 bytes; valid UTF-8 always (tokens are
 * made of whole characters, re-encoded, whatever the input); no NUL, no
 * ASCII other than lower-case letters and digits (the index's keys rely on
 * a NUL ending a token); no stop word unless asked for.  The count
 * returned is the number of callbacks; a callback returning non-zero stops
 * the walk at once.  Tokens are a fixed point: the tokens of the tokens
 * joined by spaces are the same tokens.  The tokens of valid UTF-8 input
 * are, character for character, taken from it (folded): the characters of
 * the input are cut between, never inside.
 */

#include "fuzz_common.h"

#include "mcp_store_int.h"


#define FUZZ_TOKEN_MAX   64
#define FUZZ_TOKENS_MAX  4096


typedef struct {
    size_t   n;
    size_t   stop_after;       /* 0: never */
    size_t   bytes;
    char     buf[FUZZ_TOKENS_MAX * (FUZZ_TOKEN_MAX + 1)];
    size_t   off[FUZZ_TOKENS_MAX];
    size_t   len[FUZZ_TOKENS_MAX];
} fuzz_tokens_t;


static const char  *const fuzz_stop[] = {
    "a", "an", "as", "at", "be", "by", "he", "in", "is", "it", "of", "on",
    "or", "to", "and", "are", "for", "has", "its", "the", "was", "from",
    "that", "were", "will", "with"
};


static int
fuzz_is_stop(const char *t, size_t len)
{
    size_t  i;

    for (i = 0; i < sizeof(fuzz_stop) / sizeof(fuzz_stop[0]); i++) {
        if (strlen(fuzz_stop[i]) == len && memcmp(fuzz_stop[i], t, len) == 0) {
            return 1;
        }
    }

    return 0;
}


static int
fuzz_token(void *data, const char *token, size_t len)
{
    fuzz_tokens_t  *ts = data;
    size_t          i;
    unsigned char   c;

    FUZZ_CHECK(len >= 1 && len <= FUZZ_TOKEN_MAX);
    FUZZ_CHECK(fuzz_utf8_valid(token, len));

    for (i = 0; i < len; i++) {
        c = (unsigned char) token[i];

        FUZZ_CHECK(c >= 0x80 || (c >= 'a' && c <= 'z')
                   || (c >= '0' && c <= '9'));
    }

    FUZZ_CHECK(ts->stop_after == 0 || ts->n < ts->stop_after);

    if (ts->n < FUZZ_TOKENS_MAX) {
        ts->off[ts->n] = ts->bytes;
        ts->len[ts->n] = len;
        memcpy(ts->buf + ts->bytes, token, len);
        ts->bytes += len;
        ts->buf[ts->bytes++] = ' ';
    }

    ts->n++;

    return ts->stop_after != 0 && ts->n == ts->stop_after;
}


static size_t
fuzz_run(fuzz_tokens_t *ts, const char *text, size_t len, int all,
    size_t stop_after)
{
    size_t  n;

    ts->n = 0;
    ts->bytes = 0;
    ts->stop_after = stop_after;

    if (all < 0) {
        n = mcp_store_tokenize(text, len, fuzz_token, ts);
    } else {
        n = mcp_store_tokens_of(text, len, all, fuzz_token, ts);
    }

    FUZZ_CHECK(n == ts->n);

    return n;
}


/* decodes one character of valid UTF-8: its length, the code point in *cp */
static size_t
fuzz_char(const char *s, uint32_t *cp)
{
    const unsigned char  *p = (const unsigned char *) s;

    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }

    if (p[0] < 0xe0) {
        *cp = ((uint32_t) (p[0] & 0x1f) << 6) | (p[1] & 0x3f);
        return 2;
    }

    if (p[0] < 0xf0) {
        *cp = ((uint32_t) (p[0] & 0x0f) << 12)
              | ((uint32_t) (p[1] & 0x3f) << 6) | (p[2] & 0x3f);
        return 3;
    }

    *cp = ((uint32_t) (p[0] & 0x07) << 18) | ((uint32_t) (p[1] & 0x3f) << 12)
          | ((uint32_t) (p[2] & 0x3f) << 6) | (p[3] & 0x3f);
    return 4;
}


static int
fuzz_cp_cmp(const void *a, const void *b)
{
    uint32_t  x = *(const uint32_t *) a, y = *(const uint32_t *) b;

    return (x > y) - (x < y);
}


static uint32_t  fuzz_cps[65536];
static size_t    fuzz_ncps;


static int
fuzz_has_cp(uint32_t cp)
{
    return bsearch(&cp, fuzz_cps, fuzz_ncps, sizeof(uint32_t), fuzz_cp_cmp)
           != NULL;
}


/*
 * The characters of valid UTF-8 text, sorted, so that every character of
 * a token can be looked up among them: a token's character is one of the
 * text's, or the lower case of one (the tokenizer folds ASCII, Latin-1,
 * Latin Extended-A, Greek and Cyrillic capitals: 0x20, 0x50 or 1 below,
 * and U+0178 for U+00FF).  A piece of a character cut in two would be
 * neither.
 */
static void
fuzz_text_cps(const char *text, size_t len)
{
    size_t  i;

    fuzz_ncps = 0;

    for (i = 0; i < len && fuzz_ncps < sizeof(fuzz_cps) / sizeof(uint32_t); )
    {
        i += fuzz_char(text + i, &fuzz_cps[fuzz_ncps++]);
    }

    qsort(fuzz_cps, fuzz_ncps, sizeof(uint32_t), fuzz_cp_cmp);
}


static void
fuzz_from_text(const char *tok, size_t len)
{
    size_t    i;
    uint32_t  cp;

    for (i = 0; i < len; ) {
        i += fuzz_char(tok + i, &cp);
        FUZZ_CHECK(i <= len);

        FUZZ_CHECK(fuzz_has_cp(cp) || (cp >= 0x20 && fuzz_has_cp(cp - 0x20))
                   || (cp >= 0x50 && fuzz_has_cp(cp - 0x50))
                   || fuzz_has_cp(cp - 1)
                   || (cp == 0xff && fuzz_has_cp(0x178)));
    }
}


static fuzz_tokens_t  fuzz_a, fuzz_b, fuzz_c;


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char  *text = (const char *) data;
    size_t       n, nall, nstop, i;

    nall = fuzz_run(&fuzz_a, text, size, 1, 0);
    n = fuzz_run(&fuzz_b, text, size, -1, 0);

    FUZZ_CHECK(n <= nall);
    FUZZ_CHECK(fuzz_run(&fuzz_c, text, size, 0, 0) == n);

    /* tokenize leaves the stop words out, and only those */
    for (i = 0; i < fuzz_b.n && i < FUZZ_TOKENS_MAX; i++) {
        FUZZ_CHECK(!fuzz_is_stop(fuzz_b.buf + fuzz_b.off[i], fuzz_b.len[i]));
    }

    nstop = 0;
    for (i = 0; i < fuzz_a.n && i < FUZZ_TOKENS_MAX; i++) {
        nstop += fuzz_is_stop(fuzz_a.buf + fuzz_a.off[i], fuzz_a.len[i]);
    }

    if (nall <= FUZZ_TOKENS_MAX) {
        FUZZ_CHECK(nall - nstop == n);
    }

    /* stopping early */
    if (nall > 1) {
        FUZZ_CHECK(fuzz_run(&fuzz_c, text, size, 1, nall / 2) == nall / 2);
    }

    if (nall > FUZZ_TOKENS_MAX) {
        return 0;
    }

    if (fuzz_utf8_valid(text, size)) {
        fuzz_text_cps(text, size);

        for (i = 0; i < nall; i++) {
            fuzz_from_text(fuzz_a.buf + fuzz_a.off[i], fuzz_a.len[i]);
        }
    }

    /* a fixed point: the tokens of the tokens are the tokens */
    FUZZ_CHECK(fuzz_run(&fuzz_c, fuzz_a.buf, fuzz_a.bytes, 1, 0) == nall);
    FUZZ_CHECK(fuzz_c.bytes == fuzz_a.bytes
               && memcmp(fuzz_c.buf, fuzz_a.buf, fuzz_a.bytes) == 0);

    return 0;
}
