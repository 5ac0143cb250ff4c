//! Services the protocol listeners share: storage (users, rooms, channels and
//! messages, embedded by default), auth tokens (HS256 JWTs with the
//! configured secret) and the admin HTTP API (provisioning and triggers).

pub mod admin;
pub mod storage;
pub mod tokens;

use crate::{
    assa::AssaContext,
    chatpot::ChatpotContext,
    config::{Config, ListenerName},
    fault::Fault,
};

/// The services of one running server, opened once by `start` and handed to
/// every listener.
#[derive(Debug, Clone)]
pub struct Services {
    assa: Option<AssaContext>,
    chatpot: Option<ChatpotContext>,
}

impl Services {
    /// Opens storage (reading back what is stored), loads the token secret
    /// and applies the `assa:` faults of `config.faults`; nothing is opened
    /// when no enabled listener needs it.
    pub fn open(config: &Config) -> anyhow::Result<Services> {
        let enabled = |name: ListenerName| config.listeners.get(name).enabled;
        let chatpot = [ListenerName::Chatpot, ListenerName::Admin]
            .into_iter()
            .any(enabled)
            .then(|| ChatpotContext::new(&config.faults));
        let needed = [ListenerName::Assa, ListenerName::Admin]
            .into_iter()
            .any(|name| config.listeners.get(name).enabled);
        if !needed {
            return Ok(Services {
                assa: None,
                chatpot,
            });
        }
        let mut config = config.clone();
        for fault in &config.faults {
            if let Fault::Assa(f) = fault {
                if !config.assa.faults.contains(f) {
                    config.assa.faults.push(*f);
                }
            }
        }
        let assa = AssaContext::from_config(&config)?;
        Ok(Services {
            assa: Some(assa),
            chatpot,
        })
    }

    /// The ASSA state (sessions, rooms, messages) and its storage writer,
    /// opened when the `assa` or the `admin` listener is enabled.
    pub fn assa(&self) -> std::io::Result<AssaContext> {
        self.assa.clone().ok_or_else(|| {
            std::io::Error::other("the ASSA services were not opened: no listener asked for them")
        })
    }

    /// The Chatpot node's members, rooms and sockets, opened when the
    /// `chatpot` or the `admin` listener is enabled.
    pub fn chatpot(&self) -> std::io::Result<ChatpotContext> {
        self.chatpot.clone().ok_or_else(|| {
            std::io::Error::other(
                "the chatpot services were not opened: no listener asked for them",
            )
        })
    }

    /// Waits until everything submitted to storage is committed.
    pub fn flush(&self) -> anyhow::Result<()> {
        match &self.assa {
            Some(assa) => Ok(assa.flush()?),
            None => Ok(()),
        }
    }
}
