
/*
 * ngx_mcp: JSON Web Key Sets (RFC 7517) and the signatures of JSON Web
 * Tokens in compact JWS form (RFC 7515, RFC 7518, RFC 8037).
 *
 * Accepted algorithms: RS256, RS384, RS512, PS256, PS384, PS512, ES256,
 * ES384 and EdDSA (Ed25519).  Nothing else: "none" and the HMAC
 * algorithms are refused before any key is looked at, so a token cannot
 * make a public key serve as an HMAC secret.  A key is used only for the
 * algorithms of its kind (and only for its own "alg" when the JWK names
 * one).  Keys are built with OpenSSL 3's EVP_PKEY_fromdata(); signatures
 * checked with EVP_DigestVerify().  The JSON is parsed by jansson, after
 * the sizes and the nesting have been checked, duplicate members refused.
 */


#include "ngx_http_mcp_jwt.h"

#if !(NGX_OPENSSL)
#error "ngx_mcp_module needs nginx configured with OpenSSL"
#endif

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#if (OPENSSL_VERSION_NUMBER < 0x30000000L)
#error "ngx_mcp_module needs OpenSSL 3.0 or later (EVP_PKEY_fromdata)"
#endif


/* nesting of a token's header and claims, and of a JWKS */
#define NGX_HTTP_MCP_JWT_HEADER_DEPTH  2
#define NGX_HTTP_MCP_JWT_CLAIMS_DEPTH  8
#define NGX_HTTP_MCP_JWKS_DEPTH        4

#define NGX_HTTP_MCP_JWT_HEADER_MAX    2048
#define NGX_HTTP_MCP_JWS_SIG_MAX       1024

/* the keys of one JWKS */
#define NGX_HTTP_MCP_JWKS_KEYS_MAX     256

/* RSA moduli, in bytes: 2048 to 8192 bits */
#define NGX_HTTP_MCP_RSA_MIN           256
#define NGX_HTTP_MCP_RSA_MAX           1024


typedef struct {
    ngx_str_t                  name;
    ngx_uint_t                 type;          /* NGX_HTTP_MCP_JWK_* */
    const EVP_MD            *(*md)(void);     /* NULL: EdDSA */
    ngx_uint_t                 pss;
    size_t                     ec_len;        /* of r || s, for ECDSA */
} ngx_http_mcp_jws_alg_t;


typedef struct {
    const char                *crv;
    const char                *group;         /* OpenSSL's name */
    size_t                     len;           /* of a coordinate */
    ngx_uint_t                 type;
} ngx_http_mcp_ec_curve_t;


static ngx_int_t ngx_http_mcp_b64url(ngx_pool_t *pool, ngx_str_t *src,
    size_t max, ngx_str_t *dst);
static ngx_int_t ngx_http_mcp_jwt_part(ngx_pool_t *pool, u_char *start,
    u_char *end, size_t max, ngx_str_t *dst);
static json_t *ngx_http_mcp_jwt_json(ngx_str_t *text, ngx_uint_t depth);
static ngx_int_t ngx_http_mcp_jwk_add(ngx_pool_t *pool, json_t *jwk,
    ngx_array_t *keys, ngx_uint_t *skipped, const char **why);
static EVP_PKEY *ngx_http_mcp_jwk_rsa(ngx_pool_t *pool, json_t *jwk,
    ngx_uint_t *skip, const char **why);
static EVP_PKEY *ngx_http_mcp_jwk_ec(ngx_pool_t *pool, json_t *jwk,
    ngx_uint_t *type, ngx_uint_t *skip, const char **why);
static EVP_PKEY *ngx_http_mcp_jwk_okp(ngx_pool_t *pool, json_t *jwk,
    ngx_uint_t *skip, const char **why);
static EVP_PKEY *ngx_http_mcp_pkey_fromdata(const char *type,
    OSSL_PARAM *params);
static ngx_int_t ngx_http_mcp_jwk_member(ngx_pool_t *pool, json_t *jwk,
    const char *name, size_t max, ngx_str_t *value);
