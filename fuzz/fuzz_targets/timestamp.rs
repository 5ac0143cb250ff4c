//! Fuzz target `timestamp`: see `protocols::fuzzing::timestamp`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| protocols::fuzzing::timestamp(data));
