//! The ASSA listener's settings (`[assa]` in the server's TOML) and its fault switches.

use std::{fmt, str::FromStr, time::Duration};

use protocols::assa::{framing::Framing, limits};
use serde::{Deserialize, Serialize};

/// Message boundaries on the TCP stream (the document is silent; see the README).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FramingName {
    /// JSON values one after another (newline-delimited or concatenated); one object per line out.
    #[default]
    JsonStream,
    /// A 4-byte big-endian length before each JSON message, both ways.
    LengthPrefixed,
}

impl From<FramingName> for Framing {
    fn from(f: FramingName) -> Self {
        match f {
            FramingName::JsonStream => Framing::JsonStream,
            FramingName::LengthPrefixed => Framing::LengthPrefixed,
        }
    }
}

/// `[assa]`: framing, the timeouts of §10.2, the limits of §10.1, and fault switches.
///
/// The defaults are the document's values; [`AssaConfig::test_profile`] shortens the timeouts for tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AssaConfig {
    /// Framing of the stream.
    pub framing: FramingName,
    /// Close a connection that has not authenticated by then (§10.2: 30 s).
    pub connect_timeout_ms: u64,
    /// Interval between server PINGs (§10.2: 30 s).
    pub ping_interval_ms: u64,
    /// Close a session that sent no PONG for this long (§10.2: 60 s).
    pub pong_timeout_ms: u64,
    /// Concurrent connections (§10.1: 1,000); the next one gets an ERROR and is closed.
    pub max_connections: usize,
    /// Largest JSON message accepted, bytes (§10.1: 1 MB).
    pub max_frame_bytes: usize,
    /// Messages in `JOIN_ROOM_RESPONSE.recent_messages`.
    pub recent_messages: usize,
    /// `max_participants` of a room created without one.
    pub default_max_participants: u64,
    /// `max_participants` of a video room created without one.
    pub default_video_max_participants: u64,
    /// Messages queued for one connection; a reader that lets it fill is cut off.
    pub queue_capacity: usize,
    /// The kernel's send buffer of each connection, bytes; 0 leaves the
    /// system's own (which grows to megabytes).
    pub send_buffer_bytes: usize,
    /// Fault switches (`assa:` faults of the kill matrix).
    pub faults: Vec<AssaFault>,
}

impl Default for AssaConfig {
    fn default() -> Self {
        AssaConfig {
            framing: FramingName::JsonStream,
            connect_timeout_ms: millis(limits::CONNECT_TIMEOUT),
            ping_interval_ms: millis(limits::PING_INTERVAL),
            pong_timeout_ms: millis(limits::PONG_TIMEOUT),
            max_connections: limits::MAX_CONNECTIONS,
            max_frame_bytes: limits::MAX_MESSAGE_BYTES,
            recent_messages: 50,
            default_max_participants: 100,
            default_video_max_participants: 10,
            queue_capacity: 1024,
            send_buffer_bytes: 0,
            faults: Vec::new(),
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl AssaConfig {
    /// Short timeouts for tests: connect 1 s, PING every 300 ms, no PONG for 900 ms closes.
    pub fn test_profile() -> Self {
        AssaConfig {
            connect_timeout_ms: 1_000,
            ping_interval_ms: 300,
            pong_timeout_ms: 900,
            ..AssaConfig::default()
        }
    }

    /// Whether `fault` is on.
    pub fn has_fault(&self, fault: AssaFault) -> bool {
        self.faults.contains(&fault)
    }
}

/// `[assa-limits]`: the second ASSA server (`assa-limits` listener), an
/// instance of its own (its own sessions and rooms, in memory) whose small
/// limits the suite's limit cases fill without refusing the cases beside
/// them. Everything not named here is `[assa]`'s, faults included.
///
/// Its PINGs are the document's (every 30 s, 60 s without PONG closes): a
/// client that stops reading is then cut off by its full queue, never by
/// the PONG timeout, within the time a case takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AssaLimitsConfig {
    /// Concurrent connections; the next one gets an ERROR and is closed.
    pub max_connections: usize,
    /// Messages queued for one connection; a reader that lets it fill is cut off.
    pub queue_capacity: usize,
    /// The kernel's send buffer of each connection, bytes (0: the system's
    /// own, which grows to megabytes): what a reader that stops reading
    /// holds beside its queue.
    pub send_buffer_bytes: usize,
    /// Interval between server PINGs.
    pub ping_interval_ms: u64,
    /// Close a session that sent no PONG for this long.
    pub pong_timeout_ms: u64,
}

impl Default for AssaLimitsConfig {
    fn default() -> Self {
        AssaLimitsConfig {
            max_connections: 8,
            queue_capacity: 16,
            send_buffer_bytes: 16 * 1024,
            ping_interval_ms: millis(limits::PING_INTERVAL),
            pong_timeout_ms: millis(limits::PONG_TIMEOUT),
        }
    }
}

impl AssaLimitsConfig {
    /// The settings of the `assa-limits` server: `assa` with these limits.
    pub fn apply(&self, assa: &AssaConfig) -> AssaConfig {
        AssaConfig {
            max_connections: self.max_connections,
            queue_capacity: self.queue_capacity,
            send_buffer_bytes: self.send_buffer_bytes,
            ping_interval_ms: self.ping_interval_ms,
            pong_timeout_ms: self.pong_timeout_ms,
            ..assa.clone()
        }
    }
}

/// A deliberate violation of the ASSA document, one behaviour each, for the
/// kill matrix: what a mutation of single server messages cannot reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum AssaFault {
    /// `assa:deliver-to-non-members`: NEW_MESSAGE and USER_JOINED go to every session.
    DeliverToNonMembers,
    /// `assa:trust-user-id`: a request's `user_id` is believed instead of refused.
    TrustUserId,
    /// `assa:ack-before-commit`: SEND_MESSAGE_RESPONSE goes out before the message is stored.
    AckBeforeCommit,
    /// `assa:skip-seq-id-echo`: responses carry a fresh `seq_id` instead of the request's.
    SkipSeqIdEcho,
    /// `assa:no-user-joined`: JOIN_ROOM broadcasts no USER_JOINED.
    NoUserJoined,
    /// `assa:accept-any-token`: CONNECT accepts any token that decodes, whatever its signature or expiry.
    AcceptAnyToken,
    /// `assa:no-ping`: the server never sends PING.
    NoPing,
    /// `assa:ignore-room-permissions`: closed rooms and `max_participants` are not enforced.
    IgnoreRoomPermissions,
    /// `assa:relay-outside-video-room`: SDP and ICE_CANDIDATE reach a target outside the video room.
    RelayOutsideVideoRoom,
    /// `assa:no-connect-timeout`: a connection that never sends CONNECT stays open.
    NoConnectTimeout,
    /// `assa:no-pong-timeout`: a session that never answers PING stays open.
    NoPongTimeout,
    /// `assa:no-connection-cap`: connections beyond `max_connections` are served.
    NoConnectionCap,
    /// `assa:unbounded-queue`: a reader that stops reading is never cut off; its queue grows.
    UnboundedQueue,
}

impl AssaFault {
    /// Every fault.
    pub const ALL: [AssaFault; 13] = [
        AssaFault::DeliverToNonMembers,
        AssaFault::TrustUserId,
        AssaFault::AckBeforeCommit,
        AssaFault::SkipSeqIdEcho,
        AssaFault::NoUserJoined,
        AssaFault::AcceptAnyToken,
        AssaFault::NoPing,
        AssaFault::IgnoreRoomPermissions,
        AssaFault::RelayOutsideVideoRoom,
        AssaFault::NoConnectTimeout,
        AssaFault::NoPongTimeout,
        AssaFault::NoConnectionCap,
        AssaFault::UnboundedQueue,
    ];

