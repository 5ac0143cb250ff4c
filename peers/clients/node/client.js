// A stock Node socket.io client (4.8 or 2.x, installed under the npm aliases
// `sio4` and `sio2`) run against a server of the echo app: text, acks and
// binary both ways on `/` and `/custom`, and the connect error of an unknown
// namespace. It prints `ok <step>` for every step and exits 1 with
// `FAIL <step>: <what differed>` on the first one that does not hold; every
// wait is bounded.
//
// Usage: node client.js <4|2> <URL> <websocket|polling|upgrade>
//   websocket  WebSocket only
//   polling    HTTP long-polling only (the client keeps a poll pending)
//   upgrade    long-polling, then the upgrade to WebSocket
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
  console.error("usage: node client.js <4|2> <URL> <websocket|polling|upgrade>");
  process.exit(2);
}

let step = "start";
function fail(why) {
  console.error(`FAIL ${step}: ${why} (socket.io-client ${version}, ${mode})`);
  process.exit(1);
}
setTimeout(() => fail(`the whole run took longer than ${TOTAL_MS} ms`), TOTAL_MS).unref();
process.on("unhandledRejection", (e) => fail(e && e.stack ? e.stack : String(e)));

// Binary values (Buffer, ArrayBuffer, typed arrays) as plain data, so that
// what came back compares with what was sent whatever type the client gives.
function plain(value) {
  if (value instanceof ArrayBuffer) {
    return { binary: Array.from(new Uint8Array(value)) };
  }
  if (ArrayBuffer.isView(value)) {
    return { binary: Array.from(new Uint8Array(value.buffer, value.byteOffset, value.byteLength)) };
  }
  if (Array.isArray(value)) {
    return value.map(plain);
  }
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

function show(value) {
  return JSON.stringify(plain(value));
}

function expectEqual(what, got, want) {
  if (!util.isDeepStrictEqual(plain(got), plain(want))) {
    fail(`${what}: got ${show(got)}, expected ${show(want)}`);
  }
}

// Resolves with the arguments of the next `event` on `emitter`, or fails
// after STEP_MS.
function next(emitter, event) {
  return new Promise((resolve) => {
    const timer = setTimeout(
      () => fail(`no ${event} within ${STEP_MS} ms`),
      STEP_MS,
    );
    emitter.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

// Emits `event` with `args` and an ack callback: the ack's arguments, or a
// failure after STEP_MS.
function emitWithAck(socket, event, ...args) {
  return new Promise((resolve) => {
    const timer = setTimeout(
      () => fail(`no acknowledgement of ${event} within ${STEP_MS} ms`),
      STEP_MS,
    );
    socket.emit(event, ...args, (...answer) => {
      clearTimeout(timer);
      resolve(answer);
    });
  });
}

async function check(name, body) {
  step = name;
  await body();
  console.log(`ok ${name}`);
}

// The socket's Engine.IO transport: `websocket` or `polling`.
function transportOf(socket) {
  return socket.io.engine.transport.name;
}

// Connects `socket` (already created, so that no event is missed) and checks
// the `auth` event the echo app emits on connect.
async function connected(socket, expectedAuth) {
  const auth = next(socket, "auth");
  if (!socket.connected) {
    const failed = new Promise((resolve) =>
      socket.once("connect_error", (e) => resolve(e)),
    );
    const outcome = await Promise.race([next(socket, "connect"), failed]);
    if (outcome instanceof Error) {
      fail(`connect_error ${outcome.message}`);
    }
  }
  const [got] = await auth;
  expectEqual("the auth event", got, expectedAuth);
}

async function roundTrips(socket, label) {
  await check(`${label} text message`, async () => {
    const sent = ["hello", 42, { nested: [1, "two", null, true] }];
    const back = next(socket, "message-back");
    socket.emit("message", ...sent);
    expectEqual("message-back", await back, sent);
  });
  await check(`${label} text ack`, async () => {
    const sent = ["ack me", 7, { k: "v" }];
    expectEqual("the acknowledgement", await emitWithAck(socket, "message-with-ack", ...sent), sent);
  });
  await check(`${label} binary message`, async () => {
    const sent = [Buffer.from([1, 2, 3, 255]), "beside", { inner: Buffer.from([0, 9]) }];
    const back = next(socket, "message-back");
    socket.emit("message", ...sent);
    expectEqual("message-back", await back, sent);
  });
  await check(`${label} binary ack`, async () => {
    const sent = [{ data: Buffer.from([4, 5, 6]) }, Buffer.from("bytes")];
    expectEqual("the acknowledgement", await emitWithAck(socket, "message-with-ack", ...sent), sent);
  });
}

const OPTIONS = {
  transports: TRANSPORTS[mode],
  upgrade: mode === "upgrade",
  reconnection: false,
  forceNew: true,
  timeout: STEP_MS,
};

// What differs between the two clients.
const CLIENTS = {
  // socket.io-client 4: `auth` objects, `connect_error` with an Error.
  4: {
    open: () => require("sio4").io(url, { ...OPTIONS, auth: { token: "stock-4" } }),
    custom: (main) => main.io.socket("/custom", { auth: { ns: "custom" } }),
    auth: { "/": { token: "stock-4" }, "/custom": { ns: "custom" } },
    errorEvent: "connect_error",
    messageOf: (error) => error && error.message,
  },
  // socket.io-client 2: the default namespace is joined without a CONNECT,
  // no auth (the echo app emits `{}`), an unknown namespace's error arrives
  // as an `error` event. Socket.IO protocol v4 gives ERROR a string payload,
  // as socket.io 2 servers send it; Node socket.io 4.8 sends Engine.IO 3
  // clients v5's object. Either is what the client hands to `error`.
  2: {
    open: () => require("sio2")(url, OPTIONS),
    custom: (main) => main.io.socket("/custom"),
    auth: { "/": {}, "/custom": {} },
    errorEvent: "error",
    messageOf: (error) => (typeof error === "string" ? error : error && error.message),
  },
};

async function scenario(client) {
  const main = client.open();
  await check("connect /", () => connected(main, client.auth["/"]));
  await afterConnect(main, "/");

  // The manager's autoConnect opens it; the same Engine.IO session carries it.
  const custom = client.custom(main);
  await check("connect /custom", () => connected(custom, client.auth["/custom"]));
  await roundTrips(custom, "/custom");

  await check("unknown namespace", async () => {
    const unknown = main.io.socket("/unknown");
    const connectedAnyway = new Promise((resolve) => unknown.once("connect", () => resolve(null)));
    const error = await Promise.race([next(unknown, client.errorEvent), connectedAnyway]);
    if (error === null) {
      fail(`connected to /unknown; expected ${client.errorEvent}`);
    }
    expectEqual(`the ${client.errorEvent} ${show(error[0])}`, client.messageOf(error[0]), "Invalid namespace");
  });
  await roundTrips(main, "/ after the connect error");
  checkTransport(main);
  main.io.engine.close();
}

// The transport the mode asks for, after the upgrade for `upgrade`.
function checkTransport(socket) {
  step = "transport";
  const want = mode === "polling" ? "polling" : "websocket";
  if (transportOf(socket) !== want) {
    fail(`the client is on ${transportOf(socket)}, expected ${want}`);
  }
}

// Round trips on `/`: for `upgrade`, one text message right away (over
// polling or during the upgrade), then the upgrade, then the rest.
async function afterConnect(socket, label) {
  if (mode === "upgrade") {
    await check(`${label} text message before the upgrade`, async () => {
      const back = next(socket, "message-back");
      socket.emit("message", "early");
      expectEqual("message-back", await back, ["early"]);
    });
    await check("upgrade", async () => {
      if (transportOf(socket) !== "websocket") {
        await next(socket.io.engine, "upgrade");
      }
    });
  }
  checkTransport(socket);
  await roundTrips(socket, label);
}

scenario(CLIENTS[version]).then(
  () => {
    console.log(`ok all (socket.io-client ${version}, ${mode})`);
    process.exit(0);
  },
  (e) => fail(e && e.stack ? e.stack : String(e)),
);
