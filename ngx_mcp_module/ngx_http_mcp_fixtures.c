
/*
 * ngx_mcp: the fixtures the MCP conformance suite calls (tools, resources
 * and prompts named test_* and test://...).  Compiled in, offered only
 * where "mcp_conformance_fixtures on;" is set.
 *
 * test_sampling and the test_elicitation* tools ask the client during the
 * call (ngx_http_mcp_ask()): the answer comes in another POST, which any
 * worker may accept, and the call goes on where it asked.
 */


#include "ngx_http_mcp_rpc.h"


/* a 1x1 PNG, and a 16-bit PCM WAV of one silent sample at 8 kHz */
#define NGX_HTTP_MCP_FIXTURE_PNG                                              \
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAF"    \
    "BQIAX8jx0gAAAABJRU5ErkJggg=="

#define NGX_HTTP_MCP_FIXTURE_WAV                                              \
    "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQIAAAAAAA=="

#define NGX_HTTP_MCP_NO_ARGS                                                  \
    "{\"type\": \"object\", \"properties\": {}}"

/* content items, and results of tools made of them (the tools' data) */
#define ngx_http_mcp_fixture_text(text)                                       \
    "{\"type\": \"text\", \"text\": \"" text "\"}"

#define ngx_http_mcp_fixture_resource(uri, type, text)                        \
    "{\"type\": \"resource\", \"resource\": {\"uri\": \"" uri "\", "          \
    "\"mimeType\": \"" type "\", \"text\": \"" text "\"}}"

#define NGX_HTTP_MCP_FIXTURE_IMAGE                                            \
    "{\"type\": \"image\", \"data\": \"" NGX_HTTP_MCP_FIXTURE_PNG "\", "      \
    "\"mimeType\": \"image/png\"}"

#define ngx_http_mcp_fixture_result(content)                                  \
    "{\"content\": [" content "]}"

#define NGX_HTTP_MCP_TEMPLATE_PREFIX  "test://template/"
#define NGX_HTTP_MCP_TEMPLATE_SUFFIX  "/data"


static ngx_http_mcp_handler_fn  ngx_http_mcp_fixture_fixed;
static ngx_http_mcp_handler_fn  ngx_http_mcp_fixture_tool_with_logging;
static ngx_http_mcp_handler_fn  ngx_http_mcp_fixture_tool_with_progress;
static ngx_http_mcp_handler_fn  ngx_http_mcp_fixture_sampling;
static ngx_http_mcp_handler_fn  ngx_http_mcp_fixture_elicitation;
static ngx_http_mcp_handler_fn  ngx_http_mcp_fixture_elicit_fixed;
static ngx_http_mcp_handler_fn  ngx_http_mcp_fixture_reconnection;
static json_t *ngx_http_mcp_fixture_sampled(ngx_http_mcp_call_t *call,
    void *data, json_t *answer, ngx_http_mcp_error_t *err);
static json_t *ngx_http_mcp_fixture_elicited(ngx_http_mcp_call_t *call,
    void *data, json_t *answer, ngx_http_mcp_error_t *err);
static ngx_http_mcp_handler_fn  ngx_http_mcp_fixture_read_fixed;
static ngx_http_mcp_handler_fn  ngx_http_mcp_fixture_read_template;
static ngx_http_mcp_handler_fn  ngx_http_mcp_fixture_simple_prompt;
static ngx_http_mcp_handler_fn  ngx_http_mcp_fixture_prompt_with_arguments;
static ngx_http_mcp_handler_fn  ngx_http_mcp_fixture_prompt_with_resource;
static ngx_http_mcp_handler_fn  ngx_http_mcp_fixture_prompt_with_image;
static ngx_int_t ngx_http_mcp_fixture_complete(ngx_http_mcp_call_t *call,
    json_t *ref, ngx_str_t *name, ngx_str_t *value, json_t *values);