    /// The name, `assa:` prefix included.
    pub fn as_str(self) -> &'static str {
        match self {
            AssaFault::DeliverToNonMembers => "assa:deliver-to-non-members",
            AssaFault::TrustUserId => "assa:trust-user-id",
            AssaFault::AckBeforeCommit => "assa:ack-before-commit",
            AssaFault::SkipSeqIdEcho => "assa:skip-seq-id-echo",
            AssaFault::NoUserJoined => "assa:no-user-joined",
            AssaFault::AcceptAnyToken => "assa:accept-any-token",
            AssaFault::NoPing => "assa:no-ping",
            AssaFault::IgnoreRoomPermissions => "assa:ignore-room-permissions",
            AssaFault::RelayOutsideVideoRoom => "assa:relay-outside-video-room",
            AssaFault::NoConnectTimeout => "assa:no-connect-timeout",
            AssaFault::NoPongTimeout => "assa:no-pong-timeout",
            AssaFault::NoConnectionCap => "assa:no-connection-cap",
            AssaFault::UnboundedQueue => "assa:unbounded-queue",
        }
    }
}

impl fmt::Display for AssaFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A fault name that is not one of [`AssaFault::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown ASSA fault {0:?}")]
pub struct UnknownAssaFault(pub String);

impl FromStr for AssaFault {
    type Err = UnknownAssaFault;

    /// Reads a name with or without the `assa:` prefix.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bare = s.strip_prefix("assa:").unwrap_or(s);
        AssaFault::ALL
            .into_iter()
            .find(|f| &f.as_str()["assa:".len()..] == bare)
            .ok_or_else(|| UnknownAssaFault(s.to_owned()))
    }
}

impl TryFrom<String> for AssaFault {
    type Error = UnknownAssaFault;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<AssaFault> for String {
    fn from(f: AssaFault) -> String {
        f.as_str().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_names_round_trip_with_and_without_prefix() {
        for f in AssaFault::ALL {
            assert_eq!(f.as_str().parse(), Ok(f));
            assert_eq!(f.as_str()["assa:".len()..].parse(), Ok(f));
        }
        assert!("assa:nope".parse::<AssaFault>().is_err());
    }

    #[test]
    fn an_empty_table_gives_the_documents_values() {
        let config: AssaConfig = toml::from_str("").expect("parse");
        assert_eq!(config, AssaConfig::default());
        assert_eq!(config.ping_interval_ms, 30_000);
        assert_eq!(config.pong_timeout_ms, 60_000);
        let config: AssaConfig =
            toml::from_str("framing = \"length-prefixed\"\nfaults = [\"assa:no-ping\"]")
                .expect("parse");
        assert_eq!(config.framing, FramingName::LengthPrefixed);
        assert!(config.has_fault(AssaFault::NoPing));
    }
}
