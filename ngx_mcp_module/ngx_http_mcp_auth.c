
/*
 * ngx_mcp: API keys and tenants.
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
 * tenant with every permission
 * but admin, as before keys existed.
 */


#include "ngx_http_mcp_module.h"

#if !(NGX_OPENSSL)
#error "ngx_mcp_module needs nginx configured with OpenSSL (SHA-256 of keys)"
#endif

#include <openssl/crypto.h>
#include <openssl/evp.h>


#define NGX_HTTP_MCP_KEY_HEX_LEN   (2 * NGX_HTTP_MCP_KEY_HASH_LEN)

#define NGX_HTTP_MCP_REALM         "Bearer realm=\"ngx_mcp\""
#define NGX_HTTP_MCP_CHALLENGE_LEN  128

/* the SHA-256 of the empty key: never a key */
#define NGX_HTTP_MCP_EMPTY_HASH                                               \
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


typedef struct {
    ngx_str_t                  name;
    ngx_uint_t                 perm;
} ngx_http_mcp_perm_name_t;


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
    NGX_HTTP_MCP_PERM_DEFAULT
};


static const char *ngx_http_mcp_key_add(ngx_conf_t *cf,
    ngx_http_mcp_loc_conf_t *mlcf, ngx_str_t *args, ngx_uint_t n);
static ngx_int_t ngx_http_mcp_hex(u_char *dst, ngx_str_t *hex);
static ngx_int_t ngx_http_mcp_tenant_name(ngx_str_t *name);
static const char *ngx_http_mcp_perm_name(ngx_uint_t perm);
static ngx_int_t ngx_http_mcp_refuse(ngx_http_request_t *r,
    ngx_http_mcp_error_t *err, ngx_uint_t status, const char *challenge,
    const char *fmt, ...) NGX_HTTP_MCP_PRINTF(5, 6);


/*
 * mcp_api_key <sha256-hex> tenant=<name> [scopes=...];
 */

char *
ngx_http_mcp_api_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    const char  *why;
    ngx_str_t   *value;

    value = cf->args->elts;

    why = ngx_http_mcp_key_add(cf, conf, &value[1], cf->args->nelts - 1);

    if (why != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s", why);
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
    u_char       *p, *last, *eol, *buf;
    off_t         size;
    ssize_t       n;
    ngx_fd_t      fd;
    ngx_str_t    *value, path, args[4];
    ngx_uint_t    line, nargs;
    ngx_file_t    file;
    const char   *why;

    value = cf->args->elts;
    path = value[1];

    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    fd = ngx_open_file(path.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", &path);
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));

    file.fd = fd;
    file.name = path;
    file.log = cf->log;

    buf = NULL;
    why = NULL;

    if (ngx_fd_info(fd, &file.info) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_fd_info_n " \"%V\" failed", &path);
        goto failed;
    }

    size = ngx_file_size(&file.info);

    /* a key is about 100 bytes: a million keys is far more than this
     * linear lookup is for */

    if (size > 64 * 1024 * 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "mcp_api_keys_file \"%V\" is too large", &path);
        goto failed;
    }

    buf = ngx_pnalloc(cf->temp_pool, (size_t) size + 1);
    if (buf == NULL) {
        goto failed;
    }

    n = ngx_read_file(&file, buf, (size_t) size, 0);
    if (n == NGX_ERROR) {
        goto failed;
    }

    if (n != size) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           ngx_read_file_n " \"%V\" returned only %z bytes "
                           "instead of %O", &path, n, size);
        goto failed;
    }

    last = buf + n;

    for (p = buf, line = 1; p < last; p = eol + 1, line++) {

        eol = ngx_strlchr(p, last, '\n');
        if (eol == NULL) {
            eol = last;
        }

        /* the words of the line, up to a "#" */

        nargs = 0;

        while (p < eol && *p != '#') {

            if (*p == ' ' || *p == '\t' || *p == '\r') {
                p++;
                continue;
            }

            if (nargs == 4) {
                why = "too many parameters";
                goto invalid;
            }

            args[nargs].data = p;

            while (p < eol && *p != ' ' && *p != '\t' && *p != '\r'
                   && *p != '#')
            {
                p++;
            }

            args[nargs].len = p - args[nargs].data;
            nargs++;
        }

        if (nargs == 0) {
            continue;
        }

        why = ngx_http_mcp_key_add(cf, conf, args, nargs);

        if (why != NULL) {
            goto invalid;
        }
    }

    (void) ngx_close_file(fd);

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s in %V:%ui", why, &path,
                       line);

