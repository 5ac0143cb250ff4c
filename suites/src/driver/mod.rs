//! Drivers: the only way a case talks to a target. Every driver moves its
//! bytes through a [`Wire`](crate::wire::Wire), which records the transcript
//! and applies the mutation layer, and none knows the case model: the case
//! layer turns a [`DriverError`] into a verdict, and the network fuzzer and
//! the load generator run the same drivers on a bare [`Link`](crate::wire::Link).

pub mod assa;
pub mod engineio;
pub mod socketcluster;
pub mod socketio;
pub mod stock;

/// Why a driver could not do what it was asked. The reason is the whole
/// message, for people; the variant says whose fault it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DriverError {
    /// The target could not be reached at all (connection refused, no route).
    #[error("{0}")]
    Unreachable(String),
    /// The connection or the session ended while the driver expected more.
    #[error("{0}")]
    Closed(String),
    /// Nothing came within the wait.
    #[error("{0}")]
    Timeout(String),
    /// The peer broke the protocol: a refused handshake, an unexpected
    /// status or packet, bytes that do not decode, a failed send or read.
    #[error("{0}")]
    Protocol(String),
    /// The driver cannot do this with this target (a stock client that
    /// speaks one version only).
    #[error("{0}")]
    Unsupported(String),
    /// The driver itself broke (a loopback listener, a task).
    #[error("{0}")]
    Internal(String),
}

impl DriverError {
    /// The reason, for people.
    pub fn reason(&self) -> &str {
        match self {
            DriverError::Unreachable(r)
            | DriverError::Closed(r)
            | DriverError::Timeout(r)
            | DriverError::Protocol(r)
            | DriverError::Unsupported(r)
            | DriverError::Internal(r) => r,
        }
    }
}
