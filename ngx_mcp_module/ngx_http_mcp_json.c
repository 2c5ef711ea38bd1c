
/*
 * ngx_mcp: the JSON writer of replies (see ngx_http_mcp_json.h).
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_mcp_json.h"


static u_char *ngx_http_mcp_jw_reserve(ngx_http_mcp_jw_t *w, size_t n);


/*
 * Whether any of the eight bytes of v is not plain: below 0x20, 0x80 or
 * above, '"' or '\\' (the zero-byte tests of "Bit Twiddling Hacks": exact
 * as to whether there is one, not as to where).
 */

#define NGX_HTTP_MCP_JSON_ONES    0x0101010101010101ULL
#define NGX_HTTP_MCP_JSON_HIGHS   0x8080808080808080ULL
#define ngx_http_mcp_json_zero(v)                                             \
    (((v) - NGX_HTTP_MCP_JSON_ONES) & ~(v) & NGX_HTTP_MCP_JSON_HIGHS)
#define ngx_http_mcp_json_special(v)                                          \
    ((((v) - 0x20 * NGX_HTTP_MCP_JSON_ONES) & ~(v) & NGX_HTTP_MCP_JSON_HIGHS) \
     | ((v) & NGX_HTTP_MCP_JSON_HIGHS)                                        \
     | ngx_http_mcp_json_zero((v) ^ ('"' * NGX_HTTP_MCP_JSON_ONES))           \
     | ngx_http_mcp_json_zero((v) ^ ('\\' * NGX_HTTP_MCP_JSON_ONES)))


/*
 * The bytes a JSON string holds as they are, 1: printable ASCII but '"'
 * and '\\'.  A run of them is copied at once; the others are escaped, or
 * begin a UTF-8 sequence to check.
 */

static const u_char  ngx_http_mcp_json_plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* 00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* 10 */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  /* 20 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  /* 30 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  /* 40 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,  /* 50 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  /* 60 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  /* 70 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* 80 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* 90 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* a0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* b0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* c0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* d0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* e0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* f0 */
};


ngx_int_t
ngx_http_mcp_jw_init(ngx_http_mcp_jw_t *w, ngx_pool_t *pool, size_t size)
{
    w->pool = pool;
    w->failed = 0;

    w->start = ngx_pnalloc(pool, size);
    if (w->start == NULL) {
        return NGX_ERROR;
    }

    w->last = w->start;
    w->end = w->start + size;

    return NGX_OK;
}


/*
 * Room for n more bytes: where they go, or NULL once the writer failed.
 * A full buffer is replaced by one twice as large (or large enough), and
 * the old one is left to the pool (ngx_pfree() releases it when large).
 */

static u_char *
ngx_http_mcp_jw_reserve(ngx_http_mcp_jw_t *w, size_t n)
{
    size_t   used, size;
    u_char  *p;

    if (w->failed) {
        return NULL;
    }

    if ((size_t) (w->end - w->last) >= n) {
        return w->last;
    }

    used = w->last - w->start;
    size = ngx_max(2 * (size_t) (w->end - w->start), used + n);

    p = ngx_pnalloc(w->pool, size);
    if (p == NULL) {
        w->failed = 1;
        return NULL;
    }

    ngx_memcpy(p, w->start, used);
    (void) ngx_pfree(w->pool, w->start);

    w->start = p;
    w->last = p + used;
    w->end = p + size;

    return w->last;
}


/* ngx_http_mcp_jw_raw() where the buffer is full */

void
ngx_http_mcp_jw_append(ngx_http_mcp_jw_t *w, const void *data, size_t len)
{
    u_char  *p;

    p = ngx_http_mcp_jw_reserve(w, len);
    if (p == NULL) {
        return;
    }

    w->last = ngx_cpymem(p, data, len);
}


void
ngx_http_mcp_jw_str(ngx_http_mcp_jw_t *w, const u_char *data, size_t len)
{
    ngx_http_mcp_jw_lit(w, "\"");
    ngx_http_mcp_jw_escape(w, data, len);
    ngx_http_mcp_jw_lit(w, "\"");
}


