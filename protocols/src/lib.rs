//! Sans-IO codecs, message types and validators for every protocol chatspec checks.
//!
//! Architecture invariant: this crate does no IO. It never depends on tokio,
//! never opens a socket and never reads the clock; state machines take `now`
//! as an argument. Bytes come in as slices and go out as vectors.
//!
//! Every protocol module implements [`Dialect`]: decode one message, encode it
//! back, and validate a message against every rule of its document, returning
//! all [`Violation`]s rather than stopping at the first. The JSON codecs share
//! one validation kernel ([`rules`]: field paths, the field walker, the common
//! rules); [`Protocol`] is the registry that reaches every dialect by id.

pub mod assa;
pub mod chatpot;
pub mod circles;
pub mod engineio;
pub mod session;
pub mod socketcluster;
pub mod socketio;
pub mod sockets;

pub mod fuzzing;
pub mod rules;
pub mod timestamp;

mod dialect;
pub use dialect::{
    json_frames, line_frames, validate_stream, Dialect, Frame, Kind, Protocol, Rule, UnknownKind,
    UnknownProtocol, Violation,
};
pub use rules::{CommonError, EncodeError, RuleInfo};
