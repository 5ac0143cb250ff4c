//! The `[circles]` target section: a Circles server (`003_415bfb4e4fd8fc5e.txt`) over Socket.IO, the Engine.IO versions it speaks, its TURN secret, and the HTTP triggers of what its own REST API does (users, circles, conversations, and the actions behind the document's event tables).

use std::any::Any;
use std::collections::BTreeMap;

use protocols::Protocol;
use serde::{Deserialize, Serialize};

use super::{check_http_url, HttpTemplate, Reference, Section, SectionType, TargetError};

/// A Circles server. What it lacks (a trigger, the TURN secret) makes the
/// cases that need it `unimplemented`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CirclesTarget {
    /// `http://host:port` (or `https://`).
    pub url: String,
    /// The Engine.IO path; `/socket.io/` by default.
    #[serde(default = "default_path")]
    pub path: String,
    /// The Engine.IO versions the server speaks (the deployed Flask-SocketIO
    /// 3.x server spoke 3).
    #[serde(default = "default_engineio_versions")]
    pub engineio: Vec<u8>,
    /// The secret the server shares with its TURN servers: with it the
    /// suite checks the password of `webrtc_credentials`.
    pub turn_secret: Option<String>,
    /// The HTTP requests that provision and trigger.
    #[serde(default)]
    pub triggers: CirclesTriggers,
}

/// The server's own REST API, as HTTP templates. Answers are JSON: a
/// provisioning request answers the new thing's `id` (and a user its
/// `email` and `token`, a device its `token`). Placeholders: `{user_id}`,
/// `{by}` (the acting user), `{circle_id}`, `{conversation_id}`,
/// `{device_id}`, `{message_id}`, `{members}` (a JSON array of user ids).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CirclesTriggers {
    /// A fresh user: answers `{id, email, token}`.
    pub provision_user: Option<HttpTemplate>,
    /// A circle of `{members}`: answers `{id}`.
    pub create_circle: Option<HttpTemplate>,
    /// A device of `{circle_id}`: answers `{id, token}`.
    pub provision_device: Option<HttpTemplate>,
    /// A conversation of `{circle_id}` with `{members}`: answers `{id}`.
    pub create_conversation: Option<HttpTemplate>,
    /// Invites `{user_id}` to `{circle_id}` (`circle_invite`).
    pub invite_to_circle: Option<HttpTemplate>,
    /// `{user_id}` joins `{circle_id}` (`circle` `join`).
    pub join_circle: Option<HttpTemplate>,
    /// `{user_id}` leaves `{circle_id}` (`circle` `quit`).
    pub quit_circle: Option<HttpTemplate>,
    /// `{by}` kicks `{user_id}` from `{circle_id}` (`circle` `kick`).
    pub kick_from_circle: Option<HttpTemplate>,
    /// `{circle_id}`'s info changes (`circle` `update`).
    pub update_circle: Option<HttpTemplate>,
    /// `{device_id}`'s info changes (`circle` `device` `update`).
    pub update_device: Option<HttpTemplate>,
    /// `{conversation_id}`'s info changes (`conversation` `update`).
    pub update_conversation: Option<HttpTemplate>,
    /// `{user_id}` is invited into `{conversation_id}` (`conversation` `invite`).
    pub invite_to_conversation: Option<HttpTemplate>,
    /// `{user_id}` is promoted in `{conversation_id}` (`conversation` promotion).
    pub promote_in_conversation: Option<HttpTemplate>,
    /// `{by}` kicks `{user_id}` from `{conversation_id}` (`conversation` `kick`).
    pub kick_from_conversation: Option<HttpTemplate>,
    /// `{user_id}` quits `{conversation_id}` (`conversation` `quit`).
    pub quit_conversation: Option<HttpTemplate>,
    /// `{device_id}` is added to `{conversation_id}` (`conversation` device add).
    pub add_device_to_conversation: Option<HttpTemplate>,
    /// `{device_id}` is removed from `{conversation_id}` (`conversation` device remove).
    pub remove_device_from_conversation: Option<HttpTemplate>,
    /// `{message_id}` is edited (`message` `update`).
    pub update_message: Option<HttpTemplate>,
    /// `{message_id}` is deleted (`message` `delete`).
    pub delete_message: Option<HttpTemplate>,
}

impl CirclesTriggers {
    fn all(&self) -> impl Iterator<Item = &HttpTemplate> {
        [
            &self.provision_user,
            &self.create_circle,
            &self.provision_device,
            &self.create_conversation,
            &self.invite_to_circle,
            &self.join_circle,
            &self.quit_circle,
            &self.kick_from_circle,
            &self.update_circle,
            &self.update_device,
            &self.update_conversation,
            &self.invite_to_conversation,
            &self.promote_in_conversation,
            &self.kick_from_conversation,
            &self.quit_conversation,
            &self.add_device_to_conversation,
            &self.remove_device_from_conversation,
            &self.update_message,
            &self.delete_message,
        ]
        .into_iter()
        .flatten()
    }

