"""The stock python-socketio client (AsyncClient) logging in to a Chatpot node
and chatting: members and a room are made through the node's admin API, two
members connect, an unknown token is refused with server_error, both present
their tokens (postinit_req -> postinit_res), a message sent as one of them
through the admin API reaches both with the documented payload, and
health_req is answered. It prints `ok <step>` for every step and exits 1
with `FAIL <step>: <what differed>` on the first one that does not hold;
every wait is bounded.

It runs in the python-socketio peer's virtualenv (aiohttp for both
transports and for the admin API):

    peers/socketio-python/.venv/bin/python peers/clients/python/chatpot.py \\
        NODE_URL websocket|polling|upgrade ADMIN_URL ADMIN_SECRET

ADMIN_URL is the admin API's chatpot routes, e.g. http://127.0.0.1:12380/chatpot.
"""

import asyncio
import re
import sys

import aiohttp
import socketio

STEP_S = 5.0
TOTAL_S = 30.0
TRANSPORTS = {
    "websocket": ["websocket"],
    "polling": ["polling"],
    "upgrade": ["polling", "websocket"],
}
EVENTS = ["server_error", "postinit_res", "message", "health_res"]


class Failed(Exception):
    """A step did not hold: what differed."""


class Member:
    """One connected client and the Chatpot events it received, in order."""

    def __init__(self):
        self.client = socketio.AsyncClient(reconnection=False)
        self.queues = {name: asyncio.Queue() for name in EVENTS}
        for name, queue in self.queues.items():
            self.client.on(name, self._handler(queue))

    @staticmethod
    def _handler(queue):
        async def handler(*args):
            await queue.put(args[0] if args else None)

        return handler

    async def next(self, name):
        try:
            return await asyncio.wait_for(self.queues[name].get(), STEP_S)
        except asyncio.TimeoutError:
            raise Failed(f"no {name} within {STEP_S} s") from None


class Run:
    def __init__(self, url, mode, admin, secret):
        self.url = url
        self.mode = mode
        self.admin = admin
        self.headers = {"Authorization": f"Bearer {secret}"}
        self.step = "start"

    async def check(self, name, body):
        self.step = name
        await body()
        print(f"ok {name}", flush=True)

    async def api(self, http, method, path, body=None):
        async with http.request(
            method, f"{self.admin}{path}", json=body, headers=self.headers
        ) as response:
            if response.status >= 300:
                raise Failed(f"{method} {path} answered HTTP {response.status}: {await response.text()}")
            return None if response.status == 204 else await response.json()

    async def main(self):
        a, b = Member(), Member()
        try:
            async with aiohttp.ClientSession() as http:
                await self.scenario(http, a, b)
        finally:
            # Also after a failure, so that no HTTP session is left open.
            for m in (a, b):
                await asyncio.wait_for(m.client.disconnect(), STEP_S)

    async def scenario(self, http, a, b):
        ids = {}

        async def provision():
            ids["room"] = (await self.api(http, "POST", "/rooms", {}))["token"]
            for name in ("alice", "bob"):
                ids[name] = (await self.api(http, "POST", "/members", {}))["token"]
                await self.api(http, "PUT", f"/rooms/{ids['room']}/members/{ids[name]}")

        async def connect():
            for m in (a, b):
                await m.client.connect(
                    self.url, transports=TRANSPORTS[self.mode], wait_timeout=STEP_S
                )

        async def unknown_token():
            await b.client.emit("postinit_req", {"token": "0" * 48})
            got = await b.next("server_error")
            if not (
                isinstance(got, dict)
                and got.get("code") == "INVALID_PARAM"
                and "invalid member_token" in str(got.get("message"))
            ):
                raise Failed(f"server_error: {got!r}")

        async def postinit():
            for m, name in ((a, "alice"), (b, "bob")):
                await m.client.emit("postinit_req", {"token": ids[name]})
                got = await m.next("postinit_res")
                if got != {"success": True}:
                    raise Failed(f"postinit_res: {got!r}")

        async def message():
            content = "호옹"
            await self.api(
                http, "POST", f"/rooms/{ids['room']}/messages", {"from": ids["alice"], "content": content}
            )
            for m in (a, b):
                got = await m.next("message")
                ok = (
                    isinstance(got, dict)
                    and re.fullmatch(r"[0-9a-f]{32}", str(got.get("message_id")))
                    and got.get("type") == "TEXT"
                    and got["from"]["token"] == ids["alice"]
                    and isinstance(got["from"]["nick"].get("ja"), str)
                    and got["to"] == {"type": "ROOM", "token": ids["room"]}
                    and got.get("content") == content
                    and isinstance(got.get("sent_time"), int)
                )
                if not ok:
                    raise Failed(f"message: {got!r}")

        async def health():
            await a.client.emit("health_req", {})
            await a.next("health_res")

        await self.check("provision", provision)
        await self.check("connect", connect)
        await self.check("unknown token", unknown_token)
        await self.check("postinit", postinit)
        await self.check("message", message)
        await self.check("health", health)
        self.step = "transport"
        want = "polling" if self.mode == "polling" else "websocket"
        for m in (a, b):
            if m.client.transport() != want:
                raise Failed(f"the client is on {m.client.transport()}, expected {want}")


async def run(url, mode, admin, secret):
    job = Run(url, mode, admin, secret)
    try:
        await asyncio.wait_for(job.main(), TOTAL_S)
    except asyncio.TimeoutError:
        return f"FAIL {job.step}: the whole run took longer than {TOTAL_S} s"
    except Failed as e:
        return f"FAIL {job.step}: {e}"
    except Exception as e:  # noqa: BLE001 - any other error fails the step it happened in
        return f"FAIL {job.step}: {type(e).__name__}: {e}"
    return None


def main():
    if len(sys.argv) != 5 or sys.argv[2] not in TRANSPORTS:
        print(
            "usage: chatpot.py NODE_URL websocket|polling|upgrade ADMIN_URL ADMIN_SECRET",
            file=sys.stderr,
        )
        return 2
    url, mode, admin, secret = sys.argv[1:]
    failure = asyncio.run(run(url, mode, admin, secret))
    if failure:
        print(failure, file=sys.stderr)
        return 1
    print(f"ok all (python-socketio {socketio.__version__ if hasattr(socketio, '__version__') else ''}, {mode})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
