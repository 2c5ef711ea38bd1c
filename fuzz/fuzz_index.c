/*
 * The full-text index through the graph's functions: a store made once
 * per process, and per input one write transaction, aborted at the end so
 * that the store stays empty between inputs.
 *
 * The input is a script of operations on up to 16 entities of one scope
 * (create with an observation, create bare, add an observation, delete
 * one, delete an entity, search, search another scope), checked against
 * a model of what exists: created/added/deleted flags as the model says;
 * hits best first (score, then name), finite and positive, each an entity
 * that exists; total >= nhits, total no more than the entities; a page at
 * offset 1 is the first page shifted; nothing found in the other scope.
 * At the end every entity left is deleted, and then the index must be
 * empty: no posting, no document length, no totals record, no entity.
 */

#include <math.h>
#include <unistd.h>

#include "fuzz_common.h"

#include "mcp_store_int.h"


#define FUZZ_ENTITIES   16
#define FUZZ_OBS        64
#define FUZZ_OPS        48
#define FUZZ_HITS       32


typedef struct {
    const char  *name;          /* into the input */
    size_t       name_len;
    const char  *obs[FUZZ_OBS];
    size_t       obs_len[FUZZ_OBS];
    size_t       nobs;
} fuzz_entity_t;



static const mcp_store_scope_t  fuzz_scope = { "t", 1, "", 0 };
static const mcp_store_scope_t  fuzz_other = { "t", 1, "other", 5 };

static fuzz_entity_t  fuzz_model[FUZZ_ENTITIES];
static size_t         fuzz_n;


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;

    fuzz_store_create("fuzz_index", (size_t) 64 << 20);

    return 0;
}


static fuzz_entity_t *
fuzz_find(const char *name, size_t len)
{
    size_t  i;

    for (i = 0; i < fuzz_n; i++) {
        if (fuzz_model[i].name_len == len
            && memcmp(fuzz_model[i].name, name, len) == 0)
        {
            return &fuzz_model[i];
        }
    }

    return NULL;
}


static size_t
fuzz_obs_find(const fuzz_entity_t *e, const char *text, size_t len)
{
    size_t  i;

    for (i = 0; i < e->nobs; i++) {
        if (e->obs_len[i] == len && memcmp(e->obs[i], text, len) == 0) {
            return i;
        }
    }

    return e->nobs;
}


static void
fuzz_obs_add(fuzz_entity_t *e, const char *text, size_t len)
{
    FUZZ_CHECK(e->nobs < FUZZ_OBS);

    e->obs[e->nobs] = text;
    e->obs_len[e->nobs++] = len;
}


/* an existing entity's name (top bit set), else a new one of 1 to 8 bytes */
static const char *
fuzz_name(fuzz_in_t *in, size_t *len)
{
    uint8_t  b;

    b = fuzz_byte(in);

    if ((b & 0x80) && fuzz_n > 0) {
        *len = fuzz_model[b % fuzz_n].name_len;
        return fuzz_model[b % fuzz_n].name;
    }

    return fuzz_bytes(in, (b & 7) + 1, len);
}


/* names are 1 to 256 bytes without a NUL: the input may run out first */
static int
fuzz_bad_name(const char *name, size_t len)
{
    return len == 0 || memchr(name, 0, len) != NULL;
}


/* the same hits: the same docs and scores */
static int
fuzz_same_hit(const mcp_store_hit_t *a, const mcp_store_hit_t *b)
{
    return a->doc_len == b->doc_len && memcmp(a->doc, b->doc, a->doc_len) == 0
           && a->score == b->score;
}