static ngx_int_t ngx_http_mcp_json_str(ngx_pool_t *pool, json_t *obj,
    const char *name, ngx_str_t *value);
static void ngx_http_mcp_jwks_cleanup(void *data);
static ngx_http_mcp_jwk_t *ngx_http_mcp_jwk_find(ngx_array_t *keys,
    ngx_http_mcp_jws_alg_t *alg, json_t *header, const char **why);
static ngx_int_t ngx_http_mcp_jws_check(ngx_http_mcp_jws_alg_t *alg,
    EVP_PKEY *pkey, ngx_str_t *input, ngx_str_t *sig);
static ngx_int_t ngx_http_mcp_ecdsa_der(ngx_str_t *sig, u_char **der,
    int *len);


static ngx_http_mcp_jws_alg_t  ngx_http_mcp_jws_algs[] = {
    { ngx_string("RS256"), NGX_HTTP_MCP_JWK_RSA, EVP_sha256, 0, 0 },
    { ngx_string("RS384"), NGX_HTTP_MCP_JWK_RSA, EVP_sha384, 0, 0 },
    { ngx_string("RS512"), NGX_HTTP_MCP_JWK_RSA, EVP_sha512, 0, 0 },
    { ngx_string("PS256"), NGX_HTTP_MCP_JWK_RSA, EVP_sha256, 1, 0 },
    { ngx_string("PS384"), NGX_HTTP_MCP_JWK_RSA, EVP_sha384, 1, 0 },
    { ngx_string("PS512"), NGX_HTTP_MCP_JWK_RSA, EVP_sha512, 1, 0 },
    { ngx_string("ES256"), NGX_HTTP_MCP_JWK_P256, EVP_sha256, 0, 64 },
    { ngx_string("ES384"), NGX_HTTP_MCP_JWK_P384, EVP_sha384, 0, 96 },
    { ngx_string("EdDSA"), NGX_HTTP_MCP_JWK_ED25519, NULL, 0, 0 },
    { ngx_null_string, 0, NULL, 0, 0 }
};


static ngx_http_mcp_ec_curve_t  ngx_http_mcp_ec_curves[] = {
    { "P-256", "prime256v1", 32, NGX_HTTP_MCP_JWK_P256 },
    { "P-384", "secp384r1", 48, NGX_HTTP_MCP_JWK_P384 },
    { NULL, NULL, 0, 0 }
};


ngx_int_t
ngx_http_mcp_jwks_parse(ngx_pool_t *pool, ngx_str_t *text,
    ngx_array_t **keys, ngx_uint_t *skipped, const char **why)
{
    size_t               i;
    json_t              *jwks, *list;
    ngx_int_t            rc;
    ngx_array_t         *a;
    ngx_pool_cleanup_t  *cln;

    *skipped = 0;

    if (text->len > NGX_HTTP_MCP_JWKS_MAX) {
        *why = "the JWKS is too large";
        return NGX_ERROR;
    }

    a = ngx_array_create(pool, 4, sizeof(ngx_http_mcp_jwk_t));
    if (a == NULL) {
        *why = "out of memory";
        return NGX_ERROR;
    }

    /* registered first: it frees the keys added so far on any error */

    cln = ngx_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        *why = "out of memory";
        return NGX_ERROR;
    }

    cln->handler = ngx_http_mcp_jwks_cleanup;
    cln->data = a;

    jwks = ngx_http_mcp_jwt_json(text, NGX_HTTP_MCP_JWKS_DEPTH);
    if (jwks == NULL) {
        *why = "the JWKS is not a JSON object (or is nested too deeply)";
        return NGX_ERROR;
    }

    rc = NGX_ERROR;

    list = json_object_get(jwks, "keys");
    if (!json_is_array(list)) {
        *why = "the JWKS has no \"keys\" array";
        goto done;
    }

    if (json_array_size(list) > NGX_HTTP_MCP_JWKS_KEYS_MAX) {
        *why = "the JWKS has too many keys";
        goto done;
    }

    for (i = 0; i < json_array_size(list); i++) {
        if (ngx_http_mcp_jwk_add(pool, json_array_get(list, i), a, skipped,
                                 why)
            != NGX_OK)
        {
            goto done;
        }
    }

    if (a->nelts == 0) {
        *why = "the JWKS has no key usable for signatures (RSA of 2048 "
               "bits or more, EC P-256 or P-384, Ed25519)";
        goto done;
    }

    *keys = a;
    rc = NGX_OK;

