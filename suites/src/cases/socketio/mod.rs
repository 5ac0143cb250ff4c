//! The `socketio.*` suite: the Engine.IO (v3, v4) and Socket.IO (v4, v5)
//! transport that Chatpot, Sockets and Circles ride on, checked against a
//! server running the echo application of Socket.IO's own protocol test
//! suites (`specs/README.md`, "Socket.IO's own protocol test suites").
//!
//! Case ids: `socketio.v4.*` speak Engine.IO 4 (Socket.IO v5 packets);
//! `socketio.v3.*` speak Engine.IO 3 (Socket.IO v4 packets, or v5 packets
//! where a modern server with Engine.IO 3 enabled sends those).
//!
//! Every case is declared with `case!` beside its body, one declaration
//! for the v3 and the v4 case; refusal-style cases that share a body are
//! rows of a `table!`.

use protocols::Protocol;

/// The protocol of this suite.
pub const PROTOCOL: Protocol = Protocol::Socketio;

/// The variants of this suite's cases: `v3` and `v4`, the Engine.IO version
/// the case speaks (see `case!`).
macro_rules! variant {
    (v3) => {
        protocols::engineio::EioVersion::V3
    };
    (v4) => {
        protocols::engineio::EioVersion::V4
    };
    (@pick v3, { v3: $x:tt, v4: $_:tt $(,)? }) => {
        $x
    };
    (@pick v4, { v3: $_:tt, v4: $x:tt $(,)? }) => {
        $x
    };
    (@pick $v:ident, $x:tt) => {
        $x
    };
}
pub(crate) use variant;

mod event;
mod handshake;
mod heartbeat;
mod helpers;
mod namespace;
mod parser;
mod polling;
mod room;
mod upgrade;
