//! Integration tests of the reference server: the embedded server driven with raw Engine.IO / Socket.IO frames.

mod assa;
mod chatpot;
mod config;
mod echo;
mod faults;
mod fuzzing;
mod lifecycle;
mod listeners;
mod socketcluster;
mod sockets;
mod support;
mod transport;
