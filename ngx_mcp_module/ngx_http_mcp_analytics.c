
/*
 * ngx_mcp: visit analytics.  Who a visit is counted as (a person, or a
 * bot by its User-Agent: mcp_bot_user_agents), from which referring host
 * (the Referer's host name only: no address, no user agent, no path is
 * kept), and mcp_admin's GET links/{code}/visits, which reads back what
 * the batches wrote (mcp_store_link_stats_get()).
 */


#include "ngx_http_mcp_module.h"


#define NGX_HTTP_MCP_VISITS_DAYS      90     /* days answered by default */
#define NGX_HTTP_MCP_VISITS_REFERRERS 20     /* top hosts answered */
#define NGX_HTTP_MCP_DAY              86400
#define NGX_HTTP_MCP_BOT_MEMO         1024   /* user agents remembered */


/*
 * What the worker found of a user agent it has seen: matching the
 * patterns is most of the cost of a redirect (without pcre_jit, several
 * times that of the rest), and the same few user agents come again and
 * again.  An agent is known by two hashes of it and its length, so that
 * none is kept; two that collide on all three share an answer.
 */
typedef struct {
    ngx_array_t                *patterns;    /* the list it was matched to */
    uint32_t                    hash;
    uint32_t                    crc;
    size_t                      len;
    ngx_uint_t                  bot;
} ngx_http_mcp_bot_memo_t;


/*
 * Crawlers, link-preview fetchers of chats and social networks, uptime
 * monitors and HTTP libraries: none of them a person following a link.
 */
static ngx_str_t  ngx_http_mcp_bot_default = ngx_string(
    "bot|crawl|spider|slurp|archiver|facebookexternalhit|facebookcatalog|"
    "meta-externalagent|embedly|quora link preview|outbrain|pinterest|"
    "vkshare|w3c_validator|whatsapp|telegram|skypeuripreview|discord|"
    "slack|linkedin|twitter|redditbot|applebot|bingpreview|yandex|baidu|"
    "duckduck|google-inspectiontool|googleother|feedfetcher|headless|"
    "preview|lighthouse|pingdom|uptime|statuscake|site24x7|monitor|"
    "mastodon|pleroma|misskey|iframely|nuzzel|tumblr|flipboard|bitly|"
    "ahrefs|semrush|mj12|petalbot|bytespider|gptbot|chatgpt|ccbot|claude|"
    "anthropic|perplexity|amazonbot|cohere|^curl/|^wget/|python-requests|"
    "python-urllib|aiohttp|httpx|go-http-client|okhttp|java/|"
    "apache-httpclient|libwww-perl|scrapy|node-fetch|axios/|undici");


static ngx_int_t ngx_http_mcp_referrer(ngx_http_request_t *r, u_char *buf,
    ngx_str_t *host);


/* per worker: each process has its own copy once forked */
static ngx_http_mcp_bot_memo_t  ngx_http_mcp_bot_memo[NGX_HTTP_MCP_BOT_MEMO];

static json_t *ngx_http_mcp_visits_days(int64_t today, ngx_uint_t n,
    mcp_store_day_t *days, size_t ndays);
static json_t *ngx_http_mcp_visits_referrers(mcp_store_referrer_t *refs,
    size_t n);


/* mcp_bot_user_agents' default list, compiled once a configuration */

ngx_array_t *
ngx_http_mcp_bot_agents_default(ngx_conf_t *cf)
{
    ngx_array_t  *a;

    a = ngx_array_create(cf->pool, 1, sizeof(ngx_regex_elt_t));

    if (a == NULL
        || ngx_http_mcp_regex_add(cf, a, &ngx_http_mcp_bot_default,
                                  NGX_REGEX_CASELESS)
           != NGX_OK)
    {
        return NULL;
    }

    return a;
}


/* a User-Agent that mcp_bot_user_agents knows; none is a person's */

