//! The SocketCluster listener's settings (`[socketcluster]` in the server's TOML) and its fault switches.

use std::{fmt, str::FromStr, time::Duration};

use protocols::socketcluster::ProtocolVersion;
use serde::{Deserialize, Serialize};

/// `[socketcluster]`: protocol version, timings and limits.
///
/// The defaults are socketcluster-server 20's (pingInterval 8 s, pingTimeout 20 s,
/// handshakeTimeout 10 s); [`SocketclusterConfig::test_profile`] shortens them for tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SocketclusterConfig {
    /// 1 (the document's `#1`/`#2`) or 2 (empty-string ping and pong).
    pub protocol_version: u8,
    /// Interval between the server's pings, milliseconds.
    pub ping_interval_ms: u64,
    /// Inactivity that closes a connection with 4001, milliseconds (announced in the handshake).
    pub ping_timeout_ms: u64,
    /// Time a new connection has to send `#handshake` before 4005, milliseconds.
    pub handshake_timeout_ms: u64,
    /// Largest WebSocket message accepted, bytes; a larger one closes with 1009.
    pub max_frame_bytes: usize,
    /// Channels one socket may subscribe to; one more is refused with `ResourceLimitError`.
    pub max_subscriptions: usize,
    /// Publications queued for one socket while its writes wait on the
    /// socket; a reader that lets it fill is cut off (closed with 1008). A
    /// socket that takes its writes may queue 16 times as many (a turn of
    /// the publishers may outrun its writer, not the reader).
    pub queue_capacity: usize,
    /// The kernel's send buffer of each connection, bytes; 0 leaves the
    /// system's own (which grows to megabytes).
    pub send_buffer_bytes: usize,
    /// Concurrent connections; the next one is closed with 1013 (try again later).
    pub max_connections: usize,
    /// Channel name prefixes that require an authenticated socket to subscribe.
    pub auth_channels: Vec<String>,
}

impl Default for SocketclusterConfig {
    fn default() -> Self {
        SocketclusterConfig {
            protocol_version: 1,
            ping_interval_ms: 8_000,
            ping_timeout_ms: 20_000,
            handshake_timeout_ms: 10_000,
            max_frame_bytes: 1_000_000,
            max_subscriptions: 100,
            queue_capacity: 1024,
            send_buffer_bytes: 0,
            max_connections: 1000,
            auth_channels: vec!["private/".to_owned()],
        }
    }
}

/// `[socketcluster-limits]`: what the `socketcluster-limits` listener changes
/// of `[socketcluster]` (everything else, faults included, is the same).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SocketclusterLimitsConfig {
    /// Concurrent connections; the next one is closed with 1013 (try again later).
    pub max_connections: usize,
}

impl Default for SocketclusterLimitsConfig {
    fn default() -> Self {
        SocketclusterLimitsConfig {
            max_connections: 16,
        }
    }
}

impl SocketclusterLimitsConfig {
    /// The settings of the `socketcluster-limits` server: `socketcluster` with these limits.
    pub fn apply(&self, socketcluster: &SocketclusterConfig) -> SocketclusterConfig {
        SocketclusterConfig {
            max_connections: self.max_connections,
            ..socketcluster.clone()
        }
    }
}

impl SocketclusterConfig {
    /// Short timings for tests: ping every 300 ms, 1 s of silence closes, 1 s to handshake;
    /// 10 subscriptions, 64 connections, 64 KiB messages, a queue of 16 messages and
    /// 16 KiB of send buffer per socket (a reader that stops is cut off after a few hundred KiB).
    pub fn test_profile() -> Self {
        SocketclusterConfig {
            ping_interval_ms: 300,
            ping_timeout_ms: 1_000,
            handshake_timeout_ms: 1_000,
            max_frame_bytes: 65_536,
            max_subscriptions: 10,
            max_connections: 64,
            queue_capacity: 16,
            send_buffer_bytes: 16 * 1024,
            ..SocketclusterConfig::default()
        }
    }

    /// The protocol version (anything but 2 is protocol 1).
    pub fn version(&self) -> ProtocolVersion {
        match self.protocol_version {
            2 => ProtocolVersion::V2,
            _ => ProtocolVersion::V1,
        }
    }

    /// Whether subscribing to `channel` requires authentication.
    pub fn requires_auth(&self, channel: &str) -> bool {
        self.auth_channels.iter().any(|p| channel.starts_with(p))
    }

    pub(crate) fn ping_interval(&self) -> Duration {
        Duration::from_millis(self.ping_interval_ms)
    }

    pub(crate) fn ping_timeout(&self) -> Duration {
        Duration::from_millis(self.ping_timeout_ms)
    }

    pub(crate) fn handshake_timeout(&self) -> Duration {
        Duration::from_millis(self.handshake_timeout_ms)
    }
}