done:

    json_decref(jwks);

    return rc;
}


static void
ngx_http_mcp_jwks_cleanup(void *data)
{
    ngx_array_t *a = data;

    ngx_uint_t           i;
    ngx_http_mcp_jwk_t  *k;

    k = a->elts;

    for (i = 0; i < a->nelts; i++) {
        EVP_PKEY_free(k[i].pkey);
    }

    a->nelts = 0;
}


/*
 * Adds one JWK to keys, or counts it in *skipped when it is of a kind
 * that is not used.  A key of a used kind that is malformed refuses the
 * whole set: a typing error must not silently drop a key.
 */

static ngx_int_t
ngx_http_mcp_jwk_add(ngx_pool_t *pool, json_t *jwk, ngx_array_t *keys,
    ngx_uint_t *skipped, const char **why)
{
    json_t              *use;
    EVP_PKEY            *pkey;
    ngx_str_t            kty, kid, alg;
    ngx_uint_t           type, skip;
    ngx_http_mcp_jwk_t  *k;

    if (!json_is_object(jwk)) {
        *why = "a key of the JWKS is not an object";
        return NGX_ERROR;
    }

    if (ngx_http_mcp_json_str(pool, jwk, "kty", &kty) != NGX_OK
        || ngx_http_mcp_json_str(pool, jwk, "kid", &kid) != NGX_OK
        || ngx_http_mcp_json_str(pool, jwk, "alg", &alg) != NGX_OK)
    {
        *why = "a key of the JWKS has a \"kty\", \"kid\" or \"alg\" that "
               "is not a string";
        return NGX_ERROR;
    }

    use = json_object_get(jwk, "use");

    if (use != NULL
        && (!json_is_string(use) || ngx_strcmp(json_string_value(use), "sig")
                                    != 0))
    {
        (*skipped)++;
        return NGX_OK;
    }

    skip = 0;
    type = NGX_HTTP_MCP_JWK_RSA;

    if (kty.len == 3 && ngx_strncmp(kty.data, "RSA", 3) == 0) {
        pkey = ngx_http_mcp_jwk_rsa(pool, jwk, &skip, why);

    } else if (kty.len == 2 && ngx_strncmp(kty.data, "EC", 2) == 0) {
        pkey = ngx_http_mcp_jwk_ec(pool, jwk, &type, &skip, why);

    } else if (kty.len == 3 && ngx_strncmp(kty.data, "OKP", 3) == 0) {
        type = NGX_HTTP_MCP_JWK_ED25519;
        pkey = ngx_http_mcp_jwk_okp(pool, jwk, &skip, why);

    } else {
        /* "oct" (a shared secret) and kinds unknown here */
        pkey = NULL;
        skip = 1;
    }

    if (skip) {
        (*skipped)++;
        return NGX_OK;
    }

    if (pkey == NULL) {
        return NGX_ERROR;
    }

    k = ngx_array_push(keys);
    if (k == NULL) {
        EVP_PKEY_free(pkey);
        *why = "out of memory";
        return NGX_ERROR;
    }

    k->kid = kid;
    k->alg = alg;
    k->type = type;
    k->pkey = pkey;

    return NGX_OK;
}


