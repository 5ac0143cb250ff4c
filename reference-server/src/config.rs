//! Server configuration: listeners, the echo app's timing profile and fault switches, loaded from TOML.

use std::{
    collections::BTreeMap, fmt, net::IpAddr, net::Ipv4Addr, path::Path, str::FromStr,
    time::Duration,
};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::assa::{AssaConfig, AssaLimitsConfig};
use crate::chatpot::ChatpotConfig;
use crate::fault::Fault;
use crate::listeners::socketcluster::{SocketclusterConfig, SocketclusterLimitsConfig};
use crate::listeners::sockets::SocketsConfig;
use crate::services::{admin::AdminConfig, storage::StorageConfig, tokens::AuthConfig};

/// Everything the reference server needs to start.
///
/// Every field has a default, so an empty TOML file is a valid configuration:
///
/// ```toml
/// bind = "127.0.0.1"
/// faults = ["echo:no-auth-emit"]
///
/// [listeners.echo]
/// port = 3000        # 0 picks a free port
/// enabled = true
///
/// [echo.profile]
/// ping_interval_ms = 300
/// ping_timeout_ms = 200
/// max_payload = 1000000
/// connect_timeout_ms = 1000
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address every listener binds to (loopback by default).
    pub bind: IpAddr,
    /// One listener per protocol.
    pub listeners: Listeners,
    /// The socket.io echo app.
    pub echo: EchoConfig,
    /// Fault switches: deliberate protocol violations for the kill matrix.
    pub faults: Vec<Fault>,
    /// The ASSA listener: framing, timeouts, limits, `assa:` faults.
    pub assa: AssaConfig,
    /// The `assa-limits` listener: what it changes of `[assa]`.
    #[serde(rename = "assa-limits")]
    pub assa_limits: AssaLimitsConfig,
    /// The SocketCluster listener: protocol version, timings, limits.
    pub socketcluster: SocketclusterConfig,
    /// The `socketcluster-limits` listener: what it changes of `[socketcluster]`.
    #[serde(rename = "socketcluster-limits")]
    pub socketcluster_limits: SocketclusterLimitsConfig,
    /// The Sockets listener: Socket.IO timings, the username limit.
    pub sockets: SocketsConfig,
    /// The Chatpot listener: what `GET /status` announces, timings.
    pub chatpot: ChatpotConfig,
    /// The Circles listener: timings, TURN secret, STUN and TURN servers.
    pub circles: crate::circles::CirclesConfig,
    /// Where the token secret comes from.
    pub auth: AuthConfig,
    /// Where data is stored.
    pub storage: StorageConfig,
    /// The admin HTTP API.
    pub admin: AdminConfig,
}

impl Default for Config {
    /// Loopback, the well-known ports of DESIGN.md, the test profile, no faults.
    fn default() -> Self {
        Config {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            listeners: Listeners::default(),
            echo: EchoConfig::default(),
            faults: Vec::new(),
            assa: AssaConfig::default(),
            assa_limits: AssaLimitsConfig::default(),
            socketcluster: SocketclusterConfig::default(),
            socketcluster_limits: SocketclusterLimitsConfig::default(),
            sockets: SocketsConfig::default(),
            chatpot: ChatpotConfig::default(),
            circles: crate::circles::CirclesConfig::default(),
            auth: AuthConfig::default(),
            storage: StorageConfig::default(),
            admin: AdminConfig::default(),
        }
    }
}

impl Config {
    /// The configuration of tests and of `chatspec run` without a target:
    /// loopback, every listener on port 0 (free ports; the suites' extra
    /// instances too), the test profile, no faults, storage in memory, and
    /// the development secrets set explicitly, so that the environment
    /// (`CHATSPEC_JWT_SECRET`, `CHATSPEC_ADMIN_SECRET`) cannot change them:
    /// the embedded targets are built with these.
    pub fn embedded() -> Self {
        let mut config = Config::default();
        for name in ListenerName::ALL {
            *config.listeners.get_mut(name) = ListenerConfig {
                enabled: true,
                port: 0,
            };
        }
        config.assa = crate::assa::AssaConfig::test_profile();
        config.socketcluster = SocketclusterConfig::test_profile();
        config.chatpot = ChatpotConfig::test_profile();
        // Their suites check the apps; the echo app's (socketio.*) checks
        // the heartbeat, with the test profile's own timings.
        config.chatpot.profile = Profile::test_patient();
        config.circles.profile = Profile::test_patient();
        config.sockets.profile = Profile::test_patient();
        config.storage = StorageConfig::memory();
        config.auth.secret = Some(crate::services::tokens::DEV_SECRET.to_owned());
        config.admin.secret = Some(crate::services::admin::DEV_ADMIN_SECRET.to_owned());
        config
    }

