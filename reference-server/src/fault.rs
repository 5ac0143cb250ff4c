//! Fault switches: deliberate protocol violations that prove a conformance case can fail.
//!
//! A mutation proxy between suite and server can drop, duplicate or edit
//! messages; these switches break what it cannot reach, at the application
//! level. Each one is named after the behaviour it breaks.

use std::{fmt, str::FromStr, time::Duration};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::config::{ConfigError, Profile};

/// One fault switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// Echo app: don't emit `auth` after a namespace connect.
    NoAuthEmit,
    /// Echo app: emit `auth` with `{"wrong":true}` instead of the handshake auth object.
    WrongAuth,
    /// Echo app: never answer `message` with `message-back`.
    NoMessageBack,
    /// Echo app: never acknowledge `message-with-ack`.
    NoAck,
    /// Echo app: acknowledge `message-with-ack` with the single argument `"wrong-ack"`.
    WrongAck,
    /// Echo app: echo binary attachments as arrays of numbers instead of binary attachments.
    BinaryAsNumbers,
    /// Echo app: don't serve the `/custom` namespace (it gets "Invalid namespace").
    NoCustomNamespace,
    /// Echo app: serve every namespace, so an unknown one gets no CONNECT_ERROR.
    AcceptAnyNamespace,
    /// Echo app: pingInterval and pingTimeout of one hour: the server never
    /// pings during a test and never closes a silent session.
    NoHeartbeat,
    /// Echo app: pingInterval four times the profile's (the handshake says so too).
    SlowPing,
    /// Echo app: connectTimeout of one hour: a session that never joins a
    /// namespace is not closed.
    NoConnectTimeout,
}

impl Fault {
    /// Every fault switch.
    pub const ALL: [Fault; 11] = [
        Fault::NoAuthEmit,
        Fault::WrongAuth,
        Fault::NoMessageBack,
        Fault::NoAck,
        Fault::WrongAck,
        Fault::BinaryAsNumbers,
        Fault::NoCustomNamespace,
        Fault::AcceptAnyNamespace,
        Fault::NoHeartbeat,
        Fault::SlowPing,
        Fault::NoConnectTimeout,
    ];

    /// The name used with `--fault` and in `faults = [...]`.
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::NoAuthEmit => "no-auth-emit",
            Fault::WrongAuth => "wrong-auth",
            Fault::NoMessageBack => "no-message-back",
            Fault::NoAck => "no-ack",
            Fault::WrongAck => "wrong-ack",
            Fault::BinaryAsNumbers => "binary-as-numbers",
            Fault::NoCustomNamespace => "no-custom-namespace",
            Fault::AcceptAnyNamespace => "accept-any-namespace",
            Fault::NoHeartbeat => "no-heartbeat",
            Fault::SlowPing => "slow-ping",
            Fault::NoConnectTimeout => "no-connect-timeout",
        }
    }

    /// Every known fault name, comma separated (for error messages and help).
    pub fn known_names() -> String {
        Fault::ALL.map(Fault::as_str).join(", ")
    }
}

/// How long "never during a test" is for the timing faults.
pub(crate) const NEVER: Duration = Duration::from_secs(3600);

/// The echo app's timings once its faults are applied.
pub(crate) fn effective_profile(profile: Profile, faults: &[Fault]) -> Profile {
    let mut p = profile;
    let never = NEVER.as_millis() as u64;
    if faults.contains(&Fault::SlowPing) {
        p.ping_interval_ms = p.ping_interval_ms.saturating_mul(4);
    }
    if faults.contains(&Fault::NoHeartbeat) {
        p.ping_interval_ms = never;
        p.ping_timeout_ms = never;
    }
    if faults.contains(&Fault::NoConnectTimeout) {
        p.connect_timeout_ms = never;
    }
    p
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Fault {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Fault::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| ConfigError::UnknownFault {
                name: s.to_owned(),
                known: Fault::known_names(),
            })
    }
}

impl Serialize for Fault {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Fault {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}
