//! The `[socketcluster]` target section: a SocketCluster server, the protocol
//! version it speaks, the names of its procedures and the layers it has.

use std::any::Any;

use protocols::Protocol;
use serde::{Deserialize, Serialize};

use protocols::socketcluster::ProtocolVersion;

use super::{Reference, Section, SectionType, TargetError};

/// A SocketCluster server (`002_57bad640c3a657d6.txt`) and what the suite may ask of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocketclusterTarget {
    /// `ws://host:port/socketcluster/` (or `wss://`).
    pub url: String,
    /// 1 (the document's ping `#1` / pong `#2`) or 2 (empty strings): what `url` speaks.
    #[serde(default = "default_version")]
    pub protocol_version: u8,
    /// An endpoint of the same server speaking protocol 1, when `url` speaks 2:
    /// the `socketcluster.v1.*` cases run there (without one they are `unimplemented`).
    #[serde(default)]
    pub v1_url: Option<String>,
    /// An endpoint of the same server speaking protocol 2, when `url` speaks 1:
    /// the `socketcluster.v2.*` cases run there (without one they are `unimplemented`).
    #[serde(default)]
    pub v2_url: Option<String>,
    /// The names of the target's procedures; one left out makes its cases `unimplemented`.
    #[serde(default)]
    pub procedures: Procedures,
    /// Whether it has the pub/sub layer (`#subscribe`, `#publish`, ...).
    #[serde(default = "yes")]
    pub pubsub: bool,
    /// Whether it has the authentication layer (`#authenticate`, tokens).
    #[serde(default = "yes")]
    pub auth: bool,
    /// A channel that requires an authenticated socket, if it has one.
    #[serde(default)]
    pub auth_channel: Option<String>,
    /// The HS256 secret its tokens are signed with, to mint expired ones; without it that case is `unimplemented`.
    #[serde(default)]
    pub token_secret: Option<String>,
    /// How long it waits for `#handshake` before closing with 4005, milliseconds.
    #[serde(default = "default_handshake_timeout")]
    pub handshake_timeout_ms: u64,
    /// Its largest accepted message, bytes, if it has a limit the suite may check.
    #[serde(default)]
    pub max_frame_bytes: Option<usize>,
    /// Channels one socket may subscribe to, if the suite may check the limit.
    #[serde(default)]
    pub max_subscriptions: Option<usize>,
    /// Concurrent connections it accepts (at `limits_url` when there is one),
    /// if the suite may check the cap.
    #[serde(default)]
    pub max_connections: Option<usize>,
    /// An endpoint of the same application, speaking `protocol_version`, whose
    /// connection cap is `max_connections`: the connection-limit case fills it
    /// instead of `url`, so the cases running beside it are not refused.
    /// Without one, that case fills `url`.
    #[serde(default)]
    pub limits_url: Option<String>,
    /// What the slow-reader case may publish to a channel of a socket that
    /// stopped reading before that socket must be cut off, bytes (its queue
    /// and the kernel's buffers on both ends hold that much at most), if
    /// the suite may check that it is.
    #[serde(default)]
    pub flood_bytes: Option<usize>,
}

/// The target's names for the procedures the suite calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Procedures {
    /// Answers with its data.
    pub echo: Option<String>,
    /// `{delay_ms, data}`: answers with `data` after `delay_ms`.
    pub slow_echo: Option<String>,
    /// Answers with an error `{name, message}`.
    pub fail: Option<String>,
    /// `{user}`: calls setAuthToken with `{user}`, then answers.
    pub login: Option<String>,
}

impl Default for Procedures {
    /// The reference server's names.
    fn default() -> Self {
        Procedures {
            echo: Some("echo".into()),
            slow_echo: Some("slow-echo".into()),
            fail: Some("fail".into()),
            login: Some("login".into()),
        }
    }
}

/// The reference server's listener, and its instance speaking protocol 2.
const LISTENER: &str = "socketcluster";
const V2_LISTENER: &str = "socketcluster-v2";
const LIMITS_LISTENER: &str = "socketcluster-limits";

fn default_version() -> u8 {
    1
}

fn yes() -> bool {
    true
}

fn default_handshake_timeout() -> u64 {
    // socketcluster-server's default handshakeTimeout.
    10_000
}

fn check_ws_url(url: &str) -> Result<String, TargetError> {
    let bad = |why| TargetError::BadUrl(url.to_owned(), why);
    let rest = url
        .strip_prefix("ws://")
        .or_else(|| url.strip_prefix("wss://"))
        .ok_or_else(|| bad("it must start with ws:// or wss://"))?;
    if rest.split('/').next().is_none_or(str::is_empty) {
        return Err(bad("it has no host"));
    }
    Ok(if rest.contains('/') {
        url.to_owned()
    } else {
        format!("{url}/socketcluster/")
    })
}