    /// Parses a configuration from TOML text.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse(e.message().to_owned()))
    }

    /// Reads and parses a TOML configuration file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::from_toml(&text)
    }

    /// Whether the fault switch `fault` is on.
    pub fn has_fault(&self, fault: Fault) -> bool {
        self.faults.contains(&fault)
    }
}

/// Errors of reading a configuration or command line overrides.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read {path}: {message}")]
    Read {
        /// The file that was asked for.
        path: String,
        /// The operating system's reason.
        message: String,
    },
    /// The configuration is not valid TOML or does not fit [`Config`].
    #[error("invalid configuration: {0}")]
    Parse(String),
    /// A fault switch name that the server does not know.
    #[error("unknown fault {name:?}; known faults: {known}")]
    UnknownFault {
        /// The name given.
        name: String,
        /// Every known fault name, comma separated.
        known: String,
    },
    /// A listener name that the server does not know.
    #[error("unknown listener {name:?}; known listeners: {known}")]
    UnknownListener {
        /// The name given.
        name: String,
        /// Every known listener name, comma separated.
        known: String,
    },
    /// A `NAME=PORT` override that is not of that form.
    #[error("invalid port override {0:?}: expected NAME=PORT, e.g. echo=3000")]
    PortSpec(String),
}

/// The name of one listener: the five protocols and the echo app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ListenerName {
    /// Chatpot chat over Socket.IO.
    Chatpot,
    /// The "Sockets" memo over Socket.IO.
    Sockets,
    /// The Flask-SocketIO "circles" app over Socket.IO.
    Circles,
    /// SocketCluster protocol V1 over raw WebSocket, at `/socketcluster/`.
    Socketcluster,
    /// The same SocketCluster application speaking protocol version 2
    /// (empty-string ping and pong), on a port of its own; off unless enabled.
    SocketclusterV2,
    /// The same SocketCluster application with a small connection cap
    /// (`[socketcluster-limits]`) on a port of its own, so that the suite's
    /// connection-limit case fills it without refusing the cases beside it;
    /// off unless enabled.
    SocketclusterLimits,
    /// ASSA over TCP.
    Assa,
    /// A second ASSA server on a port of its own, with small limits
    /// (`[assa-limits]`) that the suite's limit cases can fill without
    /// refusing the cases beside them; off unless enabled.
    AssaLimits,
    /// The socket.io echo app of Socket.IO's own protocol test suites.
    Echo,
    /// The admin HTTP API (provisioning and triggers), on loopback.
    Admin,
}

/// The port table: every listener's name, well-known port (DESIGN.md) and
/// whether it is enabled when its `[listeners.<name>]` table is left out, in
/// the order of the enum.
const TABLE: [(ListenerName, &str, u16, bool); 10] = [
    (ListenerName::Chatpot, "chatpot", 4001, true),
    (ListenerName::Sockets, "sockets", 4002, true),
    (ListenerName::Circles, "circles", 4003, true),
    (ListenerName::Socketcluster, "socketcluster", 8000, true),
    (
        ListenerName::SocketclusterV2,
        "socketcluster-v2",
        8001,
        false,
    ),
    (
        ListenerName::SocketclusterLimits,
        "socketcluster-limits",
        8002,
        false,
    ),
    (ListenerName::Assa, "assa", 12345, true),
    (ListenerName::AssaLimits, "assa-limits", 12346, false),
    (ListenerName::Echo, "echo", 3000, true),
    (ListenerName::Admin, "admin", 12380, true),
];

// `TABLE[name as usize]` is the row of `name`.
const _: () = {
    let mut i = 0;
    while i < TABLE.len() {
        assert!(
            TABLE[i].0 as usize == i,
            "TABLE is in the order of ListenerName"
        );
        i += 1;
    }
};

impl ListenerName {
    /// Every listener, in the order of DESIGN.md.
    pub const ALL: [ListenerName; TABLE.len()] = {
        let mut all = [ListenerName::Echo; TABLE.len()];
        let mut i = 0;
        while i < TABLE.len() {
            all[i] = TABLE[i].0;
            i += 1;
        }
        all
    };

    /// The name used in configuration files and on the command line.
    pub fn as_str(self) -> &'static str {
        TABLE[self as usize].1
    }

    /// The well-known port of this listener.
    pub fn default_port(self) -> u16 {
        TABLE[self as usize].2
    }

    /// Whether it runs when the configuration does not say.
    pub fn enabled_by_default(self) -> bool {
        TABLE[self as usize].3
    }

    /// Every listener name, comma separated (for error messages).
    pub fn known_names() -> String {
        ListenerName::ALL.map(ListenerName::as_str).join(", ")
    }
}

