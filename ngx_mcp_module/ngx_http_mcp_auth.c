
/*
 * ngx_mcp: API keys and tenants (OAuth access tokens, accepted beside
 * the keys, are checked by ngx_http_mcp_oauth.c).
 *
 *     mcp_api_key       <sha256-hex> tenant=<name> [scopes=a,b,...];
 *     mcp_api_keys_file <path>;
 *
 * Keys are configured as the SHA-256 of the key, never the key itself.  A
 * request presents "Authorization: Bearer <key>"; the SHA-256 of what it
 * presents is compared with every configured hash, each comparison in
 * constant time and all of them made, so that neither the comparison nor
 * the position of a match shows in the time taken.  The key that matched
 * is the request's caller: its tenant owns what the request creates and
 * bounds what it sees, its permissions ("scopes=") what it may do.
 * Without any key for a location, every request there is the "default"
 * tenant with every permission but admin, as before keys existed.
 */


#include "ngx_http_mcp_module.h"

#if !(NGX_OPENSSL)
#error "ngx_mcp_module needs nginx configured with OpenSSL (SHA-256 of keys)"
#endif

#include <openssl/crypto.h>
#include <openssl/evp.h>


#define NGX_HTTP_MCP_KEY_HEX_LEN   (2 * NGX_HTTP_MCP_KEY_HASH_LEN)

/* a key is about 100 bytes: a million keys is far more than the linear
 * lookup is for */
#define NGX_HTTP_MCP_KEYS_FILE_MAX  (64 * 1024 * 1024)

/* words of a key: the hash, tenant=, scopes= and one too many */
#define NGX_HTTP_MCP_KEY_WORDS     4

#define NGX_HTTP_MCP_REALM         "Bearer realm=\"ngx_mcp\""
#define NGX_HTTP_MCP_CHALLENGE_LEN  128

/* the SHA-256 of the empty key: never a key */
#define NGX_HTTP_MCP_EMPTY_HASH                                               \
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


/* Where keys are being configured, for the messages about a bad one. */
typedef struct {
    ngx_conf_t                *cf;
    ngx_http_mcp_loc_conf_t   *mlcf;
    ngx_str_t                 *file;       /* mcp_api_keys_file, or NULL */
    ngx_uint_t                 line;
} ngx_http_mcp_keys_t;


typedef ngx_int_t (*ngx_http_mcp_key_param_pt)(ngx_http_mcp_keys_t *ks,
    ngx_http_mcp_key_t *key, ngx_str_t *value);


/* A parameter of a key, "name=value". */
typedef struct {
    ngx_str_t                  name;       /* with its "=" */
    ngx_http_mcp_key_param_pt  set;
} ngx_http_mcp_key_param_t;


typedef struct {
    ngx_str_t                  name;
    ngx_uint_t                 perm;
} ngx_http_mcp_perm_name_t;


static ngx_int_t ngx_http_mcp_keys_read(ngx_conf_t *cf, ngx_str_t *path,
    ngx_str_t *text);
static ngx_int_t ngx_http_mcp_keys_parse(ngx_http_mcp_keys_t *ks,
    ngx_str_t *text);
static ngx_int_t ngx_http_mcp_key_add(ngx_http_mcp_keys_t *ks,
    ngx_str_t *args, ngx_uint_t n);
static ngx_int_t ngx_http_mcp_key_hash(ngx_http_mcp_keys_t *ks,
    ngx_http_mcp_key_t *key, ngx_str_t *hex);
static ngx_int_t ngx_http_mcp_key_tenant(ngx_http_mcp_keys_t *ks,
    ngx_http_mcp_key_t *key, ngx_str_t *value);
static ngx_int_t ngx_http_mcp_key_perms(ngx_http_mcp_keys_t *ks,
    ngx_http_mcp_key_t *key, ngx_str_t *value);
static ngx_int_t ngx_http_mcp_key_error(ngx_http_mcp_keys_t *ks,
    const char *fmt, ...) NGX_HTTP_MCP_PRINTF(2, 3);
static ngx_int_t ngx_http_mcp_hex(u_char *dst, ngx_str_t *hex);
static ngx_int_t ngx_http_mcp_bearer(ngx_http_request_t *r,
    ngx_str_t *token);
