"""The stock python-socketio client (AsyncClient) run against a server of the
echo app: text, acks and binary both ways on `/` and `/custom`, and the
connect error of an unknown namespace. It prints `ok <step>` for every step
and exits 1 with `FAIL <step>: <what differed>` on the first one that does
not hold; every wait is bounded.

It runs in the python-socketio peer's virtualenv (the same pinned
python-socketio, with aiohttp for both transports):

    peers/socketio-python/.venv/bin/python peers/clients/python/client.py \\
        URL websocket|polling|upgrade

    websocket  WebSocket only
    polling    HTTP long-polling only (the client keeps a poll pending)
    upgrade    long-polling, then the upgrade to WebSocket
"""

import asyncio
import sys
from importlib.metadata import version

import socketio

STEP_S = 5.0
TOTAL_S = 30.0
TRANSPORTS = {
    "websocket": ["websocket"],
    "polling": ["polling"],
    "upgrade": ["polling", "websocket"],
}


class Failed(Exception):
    """A step did not hold: what differed."""


def plain(value):
    """Binary values as plain data, so that what came back compares with what was sent."""
    if isinstance(value, (bytes, bytearray)):
        return {"binary": list(value)}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def expect_equal(what, got, want):
    if plain(got) != plain(want):
        raise Failed(f"{what}: got {plain(got)!r}, expected {plain(want)!r}")


class Events:
    """Every event a client receives, by (namespace, event), in order."""

    def __init__(self, client, names, namespaces):
        self.queues = {}
        for namespace in namespaces:
            for name in names:
                queue = asyncio.Queue()
                self.queues[(namespace, name)] = queue
                client.on(name, self._handler(queue), namespace=namespace)

    @staticmethod
    def _handler(queue):
        async def handler(*args):
            await queue.put(list(args))

        return handler

    async def next(self, namespace, name):
        try:
            return await asyncio.wait_for(self.queues[(namespace, name)].get(), STEP_S)
        except asyncio.TimeoutError:
            raise Failed(f"no {name} in {namespace} within {STEP_S} s") from None


async def emit_with_ack(client, event, args, namespace):
    """Emits `event` with `args` and an ack callback: the ack's arguments."""
    answered = asyncio.get_running_loop().create_future()

    def callback(*answer):
        if not answered.done():
            answered.set_result(list(answer))

    await client.emit(event, data=tuple(args), namespace=namespace, callback=callback)
    try:
        return await asyncio.wait_for(answered, STEP_S)
    except asyncio.TimeoutError:
        raise Failed(f"no acknowledgement of {event} within {STEP_S} s") from None


class Run:
    def __init__(self, url, mode):
        self.url = url
        self.mode = mode
        self.step = "start"

    async def check(self, name, body):
        self.step = name
        await body()
        print(f"ok {name}", flush=True)

    async def round_trips(self, client, events, namespace):
        async def text():
            sent = ["hello", 42, {"nested": [1, "two", None, True]}]
            await client.emit("message", data=tuple(sent), namespace=namespace)
            expect_equal("message-back", await events.next(namespace, "message-back"), sent)

        async def text_ack():
            sent = ["ack me", 7, {"k": "v"}]
            got = await emit_with_ack(client, "message-with-ack", sent, namespace)
            expect_equal("the acknowledgement", got, sent)

        async def binary():
            sent = [bytes([1, 2, 3, 255]), "beside", {"inner": bytes([0, 9])}]
            await client.emit("message", data=tuple(sent), namespace=namespace)
            expect_equal("message-back", await events.next(namespace, "message-back"), sent)

        async def binary_ack():
            sent = [{"data": bytes([4, 5, 6])}, b"bytes"]
            got = await emit_with_ack(client, "message-with-ack", sent, namespace)
            expect_equal("the acknowledgement", got, sent)

        await self.check(f"{namespace} text message", text)
        await self.check(f"{namespace} text ack", text_ack)
        await self.check(f"{namespace} binary message", binary)
        await self.check(f"{namespace} binary ack", binary_ack)

    def check_transport(self, client):
        self.step = "transport"
        want = "polling" if self.mode == "polling" else "websocket"
        if client.transport() != want:
            raise Failed(f"the client is on {client.transport()}, expected {want}")

    async def main(self):
        client = socketio.AsyncClient(reconnection=False)
        try:
            await self.scenario(client)
        finally:
            # Also after a failure, so that no HTTP session is left open.
            await asyncio.wait_for(client.disconnect(), STEP_S)

    async def scenario(self, client):
        events = Events(client, ["auth", "message-back"], ["/", "/custom"])
        auth = {"token": "python"}

        async def connect():
            await client.connect(
                self.url,
                namespaces=["/", "/custom"],
                auth=auth,
                transports=TRANSPORTS[self.mode],
                wait_timeout=STEP_S,
            )

        await self.check("connect / and /custom", connect)
        for namespace in ["/", "/custom"]:

            async def authed(namespace=namespace):
                expect_equal("the auth event", await events.next(namespace, "auth"), [auth])

            await self.check(f"auth in {namespace}", authed)
        self.check_transport(client)
        await self.round_trips(client, events, "/")
        await self.round_trips(client, events, "/custom")

        async def unknown_namespace():
            other = socketio.AsyncClient(reconnection=False)
            errors = Events(other, ["connect_error"], ["/unknown"])
            try:
                await other.connect(
                    self.url,
                    namespaces=["/unknown"],
                    transports=TRANSPORTS[self.mode],
                    wait_timeout=STEP_S,
                )
            except socketio.exceptions.ConnectionError:
                pass
            else:
                await other.disconnect()
                raise Failed("connected to /unknown; expected a connect error")
            expect_equal(
                "the connect error",
                await errors.next("/unknown", "connect_error"),
                [{"message": "Invalid namespace"}],
            )

        await self.check("unknown namespace", unknown_namespace)
        await self.round_trips(client, events, "/")
        self.check_transport(client)


async def run(url, mode):
    job = Run(url, mode)
    try:
        await asyncio.wait_for(job.main(), TOTAL_S)
    except asyncio.TimeoutError:
        return f"FAIL {job.step}: the whole run took longer than {TOTAL_S} s"
    except Failed as e:
        return f"FAIL {job.step}: {e}"
    except Exception as e:  # the client's own errors: a failure of the step too
        return f"FAIL {job.step}: {type(e).__name__}: {e}"
    print(f"ok all (python-socketio {version('python-socketio')}, {mode})", flush=True)
    return None


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in TRANSPORTS:
        print("usage: client.py URL websocket|polling|upgrade", file=sys.stderr)
        sys.exit(2)
    failure = asyncio.run(run(sys.argv[1], sys.argv[2]))
    if failure is not None:
        print(f"{failure} (python-socketio, {sys.argv[2]})", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
