#!/bin/sh
# mcp-store export, import (dumps and other shorteners' CSV files),
# backup and delete: TAP for prove.

. "$(dirname "$0")/tap.sh"

data=$(dirname "$0")/data

echo "1..48"

# same FILE EXPECTED-TEXT WHAT: the file holds exactly the text
same() {
    printf '%s\n' "$2" | cmp -s - "$1"
    ok $? "$3"
    printf '%s\n' "$2" | cmp -s - "$1" \
        || { echo "# got:"; sed 's/^/#   /' "$1"; }
}

# run COMMAND ARGS...: runs the tool, stdout to $dir/out, stderr to $dir/err,
# the exit status to $rc
run() {
    "$tool" "$@" > "$dir/out" 2> "$dir/err"
    rc=$?
}

mkdir "$dir/a" "$dir/b" "$dir/c" "$dir/csv" "$dir/csv2"


# --- dumps -----------------------------------------------------------------

mkdir "$dir/e"
"$tool" session-put "$dir/e" s1
run export "$dir/e"
[ "$rc" = 0 ] && [ "$(wc -l < "$dir/out")" = 1 ] \
    && grep -q '^{"type":"header","format":"ngx_mcp","schema_version":3,"exported_at":"[0-9-]*T[0-9:]*Z","tenant":null}$' "$dir/out"
ok $? "export of a store of one session: the header line alone"

run import "$dir/a" < "$data/dump.jsonl"
[ "$rc" = 0 ] && [ ! -s "$dir/err" ]
ok $? "import of a dump: exit status 0, nothing on stderr"
same "$dir/out" "imported 8, unchanged 0, skipped 0" \
    "  every record imported"

run export "$dir/a"
tail -n +2 "$dir/out" > "$dir/exported"
tail -n +2 "$data/dump.jsonl" | cmp -s - "$dir/exported"
ok $? "export gives back the dump, line for line (times, seqs, summary)"

run import "$dir/a" < "$data/dump.jsonl"
[ "$rc" = 0 ]
ok $? "importing the same dump again: exit status 0"
same "$dir/out" "imported 0, unchanged 8, skipped 0" \
    "  every record found unchanged"
run export "$dir/a"
tail -n +2 "$dir/out" | cmp -s - "$dir/exported"
ok $? "  and the store exports the same as before"

run export "$dir/a" --tenant=acme
grep -c '"tenant":"acme"' "$dir/out" > "$dir/n"
[ "$rc" = 0 ] && [ "$(cat "$dir/n")" = 7 ] \
    && ! grep -q '"tenant":"default"' "$dir/out"
ok $? "export --tenant=acme: the header and acme's 6 records only"

run export "$dir/a" --tenant='a b'
[ "$rc" = 2 ]
ok $? "export --tenant with an invalid name: usage error"

# malformed lines: each reported with its number, the others imported
{
    head -n 1 "$data/dump.jsonl"
    echo '{"type":"link","code":"ok1","url":"https://example.com/1","created_at":"2026-01-01T00:00:00Z"}'
    echo '{"type":"link", "code": '
    echo '{"type":"link","code":"js","url":"javascript:alert(1)","created_at":"2026-01-01T00:00:00Z"}'
    echo '{"type":"widget"}'
    echo '{"type":"link","code":"nourl","created_at":"2026-01-01T00:00:00Z"}'
    echo '{"type":"link","code":"t","url":"https://example.com/t","created_at":"yesterday"}'
    echo '{"type":"link","code":"x","url":"https://example.com/x","created_at":"2026-01-01T00:00:00Z","colour":"red"}'
    echo '{"type":"context","tenant":"acme","namespace":"","id":"half","created_at":"2026-01-04T00:00:00Z","updated_at":"2026-01-04T00:10:00Z","expires_at":null,"summary":null,"messages":[{"seq":1,"role":"user","pinned":false,"content":"one","created_at":"2026-01-04T00:00:00Z"},{"seq":2,"role":"robot","pinned":false,"content":"two","created_at":"2026-01-04T00:10:00Z"}]}'
    echo '{"type":"link","code":"ok2","url":"https://example.com/2","created_at":"2026-01-01T00:00:00Z"}'
} > "$dir/bad.jsonl"

