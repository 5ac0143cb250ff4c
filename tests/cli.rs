//! End-to-end tests of the `chatspec` binary.
