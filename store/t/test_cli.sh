#!/bin/sh
# mcp-store put applies the server's URL rules and stores the canonical
# form (store/mcp_url.h), and digest sums up each database: TAP for prove.

. "$(dirname "$0")/tap.sh"

echo "1..24"

# refused CODE URL MESSAGE [OPTION...]: exit status 1, the message on
# stderr, and nothing stored under CODE
refused() {
    code=$1 url=$2 want=$3
    shift 3
    show=$(printf '%s' "$url" | tr -c '[:print:]' '?')
    "$tool" put "$dir" "$code" "$url" "$@" > "$dir/out" 2> "$dir/err"
    rc=$?
    got=$(cat "$dir/err")
    [ "$rc" = 1 ] && [ "$got" = "mcp-store: put $code: $want" ]
    ok $? "put refuses $show: $want"
    [ -n "$got" ] && [ "$got" != "mcp-store: put $code: $want" ] \
        && echo "# got ($rc): $got"
    "$tool" get "$dir" "$code" > /dev/null 2>&1
    [ $? = 1 ]
    ok $? "  and stores nothing under $code"
}

# stored CODE URL CANONICAL [OPTION...]: stored, and get shows CANONICAL
stored() {
    code=$1 url=$2 want=$3
    shift 3
    "$tool" put "$dir" "$code" "$url" "$@" 2> "$dir/err"
    rc=$?
    got=$("$tool" get "$dir" "$code" | sed 's/.*"url":"\([^"]*\)".*/\1/')
    [ "$rc" = 0 ] && [ "$got" = "$want" ]
    ok $? "put stores $url as $want"
    [ "$got" != "$want" ] && echo "# got ($rc): $got $(cat "$dir/err")"
}

refused js 'javascript:alert(1)' 'URL scheme "javascript" is not allowed'
refused js2 'JaVaScRiPt:alert(1)' 'URL scheme "JaVaScRiPt" is not allowed'
refused cred 'https://user:pw@example.com/' \
        'URL must not contain credentials (user:password@)'
refused crlf "$(printf 'https://example.com/\r\nX: y')" \
        'URL contains a control character at byte 20'
refused v4 'https://1.2.3.256/' \
        'URL host "1.2.3.256" ends in a number but is not a valid IPv4 address'
refused ftp 'ftp://example.com/f' 'URL scheme "ftp" is not allowed'
refused only 'https://example.com/' 'URL scheme "https" is not allowed' \
        schemes=ftp
refused long 'https://example.com/0123456789' \
        'URL is 30 bytes long; the limit is 20' max_length=20

stored ip 'https://2130706433/x' 'https://127.0.0.1/x'
stored odd 'https://Example.COM.?q' 'https://example.com/?q'
stored ftp2 'ftp://example.com/f' 'ftp://example.com/f' schemes=https,ftp
stored enc 'https://example.com/a b/../<c>' 'https://example.com/%3Cc%3E'

# the list shows what get showed: one form for each link
"$tool" list "$dir" > "$dir/list"
printf '%s\t%s\n' enc 'https://example.com/%3Cc%3E' ftp2 'ftp://example.com/f' \
    ip 'https://127.0.0.1/x' odd 'https://example.com/?q' | cmp -s - "$dir/list"
ok $? "list shows the four canonical URLs and nothing refused"

# digest: a line per database; the same links give the same lines, one
# more link another links line and nothing else changed
"$tool" digest "$dir" > "$dir/d1"
[ "$(wc -l < "$dir/d1")" = 9 ] && grep -q "^links	4	" "$dir/d1"
ok $? "digest counts the four links, a line per database"
"$tool" digest "$dir" | cmp -s - "$dir/d1"
ok $? "and says the same again"
"$tool" put "$dir" more 'https://example.com/more' 2> /dev/null
"$tool" digest "$dir" > "$dir/d2"
[ "$(diff "$dir/d1" "$dir/d2" | grep -c '^[<>] links	')" = 2 ] \
    && [ "$(diff "$dir/d1" "$dir/d2" | grep -c '^[<>]')" = 2 ]
ok $? "a link more changes the links line only"

[ "$failed" = 0 ]
