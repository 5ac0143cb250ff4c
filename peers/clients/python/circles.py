"""The stock python-socketio client (AsyncClient) run against a Circles
server (003_415bfb4e4fd8fc5e.txt): two users log in with `authenticate`,
join their conversation, one sends a `message` the other receives with
`status: "done"`, then a `writing` notice. It prints `ok <step>` for every
step and exits 1 with `FAIL <step>: <what differed>` on the first one that
does not hold; every wait is bounded.

    peers/socketio-python/.venv/bin/python peers/clients/python/circles.py \\
        URL websocket|polling|upgrade TOKEN_A TOKEN_B CONVERSATION_ID EMAIL_A
"""

import asyncio
import sys

import socketio

STEP_S = 5.0
TOTAL_S = 30.0
TRANSPORTS = {
    "websocket": ["websocket"],
    "polling": ["polling"],
    "upgrade": ["polling", "websocket"],
}
CHANNELS = ["success", "error", "message", "writing"]


class Failed(Exception):
    """A step did not hold: what differed."""


class User:
    """One client and a queue of what it received, per channel."""

    def __init__(self):
        self.sio = socketio.AsyncClient(reconnection=False)
        self.queues = {name: asyncio.Queue() for name in CHANNELS}
        for name in CHANNELS:
            self.sio.on(name, self._forward(name))

    def _forward(self, name):
        async def handler(payload=None):
            await self.queues[name].put(payload)

        return handler

    async def next(self, name):
        try:
            return await asyncio.wait_for(self.queues[name].get(), STEP_S)
        except asyncio.TimeoutError:
            raise Failed(f"no {name} within {STEP_S} s") from None

    async def request(self, name, payload):
        """Emits `name` and waits for `success`; `error` fails."""
        await self.sio.emit(name, payload)
        ok = asyncio.ensure_future(self.next("success"))
        ko = asyncio.ensure_future(self.queues["error"].get())
        done, pending = await asyncio.wait({ok, ko}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        if ko in done:
            raise Failed(f"{name} was answered on error: {ko.result()!r}")
        return ok.result()


async def scenario(url, mode, token_a, token_b, conversation, email_a, log):
    step = "connect"
    a, b = User(), User()
    try:
        for user in (a, b):
            await asyncio.wait_for(
                user.sio.connect(url, transports=TRANSPORTS[mode], wait_timeout=STEP_S), STEP_S
            )
        log(step)
        for user, token, who in ((a, token_a, "A"), (b, token_b, "B")):
            step = f"authenticate {who}"
            await user.request("authenticate", {"token": token})
            log(step)
            step = f"join_conversation {who}"
            await user.request("join_conversation", {"conversation_id": conversation})
            log(step)
        step = "message"
        text = "hello from python-socketio"
        await a.request("message", {"conversation_id": conversation, "text_message": text})
        while True:
            m = await b.next("message")
            if m.get("conversation_id") == conversation:
                break
        if m.get("status") != "done" or (m.get("message") or {}).get("text") != text or not m.get("sender"):
            raise Failed(f"the message B received: {m!r}")
        log(step)
        step = "writing"
        await a.sio.emit("writing", {"conversation_id": conversation, "is_writing": True})
        w = await b.next("writing")
        want = {"conversation_id": conversation, "device": False, "user": email_a, "is_writing": True}
        if {k: w.get(k) for k in want} != want:
            raise Failed(f"the writing notice B received: {w!r}")
        log(step)
        step = "transport"
        want_transport = "polling" if mode == "polling" else "websocket"
        if mode == "upgrade":
            for _ in range(50):
                if a.sio.transport() == "websocket":
                    break
                await asyncio.sleep(0.1)
        if a.sio.transport() != want_transport:
            raise Failed(f"the client is on {a.sio.transport()}, expected {want_transport}")
        log(step)
    except Failed as e:
        raise Failed(f"{step}: {e}") from None
    except Exception as e:  # the client library failed: report it as the step's failure
        raise Failed(f"{step}: {type(e).__name__}: {e}") from None
    finally:
        for user in (a, b):
            await user.sio.disconnect()


def main():
    if len(sys.argv) != 7 or sys.argv[2] not in TRANSPORTS:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    url, mode, token_a, token_b, conversation, email_a = sys.argv[1:]

    def log(step):
        print(f"ok {step}", flush=True)

    try:
        asyncio.run(
            asyncio.wait_for(
                scenario(url, mode, token_a, token_b, int(conversation), email_a, log), TOTAL_S
            )
        )
    except Failed as e:
        print(f"FAIL {e}", file=sys.stderr)
        sys.exit(1)
    except asyncio.TimeoutError:
        print(f"FAIL all: the whole run took longer than {TOTAL_S} s", file=sys.stderr)
        sys.exit(1)
    print(f"ok all (python-socketio, {mode})")


if __name__ == "__main__":
    main()
