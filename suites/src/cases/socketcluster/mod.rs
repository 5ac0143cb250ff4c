//! The `socketcluster.*` suite: SocketCluster protocol V1
//! (`002_57bad640c3a657d6.txt`) over a raw WebSocket: the event layer as the
//! document writes it (MUST), and the pub/sub and authentication layers it
//! names, as socketcluster-server / -client implement them (SHOULD: a server
//! without them gets `unimplemented`); the reference server's own choices
//! (limits, the answer to an unknown event) are INFO.
//!
//! The cases speak the protocol version of the target (`protocol_version`)
//! and call its procedures by the names its section gives (`echo`,
//! `slow-echo`, `fail`, `login` on the reference server).

use protocols::Protocol;

/// The protocol of this suite.
pub const PROTOCOL: Protocol = Protocol::Socketcluster;

mod auth;
mod event;
mod handshake;
mod helpers;
mod limits;
mod ping;
mod pubsub;
