//! STUB: replaced by the real codec.

use crate::{Dialect, Protocol, Rule, Violation};

/// The codec.
pub struct Assa;

/// Errors of this codec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Not written yet.
    #[error("not implemented")]
    Unimplemented,
}

impl Rule for Error {
    fn rule(&self) -> &'static str {
        "unimplemented"
    }
    fn spec(&self) -> &'static str {
        ""
    }
}

impl Dialect for Assa {
    const PROTOCOL: Protocol = Protocol::Assa;
    type Message = ();
    type Error = Error;
    fn decode(_kind: Option<&str>, _input: &[u8]) -> Result<(), Error> {
        Err(Error::Unimplemented)
    }
    fn encode(_message: &()) -> Vec<u8> {
        Vec::new()
    }
    fn validate(_kind: Option<&str>, _input: &[u8]) -> Vec<Violation> {
        vec![Violation::from_error("", &Error::Unimplemented)]
    }
}
