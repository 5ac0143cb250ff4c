//! An HTTP request a target section describes: how the suite calls a server's own API (provisioning users, triggering what the socket protocol cannot express).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{check_http_url, TargetError};

/// An HTTP request the suite sends to a server's own API (provisioning,
/// triggers). In `url` and `body` placeholders `{name}` are replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpTemplate {
    /// `http://...`.
    pub url: String,
    /// `POST` by default.
    #[serde(default = "HttpTemplate::default_method")]
    pub method: String,
    /// Headers, e.g. `Authorization = "Bearer ..."`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The body (JSON, sent as `application/json`); none when absent.
    pub body: Option<String>,
}

impl HttpTemplate {
    /// `POST`, the method of a template that names none.
    pub fn default_method() -> String {
        "POST".into()
    }

    /// Whether the URL is an HTTP URL and the method an HTTP method.
    pub fn validate(&self) -> Result<(), TargetError> {
        check_http_url(&self.url)?;
        reqwest::Method::from_bytes(self.method.as_bytes()).map_err(|_| {
            TargetError::BadUrl(self.url.clone(), "its method is not an HTTP method")
        })?;
        Ok(())
    }

    /// `text` with every `{name}` replaced by its value.
    pub fn fill(text: &str, values: &[(&str, &str)]) -> String {
        let mut out = text.to_owned();
        for (name, value) in values {
            out = out.replace(&format!("{{{name}}}"), value);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            HttpTemplate::fill(r#"{"user_id": {id}}"#, &[("id", "7")]),
            r#"{"user_id": 7}"#
        );
    }

    #[test]
    fn a_bad_method_or_url_is_refused() {
        let t = HttpTemplate {
            url: "http://127.0.0.1:1/x".into(),
            method: HttpTemplate::default_method(),
            headers: BTreeMap::new(),
            body: None,
        };
        assert!(t.validate().is_ok());
        assert!(HttpTemplate {
            method: "NOT A METHOD".into(),
            ..t.clone()
        }
        .validate()
        .is_err());
        assert!(HttpTemplate {
            url: "ftp://x".into(),
            ..t
        }
        .validate()
        .is_err());
    }
}
