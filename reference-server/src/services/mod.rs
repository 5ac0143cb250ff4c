//! Services shared by the listeners: tokens and identity, storage, the admin HTTP API.

pub mod admin;
pub mod storage;
pub mod tokens;
