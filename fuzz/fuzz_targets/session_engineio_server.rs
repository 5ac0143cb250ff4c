//! Fuzz target `session_engineio_server`: see `protocols::fuzzing::engineio_server`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| protocols::fuzzing::engineio_server(data));
