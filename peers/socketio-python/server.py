"""The python-socketio peer of the reference server's echo app.

The same behaviour and, as far as python-socketio can express them, the same
timings as the Node peer (the "test profile" Socket.IO's own protocol test
suites require). python-socketio 5 speaks Engine.IO 4 / Socket.IO v5 only.

Usage: python server.py [PORT]   (or PORT=... python server.py; default 3000;
0 picks a free port). HOST=... (default 127.0.0.1). PING_INTERVAL=... and
PING_TIMEOUT=... (milliseconds) replace the test profile's heartbeat (the
bench runs the servers with Socket.IO's documented defaults). Prints
"python-socketio VERSION echo listening on HOST:PORT" once it listens.
"""

import asyncio
import os
import signal
import sys
from importlib.metadata import version

import socketio
from aiohttp import web

# The test profile. python-socketio takes seconds; it has no connectTimeout
# (a client that never joins a namespace stays until the heartbeat drops it).
sio = socketio.AsyncServer(
    async_mode="aiohttp",
    ping_interval=int(os.environ.get("PING_INTERVAL", "300")) / 1000,
    ping_timeout=int(os.environ.get("PING_TIMEOUT", "200")) / 1000,
    max_http_buffer_size=1000000,
    cors_allowed_origins="*",
)


def echo_app(namespace):
    async def connect(sid, environ, auth):
        # python-socketio hands over None when the CONNECT packet carries no
        # payload (or an empty object); Node's `socket.handshake.auth` is {}.
        await sio.emit("auth", {} if auth is None else auth, to=sid, namespace=namespace)

    async def message(sid, *args):
        await sio.emit("message-back", args, to=sid, namespace=namespace)

    async def message_with_ack(sid, *args):
        # The handler's return value is the acknowledgement's arguments.
        return args

    # Rooms: each event acknowledged with True, or False when its argument
    # is not what it takes; room-message reaches every member, the sender too.
    async def join(sid, *args):
        ok = bool(args) and isinstance(args[0], str)
        if ok:
            await sio.enter_room(sid, args[0], namespace=namespace)
        return ok

    async def leave(sid, *args):
        ok = bool(args) and isinstance(args[0], str)
        if ok:
            await sio.leave_room(sid, args[0], namespace=namespace)
        return ok

    async def room_message(sid, *args):
        message = args[0] if args else None
        ok = isinstance(message, dict) and isinstance(message.get("room"), str)
        if ok:
            await sio.emit("room-message", message, room=message["room"], namespace=namespace)
        return ok

    sio.on("connect", connect, namespace=namespace)
    sio.on("join", join, namespace=namespace)
    sio.on("leave", leave, namespace=namespace)
    sio.on("room-message", room_message, namespace=namespace)
    sio.on("message", message, namespace=namespace)
    sio.on("message-with-ack", message_with_ack, namespace=namespace)


echo_app("/")
echo_app("/custom")


async def main():
    port = int(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PORT", "3000"))
    host = os.environ.get("HOST", "127.0.0.1")

    app = web.Application()
    sio.attach(app)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    address, bound = runner.addresses[0][:2]
    print(
        f"python-socketio {version('python-socketio')} echo listening on {address}:{bound}",
        flush=True,
    )

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await sio.shutdown()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
