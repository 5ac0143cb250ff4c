//! Fuzz target `engineio_route`: see `protocols::fuzzing::engineio_route`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| protocols::fuzzing::engineio_route(data));
