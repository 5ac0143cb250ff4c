//! The `[assa]` target section: an ASSA server (`004_636ae579ed5d2364.txt`)
//! on TCP, its framing and timeouts, how the suite gets users and how it
//! triggers SERVER_ANNOUNCEMENT.

use std::any::Any;
use std::collections::BTreeMap;

use protocols::Protocol;
use serde::{Deserialize, Serialize};

use super::{HttpTemplate, Listener, Section, SectionType, TargetError};

/// An ASSA server. What it lacks (no way to get users, no announcement
/// trigger) makes the cases that need it `unimplemented`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssaTarget {
    /// `tcp://host:port`.
    pub url: String,
    /// Message boundaries on the stream: `json-stream` (default) or `length-prefixed`.
    #[serde(default)]
    pub framing: AssaFraming,
    /// The server's connection timeout (§10.2: 30 s): no CONNECT by then closes.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_ms: u64,
    /// The server's PING interval (§10.2: 30 s).
    #[serde(default = "default_ping_interval")]
    pub ping_interval_ms: u64,
    /// How long the server waits for a PONG before closing (§10.2: 60 s).
    #[serde(default = "default_pong_timeout")]
    pub pong_timeout_ms: u64,
    /// The largest JSON message the server accepts (§10.1: 1 MB).
    #[serde(default = "default_max_frame")]
    pub max_frame_bytes: usize,
    /// How the suite gets users.
    #[serde(default)]
    pub users: Users,
    /// How the suite makes the server send SERVER_ANNOUNCEMENT; without
    /// it the announcement cases are `unimplemented`.
    #[serde(default)]
    pub announce: Option<HttpTemplate>,
}

/// Message boundaries on the TCP stream (the document is silent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AssaFraming {
    /// JSON values one after another; the server writes one object per line.
    #[default]
    JsonStream,
    /// A 4-byte big-endian length before each JSON message, both ways.
    LengthPrefixed,
}

impl From<AssaFraming> for protocols::assa::framing::Framing {
    fn from(f: AssaFraming) -> Self {
        match f {
            AssaFraming::JsonStream => protocols::assa::framing::Framing::JsonStream,
            AssaFraming::LengthPrefixed => protocols::assa::framing::Framing::LengthPrefixed,
        }
    }
}

/// Where a case's users come from, tried in this order: a provisioning
/// request, a JWT secret, a list of ready tokens. Cases make fresh users
/// with the first two; with ready tokens only, cases lease users from the
/// list, one case at a time each.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Users {
    /// An HTTP request that makes a user and answers with its token. In its
    /// URL and body, `{id}` is the new user's id.
    pub provision: Option<HttpTemplate>,
    /// The JSON pointer of the token in the provisioning answer (default `/token`).
    #[serde(default = "default_token_pointer")]
    pub token_pointer: String,
    /// The HS256 secret the server verifies tokens with: the suite mints
    /// them itself (and can make an expired one, which nothing else can).
    pub jwt_secret: Option<String>,
    /// Claims added to `sub` (the user id) and `exp` of a minted token;
    /// `{id}` in a string value is the user id.
    #[serde(default)]
    pub claims: BTreeMap<String, toml::Value>,
    /// Lifetime of a minted token, seconds (default 3600).
    #[serde(default = "default_expires_in")]
    pub expires_in_secs: u64,
    /// Ready tokens of existing users.
    #[serde(default)]
    pub tokens: Vec<ReadyToken>,
    /// The first id of fresh users (default: derived from the clock, so
    /// runs against one server do not meet each other's users).
    pub first_user_id: Option<u64>,
}

/// A token of an existing user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadyToken {
    /// The user's id, as the server reports it.
    pub user_id: u64,
    /// The JWT.
    pub token: String,
}

/// The reference server's ASSA listener and its admin API.
const ASSA_LISTENER: &str = "assa";
const ADMIN_LISTENER: &str = "admin";
/// The reference server's development secrets, public on purpose: its
/// embedded runs use them (nothing configures another).
const DEV_JWT_SECRET: &str = "chatspec-development-secret-do-not-use-in-production";
const DEV_ADMIN_SECRET: &str = "chatspec-development-admin-secret";

fn default_connect_timeout() -> u64 {
    30_000
}
fn default_ping_interval() -> u64 {
    30_000
}
fn default_pong_timeout() -> u64 {
    60_000
}
fn default_max_frame() -> usize {
    protocols::assa::limits::MAX_MESSAGE_BYTES
}
fn default_token_pointer() -> String {
    "/token".into()
}
fn default_expires_in() -> u64 {
    3600
}