run import "$dir/b" < "$dir/bad.jsonl"
[ "$rc" = 1 ]
ok $? "import with malformed lines: exit status 1"
same "$dir/out" "imported 2, unchanged 0, skipped 7" "  2 imported, 7 skipped"
same "$dir/err" 'mcp-store: import: line 3: invalid JSON at column 24: unexpected token near end of file
mcp-store: import: line 4: link js: URL scheme "javascript" is not allowed
mcp-store: import: line 5: unknown record type "widget"
mcp-store: import: line 6: link: "url" is missing
mcp-store: import: line 7: link: "created_at" must be an RFC 3339 time
mcp-store: import: line 8: link: unknown field "colour"
mcp-store: import: line 9: context half: message 2: unknown role "robot"' \
    "  each reported with its line number and reason"
run export "$dir/b"
grep -o '"code":"[^"]*"' "$dir/out" | tr '\n' ' ' > "$dir/codes"
[ "$(cat "$dir/codes")" = '"code":"ok1" "code":"ok2" ' ] \
    && ! grep -q '"type":"context"' "$dir/out"
ok $? "  the store holds ok1 and ok2, and nothing of the half-valid context"

printf '{"type":"link","code":"a","url":"https://example.com/","created_at":"2026-01-01T00:00:00Z"}\n' \
    > "$dir/nohead.jsonl"
run import "$dir/c" < "$dir/nohead.jsonl"
[ "$rc" = 1 ] && grep -q 'line 1 is not the header' "$dir/err"
ok $? "a file without the header line is refused"
run list "$dir/c"
[ ! -s "$dir/out" ]
ok $? "  and nothing of it is imported"

sed '1s/"schema_version":1/"schema_version":99/' "$data/dump.jsonl" \
    > "$dir/newer.jsonl"
run import "$dir/c" < "$dir/newer.jsonl"
[ "$rc" = 1 ] && grep -q 'schema version 99' "$dir/err"
ok $? "a dump of a newer schema is refused"

# a link whose code is taken by another link
printf '%s\n%s\n' "$(head -n 1 "$data/dump.jsonl")" \
    '{"type":"link","code":"abc","url":"https://example.com/other","tenant":"default","created_at":"2026-01-02T03:04:05Z","expires_at":null,"max_visits":null,"visits":0,"last_visit":null}' \
    > "$dir/taken.jsonl"
run import "$dir/a" < "$dir/taken.jsonl"
[ "$rc" = 1 ] && grep -q 'line 2: code abc is taken: the link there differs in "url"' "$dir/err"
ok $? "a link whose code is taken by another link is skipped"
run get "$dir/a" abc
grep -q '"url":"https://example.com/x"' "$dir/out"
ok $? "  and the link there is unchanged"

# the same link with another visit count: which field differs is said
sed 's/"code":"abc",\(.*\)"visits":3/"code":"abc",\1"visits":4/' \
    "$data/dump.jsonl" > "$dir/visits.jsonl"
run import "$dir/a" < "$dir/visits.jsonl"
[ "$rc" = 1 ] \
    && grep -q 'line 2: code abc is taken: the link there differs in "visits"' "$dir/err" \
    && grep -q '^imported 0, unchanged 7, skipped 1$' "$dir/out"
ok $? "a link whose visits differ is skipped, saying so; the rest unchanged"

# tags and redirect status: carried by the round trip above; read back
run get "$dir/a" abc
grep -q '"tags":\["news","2026"\],"redirect_status":301,"updated_at":"2026-01-04T05:06:07Z"}$' "$dir/out"
ok $? "a dumped link's tags, redirect status and update time are imported"

# the same link with other tags: which field differs is said
sed 's/"news","2026"/"news"/' "$data/dump.jsonl" > "$dir/tags.jsonl"
run import "$dir/a" < "$dir/tags.jsonl"
[ "$rc" = 1 ] \
    && grep -q 'line 2: code abc is taken: the link there differs in "tags"' "$dir/err"