static EVP_PKEY *
ngx_http_mcp_jwk_rsa(ngx_pool_t *pool, json_t *jwk, ngx_uint_t *skip,
    const char **why)
{
    BIGNUM          *n, *e;
    EVP_PKEY        *pkey;
    ngx_str_t        nb, eb;
    OSSL_PARAM      *params;
    OSSL_PARAM_BLD  *bld;

    if (ngx_http_mcp_jwk_member(pool, jwk, "n", NGX_HTTP_MCP_RSA_MAX + 1,
                                &nb)
        != NGX_OK
        || ngx_http_mcp_jwk_member(pool, jwk, "e", 8, &eb) != NGX_OK)
    {
        *why = "an RSA key of the JWKS has no valid \"n\" and \"e\"";
        return NULL;
    }

    /* a leading zero byte is not part of the size */

    while (nb.len && nb.data[0] == 0) {
        nb.data++;
        nb.len--;
    }

    if (nb.len < NGX_HTTP_MCP_RSA_MIN || nb.len > NGX_HTTP_MCP_RSA_MAX) {
        *skip = 1;
        return NULL;
    }

    pkey = NULL;
    params = NULL;

    n = BN_bin2bn(nb.data, nb.len, NULL);
    e = BN_bin2bn(eb.data, eb.len, NULL);
    bld = OSSL_PARAM_BLD_new();

    if (n && e && bld
        && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n)
        && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
    {
        params = OSSL_PARAM_BLD_to_param(bld);
    }

    if (params) {
        pkey = ngx_http_mcp_pkey_fromdata("RSA", params);
    }

    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);

    if (pkey == NULL) {
        *why = "an RSA key of the JWKS is not valid";
    }

    return pkey;
}


static EVP_PKEY *
ngx_http_mcp_jwk_ec(ngx_pool_t *pool, json_t *jwk, ngx_uint_t *type,
    ngx_uint_t *skip, const char **why)
{
    u_char                   *pub;
    EVP_PKEY                 *pkey;
    ngx_str_t                 crv, x, y;
    OSSL_PARAM                params[3];
    ngx_http_mcp_ec_curve_t  *c;

    if (ngx_http_mcp_json_str(pool, jwk, "crv", &crv) != NGX_OK) {
        *why = "an EC key of the JWKS has a \"crv\" that is not a string";
        return NULL;
    }

    for (c = ngx_http_mcp_ec_curves; c->crv; c++) {
        if (crv.len == ngx_strlen(c->crv)
            && ngx_strncmp(crv.data, c->crv, crv.len) == 0)
        {
            break;
        }
    }

    if (c->crv == NULL) {
        *skip = 1;
        return NULL;
    }

    if (ngx_http_mcp_jwk_member(pool, jwk, "x", c->len, &x) != NGX_OK
        || ngx_http_mcp_jwk_member(pool, jwk, "y", c->len, &y) != NGX_OK
        || x.len != c->len || y.len != c->len)
    {
        *why = "an EC key of the JWKS has no valid \"x\" and \"y\"";
        return NULL;
    }

    /* the uncompressed point: 04 || x || y */

    pub = ngx_pnalloc(pool, 1 + 2 * c->len);
    if (pub == NULL) {
        *why = "out of memory";
        return NULL;
    }

    pub[0] = 0x04;
    ngx_memcpy(pub + 1, x.data, c->len);
    ngx_memcpy(pub + 1 + c->len, y.data, c->len);

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                 (char *) c->group, 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                                  pub, 1 + 2 * c->len);
    params[2] = OSSL_PARAM_construct_end();

    pkey = ngx_http_mcp_pkey_fromdata("EC", params);

    if (pkey == NULL) {
        *why = "an EC key of the JWKS is not a point of its curve";
        return NULL;
    }

    *type = c->type;

    return pkey;
}


static EVP_PKEY *
ngx_http_mcp_jwk_okp(ngx_pool_t *pool, json_t *jwk, ngx_uint_t *skip,
    const char **why)
{
    EVP_PKEY   *pkey;
    ngx_str_t   crv, x;

    if (ngx_http_mcp_json_str(pool, jwk, "crv", &crv) != NGX_OK) {
        *why = "an OKP key of the JWKS has a \"crv\" that is not a string";
        return NULL;
    }

    /* Ed448 and the X25519/X448 (key agreement) curves are not used */

    if (crv.len != 7 || ngx_strncmp(crv.data, "Ed25519", 7) != 0) {
        *skip = 1;
        return NULL;
    }

    if (ngx_http_mcp_jwk_member(pool, jwk, "x", 32, &x) != NGX_OK
        || x.len != 32)
    {
        *why = "an Ed25519 key of the JWKS has no valid \"x\"";
        return NULL;
    }

    pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x.data, 32);

    if (pkey == NULL) {
        ERR_clear_error();
        *why = "an Ed25519 key of the JWKS is not valid";
    }

    return pkey;
}


