//! Tests of the `circles` codec: unit cases and proptest round trips.
