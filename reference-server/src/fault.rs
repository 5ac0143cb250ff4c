//! Fault switches: deliberate protocol violations that prove a conformance case can fail.
//!
//! A mutation proxy between suite and server can drop, duplicate or edit
//! messages; these switches break what it cannot reach, at the application
//! level. Each listener declares its own (`listeners/<name>.rs`), named
//! `<listener>:<behaviour it breaks>`, e.g. `echo:no-ack`.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{
    assa::AssaFault,
    chatpot::ChatpotFault,
    circles::CirclesFault,
    config::{ConfigError, ListenerName},
    listeners::{self, echo::EchoFault, socketcluster::SocketclusterFault, sockets::SocketsFault},
};

/// One fault switch, of one listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// A fault of the `echo` listener (the socket.io echo app and `/engine.io/`).
    Echo(EchoFault),
    /// A fault of the `assa` listener.
    Assa(AssaFault),
    /// A fault of the `socketcluster` listener.
    Socketcluster(SocketclusterFault),
    /// A fault of the `sockets` listener.
    Sockets(SocketsFault),
    /// A fault of the `chatpot` listener.
    Chatpot(ChatpotFault),
    /// A fault of the `circles` listener.
    Circles(CirclesFault),
}

impl Fault {
    /// Every fault switch of every implemented listener, in registry order.
    pub fn all() -> Vec<Fault> {
        listeners::listeners()
            .iter()
            .flat_map(|l| l.faults())
            .collect()
    }

    /// The listener whose behaviour it breaks.
    pub fn listener(self) -> ListenerName {
        match self {
            Fault::Echo(_) => ListenerName::Echo,
            Fault::Assa(_) => ListenerName::Assa,
            Fault::Socketcluster(_) => ListenerName::Socketcluster,
            Fault::Sockets(_) => ListenerName::Sockets,
            Fault::Chatpot(_) => ListenerName::Chatpot,
            Fault::Circles(_) => ListenerName::Circles,
        }
    }

    /// The name used with `--fault` and in `faults = [...]`: `<listener>:<behaviour>`.
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::Echo(f) => f.as_str(),
            Fault::Assa(f) => f.as_str(),
            Fault::Socketcluster(f) => f.as_str(),
            Fault::Sockets(f) => f.as_str(),
            Fault::Chatpot(f) => f.as_str(),
            Fault::Circles(f) => f.as_str(),
        }
    }

    /// Every known fault name, comma separated (for error messages and help).
    pub fn known_names() -> String {
        Fault::all()
            .into_iter()
            .map(Fault::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl From<AssaFault> for Fault {
    fn from(fault: AssaFault) -> Self {
        Fault::Assa(fault)
    }
}

impl From<EchoFault> for Fault {
    fn from(fault: EchoFault) -> Self {
        Fault::Echo(fault)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Fault {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Fault::all()
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