    /// The reference server's admin routes at `admin` (`host:port`),
    /// behind the bearer `secret`.
    fn reference(admin: &str, secret: &str) -> CirclesTriggers {
        let auth = BTreeMap::from([("Authorization".to_owned(), format!("Bearer {secret}"))]);
        let t = |method: &str, path: &str, body: Option<&str>| {
            Some(HttpTemplate {
                url: format!("http://{admin}/circles{path}"),
                method: method.to_owned(),
                headers: auth.clone(),
                body: body.map(str::to_owned),
            })
        };
        let kick = Some(r#"{"user_id": {user_id}, "by": {by}}"#);
        CirclesTriggers {
            provision_user: t("POST", "/users", Some("{}")),
            create_circle: t("POST", "/circles", Some(r#"{"members": {members}}"#)),
            provision_device: t("POST", "/devices", Some(r#"{"circle_id": {circle_id}}"#)),
            create_conversation: t(
                "POST",
                "/conversations",
                Some(r#"{"circle_id": {circle_id}, "members": {members}}"#),
            ),
            invite_to_circle: t("PUT", "/circles/{circle_id}/invites/{user_id}", None),
            join_circle: t("PUT", "/circles/{circle_id}/members/{user_id}", None),
            quit_circle: t("DELETE", "/circles/{circle_id}/members/{user_id}", None),
            kick_from_circle: t("POST", "/circles/{circle_id}/kick", kick),
            update_circle: t("POST", "/circles/{circle_id}/update", Some("{}")),
            update_device: t("POST", "/devices/{device_id}/update", Some("{}")),
            update_conversation: t(
                "POST",
                "/conversations/{conversation_id}/update",
                Some("{}"),
            ),
            invite_to_conversation: t(
                "PUT",
                "/conversations/{conversation_id}/members/{user_id}",
                None,
            ),
            promote_in_conversation: t(
                "PUT",
                "/conversations/{conversation_id}/admins/{user_id}",
                None,
            ),
            kick_from_conversation: t("POST", "/conversations/{conversation_id}/kick", kick),
            quit_conversation: t(
                "DELETE",
                "/conversations/{conversation_id}/members/{user_id}",
                None,
            ),
            add_device_to_conversation: t(
                "PUT",
                "/conversations/{conversation_id}/devices/{device_id}",
                None,
            ),
            remove_device_from_conversation: t(
                "DELETE",
                "/conversations/{conversation_id}/devices/{device_id}",
                None,
            ),
            update_message: t(
                "PUT",
                "/messages/{message_id}",
                Some(r#"{"text": "edited"}"#),
            ),
            delete_message: t("DELETE", "/messages/{message_id}", None),
        }
    }
}

/// The reference server's circles listener and its admin API.
const CIRCLES_LISTENER: &str = "circles";
const ADMIN_LISTENER: &str = "admin";

fn default_path() -> String {
    "/socket.io/".into()
}

fn default_engineio_versions() -> Vec<u8> {
    vec![3, 4]
}

impl Section for CirclesTarget {
    fn url(&self) -> &str {
        &self.url
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl SectionType for CirclesTarget {
    const PROTOCOL: Protocol = Protocol::Circles;

    fn from_url(url: &str, previous: Option<&Self>) -> Result<Self, TargetError> {
        let (base, path) = check_http_url(url)?;
        Ok(match previous {
            Some(p) => CirclesTarget {
                url: base,
                path: path.unwrap_or_else(|| p.path.clone()),
                ..p.clone()
            },
            None => CirclesTarget {
                url: base,
                path: path.unwrap_or_else(default_path),
                engineio: default_engineio_versions(),
                turn_secret: None,
                triggers: CirclesTriggers::default(),
            },
        })
    }

    fn validate(&self) -> Result<(), TargetError> {
        check_http_url(&self.url)?;
        for t in self.triggers.all() {
            t.validate()?;
        }
        Ok(())
    }

    fn embedded(reference: &Reference) -> Option<Self> {
        let addr = reference.listener(CIRCLES_LISTENER)?;
        let triggers = match reference.listener(ADMIN_LISTENER) {
            Some(admin) => CirclesTriggers::reference(&admin.to_string(), &reference.admin_secret),
            None => CirclesTriggers::default(),
        };
        Some(CirclesTarget {
            url: format!("http://{addr}"),
            path: default_path(),
            engineio: default_engineio_versions(),
            turn_secret: Some(reference.turn_secret.clone()).filter(|s| !s.is_empty()),
            triggers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_section_names_every_trigger() {
        let mut reference = Reference {
            listeners: vec![
                ("circles".to_owned(), "127.0.0.1:1".parse().unwrap()),
                ("admin".to_owned(), "127.0.0.1:2".parse().unwrap()),
            ],
            jwt_secret: "j".into(),
            admin_secret: "a".into(),
            turn_secret: "t".into(),
        };
        let t = CirclesTarget::embedded(&reference).unwrap();
        assert_eq!(t.url, "http://127.0.0.1:1");
        assert_eq!(
            t.turn_secret.as_deref(),
            Some("t"),
            "the server's own secret"
        );
        assert_eq!(t.triggers.all().count(), 19);
        assert!(t.validate().is_ok());
        let bare = CirclesTarget::from_url("http://h:4003", None).unwrap();
        assert_eq!(bare.triggers.all().count(), 0);
        reference.listeners.remove(0);
        assert!(CirclesTarget::embedded(&reference).is_none());
    }
}
