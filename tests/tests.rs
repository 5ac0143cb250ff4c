//! Integration tests of the root package: the `chatspec` binary end to end, stock Socket.IO clients against the embedded echo app and chat apps, and the durability of `chatspec serve` (ASSA, Chatpot, Circles).

mod cli;
mod clients;
mod durability;