static void
fuzz_search(mcp_store_txn_t *t, const char *q, size_t qlen, size_t cap)
{
    int               rc, c;
    size_t            i, nhits, total, nhits2, total2, n;
    mcp_store_hit_t   hits[FUZZ_HITS], page[FUZZ_HITS];

    rc = mcp_store_entity_search(t, &fuzz_scope, q, qlen, 0, hits, cap,
                                 &nhits, &total);
    FUZZ_CHECK(rc == MCP_STORE_OK);
    FUZZ_CHECK(nhits <= cap && nhits <= total && total <= fuzz_n);
    FUZZ_CHECK(nhits == (total < cap ? total : cap));

    for (i = 0; i < nhits; i++) {
        FUZZ_CHECK(isfinite(hits[i].score) && hits[i].score > 0.0);
        FUZZ_CHECK(fuzz_find(hits[i].doc, hits[i].doc_len) != NULL);

        if (i == 0) {
            continue;
        }

        FUZZ_CHECK(hits[i - 1].score >= hits[i].score);

        if (hits[i - 1].score == hits[i].score) {
            n = hits[i - 1].doc_len < hits[i].doc_len ? hits[i - 1].doc_len
                                                      : hits[i].doc_len;
            c = memcmp(hits[i - 1].doc, hits[i].doc, n);
            FUZZ_CHECK(c < 0 || (c == 0
                                 && hits[i - 1].doc_len < hits[i].doc_len));
        }
    }

    /* the page at offset 1 */
    if (cap > 0) {
        rc = mcp_store_entity_search(t, &fuzz_scope, q, qlen, 1, page,
                                     cap - 1, &nhits2, &total2);
        FUZZ_CHECK(rc == MCP_STORE_OK && total2 == total);
        FUZZ_CHECK(nhits2 == (nhits > 0 ? nhits - 1 : 0)
                   || (nhits == cap && nhits2 == cap - 1));

        for (i = 0; i < nhits2 && i + 1 < nhits; i++) {
            FUZZ_CHECK(fuzz_same_hit(&page[i], &hits[i + 1]));
        }
    }

    /* nothing of this scope is seen from another */
    rc = mcp_store_entity_search(t, &fuzz_other, q, qlen, 0, hits, FUZZ_HITS,
                                 &nhits, &total);
    FUZZ_CHECK(rc == MCP_STORE_OK && nhits == 0 && total == 0);
}


