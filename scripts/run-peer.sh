#!/usr/bin/env bash
# Runs the `socketio` suite against a peer, a third-party server running the
# echo app (peers/), and compares the run with the peer's known differences:
#
#   PEER=node     Node socket.io 4.8 (peers/socketio-node), Engine.IO 3 and 4
#                 (the default);
#   PEER=python   python-socketio 5 (peers/socketio-python), Engine.IO 4 only:
#                 the target is given as a small config with `engineio = [4]`,
#                 so every `socketio.v3.*` case is reported `unimplemented`;
#   PEER=socketioxide  socketioxide 0.15.2 (peers/socketioxide, built with
#                 cargo into target/peers), Engine.IO 3 and 4.
#   PEER=socketcluster  socketcluster-server 20 with protocolVersion 1, and a
#                 second one with protocolVersion 2 (peers/socketcluster-node):
#                 the `socketcluster` suite, the target given as a config
#                 naming its auth channel, its secret and the protocol 2
#                 endpoint (`v2_url`, where the socketcluster.v2.* cases run).
#
#   1. installs the peer (scripts/install-peers.sh);
#   2. starts the peer on a free loopback port (port 0: the server prints the
#      port it got) and waits until it answers a polling handshake;
#   3. runs `chatspec run` with reports/expectations/socketio-PEER.toml
#      (socketcluster-node.toml), writing JSON, JUnit and HTML into
#      reports/socketio-PEER/ (reports/socketcluster-node/);
#   4. stops the peer, and exits with chatspec's code: 0 when every case got
#      the verdict expected, 1 when some did not, 2 on a usage error or when
#      the peer did not come up, 124 when the run took too long.
#
# Environment:
#   PEER                 node, python, socketioxide or socketcluster (default: node)
#   CHATSPEC             the chatspec binary (default: target/debug/chatspec; relative
#                        paths are taken from the project root)
#   PEER_EXPECT          the expectations file (default: reports/expectations/socketio-PEER.toml)
#   PEER_OUT             the report folder (default: reports/socketio-PEER)
#   PEER_TIMEOUT         seconds the suite may run (default: 300)
#
# Usage: [PEER=node|python|socketioxide|socketcluster] scripts/run-peer.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

say() { echo "run-peer: $*" >&2; }

peer=${PEER:-node}
case "$peer" in
    node)
        name=socketio-node
        label="the Node peer"
        if ! command -v node >/dev/null 2>&1; then
            say "node not found; install Node.js 18 or newer"
            exit 2
        fi
        ;;
    python)
        name=socketio-python
        label="the python-socketio peer"
        if ! command -v python3 >/dev/null 2>&1; then
            say "python3 not found; install Python 3.9 or newer with its venv module"
            exit 2
        fi
        ;;
    socketioxide)
        name=socketioxide
        label="the socketioxide peer"
        if ! command -v cargo >/dev/null 2>&1; then
            say "cargo not found; install Rust to build the socketioxide peer"
            exit 2
        fi
        ;;
    socketcluster)
        name=socketcluster-node
        label="the socketcluster-server peer"
        if ! command -v node >/dev/null 2>&1; then
            say "node not found; install Node.js 18 or newer"
            exit 2
        fi
        ;;
    *)
        say "PEER must be node, python, socketioxide or socketcluster, not '$peer'"
        exit 2
        ;;
esac

chatspec=${CHATSPEC:-target/debug/chatspec}
expect=${PEER_EXPECT:-reports/expectations/$name.toml}
out=${PEER_OUT:-reports/$name}
run_timeout=${PEER_TIMEOUT:-300}
if [ ! -x "$chatspec" ]; then
    say "no chatspec binary at $chatspec; run \`cargo build\` or set CHATSPEC"
    exit 2
fi

timeout 600 scripts/install-peers.sh "$name" >&2

log=$(mktemp)
config=$(mktemp)
peer_pid=
cleanup() {
    if [ -n "$peer_pid" ] && kill -0 "$peer_pid" 2>/dev/null; then
        kill "$peer_pid" 2>/dev/null || true
        # It closes its sessions and exits; give it 5 s, then stop it hard.
        for _ in $(seq 1 50); do
            kill -0 "$peer_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$peer_pid" 2>/dev/null || true
        wait "$peer_pid" 2>/dev/null || true
    fi
    rm -f "$log" "$config"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Port 0: the operating system picks a free port, which the server prints
# ("... echo listening on 127.0.0.1:PORT"); no other process can take it
# between picking and listening.
case "$peer" in
    node)
        HOST=127.0.0.1 node peers/socketio-node/server.js 0 >"$log" 2>&1 &
        ;;
    python)
        HOST=127.0.0.1 peers/socketio-python/.venv/bin/python \
            peers/socketio-python/server.py 0 >"$log" 2>&1 &
        ;;
    socketioxide)
        HOST=127.0.0.1 "${CARGO_TARGET_DIR:-target/peers}/debug/socketioxide-echo-peer" 0 \
            >"$log" 2>&1 &
        ;;
    socketcluster)
        HOST=127.0.0.1 node peers/socketcluster-node/server.js 0 0 >"$log" 2>&1 &
        ;;
