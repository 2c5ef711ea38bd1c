/*
 * mcp-store import --format=shlink|yourls|bitly: the links of another
 * shortener's CSV export.
 *
 * The CSV reader follows RFC 4180 and what spreadsheets write around it:
 * fields in double quotes may hold commas, line breaks and doubled quotes
 * (""), records end in CRLF, LF or a lone CR, a UTF-8 byte order mark
 * before the header is dropped, and a record may have fewer fields than
 * the header (the missing ones are empty).  A quote that opens a field
 * and never closes, or text after a closing quote, makes the record
 * malformed: it is reported with the line it starts on and skipped.
 *
 * Columns are found by their names in the header (without regard to
 * case), so that the order of the columns and extra ones do not matter.
 * What each product writes:
 *
 *   Shlink (its web client's "Export" of the short URLs list, as in
 *   shlink-web-component, src/short-urls/helpers/ExportShortUrlsBtn.tsx):
 *       createdAt,domain,shortCode,shortUrl,longUrl,title,tags,visits
 *   with createdAt in ISO 8601 ("2023-05-01T10:00:00+02:00") and tags
 *   joined by "|" (imported as the link's tags; title is left: a link
 *   has none); also the "Long URL" / "Short code" columns of the CSV
 *   that Shlink's own importer reads (shlinkio/shlink-importer).
 *
 *   YOURLS (the Import/Export plugin, GautamGupta/YOURLS-Import-Export,
 *   after WordPress' Redirection plugin):
 *       source,target,hits
 *   with source "/keyword/" and CRLF line ends; also keyword,url,title,
 *   timestamp,ip,clicks, the columns of YOURLS' own table.
 *
 *   Bitly (the "Export" of the Links page, as migration guides describe
 *   it, e.g. URLR's docs/migration/bitly.md: "Link", "Custom Link",
 *   "Destination URL"), and the v4 API's field names for the same:
 *       Title,Link,Custom Link,Destination URL,Date Created,Tags,...
 *   The code is the path of the custom link when there is one, else of
 *   the link ("https://bit.ly/3xYzAbc" is 3xYzAbc).
 *
 * A link's URL goes through the server's URL rules with their defaults,
 * as put's does; its code must be one the server redirects.  A code that
 * is taken by a link to the same URL is "unchanged" (importing a file
 * twice changes nothing); by another, the line is skipped.  Each link is
 * its own write transaction: see mcp_store_cli_dump.c.
 */

#define _POSIX_C_SOURCE  200809L

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mcp_store_cli.h"


/* what a column holds */
#define MCP_STORE_CSV_CODE       0
#define MCP_STORE_CSV_SHORT_URL  1     /* the code is its path */
#define MCP_STORE_CSV_CUSTOM     2     /* ... and wins over SHORT_URL */
#define MCP_STORE_CSV_URL        3
#define MCP_STORE_CSV_CREATED    4
#define MCP_STORE_CSV_VISITS     5
#define MCP_STORE_CSV_TAGS       6     /* joined by "|" */
#define MCP_STORE_CSV_NROLES     7

#define MCP_STORE_CSV_NAMES      4

/* mcp_store_csv_record(): the end of the input */
#define MCP_STORE_CSV_END        1

/* a record of more fields than this is malformed */
#define MCP_STORE_CSV_FIELDS_MAX 256


typedef struct {
    unsigned     role;
    const char  *names[MCP_STORE_CSV_NAMES];
} mcp_store_csv_column_t;


typedef struct {
    const char                    *name;
    const mcp_store_csv_column_t  *columns;
} mcp_store_csv_format_t;


static const mcp_store_csv_column_t  mcp_store_csv_shlink[] = {
    { MCP_STORE_CSV_CODE, { "shortCode", "Short code", NULL } },
    { MCP_STORE_CSV_SHORT_URL, { "shortUrl", NULL } },
    { MCP_STORE_CSV_URL, { "longUrl", "Long URL", NULL } },
    { MCP_STORE_CSV_CREATED, { "createdAt", "dateCreated", NULL } },
    { MCP_STORE_CSV_VISITS, { "visits", "visitsCount", NULL } },
    { MCP_STORE_CSV_TAGS, { "tags", NULL } },
    { MCP_STORE_CSV_NROLES, { NULL } }
};

static const mcp_store_csv_column_t  mcp_store_csv_yourls[] = {
    { MCP_STORE_CSV_CODE, { "source", "keyword", NULL } },
    { MCP_STORE_CSV_URL, { "target", "url", NULL } },
    { MCP_STORE_CSV_CREATED, { "timestamp", NULL } },
    { MCP_STORE_CSV_VISITS, { "hits", "clicks", NULL } },
    { MCP_STORE_CSV_NROLES, { NULL } }
};

