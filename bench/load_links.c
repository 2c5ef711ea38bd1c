/*
 * load_links: bulk-loads N links into a store through the store library
 * (store/mcp_store.h), for the large-store benchmark.
 *
 *     load_links DIR N SAMPLE_FILE [SAMPLES]
 *
 * Each link gets a random 7-character code (a fast PRNG: the codes are
 * spread over the key space as random codes are, without a getrandom()
 * call each) and a URL of about 40 bytes,
 * "https://www.example.com/articles/NNNNNNNNNN".  Links are put one
 * write transaction each (mcp_store_link_put(), the store's public API)
 * with MCP_STORE_NOSYNC, and flushed once at the end.  SAMPLES codes
 * (default 100000), evenly spread over the load order, are written to
 * SAMPLE_FILE, one a line, for the load generator to pick random hits
 * from.
 *
 * Prints one line, "links=L puts=P seconds=S file_bytes=F used_bytes=U":
 * L links in the store, P of them put now, F the size of DIR/data.mdb and
 * U the pages in use times the page size.
 */

#define _POSIX_C_SOURCE  200809L

#include <sys/stat.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcp_store.h"


#define CODE_LEN   7
#define MAP_SIZE   ((size_t) 16 << 30)


static uint64_t  prng_state = 0x9e3779b97f4a7c15ULL;


/* splitmix64 */
static uint64_t
prng(void)
{
    uint64_t  z;

    z = (prng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;

    return z ^ (z >> 31);
}


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


int
main(int argc, char **argv)
{
    int                rc;
    char               err[512], code[CODE_LEN + 1], url[64], path[4096];
    FILE              *sample;
    double             start, took;
    uint64_t           r;
    unsigned long      n, i, every, samples, loaded;
    struct stat        st;
    mcp_store_t       *s;
    mcp_store_link_t   link;
    mcp_store_stat_t   ms;
    int                k, url_len;

    if (argc < 4) {
        fprintf(stderr, "usage: load_links DIR N SAMPLE_FILE [SAMPLES]\n");
        return 2;
    }

    n = strtoul(argv[2], NULL, 10);
    samples = (argc > 4) ? strtoul(argv[4], NULL, 10) : 100000;

    if (n == 0 || samples == 0) {
        fprintf(stderr, "load_links: N and SAMPLES must be positive\n");
        return 2;
    }

    every = (n > samples) ? n / samples : 1;

    rc = mcp_store_open(&s, argv[1], MAP_SIZE, MCP_STORE_NOSYNC, err,
                        sizeof(err));
    if (rc != MCP_STORE_OK) {
        fprintf(stderr, "load_links: %s\n", err);
        return 1;
    }

    sample = fopen(argv[3], "w");
    if (sample == NULL) {
        perror(argv[3]);
        return 1;
    }

    prng_state ^= (uint64_t) time(NULL);

    memset(&link, 0, sizeof(link));
    link.url = url;
    link.created_at = (int64_t) time(NULL);

    code[CODE_LEN] = '\0';
    loaded = 0;
    start = now();

    for (i = 0; i < n; i++) {
        r = prng();

        for (k = 0; k < CODE_LEN; k++) {
            code[k] = MCP_STORE_CODE_ALPHABET[r % 62];
            r /= 62;
        }

        url_len = snprintf(url, sizeof(url),
                           "https://www.example.com/articles/%010lu", i);
        link.url_len = (size_t) url_len;

        rc = mcp_store_link_put(s, code, CODE_LEN, &link);

        if (rc == MCP_STORE_EXISTS) {
            continue;               /* a collision: that code is taken */
        }

        if (rc != MCP_STORE_OK) {
            fprintf(stderr, "load_links: put #%lu: %s\n", i,
                    mcp_store_strerror(rc));
            return 1;
        }

        loaded++;

        if (i % every == 0) {
            fprintf(sample, "%s\n", code);
        }
    }

    rc = mcp_store_sync(s);
    if (rc != MCP_STORE_OK) {
        fprintf(stderr, "load_links: sync: %s\n", mcp_store_strerror(rc));
        return 1;
    }

    took = now() - start;

    rc = mcp_store_stat(s, &ms);
    if (rc != MCP_STORE_OK) {
        fprintf(stderr, "load_links: stat: %s\n", mcp_store_strerror(rc));
        return 1;
    }

    mcp_store_close(s);

    if (fclose(sample) != 0) {
        perror(argv[3]);
        return 1;
    }

    snprintf(path, sizeof(path), "%s/data.mdb", argv[1]);

    if (stat(path, &st) == -1) {
        perror(path);
        return 1;
    }

    printf("links=%llu puts=%lu seconds=%.2f file_bytes=%lld "
           "used_bytes=%llu\n",
           (unsigned long long) ms.links, loaded, took,
           (long long) st.st_size, (unsigned long long) ms.used_bytes);

    return 0;
}
