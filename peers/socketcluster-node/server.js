// The socketcluster-server 20 peer of the reference server's socketcluster
// listeners: protocol version 1 (the document's `#1`/`#2`) on PORT and, like
// the reference server's socketcluster-v2 listener, the same application in
// protocol version 2 (empty-string ping and pong) on V2_PORT; the same
// procedures (`echo`, `slow-echo`, `fail`, `login`), channels under
// `private/` that require authentication, and the reference server's test
// timings (ping every 300 ms, pingTimeout 1 s, handshake timeout 800 ms: shorter than pingTimeout, so a
// silent connection meets the handshake timeout first). PING_INTERVAL_MS and
// PING_TIMEOUT_MS override the two heartbeat timings (the benches run
// socketcluster-server's defaults, 8000 and 20000, as `chatspec serve` does).
//
// Usage: node server.js [PORT [V2_PORT]]   (or PORT=... V2_PORT=... node server.js;
//        default 8000 and 8001; 0 picks a free port)
// Prints "socketcluster-server <version> listening on HOST:PORT" for protocol 1
// and "socketcluster-server <version> protocol 2 on HOST:PORT" for protocol 2.
// Tokens are signed with CHATSPEC_JWT_SECRET, or the reference server's
// public development secret.
"use strict";

const http = require("http");
const socketClusterServer = require("socketcluster-server");

const port = Number(process.argv[2] || process.env.PORT || 8000);
const v2Port = Number(process.argv[3] || process.env.V2_PORT || 8001);
const host = process.env.HOST || "127.0.0.1";
const secret =
  process.env.CHATSPEC_JWT_SECRET || "chatspec-development-secret-do-not-use-in-production";
const version = require("socketcluster-server/package.json").version;

function named(name, message) {
  const error = new Error(message);
  error.name = name;
  return error;
}

// One socketcluster-server speaking `protocolVersion` on `listenPort`.
function start(protocolVersion, listenPort, label) {
  const httpServer = http.createServer();
  const agServer = socketClusterServer.attach(httpServer, {
    protocolVersion,
    path: "/socketcluster/",
    pingInterval: Number(process.env.PING_INTERVAL_MS || 300),
    pingTimeout: Number(process.env.PING_TIMEOUT_MS || 1000),
    handshakeTimeout: 800,
    authKey: secret,
    authAlgorithm: "HS256",
  });

  agServer.setMiddleware(agServer.MIDDLEWARE_INBOUND, async (stream) => {
    for await (const action of stream) {
      if (
        action.type === action.SUBSCRIBE &&
        typeof action.channel === "string" &&
        action.channel.startsWith("private/") &&
        !action.socket.authToken
      ) {
        action.block(named("AuthError", `channel ${action.channel} requires an authenticated socket`));
        continue;
      }
      action.allow();
    }
  });

  function serve(socket, name, handle) {
    (async () => {
      for await (const request of socket.procedure(name)) {
        handle(request);
      }
    })();
  }

  (async () => {
    for await (const { socket } of agServer.listener("connection")) {
      serve(socket, "echo", (request) => request.end(request.data));
      serve(socket, "slow-echo", (request) => {
        const { delay_ms: delay, data } = request.data || {};
        setTimeout(() => request.end(data), Number(delay) || 0);
      });
      serve(socket, "fail", (request) => request.error(named("FailError", "fail always fails")));
      serve(socket, "login", async (request) => {
        const user = request.data && request.data.user;
        if (typeof user !== "string" || user === "") {
          request.error(named("InvalidArgumentsError", "login takes {user}"));
          return;
        }
        await socket.setAuthToken({ user });
        request.end();
      });
    }
  })();

  httpServer.listen(listenPort, host, () => {
    const { address, port: bound } = httpServer.address();
    console.log(`socketcluster-server ${version} ${label} ${address}:${bound}`);
  });
  return { agServer, httpServer };
}

const servers = [start(1, port, "listening on"), start(2, v2Port, "protocol 2 on")];

function shutdown() {
  let open = servers.length;
  for (const { agServer, httpServer } of servers) {
    agServer.close();
    httpServer.close(() => {
      open -= 1;
      if (open === 0) process.exit(0);
    });
  }
}
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
