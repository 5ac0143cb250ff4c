//! Targets: where each protocol's server is and what it speaks, from
//! `--target P=URL` flags or a TOML configuration file.
//!
//! A configuration is a map from [`Protocol`] to that protocol's section
//! (`[socketio]`, ...). What a section holds is its suite's business: each
//! section type implements [`SectionType`], and the suite registry
//! ([`crate::registry`]) says which type belongs to which protocol.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use protocols::Protocol;
use serde::de::DeserializeOwned;

use crate::registry;

mod assa;
mod chatpot;
mod circles;
mod http;
mod socketcluster;
mod socketio;
mod sockets;

pub use assa::{AssaFraming, AssaTarget, ReadyToken, Users};
pub use chatpot::{ChatpotTarget, ChatpotTriggers};
pub use circles::{CirclesTarget, CirclesTriggers};
pub use http::HttpTemplate;
pub use socketcluster::{Procedures, SocketclusterTarget};
pub use socketio::SocketioTarget;
pub use sockets::SocketsTarget;

/// A listener of the reference server: its name (`echo`, `assa`, ...) and
/// where it is bound.
pub type Listener = (String, SocketAddr);

/// A running reference server as the suites see it: its listeners and the
/// secrets it was started with (the embedded targets mint its tokens and
/// call its admin API with them, whatever the environment says).
#[derive(Debug, Clone, Default)]
pub struct Reference {
    /// Every listener that runs.
    pub listeners: Vec<Listener>,
    /// The HS256 secret its tokens are signed with.
    pub jwt_secret: String,
    /// The bearer secret of its admin API.
    pub admin_secret: String,
    /// The secret its Circles listener signs TURN credentials with (empty: none).
    pub turn_secret: String,
}

impl Reference {
    /// The address of the listener `name`, if it runs.
    pub fn listener(&self, name: &str) -> Option<SocketAddr> {
        self.listeners
            .iter()
            .find(|(n, _)| n == name)
            .map(|&(_, addr)| addr)
    }
}

/// One protocol's section of a target configuration, as the run sees it.
pub trait Section: fmt::Debug + Send + Sync + 'static {
    /// The server's URL, for reports and the reachability check.
    fn url(&self) -> &str;
    /// The section as `Any`, to get its own type back ([`Targets::get`]).
    fn as_any(&self) -> &dyn Any;
}

/// A section type: how its suite reads, builds and checks it. The TOML
/// section is its serde form.
pub trait SectionType: Section + DeserializeOwned + Sized {
    /// The protocol whose section this is (also the TOML section's name).
    const PROTOCOL: Protocol;

    /// The section a `--target P=URL` flag makes; `previous` is the same
    /// protocol's section of the configuration file, whose other settings
    /// the flag keeps.
    fn from_url(url: &str, previous: Option<&Self>) -> Result<Self, TargetError>;

    /// Refuses a section the suite cannot use (a URL without a host, ...).
    fn validate(&self) -> Result<(), TargetError>;

    /// The section pointing at the reference server; `None` when the
    /// listener the suite needs does not run.
    fn embedded(reference: &Reference) -> Option<Self>;
}

/// The targets of one run: a name for the reports and one section per
/// protocol. A protocol without a section has its cases skipped.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    /// A free text naming the target in reports (e.g. "reference server", "node socket.io 4.8").
    pub name: Option<String>,
    sections: BTreeMap<Protocol, Arc<dyn Section>>,
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
    #[error(
        "`--target {0}`: chatspec has no suite for `{1}` yet; suites exist for: {list}",
        list = registry::protocol_list()
    )]
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
    /// The configuration file has a section no suite reads.
    #[error(
        "{path}: unknown section `{section}`; expected `name` or a section of: {list}",
        list = registry::protocol_list()
    )]
    UnknownSection {
        /// The file.
        path: String,
        /// The section's name.
        section: String,
    },
    /// A section of the configuration file is not what its suite expects.
    #[error("{path}: [{protocol}]: {source}")]
    BadSection {
        /// The file.
        path: String,
        /// The section's protocol.
        protocol: Protocol,
        /// Why.
        source: Box<TargetError>,
    },
    /// A value of a section has the wrong shape.
    #[error("{0}")]
    Value(toml::de::Error),
}

