//! The one integration test binary of `protocols`: fixtures, round trips, invariants.

mod assa;
mod chatpot;
mod check;
mod circles;
mod fuzzing;
mod invariants;
mod rules;
mod session;
mod socketcluster;
mod socketio;
mod sockets;
