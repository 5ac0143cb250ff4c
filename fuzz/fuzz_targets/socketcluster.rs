//! Fuzz target `socketcluster`: see `protocols::fuzzing::socketcluster`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| protocols::fuzzing::socketcluster(data));
