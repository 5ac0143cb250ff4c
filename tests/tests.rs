//! Integration tests of the root package: the `chatspec` binary end to end, stock Socket.IO clients against the embedded echo app, and the durability of `chatspec serve`.

mod cli;
mod clients;
mod durability;