/*
 * A public key from its parameters, checked (an EC point on its curve).
 */

static EVP_PKEY *
ngx_http_mcp_pkey_fromdata(const char *type, OSSL_PARAM *params)
{
    EVP_PKEY      *pkey;
    EVP_PKEY_CTX  *ctx, *check;

    pkey = NULL;

    ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);

    if (ctx == NULL
        || EVP_PKEY_fromdata_init(ctx) != 1
        || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
    {
        EVP_PKEY_CTX_free(ctx);
        ERR_clear_error();
        return NULL;
    }

    EVP_PKEY_CTX_free(ctx);

    check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);

    if (check == NULL || EVP_PKEY_public_check(check) != 1) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }

    EVP_PKEY_CTX_free(check);
    ERR_clear_error();

    return pkey;
}


/*
 * A base64url member of a JWK, decoded, of at most max bytes.
 */

static ngx_int_t
ngx_http_mcp_jwk_member(ngx_pool_t *pool, json_t *jwk, const char *name,
    size_t max, ngx_str_t *value)
{
    json_t     *v;
    ngx_str_t   s;

    v = json_object_get(jwk, name);
    if (!json_is_string(v)) {
        return NGX_ERROR;
    }

    s.data = (u_char *) json_string_value(v);
    s.len = json_string_length(v);

    return (ngx_http_mcp_b64url(pool, &s, max, value) == NGX_OK)
           ? NGX_OK : NGX_ERROR;
}


/*
 * An optional string member, copied to pool: NGX_OK (empty when absent),
 * NGX_ERROR when it is not a string.
 */