static ngx_http_mcp_tool_t  ngx_http_mcp_fixture_tools[] = {

    { "test_simple_text", "Simple text",
      "Returns one text content item.",
      NGX_HTTP_MCP_NO_ARGS, NULL, NULL,
      ngx_http_mcp_fixture_fixed,
      ngx_http_mcp_fixture_result(
          ngx_http_mcp_fixture_text("This is a simple text response for "
                                    "testing.")) },

    { "test_image_content", "Image content",
      "Returns one image content item, a 1x1 PNG.",
      NGX_HTTP_MCP_NO_ARGS, NULL, NULL,
      ngx_http_mcp_fixture_fixed,
      ngx_http_mcp_fixture_result(NGX_HTTP_MCP_FIXTURE_IMAGE) },

    { "test_audio_content", "Audio content",
      "Returns one audio content item, a short WAV.",
      NGX_HTTP_MCP_NO_ARGS, NULL, NULL,
      ngx_http_mcp_fixture_fixed,
      ngx_http_mcp_fixture_result(
          "{\"type\": \"audio\", \"data\": \"" NGX_HTTP_MCP_FIXTURE_WAV "\", "
          "\"mimeType\": \"audio/wav\"}") },

    { "test_embedded_resource", "Embedded resource",
      "Returns one embedded text resource.",
      NGX_HTTP_MCP_NO_ARGS, NULL, NULL,
      ngx_http_mcp_fixture_fixed,
      ngx_http_mcp_fixture_result(
          ngx_http_mcp_fixture_resource("test://embedded-resource",
                                        "text/plain",
                                        "This is an embedded resource "
                                        "content.")) },

    { "test_multiple_content_types", "Multiple content types",
      "Returns text, an image and an embedded resource.",
      NGX_HTTP_MCP_NO_ARGS, NULL, NULL,
      ngx_http_mcp_fixture_fixed,
      ngx_http_mcp_fixture_result(
          ngx_http_mcp_fixture_text("Multiple content types test:") ", "
          NGX_HTTP_MCP_FIXTURE_IMAGE ", "
          ngx_http_mcp_fixture_resource("test://mixed-content-resource",
                                        "application/json",
                                        "{\\\"test\\\":\\\"data\\\","
                                        "\\\"value\\\":123}")) },

    { "test_tool_with_logging", "Tool with logging",
      "Sends three log messages at level info before its result.",
      NGX_HTTP_MCP_NO_ARGS, NULL, NULL,
      ngx_http_mcp_fixture_tool_with_logging,
      ngx_http_mcp_fixture_result(
          ngx_http_mcp_fixture_text("Logging test completed")) },

    { "test_tool_with_progress", "Tool with progress",
      "Reports progress 0, 50 and 100 of 100 before its result, when the "
      "request carries a progressToken.",
      NGX_HTTP_MCP_NO_ARGS, NULL, NULL,
      ngx_http_mcp_fixture_tool_with_progress,
      ngx_http_mcp_fixture_result(
          ngx_http_mcp_fixture_text("Progress test completed")) },

    { "test_error_handling", "Error handling",
      "Always fails: a result with isError.",
      NGX_HTTP_MCP_NO_ARGS, NULL, NULL,
      ngx_http_mcp_fixture_fixed,
      "{\"content\": ["
      ngx_http_mcp_fixture_text("This tool intentionally returns an error "
                                "for testing")
      "], \"isError\": true}" },

    /* SEP-1613: the 2020-12 keywords reach the client as written */

    { "json_schema_2020_12_tool", "JSON Schema 2020-12",
      "Tool with JSON Schema 2020-12 features.",
      "{\"$schema\": \"https://json-schema.org/draft/2020-12/schema\", "
      "\"type\": \"object\", "
      "\"$defs\": {\"address\": {\"type\": \"object\", \"properties\": "
        "{\"street\": {\"type\": \"string\"}, "
        "\"city\": {\"type\": \"string\"}}}}, "
      "\"properties\": {\"name\": {\"type\": \"string\"}, "
        "\"address\": {\"$ref\": \"#/$defs/address\"}}, "
      "\"additionalProperties\": false}",
      NULL, NULL,
      ngx_http_mcp_fixture_fixed,
      ngx_http_mcp_fixture_result(
          ngx_http_mcp_fixture_text("JSON Schema 2020-12 tool called")) },

    /* requests to the client during the call */

    { "test_sampling", "Sampling",
      "Asks the client's model to answer prompt (sampling/createMessage).",
      "{\"type\": \"object\", \"properties\": {\"prompt\": "
      "{\"type\": \"string\", \"description\": \"The prompt to send to "
      "the LLM\"}}, \"required\": [\"prompt\"]}",
      NULL, NULL,
      ngx_http_mcp_fixture_sampling, NULL },

    { "test_elicitation", "Elicitation",
      "Asks the user for a username and an email (elicitation/create).",
      "{\"type\": \"object\", \"properties\": {\"message\": "
      "{\"type\": \"string\", \"description\": \"The message to show "
      "the user\"}}, \"required\": [\"message\"]}",
      NULL, NULL,
      ngx_http_mcp_fixture_elicitation,
      "{\"type\": \"object\", \"properties\": {"
        "\"username\": {\"type\": \"string\", "
          "\"description\": \"User's response\"}, "
        "\"email\": {\"type\": \"string\", "
          "\"description\": \"User's email address\"}}, "
      "\"required\": [\"username\", \"email\"]}" },

    /* SEP-1034: a default for each primitive type */

    { "test_elicitation_sep1034_defaults", "Elicitation with defaults",
      "Asks the user for fields of every primitive type, with defaults.",
      NGX_HTTP_MCP_NO_ARGS, NULL, NULL,
      ngx_http_mcp_fixture_elicit_fixed,
      "{\"message\": \"Test client default value handling - please "
      "accept with defaults\", \"requestedSchema\": "
      "{\"type\": \"object\", \"properties\": {"
        "\"name\": {\"type\": \"string\", \"description\": "
          "\"User name\", \"default\": \"John Doe\"}, "
        "\"age\": {\"type\": \"integer\", \"description\": "
          "\"User age\", \"default\": 30}, "
        "\"score\": {\"type\": \"number\", \"description\": "
          "\"User score\", \"default\": 95.5}, "
        "\"status\": {\"type\": \"string\", \"description\": "
          "\"User status\", \"enum\": [\"active\", \"inactive\", "
          "\"pending\"], \"default\": \"active\"}, "
        "\"verified\": {\"type\": \"boolean\", \"description\": "
          "\"Verification status\", \"default\": true}}}}" },

    /* SEP-1330: the five kinds of enums */

    { "test_elicitation_sep1330_enums", "Elicitation with enums",
      "Asks the user to choose, in each kind of single and multiple "
      "choice.",
      NGX_HTTP_MCP_NO_ARGS, NULL, NULL,
      ngx_http_mcp_fixture_elicit_fixed,
      "{\"message\": \"Test enum schema variants\", "
      "\"requestedSchema\": {\"type\": \"object\", \"properties\": {"
        "\"untitledSingle\": {\"type\": \"string\", "
          "\"enum\": [\"option1\", \"option2\", \"option3\"]}, "
        "\"titledSingle\": {\"type\": \"string\", \"oneOf\": ["
          "{\"const\": \"value1\", \"title\": \"First Option\"}, "
          "{\"const\": \"value2\", \"title\": \"Second Option\"}, "
          "{\"const\": \"value3\", \"title\": \"Third Option\"}]}, "
        "\"legacyEnum\": {\"type\": \"string\", "
          "\"enum\": [\"opt1\", \"opt2\", \"opt3\"], "
          "\"enumNames\": [\"Option One\", \"Option Two\", "
          "\"Option Three\"]}, "
        "\"untitledMulti\": {\"type\": \"array\", \"items\": "
          "{\"type\": \"string\", "
          "\"enum\": [\"option1\", \"option2\", \"option3\"]}}, "
        "\"titledMulti\": {\"type\": \"array\", \"items\": "
          "{\"anyOf\": ["
          "{\"const\": \"value1\", \"title\": \"First Choice\"}, "
          "{\"const\": \"value2\", \"title\": \"Second Choice\"}, "
          "{\"const\": \"value3\", \"title\": \"Third Choice\"}]}}"
      "}}}" },

    /* SEP-1699: the response stream ends before the result, which the
     * client fetches with GET and Last-Event-ID */

    { "test_reconnection", "Reconnection",
      "Ends its response stream before its result: the client resumes "
      "the stream to get it.",
      NGX_HTTP_MCP_NO_ARGS, NULL, NULL,
      ngx_http_mcp_fixture_reconnection,
      ngx_http_mcp_fixture_result(
          ngx_http_mcp_fixture_text("Reconnection test completed "
                                    "successfully")) },

    ngx_http_mcp_null_tool
};


