//! Integration tests of the root package: the `chatspec` binary end to end, and stock Socket.IO clients against the embedded echo app.

mod cli;
mod clients;
mod durability;
