//! STUB: Engine.IO v3/v4 packets and payloads.
