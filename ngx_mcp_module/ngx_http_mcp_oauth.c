
/*
 * ngx_mcp: an OAuth 2.1 resource server, as the MCP authorization
 * specification (2025-11-25) asks of a protected MCP server.
 *
 *     mcp_oauth_issuer        URL;      (repeatable)
 *     mcp_oauth_jwks          FILE;
 *     mcp_oauth_audience      URL;      (default: the /mcp location's URL)
 *     mcp_oauth_scopes_claim  NAME;     (default: scope)
 *     mcp_oauth_tenant_claim  NAME;     (default: none, tenant "default")
 *     mcp_oauth_metadata;               (RFC 9728 metadata document)
 *
 * A location with mcp_oauth_issuer accepts, beside its API keys, access
 * tokens of those issuers: JWTs signed by a key of the JWKS file, issued
 * for this resource (aud), current (exp, nbf, with a leeway of
 * NGX_HTTP_MCP_OAUTH_LEEWAY seconds).  The token's scopes are the
 * permissions of API keys (mcp, links:read, links:write, admin), its
 * tenant claim the tenant.  Whatever is wrong with a token, the client
 * learns only "invalid_token"; the log says which check failed, never
 * anything of the token.
 *
 * The JWKS file is read with the configuration, and again by each worker
 * when its modification time, size or inode changes (looked at, at most,
 * once a second, when a token is checked): a job that fetches the
 * issuer's jwks_uri into the file (written aside, then renamed) rotates
 * keys without a reload.  A file that cannot be used leaves the keys read
 * before in place.
 */


#include "ngx_http_mcp_jwt.h"


/* seconds of clock difference with the issuer tolerated on exp and nbf */
#define NGX_HTTP_MCP_OAUTH_LEEWAY     60

#define NGX_HTTP_MCP_OAUTH_WELL_KNOWN "/.well-known/oauth-protected-resource"


struct ngx_http_mcp_jwks_s {
    ngx_str_t                  path;
    ngx_array_t               *keys;          /* of ngx_http_mcp_jwk_t */
    ngx_pool_t                *pool;          /* of keys read by a worker,
                                                 or NULL: the cycle's */
    time_t                     mtime;         /* of the file last read */
    off_t                      size;
    ngx_file_uniq_t            uniq;
    time_t                     checked;       /* when it was looked at */
    ngx_uint_t                 missing;       /* not found: said once */
};


static ngx_int_t ngx_http_mcp_jwks_load(ngx_http_mcp_jwks_t *jwks,
    ngx_pool_t *pool, ngx_log_t *log, ngx_uint_t level);
static ngx_array_t *ngx_http_mcp_jwks_keys(ngx_http_mcp_jwks_t *jwks);
static ngx_int_t ngx_http_mcp_oauth_claims(ngx_http_request_t *r,
    ngx_http_mcp_oauth_conf_t *oc, json_t *claims, ngx_http_mcp_key_t *key,
    const char **why);
static ngx_int_t ngx_http_mcp_oauth_has(json_t *v, ngx_str_t *s);
static ngx_uint_t ngx_http_mcp_oauth_perms(json_t *v);
static ngx_int_t ngx_http_mcp_oauth_resource(ngx_http_request_t *r,
    ngx_str_t *resource);
static ngx_int_t ngx_http_mcp_oauth_authority(ngx_http_request_t *r,
    in_port_t default_port, ngx_str_t *authority);
static ngx_int_t ngx_http_mcp_oauth_metadata_url(ngx_http_request_t *r,
    ngx_str_t *resource, ngx_str_t *url);
static size_t ngx_http_mcp_oauth_origin_len(ngx_str_t *url);


/* what scopes_supported lists: the permissions of API keys */
static const char  *ngx_http_mcp_oauth_scopes[] = {
    "mcp", "links:read", "links:write", "admin", NULL
};


void
ngx_http_mcp_oauth_create_conf(ngx_http_mcp_oauth_conf_t *oc)
{
    /*
     * set by ngx_pcalloc():
     *
     *     oc->audience = { 0, NULL };
     *     oc->scopes_claim = { 0, NULL };
     *     oc->tenant_claim = { 0, NULL };
     */

    oc->issuers = NGX_CONF_UNSET_PTR;
    oc->jwks = NGX_CONF_UNSET_PTR;
}


