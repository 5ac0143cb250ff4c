//! The `sockets.*` suite: the "Sockets" memo (`001_13ce220237596520.txt`)
//! over Socket.IO: `register` and its answer, `message` to everyone in the
//! room with the sender's registered name, the join and leave notices from
//! `Server`, who receives each broadcast and who must not, and every
//! refusal, over Engine.IO 3 and 4.
//!
//! Case ids: `sockets.v4.*` speak Engine.IO 4 (Socket.IO v5 packets);
//! `sockets.v3.*` Engine.IO 3 (Socket.IO v4 packets). The memo's words are
//! MUST; what it implies (a name that cannot be told apart from the
//! server's, a message from nobody) SHOULD; the reference server's choices
//! where it is silent (the username limit, how a refused message is
//! answered) INFO.

use protocols::Protocol;

/// The protocol of this suite.
pub const PROTOCOL: Protocol = Protocol::Sockets;

// The variants are the transport suite's: `v3` and `v4`, the Engine.IO version.
pub(crate) use super::socketio::variant;

mod connection;
mod disconnect;
mod helpers;
mod message;
mod register;