ngx_uint_t
ngx_http_mcp_is_bot(ngx_http_request_t *r)
{
    uint32_t                  hash, crc;
    ngx_str_t                *ua;
    ngx_http_mcp_bot_memo_t  *m;
    ngx_http_mcp_loc_conf_t  *mlcf;

    mlcf = ngx_http_get_module_loc_conf(r, ngx_mcp_module);

    if (mlcf->bot_agents == NULL || r->headers_in.user_agent == NULL) {
        return 0;
    }

    ua = &r->headers_in.user_agent->value;

    hash = ngx_murmur_hash2(ua->data, ua->len);
    crc = ngx_crc32_short(ua->data, ua->len);

    m = &ngx_http_mcp_bot_memo[hash % NGX_HTTP_MCP_BOT_MEMO];

    if (m->patterns != mlcf->bot_agents || m->hash != hash || m->crc != crc
        || m->len != ua->len)
    {
        m->patterns = mlcf->bot_agents;
        m->hash = hash;
        m->crc = crc;
        m->len = ua->len;
        m->bot = (ngx_regex_exec_array(mlcf->bot_agents, ua,
                                       r->connection->log)
                  == NGX_OK);
    }

    return m->bot;
}


/*
 * Counts a person's visit to code in the worker's batch, by its referring
 * host; consumed: the link's count took it already (max_visits).
 */

void
ngx_http_mcp_visit(ngx_http_request_t *r, ngx_str_t *code,
    ngx_uint_t consumed)
{
    u_char                     buf[MCP_STORE_REFERRER_MAX];
    ngx_str_t                  host;
    ngx_http_mcp_main_conf_t  *mmcf;

    mmcf = ngx_http_get_module_main_conf(r, ngx_mcp_module);

    if (ngx_http_mcp_referrer(r, buf, &host) != NGX_OK) {
        ngx_str_set(&host, MCP_STORE_REFERRER_OTHER);
    }

    ngx_http_mcp_count_visit(mmcf, code, &host,
                             consumed ? NGX_HTTP_MCP_VISIT_CONSUMED
                                      : NGX_HTTP_MCP_VISIT_PERSON,
                             ngx_time());
}


/*
 * The host of the Referer, lower case, without user, port or trailing
 * dot, into buf: empty when there is no Referer, NGX_DECLINED when it
 * names no host we keep (counted as "other").
 */

static ngx_int_t
ngx_http_mcp_referrer(ngx_http_request_t *r, u_char *buf, ngx_str_t *host)
{
    u_char  *p, *start, *end, *last, c;

    ngx_str_null(host);

    if (r->headers_in.referer == NULL) {
        return NGX_OK;
    }

    p = r->headers_in.referer->value.data;
    last = p + r->headers_in.referer->value.len;

    start = ngx_strnstr(p, "://", last - p);
    if (start == NULL) {
        return NGX_DECLINED;
    }

    start += sizeof("://") - 1;

    for (end = start; end < last; end++) {
        if (*end == '/' || *end == '?' || *end == '#') {
            break;
        }
    }

    for (p = end; p > start; p--) {
        if (p[-1] == '@') {
            start = p;
            break;
        }
    }

    if (start < end && *start == '[') {
        p = ngx_strlchr(start, end, ']');
        end = (p != NULL) ? p + 1 : start;

    } else {
        p = ngx_strlchr(start, end, ':');
        end = (p != NULL) ? p : end;

        while (end > start && end[-1] == '.') {
            end--;
        }
    }

    if (end == start || end - start > MCP_STORE_REFERRER_MAX) {
        return NGX_DECLINED;
    }

    for (p = start; p < end; p++) {
        c = ngx_tolower(*p);

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.'
              || c == '-' || c == '_' || c == ':' || c == '[' || c == ']'))
        {
            return NGX_DECLINED;
        }

        buf[p - start] = c;
    }

    host->data = buf;
    host->len = end - start;

    return NGX_OK;
}


/*
 * GET links/{code}/visits?days=N of the caller's link, which has total
 * visits:
 * {"code", "total", "bots", "days": [{"date", "visits"}] (the last N UTC
 * days, today's last, every day, 0 without visits), "referrers":
 * [{"host", "visits"}] (the top hosts, "direct" for none, "other" past
 * the store's bound)}.
 */

