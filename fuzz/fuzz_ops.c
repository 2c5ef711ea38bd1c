/*
 * Arbitrary bytes as an entry of a cluster's log (store/mcp_store_op.h),
 * which any node of the cluster may have written: each operation of it
 * decoded, the entry applied to a store at the next sequence, then
 * delivered again.
 *
 * Checks: no crash and no read outside the input (ASan); each operation
 * decoded lies inside the input, with its node name, and one of a known
 * kind encodes again, no longer than it was read; the apply either
 * applies the entry or fails for the store's own trouble (full), never
 * for the entry's bytes; every outcome handed out is one that every node
 * gives alike; the same entry delivered again changes nothing.
 */

#include "fuzz_common.h"

#include "mcp_store_int.h"
#include "mcp_store_op.h"


#define FUZZ_NODE  "node-a"


static uint64_t  fuzz_seq;


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;

    fuzz_store_create("fuzz_ops", (size_t) 256 << 20);

    return 0;
}


static void
fuzz_outcome(void *data, const mcp_store_op_t *op, int outcome,
    const uint64_t *detail, size_t ndetail)
{
    size_t  *n = data;

    (void) op;

    FUZZ_CHECK(ndetail == 0 || detail != NULL);

    switch (outcome) {
    case -1:                    /* delivered again: not this node's */
    case MCP_STORE_OK:
    case MCP_STORE_EXISTS:
    case MCP_STORE_NOTFOUND:
    case MCP_STORE_EXPIRED:
    case MCP_STORE_SPENT:
    case MCP_STORE_EINVAL:
    case MCP_STORE_ETOOBIG:
        break;
    default:
        FUZZ_CHECK(!"an outcome of the node's own");
    }

    (*n)++;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int              rc, fresh;
    char            *buf;
    size_t           pos, used, n, ops, again;
    mcp_store_op_t   op;

    /* the operations, as the applier reads them */

    ops = 0;

    for (pos = 0;
         pos < size && ops < MCP_STORE_OP_BATCH_MAX
         && mcp_store_op_decode(data + pos, size - pos, &op, &used)
            == MCP_STORE_OK;
         pos += used)
    {
        FUZZ_CHECK(used > 0 && used <= size - pos);
        FUZZ_CHECK(fuzz_inside(op.node, op.node_len, data, size));

        /* decoded operations of a batch kind hold their entries as read,
         * which only the apply walks: they are not encoded again */

        n = (op.kind == MCP_STORE_OP_LINK_VISITS
             || op.kind == MCP_STORE_OP_SESSION_TOUCH
             || op.kind == MCP_STORE_OP_MEMORY)
            ? 0 : mcp_store_op_encode(&op, NULL, 0);

        if (n > 0) {
            FUZZ_CHECK(n <= used + 16);

            buf = malloc(n);
            FUZZ_CHECK(buf != NULL);
            FUZZ_CHECK(mcp_store_op_encode(&op, buf, n) == n);
            free(buf);
        }

        ops++;
    }

    n = 0;

    rc = mcp_store_op_apply(fuzz_store, ++fuzz_seq, data, size, FUZZ_NODE,
                            sizeof(FUZZ_NODE) - 1, fuzz_outcome, &n, &fresh);

    if (rc == MCP_STORE_FULL) {
        /* the store's trouble: the same entry waits, nothing applied */
        fuzz_seq--;
        return 0;
    }

    FUZZ_CHECK(rc == MCP_STORE_OK && fresh);

    again = 0;
    rc = mcp_store_op_apply(fuzz_store, fuzz_seq, data, size, FUZZ_NODE,
                            sizeof(FUZZ_NODE) - 1, fuzz_outcome, &again,
                            &fresh);

    FUZZ_CHECK(rc == MCP_STORE_OK && !fresh);

    return 0;
}
