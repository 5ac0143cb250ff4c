//! Server configuration: listeners, the echo app's timing profile and fault switches, loaded from TOML.

use std::{fmt, net::IpAddr, net::Ipv4Addr, path::Path, str::FromStr, time::Duration};

use serde::{Deserialize, Serialize};

use crate::assa::AssaConfig;
use crate::fault::Fault;
use crate::services::{admin::AdminConfig, storage::StorageConfig, tokens::AuthConfig};

/// Everything the reference server needs to start.
///
/// Every field has a default, so an empty TOML file is a valid configuration:
///
/// ```toml
/// bind = "127.0.0.1"
/// faults = ["no-auth-emit"]
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
            auth: AuthConfig::default(),
            storage: StorageConfig::default(),
            admin: AdminConfig::default(),
        }
    }
}

impl Config {
    /// The configuration of tests and of `chatspec run` without a target:
    /// loopback, every port 0 (free ports), the test profile, no faults.
    pub fn embedded() -> Self {
        let mut config = Config::default();
        for name in ListenerName::ALL {
            config.listeners.get_mut(name).port = 0;
        }
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
    /// SocketCluster protocol V1 over raw WebSocket.
    Socketcluster,
    /// ASSA over TCP.
    Assa,
    /// The socket.io echo app of Socket.IO's own protocol test suites.
    Echo,
}

impl ListenerName {
    /// Every listener, in the order of DESIGN.md.
    pub const ALL: [ListenerName; 6] = [
        ListenerName::Chatpot,
        ListenerName::Sockets,
        ListenerName::Circles,
        ListenerName::Socketcluster,
        ListenerName::Assa,
        ListenerName::Echo,
    ];

    /// The name used in configuration files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ListenerName::Chatpot => "chatpot",
            ListenerName::Sockets => "sockets",
            ListenerName::Circles => "circles",
            ListenerName::Socketcluster => "socketcluster",
            ListenerName::Assa => "assa",
            ListenerName::Echo => "echo",
        }
    }

    /// The well-known port of this listener.
    pub fn default_port(self) -> u16 {
        match self {
            ListenerName::Chatpot => 4001,
            ListenerName::Sockets => 4002,
            ListenerName::Circles => 4003,
            ListenerName::Socketcluster => 8000,
            ListenerName::Assa => 12345,
            ListenerName::Echo => 3000,
        }
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
                known: ListenerName::ALL.map(ListenerName::as_str).join(", "),
            })
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

/// The listeners, one per protocol plus the echo app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listeners {
    /// `chatpot`, Socket.IO (not served yet).
    #[serde(default = "port_default::<4001>")]
    pub chatpot: ListenerConfig,
    /// `sockets`, Socket.IO (not served yet).
    #[serde(default = "port_default::<4002>")]
    pub sockets: ListenerConfig,
    /// `circles`, Socket.IO (not served yet).
    #[serde(default = "port_default::<4003>")]
    pub circles: ListenerConfig,
    /// `socketcluster`, WebSocket at `/socketcluster/` (not served yet).
    #[serde(default = "port_default::<8000>")]
    pub socketcluster: ListenerConfig,
    /// `assa`, TCP (not served yet).
    #[serde(default = "port_default::<12345>")]
    pub assa: ListenerConfig,
    /// The socket.io echo app at `/socket.io/`.
    #[serde(default = "port_default::<3000>")]
    pub echo: ListenerConfig,
}

fn port_default<const PORT: u16>() -> ListenerConfig {
    ListenerConfig {
        enabled: true,
        port: PORT,
    }
}

impl Default for Listeners {
    fn default() -> Self {
        Listeners {
            chatpot: port_default::<4001>(),
            sockets: port_default::<4002>(),
            circles: port_default::<4003>(),
            socketcluster: port_default::<8000>(),
            assa: port_default::<12345>(),
            echo: port_default::<3000>(),
        }
    }
}

impl Listeners {
    /// The configuration of the listener `name`.
    pub fn get(&self, name: ListenerName) -> &ListenerConfig {
        match name {
            ListenerName::Chatpot => &self.chatpot,
            ListenerName::Sockets => &self.sockets,
            ListenerName::Circles => &self.circles,
            ListenerName::Socketcluster => &self.socketcluster,
            ListenerName::Assa => &self.assa,
            ListenerName::Echo => &self.echo,
        }
    }

    /// The configuration of the listener `name`, to change it.
    pub fn get_mut(&mut self, name: ListenerName) -> &mut ListenerConfig {
        match name {
            ListenerName::Chatpot => &mut self.chatpot,
            ListenerName::Sockets => &mut self.sockets,
            ListenerName::Circles => &mut self.circles,
            ListenerName::Socketcluster => &mut self.socketcluster,
            ListenerName::Assa => &mut self.assa,
            ListenerName::Echo => &mut self.echo,
        }
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
