#!/usr/bin/env sh
# Installs the peers the project compares its reference server with, from
# the npm registry, exactly as locked in each peer's package-lock.json.
# Idempotent: a peer whose node_modules matches its lock file is skipped.
#
# Usage: scripts/install-peers.sh
set -eu

root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)

if ! command -v npm >/dev/null 2>&1; then
    echo "install-peers: npm not found; install Node.js 18 or newer" >&2
    exit 2
fi

for dir in "$root"/peers/*/; do
    [ -f "$dir/package-lock.json" ] || continue
    name=$(basename "$dir")
    stamp="$dir/node_modules/.package-lock.json"
    if [ -f "$stamp" ] && [ "$stamp" -nt "$dir/package-lock.json" ]; then
        echo "install-peers: $name up to date"
        continue
    fi
    echo "install-peers: $name: npm ci"
    (cd "$dir" && npm ci --no-audit --no-fund)
done
