//! HS256 JSON Web Tokens: the identity a client presents, minted by `chatspec token` and the admin API.
//!
//! Claims: `sub` (the user id, a decimal string), `exp` (seconds since the
//! Unix epoch), `iat`, and the optional `nickname`, `profile_image` and
//! `device`. Only HS256 is accepted: `alg: none` and every other algorithm
//! are refused. Expiry is checked against the `now` the caller gives, so the
//! listeners' sans-IO cores can be tested with a simulated clock.
//!
//! Without a configured secret the server and `chatspec token` share
//! [`DEV_SECRET`], and the server binds loopback only and says so on stderr.

use std::path::PathBuf;

use jsonwebtoken::{errors::ErrorKind, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// The development secret used when none is configured. Public on purpose:
/// it only protects a server bound to loopback.
pub const DEV_SECRET: &str = "chatspec-development-secret-do-not-use-in-production";

/// The environment variable read for the secret unless configured otherwise.
pub const SECRET_ENV: &str = "CHATSPEC_JWT_SECRET";

/// Wall-clock seconds since the Unix epoch, for minting and checking tokens outside a sans-IO core.
pub fn unix_now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Where the signing secret comes from (`[auth]` in the server's TOML).
///
/// Precedence: `secret`, then `secret_file`, then the environment variable
/// `secret_env` (default [`SECRET_ENV`]), then [`DEV_SECRET`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// The secret itself.
    pub secret: Option<String>,
    /// A file holding the secret (surrounding whitespace is trimmed).
    pub secret_file: Option<PathBuf>,
    /// The environment variable holding the secret.
    pub secret_env: String,
    /// Lifetime of a token minted without `--expires-in`, seconds.
    pub default_expires_in_secs: u64,
}

impl AuthConfig {
    /// The secret configured (see the precedence above); `None`: none is,
    /// and the development secret is in force.
    pub fn resolve_secret(&self) -> Result<Option<String>, TokenError> {
        let secret = if let Some(secret) = &self.secret {
            Some(secret.clone())
        } else if let Some(path) = &self.secret_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| TokenError::Secret(format!("{}: {e}", path.display())))?;
            Some(text.trim().to_owned())
        } else {
            std::env::var(&self.secret_env).ok()
        };
        match secret {
            Some(s) if s.is_empty() => Err(TokenError::Secret("the secret is empty".to_owned())),
            secret => Ok(secret),
        }
    }

    /// The secret in force: the configured one, or [`DEV_SECRET`].
    pub fn secret_in_force(&self) -> Result<String, TokenError> {
        Ok(self
            .resolve_secret()?
            .unwrap_or_else(|| DEV_SECRET.to_owned()))
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            secret: None,
            secret_file: None,
            secret_env: SECRET_ENV.to_owned(),
            default_expires_in_secs: 24 * 3600,
        }
    }
}

/// The claims of a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id, as a decimal string.
    pub sub: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// Issued at, seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// Display name given to a user created from this token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// Profile image path given to a user created from this token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_image: Option<String>,
    /// The device the token was issued for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// The user name a SocketCluster `login` signed the token for (`setAuthToken({user})`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

impl Claims {
    /// Claims for `user_id`, issued at `now_secs`, valid for `expires_in_secs`.
    pub fn new(user_id: u64, now_secs: u64, expires_in_secs: u64) -> Self {
        Claims {
            sub: user_id.to_string(),
            exp: now_secs.saturating_add(expires_in_secs),
            iat: Some(now_secs),
            nickname: None,
            profile_image: None,
            device: None,
            user: None,
        }
    }

    /// The user id `sub` names, if it is a non-negative integer.
    pub fn user_id(&self) -> Option<u64> {
        self.sub.parse().ok()
    }
}

/// Why a token is refused, or a secret cannot be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No token, or an empty string.
    #[error("no token")]
    Missing,
    /// Not a JWT: wrong shape, bad base64 or JSON, or claims of the wrong type.
    #[error("not a valid JWT: {0}")]
    Malformed(String),
    /// The header names another algorithm than HS256 (`none` included).
    #[error("algorithm not accepted; only HS256 is")]
    WrongAlgorithm,
    /// The signature does not match the server's secret.
    #[error("bad signature")]
    BadSignature,
    /// `exp` is in the past.
    #[error("token expired at {exp}")]
    Expired {
        /// The token's `exp`.
        exp: u64,
    },
    /// `sub` is absent or not a user id.
    #[error("`sub` is not a user id: {0:?}")]
    BadSubject(String),
    /// The secret file cannot be read, or a secret is empty.
    #[error("cannot load the token secret: {0}")]
    Secret(String),
    /// Signing failed.
    #[error("cannot sign the token: {0}")]
    Signing(String),
}

/// Mints and verifies tokens with one HS256 secret.
#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    development: bool,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("development", &self.development)
            .finish_non_exhaustive()
    }
}

