//! The `[assa]` target section: an ASSA server (`004_636ae579ed5d2364.txt`)
//! on TCP, its framing and timeouts, how the suite gets users and how it
//! triggers SERVER_ANNOUNCEMENT.

use std::any::Any;
use std::collections::BTreeMap;

use protocols::Protocol;
use serde::{Deserialize, Serialize};

use super::{HttpTemplate, Reference, Section, SectionType, TargetError};

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
    /// Where the limit cases that fill a server (`assa.limit.connection-cap`,
    /// `assa.limit.slow-reader-cut-off`) run, and the limits they fill.
    #[serde(default)]
    pub limits: AssaLimits,
}

/// `[assa.limits]`: the server the two limit cases that fill it run at.
/// Filling a server's connection cap refuses whoever connects beside the
/// case, so give them an instance of their own (`url`), or run them apart
/// from the other cases (`--case 'assa.limit.connection-cap' --case
/// 'assa.limit.slow-reader-cut-off'`). The suite runs the two one at a time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssaLimits {
    /// `tcp://host:port` of the instance they fill (default: the section's `url`).
    #[serde(default)]
    pub url: Option<String>,
    /// Its connection cap (§10.1: 1,000); the case holds that many sessions of fresh users.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Its PONG timeout (default: the section's `pong_timeout_ms`): a
    /// reader that stops reading must be cut off before it runs out.
    #[serde(default)]
    pub pong_timeout_ms: Option<u64>,
    /// What the slow-reader case sends into the room of a reader that
    /// stopped reading before that reader must have been cut off, bytes
    /// (default 64 MiB: a server's queue and the kernel's buffers on both
    /// ends hold several megabytes).
    #[serde(default = "default_flood_bytes")]
    pub flood_bytes: usize,
}

impl Default for AssaLimits {
    fn default() -> Self {
        AssaLimits {
            url: None,
            max_connections: default_max_connections(),
            pong_timeout_ms: None,
            flood_bytes: default_flood_bytes(),
        }
    }
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

/// The reference server's ASSA listener, its instance for the limit cases and its admin API.
const ASSA_LISTENER: &str = "assa";
const LIMITS_LISTENER: &str = "assa-limits";
const ADMIN_LISTENER: &str = "admin";

fn default_max_connections() -> usize {
    protocols::assa::limits::MAX_CONNECTIONS
}
fn default_flood_bytes() -> usize {
    64 << 20
}

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
        tcp_addr(&self.url)
    }

    /// `host:port` of the server the limit cases fill.
    pub fn limits_addr(&self) -> &str {
        tcp_addr(self.limits.url.as_deref().unwrap_or(&self.url))
    }

    /// The PONG timeout of the server the limit cases fill, milliseconds.
    pub fn limits_pong_timeout_ms(&self) -> u64 {
        self.limits.pong_timeout_ms.unwrap_or(self.pong_timeout_ms)
    }

    /// An HS256 token for user `id` signed with `secret`, with the target's
    /// `users.claims` (`{id}` filled in), `sub`, `iat` and an `exp`
    /// `exp_offset` seconds from now (negative: already expired). The suite's
    /// cases and the bench generator mint their users' tokens with it.
    pub fn mint_token(&self, secret: &str, id: u64, exp_offset: i64) -> Result<String, String> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let mut claims = serde_json::Map::new();
        for (k, v) in &self.users.claims {
            let v = serde_json::to_value(v).map_err(|e| e.to_string())?;
            let v = match v {
                serde_json::Value::String(s) => {
                    serde_json::Value::String(HttpTemplate::fill(&s, &[("id", &id.to_string())]))
                }
                other => other,
            };
            claims.insert(k.clone(), v);
        }
        claims.insert("sub".into(), serde_json::json!(id.to_string()));
        claims.insert("iat".into(), serde_json::json!(now));
        claims.insert("exp".into(), serde_json::json!(now + exp_offset));
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .map_err(|e| format!("minting a token: {e}"))
    }

    /// The first id of fresh users: `users.first_user_id`, or one derived
    /// from the clock so that runs against one server do not meet each
    /// other's users.
    pub fn first_fresh_user_id(&self) -> u64 {
        self.users.first_user_id.unwrap_or_else(|| {
            let secs = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            1_000_000 + (secs % 1_000_000) * 10_000
        })
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
            limits: AssaLimits::default(),
        }
    }
}

fn tcp_addr(url: &str) -> &str {
    url.strip_prefix("tcp://").unwrap_or(url)
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
        if let Some(url) = &self.limits.url {
            check_tcp_url(url)?;
        }
        for t in self.users.provision.iter().chain(&self.announce) {
            t.validate()?;
        }
        Ok(())
    }

    fn embedded(reference: &Reference) -> Option<Self> {
        let assa = reference.listener(ASSA_LISTENER)?;
        let mut target = AssaTarget::at(format!("tcp://{assa}"));
        // The embedded server runs AssaConfig::test_profile().
        target.connect_timeout_ms = 1_000;
        target.ping_interval_ms = 300;
        target.pong_timeout_ms = 900;
        target.users.jwt_secret = Some(reference.jwt_secret.clone());
        // Its assa-limits server: AssaLimitsConfig's defaults (a cap of 8, a
        // queue of 16 messages, 16 KiB of send buffer, the document's PONG timeout).
        if let Some(limits) = reference.listener(LIMITS_LISTENER) {
            target.limits = AssaLimits {
                url: Some(format!("tcp://{limits}")),
                max_connections: 8,
                pong_timeout_ms: Some(60_000),
                flood_bytes: 1 << 20,
            };
        }
        if let Some(admin) = reference.listener(ADMIN_LISTENER) {
            let auth = BTreeMap::from([(
                "Authorization".to_owned(),
                format!("Bearer {}", reference.admin_secret),
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
    fn the_embedded_section_uses_every_listener_and_the_servers_secrets() {
        let mut reference = Reference {
            listeners: vec![
                ("assa".to_owned(), "127.0.0.1:1".parse().unwrap()),
                ("admin".to_owned(), "127.0.0.1:2".parse().unwrap()),
                ("assa-limits".to_owned(), "127.0.0.1:3".parse().unwrap()),
            ],
            jwt_secret: "jwt".to_owned(),
            admin_secret: "admin".to_owned(),
            ..Reference::default()
        };
        let t = AssaTarget::embedded(&reference).unwrap();
        assert_eq!(t.url, "tcp://127.0.0.1:1");
        assert_eq!(t.ping_interval_ms, 300);
        let provision = t.users.provision.as_ref().unwrap();
        assert_eq!(provision.url, "http://127.0.0.1:2/tokens");
        assert_eq!(provision.headers["Authorization"], "Bearer admin");
        assert_eq!(t.users.jwt_secret.as_deref(), Some("jwt"));
        assert!(t.announce.is_some());
        assert_eq!(t.limits_addr(), "127.0.0.1:3");
        assert_eq!(t.limits.max_connections, 8);
        assert!(t.validate().is_ok());
        reference.listeners.truncate(2);
        let t = AssaTarget::embedded(&reference).unwrap();
        assert_eq!(t.limits_addr(), "127.0.0.1:1");
        assert_eq!(t.limits.max_connections, 1000);
        reference.listeners.remove(0);
        assert!(AssaTarget::embedded(&reference).is_none());
    }
}
