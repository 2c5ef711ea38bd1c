
/*
 * ngx_mcp: jansson's allocator, with a cache of small blocks for the
 * worker's event loop.
 *
 * jansson allocates every node, key and string of a parsed request
 * through malloc and frees them one by one when the request ends: some
 * forty small blocks a call, the same sizes request after request.  Here
 * the blocks a worker's event loop frees are kept on lists by size and
 * handed out again, so that most of those calls never reach malloc.
 *
 * Why it is safe wherever jansson runs:
 *
 *  - a block is always a block of malloc, with no header of ours: its
 *    size is asked of malloc_usable_size(), so a block that jansson
 *    allocated before these functions were installed (the tool catalog,
 *    parsed at configuration) or on another thread is freed correctly;
 *  - json_set_alloc_funcs() is process-global, but only the thread that
 *    runs the worker's event loop (the owner, from init_process) uses the
 *    cache: the master, the thread pool's tasks and the cluster client's
 *    threads call malloc and free as before, so no other thread ever
 *    touches the lists (the owner is told by pthread_self(), a register
 *    read: cheaper than a __thread variable of a module, which costs a
 *    call of __tls_get_addr each time);
 *  - exit_process empties the lists (and stops caching) before the
 *    worker's last frees.
 *
 * At most NGX_HTTP_MCP_JA_KEEP blocks of each of the sixteen sizes (up to
 * 256 bytes) are kept: about 300 KiB a worker at worst.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include <malloc.h>
#include <pthread.h>

#include "ngx_http_mcp_json.h"


#define NGX_HTTP_MCP_JA_UNIT      16
#define NGX_HTTP_MCP_JA_CLASSES   16          /* blocks up to 256 bytes */
#define NGX_HTTP_MCP_JA_KEEP      64

#if defined(__SANITIZE_ADDRESS__)
#define NGX_HTTP_MCP_JA_SANITIZED  1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NGX_HTTP_MCP_JA_SANITIZED  1
#endif
#endif
#ifndef NGX_HTTP_MCP_JA_SANITIZED
#define NGX_HTTP_MCP_JA_SANITIZED  0
#endif


typedef struct ngx_http_mcp_ja_block_s  ngx_http_mcp_ja_block_t;

struct ngx_http_mcp_ja_block_s {
    ngx_http_mcp_ja_block_t   *next;
};


typedef struct {
    ngx_http_mcp_ja_block_t   *free[NGX_HTTP_MCP_JA_CLASSES + 1];
    ngx_uint_t                 count[NGX_HTTP_MCP_JA_CLASSES + 1];
    pthread_t                  owner;
    ngx_uint_t                 on;
} ngx_http_mcp_ja_cache_t;


static void *ngx_http_mcp_ja_malloc(size_t size);
static void ngx_http_mcp_ja_free(void *p);


static ngx_http_mcp_ja_cache_t  ngx_http_mcp_ja_cache;


/* whether the calling thread may use the cache */
#define ngx_http_mcp_ja_mine()                                                \
    (ngx_http_mcp_ja_cache.on                                                 \
     && pthread_equal(pthread_self(), ngx_http_mcp_ja_cache.owner))


/*
 * Installs the allocator and turns the cache on for the calling thread.
 * Called from init_process, on the thread of the event loop.
 */

void
ngx_http_mcp_json_alloc_init(void)
{
#if (NGX_HTTP_MCP_JA_SANITIZED)
    /*
     * Under AddressSanitizer the blocks go back to malloc: a block kept
     * here would count as in use, and a use after free of a jansson node
     * would go unreported.
     */
    return;
#endif

    json_set_alloc_funcs(ngx_http_mcp_ja_malloc, ngx_http_mcp_ja_free);

    ngx_http_mcp_ja_cache.owner = pthread_self();
    ngx_http_mcp_ja_cache.on = 1;
}


/*
 * Turns the calling thread's cache off and returns its blocks to malloc;
 * jansson's later frees go straight to free().
 */

void
ngx_http_mcp_json_alloc_exit(void)
{
    ngx_uint_t                c;
    ngx_http_mcp_ja_block_t  *b;

    ngx_http_mcp_ja_cache.on = 0;

    for (c = 1; c <= NGX_HTTP_MCP_JA_CLASSES; c++) {

        while (ngx_http_mcp_ja_cache.free[c] != NULL) {
            b = ngx_http_mcp_ja_cache.free[c];
            ngx_http_mcp_ja_cache.free[c] = b->next;
            free(b);
        }

        ngx_http_mcp_ja_cache.count[c] = 0;
    }
}


/*
 * A request of size bytes is served from class (size + 15) / 16: a block
 * of at least that many units.
 */

static void *
ngx_http_mcp_ja_malloc(size_t size)
{
    size_t                    c;
    ngx_http_mcp_ja_block_t  *b;

    c = (size + NGX_HTTP_MCP_JA_UNIT - 1) / NGX_HTTP_MCP_JA_UNIT;

    if (c == 0 || c > NGX_HTTP_MCP_JA_CLASSES || !ngx_http_mcp_ja_mine()) {
        return malloc(size);
    }

    b = ngx_http_mcp_ja_cache.free[c];

    if (b == NULL) {
        return malloc(c * NGX_HTTP_MCP_JA_UNIT);
    }

    ngx_http_mcp_ja_cache.free[c] = b->next;
    ngx_http_mcp_ja_cache.count[c]--;

    return b;
}


/*
 * A block is kept in the class of the units it holds (rounded down), so
 * that any request of that class fits it, wherever it came from.
 */

static void
ngx_http_mcp_ja_free(void *p)
{
    size_t                    c;
    ngx_http_mcp_ja_block_t  *b;

    if (p == NULL) {
        return;
    }

    if (!ngx_http_mcp_ja_mine()) {
        free(p);
        return;
    }

    c = malloc_usable_size(p) / NGX_HTTP_MCP_JA_UNIT;

    if (c == 0 || c > NGX_HTTP_MCP_JA_CLASSES
        || ngx_http_mcp_ja_cache.count[c] >= NGX_HTTP_MCP_JA_KEEP)
    {
        free(p);
        return;
    }

    b = p;
    b->next = ngx_http_mcp_ja_cache.free[c];
    ngx_http_mcp_ja_cache.free[c] = b;
    ngx_http_mcp_ja_cache.count[c]++;
}