static ngx_int_t ngx_http_mcp_key_find(ngx_http_request_t *r,
    ngx_array_t *keys, ngx_str_t *token, ngx_http_mcp_key_t **found);
static ngx_int_t ngx_http_mcp_forbid(ngx_http_request_t *r,
    ngx_http_mcp_key_t *key, ngx_uint_t perm, ngx_http_mcp_error_t *err);
static ngx_int_t ngx_http_mcp_refuse(ngx_http_request_t *r,
    ngx_http_mcp_error_t *err, ngx_uint_t status, const char *challenge,
    const char *fmt, ...) NGX_HTTP_MCP_PRINTF(5, 6);
static ngx_int_t ngx_http_mcp_set_caller(ngx_http_request_t *r,
    ngx_http_mcp_key_t *key, ngx_http_mcp_error_t *err);
static const char *ngx_http_mcp_challenge(ngx_http_request_t *r,
    const char *error, const char *scope);


static ngx_http_mcp_key_param_t  ngx_http_mcp_key_params[] = {
    { ngx_string("tenant="), ngx_http_mcp_key_tenant },
    { ngx_string("scopes="), ngx_http_mcp_key_perms },
    { ngx_null_string, NULL }
};


static ngx_http_mcp_perm_name_t  ngx_http_mcp_perm_names[] = {
    { ngx_string("links:write"), NGX_HTTP_MCP_PERM_LINKS_WRITE },
    { ngx_string("links:read"), NGX_HTTP_MCP_PERM_LINKS_READ },
    { ngx_string("mcp"), NGX_HTTP_MCP_PERM_MCP },
    { ngx_string("admin"), NGX_HTTP_MCP_PERM_ADMIN },
    { ngx_null_string, 0 }
};


/* the caller of a location without keys */
static ngx_http_mcp_key_t  ngx_http_mcp_anonymous = {
    { 0 },
    ngx_string(MCP_STORE_TENANT_DEFAULT),
    NGX_HTTP_MCP_PERM_DEFAULT,
    0
};


/*
 * mcp_api_key <sha256-hex> tenant=<name> [scopes=...];
 */

char *
ngx_http_mcp_api_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_str_t            *value;
    ngx_http_mcp_keys_t   ks;

    value = cf->args->elts;

    ks.cf = cf;
    ks.mlcf = conf;
    ks.file = NULL;
    ks.line = 0;

    if (ngx_http_mcp_key_add(&ks, &value[1], cf->args->nelts - 1) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * mcp_api_keys_file <path>: one "<sha256-hex> tenant=<name> [scopes=...]"
 * a line; blank lines and "#" to the end of a line are ignored.  Read
 * once, while the configuration is read (so a reload rereads it).
 */

char *
ngx_http_mcp_api_keys_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_str_t            *value, path, text;
    ngx_http_mcp_keys_t   ks;

    value = cf->args->elts;
    path = value[1];

    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_mcp_keys_read(cf, &path, &text) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    ks.cf = cf;
    ks.mlcf = conf;
    ks.file = &path;
    ks.line = 0;

    if (ngx_http_mcp_keys_parse(&ks, &text) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * The whole file at path, into the configuration's temporary pool.
 */

static ngx_int_t
ngx_http_mcp_keys_read(ngx_conf_t *cf, ngx_str_t *path, ngx_str_t *text)
{
    off_t       size;
    ssize_t     n;
    ngx_int_t   rc;
    ngx_file_t  file;

    ngx_memzero(&file, sizeof(ngx_file_t));

    file.name = *path;
    file.log = cf->log;

    file.fd = ngx_open_file(path->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (file.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", path);
        return NGX_ERROR;
    }

    rc = NGX_ERROR;

    if (ngx_fd_info(file.fd, &file.info) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_fd_info_n " \"%V\" failed", path);
        goto done;
    }

    size = ngx_file_size(&file.info);

    if (size > NGX_HTTP_MCP_KEYS_FILE_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "mcp_api_keys_file \"%V\" is too large", path);
        goto done;
    }

    text->data = ngx_pnalloc(cf->temp_pool, (size_t) size + 1);
    if (text->data == NULL) {
        goto done;
    }

    n = ngx_read_file(&file, text->data, (size_t) size, 0);
    if (n == NGX_ERROR) {
        goto done;
    }

    if (n != size) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           ngx_read_file_n " \"%V\" returned only %z bytes "
                           "instead of %O", path, n, size);
        goto done;
    }

    text->len = n;
    rc = NGX_OK;

