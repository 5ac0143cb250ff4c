//! The `[sockets]` target section: a Socket.IO server of the "Sockets" memo (`001_13ce220237596520.txt`).

use std::any::Any;

use protocols::Protocol;
use serde::{Deserialize, Serialize};

use super::{check_http_url, Reference, Section, SectionType, TargetError};

/// A server of the "Sockets" memo: where it is, the Engine.IO versions it
/// speaks and the username limit the suite may check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocketsTarget {
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
    /// The longest username the server accepts, in characters. The memo
    /// names no limit; without one the over-long name case is
    /// `unimplemented`.
    #[serde(default)]
    pub max_username_chars: Option<usize>,
}

/// The reference server's listener of the memo.
const SOCKETS_LISTENER: &str = "sockets";

/// The reference server's username limit (its `[sockets]`
/// `max_username_chars` default).
const REFERENCE_MAX_USERNAME_CHARS: usize = 32;

fn default_path() -> String {
    "/socket.io/".into()
}

fn default_engineio_versions() -> Vec<u8> {
    vec![3, 4]
}

impl Section for SocketsTarget {
    fn url(&self) -> &str {
        &self.url
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl SectionType for SocketsTarget {
    const PROTOCOL: Protocol = Protocol::Sockets;

    fn from_url(url: &str, previous: Option<&Self>) -> Result<Self, TargetError> {
        let (base, path) = check_http_url(url)?;
        Ok(SocketsTarget {
            url: base,
            path: path.unwrap_or_else(|| previous.map_or_else(default_path, |p| p.path.clone())),
            engineio: previous.map_or_else(default_engineio_versions, |p| p.engineio.clone()),
            max_username_chars: previous.and_then(|p| p.max_username_chars),
        })
    }

    fn validate(&self) -> Result<(), TargetError> {
        check_http_url(&self.url).map(drop)
    }

    fn embedded(reference: &Reference) -> Option<Self> {
        let addr = reference.listener(SOCKETS_LISTENER)?;
        Some(SocketsTarget {
            url: format!("http://{addr}"),
            path: default_path(),
            engineio: vec![3, 4],
            max_username_chars: Some(REFERENCE_MAX_USERNAME_CHARS),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::Targets;

    #[test]
    fn flag_and_file_sections() {
        let mut t = Targets::from_toml(
            "[sockets]\nurl = \"http://h:4002\"\nengineio = [3]\nmax_username_chars = 20\n",
            "t.toml",
        )
        .unwrap();
        t.apply_flag("sockets=http://other:5000/chat").unwrap();
        let s = t.get::<SocketsTarget>().unwrap();
        assert_eq!(s.url, "http://other:5000");
        assert_eq!(s.path, "/chat/");
        assert_eq!(s.engineio, vec![3]);
        assert_eq!(s.max_username_chars, Some(20));
        assert!(Targets::from_toml("[sockets]\nurl = \"ftp://h:1\"\n", "t").is_err());
    }
}