impl fmt::Display for ListenerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ListenerName {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ListenerName::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| ConfigError::UnknownListener {
                name: s.to_owned(),
                known: ListenerName::known_names(),
            })
    }
}

impl Serialize for ListenerName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ListenerName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// One listener's switch and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerConfig {
    /// Whether the listener is started.
    #[serde(default = "enabled_default")]
    pub enabled: bool,
    /// TCP port; 0 picks a free one.
    pub port: u16,
}

fn enabled_default() -> bool {
    true
}

/// Every listener's [`ListenerConfig`]: the `[listeners.<name>]` tables.
/// A table left out keeps the listener on its well-known port, enabled
/// unless it is one of the suites' extra instances (`socketcluster-v2`,
/// `socketcluster-limits`, `assa-limits`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listeners([ListenerConfig; TABLE.len()]);

impl Default for Listeners {
    fn default() -> Self {
        Listeners(ListenerName::ALL.map(|name| ListenerConfig {
            enabled: name.enabled_by_default(),
            port: name.default_port(),
        }))
    }
}

impl Listeners {
    /// The configuration of the listener `name`.
    pub fn get(&self, name: ListenerName) -> &ListenerConfig {
        &self.0[name as usize]
    }

    /// The configuration of the listener `name`, to change it.
    pub fn get_mut(&mut self, name: ListenerName) -> &mut ListenerConfig {
        &mut self.0[name as usize]
    }

    /// Every listener and its configuration, in the order of [`ListenerName::ALL`].
    pub fn iter(&self) -> impl Iterator<Item = (ListenerName, &ListenerConfig)> {
        ListenerName::ALL.into_iter().zip(&self.0)
    }
}

impl Serialize for Listeners {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Listeners {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let given = BTreeMap::<ListenerName, ListenerConfig>::deserialize(deserializer)?;
        let mut listeners = Listeners::default();
        for (name, config) in given {
            *listeners.get_mut(name) = config;
        }
        Ok(listeners)
    }
}

/// The socket.io echo app's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EchoConfig {
    /// Engine.IO and Socket.IO timings and limits (default: [`Profile::test`]).
    pub profile: Profile,
}

/// Engine.IO / Socket.IO timings and limits of a socket.io server.
/// A field left out of a TOML file keeps its [`Profile::test`] value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Profile {
    /// Engine.IO `pingInterval`, milliseconds.
    pub ping_interval_ms: u64,
    /// Engine.IO `pingTimeout`, milliseconds.
    pub ping_timeout_ms: u64,
    /// Engine.IO `maxPayload`, bytes (the largest HTTP long-polling body accepted).
    pub max_payload: u64,
    /// Socket.IO `connectTimeout`: how long a session may stay without joining a namespace, milliseconds.
    pub connect_timeout_ms: u64,
}

impl Default for Profile {
    fn default() -> Self {
        Profile::test()
    }
}

impl Profile {
    /// The values Socket.IO's own protocol test suites require of the server
    /// they test: pingInterval 300, pingTimeout 200, maxPayload 1000000,
    /// connectTimeout 1000.
    pub const fn test() -> Self {
        Profile {
            ping_interval_ms: 300,
            ping_timeout_ms: 200,
            max_payload: 1_000_000,
            connect_timeout_ms: 1000,
        }
    }

    /// The test profile with a pingTimeout of 2000 ms and a connectTimeout
    /// of 5000 ms, for servers under test whose timeouts are not what is
    /// checked (the chat apps in the embedded run, the echo app of the
    /// stock-client tests): on a loaded machine one HTTP exchange takes
    /// longer than the test profile's 200 ms, and a client that answers
    /// every ping at once, or sends its CONNECT after two other requests,
    /// would still miss them. Pings still come every 300 ms.
    pub const fn test_patient() -> Self {
        Profile {
            ping_timeout_ms: 2000,
            connect_timeout_ms: 5000,
            ..Profile::test()
        }
    }

    /// The defaults of the Node socket.io 4 server: pingInterval 25000,
    /// pingTimeout 20000, maxPayload 1000000, connectTimeout 45000.
    pub const fn socketio_default() -> Self {
        Profile {
            ping_interval_ms: 25_000,
            ping_timeout_ms: 20_000,
            max_payload: 1_000_000,
            connect_timeout_ms: 45_000,
        }
    }

    /// `ping_interval_ms` as a duration.
    pub fn ping_interval(&self) -> Duration {
        Duration::from_millis(self.ping_interval_ms)
    }

    /// `ping_timeout_ms` as a duration.
    pub fn ping_timeout(&self) -> Duration {
        Duration::from_millis(self.ping_timeout_ms)
    }

    /// `connect_timeout_ms` as a duration.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }
}