ngx_int_t
ngx_http_mcp_visits_send(ngx_http_request_t *r, ngx_str_t *code,
    uint64_t total)
{
    int                        rc;
    json_t                    *json, *days, *refs;
    int64_t                    today;
    ngx_int_t                  n, sent;
    mcp_store_day_t            day[MCP_STORE_STATS_DAYS];
    mcp_store_referrer_t       ref[NGX_HTTP_MCP_VISITS_REFERRERS];
    mcp_store_link_stats_t     st;
    ngx_http_mcp_error_t       err;
    ngx_http_mcp_main_conf_t  *mmcf;

    n = NGX_HTTP_MCP_VISITS_DAYS;

    if (ngx_http_mcp_arg_number(r, "days", MCP_STORE_STATS_DAYS, &n, &sent)
        != NGX_OK)
    {
        return sent;
    }

    mmcf = ngx_http_get_module_main_conf(r, ngx_mcp_module);

    today = ngx_time() / NGX_HTTP_MCP_DAY * NGX_HTTP_MCP_DAY;

    ngx_memzero(&st, sizeof(mcp_store_link_stats_t));
    st.days = day;
    st.days_cap = MCP_STORE_STATS_DAYS;
    st.referrers = ref;
    st.referrers_cap = NGX_HTTP_MCP_VISITS_REFERRERS;

    rc = mcp_store_link_stats_get(mmcf->store, (char *) code->data,
                                  code->len,
                                  today - (n - 1) * NGX_HTTP_MCP_DAY, &st);

    json = NULL;

    if (rc == MCP_STORE_OK) {
        days = ngx_http_mcp_visits_days(today, n, day, st.ndays);
        refs = ngx_http_mcp_visits_referrers(ref, st.nreferrers);

        json = json_pack("{s:s%, s:I, s:I, s:o*, s:o*}",
                         "code", code->data, code->len,
                         "total", (json_int_t) total,
                         "bots", (json_int_t) st.bots,
                         "days", days, "referrers", refs);
    }

    /* the hosts pointed into the snapshot: copied by now */

    mcp_store_release(mmcf->store);

    if (rc != MCP_STORE_OK) {
        (void) ngx_http_mcp_store_error(r, rc, &err);
        return ngx_http_mcp_send_failure(r, &err);
    }

    if (json == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_mcp_json_cleanup(r->pool, json);

    return ngx_http_mcp_send_json(r, NGX_HTTP_OK, json);
}


/* every one of the n days up to today, those without visits as 0 */

static json_t *
ngx_http_mcp_visits_days(int64_t today, ngx_uint_t n, mcp_store_day_t *days,
    size_t ndays)
{
    u_char      date[NGX_HTTP_MCP_TIME_LEN];
    json_t     *list;
    int64_t     t;
    size_t      i;
    uint64_t    visits;
    ngx_uint_t  k;

    list = json_array();
    if (list == NULL) {
        return NULL;
    }

    i = 0;

    for (k = 0; k < n; k++) {
        t = today - (int64_t) (n - 1 - k) * NGX_HTTP_MCP_DAY;

        while (i < ndays && days[i].day < t) {
            i++;
        }

        visits = (i < ndays && days[i].day == t) ? days[i].visits : 0;

        /* "YYYY-MM-DD" of the RFC 3339 time */
        (void) ngx_http_mcp_format_time(t, date);

        if (json_array_append_new(list,
                                  json_pack("{s:s%, s:I}",
                                            "date", date, (size_t) 10,
                                            "visits", (json_int_t) visits))
            != 0)
        {
            json_decref(list);
            return NULL;
        }
    }

    return list;
}


static json_t *
ngx_http_mcp_visits_referrers(mcp_store_referrer_t *refs, size_t n)
{
    json_t      *list, *item;
    size_t       i, len;
    const char  *host;

    list = json_array();
    if (list == NULL) {
        return NULL;
    }

    for (i = 0; i < n; i++) {
        host = refs[i].host;
        len = refs[i].host_len;

        if (len == 0) {
            host = "direct";
            len = sizeof("direct") - 1;

        } else if (len == sizeof(MCP_STORE_REFERRER_OTHER) - 1
                   && ngx_strncmp(host, MCP_STORE_REFERRER_OTHER, len) == 0)
        {
            host = "other";
            len = sizeof("other") - 1;
        }

        item = json_pack("{s:s%, s:I}", "host", host, len,
                         "visits", (json_int_t) refs[i].visits);

        if (json_array_append_new(list, item) != 0) {
            json_decref(list);
            return NULL;
        }
    }

    return list;
}