static ngx_http_mcp_resource_t  ngx_http_mcp_fixture_resources[] = {

    { "test://static-text", "static-text", "Static text",
      "A fixed text resource.",
      "text/plain", ngx_http_mcp_fixture_read_fixed,
      "{\"mimeType\": \"text/plain\", \"text\": \"This is the content of the "
      "static text resource.\"}" },

    { "test://static-binary", "static-binary", "Static binary",
      "A fixed binary resource, a 1x1 PNG.",
      "image/png", ngx_http_mcp_fixture_read_fixed,
      "{\"mimeType\": \"image/png\", "
      "\"blob\": \"" NGX_HTTP_MCP_FIXTURE_PNG "\"}" },

    { "test://watched-resource", "watched-resource", "Watched resource",
      "A text resource to subscribe to.",
      "text/plain", ngx_http_mcp_fixture_read_fixed,
      "{\"mimeType\": \"text/plain\", \"text\": \"This is the content of the "
      "watched resource.\"}" },

    ngx_http_mcp_null_resource
};


static ngx_http_mcp_resource_t  ngx_http_mcp_fixture_templates[] = {

    { NGX_HTTP_MCP_TEMPLATE_PREFIX "{id}" NGX_HTTP_MCP_TEMPLATE_SUFFIX,
      "template-data", "Template data",
      "JSON data for any id.",
      "application/json", ngx_http_mcp_fixture_read_template, NULL },

    ngx_http_mcp_null_resource
};


