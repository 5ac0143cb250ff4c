//! Fuzz target `session_engineio_client`: see `protocols::fuzzing::engineio_client`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| protocols::fuzzing::engineio_client(data));
