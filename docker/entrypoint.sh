#!/bin/sh
# ngx_mcp's container entrypoint: renders nginx.conf from the environment,
# then runs the command (nginx in the foreground by default).
#
#   entrypoint.sh [nginx -g 'daemon off;']   render, then exec the command
#   entrypoint.sh render                      render only (tests, debugging)
#
# What people change, from the environment (lists: spaces or commas):
#
#   MCP_ROLE            node (default): the shortener and MCP server;
#                       lb: an nginx load balancer in front of nodes
#   MCP_LISTEN          port, or address:port (default 8080)
#   MCP_BASE_URL        public prefix of short URLs, ending in "/"
#                       (https://sho.rt/); without it they follow the
#                       request, or X-Forwarded-Proto/-Host from a proxy
#                       of MCP_TRUSTED_PROXIES
#   MCP_TRUSTED_PROXIES addresses or CIDRs of the load balancers whose
#                       X-Forwarded-For/-Proto/-Host are believed
#   MCP_ALLOWED_HOSTS   host names MCP clients may address (/mcp)
#   MCP_ALLOWED_ORIGINS origins of browser MCP clients
#   MCP_API_KEYS_FILE   API keys (mcp_api_keys_file); with it the admin
#                       API (/api/) and the dashboard (/dashboard/) are
#                       served too, behind keys with the "admin" scope
#   MCP_CLUSTER_URLS    NATS URLs: cluster mode (mcp_cluster)
#   MCP_NODE_NAME       this node's name in the cluster (default: host name)
#   MCP_STORE_DIR       the store, on a volume (default /var/lib/nginx/mcp)
#   MCP_MAP_SIZE        its map size (default 1g)
#   MCP_WORKERS         worker_processes (default auto)
#   MCP_UPSTREAMS       lb only: the nodes, host:port each
#
# and where things are, for running it outside the image:
#
#   NGINX_CONF (/etc/nginx/nginx.conf),
#   MCP_MODULE (/usr/lib/nginx/modules/ngx_mcp_module.so),
#   MCP_PID (/run/nginx.pid), MCP_USER (www-data), MCP_ERROR_LOG (stderr),
#   MCP_ACCESS_LOG (/dev/stdout), MCP_TEMP_DIR (nginx's default)
set -eu

conf=${NGINX_CONF:-/etc/nginx/nginx.conf}
role=${MCP_ROLE:-node}
listen=${MCP_LISTEN:-8080}
module=${MCP_MODULE:-/usr/lib/nginx/modules/ngx_mcp_module.so}
store=${MCP_STORE_DIR:-/var/lib/nginx/mcp}
map_size=${MCP_MAP_SIZE:-1g}


die() {
    echo "entrypoint: $*" >&2
    exit 1
}


# a list from the environment, one word each, commas as spaces
words() {
    printf '%s' "$1" | tr ',' ' ' | tr -s ' \t\n' ' ' | sed 's/^ //; s/ $//'
}


# a value must not end a directive or open a block of its own
check() {
    case $2 in
        *[\;\{\}\"\'\$\\]*) die "$1 holds one of ; { } \" ' \$ \\: \"$2\"" ;;
    esac
}


for v in MCP_LISTEN MCP_BASE_URL MCP_TRUSTED_PROXIES MCP_ALLOWED_HOSTS \
         MCP_ALLOWED_ORIGINS MCP_API_KEYS_FILE MCP_CLUSTER_URLS \
         MCP_NODE_NAME MCP_STORE_DIR MCP_MAP_SIZE MCP_WORKERS MCP_UPSTREAMS
do
    eval "check $v \"\${$v:-}\""
done

case ${MCP_BASE_URL:-} in
    ''|http://*/|https://*/) ;;
    *) die "MCP_BASE_URL must be http(s)://host[:port]/[prefix/], with the" \
           "final \"/\": \"$MCP_BASE_URL\"" ;;
esac