static const mcp_store_csv_column_t  mcp_store_csv_bitly[] = {
    { MCP_STORE_CSV_SHORT_URL, { "Link", "Bitlink", "link", NULL } },
    { MCP_STORE_CSV_CUSTOM, { "Custom Link", "Custom Bitlink",
                              "custom_bitlinks", NULL } },
    { MCP_STORE_CSV_URL, { "Destination URL", "Long URL", "long_url",
                           NULL } },
    { MCP_STORE_CSV_CREATED, { "Date Created", "Created", "created_at",
                               NULL } },
    { MCP_STORE_CSV_VISITS, { "Clicks", "Engagements", NULL } },
    { MCP_STORE_CSV_NROLES, { NULL } }
};

static const mcp_store_csv_format_t  mcp_store_csv_formats[] = {
    { "shlink", mcp_store_csv_shlink },
    { "yourls", mcp_store_csv_yourls },
    { "bitly", mcp_store_csv_bitly },
    { NULL, NULL }
};


/* the CSV reader's state: one record at a time, fields NUL-terminated */
typedef struct {
    FILE        *in;
    uint64_t     line;         /* of the next byte read */
    char        *buf;
    size_t       len;
    size_t       cap;
    size_t       start[MCP_STORE_CSV_FIELDS_MAX];
    size_t       n;
    const char  *error;        /* why the last record is malformed */
} mcp_store_csv_t;


static int mcp_store_csv_record(mcp_store_csv_t *csv);
static int mcp_store_csv_getc(mcp_store_csv_t *csv);
static int mcp_store_csv_add(mcp_store_csv_t *csv, int c);
static int mcp_store_csv_end_field(mcp_store_csv_t *csv);
static const char *mcp_store_csv_field(const mcp_store_csv_t *csv, int i);
static int mcp_store_csv_header(mcp_store_csv_t *csv,
    const mcp_store_csv_column_t *columns, int *col);
static int mcp_store_csv_link(mcp_store_t *s, mcp_store_csv_t *csv,
    mcp_store_cli_import_t *im, const int *col,
    const mcp_store_cli_opts_t *opts);
static void mcp_store_csv_code(const char *field, int path,
    const char **code, size_t *len);


int
mcp_store_cli_import_csv(mcp_store_t *s, FILE *in,
    const mcp_store_cli_opts_t *opts)
{
    int                            rc, col[MCP_STORE_CSV_NROLES];
    mcp_store_csv_t                csv;
    mcp_store_cli_import_t         im;
    const mcp_store_csv_format_t  *f;

    for (f = mcp_store_csv_formats; f->name != NULL; f++) {
        if (strcmp(f->name, opts->format) == 0) {
            break;
        }
    }

    if (f->name == NULL) {
        fprintf(stderr, "mcp-store: import: unknown format \"%s\" (shlink, "
                "yourls or bitly)\n", opts->format);
        return 2;
    }

    if (opts->tenant != NULL
        && mcp_store_scope_valid(opts->tenant, strlen(opts->tenant), 1)
           != MCP_STORE_OK)
    {
        fprintf(stderr, "mcp-store: import: invalid tenant \"%s\"\n",
                opts->tenant);
        return 2;
    }

    memset(&csv, 0, sizeof(csv));
    memset(&im, 0, sizeof(im));
    csv.in = in;
    csv.line = 1;

    rc = mcp_store_csv_header(&csv, f->columns, col);

    if (rc != 0) {
        free(csv.buf);
        return 1;
    }

    for ( ;; ) {
        im.line = csv.line;

        rc = mcp_store_csv_record(&csv);

        if (rc == MCP_STORE_CSV_END) {
            break;
        }

        if (rc != 0) {
            mcp_store_cli_skip(&im, "malformed CSV: %s", csv.error);
            continue;
        }

        /* a blank line is no record */

        if (csv.n == 1 && csv.buf[0] == '\0') {
            continue;
        }

        mcp_store_csv_link(s, &csv, &im, col, opts);
    }

    free(csv.buf);

    if (ferror(in)) {
        perror("mcp-store: import: stdin");
        return 1;
    }

    return mcp_store_cli_import_done(s, &im);
}


/*
 * Reads the header and finds the columns of each role (-1: none).  The
 * URL and a code (or a short URL to take it from) are needed.
 */

