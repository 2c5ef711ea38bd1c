
/*
 * ngx_mcp: conversation contexts as MCP tools.  A context is an ordered
 * list of messages; context_window returns what to send to a model within
 * a token budget (the store decides what to keep, drop and summarise);
 * context_search ranks messages with BM25.  Each context is also a
 * resource, context://{id}.
 *
 * context_append and context_clear write one step each
 * (mcp_store_step_run()): in the call's transaction on a single node, as
 * an operation of the cluster's log with mcp_cluster.  The summary a
 * window stores is a cache of what the messages give: a node of a cluster
 * does not store it (the extractive summary is the same wherever it is
 * made), so that its store holds only what the log wrote.
 */


#include "ngx_http_mcp_rpc.h"
#include "ngx_http_mcp_cluster.h"


#define NGX_HTTP_MCP_CONTEXT_SCHEME   "context://"

/* the share of a window's budget a summary of dropped turns may take */
#define NGX_HTTP_MCP_SUMMARY_SHARE    0.25

#define NGX_HTTP_MCP_SEARCH_MAX       100

/* a flag of ngx_http_mcp_contexts_begin(): a write that goes through the
 * cluster's log, with no transaction of its own there */
#define NGX_HTTP_MCP_CONTEXTS_LOGGED  0x100

/*
 * A summary written by the client's model (context_window, summarizer
 * "model") starts with this, which is also how a stored one is told from
 * an extractive one; the model reads at most NGX_HTTP_MCP_SUMMARY_INPUT
 * bytes of the dropped turns, the newest.
 */
#define NGX_HTTP_MCP_MODEL_SUMMARY    "Summary of earlier turns: "
#define NGX_HTTP_MCP_SUMMARY_INPUT    16384

#define NGX_HTTP_MCP_SUMMARIZER_AUTO        0
#define NGX_HTTP_MCP_SUMMARIZER_MODEL       1
#define NGX_HTTP_MCP_SUMMARIZER_EXTRACTIVE  2


/* A window waiting for the model's summary of its dropped turns. */
typedef struct {
    mcp_store_scope_t      scope;
    ngx_str_t              id;
    uint64_t               from;        /* the dropped turns */
    uint64_t               upto;
    json_t                *structured;  /* the window, with an extractive
                                           summary */
    uint64_t               tokens;      /* of the window but the summary */
    size_t                 max_len;     /* of the summary */
    json_t                *turns;       /* "role: content" strings */
    size_t                 turns_len;
} ngx_http_mcp_contexts_model_t;


static ngx_http_mcp_handler_fn  ngx_http_mcp_contexts_append;
static ngx_http_mcp_handler_fn  ngx_http_mcp_contexts_window;
static ngx_http_mcp_handler_fn  ngx_http_mcp_contexts_search;
static ngx_http_mcp_handler_fn  ngx_http_mcp_contexts_list;
static ngx_http_mcp_handler_fn  ngx_http_mcp_contexts_clear;
static ngx_http_mcp_handler_fn  ngx_http_mcp_contexts_read;
static json_t *ngx_http_mcp_contexts_summarize(ngx_http_mcp_call_t *call,
    ngx_http_mcp_contexts_model_t *sm, ngx_http_mcp_error_t *err);
static json_t *ngx_http_mcp_contexts_summarized(ngx_http_mcp_call_t *call,
    void *data, json_t *answer, ngx_http_mcp_error_t *err);
static int ngx_http_mcp_contexts_add_turn(void *data,
    const mcp_store_message_t *m);


static const char  *ngx_http_mcp_contexts_roles[] = {
    "system", "user", "assistant", "tool", NULL
};


#define NGX_HTTP_MCP_CTX_PROPS                                                \
    "\"context_id\": {\"type\": \"string\", \"minLength\": 1, "               \
      "\"maxLength\": 256, \"description\": \"the conversation\"},"           \
    "\"namespace\": {\"type\": \"string\", \"pattern\": "                     \
      "\"^[A-Za-z0-9_.-]{0,64}$\"}"

#define NGX_HTTP_MCP_MESSAGE_SCHEMA                                           \
    "{\"type\": \"object\", \"properties\": {"                                \
    "\"role\": {\"type\": \"string\"},"                                       \
    "\"content\": {\"type\": \"string\"},"                                    \
    "\"message_id\": {\"type\": \"integer\"},"                                \
    "\"pinned\": {\"type\": \"boolean\"},"                                    \
    "\"summary\": {\"type\": \"boolean\"}},"                                  \
    "\"required\": [\"role\", \"content\"]}"


