// The Node socket.io 4.8 peer of the reference server's echo app: the same
// behaviour, the same timings (the "test profile" Socket.IO's own protocol
// test suites require), Engine.IO 3 clients accepted too; and the reference
// server's room events (`join`, `leave`, `room-message`, see
// reference-server/README.md), for the room fan-out bench.
//
// Usage: node server.js [PORT]   (or PORT=... node server.js; default 3000)
"use strict";

const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.argv[2] || process.env.PORT || 3000);
const host = process.env.HOST || "127.0.0.1";

const io = new Server({
  // PING_INTERVAL / PING_TIMEOUT (ms) override the test profile, e.g. the
  // documented defaults (25000 / 20000) for the idle-memory bench.
  pingInterval: Number(process.env.PING_INTERVAL || 300),
  pingTimeout: Number(process.env.PING_TIMEOUT || 200),
  maxPayload: 1000000,
  connectTimeout: 1000,
  allowEIO3: true,
  cors: { origin: "*" },
});

function onConnection(socket) {
  socket.emit("auth", socket.handshake.auth);

  socket.on("message", (...args) => {
    socket.emit("message-back", ...args);
  });

  socket.on("message-with-ack", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") {
      ack(...args);
    }
  });

  // Rooms: each event acknowledged with true, or false when its argument
  // is not what it takes; room-message reaches every member, the sender too.
  socket.on("join", (...args) => {
    const room = args[0];
    const ok = typeof room === "string";
    if (ok) socket.join(room);
    answer(args, ok);
  });

  socket.on("leave", (...args) => {
    const room = args[0];
    const ok = typeof room === "string";
    if (ok) socket.leave(room);
    answer(args, ok);
  });

  socket.on("room-message", (...args) => {
    const message = args[0];
    const ok =
      message !== null &&
      typeof message === "object" &&
      !Array.isArray(message) &&
      typeof message.room === "string";
    if (ok) socket.nsp.to(message.room).emit("room-message", message);
    answer(args, ok);
  });
}

// Calls the acknowledgement callback, the last argument, when there is one.
function answer(args, ok) {
  const ack = args[args.length - 1];
  if (typeof ack === "function") ack(ok);
}

io.on("connection", onConnection);
io.of("/custom").on("connection", onConnection);

const httpServer = http.createServer();
io.attach(httpServer);
httpServer.listen(port, host, () => {
  const { address, port: bound } = httpServer.address();
  console.log(`socket.io ${require("socket.io/package.json").version} echo listening on ${address}:${bound}`);
});

function shutdown() {
  io.close(() => process.exit(0));
}
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
