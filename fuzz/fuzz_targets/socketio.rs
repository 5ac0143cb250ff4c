//! Fuzz target `socketio`: see `protocols::fuzzing::socketio`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| protocols::fuzzing::socketio(data));
