
/*
 * ngx_mcp: a JSON writer into memory of a pool, for replies.
 *
 * jansson still parses what clients send; replies are written here,
 * straight into the buffer that is sent, without a json_t tree to build,
 * copy and free through malloc.  The output is byte for byte what
 * jansson's json_dumpb(..., JSON_COMPACT) writes for the same value: no
 * spaces, members in the order written, strings escaped as jansson does
 * (the two-character escapes of '"', '\\', \b, \f, \n, \r and \t, other
 * control characters as \u00XX with capital hex digits, everything else,
 * UTF-8 included, as it is), integers in decimal.  A string that is not
 * valid UTF-8 fails the writer, as json_stringn() refuses it.
 *
 * The calls do not return errors: a writer that failed (out of memory,
 * invalid UTF-8) ignores what comes after, and ngx_http_mcp_jw_buf()
 * reports it once at the end.
 */


#ifndef _NGX_HTTP_MCP_JSON_H_INCLUDED_
#define _NGX_HTTP_MCP_JSON_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include <jansson.h>


/* the first buffer of a reply: most replies fit */
#define NGX_HTTP_MCP_JW_SIZE              2048


typedef struct {
    ngx_pool_t                *pool;
    u_char                    *start;
    u_char                    *last;          /* where the next byte goes */
    u_char                    *end;
    unsigned                   failed:1;
} ngx_http_mcp_jw_t;


/*
 * jansson's allocator (ngx_http_mcp_json_alloc.c): init installs it and
 * caches small blocks on the calling thread (a worker's event loop, from
 * init_process); exit gives them back (exit_process).
 */
void ngx_http_mcp_json_alloc_init(void);
void ngx_http_mcp_json_alloc_exit(void);


/* a writer with size bytes to start with (it grows as needed) */
ngx_int_t ngx_http_mcp_jw_init(ngx_http_mcp_jw_t *w, ngx_pool_t *pool,
    size_t size);

/*
 * len bytes as they are: punctuation, member names written as literals.
 * Inline, so that a literal is a copy of a constant size where there is
 * room (a failed writer may go on writing there: what it wrote is not
 * used).
 */
void ngx_http_mcp_jw_append(ngx_http_mcp_jw_t *w, const void *data,
    size_t len);

static ngx_inline void
ngx_http_mcp_jw_raw(ngx_http_mcp_jw_t *w, const void *data, size_t len)
{
    if ((size_t) (w->end - w->last) >= len) {
        w->last = ngx_cpymem(w->last, data, len);
        return;
    }

    ngx_http_mcp_jw_append(w, data, len);
}

#define ngx_http_mcp_jw_lit(w, s)                                             \
    ngx_http_mcp_jw_raw(w, s, sizeof(s) - 1)

/* a JSON string of len bytes (quoted, escaped) */
void ngx_http_mcp_jw_str(ngx_http_mcp_jw_t *w, const u_char *data,
    size_t len);

/* the characters of a JSON string, without its quotes */
void ngx_http_mcp_jw_escape(ngx_http_mcp_jw_t *w, const u_char *data,
    size_t len);

void ngx_http_mcp_jw_int(ngx_http_mcp_jw_t *w, int64_t n);

/* any jansson value, as json_dumpb() with JSON_COMPACT writes it */
void ngx_http_mcp_jw_value(ngx_http_mcp_jw_t *w, json_t *json);

/*
 * What was written, as a buffer of the pool (b->pos to b->last) with one
 * byte of room after it; NULL if the writer failed.
 */
ngx_buf_t *ngx_http_mcp_jw_buf(ngx_http_mcp_jw_t *w);


/*
 * The length of the valid UTF-8 sequence at p (2 to 4 bytes), or 0 (for
 * ASCII too: callers take those bytes themselves).  Valid as RFC 3629
 * says, which is also what jansson's utf8_check_first() and
 * utf8_check_full() accept, and so json_stringn(): no overlong forms, no
 * surrogates, nothing above U+10FFFF.  The one check of both the JSON
 * writer (ngx_http_mcp_jw_escape(), which fails on 0) and
 * ngx_http_mcp_utf8_clean().  Inline: with a call in it, the writer's
 * loop keeps its constants in fewer registers and reloads them for every
 * eight bytes, although nearly every string it writes is ASCII.
 */

static ngx_inline size_t
ngx_http_mcp_utf8_len(const u_char *p, const u_char *end)
{
    size_t  n, i;
    u_char  c, lo, hi;

    c = *p;
    lo = 0x80;
    hi = 0xbf;

    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;

    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        lo = (c == 0xe0) ? 0xa0 : 0x80;
        hi = (c == 0xed) ? 0x9f : 0xbf;

    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        lo = (c == 0xf0) ? 0x90 : 0x80;
        hi = (c == 0xf4) ? 0x8f : 0xbf;

    } else {
        return 0;
    }

    if ((size_t) (end - p) < n) {
        return 0;
    }

    /* the first continuation byte has the narrower range */

    for (i = 1; i < n; i++) {
        if (p[i] < lo || p[i] > hi) {
            return 0;
        }

        lo = 0x80;
        hi = 0xbf;
    }

    return n;
}


#endif /* _NGX_HTTP_MCP_JSON_H_INCLUDED_ */
