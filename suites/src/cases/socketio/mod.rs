//! The `socketio.*` suite: the Engine.IO (v3, v4) and Socket.IO (v4, v5)
//! transport that Chatpot, Sockets and Circles ride on, checked against a
//! server running the echo application of Socket.IO's own protocol test
//! suites (`specs/README.md`, "Socket.IO's own protocol test suites").
//!
//! Case ids: `socketio.v4.*` speak Engine.IO 4 (Socket.IO v5 packets);
//! `socketio.v3.*` speak Engine.IO 3 (Socket.IO v4 packets, or v5 packets
//! where a modern server with Engine.IO 3 enabled sends those).
//!
//! Every case is declared with [`case!`] beside its body, one declaration
//! for both versions; refusal-style cases that share a body are rows of a
//! [`table!`].

use linkme::distributed_slice;

use crate::case::Case;

/// Every `socketio.*` case, registered by [`case!`].
#[distributed_slice]
pub static CASES: [Case];

/// Declares a case of this suite beside its body, once for every Engine.IO
/// version it runs on.
///
/// ```text
/// case! {
///     name: "handshake.bad-eio-400",                    // the id without `socketio.vN.`
///     level: { v3: Info, v4: Must },                    // or one level for every version
///     spec: { v3: "engine.io-protocol v3 §URLs", v4: "engine.io-protocol v4 §Query parameters" },
///     title: { v3: "...", v4: "..." },                  // or one title
///     run: bad_eio,                                     // async fn(Ctx, EioVersion) -> Outcome
/// }
/// ```
///
/// `spec` says which versions there are: `{ v4: "..." }` declares a v4 case
/// only, `{ v3 | v4: "..." }` both versions with the same section. `run` is
/// anything callable as `run(ctx, version)`, a closure included.
macro_rules! case {
    (
        name: $name:literal,
        level: $level:tt,
        spec: { $( $($v:ident)|+ : $spec:literal ),+ $(,)? },
        title: $title:tt,
        run: $run:expr $(,)?
    ) => {
        $( $( case!(@one $v, $name, $level, $spec, $title, $run); )+ )+
    };
    (@one $v:ident, $name:literal, $level:tt, $spec:literal, $title:tt, $run:expr) => {
        const _: () = {
            #[linkme::distributed_slice($crate::cases::socketio::CASES)]
            static CASE: $crate::case::Case = $crate::case::Case {
                id: concat!("socketio.", stringify!($v), ".", $name),
                protocol: protocols::Protocol::Socketio,
                level: case!(@level $v, $level),
                spec: $spec,
                title: case!(@pick $v, $title),
                run: |ctx| Box::pin(($run)(ctx, case!(@version $v))),
            };
        };
    };
    (@level v3, { v3: $l:ident, v4: $_:ident $(,)? }) => { $crate::case::Level::$l };
    (@level v4, { v3: $_:ident, v4: $l:ident $(,)? }) => { $crate::case::Level::$l };
    (@level $v:ident, $l:ident) => { $crate::case::Level::$l };
    (@pick v3, { v3: $x:literal, v4: $_:literal $(,)? }) => { $x };
    (@pick v4, { v3: $_:literal, v4: $x:literal $(,)? }) => { $x };
    (@pick $v:ident, $x:literal) => { $x };
    (@version v3) => { protocols::engineio::EioVersion::V3 };
    (@version v4) => { protocols::engineio::EioVersion::V4 };
}

/// Declares one case per row, all with the same body, level and sections;
/// each row gives the name, the title and the body's arguments after
/// `(ctx, version)`.
///
/// ```text
/// table! {
///     level: Must,
///     spec: { v3 | v4: "socket.io-protocol v5 §Test suite" },
///     run: malformed,
///     cases: [
///         ("malformed.unknown-packet-type", "A Socket.IO packet of unknown type ...", "abc", true),
///     ],
/// }
/// ```
macro_rules! table {
    (
        level: $level:tt,
        spec: $spec:tt,
        run: $run:path,
        cases: [ $( ($name:literal, $title:literal $(, $arg:expr)* $(,)?) ),+ $(,)? ] $(,)?
    ) => {
        $(
            case! {
                name: $name,
                level: $level,
                spec: $spec,
                title: $title,
                run: |ctx, v| $run(ctx, v $(, $arg)*),
            }
        )+
    };
}

mod event;
mod handshake;
mod heartbeat;
mod helpers;
mod namespace;
mod parser;
mod polling;
mod upgrade;