esac
peer_pid=$!

port=
for _ in $(seq 1 100); do
    port=$(sed -n 's/.* listening on [0-9.]*:\([0-9][0-9]*\)$/\1/p' "$log" | head -n 1)
    [ -n "$port" ] && break
    if ! kill -0 "$peer_pid" 2>/dev/null; then
        break
    fi
    sleep 0.1
done
if [ -z "$port" ]; then
    say "$label did not start:"
    cat "$log" >&2
    exit 2
fi

# Listening is not serving yet: wait for a polling handshake to be answered.
handshake="http://127.0.0.1:$port/socket.io/?EIO=4&transport=polling"
# The peer's own runtime asks, so that nothing else needs to be installed.
answers() {
    case "$peer" in
        socketcluster)
            # Its HTTP server answers WebSocket upgrades only: an accepted TCP connection will do.
            node -e '
                const s = require("net").connect(Number(process.argv[1]), "127.0.0.1", () => process.exit(0));
                s.on("error", () => process.exit(1));
            ' "$port"
            ;;
        node)
            node -e '
                const req = require("http").get(process.argv[1], (res) => {
                    res.resume();
                    process.exit(res.statusCode === 200 ? 0 : 1);
                });
                req.on("error", () => process.exit(1));
                req.setTimeout(1000, () => process.exit(1));
            ' "$1"
            ;;
        python)
            peers/socketio-python/.venv/bin/python -c '
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=1) as res:
        sys.exit(0 if res.status == 200 else 1)
except Exception:
    sys.exit(1)
' "$1"
            ;;
        socketioxide)
            # Bash alone: a GET over /dev/tcp, the status line read back.
            local hostport=${1#http://}
            hostport=${hostport%%/*}
            local path=/${1#http://*/}
            exec 3<>"/dev/tcp/${hostport%:*}/${hostport#*:}" || return 1
            printf 'GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$hostport" >&3
            local status
            read -r -t 1 status <&3 || status=
            exec 3<&- 3>&-
            case "$status" in
                "HTTP/1.1 200"*) return 0 ;;
                *) return 1 ;;
            esac
            ;;
    esac
}
ready=
for _ in $(seq 1 50); do
    if answers "$handshake"; then
        ready=1
        break
    fi
    sleep 0.1
done
if [ -z "$ready" ]; then
    say "$label on port $port never answered a polling handshake:"
    cat "$log" >&2
    exit 2
fi
say "$(head -n 1 "$log")"

# Node and socketioxide speak Engine.IO 3 and 4, chatspec's default for a --target;
# python-socketio only 4. Every Socket.IO peer has the room events (`rooms = true`).
case "$peer" in
    node | socketioxide)
        printf '[socketio]\nurl = "http://127.0.0.1:%s"\nrooms = true\n' "$port" >"$config"
        target=(--config "$config")
        ;;
    python)
        printf '[socketio]\nurl = "http://127.0.0.1:%s"\nengineio = [4]\nrooms = true\n' "$port" >"$config"
        target=(--config "$config")
        ;;
    socketcluster)
        # peers/socketcluster-node/server.js: channels under private/ need a
        # token, signed with the reference server's development secret; the
        # protocol 2 server says its port on a line of its own.
        v2_port=
        for _ in $(seq 1 50); do
            v2_port=$(sed -n 's/.* protocol 2 on [0-9.]*:\([0-9][0-9]*\)$/\1/p' "$log" | head -n 1)
            [ -n "$v2_port" ] && break
            sleep 0.1
        done
        if [ -z "$v2_port" ]; then
            say "$label never said where its protocol 2 server listens:"
            cat "$log" >&2
            exit 2
        fi
        secret=${CHATSPEC_JWT_SECRET:-chatspec-development-secret-do-not-use-in-production}
        printf '[socketcluster]\nurl = "ws://127.0.0.1:%s/socketcluster/"\nv2_url = "ws://127.0.0.1:%s/socketcluster/"\nauth_channel = "private/chatspec"\ntoken_secret = "%s"\nhandshake_timeout_ms = 800\n' \
            "$port" "$v2_port" "$secret" >"$config"
        target=(--config "$config")
        ;;
esac

code=0
timeout "$run_timeout" "$chatspec" run \
    "${target[@]}" \
    --expect "$expect" \
    --format json --format junit --format html \
    --out "$out" || code=$?
if [ "$code" -eq 124 ]; then
    say "the run took longer than ${run_timeout}s"
fi
exit "$code"
