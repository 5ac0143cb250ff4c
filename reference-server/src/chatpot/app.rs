//! The Chatpot Socket.IO app: `postinit_req` (answered `postinit_res` or `server_error`) and `health_req`, in the `/` namespace.

use protocols::socketio::Data;
use serde_json::{json, Value};

use super::{ChatpotContext, ChatpotFault, NAMESPACE};
use crate::socketio::{App, Event, Socket};

/// What `server_error` says of a missing token.
const MISSING_TOKEN: &str = "token is required";
/// What `server_error` says of an unknown token (the document's example).
const INVALID_TOKEN: &str = "invalid member_token";

/// The app over the node's state.
pub(super) struct ChatpotApp {
    pub(super) ctx: ChatpotContext,
}

/// The string field `key` of the first argument, if it is an object holding one.
fn string_arg<'a>(args: &'a [Data], key: &str) -> Option<&'a str> {
    match args.first() {
        Some(Data::Object(map)) => match map.get(key) {
            Some(Data::String(s)) => Some(s),
            _ => None,
        },
        _ => None,
    }
}

fn server_error(socket: &mut Socket<'_>, code: &str, message: &str) {
    let payload = json!({ "code": code, "message": message });
    socket.emit("server_error", vec![Data::from(payload)]);
}

impl ChatpotApp {
    fn postinit(&self, socket: &mut Socket<'_>, args: &[Data]) {
        let code = if self.ctx.has(ChatpotFault::WrongErrorCode) {
            "INVALID_TOKEN"
        } else {
            "INVALID_PARAM"
        };
        let token = match string_arg(args, "token") {
            Some(t) if !t.is_empty() => t.to_owned(),
            _ => return server_error(socket, code, MISSING_TOKEN),
        };
        let sid = socket.sid().to_owned();
        let known = self.ctx.with_state(|state| {
            if !state.members.contains_key(&token)
                && !self.ctx.has(ChatpotFault::AcceptUnknownToken)
            {
                return false;
            }
            if self.ctx.has(ChatpotFault::LatestSocketOnly) {
                if let Some(hub) = self.ctx.hub() {
                    for other in state.sockets_of(&token) {
                        for room in state.rooms_of(&token) {
                            hub.leave(&other, NAMESPACE, &room);
                        }
                    }
                }
            }
            // A socket that presented another member's token before leaves that member's rooms.
            if let Some(before) = state.sockets.get(&sid).filter(|b| **b != token) {
                for room in state.rooms_of(before) {
                    socket.leave(&room);
                }
            }
            for room in state.rooms_of(&token) {
                socket.join(&room);
            }
            state.sockets.insert(sid, token);
            true
        });
        if !known {
            return server_error(socket, "INVALID_PARAM", INVALID_TOKEN);
        }
        if self.ctx.has(ChatpotFault::NoPostinitAnswer) {
            return;
        }
        let name = if self.ctx.has(ChatpotFault::InitRes) {
            "init_res"
        } else {
            "postinit_res"
        };
        socket.emit(name, vec![Data::from(json!({ "success": true }))]);
    }
}

impl App for ChatpotApp {
    fn on_connect(&self, socket: &mut Socket<'_>, _auth: Option<&Value>) -> Result<(), String> {
        if socket.namespace() != NAMESPACE {
            return Err("Invalid namespace".to_owned());
        }
        let sid = socket.sid().to_owned();
        self.ctx.with_state(|s| s.connected.insert(sid));
        Ok(())
    }

    fn on_event(&self, socket: &mut Socket<'_>, event: Event) {
        match event.name.as_str() {
            "postinit_req" => self.postinit(socket, &event.args),
            "health_req" if !self.ctx.has(ChatpotFault::NoHealth) => {
                socket.emit("health_res", vec![Data::from(json!({}))]);
            }
            _ => {}
        }
    }

    fn on_disconnect(&self, socket: &mut Socket<'_>) {
        let sid = socket.sid();
        self.ctx.with_state(|s| {
            s.connected.remove(sid);
            s.sockets.remove(sid);
        });
    }
}
