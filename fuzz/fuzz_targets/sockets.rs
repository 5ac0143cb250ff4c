//! Fuzz target `sockets`: see `protocols::fuzzing::sockets`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| protocols::fuzzing::sockets(data));