static int
mcp_store_csv_header(mcp_store_csv_t *csv,
    const mcp_store_csv_column_t *columns, int *col)
{
    int                            c, i, k;
    const char                    *name;
    const mcp_store_csv_column_t  *cl;

    /* a UTF-8 byte order mark, as spreadsheets write */

    c = getc(csv->in);

    if (c == 0xef) {
        if (getc(csv->in) != 0xbb || getc(csv->in) != 0xbf) {
            fprintf(stderr, "mcp-store: import: line 1: not UTF-8\n");
            return -1;
        }

    } else if (c != EOF) {
        ungetc(c, csv->in);
    }

    if (mcp_store_csv_record(csv) != 0) {
        fprintf(stderr, "mcp-store: import: line 1: no CSV header%s%s\n",
                csv->error ? ": " : "", csv->error ? csv->error : "");
        return -1;
    }

    for (k = 0; k < MCP_STORE_CSV_NROLES; k++) {
        col[k] = -1;
    }

    for (cl = columns; cl->role != MCP_STORE_CSV_NROLES; cl++) {
        for (i = 0; i < (int) csv->n; i++) {
            name = mcp_store_csv_field(csv, i);

            for (k = 0; k < MCP_STORE_CSV_NAMES && cl->names[k] != NULL; k++)
            {
                if (strcasecmp(name, cl->names[k]) == 0 && col[cl->role] < 0)
                {
                    col[cl->role] = i;
                }
            }
        }
    }

    if (col[MCP_STORE_CSV_URL] < 0
        || (col[MCP_STORE_CSV_CODE] < 0 && col[MCP_STORE_CSV_SHORT_URL] < 0
            && col[MCP_STORE_CSV_CUSTOM] < 0))
    {
        fprintf(stderr, "mcp-store: import: line 1: the header names no %s "
                "column of this format (see the README)\n",
                col[MCP_STORE_CSV_URL] < 0 ? "long URL" : "short code");
        return -1;
    }

    return 0;
}


static int
mcp_store_csv_link(mcp_store_t *s, mcp_store_csv_t *csv,
    mcp_store_cli_import_t *im, const int *col,
    const mcp_store_cli_opts_t *opts)
{
    char             *end, tags[MCP_STORE_LINK_TAGS_LEN];
    size_t            code_len, n;
    const char       *code, *url, *v;
    mcp_store_link_t  link;

    memset(&link, 0, sizeof(link));

    code = NULL;
    code_len = 0;

    v = mcp_store_csv_field(csv, col[MCP_STORE_CSV_CUSTOM]);
    mcp_store_csv_code(v, 1, &code, &code_len);

    if (code_len == 0) {
        v = mcp_store_csv_field(csv, col[MCP_STORE_CSV_CODE]);
        mcp_store_csv_code(v, 0, &code, &code_len);
    }

    if (code_len == 0) {
        v = mcp_store_csv_field(csv, col[MCP_STORE_CSV_SHORT_URL]);
        mcp_store_csv_code(v, 1, &code, &code_len);
    }

    if (code_len == 0) {
        return mcp_store_cli_skip(im, "no short code");
    }

    url = mcp_store_csv_field(csv, col[MCP_STORE_CSV_URL]);

    if (url[0] == '\0') {
        return mcp_store_cli_skip(im, "no long URL");
    }

    v = mcp_store_csv_field(csv, col[MCP_STORE_CSV_CREATED]);

    if (v[0] == '\0') {
        link.created_at = (int64_t) time(NULL);

    } else if (mcp_store_cli_time_parse(v, &link.created_at) != 0) {
        return mcp_store_cli_skip(im, "invalid time \"%s\"", v);
    }

    v = mcp_store_csv_field(csv, col[MCP_STORE_CSV_VISITS]);

    if (v[0] != '\0') {
        link.visits = strtoull(v, &end, 10);

        if (*end != '\0' || v[0] == '-') {
            return mcp_store_cli_skip(im, "invalid visit count \"%s\"", v);
        }
    }

    v = mcp_store_csv_field(csv, col[MCP_STORE_CSV_TAGS]);

    while (v[0] != '\0') {
        n = strcspn(v, "|");

        if (!mcp_store_tag_valid(v, n)
            || link.tags_len + n + 1 > sizeof(tags))
        {
            return mcp_store_cli_skip(im, "invalid tag \"%.*s\"", (int) n, v);
        }

        if (link.tags_len > 0) {
            tags[link.tags_len++] = ',';
        }

        memcpy(tags + link.tags_len, v, n);
        link.tags_len += n;
        v += n + (v[n] == '|');
    }

    link.tags = tags;

    if (opts->tenant != NULL) {
        link.tenant = opts->tenant;
        link.tenant_len = strlen(opts->tenant);
    }

    link.url = url;
    link.url_len = strlen(url);

    return mcp_store_cli_link_import(s, im, code, code_len, &link,
                                     MCP_STORE_CLI_SAME_URL);
}


