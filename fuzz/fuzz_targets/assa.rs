//! Fuzz target `assa`: see `protocols::fuzzing::assa`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| protocols::fuzzing::assa(data));