char *
ngx_http_mcp_oauth_merge_conf(ngx_conf_t *cf, ngx_http_mcp_oauth_conf_t *prev,
    ngx_http_mcp_oauth_conf_t *conf)
{
    ngx_conf_merge_ptr_value(conf->issuers, prev->issuers, NULL);
    ngx_conf_merge_ptr_value(conf->jwks, prev->jwks, NULL);
    ngx_conf_merge_str_value(conf->audience, prev->audience, "");
    ngx_conf_merge_str_value(conf->scopes_claim, prev->scopes_claim, "scope");
    ngx_conf_merge_str_value(conf->tenant_claim, prev->tenant_claim, "");

    if ((conf->issuers == NULL) != (conf->jwks == NULL)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "mcp_oauth_issuer and mcp_oauth_jwks go "
                           "together: tokens of an issuer are checked "
                           "with its keys");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * mcp_oauth_jwks FILE: read now, so that "nginx -t" checks it.
 */

char *
ngx_http_mcp_oauth_jwks(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_mcp_loc_conf_t *mlcf = conf;

    ngx_str_t            *value;
    ngx_http_mcp_jwks_t  *jwks;

    if (mlcf->oauth.jwks != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    jwks = ngx_pcalloc(cf->pool, sizeof(ngx_http_mcp_jwks_t));
    if (jwks == NULL) {
        return NGX_CONF_ERROR;
    }

    jwks->path = value[1];

    if (ngx_conf_full_name(cf->cycle, &jwks->path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_mcp_jwks_load(jwks, cf->pool, cf->log, NGX_LOG_EMERG)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    mlcf->oauth.jwks = jwks;

    return NGX_CONF_OK;
}


/*
 * mcp_oauth_audience URL: an absolute http(s) URL without a fragment
 * (RFC 8707, section 2).
 */

char *
ngx_http_mcp_oauth_audience(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_mcp_loc_conf_t *mlcf = conf;

    ngx_str_t  *value;

    if (mlcf->oauth.audience.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_http_mcp_oauth_origin_len(&value[1]) == 0
        || ngx_strlchr(value[1].data, value[1].data + value[1].len, '#'))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid mcp_oauth_audience \"%V\": an absolute "
                           "http:// or https:// URL without a fragment, "
                           "e.g. https://mcp.example.com/mcp", &value[1]);
        return NGX_CONF_ERROR;
    }

    mlcf->oauth.audience = value[1];

    return NGX_CONF_OK;
}


/*
 * Reads the JWKS file into pool, records what the file was.  NGX_OK, or
 * NGX_ERROR logged at level.
 */

static ngx_int_t
ngx_http_mcp_jwks_load(ngx_http_mcp_jwks_t *jwks, ngx_pool_t *pool,
    ngx_log_t *log, ngx_uint_t level)
{
    off_t         size;
    ssize_t       n;
    ngx_int_t     rc;
    ngx_str_t     text;
    ngx_file_t    file;
    ngx_uint_t    skipped;
    const char   *why;
    ngx_array_t  *keys;

    ngx_memzero(&file, sizeof(ngx_file_t));

    file.name = jwks->path;
    file.log = log;

    file.fd = ngx_open_file(jwks->path.data, NGX_FILE_RDONLY, NGX_FILE_OPEN,
                            0);
    if (file.fd == NGX_INVALID_FILE) {
        ngx_log_error(level, log, ngx_errno,
                      "mcp_oauth_jwks: " ngx_open_file_n " \"%V\" failed",
                      &jwks->path);
        return NGX_ERROR;
    }

    rc = NGX_ERROR;
    text.data = NULL;

    if (ngx_fd_info(file.fd, &file.info) == NGX_FILE_ERROR) {
        ngx_log_error(level, log, ngx_errno,
                      "mcp_oauth_jwks: " ngx_fd_info_n " \"%V\" failed",
                      &jwks->path);
        goto done;
    }

    size = ngx_file_size(&file.info);

    if (size > NGX_HTTP_MCP_JWKS_MAX) {
        ngx_log_error(level, log, 0,
                      "mcp_oauth_jwks \"%V\" is larger than %d bytes",
                      &jwks->path, NGX_HTTP_MCP_JWKS_MAX);
        goto done;
    }

    /* the text is needed only while it is parsed */

    text.data = ngx_alloc((size_t) size + 1, log);
    if (text.data == NULL) {
        goto done;
    }

    n = ngx_read_file(&file, text.data, (size_t) size, 0);
    if (n == NGX_ERROR) {
        goto done;
    }

    if (n != size) {
        ngx_log_error(level, log, 0,
                      "mcp_oauth_jwks: " ngx_read_file_n " \"%V\" returned "
                      "only %z bytes instead of %O", &jwks->path, n, size);
        goto done;
    }

    text.len = n;

    if (ngx_http_mcp_jwks_parse(pool, &text, &keys, &skipped, &why)
        != NGX_OK)
    {
        ngx_log_error(level, log, 0, "mcp_oauth_jwks \"%V\": %s",
                      &jwks->path, why);
        goto done;
    }

    if (skipped) {
        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "mcp_oauth_jwks \"%V\": %ui of its keys are not used "
                      "(not for signatures, or of another kind than RSA of "
                      "2048 bits or more, EC P-256 and P-384, Ed25519)",
                      &jwks->path, skipped);
    }

    jwks->keys = keys;
    jwks->mtime = ngx_file_mtime(&file.info);
    jwks->size = size;
    jwks->uniq = ngx_file_uniq(&file.info);
    rc = NGX_OK;

done:

    if (text.data) {
        ngx_free(text.data);
    }

    if (ngx_close_file(file.fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      ngx_close_file_n " \"%V\" failed", &jwks->path);
    }

    return rc;
}


/*
 * The keys to check a token with: those in use, after reading the file
 * again if it changed since it was last looked at (at most once a
 * second).  Each worker reads it for itself, into a pool of its own that
 * replaces the previous one: nothing refers to a key beyond the check of
 * one token, which does not yield.
 */

static ngx_array_t *
ngx_http_mcp_jwks_keys(ngx_http_mcp_jwks_t *jwks)
{
    time_t               now;
    ngx_log_t           *log;
    ngx_pool_t          *pool, *old;
    ngx_file_info_t      fi;
    ngx_http_mcp_jwks_t  fresh;

    now = ngx_time();

    if (now == jwks->checked) {
        return jwks->keys;
    }

    jwks->checked = now;
    log = ngx_cycle->log;

    if (ngx_file_info(jwks->path.data, &fi) == NGX_FILE_ERROR) {
        if (!jwks->missing) {
            ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                          "mcp_oauth_jwks: " ngx_file_info_n " \"%V\" "
                          "failed; the keys read before stay in use",
                          &jwks->path);
            jwks->missing = 1;
        }

        return jwks->keys;
    }

    jwks->missing = 0;

    if (ngx_file_mtime(&fi) == jwks->mtime
        && ngx_file_size(&fi) == jwks->size
        && ngx_file_uniq(&fi) == jwks->uniq)
    {
        return jwks->keys;
    }

    /* this version of the file is tried once, whatever comes of it */

    jwks->mtime = ngx_file_mtime(&fi);
    jwks->size = ngx_file_size(&fi);
    jwks->uniq = ngx_file_uniq(&fi);

    pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, log);
    if (pool == NULL) {
        return jwks->keys;
    }

    fresh = *jwks;

    if (ngx_http_mcp_jwks_load(&fresh, pool, log, NGX_LOG_ERR) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "mcp_oauth_jwks \"%V\" changed but cannot be used; "
                      "the keys read before stay in use", &jwks->path);
        ngx_destroy_pool(pool);
        return jwks->keys;
    }

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "mcp_oauth_jwks \"%V\" read again: %ui keys",
                  &jwks->path, fresh.keys->nelts);

    old = jwks->pool;

    jwks->keys = fresh.keys;
    jwks->pool = pool;
    jwks->mtime = fresh.mtime;
    jwks->size = fresh.size;
    jwks->uniq = fresh.uniq;

    if (old) {
        ngx_destroy_pool(old);
    }

    return jwks->keys;
}


