//! Services the protocol listeners share: storage (users, rooms, channels and
//! messages, embedded by default), auth tokens (HS256 JWTs with the
//! configured secret) and the admin HTTP API (provisioning and triggers).
