//! The `assa.*` suite: the ASSA real-time server protocol
//! (`004_636ae579ed5d2364.txt`) over TCP, checked against any server the
//! `[assa]` target section describes (see `target/assa.rs`).
//!
//! Every case makes its own users and rooms, so cases run in parallel;
//! what the target lacks (no way to get users, no announcement trigger)
//! makes a case `unimplemented`. One file per area: `connection`
//! (§1, §2, §3, framing, errors), `room` (§4), `message` (§5), `invite`
//! (§6), `video` (§7), `system` (§8, §10), `limits` (the §10.1 limits
//! that fill a server, run at `[assa.limits]`).

use protocols::Protocol;

/// The protocol of this suite.
pub const PROTOCOL: Protocol = Protocol::Assa;

mod connection;
mod helpers;
mod invite;
mod limits;
mod message;
mod room;
mod system;
mod video;
