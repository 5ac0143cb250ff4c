//! The ASSA listener (`004_636ae579ed5d2364.txt`): a sans-IO [`core`] and the thin tokio TCP driver around it.
//!
//! [`AssaContext::from_config`] starts from the server's shared storage
//! (what it read back, and its writer); [`serve`]
//! accepts TCP connections until `shutdown` turns true. The admin API
//! (`services::admin`) drives the same context.

pub mod config;
pub mod core;
mod tcp;

pub use self::config::{AssaConfig, AssaFault, AssaLimitsConfig, FramingName, UnknownAssaFault};
pub use self::core::{CloseReason, ConnId, Core, Output};
pub use tcp::{serve, AssaContext, AssaError};

#[cfg(test)]
mod tests;
