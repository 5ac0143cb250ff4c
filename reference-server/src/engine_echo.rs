//! The Engine.IO echo at `/engine.io/` that the engine.io-protocol test suite expects: every message is sent back.

use std::sync::Arc;

use bytes::Bytes;
use engineioxide::{
    config::EngineIoConfig, handler::EngineIoHandler, service::EngineIoService, DisconnectReason,
    Socket, Str,
};

use crate::config::Profile;

/// The Engine.IO echo service, with the timings of `profile`.
pub(crate) fn service(profile: Profile) -> EngineIoService<EngineEcho> {
    let config = EngineIoConfig::builder()
        .req_path("/engine.io")
        .ping_interval(profile.ping_interval())
        .ping_timeout(profile.ping_timeout())
        .max_payload(profile.max_payload)
        .build();
    EngineIoService::with_config(Arc::new(EngineEcho), config)
}

/// Sends every text and binary message back on the session it came from.
#[derive(Debug)]
pub(crate) struct EngineEcho;

impl EngineIoHandler for EngineEcho {
    type Data = ();

    fn on_connect(self: Arc<Self>, socket: Arc<Socket<()>>) {
        tracing::debug!(sid = %socket.id, "engine echo: connected");
    }

    fn on_disconnect(&self, socket: Arc<Socket<()>>, reason: DisconnectReason) {
        tracing::debug!(sid = %socket.id, ?reason, "engine echo: disconnected");
    }

    fn on_message(&self, msg: Str, socket: Arc<Socket<()>>) {
        socket.emit(msg).ok();
    }

    fn on_binary(&self, data: Bytes, socket: Arc<Socket<()>>) {
        socket.emit_binary(data).ok();
    }
}
