#!/usr/bin/env bash
# Regenerates the side-by-side bench report (reports/bench/README.md and one
# folder of results per run): the reference server against Node socket.io
# 4.8, socketioxide 0.15.2 and socketcluster-server 20 (protocolVersion 1)
# under the same chatspec load, and chatspec's generator against Artillery
# 2's Socket.IO engine driving the same server.
#
# Every server runs pinned to core 0 (taskset), every generator to core 1,
# one after the other, on loopback. The servers run their test profiles
# (pingInterval 300 ms, pingTimeout 200 ms for Socket.IO).
#
# Needs: a release build of chatspec (cargo build --release), the Node peers
# (scripts/install-peers.sh socketio-node socketcluster-node), the
# socketioxide peer in release (built here), Artillery (installed here into
# reports/bench/artillery with npm --ignore-scripts: its browser download
# cannot succeed offline). CI never runs this script.
#
# Environment:
#   CHATSPEC   the chatspec binary (default: target/release/chatspec)
#   DURATION   the measured window of each run (default: 10s)
#   OUT        where the results go (default: reports/bench)
#   SERVERS    the Socket.IO servers to run (default: reference node socketioxide)
#   SC_SERVERS the SocketCluster servers to run (default: reference socketcluster)
#   ROOM_SERVERS the Socket.IO servers of the room fan-out (default: reference node python)
#   GENERATORS 0 to skip the Artillery comparison (default: 1); a partial run
#              adds to commands.txt instead of starting it anew
#
# Usage: reports/bench/run.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
chatspec=${CHATSPEC:-target/release/chatspec}
duration=${DURATION:-10s}
out=${OUT:-reports/bench}
server_core=0
generator_core=1
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

say() { echo "bench: $*" >&2; }

[ -x "$chatspec" ] || { say "$chatspec not found: cargo build --release"; exit 2; }
scripts/install-peers.sh socketio-node socketcluster-node >&2
socketioxide=$root/target/peers/release/socketioxide-echo-peer
# Built and installed only when a run needs them (a partial rerun may not).
case " ${SERVERS:-reference node socketioxide} " in
    *" socketioxide "*)
        say "socketioxide peer: cargo build --release"
        CARGO_TARGET_DIR=$root/target/peers cargo build --quiet --release --locked \
            --manifest-path peers/socketioxide/Cargo.toml
        ;;
esac
if [ "${GENERATORS:-1}" = 1 ] && [ ! -x reports/bench/artillery/node_modules/.bin/artillery ]; then
    say "artillery: npm ci --ignore-scripts"
    (cd reports/bench/artillery && npm ci --ignore-scripts --no-audit --no-fund >&2)
fi

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
    for _ in $(seq 1 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    say "nothing listens on port $1"
    return 1
}

server_pid=
# start NAME PORT COMMAND...: the server, pinned to the server core.
start() {
    local name=$1 port=$2
    shift 2
    taskset -c "$server_core" "$@" >"/tmp/chatspec-bench-$name.log" 2>&1 &
    server_pid=$!
    wait_port "$port"
    sleep 0.5
}

stop() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=
    fi
}
trap stop EXIT

# bench NAME SCENARIO ARGS...: chatspec's generator, pinned to its core.
bench() {
    local name=$1
    shift
    say "$name"
    echo "taskset -c $generator_core chatspec bench $* --pid <server> --out $out/$name" >>"$out/commands.txt"
    taskset -c "$generator_core" "$chatspec" bench "$@" --pid "$server_pid" --quiet \
        --duration "$duration" --out "$out/$name" >/dev/null
}

# with_server SERVER: starts the server named SERVER; sets $target.
with_server() {
    local port
    port=$(free_port)
    case "$1" in
        reference)
            local sc
            sc=$(free_port)
            start reference "$port" "$chatspec" serve --port "echo=$port" --port "socketcluster=$sc" \
                --port assa=0 --port admin=0
            target="--target socketio=http://127.0.0.1:$port"
            sc_target="--target socketcluster=ws://127.0.0.1:$sc/socketcluster/"
            ;;
        node)
            start node "$port" node peers/socketio-node/server.js "$port"
            target="--target socketio=http://127.0.0.1:$port"
            ;;
        socketioxide)
            PORT=$port start socketioxide "$port" "$socketioxide" "$port"
            target="--target socketio=http://127.0.0.1:$port"
            ;;
        python)
            scripts/install-peers.sh socketio-python >&2
            start python "$port" peers/socketio-python/.venv/bin/python peers/socketio-python/server.py "$port"
            target="--config /tmp/chatspec-bench-python.toml"
            # python-socketio speaks Engine.IO 4 only.
            printf '[socketio]\nurl = "http://127.0.0.1:%s"\nengineio = [4]\n' "$port" \
                >/tmp/chatspec-bench-python.toml
            ;;
        socketcluster)
            start socketcluster "$port" node peers/socketcluster-node/server.js "$port"
            sc_target="--target socketcluster=ws://127.0.0.1:$port/socketcluster/"
            ;;
    esac
}

