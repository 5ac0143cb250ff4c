//! Tests of the `socketcluster` codec: unit cases and proptest round trips.