static ngx_http_mcp_tool_t  ngx_http_mcp_contexts_tools[] = {

    { "context_append", "Append to a conversation",
      "Appends a message (role system, user, assistant or tool) to a "
      "conversation context, creating it; pinned messages are always kept "
      "in windows. ttl (seconds) makes the context expire after its last "
      "append. Returns the message id and the context's token total "
      "(estimated: 4 bytes a token plus 3 a message).",
      "{\"type\": \"object\", \"properties\": {" NGX_HTTP_MCP_CTX_PROPS ","
        "\"role\": {\"type\": \"string\", \"enum\": [\"system\", \"user\", "
          "\"assistant\", \"tool\"]},"
        "\"content\": {\"type\": \"string\", \"maxLength\": 65536},"
        "\"pinned\": {\"type\": \"boolean\"},"
        "\"ttl\": {\"type\": \"integer\", \"minimum\": 1}},"
      "\"required\": [\"context_id\", \"role\", \"content\"]}",
      "{\"type\": \"object\", \"properties\": {"
        "\"context_id\": {\"type\": \"string\"},"
        "\"message_id\": {\"type\": \"integer\"},"
        "\"tokens\": {\"type\": \"integer\"},"
        "\"total_tokens\": {\"type\": \"integer\"},"
        "\"messages\": {\"type\": \"integer\"}},"
      "\"required\": [\"context_id\", \"message_id\", \"total_tokens\"]}",
      "{\"readOnlyHint\": false, \"destructiveHint\": false, "
      "\"idempotentHint\": false, \"openWorldHint\": false}",
      ngx_http_mcp_contexts_append, NULL },

    { "context_window", "Conversation window within a budget",
      "Returns the messages of a context to send to a model within "
      "max_tokens: pinned and system messages always, the most recent "
      "turns, and one summary message in place of the older turns that "
      "do not fit. With query, the turns most relevant to it are kept "
      "first, within a third of the budget left for turns, and the "
      "summary favours its words. tokens_used never exceeds max_tokens. "
      "summarizer: \"model\" has the client's model write the summary "
      "(sampling), kept and reused while the dropped turns are the same; "
      "\"extractive\" picks sentences of the dropped turns; \"auto\" "
      "(the default) is the model when the client offers sampling and "
      "there is no query.",
      "{\"type\": \"object\", \"properties\": {" NGX_HTTP_MCP_CTX_PROPS ","
        "\"max_tokens\": {\"type\": \"integer\", \"minimum\": 1},"
        "\"query\": {\"type\": \"string\"},"
        "\"summarizer\": {\"type\": \"string\", "
          "\"enum\": [\"auto\", \"model\", \"extractive\"]}},"
      "\"required\": [\"context_id\", \"max_tokens\"]}",
      "{\"type\": \"object\", \"properties\": {"
        "\"messages\": {\"type\": \"array\", \"items\": "
          NGX_HTTP_MCP_MESSAGE_SCHEMA "},"
        "\"tokens_used\": {\"type\": \"integer\"},"
        "\"max_tokens\": {\"type\": \"integer\"},"
        "\"dropped\": {\"type\": \"integer\"},"
        "\"summary\": {\"type\": [\"string\", \"null\"]},"
        "\"summarizer\": {\"type\": \"string\", "
          "\"enum\": [\"model\", \"extractive\"]}},"
      "\"required\": [\"messages\", \"tokens_used\", \"max_tokens\", "
      "\"dropped\", \"summary\"]}",
      "{\"readOnlyHint\": false, \"destructiveHint\": false, "
      "\"idempotentHint\": true, \"openWorldHint\": false}",
      ngx_http_mcp_contexts_window, NULL },

    { "context_search", "Search conversations",
      "Ranks messages by relevance to query (BM25), in one context or in "
      "all of the namespace.",
      "{\"type\": \"object\", \"properties\": {"
        "\"query\": {\"type\": \"string\"},"
        "\"context_id\": {\"type\": \"string\"},"
        "\"limit\": {\"type\": \"integer\", \"minimum\": 1, "
          "\"maximum\": 100},"
        "\"namespace\": {\"type\": \"string\"}},"
      "\"required\": [\"query\"]}",
      "{\"type\": \"object\", \"properties\": {\"results\": {\"type\": "
      "\"array\", \"items\": {\"type\": \"object\", \"properties\": {"
        "\"context_id\": {\"type\": \"string\"},"
        "\"message_id\": {\"type\": \"integer\"},"
        "\"role\": {\"type\": \"string\"},"
        "\"content\": {\"type\": \"string\"},"
        "\"score\": {\"type\": \"number\"}}}}},"
      "\"required\": [\"results\"]}",
      "{\"readOnlyHint\": true, \"openWorldHint\": false}",
      ngx_http_mcp_contexts_search, NULL },

    { "context_list", "List conversations",
      "Lists the contexts of the namespace with their sizes, 50 a page.",
      "{\"type\": \"object\", \"properties\": {"
        "\"cursor\": {\"type\": \"string\"},"
        "\"namespace\": {\"type\": \"string\"}}}",
      "{\"type\": \"object\", \"properties\": {\"contexts\": {\"type\": "
      "\"array\", \"items\": {\"type\": \"object\"}}, \"nextCursor\": "
      "{\"type\": \"string\"}}, \"required\": [\"contexts\"]}",
      "{\"readOnlyHint\": true, \"openWorldHint\": false}",
      ngx_http_mcp_contexts_list, NULL },

    { "context_clear", "Delete a conversation",
      "Deletes a context with all its messages and its summary. A very "
      "long one takes several calls: call again until cleared is true.",
      "{\"type\": \"object\", \"properties\": {" NGX_HTTP_MCP_CTX_PROPS "},"
      "\"required\": [\"context_id\"]}",
      "{\"type\": \"object\", \"properties\": {"
        "\"context_id\": {\"type\": \"string\"},"
        "\"cleared\": {\"type\": \"boolean\"}},"
      "\"required\": [\"context_id\", \"cleared\"]}",
      "{\"readOnlyHint\": false, \"destructiveHint\": true, "
      "\"idempotentHint\": true, \"openWorldHint\": false}",
      ngx_http_mcp_contexts_clear, NULL },

    ngx_http_mcp_null_tool
};


static ngx_http_mcp_resource_t  ngx_http_mcp_contexts_templates[] = {

    { NGX_HTTP_MCP_CONTEXT_SCHEME "{id}", "context", "Conversation context",
      "A conversation context (shared namespace) with its messages",
      "application/json", ngx_http_mcp_contexts_read, NULL },

    ngx_http_mcp_null_resource
};


ngx_http_mcp_provider_t  ngx_http_mcp_contexts_provider = {
    ngx_http_mcp_contexts_tools,
    NULL,
    ngx_http_mcp_contexts_templates,
    NULL,
    NULL,
    NULL
};


/* One tool call on contexts. */
typedef struct {
    ngx_http_mcp_call_t  *call;
    mcp_store_scope_t     scope;
    mcp_store_txn_t      *txn;
    ngx_str_t             id;
    json_t               *list;
    ngx_uint_t            failed;
    ngx_uint_t            changes;    /* context://{id}, once saved */
} ngx_http_mcp_contexts_t;


/* the result of a write from its outcome and what its step told */
typedef json_t *(*ngx_http_mcp_contexts_done_pt)(ngx_http_mcp_contexts_t *c,
    int rc, const uint64_t *out);


