//! Services the protocol listeners share: storage (opened once: ASSA's
//! users, rooms and messages, Chatpot's and Circles' records; SQLite by
//! default), auth tokens (HS256 JWTs with the configured secret) and the
//! admin HTTP API (provisioning and triggers).

pub mod admin;
pub mod storage;
pub mod tokens;

use crate::{
    assa::AssaContext,
    chatpot::ChatpotContext,
    circles::{CirclesContext, CirclesFault},
    config::{Config, ListenerName},
    fault::Fault,
    services::storage::{Storage, StorageConfig},
};

/// The services of one running server, opened once by `start` and handed to
/// every listener.
#[derive(Debug, Clone, Default)]
pub struct Services {
    storage: Option<Storage>,
    assa: Option<AssaContext>,
    chatpot: Option<ChatpotContext>,
    circles: Option<CirclesContext>,
    assa_limits: Option<AssaContext>,
}

impl Services {
    /// Opens storage once (reading back what is stored) for every listener
    /// that keeps state, loads the token secret and applies the `assa:`,
    /// `chatpot:` and `circles:` faults of `config.faults`; nothing is
    /// opened when no enabled listener needs it.
    pub fn open(config: &Config) -> anyhow::Result<Services> {
        let enabled =
            |names: &[ListenerName]| names.iter().any(|name| config.listeners.get(*name).enabled);
        let stateful = [
            ListenerName::Assa,
            ListenerName::AssaLimits,
            ListenerName::Chatpot,
            ListenerName::Circles,
            ListenerName::Admin,
        ];
        if !enabled(&stateful) {
            return Ok(Services::default());
        }
        let (storage, snapshot) = Storage::open(&config.storage)?;
        let chatpot = match enabled(&[ListenerName::Chatpot, ListenerName::Admin]) {
            true => Some(ChatpotContext::new(
                &config.faults,
                storage.clone(),
                &snapshot,
            )?),
            false => None,
        };
        let circles = if enabled(&[ListenerName::Circles, ListenerName::Admin]) {
            let faults: Vec<CirclesFault> = config
                .faults
                .iter()
                .filter_map(|f| match f {
                    Fault::Circles(f) => Some(*f),
                    _ => None,
                })
                .collect();
            let tokens = tokens::Tokens::from_config(&config.auth)?;
            Some(CirclesContext::new(
                config.circles.clone(),
                faults,
                tokens,
                storage.clone(),
                &snapshot,
            )?)
        } else {
            None
        };
        if !enabled(&[
            ListenerName::Assa,
            ListenerName::AssaLimits,
            ListenerName::Admin,
        ]) {
            return Ok(Services {
                storage: Some(storage),
                chatpot,
                circles,
                ..Services::default()
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
        let assa = AssaContext::from_config(&config, &storage, snapshot)?;
        // The assa-limits server: its own sessions and rooms, in memory.
        let assa_limits = match config.listeners.get(ListenerName::AssaLimits).enabled {
            true => Some(AssaContext::with_tokens(
                &config.assa_limits.apply(&config.assa),
                assa.tokens(),
                &StorageConfig::memory(),
            )?),
            false => None,
        };
        Ok(Services {
            storage: Some(storage),
            assa: Some(assa),
            assa_limits,
            chatpot,
            circles,
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

    /// The Circles state, opened when the `circles` or the `admin` listener is enabled.
    pub fn circles(&self) -> std::io::Result<CirclesContext> {
        self.circles.clone().ok_or_else(|| {
            std::io::Error::other(
                "the Circles services were not opened: no listener asked for them",
            )
        })
    }

    /// The `assa-limits` server's state, opened when that listener is enabled.
    pub fn assa_limits(&self) -> std::io::Result<AssaContext> {
        self.assa_limits.clone().ok_or_else(|| {
            std::io::Error::other("the assa-limits services were not opened: the listener is off")
        })
    }

    /// The server's storage, opened when a listener that keeps state is enabled.
    pub fn storage(&self) -> std::io::Result<Storage> {
        self.storage.clone().ok_or_else(|| {
            std::io::Error::other("storage was not opened: no listener that keeps state is on")
        })
    }

    /// Waits until everything submitted to storage is committed.
    pub fn flush(&self) -> anyhow::Result<()> {
        match &self.storage {
            Some(storage) => Ok(storage.flush()?),
            None => Ok(()),
        }
    }
}
