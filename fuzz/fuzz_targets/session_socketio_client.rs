//! Fuzz target `session_socketio_client`: see `protocols::fuzzing::socketio_client`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| protocols::fuzzing::socketio_client(data));
