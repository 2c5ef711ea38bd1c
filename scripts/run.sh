#!/usr/bin/env bash
# Serves conf/nginx.conf in the foreground on 127.0.0.1:$PORT with the
# store in $DATA_DIR; Ctrl-C stops it.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
port=${PORT:-8080}
data=${DATA_DIR:-var/data}

cd "$top"
mkdir -p var/tmp "$data"

sed -e "s|listen  127.0.0.1:8080;|listen  127.0.0.1:$port;|" \
    -e "s|mcp_store  var/data |mcp_store  $data |" \
    conf/nginx.conf > var/nginx.conf

nginx -p "$top/" -c var/nginx.conf -t -q
echo "ngx_mcp: serving on http://127.0.0.1:$port/ (store: $data); Ctrl-C stops"
exec nginx -p "$top/" -c var/nginx.conf