/*
 * Checks token as an access token of the location's issuers: NGX_OK with
 * *key (the caller: tenant and permissions, in the request's pool),
 * NGX_DECLINED with why (for the log: which check failed), NGX_ERROR.
 */

ngx_int_t
ngx_http_mcp_oauth_verify(ngx_http_request_t *r, ngx_str_t *token,
    ngx_http_mcp_key_t **key, const char **why)
{
    json_t                   *claims;
    ngx_int_t                 rc;
    ngx_array_t              *keys;
    ngx_http_mcp_key_t       *k;
    ngx_http_mcp_loc_conf_t  *mlcf;

    mlcf = ngx_http_get_module_loc_conf(r, ngx_mcp_module);

    keys = ngx_http_mcp_jwks_keys(mlcf->oauth.jwks);

    rc = ngx_http_mcp_jwt_verify(keys, token, r->pool, &claims, why);
    if (rc != NGX_OK) {
        return rc;
    }

    k = ngx_pcalloc(r->pool, sizeof(ngx_http_mcp_key_t));
    if (k == NULL) {
        json_decref(claims);
        return NGX_ERROR;
    }

    rc = ngx_http_mcp_oauth_claims(r, &mlcf->oauth, claims, k, why);

    json_decref(claims);

    if (rc == NGX_OK) {
        *key = k;
    }

    return rc;
}


