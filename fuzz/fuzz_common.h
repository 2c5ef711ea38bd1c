/*
 * What the fuzz harnesses share: a reader that splits the fuzzer's bytes
 * into small integers and strings, a UTF-8 checker written apart from the
 * store's own, and a check that aborts with a message (libFuzzer reports
 * an abort as a crash and keeps the input).
 */

#ifndef _FUZZ_COMMON_H_INCLUDED_
#define _FUZZ_COMMON_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcp_store.h"


#define FUZZ_CHECK(cond)                                                      \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,  \
                    #cond);                                                   \
            abort();                                                          \
        }                                                                     \
    } while (0)


typedef struct {
    const uint8_t  *pos;
    const uint8_t  *end;
} fuzz_in_t;


static inline size_t
fuzz_left(const fuzz_in_t *in)
{
    return (size_t) (in->end - in->pos);
}


/* one byte, 0 once the input is used up */
static inline uint8_t
fuzz_byte(fuzz_in_t *in)
{
    return (in->pos < in->end) ? *in->pos++ : 0;
}


static inline uint16_t
fuzz_u16(fuzz_in_t *in)
{
    uint16_t  v;

    v = fuzz_byte(in);
    return (uint16_t) ((v << 8) | fuzz_byte(in));
}


/* up to max bytes, as many as the input has left; points into it */
static inline const char *
fuzz_bytes(fuzz_in_t *in, size_t want, size_t *len)
{
    const char  *p;

    if (want > fuzz_left(in)) {
        want = fuzz_left(in);
    }

    p = (const char *) in->pos;
    in->pos += want;
    *len = want;

    return p;
}


/* a string of a length read first (one byte: 0 to 255) */
static inline const char *
fuzz_str8(fuzz_in_t *in, size_t *len)
{
    return fuzz_bytes(in, fuzz_byte(in), len);
}


/* RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF */
static inline int
fuzz_utf8_valid(const char *s, size_t len)
{
    const unsigned char  *p = (const unsigned char *) s;
    size_t                i, n, k;
    uint32_t              c;

    for (i = 0; i < len; i += n) {
        c = p[i];

        if (c < 0x80) {
            n = 1;
            continue;
        }

        if ((c & 0xe0) == 0xc0) {
            n = 2;
            c &= 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 3;
            c &= 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 4;
            c &= 0x07;
        } else {
            return 0;
        }

        if (len - i < n) {
            return 0;
        }

        for (k = 1; k < n; k++) {
            if ((p[i + k] & 0xc0) != 0x80) {
                return 0;
            }
            c = (c << 6) | (p[i + k] & 0x3f);
        }

        if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800)
            || (n == 4 && c < 0x10000) || c > 0x10ffff
            || (c >= 0xd800 && c <= 0xdfff))
        {
            return 0;
        }
    }

    return 1;
}


/* does [p, p + len) lie inside [base, base + size)? */
static inline int
fuzz_inside(const void *p, size_t len, const void *base, size_t size)
{
    uintptr_t  a = (uintptr_t) p, b = (uintptr_t) base;

    return a >= b && len <= size && a - b <= size - len;
}



/*
 * The harnesses that need a store open one per process in a new
 * directory under $TMPDIR (or /tmp), removed at exit.
 */

static mcp_store_t  *fuzz_store;
static char          fuzz_dir[1024];


static inline void
fuzz_store_remove(void)
{
    char  path[sizeof(fuzz_dir) + 16];

    mcp_store_close(fuzz_store);
    fuzz_store = NULL;

    snprintf(path, sizeof(path), "%s/data.mdb", fuzz_dir);
    (void) unlink(path);
    snprintf(path, sizeof(path), "%s/lock.mdb", fuzz_dir);
    (void) unlink(path);
    (void) rmdir(fuzz_dir);
}


static inline void
fuzz_store_create(const char *name, size_t map_size)
{
    char         err[256];
    const char  *tmp;

    tmp = getenv("TMPDIR");
    snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/%s.XXXXXX",
             (tmp != NULL && tmp[0] != '\0') ? tmp : "/tmp", name);
    FUZZ_CHECK(mkdtemp(fuzz_dir) != NULL);

    if (mcp_store_open(&fuzz_store, fuzz_dir, map_size, MCP_STORE_NOSYNC,
                       err, sizeof(err))
        != MCP_STORE_OK)
    {
        fprintf(stderr, "%s: %s\n", name, err);
        abort();
    }

    atexit(fuzz_store_remove);
}


#endif /* _FUZZ_COMMON_H_INCLUDED_ */
