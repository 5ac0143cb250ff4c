//! Fuzz target `assa_framing`: see `protocols::fuzzing::assa_framing`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| protocols::fuzzing::assa_framing(data));