static ngx_http_mcp_prompt_t  ngx_http_mcp_fixture_prompts[] = {

    { "test_simple_prompt", "Simple prompt",
      "One user message of text, no arguments.",
      NULL,
      ngx_http_mcp_fixture_simple_prompt },

    { "test_prompt_with_arguments", "Prompt with arguments",
      "One user message that quotes both arguments.",
      "[{\"name\": \"arg1\", \"description\": \"First argument\", "
      "\"required\": true},"
      " {\"name\": \"arg2\", \"description\": \"Second argument\", "
      "\"required\": true}]",
      ngx_http_mcp_fixture_prompt_with_arguments },

    { "test_prompt_with_embedded_resource", "Prompt with embedded resource",
      "A user message embedding the resource resourceUri, then one of "
      "text.",
      "[{\"name\": \"resourceUri\", \"description\": \"URI of the resource "
      "to embed\", \"required\": true}]",
      ngx_http_mcp_fixture_prompt_with_resource },

    { "test_prompt_with_image", "Prompt with image",
      "A user message with a 1x1 PNG, then one of text.",
      NULL,
      ngx_http_mcp_fixture_prompt_with_image },

    ngx_http_mcp_null_prompt
};


ngx_http_mcp_provider_t  ngx_http_mcp_fixtures_provider = {
    ngx_http_mcp_fixture_tools,
    ngx_http_mcp_fixture_resources,
    ngx_http_mcp_fixture_templates,
    ngx_http_mcp_fixture_prompts,
    NULL,
    ngx_http_mcp_fixture_complete
};


/*
 * Every result below is built by one json_pack() of items that may
 * themselves have failed (json_pack() then fails too): a NULL at the end
 * means out of memory.
 */

static json_t *
ngx_http_mcp_fixture_done(json_t *result, ngx_http_mcp_error_t *err)
{
    if (result == NULL) {
        return ngx_http_mcp_rpc_nomem(err);
    }

    return result;
}


/*
 * A tool whose result is always the same: its data, a JSON text.
 */

static json_t *
ngx_http_mcp_fixture_fixed(ngx_http_mcp_call_t *call, json_t *args,
    ngx_http_mcp_error_t *err)
{
    return ngx_http_mcp_fixture_done(json_loads(call->data, 0, NULL), err);
}


/* content items */

static json_t *
ngx_http_mcp_fixture_image(void)
{
    return json_loads(NGX_HTTP_MCP_FIXTURE_IMAGE, 0, NULL);
}


static json_t *
ngx_http_mcp_fixture_embedded(const char *uri, const char *mime_type,
    const char *text)
{
    return json_pack("{s:s, s:{s:s, s:s, s:s}}", "type", "resource",
                     "resource", "uri", uri, "mimeType", mime_type,
                     "text", text);
}


/*
 * The notifications are queued on the call: the transport sends them as
 * SSE events before the result, which is what a client sees of a tool
 * that logs as it goes.
 */

