//! Fuzz target `session_socketcluster_server`: see `protocols::fuzzing::socketcluster_server`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| protocols::fuzzing::socketcluster_server(data));
