//! Fuzz target `circles`: see `protocols::fuzzing::circles`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| protocols::fuzzing::circles(data));
