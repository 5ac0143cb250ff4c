// A stock Node socket.io client (4.8 or 2.x, the npm aliases `sio4` and
// `sio2`) logging in to a Chatpot node and chatting: members and a room are
// made through the node's admin API, two members connect, an unknown token
// is refused with server_error, both present their tokens (postinit_req →
// postinit_res), a message sent as one of them through the admin API reaches
// both with the documented payload, and health_req is answered. It prints
// `ok <step>` for every step and exits 1 with `FAIL <step>: <what differed>`
// on the first one that does not hold; every wait is bounded.
//
// Usage: node chatpot.js <4|2> <NODE_URL> <websocket|polling|upgrade> <ADMIN_URL> <ADMIN_SECRET>
//   ADMIN_URL is the admin API's chatpot routes, e.g. http://127.0.0.1:12380/chatpot
"use strict";

const STEP_MS = 5000;
const TOTAL_MS = 30000;

const [version, url, mode, admin, secret] = process.argv.slice(2);
const TRANSPORTS = {
  websocket: ["websocket"],
  polling: ["polling"],
  upgrade: ["polling", "websocket"],
};
if (!["4", "2"].includes(version) || !url || !TRANSPORTS[mode] || !admin || !secret) {
  console.error(
    "usage: node chatpot.js <4|2> <NODE_URL> <websocket|polling|upgrade> <ADMIN_URL> <ADMIN_SECRET>",
  );
  process.exit(2);
}

let step = "start";
function fail(why) {
  console.error(`FAIL ${step}: ${why} (socket.io-client ${version}, ${mode})`);
  process.exit(1);
}
setTimeout(() => fail(`the whole run took longer than ${TOTAL_MS} ms`), TOTAL_MS).unref();
process.on("unhandledRejection", (e) => fail(e && e.stack ? e.stack : String(e)));

async function check(name, body) {
  step = name;
  await body();
  console.log(`ok ${name}`);
}

// Resolves with the first argument of the next `event` on `socket`, or fails after STEP_MS.
function next(socket, event) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => fail(`no ${event} within ${STEP_MS} ms`), STEP_MS);
    socket.once(event, (payload) => {
      clearTimeout(timer);
      resolve(payload);
    });
  });
}

// One admin API request; the JSON answer (or null for 204).
async function api(method, path, body) {
  const response = await fetch(`${admin}${path}`, {
    method,
    headers: { Authorization: `Bearer ${secret}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    fail(`${method} ${path} answered HTTP ${response.status}: ${await response.text()}`);
  }
  return response.status === 204 ? null : response.json();
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

async function connected(socket) {
  if (!socket.connected) {
    await next(socket, "connect");
  }
}

function expect(what, ok, got) {
  if (!ok) {
    fail(`${what}: ${JSON.stringify(got)}`);
  }
}

async function scenario() {
  let room;
  let alice;
  let bob;
  await check("provision", async () => {
    room = (await api("POST", "/rooms", {})).token;
    alice = (await api("POST", "/members", {})).token;
    bob = (await api("POST", "/members", {})).token;
    await api("PUT", `/rooms/${room}/members/${alice}`);
    await api("PUT", `/rooms/${room}/members/${bob}`);
  });
  const a = open();
  const b = open();
  await check("connect", async () => {
    await connected(a);
    await connected(b);
  });
  await check("unknown token", async () => {
    const error = next(b, "server_error");
    b.emit("postinit_req", { token: "0".repeat(48) });
    const got = await error;
    expect(
      "server_error",
      got && got.code === "INVALID_PARAM" && /invalid member_token/.test(got.message),
      got,
    );
  });
  await check("postinit", async () => {
    for (const [socket, token] of [
      [a, alice],
      [b, bob],
    ]) {
      const answer = next(socket, "postinit_res");
      socket.emit("postinit_req", { token });
      const got = await answer;
      expect("postinit_res", got && got.success === true, got);
    }
  });
  if (mode === "upgrade") {
    await check("upgrade", async () => {
      for (const socket of [a, b]) {
        if (socket.io.engine.transport.name !== "websocket") {
          await next(socket.io.engine, "upgrade");
        }
      }
    });
  }
  await check("message", async () => {
    const content = "호옹";
    const got = [next(a, "message"), next(b, "message")];
    await api("POST", `/rooms/${room}/messages`, { from: alice, content });
    for (const m of await Promise.all(got)) {
      expect(
        "message",
        m &&
          /^[0-9a-f]{32}$/.test(m.message_id) &&
          m.type === "TEXT" &&
          m.from.token === alice &&
          typeof m.from.nick.ko === "string" &&
          m.to.type === "ROOM" &&
          m.to.token === room &&
          m.content === content &&
          Number.isInteger(m.sent_time),
        m,
      );
    }
  });
  await check("health", async () => {
    const answer = next(a, "health_res");
    a.emit("health_req", {});
    await answer;
  });
  step = "transport";
  const want = mode === "polling" ? "polling" : "websocket";
  for (const socket of [a, b]) {
    if (socket.io.engine.transport.name !== want) {
      fail(`the client is on ${socket.io.engine.transport.name}, expected ${want}`);
    }
    socket.io.engine.close();
  }
}

scenario().then(
  () => {
    console.log(`ok all (socket.io-client ${version}, ${mode})`);
    process.exit(0);
  },
  (e) => fail(e && e.stack ? e.stack : String(e)),
);