static json_t *
ngx_http_mcp_fixture_tool_with_logging(ngx_http_mcp_call_t *call, json_t *args,
    ngx_http_mcp_error_t *err)
{
    const char  **m;

    static const char  *messages[] = {
        "Tool execution started",
        "Tool processing data",
        "Tool execution completed",
        NULL
    };

    for (m = messages; *m; m++) {
        if (ngx_http_mcp_log(call, NGX_HTTP_MCP_LOG_INFO,
                             "test_tool_with_logging", json_string(*m))
            != NGX_OK)
        {
            return ngx_http_mcp_fixture_done(NULL, err);
        }
    }

    return ngx_http_mcp_fixture_fixed(call, args, err);
}


static json_t *
ngx_http_mcp_fixture_tool_with_progress(ngx_http_mcp_call_t *call,
    json_t *args, ngx_http_mcp_error_t *err)
{
    ngx_uint_t  i;

    static const double  steps[] = { 0, 50, 100 };

    for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        if (ngx_http_mcp_progress(call, steps[i], 100, NULL) != NGX_OK) {
            return ngx_http_mcp_fixture_done(NULL, err);
        }
    }

    return ngx_http_mcp_fixture_fixed(call, args, err);
}


/*
 * test_sampling: the prompt to the client's model; its answer quoted.
 */

static json_t *
ngx_http_mcp_fixture_sampling(ngx_http_mcp_call_t *call, json_t *args,
    ngx_http_mcp_error_t *err)
{
    ngx_str_t  prompt;

    if (ngx_http_mcp_arg_str(args, "prompt", 1, &prompt, err) != NGX_OK) {
        return NULL;
    }

    return ngx_http_mcp_ask(call, "sampling/createMessage",
                            json_pack("{s:[{s:s, s:{s:s, s:s%}}], s:i}",
                                      "messages", "role", "user",
                                      "content", "type", "text",
                                      "text", prompt.data, prompt.len,
                                      "maxTokens", 100),
                            ngx_http_mcp_fixture_sampled, NULL, err);
}


/*
 * What the client answered, or why it did not: a tool error for the
 * model to read.
 */

static json_t *
ngx_http_mcp_fixture_answer(ngx_http_mcp_call_t *call, json_t *answer,
    const char *method)
{
    json_t  *error;

    if (answer == NULL) {
        return ngx_http_mcp_tool_error("the client did not answer %s within "
                                       "%lu ms (mcp_client_request_timeout)",
                                       method, (unsigned long)
                                       call->mlcf->client_request_timeout);
    }

    error = json_object_get(answer, "error");

    if (error != NULL) {
        return ngx_http_mcp_tool_error("the client refused %s: %s", method,
                   json_string_value(json_object_get(error, "message"))
                   ? json_string_value(json_object_get(error, "message"))
                   : "no reason given");
    }

    return NULL;
}


static json_t *
ngx_http_mcp_fixture_sampled(ngx_http_mcp_call_t *call, void *data,
    json_t *answer, ngx_http_mcp_error_t *err)
{
    json_t      *refused;
    const char  *text;

    refused = ngx_http_mcp_fixture_answer(call, answer,
                                          "sampling/createMessage");
    if (refused != NULL) {
        return refused;
    }

    text = json_string_value(json_object_get(json_object_get(
               json_object_get(answer, "result"), "content"), "text"));

    return ngx_http_mcp_fixture_done(
               json_pack("{s:[{s:s, s:s+}]}", "content", "type", "text",
                         "text", "LLM response: ", text ? text : ""),
               err);
}


/*
 * test_elicitation: the message, with the schema of the tool's data.
 */

static json_t *
ngx_http_mcp_fixture_elicitation(ngx_http_mcp_call_t *call, json_t *args,
    ngx_http_mcp_error_t *err)
{
    ngx_str_t  message;

    if (ngx_http_mcp_arg_str(args, "message", 1, &message, err) != NGX_OK) {
        return NULL;
    }

    return ngx_http_mcp_ask(call, "elicitation/create",
                            json_pack("{s:s%, s:o}",
                                      "message", message.data, message.len,
                                      "requestedSchema",
                                      json_loads(call->data, 0, NULL)),
                            ngx_http_mcp_fixture_elicited,
                            (void *) "User response: ", err);
}


/* the SEP-1034 and SEP-1330 tools: params are the tool's data */

