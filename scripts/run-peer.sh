#!/usr/bin/env bash
# Runs the `socketio` suite against the Node socket.io 4.8 peer
# (peers/socketio-node) and compares the run with its known differences:
#
#   1. installs the peers (scripts/install-peers.sh);
#   2. starts the peer on a free loopback port (port 0: the server prints the
#      port it got) and waits until it answers a polling handshake;
#   3. runs `chatspec run` with reports/expectations/socketio-node.toml,
#      writing JSON, JUnit and HTML into reports/socketio-node/;
#   4. stops the peer, and exits with chatspec's code: 0 when every case got
#      the verdict expected, 1 when some did not, 2 on a usage error or when
#      the peer did not come up, 124 when the run took too long.
#
# Environment:
#   CHATSPEC             the chatspec binary (default: target/debug/chatspec; relative
#                        paths are taken from the project root)
#   PEER_EXPECT          the expectations file (default: reports/expectations/socketio-node.toml)
#   PEER_OUT             the report folder (default: reports/socketio-node)
#   PEER_TIMEOUT         seconds the suite may run (default: 300)
#
# Usage: scripts/run-peer.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

chatspec=${CHATSPEC:-target/debug/chatspec}
expect=${PEER_EXPECT:-reports/expectations/socketio-node.toml}
out=${PEER_OUT:-reports/socketio-node}
run_timeout=${PEER_TIMEOUT:-300}

say() { echo "run-peer: $*" >&2; }

if ! command -v node >/dev/null 2>&1; then
    say "node not found; install Node.js 18 or newer"
    exit 2
fi
if [ ! -x "$chatspec" ]; then
    say "no chatspec binary at $chatspec; run \`cargo build\` or set CHATSPEC"
    exit 2
fi

timeout 600 scripts/install-peers.sh >&2

log=$(mktemp)
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
    rm -f "$log"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Port 0: the operating system picks a free port, which the server prints
# ("... echo listening on 127.0.0.1:PORT"); no other process can take it
# between picking and listening.
HOST=127.0.0.1 node peers/socketio-node/server.js 0 >"$log" 2>&1 &
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
    say "the Node peer did not start:"
    cat "$log" >&2
    exit 2
fi

# Listening is not serving yet: wait for a polling handshake to be answered.
handshake="http://127.0.0.1:$port/socket.io/?EIO=4&transport=polling"
ready=
for _ in $(seq 1 50); do
    if node -e '
        const req = require("http").get(process.argv[1], (res) => {
            res.resume();
            process.exit(res.statusCode === 200 ? 0 : 1);
        });
        req.on("error", () => process.exit(1));
        req.setTimeout(1000, () => process.exit(1));
    ' "$handshake"; then
        ready=1
        break
    fi
    sleep 0.1
done
if [ -z "$ready" ]; then
    say "the Node peer on port $port never answered a polling handshake:"
    cat "$log" >&2
    exit 2
fi
say "$(head -n 1 "$log")"

code=0
timeout "$run_timeout" "$chatspec" run \
    --target "socketio=http://127.0.0.1:$port" \
    --expect "$expect" \
    --format json --format junit --format html \
    --out "$out" || code=$?
if [ "$code" -eq 124 ]; then
    say "the run took longer than ${run_timeout}s"
fi
exit "$code"