/// A deliberate violation of SocketCluster, one behaviour each, for the kill
/// matrix: what a mutation of single server messages cannot reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SocketclusterFault {
    /// `socketcluster:serve-before-handshake`: events before `#handshake` are served, not closed with 4009.
    ServeBeforeHandshake,
    /// `socketcluster:no-handshake-timeout`: a connection that never handshakes is kept open.
    NoHandshakeTimeout,
    /// `socketcluster:accept-handshake-without-cid`: a `#handshake` without `cid` is answered, not closed with 4008.
    AcceptHandshakeWithoutCid,
    /// `socketcluster:no-ping`: the server never pings.
    NoPing,
    /// `socketcluster:no-pong-timeout`: a silent client is never closed with 4001.
    NoPongTimeout,
    /// `socketcluster:close-on-bad-json`: a frame that is not JSON closes the connection.
    CloseOnBadJson,
    /// `socketcluster:answer-without-cid`: an event without `cid` is answered too.
    AnswerWithoutCid,
    /// `socketcluster:publish-to-everyone`: a publication reaches every socket, subscribed or not.
    PublishToEveryone,
    /// `socketcluster:accept-any-token`: any token that decodes authenticates, expired or badly signed.
    AcceptAnyToken,
    /// `socketcluster:ignore-auth-channels`: channels that require authentication accept anyone.
    IgnoreAuthChannels,
    /// `socketcluster:no-limits`: frame size, subscriptions and connections are not limited.
    NoLimits,
    /// `socketcluster:keep-unsubscribed`: `#unsubscribe` is acknowledged but the socket stays subscribed.
    KeepUnsubscribed,
    /// `socketcluster:unbounded-queue`: a socket that stops reading is never cut off; its queue grows.
    UnboundedQueue,
}

impl SocketclusterFault {
    /// Every fault.
    pub const ALL: [SocketclusterFault; 13] = [
        SocketclusterFault::ServeBeforeHandshake,
        SocketclusterFault::NoHandshakeTimeout,
        SocketclusterFault::AcceptHandshakeWithoutCid,
        SocketclusterFault::NoPing,
        SocketclusterFault::NoPongTimeout,
        SocketclusterFault::CloseOnBadJson,
        SocketclusterFault::AnswerWithoutCid,
        SocketclusterFault::PublishToEveryone,
        SocketclusterFault::AcceptAnyToken,
        SocketclusterFault::IgnoreAuthChannels,
        SocketclusterFault::NoLimits,
        SocketclusterFault::KeepUnsubscribed,
        SocketclusterFault::UnboundedQueue,
    ];

    /// The name, `socketcluster:` prefix included.
    pub fn as_str(self) -> &'static str {
        match self {
            SocketclusterFault::ServeBeforeHandshake => "socketcluster:serve-before-handshake",
            SocketclusterFault::NoHandshakeTimeout => "socketcluster:no-handshake-timeout",
            SocketclusterFault::AcceptHandshakeWithoutCid => {
                "socketcluster:accept-handshake-without-cid"
            }
            SocketclusterFault::NoPing => "socketcluster:no-ping",
            SocketclusterFault::NoPongTimeout => "socketcluster:no-pong-timeout",
            SocketclusterFault::CloseOnBadJson => "socketcluster:close-on-bad-json",
            SocketclusterFault::AnswerWithoutCid => "socketcluster:answer-without-cid",
            SocketclusterFault::PublishToEveryone => "socketcluster:publish-to-everyone",
            SocketclusterFault::AcceptAnyToken => "socketcluster:accept-any-token",
            SocketclusterFault::IgnoreAuthChannels => "socketcluster:ignore-auth-channels",
            SocketclusterFault::NoLimits => "socketcluster:no-limits",
            SocketclusterFault::KeepUnsubscribed => "socketcluster:keep-unsubscribed",
            SocketclusterFault::UnboundedQueue => "socketcluster:unbounded-queue",
        }
    }
}

impl fmt::Display for SocketclusterFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A fault name that is not one of [`SocketclusterFault::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown SocketCluster fault {0:?}")]
pub struct UnknownSocketclusterFault(pub String);

impl FromStr for SocketclusterFault {
    type Err = UnknownSocketclusterFault;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SocketclusterFault::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| UnknownSocketclusterFault(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_names_round_trip_and_carry_the_prefix() {
        for f in SocketclusterFault::ALL {
            assert!(f.as_str().starts_with("socketcluster:"), "{f}");
            assert_eq!(f.as_str().parse(), Ok(f));
        }
        assert!("socketcluster:nope".parse::<SocketclusterFault>().is_err());
    }

    #[test]
    fn an_empty_section_is_the_default_and_fields_override_it() {
        let config: SocketclusterConfig = toml::from_str("").expect("empty section");
        assert_eq!(config, SocketclusterConfig::default());
        let config: SocketclusterConfig =
            toml::from_str("protocol_version = 2\nmax_subscriptions = 3").expect("section");
        assert_eq!(config.version(), ProtocolVersion::V2);
        assert_eq!(config.max_subscriptions, 3);
        assert!(toml::from_str::<SocketclusterConfig>("nope = 1").is_err());
    }
}
