//! Integration tests of the reference server.