/* a write in a cluster, waiting for its operation */
typedef struct {
    ngx_http_mcp_contexts_t         c;
    ngx_http_mcp_contexts_done_pt   done;
} ngx_http_mcp_contexts_kept_t;


static json_t *ngx_http_mcp_contexts_write(ngx_http_mcp_contexts_t *c,
    mcp_store_step_t *st, ngx_http_mcp_contexts_done_pt done,
    ngx_http_mcp_error_t *err);
static json_t *ngx_http_mcp_contexts_replicated(ngx_http_mcp_call_t *call,
    void *data, int outcome, ngx_http_mcp_error_t *err);
static json_t *ngx_http_mcp_contexts_appended(ngx_http_mcp_contexts_t *c,
    int rc, const uint64_t *out);
static json_t *ngx_http_mcp_contexts_cleared(ngx_http_mcp_contexts_t *c,
    int rc, const uint64_t *out);


/*
 * Scope, context id (when required) and transaction: NGX_OK, or
 * NGX_DECLINED with *result set.
 */

static ngx_int_t
ngx_http_mcp_contexts_begin(ngx_http_mcp_call_t *call, json_t *args,
    ngx_uint_t need_id, unsigned flags, ngx_http_mcp_contexts_t *c,
    json_t **result, ngx_http_mcp_error_t *err)
{
    int  rc;

    ngx_memzero(c, sizeof(ngx_http_mcp_contexts_t));
    c->call = call;

    if (ngx_http_mcp_scope(call, args, &c->scope, result) != NGX_OK) {
        return NGX_DECLINED;
    }

    if (ngx_http_mcp_arg_str(args, "context_id", need_id, &c->id, err)
        != NGX_OK
        || (need_id && (c->id.len == 0 || c->id.len > MCP_STORE_NAME_MAX
                        || ngx_strlchr(c->id.data, c->id.data + c->id.len,
                                       '\0')
                           != NULL)))
    {
        *result = ngx_http_mcp_tool_error("context_id must be a string of "
                                          "1 to %d bytes",
                                          MCP_STORE_NAME_MAX);
        return NGX_DECLINED;
    }

    c->list = json_array();
    if (c->list == NULL) {
        *result = ngx_http_mcp_rpc_nomem(err);
        return NGX_DECLINED;
    }

    ngx_http_mcp_json_cleanup(call->r->pool, c->list);

    if (flags & NGX_HTTP_MCP_CONTEXTS_LOGGED) {
        if (ngx_http_mcp_cluster_enabled(call->r)) {
            return NGX_OK;
        }

        flags &= ~NGX_HTTP_MCP_CONTEXTS_LOGGED;
    }

    rc = mcp_store_txn_begin(call->mmcf->store, flags, &c->txn);

    if (rc != MCP_STORE_OK) {
        *result = ngx_http_mcp_tool_error("the store failed: %s",
                                          mcp_store_strerror(rc));
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static json_t *
ngx_http_mcp_contexts_end(ngx_http_mcp_contexts_t *c, int rc,
    json_t *structured)
{
    json_t  *result;

    if (structured != NULL && mcp_store_txn_truncated(c->txn)
        && json_object_set_new(structured, "truncated", json_true()) != 0)
    {
        c->failed = 1;
    }

    if (c->failed) {
        json_decref(structured);
        structured = NULL;
    }

    result = ngx_http_mcp_txn_end(c->call, c->txn, rc,
                                  ngx_http_mcp_tool_result(structured));

    /* a resource is a context of the default namespace */

    if (c->changes && c->scope.ns_len == 0 && result != NULL
        && !json_is_true(json_object_get(result, "isError")))
    {
        ngx_http_mcp_resource_changed(c->call->r,
                                      NGX_HTTP_MCP_CONTEXT_SCHEME,
                                      c->id.data, c->id.len);
    }

    return result;
}


static json_t *
ngx_http_mcp_contexts_message_json(const mcp_store_message_t *m)
{
    json_t  *json;

    json = json_pack("{s:s, s:s%, s:I}", "role",
                     ngx_http_mcp_contexts_roles[m->role & 3],
                     "content", m->content, m->content_len,
                     "message_id", (json_int_t) m->seq);

    if (json && m->pinned
        && json_object_set_new(json, "pinned", json_true()) != 0)
    {
        json_decref(json);
        return NULL;
    }

    return json;
}


/*
 * The TTL of the namespace's contexts: its own mcp_context_ttl, else the
 * one for every namespace (0: none).
 */

static int64_t
ngx_http_mcp_contexts_ttl(ngx_http_mcp_loc_conf_t *mlcf,
    mcp_store_scope_t *sc)
{
    ngx_uint_t           i;
    ngx_http_mcp_ttl_t  *t;

    if (mlcf->context_ttls) {
        t = mlcf->context_ttls->elts;

        for (i = 0; i < mlcf->context_ttls->nelts; i++) {
            if (t[i].ns.len == sc->ns_len
                && ngx_strncmp(t[i].ns.data, sc->ns, sc->ns_len) == 0)
            {
                return t[i].ttl;
            }
        }
    }

    return mlcf->context_ttl;
}


static json_t *
ngx_http_mcp_contexts_append(ngx_http_mcp_call_t *call, json_t *args,
    ngx_http_mcp_error_t *err)
{
    json_t                   *v, *result;
    int64_t                   ttl;
    ngx_str_t                 role, content;
    ngx_uint_t                i;
    ngx_http_mcp_contexts_t   c;
    mcp_store_step_t          st;

    result = NULL;

    if (ngx_http_mcp_arg_str(args, "role", 1, &role, err) != NGX_OK
        || ngx_http_mcp_arg_str(args, "content", 1, &content, err) != NGX_OK)
    {
        return ngx_http_mcp_tool_error("%s", err->message);
    }

    for (i = 0; ngx_http_mcp_contexts_roles[i]; i++) {
        if (ngx_strlen(ngx_http_mcp_contexts_roles[i]) == role.len
            && ngx_strncmp(ngx_http_mcp_contexts_roles[i], role.data,
                           role.len)
               == 0)
        {
            break;
        }
    }

    if (ngx_http_mcp_contexts_roles[i] == NULL) {
        return ngx_http_mcp_tool_error("role must be system, user, "
                                       "assistant or tool");
    }

    if (content.len > MCP_STORE_MESSAGE_MAX) {
        return ngx_http_mcp_tool_error("content is %zu bytes; the limit is "
                                       "%d", content.len,
                                       MCP_STORE_MESSAGE_MAX);
    }

    v = json_object_get(args, "ttl");
    ttl = 0;

    if (v != NULL && !json_is_null(v)) {
        ttl = json_is_integer(v) ? json_integer_value(v) : 0;

        if (ttl < 1) {
            return ngx_http_mcp_tool_error("ttl must be a whole number of "
                                           "seconds, at least 1");
        }
    }


    v = json_object_get(args, "pinned");
    if (v != NULL && !json_is_null(v) && !json_is_boolean(v)) {
        return ngx_http_mcp_tool_error("pinned must be true or false");
    }

    if (ngx_http_mcp_contexts_begin(call, args, 1,
                                    NGX_HTTP_MCP_CONTEXTS_LOGGED, &c,
                                    &result, err)
        != NGX_OK)
    {
        return result;
    }

    /* the ttl of this node's configuration travels in the step */

    if (ttl == 0) {
        ttl = ngx_http_mcp_contexts_ttl(call->mlcf, &c.scope);
    }

    ngx_memzero(&st, sizeof(mcp_store_step_t));
    st.kind = MCP_STORE_STEP_MESSAGE_APPEND;
    st.name = (char *) c.id.data;
    st.name_len = c.id.len;
    st.text = (char *) content.data;
    st.text_len = content.len;
    st.role = i;
    st.pinned = json_is_true(v);
    st.ttl = ttl;

    return ngx_http_mcp_contexts_write(&c, &st,
                                       ngx_http_mcp_contexts_appended, err);
}


static json_t *
ngx_http_mcp_contexts_appended(ngx_http_mcp_contexts_t *c, int rc,
    const uint64_t *out)
{
    c->changes = 1;

    if (rc == MCP_STORE_ETOOBIG) {
        mcp_store_txn_abort(c->txn);
        return ngx_http_mcp_tool_error("context %.*s is at its limit of %d "
                                       "messages; nothing was saved",
                                       (int) c->id.len, c->id.data,
                                       MCP_STORE_MESSAGES_MAX);
    }

    return ngx_http_mcp_contexts_end(c, rc,
                                     rc != MCP_STORE_OK ? NULL
                                     : json_pack("{s:s%, s:I, s:I, s:I, s:I}",
                                                 "context_id", c->id.data,
                                                 c->id.len,
                                                 "message_id",
                                                 (json_int_t) out[1],
                                                 "tokens",
                                                 (json_int_t) out[2],
                                                 "total_tokens",
                                                 (json_int_t) out[3],
                                                 "messages",
                                                 (json_int_t) out[4]));
}


/*
 * A write of one step: run in the call's transaction, or, in a cluster,
 * published as an operation and answered by done() once it is applied.
 */

static json_t *
ngx_http_mcp_contexts_write(ngx_http_mcp_contexts_t *c, mcp_store_step_t *st,
    ngx_http_mcp_contexts_done_pt done, ngx_http_mcp_error_t *err)
{
    int                            rc;
    size_t                         n;
    uint64_t                       out[MCP_STORE_STEP_OUT];
    mcp_store_op_t                 op;
    ngx_http_mcp_contexts_kept_t  *kept;

    if (c->txn != NULL) {
        ngx_memzero(out, sizeof(out));

        rc = mcp_store_step_run(c->txn, &c->scope, st, ngx_time(), out, &n);

        return done(c, rc, out);
    }

    kept = ngx_palloc(c->call->r->pool, sizeof(ngx_http_mcp_contexts_kept_t));
    if (kept == NULL) {
        return ngx_http_mcp_rpc_nomem(err);
    }

    kept->c = *c;
    kept->done = done;

    ngx_memzero(&op, sizeof(mcp_store_op_t));

    op.kind = MCP_STORE_OP_MEMORY;
    op.scope = c->scope;
    op.now = ngx_time();
    op.steps = st;
    op.nitems = 1;

    return ngx_http_mcp_cluster_tool(c->call, &op,
                                     ngx_http_mcp_contexts_replicated, kept,
                                     err);
}


static json_t *
ngx_http_mcp_contexts_replicated(ngx_http_mcp_call_t *call, void *data,
    int outcome, ngx_http_mcp_error_t *err)
{
    ngx_http_mcp_contexts_kept_t *kept = data;

    size_t           n;
    uint64_t         out[MCP_STORE_STEP_OUT];
    const uint64_t  *detail;

    ngx_memzero(out, sizeof(out));

    detail = ngx_http_mcp_cluster_detail(call->r, &n);

    if (outcome == MCP_STORE_OK && detail != NULL) {
        ngx_memcpy(out, detail, ngx_min(n, MCP_STORE_STEP_OUT)
                                * sizeof(uint64_t));
    }

    kept->c.call = call;

    return kept->done(&kept->c, outcome, out);
}


static json_t *
ngx_http_mcp_contexts_window(ngx_http_mcp_call_t *call, json_t *args,
    ngx_http_mcp_error_t *err)
{
    int                             rc;
    json_t                         *v, *result, *summary, *msg, *structured;
    size_t                          i;
    uint64_t                        budget;
    json_int_t                      max;
    ngx_str_t                       query, which;
    ngx_uint_t                      model, reused;
    ngx_http_mcp_contexts_t         c;
    mcp_store_context_t             ctx;
    mcp_store_window_t              w;
    ngx_http_mcp_contexts_model_t  *sm;

    result = NULL;
    sm = NULL;

    v = json_object_get(args, "max_tokens");
    max = json_is_integer(v) ? json_integer_value(v) : 0;

    if (max < 1) {
        return ngx_http_mcp_tool_error("max_tokens must be a whole number, "
                                       "at least 1");
    }

    if (ngx_http_mcp_arg_str(args, "query", 0, &query, err) != NGX_OK
        || ngx_http_mcp_arg_str(args, "summarizer", 0, &which, err)
           != NGX_OK)
    {
        return ngx_http_mcp_tool_error("%s", err->message);
    }

    /* the model writes the summary when asked to, or by default when the
     * client offers sampling; a query's summary favours its words, which
     * only the extractive one does */

    if (which.len == 0 || ngx_strcmp(which.data, "auto") == 0) {
        model = (call->client_caps & NGX_HTTP_MCP_CLIENT_SAMPLING)
                && query.len == 0;

    } else if (ngx_strcmp(which.data, "extractive") == 0) {
        model = 0;

    } else if (ngx_strcmp(which.data, "model") == 0) {
        if (!(call->client_caps & NGX_HTTP_MCP_CLIENT_SAMPLING)) {
            return ngx_http_mcp_tool_error("summarizer \"model\" needs a "
                                           "client that offers sampling");
        }

        if (query.len) {
            return ngx_http_mcp_tool_error("with a query the summary is "
                                           "extractive (it favours the "
                                           "query's words): use summarizer "
                                           "\"auto\" or \"extractive\"");
        }

        model = 1;

    } else {
        return ngx_http_mcp_tool_error("summarizer must be auto, model or "
                                       "extractive");
    }

    /* a window stores the summary it makes, a cache of what the messages
     * give; a node of a cluster writes nothing outside the log, so there
     * the window is read-only and makes its summary each time (an
     * extractive one: the model's would not be kept) */

    if (ngx_http_mcp_cluster_enabled(call->r)) {
        model = 0;
    }

    if (ngx_http_mcp_contexts_begin(call, args, 1,
                                    ngx_http_mcp_cluster_enabled(call->r)
                                    ? MCP_STORE_RDONLY : 0,
                                    &c, &result, err)
        != NGX_OK)
    {
        return result;
    }

    rc = mcp_store_context_get(c.txn, &c.scope, (char *) c.id.data, c.id.len,
                               &ctx);

    if (rc == MCP_STORE_NOTFOUND) {
        mcp_store_txn_abort(c.txn);
        return ngx_http_mcp_tool_error("no context %.*s",
                                       (int) c.id.len, c.id.data);
    }

    ngx_memzero(&w, sizeof(mcp_store_window_t));

    if (rc == MCP_STORE_OK) {
        w.messages = ngx_palloc(call->r->pool, (ctx.nmessages + 1)
                                               * sizeof(mcp_store_message_t));
        if (w.messages == NULL) {
            rc = MCP_STORE_ENOMEM;

        } else {
            rc = mcp_store_context_window(c.txn, &c.scope,
                                          (char *) c.id.data, c.id.len,
                                          (uint64_t) max,
                                          (char *) query.data, query.len,
                                          NGX_HTTP_MCP_SUMMARY_SHARE, &w,
                                          ctx.nmessages + 1);
        }
    }

    if (rc == MCP_STORE_ETOOBIG) {
        mcp_store_txn_abort(c.txn);
        return ngx_http_mcp_tool_error("the pinned and system messages of "
                                       "%.*s alone need %llu tokens, more "
                                       "than max_tokens %lld",
                                       (int) c.id.len, c.id.data,
                                       (unsigned long long) w.tokens_used,
                                       (long long) max);
    }

    summary = json_null();

    for (i = 0; rc == MCP_STORE_OK && i <= w.nmessages; i++) {

        if (i == w.summary_at && w.summary != NULL) {
            summary = json_stringn(w.summary, w.summary_len);
            msg = json_pack("{s:s, s:O, s:b}", "role", "system",
                            "content", summary, "summary", 1);

            if (msg == NULL || json_array_append_new(c.list, msg) != 0) {
                c.failed = 1;
                break;
            }
        }

        if (i < w.nmessages
            && json_array_append_new(c.list,
                                     ngx_http_mcp_contexts_message_json(
                                         &w.messages[i]))
               != 0)
        {
            c.failed = 1;
            break;
        }
    }

    structured = (rc != MCP_STORE_OK) ? NULL
                 : json_pack("{s:O, s:I, s:I, s:I, s:o}",
                             "messages", c.list,
                             "tokens_used", (json_int_t) w.tokens_used,
                             "max_tokens", max,
                             "dropped", (json_int_t) w.dropped,
                             "summary", summary);

    reused = (w.summary != NULL
              && w.summary_len >= sizeof(NGX_HTTP_MCP_MODEL_SUMMARY) - 1
              && ngx_strncmp(w.summary, NGX_HTTP_MCP_MODEL_SUMMARY,
                             sizeof(NGX_HTTP_MCP_MODEL_SUMMARY) - 1)
                 == 0);

    if (structured != NULL && w.summary != NULL
        && json_object_set_new(structured, "summarizer",
                               json_string(reused ? "model" : "extractive"))
           != 0)
    {
        c.failed = 1;
    }

    /* what the model may write: what the window leaves, within the
     * summary's share */

    budget = ngx_min((uint64_t) max - (w.tokens_used - w.summary_tokens),
                     (uint64_t) (NGX_HTTP_MCP_SUMMARY_SHARE * max));

    if (structured != NULL && model && w.summary != NULL && !reused
        && !c.failed && budget > 3 + 16)
    {
        sm = ngx_pcalloc(call->r->pool,
                         sizeof(ngx_http_mcp_contexts_model_t));

        if (sm == NULL
            || mcp_store_context_get(c.txn, &c.scope, (char *) c.id.data,
                                     c.id.len, &ctx)
               != MCP_STORE_OK
            || ctx.summary_from == 0)
        {
            sm = NULL;

        } else {
            sm->scope = c.scope;
            sm->id = c.id;
            sm->from = ctx.summary_from;
            sm->upto = ctx.summary_upto;
            sm->tokens = w.tokens_used - w.summary_tokens;
            sm->max_len = (size_t) (budget - 3) * 4;
            sm->turns = json_array();

            if (sm->turns == NULL
                || mcp_store_message_list(c.txn, &c.scope,
                                          (char *) c.id.data, c.id.len,
                                          sm->from, 0,
                                          ngx_http_mcp_contexts_add_turn,
                                          sm)
                   != MCP_STORE_OK)
            {
                json_decref(sm->turns);
                sm = NULL;

            } else {
                ngx_http_mcp_json_cleanup(call->r->pool, sm->turns);
                sm->structured = json_incref(structured);
            }
        }
    }

    result = ngx_http_mcp_contexts_end(&c, rc, structured);

    if (sm == NULL) {
        return result;
    }

    ngx_http_mcp_json_cleanup(call->r->pool, sm->structured);

    if (result == NULL || json_is_true(json_object_get(result, "isError"))) {
        return result;
    }

    /* the window is saved, with its extractive summary: the model's
     * replaces it when it comes */

    json_decref(result);

    return ngx_http_mcp_contexts_summarize(call, sm, err);
}


/* the dropped turns (not the pinned and system messages among them) */

static int
ngx_http_mcp_contexts_add_turn(void *data, const mcp_store_message_t *m)
{
    ngx_http_mcp_contexts_model_t *sm = data;

    json_t  *turn;

    if (m->seq > sm->upto) {
        return 1;
    }

    if (m->pinned || m->role == 0) {
        return 0;
    }

    turn = json_pack("s++%", ngx_http_mcp_contexts_roles[m->role & 3], ": ",
                     m->content, m->content_len);

    if (turn == NULL || json_array_append_new(sm->turns, turn) != 0) {
        return 1;
    }

    sm->turns_len += m->content_len + 16;

    return 0;
}


/*
 * Asks the client's model for a summary of the newest dropped turns
 * within NGX_HTTP_MCP_SUMMARY_INPUT bytes, in at most the summary's
 * budget.
 */

static json_t *
ngx_http_mcp_contexts_summarize(ngx_http_mcp_call_t *call,
    ngx_http_mcp_contexts_model_t *sm, ngx_http_mcp_error_t *err)
{
    u_char      *p, *text;
    size_t       i, n, len, size;
    json_t      *params;
    const char  *turn;

    static const char  ask[] =
        "Summarise these earlier turns of a conversation for whoever "
        "continues it, in a few sentences: keep facts, names, numbers and "
        "decisions.\n\n";

    n = json_array_size(sm->turns);
    size = 0;

    for (i = n; i > 0; i--) {
        len = json_string_length(json_array_get(sm->turns, i - 1)) + 1;

        if (size + len > NGX_HTTP_MCP_SUMMARY_INPUT && i < n) {
            break;
        }

        size += len;
    }

    text = ngx_pnalloc(call->r->pool, sizeof(ask) + size);
    if (text == NULL) {
        return ngx_http_mcp_rpc_nomem(err);
    }

    p = ngx_cpymem(text, ask, sizeof(ask) - 1);

    for ( /* void */ ; i < n; i++) {
        turn = json_string_value(json_array_get(sm->turns, i));
        len = json_string_length(json_array_get(sm->turns, i));

        /* the newest alone may be over the input size: its end */

        if (len > NGX_HTTP_MCP_SUMMARY_INPUT) {
            turn += len - NGX_HTTP_MCP_SUMMARY_INPUT;
            len = NGX_HTTP_MCP_SUMMARY_INPUT;
        }

        p = ngx_cpymem(p, turn, len);
        *p++ = '\n';
    }

    params = json_pack("{s:[{s:s, s:{s:s, s:s%}}], s:s, s:s, s:I}",
                       "messages", "role", "user", "content",
                       "type", "text", "text", text, (size_t) (p - text),
                       "systemPrompt", "You write short, factual summaries.",
                       "includeContext", "none",
                       "maxTokens", (json_int_t) (sm->max_len / 4));

    return ngx_http_mcp_ask(call, "sampling/createMessage", params,
                            ngx_http_mcp_contexts_summarized, sm, err);
}


/*
 * The model's summary: stored in place of the extractive one (unless the
 * dropped turns changed meanwhile), and in the window.  Without one (the
 * client refused, or did not answer in time) the window keeps the
 * extractive summary and says why.
 */

static json_t *
ngx_http_mcp_contexts_summarized(ngx_http_mcp_call_t *call, void *data,
    json_t *answer, ngx_http_mcp_error_t *err)
{
    ngx_http_mcp_contexts_model_t *sm = data;

    int                   rc;
    u_char               *full;
    size_t                len, n, i;
    json_t               *content, *msg, *summary;
    const char           *text;
    mcp_store_txn_t      *txn;
    mcp_store_context_t   ctx;

    content = json_object_get(json_object_get(answer, "result"), "content");
    text = json_string_value(json_object_get(content, "text"));

    if (text == NULL) {
        if (json_object_set_new(sm->structured, "summarizer_error",
                                json_string(answer == NULL
                                            ? "the client did not answer "
                                              "sampling/createMessage in "
                                              "time"
                                            : "the client's model gave no "
                                              "text"))
            != 0)
        {
            return ngx_http_mcp_rpc_nomem(err);
        }

        return ngx_http_mcp_tool_result(json_incref(sm->structured));
    }

    /* within the budget, cut at a character's start */

    n = sizeof(NGX_HTTP_MCP_MODEL_SUMMARY) - 1;
    len = ngx_min(ngx_strlen(text), sm->max_len - n);

    while (len && len < ngx_strlen(text)
           && ((u_char) text[len] & 0xc0) == 0x80)
    {
        len--;
    }

    full = ngx_pnalloc(call->r->pool, n + len);
    if (full == NULL) {
        return ngx_http_mcp_rpc_nomem(err);
    }

    ngx_memcpy(ngx_cpymem(full, NGX_HTTP_MCP_MODEL_SUMMARY, n), text, len);
    len += n;

    rc = mcp_store_txn_begin(call->mmcf->store, 0, &txn);

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_context_get(txn, &sm->scope, (char *) sm->id.data,
                                   sm->id.len, &ctx);

        if (rc == MCP_STORE_OK
            && ctx.summary_from == sm->from && ctx.summary_upto == sm->upto)
        {
            rc = mcp_store_context_summary(txn, &sm->scope,
                                           (char *) sm->id.data, sm->id.len,
                                           (char *) full, len, sm->from,
                                           sm->upto);
        }

        if (rc == MCP_STORE_OK) {
            rc = mcp_store_txn_commit(txn);

        } else {
            mcp_store_txn_abort(txn);
        }
    }

    if (rc != MCP_STORE_OK) {
        ngx_log_error(NGX_LOG_WARN, call->r->connection->log, 0,
                      "mcp: the model's summary of context \"%V\" is not "
                      "kept: %s", &sm->id, mcp_store_strerror(rc));
    }

    summary = json_stringn((char *) full, len);

    json_array_foreach(json_object_get(sm->structured, "messages"), i, msg) {
        if (json_is_true(json_object_get(msg, "summary"))
            && json_object_set(msg, "content", summary) != 0)
        {
            summary = NULL;
        }
    }

    if (summary == NULL
        || json_object_set_new(sm->structured, "summary", summary) != 0
        || json_object_set_new(sm->structured, "summarizer",
                               json_string("model"))
           != 0
        || json_object_set_new(sm->structured, "tokens_used",
                               json_integer((json_int_t)
                                   (sm->tokens + mcp_store_tokens(len))))
           != 0)
    {
        return ngx_http_mcp_rpc_nomem(err);
    }

    return ngx_http_mcp_tool_result(json_incref(sm->structured));
}


/*
 * A walk's item: json (stolen) into the list.  0, or 1 (stop the walk)
 * when out of memory.
 */

static int
ngx_http_mcp_contexts_keep(ngx_http_mcp_contexts_t *c, json_t *json)
{
    if (json_array_append_new(c->list, json) != 0) {
        c->failed = 1;
        return 1;
    }

    return 0;
}


static int
ngx_http_mcp_contexts_add_message(void *data, const mcp_store_message_t *m)
{
    return ngx_http_mcp_contexts_keep(data,
                                      ngx_http_mcp_contexts_message_json(m));
}


/* context_search reads one message from a hit's seq: the first */

static int
ngx_http_mcp_contexts_add_first_message(void *data,
    const mcp_store_message_t *m)
{
    (void) ngx_http_mcp_contexts_add_message(data, m);

    return 1;
}


static json_t *
ngx_http_mcp_contexts_search(ngx_http_mcp_call_t *call, json_t *args,
    ngx_http_mcp_error_t *err)
{
    int                       rc;
    json_t                   *v, *result, *item;
    size_t                    i, nhits, total, limit, before;
    ngx_str_t                 query;
    mcp_store_hit_t          *hits;
    ngx_http_mcp_contexts_t   c;

    result = NULL;

    if (ngx_http_mcp_arg_str(args, "query", 1, &query, err) != NGX_OK) {
        return ngx_http_mcp_tool_error("%s", err->message);
    }

    v = json_object_get(args, "limit");
    limit = 10;

    if (v != NULL && !json_is_null(v)) {
        limit = json_is_integer(v) ? (size_t) json_integer_value(v) : 0;

        if (limit < 1 || limit > NGX_HTTP_MCP_SEARCH_MAX) {
            return ngx_http_mcp_tool_error("limit must be an integer from 1 "
                                           "to %d", NGX_HTTP_MCP_SEARCH_MAX);
        }
    }

    hits = ngx_palloc(call->r->pool, limit * sizeof(mcp_store_hit_t));
    if (hits == NULL) {
        return ngx_http_mcp_rpc_nomem(err);
    }

    if (ngx_http_mcp_contexts_begin(call, args, 0, MCP_STORE_RDONLY, &c,
                                    &result, err)
        != NGX_OK)
    {
        return result;
    }

    rc = mcp_store_message_search(c.txn, &c.scope, (char *) c.id.data,
                                  c.id.len, (char *) query.data, query.len,
                                  0, hits, limit, &nhits, &total);

    /* the hits read while the work budget lasts */

    for (i = 0; rc == MCP_STORE_OK && i < nhits && !c.failed
                && !mcp_store_txn_spent(c.txn); i++)
    {
        before = json_array_size(c.list);

        rc = mcp_store_message_list(c.txn, &c.scope, hits[i].doc,
                                    hits[i].doc_len, hits[i].seq, 0,
                                    ngx_http_mcp_contexts_add_first_message,
                                    &c);

        item = json_array_get(c.list, before);

        if (item == NULL
            || json_object_set_new(item, "context_id",
                                   json_stringn(hits[i].doc,
                                                hits[i].doc_len)) != 0
            || json_object_set_new(item, "score", json_real(hits[i].score))
               != 0)
        {
            c.failed = 1;
        }
    }

    return ngx_http_mcp_contexts_end(&c, rc,
                                     rc != MCP_STORE_OK ? NULL
                                     : json_pack("{s:O}", "results", c.list));
}


static int
ngx_http_mcp_contexts_add(void *data, const mcp_store_context_t *ctx)
{
    json_t  *json;

    json = json_pack("{s:s%, s:I, s:I}", "context_id", ctx->id, ctx->id_len,
                     "messages", (json_int_t) ctx->nmessages,
                     "tokens", (json_int_t) ctx->tokens);

    if (json != NULL
        && (ngx_http_mcp_json_time(json, "updated_at", ctx->updated_at)
            != NGX_OK
            || ngx_http_mcp_json_time(json, "expires_at", ctx->expires_at)
               != NGX_OK))
    {
        json_decref(json);
        json = NULL;
    }

    return ngx_http_mcp_contexts_keep(data, json);
}


static json_t *
ngx_http_mcp_contexts_list(ngx_http_mcp_call_t *call, json_t *args,
    ngx_http_mcp_error_t *err)
{
    int                       rc, more;
    json_t                   *result, *structured, *last;
    ngx_str_t                 after, next;
    ngx_http_mcp_contexts_t   c;

    result = NULL;

    if (ngx_http_mcp_cursor_decode(call->r->pool, args, &after, err)
        != NGX_OK)
    {
        return ngx_http_mcp_tool_error("invalid cursor: pass back the "
                                       "nextCursor of an earlier page");
    }

    if (ngx_http_mcp_contexts_begin(call, args, 0, MCP_STORE_RDONLY, &c,
                                    &result, err)
        != NGX_OK)
    {
        return result;
    }

    rc = mcp_store_context_list(c.txn, &c.scope, (char *) after.data,
                                after.len, NGX_HTTP_MCP_PAGE,
                                ngx_http_mcp_contexts_add, &c, &more);

    structured = (rc == MCP_STORE_OK)
                 ? json_pack("{s:O}", "contexts", c.list) : NULL;

    if (structured != NULL && more && json_array_size(c.list)) {
        last = json_array_get(c.list, json_array_size(c.list) - 1);
        next.data = (u_char *) json_string_value(json_object_get(last,
                                                            "context_id"));
        next.len = json_string_length(json_object_get(last, "context_id"));

        if (ngx_http_mcp_next_cursor(call->r->pool, structured, &next)
            != NGX_OK)
        {
            c.failed = 1;
        }
    }

    return ngx_http_mcp_contexts_end(&c, rc, structured);
}


static json_t *
ngx_http_mcp_contexts_clear(ngx_http_mcp_call_t *call, json_t *args,
    ngx_http_mcp_error_t *err)
{
    json_t                   *result;
    mcp_store_step_t          st;
    ngx_http_mcp_contexts_t   c;

    result = NULL;

    if (ngx_http_mcp_contexts_begin(call, args, 1,
                                    NGX_HTTP_MCP_CONTEXTS_LOGGED, &c,
                                    &result, err)
        != NGX_OK)
    {
        return result;
    }

    ngx_memzero(&st, sizeof(mcp_store_step_t));
    st.kind = MCP_STORE_STEP_CONTEXT_DELETE;
    st.name = (char *) c.id.data;
    st.name_len = c.id.len;

    return ngx_http_mcp_contexts_write(&c, &st, ngx_http_mcp_contexts_cleared,
                                       err);
}


/* cleared in part (out[0] 2): the budget ended it, a later call goes on */

static json_t *
ngx_http_mcp_contexts_cleared(ngx_http_mcp_contexts_t *c, int rc,
    const uint64_t *out)
{
    json_t  *json;

    c->changes = 1;

    if (rc == MCP_STORE_NOTFOUND) {
        mcp_store_txn_abort(c->txn);
        return ngx_http_mcp_tool_error("no context %.*s",
                                       (int) c->id.len, c->id.data);
    }

    json = NULL;

    if (rc == MCP_STORE_OK) {
        json = json_pack("{s:s%, s:b}", "context_id", c->id.data, c->id.len,
                         "cleared", out[0] == 1);

        /* on a single node the transaction says so itself */

        if (json != NULL && c->txn == NULL && out[0] == 2
            && json_object_set_new(json, "truncated", json_true()) != 0)
        {
            c->failed = 1;
        }
    }

    return ngx_http_mcp_contexts_end(c, rc, json);
}


/*
 * context://{id}: the context and its messages, as JSON.
 */

static json_t *
ngx_http_mcp_contexts_read(ngx_http_mcp_call_t *call, json_t *params,
    ngx_http_mcp_error_t *err)
{
    int                       rc;
    json_t                   *args, *result, *json;
    ngx_str_t                 uri;
    ngx_http_mcp_contexts_t   c;
    mcp_store_context_t       ctx;

    result = NULL;

    (void) ngx_http_mcp_arg_str(params, "uri", 1, &uri, err);

    args = json_pack("{s:s%}", "context_id",
                     uri.data + sizeof(NGX_HTTP_MCP_CONTEXT_SCHEME) - 1,
                     uri.len - (sizeof(NGX_HTTP_MCP_CONTEXT_SCHEME) - 1));
    if (args == NULL) {
        return ngx_http_mcp_rpc_nomem(err);
    }

    ngx_http_mcp_json_cleanup(call->r->pool, args);

    if (ngx_http_mcp_contexts_begin(call, args, 1, MCP_STORE_RDONLY, &c,
                                    &result, err)
        != NGX_OK)
    {
        json_decref(result);
        goto not_found;
    }

    rc = mcp_store_context_get(c.txn, &c.scope, (char *) c.id.data, c.id.len,
                               &ctx);

    if (rc == MCP_STORE_OK) {
        rc = mcp_store_message_list(c.txn, &c.scope, (char *) c.id.data,
                                    c.id.len, 1, 0,
                                    ngx_http_mcp_contexts_add_message, &c);
    }

    json = NULL;

    if (rc == MCP_STORE_OK && !c.failed) {
        json = json_pack("{s:s%, s:I, s:O}", "context_id", c.id.data,
                         c.id.len, "tokens", (json_int_t) ctx.tokens,
                         "messages", c.list);
    }

    if (json != NULL && mcp_store_txn_truncated(c.txn)
        && json_object_set_new(json, "truncated", json_true()) != 0)
    {
        json_decref(json);
        json = NULL;
    }

    mcp_store_txn_abort(c.txn);

    if (json == NULL) {
        goto not_found;
    }

    return ngx_http_mcp_resource_json(&uri, json, err);

not_found:

    return ngx_http_mcp_resource_not_found(&uri, err);
}
