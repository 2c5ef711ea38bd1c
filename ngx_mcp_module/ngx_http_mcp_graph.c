
/*
 * ngx_mcp: long-term memory as MCP tools, a drop-in for the reference
 * server-memory: the same nine tools, argument shapes and results (its
 * JSON in the text block, and structuredContent), over the store's
 * knowledge graph.  Beyond it: an optional "namespace" on every tool,
 * pages (limit/cursor) for read_graph and search_nodes, BM25-ranked
 * search, creation times, one write transaction per call.
 *
 * Every change a tool makes is one step (mcp_store_step_run()).  On a
 * single node the steps run in the call's transaction.  In a cluster the
 * call runs twice: first its steps are recorded, and published as one
 * operation; once that is applied here, the call runs again over what
 * each step told (created or not, the step that failed), which makes the
 * same result as on a single node.
 */


#include "ngx_http_mcp_rpc.h"
#include "ngx_http_mcp_cluster.h"


#define NGX_HTTP_MCP_BATCH_MAX     1000    /* items per call */
#define NGX_HTTP_MCP_GRAPH_PAGE    1000    /* entities per page at most */
#define NGX_HTTP_MCP_GRAPH_URI     "memory://knowledge-graph"


typedef struct ngx_http_mcp_graph_op_s  ngx_http_mcp_graph_op_t;


/* One tool call on the graph: its scope, transaction and results. */
typedef struct {
    ngx_http_mcp_call_t       *call;
    mcp_store_scope_t          scope;
    mcp_store_txn_t           *txn;
    mcp_store_observation_t   *obs;       /* MCP_STORE_OBS_MAX entries */
    json_t                    *entities;
    json_t                    *relations;
    json_t                    *names;     /* entities in the result, a set */
    int64_t                    now;
    ngx_uint_t                 failed;
    ngx_http_mcp_graph_op_t   *op;        /* of a batch */
    json_t                    *added;     /* what a batch added */

    ngx_array_t               *steps;     /* cluster: being recorded */
    ngx_uint_t                 replay;    /* cluster: applied, replayed */
    int                        outcome;   /* of the operation replayed */
    size_t                     failed_at; /* the step that failed */
    const uint64_t            *detail;    /* what each step told */
    size_t                     ndetail;
    size_t                     at;        /* the next step */
} ngx_http_mcp_graph_t;


/* a batch call in a cluster, waiting for its operation */
typedef struct {
    json_t                    *args;
    json_t                    *list;
    int64_t                    now;
} ngx_http_mcp_graph_kept_t;


/* A tool that takes a batch (ngx_http_mcp_graph_batch_call()). */
struct ngx_http_mcp_graph_op_s {
    const char                *batch;     /* the array of args */
    const char                *texts;     /* the array of an item */
    unsigned                   flags;     /* of the transaction */
    ngx_uint_t                 add;       /* adds, rather than deletes */
    const char                *added;     /* the result's list of it */
    const char                *message;   /* the result of a deletion */

    /* NGX_OK, or NGX_DECLINED with a tool error in *result */
    ngx_int_t                (*check)(ngx_http_mcp_graph_op_t *op,
                                  json_t *item, size_t i, json_t **result);
    int                      (*apply)(ngx_http_mcp_graph_t *g, json_t *item);
    /* the result, or NULL for ngx_http_mcp_graph_batch_done() */
    json_t                  *(*done)(ngx_http_mcp_graph_t *g, int rc,
                                  json_t *item);
};


static ngx_http_mcp_handler_fn  ngx_http_mcp_graph_batch_call;
static ngx_int_t ngx_http_mcp_graph_prepare(ngx_http_mcp_call_t *call,
    json_t *args, ngx_http_mcp_graph_t *g, json_t **result,
    ngx_http_mcp_error_t *err);
static json_t *ngx_http_mcp_graph_publish(ngx_http_mcp_call_t *call,
    json_t *args, json_t *list, ngx_http_mcp_error_t *err);
static json_t *ngx_http_mcp_graph_replicated(ngx_http_mcp_call_t *call,
    void *data, int outcome, ngx_http_mcp_error_t *err);
static json_t *ngx_http_mcp_graph_run(ngx_http_mcp_graph_t *g,
    json_t *list);
static int ngx_http_mcp_graph_step(ngx_http_mcp_graph_t *g,
    const mcp_store_step_t *st, int *done);
static ngx_int_t ngx_http_mcp_graph_check_entity(ngx_http_mcp_graph_op_t *op,
    json_t *item, size_t i, json_t **result);
static int ngx_http_mcp_graph_create_entity(ngx_http_mcp_graph_t *g,
    json_t *item);
static json_t *ngx_http_mcp_graph_batch_done(ngx_http_mcp_graph_t *g,
    int rc, json_t *item);
static ngx_int_t ngx_http_mcp_graph_check_relation(
    ngx_http_mcp_graph_op_t *op, json_t *item, size_t i, json_t **result);
static int ngx_http_mcp_graph_apply_relation(ngx_http_mcp_graph_t *g,
    json_t *item);
static ngx_int_t ngx_http_mcp_graph_check_observations(
    ngx_http_mcp_graph_op_t *op, json_t *item, size_t i, json_t **result);
static int ngx_http_mcp_graph_apply_observations(ngx_http_mcp_graph_t *g,
    json_t *item);
static json_t *ngx_http_mcp_graph_observations_done(ngx_http_mcp_graph_t *g,
    int rc, json_t *item);
static ngx_int_t ngx_http_mcp_graph_check_name(ngx_http_mcp_graph_op_t *op,
    json_t *item, size_t i, json_t **result);
static int ngx_http_mcp_graph_delete_entity(ngx_http_mcp_graph_t *g,
    json_t *name);
static int ngx_http_mcp_graph_open_node(ngx_http_mcp_graph_t *g,
    json_t *name);
static json_t *ngx_http_mcp_graph_opened_done(ngx_http_mcp_graph_t *g,
    int rc, json_t *item);
static ngx_http_mcp_handler_fn  ngx_http_mcp_graph_read_graph;
static ngx_http_mcp_handler_fn  ngx_http_mcp_graph_search_nodes;
static ngx_http_mcp_handler_fn  ngx_http_mcp_graph_resource;


/* the tools that take a batch, as ngx_http_mcp_graph_batch_call() runs
 * them */

static ngx_http_mcp_graph_op_t  ngx_http_mcp_graph_create_entities = {
    "entities", NULL, 0, 1, "entities", NULL,
    ngx_http_mcp_graph_check_entity, ngx_http_mcp_graph_create_entity, NULL
};


static ngx_http_mcp_graph_op_t  ngx_http_mcp_graph_create_relations = {
    "relations", NULL, 0, 1, "relations", NULL,
    ngx_http_mcp_graph_check_relation, ngx_http_mcp_graph_apply_relation,
    NULL
};


