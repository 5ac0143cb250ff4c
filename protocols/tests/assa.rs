//! Tests of the `assa` codec: unit cases and proptest round trips.
