// A stock Node socket.io client (4.8 or 2.x, installed under the npm aliases
// `sio4` and `sio2`) run against a server of the "Sockets" memo
// (001_13ce220237596520.txt): two users register (acknowledged `true`, the
// join notices from `Server`), a taken name is refused (`false`), a message
// claiming another sender reaches both from its real sender, and a user who
// leaves is announced. It prints `ok <step>` for every step and exits 1 with
// `FAIL <step>: <what differed>` on the first one that does not hold; every
// wait is bounded.
//
// Usage: node sockets.js <4|2> <URL> <websocket|polling|upgrade>
"use strict";

const util = require("util");

const STEP_MS = 5000;
const TOTAL_MS = 30000;

const [version, url, mode] = process.argv.slice(2);
const TRANSPORTS = {
  websocket: ["websocket"],
  polling: ["polling"],
  upgrade: ["polling", "websocket"],
};
if (!["4", "2"].includes(version) || !url || !TRANSPORTS[mode]) {
  console.error("usage: node sockets.js <4|2> <URL> <websocket|polling|upgrade>");
  process.exit(2);
}

let step = "start";
function fail(why) {
  console.error(`FAIL ${step}: ${why} (socket.io-client ${version}, ${mode})`);
  process.exit(1);
}
setTimeout(() => fail(`the whole run took longer than ${TOTAL_MS} ms`), TOTAL_MS).unref();
process.on("unhandledRejection", (e) => fail(e && e.stack ? e.stack : String(e)));

function expectEqual(what, got, want) {
  if (!util.isDeepStrictEqual(got, want)) {
    fail(`${what}: got ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
  }
}

async function check(name, body) {
  step = name;
  await body();
  console.log(`ok ${name}`);
}

const OPTIONS = {
  transports: TRANSPORTS[mode],
  upgrade: mode === "upgrade",
  reconnection: false,
  forceNew: true,
  timeout: STEP_MS,
};

function open() {
  return version === "4" ? require("sio4").io(url, OPTIONS) : require("sio2")(url, OPTIONS);
}

// A client and every `message` it receives, in order.
class User {
  constructor() {
    this.socket = open();
    this.inbox = [];
    this.waiting = null;
    this.socket.on("message", (payload) => {
      this.inbox.push(payload);
      if (this.waiting) {
        this.waiting();
      }
    });
  }

  connected() {
    if (this.socket.connected) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => fail(`no connect within ${STEP_MS} ms`), STEP_MS);
      this.socket.once("connect", () => {
        clearTimeout(timer);
        resolve();
      });
      this.socket.once("connect_error", (e) => fail(`connect_error ${e && e.message}`));
    });
  }

  // `register` with `name`: the acknowledgement's arguments.
  register(name) {
    return new Promise((resolve) => {
      const timer = setTimeout(() => fail(`no answer to register within ${STEP_MS} ms`), STEP_MS);
      this.socket.emit("register", name, (...answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
    });
  }

  // Resolves with the first message (read or to come) whose text is `text`.
  async expect(text) {
    const deadline = Date.now() + STEP_MS;
    for (;;) {
      const i = this.inbox.findIndex((m) => m && m.message === text);
      if (i >= 0) {
        return this.inbox.splice(i, 1)[0];
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        fail(`no message ${JSON.stringify(text)} within ${STEP_MS} ms; got ${JSON.stringify(this.inbox)}`);
      }
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiting = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiting = null;
    }
  }
}

function fresh(base) {
  return `${base}-${Math.random().toString(16).slice(2, 10)}`;
}

async function scenario() {
  const [alice, bob] = [fresh("alice"), fresh("bob")];
  const a = new User();
  const b = new User();
  await check("connect", async () => {
    await a.connected();
    await b.connected();
  });
  await check("register", async () => {
    expectEqual("the answer to register", await a.register(alice), [true]);
    expectEqual("alice's join notice", await a.expect(`${alice} has joined the chat`), {
      from: "Server",
      message: `${alice} has joined the chat`,
    });
    expectEqual("the answer to register", await b.register(bob), [true]);
    await b.expect(`${bob} has joined the chat`);
    expectEqual("bob's join notice to alice", await a.expect(`${bob} has joined the chat`), {
      from: "Server",
      message: `${bob} has joined the chat`,
    });
  });
  await check("taken name", async () => {
    const c = new User();
    await c.connected();
    expectEqual("the answer to a taken name", await c.register(alice), [false]);
    c.socket.close();
  });
  await check("message", async () => {
    const text = fresh("hello");
    b.socket.emit("message", { from: alice, message: text });
    const want = { from: bob, message: text };
    expectEqual("the message to bob", await b.expect(text), want);
    expectEqual("the message to alice", await a.expect(text), want);
  });
  await check("leave", async () => {
    b.socket.close();
    expectEqual("the leave notice", await a.expect(`${bob} left the chat`), {
      from: "Server",
      message: `${bob} left the chat`,
    });
  });
  const want = mode === "polling" ? "polling" : "websocket";
  if (mode === "upgrade" && a.socket.io.engine.transport.name !== want) {
    await check("upgrade", () => new Promise((resolve) => a.socket.io.engine.once("upgrade", resolve)));
  }
  step = "transport";
  expectEqual("the transport", a.socket.io.engine.transport.name, want);
  a.socket.close();
}

scenario().then(
  () => {
    console.log(`ok all (socket.io-client ${version}, ${mode})`);
    process.exit(0);
  },
  (e) => fail(e && e.stack ? e.stack : String(e)),
);
