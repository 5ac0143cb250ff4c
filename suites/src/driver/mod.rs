//! Drivers: the only way a case talks to a target. Each records a transcript
//! and passes what it receives through the case's mutator.

pub mod engineio;
pub mod socketio;
pub mod stock;
