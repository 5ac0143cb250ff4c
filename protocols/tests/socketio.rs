//! Tests of the `socketio` codec: unit cases and proptest round trips.