impl Tokens {
    /// Tokens signed with `secret`.
    pub fn new(secret: &[u8]) -> Self {
        Tokens {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            development: false,
        }
    }

    /// Tokens signed with [`DEV_SECRET`].
    pub fn development() -> Self {
        Tokens {
            development: true,
            ..Tokens::new(DEV_SECRET.as_bytes())
        }
    }

    /// The secret `config` names (see [`AuthConfig`] for the precedence).
    pub fn from_config(config: &AuthConfig) -> Result<Self, TokenError> {
        match config.resolve_secret()? {
            // Named or not, the public secret only protects loopback.
            Some(s) if s == DEV_SECRET => Ok(Tokens::development()),
            None => Ok(Tokens::development()),
            Some(s) => Ok(Tokens::new(s.as_bytes())),
        }
    }

    /// Whether these are signed with the public development secret.
    pub fn is_development(&self) -> bool {
        self.development
    }

    /// A signed token carrying `claims`.
    pub fn mint(&self, claims: &Claims) -> Result<String, TokenError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| TokenError::Signing(e.to_string()))
    }

    /// The claims of `token` if it is signed with this secret, HS256, not
    /// expired at `now_secs` and names a user.
    pub fn verify(&self, token: &str, now_secs: u64) -> Result<Claims, TokenError> {
        if token.is_empty() {
            return Err(TokenError::Missing);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked below against the caller's clock.
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature => TokenError::BadSignature,
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                    TokenError::WrongAlgorithm
                }
                _ if header_names_other_alg(token) => TokenError::WrongAlgorithm,
                _ => TokenError::Malformed(e.to_string()),
            })?
            .claims;
        if claims.exp <= now_secs {
            return Err(TokenError::Expired { exp: claims.exp });
        }
        if claims.user_id().is_none() {
            return Err(TokenError::BadSubject(claims.sub));
        }
        Ok(claims)
    }
}

/// Whether the token's header is readable JSON naming an algorithm other
/// than HS256 (`none` makes the decoder fail before it compares algorithms).
fn header_names_other_alg(token: &str) -> bool {
    jsonwebtoken::decode_header(token).is_err()
        && token
            .split('.')
            .next()
            .and_then(|h| {
                use base64::Engine;
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(h.trim_end_matches('='))
                    .ok()
            })
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .and_then(|v| v.get("alg").and_then(|a| a.as_str()).map(str::to_owned))
            .is_some_and(|alg| alg != "HS256")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(user: u64) -> Claims {
        Claims::new(user, 1_000, 3_600)
    }

    #[test]
    fn a_minted_token_verifies_with_its_claims() {
        let tokens = Tokens::new(b"secret");
        let mut c = claims(42);
        c.nickname = Some("alice".to_owned());
        let token = tokens.mint(&c).expect("mint");
        assert_eq!(tokens.verify(&token, 1_001), Ok(c));
    }

    #[test]
    fn expiry_follows_the_given_clock() {
        let tokens = Tokens::new(b"secret");
        let token = tokens.mint(&claims(1)).expect("mint");
        assert_eq!(
            tokens.verify(&token, 4_600),
            Err(TokenError::Expired { exp: 4_600 })
        );
    }

    #[test]
    fn another_secret_is_a_bad_signature() {
        let token = Tokens::new(b"one").mint(&claims(1)).expect("mint");
        assert_eq!(
            Tokens::new(b"two").verify(&token, 1_001),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn alg_none_is_refused() {
        use base64::Engine;
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let token = format!(
            "{}.{}.",
            b64(r#"{"alg":"none","typ":"JWT"}"#),
            b64(r#"{"sub":"1","exp":99999999999}"#)
        );
        assert_eq!(
            Tokens::development().verify(&token, 1_001),
            Err(TokenError::WrongAlgorithm)
        );
    }

    #[test]
    fn garbage_and_empty_tokens_are_refused() {
        let tokens = Tokens::development();
        assert_eq!(tokens.verify("", 0), Err(TokenError::Missing));
        assert!(matches!(
            tokens.verify("not.a.jwt", 0),
            Err(TokenError::Malformed(_))
        ));
    }

    #[test]
    fn a_subject_that_is_not_a_user_id_is_refused() {
        let tokens = Tokens::development();
        let mut c = claims(1);
        c.sub = "alice".to_owned();
        let token = tokens.mint(&c).expect("mint");
        assert_eq!(
            tokens.verify(&token, 1_001),
            Err(TokenError::BadSubject("alice".to_owned()))
        );
    }

    #[test]
    fn a_configured_secret_replaces_the_development_one() {
        let config = AuthConfig {
            secret: Some("configured".to_owned()),
            ..AuthConfig::default()
        };
        let tokens = Tokens::from_config(&config).expect("load");
        assert!(!tokens.is_development());
        let token = tokens.mint(&claims(1)).expect("mint");
        assert_eq!(
            Tokens::development().verify(&token, 1_001),
            Err(TokenError::BadSignature)
        );
    }
}
