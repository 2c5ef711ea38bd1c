#!/bin/sh
# mcp-store put applies the server's URL rules and stores the canonical
# form (store/mcp_url.h): TAP for prove.

. "$(dirname "$0")/tap.sh"

echo "1..21"

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

[ "$failed" = 0 ]
