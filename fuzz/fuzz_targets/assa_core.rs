//! Fuzz target `assa_core`: see `reference_server::fuzzing::assa_core`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| reference_server::fuzzing::assa_core(data));
