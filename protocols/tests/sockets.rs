//! Tests of the `sockets` codec: unit cases and proptest round trips.
