//! Targets: where each protocol's server is and what it speaks, from
//! `--target P=URL` flags or a TOML configuration file.

use std::path::Path;

use protocols::Protocol;
use serde::{Deserialize, Serialize};

/// The targets of one run, one optional section per protocol. A protocol
/// without a target has its cases skipped.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// A free text naming the target in reports (e.g. "reference server", "node socket.io 4.8").
    #[serde(default)]
    pub name: Option<String>,
    /// The Engine.IO / Socket.IO echo application of the `socketio.*` suite.
    #[serde(default)]
    pub socketio: Option<SocketioTarget>,
}

/// A Socket.IO server running the echo application Socket.IO's own protocol
/// test suites expect (see `specs/README.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocketioTarget {
    /// `http://host:port` (or `https://`).
    pub url: String,
    /// The Engine.IO path; `/socket.io/` by default.
    #[serde(default = "default_socketio_path")]
    pub path: String,
    /// The Engine.IO versions the target speaks: 3 (Socket.IO v4 protocol),
    /// 4 (Socket.IO v5 protocol) or both. Cases of a version the target does
    /// not speak are `unimplemented`.
    #[serde(default = "default_engineio_versions")]
    pub engineio: Vec<u8>,
}

fn default_socketio_path() -> String {
    "/socket.io/".into()
}

fn default_engineio_versions() -> Vec<u8> {
    vec![3, 4]
}

/// A target could not be understood.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// `--target` was not `PROTOCOL=URL`.
    #[error("`--target {0}`: expected PROTOCOL=URL, e.g. socketio=http://127.0.0.1:3000")]
    NotAssignment(String),
    /// The protocol part of `--target` is not a known protocol.
    #[error("`--target {0}`: {1}")]
    UnknownProtocol(String, protocols::UnknownProtocol),
    /// The protocol has no suite that takes a target yet.
    #[error("`--target {0}`: chatspec has no suite for `{1}` yet; suites exist for: socketio")]
    NoSuite(String, Protocol),
    /// The URL is not http(s)://host:port[/path].
    #[error("`{0}` is not a URL chatspec can use: {1}")]
    BadUrl(String, &'static str),
    /// The configuration file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The configuration file is not valid TOML for a target configuration.
    #[error("{path}: {source}")]
    Parse {
        /// The file.
        path: String,
        /// Why.
        source: toml::de::Error,
    },
}

impl Targets {
    /// Reads a TOML target configuration.
    pub fn load(path: &Path) -> Result<Targets, TargetError> {
        let text = std::fs::read_to_string(path).map_err(|source| TargetError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let targets: Targets = toml::from_str(&text).map_err(|source| TargetError::Parse {
            path: path.display().to_string(),
            source,
        })?;
        if let Some(s) = &targets.socketio {
            check_http_url(&s.url)?;
        }
        Ok(targets)
    }

    /// Applies one `--target PROTOCOL=URL` flag over the configuration.
    pub fn apply_flag(&mut self, flag: &str) -> Result<(), TargetError> {
        let (protocol, url) = flag
            .split_once('=')
            .ok_or_else(|| TargetError::NotAssignment(flag.to_owned()))?;
        let protocol: Protocol = protocol
            .parse()
            .map_err(|e| TargetError::UnknownProtocol(flag.to_owned(), e))?;
        match protocol {
            Protocol::Socketio => {
                let (base, path) = check_http_url(url)?;
                let previous = self.socketio.take();
                self.socketio = Some(SocketioTarget {
                    url: base,
                    path: path.unwrap_or_else(|| {
                        previous
                            .as_ref()
                            .map(|p| p.path.clone())
                            .unwrap_or_else(default_socketio_path)
                    }),
                    engineio: previous
                        .map(|p| p.engineio)
                        .unwrap_or_else(default_engineio_versions),
                });
                Ok(())
            }
            other => Err(TargetError::NoSuite(flag.to_owned(), other)),
        }
    }

    /// Whether a protocol has a target in this configuration.
    pub fn has(&self, protocol: Protocol) -> bool {
        match protocol {
            Protocol::Socketio => self.socketio.is_some(),
            _ => false,
        }
    }
}

/// Splits `http(s)://host:port[/path]` into the base URL and the path (if any).
fn check_http_url(url: &str) -> Result<(String, Option<String>), TargetError> {
    let bad = |why| TargetError::BadUrl(url.to_owned(), why);
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| bad("it must start with http:// or https://"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if authority.is_empty() {
        return Err(bad("it has no host"));
    }
    let base = format!("{}{}", &url[..url.len() - rest.len()], authority);
    let path = match path {
        "" | "/" => None,
        p if p.ends_with('/') => Some(p.to_owned()),
        p => Some(format!("{p}/")),
    };
    Ok((base, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_flag_sets_url_and_path() {
        let mut t = Targets::default();
        t.apply_flag("socketio=http://127.0.0.1:3000").unwrap();
        let s = t.socketio.as_ref().unwrap();
        assert_eq!(s.url, "http://127.0.0.1:3000");
        assert_eq!(s.path, "/socket.io/");
        assert_eq!(s.engineio, vec![3, 4]);
        t.apply_flag("socketio=http://localhost:8080/custom/path")
            .unwrap();
        assert_eq!(t.socketio.as_ref().unwrap().path, "/custom/path/");
    }

    #[test]
    fn target_flag_errors_say_what_to_write() {
        let mut t = Targets::default();
        let e = t.apply_flag("http://x").unwrap_err().to_string();
        assert!(e.contains("expected PROTOCOL=URL"), "{e}");
        let e = t.apply_flag("irc=http://x").unwrap_err().to_string();
        assert!(e.contains("unknown protocol `irc`"), "{e}");
        let e = t.apply_flag("socketio=ws://x").unwrap_err().to_string();
        assert!(e.contains("must start with http://"), "{e}");
    }
}

#[cfg(test)]
mod example {
    /// The documented example configuration loads.
    #[test]
    fn example_configuration_loads() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("targets.example.toml");
        let t = super::Targets::load(&path).unwrap();
        let s = t.socketio.unwrap();
        assert_eq!(
            (s.url.as_str(), s.path.as_str(), s.engineio),
            ("http://127.0.0.1:3000", "/socket.io/", vec![3, 4])
        );
        assert_eq!(t.name.as_deref(), Some("staging chat cluster"));
    }
}