/*
 * The code in a field: the field itself less the slashes around it
 * ("/keyword/" of YOURLS), or with path, the last segment of the URL's
 * path ("https://bit.ly/3xYz" is 3xYz).
 */

static void
mcp_store_csv_code(const char *field, int path, const char **code,
    size_t *len)
{
    const char  *p, *end;

    p = field;
    end = p + strlen(p);

    if (path) {
        p = strstr(field, "://");
        p = (p == NULL) ? field : p + 3;
        p = strchr(p, '/');

        if (p == NULL) {
            *code = field;
            *len = 0;
            return;
        }

        end = p + strcspn(p, "?#");
    }

    while (end > p && end[-1] == '/') {
        end--;
    }

    while (p < end && (p[0] == '/' || p[0] == ' ')) {
        p++;
    }

    if (path && memchr(p, '/', (size_t) (end - p)) != NULL) {
        p = end;
        while (p[-1] != '/') {
            p--;
        }
    }

    *code = p;
    *len = (size_t) (end - p);
}


static const char *
mcp_store_csv_field(const mcp_store_csv_t *csv, int i)
{
    if (i < 0 || (size_t) i >= csv->n) {
        return "";
    }

    return csv->buf + csv->start[i];
}


/*
 * Reads one record: 0, MCP_STORE_CSV_END at the end of the input, or -1
 * for a malformed
 * one (csv->error says why; the input is then past it).
 */

static int
mcp_store_csv_record(mcp_store_csv_t *csv)
{
    int  c, quoted, after_quote, any;

    csv->len = 0;
    csv->n = 0;
    csv->error = NULL;
    csv->start[0] = 0;

    quoted = 0;
    after_quote = 0;
    any = 0;

    for ( ;; ) {
        c = mcp_store_csv_getc(csv);

        if (c == EOF) {
            if (quoted) {
                csv->error = "a quoted field is not closed before the end";
                return -1;
            }

            if (!any) {
                return MCP_STORE_CSV_END;
            }

            break;
        }

        any = 1;

        if (quoted) {
            if (c != '"') {
                if (mcp_store_csv_add(csv, c) != 0) {
                    return -1;
                }

                continue;
            }

            c = mcp_store_csv_getc(csv);

            if (c == '"') {
                if (mcp_store_csv_add(csv, '"') != 0) {
                    return -1;
                }

                continue;
            }

            quoted = 0;
            after_quote = 1;

            if (c == EOF) {
                break;
            }
        }

        if (c == '\r') {
            c = getc(csv->in);

            if (c == '\n') {
                csv->line++;

            } else {
                csv->line++;            /* a lone CR ends a line too */

                if (c != EOF) {
                    ungetc(c, csv->in);
                }
            }

            break;
        }

        if (c == '\n') {
            break;
        }

        if (c == ',') {
            if (mcp_store_csv_end_field(csv) != 0) {
                return -1;
            }

            after_quote = 0;
            continue;
        }

        if (after_quote) {
            csv->error = "text after the closing quote of a field";

            /* skip the rest of the line: the next record starts after it */

            while ((c = mcp_store_csv_getc(csv)) != EOF && c != '\n') {
                /* void */
            }

            return -1;
        }

        if (c == '"' && csv->len == csv->start[csv->n]) {
            quoted = 1;
            continue;
        }

        if (mcp_store_csv_add(csv, c) != 0) {
            return -1;
        }
    }

    return mcp_store_csv_end_field(csv);
}


/* getc() that counts lines */

static int
mcp_store_csv_getc(mcp_store_csv_t *csv)
{
    int  c;

    c = getc(csv->in);

    if (c == '\n') {
        csv->line++;
    }

    return c;
}


static int
mcp_store_csv_end_field(mcp_store_csv_t *csv)
{
    if (mcp_store_csv_add(csv, '\0') != 0) {
        return -1;
    }

    if (++csv->n == MCP_STORE_CSV_FIELDS_MAX) {
        csv->error = "too many fields";
        return -1;
    }

    csv->start[csv->n] = csv->len;

    return 0;
}


static int
mcp_store_csv_add(mcp_store_csv_t *csv, int c)
{
    char  *p;

    if (csv->len == csv->cap) {
        p = realloc(csv->buf, csv->cap ? 2 * csv->cap : 256);

        if (p == NULL) {
            csv->error = "out of memory";
            return -1;
        }

        csv->buf = p;
        csv->cap = csv->cap ? 2 * csv->cap : 256;
    }

    csv->buf[csv->len++] = (char) c;

    return 0;
}
