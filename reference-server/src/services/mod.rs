//! Services the protocol listeners share: storage (users, rooms, channels and
//! messages, embedded by default), auth tokens (HS256 JWTs with the
//! configured secret) and the admin HTTP API (provisioning and triggers).

pub mod admin;
pub mod storage;
pub mod tokens;

use crate::{assa::AssaContext, config::Config, fault::Fault};

/// The services of one running server, opened once by `start` and handed to
/// every listener.
#[derive(Debug, Clone)]
pub struct Services {
    assa: AssaContext,
}

impl Services {
    /// Opens storage (reading back what is stored), loads the token secret
    /// and applies the `assa:` faults of `config.faults`.
    pub fn open(config: &Config) -> anyhow::Result<Services> {
        let mut config = config.clone();
        for fault in &config.faults {
            if let Fault::Assa(f) = fault {
                if !config.assa.faults.contains(f) {
                    config.assa.faults.push(*f);
                }
            }
        }
        let assa = AssaContext::from_config(&config)?;
        Ok(Services { assa })
    }

    /// The ASSA state (sessions, rooms, messages) and its storage writer.
    pub fn assa(&self) -> &AssaContext {
        &self.assa
    }

    /// Waits until everything submitted to storage is committed.
    pub fn flush(&self) -> anyhow::Result<()> {
        Ok(self.assa.flush()?)
    }
}
