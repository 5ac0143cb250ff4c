// Drives a SocketCluster server with socketcluster-client 20 (protocol
// version 1, or the one given), as the reference server's interop test does: connect, invoke
// with an answer and with an error, transmit, subscribe and receive another
// client's invokePublish, a login that ends with the client authenticated
// (its authToken carrying the user), unsubscribe, and a clean disconnect.
//
// Usage: node interop.js ws://HOST:PORT/socketcluster/ [PROTOCOL_VERSION]
// Prints one line per step; exits 0 when every step did what it should.
"use strict";

const assert = require("assert");
const socketClusterClient = require("socketcluster-client");

const url = new URL(process.argv[2] || "ws://127.0.0.1:8000/socketcluster/");
const protocolVersion = Number(process.argv[3] || 1);

function client() {
  const socket = socketClusterClient.create({
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    protocolVersion,
    autoReconnect: false,
    ackTimeout: 3000,
  });
  (async () => {
    for await (const { error } of socket.listener("error")) {
      console.log(`client error: ${error.name}: ${error.message}`);
    }
  })();
  return socket;
}

function within(promise, ms, what) {
  return Promise.race([
    promise,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms)),
  ]);
}

async function main() {
  const a = client();
  const b = client();
  await within(Promise.all([a.listener("connect").once(), b.listener("connect").once()]), 3000, "connect");
  console.log("connected");

  assert.deepStrictEqual(await a.invoke("echo", { hello: [1, 2] }), { hello: [1, 2] });
  console.log("invoke answered");
  await assert.rejects(a.invoke("fail", {}), (e) => e.name === "FailError" && typeof e.message === "string");
  console.log("invoke failed with FailError");
  a.transmit("echo", "no answer expected");
  assert.strictEqual(await a.invoke("echo", "after transmit"), "after transmit");
  console.log("transmit");

  const channel = b.subscribe("interop/room");
  await within(channel.listener("subscribe").once(), 3000, "subscription");
  const received = within(channel.once(), 3000, "publication");
  await a.invokePublish("interop/room", { from: "a" });
  assert.deepStrictEqual(await received, { from: "a" });
  console.log("publication received");

  const authenticated = within(a.listener("authenticate").once(), 3000, "authenticate event");
  await a.invoke("login", { user: "alice" });
  await authenticated;
  assert.strictEqual(a.authState, "authenticated");
  assert.strictEqual(a.authToken && a.authToken.user, "alice");
  console.log("login authenticated alice");

  const left = within(channel.listener("unsubscribe").once(), 3000, "unsubscribe");
  b.unsubscribe("interop/room");
  await left;
  assert.strictEqual(b.isSubscribed("interop/room"), false);
  console.log("unsubscribed");

  const gone = within(a.listener("disconnect").once(), 3000, "disconnect");
  a.disconnect();
  const { code } = await gone;
  assert.strictEqual(code, 1000);
  b.disconnect();
  console.log("disconnected cleanly");
}

main().then(
  () => process.exit(0),
  (e) => {
    console.log(`interop failed: ${e.stack || e}`);
    process.exit(1);
  },
);
