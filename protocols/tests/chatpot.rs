//! Tests of the `chatpot` codec: unit cases and proptest round trips.
