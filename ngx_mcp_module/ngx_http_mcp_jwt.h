
/*
 * ngx_mcp: JSON Web Key Sets and the signatures of JSON Web Tokens
 * (ngx_http_mcp_jwt.c), for the OAuth resource server of
 * ngx_http_mcp_oauth.c.
 */


#ifndef _NGX_HTTP_MCP_JWT_H_INCLUDED_
#define _NGX_HTTP_MCP_JWT_H_INCLUDED_


#include "ngx_http_mcp_module.h"

#include <openssl/evp.h>


/* a JWKS file larger than this is refused: issuers publish a few keys */
#define NGX_HTTP_MCP_JWKS_MAX         (256 * 1024)

/* a token longer than this is invalid without being decoded */
#define NGX_HTTP_MCP_JWT_MAX          16384


/* The kind of a public key, as the algorithms need it. */
#define NGX_HTTP_MCP_JWK_RSA          1
#define NGX_HTTP_MCP_JWK_P256         2
#define NGX_HTTP_MCP_JWK_P384         3
#define NGX_HTTP_MCP_JWK_ED25519      4


/* One usable key of a JWKS. */
typedef struct {
    ngx_str_t                  kid;           /* or empty */
    ngx_str_t                  alg;           /* the JWK's "alg", or empty */
    ngx_uint_t                 type;          /* NGX_HTTP_MCP_JWK_* */
    EVP_PKEY                  *pkey;
} ngx_http_mcp_jwk_t;


/*
 * Parses the JWKS text into *keys (an array of ngx_http_mcp_jwk_t in
 * pool, whose keys are freed with the pool).  Keys of kinds this module
 * cannot use (symmetric keys, encryption keys, other curves, RSA under
 * 2048 bits) are left out and counted in *skipped.  NGX_OK, or NGX_ERROR
 * with why (a sentence, no key material) filled.
 */
ngx_int_t ngx_http_mcp_jwks_parse(ngx_pool_t *pool, ngx_str_t *text,
    ngx_array_t **keys, ngx_uint_t *skipped, const char **why);

/*
 * Checks the form and the signature of a compact JWS token against keys:
 * NGX_OK with *claims (its payload, a JSON object; the caller releases
 * it), NGX_DECLINED with why (a fixed sentence naming the kind of
 * failure, never any part of the token), or NGX_ERROR when out of memory.
 * The claims are not checked here.
 */
ngx_int_t ngx_http_mcp_jwt_verify(ngx_array_t *keys, ngx_str_t *token,
    ngx_pool_t *pool, json_t **claims, const char **why);


#endif /* _NGX_HTTP_MCP_JWT_H_INCLUDED_ */