impl Section for SocketclusterTarget {
    fn url(&self) -> &str {
        &self.url
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl SocketclusterTarget {
    /// The protocol version `url` speaks.
    pub fn version(&self) -> ProtocolVersion {
        match self.protocol_version {
            2 => ProtocolVersion::V2,
            _ => ProtocolVersion::V1,
        }
    }

    /// The endpoint speaking `version`, if the target has one.
    pub fn url_of(&self, version: ProtocolVersion) -> Option<&str> {
        if version == self.version() {
            return Some(&self.url);
        }
        match version {
            ProtocolVersion::V1 => self.v1_url.as_deref(),
            ProtocolVersion::V2 => self.v2_url.as_deref(),
        }
    }

    /// A target at `url` with the defaults of socketcluster-server 20 and the reference names.
    pub fn at(url: impl Into<String>) -> Self {
        SocketclusterTarget {
            url: url.into(),
            protocol_version: default_version(),
            v1_url: None,
            v2_url: None,
            procedures: Procedures::default(),
            pubsub: true,
            auth: true,
            auth_channel: None,
            token_secret: None,
            handshake_timeout_ms: default_handshake_timeout(),
            max_frame_bytes: None,
            max_subscriptions: None,
            max_connections: None,
            limits_url: None,
            flood_bytes: None,
        }
    }
}

impl SectionType for SocketclusterTarget {
    const PROTOCOL: Protocol = Protocol::Socketcluster;

    fn from_url(url: &str, previous: Option<&Self>) -> Result<Self, TargetError> {
        let url = check_ws_url(url)?;
        Ok(match previous {
            Some(p) => SocketclusterTarget { url, ..p.clone() },
            None => SocketclusterTarget::at(url),
        })
    }

    fn validate(&self) -> Result<(), TargetError> {
        check_ws_url(&self.url)?;
        if !matches!(self.protocol_version, 1 | 2) {
            return Err(TargetError::BadUrl(
                self.url.clone(),
                "protocol_version must be 1 or 2",
            ));
        }
        let own = match self.version() {
            ProtocolVersion::V1 => &self.v1_url,
            ProtocolVersion::V2 => &self.v2_url,
        };
        if own.is_some() {
            return Err(TargetError::BadUrl(
                self.url.clone(),
                "v1_url / v2_url names the other version's endpoint; protocol_version's own is url",
            ));
        }
        for url in self
            .v1_url
            .iter()
            .chain(&self.v2_url)
            .chain(&self.limits_url)
        {
            check_ws_url(url)?;
        }
        Ok(())
    }

    /// The reference server's test profile (`[socketcluster]` of its embedded configuration).
    fn embedded(reference: &Reference) -> Option<Self> {
        let addr = reference.listener(LISTENER)?;
        let v2 = reference.listener(V2_LISTENER);
        Some(SocketclusterTarget {
            v2_url: v2.map(|v2| format!("ws://{v2}/socketcluster/")),
            auth_channel: Some("private/chatspec".into()),
            token_secret: Some(reference.jwt_secret.clone()),
            handshake_timeout_ms: 1_000,
            max_frame_bytes: Some(65_536),
            max_subscriptions: Some(10),
            // The socketcluster-limits listener's cap (`[socketcluster-limits]`).
            limits_url: reference
                .listener(LIMITS_LISTENER)
                .map(|l| format!("ws://{l}/socketcluster/")),
            max_connections: Some(16),
            // A queue of 16 messages and 16 KiB of send buffer per socket.
            flood_bytes: Some(2 << 20),
            ..SocketclusterTarget::at(format!("ws://{addr}/socketcluster/"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_gets_the_default_path_and_other_schemes_are_refused() {
        let t = SocketclusterTarget::from_url("ws://127.0.0.1:8000", None).expect("url");
        assert_eq!(t.url, "ws://127.0.0.1:8000/socketcluster/");
        assert_eq!(t.protocol_version, 1);
        assert!(SocketclusterTarget::from_url("http://127.0.0.1:8000", None).is_err());
        assert!(SocketclusterTarget::from_url("ws:///x", None).is_err());
    }

    #[test]
    fn a_section_reads_its_procedures_and_refuses_other_versions() {
        let t: SocketclusterTarget = toml::from_str(
            "url = \"ws://h:1/socketcluster/\"\nprotocol_version = 2\n[procedures]\necho = \"ping-back\"",
        )
        .expect("section");
        assert_eq!(t.procedures.echo.as_deref(), Some("ping-back"));
        assert_eq!(t.procedures.fail, None);
        assert!(t.validate().is_ok());
        assert_eq!(
            t.url_of(ProtocolVersion::V2),
            Some("ws://h:1/socketcluster/")
        );
        assert_eq!(t.url_of(ProtocolVersion::V1), None);
        let own = SocketclusterTarget {
            v2_url: Some("ws://h:2/socketcluster/".into()),
            ..t.clone()
        };
        assert!(own.validate().is_err(), "v2_url beside protocol_version 2");
        let other = SocketclusterTarget {
            v1_url: Some("ws://h:2".into()),
            ..t.clone()
        };
        assert!(other.validate().is_ok());
        assert_eq!(other.url_of(ProtocolVersion::V1), Some("ws://h:2"));
        let bad = SocketclusterTarget {
            protocol_version: 3,
            ..t
        };
        assert!(bad.validate().is_err());
    }
}
