
/*
 * ngx_mcp: the fixtures the MCP conformance suite calls (tools, resources
 * and prompts named test_* and test://...).  Compiled in, offered only
 * where "mcp_conformance_fixtures on;" is set.
 */


#include "ngx_http_mcp_rpc.h"


ngx_http_mcp_provider_t  ngx_http_mcp_fixtures_provider = {
    NULL, NULL, NULL, NULL, NULL, NULL
};