void
ngx_http_mcp_jw_escape(ngx_http_mcp_jw_t *w, const u_char *data, size_t len)
{
    size_t         n;
    u_char        *p;
    uint64_t       v;
    const u_char  *s, *run, *end;

    static const u_char  hex[] = "0123456789ABCDEF";

    end = data + len;
    s = data;

    while (s < end) {

        /* a run of bytes written as they are, copied at once */

        run = s;

        for ( ;; ) {

            /* eight bytes at a time while none of them needs a look */

            while (end - s >= 8) {
                ngx_memcpy(&v, s, 8);

                if (ngx_http_mcp_json_special(v)) {
                    break;
                }

                s += 8;
            }

            while (s < end && ngx_http_mcp_json_plain[*s]) {
                s++;
            }

            if (s == end || *s < 0x80) {
                break;
            }

            n = ngx_http_mcp_utf8_len(s, end);
            if (n == 0) {
                w->failed = 1;
                return;
            }

            s += n;
        }

        ngx_http_mcp_jw_raw(w, run, s - run);

        if (s == end) {
            break;
        }

        p = ngx_http_mcp_jw_reserve(w, 6);
        if (p == NULL) {
            return;
        }

        *p++ = '\\';

        switch (*s) {
        case '"':  *p++ = '"'; break;
        case '\\': *p++ = '\\'; break;
        case '\b': *p++ = 'b'; break;
        case '\f': *p++ = 'f'; break;
        case '\n': *p++ = 'n'; break;
        case '\r': *p++ = 'r'; break;
        case '\t': *p++ = 't'; break;
        default:
            *p++ = 'u';
            *p++ = '0';
            *p++ = '0';
            *p++ = hex[*s >> 4];
            *p++ = hex[*s & 0xf];
        }

        w->last = p;
        s++;
    }
}


void
ngx_http_mcp_jw_int(ngx_http_mcp_jw_t *w, int64_t n)
{
    u_char  *p;

    p = ngx_http_mcp_jw_reserve(w, NGX_INT64_LEN);
    if (p == NULL) {
        return;
    }

    w->last = ngx_sprintf(p, "%L", n);
}


void
ngx_http_mcp_jw_value(ngx_http_mcp_jw_t *w, json_t *json)
{
    char     buf[64];
    void    *it;
    size_t   i, n, size;

    switch (json_typeof(json)) {

    case JSON_OBJECT:
        ngx_http_mcp_jw_lit(w, "{");

        i = 0;

        for (it = json_object_iter(json); it;
             it = json_object_iter_next(json, it))
        {
            if (i++) {
                ngx_http_mcp_jw_lit(w, ",");
            }

            ngx_http_mcp_jw_str(w, (u_char *) json_object_iter_key(it),
                                json_object_iter_key_len(it));
            ngx_http_mcp_jw_lit(w, ":");
            ngx_http_mcp_jw_value(w, json_object_iter_value(it));
        }

        ngx_http_mcp_jw_lit(w, "}");
        return;

    case JSON_ARRAY:
        ngx_http_mcp_jw_lit(w, "[");

        size = json_array_size(json);

        for (i = 0; i < size; i++) {
            if (i) {
                ngx_http_mcp_jw_lit(w, ",");
            }

            ngx_http_mcp_jw_value(w, json_array_get(json, i));
        }

        ngx_http_mcp_jw_lit(w, "]");
        return;

    case JSON_STRING:
        ngx_http_mcp_jw_str(w, (u_char *) json_string_value(json),
                            json_string_length(json));
        return;

    case JSON_INTEGER:
        ngx_http_mcp_jw_int(w, json_integer_value(json));
        return;

    case JSON_REAL:

        /* rare in replies: jansson's own formatting, to the byte */

        n = json_dumpb(json, buf, sizeof(buf), JSON_COMPACT | JSON_ENCODE_ANY);
        if (n == 0 || n > sizeof(buf)) {
            w->failed = 1;
            return;
        }

        ngx_http_mcp_jw_raw(w, buf, n);
        return;

    case JSON_TRUE:
        ngx_http_mcp_jw_lit(w, "true");
        return;

    case JSON_FALSE:
        ngx_http_mcp_jw_lit(w, "false");
        return;

    default: /* JSON_NULL */
        ngx_http_mcp_jw_lit(w, "null");
        return;
    }
}


ngx_buf_t *
ngx_http_mcp_jw_buf(ngx_http_mcp_jw_t *w)
{
    ngx_buf_t  *b;

    if (ngx_http_mcp_jw_reserve(w, 1) == NULL) {
        return NULL;
    }

    b = ngx_calloc_buf(w->pool);
    if (b == NULL) {
        return NULL;
    }

    b->start = w->start;
    b->pos = w->start;
    b->last = w->last;
    b->end = w->end;
    b->temporary = 1;

    return b;
}
