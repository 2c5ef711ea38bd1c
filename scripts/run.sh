#!/usr/bin/env bash
# Serves conf/nginx.conf in the foreground on 127.0.0.1:$PORT with the
# store in $DATA_DIR; Ctrl-C stops it.
#
# PORT       port (default 8080)
# DATA_DIR   store directory (default var/data, under the repository)
# FIXTURES   1: add the MCP conformance suite's fixtures to /mcp, for
#            "make test-mcp MCP_URL=http://127.0.0.1:$PORT/mcp"
#
# Run as root, the workers run as root too ("user" below), not as nginx's
# default "nobody": a clone may sit where nobody cannot enter (under
# /root, mode 0700), and make run serves from the clone.  In production,
# give the store a directory the "user" of nginx.conf can reach.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
port=${PORT:-8080}
data=${DATA_DIR:-var/data}

case ${FIXTURES:-0} in
    1|yes|on) fixtures=1 ;;
    0|no|off) fixtures=0 ;;
    *) echo "run.sh: FIXTURES=$FIXTURES: say 1 or 0" >&2; exit 1 ;;
esac

cd "$top"
mkdir -p var/tmp "$data"

edits=(-e "s|listen  127.0.0.1:8080;|listen  127.0.0.1:$port;|"
       -e "s|mcp_store  var/data |mcp_store  $data |")
with=

if [ "$fixtures" = 1 ]; then
    edits+=(-e "s|# *\(mcp_conformance_fixtures  on;\)|\1|")
    with=" with the MCP conformance fixtures"
fi

if [ "$(id -u)" -eq 0 ]; then
    edits+=(-e "s|^# *user  .*|user  $(id -un) $(id -gn);|")
fi

sed "${edits[@]}" conf/nginx.conf > var/nginx.conf

if [ "$fixtures" = 1 ] \
   && ! grep -q '^ *mcp_conformance_fixtures  on;' var/nginx.conf
then
    echo "run.sh: conf/nginx.conf has no mcp_conformance_fixtures line" >&2
    exit 1
fi

nginx -p "$top/" -c var/nginx.conf -t -q
echo "ngx_mcp: serving on http://127.0.0.1:$port/ (store: $data)$with;" \
     "Ctrl-C stops"
exec nginx -p "$top/" -c var/nginx.conf
