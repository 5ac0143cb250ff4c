#!/usr/bin/env bash
# Regenerates the side-by-side bench report (reports/bench/README.md and one
# folder of results per run): the reference server against Node socket.io
# 4.8, socketioxide 0.15.2 and socketcluster-server 20 (protocolVersion 1)
# under the same chatspec load, ASSA room messages on the reference server,
# the loopback baseline (a plain TCP echo the bench starts itself: the
# ceiling of the machine and the generator), open-loop ramps, and chatspec's
# generator against Artillery 2's Socket.IO engine driving the same server.
#
# Every server runs pinned to core 0 (taskset), every generator to core 1,
# one after the other, on loopback. The servers run their test profiles
# (pingInterval 300 ms, pingTimeout 200 ms for Socket.IO), but for the
# Socket.IO room fan-out, where every server runs Socket.IO's documented
# default heartbeat (pingInterval 25000 ms, pingTimeout 20000 ms: what users
# deploy; under a fan-out backlog the test profile's 200 ms closes the
# sessions of a server that falls behind, and its figures are then the
# survivors'). The baseline's
# echo runs inside the bench process on a thread of its own: that process
# gets both cores.
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
#   ASSA_SERVERS the ASSA servers to run (default: reference; there is no ASSA peer)
#   BASELINE   0 to skip the loopback baseline (default: 1)
#   ROOM_SERVERS the Socket.IO servers of the room fan-out (default: reference node socketioxide python)
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
case " ${SERVERS-socketioxide} ${ROOM_SERVERS-socketioxide} " in
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
# The servers' logs and the generated configurations of this run.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/chatspec-bench.XXXXXX")
# start NAME PORT COMMAND...: the server, pinned to the server core.
start() {
    local name=$1 port=$2
    shift 2
    taskset -c "$server_core" "$@" >"$tmp/$name.log" 2>&1 &
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
trap 'stop; rm -rf "$tmp"' EXIT

# bench NAME SCENARIO ARGS...: chatspec's generator, pinned to its core.
bench() {
    local name=$1
    shift
    say "$name"
    echo "taskset -c $generator_core chatspec bench $* --pid <server> --out $out/$name" >>"$out/commands.txt"
    taskset -c "$generator_core" "$chatspec" bench "$@" --pid "$server_pid" --quiet \
        --duration "$duration" --out "$out/$name" >/dev/null
}

# The documented default heartbeat of Socket.IO (milliseconds), for `with_server SERVER deployed`.
deployed_ping_interval=25000
deployed_ping_timeout=20000

# with_server SERVER [deployed]: starts the server named SERVER (a Socket.IO
# server with the documented default heartbeat when `deployed`, else its
# test profile); sets $target.
with_server() {
    local port
    port=$(free_port)
    local -a heartbeat=()
    # The reference server's SocketCluster listener takes 1,000 connections
    # by default; the idle run holds 10,000 (socketcluster-server has no cap).
    printf '[socketcluster]\nmax_connections = 20000\n' >"$tmp/reference.toml"
    local -a config=(--config "$tmp/reference.toml")
    if [ "${2:-}" = deployed ]; then
        # The peers read it from their environment, the reference server from its configuration.
        heartbeat=(env "PING_INTERVAL=$deployed_ping_interval" "PING_TIMEOUT=$deployed_ping_timeout")
        printf '[echo.profile]\nping_interval_ms = %s\nping_timeout_ms = %s\n' \
            "$deployed_ping_interval" "$deployed_ping_timeout" >>"$tmp/reference.toml"
    fi
    case "$1" in
        reference)
            local sc assa
            sc=$(free_port)
            assa=$(free_port)
            # Every other listener on a free port (0): a fixed one may be taken.
            start reference "$port" "$chatspec" serve "${config[@]}" --port "echo=$port" --port "socketcluster=$sc" \
                --port "assa=$assa" --port admin=0 --port chatpot=0 --port sockets=0 --port circles=0
            target="--target socketio=http://127.0.0.1:$port"
            sc_target="--target socketcluster=ws://127.0.0.1:$sc/socketcluster/"
            # The generator mints a user per client with the server's secret
            # (the development secret of a server started without one).
            printf '[assa]\nurl = "tcp://127.0.0.1:%s"\n[assa.users]\njwt_secret = "%s"\n' \
                "$assa" chatspec-development-secret-do-not-use-in-production >"$tmp/assa.toml"
            assa_target="--config $tmp/assa.toml"
            ;;
        node)
            start node "$port" "${heartbeat[@]}" node peers/socketio-node/server.js "$port"
            target="--target socketio=http://127.0.0.1:$port"
            ;;
        socketioxide)
            PORT=$port start socketioxide "$port" "${heartbeat[@]}" "$socketioxide" "$port"
            target="--target socketio=http://127.0.0.1:$port"
            ;;
        python)
            scripts/install-peers.sh socketio-python >&2
            start python "$port" "${heartbeat[@]}" peers/socketio-python/.venv/bin/python \
                peers/socketio-python/server.py "$port"
            target="--config $tmp/python.toml"
            # python-socketio speaks Engine.IO 4 only.
            printf '[socketio]\nurl = "http://127.0.0.1:%s"\nengineio = [4]\n' "$port" \
                >"$tmp/python.toml"
            ;;
        socketcluster)
            # socketcluster-server's own heartbeat (8 s, 20 s), as `chatspec serve`
            # runs it: the peer's test timings (a 1 s pingTimeout) close every
            # socket of a flooded server whose event loop falls a second behind.
            PING_INTERVAL_MS=8000 PING_TIMEOUT_MS=20000 V2_PORT=0 \
                start socketcluster "$port" node peers/socketcluster-node/server.js "$port"
            sc_target="--target socketcluster=ws://127.0.0.1:$port/socketcluster/"
            ;;
    esac
}