failed:

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, cf->log, ngx_errno,
                      ngx_close_file_n " \"%V\" failed", &path);
    }

    return NGX_CONF_ERROR;
}


/*
 * Adds the key of args[0 .. n) ("<hash> tenant=<name> [scopes=...]") to
 * the location's list: NULL, or why not.  The reasons never quote the
 * hash: a key pasted where its hash belongs must not reach the log.
 */

static const char *
ngx_http_mcp_key_add(ngx_conf_t *cf, ngx_http_mcp_loc_conf_t *mlcf,
    ngx_str_t *args, ngx_uint_t n)
{
    u_char                     *p, *last, *comma;
    ngx_str_t                   s;
    ngx_uint_t                  i, perms, one;
    ngx_http_mcp_key_t         *key, *k;
    ngx_http_mcp_perm_name_t   *sn;

    static char                 why[256];

    if (mlcf->api_keys == NGX_CONF_UNSET_PTR) {
        mlcf->api_keys = ngx_array_create(cf->pool, 4,
                                          sizeof(ngx_http_mcp_key_t));
        if (mlcf->api_keys == NULL) {
            return "out of memory";
        }
    }

    key = ngx_array_push(mlcf->api_keys);
    if (key == NULL) {
        return "out of memory";
    }

    ngx_memzero(key, sizeof(ngx_http_mcp_key_t));

    if (args[0].len != NGX_HTTP_MCP_KEY_HEX_LEN
        || ngx_http_mcp_hex(key->hash, &args[0]) != NGX_OK)
    {
        (void) snprintf(why, sizeof(why),
                        "invalid API key hash (%zu characters): expected the "
                        "SHA-256 of the key as %d hexadecimal digits, "
                        "e.g. from \"printf %%s KEY | sha256sum\"",
                        args[0].len, NGX_HTTP_MCP_KEY_HEX_LEN);
        return why;
    }

    if (ngx_strncasecmp(args[0].data, (u_char *) NGX_HTTP_MCP_EMPTY_HASH,
                        NGX_HTTP_MCP_KEY_HEX_LEN)
        == 0)
    {
        return "the API key hash is the SHA-256 of an empty key";
    }

    perms = NGX_CONF_UNSET_UINT;

    for (i = 1; i < n; i++) {

        if (args[i].len >= 7
            && ngx_strncmp(args[i].data, "tenant=", 7) == 0)
        {
            if (key->tenant.len) {
                return "duplicate \"tenant=\"";
            }

            key->tenant.data = args[i].data + 7;
            key->tenant.len = args[i].len - 7;

            if (ngx_http_mcp_tenant_name(&key->tenant) != NGX_OK) {
                (void) snprintf(why, sizeof(why),
                                "invalid tenant \"%.*s\": 1 to %d of A-Z, "
                                "a-z, 0-9, \"_\", \".\" and \"-\"",
                                (int) key->tenant.len, key->tenant.data,
                                MCP_STORE_SCOPE_MAX);
                return why;
            }

            /* the words of mcp_api_keys_file are in a buffer of the
             * configuration's temporary pool, freed once it is read */

            key->tenant.data = ngx_pstrdup(cf->pool, &key->tenant);
            if (key->tenant.data == NULL) {
                return "out of memory";
            }

            continue;
        }

        if (args[i].len >= 7
            && ngx_strncmp(args[i].data, "scopes=", 7) == 0)
        {
            if (perms != NGX_CONF_UNSET_UINT) {
                return "duplicate \"scopes=\"";
            }

            perms = 0;
            p = args[i].data + 7;
            last = args[i].data + args[i].len;

            do {
                comma = ngx_strlchr(p, last, ',');
                s.data = p;
                s.len = (comma ? comma : last) - p;

                one = 0;

                for (sn = ngx_http_mcp_perm_names; sn->name.len; sn++) {
                    if (sn->name.len == s.len
                        && ngx_strncmp(sn->name.data, s.data, s.len) == 0)
                    {
                        one = sn->perm;
                        break;
                    }
                }

                if (one == 0) {
                    (void) snprintf(why, sizeof(why),
                                    "unknown scope \"%.*s\" (scopes are "
                                    "links:write, links:read, mcp and "
                                    "admin)", (int) s.len, s.data);
                    return why;
                }

                perms |= one;
                p = comma + 1;

            } while (comma != NULL);

            continue;
        }

        (void) snprintf(why, sizeof(why), "invalid parameter \"%.*s\" "
                        "(expected \"tenant=\" or \"scopes=\")",
                        (int) args[i].len, args[i].data);
        return why;
    }

    if (key->tenant.len == 0) {
        return "an API key needs \"tenant=\"";
    }

    key->perms = (perms == NGX_CONF_UNSET_UINT) ? NGX_HTTP_MCP_PERM_DEFAULT
                                                : perms;

    /* the same key twice would name two tenants */

    k = mlcf->api_keys->elts;

    for (i = 0; i + 1 < mlcf->api_keys->nelts; i++) {
        if (ngx_memcmp(k[i].hash, key->hash, NGX_HTTP_MCP_KEY_HASH_LEN) == 0)
        {
            return "duplicate API key hash";
        }
    }

    return NULL;
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


static const char *
ngx_http_mcp_perm_name(ngx_uint_t perm)
{
    ngx_http_mcp_perm_name_t  *sn;

    for (sn = ngx_http_mcp_perm_names; sn->name.len; sn++) {
        if (sn->perm == perm) {
            return (const char *) sn->name.data;
        }
    }

    return "?";
}


/* a tenant is a part of the store's scope: 1 to 64 of [A-Za-z0-9_.-] */

static ngx_int_t
ngx_http_mcp_tenant_name(ngx_str_t *name)
{
    u_char      c;
    ngx_uint_t  i;

    if (name->len == 0 || name->len > MCP_STORE_SCOPE_MAX) {
        return NGX_DECLINED;
    }

    for (i = 0; i < name->len; i++) {
        c = name->data[i];

        if (!((c >= '0' && c <= '9') || ((c | 0x20) >= 'a'
                                         && (c | 0x20) <= 'z')
              || c == '_' || c == '.' || c == '-'))
        {
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


/*
 * Authenticates the request and checks that its key has perm: NGX_OK,
 * and the key is the request's caller (ngx_http_mcp_caller()); or the
 * HTTP status refusing it, 401 (no key, or not a known one, with
 * WWW-Authenticate) or 403 (the key lacks the permission), with err
 * filled as ngx_http_mcp_fail() does ("unauthorized", "forbidden"),
 * err->status being that status.  Without keys for the location every
 * request passes.
 */

ngx_int_t
ngx_http_mcp_auth(ngx_http_request_t *r, ngx_uint_t perm,
    ngx_http_mcp_error_t *err)
{
    u_char                    hash[NGX_HTTP_MCP_KEY_HASH_LEN];
    u_char                   *p, *last;
    uintptr_t                 found, mask;
    ngx_uint_t                i, n;
    const char               *name;
    ngx_table_elt_t          *h;
    ngx_http_mcp_key_t       *key;
    ngx_http_mcp_loc_conf_t  *mlcf;

    mlcf = ngx_http_get_module_loc_conf(r, ngx_mcp_module);

    if (mlcf->api_keys == NULL || mlcf->api_keys->nelts == 0) {
        ngx_http_set_ctx(r, &ngx_http_mcp_anonymous, ngx_mcp_module);
        return NGX_OK;
    }

    h = r->headers_in.authorization;

    if (h == NULL) {
        return ngx_http_mcp_refuse(r, err, NGX_HTTP_UNAUTHORIZED,
                                   NGX_HTTP_MCP_REALM,
                                   "an API key is required: send "
                                   "\"Authorization: Bearer <key>\"");
    }

    p = h->value.data;
    last = p + h->value.len;

    if (h->value.len < 7
        || ngx_strncasecmp(p, (u_char *) "Bearer ", 7) != 0)
    {
        return ngx_http_mcp_refuse(r, err, NGX_HTTP_UNAUTHORIZED,
                                   NGX_HTTP_MCP_REALM,
                                   "the Authorization header must be "
                                   "\"Bearer <key>\"");
    }

    for (p += 7; p < last && *p == ' '; p++) {
        /* void */
    }

    while (last > p && (last[-1] == ' ' || last[-1] == '\t')) {
        last--;
    }

    if (p == last) {
        return ngx_http_mcp_refuse(r, err, NGX_HTTP_UNAUTHORIZED,
                                   NGX_HTTP_MCP_REALM,
                                   "the Authorization header must be "
                                   "\"Bearer <key>\"");
    }

    /*
     * Every configured hash is compared, in constant time, and the match
     * is picked without a branch: the time taken depends on neither how
     * much of a hash matched nor which key it was.  Hashes are unique
     * (duplicates are refused when configured), so at most one matches.
     */

    if (EVP_Digest(p, last - p, hash, NULL, EVP_sha256(), NULL) != 1) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "EVP_Digest(SHA-256) failed");
        (void) ngx_http_mcp_fail(err, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                 "internal", "cannot check the API key");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    key = mlcf->api_keys->elts;
    n = mlcf->api_keys->nelts;
    found = 0;

    for (i = 0; i < n; i++) {
        mask = (uintptr_t) 0
               - (uintptr_t) (CRYPTO_memcmp(hash, key[i].hash,
                                            NGX_HTTP_MCP_KEY_HASH_LEN) == 0);
        found |= (uintptr_t) &key[i] & mask;
    }

    if (found == 0) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "mcp: unknown API key");

        return ngx_http_mcp_refuse(r, err, NGX_HTTP_UNAUTHORIZED,
                                   NGX_HTTP_MCP_REALM
                                   ", error=\"invalid_token\"",
                                   "the API key is not valid");
    }

    key = (ngx_http_mcp_key_t *) found;

    ngx_http_set_ctx(r, key, ngx_mcp_module);

    if (ngx_http_mcp_permitted(r, perm) != NGX_OK) {
        name = ngx_http_mcp_perm_name(perm);

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "mcp: API key of tenant \"%V\" lacks the scope \"%s\"",
                      &key->tenant, name);

        p = ngx_pnalloc(r->pool, NGX_HTTP_MCP_CHALLENGE_LEN);
        if (p == NULL) {
            (void) ngx_http_mcp_fail(err, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                     "internal", "out of memory");
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        (void) ngx_snprintf(p, NGX_HTTP_MCP_CHALLENGE_LEN,
                            NGX_HTTP_MCP_REALM ", error=\"insufficient_"
                            "scope\", scope=\"%s\"%Z", name);

        return ngx_http_mcp_refuse(r, err, NGX_HTTP_FORBIDDEN, (char *) p,
                                   "the API key lacks the scope \"%s\"",
                                   name);
    }

    return NGX_OK;
}


/*
 * Fills err, adds the WWW-Authenticate challenge, and returns the status.
 */

static ngx_int_t
ngx_http_mcp_refuse(ngx_http_request_t *r, ngx_http_mcp_error_t *err,
    ngx_uint_t status, const char *challenge, const char *fmt, ...)
{
    va_list     args;
    ngx_str_t   value;

    va_start(args, fmt);
    (void) ngx_http_mcp_verror(err, status, 0,
                               (status == NGX_HTTP_FORBIDDEN) ? "forbidden"
                                                              : "unauthorized",
                               fmt, args);
    va_end(args);

    value.data = (u_char *) challenge;
    value.len = ngx_strlen(challenge);

    if (ngx_http_mcp_add_header(r, "WWW-Authenticate", &value) == NULL) {
        err->status = NGX_HTTP_INTERNAL_SERVER_ERROR;
        err->error = "internal";
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return status;
}


/*
 * The key the request was authenticated with by ngx_http_mcp_auth(); for
 * a location without keys (or before authentication), the "default"
 * tenant with the default permissions.
 */

ngx_http_mcp_key_t *
ngx_http_mcp_caller(ngx_http_request_t *r)
{
    ngx_http_mcp_key_t  *key;

    key = ngx_http_get_module_ctx(r, ngx_mcp_module);

    return key ? key : &ngx_http_mcp_anonymous;
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
