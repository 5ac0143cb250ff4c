//! The `[socketio]` target section: a server running the echo application
//! of Socket.IO's own protocol test suites.

use std::any::Any;

use protocols::Protocol;
use serde::{Deserialize, Serialize};

use super::{check_http_url, Reference, Section, SectionType, TargetError};

/// A Socket.IO server running the echo application Socket.IO's own protocol
/// test suites expect (see `specs/README.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocketioTarget {
    /// `http://host:port` (or `https://`).
    pub url: String,
    /// The Engine.IO path; `/socket.io/` by default.
    #[serde(default = "default_path")]
    pub path: String,
    /// The Engine.IO versions the target speaks: 3 (Socket.IO v4 protocol),
    /// 4 (Socket.IO v5 protocol) or both. Cases of a version the target does
    /// not speak are `unimplemented`.
    #[serde(default = "default_engineio_versions")]
    pub engineio: Vec<u8>,
    /// Whether the target has the reference server's room events beside the
    /// echo app (`join`, `leave`, `room-message`; `reference-server/README.md`).
    /// They are not part of the test suites' echo app: without them the
    /// `socketio.*.room.*` cases are `unimplemented`.
    #[serde(default)]
    pub rooms: bool,
}

/// The reference server's listener that runs the echo application.
const ECHO_LISTENER: &str = "echo";

fn default_path() -> String {
    "/socket.io/".into()
}

fn default_engineio_versions() -> Vec<u8> {
    vec![3, 4]
}

impl Section for SocketioTarget {
    fn url(&self) -> &str {
        &self.url
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl SectionType for SocketioTarget {
    const PROTOCOL: Protocol = Protocol::Socketio;

    fn from_url(url: &str, previous: Option<&Self>) -> Result<Self, TargetError> {
        let (base, path) = check_http_url(url)?;
        Ok(SocketioTarget {
            url: base,
            path: path.unwrap_or_else(|| previous.map_or_else(default_path, |p| p.path.clone())),
            engineio: previous.map_or_else(default_engineio_versions, |p| p.engineio.clone()),
            rooms: previous.is_some_and(|p| p.rooms),
        })
    }

    fn validate(&self) -> Result<(), TargetError> {
        check_http_url(&self.url).map(drop)
    }

    fn embedded(reference: &Reference) -> Option<Self> {
        let addr = reference.listener(ECHO_LISTENER)?;
        Some(SocketioTarget {
            url: format!("http://{addr}"),
            path: default_path(),
            engineio: vec![3, 4],
            rooms: true,
        })
    }
}
