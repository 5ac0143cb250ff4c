//! The `chatspec token` command line: mints a token the reference server accepts.

use std::path::PathBuf;

use anyhow::Context;

use crate::config::Config;
use crate::services::tokens::{Claims, Tokens};

/// Arguments of `chatspec token`.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct TokenArgs {
    /// The user id (the token's `sub`).
    #[arg(long, value_name = "ID")]
    pub user: u64,
    /// Display name given to the user when the server first sees them.
    #[arg(long, value_name = "N")]
    pub nickname: Option<String>,
    /// Profile image path given to the user when the server first sees them.
    #[arg(long, value_name = "URL")]
    pub profile_image: Option<String>,
    /// Bind the token to a device: ASSA's CONNECT must then name this
    /// `device_id`; Circles authenticates the socket as that device.
    #[arg(long, value_name = "ID")]
    pub device: Option<String>,
    /// Lifetime in seconds [default: the configuration's, 86400].
    #[arg(long, value_name = "SECS")]
    pub expires_in: Option<u64>,
    /// The server's TOML configuration, for its `[auth]` secret.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl TokenArgs {
    /// The signed token.
    pub fn mint(&self) -> anyhow::Result<String> {
        let config = match &self.config {
            Some(path) => Config::load(path)
                .with_context(|| format!("loading configuration {}", path.display()))?,
            None => Config::default(),
        };
        let tokens = Tokens::from_config(&config.auth)?;
        let now = crate::services::tokens::unix_now_secs();
        let mut claims = Claims::new(
            self.user,
            now,
            self.expires_in
                .unwrap_or(config.auth.default_expires_in_secs),
        );
        claims.nickname = self.nickname.clone();
        claims.profile_image = self.profile_image.clone();
        claims.device = self.device.clone();
        Ok(tokens.mint(&claims)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_signed_with_the_configured_secret_and_carries_the_claims() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("server.toml");
        std::fs::write(&config, "[auth]\nsecret = \"from-the-file\"\n").expect("write");
        let args = TokenArgs {
            user: 123,
            nickname: Some("호스트닉네임".to_owned()),
            profile_image: None,
            device: Some("d1".to_owned()),
            expires_in: Some(60),
            config: Some(config),
        };
        let token = args.mint().expect("mint");
        let now = crate::services::tokens::unix_now_secs();
        let claims = Tokens::new(b"from-the-file")
            .verify(&token, now)
            .expect("verifies with the configured secret");
        assert_eq!(claims.user_id(), Some(123));
        assert_eq!(claims.nickname.as_deref(), Some("호스트닉네임"));
        assert_eq!(claims.device.as_deref(), Some("d1"));
        assert!(claims.exp <= now + 60);
        assert!(Tokens::development().verify(&token, now).is_err());
    }
}