ok $? "a link whose tags differ is skipped, saying so"

# bad tags and statuses: reported with their line numbers, nothing written
{
    head -n 1 "$data/dump.jsonl"
    echo '{"type":"link","code":"t1","url":"https://example.com/1","created_at":"2026-01-01T00:00:00Z","tags":["ok","bad tag"]}'
    echo '{"type":"link","code":"t2","url":"https://example.com/2","created_at":"2026-01-01T00:00:00Z","tags":"news"}'
    echo '{"type":"link","code":"t3","url":"https://example.com/3","created_at":"2026-01-01T00:00:00Z","redirect_status":303}'
    echo '{"type":"link","code":"t4","url":"https://example.com/4","created_at":"2026-01-01T00:00:00Z","tags":["a","b"],"redirect_status":308}'
} > "$dir/badtags.jsonl"
mkdir "$dir/t"
run import "$dir/t" < "$dir/badtags.jsonl"
[ "$rc" = 1 ]
same "$dir/err" 'mcp-store: import: line 2: link: tag 2 is not 1 to 32 characters of A-Z, a-z, 0-9, _, ., : and -
mcp-store: import: line 3: link: "tags" must be an array of at most 16 tags
mcp-store: import: line 4: link t3: invalid argument' \
    "bad tags and a bad redirect status: refused with their line numbers"
run list "$dir/t"
[ "$(cut -f 1 "$dir/out")" = t4 ]
ok $? "  only the good link is stored"


# --- times -----------------------------------------------------------------

run put "$dir/c" when https://example.com/w expires_at=2031-02-03T04:05:06Z
run get "$dir/c" when
grep -q '"expires_at":"2031-02-03T04:05:06Z","max_visits":null,"visits":0,"last_visit":null' "$dir/out" \
    && grep -q '"created_at":"20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]Z"' "$dir/out"
ok $? "get prints times in RFC 3339, null for none"
run put "$dir/c" when2 https://example.com/w expires_at=1927857906
run get "$dir/c" when2
grep -q '"expires_at":"2031-02-03T04:05:06Z"' "$dir/out"
ok $? "put takes Unix seconds too"
run put "$dir/c" when3 https://example.com/w expires_at=2031-02-03T05:35:06+0130
run get "$dir/c" when3
grep -q '"expires_at":"2031-02-03T04:05:06Z"' "$dir/out"
ok $? "an offset written +0130 is read"
run put "$dir/c" when4 https://example.com/w expires_at=2031-02-03
run get "$dir/c" when4
grep -q '"expires_at":"2031-02-03T00:00:00Z"' "$dir/out"
ok $? "a date alone is its midnight, UTC"
run put "$dir/c" when5 https://example.com/w expires_at=2031-02-03T04:05:06
[ "$rc" = 2 ]
ok $? "a time with a T and no zone is refused"
run session-put "$dir/c" s1 last_seen=2026-12-06T01:02:03+01:00
run sessions "$dir/c"
grep -q "	2026-12-06T00:02:03Z\$" "$dir/out"
ok $? "sessions prints last_seen in RFC 3339 (an offset given is read)"


# --- CSV -------------------------------------------------------------------

run import --format=shlink "$dir/csv" < "$data/shlink.csv"
[ "$rc" = 1 ]
ok $? "Shlink CSV: exit status 1 (rows were skipped)"
same "$dir/out" "imported 3, unchanged 0, skipped 4" "  3 imported, 4 skipped"
same "$dir/err" 'mcp-store: import: line 6: link sh-js: URL scheme "javascript" is not allowed
mcp-store: import: line 7: code "bad code!" is not 1 to 64 characters of A-Z, a-z, 0-9, _ and -
mcp-store: import: line 8: malformed CSV: text after the closing quote of a field
mcp-store: import: line 9: invalid time "not-a-date"' \
    "  the skipped rows with their line numbers and reasons"