static size_t
fuzz_entries(mcp_store_txn_t *t, MDB_dbi dbi)
{
    MDB_stat  st;

    FUZZ_CHECK(mdb_stat(mcp_store_txn_mdb(t), dbi, &st) == MDB_SUCCESS);

    return st.ms_entries;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                       rc, flag;
    size_t                    i, k, nops, name_len, type_len, text_len, nhits;
    size_t                    total;
    uint8_t                   op;
    fuzz_in_t                 in;
    const char               *name, *type, *text;
    fuzz_entity_t            *m;
    mcp_store_txn_t          *t;
    mcp_store_entity_t        e;
    mcp_store_observation_t   o;
    mcp_store_hit_t           hits[FUZZ_HITS];

    in.pos = data;
    in.end = data + size;
    fuzz_n = 0;

    FUZZ_CHECK(mcp_store_txn_begin(fuzz_store, 0, &t) == MCP_STORE_OK);
    FUZZ_CHECK(fuzz_entries(t, fuzz_store->postings) == 0);

    for (nops = 0; nops < FUZZ_OPS && fuzz_left(&in) > 0; nops++) {
        op = fuzz_byte(&in) % 7;

        switch (op) {

        case 0:                         /* create, with an observation */
        case 1:                         /* create, bare */
            name = fuzz_name(&in, &name_len);
            type = fuzz_bytes(&in, fuzz_byte(&in) % 12 + 1, &type_len);
            text = (op == 0) ? fuzz_str8(&in, &text_len) : NULL;

            memset(&e, 0, sizeof(e));
            e.name = name;
            e.name_len = name_len;
            e.type = type;
            e.type_len = type_len;

            if (op == 0) {
                o.text = text;
                o.text_len = text_len;
                o.created_at = 1;
                e.observations = &o;
                e.nobservations = 1;
            }

            m = fuzz_find(name, name_len);

            if (m == NULL && fuzz_n == FUZZ_ENTITIES) {
                goto done;              /* the model is full: stop here */
            }

            rc = mcp_store_entity_create(t, &fuzz_scope, &e, 1, &flag);

            if (fuzz_bad_name(name, name_len)
                || fuzz_bad_name(type, type_len)
                || (op == 0 && text_len == 0))
            {
                FUZZ_CHECK(rc == MCP_STORE_EINVAL);
                break;
            }

            FUZZ_CHECK(rc == MCP_STORE_OK);
            FUZZ_CHECK(flag == (m == NULL));

            if (m == NULL) {
                m = &fuzz_model[fuzz_n++];
                m->name = name;
                m->name_len = name_len;
                m->nobs = 0;

                if (op == 0) {
                    fuzz_obs_add(m, text, text_len);
                }
            }

            break;

        case 2:                         /* add an observation */
            name = fuzz_name(&in, &name_len);
            text = fuzz_str8(&in, &text_len);
            m = fuzz_find(name, name_len);

            if (m != NULL && m->nobs == FUZZ_OBS) {
                goto done;
            }

            rc = mcp_store_observation_add(t, &fuzz_scope, name, name_len,
                                           text, text_len, 2, &flag);

            if (fuzz_bad_name(name, name_len) || text_len == 0) {
                FUZZ_CHECK(rc == MCP_STORE_EINVAL);
                break;
            }

            if (m == NULL) {
                FUZZ_CHECK(rc == MCP_STORE_NOTFOUND);
                break;
            }

            FUZZ_CHECK(rc == MCP_STORE_OK);
            k = fuzz_obs_find(m, text, text_len);
            FUZZ_CHECK(flag == (k == m->nobs));

            if (flag) {
                fuzz_obs_add(m, text, text_len);
            }

            break;

        case 3:                         /* delete an observation */
            name = fuzz_name(&in, &name_len);
            m = fuzz_find(name, name_len);
            k = fuzz_byte(&in);

            if (m != NULL && m->nobs > 0 && !(k & 0x80)) {
                text = m->obs[k % m->nobs];
                text_len = m->obs_len[k % m->nobs];

            } else {
                text = fuzz_str8(&in, &text_len);
            }

            rc = mcp_store_observation_delete(t, &fuzz_scope, name, name_len,
                                              text, text_len, &flag);

            if (fuzz_bad_name(name, name_len) || text_len == 0) {
                FUZZ_CHECK(rc == MCP_STORE_EINVAL);
                break;
            }

            FUZZ_CHECK(rc == MCP_STORE_OK);

            if (m == NULL) {
                FUZZ_CHECK(flag == 0);
                break;
            }

            k = fuzz_obs_find(m, text, text_len);
            FUZZ_CHECK(flag == (k < m->nobs));

            if (flag) {
                m->nobs--;
                memmove(&m->obs[k], &m->obs[k + 1],
                        (m->nobs - k) * sizeof(m->obs[0]));
                memmove(&m->obs_len[k], &m->obs_len[k + 1],
                        (m->nobs - k) * sizeof(m->obs_len[0]));
            }

            break;

        case 4:                         /* delete an entity */
            name = fuzz_name(&in, &name_len);
            m = fuzz_find(name, name_len);

            rc = mcp_store_entity_delete(t, &fuzz_scope, name, name_len,
                                         &flag);

            if (fuzz_bad_name(name, name_len)) {
                FUZZ_CHECK(rc == MCP_STORE_EINVAL);
                break;
            }

            FUZZ_CHECK(rc == MCP_STORE_OK && flag == (m != NULL));

            if (m != NULL) {
                /* nothing finds it by its name any more */
                rc = mcp_store_entity_search(t, &fuzz_scope, name, name_len,
                                             0, hits, FUZZ_HITS, &nhits,
                                             &total);
                FUZZ_CHECK(rc == MCP_STORE_OK);

                for (i = 0; i < nhits; i++) {
                    FUZZ_CHECK(hits[i].doc_len != name_len
                               || memcmp(hits[i].doc, name, name_len) != 0);
                }

                *m = fuzz_model[--fuzz_n];
            }

            break;

        case 5:                         /* search */
        case 6:
            k = fuzz_byte(&in);
            text = fuzz_str8(&in, &text_len);
            fuzz_search(t, text, text_len, k % (FUZZ_HITS + 1));
            break;
        }
    }

done:

    /* deleting all that was added leaves nothing indexed */

    while (fuzz_n > 0) {
        m = &fuzz_model[fuzz_n - 1];

        FUZZ_CHECK(mcp_store_entity_delete(t, &fuzz_scope, m->name,
                                           m->name_len, &flag)
                   == MCP_STORE_OK && flag == 1);
        fuzz_n--;
    }

    FUZZ_CHECK(fuzz_entries(t, fuzz_store->entities) == 0);
    FUZZ_CHECK(fuzz_entries(t, fuzz_store->postings) == 0);
    FUZZ_CHECK(fuzz_entries(t, fuzz_store->docs) == 0);

    mcp_store_txn_abort(t);

    return 0;
}
