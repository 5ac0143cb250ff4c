//! Services the protocol listeners share: storage (users, rooms, channels and
//! messages, embedded by default), auth tokens (HS256 JWTs with the
//! configured secret) and the admin HTTP API (provisioning and triggers).

pub mod admin;
pub mod storage;
pub mod tokens;

use crate::{
    assa::AssaContext,
    config::{Config, ListenerName},
    fault::Fault,
    services::storage::StorageConfig,
};

/// The services of one running server, opened once by `start` and handed to
/// every listener.
#[derive(Debug, Clone)]
pub struct Services {
    assa: Option<AssaContext>,
    assa_limits: Option<AssaContext>,
}

impl Services {
    /// Opens storage (reading back what is stored), loads the token secret
    /// and applies the `assa:` faults of `config.faults`; nothing is opened
    /// when no enabled listener needs it.
    pub fn open(config: &Config) -> anyhow::Result<Services> {
        let needed = [
            ListenerName::Assa,
            ListenerName::AssaLimits,
            ListenerName::Admin,
        ]
        .into_iter()
        .any(|name| config.listeners.get(name).enabled);
        if !needed {
            return Ok(Services {
                assa: None,
                assa_limits: None,
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
            assa: Some(assa),
            assa_limits,
        })
    }

    /// The ASSA state (sessions, rooms, messages) and its storage writer,
    /// opened when the `assa` or the `admin` listener is enabled.
    pub fn assa(&self) -> std::io::Result<AssaContext> {
        self.assa.clone().ok_or_else(|| {
            std::io::Error::other("the ASSA services were not opened: no listener asked for them")
        })
    }

    /// The `assa-limits` server's state, opened when that listener is enabled.
    pub fn assa_limits(&self) -> std::io::Result<AssaContext> {
        self.assa_limits.clone().ok_or_else(|| {
            std::io::Error::other("the assa-limits services were not opened: the listener is off")
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
