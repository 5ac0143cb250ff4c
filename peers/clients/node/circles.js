// A stock Node socket.io client (4.8 or 2.x, installed under the npm aliases
// `sio4` and `sio2`) run against a Circles server (003_415bfb4e4fd8fc5e.txt):
// two users log in with `authenticate`, join their conversation, one sends a
// `message` the other receives with `status: "done"`, then a `writing`
// notice. It prints `ok <step>` for every step and exits 1 with
// `FAIL <step>: <what differed>` on the first one that does not hold; every
// wait is bounded.
//
// Usage: node circles.js <4|2> <URL> <websocket|polling|upgrade> TOKEN_A TOKEN_B CONVERSATION_ID EMAIL_A
"use strict";

const STEP_MS = 5000;
const TOTAL_MS = 30000;

const [version, url, mode, tokenA, tokenB, conversation, emailA] = process.argv.slice(2);
const TRANSPORTS = {
  websocket: ["websocket"],
  polling: ["polling"],
  upgrade: ["polling", "websocket"],
};
const conversationId = Number(conversation);
if (!["4", "2"].includes(version) || !url || !TRANSPORTS[mode] || !tokenB || !emailA || !Number.isInteger(conversationId)) {
  console.error("usage: node circles.js <4|2> <URL> <websocket|polling|upgrade> TOKEN_A TOKEN_B CONVERSATION_ID EMAIL_A");
  process.exit(2);
}

let step = "start";
function fail(why) {
  console.error(`FAIL ${step}: ${why} (socket.io-client ${version}, ${mode})`);
  process.exit(1);
}
setTimeout(() => fail(`the whole run took longer than ${TOTAL_MS} ms`), TOTAL_MS).unref();
process.on("unhandledRejection", (e) => fail(e && e.stack ? e.stack : String(e)));

// Resolves with the first argument of the next `event` on `socket` that
// `accept` takes, or fails after STEP_MS.
function next(socket, event, accept = () => true) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => fail(`no ${event} within ${STEP_MS} ms`), STEP_MS);
    const listener = (payload) => {
      if (!accept(payload)) {
        return;
      }
      clearTimeout(timer);
      socket.off(event, listener);
      resolve(payload);
    };
    socket.on(event, listener);
  });
}

// The answer to the request just emitted on `event`: `success` resolves,
// `error` fails, and so does silence after STEP_MS.
function request(socket, event) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => fail(`no answer to ${event} within ${STEP_MS} ms`), STEP_MS);
    const done = () => {
      clearTimeout(timer);
      socket.off("success", ok);
      socket.off("error", ko);
    };
    const ok = (payload) => {
      done();
      resolve(payload);
    };
    const ko = (reason) => {
      done();
      fail(`${event} was answered on error: ${JSON.stringify(reason)}`);
    };
    socket.on("success", ok);
    socket.on("error", ko);
  });
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

const open = {
  4: () => require("sio4").io(url, OPTIONS),
  2: () => require("sio2")(url, OPTIONS),
}[version];

async function connected(socket) {
  if (socket.connected) {
    return;
  }
  const failed = new Promise((resolve) => socket.once("connect_error", (e) => resolve(e || new Error("connect_error"))));
  const outcome = await Promise.race([next(socket, "connect"), failed]);
  if (outcome instanceof Error) {
    fail(`connect_error ${outcome.message}`);
  }
}

async function scenario() {
  const a = open();
  const b = open();
  await check("connect", async () => {
    await connected(a);
    await connected(b);
  });
  for (const [socket, token, who] of [[a, tokenA, "A"], [b, tokenB, "B"]]) {
    await check(`authenticate ${who}`, async () => {
      const answer = request(socket, "authenticate");
      socket.emit("authenticate", { token });
      await answer;
    });
    await check(`join_conversation ${who}`, async () => {
      const answer = request(socket, "join_conversation");
      socket.emit("join_conversation", { conversation_id: conversationId });
      await answer;
    });
  }
  await check("message", async () => {
    const text = `hello from socket.io-client ${version}`;
    const received = next(b, "message", (m) => m && m.conversation_id === conversationId);
    const answer = request(a, "message");
    a.emit("message", { conversation_id: conversationId, text_message: text });
    await answer;
    const m = await received;
    if (m.status !== "done" || !m.message || m.message.text !== text || !m.sender) {
      fail(`the message B received: ${JSON.stringify(m)}`);
    }
  });
  await check("writing", async () => {
    const received = next(b, "writing");
    a.emit("writing", { conversation_id: conversationId, is_writing: true });
    const w = await received;
    if (w.conversation_id !== conversationId || w.device !== false || w.user !== emailA || w.is_writing !== true) {
      fail(`the writing notice B received: ${JSON.stringify(w)}`);
    }
  });
  if (mode === "upgrade" && a.io.engine.transport.name !== "websocket") {
    await check("upgrade", () => next(a.io.engine, "upgrade"));
  }
  a.close();
  b.close();
}

scenario().then(
  () => {
    console.log(`ok all (socket.io-client ${version}, ${mode})`);
    process.exit(0);
  },
  (e) => fail(e && e.stack ? e.stack : String(e)),
);
