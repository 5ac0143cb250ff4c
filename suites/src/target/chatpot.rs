//! The `[chatpot]` target section: a Chatpot Socket.IO node (`000_407d4ff0bcbdf81c.txt`), its `GET /status`, the Engine.IO versions it speaks, and the HTTP triggers that provision members and rooms and send messages.

use std::any::Any;
use std::collections::BTreeMap;

use protocols::Protocol;
use serde::{Deserialize, Serialize};

use super::{check_http_url, HttpTemplate, Reference, Section, SectionType, TargetError};

/// A Chatpot node. What it lacks (a trigger, an Engine.IO version) makes
/// the cases that need it `unimplemented`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatpotTarget {
    /// The node, `http://host:port`.
    pub url: String,
    /// The Engine.IO path; `/socket.io/` by default.
    #[serde(default = "default_path")]
    pub path: String,
    /// The node-discovery URL (`GET`); `<url>/status` by default.
    pub status: Option<String>,
    /// The Engine.IO versions the node speaks (the deployed one spoke 3).
    #[serde(default = "default_engineio_versions")]
    pub engineio: Vec<u8>,
    /// How the suite makes members, rooms and messages.
    #[serde(default)]
    pub triggers: ChatpotTriggers,
}

/// The HTTP requests that do what the Socket.IO protocol cannot: in their
/// URL and body `{member}` is a member token, `{room}` a room token and
/// `{content}` a message's text (letters, digits and spaces only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChatpotTriggers {
    /// Makes a member; the answer holds its token at `member_token_pointer`.
    pub member: Option<HttpTemplate>,
    /// The JSON pointer of the member token in `member`'s answer (default `/token`).
    pub member_token_pointer: String,
    /// Makes a room; the answer holds its token at `room_token_pointer`.
    pub room: Option<HttpTemplate>,
    /// The JSON pointer of the room token in `room`'s answer (default `/token`).
    pub room_token_pointer: String,
    /// Puts `{member}` in `{room}`.
    pub join: Option<HttpTemplate>,
    /// Takes `{member}` out of `{room}`.
    pub leave: Option<HttpTemplate>,
    /// Sends the TEXT message `{content}` as `{member}` to `{room}`.
    pub send: Option<HttpTemplate>,
}

impl Default for ChatpotTriggers {
    /// No trigger; the tokens at `/token` of the answers.
    fn default() -> Self {
        ChatpotTriggers {
            member: None,
            member_token_pointer: default_token_pointer(),
            room: None,
            room_token_pointer: default_token_pointer(),
            join: None,
            leave: None,
            send: None,
        }
    }
}

/// The reference server's chatpot listener and its admin API.
const CHATPOT_LISTENER: &str = "chatpot";
const ADMIN_LISTENER: &str = "admin";

fn default_path() -> String {
    "/socket.io/".into()
}

fn default_engineio_versions() -> Vec<u8> {
    vec![3, 4]
}

fn default_token_pointer() -> String {
    "/token".into()
}

impl ChatpotTarget {
    /// The node-discovery URL.
    pub fn status_url(&self) -> String {
        self.status
            .clone()
            .unwrap_or_else(|| format!("{}/status", self.url))
    }

    fn at(url: String) -> ChatpotTarget {
        ChatpotTarget {
            url,
            path: default_path(),
            status: None,
            engineio: default_engineio_versions(),
            triggers: ChatpotTriggers::default(),
        }
    }
}

impl Section for ChatpotTarget {
    fn url(&self) -> &str {
        &self.url
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl SectionType for ChatpotTarget {
    const PROTOCOL: Protocol = Protocol::Chatpot;

    fn from_url(url: &str, previous: Option<&Self>) -> Result<Self, TargetError> {
        let (base, path) = check_http_url(url)?;
        let mut target = match previous {
            Some(p) => ChatpotTarget {
                url: base,
                ..p.clone()
            },
            None => ChatpotTarget::at(base),
        };
        if let Some(path) = path {
            target.path = path;
        }
        Ok(target)
    }

    fn validate(&self) -> Result<(), TargetError> {
        check_http_url(&self.url)?;
        if let Some(status) = &self.status {
            check_http_url(status)?;
        }
        let t = &self.triggers;
        for template in [&t.member, &t.room, &t.join, &t.leave, &t.send]
            .into_iter()
            .flatten()
        {
            template.validate()?;
        }
        Ok(())
    }

    fn embedded(reference: &Reference) -> Option<Self> {
        let node = reference.listener(CHATPOT_LISTENER)?;
        let mut target = ChatpotTarget::at(format!("http://{node}"));
        if let Some(admin) = reference.listener(ADMIN_LISTENER) {
            let api = format!("http://{admin}/chatpot");
            let request = |method: &str, path: &str, body: Option<&str>| HttpTemplate {
                url: format!("{api}{path}"),
                method: method.to_owned(),
                headers: BTreeMap::from([(
                    "Authorization".to_owned(),
                    format!("Bearer {}", reference.admin_secret),
                )]),
                body: body.map(str::to_owned),
            };
            target.triggers.member = Some(request(
                "POST",
                "/members",
                Some(
                    r#"{"nick": {"en": "humble squid", "ko": "겸손한 꼴뚜기", "ja": "謙虚なるい"}}"#,
                ),
            ));
            target.triggers.room = Some(request("POST", "/rooms", None));
            target.triggers.join = Some(request("PUT", "/rooms/{room}/members/{member}", None));
            target.triggers.leave = Some(request("DELETE", "/rooms/{room}/members/{member}", None));
            target.triggers.send = Some(request(
                "POST",
                "/rooms/{room}/messages",
                Some(r#"{"from": "{member}", "type": "TEXT", "content": "{content}"}"#),
            ));
        }
        Some(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flag_keeps_the_files_triggers_and_takes_its_path() {
        let file = ChatpotTarget::embedded(&Reference {
            listeners: vec![
                ("chatpot".into(), "127.0.0.1:4001".parse().unwrap()),
                ("admin".into(), "127.0.0.1:12380".parse().unwrap()),
            ],
            jwt_secret: "j".into(),
            admin_secret: "a".into(),
            ..Reference::default()
        })
        .unwrap();
        let t = ChatpotTarget::from_url("http://node:80/io", Some(&file)).unwrap();
        assert_eq!(
            (t.url.as_str(), t.path.as_str()),
            ("http://node:80", "/io/")
        );
        assert_eq!(t.status_url(), "http://node:80/status");
        assert_eq!(t.triggers, file.triggers);
        assert!(t.validate().is_ok());
        let bare = ChatpotTarget::from_url("http://node:80", None).unwrap();
        assert_eq!(bare.triggers.send, None);
        assert!(ChatpotTarget::from_url("ws://node", None).is_err());
        let file: ChatpotTarget = toml::from_str("url = \"http://x:1\"\n[triggers]\n").unwrap();
        assert_eq!(file.triggers, ChatpotTriggers::default());
        assert_eq!(file.triggers.member_token_pointer, "/token");
    }
}
