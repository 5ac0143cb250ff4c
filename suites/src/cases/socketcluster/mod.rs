//! The `socketcluster.*` suite: SocketCluster protocol V1
//! (`002_57bad640c3a657d6.txt`) over a raw WebSocket: the event layer as the
//! document writes it (MUST), and the pub/sub and authentication layers it
//! names, as socketcluster-server / -client implement them (SHOULD: a server
//! without them gets `unimplemented`); the reference server's own choices
//! (limits, the answer to an unknown event) are INFO.
//!
//! The cases speak the protocol version of the target's `url`
//! (`protocol_version`) and call its procedures by the names its section
//! gives (`echo`, `slow-echo`, `fail`, `login` on the reference server).
//! The cases whose wire differs between protocol 1 and 2 (the pings and
//! pongs, and the handshake that starts them) come in both versions,
//! `socketcluster.v1.*` and `socketcluster.v2.*`, each run at the target's
//! endpoint of that version (`url`, `v1_url`, `v2_url`) or `unimplemented`.

use protocols::Protocol;

/// The protocol of this suite.
pub const PROTOCOL: Protocol = Protocol::Socketcluster;

/// The protocol versions, for `case!` (see `cases/mod.rs`).
macro_rules! variant {
    (v1) => {
        protocols::socketcluster::ProtocolVersion::V1
    };
    (v2) => {
        protocols::socketcluster::ProtocolVersion::V2
    };
    (@pick v1, { v1: $x:tt, v2: $_:tt $(,)? }) => {
        $x
    };
    (@pick v2, { v1: $_:tt, v2: $x:tt $(,)? }) => {
        $x
    };
    (@pick $v:ident, $x:tt) => {
        $x
    };
}
pub(crate) use variant;

mod auth;
mod event;
mod handshake;
mod helpers;
mod limits;
mod ping;
mod pubsub;
