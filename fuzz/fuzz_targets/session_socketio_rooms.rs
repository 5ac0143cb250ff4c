//! Fuzz target `session_socketio_rooms`: see `protocols::fuzzing::socketio_rooms`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| protocols::fuzzing::socketio_rooms(data));
