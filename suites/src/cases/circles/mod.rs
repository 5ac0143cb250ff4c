//! The `circles.*` suite: the Circles app (`003_415bfb4e4fd8fc5e.txt`) over Socket.IO: `authenticate` and the `error` / `success` answers of every listened channel, circles and conversations, `message`, `writing` and `media`, WebRTC, and the event tables, each with who must receive it and who must not.
//!
//! Case ids: `circles.v3.*` speak Engine.IO 3 (what the deployed
//! Flask-SocketIO 3.x server spoke), `circles.v4.*` Engine.IO 4. Users,
//! circles, conversations and devices come from the target's provisioning
//! triggers, and the event tables' actions from its other triggers (the
//! server's own REST API): a case whose trigger the target lacks is
//! `unimplemented`. "Nobody else gets it" is checked after a positive
//! marker: an event the outsider must get, after which the one it must
//! not get can no longer be on its way.

use protocols::Protocol;

/// The protocol of this suite.
pub const PROTOCOL: Protocol = Protocol::Circles;

/// The variants of this suite's cases: `v3` and `v4`, the Engine.IO version
/// the case speaks (see `case!`).
macro_rules! variant {
    (v3) => {
        protocols::engineio::EioVersion::V3
    };
    (v4) => {
        protocols::engineio::EioVersion::V4
    };
    (@pick $v:ident, $x:tt) => {
        $x
    };
}
pub(crate) use variant;

mod auth;
mod events;
mod helpers;
mod messages;
mod rooms;
mod webrtc;