run get "$dir/csv" sh1
grep -q '"url":"https://example.com/docs","tenant":"default","created_at":"2023-05-01T08:00:00Z","expires_at":null,"max_visits":null,"visits":12,"last_visit":null,"tags":\["docs","guide"\]' "$dir/out"
ok $? "  sh1: its URL, creation time (offset applied), visits and tags"

run import --format=yourls "$dir/csv" --tenant=acme < "$data/yourls.csv"
same "$dir/out" "imported 2, unchanged 0, skipped 2" \
    "YOURLS CSV: 2 imported, 2 skipped"
same "$dir/err" 'mcp-store: import: line 4: link yr3: URL must not contain credentials (user:password@)
mcp-store: import: line 5: malformed CSV: a quoted field is not closed before the end' \
    "  the skipped rows with their line numbers and reasons"
run get "$dir/csv" yr2
grep -q '"url":"https://example.com/two?a=1,2","tenant":"acme",' "$dir/out" \
    && grep -q '"visits":0' "$dir/out"
ok $? "  yr2: the quoted URL with its comma, owned by --tenant"

run import --format=bitly "$dir/csv" < "$data/bitly.csv"
same "$dir/out" "imported 2, unchanged 0, skipped 1" \
    "Bitly CSV (BOM, CRLF): 2 imported, 1 skipped"

run list "$dir/csv"
same "$dir/out" "4Pq9Rst	https://example.com/pricing
launch	https://example.com/blog/launch
sh1	https://example.com/docs
sh2	https://example.com/a?x=1&y=2
sh3	https://example.com/q?%22quoted%22
yr1	https://example.com/one
yr2	https://example.com/two?a=1,2" \
    "the store holds the 7 links, codes from custom links and short URLs"

for f in shlink yourls bitly; do
    "$tool" import --format=$f "$dir/csv" < "$data/$f.csv" > "$dir/out" 2>&1
done
run list "$dir/csv"
[ "$(wc -l < "$dir/out")" = 7 ]
ok $? "importing the three files again adds nothing"

# CSV odds: lone CRs, blank lines, an empty quoted field, more fields
# than the header, a header without the long URL
printf 'keyword,url,clicks\r/cr1/,https://example.com/cr1,""\r\r/cr2/,"https://example.com/cr2",2,extra\r' \
    > "$dir/cr.csv"
run import --format=yourls "$dir/csv2" < "$dir/cr.csv"
[ "$rc" = 0 ] && [ "$(cat "$dir/out")" = "imported 2, unchanged 0, skipped 0" ] \
    && "$tool" get "$dir/csv2" cr2 | grep -q '"url":"https://example.com/cr2",.*"visits":2'
ok $? "lone CR line ends, a blank line, an empty quoted field, an extra field"

printf 'keyword,title\nk1,t1\n' > "$dir/nourl.csv"
run import --format=yourls "$dir/csv2" < "$dir/nourl.csv"
[ "$rc" = 1 ] && grep -q 'line 1: the header names no long URL column' "$dir/err"
ok $? "a header without a long URL column is refused whole"

run import --format=shlink "$dir/csv2" < /dev/null
[ "$rc" = 1 ] && grep -q 'line 1: no CSV header' "$dir/err"
ok $? "an empty file is refused"

run import --format=kutt "$dir/csv" < "$data/bitly.csv"
[ "$rc" = 2 ]
ok $? "an unknown --format is a usage error"


# --- backup and delete -----------------------------------------------------

run backup "$dir/a" "$dir/bk"
[ "$rc" = 0 ] && [ -f "$dir/bk/data.mdb" ]
ok $? "backup writes a copy into a new directory"
run check "$dir/bk"
same "$dir/out" "ok 2 links" "  which checks clean"
"$tool" export "$dir/bk" | tail -n +2 | cmp -s - "$dir/exported"
ok $? "  and exports the same as the store"

run delete "$dir/a" abc
[ "$rc" = 0 ] && ! "$tool" get "$dir/a" abc > /dev/null 2>&1
ok $? "delete removes a link"
run delete "$dir/a" abc
[ "$rc" = 1 ] && grep -q 'delete abc: ' "$dir/err"
ok $? "  and a second delete of it fails"

[ "$failed" = 0 ]