static ngx_http_mcp_graph_op_t  ngx_http_mcp_graph_delete_relations = {
    "relations", NULL, 0, 0, NULL, "Relations deleted successfully",
    ngx_http_mcp_graph_check_relation, ngx_http_mcp_graph_apply_relation,
    NULL
};


static ngx_http_mcp_graph_op_t  ngx_http_mcp_graph_add_observations = {
    "observations", "contents", 0, 1, "results", NULL,
    ngx_http_mcp_graph_check_observations,
    ngx_http_mcp_graph_apply_observations,
    ngx_http_mcp_graph_observations_done
};


static ngx_http_mcp_graph_op_t  ngx_http_mcp_graph_delete_observations = {
    "deletions", "observations", 0, 0, NULL,
    "Observations deleted successfully",
    ngx_http_mcp_graph_check_observations,
    ngx_http_mcp_graph_apply_observations,
    NULL
};


static ngx_http_mcp_graph_op_t  ngx_http_mcp_graph_delete_entities = {
    "entityNames", NULL, 0, 0, NULL, "Entities deleted successfully",
    ngx_http_mcp_graph_check_name, ngx_http_mcp_graph_delete_entity, NULL
};


static ngx_http_mcp_graph_op_t  ngx_http_mcp_graph_open_nodes = {
    "names", NULL, MCP_STORE_RDONLY, 0, NULL, NULL,
    NULL, ngx_http_mcp_graph_open_node, ngx_http_mcp_graph_opened_done
};


#define NGX_HTTP_MCP_NS_PROP                                                  \
    "\"namespace\": {\"type\": \"string\", \"pattern\": "                     \
    "\"^[A-Za-z0-9_.-]{0,64}$\", \"description\": \"a separate graph "        \
    "(default: the shared one)\"}"

#define NGX_HTTP_MCP_ENTITY_SCHEMA                                            \
    "{\"type\": \"object\", \"properties\": {"                                \
    "\"name\": {\"type\": \"string\", \"description\": "                      \
      "\"The name of the entity\"},"                                          \
    "\"entityType\": {\"type\": \"string\", \"description\": "                \
      "\"The type of the entity\"},"                                          \
    "\"observations\": {\"type\": \"array\", \"items\": {\"type\": "          \
      "\"string\"}, \"description\": \"An array of observation contents "     \
      "associated with the entity\"}},"                                       \
    "\"required\": [\"name\", \"entityType\", \"observations\"]}"

#define NGX_HTTP_MCP_RELATION_SCHEMA                                          \
    "{\"type\": \"object\", \"properties\": {"                                \
    "\"from\": {\"type\": \"string\", \"description\": "                      \
      "\"The name of the entity where the relation starts\"},"                \
    "\"to\": {\"type\": \"string\", \"description\": "                        \
      "\"The name of the entity where the relation ends\"},"                  \
    "\"relationType\": {\"type\": \"string\", \"description\": "              \
      "\"The type of the relation\"}},"                                       \
    "\"required\": [\"from\", \"to\", \"relationType\"]}"

#define NGX_HTTP_MCP_GRAPH_SCHEMA                                             \
    "{\"type\": \"object\", \"properties\": {"                                \
    "\"entities\": {\"type\": \"array\", \"items\": "                         \
      NGX_HTTP_MCP_ENTITY_SCHEMA "},"                                         \
    "\"relations\": {\"type\": \"array\", \"items\": "                        \
      NGX_HTTP_MCP_RELATION_SCHEMA "},"                                       \
    "\"nextCursor\": {\"type\": \"string\"}},"                                \
    "\"required\": [\"entities\", \"relations\"]}"

#define NGX_HTTP_MCP_DONE_SCHEMA                                              \
    "{\"type\": \"object\", \"properties\": {"                                \
    "\"success\": {\"type\": \"boolean\"},"                                   \
    "\"message\": {\"type\": \"string\"}},"                                   \
    "\"required\": [\"success\", \"message\"]}"

#define NGX_HTTP_MCP_PAGE_PROPS                                               \
    "\"limit\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 1000},"  \
    "\"cursor\": {\"type\": \"string\"},"

#define NGX_HTTP_MCP_WRITE_HINTS(destructive, idempotent)                     \
    "{\"readOnlyHint\": false, \"destructiveHint\": " destructive ", "        \
    "\"idempotentHint\": " idempotent ", \"openWorldHint\": false}"

#define NGX_HTTP_MCP_READ_HINTS                                               \
    "{\"readOnlyHint\": true, \"openWorldHint\": false}"