static ngx_int_t
ngx_http_mcp_json_str(ngx_pool_t *pool, json_t *obj, const char *name,
    ngx_str_t *value)
{
    json_t  *v;

    ngx_str_set(value, "");

    v = json_object_get(obj, name);
    if (v == NULL) {
        return NGX_OK;
    }

    if (!json_is_string(v)) {
        return NGX_ERROR;
    }

    value->len = json_string_length(v);
    value->data = ngx_pnalloc(pool, value->len + 1);
    if (value->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(value->data, json_string_value(v), value->len + 1);

    return NGX_OK;
}


/*
 * Strict base64url (RFC 4648, section 5) without padding: only its
 * alphabet, no "=", no length that no encoding has, at most max bytes
 * decoded.  NGX_OK, NGX_DECLINED or NGX_ERROR (out of memory).
 */

static ngx_int_t
ngx_http_mcp_b64url(ngx_pool_t *pool, ngx_str_t *src, size_t max,
    ngx_str_t *dst)
{
    u_char  c;
    size_t  i;

    if (src->len == 0 || src->len % 4 == 1
        || src->len > ngx_base64_encoded_length(max))
    {
        return NGX_DECLINED;
    }

    for (i = 0; i < src->len; i++) {
        c = src->data[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
              || (c >= '0' && c <= '9') || c == '-' || c == '_'))
        {
            return NGX_DECLINED;
        }
    }

    dst->data = ngx_pnalloc(pool, ngx_base64_decoded_length(src->len));
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    if (ngx_decode_base64url(dst, src) != NGX_OK || dst->len > max) {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * The part of a token from start to end, decoded (ngx_http_mcp_b64url()).
 */

static ngx_int_t
ngx_http_mcp_jwt_part(ngx_pool_t *pool, u_char *start, u_char *end,
    size_t max, ngx_str_t *dst)
{
    ngx_str_t  part;

    part.data = start;
    part.len = end - start;

    return ngx_http_mcp_b64url(pool, &part, max, dst);
}


/*
 * A JSON object from text, nested at most depth levels, duplicate
 * members refused; NULL otherwise.
 */

static json_t *
ngx_http_mcp_jwt_json(ngx_str_t *text, ngx_uint_t depth)
{
    json_t        *json;
    json_error_t   error;

    if (ngx_http_mcp_depth(text, depth) != NGX_OK) {
        return NULL;
    }

    json = json_loadb((char *) text->data, text->len, JSON_REJECT_DUPLICATES,
                      &error);

    if (json != NULL && !json_is_object(json)) {
        json_decref(json);
        return NULL;
    }

    return json;
}


ngx_int_t
ngx_http_mcp_jwt_verify(ngx_array_t *keys, ngx_str_t *token,
    ngx_pool_t *pool, json_t **claims, const char **why)
{
    u_char                  *dot1, *dot2, *last;
    json_t                  *header, *alg;
    ngx_int_t                rc;
    ngx_str_t                text, sig, input;
    ngx_http_mcp_jwk_t      *key;
    ngx_http_mcp_jws_alg_t  *a;

    *claims = NULL;

    if (token->len > NGX_HTTP_MCP_JWT_MAX) {
        *why = "too long";
        return NGX_DECLINED;
    }

    last = token->data + token->len;

    dot1 = ngx_strlchr(token->data, last, '.');
    dot2 = dot1 ? ngx_strlchr(dot1 + 1, last, '.') : NULL;

    if (dot2 == NULL || ngx_strlchr(dot2 + 1, last, '.') != NULL) {
        *why = "not a signed JWT";
        return NGX_DECLINED;
    }

    /* the header: which algorithm, which key */

    rc = ngx_http_mcp_jwt_part(pool, token->data, dot1,
                               NGX_HTTP_MCP_JWT_HEADER_MAX, &text);
    if (rc != NGX_OK) {
        *why = "malformed header";
        return rc;
    }

    header = ngx_http_mcp_jwt_json(&text, NGX_HTTP_MCP_JWT_HEADER_DEPTH);
    if (header == NULL) {
        *why = "malformed header";
        return NGX_DECLINED;
    }

    key = NULL;
    a = NULL;

    alg = json_object_get(header, "alg");

    if (json_is_string(alg)) {
        for (a = ngx_http_mcp_jws_algs; a->name.len; a++) {
            if (a->name.len == json_string_length(alg)
                && ngx_strncmp(a->name.data, json_string_value(alg),
                               a->name.len)
                   == 0)
            {
                break;
            }
        }
    }

    if (a == NULL || a->name.len == 0) {
        /* "none", HS256 and the like end here */
        *why = "algorithm not accepted";

    } else if (json_object_get(header, "crit") != NULL) {
        /* extensions this code does not know must not be ignored */
        *why = "critical header parameters";

    } else {
        key = ngx_http_mcp_jwk_find(keys, a, header, why);
    }

    json_decref(header);

    if (key == NULL) {
        return NGX_DECLINED;
    }

    /* the signature, over "header.payload" as sent */

    rc = ngx_http_mcp_jwt_part(pool, dot2 + 1, last, NGX_HTTP_MCP_JWS_SIG_MAX,
                               &sig);
    if (rc != NGX_OK) {
        *why = "malformed signature";
        return rc;
    }

    input.data = token->data;
    input.len = dot2 - token->data;

    rc = ngx_http_mcp_jws_check(a, key->pkey, &input, &sig);
    if (rc != NGX_OK) {
        *why = (rc == NGX_DECLINED) ? "bad signature" : "out of memory";
        return rc;
    }

    /* the claims, now that they are known to come from the issuer */

    rc = ngx_http_mcp_jwt_part(pool, dot1 + 1, dot2, NGX_HTTP_MCP_JWT_MAX,
                               &text);
    if (rc != NGX_OK) {
        *why = "malformed claims";
        return rc;
    }

    *claims = ngx_http_mcp_jwt_json(&text, NGX_HTTP_MCP_JWT_CLAIMS_DEPTH);
    if (*claims == NULL) {
        *why = "malformed claims";
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * The key a token's header points at: by its "kid" when it has one;
 * without one, the only key that suits the algorithm.  The key must be
 * of the algorithm's kind, and of its "alg" when the JWK names one.
 */

static ngx_http_mcp_jwk_t *
ngx_http_mcp_jwk_find(ngx_array_t *keys, ngx_http_mcp_jws_alg_t *alg,
    json_t *header, const char **why)
{
    json_t              *kid;
    ngx_uint_t           i, n;
    ngx_http_mcp_jwk_t  *k, *found;

    kid = json_object_get(header, "kid");

    if (kid != NULL && !json_is_string(kid)) {
        *why = "malformed header";
        return NULL;
    }

    k = keys->elts;
    found = NULL;
    n = 0;

    for (i = 0; i < keys->nelts; i++) {

        if (kid != NULL
            && (k[i].kid.len != json_string_length(kid)
                || ngx_memcmp(k[i].kid.data, json_string_value(kid),
                              k[i].kid.len)
                   != 0))
        {
            continue;
        }

        if (k[i].type != alg->type
            || (k[i].alg.len
                && (k[i].alg.len != alg->name.len
                    || ngx_memcmp(k[i].alg.data, alg->name.data,
                                  alg->name.len)
                       != 0)))
        {
            continue;
        }

        found = &k[i];
        n++;
    }

    if (n == 0) {
        *why = (kid != NULL) ? "unknown key id, or a key of another "
                               "algorithm"
                             : "no key for the algorithm";
        return NULL;
    }

    if (n > 1) {
        *why = "no key id, and several keys suit";
        return NULL;
    }

    return found;
}


/*
 * NGX_OK when sig is alg's signature of input by pkey, NGX_DECLINED when
 * it is not, NGX_ERROR when OpenSSL fails otherwise.
 */

static ngx_int_t
ngx_http_mcp_jws_check(ngx_http_mcp_jws_alg_t *alg, EVP_PKEY *pkey,
    ngx_str_t *input, ngx_str_t *sig)
{
    int            len;
    u_char        *der, *s;
    ngx_int_t      rc;
    EVP_MD_CTX    *ctx;
    const EVP_MD  *md;
    EVP_PKEY_CTX  *pctx;

    der = NULL;
    s = sig->data;
    len = (int) sig->len;

    /* JWS carries ECDSA signatures as r || s; OpenSSL wants DER */

    if (alg->ec_len) {
        if (sig->len != alg->ec_len) {
            return NGX_DECLINED;
        }

        rc = ngx_http_mcp_ecdsa_der(sig, &der, &len);
        if (rc != NGX_OK) {
            return rc;
        }

        s = der;
    }

    rc = NGX_ERROR;
    md = alg->md ? alg->md() : NULL;

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        goto done;
    }

    if (EVP_DigestVerifyInit(ctx, &pctx, md, NULL, pkey) != 1) {
        goto done;
    }

    /* RFC 7518, 3.5: MGF1 with the same hash, a salt of the hash's size */

    if (alg->pss
        && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0
            || EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST)
               <= 0
            || EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) <= 0))
    {
        goto done;
    }

    rc = (EVP_DigestVerify(ctx, s, len, input->data, input->len) == 1)
         ? NGX_OK : NGX_DECLINED;

done:

    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    ERR_clear_error();

    return rc;
}


static ngx_int_t
ngx_http_mcp_ecdsa_der(ngx_str_t *sig, u_char **der, int *len)
{
    size_t      half;
    BIGNUM     *r, *s;
    ECDSA_SIG  *es;

    half = sig->len / 2;

    es = ECDSA_SIG_new();
    r = BN_bin2bn(sig->data, half, NULL);
    s = BN_bin2bn(sig->data + half, half, NULL);

    if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1)
    {
        ECDSA_SIG_free(es);
        BN_free(r);
        BN_free(s);
        return NGX_ERROR;
    }

    /* r and s belong to es now */

    *der = NULL;
    *len = i2d_ECDSA_SIG(es, der);

    ECDSA_SIG_free(es);

    return (*len > 0) ? NGX_OK : NGX_ERROR;
}