servers=${SERVERS:-reference node socketioxide}
sc_servers=${SC_SERVERS:-reference socketcluster}
generators=${GENERATORS:-1}
mkdir -p "$out"
if [ -z "${SERVERS:-}${SC_SERVERS:-}${GENERATORS:-}${ROOM_SERVERS:-}" ]; then
    : >"$out/commands.txt"
else
    echo "# a partial rerun: SERVERS='$servers' SC_SERVERS='$sc_servers' GENERATORS=$generators ROOM_SERVERS='${ROOM_SERVERS:-reference node python}'" >>"$out/commands.txt"
fi
{
    echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores ($(uname -m)), $(node --version)"
    echo "# servers pinned to core $server_core, generators to core $generator_core; DURATION=$duration"
} >>"$out/commands.txt"

for server in $servers; do
    with_server "$server"
    # issue 7's saturation run: 100 connections x 8 in flight, closed loop.
    # shellcheck disable=SC2086
    bench "$server-echo-closed" echo $target --clients 100 --window 8
    # shellcheck disable=SC2086
    bench "$server-echo-open" echo $target --clients 100 --rate 20000
    # Windows larger than any per-socket buffer: where silent drops hide.
    # shellcheck disable=SC2086
    bench "$server-echo-window256" echo $target --clients 10 --window 256
    # shellcheck disable=SC2086
    bench "$server-connect" connect $target --clients 20
    # shellcheck disable=SC2086
    bench "$server-idle-1000" idle $target --clients 1000 --warmup 2s
    stop
    # A fresh server: its memory before the 10,000 is its idle memory.
    with_server "$server"
    # shellcheck disable=SC2086
    bench "$server-idle-10000" idle $target --clients 10000 --warmup 2s --wait 30s
    stop
done

for server in $sc_servers; do
    with_server "$server"
    # shellcheck disable=SC2086
    bench "sc-$server-echo-closed" echo -p socketcluster $sc_target --clients 100 --window 8
    # shellcheck disable=SC2086
    bench "sc-$server-fanout" fanout -p socketcluster $sc_target --rooms 10 --members 20 --senders 10 --window 8
    # shellcheck disable=SC2086
    bench "sc-$server-idle-1000" idle -p socketcluster $sc_target --clients 1000 --warmup 2s
    stop
done

# Socket.IO room fan-out through the echo app's room events (join,
# room-message to every member, the sender included): 10 rooms x 20
# members, one sender per room; closed loop, open loop at a rate every
# server sustains, and 256 in flight per sender.
for server in ${ROOM_SERVERS:-reference node python}; do
    with_server "$server"
    # shellcheck disable=SC2086
    bench "$server-rooms-closed" fanout $target --rooms 10 --members 20 --senders 10 --window 8
    # shellcheck disable=SC2086
    bench "$server-rooms-open" fanout $target --rooms 10 --members 20 --senders 10 --rate 2000
    # shellcheck disable=SC2086
    bench "$server-rooms-window256" fanout $target --rooms 10 --members 20 --senders 10 --window 256
    stop
done

# The generators side by side: Artillery's Socket.IO engine and chatspec's,
# the same emit with acknowledgement against the same server (Node socket.io).
if [ "$generators" = 1 ]; then
with_server node
port=${target##*:}
seconds=${duration%s}
sed -e "s/@PORT@/$port/" -e "s/@COUNT@/$((seconds * 40))/" reports/bench/artillery/echo.yml \
    >/tmp/chatspec-bench-artillery.yml
say "artillery"
echo "taskset -c $generator_core artillery run reports/bench/artillery/echo.yml (port and duration filled in)" >>"$out/commands.txt"
mkdir -p "$out/artillery-echo"
taskset -c "$generator_core" python3 - "$out/artillery-echo" <<'EOF' >&2
import json, resource, subprocess, sys, time
out = sys.argv[1]
start = time.time()
subprocess.run(["reports/bench/artillery/node_modules/.bin/artillery", "run", "--quiet",
                "--output", out + "/report.json", "/tmp/chatspec-bench-artillery.yml"],
               check=True, stdout=subprocess.DEVNULL)
wall = time.time() - start
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
report = json.load(open(out + "/report.json"))
counters = report["aggregate"]["counters"]
summary = report["aggregate"].get("summaries", {}).get("socketio.response_time", {})
json.dump({"cpu_seconds": ru.ru_utime + ru.ru_stime, "wall_seconds": wall,
           "counters": counters, "response_time_ms": summary},
          open(out + "/usage.json", "w"), indent=2)
EOF
# shellcheck disable=SC2086
bench "generator-echo" echo $target --clients 100 --window 1
stop
fi

python3 reports/bench/summarize.py "$out" >"$out/README.md"
say "wrote $out/README.md"
