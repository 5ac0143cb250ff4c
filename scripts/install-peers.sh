#!/usr/bin/env sh
# Installs the peers the project compares its reference server with, and
# the stock clients its tests run against it (peers/clients/):
#
# - Node peers (a package-lock.json): `npm ci` from the npm registry, exactly
#   as locked; skipped when node_modules matches the lock file.
# - Rust peers (a Cargo.toml, each its own package outside the workspace):
#   `cargo build --locked` into target/peers (or $CARGO_TARGET_DIR), where
#   it reuses what the workspace's build compiled.
# - Python peers (a requirements.txt): a virtualenv in the peer's `.venv`
#   and `pip install -r requirements.txt` from PyPI (every version pinned);
#   skipped when the virtualenv is newer than the requirements.
#
# Usage: scripts/install-peers.sh [PEER...]   (folders under peers/, such as
#        socketio-node or clients/node; default: every one)
set -eu

root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)

# Whether the peer in folder $1 is one of those asked for.
wanted() {
    [ "$selected" = "" ] && return 0
    case " $selected " in
        *" $1 "*) return 0 ;;
    esac
    return 1
}
selected="$*"
for name in $selected; do
    if [ ! -d "$root/peers/$name" ]; then
        echo "install-peers: no peer named $name under peers/" >&2
        exit 2
    fi
done

# Every folder of peers/ and of peers/clients/ is looked at; a peer's name is
# its path under peers/.
for dir in "$root"/peers/*/ "$root"/peers/clients/*/; do
    [ -f "$dir/package-lock.json" ] || continue
    name=${dir#"$root/peers/"}
    name=${name%/}
    wanted "$name" || continue
    if ! command -v npm >/dev/null 2>&1; then
        echo "install-peers: npm not found; install Node.js 18 or newer (for $name)" >&2
        exit 2
    fi
    stamp="$dir/node_modules/.package-lock.json"
    if [ -f "$stamp" ] && [ "$stamp" -nt "$dir/package-lock.json" ]; then
        echo "install-peers: $name up to date"
        continue
    fi
    echo "install-peers: $name: npm ci"
    (cd "$dir" && npm ci --no-audit --no-fund)
done

for dir in "$root"/peers/*/; do
    [ -f "$dir/Cargo.toml" ] || continue
    name=$(basename "$dir")
    wanted "$name" || continue
    if ! command -v cargo >/dev/null 2>&1; then
        echo "install-peers: cargo not found; install Rust (for $name)" >&2
        exit 2
    fi
    echo "install-peers: $name: cargo build"
    CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target/peers} \
        cargo build --quiet --locked --manifest-path "$dir/Cargo.toml"
done

for dir in "$root"/peers/*/ "$root"/peers/clients/*/; do
    [ -f "$dir/requirements.txt" ] || continue
    name=${dir#"$root/peers/"}
    name=${name%/}
    wanted "$name" || continue
    if ! command -v python3 >/dev/null 2>&1; then
        echo "install-peers: python3 not found; install Python 3.9 or newer with venv (for $name)" >&2
        exit 2
    fi
    venv="$dir.venv"
    # Written last, after a successful install: its age says what is installed.
    stamp="$venv/.installed"
    if [ -f "$stamp" ] && [ "$stamp" -nt "$dir/requirements.txt" ]; then
        echo "install-peers: $name up to date"
        continue
    fi
    echo "install-peers: $name: pip install -r requirements.txt"
    if [ ! -x "$venv/bin/python" ]; then
        if ! python3 -m venv "$venv"; then
            rm -rf "$venv"
            echo "install-peers: \`python3 -m venv\` failed; install the venv module (Debian: python3-venv)" >&2
            exit 2
        fi
    fi
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        --no-input -r "$dir/requirements.txt"
    touch "$stamp"
done