static json_t *
ngx_http_mcp_fixture_elicit_fixed(ngx_http_mcp_call_t *call, json_t *args,
    ngx_http_mcp_error_t *err)
{
    return ngx_http_mcp_ask(call, "elicitation/create",
                            json_loads(call->data, 0, NULL),
                            ngx_http_mcp_fixture_elicited,
                            (void *) "Elicitation completed: ", err);
}


/* "<data>action=<action>, content=<content>" */

static json_t *
ngx_http_mcp_fixture_elicited(ngx_http_mcp_call_t *call, void *data,
    json_t *answer, ngx_http_mcp_error_t *err)
{
    char        *content;
    json_t      *refused, *result;
    const char  *action;

    refused = ngx_http_mcp_fixture_answer(call, answer,
                                          "elicitation/create");
    if (refused != NULL) {
        return refused;
    }

    result = json_object_get(answer, "result");
    action = json_string_value(json_object_get(result, "action"));

    content = json_dumps(json_object_get(result, "content"),
                         JSON_COMPACT | JSON_ENCODE_ANY);

    result = json_pack("{s:[{s:s, s:s++++}]}", "content", "type", "text",
                       "text", (const char *) data, "action=",
                       action ? action : "none", ", content=",
                       content ? content : "null");

    free(content);

    return ngx_http_mcp_fixture_done(result, err);
}


/*
 * test_reconnection: the transport ends the response stream after its
 * priming event, and keeps the result for the resumption.
 */

static json_t *
ngx_http_mcp_fixture_reconnection(ngx_http_mcp_call_t *call, json_t *args,
    ngx_http_mcp_error_t *err)
{
    call->detach = 1;

    return ngx_http_mcp_fixture_fixed(call, args, err);
}


/*
 * A resources/read result of one item: the requested uri, with value as
 * key ("text" or "blob", base64).  rpc.c has checked params.uri.
 */

static json_t *
ngx_http_mcp_fixture_contents(json_t *params, const char *mime_type,
    const char *key, const char *value, ngx_http_mcp_error_t *err)
{
    return ngx_http_mcp_fixture_done(
               json_pack("{s:[{s:O, s:s, s:s}]}", "contents",
                         "uri", json_object_get(params, "uri"),
                         "mimeType", mime_type, key, value),
               err);
}


/*
 * A resource whose contents are always the same: the uri read, then the
 * members of its data, a JSON text.
 */

static json_t *
ngx_http_mcp_fixture_read_fixed(ngx_http_mcp_call_t *call, json_t *params,
    ngx_http_mcp_error_t *err)
{
    json_t  *item, *fixed;

    item = json_pack("{s:O}", "uri", json_object_get(params, "uri"));
    fixed = json_loads(call->data, 0, NULL);

    if (item == NULL || fixed == NULL || json_object_update(item, fixed) != 0)
    {
        json_decref(item);
        item = NULL;
    }

    json_decref(fixed);

    return ngx_http_mcp_fixture_done(json_pack("{s:[o]}", "contents", item),
                                     err);
}


/*
 * test://template/{id}/data: the template matched, so the uri is the
 * prefix, a non-empty id without "/", and the suffix.
 */

static json_t *
ngx_http_mcp_fixture_read_template(ngx_http_mcp_call_t *call, json_t *params,
    ngx_http_mcp_error_t *err)
{
    char       *text;
    json_t     *data, *result;
    ngx_str_t   uri, id;

    if (ngx_http_mcp_arg_str(params, "uri", 1, &uri, err) != NGX_OK) {
        return NULL;
    }

    id.data = uri.data + sizeof(NGX_HTTP_MCP_TEMPLATE_PREFIX) - 1;
    id.len = uri.len - (sizeof(NGX_HTTP_MCP_TEMPLATE_PREFIX) - 1)
             - (sizeof(NGX_HTTP_MCP_TEMPLATE_SUFFIX) - 1);

    data = json_pack("{s:s%, s:b, s:s+%}", "id", id.data, id.len,
                     "templateTest", 1,
                     "data", "Data for ID: ", id.data, id.len);
    if (data == NULL) {
        return ngx_http_mcp_fixture_done(NULL, err);
    }

    text = json_dumps(data, JSON_COMPACT);
    json_decref(data);

    if (text == NULL) {
        return ngx_http_mcp_fixture_done(NULL, err);
    }

    result = ngx_http_mcp_fixture_contents(params, "application/json",
                                           "text", text, err);
    free(text);

    return result;
}