static ngx_http_mcp_tool_t  ngx_http_mcp_graph_tools[] = {

    { "create_entities", "Create Entities",
      "Create multiple new entities in the knowledge graph",
      "{\"type\": \"object\", \"properties\": {\"entities\": {\"type\": "
      "\"array\", \"items\": " NGX_HTTP_MCP_ENTITY_SCHEMA "},"
      NGX_HTTP_MCP_NS_PROP "}, \"required\": [\"entities\"]}",
      "{\"type\": \"object\", \"properties\": {\"entities\": {\"type\": "
      "\"array\", \"items\": " NGX_HTTP_MCP_ENTITY_SCHEMA "}},"
      "\"required\": [\"entities\"]}",
      NGX_HTTP_MCP_WRITE_HINTS("false", "false"),
      ngx_http_mcp_graph_batch_call,
      &ngx_http_mcp_graph_create_entities },

    { "create_relations", "Create Relations",
      "Create multiple new relations between entities in the knowledge "
      "graph. Relations should be in active voice",
      "{\"type\": \"object\", \"properties\": {\"relations\": {\"type\": "
      "\"array\", \"items\": " NGX_HTTP_MCP_RELATION_SCHEMA "},"
      NGX_HTTP_MCP_NS_PROP "}, \"required\": [\"relations\"]}",
      "{\"type\": \"object\", \"properties\": {\"relations\": {\"type\": "
      "\"array\", \"items\": " NGX_HTTP_MCP_RELATION_SCHEMA "}},"
      "\"required\": [\"relations\"]}",
      NGX_HTTP_MCP_WRITE_HINTS("false", "false"),
      ngx_http_mcp_graph_batch_call,
      &ngx_http_mcp_graph_create_relations },

    { "add_observations", "Add Observations",
      "Add new observations to existing entities in the knowledge graph",
      "{\"type\": \"object\", \"properties\": {\"observations\": {\"type\": "
      "\"array\", \"items\": {\"type\": \"object\", \"properties\": {"
      "\"entityName\": {\"type\": \"string\", \"description\": \"The name "
      "of the entity to add the observations to\"},"
      "\"contents\": {\"type\": \"array\", \"items\": {\"type\": "
      "\"string\"}, \"description\": \"An array of observation contents to "
      "add\"}}, \"required\": [\"entityName\", \"contents\"]}},"
      NGX_HTTP_MCP_NS_PROP "}, \"required\": [\"observations\"]}",
      "{\"type\": \"object\", \"properties\": {\"results\": {\"type\": "
      "\"array\", \"items\": {\"type\": \"object\", \"properties\": {"
      "\"entityName\": {\"type\": \"string\"}, \"addedObservations\": "
      "{\"type\": \"array\", \"items\": {\"type\": \"string\"}}},"
      "\"required\": [\"entityName\", \"addedObservations\"]}}},"
      "\"required\": [\"results\"]}",
      NGX_HTTP_MCP_WRITE_HINTS("false", "false"),
      ngx_http_mcp_graph_batch_call,
      &ngx_http_mcp_graph_add_observations },

    { "delete_entities", "Delete Entities",
      "Delete multiple entities and their associated relations from the "
      "knowledge graph",
      "{\"type\": \"object\", \"properties\": {\"entityNames\": {\"type\": "
      "\"array\", \"items\": {\"type\": \"string\"}, \"description\": "
      "\"An array of entity names to delete\"}," NGX_HTTP_MCP_NS_PROP "},"
      "\"required\": [\"entityNames\"]}",
      NGX_HTTP_MCP_DONE_SCHEMA,
      NGX_HTTP_MCP_WRITE_HINTS("true", "true"),
      ngx_http_mcp_graph_batch_call,
      &ngx_http_mcp_graph_delete_entities },

    { "delete_observations", "Delete Observations",
      "Delete specific observations from entities in the knowledge graph",
      "{\"type\": \"object\", \"properties\": {\"deletions\": {\"type\": "
      "\"array\", \"items\": {\"type\": \"object\", \"properties\": {"
      "\"entityName\": {\"type\": \"string\", \"description\": \"The name "
      "of the entity containing the observations\"},"
      "\"observations\": {\"type\": \"array\", \"items\": {\"type\": "
      "\"string\"}, \"description\": \"An array of observations to "
      "delete\"}}, \"required\": [\"entityName\", \"observations\"]}},"
      NGX_HTTP_MCP_NS_PROP "}, \"required\": [\"deletions\"]}",
      NGX_HTTP_MCP_DONE_SCHEMA,
      NGX_HTTP_MCP_WRITE_HINTS("true", "true"),
      ngx_http_mcp_graph_batch_call,
      &ngx_http_mcp_graph_delete_observations },

    { "delete_relations", "Delete Relations",
      "Delete multiple relations from the knowledge graph",
      "{\"type\": \"object\", \"properties\": {\"relations\": {\"type\": "
      "\"array\", \"items\": " NGX_HTTP_MCP_RELATION_SCHEMA ", "
      "\"description\": \"An array of relations to delete\"},"
      NGX_HTTP_MCP_NS_PROP "}, \"required\": [\"relations\"]}",
      NGX_HTTP_MCP_DONE_SCHEMA,
      NGX_HTTP_MCP_WRITE_HINTS("true", "true"),
      ngx_http_mcp_graph_batch_call,
      &ngx_http_mcp_graph_delete_relations },

    { "read_graph", "Read Graph",
      "Read the entire knowledge graph (limit and cursor page through "
      "large graphs)",
      "{\"type\": \"object\", \"properties\": {" NGX_HTTP_MCP_PAGE_PROPS
      NGX_HTTP_MCP_NS_PROP "}}",
      NGX_HTTP_MCP_GRAPH_SCHEMA,
      NGX_HTTP_MCP_READ_HINTS,
      ngx_http_mcp_graph_read_graph, NULL },

    { "search_nodes", "Search Nodes",
      "Search for nodes in the knowledge graph based on a query: names, "
      "types and observations, whole words or word prefixes, best first",
      "{\"type\": \"object\", \"properties\": {\"query\": {\"type\": "
      "\"string\", \"description\": \"The search query to match against "
      "entity names, types, and observation content\"},"
      NGX_HTTP_MCP_PAGE_PROPS NGX_HTTP_MCP_NS_PROP "},"
      "\"required\": [\"query\"]}",
      NGX_HTTP_MCP_GRAPH_SCHEMA,
      NGX_HTTP_MCP_READ_HINTS,
      ngx_http_mcp_graph_search_nodes, NULL },

    { "open_nodes", "Open Nodes",
      "Open specific nodes in the knowledge graph by their names",
      "{\"type\": \"object\", \"properties\": {\"names\": {\"type\": "
      "\"array\", \"items\": {\"type\": \"string\"}, \"description\": "
      "\"An array of entity names to retrieve\"}," NGX_HTTP_MCP_NS_PROP "},"
      "\"required\": [\"names\"]}",
      NGX_HTTP_MCP_GRAPH_SCHEMA,
      NGX_HTTP_MCP_READ_HINTS,
      ngx_http_mcp_graph_batch_call,
      &ngx_http_mcp_graph_open_nodes },

    ngx_http_mcp_null_tool
};


static ngx_http_mcp_resource_t  ngx_http_mcp_graph_resources[] = {

    { NGX_HTTP_MCP_GRAPH_URI, "knowledge-graph", "Knowledge graph",
      "The whole knowledge graph (shared namespace) as JSON",
      "application/json", ngx_http_mcp_graph_resource, NULL },

    ngx_http_mcp_null_resource
};


static ngx_http_mcp_resource_t  ngx_http_mcp_graph_templates[] = {

    { NGX_HTTP_MCP_GRAPH_URI "/{namespace}", "knowledge-graph-namespace",
      "Knowledge graph of a namespace",
      "The knowledge graph of one namespace as JSON",
      "application/json", ngx_http_mcp_graph_resource, NULL },

    ngx_http_mcp_null_resource
};


ngx_http_mcp_provider_t  ngx_http_mcp_graph_provider = {
    ngx_http_mcp_graph_tools,
    ngx_http_mcp_graph_resources,
    ngx_http_mcp_graph_templates,
    NULL,
    NULL,
    NULL
};


/*
 * Starts a call: scope, transaction (flags as mcp_store_txn_begin()),
 * observation buffer, result arrays.  NGX_OK, or NGX_DECLINED with
 * *result set (a tool error, or NULL with err).
 */

