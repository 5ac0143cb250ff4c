// The Node socket.io 4.8 peer of the reference server's echo app: the same
// behaviour, the same timings (the "test profile" Socket.IO's own protocol
// test suites require), Engine.IO 3 clients accepted too.
//
// Usage: node server.js [PORT]   (or PORT=... node server.js; default 3000)
"use strict";

const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.argv[2] || process.env.PORT || 3000);
const host = process.env.HOST || "127.0.0.1";

const io = new Server({
  pingInterval: 300,
  pingTimeout: 200,
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