impl Targets {
    /// Reads a TOML target configuration.
    pub fn load(path: &Path) -> Result<Targets, TargetError> {
        let text = std::fs::read_to_string(path).map_err(|source| TargetError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Targets::from_toml(&text, &path.display().to_string())
    }

    /// Parses a TOML target configuration; `path` names it in errors.
    pub fn from_toml(text: &str, path: &str) -> Result<Targets, TargetError> {
        #[derive(serde::Deserialize)]
        struct File {
            name: Option<String>,
            #[serde(flatten)]
            sections: BTreeMap<String, toml::Value>,
        }
        let file: File = toml::from_str(text).map_err(|source| TargetError::Parse {
            path: path.to_owned(),
            source,
        })?;
        let mut targets = Targets {
            name: file.name,
            sections: BTreeMap::new(),
        };
        for (section, value) in file.sections {
            let unknown = || TargetError::UnknownSection {
                path: path.to_owned(),
                section: section.clone(),
            };
            let protocol: Protocol = section.parse().map_err(|_| unknown())?;
            let suite = registry::suite(protocol).ok_or_else(unknown)?;
            let parsed = (suite.parse)(value).map_err(|e| TargetError::BadSection {
                path: path.to_owned(),
                protocol,
                source: Box::new(e),
            })?;
            targets.sections.insert(protocol, parsed);
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
        let suite = registry::suite(protocol)
            .ok_or_else(|| TargetError::NoSuite(flag.to_owned(), protocol))?;
        let section = (suite.from_url)(url, self.sections.get(&protocol).map(|s| &**s))?;
        self.sections.insert(protocol, section);
        Ok(())
    }

    /// Sets a protocol's section.
    pub fn insert<S: SectionType>(&mut self, section: S) {
        self.sections.insert(S::PROTOCOL, Arc::new(section));
    }

    /// The section of type `S`, if the configuration has one.
    pub fn get<S: SectionType>(&self) -> Option<&S> {
        self.sections
            .get(&S::PROTOCOL)
            .and_then(|s| s.as_any().downcast_ref())
    }

    /// Whether a protocol has a target in this configuration.
    pub fn has(&self, protocol: Protocol) -> bool {
        self.sections.contains_key(&protocol)
    }

    /// Every section, in protocol order.
    pub fn sections(&self) -> impl Iterator<Item = (Protocol, &dyn Section)> {
        self.sections.iter().map(|(p, s)| (*p, &**s))
    }

    /// Sets a section already built by its suite.
    pub(crate) fn insert_dyn(&mut self, protocol: Protocol, section: Arc<dyn Section>) {
        self.sections.insert(protocol, section);
    }
}

/// Splits `http(s)://host:port[/path]` into the base URL and the path (if any).
pub(crate) fn check_http_url(url: &str) -> Result<(String, Option<String>), TargetError> {
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

/// The `host:port` a URL's server listens on (the scheme's port when the URL has none).
pub fn host_port(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split('/').next().unwrap_or(rest);
    if authority.contains(':') {
        authority.to_owned()
    } else if scheme == "https" || scheme == "wss" {
        format!("{authority}:443")
    } else {
        format!("{authority}:80")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_flag_sets_url_and_path() {
        let mut t = Targets::default();
        t.apply_flag("socketio=http://127.0.0.1:3000").unwrap();
        let s = t.get::<SocketioTarget>().unwrap();
        assert_eq!(s.url, "http://127.0.0.1:3000");
        assert_eq!(s.path, "/socket.io/");
        assert_eq!(s.engineio, vec![3, 4]);
        t.apply_flag("socketio=http://localhost:8080/custom/path")
            .unwrap();
        assert_eq!(t.get::<SocketioTarget>().unwrap().path, "/custom/path/");
    }

    #[test]
    fn target_flag_keeps_what_the_file_says_besides_the_url() {
        let mut t = Targets::from_toml(
            "[socketio]\nurl = \"http://a:1\"\npath = \"/p/\"\nengineio = [4]\n",
            "t.toml",
        )
        .unwrap();
        t.apply_flag("socketio=http://b:2").unwrap();
        let s = t.get::<SocketioTarget>().unwrap();
        assert_eq!(
            (s.url.as_str(), s.path.as_str(), s.engineio.as_slice()),
            ("http://b:2", "/p/", &[4][..])
        );
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

    #[test]
    fn unknown_sections_and_bad_values_are_refused() {
        let e = Targets::from_toml("[irc]\nurl = \"http://x\"\n", "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.toml: unknown section `irc`"), "{e}");
        let e = Targets::from_toml("[socketio]\nurl = \"http://x\"\nport = 3\n", "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("[socketio]") && e.contains("port"), "{e}");
        let e = Targets::from_toml("[socketio]\nurl = \"x\"\n", "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("must start with http://"), "{e}");
        let e = Targets::from_toml("name = 3\n", "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.toml:"), "{e}");
    }

    #[test]
    fn host_port_defaults_to_the_scheme_port() {
        assert_eq!(host_port("http://a:3000"), "a:3000");
        assert_eq!(host_port("http://a/x"), "a:80");
        assert_eq!(host_port("https://a"), "a:443");
    }

    /// The documented example configuration loads.
    #[test]
    fn example_configuration_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("targets.example.toml");
        let t = Targets::load(&path).unwrap();
        let s = t.get::<SocketioTarget>().unwrap();
        assert_eq!(
            (s.url.as_str(), s.path.as_str(), s.engineio.clone()),
            ("http://127.0.0.1:3000", "/socket.io/", vec![3, 4])
        );
        assert_eq!(t.name.as_deref(), Some("staging chat cluster"));
        let a = t.get::<AssaTarget>().unwrap();
        assert_eq!(a.addr(), "127.0.0.1:12345");
        assert_eq!(a.pong_timeout_ms, 60_000);
        assert!(a.users.provision.is_some() && a.announce.is_some());
        let so = t.get::<SocketsTarget>().unwrap();
        assert_eq!(
            (so.url.as_str(), so.max_username_chars),
            ("http://127.0.0.1:4002", Some(32))
        );
    }
}
