//! The chatspec reference server: one process, one listener per protocol, plus the socket.io echo app.
//!
//! Two ways to run it: [`serve`] (the `chatspec serve` command, until
//! SIGINT/SIGTERM) and [`start`] (embedded, for tests and `chatspec run`),
//! which binds everything and hands back the addresses.
//!
//! Each listener is a [`Listener`] in `listeners/`, one line in the
//! registry ([`listeners()`]): the socket.io `echo` app, `sockets`, `assa`,
//! `socketcluster` and the admin API so far; `chatpot` and `circles` come
//! later.

#![warn(missing_docs)]

pub mod assa;
pub mod chatpot;
pub mod circles;
mod cli;
mod config;
mod fault;
pub mod fuzzing;
mod listeners;
mod read_ahead;
mod server;
pub mod services;
pub mod socketio;
mod token_cli;

pub use cli::{PortOverride, ServeArgs};
pub use config::{
    Config, ConfigError, EchoConfig, ListenerConfig, ListenerName, Listeners, Profile,
};
pub use fault::Fault;
pub use listeners::socketcluster::{
    SocketclusterConfig, SocketclusterFault, SocketclusterLimitsConfig, UnknownSocketclusterFault,
    QUEUE_FULL_CLOSE as SOCKETCLUSTER_QUEUE_FULL_CLOSE,
};
pub use listeners::sockets::{SocketsConfig, SocketsFault, DEFAULT_MAX_USERNAME_CHARS};
pub use listeners::{echo::EchoFault, listener, listeners, BoxFuture, Listener, Shutdown};
pub use server::{serve, start, Addrs, Running, Secrets};
pub use token_cli::TokenArgs;

/// Installs a `tracing` subscriber writing to stderr, filtered by `RUST_LOG`
/// (default `info`). Calling it again does nothing.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
