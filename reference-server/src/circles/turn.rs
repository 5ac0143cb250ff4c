//! Time-limited TURN credentials in the TURN REST convention, as coturn's `use-auth-secret` checks them.
//!
//! The username is `<expiry>:<name>` (expiry in seconds since the Unix
//! epoch), the password the base64 of HMAC-SHA1 over the username, keyed
//! with the secret the TURN server shares.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// `(username, password)` for `name`, valid until `expiry_secs`.
pub fn credentials(secret: &str, expiry_secs: u64, name: &str) -> (String, String) {
    let username = format!("{expiry_secs}:{name}");
    let password = password(secret, &username);
    (username, password)
}

/// The password of `username`: base64(HMAC-SHA1(secret, username)).
pub fn password(secret: &str, username: &str) -> String {
    // HMAC takes a key of any length: `new_from_slice` cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_the_base64_hmac_sha1_of_the_username() {
        // RFC 2202 test case 2: HMAC-SHA1("Jefe", "what do ya want for nothing?").
        assert_eq!(
            password("Jefe", "what do ya want for nothing?"),
            "7/zfauXrL6LSdBbV8YTfnCWafHk="
        );
        let (user, pass) = credentials("s3cret", 1_700_000_000, "42");
        assert_eq!(user, "1700000000:42");
        assert_eq!(pass, password("s3cret", "1700000000:42"));
    }
}
