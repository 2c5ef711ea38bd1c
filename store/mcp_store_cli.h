/*
 * mcp-store: what the tool's files share (mcp_store_cli.c, the commands;
 * mcp_store_cli_dump.c, export and import; mcp_store_cli_csv.c, imports
 * from other shorteners' CSV files).  Not part of the library.
 */

#ifndef _MCP_STORE_CLI_H_INCLUDED_
#define _MCP_STORE_CLI_H_INCLUDED_


#include <stdio.h>
#include <jansson.h>

#include "mcp_store.h"
#include "mcp_url.h"


/* the defaults of mcp_url_schemes and mcp_url_max_length */
#define MCP_STORE_CLI_SCHEMES  "http,https"
#define MCP_STORE_CLI_URL_MAX  2048

/* "2026-12-06T03:50:00Z" and a NUL */
#define MCP_STORE_CLI_TIME_LEN  21

/* how import reports each line: see mcp_store_cli_import_t */
#define MCP_STORE_CLI_IMPORTED   0
#define MCP_STORE_CLI_UNCHANGED  1
#define MCP_STORE_CLI_SKIPPED    2

/* what a link read from a file is compared on when its code is taken */
#define MCP_STORE_CLI_SAME_ALL   0      /* every field: a dump's link */
#define MCP_STORE_CLI_SAME_URL   1      /* URL and owner: a CSV's link */


/* options given as --name=value anywhere after the command */
typedef struct {
    const char  *tenant;
    const char  *format;
} mcp_store_cli_opts_t;


/* the counts of an import, and where it is */
typedef struct {
    uint64_t     line;            /* of the record being imported */
    uint64_t     count[3];        /* by MCP_STORE_CLI_IMPORTED ... */
} mcp_store_cli_import_t;


/*
 * Writes t as RFC 3339 in UTC ("2026-12-06T03:50:00Z") to buf, which has
 * room for MCP_STORE_CLI_TIME_LEN bytes.
 */
void mcp_store_cli_time(char *buf, int64_t t);

/*
 * Reads an RFC 3339 time ("2026-12-06T03:50:00Z", an offset "+01:00" or
 * "+0100" instead of "Z", fractions of a second, which are dropped), the
 * same with a space for the "T" and no zone (UTC: how YOURLS and
 * spreadsheets write times), a date alone (its midnight, UTC), or Unix
 * seconds.  0 on success, -1 if s is none of them.
 */
int mcp_store_cli_time_parse(const char *s, int64_t *t);

/* a time as JSON: its RFC 3339 string, or null for 0 when unset0 */
json_t *mcp_store_cli_time_json(int64_t t, int unset0);

/*
 * Sets policy to the defaults of the server's URL directives, which the
 * tool does not read (the allow/deny patterns and the check for links to
 * the server itself are the server's alone).
 */
void mcp_store_cli_policy(mcp_url_policy_t *policy);

/*
 * The canonical form of url under policy, malloc()ed into *canon (the
 * caller frees it), or -1 with the reason in err.
 */
int mcp_store_cli_url(const char *url, size_t len,
    const mcp_url_policy_t *policy, char **canon, size_t *canon_len,
    char *err, size_t err_len);

/* 1 if code is one the server redirects: 1 to MCP_STORE_CODE_MAX of
 * [A-Za-z0-9_-] */
int mcp_store_cli_code_ok(const char *code, size_t len);

/* the link as a JSON object: "code", then every field of the link table */
json_t *mcp_store_cli_link_json(const char *code, size_t code_len,
    const mcp_store_link_t *link);

/* prints j on one line of stdout and releases it; -1 if it cannot */
int mcp_store_cli_print(json_t *j);

/*
 * Stores a link read from a file, its URL in canonical form under the
 * server's default URL rules (mcp_store_cli_policy()), or finds the same
 * one there: MCP_STORE_CLI_IMPORTED, _UNCHANGED, or _SKIPPED
 * with the reason reported for im->line.  same: MCP_STORE_CLI_SAME_*.
 */
int mcp_store_cli_link_import(mcp_store_t *s, mcp_store_cli_import_t *im,
    const char *code, size_t code_len, const mcp_store_link_t *link,
    unsigned same);

/* reports why the record at im->line is skipped, and counts it */
int mcp_store_cli_skip(mcp_store_cli_import_t *im, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* prints the counts; the exit status: 1 if a line was skipped */
int mcp_store_cli_import_done(mcp_store_t *s, mcp_store_cli_import_t *im);

int mcp_store_cli_failed(const char *what, const char *arg, int rc);

/* the commands of the other files */
int mcp_store_cli_export(mcp_store_t *s, char **argv,
    const mcp_store_cli_opts_t *opts);
int mcp_store_cli_import(mcp_store_t *s, char **argv,
    const mcp_store_cli_opts_t *opts);
int mcp_store_cli_import_csv(mcp_store_t *s, FILE *in,
    const mcp_store_cli_opts_t *opts);


#endif /* _MCP_STORE_CLI_H_INCLUDED_ */