main() {
    cat << END
# rendered by docker/entrypoint.sh from the environment at start

load_module  $module;

user              ${MCP_USER:-www-data};
worker_processes  ${MCP_WORKERS:-auto};
pid               ${MCP_PID:-/run/nginx.pid};
error_log         ${MCP_ERROR_LOG:-stderr} notice;

events {
    worker_connections  1024;
}


http {
    access_log  ${MCP_ACCESS_LOG:-/dev/stdout};
END

    if [ -n "${MCP_TEMP_DIR:-}" ]; then
        for t in client_body proxy fastcgi uwsgi scgi; do
            printf '    %s_temp_path  %s/%s;\n' "$t" "$MCP_TEMP_DIR" "$t"
        done
    fi

    # the client's address (logs, allow/deny) from the trusted proxies'
    # X-Forwarded-For; mcp_trusted_proxies believes their -Proto and -Host
    if [ -n "${MCP_TRUSTED_PROXIES:-}" ]; then
        echo
        for a in $(words "$MCP_TRUSTED_PROXIES"); do
            echo "    set_real_ip_from     $a;"
        done
        echo "    real_ip_header       X-Forwarded-For;"
        echo "    real_ip_recursive    on;"
        if [ "$role" = node ]; then
            echo "    mcp_trusted_proxies  $(words "$MCP_TRUSTED_PROXIES");"
        fi
    fi
}


node() {
    echo
    echo "    mcp_store  $store  map_size=$map_size  durability=interval;"

    if [ -n "${MCP_CLUSTER_URLS:-}" ]; then
        echo "    mcp_cluster  $(words "$MCP_CLUSTER_URLS")" \
             "node=${MCP_NODE_NAME:-$(uname -n)};"
    fi

    [ -z "${MCP_BASE_URL:-}" ] || echo "    mcp_base_url  $MCP_BASE_URL;"
    [ -z "${MCP_ALLOWED_HOSTS:-}" ] \
        || echo "    mcp_allowed_hosts  $(words "$MCP_ALLOWED_HOSTS");"
    [ -z "${MCP_ALLOWED_ORIGINS:-}" ] \
        || echo "    mcp_allowed_origins  $(words "$MCP_ALLOWED_ORIGINS");"
    [ -z "${MCP_API_KEYS_FILE:-}" ] \
        || echo "    mcp_api_keys_file  $MCP_API_KEYS_FILE;"

    cat << END

    server {
        listen  $listen;

        location = /shorten {
            mcp_shorten;
        }

        location = /mcp {
            mcp_endpoint;
        }

        # liveness and readiness: 503 when the store cannot be read
        location = /status {
            mcp_status;
        }

        location = /metrics {
            mcp_status  prometheus;
        }
END

    if [ -n "${MCP_API_KEYS_FILE:-}" ]; then
        cat << END

        location /api/ {
            mcp_admin;
        }

        location /dashboard/ {
            mcp_dashboard  api=/api/;
        }
END
    fi

    cat << END

        location / {
            mcp_redirect;
        }
    }
}
END
}


lb() {
    [ -n "${MCP_UPSTREAMS:-}" ] || die "MCP_ROLE=lb needs MCP_UPSTREAMS"

    echo
    echo "    upstream ngx_mcp {"
    for u in $(words "$MCP_UPSTREAMS"); do
        echo "        server  $u  max_fails=1  fail_timeout=5s;"
    done
    cat << END
        keepalive  32;
    }

    server {
        listen  $listen;

        location / {
            proxy_pass          http://ngx_mcp;
            proxy_http_version  1.1;
            proxy_set_header    Connection         "";
            proxy_set_header    Host               \$http_host;
            proxy_set_header    X-Forwarded-For    \$proxy_add_x_forwarded_for;
            proxy_set_header    X-Forwarded-Proto  \$scheme;
            proxy_set_header    X-Forwarded-Host   \$http_host;
            # MCP answers may stream (text/event-stream)
            proxy_buffering     off;
            proxy_read_timeout  1h;
            proxy_next_upstream error timeout http_502 http_503;
        }
    }
}
END
}


render() {
    case $role in
        node|lb) ;;
        *) die "MCP_ROLE is node or lb, not \"$role\"" ;;
    esac

    { main; $role; } > "$conf.new"
    mv -f "$conf.new" "$conf"
}


render

if [ "$role" = node ] && [ "${1:-}" != render ]; then
    mkdir -p "$store"
    chown "${MCP_USER:-www-data}" "$store" 2> /dev/null || true
fi

if [ "${1:-}" = render ]; then
    exit 0
fi

if [ $# -eq 0 ]; then
    set -- nginx -g 'daemon off;'
fi

exec "$@"