done:

    if (ngx_close_file(file.fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, cf->log, ngx_errno,
                      ngx_close_file_n " \"%V\" failed", path);
    }

    return rc;
}


/*
 * Adds the key of each line of text: its words up to a "#".
 */

static ngx_int_t
ngx_http_mcp_keys_parse(ngx_http_mcp_keys_t *ks, ngx_str_t *text)
{
    u_char      *p, *last, *eol;
    ngx_str_t    args[NGX_HTTP_MCP_KEY_WORDS];
    ngx_uint_t   n;

    last = text->data + text->len;

    for (p = text->data; p < last; p = eol + 1) {

        ks->line++;

        eol = ngx_strlchr(p, last, '\n');
        if (eol == NULL) {
            eol = last;
        }

        for (n = 0; p < eol && *p != '#'; /* void */ ) {

            if (*p == ' ' || *p == '\t' || *p == '\r') {
                p++;
                continue;
            }

            if (n == NGX_HTTP_MCP_KEY_WORDS) {
                return ngx_http_mcp_key_error(ks, "too many parameters");
            }

            args[n].data = p;

            while (p < eol && *p != ' ' && *p != '\t' && *p != '\r'
                   && *p != '#')
            {
                p++;
            }

            args[n].len = p - args[n].data;
            n++;
        }

        if (n && ngx_http_mcp_key_add(ks, args, n) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * Adds the key of args[0 .. n) ("<hash> tenant=<name> [scopes=...]") to
 * the location's list.  The messages never quote the hash: a key pasted
 * where its hash belongs must not reach the log.
 */

static ngx_int_t
ngx_http_mcp_key_add(ngx_http_mcp_keys_t *ks, ngx_str_t *args, ngx_uint_t n)
{
    ngx_str_t                  value;
    ngx_uint_t                 i;
    ngx_http_mcp_key_t        *key, *k;
    ngx_http_mcp_loc_conf_t   *mlcf;
    ngx_http_mcp_key_param_t  *param;

    mlcf = ks->mlcf;

    if (mlcf->api_keys == NGX_CONF_UNSET_PTR) {
        mlcf->api_keys = ngx_array_create(ks->cf->pool, 4,
                                          sizeof(ngx_http_mcp_key_t));
        if (mlcf->api_keys == NULL) {
            return ngx_http_mcp_key_error(ks, "out of memory");
        }
    }

    key = ngx_array_push(mlcf->api_keys);
    if (key == NULL) {
        return ngx_http_mcp_key_error(ks, "out of memory");
    }

    ngx_memzero(key, sizeof(ngx_http_mcp_key_t));
    key->perms = NGX_CONF_UNSET_UINT;

    if (ngx_http_mcp_key_hash(ks, key, &args[0]) != NGX_OK) {
        return NGX_ERROR;
    }

    for (i = 1; i < n; i++) {

        for (param = ngx_http_mcp_key_params; param->name.len; param++) {
            if (args[i].len >= param->name.len
                && ngx_strncmp(args[i].data, param->name.data,
                               param->name.len)
                   == 0)
            {
                break;
            }
        }

        if (param->set == NULL) {
            return ngx_http_mcp_key_error(ks, "invalid parameter \"%.*s\" "
                                          "(expected \"tenant=\" or "
                                          "\"scopes=\")",
                                          (int) args[i].len, args[i].data);
        }

        value.data = args[i].data + param->name.len;
        value.len = args[i].len - param->name.len;

        if (param->set(ks, key, &value) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (key->tenant.len == 0) {
        return ngx_http_mcp_key_error(ks, "an API key needs \"tenant=\"");
    }

    if (key->perms == NGX_CONF_UNSET_UINT) {
        key->perms = NGX_HTTP_MCP_PERM_DEFAULT;
    }

    /* the same key twice would name two tenants */

    k = mlcf->api_keys->elts;

    for (i = 0; i + 1 < mlcf->api_keys->nelts; i++) {
        if (ngx_memcmp(k[i].hash, key->hash, NGX_HTTP_MCP_KEY_HASH_LEN) == 0)
        {
            return ngx_http_mcp_key_error(ks, "duplicate API key hash");
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_mcp_key_hash(ngx_http_mcp_keys_t *ks, ngx_http_mcp_key_t *key,
    ngx_str_t *hex)
{
    if (hex->len != NGX_HTTP_MCP_KEY_HEX_LEN
        || ngx_http_mcp_hex(key->hash, hex) != NGX_OK)
    {
        return ngx_http_mcp_key_error(ks, "invalid API key hash (%zu "
                                      "characters): expected the SHA-256 of "
                                      "the key as %d hexadecimal digits, "
                                      "e.g. from \"printf %%s KEY | "
                                      "sha256sum\"",
                                      hex->len, NGX_HTTP_MCP_KEY_HEX_LEN);
    }

    if (ngx_strncasecmp(hex->data, (u_char *) NGX_HTTP_MCP_EMPTY_HASH,
                        NGX_HTTP_MCP_KEY_HEX_LEN)
        == 0)
    {
        return ngx_http_mcp_key_error(ks, "the API key hash is the SHA-256 "
                                      "of an empty key");
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_mcp_key_tenant(ngx_http_mcp_keys_t *ks, ngx_http_mcp_key_t *key,
    ngx_str_t *value)
{
    if (key->tenant.len) {
        return ngx_http_mcp_key_error(ks, "duplicate \"tenant=\"");
    }

    if (mcp_store_scope_valid((char *) value->data, value->len, 1)
        != MCP_STORE_OK)
    {
        return ngx_http_mcp_key_error(ks, "invalid tenant \"%.*s\": 1 to %d "
                                      "of A-Z, a-z, 0-9, \"_\", \".\" and "
                                      "\"-\"", (int) value->len, value->data,
                                      MCP_STORE_SCOPE_MAX);
    }

    /* the words of mcp_api_keys_file are in a buffer of the
     * configuration's temporary pool, freed once it is read */

    key->tenant.len = value->len;
    key->tenant.data = ngx_pstrdup(ks->cf->pool, value);
    if (key->tenant.data == NULL) {
        return ngx_http_mcp_key_error(ks, "out of memory");
    }

    return NGX_OK;
}


/*
 * scopes=a,b,...: the key's permissions, by their names.
 */

static ngx_int_t
ngx_http_mcp_key_perms(ngx_http_mcp_keys_t *ks, ngx_http_mcp_key_t *key,
    ngx_str_t *value)
{
    u_char      *p, *last, *comma;
    ngx_str_t    s;
    ngx_uint_t   perm;

    if (key->perms != NGX_CONF_UNSET_UINT) {
        return ngx_http_mcp_key_error(ks, "duplicate \"scopes=\"");
    }

    key->perms = 0;
    p = value->data;
    last = value->data + value->len;

    do {
        comma = ngx_strlchr(p, last, ',');
        s.data = p;
        s.len = (comma ? comma : last) - p;

        perm = ngx_http_mcp_perm_value(s.data, s.len);

        if (perm == 0) {
            return ngx_http_mcp_key_error(ks, "unknown scope \"%.*s\" "
                                          "(scopes are links:write, "
                                          "links:read, mcp and admin)",
                                          (int) s.len, s.data);
        }

        key->perms |= perm;
        p = comma + 1;

    } while (comma != NULL);

    return NGX_OK;
}


/*
 * Logs why a key is refused, with the file and line it is on when it
 * comes from mcp_api_keys_file.  Returns NGX_ERROR.
 */

static ngx_int_t
ngx_http_mcp_key_error(ngx_http_mcp_keys_t *ks, const char *fmt, ...)
{
    char     why[NGX_MAX_CONF_ERRSTR];
    va_list  args;

    va_start(args, fmt);
    ngx_http_mcp_vformat(why, sizeof(why), fmt, args);
    va_end(args);

    if (ks->file) {
        ngx_conf_log_error(NGX_LOG_EMERG, ks->cf, 0, "%s in %V:%ui", why,
                           ks->file, ks->line);

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, ks->cf, 0, "%s", why);
    }

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_mcp_hex(u_char *dst, ngx_str_t *hex)
{
    u_char      c, v;
    ngx_uint_t  i;

    for (i = 0; i < hex->len; i++) {
        c = hex->data[i];

        if (c >= '0' && c <= '9') {
            v = c - '0';

        } else {
            c |= 0x20;

            if (c < 'a' || c > 'f') {
                return NGX_ERROR;
            }

            v = c - 'a' + 10;
        }

        if (i % 2 == 0) {
            dst[i / 2] = (u_char) (v << 4);

        } else {
            dst[i / 2] |= v;
        }
    }

    return NGX_OK;
}


/*
 * The permission a scope names (an API key's "scopes=", an access token's
 * scope), or 0.
 */

ngx_uint_t
ngx_http_mcp_perm_value(u_char *name, size_t len)
{
    ngx_http_mcp_perm_name_t  *pn;

    for (pn = ngx_http_mcp_perm_names; pn->name.len; pn++) {
        if (pn->name.len == len && ngx_strncmp(pn->name.data, name, len) == 0)
        {
            break;
        }
    }

    return pn->perm;
}


const char *
ngx_http_mcp_perm_name(ngx_uint_t perm)
{
    ngx_http_mcp_perm_name_t  *pn;

    for (pn = ngx_http_mcp_perm_names; pn->name.len; pn++) {
        if (pn->perm == perm) {
            return (const char *) pn->name.data;
        }
    }

    return "?";
}


/*
 * Authenticates the request and checks that its caller has the permission
 * perm: NGX_OK, and the caller (an API key, or an OAuth access token's
 * tenant and scopes) is the request's (ngx_http_mcp_caller()); or
 * NGX_DECLINED with err filled as ngx_http_mcp_fail() does: 401
 * "unauthorized" (no credential, or not a valid one; with
 * WWW-Authenticate), 403 "forbidden" (the caller lacks the permission)
 * or 500.  Without keys or OAuth for the location every request passes.
 * With both, either credential is accepted.
 */

ngx_int_t
ngx_http_mcp_auth(ngx_http_request_t *r, ngx_uint_t perm,
    ngx_http_mcp_error_t *err)
{
    ngx_int_t                 rc;
    ngx_str_t                 token;
    ngx_uint_t                keys, oauth;
    const char               *what, *why;
    ngx_http_mcp_key_t       *key;
    ngx_http_mcp_loc_conf_t  *mlcf;

    mlcf = ngx_http_get_module_loc_conf(r, ngx_mcp_module);

    keys = (mlcf->api_keys != NULL && mlcf->api_keys->nelts);
    oauth = (mlcf->oauth.issuers != NULL);

    if (!keys && !oauth) {
        return ngx_http_mcp_set_caller(r, &ngx_http_mcp_anonymous, err);
    }

    what = keys ? (oauth ? "an API key or access token" : "an API key")
                : "an access token";

    rc = ngx_http_mcp_bearer(r, &token);

    if (rc == NGX_DECLINED) {
        return ngx_http_mcp_refuse(r, err, NGX_HTTP_UNAUTHORIZED,
                                   ngx_http_mcp_challenge(r, NULL,
                                       oauth ? ngx_http_mcp_perm_name(perm)
                                             : NULL),
                                   "%s is required: send \"Authorization: "
                                   "Bearer <%s>\"", what,
                                   keys ? "key" : "token");
    }

    if (rc != NGX_OK) {
        return ngx_http_mcp_refuse(r, err, NGX_HTTP_UNAUTHORIZED,
                                   ngx_http_mcp_challenge(r, NULL, NULL),
                                   "the Authorization header must be "
                                   "\"Bearer <%s>\"",
                                   keys ? "key" : "token");
    }

    rc = NGX_DECLINED;
    why = NULL;

    if (keys) {
        rc = ngx_http_mcp_key_find(r, mlcf->api_keys, &token, &key);
    }

    if (rc == NGX_DECLINED && oauth) {
        rc = ngx_http_mcp_oauth_verify(r, &token, &key, &why);
    }

    if (rc == NGX_ERROR) {
        return ngx_http_mcp_fail(err, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                 "internal", "cannot check the credential");
    }

    if (rc == NGX_DECLINED) {
        /* the log says why, the client only that it is not valid */

        if (oauth) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "mcp: %saccess token refused: %s",
                          keys ? "unknown API key, and " : "", why);

        } else {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "mcp: unknown API key");
        }

        return ngx_http_mcp_refuse(r, err, NGX_HTTP_UNAUTHORIZED,
                                   ngx_http_mcp_challenge(r, "invalid_token",
                                                          NULL),
                                   "the %s is not valid",
                                   oauth ? (keys ? "API key or access token"
                                                 : "access token")
                                         : "API key");
    }

    if ((key->perms & perm) != perm) {
        return ngx_http_mcp_forbid(r, key, perm, err);
    }

    return ngx_http_mcp_set_caller(r, key, err);
}


/*
 * The WWW-Authenticate challenge, error and scope added when given: with
 * OAuth, it says where the resource's metadata is; otherwise it names
 * the realm.  A NUL-terminated string in the request's pool, or NULL.
 */

static const char *
ngx_http_mcp_challenge(ngx_http_request_t *r, const char *error,
    const char *scope)
{
    u_char                   *p, *last;
    ngx_http_mcp_loc_conf_t  *mlcf;

    mlcf = ngx_http_get_module_loc_conf(r, ngx_mcp_module);

    if (mlcf->oauth.issuers != NULL) {
        return (const char *) ngx_http_mcp_oauth_challenge(r, error, scope);
    }

    p = ngx_pnalloc(r->pool, NGX_HTTP_MCP_CHALLENGE_LEN);
    if (p == NULL) {
        return NULL;
    }

    last = ngx_cpymem(p, NGX_HTTP_MCP_REALM, sizeof(NGX_HTTP_MCP_REALM) - 1);

    if (error) {
        last = ngx_sprintf(last, ", error=\"%s\"", error);
    }

    if (scope) {
        last = ngx_sprintf(last, ", scope=\"%s\"", scope);
    }

    *last = '\0';

    return (const char *) p;
}


/* the request's caller, kept in its context (ngx_http_mcp_variables.c) */

static ngx_int_t
ngx_http_mcp_set_caller(ngx_http_request_t *r, ngx_http_mcp_key_t *key,
    ngx_http_mcp_error_t *err)
{
    ngx_http_mcp_ctx_t  *ctx;

    ctx = ngx_http_mcp_ctx(r);
    if (ctx == NULL) {
        return ngx_http_mcp_fail(err, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                 "internal", "out of memory");
    }

    ctx->key = key;

    return NGX_OK;
}


/*
 * The key of "Authorization: Bearer <key>", blanks around it dropped:
 * NGX_OK, NGX_DECLINED without the header, NGX_ERROR when it is not of
 * that form.
 */

static ngx_int_t
ngx_http_mcp_bearer(ngx_http_request_t *r, ngx_str_t *token)
{
    u_char           *p, *last;
    ngx_table_elt_t  *h;

    h = r->headers_in.authorization;

    if (h == NULL) {
        return NGX_DECLINED;
    }

    p = h->value.data;
    last = p + h->value.len;

    if (h->value.len < 7
        || ngx_strncasecmp(p, (u_char *) "Bearer ", 7) != 0)
    {
        return NGX_ERROR;
    }

    for (p += 7; p < last && *p == ' '; p++) {
        /* void */
    }

    while (last > p && (last[-1] == ' ' || last[-1] == '\t')) {
        last--;
    }

    if (p == last) {
        return NGX_ERROR;
    }

    token->data = p;
    token->len = last - p;

    return NGX_OK;
}


/*
 * The configured key whose hash is the SHA-256 of token: NGX_OK with
 * *found, NGX_DECLINED when none is, NGX_ERROR when hashing fails.
 *
 * Every configured hash is compared, in constant time, and the match is
 * picked without a branch: the time taken depends on neither how much of
 * a hash matched nor which key it was.  Hashes are unique (duplicates are
 * refused when configured), so at most one matches.
 */

static ngx_int_t
ngx_http_mcp_key_find(ngx_http_request_t *r, ngx_array_t *keys,
    ngx_str_t *token, ngx_http_mcp_key_t **found)
{
    u_char               hash[NGX_HTTP_MCP_KEY_HASH_LEN];
    uintptr_t            match, mask;
    ngx_uint_t           i;
    ngx_http_mcp_key_t  *key;

    if (EVP_Digest(token->data, token->len, hash, NULL, EVP_sha256(), NULL)
        != 1)
    {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "EVP_Digest(SHA-256) failed");
        return NGX_ERROR;
    }

    key = keys->elts;
    match = 0;

    for (i = 0; i < keys->nelts; i++) {
        mask = (uintptr_t) 0
               - (uintptr_t) (CRYPTO_memcmp(hash, key[i].hash,
                                            NGX_HTTP_MCP_KEY_HASH_LEN) == 0);
        match |= (uintptr_t) &key[i] & mask;
    }

    if (match == 0) {
        return NGX_DECLINED;
    }

    *found = (ngx_http_mcp_key_t *) match;

    return NGX_OK;
}


/*
 * 403: the caller lacks the permission perm, named in the challenge.
 */

static ngx_int_t
ngx_http_mcp_forbid(ngx_http_request_t *r, ngx_http_mcp_key_t *key,
    ngx_uint_t perm, ngx_http_mcp_error_t *err)
{
    const char  *name, *what;

    name = ngx_http_mcp_perm_name(perm);
    what = key->token ? "access token" : "API key";

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "mcp: %s of tenant \"%V\" lacks the scope \"%s\"",
                  what, &key->tenant, name);

    return ngx_http_mcp_refuse(r, err, NGX_HTTP_FORBIDDEN,
                               ngx_http_mcp_challenge(r, "insufficient_scope",
                                                      name),
                               "the %s lacks the scope \"%s\"", what, name);
}


/*
 * Fills err, adds the WWW-Authenticate challenge.  Returns NGX_DECLINED.
 */

static ngx_int_t
ngx_http_mcp_refuse(ngx_http_request_t *r, ngx_http_mcp_error_t *err,
    ngx_uint_t status, const char *challenge, const char *fmt, ...)
{
    va_list    args;
    ngx_str_t  value;

    va_start(args, fmt);
    (void) ngx_http_mcp_verror(err, status, 0,
                               (status == NGX_HTTP_FORBIDDEN) ? "forbidden"
                                                              : "unauthorized",
                               fmt, args);
    va_end(args);

    if (challenge == NULL) {
        err->status = NGX_HTTP_INTERNAL_SERVER_ERROR;
        err->error = "internal";
        return NGX_DECLINED;
    }

    value.data = (u_char *) challenge;
    value.len = ngx_strlen(challenge);

    if (ngx_http_mcp_add_header(r, "WWW-Authenticate", &value) == NULL) {
        err->status = NGX_HTTP_INTERNAL_SERVER_ERROR;
        err->error = "internal";
    }

    return NGX_DECLINED;
}


/*
 * The key the request was authenticated with by ngx_http_mcp_auth(); for
 * a location without keys (or before authentication), the "default"
 * tenant with the default permissions.
 */

ngx_http_mcp_key_t *
ngx_http_mcp_caller(ngx_http_request_t *r)
{
    ngx_http_mcp_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_mcp_module);

    return (ctx && ctx->key) ? ctx->key : &ngx_http_mcp_anonymous;
}


/*
 * Has the request's API key the permission perm?  NGX_OK or NGX_DECLINED.
 */

ngx_int_t
ngx_http_mcp_permitted(ngx_http_request_t *r, ngx_uint_t perm)
{
    return (ngx_http_mcp_caller(r)->perms & perm) == perm ? NGX_OK
                                                          : NGX_DECLINED;
}


/*
 * Does the request's tenant own a record of tenant (a link, a session)?
 * NGX_OK or NGX_DECLINED.
 */

ngx_int_t
ngx_http_mcp_owns(ngx_http_request_t *r, const char *tenant, size_t len)
{
    ngx_http_mcp_key_t  *key;

    key = ngx_http_mcp_caller(r);

    return (key->tenant.len == len
            && ngx_memcmp(key->tenant.data, tenant, len) == 0)
           ? NGX_OK : NGX_DECLINED;
}
