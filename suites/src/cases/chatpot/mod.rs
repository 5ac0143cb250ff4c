//! The `chatpot.*` suite: the Chatpot Socket.IO node (`000_407d4ff0bcbdf81c.txt`) — node discovery, `postinit_req` and its `server_error`s, `message` events to the members of a room — and what the deployed server did (`specs/README.md`, "Chatpot, as deployed").
//!
//! Case ids: `chatpot.status.*` are plain HTTP; the others come as
//! `chatpot.v3.*` (Engine.IO 3 over long-polling, what the deployed node
//! and its socket.io-client 2 spoke) and `chatpot.v4.*` (Engine.IO 4 over
//! WebSocket). Every case makes its own members and rooms through the
//! target's triggers (`[chatpot.triggers]`), so cases run in parallel; a
//! trigger the target lacks makes a case `unimplemented`. "Nobody else
//! gets it" is checked after a positive marker: a later message the
//! outsider must get arrives first, or the outsider stays silent after a
//! member already got the message. One file per area: `status` (§SocketIO
//! 노드 연결), `postinit` (§SIGNAL: postinit_req, §SIGNAL: server_error,
//! `health_req`), `message` (§SIGNAL: message).

use protocols::Protocol;

/// The protocol of this suite.
pub const PROTOCOL: Protocol = Protocol::Chatpot;

/// The variants of this suite's cases: `v3` and `v4`, the Engine.IO
/// version the case speaks (see `case!`).
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

mod helpers;
mod message;
mod postinit;
mod status;
