//! socket.io-client 4.8 and 2.x (npm, `peers/clients/node/client.js`) against the embedded echo app.

use super::{node_script, run_script, Transport};

/// `node client.js VERSION URL TRANSPORT` for socket.io-client `version` (4 or 2).
async fn run(version: &str, transport: Transport) {
    run_script(
        &format!("socket.io-client {version}"),
        transport,
        node_script("client.js", version),
    )
    .await;
}

/// socket.io-client 4.8.
mod sio4 {
    per_transport!(|t| super::run("4", t));
}

/// socket.io-client 2.x (Engine.IO 3).
mod sio2 {
    per_transport!(|t| super::run("2", t));
}
