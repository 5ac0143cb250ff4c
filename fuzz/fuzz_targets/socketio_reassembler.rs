//! Fuzz target `socketio_reassembler`: see `protocols::fuzzing::socketio_reassembler`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| protocols::fuzzing::socketio_reassembler(data));