static ngx_int_t
ngx_http_mcp_graph_begin(ngx_http_mcp_call_t *call, json_t *args,
    unsigned flags, ngx_http_mcp_graph_t *g, json_t **result,
    ngx_http_mcp_error_t *err)
{
    int  rc;

    if (ngx_http_mcp_graph_prepare(call, args, g, result, err) != NGX_OK) {
        return NGX_DECLINED;
    }

    rc = mcp_store_txn_begin(call->mmcf->store, flags, &g->txn);

    if (rc != MCP_STORE_OK) {
        *result = ngx_http_mcp_tool_error("the store failed: %s",
                                          mcp_store_strerror(rc));
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* all of a call but its transaction (a cluster's has none) */

static ngx_int_t
ngx_http_mcp_graph_prepare(ngx_http_mcp_call_t *call, json_t *args,
    ngx_http_mcp_graph_t *g, json_t **result, ngx_http_mcp_error_t *err)
{
    ngx_memzero(g, sizeof(ngx_http_mcp_graph_t));

    g->call = call;
    g->now = ngx_time();

    if (ngx_http_mcp_scope(call, args, &g->scope, result) != NGX_OK) {
        return NGX_DECLINED;
    }

    g->obs = ngx_palloc(call->r->pool,
                        MCP_STORE_OBS_MAX * sizeof(mcp_store_observation_t));
    g->entities = json_array();
    g->relations = json_array();
    g->names = json_object();

    if (g->obs == NULL || g->entities == NULL || g->relations == NULL
        || g->names == NULL)
    {
        *result = ngx_http_mcp_rpc_nomem(err);
        return NGX_DECLINED;
    }

    ngx_http_mcp_json_cleanup(call->r->pool, g->entities);
    ngx_http_mcp_json_cleanup(call->r->pool, g->relations);
    ngx_http_mcp_json_cleanup(call->r->pool, g->names);

    return NGX_OK;
}


static json_t *
ngx_http_mcp_graph_end(ngx_http_mcp_graph_t *g, int rc, json_t *result)
{
    if (g->failed) {
        json_decref(result);
        result = NULL;
    }

    result = ngx_http_mcp_txn_end(g->call, g->txn, rc, result);

    /* a batch that writes changed memory://knowledge-graph, or
     * .../{namespace} */

    if (g->op != NULL && !(g->op->flags & MCP_STORE_RDONLY)
        && result != NULL
        && !json_is_true(json_object_get(result, "isError")))
    {
        ngx_http_mcp_resource_changed(g->call,
                                      g->scope.ns_len
                                      ? NGX_HTTP_MCP_GRAPH_URI "/"
                                      : NGX_HTTP_MCP_GRAPH_URI,
                                      (u_char *) g->scope.ns,
                                      g->scope.ns_len);
    }

    return result;
}


/*
 * The array args[key] of at most NGX_HTTP_MCP_BATCH_MAX items: NULL with
 * *result set to a tool error when it is missing or too long.
 */

static json_t *
ngx_http_mcp_graph_batch(json_t *args, const char *key, json_t **result)
{
    json_t  *a;

    a = json_object_get(args, key);

    if (!json_is_array(a)) {
        *result = ngx_http_mcp_tool_error("\"%s\" must be an array", key);
        return NULL;
    }

    if (json_array_size(a) > NGX_HTTP_MCP_BATCH_MAX) {
        *result = ngx_http_mcp_tool_error("at most %d items in \"%s\" per "
                                          "call", NGX_HTTP_MCP_BATCH_MAX,
                                          key);
        return NULL;
    }

    return a;
}


/*
 * A string member of an item, or NULL with *result set to a tool error.
 */

static const char *
ngx_http_mcp_graph_member(json_t *item, const char *key, const char *what,
    size_t i, json_t **result)
{
    json_t  *v;

    v = json_object_get(item, key);

    if (!json_is_string(v) || json_string_length(v) == 0) {
        *result = ngx_http_mcp_tool_error("%s %zu: \"%s\" must be a "
                                          "non-empty string", what, i, key);
        return NULL;
    }

    /* callers go by NUL-terminated strings: "a\u0000b" must not be "a" */

    if (ngx_strlen(json_string_value(v)) != json_string_length(v)) {
        *result = ngx_http_mcp_tool_error("%s %zu: \"%s\" must not contain "
                                          "NUL", what, i, key);
        return NULL;
    }

    return json_string_value(v);
}


/*
 * The texts of an item (its member key): an array of at most
 * MCP_STORE_OBS_MAX non-empty strings, or NGX_DECLINED with *result set to
 * a tool error.  A bad text is named by its index after element
 * ("observation 2") when element is given, by the member otherwise.
 */

static ngx_int_t
ngx_http_mcp_graph_texts(json_t *texts, const char *what, size_t i,
    const char *key, const char *element, json_t **result)
{
    size_t   j;
    json_t  *text;

    if (!json_is_array(texts) || json_array_size(texts) > MCP_STORE_OBS_MAX) {
        *result = ngx_http_mcp_tool_error("%s %zu: \"%s\" must be an array "
                                          "of at most %d strings",
                                          what, i, key, MCP_STORE_OBS_MAX);
        return NGX_DECLINED;
    }

    json_array_foreach(texts, j, text) {
        if (json_is_string(text) && json_string_length(text) != 0) {
            continue;
        }

        if (element != NULL) {
            *result = ngx_http_mcp_tool_error("%s %zu: %s %zu must be a "
                                              "non-empty string",
                                              what, i, element, j);

        } else {
            *result = ngx_http_mcp_tool_error("%s %zu: \"%s\" must hold "
                                              "non-empty strings",
                                              what, i, key);
        }

        return NGX_DECLINED;
    }

    return NGX_OK;
}


static json_t *
ngx_http_mcp_graph_entity_json(ngx_http_mcp_graph_t *g,
    const mcp_store_entity_t *e)
{
    json_t  *obs, *json;
    size_t   i;

    obs = json_array();
    if (obs == NULL) {
        return NULL;
    }

    for (i = 0; i < e->nobservations; i++) {
        if (json_array_append_new(obs,
                                  json_stringn(e->observations[i].text,
                                               e->observations[i].text_len))
            != 0)
        {
            json_decref(obs);
            return NULL;
        }
    }

    json = json_pack("{s:s%, s:s%, s:o}", "name", e->name, e->name_len,
                     "entityType", e->type, e->type_len,
                     "observations", obs);

    return json;
}


static json_t *
ngx_http_mcp_graph_relation_json(const mcp_store_relation_t *r)
{
    return json_pack("{s:s%, s:s%, s:s%}", "from", r->from, r->from_len,
                     "to", r->to, r->to_len,
                     "relationType", r->type, r->type_len);
}


/*
 * Adds an entity read from the store to the result (and its name to the
 * set of names).
 */

static int
ngx_http_mcp_graph_add_entity(void *data, const mcp_store_entity_t *e)
{
    ngx_http_mcp_graph_t *g = data;

    char    name[MCP_STORE_NAME_MAX + 1];
    json_t *json;

    json = ngx_http_mcp_graph_entity_json(g, e);

    ngx_memcpy(name, e->name, e->name_len);
    name[e->name_len] = '\0';

    if (json == NULL || json_array_append_new(g->entities, json) != 0
        || json_object_set_new(g->names, name, json_true()) != 0)
    {
        g->failed = 1;
        return 1;
    }

    return 0;
}


static int
ngx_http_mcp_graph_add_relation(void *data, const mcp_store_relation_t *r)
{
    ngx_http_mcp_graph_t *g = data;

    if (json_array_append_new(g->relations, ngx_http_mcp_graph_relation_json(r))
        != 0)
    {
        g->failed = 1;
        return 1;
    }

    return 0;
}


/* relations to a result entity from one outside the result */
static int
ngx_http_mcp_graph_add_relation_to(void *data, const mcp_store_relation_t *r)
{
    ngx_http_mcp_graph_t *g = data;

    char  from[MCP_STORE_NAME_MAX + 1];

    ngx_memcpy(from, r->from, r->from_len);
    from[r->from_len] = '\0';

    if (json_object_get(g->names, from) != NULL) {
        return 0;               /* listed already, from its source */
    }

    return ngx_http_mcp_graph_add_relation(data, r);
}


/*
 * The relations from or to any entity of the result (as server-memory's
 * search_nodes and open_nodes).
 */

static int
ngx_http_mcp_graph_relations(ngx_http_mcp_graph_t *g)
{
    int          rc, more;
    size_t       i;
    json_t      *e;
    const char  *name;

    json_array_foreach(g->entities, i, e) {
        name = json_string_value(json_object_get(e, "name"));

        rc = mcp_store_relation_list(g->txn, &g->scope, name, ngx_strlen(name),
                                     NULL, 0, ngx_http_mcp_graph_add_relation,
                                     g, &more);
        if (rc == MCP_STORE_OK) {
            rc = mcp_store_relation_list_to(g->txn, &g->scope, name,
                                            ngx_strlen(name),
                                            ngx_http_mcp_graph_add_relation_to,
                                            g);
        }

        if (rc != MCP_STORE_OK) {
            return rc;
        }
    }

    return MCP_STORE_OK;
}


/*
 * {"entities": [...], "relations": [...], "nextCursor"?} as the text
 * (pretty, as server-memory prints it) and structuredContent.
 */

static json_t *
ngx_http_mcp_graph_result(ngx_http_mcp_graph_t *g, ngx_str_t *next)
{
    char    *text;
    json_t  *graph, *result;

    graph = json_pack("{s:O, s:O}", "entities", g->entities,
                      "relations", g->relations);
    if (graph == NULL) {
        return NULL;
    }

    if (mcp_store_txn_truncated(g->txn)
        && json_object_set_new(graph, "truncated", json_true()) != 0)
    {
        json_decref(graph);
        return NULL;
    }

    if (next && ngx_http_mcp_next_cursor(g->call->r->pool, graph, next)
                != NGX_OK)
    {
        json_decref(graph);
        return NULL;
    }

    text = json_dumps(graph, JSON_INDENT(2));
    if (text == NULL) {
        json_decref(graph);
        return NULL;
    }

    result = json_pack("{s:[{s:s, s:s}], s:o}", "content", "type", "text",
                       "text", text, "structuredContent", graph);
    free(text);

    return result;
}


/*
 * A result with a JSON text (pretty) and structuredContent {key: value}.
 */

static json_t *
ngx_http_mcp_graph_list_result(const char *key, json_t *value)
{
    char    *text;
    json_t  *result;

    text = json_dumps(value, JSON_INDENT(2));
    if (text == NULL) {
        return NULL;
    }

    result = json_pack("{s:[{s:s, s:s}], s:{s:O}}", "content", "type",
                       "text", "text", text, "structuredContent", key, value);
    free(text);

    return result;
}


static json_t *
ngx_http_mcp_graph_done_result(const char *message)
{
    return json_pack("{s:[{s:s, s:s}], s:{s:b, s:s}}", "content",
                     "type", "text", "text", message,
                     "structuredContent", "success", 1, "message", message);
}


/*
 * A tool that takes a batch (op, the tool's data): every item of
 * args[op->batch] checked before the transaction, so that a refused call
 * saves none, then each applied in one transaction; op->done makes the
 * result.
 */

static json_t *
ngx_http_mcp_graph_batch_call(ngx_http_mcp_call_t *call, json_t *args,
    ngx_http_mcp_error_t *err)
{
    size_t                    i;
    json_t                   *list, *item, *result;
    ngx_http_mcp_graph_t      g;
    ngx_http_mcp_graph_op_t  *op;

    op = call->data;
    result = NULL;

    list = ngx_http_mcp_graph_batch(args, op->batch, &result);
    if (list == NULL) {
        return result;
    }

    json_array_foreach(list, i, item) {
        if (op->check && op->check(op, item, i, &result) != NGX_OK) {
            return result;
        }
    }

    if (!(op->flags & MCP_STORE_RDONLY)
        && ngx_http_mcp_cluster_enabled(call->r))
    {
        return ngx_http_mcp_graph_publish(call, args, list, err);
    }

    if (ngx_http_mcp_graph_begin(call, args, op->flags, &g, &result, err)
        != NGX_OK)
    {
        return result;
    }

    return ngx_http_mcp_graph_run(&g, list);
}


/* each item of a batch applied (or recorded, or replayed): the result */

static json_t *
ngx_http_mcp_graph_run(ngx_http_mcp_graph_t *g, json_t *list)
{
    int      rc;
    size_t   i;
    json_t  *item;

    g->op = g->call->data;
    g->added = g->entities;
    rc = MCP_STORE_OK;
    item = NULL;

    json_array_foreach(list, i, item) {
        rc = g->op->apply(g, item);

        if (rc != MCP_STORE_OK || g->failed) {
            break;
        }
    }

    /* an operation that failed as a whole (not in one of its steps) */

    if (g->replay && rc == MCP_STORE_OK && g->outcome != MCP_STORE_OK) {
        rc = g->outcome;
    }

    return g->op->done ? g->op->done(g, rc, item)
                       : ngx_http_mcp_graph_batch_done(g, rc, item);
}


/*
 * A batch in a cluster: its steps recorded and published as one
 * operation; ngx_http_mcp_graph_replicated() answers once it is applied.
 */

static json_t *
ngx_http_mcp_graph_publish(ngx_http_mcp_call_t *call, json_t *args,
    json_t *list, ngx_http_mcp_error_t *err)
{
    json_t                     *result, *discard;
    mcp_store_op_t              op;
    ngx_http_mcp_graph_t        g;
    ngx_http_mcp_graph_kept_t  *kept;

    result = NULL;

    if (ngx_http_mcp_graph_prepare(call, args, &g, &result, err) != NGX_OK) {
        return result;
    }

    kept = ngx_palloc(call->r->pool, sizeof(ngx_http_mcp_graph_kept_t));
    g.steps = ngx_array_create(call->r->pool, 16, sizeof(mcp_store_step_t));

    if (kept == NULL || g.steps == NULL) {
        return ngx_http_mcp_rpc_nomem(err);
    }

    kept->args = args;
    kept->list = list;
    kept->now = g.now;

    /* the result of a recording tells nothing */

    discard = ngx_http_mcp_graph_run(&g, list);
    json_decref(discard);

    if (g.failed) {
        return ngx_http_mcp_rpc_nomem(err);
    }

    if (g.steps->nelts > MCP_STORE_OP_STEPS_MAX) {
        return ngx_http_mcp_tool_error("at most %d changes in one call in a "
                                       "cluster; nothing was saved",
                                       MCP_STORE_OP_STEPS_MAX);
    }

    ngx_memzero(&op, sizeof(mcp_store_op_t));

    op.kind = MCP_STORE_OP_MEMORY;
    op.scope = g.scope;
    op.now = g.now;
    op.steps = g.steps->elts;
    op.nitems = g.steps->nelts;

    return ngx_http_mcp_cluster_tool(call, &op, ngx_http_mcp_graph_replicated,
                                     kept, err);
}


static json_t *
ngx_http_mcp_graph_replicated(ngx_http_mcp_call_t *call, void *data,
    int outcome, ngx_http_mcp_error_t *err)
{
    ngx_http_mcp_graph_kept_t *kept = data;

    json_t                *result;
    ngx_http_mcp_graph_t   g;

    result = NULL;

    if (ngx_http_mcp_graph_prepare(call, kept->args, &g, &result, err)
        != NGX_OK)
    {
        return result;
    }

    g.now = kept->now;
    g.replay = 1;
    g.outcome = outcome;
    g.detail = ngx_http_mcp_cluster_detail(call->r, &g.ndetail);

    /* a failed operation's detail is the step that failed */

    g.failed_at = (outcome != MCP_STORE_OK && g.ndetail == 1)
                  ? (size_t) g.detail[0] : (size_t) -1;

    return ngx_http_mcp_graph_run(&g, kept->list);
}


/*
 * One change of a tool: run in the call's transaction; in a cluster,
 * recorded for the operation, or replayed from what it told once applied.
 */

static int
ngx_http_mcp_graph_step(ngx_http_mcp_graph_t *g, const mcp_store_step_t *st,
    int *done)
{
    int                rc;
    size_t             n, i;
    uint64_t           out[MCP_STORE_STEP_OUT];
    mcp_store_step_t  *rec;

    *done = 0;

    if (g->steps != NULL) {
        rec = ngx_array_push(g->steps);
        if (rec == NULL) {
            g->failed = 1;
            return MCP_STORE_OK;
        }

        *rec = *st;
        return MCP_STORE_OK;
    }

    if (g->replay) {
        i = g->at++;

        if (g->outcome != MCP_STORE_OK) {
            return (i == g->failed_at) ? g->outcome : MCP_STORE_OK;
        }

        *done = (i < g->ndetail) ? (int) g->detail[i] : 0;
        return MCP_STORE_OK;
    }

    rc = mcp_store_step_run(g->txn, &g->scope, st, g->now, out, &n);

    *done = (int) out[0];

    return rc;
}


/*
 * The result of a batch: what it added, or the message of a deletion.
 */

static json_t *
ngx_http_mcp_graph_batch_done(ngx_http_mcp_graph_t *g, int rc, json_t *item)
{
    return ngx_http_mcp_graph_end(g, rc,
                                  g->op->add
                                  ? ngx_http_mcp_graph_list_result(
                                        g->op->added, g->added)
                                  : ngx_http_mcp_graph_done_result(
                                        g->op->message));
}


/* json (stolen) into the list of what the batch added */

static void
ngx_http_mcp_graph_added(ngx_http_mcp_graph_t *g, json_t *json)
{
    if (json_array_append_new(g->added, json) != 0) {
        g->failed = 1;
    }
}


static ngx_int_t
ngx_http_mcp_graph_check_entity(ngx_http_mcp_graph_op_t *op,
    json_t *item, size_t i, json_t **result)
{
    json_t  *obs;

    if (ngx_http_mcp_graph_member(item, "name", "entity", i, result) == NULL
        || ngx_http_mcp_graph_member(item, "entityType", "entity", i, result)
           == NULL)
    {
        return NGX_DECLINED;
    }

    obs = json_object_get(item, "observations");

    return ngx_http_mcp_graph_texts(obs, "entity", i, "observations",
                                    "observation", result);
}


static int
ngx_http_mcp_graph_create_entity(ngx_http_mcp_graph_t *g, json_t *item)
{
    int                       rc, created;
    size_t                    j;
    json_t                   *name, *type, *obs, *o;
    mcp_store_step_t          st;
    mcp_store_observation_t  *texts;

    name = json_object_get(item, "name");
    type = json_object_get(item, "entityType");
    obs = json_object_get(item, "observations");

    /* a recorded step keeps its texts until the call is published */

    texts = g->obs;

    if (g->steps != NULL) {
        texts = ngx_palloc(g->call->r->pool, (json_array_size(obs) + 1)
                                             * sizeof(mcp_store_observation_t));
        if (texts == NULL) {
            g->failed = 1;
            return MCP_STORE_OK;
        }
    }

    ngx_memzero(&st, sizeof(mcp_store_step_t));
    st.kind = MCP_STORE_STEP_ENTITY_CREATE;
    st.name = json_string_value(name);
    st.name_len = json_string_length(name);
    st.type = json_string_value(type);
    st.type_len = json_string_length(type);
    st.texts = texts;
    st.ntexts = json_array_size(obs);

    json_array_foreach(obs, j, o) {
        texts[j].text = json_string_value(o);
        texts[j].text_len = json_string_length(o);
        texts[j].created_at = g->now;
    }

    rc = ngx_http_mcp_graph_step(g, &st, &created);

    /* echo what was stored, not what else the item carried */

    if (rc == MCP_STORE_OK && created) {
        ngx_http_mcp_graph_added(g, json_pack("{s:O, s:O, s:O}", "name", name,
                                              "entityType", type,
                                              "observations", obs));
    }

    return rc;
}


/*
 * An item {from, to, relationType} as r: NGX_OK, or NGX_DECLINED with a
 * tool error in *result.
 */

static ngx_int_t
ngx_http_mcp_graph_relation_arg(json_t *item, size_t i,
    mcp_store_relation_t *r, json_t **result)
{
    ngx_memzero(r, sizeof(mcp_store_relation_t));

    r->from = ngx_http_mcp_graph_member(item, "from", "relation", i, result);
    r->to = ngx_http_mcp_graph_member(item, "to", "relation", i, result);
    r->type = ngx_http_mcp_graph_member(item, "relationType", "relation", i,
                                        result);

    if (r->from == NULL || r->to == NULL || r->type == NULL) {
        return NGX_DECLINED;
    }

    r->from_len = ngx_strlen(r->from);
    r->to_len = ngx_strlen(r->to);
    r->type_len = ngx_strlen(r->type);

    return NGX_OK;
}


static ngx_int_t
ngx_http_mcp_graph_check_relation(ngx_http_mcp_graph_op_t *op,
    json_t *item, size_t i, json_t **result)
{
    mcp_store_relation_t  r;

    return ngx_http_mcp_graph_relation_arg(item, i, &r, result);
}


/*
 * create_relations and delete_relations.
 */

static int
ngx_http_mcp_graph_apply_relation(ngx_http_mcp_graph_t *g, json_t *item)
{
    int                    rc, done;
    json_t                *refused;
    mcp_store_step_t       st;
    mcp_store_relation_t   r;

    /* checked already: cannot be refused */
    (void) ngx_http_mcp_graph_relation_arg(item, 0, &r, &refused);

    ngx_memzero(&st, sizeof(mcp_store_step_t));
    st.kind = g->op->add ? MCP_STORE_STEP_RELATION_CREATE
                         : MCP_STORE_STEP_RELATION_DELETE;
    st.name = r.from;
    st.name_len = r.from_len;
    st.type = r.type;
    st.type_len = r.type_len;
    st.text = r.to;
    st.text_len = r.to_len;

    rc = ngx_http_mcp_graph_step(g, &st, &done);

    if (!g->op->add) {
        return rc;
    }

    if (rc == MCP_STORE_OK && done) {
        ngx_http_mcp_graph_added(g, ngx_http_mcp_graph_relation_json(&r));
    }

    return rc;
}


/*
 * add_observations and delete_observations: items {entityName,
 * op->texts: [texts]}.
 */

static ngx_int_t
ngx_http_mcp_graph_check_observations(ngx_http_mcp_graph_op_t *op,
    json_t *item, size_t i, json_t **result)
{
    json_t  *texts;

    if (ngx_http_mcp_graph_member(item, "entityName", op->batch, i, result)
        == NULL)
    {
        return NGX_DECLINED;
    }

    texts = json_object_get(item, op->texts);

    return ngx_http_mcp_graph_texts(texts, op->batch, i, op->texts, NULL,
                                    result);
}


static int
ngx_http_mcp_graph_apply_observations(ngx_http_mcp_graph_t *g, json_t *item)
{
    int                rc, done;
    size_t             j;
    json_t            *texts, *text, *added;
    const char        *name;
    mcp_store_step_t   st;

    name = json_string_value(json_object_get(item, "entityName"));
    texts = json_object_get(item, g->op->texts);

    ngx_memzero(&st, sizeof(mcp_store_step_t));
    st.kind = g->op->add ? MCP_STORE_STEP_OBS_ADD : MCP_STORE_STEP_OBS_DELETE;
    st.name = name;
    st.name_len = ngx_strlen(name);

    added = json_array();
    if (added == NULL
        || json_array_append_new(g->added,
                                 json_pack("{s:s, s:o}", "entityName", name,
                                           "addedObservations", added))
           != 0)
    {
        g->failed = 1;
        return MCP_STORE_OK;
    }

    rc = MCP_STORE_OK;

    json_array_foreach(texts, j, text) {
        st.text = json_string_value(text);
        st.text_len = json_string_length(text);

        rc = ngx_http_mcp_graph_step(g, &st, &done);

        if (rc != MCP_STORE_OK) {
            break;
        }

        if (g->op->add && done && json_array_append(added, text) != 0) {
            g->failed = 1;
            break;
        }
    }

    return rc;
}


static json_t *
ngx_http_mcp_graph_observations_done(ngx_http_mcp_graph_t *g, int rc,
    json_t *item)
{
    if (g->op->add && rc == MCP_STORE_NOTFOUND) {
        mcp_store_txn_abort(g->txn);
        return ngx_http_mcp_tool_error("Entity with name %s not found; "
                                       "nothing was saved",
                                       json_string_value(json_object_get(
                                           item, "entityName")));
    }

    return ngx_http_mcp_graph_batch_done(g, rc, item);
}


static ngx_int_t
ngx_http_mcp_graph_check_name(ngx_http_mcp_graph_op_t *op,
    json_t *item, size_t i, json_t **result)
{
    if (!json_is_string(item)) {
        *result = ngx_http_mcp_tool_error("%s %zu must be a string",
                                          op->batch, i);
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static int
ngx_http_mcp_graph_delete_entity(ngx_http_mcp_graph_t *g, json_t *name)
{
    int               deleted;
    mcp_store_step_t  st;

    if (json_string_length(name) == 0) {
        return MCP_STORE_OK;
    }

    ngx_memzero(&st, sizeof(mcp_store_step_t));
    st.kind = MCP_STORE_STEP_ENTITY_DELETE;
    st.name = json_string_value(name);
    st.name_len = json_string_length(name);

    return ngx_http_mcp_graph_step(g, &st, &deleted);
}


/*
 * open_nodes: names that are not entities' (or not names) are left out,
 * as server-memory does.
 */

static int
ngx_http_mcp_graph_open_node(ngx_http_mcp_graph_t *g, json_t *name)
{
    int                 rc;
    mcp_store_entity_t  e;

    if (!json_is_string(name) || json_string_length(name) == 0
        || json_string_length(name) > MCP_STORE_NAME_MAX
        || json_object_get(g->names, json_string_value(name)) != NULL)
    {
        return MCP_STORE_OK;
    }

    e.observations = g->obs;

    rc = mcp_store_entity_get(g->txn, &g->scope, json_string_value(name),
                              json_string_length(name), &e,
                              MCP_STORE_OBS_MAX, NULL);

    if (rc == MCP_STORE_NOTFOUND) {
        return MCP_STORE_OK;
    }

    if (rc == MCP_STORE_OK) {
        (void) ngx_http_mcp_graph_add_entity(g, &e);
    }

    return rc;
}


static json_t *
ngx_http_mcp_graph_opened_done(ngx_http_mcp_graph_t *g, int rc,
    json_t *item)
{
    if (rc == MCP_STORE_OK && !g->failed) {
        rc = ngx_http_mcp_graph_relations(g);
    }

    return ngx_http_mcp_graph_end(g, rc, ngx_http_mcp_graph_result(g, NULL));
}


/*
 * limit (1..1000) and cursor of read_graph and search_nodes: NGX_OK, or
 * NGX_DECLINED with a tool error in *result.
 */

static ngx_int_t
ngx_http_mcp_graph_page_args(ngx_http_mcp_call_t *call, json_t *args,
    size_t *limit, ngx_str_t *pos, json_t **result)
{
    json_t                *v;
    json_int_t             n;
    ngx_http_mcp_error_t   err;

    *limit = 0;
    v = json_object_get(args, "limit");

    if (v != NULL && !json_is_null(v)) {
        n = json_is_integer(v) ? json_integer_value(v) : 0;

        if (n < 1 || n > NGX_HTTP_MCP_GRAPH_PAGE) {
            *result = ngx_http_mcp_tool_error("limit must be an integer from "
                                              "1 to %d",
                                              NGX_HTTP_MCP_GRAPH_PAGE);
            return NGX_DECLINED;
        }

        *limit = n;
    }

    if (ngx_http_mcp_cursor_decode(call->r->pool, args, pos, &err)
        != NGX_OK)
    {
        *result = ngx_http_mcp_tool_error("invalid cursor: pass back the "
                                          "nextCursor of an earlier page");
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * The graph, or a page of its entities (in name order) with the relations
 * from or to them.
 */

static json_t *
ngx_http_mcp_graph_read(ngx_http_mcp_call_t *call, json_t *args,
    ngx_http_mcp_error_t *err)
{
    int                    rc, more;
    size_t                 limit;
    json_t                *result, *last;
    ngx_str_t              after, next;
    ngx_http_mcp_graph_t   g;

    result = NULL;

    if (ngx_http_mcp_graph_page_args(call, args, &limit, &after, &result)
        != NGX_OK
        || ngx_http_mcp_graph_begin(call, args, MCP_STORE_RDONLY, &g, &result,
                                    err)
           != NGX_OK)
    {
        return result;
    }

    ngx_str_null(&next);

    rc = mcp_store_entity_list(g.txn, &g.scope, (char *) after.data,
                               after.len, limit, g.obs, MCP_STORE_OBS_MAX,
                               ngx_http_mcp_graph_add_entity, &g, &more);

    if (rc == MCP_STORE_OK && !g.failed) {
        if (limit == 0 && after.len == 0 && !more) {
            rc = mcp_store_relation_list(g.txn, &g.scope, NULL, 0, NULL, 0,
                                         ngx_http_mcp_graph_add_relation, &g,
                                         &more);
            more = 0;

        } else {
            rc = ngx_http_mcp_graph_relations(&g);
        }
    }

    if (rc == MCP_STORE_OK && more && json_array_size(g.entities)) {
        last = json_array_get(g.entities, json_array_size(g.entities) - 1);
        next.data = (u_char *) json_string_value(json_object_get(last,
                                                                 "name"));
        next.len = ngx_strlen(next.data);
    }

    return ngx_http_mcp_graph_end(&g, rc, ngx_http_mcp_graph_result(&g,
                                                                    &next));
}


static json_t *
ngx_http_mcp_graph_read_graph(ngx_http_mcp_call_t *call, json_t *args,
    ngx_http_mcp_error_t *err)
{
    return ngx_http_mcp_graph_read(call, args, err);
}


static json_t *
ngx_http_mcp_graph_search_nodes(ngx_http_mcp_call_t *call, json_t *args,
    ngx_http_mcp_error_t *err)
{
    int                    rc;
    size_t                 limit, i, nhits, total;
    json_t                *result;
    ngx_int_t              offset;
    ngx_str_t              query, pos, next;
    mcp_store_hit_t       *hits;
    mcp_store_entity_t     e;
    ngx_http_mcp_graph_t   g;

    result = NULL;

    if (ngx_http_mcp_arg_str(args, "query", 1, &query, err) != NGX_OK) {
        return ngx_http_mcp_tool_error("%s", err->message);
    }

    if (query.len == 0) {
        /* server-memory's empty query matches everything */
        return ngx_http_mcp_graph_read(call, args, err);
    }

    if (ngx_http_mcp_graph_page_args(call, args, &limit, &pos, &result)
        != NGX_OK)
    {
        return result;
    }

    offset = pos.len ? ngx_atoi(pos.data, pos.len) : 0;

    if (offset == NGX_ERROR) {
        return ngx_http_mcp_tool_error("invalid cursor: pass back the "
                                       "nextCursor of an earlier page");
    }

    if (limit == 0) {
        limit = NGX_HTTP_MCP_GRAPH_PAGE;
    }

    hits = ngx_palloc(call->r->pool, limit * sizeof(mcp_store_hit_t));
    if (hits == NULL) {
        return ngx_http_mcp_rpc_nomem(err);
    }

    if (ngx_http_mcp_graph_begin(call, args, MCP_STORE_RDONLY, &g, &result,
                                 err)
        != NGX_OK)
    {
        return result;
    }

    rc = mcp_store_entity_search(g.txn, &g.scope, (char *) query.data,
                                 query.len, offset, hits, limit, &nhits,
                                 &total);

    for (i = 0; rc == MCP_STORE_OK && i < nhits && !g.failed
                && !mcp_store_txn_spent(g.txn); i++)
    {
        e.observations = g.obs;

        rc = mcp_store_entity_get(g.txn, &g.scope, hits[i].doc,
                                  hits[i].doc_len, &e, MCP_STORE_OBS_MAX,
                                  NULL);
        if (rc == MCP_STORE_OK) {
            (void) ngx_http_mcp_graph_add_entity(&g, &e);
        }
    }

    if (rc == MCP_STORE_OK && !g.failed) {
        rc = ngx_http_mcp_graph_relations(&g);
    }

    ngx_str_null(&next);

    /* the hits read, which the work budget may have cut short */
    nhits = i;

    if (offset + nhits < total) {
        next.data = ngx_pnalloc(call->r->pool, NGX_INT_T_LEN);
        if (next.data == NULL) {
            g.failed = 1;

        } else {
            next.len = snprintf((char *) next.data, NGX_INT_T_LEN, "%zu",
                                (size_t) offset + nhits);
        }
    }

    return ngx_http_mcp_graph_end(&g, rc, ngx_http_mcp_graph_result(&g,
                                                                    &next));
}


/*
 * memory://knowledge-graph[/{namespace}]: the whole graph as JSON.
 */

static json_t *
ngx_http_mcp_graph_resource(ngx_http_mcp_call_t *call, json_t *params,
    ngx_http_mcp_error_t *err)
{
    json_t     *args, *result, *text;
    ngx_str_t   uri;

    (void) ngx_http_mcp_arg_str(params, "uri", 1, &uri, err);

    args = json_object();
    if (args == NULL) {
        return ngx_http_mcp_rpc_nomem(err);
    }

    if (uri.len > sizeof(NGX_HTTP_MCP_GRAPH_URI)
        && json_object_set_new(args, "namespace",
                               json_stringn((char *) uri.data
                                            + sizeof(NGX_HTTP_MCP_GRAPH_URI),
                                            uri.len
                                            - sizeof(NGX_HTTP_MCP_GRAPH_URI)))
           != 0)
    {
        json_decref(args);
        return ngx_http_mcp_rpc_nomem(err);
    }

    result = ngx_http_mcp_graph_read(call, args, err);

    json_decref(args);

    if (result == NULL) {
        return NULL;
    }

    if (json_is_true(json_object_get(result, "isError"))) {
        json_decref(result);
        return ngx_http_mcp_resource_not_found(&uri, err);
    }

    text = json_object_get(json_array_get(json_object_get(result, "content"),
                                          0), "text");

    params = json_pack("{s:[{s:s%, s:s, s:O}]}", "contents",
                       "uri", uri.data, uri.len,
                       "mimeType", "application/json", "text", text);

    json_decref(result);

    return params;
}
