/*
 * commit_batch: the store's side of group commit, alone: BATCHES batches
 * of OPS link puts each (the operations a worker takes from as many
 * concurrent POST /shorten), each batch applied by mcp_store_op_commit()
 * and told by mcp_store_op_committed() as ngx_http_mcp_commit.c does,
 * for the instructions a write costs in a batch of OPS
 * (bench/PROFILE.md: run it twice under callgrind, BATCHES
 * apart).
 *
 *     commit_batch DIR BATCHES OPS
 *
 * The store is opened with MCP_STORE_NOSYNC: what is counted is the
 * CPU's work, not the wait for the disk.  Prints "puts=P refused=R".
 */

#define _POSIX_C_SOURCE  200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp_store.h"
#include "mcp_store_op.h"


#define MAP_SIZE   ((size_t) 1 << 30)
#define URL        "https://www.example.com/articles/0123456789"


static void
commit_batch_told(void *data, const mcp_store_op_t *op, int outcome,
    const uint64_t *detail, size_t ndetail)
{
    size_t  *refused = data;

    (void) op;
    (void) detail;
    (void) ndetail;

    if (outcome != MCP_STORE_OK) {
        (*refused)++;
    }
}


int
main(int argc, char **argv)
{
    int              rc;
    char             err[256], code[16], *buf;
    size_t           batches, ops, b, i, size, refused;
    mcp_store_t     *s;
    mcp_store_op_t   op;

    if (argc != 4) {
        fprintf(stderr, "usage: commit_batch DIR BATCHES OPS\n");
        return 2;
    }

    batches = strtoul(argv[2], NULL, 10);
    ops = strtoul(argv[3], NULL, 10);

    size = ops * 256;
    buf = malloc(size);
    if (buf == NULL || ops == 0) {
        fprintf(stderr, "commit_batch: no buffer\n");
        return 1;
    }

    rc = mcp_store_open(&s, argv[1], MAP_SIZE, MCP_STORE_NOSYNC, err,
                        sizeof(err));
    if (rc != MCP_STORE_OK) {
        fprintf(stderr, "commit_batch: %s\n", err);
        free(buf);
        return 1;
    }

    memset(&op, 0, sizeof(mcp_store_op_t));
    op.kind = MCP_STORE_OP_LINK_PUT;
    op.node = "local";
    op.node_len = 5;
    op.link.url = URL;
    op.link.url_len = sizeof(URL) - 1;
    op.link.created_at = 1700000000;
    op.code = code;

    refused = 0;

    for (b = 0; b < batches; b++) {
        size_t  len = 0;

        for (i = 0; i < ops; i++) {
            op.id = b * ops + i + 1;
            op.code_len = (size_t) snprintf(code, sizeof(code), "c%zx",
                                            (size_t) op.id * 2654435761u
                                            % 0xfffffff);
            len += mcp_store_op_encode(&op, buf + len, size - len);
        }

        rc = mcp_store_op_commit(s, buf, len);
        if (rc != MCP_STORE_OK) {
            fprintf(stderr, "commit_batch: %s\n", mcp_store_strerror(rc));
            return 1;
        }

        (void) mcp_store_op_committed(s, commit_batch_told, &refused);
    }

    printf("puts=%zu refused=%zu\n", batches * ops, refused);

    mcp_store_close(s);
    free(buf);

    return 0;
}
