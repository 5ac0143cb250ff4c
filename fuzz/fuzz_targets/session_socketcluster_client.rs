//! Fuzz target `session_socketcluster_client`: see `protocols::fuzzing::socketcluster_client`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| protocols::fuzzing::socketcluster_client(data));