servers=${SERVERS-reference node socketioxide}
sc_servers=${SC_SERVERS-reference socketcluster}
assa_servers=${ASSA_SERVERS-reference}
room_servers=${ROOM_SERVERS-reference node socketioxide python}
baseline=${BASELINE:-1}
generators=${GENERATORS:-1}
mkdir -p "$out"
if [ -z "${SERVERS+x}${SC_SERVERS+x}${ASSA_SERVERS+x}${ROOM_SERVERS+x}${BASELINE:-}${GENERATORS:-}" ]; then
    : >"$out/commands.txt"
else
    echo "# a partial rerun: SERVERS='$servers' SC_SERVERS='$sc_servers' ASSA_SERVERS='$assa_servers'" \
        "ROOM_SERVERS='$room_servers' BASELINE=$baseline GENERATORS=$generators" >>"$out/commands.txt"
fi
{
    echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores ($(uname -m)), $(node --version)"
    echo "# servers pinned to core $server_core, generators to core $generator_core; DURATION=$duration"
    echo "# load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
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
    # An open-loop ramp: where the server stops keeping up, and its latency on the way.
    # shellcheck disable=SC2086
    bench "$server-echo-ramp" echo $target --clients 100 --rate 10000..160000 --steps 5
    # shellcheck disable=SC2086
    bench "$server-connect" connect $target --clients 20
    stop
done

# Memory per idle connection: every run on a freshly started server (what
# it holds before the clients connect is its idle memory, not what echo
# loads left behind), the servers in turn at each size, so that those
# compared ran under the same load of the machine. The bench waits for the
# memory before to settle, lets the warm-up pass (connections made, a
# garbage collector's first rounds) and samples the memory every 250 ms
# through the measured window.
for clients in 1000 10000; do
    for server in $servers; do
        with_server "$server"
        # shellcheck disable=SC2086
        bench "$server-idle-$clients" idle $target --clients "$clients" --warmup 5s --wait 30s
        stop
    done
done
# The same at the documented heartbeat (pingInterval 25 s, pingTimeout
# 20 s): under the test profile's ping every 300 ms one core cannot keep
# 10,000 Node sessions alive, and the memory of those it closed is not
# given back, so its figure per open connection means little.
for clients in 1000 10000; do
    for server in $servers; do
        with_server "$server" deployed
        # shellcheck disable=SC2086
        bench "$server-idle-default-$clients" idle $target --clients "$clients" --warmup 5s --wait 30s
        stop
    done
done
for clients in 1000 10000; do
    for server in $sc_servers; do
        with_server "$server"
        # shellcheck disable=SC2086
        bench "sc-$server-idle-$clients" idle -p socketcluster $sc_target --clients "$clients" --warmup 5s \
            --wait 30s
        stop
    done
done

for server in $sc_servers; do
    with_server "$server"
    # shellcheck disable=SC2086
    bench "sc-$server-echo-closed" echo -p socketcluster $sc_target --clients 100 --window 8
    # A window of 64 publications per sender: the server, not the
    # generator's closed loop, bounds the deliveries.
    # shellcheck disable=SC2086
    bench "sc-$server-fanout" fanout -p socketcluster $sc_target --rooms 10 --members 20 --senders 10 --window 64
    # 256 in flight per sender: more than any per-socket queue, where silent drops hide.
    # shellcheck disable=SC2086
    bench "sc-$server-fanout-window256" fanout -p socketcluster $sc_target --rooms 10 --members 20 --senders 10 \
        --window 256
    # Open loop at a rate both servers sustain (20,000 deliveries/s): latency at the same load.
    # shellcheck disable=SC2086
    bench "sc-$server-fanout-open" fanout -p socketcluster $sc_target --rooms 10 --members 20 --senders 10 \
        --rate 1000
    stop
done

# ASSA room messages: 10 rooms x 20 members over the TCP listener, one sender
# per room, closed loop and an open-loop ramp.
for server in $assa_servers; do
    with_server "$server"
    # shellcheck disable=SC2086
    bench "assa-$server-fanout" fanout -p assa $assa_target --rooms 10 --members 20 --senders 10 --window 64
    # shellcheck disable=SC2086
    bench "assa-$server-fanout-ramp" fanout -p assa $assa_target --rooms 10 --members 20 --senders 10 \
        --rate 1000..16000 --steps 4
    stop
done

# The loopback baseline: the same echo loads against a plain TCP echo.
if [ "$baseline" = 1 ]; then
    for run in "closed:--clients 100 --window 8" "window256:--clients 10 --window 256" \
        "ramp:--clients 100 --rate 10000..160000 --steps 5"; do
        name=baseline-echo-${run%%:*}
        say "$name"
        echo "taskset -c $server_core,$generator_core chatspec bench echo --baseline ${run#*:} --out $out/$name" >>"$out/commands.txt"
        # shellcheck disable=SC2086
        taskset -c "$server_core,$generator_core" "$chatspec" bench echo --baseline ${run#*:} --quiet \
            --duration "$duration" --out "$out/$name" >/dev/null
    done
fi

# Socket.IO room fan-out through the echo app's room events (join,
# room-message to every member, the sender included): 10 rooms x 20
# members, one sender per room, every server with Socket.IO's documented
# default heartbeat (see the top). Closed loop with 64 and 256 messages in
# flight per sender (12,800 and 51,200 deliveries owed at once: the
# servers, not the window, bound them), open loop at a rate the servers
# sustain (python-socketio does not: 2,000 messages/s are 40,000
# deliveries/s), and an open-loop ramp of room messages
# (20 deliveries each) to where each server stops keeping up.
for server in $room_servers; do
    with_server "$server" deployed
    # shellcheck disable=SC2086
    bench "$server-rooms-closed" fanout $target --rooms 10 --members 20 --senders 10 --window 64
    # shellcheck disable=SC2086
    bench "$server-rooms-window256" fanout $target --rooms 10 --members 20 --senders 10 --window 256
    # shellcheck disable=SC2086
    bench "$server-rooms-open" fanout $target --rooms 10 --members 20 --senders 10 --rate 2000
    # shellcheck disable=SC2086
    bench "$server-rooms-ramp" fanout $target --rooms 10 --members 20 --senders 10 \
        --rate 2000..50000 --steps 5
    stop
done

# The generators side by side: Artillery's Socket.IO engine and chatspec's,
# the same emit with acknowledgement against the same server (Node socket.io).
if [ "$generators" = 1 ]; then
with_server node
port=${target##*:}
seconds=${duration%s}
sed -e "s/@PORT@/$port/" -e "s/@COUNT@/$((seconds * 40))/" reports/bench/artillery/echo.yml \
    >"$tmp/artillery.yml"
say "artillery"
echo "taskset -c $generator_core artillery run reports/bench/artillery/echo.yml (port and duration filled in)" >>"$out/commands.txt"
mkdir -p "$out/artillery-echo"
taskset -c "$generator_core" python3 - "$out/artillery-echo" "$tmp/artillery.yml" <<'EOF' >&2
import json, resource, subprocess, sys, time
out = sys.argv[1]
start = time.time()
subprocess.run(["reports/bench/artillery/node_modules/.bin/artillery", "run", "--quiet",
                "--output", out + "/report.json", sys.argv[2]],
               check=True, stdout=subprocess.DEVNULL, timeout=600)
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
# The same emits with 8 in flight per connection: Node, not the window, bounds the rate.
# shellcheck disable=SC2086
bench "generator-echo-window8" echo $target --clients 100 --window 8
stop
fi

python3 reports/bench/summarize.py "$out" >"$out/README.md"
say "wrote $out/README.md"