/*
 * Checks the claims of a signed token and makes the caller's key of them:
 * NGX_OK, NGX_DECLINED with why the token is refused, or NGX_ERROR.
 */

static ngx_int_t
ngx_http_mcp_oauth_claims(ngx_http_request_t *r,
    ngx_http_mcp_oauth_conf_t *oc, json_t *claims, ngx_http_mcp_key_t *key,
    const char **why)
{
    json_t      *v;
    double       now;
    ngx_str_t    resource, *iss;
    ngx_uint_t   i;

    v = json_object_get(claims, "iss");

    if (!json_is_string(v)) {
        *why = "no issuer";
        return NGX_DECLINED;
    }

    iss = oc->issuers->elts;

    for (i = 0; i < oc->issuers->nelts; i++) {
        if (iss[i].len == json_string_length(v)
            && ngx_memcmp(iss[i].data, json_string_value(v), iss[i].len)
               == 0)
        {
            break;
        }
    }

    if (i == oc->issuers->nelts) {
        *why = "issuer not accepted";
        return NGX_DECLINED;
    }

    if (ngx_http_mcp_oauth_resource(r, &resource) != NGX_OK) {
        *why = "out of memory";
        return NGX_ERROR;
    }

    if (ngx_http_mcp_oauth_has(json_object_get(claims, "aud"), &resource)
        != NGX_OK)
    {
        *why = "not issued for this resource (aud)";
        return NGX_DECLINED;
    }

    now = (double) ngx_time();

    v = json_object_get(claims, "exp");

    if (!json_is_number(v)) {
        *why = "no expiry (exp)";
        return NGX_DECLINED;
    }

    if (now >= json_number_value(v) + NGX_HTTP_MCP_OAUTH_LEEWAY) {
        *why = "expired";
        return NGX_DECLINED;
    }

    v = json_object_get(claims, "nbf");

    if (v != NULL
        && (!json_is_number(v)
            || json_number_value(v) > now + NGX_HTTP_MCP_OAUTH_LEEWAY))
    {
        *why = "not valid yet (nbf)";
        return NGX_DECLINED;
    }

    key->token = 1;
    key->perms = ngx_http_mcp_oauth_perms(json_object_get(claims,
                                                 (char *)
                                                 oc->scopes_claim.data));

    if (oc->tenant_claim.len == 0) {
        ngx_str_set(&key->tenant, MCP_STORE_TENANT_DEFAULT);
        return NGX_OK;
    }

    v = json_object_get(claims, (char *) oc->tenant_claim.data);

    if (!json_is_string(v)
        || mcp_store_scope_valid(json_string_value(v), json_string_length(v),
                                 1)
           != MCP_STORE_OK)
    {
        *why = "no valid tenant claim";
        return NGX_DECLINED;
    }

    key->tenant.len = json_string_length(v);
    key->tenant.data = ngx_pnalloc(r->pool, key->tenant.len);
    if (key->tenant.data == NULL) {
        *why = "out of memory";
        return NGX_ERROR;
    }

    ngx_memcpy(key->tenant.data, json_string_value(v), key->tenant.len);

    return NGX_OK;
}


