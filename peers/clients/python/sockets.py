"""The stock python-socketio client (AsyncClient) run against a server of the
"Sockets" memo (001_13ce220237596520.txt): two users register (acknowledged
`True`, the join notices from `Server`), a taken name is refused (`False`), a
message claiming another sender reaches both from its real sender, and a
user who leaves is announced. It prints `ok <step>` for every step and exits
1 with `FAIL <step>: <what differed>` on the first one that does not hold;
every wait is bounded.

It runs in the python-socketio peer's virtualenv:

    peers/socketio-python/.venv/bin/python peers/clients/python/sockets.py \\
        URL websocket|polling|upgrade
"""

import asyncio
import secrets
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


def expect_equal(what, got, want):
    if got != want:
        raise Failed(f"{what}: got {got!r}, expected {want!r}")


def fresh(base):
    return f"{base}-{secrets.token_hex(4)}"


class User:
    """A client and every `message` it receives, in order."""

    def __init__(self, url, mode):
        self.url = url
        self.mode = mode
        self.client = socketio.AsyncClient(reconnection=False)
        self.inbox = []
        self.arrived = asyncio.Event()

        async def on_message(payload):
            self.inbox.append(payload)
            self.arrived.set()

        self.client.on("message", on_message)

    async def connect(self):
        await self.client.connect(
            self.url, transports=TRANSPORTS[self.mode], wait_timeout=STEP_S
        )

    async def register(self, name):
        """`register` with `name`: the acknowledgement's value."""
        try:
            return await self.client.call("register", name, timeout=STEP_S)
        except socketio.exceptions.TimeoutError:
            raise Failed(f"no answer to register within {STEP_S} s") from None

    async def expect(self, text):
        """The first message (read or to come) whose text is `text`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STEP_S
        while True:
            for i, m in enumerate(self.inbox):
                if isinstance(m, dict) and m.get("message") == text:
                    return self.inbox.pop(i)
            left = deadline - loop.time()
            if left <= 0:
                raise Failed(f"no message {text!r} within {STEP_S} s; got {self.inbox!r}")
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), left)
            except asyncio.TimeoutError:
                pass


class Run:
    def __init__(self, url, mode):
        self.url = url
        self.mode = mode
        self.step = "start"
        self.users = []

    async def check(self, name, body):
        self.step = name
        await body()
        print(f"ok {name}", flush=True)

    def user(self):
        user = User(self.url, self.mode)
        self.users.append(user)
        return user

    async def main(self):
        try:
            await self.scenario()
        finally:
            # Also after a failure, so that no HTTP session is left open.
            for user in self.users:
                await asyncio.wait_for(user.client.disconnect(), STEP_S)

    async def scenario(self):
        alice, bob = fresh("alice"), fresh("bob")
        a, b = self.user(), self.user()

        async def connect():
            await a.connect()
            await b.connect()

        async def register():
            expect_equal("the answer to register", await a.register(alice), True)
            joined = f"{alice} has joined the chat"
            expect_equal("alice's join notice", await a.expect(joined), {"from": "Server", "message": joined})
            expect_equal("the answer to register", await b.register(bob), True)
            joined = f"{bob} has joined the chat"
            await b.expect(joined)
            expect_equal("bob's join notice to alice", await a.expect(joined), {"from": "Server", "message": joined})

        async def taken():
            c = self.user()
            await c.connect()
            expect_equal("the answer to a taken name", await c.register(alice), False)

        async def message():
            text = fresh("hello")
            await b.client.emit("message", {"from": alice, "message": text})
            want = {"from": bob, "message": text}
            expect_equal("the message to bob", await b.expect(text), want)
            expect_equal("the message to alice", await a.expect(text), want)

        async def leave():
            await b.client.disconnect()
            notice = f"{bob} left the chat"
            expect_equal("the leave notice", await a.expect(notice), {"from": "Server", "message": notice})

        await self.check("connect", connect)
        await self.check("register", register)
        await self.check("taken name", taken)
        await self.check("message", message)
        await self.check("leave", leave)
        self.step = "transport"
        want = "polling" if self.mode == "polling" else "websocket"
        expect_equal("the transport", a.client.transport(), want)


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
        print("usage: sockets.py URL websocket|polling|upgrade", file=sys.stderr)
        sys.exit(2)
    failure = asyncio.run(run(sys.argv[1], sys.argv[2]))
    if failure is not None:
        print(f"{failure} (python-socketio, {sys.argv[2]})", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