impl AssaTarget {
    /// `host:port`.
    pub fn addr(&self) -> &str {
        self.url.strip_prefix("tcp://").unwrap_or(&self.url)
    }

    /// A section for `tcp://host:port` with the document's values.
    fn at(url: String) -> AssaTarget {
        AssaTarget {
            url,
            framing: AssaFraming::JsonStream,
            connect_timeout_ms: default_connect_timeout(),
            ping_interval_ms: default_ping_interval(),
            pong_timeout_ms: default_pong_timeout(),
            max_frame_bytes: default_max_frame(),
            users: Users {
                token_pointer: default_token_pointer(),
                expires_in_secs: default_expires_in(),
                ..Users::default()
            },
            announce: None,
        }
    }
}

fn check_tcp_url(url: &str) -> Result<(), TargetError> {
    let bad = |why| TargetError::BadUrl(url.to_owned(), why);
    let rest = url
        .strip_prefix("tcp://")
        .ok_or_else(|| bad("it must start with tcp://"))?;
    match rest.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(()),
        _ => Err(bad("it must be tcp://host:port")),
    }
}

impl Section for AssaTarget {
    fn url(&self) -> &str {
        &self.url
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl SectionType for AssaTarget {
    const PROTOCOL: Protocol = Protocol::Assa;

    fn from_url(url: &str, previous: Option<&Self>) -> Result<Self, TargetError> {
        check_tcp_url(url)?;
        Ok(match previous {
            Some(p) => AssaTarget {
                url: url.to_owned(),
                ..p.clone()
            },
            None => AssaTarget::at(url.to_owned()),
        })
    }

    fn validate(&self) -> Result<(), TargetError> {
        check_tcp_url(&self.url)?;
        for t in self.users.provision.iter().chain(&self.announce) {
            t.validate()?;
        }
        Ok(())
    }

    fn embedded(listeners: &[Listener]) -> Option<Self> {
        let (_, assa) = listeners.iter().find(|(name, _)| name == ASSA_LISTENER)?;
        let mut target = AssaTarget::at(format!("tcp://{assa}"));
        // The embedded server runs AssaConfig::test_profile().
        target.connect_timeout_ms = 1_000;
        target.ping_interval_ms = 300;
        target.pong_timeout_ms = 900;
        target.users.jwt_secret = Some(DEV_JWT_SECRET.to_owned());
        if let Some((_, admin)) = listeners.iter().find(|(name, _)| name == ADMIN_LISTENER) {
            let auth = BTreeMap::from([(
                "Authorization".to_owned(),
                format!("Bearer {DEV_ADMIN_SECRET}"),
            )]);
            target.users.provision = Some(HttpTemplate {
                url: format!("http://{admin}/tokens"),
                method: HttpTemplate::default_method(),
                headers: auth.clone(),
                body: Some(r#"{"user_id": {id}, "nickname": "chatspec{id}"}"#.to_owned()),
            });
            target.announce = Some(HttpTemplate {
                url: format!("http://{admin}/announcements"),
                method: HttpTemplate::default_method(),
                headers: auth,
                body: Some(
                    r#"{"title": "{title}", "message": "{message}", "priority": "high", "announcement_type": "maintenance"}"#
                        .to_owned(),
                ),
            });
        }
        Some(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flag_makes_a_section_with_the_documents_values() {
        let t = AssaTarget::from_url("tcp://127.0.0.1:12345", None).unwrap();
        assert_eq!(t.addr(), "127.0.0.1:12345");
        assert_eq!(
            (t.connect_timeout_ms, t.ping_interval_ms, t.pong_timeout_ms),
            (30_000, 30_000, 60_000)
        );
        assert_eq!(t.framing, AssaFraming::JsonStream);
        for bad in ["http://a:1", "tcp://a", "tcp://:1", "tcp://a:x"] {
            assert!(AssaTarget::from_url(bad, None).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_embedded_section_uses_both_listeners() {
        let listeners = vec![
            ("assa".to_owned(), "127.0.0.1:1".parse().unwrap()),
            ("admin".to_owned(), "127.0.0.1:2".parse().unwrap()),
        ];
        let t = AssaTarget::embedded(&listeners).unwrap();
        assert_eq!(t.url, "tcp://127.0.0.1:1");
        assert_eq!(t.ping_interval_ms, 300);
        assert_eq!(
            t.users.provision.as_ref().unwrap().url,
            "http://127.0.0.1:2/tokens"
        );
        assert!(t.announce.is_some());
        assert!(t.validate().is_ok());
        assert!(AssaTarget::embedded(&listeners[1..]).is_none());
    }
}
