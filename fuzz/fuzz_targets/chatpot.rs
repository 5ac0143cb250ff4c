//! Fuzz target `chatpot`: see `protocols::fuzzing::chatpot`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| protocols::fuzzing::chatpot(data));