/*
 * Is s the string v, or one of the array v (as "aud" may be)?
 */

static ngx_int_t
ngx_http_mcp_oauth_has(json_t *v, ngx_str_t *s)
{
    size_t   i;
    json_t  *e;

    if (json_is_string(v)) {
        return (json_string_length(v) == s->len
                && ngx_memcmp(json_string_value(v), s->data, s->len) == 0)
               ? NGX_OK : NGX_DECLINED;
    }

    if (!json_is_array(v)) {
        return NGX_DECLINED;
    }

    json_array_foreach(v, i, e) {
        if (json_is_string(e) && ngx_http_mcp_oauth_has(e, s) == NGX_OK) {
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


/*
 * The permissions that the scopes claim grants: a space-separated string
 * ("scope", RFC 9068) or an array of strings ("scp").  Scopes other than
 * the four permissions are ignored.
 */

static ngx_uint_t
ngx_http_mcp_oauth_perms(json_t *v)
{
    u_char      *p, *last, *sp;
    size_t       i;
    json_t      *e;
    ngx_uint_t   perms;

    perms = 0;

    if (json_is_array(v)) {
        json_array_foreach(v, i, e) {
            if (json_is_string(e)) {
                perms |= ngx_http_mcp_perm_value((u_char *)
                                                 json_string_value(e),
                                                 json_string_length(e));
            }
        }

        return perms;
    }

    if (!json_is_string(v)) {
        return 0;
    }

    p = (u_char *) json_string_value(v);
    last = p + json_string_length(v);

    while (p < last) {
        sp = ngx_strlchr(p, last, ' ');
        if (sp == NULL) {
            sp = last;
        }

        perms |= ngx_http_mcp_perm_value(p, sp - p);
        p = sp + 1;
    }

    return perms;
}


/*
 * The resource tokens must be issued for: mcp_oauth_audience, or the
 * request's scheme, the server's authority and the path of the location
 * when it is an mcp_endpoint, else of the server's first mcp_endpoint
 * location (else the request's path).
 */

static ngx_int_t
ngx_http_mcp_oauth_resource(ngx_http_request_t *r, ngx_str_t *resource)
{
    u_char                    *p;
    ngx_str_t                  authority, path, scheme;
    ngx_uint_t                 https;
    ngx_http_mcp_srv_conf_t   *mscf;
    ngx_http_mcp_loc_conf_t   *mlcf;
    ngx_http_core_loc_conf_t  *clcf;

    mlcf = ngx_http_get_module_loc_conf(r, ngx_mcp_module);

    if (mlcf->oauth.audience.len) {
        *resource = mlcf->oauth.audience;
        return NGX_OK;
    }

    /* an endpoint is its own resource; other locations are the server's */

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
    mscf = ngx_http_get_module_srv_conf(r, ngx_mcp_module);

    if (mlcf->handler == NGX_HTTP_MCP_HANDLER_ENDPOINT
#if (NGX_PCRE)
        && clcf->regex == NULL
#endif
        && !clcf->named)
    {
        path = clcf->name;

    } else if (mscf->endpoint_path.len) {
        path = mscf->endpoint_path;

    } else {
        path = r->uri;
    }

    https = 0;

#if (NGX_HTTP_SSL)
    if (r->connection->ssl) {
        https = 1;
    }
#endif

    if (https) {
        ngx_str_set(&scheme, "https");

    } else {
        ngx_str_set(&scheme, "http");
    }

    if (ngx_http_mcp_oauth_authority(r, https ? 443 : 80, &authority)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    resource->len = scheme.len + sizeof("://") - 1 + authority.len + path.len;
    resource->data = ngx_pnalloc(r->pool, resource->len);
    if (resource->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(resource->data, "%V://", &scheme);
    ngx_strlow(p, authority.data, authority.len);
    ngx_memcpy(p + authority.len, path.data, path.len);

    return NGX_OK;
}


/*
 * The host and port of the default audience: the server's name and the
 * port the request came to.  Not the request's Host, which the client
 * chooses: a token issued for another server that this one answers for
 * (a default server, another name of a shared nginx) would pass, as its
 * Host would name that other server.  Only a server without a name takes
 * the Host (when it is a plain name or address: it goes into a header),
 * or else the address the request came to.
 */

static ngx_int_t
ngx_http_mcp_oauth_authority(ngx_http_request_t *r, in_port_t default_port,
    ngx_str_t *authority)
{
    u_char                    *p, c;
    in_port_t                  port;
    ngx_uint_t                 i;
    ngx_connection_t          *conn;
    ngx_http_core_srv_conf_t  *cscf;

    conn = r->connection;
    cscf = ngx_http_get_module_srv_conf(r, ngx_http_core_module);

    if (ngx_connection_local_sockaddr(conn, NULL, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    if (cscf->server_name.len) {
        p = ngx_pnalloc(r->pool, cscf->server_name.len + sizeof(":65535"));
        if (p == NULL) {
            return NGX_ERROR;
        }

        authority->data = p;
        p = ngx_cpymem(p, cscf->server_name.data, cscf->server_name.len);

        port = ngx_inet_get_port(conn->local_sockaddr);

        if (port != default_port) {
            p = ngx_sprintf(p, ":%ui", (ngx_uint_t) port);
        }

        authority->len = p - authority->data;

        return NGX_OK;
    }

    if (r->headers_in.host) {
        *authority = r->headers_in.host->value;

        for (i = 0; i < authority->len; i++) {
            c = authority->data[i];

            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                  || (c >= '0' && c <= '9') || c == '.' || c == '-'
                  || c == ':' || c == '[' || c == ']' || c == '_'))
            {
                break;
            }
        }

        if (i == authority->len && i) {
            return NGX_OK;
        }
    }

    authority->data = ngx_pnalloc(r->pool, NGX_SOCKADDR_STRLEN);
    if (authority->data == NULL) {
        return NGX_ERROR;
    }

    authority->len = ngx_sock_ntop(conn->local_sockaddr, conn->local_socklen,
                                   authority->data, NGX_SOCKADDR_STRLEN, 1);

    return NGX_OK;
}


/*
 * The URL of the resource's metadata (RFC 9728, 3.1): the well-known
 * path inserted between its origin and its path.
 */

static ngx_int_t
ngx_http_mcp_oauth_metadata_url(ngx_http_request_t *r, ngx_str_t *resource,
    ngx_str_t *url)
{
    u_char     *p;
    size_t      origin;
    ngx_str_t   path;

    origin = ngx_http_mcp_oauth_origin_len(resource);

    path.data = resource->data + origin;
    path.len = resource->len - origin;

    if (path.len == 1) {
        path.len = 0;
    }

    url->len = origin + sizeof(NGX_HTTP_MCP_OAUTH_WELL_KNOWN) - 1 + path.len;
    url->data = ngx_pnalloc(r->pool, url->len);
    if (url->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(url->data, resource->data, origin);
    p = ngx_cpymem(p, NGX_HTTP_MCP_OAUTH_WELL_KNOWN,
                   sizeof(NGX_HTTP_MCP_OAUTH_WELL_KNOWN) - 1);
    ngx_memcpy(p, path.data, path.len);

    return NGX_OK;
}


/*
 * The length of "scheme://authority" of an http(s) URL, or 0 when it is
 * not one.
 */

static size_t
ngx_http_mcp_oauth_origin_len(ngx_str_t *url)
{
    u_char  *p, *last;

    last = url->data + url->len;

    if (url->len > 8 && ngx_strncasecmp(url->data, (u_char *) "https://", 8)
                        == 0)
    {
        p = url->data + 8;

    } else if (url->len > 7
               && ngx_strncasecmp(url->data, (u_char *) "http://", 7) == 0)
    {
        p = url->data + 7;

    } else {
        return 0;
    }

    if (p == last || *p == '/') {
        return 0;
    }

    while (p < last && *p != '/' && *p != '?' && *p != '#') {
        p++;
    }

    return p - url->data;
}


/*
 * The WWW-Authenticate challenge of a location with OAuth: where its
 * metadata is, then error and scope when given.  A NUL-terminated string
 * in the request's pool, or NULL.
 */

u_char *
ngx_http_mcp_oauth_challenge(ngx_http_request_t *r, const char *error,
    const char *scope)
{
    u_char     *p, *last;
    size_t      len;
    ngx_str_t   resource, url;

    if (ngx_http_mcp_oauth_resource(r, &resource) != NGX_OK
        || ngx_http_mcp_oauth_metadata_url(r, &resource, &url) != NGX_OK)
    {
        return NULL;
    }

    len = sizeof("Bearer resource_metadata=\"\", error=\"\", scope=\"\"")
          + url.len + (error ? ngx_strlen(error) : 0)
          + (scope ? ngx_strlen(scope) : 0);

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NULL;
    }

    last = ngx_sprintf(p, "Bearer resource_metadata=\"%V\"", &url);

    if (error) {
        last = ngx_sprintf(last, ", error=\"%s\"", error);
    }

    if (scope) {
        last = ngx_sprintf(last, ", scope=\"%s\"", scope);
    }

    *last = '\0';

    return p;
}


/*
 * mcp_oauth_metadata: the Protected Resource Metadata (RFC 9728) of the
 * server's resource, at /.well-known/oauth-protected-resource and at the
 * form with the resource's path after it; another path there is 404.
 */

ngx_int_t
ngx_http_mcp_oauth_metadata_handler(ngx_http_request_t *r)
{
    size_t                    origin;
    json_t                   *json, *list;
    ngx_int_t                 rc;
    ngx_str_t                 resource, suffix, *iss;
    ngx_uint_t                i;
    const char              **scope;
    ngx_http_mcp_loc_conf_t  *mlcf;

    static ngx_str_t  any = ngx_string("*");

    if (ngx_http_mcp_get_or_head(r, &rc) != NGX_OK) {
        return rc;
    }

    mlcf = ngx_http_get_module_loc_conf(r, ngx_mcp_module);

    if (mlcf->oauth.issuers == NULL) {
        return ngx_http_mcp_send_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                       "no mcp_oauth_issuer here: this "
                                       "server takes no access tokens");
    }

    if (ngx_http_mcp_oauth_resource(r, &resource) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_null(&suffix);

    if (r->uri.len >= sizeof(NGX_HTTP_MCP_OAUTH_WELL_KNOWN) - 1
        && ngx_strncmp(r->uri.data, NGX_HTTP_MCP_OAUTH_WELL_KNOWN,
                       sizeof(NGX_HTTP_MCP_OAUTH_WELL_KNOWN) - 1)
           == 0)
    {
        suffix.data = r->uri.data + sizeof(NGX_HTTP_MCP_OAUTH_WELL_KNOWN) - 1;
        suffix.len = r->uri.len - (sizeof(NGX_HTTP_MCP_OAUTH_WELL_KNOWN) - 1);
    }

    origin = ngx_http_mcp_oauth_origin_len(&resource);

    if (suffix.len
        && (suffix.len != resource.len - origin
            || ngx_strncmp(suffix.data, resource.data + origin, suffix.len)
               != 0))
    {
        return ngx_http_mcp_send_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                       "no protected resource at this path");
    }

    json = json_object();
    if (json == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_mcp_json_cleanup(r->pool, json);

    if (json_object_set_new(json, "resource",
                            json_stringn((char *) resource.data,
                                         resource.len))
        != 0)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    list = json_array();
    if (json_object_set_new(json, "authorization_servers", list) != 0) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    iss = mlcf->oauth.issuers->elts;

    for (i = 0; i < mlcf->oauth.issuers->nelts; i++) {
        if (json_array_append_new(list, json_stringn((char *) iss[i].data,
                                                     iss[i].len))
            != 0)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    list = json_array();
    if (json_object_set_new(json, "scopes_supported", list) != 0) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (scope = ngx_http_mcp_oauth_scopes; *scope; scope++) {
        if (json_array_append_new(list, json_string(*scope)) != 0) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    list = json_pack("[s]", "header");
    if (json_object_set_new(json, "bearer_methods_supported", list) != 0) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* public, and fetched by clients that run in browsers */

    if (ngx_http_mcp_add_header(r, "Access-Control-Allow-Origin", &any)
        == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_mcp_send_json(r, NGX_HTTP_OK, json);
}