/*
 * A prompts/get result: a user message of content (stolen) and, when
 * followup is given, a second user message of that text.
 */

static json_t *
ngx_http_mcp_fixture_prompt(json_t *content, const char *followup,
    ngx_http_mcp_error_t *err)
{
    json_t  *messages;

    messages = json_pack("[{s:s, s:o}]", "role", "user", "content", content);

    if (messages != NULL && followup != NULL
        && json_array_append_new(messages,
                                 json_pack("{s:s, s:o}", "role", "user",
                                           "content",
                                           ngx_http_mcp_text(followup)))
           != 0)
    {
        json_decref(messages);
        messages = NULL;
    }

    return ngx_http_mcp_fixture_done(json_pack("{s:o}", "messages",
                                               messages), err);
}


static json_t *
ngx_http_mcp_fixture_simple_prompt(ngx_http_mcp_call_t *call, json_t *args,
    ngx_http_mcp_error_t *err)
{
    return ngx_http_mcp_fixture_prompt(
               ngx_http_mcp_text("This is a simple prompt for testing."),
               NULL, err);
}


static json_t *
ngx_http_mcp_fixture_prompt_with_arguments(ngx_http_mcp_call_t *call,
    json_t *args, ngx_http_mcp_error_t *err)
{
    ngx_str_t  arg1, arg2;

    if (ngx_http_mcp_arg_str(args, "arg1", 1, &arg1, err) != NGX_OK
        || ngx_http_mcp_arg_str(args, "arg2", 1, &arg2, err) != NGX_OK)
    {
        return NULL;
    }

    /* "Prompt with arguments: arg1='<arg1>', arg2='<arg2>'" */

    return ngx_http_mcp_fixture_prompt(
               json_pack("{s:s, s:s+%++%+}", "type", "text", "text",
                         "Prompt with arguments: arg1='",
                         arg1.data, arg1.len,
                         "', arg2='",
                         arg2.data, arg2.len,
                         "'"),
               NULL, err);
}


static json_t *
ngx_http_mcp_fixture_prompt_with_resource(ngx_http_mcp_call_t *call,
    json_t *args, ngx_http_mcp_error_t *err)
{
    ngx_str_t  uri;

    if (ngx_http_mcp_arg_str(args, "resourceUri", 1, &uri, err) != NGX_OK) {
        return NULL;
    }

    /* a JSON string value: NUL-terminated */

    return ngx_http_mcp_fixture_prompt(
               ngx_http_mcp_fixture_embedded((char *) uri.data, "text/plain",
                                             "Embedded resource content for "
                                             "testing."),
               "Please process the embedded resource above.", err);
}


static json_t *
ngx_http_mcp_fixture_prompt_with_image(ngx_http_mcp_call_t *call, json_t *args,
    ngx_http_mcp_error_t *err)
{
    return ngx_http_mcp_fixture_prompt(ngx_http_mcp_fixture_image(),
                                       "Please analyze the image above.",
                                       err);
}


/*
 * Completes arg1 and arg2 of test_prompt_with_arguments from a fixed list,
 * by prefix.
 */

static ngx_int_t
ngx_http_mcp_fixture_complete(ngx_http_mcp_call_t *call, json_t *ref,
    ngx_str_t *name, ngx_str_t *value, json_t *values)
{
    const char  *prompt, **c;

    static const char  *candidates[] = {
        "test", "testing", "testValue1", "testValue2", "example", NULL
    };

    prompt = json_string_value(json_object_get(ref, "name"));

    if (prompt == NULL
        || ngx_strcmp(json_string_value(json_object_get(ref, "type")),
                      "ref/prompt") != 0
        || ngx_strcmp(prompt, "test_prompt_with_arguments") != 0
        || name->len != 4
        || (ngx_strncmp(name->data, "arg1", 4) != 0
            && ngx_strncmp(name->data, "arg2", 4) != 0))
    {
        return NGX_OK;
    }

    for (c = candidates; *c; c++) {
        if (ngx_strlen(*c) >= value->len
            && ngx_strncmp(*c, value->data, value->len) == 0
            && json_array_append_new(values, json_string(*c)) != 0)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}
